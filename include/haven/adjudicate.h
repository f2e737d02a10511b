/*
 * haven/adjudicate.h — incidents judged against what was agreed.
 *
 * Each incident (an HV_INCIDENT object) is adjudicated against every
 * agreement whose validity its time interval touches, by the rules of
 * docs/incidents.md, in this order:
 *
 *   1. in scope: the time lies in the agreement's validity and the place is
 *      in one of its zones in force then (or it is nationwide); a location
 *      or a time coarser than the boundary makes membership "uncertain";
 *   2. excluded: a side is a party the agreement excludes, and the place is
 *      delineated to it (or no delineation covers the place);
 *   3. violation: in scope, not excluded, and an act the agreement forbids
 *      between parties it binds (or by a bound party against civilians);
 *      attributed to the perpetrator, or "unattributed" with both sides
 *      involved; with an uncertain membership the class is "uncertain";
 *   4. accountability: the first guarantor of the agreement up the
 *      perpetrator's sponsor chain (the perpetrator itself when it is one);
 *   5. hits on notified sites: within the site's radius plus the location's
 *      uncertainty, after its notification, with whether the perpetrator
 *      had acknowledged it, and since when;
 *   6. everything else in the agreement's period: "outside".
 *
 * An adjudication is a plain value (struct hv_adjudication). Recorded, it
 * is a ledger-only entry (kind "adjudication", id the incident's id,
 * version the incident's version, body hv_adjudication_json) written
 * through the one write path; the latest one per incident is kept in
 * memory (rebuilt from the ledger on first use), and a new one is written only
 * when the answer changed: re-running after a registry change records the
 * new answer and the record keeps the old.
 *
 * Reviews: a violation can be disputed by the accused party, the
 * coordinator can request information from a party with a deadline and
 * assess it (confirmed, disputed, unverifiable, duplicate); each step is a
 * ledger-only entry (kind "review", id "<incident>/<agreement>").
 *
 * Zone status (holding, strained, violated, collapsed) and suspected
 * sieges are computed from the recorded adjudications and the registry.
 *
 * Same thread rules as struct hv_db (haven/db.h): an adjudicator reads the
 * db it was made from and is used by one thread at a time.
 */
#ifndef HAVEN_ADJUDICATE_H
#define HAVEN_ADJUDICATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "auth.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the facts --------------------------------------------------------- */

/* What the adjudicator reads of an incident. Strings are borrowed. */
struct hv_incident {
  const char *id;
  int64_t version;
  int64_t t_ms, t_end_ms; /* [t_ms, t_end_ms); t_end_ms == t_ms: an instant */
  double lon, lat;
  enum hv_loc_precision precision;
  double uncertainty_m; /* exact, near, district */
  const char *area;     /* province: the area given (NULL: by the point) */
  enum hv_action action;
  const char *perpetrator; /* party id or NULL */
  int suspected;
  const char *sides[2];     /* party ids or NULL */
  const char *target;       /* "civilians", "party", "site", ... */
  const char *target_party; /* or NULL */
  long fatalities;          /* -1: not known */
};

/* The facts of an incident object (kind HV_INCIDENT; borrowed). */
void hv_incident_of(const struct hv_object *o, struct hv_incident *out);

/* ---- the answer -------------------------------------------------------- */

enum hv_class {
  HV_CLASS_VIOLATION,
  HV_CLASS_UNCERTAIN, /* would be a violation; scope membership uncertain */
  HV_CLASS_EXCLUDED,
  HV_CLASS_OUTSIDE,
  HV_CLASS_COUNT
};
/* "violation", "uncertain", "excluded", "outside". */
const char *hv_class_name(enum hv_class c);
int hv_class_parse(const char *name, enum hv_class *out);

enum hv_membership { HV_MEMBER_OUT, HV_MEMBER_UNCERTAIN, HV_MEMBER_IN };
/* "out", "uncertain", "in". */
const char *hv_membership_name(enum hv_membership m);

/* Whether a party had acknowledged a notified site when an incident hit it. */
enum hv_ack_state {
  HV_ACKED_BEFORE,  /* acknowledged before the incident's time */
  HV_ACKED_AFTER,   /* acknowledged, but only after it */
  HV_ACKED_NEVER,   /* a recipient that never acknowledged */
  HV_ACKED_NOT_TOLD /* not a recipient of the notification */
};
/* "before", "after", "never", "not_told". */
const char *hv_ack_state_name(enum hv_ack_state s);

#define HV_ADJ_ID (HV_ID_MAX + 1)

