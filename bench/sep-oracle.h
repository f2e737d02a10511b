/*
 * sep-oracle.h — the all-pairs oracle of the separation check: every pair
 * (a, b), a < b, put to the rule of haven/separation.h, O(N^2). Shared by
 * tests/unit/test-separation.c (which checks hv_separation_detect and
 * hv_separation_pair against it and checks it against hand-computed answers
 * and the published W-CD counts), tests/unit/test-tracks.c (per-pair minima
 * over a day of real tracks, with sep_oracle_pair) and
 * bench/bench-separation.c (the baseline).
 *
 * It is written from the header's description, not from lib/separation.c,
 * with the operations in the order the header gives them, so that the two
 * get the same bits and a difference in the pairs is a bug in the pruning,
 * not rounding. Header-only (static inline functions).
 */
#ifndef HAVEN_SEP_ORACLE_H
#define HAVEN_SEP_ORACLE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <haven/separation.h>

/* Appends c to l; 0, or -1 when out of memory. */
static inline int sep_oracle_push(struct hv_conflicts *l,
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

/* What the rule reads of one state besides the state itself: east and
 * north velocity, cos and sin of half the latitude. */
static inline void sep_oracle_pre(const struct hv_state *s, double pre[4]) {
  pre[0] = s->gs_mps * sin(s->trk_deg * (M_PI / 180.0));
  pre[1] = s->gs_mps * cos(s->trk_deg * (M_PI / 180.0));
  pre[2] = cos(s->lat * (M_PI / 360.0));
  pre[3] = sin(s->lat * (M_PI / 360.0));
}

/* The rule for states sa (the lower index) and sb with their sep_oracle_pre
 * values pa, pb and the parameters p: 1 and *c filled (but for c->a and
 * c->b) when they are in conflict, else 0. Parties are not looked at. */
static inline int sep_oracle_rule(const struct hv_state *sa, const double *pa,
                                  const struct hv_state *sb, const double *pb,
                                  const struct hv_sep_params *p,
                                  struct hv_conflict *c) {
  const double R = HV_SEP_EARTH_RADIUS_M, h2 = p->h_sep_m * p->h_sep_m;
  const double T = p->lookahead_s, V = p->v_sep_m;
  /* b relative to a, flat, east and north */
  double dlon = sb->lon - sa->lon;
  if (dlon >= 180.0)
    dlon -= 360.0;
  else if (dlon < -180.0)
    dlon += 360.0;
  double cosm = pa[2] * pb[2] - pa[3] * pb[3];
  double dx = R * (dlon * (M_PI / 180.0)) * cosm;
  double dy = R * ((sb->lat - sa->lat) * (M_PI / 180.0));
  double du = pb[0] - pa[0], dv = pb[1] - pa[1];
  /* horizontal closest point of approach */
  double w2 = du * du + dv * dv;
  if (w2 < 1e-6)
    w2 = 1e-6;
  double tcpa = -(du * dx + dv * dy) / w2;
  double dcpa2 = fabs(dx * dx + dy * dy - tcpa * tcpa * w2);
  if (!(dcpa2 < h2))
    return 0;
  double half = sqrt(h2 - dcpa2) / sqrt(w2);
  double h_in = tcpa - half, h_out = tcpa + half;
  /* vertical band */
  double dz = sb->alt_m - sa->alt_m, dvs = sb->vs_mps - sa->vs_mps;
  double dvsc = fabs(dvs) < 1e-6 ? 1e-6 : dvs;
  double t1 = (dz + V) / -dvsc, t2 = (dz - V) / -dvsc;
  double v_in = t1 < t2 ? t1 : t2, v_out = t1 < t2 ? t2 : t1;
  double t_in = h_in > v_in ? h_in : v_in;
  double t_out = h_out < v_out ? h_out : v_out;
  if (!(t_in <= t_out && t_out > 0.0 && t_in < T))
    return 0;
  c->t_in_s = t_in > 0.0 ? t_in : 0.0;
  c->t_out_s = t_out < T ? t_out : T;
  c->t_cpa_s = tcpa;
  c->d_cpa_m = sqrt(dcpa2);
  c->dalt_cpa_m = fabs(dz + dvs * tcpa);
  return 1;
}

/* The rule for the pair s[a], s[b], a < b, of different parties, with p:
 * 1 and *c filled when they are in conflict, else 0 (also for one party). */
static inline int sep_oracle_pair(const struct hv_state *s, size_t a, size_t b,
                                  const struct hv_sep_params *p,
                                  struct hv_conflict *c) {
  if (s[a].party == s[b].party)
    return 0;
  double pa[4], pb[4];
  sep_oracle_pre(&s[a], pa);
  sep_oracle_pre(&s[b], pb);
  if (!sep_oracle_rule(&s[a], pa, &s[b], pb, p, c))
    return 0;
  c->a = (uint32_t)a;
  c->b = (uint32_t)b;
  return 1;
}

/* Replaces out's content with every conflict among s[0..n-1], in (a, b)
 * order. The states are assumed valid (the library checks them). 0, or -1
 * when out of memory. */
static inline int sep_oracle(const struct hv_state *s, size_t n,
                             const struct hv_sep_params *p,
                             struct hv_conflicts *out) {
  out->n = 0;
  double *pre = malloc((n ? n : 1) * 4 * sizeof *pre);
  if (pre == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    sep_oracle_pre(&s[i], &pre[4 * i]);
  for (size_t a = 0; a < n; a++)
    for (size_t b = a + 1; b < n; b++) {
      struct hv_conflict c;
      if (s[a].party == s[b].party ||
          !sep_oracle_rule(&s[a], &pre[4 * a], &s[b], &pre[4 * b], p, &c))
        continue;
      c.a = (uint32_t)a;
      c.b = (uint32_t)b;
      if (sep_oracle_push(out, &c) != 0) {
        free(pre);
        return -1;
      }
    }
  free(pre);
  return 0;
}

#endif
