/*
 * test-incidents.c — incidents, adjudications, reviews, zone status and
 * sieges over HTTP (docs/api.md, "Incidents and accountability"; the rules
 * in docs/incidents.md and docs/zone-status.md) against a real `haven
 * serve` on the bundled scenario:
 *
 * - a monitor reports a clash modelled on UCDP 216746 (Idlib, 1 March
 *   2016): 201 with its adjudication, an unattributed violation of the
 *   cessation of hostilities (coh-2016) with syr-gov answered for by ru;
 * - any role reports (a party, an agency), only the coordinator corrects
 *   or withdraws (403 for the party); a correction is adjudicated again
 *   and both answers stay listed;
 * - reporter protection: a hidden reporter and a coarsened location are
 *   the coordinator's to see; a party gets neither, and the ledger lists
 *   the incident's entries to it without their bodies;
 * - a hit on a notified hospital: named to the coordinator, by category and
 *   distance band to a party it was not sent to;
 * - the export filters and formats (CSV, GeoJSON), an empty match, a bad
 *   class;
 * - a review over HTTP: dispute, a stranger refused, request for
 *   information with a deadline, the answer, the assessment; steps out of
 *   order and reviews of no violation refused;
 * - POST /v1/adjudications: coordinator only, nothing recorded when
 *   nothing changed;
 * - zone status: five clashes in the Idlib area in a week make it
 *   "violated", four "strained";
 * - a siege of eastern Aleppo in 2016: suspected on 15 September, not on 1
 *   August; the scan records one finding, sent on the alert stream of a
 *   guarantor of the zone and not on another party's, and not repeated;
 * - the bulletin of the cessation for 1-3 March 2016 in its four formats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <haven/haven.h>

#include "harness.h"

/* cond, or the test fails with the message. */
#define REQUIRE(cond, ...)                                                     \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_msg(__VA_ARGS__);                                                   \
  } while (0)

#define EVENT_MS 10000

/* UCDP GED 216746: a clash between the government and the insurgents in
 * Idlib governorate on 1 March 2016, two days into the cessation. */
#define UCDP_LON 36.225
#define UCDP_LAT 35.841111

/* The incident whose reporter asked for protection; seven decimals, so
 * that any rounding of them shows. */
#define HIDDEN_LON 36.6331234
#define HIDDEN_LAT 35.9301234

static struct {
  char work[1024], data[1100];
  struct it_server srv;
  /* coordinator; it-monitor (a monitor); syr-gov, ru, sna, fsa (parties);
   * ocha (an agency) */
  char coord[64], mon[64], syr[64], ru[64], sna[64], fsa[64], ocha[64];
} g;

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "incidents");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, id);
  /* The scenario's only monitor is the coordination cell itself. */
  it_put(g.data, "party",
         "{'id':'it-monitor','name':'Observer mission','kind':'monitor'}");
  it_token_create(g.data, "it-monitor", "monitor", g.mon, id);
  it_token_create(g.data, "syr-gov", "party", g.syr, id);
  it_token_create(g.data, "ru", "party", g.ru, id);
  it_token_create(g.data, "sna", "party", g.sna, id);
  it_token_create(g.data, "fsa", "party", g.fsa, id);
  it_token_create(g.data, "ocha", "agency", g.ocha, id);
  it_server_start(&g.srv, g.data, g.work, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  it_http_cleanup();
  return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* A clash between the government and the opposition at lon, lat on date
 * (Battles / Armed clash, no perpetrator), with id. Caller decrefs. */
static json_t *clash(const char *id, double lon, double lat, const char *date) {
  json_t *d = json_pack(
      "{s:s,s:s,s:{s:s,s:[f,f]},s:{s:s,s:s,s:s,s:s,s:[s,s],s:i,s:s}}", "type",
      "Feature", "id", id, "geometry", "type", "Point", "coordinates", lon, lat,
      "properties", "object", "incident", "time", date, "event_type", "Battles",
      "sub_event_type", "Armed clash", "sides", "syr-gov", "syr-opposition",
      "fatalities", 2, "source", "integration test");
  assert_non_null(d);
  return d;
}

/* POST /v1/incidents of doc (borrowed) as token; fills *r. */
static long post_incident(const char *token, const json_t *doc,
                          struct it_resp *r) {
  return it_send(&g.srv, "POST", token, "/v1/incidents", doc, r);
}

/* Posts doc as token and requires 201; returns the reply (caller frees). */
static void report(const char *token, const json_t *doc, struct it_resp *r) {
  if (post_incident(token, doc, r) != 201)
    fail_msg("POST /v1/incidents: %s", it_show(r));
}

/* The row of agreement in an adjudication (borrowed), or NULL. */
static json_t *row_of(const json_t *adj, const char *agreement) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(adj, "agreements"), i, x) {
    if (strcmp(it_jstr(x, "agreement"), agreement) == 0)
      return x;
  }
  return NULL;
}

/* The involved entry of party in a row (borrowed), or NULL. */
static json_t *involved(const json_t *row, const char *party) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(row, "involved"), i, x) {
    if (strcmp(it_jstr(x, "party"), party) == 0)
      return x;
  }
  return NULL;
}

/* now + hours as RFC 3339 into buf. */
static const char *hours_from_now(char *buf, size_t size, double hours) {
  time_t t = time(NULL) + (time_t)(hours * 3600);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/* Great-circle distance in metres (a sphere is close enough here). */
static double distance_m(double lon1, double lat1, double lon2, double lat2) {
  const double rad = M_PI / 180;
  double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
  double a = sin(dlat / 2) * sin(dlat / 2) +
             cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
  return 2 * 6371008.8 * asin(sqrt(a));
}

/* The coordinates of a Point Feature. */
static void point_of(const json_t *f, double *lon, double *lat) {
  json_t *c = json_object_get(json_object_get(f, "geometry"), "coordinates");
  REQUIRE(json_array_size(c) == 2, "no Point geometry");
  *lon = json_number_value(json_array_get(c, 0));
  *lat = json_number_value(json_array_get(c, 1));
}

/* POST /v1/reviews of a step as token; fills *r and returns the status. */
static long review(const char *token, const char *incident, const char *step,
                   const char *extra_quoted, struct it_resp *r) {
  json_t *b = it_js(extra_quoted ? extra_quoted : "{}");
  json_object_set_new(b, "incident", json_string(incident));
  json_object_set_new(b, "agreement", json_string("coh-2016"));
  json_object_set_new(b, "step", json_string(step));
  long st = it_send(&g.srv, "POST", token, "/v1/reviews", b, r);
  json_decref(b);
  return st;
}

/* The ledger head (GET /healthz). */
static int64_t ledger_head(void) {
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, NULL, "/healthz", &r), 200);
  int64_t h = json_integer_value(json_object_get(r.json, "ledger_head"));
  it_resp_free(&r);
  return h;
}

