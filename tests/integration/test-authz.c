/*
 * test-authz.c — who may do what through the HTTP API (docs/api.md,
 * "Authentication" and "Need-to-know"), against a real `haven serve` on
 * the bundled scenario.
 *
 * 1. The authorization matrix: every route of docs/api.md × every kind of
 *    caller — coordinator, party (sna), agency writing a site it notified
 *    (ocha) and one notified by another agency (icrc), monitor, and no,
 *    malformed, unknown or revoked token — gives the status the contract
 *    says. One row per case; every failing row is printed. A denied write
 *    changes nothing; an allowed one is recorded in the ledger under the
 *    caller's party.
 * 2. Need-to-know on protected sites: who gets the coordinates (object,
 *    collection, bbox filter, /v1/query/near, history) and who gets the
 *    site with "geometry": null.
 * 3. The ledger as each caller sees it: every entry listed, bodies of
 *    tokens and of sites the caller may not locate withheld, and the copy
 *    still verifies (hv_ledger_verify_export).
 * 4. Tokens: listed for the coordinator only and never with a hash; a
 *    token made through the API works until it is revoked through it.
 *
 * Failed authentications made on purpose come from addresses of their own
 * (it_fresh_src) so that they stay under the per-address limit, which
 * test-api checks.
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

#include <haven/haven.h>

#include "harness.h"

/* ---- callers ------------------------------------------------------------ */

enum who {
  W_COORD,
  W_PARTY,   /* sna, an armed group */
  W_AGENCY,  /* ocha: notified every scenario site */
  W_AGENCY2, /* icrc: another agency */
  W_MONITOR, /* unmo, a monitor party made for the test */
  W_NONE,    /* no Authorization header */
  W_MALFORMED,
  W_UNKNOWN,
  W_REVOKED,
  W_PARTY2, /* syr-gov: only in the need-to-know checks */
  W_N
};
#define W_MATRIX W_PARTY2 /* the callers of the matrix: W_COORD..W_REVOKED */

static const char *const WHO_NAME[W_N] = {
    "coordinator",   "party(sna)",    "agency(ocha)",    "agency(icrc)",
    "monitor(unmo)", "no token",      "malformed token", "unknown token",
    "revoked token", "party(syr-gov)"};
static const char *const WHO_PARTY[W_N] = {
    "coordinator", "sna", "ocha", "icrc", "unmo",
    NULL,          NULL,  NULL,   NULL,   "syr-gov"};

static struct {
  char work[1024], data[1100];
  struct it_server srv;
  char token[W_N][64];
  const char *auth[W_N]; /* whole Authorization values for bad tokens */
} g;

/* The request of caller w: its token, or its bad Authorization header
 * from an address of its own (four failures per address). */
static void as(enum who w, struct it_req *q) {
  static unsigned bad_uses;
  static const char *src;
  q->token = g.token[w][0] ? g.token[w] : NULL;
  q->auth = g.auth[w];
  if (w >= W_NONE && w <= W_REVOKED) {
    if (src == NULL || bad_uses++ % 4 == 0)
      src = it_fresh_src();
    q->src = src;
  }
}

static const char *coord(void) { return g.token[W_COORD]; }

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "authz");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  it_put(
      g.data, "party",
      "{'id':'unmo','name':'UN monitoring mission (test)','kind':'monitor'}");
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.token[W_COORD], id);
  it_token_create(g.data, "sna", "party", g.token[W_PARTY], id);
  it_token_create(g.data, "syr-gov", "party", g.token[W_PARTY2], id);
  it_token_create(g.data, "ocha", "agency", g.token[W_AGENCY], id);
  it_token_create(g.data, "icrc", "agency", g.token[W_AGENCY2], id);
  it_token_create(g.data, "unmo", "monitor", g.token[W_MONITOR], id);
  it_token_create(g.data, "sna", "party", g.token[W_REVOKED], id);
  it_token_revoke(g.data, id);
  g.auth[W_MALFORMED] = "Bearer not-a-token";
  g.auth[W_UNKNOWN] =
      "Bearer hv1.0123456789ab.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  it_server_start(&g.srv, g.data, g.work, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  return 0;
}

/* ---- failures, collected so that every failing row is printed ---------- */

static char *g_fail;
static size_t g_fail_len, g_n_fail;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...) {
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t n = strlen(line);
  char *p = realloc(g_fail, g_fail_len + n + 2);
  assert_non_null(p);
  g_fail = p;
  memcpy(g_fail + g_fail_len, line, n);
  g_fail[g_fail_len + n] = '\n';
  g_fail[g_fail_len + n + 1] = '\0';
  g_fail_len += n + 1;
  g_n_fail++;
}

