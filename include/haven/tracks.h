/*
 * haven/tracks.h — the live picture: position reports of assets checked as
 * they arrive against the agreed map (zones, protected sites, corridors) and
 * against each other (separation), producing findings.
 *
 * A struct hv_tracks keeps, per asset, its last applied report, the zones,
 * site radii and open corridors it is inside, and optionally a history of
 * its last reports (HV_TRACKS_HISTORY by default, none at all with
 * hv_tracks_set_history(tr, 0)). Reports come in batches
 * (hv_tracks_ingest): a batch is validated whole first (a malformed report
 * refuses the batch and changes nothing), then each report is checked and
 * applied in order, then the separation check runs once over the airborne
 * aircraft. The rules (out-of-order, duplicates, implausible reports, what
 * counts as armed or airborne) are written out in docs/live.md.
 *
 * Separation minima per agreement. The pass at time t holds each pair of
 * aircraft, of parties A and B, to minima of its own:
 * - the agreements that apply to the pair are those in force at t
 *   (valid_from <= t < valid_to: the test used for an agreement's terms)
 *   for which each of A and B is either covered (hv_db_coverage gives
 *   covered or covered through a sponsor: the rule used for terms) or one
 *   of its guarantors;
 * - when one or more of them carry "separation", the pair's minima are,
 *   field by field (horizontal, vertical, look-ahead), the largest any of
 *   them gives; a field none of them gives comes from the engine
 *   (hv_tracks_set_sep_params; default hv_sep_params_default);
 * - when none applies, or none of those carries separation: the engine's.
 * So an applicable agreement may also lower a minimum below the engine's.
 * The pass runs hv_separation_detect once with, per field, the largest of
 * the engine's value and of every agreement in force at t (a superset of
 * the conflicts, as the rule is monotone in each parameter), then decides
 * each reported pair with hv_separation_pair under the pair's own minima:
 * the result is exactly the pairs in conflict under their own minima.
 * Which agreements apply to a party is worked out once per pass.
 *
 * Thread safety: a struct hv_tracks is used by one thread at a time, and
 * so is the db it borrows (haven/db.h).
 */
#ifndef HAVEN_TRACKS_H
#define HAVEN_TRACKS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "object.h"
#include "separation.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most reports kept per asset in its history ring, and the default. */
#define HV_TRACKS_HISTORY 16
/* A report more than this after the newest report the engine has seen is
 * implausible (a time far in the future). */
#define HV_TRACKS_FUTURE_MS (5 * 60 * 1000)
/* Aircraft whose last report is further than this from the time of a
 * separation pass — older (landed or out of coverage), or newer (the batch
 * is of an earlier time) — are left out of it. */
#define HV_TRACKS_STALE_MS (60 * 1000)
/* Below this altitude (m) an aircraft counts as armed near protected sites
 * and corridors. */
#define HV_TRACKS_LOW_ALT_M 1500.0

/* One position report. */
struct hv_position {
  const char *asset; /* 1-63 characters; borrowed for the call */
  const char *party; /* a party that exists in the db; borrowed */
  enum hv_asset_class cls;
  int64_t t_ms;    /* time of the fix, ms since the Unix epoch, UTC */
  double lon, lat; /* degrees WGS84: -180..180, -85..85 */
  double alt_m;    /* metres above mean sea level, -1,000..100,000 */
  double ve_mps;   /* ground velocity east, m/s */
  double vn_mps;   /* ground velocity north, m/s */
  double vs_mps;   /* vertical rate, m/s, positive up */
};

/* The largest ground speed, m/s, a report of class c may imply: fixed_wing
 * 700, rotary 120, uav 300, ground_armed / ground_civil / humanitarian 60.
 * Thread-safe. */
double hv_tracks_max_speed_mps(enum hv_asset_class c);

enum hv_finding_kind {
  HV_FIND_ZONE_ENTER,
  HV_FIND_ZONE_EXIT,
  HV_FIND_NO_FLY_VIOLATION,
  HV_FIND_FORBIDDEN_PRESENCE,
  HV_FIND_SITE_PROXIMITY,
  HV_FIND_CORRIDOR_INCURSION,
  HV_FIND_SEPARATION_CONFLICT,
  HV_FIND_SEPARATION_RESOLVED,
  HV_FIND_IMPLAUSIBLE,
  HV_FIND_OUT_OF_ORDER,
  HV_FIND_COUNT
};

