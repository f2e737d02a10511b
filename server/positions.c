/*
 * positions.c — the live picture over HTTP: POST /v1/positions feeds a
 * batch of position reports (a JSON array, or NDJSON) to the server's one
 * tracks engine (haven/tracks.h) and records its findings in the ledger
 * (hv_db_record_findings); GET /v1/findings reads them back from the
 * ledger.
 *
 * Authorization beyond the role: a party reports only its own assets
 * (every report's party is the token's); the coordinator reports any.
 * Need-to-know: every finding shown, in either reply, goes through
 * hv_visibility(who, HV_FINDING, its recorded body); a finding the caller
 * may not see is left out entirely.
 *
 * All handlers run with the db lock held (routes.c), which also guards
 * the engine.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define DEG2RAD (3.14159265358979323846 / 180.0)

/* The 400 (or 403) of report idx: field "[idx].member", and "index". */
static int fail_report(struct hv__req *r, unsigned status, const char *code,
                       size_t idx, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int fail_report(struct hv__req *r, unsigned status, const char *code,
                       size_t idx, const char *member, const char *fmt, ...) {
  char msg[800], field[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (member)
    snprintf(field, sizeof field, "[%zu].%s", idx, member);
  else
    snprintf(field, sizeof field, "[%zu]", idx);
  hv__fail(r, status, code, field, "report %zu: %s", idx, msg);
  json_t *e = json_object_get(r->json, "error");
  if (e)
    json_object_set_new(e, "index", json_integer((json_int_t)idx));
  return 0;
}

static int is_ndjson(struct hv__req *r) {
  const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_TYPE);
  while (ct && (*ct == ' ' || *ct == '\t'))
    ct++;
  return ct && strncasecmp(ct, "application/x-ndjson", 20) == 0;
}

/* The reports of the body as an array (a new reference in *out). */
static int parse_body(struct hv__req *r, json_t **out) {
  json_error_t jerr;
  *out = NULL;
  if (r->body == NULL || r->len == 0)
    return hv__fail(r, 400, "invalid", NULL,
                    "the body must hold position reports");
  if (!is_ndjson(r)) {
    json_t *j = json_loadb(r->body, r->len, 0, &jerr);
    if (j == NULL)
      return hv__fail(r, 400, "bad_json", NULL,
                      "the body is not JSON: line %d, column %d: %s", jerr.line,
                      jerr.column, jerr.text);
    if (!json_is_array(j)) {
      json_decref(j);
      return hv__fail(r, 400, "invalid", NULL,
                      "the body must be a JSON array of position reports");
    }
    *out = j;
    return 1;
  }
  json_t *a = json_array();
  if (a == NULL)
    return hv__fail(r, 500, "internal", NULL, "out of memory");
  size_t line = 0;
  for (const char *p = r->body, *end = r->body + r->len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    line++;
    const char *q = p;
    while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
      q++;
    if (q < e) {
      json_t *j = json_loadb(p, (size_t)(e - p), 0, &jerr);
      if (j == NULL) {
        json_decref(a);
        return hv__fail(r, 400, "bad_json", NULL,
                        "line %zu is not JSON: column %d: %s", line,
                        jerr.column, jerr.text);
      }
      json_array_append_new(a, j);
    }
    p = nl ? nl + 1 : end;
  }
  *out = a;
  return 1;
}

static const char *const MEMBERS[] = {
    "asset", "party",  "class",  "t",      "t_ms",    "lon",    "lat",
    "alt_m", "ve_mps", "vn_mps", "gs_mps", "trk_deg", "vs_mps", NULL};

/* A number member: 1 with *v set (left alone when absent and optional). */
static int num(struct hv__req *r, size_t i, const json_t *o, const char *k,
               int required, double *v) {
  json_t *x = json_object_get(o, k);
  if (x == NULL) {
    if (required)
      return fail_report(r, 400, "invalid", i, k, "%s: missing", k);
    return 1;
  }
  if (!json_is_number(x))
    return fail_report(r, 400, "invalid", i, k, "%s: must be a number", k);
  *v = json_number_value(x);
  return 1;
}

static int str(struct hv__req *r, size_t i, const json_t *o, const char *k,
               const char **v) {
  json_t *x = json_object_get(o, k);
  if (x == NULL)
    return fail_report(r, 400, "invalid", i, k, "%s: missing", k);
  if (!json_is_string(x))
    return fail_report(r, 400, "invalid", i, k, "%s: must be a string", k);
  *v = json_string_value(x);
  return 1;
}

/* Report i of the body into *p (strings borrowed from o). */
static int report(struct hv__req *r, size_t i, const json_t *o,
                  struct hv_position *p) {
  if (!json_is_object(o))
    return fail_report(r, 400, "invalid", i, NULL,
                       "a report must be a JSON object");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    size_t m = 0;
    while (MEMBERS[m] && strcmp(MEMBERS[m], k) != 0)
      m++;
    if (MEMBERS[m] == NULL)
      return fail_report(r, 400, "invalid", i, k, "%s: unknown member", k);
  }
  memset(p, 0, sizeof *p);
  const char *cls, *t;
  if (!str(r, i, o, "asset", &p->asset) || !str(r, i, o, "party", &p->party) ||
      !str(r, i, o, "class", &cls))
    return 0;
  if (hv_asset_class_parse(cls, &p->cls) != HV_OK)
    return fail_report(r, 400, "invalid", i, "class",
                       "class: unknown asset class \"%s\"", cls);
  json_t *tj = json_object_get(o, "t"), *tm = json_object_get(o, "t_ms");
  if (tj && tm)
    return fail_report(r, 400, "invalid", i, "t",
                       "t: give t or t_ms, not both");
  if (tj) {
    if (!str(r, i, o, "t", &t))
      return 0;
    if (hv_time_parse(t, &p->t_ms) != HV_OK)
      return fail_report(r, 400, "invalid", i, "t",
                         "t: \"%s\" is not an RFC 3339 time", t);
  } else if (tm) {
    if (!json_is_integer(tm))
      return fail_report(r, 400, "invalid", i, "t_ms",
                         "t_ms: must be an integer");
    p->t_ms = json_integer_value(tm);
  } else {
    return fail_report(r, 400, "invalid", i, "t", "t: missing (or t_ms)");
  }
  if (!num(r, i, o, "lon", 1, &p->lon) || !num(r, i, o, "lat", 1, &p->lat) ||
      !num(r, i, o, "alt_m", 0, &p->alt_m) ||
      !num(r, i, o, "vs_mps", 0, &p->vs_mps))
    return 0;
  int ve = json_object_get(o, "ve_mps") != NULL,
      vn = json_object_get(o, "vn_mps") != NULL,
      gs = json_object_get(o, "gs_mps") != NULL,
      trk = json_object_get(o, "trk_deg") != NULL;
  if ((ve || vn) && (gs || trk))
    return fail_report(r, 400, "invalid", i, gs ? "gs_mps" : "trk_deg",
                       "%s: give ve_mps and vn_mps, or gs_mps and trk_deg, "
                       "not both",
                       gs ? "gs_mps" : "trk_deg");
  if (ve != vn)
    return fail_report(r, 400, "invalid", i, ve ? "vn_mps" : "ve_mps",
                       "%s: missing (ve_mps and vn_mps go together)",
                       ve ? "vn_mps" : "ve_mps");
  if (gs != trk)
    return fail_report(r, 400, "invalid", i, gs ? "trk_deg" : "gs_mps",
                       "%s: missing (gs_mps and trk_deg go together)",
                       gs ? "trk_deg" : "gs_mps");
  if (ve && (!num(r, i, o, "ve_mps", 1, &p->ve_mps) ||
             !num(r, i, o, "vn_mps", 1, &p->vn_mps)))
    return 0;
  if (gs) {
    double g = 0, d = 0;
    if (!num(r, i, o, "gs_mps", 1, &g) || !num(r, i, o, "trk_deg", 1, &d))
      return 0;
    if (!(g >= 0))
      return fail_report(r, 400, "invalid", i, "gs_mps",
                         "gs_mps: must be >= 0");
    if (!(d >= 0 && d <= 360))
      return fail_report(r, 400, "invalid", i, "trk_deg",
                         "trk_deg: must be 0..360");
    p->ve_mps = g * sin(d * DEG2RAD);
    p->vn_mps = g * cos(d * DEG2RAD);
  }
  return 1;
}

