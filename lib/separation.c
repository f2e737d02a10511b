/*
 * separation.c — predicted losses of separation between aircraft of
 * different parties (haven/separation.h), in one pass that puts to the pair
 * rule only the pairs whose reachable boxes meet.
 *
 * How a pass goes:
 * 1. Each state is checked and turned into a struct ac (what the rule
 *    reads: half-angle sines and cosines of the latitude, east and north
 *    velocity), and the aircraft are put in Z order of position so that
 *    neighbours lie close in memory (reorder()).
 * 2. The look-ahead is cut into 1 to 3 time slices, more where aircraft are
 *    dense (slices_for()). For each aircraft and slice, a box holds where it
 *    can be during the slice, grown on each side by half the minima plus a
 *    margin: in latitude degrees, in longitude degrees (converted with the
 *    range of cos(mean latitude) any partner could give) and in metres of
 *    altitude, stored as floats rounded outwards. A pair the rule reports
 *    has overlapping boxes on all three axes in some slice (the reasoning
 *    is above boxes_of()). A box that crosses the antimeridian gets a ghost
 *    copy shifted by 360 degrees; one wider than 180 degrees spans every
 *    longitude.
 * 3. The boxes are binned into a grid of cells over (slice, latitude,
 *    altitude), each cell's boxes in order of their west edge (radix sort).
 * 4. In each cell a sweep along longitude compares each box with the
 *    following ones until their west edge passes its east edge, testing
 *    latitude and altitude without branches, eight at a time (sweep_cell()).
 *    A pair that shares several cells is taken in one only: the cell at the
 *    low corner of the cells both cover. Pairs of different parties go to a
 *    cheap conservative filter (pair_may_conflict()), then to the rule
 *    (pair_test(), which calls pair_check()).
 * 5. The conflicts are sorted by (a, b) with a counting sort on a and an
 *    insertion sort on b, dropping duplicates (a pair met in two slices, or
 *    through ghosts).
 *
 * Invariants:
 * - pair_check() alone decides a conflict and computes its figures: it is
 *   the rule of separation.h, term by term, always with the lower state
 *   index as a. Everything else only chooses which pairs are asked and may
 *   only leave out pairs the rule would not report, so the result is the
 *   one of asking every pair, to the bit (tests/unit/test-separation.c
 *   checks it against an all-pairs oracle);
 * - pair_test() (same party: no; else pair_check() in index order) is the
 *   per-pair test of the pass and the whole of hv_separation_pair(), with
 *   the parameters made by rule_of() in both: so the two agree to the bit.
 *   The pass calls pair_test() rather than hv_separation_pair(), which
 *   would check and convert both states again (four trigonometric calls)
 *   for every candidate pair;
 * - the boxes and the filter are conservative: their margins cover rounding
 *   and the rule's 1e-6 floors (boxes_of(), pair_may_conflict());
 * - the result is sorted by (a, b), a < b, without duplicates, and nothing
 *   allocated here outlives the call except out->v.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "haven/separation.h"

#define RAD (M_PI / 180.0)      /* degrees to radians */
#define HALF_RAD (M_PI / 360.0) /* degrees to radians of half the angle */
/* Fixed part of the margins added to the boxes beyond half the minima,
 * metres (boxes_of()). */
#define MARGIN_H_M 1.0
#define MARGIN_V_M 1.0
/* Densities from which the look-ahead is cut into 2 and 3 time slices
 * (slices_for()). */
#define DENSE_2_SLICES 40.0
#define DENSE_3_SLICES 400.0
/* Grid cells are about CELL_FACTOR times the mean box (grid_choose()). */
#define CELL_FACTOR 2.0

struct hv_sep_params hv_sep_params_default(void) {
  struct hv_sep_params p = {
      .lookahead_s = 300.0, .h_sep_m = 5 * 1852.0, .v_sep_m = 1000 * 0.3048};
  return p;
}

void hv_conflicts_free(struct hv_conflicts *c) {
  if (c == NULL)
    return;
  free(c->v);
  c->v = NULL;
  c->n = c->cap = 0;
}

/* ---- the pair rule -------------------------------------------------------
 */

/* One aircraft as the pair rule reads it. */
struct ac {
  double lat, lon; /* degrees, as given */
  double ch, sh;   /* cos and sin of lat / 2 */
  double u, v;     /* east and north velocity, m/s */
  double alt, vs;  /* m, m/s */
  uint32_t party;
  uint32_t idx; /* index of the state */
};

/* The parameters as the pair rule uses them. */
struct rule {
  double t, h, h2, vsep;
  double pre_h2, pre_v; /* thresholds of pair_may_conflict() */
};

/* The rule of separation.h for a (own) and b (intruder), a < b: 1 and *c
 * filled when they are in conflict, 0 otherwise. Every operation is written
 * in the order the header gives, so that any implementation of the same
 * formulas in the same order (the test's oracle) gets the same bits. */