/* "zone_enter", "zone_exit", ... "out_of_order"; "unknown" out of range.
 * Static. Thread-safe. */
const char *hv_finding_kind_name(enum hv_finding_kind k);

/* One finding. Strings are copied into the struct: it owns nothing. */
struct hv_finding {
  enum hv_finding_kind kind;
  int64_t t_ms; /* the report's time; for separation, the pass's time */
  char asset[HV_ID_MAX], party[HV_ID_MAX];
  enum hv_asset_class cls;
  double lon, lat, alt_m; /* the report's position */
  /* Separation: the other aircraft (asset < other_asset by engine order). */
  char other_asset[HV_ID_MAX], other_party[HV_ID_MAX];
  /* Zone, site or corridor concerned (obj_id empty when none). */
  enum hv_kind obj_kind;
  char obj_id[HV_ID_MAX];
  double distance_m; /* site_proximity: to the site; implausible: the jump */
  double t_cpa_s, d_cpa_m, dalt_cpa_m; /* separation_conflict */
  /* separation_conflict: the minima the pair was held to, and for each the
   * agreement that set it (empty: the engine's value). When several
   * applicable agreements give the same largest value, the first of them
   * in the db's order (hv_db_at) is named. */
  double h_sep_m, v_sep_m, lookahead_s;
  char h_sep_by[HV_ID_MAX], v_sep_by[HV_ID_MAX], lookahead_by[HV_ID_MAX];
  double speed_mps; /* implausible: the implied speed */
  char reason[256]; /* a sentence a person can read */
};

/* A growable list of findings: start it zeroed ({0}), free it with
 * hv_findings_free. */
struct hv_findings {
  struct hv_finding *v;
  size_t n, cap;
};

/* Frees the array and zeroes the list. NULL is a no-op. */
void hv_findings_free(struct hv_findings *f);

/* The finding as a JSON object for one NDJSON line: kind, t (RFC 3339),
 * t_ms, asset, party, class, lon, lat, alt_m, and the members the kind
 * uses (object {kind, id}, other_asset, other_party, distance_m, t_cpa_s,
 * d_cpa_m, dalt_cpa_m, speed_mps, reason). A separation_conflict also has
 * h_sep_m, v_sep_m, lookahead_s (the minima applied) and minima_by, an
 * object naming for each of those three set by an agreement that
 * agreement's id ({} when all are the engine's). Caller owns it
 * (json_decref); NULL when out of memory. */
json_t *hv_finding_json(const struct hv_finding *f);

/*
 * The finding as it is recorded (the body of its ledger entry):
 * hv_finding_json plus "audience", the parties besides party and
 * other_party that answer for the object concerned, as db holds them now —
 * a zone's or corridor's guarantors, a site's notifying party — sorted,
 * without duplicates (an empty array when none). hv_visibility(who,
 * HV_FINDING, doc) decides on this document. Caller owns it; NULL when out
 * of memory. Not thread-safe (reads db).
 */
json_t *hv_finding_record_json(const struct hv_db *db,
                               const struct hv_finding *f);

/*
 * Appends every finding of f to db's ledger as author (a party, or
 * HV_COORDINATOR), in order, in one transaction (one commit, one fsync):
 * entry op "finding", kind "finding", version 1, id the entry's seq in
 * decimal, body the canonical hv_finding_record_json. Findings are ledger
 * only: no object row, nothing in the registry (docs/record.md).
 * *first_seq (may be NULL) gets the seq of the first one, 0 when f is
 * empty (nothing is written). All or nothing. Errors: HV_EREF (unknown
 * author), HV_ESTORE, HV_ECONFLICT, HV_ENOMEM.
 */
int hv_db_record_findings(struct hv_db *db, const char *author,
                          const struct hv_findings *f, int64_t *first_seq,
                          struct hv_error *err);

struct hv_tracks;

/* A new, empty engine checking against db (borrowed: it must outlive the
 * engine; writes to it are picked up at the next ingest). Errors:
 * HV_EINVAL (db or out NULL), HV_ENOMEM. Caller frees with
 * hv_tracks_free. */
int hv_tracks_new(struct hv_db *db, struct hv_tracks **out);

/* Frees the engine and all its state. NULL is a no-op. */
void hv_tracks_free(struct hv_tracks *tr);

