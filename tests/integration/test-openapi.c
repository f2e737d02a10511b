/*
 * test-openapi.c — docs/openapi.json, the machine-readable contract, is
 * what the server serves and what it does:
 *
 * 1. GET /openapi.json returns docs/openapi.json ($HAVEN_SOURCE_DIR), the
 *    same JSON value, as application/json; it is OpenAPI 3.0 and every
 *    operation lists its responses.
 * 2. Its paths and methods are the route table (`haven routes`, lines
 *    "METHOD PATH"), both ways: every route served is documented, every
 *    documented route is served. Path parameters compare by position
 *    ("/v1/zones/{id}" = "/v1/zones/{zone}").
 * 3. Every documented operation, called once as the coordinator on the
 *    bundled scenario — with a real id, its required query parameters, and
 *    a valid body for writes — answers with one of its documented 2xx
 *    statuses (never 404 for no route, nor 405), with a body that matches
 *    the documented schema (a small checker of the OpenAPI 3.0 subset the
 *    doc uses: $ref, allOf/oneOf/anyOf, type, nullable, enum, required,
 *    properties, additionalProperties, items, minimum); and called again
 *    without a token it answers the documented 401 (/healthz: 200).
 *    Incidents: a clash at a notified hospital (oa-incident), adjudicated
 *    in setup, is the id of the incident routes and the violation
 *    reviewed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/haven.h>

#include "harness.h"

static struct {
  char work[1024], data[1100];
  struct it_server srv;
  char coord[64];
  json_t *doc; /* docs/openapi.json */
} g;

/* An incident document with id: a clash between the government and the
 * opposition at a scenario hospital in eastern Aleppo (site-ho_1004), a
 * violation of the cessation of hostilities (open-ended) with a hit on a
 * notified site. In 2030: the scenario's sites have no notified_at, so they
 * protect from when they were imported. Caller decrefs. */
static json_t *sample_incident(const char *id) {
  json_t *doc = it_js(
      "{'type':'Feature','geometry':{'type':'Point','coordinates':[37.1928,"
      "36.2164]},'properties':{'object':'incident','time':'2030-03-01',"
      "'event_type':'Battles','sub_event_type':'Armed clash',"
      "'sides':['syr-gov','syr-opposition'],'fatalities':2}}");
  json_object_set_new(doc, "id", json_string(id));
  return doc;
}

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "openapi");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16], path[1100];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, id);
  /* A movement for the reads of /v1/movements/{id}... (the scenario has
   * none). */
  json_t *mv = it_new_doc("movements", "oa-movement", NULL);
  char *text = json_dumps(mv, JSON_COMPACT);
  json_decref(mv);
  assert_non_null(text);
  for (char *c = text; *c; c++)
    if (*c == '"')
      *c = '\'';
  it_put(g.data, "movement", text);
  free(text);
  /* An incident for /v1/incidents/{id}... and the reviews, adjudicated
   * below once the server runs. */
  json_t *inc = sample_incident("oa-incident");
  text = json_dumps(inc, JSON_COMPACT);
  json_decref(inc);
  assert_non_null(text);
  for (char *c = text; *c; c++)
    if (*c == '"')
      *c = '\'';
  it_put(g.data, "incident", text);
  free(text);
  it_path(path, sizeof path, it_env("HAVEN_SOURCE_DIR"), "docs/openapi.json");
  json_error_t jerr;
  g.doc = json_load_file(path, 0, &jerr);
  if (g.doc == NULL)
    fail_msg("%s: line %d: %s", path, jerr.line, jerr.text);
  /* A dashboard directory for / and /ui/{file} (the real one is built
   * with npm; its own test is tests/browser). */
  char web[1100], file[1200];
  it_path(web, sizeof web, g.work, "web");
  mkdir(web, 0755);
  snprintf(file, sizeof file, "%s/index.html", web);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("<!doctype html><title>haven</title>\n", f);
  fclose(f);
  snprintf(file, sizeof file, "%s/app.js", web);
  f = fopen(file, "w");
  assert_non_null(f);
  fputs("\"use strict\";\n", f);
  fclose(f);
  const char *const extra[] = {"--web", web, NULL};
  it_server_start(&g.srv, g.data, g.work, extra);
  struct it_resp r;
  json_t *b = it_js("{'incidents':['oa-incident']}");
  it_send(&g.srv, "POST", g.coord, "/v1/adjudications", b, &r);
  json_decref(b);
  /* Recorded, with a hit on the hospital (so that the hits' schema is
   * checked too). */
  if (r.status != 200 ||
      json_integer_value(json_object_get(r.json, "recorded")) != 1 ||
      json_integer_value(json_object_get(r.json, "site_hits")) < 1)
    fail_msg("POST /v1/adjudications (oa-incident): %s", it_show(&r));
  it_resp_free(&r);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  json_decref(g.doc);
  return 0;
}