static int pair_check(const struct ac *a, const struct ac *b,
                      const struct rule *r, struct hv_conflict *c) {
  double dlon = b->lon - a->lon;
  if (dlon >= 180.0)
    dlon -= 360.0;
  else if (dlon < -180.0)
    dlon += 360.0;
  double cm = a->ch * b->ch - a->sh * b->sh; /* cos(mean latitude) */
  double dx = HV_SEP_EARTH_RADIUS_M * (dlon * RAD) * cm;
  double dy = HV_SEP_EARTH_RADIUS_M * ((b->lat - a->lat) * RAD);
  double du = b->u - a->u, dv = b->v - a->v;
  double w2 = du * du + dv * dv;
  if (w2 < 1e-6)
    w2 = 1e-6;
  double tcpa = -(du * dx + dv * dy) / w2;
  double dcpa2 = fabs(dx * dx + dy * dy - tcpa * tcpa * w2);
  if (!(dcpa2 < r->h2))
    return 0;
  double dth = sqrt(r->h2 - dcpa2) / sqrt(w2);
  double dz = b->alt - a->alt, dvs = b->vs - a->vs;
  double dvsc = fabs(dvs) < 1e-6 ? 1e-6 : dvs;
  double t1 = (dz + r->vsep) / -dvsc, t2 = (dz - r->vsep) / -dvsc;
  double tinv = t1 < t2 ? t1 : t2, toutv = t1 < t2 ? t2 : t1;
  double tinh = tcpa - dth, touth = tcpa + dth;
  double tin = tinv > tinh ? tinv : tinh;
  double tout = toutv < touth ? toutv : touth;
  if (!(tin <= tout && tout > 0.0 && tin < r->t))
    return 0;
  c->t_in_s = tin > 0.0 ? tin : 0.0;
  c->t_out_s = tout < r->t ? tout : r->t;
  c->t_cpa_s = tcpa;
  c->d_cpa_m = sqrt(dcpa2);
  c->dalt_cpa_m = fabs(dz + dvs * tcpa);
  return 1;
}

/*
 * A cheaper, conservative test run before pair_check(): 0 only for pairs
 * the rule would not report, 1 for the others (and for a few it would not).
 * No division, no square root. The rule reports a pair only if some t in
 * [0, T] is in both loss intervals, where |dz + dvs' t| <= vsep and
 * |(dx, dy) + (du, dv) t| <= h up to rounding (boxes_of() gives the details);
 * the floors of the rule (w2 and dvs raised to 1e-6) move these by at most
 * 3e-3 T and 2e-6 T metres. So it tests the smallest vertical and horizontal
 * distance over [0, T] against the minima grown by those amounts and a
 * relative 1e-6 (pre_v, pre_h2, set in hv_separation_detect()), which
 * rounding (relative 1e-15) cannot cross.
 */
static int pair_may_conflict(const struct ac *a, const struct ac *b,
                             const struct rule *r) {
  double dz = b->alt - a->alt, dz1 = dz + (b->vs - a->vs) * r->t;
  double vmin = (dz > 0) == (dz1 > 0) ? fmin(fabs(dz), fabs(dz1)) : 0.0;
  if (vmin > r->pre_v)
    return 0;
  double dlon = b->lon - a->lon;
  if (dlon >= 180.0)
    dlon -= 360.0;
  else if (dlon < -180.0)
    dlon += 360.0;
  double cm = a->ch * b->ch - a->sh * b->sh;
  double dx = HV_SEP_EARTH_RADIUS_M * (dlon * RAD) * cm;
  double dy = HV_SEP_EARTH_RADIUS_M * ((b->lat - a->lat) * RAD);
  double du = b->u - a->u, dv = b->v - a->v;
  double w2 = du * du + dv * dv, s = -(du * dx + dv * dy);
  double d2 = dx * dx + dy * dy;
  if (s <= 0.0) /* closest now */
    return d2 <= r->pre_h2;
  if (s >= w2 * r->t) { /* closest at T */
    double ex = dx + du * r->t, ey = dy + dv * r->t;
    return ex * ex + ey * ey <= r->pre_h2;
  }
  return d2 * w2 - s * s <= r->pre_h2 * w2; /* closest at s / w2 */
}

/* The per-pair test of both hv_separation_detect and hv_separation_pair:
 * the rule of separation.h for two aircraft taken in index order, the
 * lower index as own. 1 and *c filled (a and b too) when they are in
 * conflict; 0 when not, and always for aircraft of one party. */
static int pair_test(const struct ac *x, const struct ac *y,
                     const struct rule *r, struct hv_conflict *c) {
  if (x->party == y->party)
    return 0;
  const struct ac *lo = x->idx < y->idx ? x : y;
  const struct ac *hi = x->idx < y->idx ? y : x;
  if (!pair_check(lo, hi, r, c))
    return 0;
  c->a = lo->idx;
  c->b = hi->idx;
  return 1;
}

/* ---- checks --------------------------------------------------------------
 */

int hv_sep_params_check(const struct hv_sep_params *p, struct hv_error *err) {
  if (p == NULL)
    return hv_error_set(err, HV_EINVAL, "separation: parameters are NULL");
  if (!(p->lookahead_s > 0.0 && p->lookahead_s <= HV_SEP_MAX_LOOKAHEAD_S))
    return hv_error_set(err, HV_EINVAL,
                        "separation: lookahead_s %g is out of (0, %.0f]",
                        p->lookahead_s, HV_SEP_MAX_LOOKAHEAD_S);
  if (!(p->h_sep_m > 0.0 && p->h_sep_m <= HV_SEP_MAX_H_M))
    return hv_error_set(err, HV_EINVAL,
                        "separation: h_sep_m %g is out of (0, %.0f]",
                        p->h_sep_m, HV_SEP_MAX_H_M);
  if (!(p->v_sep_m > 0.0 && p->v_sep_m <= HV_SEP_MAX_V_M))
    return hv_error_set(err, HV_EINVAL,
                        "separation: v_sep_m %g is out of (0, %.0f]",
                        p->v_sep_m, HV_SEP_MAX_V_M);
  return HV_OK;
}

/* The parameters (already checked) as the pair rule and the filter use
 * them. */
static struct rule rule_of(const struct hv_sep_params *p) {
  struct rule r = {.t = p->lookahead_s,
                   .h = p->h_sep_m,
                   .h2 = p->h_sep_m * p->h_sep_m,
                   .vsep = p->v_sep_m};
  double pre_h = (p->h_sep_m + 3e-3 * p->lookahead_s) * (1 + 1e-6) + 1e-6;
  r.pre_h2 = pre_h * pre_h;
  r.pre_v = (p->v_sep_m + 2e-6 * p->lookahead_s) * (1 + 1e-6) + 1e-6;
  return r;
}

