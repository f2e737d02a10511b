/*
 * store.h — the internal interface between haven and its durable store.
 *
 * The store keeps three things: the ledger (append-only), the current
 * document of every object (a projection of the ledger), and the head of
 * the chain (seq and hash of the last entry). A backend implements the
 * operations below; store_sqlite.c is the embedded one. All writes happen
 * between begin and commit; commit returns only once the transaction is
 * durable (fsync'd). Nothing above this file knows which backend it talks
 * to.
 */
#ifndef HAVEN_STORE_H
#define HAVEN_STORE_H

#include <stdint.h>

#include "haven/error.h"
#include "haven/ledger.h"

struct hv__store;

/* An object row as stored: kind name, id, version, canonical document. */
struct hv__store_object {
  const char *kind;
  const char *id;
  int64_t version;
  const char *body;
};

typedef int (*hv__store_object_fn)(const struct hv__store_object *o, void *ud);
typedef int (*hv__store_entry_fn)(const struct hv_ledger_entry *e, void *ud);

struct hv__store_ops {
  const char *name;
  void (*close)(struct hv__store *s);
  int (*begin)(struct hv__store *s);
  int (*commit)(struct hv__store *s);
  void (*rollback)(struct hv__store *s);
  /* Appends e (hashes already computed) and moves the head to it. */
  int (*append)(struct hv__store *s, const struct hv_ledger_entry *e);
  /* Writes the current document of an object (insert or replace). */
  int (*put_object)(struct hv__store *s, const struct hv__store_object *o);
  /* Removes an object's current document. */
  int (*delete_object)(struct hv__store *s, const char *kind, const char *id);
  /* The highest version any ledger entry gave (kind, id); 0 when none (a
   * deleted object's id, created again, continues from there). */
  int (*last_version)(struct hv__store *s, const char *kind, const char *id,
                      int64_t *out);
  /* A number that changes when another connection or process commits to
   * the store (not on this handle's own commits): a cheap "did anyone else
   * write?". */
  int (*data_version)(struct hv__store *s, int64_t *out);
  /* The head: seq 0 and zero hash for an empty ledger. */
  int (*head)(struct hv__store *s, int64_t *seq, uint8_t hash[HV_HASH_BYTES]);
  /* Entries from..to (to 0 = end) in seq order; filtered by kind when
   * kind is non-NULL, and by kind and id when both are. A non-zero return of fn
   * stops the walk and is returned. */
  int (*each_entry)(struct hv__store *s, int64_t from, int64_t to,
                    const char *kind, const char *id, hv__store_entry_fn fn,
                    void *ud);
  /* Every current object, in (kind, id) order. */
  int (*each_object)(struct hv__store *s, hv__store_object_fn fn, void *ud);
  /* A message about the last error, for people. */
  const char *(*errmsg)(struct hv__store *s);
};

/* Every backend's handle starts with its ops. */
struct hv__store {
  const struct hv__store_ops *ops;
};

/* Opens the SQLite store in dir (made if missing). readonly: open an
 * existing store for reading only (verification), never creating or
 * changing anything; the write operations then fail with HV_ESTORE. */
int hv__store_sqlite_open(const char *dir, int readonly, struct hv__store **out,
                          struct hv_error *err);

#endif
