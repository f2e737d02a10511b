/*
 * zindex.c — the point-in-zone index (haven/zindex.h): an adaptive grid
 * over the envelope of N polygons whose cells know, for each polygon, either
 * that it covers the whole cell or the few of its edges a query there must
 * test, so that a query reads one cell and tests a handful of edges.
 *
 * The rule answered is GEOS's: a point is in a polygon when it lies on one
 * of its edges, or when a ray from it towards +x crosses its rings an odd
 * number of times, a crossing being counted with GEOS's RayCrossingCounter
 * convention (an edge counts when the point's y is in [min y, max y) of the
 * edge and the point is strictly on its left, seen upwards) and the side
 * decided by an exact orientation test (a floating-point filter, then an
 * exact sum of products when the filter cannot decide).
 *
 * How a cell answers. Take a cell C and a rectangle B around it (C grown by
 * a margin far larger than the rounding of the query's arithmetic, so that
 * every point the query sends to C lies in B). The edges of one polygon fall
 * into three sets, decided at build time with a tolerance that covers the
 * rounding of the build's own arithmetic:
 *   Z — edges that miss B's rows or lie left of B there: they never count;
 *   S — edges that, over B's rows, lie right of B: for a point P in B such
 *       an edge counts exactly when P.y is in [min y, max y) of the edge, a
 *       step function of P.y alone;
 *   E — the rest: tested against P at query time with the full rule.
 * The parity of the S edges at height y changes only at vertices where an
 * S edge meets an edge that is not in S, and such a vertex inside B's rows
 * always joins an S edge to an E edge. So the cell stores E as runs of
 * consecutive edges, flags each run end whose neighbour beyond is in S,
 * and one bit, base, such that, for P in B,
 *   inside(P) = P on an E edge, or the parity of
 *               base + #(flagged run ends V with V.y <= P.y)
 *                    + #(E edges crossed by the ray from P)
 * When E is empty the polygon covers all of B or none of it.
 *
 * The grid. A top grid over the union envelope, sized from the number of
 * edges; a cell where a query would test more than ZI_LEAF_EDGES edges is
 * refined by a k x k grid (k from its edge count), up to ZI_MAX_DEPTH
 * levels. A child's sets are derived from its parent's alone (S and Z of
 * the parent stay S and Z, since the child's B lies in the parent's B), so
 * the build never looks at a polygon's edges far from the cell it is
 * filling.
 *
 * Invariants:
 * - every point the query routes to a cell lies in the B that cell was built
 *   with (margins: ZI_REL_MARGIN of a cell, and at least mabs, 1e-12 of the
 *   coordinates' magnitude, against errors of ~1e-15 of it);
 * - a leaf lists its polygons in input order, so queries answer in input
 *   order;
 * - once built the index is never written: queries share it freely.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haven/zindex.h"

/* ---- tuning (each may be set with -D to experiment) --------------------- */

/* A cell is refined when a query there would test more edges than this. */
#ifndef ZI_LEAF_EDGES
#define ZI_LEAF_EDGES 12
#endif
/* ... and more than this per polygon crossing it. */
#ifndef ZI_ENTRY_EDGES
#define ZI_ENTRY_EDGES 4
#endif
/* A refined cell gets k x k children, 2 <= k <= ZI_MAX_K. */
#ifndef ZI_MAX_K
#define ZI_MAX_K 16
#endif
/* Refinement stops when all grids hold this many cells per edge (and at
 * least 2^20 cells), whatever the shapes: memory stays in proportion. */
#ifndef ZI_CELLS_PER_EDGE
#define ZI_CELLS_PER_EDGE 32
#endif
/* Levels of refinement below the top grid. */
#ifndef ZI_MAX_DEPTH
#define ZI_MAX_DEPTH 6
#endif
/* The top grid has about edges * ZI_TOP_PER_EDGE cells, at most
 * ZI_TOP_MAX. */
#ifndef ZI_TOP_PER_EDGE
#define ZI_TOP_PER_EDGE 1.0
#endif
#ifndef ZI_TOP_MAX
#define ZI_TOP_MAX (1u << 18)
#endif
/* B is the cell grown by this fraction of the cell on each side. */
#ifndef ZI_REL_MARGIN
#define ZI_REL_MARGIN 1e-7
#endif

/* ---- the stored index ---------------------------------------------------- */

/* A cell reference (refs[]): the top two bits say what the rest is. */
#define REF_TAG 0xC0000000u
#define REF_LEAF 0x00000000u  /* offset of a leaf in ent[] */
#define REF_FULL 0x40000000u  /* one polygon covering the cell: its index */
#define REF_GRID 0x80000000u  /* index of a child grid in grids[] */
#define REF_EMPTY 0xFFFFFFFFu /* no polygon */
#define REF_VAL 0x3FFFFFFFu

/* A leaf in ent[]: the number of entries, then each entry: the polygon
 * index, with ENT_CROSS set when edges must be tested; then for a crossing
 * entry base | nruns << 1 and nruns runs of two words: the first vertex, and
 * the number of edges with the two end flags. */
#define ENT_CROSS 0x80000000u
#define RUN_FS 0x40000000u /* flip at the first vertex */
#define RUN_FE 0x80000000u /* flip at the last vertex */
#define RUN_LEN 0x3FFFFFFFu

struct zgrid {
  double x0, y0; /* origin of cell (0, 0) */
  double sx, sy; /* cells per unit of x, of y */
  uint32_t nx, ny;
  uint32_t first; /* refs[first + row * nx + col] */
};

struct hv_zindex {
  double minx, miny, maxx, maxy; /* union envelope; empty index: min > max */
  struct zgrid *grids;           /* grids[0] is the top grid */
  size_t ngrids;
  uint32_t *refs;
  size_t nrefs;
  uint32_t *ent;
  size_t nent;
  double *xy; /* all rings, closed, as x0 y0 x1 y1 ...; edge k: k -> k+1 */
  size_t nvert;
  uint32_t *ids;
  size_t npoly;
  size_t nrings, nedges;
  size_t crossing_entries, tested_edges;
  unsigned max_depth;
};

/* ---- exact orientation --------------------------------------------------- */

/* a + b = *s + *e exactly (Knuth's TwoSum). */
static void two_sum(double a, double b, double *s, double *e) {
  double x = a + b;
  double bv = x - a;
  double av = x - bv;
  *e = (a - av) + (b - bv);
  *s = x;
}

