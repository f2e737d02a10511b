/*
 * test-zonestat.c — zone status and suspected sieges (haven/adjudicate.h,
 * docs/zone-status.md) on the bundled scenario: clashes between the
 * government and the opposition inside the Astana Idlib area in 2018,
 * adjudicated and counted against the thresholds; and a populated zone in
 * eastern Aleppo in 2016, its one corridor closed, tested for a siege.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/haven.h"

#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static int64_t t_of(const char *text) {
  int64_t t = 0;
  assert_int_equal(hv_time_parse(text, &t), HV_OK);
  return t;
}

/* Creates or updates the object of kind from text (single quotes). */
static void put(struct tu_scenario *c, const char *author, enum hv_kind kind,
                const char *id, const char *text) {
  json_t *doc = tu_js(text);
  struct hv_error err = {0};
  const struct hv_object *cur = hv_db_get(c->db, kind, id);
  int rc =
      hv_db_put(c->db, author, kind, doc, cur ? HV_PUT_UPDATE : HV_PUT_CREATE,
                cur ? cur->version : 0, NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put %s: %s: %s", id, hv_err_name(rc), err.msg);
}

/* A clash between the government and the opposition at time, exact, at
 * UCDP 257896's place inside the Idlib area, with fatalities. */
static void put_clash(struct tu_scenario *c, const char *id, const char *time,
                      long fatalities) {
  char text[1024];
  snprintf(text, sizeof text,
           "{'type':'Feature','id':'%s','geometry':{'type':'Point',"
           "'coordinates':[36.539818,35.50016]},'properties':{'object':"
           "'incident','time':'%s','event_type':'Battles','sides':"
           "['syr-gov','syr-opposition'],'target':'party','fatalities':%ld}}",
           id, time, fatalities);
  put(c, "coordinator", HV_INCIDENT, id, text);
}

static void adjudicate_all(struct tu_scenario *c) {
  struct hv_error err = {0};
  struct hv_adjudicate_stats st;
  int rc = hv_db_adjudicate(c->db, "coordinator", NULL, 0, &st, &err);
  if (rc != HV_OK)
    fail_msg("hv_db_adjudicate: %s: %s", hv_err_name(rc), err.msg);
}

static struct hv_zone_state state_at(struct tu_scenario *c, const char *at,
                                     const struct hv_status_params *p) {
  struct hv_zone_state s;
  struct hv_error err = {0};
  int rc = hv_db_zone_state(c->db, "astana-idlib", t_of(at), p, &s, &err);
  if (rc != HV_OK)
    fail_msg("zone state: %s: %s", hv_err_name(rc), err.msg);
  return s;
}

/* ---- zone status ------------------------------------------------------ */

/* Parameters out of range name their field; an unknown zone is not found. */
static void test_status_errors(void **state) {
  struct tu_scenario *c = *state;
  struct hv_error err = {0};
  struct hv_zone_state s;
  int64_t t = t_of("2018-04-15");
  assert_int_equal(hv_db_zone_state(c->db, "no-such-zone", t, NULL, &s, &err),
                   HV_ENOTFOUND);
  struct hv_status_params p = hv_status_params_default();
  assert_int_equal(p.window_ms, 7 * 86400000LL);
  assert_int_equal(p.strained, 1);
  assert_int_equal(p.violated, 5);
  assert_int_equal(p.collapsed, 20);
  assert_int_equal(p.collapsed_fatalities, 100);
  p.window_ms = 3600000 - 1;
  assert_int_equal(hv_db_zone_state(c->db, "astana-idlib", t, &p, &s, &err),
                   HV_EINVAL);
  assert_non_null(strstr(err.msg, "window_ms"));
  p = hv_status_params_default();
  p.violated = 30; /* above collapsed */
  assert_int_equal(hv_db_zone_state(c->db, "astana-idlib", t, &p, &s, &err),
                   HV_EINVAL);
  assert_non_null(strstr(err.msg, "collapsed"));
  p = hv_status_params_default();
  p.strained = 0;
  assert_int_equal(hv_db_zone_state(c->db, "astana-idlib", t, &p, &s, &err),
                   HV_EINVAL);
  assert_non_null(strstr(err.msg, "strained"));
  p = hv_status_params_default();
  p.collapsed_fatalities = 0;
  assert_int_equal(hv_db_zone_state(c->db, "astana-idlib", t, &p, &s, &err),
                   HV_EINVAL);
  assert_non_null(strstr(err.msg, "collapsed_fatalities"));
  assert_string_equal(hv_zone_status_name(HV_ZONE_HOLDING), "holding");
  assert_string_equal(hv_zone_status_name(HV_ZONE_COLLAPSED), "collapsed");
}

/* 0 violations in the week before 15 April 2018: holding; 1: strained; 5:
 * violated; 20: collapsed. Each clash also violates the nationwide
 * cessation: counted once all the same. */
static void test_status_thresholds(void **state) {
  struct tu_scenario *c = *state;
  struct hv_zone_state s = state_at(c, "2018-04-15", NULL);
  assert_int_equal(s.status, HV_ZONE_HOLDING);
  assert_int_equal(s.violations, 0);
  assert_int_equal(s.to_ms, t_of("2018-04-15"));
  assert_int_equal(s.from_ms, t_of("2018-04-08"));
  assert_string_equal(s.zone, "astana-idlib");
  char id[32];
  for (int i = 1; i <= 20; i++) {
    snprintf(id, sizeof id, "idl-%02d", i);
    put_clash(c, id, "2018-04-10", 2);
    if (i != 1 && i != 4 && i != 5 && i != 19 && i != 20)
      continue;
    adjudicate_all(c);
    s = state_at(c, "2018-04-15", NULL);
    assert_int_equal(s.violations, i);
    assert_int_equal(s.fatalities, 2 * i);
    assert_int_equal(s.uncertain, 0);
    assert_int_equal(s.status, i >= 20  ? HV_ZONE_COLLAPSED
                               : i >= 5 ? HV_ZONE_VIOLATED
                                        : HV_ZONE_STRAINED);
  }
  /* More than one agreement violated, one incident counted. */
  const struct hv_adjudication *a = hv_db_adjudication(c->db, "idl-01");
  size_t v = 0;
  for (size_t i = 0; i < a->n_rows; i++)
    v += a->rows[i].cls == HV_CLASS_VIOLATION;
  assert_true(v >= 2);
  /* A week later the window has moved past them. */
  s = state_at(c, "2018-04-18", NULL);
  assert_int_equal(s.violations, 0);
  assert_int_equal(s.status, HV_ZONE_HOLDING);
}

/* The window is [T - 7 days, T): an incident exactly at its start counts,
 * one exactly at T does not. */
static void test_status_window_edges(void **state) {
  struct tu_scenario *c = *state;
  put_clash(c, "edge-from", "2018-05-08T00:00:00Z", 0);
  put_clash(c, "edge-to", "2018-05-15T00:00:00Z", 0);
  adjudicate_all(c);
  struct hv_zone_state s = state_at(c, "2018-05-15T00:00:00Z", NULL);
  assert_int_equal(s.violations, 1);
  assert_int_equal(s.status, HV_ZONE_STRAINED);
  /* A millisecond later edge-from has left the window and edge-to come in. */
  s = state_at(c, "2018-05-15T00:00:00.001Z", NULL);
  assert_int_equal(s.violations, 1);
  /* Eight days hold both; the thresholds decide what two make. */
  struct hv_status_params p = hv_status_params_default();
  p.window_ms = 8 * 86400000LL;
  s = state_at(c, "2018-05-15T00:00:00.001Z", &p);
  assert_int_equal(s.violations, 2);
  assert_int_equal(s.status, HV_ZONE_STRAINED);
  p.violated = 2;
  s = state_at(c, "2018-05-15T00:00:00.001Z", &p);
  assert_int_equal(s.status, HV_ZONE_VIOLATED);
}

/* A violation the coordinator assessed as disputed (every agreement it
 * violated) no longer counts; a confirmed one does. A report "near"
 * Saraqib, 10 km from the zone's edge, is uncertain there: reported in
 * `uncertain`, not counted. */
static void test_status_reviews_and_uncertain(void **state) {
  struct tu_scenario *c = *state;
  struct hv_error err = {0};
  put_clash(c, "disp-01", "2018-06-10", 3);
  put_clash(c, "conf-01", "2018-06-11", 4);
  put(c, "coordinator", HV_INCIDENT, "saraqib-near",
      "{'type':'Feature','id':'saraqib-near','geometry':{'type':'Point',"
      "'coordinates':[36.80,35.86]},'properties':{'object':'incident',"
      "'time':'2018-06-12','location_precision':'near','event_type':"
      "'Battles','sides':['syr-gov','syr-opposition'],'fatalities':50}}");
  adjudicate_all(c);
  struct hv_zone_state s = state_at(c, "2018-06-15", NULL);
  assert_int_equal(s.violations, 2);
  assert_int_equal(s.fatalities, 7);
  assert_int_equal(s.uncertain, 1);
  struct hv_principal coord = {.party = "coordinator",
                               .role = HV_ROLE_COORDINATOR};
  const char *ids[2] = {"disp-01", "conf-01"};
  enum hv_review_state outcome[2] = {HV_REVIEW_DISPUTED, HV_REVIEW_CONFIRMED};
  for (int k = 0; k < 2; k++) {
    const struct hv_adjudication *a = hv_db_adjudication(c->db, ids[k]);
    assert_non_null(a);
    char agreements[8][HV_ADJ_ID];
    size_t n = 0;
    for (size_t i = 0; i < a->n_rows && n < 8; i++)
      if (a->rows[i].cls == HV_CLASS_VIOLATION)
        snprintf(agreements[n++], HV_ADJ_ID, "%s", a->rows[i].agreement);
    for (size_t i = 0; i < n; i++) {
      struct hv_review_input in = {.step = HV_STEP_ASSESS,
                                   .text = "two conflicting witnesses",
                                   .outcome = outcome[k]};
      struct hv_review r;
      assert_int_equal(
          hv_db_review(c->db, &coord, ids[k], agreements[i], &in, &r, &err),
          HV_OK);
    }
  }
  s = state_at(c, "2018-06-15", NULL);
  assert_int_equal(s.violations, 1);
  assert_int_equal(s.fatalities, 4);
  assert_int_equal(s.uncertain, 1);
  assert_int_equal(s.status, HV_ZONE_STRAINED);
}

/* 120 deaths in one violation: collapsed however few; unless the
 * threshold is higher. */
static void test_status_fatalities(void **state) {
  struct tu_scenario *c = *state;
  put_clash(c, "fat-01", "2018-07-10", 120);
  adjudicate_all(c);
  struct hv_zone_state s = state_at(c, "2018-07-15", NULL);
  assert_int_equal(s.violations, 1);
  assert_int_equal(s.fatalities, 120);
  assert_int_equal(s.status, HV_ZONE_COLLAPSED);
  struct hv_status_params p = hv_status_params_default();
  p.collapsed_fatalities = 200;
  s = state_at(c, "2018-07-15", &p);
  assert_int_equal(s.status, HV_ZONE_STRAINED);
}

/* ---- sieges ----------------------------------------------------------- */

static const struct hv_siege *find_siege(const struct hv_siege *v, size_t n,
                                         const char *zone) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].zone, zone) == 0)
      return &v[i];
  return NULL;
}

