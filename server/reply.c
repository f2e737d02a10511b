/*
 * reply.c — the small pieces every handler uses: JSON replies, the error
 * document of docs/api.md and the mapping of libhaven's codes to HTTP
 * statuses, query parameters, request bodies and conditional-write
 * versions.
 *
 * Invariants: a request has one reply at a time (a later one replaces an
 * earlier one); every error reply is {"error": {"code", "message",
 * "field"?, "current_version"?}} with a code from docs/api.md's table;
 * nothing here touches libhaven's store, so none of it needs the db lock
 * except that callers hold it anyway while they use borrowed objects.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void hv__reply(struct hv__req *r, unsigned status, json_t *j) {
  json_decref(r->json);
  r->json = NULL;
  if (j == NULL) {
    /* Out of memory: try for a small error document; http.c sends a
     * static one when even that fails. */
    r->status = 500;
    r->json = json_pack("{s:{s:s,s:s}}", "error", "code", "internal", "message",
                        "out of memory");
    return;
  }
  r->status = status;
  r->json = j;
}

/* The error document, with message already formatted. */
static int fail_doc(struct hv__req *r, unsigned status, const char *code,
                    const char *field, const char *msg, json_int_t current) {
  json_t *e = json_pack("{s:s,s:s}", "code", code, "message", msg);
  if (e && field && *field)
    json_object_set_new(e, "field", json_string(field));
  if (e && current >= 0)
    json_object_set_new(e, "current_version", json_integer(current));
  json_t *doc = e ? json_pack("{s:o}", "error", e) : NULL;
  hv__reply(r, status, doc);
  if (status == 401 || status == 403 || status == 429)
    snprintf(r->deny, sizeof r->deny, "%.*s", (int)sizeof r->deny - 1, msg);
  return 0;
}

int hv__fail(struct hv__req *r, unsigned status, const char *code,
             const char *field, const char *fmt, ...) {
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fail_doc(r, status, code, field, msg, -1);
}

int hv__fail_conflict(struct hv__req *r, int64_t current_version,
                      const char *fmt, ...) {
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fail_doc(r, 409, "conflict", NULL, msg, (json_int_t)current_version);
}

/* Characters a field path may hold: "properties.rules[2].parties". */
static int field_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '[' ||
         c == ']' || c == '-';
}

void hv__error_field(const char *msg, char *field, size_t size) {
  field[0] = '\0';
  if (msg == NULL || size == 0)
    return;
  /* Library messages read "FILE: WHERE (id "X"): FIELD: reason"; without
   * an "(id ...)" part the field, when any, comes first. */
  const char *start = msg;
  const char *id = strstr(msg, "(id \"");
  if (id) {
    const char *end = strstr(id + 5, "\")");
    if (end == NULL)
      return;
    start = end + 2;
    if (strncmp(start, ": ", 2) != 0)
      return;
    start += 2;
  }
  const char *colon = strstr(start, ": ");
  if (colon == NULL || colon == start || (size_t)(colon - start) >= size)
    return;
  for (const char *p = start; p < colon; p++)
    if (!field_char(*p))
      return;
  memcpy(field, start, (size_t)(colon - start));
  field[colon - start] = '\0';
}

int hv__fail_lib(struct hv__req *r, int rc, const struct hv_error *err) {
  const char *msg = err && err->msg[0] ? err->msg : hv_strerror(rc);
  char field[128];
  switch (rc) {
  case HV_EINVAL:
  case HV_EPARSE:
  case HV_ESCHEMA:
  case HV_EGEOMETRY:
  case HV_EREF:
  case HV_ECYCLE:
  case HV_EPHASE:
    hv__error_field(msg, field, sizeof field);
    return fail_doc(r, 400, "invalid", field, msg, -1);
  case HV_ENOTFOUND:
    return fail_doc(r, 404, "not_found", NULL, msg, -1);
  case HV_EEXISTS:
  case HV_ECONFLICT:
    return fail_doc(r, 409, "conflict", NULL, msg, -1);
  case HV_EPERM:
    return fail_doc(r, 403, "forbidden", NULL, msg, -1);
  default:
    /* HV_ENOMEM, HV_EIO, HV_ESTORE, HV_ETAMPER, HV_EGEODESY: not the
     * client's doing. The message helps the operator; it names no secret. */
    fprintf(stderr, "haven: internal error on %s %s: %s (%s)\n", r->method_text,
            r->url, msg, hv_err_name(rc));
    return fail_doc(r, 500, "internal", NULL, msg, -1);
  }
}

/* ---- query parameters ---------------------------------------------------
 */

const char *hv__param(struct hv__req *r, const char *name) {
  const char *v = NULL;
  size_t n = 0;
  /* A parameter given without "=value" is found with a NULL value: it is
   * present, and empty. */
  if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name,
                                    strlen(name), &v, &n) != MHD_YES)
    return NULL;
  return v ? v : "";
}

