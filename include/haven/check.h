/*
 * haven/check.h — deconfliction requests: a planned operation checked
 * against the agreed map before it happens, answered with a verdict
 * (clear, conflict or forbidden) and every reason, and recorded in the
 * ledger with a receipt that proves what the asking party was told.
 *
 * The rules — reach, the mapping of operation kinds to agreement terms,
 * the distance bands, what "consulted" means and how a receipt is
 * verified — are in docs/checks.md.
 *
 * A struct hv_checker holds the spatial index of the protected sites of
 * one db and its list of movements; both are built at the first check and
 * rebuilt when the db's sites or movements change. Neither it nor the db is
 * thread-safe: one thread at a time (haven/db.h).
 */
#ifndef HAVEN_CHECK_H
#define HAVEN_CHECK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"
#include "error.h"
#include "object.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a planned operation is. */
enum hv_op_kind {
  HV_OP_AIR_STRIKE,
  HV_OP_ARTILLERY,
  HV_OP_GROUND_MOVE,
  HV_OP_FLIGHT,
  HV_OP_COUNT
};

/* "air_strike", "artillery", "ground_move", "flight"; "?" out of range.
 * Static, thread-safe. */
const char *hv_op_kind_name(enum hv_op_kind k);
/* The kind named name; HV_EINVAL when there is none. */
int hv_op_kind_parse(const char *name, enum hv_op_kind *out);

/* Largest effect radius (or route half-width) accepted, metres. */
#define HV_CHECK_MAX_RADIUS_M 100000.0

/*
 * A planned operation. geom is a Point (with effect_radius_m around it), a
 * Polygon or MultiPolygon (effect_radius_m beyond its edge, 0 allowed) or
 * a LineString route (effect_radius_m its half-width, 0 allowed), WGS84
 * lon/lat, made with the GEOS context of the db it is checked on
 * (hv_geo_geos(hv_db_geo(db))). The window is [from_ms, to_ms).
 */
struct hv_operation {
  enum hv_op_kind kind;
  const char *author; /* the asking party; borrowed */
  GEOSGeometry *geom; /* owned by the operation: hv_operation_clear */
  double effect_radius_m;
  int64_t from_ms, to_ms;
  char target[HV_ID_MAX]; /* the party it targets; "" when none */
};

/*
 * Reads the JSON form of a planned operation (doc borrowed):
 *   {"kind", "geometry" (GeoJSON geometry), "effect_radius_m", "from",
 *    "to", "target"?}
 * into *op (author is left NULL: the caller sets the asking party). Every
 * member but target is required; an unknown member is refused. err names
 * the field: "kind: must be one of air_strike, artillery, ground_move,
 * flight", "effect_radius_m: must be a number >= 0 and <= 100000",
 * "to: must be after from", "geometry.coordinates[0][3]: ...".
 * Errors: HV_ESCHEMA, HV_EGEOMETRY, HV_ENOMEM. On error *op holds nothing
 * to free. On success free op's geometry with hv_operation_clear(db, op).
 */
int hv_operation_from_json(struct hv_db *db, const json_t *doc,
                           struct hv_operation *op, struct hv_error *err);

/* Frees op->geom (made with db's context) and zeroes *op. NULL op is a
 * no-op. */
void hv_operation_clear(struct hv_db *db, struct hv_operation *op);

/* The JSON form of op (as hv_operation_from_json reads it, plus
 * "author" when set). Caller owns it; NULL when out of memory or the
 * geometry cannot be written. */
json_t *hv_operation_json(struct hv_db *db, const struct hv_operation *op);

enum hv_verdict_kind {
  HV_VERDICT_CLEAR,
  HV_VERDICT_CONFLICT,
  HV_VERDICT_FORBIDDEN
};
/* "clear", "conflict", "forbidden". Static. */
const char *hv_verdict_name(enum hv_verdict_kind v);

