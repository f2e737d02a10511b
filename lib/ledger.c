/*
 * ledger.c — hashing, walking, verifying and exporting the hash chain.
 *
 * Invariant checked by verification: entries are numbered 1..N without a
 * gap; entry n's prev_hash is entry n-1's hash (32 zero bytes for entry 1);
 * entry n's hash is the BLAKE2b-256 of haven/ledger.h's definition; entry N
 * is the head the store recorded; and the store's current objects are
 * exactly the documents of the last entry that wrote each object.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db_internal.h"

static void put_u64(crypto_generichash_state *st, int64_t v) {
  uint8_t b[8];
  uint64_t u = (uint64_t)v;
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(u >> (8 * i));
  crypto_generichash_update(st, b, 8);
}

static void put_lp(crypto_generichash_state *st, const char *s) {
  size_t n = strlen(s);
  uint8_t b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t)((uint32_t)n >> (8 * i));
  crypto_generichash_update(st, b, 4);
  crypto_generichash_update(st, (const uint8_t *)s, n);
}

/* The entry hash of e, its id given by the id's hash ih and its body by the
 * body's hash bh: both enter as 32 bytes of their own (fixed length, so no
 * length prefix), which is what lets a copy withhold either. */
static void hash_entry(const struct hv_ledger_entry *e,
                       const uint8_t ih[HV_HASH_BYTES],
                       const uint8_t bh[HV_HASH_BYTES],
                       uint8_t out[HV_HASH_BYTES]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HV_HASH_BYTES);
  crypto_generichash_update(&st, e->prev_hash, HV_HASH_BYTES);
  put_u64(&st, e->seq);
  put_u64(&st, e->time_ms);
  put_u64(&st, e->version);
  put_lp(&st, e->author);
  put_lp(&st, e->op);
  put_lp(&st, e->kind);
  crypto_generichash_update(&st, ih, HV_HASH_BYTES);
  crypto_generichash_update(&st, bh, HV_HASH_BYTES);
  crypto_generichash_final(&st, out, HV_HASH_BYTES);
}

void hv_ledger_hash(const struct hv_ledger_entry *e,
                    uint8_t out[HV_HASH_BYTES]) {
  uint8_t ih[HV_HASH_BYTES], bh[HV_HASH_BYTES];
  hv_ledger_id_hash(e->id, ih);
  hv_ledger_body_hash(e->body, bh);
  hash_entry(e, ih, bh, out);
}

void hv_ledger_body_hash(const char *body, uint8_t out[HV_HASH_BYTES]) {
  crypto_generichash(out, HV_HASH_BYTES, (const uint8_t *)body, strlen(body),
                     NULL, 0);
}

void hv_ledger_id_hash(const char *id, uint8_t out[HV_HASH_BYTES]) {
  crypto_generichash(out, HV_HASH_BYTES, (const uint8_t *)id, strlen(id), NULL,
                     0);
}

const char *hv_hash_hex(const uint8_t hash[HV_HASH_BYTES], char *buf) {
  sodium_bin2hex(buf, 2 * HV_HASH_BYTES + 1, hash, HV_HASH_BYTES);
  return buf;
}

/* ---- chain walking, shared by the store and export checks --------------- */

struct walk {
  int64_t expect_seq;
  uint8_t prev[HV_HASH_BYTES];
  int64_t bad_seq;
  struct hv_error *err;
};

/* Checks one entry against the chain so far; HV_ETAMPER on the first bad.
 * ih: the id's hash when the id is withheld (e->id NULL), else NULL; bh: the
 * body's hash when the body is withheld (e->body unused), else NULL. */
