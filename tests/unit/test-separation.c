/*
 * test-separation.c — the separation check (lib/separation.c): predicted
 * losses of separation from current state vectors.
 *
 * What must hold:
 * - hv_separation_pair, the rule for one pair, gives exactly the pairs and
 *   the figures (to the bit) of hv_separation_detect with the same
 *   parameters, and the oracle's; the rule is monotone in each parameter;
 * - hv_separation_detect returns exactly the conflicts of the all-pairs
 *   oracle (bench/sep-oracle.h: every pair put to the rule of
 *   haven/separation.h, O(N^2)) — same pairs, same order, same figures
 *   within 1e-9 relative — on W-CD (where the counts are also the published
 *   200 and 20,239), on real ADS-B tracks, on random states of several
 *   densities, clusters and formations, lattices whose boxes share their
 *   edges, identical states, the antimeridian, high latitudes with boxes
 *   that span every longitude, and other parameters;
 * - the rule gives the hand-computed answers on head-on, parallel,
 *   climbing-through, descending, diverging and look-ahead-edge encounters;
 * - aircraft of the same party are never paired; n = 0 and 1 give nothing;
 * - bad input (poles, non-finite fields, bad parameters) is an error naming
 *   the state and the field;
 * - the flat pair model stays within 0.4% of the WGS84 geodesic at 47N for a
 *   separation of 9 km.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../bench/sep-oracle.h"
#include "haven/geo.h"
#include "haven/separation.h"

#define RAD (M_PI / 180.0)
/* Metres per degree of latitude on the model's sphere. */
#define M_PER_DEG (HV_SEP_EARTH_RADIUS_M * RAD)
#define NM 1852.0
#define FT 0.3048

/* ---- helpers ------------------------------------------------------------- */

static const char *shared_data(void) {
  const char *d = getenv("HAVEN_SHARED_DATA");
  return d && *d ? d : "/work/shared/data";
}

/* The whole of path, NUL-terminated (caller frees); fails the test when the
 * file cannot be read. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("%s: cannot open", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  assert_true(size >= 0);
  assert_int_equal(fseek(f, 0, SEEK_SET), 0);
  char *buf = malloc((size_t)size + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
  buf[size] = '\0';
  fclose(f);
  return buf;
}

/* Reads the comma-separated numbers of one line at *p into v: field i goes
 * to v[i], fields whose bit is set in skip are not read. Moves *p to the
 * next line. 0, or -1 when a field is missing or not a number. */
static int csv_numbers(char **p, double *v, int nfields, unsigned skip) {
  char *s = *p, *eol = s + strcspn(s, "\n");
  int ok = 1;
  for (int i = 0; i < nfields && ok; i++) {
    char *end = s + strcspn(s, ",\n");
    if (s > eol) {
      ok = 0;
    } else if (!(skip & (1u << i))) {
      char *e;
      v[i] = strtod(s, &e);
      ok = e != s && (e == end || (*e == '\r' && e + 1 == end));
    }
    s = end + 1;
  }
  *p = *eol ? eol + 1 : eol;
  return ok ? 0 : -1;
}

/* W-CD states (shared/bench/wcd_states_<n>.csv, beside shared/data), each
 * aircraft its own party. Caller frees. */
static struct hv_state *load_wcd(size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/../bench/wcd_states_%zu.csv", shared_data(),
           n);
  char *buf = slurp(path), *p = buf + strcspn(buf, "\n") + 1;
  struct hv_state *s = calloc(n, sizeof *s);
  assert_non_null(s);
  size_t k = 0;
  while (*p) {
    double v[7];
    if (csv_numbers(&p, v, 7, 1u) != 0)
      fail_msg("%s: row %zu is not id,lat,lon,alt,gs,trk,vs", path, k + 2);
    assert_true(k < n);
    s[k] = (struct hv_state){v[1], v[2], v[3], v[4], v[5], v[6], (uint32_t)k};
    k++;
  }
  assert_int_equal(k, n);
  free(buf);
  return s;
}

static int near_rel(double x, double y, double rel) {
  return fabs(x - y) <= rel * fmax(1.0, fmax(fabs(x), fabs(y)));
}

/* Runs hv_separation_detect and the oracle on s[0..n-1] with p, checks they
 * agree (and that the list is sorted by (a, b) with a < b), returns the
 * number of conflicts. what names the case in failure messages. */
static size_t check_same(const char *what, const struct hv_state *s, size_t n,
                         const struct hv_sep_params *p) {
  struct hv_conflicts hv = {0}, ref = {0};
  struct hv_error err = {0};
  int rc = hv_separation_detect(s, n, p, &hv, &err);
  if (rc != HV_OK)
    fail_msg("%s: hv_separation_detect = %s: %s", what, hv_err_name(rc),
             err.msg);
  assert_int_equal(sep_oracle(s, n, p, &ref), 0);
  if (hv.n != ref.n)
    fail_msg("%s: %zu conflicts, the oracle finds %zu", what, hv.n, ref.n);
  for (size_t i = 0; i < hv.n; i++) {
    const struct hv_conflict *x = &hv.v[i], *y = &ref.v[i];
    if (x->a != y->a || x->b != y->b)
      fail_msg("%s: conflict %zu is (%u, %u), the oracle's (%u, %u)", what, i,
               x->a, x->b, y->a, y->b);
    if (!(x->a < x->b) ||
        (i > 0 && !(hv.v[i - 1].a < x->a ||
                    (hv.v[i - 1].a == x->a && hv.v[i - 1].b < x->b))))
      fail_msg("%s: conflict %zu (%u, %u) is out of order", what, i, x->a,
               x->b);
    if (!near_rel(x->t_in_s, y->t_in_s, 1e-9) ||
        !near_rel(x->t_out_s, y->t_out_s, 1e-9) ||
        !near_rel(x->t_cpa_s, y->t_cpa_s, 1e-9) ||
        !near_rel(x->d_cpa_m, y->d_cpa_m, 1e-9) ||
        !near_rel(x->dalt_cpa_m, y->dalt_cpa_m, 1e-9))
      fail_msg("%s: (%u, %u): figures %.17g %.17g %.17g %.17g %.17g, the "
               "oracle's %.17g %.17g %.17g %.17g %.17g",
               what, x->a, x->b, x->t_in_s, x->t_out_s, x->t_cpa_s, x->d_cpa_m,
               x->dalt_cpa_m, y->t_in_s, y->t_out_s, y->t_cpa_s, y->d_cpa_m,
               y->dalt_cpa_m);
  }
  size_t count = hv.n;
  hv_conflicts_free(&hv);
  hv_conflicts_free(&ref);
  return count;
}