static const char *const METHODS[] = {"get",   "put",  "post",    "delete",
                                      "patch", "head", "options", "trace"};
#define N_METHODS (sizeof METHODS / sizeof METHODS[0])

/* "METHOD /path/{}" into buf: the method upper-cased, each path parameter
 * written "{}". */
static void route_key(char *buf, size_t size, const char *method,
                      const char *path) {
  size_t n = 0;
  for (const char *m = method; *m && n + 1 < size; m++)
    buf[n++] = (char)toupper((unsigned char)*m);
  if (n + 1 < size)
    buf[n++] = ' ';
  for (const char *p = path; *p && n + 2 < size; p++) {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      if (close) {
        buf[n++] = '{';
        buf[n++] = '}';
        p = close;
        continue;
      }
    }
    buf[n++] = *p;
  }
  buf[n] = '\0';
}

/* ---- 1. served as it is ----------------------------------------------- */

static void test_served(void **state) {
  (void)state;
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.coord, "/openapi.json", &r), 200);
  if (strcasestr(r.headers, "content-type: application/json") == NULL)
    fail_msg("/openapi.json is not served as application/json");
  if (r.json == NULL || !json_equal(r.json, g.doc))
    fail_msg("GET /openapi.json differs from docs/openapi.json");
  it_resp_free(&r);

  const char *version = it_jstr(g.doc, "openapi");
  if (strncmp(version, "3.0.", 4) != 0)
    fail_msg("docs/openapi.json: \"openapi\" is \"%s\", not 3.0.x", version);
  assert_true(json_is_object(json_object_get(g.doc, "info")));
  const char *path;
  json_t *item;
  json_object_foreach(json_object_get(g.doc, "paths"), path, item) {
    for (size_t i = 0; i < N_METHODS; i++) {
      json_t *op = json_object_get(item, METHODS[i]);
      if (op == NULL)
        continue;
      json_t *responses = json_object_get(op, "responses");
      if (json_object_size(responses) == 0)
        fail_msg("%s %s: no responses", METHODS[i], path);
    }
  }
}

/* ---- 2. documented = served ------------------------------------------- */