static int walk_entry(struct walk *w, const struct hv_ledger_entry *e,
                      const uint8_t *ih, const uint8_t *bh) {
  uint8_t h[HV_HASH_BYTES];
  char hex[65];
  if (e->seq != w->expect_seq) {
    w->bad_seq = w->expect_seq;
    return hv_error_set(w->err, HV_ETAMPER,
                        "entry %lld: missing or out of order (found entry "
                        "%lld where %lld was expected)",
                        (long long)w->expect_seq, (long long)e->seq,
                        (long long)w->expect_seq);
  }
  if (memcmp(e->prev_hash, w->prev, HV_HASH_BYTES) != 0) {
    w->bad_seq = e->seq;
    return hv_error_set(w->err, HV_ETAMPER,
                        "entry %lld: prev_hash does not match the hash of "
                        "entry %lld (an entry was removed, inserted or "
                        "reordered)",
                        (long long)e->seq, (long long)e->seq - 1);
  }
  uint8_t mine_ih[HV_HASH_BYTES], mine_bh[HV_HASH_BYTES];
  if (ih == NULL) {
    hv_ledger_id_hash(e->id, mine_ih);
    ih = mine_ih;
  }
  if (bh == NULL) {
    hv_ledger_body_hash(e->body, mine_bh);
    bh = mine_bh;
  }
  hash_entry(e, ih, bh, h);
  if (memcmp(h, e->hash, HV_HASH_BYTES) != 0) {
    w->bad_seq = e->seq;
    return hv_error_set(w->err, HV_ETAMPER,
                        "entry %lld (%s %s %s): content does not match its "
                        "hash (recomputed %.16s…): the entry was changed",
                        (long long)e->seq, e->op, e->kind,
                        e->id ? e->id : "(id withheld)", hv_hash_hex(h, hex));
  }
  memcpy(w->prev, e->hash, HV_HASH_BYTES);
  w->expect_seq++;
  return HV_OK;
}

/* The last document each object got from the ledger, keyed "kind\nid". */
struct projection {
  struct walk w;
  json_t *last; /* object: key -> [version, body] */
};

int hv__ledger_only(const char *op) {
  static const char *const OPS[] = {"genesis", "finding",      "ack",
                                    "check",   "adjudication", "review",
                                    NULL};
  for (size_t i = 0; OPS[i]; i++)
    if (strcmp(OPS[i], op) == 0)
      return 1;
  return 0;
}

static int verify_entry(const struct hv_ledger_entry *e, void *ud) {
  struct projection *p = ud;
  int rc = walk_entry(&p->w, e, NULL, NULL);
  /* The genesis entry and the ledger-only records write no object:
   * nothing to project. */
  if (rc != HV_OK || hv__ledger_only(e->op))
    return rc;
  int del = strcmp(e->op, "delete") == 0;
  size_t klen = strlen(e->kind) + strlen(e->id) + 2;
  char *key = malloc(klen);
  if (key == NULL)
    return HV_ENOMEM;
  snprintf(key, klen, "%s\n%s", e->kind, e->id);
  if (del)
    json_object_del(p->last, key); /* the object left the store */
  else
    json_object_set_new(p->last, key,
                        json_pack("[IsI]", (json_int_t)e->version, e->body,
                                  (json_int_t)e->seq));
  free(key);
  return HV_OK;
}

struct objcheck {
  json_t *last;
  struct hv_error *err;
  int64_t bad;     /* the entry to name for the first mismatch */
  int64_t entries; /* entries in the ledger */
};

static int verify_object(const struct hv__store_object *o, void *ud) {
  struct objcheck *c = ud;
  size_t klen = strlen(o->kind) + strlen(o->id) + 2;
  char *key = malloc(klen);
  if (key == NULL)
    return HV_ENOMEM;
  snprintf(key, klen, "%s\n%s", o->kind, o->id);
  json_t *want = json_object_get(c->last, key);
  int rc = HV_OK;
  if (want == NULL) {
    /* Nothing in the chain wrote it: an entry that should precede it is
     * missing; name the place after the last one. */
    c->bad = c->entries + 1;
    rc = hv_error_set(c->err, HV_ETAMPER,
                      "entry %lld: %s \"%s\" is in the store but written by "
                      "no ledger entry",
                      (long long)c->bad, o->kind, o->id);
  } else if (o->version > json_integer_value(json_array_get(want, 0))) {
    /* The store holds a later version than any entry wrote: the entries
     * that wrote it are gone from the end of the chain. */
    c->bad = c->entries + 1;
    rc = hv_error_set(c->err, HV_ETAMPER,
                      "entry %lld: %s \"%s\" is at version %lld in the store "
                      "but the ledger's last entry for it (%lld) wrote version "
                      "%lld: the entries after it are missing",
                      (long long)c->bad, o->kind, o->id, (long long)o->version,
                      (long long)json_integer_value(json_array_get(want, 2)),
                      (long long)json_integer_value(json_array_get(want, 0)));
  } else if (json_integer_value(json_array_get(want, 0)) != o->version ||
             strcmp(json_string_value(json_array_get(want, 1)), o->body) != 0) {
    c->bad = json_integer_value(json_array_get(want, 2));
    rc = hv_error_set(c->err, HV_ETAMPER,
                      "entry %lld: %s \"%s\": the stored object (version "
                      "%lld) differs from what this entry, the last to write "
                      "it, wrote (version %lld)",
                      (long long)c->bad, o->kind, o->id, (long long)o->version,
                      (long long)json_integer_value(json_array_get(want, 0)));
  }
  if (want)
    json_object_del(c->last, key);
  free(key);
  return rc;
}

