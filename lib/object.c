/*
 * object.c — the schema of every kind of object, and objects made from
 * canonical documents.
 *
 * Invariants:
 * - an object exists only if its document passed its kind's schema: every
 *   member known, of the right type, required members present, times
 *   parseable, enums in their vocabulary, geometry valid;
 * - every string an object points to lives in its document, so an object is
 *   freed with its document and never outlives it;
 * - objects are never changed after hv__object_new: a change is a new object.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "haven/separation.h"
#include "object.h"

static const char *const KIND_NAMES[HV_KIND_COUNT] = {
    "party",       "agreement", "zone",     "corridor", "site",
    "delineation", "area",      "movement", "incident", "token"};

const char *hv_kind_name(enum hv_kind kind) {
  return (unsigned)kind < HV_KIND_COUNT ? KIND_NAMES[kind] : "?";
}

static int lookup(const char *const *names, int n, const char *s) {
  for (int i = 0; s && i < n; i++)
    if (names[i] && strcmp(names[i], s) == 0)
      return i;
  return -1;
}

int hv_kind_parse(const char *name, enum hv_kind *out) {
  int i = lookup(KIND_NAMES, HV_KIND_COUNT, name);
  if (i < 0)
    return HV_EINVAL;
  *out = (enum hv_kind)i;
  return HV_OK;
}

/* NULL-terminated: check_enum walks to the NULL. */
static const char *const PHASE_NAMES[HV_PHASE_COUNT + 1] = {
    "declared", "established", "open", "suspended", "dissolved", NULL};

const char *hv_phase_name(enum hv_phase p) {
  return (unsigned)p < HV_PHASE_COUNT ? PHASE_NAMES[p] : "?";
}

int hv_phase_parse(const char *name, enum hv_phase *out) {
  int i = lookup(PHASE_NAMES, HV_PHASE_COUNT, name);
  if (i < 0)
    return HV_EINVAL;
  *out = (enum hv_phase)i;
  return HV_OK;
}

int hv_phase_allowed(enum hv_phase from, enum hv_phase to) {
  if (from == HV_PHASE_DISSOLVED || from == to)
    return 0;
  if (to == HV_PHASE_DISSOLVED)
    return 1;
  switch (from) {
  case HV_PHASE_DECLARED:
    return to == HV_PHASE_ESTABLISHED;
  case HV_PHASE_ESTABLISHED:
    return to == HV_PHASE_OPEN || to == HV_PHASE_SUSPENDED;
  case HV_PHASE_OPEN:
    return to == HV_PHASE_SUSPENDED;
  case HV_PHASE_SUSPENDED:
    return to == HV_PHASE_OPEN || to == HV_PHASE_ESTABLISHED;
  default:
    return 0;
  }
}

/* NULL-terminated: check_enum walks to the NULL. */
static const char *const ROLE_NAMES[HV_ROLE_COUNT + 1] = {
    "coordinator", "party", "agency", "monitor", NULL};

const char *hv_role_name(enum hv_role r) {
  return (unsigned)r < HV_ROLE_COUNT ? ROLE_NAMES[r] : "?";
}

int hv_role_parse(const char *name, enum hv_role *out) {
  int i = lookup(ROLE_NAMES, HV_ROLE_COUNT, name);
  if (i < 0)
    return HV_EINVAL;
  *out = (enum hv_role)i;
  return HV_OK;
}

static const char *const ASSET_NAMES[HV_ASSET_COUNT] = {
    "fixed_wing",   "rotary",       "uav",
    "ground_armed", "ground_civil", "humanitarian"};

const char *hv_asset_class_name(enum hv_asset_class c) {
  return (unsigned)c < HV_ASSET_COUNT ? ASSET_NAMES[c] : "?";
}

int hv_asset_class_parse(const char *name, enum hv_asset_class *out) {
  int i = lookup(ASSET_NAMES, HV_ASSET_COUNT, name);
  if (i < 0)
    return HV_EINVAL;
  *out = (enum hv_asset_class)i;
  return HV_OK;
}

int hv_ids_contain(hv_ids ids, const char *id) {
  for (size_t i = 0; ids && ids[i]; i++)
    if (strcmp(ids[i], id) == 0)
      return 1;
  return 0;
}

int hv__id_valid(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > HV_ID_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
          c == '-'))
      return 0;
  }
  return 1;
}

char *hv__canon(const json_t *doc) { return json_dumps(doc, HV__JSON_CANON); }

/* ---- the schema ----------------------------------------------------------
 * One table per kind: member name, type, required. Members of type T_CUSTOM
 * are checked by the kind's own code below. */

enum mtype {
  T_STRING,
  T_ID,
  T_IDS,
  T_STRINGS,
  T_TIME,
  T_TIME_OR_NULL,
  T_NUMBER,
  T_COUNT,
  T_ID_OR_NULL,
  T_BOOL,
  T_CUSTOM
};

struct member {
  const char *name;
  enum mtype type;
  int required;
};

#define COMMON                                                                 \
  {"id", T_ID, 1}, { "version", T_COUNT, 0 }
static const struct member PARTY_M[] = {COMMON,
                                        {"name", T_STRING, 1},
                                        {"kind", T_CUSTOM, 1},
                                        {"aliases", T_STRINGS, 0},
                                        {"sponsor", T_ID_OR_NULL, 0},
                                        {"notes", T_STRING, 0},
                                        {NULL, 0, 0}};
static const struct member AGREEMENT_M[] = {COMMON,
                                            {"name", T_STRING, 1},
                                            {"kind", T_CUSTOM, 1},
                                            {"valid_from", T_TIME, 1},
                                            {"valid_to", T_TIME_OR_NULL, 0},
                                            {"scope", T_CUSTOM, 1},
                                            {"covered", T_IDS, 1},
                                            {"excluded", T_IDS, 0},
                                            {"guarantors", T_IDS, 0},
                                            {"terms", T_CUSTOM, 1},
                                            {"separation", T_CUSTOM, 0},
                                            {"notes", T_STRING, 0},
                                            {NULL, 0, 0}};
static const struct member ZONE_M[] = {COMMON,
                                       {"geometry", T_CUSTOM, 1},
                                       {"name", T_STRING, 1},
                                       {"kind", T_CUSTOM, 1},
                                       {"valid_from", T_TIME, 1},
                                       {"valid_to", T_TIME_OR_NULL, 0},
                                       {"alt_min_m", T_NUMBER, 0},
                                       {"alt_max_m", T_NUMBER, 0},
                                       {"phase", T_CUSTOM, 1},
                                       {"phase_history", T_CUSTOM, 0},
                                       {"guarantors", T_IDS, 0},
                                       {"rules", T_CUSTOM, 0},
                                       {"capacity", T_COUNT, 0},
                                       {"population", T_COUNT, 0},
                                       {"notes", T_STRING, 0},
                                       {"source", T_STRING, 0},
                                       {NULL, 0, 0}};
static const struct member CORRIDOR_M[] = {COMMON,
                                           {"geometry", T_CUSTOM, 1},
                                           {"name", T_STRING, 1},
                                           {"half_width_m", T_NUMBER, 1},
                                           {"connects", T_IDS, 0},
                                           {"windows", T_CUSTOM, 0},
                                           {"status", T_CUSTOM, 1},
                                           {"guarantors", T_IDS, 0},
                                           {"notes", T_STRING, 0},
                                           {"source", T_STRING, 0},
                                           {NULL, 0, 0}};
static const struct member SITE_M[] = {COMMON,
                                       {"geometry", T_CUSTOM, 1},
                                       {"name", T_STRING, 1},
                                       {"category", T_CUSTOM, 1},
                                       {"radius_m", T_NUMBER, 1},
                                       {"notified_by", T_ID, 1},
                                       {"notified_at", T_TIME, 0},
                                       {"recipients", T_CUSTOM, 0},
                                       {"disclosure", T_CUSTOM, 0},
                                       {"review_by", T_TIME, 0},
                                       {"withdrawn_at", T_TIME, 0},
                                       {"notes", T_STRING, 0},
                                       {"source", T_STRING, 0},
                                       {NULL, 0, 0}};