/* Fails the test when failures were collected, printing them all. */
static void report(const char *what, size_t cases) {
  print_message("%s: %zu cases, %zu failed\n", what, cases, g_n_fail);
  if (g_n_fail) {
    print_error("%s", g_fail);
    size_t n = g_n_fail;
    free(g_fail);
    g_fail = NULL;
    g_fail_len = g_n_fail = 0;
    fail_msg("%s: %zu of %zu cases failed (listed above)", what, n, cases);
  }
}

/* ---- 1. the matrix ------------------------------------------------------- */

/* Who may call a route (docs/api.md, Routes). */
enum access {
  A_PUBLIC,     /* anyone, even without a token (/healthz) */
  A_READ,       /* any authenticated caller */
  A_COORD,      /* the coordinator only */
  A_SITES,      /* the coordinator, and the agency that notifies the site */
  A_SITES_MOVE, /* the coordinator only: an agency handing its site over */
};

/* What a row prepares before the request. */
enum setup {
  S_NONE,
  S_FRESH, /* a new object of the row's collection, as the coordinator */
  S_TOKEN, /* a new token, as the coordinator */
};

/* The request's body. */
enum body {
  B_NONE,
  B_NEW,    /* a new object of the collection (POST) */
  B_UPDATE, /* the fresh object renamed, with its version (PUT) */
  B_MOVE,   /* the fresh site with notified_by changed to icrc (PUT) */
  B_PHASE,  /* {"phase": "established", "version": V} */
  B_TOKEN,  /* {"party": "sna", "role": "party"} */
};

struct row {
  const char *method;
  const char *path; /* "{id}" is replaced by the prepared object's id */
  const char *coll; /* the collection of S_FRESH and B_NEW */
  enum setup setup;
  enum body body;
  enum access access;
  long ok;           /* status when allowed */
  const char *owner; /* notified_by of the sites made (NULL: ocha) */
};

#define READS(coll, sample)                                                     \
  {"GET", "/v1/" coll, NULL, S_NONE, B_NONE, A_READ, 200, NULL},                \
      {"GET", "/v1/" coll "/" sample, NULL, S_NONE, B_NONE, A_READ, 200, NULL}, \
  {                                                                             \
    "GET", "/v1/" coll "/" sample "/history", NULL, S_NONE, B_NONE, A_READ,     \
        200, NULL                                                               \
  }
#define WRITES(coll, access, owner)                                              \
  {"POST", "/v1/" coll, coll, S_NONE, B_NEW, access, 201, owner},                \
      {"PUT", "/v1/" coll "/{id}", coll, S_FRESH, B_UPDATE, access, 200, owner}, \
  {                                                                              \
    "DELETE", "/v1/" coll "/{id}", coll, S_FRESH, B_NONE, access, 200, owner     \
  }

static const struct row ROWS[] = {
    {"GET", "/healthz", NULL, S_NONE, B_NONE, A_PUBLIC, 200, NULL},
    {"GET", "/metrics", NULL, S_NONE, B_NONE, A_READ, 200, NULL},
    {"GET", "/openapi.json", NULL, S_NONE, B_NONE, A_READ, 200, NULL},
    READS("parties", "sna"),
    WRITES("parties", A_COORD, NULL),
    READS("agreements", "coh-2016"),
    WRITES("agreements", A_COORD, NULL),
    READS("zones", "astana-idlib"),
    WRITES("zones", A_COORD, NULL),
    {"POST", "/v1/zones/{id}/phase", "zones", S_FRESH, B_PHASE, A_COORD, 200,
     NULL},
    READS("corridors", "castello-road"),
    WRITES("corridors", A_COORD, NULL),
    READS("sites", "site-ru_1582"),
    /* Sites notified by ocha: ocha's own, icrc's other's; and the other
     * way round. */
    WRITES("sites", A_SITES, "ocha"),
    WRITES("sites", A_SITES, "icrc"),
    {"PUT", "/v1/sites/{id}", "sites", S_FRESH, B_MOVE, A_SITES_MOVE, 200,
     "ocha"},
    READS("delineations", "del-2016-sdf-al-hasakeh"),
    WRITES("delineations", A_COORD, NULL),
    READS("areas", "sy07"),
    WRITES("areas", A_COORD, NULL),
    {"GET", "/v1/query/zones?lon=36.633&lat=35.930&at=2017-06-01", NULL, S_NONE,
     B_NONE, A_READ, 200, NULL},
    {"GET", "/v1/query/near?lon=37.0499&lat=36.5866&distance_m=2000", NULL,
     S_NONE, B_NONE, A_READ, 200, NULL},
    {"GET", "/v1/parties/sna/sponsors", NULL, S_NONE, B_NONE, A_READ, 200,
     NULL},
    {"GET", "/v1/parties/syr-gov/agreements?at=2016-03-01", NULL, S_NONE,
     B_NONE, A_READ, 200, NULL},
    {"GET", "/v1/ledger?limit=5", NULL, S_NONE, B_NONE, A_READ, 200, NULL},
    {"GET", "/v1/ledger/verify", NULL, S_NONE, B_NONE, A_READ, 200, NULL},
    {"GET", "/v1/tokens", NULL, S_NONE, B_NONE, A_COORD, 200, NULL},
    {"POST", "/v1/tokens", NULL, S_NONE, B_TOKEN, A_COORD, 201, NULL},
    {"DELETE", "/v1/tokens/{id}", NULL, S_TOKEN, B_NONE, A_COORD, 200, NULL},
};

