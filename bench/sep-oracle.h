/*
 * sep-oracle.h — the all-pairs oracle of the separation check: every pair
 * (a, b), a < b, put to the rule of haven/separation.h, O(N^2). Shared by
 * tests/unit/test-separation.c (which checks hv_separation_detect against it
 * and checks it against hand-computed answers and the published W-CD counts)
 * and bench/bench-separation.c (the baseline).
 *
 * It is written from the header's description, not from lib/separation.c,
 * with the operations in the order the header gives them, so that the two
 * get the same bits and a difference in the pairs is a bug in the pruning,
 * not rounding. Header-only (static functions): include it once per program.
 */
#ifndef HAVEN_SEP_ORACLE_H
#define HAVEN_SEP_ORACLE_H

#include <math.h>
#include <stdlib.h>

#include <haven/separation.h>

/* Appends c to l; 0, or -1 when out of memory. */
static int sep_oracle_push(struct hv_conflicts *l,
                           const struct hv_conflict *c) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    struct hv_conflict *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = *c;
  return 0;
}

/* Replaces out's content with every conflict among s[0..n-1], in (a, b)
 * order. The states are assumed valid (the library checks them). 0, or -1
 * when out of memory. */
static int sep_oracle(const struct hv_state *s, size_t n,
                      const struct hv_sep_params *p, struct hv_conflicts *out) {
  const double R = HV_SEP_EARTH_RADIUS_M, h2 = p->h_sep_m * p->h_sep_m;
  const double T = p->lookahead_s, V = p->v_sep_m;
  out->n = 0;
  /* per aircraft: east/north velocity, cos and sin of half the latitude */
  double *pre = malloc((n ? n : 1) * 4 * sizeof *pre);
  if (pre == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    pre[4 * i + 0] = s[i].gs_mps * sin(s[i].trk_deg * (M_PI / 180.0));
    pre[4 * i + 1] = s[i].gs_mps * cos(s[i].trk_deg * (M_PI / 180.0));
    pre[4 * i + 2] = cos(s[i].lat * (M_PI / 360.0));
    pre[4 * i + 3] = sin(s[i].lat * (M_PI / 360.0));
  }
  for (size_t a = 0; a < n; a++) {
    const double *pa = &pre[4 * a];
    for (size_t b = a + 1; b < n; b++) {
      if (s[a].party == s[b].party)
        continue;
      const double *pb = &pre[4 * b];
      /* b relative to a, flat, east and north */
      double dlon = s[b].lon - s[a].lon;
      if (dlon >= 180.0)
        dlon -= 360.0;
      else if (dlon < -180.0)
        dlon += 360.0;
      double cosm = pa[2] * pb[2] - pa[3] * pb[3];
      double dx = R * (dlon * (M_PI / 180.0)) * cosm;
      double dy = R * ((s[b].lat - s[a].lat) * (M_PI / 180.0));
      double du = pb[0] - pa[0], dv = pb[1] - pa[1];
      /* horizontal closest point of approach */
      double w2 = du * du + dv * dv;
      if (w2 < 1e-6)
        w2 = 1e-6;
      double tcpa = -(du * dx + dv * dy) / w2;
      double dcpa2 = fabs(dx * dx + dy * dy - tcpa * tcpa * w2);
      if (!(dcpa2 < h2))
        continue;
      double half = sqrt(h2 - dcpa2) / sqrt(w2);
      double h_in = tcpa - half, h_out = tcpa + half;
      /* vertical band */
      double dz = s[b].alt_m - s[a].alt_m, dvs = s[b].vs_mps - s[a].vs_mps;
      double dvsc = fabs(dvs) < 1e-6 ? 1e-6 : dvs;
      double t1 = (dz + V) / -dvsc, t2 = (dz - V) / -dvsc;
      double v_in = t1 < t2 ? t1 : t2, v_out = t1 < t2 ? t2 : t1;
      double t_in = h_in > v_in ? h_in : v_in;
      double t_out = h_out < v_out ? h_out : v_out;
      if (!(t_in <= t_out && t_out > 0.0 && t_in < T))
        continue;
      struct hv_conflict c = {.a = (uint32_t)a,
                              .b = (uint32_t)b,
                              .t_in_s = t_in > 0.0 ? t_in : 0.0,
                              .t_out_s = t_out < T ? t_out : T,
                              .t_cpa_s = tcpa,
                              .d_cpa_m = sqrt(dcpa2),
                              .dalt_cpa_m = fabs(dz + dvs * tcpa)};
      if (sep_oracle_push(out, &c) != 0) {
        free(pre);
        return -1;
      }
    }
  }
  free(pre);
  return 0;
}

#endif