static const struct member MOVEMENT_M[] = {COMMON,
                                           {"geometry", T_CUSTOM, 0},
                                           {"corridor", T_ID, 0},
                                           {"name", T_STRING, 1},
                                           {"kind", T_CUSTOM, 1},
                                           {"notified_by", T_ID, 1},
                                           {"notified_at", T_TIME, 0},
                                           {"valid_from", T_TIME, 1},
                                           {"valid_to", T_TIME, 1},
                                           {"vehicles", T_CUSTOM, 1},
                                           {"markings", T_STRING, 0},
                                           {"contact", T_STRING, 0},
                                           {"recipients", T_CUSTOM, 0},
                                           {"disclosure", T_CUSTOM, 0},
                                           {"emergency", T_BOOL, 0},
                                           {"half_width_m", T_NUMBER, 0},
                                           {"withdrawn_at", T_TIME, 0},
                                           {"completed_at", T_TIME, 0},
                                           {"notes", T_STRING, 0},
                                           {NULL, 0, 0}};
static const struct member INCIDENT_M[] = {
    COMMON,
    {"geometry", T_CUSTOM, 1},
    {"time", T_TIME, 1},
    {"time_end", T_TIME, 0},
    {"location_precision", T_CUSTOM, 0},
    {"uncertainty_m", T_NUMBER, 0},
    {"area", T_ID, 0},
    {"event_type", T_CUSTOM, 1},
    {"sub_event_type", T_CUSTOM, 0},
    {"perpetrator", T_ID_OR_NULL, 0},
    {"perpetrator_certainty", T_CUSTOM, 0},
    {"sides", T_IDS, 0},
    {"actors", T_STRINGS, 0},
    {"target", T_CUSTOM, 0},
    {"target_party", T_ID, 0},
    {"target_site", T_ID, 0},
    {"fatalities", T_COUNT, 0},
    {"source", T_STRING, 0},
    {"source_id", T_STRING, 0},
    {"confidence", T_CUSTOM, 0},
    {"evidence", T_CUSTOM, 0},
    {"reporter", T_STRING, 0},
    {"hide_reporter", T_BOOL, 0},
    {"coarsen_m", T_NUMBER, 0},
    {"name", T_STRING, 0},
    {"notes", T_STRING, 0},
    {NULL, 0, 0}};
static const struct member DELINEATION_M[] = {COMMON,
                                              {"geometry", T_CUSTOM, 1},
                                              {"party", T_ID, 1},
                                              {"valid_from", T_TIME, 1},
                                              {"valid_to", T_TIME_OR_NULL, 0},
                                              {"notes", T_STRING, 0},
                                              {"source", T_STRING, 0},
                                              {NULL, 0, 0}};
static const struct member TOKEN_M[] = {
    COMMON, {"party", T_ID, 1}, {"role", T_CUSTOM, 1}, {"hash", T_CUSTOM, 1},
    {"label", T_STRING, 0}, {"created_at", T_TIME, 1},
    {"revoked", T_CUSTOM, 0}, {NULL, 0, 0}};
static const struct member AREA_M[] = {COMMON,
                                       {"geometry", T_CUSTOM, 1},
                                       {"name", T_STRING, 1},
                                       {"pcode", T_STRING, 0},
                                       {"level", T_STRING, 0},
                                       {"population", T_COUNT, 0},
                                       {"source", T_STRING, 0},
                                       {NULL, 0, 0}};

static const struct member *const SCHEMA[HV_KIND_COUNT] = {
    PARTY_M,       AGREEMENT_M, ZONE_M,     CORRIDOR_M, SITE_M,
    DELINEATION_M, AREA_M,      MOVEMENT_M, INCIDENT_M, TOKEN_M};

static const char *const PARTY_KINDS[] = {"state",   "armed_group", "agency",
                                          "monitor", "designated",  NULL};
static const char *const AGREEMENT_KINDS[] = {"cessation_of_hostilities",
                                              "de_escalation",
                                              "no_fly",
                                              "humanitarian_pause",
                                              "ceasefire",
                                              "deconfliction",
                                              NULL};
static const char *const ZONE_KINDS[] = {
    "safe", "de_escalation", "no_fly", "buffer", "security", "exclusion", NULL};
static const char *const TERMS[] = {
    "air_strike",     "shelling", "ground_offensive", "military_flight",
    "armed_presence", "siege",    "chemical_weapons", NULL};
static const char *const CORRIDOR_STATUS[] = {"open", "closed", "blocked",
                                              NULL};
static const char *const SITE_CATEGORIES[] = {
    "hospital", "school", "shelter",   "camp",     "aid_warehouse",
    "water",    "power",  "religious", "cultural", NULL};
static const char *const MOVEMENT_KINDS[] = {"convoy", "evacuation", "medical",
                                             "staff", NULL};
static const char *const DISCLOSURES[] = {"disclosed", "blind", NULL};
static const char *const PRECISIONS[HV_PREC_COUNT + 1] = {
    "exact", "near", "district", "province", "country", NULL};
static const char *const ACTIONS[HV_ACT_COUNT] = {
    "air_strike", "shelling", "ground_offensive", "chemical_weapons",
    "attack",     "none"};
static const char *const EVENT_TYPES[] = {"Battles",
                                          "Explosions/Remote violence",
                                          "Violence against civilians",
                                          "Protests",
                                          "Riots",
                                          "Strategic developments",
                                          NULL};
/* ACLED's sub-event types, per event type (same order), with the action
 * each stands for (docs/incidents.md "Actions"). */
struct sub_event {
  const char *name;
  enum hv_action action;
};
static const struct sub_event SUB_EVENTS[][9] = {
    {{"Armed clash", HV_ACT_GROUND_OFFENSIVE},
     {"Government regains territory", HV_ACT_GROUND_OFFENSIVE},
     {"Non-state actor overtakes territory", HV_ACT_GROUND_OFFENSIVE},
     {NULL, 0}},
    {{"Chemical weapon", HV_ACT_CHEMICAL},
     {"Air/drone strike", HV_ACT_AIR_STRIKE},
     {"Suicide bomb", HV_ACT_ATTACK},
     {"Shelling/artillery/missile attack", HV_ACT_SHELLING},
     {"Remote explosive/landmine/IED", HV_ACT_ATTACK},
     {"Grenade", HV_ACT_ATTACK},
     {NULL, 0}},
    {{"Sexual violence", HV_ACT_ATTACK},
     {"Attack", HV_ACT_ATTACK},
     {"Abduction/forced disappearance", HV_ACT_ATTACK},
     {NULL, 0}},
    {{"Peaceful protest", HV_ACT_NONE},
     {"Protest with intervention", HV_ACT_NONE},
     {"Excessive force against protesters", HV_ACT_ATTACK},
     {NULL, 0}},
    {{"Violent demonstration", HV_ACT_NONE},
     {"Mob violence", HV_ACT_NONE},
     {NULL, 0}},
    {{"Agreement", HV_ACT_NONE},
     {"Arrests", HV_ACT_NONE},
     {"Change to group/activity", HV_ACT_NONE},
     {"Disrupted weapons use", HV_ACT_NONE},
     {"Headquarters or base established", HV_ACT_NONE},
     {"Looting/property destruction", HV_ACT_NONE},
     {"Non-violent transfer of territory", HV_ACT_NONE},
     {"Other", HV_ACT_NONE},
     {NULL, 0}}};
/* The action of an event type without a sub-event type. */
static const enum hv_action EVENT_ACTIONS[] = {
    HV_ACT_GROUND_OFFENSIVE, HV_ACT_ATTACK, HV_ACT_ATTACK,
    HV_ACT_NONE,             HV_ACT_NONE,   HV_ACT_NONE};
static const char *const TARGETS[] = {"civilians",      "party",   "site",
                                      "infrastructure", "unknown", NULL};
static const char *const CERTAINTIES[] = {"known", "suspected", NULL};
static const char *const CONFIDENCES[] = {"high", "medium", "low", NULL};

const char *hv_loc_precision_name(enum hv_loc_precision p) {
  return (unsigned)p < HV_PREC_COUNT ? PRECISIONS[p] : "?";
}

const char *hv_action_name(enum hv_action a) {
  return (unsigned)a < HV_ACT_COUNT ? ACTIONS[a] : "?";
}

/* The members list of an enum as text, for messages. */
static void enum_list(const char *const *names, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; names[i] && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                             names[i]);
}

