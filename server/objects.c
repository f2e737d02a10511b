/*
 * objects.c — the object routes of docs/api.md: collections with their
 * filters and pagination, one object, create, conditional update and
 * delete, the history of an object, and a zone's phase change.
 *
 * Need-to-know: every object that leaves here goes through hv_visibility()
 * and hv_object_view_json() (include/haven/auth.h), the one place that
 * decides. A hidden object is answered 404 as if it did not exist; a
 * redacted one (a site whose place the caller may not know) is listed
 * without its geometry and is never matched by a bounding box, since
 * matching would tell where it is.
 *
 * Writes are made as the principal's party, always. An agency may create,
 * update and delete only the sites it notifies: the stored site's
 * notified_by and the new document's must both be its own party.
 *
 * All handlers run with the db lock held (routes.c); objects borrowed from
 * the db are not used after a write, which invalidates them.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const PLURAL[HV_KIND_COUNT] = {
    "parties",      "agreements", "zones",     "corridors", "sites",
    "delineations", "areas",      "movements", "incidents", "tokens"};

const char *hv__plural(enum hv_kind k) {
  return (unsigned)k < HV_KIND_COUNT ? PLURAL[k] : "objects";
}

static int spatial(enum hv_kind k) {
  return (k >= HV_ZONE && k <= HV_AREA) || k == HV_MOVEMENT ||
         k == HV_INCIDENT;
}

static enum hv_kind route_kind(const struct hv__req *r) {
  return (enum hv_kind)r->route->kind;
}

/* The object {kind, id} of the path as the caller may see it, or NULL with
 * a 404 reply (absent or hidden: the same answer). */
static const struct hv_object *visible_object(struct hv__req *r,
                                              enum hv_kind k) {
  const struct hv_object *o = hv_db_get(r->srv->db, k, r->id);
  if (o && hv_visibility(&r->who, k, o->doc) != HV_VIS_HIDDEN)
    return o;
  hv__fail(r, 404, "not_found", NULL, "no %s \"%s\"", hv_kind_name(k), r->id);
  return NULL;
}

/* The document of o as the caller sees it (a new reference; NULL only on
 * no memory, for objects that passed visible_object or hv_visibility). */
static json_t *view(struct hv__req *r, const struct hv_object *o) {
  return hv_object_view_json(&r->who, o);
}

/* The view of an object just written; an incident is adjudicated at once
 * and its answer rides along as the Feature's foreign member
 * "adjudication" (null when it could not be given). The object is looked
 * up again after the adjudication's write. */
static json_t *with_answer(struct hv__req *r, const struct hv_object *o) {
  if (o->kind != HV_INCIDENT)
    return view(r, o);
  char id[HV_ID_MAX + 1];
  snprintf(id, sizeof id, "%s", o->id);
  json_t *answer = hv__incident_adjudicate(r, id);
  o = hv_db_get(r->srv->db, HV_INCIDENT, id);
  json_t *j = o ? view(r, o) : NULL;
  if (j)
    json_object_set_new(j, "adjudication", answer ? answer : json_null());
  else
    json_decref(answer);
  return j;
}

/* The kind member of the kinds that have one (parties, agreements,
 * zones), else NULL. */
static const char *kind_member(const struct hv_object *o) {
  switch (o->kind) {
  case HV_PARTY:
    return o->u.party.kind;
  case HV_AGREEMENT:
    return o->u.agreement.kind;
  case HV_ZONE:
    return o->u.zone.kind;
  case HV_MOVEMENT:
    return o->u.movement.kind;
  default:
    return NULL;
  }
}

static int valid_at(const struct hv_object *o, int64_t t_ms) {
  if (o->kind == HV_ZONE)
    return hv_zone_in_force(o, t_ms);
  return o->from_ms <= t_ms && t_ms < o->to_ms;
}

/* An id of docs/formats.md: 1-64 of a-z A-Z 0-9 _ . : - */
static int valid_id(const char *s) {
  size_t n = 0;
  for (; s[n]; n++) {
    char c = s[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
          c == '-'))
      return 0;
  }
  return n >= 1 && n <= HV_ID_MAX;
}

struct bbox {
  double minx, miny, maxx, maxy;
};

/* bbox=minlon,minlat,maxlon,maxlat */
/* Whether o's envelope meets box; a movement routed by a corridor has the
 * corridor's. */
static int meets(struct hv_db *db, const struct hv_object *o,
                 const struct bbox *box) {
  if (o->kind == HV_MOVEMENT && o->geom == NULL) {
    o = o->u.movement.corridor
            ? hv_db_get(db, HV_CORRIDOR, o->u.movement.corridor)
            : NULL;
    if (o == NULL)
      return 0;
  }
  return !(o->minx > box->maxx || o->maxx < box->minx || o->miny > box->maxy ||
           o->maxy < box->miny);
}

static int parse_bbox(struct hv__req *r, const char *v, struct bbox *b) {
  double x[4];
  const char *p = v;
  for (int i = 0; i < 4; i++) {
    char *end;
    errno = 0;
    x[i] = strtod(p, &end);
    if (errno || end == p || !isfinite(x[i]) || *end != (i < 3 ? ',' : '\0'))
      return hv__fail(r, 400, "bad_parameter", "bbox",
                      "bbox: \"%s\" is not minlon,minlat,maxlon,maxlat", v);
    p = end + 1;
  }
  if (x[0] < -180 || x[2] > 180 || x[1] < -90 || x[3] > 90 || x[0] > x[2] ||
      x[1] > x[3])
    return hv__fail(r, 400, "bad_parameter", "bbox",
                    "bbox: \"%s\": need -180 <= minlon <= maxlon <= 180 and "
                    "-90 <= minlat <= maxlat <= 90",
                    v);
  *b = (struct bbox){x[0], x[1], x[2], x[3]};
  return 1;
}

void hv__h_list(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  enum hv_kind k = route_kind(r);
  int64_t limit = 100, at = 0;
  struct bbox box = {0, 0, 0, 0};
  const char *cursor = hv__param(r, "cursor");
  const char *kind = hv__param(r, "kind");
  const char *at_text = hv__param(r, "at");
  const char *bbox_text = hv__param(r, "bbox");
  if (!hv__param_int(r, "limit", 1, 1000, &limit) ||
      !hv__param_time(r, "at", &at) ||
      (bbox_text && !parse_bbox(r, bbox_text, &box)))
    return;
  if (cursor && !valid_id(cursor)) {
    hv__fail(r, 400, "bad_parameter", "cursor",
             "cursor: \"%s\" is not a cursor this server gave", cursor);
    return;
  }
  json_t *items = json_array();
  const char *last = NULL;
  size_t total = 0, n = 0;
  int more = 0;
  for (size_t i = 0; items && i < hv_db_count(db, k); i++) {
    const struct hv_object *o = hv_db_at(db, k, i);
    enum hv_visibility vis = hv_visibility(&r->who, k, o->doc);
    if (vis == HV_VIS_HIDDEN)
      continue;
    if (kind && !(kind_member(o) && strcmp(kind_member(o), kind) == 0))
      continue;
    if (at_text && !valid_at(o, at))
      continue;
    if (bbox_text && (vis != HV_VIS_FULL || !meets(r->srv->db, o, &box)))
      continue;
    total++;
    if (cursor && strcmp(o->id, cursor) <= 0)
      continue;
    if (n == (size_t)limit) {
      more = 1;
      continue;
    }
    if (json_array_append_new(items, view(r, o)) != 0) {
      json_decref(items);
      items = NULL;
      break;
    }
    last = o->id;
    n++;
  }
  hv__reply(r, 200,
            items ? json_pack("{s:o,s:o,s:I}", "items", items, "next",
                              more ? json_string(last) : json_null(), "total",
                              (json_int_t)total)
                  : NULL);
}

void hv__h_get(struct hv__req *r) {
  const struct hv_object *o = visible_object(r, route_kind(r));
  if (o)
    hv__reply(r, 200, view(r, o));
}

/* The members of a body for kind k: properties for a Feature, the body
 * itself for flat documents. */
static json_t *members(enum hv_kind k, json_t *doc) {
  if (!spatial(k))
    return doc;
  json_t *p = json_object_get(doc, "properties");
  return json_is_object(p) ? p : NULL;
}

/* Checks what the route fixes in a body: properties.object (optional)
 * must name the route's kind; on update, the id (optional) must be the
 * path's, and is filled in when absent. */
static int check_body(struct hv__req *r, enum hv_kind k, json_t *doc,
                      int update) {
  json_t *props = spatial(k) ? json_object_get(doc, "properties") : NULL;
  json_t *obj = props ? json_object_get(props, "object") : NULL;
  if (obj && !(json_is_string(obj) &&
               strcmp(json_string_value(obj), hv_kind_name(k)) == 0))
    return hv__fail(r, 400, "invalid", "properties.object",
                    "properties.object: must be \"%s\" on %s", hv_kind_name(k),
                    r->route->path);
  /* An incident may name the site it hit; one the caller may not know of
   * is answered as one that does not exist (no oracle for blind sites). */
  const char *ts = k == HV_INCIDENT
                       ? json_string_value(json_object_get(props, "target_site"))
                       : NULL;
  const struct hv_object *site = ts ? hv_db_get(r->srv->db, HV_SITE, ts) : NULL;
  if (site && hv_visibility(&r->who, HV_SITE, site->doc) == HV_VIS_HIDDEN) {
    const char *iid = json_string_value(json_object_get(doc, "id"));
    return hv__fail(r, 400, "invalid", "target_site",
                    "request: body (id \"%s\"): target_site: no site \"%s\" "
                    "in the store or in this import",
                    iid ? iid : r->id, ts);
  }
  if (!update)
    return 1;
  json_t *id = json_object_get(doc, "id");
  if (id == NULL)
    return json_object_set_new(doc, "id", json_string(r->id)) == 0
               ? 1
               : hv__fail(r, 500, "internal", NULL, "out of memory");
  if (!json_is_string(id) || strcmp(json_string_value(id), r->id) != 0)
    return hv__fail(r, 400, "invalid", "id",
                    "id: the body names another object than the path (%s)",
                    r->id);
  return 1;
}

/* An agency writes only the notifications (sites, movements) it notifies
 * (docs/api.md). doc is the new document (NULL on delete), old the stored
 * object (NULL on create). */
static int agency_may_write(struct hv__req *r, enum hv_kind k,
                            const json_t *doc, const struct hv_object *old) {
  if (r->who.role != HV_ROLE_AGENCY)
    return 1;
  if (k == HV_INCIDENT)
    return 1; /* agencies report incidents; only the coordinator corrects */
  if (k != HV_SITE && k != HV_MOVEMENT)
    return hv__fail(r, 403, "forbidden", NULL,
                    "an agency writes protected sites, movements and "
                    "incidents only");
  const char *what = hv_kind_name(k);
  const char *was = old == NULL    ? NULL
                    : k == HV_SITE ? old->u.site.notified_by
                                   : old->u.movement.notified_by;
  if (was && strcmp(was, r->party) != 0)
    return hv__fail(r, 403, "forbidden", NULL,
                    "%s \"%s\" was notified by \"%s\": an agency writes "
                    "only what it notifies",
                    what, old->id, was);
  if (doc) {
    const json_t *props = json_object_get(doc, "properties");
    const char *nb = json_string_value(json_object_get(props, "notified_by"));
    if (nb == NULL || strcmp(nb, r->party) != 0)
      return hv__fail(r, 403, "forbidden", NULL,
                      "properties.notified_by must be \"%s\": an agency "
                      "notifies as itself",
                      r->party);
  }
  return 1;
}

/* A conditional write names the version it changes: when expected (from
 * hv__write_version) is 0, replies 409 with the current version and the
 * message fmt saying how to name it, and returns 0; else returns 1. */
static __attribute__((format(printf, 4, 5))) int
version_named(struct hv__req *r, int64_t expected, int64_t current,
              const char *fmt, ...) {
  if (expected != 0)
    return 1;
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return hv__fail_conflict(r, current, "%s", msg);
}

/* The 409 of a write the library refused as a conflict: its message, else
 * dflt. */
static void conflict(struct hv__req *r, int64_t current,
                     const struct hv_error *err, const char *dflt) {
  hv__fail_conflict(r, current, "%s", err->msg[0] ? err->msg : dflt);
}

void hv__h_create(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  enum hv_kind k = route_kind(r);
  json_t *doc;
  if (!hv__body_object(r, 0, &doc))
    return;
  if (!check_body(r, k, doc, 0) || !agency_may_write(r, k, doc, NULL))
    goto out;
  /* The object written is looked up here rather than through hv_db_put's
   * out parameter: in the library as it is, *out is found by an id that
   * points into a document the write has already freed. */
  const char *id = json_string_value(json_object_get(doc, "id"));
  const struct hv_object *o = NULL;
  struct hv_error err = {0};
  struct timespec t = hv__write_begin();
  int rc = hv_db_put(db, r->party, k, doc, HV_PUT_CREATE, 0, NULL, &err);
  hv__write_end(r, &t);
  if (rc == HV_OK && (id == NULL || (o = hv_db_get(db, k, id)) == NULL))
    rc = hv_error_set(&err, HV_ENOMEM, "the object written is not found");
  if (rc == HV_EEXISTS) {
    const struct hv_object *cur = id ? hv_db_get(db, k, id) : NULL;
    if (cur && hv_visibility(&r->who, k, cur->doc) != HV_VIS_HIDDEN)
      conflict(r, cur->version, &err, "id exists");
    else
      hv__fail_lib(r, rc, &err);
  } else if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
  } else {
    hv__reply(r, 201, with_answer(r, o));
  }
out:
  json_decref(doc);
}

void hv__h_update(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  enum hv_kind k = route_kind(r);
  const struct hv_object *o = visible_object(r, k);
  json_t *doc = NULL;
  int64_t expected;
  if (o == NULL || !hv__body_object(r, 0, &doc))
    return;
  json_t *m = members(k, doc);
  if (!check_body(r, k, doc, 1) ||
      !hv__write_version(r, m ? json_object_get(m, "version") : NULL,
                         &expected) ||
      !agency_may_write(r, k, doc, o))
    goto out;
  int64_t current = o->version;
  if (!version_named(r, expected, current,
                     "version required: send the version you change (the "
                     "body's version or If-Match: \"%lld\")",
                     (long long)current))
    goto out;
  struct hv_error err = {0};
  struct timespec t = hv__write_begin();
  int rc = hv_db_put(db, r->party, k, doc, HV_PUT_UPDATE, expected, NULL, &err);
  hv__write_end(r, &t);
  if (rc == HV_OK && (o = hv_db_get(db, k, r->id)) == NULL)
    rc = hv_error_set(&err, HV_ENOMEM, "the object written is not found");
  if (rc == HV_ECONFLICT)
    conflict(r, current, &err, "stale version");
  else if (rc != HV_OK)
    hv__fail_lib(r, rc, &err);
  else
    hv__reply(r, 200, with_answer(r, o));
out:
  json_decref(doc);
}

static int entry_version(const struct hv_ledger_entry *e, void *ud) {
  *(int64_t *)ud = e->version;
  return 1;
}

void hv__h_delete(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  enum hv_kind k = route_kind(r);
  const struct hv_object *o = visible_object(r, k);
  json_t *doc = NULL;
  int64_t expected;
  if (o == NULL || !hv__body_object(r, 1, &doc))
    return;
  /* A body, when sent, carries the version: {"version": N}, or a Feature's
   * properties.version. */
  json_t *v = doc ? json_object_get(doc, "version") : NULL;
  if (doc && v == NULL && spatial(k))
    v = json_object_get(json_object_get(doc, "properties"), "version");
  if (!hv__write_version(r, v, &expected) || !agency_may_write(r, k, NULL, o))
    goto out;
  int64_t current = o->version;
  if (!version_named(r, expected, current,
                     "version required: send the version you delete "
                     "(If-Match: \"%lld\" or {\"version\": %lld})",
                     (long long)current, (long long)current))
    goto out;
  struct hv_error err = {0};
  struct timespec t = hv__write_begin();
  int rc = hv_db_delete(db, r->party, k, r->id, expected, &err);
  hv__write_end(r, &t);
  if (rc == HV_ECONFLICT || rc == HV_EREF) {
    /* Stale, or another object refers to it: both are conflicts with the
     * state of the map, which the client must look at again. */
    conflict(r, current, &err, hv_strerror(rc));
  } else if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
  } else {
    /* The version of the delete, as its ledger entry records it. */
    int64_t version = expected + 1, head = hv_db_head_seq(db);
    hv_ledger_each(db, head, head, entry_version, &version);
    hv__reply(r, 200,
              json_pack("{s:s,s:I}", "deleted", r->id, "version",
                        (json_int_t)version));
  }
out:
  json_decref(doc);
}

struct history {
  struct hv__req *r;
  json_t *items;
  int last_hidden; /* the last entry's id was withheld from the caller */
};

static int history_entry(const struct hv_ledger_entry *e, void *ud) {
  struct history *h = ud;
  json_t *j = hv_ledger_entry_view_json(&h->r->who, e);
  h->last_hidden = j && json_is_null(json_object_get(j, "id"));
  if (json_array_append_new(h->items, j) != 0) {
    json_decref(h->items);
    h->items = NULL;
    return 1;
  }
  return 0;
}