/* A party in a violation, with its accountable guarantor ("" none). */
struct hv_adj_party {
  char party[HV_ADJ_ID];
  char guarantor[HV_ADJ_ID];
  int is_guarantor; /* the party is itself a guarantor of the agreement */
};

/* The incident against one agreement. */
struct hv_adj_row {
  char agreement[HV_ADJ_ID];
  enum hv_class cls;
  enum hv_membership scope; /* in or uncertain (outside: out) */
  char zone[HV_ADJ_ID];     /* the scope zone matched; "" nationwide */
  /* violation / uncertain: */
  int attributed;                 /* 1: perpetrator; 0: both sides involved */
  int suspected;                  /* the perpetrator is suspected */
  struct hv_adj_party involved[2]; /* attributed: [0] the perpetrator */
  size_t n_involved;
  /* excluded: the excluded side */
  char excluded_party[HV_ADJ_ID];
  char reason[256]; /* one sentence a person can read */
};

/* A notified site the incident may have hit. */
struct hv_adj_hit {
  char site[HV_ADJ_ID];
  char category[32];
  double distance_m; /* from the reported point to the site */
  double reach_m;    /* site radius + location uncertainty */
  int64_t notified_ms;
  struct {
    char party[HV_ADJ_ID];
    enum hv_ack_state state;
    int64_t since_ms; /* before / after: when acknowledged; else 0 */
  } acks[2]; /* per perpetrator, or per side when unattributed */
  size_t n_acks;
};

struct hv_adj_zone {
  char zone[HV_ADJ_ID];
  enum hv_membership m; /* in or uncertain */
};

/* The whole answer for one incident. Start zeroed; hv_adjudicate reuses
 * its arrays; free with hv_adjudication_free. */
struct hv_adjudication {
  char incident[HV_ADJ_ID];
  int64_t version;
  int64_t t_ms, t_end_ms;
  double lon, lat;
  enum hv_loc_precision precision;
  double uncertainty_m;
  enum hv_action action;
  long fatalities;
  char area[HV_ADJ_ID]; /* the administrative area at the point ("") */
  struct hv_adj_zone *zones; /* zones in force then with in / uncertain
                                membership, in id order */
  size_t n_zones, cap_zones;
  struct hv_adj_row *rows; /* one per agreement whose validity the time
                              touches, in agreement id order */
  size_t n_rows, cap_rows;
  struct hv_adj_hit *hits; /* nearest first */
  size_t n_hits, cap_hits;
  int64_t recorded_seq; /* set when read from the record; 0 otherwise */
  int64_t recorded_ms;
};

void hv_adjudication_free(struct hv_adjudication *a);

/*
 * The canonical JSON of an adjudication (the recorded body): incident,
 * version, t, t_end, lon, lat, precision, uncertainty_m, action,
 * fatalities, area, zones [{zone, membership}], agreements [{agreement,
 * class, scope, zone, attributed, suspected, involved [{party, guarantor,
 * is_guarantor}], excluded_party, reason}], hits [{site, category,
 * distance_m, reach_m, notified_at, acks [{party, state, since}]}].
 * Caller owns it; NULL when out of memory.
 */
json_t *hv_adjudication_json(const struct hv_adjudication *a);
/* The inverse. Errors: HV_EPARSE (err names the member). */
int hv_adjudication_from_json(const json_t *j, struct hv_adjudication *out,
                              struct hv_error *err);

/* ---- the adjudicator --------------------------------------------------- */

struct hv_adjudicator;

/*
 * An adjudicator over db's registry as it is now: agreements, zones,
 * delineations, areas, sites, acknowledgements. It notices a later change
 * of those (hv_db_generation) and rebuilds itself on the next use.
 * Errors: HV_ENOMEM, HV_EGEOMETRY.
 */
int hv_adjudicator_new(struct hv_db *db, struct hv_adjudicator **out,
                       struct hv_error *err);
void hv_adjudicator_free(struct hv_adjudicator *a);

/* Adjudicates one incident into *out. Errors: HV_EINVAL (coordinates out
 * of range), HV_ENOMEM, HV_EGEOMETRY, HV_EGEODESY. */
int hv_adjudicate(struct hv_adjudicator *a, const struct hv_incident *inc,
                  struct hv_adjudication *out, struct hv_error *err);

/* ---- the record -------------------------------------------------------- */

struct hv_adjudicate_stats {
  size_t incidents; /* adjudicated */
  size_t recorded;  /* answers that changed, written */
  size_t unchanged;
  size_t by_class[HV_CLASS_COUNT]; /* rows, over all incidents adjudicated */
  size_t hits;
};

