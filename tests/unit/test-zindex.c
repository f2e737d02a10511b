/*
 * test-zindex.c — the point-in-zone index (lib/zindex.c, haven/zindex.h).
 *
 * What must hold: for every point, the index answers exactly the polygons
 * GEOS's GEOSPreparedIntersects answers (inside or on the boundary), in
 * input order. Checked against GEOS on the 14 real governorates and on
 * 1,014 real-shaped zones (bench/zones-gen.h, the benchmark's own) for
 * random points and for the points where a point-in-polygon test goes
 * wrong: vertices, edge midpoints, 1e-9 degrees either side of edges and
 * vertices, holes, boundaries shared by neighbouring governorates, grid
 * lines of the index, lattices where points sit exactly on horizontal
 * edges and level with vertices. The W-PIP answer (shared/bench/
 * WORKLOADS.md) exactly. Empty index, points outside, many answers with a
 * small buffer, concurrent queries, and every degenerate input refused
 * with an error naming the geometry.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/zindex.h"
#include "testutil.h"

#include "../../bench/zones-gen.h"

/* ---- helpers ------------------------------------------------------------- */

static const char *shared_data(void) {
  const char *d = getenv("HAVEN_SHARED_DATA");
  return d && *d ? d : "/work/shared/data";
}

/* Deterministic uniform doubles in [0, 1). */
static double rnd(uint64_t *st) { return zg_uniform(st); }

/* The GEOS answer, by brute force over envelopes and prepared geometries. */
struct oracle {
  GEOSContextHandle_t h;
  const GEOSPreparedGeometry **prep;
  double *box; /* minx miny maxx maxy per geometry */
  size_t n;
};

static void oracle_init(struct oracle *o, struct hv_geo *geo,
                        const struct zg_set *z) {
  o->h = hv_geo_geos(geo);
  o->n = z->n;
  o->prep = calloc(z->n, sizeof *o->prep);
  o->box = malloc(4 * z->n * sizeof *o->box);
  assert_non_null(o->prep);
  assert_non_null(o->box);
  for (size_t i = 0; i < z->n; i++) {
    o->prep[i] = GEOSPrepare_r(o->h, z->g[i]);
    assert_non_null(o->prep[i]);
    assert_int_equal(
        GEOSGeom_getExtent_r(o->h, z->g[i], &o->box[4 * i], &o->box[4 * i + 1],
                             &o->box[4 * i + 2], &o->box[4 * i + 3]),
        1);
  }
}

static void oracle_free(struct oracle *o) {
  for (size_t i = 0; i < o->n; i++)
    GEOSPreparedGeom_destroy_r(o->h, o->prep[i]);
  free(o->prep);
  free(o->box);
}

/* Indices (ascending) of the geometries GEOS says intersect (x, y). */
static size_t oracle_query(const struct oracle *o, double x, double y,
                           uint32_t *out, size_t cap) {
  GEOSGeometry *p = NULL;
  size_t n = 0;
  for (size_t i = 0; i < o->n; i++) {
    const double *b = o->box + 4 * i;
    if (!(x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]))
      continue;
    if (p == NULL)
      p = GEOSGeom_createPointFromXY_r(o->h, x, y);
    assert_non_null(p);
    char in = GEOSPreparedIntersects_r(o->h, o->prep[i], p);
    assert_int_not_equal(in, 2);
    if (in) {
      if (n < cap)
        out[n] = (uint32_t)i;
      n++;
    }
  }
  if (p)
    GEOSGeom_destroy_r(o->h, p);
  return n;
}

/* Points checked, and how many were in 0, 1 or more polygons. */
struct tally {
  size_t points, none, one, many;
};

/* Fails the test unless the index (ids = indices) answers as GEOS. */
static void check_point(const struct hv_zindex *ix, const struct oracle *o,
                        double x, double y, const char *what, struct tally *t) {
  uint32_t got[512], want[512];
  size_t ng = hv_zindex_query(ix, x, y, got, 512);
  size_t nw = oracle_query(o, x, y, want, 512);
  assert_true(nw <= 512);
  if (ng != nw || memcmp(got, want, nw * sizeof *got) != 0) {
    char a[256] = "", b[256] = "";
    for (size_t i = 0, k = 0; i < ng && i < 512 && k < 200; i++)
      k += (size_t)snprintf(a + k, sizeof a - k, " %u", got[i]);
    for (size_t i = 0, k = 0; i < nw && k < 200; i++)
      k += (size_t)snprintf(b + k, sizeof b - k, " %u", want[i]);
    fail_msg("%s: point (%.17g, %.17g): index says {%s }, GEOS says {%s }",
             what, x, y, a, b);
  }
  t->points++;
  if (nw == 0)
    t->none++;
  else if (nw == 1)
    t->one++;
  else
    t->many++;
}

