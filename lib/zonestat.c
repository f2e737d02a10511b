/*
 * zonestat.c — zone status and suspected sieges (haven/adjudicate.h,
 * docs/zone-status.md).
 *
 * Zone status is read from the recorded adjudications only (never by
 * adjudicating again): what it counts is what the record says, so two
 * people asking about the same zone at the same time get the same answer
 * until a new adjudication or review is written. Sieges are read from the
 * registry as it is now: zones, corridors, movements.
 *
 * Invariants:
 * - an incident counts at most once in a zone's window, however many
 *   agreements it violates; one that counts as a violation is never also
 *   counted as uncertain;
 * - a siege finding is a ledger-only entry (kind and op "finding", body
 *   kind "siege_suspected") written through hv__db_commit as the
 *   coordinator; nothing else records one, and no second one is written
 *   for a zone while the latest is less than no_access_ms away in the
 *   time it speaks about (its "t_ms").
 *
 * Cost: a zone status scans every recorded adjudication (O(incidents);
 * about 11,000 in the bundled data, a few milliseconds per call); the
 * siege test, every corridor and movement per populated zone. Neither
 * keeps an index: both are asked rarely, by a person.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/adjudicate.h"
#include "haven/auth.h"
#include "haven/geo.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

/* ---- zone status ---------------------------------------------------------
 */

const char *hv_zone_status_name(enum hv_zone_status s) {
  static const char *const NAMES[] = {"holding", "strained", "violated",
                                      "collapsed"};
  return (unsigned)s < HV_ZONE_STATUS_COUNT ? NAMES[s] : "?";
}

struct hv_status_params hv_status_params_default(void) {
  struct hv_status_params p = {7 * DAY_MS, 1, 5, 20, 100};
  return p;
}

static int status_params_check(const struct hv_status_params *p,
                               struct hv_error *err) {
  if (p->window_ms < HOUR_MS || p->window_ms > 365 * DAY_MS)
    return hv_error_set(err, HV_EINVAL,
                        "window_ms: %" PRId64
                        " is out of range (1 hour to 365 days)",
                        p->window_ms);
  if (p->strained < 1)
    return hv_error_set(err, HV_EINVAL, "strained: %ld, must be at least 1",
                        p->strained);
  if (p->violated < p->strained)
    return hv_error_set(err, HV_EINVAL,
                        "violated: %ld, must be at least strained (%ld)",
                        p->violated, p->strained);
  if (p->collapsed < p->violated)
    return hv_error_set(err, HV_EINVAL,
                        "collapsed: %ld, must be at least violated (%ld)",
                        p->collapsed, p->violated);
  if (p->collapsed_fatalities < 1)
    return hv_error_set(err, HV_EINVAL,
                        "collapsed_fatalities: %ld, must be at least 1",
                        p->collapsed_fatalities);
  return HV_OK;
}

/* The membership of zone in a's zones (out when not listed). */
static enum hv_membership membership(const struct hv_adjudication *a,
                                     const char *zone) {
  for (size_t i = 0; i < a->n_zones; i++)
    if (strcmp(a->zones[i].zone, zone) == 0)
      return a->zones[i].m;
  return HV_MEMBER_OUT;
}

/* 1 when a has a violation row its review has not set aside. */
static int standing_violation(const struct hv_db *db,
                              const struct hv_adjudication *a) {
  for (size_t i = 0; i < a->n_rows; i++)
    if (a->rows[i].cls == HV_CLASS_VIOLATION &&
        !hv_db_review_sets_aside(db, a->incident, a->rows[i].agreement))
      return 1;
  return 0;
}

static int has_uncertain(const struct hv_adjudication *a) {
  for (size_t i = 0; i < a->n_rows; i++)
    if (a->rows[i].cls == HV_CLASS_UNCERTAIN)
      return 1;
  return 0;
}

