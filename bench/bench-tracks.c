/*
 * bench-tracks.c — the live engine in-process (hv_tracks_ingest): the
 * baseline of the end-to-end positions benchmark (bench/bench-positions.sh)
 * and the memory per live asset.
 *
 * The reports: every row of shared/data/aircraft/traffic_switzerland.csv
 * (OpenSky ADS-B, 2018-08-01, 842 aircraft, 17 h) translated over northern
 * Syria (+29 degrees of longitude, -10.5 of latitude), as fixed_wing assets
 * of party "syr-gov" (asset id: the icao24), in time order (ties by asset).
 * Units: altitude ft -> m, groundspeed kt -> m/s with the track as
 * gs_mps/trk_deg (ve/vn as the server computes them), vertical rate ft/min
 * -> m/s. The assets are split into PARTS partitions (asset number, in order
 * of first appearance, mod PARTS), and each partition's reports are cut in
 * time order into batches of BATCH: the HTTP benchmark sends partition p on
 * connection p, so that the connections never race on one asset. Pass k of
 * the file is shifted by k x SHIFT (the file's span + 10 s), so that every
 * asset's times keep increasing from pass to pass.
 *
 *   bench-tracks emit SHARED_DIR OUT_DIR BATCH PARTS
 *     writes OUT_DIR/part-<p>.ndjson (the batches of partition p as NDJSON
 *     bodies, one after another, each followed by an empty line) and
 *     OUT_DIR/meta (shift_ms, reports, batches per partition).
 *   bench-tracks run SHARED_DIR DATA_DIR BATCH PARTS [RUNS]
 *     1. the same batches, interleaved (p0 b0, p1 b0, ..., p0 b1, ...), two
 *        passes of the file into a new engine on the db in DATA_DIR (the
 *        scenario): reports/s, median of RUNS (default 3); then one more
 *        pass with the findings recorded in the ledger per batch
 *        (hv_db_record_findings, as POST /v1/positions does);
 *     2. memory per live asset, twice: with no history
 *        (hv_tracks_set_history 0, the figure held to the target of
 *        <= 256 B) and with the default history of HV_TRACKS_HISTORY
 *        reports (for information). Each time a new engine is fed one pass
 *        of the file (842 assets), then 100,000 synthetic ground_civil
 *        assets of "syr-gov" at random points over Syria (one report each,
 *        then 15 more each, 10 s and ~100 m apart, so every ring is full):
 *        hv_tracks_bytes_per_asset, and the growth of the process's RSS
 *        (/proc/self/statm) per asset over the 100,000, measured after
 *        handing freed memory back to the system (malloc_trim) so that
 *        what the previous engine freed is not counted or reused unseen.
 *     Prints "inproc reports_per_s=..." for bench-positions.sh, then the
 *     memory table and a line "target <= 256 B ...", PASS or MISS.
 *
 * Exit 1 when an ingest fails, or when the replay gives an out_of_order
 * finding (the batches would be wrong).
 */
#include <haven/db.h>
#include <haven/tracks.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__ /* (defined by the headers above) */
#include <malloc.h>
#endif

#include "bench-util.h"
#include "traffic.h"

#define PARTY "syr-gov"
#define SYNTH_ASSETS 100000
#define SYNTH_ROUNDS HV_TRACKS_HISTORY
#define TARGET_BYTES 256

static void to_pos(const struct traffic_rep *x, int64_t shift,
                   struct hv_position *p) {
  const double d2r = 3.14159265358979323846 / 180.0;
  *p = (struct hv_position){.asset = x->id,
                            .party = PARTY,
                            .cls = HV_ASSET_FIXED_WING,
                            .t_ms = x->t_ms + shift,
                            .lon = x->lon,
                            .lat = x->lat,
                            .alt_m = x->alt_m,
                            .ve_mps = x->gs_mps * sin(x->trk_deg * d2r),
                            .vn_mps = x->gs_mps * cos(x->trk_deg * d2r),
                            .vs_mps = x->vs_mps};
}

