/*
 * test-notify.c — humanitarian notification: the movement kind and the
 * notification members of sites (lib/object.c, lib/io.c), who sees them
 * (hv_visibility, lib/auth.c) and acknowledgements (lib/notify.c).
 *
 * Each test gets its own data directory holding the scenario of
 * tests/fixtures/unit/ plus the real corridors of data/scenario/, an agency
 * "icrc" and a monitor "un-monitors".
 *
 * What must hold (include/haven/object.h, auth.h, notify.h): a movement has
 * exactly one route (a LineString, or a corridor id with geometry null),
 * a window, vehicles >= 1; a late notification (under 48 h, 24 h in an
 * emergency) is accepted and flagged; every refusal names the feature and
 * the field; a disclosed notification is seen in full by its recipients and
 * redacted for the others, a blind one hidden from all but the coordinator
 * and the notifier; an acknowledgement is one ledger entry per (version,
 * party), refused to non-recipients and on withdrawn notifications, pending
 * again after a new version, and survives a reopen; references protect
 * what a movement names from deletion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/haven.h"
#include "testutil.h"

/* ---- documents (single quotes become double quotes) ---------------------- */

/* Damascus -> Harasta -> Douma (eastern Ghouta), town centres. */
#define DOUMA_ROUTE                                                            \
  "{'type':'LineString','coordinates':[[36.2921,33.5130],[36.3636,33.5586],"   \
  "[36.4017,33.5714]]}"

/* A movement Feature: geometry (text), properties head, extra members. */
#define MOVEMENT(id, geom, extra)                                              \
  "{'type':'Feature','id':'" id "','geometry':" geom ",'properties':{"         \
  "'object':'movement','name':'Movement " id "','kind':'convoy',"              \
  "'notified_by':'icrc','valid_from':'2018-03-05T06:00:00Z',"                  \
  "'valid_to':'2018-03-05T18:00:00Z','vehicles':46" extra "}}"
#define BY_CORRIDOR(id, extra)                                                 \
  "{'type':'Feature','id':'" id "','geometry':null,'properties':{"             \
  "'name':'Convoy to eastern Aleppo','kind':'convoy','notified_by':'icrc',"    \
  "'corridor':'castello-road','valid_from':'2016-09-15T06:00:00Z',"            \
  "'valid_to':'2016-09-15T18:00:00Z','vehicles':20" extra "}}"
#define SITE(id, extra)                                                        \
  "{'type':'Feature','id':'" id "','geometry':{'type':'Point',"                \
  "'coordinates':[36.4130,33.5700]},'properties':{'name':'Site " id "',"       \
  "'category':'hospital','radius_m':300,'notified_by':'icrc'" extra "}}"

/* ---- helpers ------------------------------------------------------------- */

static int setup(void **state) {
  if (tu_store_setup(state, "notify", 1) != 0)
    return -1;
  struct tu_store *c = *state;
  char path[4096];
  snprintf(path, sizeof path, "%s/data/scenario/corridors.geojson",
           tu_env_or("HAVEN_SOURCE_DIR", "."));
  const char *paths[] = {path};
  struct hv_error err = {0};
  int rc =
      hv_db_import(c->db, HV_COORDINATOR, paths, 1, NULL, NULL, NULL, &err);
  json_t *icrc = tu_js("{'id':'icrc','name':'International Committee of the "
                       "Red Cross','kind':'agency','aliases':['ICRC']}");
  json_t *mon =
      tu_js("{'id':'un-monitors','name':'UN monitors','kind':'monitor'}");
  if (rc == HV_OK)
    rc = hv_db_put(c->db, HV_COORDINATOR, HV_PARTY, icrc, HV_PUT_CREATE, 0,
                   NULL, &err);
  if (rc == HV_OK)
    rc = hv_db_put(c->db, HV_COORDINATOR, HV_PARTY, mon, HV_PUT_CREATE, 0, NULL,
                   &err);
  json_decref(icrc);
  json_decref(mon);
  if (rc != HV_OK) {
    fprintf(stderr, "setup: %s: %s\n", hv_err_name(rc), err.msg);
    return -1;
  }
  c->base = tu_snap(c->db);
  return 0;
}

static int put_as(struct hv_db *db, const char *author, enum hv_kind kind,
                  const char *json, enum hv_put_mode mode, int64_t version,
                  struct hv_error *err) {
  json_t *doc = tu_js(json);
  memset(err, 0, sizeof *err);
  int rc = hv_db_put(db, author, kind, doc, mode, version, NULL, err);
  json_decref(doc);
  return rc;
}