/* The status the counts give: the highest threshold reached. */
static enum hv_zone_status status_of(const struct hv_status_params *p,
                                     long violations, long fatalities) {
  if (violations >= p->collapsed || fatalities >= p->collapsed_fatalities)
    return HV_ZONE_COLLAPSED;
  if (violations >= p->violated)
    return HV_ZONE_VIOLATED;
  if (violations >= p->strained)
    return HV_ZONE_STRAINED;
  return HV_ZONE_HOLDING;
}

int hv_db_zone_state(struct hv_db *db, const char *id, int64_t at_ms,
                     const struct hv_status_params *p,
                     struct hv_zone_state *out, struct hv_error *err) {
  struct hv_status_params q = p ? *p : hv_status_params_default();
  int rc = status_params_check(&q, err);
  if (rc == HV_OK)
    rc = hv_db_records_load(db, err);
  if (rc != HV_OK)
    return rc;
  if (id == NULL || hv_db_get(db, HV_ZONE, id) == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "zone: no zone \"%s\"",
                        id ? id : "");
  struct hv_zone_state st = {0};
  snprintf(st.zone, sizeof st.zone, "%s", id);
  st.from_ms = at_ms - q.window_ms;
  st.to_ms = at_ms;
  /* Every latest adjudication: O(incidents), see the top of the file. */
  size_t n = hv_db_adjudication_count(db);
  for (size_t i = 0; i < n; i++) {
    const struct hv_adjudication *a = hv_db_adjudication_at(db, i);
    if (a == NULL || a->t_ms < st.from_ms || a->t_ms >= st.to_ms)
      continue; /* deleted, or outside [from, to) */
    enum hv_membership m = membership(a, id);
    if (m == HV_MEMBER_OUT)
      continue;
    if (m == HV_MEMBER_IN && standing_violation(db, a)) {
      st.violations++;
      if (a->fatalities > 0)
        st.fatalities += a->fatalities;
    } else if (has_uncertain(a)) {
      st.uncertain++;
    }
  }
  st.status = status_of(&q, st.violations, st.fatalities);
  *out = st;
  return HV_OK;
}

/* ---- sieges --------------------------------------------------------------
 */

struct hv_siege_params hv_siege_params_default(void) {
  struct hv_siege_params p = {30 * DAY_MS};
  return p;
}

static int siege_params_check(const struct hv_siege_params *p,
                              struct hv_error *err) {
  if (p->no_access_ms < DAY_MS || p->no_access_ms > 365 * DAY_MS)
    return hv_error_set(err, HV_EINVAL,
                        "no_access_ms: %" PRId64
                        " is out of range (1 day to 365 days)",
                        p->no_access_ms);
  return HV_OK;
}

/* 1 when corridor c is open at t: status "open", and t in one of its
 * windows [from, to) when it has any. */
static int corridor_open(const struct hv_object *c, int64_t t) {
  if (c->u.corridor.status == NULL || strcmp(c->u.corridor.status, "open") != 0)
    return 0;
  if (c->u.corridor.n_windows == 0)
    return 1;
  for (size_t i = 0; i < c->u.corridor.n_windows; i++)
    if (t >= c->u.corridor.windows[i].from_ms &&
        t < c->u.corridor.windows[i].to_ms)
      return 1;
  return 0;
}

/* 1 when movement m's route reaches zone z: by a corridor that connects
 * z, or by a line that intersects z; 0 when not; HV_EGEOMETRY (< 0) when
 * GEOS fails. */
static int reaches(struct hv_db *db, const struct hv_object *m,
                   const struct hv_object *z) {
  if (m->u.movement.corridor) {
    const struct hv_object *c =
        hv_db_get(db, HV_CORRIDOR, m->u.movement.corridor);
    return c && hv_ids_contain(c->u.corridor.connects, z->id);
  }
  if (m->geom == NULL || z->prepared == NULL)
    return 0;
  if (m->maxx < z->minx || m->minx > z->maxx || m->maxy < z->miny ||
      m->miny > z->maxy)
    return 0;
  /* GEOS predicates answer 2 on an exception: never read that as a yes. */
  char r = GEOSPreparedIntersects_r(hv_geo_geos(hv_db_geo(db)), z->prepared,
                                    m->geom);
  return r == 1 ? 1 : r == 0 ? 0 : HV_EGEOMETRY;
}