enum hv_reason_kind {
  HV_REASON_SITE,              /* a protected site within reach: conflict */
  HV_REASON_MOVEMENT,          /* a movement on its route then: conflict */
  HV_REASON_ZONE_FORBIDDEN,    /* an agreement forbids it in a zone */
  HV_REASON_NOTIFY_GUARANTORS, /* a zone touched has guarantors to tell */
  HV_REASON_TARGET,            /* the target party's standing */
  HV_REASON_DELINEATION,       /* whose area the operation falls in */
  HV_REASON_COUNT
};
/* "protected_site", "movement", "zone_forbidden", "notify_guarantors",
 * "target", "delineation". Static. */
const char *hv_reason_kind_name(enum hv_reason_kind k);

/* The target party's standing under the agreements in force. */
enum hv_standing {
  HV_STANDING_NONE,        /* the operation names no target */
  HV_STANDING_UNKNOWN,     /* no party of that id in the registry */
  HV_STANDING_NOT_COVERED, /* a party no agreement in force covers */
  HV_STANDING_EXCLUDED,    /* excluded by an agreement in force (IS...) */
  HV_STANDING_COVERED      /* covered by an agreement in force */
};
/* "none", "unknown", "not_covered", "excluded", "covered". Static. */
const char *hv_standing_name(enum hv_standing s);

/* One reason. Strings are copied: a reason owns its list. */
struct hv_reason {
  enum hv_reason_kind kind;
  enum hv_verdict_kind effect; /* what it makes of the verdict */
  enum hv_kind obj_kind;       /* the object: site, zone, delineation, party */
  char id[HV_ID_MAX];
  int64_t version;
  int blind;                   /* site or movement notified blind */
  char category[32];           /* site category, movement kind, zone kind */
  char notified_by[HV_ID_MAX]; /* site or movement: the notifying party */
  double distance_m;         /* site, movement: from the operation; 0 inside */
  double radius_m;           /* site: its protective radius */
  char agreement[HV_ID_MAX]; /* zone_forbidden, target: the agreement */
  char term[32];             /* zone_forbidden, target: the term */
  char party[HV_ID_MAX];     /* delineation: its party; target: the target */
  enum hv_standing standing; /* target */
  char **list; /* notify_guarantors: guarantors; target: agreements that
                  cover or exclude it (malloc'd copies) */
  size_t n_list;
};

/* An object a verdict was checked against. */
struct hv_receipt_obj {
  enum hv_kind kind;
  char id[HV_ID_MAX];
  int64_t version;
};

/* A whole kind a verdict was checked against (every site): count and
 * digest, BLAKE2b-256 hex of the objects' "id version\n" lines in id
 * order (docs/checks.md). */
struct hv_receipt_set {
  enum hv_kind kind;
  size_t count;
  char digest[65];
};

struct hv_verdict {
  enum hv_verdict_kind verdict; /* the worst effect of the reasons */
  struct hv_reason *reasons;
  size_t n_reasons, cap_reasons;
  struct hv_receipt_obj *objects; /* consulted, kind then id order */
  size_t n_objects, cap_objects;
  struct hv_receipt_set sets[2]; /* every site; every movement */
  size_t n_sets;
  int64_t at_seq; /* the db's head when checked */
  char author[HV_ID_MAX];
  json_t *request; /* hv_operation_json of the operation; owned */
  /* Set by hv_db_record_check: */
  int64_t seq;           /* the ledger entry; 0 until recorded */
  char answer_hash[65];  /* BLAKE2b-256 hex of the author's answer */
  char request_hash[65]; /* BLAKE2b-256 hex of the canonical request */
};

/* Frees a verdict. NULL is a no-op. */
void hv_verdict_free(struct hv_verdict *v);

struct hv_checker;

/* A checker for db (borrowed: it must outlive the checker). Errors:
 * HV_EINVAL, HV_ENOMEM. Free with hv_checker_free. */