/* The sign of the exact sum of t[0..n-1], n <= 16: Shewchuk's
 * grow-expansion with zero elimination, then the sign of the largest
 * component. */
static int sum_sign(const double *t, int n) {
  double e[16];
  int m = 0;
  for (int i = 0; i < n; i++) {
    double q = t[i];
    int k = 0;
    for (int j = 0; j < m; j++) {
      double h;
      two_sum(q, e[j], &q, &h);
      if (h != 0)
        e[k++] = h;
    }
    if (q != 0)
      e[k++] = q;
    m = k;
  }
  return m == 0 ? 0 : (e[m - 1] > 0 ? 1 : -1);
}

/* The exact sign of (a - c) x (b - c), expanded into six products of
 * coordinates, each split exactly into two doubles with fma. */
static int orient_exact(double ax, double ay, double bx, double by, double cx,
                        double cy) {
  const double f[6][2] = {{ax, by},  {-ax, cy}, {-cx, by},
                          {-ay, bx}, {ay, cx},  {cy, bx}};
  double t[12];
  for (int i = 0; i < 6; i++) {
    double p = f[i][0] * f[i][1];
    t[2 * i] = p;
    t[2 * i + 1] = fma(f[i][0], f[i][1], -p);
  }
  return sum_sign(t, 12);
}

/* 1 when c lies left of the directed line a -> b, -1 right, 0 on it;
 * exact. The filter is Shewchuk's orient2d bound (3 + 16 eps) eps. */
static inline int orient(double ax, double ay, double bx, double by, double cx,
                         double cy) {
  double l = (ax - cx) * (by - cy);
  double r = (ay - cy) * (bx - cx);
  double det = l - r;
  double bound = 3.3306690738754716e-16 * (fabs(l) + fabs(r));
  if (det > bound)
    return 1;
  if (-det > bound)
    return -1;
  return orient_exact(ax, ay, bx, by, cx, cy);
}

/* ---- queries ------------------------------------------------------------- */

/* The entry's answer for (px, py): its runs at w[0 .. 2 nr - 1], par its
 * base bit. Returns 1 inside or on an edge, 0 outside. */
static int runs_contain(const double *xy, const uint32_t *w, uint32_t nr,
                        double px, double py, unsigned par) {
  for (uint32_t r = 0; r < nr; r++) {
    uint32_t len = w[2 * r + 1] & RUN_LEN;
    const double *v = xy + 2 * (size_t)w[2 * r];
    if ((w[2 * r + 1] & RUN_FS) && v[1] <= py)
      par ^= 1;
    if ((w[2 * r + 1] & RUN_FE) && v[2 * (size_t)len + 1] <= py)
      par ^= 1;
    double x1 = v[0], y1 = v[1];
    for (uint32_t k = 1; k <= len; k++) {
      double x2 = v[2 * k], y2 = v[2 * k + 1];
      /* Neither crossing nor touching: wholly above, below, or left. */
      if ((y1 > py && y2 > py) || (y1 < py && y2 < py) ||
          (x1 < px && x2 < px)) {
        x1 = x2;
        y1 = y2;
        continue;
      }
      if (x2 == px && y2 == py)
        return 1;
      if (y1 == py && y2 == py) {
        if (x1 <= px || x2 <= px) /* one end is >= px (tested above) */
          return 1;
      } else if ((y1 > py) != (y2 > py)) {
        int o = orient(x1, y1, x2, y2, px, py);
        if (o == 0)
          return 1;
        if ((o > 0) == (y2 > y1))
          par ^= 1;
      }
      x1 = x2;
      y1 = y2;
    }
  }
  return (int)par;
}

size_t hv_zindex_query(const struct hv_zindex *ix, double lon, double lat,
                       uint32_t *out, size_t cap) {
  if (ix == NULL || !(lon >= ix->minx && lon <= ix->maxx && lat >= ix->miny &&
                      lat <= ix->maxy))
    return 0;
  const struct zgrid *g = ix->grids;
  uint32_t ref;
  for (;;) {
    int i = (int)((lon - g->x0) * g->sx);
    int j = (int)((lat - g->y0) * g->sy);
    if (i < 0)
      i = 0;
    else if ((uint32_t)i >= g->nx)
      i = (int)g->nx - 1;
    if (j < 0)
      j = 0;
    else if ((uint32_t)j >= g->ny)
      j = (int)g->ny - 1;
    ref = ix->refs[g->first + (size_t)j * g->nx + (size_t)i];
    if ((ref & REF_TAG) != REF_GRID)
      break;
    g = ix->grids + (ref & REF_VAL);
  }
  if (ref == REF_EMPTY)
    return 0;
  if ((ref & REF_TAG) == REF_FULL) {
    if (cap > 0)
      out[0] = ix->ids[ref & REF_VAL];
    return 1;
  }
  const uint32_t *w = ix->ent + (ref & REF_VAL);
  uint32_t m = *w++;
  size_t count = 0;
  for (uint32_t e = 0; e < m; e++) {
    uint32_t word = *w++;
    int in = 1;
    if (word & ENT_CROSS) {
      uint32_t hdr = *w++;
      in = runs_contain(ix->xy, w, hdr >> 1, lon, lat, hdr & 1);
      w += 2 * (size_t)(hdr >> 1);
    }
    if (in) {
      if (count < cap)
        out[count] = ix->ids[word & ~ENT_CROSS];
      count++;
    }
  }
  return count;
}

size_t hv_zindex_memory(const struct hv_zindex *ix) {
  if (ix == NULL)
    return 0;
  return sizeof *ix + ix->ngrids * sizeof *ix->grids +
         ix->nrefs * sizeof *ix->refs + ix->nent * sizeof *ix->ent +
         ix->nvert * 2 * sizeof *ix->xy + ix->npoly * sizeof *ix->ids;
}

void hv_zindex_stats(const struct hv_zindex *ix, struct hv_zindex_stats *out) {
  if (out == NULL)
    return;
  memset(out, 0, sizeof *out);
  if (ix == NULL)
    return;
  out->polygons = ix->npoly;
  out->rings = ix->nrings;
  out->edges = ix->nedges;
  if (ix->ngrids > 0) {
    out->top_cols = ix->grids[0].nx;
    out->top_rows = ix->grids[0].ny;
  }
  out->grids = ix->ngrids;
  out->cells = ix->nrefs;
  out->crossing_entries = ix->crossing_entries;
  out->tested_edges = ix->tested_edges;
  out->max_depth = ix->max_depth;
  out->memory_bytes = hv_zindex_memory(ix);
}