/* The corridors of zone z at s->at_ms: counted, and those not open. */
static void siege_corridors(const struct hv_db *db, const struct hv_object *z,
                            struct hv_siege *s) {
  const struct hv__table *t = &db->tables[HV_CORRIDOR];
  for (size_t i = 0; i < t->n; i++) {
    if (!hv_ids_contain(t->v[i]->u.corridor.connects, z->id))
      continue;
    s->corridors++;
    if (!corridor_open(t->v[i], s->at_ms))
      s->corridors_closed++;
  }
}

/* The movements completed into zone z by s->at_ms and not withdrawn by
 * then: the latest of any kind (last_access) and the latest evacuation
 * (last_exit). Kept whenever they were, not only within the period: "no
 * access since 20 July" is the evidence a person needs; siege_of decides
 * from them whether the period saw any. */
static int siege_movements(struct hv_db *db, const struct hv_object *z,
                           struct hv_siege *s, struct hv_error *err) {
  const struct hv__table *t = &db->tables[HV_MOVEMENT];
  for (size_t i = 0; i < t->n; i++) {
    const struct hv_object *m = t->v[i];
    int64_t done = m->u.movement.completed_ms;
    int64_t gone = m->u.movement.withdrawn_ms;
    if (done == 0 || done > s->at_ms || (gone != 0 && gone <= s->at_ms))
      continue;
    int r = reaches(db, m, z);
    if (r < 0)
      return hv_error_set(err, HV_EGEOMETRY,
                          "movement %s: GEOS failed testing its route "
                          "against zone %s",
                          m->id, z->id);
    if (r == 0)
      continue;
    if (done > s->last_access_ms) {
      s->last_access_ms = done;
      snprintf(s->last_access, sizeof s->last_access, "%s", m->id);
    }
    if (m->u.movement.kind && strcmp(m->u.movement.kind, "evacuation") == 0 &&
        done > s->last_exit_ms)
      s->last_exit_ms = done;
  }
  return HV_OK;
}

/* The population of zone z from its document: > 0, or 0 when none. */
static long population(const struct hv_object *z) {
  const json_t *v = json_object_get(z->doc, "population");
  return json_is_integer(v) && json_integer_value(v) > 0
             ? (long)json_integer_value(v)
             : 0;
}

/* The siege test of zone z (populated, in force) at at_ms into *s. */
static int siege_of(struct hv_db *db, const struct hv_object *z, long pop,
                    int64_t at_ms, int64_t no_access_ms, struct hv_siege *s,
                    struct hv_error *err) {
  memset(s, 0, sizeof *s);
  snprintf(s->zone, sizeof s->zone, "%s", z->id);
  s->population = pop;
  s->at_ms = at_ms;
  siege_corridors(db, z, s);
  int rc = siege_movements(db, z, s, err);
  if (rc != HV_OK)
    return rc;
  /* The period is (at - no_access, at]. */
  int64_t since = at_ms - no_access_ms;
  int none_open = s->corridors_closed == s->corridors;
  s->encircled = s->corridors >= 1 && none_open;
  s->no_access = s->last_access_ms <= since; /* 0: never */
  s->no_exit = none_open && s->last_exit_ms <= since;
  s->suspected = s->encircled && s->no_access && s->no_exit;
  return HV_OK;
}

int hv_db_sieges(struct hv_db *db, int64_t at_ms,
                 const struct hv_siege_params *p, struct hv_siege **out,
                 size_t *n, struct hv_error *err) {
  struct hv_siege_params q = p ? *p : hv_siege_params_default();
  int rc = siege_params_check(&q, err);
  if (rc != HV_OK)
    return rc;
  const struct hv__table *t = &db->tables[HV_ZONE];
  size_t k = *n; /* *n moves only on success */
  for (size_t i = 0; i < t->n; i++) {
    const struct hv_object *z = t->v[i];
    long pop = population(z);
    if (pop == 0 || !hv_zone_in_force(z, at_ms))
      continue;
    /* Grown one at a time: populated zones are few. *out stays the
     * caller's to free whatever happens. */
    struct hv_siege *v = realloc(*out, (k + 1) * sizeof *v);
    if (v == NULL)
      return hv_error_set(err, HV_ENOMEM, "out of memory");
    *out = v;
    if ((rc = siege_of(db, z, pop, at_ms, q.no_access_ms, &v[k], err)) != HV_OK)
      return rc;
    k++;
  }
  *n = k;
  return HV_OK;
}