/* ---- a monitor's report ------------------------------------------------- */

static void test_monitor_report(void **state) {
  (void)state;
  struct it_resp r;
  json_t *doc = clash("it-ucdp-216746", UCDP_LON, UCDP_LAT, "2016-03-01");
  report(g.mon, doc, &r);
  json_decref(doc);
  /* The incident as written, and its answer riding along. */
  assert_string_equal(it_jstr(r.json, "id"), "it-ucdp-216746");
  assert_int_equal(it_version(r.json), 1);
  json_t *adj = json_object_get(r.json, "adjudication");
  REQUIRE(json_is_object(adj), "no adjudication in the reply: %s", it_show(&r));
  assert_string_equal(it_jstr(adj, "incident"), "it-ucdp-216746");
  assert_string_equal(it_jstr(adj, "action"), "ground_offensive");
  json_t *row = row_of(adj, "coh-2016");
  REQUIRE(row != NULL, "no coh-2016 row: %s", it_show(&r));
  assert_string_equal(it_jstr(row, "class"), "violation");
  assert_true(json_is_false(json_object_get(row, "attributed")));
  json_t *gov = involved(row, "syr-gov");
  REQUIRE(gov != NULL, "syr-gov not involved: %s", it_show(&r));
  assert_string_equal(it_jstr(gov, "guarantor"), "ru");
  assert_true(json_is_false(json_object_get(gov, "is_guarantor")));
  REQUIRE(involved(row, "syr-opposition") != NULL,
          "syr-opposition not involved: %s", it_show(&r));
  /* The Astana memorandum was not yet signed: no row at all. */
  assert_null(row_of(adj, "astana-2017"));
  it_resp_free(&r);

  /* Recorded: the latest answer, with its ledger entry. */
  assert_int_equal(
      it_get(&g.srv, g.sna, "/v1/incidents/it-ucdp-216746/adjudication", &r),
      200);
  assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 1);
  assert_true(json_integer_value(json_object_get(r.json, "recorded_seq")) > 0);
  assert_string_equal(it_jstr(row_of(r.json, "coh-2016"), "class"),
                      "violation");
  it_resp_free(&r);
  /* No such incident. */
  assert_int_equal(
      it_get(&g.srv, g.coord, "/v1/incidents/it-nothing/adjudication", &r),
      404);
  it_resp_free(&r);
  /* Unknown members are refused as elsewhere. */
  doc = clash("it-bad", UCDP_LON, UCDP_LAT, "2016-03-01");
  json_object_set_new(json_object_get(doc, "properties"), "colour",
                      json_string("red"));
  assert_int_equal(post_incident(g.mon, doc, &r), 400);
  json_decref(doc);
  it_resp_free(&r);
}

/* ---- any role reports; the coordinator corrects -------------------------- */

static void test_party_reports_coordinator_corrects(void **state) {
  (void)state;
  struct it_resp r;
  json_t *doc = clash("it-gov-report", 36.30, 35.80, "2016-03-02");
  report(g.syr, doc, &r);
  json_t *adj = json_object_get(r.json, "adjudication");
  assert_string_equal(it_jstr(row_of(adj, "coh-2016"), "class"), "violation");
  it_resp_free(&r);
  /* An agency reports too. */
  json_t *other = clash("it-ocha-report", 36.31, 35.81, "2016-03-02");
  report(g.ocha, other, &r);
  it_resp_free(&r);

  /* Only the coordinator corrects or withdraws. */
  json_object_set_new(json_object_get(doc, "properties"), "fatalities",
                      json_integer(7));
  it_doc_set_version(doc, 1);
  assert_int_equal(
      it_send(&g.srv, "PUT", g.syr, "/v1/incidents/it-gov-report", doc, &r),
      403);
  assert_string_equal(it_err_code(&r), "forbidden");
  it_resp_free(&r);
  json_t *del = it_js("{'version':1}");
  assert_int_equal(
      it_send(&g.srv, "DELETE", g.syr, "/v1/incidents/it-ocha-report", del, &r),
      403);
  it_resp_free(&r);
  assert_int_equal(it_send(&g.srv, "DELETE", g.ocha,
                           "/v1/incidents/it-ocha-report", del, &r),
                   403);
  it_resp_free(&r);
  assert_int_equal(it_send(&g.srv, "DELETE", g.coord,
                           "/v1/incidents/it-ocha-report", del, &r),
                   200);
  it_resp_free(&r);
  json_decref(del);
  json_decref(other);

  /* The coordinator's correction: version 2, adjudicated again. */
  assert_int_equal(
      it_send(&g.srv, "PUT", g.coord, "/v1/incidents/it-gov-report", doc, &r),
      200);
  json_decref(doc);
  assert_int_equal(it_version(r.json), 2);
  adj = json_object_get(r.json, "adjudication");
  REQUIRE(json_is_object(adj), "no adjudication: %s", it_show(&r));
  assert_int_equal(json_integer_value(json_object_get(adj, "version")), 2);
  assert_int_equal(json_integer_value(json_object_get(adj, "fatalities")), 7);
  it_resp_free(&r);
  /* Both answers are listed, oldest first: the old one is kept. */
  assert_int_equal(
      it_get(&g.srv, g.sna, "/v1/incidents/it-gov-report/adjudications", &r),
      200);
  json_t *items = json_object_get(r.json, "items");
  REQUIRE(json_array_size(items) == 2, "2 answers expected: %s", it_show(&r));
  json_t *a0 = json_array_get(items, 0), *a1 = json_array_get(items, 1);
  assert_int_equal(json_integer_value(json_object_get(a0, "version")), 1);
  assert_int_equal(json_integer_value(json_object_get(a0, "fatalities")), 2);
  assert_int_equal(json_integer_value(json_object_get(a1, "version")), 2);
  assert_true(json_integer_value(json_object_get(a0, "recorded_seq")) <
              json_integer_value(json_object_get(a1, "recorded_seq")));
  assert_string_equal(it_jstr(a0, "recorded_by"), "coordinator");
  it_resp_free(&r);
  /* The withdrawn one has no latest answer. */
  assert_int_equal(
      it_get(&g.srv, g.coord, "/v1/incidents/it-ocha-report/adjudication", &r),
      404);
  it_resp_free(&r);
}