/* The engine's error, "report N: field: reason", as a 400 naming both. */
static void fail_ingest(struct hv__req *r, int rc, const struct hv_error *err) {
  unsigned long long idx;
  char member[64];
  const char *rest = strstr(err->msg, ": ");
  if ((rc == HV_EINVAL || rc == HV_EREF) && rest &&
      sscanf(err->msg, "report %llu: %63[^:]:", &idx, member) == 2) {
    fail_report(r, 400, "invalid", (size_t)idx, member, "%s", rest + 2);
    return;
  }
  hv__fail_lib(r, rc, err);
}

/* A recorded finding as the items of both routes show it: its body with
 * seq and recorded_at (the entry's time). */
static json_t *finding_item(json_t *doc, int64_t seq, int64_t time_ms) {
  char at[40];
  json_t *j = json_deep_copy(doc);
  if (j == NULL ||
      json_object_set_new(j, "seq", json_integer((json_int_t)seq)) ||
      json_object_set_new(
          j, "recorded_at",
          json_string(hv_time_format(time_ms, at, sizeof at)))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

void hv__h_positions(struct hv__req *r) {
  struct hv__srv *s = r->srv;
  json_t *a;
  if (!parse_body(r, &a))
    return;
  size_t n = json_array_size(a);
  struct hv_position *batch = calloc(n ? n : 1, sizeof *batch);
  if (batch == NULL) {
    json_decref(a);
    hv__fail(r, 500, "internal", NULL, "out of memory");
    return;
  }
  int coord = r->who.role == HV_ROLE_COORDINATOR;
  for (size_t i = 0; i < n; i++) {
    if (!report(r, i, json_array_get(a, i), &batch[i]))
      goto out;
    if (!coord && strcmp(batch[i].party, r->who.party) != 0) {
      fail_report(r, 403, "forbidden", i, "party",
                  "party: \"%s\" may report only its own assets, not those "
                  "of \"%s\"",
                  r->who.party, batch[i].party);
      goto out;
    }
  }
  struct hv_findings f = {0};
  struct hv_error err = {0};
  int64_t first = 0;
  int rc = hv_tracks_ingest(s->tracks, batch, n, &f, &err);
  if (rc != HV_OK) {
    hv_findings_free(&f);
    fail_ingest(r, rc, &err);
    goto out;
  }
  if (f.n) {
    struct timespec t0 = hv__write_begin();
    rc = hv_db_record_findings(s->db, r->who.party, &f, &first, &err);
    hv__write_end(r, &t0);
    if (rc != HV_OK) {
      /* The engine applied the reports; their findings are not in the
       * record. Say so: the client may resend (duplicates are dropped). */
      hv_findings_free(&f);
      hv__fail_lib(r, rc, &err);
      goto out;
    }
  }
  json_t *items = json_array();
  int64_t now = hv_time_now_ms();
  for (size_t i = 0; items && i < f.n; i++) {
    json_t *doc = hv_finding_record_json(s->db, &f.v[i]);
    if (doc && hv_visibility(&r->who, HV_FINDING, doc) == HV_VIS_FULL)
      json_array_append_new(items, finding_item(doc, first + (int64_t)i, now));
    json_decref(doc);
  }
  hv_findings_free(&f);
  hv__reply(r, 200,
            items ? json_pack("{s:I,s:o,s:o}", "accepted", (json_int_t)n,
                              "findings", items, "ledger_seq",
                              first ? json_integer(first) : json_null())
                  : NULL);
out:
  free(batch);
  json_decref(a);
}

/* ---- GET /v1/findings ---------------------------------------------------- */

struct fpage {
  struct hv__req *r;
  const char *kind;
  json_t *items;
  int64_t limit, next;
  int oom;
};

static int finding_entry(const struct hv_ledger_entry *e, void *ud) {
  struct fpage *p = ud;
  if (strcmp(e->op, "finding") != 0 || strcmp(e->kind, "finding") != 0)
    return 0;
  json_error_t jerr;
  json_t *doc = json_loads(e->body, 0, &jerr);
  if (doc == NULL)
    return 0;
  const char *k = json_string_value(json_object_get(doc, "kind"));
  int keep = hv_visibility(&p->r->who, HV_FINDING, doc) == HV_VIS_FULL &&
             (p->kind == NULL || (k && strcmp(k, p->kind) == 0));
  if (keep && (int64_t)json_array_size(p->items) == p->limit) {
    /* One more to show: the page ends at the last one shown. */
    json_decref(doc);
    json_t *last = json_array_get(p->items, json_array_size(p->items) - 1);
    p->next = json_integer_value(json_object_get(last, "seq"));
    return 1;
  }
  if (keep &&
      json_array_append_new(p->items, finding_item(doc, e->seq, e->time_ms))) {
    p->oom = 1;
    json_decref(doc);
    return 1;
  }
  json_decref(doc);
  return 0;
}

void hv__h_findings(struct hv__req *r) {
  int64_t since = 0, limit = 100;
  if (!hv__param_int(r, "since", 0, INT64_MAX - 1, &since) ||
      !hv__param_int(r, "limit", 1, 1000, &limit))
    return;
  const char *kind = hv__param(r, "kind");
  if (kind) {
    int k = 0;
    while (k < HV_FIND_COUNT &&
           strcmp(hv_finding_kind_name((enum hv_finding_kind)k), kind) != 0)
      k++;
    if (k == HV_FIND_COUNT) {
      hv__fail(r, 400, "bad_parameter", "kind",
               "kind: \"%s\" is not a kind of finding", kind);
      return;
    }
  }
  struct fpage p = {r, kind, json_array(), limit, 0, 0};
  int rc = p.items ? hv_ledger_each(r->srv->db, since + 1, 0, finding_entry, &p)
                   : HV_ENOMEM;
  if (rc >= 0 && p.oom)
    rc = HV_ENOMEM;
  hv__reply_page(r, rc, p.items, p.next);
}
