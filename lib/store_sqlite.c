/*
 * store_sqlite.c — the embedded store: one SQLite database, dir/haven.db.
 *
 * Invariants:
 * - journal_mode WAL and synchronous FULL: a commit that returned SQLITE_OK
 *   has its WAL frames fsync'd, so kill -9 (or power loss) at any moment
 *   loses nothing acknowledged, and the next open recovers the WAL;
 * - the ledger table is only ever appended to, inside the same transaction
 *   as the object rows and the head it produces;
 * - meta('head_seq'/'head_hash') always names the last ledger row written by
 *   haven (verify compares them, so a row deleted at the tail is seen).
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

struct sqlite_store {
  struct hv__store base;
  sqlite3 *db;
  sqlite3_stmt *append, *put, *del, *set_meta, *dv;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT "
    "NULL);"
    "CREATE TABLE IF NOT EXISTS ledger("
    " seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, author TEXT NOT NULL,"
    " op TEXT NOT NULL, kind TEXT NOT NULL, obj_id TEXT NOT NULL,"
    " version INTEGER NOT NULL, body TEXT NOT NULL, prev_hash BLOB NOT NULL,"
    " hash BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS ledger_obj ON ledger(kind, obj_id, seq);"
    "CREATE TABLE IF NOT EXISTS objects("
    " kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,"
    " body TEXT NOT NULL, PRIMARY KEY(kind, id));"
    "INSERT OR IGNORE INTO meta VALUES('schema', '1');";

static struct sqlite_store *S(struct hv__store *s) {
  return (struct sqlite_store *)s;
}

static const char *sq_errmsg(struct hv__store *s) {
  return sqlite3_errmsg(S(s)->db);
}

static void sq_close(struct hv__store *s) {
  if (s == NULL)
    return;
  struct sqlite_store *q = S(s);
  sqlite3_finalize(q->append);
  sqlite3_finalize(q->put);
  sqlite3_finalize(q->del);
  sqlite3_finalize(q->dv);
  sqlite3_finalize(q->set_meta);
  sqlite3_close(q->db);
  free(q);
}

static int exec(struct sqlite_store *q, const char *sql) {
  return sqlite3_exec(q->db, sql, NULL, NULL, NULL) == SQLITE_OK ? HV_OK
                                                                 : HV_ESTORE;
}

static int sq_begin(struct hv__store *s) {
  return exec(S(s), "BEGIN IMMEDIATE");
}

static int sq_commit(struct hv__store *s) { return exec(S(s), "COMMIT"); }

static void sq_rollback(struct hv__store *s) {
  if (!sqlite3_get_autocommit(S(s)->db))
    exec(S(s), "ROLLBACK");
}

static int step_done(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? HV_OK : HV_ESTORE;
}

static int set_meta(struct sqlite_store *q, const char *key, const void *val,
                    int len, int blob) {
  sqlite3_bind_text(q->set_meta, 1, key, -1, SQLITE_STATIC);
  if (blob)
    sqlite3_bind_blob(q->set_meta, 2, val, len, SQLITE_STATIC);
  else
    sqlite3_bind_text(q->set_meta, 2, val, len, SQLITE_STATIC);
  return step_done(q->set_meta);
}

static int sq_append(struct hv__store *s, const struct hv_ledger_entry *e) {
  struct sqlite_store *q = S(s);
  if (q->append == NULL)
    return HV_ESTORE; /* opened read-only */
  sqlite3_stmt *st = q->append;
  sqlite3_bind_int64(st, 1, e->seq);
  sqlite3_bind_int64(st, 2, e->time_ms);
  sqlite3_bind_text(st, 3, e->author, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, e->op, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, e->kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, e->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, e->version);
  sqlite3_bind_text(st, 8, e->body, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 9, e->prev_hash, HV_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(st, 10, e->hash, HV_HASH_BYTES, SQLITE_STATIC);
  int rc = step_done(st);
  if (rc != HV_OK)
    return rc;
  char seq[32];
  int n = snprintf(seq, sizeof seq, "%lld", (long long)e->seq);
  rc = set_meta(q, "head_seq", seq, n, 0);
  if (rc == HV_OK)
    rc = set_meta(q, "head_hash", e->hash, HV_HASH_BYTES, 1);
  return rc;
}

static int sq_put_object(struct hv__store *s,
                         const struct hv__store_object *o) {
  sqlite3_stmt *st = S(s)->put;
  if (st == NULL)
    return HV_ESTORE; /* opened read-only */
  sqlite3_bind_text(st, 1, o->kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, o->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, o->version);
  sqlite3_bind_text(st, 4, o->body, -1, SQLITE_STATIC);
  return step_done(st);
}

