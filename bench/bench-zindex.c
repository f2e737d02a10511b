/*
 * bench-zindex.c — the point-in-zone index (haven/zindex.h) against the
 * baseline named in issue 4: GEOS prepared geometries behind a GEOS STRtree
 * of their envelopes (GEOSSTRtree_query, then GEOSPreparedIntersects on each
 * candidate), in the same run, one core.
 *
 * Two workloads, 1,000,000 points each (shared/bench/wpip_points_1m.bin):
 *   W-PIP        the 14 governorates: the answer is checked against the
 *                published one (542,295 inside, per-feature counts) for both;
 *   W-PIP+zones  the governorates plus 1,000 real-shaped zones
 *                (bench/zones-gen.h, seed ZONES_SEED): every zone holding
 *                each point; haven's hits must equal the baseline's, in
 *                number and point by point (an order-free checksum of the
 *                (point, zone) pairs).
 * The answers are checked on a first, untimed pass (which also lets GEOS
 * build its prepared geometries' indexes, which it does on first use);
 * then RUNS timed passes of each count hits only (the same totals as the
 * checked pass). For each workload: points per second (median of the
 * runs), the ratio (target >= 10), the index's build time and memory.
 *
 * usage: bench-zindex SHARED_DIR [RUNS]
 */
#include <haven/haven.h>
#include <haven/zindex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zones-gen.h"

#include "bench-util.h"

#define NZONES 1000
#define ZONES_SEED 4u

/* A (point, zone) pair mixed into 64 bits, summed: equal sums mean, short
 * of a collision, equal sets of hits. */