/* Verifies the chain and the projection held by store s. */
static int verify_store(struct hv__store *s, struct hv_verify_report *report,
                        struct hv_error *err) {
  memset(report, 0, sizeof *report);
  const struct hv__store_ops *ops = s->ops;
  struct projection p = {{1, {0}, 0, err}, json_object()};
  if (p.last == NULL)
    return HV_ENOMEM;
  int rc = ops->each_entry(s, 1, 0, NULL, NULL, verify_entry, &p);
  report->entries = p.w.expect_seq - 1;
  hv_hash_hex(p.w.prev, report->head_hex);
  if (rc == HV_ESTORE)
    hv_error_set(err, rc, "cannot read the ledger: %s", ops->errmsg(s));
  if (rc != HV_OK)
    goto done;
  int64_t head_seq;
  uint8_t head_hash[HV_HASH_BYTES];
  if ((rc = ops->head(s, &head_seq, head_hash)) != HV_OK)
    goto done;
  if (head_seq == report->entries &&
      memcmp(head_hash, p.w.prev, HV_HASH_BYTES) != 0) {
    p.w.bad_seq = head_seq;
    rc = hv_error_set(err, HV_ETAMPER,
                      "entry %lld: the store's recorded head hash differs "
                      "from the hash of this, the last entry",
                      (long long)head_seq);
    goto done;
  }
  if (head_seq != report->entries) {
    p.w.bad_seq =
        report->entries < head_seq ? report->entries + 1 : head_seq + 1;
    rc = hv_error_set(err, HV_ETAMPER,
                      "entry %lld: the store's head is entry %lld but the "
                      "ledger ends at entry %lld (entries were removed or "
                      "appended behind haven's back)",
                      (long long)p.w.bad_seq, (long long)head_seq,
                      (long long)report->entries);
    goto done;
  }
  struct objcheck oc = {p.last, err, 0, report->entries};
  if ((rc = ops->each_object(s, verify_object, &oc)) != HV_OK) {
    if (rc == HV_ESTORE)
      hv_error_set(err, rc, "cannot read the objects: %s", ops->errmsg(s));
    p.w.bad_seq = oc.bad;
    goto done;
  }
  if (json_object_size(p.last) > 0) {
    const char *key = json_object_iter_key(json_object_iter(p.last));
    const char *nl = strchr(key, '\n');
    json_t *want = json_object_iter_value(json_object_iter(p.last));
    p.w.bad_seq = json_integer_value(json_array_get(want, 2));
    rc = hv_error_set(err, HV_ETAMPER,
                      "entry %lld: wrote %.*s \"%s\", which is missing from "
                      "the store",
                      (long long)p.w.bad_seq, (int)(nl - key), key, nl + 1);
  }
done:
  report->bad_seq = p.w.bad_seq;
  json_decref(p.last);
  return rc;
}

int hv_ledger_verify(struct hv_db *db, struct hv_verify_report *report,
                     struct hv_error *err) {
  return verify_store(db->store, report, err);
}

int hv_ledger_verify_dir(const char *dir, struct hv_verify_report *report,
                         struct hv_error *err) {
  memset(report, 0, sizeof *report);
  char path[4096];
  struct stat sb;
  snprintf(path, sizeof path, "%s/haven.db", dir);
  if (stat(path, &sb) != 0)
    return hv_error_set(err, HV_EIO, "%s: no haven store here (%s)", dir,
                        strerror(errno));
  struct hv__store *s;
  int rc = hv__store_sqlite_open(dir, 1, &s, err);
  if (rc != HV_OK)
    return rc;
  rc = verify_store(s, report, err);
  s->ops->close(s);
  return rc;
}