static long expected(const struct row *r, enum who w) {
  if (r->access == A_PUBLIC)
    return r->ok;
  if (w >= W_NONE)
    return 401;
  if (w == W_COORD || r->access == A_READ)
    return r->ok;
  if (r->access == A_SITES && (w == W_AGENCY || w == W_AGENCY2) &&
      strcmp(WHO_PARTY[w], r->owner ? r->owner : "ocha") == 0)
    return r->ok;
  return 403;
}

/* The id for the next object a row makes. */
static const char *next_id(const char *prefix) {
  static char buf[48];
  static unsigned n;
  snprintf(buf, sizeof buf, "%s-%u", prefix, ++n);
  return buf;
}

/* path with "{id}" replaced by id into buf. */
static void subst(char *buf, size_t size, const char *path, const char *id) {
  const char *p = strstr(path, "{id}");
  if (p == NULL)
    snprintf(buf, size, "%s", path);
  else
    snprintf(buf, size, "%.*s%s%s", (int)(p - path), path, id, p + 4);
}

/* The coordinator's view of /v1/coll/id: its status and version. */
static long peek(const char *coll, const char *id, int64_t *version) {
  char path[256];
  snprintf(path, sizeof path, "/v1/%s/%s", coll, id);
  struct it_resp r;
  long st = it_get(&g.srv, coord(), path, &r);
  *version = it_version(r.json);
  it_resp_free(&r);
  return st;
}

/* The author of the last ledger entry that wrote coll/id (coordinator's
 * view of its history), into buf; "" when there is none. */
static void last_author(const char *coll, const char *id, char *buf,
                        size_t size) {
  char path[256];
  snprintf(path, sizeof path, "/v1/%s/%s/history", coll, id);
  struct it_resp r;
  it_get(&g.srv, coord(), path, &r);
  json_t *items = json_object_get(r.json, "items");
  if (items == NULL && json_is_array(r.json))
    items = r.json;
  size_t n = json_array_size(items);
  const char *a = n ? json_string_value(json_object_get(
                          json_array_get(items, n - 1), "author"))
                    : NULL;
  snprintf(buf, size, "%s", a ? a : "");
  it_resp_free(&r);
}

/* Whether token tid is marked revoked in GET /v1/tokens; -1 when absent. */
static int token_revoked(const char *tid) {
  struct it_resp r;
  it_get(&g.srv, coord(), "/v1/tokens?limit=1000", &r);
  int out = -1;
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(r.json, "items"), i, t) {
    if (strcmp(it_jstr(t, "id"), tid) == 0)
      out = json_is_true(json_object_get(t, "revoked"));
  }
  it_resp_free(&r);
  return out;
}