static const struct hv_object *put_ok(struct hv_db *db, enum hv_kind kind,
                                      const char *json, enum hv_put_mode mode,
                                      int64_t version) {
  struct hv_error err;
  int rc = put_as(db, HV_COORDINATOR, kind, json, mode, version, &err);
  if (rc != HV_OK)
    fail_msg("put %s: %s: %s", json, hv_err_name(rc), err.msg);
  json_t *doc = tu_js(json);
  const struct hv_object *o =
      hv_db_get(db, kind, json_string_value(json_object_get(doc, "id")));
  json_decref(doc);
  assert_non_null(o);
  return o;
}

/* Fails unless the put is refused with rc, its message naming each of the
 * NULL-terminated strings, and nothing changed. */
static void refused(struct hv_db *db, enum hv_kind kind, const char *json,
                    int want, ...) {
  struct tu_snapshot before = tu_snap(db);
  struct hv_error err;
  int rc = put_as(db, HV_COORDINATOR, kind, json, HV_PUT_CREATE, 0, &err);
  if (rc != want)
    fail_msg("%s: %s (%s) where %s was expected", json, hv_err_name(rc),
             err.msg, hv_err_name(want));
  va_list ap;
  va_start(ap, want);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (strstr(err.msg, s) == NULL)
      fail_msg("%s: message \"%s\" does not name \"%s\"", json, err.msg, s);
  va_end(ap);
  tu_assert_unchanged(db, &before, json);
}

/* ---- schema -------------------------------------------------------------- */

static void test_movement_accepted(void **state) {
  struct tu_store *c = *state;
  /* A convoy along the real Castello Road corridor: the corridor is the
   * route, geometry null. */
  const struct hv_object *m =
      put_ok(c->db, HV_MOVEMENT,
             BY_CORRIDOR("aleppo-convoy",
                         ",'markings':'UN and SARC flags','contact':'+963 11',"
                         "'recipients':['ru','syr-gov','us'],'notes':'n'"),
             HV_PUT_CREATE, 0);
  assert_int_equal(m->kind, HV_MOVEMENT);
  assert_null(m->geom);
  assert_string_equal(m->u.movement.corridor, "castello-road");
  assert_string_equal(m->u.movement.kind, "convoy");
  assert_string_equal(m->u.movement.notified_by, "icrc");
  assert_int_equal(m->u.movement.vehicles, 20);
  assert_true(m->u.movement.half_width_m == 100); /* the default */
  assert_int_equal(m->u.movement.blind, 0);
  assert_int_equal(m->u.movement.emergency, 0);
  assert_true(m->u.movement.withdrawn_ms == 0);
  assert_string_equal(m->u.movement.recipients[2], "us");
  assert_null(m->u.movement.recipients[3]);
  int64_t t;
  assert_int_equal(hv_time_parse("2016-09-15T06:00:00Z", &t), HV_OK);
  assert_true(m->from_ms == t);
  /* notified_at absent: recorded now, so a window in 2016 is late. */
  assert_true(m->u.movement.notified_ms > t);
  assert_int_equal(m->u.movement.late, 1);
  assert_non_null(json_object_get(m->doc, "notified_at"));
  /* A route of its own between two real places: Damascus to Douma. */
  m = put_ok(c->db, HV_MOVEMENT,
             MOVEMENT("douma-convoy", DOUMA_ROUTE,
                      ",'notified_at':'2018-03-01T06:00:00Z','half_width_m':"
                      "250,'disclosure':'blind','emergency':true,"
                      "'recipients':['*']"),
             HV_PUT_CREATE, 0);
  assert_non_null(m->geom);
  assert_null(m->u.movement.corridor);
  assert_true(m->minx == 36.2921 && m->maxx == 36.4017);
  assert_true(m->u.movement.half_width_m == 250);
  assert_int_equal(m->u.movement.blind, 1);
  assert_int_equal(m->u.movement.emergency, 1);
  assert_int_equal(m->u.movement.late, 0);
  assert_string_equal(m->u.movement.recipients[0], "*");
  assert_int_equal(hv_db_count(c->db, HV_MOVEMENT), 2);
  /* An update without notified_at keeps the recorded one. */
  const char *was = json_string_value(json_object_get(
      hv_db_get(c->db, HV_MOVEMENT, "aleppo-convoy")->doc, "notified_at"));
  char keep[40];
  snprintf(keep, sizeof keep, "%s", was);
  m = put_ok(c->db, HV_MOVEMENT,
             BY_CORRIDOR("aleppo-convoy", ",'recipients':['ru']"),
             HV_PUT_UPDATE, 1);
  assert_int_equal(m->version, 2);
  assert_string_equal(json_string_value(json_object_get(m->doc, "notified_at")),
                      keep);
  tu_verify(c->db);
}