/* ---- export ---------------------------------------------------------------
 */

/* One entry as an export line (borrowed e). With body 0 the body is
 * withheld and only its hash given, with id 0 the id likewise (id null):
 * the line still verifies, both enter the hash through their hashes. */
json_t *hv_ledger_entry_json(const struct hv_ledger_entry *e, int body,
                             int id) {
  char t[32], ph[65], h[65], bh[65], ih[65];
  uint8_t bhash[HV_HASH_BYTES], ihash[HV_HASH_BYTES];
  hv_ledger_body_hash(e->body, bhash);
  hv_ledger_id_hash(e->id, ihash);
  json_t *j = json_pack(
      "{s:I,s:s,s:I,s:s,s:s,s:s,s:o,s:s,s:I,s:s,s:s,s:s}", "seq",
      (json_int_t)e->seq, "time", hv_time_format(e->time_ms, t, sizeof t),
      "time_ms", (json_int_t)e->time_ms, "author", e->author, "op", e->op,
      "kind", e->kind, "id", id ? json_string(e->id) : json_null(), "id_hash",
      hv_hash_hex(ihash, ih), "version", (json_int_t)e->version, "body_hash",
      hv_hash_hex(bhash, bh), "prev_hash", hv_hash_hex(e->prev_hash, ph),
      "hash", hv_hash_hex(e->hash, h));
  if (j && body && json_object_set_new(j, "body", json_string(e->body))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

static int export_entry(const struct hv_ledger_entry *e, void *ud) {
  FILE *f = ud;
  json_t *j = hv_ledger_entry_json(e, 1, 1);
  if (j == NULL)
    return HV_ENOMEM;
  int rc = json_dumpf(j, f, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  if (rc != 0 || fputc('\n', f) == EOF)
    return HV_EIO;
  return HV_OK;
}

int hv_ledger_export(struct hv_db *db, FILE *f, struct hv_error *err) {
  int rc =
      db->store->ops->each_entry(db->store, 1, 0, NULL, NULL, export_entry, f);
  if (rc == HV_OK && fflush(f) != 0)
    rc = HV_EIO;
  if (rc == HV_EIO)
    hv_error_set(err, rc, "cannot write the export: %s", strerror(errno));
  else if (rc != HV_OK)
    hv_error_set(err, rc, "cannot read the ledger: %s",
                 db->store->ops->errmsg(db->store));
  return rc;
}

static int hex_hash(const char *hex, uint8_t out[HV_HASH_BYTES]) {
  size_t n = 0;
  return hex &&
                 sodium_hex2bin(out, HV_HASH_BYTES, hex, strlen(hex), NULL, &n,
                                NULL) == 0 &&
                 n == HV_HASH_BYTES
             ? HV_OK
             : HV_EPARSE;
}

int hv_ledger_verify_export(FILE *f, struct hv_verify_report *report,
                            struct hv_error *err) {
  memset(report, 0, sizeof *report);
  struct walk w = {1, {0}, 0, err};
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int rc = HV_OK;
  long lineno = 0;
  while (rc == HV_OK && (len = getline(&line, &cap, f)) != -1) {
    lineno++;
    if (len <= 1)
      continue;
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    json_int_t seq = 0, t = 0, v = 0;
    const char *author = NULL, *op = NULL, *kind = NULL, *body = NULL,
               *bh = NULL, *ih = NULL, *ph = NULL, *h = NULL;
    json_t *jid = NULL; /* a string, or null (or absent) when withheld */
    struct hv_ledger_entry e;
    uint8_t body_hash[HV_HASH_BYTES], id_hash[HV_HASH_BYTES];
    if (j == NULL ||
        json_unpack(j, "{s:I,s:I,s:I,s:s,s:s,s:s,s?o,s?s,s?s,s?s,s:s,s:s}",
                    "seq", &seq, "time_ms", &t, "version", &v, "author",
                    &author, "op", &op, "kind", &kind, "id", &jid, "id_hash",
                    &ih, "body", &body, "body_hash", &bh, "prev_hash", &ph,
                    "hash", &h) != 0 ||
        (jid && !json_is_string(jid) && !json_is_null(jid)) ||
        (!json_is_string(jid) && ih == NULL) ||
        (ih && hex_hash(ih, id_hash) != HV_OK) ||
        (body == NULL && bh == NULL) ||
        (bh && hex_hash(bh, body_hash) != HV_OK) ||
        hex_hash(ph, e.prev_hash) != HV_OK || hex_hash(h, e.hash) != HV_OK) {
      rc = hv_error_set(err, HV_EPARSE, "line %ld: not a ledger entry%s%s",
                        lineno, j ? "" : ": ", j ? "" : jerr.text);
      report->bad_seq = w.expect_seq;
      json_decref(j);
      break;
    }
    const char *id = json_string_value(jid); /* NULL: withheld */
    if (id && ih) {
      /* Both given: they must agree, or the id shown is not the one the
       * hash covers. */
      uint8_t mine[HV_HASH_BYTES];
      hv_ledger_id_hash(id, mine);
      if (memcmp(mine, id_hash, HV_HASH_BYTES) != 0) {
        report->bad_seq = w.bad_seq = seq;
        rc = hv_error_set(err, HV_ETAMPER,
                          "entry %lld: id does not match id_hash",
                          (long long)seq);
        json_decref(j);
        break;
      }
    }
    if (body && bh) {
      /* Both given: they must agree. */
      uint8_t mine[HV_HASH_BYTES];
      hv_ledger_body_hash(body, mine);
      if (memcmp(mine, body_hash, HV_HASH_BYTES) != 0) {
        report->bad_seq = w.bad_seq = seq;
        rc = hv_error_set(err, HV_ETAMPER,
                          "entry %lld: body does not match body_hash",
                          (long long)seq);
        json_decref(j);
        break;
      }
    }
    /* "time" is the readable form of time_ms, which is what is hashed:
     * it must say the same, or a reader of the copy would be misled. */
    const char *tt = json_string_value(json_object_get(j, "time"));
    char tbuf[32];
    if (json_object_get(j, "time") &&
        (tt == NULL || strcmp(tt, hv_time_format(t, tbuf, sizeof tbuf)))) {
      report->bad_seq = w.bad_seq = seq;
      rc = hv_error_set(err, HV_ETAMPER,
                        "entry %lld: \"time\" %s does not match time_ms (%s)",
                        (long long)seq, tt ? tt : "(not a string)", tbuf);
      json_decref(j);
      break;
    }
    e.seq = seq;
    e.time_ms = t;
    e.version = v;
    e.author = author;
    e.op = op;
    e.kind = kind;
    e.id = id;
    e.body = body ? body : "";
    report->withheld += body == NULL;
    report->ids_withheld += id == NULL;
    rc = walk_entry(&w, &e, id ? NULL : id_hash, body ? NULL : body_hash);
    json_decref(j);
  }
  free(line);
  report->entries = w.expect_seq - 1;
  hv_hash_hex(w.prev, report->head_hex);
  if (rc == HV_OK && report->entries == 0)
    rc = hv_error_set(err, HV_EPARSE, "no entries");
  if (w.bad_seq)
    report->bad_seq = w.bad_seq;
  return rc;
}

/* ---- walking --------------------------------------------------------------
 */

int hv_ledger_each(struct hv_db *db, int64_t from_seq, int64_t to_seq,
                   int (*fn)(const struct hv_ledger_entry *e, void *ud),
                   void *ud) {
  return db->store->ops->each_entry(db->store, from_seq, to_seq, NULL, NULL, fn,
                                    ud);
}

int hv_ledger_history(struct hv_db *db, enum hv_kind kind, const char *id,
                      int (*fn)(const struct hv_ledger_entry *e, void *ud),
                      void *ud) {
  return db->store->ops->each_entry(db->store, 1, 0, hv_kind_name(kind), id, fn,
                                    ud);
}

int hv_ledger_records(struct hv_db *db, const char *kind, const char *id,
                      int (*fn)(const struct hv_ledger_entry *e, void *ud),
                      void *ud) {
  return db->store->ops->each_entry(db->store, 1, 0, kind, id, fn, ud);
}