/* Runs row r as caller w; adds a failure line when it goes wrong. */
static void run_row(const struct row *r, enum who w) {
  char id[64] = "", path[512], label[700], ifm[32];
  int64_t version = 0;
  json_t *body = NULL;
  const char *coll = r->coll;
  const char *owner = r->owner ? r->owner : "ocha";

  if (r->setup == S_FRESH) {
    snprintf(id, sizeof id, "%s", next_id("az"));
    json_t *doc = it_new_doc(coll, id, owner);
    struct it_resp c;
    char cpath[128];
    snprintf(cpath, sizeof cpath, "/v1/%s", coll);
    it_send(&g.srv, "POST", coord(), cpath, doc, &c);
    json_decref(doc);
    version = it_version(c.json);
    if (c.status != 201 || version <= 0) {
      failf("%s %s as %s: setup: POST %s as coordinator: %s (version %lld)",
            r->method, r->path, WHO_NAME[w], cpath, it_show(&c),
            (long long)version);
      it_resp_free(&c);
      return;
    }
    if (r->body == B_UPDATE || r->body == B_MOVE) {
      body = json_deep_copy(c.json);
      it_doc_rename(body, "Renamed by the authz matrix");
      it_doc_set_version(body, version);
      if (r->body == B_MOVE)
        json_object_set_new(json_object_get(body, "properties"), "notified_by",
                            json_string("icrc"));
    }
    it_resp_free(&c);
  } else if (r->setup == S_TOKEN) {
    struct it_resp c;
    json_t *doc = it_js("{'party':'sna','role':'party','label':'authz'}");
    it_send(&g.srv, "POST", coord(), "/v1/tokens", doc, &c);
    json_decref(doc);
    const char *tid = json_string_value(json_object_get(c.json, "id"));
    if (c.status != 201 || tid == NULL) {
      failf("%s %s as %s: setup: POST /v1/tokens as coordinator: %s", r->method,
            r->path, WHO_NAME[w], it_show(&c));
      it_resp_free(&c);
      return;
    }
    snprintf(id, sizeof id, "%s", tid);
    it_resp_free(&c);
  }
  if (r->body == B_NEW) {
    snprintf(id, sizeof id, "%s", next_id("az-new"));
    body = it_new_doc(coll, id, owner);
  } else if (r->body == B_PHASE) {
    body = json_pack("{s:s,s:I}", "phase", "established", "version",
                     (json_int_t)version);
  } else if (r->body == B_TOKEN) {
    body = it_js("{'party':'sna','role':'party','label':'authz'}");
  }

  subst(path, sizeof path, r->path, id);
  snprintf(label, sizeof label, "%-6s %-50s as %-15s%s%s", r->method, path,
           WHO_NAME[w],
           r->coll && !strcmp(r->coll, "sites") ? " site notified by " : "",
           r->coll && !strcmp(r->coll, "sites") ? owner : "");
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  struct it_req q = {.method = r->method, .path = path, .body = text};
  as(w, &q);
  if (strcmp(r->method, "DELETE") == 0 && r->setup == S_FRESH) {
    snprintf(ifm, sizeof ifm, "\"%lld\"", (long long)version);
    q.if_match = ifm;
  }
  struct it_resp resp;
  long st = it_http(&g.srv, &q, &resp);
  long want = expected(r, w);
  free(text);
  json_decref(body);
  if (st != want) {
    failf("%s: expected %ld, got %s", label, want, it_show(&resp));
    it_resp_free(&resp);
    return;
  }
  if (st >= 400 && it_err_shape(&resp))
    failf("%s: %ld reply: %s: %s", label, st, it_err_shape(&resp),
          it_show(&resp));
  if ((st == 401 && strcmp(it_err_code(&resp), "unauthenticated") != 0) ||
      (st == 403 && strcmp(it_err_code(&resp), "forbidden") != 0))
    failf("%s: wrong error code: %s", label, it_show(&resp));
  it_resp_free(&resp);

  /* A denied write changed nothing; an allowed one names its author. */
  int64_t v2 = 0;
  long now;
  char author[64];
  int denied = st == 401 || st == 403;
  if (strcmp(r->method, "GET") == 0)
    return;
  if (r->setup == S_TOKEN) {
    int rev = token_revoked(id);
    if (rev != !denied)
      failf("%s: token %s revoked is %d afterwards, expected %d", label, id,
            rev, !denied);
    return;
  }
  if (r->body == B_TOKEN)
    return;
  now = peek(coll, id, &v2);
  if (denied) {
    int64_t want_v = r->setup == S_FRESH ? version : 0;
    long want_st = r->setup == S_FRESH ? 200 : 404;
    if (now != want_st || v2 != want_v)
      failf("%s: denied, yet the object changed: now %ld version %lld "
            "(expected %ld version %lld)",
            label, now, (long long)v2, want_st, (long long)want_v);
    return;
  }
  if (strcmp(r->method, "DELETE") == 0) {
    if (now != 404)
      failf("%s: deleted, yet GET gives %ld", label, now);
    return;
  }
  if (now != 200 || v2 != (r->setup == S_FRESH ? version + 1 : 1))
    failf("%s: written, yet GET gives %ld version %lld", label, now,
          (long long)v2);
  last_author(coll, id, author, sizeof author);
  if (strcmp(author, WHO_PARTY[w]) != 0)
    failf("%s: the ledger names \"%s\" as the author, expected \"%s\"", label,
          author, WHO_PARTY[w]);
}