static int check_enum(const json_t *v, const char *field,
                      const char *const *names, const char **out,
                      struct hv_error *err) {
  const char *s = json_string_value(v);
  for (size_t i = 0; s && names[i]; i++)
    if (strcmp(names[i], s) == 0) {
      *out = names[i];
      return HV_OK;
    }
  char list[512];
  enum_list(names, list, sizeof list);
  if (s == NULL)
    return hv_error_set(err, HV_ESCHEMA, "%s: must be a string, one of: %s",
                        field, list);
  return hv_error_set(err, HV_ESCHEMA, "%s: \"%s\" is not one of: %s", field, s,
                      list);
}

static int check_time(const json_t *v, const char *field, int64_t *out,
                      struct hv_error *err) {
  if (!json_is_string(v) || hv_time_parse(json_string_value(v), out) != HV_OK)
    return hv_error_set(err, HV_ESCHEMA,
                        "%s: not an RFC 3339 time (e.g. "
                        "\"2016-02-27T00:00:00Z\" or \"2016-02-27\")",
                        field);
  return HV_OK;
}

static int check_member(const struct member *m, const json_t *v,
                        struct hv_error *err) {
  int64_t t;
  switch (m->type) {
  case T_STRING:
    if (!json_is_string(v))
      return hv_error_set(err, HV_ESCHEMA, "%s: must be a string", m->name);
    return HV_OK;
  case T_ID:
    if (!json_is_string(v) || !hv__id_valid(json_string_value(v)))
      return hv_error_set(err, HV_ESCHEMA,
                          "%s: must be an id (1-64 of A-Z a-z 0-9 _ . : -)",
                          m->name);
    return HV_OK;
  case T_ID_OR_NULL:
    if (json_is_null(v))
      return HV_OK;
    if (!json_is_string(v) || !hv__id_valid(json_string_value(v)))
      return hv_error_set(err, HV_ESCHEMA, "%s: must be an id or null",
                          m->name);
    return HV_OK;
  case T_IDS:
  case T_STRINGS: {
    if (!json_is_array(v))
      return hv_error_set(err, HV_ESCHEMA, "%s: must be an array of %s",
                          m->name, m->type == T_IDS ? "ids" : "strings");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (!json_is_string(e) ||
          (m->type == T_IDS && !hv__id_valid(json_string_value(e))))
        return hv_error_set(err, HV_ESCHEMA, "%s[%zu]: must be %s", m->name, i,
                            m->type == T_IDS ? "an id" : "a string");
      for (size_t j = 0; j < i; j++)
        if (strcmp(json_string_value(json_array_get(v, j)),
                   json_string_value(e)) == 0)
          return hv_error_set(err, HV_ESCHEMA, "%s[%zu]: \"%s\" listed twice",
                              m->name, i, json_string_value(e));
    }
    return HV_OK;
  }
  case T_TIME:
    return check_time(v, m->name, &t, err);
  case T_TIME_OR_NULL:
    return json_is_null(v) ? HV_OK : check_time(v, m->name, &t, err);
  case T_NUMBER:
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
      return hv_error_set(err, HV_ESCHEMA, "%s: must be a number", m->name);
    return HV_OK;
  case T_COUNT:
    if (!json_is_integer(v) || json_integer_value(v) < 0)
      return hv_error_set(err, HV_ESCHEMA, "%s: must be a whole number >= 0",
                          m->name);
    return HV_OK;
  case T_BOOL:
    if (!json_is_boolean(v))
      return hv_error_set(err, HV_ESCHEMA, "%s: must be true or false",
                          m->name);
    return HV_OK;
  case T_CUSTOM:
    return HV_OK;
  }
  return HV_OK;
}

static const char *article(enum hv_kind kind) {
  return kind == HV_AGREEMENT || kind == HV_AREA ? "an" : "a";
}

/* The time of optional member key into *out (parsed already by the schema
 * check); dflt when absent. */
static int64_t time_or(const json_t *doc, const char *key, int64_t dflt) {
  int64_t t = dflt;
  const json_t *v = json_object_get(doc, key);
  if (v && hv_time_parse(json_string_value(v), &t) != HV_OK)
    t = dflt;
  return t;
}

static int check_schema(enum hv_kind kind, const json_t *doc,
                        struct hv_error *err) {
  const struct member *ms = SCHEMA[kind];
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)doc, key, v) {
    const struct member *m = ms;
    while (m->name && strcmp(m->name, key) != 0)
      m++;
    if (m->name == NULL)
      return hv_error_set(err, HV_ESCHEMA,
                          "%s: unknown member for %s %s (see docs/formats.md)",
                          key, article(kind), hv_kind_name(kind));
    int rc = check_member(m, v, err);
    if (rc != HV_OK)
      return rc;
  }
  for (const struct member *m = ms; m->name; m++)
    if (m->required && json_object_get(doc, m->name) == NULL)
      return hv_error_set(err, HV_ESCHEMA, "%s: missing (required for %s %s)",
                          m->name, article(kind), hv_kind_name(kind));
  return HV_OK;
}

/* ---- building the object --------------------------------------------------
 */

static const char *str(const json_t *doc, const char *key) {
  return json_string_value(json_object_get(doc, key));
}

/* A NULL-terminated list of the strings of array member key (empty list when
 * absent). The strings are borrowed from doc. */
static int ids_of(const json_t *doc, const char *key, hv_ids *out) {
  const json_t *a = json_object_get(doc, key);
  size_t n = json_is_array(a) ? json_array_size(a) : 0;
  const char **v = calloc(n + 1, sizeof *v);
  if (v == NULL)
    return HV_ENOMEM;
  for (size_t i = 0; i < n; i++)
    v[i] = json_string_value(json_array_get(a, i));
  *out = v;
  return HV_OK;
}

static int validity(struct hv_object *o, struct hv_error *err) {
  o->from_ms = 0;
  o->to_ms = HV_TIME_OPEN;
  const json_t *f = json_object_get(o->doc, "valid_from");
  const json_t *t = json_object_get(o->doc, "valid_to");
  if (f)
    hv_time_parse(json_string_value(f), &o->from_ms);
  if (t && !json_is_null(t))
    hv_time_parse(json_string_value(t), &o->to_ms);
  if (o->to_ms <= o->from_ms)
    return hv_error_set(err, HV_ESCHEMA, "valid_to: must be after valid_from");
  return HV_OK;
}

static int geometry(struct hv_geo *geo, struct hv_object *o, const int *types,
                    const char *expect, struct hv_error *err) {
  int rc = hv_geo_from_geojson(geo, json_object_get(o->doc, "geometry"),
                               &o->geom, err);
  if (rc != HV_OK)
    return rc;
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  int t = GEOSGeomTypeId_r(gh, o->geom);
  int ok = 0;
  for (const int *p = types; *p >= 0; p++)
    ok |= *p == t;
  if (!ok)
    return hv_error_set(err, HV_ESCHEMA, "geometry: %s %s must be a %s",
                        article(o->kind), hv_kind_name(o->kind), expect);
  GEOSGeom_getExtent_r(gh, o->geom, &o->minx, &o->miny, &o->maxx, &o->maxy);
  o->prepared = GEOSPrepare_r(gh, o->geom);
  return o->prepared ? HV_OK : HV_ENOMEM;
}

static int party(struct hv_object *o, struct hv_error *err) {
  int rc = check_enum(json_object_get(o->doc, "kind"), "kind", PARTY_KINDS,
                      &o->u.party.kind, err);
  if (rc != HV_OK)
    return rc;
  o->u.party.sponsor = str(o->doc, "sponsor");
  if (o->u.party.sponsor && strcmp(o->u.party.sponsor, o->id) == 0)
    return hv_error_set(err, HV_ECYCLE,
                        "sponsor: a party cannot sponsor "
                        "itself");
  const json_t *aliases = json_object_get(o->doc, "aliases");
  size_t i;
  json_t *a;
  json_array_foreach(aliases, i, a) {
    if (json_string_length(a) == 0)
      return hv_error_set(err, HV_ESCHEMA, "aliases[%zu]: empty", i);
    for (size_t j = 0; j < i; j++)
      if (strcasecmp(json_string_value(a),
                     json_string_value(json_array_get(aliases, j))) == 0)
        return hv_error_set(err, HV_ESCHEMA,
                            "aliases[%zu]: \"%s\" listed twice", i,
                            json_string_value(a));
  }
  return ids_of(o->doc, "aliases", &o->u.party.aliases);
}