/* The only conflict of s[0..n-1] with the defaults (fails unless there is
 * exactly one). */
static struct hv_conflict only_conflict(const struct hv_state *s, size_t n) {
  struct hv_conflicts out = {0};
  assert_int_equal(hv_separation_detect(s, n, NULL, &out, NULL), HV_OK);
  if (out.n != 1)
    fail_msg("%zu conflicts, expected 1", out.n);
  struct hv_conflict c = out.v[0];
  hv_conflicts_free(&out);
  return c;
}

static size_t count_conflicts(const struct hv_state *s, size_t n) {
  struct hv_conflicts out = {0};
  assert_int_equal(hv_separation_detect(s, n, NULL, &out, NULL), HV_OK);
  size_t k = out.n;
  hv_conflicts_free(&out);
  return k;
}

static void assert_near(double got, double want, double tol, const char *what) {
  if (!(fabs(got - want) <= tol))
    fail_msg("%s: got %.9f, expected %.9f (+-%g)", what, got, want, tol);
}

/* A state on the equator, x_m metres east of lon 0 (lat 0: cos = 1 in the
 * model, so x_m is exact). */
static struct hv_state eq(double x_m, double alt, double gs, double trk,
                          double vs, uint32_t party) {
  return (struct hv_state){.lat = 0.0,
                           .lon = x_m / M_PER_DEG,
                           .alt_m = alt,
                           .gs_mps = gs,
                           .trk_deg = trk,
                           .vs_mps = vs,
                           .party = party};
}

/* xorshift64*: a small deterministic generator for the random cases. */
struct rng {
  uint64_t s;
};

static double rnd(struct rng *g) { /* uniform in [0, 1) */
  g->s ^= g->s >> 12;
  g->s ^= g->s << 25;
  g->s ^= g->s >> 27;
  return (double)((g->s * 2685821657736338717ull) >> 11) * 0x1p-53;
}

static double rnd_in(struct rng *g, double lo, double hi) {
  return lo + (hi - lo) * rnd(g);
}

/* n random states uniform in a square of half-side half_km around (lat0,
 * lon0) (longitudes wrapped into [-180, 180], latitudes clipped to the
 * model's limit), altitude in [alt_lo, alt_hi], ground speed in [gs_lo,
 * gs_hi], vertical rate in [-vs_max, vs_max], party in [0, parties) or, for
 * parties = 0, the index. */
static void random_states(struct hv_state *s, size_t n, struct rng *g,
                          double lat0, double lon0, double half_km,
                          double alt_lo, double alt_hi, double gs_lo,
                          double gs_hi, double vs_max, uint32_t parties) {
  for (size_t i = 0; i < n; i++) {
    double lat = lat0 + rnd_in(g, -1, 1) * half_km * 1e3 / M_PER_DEG;
    lat = fmax(-HV_SEP_MAX_LAT_DEG, fmin(HV_SEP_MAX_LAT_DEG, lat));
    double lon =
        lon0 + rnd_in(g, -1, 1) * half_km * 1e3 / (M_PER_DEG * cos(lat * RAD));
    lon = fmod(lon + 540.0, 360.0) - 180.0; /* into [-180, 180) */
    s[i] = (struct hv_state){.lat = lat,
                             .lon = lon,
                             .alt_m = rnd_in(g, alt_lo, alt_hi),
                             .gs_mps = rnd_in(g, gs_lo, gs_hi),
                             .trk_deg = rnd_in(g, 0, 360),
                             .vs_mps = rnd_in(g, -vs_max, vs_max),
                             .party = parties ? (uint32_t)(rnd(g) * parties)
                                              : (uint32_t)i};
  }
}

/* ---- W-CD: published counts and the oracle ------------------------------ */

static void test_wcd_1000(void **state) {
  (void)state;
  struct hv_state *s = load_wcd(1000);
  struct hv_sep_params p = hv_sep_params_default();
  assert_int_equal(check_same("W-CD 1000", s, 1000, &p), 200);
  free(s);
}

static void test_wcd_10000(void **state) {
  (void)state;
  struct hv_state *s = load_wcd(10000);
  struct hv_sep_params p = hv_sep_params_default();
  assert_int_equal(check_same("W-CD 10000", s, 10000, &p), 20239);
  free(s);
}

/* Real ADS-B tracks: the aircraft in the air at each minute from 12:00 to
 * 12:40 UTC over Switzerland, all at once (~1,200 states on the same
 * airways and flight levels), each its own party. */
