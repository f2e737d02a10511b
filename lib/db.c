/*
 * db.c — an open haven: the registry in memory, its queries, and the one
 * write path.
 *
 * Invariants:
 * - the registry holds exactly the objects of the store's objects table,
 *   each parsed from its stored canonical document;
 * - every write goes through hv__db_commit: ledger entry and object row in
 *   one store transaction, committed (fsync'd) before the registry changes,
 *   so memory never shows what the disk does not hold;
 * - db->head_* always equal the store's head after a successful commit.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db_internal.h"

/* ---- tables ---------------------------------------------------------------
 */

static int id_cmp(const void *key, const void *elem) {
  return strcmp(key, (*(struct hv_object *const *)elem)->id);
}

long hv__table_find(const struct hv__table *t, const char *id) {
  return hv__bsearch(t->v, t->n, sizeof *t->v, id, id_cmp);
}

/* Puts obj into t (taken), replacing and freeing any object with its id. */
static int table_put(struct hv_db *db, struct hv__table *t,
                     struct hv_object *obj) {
  db->gen[obj->kind]++;
  if (obj->kind == HV_ZONE)
    db->zones_ix_stale = 1;
  long i = hv__table_find(t, obj->id);
  if (i >= 0) {
    hv__object_free(db->geo, t->v[i]);
    t->v[i] = obj;
    return HV_OK;
  }
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    struct hv_object **v = realloc(t->v, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    t->v = v;
    t->cap = cap;
  }
  size_t at = (size_t)(-i - 1);
  memmove(t->v + at + 1, t->v + at, (t->n - at) * sizeof *t->v);
  t->v[at] = obj;
  t->n++;
  return HV_OK;
}

const struct hv_object *hv_db_get(const struct hv_db *db, enum hv_kind kind,
                                  const char *id) {
  if ((unsigned)kind >= HV_KIND_COUNT || id == NULL)
    return NULL;
  long i = hv__table_find(&db->tables[kind], id);
  return i >= 0 ? db->tables[kind].v[i] : NULL;
}

size_t hv_db_count(const struct hv_db *db, enum hv_kind kind) {
  return (unsigned)kind < HV_KIND_COUNT ? db->tables[kind].n : 0;
}

const struct hv_object *hv_db_at(const struct hv_db *db, enum hv_kind kind,
                                 size_t i) {
  if ((unsigned)kind >= HV_KIND_COUNT || i >= db->tables[kind].n)
    return NULL;
  return db->tables[kind].v[i];
}

struct hv_geo *hv_db_geo(struct hv_db *db) {
  return db->geo;
}

const struct hv_object *hv_db_party_by_alias(const struct hv_db *db,
                                             const char *name) {
  const struct hv__table *t = &db->tables[HV_PARTY];
  for (size_t i = 0; i < t->n; i++) {
    const struct hv_object *p = t->v[i];
    if (strcasecmp(p->name, name) == 0 || strcasecmp(p->id, name) == 0)
      return p;
    for (size_t j = 0; p->u.party.aliases[j]; j++)
      if (strcasecmp(p->u.party.aliases[j], name) == 0)
        return p;
  }
  return NULL;
}

/* ---- open / close ---------------------------------------------------------
 */

static int load_object(const struct hv__store_object *row, void *ud) {
  struct hv_db *db = ud;
  enum hv_kind kind;
  if (hv_kind_parse(row->kind, &kind) != HV_OK)
    return HV_ESTORE;
  json_error_t jerr;
  json_t *doc = json_loads(row->body, 0, &jerr);
  if (doc == NULL)
    return HV_ESTORE;
  struct hv_object *o;
  struct hv_error err;
  if (hv__object_new(db->geo, kind, doc, &o, &err) != HV_OK)
    return HV_ESTORE;
  if (o->version != row->version || strcmp(o->id, row->id) != 0) {
    hv__object_free(db->geo, o);
    return HV_ESTORE;
  }
  int rc = table_put(db, &db->tables[kind], o);
  if (rc != HV_OK)
    hv__object_free(db->geo, o);
  return rc;
}