/* The siege test of east-aleppo at `at` into *out (0 when absent). */
static int siege_at(struct tu_scenario *c, const char *at,
                    struct hv_siege *out) {
  struct hv_siege *v = NULL;
  size_t n = 0;
  struct hv_error err = {0};
  int rc = hv_db_sieges(c->db, t_of(at), NULL, &v, &n, &err);
  if (rc != HV_OK)
    fail_msg("sieges: %s: %s", hv_err_name(rc), err.msg);
  const struct hv_siege *s = find_siege(v, n, "east-aleppo");
  if (s)
    *out = *s;
  free(v);
  return s != NULL;
}

struct last_finding {
  json_t *body;
};

static int last_finding_cb(const struct hv_ledger_entry *e, void *ud) {
  struct last_finding *lf = ud;
  if (strcmp(e->kind, "finding") != 0)
    return 0;
  json_decref(lf->body);
  lf->body = json_loads(e->body, 0, NULL);
  return 0;
}

static void put_corridor(struct tu_scenario *c, const char *status,
                         const char *windows) {
  char text[1024];
  snprintf(text, sizeof text,
           "{'type':'Feature','id':'east-aleppo-road','geometry':{'type':"
           "'LineString','coordinates':[[37.15,36.21],[37.10,36.21],"
           "[37.05,36.22]]},'properties':{'object':'corridor','name':"
           "'Road into eastern Aleppo','half_width_m':300,'status':'%s',"
           "'connects':['east-aleppo']%s}}",
           status, windows);
  put(c, "coordinator", HV_CORRIDOR, "east-aleppo-road", text);
}