static void test_movement_refused(void **state) {
  struct tu_store *c = *state;
  struct hv_db *db = c->db;
  refused(db, HV_MOVEMENT,
          "{'type':'Feature','id':'m1','geometry':" DOUMA_ROUTE
          ",'properties':{'name':'M','kind':'convoy','notified_by':'icrc',"
          "'corridor':'castello-road','valid_from':'2018-03-05',"
          "'valid_to':'2018-03-06','vehicles':1}}",
          HV_ESCHEMA, "id \"m1\"", "corridor: a movement's route",
          "exactly one", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m2", "null", ""), HV_ESCHEMA, "m2",
          "geometry: a movement's route", NULL);
  refused(db, HV_MOVEMENT,
          MOVEMENT("m3", "{'type':'Point','coordinates':[36.3,33.5]}", ""),
          HV_ESCHEMA, "m3", "geometry: a movement must be a LineString", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m4", DOUMA_ROUTE, ",'kind':'parade'"),
          HV_ESCHEMA, "m4", "kind: \"parade\" is not one of", "evacuation",
          NULL);
  refused(db, HV_MOVEMENT,
          "{'type':'Feature','id':'m5','geometry':" DOUMA_ROUTE
          ",'properties':{'name':'M','kind':'convoy','notified_by':'icrc',"
          "'valid_from':'2018-03-05','vehicles':1}}",
          HV_ESCHEMA, "m5", "valid_to: missing", NULL);
  refused(db, HV_MOVEMENT,
          "{'type':'Feature','id':'m6','geometry':" DOUMA_ROUTE
          ",'properties':{'name':'M','kind':'convoy','notified_by':'icrc',"
          "'valid_from':'2018-03-05','valid_to':'2018-03-04','vehicles':1}}",
          HV_ESCHEMA, "m6", "valid_to: must be after valid_from", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m7", DOUMA_ROUTE, ",'vehicles':0"),
          HV_ESCHEMA, "m7", "vehicles: must be a whole number >= 1", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m8", DOUMA_ROUTE, ",'vehicles':'46'"),
          HV_ESCHEMA, "m8", "vehicles:", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m9", DOUMA_ROUTE, ",'half_width_m':0"),
          HV_ESCHEMA, "m9", "half_width_m: must be > 0", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m10", DOUMA_ROUTE, ",'emergency':'yes'"),
          HV_ESCHEMA, "m10", "emergency: must be true or false", NULL);
  refused(db, HV_MOVEMENT,
          MOVEMENT("m11", DOUMA_ROUTE, ",'disclosure':'secret'"), HV_ESCHEMA,
          "m11", "disclosure: \"secret\" is not one of: disclosed, blind",
          NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m12", DOUMA_ROUTE, ",'recipients':'ru'"),
          HV_ESCHEMA, "m12", "recipients: must be", NULL);
  refused(db, HV_MOVEMENT,
          MOVEMENT("m13", DOUMA_ROUTE, ",'recipients':['*','ru']"), HV_ESCHEMA,
          "m13", "recipients[0]", "alone", NULL);
  refused(db, HV_MOVEMENT,
          MOVEMENT("m14", DOUMA_ROUTE, ",'recipients':['ru','ru']"), HV_ESCHEMA,
          "m14", "recipients[1]", "listed twice", NULL);
  refused(db, HV_MOVEMENT,
          MOVEMENT("m15", DOUMA_ROUTE, ",'withdrawn_at':'soon'"), HV_ESCHEMA,
          "m15", "withdrawn_at: not an RFC 3339 time", NULL);
  refused(db, HV_MOVEMENT, MOVEMENT("m16", DOUMA_ROUTE, ",'trucks':46"),
          HV_ESCHEMA, "m16", "trucks: unknown member for a movement", NULL);
  /* References. */
  refused(db, HV_MOVEMENT,
          MOVEMENT("m17", DOUMA_ROUTE, ",'recipients':['ru','nobody']"),
          HV_EREF, "m17", "recipients[1]: no party \"nobody\"", NULL);
  refused(db, HV_MOVEMENT,
          "{'type':'Feature','id':'m18','geometry':null,'properties':{'name':"
          "'M','kind':'staff','notified_by':'icrc','corridor':'no-such-road',"
          "'valid_from':'2018-03-05','valid_to':'2018-03-06','vehicles':2}}",
          HV_EREF, "m18", "corridor: no corridor \"no-such-road\"", NULL);
  refused(db, HV_MOVEMENT,
          "{'type':'Feature','id':'m19','geometry':" DOUMA_ROUTE
          ",'properties':{'name':'M','kind':'medical','notified_by':'msf',"
          "'valid_from':'2018-03-05','valid_to':'2018-03-06','vehicles':2}}",
          HV_EREF, "m19", "notified_by: no party \"msf\"", NULL);
  /* From a file, the error names the file, the feature and its id. */
  char path[4096];
  tu_path_in(path, sizeof path, c->dir, "movements.geojson");
  tu_write_quoted(path,
                  "{'type':'FeatureCollection','features':[" MOVEMENT(
                      "ok", DOUMA_ROUTE, "") "," MOVEMENT("bad", DOUMA_ROUTE,
                                                          ",'vehicles':"
                                                          "-2") "]}");
  const char *paths[] = {path};
  struct hv_error err = {0};
  struct tu_snapshot before = tu_snap(db);
  assert_int_equal(
      hv_db_import(db, HV_COORDINATOR, paths, 1, NULL, NULL, NULL, &err),
      HV_ESCHEMA);
  assert_non_null(strstr(err.msg, "feature 1 (id \"bad\"): vehicles:"));
  tu_assert_unchanged(db, &before, "a file with a bad movement");
}