/* ---- reporter protection ------------------------------------------------- */

static void test_reporter_protection(void **state) {
  (void)state;
  struct it_resp r;
  int64_t head = ledger_head();
  json_t *doc = clash("it-witnessed", HIDDEN_LON, HIDDEN_LAT, "2016-03-03");
  json_t *props = json_object_get(doc, "properties");
  json_object_set_new(props, "reporter", json_string("witness-7"));
  json_object_set_new(props, "hide_reporter", json_true());
  json_object_set_new(props, "coarsen_m", json_integer(10000));
  report(g.mon, doc, &r);
  json_decref(doc);
  /* The monitor that reported it is not the coordinator: already the
   * reply withholds what the reporter asked. */
  REQUIRE(strstr(r.body, "witness-7") == NULL,
          "the reply to the monitor names the reporter: %s", it_show(&r));
  it_resp_free(&r);

  /* The coordinator sees it all. */
  double lon, lat;
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/incidents/it-witnessed", &r),
                   200);
  props = json_object_get(r.json, "properties");
  assert_string_equal(it_jstr(props, "reporter"), "witness-7");
  point_of(r.json, &lon, &lat);
  assert_true(lon == HIDDEN_LON && lat == HIDDEN_LAT);
  it_resp_free(&r);

  /* A party: no reporter, the location moved to its cell's centre (within
   * the cell's half-diagonal, about 7.1 km). */
  assert_int_equal(it_get(&g.srv, g.syr, "/v1/incidents/it-witnessed", &r),
                   200);
  props = json_object_get(r.json, "properties");
  REQUIRE(json_object_get(props, "reporter") == NULL,
          "a party sees the hidden reporter: %s", it_show(&r));
  REQUIRE(strstr(r.body, "witness-7") == NULL, "witness-7 in %s", it_show(&r));
  point_of(r.json, &lon, &lat);
  REQUIRE(lon != HIDDEN_LON || lat != HIDDEN_LAT,
          "a party sees the exact location: %s", it_show(&r));
  double d = distance_m(lon, lat, HIDDEN_LON, HIDDEN_LAT);
  REQUIRE(d > 0 && d < 10000, "published point %.0f m away", d);
  it_resp_free(&r);
  /* Its adjudication as the party sees it: the same published point. */
  assert_int_equal(
      it_get(&g.srv, g.syr, "/v1/incidents/it-witnessed/adjudication", &r),
      200);
  assert_true(json_number_value(json_object_get(r.json, "lon")) == lon);
  assert_true(json_number_value(json_object_get(r.json, "lat")) == lat);
  it_resp_free(&r);
  /* Nor does the list give it away. */
  assert_int_equal(it_get(&g.srv, g.syr, "/v1/incidents?limit=1000", &r), 200);
  REQUIRE(strstr(r.body, "witness-7") == NULL, "witness-7 in the list");
  it_resp_free(&r);

  /* The ledger lists its entries (the incident, its adjudication) to the
   * party without their bodies; to the coordinator with them. */
  char path[128];
  snprintf(path, sizeof path, "/v1/ledger?from=%lld&limit=1000",
           (long long)head + 1);
  const char *who[2] = {g.syr, g.coord};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(it_get(&g.srv, who[k], path, &r), 200);
    size_t i, seen = 0, answers = 0;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
      int inc = strcmp(it_jstr(e, "kind"), "incident") == 0;
      if ((!inc && strcmp(it_jstr(e, "kind"), "adjudication") != 0) ||
          strcmp(it_jstr(e, "id"), "it-witnessed") != 0)
        continue;
      seen += inc;
      answers += !inc;
      if (k == 0)
        REQUIRE(json_object_get(e, "body") == NULL,
                "the party gets the body of the %s entry: %s",
                it_jstr(e, "kind"), it_show(&r));
      else
        REQUIRE(json_is_string(json_object_get(e, "body")),
                "the coordinator's %s entry has no body: %s",
                it_jstr(e, "kind"), it_show(&r));
      REQUIRE(json_is_string(json_object_get(e, "body_hash")),
              "no body_hash: %s", it_show(&r));
    }
    REQUIRE(seen == 1 && answers == 1,
            "%zu incident and %zu adjudication entries of it-witnessed", seen,
            answers);
    if (k == 0) {
      /* Neither the reporter nor the exact point anywhere in it. */
      REQUIRE(strstr(r.body, "witness-7") == NULL,
              "the ledger shows the party witness-7");
      REQUIRE(strstr(r.body, "36.633123") == NULL &&
                  strstr(r.body, "35.930123") == NULL,
              "the ledger shows the party the exact point");
    } else {
      REQUIRE(strstr(r.body, "witness-7") != NULL,
              "the coordinator's ledger has no witness-7");
    }
    it_resp_free(&r);
  }
}

/* ---- hits on notified sites ------------------------------------------------
 */