/* An agreement's "separation": {"horizontal_m", "vertical_m",
 * "lookahead_s"}, each optional, at least one, each a number in the range
 * of struct hv_sep_params (haven/separation.h). */
static int separation(struct hv_object *o, struct hv_error *err) {
  static const struct {
    const char *name;
    double max;
  } F[3] = {{"horizontal_m", HV_SEP_MAX_H_M},
            {"vertical_m", HV_SEP_MAX_V_M},
            {"lookahead_s", HV_SEP_MAX_LOOKAHEAD_S}};
  const json_t *sep = json_object_get(o->doc, "separation");
  if (sep == NULL)
    return HV_OK;
  if (!json_is_object(sep))
    return hv_error_set(err, HV_ESCHEMA,
                        "separation: must be an object with horizontal_m, "
                        "vertical_m and/or lookahead_s");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)sep, key, v) {
    int k = 0;
    while (k < 3 && strcmp(F[k].name, key) != 0)
      k++;
    if (k == 3)
      return hv_error_set(err, HV_ESCHEMA,
                          "separation.%s: unknown member (horizontal_m, "
                          "vertical_m, lookahead_s)",
                          key);
  }
  if (json_object_size(sep) == 0)
    return hv_error_set(err, HV_ESCHEMA,
                        "separation: give at least one of horizontal_m, "
                        "vertical_m, lookahead_s");
  int *has[3] = {&o->u.agreement.separation.has_horizontal,
                 &o->u.agreement.separation.has_vertical,
                 &o->u.agreement.separation.has_lookahead};
  double *val[3] = {&o->u.agreement.separation.horizontal_m,
                    &o->u.agreement.separation.vertical_m,
                    &o->u.agreement.separation.lookahead_s};
  for (int k = 0; k < 3; k++) {
    const json_t *f = json_object_get(sep, F[k].name);
    if (f == NULL)
      continue;
    double x = json_number_value(f);
    if (!json_is_number(f) || !(x > 0.0 && x <= F[k].max))
      return hv_error_set(err, HV_ESCHEMA,
                          "separation.%s: must be a number > 0 and <= %.0f",
                          F[k].name, F[k].max);
    *has[k] = 1;
    *val[k] = x;
  }
  return HV_OK;
}

static int agreement(struct hv_object *o, struct hv_error *err) {
  int rc = check_enum(json_object_get(o->doc, "kind"), "kind", AGREEMENT_KINDS,
                      &o->u.agreement.kind, err);
  if (rc != HV_OK || (rc = validity(o, err)) != HV_OK)
    return rc;
  const json_t *scope = json_object_get(o->doc, "scope");
  if (json_is_string(scope)) {
    if (strcmp(json_string_value(scope), "nationwide") != 0)
      return hv_error_set(err, HV_ESCHEMA,
                          "scope: must be \"nationwide\" or an array of zone "
                          "ids");
    o->u.agreement.nationwide = 1;
  } else {
    struct member m = {"scope", T_IDS, 1};
    if ((rc = check_member(&m, scope, err)) != HV_OK)
      return rc;
    if (json_array_size(scope) == 0)
      return hv_error_set(err, HV_ESCHEMA, "scope: names no zone");
  }
  if ((rc = separation(o, err)) != HV_OK)
    return rc;
  /* An agreement that forbids nothing is allowed only when it sets
   * separation minima (a deconfliction memorandum between air forces). */
  const json_t *terms = json_object_get(o->doc, "terms");
  int sep = json_object_get(o->doc, "separation") != NULL;
  if (!json_is_array(terms) || (json_array_size(terms) == 0 && !sep))
    return hv_error_set(err, HV_ESCHEMA,
                        "terms: must be a non-empty array of action kinds "
                        "(empty only when separation is given)");
  size_t i;
  json_t *t;
  char field[32];
  json_array_foreach(terms, i, t) {
    const char *name;
    snprintf(field, sizeof field, "terms[%zu]", i);
    if ((rc = check_enum(t, field, TERMS, &name, err)) != HV_OK)
      return rc;
  }
  const json_t *cov = json_object_get(o->doc, "covered");
  const json_t *exc = json_object_get(o->doc, "excluded");
  json_array_foreach(exc, i, t) {
    for (size_t j = 0; j < json_array_size(cov); j++)
      if (json_equal(t, json_array_get(cov, j)))
        return hv_error_set(err, HV_ESCHEMA,
                            "excluded[%zu]: \"%s\" is also covered", i,
                            json_string_value(t));
  }
  if ((rc = ids_of(o->doc, "scope", &o->u.agreement.scope)) != HV_OK ||
      (rc = ids_of(o->doc, "covered", &o->u.agreement.covered)) != HV_OK ||
      (rc = ids_of(o->doc, "excluded", &o->u.agreement.excluded)) != HV_OK ||
      (rc = ids_of(o->doc, "guarantors", &o->u.agreement.guarantors)) !=
          HV_OK ||
      (rc = ids_of(o->doc, "terms", &o->u.agreement.terms)) != HV_OK)
    return rc;
  return HV_OK;
}

static int rules(struct hv_object *o, struct hv_error *err) {
  const json_t *rs = json_object_get(o->doc, "rules");
  if (rs == NULL)
    return HV_OK;
  if (!json_is_array(rs))
    return hv_error_set(err, HV_ESCHEMA, "rules: must be an array");
  size_t n = json_array_size(rs);
  o->u.zone.rules = calloc(n ? n : 1, sizeof *o->u.zone.rules);
  if (o->u.zone.rules == NULL)
    return HV_ENOMEM;
  o->u.zone.n_rules = n;
  for (size_t i = 0; i < n; i++) {
    const json_t *r = json_array_get(rs, i);
    struct hv_rule *rule = &o->u.zone.rules[i];
    if (!json_is_object(r))
      return hv_error_set(err, HV_ESCHEMA, "rules[%zu]: must be an object", i);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)r, key, v) {
      if (strcmp(key, "parties") && strcmp(key, "asset_classes") &&
          strcmp(key, "inside") && strcmp(key, "overfly"))
        return hv_error_set(err, HV_ESCHEMA,
                            "rules[%zu].%s: unknown member (parties, "
                            "asset_classes, inside, overfly)",
                            i, key);
    }
    const json_t *parties = json_object_get(r, "parties");
    const json_t *classes = json_object_get(r, "asset_classes");
    const json_t *inside = json_object_get(r, "inside");
    const json_t *overfly = json_object_get(r, "overfly");
    if (!json_is_array(parties) || json_array_size(parties) == 0)
      return hv_error_set(err, HV_ESCHEMA,
                          "rules[%zu].parties: must be [\"*\"] or an array of "
                          "party ids",
                          i);
    if (!json_is_array(classes) || json_array_size(classes) == 0)
      return hv_error_set(err, HV_ESCHEMA,
                          "rules[%zu].asset_classes: must be [\"*\"] or an "
                          "array of asset classes",
                          i);
    if (!json_is_boolean(inside) || !json_is_boolean(overfly))
      return hv_error_set(err, HV_ESCHEMA,
                          "rules[%zu]: inside and overfly must both be given, "
                          "true or false",
                          i);
    size_t j;
    json_t *e;
    json_array_foreach(parties, j, e) {
      const char *p = json_string_value(e);
      if (p == NULL || (strcmp(p, "*") != 0 && !hv__id_valid(p)))
        return hv_error_set(err, HV_ESCHEMA,
                            "rules[%zu].parties[%zu]: must be \"*\" or a party "
                            "id",
                            i, j);
    }
    json_array_foreach(classes, j, e) {
      const char *c = json_string_value(e);
      enum hv_asset_class ac;
      if (c && strcmp(c, "*") == 0)
        rule->classes = (1u << HV_ASSET_COUNT) - 1;
      else if (c && hv_asset_class_parse(c, &ac) == HV_OK)
        rule->classes |= 1u << ac;
      else
        return hv_error_set(err, HV_ESCHEMA,
                            "rules[%zu].asset_classes[%zu]: must be \"*\" or "
                            "one of fixed_wing, rotary, uav, ground_armed, "
                            "ground_civil, humanitarian",
                            i, j);
    }
    rule->inside = json_is_true(inside);
    rule->overfly = json_is_true(overfly);
    rule->parties = calloc(json_array_size(parties) + 1, sizeof(char *));
    if (rule->parties == NULL)
      return HV_ENOMEM;
    json_array_foreach(parties, j, e) rule->parties[j] = json_string_value(e);
  }
  return HV_OK;
}

