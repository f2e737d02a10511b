/*
 * routes.c — the route table of docs/api.md and what happens to a request
 * before its handler runs: the route is found (404, 405), the caller
 * authenticated (429, 401) and authorized by role (403), its query
 * parameters checked against the route's list (400), its body's type and
 * declared size checked (415, 413).
 *
 * The table is the one source of the routes: the dispatcher, `haven
 * routes` and the metrics' route labels all read it, and the test suite
 * compares `haven routes` with docs/openapi.json. Object routes are listed
 * per kind (/v1/zones, /v1/sites...) so that each has its own entry in the
 * OpenAPI description.
 *
 * Finer authorization that needs the object or the body — an agency
 * writes only sites it notifies, need-to-know on what is read — is done by
 * the handlers (objects.c), through hv_visibility() for reads.
 *
 * Invariants: a request reaches its handler only when it matched a route,
 * its principal (if the route needs one) was authenticated with the db
 * lock held in the same critical section as the handler, or re-checked
 * there, and its role is among the route's roles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* The routes of one kind of object. Collections take the filters that make
 * sense for the kind: `kind` when it has a kind member, `bbox` when it has
 * a geometry; `at` applies to all (objects without validity are always
 * valid). */
/* (One route per line reads better than what clang-format makes of it.) */
/* clang-format off */
#define OBJECT_ROUTES(plural, k, writers, filters)                           \
  {HV__GET, "/v1/" plural, hv__h_list, HV__ANY, k, HV__NOBODY,               \
   "limit cursor at" filters, NULL},                                         \
  {HV__POST, "/v1/" plural, hv__h_create, writers, k, HV__BODY, "", NULL},   \
  {HV__GET, "/v1/" plural "/{id}", hv__h_get, HV__ANY, k, HV__NOBODY, "", NULL}, \
  {HV__PUT, "/v1/" plural "/{id}", hv__h_update, writers, k, HV__BODY, "", NULL}, \
  {HV__DELETE, "/v1/" plural "/{id}", hv__h_delete, writers, k,              \
   HV__BODY_OPTIONAL, "", NULL},                                             \
  {HV__GET, "/v1/" plural "/{id}/history", hv__h_history, HV__ANY, k,        \
   HV__NOBODY, "", NULL}
/* clang-format on */