/*
 * Adjudicates the incidents ids[0..n) (n 0: every incident) and records,
 * as author, each answer that differs from the incident's latest recorded
 * one (or is its first), all in one transaction. Errors: HV_ENOTFOUND (an
 * id; nothing written), HV_ESTORE, HV_ENOMEM, and hv_adjudicate's.
 */
int hv_db_adjudicate(struct hv_db *db, const char *author,
                     const char *const *ids, size_t n,
                     struct hv_adjudicate_stats *stats, struct hv_error *err);

/*
 * Loads the recorded adjudications and reviews into memory, if they are
 * not yet: haven does so on first use, not when it opens a store (most
 * commands never need them). The functions that take an err call it
 * themselves; the getters below answer as if nothing were recorded when it
 * fails, so a caller that reads only through them calls it first to learn
 * of a failure. Errors: HV_ESTORE, HV_ENOMEM.
 */
int hv_db_records_load(struct hv_db *db, struct hv_error *err);

/* The latest recorded adjudication of incident id, or NULL (none, or the
 * incident was deleted). Borrowed until the next write. */
const struct hv_adjudication *hv_db_adjudication(const struct hv_db *db,
                                                 const char *id);
/* The latest recorded adjudications of the incidents that exist, in
 * incident id order: count and i-th (NULL past the end). */
size_t hv_db_adjudication_count(const struct hv_db *db);
const struct hv_adjudication *hv_db_adjudication_at(const struct hv_db *db,
                                                    size_t i);

/*
 * The view of an adjudication a principal may see (caller owns it): the
 * coordinator sees it all; for everyone else the location is the
 * incident's published one (coarsened when its reporter asked), and a hit
 * on a site the principal may not see in full names the site's category and
 * distance only (site null). NULL when out of memory.
 */
json_t *hv_adjudication_view_json(struct hv_db *db,
                                  const struct hv_principal *who,
                                  const struct hv_adjudication *a);

/* The location the parties see of incident o: the reported point, or when
 * its reporter asked for coarsening, the centre of the coarsen_m grid cell
 * it falls in (docs/incidents.md). */
void hv_incident_published_point(const struct hv_object *o, double *lon,
                                 double *lat);

/* ---- queries and exports ------------------------------------------------ */

/* Which adjudications a query wants; zero / NULL members match anything. */
struct hv_adj_filter {
  const char *agreement; /* a row for it */
  int cls;               /* 1 + enum hv_class: a row of that class (0 any) */
  const char *party;     /* a row involving it (or excluding it) */
  const char *guarantor; /* a row with it as an accountable guarantor
                            ("none": a party with no guarantor) */
  const char *zone;      /* the zone among its zones (in or uncertain) */
  const char *area;      /* its area */
  int64_t from_ms, to_ms; /* its time interval meets [from, to) (0: open) */
};

/* 1 when row r of a matches f's row conditions (agreement, class, party,
 * guarantor). */
int hv_adj_row_matches(const struct hv_adj_row *r,
                       const struct hv_adj_filter *f);
/* 1 when a matches f: its incident-wide conditions hold and at least one
 * row matches (an adjudication with no row matches only when f asks for
 * no row condition). */
int hv_adj_matches(const struct hv_adjudication *a,
                   const struct hv_adj_filter *f);

enum hv_adj_format {
  HV_ADJ_JSON,    /* a JSON array of the views */
  HV_ADJ_NDJSON,  /* one view per line */
  HV_ADJ_CSV,     /* one line per matching (incident, agreement) row */
  HV_ADJ_GEOJSON, /* a FeatureCollection, one Point Feature per incident */
  HV_ADJ_FORMAT_COUNT
};
/* "json", "ndjson", "csv", "geojson". */
const char *hv_adj_format_name(enum hv_adj_format f);
int hv_adj_format_parse(const char *name, enum hv_adj_format *out);

/*
 * Writes the latest recorded adjudications matching f, as principal who
 * sees them (hv_adjudication_view_json), in incident id order, to out in
 * format fmt (docs/incidents.md "Exports"); *n (may be NULL) gets how many
 * incidents were written. Errors: HV_EIO, HV_ENOMEM.
 */
int hv_db_adjudications_write(struct hv_db *db, const struct hv_principal *who,
                              const struct hv_adj_filter *f,
                              enum hv_adj_format fmt, FILE *out, size_t *n,
                              struct hv_error *err);

/* ---- reviews ----------------------------------------------------------- */

