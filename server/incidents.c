/*
 * incidents.c — adjudication and review over HTTP (docs/api.md
 * "Incidents"; the rules in docs/incidents.md):
 *
 *   POST /v1/adjudications               adjudicate (all or named), record
 *   GET  /v1/adjudications               the latest answers, filtered, as
 *                                        JSON, NDJSON, CSV or GeoJSON
 *   GET  /v1/incidents/{id}/adjudication the latest answer for one incident
 *   GET  /v1/incidents/{id}/adjudications every answer recorded for it
 *   POST /v1/reviews                     a review step on a violation
 *   GET  /v1/reviews                     the reviews
 *
 * An incident written through /v1/incidents is adjudicated at once
 * (hv__incident_adjudicate, called by objects.c) and the reply carries the
 * answer; `POST /v1/adjudications` re-runs every incident after a registry
 * change. What a caller sees of an answer is hv_adjudication_view_json's.
 *
 * All handlers run with the db lock held (routes.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

json_t *hv__incident_adjudicate(struct hv__req *r, const char *id) {
  struct hv_db *db = r->srv->db;
  struct hv_error err = {0};
  const char *ids[1] = {id};
  struct timespec t0 = hv__write_begin();
  int rc = hv_db_adjudicate(db, HV_COORDINATOR, ids, 1, NULL, &err);
  hv__write_end(r, &t0);
  if (rc != HV_OK) {
    /* The incident stands (it is recorded); its answer will be given by
     * the next POST /v1/adjudications. */
    fprintf(stderr, "haven: incident %s was not adjudicated: %s\n", id,
            err.msg[0] ? err.msg : hv_strerror(rc));
    return NULL;
  }
  const struct hv_adjudication *a = hv_db_adjudication(db, id);
  return a ? hv_adjudication_view_json(db, &r->who, a) : NULL;
}

void hv__h_adjudicate(struct hv__req *r) {
  json_t *body = NULL;
  if (!hv__body_object(r, 1, &body))
    return;
  if (body && !hv__known_members(r, body, "incidents")) {
    json_decref(body);
    return;
  }
  const json_t *list = json_object_get(body, "incidents");
  size_t n = json_array_size(list);
  const char **ids = calloc(n + 1, sizeof *ids);
  if (ids == NULL) {
    json_decref(body);
    hv__fail_lib(r, HV_ENOMEM, NULL);
    return;
  }
  if (list && !json_is_array(list)) {
    hv__fail(r, 400, "invalid", "incidents",
             "incidents: an array of incident ids (absent: every incident)");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    if ((ids[i] = json_string_value(json_array_get(list, i))) == NULL) {
      hv__fail(r, 400, "invalid", "incidents",
               "incidents[%zu]: must be an incident id", i);
      goto out;
    }
  struct hv_adjudicate_stats st;
  struct hv_error err = {0};
  struct timespec t0 = hv__write_begin();
  int rc = hv_db_adjudicate(r->srv->db, r->party, ids, n, &st, &err);
  hv__write_end(r, &t0);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
    goto out;
  }
  hv__reply(r, 200,
            json_pack("{s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I}", "incidents",
                      (json_int_t)st.incidents, "recorded",
                      (json_int_t)st.recorded, "unchanged",
                      (json_int_t)st.unchanged, "rows", "violation",
                      (json_int_t)st.by_class[HV_CLASS_VIOLATION], "uncertain",
                      (json_int_t)st.by_class[HV_CLASS_UNCERTAIN], "excluded",
                      (json_int_t)st.by_class[HV_CLASS_EXCLUDED], "outside",
                      (json_int_t)st.by_class[HV_CLASS_OUTSIDE], "site_hits",
                      (json_int_t)st.hits));
out:
  free(ids);
  json_decref(body);
}

/* Takes the text written to a memory stream as the reply. */
static void reply_stream(struct hv__req *r, char *buf, size_t len,
                         const char *type) {
  r->status = 200;
  r->text = buf;
  r->text_len = len;
  r->text_owned = 1;
  r->content_type = type;
}