static json_t *time_or_null(int64_t t_ms) {
  char buf[40];
  return t_ms ? json_string(hv_time_format(t_ms, buf, sizeof buf))
              : json_null();
}

/* s as who may see it, into *out: without the last access (movement and
 * time) when who may not know of that movement (hv_visibility). */
static void siege_for(const struct hv_db *db, const struct hv_principal *who,
                      const struct hv_siege *s, struct hv_siege *out) {
  *out = *s;
  const struct hv_object *m =
      s->last_access[0] ? hv_db_get(db, HV_MOVEMENT, s->last_access) : NULL;
  if (m && hv_visibility(who, HV_MOVEMENT, m->doc) == HV_VIS_HIDDEN) {
    out->last_access[0] = '\0';
    out->last_access_ms = 0;
  }
}

json_t *hv_siege_view_json(const struct hv_db *db,
                           const struct hv_principal *who,
                           const struct hv_siege *s) {
  struct hv_siege v;
  siege_for(db, who, s, &v);
  return hv_siege_json(&v);
}

json_t *hv_siege_json(const struct hv_siege *s) {
  return json_pack(
      "{s:s,s:I,s:o,s:I,s:I,s:b,s:o,s:o,s:b,s:o,s:b,s:b,s:{s:b,s:b,s:b}}",
      "zone", s->zone, "population", (json_int_t)s->population, "at",
      time_or_null(s->at_ms), "corridors", (json_int_t)s->corridors,
      "corridors_closed", (json_int_t)s->corridors_closed, "encircled",
      s->encircled, "last_access_at", time_or_null(s->last_access_ms),
      "last_access",
      s->last_access[0] ? json_string(s->last_access) : json_null(),
      "no_access", s->no_access, "last_exit_at", time_or_null(s->last_exit_ms),
      "no_exit", s->no_exit, "suspected", s->suspected, "criteria", "encircled",
      s->encircled, "no_access", s->no_access, "no_exit", s->no_exit);
}

/* ---- recording a siege finding -------------------------------------------
 */

struct last_siege {
  const char *zone;
  int64_t t_ms; /* of the latest siege finding for zone; 0 none */
  int found;
};

static int last_siege_entry(const struct hv_ledger_entry *e, void *ud) {
  struct last_siege *ls = ud;
  json_error_t jerr;
  json_t *body = json_loads(e->body, 0, &jerr);
  const char *kind = json_string_value(json_object_get(body, "kind"));
  const char *zone = json_string_value(json_object_get(body, "zone"));
  if (kind && zone && strcmp(kind, "siege_suspected") == 0 &&
      strcmp(zone, ls->zone) == 0) {
    /* Entries come in seq order: the last one seen is the latest. */
    ls->t_ms = json_integer_value(json_object_get(body, "t_ms"));
    ls->found = 1;
  }
  json_decref(body);
  return 0;
}

/* The body of the finding for s: kind, zone, t, t_ms, audience, evidence,
 * reason. NULL when out of memory. */
