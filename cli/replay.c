/*
 * replay.c — `haven replay FILE`: feeds a CSV of position reports through
 * the live-picture engine (haven/tracks.h) in time order, in batches, and
 * prints the findings as NDJSON on stdout (docs/live.md, "haven replay").
 *
 * Two layouts, recognised by the header line:
 * - OpenSky / traffic: time_utc, timestamp (ms), altitude (ft), callsign,
 *   groundspeed (kt), icao24, latitude, longitude, track (deg),
 *   vertical_rate (ft/min), in any column order; asset = icao24, party and
 *   class from --party / --class.
 * - generic: asset, party, class, t, lon, lat, alt_m, ve_mps, vn_mps,
 *   vs_mps; t in ms since the epoch or RFC 3339.
 * Rows with a blank field are skipped and counted on stderr with their line
 * numbers; so are rows whose values are out of range. The whole file is
 * read, sorted by time (stable: file order within one time), then fed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define FT_M 0.3048
#define KT_MPS (1852.0 / 3600.0)
#define FPM_MPS (0.3048 / 60.0)
#define MAX_COLS 32
#define MAX_PARTIES 16
#define SHOW_LINES 10

static const char REPLAY_USAGE[] =
    "usage: haven [--data DIR] replay FILE [--party ID[,ID...]] "
    "[--class CLASS]\n"
    "                    [--translate DLON,DLAT] [--speed X] [--batch-ms MS]\n"
    "                    [--start TIME] [--emit findings|positions]\n"
    "  FILE: OpenSky/traffic CSV (needs --party) or the generic layout\n"
    "        asset,party,class,t,lon,lat,alt_m,ve_mps,vn_mps,vs_mps\n"
    "  --start: shift every time so that the first report is at TIME\n"
    "  --emit positions: print the reports (time-ordered NDJSON, the body of\n"
    "        POST /v1/positions) instead of running them through the engine\n";

struct row {
  struct hv_position p;
  char asset[HV_ID_MAX];
  char party[HV_ID_MAX];
  size_t line;
};

struct rows {
  struct row *v;
  size_t n, cap;
};

enum layout { OPENSKY, GENERIC };

/* Splits line (modified) at commas into at most MAX_COLS fields. */
static size_t split(char *line, char **f) {
  size_t n = 0;
  line[strcspn(line, "\r\n")] = '\0';
  char *p = line;
  for (;;) {
    if (n == MAX_COLS)
      return n;
    f[n++] = p;
    char *c = strchr(p, ',');
    if (c == NULL)
      return n;
    *c = '\0';
    p = c + 1;
  }
}

static int col(char **f, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(f[i], name) == 0)
      return (int)i;
  return -1;
}

static int num(const char *s, double *out) {
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return errno == 0 && end != s && *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int copy_field(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n == 0 || n >= HV_ID_MAX)
    return -1;
  memcpy(dst, src, n + 1);
  return 0;
}

static int row_cmp(const void *x, const void *y) {
  const struct row *a = x, *b = y;
  if (a->p.t_ms != b->p.t_ms)
    return a->p.t_ms < b->p.t_ms ? -1 : 1;
  return a->line < b->line ? -1 : a->line > b->line;
}

struct skipped {
  const char *what;
  size_t n;
};

static void skip(struct skipped *s, size_t line, const char *why) {
  if (s->n < SHOW_LINES)
    fprintf(stderr, "haven: replay: line %zu skipped: %s\n", line, why);
  s->n++;
}