static int last_entry(const struct hv_ledger_entry *e, void *ud) {
  struct hv_ledger_entry *last = ud;
  uint8_t h[HV_HASH_BYTES];
  hv_ledger_hash(e, h);
  last->seq = e->seq;
  last->time_ms = e->time_ms;
  /* Keep the recomputed hash: a tail row edited behind our back shows as a
   * mismatch with the recorded head. */
  memcpy(last->hash, h, HV_HASH_BYTES);
  memcpy(last->prev_hash, e->hash, HV_HASH_BYTES);
  return 0;
}

/* Appends the genesis entry of a new store. */
static int genesis(struct hv_db *db, struct hv_error *err) {
  uint8_t rnd[8];
  char store_id[17];
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(store_id, sizeof store_id, rnd, sizeof rnd);
  char created[32];
  int64_t now = hv_time_now_ms();
  json_t *body = json_pack("{s:i,s:s,s:s}", "format", 1, "store", store_id,
                           "created", hv_time_format(now, created, 32));
  char *text = body ? hv__canon(body) : NULL;
  json_decref(body);
  if (text == NULL)
    return HV_ENOMEM;
  struct hv_ledger_entry e = {.seq = 1,
                              .time_ms = now,
                              .version = 1,
                              .author = HV_COORDINATOR,
                              .op = "genesis",
                              .kind = "store",
                              .id = store_id,
                              .body = text};
  hv_ledger_hash(&e, e.hash);
  const struct hv__store_ops *ops = db->store->ops;
  int rc = ops->begin(db->store);
  if (rc == HV_OK)
    rc = ops->append(db->store, &e);
  if (rc == HV_OK)
    rc = ops->commit(db->store);
  if (rc != HV_OK) {
    hv_error_set(err, rc, "%s: cannot write the genesis entry: %s", db->dir,
                 ops->errmsg(db->store));
    ops->rollback(db->store);
  } else {
    db->head_seq = 1;
    db->head_time_ms = now;
    memcpy(db->head_hash, e.hash, HV_HASH_BYTES);
  }
  free(text);
  return rc;
}

/* Frees every object of every table (the tables stay, empty). */
static void tables_clear(struct hv_db *db, struct hv__table *tables) {
  db->zones_ix_stale = 1;
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    db->gen[k]++;
    for (size_t i = 0; i < tables[k].n; i++)
      hv__object_free(db->geo, tables[k].v[i]);
    free(tables[k].v);
    tables[k].v = NULL;
    tables[k].n = tables[k].cap = 0;
  }
}

int hv_db_refresh(struct hv_db *db, int *changed, struct hv_error *err) {
  if (changed)
    *changed = 0;
  const struct hv__store_ops *ops = db->store->ops;
  int64_t seq, dv;
  uint8_t hash[HV_HASH_BYTES];
  /* Nobody else committed since we last looked: nothing to read. */
  int rc = ops->data_version(db->store, &dv);
  if (rc == HV_OK && dv == db->data_version)
    return HV_OK;
  if (rc == HV_OK)
    rc = ops->head(db->store, &seq, hash);
  if (rc != HV_OK)
    return hv_error_set(err, rc, "%s: cannot read the head: %s", db->dir,
                        ops->errmsg(db->store));
  if (seq == db->head_seq && memcmp(hash, db->head_hash, HV_HASH_BYTES) == 0) {
    db->data_version = dv;
    return HV_OK;
  }
  /* Load into fresh tables; swap only when all went well. */
  struct hv_ledger_entry last = {0};
  if ((rc = ops->each_entry(db->store, seq > 1 ? seq : 1, 0, NULL, NULL,
                            last_entry, &last)) != HV_OK)
    return hv_error_set(err, rc, "%s: cannot read the ledger", db->dir);
  if (last.seq != seq || memcmp(last.hash, hash, HV_HASH_BYTES) != 0)
    return hv_error_set(err, HV_ETAMPER,
                        "%s: the ledger's tail does not match its head: run "
                        "`haven ledger verify`",
                        db->dir);
  struct hv__table old[HV_KIND_COUNT];
  memcpy(old, db->tables, sizeof old);
  memset(db->tables, 0, sizeof db->tables);
  if ((rc = ops->each_object(db->store, load_object, db)) != HV_OK) {
    tables_clear(db, db->tables);
    memcpy(db->tables, old, sizeof old);
    return hv_error_set(err, rc, "%s: cannot reload the stored objects",
                        db->dir);
  }
  struct hv__acks *acks = NULL;
  struct hv__adj *adj = NULL; /* loaded again only if it was loaded */
  if ((rc = hv__acks_load(db, &acks)) != HV_OK ||
      (db->adj && (rc = hv__adj_load(db, &adj)) != HV_OK)) {
    hv__acks_free(acks);
    tables_clear(db, db->tables);
    memcpy(db->tables, old, sizeof old);
    return hv_error_set(err, rc,
                        "%s: cannot reload the acknowledgements and "
                        "adjudications",
                        db->dir);
  }
  hv__acks_free(db->acks);
  db->acks = acks;
  hv__adj_free(db->adj);
  db->adj = adj;
  tables_clear(db, old);
  db->data_version = dv;
  db->head_seq = seq;
  db->head_time_ms = last.time_ms;
  memcpy(db->head_hash, hash, HV_HASH_BYTES);
  if (changed)
    *changed = 1;
  return HV_OK;
}