/* Checks s (state i) and fills *a from it. */
static int load_state(const struct hv_state *s, size_t i, struct ac *a,
                      struct hv_error *err) {
  if (!(fabs(s->lat) <= HV_SEP_MAX_LAT_DEG))
    return hv_error_set(
        err, HV_EINVAL,
        "separation: state %zu: lat %g is not within +-%g degrees (the "
        "flat pair model is not used near the poles)",
        i, s->lat, HV_SEP_MAX_LAT_DEG);
  if (!(fabs(s->lon) <= 180.0))
    return hv_error_set(err, HV_EINVAL,
                        "separation: state %zu: lon %g is not within "
                        "[-180, 180]",
                        i, s->lon);
  if (!isfinite(s->alt_m) || fabs(s->alt_m) > 1e6)
    return hv_error_set(err, HV_EINVAL,
                        "separation: state %zu: alt_m %g is not a finite "
                        "altitude within +-1000 km",
                        i, s->alt_m);
  if (!(s->gs_mps >= 0.0 && s->gs_mps <= HV_SEP_MAX_SPEED_MPS))
    return hv_error_set(err, HV_EINVAL,
                        "separation: state %zu: gs_mps %g is not within [0, "
                        "%g]",
                        i, s->gs_mps, HV_SEP_MAX_SPEED_MPS);
  if (!isfinite(s->trk_deg) || fabs(s->trk_deg) > 1e6)
    return hv_error_set(err, HV_EINVAL,
                        "separation: state %zu: trk_deg %g is not a finite "
                        "angle",
                        i, s->trk_deg);
  if (!(fabs(s->vs_mps) <= HV_SEP_MAX_SPEED_MPS))
    return hv_error_set(err, HV_EINVAL,
                        "separation: state %zu: vs_mps %g is not within +-%g",
                        i, s->vs_mps, HV_SEP_MAX_SPEED_MPS);
  a->lat = s->lat;
  a->lon = s->lon;
  a->ch = cos(s->lat * HALF_RAD);
  a->sh = sin(s->lat * HALF_RAD);
  a->u = s->gs_mps * sin(s->trk_deg * RAD);
  a->v = s->gs_mps * cos(s->trk_deg * RAD);
  a->alt = s->alt_m;
  a->vs = s->vs_mps;
  a->party = s->party;
  a->idx = (uint32_t)i;
  return HV_OK;
}

/* ---- boxes ---------------------------------------------------------------
 */

/* The box of one aircraft over one time slice (or a ghost of it), its
 * bounds rounded outwards to floats, and the cells it covers. */
struct box {
  float xlo, xhi;              /* longitude degrees (ghosts: shifted by 360) */
  float ylo, yhi;              /* latitude degrees */
  float zlo, zhi;              /* altitude metres */
  uint32_t ac;                 /* index of the aircraft */
  uint16_t slice;              /* index of the time slice */
  uint16_t ghost;              /* 1 for a ghost copy */
  uint16_t cy0, cy1, cz0, cz1; /* rows (latitude) and slabs (altitude) */
};

/*
 * The boxes of aircraft a over the nk slices [k T / nk, (k + 1) T / nk].
 *
 * Why a pair the rule reports has overlapping boxes in some slice: the rule
 * reports a conflict only when t_in <= t_out, t_out > 0 and t_in < T, so
 * some t in [0, T] lies in both the horizontal and the vertical loss
 * interval; t lies in some slice. There |dx + du t| and |dy + dv t| are
 * both <= h (the horizontal interval is where |(dx, dy) + (du, dv) t| <= h)
 * and |dz + dvs t| <= vsep.
 * - Latitude: dy + dv t = R rad((lat_b + v_b t / (R rad 1)) - (same for a)),
 *   and lat + v t / (R rad 1) stays between its values at t0 and t1: two
 *   such ranges grown by h/2 each overlap.
 * - Longitude: dx + du t = R rad(1) cos(m) (X_b - X_a) with X = lon + u t /
 *   (R rad(1) cos(m)), m the mean latitude, the same for both. A partner b
 *   of a is at most reach = (h + (gs_a + vmax) T) / (R rad 1) degrees away
 *   in latitude, so cos(m) lies in [c_lo, c_hi] = [cos(|lat_a| + reach / 2),
 *   cos(max(0, |lat_a| - reach / 2))] (same for b with its reach). X stays
 *   within lon + [min, max] of u t / (R rad(1) k) over t in [t0, t1] and k
 *   in [c_lo, c_hi] (u t has one sign over the slice: the corners t0 with
 *   c_hi and t1 with c_lo bound it); two such ranges grown by h / (2 R rad(1)
 *   c_lo) each overlap, as h / cos(m) <= h / (2 c_lo_a) + h / (2 c_lo_b).
 *   (Modulo 360: ghosts.)
 * - Altitude: as latitude, in metres.
 * The rule's arithmetic differs from the exact values by rounding (relative
 * 1e-15, under a micrometre here) and by its floors: w2 raised to 1e-6
 * lets it report a pair whose distance at any time in [0, T] is up to
 * 3 sqrt(1e-6) T beyond h (0.9 m at 300 s: the floor only matters when the
 * relative speed is under 1 mm/s), and dvs raised to 1e-6 moves the
 * vertical interval by at most 2e-6 T metres. Each box side gets 1 m plus
 * 2e-3 T (horizontal) or 2e-6 T (vertical); the cells then store the
 * bounds as floats rounded outwards.
 */
static double margin_h(const struct rule *r) {
  return MARGIN_H_M + 2e-3 * r->t;
}