/*
 * Checks and applies n reports (batch borrowed for the call), appending the
 * findings to *out (caller's; start it zeroed). Each report is validated
 * first: asset id 1-63 characters, party known to the db, class in range,
 * finite coordinates in range, speeds <= HV_SEP_MAX_SPEED_MPS, t_ms > 0,
 * and the party the asset was first reported with. On a malformed report
 * the whole batch is refused with HV_EINVAL (err names the report's index
 * and field, e.g. "report 3: lat: 91 is out of range -85..85") or HV_EREF
 * (unknown party): nothing is applied and nothing appended.
 * Then each report, in order: out-of-order and duplicate rule,
 * plausibility, zones, sites, corridors (docs/live.md); then one
 * separation pass at the newest time of the batch.
 * Errors after validation: HV_ENOMEM, HV_EGEOMETRY, HV_EGEODESY (the
 * reports before the failing one stay applied; findings so far are in
 * *out).
 */
int hv_tracks_ingest(struct hv_tracks *tr, const struct hv_position *batch,
                     size_t n, struct hv_findings *out, struct hv_error *err);

/* Number of assets the engine knows. */
size_t hv_tracks_count(const struct hv_tracks *tr);

/* The last applied report of asset into *out (its asset and party point
 * into the engine: valid until the engine is freed). HV_ENOTFOUND when the
 * engine has applied no report of that asset. */
int hv_tracks_last(const struct hv_tracks *tr, const char *asset,
                   struct hv_position *out);

/* The last applied report of the i-th asset the engine knows (0 <=
 * i < hv_tracks_count, in engine order), as hv_tracks_last. HV_ENOTFOUND
 * past the end or for an asset with no applied report. */
int hv_tracks_at(const struct hv_tracks *tr, size_t i,
                 struct hv_position *out);

/* Up to max of the asset's last applied reports, oldest first, into out
 * (strings as hv_tracks_last). Returns how many were written (0 when the
 * asset is unknown or max is 0). An asset with a history ring of n reports
 * gives up to its last n; one without a ring (history 0 when it was first
 * applied, see hv_tracks_set_history) gives its last report alone. */
size_t hv_tracks_history(const struct hv_tracks *tr, const char *asset,
                         struct hv_position *out, size_t max);

/*
 * Sets how many reports, 0..HV_TRACKS_HISTORY, the history ring of an
 * asset holds (default HV_TRACKS_HISTORY). 0 keeps no history: no ring is
 * allocated and hv_tracks_history gives the last report only. The ring is
 * allocated, with the size set at that moment, at the first applied report
 * of an asset that has none; an asset that already has a ring keeps it and
 * its size. So the setting applies to assets applied for the first time
 * after it, and to assets that had no ring because it was 0 (their history
 * starts then). Errors: HV_EINVAL (tr NULL, n > HV_TRACKS_HISTORY; nothing
 * changes).
 */
int hv_tracks_set_history(struct hv_tracks *tr, unsigned n);

/*
 * The states a separation pass at t_ms would use: every aircraft (fixed
 * wing, rotary, uav) whose last report is at most HV_TRACKS_STALE_MS before
 * or after t_ms, extrapolated at constant velocity to t_ms; party = an index per
 * distinct party. *states (malloc'd, caller frees) and *assets (malloc'd
 * array of n asset ids pointing into the engine; caller frees the array)
 * get n entries, in engine order. Errors: HV_ENOMEM.
 */
int hv_tracks_states(const struct hv_tracks *tr, int64_t t_ms,
                     struct hv_state **states, const char ***assets, size_t *n);

/* Sets the engine's separation minima and look-ahead (copied; NULL: the
 * defaults of hv_sep_params_default): those of a pair no agreement sets
 * (the rule is above). Errors: none; values are checked by the next pass
 * (HV_EINVAL from hv_tracks_ingest). */
void hv_tracks_set_sep_params(struct hv_tracks *tr,
                              const struct hv_sep_params *p);

/* Bytes the engine holds for asset state, without histories, divided by
 * the number of assets (0 when none): the asset records, the id strings,
 * the hash slots and the zone/site/corridor sets are counted (what is
 * allocated for them, not what malloc adds). */
size_t hv_tracks_bytes_per_asset(const struct hv_tracks *tr);

#ifdef __cplusplus
}
#endif
#endif
