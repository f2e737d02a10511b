/*
 * haven/object.h — the objects of the agreed map: parties, agreements,
 * zones, corridors, protected sites, delineations, administrative areas,
 * and the notified movements of humanitarian agencies.
 *
 * An object is parsed from its canonical document (a flat JSON object, see
 * docs/formats.md) and is immutable once made: a change makes a new object
 * with version + 1. Strings inside point into the document and live as long
 * as the object. Times are milliseconds since the Unix epoch, UTC
 * (HV_TIME_OPEN for an open end).
 */
#ifndef HAVEN_OBJECT_H
#define HAVEN_OBJECT_H

#include <geos_c.h>
#include <jansson.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HV_TIME_OPEN INT64_MAX
#define HV_ID_MAX 64

enum hv_kind {
  HV_PARTY,
  HV_AGREEMENT,
  HV_ZONE,
  HV_CORRIDOR,
  HV_SITE,
  HV_DELINEATION,
  HV_AREA,
  HV_MOVEMENT, /* a notified convoy, evacuation, ... (collection "movements") */
  HV_INCIDENT, /* what happened, as reported (haven/adjudicate.h) */
  HV_TOKEN,    /* a credential (haven/auth.h); never imported or exported */
  HV_KIND_COUNT,
  /* Not an object kind (no table, no rows, never parsed by hv_kind_parse):
   * a finding of the live picture, kept in the ledger only (ledger kind
   * "finding"). hv_visibility() takes it. */
  HV_FINDING = HV_KIND_COUNT,
  /* Not an object kind either: an acknowledgement of a notification
   * (haven/notify.h), ledger only (ledger kind "ack"). hv_visibility()
   * takes it. */
  HV_ACK,
  /* Nor this: a deconfliction check with its answer and receipt
   * (haven/check.h), ledger only (ledger kind "check"). */
  HV_CHECK
};

/* "party", "agreement", "zone", "corridor", "site", "delineation", "area",
 * "movement", "incident", "token"; "?" out of range (HV_FINDING included: its ledger kind
 * is "finding"). */
const char *hv_kind_name(enum hv_kind kind);
/* The kind named name; HV_EINVAL when there is none. */
int hv_kind_parse(const char *name, enum hv_kind *out);

enum hv_phase {
  HV_PHASE_DECLARED,
  HV_PHASE_ESTABLISHED,
  HV_PHASE_OPEN,
  HV_PHASE_SUSPENDED,
  HV_PHASE_DISSOLVED,
  HV_PHASE_COUNT
};
const char *hv_phase_name(enum hv_phase phase);
int hv_phase_parse(const char *name, enum hv_phase *out);
/* 1 when a zone may go from one phase to the other (docs/formats.md). */
int hv_phase_allowed(enum hv_phase from, enum hv_phase to);

enum hv_asset_class {
  HV_ASSET_FIXED_WING,
  HV_ASSET_ROTARY,
  HV_ASSET_UAV,
  HV_ASSET_GROUND_ARMED,
  HV_ASSET_GROUND_CIVIL,
  HV_ASSET_HUMANITARIAN,
  HV_ASSET_COUNT
};
const char *hv_asset_class_name(enum hv_asset_class c);
int hv_asset_class_parse(const char *name, enum hv_asset_class *out);

/* The role a credential gives its party (haven/auth.h). */
enum hv_role {
  HV_ROLE_COORDINATOR, /* the coordination cell: everything */
  HV_ROLE_PARTY,       /* one party's operations centre */
  HV_ROLE_AGENCY,      /* a humanitarian agency */
  HV_ROLE_MONITOR,     /* an observer mission */
  HV_ROLE_COUNT
};
const char *hv_role_name(enum hv_role r);
int hv_role_parse(const char *name, enum hv_role *out);

