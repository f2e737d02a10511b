/*
 * db_internal.h — what the modules of libhaven share about an open db.
 */
#ifndef HAVEN_DB_INTERNAL_H
#define HAVEN_DB_INTERNAL_H

#include "haven/db.h"
#include "haven/ledger.h"
#include "haven/zindex.h"
#include "object.h"
#include "store.h"
#include "util.h"

/* The objects of one kind, sorted by id. */
struct hv__table {
  struct hv_object **v;
  size_t n, cap;
};

struct hv_db {
  char *dir;
  struct hv_geo *geo;
  struct hv__store *store;
  struct hv__table tables[HV_KIND_COUNT];
  int64_t head_seq;
  int64_t head_time_ms;
  uint8_t head_hash[HV_HASH_BYTES];
  int64_t data_version; /* the store's, when the registry last matched it */
  struct hv_zindex *zones_ix; /* over tables[HV_ZONE], ids = table index */
  int zones_ix_stale;         /* the zone table changed since it was built */
  struct hv__acks *acks;      /* acknowledgements, from the ledger (notify.c) */
  struct hv__adj *adj;        /* adjudications and reviews (adjrecord.c);
                                 NULL until first used (hv_db_records_load) */
  uint64_t gen[HV_KIND_COUNT]; /* moves whenever a table may have changed */
};

/* One change to write: the new object (taken by hv__db_commit) and the
 * operation name recorded in the ledger ("create", "update", "phase"); or,
 * with obj NULL, the deletion of (kind, id), recorded as op "delete" with
 * the deleted document as its body. */
struct hv__change {
  struct hv_object *obj;
  const char *op;
  enum hv_kind kind; /* deletions only */
  const char *id;    /* deletions only; borrowed */
  /* A ledger-only record (obj NULL, record_kind set): an entry of kind
   * record_kind, op op, version 1, id the entry's own seq in decimal, body
   * record_body (canonical JSON, borrowed); no object row, nothing in the
   * registry. Findings are written so (ledger kind "finding"). */
  const char *record_kind;
  const char *record_body;
  /* For a ledger-only record: its entry's id and version when set (NULL /
   * 0: the seq in decimal, version 1). Acknowledgements are written so
   * (id "<kind>/<id>", version the acknowledged one). */
  const char *record_id;
  int64_t record_version;
};

/*
 * Writes changes as author in one transaction (one commit, one fsync,
 * whatever n): for a ledger-only record, its entry (above); for each other, the
 * object's version is set to (current version + 1, or 1), its document gets
 * that version, a ledger entry is appended and the object row written; then
 * commit (durable), then the registry takes the objects. On any failure
 * nothing is written and every object is freed. Objects are always taken.
 * Errors: HV_ESTORE, HV_ENOMEM.
 */
int hv__db_commit(struct hv_db *db, const char *author,
                  struct hv__change *changes, size_t n, struct hv_error *err);

/* The acknowledgements of notifications kept in memory (notify.c): built
 * from the ledger's "ack" entries at open and on reload, and added to after
 * each committed acknowledgement. */
struct hv__acks;
/* Reads every "ack" entry of db's store into a new set *out (caller frees).
 * Errors: HV_ESTORE, HV_ENOMEM. */
int hv__acks_load(struct hv_db *db, struct hv__acks **out);
void hv__acks_free(struct hv__acks *acks);
/* Whether party ever acknowledged any version of notification (kind, id):
 * 1 and the earliest time into *at_ms, or 0. */
int hv__acks_first(const struct hv_db *db, enum hv_kind kind, const char *id,
                   const char *party, int64_t *at_ms);
/* 1 when party is a recipient of notification o (a site or movement): listed,
 * or "*" and a state or armed group; never for a blind one. */
int hv__recipient(const struct hv_db *db, const struct hv_object *o,
                  const char *party);

/* 1 when entries of op write no object: the genesis entry and the
 * ledger-only records (findings, acknowledgements, checks, adjudications,
 * reviews). The one list of them (ledger.c). */
int hv__ledger_only(const char *op);

/* The latest adjudication per incident and the reviews (adjrecord.c),
 * from the ledger's "adjudication" and "review" entries. */
struct hv__adj;
int hv__adj_load(struct hv_db *db, struct hv__adj **out);
void hv__adj_free(struct hv__adj *adj);

/* The index of id in table t, or -(insertion point) - 1 when absent. */
long hv__table_find(const struct hv__table *t, const char *id);

#endif