int hv_db_open(const char *dir, struct hv_db **out, struct hv_error *err) {
  *out = NULL;
  if (sodium_init() < 0)
    return hv_error_set(err, HV_ENOMEM, "libsodium failed to initialise");
  struct hv_db *db = calloc(1, sizeof *db);
  if (db == NULL || (db->dir = strdup(dir)) == NULL) {
    free(db);
    return HV_ENOMEM;
  }
  db->data_version = -1; /* unknown: the first refresh reads the head */
  int rc = hv_geo_new(&db->geo);
  if (rc != HV_OK) {
    hv_error_set(err, rc, "cannot start the geometry engine");
    goto fail;
  }
  if ((rc = hv__store_sqlite_open(dir, 0, &db->store, err)) != HV_OK)
    goto fail;
  const struct hv__store_ops *ops = db->store->ops;
  if ((rc = ops->head(db->store, &db->head_seq, db->head_hash)) != HV_OK) {
    hv_error_set(err, rc, "%s: cannot read the head: %s", dir,
                 ops->errmsg(db->store));
    goto fail;
  }
  /* Check the tail of the chain against the recorded head. */
  struct hv_ledger_entry last = {0};
  int64_t from = db->head_seq > 1 ? db->head_seq : 1;
  if ((rc = ops->each_entry(db->store, from, 0, NULL, NULL, last_entry,
                            &last)) != HV_OK) {
    hv_error_set(err, rc, "%s: cannot read the ledger: %s", dir,
                 ops->errmsg(db->store));
    goto fail;
  }
  if (db->head_seq == 0 && last.seq == 0) {
    if ((rc = genesis(db, err)) != HV_OK)
      goto fail;
  } else if (last.seq != db->head_seq ||
             memcmp(last.hash, db->head_hash, HV_HASH_BYTES) != 0) {
    if (last.seq < db->head_seq)
      rc = hv_error_set(err, HV_ETAMPER,
                        "%s: entry %lld, the recorded head of the ledger, is "
                        "missing: run `haven ledger verify`",
                        dir, (long long)db->head_seq);
    else
      rc = hv_error_set(err, HV_ETAMPER,
                        "%s: the ledger's last entry (%lld) does not match "
                        "the recorded head (%lld): run `haven ledger verify`",
                        dir, (long long)last.seq, (long long)db->head_seq);
    goto fail;
  } else {
    db->head_time_ms = last.time_ms;
  }
  if ((rc = ops->each_object(db->store, load_object, db)) != HV_OK) {
    hv_error_set(err, rc, "%s: cannot load the stored objects", dir);
    goto fail;
  }
  if ((rc = hv__acks_load(db, &db->acks)) != HV_OK) {
    hv_error_set(err, rc, "%s: cannot load the acknowledgements", dir);
    goto fail;
  }
  /* The adjudications and reviews (db->adj) are loaded on first use
   * (hv_db_records_load): most commands never need them. */
  *out = db;
  return HV_OK;
fail:
  hv_db_close(db);
  return rc;
}

