/*
 * bench-separation.c — the separation check (hv_separation_detect) against
 * the all-pairs oracle (bench/sep-oracle.h), in the same run, on:
 *
 * - W-CD (shared/bench/WORKLOADS.md): wcd_states_{1000,10000,100000}.csv,
 *   every aircraft its own party; the counts must be the published ones
 *   (200 at N = 1,000 and 20,239 at N = 10,000) and the oracle's;
 * - real tracks: shared/data/aircraft/traffic_switzerland.csv (OpenSky ADS-B,
 *   2018-08-01, a position per aircraft every 10 s, 20 to 47 aircraft in the
 *   air at once, all above FL300). Copy k of the traffic is the picture at
 *   instant t_k = first + 600 s + ((610 k) mod (span - 1200 s)), rounded
 *   down to the 10 s grid (a time shift: copies show different moments of
 *   the day), translated by whole tiles of a 12 x 12 grid around the
 *   original: tile k mod 144, (row - 6) x 2 degrees of latitude and (column
 *   - 6) x 4.5 degrees of longitude (the size of the original box), so
 *   ~24 x 54 degrees around Switzerland (lat 34-59). Copies are added until
 *   N states (the last one cut short): at N = 1,000 about 40 tiles hold one
 *   copy each (real density), at 10,000 every tile holds ~2 copies, at
 *   100,000 ~20. Units: altitude ft -> m, groundspeed kt -> m/s, vertical
 *   rate ft/min -> m/s. Every aircraft is its own party.
 *
 * For each: haven's ms per pass (median of RUNS >= 5 passes) and the
 * oracle's (median of RUNS at N <= 1,000, one pass at 10,000; at 100,000 one
 * pass when its time estimated from the 10,000 one is under 60 s, skipped
 * otherwise), the pair counts, whether the two lists are identical (same
 * pairs, times within 1e-9 relative) and the ratio oracle / haven.
 *
 * usage: bench-separation SHARED_DIR [RUNS]     exit 1 on a wrong answer
 */
#include <errno.h>
#include <haven/separation.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sep-oracle.h"

#include "bench-util.h"

/* Reads k numbers from the comma-separated line at *p into v, skipping the
 * fields whose index is set in skip; moves *p to the next line. 0, or -1 if
 * a field is missing or not a number. */
static int fields(char **p, double *v, int k, unsigned skip) {
  char *s = *p, *eol = s + strcspn(s, "\n");
  int ok = 1;
  for (int i = 0, j = 0; ok && j < k; i++) {
    if (s > eol) {
      ok = 0; /* the line has fewer fields */
      break;
    }
    char *end = s + strcspn(s, ",\n");
    if (!(skip & (1u << i))) {
      char *e;
      errno = 0;
      v[j++] = strtod(s, &e);
      if (e == s || errno != 0 || (e != end && !(*e == '\r' && e + 1 == end)))
        ok = 0;
    }
    s = end + 1;
  }
  *p = *eol ? eol + 1 : eol;
  return ok ? 0 : -1;
}

/* W-CD: id,lat,lon,alt_m,gs_mps,trk_deg,vs_mps. */
static struct hv_state *load_wcd(const char *path, size_t *n) {
  char *buf = slurp(path);
  if (buf == NULL)
    return NULL;
  size_t cap = 1024;
  struct hv_state *s = malloc(cap * sizeof *s);
  char *p = buf + strcspn(buf, "\n");
  p += *p ? 1 : 0;
  *n = 0;
  while (s != NULL && *p) {
    double v[6];
    if (fields(&p, v, 6, 1u) != 0) {
      fprintf(stderr, "bench-separation: %s: bad row %zu\n", path, *n + 2);
      free(s);
      s = NULL;
      break;
    }
    if (*n == cap) {
      struct hv_state *t = realloc(s, (cap *= 2) * sizeof *s);
      if (t == NULL) {
        free(s);
        s = NULL;
        break;
      }
      s = t;
    }
    s[*n] = (struct hv_state){.lat = v[0],
                              .lon = v[1],
                              .alt_m = v[2],
                              .gs_mps = v[3],
                              .trk_deg = v[4],
                              .vs_mps = v[5],
                              .party = (uint32_t)*n};
    (*n)++;
  }
  free(buf);
  return s;
}

/* One row of the ADS-B file. */
struct fix {
  double t_s; /* seconds since the epoch */
  struct hv_state st;
};

static int cmp_fix(const void *a, const void *b) {
  const struct fix *x = a, *y = b;
  return (x->t_s > y->t_s) - (x->t_s < y->t_s);
}