/* Calls fn on every edge (ax, ay) -> (bx, by) of every ring of g, taking
 * every step-th edge of each ring. */
typedef void (*edge_fn)(double ax, double ay, double bx, double by, void *arg);

static void for_each_edge(GEOSContextHandle_t h, const GEOSGeometry *g,
                          size_t step, edge_fn fn, void *arg) {
  int np =
      GEOSGeomTypeId_r(h, g) == GEOS_POLYGON ? 1 : GEOSGetNumGeometries_r(h, g);
  for (int p = 0; p < np; p++) {
    const GEOSGeometry *pg = np == 1 && GEOSGeomTypeId_r(h, g) == GEOS_POLYGON
                                 ? g
                                 : GEOSGetGeometryN_r(h, g, p);
    int nh = GEOSGetNumInteriorRings_r(h, pg);
    for (int r = 0; r <= nh; r++) {
      const GEOSGeometry *ring = r == 0 ? GEOSGetExteriorRing_r(h, pg)
                                        : GEOSGetInteriorRingN_r(h, pg, r - 1);
      const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
      unsigned n = 0;
      GEOSCoordSeq_getSize_r(h, cs, &n);
      for (unsigned i = 0; i + 1 < n; i += (unsigned)step) {
        double ax, ay, bx, by;
        GEOSCoordSeq_getXY_r(h, cs, i, &ax, &ay);
        GEOSCoordSeq_getXY_r(h, cs, i + 1, &bx, &by);
        fn(ax, ay, bx, by, arg);
      }
    }
  }
}

/* The points around one edge that a point-in-polygon test gets wrong:
 * its first vertex, its midpoint, both 1e-9 degrees either side in x and
 * in y, the vertex 1e-9 either side, and a point level with the vertex
 * whose ray passes through it. */
struct edge_ctx {
  const struct hv_zindex *ix;
  const struct oracle *o;
  struct tally *t;
  size_t multi_vertices; /* vertices GEOS puts in >= 2 polygons */
};

static void check_edge(double ax, double ay, double bx, double by, void *arg) {
  struct edge_ctx *c = arg;
  const double d = 1e-9;
  size_t many = c->t->many;
  check_point(c->ix, c->o, ax, ay, "vertex", c->t);
  if (c->t->many > many)
    c->multi_vertices++;
  double mx = (ax + bx) / 2, my = (ay + by) / 2;
  check_point(c->ix, c->o, mx, my, "edge midpoint", c->t);
  check_point(c->ix, c->o, mx + d, my, "midpoint +1e-9 x", c->t);
  check_point(c->ix, c->o, mx - d, my, "midpoint -1e-9 x", c->t);
  check_point(c->ix, c->o, mx, my + d, "midpoint +1e-9 y", c->t);
  check_point(c->ix, c->o, mx, my - d, "midpoint -1e-9 y", c->t);
  check_point(c->ix, c->o, ax + d, ay, "vertex +1e-9 x", c->t);
  check_point(c->ix, c->o, ax - d, ay, "vertex -1e-9 x", c->t);
  check_point(c->ix, c->o, ax, ay + d, "vertex +1e-9 y", c->t);
  check_point(c->ix, c->o, ax, ay - d, "vertex -1e-9 y", c->t);
  check_point(c->ix, c->o, ax - 0.01, ay, "level with a vertex", c->t);
}

static struct hv_zindex *build(struct hv_geo *geo, const struct zg_set *z) {
  struct hv_zindex *ix = NULL;
  struct hv_error err = {0};
  int rc = hv_zindex_new(geo, (const GEOSGeometry *const *)z->g, NULL, z->n,
                         &ix, &err);
  if (rc != HV_OK)
    fail_msg("hv_zindex_new: %s: %s", hv_err_name(rc), err.msg);
  assert_non_null(ix);
  return ix;
}

/* Random points over the union envelope of the oracle's geometries grown
 * by 5%, and points on the lines of the index's top grid. */