void hv_db_close(struct hv_db *db) {
  if (db == NULL)
    return;
  tables_clear(db, db->tables);
  hv__acks_free(db->acks);
  hv__adj_free(db->adj);
  hv_zindex_free(db->zones_ix);
  if (db->store)
    db->store->ops->close(db->store);
  hv_geo_free(db->geo);
  free(db->dir);
  free(db);
}

/* ---- the write path -------------------------------------------------------
 */

/* Removes (kind, id) from its table and frees it; absent is a no-op. */
static void table_remove(struct hv_db *db, enum hv_kind kind, const char *id) {
  struct hv__table *t = &db->tables[kind];
  db->gen[kind]++;
  if (kind == HV_ZONE)
    db->zones_ix_stale = 1;
  long i = hv__table_find(t, id);
  if (i < 0)
    return;
  hv__object_free(db->geo, t->v[i]);
  memmove(t->v + i, t->v + i + 1, (t->n - (size_t)i - 1) * sizeof *t->v);
  t->n--;
}

static void free_changes(struct hv_db *db, struct hv__change *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    hv__object_free(db->geo, c[i].obj);
    c[i].obj = NULL;
  }
}

/* Appends the entry of a ledger-only record c as entry seq, chained onto
 * prev (updated to its hash). Inside hv__db_commit's transaction. */
static int append_record(struct hv_db *db, const char *author,
                         const struct hv__change *c, int64_t now, int64_t seq,
                         uint8_t prev[HV_HASH_BYTES]) {
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)seq);
  struct hv_ledger_entry e = {.seq = seq,
                              .time_ms = now,
                              .version =
                                  c->record_version > 0 ? c->record_version : 1,
                              .author = author,
                              .op = c->op,
                              .kind = c->record_kind,
                              .id = c->record_id ? c->record_id : id,
                              .body = c->record_body};
  memcpy(e.prev_hash, prev, HV_HASH_BYTES);
  hv_ledger_hash(&e, e.hash);
  memcpy(prev, e.hash, HV_HASH_BYTES);
  return db->store->ops->append(db->store, &e);
}