static int phase_history(struct hv_object *o, struct hv_error *err) {
  const json_t *h = json_object_get(o->doc, "phase_history");
  int rc = check_enum(json_object_get(o->doc, "phase"), "phase", PHASE_NAMES,
                      &(const char *){NULL}, err);
  if (rc != HV_OK)
    return rc;
  hv_phase_parse(str(o->doc, "phase"), &o->u.zone.phase);
  if (h == NULL)
    return HV_OK; /* the importer writes the first entry */
  if (!json_is_array(h) || json_array_size(h) == 0)
    return hv_error_set(err, HV_ESCHEMA,
                        "phase_history: must be a non-empty array");
  size_t n = json_array_size(h);
  o->u.zone.history = calloc(n, sizeof *o->u.zone.history);
  if (o->u.zone.history == NULL)
    return HV_ENOMEM;
  o->u.zone.n_history = n;
  char field[64];
  for (size_t i = 0; i < n; i++) {
    const json_t *c = json_array_get(h, i);
    struct hv_phase_change *pc = &o->u.zone.history[i];
    if (!json_is_object(c))
      return hv_error_set(err, HV_ESCHEMA,
                          "phase_history[%zu]: must be an object", i);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)c, key, v) {
      if (strcmp(key, "phase") && strcmp(key, "at") && strcmp(key, "by") &&
          strcmp(key, "reason"))
        return hv_error_set(err, HV_ESCHEMA,
                            "phase_history[%zu].%s: unknown member (phase, "
                            "at, by, reason)",
                            i, key);
    }
    snprintf(field, sizeof field, "phase_history[%zu].phase", i);
    const char *ph;
    if ((rc = check_enum(json_object_get(c, "phase"), field, PHASE_NAMES, &ph,
                         err)) != HV_OK)
      return rc;
    hv_phase_parse(ph, &pc->phase);
    snprintf(field, sizeof field, "phase_history[%zu].at", i);
    if ((rc = check_time(json_object_get(c, "at"), field, &pc->at_ms, err)) !=
        HV_OK)
      return rc;
    pc->by = str(c, "by");
    if (!hv__id_valid(pc->by))
      return hv_error_set(err, HV_ESCHEMA,
                          "phase_history[%zu].by: must be a party id", i);
    pc->reason = str(c, "reason");
    if (json_object_get(c, "reason") && pc->reason == NULL)
      return hv_error_set(err, HV_ESCHEMA,
                          "phase_history[%zu].reason: must be a string", i);
    if (i > 0) {
      const struct hv_phase_change *prev = &o->u.zone.history[i - 1];
      if (pc->at_ms < prev->at_ms)
        return hv_error_set(err, HV_ESCHEMA,
                            "phase_history[%zu].at: earlier than the change "
                            "before it",
                            i);
      if (!hv_phase_allowed(prev->phase, pc->phase))
        return hv_error_set(err, HV_EPHASE,
                            "phase_history[%zu]: %s -> %s is not an allowed "
                            "transition",
                            i, hv_phase_name(prev->phase),
                            hv_phase_name(pc->phase));
    }
  }
  if (o->u.zone.history[n - 1].phase != o->u.zone.phase)
    return hv_error_set(err, HV_ESCHEMA,
                        "phase: \"%s\" differs from the last phase_history "
                        "entry (\"%s\")",
                        hv_phase_name(o->u.zone.phase),
                        hv_phase_name(o->u.zone.history[n - 1].phase));
  return HV_OK;
}

static int zone(struct hv_geo *geo, struct hv_object *o, struct hv_error *err) {
  static const int types[] = {GEOS_POLYGON, GEOS_MULTIPOLYGON, -1};
  int rc = check_enum(json_object_get(o->doc, "kind"), "kind", ZONE_KINDS,
                      &o->u.zone.kind, err);
  if (rc != HV_OK || (rc = validity(o, err)) != HV_OK ||
      (rc = phase_history(o, err)) != HV_OK || (rc = rules(o, err)) != HV_OK ||
      (rc = ids_of(o->doc, "guarantors", &o->u.zone.guarantors)) != HV_OK)
    return rc;
  const json_t *lo = json_object_get(o->doc, "alt_min_m");
  const json_t *hi = json_object_get(o->doc, "alt_max_m");
  o->u.zone.alt_min_m = lo ? json_number_value(lo) : -INFINITY;
  o->u.zone.alt_max_m = hi ? json_number_value(hi) : INFINITY;
  if (o->u.zone.alt_max_m <= o->u.zone.alt_min_m)
    return hv_error_set(err, HV_ESCHEMA, "alt_max_m: must be above alt_min_m");
  return geometry(geo, o, types, "Polygon or MultiPolygon", err);
}

static int corridor(struct hv_geo *geo, struct hv_object *o,
                    struct hv_error *err) {
  static const int types[] = {GEOS_LINESTRING, -1};
  int rc = check_enum(json_object_get(o->doc, "status"), "status",
                      CORRIDOR_STATUS, &o->u.corridor.status, err);
  if (rc != HV_OK)
    return rc;
  o->u.corridor.half_width_m =
      json_number_value(json_object_get(o->doc, "half_width_m"));
  if (!(o->u.corridor.half_width_m > 0) || o->u.corridor.half_width_m > 100000)
    return hv_error_set(err, HV_ESCHEMA,
                        "half_width_m: must be > 0 and <= 100000 metres");
  const json_t *ws = json_object_get(o->doc, "windows");
  if (ws && !json_is_array(ws))
    return hv_error_set(err, HV_ESCHEMA, "windows: must be an array");
  size_t n = json_array_size(ws);
  o->u.corridor.windows = calloc(n ? n : 1, sizeof *o->u.corridor.windows);
  if (o->u.corridor.windows == NULL)
    return HV_ENOMEM;
  o->u.corridor.n_windows = n;
  char field[64];
  for (size_t i = 0; i < n; i++) {
    const json_t *w = json_array_get(ws, i);
    struct hv_window *win = &o->u.corridor.windows[i];
    if (!json_is_object(w) || json_object_size(w) != 2)
      return hv_error_set(err, HV_ESCHEMA,
                          "windows[%zu]: must be {\"from\": time, \"to\": "
                          "time}",
                          i);
    snprintf(field, sizeof field, "windows[%zu].from", i);
    if ((rc = check_time(json_object_get(w, "from"), field, &win->from_ms,
                         err)) != HV_OK)
      return rc;
    snprintf(field, sizeof field, "windows[%zu].to", i);
    if ((rc = check_time(json_object_get(w, "to"), field, &win->to_ms, err)) !=
        HV_OK)
      return rc;
    if (win->to_ms <= win->from_ms)
      return hv_error_set(err, HV_ESCHEMA,
                          "windows[%zu]: to must be after from", i);
  }
  if ((rc = ids_of(o->doc, "connects", &o->u.corridor.connects)) != HV_OK ||
      (rc = ids_of(o->doc, "guarantors", &o->u.corridor.guarantors)) != HV_OK)
    return rc;
  if ((rc = geometry(geo, o, types, "LineString", err)) != HV_OK)
    return rc;
  rc = hv_geo_buffer_m(geo, o->geom, o->u.corridor.half_width_m,
                       &o->u.corridor.area);
  if (rc != HV_OK)
    return hv_error_set(err, rc, "geometry: cannot buffer the corridor: %s",
                        hv_strerror(rc));
  return hv_geo_area_m2(geo, o->u.corridor.area, &o->u.corridor.area_m2);
}

/* The members a site and a movement share as notifications: recipients
 * (["*"] or party ids, into *recipients) and disclosure (into *blind). */