/* A populated zone in eastern Aleppo from 1 July 2016, its one corridor
 * closed; a convoy into it on 20 July. */
static void test_siege(void **state) {
  struct tu_scenario *c = *state;
  struct hv_error err = {0};
  put(c, "coordinator", HV_ZONE, "east-aleppo",
      "{'type':'Feature','id':'east-aleppo','geometry':{'type':'Polygon',"
      "'coordinates':[[[37.13,36.18],[37.20,36.18],[37.20,36.24],"
      "[37.13,36.24],[37.13,36.18]]]},'properties':{'object':'zone',"
      "'name':'Eastern Aleppo','kind':'security','valid_from':"
      "'2016-07-01','phase':'established','guarantors':['ru','us'],"
      "'population':250000}}");
  put_corridor(c, "closed", "");
  put(c, "icrc", HV_MOVEMENT, "convoy-0720",
      "{'type':'Feature','id':'convoy-0720','geometry':null,'properties':{"
      "'object':'movement','name':'Convoy to eastern Aleppo','kind':"
      "'convoy','corridor':'east-aleppo-road','notified_by':'icrc',"
      "'notified_at':'2016-07-17','valid_from':'2016-07-20T06:00:00Z',"
      "'valid_to':'2016-07-20T18:00:00Z','vehicles':12,'completed_at':"
      "'2016-07-20T16:00:00Z'}}");
  struct hv_siege s;
  /* Before the zone is in force: not tested. */
  assert_false(siege_at(c, "2016-06-15", &s));
  /* 1 August: encircled and no exit, but a convoy got in 12 days ago. */
  assert_true(siege_at(c, "2016-08-01", &s));
  assert_int_equal(s.population, 250000);
  assert_int_equal(s.corridors, 1);
  assert_int_equal(s.corridors_closed, 1);
  assert_int_equal(s.encircled, 1);
  assert_int_equal(s.last_access_ms, t_of("2016-07-20T16:00:00Z"));
  assert_string_equal(s.last_access, "convoy-0720");
  assert_int_equal(s.no_access, 0);
  assert_int_equal(s.no_exit, 1);
  assert_int_equal(s.suspected, 0);
  /* Not suspected: nothing to record. */
  int recorded = -1;
  assert_int_equal(hv_db_record_siege(c->db, &s, NULL, &recorded, NULL, &err),
                   HV_EINVAL);
  assert_int_equal(recorded, 0);
  /* 15 September: nothing in since 20 July. */
  assert_true(siege_at(c, "2016-09-15", &s));
  assert_int_equal(s.encircled, 1);
  assert_int_equal(s.no_access, 1);
  assert_int_equal(s.no_exit, 1);
  assert_int_equal(s.suspected, 1);
  assert_string_equal(s.last_access, "convoy-0720");
  json_t *j = hv_siege_json(&s);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "at")),
                      "2016-09-15T00:00:00Z");
  assert_string_equal(json_string_value(json_object_get(j, "last_access_at")),
                      "2016-07-20T16:00:00Z");
  assert_true(json_is_null(json_object_get(j, "last_exit_at")));
  json_t *cr = json_object_get(j, "criteria");
  assert_true(json_is_true(json_object_get(cr, "encircled")));
  assert_true(json_is_true(json_object_get(cr, "no_access")));
  assert_true(json_is_true(json_object_get(cr, "no_exit")));
  json_decref(j);
  /* Recorded once, seen by the zone's guarantors. */
  json_t *doc = NULL;
  int64_t head = hv_db_head_seq(c->db);
  assert_int_equal(hv_db_record_siege(c->db, &s, NULL, &recorded, &doc, &err),
                   HV_OK);
  assert_int_equal(recorded, 1);
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  assert_string_equal(json_string_value(json_object_get(doc, "kind")),
                      "siege_suspected");
  json_decref(doc);
  struct last_finding lf = {NULL};
  hv_ledger_each(c->db, head + 1, 0, last_finding_cb, &lf);
  assert_non_null(lf.body);
  assert_string_equal(json_string_value(json_object_get(lf.body, "zone")),
                      "east-aleppo");
  json_t *aud = json_object_get(lf.body, "audience");
  assert_int_equal(json_array_size(aud), 2);
  assert_string_equal(json_string_value(json_array_get(aud, 0)), "ru");
  assert_string_equal(json_string_value(json_array_get(aud, 1)), "us");
  assert_non_null(strstr(json_string_value(json_object_get(lf.body, "reason")),
                         "since 2016-07-20T16:00:00Z (convoy-0720)"));
  assert_true(json_is_true(
      json_object_get(json_object_get(lf.body, "evidence"), "suspected")));
  json_decref(lf.body);
  /* Five days later, within the 30 days: not written again. */
  assert_true(siege_at(c, "2016-09-20", &s));
  assert_int_equal(s.suspected, 1);
  doc = (json_t *)1;
  assert_int_equal(hv_db_record_siege(c->db, &s, NULL, &recorded, &doc, &err),
                   HV_OK);
  assert_int_equal(recorded, 0);
  assert_null(doc);
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  /* Thirty days after the first: written again. */
  assert_true(siege_at(c, "2016-10-15", &s));
  assert_int_equal(s.suspected, 1);
  assert_int_equal(hv_db_record_siege(c->db, &s, NULL, &recorded, NULL, &err),
                   HV_OK);
  assert_int_equal(recorded, 1);
  /* The corridor opened for a window around 15 September: not encircled
   * then, and a way out; closed again outside the window. */
  put_corridor(c, "open",
               ",'windows':[{'from':'2016-09-12','to':'2016-09-19'}]");
  assert_true(siege_at(c, "2016-09-15", &s));
  assert_int_equal(s.corridors_closed, 0);
  assert_int_equal(s.encircled, 0);
  assert_int_equal(s.no_exit, 0);
  assert_int_equal(s.suspected, 0);
  assert_true(siege_at(c, "2016-09-20", &s));
  assert_int_equal(s.encircled, 1);
  assert_int_equal(s.suspected, 1);
  /* An evacuation along its own line out of the zone (no corridor):
   * access and exit both. */
  put(c, "icrc", HV_MOVEMENT, "evac-1220",
      "{'type':'Feature','id':'evac-1220','geometry':{'type':'LineString',"
      "'coordinates':[[37.16,36.20],[37.06,36.16]]},'properties':{"
      "'object':'movement','name':'Evacuation from eastern Aleppo','kind':"
      "'evacuation','notified_by':'icrc','notified_at':'2016-12-14',"
      "'valid_from':'2016-12-18','valid_to':'2016-12-23','vehicles':40,"
      "'completed_at':'2016-12-22T12:00:00Z'}}");
  assert_true(siege_at(c, "2016-12-25", &s));
  assert_int_equal(s.encircled, 1);
  assert_string_equal(s.last_access, "evac-1220");
  assert_int_equal(s.last_exit_ms, t_of("2016-12-22T12:00:00Z"));
  assert_int_equal(s.no_access, 0);
  assert_int_equal(s.no_exit, 0);
  assert_int_equal(s.suspected, 0);
  /* Parameters out of range. */
  struct hv_siege *v = NULL;
  size_t n = 0;
  struct hv_siege_params p = {3600000};
  assert_int_equal(hv_db_sieges(c->db, t_of("2016-09-15"), &p, &v, &n, &err),
                   HV_EINVAL);
  assert_non_null(strstr(err.msg, "no_access_ms"));
  assert_int_equal(n, 0);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_errors),
      cmocka_unit_test(test_status_thresholds),
      cmocka_unit_test(test_status_window_edges),
      cmocka_unit_test(test_status_reviews_and_uncertain),
      cmocka_unit_test(test_status_fatalities),
      cmocka_unit_test(test_siege),
  };
  return cmocka_run_group_tests(tests, tu_scenario_setup, tu_scenario_teardown);
}