static void test_site_hit(void **state) {
  (void)state;
  struct it_resp r;
  /* Shelling by syr-gov at Al-Sakhour hospital (site-ho_1004, notified by
   * ocha to nobody; the scenario's sites protect from their import, so in
   * 2030). */
  json_t *doc = it_js(
      "{'type':'Feature','id':'it-hospital-shelled','geometry':{'type':"
      "'Point','coordinates':[37.1929,36.2165]},'properties':{'object':"
      "'incident','time':'2030-03-01','event_type':'Explosions/Remote "
      "violence','sub_event_type':'Shelling/artillery/missile attack',"
      "'perpetrator':'syr-gov','perpetrator_certainty':'known',"
      "'sides':['syr-gov'],'target':'site','target_site':'site-ho_1004'}}");
  report(g.coord, doc, &r);
  json_decref(doc);
  json_t *adj = json_object_get(r.json, "adjudication");
  json_t *row = row_of(adj, "coh-2016");
  REQUIRE(row != NULL, "no coh-2016 row: %s", it_show(&r));
  assert_string_equal(it_jstr(row, "class"), "violation");
  assert_true(json_is_true(json_object_get(row, "attributed")));
  json_t *hit = json_array_get(json_object_get(adj, "hits"), 0);
  REQUIRE(hit != NULL, "no hit: %s", it_show(&r));
  /* The coordinator: the site and the exact distance. */
  assert_string_equal(it_jstr(hit, "site"), "site-ho_1004");
  assert_true(json_is_number(json_object_get(hit, "distance_m")));
  json_t *ack = json_array_get(json_object_get(hit, "acks"), 0);
  assert_string_equal(it_jstr(ack, "party"), "syr-gov");
  assert_string_equal(it_jstr(ack, "state"), "not_told");
  it_resp_free(&r);
  /* A party the site was not sent to: category and band only. */
  assert_int_equal(it_get(&g.srv, g.syr,
                          "/v1/incidents/it-hospital-shelled/adjudication", &r),
                   200);
  hit = json_array_get(json_object_get(r.json, "hits"), 0);
  REQUIRE(hit != NULL, "no hit: %s", it_show(&r));
  assert_true(json_is_null(json_object_get(hit, "site")));
  assert_string_equal(it_jstr(hit, "category"), "hospital");
  assert_string_equal(it_jstr(hit, "distance_band"), "<1 km");
  assert_null(json_object_get(hit, "distance_m"));
  REQUIRE(strstr(r.body, "site-ho_1004") == NULL, "the site named: %s",
          it_show(&r));
  it_resp_free(&r);
  /* Nor does the incident name it to the party (target_site withheld). */
  assert_int_equal(
      it_get(&g.srv, g.syr, "/v1/incidents/it-hospital-shelled", &r), 200);
  REQUIRE(strstr(r.body, "site-ho_1004") == NULL, "target_site shown: %s",
          it_show(&r));
  it_resp_free(&r);
  /* A blind site is not an oracle: naming it as target_site answers as
   * for a site that does not exist, message for message. */
  doc = it_js("{'type':'Feature','id':'it-blind-clinic','geometry':{'type':"
              "'Point','coordinates':[37.3,36.3]},'properties':{'object':"
              "'site','name':'Clinic','category':'hospital','radius_m':200,"
              "'notified_by':'ocha','disclosure':'blind'}}");
  assert_int_equal(it_send(&g.srv, "POST", g.coord, "/v1/sites", doc, &r), 201);
  json_decref(doc);
  it_resp_free(&r);
  char msg[2][1024];
  const char *const sites[2] = {"it-blind-clinic", "it-no-such-clinic"};
  for (int k = 0; k < 2; k++) {
    char text[1024];
    snprintf(text, sizeof text,
             "{'type':'Feature','id':'it-probe','geometry':{'type':'Point',"
             "'coordinates':[37.3,36.3]},'properties':{'object':'incident',"
             "'time':'2030-03-02','event_type':'Battles','target':'site',"
             "'target_site':'%s'}}",
             sites[k]);
    doc = it_js(text);
    assert_int_equal(post_incident(g.syr, doc, &r), 400);
    json_decref(doc);
    const char *m = it_jstr(json_object_get(r.json, "error"), "message");
    REQUIRE(m != NULL, "no message: %s", it_show(&r));
    snprintf(msg[k], sizeof msg[k], "%s", m);
    it_resp_free(&r);
  }
  char *at = strstr(msg[0], "it-blind-clinic");
  REQUIRE(at != NULL, "message: %s", msg[0]);
  char want[1024];
  snprintf(want, sizeof want, "%.*sit-no-such-clinic%s", (int)(at - msg[0]),
           msg[0], at + strlen("it-blind-clinic"));
  assert_string_equal(want, msg[1]);
}

/* ---- exports ------------------------------------------------------------- */

static void test_export_formats(void **state) {
  (void)state;
  struct it_resp r;
  /* How many incidents have a coh-2016 violation, from the JSON. */
  assert_int_equal(
      it_get(&g.srv, g.coord,
             "/v1/adjudications?agreement=coh-2016&class=violation", &r),
      200);
  REQUIRE(json_is_array(r.json), "not an array: %s", it_show(&r));
  size_t n = json_array_size(r.json);
  REQUIRE(n >= 2, "%zu coh-2016 violations", n);
  it_resp_free(&r);

  assert_int_equal(it_get(&g.srv, g.coord,
                          "/v1/adjudications?agreement=coh-2016&class="
                          "violation&format=csv",
                          &r),
                   200);
  REQUIRE(strcasestr(r.headers, "content-type: text/csv") != NULL,
          "not text/csv: %s", r.headers);
  size_t lines = 0;
  char *save = NULL;
  for (char *line = strtok_r(r.body, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save), lines++) {
    if (lines == 0)
      REQUIRE(strncmp(line, "incident,version,", 17) == 0, "header: %s", line);
    else
      REQUIRE(strstr(line, ",coh-2016,violation,") != NULL,
              "a line without coh-2016,violation: %s", line);
  }
  assert_int_equal(lines, 1 + n);
  it_resp_free(&r);

  assert_int_equal(it_get(&g.srv, g.coord,
                          "/v1/adjudications?agreement=coh-2016&class="
                          "violation&format=geojson",
                          &r),
                   200);
  REQUIRE(strcasestr(r.headers, "content-type: application/geo+json"),
          "not GeoJSON: %s", r.headers);
  assert_string_equal(it_jstr(r.json, "type"), "FeatureCollection");
  json_t *features = json_object_get(r.json, "features");
  assert_int_equal(json_array_size(features), n);
  size_t i;
  json_t *f;
  json_array_foreach(features, i, f) {
    assert_string_equal(it_jstr(f, "type"), "Feature");
    assert_string_equal(it_jstr(json_object_get(f, "geometry"), "type"),
                        "Point");
  }
  it_resp_free(&r);

  /* NDJSON: one answer a line. */
  assert_int_equal(it_get(&g.srv, g.coord,
                          "/v1/adjudications?agreement=coh-2016&class="
                          "violation&format=ndjson",
                          &r),
                   200);
  REQUIRE(strcasestr(r.headers, "content-type: application/x-ndjson"),
          "not NDJSON: %s", r.headers);
  lines = 0;
  for (const char *p = r.body; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, n);
  it_resp_free(&r);

  /* Nothing matches: empty in every format. */
  assert_int_equal(it_get(&g.srv, g.coord,
                          "/v1/adjudications?agreement=coh-2016&class=excluded",
                          &r),
                   200);
  assert_int_equal(json_array_size(r.json), 0);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord,
                          "/v1/adjudications?party=it-monitor&format=csv", &r),
                   200);
  lines = 0;
  for (const char *p = r.body; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, 1); /* the header */
  it_resp_free(&r);
  /* The period filter: nothing in 2015. */
  assert_int_equal(it_get(&g.srv, g.coord,
                          "/v1/adjudications?from=2015-01-01&to=2016-01-01",
                          &r),
                   200);
  assert_int_equal(json_array_size(r.json), 0);
  it_resp_free(&r);

  /* A bad class, a bad format. */
  assert_int_equal(
      it_get(&g.srv, g.coord, "/v1/adjudications?class=violent", &r), 400);
  assert_string_equal(it_err_code(&r), "bad_parameter");
  assert_string_equal(it_err_field(&r), "class");
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/adjudications?format=xml", &r),
                   400);
  assert_string_equal(it_err_field(&r), "format");
  it_resp_free(&r);
}