int hv__db_commit(struct hv_db *db, const char *author,
                  struct hv__change *changes, size_t n, struct hv_error *err) {
  if (strcmp(author, HV_COORDINATOR) != 0 &&
      hv_db_get(db, HV_PARTY, author) == NULL) {
    free_changes(db, changes, n);
    return hv_error_set(err, HV_EREF, "author: no party \"%s\"", author);
  }
  const struct hv__store_ops *ops = db->store->ops;
  int64_t now = hv_time_now_ms();
  if (now < db->head_time_ms)
    now = db->head_time_ms; /* the record's clock never goes back */
  int64_t seq = db->head_seq;
  uint8_t prev[HV_HASH_BYTES];
  memcpy(prev, db->head_hash, HV_HASH_BYTES);
  int rc = ops->begin(db->store);
  if (rc != HV_OK) {
    free_changes(db, changes, n);
    return hv_error_set(err, rc, "%s: cannot start a transaction: %s", db->dir,
                        ops->errmsg(db->store));
  }
  /* Under the write lock: another process may have written since we loaded
   * (two commands on one data directory). Our registry would then be stale,
   * so refuse rather than chain onto a head we did not see. */
  int64_t store_seq;
  uint8_t store_hash[HV_HASH_BYTES];
  rc = ops->head(db->store, &store_seq, store_hash);
  if (rc == HV_OK && (store_seq != db->head_seq ||
                      memcmp(store_hash, db->head_hash, HV_HASH_BYTES) != 0))
    rc = hv_error_set(err, HV_ECONFLICT,
                      "%s: another process wrote to the store since it was "
                      "opened (head %lld, now %lld); nothing applied, retry",
                      db->dir, (long long)db->head_seq, (long long)store_seq);
  for (size_t i = 0; i < n && rc == HV_OK; i++) {
    if (changes[i].obj == NULL && changes[i].record_kind) {
      rc = append_record(db, author, &changes[i], now, ++seq, prev);
      continue;
    }
    struct hv_object *o = changes[i].obj;
    enum hv_kind kind = o ? o->kind : changes[i].kind;
    const char *id = o ? o->id : changes[i].id;
    const struct hv_object *cur = hv_db_get(db, kind, id);
    int64_t version = cur ? cur->version + 1 : 1;
    if (cur == NULL) {
      /* An id deleted earlier continues its versions: they never repeat. */
      int64_t last = 0;
      rc = ops->last_version(db->store, hv_kind_name(kind), id, &last);
      version = last + 1;
      if (rc != HV_OK)
        break;
    }
    if (o && json_object_set_new(o->doc, "version", json_integer(version))) {
      rc = HV_ENOMEM;
      break;
    }
    if (o)
      o->version = version;
    else if (cur == NULL) {
      rc = hv_error_set(err, HV_ENOTFOUND, "no %s \"%s\"", hv_kind_name(kind),
                        id);
      break;
    }
    /* A deletion records the document it removes. */
    char *body = hv__canon(o ? o->doc : cur->doc);
    if (body == NULL) {
      rc = HV_ENOMEM;
      break;
    }
    struct hv_ledger_entry e = {.seq = ++seq,
                                .time_ms = now,
                                .version = version,
                                .author = author,
                                .op = o ? changes[i].op : "delete",
                                .kind = hv_kind_name(kind),
                                .id = id,
                                .body = body};
    memcpy(e.prev_hash, prev, HV_HASH_BYTES);
    hv_ledger_hash(&e, e.hash);
    memcpy(prev, e.hash, HV_HASH_BYTES);
    struct hv__store_object row = {e.kind, id, version, body};
    rc = ops->append(db->store, &e);
    if (rc == HV_OK)
      rc = o ? ops->put_object(db->store, &row)
             : ops->delete_object(db->store, e.kind, id);
    free(body);
  }
  if (rc == HV_OK)
    rc = ops->commit(db->store);
  if (rc != HV_OK) {
    if (rc == HV_ESTORE)
      hv_error_set(err, rc, "%s: write failed, nothing applied: %s", db->dir,
                   ops->errmsg(db->store));
    ops->rollback(db->store);
    free_changes(db, changes, n);
    return rc;
  }
  db->head_seq = seq;
  db->head_time_ms = now;
  memcpy(db->head_hash, prev, HV_HASH_BYTES);
  /* Durable now: publish to the registry. A failure here (out of memory)
   * leaves memory behind the disk, never ahead; reopening reloads it. */
  int pub = HV_OK;
  for (size_t i = 0; i < n; i++) {
    if (changes[i].obj == NULL && changes[i].record_kind)
      continue; /* ledger only */
    if (changes[i].obj == NULL) {
      table_remove(db, changes[i].kind, changes[i].id);
      continue;
    }
    int r = table_put(db, &db->tables[changes[i].obj->kind], changes[i].obj);
    if (r != HV_OK) {
      hv__object_free(db->geo, changes[i].obj);
      pub = r;
    }
    changes[i].obj = NULL;
  }
  return pub;
}