enum hv_review_state {
  HV_REVIEW_UNDER_REVIEW,  /* no step yet */
  HV_REVIEW_CONTESTED,     /* disputed by the accused party */
  HV_REVIEW_INFO_REQUESTED,/* the coordinator asked a party, by a deadline */
  HV_REVIEW_ANSWERED,      /* that party answered */
  HV_REVIEW_CONFIRMED,     /* assessed */
  HV_REVIEW_DISPUTED,
  HV_REVIEW_UNVERIFIABLE,
  HV_REVIEW_DUPLICATE,
  HV_REVIEW_COUNT
};
/* "under_review", "contested", "info_requested", "answered",
 * "confirmed", "disputed", "unverifiable", "duplicate". */
const char *hv_review_state_name(enum hv_review_state s);
/* 1 for the four assessed states. */
int hv_review_assessed(enum hv_review_state s);

enum hv_review_step { HV_STEP_DISPUTE, HV_STEP_REQUEST, HV_STEP_RESPOND,
                      HV_STEP_ASSESS };
/* "dispute", "request_info", "respond", "assess". */
const char *hv_review_step_name(enum hv_review_step s);
int hv_review_step_parse(const char *name, enum hv_review_step *out);

struct hv_review_input {
  enum hv_review_step step;
  const char *text;         /* grounds, question, answer or reasoning */
  const char *party;        /* request_info: the party asked */
  int64_t deadline_ms;      /* request_info: answer by (> now) */
  enum hv_review_state outcome; /* assess: one of the four assessed */
  const char *duplicate_of; /* assess duplicate: the incident it repeats */
};

struct hv_review {
  char incident[HV_ADJ_ID];
  char agreement[HV_ADJ_ID];
  enum hv_review_state state;
  size_t steps;
  int64_t opened_ms;  /* first step's time */
  int64_t updated_ms; /* last step's time */
  char asked[HV_ADJ_ID]; /* info_requested / answered: the party asked */
  int64_t deadline_ms;   /* of the last request; 0 none */
  int answered_late;     /* the answer came after the deadline */
  char duplicate_of[HV_ADJ_ID];
  int64_t version; /* the incident's version its last step was about; a
                      step on a later version starts the review afresh */
};

/*
 * Records one review step on the violation of agreement by incident, as
 * author (the principal's party; role decides what it may do):
 * - dispute: by an accused party (the perpetrator of an attributed
 *   violation, an involved side of an unattributed one), while not
 *   assessed; grounds required;
 * - request_info: coordinator only, not after assessment; party one of the
 *   involved, or the incident's reporter-side party; deadline in the future;
 * - respond: by the party asked, while info_requested (late answers are
 *   taken, and marked);
 * - assess: coordinator only, any time (a new assessment supersedes).
 * The incident's latest recorded adjudication must class it a violation or
 * uncertain for that agreement.
 * Errors: HV_ENOTFOUND (no such violation), HV_EPERM (not this party's
 * step), HV_EINVAL (missing text, bad deadline or outcome, a step out of
 * order: err says which state it is in), HV_ESTORE, HV_ENOMEM.
 */
int hv_db_review(struct hv_db *db, const struct hv_principal *who,
                 const char *incident, const char *agreement,
                 const struct hv_review_input *in, struct hv_review *out,
                 struct hv_error *err);

/* The review of (incident, agreement): HV_OK and *out, or HV_ENOTFOUND
 * when no step was recorded (the state is then under_review). */
int hv_db_review_get(const struct hv_db *db, const char *incident,
                     const char *agreement, struct hv_review *out);
/* 1 when the coordinator's assessment of the violation of agreement by
 * incident sets it aside — disputed, unverifiable or duplicate — for the
 * incident's current version (an assessment of an earlier version does
 * not carry over to a correction). Zone status and bulletins leave such
 * violations out. */
int hv_db_review_sets_aside(const struct hv_db *db, const char *incident,
                            const char *agreement);
/* Every review with at least one step, in (incident, agreement) order. */
size_t hv_db_review_count(const struct hv_db *db);
const struct hv_review *hv_db_review_at(const struct hv_db *db, size_t i);
json_t *hv_review_json(const struct hv_review *r, int64_t now_ms);

/* ---- zone status and sieges -------------------------------------------- */

enum hv_zone_status {
  HV_ZONE_HOLDING,
  HV_ZONE_STRAINED,
  HV_ZONE_VIOLATED,
  HV_ZONE_COLLAPSED,
  HV_ZONE_STATUS_COUNT
};
/* "holding", "strained", "violated", "collapsed". */
const char *hv_zone_status_name(enum hv_zone_status s);