static void check_random(const struct hv_zindex *ix, const struct oracle *o,
                         size_t n, uint64_t seed, struct tally *t) {
  double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
  for (size_t i = 0; i < o->n; i++) {
    x0 = fmin(x0, o->box[4 * i]);
    y0 = fmin(y0, o->box[4 * i + 1]);
    x1 = fmax(x1, o->box[4 * i + 2]);
    y1 = fmax(y1, o->box[4 * i + 3]);
  }
  double w = x1 - x0, hgt = y1 - y0;
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++)
    check_point(ix, o, x0 - 0.05 * w + 1.1 * w * rnd(&st),
                y0 - 0.05 * hgt + 1.1 * hgt * rnd(&st), "random point", t);
  /* The top grid's lines, computed as the index computes them, and the
   * envelope's sides. */
  struct hv_zindex_stats s;
  hv_zindex_stats(ix, &s);
  double dx = w / s.top_cols, dy = hgt / s.top_rows;
  for (unsigned c = 0; c <= s.top_cols; c++)
    for (int k = 0; k < 8; k++)
      check_point(ix, o, c == s.top_cols ? x1 : x0 + c * dx,
                  y0 + hgt * rnd(&st), "point on a grid column", t);
  for (unsigned r = 0; r <= s.top_rows; r++)
    for (int k = 0; k < 8; k++)
      check_point(ix, o, x0 + w * rnd(&st), r == s.top_rows ? y1 : y0 + r * dy,
                  "point on a grid row", t);
}

static GEOSGeometry *wkt(struct hv_geo *geo, const char *text) {
  GEOSContextHandle_t h = hv_geo_geos(geo);
  GEOSWKTReader *r = GEOSWKTReader_create_r(h);
  GEOSGeometry *g = GEOSWKTReader_read_r(h, r, text);
  GEOSWKTReader_destroy_r(h, r);
  if (g == NULL)
    fail_msg("WKT not read: %s", text);
  return g;
}

/* ---- the governorates ---------------------------------------------------- */

static void test_governorates_match_geos(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set govs = {0};
  assert_int_equal(zg_load_governorates(geo, shared_data(), &govs), 0);
  assert_int_equal(govs.n, 14);
  struct hv_zindex *ix = build(geo, &govs);
  struct oracle o;
  oracle_init(&o, geo, &govs);
  struct tally t = {0};
  check_random(ix, &o, 200000, 1, &t);
  assert_true(t.one > 80000); /* about half the random points are in Syria */
  struct edge_ctx c = {ix, &o, &t, 0};
  for (size_t i = 0; i < govs.n; i++)
    for_each_edge(o.h, govs.g[i], 1, check_edge, &c);
  /* Neighbouring governorates share their boundaries: thousands of
   * vertices lie in two or three of them at once. */
  assert_true(c.multi_vertices > 5000);
  print_message("governorates: %zu points match GEOS (%zu in none, %zu in "
                "one, %zu in several; %zu shared vertices)\n",
                t.points, t.none, t.one, t.many, c.multi_vertices);

  /* The hole: Damascus (4) is a hole of Rural Damascus (12). */
  GEOSGeometry *in = GEOSPointOnSurface_r(o.h, govs.g[4]);
  double x, y;
  assert_int_equal(GEOSGeomGetX_r(o.h, in, &x), 1);
  assert_int_equal(GEOSGeomGetY_r(o.h, in, &y), 1);
  GEOSGeom_destroy_r(o.h, in);
  uint32_t got[4];
  assert_int_equal(hv_zindex_query(ix, x, y, got, 4), 1);
  assert_int_equal(got[0], 4);
  uint64_t st = 7;
  size_t in_hole = 0;
  const double *b = o.box + 4 * 4;
  for (int i = 0; i < 20000; i++) {
    double px = b[0] + (b[2] - b[0]) * rnd(&st);
    double py = b[1] + (b[3] - b[1]) * rnd(&st);
    size_t n = hv_zindex_query(ix, px, py, got, 4);
    in_hole += n == 1 && got[0] == 4;
    check_point(ix, &o, px, py, "point around Damascus", &t);
  }
  assert_true(in_hole > 5000);

  oracle_free(&o);
  hv_zindex_free(ix);
  zg_free(geo, &govs);
}

/* W-PIP: the published answer, exactly. */
static void test_wpip_answer(void **state) {
  struct hv_geo *geo = *state;
  static const long expect[14] = {67806, 58547, 51027, 18201,  309,
                                  10835, 72727, 32055, 124103, 15813,
                                  6953,  3976,  74442, 5501};
  char path[4096];
  snprintf(path, sizeof path, "%s/../bench/wpip_points_1m.bin", shared_data());
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("%s: cannot open", path);
  const size_t n = 1000000;
  double *pts = malloc(2 * n * sizeof *pts);
  assert_non_null(pts);
  assert_int_equal(fread(pts, 2 * sizeof *pts, n, f), n);
  fclose(f);
  struct zg_set govs = {0};
  assert_int_equal(zg_load_governorates(geo, shared_data(), &govs), 0);
  struct hv_zindex *ix = build(geo, &govs);
  long counts[14] = {0}, inside = 0, hits = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t z[14];
    size_t k = hv_zindex_query(ix, pts[2 * i], pts[2 * i + 1], z, 14);
    if (k > 0) {
      inside++;
      counts[z[0]]++;
    }
    hits += (long)k;
  }
  assert_int_equal(inside, 542295);
  assert_int_equal(hits, 542295); /* no random point on a shared boundary */
  for (int k = 0; k < 14; k++)
    if (counts[k] != expect[k])
      fail_msg("feature %d: %ld points, expected %ld", k, counts[k], expect[k]);
  hv_zindex_free(ix);
  zg_free(geo, &govs);
  free(pts);
}