int hv_db_zone_set_phase(struct hv_db *db, const char *author, const char *id,
                         enum hv_phase phase, int64_t at_ms, const char *reason,
                         int64_t expected_version, struct hv_error *err) {
  const struct hv_object *z = hv_db_get(db, HV_ZONE, id);
  if (z == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "zone \"%s\": no such zone", id);
  if (expected_version > 0 && expected_version != z->version)
    return hv_error_set(err, HV_ECONFLICT,
                        "zone \"%s\": version %lld expected, the current "
                        "version is %lld",
                        id, (long long)expected_version, (long long)z->version);
  if ((unsigned)phase >= HV_PHASE_COUNT)
    return hv_error_set(err, HV_EINVAL, "phase: unknown");
  if (!hv_phase_allowed(z->u.zone.phase, phase))
    return hv_error_set(
        err, HV_EPHASE, "zone \"%s\": %s -> %s is not an allowed transition",
        id, hv_phase_name(z->u.zone.phase), hv_phase_name(phase));
  size_t nh = z->u.zone.n_history;
  if (nh && at_ms < z->u.zone.history[nh - 1].at_ms)
    return hv_error_set(err, HV_EINVAL,
                        "at: before the zone's last phase change");
  json_t *doc = json_deep_copy(z->doc);
  char at[32];
  json_t *change =
      json_pack("{s:s,s:s,s:s}", "phase", hv_phase_name(phase), "at",
                hv_time_format(at_ms, at, sizeof at), "by", author);
  if (doc == NULL || change == NULL) {
    json_decref(doc);
    json_decref(change);
    return HV_ENOMEM;
  }
  if (reason && *reason)
    json_object_set_new(change, "reason", json_string(reason));
  json_array_append_new(json_object_get(doc, "phase_history"), change);
  json_object_set_new(doc, "phase", json_string(hv_phase_name(phase)));
  struct hv__change c = {.obj = NULL, .op = "phase"};
  int rc = hv__object_new(db->geo, HV_ZONE, doc, &c.obj, err);
  if (rc != HV_OK)
    return rc;
  return hv__db_commit(db, author, &c, 1, err);
}

/* ---- queries --------------------------------------------------------------
 */

void hv_hits_free(struct hv_hits *h) {
  if (h == NULL)
    return;
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}

static int hits_add(struct hv_hits *h, const struct hv_object *o, double d,
                    enum hv_phase p) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? 2 * h->cap : 16;
    struct hv_hit *v = realloc(h->v, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  h->v[h->n++] = (struct hv_hit){o, d, p};
  return HV_OK;
}

static int coords_ok(double lon, double lat) {
  return isfinite(lon) && isfinite(lat) && lon >= -180 && lon <= 180 &&
         lat >= -90 && lat <= 90;
}

/* (Re)builds the zone index after the zone table changed. */
static int zones_index(struct hv_db *db) {
  if (db->zones_ix && !db->zones_ix_stale)
    return HV_OK;
  const struct hv__table *t = &db->tables[HV_ZONE];
  const GEOSGeometry **g = malloc((t->n ? t->n : 1) * sizeof *g);
  if (g == NULL)
    return HV_ENOMEM;
  for (size_t i = 0; i < t->n; i++)
    g[i] = t->v[i]->geom;
  struct hv_zindex *ix;
  struct hv_error err;
  int rc = hv_zindex_new(db->geo, g, NULL, t->n, &ix, &err);
  free(g);
  if (rc != HV_OK)
    return rc;
  hv_zindex_free(db->zones_ix);
  db->zones_ix = ix;
  db->zones_ix_stale = 0;
  return HV_OK;
}

int hv_db_zones_at(struct hv_db *db, double lon, double lat, double alt_m,
                   int64_t t_ms, struct hv_hits *out) {
  if (!coords_ok(lon, lat))
    return HV_EINVAL;
  int rc = zones_index(db);
  if (rc != HV_OK)
    return rc;
  /* The index answers as GEOSPreparedIntersects would (boundary inside),
   * in table (id) order; time and altitude are checked on its answers. */
  uint32_t buf[64], *ids = buf;
  size_t n = hv_zindex_query(db->zones_ix, lon, lat, buf, 64);
  if (n > 64) {
    if ((ids = malloc(n * sizeof *ids)) == NULL)
      return HV_ENOMEM;
    hv_zindex_query(db->zones_ix, lon, lat, ids, n);
  }
  const struct hv__table *t = &db->tables[HV_ZONE];
  for (size_t i = 0; i < n && rc == HV_OK; i++) {
    const struct hv_object *z = t->v[ids[i]];
    if (!hv_zone_in_force(z, t_ms))
      continue;
    if (!isnan(alt_m) &&
        (alt_m < z->u.zone.alt_min_m || alt_m > z->u.zone.alt_max_m))
      continue;
    rc = hits_add(out, z, 0, hv_zone_phase_at(z, t_ms));
  }
  if (ids != buf)
    free(ids);
  return rc;
}

