/*
 * record.c — the routes about the record and the server itself: the
 * ledger (entries by range, verification), tokens (list, create, revoke),
 * /healthz, /metrics and /openapi.json.
 *
 * Need-to-know: ledger entries are all listed, each through
 * hv_ledger_entry_view_json(), which withholds a body the caller may not
 * see in full, and the id of an object it may not see at all (their hashes
 * stay, so the copy verifies). Token listings never
 * carry a token's hash; the token text exists only in the reply to its
 * creation.
 *
 * All handlers run with the db lock held (routes.c).
 */
#include <string.h>

#include "internal.h"

void hv__h_healthz(struct hv__req *r) {
  hv__reply(r, 200,
            json_pack("{s:s,s:I}", "status", "ok", "ledger_head",
                      (json_int_t)hv_db_head_seq(r->srv->db)));
}

void hv__h_metrics(struct hv__req *r) {
  struct hv__gauges g;
  for (int k = 0; k < HV_KIND_COUNT; k++)
    g.counts[k] = hv_db_count(r->srv->db, (enum hv_kind)k);
  g.assets = hv_tracks_count(r->srv->tracks);
  hv__alerts_counts(r->srv->alerts, &g.streams, &g.streams_dropped);
  char *text;
  size_t len;
  if (hv__metrics_text(r->srv->metrics, &g, &text, &len) != HV_OK) {
    hv__fail(r, 500, "internal", NULL, "out of memory");
    return;
  }
  r->status = 200;
  r->text = text;
  r->text_len = len;
  r->text_owned = 1;
  r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void hv__h_openapi(struct hv__req *r) {
  r->status = 200;
  r->text = (const char *)hv__openapi_json;
  r->text_len = hv__openapi_json_len;
  r->text_owned = 0;
  r->content_type = "application/json";
}

/* ---- the ledger -----------------------------------------------------------
 */

struct page {
  struct hv__req *r;
  json_t *items;
  int64_t limit, next;
};

static int ledger_entry(const struct hv_ledger_entry *e, void *ud) {
  struct page *p = ud;
  if ((int64_t)json_array_size(p->items) == p->limit) {
    p->next = e->seq;
    return 1;
  }
  if (json_array_append_new(p->items,
                            hv_ledger_entry_view_json(&p->r->who, e)) != 0) {
    json_decref(p->items);
    p->items = NULL;
    return 1;
  }
  return 0;
}

void hv__h_ledger(struct hv__req *r) {
  int64_t from = 1, to = 0, limit = 100;
  if (!hv__param_int(r, "from", 1, INT64_MAX, &from) ||
      !hv__param_int(r, "to", 0, INT64_MAX, &to) ||
      !hv__param_int(r, "limit", 1, 1000, &limit))
    return;
  if (to != 0 && to < from) {
    hv__fail(r, 400, "bad_parameter", "to", "to: %lld is before from (%lld)",
             (long long)to, (long long)from);
    return;
  }
  struct page p = {r, json_array(), limit, 0};
  int rc = p.items ? hv_ledger_each(r->srv->db, from, to, ledger_entry, &p)
                   : HV_ENOMEM;
  hv__reply_page(r, rc, p.items, p.next); /* rc > 0: ledger_entry stopped */
}

void hv__h_verify(struct hv__req *r) {
  struct hv_verify_report rep;
  struct hv_error err = {0};
  memset(&rep, 0, sizeof rep);
  int rc = hv_ledger_verify(r->srv->db, &rep, &err);
  if (rc == HV_OK)
    hv__reply(r, 200,
              json_pack("{s:b,s:I,s:s}", "ok", 1, "entries",
                        (json_int_t)rep.entries, "head", rep.head_hex));
  else if (rc == HV_ETAMPER)
    hv__reply(r, 200,
              json_pack("{s:b,s:I,s:s,s:I}", "ok", 0, "bad_seq",
                        (json_int_t)rep.bad_seq, "message",
                        err.msg[0] ? err.msg : hv_strerror(rc), "entries",
                        (json_int_t)rep.entries));
  else
    hv__fail_lib(r, rc, &err);
}

/* ---- tokens ---------------------------------------------------------------
 */

/* What is shown of a token: never its hash. */
static json_t *token_json(const struct hv_object *t) {
  json_t *label = json_object_get(t->doc, "label");
  json_t *created = json_object_get(t->doc, "created_at");
  return json_pack("{s:s,s:s,s:s,s:O,s:O,s:b,s:I}", "id", t->id, "party",
                   t->u.token.party, "role",
                   hv_role_name((enum hv_role)t->u.token.role), "label",
                   json_is_string(label) ? label : json_null(), "created",
                   json_is_string(created) ? created : json_null(), "revoked",
                   t->u.token.revoked, "version", (json_int_t)t->version);
}

void hv__h_tokens(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  int64_t limit = 100;
  const char *cursor = hv__param(r, "cursor");
  if (!hv__param_int(r, "limit", 1, 1000, &limit))
    return;
  json_t *items = json_array();
  const char *last = NULL;
  size_t total = 0;
  int more = 0;
  for (size_t i = 0; items && i < hv_db_count(db, HV_TOKEN); i++) {
    const struct hv_object *t = hv_db_at(db, HV_TOKEN, i);
    if (hv_visibility(&r->who, HV_TOKEN, t->doc) == HV_VIS_HIDDEN)
      continue;
    total++;
    if (cursor && strcmp(t->id, cursor) <= 0)
      continue;
    if ((int64_t)json_array_size(items) == limit) {
      more = 1;
      continue;
    }
    json_array_append_new(items, token_json(t));
    last = t->id;
  }
  hv__reply(r, 200,
            items ? json_pack("{s:o,s:o,s:I}", "items", items, "next",
                              more ? json_string(last) : json_null(), "total",
                              (json_int_t)total)
                  : NULL);
}

void hv__h_token_create(struct hv__req *r) {
  json_t *doc;
  if (!hv__body_object(r, 0, &doc))
    return;
  const char *key;
  json_t *v;
  json_object_foreach(doc, key, v) {
    if (strcmp(key, "party") != 0 && strcmp(key, "role") != 0 &&
        strcmp(key, "label") != 0) {
      hv__fail(r, 400, "invalid", key,
               "%s: unknown member (expected: party, role, label)", key);
      goto out;
    }
  }
  const char *party = json_string_value(json_object_get(doc, "party"));
  const char *role_text = json_string_value(json_object_get(doc, "role"));
  json_t *jl = json_object_get(doc, "label");
  enum hv_role role;
  if (party == NULL) {
    hv__fail(r, 400, "invalid", "party", "party: a party id is required");
    goto out;
  }
  if (role_text == NULL || hv_role_parse(role_text, &role) != HV_OK) {
    hv__fail(r, 400, "invalid", "role",
             "role: must be one of coordinator, party, agency, monitor");
    goto out;
  }
  if (jl && !json_is_null(jl) && !json_is_string(jl)) {
    hv__fail(r, 400, "invalid", "label", "label: must be a string");
    goto out;
  }
  char text[HV_TOKEN_TEXT_MAX], id[16];
  struct hv_error err = {0};
  struct timespec t = hv__write_begin();
  int rc = hv_db_token_create(r->srv->db, r->party, party, role,
                              json_string_value(jl), text, id, &err);
  hv__write_end(r, &t);
  if (rc == HV_ENOTFOUND || rc == HV_EREF)
    hv__fail(r, 400, "invalid", "party", "%s",
             err.msg[0] ? err.msg : "party: no such party");
  else if (rc == HV_EINVAL)
    hv__fail(r, 400, "invalid", "role", "%s",
             err.msg[0] ? err.msg : "role: does not fit the party");
  else if (rc != HV_OK)
    hv__fail_lib(r, rc, &err);
  else
    hv__reply(r, 201, json_pack("{s:s,s:s}", "token", text, "id", id));
  explicit_bzero(text, sizeof text);
out:
  json_decref(doc);
}

void hv__h_token_revoke(struct hv__req *r) {
  struct hv_db *db = r->srv->db;
  const struct hv_object *t = hv_db_get(db, HV_TOKEN, r->id);
  if (t == NULL || hv_visibility(&r->who, HV_TOKEN, t->doc) == HV_VIS_HIDDEN) {
    hv__fail(r, 404, "not_found", NULL, "no token \"%s\"", r->id);
    return;
  }
  struct hv_error err = {0};
  struct timespec ts = hv__write_begin();
  int rc = hv_db_token_revoke(db, r->party, r->id, &err);
  hv__write_end(r, &ts);
  if (rc != HV_OK) {
    hv__fail_lib(r, rc, &err);
    return;
  }
  t = hv_db_get(db, HV_TOKEN, r->id);
  if (t)
    hv__reply(r, 200, token_json(t));
  else
    hv__reply(r, 200, json_pack("{s:s,s:b}", "id", r->id, "revoked", 1));
}
