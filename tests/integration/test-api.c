/*
 * test-api.c — the HTTP API's statuses, errors, collections, queries and
 * operational routes (docs/api.md), against a real `haven serve` started
 * with --max-body 4096 on the bundled scenario.
 *
 * - 401 (no, malformed, unknown, wrong-secret and revoked tokens), 403,
 *   404 (route, object), 405, 409 (create twice, PUT without or with a
 *   stale version -> current_version, delete of a referenced party), 413
 *   (above --max-body, with Content-Length and chunked), 400 bad_json
 *   with line and column, 400 invalid naming the field, 400 bad_parameter
 *   naming the parameter, 415; the error shape
 *   {"error":{"code","message","field"?}} on every one of them;
 * - pagination: a limit/cursor walk of /v1/sites returns every site once;
 *   filters kind, at and bbox, and the queries, on the real scenario (the
 *   Idlib de-escalation area, the sponsor chain of the Syrian National
 *   Army, the 2016 cessation of hostilities);
 * - conditional PUT and DELETE, phase changes, the ledger's pages and its
 *   verification, /healthz without a token, /metrics counting requests;
 * - tokens made and revoked with the `haven token` command while the
 *   server runs take effect at once;
 * - rate limiting: after 10 failed authentications (tokens presented and
 *   refused) from one address the 11th request from it, whatever its
 *   token, gets 429, other addresses do not; requests without credentials
 *   are not counted;
 * - last, after a graceful stop: every denied request (401, 403, 429) made
 *   here is in the server's log on standard error.
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
  char coord[64], sna[64], ocha[64], revoked[64];
  char coord_id[16];
} g;

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "api");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, g.coord_id);
  it_token_create(g.data, "sna", "party", g.sna, id);
  it_token_create(g.data, "ocha", "agency", g.ocha, id);
  it_token_create(g.data, "sna", "party", g.revoked, id);
  it_token_revoke(g.data, id);
  const char *extra[] = {"--max-body", "4096", NULL};
  it_server_start(&g.srv, g.data, g.work, extra);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* method path as token with a body written with single quotes (NULL:
 * none); returns the status. */
static long req(const char *method, const char *path, const char *token,
                const char *quoted, struct it_resp *r) {
  json_t *body = quoted ? it_js(quoted) : NULL;
  long st = it_send(&g.srv, method, token, path, body, r);
  json_decref(body);
  return st;
}

/* Checks that r is the error status/code of docs/api.md, with the error
 * shape, and (when field is non-NULL) that its field contains field. */
static void expect_error(const char *what, struct it_resp *r, long status,
                         const char *code, const char *field) {
  if (r->status != status || strcmp(it_err_code(r), code) != 0)
    fail_msg("%s: expected %ld %s, got %s", what, status, code, it_show(r));
  const char *bad = it_err_shape(r);
  if (bad)
    fail_msg("%s: error shape: %s: %s", what, bad, it_show(r));
  if (field) {
    const char *f = it_err_field(r);
    if (f == NULL || strstr(f, field) == NULL)
      fail_msg("%s: expected error.field naming \"%s\", got %s", what, field,
               it_show(r));
  }
}

/* The same, for a request made here; frees the reply. */
static void expect_req_error(const char *method, const char *path,
                             const char *token, const char *quoted, long status,
                             const char *code, const char *field) {
  struct it_resp r;
  char what[600];
  snprintf(what, sizeof what, "%s %s", method, path);
  req(method, path, token, quoted, &r);
  expect_error(what, &r, status, code, field);
  it_resp_free(&r);
}

/* error.current_version of a 409 reply, or -1. */
static int64_t current_version(const struct it_resp *r) {
  json_t *v =
      json_object_get(json_object_get(r->json, "error"), "current_version");
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* Whether the items of r hold one with id. */
static int has_id(const struct it_resp *r, const char *id) {
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r->json, "items"), i, it) {
    if (strcmp(it_jstr(it, "id"), id) == 0)
      return 1;
  }
  return 0;
}

/* GET path as the coordinator, which must answer 200 with items. */
static void get_items(const char *path, struct it_resp *r) {
  it_get(&g.srv, g.coord, path, r);
  if (r->status != 200 || !json_is_array(json_object_get(r->json, "items")))
    fail_msg("GET %s: expected 200 with items, got %s", path, it_show(r));
}

/* Creates a small new object of coll with id as the coordinator; returns
 * its version. */
static int64_t create(const char *coll, const char *id) {
  json_t *doc = it_new_doc(coll, id, NULL);
  char path[128];
  snprintf(path, sizeof path, "/v1/%s", coll);
  struct it_resp r;
  it_send(&g.srv, "POST", g.coord, path, doc, &r);
  json_decref(doc);
  if (r.status != 201)
    fail_msg("POST %s %s: %s", path, id, it_show(&r));
  int64_t v = it_version(r.json);
  it_resp_free(&r);
  assert_true(v >= 1);
  return v;
}

/* ---- 401, 403, 404, 405 ---------------------------------------------------
 */

static void test_unauthenticated(void **state) {
  (void)state;
  char wrong[64];
  snprintf(wrong, sizeof wrong, "%s", g.coord);
  size_t n = strlen(wrong);
  wrong[n - 1] = wrong[n - 1] == 'A' ? 'B' : 'A'; /* wrong secret */
  char bearer_wrong[80], bearer_revoked[80];
  snprintf(bearer_wrong, sizeof bearer_wrong, "Bearer %s", wrong);
  snprintf(bearer_revoked, sizeof bearer_revoked, "Bearer %s", g.revoked);
  const char *auths[] = {
      NULL, /* no header */
      "Bearer",
      "Bearer ",
      "Bearer garbage",
      "Basic Y29vcmRpbmF0b3I6c2VjcmV0",
      "Bearer hv1.short.x",
      "Bearer hv2.0123456789ab.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "Bearer hv1.0123456789ab.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      bearer_wrong,
      bearer_revoked,
  };
  for (size_t i = 0; i < sizeof auths / sizeof auths[0]; i++) {
    struct it_req q = {.path = "/v1/zones/astana-idlib",
                       .auth = auths[i],
                       .src = it_fresh_src()};
    struct it_resp r;
    it_http(&g.srv, &q, &r);
    char what[200];
    snprintf(what, sizeof what, "GET /v1/zones/astana-idlib with %s",
             auths[i] ? auths[i] : "no Authorization");
    expect_error(what, &r, 401, "unauthenticated", NULL);
    if (strstr(r.body, "astana") || strstr(r.body, "Idlib"))
      fail_msg("%s: the 401 reply shows the object: %s", what, it_show(&r));
    it_resp_free(&r);
  }
  /* Writes too, and nothing is written. */
  struct it_req q = {.method = "POST",
                     .path = "/v1/parties",
                     .auth = bearer_revoked,
                     .src = it_fresh_src(),
                     .body = "{\"id\":\"rev-p\",\"name\":\"Rev\",\"kind\":"
                             "\"armed_group\"}"};
  struct it_resp r;
  it_http(&g.srv, &q, &r);
  expect_error("POST /v1/parties with a revoked token", &r, 401,
               "unauthenticated", NULL);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/rev-p", &r), 404);
  it_resp_free(&r);
  /* /healthz needs no token at all. */
  assert_int_equal(it_get(&g.srv, NULL, "/healthz", &r), 200);
  assert_string_equal(it_jstr(r.json, "status"), "ok");
  assert_true(json_is_integer(json_object_get(r.json, "ledger_head")));
  it_resp_free(&r);
}