static int hit_cmp(const void *a, const void *b) {
  const struct hv_hit *x = a, *y = b;
  if (x->dist_m != y->dist_m)
    return x->dist_m < y->dist_m ? -1 : 1;
  if (x->obj->kind != y->obj->kind)
    return (int)x->obj->kind - (int)y->obj->kind;
  return strcmp(x->obj->id, y->obj->id);
}

int hv_db_within(struct hv_db *db, double lon, double lat, double dist_m,
                 int64_t t_ms, struct hv_hits *out) {
  if (!coords_ok(lon, lat) || !(dist_m >= 0) || dist_m > 2e7)
    return HV_EINVAL;
  /* A degree box surely holding every point within dist_m: a degree of
   * latitude is >= 110.5 km; a degree of longitude shrinks with cos(lat). */
  double dlat = dist_m / 110000.0 + 1e-6;
  double maxlat = fmin(89.9, fabs(lat) + dlat);
  double dlon =
      fmin(360, dist_m / (111000.0 * cos(maxlat * M_PI / 180)) + 1e-6);
  size_t first = out->n;
  static const enum hv_kind kinds[] = {HV_ZONE, HV_CORRIDOR, HV_SITE,
                                       HV_DELINEATION, HV_AREA};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    const struct hv__table *t = &db->tables[kinds[k]];
    for (size_t i = 0; i < t->n; i++) {
      const struct hv_object *o = t->v[i];
      const GEOSGeometry *g =
          o->kind == HV_CORRIDOR ? o->u.corridor.area : o->geom;
      double x0 = o->minx, y0 = o->miny, x1 = o->maxx, y1 = o->maxy;
      if (o->kind == HV_CORRIDOR)
        GEOSGeom_getExtent_r(hv_geo_geos(db->geo), g, &x0, &y0, &x1, &y1);
      if (lon < x0 - dlon || lon > x1 + dlon || lat < y0 - dlat ||
          lat > y1 + dlat)
        continue;
      if (o->kind == HV_ZONE ? !hv_zone_in_force(o, t_ms)
                             : (t_ms < o->from_ms || t_ms >= o->to_ms))
        continue;
      double d;
      if (o->kind == HV_SITE) {
        d = hv_geo_distance_m(lon, lat, o->u.site.lon, o->u.site.lat);
      } else {
        int rc = hv_geo_distance_to_m(db->geo, lon, lat, g, &d);
        if (rc != HV_OK)
          return rc;
      }
      if (d > dist_m)
        continue;
      enum hv_phase p =
          o->kind == HV_ZONE ? hv_zone_phase_at(o, t_ms) : HV_PHASE_DECLARED;
      if (hits_add(out, o, d, p) != HV_OK)
        return HV_ENOMEM;
    }
  }
  qsort(out->v + first, out->n - first, sizeof *out->v, hit_cmp);
  return HV_OK;
}

int hv_db_sponsor_chain(const struct hv_db *db, const char *id,
                        struct hv_hits *out) {
  const struct hv_object *p = hv_db_get(db, HV_PARTY, id);
  if (p == NULL)
    return HV_ENOTFOUND;
  /* The registry refuses cycles; the bound guards against a store edited
   * behind haven's back. */
  for (size_t n = 0; p && n <= db->tables[HV_PARTY].n; n++) {
    if (hits_add(out, p, 0, HV_PHASE_DECLARED) != HV_OK)
      return HV_ENOMEM;
    p = p->u.party.sponsor ? hv_db_get(db, HV_PARTY, p->u.party.sponsor) : NULL;
  }
  return HV_OK;
}

const char *hv_coverage_name(enum hv_coverage c) {
  switch (c) {
  case HV_COVER_DIRECT:
    return "covered";
  case HV_COVER_SPONSOR:
    return "covered_via_sponsor";
  case HV_COVER_EXCLUDED:
    return "excluded";
  default:
    return "not_covered";
  }
}