/* ---- real-shaped zones --------------------------------------------------- */

static void test_real_shaped_zones_match_geos(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set src = {0}, all = {0};
  assert_int_equal(zg_load_sources(geo, shared_data(), &src), 0);
  assert_int_equal(src.n, 24);
  for (size_t i = 0; i < 14; i++)
    assert_int_equal(
        zg_push(geo, &all, GEOSGeom_clone_r(hv_geo_geos(geo), src.g[i])), 0);
  assert_int_equal(zg_make(geo, &src, 1000, 4, ZG_WPIP_BOX, &all), 0);
  assert_int_equal(all.n, 1014);
  struct hv_zindex *ix = build(geo, &all);
  struct hv_zindex_stats s;
  hv_zindex_stats(ix, &s);
  assert_true(s.edges > 1000000);
  assert_true(s.memory_bytes == hv_zindex_memory(ix));
  assert_true(s.memory_bytes > s.edges * 16); /* holds the coordinates */
  struct oracle o;
  oracle_init(&o, geo, &all);
  struct tally t = {0};
  check_random(ix, &o, 200000, 2, &t);
  assert_true(t.many > 50000); /* the zones overlap */
  struct edge_ctx c = {ix, &o, &t, 0};
  /* Every 50th edge of each zone (the governorates' edges are all checked
   * by test_governorates_match_geos). */
  for (size_t i = 14; i < all.n; i++)
    for_each_edge(o.h, all.g[i], 50, check_edge, &c);
  print_message("zones: %zu points match GEOS (%zu in none, %zu in one, "
                "%zu in several); index %zu edges, %zu grids, depth %u, "
                "%.1f MiB\n",
                t.points, t.none, t.one, t.many, s.edges, s.grids, s.max_depth,
                (double)s.memory_bytes / 1048576.0);
  oracle_free(&o);
  hv_zindex_free(ix);
  zg_free(geo, &src);
  zg_free(geo, &all);
}

/* Points on a lattice that also holds every vertex: points exactly on
 * horizontal and vertical edges, on vertices, level with vertices (where
 * the ray passes through a vertex), over a comb dense enough for its
 * cells to be refined. */
static void test_lattice_shapes_match_geos(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set z = {0};
  /* A comb: 400 teeth of width 1/16 with horizontal tops and bottoms. */
  size_t cap = 64 + 400 * 200;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t k = (size_t)snprintf(text, cap, "POLYGON((0 0");
  for (int i = 0; i < 400; i++) {
    double x = i / 16.0;
    k += (size_t)snprintf(text + k, cap - k,
                          ",%.17g 2,%.17g 2,%.17g 0.5,%.17g 0.5", x,
                          x + 1 / 32.0, x + 1 / 32.0, x + 1 / 16.0);
  }
  snprintf(text + k, cap - k, ",25 0,0 0))");
  assert_int_equal(zg_push(geo, &z, wkt(geo, text)), 0);
  free(text);
  /* A square with a square hole, a diamond, a triangle with an edge
   * through lattice points, a multipolygon, overlapping the comb. */
  assert_int_equal(
      zg_push(geo, &z,
              wkt(geo, "POLYGON((1 0,9 0,9 3,1 3,1 0),(3 1,5 1,5 2,3 2,3 1))")),
      0);
  assert_int_equal(
      zg_push(geo, &z, wkt(geo, "POLYGON((12 0,14 1.5,12 3,10 1.5,12 0))")), 0);
  assert_int_equal(zg_push(geo, &z, wkt(geo, "POLYGON((15 0,23 1,15 2,15 0))")),
                   0);
  assert_int_equal(
      zg_push(geo, &z,
              wkt(geo, "MULTIPOLYGON(((0 2.5,4 2.5,4 3,0 3,0 2.5)),"
                       "((20 2.5,25 2.5,25 3,20 3,20 2.5),"
                       "(21 2.75,22 2.625,22 2.875,21 2.75)))")),
      0);
  struct hv_zindex *ix = build(geo, &z);
  struct oracle o;
  oracle_init(&o, geo, &z);
  struct tally t = {0};
  for (int i = -4; i <= 25 * 32 + 4; i++)
    for (int j = -4; j <= 3 * 32 + 4; j++)
      check_point(ix, &o, i / 32.0, j / 32.0, "lattice point", &t);
  check_random(ix, &o, 20000, 3, &t);
  struct hv_zindex_stats s;
  hv_zindex_stats(ix, &s);
  assert_true(s.max_depth >= 1);
  print_message("lattice: %zu points match GEOS (%zu in several), depth %u\n",
                t.points, t.many, s.max_depth);
  oracle_free(&o);
  hv_zindex_free(ix);
  zg_free(geo, &z);
}

