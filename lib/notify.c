/*
 * notify.c — acknowledgements of notifications (protected sites and
 * movements): who was told, who confirmed receipt of which version.
 *
 * Invariants:
 * - an acknowledgement is a ledger-only entry (op and kind "ack") written
 *   through hv__db_commit, the one write path; nothing else records one;
 * - db->acks holds exactly the "ack" entries of the ledger (rebuilt from
 *   them at open and on reload, added to only after a commit), so memory
 *   never shows an acknowledgement the disk does not hold;
 * - within the set, objects are sorted by key "<kind>/<id>" and each
 *   object's acknowledgements by (version, party), one per pair: a second
 *   acknowledgement of the same version by the same party is never written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/notify.h"

struct ack {
  int64_t version;
  int64_t at_ms;
  char party[HV_ID_MAX + 1];
};

struct acked {
  char *key; /* "<kind>/<id>" */
  struct ack *v;
  size_t n, cap;
};

struct hv__acks {
  struct acked *v;
  size_t n, cap;
};

void hv__acks_free(struct hv__acks *a) {
  if (a == NULL)
    return;
  for (size_t i = 0; i < a->n; i++) {
    free(a->v[i].key);
    free(a->v[i].v);
  }
  free(a->v);
  free(a);
}

static int key_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const struct acked *)elem)->key);
}

/* The index of key in a, or -(insertion point) - 1. */
static long find_obj(const struct hv__acks *a, const char *key) {
  return hv__bsearch(a->v, a->n, sizeof *a->v, key, key_cmp);
}

static int ack_cmp(const void *key, const void *elem) {
  const struct ack *k = key, *e = elem;
  if (k->version != e->version)
    return k->version < e->version ? -1 : 1;
  return strcmp(k->party, e->party);
}

/* The index of (version, party) in o, or -(insertion point) - 1. */
static long find_ack(const struct acked *o, int64_t version,
                     const char *party) {
  struct ack k = {.version = version};
  snprintf(k.party, sizeof k.party, "%s", party);
  return hv__bsearch(o->v, o->n, sizeof *o->v, &k, ack_cmp);
}

/* The acknowledgements of key, or NULL. */
static const struct acked *acked_of(const struct hv__acks *a, const char *key) {
  long i = a ? find_obj(a, key) : -1;
  return i >= 0 ? &a->v[i] : NULL;
}

/* Adds an acknowledgement; one already there (same version and party) is
 * kept as it is (the first one counts). */
static int acks_add(struct hv__acks *a, const char *key, int64_t version,
                    const char *party, int64_t at_ms) {
  if (strlen(party) > HV_ID_MAX)
    return HV_EINVAL;
  long i = find_obj(a, key);
  if (i < 0) {
    struct acked *nv = hv__grow(a->v, &a->cap, a->n + 1, sizeof *a->v);
    if (nv == NULL)
      return HV_ENOMEM;
    a->v = nv;
    size_t at = (size_t)(-i - 1);
    char *k = strdup(key);
    if (k == NULL)
      return HV_ENOMEM;
    memmove(a->v + at + 1, a->v + at, (a->n - at) * sizeof *a->v);
    a->v[at] = (struct acked){.key = k};
    a->n++;
    i = (long)at;
  }
  struct acked *o = &a->v[i];
  long j = find_ack(o, version, party);
  if (j >= 0)
    return HV_OK;
  struct ack *nv = hv__grow(o->v, &o->cap, o->n + 1, sizeof *o->v);
  if (nv == NULL)
    return HV_ENOMEM;
  o->v = nv;
  size_t at = (size_t)(-j - 1);
  memmove(o->v + at + 1, o->v + at, (o->n - at) * sizeof *o->v);
  o->v[at].version = version;
  o->v[at].at_ms = at_ms;
  snprintf(o->v[at].party, sizeof o->v[at].party, "%s", party);
  o->n++;
  return HV_OK;
}

static void make_key(char *buf, size_t size, enum hv_kind kind,
                     const char *id) {
  snprintf(buf, size, "%s/%s", hv_kind_name(kind), id);
}

/* One "ack" entry of the ledger into the set ud. */
static int load_entry(const struct hv_ledger_entry *e, void *ud) {
  struct hv__acks *a = ud;
  if (strcmp(e->op, "ack") != 0)
    return HV_OK;
  json_error_t jerr;
  json_t *body = json_loads(e->body, 0, &jerr);
  const json_t *obj = json_object_get(body, "object");
  const char *kname = json_string_value(json_object_get(obj, "kind"));
  const char *id = json_string_value(json_object_get(obj, "id"));
  const char *party = json_string_value(json_object_get(body, "party"));
  json_int_t version = json_integer_value(json_object_get(obj, "version"));
  enum hv_kind kind;
  int rc = HV_ESTORE;
  if (kname && id && party && version > 0 &&
      hv_kind_parse(kname, &kind) == HV_OK && strlen(id) <= HV_ID_MAX) {
    char key[2 * HV_ID_MAX];
    make_key(key, sizeof key, kind, id);
    rc = acks_add(a, key, version, party, e->time_ms);
    if (rc == HV_EINVAL)
      rc = HV_ESTORE;
  }
  json_decref(body);
  return rc;
}