/* What an incident's location stands for (docs/formats.md "Incident"). */
enum hv_loc_precision {
  HV_PREC_EXACT,
  HV_PREC_NEAR,
  HV_PREC_DISTRICT,
  HV_PREC_PROVINCE,
  HV_PREC_COUNTRY,
  HV_PREC_COUNT
};
const char *hv_loc_precision_name(enum hv_loc_precision p);

/* What an incident did, from its ACLED event and sub-event types
 * (docs/incidents.md "Actions"): the agreement terms it falls under. */
enum hv_action {
  HV_ACT_AIR_STRIKE,       /* Air/drone strike */
  HV_ACT_SHELLING,         /* Shelling/artillery/missile attack */
  HV_ACT_GROUND_OFFENSIVE, /* Battles */
  HV_ACT_CHEMICAL,         /* Chemical weapon */
  HV_ACT_ATTACK,           /* any other hostile act: IED, grenade, suicide
                              bomb, violence against civilians */
  HV_ACT_NONE,             /* protests, riots, strategic developments */
  HV_ACT_COUNT
};
const char *hv_action_name(enum hv_action a);

/* A phase change of a zone: at t_ms, by party `by`. */
struct hv_phase_change {
  enum hv_phase phase;
  int64_t at_ms;
  const char *by;
  const char *reason; /* NULL when none was given */
};

/* A zone rule: which classes of which parties may be inside / overfly. */
struct hv_rule {
  const char **parties; /* NULL-terminated; {"*", NULL} = every party */
  unsigned classes;     /* bit (1u << hv_asset_class) per class */
  int inside, overfly;  /* 1 = permitted */
};

struct hv_window {
  int64_t from_ms, to_ms;
};

/* A NULL-terminated array of ids borrowed from the document. */
typedef const char **hv_ids;

/* An agreement's separation minima for the aircraft of the parties it
 * applies to (haven/tracks.h gives the rule). Each value is meaningful only
 * when its has_ flag is 1; all three flags are 0 when the agreement has no
 * "separation". Ranges as struct hv_sep_params (haven/separation.h). */
struct hv_agreement_sep {
  int has_horizontal, has_vertical, has_lookahead;
  double horizontal_m, vertical_m, lookahead_s;
};