/* Zones with one shape (a zone redeclared for several periods): cells
 * cannot separate them, the build must neither blow up nor err. */
static void test_identical_copies(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set govs = {0}, z = {0};
  assert_int_equal(zg_load_governorates(geo, shared_data(), &govs), 0);
  for (int i = 0; i < 100; i++)
    assert_int_equal(
        zg_push(geo, &z, GEOSGeom_clone_r(hv_geo_geos(geo), govs.g[7])), 0);
  struct hv_zindex *ix = build(geo, &z);
  struct hv_zindex_stats s;
  hv_zindex_stats(ix, &s);
  /* Memory in proportion to the input (the copies' coordinates are 3.9
   * MB). */
  assert_true(s.memory_bytes < 40 * s.edges * 16);
  struct oracle o;
  oracle_init(&o, geo, &z);
  struct tally t = {0};
  check_random(ix, &o, 3000, 5, &t);
  struct edge_ctx c = {ix, &o, &t, 0};
  for_each_edge(o.h, z.g[0], 7, check_edge, &c);
  assert_true(t.many > 1000);
  print_message("copies: %zu points match GEOS, index %.1f MiB, %zu grids\n",
                t.points, (double)s.memory_bytes / 1048576.0, s.grids);
  oracle_free(&o);
  hv_zindex_free(ix);
  zg_free(geo, &z);
  zg_free(geo, &govs);
}

/* A polygon [0, xe] x [0, 1] and, to fix the envelope at [0, 1] x [0, 1]
 * and the edge count, an nb-gon near (1, 0.5). */
static void two_shapes(struct hv_geo *geo, double xe, int nb,
                       struct zg_set *z) {
  char text[4096];
  snprintf(text, sizeof text, "POLYGON((0 0,%.17g 0,%.17g 1,0 1,0 0))", xe, xe);
  assert_int_equal(zg_push(geo, z, wkt(geo, text)), 0);
  size_t k = (size_t)snprintf(text, sizeof text, "POLYGON((1 0.5");
  for (int i = 1; i < nb; i++) {
    double a = 2 * M_PI * i / nb;
    k += (size_t)snprintf(text + k, sizeof text - k, ",%.17g %.17g",
                          1 - 0.05 + 0.05 * cos(a), 0.5 + 0.05 * sin(a));
  }
  snprintf(text + k, sizeof text - k, ",1 0.5))");
  assert_int_equal(zg_push(geo, z, wkt(geo, text)), 0);
}

/*
 * White box: a point just left of a line of the top grid that the query's
 * arithmetic ((x - x0) * (1 / dx)) rounds into the cell right of the line,
 * on the right edge of a polygon lying left of the line. The index must
 * still see that edge (its cells are built with a margin for this). The
 * grid is predicted as the index sizes it: the test looks, over a few
 * edge counts, for a grid and a point where the rounding happens.
 */
static void test_points_rounded_into_the_next_cell(void **state) {
  struct hv_geo *geo = *state;
  int found = 0;
  for (int nb = 3; nb < 200 && !found; nb++) {
    struct zg_set z = {0};
    two_shapes(geo, 0.5, nb, &z);
    struct hv_zindex *ix = build(geo, &z);
    struct hv_zindex_stats s;
    hv_zindex_stats(ix, &s);
    hv_zindex_free(ix);
    zg_free(geo, &z);
    double dx = 1.0 / s.top_cols, sx = 1 / dx;
    for (unsigned c = 1; c < s.top_cols && !found; c++) {
      double x = c * dx;
      for (int k = 0; k < 64 && !found; k++) {
        x = nextafter(x, 0);
        if ((int)(x * sx) < (int)c)
          continue;
        found = 1;
        two_shapes(geo, x, nb, &z);
        ix = build(geo, &z);
        struct oracle o;
        oracle_init(&o, geo, &z);
        struct tally t = {0};
        for (int i = 0; i <= 64; i++)
          check_point(ix, &o, x, i / 64.0, "point rounded across a line", &t);
        assert_int_equal(t.none, 0);
        oracle_free(&o);
        hv_zindex_free(ix);
        zg_free(geo, &z);
      }
    }
  }
  assert_true(found);
}

