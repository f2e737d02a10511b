/*
 * test-positions.c — the live picture over HTTP (POST /v1/positions, GET
 * /v1/findings) against a real `haven serve` on the bundled scenario:
 *
 * - a party (syr-gov) posts its own jet over the border no-fly zone and
 *   gets no_fly_violation back, with the seq of its ledger entry; the same
 *   as NDJSON; staying inside raises nothing more;
 * - posting another party's asset is 403 naming the report's index;
 *   malformed reports are 400 naming index and field (unknown member,
 *   value out of range, bad JSON), a wrong content type 415;
 * - GET /v1/findings: the reporting party sees its findings, a guarantor
 *   of the zone (tr) sees them, an unrelated party (sna) sees none of
 *   them, the coordinator sees all; kind filter and pagination;
 * - the ledger verifies, and the findings are still there after a
 *   restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/haven.h>

#include "harness.h"

static struct {
  char work[1024], data[1100];
  struct it_server srv;
  char coord[64], syr[64], sna[64], tr[64];
  double in_lon, in_lat; /* inside border-no-fly */
} g;

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "positions");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, id);
  it_token_create(g.data, "syr-gov", "party", g.syr, id);
  it_token_create(g.data, "sna", "party", g.sna, id);
  it_token_create(g.data, "tr", "party", g.tr, id);
  /* A point inside the border no-fly zone, as the unit tests take it. */
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  if (hv_db_open(g.data, &db, &err) != HV_OK)
    fail_msg("open %s: %s", g.data, err.msg);
  const struct hv_object *z = hv_db_get(db, HV_ZONE, "border-no-fly");
  assert_non_null(z);
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(db));
  GEOSGeometry *pt = GEOSPointOnSurface_r(gh, z->geom);
  assert_non_null(pt);
  assert_int_equal(GEOSGeomGetX_r(gh, pt, &g.in_lon), 1);
  assert_int_equal(GEOSGeomGetY_r(gh, pt, &g.in_lat), 1);
  GEOSGeom_destroy_r(gh, pt);
  hv_db_close(db);
  it_server_start(&g.srv, g.data, g.work, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  it_http_cleanup();
  return 0;
}

/* One report as JSON text. */
static void rep(char *buf, size_t size, const char *asset, const char *party,
                const char *t, double lon, double lat, const char *extra) {
  snprintf(buf, size,
           "{\"asset\":\"%s\",\"party\":\"%s\",\"class\":\"fixed_wing\","
           "\"t\":\"%s\",\"lon\":%.7f,\"lat\":%.7f,\"alt_m\":9000,"
           "\"gs_mps\":200,\"trk_deg\":90,\"vs_mps\":0%s}",
           asset, party, t, lon, lat, extra ? extra : "");
}

static long post(const char *token, const char *body, const char *ctype,
                 struct it_resp *r) {
  struct it_req q = {.method = "POST",
                     .path = "/v1/positions",
                     .token = token,
                     .body = body,
                     .ctype = ctype};
  return it_http(&g.srv, &q, r);
}

/* Findings of kind about object obj (NULL: any) in array a. */
static size_t count(const json_t *a, const char *kind, const char *obj) {
  size_t i, n = 0;
  json_t *f;
  json_array_foreach(a, i, f) {
    if (kind && strcmp(it_jstr(f, "kind"), kind) != 0)
      continue;
    if (obj && strcmp(it_jstr(json_object_get(f, "object"), "id"), obj) != 0)
      continue;
    n++;
  }
  return n;
}

/* GET /v1/findings?query as token: its items (a new reference). */
static json_t *findings(const char *token, const char *query) {
  char path[256];
  snprintf(path, sizeof path, "/v1/findings%s", query ? query : "");
  struct it_resp r;
  if (it_get(&g.srv, token, path, &r) != 200)
    fail_msg("GET %s: %s", path, it_show(&r));
  json_t *items = json_incref(json_object_get(r.json, "items"));
  assert_true(json_is_array(items));
  it_resp_free(&r);
  return items;
}

static void test_own_asset_no_fly(void **state) {
  (void)state;
  char a[600], b[1300];
  rep(a, sizeof a, "syr-jet-1", "syr-gov", "2018-08-01T05:00:00Z", g.in_lon,
      g.in_lat, NULL);
  snprintf(b, sizeof b, "[%s]", a);
  struct it_resp r;
  if (post(g.syr, b, NULL, &r) != 200)
    fail_msg("POST /v1/positions: %s", it_show(&r));
  assert_int_equal(json_integer_value(json_object_get(r.json, "accepted")), 1);
  json_t *f = json_object_get(r.json, "findings");
  if (count(f, "no_fly_violation", "border-no-fly") != 1)
    fail_msg("no no_fly_violation: %s", it_show(&r));
  assert_true(json_is_integer(json_object_get(r.json, "ledger_seq")));
  assert_true(json_integer_value(json_object_get(json_array_get(f, 0), "seq")) >=
              json_integer_value(json_object_get(r.json, "ledger_seq")));
  it_resp_free(&r);

  /* The same jet a minute on, still inside, as NDJSON: nothing new. */
  rep(a, sizeof a, "syr-jet-1", "syr-gov", "2018-08-01T05:01:00Z",
      g.in_lon + 0.0001, g.in_lat, NULL);
  snprintf(b, sizeof b, "%s\n", a);
  if (post(g.syr, b, "application/x-ndjson", &r) != 200)
    fail_msg("POST NDJSON: %s", it_show(&r));
  assert_int_equal(json_integer_value(json_object_get(r.json, "accepted")), 1);
  assert_int_equal(count(json_object_get(r.json, "findings"), NULL,
                         "border-no-fly"),
                   0);
  it_resp_free(&r);
}