const struct hv__route hv__routes[] = {
    {HV__GET, "/", hv__h_web_index, HV__NOAUTH, -1, HV__NOBODY, "", NULL},
    {HV__GET, "/ui/{id}", hv__h_web_file, HV__NOAUTH, -1, HV__NOBODY, "",
     NULL},
    {HV__GET, "/healthz", hv__h_healthz, HV__NOAUTH, -1, HV__NOBODY, "", NULL},
    {HV__GET, "/metrics", hv__h_metrics, HV__ANY, -1, HV__NOBODY, "", NULL},
    {HV__GET, "/openapi.json", hv__h_openapi, HV__ANY, -1, HV__NOBODY, "",
     NULL},

    OBJECT_ROUTES("parties", HV_PARTY, HV__COORD, " kind"),
    {HV__GET, "/v1/parties/{id}/sponsors", hv__h_sponsors, HV__ANY, HV_PARTY,
     HV__NOBODY, "", NULL},
    {HV__GET, "/v1/parties/{id}/agreements", hv__h_party_agreements, HV__ANY,
     HV_PARTY, HV__NOBODY, "at", NULL},
    OBJECT_ROUTES("agreements", HV_AGREEMENT, HV__COORD, " kind"),
    OBJECT_ROUTES("zones", HV_ZONE, HV__COORD, " kind bbox"),
    {HV__POST, "/v1/zones/{id}/phase", hv__h_phase, HV__COORD, HV_ZONE,
     HV__BODY, "", NULL},
    OBJECT_ROUTES("corridors", HV_CORRIDOR, HV__COORD, " bbox"),
    OBJECT_ROUTES("sites", HV_SITE, HV__SITES, " bbox"),
    {HV__POST, "/v1/sites/{id}/ack", hv__h_ack, HV__ANY, HV_SITE,
     HV__BODY_OPTIONAL, "", NULL},
    {HV__GET, "/v1/sites/{id}/acks", hv__h_acks, HV__SITES, HV_SITE, HV__NOBODY,
     "", NULL},
    OBJECT_ROUTES("movements", HV_MOVEMENT, HV__SITES, " kind bbox"),
    {HV__POST, "/v1/movements/{id}/ack", hv__h_ack, HV__ANY, HV_MOVEMENT,
     HV__BODY_OPTIONAL, "", NULL},
    {HV__GET, "/v1/movements/{id}/acks", hv__h_acks, HV__SITES, HV_MOVEMENT,
     HV__NOBODY, "", NULL},
    /* Incidents: reported by anyone, corrected or withdrawn by the
     * coordinator. */
    {HV__GET, "/v1/incidents", hv__h_list, HV__ANY, HV_INCIDENT, HV__NOBODY,
     "limit cursor at bbox", NULL},
    {HV__POST, "/v1/incidents", hv__h_create, HV__ANY, HV_INCIDENT, HV__BODY,
     "", NULL},
    {HV__GET, "/v1/incidents/{id}", hv__h_get, HV__ANY, HV_INCIDENT,
     HV__NOBODY, "", NULL},
    {HV__PUT, "/v1/incidents/{id}", hv__h_update, HV__COORD, HV_INCIDENT,
     HV__BODY, "", NULL},
    {HV__DELETE, "/v1/incidents/{id}", hv__h_delete, HV__COORD, HV_INCIDENT,
     HV__BODY_OPTIONAL, "", NULL},
    {HV__GET, "/v1/incidents/{id}/history", hv__h_history, HV__ANY,
     HV_INCIDENT, HV__NOBODY, "", NULL},
    {HV__GET, "/v1/incidents/{id}/adjudication", hv__h_incident_adjudication,
     HV__ANY, HV_INCIDENT, HV__NOBODY, "", NULL},
    {HV__GET, "/v1/incidents/{id}/adjudications",
     hv__h_incident_adjudications, HV__ANY, HV_INCIDENT, HV__NOBODY, "", NULL},
    {HV__POST, "/v1/adjudications", hv__h_adjudicate, HV__COORD, -1,
     HV__BODY_OPTIONAL, "", NULL},
    {HV__GET, "/v1/adjudications", hv__h_adjudications, HV__ANY, -1,
     HV__NOBODY, "agreement class party guarantor zone area from to format",
     NULL},
    {HV__POST, "/v1/reviews", hv__h_review, HV__ANY, -1, HV__BODY, "", NULL},
    {HV__GET, "/v1/reviews", hv__h_reviews, HV__ANY, -1, HV__NOBODY,
     "open incident agreement", NULL},
    {HV__GET, "/v1/zone-status", hv__h_zone_status, HV__ANY, -1, HV__NOBODY,
     "at window_days zone", NULL},
    {HV__GET, "/v1/sieges", hv__h_sieges, HV__ANY, -1, HV__NOBODY,
     "at period_days", NULL},
    {HV__POST, "/v1/sieges/scan", hv__h_sieges_scan, HV__COORD, -1,
     HV__BODY_OPTIONAL, "", NULL},
    {HV__GET, "/v1/bulletins/{id}", hv__h_bulletin, HV__ANY, -1, HV__NOBODY,
     "date utc_offset days trend format", NULL},
    OBJECT_ROUTES("delineations", HV_DELINEATION, HV__COORD, " bbox"),
    OBJECT_ROUTES("areas", HV_AREA, HV__COORD, " bbox"),

    {HV__GET, "/v1/query/zones", hv__h_query_zones, HV__ANY, -1, HV__NOBODY,
     "lon lat alt at", NULL},
    {HV__GET, "/v1/query/near", hv__h_query_near, HV__ANY, -1, HV__NOBODY,
     "lon lat distance_m at", NULL},

    {HV__GET, "/v1/ledger", hv__h_ledger, HV__ANY, -1, HV__NOBODY,
     "from to limit", NULL},
    {HV__GET, "/v1/ledger/verify", hv__h_verify, HV__ANY, -1, HV__NOBODY, "",
     NULL},

    {HV__POST, "/v1/positions", hv__h_positions,
     HV__COORD | (1u << HV_ROLE_PARTY), -1, HV__BODY_NDJSON, "",
     hv__prep_positions},
    {HV__GET, "/v1/tracks", hv__h_tracks, HV__ANY, -1, HV__NOBODY, "party",
     NULL},
    {HV__GET, "/v1/findings", hv__h_findings, HV__ANY, -1, HV__NOBODY,
     "since kind limit", NULL},
    {HV__POST, "/v1/checks", hv__h_check, HV__COORD | (1u << HV_ROLE_PARTY), -1,
     HV__BODY, "", NULL},
    {HV__POST, "/v1/checks/verify", hv__h_check_verify, HV__ANY, -1, HV__BODY,
     "", NULL},
    {HV__GET, "/v1/alerts/stream", hv__h_alerts_stream, HV__ANY, -1, HV__NOBODY,
     "since kind", NULL},

    {HV__GET, "/v1/tokens", hv__h_tokens, HV__COORD, HV_TOKEN, HV__NOBODY,
     "limit cursor", NULL},
    {HV__POST, "/v1/tokens", hv__h_token_create, HV__COORD, HV_TOKEN, HV__BODY,
     "", NULL},
    {HV__DELETE, "/v1/tokens/{id}", hv__h_token_revoke, HV__COORD, HV_TOKEN,
     HV__BODY_OPTIONAL, "", NULL},
};
const size_t hv__n_routes = sizeof hv__routes / sizeof *hv__routes;