int hv__acks_load(struct hv_db *db, struct hv__acks **out) {
  *out = NULL;
  struct hv__acks *a = calloc(1, sizeof *a);
  if (a == NULL)
    return HV_ENOMEM;
  int rc =
      db->store->ops->each_entry(db->store, 1, 0, "ack", NULL, load_entry, a);
  if (rc != HV_OK) {
    hv__acks_free(a);
    return rc;
  }
  *out = a;
  return HV_OK;
}

/* ---- who is a recipient -------------------------------------------------- */

static hv_ids recipients_of(const struct hv_object *o) {
  return o->kind == HV_SITE ? o->u.site.recipients : o->u.movement.recipients;
}

static int blind_of(const struct hv_object *o) {
  return o->kind == HV_SITE ? o->u.site.blind : o->u.movement.blind;
}

static const char *notifier_of(const struct hv_object *o) {
  return o->kind == HV_SITE ? o->u.site.notified_by : o->u.movement.notified_by;
}

static int64_t withdrawn_of(const struct hv_object *o) {
  return o->kind == HV_SITE ? o->u.site.withdrawn_ms
                            : o->u.movement.withdrawn_ms;
}

/* The parties "*" delivers to: those that can strike or be asked not to,
 * states and armed groups (not agencies, monitors or designated groups). */
static int everyone_kind(const struct hv_object *party) {
  return strcmp(party->u.party.kind, "state") == 0 ||
         strcmp(party->u.party.kind, "armed_group") == 0;
}

static int is_recipient(const struct hv_db *db, const struct hv_object *o,
                        const char *party) {
  hv_ids r = recipients_of(o);
  if (hv_ids_contain(r, party))
    return 1;
  if (!hv_ids_contain(r, "*"))
    return 0;
  const struct hv_object *p = hv_db_get(db, HV_PARTY, party);
  return p != NULL && everyone_kind(p);
}

/* ---- acknowledging ------------------------------------------------------- */

int hv_db_ack(struct hv_db *db, const char *author, enum hv_kind kind,
              const char *id, int64_t version, struct hv_error *err) {
  if (kind != HV_SITE && kind != HV_MOVEMENT)
    return hv_error_set(err, HV_EINVAL,
                        "kind: only sites and movements are acknowledged");
  const struct hv_object *o = id ? hv_db_get(db, kind, id) : NULL;
  /* A blind notification is hidden from all but its notifier: to anyone
   * else it does not exist. */
  if (o == NULL || (blind_of(o) && strcmp(author, notifier_of(o)) != 0 &&
                    strcmp(author, HV_COORDINATOR) != 0))
    return hv_error_set(err, HV_ENOTFOUND, "no %s \"%s\"", hv_kind_name(kind),
                        id ? id : "");
  if (!is_recipient(db, o, author))
    return hv_error_set(err, HV_EPERM,
                        "%s \"%s\" is not delivered to \"%s\": only its "
                        "recipients acknowledge it",
                        hv_kind_name(kind), id, author);
  if (version < 1 || version > o->version)
    return hv_error_set(err, HV_ENOTFOUND,
                        "version: %s \"%s\" has no version %lld (current: "
                        "%lld)",
                        hv_kind_name(kind), id, (long long)version,
                        (long long)o->version);
  if (version < o->version)
    return hv_error_set(err, HV_ECONFLICT,
                        "version: %lld is superseded; acknowledge the current "
                        "version of %s \"%s\", %lld",
                        (long long)version, hv_kind_name(kind), id,
                        (long long)o->version);
  if (withdrawn_of(o))
    return hv_error_set(err, HV_EINVAL,
                        "%s \"%s\" is withdrawn: nothing to acknowledge",
                        hv_kind_name(kind), id);
  char key[2 * HV_ID_MAX];
  make_key(key, sizeof key, kind, id);
  const struct acked *prev = acked_of(db->acks, key);
  if (prev && find_ack(prev, version, author) >= 0)
    return HV_OK; /* acknowledged already: harmless */
  if (strlen(author) > HV_ID_MAX)
    return hv_error_set(err, HV_EREF, "author: no party \"%s\"", author);
  json_t *body =
      json_pack("{s:{s:s,s:s,s:I},s:s}", "object", "kind", hv_kind_name(kind),
                "id", id, "version", (json_int_t)version, "party", author);
  char *text = body ? hv__canon(body) : NULL;
  json_decref(body);
  if (text == NULL)
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  struct hv__change c = {.op = "ack",
                         .record_kind = "ack",
                         .record_body = text,
                         .record_id = key,
                         .record_version = version};
  int rc = hv__db_commit(db, author, &c, 1, err);
  free(text);
  if (rc != HV_OK)
    return rc;
  /* Durable now. Out of memory here leaves memory behind the disk (the
   * acknowledgement shows as pending until the next open), never ahead. */
  return acks_add(db->acks, key, version, author, db->head_time_ms);
}