static void test_other_party_forbidden(void **state) {
  (void)state;
  char a[600], c[600], b[1300];
  rep(a, sizeof a, "syr-jet-2", "syr-gov", "2018-08-01T05:02:00Z", 37.0, 36.9,
      NULL);
  rep(c, sizeof c, "sna-jet-1", "sna", "2018-08-01T05:02:00Z", 37.0, 36.95,
      NULL);
  snprintf(b, sizeof b, "[%s,%s]", a, c);
  struct it_resp r;
  assert_int_equal(post(g.syr, b, NULL, &r), 403);
  assert_null(it_err_shape(&r));
  assert_string_equal(it_err_field(&r), "[1].party");
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(r.json, "error"), "index")),
                   1);
  it_resp_free(&r);
  /* The coordinator may report anyone's. */
  if (post(g.coord, b, NULL, &r) != 200)
    fail_msg("POST as coordinator: %s", it_show(&r));
  it_resp_free(&r);
}

static void test_malformed(void **state) {
  (void)state;
  char a[600], c[600], b[1300];
  struct it_resp r;
  rep(a, sizeof a, "syr-jet-3", "syr-gov", "2018-08-01T05:03:00Z", 37.0, 36.9,
      NULL);
  rep(c, sizeof c, "syr-jet-4", "syr-gov", "2018-08-01T05:03:00Z", 37.0, 36.9,
      ",\"speed\":3");
  snprintf(b, sizeof b, "[%s,%s]", a, c);
  assert_int_equal(post(g.syr, b, NULL, &r), 400);
  assert_null(it_err_shape(&r));
  assert_string_equal(it_err_field(&r), "[1].speed");
  it_resp_free(&r);

  rep(c, sizeof c, "syr-jet-4", "syr-gov", "2018-08-01T05:03:00Z", 37.0, 91.0,
      NULL);
  snprintf(b, sizeof b, "[%s,%s]", a, c);
  assert_int_equal(post(g.syr, b, NULL, &r), 400);
  assert_string_equal(it_err_field(&r), "[1].lat");
  it_resp_free(&r);

  assert_int_equal(post(g.syr, "[{\"asset\":", NULL, &r), 400);
  assert_string_equal(it_err_code(&r), "bad_json");
  it_resp_free(&r);
  assert_int_equal(post(g.syr, "{}", NULL, &r), 400);
  it_resp_free(&r);
  assert_int_equal(post(g.syr, "[1]", NULL, &r), 400);
  assert_string_equal(it_err_field(&r), "[0]");
  it_resp_free(&r);
  assert_int_equal(post(g.syr, "[]", "text/plain", &r), 415);
  it_resp_free(&r);
}