void hv__h_adjudications(struct hv__req *r) {
  struct hv_adj_filter f = {.agreement = hv__param(r, "agreement"),
                            .party = hv__param(r, "party"),
                            .guarantor = hv__param(r, "guarantor"),
                            .zone = hv__param(r, "zone"),
                            .area = hv__param(r, "area")};
  const char *cls = hv__param(r, "class"), *format = hv__param(r, "format");
  enum hv_class c;
  enum hv_adj_format fmt = HV_ADJ_JSON;
  if (cls) {
    if (hv_class_parse(cls, &c) != HV_OK) {
      hv__fail(r, 400, "bad_parameter", "class",
               "class: \"%s\" is not violation, uncertain, excluded or "
               "outside",
               cls);
      return;
    }
    f.cls = 1 + (int)c;
  }
  if (format && hv_adj_format_parse(format, &fmt) != HV_OK) {
    hv__fail(r, 400, "bad_parameter", "format",
             "format: \"%s\" is not json, ndjson, csv or geojson", format);
    return;
  }
  if (!hv__param_time(r, "from", &f.from_ms) ||
      !hv__param_time(r, "to", &f.to_ms))
    return;
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  if (mem == NULL) {
    hv__fail_lib(r, HV_ENOMEM, NULL);
    return;
  }
  struct hv_error err = {0};
  int rc = hv_db_adjudications_write(r->srv->db, &r->who, &f, fmt, mem, NULL,
                                     &err);
  if (fclose(mem) != 0 && rc == HV_OK)
    rc = HV_ENOMEM;
  if (rc != HV_OK) {
    free(buf);
    hv__fail_lib(r, rc, &err);
    return;
  }
  static const char *const TYPES[HV_ADJ_FORMAT_COUNT] = {
      "application/json", "application/x-ndjson", "text/csv; charset=utf-8",
      "application/geo+json"};
  reply_stream(r, buf, len, TYPES[fmt]);
}

/* The incident of the path, or a 404. */
static const struct hv_object *incident(struct hv__req *r) {
  const struct hv_object *o = hv_db_get(r->srv->db, HV_INCIDENT, r->id);
  if (o == NULL)
    hv__fail(r, 404, "not_found", NULL, "no incident \"%s\"", r->id);
  return o;
}

void hv__h_incident_adjudication(struct hv__req *r) {
  if (incident(r) == NULL)
    return;
  const struct hv_adjudication *a = hv_db_adjudication(r->srv->db, r->id);
  if (a == NULL) {
    hv__fail(r, 404, "not_found", NULL,
             "incident \"%s\" has not been adjudicated yet (POST "
             "/v1/adjudications)",
             r->id);
    return;
  }
  json_t *v = hv_adjudication_view_json(r->srv->db, &r->who, a);
  if (v) {
    char t[40];
    json_object_set_new(v, "recorded_seq", json_integer(a->recorded_seq));
    json_object_set_new(
        v, "recorded_at",
        json_string(hv_time_format(a->recorded_ms, t, sizeof t)));
  }
  hv__reply(r, 200, v);
}

struct answers {
  struct hv__req *r;
  json_t *items;
};

/* One recorded answer into the list, as the caller may see it. */
static int answer(const struct hv_ledger_entry *e, void *ud) {
  struct answers *x = ud;
  json_error_t jerr;
  json_t *body = json_loads(e->body, 0, &jerr);
  struct hv_adjudication a = {0};
  struct hv_error err;
  int rc = body && hv_adjudication_from_json(body, &a, &err) == HV_OK
               ? HV_OK
               : HV_ESTORE;
  json_decref(body);
  json_t *v = rc == HV_OK
                  ? hv_adjudication_view_json(x->r->srv->db, &x->r->who, &a)
                  : NULL;
  hv_adjudication_free(&a);
  if (v == NULL)
    return rc == HV_OK ? HV_ENOMEM : rc;
  char t[40];
  json_object_set_new(v, "recorded_seq", json_integer(e->seq));
  json_object_set_new(v, "recorded_at",
                      json_string(hv_time_format(e->time_ms, t, sizeof t)));
  json_object_set_new(v, "recorded_by", json_string(e->author));
  json_array_append_new(x->items, v);
  return 0;
}

void hv__h_incident_adjudications(struct hv__req *r) {
  if (incident(r) == NULL)
    return;
  struct answers x = {r, json_array()};
  int rc = x.items ? hv_ledger_records(r->srv->db, "adjudication", r->id,
                                       answer, &x)
                   : HV_ENOMEM;
  if (rc != HV_OK) {
    json_decref(x.items);
    hv__fail_lib(r, rc, NULL);
    return;
  }
  hv__reply(r, 200, json_pack("{s:o}", "items", x.items));
}

/* ---- reviews ------------------------------------------------------------- */