static void test_matrix(void **state) {
  (void)state;
  size_t cases = 0;
  for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
    for (int w = 0; w < W_MATRIX; w++) {
      run_row(&ROWS[i], (enum who)w);
      cases++;
    }
  }
  report("authorization matrix", cases);
}

/* ---- 2. need-to-know on sites ------------------------------------------- */

/* Sites and where they are; made in test_sites (except the scenario's). */
struct site {
  const char *id;
  double lon, lat;
  const char *notified_by;
  const char *recipients; /* JSON array text, NULL: none */
  const char *full;         /* callers that locate it: a string of W_ */
};

/* F = full view, R = redacted, in WHO order up to W_PARTY2 (whose letter
 * is the last): coord, sna, ocha, icrc, unmo, -, -, -, -, syr-gov. */
static const struct site SITES[] = {
    {"site-ru_1582", 37.049911, 36.584381, "ocha", NULL, "FRFRR----R"},
    {"nk-sna", 38.50, 34.50, "ocha", "[\"sna\"]", "FFFRR----R"},
    {"nk-all", 38.60, 34.60, "ocha", "[\"*\"]", "FFFFF----F"},
    {"nk-icrc", 38.70, 34.70, "ocha", "[\"icrc\"]", "FRFFR----R"},
    {"nk-byicrc", 38.80, 34.80, "icrc", NULL, "FRRFR----R"},
};
#define N_SITES (sizeof SITES / sizeof SITES[0])

static const enum who READERS[] = {W_COORD,  W_PARTY,   W_PARTY2,
                                   W_AGENCY, W_AGENCY2, W_MONITOR};
#define N_READERS (sizeof READERS / sizeof READERS[0])

static int locates(const struct site *s, enum who w) {
  return s->full[w] == 'F';
}

/* Checks one site document as seen by w. */
static void check_site_doc(const char *where, const struct site *s, enum who w,
                           const json_t *doc) {
  json_t *geom = json_object_get(doc, "geometry");
  json_t *props = json_object_get(doc, "properties");
  if (!json_is_object(props) ||
      json_string_value(json_object_get(props, "name")) == NULL) {
    failf("%s: site %s as %s: no properties.name", where, s->id, WHO_NAME[w]);
    return;
  }
  if (locates(s, w)) {
    json_t *c = json_object_get(geom, "coordinates");
    double lon = json_number_value(json_array_get(c, 0));
    double lat = json_number_value(json_array_get(c, 1));
    if (fabs(lon - s->lon) > 1e-6 || fabs(lat - s->lat) > 1e-6)
      failf("%s: site %s as %s: expected its coordinates [%g, %g]", where,
            s->id, WHO_NAME[w], s->lon, s->lat);
  } else {
    if (geom == NULL || !json_is_null(geom))
      failf("%s: site %s as %s: expected \"geometry\": null (not disclosed)",
            where, s->id, WHO_NAME[w]);
    char *text = json_dumps(doc, JSON_COMPACT);
    char lon[32];
    snprintf(lon, sizeof lon, "%.4f", s->lon);
    if (text && strstr(text, lon))
      failf("%s: site %s as %s: its longitude %s appears in the redacted "
            "site: %s",
            where, s->id, WHO_NAME[w], lon, text);
    free(text);
  }
}

/* Whether the JSON items of reply r hold an item with id (and kind, when
 * kind is non-NULL). */
static int has_item(const struct it_resp *r, const char *id, const char *kind) {
  size_t i;
  json_t *it;
  json_array_foreach(json_object_get(r->json, "items"), i, it) {
    const char *iid = json_string_value(json_object_get(it, "id"));
    const char *ik = json_string_value(json_object_get(it, "kind"));
    if (iid && strcmp(iid, id) == 0 && (!kind || (ik && !strcmp(ik, kind))))
      return 1;
  }
  return 0;
}

static void make_sites(void) {
  for (size_t i = 1; i < N_SITES; i++) {
    const struct site *s = &SITES[i];
    json_t *doc = it_new_doc("sites", s->id, s->notified_by);
    json_t *props = json_object_get(doc, "properties");
    json_object_set_new(doc, "geometry",
                        json_pack("{s:s,s:[f,f]}", "type", "Point",
                                  "coordinates", s->lon, s->lat));
    if (s->recipients) {
      json_error_t jerr;
      json_object_set_new(props, "recipients",
                          json_loads(s->recipients, 0, &jerr));
    }
    /* An agency notifies its own sites; the coordinator may too. */
    const char *token =
        strcmp(s->notified_by, "icrc") == 0 ? g.token[W_AGENCY2] : coord();
    if (i == 1)
      token = g.token[W_AGENCY];
    struct it_resp r;
    it_send(&g.srv, "POST", token, "/v1/sites", doc, &r);
    json_decref(doc);
    if (r.status != 201)
      fail_msg("POST /v1/sites %s: %s", s->id, it_show(&r));
    it_resp_free(&r);
  }
}