/* ---- the rule, the buffer, the edges of the API -------------------------- */

static void test_boundary_rule(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set z = {0};
  assert_int_equal(
      zg_push(geo, &z,
              wkt(geo, "POLYGON((0 0,10 0,10 10,0 10,0 0),(4 4,6 4,6 6,4 6,4 "
                       "4))")),
      0);
  assert_int_equal(zg_push(geo, &z, wkt(geo, "POLYGON((0 0,4 2,0 4,0 0))")), 0);
  struct hv_zindex *ix = build(geo, &z);
  static const struct {
    double x, y;
    size_t n;
  } cases[] = {
      {2, 7, 1},          /* interior */
      {5, 5, 0},          /* in the hole */
      {4, 5, 1},          /* on the hole's edge */
      {4, 4, 1},          /* on the hole's vertex */
      {10, 5, 1},         /* on the shell's edge */
      {10, 10, 1},        /* on the shell's vertex */
      {10 + 1e-9, 5, 0},  /* just outside */
      {10 - 1e-9, 5, 1},  /* just inside */
      {5 - 1e-9, 5, 0},   /* just inside the hole */
      {2, 1, 2},          /* on the triangle's slanted edge, in the square */
      {0, 2, 2},          /* on both shells' shared edge */
      {4, 2, 2},          /* the triangle's apex */
      {-1, 5, 0},         /* outside the envelope */
      {5, 10 + 1e-12, 0}, /* just above the envelope */
  };
  struct oracle o;
  oracle_init(&o, geo, &z);
  struct tally t = {0};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint32_t got[4];
    size_t n = hv_zindex_query(ix, cases[i].x, cases[i].y, got, 4);
    if (n != cases[i].n)
      fail_msg("(%.17g, %.17g): %zu polygons, expected %zu", cases[i].x,
               cases[i].y, n, cases[i].n);
    check_point(ix, &o, cases[i].x, cases[i].y, "rule case", &t);
  }
  /* Points 1e-15 off the slanted edge, on either side. */
  for (int i = 1; i < 1000; i++) {
    double x = 4.0 * i / 1000, y = x / 2;
    check_point(ix, &o, x, y, "on a slanted edge", &t);
    check_point(ix, &o, x, nextafter(y, 0), "below a slanted edge", &t);
    check_point(ix, &o, x, nextafter(y, 10), "above a slanted edge", &t);
  }
  oracle_free(&o);
  hv_zindex_free(ix);
  zg_free(geo, &z);
}

static void test_ids_order_and_small_buffer(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set z = {0};
  assert_int_equal(zg_push(geo, &z, wkt(geo, "POLYGON((0 0,3 0,3 3,0 3,0 0))")),
                   0);
  assert_int_equal(zg_push(geo, &z, wkt(geo, "POLYGON((1 1,4 1,4 4,1 4,1 1))")),
                   0);
  assert_int_equal(
      zg_push(geo, &z,
              wkt(geo, "MULTIPOLYGON(((2 2,5 2,5 5,2 5,2 2)),((8 8,9 8,9 9,8 "
                       "8)))")),
      0);
  const uint32_t ids[3] = {100, 7, 42};
  struct hv_zindex *ix = NULL;
  struct hv_error err = {0};
  assert_int_equal(
      hv_zindex_new(geo, (const GEOSGeometry *const *)z.g, ids, z.n, &ix, &err),
      HV_OK);
  uint32_t got[3] = {0, 0, 0};
  assert_int_equal(hv_zindex_query(ix, 2.5, 2.5, got, 3), 3);
  assert_int_equal(got[0], 100);
  assert_int_equal(got[1], 7);
  assert_int_equal(got[2], 42);
  uint32_t two[3] = {0, 0, 0xdead};
  assert_int_equal(hv_zindex_query(ix, 2.5, 2.5, two, 2), 3);
  assert_int_equal(two[0], 100);
  assert_int_equal(two[1], 7);
  assert_int_equal(two[2], 0xdead); /* untouched */
  assert_int_equal(hv_zindex_query(ix, 2.5, 2.5, NULL, 0), 3);
  assert_int_equal(hv_zindex_query(ix, 8.7, 8.2, got, 3), 1);
  assert_int_equal(got[0], 42);
  assert_int_equal(hv_zindex_query(ix, 8.2, 8.7, got, 3), 0);
  hv_zindex_free(ix);
  zg_free(geo, &z);
}