static void test_forbidden(void **state) {
  (void)state;
  expect_req_error("POST", "/v1/zones", g.sna,
                   "{'type':'Feature','id':'f1','geometry':null,"
                   "'properties':{}}",
                   403, "forbidden", NULL);
  expect_req_error("DELETE", "/v1/parties/sna", g.sna, NULL, 403, "forbidden",
                   NULL);
  expect_req_error("GET", "/v1/tokens", g.ocha, NULL, 403, "forbidden", NULL);
  expect_req_error("POST", "/v1/zones/astana-idlib/phase", g.ocha,
                   "{'phase':'open','version':1}", 403, "forbidden", NULL);
}

static void test_not_found(void **state) {
  (void)state;
  const char *paths[] = {"/nope",
                         "/v1",
                         "/v1/",
                         "/v1/nope",
                         "/v1/trackz",
                         "/v1/zones/nope",
                         "/v1/zones/nope/history",
                         "/v1/parties/nope/sponsors",
                         "/v1/parties/nope/agreements",
                         "/v1/zones/astana-idlib/nope",
                         "/v1/query/nope",
                         "/v1/ledger/nope"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    expect_req_error("GET", paths[i], g.coord, NULL, 404, "not_found", NULL);
  expect_req_error("PUT", "/v1/parties/nope", g.coord,
                   "{'id':'nope','name':'Nope','kind':'state','version':1}",
                   404, "not_found", NULL);
  struct it_req q = {.method = "DELETE",
                     .path = "/v1/parties/nope",
                     .token = g.coord,
                     .if_match = "\"1\""};
  struct it_resp r;
  it_http(&g.srv, &q, &r);
  expect_error("DELETE /v1/parties/nope", &r, 404, "not_found", NULL);
  it_resp_free(&r);
  expect_req_error("POST", "/v1/zones/nope/phase", g.coord,
                   "{'phase':'open','version':1}", 404, "not_found", NULL);
}

static void test_method_not_allowed(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"DELETE", "/v1/ledger"},
      {"PUT", "/v1/zones"},
      {"POST", "/healthz"},
      {"PATCH", "/v1/zones/astana-idlib"},
      {"POST", "/v1/query/zones"},
      {"DELETE", "/v1/zones"},
      {"POST", "/v1/zones/astana-idlib"},
      {"PUT", "/v1/tokens"},
      {"GET", "/v1/zones/astana-idlib/phase"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct it_resp r;
    char what[200];
    snprintf(what, sizeof what, "%s %s", cases[i][0], cases[i][1]);
    req(cases[i][0], cases[i][1], g.coord, NULL, &r);
    expect_error(what, &r, 405, "method_not_allowed", NULL);
    if (strcasestr(r.headers, "\nAllow:") == NULL)
      fail_msg("%s: a 405 without an Allow header (RFC 9110 15.5.6)", what);
    it_resp_free(&r);
  }
}

/* ---- 409 ---------------------------------------------------------------- */

static void test_conflict(void **state) {
  (void)state;
  struct it_resp r;
  const char *p1 = "{'id':'api-p1','name':'API party one','kind':'state'}";
  assert_int_equal(req("POST", "/v1/parties", g.coord, p1, &r), 201);
  assert_int_equal(it_version(r.json), 1);
  it_resp_free(&r);
  /* Create twice. */
  req("POST", "/v1/parties", g.coord, p1, &r);
  expect_error("POST /v1/parties twice", &r, 409, "conflict", NULL);
  it_resp_free(&r);
  /* PUT without a version: 409 naming the current one. */
  req("PUT", "/v1/parties/api-p1", g.coord,
      "{'id':'api-p1','name':'API party one (b)','kind':'state'}", &r);
  expect_error("PUT without version", &r, 409, "conflict", NULL);
  assert_int_equal(current_version(&r), 1);
  it_resp_free(&r);
  /* With it. */
  assert_int_equal(req("PUT", "/v1/parties/api-p1", g.coord,
                       "{'id':'api-p1','name':'API party one (b)',"
                       "'kind':'state','version':1}",
                       &r),
                   200);
  assert_int_equal(it_version(r.json), 2);
  assert_string_equal(it_jstr(r.json, "name"), "API party one (b)");
  it_resp_free(&r);
  /* Stale. */
  req("PUT", "/v1/parties/api-p1", g.coord,
      "{'id':'api-p1','name':'API party one (c)','kind':'state','version':1}",
      &r);
  expect_error("PUT with a stale version", &r, 409, "conflict", NULL);
  assert_int_equal(current_version(&r), 2);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/api-p1", &r), 200);
  assert_string_equal(it_jstr(r.json, "name"), "API party one (b)");
  it_resp_free(&r);
  /* DELETE without a version. */
  req("DELETE", "/v1/parties/api-p1", g.coord, NULL, &r);
  expect_error("DELETE without version", &r, 409, "conflict", NULL);
  assert_int_equal(current_version(&r), 2);
  it_resp_free(&r);
  /* Delete of a party others refer to (sna's sponsor, a guarantor). */
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/tr", &r), 200);
  char ifm[32];
  snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)it_version(r.json));
  it_resp_free(&r);
  struct it_req q = {.method = "DELETE",
                     .path = "/v1/parties/tr",
                     .token = g.coord,
                     .if_match = ifm};
  it_http(&g.srv, &q, &r);
  expect_error("DELETE /v1/parties/tr (referenced)", &r, 409, "conflict", NULL);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/tr", &r), 200);
  it_resp_free(&r);
  /* The id of a deleted object cannot be taken back at its old version. */
  q = (struct it_req){.method = "DELETE",
                      .path = "/v1/parties/api-p1",
                      .token = g.coord,
                      .if_match = "\"2\""};
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  assert_string_equal(it_jstr(r.json, "deleted"), "api-p1");
  assert_int_equal(it_version(r.json), 3);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/api-p1", &r), 404);
  it_resp_free(&r);
  assert_int_equal(it_http(&g.srv, &q, &r), 404);
  it_resp_free(&r);
}

/* ---- 413, 400, 415 ------------------------------------------------------ */

/* A party document of about size bytes (its notes fill it up). */
static char *party_of_size(const char *id, size_t size) {
  char *s = malloc(size + 1);
  assert_non_null(s);
  int n = snprintf(s, size + 1,
                   "{\"id\":\"%s\",\"name\":\"Big %s\",\"kind\":\"state\","
                   "\"notes\":\"",
                   id, id);
  assert_true(n > 0 && (size_t)n + 2 < size);
  memset(s + n, 'x', size - (size_t)n - 2);
  memcpy(s + size - 2, "\"}", 3);
  return s;
}