static void test_site_notification_members(void **state) {
  struct tu_store *c = *state;
  const struct hv_object *s = put_ok(
      c->db, HV_SITE,
      SITE("douma-hosp", ",'recipients':['ru','syr-gov'],'disclosure':'blind',"
                         "'review_by':'2018-06-01','notified_at':'2018-02-20'"),
      HV_PUT_CREATE, 0);
  int64_t t;
  assert_int_equal(s->u.site.blind, 1);
  assert_string_equal(s->u.site.recipients[1], "syr-gov");
  assert_int_equal(hv_time_parse("2018-06-01", &t), HV_OK);
  assert_true(s->u.site.review_by_ms == t);
  assert_true(s->u.site.withdrawn_ms == 0);
  s = put_ok(c->db, HV_SITE, SITE("plain", ""), HV_PUT_CREATE, 0);
  assert_int_equal(s->u.site.blind, 0);
  assert_null(s->u.site.recipients[0]);
  assert_true(s->u.site.review_by_ms == HV_TIME_OPEN);
  /* Withdrawn: still a site (it still protects), with its time. */
  s = put_ok(c->db, HV_SITE, SITE("plain", ",'withdrawn_at':'2018-04-01'"),
             HV_PUT_UPDATE, 1);
  assert_int_equal(hv_time_parse("2018-04-01", &t), HV_OK);
  assert_true(s->u.site.withdrawn_ms == t);
  assert_non_null(hv_db_get(c->db, HV_SITE, "plain"));
  refused(c->db, HV_SITE, SITE("s1", ",'disclosure':'private'"), HV_ESCHEMA,
          "s1", "disclosure: \"private\" is not one of", NULL);
  refused(c->db, HV_SITE, SITE("s2", ",'review_by':'next year'"), HV_ESCHEMA,
          "s2", "review_by: not an RFC 3339 time", NULL);
  refused(c->db, HV_SITE, SITE("s3", ",'withdrawn_at':5"), HV_ESCHEMA, "s3",
          "withdrawn_at: not an RFC 3339 time", NULL);
  refused(c->db, HV_SITE, SITE("s4", ",'disclosed_to':['ru']"), HV_ESCHEMA,
          "s4", "disclosed_to: unknown member for a site", NULL);
  refused(c->db, HV_SITE, SITE("s5", ",'recipients':['ru','']"), HV_ESCHEMA,
          "s5", "recipients[1]: must be \"*\" or a party id", NULL);
}

/* ---- lead time ----------------------------------------------------------- */

/* Whether a movement notified `hours` before its window, emergency or not,
 * is flagged late. */
static int late_at(struct hv_db *db, const char *id, int hours, int emergency) {
  int64_t from;
  assert_int_equal(hv_time_parse("2018-03-05T06:00:00Z", &from), HV_OK);
  char at[32], extra[128], json[2048];
  hv_time_format(from - (int64_t)hours * 3600 * 1000, at, sizeof at);
  snprintf(extra, sizeof extra, ",'notified_at':'%s','emergency':%s", at,
           emergency ? "true" : "false");
  snprintf(json, sizeof json,
           "{'type':'Feature','id':'%s','geometry':" DOUMA_ROUTE
           ",'properties':{'name':'M','kind':'evacuation','notified_by':"
           "'icrc','valid_from':'2018-03-05T06:00:00Z','valid_to':"
           "'2018-03-05T18:00:00Z','vehicles':3%s}}",
           id, extra);
  return put_ok(db, HV_MOVEMENT, json, HV_PUT_CREATE, 0)->u.movement.late;
}