static void sleep_ms(double ms) {
  if (ms <= 0)
    return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An asset's party by order of first appearance (OpenSky layout). */
struct assign {
  char (*ids)[HV_ID_MAX];
  size_t n, cap;
};

static const char *party_of(struct assign *as, const char *asset,
                            char parties[][HV_ID_MAX], size_t np) {
  for (size_t i = 0; i < as->n; i++)
    if (strcmp(as->ids[i], asset) == 0)
      return parties[i % np];
  if (as->n == as->cap) {
    size_t cap = as->cap ? 2 * as->cap : 256;
    char(*v)[HV_ID_MAX] = realloc(as->ids, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    as->ids = v;
    as->cap = cap;
  }
  memcpy(as->ids[as->n], asset, strlen(asset) + 1);
  return parties[as->n++ % np];
}

int cmd_replay(struct cli *c, int argc, char **argv) {
  const char *file = NULL, *party_opt = NULL, *class_opt = NULL;
  const char *start_opt = NULL, *emit = "findings";
  double dlon = 0, dlat = 0, speed = 0, batch_ms = 1000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = strcmp(a, "--party") == 0 || strcmp(a, "--class") == 0 ||
                strcmp(a, "--translate") == 0 || strcmp(a, "--speed") == 0 ||
                strcmp(a, "--batch-ms") == 0 || strcmp(a, "--start") == 0 ||
                strcmp(a, "--emit") == 0;
    if (takes && v == NULL) {
      fprintf(stderr, "haven: replay: %s needs a value\n%s", a, REPLAY_USAGE);
      return 2;
    }
    if (strcmp(a, "--party") == 0)
      party_opt = v;
    else if (strcmp(a, "--start") == 0)
      start_opt = v;
    else if (strcmp(a, "--emit") == 0) {
      if (strcmp(v, "findings") != 0 && strcmp(v, "positions") != 0) {
        fprintf(stderr, "haven: replay: --emit: findings or positions\n");
        return 2;
      }
      emit = v;
    } else if (strcmp(a, "--class") == 0)
      class_opt = v;
    else if (strcmp(a, "--translate") == 0) {
      char buf[128];
      const char *comma = strchr(v, ',');
      size_t k = comma ? (size_t)(comma - v) : 0;
      if (comma == NULL || k >= sizeof buf) {
        fprintf(stderr, "haven: replay: --translate wants DLON,DLAT\n");
        return 2;
      }
      memcpy(buf, v, k);
      buf[k] = '\0';
      if (cli_number("--translate DLON", buf, &dlon) ||
          cli_number("--translate DLAT", comma + 1, &dlat))
        return 2;
    } else if (strcmp(a, "--speed") == 0) {
      if (cli_number("--speed", v, &speed))
        return 2;
      if (speed < 0) {
        fprintf(stderr, "haven: replay: --speed must be >= 0\n");
        return 2;
      }
    } else if (strcmp(a, "--batch-ms") == 0) {
      if (cli_number("--batch-ms", v, &batch_ms))
        return 2;
      if (batch_ms < 1 || batch_ms > 86400000) {
        fprintf(stderr, "haven: replay: --batch-ms must be 1..86400000\n");
        return 2;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "haven: replay: unknown option %s\n%s", a, REPLAY_USAGE);
      return 2;
    } else if (file == NULL) {
      file = a;
      continue;
    } else {
      fprintf(stderr, "haven: replay: one FILE only\n%s", REPLAY_USAGE);
      return 2;
    }
    i++;
  }
  if (file == NULL) {
    fputs(REPLAY_USAGE, stderr);
    return 2;
  }
  int64_t start_ms = 0;
  if (start_opt && cli_time("--start", start_opt, &start_ms))
    return 2;
  enum hv_asset_class cls = HV_ASSET_FIXED_WING;
  if (class_opt && hv_asset_class_parse(class_opt, &cls) != HV_OK) {
    fprintf(stderr,
            "haven: replay: --class: \"%s\" is not one of fixed_wing, rotary, "
            "uav, ground_armed, ground_civil, humanitarian\n",
            class_opt);
    return 2;
  }
  char parties[MAX_PARTIES][HV_ID_MAX];
  size_t np = 0;
  if (party_opt) {
    const char *p = party_opt;
    for (;;) {
      const char *e = strchr(p, ',');
      size_t k = e ? (size_t)(e - p) : strlen(p);
      if (k == 0 || k >= HV_ID_MAX || np == MAX_PARTIES) {
        fprintf(stderr,
                "haven: replay: --party: \"%s\" is not a list of 1-%d "
                "party ids\n",
                party_opt, MAX_PARTIES);
        return 2;
      }
      memcpy(parties[np], p, k);
      parties[np++][k] = '\0';
      if (e == NULL)
        break;
      p = e + 1;
    }
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  for (size_t i = 0; i < np; i++)
    if (hv_db_get(c->db, HV_PARTY, parties[i]) == NULL) {
      fprintf(stderr, "haven: replay: --party: no party \"%s\"\n", parties[i]);
      return 1;
    }

  FILE *in = fopen(file, "r");
  if (in == NULL) {
    fprintf(stderr, "haven: replay: %s: %s\n", file, strerror(errno));
    return 1;
  }
  char *line = NULL;
  size_t lcap = 0, lineno = 0;
  struct rows rows = {0};
  struct assign as = {0};
  struct skipped blank = {"blank", 0}, invalid = {"invalid", 0};
  char *f[MAX_COLS];
  int ix[10];
  enum layout layout = GENERIC;
  int ret = 1;
  struct hv_tracks *tr = NULL;
  struct hv_findings out = {0};

  if (getline(&line, &lcap, in) < 0) {
    fprintf(stderr, "haven: replay: %s: empty file\n", file);
    goto done;
  }
  lineno = 1;
  size_t nh = split(line, f);
  static const char *const os_cols[] = {
      "timestamp", "altitude", "groundspeed",   "icao24",  "latitude",
      "longitude", "track",    "vertical_rate", "time_utc"};
  static const char *const gen_cols[] = {"asset",  "party", "class", "t",
                                         "lon",    "lat",   "alt_m", "ve_mps",
                                         "vn_mps", "vs_mps"};
  if (col(f, nh, "icao24") >= 0) {
    layout = OPENSKY;
    for (size_t k = 0; k < 9; k++)
      if ((ix[k] = col(f, nh, os_cols[k])) < 0 && k < 8) {
        fprintf(stderr, "haven: replay: %s: OpenSky layout without column %s\n",
                file, os_cols[k]);
        goto done;
      }
    if (np == 0) {
      fprintf(stderr,
              "haven: replay: %s: the OpenSky layout carries no party: "
              "give --party ID[,ID...]\n",
              file);
      ret = 2;
      goto done;
    }
  } else {
    for (size_t k = 0; k < 10; k++)
      if ((ix[k] = col(f, nh, gen_cols[k])) < 0) {
        fprintf(stderr,
                "haven: replay: %s: header has neither icao24 (OpenSky layout) "
                "nor %s (generic layout: asset,party,class,t,lon,lat,alt_m,"
                "ve_mps,vn_mps,vs_mps)\n",
                file, gen_cols[k]);
        goto done;
      }
    if (np || class_opt) {
      fprintf(stderr, "haven: replay: --party and --class apply to the "
                      "OpenSky layout only\n");
      ret = 2;
      goto done;
    }
  }

  while (getline(&line, &lcap, in) >= 0) {
    lineno++;
    size_t nf = split(line, f);
    if (nf == 1 && f[0][0] == '\0')
      continue; /* an empty line */
    if (rows.n == rows.cap) {
      size_t cap = rows.cap ? 2 * rows.cap : 4096;
      struct row *v = realloc(rows.v, cap * sizeof *v);
      if (v == NULL) {
        fprintf(stderr, "haven: replay: out of memory\n");
        goto done;
      }
      rows.v = v;
      rows.cap = cap;
    }
    struct row *r = &rows.v[rows.n];
    memset(r, 0, sizeof *r);
    r->line = lineno;
    size_t need = layout == OPENSKY ? 8 : 10;
    int is_blank = 0;
    for (size_t k = 0; k < need; k++)
      if ((size_t)ix[k] >= nf || f[ix[k]][0] == '\0')
        is_blank = 1;
    if (is_blank) {
      skip(&blank, lineno, "a blank field");
      continue;
    }
    double x[7];
    const char *why = NULL;
    if (layout == OPENSKY) {
      double ts, alt, gs, lat, lon, trk, vr;
      if (num(f[ix[0]], &ts) || num(f[ix[1]], &alt) || num(f[ix[2]], &gs) ||
          num(f[ix[4]], &lat) || num(f[ix[5]], &lon) || num(f[ix[6]], &trk) ||
          num(f[ix[7]], &vr))
        why = "a field is not a number";
      else if (copy_field(r->asset, f[ix[3]]))
        why = "icao24 is not an id";
      else {
        const char *p = party_of(&as, r->asset, parties, np);
        if (p == NULL) {
          fprintf(stderr, "haven: replay: out of memory\n");
          goto done;
        }
        memcpy(r->party, p, strlen(p) + 1);
        r->p.cls = cls;
        r->p.t_ms = (int64_t)llround(ts);
        r->p.lon = lon;
        r->p.lat = lat;
        r->p.alt_m = alt * FT_M;
        r->p.ve_mps = gs * KT_MPS * sin(trk * M_PI / 180);
        r->p.vn_mps = gs * KT_MPS * cos(trk * M_PI / 180);
        r->p.vs_mps = vr * FPM_MPS;
      }
    } else {
      double ms;
      if (copy_field(r->asset, f[ix[0]]) || copy_field(r->party, f[ix[1]]))
        why = "asset or party is not an id";
      else if (hv_asset_class_parse(f[ix[2]], &r->p.cls) != HV_OK)
        why = "class is not an asset class";
      else if (num(f[ix[3]], &ms) == 0)
        r->p.t_ms = (int64_t)llround(ms);
      else if (hv_time_parse(f[ix[3]], &r->p.t_ms) != HV_OK)
        why = "t is neither ms nor an RFC 3339 time";
      for (size_t k = 0; k < 6 && why == NULL; k++)
        if (num(f[ix[4 + k]], &x[k]))
          why = "a field is not a number";
      if (why == NULL) {
        r->p.lon = x[0];
        r->p.lat = x[1];
        r->p.alt_m = x[2];
        r->p.ve_mps = x[3];
        r->p.vn_mps = x[4];
        r->p.vs_mps = x[5];
        if (hv_db_get(c->db, HV_PARTY, r->party) == NULL) {
          fprintf(stderr, "haven: replay: %s:%zu: party: no party \"%s\"\n",
                  file, lineno, r->party);
          goto done;
        }
      }
    }
    if (why == NULL) {
      r->p.lon += dlon;
      r->p.lat += dlat;
      if (!(fabs(r->p.lon) <= 180 && fabs(r->p.lat) <= HV_SEP_MAX_LAT_DEG))
        why = "position out of range (after --translate)";
      else if (!(r->p.alt_m >= -1000 && r->p.alt_m <= 100000))
        why = "altitude out of range -1000..100000 m";
      else if (!(hypot(r->p.ve_mps, r->p.vn_mps) <= HV_SEP_MAX_SPEED_MPS &&
                 fabs(r->p.vs_mps) <= HV_SEP_MAX_SPEED_MPS))
        why = "speed out of range";
      else if (r->p.t_ms <= 0)
        why = "time before 1970";
    }
    if (why) {
      skip(&invalid, lineno, why);
      continue;
    }
    rows.n++;
  }
  if (ferror(in)) {
    fprintf(stderr, "haven: replay: %s: %s\n", file, strerror(errno));
    goto done;
  }
  if (blank.n || invalid.n)
    fprintf(stderr,
            "haven: replay: %zu rows skipped for a blank field, %zu for an "
            "invalid value (the first %d of each are named above)\n",
            blank.n, invalid.n, SHOW_LINES);
  if (rows.n)
    qsort(rows.v, rows.n, sizeof *rows.v, row_cmp);
  int64_t shift = start_opt && rows.n ? start_ms - rows.v[0].p.t_ms : 0;
  for (size_t i = 0; i < rows.n; i++) {
    rows.v[i].p.asset = rows.v[i].asset;
    rows.v[i].p.party = rows.v[i].party;
    rows.v[i].p.t_ms += shift;
  }
  if (strcmp(emit, "positions") == 0) {
    for (size_t i = 0; i < rows.n; i++) {
      const struct hv_position *p = &rows.v[i].p;
      printf("{\"asset\":\"%s\",\"party\":\"%s\",\"class\":\"%s\","
             "\"t_ms\":%lld,\"lon\":%.6f,\"lat\":%.6f,\"alt_m\":%.1f,"
             "\"ve_mps\":%.2f,\"vn_mps\":%.2f,\"vs_mps\":%.2f}\n",
             p->asset, p->party, hv_asset_class_name(p->cls),
             (long long)p->t_ms, p->lon, p->lat, p->alt_m, p->ve_mps,
             p->vn_mps, p->vs_mps);
    }
    ret = ferror(stdout) ? 1 : 0;
    goto done;
  }

  struct hv_error err = {0};
  if ((rc = hv_tracks_new(c->db, &tr)) != HV_OK) {
    cli_fail(rc, NULL);
    goto done;
  }
  size_t counts[HV_FIND_COUNT] = {0}, batches = 0, total = 0;
  double busy = 0;
  int64_t prev_start = 0;
  for (size_t i = 0; i < rows.n;) {
    int64_t start = rows.v[i].p.t_ms;
    size_t j = i;
    while (j < rows.n && (double)(rows.v[j].p.t_ms - start) < batch_ms)
      j++;
    if (speed > 0 && batches > 0)
      sleep_ms((double)(start - prev_start) / speed);
    prev_start = start;
    struct hv_position *b = malloc((j - i) * sizeof *b);
    if (b == NULL) {
      fprintf(stderr, "haven: replay: out of memory\n");
      goto done;
    }
    for (size_t k = i; k < j; k++)
      b[k - i] = rows.v[k].p;
    out.n = 0;
    double t0 = now_s();
    rc = hv_tracks_ingest(tr, b, j - i, &out, &err);
    busy += now_s() - t0;
    free(b);
    if (rc != HV_OK) {
      fprintf(stderr, "haven: replay: batch from line %zu: ", rows.v[i].line);
      cli_fail(rc, &err);
      goto done;
    }
    for (size_t k = 0; k < out.n; k++) {
      json_t *o = hv_finding_json(&out.v[k]);
      char *s =
          o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
      json_decref(o);
      if (s == NULL) {
        fprintf(stderr, "haven: replay: out of memory\n");
        goto done;
      }
      fputs(s, stdout);
      fputc('\n', stdout);
      free(s);
      counts[out.v[k].kind]++;
    }
    if (speed > 0)
      fflush(stdout);
    total += j - i;
    batches++;
    i = j;
  }
  fprintf(stderr,
          "haven: replay: %zu reports in %zu batches, %zu assets, %.3f s in "
          "hv_tracks_ingest (%.0f reports/s), %zu bytes of state per asset "
          "(without history)\n",
          total, batches, hv_tracks_count(tr), busy,
          busy > 0 ? (double)total / busy : 0.0, hv_tracks_bytes_per_asset(tr));
  for (int k = 0; k < HV_FIND_COUNT; k++)
    if (counts[k])
      fprintf(stderr, "haven: replay:   %s %zu\n",
              hv_finding_kind_name((enum hv_finding_kind)k), counts[k]);
  ret = fflush(stdout) == 0 ? 0 : 1;
done:
  hv_findings_free(&out);
  hv_tracks_free(tr);
  free(as.ids);
  free(rows.v);
  free(line);
  fclose(in);
  return ret;
}