void hv_zindex_free(struct hv_zindex *ix) {
  if (ix == NULL)
    return;
  free(ix->grids);
  free(ix->refs);
  free(ix->ent);
  free(ix->xy);
  free(ix->ids);
  free(ix);
}

/* ---- build: helpers ------------------------------------------------------ */

/* Makes room for need elements of size bytes in the array *pp (a pointer to
 * any object pointer) of capacity *cap. HV_OK or HV_ENOMEM. */
static int reserve(void *pp, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return HV_OK;
  size_t c = *cap ? *cap : 16;
  while (c < need) {
    if (c > SIZE_MAX / 2 / size)
      return HV_ENOMEM;
    c *= 2;
  }
  void *p;
  memcpy(&p, pp, sizeof p);
  void *q = realloc(p, c * size);
  if (q == NULL)
    return HV_ENOMEM;
  memcpy(pp, &q, sizeof q);
  *cap = c;
  return HV_OK;
}

/* Shrinks an array to n elements (keeps it when realloc fails). */
static void shrink(void *pp, size_t n, size_t size) {
  void *p;
  memcpy(&p, pp, sizeof p);
  if (p == NULL || n == 0)
    return;
  void *q = realloc(p, n * size);
  if (q != NULL)
    memcpy(pp, &q, sizeof q);
}

/* A run of consecutive edges of one ring, start .. start + len - 1, and
 * whether the edge before it (fs) and after it (fe) are in S. */
struct brun {
  uint32_t start, len;
  uint8_t fs, fe;
};

/* One polygon in one cell: full (covers the cell), or crossing with base
 * and runs runs[run0 .. run0 + nruns - 1] of its level. Also the problems a
 * grid is built from (cell unused). */
struct brec {
  uint32_t cell, poly, nruns;
  uint8_t full, base;
  size_t run0;
};

/* An edge of E falling in a cell; ps / pe: the edge starts / ends a run of
 * its parent whose neighbour there is in the parent's S. */
struct bitem {
  uint32_t cell, edge;
  uint8_t ps, pe;
};

/* The cells of a grid being built: the rectangles B of column c, row j are
 * [xl[c], xh[c]] x [yl[j], yh[j]], nondecreasing in c and j. */
struct bgeom {
  uint32_t nx, ny;
  double *xl, *xh, *yl, *yh;
};

struct bld {
  struct hv_zindex *ix;
  size_t cgrids, crefs, cent;
  const uint32_t *ring_of; /* per vertex: its ring */
  const uint32_t *ring_lo; /* per ring: first vertex */
  const uint32_t *ring_hi; /* per ring: closing vertex (= first) */
  const double *pbox;      /* per polygon: minx miny maxx maxy */
  uint32_t *mark;          /* per edge: stamp when in the parent's E */
  uint32_t stamp;
  double mabs;      /* least margin, from the coordinates' magnitude */
  size_t max_cells; /* no refinement beyond this many cells in all */
  /* scratch for one polygon in one grid */
  struct bitem *items, *sorted;
  size_t citems, csorted;
  uint32_t *count;
  size_t ccount;
  uint8_t *diff;
  size_t cdiff;
  uint8_t *rowpar;
  size_t crowpar;
  /* full-only leaves already written, for sharing: ent offset + 1 */
  uint32_t *htab;
  size_t hcap, hn;
};

static uint32_t prev_edge(const struct bld *b, uint32_t k) {
  uint32_t r = b->ring_of[k];
  return k == b->ring_lo[r] ? b->ring_hi[r] - 1 : k - 1;
}

static uint32_t next_edge(const struct bld *b, uint32_t k) {
  uint32_t r = b->ring_of[k];
  return k + 1 == b->ring_hi[r] ? b->ring_lo[r] : k + 1;
}

/* First i < n with a[i] >= v (a nondecreasing), n when none. */
static uint32_t first_ge(const double *a, uint32_t n, double v) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (a[mid] >= v)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Last i < n with a[i] <= v (a nondecreasing), -1 when none. */
static int64_t last_le(const double *a, uint32_t n, double v) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (a[mid] <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (int64_t)lo - 1;
}

/* The x of the segment (x1, y1) - (x2, y2) at height y (y1 != y2). */
static double x_at(double x1, double y1, double x2, double y2, double y) {
  if (y == y1)
    return x1;
  if (y == y2)
    return x2;
  return x1 + (x2 - x1) * ((y - y1) / (y2 - y1));
}

/*
 * Classifies edge k against the cells of row j (which its y range must
 * meet): the edge is in E for columns *c0 .. *c1, in S (right of B over the
 * row) for columns < *c0, and left of B for columns > *c1. The part of the
 * edge within the row is computed in floating point, so the decisions keep
 * a tolerance of 16 eps of the coordinates: a wrong guess only puts an edge
 * in E, which is always correct.
 */
static void edge_cols(const struct bld *b, const struct bgeom *g, uint32_t k,
                      uint32_t j, uint32_t *c0, int64_t *c1) {
  const double *v = b->ix->xy + 2 * (size_t)k;
  double x1 = v[0], y1 = v[1], x2 = v[2], y2 = v[3];
  double ylo = fmin(y1, y2), yhi = fmax(y1, y2);
  double ax = fmin(x1, x2), bx = fmax(x1, x2), tol = 0;
  if (y1 != y2 && (ylo < g->yl[j] || yhi > g->yh[j])) {
    double xa = x_at(x1, y1, x2, y2, fmax(ylo, g->yl[j]));
    double xb = x_at(x1, y1, x2, y2, fmin(yhi, g->yh[j]));
    ax = fmax(ax, fmin(xa, xb));
    bx = fmin(bx, fmax(xa, xb));
    tol = 16 * DBL_EPSILON * (fabs(x1) + fabs(x2) + fabs(x2 - x1));
  }
  *c0 = first_ge(g->xh, g->nx, ax - tol);
  *c1 = last_le(g->xl, g->nx, bx + tol);
}

/* Whether edge f, the neighbour of a run of E in cell (j, c), is in that
 * cell's S. When f is not in the parent's E, parent_s says whether it was
 * in the parent's S (S stays S in a child). */