static void test_too_large(void **state) {
  (void)state;
  struct it_resp r;
  for (int chunked = 0; chunked < 2; chunked++) {
    char *big = party_of_size(chunked ? "big-c" : "big-l", 5000);
    struct it_req q = {.method = "POST",
                       .path = "/v1/parties",
                       .token = g.coord,
                       .body = big,
                       .chunked = chunked};
    it_http(&g.srv, &q, &r);
    expect_error(chunked ? "POST 5000 bytes, chunked"
                         : "POST 5000 bytes, Content-Length",
                 &r, 413, "too_large", NULL);
    it_resp_free(&r);
    free(big);
  }
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/big-l", &r), 404);
  it_resp_free(&r);
  /* Just under the limit is fine, either way. */
  for (int chunked = 0; chunked < 2; chunked++) {
    char *ok = party_of_size(chunked ? "fit-c" : "fit-l", 4000);
    struct it_req q = {.method = "POST",
                       .path = "/v1/parties",
                       .token = g.coord,
                       .body = ok,
                       .chunked = chunked};
    if (it_http(&g.srv, &q, &r) != 201)
      fail_msg("POST 4000 bytes (%s): %s",
               chunked ? "chunked" : "Content-Length", it_show(&r));
    it_resp_free(&r);
    free(ok);
  }
}

static void test_bad_json(void **state) {
  (void)state;
  struct it_resp r;
  struct it_req q = {.method = "POST",
                     .path = "/v1/parties",
                     .token = g.coord,
                     .body = "{\"id\": \"bj\",\n  \"name\": ,\n  \"kind\": "
                             "\"state\"}"};
  it_http(&g.srv, &q, &r);
  expect_error("POST broken JSON", &r, 400, "bad_json", NULL);
  const char *msg = it_jstr(json_object_get(r.json, "error"), "message");
  if (strcasestr(msg, "line") == NULL || strcasestr(msg, "column") == NULL ||
      strstr(msg, "2") == NULL)
    fail_msg("bad_json: the message should give line 2 and its column: %s",
             msg);
  it_resp_free(&r);
  const char *bodies[] = {"", "{", "nul", "{\"id\":\"x\"}}", "\xff\xfe{}"};
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    q.body = bodies[i];
    q.body_len = strlen(bodies[i]);
    if (q.body_len == 0) {
      /* An empty body where one is required. */
      q.body = " ";
      q.body_len = 1;
    }
    it_http(&g.srv, &q, &r);
    expect_error("POST a body that is not JSON", &r, 400, "bad_json", NULL);
    it_resp_free(&r);
  }
  /* JSON, but not an object. */
  expect_req_error("POST", "/v1/parties", g.coord, "[1,2]", 400, "invalid",
                   NULL);
}

static void test_invalid(void **state) {
  (void)state;
  /* Unknown members are rejected, naming the member. */
  expect_req_error("POST", "/v1/parties", g.coord,
                   "{'id':'inv1','name':'Inv','kind':'state','colour':'red'}",
                   400, "invalid", "colour");
  expect_req_error("POST", "/v1/sites", g.coord,
                   "{'type':'Feature','id':'inv2','geometry':{'type':'Point',"
                   "'coordinates':[38.1,34.1]},'properties':{'name':'Inv',"
                   "'category':'school','radius_m':50,'notified_by':'ocha',"
                   "'colour':'red'}}",
                   400, "invalid", "colour");
  /* Missing required members, naming them. */
  expect_req_error("POST", "/v1/parties", g.coord,
                   "{'id':'inv3','kind':'state'}", 400, "invalid", "name");
  expect_req_error("POST", "/v1/agreements", g.coord,
                   "{'id':'inv4','name':'Inv','kind':'ceasefire',"
                   "'scope':'nationwide','covered':['sna'],"
                   "'terms':['shelling']}",
                   400, "invalid", "valid_from");
  /* A wrong value. */
  expect_req_error("POST", "/v1/parties", g.coord,
                   "{'id':'inv5','name':'Inv','kind':'empire'}", 400, "invalid",
                   "kind");
  /* A reference to a party that does not exist. */
  expect_req_error("POST", "/v1/sites", g.coord,
                   "{'type':'Feature','id':'inv6','geometry':{'type':'Point',"
                   "'coordinates':[38.1,34.1]},'properties':{'name':'Inv',"
                   "'category':'school','radius_m':50,'notified_by':'nosuch'}}",
                   400, "invalid", "notified_by");
  /* A self-intersecting polygon. */
  expect_req_error("POST", "/v1/areas", g.coord,
                   "{'type':'Feature','id':'inv7','geometry':{'type':'Polygon',"
                   "'coordinates':[[[38,34],[38.1,34.1],[38.1,34],[38,34.1],"
                   "[38,34]]]},'properties':{'name':'Bowtie'}}",
                   400, "invalid", "geometry");
  /* A sponsor cycle: tr sponsored by sna, which tr sponsors. */
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/parties/tr", &r), 200);
  json_t *tr = json_deep_copy(r.json);
  it_resp_free(&r);
  json_object_set_new(tr, "sponsor", json_string("sna"));
  it_send(&g.srv, "PUT", g.coord, "/v1/parties/tr", tr, &r);
  json_decref(tr);
  expect_error("PUT /v1/parties/tr with a sponsor cycle", &r, 400, "invalid",
               "sponsor");
  it_resp_free(&r);
  /* properties.object must match the route. */
  expect_req_error("POST", "/v1/areas", g.coord,
                   "{'type':'Feature','id':'inv8','geometry':{'type':'Point',"
                   "'coordinates':[38.1,34.1]},'properties':{'object':'site',"
                   "'name':'Inv','category':'school','radius_m':50,"
                   "'notified_by':'ocha'}}",
                   400, "invalid", NULL);
  /* Nothing of it was written. */
  const char *ids[][2] = {
      {"parties", "inv1"},    {"sites", "inv2"},   {"parties", "inv3"},
      {"agreements", "inv4"}, {"parties", "inv5"}, {"sites", "inv6"},
      {"areas", "inv7"},      {"areas", "inv8"},   {"sites", "inv8"}};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    char path[128];
    snprintf(path, sizeof path, "/v1/%s/%s", ids[i][0], ids[i][1]);
    if (it_get(&g.srv, g.coord, path, &r) != 404)
      fail_msg("GET %s after a refused write: %s", path, it_show(&r));
    it_resp_free(&r);
  }
}