static void test_routes_match(void **state) {
  (void)state;
  char out[1100], err[1100];
  it_path(out, sizeof out, g.work, "routes.out");
  it_path(err, sizeof err, g.work, "routes.err");
  const char *argv[] = {it_env("HAVEN_BIN"), "routes", NULL};
  int rc = it_run(argv, out, err);
  if (rc != 0)
    fail_msg("haven routes: exit %d", rc);
  char *text = it_read_file(out, NULL);
  assert_non_null(text);

  json_t *served = json_object(), *documented = json_object();
  char key[512];
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char method[16], path[400];
    if (sscanf(line, "%15s %399s", method, path) != 2)
      fail_msg("haven routes: a line that is not \"METHOD PATH\": %s", line);
    route_key(key, sizeof key, method, path);
    json_object_set_new(served, key, json_true());
  }
  free(text);
  assert_true(json_object_size(served) > 0);

  const char *path;
  json_t *item;
  json_object_foreach(json_object_get(g.doc, "paths"), path, item) {
    for (size_t i = 0; i < N_METHODS; i++) {
      if (json_object_get(item, METHODS[i]) == NULL)
        continue;
      route_key(key, sizeof key, METHODS[i], path);
      json_object_set_new(documented, key, json_true());
    }
  }
  size_t bad = 0;
  const char *k;
  json_t *v;
  json_object_foreach(served, k, v) {
    if (json_object_get(documented, k) == NULL) {
      print_error("served, not in docs/openapi.json: %s\n", k);
      bad++;
    }
  }
  json_object_foreach(documented, k, v) {
    if (json_object_get(served, k) == NULL) {
      print_error("in docs/openapi.json, not served: %s\n", k);
      bad++;
    }
  }
  print_message("routes: %zu served, %zu documented\n",
                json_object_size(served), json_object_size(documented));
  json_decref(served);
  json_decref(documented);
  if (bad)
    fail_msg("%zu routes differ between `haven routes` and docs/openapi.json",
             bad);
}

/* ---- 3. every documented operation answers ------------------------------ */

/* A real id of the scenario per collection. */
static const char *sample_id(const char *coll) {
  static const char *const ids[][2] = {
      {"parties", "sna"},        {"agreements", "coh-2016"},
      {"zones", "astana-idlib"}, {"corridors", "castello-road"},
      {"sites", "site-ru_1582"}, {"delineations", "del-2016-sdf-al-hasakeh"},
      {"areas", "sy07"},        {"movements", "oa-movement"},
      {"incidents", "oa-incident"}, {"bulletins", "coh-2016"},
      {"ui", "app.js"},
  };
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
    if (strcmp(ids[i][0], coll) == 0)
      return ids[i][1];
  return NULL;
}

/* A value for a required query parameter. */
static const char *sample_param(const char *name) {
  static const char *const vals[][2] = {
      {"lon", "36.633"},    {"lat", "35.930"}, {"distance_m", "2000"},
      {"at", "2017-06-01"}, {"from", "1"},     {"limit", "10"},
  };
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    if (strcmp(vals[i][0], name) == 0)
      return vals[i][1];
  return NULL;
}

static size_t check_schema_quiet(const json_t *v, json_t *s);

/* A parameter object, $ref resolved (#/components/parameters/...). */
static json_t *resolve(json_t *p) {
  const char *ref = json_string_value(json_object_get(p, "$ref"));
  const char *prefix = "#/components/parameters/";
  if (ref == NULL)
    return p;
  if (strncmp(ref, prefix, strlen(prefix)) != 0)
    fail_msg("unsupported $ref %s", ref);
  json_t *q = json_object_get(
      json_object_get(json_object_get(g.doc, "components"), "parameters"),
      ref + strlen(prefix));
  if (q == NULL)
    fail_msg("unresolved $ref %s", ref);
  return q;
}

/* Appends the required query parameters of params to query. */
static void add_required(json_t *params, char *query, size_t size) {
  size_t i;
  json_t *p;
  json_array_foreach(params, i, p) {
    json_t *q = resolve(p);
    if (strcmp(it_jstr(q, "in"), "query") != 0 ||
        !json_is_true(json_object_get(q, "required")))
      continue;
    const char *name = it_jstr(q, "name");
    const char *val = sample_param(name);
    if (val == NULL)
      fail_msg("no sample value for the required parameter %s", name);
    size_t n = strlen(query);
    snprintf(query + n, size - n, "%c%s=%s", n ? '&' : '?', name, val);
  }
}

/* Whether tpath is /v1/parties/{id}/agreements (whatever its parameter's
 * name). */