static void test_findings_need_to_know(void **state) {
  (void)state;
  json_t *mine = findings(g.syr, NULL);
  assert_true(count(mine, "no_fly_violation", "border-no-fly") >= 1);
  size_t i;
  json_t *f;
  json_array_foreach(mine, i, f) {
    assert_true(strcmp(it_jstr(f, "party"), "syr-gov") == 0 ||
                strcmp(it_jstr(f, "other_party"), "syr-gov") == 0);
  }
  json_t *other = findings(g.sna, NULL);
  /* sna sees only what involves it (the coordinator's report put its jet
   * near a syr-gov one: a separation finding), never syr-gov's no-fly. */
  json_array_foreach(other, i, f) {
    assert_true(strcmp(it_jstr(f, "party"), "sna") == 0 ||
                strcmp(it_jstr(f, "other_party"), "sna") == 0);
  }
  assert_int_equal(count(other, "no_fly_violation", NULL), 0);
  json_t *guarantor = findings(g.tr, "?kind=no_fly_violation");
  assert_true(count(guarantor, "no_fly_violation", "border-no-fly") >= 1);
  json_t *all = findings(g.coord, NULL);
  assert_true(json_array_size(all) >= json_array_size(mine));
  assert_true(json_array_size(all) > json_array_size(other));
  json_array_foreach(all, i, f) {
    /* Every finding is one of a party's to see, or more. */
    assert_true(json_is_integer(json_object_get(f, "seq")));
  }
  /* Pagination by seq. */
  if (json_array_size(all) >= 2) {
    struct it_resp r;
    assert_int_equal(it_get(&g.srv, g.coord, "/v1/findings?limit=1", &r), 200);
    json_int_t next = json_integer_value(json_object_get(r.json, "next"));
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_int_equal(next, json_integer_value(json_object_get(
                               json_array_get(all, 0), "seq")));
    it_resp_free(&r);
    char path[128];
    snprintf(path, sizeof path, "/v1/findings?since=%lld&limit=1000",
             (long long)next);
    assert_int_equal(it_get(&g.srv, g.coord, path, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")),
                     json_array_size(all) - 1);
    it_resp_free(&r);
  }
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/findings?kind=nope", &r), 400);
  it_resp_free(&r);
  /* The ledger lists every entry, bodies of others' findings withheld. */
  json_decref(mine);
  json_decref(other);
  json_decref(guarantor);
  json_decref(all);
}

/* The assets of GET /v1/tracks[query] as token, "asset:party" joined by
 * spaces, into buf. */
static void tracks(const char *token, const char *query, char *buf,
                   size_t size) {
  char path[128];
  snprintf(path, sizeof path, "/v1/tracks%s", query);
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, token, path, &r), 200);
  size_t i, used = 0;
  json_t *t;
  buf[0] = '\0';
  json_array_foreach(json_object_get(r.json, "items"), i, t) {
    used += (size_t)snprintf(buf + used, used < size ? size - used : 0,
                             "%s%s:%s", used ? " " : "", it_jstr(t, "asset"),
                             it_jstr(t, "party"));
    /* Heading from the velocity: due east is 90 degrees. */
    double h = json_number_value(json_object_get(t, "heading_deg"));
    if (strcmp(it_jstr(t, "asset"), "TRK-SYR") == 0 && (h < 89.9 || h > 90.1))
      fail_msg("heading %g, not 90: %s", h, it_show(&r));
  }
  it_resp_free(&r);
}

/* The live picture, as each may see it: a party its own assets only, the
 * coordinator every asset (or one party's with ?party). */
static void test_tracks_need_to_know(void **state) {
  (void)state;
  char a[512], b[512], body[1200];
  rep(a, sizeof a, "TRK-SYR", "syr-gov", "2016-03-01T10:00:00Z", 37.5, 35.5,
      NULL);
  rep(b, sizeof b, "TRK-SNA", "sna", "2016-03-01T10:00:00Z", 37.0, 36.4, NULL);
  snprintf(body, sizeof body, "[%s,%s]", a, b);
  struct it_resp r;
  if (post(g.coord, body, NULL, &r) != 200)
    fail_msg("POST /v1/positions: %s", it_show(&r));
  it_resp_free(&r);
  char seen[4096];
  tracks(g.syr, "", seen, sizeof seen);
  assert_non_null(strstr(seen, "TRK-SYR:syr-gov"));
  assert_null(strstr(seen, "TRK-SNA"));
  assert_null(strstr(seen, ":sna"));
  tracks(g.sna, "", seen, sizeof seen);
  assert_non_null(strstr(seen, "TRK-SNA:sna"));
  assert_null(strstr(seen, "syr-gov"));
  tracks(g.coord, "", seen, sizeof seen);
  assert_non_null(strstr(seen, "TRK-SYR:syr-gov"));
  assert_non_null(strstr(seen, "TRK-SNA:sna"));
  tracks(g.coord, "?party=sna", seen, sizeof seen);
  assert_non_null(strstr(seen, "TRK-SNA:sna"));
  assert_null(strstr(seen, "syr-gov"));
  /* A party asking for another's: nothing (its own filter, not a leak). */
  tracks(g.syr, "?party=sna", seen, sizeof seen);
  assert_string_equal(seen, "");
}

static void test_verify_and_restart(void **state) {
  (void)state;
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/ledger/verify", &r), 200);
  assert_true(json_is_true(json_object_get(r.json, "ok")));
  it_resp_free(&r);
  json_t *before = findings(g.coord, NULL);
  assert_true(json_array_size(before) > 0);
  assert_int_equal(it_server_stop(&g.srv), 0);
  assert_int_equal(it_ledger_verify_cli(g.data, g.work), 0);
  it_server_restart(&g.srv, NULL);
  json_t *after = findings(g.coord, NULL);
  assert_true(json_equal(before, after));
  json_t *mine = findings(g.syr, "?kind=no_fly_violation");
  assert_true(count(mine, "no_fly_violation", "border-no-fly") >= 1);
  json_decref(before);
  json_decref(after);
  json_decref(mine);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_own_asset_no_fly),
      cmocka_unit_test(test_other_party_forbidden),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_findings_need_to_know),
      cmocka_unit_test(test_tracks_need_to_know),
      cmocka_unit_test(test_verify_and_restart),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
