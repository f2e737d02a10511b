/*
 * haven/separation.h — predicted losses of separation between aircraft of
 * different parties, from their current state vectors (closest point of
 * approach), in one pass that does not compare every pair.
 *
 * The rule is the state-based conflict detection of BlueSky (TU Delft's
 * open-source air-traffic simulator, StateBasedCD with its kwikqdrdist
 * flat-earth relative positions), written out here so that it does not
 * depend on reading anyone's code. For two aircraft a < b, of different
 * parties, with the parameters p:
 *
 *   Earth model (flat, per pair): a sphere of radius R = 6,371,000 m,
 *   HV_SEP_EARTH_RADIUS_M. The position of b relative to a, east and north:
 *     dlon = lon_b - lon_a, wrapped into [-180, 180) degrees
 *     dx   = R * rad(dlon) * cos(mean latitude), dy = R * rad(lat_b - lat_a)
 *   where cos(mean latitude) is computed as
 *     cos(lat_a/2)cos(lat_b/2) - sin(lat_a/2)sin(lat_b/2).
 *   Velocities: east u = gs sin(trk), north v = gs cos(trk);
 *     du = u_b - u_a, dv = v_b - v_a; dz = alt_b - alt_a, dvs = vs_b - vs_a.
 *   Straight lines at constant velocity from now (t = 0).
 *
 *   Horizontal: w2 = du^2 + dv^2, raised to 1e-6 when below it;
 *     t_cpa  = -(du dx + dv dy) / w2
 *     dcpa2  = |dx^2 + dy^2 - t_cpa^2 w2|
 *     loss of horizontal separation iff dcpa2 < h_sep^2, from
 *     t_cpa - sqrt(h_sep^2 - dcpa2) / sqrt(w2) to t_cpa + the same.
 *   Vertical: dvs' = dvs, or 1e-6 when |dvs| < 1e-6;
 *     the times (dz + v_sep) / -dvs' and (dz - v_sep) / -dvs' bound the
 *     interval (smaller one first) during which |dz(t)| < v_sep.
 *   Conflict iff there is a horizontal loss, and with t_in = the later of the
 *   two entries and t_out = the earlier of the two exits:
 *     t_in <= t_out  and  t_out > 0  and  t_in < lookahead_s.
 *
 * So a pair already inside both minima and staying there is a conflict
 * (t_in < 0); a pair whose loss starts exactly at the look-ahead is not. The
 * rule is taken with a the lower index: it is not quite symmetric (the floor
 * of dvs is positive either way round).
 *
 * With this flat model the W-CD answers are the published ones (200 pairs at
 * N = 1,000, 20,239 at 10,000); models with a great-circle bearing are not
 * even symmetric in a and b (docs/separation.md gives the measurements).
 * Its distances are within ~0.3% of the WGS84 geodesic at mid-latitudes for
 * separations of a few nautical miles.
 *
 * Poles and antimeridian: states with |lat| > HV_SEP_MAX_LAT_DEG are refused
 * (HV_EINVAL): near the poles a flat east/north frame per pair is not a
 * usable model. The antimeridian is handled: dlon is wrapped, so aircraft at
 * lon 179.99 and -179.99 are 0.02 degrees apart.
 *
 * Thread safety: the functions keep no state; calls on different result
 * lists may run in parallel.
 */
#ifndef HAVEN_SEPARATION_H
#define HAVEN_SEPARATION_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The sphere of the pair model, metres (the same as BlueSky's kwikqdrdist). */
#define HV_SEP_EARTH_RADIUS_M 6371000.0
/* States further from the equator than this are refused. */
#define HV_SEP_MAX_LAT_DEG 85.0
/* Largest ground speed and |vertical rate| accepted, m/s. */
#define HV_SEP_MAX_SPEED_MPS 10000.0
/* Most states in one pass. */
#define HV_SEP_MAX_STATES (1u << 26)

/* One aircraft's current state vector. */
struct hv_state {
  double lat, lon; /* degrees WGS84: -85 <= lat <= 85, -180 <= lon <= 180 */
  double alt_m;    /* altitude, metres (any datum, the same for all) */
  double gs_mps;   /* ground speed, m/s, 0 .. HV_SEP_MAX_SPEED_MPS */
  double trk_deg;  /* track over ground, degrees clockwise from true north */
  double vs_mps;   /* vertical rate, m/s, positive up */
  uint32_t party;  /* an index; aircraft of the same party are not compared */
};