static int notification(struct hv_object *o, hv_ids *recipients, int *blind,
                        struct hv_error *err) {
  const json_t *rs = json_object_get(o->doc, "recipients");
  size_t i;
  json_t *d;
  if (rs && !json_is_array(rs))
    return hv_error_set(err, HV_ESCHEMA,
                        "recipients: must be [\"*\"] or an array of party "
                        "ids");
  json_array_foreach(rs, i, d) {
    const char *p = json_string_value(d);
    if (p == NULL || (strcmp(p, "*") != 0 && !hv__id_valid(p)))
      return hv_error_set(err, HV_ESCHEMA,
                          "recipients[%zu]: must be \"*\" or a party id", i);
    for (size_t j = 0; j < i; j++)
      if (strcmp(json_string_value(json_array_get(rs, j)), p) == 0)
        return hv_error_set(err, HV_ESCHEMA,
                            "recipients[%zu]: \"%s\" listed twice", i, p);
    if (strcmp(p, "*") == 0 && json_array_size(rs) != 1)
      return hv_error_set(err, HV_ESCHEMA,
                          "recipients[%zu]: \"*\" (every party) must be "
                          "alone",
                          i);
  }
  const json_t *disc = json_object_get(o->doc, "disclosure");
  const char *dname = DISCLOSURES[0];
  int rc;
  if (disc &&
      (rc = check_enum(disc, "disclosure", DISCLOSURES, &dname, err)) != HV_OK)
    return rc;
  *blind = strcmp(dname, "blind") == 0;
  return ids_of(o->doc, "recipients", recipients);
}

static int movement(struct hv_geo *geo, struct hv_object *o,
                    struct hv_error *err) {
  static const int types[] = {GEOS_LINESTRING, -1};
  int rc = check_enum(json_object_get(o->doc, "kind"), "kind", MOVEMENT_KINDS,
                      &o->u.movement.kind, err);
  if (rc != HV_OK || (rc = validity(o, err)) != HV_OK)
    return rc;
  o->u.movement.notified_by = str(o->doc, "notified_by");
  if ((rc = notification(o, &o->u.movement.recipients, &o->u.movement.blind,
                         err)) != HV_OK)
    return rc;
  const json_t *veh = json_object_get(o->doc, "vehicles");
  if (!json_is_integer(veh) || json_integer_value(veh) < 1 ||
      json_integer_value(veh) > 100000)
    return hv_error_set(err, HV_ESCHEMA,
                        "vehicles: must be a whole number >= 1 (and <= "
                        "100000)");
  o->u.movement.vehicles = (long)json_integer_value(veh);
  const json_t *hw = json_object_get(o->doc, "half_width_m");
  o->u.movement.half_width_m = hw ? json_number_value(hw) : 100.0;
  if (!(o->u.movement.half_width_m > 0) || o->u.movement.half_width_m > 100000)
    return hv_error_set(err, HV_ESCHEMA,
                        "half_width_m: must be > 0 and <= 100000 metres");
  o->u.movement.emergency = json_is_true(json_object_get(o->doc, "emergency"));
  o->u.movement.notified_ms = time_or(o->doc, "notified_at", 0);
  o->u.movement.withdrawn_ms = time_or(o->doc, "withdrawn_at", 0);
  o->u.movement.completed_ms = time_or(o->doc, "completed_at", 0);
  int64_t lead =
      o->u.movement.emergency ? HV_LEAD_TIME_EMERGENCY_MS : HV_LEAD_TIME_MS;
  /* Late: told less than the lead time before the window opens. Accepted,
   * and flagged (derived, never stored). */
  o->u.movement.late = o->u.movement.notified_ms > o->from_ms - lead;
  o->u.movement.corridor = str(o->doc, "corridor");
  int has_geom = json_object_get(o->doc, "geometry") != NULL &&
                 !json_is_null(json_object_get(o->doc, "geometry"));
  if (has_geom == (o->u.movement.corridor != NULL))
    return hv_error_set(err, HV_ESCHEMA,
                        "%s: a movement's route is either its geometry (a "
                        "LineString) or a corridor id, exactly one of the two",
                        has_geom ? "corridor" : "geometry");
  if (!has_geom)
    return HV_OK;
  return geometry(geo, o, types, "LineString", err);
}

static int site(struct hv_geo *geo, struct hv_object *o, struct hv_error *err) {
  static const int types[] = {GEOS_POINT, -1};
  int rc = check_enum(json_object_get(o->doc, "category"), "category",
                      SITE_CATEGORIES, &o->u.site.category, err);
  if (rc != HV_OK)
    return rc;
  o->u.site.radius_m = json_number_value(json_object_get(o->doc, "radius_m"));
  if (!(o->u.site.radius_m > 0) || o->u.site.radius_m > 50000)
    return hv_error_set(err, HV_ESCHEMA,
                        "radius_m: must be > 0 and <= 50000 metres");
  o->u.site.notified_by = str(o->doc, "notified_by");
  if ((rc = notification(o, &o->u.site.recipients, &o->u.site.blind, err)) !=
      HV_OK)
    return rc;
  o->u.site.notified_ms = time_or(o->doc, "notified_at", 0);
  o->u.site.review_by_ms = time_or(o->doc, "review_by", HV_TIME_OPEN);
  o->u.site.withdrawn_ms = time_or(o->doc, "withdrawn_at", 0);
  if ((rc = geometry(geo, o, types, "Point", err)) != HV_OK)
    return rc;
  o->u.site.lon = o->minx;
  o->u.site.lat = o->miny;
  return HV_OK;
}

static int areal(struct hv_geo *geo, struct hv_object *o,
                 struct hv_error *err) {
  static const int types[] = {GEOS_POLYGON, GEOS_MULTIPOLYGON, -1};
  int rc = HV_OK;
  if (o->kind == HV_DELINEATION) {
    o->u.delineation.party = str(o->doc, "party");
    rc = validity(o, err);
  } else {
    o->u.area.pcode = str(o->doc, "pcode");
    o->from_ms = 0;
    o->to_ms = HV_TIME_OPEN;
  }
  if (rc != HV_OK)
    return rc;
  return geometry(geo, o, types, "Polygon or MultiPolygon", err);
}

/* Evidence: hashes, "sha256:" or "blake2b-256:" and 64 lowercase hex. */
static int evidence(const json_t *ev, struct hv_error *err) {
  if (ev == NULL)
    return HV_OK;
  if (!json_is_array(ev))
    return hv_error_set(err, HV_ESCHEMA,
                        "evidence: must be an array of hashes");
  size_t i;
  json_t *e;
  json_array_foreach(ev, i, e) {
    const char *h = json_string_value(e);
    const char *hex = NULL;
    if (h && strncmp(h, "sha256:", 7) == 0)
      hex = h + 7;
    else if (h && strncmp(h, "blake2b-256:", 12) == 0)
      hex = h + 12;
    size_t n = hex ? strlen(hex) : 0;
    int ok = n == 64;
    for (size_t j = 0; ok && j < n; j++)
      ok = (hex[j] >= '0' && hex[j] <= '9') || (hex[j] >= 'a' && hex[j] <= 'f');
    if (!ok)
      return hv_error_set(err, HV_ESCHEMA,
                          "evidence[%zu]: must be \"sha256:\" or "
                          "\"blake2b-256:\" and 64 lowercase hex digits",
                          i);
  }
  return HV_OK;
}

/* A date alone ("2016-02-27"): the whole day. */
static int date_only(const char *t) {
  return t && strlen(t) == 10 && t[4] == '-' && t[7] == '-';
}