static int in_s(const struct bld *b, const struct bgeom *g, uint32_t f,
                int parent_s, uint32_t j, uint32_t c) {
  if (b->mark[f] != b->stamp)
    return parent_s;
  const double *v = b->ix->xy + 2 * (size_t)f;
  if (fmin(v[1], v[3]) > g->yh[j] || fmax(v[1], v[3]) < g->yl[j])
    return 0;
  uint32_t c0;
  int64_t c1;
  edge_cols(b, g, f, j, &c0, &c1);
  return c < c0;
}

/* ---- build: one polygon in one grid -------------------------------------- */

struct recvec {
  struct brec *v;
  size_t n, cap;
};

struct runvec {
  struct brun *v;
  size_t n, cap;
};

static int push_rec(struct recvec *rv, struct brec r) {
  if (reserve(&rv->v, &rv->cap, rv->n + 1, sizeof *rv->v) != HV_OK)
    return HV_ENOMEM;
  rv->v[rv->n++] = r;
  return HV_OK;
}

/*
 * Adds to recs (and runs) the cells of grid g that polygon problem p (with
 * its runs in pruns) covers or crosses. root: p is a whole polygon and only
 * the cells over its envelope are looked at; otherwise p is one polygon in
 * the parent cell and every cell of g is.
 */
static int do_problem(struct bld *b, const struct bgeom *g,
                      const struct brec *p, const struct brun *pruns, int root,
                      struct recvec *recs, struct runvec *runs) {
  uint32_t wr0 = 0, wr1 = g->ny - 1, wc0 = 0, wc1 = g->nx - 1;
  if (root) {
    const double *bb = b->pbox + 4 * (size_t)p->poly;
    int64_t r1 = last_le(g->yl, g->ny, bb[3]),
            c1 = last_le(g->xl, g->nx, bb[2]);
    wr0 = first_ge(g->yh, g->ny, bb[1]);
    wc0 = first_ge(g->xh, g->nx, bb[0]);
    if (r1 < (int64_t)wr0 || c1 < (int64_t)wc0)
      return HV_OK;
    wr1 = (uint32_t)r1;
    wc1 = (uint32_t)c1;
  }
  uint32_t wrows = wr1 - wr0 + 1, wcols = wc1 - wc0 + 1;
  if (p->full) {
    for (uint32_t j = wr0; j <= wr1; j++)
      for (uint32_t c = wc0; c <= wc1; c++) {
        struct brec r = {j * g->nx + c, p->poly, 0, 1, 0, 0};
        if (push_rec(recs, r) != HV_OK)
          return HV_ENOMEM;
      }
    return HV_OK;
  }
  if (++b->stamp == 0) {
    memset(b->mark, 0, b->ix->nvert * sizeof *b->mark);
    b->stamp = 1;
  }
  const struct brun *pr = pruns + p->run0;
  for (uint32_t r = 0; r < p->nruns; r++)
    for (uint32_t k = pr[r].start; k < pr[r].start + pr[r].len; k++)
      b->mark[k] = b->stamp;
  const double *xy = b->ix->xy;

  /* The parity of the parent's S at the bottom of each row. */
  if (reserve(&b->rowpar, &b->crowpar, (size_t)wrows + 1, 1) != HV_OK)
    return HV_ENOMEM;
  memset(b->rowpar, 0, (size_t)wrows + 1);
  for (uint32_t r = 0; r < p->nruns; r++) {
    for (int end = 0; end < 2; end++) {
      if (!(end ? pr[r].fe : pr[r].fs))
        continue;
      double vy = xy[2 * (size_t)(pr[r].start + (end ? pr[r].len : 0)) + 1];
      uint32_t j = first_ge(g->yl + wr0, wrows, vy);
      b->rowpar[j] ^= 1;
    }
  }
  for (uint32_t j = 0, par = p->base; j < wrows; j++) {
    par ^= b->rowpar[j];
    b->rowpar[j] = (uint8_t)par;
  }

  /* Each edge of E into the cells where it stays in E; its S part into the
   * row's parity differences. */
  size_t dsize = (size_t)wrows * (wcols + 1);
  if (reserve(&b->diff, &b->cdiff, dsize, 1) != HV_OK)
    return HV_ENOMEM;
  memset(b->diff, 0, dsize);
  size_t ni = 0;
  for (uint32_t r = 0; r < p->nruns; r++) {
    uint32_t last = pr[r].start + pr[r].len - 1;
    for (uint32_t k = pr[r].start; k <= last; k++) {
      const double *v = xy + 2 * (size_t)k;
      double ylo = fmin(v[1], v[3]), yhi = fmax(v[1], v[3]);
      uint32_t j0 = first_ge(g->yh, g->ny, ylo);
      int64_t j1 = last_le(g->yl, g->ny, yhi);
      if (j0 < wr0)
        j0 = wr0;
      if (j1 > (int64_t)wr1)
        j1 = wr1;
      for (int64_t jj = j0; jj <= j1; jj++) {
        uint32_t j = (uint32_t)jj, c0;
        int64_t c1;
        edge_cols(b, g, k, j, &c0, &c1);
        uint32_t e0 = c0 > wc0 ? c0 : wc0;
        int64_t e1 = c1 < (int64_t)wc1 ? c1 : (int64_t)wc1;
        if (e1 >= (int64_t)e0 &&
            reserve(&b->items, &b->citems, ni + (size_t)(e1 - e0 + 1),
                    sizeof *b->items) != HV_OK)
          return HV_ENOMEM;
        for (int64_t c = e0; c <= e1; c++) {
          struct bitem it = {(j - wr0) * wcols + ((uint32_t)c - wc0), k,
                             (uint8_t)(k == pr[r].start && pr[r].fs),
                             (uint8_t)(k == last && pr[r].fe)};
          b->items[ni++] = it;
        }
        /* In S for columns < c0: counts at the row's bottom if it spans
         * it. */
        uint32_t cs = c0 < wc1 + 1 ? c0 : wc1 + 1;
        if (ylo <= g->yl[j] && g->yl[j] < yhi && cs > wc0) {
          uint8_t *d = b->diff + (size_t)(j - wr0) * (wcols + 1);
          d[0] ^= 1;
          d[cs - wc0] ^= 1;
        }
      }
    }
  }

  /* Items by cell, keeping edge order (counting sort, stable). */
  size_t ncells = (size_t)wrows * wcols;
  if (reserve(&b->count, &b->ccount, ncells + 1, sizeof *b->count) != HV_OK ||
      reserve(&b->sorted, &b->csorted, ni, sizeof *b->sorted) != HV_OK)
    return HV_ENOMEM;
  memset(b->count, 0, (ncells + 1) * sizeof *b->count);
  for (size_t i = 0; i < ni; i++)
    b->count[b->items[i].cell + 1]++;
  for (size_t i = 0; i < ncells; i++)
    b->count[i + 1] += b->count[i];
  for (size_t i = 0; i < ni; i++)
    b->sorted[b->count[b->items[i].cell]++] = b->items[i];
  /* count[i] is now the end of cell i, count[i - 1] its start. */

  size_t at = 0;
  for (uint32_t jr = 0; jr < wrows; jr++) {
    uint32_t j = wr0 + jr;
    unsigned par = b->rowpar[jr];
    const uint8_t *d = b->diff + (size_t)jr * (wcols + 1);
    for (uint32_t cr = 0; cr < wcols; cr++) {
      uint32_t c = wc0 + cr;
      par ^= d[cr];
      size_t end = b->count[(size_t)jr * wcols + cr];
      struct brec rec = {j * g->nx + c, p->poly, 0, 0, 0, runs->n};
      if (at == end) {
        if (par) {
          rec.full = 1;
          if (push_rec(recs, rec) != HV_OK)
            return HV_ENOMEM;
        }
        continue;
      }
      unsigned flips = 0;
      while (at < end) {
        size_t first = at;
        uint32_t s = b->sorted[at].edge, t = s;
        while (at + 1 < end && b->sorted[at + 1].edge == t + 1) {
          at++;
          t++;
        }
        struct brun run = {s, t - s + 1, 0, 0};
        run.fs =
            (uint8_t)in_s(b, g, prev_edge(b, s), b->sorted[first].ps, j, c);
        run.fe = (uint8_t)in_s(b, g, next_edge(b, t), b->sorted[at].pe, j, c);
        if (run.fs && xy[2 * (size_t)s + 1] <= g->yl[j])
          flips ^= 1;
        if (run.fe && xy[2 * (size_t)(t + 1) + 1] <= g->yl[j])
          flips ^= 1;
        if (reserve(&runs->v, &runs->cap, runs->n + 1, sizeof *runs->v) !=
            HV_OK)
          return HV_ENOMEM;
        runs->v[runs->n++] = run;
        rec.nruns++;
        at++;
      }
      rec.base = (uint8_t)(par ^ flips);
      if (push_rec(recs, rec) != HV_OK)
        return HV_ENOMEM;
    }
  }
  return HV_OK;
}