struct hv_status_params {
  int64_t window_ms; /* default 7 days */
  long strained;     /* violations in the window: default 1 */
  long violated;     /* default 5 */
  long collapsed;    /* default 20 */
  long collapsed_fatalities; /* or this many deaths in them: default 100 */
};
struct hv_status_params hv_status_params_default(void);

struct hv_zone_state {
  char zone[HV_ADJ_ID];
  enum hv_zone_status status;
  int64_t from_ms, to_ms; /* the window */
  long violations;        /* incidents with a violation, in the zone */
  long fatalities;        /* their reported deaths */
  long uncertain;         /* incidents uncertain (not counted) */
};

/*
 * The status of zone id at at_ms from the recorded adjudications: the
 * incidents in the window [at_ms - window, at_ms) that the zone contains
 * (membership "in") and that violate an agreement (class violation, review
 * not assessed as disputed, unverifiable or duplicate); by the thresholds.
 * Incidents in the window that the zone contains or may contain (in or
 * uncertain) with an uncertain row and no standing violation are counted in
 * `uncertain` only. p NULL: the defaults. Errors: HV_ENOTFOUND (no such
 * zone), HV_EINVAL (parameters: window 1 hour to 365 days, 1 <= strained
 * <= violated <= collapsed, collapsed_fatalities >= 1; err names the field).
 */
int hv_db_zone_state(struct hv_db *db, const char *id, int64_t at_ms,
                     const struct hv_status_params *p,
                     struct hv_zone_state *out, struct hv_error *err);

/* {zone, status, window {from, to}, violations, fatalities, uncertain}.
 * Caller owns it; NULL when out of memory. */
json_t *hv_zone_state_json(const struct hv_zone_state *s);

struct hv_siege_params {
  int64_t no_access_ms; /* no completed movement for: default 30 days */
};
struct hv_siege_params hv_siege_params_default(void);

/* The siege test of one populated zone at a time, with its evidence. */
struct hv_siege {
  char zone[HV_ADJ_ID];
  long population;
  int64_t at_ms;
  size_t corridors, corridors_closed; /* corridors that connect it */
  int encircled;       /* >= 1 corridor, none open at at_ms */
  int64_t last_access_ms;  /* last completed movement into it, at or
                              before at_ms, however long ago (0 none) */
  char last_access[HV_ADJ_ID];
  int no_access;       /* none completed within no_access_ms */
  int64_t last_exit_ms;    /* last completed evacuation from it, as
                              last_access_ms (0 none) */
  int no_exit;         /* no open corridor and no evacuation in the period */
  int suspected;       /* all three */
};

/* Tests every zone with a population > 0 in force at at_ms, in zone id
 * order; appends to *out (*n entries; caller frees *out, which may have
 * moved even on error; *n moves only on success). p NULL: defaults.
 * Errors: HV_EINVAL (no_access_ms not within 1 to 365 days), HV_ENOMEM,
 * HV_EGEOMETRY. */
int hv_db_sieges(struct hv_db *db, int64_t at_ms,
                 const struct hv_siege_params *p, struct hv_siege **out,
                 size_t *n, struct hv_error *err);

/* The JSON of s: zone, population, at, corridors, corridors_closed,
 * encircled, last_access_at, last_access, no_access, last_exit_at, no_exit,
 * suspected, criteria {encircled, no_access, no_exit}; times RFC 3339, null
 * when 0. Caller owns it; NULL when out of memory. */
json_t *hv_siege_json(const struct hv_siege *s);
/* The same as principal who may see it: the last access (movement and
 * time) left out when who may not know of that movement. */
json_t *hv_siege_view_json(const struct hv_db *db,
                           const struct hv_principal *who,
                           const struct hv_siege *s);

/*
 * Records a "siege_suspected" finding for s (suspected) as the coordinator,
 * seen by the zone's guarantors (audience) and the coordinator, unless the
 * latest siege finding recorded for the zone is less than no_access_ms old
 * — its age measured in the time it speaks about, |s->at_ms - its t_ms|,
 * not the time it was written, so a replay of past days is judged as they
 * were. *recorded says whether one was written; *doc (may be NULL) gets
 * the finding's body when one was (caller owns; NULL otherwise) for
 * publishing on the alert streams. p NULL: defaults.
 * Errors: HV_EINVAL (not suspected, or p out of range), HV_ENOTFOUND (the
 * zone is no longer in the registry), HV_ESTORE, HV_ENOMEM.
 */
int hv_db_record_siege(struct hv_db *db, const struct hv_siege *s,
                       const struct hv_siege_params *p, int *recorded,
                       json_t **doc, struct hv_error *err);

#ifdef __cplusplus
}
#endif
#endif
