/*
 * checks.c — deconfliction requests and acknowledgements over HTTP
 * (docs/api.md, "Checks" and "Notifications"; the rules in docs/checks.md):
 *
 *   POST /v1/checks                 a planned operation → its verdict and
 *                                   receipt, recorded in the ledger
 *   POST /v1/checks/verify          a receipt → whether the ledger bears it out
 *   POST /v1/{sites,movements}/{id}/ack   a recipient acknowledges receipt
 *   GET  /v1/{sites,movements}/{id}/acks  who has and has not (notifier,
 *                                   coordinator)
 *
 * A check is rate-limited per party (a token bucket: --check-rate a
 * minute, --check-burst at once), and noted by the probing detector
 * (haven/probe.h): a sweep or a bisection raises a finding for the
 * coordinator, recorded and published on the alert streams like the
 * findings of the live picture. The verdict the caller sees is what
 * hv_verdict_json shows it: sites and movements it may not see, and every
 * blind one, by category and distance band only.
 *
 * All handlers run with the db lock held (routes.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Raises, records and publishes a probing alert, if this check makes one.
 * A failure here is logged, never the caller's error: its check stands. */
static void note_probe(struct hv__req *r, const struct hv_operation *op,
                       int64_t seq) {
  struct hv__srv *s = r->srv;
  struct hv_probe_alert a;
  int64_t now = hv_time_now_ms();
  if (hv_probe_note_op(s->probe, s->db, op, now, seq, &a) != 1)
    return;
  struct hv_error err = {0};
  int64_t at = 0;
  struct timespec t0 = hv__write_begin();
  int rc = hv_db_record_probing(s->db, &a, op->author, &at, &err);
  hv__write_end(r, &t0);
  if (rc != HV_OK) {
    fprintf(stderr, "haven: a probing alert about %s was not recorded: %s\n",
            op->author, err.msg);
    return;
  }
  json_t *doc = hv_probe_alert_json(&a, op->author);
  if (doc)
    hv__alerts_publish(s->alerts, at, now, doc);
  json_decref(doc);
}

void hv__h_check(struct hv__req *r) {
  struct hv__srv *s = r->srv;
  unsigned retry = 0;
  if (!hv__buckets_take(s->check_buckets, r->party, hv_time_now_ms(), &retry)) {
    snprintf(r->retry_after, sizeof r->retry_after, "%u", retry);
    hv__fail(r, 429, "too_many_checks", NULL,
             "%s has made more than %u checks at once or %u a minute: try "
             "again in %u s",
             r->party, s->opt.check_burst, s->opt.check_rate, retry);
    return;
  }
  json_t *body;
  if (!hv__body_object(r, 0, &body))
    return;
  struct hv_operation op;
  struct hv_error err = {0};
  int rc = hv_operation_from_json(s->db, body, &op, &err);
  json_decref(body);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
    return;
  }
  op.author = r->party;
  struct hv_verdict *v = NULL;
  int64_t seq = 0;
  rc = hv_check(s->checker, &op, &v, &err);
  if (rc == HV_OK) {
    struct timespec t0 = hv__write_begin();
    rc = hv_db_record_check(s->db, r->party, &op, v, &seq, &err);
    hv__write_end(r, &t0);
  }
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
  } else {
    hv__reply(r, 200, hv_verdict_json(&r->who, s->db, v));
    note_probe(r, &op, seq);
  }
  hv_verdict_free(v);
  hv_operation_clear(s->db, &op);
}

void hv__h_check_verify(struct hv__req *r) {
  json_t *body;
  if (!hv__body_object(r, 0, &body))
    return;
  /* The body may be the whole reply of POST /v1/checks or its receipt. */
  json_t *receipt = json_object_get(body, "receipt");
  struct hv_error err = {0};
  int rc = hv_check_verify_receipt(r->srv->db, receipt ? receipt : body, &err);
  json_decref(body);
  if (rc == HV_OK)
    hv__reply(r, 200, json_pack("{s:b}", "ok", 1));
  else if (rc == HV_ETAMPER || rc == HV_ENOTFOUND)
    hv__reply(r, 200,
              json_pack("{s:b,s:s}", "ok", 0, "message",
                        err.msg[0] ? err.msg : hv_strerror(rc)));
  else
    hv__fail_lib(r, rc, &err);
}

/* ---- acknowledgements -------------------------------------------------------
 */