static void test_lead_time(void **state) {
  struct tu_store *c = *state;
  assert_int_equal(late_at(c->db, "h47", 47, 0), 1);
  assert_int_equal(late_at(c->db, "h49", 49, 0), 0);
  assert_int_equal(late_at(c->db, "h48", 48, 0), 0); /* exactly on time */
  assert_int_equal(late_at(c->db, "e23", 23, 1), 1);
  assert_int_equal(late_at(c->db, "e25", 25, 1), 0);
  assert_int_equal(late_at(c->db, "e47", 47, 1), 0);
  assert_int_equal(late_at(c->db, "after", -2, 0), 1); /* after it began */
  /* Derived, never stored. */
  assert_null(
      json_object_get(hv_db_get(c->db, HV_MOVEMENT, "h47")->doc, "late"));
}

/* ---- need-to-know -------------------------------------------------------- */

static const struct hv_principal COORD = {HV_COORDINATOR, HV_ROLE_COORDINATOR,
                                          NULL};
static const struct hv_principal ICRC = {"icrc", HV_ROLE_AGENCY, NULL};
static const struct hv_principal RU = {"ru", HV_ROLE_PARTY, NULL};
static const struct hv_principal TR = {"tr", HV_ROLE_PARTY, NULL};
static const struct hv_principal OCHA = {"un-ocha", HV_ROLE_AGENCY, NULL};

/* The view of obj as who sees it: 'H' hidden, 'R' redacted, 'F' full —
 * checked against hv_visibility and the view's content. */
static char view(const struct hv_principal *who, const struct hv_object *o) {
  enum hv_visibility v = hv_visibility(who, o->kind, o->doc);
  json_t *j = hv_object_view_json(who, o);
  char got;
  if (j == NULL) {
    got = 'H';
  } else {
    const json_t *g = json_object_get(j, "geometry");
    const json_t *cor =
        json_object_get(json_object_get(j, "properties"), "corridor");
    int routed = o->kind == HV_MOVEMENT && o->u.movement.corridor;
    got = json_is_null(g) && (!routed || cor == NULL) ? 'R' : 'F';
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "Feature");
  }
  json_decref(j);
  char want = v == HV_VIS_HIDDEN ? 'H' : v == HV_VIS_REDACTED ? 'R' : 'F';
  /* A movement routed by a corridor has a null geometry in full too. */
  if (!(want == 'F' && got == 'R' && o->kind == HV_MOVEMENT && !o->geom &&
        !o->u.movement.corridor))
    assert_int_equal(got, want);
  return want;
}

static void test_need_to_know(void **state) {
  struct tu_store *c = *state;
  struct hv_db *db = c->db;
  const struct hv_object *o;
  o = put_ok(db, HV_SITE, SITE("disc", ",'recipients':['ru']"), HV_PUT_CREATE,
             0);
  assert_int_equal(view(&COORD, o), 'F');
  assert_int_equal(view(&ICRC, o), 'F');
  assert_int_equal(view(&RU, o), 'F');
  assert_int_equal(view(&TR, o), 'R');
  assert_int_equal(view(&OCHA, o), 'R');
  o = put_ok(db, HV_SITE,
             SITE("blind", ",'recipients':['ru'],'disclosure':'blind'"),
             HV_PUT_CREATE, 0);
  assert_int_equal(view(&COORD, o), 'F');
  assert_int_equal(view(&ICRC, o), 'F');
  assert_int_equal(view(&RU, o), 'H'); /* even a recipient */
  assert_int_equal(view(&TR, o), 'H');
  o = put_ok(db, HV_SITE, SITE("all", ",'recipients':['*']"), HV_PUT_CREATE, 0);
  assert_int_equal(view(&TR, o), 'F');
  assert_int_equal(view(&OCHA, o), 'F');
  /* Movements: the same rule; a redacted one loses its corridor too. */
  o = put_ok(db, HV_MOVEMENT, BY_CORRIDOR("cor-mv", ",'recipients':['ru']"),
             HV_PUT_CREATE, 0);
  assert_int_equal(view(&RU, o), 'F');
  assert_int_equal(view(&TR, o), 'R');
  json_t *j = hv_object_view_json(&RU, o);
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(j, "properties"), "corridor")),
                      "castello-road");
  json_decref(j);
  o = put_ok(db, HV_MOVEMENT,
             MOVEMENT("line-mv", DOUMA_ROUTE, ",'recipients':['ru','tr']"),
             HV_PUT_CREATE, 0);
  assert_int_equal(view(&TR, o), 'F');
  assert_int_equal(view(&OCHA, o), 'R');
  o = put_ok(db, HV_MOVEMENT,
             MOVEMENT("blind-mv", DOUMA_ROUTE,
                      ",'recipients':['*'],'disclosure':'blind'"),
             HV_PUT_CREATE, 0);
  assert_int_equal(view(&COORD, o), 'F');
  assert_int_equal(view(&ICRC, o), 'F');
  assert_int_equal(view(&RU, o), 'H');
  assert_int_equal(view(&OCHA, o), 'H');
}