/* ---- reviews ---------------------------------------------------------------
 */

static void test_review_flow(void **state) {
  (void)state;
  struct it_resp r;
  const char *inc = "it-ucdp-216746";
  /* An involved party disputes it. */
  assert_int_equal(review(g.syr, inc, "dispute",
                          "{'text':'Our units were not in the area'}", &r),
                   200);
  assert_string_equal(it_jstr(r.json, "state"), "contested");
  assert_true(json_is_true(json_object_get(r.json, "open")));
  it_resp_free(&r);
  /* A party it is not about may not. */
  assert_int_equal(
      review(g.fsa, inc, "dispute", "{'text':'Not us either'}", &r), 403);
  assert_string_equal(it_err_code(&r), "forbidden");
  it_resp_free(&r);
  /* Nor may a party ask for information. */
  char deadline[40];
  hours_from_now(deadline, sizeof deadline, 24);
  char body[256];
  snprintf(body, sizeof body,
           "{'text':'Which units were at Jisr al-Shughur?','party':"
           "'syr-gov','deadline':'%s'}",
           deadline);
  assert_int_equal(review(g.ru, inc, "request_info", body, &r), 403);
  it_resp_free(&r);
  /* The coordinator asks syr-gov, by tomorrow. */
  assert_int_equal(review(g.coord, inc, "request_info", body, &r), 200);
  assert_string_equal(it_jstr(r.json, "state"), "info_requested");
  assert_string_equal(it_jstr(r.json, "asked"), "syr-gov");
  assert_true(json_is_false(json_object_get(r.json, "overdue")));
  it_resp_free(&r);
  /* Someone else may not answer for it. */
  assert_int_equal(review(g.fsa, inc, "respond", "{'text':'x'}", &r), 403);
  it_resp_free(&r);
  assert_int_equal(review(g.syr, inc, "respond",
                          "{'text':'The 4th Division was in Latakia'}", &r),
                   200);
  assert_string_equal(it_jstr(r.json, "state"), "answered");
  assert_true(json_is_false(json_object_get(r.json, "answered_late")));
  it_resp_free(&r);
  /* Open until assessed. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/reviews?open=true", &r), 200);
  REQUIRE(strstr(r.body, inc) != NULL, "not listed as open: %s", it_show(&r));
  it_resp_free(&r);
  assert_int_equal(review(g.coord, inc, "assess",
                          "{'outcome':'confirmed','text':'Two independent "
                          "sources'}",
                          &r),
                   200);
  assert_string_equal(it_jstr(r.json, "state"), "confirmed");
  assert_true(json_is_false(json_object_get(r.json, "open")));
  assert_int_equal(json_integer_value(json_object_get(r.json, "steps")), 4);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/reviews?open=true", &r), 200);
  REQUIRE(strstr(r.body, inc) == NULL, "still listed as open: %s", it_show(&r));
  it_resp_free(&r);
  assert_int_equal(
      it_get(&g.srv, g.sna, "/v1/reviews?incident=it-ucdp-216746", &r), 200);
  json_t *items = json_object_get(r.json, "items");
  assert_int_equal(json_array_size(items), 1);
  assert_string_equal(it_jstr(json_array_get(items, 0), "state"), "confirmed");
  it_resp_free(&r);
  /* After the assessment, no more disputes. */
  assert_int_equal(review(g.syr, inc, "dispute", "{'text':'Again'}", &r), 400);
  it_resp_free(&r);

  /* Out of order: an answer nobody asked for. */
  assert_int_equal(
      review(g.syr, "it-gov-report", "respond", "{'text':'Unasked'}", &r), 400);
  assert_string_equal(it_err_code(&r), "invalid");
  it_resp_free(&r);
  /* A deadline in the past. */
  hours_from_now(deadline, sizeof deadline, -1);
  snprintf(body, sizeof body,
           "{'text':'Too late','party':'syr-gov','deadline':'%s'}", deadline);
  assert_int_equal(review(g.coord, "it-gov-report", "request_info", body, &r),
                   400);
  it_resp_free(&r);
  /* No violation to review: an agreement not yet in force, an incident
   * that does not exist. */
  json_t *b = it_js("{'incident':'it-gov-report','agreement':'astana-2017',"
                    "'step':'dispute','text':'x'}");
  assert_int_equal(it_send(&g.srv, "POST", g.syr, "/v1/reviews", b, &r), 404);
  json_decref(b);
  it_resp_free(&r);
  assert_int_equal(review(g.coord, "it-nothing", "assess",
                          "{'outcome':'confirmed','text':'x'}", &r),
                   404);
  it_resp_free(&r);
  /* BUG: POST /v1/reviews does not refuse unknown members (docs/api.md,
   * Conventions: 400 invalid naming the member); a misspelt "deadine" is
   * ignored. The step is refused for another reason (no deadline): check
   * that the message names the unknown member. */
  assert_int_equal(review(g.coord, "it-gov-report", "request_info",
                          "{'text':'Where?','party':'syr-gov','deadine':"
                          "'2031-01-01T00:00:00Z'}",
                          &r),
                   400);
  if (!(it_err_field(&r) && strcmp(it_err_field(&r), "deadine") == 0))
    fail_msg("POST /v1/reviews: the unknown member \"deadine\" is not "
             "named: %s",
             it_show(&r));
  it_resp_free(&r);
  /* A step that is not one. */
  assert_int_equal(review(g.coord, inc, "appeal", "{'text':'x'}", &r), 400);
  assert_string_equal(it_err_field(&r), "step");
  it_resp_free(&r);
}