void hv__h_review(struct hv__req *r) {
  json_t *body;
  if (!hv__body_object(r, 0, &body))
    return;
  if (!hv__known_members(r, body,
                         "incident agreement step text party deadline outcome "
                         "duplicate_of")) {
    json_decref(body);
    return;
  }
  const char *inc = json_string_value(json_object_get(body, "incident"));
  const char *agr = json_string_value(json_object_get(body, "agreement"));
  const char *step = json_string_value(json_object_get(body, "step"));
  const char *deadline = json_string_value(json_object_get(body, "deadline"));
  const char *outcome = json_string_value(json_object_get(body, "outcome"));
  struct hv_review_input in = {
      .text = json_string_value(json_object_get(body, "text")),
      .party = json_string_value(json_object_get(body, "party")),
      .duplicate_of = json_string_value(json_object_get(body, "duplicate_of")),
      .outcome = HV_REVIEW_UNDER_REVIEW};
  if (inc == NULL || agr == NULL) {
    hv__fail(r, 400, "invalid", inc ? "agreement" : "incident",
             "%s: required (the violation reviewed is an incident and an "
             "agreement)",
             inc ? "agreement" : "incident");
    goto out;
  }
  if (step == NULL || hv_review_step_parse(step, &in.step) != HV_OK) {
    hv__fail(r, 400, "invalid", "step",
             "step: one of dispute, request_info, respond, assess");
    goto out;
  }
  if (deadline && hv_time_parse(deadline, &in.deadline_ms) != HV_OK) {
    hv__fail(r, 400, "invalid", "deadline",
             "deadline: not an RFC 3339 time");
    goto out;
  }
  for (int s = 0; outcome && s < HV_REVIEW_COUNT; s++)
    if (strcmp(hv_review_state_name((enum hv_review_state)s), outcome) == 0)
      in.outcome = (enum hv_review_state)s;
  struct hv_review rv;
  struct hv_error err = {0};
  struct timespec t0 = hv__write_begin();
  int rc = hv_db_review(r->srv->db, &r->who, inc, agr, &in, &rv, &err);
  hv__write_end(r, &t0);
  if (rc != HV_OK)
    hv__fail_lib(r, rc, &err);
  else
    hv__reply(r, 200, hv_review_json(&rv, hv_time_now_ms()));
out:
  json_decref(body);
}

