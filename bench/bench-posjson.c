/*
 * bench-posjson.c — parsing the bodies of POST /v1/positions: the fast
 * parser (hv_positions_parse) against jansson (hv_positions_parse_reference,
 * what the server did before), in the same run, on the batches of
 * bench-positions.sh.
 *
 * The batches: those `bench-tracks emit SHARED_DIR OUT 2500 2` writes
 * (bench/bench-tracks.c: every row of shared/data/aircraft/
 * traffic_switzerland.csv over northern Syria, fixed_wing of syr-gov, in
 * time order, the assets in 2 partitions, cut into NDJSON bodies of 2,500
 * reports), made here the same way; and the same bodies as JSON arrays.
 *
 * For each form and parser: reports/s over all the batches, median of RUNS
 * (default 3); each run copies the bodies afresh first (the fast parser
 * writes into its text), outside the timing, and parses into one batch
 * reused throughout (as a server thread could). The answer is checked: every
 * batch parsed whole, by the fast path (no fallback), and both parsers'
 * reports identical (a hash of the numbers' bits and the strings).
 *
 * usage: bench-posjson SHARED_DIR [RUNS]         exit 1 on a wrong answer
 */
#include <haven/positions.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"
#include "traffic.h"

#define BATCH 2500
#define PARTS 2

/* The bodies of one form. */
struct bodies {
  char **text;
  size_t *len, *reports;
  size_t n, total, bytes;
};

static void bodies_free(struct bodies *b) {
  for (size_t i = 0; b->text && i < b->n; i++)
    free(b->text[i]);
  free(b->text);
  free(b->len);
  free(b->reports);
}

/* The NDJSON bodies bench-tracks emit writes (nd) and the same as arrays
 * (ar). 0, or -1 out of memory. */
static int make_bodies(const struct traffic_rep *r, size_t n, struct bodies *nd,
                       struct bodies *ar) {
  struct traffic_batches b;
  if (traffic_make_batches(r, n, PARTS, BATCH, &b) != 0) {
    traffic_batches_free(&b);
    return -1;
  }
  struct bodies *both[2] = {nd, ar};
  int rc = 0;
  for (int f = 0; f < 2; f++) {
    memset(both[f], 0, sizeof *both[f]);
    both[f]->text = calloc(b.nb + 1, sizeof(char *));
    both[f]->len = calloc(b.nb + 1, sizeof(size_t));
    both[f]->reports = calloc(b.nb + 1, sizeof(size_t));
    if (!both[f]->text || !both[f]->len || !both[f]->reports)
      rc = -1;
  }
  for (size_t bi = 0; rc == 0 && bi < b.nb; bi++) {
    size_t lens[2];
    char *texts[2] = {traffic_body(r, &b, bi, "syr-gov", 0, &lens[0]), NULL};
    if (texts[0])
      texts[1] = traffic_to_array(texts[0], lens[0], &lens[1]);
    if (texts[1] == NULL) {
      free(texts[0]);
      rc = -1;
      break;
    }
    for (int f = 0; f < 2; f++) {
      struct bodies *x = both[f];
      x->text[x->n] = texts[f];
      x->len[x->n] = lens[f];
      x->reports[x->n] = b.len[bi];
      x->n++;
      x->total += b.len[bi];
      x->bytes += lens[f];
    }
  }
  traffic_batches_free(&b);
  return rc;
}

typedef int (*parse_fn)(char *, size_t, int, struct hv_positions_batch *,
                        struct hv_error *);

/* FNV-1a over the bits of the reports. */
static uint64_t hash_batch(uint64_t h, const struct hv_positions_batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    const struct hv_position *p = &b->v[i];
    const unsigned char *parts[3] = {(const unsigned char *)p->asset,
                                     (const unsigned char *)p->party,
                                     (const unsigned char *)&p->t_ms};
    size_t lens[3] = {strlen(p->asset) + 1, strlen(p->party) + 1,
                      sizeof *p - offsetof(struct hv_position, t_ms)};
    for (int k = 0; k < 3; k++)
      for (size_t j = 0; j < lens[k]; j++)
        h = (h ^ parts[k][j]) * 1099511628211u;
    h = (h ^ (unsigned)p->cls) * 1099511628211u;
  }
  return h;
}

/* One run: every body of b, copied into work first, parsed by fn. Returns
 * the seconds (-1 on a wrong answer, printed); *hash gets the reports'. */