static void test_empty_and_outside(void **state) {
  struct hv_geo *geo = *state;
  struct hv_zindex *ix = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_zindex_new(geo, NULL, NULL, 0, &ix, &err), HV_OK);
  assert_non_null(ix);
  uint32_t got[2];
  assert_int_equal(hv_zindex_query(ix, 0, 0, got, 2), 0);
  assert_int_equal(hv_zindex_query(ix, 38, 35, got, 2), 0);
  assert_true(hv_zindex_memory(ix) > 0);
  struct hv_zindex_stats s;
  hv_zindex_stats(ix, &s);
  assert_int_equal(s.polygons, 0);
  hv_zindex_free(ix);
  hv_zindex_free(NULL);
  assert_int_equal(hv_zindex_memory(NULL), 0);
  assert_int_equal(hv_zindex_query(NULL, 0, 0, got, 2), 0);

  struct zg_set govs = {0};
  assert_int_equal(zg_load_governorates(geo, shared_data(), &govs), 0);
  ix = build(geo, &govs);
  static const double out[][2] = {{0, 0},       {35.0, 34.0}, {43.0, 35.0},
                                  {38.0, 31.0}, {38.0, 38.0}, {-180, -90},
                                  {180, 90},    {1e300, 35},  {38, -1e300}};
  for (size_t i = 0; i < sizeof out / sizeof *out; i++)
    assert_int_equal(hv_zindex_query(ix, out[i][0], out[i][1], got, 2), 0);
  assert_int_equal(hv_zindex_query(ix, NAN, 35, got, 2), 0);
  assert_int_equal(hv_zindex_query(ix, 38, NAN, got, 2), 0);
  assert_int_equal(hv_zindex_query(ix, INFINITY, 35, got, 2), 0);
  assert_int_equal(hv_zindex_query(ix, -INFINITY, -INFINITY, got, 2), 0);
  hv_zindex_free(ix);
  zg_free(geo, &govs);
}

/* A refused input: code, *out NULL, err filled, the message holding
 * needle. */