static void test_real_tracks(void **state) {
  (void)state;
  char path[4096];
  snprintf(path, sizeof path, "%s/aircraft/traffic_switzerland.csv",
           shared_data());
  char *buf = slurp(path), *p = buf + strcspn(buf, "\n") + 1;
  size_t n = 0, cap = 4096;
  struct hv_state *s = malloc(cap * sizeof *s);
  assert_non_null(s);
  const double t0 = 1533124800.0; /* 2018-08-01T12:00:00Z */
  while (*p) {
    /* time_utc timestamp altitude callsign groundspeed icao24 latitude
     * longitude track vertical_rate */
    double v[10];
    if (csv_numbers(&p, v, 10, 1u | 1u << 3 | 1u << 5) != 0)
      continue;
    double t = v[1] / 1000.0 - t0;
    if (t < 0 || t > 2400 || fmod(t, 60.0) != 0.0)
      continue;
    if (n == cap) {
      s = realloc(s, (cap *= 2) * sizeof *s);
      assert_non_null(s);
    }
    s[n] = (struct hv_state){.lat = v[6],
                             .lon = v[7],
                             .alt_m = v[2] * FT,
                             .gs_mps = v[4] * NM / 3600.0,
                             .trk_deg = v[8],
                             .vs_mps = v[9] * FT / 60.0,
                             .party = (uint32_t)n};
    n++;
  }
  free(buf);
  assert_true(n > 800);
  struct hv_sep_params prm = hv_sep_params_default();
  size_t k = check_same("real tracks 12:00-12:40", s, n, &prm);
  assert_true(k > 0);
  free(s);
}

/* ---- random states ------------------------------------------------------- */

static void test_random_densities(void **state) {
  (void)state;
  struct rng g = {0x9e3779b97f4a7c15ull};
  struct hv_state *s = malloc(4000 * sizeof *s);
  assert_non_null(s);
  struct hv_sep_params p = hv_sep_params_default();
  static const struct {
    const char *what;
    size_t n;
    double half_km, alt_lo, alt_hi;
    uint32_t parties;
  } cases[] = {
      {"sparse, 2000 km", 4000, 1000, 0, 12000, 0},
      {"W-CD-like, 500 km", 4000, 250, 0, 12000, 0},
      {"dense, 60 km, 1 km of altitude", 2000, 30, 9000, 10000, 0},
      {"very dense, 10 km, four parties", 800, 5, 9000, 9600, 4},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    random_states(s, cases[c].n, &g, 47.0, 8.0, cases[c].half_km,
                  cases[c].alt_lo, cases[c].alt_hi, 100, 250, 10,
                  cases[c].parties);
    size_t k = check_same(cases[c].what, s, cases[c].n, &p);
    print_message("  %-40s %6zu conflicts\n", cases[c].what, k);
  }
  free(s);
}

/* Clusters and formations: groups of aircraft a few km apart on the same
 * flight level with the same velocity (relative speeds zero or under 1
 * mm/s, where the rule's floors apply), some hovering (ground speed 0). */
static void test_clusters_and_formations(void **state) {
  (void)state;
  struct rng g = {12345};
  const size_t groups = 12, per = 150, n = groups * per;
  struct hv_state *s = malloc(n * sizeof *s);
  assert_non_null(s);
  for (size_t k = 0; k < groups; k++) {
    double lat = rnd_in(&g, 46, 48), lon = rnd_in(&g, 6, 10);
    double alt = 304.8 * (10 + (double)(k % 3) * 20);
    double gs = k % 4 == 0 ? 0.0 : rnd_in(&g, 100, 250);
    double trk = rnd_in(&g, 0, 360);
    for (size_t i = 0; i < per; i++) {
      struct hv_state *x = &s[k * per + i];
      *x = (struct hv_state){
          .lat = lat + rnd_in(&g, -0.05, 0.05),
          .lon = lon + rnd_in(&g, -0.07, 0.07),
          .alt_m = alt + (i % 5 == 0 ? rnd_in(&g, -400, 400) : 0.0),
          .gs_mps = gs + (i % 7 == 0 ? rnd_in(&g, -5e-4, 5e-4) : 0.0),
          .trk_deg = trk,
          .vs_mps = i % 11 == 0 ? rnd_in(&g, -5e-7, 5e-7) : 0.0,
          .party = (uint32_t)(k * per + i)};
      x->gs_mps = fabs(x->gs_mps);
    }
  }
  struct hv_sep_params p = hv_sep_params_default();
  size_t k = check_same("clusters and formations", s, n, &p);
  print_message("  %-40s %6zu conflicts\n", "clusters and formations", k);
  assert_true(k > 1000);
  free(s);
}

/* Lattices: positions on a grid of exactly h_sep (in the model's metres of
 * latitude) and h_sep / 2, altitudes on multiples of v_sep, everybody still
 * or flying the same velocity: many boxes share their edges with each other
 * and with grid cells, and many pairs sit exactly on a threshold, where the
 * two implementations must still agree. Identical states too: every pair of
 * them is in conflict. */
