/*
 * haven/ledger.h — the hash-chained record of every change.
 *
 * Entry n holds its sequence number, time, author party, operation, the
 * object it changed (kind, id, version) and the canonical JSON of the change
 * (the object's whole new document), plus a hash:
 *
 *   hash_n = BLAKE2b-256( hash_{n-1} || u64le(seq) || u64le(time_ms)
 *                         || u64le(version) || lp(author) || lp(op)
 *                         || lp(kind) || BLAKE2b-256(id) || BLAKE2b-256(body) )
 *
 * where lp(s) = u32le(byte length of s) || s, hash_0 is 32 zero bytes, and
 * the id's and the body's hashes enter as their 32 raw bytes (id_hash and
 * body_hash of an export). The id and the body enter through their own
 * hashes, so that a copy of the chain may withhold a body, or an id and a
 * body (need-to-know), and still verify.
 * Entry 1 is the genesis entry (op "genesis", kind "store") naming the
 * store. docs/record.md gives the definition and an independent check.
 */
#ifndef HAVEN_LEDGER_H
#define HAVEN_LEDGER_H

#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HV_HASH_BYTES 32

struct hv_ledger_entry {
  int64_t seq;
  int64_t time_ms;
  int64_t version;
  const char *author;
  const char *op;
  const char *kind;
  const char *id;
  const char *body; /* canonical JSON text */
  uint8_t prev_hash[HV_HASH_BYTES];
  uint8_t hash[HV_HASH_BYTES];
};

/* Computes the hash of e from e->prev_hash and its fields into out. */
void hv_ledger_hash(const struct hv_ledger_entry *e,
                    uint8_t out[HV_HASH_BYTES]);

/* The BLAKE2b-256 of a body's bytes, as it enters the entry's hash. */
void hv_ledger_body_hash(const char *body, uint8_t out[HV_HASH_BYTES]);

/* The BLAKE2b-256 of an id's bytes, as it enters the entry's hash. It names
 * the id without showing it only as well as the id is hard to guess: anyone
 * can hash a candidate id and compare. */
void hv_ledger_id_hash(const char *id, uint8_t out[HV_HASH_BYTES]);

/* Writes the lowercase hex of a hash into buf (size >= 65). */
const char *hv_hash_hex(const uint8_t hash[HV_HASH_BYTES], char *buf);

/* The outcome of a verification. */
struct hv_verify_report {
  int64_t entries;      /* entries checked */
  int64_t bad_seq;      /* first bad entry (0 when none) */
  int64_t withheld;     /* entries of an export whose body was withheld */
  char head_hex[65];    /* hash of the last good entry */
  int64_t ids_withheld; /* entries of an export whose id was withheld */
};

/*
 * Walks the whole chain of db's store: sequence numbers contiguous from 1,
 * each prev_hash equal to the previous hash, each hash recomputed, the last
 * entry equal to the store's recorded head, and every current object equal
 * to the last ledger entry that wrote it. Returns HV_OK, or HV_ETAMPER with
 * report->bad_seq and err naming the first bad entry and what is wrong.
 * Errors also: HV_ESTORE, HV_ENOMEM.
 */
int hv_ledger_verify(struct hv_db *db, struct hv_verify_report *report,
                     struct hv_error *err);

/* As hv_ledger_verify, for the store in data directory dir, without
 * loading the registry: works on a store that hv_db_open refuses because
 * its tail does not match its head. Errors also: HV_EIO (no store in dir). */
int hv_ledger_verify_dir(const char *dir, struct hv_verify_report *report,
                         struct hv_error *err);

/* Writes the chain as NDJSON to f, one hv_ledger_entry_json line (with its
 * body) per entry.
 * Errors: HV_EIO, HV_ESTORE. */
int hv_ledger_export(struct hv_db *db, FILE *f, struct hv_error *err);

/* One entry as a line of an export (an object; caller owns it): seq, time,
 * time_ms, author, op, kind, id (a string when id is non-zero, else null),
 * id_hash, version, body_hash, prev_hash, hash, and the body as a string
 * when body is non-zero. A line without its body or its id still verifies:
 * they enter the hash through body_hash and id_hash. e is borrowed. NULL on
 * no memory. */
json_t *hv_ledger_entry_json(const struct hv_ledger_entry *e, int body, int id);

/* Verifies an exported chain read from f, without any store. A line's id
 * may be null (or absent) when it has id_hash, its body absent when it has
 * body_hash; when both an id and id_hash (or a body and body_hash) are
 * given they must agree. Errors as hv_ledger_verify plus HV_EPARSE (line
 * not an entry). */
int hv_ledger_verify_export(FILE *f, struct hv_verify_report *report,
                            struct hv_error *err);

/* Calls fn for entries from_seq..to_seq (inclusive; to_seq 0 = to the end)
 * in order; fn returns non-zero to stop, and that value is returned (so a
 * callback can stop with a positive value of its own). The entry is
 * borrowed for the call. Errors: HV_ESTORE. */
int hv_ledger_each(struct hv_db *db, int64_t from_seq, int64_t to_seq,
                   int (*fn)(const struct hv_ledger_entry *e, void *ud),
                   void *ud);

/* Calls fn for every entry of ledger kind `kind` ("adjudication",
 * "review", "finding", ...) and, when id is non-NULL, that id, oldest
 * first; as hv_ledger_each for fn's return value. */
int hv_ledger_records(struct hv_db *db, const char *kind, const char *id,
                      int (*fn)(const struct hv_ledger_entry *e, void *ud),
                      void *ud);

/* Calls fn for every entry that wrote object (kind, id), oldest first; as
 * hv_ledger_each for stopping and errors. */
int hv_ledger_history(struct hv_db *db, enum hv_kind kind, const char *id,
                      int (*fn)(const struct hv_ledger_entry *e, void *ud),
                      void *ud);

#ifdef __cplusplus
}
#endif
#endif