enum hv_coverage hv_db_coverage(const struct hv_db *db,
                                const struct hv_object *a, const char *party) {
  const struct hv_object *p = hv_db_get(db, HV_PARTY, party);
  for (size_t n = 0; p && n <= db->tables[HV_PARTY].n; n++) {
    if (hv_ids_contain(a->u.agreement.excluded, p->id))
      return HV_COVER_EXCLUDED;
    if (hv_ids_contain(a->u.agreement.covered, p->id))
      return n == 0 ? HV_COVER_DIRECT : HV_COVER_SPONSOR;
    p = p->u.party.sponsor ? hv_db_get(db, HV_PARTY, p->u.party.sponsor) : NULL;
  }
  return HV_COVER_NONE;
}

int hv_agreement_in_force(const struct hv_object *a, int64_t t_ms) {
  return t_ms >= a->from_ms && t_ms < a->to_ms;
}

int hv_agreement_binds(const struct hv_db *db, const struct hv_object *a,
                       const char *party) {
  enum hv_coverage c = hv_db_coverage(db, a, party);
  return c == HV_COVER_DIRECT || c == HV_COVER_SPONSOR;
}

int hv_agreement_applies_in(const struct hv_object *a, const char *zone) {
  return a->u.agreement.nationwide ||
         hv_ids_contain(a->u.agreement.scope, zone);
}

int hv_db_agreements_covering(const struct hv_db *db, const char *id,
                              int64_t t_ms, struct hv_hits *out) {
  if (hv_db_get(db, HV_PARTY, id) == NULL)
    return HV_ENOTFOUND;
  const struct hv__table *t = &db->tables[HV_AGREEMENT];
  for (size_t i = 0; i < t->n; i++) {
    const struct hv_object *a = t->v[i];
    if (!hv_agreement_in_force(a, t_ms))
      continue;
    if (hv_agreement_binds(db, a, id) &&
        hits_add(out, a, 0, HV_PHASE_DECLARED) != HV_OK)
      return HV_ENOMEM;
  }
  return HV_OK;
}

int64_t hv_db_head_seq(const struct hv_db *db) { return db->head_seq; }

uint64_t hv_db_generation(const struct hv_db *db, enum hv_kind kind) {
  return (unsigned)kind < HV_KIND_COUNT ? db->gen[kind] : 0;
}

struct refsearch {
  enum hv_kind kind;
  const char *id;
};

static int refers(const char *field, enum hv_kind kind, const char *id,
                  void *ud) {
  const struct refsearch *r = ud;
  (void)field;
  return kind == r->kind && strcmp(id, r->id) == 0;
}

int hv_db_delete(struct hv_db *db, const char *author, enum hv_kind kind,
                 const char *id, int64_t expected_version,
                 struct hv_error *err) {
  if ((unsigned)kind >= HV_KIND_COUNT || kind == HV_TOKEN)
    return hv_error_set(err, HV_EINVAL,
                        "%s: cannot be deleted (tokens are revoked)",
                        hv_kind_name(kind));
  const struct hv_object *cur = hv_db_get(db, kind, id);
  if (cur == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "no %s \"%s\"", hv_kind_name(kind),
                        id);
  if (expected_version != cur->version)
    return hv_error_set(err, HV_ECONFLICT,
                        "version: %lld given, the current version of %s "
                        "\"%s\" is %lld",
                        (long long)expected_version, hv_kind_name(kind), id,
                        (long long)cur->version);
  /* Nothing may be left pointing at it. */
  struct refsearch r = {kind, id};
  for (int k = 0; k < HV_KIND_COUNT; k++)
    for (size_t i = 0; i < db->tables[k].n; i++) {
      const struct hv_object *o = db->tables[k].v[i];
      if (o->kind == HV_TOKEN && o->u.token.revoked)
        continue; /* a revoked credential holds nothing */
      if (hv__object_each_ref(o, refers, &r))
        return hv_error_set(err, HV_EREF,
                            "%s \"%s\" is referred to by %s \"%s\": change "
                            "or delete that first",
                            hv_kind_name(kind), id, hv_kind_name(o->kind),
                            o->id);
    }
  struct hv__change c = {.op = "delete", .kind = kind, .id = id};
  return hv__db_commit(db, author, &c, 1, err);
}