static int sq_delete_object(struct hv__store *s, const char *kind,
                            const char *id) {
  sqlite3_stmt *st = S(s)->del;
  if (st == NULL)
    return HV_ESTORE; /* opened read-only */
  sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  return step_done(st);
}

static int sq_last_version(struct hv__store *s, const char *kind,
                           const char *id, int64_t *out) {
  sqlite3_stmt *st;
  *out = 0;
  if (sqlite3_prepare_v2(S(s)->db,
                         "SELECT max(version) FROM ledger WHERE kind = ?1 AND "
                         "obj_id = ?2",
                         -1, &st, NULL) != SQLITE_OK)
    return HV_ESTORE;
  sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? HV_OK : HV_ESTORE;
}

static int sq_data_version(struct hv__store *s, int64_t *out) {
  struct sqlite_store *q = S(s);
  if (q->dv == NULL &&
      sqlite3_prepare_v3(q->db, "PRAGMA data_version", -1,
                         SQLITE_PREPARE_PERSISTENT, &q->dv,
                         NULL) != SQLITE_OK)
    return HV_ESTORE;
  int rc = sqlite3_step(q->dv);
  *out = rc == SQLITE_ROW ? sqlite3_column_int64(q->dv, 0) : -1;
  sqlite3_reset(q->dv);
  return rc == SQLITE_ROW ? HV_OK : HV_ESTORE;
}

static int sq_head(struct hv__store *s, int64_t *seq,
                   uint8_t hash[HV_HASH_BYTES]) {
  struct sqlite_store *q = S(s);
  *seq = 0;
  memset(hash, 0, HV_HASH_BYTES);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(q->db,
                         "SELECT key, value FROM meta WHERE key IN "
                         "('head_seq','head_hash')",
                         -1, &st, NULL) != SQLITE_OK)
    return HV_ESTORE;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    if (strcmp(key, "head_seq") == 0) {
      *seq = strtoll((const char *)sqlite3_column_text(st, 1), NULL, 10);
    } else if (sqlite3_column_bytes(st, 1) == HV_HASH_BYTES) {
      memcpy(hash, sqlite3_column_blob(st, 1), HV_HASH_BYTES);
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? HV_OK : HV_ESTORE;
}

static void copy_hash(uint8_t dst[HV_HASH_BYTES], sqlite3_stmt *st, int col) {
  memset(dst, 0, HV_HASH_BYTES);
  int n = sqlite3_column_bytes(st, col);
  const void *p = sqlite3_column_blob(st, col);
  if (p != NULL)
    memcpy(dst, p, n < HV_HASH_BYTES ? (size_t)n : HV_HASH_BYTES);
}

static int sq_each_entry(struct hv__store *s, int64_t from, int64_t to,
                         const char *kind, const char *id,
                         hv__store_entry_fn fn, void *ud) {
  struct sqlite_store *q = S(s);
  sqlite3_stmt *st;
  /* Each filter is served by the index ledger_obj(kind, obj_id, seq). */
  const char *sql =
      kind && id ? "SELECT seq,time_ms,author,op,kind,obj_id,version,body,"
                   "prev_hash,hash FROM ledger WHERE seq >= ?1 AND seq <= ?2 "
                   "AND kind = ?3 AND obj_id = ?4 ORDER BY seq"
      : kind     ? "SELECT seq,time_ms,author,op,kind,obj_id,version,body,"
                   "prev_hash,hash FROM ledger WHERE seq >= ?1 AND seq <= ?2 "
                   "AND kind = ?3 ORDER BY seq"
                 : "SELECT seq,time_ms,author,op,kind,obj_id,version,body,"
                   "prev_hash,hash FROM ledger WHERE seq >= ?1 AND seq <= ?2 "
                   "ORDER BY seq";
  if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
    return HV_ESTORE;
  sqlite3_bind_int64(st, 1, from);
  sqlite3_bind_int64(st, 2, to > 0 ? to : INT64_MAX);
  if (kind)
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
  if (kind && id)
    sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
  int rc, out = HV_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hv_ledger_entry e;
    e.seq = sqlite3_column_int64(st, 0);
    e.time_ms = sqlite3_column_int64(st, 1);
    e.author = (const char *)sqlite3_column_text(st, 2);
    e.op = (const char *)sqlite3_column_text(st, 3);
    e.kind = (const char *)sqlite3_column_text(st, 4);
    e.id = (const char *)sqlite3_column_text(st, 5);
    e.version = sqlite3_column_int64(st, 6);
    e.body = (const char *)sqlite3_column_text(st, 7);
    copy_hash(e.prev_hash, st, 8);
    copy_hash(e.hash, st, 9);
    if (!e.author || !e.op || !e.kind || !e.id || !e.body) {
      /* A NULL written behind our back: hand over empty strings so the
       * hash check reports the entry. */
      e.author = e.author ? e.author : "";
      e.op = e.op ? e.op : "";
      e.kind = e.kind ? e.kind : "";
      e.id = e.id ? e.id : "";
      e.body = e.body ? e.body : "";
    }
    if ((out = fn(&e, ud)) != 0)
      break;
  }
  if (out == HV_OK && rc != SQLITE_DONE)
    out = HV_ESTORE;
  sqlite3_finalize(st);
  return out;
}