/* ---- build: leaves ------------------------------------------------------- */

static uint32_t hash_words(const uint32_t *w, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= w[i];
    h *= 16777619u;
  }
  return h;
}

/* The offset of a leaf equal to ent[off .. off + n] already written, or
 * writes it (it was just appended at off) into the table; returns the offset
 * to use. Any failure just leaves the leaf unshared. */
static size_t share_leaf(struct bld *b, size_t off, size_t n) {
  struct hv_zindex *ix = b->ix;
  if (b->hn * 2 >= b->hcap) {
    size_t cap = b->hcap ? 2 * b->hcap : 1024;
    uint32_t *t = calloc(cap, sizeof *t);
    if (t == NULL)
      return off;
    for (size_t i = 0; i < b->hcap; i++) {
      if (b->htab[i] == 0)
        continue;
      const uint32_t *w = ix->ent + b->htab[i] - 1;
      size_t h = hash_words(w, (size_t)w[0] + 1) & (cap - 1);
      while (t[h] != 0)
        h = (h + 1) & (cap - 1);
      t[h] = b->htab[i];
    }
    free(b->htab);
    b->htab = t;
    b->hcap = cap;
  }
  const uint32_t *w = ix->ent + off;
  size_t h = hash_words(w, n + 1) & (b->hcap - 1);
  while (b->htab[h] != 0) {
    const uint32_t *o = ix->ent + b->htab[h] - 1;
    if (o[0] == w[0] && memcmp(o + 1, w + 1, n * sizeof *w) == 0) {
      ix->nent = off; /* drop the copy */
      return b->htab[h] - 1;
    }
    h = (h + 1) & (b->hcap - 1);
  }
  b->htab[h] = (uint32_t)off + 1;
  b->hn++;
  return off;
}

/* Writes the leaf of the n records r (one cell, input order) and sets
 * *ref to it. */
static int put_leaf(struct bld *b, const struct brec *r, size_t n,
                    const struct brun *runs, uint32_t *ref) {
  struct hv_zindex *ix = b->ix;
  if (n == 1 && r[0].full) {
    *ref = REF_FULL | r[0].poly;
    return HV_OK;
  }
  size_t words = 1;
  int all_full = 1;
  for (size_t i = 0; i < n; i++) {
    words += r[i].full ? 1 : 2 + 2 * (size_t)r[i].nruns;
    all_full &= r[i].full;
  }
  if (ix->nent + words > REF_VAL)
    return HV_ENOMEM;
  if (reserve(&ix->ent, &b->cent, ix->nent + words, sizeof *ix->ent) != HV_OK)
    return HV_ENOMEM;
  size_t off = ix->nent;
  uint32_t *w = ix->ent + off;
  *w++ = (uint32_t)n;
  for (size_t i = 0; i < n; i++) {
    if (r[i].full) {
      *w++ = r[i].poly;
      continue;
    }
    *w++ = r[i].poly | ENT_CROSS;
    *w++ = r[i].base | r[i].nruns << 1;
    ix->crossing_entries++;
    for (uint32_t k = 0; k < r[i].nruns; k++) {
      const struct brun *u = runs + r[i].run0 + k;
      *w++ = u->start;
      *w++ = u->len | (u->fs ? RUN_FS : 0) | (u->fe ? RUN_FE : 0);
      ix->tested_edges += u->len;
    }
  }
  ix->nent = off + words;
  if (all_full)
    off = share_leaf(b, off, n);
  *ref = (uint32_t)off;
  return HV_OK;
}

/* ---- build: grids -------------------------------------------------------- */

/* Fills g for an nx x ny grid of cells dx x dy from (x0, y0), inside the
 * parent rectangle B = pb[0..3] (xl yl xh yh). */