static void test_lattices_and_identical_states(void **state) {
  (void)state;
  struct hv_sep_params p = hv_sep_params_default();
  const size_t side = 24, levels = 4, n = side * side * levels;
  struct hv_state *s = malloc(n * sizeof *s);
  assert_non_null(s);
  for (int variant = 0; variant < 3; variant++) {
    double step = variant == 1 ? p.h_sep_m / 2 : p.h_sep_m;
    size_t k = 0;
    for (size_t i = 0; i < side; i++)
      for (size_t j = 0; j < side; j++)
        for (size_t l = 0; l < levels; l++, k++)
          s[k] = (struct hv_state){.lat = 45.0 + (double)i * step / M_PER_DEG,
                                   .lon = 7.0 + (double)j * step / M_PER_DEG,
                                   .alt_m = 3000.0 + (double)l * p.v_sep_m,
                                   .gs_mps = variant == 2 ? 200.0 : 0.0,
                                   .trk_deg = 45.0,
                                   .vs_mps = 0.0,
                                   .party = (uint32_t)k};
    char what[64];
    snprintf(what, sizeof what, "lattice variant %d", variant);
    size_t c = check_same(what, s, n, &p);
    print_message("  %-40s %6zu conflicts\n", what, c);
  }
  for (size_t i = 0; i < 50; i++)
    s[i] = (struct hv_state){47.1, 8.2, 9000, 230, 123, 2.5, (uint32_t)i};
  assert_int_equal(check_same("50 identical states", s, 50, &p), 50 * 49 / 2);
  free(s);
}

/* Other minima and look-aheads, and parties shared by many aircraft. */
static void test_other_parameters(void **state) {
  (void)state;
  struct rng g = {777};
  const size_t n = 2500;
  struct hv_state *s = malloc(n * sizeof *s);
  assert_non_null(s);
  static const struct hv_sep_params ps[] = {
      {60, 1 * NM, 500 * FT},
      {600, 3 * NM, 1000 * FT},
      {1200, 10 * NM, 2000 * FT},
      {20, 5 * NM, 1000 * FT},
  };
  for (size_t c = 0; c < sizeof ps / sizeof ps[0]; c++) {
    random_states(s, n, &g, 33.5, 38.0, 200, 0, 12000, 50, 300, 15, 3);
    char what[80];
    snprintf(what, sizeof what, "T %.0f s, %.0f m, %.0f m, 3 parties",
             ps[c].lookahead_s, ps[c].h_sep_m, ps[c].v_sep_m);
    size_t k = check_same(what, s, n, &ps[c]);
    print_message("  %-40s %6zu conflicts\n", what, k);
  }
  free(s);
}

/* ---- one pair at a time: hv_separation_pair ------------------------------
 */

/* Every pair of s[0..n-1] put to hv_separation_pair with p gives exactly
 * the conflicts of hv_separation_detect with p, figures to the bit, and the
 * oracle's answer for that pair. Returns the number of conflicts. */
static size_t check_pair_fn(const char *what, const struct hv_state *s,
                            size_t n, const struct hv_sep_params *p) {
  struct hv_conflicts hv = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_separation_detect(s, n, p, &hv, &err), HV_OK);
  size_t k = 0;
  for (size_t a = 0; a < n; a++)
    for (size_t b = a + 1; b < n; b++) {
      struct hv_conflict c = {0}, o = {0};
      int rc = hv_separation_pair(s, n, a, b, p, &c, &err);
      int in = k < hv.n && hv.v[k].a == a && hv.v[k].b == b;
      int ref = sep_oracle_pair(s, a, b, p, &o);
      if (rc != in || rc != ref)
        fail_msg("%s: (%zu, %zu): hv_separation_pair %d, detect %d, oracle "
                 "%d",
                 what, a, b, rc, in, ref);
      if (!in)
        continue;
      const struct hv_conflict *x = &hv.v[k++];
      if (c.a != x->a || c.b != x->b || c.t_in_s != x->t_in_s ||
          c.t_out_s != x->t_out_s || c.t_cpa_s != x->t_cpa_s ||
          c.d_cpa_m != x->d_cpa_m || c.dalt_cpa_m != x->dalt_cpa_m)
        fail_msg("%s: (%zu, %zu): the figures differ from detect's", what, a,
                 b);
      if (o.a != c.a || o.b != c.b || !near_rel(o.t_in_s, c.t_in_s, 1e-9) ||
          !near_rel(o.t_out_s, c.t_out_s, 1e-9) ||
          !near_rel(o.d_cpa_m, c.d_cpa_m, 1e-9))
        fail_msg("%s: (%zu, %zu): the figures differ from the oracle's", what,
                 a, b);
    }
  assert_int_equal(k, hv.n);
  hv_conflicts_free(&hv);
  return k;
}

/* W-CD 1,000 with the defaults (200 conflicts) and other parameters, and
 * random states of 3 parties. */
static void test_pair_agrees_with_detect(void **state) {
  (void)state;
  struct hv_state *s = load_wcd(1000);
  struct hv_sep_params p = hv_sep_params_default();
  assert_int_equal(check_pair_fn("W-CD 1000", s, 1000, &p), 200);
  static const struct hv_sep_params ps[] = {
      {60, 1 * NM, 500 * FT},
      {1200, 10 * NM, 2000 * FT},
  };
  for (size_t c = 0; c < sizeof ps / sizeof ps[0]; c++)
    check_pair_fn("W-CD 1000, other parameters", s, 1000, &ps[c]);
  free(s);
  struct rng g = {4242};
  const size_t n = 1200;
  s = malloc(n * sizeof *s);
  assert_non_null(s);
  random_states(s, n, &g, 33.5, 38.0, 120, 0, 12000, 50, 300, 15, 3);
  assert_true(check_pair_fn("random, 3 parties", s, n, &p) > 0);
  free(s);
}

/*
 * The rule is monotone in each parameter: with q >= p field by field, every
 * conflict under p is one under q. This is what lets the live engine find
 * per-pair minima with one pass at the largest parameters
 * (haven/tracks.h).
 */