/* ---- acknowledgements ---------------------------------------------------- */

static int ack(struct hv_db *db, const char *party, enum hv_kind kind,
               const char *id, int64_t version) {
  struct hv_error err = {0};
  return hv_db_ack(db, party, kind, id, version, &err);
}

/* The row of party in st, or NULL. */
static const struct hv_ack_row *row(const struct hv_ack_status *st,
                                    const char *party) {
  for (size_t i = 0; i < st->n; i++)
    if (strcmp(st->rows[i].party, party) == 0)
      return &st->rows[i];
  return NULL;
}

static struct hv_ack_status status(struct hv_db *db, enum hv_kind kind,
                                   const char *id) {
  struct hv_ack_status st;
  struct hv_error err = {0};
  int rc = hv_db_ack_status(db, kind, id, &st, &err);
  if (rc != HV_OK)
    fail_msg("status %s: %s: %s", id, hv_err_name(rc), err.msg);
  return st;
}

static void test_ack_flow(void **state) {
  struct tu_store *c = *state;
  struct hv_db *db = c->db;
  put_ok(db, HV_MOVEMENT,
         BY_CORRIDOR("aleppo", ",'recipients':['syr-gov','ru']"), HV_PUT_CREATE,
         0);
  struct hv_ack_status st = status(db, HV_MOVEMENT, "aleppo");
  assert_int_equal(st.version, 1);
  assert_int_equal(st.n, 2);
  assert_int_equal(st.n_acked, 0);
  assert_string_equal(st.rows[0].party, "ru"); /* id order */
  assert_true(st.recorded_ms > 0 && st.rows[0].since_ms == st.recorded_ms);
  int64_t recorded1 = st.recorded_ms;
  hv_ack_status_free(&st);

  struct tu_ledger_info before = tu_ledger(db);
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "aleppo", 1), HV_OK);
  struct tu_ledger_info li = tu_ledger(db);
  assert_int_equal(li.n, before.n + 1);
  assert_string_equal(li.last_op, "ack");
  assert_string_equal(li.last_kind, "ack");
  assert_string_equal(li.last_id, "movement/aleppo");
  assert_string_equal(li.last_author, "ru");
  assert_int_equal(li.last_version, 1);
  /* Twice is harmless: HV_OK, no second entry. */
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "aleppo", 1), HV_OK);
  assert_int_equal(tu_ledger(db).n, li.n);
  /* Refusals write nothing. */
  struct tu_snapshot snap = tu_snap(db);
  assert_int_equal(ack(db, "tr", HV_MOVEMENT, "aleppo", 1), HV_EPERM);
  assert_int_equal(ack(db, HV_COORDINATOR, HV_MOVEMENT, "aleppo", 1), HV_EPERM);
  assert_int_equal(ack(db, "icrc", HV_MOVEMENT, "aleppo", 1), HV_EPERM);
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "nowhere", 1), HV_ENOTFOUND);
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "aleppo", 2), HV_ENOTFOUND);
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "aleppo", 0), HV_ENOTFOUND);
  assert_int_equal(ack(db, "ru", HV_SITE, "aleppo", 1), HV_ENOTFOUND);
  assert_int_equal(ack(db, "ru", HV_ZONE, "aleppo", 1), HV_EINVAL);
  tu_assert_unchanged(db, &snap, "refused acknowledgements");

  st = status(db, HV_MOVEMENT, "aleppo");
  assert_int_equal(st.n_acked, 1);
  assert_true(row(&st, "ru")->acked && row(&st, "ru")->since_ms >= recorded1);
  assert_false(row(&st, "syr-gov")->acked);
  assert_true(row(&st, "syr-gov")->since_ms == recorded1);
  hv_ack_status_free(&st);

  /* A new version: pending again for everyone. */
  put_ok(db, HV_MOVEMENT,
         BY_CORRIDOR("aleppo", ",'recipients':['syr-gov','ru'],'vehicles':25"),
         HV_PUT_UPDATE, 1);
  st = status(db, HV_MOVEMENT, "aleppo");
  assert_int_equal(st.version, 2);
  assert_int_equal(st.n_acked, 0);
  assert_true(st.recorded_ms >= recorded1);
  assert_true(row(&st, "ru")->since_ms == st.recorded_ms);
  hv_ack_status_free(&st);
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "aleppo", 1), HV_ECONFLICT);
  assert_int_equal(ack(db, "syr-gov", HV_MOVEMENT, "aleppo", 2), HV_OK);

  /* It survives a reopen of the store, and the ledger verifies. */
  tu_verify(db);
  hv_db_close(db);
  c->db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(c->dir, &c->db, &err), HV_OK);
  db = c->db;
  tu_verify(db);
  st = status(db, HV_MOVEMENT, "aleppo");
  assert_int_equal(st.version, 2);
  assert_int_equal(st.n_acked, 1);
  assert_true(row(&st, "syr-gov")->acked);
  assert_false(row(&st, "ru")->acked);
  hv_ack_status_free(&st);
  int64_t n = tu_ledger(db).n;
  assert_int_equal(ack(db, "syr-gov", HV_MOVEMENT, "aleppo", 2), HV_OK);
  assert_int_equal(tu_ledger(db).n, n); /* still harmless after reopen */

  /* Withdrawn: no longer acknowledged; the status stays readable. */
  put_ok(db, HV_MOVEMENT,
         BY_CORRIDOR("aleppo", ",'recipients':['syr-gov','ru'],'vehicles':25,"
                               "'withdrawn_at':'2016-09-14'"),
         HV_PUT_UPDATE, 2);
  assert_int_equal(ack(db, "ru", HV_MOVEMENT, "aleppo", 3), HV_EINVAL);
  st = status(db, HV_MOVEMENT, "aleppo");
  assert_true(st.withdrawn_ms > 0);
  assert_int_equal(st.n_acked, 0);
  hv_ack_status_free(&st);
  tu_verify(db);
}