static int bgeom_init(struct bgeom *g, const double *pb, double x0, double y0,
                      double dx, double dy, uint32_t nx, uint32_t ny,
                      double mabs) {
  g->nx = nx;
  g->ny = ny;
  g->xl = malloc(2 * ((size_t)nx + ny) * sizeof *g->xl);
  if (g->xl == NULL)
    return HV_ENOMEM;
  g->xh = g->xl + nx;
  g->yl = g->xh + nx;
  g->yh = g->yl + ny;
  double mx = fmax(ZI_REL_MARGIN * dx, mabs);
  double my = fmax(ZI_REL_MARGIN * dy, mabs);
  for (uint32_t c = 0; c < nx; c++) {
    g->xl[c] = c == 0 ? pb[0] : fmax(pb[0], x0 + c * dx - mx);
    g->xh[c] = c == nx - 1 ? pb[2] : fmin(pb[2], x0 + (c + 1) * dx + mx);
  }
  for (uint32_t j = 0; j < ny; j++) {
    g->yl[j] = j == 0 ? pb[1] : fmax(pb[1], y0 + j * dy - my);
    g->yh[j] = j == ny - 1 ? pb[3] : fmin(pb[3], y0 + (j + 1) * dy + my);
  }
  return HV_OK;
}

/*
 * Builds a grid of nx x ny cells dx x dy from (x0, y0) inside the parent's
 * rectangle pb, for the problems probs[0..nprobs-1] (input order; their runs
 * in pruns), refining its cells as needed. root: the top grid. depth: levels
 * above it. The grid's index in ix->grids goes into *gi.
 */
static int build_grid(struct bld *b, const double *pb, double x0, double y0,
                      double dx, double dy, uint32_t nx, uint32_t ny,
                      const struct brec *probs, size_t nprobs,
                      const struct brun *pruns, int root, unsigned depth,
                      uint32_t *gi) {
  struct hv_zindex *ix = b->ix;
  size_t ncells = (size_t)nx * ny;
  if (ix->ngrids >= REF_VAL || ix->nrefs + ncells > UINT32_MAX ||
      reserve(&ix->grids, &b->cgrids, ix->ngrids + 1, sizeof *ix->grids) !=
          HV_OK ||
      reserve(&ix->refs, &b->crefs, ix->nrefs + ncells, sizeof *ix->refs) !=
          HV_OK)
    return HV_ENOMEM;
  *gi = (uint32_t)ix->ngrids++;
  size_t first = ix->nrefs;
  ix->nrefs += ncells;
  struct zgrid zg = {x0, y0, 1 / dx, 1 / dy, nx, ny, (uint32_t)first};
  ix->grids[*gi] = zg;
  if (depth > ix->max_depth)
    ix->max_depth = depth;

  struct bgeom g;
  struct recvec recs = {0};
  struct runvec runs = {0};
  struct brec *srecs = NULL;
  uint32_t *start = NULL;
  int rc = bgeom_init(&g, pb, x0, y0, dx, dy, nx, ny, b->mabs);
  if (rc != HV_OK)
    return rc;
  for (size_t i = 0; i < nprobs && rc == HV_OK; i++)
    rc = do_problem(b, &g, probs + i, pruns, root, &recs, &runs);
  if (rc != HV_OK)
    goto done;

  /* Records by cell, input order within a cell (counting sort, stable). */
  start = calloc(ncells + 1, sizeof *start);
  srecs = malloc((recs.n ? recs.n : 1) * sizeof *srecs);
  if (start == NULL || srecs == NULL) {
    rc = HV_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < recs.n; i++)
    start[recs.v[i].cell + 1]++;
  for (size_t i = 0; i < ncells; i++)
    start[i + 1] += start[i];
  for (size_t i = 0; i < recs.n; i++)
    srecs[start[recs.v[i].cell]++] = recs.v[i];
  free(recs.v);
  recs.v = NULL;

  for (size_t cell = 0, at = 0; cell < ncells; cell++) {
    size_t end = start[cell], n = end - at;
    const struct brec *r = srecs + at;
    at = end;
    uint32_t ref = REF_EMPTY;
    if (n > 0) {
      size_t work = 0, ncross = 0;
      for (size_t i = 0; i < n; i++) {
        ncross += !r[i].full;
        for (uint32_t k = 0; k < r[i].nruns; k++)
          work += runs.v[r[i].run0 + k].len;
      }
      uint32_t c = (uint32_t)(cell % nx), j = (uint32_t)(cell / nx);
      uint32_t k = (uint32_t)((work + ZI_LEAF_EDGES - 1) / ZI_LEAF_EDGES);
      uint32_t kmax = (uint32_t)(work / (ncross ? ncross : 1) / 2 + 1);
      k = k > kmax ? kmax : k;
      k = k < 2 ? 2 : k > ZI_MAX_K ? ZI_MAX_K : k;
      /* Refine when a query would test many edges, and many per polygon:
       * polygons sharing a boundary (copies, neighbours) cannot be told
       * apart by smaller cells, only their edges thinned out. */
      if (work > ZI_LEAF_EDGES && work > ZI_ENTRY_EDGES * ncross &&
          depth < ZI_MAX_DEPTH && ix->nrefs < b->max_cells &&
          dx / k >= 1e4 * b->mabs && dy / k >= 1e4 * b->mabs) {
        double cb[4] = {g.xl[c], g.yl[j], g.xh[c], g.yh[j]};
        uint32_t child;
        rc = build_grid(b, cb, x0 + c * dx, y0 + j * dy, dx / k, dy / k, k, k,
                        r, n, runs.v, 0, depth + 1, &child);
        ref = REF_GRID | child;
      } else {
        rc = put_leaf(b, r, n, runs.v, &ref);
      }
      if (rc != HV_OK)
        goto done;
    }
    ix->refs[first + cell] = ref;
  }
done:
  free(g.xl);
  free(recs.v);
  free(runs.v);
  free(srecs);
  free(start);
  return rc;
}

/* ---- build: reading the geometries --------------------------------------- */

struct rings {
  uint32_t *lo, *hi, *poly;
  size_t n, cap;
};

/* Copies one ring (borrowed) of geometry gi into ix->xy without repeated
 * points, checking it. */