static const char *const METHOD_NAMES[] = {"GET", "POST", "PUT", "DELETE",
                                           "OTHER"};

size_t hv_server_route_count(void) { return hv__n_routes; }

int hv_server_route(size_t i, const char **method, const char **path) {
  if (i >= hv__n_routes)
    return 0;
  *method = METHOD_NAMES[hv__routes[i].method];
  *path = hv__routes[i].path;
  return 1;
}

enum hv__method hv__method_parse(const char *text) {
  /* HEAD is answered as GET (libmicrohttpd sends no body). */
  if (strcmp(text, "GET") == 0 || strcmp(text, "HEAD") == 0)
    return HV__GET;
  if (strcmp(text, "POST") == 0)
    return HV__POST;
  if (strcmp(text, "PUT") == 0)
    return HV__PUT;
  if (strcmp(text, "DELETE") == 0)
    return HV__DELETE;
  return HV__OTHER;
}

/* Whether path matches pattern; the {id} segment, when there is one, is
 * copied into id (an over-long one does not match: no object has it). */
static int path_match(const char *pattern, const char *path,
                      char id[HV_ID_MAX + 1]) {
  const char *p = pattern, *u = path;
  while (*p && *u) {
    if (*p != '/' || *u != '/')
      return 0;
    p++, u++;
    const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
    size_t pn = pe ? (size_t)(pe - p) : strlen(p);
    size_t un = ue ? (size_t)(ue - u) : strlen(u);
    if (pn == 4 && memcmp(p, "{id}", 4) == 0) {
      if (un == 0 || un > HV_ID_MAX)
        return 0;
      memcpy(id, u, un);
      id[un] = '\0';
    } else if (pn != un || memcmp(p, u, pn) != 0) {
      return 0;
    }
    p += pn, u += un;
  }
  return *p == '\0' && *u == '\0';
}

/* Finds the route of r; sets the 404 or 405 reply when there is none. */
static int find_route(struct hv__req *r) {
  const struct hv__route *other = NULL;
  size_t n_allow = 0;
  char id[HV_ID_MAX + 1] = "";
  r->allow[0] = '\0';
  for (size_t i = 0; i < hv__n_routes; i++) {
    const struct hv__route *rt = &hv__routes[i];
    if (!path_match(rt->path, r->url, id))
      continue;
    if (rt->method == r->method) {
      r->route = rt;
      r->route_label = rt->path;
      memcpy(r->id, id, sizeof id);
      return 1;
    }
    other = other ? other : rt;
    size_t used = strlen(r->allow);
    snprintf(r->allow + used, sizeof r->allow - used, "%s%s",
             n_allow++ ? ", " : "", METHOD_NAMES[rt->method]);
  }
  if (other) {
    r->route_label = other->path;
    return hv__fail(r, 405, "method_not_allowed", NULL,
                    "%s is not allowed on %s (allowed: %s)", r->method_text,
                    r->url, r->allow);
  }
  return hv__fail(r, 404, "not_found", NULL, "no route %s", r->url);
}

/* Is name one of the space-separated words of list? */
static int listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    while (*p == ' ')
      p++;
    const char *e = strchr(p, ' ');
    size_t w = e ? (size_t)(e - p) : strlen(p);
    if (w == n && w > 0 && memcmp(p, name, n) == 0)
      return 1;
    p += w;
  }
  return 0;
}

struct param_scan {
  const struct hv__route *route;
  const char *bad;
};

static enum MHD_Result param_cb(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value) {
  struct param_scan *s = cls;
  (void)kind, (void)value;
  if (!listed(s->route->params, key)) {
    s->bad = key;
    return MHD_NO;
  }
  return MHD_YES;
}

static int check_params(struct hv__req *r) {
  struct param_scan s = {r->route, NULL};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, param_cb, &s);
  if (s.bad == NULL)
    return 1;
  if (r->route->params[0] == '\0')
    return hv__fail(r, 400, "bad_parameter", s.bad,
                    "%s: unknown parameter (%s %s takes none)", s.bad,
                    METHOD_NAMES[r->route->method], r->route->path);
  return hv__fail(
      r, 400, "bad_parameter", s.bad, "%s: unknown parameter (%s %s takes: %s)",
      s.bad, METHOD_NAMES[r->route->method], r->route->path, r->route->params);
}

/* Authenticates the bearer token of r with the db lock held; on success
 * copies the principal into r. count: whether a failure counts against the
 * address (a token that failed on a re-check does not count twice). */