/* How the ack entry walked is shown to its party (nda), another (tr) and
 * the coordinator: 1 when the view carries the body. */
struct view_probe {
  int own_body, other_body, coord_body;
};

static int probe_views(const struct hv_ledger_entry *e, void *ud) {
  struct view_probe *p = ud;
  static const struct hv_principal nda = {"nda", HV_ROLE_PARTY, NULL};
  assert_string_equal(e->kind, "ack");
  json_t *own = hv_ledger_entry_view_json(&nda, e);
  json_t *other = hv_ledger_entry_view_json(&TR, e);
  json_t *coord = hv_ledger_entry_view_json(&COORD, e);
  p->own_body = json_object_get(own, "body") != NULL;
  p->other_body = json_object_get(other, "body") != NULL;
  p->coord_body = json_object_get(coord, "body") != NULL;
  assert_non_null(json_object_get(other, "body_hash"));
  json_decref(own);
  json_decref(other);
  json_decref(coord);
  return 0;
}

static void test_ack_sites_everyone_blind(void **state) {
  struct tu_store *c = *state;
  struct hv_db *db = c->db;
  /* "*": every state and armed group, not agencies, monitors or
   * designated groups. */
  put_ok(db, HV_SITE, SITE("hosp", ",'recipients':['*']"), HV_PUT_CREATE, 0);
  struct hv_ack_status st = status(db, HV_SITE, "hosp");
  static const char *const want[] = {"fsa", "fsa-north", "nda", "ru",
                                     "sdf", "syr-gov",   "tr",  "us"};
  assert_int_equal(st.n, 8);
  for (size_t i = 0; i < 8; i++)
    assert_string_equal(st.rows[i].party, want[i]);
  hv_ack_status_free(&st);
  assert_int_equal(ack(db, "nda", HV_SITE, "hosp", 1), HV_OK);
  assert_int_equal(ack(db, "un-monitors", HV_SITE, "hosp", 1), HV_EPERM);
  assert_int_equal(ack(db, "is", HV_SITE, "hosp", 1), HV_EPERM);
  assert_int_equal(ack(db, "un-ocha", HV_SITE, "hosp", 1), HV_EPERM);
  st = status(db, HV_SITE, "hosp");
  assert_int_equal(st.n_acked, 1);
  assert_true(row(&st, "nda")->acked);
  hv_ack_status_free(&st);
  /* The ack's ledger entry (the last one): read in full by its party,
   * the body withheld from the others (the entry still listed). */
  struct view_probe p = {0};
  assert_int_equal(hv_ledger_each(db, tu_ledger(db).n, 0, probe_views, &p),
                   HV_OK);
  assert_int_equal(p.own_body, 1);
  assert_int_equal(p.other_body, 0);
  assert_int_equal(p.coord_body, 1);
  /* Blind: delivered to nobody; to its recipients it does not exist. */
  put_ok(db, HV_SITE,
         SITE("safe-house", ",'recipients':['ru'],'disclosure':"
                            "'blind'"),
         HV_PUT_CREATE, 0);
  assert_int_equal(ack(db, "ru", HV_SITE, "safe-house", 1), HV_ENOTFOUND);
  st = status(db, HV_SITE, "safe-house");
  assert_int_equal(st.blind, 1);
  assert_int_equal(st.n, 0);
  hv_ack_status_free(&st);
  hv_ack_status_free(NULL);
  assert_int_equal(hv_db_ack_status(db, HV_SITE, "nowhere", &st, NULL),
                   HV_ENOTFOUND);
  tu_verify(db);
}