static int read_ring(GEOSContextHandle_t h, const GEOSGeometry *ring, size_t gi,
                     size_t part, size_t ri, struct hv_zindex *ix, size_t *cxy,
                     struct rings *rs, double *box, struct hv_error *err) {
  const char *what = ri == 0 ? "exterior ring" : "hole";
  const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
  unsigned size = 0;
  if (cs == NULL || GEOSCoordSeq_getSize_r(h, cs, &size) == 0)
    return hv_error_set(err, HV_EGEOMETRY,
                        "geometry %zu: polygon %zu: %s %zu: cannot be read", gi,
                        part, what, ri);
  if (size == 0)
    return hv_error_set(err, HV_EGEOMETRY,
                        "geometry %zu: polygon %zu: %s %zu is empty", gi, part,
                        what, ri);
  if (ix->nvert + size > (1u << 31))
    return hv_error_set(err, HV_EINVAL, "more than 2^31 vertices in all");
  if (reserve(&ix->xy, cxy, 2 * (ix->nvert + size), sizeof *ix->xy) != HV_OK)
    return HV_ENOMEM;
  size_t lo = ix->nvert, m = 0;
  double *v = ix->xy + 2 * lo;
  double fx = 0, fy = 0;
  for (unsigned i = 0; i < size; i++) {
    double x, y;
    if (GEOSCoordSeq_getXY_r(h, cs, i, &x, &y) == 0)
      return hv_error_set(err, HV_EGEOMETRY,
                          "geometry %zu: polygon %zu: %s %zu: point %u "
                          "cannot be read",
                          gi, part, what, ri, i);
    if (!isfinite(x) || !isfinite(y))
      return hv_error_set(err, HV_EGEOMETRY,
                          "geometry %zu: polygon %zu: %s %zu: point %u is "
                          "not finite",
                          gi, part, what, ri, i);
    if (fabs(x) > 1e150 || fabs(y) > 1e150)
      return hv_error_set(err, HV_EGEOMETRY,
                          "geometry %zu: polygon %zu: %s %zu: point %u is "
                          "out of range (a coordinate beyond 1e150)",
                          gi, part, what, ri, i);
    if (i == 0) {
      fx = x;
      fy = y;
    }
    if (m > 0 && v[2 * m - 2] == x && v[2 * m - 1] == y)
      continue;
    v[2 * m] = x;
    v[2 * m + 1] = y;
    m++;
  }
  double lx = v[2 * m - 2], ly = v[2 * m - 1];
  if (lx != fx || ly != fy)
    return hv_error_set(err, HV_EGEOMETRY,
                        "geometry %zu: polygon %zu: %s %zu is not closed", gi,
                        part, what, ri);
  if (m < 4)
    return hv_error_set(err, HV_EGEOMETRY,
                        "geometry %zu: polygon %zu: %s %zu has fewer than 3 "
                        "distinct points",
                        gi, part, what, ri);
  int flat = 1;
  for (size_t i = 2; i + 1 < m && flat; i++)
    flat = orient(v[0], v[1], v[2], v[3], v[2 * i], v[2 * i + 1]) == 0;
  if (flat)
    return hv_error_set(err, HV_EGEOMETRY,
                        "geometry %zu: polygon %zu: %s %zu has all its points "
                        "on one line (zero area)",
                        gi, part, what, ri);
  for (size_t i = 0; i < m; i++) {
    box[0] = fmin(box[0], v[2 * i]);
    box[1] = fmin(box[1], v[2 * i + 1]);
    box[2] = fmax(box[2], v[2 * i]);
    box[3] = fmax(box[3], v[2 * i + 1]);
  }
  if (reserve(&rs->lo, &rs->cap, rs->n + 1, sizeof *rs->lo) != HV_OK)
    return HV_ENOMEM;
  /* lo, hi and poly share one capacity: grow the other two alike. */
  uint32_t *hi = realloc(rs->hi, rs->cap * sizeof *hi);
  if (hi == NULL)
    return HV_ENOMEM;
  rs->hi = hi;
  uint32_t *poly = realloc(rs->poly, rs->cap * sizeof *poly);
  if (poly == NULL)
    return HV_ENOMEM;
  rs->poly = poly;
  rs->lo[rs->n] = (uint32_t)lo;
  rs->hi[rs->n] = (uint32_t)(lo + m - 1);
  rs->poly[rs->n] = (uint32_t)gi;
  rs->n++;
  ix->nvert += m;
  ix->nedges += m - 1;
  return HV_OK;
}

/* Reads geometry gi (borrowed): its rings into ix and rs, its envelope into
 * box. */
static int read_geometry(GEOSContextHandle_t h, const GEOSGeometry *g,
                         size_t gi, struct hv_zindex *ix, size_t *cxy,
                         struct rings *rs, double *box, struct hv_error *err) {
  if (g == NULL)
    return hv_error_set(err, HV_EGEOMETRY, "geometry %zu is NULL", gi);
  int type = GEOSGeomTypeId_r(h, g);
  if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
    char *name = GEOSGeomType_r(h, g);
    hv_error_set(err, HV_EGEOMETRY,
                 "geometry %zu is a %s, not a Polygon or MultiPolygon", gi,
                 name ? name : "geometry of unknown type");
    GEOSFree_r(h, name);
    return HV_EGEOMETRY;
  }
  if (GEOSisEmpty_r(h, g) != 0)
    return hv_error_set(err, HV_EGEOMETRY, "geometry %zu is empty", gi);
  int nparts = type == GEOS_POLYGON ? 1 : GEOSGetNumGeometries_r(h, g);
  box[0] = box[1] = INFINITY;
  box[2] = box[3] = -INFINITY;
  for (int part = 0; part < nparts; part++) {
    const GEOSGeometry *pg =
        type == GEOS_POLYGON ? g : GEOSGetGeometryN_r(h, g, part);
    if (pg == NULL || GEOSisEmpty_r(h, pg) != 0)
      return hv_error_set(err, HV_EGEOMETRY,
                          "geometry %zu: polygon %d is empty", gi, part);
    int nholes = GEOSGetNumInteriorRings_r(h, pg);
    if (nholes < 0)
      return hv_error_set(err, HV_EGEOMETRY,
                          "geometry %zu: polygon %d: cannot be read", gi, part);
    for (int ri = 0; ri <= nholes; ri++) {
      const GEOSGeometry *ring = ri == 0
                                     ? GEOSGetExteriorRing_r(h, pg)
                                     : GEOSGetInteriorRingN_r(h, pg, ri - 1);
      if (ring == NULL)
        return hv_error_set(err, HV_EGEOMETRY,
                            "geometry %zu: polygon %d: ring %d: cannot be read",
                            gi, part, ri);
      int rc = read_ring(h, ring, gi, (size_t)part, (size_t)ri, ix, cxy, rs,
                         box, err);
      if (rc != HV_OK)
        return rc;
    }
  }
  return HV_OK;
}