static int incident(struct hv_geo *geo, struct hv_object *o,
                    struct hv_error *err) {
  static const int types[] = {GEOS_POINT, -1};
  const json_t *d = o->doc;
  const char *s;
  int rc;
  /* When: [time, time_end). */
  const char *t0 = str(d, "time");
  hv_time_parse(t0, &o->u.incident.t_ms);
  o->u.incident.t_end_ms =
      time_or(d, "time_end",
              date_only(t0) ? o->u.incident.t_ms + 86400000LL
                            : o->u.incident.t_ms);
  if (json_object_get(d, "time_end") &&
      o->u.incident.t_end_ms <= o->u.incident.t_ms)
    return hv_error_set(err, HV_ESCHEMA, "time_end: must be after time");
  o->from_ms = o->u.incident.t_ms;
  o->to_ms = o->u.incident.t_end_ms > o->u.incident.t_ms
                 ? o->u.incident.t_end_ms
                 : o->u.incident.t_ms + 1;
  /* Where, and how precisely. */
  const json_t *pv = json_object_get(d, "location_precision");
  o->u.incident.precision = HV_PREC_EXACT;
  if (pv) {
    if ((rc = check_enum(pv, "location_precision", PRECISIONS, &s, err)) !=
        HV_OK)
      return rc;
    o->u.incident.precision = (enum hv_loc_precision)lookup(
        PRECISIONS, HV_PREC_COUNT, s);
  }
  enum hv_loc_precision p = o->u.incident.precision;
  const json_t *uv = json_object_get(d, "uncertainty_m");
  if (uv && p >= HV_PREC_PROVINCE)
    return hv_error_set(err, HV_ESCHEMA,
                        "uncertainty_m: not allowed with location_precision "
                        "\"%s\" (the %s is the uncertainty)",
                        PRECISIONS[p], p == HV_PREC_PROVINCE ? "area" : "country");
  o->u.incident.uncertainty_m =
      uv ? json_number_value(uv)
         : p == HV_PREC_NEAR ? 25000.0 : p == HV_PREC_DISTRICT ? 50000.0 : 0.0;
  if (!(o->u.incident.uncertainty_m >= 0) ||
      o->u.incident.uncertainty_m > 500000)
    return hv_error_set(err, HV_ESCHEMA,
                        "uncertainty_m: must be >= 0 and <= 500000 metres");
  o->u.incident.area = str(d, "area");
  if (o->u.incident.area && p != HV_PREC_PROVINCE)
    return hv_error_set(err, HV_ESCHEMA,
                        "area: only with location_precision \"province\"");
  /* What. */
  const char *et, *sub = NULL;
  if ((rc = check_enum(json_object_get(d, "event_type"), "event_type",
                       EVENT_TYPES, &et, err)) != HV_OK)
    return rc;
  int ei = lookup(EVENT_TYPES, 6, et);
  o->u.incident.event_type = et;
  o->u.incident.action = EVENT_ACTIONS[ei];
  const json_t *sv = json_object_get(d, "sub_event_type");
  if (sv) {
    const struct sub_event *se = SUB_EVENTS[ei];
    const char *sn = json_string_value(sv);
    size_t k = 0;
    while (se[k].name && !(sn && strcmp(se[k].name, sn) == 0))
      k++;
    if (se[k].name == NULL) {
      char list[512];
      size_t used = 0;
      list[0] = '\0';
      for (size_t j = 0; se[j].name && used < sizeof list; j++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 j ? ", " : "", se[j].name);
      return hv_error_set(err, HV_ESCHEMA,
                          "sub_event_type: %s%s%s is not a sub-event type of "
                          "\"%s\": one of %s",
                          sn ? "\"" : "", sn ? sn : "(not a string)",
                          sn ? "\"" : "", et, list);
    }
    sub = se[k].name;
    o->u.incident.action = se[k].action;
  }
  o->u.incident.sub_event_type = sub;
  /* Who. */
  o->u.incident.perpetrator = str(d, "perpetrator");
  const json_t *cv = json_object_get(d, "perpetrator_certainty");
  if (o->u.incident.perpetrator && cv == NULL)
    return hv_error_set(err, HV_ESCHEMA,
                        "perpetrator_certainty: missing (\"known\" or "
                        "\"suspected\", required with perpetrator)");
  if (cv && o->u.incident.perpetrator == NULL)
    return hv_error_set(err, HV_ESCHEMA,
                        "perpetrator_certainty: only with a perpetrator");
  if (cv) {
    if ((rc = check_enum(cv, "perpetrator_certainty", CERTAINTIES, &s, err)) !=
        HV_OK)
      return rc;
    o->u.incident.suspected = strcmp(s, "suspected") == 0;
  }
  const json_t *sides = json_object_get(d, "sides");
  if (json_array_size(sides) > 2)
    return hv_error_set(err, HV_ESCHEMA, "sides: at most 2 parties");
  for (size_t i = 0; i < json_array_size(sides); i++)
    o->u.incident.sides[i] = json_string_value(json_array_get(sides, i));
  if (o->u.incident.perpetrator && json_array_size(sides) > 0 &&
      !hv_ids_contain((hv_ids)(const char *[]){o->u.incident.sides[0],
                                               o->u.incident.sides[1], NULL},
                      o->u.incident.perpetrator))
    return hv_error_set(err, HV_ESCHEMA,
                        "sides: must include the perpetrator \"%s\" when "
                        "given",
                        o->u.incident.perpetrator);
  o->u.incident.target = TARGETS[4];
  const json_t *tv = json_object_get(d, "target");
  if (tv && (rc = check_enum(tv, "target", TARGETS, &o->u.incident.target,
                             err)) != HV_OK)
    return rc;
  o->u.incident.target_party = str(d, "target_party");
  o->u.incident.target_site = str(d, "target_site");
  if (o->u.incident.target_party && strcmp(o->u.incident.target, "party") != 0)
    return hv_error_set(err, HV_ESCHEMA,
                        "target_party: only with target \"party\"");
  if (o->u.incident.target_site && strcmp(o->u.incident.target, "site") != 0)
    return hv_error_set(err, HV_ESCHEMA,
                        "target_site: only with target \"site\"");
  const json_t *fv = json_object_get(d, "fatalities");
  o->u.incident.fatalities = fv ? (long)json_integer_value(fv) : -1;
  const json_t *conf = json_object_get(d, "confidence");
  if (conf && (rc = check_enum(conf, "confidence", CONFIDENCES, &s, err)) !=
                  HV_OK)
    return rc;
  if ((rc = evidence(json_object_get(d, "evidence"), err)) != HV_OK)
    return rc;
  o->u.incident.hide_reporter = json_is_true(json_object_get(d, "hide_reporter"));
  const json_t *cm = json_object_get(d, "coarsen_m");
  o->u.incident.coarsen_m = cm ? json_number_value(cm) : 0;
  if (cm && (!(o->u.incident.coarsen_m > 0) ||
             o->u.incident.coarsen_m > 100000))
    return hv_error_set(err, HV_ESCHEMA,
                        "coarsen_m: must be > 0 and <= 100000 metres");
  if ((rc = geometry(geo, o, types, "Point", err)) != HV_OK)
    return rc;
  return HV_OK;
}

static int token(struct hv_object *o, struct hv_error *err) {
  const char *role;
  int rc = check_enum(json_object_get(o->doc, "role"), "role", ROLE_NAMES,
                      &role, err);
  if (rc != HV_OK)
    return rc;
  hv_role_parse(role, &o->u.token.role);
  o->u.token.party = str(o->doc, "party");
  o->u.token.hash = str(o->doc, "hash");
  size_t n = o->u.token.hash ? strlen(o->u.token.hash) : 0;
  int hex = n == 64;
  for (size_t i = 0; hex && i < n; i++)
    hex = (o->u.token.hash[i] >= '0' && o->u.token.hash[i] <= '9') ||
          (o->u.token.hash[i] >= 'a' && o->u.token.hash[i] <= 'f');
  if (!hex)
    return hv_error_set(err, HV_ESCHEMA,
                        "hash: must be 64 lowercase hex digits");
  const json_t *rv = json_object_get(o->doc, "revoked");
  if (rv && !json_is_boolean(rv))
    return hv_error_set(err, HV_ESCHEMA, "revoked: must be true or false");
  o->u.token.revoked = json_is_true(rv);
  return HV_OK;
}

