/*
 * haven/probe.h — noticing a party that probes the deconfliction service:
 * a sequence of checks that sweeps an area (many small radii tiling it) or
 * closes in on one place (bisecting toward a blind site). The answer to any
 * one check is what it should be; the pattern across checks is what gives
 * away a protected place that was never disclosed. The rule is written out
 * in docs/checks.md ("Probing").
 *
 * The detector keeps, per party, its checks of the last window_ms (at most
 * HV_PROBE_KEEP of them): centre, effect radius, time. After each check it
 * tests two patterns on that party's window:
 *
 *   tiling:    at least tile_min checks with effect radius <= tile_radius_m
 *              whose centres lie within tile_span_m of the new check's
 *              centre, spread over at least tile_cells distinct cells of a
 *              grid whose cell is the median of their radii (so re-checking
 *              one target many times is not a sweep);
 *   bisection: a chain of at least bisect_steps checks ending with the new
 *              one, each centred inside the disc of the one before it with a
 *              radius at most bisect_ratio times that one's.
 *
 * A pattern raises one alert per episode: after an alert of a pattern for
 * a party, that pattern is not raised again for it until a whole window
 * has passed without it.
 *
 * Thread safety: one detector is used by one thread at a time.
 */
#ifndef HAVEN_PROBE_H
#define HAVEN_PROBE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Checks kept per party. */
#define HV_PROBE_KEEP 256

struct hv_probe_params {
  int64_t window_ms;     /* default 30 min */
  unsigned tile_min;     /* default 12 */
  double tile_radius_m;  /* default 5,000 */
  double tile_span_m;    /* default 25,000 */
  unsigned tile_cells;   /* default 8 */
  unsigned bisect_steps; /* default 4 */
  double bisect_ratio;   /* default 0.6 */
};

/* The defaults above. Thread-safe. */
struct hv_probe_params hv_probe_params_default(void);

enum hv_probe_pattern { HV_PROBE_TILING, HV_PROBE_BISECTION };

/* "tiling", "bisection". Static. */
const char *hv_probe_pattern_name(enum hv_probe_pattern p);

/* An alert: the pattern, and the checks that make it. */
struct hv_probe_alert {
  enum hv_probe_pattern pattern;
  size_t n; /* checks in the pattern (<= HV_PROBE_KEEP) */
  int64_t
      ids[HV_PROBE_KEEP]; /* the callers' ids of those checks, oldest first */
  double lon, lat;        /* centre of the pattern: its last check's centre */
  double extent_m;        /* largest distance of a check's centre from it */
  int64_t first_ms, last_ms;
};

struct hv_probe;

/* A new detector. p NULL: the defaults. Errors: HV_EINVAL (a parameter
 * out of range: window 1 s..1 day, tile_min 2..HV_PROBE_KEEP, radii and
 * span > 0, tile_cells 1..tile_min, bisect_steps 2..HV_PROBE_KEEP,
 * 0 < bisect_ratio < 1), HV_ENOMEM. */
int hv_probe_new(const struct hv_probe_params *p, struct hv_probe **out,
                 struct hv_error *err);
void hv_probe_free(struct hv_probe *pr);

/*
 * Notes one check of party (copied) at t_ms: its id (the caller's: a
 * ledger seq), centre and effect radius (m; a polygon or route is noted by
 * its centre and the radius of a disc covering it). Checks of one party
 * must come in time order (an earlier t_ms than its last is taken as its
 * last). Returns 1 with *alert filled (left alone otherwise) when this check
 * completes a pattern not raised in the current episode (tiling is tested
 * first), 0 when not, or a negative code: HV_EINVAL (party empty or too long, a
 * coordinate out of range, radius not finite or < 0), HV_ENOMEM.
 */
int hv_probe_note(struct hv_probe *pr, const char *party, int64_t t_ms,
                  int64_t id, double lon, double lat, double radius_m,
                  struct hv_probe_alert *alert);

struct hv_db;
struct hv_operation;
/*
 * hv_probe_note for a planned operation (haven/check.h) made with db's
 * GEOS context: its centre is its geometry's centroid and its radius the
 * effect radius plus the largest geodesic distance from the centroid to a
 * corner of the geometry's envelope (a disc that covers it); the party is
 * op->author and t_ms the time it was asked (not its window). Returns as
 * hv_probe_note, and HV_EGEOMETRY when the centroid cannot be computed.
 */
int hv_probe_note_op(struct hv_probe *pr, struct hv_db *db,
                     const struct hv_operation *op, int64_t t_ms, int64_t id,
                     struct hv_probe_alert *alert);

/*
 * The finding an alert makes, as recorded (the body of its ledger entry):
 * {"kind": "probing", "t", "t_ms" (its last check), "suspect": party,
 * "pattern", "checks": [ids], "lon", "lat", "extent_m", "first", "last",
 * "reason", "audience": []}. It has no "party" member, so by the
 * need-to-know rule of findings (haven/auth.h) only the coordinator sees
 * it — not the party it is about. Caller owns it; NULL on no memory.
 */
json_t *hv_probe_alert_json(const struct hv_probe_alert *a, const char *party);

/*
 * Records the alert about party in db's ledger as a finding (op and kind
 * "finding", author the coordinator), one entry, durable when it returns;
 * *seq (may be NULL) gets its seq. Errors: HV_ESTORE, HV_ECONFLICT,
 * HV_ENOMEM.
 */
int hv_db_record_probing(struct hv_db *db, const struct hv_probe_alert *a,
                         const char *party, int64_t *seq, struct hv_error *err);

#ifdef __cplusplus
}
#endif
#endif