static int emit(const struct traffic_rep *r, size_t n,
                const struct traffic_batches *b, unsigned parts, int64_t shift,
                const char *dir) {
  char path[4096];
  for (unsigned p = 0; p < parts; p++) {
    snprintf(path, sizeof path, "%s/part-%u.ndjson", dir, p);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
      fprintf(stderr, "bench-tracks: cannot write %s\n", path);
      return -1;
    }
    int bad = 0;
    for (size_t bi = 0; bi < b->nb && !bad; bi++) {
      if (b->part[bi] != p)
        continue;
      size_t len;
      char *body = traffic_body(r, b, bi, PARTY, 0, &len);
      bad = body == NULL || fwrite(body, 1, len, f) != len ||
            fputc('\n', f) == EOF;
      free(body);
    }
    if (fclose(f) != 0 || bad)
      return -1;
  }
  snprintf(path, sizeof path, "%s/meta", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fprintf(f, "shift_ms=%lld\nreports=%zu\nbatches=%zu\n", (long long)shift, n,
          b->nb);
  return fclose(f) == 0 ? 0 : -1;
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld %ld", &size, &res) != 2)
    res = 0;
  fclose(f);
  return res * sysconf(_SC_PAGESIZE);
}

/* Feeds passes x the batches into tr (pass k shifted by k x shift, from
 * pass first). Records the findings in db when record. Counts findings per
 * kind into kinds. 0, or -1 (message printed). */
static int feed(struct hv_tracks *tr, struct hv_db *db,
                const struct traffic_rep *r, const struct traffic_batches *b,
                int64_t shift, int first, int passes, int record,
                struct hv_position *buf, size_t *kinds) {
  for (int k = first; k < first + passes; k++) {
    for (size_t bi = 0; bi < b->nb; bi++) {
      for (size_t j = 0; j < b->len[bi]; j++)
        to_pos(&r[b->ord[b->start[bi] + j]], (int64_t)k * shift, &buf[j]);
      struct hv_findings f = {0};
      struct hv_error err = {0};
      int rc = hv_tracks_ingest(tr, buf, b->len[bi], &f, &err);
      if (rc == HV_OK && record && f.n) {
        int64_t seq;
        rc = hv_db_record_findings(db, PARTY, &f, &seq, &err);
      }
      if (rc != HV_OK) {
        fprintf(stderr, "bench-tracks: pass %d batch %zu: %s\n", k, bi,
                err.msg);
        hv_findings_free(&f);
        return -1;
      }
      for (size_t i = 0; kinds && i < f.n; i++)
        kinds[f.v[i].kind]++;
      hv_findings_free(&f);
    }
  }
  return 0;
}

/* One memory measurement (run(), part 2). */
struct mem {
  size_t assets, bytes_per_asset; /* at the end */
  double rss_file;                /* RSS growth per asset of the file's pass */
  double rss_synth; /* RSS growth per synthetic asset, all rounds done */
};