static void test_bad_parameter(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"/v1/sites?bogus=1", "bogus"},
      {"/v1/zones?bbox=1,2,3", "bbox"},
      {"/v1/zones?bbox=a,b,c,d", "bbox"},
      {"/v1/zones?bbox=36,35,37", "bbox"},
      {"/v1/zones?bbox=36,35,37,36,1", "bbox"},
      {"/v1/zones?bbox=36,95,37,96", "bbox"},
      {"/v1/zones?limit=0", "limit"},
      {"/v1/zones?limit=1001", "limit"},
      {"/v1/zones?limit=ten", "limit"},
      {"/v1/zones?at=yesterday", "at"},
      {"/v1/zones?cursor=%7Bnot-a-cursor", "cursor"},
      {"/v1/query/zones?lon=200&lat=35", "lon"},
      {"/v1/query/zones?lat=35", "lon"},
      {"/v1/query/zones?lon=36&lat=north", "lat"},
      {"/v1/query/zones?lon=36.6&lat=35.9&at=2017-13-45", "at"},
      {"/v1/query/zones?lon=36.6&lat=35.9&colour=red", "colour"},
      {"/v1/query/near?lon=37&lat=36", "distance_m"},
      {"/v1/query/near?lon=37&lat=36&distance_m=-5", "distance_m"},
      {"/v1/ledger?from=x", "from"},
      {"/v1/ledger?bogus=1", "bogus"},
      {"/v1/parties/syr-gov/agreements?at=then", "at"},
      {"/v1/parties?bbox=36,35,37,36", "bbox"}, /* not a spatial kind */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_req_error("GET", cases[i][0], g.coord, NULL, 400, "bad_parameter",
                     cases[i][1]);
}

static void test_media_type(void **state) {
  (void)state;
  struct it_resp r;
  const char *body = "{\"id\":\"mt1\",\"name\":\"MT one\",\"kind\":\"state\"}";
  const char *bad[] = {"text/plain", "application/x-www-form-urlencoded",
                       "application/xml"};
  for (size_t i = 0; i < 3; i++) {
    struct it_req q = {.method = "POST",
                       .path = "/v1/parties",
                       .token = g.coord,
                       .body = body,
                       .ctype = bad[i]};
    it_http(&g.srv, &q, &r);
    expect_error(bad[i], &r, 415, "unsupported_media_type", NULL);
    it_resp_free(&r);
  }
  struct it_req q = {.method = "POST",
                     .path = "/v1/parties",
                     .token = g.coord,
                     .body = body,
                     .ctype = "application/json; charset=utf-8"};
  if (it_http(&g.srv, &q, &r) != 201)
    fail_msg("POST with application/json; charset=utf-8: %s", it_show(&r));
  it_resp_free(&r);
}

/* ---- collections and queries ------------------------------------------- */

static void test_pagination(void **state) {
  (void)state;
  struct it_resp r;
  get_items("/v1/sites?limit=1000", &r);
  size_t total = json_array_size(json_object_get(r.json, "items"));
  assert_true(total >= 33);
  assert_int_equal(json_integer_value(json_object_get(r.json, "total")), total);
  assert_true(json_is_null(json_object_get(r.json, "next")));
  json_t *all = json_object();
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r.json, "items"), i, it)
      json_object_set_new(all, it_jstr(it, "id"), json_integer(0));
  it_resp_free(&r);
  assert_int_equal(json_object_size(all), total);

  const int limits[] = {1, 5, 7, 100};
  for (size_t l = 0; l < 4; l++) {
    json_t *seen = json_object();
    char cursor[512] = "";
    int pages = 0;
    for (;;) {
      char path[700];
      if (cursor[0])
        snprintf(path, sizeof path, "/v1/sites?limit=%d&cursor=%s", limits[l],
                 cursor);
      else
        snprintf(path, sizeof path, "/v1/sites?limit=%d", limits[l]);
      get_items(path, &r);
      json_t *items = json_object_get(r.json, "items");
      if (json_array_size(items) > (size_t)limits[l])
        fail_msg("GET %s: %zu items", path, json_array_size(items));
      if (json_integer_value(json_object_get(r.json, "total")) !=
          (json_int_t)total)
        fail_msg(
            "GET %s: total %lld, expected %zu", path,
            (long long)json_integer_value(json_object_get(r.json, "total")),
            total);
      json_array_foreach(items, i, it) {
        const char *id = it_jstr(it, "id");
        if (json_object_get(seen, id))
          fail_msg("limit %d: site %s returned twice", limits[l], id);
        if (!json_object_get(all, id))
          fail_msg("limit %d: site %s is not in the full list", limits[l], id);
        json_object_set_new(seen, id, json_integer(1));
      }
      const char *next = json_string_value(json_object_get(r.json, "next"));
      int more = next != NULL;
      if (more) {
        /* A cursor is used as given: it must be safe in a query. */
        if (strlen(next) >= sizeof cursor || strpbrk(next, "&# ?%+") != NULL)
          fail_msg("cursor %s is not safe to put in a URL as it is", next);
        snprintf(cursor, sizeof cursor, "%s", next);
      }
      it_resp_free(&r);
      if (!more)
        break;
      if (++pages > 200)
        fail_msg("limit %d: more than 200 pages", limits[l]);
    }
    if (json_object_size(seen) != total)
      fail_msg("limit %d: the walk returned %zu sites of %zu", limits[l],
               json_object_size(seen), total);
    json_decref(seen);
  }
  json_decref(all);
}

static void test_filters(void **state) {
  (void)state;
  struct it_resp r;
  /* at: no Astana zone before May 2017; the border zones (2015) are. */
  get_items("/v1/zones?at=2016-06-01", &r);
  json_t *items = json_object_get(r.json, "items");
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it) {
    if (strncmp(it_jstr(it, "id"), "astana-", 7) == 0)
      fail_msg("zones at 2016-06-01 include %s", it_jstr(it, "id"));
  }
  assert_true(has_id(&r, "border-safe-zone"));
  assert_int_equal(json_integer_value(json_object_get(r.json, "total")),
                   json_array_size(items));
  it_resp_free(&r);
  get_items("/v1/zones?at=2017-06-01T12:00:00Z", &r);
  assert_true(has_id(&r, "astana-idlib"));
  assert_true(has_id(&r, "astana-south"));
  it_resp_free(&r);
  /* kind: the four Astana areas are the de-escalation zones. */
  get_items("/v1/zones?kind=de_escalation", &r);
  items = json_object_get(r.json, "items");
  assert_int_equal(json_array_size(items), 4);
  json_array_foreach(items, i, it) {
    assert_true(strncmp(it_jstr(it, "id"), "astana-", 7) == 0);
  }
  it_resp_free(&r);
  get_items("/v1/parties?kind=agency&limit=1000", &r);
  assert_true(has_id(&r, "ocha"));
  assert_true(has_id(&r, "icrc"));
  assert_false(has_id(&r, "sna"));
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    assert_string_equal(it_jstr(it, "kind"), "agency");
  }
  it_resp_free(&r);
  /* bbox around Idlib city: the Idlib area, not the southern one. */
  get_items("/v1/zones?bbox=36.55,35.85,36.70,36.00", &r);
  assert_true(has_id(&r, "astana-idlib"));
  assert_false(has_id(&r, "astana-south"));
  assert_false(has_id(&r, "astana-eastern-ghouta"));
  it_resp_free(&r);
  get_items("/v1/areas?bbox=36.55,35.85,36.70,36.00", &r);
  assert_true(has_id(&r, "sy07")); /* Idleb governorate */
  assert_false(has_id(&r, "sy08"));
  it_resp_free(&r);
  /* Filters combine. */
  get_items("/v1/zones?bbox=36.55,35.85,36.70,36.00&at=2016-06-01", &r);
  assert_false(has_id(&r, "astana-idlib"));
  it_resp_free(&r);
  get_items("/v1/sites?bbox=37.04,36.57,37.06,36.60", &r);
  assert_true(has_id(&r, "site-ru_1582"));
  assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
  it_resp_free(&r);
}