static double margin_v(const struct rule *r) {
  return MARGIN_V_M + 2e-6 * r->t;
}

/* A float below (f_down) or above (f_up) x, so that a box stored in floats
 * contains the box computed in doubles: x is moved outwards by 4 times the
 * largest rounding error of a conversion (|x| 2^-24) before it is rounded,
 * without a branch. Infinities stay. */
static float f_down(double x) {
  return (float)(x - (fabs(x) * 0x1p-22 + 0x1p-60));
}

static float f_up(double x) {
  return (float)(x + (fabs(x) * 0x1p-22 + 0x1p-60));
}

/* Writes the nk boxes of aircraft a (index i) to out[0..nk-1]. */
static void boxes_of(const struct ac *a, uint32_t i, const struct rule *r,
                     double vmax, uint32_t nk, struct box *out) {
  const double m_per_deg = HV_SEP_EARTH_RADIUS_M * RAD;
  double half_h = 0.5 * r->h + margin_h(r);
  double half_v = 0.5 * r->vsep + margin_v(r);
  double reach_deg =
      (r->h + (hypot(a->u, a->v) + vmax) * r->t + 2.0 * margin_h(r)) /
      m_per_deg;
  double lat_hi = fabs(a->lat) + 0.5 * reach_deg;
  double lat_lo = fabs(a->lat) - 0.5 * reach_deg;
  double c_lo = lat_hi < 90.0 ? cos(lat_hi * RAD) : 0.0;
  double c_hi = lat_lo > 0.0 ? cos(lat_lo * RAD) : 1.0;
  /* wider than half the circle (or c_lo = 0): all longitudes */
  int wide =
      !(c_lo > 0.0) ||
      !((fabs(a->u) * r->t / c_lo + 2 * half_h / c_lo) / m_per_deg <= 180.0);
  for (uint32_t k = 0; k < nk; k++) {
    struct box *e = &out[k];
    double t0 = r->t * k / nk, t1 = r->t * (k + 1) / nk;
    double n0 = a->v * t0, n1 = a->v * t1, z0 = a->vs * t0, z1 = a->vs * t1;
    e->ylo = f_down(a->lat + ((n0 < n1 ? n0 : n1) - half_h) / m_per_deg);
    e->yhi = f_up(a->lat + ((n0 < n1 ? n1 : n0) + half_h) / m_per_deg);
    e->zlo = f_down(a->alt + (z0 < z1 ? z0 : z1) - half_v);
    e->zhi = f_up(a->alt + (z0 < z1 ? z1 : z0) + half_v);
    if (wide) {
      e->xlo = -HUGE_VALF;
      e->xhi = HUGE_VALF;
    } else {
      /* u t0 and u t1 have the sign of u, |u t0| <= |u t1|: the range ends
       * are u t0 / c_hi (nearest to 0) and u t1 / c_lo (furthest) */
      double near = a->u * t0 / c_hi, far = a->u * t1 / c_lo;
      double lo = a->u >= 0 ? near : far, hi = a->u >= 0 ? far : near;
      e->xlo = f_down(a->lon + (lo - half_h / c_lo) / m_per_deg);
      e->xhi = f_up(a->lon + (hi + half_h / c_lo) / m_per_deg);
    }
    e->ac = i;
    e->slice = (uint16_t)k;
    e->ghost = 0;
  }
}

/*
 * How many time slices. Shorter slices give smaller boxes, hence fewer pairs
 * put to the rule, but more boxes to bin: they pay where aircraft are
 * dense. The density measure is D, the mean number of other aircraft whose
 * whole-look-ahead box would meet one's if they were spread evenly over the
 * volume the states span: n 8 wx wy wz / volume, w* the mean box sizes.
 * 1 slice below D = 40, 2 below 400, 3 above (measured on the W-CD and
 * Swiss-track workloads, bench/bench-separation.c). Only the speed depends
 * on this choice.
 */
static uint32_t slices_for(const struct ac *ac, size_t n,
                           const struct rule *r) {
  const double m_per_deg = HV_SEP_EARTH_RADIUS_M * RAD;
  double la0 = HUGE_VAL, la1 = -HUGE_VAL, lo0 = HUGE_VAL, lo1 = -HUGE_VAL;
  double z0 = HUGE_VAL, z1 = -HUGE_VAL, sx = 0, sy = 0, sz = 0;
  for (size_t i = 0; i < n; i++) {
    la0 = ac[i].lat < la0 ? ac[i].lat : la0;
    la1 = ac[i].lat > la1 ? ac[i].lat : la1;
    lo0 = ac[i].lon < lo0 ? ac[i].lon : lo0;
    lo1 = ac[i].lon > lo1 ? ac[i].lon : lo1;
    z0 = ac[i].alt < z0 ? ac[i].alt : z0;
    z1 = ac[i].alt > z1 ? ac[i].alt : z1;
    sx += fabs(ac[i].u);
    sy += fabs(ac[i].v);
    sz += fabs(ac[i].vs);
  }
  double wx = sx / (double)n * r->t + r->h, wy = sy / (double)n * r->t + r->h;
  double wz = sz / (double)n * r->t + r->vsep;
  double coslat = cos(0.5 * (la0 + la1) * RAD);
  double vol = ((lo1 - lo0) * m_per_deg * coslat + wx) *
               ((la1 - la0) * m_per_deg + wy) * (z1 - z0 + wz);
  double d = (double)n * 8.0 * wx * wy * wz / vol;
  return d < DENSE_2_SLICES ? 1 : d < DENSE_3_SLICES ? 2 : 3;
}

/* ---- the grid ------------------------------------------------------------
 */

/* The grid over (slice, latitude, altitude): ny rows of height wy from y0,
 * nz slabs of height wz from z0, the same in every slice. Cell (k, y, z) is
 * number (k ny + y) nz + z. */