/* The notification of the route, when the caller may know of it: else a
 * 404 that does not say whether it exists. */
static const struct hv_object *notification(struct hv__req *r) {
  enum hv_kind k = (enum hv_kind)r->route->kind;
  const struct hv_object *o = hv_db_get(r->srv->db, k, r->id);
  if (o == NULL || hv_visibility(&r->who, k, o->doc) == HV_VIS_HIDDEN) {
    hv__fail(r, 404, "not_found", NULL, "no %s \"%s\"", hv_kind_name(k), r->id);
    return NULL;
  }
  return o;
}

void hv__h_ack(struct hv__req *r) {
  const struct hv_object *o = notification(r);
  if (o == NULL)
    return;
  enum hv_kind k = o->kind;
  json_t *body = NULL;
  if (!hv__body_object(r, 1, &body))
    return;
  int64_t version = 0;
  int ok = hv__write_version(r, json_object_get(body, "version"), &version);
  json_decref(body);
  if (!ok)
    return;
  if (version == 0) {
    hv__fail(r, 400, "invalid", "version",
             "version: missing (the version of the %s acknowledged: %lld "
             "now)",
             hv_kind_name(k), (long long)o->version);
    return;
  }
  struct hv_error err = {0};
  struct timespec t0 = hv__write_begin();
  int rc = hv_db_ack(r->srv->db, r->party, k, r->id, version, &err);
  hv__write_end(r, &t0);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
    return;
  }
  hv__reply(r, 200,
            json_pack("{s:{s:s,s:s,s:I},s:s}", "acknowledged", "kind",
                      hv_kind_name(k), "id", r->id, "version",
                      (json_int_t)version, "party", r->party));
}

void hv__h_acks(struct hv__req *r) {
  const struct hv_object *o = notification(r);
  if (o == NULL)
    return;
  enum hv_kind k = o->kind;
  const char *by =
      k == HV_SITE ? o->u.site.notified_by : o->u.movement.notified_by;
  if (r->who.role != HV_ROLE_COORDINATOR && strcmp(by, r->party) != 0) {
    hv__fail(r, 403, "forbidden", NULL,
             "only the notifier (%s) and the coordinator read who has "
             "acknowledged %s \"%s\"",
             by, hv_kind_name(k), r->id);
    return;
  }
  struct hv_ack_status st;
  struct hv_error err = {0};
  int rc = hv_db_ack_status(r->srv->db, k, r->id, &st, &err);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
    return;
  }
  char t[40];
  json_t *rows = json_array();
  for (size_t i = 0; rows && i < st.n; i++) {
    json_t *row =
        json_pack("{s:s,s:b,s:s}", "party", st.rows[i].party, "acknowledged",
                  st.rows[i].acked, st.rows[i].acked ? "at" : "pending_since",
                  hv_time_format(st.rows[i].since_ms, t, sizeof t));
    if (row == NULL || json_array_append_new(rows, row)) {
      json_decref(rows);
      rows = NULL;
    }
  }
  char rec[40], wd[40];
  json_t *doc =
      rows
          ? json_pack(
                "{s:s,s:s,s:I,s:s,s:o,s:b,s:I,s:I,s:o}", "kind",
                hv_kind_name(k), "id", st.id, "version", (json_int_t)st.version,
                "recorded_at", hv_time_format(st.recorded_ms, rec, sizeof rec),
                "withdrawn_at",
                st.withdrawn_ms ? json_string(hv_time_format(st.withdrawn_ms,
                                                             wd, sizeof wd))
                                : json_null(),
                "blind", st.blind, "acknowledged", (json_int_t)st.n_acked,
                "pending", (json_int_t)(st.n - st.n_acked), "recipients", rows)
          : NULL;
  hv_ack_status_free(&st);
  if (doc && k == HV_SITE && o->u.site.review_by_ms != HV_TIME_OPEN) {
    /* The agency renews a site's notification by review_by; past it the
     * site still protects, and the notification is overdue for review. */
    char rb[40];
    json_object_set_new(
        doc, "review_by",
        json_string(hv_time_format(o->u.site.review_by_ms, rb, sizeof rb)));
    json_object_set_new(
        doc, "review_overdue",
        json_boolean(hv_time_now_ms() >= o->u.site.review_by_ms));
  }
  hv__reply(r, 200, doc);
}