static void test_monotone_in_parameters(void **state) {
  (void)state;
  struct rng g = {99};
  const size_t n = 3000;
  struct hv_state *s = malloc(n * sizeof *s);
  assert_non_null(s);
  random_states(s, n, &g, 35.0, 38.0, 150, 0, 12000, 50, 300, 20, 4);
  static const struct hv_sep_params ps[] = {
      {300, 5 * NM, 1000 * FT},  {60, 5 * NM, 1000 * FT},
      {300, 3 * NM, 1000 * FT},  {300, 5 * NM, 500 * FT},
      {300, 10 * NM, 1000 * FT}, {300, 5 * NM, 2000 * FT},
      {900, 5 * NM, 1000 * FT},  {900, 10 * NM, 2000 * FT},
  };
  const size_t np = sizeof ps / sizeof ps[0];
  struct hv_conflicts r[8] = {{0}};
  for (size_t i = 0; i < np; i++)
    assert_int_equal(hv_separation_detect(s, n, &ps[i], &r[i], NULL), HV_OK);
  for (size_t i = 0; i < np; i++)
    for (size_t j = 0; j < np; j++) {
      if (!(ps[j].lookahead_s >= ps[i].lookahead_s &&
            ps[j].h_sep_m >= ps[i].h_sep_m && ps[j].v_sep_m >= ps[i].v_sep_m))
        continue;
      /* r[i] is a subset of r[j]: both sorted by (a, b) */
      size_t k = 0;
      for (size_t m = 0; m < r[i].n; m++) {
        while (k < r[j].n &&
               (r[j].v[k].a < r[i].v[m].a ||
                (r[j].v[k].a == r[i].v[m].a && r[j].v[k].b < r[i].v[m].b)))
          k++;
        if (k == r[j].n || r[j].v[k].a != r[i].v[m].a ||
            r[j].v[k].b != r[i].v[m].b)
          fail_msg("(%u, %u) conflicts with parameters %zu but not with the "
                   "larger %zu",
                   r[i].v[m].a, r[i].v[m].b, i, j);
      }
      assert_true(r[j].n >= r[i].n);
    }
  assert_true(r[7].n > r[0].n && r[0].n > r[1].n);
  for (size_t i = 0; i < np; i++)
    hv_conflicts_free(&r[i]);
  free(s);
}

static void test_pair_bad_input(void **state) {
  (void)state;
  struct hv_error err = {0};
  struct hv_conflict c = {.a = 7};
  struct hv_state s[3] = {eq(0, 5000, 200, 90, 0, 0),
                          eq(60000, 5000, 200, 270, 0, 1),
                          eq(60000, 5000, 200, 270, 0, 0)};
  /* the head-on pair is a conflict; the same-party pair is not */
  assert_int_equal(hv_separation_pair(s, 3, 0, 1, NULL, &c, &err), 1);
  assert_int_equal(c.a, 0);
  assert_int_equal(c.b, 1);
  assert_near(c.t_cpa_s, 150.0, 1e-9, "t_cpa_s");
  c.a = 7;
  assert_int_equal(hv_separation_pair(s, 3, 0, 2, NULL, &c, &err), 0);
  assert_int_equal(c.a, 7); /* left alone */
  assert_int_equal(hv_separation_pair(NULL, 3, 0, 1, NULL, &c, &err),
                   HV_EINVAL);
  assert_int_equal(hv_separation_pair(s, 3, 0, 1, NULL, NULL, &err), HV_EINVAL);
  assert_int_equal(hv_separation_pair(s, 3, 1, 0, NULL, &c, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "a < b < n"));
  assert_int_equal(hv_separation_pair(s, 3, 1, 1, NULL, &c, &err), HV_EINVAL);
  assert_int_equal(hv_separation_pair(s, 3, 0, 3, NULL, &c, &err), HV_EINVAL);
  struct hv_sep_params p = hv_sep_params_default();
  p.h_sep_m = 1e6 + 1;
  assert_int_equal(hv_separation_pair(s, 3, 0, 1, &p, &c, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "h_sep_m"));
  assert_int_equal(hv_sep_params_check(&p, NULL), HV_EINVAL);
  assert_int_equal(hv_sep_params_check(NULL, NULL), HV_EINVAL);
  p = hv_sep_params_default();
  assert_int_equal(hv_sep_params_check(&p, NULL), HV_OK);
  s[1].lat = 86;
  assert_int_equal(hv_separation_pair(s, 3, 0, 1, &p, &c, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "state 1"));
  assert_int_equal(hv_separation_pair(s, 3, 0, 1, &p, &c, NULL), HV_EINVAL);
  assert_int_equal(c.a, 7);
}

/* ---- antimeridian, equator and poles -------------------------------------
 */