static int sq_each_object(struct hv__store *s, hv__store_object_fn fn,
                          void *ud) {
  struct sqlite_store *q = S(s);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(q->db,
                         "SELECT kind,id,version,body FROM objects ORDER BY "
                         "kind, id",
                         -1, &st, NULL) != SQLITE_OK)
    return HV_ESTORE;
  int rc, out = HV_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct hv__store_object o = {(const char *)sqlite3_column_text(st, 0),
                                 (const char *)sqlite3_column_text(st, 1),
                                 sqlite3_column_int64(st, 2),
                                 (const char *)sqlite3_column_text(st, 3)};
    if (!o.kind || !o.id || !o.body) {
      out = HV_ESTORE;
      break;
    }
    if ((out = fn(&o, ud)) != 0)
      break;
  }
  if (out == HV_OK && rc != SQLITE_DONE)
    out = HV_ESTORE;
  sqlite3_finalize(st);
  return out;
}

static const struct hv__store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .append = sq_append,
    .put_object = sq_put_object,
    .delete_object = sq_delete_object,
    .last_version = sq_last_version,
    .data_version = sq_data_version,
    .head = sq_head,
    .each_entry = sq_each_entry,
    .each_object = sq_each_object,
    .errmsg = sq_errmsg};

/* fsyncs a directory so that a file just created in it survives a crash. */
static void sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int hv__store_sqlite_open(const char *dir, int readonly, struct hv__store **out,
                          struct hv_error *err) {
  *out = NULL;
  if (!readonly && mkdir(dir, 0750) != 0 && errno != EEXIST)
    return hv_error_set(err, HV_EIO, "%s: cannot create data directory: %s",
                        dir, strerror(errno));
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return hv_error_set(err, HV_EIO, "%s: not a directory", dir);
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/haven.db", dir) >= sizeof path)
    return hv_error_set(err, HV_EINVAL, "%s: path too long", dir);
  struct sqlite_store *q = calloc(1, sizeof *q);
  if (q == NULL)
    return HV_ENOMEM;
  q->base.ops = &sqlite_ops;
  int created = access(path, F_OK) != 0;
  int flags = readonly ? SQLITE_OPEN_READONLY
                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK)
    goto fail;
  sqlite3_busy_timeout(q->db, 10000);
  if (readonly) {
    /* Reading needs no statement of our own prepared: the walks prepare
     * theirs. The schema is the store's as found. */
    *out = &q->base;
    return HV_OK;
  }
  if (exec(q, "PRAGMA journal_mode=WAL") != HV_OK ||
      exec(q, "PRAGMA synchronous=FULL") != HV_OK || exec(q, SCHEMA) != HV_OK)
    goto fail;
  if (sqlite3_prepare_v3(q->db,
                         "INSERT INTO ledger VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
                         "?10)",
                         -1, SQLITE_PREPARE_PERSISTENT, &q->append,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(
          q->db, "INSERT OR REPLACE INTO objects VALUES(?1,?2,?3,?4)", -1,
          SQLITE_PREPARE_PERSISTENT, &q->put, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(q->db,
                         "DELETE FROM objects WHERE kind = ?1 AND id = ?2", -1,
                         SQLITE_PREPARE_PERSISTENT, &q->del,
                         NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(q->db, "INSERT OR REPLACE INTO meta VALUES(?1,?2)", -1,
                         SQLITE_PREPARE_PERSISTENT, &q->set_meta,
                         NULL) != SQLITE_OK)
    goto fail;
  if (created)
    sync_dir(dir);
  *out = &q->base;
  return HV_OK;
fail:
  hv_error_set(err, HV_ESTORE, "%s: %s", path,
               q->db ? sqlite3_errmsg(q->db) : "cannot open");
  sq_close(&q->base);
  return HV_ESTORE;
}