static int party_agreements(const char *tpath) {
  size_t n = strlen(tpath);
  return strncmp(tpath, "/v1/parties/{", 13) == 0 && n > 12 &&
         strcmp(tpath + n - 12, "}/agreements") == 0;
}

/* Makes a new object of coll (as the coordinator) for a write to act on;
 * its id into id, its reply document returned (caller decrefs). */
static json_t *fresh(const char *coll, char *id, size_t size) {
  static unsigned n;
  snprintf(id, size, "oa-%u", ++n);
  json_t *doc = strcmp(coll, "incidents") == 0 ? sample_incident(id)
                                               : it_new_doc(coll, id, NULL);
  char path[64];
  snprintf(path, sizeof path, "/v1/%s", coll);
  struct it_resp r;
  it_send(&g.srv, "POST", g.coord, path, doc, &r);
  json_decref(doc);
  if (r.status != 201)
    fail_msg("POST %s (to prepare a write): %s", path, it_show(&r));
  json_t *out = json_incref(r.json);
  it_resp_free(&r);
  return out;
}

/* A planned operation to check: an artillery strike on a scenario hospital
 * (site-ho_1004, Al-Sakhour). Caller decrefs. */
static json_t *sample_operation(void) {
  return it_js("{'kind':'artillery','geometry':{'type':'Point',"
               "'coordinates':[37.1928,36.2164]},'effect_radius_m':500,"
               "'from':'2030-01-01T00:00:00Z','to':'2030-01-01T01:00:00Z'}");
}

/* The reply of a real check (as the coordinator), for the verify route to
 * verify. Caller decrefs. */
static json_t *sample_check_reply(void) {
  json_t *op = sample_operation();
  struct it_resp r;
  it_send(&g.srv, "POST", g.coord, "/v1/checks", op, &r);
  json_decref(op);
  if (r.status != 200)
    fail_msg("POST /v1/checks (to verify its receipt): %s", it_show(&r));
  json_t *out = json_incref(r.json);
  it_resp_free(&r);
  return out;
}

/* Makes a new notification of coll (sites, movements) delivered to the
 * coordinator, so that the coordinator may acknowledge it; as fresh. */
static json_t *fresh_for_ack(const char *coll, char *id, size_t size) {
  static unsigned n;
  snprintf(id, size, "oa-ack-%u", ++n);
  json_t *doc = it_new_doc(coll, id, NULL);
  json_object_set_new(json_object_get(doc, "properties"), "recipients",
                      json_pack("[s]", "coordinator"));
  char path[64];
  snprintf(path, sizeof path, "/v1/%s", coll);
  struct it_resp r;
  it_send(&g.srv, "POST", g.coord, path, doc, &r);
  json_decref(doc);
  if (r.status != 201)
    fail_msg("POST %s (to prepare an acknowledgement): %s", path,
             it_show(&r));
  json_t *out = json_incref(r.json);
  it_resp_free(&r);
  return out;
}

/* ---- a small JSON Schema check (the OpenAPI 3.0 subset the doc uses) ---- */

/* A schema with $ref resolved (#/components/schemas/...). */
static json_t *schema_of(json_t *s) {
  for (int depth = 0; depth < 16; depth++) {
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    const char *prefix = "#/components/schemas/";
    if (ref == NULL)
      return s;
    if (strncmp(ref, prefix, strlen(prefix)) != 0)
      fail_msg("unsupported $ref %s", ref);
    s = json_object_get(
        json_object_get(json_object_get(g.doc, "components"), "schemas"),
        ref + strlen(prefix));
    if (s == NULL)
      fail_msg("unresolved $ref %s", ref);
  }
  fail_msg("$ref loop");
  return NULL;
}

/* Checks value v at where against schema s; prints each mismatch and
 * returns their number. */