static void test_sites(void **state) {
  (void)state;
  make_sites();
  size_t cases = 0;
  char path[256];
  struct it_resp r;
  for (size_t k = 0; k < N_READERS; k++) {
    enum who w = READERS[k];
    const char *tok = g.token[w];
    /* The collection: every site listed, located or not. */
    it_get(&g.srv, tok, "/v1/sites?limit=1000", &r);
    cases++;
    if (r.status != 200)
      failf("GET /v1/sites as %s: %s", WHO_NAME[w], it_show(&r));
    for (size_t i = 0; i < N_SITES; i++) {
      const struct site *s = &SITES[i];
      size_t j;
      json_t *it, *found = NULL;
      json_array_foreach(json_object_get(r.json, "items"), j, it) {
        if (strcmp(it_jstr(it, "id"), s->id) == 0)
          found = it;
      }
      cases++;
      if (found == NULL)
        failf("GET /v1/sites as %s: site %s is not listed", WHO_NAME[w], s->id);
      else
        check_site_doc("GET /v1/sites", s, w, found);
    }
    it_resp_free(&r);

    for (size_t i = 0; i < N_SITES; i++) {
      const struct site *s = &SITES[i];
      /* The object. */
      snprintf(path, sizeof path, "/v1/sites/%s", s->id);
      it_get(&g.srv, tok, path, &r);
      cases++;
      if (r.status != 200)
        failf("GET %s as %s: %s", path, WHO_NAME[w], it_show(&r));
      else
        check_site_doc("GET /v1/sites/{id}", s, w, r.json);
      it_resp_free(&r);

      /* The bbox filter finds it only for those who may locate it. */
      snprintf(path, sizeof path, "/v1/sites?bbox=%.4f,%.4f,%.4f,%.4f",
               s->lon - 0.01, s->lat - 0.01, s->lon + 0.01, s->lat + 0.01);
      it_get(&g.srv, tok, path, &r);
      cases++;
      if (r.status != 200 || has_item(&r, s->id, NULL) != locates(s, w))
        failf("GET %s as %s: site %s should %sbe found: %s", path, WHO_NAME[w],
              s->id, locates(s, w) ? "" : "not ", it_show(&r));
      it_resp_free(&r);

      /* /v1/query/near likewise. */
      snprintf(path, sizeof path,
               "/v1/query/near?lon=%.6f&lat=%.6f&distance_m=1000", s->lon,
               s->lat);
      it_get(&g.srv, tok, path, &r);
      cases++;
      if (r.status != 200 || has_item(&r, s->id, "site") != locates(s, w))
        failf("GET %s as %s: site %s should %sbe among the items: %s", path,
              WHO_NAME[w], s->id, locates(s, w) ? "" : "not ", it_show(&r));
      it_resp_free(&r);

      /* Its history: every entry listed, bodies only for who locates it. */
      snprintf(path, sizeof path, "/v1/sites/%s/history", s->id);
      it_get(&g.srv, tok, path, &r);
      cases++;
      json_t *items = json_object_get(r.json, "items");
      if (r.status != 200 || json_array_size(items) == 0) {
        failf("GET %s as %s: expected its entries: %s", path, WHO_NAME[w],
              it_show(&r));
      } else {
        size_t j;
        json_t *e;
        json_array_foreach(items, j, e) {
          int has_body = json_object_get(e, "body") != NULL;
          if (has_body != locates(s, w) ||
              !json_is_string(json_object_get(e, "body_hash")))
            failf("GET %s as %s: entry %zu %s its body (body_hash %s)", path,
                  WHO_NAME[w], j, has_body ? "has" : "lacks",
                  json_object_get(e, "body_hash") ? "given" : "missing");
        }
      }
      it_resp_free(&r);
    }
  }
  report("need-to-know on sites", cases);
}

/* ---- 3. the ledger as each caller sees it -------------------------------- */

/* Fetches the whole ledger as token into an NDJSON FILE (rewound); NULL
 * (with a failure noted) when the walk goes wrong. *entries counts. */