/* ---- build: the whole index ---------------------------------------------- */

int hv_zindex_new(struct hv_geo *geo, const GEOSGeometry *const *polys,
                  const uint32_t *ids, size_t n, struct hv_zindex **out,
                  struct hv_error *err) {
  if (out != NULL)
    *out = NULL;
  if (geo == NULL || out == NULL || (polys == NULL && n > 0))
    return hv_error_set(err, HV_EINVAL,
                        "hv_zindex_new: geo, out and polys must be given");
  if (n > REF_VAL)
    return hv_error_set(err, HV_EINVAL, "more than 2^30 geometries");
  GEOSContextHandle_t h = hv_geo_geos(geo);
  struct hv_zindex *ix = calloc(1, sizeof *ix);
  struct rings rs = {0};
  struct bld b = {0};
  double *pbox = NULL;
  uint32_t *ring_of = NULL;
  struct brec *probs = NULL;
  struct brun *runs = NULL;
  size_t cxy = 0;
  int rc = HV_ENOMEM;
  if (ix == NULL)
    goto fail;
  ix->minx = ix->miny = INFINITY;
  ix->maxx = ix->maxy = -INFINITY;
  ix->npoly = n;
  ix->ids = malloc((n ? n : 1) * sizeof *ix->ids);
  pbox = malloc((n ? n : 1) * 4 * sizeof *pbox);
  if (ix->ids == NULL || pbox == NULL)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    ix->ids[i] = ids ? ids[i] : (uint32_t)i;
    rc = read_geometry(h, polys[i], i, ix, &cxy, &rs, pbox + 4 * i, err);
    if (rc != HV_OK) {
      if (rc == HV_ENOMEM)
        hv_error_set(err, rc, "out of memory reading geometry %zu", i);
      goto fail;
    }
    ix->minx = fmin(ix->minx, pbox[4 * i]);
    ix->miny = fmin(ix->miny, pbox[4 * i + 1]);
    ix->maxx = fmax(ix->maxx, pbox[4 * i + 2]);
    ix->maxy = fmax(ix->maxy, pbox[4 * i + 3]);
  }
  ix->nrings = rs.n;
  rc = HV_ENOMEM;
  if (n == 0) {
    free(pbox);
    *out = ix;
    return HV_OK;
  }

  /* Every vertex knows its ring; every polygon is one problem, its rings
   * whole runs (in E: the top grid looks at every edge). */
  ring_of = malloc(ix->nvert * sizeof *ring_of);
  probs = malloc(n * sizeof *probs);
  runs = malloc(rs.n * sizeof *runs);
  b.mark = calloc(ix->nvert, sizeof *b.mark);
  if (ring_of == NULL || probs == NULL || runs == NULL || b.mark == NULL)
    goto fail;
  for (size_t r = 0, p = 0; r < rs.n; r++) {
    for (uint32_t k = rs.lo[r]; k <= rs.hi[r]; k++)
      ring_of[k] = (uint32_t)r;
    struct brun run = {rs.lo[r], rs.hi[r] - rs.lo[r], 0, 0};
    runs[r] = run;
    if (r == 0 || rs.poly[r] != rs.poly[r - 1]) {
      struct brec pr = {0, rs.poly[r], 0, 0, 0, r};
      probs[p++] = pr;
    }
    probs[rs.poly[r]].nruns++;
  }
  b.ix = ix;
  b.cgrids = b.crefs = b.cent = 0;
  b.ring_of = ring_of;
  b.ring_lo = rs.lo;
  b.ring_hi = rs.hi;
  b.pbox = pbox;
  double span = (ix->maxx - ix->minx) + (ix->maxy - ix->miny);
  double mag = fmax(fmax(fabs(ix->minx), fabs(ix->maxx)),
                    fmax(fabs(ix->miny), fabs(ix->maxy)));
  b.mabs = 1e-12 * (mag + span + 1);
  b.max_cells = ix->nedges * ZI_CELLS_PER_EDGE;
  if (b.max_cells < (1u << 20))
    b.max_cells = 1u << 20;

  /* The top grid: about edges * ZI_TOP_PER_EDGE square-ish cells. */
  double w = ix->maxx - ix->minx, hgt = ix->maxy - ix->miny;
  double target = (double)ix->nedges * ZI_TOP_PER_EDGE;
  target = target < 1 ? 1 : target > ZI_TOP_MAX ? ZI_TOP_MAX : target;
  double fx = sqrt(target * w / hgt);
  uint32_t nx = fx < 1 ? 1 : fx > 4096 ? 4096 : (uint32_t)fx;
  double fy = target / nx;
  uint32_t ny = fy < 1 ? 1 : fy > 4096 ? 4096 : (uint32_t)fy;
  double mx = fmax(ZI_REL_MARGIN * w, b.mabs);
  double my = fmax(ZI_REL_MARGIN * hgt, b.mabs);
  double pb[4] = {ix->minx - mx, ix->miny - my, ix->maxx + mx, ix->maxy + my};
  uint32_t top;
  rc = build_grid(&b, pb, ix->minx, ix->miny, w / nx, hgt / ny, nx, ny, probs,
                  n, runs, 1, 0, &top);
  if (rc != HV_OK) {
    hv_error_set(err, rc, "out of memory building the index");
    goto fail;
  }
  shrink(&ix->grids, ix->ngrids, sizeof *ix->grids);
  shrink(&ix->refs, ix->nrefs, sizeof *ix->refs);
  shrink(&ix->ent, ix->nent, sizeof *ix->ent);
  shrink(&ix->xy, 2 * ix->nvert, sizeof *ix->xy);
  *out = ix;
  ix = NULL;
  rc = HV_OK;
fail:
  if (rc == HV_ENOMEM && err != NULL && err->code != HV_ENOMEM)
    hv_error_set(err, rc, "out of memory building the index");
  hv_zindex_free(ix);
  free(rs.lo);
  free(rs.hi);
  free(rs.poly);
  free(pbox);
  free(ring_of);
  free(probs);
  free(runs);
  free(b.mark);
  free(b.items);
  free(b.sorted);
  free(b.count);
  free(b.diff);
  free(b.rowpar);
  free(b.htab);
  return rc;
}