static double run_once(const struct bodies *b, char **work, int ndjson,
                       parse_fn fn, int want_fast, uint64_t *hash) {
  struct hv_positions_batch batch = {0};
  struct hv_error err = {0};
  for (size_t i = 0; i < b->n; i++)
    memcpy(work[i], b->text[i], b->len[i] + 1);
  uint64_t h = 1469598103934665603u;
  double t0 = now_s(), spent = 0;
  for (size_t i = 0; i < b->n; i++) {
    int rc = fn(work[i], b->len[i], ndjson, &batch, &err);
    if (rc != HV_OK || batch.n != b->reports[i] ||
        (want_fast && batch.fallback)) {
      fprintf(stderr,
              "bench-posjson: batch %zu: rc %d (%s), %zu of %zu reports, "
              "fallback %d\n",
              i, rc, err.msg, batch.n, b->reports[i], batch.fallback);
      hv_positions_batch_free(&batch);
      return -1;
    }
    /* Hashing is not parsing: outside the clock. */
    spent += now_s() - t0;
    h = hash_batch(h, &batch);
    t0 = now_s();
  }
  hv_positions_batch_free(&batch);
  *hash = h;
  return spent;
}

/* reports/s of fn on b, median of runs; 0 on a wrong answer. */
static double rate(const struct bodies *b, int ndjson, parse_fn fn,
                   int want_fast, int runs, uint64_t *hash) {
  char **work = calloc(b->n, sizeof *work);
  double *r = malloc((size_t)runs * sizeof *r), result = 0;
  int ok = work && r;
  for (size_t i = 0; ok && i < b->n; i++)
    ok = (work[i] = malloc(b->len[i] + 1)) != NULL;
  for (int k = 0; ok && k < runs; k++) {
    double s = run_once(b, work, ndjson, fn, want_fast, hash);
    ok = s > 0;
    r[k] = ok ? (double)b->total / s : 0;
  }
  if (ok)
    result = median(r, runs);
  for (size_t i = 0; work && i < b->n; i++)
    free(work[i]);
  free(work);
  free(r);
  return result;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fputs("usage: bench-posjson SHARED_DIR [RUNS]\n", stderr);
    return 2;
  }
  char *end = NULL;
  long runs = argc == 3 ? strtol(argv[2], &end, 10) : 3;
  if ((end && *end) || runs < 1 || runs > 99) {
    fputs("usage: bench-posjson SHARED_DIR [RUNS]\n", stderr);
    return 2;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/data/aircraft/traffic_switzerland.csv",
           argv[1]);
  size_t n = 0, skipped;
  struct traffic_rep *r = traffic_load(path, &n, &skipped);
  if (r == NULL || n == 0 || traffic_number_assets(r, n, PARTS) == 0) {
    fprintf(stderr, "bench-posjson: cannot read %s\n", path);
    free(r);
    return 1;
  }
  struct bodies nd, ar;
  int status = make_bodies(r, n, &nd, &ar) == 0 ? 0 : 1;
  free(r);
  if (status == 0) {
    printf("Position batches: hv_positions_parse (fast) against "
           "hv_positions_parse_reference (jansson), %zu reports of "
           "traffic_switzerland.csv in %zu batches of <= %d (as bench-tracks "
           "emit), median of %ld:\n",
           nd.total, nd.n, BATCH, runs);
    printf("    %-7s %9s %14s %16s %7s\n", "form", "MB", "fast rep/s",
           "jansson rep/s", "ratio");
  }
  const struct bodies *forms[2] = {&nd, &ar};
  const char *names[2] = {"ndjson", "array"};
  double fast[2] = {0}, ref[2] = {0};
  for (int f = 0; status == 0 && f < 2; f++) {
    uint64_t hf = 0, hr = 0;
    fast[f] = rate(forms[f], f == 0, hv_positions_parse, 1, (int)runs, &hf);
    ref[f] =
        rate(forms[f], f == 0, hv_positions_parse_reference, 0, (int)runs, &hr);
    if (fast[f] == 0 || ref[f] == 0 || hf != hr) {
      fprintf(stderr, "bench-posjson: %s: %s\n", names[f],
              hf != hr ? "the parsers' reports differ" : "a batch failed");
      status = 1;
      break;
    }
    printf("    %-7s %9.1f %14.0f %16.0f %6.1fx\n", names[f],
           (double)forms[f]->bytes / 1e6, fast[f], ref[f], fast[f] / ref[f]);
  }
  if (status == 0)
    printf("posjson ndjson_fast_reports_per_s=%.0f "
           "ndjson_jansson_reports_per_s=%.0f array_fast_reports_per_s=%.0f "
           "array_jansson_reports_per_s=%.0f\n",
           fast[0], ref[0], fast[1], ref[1]);
  bodies_free(&nd);
  bodies_free(&ar);
  return status;
}