/* ---- status -------------------------------------------------------------- */

struct recorded {
  int64_t version, at_ms;
};

static int find_recorded(const struct hv_ledger_entry *e, void *ud) {
  struct recorded *r = ud;
  if (e->version == r->version && strcmp(e->op, "delete") != 0)
    r->at_ms = e->time_ms;
  return HV_OK;
}

static int row_cmp(const void *a, const void *b) {
  return strcmp(((const struct hv_ack_row *)a)->party,
                ((const struct hv_ack_row *)b)->party);
}

static int add_row(struct hv_ack_status *s, size_t *cap, const char *party,
                   const struct acked *acks, int64_t version,
                   int64_t pending_ms) {
  struct hv_ack_row *nv = hv__grow(s->rows, cap, s->n + 1, sizeof *s->rows);
  if (nv == NULL)
    return HV_ENOMEM;
  s->rows = nv;
  struct hv_ack_row *r = &s->rows[s->n++];
  memset(r, 0, sizeof *r);
  snprintf(r->party, sizeof r->party, "%s", party);
  long j = acks ? find_ack(acks, version, party) : -1;
  r->acked = j >= 0;
  r->since_ms = j >= 0 ? acks->v[j].at_ms : pending_ms;
  s->n_acked += (size_t)r->acked;
  return HV_OK;
}

int hv_db_ack_status(struct hv_db *db, enum hv_kind kind, const char *id,
                     struct hv_ack_status *out, struct hv_error *err) {
  memset(out, 0, sizeof *out);
  if (kind != HV_SITE && kind != HV_MOVEMENT)
    return hv_error_set(err, HV_EINVAL,
                        "kind: only sites and movements are acknowledged");
  const struct hv_object *o = id ? hv_db_get(db, kind, id) : NULL;
  if (o == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "no %s \"%s\"", hv_kind_name(kind),
                        id ? id : "");
  out->kind = kind;
  snprintf(out->id, sizeof out->id, "%s", id);
  out->version = o->version;
  out->blind = blind_of(o);
  out->withdrawn_ms = withdrawn_of(o);
  /* When this version was recorded: its ledger entry (the index on kind
   * and id makes this a walk of the object's own entries only). */
  struct recorded rec = {o->version, 0};
  int rc = db->store->ops->each_entry(db->store, 1, 0, hv_kind_name(kind), id,
                                      find_recorded, &rec);
  if (rc != HV_OK)
    return hv_error_set(err, rc, "%s: cannot read the ledger: %s", db->dir,
                        db->store->ops->errmsg(db->store));
  out->recorded_ms = rec.at_ms;
  if (out->blind)
    return HV_OK; /* delivered to nobody */
  char key[2 * HV_ID_MAX];
  make_key(key, sizeof key, kind, id);
  const struct acked *acks = acked_of(db->acks, key);
  hv_ids r = recipients_of(o);
  size_t cap = 0;
  if (hv_ids_contain(r, "*")) {
    for (size_t i = 0; rc == HV_OK && i < hv_db_count(db, HV_PARTY); i++) {
      const struct hv_object *p = hv_db_at(db, HV_PARTY, i);
      if (everyone_kind(p))
        rc = add_row(out, &cap, p->id, acks, o->version, rec.at_ms);
    }
  } else {
    for (size_t i = 0; rc == HV_OK && r && r[i]; i++)
      rc = add_row(out, &cap, r[i], acks, o->version, rec.at_ms);
    if (out->n > 1)
      qsort(out->rows, out->n, sizeof *out->rows, row_cmp);
  }
  if (rc != HV_OK) {
    hv_ack_status_free(out);
    return hv_error_set(err, rc, "out of memory");
  }
  return HV_OK;
}

void hv_ack_status_free(struct hv_ack_status *s) {
  if (s == NULL)
    return;
  free(s->rows);
  s->rows = NULL;
  s->n = s->n_acked = 0;
}

int hv__acks_first(const struct hv_db *db, enum hv_kind kind, const char *id,
                   const char *party, int64_t *at_ms) {
  char key[2 * HV_ID_MAX];
  make_key(key, sizeof key, kind, id);
  const struct acked *o = acked_of(db->acks, key);
  int found = 0;
  for (size_t i = 0; o && i < o->n; i++)
    if (strcmp(o->v[i].party, party) == 0 &&
        (!found || o->v[i].at_ms < *at_ms)) {
      *at_ms = o->v[i].at_ms;
      found = 1;
    }
  return found;
}

int hv__recipient(const struct hv_db *db, const struct hv_object *o,
                  const char *party) {
  if (blind_of(o))
    return 0;
  hv_ids r = recipients_of(o);
  if (r && r[0] && strcmp(r[0], "*") == 0) {
    const struct hv_object *p = hv_db_get(db, HV_PARTY, party);
    return p != NULL && everyone_kind(p);
  }
  return hv_ids_contain(r, party);
}