/* traffic_switzerland.csv: time_utc, timestamp (ms), altitude (ft),
 * callsign, groundspeed (kt), icao24, latitude, longitude, track (deg),
 * vertical_rate (ft/min). Rows sorted by time; *skipped counts the bad. */
static struct fix *load_tracks(const char *path, size_t *n, size_t *skipped) {
  char *buf = slurp(path);
  if (buf == NULL)
    return NULL;
  size_t cap = 1 << 17;
  struct fix *f = malloc(cap * sizeof *f);
  char *p = buf + strcspn(buf, "\n");
  p += *p ? 1 : 0;
  *n = *skipped = 0;
  while (f != NULL && *p) {
    double v[7]; /* timestamp alt gs lat lon track vrate */
    if (fields(&p, v, 7, 1u | 1u << 3 | 1u << 5) != 0 || v[1] < 0 || v[2] < 0 ||
        fabs(v[3]) > 85 || fabs(v[4]) > 180) {
      (*skipped)++;
      continue;
    }
    if (*n == cap) {
      struct fix *t = realloc(f, (cap *= 2) * sizeof *f);
      if (t == NULL) {
        free(f);
        f = NULL;
        break;
      }
      f = t;
    }
    f[*n] = (struct fix){.t_s = v[0] / 1000.0,
                         .st = {.lat = v[3],
                                .lon = v[4],
                                .alt_m = v[1] * 0.3048,
                                .gs_mps = v[2] * 1852.0 / 3600.0,
                                .trk_deg = v[5],
                                .vs_mps = v[6] * 0.3048 / 60.0}};
    (*n)++;
  }
  free(buf);
  if (f != NULL)
    qsort(f, *n, sizeof *f, cmp_fix);
  return f;
}

/* n states made of time-shifted, translated copies of the tracks (see the
 * head of this file). */
static struct hv_state *replicate(const struct fix *f, size_t nf, size_t n,
                                  size_t *copies) {
  struct hv_state *s = malloc(n * sizeof *s);
  if (s == NULL || nf == 0) {
    free(s);
    return NULL;
  }
  double first = f[0].t_s, span = f[nf - 1].t_s - first;
  size_t m = 0, k = 0;
  for (; m < n; k++) {
    double t = first + 600.0 + fmod(610.0 * (double)k, span - 1200.0);
    t = first + 10.0 * floor((t - first) / 10.0);
    int tile = (int)(k % 144), row = tile / 12, col = tile % 12;
    /* the rows at instant t: binary search for the first */
    size_t lo = 0, hi = nf;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (f[mid].t_s < t - 0.5)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (size_t i = lo; i < nf && f[i].t_s < t + 0.5 && m < n; i++) {
      s[m] = f[i].st;
      s[m].lat += (row - 6) * 2.0;
      s[m].lon += (col - 6) * 4.5;
      s[m].party = (uint32_t)m;
      m++;
    }
  }
  *copies = k;
  return s;
}

/* 1 when the two lists are the same pairs with the same figures (within
 * 1e-9 relative), else 0 and the first difference printed. */
static int same(const struct hv_conflicts *x, const struct hv_conflicts *y) {
  if (x->n != y->n) {
    printf("    differ: %zu pairs against %zu\n", x->n, y->n);
    return 0;
  }
  for (size_t i = 0; i < x->n; i++) {
    const struct hv_conflict *a = &x->v[i], *b = &y->v[i];
    const double va[] = {a->t_in_s, a->t_out_s, a->t_cpa_s, a->d_cpa_m,
                         a->dalt_cpa_m};
    const double vb[] = {b->t_in_s, b->t_out_s, b->t_cpa_s, b->d_cpa_m,
                         b->dalt_cpa_m};
    int ok = a->a == b->a && a->b == b->b;
    for (int j = 0; ok && j < 5; j++)
      ok = fabs(va[j] - vb[j]) <=
           1e-9 * fmax(1.0, fmax(fabs(va[j]), fabs(vb[j])));
    if (!ok) {
      printf("    differ at %zu: (%u, %u) against (%u, %u)\n", i, a->a, a->b,
             b->a, b->b);
      return 0;
    }
  }
  return 1;
}

/* Times RUNS passes of haven and the oracle on s; prints one line. The
 * oracle's time at N = 10,000 (per pass) goes into *oracle_10k_s; at larger N
 * it is used to decide whether to run the oracle. 1 when correct. */