int hv__object_new(struct hv_geo *geo, enum hv_kind kind, json_t *doc,
                   struct hv_object **out, struct hv_error *err) {
  *out = NULL;
  if (!json_is_object(doc)) {
    json_decref(doc);
    return hv_error_set(err, HV_ESCHEMA, "not a JSON object");
  }
  struct hv_object *o = calloc(1, sizeof *o);
  if (o == NULL) {
    json_decref(doc);
    return HV_ENOMEM;
  }
  o->kind = kind;
  o->doc = doc;
  o->to_ms = HV_TIME_OPEN;
  int rc = check_schema(kind, doc, err);
  if (rc != HV_OK)
    goto fail;
  o->id = str(doc, "id");
  o->name = str(doc, "name");
  const json_t *v = json_object_get(doc, "version");
  o->version = v ? json_integer_value(v) : 0;
  switch (kind) {
  case HV_PARTY:
    rc = party(o, err);
    break;
  case HV_AGREEMENT:
    rc = agreement(o, err);
    break;
  case HV_ZONE:
    rc = zone(geo, o, err);
    break;
  case HV_CORRIDOR:
    rc = corridor(geo, o, err);
    break;
  case HV_SITE:
    rc = site(geo, o, err);
    break;
  case HV_DELINEATION:
  case HV_AREA:
    rc = areal(geo, o, err);
    break;
  case HV_MOVEMENT:
    rc = movement(geo, o, err);
    break;
  case HV_INCIDENT:
    rc = incident(geo, o, err);
    break;
  case HV_TOKEN:
    rc = token(o, err);
    break;
  default:
    rc = hv_error_set(err, HV_EINVAL, "unknown kind");
  }
  if (rc != HV_OK)
    goto fail;
  *out = o;
  return HV_OK;
fail:
  hv__object_free(geo, o);
  return rc;
}

void hv__object_free(struct hv_geo *geo, struct hv_object *o) {
  if (o == NULL)
    return;
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  if (o->prepared)
    GEOSPreparedGeom_destroy_r(gh, o->prepared);
  if (o->geom)
    GEOSGeom_destroy_r(gh, o->geom);
  switch (o->kind) {
  case HV_PARTY:
    free(o->u.party.aliases);
    break;
  case HV_AGREEMENT:
    free(o->u.agreement.scope);
    free(o->u.agreement.covered);
    free(o->u.agreement.excluded);
    free(o->u.agreement.guarantors);
    free(o->u.agreement.terms);
    break;
  case HV_ZONE:
    free(o->u.zone.history);
    for (size_t i = 0; i < o->u.zone.n_rules; i++)
      free(o->u.zone.rules[i].parties);
    free(o->u.zone.rules);
    free(o->u.zone.guarantors);
    break;
  case HV_SITE:
    free(o->u.site.recipients);
    break;
  case HV_MOVEMENT:
    free(o->u.movement.recipients);
    break;
  case HV_CORRIDOR:
    free(o->u.corridor.windows);
    free(o->u.corridor.connects);
    free(o->u.corridor.guarantors);
    if (o->u.corridor.area)
      GEOSGeom_destroy_r(gh, o->u.corridor.area);
    break;
  default:
    break;
  }
  json_decref(o->doc);
  free(o);
}

/* ---- references -----------------------------------------------------------
 */

typedef int (*ref_fn)(const char *field, enum hv_kind kind, const char *id,
                      void *ud);

static int each_id(hv_ids ids, const char *field, enum hv_kind kind, ref_fn fn,
                   void *ud) {
  char f[64];
  for (size_t i = 0; ids && ids[i]; i++) {
    snprintf(f, sizeof f, "%s[%zu]", field, i);
    int rc = fn(f, kind, ids[i], ud);
    if (rc)
      return rc;
  }
  return 0;
}

/* The party references of a recipients list ("*" names no party). */
static int each_recipient(hv_ids ids, ref_fn fn, void *ud) {
  char f[64];
  int rc = 0;
  for (size_t i = 0; ids && ids[i] && !rc; i++) {
    if (strcmp(ids[i], "*") == 0)
      continue;
    snprintf(f, sizeof f, "recipients[%zu]", i);
    rc = fn(f, HV_PARTY, ids[i], ud);
  }
  return rc;
}

int hv__object_each_ref(const struct hv_object *o, ref_fn fn, void *ud) {
  int rc = 0;
  char f[64];
  switch (o->kind) {
  case HV_PARTY:
    if (o->u.party.sponsor)
      rc = fn("sponsor", HV_PARTY, o->u.party.sponsor, ud);
    break;
  case HV_AGREEMENT:
    if ((rc = each_id(o->u.agreement.scope, "scope", HV_ZONE, fn, ud)) ||
        (rc = each_id(o->u.agreement.covered, "covered", HV_PARTY, fn, ud)) ||
        (rc = each_id(o->u.agreement.excluded, "excluded", HV_PARTY, fn, ud)))
      break;
    rc = each_id(o->u.agreement.guarantors, "guarantors", HV_PARTY, fn, ud);
    break;
  case HV_ZONE:
    if ((rc = each_id(o->u.zone.guarantors, "guarantors", HV_PARTY, fn, ud)))
      break;
    for (size_t i = 0; i < o->u.zone.n_history && !rc; i++) {
      snprintf(f, sizeof f, "phase_history[%zu].by", i);
      rc = fn(f, HV_PARTY, o->u.zone.history[i].by, ud);
    }
    for (size_t i = 0; i < o->u.zone.n_rules && !rc; i++)
      for (size_t j = 0; o->u.zone.rules[i].parties[j] && !rc; j++) {
        if (strcmp(o->u.zone.rules[i].parties[j], "*") == 0)
          continue;
        snprintf(f, sizeof f, "rules[%zu].parties[%zu]", i, j);
        rc = fn(f, HV_PARTY, o->u.zone.rules[i].parties[j], ud);
      }
    break;
  case HV_CORRIDOR:
    if ((rc = each_id(o->u.corridor.connects, "connects", HV_ZONE, fn, ud)))
      break;
    rc = each_id(o->u.corridor.guarantors, "guarantors", HV_PARTY, fn, ud);
    break;
  case HV_SITE:
    if ((rc = fn("notified_by", HV_PARTY, o->u.site.notified_by, ud)))
      break;
    rc = each_recipient(o->u.site.recipients, fn, ud);
    break;
  case HV_MOVEMENT:
    if ((rc = fn("notified_by", HV_PARTY, o->u.movement.notified_by, ud)))
      break;
    if (o->u.movement.corridor &&
        (rc = fn("corridor", HV_CORRIDOR, o->u.movement.corridor, ud)))
      break;
    rc = each_recipient(o->u.movement.recipients, fn, ud);
    break;
  case HV_TOKEN:
    rc = fn("party", HV_PARTY, o->u.token.party, ud);
    break;
  case HV_INCIDENT:
    if (o->u.incident.perpetrator &&
        (rc = fn("perpetrator", HV_PARTY, o->u.incident.perpetrator, ud)))
      break;
    for (size_t i = 0; i < 2 && !rc; i++)
      if (o->u.incident.sides[i]) {
        snprintf(f, sizeof f, "sides[%zu]", i);
        rc = fn(f, HV_PARTY, o->u.incident.sides[i], ud);
      }
    if (!rc && o->u.incident.target_party)
      rc = fn("target_party", HV_PARTY, o->u.incident.target_party, ud);
    if (!rc && o->u.incident.target_site)
      rc = fn("target_site", HV_SITE, o->u.incident.target_site, ud);
    if (!rc && o->u.incident.area)
      rc = fn("area", HV_AREA, o->u.incident.area, ud);
    break;
  case HV_DELINEATION:
    rc = fn("party", HV_PARTY, o->u.delineation.party, ud);
    break;
  default:
    break;
  }
  return rc;
}

/* ---- zone semantics -------------------------------------------------------
 */

enum hv_phase hv_zone_phase_at(const struct hv_object *z, int64_t t_ms) {
  if (z->u.zone.n_history == 0)
    return z->u.zone.phase;
  enum hv_phase p = z->u.zone.history[0].phase;
  for (size_t i = 0; i < z->u.zone.n_history; i++)
    if (z->u.zone.history[i].at_ms <= t_ms)
      p = z->u.zone.history[i].phase;
  return p;
}

int hv_zone_in_force(const struct hv_object *z, int64_t t_ms) {
  return t_ms >= z->from_ms && t_ms < z->to_ms &&
         hv_zone_phase_at(z, t_ms) != HV_PHASE_DISSOLVED;
}

int hv_zone_permits(const struct hv_object *z, const char *party,
                    enum hv_asset_class c, int overfly) {
  for (size_t i = 0; i < z->u.zone.n_rules; i++) {
    const struct hv_rule *r = &z->u.zone.rules[i];
    if (!(r->classes & (1u << c)))
      continue;
    if (!hv_ids_contain(r->parties, "*") && !hv_ids_contain(r->parties, party))
      continue;
    return overfly ? r->overfly : r->inside;
  }
  return 1;
}
