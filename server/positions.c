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

json_t *hv__finding_item(const json_t *doc, int64_t seq, int64_t time_ms) {
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

int hv__finding_kind_known(const char *name) {
  if (strcmp(name, "probing") == 0 || /* haven/probe.h: the coordinator's */
      strcmp(name, "siege_suspected") == 0) /* haven/adjudicate.h */
    return 1;
  for (int k = 0; k < HV_FIND_COUNT; k++)
    if (strcmp(hv_finding_kind_name((enum hv_finding_kind)k), name) == 0)
      return 1;
  return 0;
}

static int entry_time(const struct hv_ledger_entry *e, void *ud) {
  *(int64_t *)ud = e->time_ms;
  return 1;
}

/* A parsed batch (haven/positions.h): the reports, their strings borrowed
 * from r->body (freed after r->prep) or from the batch. */
static void batch_free(void *p) {
  hv_positions_batch_free(p);
  free(p);
}

/* Parses and checks the body: the batch, or 0 with the error reply set. */
static struct hv_positions_batch *batch_parse(struct hv__req *r) {
  struct hv_positions_batch *b = calloc(1, sizeof *b);
  struct hv_error err = {0};
  if (b == NULL) {
    hv__fail(r, 500, "internal", NULL, "out of memory");
    return NULL;
  }
  int rc = hv_positions_parse(r->body, r->len, is_ndjson(r), b, &err);
  if (rc == HV_OK)
    return b;
  if (rc == HV_EPARSE) {
    hv__fail(r, 400, "bad_json", NULL, "%s", err.msg);
  } else if (rc == HV_EINVAL && b->fault) {
    /* err.msg is "report I: reason"; fail_report writes the prefix again
     * and sets field "[I].member" (or "[I]") and index. */
    const char *why = strstr(err.msg, ": ");
    fail_report(r, 400, "invalid", b->fault_index,
                b->fault_member[0] ? b->fault_member : NULL, "%s",
                why ? why + 2 : err.msg);
  } else if (rc == HV_EINVAL) {
    hv__fail(r, 400, "invalid", NULL, "%s", err.msg);
  } else {
    hv__fail(r, 500, "internal", NULL, "out of memory");
  }
  batch_free(b);
  return NULL;
}

void hv__prep_positions(struct hv__req *r) {
  struct hv_positions_batch *b = batch_parse(r);
  if (b) {
    r->prep = b;
    r->prep_free = batch_free;
  }
}

void hv__h_positions(struct hv__req *r) {
  struct hv__srv *s = r->srv;
  struct hv_positions_batch *b = r->prep;
  if (b == NULL) {
    if ((b = batch_parse(r)) == NULL)
      return;
    r->prep = b;
    r->prep_free = batch_free;
  }
  struct hv_position *batch = b->v;
  size_t n = b->n;
  int coord = r->who.role == HV_ROLE_COORDINATOR;
  for (size_t i = 0; i < n; i++) {
    if (!coord && strcmp(batch[i].party, r->who.party) != 0) {
      fail_report(r, 403, "forbidden", i, "party",
                  "party: \"%s\" may report only its own assets, not those "
                  "of \"%s\"",
                  r->who.party, batch[i].party);
      return;
    }
  }
  struct hv_findings f = {0};
  struct hv_error err = {0};
  int64_t first = 0;
  int rc = hv_tracks_ingest(s->tracks, batch, n, &f, &err);
  if (rc != HV_OK) {
    hv_findings_free(&f);
    fail_ingest(r, rc, &err);
    return;
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
      return;
    }
  }
  /* The entries' time, as the ledger has it: the same for the whole
   * transaction. */
  int64_t at = hv_time_now_ms();
  json_t *items = json_array();
  if (f.n)
    hv_ledger_each(s->db, first, first, entry_time, &at);
  int stream = f.n && hv__alerts_active(s->alerts);
  for (size_t i = 0; items && i < f.n; i++) {
    json_t *doc = hv_finding_record_json(s->db, &f.v[i]);
    int64_t seq = first + (int64_t)i;
    if (doc && hv_visibility(&r->who, HV_FINDING, doc) == HV_VIS_FULL)
      json_array_append_new(items, hv__finding_item(doc, seq, at));
    if (doc && stream)
      hv__alerts_publish(s->alerts, seq, at, doc);
    json_decref(doc);
  }
  hv_findings_free(&f);
  hv__reply(r, 200,
            items ? json_pack("{s:I,s:o,s:o}", "accepted", (json_int_t)n,
                              "findings", items, "ledger_seq",
                              first ? json_integer(first) : json_null())
                  : NULL);
}