static uint64_t mix(uint64_t i, uint64_t z) {
  uint64_t x = i * 0x9E3779B97F4A7C15ull ^ (z + 1) * 0xC2B2AE3D27D4EB4Full;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

/* What one pass over the points found. */
struct tally {
  long inside;            /* points in at least one zone */
  long hits;              /* (point, zone) pairs */
  long first[WPIP_NFEAT]; /* points whose first zone is governorate k */
  uint64_t sum;           /* sum of mix(point, zone) */
  long candidates;        /* baseline: STRtree candidates tested */
};

static void tally_point(struct tally *t, size_t i, const uint32_t *z,
                        size_t n) {
  if (n == 0)
    return;
  t->inside++;
  t->hits += (long)n;
  if (z[0] < WPIP_NFEAT)
    t->first[z[0]]++;
  for (size_t k = 0; k < n; k++)
    t->sum += mix(i, z[k]);
}

/* The baseline: GEOS prepared geometries behind an STRtree. */
struct baseline {
  GEOSContextHandle_t h;
  GEOSSTRtree *tree;
  const GEOSPreparedGeometry **prep;
  uint32_t *idx; /* the items: &idx[k] stands for zone k */
  size_t n;
  uint32_t cand[4096];
  size_t ncand;
};

static void collect(void *item, void *userdata) {
  struct baseline *b = userdata;
  if (b->ncand < sizeof b->cand / sizeof *b->cand)
    b->cand[b->ncand++] = *(const uint32_t *)item;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static int baseline_new(struct baseline *b, struct hv_geo *geo,
                        const struct zg_set *z) {
  memset(b, 0, sizeof *b);
  b->h = hv_geo_geos(geo);
  b->n = z->n;
  b->tree = GEOSSTRtree_create_r(b->h, 10);
  b->prep = calloc(z->n, sizeof *b->prep);
  b->idx = malloc(z->n * sizeof *b->idx);
  if (b->tree == NULL || b->prep == NULL || b->idx == NULL)
    return -1;
  for (size_t k = 0; k < z->n; k++) {
    b->idx[k] = (uint32_t)k;
    b->prep[k] = GEOSPrepare_r(b->h, z->g[k]);
    if (b->prep[k] == NULL)
      return -1;
    GEOSSTRtree_insert_r(b->h, b->tree, z->g[k], &b->idx[k]);
  }
  return 0;
}

static void baseline_free(struct baseline *b) {
  for (size_t k = 0; k < b->n && b->prep; k++)
    if (b->prep[k])
      GEOSPreparedGeom_destroy_r(b->h, b->prep[k]);
  if (b->tree)
    GEOSSTRtree_destroy_r(b->h, b->tree);
  free(b->prep);
  free(b->idx);
}

/* One pass of the baseline. verify: tally everything, the zones of each
 * point in input order (candidates sorted) as haven gives them; otherwise
 * (timed passes) count hits only. -1 on a GEOS error. */
static int baseline_pass(struct baseline *b, const double *pts, size_t n,
                         int verify, struct tally *t) {
  uint32_t hit[4096];
  for (size_t i = 0; i < n; i++) {
    GEOSGeometry *p =
        GEOSGeom_createPointFromXY_r(b->h, pts[2 * i], pts[2 * i + 1]);
    if (p == NULL)
      return -1;
    b->ncand = 0;
    GEOSSTRtree_query_r(b->h, b->tree, p, collect, b);
    if (verify && b->ncand > 1)
      qsort(b->cand, b->ncand, sizeof *b->cand, cmp_u32);
    size_t nh = 0;
    for (size_t k = 0; k < b->ncand; k++) {
      char in = GEOSPreparedIntersects_r(b->h, b->prep[b->cand[k]], p);
      if (in == 2) {
        GEOSGeom_destroy_r(b->h, p);
        return -1;
      }
      if (in)
        hit[nh++] = b->cand[k];
    }
    GEOSGeom_destroy_r(b->h, p);
    if (verify) {
      t->candidates += (long)b->ncand;
      tally_point(t, i, hit, nh);
    } else {
      t->hits += (long)nh;
    }
  }
  return 0;
}

/* One pass of haven's index, as baseline_pass. */
static void haven_pass(const struct hv_zindex *ix, const double *pts, size_t n,
                       int verify, struct tally *t) {
  uint32_t hit[4096];
  for (size_t i = 0; i < n; i++) {
    size_t nh = hv_zindex_query(ix, pts[2 * i], pts[2 * i + 1], hit,
                                sizeof hit / sizeof *hit);
    if (verify)
      tally_point(t, i, hit, nh);
    else
      t->hits += (long)nh;
  }
}

static int check_wpip(const char *what, const struct tally *t) {
  int ok = t->inside == WPIP_EXPECT_INSIDE;
  for (int k = 0; k < WPIP_NFEAT; k++)
    ok &= t->first[k] == WPIP_EXPECT[k];
  printf("  %-34s inside %ld (expected %ld): %s\n", what, t->inside,
         WPIP_EXPECT_INSIDE, ok ? "correct" : "WRONG");
  if (!ok)
    for (int k = 0; k < WPIP_NFEAT; k++)
      printf("    feature %2d: %ld expected %ld\n", k, t->first[k],
             WPIP_EXPECT[k]);
  return ok;
}

/* Runs one workload: builds the index over z, times both RUNS times,
 * checks, prints. wpip: check the published W-PIP answer too. */
static int workload(struct hv_geo *geo, const char *name,
                    const struct zg_set *z, const double *pts, size_t n,
                    int runs, int wpip) {
  struct hv_error err = {0};
  struct hv_zindex *ix = NULL;
  double t0 = now_s();
  int rc = hv_zindex_new(geo, (const GEOSGeometry *const *)z->g, NULL, z->n,
                         &ix, &err);
  double build_s = now_s() - t0;
  if (rc != HV_OK) {
    fprintf(stderr, "bench-zindex: %s: %s\n", name, err.msg);
    return 0;
  }
  struct hv_zindex_stats st;
  hv_zindex_stats(ix, &st);
  struct baseline b;
  t0 = now_s();
  if (baseline_new(&b, geo, z) != 0) {
    fprintf(stderr, "bench-zindex: %s: baseline setup failed\n", name);
    baseline_free(&b);
    hv_zindex_free(ix);
    return 0;
  }
  double base_build_s = now_s() - t0;
  double *bs = calloc((size_t)runs, sizeof *bs);
  double *hs = calloc((size_t)runs, sizeof *hs);
  /* An untimed pass checks the answers (and warms both up: GEOS prepares
   * its geometries' indexes on first use); timed passes count hits. */
  struct tally bt = {0}, ht = {0};
  int ok = bs != NULL && hs != NULL && baseline_pass(&b, pts, n, 1, &bt) == 0;
  if (ok)
    haven_pass(ix, pts, n, 1, &ht);
  for (int r = 0; r < runs && ok; r++) {
    struct tally lean = {0};
    t0 = now_s();
    ok = baseline_pass(&b, pts, n, 0, &lean) == 0 && lean.hits == bt.hits;
    bs[r] = now_s() - t0;
    memset(&lean, 0, sizeof lean);
    t0 = now_s();
    haven_pass(ix, pts, n, 0, &lean);
    hs[r] = now_s() - t0;
    ok &= lean.hits == ht.hits;
  }
  if (!ok) {
    fprintf(stderr,
            "bench-zindex: %s: GEOS failed or a timed pass "
            "disagreed with the checked one\n",
            name);
  } else {
    double base_pps = (double)n / median(bs, runs);
    double hv_pps = (double)n / median(hs, runs);
    printf("%s: %zu points, %zu zones, %zu edges (%d runs, median)\n", name, n,
           z->n, st.edges, runs);
    if (wpip) {
      ok &= check_wpip("baseline GEOS STRtree + prepared", &bt);
      ok &= check_wpip("haven hv_zindex_query", &ht);
    }
    int same = bt.hits == ht.hits && bt.inside == ht.inside && bt.sum == ht.sum;
    ok &= same;
    printf("  hits: baseline %ld, haven %ld, points inside %ld / %ld, "
           "per-point checksum %s: %s\n",
           bt.hits, ht.hits, bt.inside, ht.inside,
           bt.sum == ht.sum ? "equal" : "DIFFERS",
           same ? "identical answers" : "WRONG");
    printf("  baseline: %.2f STRtree candidates and %.2f hits per point\n",
           (double)bt.candidates / (double)n, (double)bt.hits / (double)n);
    printf("  baseline GEOS STRtree + prepared: %12.0f points/s "
           "(set-up %.3f s)\n",
           base_pps, base_build_s);
    printf("  haven zindex:                     %12.0f points/s\n", hv_pps);
    printf("  ratio haven / baseline:           %12.2f (target >= 10)%s\n",
           hv_pps / base_pps, hv_pps / base_pps >= 10 ? "" : "  BELOW TARGET");
    printf("  index: build %.3f s, memory %.2f MiB (%zu B), top grid %ux%u, "
           "%zu grids, %zu cells, depth %u, %zu crossing entries holding "
           "%zu edges\n",
           build_s, (double)st.memory_bytes / 1048576.0, st.memory_bytes,
           st.top_cols, st.top_rows, st.grids, st.cells, st.max_depth,
           st.crossing_entries, st.tested_edges);
  }
  free(bs);
  free(hs);
  baseline_free(&b);
  hv_zindex_free(ix);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-zindex SHARED_DIR [RUNS]\n");
    return 2;
  }
  int runs = 3;
  if (argc > 2) {
    char *end;
    long v = strtol(argv[2], &end, 10);
    if (*end != '\0' || v < 1 || v > 100) {
      fprintf(stderr, "bench-zindex: RUNS must be 1..100\n");
      return 2;
    }
    runs = (int)v;
  }
  char path[4096], data[4096];
  snprintf(path, sizeof path, "%s/bench/wpip_points_1m.bin", argv[1]);
  snprintf(data, sizeof data, "%s/data", argv[1]);
  size_t n;
  double *pts = load_points(path, &n);
  if (pts == NULL) {
    fprintf(stderr, "bench-zindex: %s: cannot read\n", path);
    return 1;
  }
  struct hv_geo *geo;
  if (hv_geo_new(&geo) != HV_OK) {
    free(pts);
    return 1;
  }
  struct zg_set govs = {0}, src = {0}, all = {0};
  int ok = zg_load_governorates(geo, data, &govs) == 0 &&
           govs.n == WPIP_NFEAT && zg_load_sources(geo, data, &src) == 0;
  /* W-PIP + zones: the governorates first (ids 0..13), then the zones. */
  for (size_t k = 0; ok && k < govs.n; k++) {
    GEOSGeometry *g = GEOSGeom_clone_r(hv_geo_geos(geo), govs.g[k]);
    ok = g != NULL && zg_push(geo, &all, g) == 0;
  }
  ok = ok && zg_make(geo, &src, NZONES, ZONES_SEED, ZG_WPIP_BOX, &all) == 0;
  if (!ok) {
    fprintf(stderr, "bench-zindex: cannot load or make the zones\n");
  } else {
    ok = workload(geo, "W-PIP", &govs, pts, n, runs, 1);
    printf("\n");
    ok &=
        workload(geo, "W-PIP + 1,000 real-shaped zones", &all, pts, n, runs, 0);
  }
  zg_free(geo, &govs);
  zg_free(geo, &src);
  zg_free(geo, &all);
  hv_geo_free(geo);
  free(pts);
  return ok ? 0 : 1;
}