static json_t *siege_finding(const struct hv_object *z,
                             const struct hv_siege *s, int64_t no_access_ms) {
  char t[40], last[40], reason[512];
  hv_time_format(s->at_ms, t, sizeof t);
  if (s->last_access_ms)
    snprintf(reason, sizeof reason,
             "%s (population %ld) may be besieged at %s: none of its %zu "
             "corridor%s is open, and no movement has been completed into "
             "it since %s (%s), more than %" PRId64 " days before",
             s->zone, s->population, t, s->corridors,
             s->corridors == 1 ? "" : "s",
             hv_time_format(s->last_access_ms, last, sizeof last),
             s->last_access, (int64_t)(no_access_ms / DAY_MS));
  else
    snprintf(reason, sizeof reason,
             "%s (population %ld) may be besieged at %s: none of its %zu "
             "corridor%s is open, and no movement known to the parties has "
             "been completed into it in the last %" PRId64 " days",
             s->zone, s->population, t, s->corridors,
             s->corridors == 1 ? "" : "s", (int64_t)(no_access_ms / DAY_MS));
  json_t *aud = json_array();
  for (hv_ids g = z->u.zone.guarantors; aud && g && *g; g++)
    if (json_array_append_new(aud, json_string(*g))) {
      json_decref(aud);
      aud = NULL;
    }
  json_t *ev = hv_siege_json(s);
  if (aud == NULL || ev == NULL) {
    json_decref(aud);
    json_decref(ev);
    return NULL;
  }
  return json_pack("{s:s,s:s,s:s,s:I,s:o,s:o,s:s}", "kind", "siege_suspected",
                   "zone", s->zone, "t", t, "t_ms", (json_int_t)s->at_ms,
                   "audience", aud, "evidence", ev, "reason", reason);
}

int hv_db_record_siege(struct hv_db *db, const struct hv_siege *s,
                       const struct hv_siege_params *p, int *recorded,
                       json_t **doc, struct hv_error *err) {
  struct hv_siege_params q = p ? *p : hv_siege_params_default();
  *recorded = 0;
  if (doc)
    *doc = NULL;
  int rc = siege_params_check(&q, err);
  if (rc != HV_OK)
    return rc;
  if (!s->suspected)
    return hv_error_set(err, HV_EINVAL,
                        "suspected: zone %s is not a suspected siege at this "
                        "time; nothing to record",
                        s->zone);
  const struct hv_object *z = hv_db_get(db, HV_ZONE, s->zone);
  if (z == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "zone: no zone \"%s\"", s->zone);
  /* Every finding in the ledger, each parsed: O(findings), fine while they
   * are few; an index by zone is the next step if they are not. */
  struct last_siege ls = {s->zone, 0, 0};
  rc = db->store->ops->each_entry(db->store, 1, 0, "finding", NULL,
                                  last_siege_entry, &ls);
  if (rc != HV_OK)
    return hv_error_set(err, HV_ESTORE, "reading the findings: %s",
                        db->store->ops->errmsg(db->store));
  /* Age in the time the findings speak about, not when they were written:
   * a replay of past days is judged as the days were. */
  int64_t age = s->at_ms - ls.t_ms;
  if (ls.found && age < q.no_access_ms && age > -q.no_access_ms)
    return HV_OK;
  /* The finding goes to the zone's guarantors: it names the last access
   * only as a party that did not notify it may know of it. */
  static const struct hv_principal a_party = {.party = "",
                                              .role = HV_ROLE_PARTY};
  struct hv_siege named;
  siege_for(db, &a_party, s, &named);
  json_t *body = siege_finding(z, &named, q.no_access_ms);
  char *text = body ? hv__canon(body) : NULL;
  if (text == NULL) {
    json_decref(body);
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  }
  struct hv__change c = {0};
  c.op = "finding";
  c.record_kind = "finding";
  c.record_body = text;
  rc = hv__db_commit(db, HV_COORDINATOR, &c, 1, err);
  free(text);
  if (rc != HV_OK) {
    json_decref(body);
    return rc;
  }
  *recorded = 1;
  if (doc)
    *doc = body;
  else
    json_decref(body);
  return HV_OK;
}

json_t *hv_zone_state_json(const struct hv_zone_state *st) {
  return json_pack("{s:s,s:s,s:{s:o,s:o},s:I,s:I,s:I}", "zone", st->zone,
                   "status", hv_zone_status_name(st->status), "window", "from",
                   time_or_null(st->from_ms), "to", time_or_null(st->to_ms),
                   "violations", (json_int_t)st->violations, "fatalities",
                   (json_int_t)st->fatalities, "uncertain",
                   (json_int_t)st->uncertain);
}