/* ---- GET /v1/findings ---------------------------------------------------- */

struct fpage {
  struct hv__req *r;
  const char *kind;
  json_t *items;
  int64_t limit, next;
  int oom;
};

json_t *hv__finding_of(const struct hv_principal *who, const char *kind,
                       const struct hv_ledger_entry *e) {
  if (strcmp(e->op, "finding") != 0 || strcmp(e->kind, "finding") != 0)
    return NULL;
  json_error_t jerr;
  json_t *doc = json_loads(e->body, 0, &jerr);
  const char *k = json_string_value(json_object_get(doc, "kind"));
  if (doc && hv_visibility(who, HV_FINDING, doc) == HV_VIS_FULL &&
      (kind == NULL || kind[0] == '\0' || (k && strcmp(k, kind) == 0)))
    return doc;
  json_decref(doc);
  return NULL;
}

static int finding_entry(const struct hv_ledger_entry *e, void *ud) {
  struct fpage *p = ud;
  json_t *doc = hv__finding_of(&p->r->who, p->kind, e);
  if (doc == NULL)
    return 0;
  if ((int64_t)json_array_size(p->items) == p->limit) {
    /* One more to show: the page ends at the last one shown. */
    json_decref(doc);
    json_t *last = json_array_get(p->items, json_array_size(p->items) - 1);
    p->next = json_integer_value(json_object_get(last, "seq"));
    return 1;
  }
  if (json_array_append_new(p->items,
                            hv__finding_item(doc, e->seq, e->time_ms))) {
    p->oom = 1;
    json_decref(doc);
    return 1;
  }
  json_decref(doc);
  return 0;
}

/* GET /v1/tracks: the live picture's last report of each asset the
 * caller may see — the coordinator every asset, anyone else its own
 * party's (docs/api.md "Live tracks") — with heading and speed. */
void hv__h_tracks(struct hv__req *r) {
  struct hv__srv *s = r->srv;
  const char *party = hv__param(r, "party");
  int all = r->who.role == HV_ROLE_COORDINATOR;
  json_t *items = json_array();
  size_t n = hv_tracks_count(s->tracks);
  for (size_t i = 0; items && i < n; i++) {
    struct hv_position p;
    if (hv_tracks_at(s->tracks, i, &p) != HV_OK)
      continue;
    if ((!all && strcmp(p.party, r->party) != 0) ||
        (party && strcmp(p.party, party) != 0))
      continue;
    double speed = hypot(p.ve_mps, p.vn_mps);
    double heading = atan2(p.ve_mps, p.vn_mps) * 180.0 / M_PI;
    if (heading < 0)
      heading += 360.0;
    char t[40];
    json_array_append_new(
        items,
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "asset",
                  p.asset, "party", p.party, "class",
                  hv_asset_class_name(p.cls), "t",
                  hv_time_format(p.t_ms, t, sizeof t), "t_ms",
                  (json_int_t)p.t_ms, "lon", p.lon, "lat", p.lat, "alt_m",
                  p.alt_m, "heading_deg", heading, "speed_mps", speed,
                  "vs_mps", p.vs_mps));
  }
  hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void hv__h_findings(struct hv__req *r) {
  int64_t since = 0, limit = 100;
  if (!hv__param_int(r, "since", 0, INT64_MAX - 1, &since) ||
      !hv__param_int(r, "limit", 1, 1000, &limit))
    return;
  const char *kind = hv__param(r, "kind");
  if (kind && !hv__finding_kind_known(kind)) {
    hv__fail(r, 400, "bad_parameter", "kind",
             "kind: \"%s\" is not a kind of finding", kind);
    return;
  }
  struct fpage p = {r, kind, json_array(), limit, 0, 0};
  int rc = p.items ? hv_ledger_each(r->srv->db, since + 1, 0, finding_entry, &p)
                   : HV_ENOMEM;
  if (rc >= 0 && p.oom)
    rc = HV_ENOMEM;
  hv__reply_page(r, rc, p.items, p.next);
}