int hv_checker_new(struct hv_db *db, struct hv_checker **out);
/* Frees the checker. NULL is a no-op. */
void hv_checker_free(struct hv_checker *chk);

/*
 * Checks op (borrowed) against the db as it is now: protected sites within
 * reach, movements on their route in the window, zones where an agreement in
 * force forbids the operation's kind to its author, guarantors to tell, the
 * target's standing, the delineations at its point (docs/checks.md). *out gets
 * a new verdict the caller frees with hv_verdict_free; it is not recorded (see
 * hv_db_record_check). Errors: HV_EINVAL (op incomplete: err names the
 * field), HV_EREF (no party op->author), HV_ENOMEM, HV_EGEOMETRY,
 * HV_EGEODESY.
 */
int hv_check(struct hv_checker *chk, const struct hv_operation *op,
             struct hv_verdict **out, struct hv_error *err);

/* The principal a party is when it asks: the coordinator for
 * HV_COORDINATOR, else the role its kind gives (agency, monitor, party);
 * party borrowed. */
struct hv_principal hv_check_principal(const struct hv_db *db,
                                       const char *party);

/*
 * The answer as who may see it: {"verdict", "at_seq", "request",
 * "reasons": [...]}. A site or movement who may not see in full
 * (hv_visibility), and every blind one whoever asks, appears with its
 * category and distance band only: never its id, version, coordinates or
 * exact distance. Caller owns it; NULL when out of memory.
 */
json_t *hv_verdict_answer_json(const struct hv_principal *who,
                               const struct hv_db *db,
                               const struct hv_verdict *v);

/* The receipt of a recorded verdict: {"seq", "author", "at_seq",
 * "request_hash", "answer_hash", "objects": [{kind,id,version}], "sets":
 * [{kind,count,digest}]} — objects lists only what the author may see in
 * full. Caller owns it; NULL when out of memory or not recorded. */
json_t *hv_verdict_receipt_json(const struct hv_db *db,
                                const struct hv_verdict *v);

/* {"answer": hv_verdict_answer_json, "receipt": hv_verdict_receipt_json
 * (null until recorded)}. Caller owns it; NULL when out of memory. */
json_t *hv_verdict_json(const struct hv_principal *who, const struct hv_db *db,
                        const struct hv_verdict *v);

/*
 * Records the check in db's ledger as author (the asking party): one
 * ledger-only entry, op and kind "check", id its seq, body the canonical
 * {"request", "answer" (the author's view), "receipt" (without seq)}.
 * Sets v->seq, v->answer_hash and v->request_hash; *seq (may be NULL) gets
 * the entry's seq. author must be v->author. Errors: HV_EINVAL (author
 * differs), HV_EREF, HV_ESTORE, HV_ECONFLICT, HV_ENOMEM.
 */
int hv_db_record_check(struct hv_db *db, const char *author,
                       const struct hv_operation *op, struct hv_verdict *v,
                       int64_t *seq, struct hv_error *err);

/*
 * Verifies a receipt (borrowed; the form of hv_verdict_receipt_json)
 * against db's ledger: the entry at receipt.seq is a check by
 * receipt.author whose recorded request and answer hash to
 * request_hash and answer_hash and whose receipt lists the same objects
 * and sets; every (kind, id, version) listed was that object's current
 * version at at_seq; each set's count and digest are those of the kind at
 * at_seq. Returns HV_OK, or HV_ETAMPER with err saying what does not
 * match; HV_ESCHEMA (not a receipt), HV_ENOTFOUND (no entry at seq),
 * HV_ESTORE, HV_ENOMEM.
 */
int hv_check_verify_receipt(struct hv_db *db, const json_t *receipt,
                            struct hv_error *err);

/* The distance band of a reason shown without its object: "< 1 km",
 * "1-5 km", "5-10 km", "10-25 km", ">= 25 km". Static. */
const char *hv_check_band(double distance_m);

#ifdef __cplusplus
}
#endif
#endif