static int authenticate(struct hv__req *r, int count) {
  struct hv__srv *s = r->srv;
  const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_AUTHORIZATION);
  r->authed = 0;
  if (h == NULL) {
    /* No credentials is not an attempt to guess one: it is refused, not
     * counted against the address. */
    hv__metrics_auth_failure(s->metrics);
    return hv__fail(r, 401, "unauthenticated", NULL,
                    "missing credentials: send Authorization: Bearer "
                    "hv1.<id>.<secret>");
  }
  int ok = 0;
  struct hv_principal who;
  if (strncasecmp(h, "Bearer ", 7) == 0) {
    const char *t = h + 7;
    while (*t == ' ')
      t++;
    ok = hv_db_authenticate(s->db, t, &who) == HV_OK;
  }
  if (!ok) {
    hv__metrics_auth_failure(s->metrics);
    if (count)
      hv__ratelimit_fail(s->limiter, r->addr, hv_time_now_ms());
    return hv__fail(r, 401, "unauthenticated", NULL,
                    "the bearer token is malformed, unknown, wrong or "
                    "revoked");
  }
  size_t n = who.party ? strlen(who.party) : 0;
  if (n == 0 || n >= sizeof r->party)
    return hv__fail(r, 500, "internal", NULL, "a token names no party");
  memcpy(r->party, who.party, n + 1);
  r->token_id[0] = '\0';
  if (who.token_id)
    snprintf(r->token_id, sizeof r->token_id, "%s", who.token_id);
  r->who.party = r->party;
  r->who.role = who.role;
  r->who.token_id = r->token_id[0] ? r->token_id : NULL;
  r->authed = 1;
  return 1;
}

static int authorize(struct hv__req *r) {
  const struct hv__route *rt = r->route;
  if ((unsigned)r->who.role < HV_ROLE_COUNT &&
      (rt->roles & (1u << r->who.role)))
    return 1;
  return hv__fail(
      r, 403, "forbidden", NULL, "the %s role (party \"%s\") may not %s %s",
      hv_role_name(r->who.role), r->party, METHOD_NAMES[rt->method], rt->path);
}

/* Whether ct is type, with or without parameters (charset). */
static int is_type(const char *ct, const char *type) {
  if (ct == NULL)
    return 0;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  size_t n = strlen(type);
  if (strncasecmp(ct, type, n) != 0)
    return 0;
  char c = ct[n];
  return c == '\0' || c == ';' || c == ' ' || c == '\t';
}

int hv__request_check(struct hv__req *r) {
  struct hv__srv *s = r->srv;
  if (!find_route(r))
    return 0;
  /* Another process (haven token create, haven import) may have written to
   * the store: catch up before answering, so that new tokens work and our
   * writes chain onto the real head. One read of the head when nothing
   * changed. */
  struct hv_error err = {0};
  if (hv_db_refresh(s->db, NULL, &err) != HV_OK)
    return hv__fail(r, 500, "internal", NULL, "%s", err.msg);
  const struct hv__route *rt = r->route;
  if (rt->roles != HV__NOAUTH) {
    if (hv__ratelimit_blocked(s->limiter, r->addr, hv_time_now_ms()))
      return hv__fail(r, 429, "too_many_failures", NULL,
                      "too many failed authentications from %s: try again "
                      "in %u s",
                      r->addr, s->opt.auth_fail_window_s);
    if (!authenticate(r, 1) || !authorize(r))
      return 0;
  }
  if (!check_params(r))
    return 0;
  if (r->has_body && rt->body != HV__NOBODY) {
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    int ndjson = rt->body == HV__BODY_NDJSON;
    if (!is_type(ct, "application/json") &&
        !(ndjson && is_type(ct, "application/x-ndjson")))
      return hv__fail(r, 415, "unsupported_media_type", NULL,
                      "the body must be application/json%s, not %s",
                      ndjson ? " or application/x-ndjson" : "",
                      ct ? ct : "untyped");
  }
  if (r->content_length >= 0 &&
      (unsigned long long)r->content_length > s->opt.max_body)
    return hv__fail(r, 413, "too_large", NULL,
                    "the body has %lld bytes; the limit is %zu",
                    r->content_length, s->opt.max_body);
  r->checked = 1;
  return 1;
}

void hv__request_run(struct hv__req *r) {
  if (r->recheck && r->route->roles != HV__NOAUTH) {
    /* The check ran while the headers arrived and the body was read since:
     * the token may have been revoked meanwhile. */
    if (!authenticate(r, 0) || !authorize(r))
      return;
  }
  r->route->fn(r);
  if (r->json == NULL && r->text == NULL && r->stream == NULL)
    hv__fail(r, 500, "internal", NULL, "the handler gave no reply");
}