/* Frees what malloc holds unused, so that RSS growth is what is in use. */
static void trim(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

/* A new engine keeping history reports per asset, fed one pass of the
 * file, then SYNTH_ASSETS synthetic assets of SYNTH_ROUNDS reports each;
 * the figures into *m. 0, or -1 (message printed). */
static int memory(const struct traffic_rep *r, const struct traffic_batches *b,
                  int64_t shift, struct hv_db *db, struct hv_position *buf,
                  unsigned history, struct mem *m) {
  struct hv_tracks *tr = NULL;
  struct hv_error err = {0};
  struct hv_position *syn = malloc(SYNTH_ASSETS * sizeof *syn);
  char(*ids)[16] = malloc(SYNTH_ASSETS * sizeof *ids);
  double *lon = malloc(SYNTH_ASSETS * sizeof *lon),
         *lat = malloc(SYNTH_ASSETS * sizeof *lat);
  int status = syn && ids && lon && lat ? 0 : -1;
  if (status == 0 && (hv_tracks_new(db, &tr) != HV_OK ||
                      hv_tracks_set_history(tr, history) != HV_OK))
    status = -1;
  srand(4);
  for (size_t i = 0; status == 0 && i < SYNTH_ASSETS; i++) {
    snprintf(ids[i], sizeof ids[i], "syn-%06zu", i);
    lon[i] = 36.0 + 6.0 * rand() / (double)RAND_MAX;
    lat[i] = 32.8 + 4.2 * rand() / (double)RAND_MAX;
  }
  trim();
  long rss0 = rss_bytes(), rss1 = rss0;
  if (status == 0)
    status = feed(tr, db, r, b, shift, 0, 1, 0, buf, NULL);
  if (status == 0) {
    trim();
    rss1 = rss_bytes();
    m->rss_file = (double)(rss1 - rss0) / (double)hv_tracks_count(tr);
  }
  /* The synthetic assets: 10,000 per batch, after the file's last time. */
  const size_t per = 10000;
  int64_t t0 = r[b->ord[0]].t_ms;
  for (size_t i = 0; i < b->nb; i++)
    for (size_t j = 0; j < b->len[i]; j++)
      if (r[b->ord[b->start[i] + j]].t_ms > t0)
        t0 = r[b->ord[b->start[i] + j]].t_ms;
  t0 += 10000;
  for (int round = 0; status == 0 && round < SYNTH_ROUNDS; round++) {
    for (size_t i = 0; i < SYNTH_ASSETS; i++)
      syn[i] = (struct hv_position){.asset = ids[i],
                                    .party = PARTY,
                                    .cls = HV_ASSET_GROUND_CIVIL,
                                    .t_ms = t0 + round * 10000,
                                    .lon = lon[i] + round * 0.001,
                                    .lat = lat[i],
                                    .alt_m = 300,
                                    .ve_mps = 9.0};
    for (size_t s = 0; status == 0 && s < SYNTH_ASSETS; s += per) {
      struct hv_findings f = {0};
      if (hv_tracks_ingest(tr, syn + s, per, &f, &err) != HV_OK) {
        fprintf(stderr, "bench-tracks: synthetic: %s\n", err.msg);
        status = -1;
      }
      hv_findings_free(&f);
    }
  }
  if (status == 0) {
    trim();
    m->rss_synth = (double)(rss_bytes() - rss1) / SYNTH_ASSETS;
    m->assets = hv_tracks_count(tr);
    m->bytes_per_asset = hv_tracks_bytes_per_asset(tr);
  }
  hv_tracks_free(tr);
  free(syn);
  free(ids);
  free(lon);
  free(lat);
  return status;
}

static int run(const struct traffic_rep *r, size_t n, unsigned nassets,
               const struct traffic_batches *b, int64_t shift, const char *data,
               int runs) {
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  if (hv_db_open(data, &db, &err) != HV_OK) {
    fprintf(stderr, "bench-tracks: %s: %s\n", data, err.msg);
    return -1;
  }
  size_t bmax = 0;
  for (size_t i = 0; i < b->nb; i++)
    bmax = b->len[i] > bmax ? b->len[i] : bmax;
  struct hv_position *buf = malloc((bmax ? bmax : 1) * sizeof *buf);
  double *rate = malloc((size_t)runs * sizeof *rate);
  size_t kinds[HV_FIND_COUNT] = {0};
  int status = buf && rate ? 0 : -1;
  const int passes = 2;

  /* 1. throughput */
  for (int i = 0; status == 0 && i < runs; i++) {
    struct hv_tracks *tr = NULL;
    if (hv_tracks_new(db, &tr) != HV_OK) {
      status = -1;
      break;
    }
    double t0 = now_s();
    status = feed(tr, db, r, b, shift, 0, passes, 0, buf, i ? NULL : kinds);
    rate[i] = (double)n * passes / (now_s() - t0);
    hv_tracks_free(tr);
  }
  double rec_rate = 0;
  size_t rec_findings[HV_FIND_COUNT] = {0};
  if (status == 0) {
    struct hv_tracks *tr = NULL;
    if (hv_tracks_new(db, &tr) != HV_OK) {
      status = -1;
    } else {
      double t0 = now_s();
      status = feed(tr, db, r, b, shift, 0, 1, 1, buf, rec_findings);
      rec_rate = (double)n / (now_s() - t0);
      hv_tracks_free(tr);
    }
  }
  if (status == 0) {
    qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
    size_t nf = 0, rf = 0;
    for (int k = 0; k < HV_FIND_COUNT; k++)
      nf += kinds[k], rf += rec_findings[k];
    printf("  in-process hv_tracks_ingest, the same %zu batches (%zu "
           "reports, %u assets) x %d passes, median of %d:\n",
           b->nb, n, nassets, passes, runs);
    printf("         %10.0f reports/s   (%zu findings over %d passes:",
           rate[runs / 2], nf, passes);
    for (int k = 0; k < HV_FIND_COUNT; k++)
      if (kinds[k])
        printf(" %s %zu", hv_finding_kind_name((enum hv_finding_kind)k),
               kinds[k]);
    printf(")\n");
    printf("  in-process, ingest + hv_db_record_findings per batch (one pass, "
           "%zu findings recorded):\n         %10.0f reports/s\n",
           rf, rec_rate);
    printf("inproc reports_per_s=%.0f record_reports_per_s=%.0f\n",
           rate[runs / 2], rec_rate);
    if (kinds[HV_FIND_OUT_OF_ORDER]) {
      fprintf(stderr, "bench-tracks: the replay gave out_of_order findings\n");
      status = -1;
    }
  }

  /* 2. memory per live asset: no history (the target), then the default */
  struct mem m0 = {0}, m16 = {0};
  if (status == 0)
    status = memory(r, b, shift, db, buf, 0, &m0);
  if (status == 0)
    status = memory(r, b, shift, db, buf, HV_TRACKS_HISTORY, &m16);
  if (status == 0) {
    size_t ring = HV_TRACKS_HISTORY * (sizeof(int64_t) + 6 * sizeof(double));
    printf("  memory per live asset (a new engine per row: the file, then "
           "%d synthetic ground_civil assets x %d reports; RSS from "
           "/proc/self/statm after malloc_trim):\n",
           SYNTH_ASSETS, SYNTH_ROUNDS);
    printf("    %-26s %8s %16s %18s %18s\n", "history", "assets",
           "bytes_per_asset", "RSS/asset (file)", "RSS/asset (synth)");
    const struct mem *ms[2] = {&m0, &m16};
    for (int k = 0; k < 2; k++)
      printf("    %-26s %8zu %14zu B %16.0f B %16.0f B\n",
             k ? "16 reports (default)" : "0 (hv_tracks_set_history)",
             ms[k]->assets, ms[k]->bytes_per_asset, ms[k]->rss_file,
             ms[k]->rss_synth);
    printf("  target <= %d B per live asset without history: "
           "hv_tracks_bytes_per_asset %zu B %s; RSS growth %.0f B %s\n",
           TARGET_BYTES, m0.bytes_per_asset,
           m0.bytes_per_asset <= TARGET_BYTES ? "PASS" : "MISS", m0.rss_synth,
           m0.rss_synth <= TARGET_BYTES ? "PASS" : "MISS");
    printf("  with the default history (information): RSS growth %.0f B per "
           "asset, of which the ring is %zu B nominal\n",
           m16.rss_synth, ring);
  }
  free(buf);
  free(rate);
  hv_db_close(db);
  return status;
}

int main(int argc, char **argv) {
  const char *usage =
      "usage: bench-tracks emit SHARED_DIR OUT_DIR BATCH PARTS\n"
      "       bench-tracks run SHARED_DIR DATA_DIR BATCH PARTS [RUNS]\n";
  if (argc < 6 || argc > 7 ||
      (strcmp(argv[1], "emit") != 0 && strcmp(argv[1], "run") != 0)) {
    fputs(usage, stderr);
    return 2;
  }
  char *end;
  long bsz = strtol(argv[4], &end, 10);
  long parts = *end ? -1 : strtol(argv[5], &end, 10);
  long runs = 3;
  if (argc == 7)
    runs = strtol(argv[6], &end, 10);
  if (*end || bsz < 1 || parts < 1 || parts > 64 || runs < 1 || runs > 99) {
    fputs(usage, stderr);
    return 2;
  }
  size_t n, skipped;
  char csv[4096];
  snprintf(csv, sizeof csv, "%s/data/aircraft/traffic_switzerland.csv",
           argv[2]);
  struct traffic_rep *r = traffic_load(csv, &n, &skipped);
  unsigned na = r ? traffic_number_assets(r, n, (unsigned)parts) : 0;
  if (r == NULL || n == 0 || na == 0) {
    fprintf(stderr, "bench-tracks: cannot read %s\n", csv);
    free(r);
    return 1;
  }
  int64_t shift = r[n - 1].t_ms - r[0].t_ms + 10000;
  struct traffic_batches b;
  int status = traffic_make_batches(r, n, (unsigned)parts, (size_t)bsz, &b);
  if (status == 0 && strcmp(argv[1], "emit") == 0)
    status = emit(r, n, &b, (unsigned)parts, shift, argv[3]);
  else if (status == 0)
    status = run(r, n, na, &b, shift, argv[3], (int)runs);
  traffic_batches_free(&b);
  free(r);
  return status == 0 ? 0 : 1;
}