static size_t check_schema(const json_t *v, json_t *s, const char *where) {
  s = schema_of(s);
  size_t bad = 0;
  char sub[512];
  size_t i;
  json_t *part;
  json_array_foreach(json_object_get(s, "allOf"), i, part) bad +=
      check_schema(v, part, where);
  json_t *alts = json_object_get(s, "oneOf");
  if (alts == NULL)
    alts = json_object_get(s, "anyOf");
  if (json_array_size(alts)) {
    int any = 0;
    json_array_foreach(alts, i, part) {
      if (check_schema_quiet(v, part) == 0)
        any = 1;
    }
    if (!any) {
      print_error("  %s: matches none of its alternatives\n", where);
      bad++;
    }
  }
  if (json_is_null(v)) {
    if (json_object_get(s, "type") &&
        !json_is_true(json_object_get(s, "nullable"))) {
      print_error("  %s: null, not nullable\n", where);
      bad++;
    }
    return bad;
  }
  const char *type = json_string_value(json_object_get(s, "type"));
  int ok = 1;
  if (type == NULL)
    ok = 1;
  else if (strcmp(type, "object") == 0)
    ok = json_is_object(v);
  else if (strcmp(type, "array") == 0)
    ok = json_is_array(v);
  else if (strcmp(type, "string") == 0)
    ok = json_is_string(v);
  else if (strcmp(type, "integer") == 0)
    ok = json_is_integer(v);
  else if (strcmp(type, "number") == 0)
    ok = json_is_number(v);
  else if (strcmp(type, "boolean") == 0)
    ok = json_is_boolean(v);
  if (!ok) {
    print_error("  %s: not of type %s\n", where, type);
    return bad + 1;
  }
  json_t *en = json_object_get(s, "enum");
  if (json_array_size(en)) {
    int found = 0;
    json_array_foreach(en, i, part) found |= json_equal(part, (json_t *)v);
    if (!found) {
      char *text = json_dumps(v, JSON_ENCODE_ANY);
      print_error("  %s: %s is not one of the enum\n", where,
                  text ? text : "?");
      free(text);
      bad++;
    }
  }
  json_t *min = json_object_get(s, "minimum");
  if (json_is_number(min) && json_is_number(v) &&
      json_number_value(v) < json_number_value(min)) {
    print_error("  %s: below its minimum\n", where);
    bad++;
  }
  if (json_is_object(v)) {
    json_array_foreach(json_object_get(s, "required"), i, part) {
      const char *name = json_string_value(part);
      if (name && json_object_get(v, name) == NULL) {
        print_error("  %s: required member \"%s\" missing\n", where, name);
        bad++;
      }
    }
    json_t *props = json_object_get(s, "properties");
    json_t *extra = json_object_get(s, "additionalProperties");
    const char *key;
    json_t *mv;
    json_object_foreach((json_t *)v, key, mv) {
      json_t *ps = json_object_get(props, key);
      snprintf(sub, sizeof sub, "%s.%s", where, key);
      if (ps)
        bad += check_schema(mv, ps, sub);
      else if (json_is_false(extra)) {
        print_error("  %s: not allowed (additionalProperties false)\n", sub);
        bad++;
      } else if (json_is_object(extra))
        bad += check_schema(mv, extra, sub);
    }
  }
  if (json_is_array(v)) {
    json_t *items = json_object_get(s, "items");
    json_t *item;
    json_array_foreach((json_t *)v, i, item) {
      snprintf(sub, sizeof sub, "%s[%zu]", where, i);
      if (items)
        bad += check_schema(item, items, sub);
    }
  }
  return bad;
}

/* check_schema without printing: for alternatives. */
static size_t check_schema_quiet(const json_t *v, json_t *s) {
  /* cmocka's print_error goes to stderr: silence it around the check. */
  fflush(stderr);
  int saved = dup(2);
  FILE *null = fopen("/dev/null", "w");
  if (null)
    dup2(fileno(null), 2);
  size_t bad = check_schema(v, s, "");
  fflush(stderr);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
  if (null)
    fclose(null);
  return bad;
}

/* The documented response of op for status code ($ref resolved), or
 * NULL. */