static FILE *fetch_ledger(enum who w, size_t *entries) {
  FILE *f = tmpfile();
  assert_non_null(f);
  char path[128];
  int64_t from = 1;
  *entries = 0;
  for (int pages = 0; pages < 1000; pages++) {
    snprintf(path, sizeof path, "/v1/ledger?from=%lld&limit=1000",
             (long long)from);
    struct it_resp r;
    it_get(&g.srv, g.token[w], path, &r);
    json_t *items = json_object_get(r.json, "items");
    if (r.status != 200 || !json_is_array(items)) {
      failf("GET %s as %s: %s", path, WHO_NAME[w], it_show(&r));
      it_resp_free(&r);
      fclose(f);
      return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(items, i, e) {
      json_dumpf(e, f, JSON_COMPACT);
      fputc('\n', f);
      from = json_integer_value(json_object_get(e, "seq")) + 1;
      (*entries)++;
    }
    json_t *next = json_object_get(r.json, "next");
    int more = !json_is_null(next) && next != NULL && json_array_size(items);
    if (json_is_integer(next))
      from = json_integer_value(next);
    it_resp_free(&r);
    if (!more)
      break;
  }
  rewind(f);
  return f;
}

/* Whether caller w may see the body of an entry that wrote kind with doc
 * (the coordinator's copy): the rule of docs/api.md, Need-to-know. */
static int may_see(enum who w, const char *kind, const json_t *doc) {
  if (w == W_COORD)
    return 1;
  if (strcmp(kind, "token") == 0)
    return 0;
  if (strcmp(kind, "site") != 0)
    return 1;
  if (strcmp(it_jstr(doc, "notified_by"), WHO_PARTY[w]) == 0)
    return 1;
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(doc, "recipients"), i, p) {
    const char *s = json_string_value(p);
    if (s && (strcmp(s, "*") == 0 || strcmp(s, WHO_PARTY[w]) == 0))
      return 1;
  }
  return 0;
}

static void test_ledger_views(void **state) {
  (void)state;
  struct it_resp r;
  it_get(&g.srv, NULL, "/healthz", &r);
  int64_t head = json_integer_value(json_object_get(r.json, "ledger_head"));
  it_resp_free(&r);
  assert_true(head > 100);

  /* The coordinator's copy: every body, by sequence number. */
  size_t n_all;
  FILE *f = fetch_ledger(W_COORD, &n_all);
  if (f == NULL)
    report("ledger views", 1);
  json_t *bodies = json_array(); /* [seq - 1] = {"kind", "doc"} */
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_error_t jerr;
    json_t *e = json_loads(line, 0, &jerr);
    const char *body = it_jstr(e, "body");
    json_t *doc = json_loads(body, 0, &jerr);
    if (json_object_get(e, "body") == NULL)
      failf("GET /v1/ledger as coordinator: entry %lld has no body",
            (long long)json_integer_value(json_object_get(e, "seq")));
    json_array_append_new(bodies, json_pack("{s:s,s:o*}", "kind",
                                            it_jstr(e, "kind"), "doc", doc));
    json_decref(e);
  }
  fclose(f);
  if ((int64_t)n_all < head)
    failf("GET /v1/ledger as coordinator: %zu entries, the head is %lld", n_all,
          (long long)head);

  size_t cases = 1;
  for (size_t k = 0; k < N_READERS; k++) {
    enum who w = READERS[k];
    size_t n, withheld = 0;
    f = fetch_ledger(w, &n);
    cases++;
    if (f == NULL)
      continue;
    if (n != n_all)
      failf("GET /v1/ledger as %s: %zu entries, the coordinator sees %zu",
            WHO_NAME[w], n, n_all);
    while (getline(&line, &cap, f) > 0) {
      json_error_t jerr;
      json_t *e = json_loads(line, 0, &jerr);
      json_int_t seq = json_integer_value(json_object_get(e, "seq"));
      json_t *b = json_array_get(bodies, (size_t)seq - 1);
      const char *kind = it_jstr(b, "kind");
      int has_body = json_object_get(e, "body") != NULL;
      int want = may_see(w, kind, json_object_get(b, "doc"));
      withheld += !has_body;
      cases++;
      if (has_body != want || !json_is_string(json_object_get(e, "body_hash")))
        failf("GET /v1/ledger as %s: entry %lld (%s %s) %s its body, "
              "body_hash %s",
              WHO_NAME[w], (long long)seq, kind, it_jstr(e, "id"),
              has_body ? "has" : "lacks",
              json_object_get(e, "body_hash") ? "given" : "missing");
      json_decref(e);
    }
    if (w != W_COORD && withheld == 0)
      failf("GET /v1/ledger as %s: no body withheld", WHO_NAME[w]);
    /* The copy verifies, bodies withheld or not. */
    rewind(f);
    struct hv_verify_report rep;
    struct hv_error err = {0};
    int rc = hv_ledger_verify_export(f, &rep, &err);
    cases++;
    if (rc != HV_OK)
      failf("the ledger as %s does not verify: %s", WHO_NAME[w], err.msg);
    else if (rep.entries != (int64_t)n_all || rep.withheld != (int64_t)withheld)
      failf("the ledger as %s: verify counts %lld entries, %lld withheld; "
            "expected %zu, %zu",
            WHO_NAME[w], (long long)rep.entries, (long long)rep.withheld, n_all,
            withheld);
    fclose(f);
  }
  free(line);
  json_decref(bodies);
  report("ledger views", cases);
}