static int run(const char *name, const struct hv_state *s, size_t n,
               long expect, int runs, double *oracle_10k_s) {
  struct hv_sep_params p = hv_sep_params_default();
  struct hv_conflicts hv = {0}, ref = {0};
  struct hv_error err = {0};
  double *t = calloc((size_t)runs, sizeof *t);
  int ok = t != NULL;
  for (int r = 0; ok && r < runs; r++) {
    double t0 = now_s();
    if (hv_separation_detect(s, n, &p, &hv, &err) != HV_OK) {
      printf("  %s: %s\n", name, err.msg);
      ok = 0;
    }
    t[r] = now_s() - t0;
  }
  if (!ok) {
    free(t);
    hv_conflicts_free(&hv);
    return 0;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  double hv_s = t[runs / 2];
  /* the oracle */
  int oruns = n <= 1000 ? runs : 1;
  double est = n > 10000 && *oracle_10k_s > 0
                   ? *oracle_10k_s * ((double)n / 1e4) * ((double)n / 1e4)
                   : 0;
  double or_s = -1;
  int compared = 0;
  if (est < 60.0) {
    for (int r = 0; r < oruns; r++) {
      double t0 = now_s();
      if (sep_oracle(s, n, &p, &ref) != 0) {
        printf("  %s: oracle out of memory\n", name);
        ok = 0;
        break;
      }
      t[r] = now_s() - t0;
    }
    qsort(t, (size_t)oruns, sizeof *t, cmp_double);
    or_s = t[oruns / 2];
    if (n == 10000)
      *oracle_10k_s = or_s;
    compared = ok;
  }
  char check[160];
  int same_ok = compared ? same(&hv, &ref) : 1;
  ok &= same_ok && (expect < 0 || (long)hv.n == expect);
  int len = snprintf(check, sizeof check, "%s",
                     !compared ? "oracle skipped"
                     : same_ok ? "= oracle"
                               : "DIFFERS from oracle");
  if (expect >= 0 && len > 0 && (size_t)len < sizeof check)
    snprintf(check + len, sizeof check - (size_t)len, ", %s published %ld",
             (long)hv.n == expect ? "=" : "WRONG:", expect);
  if (or_s >= 0)
    printf("  %-12s %7zu %9zu %12.2f %14.1f %9.0f  %s\n", name, n, hv.n,
           hv_s * 1e3, or_s * 1e3, or_s / hv_s, check);
  else
    printf("  %-12s %7zu %9zu %12.2f %14s %9s  %s (estimated %.0f s)\n", name,
           n, hv.n, hv_s * 1e3, "-", "-", check, est);
  fflush(stdout);
  free(t);
  hv_conflicts_free(&hv);
  hv_conflicts_free(&ref);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-separation SHARED_DIR [RUNS]\n");
    return 2;
  }
  int runs = 5;
  if (argc > 2) {
    char *end;
    long r = strtol(argv[2], &end, 10);
    runs = *end == '\0' && r > 5 ? (int)r : 5;
  }
  printf("Separation: one pass, 300 s look-ahead, 5 NM / 1,000 ft, one core\n"
         "(haven: median of %d passes; oracle: all pairs, bench/sep-oracle.h)"
         "\n",
         runs);
  printf("  %-12s %7s %9s %12s %14s %9s  %s\n", "workload", "N", "pairs",
         "haven ms", "oracle ms", "oracle/hv", "check");
  int ok = 1;
  char path[4096];
  static const size_t sizes[] = {1000, 10000, 100000};
  static const long expect[] = {200, 20239, -1};
  double o10k = 0;
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/bench/wcd_states_%zu.csv", argv[1],
             sizes[i]);
    size_t n;
    struct hv_state *s = load_wcd(path, &n);
    if (s == NULL || n != sizes[i]) {
      fprintf(stderr, "bench-separation: %s: cannot read %zu states\n", path,
              sizes[i]);
      free(s);
      return 1;
    }
    ok &= run("W-CD", s, n, expect[i], runs, &o10k);
    free(s);
  }
  snprintf(path, sizeof path, "%s/data/aircraft/traffic_switzerland.csv",
           argv[1]);
  size_t nf, skipped;
  struct fix *f = load_tracks(path, &nf, &skipped);
  if (f == NULL || nf == 0) {
    fprintf(stderr, "bench-separation: %s: cannot read\n", path);
    free(f);
    return 1;
  }
  o10k = 0;
  for (int i = 0; i < 3; i++) {
    size_t copies;
    struct hv_state *s = replicate(f, nf, sizes[i], &copies);
    if (s == NULL) {
      fprintf(stderr, "bench-separation: out of memory\n");
      free(f);
      return 1;
    }
    char name[32];
    snprintf(name, sizeof name, "tracks x%zu", copies);
    ok &= run(name, s, sizes[i], -1, runs, &o10k);
    free(s);
  }
  printf("  (tracks: %zu ADS-B rows read, %zu skipped; xK = copies)\n", nf,
         skipped);
  printf("  target (issue 4): <= 20 ms per pass at N = 10,000\n");
  free(f);
  return ok ? 0 : 1;
}