/* ---- references ---------------------------------------------------------- */

static void test_references_protected(void **state) {
  struct tu_store *c = *state;
  struct hv_db *db = c->db;
  put_ok(db, HV_MOVEMENT, BY_CORRIDOR("aleppo", ",'recipients':['sdf']"),
         HV_PUT_CREATE, 0);
  struct hv_error err = {0};
  struct tu_snapshot before = tu_snap(db);
  int64_t cv = hv_db_get(db, HV_CORRIDOR, "castello-road")->version;
  assert_int_equal(
      hv_db_delete(db, HV_COORDINATOR, HV_CORRIDOR, "castello-road", cv, &err),
      HV_EREF);
  assert_non_null(strstr(err.msg, "movement \"aleppo\""));
  int64_t pv = hv_db_get(db, HV_PARTY, "sdf")->version;
  assert_int_equal(hv_db_delete(db, HV_COORDINATOR, HV_PARTY, "sdf", pv, &err),
                   HV_EREF);
  assert_non_null(strstr(err.msg, "movement \"aleppo\""));
  int64_t iv = hv_db_get(db, HV_PARTY, "icrc")->version;
  assert_int_equal(hv_db_delete(db, HV_COORDINATOR, HV_PARTY, "icrc", iv, &err),
                   HV_EREF);
  tu_assert_unchanged(db, &before, "deleting what a movement refers to");
  /* Once the movement is gone, so may the corridor be. */
  assert_int_equal(
      hv_db_delete(db, HV_COORDINATOR, HV_MOVEMENT, "aleppo", 1, &err), HV_OK);
  assert_int_equal(
      hv_db_delete(db, HV_COORDINATOR, HV_CORRIDOR, "castello-road", cv, &err),
      HV_OK);
  tu_verify(db);
}

/* ---- export and import --------------------------------------------------- */

static void test_export_import(void **state) {
  struct tu_store *c = *state;
  struct hv_db *db = c->db;
  put_ok(db, HV_MOVEMENT, BY_CORRIDOR("aleppo", ""), HV_PUT_CREATE, 0);
  put_ok(db, HV_MOVEMENT,
         MOVEMENT("douma", DOUMA_ROUTE, ",'notified_at':'2018-03-01'"),
         HV_PUT_CREATE, 0);
  char dir[4096], path[4096];
  tu_path_in(dir, sizeof dir, c->dir, "export");
  struct hv_error err = {0};
  assert_int_equal(hv_db_export(db, dir, &err), HV_OK);
  tu_path_in(path, sizeof path, dir, "movements.geojson");
  json_error_t jerr;
  json_t *fc = json_load_file(path, 0, &jerr);
  assert_non_null(fc);
  json_t *f0 = json_array_get(json_object_get(fc, "features"), 0);
  assert_string_equal(json_string_value(json_object_get(f0, "id")), "aleppo");
  assert_true(json_is_null(json_object_get(f0, "geometry")));
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(f0, "properties"), "object")),
                      "movement");
  json_decref(fc);
  /* Importing the export back changes nothing. */
  struct tu_snapshot before = tu_snap(db);
  const char *paths[] = {path};
  struct hv_import_stats stats;
  assert_int_equal(
      hv_db_import(db, HV_COORDINATOR, paths, 1, NULL, NULL, &stats, &err),
      HV_OK);
  assert_int_equal(stats.unchanged, 2);
  assert_int_equal(stats.by_kind[HV_MOVEMENT], 2);
  tu_assert_unchanged(db, &before, "re-importing exported movements");
}

int main(void) {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, tu_store_teardown)
  const struct CMUnitTest tests[] = {
      T_(test_movement_accepted),
      T_(test_movement_refused),
      T_(test_site_notification_members),
      T_(test_lead_time),
      T_(test_need_to_know),
      T_(test_ack_flow),
      T_(test_ack_sites_everyone_blind),
      T_(test_references_protected),
      T_(test_export_import),
  };
#undef T_
  return cmocka_run_group_tests(tests, NULL, NULL);
}