static void test_queries(void **state) {
  (void)state;
  struct it_resp r;
  /* Idlib city lies in the Idlib de-escalation area in June 2017... */
  get_items("/v1/query/zones?lon=36.633&lat=35.930&at=2017-06-01", &r);
  json_t *hit = NULL;
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    if (strcmp(it_jstr(it, "id"), "astana-idlib") == 0)
      hit = it;
  }
  if (hit == NULL)
    fail_msg("Idlib city, 2017-06-01: astana-idlib not found: %s", it_show(&r));
  assert_string_equal(it_jstr(hit, "name"), "Idlib de-escalation area");
  assert_string_equal(it_jstr(hit, "kind"), "de_escalation");
  assert_string_equal(it_jstr(hit, "phase"), "declared");
  assert_true(json_integer_value(json_object_get(hit, "version")) >= 1);
  it_resp_free(&r);
  /* ...not before the memorandum, and Aleppo city never. */
  get_items("/v1/query/zones?lon=36.633&lat=35.930&at=2016-06-01", &r);
  assert_false(has_id(&r, "astana-idlib"));
  it_resp_free(&r);
  get_items("/v1/query/zones?lon=37.16&lat=36.20&at=2017-06-01", &r);
  assert_false(has_id(&r, "astana-idlib"));
  it_resp_free(&r);
  /* Altitude: a zone with a band up to 3000 m. */
  json_t *z = it_new_doc("zones", "api-alt", NULL);
  json_object_set_new(json_object_get(z, "properties"), "alt_max_m",
                      json_integer(3000));
  assert_int_equal(it_send(&g.srv, "POST", g.coord, "/v1/zones", z, &r), 201);
  it_resp_free(&r);
  json_decref(z);
  get_items("/v1/query/zones?lon=38.32&lat=34.32&alt=1000", &r);
  assert_true(has_id(&r, "api-alt"));
  it_resp_free(&r);
  get_items("/v1/query/zones?lon=38.32&lat=34.32&alt=5000", &r);
  assert_false(has_id(&r, "api-alt"));
  it_resp_free(&r);
  get_items("/v1/query/zones?lon=38.32&lat=34.32", &r);
  assert_true(has_id(&r, "api-alt"));
  it_resp_free(&r);

  /* The Syrian National Army's sponsor chain ends with Turkey. */
  get_items("/v1/parties/sna/sponsors", &r);
  json_t *items = json_object_get(r.json, "items");
  size_t n = json_array_size(items);
  assert_true(n >= 2);
  assert_string_equal(it_jstr(json_array_get(items, 0), "id"), "sna");
  assert_string_equal(it_jstr(json_array_get(items, n - 1), "id"), "tr");
  it_resp_free(&r);

  /* The 2016 cessation of hostilities covers the government, directly,
   * and the NDF through its sponsor; not IS. */
  get_items("/v1/parties/syr-gov/agreements?at=2016-03-01", &r);
  hit = NULL;
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    if (strcmp(it_jstr(it, "id"), "coh-2016") == 0)
      hit = it;
  }
  if (hit == NULL)
    fail_msg("syr-gov at 2016-03-01: coh-2016 not listed: %s", it_show(&r));
  if (strcmp(it_jstr(hit, "coverage"), "covered") != 0)
    fail_msg("syr-gov coh-2016 coverage: expected \"covered\", got \"%s\"",
             it_jstr(hit, "coverage"));
  it_resp_free(&r);
  get_items("/v1/parties/ndf/agreements?at=2016-03-01", &r);
  hit = NULL;
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    if (strcmp(it_jstr(it, "id"), "coh-2016") == 0)
      hit = it;
  }
  if (hit == NULL)
    fail_msg("ndf at 2016-03-01: coh-2016 not listed: %s", it_show(&r));
  if (strcmp(it_jstr(hit, "coverage"), "covered_via_sponsor") != 0)
    fail_msg("ndf coh-2016 coverage: expected \"covered_via_sponsor\", got "
             "\"%s\"",
             it_jstr(hit, "coverage"));
  it_resp_free(&r);
  get_items("/v1/parties/is/agreements?at=2016-03-01", &r);
  assert_false(has_id(&r, "coh-2016"));
  it_resp_free(&r);
  get_items("/v1/parties/syr-gov/agreements?at=2015-01-01", &r);
  assert_false(has_id(&r, "coh-2016"));
  it_resp_free(&r);

  /* Around the Azaz hospital, nearest first. */
  get_items("/v1/query/near?lon=37.0499&lat=36.5866&distance_m=2000", &r);
  items = json_object_get(r.json, "items");
  double last = -1;
  int found = 0;
  json_array_foreach(items, i, it) {
    double d = json_number_value(json_object_get(it, "distance_m"));
    if (!json_is_number(json_object_get(it, "distance_m")) || d < last ||
        d > 2000)
      fail_msg("near: item %zu has distance_m %g after %g", i, d, last);
    last = d;
    if (!json_is_string(json_object_get(it, "kind")) ||
        !json_is_string(json_object_get(it, "id")))
      fail_msg("near: item %zu lacks kind or id", i);
    if (strcmp(it_jstr(it, "id"), "site-ru_1582") == 0) {
      found = 1;
      assert_string_equal(it_jstr(it, "kind"), "site");
      assert_true(d > 100 && d < 400);
    }
  }
  if (!found)
    fail_msg("near Azaz: the hospital site-ru_1582 is missing: %s",
             it_show(&r));
  it_resp_free(&r);
}

/* ---- writes ------------------------------------------------------------ */

static void test_conditional_put(void **state) {
  (void)state;
  int64_t v = create("zones", "api-z1");
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/zones/api-z1", &r), 200);
  json_t *doc = json_deep_copy(r.json);
  it_resp_free(&r);
  assert_int_equal(it_version(doc), v);

  /* With the version in the body. */
  it_doc_rename(doc, "First name");
  assert_int_equal(it_send(&g.srv, "PUT", g.coord, "/v1/zones/api-z1", doc, &r),
                   200);
  assert_int_equal(it_version(r.json), v + 1);
  assert_string_equal(it_jstr(json_object_get(r.json, "properties"), "name"),
                      "First name");
  it_resp_free(&r);
  /* The same again: stale now. */
  it_doc_rename(doc, "Second name");
  it_send(&g.srv, "PUT", g.coord, "/v1/zones/api-z1", doc, &r);
  expect_error("PUT stale version in the body", &r, 409, "conflict", NULL);
  assert_int_equal(current_version(&r), v + 1);
  it_resp_free(&r);
  /* With If-Match and no version in the body. */
  json_object_del(json_object_get(doc, "properties"), "version");
  char *text = json_dumps(doc, JSON_COMPACT);
  char ifm[32];
  snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)(v + 1));
  struct it_req q = {.method = "PUT",
                     .path = "/v1/zones/api-z1",
                     .token = g.coord,
                     .body = text,
                     .if_match = ifm};
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  assert_int_equal(it_version(r.json), v + 2);
  it_resp_free(&r);
  /* A stale If-Match. */
  it_http(&g.srv, &q, &r);
  expect_error("PUT stale If-Match", &r, 409, "conflict", NULL);
  assert_int_equal(current_version(&r), v + 2);
  it_resp_free(&r);
  free(text);
  /* Both given and different: 400, whichever is right. */
  it_doc_rename(doc, "Third name");
  it_doc_set_version(doc, v + 2);
  text = json_dumps(doc, JSON_COMPACT);
  snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)(v + 1));
  q.body = text;
  it_http(&g.srv, &q, &r);
  if (r.status != 400 || it_err_shape(&r))
    fail_msg("PUT with body version %lld and If-Match %s: expected 400, "
             "got %s",
             (long long)(v + 2), ifm, it_show(&r));
  it_resp_free(&r);
  /* Both given and equal: fine. */
  snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)(v + 2));
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  assert_int_equal(it_version(r.json), v + 3);
  it_resp_free(&r);
  free(text);
  json_decref(doc);
  /* Its history: four entries, oldest first, by the coordinator. */
  get_items("/v1/zones/api-z1/history", &r);
  json_t *items = json_object_get(r.json, "items");
  assert_int_equal(json_array_size(items), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *e = json_array_get(items, i);
    assert_int_equal(json_integer_value(json_object_get(e, "version")),
                     v + (int64_t)i);
    assert_string_equal(it_jstr(e, "author"), "coordinator");
  }
  it_resp_free(&r);
}