/* ---- re-adjudication ------------------------------------------------------
 */

static void test_adjudicate_route(void **state) {
  (void)state;
  struct it_resp r;
  json_t *empty = it_js("{}");
  assert_int_equal(
      it_send(&g.srv, "POST", g.syr, "/v1/adjudications", empty, &r), 403);
  it_resp_free(&r);
  assert_int_equal(
      it_send(&g.srv, "POST", g.mon, "/v1/adjudications", empty, &r), 403);
  it_resp_free(&r);
  int64_t head = ledger_head();
  /* Every incident was adjudicated when written: nothing changed. */
  assert_int_equal(
      it_send(&g.srv, "POST", g.coord, "/v1/adjudications", empty, &r), 200);
  json_decref(empty);
  assert_int_equal(json_integer_value(json_object_get(r.json, "recorded")), 0);
  int64_t n = json_integer_value(json_object_get(r.json, "incidents"));
  assert_true(n >= 3);
  assert_int_equal(json_integer_value(json_object_get(r.json, "unchanged")), n);
  assert_true(json_integer_value(json_object_get(
                  json_object_get(r.json, "rows"), "violation")) >= 3);
  it_resp_free(&r);
  assert_int_equal(ledger_head(), head);
  /* Named incidents; an unknown one is 404 and writes nothing. */
  json_t *b = it_js("{'incidents':['it-gov-report']}");
  assert_int_equal(it_send(&g.srv, "POST", g.coord, "/v1/adjudications", b, &r),
                   200);
  assert_int_equal(json_integer_value(json_object_get(r.json, "incidents")), 1);
  json_decref(b);
  it_resp_free(&r);
  b = it_js("{'incidents':['it-gov-report','it-nothing']}");
  assert_int_equal(it_send(&g.srv, "POST", g.coord, "/v1/adjudications", b, &r),
                   404);
  json_decref(b);
  it_resp_free(&r);
  /* BUG: unknown members are not refused here either (docs/api.md,
   * Conventions): {"incident": [...]} (singular) adjudicates every
   * incident. */
  b = it_js("{'incident':['it-gov-report']}");
  long st = it_send(&g.srv, "POST", g.coord, "/v1/adjudications", b, &r);
  if (st != 400 || !it_err_field(&r) ||
      strcmp(it_err_field(&r), "incident") != 0)
    fail_msg("POST /v1/adjudications: the unknown member \"incident\" "
             "is not refused: %s",
             it_show(&r));
  json_decref(b);
  it_resp_free(&r);
  b = it_js("{'incidents':'it-gov-report'}");
  assert_int_equal(it_send(&g.srv, "POST", g.coord, "/v1/adjudications", b, &r),
                   400);
  json_decref(b);
  it_resp_free(&r);
  assert_int_equal(ledger_head(), head);
}

/* ---- zone status -------------------------------------------------------- */

/* The status item of zone at at (as token): fills *r, returns the item
 * (borrowed from r). */
static json_t *zone_status(const char *zone, const char *at,
                           struct it_resp *r) {
  char path[160];
  snprintf(path, sizeof path, "/v1/zone-status?zone=%s&at=%s", zone, at);
  if (it_get(&g.srv, g.sna, path, r) != 200)
    fail_msg("GET %s: %s", path, it_show(r));
  json_t *items = json_object_get(r->json, "items");
  REQUIRE(json_array_size(items) == 1, "one item expected: %s", it_show(r));
  json_t *it = json_array_get(items, 0);
  assert_string_equal(it_jstr(it, "zone"), zone);
  return it;
}

static void test_zone_status(void **state) {
  (void)state;
  struct it_resp r;
  /* The place is in the Idlib area then. */
  assert_int_equal(it_get(&g.srv, g.sna,
                          "/v1/query/zones?lon=36.54&lat=35.50&at=2018-04-15",
                          &r),
                   200);
  REQUIRE(strstr(r.body, "\"astana-idlib\"") != NULL,
          "36.54 E 35.50 N is not in astana-idlib: %s", it_show(&r));
  it_resp_free(&r);
  json_t *st = zone_status("astana-idlib", "2018-04-20", &r);
  assert_string_equal(it_jstr(st, "status"), "holding");
  assert_int_equal(json_integer_value(json_object_get(st, "violations")), 0);
  it_resp_free(&r);

  /* Five clashes in the week before 20 April 2018 (one a day from the
   * 14th), a few hundred metres apart. */
  for (int i = 0; i < 5; i++) {
    char id[32], date[16];
    snprintf(id, sizeof id, "it-idlib-%d", i);
    snprintf(date, sizeof date, "2018-04-%02d", 14 + i);
    json_t *doc = clash(id, 36.54 + 0.004 * i, 35.50, date);
    report(g.mon, doc, &r);
    json_decref(doc);
    json_t *adj = json_object_get(r.json, "adjudication");
    assert_string_equal(it_jstr(row_of(adj, "astana-2017"), "class"),
                        "violation");
    it_resp_free(&r);
    if (i == 3) {
      /* Four: strained. */
      st = zone_status("astana-idlib", "2018-04-20", &r);
      assert_string_equal(it_jstr(st, "status"), "strained");
      assert_int_equal(json_integer_value(json_object_get(st, "violations")),
                       4);
      it_resp_free(&r);
    }
  }
  st = zone_status("astana-idlib", "2018-04-20", &r);
  assert_string_equal(it_jstr(st, "status"), "violated");
  assert_int_equal(json_integer_value(json_object_get(st, "violations")), 5);
  assert_int_equal(json_integer_value(json_object_get(st, "fatalities")), 10);
  assert_string_equal(it_jstr(json_object_get(st, "window"), "from"),
                      "2018-04-13T00:00:00Z");
  it_resp_free(&r);
  /* The window ends before at: on the 18th, the 14th to 17th count. */
  st = zone_status("astana-idlib", "2018-04-18", &r);
  assert_int_equal(json_integer_value(json_object_get(st, "violations")), 4);
  it_resp_free(&r);
  /* A shorter window (the 17th and 18th), and its bounds. */
  assert_int_equal(it_get(&g.srv, g.sna,
                          "/v1/zone-status?zone=astana-idlib&at=2018-04-20&"
                          "window_days=3",
                          &r),
                   200);
  assert_int_equal(
      json_integer_value(json_object_get(
          json_array_get(json_object_get(r.json, "items"), 0), "violations")),
      2);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna,
                          "/v1/zone-status?zone=astana-idlib&window_days=0",
                          &r),
                   400);
  assert_string_equal(it_err_field(&r), "window_days");
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/zone-status?zone=it-nowhere", &r),
                   404);
  it_resp_free(&r);
}

/* ---- sieges ----------------------------------------------------------------
 */

/* The siege item of zone in a reply (borrowed), or NULL. */
static json_t *siege_of(const json_t *reply, const char *zone) {
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(reply, "items"), i, x) {
    if (strcmp(it_jstr(x, "zone"), zone) == 0)
      return x;
  }
  return NULL;
}

/* POST path with the quoted body as token; requires status; fills *r. */
static void send_js(const char *method, const char *token, const char *path,
                    const char *quoted, long status, struct it_resp *r) {
  json_t *b = it_js(quoted);
  long st = it_send(&g.srv, method, token, path, b, r);
  json_decref(b);
  if (st != status)
    fail_msg("%s %s: %s (expected %ld)", method, path, it_show(r), status);
}

static void test_siege(void **state) {
  (void)state;
  struct it_resp r;
  /* Eastern Aleppo from 1 July 2016, guaranteed by ru and us, its one
   * road closed; a convoy got in on 20 July. */
  send_js("POST", g.coord, "/v1/zones",
          "{'type':'Feature','id':'east-aleppo','geometry':{'type':'Polygon',"
          "'coordinates':[[[37.13,36.18],[37.20,36.18],[37.20,36.24],"
          "[37.13,36.24],[37.13,36.18]]]},'properties':{'object':'zone',"
          "'name':'Eastern Aleppo','kind':'security','valid_from':"
          "'2016-07-01','phase':'established','guarantors':['ru','us'],"
          "'population':250000}}",
          201, &r);
  it_resp_free(&r);
  send_js("POST", g.coord, "/v1/corridors",
          "{'type':'Feature','id':'east-aleppo-road','geometry':{'type':"
          "'LineString','coordinates':[[37.15,36.21],[37.10,36.21],"
          "[37.05,36.22]]},'properties':{'object':'corridor','name':"
          "'Road into eastern Aleppo','half_width_m':300,'status':'closed',"
          "'connects':['east-aleppo']}}",
          201, &r);
  it_resp_free(&r);
  send_js("POST", g.coord, "/v1/movements",
          "{'type':'Feature','id':'convoy-0720','geometry':null,'properties':{"
          "'object':'movement','name':'Convoy to eastern Aleppo','kind':"
          "'convoy','corridor':'east-aleppo-road','notified_by':'ocha',"
          "'notified_at':'2016-07-17','valid_from':'2016-07-20T06:00:00Z',"
          "'valid_to':'2016-07-20T18:00:00Z','vehicles':12,'completed_at':"
          "'2016-07-20T16:00:00Z'}}",
          201, &r);
  it_resp_free(&r);

  /* 1 August: a convoy got in 12 days before. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/sieges?at=2016-08-01", &r), 200);
  json_t *s = siege_of(r.json, "east-aleppo");
  REQUIRE(s != NULL, "east-aleppo not tested: %s", it_show(&r));
  assert_true(json_is_true(json_object_get(s, "encircled")));
  assert_true(json_is_false(json_object_get(s, "no_access")));
  assert_true(json_is_false(json_object_get(s, "suspected")));
  it_resp_free(&r);
  /* 15 September: nothing in since 20 July. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/sieges?at=2016-09-15", &r), 200);
  s = siege_of(r.json, "east-aleppo");
  REQUIRE(s != NULL, "east-aleppo not tested: %s", it_show(&r));
  assert_true(json_is_true(json_object_get(s, "suspected")));
  assert_int_equal(json_integer_value(json_object_get(s, "population")),
                   250000);
  assert_string_equal(it_jstr(s, "last_access_at"), "2016-07-20T16:00:00Z");
  assert_string_equal(it_jstr(s, "last_access"), "convoy-0720");
  assert_null(json_object_get(s, "recorded")); /* a read records nothing */
  it_resp_free(&r);
  /* A longer period: the convoy is within 60 days. */
  assert_int_equal(
      it_get(&g.srv, g.sna, "/v1/sieges?at=2016-09-15&period_days=60", &r),
      200);
  assert_true(json_is_false(
      json_object_get(siege_of(r.json, "east-aleppo"), "suspected")));
  it_resp_free(&r);

  /* A guarantor's stream and another party's, open before the scan. */
  struct it_sse gs, os;
  it_sse_open_live(&g.srv, g.ru, &gs);
  it_sse_open_live(&g.srv, g.sna, &os);
  struct it_sse_event ev;

  /* Only the coordinator scans. */
  send_js("POST", g.ru, "/v1/sieges/scan", "{'at':'2016-09-15'}", 403, &r);
  it_resp_free(&r);
  send_js("POST", g.coord, "/v1/sieges/scan", "{'at':'yesterday'}", 400, &r);
  assert_string_equal(it_err_field(&r), "at");
  it_resp_free(&r);
  send_js("POST", g.coord, "/v1/sieges/scan", "{'at':'2016-09-15'}", 200, &r);
  s = siege_of(r.json, "east-aleppo");
  REQUIRE(s != NULL, "east-aleppo not scanned: %s", it_show(&r));
  assert_true(json_is_true(json_object_get(s, "suspected")));
  assert_true(json_is_true(json_object_get(s, "recorded")));
  it_resp_free(&r);

  /* The guarantor is told. */
  REQUIRE(it_sse_next(&gs, &ev, EVENT_MS) == 1, "no event for ru");
  assert_string_equal(ev.type, "finding");
  assert_string_equal(it_jstr(ev.json, "kind"), "siege_suspected");
  assert_string_equal(it_jstr(ev.json, "zone"), "east-aleppo");
  assert_string_equal(it_jstr(ev.json, "t"), "2016-09-15T00:00:00Z");
  assert_true(json_is_true(
      json_object_get(json_object_get(ev.json, "evidence"), "suspected")));
  REQUIRE(strstr(it_jstr(ev.json, "reason"), "convoy-0720") != NULL,
          "reason: %s", ev.data);
  it_sse_event_free(&ev);

  /* Scanned again: not recorded again, nothing sent. */
  send_js("POST", g.coord, "/v1/sieges/scan", "{'at':'2016-09-15'}", 200, &r);
  s = siege_of(r.json, "east-aleppo");
  assert_true(json_is_true(json_object_get(s, "suspected")));
  assert_true(json_is_false(json_object_get(s, "recorded")));
  it_resp_free(&r);
  int rc = it_sse_next(&gs, &ev, 1500);
  if (rc == 1) {
    fail_msg("a second event for ru: %s %s", ev.type, ev.data);
  }
  assert_int_equal(rc, -1);
  /* The other party never heard of it. */
  rc = it_sse_next(&os, &ev, 500);
  if (rc == 1)
    fail_msg("sna, not a guarantor, got %s %s", ev.type, ev.data);
  it_sse_close(&gs);
  it_sse_close(&os);

  /* Recorded once, for ru; not for sna. */
  assert_int_equal(it_get(&g.srv, g.ru, "/v1/findings", &r), 200);
  size_t i, n = 0;
  json_t *f;
  json_array_foreach(json_object_get(r.json, "items"), i, f) {
    n += strcmp(it_jstr(f, "kind"), "siege_suspected") == 0;
  }
  assert_int_equal(n, 1);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/findings", &r), 200);
  REQUIRE(strstr(r.body, "siege_suspected") == NULL,
          "sna sees the siege finding: %s", it_show(&r));
  it_resp_free(&r);
}

/* ---- the bulletin ---------------------------------------------------------
 */

/* The current count of a triple member of the bulletin's totals. */
static json_int_t total(const json_t *b, const char *member) {
  return json_integer_value(json_object_get(
      json_object_get(json_object_get(b, "totals"), member), "current"));
}

static void test_bulletin(void **state) {
  (void)state;
  struct it_resp r;
  /* 1 to 3 March 2016: the three clashes still standing (it-ucdp-216746,
   * it-gov-report, it-witnessed; it-ocha-report was withdrawn), all
   * unattributed. */
  const char *path = "/v1/bulletins/coh-2016?date=2016-03-01&days=3";
  assert_int_equal(it_get(&g.srv, g.sna, path, &r), 200);
  REQUIRE(json_is_object(r.json), "not JSON: %s", it_show(&r));
  assert_string_equal(it_jstr(json_object_get(r.json, "agreement"), "id"),
                      "coh-2016");
  assert_string_equal(it_jstr(json_object_get(r.json, "period"), "from"),
                      "2016-03-01T00:00:00Z");
  assert_string_equal(it_jstr(json_object_get(r.json, "period"), "to"),
                      "2016-03-04T00:00:00Z");
  assert_int_equal(total(r.json, "violations"), 3);
  assert_int_equal(total(r.json, "unattributed"), 3);
  /* The tables add up (docs/bulletin.md). */
  json_int_t sum = 0;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(r.json, "by_party"), i, e) {
    sum += json_integer_value(json_object_get(e, "current"));
  }
  assert_int_equal(sum, 3);
  it_resp_free(&r);

  /* The other formats. */
  assert_int_equal(it_get(&g.srv, g.sna,
                          "/v1/bulletins/coh-2016?date=2016-03-01&days=3&"
                          "format=csv",
                          &r),
                   200);
  REQUIRE(strcasestr(r.headers, "content-type: text/csv"), "not CSV: %s",
          r.headers);
  REQUIRE(strncmp(r.body, "section,key,name,current,previous,change", 40) == 0,
          "CSV header: %s", it_show(&r));
  REQUIRE(strstr(r.body, "totals,violations,") != NULL, "no totals: %s",
          it_show(&r));
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna,
                          "/v1/bulletins/coh-2016?date=2016-03-01&format=text",
                          &r),
                   200);
  REQUIRE(strcasestr(r.headers, "content-type: text/plain"), "not text: %s",
          r.headers);
  REQUIRE(strstr(r.body, "coh-2016") != NULL, "text: %s", it_show(&r));
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna,
                          "/v1/bulletins/coh-2016?date=2016-03-01&format=svg",
                          &r),
                   200);
  REQUIRE(strcasestr(r.headers, "content-type: image/svg+xml"), "not SVG: %s",
          r.headers);
  REQUIRE(strstr(r.body, "<svg") != NULL, "SVG: %s", it_show(&r));
  it_resp_free(&r);

  /* Refusals. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/bulletins/it-nothing", &r), 404);
  it_resp_free(&r);
  assert_int_equal(
      it_get(&g.srv, g.sna, "/v1/bulletins/coh-2016?format=pdf", &r), 400);
  assert_string_equal(it_err_field(&r), "format");
  it_resp_free(&r);
  assert_int_equal(
      it_get(&g.srv, g.sna, "/v1/bulletins/coh-2016?date=March", &r), 400);
  assert_string_equal(it_err_field(&r), "date");
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/bulletins/coh-2016?days=0", &r),
                   400);
  assert_string_equal(it_err_field(&r), "days");
  it_resp_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_monitor_report),
      cmocka_unit_test(test_party_reports_coordinator_corrects),
      cmocka_unit_test(test_reporter_protection),
      cmocka_unit_test(test_site_hit),
      cmocka_unit_test(test_export_formats),
      cmocka_unit_test(test_review_flow),
      cmocka_unit_test(test_adjudicate_route),
      cmocka_unit_test(test_zone_status),
      cmocka_unit_test(test_siege),
      cmocka_unit_test(test_bulletin),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  it_http_cleanup();
  if (failed == 0)
    it_rm_tree(g.work);
  return failed;
}