/* Handled: longitudes are compared modulo 360. */
static void test_antimeridian(void **state) {
  (void)state;
  /* a head-on pair across 180 gives the figures of the same pair across 0 */
  double d = 60000.0 / M_PER_DEG;
  struct hv_state across[2] = {{0.0, 180.0 - d / 2, 5000, 200, 90, 0, 0},
                               {0.0, -180.0 + d / 2, 5000, 200, 270, 0, 1}};
  struct hv_state at0[2] = {{0.0, -d / 2, 5000, 200, 90, 0, 0},
                            {0.0, d / 2, 5000, 200, 270, 0, 1}};
  struct hv_conflict x = only_conflict(across, 2), y = only_conflict(at0, 2);
  assert_near(x.t_in_s, y.t_in_s, 1e-6, "t_in");
  assert_near(x.t_out_s, y.t_out_s, 1e-6, "t_out");
  assert_near(x.t_cpa_s, 150.0, 1e-6, "t_cpa");
  assert_near(x.d_cpa_m, y.d_cpa_m, 1e-3, "d_cpa");
  /* and many aircraft around it agree with the oracle */
  struct rng g = {4242};
  const size_t n = 3000;
  struct hv_state *s = malloc(n * sizeof *s);
  assert_non_null(s);
  random_states(s, n, &g, 10.0, 180.0, 150, 8000, 11000, 100, 250, 10, 0);
  struct hv_sep_params p = hv_sep_params_default();
  size_t k = check_same("around the antimeridian", s, n, &p);
  size_t east = 0;
  for (size_t i = 0; i < n; i++)
    east += s[i].lon > 0;
  assert_true(east > n / 4 && east < 3 * n / 4);
  assert_true(k > 0);
  /* across the equator: latitudes of both signs in one pair */
  random_states(s, n, &g, 0.0, 20.0, 150, 8000, 11000, 100, 250, 10, 0);
  assert_true(check_same("around the equator", s, n, &p) > 0);
  free(s);
}

/* Refused beyond HV_SEP_MAX_LAT_DEG; up to it, boxes near the limit (and
 * those of very fast aircraft, or long look-aheads, which span every
 * longitude) still give the oracle's answer. */
static void test_poles(void **state) {
  (void)state;
  struct hv_state s[3] = {{60, 10, 9000, 200, 0, 0, 0},
                          {85.0, 10, 9000, 200, 0, 0, 1},
                          {-85.5, 10, 9000, 200, 0, 0, 2}};
  struct hv_conflicts out = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_separation_detect(s, 2, NULL, &out, &err), HV_OK);
  assert_int_equal(hv_separation_detect(s, 3, NULL, &out, &err), HV_EINVAL);
  assert_int_equal(out.n, 0);
  assert_non_null(strstr(err.msg, "state 2"));
  assert_non_null(strstr(err.msg, "lat -85.5"));
  hv_conflicts_free(&out);

  struct rng g = {99};
  const size_t n = 2000;
  struct hv_state *r = malloc(n * sizeof *r);
  assert_non_null(r);
  random_states(r, n, &g, 83.5, -40.0, 250, 9000, 11000, 100, 250, 10, 0);
  for (size_t i = 0; i < n; i += 97) /* a few very fast ones */
    r[i].gs_mps = 3000.0;
  struct hv_sep_params p = hv_sep_params_default();
  size_t k = check_same("high latitudes, some very fast", r, n, &p);
  struct hv_sep_params longer = {3600, 5 * NM, 1000 * FT};
  size_t k2 = check_same("high latitudes, 3600 s", r, n, &longer);
  assert_true(k > 0 && k2 >= k);
  free(r);
}

/* ---- hand-computed encounters --------------------------------------------
 */

/* Head-on on the equator, 60 km apart, 200 m/s each, same level: closing
 * at 400 m/s, CPA at 150 s with 0 m; inside 5 NM from (60000 - 9260) / 400 =
 * 126.85 s to (60000 + 9260) / 400 = 173.15 s; level, so always inside the
 * vertical band. */
static void test_head_on(void **state) {
  (void)state;
  struct hv_state s[2] = {eq(0, 5000, 200, 90, 0, 0),
                          eq(60000, 5000, 200, 270, 0, 1)};
  struct hv_conflict c = only_conflict(s, 2);
  assert_int_equal(c.a, 0);
  assert_int_equal(c.b, 1);
  assert_near(c.t_in_s, 126.85, 1e-6, "t_in");
  assert_near(c.t_out_s, 173.15, 1e-6, "t_out");
  assert_near(c.t_cpa_s, 150.0, 1e-6, "t_cpa");
  assert_near(c.d_cpa_m, 0.0, 1e-3, "d_cpa");
  assert_near(c.dalt_cpa_m, 0.0, 1e-9, "dalt_cpa");

  /* the intruder 1,800 m above, descending at 10 m/s: inside 1,000 ft from
   * (1800 - 304.8) / 10 = 149.52 s to 210.48 s; 300 m apart at CPA */
  s[1].alt_m = 6800;
  s[1].vs_mps = -10;
  c = only_conflict(s, 2);
  assert_near(c.t_in_s, 149.52, 1e-6, "t_in");
  assert_near(c.t_out_s, 173.15, 1e-6, "t_out");
  assert_near(c.t_cpa_s, 150.0, 1e-6, "t_cpa");
  assert_near(c.dalt_cpa_m, 300.0, 1e-6, "dalt_cpa");
  /* 3,000 m above: vertically inside from 269.52 s, horizontally out by
   * 173.15 s: no conflict */
  s[1].alt_m = 8000;
  assert_int_equal(count_conflicts(s, 2), 0);
}

/* The look-ahead edge: head-on with the loss starting at 299 s (reported,
 * the end clipped to 300 s) or 301 s (not reported). */
static void test_lookahead_edge(void **state) {
  (void)state;
  struct hv_state s[2] = {eq(0, 5000, 200, 90, 0, 0),
                          eq(9260 + 400 * 299, 5000, 200, 270, 0, 1)};
  struct hv_conflict c = only_conflict(s, 2);
  assert_near(c.t_in_s, 299.0, 1e-6, "t_in");
  assert_near(c.t_out_s, 300.0, 0, "t_out");
  assert_near(c.t_cpa_s, 299.0 + 9260.0 / 400, 1e-6, "t_cpa");
  s[1] = eq(9260 + 400 * 301, 5000, 200, 270, 0, 1);
  assert_int_equal(count_conflicts(s, 2), 0);
}