struct hv_object {
  enum hv_kind kind;
  const char *id;
  int64_t version;
  const char *name; /* NULL for a delineation */
  int64_t from_ms;  /* validity; 0 / HV_TIME_OPEN where the kind has none */
  int64_t to_ms;
  json_t *doc;        /* canonical document, owned by the object */
  GEOSGeometry *geom; /* NULL for parties and agreements */
  const GEOSPreparedGeometry *prepared; /* for fast point tests */
  double minx, miny, maxx, maxy;        /* envelope of geom */
  union {
    struct {
      const char *kind;    /* state, armed_group, agency, monitor, designated */
      const char *sponsor; /* NULL when none */
      hv_ids aliases;
    } party;
    struct {
      const char *kind;
      int nationwide;
      hv_ids scope; /* zone ids when not nationwide */
      hv_ids covered, excluded, guarantors, terms; /* terms may be empty
                                                       only with separation */
      struct hv_agreement_sep separation;
    } agreement;
    struct {
      const char *kind;
      double alt_min_m, alt_max_m; /* -INFINITY / INFINITY when open */
      enum hv_phase phase;         /* current */
      struct hv_phase_change *history;
      size_t n_history;
      hv_ids guarantors;
      struct hv_rule *rules;
      size_t n_rules;
    } zone;
    struct {
      double half_width_m;
      const char *status;
      hv_ids connects, guarantors;
      struct hv_window *windows;
      size_t n_windows;
      GEOSGeometry *area; /* the line buffered by half_width_m, WGS84 */
      double area_m2;
    } corridor;
    struct {
      const char *category;
      double radius_m;
      const char *notified_by;
      int64_t notified_ms; /* 0 when not given */
      double lon, lat;
      hv_ids recipients; /* delivered to; {"*"} = every party; may be empty */
      int blind;         /* 1: disclosure "blind" (hidden from all but the
                            coordinator and the notifier) */
      int64_t review_by_ms; /* HV_TIME_OPEN when not given */
      int64_t withdrawn_ms; /* 0 when not withdrawn; still protects */
    } site;
    struct {
      const char *kind;        /* convoy, evacuation, medical, staff */
      const char *notified_by; /* an agency */
      int64_t notified_ms;     /* given, or the time it was first recorded */
      const char *corridor;    /* NULL when the route is obj->geom */
      hv_ids recipients;       /* as a site's */
      int blind;               /* as a site's */
      int emergency;           /* 1: 24 h lead time instead of 48 h */
      int late;                /* 1: notified_ms > valid_from - lead time */
      long vehicles;           /* >= 1 */
      double half_width_m;     /* distance from the route it occupies */
      int64_t withdrawn_ms;    /* 0 when not withdrawn */
      int64_t completed_ms;    /* 0: not reported completed */
    } movement;
    struct {
      int64_t t_ms, t_end_ms; /* [time, time_end); also from_ms / to_ms */
      enum hv_loc_precision precision;
      double uncertainty_m; /* exact, near, district: the radius */
      const char *area;     /* province: the area id given, else NULL */
      const char *event_type, *sub_event_type; /* sub NULL when absent */
      enum hv_action action;                   /* from the two types */
      const char *perpetrator;                 /* party id or NULL */
      int suspected;                           /* perpetrator_certainty */
      const char *sides[2];                    /* party ids or NULL */
      const char *target;        /* civilians, party, site, infra..., unknown */
      const char *target_party;  /* NULL when not given */
      const char *target_site;   /* NULL when not given */
      long fatalities;           /* -1: not known */
      int hide_reporter;
      double coarsen_m; /* 0: not coarsened */
    } incident;
    struct {
      const char *party;
    } delineation;
    struct {
      const char *pcode;
    } area;
    struct {
      const char *party;
      enum hv_role role;
      const char *hash; /* hex BLAKE2b-256 of the secret */
      int revoked;
    } token;
  } u;
};

/* The phase a zone was in at t_ms: the last change at or before t_ms; when
 * t_ms is before the first change, the first recorded phase. */
enum hv_phase hv_zone_phase_at(const struct hv_object *zone, int64_t t_ms);

/* 1 when the zone is valid at t_ms and not dissolved then. */
int hv_zone_in_force(const struct hv_object *zone, int64_t t_ms);

/* Whether the zone's rules permit an asset of party `party` and class c to
 * be inside (overfly = 0) or to fly over (overfly = 1): the first rule that
 * matches decides; no matching rule permits. Returns 1 or 0. */
int hv_zone_permits(const struct hv_object *zone, const char *party,
                    enum hv_asset_class c, int overfly);

/* Lead times of a movement's notification before its valid_from: less is
 * accepted and flagged late. */
#define HV_LEAD_TIME_MS (48LL * 3600 * 1000)
#define HV_LEAD_TIME_EMERGENCY_MS (24LL * 3600 * 1000)

/* 1 when id is in the NULL-terminated list (NULL list: 0). */
int hv_ids_contain(hv_ids ids, const char *id);

/* Times: parses RFC 3339 ("2016-02-27T00:00:00Z", "+02:00" offsets,
 * fractions of a second) or a date alone ("2016-02-27" = midnight UTC).
 * Errors: HV_EPARSE. */
int hv_time_parse(const char *text, int64_t *out_ms);
/* Formats t_ms as "2016-02-27T00:00:00Z" (".123" added when there are
 * milliseconds) into buf of size >= 32; "open" for HV_TIME_OPEN. */
const char *hv_time_format(int64_t t_ms, char *buf, size_t size);
/* Current wall-clock time in ms. */
int64_t hv_time_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif
