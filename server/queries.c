/*
 * queries.c — the query routes of docs/api.md: zones in force at a point,
 * everything near a point, a party's sponsor chain and the agreements that
 * cover it.
 *
 * Need-to-know: every hit goes through hv_visibility(). A hidden object is
 * left out; so is a redacted one from the point queries (a site the caller
 * may not locate must not be found by asking near its place). The zones
 * query is unaffected by sites.
 *
 * All handlers run with the db lock held (routes.c).
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Half the Earth's circumference: no two points are farther apart. */
#define MAX_DISTANCE_M 20037509.0

/* lon and lat of a point query; 0 with the reply set when malformed. */
static int point(struct hv__req *r, double *lon, double *lat) {
  return hv__param_double(r, "lon", 1, -180, 180, lon) &&
         hv__param_double(r, "lat", 1, -90, 90, lat);
}

static json_t *name_of(const struct hv_object *o) {
  return o->name ? json_string(o->name) : json_null();
}

void hv__h_query_zones(struct hv__req *r) {
  double lon, lat, alt = NAN;
  int64_t at = hv_time_now_ms();
  if (!point(r, &lon, &lat) ||
      !hv__param_double(r, "alt", 0, -1e6, 1e7, &alt) ||
      !hv__param_time(r, "at", &at))
    return;
  struct hv_hits hits = {0};
  int rc = hv_db_zones_at(r->srv->db, lon, lat, alt, at, &hits);
  json_t *items = rc == HV_OK ? json_array() : NULL;
  for (size_t i = 0; items && i < hits.n; i++) {
    const struct hv_object *o = hits.v[i].obj;
    if (hv_visibility(&r->who, o->kind, o->doc) == HV_VIS_HIDDEN)
      continue;
    json_array_append_new(items,
                          json_pack("{s:s,s:o,s:s,s:s,s:I}", "id", o->id,
                                    "name", name_of(o), "kind", o->u.zone.kind,
                                    "phase", hv_phase_name(hits.v[i].phase),
                                    "version", (json_int_t)o->version));
  }
  hv_hits_free(&hits);
  if (rc != HV_OK)
    hv__fail_lib(r, rc, NULL);
  else
    hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void hv__h_query_near(struct hv__req *r) {
  double lon, lat, dist;
  int64_t at = hv_time_now_ms();
  if (!point(r, &lon, &lat) ||
      !hv__param_double(r, "distance_m", 1, 0, MAX_DISTANCE_M, &dist) ||
      !hv__param_time(r, "at", &at))
    return;
  struct hv_hits hits = {0};
  int rc = hv_db_within(r->srv->db, lon, lat, dist, at, &hits);
  json_t *items = rc == HV_OK ? json_array() : NULL;
  for (size_t i = 0; items && i < hits.n; i++) {
    const struct hv_object *o = hits.v[i].obj;
    if (hv_visibility(&r->who, o->kind, o->doc) != HV_VIS_FULL)
      continue; /* hidden, or its place is withheld from the caller */
    json_array_append_new(
        items, json_pack("{s:s,s:s,s:o,s:f,s:I}", "kind", hv_kind_name(o->kind),
                         "id", o->id, "name", name_of(o), "distance_m",
                         hits.v[i].dist_m, "version", (json_int_t)o->version));
  }
  hv_hits_free(&hits);
  if (rc != HV_OK)
    hv__fail_lib(r, rc, NULL);
  else
    hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void hv__h_sponsors(struct hv__req *r) {
  struct hv_hits hits = {0};
  int rc = hv_db_sponsor_chain(r->srv->db, r->id, &hits);
  json_t *items = rc == HV_OK ? json_array() : NULL;
  for (size_t i = 0; items && i < hits.n; i++) {
    const struct hv_object *o = hits.v[i].obj;
    if (hv_visibility(&r->who, o->kind, o->doc) != HV_VIS_HIDDEN)
      json_array_append_new(items, hv_object_view_json(&r->who, o));
  }
  hv_hits_free(&hits);
  if (rc == HV_ENOTFOUND)
    hv__fail(r, 404, "not_found", NULL, "no party \"%s\"", r->id);
  else if (rc != HV_OK)
    hv__fail_lib(r, rc, NULL);
  else
    hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void hv__h_party_agreements(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  int64_t at = hv_time_now_ms();
  if (!hv__param_time(r, "at", &at))
    return;
  const struct hv_object *p = hv_db_get(db, HV_PARTY, r->id);
  if (p == NULL || hv_visibility(&r->who, HV_PARTY, p->doc) == HV_VIS_HIDDEN) {
    hv__fail(r, 404, "not_found", NULL, "no party \"%s\"", r->id);
    return;
  }
  struct hv_hits hits = {0};
  int rc = hv_db_agreements_covering(db, r->id, at, &hits);
  json_t *items = rc == HV_OK ? json_array() : NULL;
  for (size_t i = 0; items && i < hits.n; i++) {
    const struct hv_object *o = hits.v[i].obj;
    if (hv_visibility(&r->who, o->kind, o->doc) == HV_VIS_HIDDEN)
      continue;
    json_t *v = hv_object_view_json(&r->who, o);
    if (v)
      json_object_set_new(
          v, "coverage",
          json_string(hv_coverage_name(hv_db_coverage(db, o, r->id))));
    json_array_append_new(items, v);
  }
  hv_hits_free(&hits);
  if (rc != HV_OK)
    hv__fail_lib(r, rc, NULL);
  else
    hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}