/* ---- 4. tokens ----------------------------------------------------------- */

static void test_tokens(void **state) {
  (void)state;
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, coord(), "/v1/tokens?limit=1000", &r), 200);
  json_t *items = json_object_get(r.json, "items");
  assert_true(json_array_size(items) >= 7);
  size_t i;
  json_t *t;
  json_array_foreach(items, i, t) {
    const char *keys[] = {"id", "party", "role", "label", "created", "revoked"};
    for (size_t k = 0; k < 6; k++)
      if (json_object_get(t, keys[k]) == NULL)
        fail_msg("GET /v1/tokens: item %zu has no %s", i, keys[k]);
    if (json_object_get(t, "hash") || json_object_get(t, "token"))
      fail_msg("GET /v1/tokens: item %zu shows a hash or a token", i);
  }
  if (strstr(r.body, "hv1."))
    fail_msg("GET /v1/tokens shows token text: %s", it_show(&r));
  it_resp_free(&r);

  /* A token made through the API works, and not once revoked. */
  json_t *doc = it_js("{'party':'icrc','role':'agency','label':'made here'}");
  assert_int_equal(it_send(&g.srv, "POST", coord(), "/v1/tokens", doc, &r),
                   201);
  json_decref(doc);
  char text[128], tid[32];
  snprintf(text, sizeof text, "%s", it_jstr(r.json, "token"));
  snprintf(tid, sizeof tid, "%s", it_jstr(r.json, "id"));
  it_resp_free(&r);
  assert_true(strncmp(text, "hv1.", 4) == 0);
  assert_true(tid[0] != '\0');
  assert_int_equal(it_get(&g.srv, text, "/v1/parties/icrc", &r), 200);
  it_resp_free(&r);
  /* Its role is the one asked for: an agency writes its own sites only. */
  doc = it_new_doc("sites", "tok-site", "icrc");
  assert_int_equal(it_send(&g.srv, "POST", text, "/v1/sites", doc, &r), 201);
  it_resp_free(&r);
  json_decref(doc);
  doc = it_new_doc("parties", "tok-party", NULL);
  assert_int_equal(it_send(&g.srv, "POST", text, "/v1/parties", doc, &r), 403);
  it_resp_free(&r);
  json_decref(doc);

  char path[128];
  snprintf(path, sizeof path, "/v1/tokens/%s", tid);
  assert_int_equal(it_send(&g.srv, "DELETE", coord(), path, NULL, &r), 200);
  /* 200 with the token, revoked. */
  assert_string_equal(it_jstr(r.json, "id"), tid);
  assert_string_equal(it_jstr(r.json, "party"), "icrc");
  assert_true(json_is_true(json_object_get(r.json, "revoked")));
  if (json_object_get(r.json, "hash") || strstr(r.body, "hv1."))
    fail_msg("DELETE %s shows a hash or the token: %s", path, it_show(&r));
  it_resp_free(&r);
  struct it_req q = {
      .path = "/v1/parties/icrc", .token = text, .src = it_fresh_src()};
  assert_int_equal(it_http(&g.srv, &q, &r), 401);
  assert_string_equal(it_err_code(&r), "unauthenticated");
  it_resp_free(&r);
  /* Revoking twice is harmless. */
  assert_int_equal(it_send(&g.srv, "DELETE", coord(), path, NULL, &r), 200);
  it_resp_free(&r);
  assert_int_equal(
      it_send(&g.srv, "DELETE", coord(), "/v1/tokens/nosuch", NULL, &r), 404);
  it_resp_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matrix),
      cmocka_unit_test(test_sites),
      cmocka_unit_test(test_ledger_views),
      cmocka_unit_test(test_tokens),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  it_http_cleanup();
  if (failed == 0)
    it_rm_tree(g.work);
  return failed;
}