struct grid {
  double y0, wy, z0, wz;
  uint32_t nk, ny, nz;
};

/* Index of the cell holding v on an axis starting at lo with cells of size
 * w, n cells; clamped to [0, n-1]. */
static uint16_t cell_of(double v, double lo, double w, uint32_t n) {
  double k = floor((v - lo) / w);
  if (!(k > 0.0))
    return 0;
  if (k >= (double)n)
    return (uint16_t)(n - 1);
  return (uint16_t)k;
}

/* Chooses the grid for the nreal real boxes: cells about CELL_FACTOR times
 * the mean box on each axis (measured best on the bench's workloads), at
 * most ~4 per box in a slice and 65,535 per axis. */
static void grid_choose(const struct box *box, size_t nreal, uint32_t nk,
                        struct grid *g) {
  double ylo = HUGE_VAL, yhi = -HUGE_VAL, zlo = HUGE_VAL, zhi = -HUGE_VAL;
  double sy = 0.0, sz = 0.0;
  for (size_t i = 0; i < nreal; i++) {
    ylo = box[i].ylo < ylo ? box[i].ylo : ylo;
    yhi = box[i].yhi > yhi ? box[i].yhi : yhi;
    zlo = box[i].zlo < zlo ? box[i].zlo : zlo;
    zhi = box[i].zhi > zhi ? box[i].zhi : zhi;
    sy += (double)box[i].yhi - box[i].ylo;
    sz += (double)box[i].zhi - box[i].zlo;
  }
  /* every box is at least h (resp. vsep) tall: the extents are > 0 */
  double ey = yhi - ylo, ez = zhi - zlo;
  double maxcells = 4.0 * (double)nreal / nk + 16.0; /* per slice */
  double fy = ceil(ey / (CELL_FACTOR * sy / (double)nreal));
  double fz = ceil(ez / (CELL_FACTOR * sz / (double)nreal));
  fy = fy < 1.0 ? 1.0 : fy > 65535.0 ? 65535.0 : fy;
  fz = fz < 1.0 ? 1.0 : fz > 65535.0 ? 65535.0 : fz;
  if (fy * fz > maxcells) { /* shrink both axes alike, then fit z */
    double k = sqrt(fy * fz / maxcells);
    fy = floor(fy / k) < 1.0 ? 1.0 : floor(fy / k);
    double fz_max = floor(maxcells / fy) < 1.0 ? 1.0 : floor(maxcells / fy);
    fz = floor(fz / k) < 1.0 ? 1.0 : floor(fz / k);
    fz = fz > fz_max ? fz_max : fz;
  }
  g->nk = nk;
  g->y0 = ylo;
  g->z0 = zlo;
  g->ny = (uint32_t)fy;
  g->nz = (uint32_t)fz;
  g->wy = ey / fy;
  g->wz = ez / fz;
}

/* A 32-bit key whose unsigned order is the order of the float x (-inf
 * first): the bits of x, the sign bit flipped for x >= 0, all of them for
 * x < 0. */