/* The largest parameters accepted (the smallest: anything > 0). */
#define HV_SEP_MAX_LOOKAHEAD_S 86400.0
#define HV_SEP_MAX_H_M 1000000.0
#define HV_SEP_MAX_V_M 100000.0

/* Minima and look-ahead. */
struct hv_sep_params {
  double lookahead_s; /* > 0 and <= 86,400; default 300 */
  double h_sep_m;     /* horizontal minimum, > 0 and <= 1,000,000; 5 NM */
  double v_sep_m;     /* vertical minimum, > 0 and <= 100,000; 1,000 ft */
};

/* The defaults: 300 s, 5 NM = 9,260 m, 1,000 ft = 304.8 m. Thread-safe. */
struct hv_sep_params hv_sep_params_default(void);

/* HV_OK when every parameter of *p (borrowed) is in its range above, else
 * HV_EINVAL with err naming the first one out of range (e.g.
 * "separation: h_sep_m -1 is out of (0, 1000000]"); p NULL: HV_EINVAL.
 * err may be NULL. Thread-safe. */
int hv_sep_params_check(const struct hv_sep_params *p, struct hv_error *err);

/* One predicted loss of separation. */
struct hv_conflict {
  uint32_t a, b;     /* indexes into the states, a < b */
  double t_in_s;     /* start of the predicted loss, clipped to [0, T] */
  double t_out_s;    /* end of it, clipped to [0, T] (T = lookahead_s) */
  double t_cpa_s;    /* time of the horizontal closest point of approach,
                        not clipped: < 0 when the two are already diverging */
  double d_cpa_m;    /* horizontal miss distance at t_cpa_s: sqrt(dcpa2) */
  double dalt_cpa_m; /* |dz + dvs t_cpa_s|: vertical separation at t_cpa_s */
};

/* A growable list of conflicts. Start it zeroed ({0}); free it with
 * hv_conflicts_free. */
struct hv_conflicts {
  struct hv_conflict *v;
  size_t n, cap;
};

/* Frees the list's array and zeroes it; NULL is a no-op. */
void hv_conflicts_free(struct hv_conflicts *c);

/*
 * Every pair of states s[a], s[b] (a < b, different parties) in conflict by
 * the rule above, with the parameters *p (NULL: the defaults). Replaces the
 * content of *out (its array is reused and grown as needed) with the
 * conflicts sorted by (a, b).
 *
 * Cost: the states are binned by the box each can reach within the
 * look-ahead; only pairs whose boxes overlap are put to the rule, so a pass
 * costs about N log N plus the number of nearby pairs, not N^2.
 *
 * Errors: HV_EINVAL (s NULL with n > 0, out NULL, n > HV_SEP_MAX_STATES, a
 * parameter out of range, a state with a non-finite field or out of the
 * ranges of struct hv_state — err names the state's index and the field),
 * HV_ENOMEM. On error out->n is 0. err may be NULL.
 * Ownership: s and p are borrowed for the call; out belongs to the caller.
 * Thread-safe for distinct out.
 */
int hv_separation_detect(const struct hv_state *s, size_t n,
                         const struct hv_sep_params *p,
                         struct hv_conflicts *out, struct hv_error *err);

/*
 * The rule above for one pair: s[a] and s[b], a < b < n, with the
 * parameters *p (NULL: the defaults). Returns 1 when they are in conflict,
 * with *out filled exactly as hv_separation_detect would report the pair
 * with the same parameters (a, b and the figures, to the bit); 0 when they
 * are not (aircraft of the same party never are). hv_separation_detect puts
 * every pair it considers to the same code (lib/separation.c), so there is
 * one implementation of the rule: detect(p) reports (a, b) iff this returns
 * 1 for it with p.
 *
 * The rule is monotone in each parameter: a pair in conflict with some
 * parameters is in conflict with any that are each at least as large (the
 * floating-point operations are all monotone). So the conflicts of a pass
 * with per-pair parameters are found by one hv_separation_detect with the
 * largest of each, then this on each pair reported (haven/tracks.h).
 *
 * Errors (< 0, so test the result with == 1): HV_EINVAL (s or out NULL,
 * not a < b < n, a parameter or either state out of range; err says which),
 * and *out is left alone. err may be NULL. Borrows s and p for the call.
 * Thread-safe.
 */
int hv_separation_pair(const struct hv_state *s, size_t n, size_t a, size_t b,
                       const struct hv_sep_params *p, struct hv_conflict *out,
                       struct hv_error *err);

#ifdef __cplusplus
}
#endif
#endif