static void refused(struct hv_geo *geo, const GEOSGeometry *const *g, size_t n,
                    int code, const char *needle) {
  struct hv_zindex *ix = (struct hv_zindex *)1;
  struct hv_error err = {0};
  int rc = hv_zindex_new(geo, g, NULL, n, &ix, &err);
  if (rc != code)
    fail_msg("hv_zindex_new = %s, expected %s (%s)", hv_err_name(rc),
             hv_err_name(code), err.msg);
  assert_null(ix);
  assert_int_equal(err.code, code);
  if (strstr(err.msg, needle) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_degenerate_inputs_refused(void **state) {
  struct hv_geo *geo = *state;
  GEOSContextHandle_t h = hv_geo_geos(geo);
  GEOSGeometry *ok = wkt(geo, "POLYGON((0 0,1 0,1 1,0 0))");
  struct hv_zindex *ix = NULL;
  struct hv_error err = {0};
  const GEOSGeometry *one[1] = {ok};
  assert_int_equal(hv_zindex_new(NULL, one, NULL, 1, &ix, &err), HV_EINVAL);
  assert_int_equal(hv_zindex_new(geo, one, NULL, 1, NULL, &err), HV_EINVAL);
  assert_int_equal(hv_zindex_new(geo, NULL, NULL, 1, &ix, NULL), HV_EINVAL);
  assert_null(ix);

  const GEOSGeometry *with_null[2] = {ok, NULL};
  refused(geo, with_null, 2, HV_EGEOMETRY, "geometry 1 is NULL");
  static const struct {
    const char *wkt, *needle;
  } bad[] = {
      {"POINT(1 1)", "is a Point, not a Polygon or MultiPolygon"},
      {"LINESTRING(0 0,1 1)", "not a Polygon or MultiPolygon"},
      {"GEOMETRYCOLLECTION(POLYGON((0 0,1 0,1 1,0 0)))",
       "not a Polygon or MultiPolygon"},
      {"POLYGON EMPTY", "geometry 1 is empty"},
      {"MULTIPOLYGON EMPTY", "geometry 1 is empty"},
      {"POLYGON((0 0,1 1,2 2,0 0))", "zero area"},
      {"POLYGON((0 0,1 1,1 1,0 0))", "fewer than 3 distinct points"},
      {"POLYGON((0 0,1 0,1 0,0 0,0 0))", "fewer than 3 distinct points"},
      {"POLYGON((0 0,9 0,9 9,0 0),(1 0.5,2 1,3 1.5,1 0.5))",
       "hole 1 has all its points on one line"},
      {"MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 6,7 7,5 5)))",
       "polygon 1: exterior ring 0"},
      {"POLYGON((0 0,1e200 0,1 1,0 0))", "point 1 is out of range"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    GEOSGeometry *g = wkt(geo, bad[i].wkt);
    const GEOSGeometry *two[2] = {ok, g};
    refused(geo, two, 2, HV_EGEOMETRY, bad[i].needle);
    GEOSGeom_destroy_r(h, g);
  }
  /* A non-finite coordinate. */
  GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, 4, 2);
  const double xy[4][2] = {{0, 0}, {1, 0}, {NAN, 1}, {0, 0}};
  for (unsigned i = 0; i < 4; i++)
    GEOSCoordSeq_setXY_r(h, cs, i, xy[i][0], xy[i][1]);
  GEOSGeometry *ring = GEOSGeom_createLinearRing_r(h, cs);
  assert_non_null(ring);
  GEOSGeometry *nan_poly = GEOSGeom_createPolygon_r(h, ring, NULL, 0);
  assert_non_null(nan_poly);
  const GEOSGeometry *two[2] = {ok, nan_poly};
  refused(geo, two, 2, HV_EGEOMETRY, "point 2 is not finite");
  GEOSGeom_destroy_r(h, nan_poly);
  /* Repeated points are not degenerate: dropped, same answers. */
  GEOSGeometry *rep = wkt(geo, "POLYGON((0 0,0 0,2 0,2 0,2 2,0 2,0 2,0 0))");
  const GEOSGeometry *r1[1] = {rep};
  assert_int_equal(hv_zindex_new(geo, r1, NULL, 1, &ix, &err), HV_OK);
  uint32_t got[2];
  assert_int_equal(hv_zindex_query(ix, 1, 1, got, 2), 1);
  assert_int_equal(hv_zindex_query(ix, 2, 0, got, 2), 1);
  assert_int_equal(hv_zindex_query(ix, 2, 1, got, 2), 1);
  assert_int_equal(hv_zindex_query(ix, 2.5, 1, got, 2), 0);
  hv_zindex_free(ix);
  GEOSGeom_destroy_r(h, rep);
  GEOSGeom_destroy_r(h, ok);
}

/* ---- concurrent queries -------------------------------------------------- */

struct worker {
  const struct hv_zindex *ix;
  const double *pts;
  const uint32_t *want; /* per point: count << 8 | first id (or 255) */
  size_t n, wrong;
};

static void *work(void *arg) {
  struct worker *w = arg;
  for (int pass = 0; pass < 3; pass++)
    for (size_t i = 0; i < w->n; i++) {
      uint32_t z[16];
      size_t k =
          hv_zindex_query(w->ix, w->pts[2 * i], w->pts[2 * i + 1], z, 16);
      uint32_t v = (uint32_t)(k << 8 | (k ? z[0] : 255));
      w->wrong += v != w->want[i];
    }
  return NULL;
}

static void test_concurrent_queries(void **state) {
  struct hv_geo *geo = *state;
  struct zg_set govs = {0};
  assert_int_equal(zg_load_governorates(geo, shared_data(), &govs), 0);
  struct hv_zindex *ix = build(geo, &govs);
  const size_t n = 100000;
  double *pts = malloc(2 * n * sizeof *pts);
  uint32_t *want = malloc(n * sizeof *want);
  assert_non_null(pts);
  assert_non_null(want);
  uint64_t st = 11;
  for (size_t i = 0; i < n; i++) {
    pts[2 * i] = ZG_WPIP_BOX[0] + (ZG_WPIP_BOX[2] - ZG_WPIP_BOX[0]) * rnd(&st);
    pts[2 * i + 1] =
        ZG_WPIP_BOX[1] + (ZG_WPIP_BOX[3] - ZG_WPIP_BOX[1]) * rnd(&st);
    uint32_t z[16];
    size_t k = hv_zindex_query(ix, pts[2 * i], pts[2 * i + 1], z, 16);
    want[i] = (uint32_t)(k << 8 | (k ? z[0] : 255));
  }
  pthread_t th[4];
  struct worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct worker){ix, pts, want, n, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(w[i].wrong, 0);
  }
  free(pts);
  free(want);
  hv_zindex_free(ix);
  zg_free(geo, &govs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_boundary_rule, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_ids_order_and_small_buffer,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_empty_and_outside, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_degenerate_inputs_refused,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_lattice_shapes_match_geos,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_points_rounded_into_the_next_cell,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_identical_copies, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_governorates_match_geos,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_wpip_answer, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_real_shaped_zones_match_geos,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_queries, tu_geo_setup,
                                      tu_geo_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