int hv__param_int(struct hv__req *r, const char *name, int64_t lo, int64_t hi,
                  int64_t *out) {
  const char *v = hv__param(r, name);
  if (v == NULL)
    return 1;
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end != '\0' || x < lo || x > hi)
    return hv__fail(r, 400, "bad_parameter", name,
                    "%s: \"%s\" is not a whole number from %lld to %lld", name,
                    v, (long long)lo, (long long)hi);
  *out = (int64_t)x;
  return 1;
}

int hv__param_double(struct hv__req *r, const char *name, int required,
                     double lo, double hi, double *out) {
  const char *v = hv__param(r, name);
  if (v == NULL) {
    if (required)
      return hv__fail(r, 400, "bad_parameter", name, "%s: missing", name);
    return 1;
  }
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || *end != '\0' || !isfinite(x) || x < lo || x > hi)
    return hv__fail(r, 400, "bad_parameter", name,
                    "%s: \"%s\" is not a number from %g to %g", name, v, lo,
                    hi);
  *out = x;
  return 1;
}

int hv__param_time(struct hv__req *r, const char *name, int64_t *out) {
  const char *v = hv__param(r, name);
  if (v == NULL)
    return 1;
  if (hv_time_parse(v, out) != HV_OK)
    return hv__fail(r, 400, "bad_parameter", name,
                    "%s: \"%s\" is not an RFC 3339 time or a date "
                    "(2016-02-27T00:00:00Z, 2016-02-27)",
                    name, v);
  return 1;
}

/* ---- bodies ---------------------------------------------------------------
 */

int hv__body_object(struct hv__req *r, int optional, json_t **out) {
  *out = NULL;
  if (r->len == 0) {
    if (optional)
      return 1;
    return hv__fail(r, 400, "bad_json", NULL,
                    "the request has no body: a JSON object is expected");
  }
  json_error_t e;
  json_t *j = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &e);
  if (j == NULL)
    return hv__fail(r, 400, "bad_json", NULL, "line %d, column %d: %s", e.line,
                    e.column, e.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return hv__fail(r, 400, "invalid", NULL, "the body must be a JSON object");
  }
  *out = j;
  return 1;
}

int hv__write_version(struct hv__req *r, const json_t *body_version,
                      int64_t *out) {
  int64_t hv = 0, bv = 0;
  const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_IF_MATCH);
  if (h) {
    /* An entity tag "N" (or a bare N): the version the client holds. */
    size_t n = strlen(h);
    const char *s = h;
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
      s = h + 1;
      n -= 2;
    }
    char buf[24];
    char *end;
    if (n == 0 || n >= sizeof buf)
      return hv__fail(r, 400, "invalid", "If-Match",
                      "If-Match: \"%s\" is not a version (\"N\")", h);
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno || *end != '\0' || x < 1 || buf[0] == '+' || buf[0] == ' ')
      return hv__fail(r, 400, "invalid", "If-Match",
                      "If-Match: \"%s\" is not a version (\"N\", N >= 1)", h);
    hv = (int64_t)x;
  }
  if (body_version && !json_is_null(body_version)) {
    if (!json_is_integer(body_version) || json_integer_value(body_version) < 1)
      return hv__fail(r, 400, "invalid", "version",
                      "version: must be a whole number >= 1");
    bv = (int64_t)json_integer_value(body_version);
  }
  if (hv && bv && hv != bv)
    return hv__fail(r, 400, "invalid", "version",
                    "version: the body says %lld, If-Match says %lld",
                    (long long)bv, (long long)hv);
  *out = hv ? hv : bv;
  return 1;
}

double hv__elapsed_s(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) +
         (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

struct timespec hv__write_begin(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t;
}

void hv__write_end(struct hv__req *r, const struct timespec *t0) {
  hv__metrics_store_write(r->srv->metrics, hv__elapsed_s(t0));
}

void hv__reply_page(struct hv__req *r, int rc, json_t *items, int64_t next) {
  if (rc > 0)
    rc = HV_OK;
  if (rc == HV_OK && items == NULL)
    rc = HV_ENOMEM;
  if (rc != HV_OK) {
    json_decref(items);
    hv__fail_lib(r, rc, NULL);
    return;
  }
  hv__reply(r, 200,
            json_pack("{s:o,s:o}", "items", items, "next",
                      next ? json_integer(next) : json_null()));
}

/* Rejects members of doc not in the space-separated list (the object
 * kinds' own members are checked by libhaven). */
int hv__known_members(struct hv__req *r, json_t *doc, const char *list) {
  const char *key;
  json_t *v;
  json_object_foreach(doc, key, v) {
    size_t n = strlen(key);
    const char *p = strstr(list, key);
    int found = 0;
    while (p && !found) {
      found = (p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
      p = strstr(p + 1, key);
    }
    if (!found || n == 0)
      return hv__fail(r, 400, "invalid", key,
                      "%s: unknown member (expected: %s)", key, list);
  }
  return 1;
}