/* Parallel tracks, same velocity: the relative speed is 0 (the rule's floor
 * of 1e-6 applies), t_cpa = 0 and the miss distance is the distance now.
 * 5 km apart, same level: in conflict all the look-ahead; 10 km apart (more
 * than 5 NM) or 2,000 ft apart: not. */
static void test_parallel(void **state) {
  (void)state;
  struct hv_state s[2] = {eq(0, 5000, 200, 0, 0, 0),
                          eq(5000, 5000, 200, 0, 0, 1)};
  struct hv_conflict c = only_conflict(s, 2);
  assert_near(c.t_in_s, 0.0, 0, "t_in");
  assert_near(c.t_out_s, 300.0, 0, "t_out");
  assert_near(c.t_cpa_s, 0.0, 1e-9, "t_cpa");
  assert_near(c.d_cpa_m, 5000.0, 1e-6, "d_cpa");
  assert_near(c.dalt_cpa_m, 0.0, 1e-9, "dalt_cpa");
  s[1] = eq(10000, 5000, 200, 0, 0, 1);
  assert_int_equal(count_conflicts(s, 2), 0);
  s[1] = eq(5000, 5000 + 2000 * FT, 200, 0, 0, 1);
  assert_int_equal(count_conflicts(s, 2), 0);
}

/* Climbing through: parallel 2 km apart, the second 1,000 m below climbing
 * at 10 m/s through the first's level: inside 1,000 ft from
 * (1000 - 304.8) / 10 = 69.52 s to (1000 + 304.8) / 10 = 130.48 s. */
static void test_climbing_through(void **state) {
  (void)state;
  struct hv_state s[2] = {eq(0, 3000, 200, 0, 0, 0),
                          eq(2000, 2000, 200, 0, 10, 1)};
  struct hv_conflict c = only_conflict(s, 2);
  assert_near(c.t_in_s, 69.52, 1e-6, "t_in");
  assert_near(c.t_out_s, 130.48, 1e-6, "t_out");
  assert_near(c.t_cpa_s, 0.0, 1e-9, "t_cpa");
  assert_near(c.d_cpa_m, 2000.0, 1e-6, "d_cpa");
  assert_near(c.dalt_cpa_m, 1000.0, 1e-6, "dalt_cpa");
  /* climbing at 1 m/s it does not reach the band within 300 s */
  s[1].vs_mps = 1;
  assert_int_equal(count_conflicts(s, 2), 0);
}

/* Diverging, 3 km apart now: the CPA was 7.5 s ago; inside 5 NM until
 * (9260 - 3000) / 400 = 15.65 s. */
static void test_diverging(void **state) {
  (void)state;
  struct hv_state s[2] = {eq(0, 5000, 200, 270, 0, 0),
                          eq(3000, 5000, 200, 90, 0, 1)};
  struct hv_conflict c = only_conflict(s, 2);
  assert_near(c.t_in_s, 0.0, 0, "t_in");
  assert_near(c.t_out_s, 15.65, 1e-6, "t_out");
  assert_near(c.t_cpa_s, -7.5, 1e-6, "t_cpa");
  assert_near(c.d_cpa_m, 0.0, 1e-3, "d_cpa");
}

/* ---- parties, sizes, errors ----------------------------------------------
 */

static void test_same_party_excluded(void **state) {
  (void)state;
  struct hv_state s[3] = {eq(0, 5000, 200, 90, 0, 7),
                          eq(60000, 5000, 200, 270, 0, 7),
                          eq(30000, 5000, 0, 0, 0, 8)};
  assert_int_equal(count_conflicts(s, 2), 0);
  struct hv_conflicts out = {0};
  assert_int_equal(hv_separation_detect(s, 3, NULL, &out, NULL), HV_OK);
  assert_int_equal(out.n, 2); /* (0, 2) and (1, 2), not (0, 1) */
  assert_int_equal(out.v[0].a, 0);
  assert_int_equal(out.v[0].b, 2);
  assert_int_equal(out.v[1].a, 1);
  assert_int_equal(out.v[1].b, 2);
  hv_conflicts_free(&out);
  /* a whole dense sky of two parties: never a pair within one */
  struct rng g = {5};
  const size_t n = 2000;
  struct hv_state *r = malloc(n * sizeof *r);
  assert_non_null(r);
  random_states(r, n, &g, 47, 8, 20, 9000, 9500, 100, 250, 5, 2);
  struct hv_sep_params p = hv_sep_params_default();
  assert_true(check_same("two parties", r, n, &p) > 0);
  assert_int_equal(hv_separation_detect(r, n, &p, &out, NULL), HV_OK);
  for (size_t i = 0; i < out.n; i++)
    assert_int_not_equal(r[out.v[i].a].party, r[out.v[i].b].party);
  hv_conflicts_free(&out);
  free(r);
}

static void test_zero_and_one(void **state) {
  (void)state;
  struct hv_conflicts out = {0};
  assert_int_equal(hv_separation_detect(NULL, 0, NULL, &out, NULL), HV_OK);
  assert_int_equal(out.n, 0);
  struct hv_state s = eq(0, 5000, 200, 90, 0, 0);
  assert_int_equal(hv_separation_detect(&s, 1, NULL, &out, NULL), HV_OK);
  assert_int_equal(out.n, 0);
  /* a list that held conflicts is emptied, its array reused */
  struct hv_state two[2] = {eq(0, 5000, 200, 90, 0, 0),
                            eq(60000, 5000, 200, 270, 0, 1)};
  assert_int_equal(hv_separation_detect(two, 2, NULL, &out, NULL), HV_OK);
  assert_int_equal(out.n, 1);
  assert_int_equal(hv_separation_detect(&s, 1, NULL, &out, NULL), HV_OK);
  assert_int_equal(out.n, 0);
  hv_conflicts_free(&out);
  hv_conflicts_free(&out); /* twice: harmless */
  hv_conflicts_free(NULL);
}