static json_t *reply_doc(json_t *op, const char *code) {
  json_t *resp = json_object_get(json_object_get(op, "responses"), code);
  const char *ref = json_string_value(json_object_get(resp, "$ref"));
  const char *prefix = "#/components/responses/";
  if (ref && strncmp(ref, prefix, strlen(prefix)) == 0)
    resp = json_object_get(
        json_object_get(json_object_get(g.doc, "components"), "responses"),
        ref + strlen(prefix));
  return resp;
}

/* The JSON schema of op's response for status code, or NULL (none, or
 * not JSON: the metrics). */
static json_t *reply_schema(json_t *op, const char *code) {
  return json_object_get(
      json_object_get(json_object_get(reply_doc(op, code), "content"),
                      "application/json"),
      "schema");
}

/* Checks reply r against the documented response of op for its status:
 * documented at all, and its JSON body matching the schema. Returns the
 * number of mismatches (printed). */
static size_t check_reply(const char *what, json_t *op,
                          const struct it_resp *r) {
  char code[8];
  snprintf(code, sizeof code, "%ld", r->status);
  if (reply_doc(op, code) == NULL) {
    print_error("%s: status %ld is not documented\n", what, r->status);
    return 1;
  }
  json_t *schema = reply_schema(op, code);
  if (schema == NULL)
    return 0; /* text (metrics) or no body */
  /* A response documented with several content types (the dashboard's
   * files): one of its text types that the reply declares needs no JSON. */
  const char *ct = r->headers ? strcasestr(r->headers, "content-type: ") : NULL;
  json_t *content = json_object_get(reply_doc(op, code), "content");
  const char *type;
  json_t *v;
  json_object_foreach(content, type, v) {
    if (ct && strcmp(type, "application/json") != 0 &&
        strncasecmp(ct + 14, type, strlen(type)) == 0)
      return 0;
  }
  if (r->json == NULL) {
    print_error("%s: a %ld reply that is not JSON\n", what, r->status);
    return 1;
  }
  size_t bad = check_schema(r->json, schema, "reply");
  if (bad)
    print_error("%s: the %ld reply differs from docs/openapi.json (above)\n",
                what, r->status);
  return bad;
}

/* Calls method path once; returns 0 when the status is a documented 2xx
 * one and the reply matches its schema, else prints why and returns 1. */
/* Whether op answers 200 with an event stream (GET /v1/alerts/stream). */
static int is_event_stream(json_t *op) {
  json_t *ok = json_object_get(json_object_get(op, "responses"), "200");
  return json_object_get(json_object_get(ok, "content"),
                         "text/event-stream") != NULL;
}

/* An event stream as documented: 200, text/event-stream, and a first
 * event `open` whose data is a JSON object. Returns 1 when it is so. */
static int stream_once(const char *path) {
  struct it_sse c;
  struct it_sse_req q = {.path = path, .token = g.coord};
  long st = it_sse_open(&g.srv, &q, &c);
  int ok = 0;
  if (st != 200 || c.resp.headers == NULL ||
      strcasestr(c.resp.headers, "text/event-stream") == NULL) {
    print_error("GET %s: %s (expected 200 text/event-stream)\n", path,
                it_show(&c.resp));
  } else {
    struct it_sse_event ev;
    if (it_sse_next(&c, &ev, 10000) != 1) {
      print_error("GET %s: no event within 10 s\n", path);
    } else {
      ok = strcmp(ev.type, "open") == 0 && json_is_object(ev.json);
      if (!ok)
        print_error("GET %s: first event \"%s\", not open with a JSON "
                    "object\n",
                    path, ev.type);
      it_sse_event_free(&ev);
    }
  }
  it_sse_close(&c);
  return ok;
}