void hv__h_reviews(struct hv__req *r) {
  const char *open = hv__param(r, "open");
  const char *inc = hv__param(r, "incident");
  const char *agr = hv__param(r, "agreement");
  int open_only = open && (strcmp(open, "true") == 0 || open[0] == '\0');
  if (open && !open_only && strcmp(open, "false") != 0) {
    hv__fail(r, 400, "bad_parameter", "open", "open: true or false");
    return;
  }
  json_t *items = json_array();
  int64_t now = hv_time_now_ms();
  for (size_t i = 0; items && i < hv_db_review_count(r->srv->db); i++) {
    const struct hv_review *rv = hv_db_review_at(r->srv->db, i);
    if ((open_only && hv_review_assessed(rv->state)) ||
        (inc && strcmp(inc, rv->incident) != 0) ||
        (agr && strcmp(agr, rv->agreement) != 0))
      continue;
    json_array_append_new(items, hv_review_json(rv, now));
  }
  hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

/* ---- zone status and sieges ---------------------------------------------- */

void hv__h_zone_status(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  int64_t at = hv_time_now_ms(), days = 7;
  if (!hv__param_time(r, "at", &at) ||
      !hv__param_int(r, "window_days", 1, 365, &days))
    return;
  const char *zone = hv__param(r, "zone");
  struct hv_status_params p = hv_status_params_default();
  p.window_ms = days * 86400000LL;
  json_t *items = json_array();
  for (size_t i = 0; items && i < hv_db_count(db, HV_ZONE); i++) {
    const struct hv_object *z = hv_db_at(db, HV_ZONE, i);
    if (zone ? strcmp(zone, z->id) != 0 : !hv_zone_in_force(z, at))
      continue;
    struct hv_zone_state st;
    struct hv_error err = {0};
    int rc = hv_db_zone_state(db, z->id, at, &p, &st, &err);
    if (rc != HV_OK) {
      json_decref(items);
      hv__fail_lib(r, rc, &err);
      return;
    }
    json_array_append_new(items, hv_zone_state_json(&st));
  }
  if (zone && json_array_size(items) == 0) {
    json_decref(items);
    hv__fail(r, 404, "not_found", "zone", "no zone \"%s\"", zone);
    return;
  }
  hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

/* The sieges at the request's time, as items; with record, the suspected
 * ones are recorded as findings and published on the alert streams. */
static void sieges(struct hv__req *r, int64_t at, int64_t days, int record) {
  struct hv__srv *s = r->srv;
  struct hv_siege_params p = hv_siege_params_default();
  p.no_access_ms = days * 86400000LL;
  struct hv_siege *v = NULL;
  size_t n = 0;
  struct hv_error err = {0};
  int rc = hv_db_sieges(s->db, at, &p, &v, &n, &err);
  json_t *items = rc == HV_OK ? json_array() : NULL;
  for (size_t i = 0; items && i < n; i++) {
    json_t *doc = NULL;
    int recorded = 0;
    if (record && v[i].suspected) {
      struct timespec t0 = hv__write_begin();
      rc = hv_db_record_siege(s->db, &v[i], &p, &recorded, &doc, &err);
      hv__write_end(r, &t0);
      if (rc != HV_OK)
        break;
      if (doc)
        hv__alerts_publish(s->alerts, hv_db_head_seq(s->db), hv_time_now_ms(),
                           doc);
      json_decref(doc);
    }
    json_t *j = hv_siege_view_json(s->db, &r->who, &v[i]);
    if (j && record)
      json_object_set_new(j, "recorded", json_boolean(recorded));
    json_array_append_new(items, j);
  }
  free(v);
  if (rc != HV_OK) {
    json_decref(items);
    hv__fail_lib(r, rc, &err);
    return;
  }
  hv__reply(r, 200, items ? json_pack("{s:o}", "items", items) : NULL);
}

void hv__h_sieges(struct hv__req *r) {
  int64_t at = hv_time_now_ms(), days = 30;
  if (!hv__param_time(r, "at", &at) ||
      !hv__param_int(r, "period_days", 1, 365, &days))
    return;
  sieges(r, at, days, 0);
}

void hv__h_sieges_scan(struct hv__req *r) {
  json_t *body = NULL;
  if (!hv__body_object(r, 1, &body))
    return;
  if (body && !hv__known_members(r, body, "at period_days")) {
    json_decref(body);
    return;
  }
  int64_t at = hv_time_now_ms(), days = 30;
  const json_t *t = json_object_get(body, "at");
  const json_t *d = json_object_get(body, "period_days");
  int ok = 1;
  if (t && (!json_is_string(t) ||
            hv_time_parse(json_string_value(t), &at) != HV_OK))
    ok = hv__fail(r, 400, "invalid", "at", "at: not an RFC 3339 time");
  else if (d && (!json_is_integer(d) || json_integer_value(d) < 1 ||
                 json_integer_value(d) > 365))
    ok = hv__fail(r, 400, "invalid", "period_days",
                  "period_days: a whole number of days from 1 to 365");
  else if (d)
    days = json_integer_value(d);
  json_decref(body);
  if (ok)
    sieges(r, at, days, 1);
}

/* ---- bulletins ----------------------------------------------------------- */

void hv__h_bulletin(struct hv__req *r) {
  const char *date = hv__param(r, "date"), *off = hv__param(r, "utc_offset");
  const char *format = hv__param(r, "format");
  int64_t days = 1, trend = 0;
  if (!hv__param_int(r, "days", 1, 366, &days) ||
      !hv__param_int(r, "trend", 0, HV_BULLETIN_TREND_MAX, &trend))
    return;
  struct hv_bulletin_opts o = {.agreement = r->id, .trend_periods = (int)trend};
  char when[64];
  if (date && off) {
    if (strlen(date) != 10 || strlen(off) != 6 ||
        (off[0] != '+' && off[0] != '-')) {
      hv__fail(r, 400, "bad_parameter", "utc_offset",
               "utc_offset: +HH:MM, with a date YYYY-MM-DD");
      return;
    }
    snprintf(when, sizeof when, "%sT00:00:00%s", date, off);
    date = when;
  }
  if (date && hv_time_parse(date, &o.from_ms) != HV_OK) {
    hv__fail(r, 400, "bad_parameter", "date",
             "date: \"%s\" is not a date (2016-03-02) or an RFC 3339 time",
             date);
    return;
  }
  if (date == NULL) /* yesterday, UTC */
    o.from_ms = (hv_time_now_ms() / HV_BULLETIN_DAY_MS - 1) *
                HV_BULLETIN_DAY_MS;
  o.to_ms = o.from_ms + days * HV_BULLETIN_DAY_MS;
  enum hv_bulletin_format fmt = HV_BULLETIN_TEXT;
  int json = format == NULL || strcmp(format, "json") == 0;
  if (!json && hv_bulletin_format_parse(format, &fmt) != HV_OK) {
    hv__fail(r, 400, "bad_parameter", "format",
             "format: \"%s\" is not json, text, csv or svg", format);
    return;
  }
  json_t *b = NULL;
  struct hv_error err = {0};
  int rc = hv_db_bulletin(r->srv->db, &r->who, &o, &b, &err);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
    return;
  }
  if (json) {
    hv__reply(r, 200, b);
    return;
  }
  char *text = NULL;
  size_t len = 0;
  rc = hv_bulletin_render(b, fmt, &text, &len);
  json_decref(b);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, NULL);
    return;
  }
  static const char *const TYPES[HV_BULLETIN_FORMAT_COUNT] = {
      "text/plain; charset=utf-8", "text/csv; charset=utf-8",
      "image/svg+xml"};
  reply_stream(r, text, len, TYPES[fmt]);
}