static void test_phase(void **state) {
  (void)state;
  int64_t v = create("zones", "api-z2");
  struct it_resp r;
  char body[200];
  snprintf(body, sizeof body,
           "{'phase':'established','reason':'agreed','version':%lld}",
           (long long)v);
  assert_int_equal(req("POST", "/v1/zones/api-z2/phase", g.coord, body, &r),
                   200);
  json_t *props = json_object_get(r.json, "properties");
  assert_string_equal(it_jstr(props, "phase"), "established");
  assert_int_equal(it_version(r.json), v + 1);
  json_t *hist = json_object_get(props, "phase_history");
  assert_int_equal(json_array_size(hist), 2);
  assert_string_equal(it_jstr(json_array_get(hist, 1), "reason"), "agreed");
  it_resp_free(&r);
  /* Stale version. */
  req("POST", "/v1/zones/api-z2/phase", g.coord, body, &r);
  expect_error("phase with a stale version", &r, 409, "conflict", NULL);
  assert_int_equal(current_version(&r), v + 1);
  it_resp_free(&r);
  /* A transition the rules forbid: established -> declared. */
  snprintf(body, sizeof body, "{'phase':'declared','version':%lld}",
           (long long)(v + 1));
  req("POST", "/v1/zones/api-z2/phase", g.coord, body, &r);
  expect_error("phase established -> declared", &r, 400, "invalid", NULL);
  it_resp_free(&r);
  /* Unknown member, unknown phase. */
  snprintf(body, sizeof body, "{'phase':'open','colour':'red','version':%lld}",
           (long long)(v + 1));
  expect_req_error("POST", "/v1/zones/api-z2/phase", g.coord, body, 400,
                   "invalid", "colour");
  snprintf(body, sizeof body, "{'phase':'closed','version':%lld}",
           (long long)(v + 1));
  expect_req_error("POST", "/v1/zones/api-z2/phase", g.coord, body, 400,
                   "invalid", "phase");

  /* The scenario's Idlib area opened (as scripts/demo does). */
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/zones/astana-idlib", &r), 200);
  int64_t vi = it_version(r.json);
  it_resp_free(&r);
  snprintf(body, sizeof body,
           "{'phase':'open','reason':'corridors opened','version':%lld}",
           (long long)vi);
  assert_int_equal(
      req("POST", "/v1/zones/astana-idlib/phase", g.coord, body, &r), 200);
  it_resp_free(&r);
  get_items("/v1/query/zones?lon=36.633&lat=35.930", &r);
  int seen = 0;
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r.json, "items"), i, it) {
    if (strcmp(it_jstr(it, "id"), "astana-idlib") == 0) {
      seen = 1;
      assert_string_equal(it_jstr(it, "phase"), "open");
      assert_int_equal(json_integer_value(json_object_get(it, "version")),
                       vi + 1);
    }
  }
  assert_true(seen);
  it_resp_free(&r);
  /* Dissolved: no longer in force. */
  snprintf(body, sizeof body, "{'phase':'dissolved','version':%lld}",
           (long long)vi + 1);
  assert_int_equal(
      req("POST", "/v1/zones/astana-idlib/phase", g.coord, body, &r), 200);
  it_resp_free(&r);
  get_items("/v1/query/zones?lon=36.633&lat=35.930", &r);
  assert_false(has_id(&r, "astana-idlib"));
  it_resp_free(&r);
  /* ...but it was in June 2017: history is kept. */
  get_items("/v1/query/zones?lon=36.633&lat=35.930&at=2017-06-01", &r);
  assert_true(has_id(&r, "astana-idlib"));
  it_resp_free(&r);
}

/* ---- the ledger, health, metrics ----------------------------------------- */

static int64_t ledger_head(void) {
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, NULL, "/healthz", &r), 200);
  int64_t h = json_integer_value(json_object_get(r.json, "ledger_head"));
  it_resp_free(&r);
  return h;
}

static void test_ledger(void **state) {
  (void)state;
  int64_t head = ledger_head();
  assert_true(head > 109);
  /* A walk in pages of 50 following next. */
  int64_t expect_seq = 1, from = 1;
  struct it_resp r;
  for (int pages = 0;; pages++) {
    char path[128];
    snprintf(path, sizeof path, "/v1/ledger?from=%lld&limit=50",
             (long long)from);
    get_items(path, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_true(json_array_size(items) <= 50);
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e) {
      if (json_integer_value(json_object_get(e, "seq")) != expect_seq)
        fail_msg("GET %s: item %zu has seq %lld, expected %lld", path, i,
                 (long long)json_integer_value(json_object_get(e, "seq")),
                 (long long)expect_seq);
      expect_seq++;
    }
    json_t *next = json_object_get(r.json, "next");
    if (next == NULL)
      fail_msg("GET %s: no \"next\" member", path);
    int more = !json_is_null(next);
    if (more) {
      if (!json_is_integer(next))
        fail_msg("GET %s: next is not an integer or null", path);
      from = json_integer_value(next);
    }
    it_resp_free(&r);
    if (!more)
      break;
    assert_true(pages < 1000);
  }
  assert_int_equal(expect_seq - 1, head);
  /* A range. */
  get_items("/v1/ledger?from=5&to=9", &r);
  json_t *items = json_object_get(r.json, "items");
  assert_int_equal(json_array_size(items), 5);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(items, 0), "seq")), 5);
  assert_int_equal(
      json_integer_value(json_object_get(json_array_get(items, 4), "seq")), 9);
  /* The first entry is the genesis. */
  it_resp_free(&r);
  get_items("/v1/ledger?limit=1", &r);
  assert_string_equal(
      it_jstr(json_array_get(json_object_get(r.json, "items"), 0), "op"),
      "genesis");
  it_resp_free(&r);
  /* It verifies. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/ledger/verify", &r), 200);
  assert_true(json_is_true(json_object_get(r.json, "ok")));
  assert_int_equal(json_integer_value(json_object_get(r.json, "entries")),
                   head);
  assert_int_equal(strlen(it_jstr(r.json, "head")), 64);
  it_resp_free(&r);
}

/* The sum of the samples of metric name whose labels contain every one of
 * labels (NULL-terminated, e.g. "route=\"/v1/query/zones\""); -1 when
 * there is no such sample. */