static int call_once(const char *method, const char *tpath, json_t *op,
                     json_t *item) {
  char coll[64] = "", path[512], query[256] = "", id[64] = "", ifm[32] = "";
  char *body = NULL;
  /* The collection: the segment after /v1/. */
  if (strncmp(tpath, "/v1/", 4) == 0)
    sscanf(tpath + 4, "%63[^/{?]", coll);
  else if (strncmp(tpath, "/ui/", 4) == 0)
    snprintf(coll, sizeof coll, "ui");
  const char *brace = strchr(tpath, '{');
  if (brace && strcmp(coll, "tokens") == 0) {
    /* DELETE /v1/tokens/{id}: a token made for it. */
    struct it_resp r;
    json_t *t = it_js("{'party':'sna','role':'party'}");
    it_send(&g.srv, "POST", g.coord, "/v1/tokens", t, &r);
    json_decref(t);
    snprintf(id, sizeof id, "%s", it_jstr(r.json, "id"));
    it_resp_free(&r);
  } else if (brace && strcmp(method, "get") == 0) {
    /* The government at the time of the 2016 cessation of hostilities:
     * agreements with their coverage to check. */
    const char *s = party_agreements(tpath) ? "syr-gov" : sample_id(coll);
    if (s == NULL)
      fail_msg("no sample id for %s", tpath);
    snprintf(id, sizeof id, "%s", s);
  } else if (brace) {
    /* A write acting on an object: a fresh one (an acknowledgement: one
     * delivered to the coordinator). */
    int ack = strstr(tpath, "}/ack") != NULL;
    json_t *obj = ack ? fresh_for_ack(coll, id, sizeof id)
                      : fresh(coll, id, sizeof id);
    int64_t v = it_version(obj);
    snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)v);
    if (ack) {
      json_t *b = json_pack("{s:I}", "version", (json_int_t)v);
      body = json_dumps(b, JSON_COMPACT);
      json_decref(b);
    } else if (strstr(tpath, "/phase")) {
      json_t *b = json_pack("{s:s,s:I}", "phase", "established", "version",
                            (json_int_t)v);
      body = json_dumps(b, JSON_COMPACT);
      json_decref(b);
    } else if (strcmp(method, "put") == 0 && strcmp(coll, "incidents") == 0) {
      /* An incident has no name: a correction of its notes. */
      json_object_set_new(json_object_get(obj, "properties"), "notes",
                          json_string("Corrected by test-openapi"));
      json_object_del(obj, "adjudication");
      body = json_dumps(obj, JSON_COMPACT);
    } else if (strcmp(method, "put") == 0) {
      it_doc_rename(obj, "Renamed by test-openapi");
      body = json_dumps(obj, JSON_COMPACT);
    }
    json_decref(obj);
  } else if (strcmp(method, "post") == 0) {
    json_t *b;
    if (strcmp(coll, "tokens") == 0) {
      b = it_js("{'party':'sna','role':'party','label':'openapi'}");
    } else if (strcmp(tpath, "/v1/checks") == 0) {
      b = sample_operation();
    } else if (strcmp(tpath, "/v1/checks/verify") == 0) {
      /* A real receipt: the whole reply of a check made for it. */
      b = sample_check_reply();
    } else if (strcmp(tpath, "/v1/adjudications") == 0) {
      b = it_js("{'incidents':['oa-incident']}");
    } else if (strcmp(tpath, "/v1/reviews") == 0) {
      /* The coordinator assesses the violation of setup's incident. */
      b = it_js("{'incident':'oa-incident','agreement':'coh-2016',"
                "'step':'assess','outcome':'confirmed','text':'Confirmed "
                "by two sources'}");
    } else if (strcmp(tpath, "/v1/sieges/scan") == 0) {
      b = it_js("{}");
    } else if (strcmp(coll, "incidents") == 0) {
      char nid[32];
      static unsigned ni;
      snprintf(nid, sizeof nid, "oa-new-incident-%u", ++ni);
      b = sample_incident(nid);
    } else {
      char nid[32];
      static unsigned n;
      snprintf(nid, sizeof nid, "oa-new-%u", ++n);
      b = it_new_doc(coll, nid, NULL);
    }
    body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
  }
  /* The path with its parameter, and the required query parameters. */
  if (brace) {
    const char *close = strchr(brace, '}');
    snprintf(path, sizeof path, "%.*s%s%s", (int)(brace - tpath), tpath, id,
             close ? close + 1 : "");
  } else {
    snprintf(path, sizeof path, "%s", tpath);
  }
  add_required(json_object_get(item, "parameters"), query, sizeof query);
  add_required(json_object_get(op, "parameters"), query, sizeof query);
  if (party_agreements(tpath)) {
    size_t qn = strlen(query);
    snprintf(query + qn, sizeof query - qn, "%cat=2016-03-01", qn ? '&' : '?');
  }
  size_t n = strlen(path);
  snprintf(path + n, sizeof path - n, "%s", query);

  char upper[16];
  size_t i;
  for (i = 0; method[i] && i + 1 < sizeof upper; i++)
    upper[i] = (char)toupper((unsigned char)method[i]);
  upper[i] = '\0';
  char what[600];
  snprintf(what, sizeof what, "%s %s", upper, path);
  struct it_resp r;
  long st;
  if (is_event_stream(op)) {
    free(body);
    if (!stream_once(path))
      return 1;
  } else {
    struct it_req q = {.method = upper,
                       .path = path,
                       .token = g.coord,
                       .body = body,
                       /* PUT names its version in the body as well; the
                        * header too since a movement's properties.version
                        * is not read (BUG, test-checks.c). */
                       .if_match = strcmp(upper, "DELETE") == 0 ||
                                           strcmp(upper, "PUT") == 0
                                       ? ifm
                                       : NULL};
    st = it_http(&g.srv, &q, &r);
    free(body);
    char code[8];
    snprintf(code, sizeof code, "%ld", st);
    json_t *responses = json_object_get(op, "responses");
    int ok = st >= 200 && st < 300 && json_object_get(responses, code) != NULL;
    if (!ok)
      print_error("%s %s: %s%s\n", upper, path, it_show(&r),
                  st == 404 || st == 405 ? " (no such route?)"
                                         : " (not a documented 2xx status)");
    size_t bad = ok ? check_reply(what, op, &r) : 0;
    it_resp_free(&r);
    if (!ok || bad)
      return 1;
  }
  /* The same without credentials: 401 as documented (/healthz and the
   * dashboard's files: 200). */
  struct it_req anon = {.method = upper, .path = path, .src = it_fresh_src()};
  st = it_http(&g.srv, &anon, &r);
  size_t bad = 0;
  int open = strcmp(tpath, "/healthz") == 0 || strcmp(tpath, "/") == 0 ||
             strncmp(tpath, "/ui/", 4) == 0;
  if (!open && (st != 401 || check_reply(what, op, &r) != 0)) {
    print_error("%s without a token: %s (expected a documented 401)\n", what,
                it_show(&r));
    bad++;
  }
  it_resp_free(&r);
  return bad != 0;
}

static void test_every_operation(void **state) {
  (void)state;
  size_t calls = 0, bad = 0;
  /* Reads first, then creations, updates and deletions. */
  static const char *const order[] = {"get", "post", "put", "delete", "patch"};
  for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(g.doc, "paths"), path, item) {
      json_t *op = json_object_get(item, order[o]);
      if (op == NULL)
        continue;
      calls++;
      bad += call_once(order[o], path, op, item);
    }
  }
  print_message("operations called: %zu, failed: %zu\n", calls, bad);
  if (bad)
    fail_msg("%zu of %zu documented operations did not answer as documented",
             bad, calls);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_served),
      cmocka_unit_test(test_routes_match),
      cmocka_unit_test(test_every_operation),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  it_http_cleanup();
  if (failed == 0)
    it_rm_tree(g.work);
  return failed;
}