void hv__h_history(struct hv__req *r) {
  enum hv_kind k = route_kind(r);
  const struct hv_object *o = hv_db_get(r->srv->db, k, r->id);
  if (o && hv_visibility(&r->who, k, o->doc) == HV_VIS_HIDDEN) {
    hv__fail(r, 404, "not_found", NULL, "no %s \"%s\"", hv_kind_name(k), r->id);
    return;
  }
  /* A deleted object keeps its history: entries are never hidden, their
   * bodies (and, for what the caller may not see at all, their ids) are
   * withheld as need-to-know says (hv_ledger_entry_view_json). */
  struct history h = {r, json_array(), 0};
  int rc = h.items ? hv_ledger_history(r->srv->db, k, r->id, history_entry, &h)
                   : HV_ENOMEM;
  if (rc > 0) /* history_entry stopped the walk (no memory) */
    rc = HV_OK;
  if (rc == HV_OK && h.items == NULL)
    rc = HV_ENOMEM;
  if (rc != HV_OK) {
    json_decref(h.items);
    hv__fail_lib(r, rc, NULL);
  } else if (json_array_size(h.items) == 0 || (o == NULL && h.last_hidden)) {
    /* Nothing wrote it, or it was deleted while the caller could not see
     * it at all (a blind notification, a token): to the caller it does not
     * exist, the same reply as for an id never used. */
    json_decref(h.items);
    hv__fail(r, 404, "not_found", NULL, "no %s \"%s\"", hv_kind_name(k), r->id);
  } else {
    hv__reply(r, 200, json_pack("{s:o}", "items", h.items));
  }
}


void hv__h_phase(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  const struct hv_object *z = visible_object(r, HV_ZONE);
  json_t *doc = NULL;
  if (z == NULL || !hv__body_object(r, 0, &doc))
    return;
  enum hv_phase phase;
  int64_t at = hv_time_now_ms(), expected;
  json_t *jp = json_object_get(doc, "phase");
  json_t *ja = json_object_get(doc, "at");
  json_t *jr = json_object_get(doc, "reason");
  if (!hv__known_members(r, doc, "phase at reason version"))
    goto out;
  if (!json_is_string(jp) ||
      hv_phase_parse(json_string_value(jp), &phase) != HV_OK) {
    hv__fail(r, 400, "invalid", "phase",
             "phase: must be one of declared, established, open, suspended, "
             "dissolved");
    goto out;
  }
  if (ja && !json_is_null(ja) &&
      (!json_is_string(ja) ||
       hv_time_parse(json_string_value(ja), &at) != HV_OK)) {
    hv__fail(r, 400, "invalid", "at",
             "at: must be an RFC 3339 time or a date (2017-05-04)");
    goto out;
  }
  if (jr && !json_is_null(jr) && !json_is_string(jr)) {
    hv__fail(r, 400, "invalid", "reason", "reason: must be a string");
    goto out;
  }
  if (!hv__write_version(r, json_object_get(doc, "version"), &expected))
    goto out;
  int64_t current = z->version;
  if (!version_named(r, expected, current,
                     "version required: send the zone's version you change "
                     "(\"version\": %lld or If-Match)",
                     (long long)current))
    goto out;
  struct hv_error err = {0};
  struct timespec t = hv__write_begin();
  int rc = hv_db_zone_set_phase(db, r->party, r->id, phase, at,
                                json_string_value(jr), expected, &err);
  hv__write_end(r, &t);
  if (rc == HV_ECONFLICT) {
    conflict(r, current, &err, "stale version");
  } else if (rc == HV_EPHASE || rc == HV_EINVAL) {
    const char *msg = err.msg[0] ? err.msg : hv_strerror(rc);
    char field[128];
    hv__error_field(msg, field, sizeof field);
    hv__fail(r, 400, "invalid",
             field[0]          ? field
             : rc == HV_EPHASE ? "phase"
                               : "at",
             "%s", msg);
  } else if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
  } else {
    z = hv_db_get(db, HV_ZONE, r->id);
    if (z)
      hv__reply(r, 200, view(r, z));
    else
      hv__fail(r, 500, "internal", NULL, "the zone is gone after its change");
  }
out:
  json_decref(doc);
}