static double metric(const char *text, const char *name,
                     const char *const *labels) {
  double sum = -1;
  size_t nlen = strlen(name);
  for (const char *line = text; line && *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > nlen && strncmp(line, name, nlen) == 0 &&
        (line[nlen] == '{' || line[nlen] == ' ')) {
      int all = 1;
      char buf[1024];
      snprintf(buf, sizeof buf, "%.*s", (int)len, line);
      for (size_t i = 0; labels && labels[i]; i++)
        all &= strstr(buf, labels[i]) != NULL;
      const char *sp = strrchr(buf, ' ');
      if (all && sp) {
        char *end;
        double v = strtod(sp + 1, &end);
        if (end != sp + 1)
          sum = (sum < 0 ? 0 : sum) + v;
      }
    }
    line = eol ? eol + 1 : NULL;
  }
  return sum;
}

static char *get_metrics(void) {
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.sna, "/metrics", &r), 200);
  if (strcasestr(r.headers, "content-type: text/plain") == NULL)
    fail_msg("/metrics: not text/plain: %s", r.headers);
  char *text = r.body;
  r.body = NULL;
  it_resp_free(&r);
  return text;
}

static void test_metrics(void **state) {
  (void)state;
  char *m = get_metrics();
  const char *names[] = {"haven_http_requests_total",
                         "haven_http_request_duration_seconds_bucket",
                         "haven_http_request_duration_seconds_sum",
                         "haven_http_request_duration_seconds_count",
                         "haven_store_write_duration_seconds_bucket",
                         "haven_store_write_duration_seconds_count",
                         "haven_objects",
                         "haven_auth_failures_total"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (metric(m, names[i], NULL) < 0)
      fail_msg("/metrics has no sample of %s", names[i]);
  const char *types[] = {"# TYPE haven_http_requests_total counter",
                         "# TYPE haven_http_request_duration_seconds histogram",
                         "# TYPE haven_store_write_duration_seconds histogram",
                         "# TYPE haven_objects gauge",
                         "# TYPE haven_auth_failures_total counter"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strstr(m, types[i]) == NULL)
      fail_msg("/metrics lacks \"%s\"", types[i]);
  /* The object gauge counts what the collections hold. */
  struct it_resp r;
  get_items("/v1/zones?limit=1", &r);
  double zones = (double)json_integer_value(json_object_get(r.json, "total"));
  it_resp_free(&r);
  const char *kz[] = {"kind=\"zone\"", NULL};
  if (metric(m, "haven_objects", kz) != zones)
    fail_msg("haven_objects{kind=\"zone\"} is %g, /v1/zones has %g",
             metric(m, "haven_objects", kz), zones);
  const char *ksite[] = {"kind=\"site\"", NULL};
  assert_true(metric(m, "haven_objects", ksite) >= 33);

  /* Requests are counted by route, method and status. */
  const char *q200[] = {"route=\"/v1/query/zones\"", "method=\"GET\"",
                        "status=\"200\"", NULL};
  const char *q400[] = {"route=\"/v1/query/zones\"", "method=\"GET\"",
                        "status=\"400\"", NULL};
  const char *hist[] = {"route=\"/v1/query/zones\"", NULL};
  double before = metric(m, "haven_http_requests_total", q200);
  double before_bad = metric(m, "haven_http_requests_total", q400);
  double before_hist =
      metric(m, "haven_http_request_duration_seconds_count", hist);
  double before_fail = metric(m, "haven_auth_failures_total", NULL);
  double before_w = metric(m, "haven_store_write_duration_seconds_count", NULL);
  free(m);
  for (int i = 0; i < 7; i++) {
    get_items("/v1/query/zones?lon=36.633&lat=35.930&at=2017-06-01", &r);
    it_resp_free(&r);
  }
  req("GET", "/v1/query/zones?lon=999&lat=35.930", g.coord, NULL, &r);
  it_resp_free(&r);
  struct it_req bad = {.path = "/v1/query/zones?lon=36.6&lat=35.9",
                       .auth = "Bearer nope",
                       .src = it_fresh_src()};
  it_http(&g.srv, &bad, &r);
  it_resp_free(&r);
  create("parties", "api-metrics-p");
  m = get_metrics();
  double after = metric(m, "haven_http_requests_total", q200);
  double after_bad = metric(m, "haven_http_requests_total", q400);
  double after_hist =
      metric(m, "haven_http_request_duration_seconds_count", hist);
  double after_fail = metric(m, "haven_auth_failures_total", NULL);
  double after_w = metric(m, "haven_store_write_duration_seconds_count", NULL);
  free(m);
  if (after - (before < 0 ? 0 : before) != 7)
    fail_msg("requests_total{/v1/query/zones,GET,200}: %g -> %g after 7",
             before, after);
  if (after_bad - (before_bad < 0 ? 0 : before_bad) != 1)
    fail_msg("requests_total{/v1/query/zones,GET,400}: %g -> %g after 1",
             before_bad, after_bad);
  if (after_hist - (before_hist < 0 ? 0 : before_hist) < 8)
    fail_msg("duration_seconds_count{/v1/query/zones}: %g -> %g after 9",
             before_hist, after_hist);
  if (after_fail - before_fail != 1)
    fail_msg("auth_failures_total: %g -> %g after one bad token", before_fail,
             after_fail);
  if (after_w - before_w < 1)
    fail_msg("store_write_duration_seconds_count: %g -> %g after a write",
             before_w, after_w);
}

/* ---- other writers ------------------------------------------------------ */

/* Runs `haven --data DATA args...`; its standard output into out. */
static void cli(char *out, size_t size, const char *const *args) {
  const char *argv[16];
  size_t n = 0;
  argv[n++] = it_env("HAVEN_BIN");
  argv[n++] = "--data";
  argv[n++] = g.data;
  for (size_t i = 0; args[i] && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  char o[1100], e[1100];
  it_path(o, sizeof o, g.work, "cli.out");
  it_path(e, sizeof e, g.work, "cli.err");
  int rc = it_run(argv, o, e);
  char *text = it_read_file(o, NULL);
  if (rc != 0) {
    char *err = it_read_file(e, NULL);
    fail_msg("haven %s %s: exit %d: %s", args[0], args[1] ? args[1] : "", rc,
             err ? err : "");
  }
  size_t len = text ? strcspn(text, "\n") : 0;
  snprintf(out, size, "%.*s", (int)len, text ? text : "");
  free(text);
}

static void test_other_writers(void **state) {
  (void)state;
  /* A token made on the command line while the server runs works at once,
   * and stops working once revoked there. */
  char token[128], id[32];
  const char *make[] = {"token",  "create", "--party", "syr-gov",
                        "--role", "party",  NULL};
  cli(token, sizeof token, make);
  assert_true(strncmp(token, "hv1.", 4) == 0);
  struct it_resp r;
  if (it_get(&g.srv, token, "/v1/parties/syr-gov", &r) != 200)
    fail_msg("a token made by `haven token create` while the server runs: "
             "%s",
             it_show(&r));
  it_resp_free(&r);
  /* hv1.<id>.<secret> */
  const char *dot = strchr(token + 4, '.');
  assert_non_null(dot);
  snprintf(id, sizeof id, "%.*s", (int)(dot - token - 4), token + 4);
  const char *revoke[] = {"token", "revoke", id, NULL};
  char out[256];
  cli(out, sizeof out, revoke);
  struct it_req q = {
      .path = "/v1/parties/syr-gov", .token = token, .src = it_fresh_src()};
  it_http(&g.srv, &q, &r);
  expect_error("a token revoked by `haven token revoke`", &r, 401,
               "unauthenticated", NULL);
  it_resp_free(&r);
  /* The server writes on after the command's writes (its view caught up). */
  create("parties", "api-after-cli");
}

/* ---- rate limiting ------------------------------------------------------ */

static void test_rate_limit(void **state) {
  (void)state;
  const char *src = it_fresh_src();
  struct it_resp r;
  for (int i = 1; i <= 10; i++) {
    struct it_req q = {.path = "/v1/parties/sna",
                       .auth = "Bearer hv1.0123456789ab.wrongwrongwrong",
                       .src = src,
                       .fresh = 1};
    if (it_http(&g.srv, &q, &r) != 401)
      fail_msg("bad token %d of 10 from %s: expected 401, got %s", i, src,
               it_show(&r));
    it_resp_free(&r);
  }
  /* The 11th failure... */
  struct it_req q = {.path = "/v1/parties/sna",
                     .auth = "Bearer hv1.x.y",
                     .src = src,
                     .fresh = 1};
  it_http(&g.srv, &q, &r);
  expect_error("11th bad token from one address", &r, 429, "too_many_failures",
               NULL);
  it_resp_free(&r);
  /* ...and a good token from that address, within the window. */
  q = (struct it_req){
      .path = "/v1/parties/sna", .token = g.sna, .src = src, .fresh = 1};
  it_http(&g.srv, &q, &r);
  expect_error("a good token from a blocked address", &r, 429,
               "too_many_failures", NULL);
  if (strstr(r.body, "Syrian National Army"))
    fail_msg("a 429 reply shows the object: %s", it_show(&r));
  it_resp_free(&r);
  /* /healthz needs no authentication: not blocked. */
  q = (struct it_req){.path = "/healthz", .src = src, .fresh = 1};
  it_http(&g.srv, &q, &r);
  it_resp_free(&r);
  /* Another address is not affected. */
  q = (struct it_req){.path = "/v1/parties/sna",
                      .token = g.sna,
                      .src = it_fresh_src(),
                      .fresh = 1};
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  it_resp_free(&r);
  /* Requests without credentials are not failures: never 429. */
  const char *src3 = it_fresh_src();
  for (int i = 0; i < 15; i++) {
    q = (struct it_req){.path = "/v1/parties/sna", .src = src3};
    it_http(&g.srv, &q, &r);
    expect_error("no credentials, again and again", &r, 401, "unauthenticated",
                 NULL);
    it_resp_free(&r);
  }
  q = (struct it_req){.path = "/v1/parties/sna", .token = g.sna, .src = src3};
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  it_resp_free(&r);
  /* Nine failures do not block. */
  const char *src2 = it_fresh_src();
  for (int i = 0; i < 9; i++) {
    q = (struct it_req){
        .path = "/v1/parties/sna", .auth = "Bearer x", .src = src2};
    assert_int_equal(it_http(&g.srv, &q, &r), 401);
    it_resp_free(&r);
  }
  q = (struct it_req){.path = "/v1/parties/sna", .token = g.sna, .src = src2};
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  it_resp_free(&r);
}

/* ---- last: the log of denied requests ------------------------------------ */

/* Whether line holds the tokens method, path (or path?...) and status. */
static int log_line_matches(const char *line, const struct it_denied *d) {
  char buf[2048];
  snprintf(buf, sizeof buf, "%s", line);
  int m = 0, p = 0, s = 0, a = 0;
  char status[8];
  snprintf(status, sizeof status, "%ld", d->status);
  char *save = NULL;
  for (char *t = strtok_r(buf, " \t\r", &save); t;
       t = strtok_r(NULL, " \t\r", &save)) {
    size_t pl = strlen(d->path);
    m |= strcmp(t, d->method) == 0;
    p |= strncmp(t, d->path, pl) == 0 && (t[pl] == '\0' || t[pl] == '?');
    s |= strcmp(t, status) == 0;
    a |= strncmp(t, "127.", 4) == 0;
  }
  return m && p && s && a;
}

static void test_denied_logged(void **state) {
  (void)state;
  size_t n = it_denied_count();
  assert_true(n >= 20);
  int rc = it_server_stop(&g.srv);
  assert_int_equal(rc, 0);
  char *log = it_read_file(g.srv.err_path, NULL);
  assert_non_null(log);
  /* Split the log into lines, each matched at most once. */
  size_t n_lines = 0;
  for (const char *p = log; *p; p++)
    n_lines += *p == '\n';
  char **lines = calloc(n_lines + 1, sizeof *lines);
  assert_non_null(lines);
  size_t k = 0;
  char *save = NULL;
  for (char *l = strtok_r(log, "\n", &save); l && k <= n_lines;
       l = strtok_r(NULL, "\n", &save))
    lines[k++] = l;
  size_t missing = 0;
  for (size_t i = 0; i < n; i++) {
    const struct it_denied *d = it_denied_at(i);
    size_t j;
    for (j = 0; j < k; j++) {
      if (lines[j] && log_line_matches(lines[j], d)) {
        lines[j] = NULL;
        break;
      }
    }
    if (j == k) {
      print_error("not in the log: %s %s -> %ld\n", d->method, d->path,
                  d->status);
      missing++;
    }
  }
  free(lines);
  free(log);
  if (missing)
    fail_msg("%zu of %zu denied requests are not in the server's log (%s)",
             missing, n, g.srv.err_path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unauthenticated),
      cmocka_unit_test(test_forbidden),
      cmocka_unit_test(test_not_found),
      cmocka_unit_test(test_method_not_allowed),
      cmocka_unit_test(test_pagination),
      cmocka_unit_test(test_conflict),
      cmocka_unit_test(test_too_large),
      cmocka_unit_test(test_bad_json),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_bad_parameter),
      cmocka_unit_test(test_media_type),
      cmocka_unit_test(test_filters),
      cmocka_unit_test(test_queries),
      cmocka_unit_test(test_conditional_put),
      cmocka_unit_test(test_phase),
      cmocka_unit_test(test_ledger),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_other_writers),
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_denied_logged),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  it_http_cleanup();
  if (failed == 0)
    it_rm_tree(g.work);
  return failed;
}