static uint32_t f_key(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* One sort item: key, and the box it belongs to. */
struct item {
  uint32_t key, i;
};

/* Sorts v[0..n-1] by key (stable LSD radix sort, 11 + 11 + 10 bits), using
 * tmp[0..n-1]; the result is in v. */
static void radix_sort(struct item *v, struct item *tmp, size_t n) {
  static const unsigned shift[3] = {0, 11, 22};
  size_t count[2048];
  struct item *src = v, *dst = tmp;
  for (int pass = 0; pass < 3; pass++) {
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
      count[(src[i].key >> shift[pass]) & 2047u]++;
    size_t sum = 0;
    for (size_t b = 0; b < 2048; b++) {
      size_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      dst[count[(src[i].key >> shift[pass]) & 2047u]++] = src[i];
    struct item *t = src;
    src = dst;
    dst = t;
  }
  if (src != v) /* odd number of passes: the result is in tmp */
    memcpy(v, src, n * sizeof *v);
}

/* ---- one pass ------------------------------------------------------------
 */

/* A box as binned in a cell, 32 bytes. */
struct ent {
  float xlo, xhi, ylo, yhi, zlo, zhi;
  uint16_t cy0, cz0; /* first row and slab of the box */
  uint32_t acg;      /* aircraft index, | GHOST for a ghost */
};

#define GHOST 0x80000000u /* above HV_SEP_MAX_STATES */
#define BLOCK 8           /* boxes tested at once by the sweep */

/* One cell's boxes, one array per field, for the sweep; BLOCK more slots
 * than the fullest cell, for padding. */
struct soa {
  float *xlo, *xhi, *ylo, *yhi, *zlo, *zhi;
  int32_t *home; /* bit 0: first row is this cell's, bit 1: first slab */
  uint32_t *acg;
};

/* The scratch memory of one pass. */
struct pass {
  struct ac *ac;   /* n aircraft */
  struct box *box; /* nbox boxes: n nk real ones, then ghosts */
  size_t nbox;
  struct item *item, *tmp;   /* nbox sort items, and room to sort */
  size_t *start;             /* ncell + 1: cell c is ent[start[c] ..] */
  struct ent *ent;           /* the boxes of each cell, west edge first */
  size_t max;                /* entries in the fullest cell */
  struct soa soa;            /* the cell being swept */
  uint32_t *cand;            /* max candidates of one box in its cell */
  struct hv_conflicts found; /* conflicts as met, unsorted, maybe twice */
  size_t *cnt;               /* n + 1 counters of the final sort */
};

static void pass_free(struct pass *ps) {
  free(ps->ac);
  free(ps->box);
  free(ps->item);
  free(ps->tmp);
  free(ps->start);
  free(ps->ent);
  free(ps->soa.xlo);
  free(ps->soa.xhi);
  free(ps->soa.ylo);
  free(ps->soa.yhi);
  free(ps->soa.zlo);
  free(ps->soa.zhi);
  free(ps->soa.home);
  free(ps->soa.acg);
  free(ps->cand);
  hv_conflicts_free(&ps->found);
  free(ps->cnt);
}

/* Spreads the low 16 bits of x to the even bits of the result. */
static uint32_t spread16(uint32_t x) {
  x &= 0xffffu;
  x = (x | x << 8) & 0x00ff00ffu;
  x = (x | x << 4) & 0x0f0f0f0fu;
  x = (x | x << 2) & 0x33333333u;
  x = (x | x << 1) & 0x55555555u;
  return x;
}

/* Step 1b: puts ps->ac in Z order (Morton order of latitude and longitude),
 * so that the aircraft of one cell lie close together in memory when the
 * rule reads them. Only the speed depends on this order. */
static int reorder(struct pass *ps, size_t n) {
  double la0 = HUGE_VAL, la1 = -HUGE_VAL, lo0 = HUGE_VAL, lo1 = -HUGE_VAL;
  for (size_t i = 0; i < n; i++) {
    la0 = ps->ac[i].lat < la0 ? ps->ac[i].lat : la0;
    la1 = ps->ac[i].lat > la1 ? ps->ac[i].lat : la1;
    lo0 = ps->ac[i].lon < lo0 ? ps->ac[i].lon : lo0;
    lo1 = ps->ac[i].lon > lo1 ? ps->ac[i].lon : lo1;
  }
  double sla = 65535.0 / (la1 - la0 + 1e-9), slo = 65535.0 / (lo1 - lo0 + 1e-9);
  struct item *item = malloc(n * sizeof *item), *tmp = malloc(n * sizeof *tmp);
  struct ac *ac = malloc(n * sizeof *ac);
  if (item == NULL || tmp == NULL || ac == NULL) {
    free(item);
    free(tmp);
    free(ac);
    return HV_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t y = (uint32_t)((ps->ac[i].lat - la0) * sla);
    uint32_t x = (uint32_t)((ps->ac[i].lon - lo0) * slo);
    item[i].key = spread16(y) << 1 | spread16(x);
    item[i].i = (uint32_t)i;
  }
  radix_sort(item, tmp, n);
  for (size_t i = 0; i < n; i++)
    ac[i] = ps->ac[item[i].i];
  free(item);
  free(tmp);
  free(ps->ac);
  ps->ac = ac;
  return HV_OK;
}

/* Steps 2 and 3: slices, boxes, ghosts, items sorted by west edge, cells. */
static int build(struct pass *ps, size_t n, const struct rule *r,
                 struct grid *g) {
  double vmax = 0.0;
  for (size_t i = 0; i < n; i++) {
    double w = hypot(ps->ac[i].u, ps->ac[i].v);
    vmax = w > vmax ? w : vmax;
  }
  uint32_t nk = slices_for(ps->ac, n, r);
  size_t nreal = n * nk;
  ps->box = malloc(2 * nreal * sizeof *ps->box);
  if (ps->box == NULL)
    return HV_ENOMEM;
  for (size_t i = 0; i < n; i++)
    boxes_of(&ps->ac[i], (uint32_t)i, r, vmax, nk, &ps->box[i * nk]);
  size_t nbox = nreal;
  for (size_t i = 0; i < nreal; i++) {
    const struct box *e = &ps->box[i];
    if (!isfinite(e->xlo))
      continue; /* spans every longitude */
    double shift = e->xlo <= -180.0f ? 360.0 : e->xhi >= 180.0f ? -360.0 : 0;
    if (shift != 0.0) {
      struct box *gh = &ps->box[nbox++];
      *gh = *e;
      gh->xlo = f_down(e->xlo + shift);
      gh->xhi = f_up(e->xhi + shift);
      gh->ghost = 1;
    }
  }
  ps->nbox = nbox;
  grid_choose(ps->box, nreal, nk, g);
  size_t ncell = (size_t)nk * g->ny * g->nz;
  ps->start = calloc(ncell + 1, sizeof *ps->start);
  ps->item = malloc(nbox * sizeof *ps->item);
  ps->tmp = malloc(nbox * sizeof *ps->tmp);
  if (ps->start == NULL || ps->item == NULL || ps->tmp == NULL)
    return HV_ENOMEM;
  size_t total = 0;
  for (size_t i = 0; i < nbox; i++) {
    struct box *e = &ps->box[i];
    e->cy0 = cell_of(e->ylo, g->y0, g->wy, g->ny);
    e->cz0 = cell_of(e->zlo, g->z0, g->wz, g->nz);
    e->cy1 = cell_of(e->yhi, g->y0, g->wy, g->ny);
    e->cz1 = cell_of(e->zhi, g->z0, g->wz, g->nz);
    size_t base = (size_t)e->slice * g->ny;
    for (size_t y = e->cy0; y <= e->cy1; y++)
      for (size_t z = e->cz0; z <= e->cz1; z++)
        ps->start[(base + y) * g->nz + z + 1]++;
    total += (size_t)(e->cy1 - e->cy0 + 1) * (size_t)(e->cz1 - e->cz0 + 1);
    ps->item[i].key = f_key(e->xlo);
    ps->item[i].i = (uint32_t)i;
  }
  radix_sort(ps->item, ps->tmp, nbox);
  ps->max = 0;
  for (size_t c = 0; c < ncell; c++) {
    ps->max = ps->start[c + 1] > ps->max ? ps->start[c + 1] : ps->max;
    ps->start[c + 1] += ps->start[c];
  }
  struct soa *so = &ps->soa;
  size_t room = ps->max + BLOCK;
  ps->ent = malloc(total * sizeof *ps->ent);
  ps->cand = malloc(room * sizeof *ps->cand);
  so->xlo = malloc(room * sizeof *so->xlo);
  so->xhi = malloc(room * sizeof *so->xhi);
  so->ylo = malloc(room * sizeof *so->ylo);
  so->yhi = malloc(room * sizeof *so->yhi);
  so->zlo = malloc(room * sizeof *so->zlo);
  so->zhi = malloc(room * sizeof *so->zhi);
  so->home = malloc(room * sizeof *so->home);
  so->acg = malloc(room * sizeof *so->acg);
  size_t *fill = malloc(ncell * sizeof *fill);
  if (ps->ent == NULL || ps->cand == NULL || so->xlo == NULL ||
      so->xhi == NULL || so->ylo == NULL || so->yhi == NULL ||
      so->zlo == NULL || so->zhi == NULL || so->home == NULL ||
      so->acg == NULL || fill == NULL) {
    free(fill);
    return HV_ENOMEM;
  }
  memcpy(fill, ps->start, ncell * sizeof *fill);
  for (size_t k = 0; k < nbox; k++) {
    const struct box *e = &ps->box[ps->item[k].i];
    struct ent en = {.xlo = e->xlo,
                     .xhi = e->xhi,
                     .ylo = e->ylo,
                     .yhi = e->yhi,
                     .zlo = e->zlo,
                     .zhi = e->zhi,
                     .cy0 = e->cy0,
                     .cz0 = e->cz0,
                     .acg = e->ac | (e->ghost ? GHOST : 0)};
    size_t base = (size_t)e->slice * g->ny;
    for (size_t y = e->cy0; y <= e->cy1; y++)
      for (size_t z = e->cz0; z <= e->cz1; z++)
        ps->ent[fill[(base + y) * g->nz + z]++] = en;
  }
  free(fill);
  return HV_OK;
}

/* Appends c to l (growing it). */
static int push(struct hv_conflicts *l, const struct hv_conflict *c) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    if (cap > SIZE_MAX / sizeof *l->v)
      return HV_ENOMEM;
    struct hv_conflict *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = *c;
  return HV_OK;
}

/*
 * Step 4, for one cell (row y, slab z of its slice), whose boxes are
 * ps->ent[s0 .. s1), west edge first: the sweep along longitude.
 *
 * The boxes are copied into one array per field (ps->soa), padded with
 * BLOCK boxes that meet nothing. For each box p, the following boxes q are
 * taken BLOCK at a time until the first of a block starts east of p's east
 * edge (as they are sorted, so do all that follow; their west edge is at or
 * after p's, so that edge is the only one of the longitude test left). A
 * block is tested on longitude, latitude, altitude and home cell without a
 * branch, in a loop of fixed length the compiler can vectorise, then its
 * survivors are gathered in ps->cand and go to the rule.
 *
 * The home cell of a pair is the low corner of the cells both boxes cover:
 * row max(cy0_p, cy0_q), slab max(cz0_p, cz0_q). Both boxes cover this
 * cell, so cy0 <= y for both, and the row is y iff either first row is y
 * (same for slabs): home[] holds those two bits per box.
 */
static int sweep_cell(struct pass *ps, const struct rule *r, uint32_t y,
                      uint32_t z, size_t s0, size_t s1) {
  const struct soa *so = &ps->soa;
  float *xlo = so->xlo, *xhi = so->xhi, *ylo = so->ylo, *yhi = so->yhi,
        *zlo = so->zlo, *zhi = so->zhi;
  int32_t *home = so->home;
  uint32_t *acg = so->acg, *cand = ps->cand;
  size_t m = s1 - s0;
  for (size_t i = 0; i < m; i++) {
    const struct ent *e = &ps->ent[s0 + i];
    xlo[i] = e->xlo;
    xhi[i] = e->xhi;
    ylo[i] = e->ylo;
    yhi[i] = e->yhi;
    zlo[i] = e->zlo;
    zhi[i] = e->zhi;
    home[i] = (e->cy0 == y) | (e->cz0 == z) << 1;
    acg[i] = e->acg;
  }
  for (size_t i = m; i < m + BLOCK; i++) { /* padding: east of everything */
    xlo[i] = HUGE_VALF;
    xhi[i] = HUGE_VALF;
    ylo[i] = HUGE_VALF;
    yhi[i] = -HUGE_VALF;
    zlo[i] = HUGE_VALF;
    zhi[i] = -HUGE_VALF;
    home[i] = 0;
    acg[i] = 0;
  }
  for (size_t p = 0; p < m; p++) {
    const float pxhi = xhi[p], pylo = ylo[p], pyhi = yhi[p], pzlo = zlo[p],
                pzhi = zhi[p];
    const int32_t need = 3 & ~home[p]; /* home bits q must bring */
    size_t nc = 0;
    for (size_t b = p + 1; b < m && xlo[b] <= pxhi; b += BLOCK) {
      int32_t ok[BLOCK];
      for (size_t j = 0; j < BLOCK; j++)
        ok[j] = (xlo[b + j] <= pxhi) & (ylo[b + j] <= pyhi) &
                (yhi[b + j] >= pylo) & (zlo[b + j] <= pzhi) &
                (zhi[b + j] >= pzlo) & ((home[b + j] & need) == need);
      for (size_t j = 0; j < BLOCK; j++) {
        cand[nc] = (uint32_t)(b + j);
        nc += (size_t)ok[j];
      }
    }
    for (size_t k = 0; k < nc; k++) {
      uint32_t ga = acg[p], gb = acg[cand[k]];
      uint32_t ia = ga & ~GHOST, ib = gb & ~GHOST;
      if ((ga & gb & GHOST) || ia == ib)
        continue;
      const struct ac *a = &ps->ac[ia], *b = &ps->ac[ib];
      if (a->party == b->party)
        continue;
      /* the rule takes the lower state index as own (its floors are not
       * symmetric); pair_may_conflict() only skips pairs pair_test()
       * would refuse */
      const struct ac *lo = a->idx < b->idx ? a : b;
      const struct ac *hi = a->idx < b->idx ? b : a;
      struct hv_conflict cf;
      if (pair_may_conflict(lo, hi, r) && pair_test(lo, hi, r, &cf) &&
          push(&ps->found, &cf) != HV_OK)
        return HV_ENOMEM;
    }
  }
  return HV_OK;
}

/* Moves ps->found into out sorted by (a, b), without duplicates (a pair met
 * in several slices, or through ghosts, is there more than once, always
 * with the same figures). */
static int sort_into(struct pass *ps, size_t n, struct hv_conflicts *out) {
  size_t m = ps->found.n;
  if (m == 0)
    return HV_OK;
  if (out->cap < m) {
    struct hv_conflict *v = realloc(out->v, m * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    out->v = v;
    out->cap = m;
  }
  ps->cnt = calloc(n + 1, sizeof *ps->cnt);
  if (ps->cnt == NULL)
    return HV_ENOMEM;
  const struct hv_conflict *f = ps->found.v;
  for (size_t i = 0; i < m; i++)
    ps->cnt[f[i].a + 1]++;
  for (size_t a = 0; a < n; a++)
    ps->cnt[a + 1] += ps->cnt[a];
  /* cnt[a] is now where a's group starts; after placing, where it ends */
  for (size_t i = 0; i < m; i++)
    out->v[ps->cnt[f[i].a]++] = f[i];
  size_t w = 0, g0 = 0;
  for (size_t a = 0; a < n; a++) {
    size_t g1 = ps->cnt[a]; /* group a is out->v[g0 .. g1) */
    for (size_t i = g0 + 1; i < g1; i++) {
      struct hv_conflict c = out->v[i];
      size_t j = i;
      for (; j > g0 && out->v[j - 1].b > c.b; j--)
        out->v[j] = out->v[j - 1];
      out->v[j] = c;
    }
    for (size_t i = g0; i < g1; i++)
      if (i == g0 || out->v[i].b != out->v[i - 1].b)
        out->v[w++] = out->v[i];
    g0 = g1;
  }
  out->n = w;
  return HV_OK;
}

int hv_separation_detect(const struct hv_state *s, size_t n,
                         const struct hv_sep_params *p,
                         struct hv_conflicts *out, struct hv_error *err) {
  if (out == NULL)
    return hv_error_set(err, HV_EINVAL, "separation: out is NULL");
  out->n = 0;
  if (s == NULL && n > 0)
    return hv_error_set(err, HV_EINVAL, "separation: states are NULL");
  if (n > HV_SEP_MAX_STATES)
    return hv_error_set(err, HV_EINVAL,
                        "separation: %zu states (at most %lu in one pass)", n,
                        (unsigned long)HV_SEP_MAX_STATES);
  struct hv_sep_params def = hv_sep_params_default();
  if (p == NULL)
    p = &def;
  int rc = hv_sep_params_check(p, err);
  if (rc != HV_OK || n < 2) {
    for (size_t i = 0; rc == HV_OK && i < n; i++) {
      struct ac a;
      rc = load_state(&s[i], i, &a, err);
    }
    return rc;
  }
  const struct rule r = rule_of(p);
  struct pass ps = {0};
  struct grid g;
  ps.ac = malloc(n * sizeof *ps.ac);
  if (ps.ac == NULL)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    if ((rc = load_state(&s[i], i, &ps.ac[i], err)) != HV_OK)
      goto done;
  if (reorder(&ps, n) != HV_OK)
    goto nomem;
  if (build(&ps, n, &r, &g) != HV_OK)
    goto nomem;
  for (size_t c = 0; c < (size_t)g.nk * g.ny * g.nz; c++) {
    uint32_t y = (uint32_t)(c / g.nz % g.ny), z = (uint32_t)(c % g.nz);
    if (sweep_cell(&ps, &r, y, z, ps.start[c], ps.start[c + 1]) != HV_OK)
      goto nomem;
  }
  if (sort_into(&ps, n, out) != HV_OK)
    goto nomem;
  rc = HV_OK;
  goto done;
nomem:
  rc = hv_error_set(err, HV_ENOMEM, "separation: out of memory");
  out->n = 0;
done:
  pass_free(&ps);
  return rc;
}

int hv_separation_pair(const struct hv_state *s, size_t n, size_t a, size_t b,
                       const struct hv_sep_params *p, struct hv_conflict *out,
                       struct hv_error *err) {
  if (s == NULL || out == NULL)
    return hv_error_set(err, HV_EINVAL, "separation: states or out is NULL");
  if (!(a < b && b < n) || n > HV_SEP_MAX_STATES)
    return hv_error_set(err, HV_EINVAL,
                        "separation: pair (%zu, %zu) of %zu states: need a < "
                        "b < n",
                        a, b, n);
  struct hv_sep_params def = hv_sep_params_default();
  if (p == NULL)
    p = &def;
  struct ac x, y;
  int rc;
  if ((rc = hv_sep_params_check(p, err)) != HV_OK ||
      (rc = load_state(&s[a], a, &x, err)) != HV_OK ||
      (rc = load_state(&s[b], b, &y, err)) != HV_OK)
    return rc;
  const struct rule r = rule_of(p);
  struct hv_conflict c;
  if (!pair_test(&x, &y, &r, &c))
    return 0;
  *out = c;
  return 1;
}