static void test_bad_input(void **state) {
  (void)state;
  struct hv_conflicts out = {0};
  struct hv_error err = {0};
  struct hv_state s[2] = {eq(0, 5000, 200, 90, 0, 0),
                          eq(60000, 5000, 200, 270, 0, 1)};
  assert_int_equal(hv_separation_detect(s, 2, NULL, NULL, &err), HV_EINVAL);
  assert_int_equal(hv_separation_detect(NULL, 2, NULL, &out, &err), HV_EINVAL);
  struct hv_sep_params p = hv_sep_params_default();
  p.lookahead_s = 0;
  assert_int_equal(hv_separation_detect(s, 2, &p, &out, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "lookahead_s"));
  p = hv_sep_params_default();
  p.h_sep_m = NAN;
  assert_int_equal(hv_separation_detect(s, 2, &p, &out, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "h_sep_m"));
  p = hv_sep_params_default();
  p.v_sep_m = -1;
  assert_int_equal(hv_separation_detect(s, 2, &p, &out, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "v_sep_m"));
  static const struct {
    const char *field;
    size_t offset;
    double value;
  } bad[] = {
      {"lat", offsetof(struct hv_state, lat), NAN},
      {"lon", offsetof(struct hv_state, lon), 180.5},
      {"alt_m", offsetof(struct hv_state, alt_m), INFINITY},
      {"gs_mps", offsetof(struct hv_state, gs_mps), -1},
      {"gs_mps", offsetof(struct hv_state, gs_mps), 2e4},
      {"trk_deg", offsetof(struct hv_state, trk_deg), NAN},
      {"vs_mps", offsetof(struct hv_state, vs_mps), -INFINITY},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct hv_state t[2] = {s[0], s[1]};
    memcpy((char *)&t[1] + bad[i].offset, &bad[i].value, sizeof(double));
    out.n = 99;
    err.msg[0] = '\0';
    assert_int_equal(hv_separation_detect(t, 2, NULL, &out, &err), HV_EINVAL);
    assert_int_equal(out.n, 0);
    if (strstr(err.msg, "state 1") == NULL ||
        strstr(err.msg, bad[i].field) == NULL)
      fail_msg("message \"%s\" should name state 1 and %s", err.msg,
               bad[i].field);
  }
  /* one state alone is checked too */
  struct hv_state lone = s[0];
  lone.lat = 91;
  assert_int_equal(hv_separation_detect(&lone, 1, NULL, &out, &err), HV_EINVAL);
  hv_conflicts_free(&out);
}

static void test_defaults(void **state) {
  (void)state;
  struct hv_sep_params p = hv_sep_params_default();
  assert_true(p.lookahead_s == 300.0);
  assert_true(p.h_sep_m == 9260.0);
  assert_true(p.v_sep_m == 304.8);
}

/* The earth model: a flat east/north frame per pair on a 6,371 km sphere.
 * At 47N its distances for 9 km are within 0.4% of the WGS84 geodesic
 * (north-south +0.02%, east-west -0.29%: the sphere's radius against the
 * ellipsoid's radii of curvature there). Still aircraft: d_cpa is the
 * distance now. */
static void test_model_against_geodesic(void **state) {
  (void)state;
  for (int k = 0; k < 8; k++) {
    double az = k * 45.0 * RAD, d = 9000.0;
    struct hv_state s[2] = {{47.0, 8.0, 5000, 0, 0, 0, 0},
                            {47.0 + d * cos(az) / M_PER_DEG,
                             8.0 + d * sin(az) / (M_PER_DEG * cos(47.0 * RAD)),
                             5000, 0, 0, 0, 1}};
    struct hv_conflict c = only_conflict(s, 2);
    double geod = hv_geo_distance_m(s[0].lon, s[0].lat, s[1].lon, s[1].lat);
    if (!(fabs(c.d_cpa_m - geod) <= 0.004 * geod))
      fail_msg("azimuth %d: model %.3f m, geodesic %.3f m", k * 45, c.d_cpa_m,
               geod);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wcd_1000),
      cmocka_unit_test(test_wcd_10000),
      cmocka_unit_test(test_real_tracks),
      cmocka_unit_test(test_random_densities),
      cmocka_unit_test(test_clusters_and_formations),
      cmocka_unit_test(test_lattices_and_identical_states),
      cmocka_unit_test(test_other_parameters),
      cmocka_unit_test(test_pair_agrees_with_detect),
      cmocka_unit_test(test_monotone_in_parameters),
      cmocka_unit_test(test_pair_bad_input),
      cmocka_unit_test(test_antimeridian),
      cmocka_unit_test(test_poles),
      cmocka_unit_test(test_head_on),
      cmocka_unit_test(test_lookahead_edge),
      cmocka_unit_test(test_parallel),
      cmocka_unit_test(test_climbing_through),
      cmocka_unit_test(test_diverging),
      cmocka_unit_test(test_same_party_excluded),
      cmocka_unit_test(test_zero_and_one),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_model_against_geodesic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
