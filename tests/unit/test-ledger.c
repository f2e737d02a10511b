/*
 * test-ledger.c — the hash-chained record: hashing, verification of the
 * store and of an export, and detection of every kind of tampering.
 *
 * The group setup builds one store (a genesis entry, an import of parties
 * and an agreement, an import of a zone and a site, a phase change and an
 * update), closes it, and keeps it as the pristine base. Each tamper test
 * copies the closed base (the last close checkpoints the WAL; any -wal file
 * left is copied as well), edits the copy directly with the SQLite C API,
 * as someone with access to the disk could, and checks that haven notices
 * and names the first bad entry.
 *
 * Invariants asserted: entries are 1..N, entry 1 is the genesis entry, every
 * stored hash is the BLAKE2b-256 of haven/ledger.h's definition (computed
 * here independently with libsodium), and any change to a row, its order,
 * the head or the objects projection makes hv_ledger_verify return
 * HV_ETAMPER (or hv_db_open refuse the store when the tail is touched).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "haven/haven.h"
#include "testutil.h"

/* ---- files and directories ------------------------------------------------
 */

static char g_scratch[2048];
static char g_base[2300];   /* the pristine store */
static char g_export[2300]; /* its ledger exported as NDJSON */

/* The base store's entries, filled by the group setup. */
#define MAX_ENTRIES 32
static struct {
  int64_t n;              /* entries in the base store */
  int64_t seq_tr;         /* "create party tr" (a middle entry) */
  int64_t seq_zone_phase; /* "phase zone test-zone" */
  char kind[MAX_ENTRIES + 1][16];
  char id[MAX_ENTRIES + 1][64];
  char op[MAX_ENTRIES + 1][16];
  uint8_t hash[MAX_ENTRIES + 1][HV_HASH_BYTES];
} g;

/* Removes dir and everything under it; a missing dir is fine. */
static void rm_tree(const char *dir) { assert_int_equal(tu_rm_tree(dir), 0); }

/* Reads a whole file; caller frees. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  assert_int_equal(ferror(f), 0);
  fclose(f);
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

static void copy_file(const char *src, const char *dst) {
  size_t n;
  char *data = read_file(src, &n);
  FILE *f = fopen(dst, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  free(data);
}

/* A fresh copy of the base store in scratch/name; returns its path. */
static const char *copy_base(const char *name) {
  static char dir[2300];
  char src[2400], dst[2400];
  tu_path_in(dir, sizeof dir, g_scratch, name);
  rm_tree(dir);
  assert_int_equal(mkdir(dir, 0750), 0);
  static const char *const files[] = {"haven.db", "haven.db-wal"};
  for (size_t i = 0; i < 2; i++) {
    tu_path_in(src, sizeof src, g_base, files[i]);
    tu_path_in(dst, sizeof dst, dir, files[i]);
    if (access(src, F_OK) == 0)
      copy_file(src, dst);
  }
  return dir;
}

/* ---- direct access to the SQLite file, behind haven's back --------------- */

static sqlite3 *raw_open(const char *dir) {
  char path[2400];
  tu_path_in(path, sizeof path, dir, "haven.db");
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
                   SQLITE_OK);
  return db;
}

static void raw_exec(const char *dir, const char *sql) {
  sqlite3 *db = raw_open(dir);
  char *msg = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fail_msg("%s: %s", sql, msg ? msg : "?");
  /* Every statement must have changed something, or the test proves
   * nothing. */
  assert_true(sqlite3_total_changes(db) > 0);
  sqlite3_close(db);
}

/* Flips the lowest bit of the byte in the middle of entry seq's body. */
static void flip_body_byte(const char *dir, int64_t seq) {
  sqlite3 *db = raw_open(dir);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT body FROM ledger WHERE seq=?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char *body = strdup((const char *)sqlite3_column_text(st, 0));
  assert_non_null(body);
  sqlite3_finalize(st);
  size_t n = strlen(body);
  assert_true(n > 2);
  body[n / 2] ^= 1;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "UPDATE ledger SET body=?1 WHERE seq=?2",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_changes(db), 1);
  free(body);
  sqlite3_close(db);
}

/* Appends a row after the last one whose hash is computed correctly from
 * the real chain: a forgery that only the head (or the objects) can
 * expose. */
static void forge_append(const char *dir, int64_t seq, int64_t prev_seq,
                         const char *author, const char *id, const char *body) {
  struct hv_ledger_entry e = {.seq = seq,
                              .time_ms = 1700000000000,
                              .version = 1,
                              .author = author,
                              .op = "create",
                              .kind = "party",
                              .id = id,
                              .body = body};
  memcpy(e.prev_hash, g.hash[prev_seq], HV_HASH_BYTES);
  hv_ledger_hash(&e, e.hash);
  sqlite3 *db = raw_open(dir);
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db,
                         "INSERT INTO ledger(seq,time_ms,author,op,kind,obj_id,"
                         "version,body,prev_hash,hash) "
                         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                         -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, e.seq);
  sqlite3_bind_int64(st, 2, e.time_ms);
  sqlite3_bind_text(st, 3, e.author, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, e.op, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, e.kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, e.id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, e.version);
  sqlite3_bind_text(st, 8, e.body, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 9, e.prev_hash, HV_HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(st, 10, e.hash, HV_HASH_BYTES, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* Moves the recorded head (meta) to entry seq of the (tampered) ledger. */
static void move_head(const char *dir, int64_t seq) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "UPDATE meta SET value='%lld' WHERE key='head_seq';"
           "UPDATE meta SET value=(SELECT hash FROM ledger WHERE seq=%lld) "
           "WHERE key='head_hash';",
           (long long)seq, (long long)seq);
  raw_exec(dir, sql);
}

/* ---- opening and verifying ------------------------------------------------
 */

/* Opens dir, which must open, and verifies it. */
static int open_verify(const char *dir, struct hv_verify_report *rep,
                       struct hv_error *err) {
  struct hv_db *db = NULL;
  struct hv_error oerr = {0};
  int rc = hv_db_open(dir, &db, &oerr);
  if (rc != HV_OK)
    fail_msg("%s: hv_db_open: %s: %s", dir, hv_err_name(rc), oerr.msg);
  memset(err, 0, sizeof *err);
  rc = hv_ledger_verify(db, rep, err);
  hv_db_close(db);
  return rc;
}

/* Asserts that dir opens and that verify names entry bad_seq. */
static void expect_tamper_at(const char *dir, int64_t bad_seq) {
  struct hv_verify_report rep;
  struct hv_error err;
  int rc = open_verify(dir, &rep, &err);
  if (rc != HV_ETAMPER)
    fail_msg("%s: verify returned %s, expected HV_ETAMPER", dir,
             hv_err_name(rc));
  assert_int_equal(err.code, HV_ETAMPER);
  assert_true(err.msg[0] != '\0');
  if (rep.bad_seq != bad_seq)
    fail_msg("%s: bad_seq %lld, expected %lld (%s)", dir,
             (long long)rep.bad_seq, (long long)bad_seq, err.msg);
  /* Everything before the bad entry was good. */
  assert_int_equal(rep.entries, bad_seq - 1);
}

/* Asserts that hv_db_open refuses dir with HV_ETAMPER, and that
 * hv_ledger_verify_dir, which works without opening the registry, names
 * entry bad_seq (not checked when bad_seq is 0). */
static void expect_open_refused(const char *dir, int64_t bad_seq) {
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  int rc = hv_db_open(dir, &db, &err);
  if (rc != HV_ETAMPER)
    fail_msg("%s: hv_db_open returned %s, expected HV_ETAMPER", dir,
             hv_err_name(rc));
  assert_null(db);
  assert_true(err.msg[0] != '\0');
  struct hv_verify_report rep;
  memset(&err, 0, sizeof err);
  rc = hv_ledger_verify_dir(dir, &rep, &err);
  if (rc != HV_ETAMPER)
    fail_msg("%s: hv_ledger_verify_dir returned %s, expected HV_ETAMPER", dir,
             hv_err_name(rc));
  assert_true(err.msg[0] != '\0');
  if (bad_seq > 0 && rep.bad_seq != bad_seq)
    fail_msg("%s: bad_seq %lld, expected %lld (%s)", dir,
             (long long)rep.bad_seq, (long long)bad_seq, err.msg);
}

/* ---- the base store -------------------------------------------------------
 */

static const char REGISTRY[] =
    "{\"parties\": ["
    " {\"id\": \"ru\", \"name\": \"Russian Federation\", \"kind\": \"state\"},"
    " {\"id\": \"tr\", \"name\": \"Republic of Turkey\", \"kind\": \"state\"},"
    " {\"id\": \"syr-gov\", \"name\": \"Government of Syria\","
    "  \"kind\": \"state\", \"sponsor\": \"ru\"},"
    " {\"id\": \"fsa-north\", \"name\": \"Northern brigade\","
    "  \"kind\": \"armed_group\", \"sponsor\": \"tr\"},"
    " {\"id\": \"who\", \"name\": \"World Health Organization\","
    "  \"kind\": \"agency\"},"
    " {\"id\": \"is\", \"name\": \"Islamic State\", \"kind\": \"designated\"}"
    "], \"agreements\": ["
    " {\"id\": \"test-coh\", \"name\": \"Test cessation\","
    "  \"kind\": \"cessation_of_hostilities\","
    "  \"valid_from\": \"2016-02-26T22:00:00Z\", \"scope\": \"nationwide\","
    "  \"covered\": [\"syr-gov\", \"fsa-north\"], \"excluded\": [\"is\"],"
    "  \"terms\": [\"air_strike\", \"shelling\"]}"
    "]}";

static const char SPATIAL[] =
    "{\"type\": \"FeatureCollection\", \"features\": ["
    " {\"type\": \"Feature\", \"id\": \"test-zone\","
    "  \"geometry\": {\"type\": \"Polygon\", \"coordinates\":"
    "   [[[36.5,35.8],[36.8,35.8],[36.8,36.0],[36.5,36.0],[36.5,35.8]]]},"
    "  \"properties\": {\"object\": \"zone\", \"name\": \"Test zone\","
    "   \"kind\": \"de_escalation\", \"valid_from\": \"2017-05-06\","
    "   \"phase\": \"declared\"}},"
    " {\"type\": \"Feature\", \"id\": \"test-hospital\","
    "  \"geometry\": {\"type\": \"Point\", \"coordinates\": [36.633, 35.93]},"
    "  \"properties\": {\"object\": \"site\", \"name\": \"Test hospital\","
    "   \"category\": \"hospital\", \"radius_m\": 300,"
    "   \"notified_by\": \"who\"}}"
    "]}";

static const char UPDATE_WHO[] =
    "{\"parties\": [ {\"id\": \"who\", \"name\": \"WHO Syria office\","
    " \"kind\": \"agency\"} ]}";

static void import_text(struct hv_db *db, const char *name, const char *text) {
  char path[2400];
  tu_path_in(path, sizeof path, g_scratch, name);
  tu_write_file(path, text);
  const char *paths[] = {path};
  struct hv_error err = {0};
  struct hv_import_stats st;
  int rc = hv_db_import(db, HV_COORDINATOR, paths, 1, NULL, NULL, &st, &err);
  if (rc != HV_OK)
    fail_msg("import %s: %s: %s", name, hv_err_name(rc), err.msg);
}

static int record_entry(const struct hv_ledger_entry *e, void *ud) {
  (void)ud;
  if (e->seq < 1 || e->seq > MAX_ENTRIES)
    return 1;
  snprintf(g.kind[e->seq], sizeof g.kind[0], "%s", e->kind);
  snprintf(g.id[e->seq], sizeof g.id[0], "%s", e->id);
  snprintf(g.op[e->seq], sizeof g.op[0], "%s", e->op);
  memcpy(g.hash[e->seq], e->hash, HV_HASH_BYTES);
  if (strcmp(e->kind, "party") == 0 && strcmp(e->id, "tr") == 0)
    g.seq_tr = e->seq;
  if (strcmp(e->op, "phase") == 0)
    g.seq_zone_phase = e->seq;
  g.n = e->seq;
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  /* A directory of this process's own: several people may run the suite
   * in one build tree at once, and ctest gives each test one scratch
   * directory, not one per run. */
  assert_int_equal(tu_scratch_dir(g_scratch, sizeof g_scratch, "run"), 0);
  tu_path_in(g_base, sizeof g_base, g_scratch, "base");
  tu_path_in(g_export, sizeof g_export, g_scratch, "base.ndjson");
  rm_tree(g_base);

  struct hv_db *db = NULL;
  struct hv_error err = {0};
  int rc = hv_db_open(g_base, &db, &err);
  if (rc != HV_OK)
    fail_msg("open %s: %s", g_base, err.msg);
  import_text(db, "registry.json", REGISTRY);
  import_text(db, "spatial.geojson", SPATIAL);
  rc = hv_db_zone_set_phase(db, "tr", "test-zone", HV_PHASE_ESTABLISHED,
                            hv_time_now_ms(), "guarantors agreed", 1, &err);
  if (rc != HV_OK)
    fail_msg("phase: %s", err.msg);
  import_text(db, "update.json", UPDATE_WHO);
  assert_int_equal(hv_ledger_each(db, 1, 0, record_entry, NULL), HV_OK);

  FILE *f = fopen(g_export, "w");
  assert_non_null(f);
  assert_int_equal(hv_ledger_export(db, f, &err), HV_OK);
  assert_int_equal(fclose(f), 0);
  hv_db_close(db);

  /* 1 genesis + 6 parties + 1 agreement + zone + site + phase + update. */
  assert_int_equal(g.n, 12);
  assert_true(g.seq_tr > 2 && g.seq_tr < g.n - 1);
  assert_true(g.seq_zone_phase > 1);
  /* The last entry is the update of "who": deleting it leaves the objects
   * table ahead of the ledger. */
  assert_string_equal(g.op[g.n], "update");
  assert_string_equal(g.id[g.n], "who");
  return 0;
}

/* ---- the chain as written -------------------------------------------------
 */

static void test_verify_ok(void **state) {
  (void)state;
  struct hv_verify_report rep;
  struct hv_error err;
  assert_int_equal(open_verify(g_base, &rep, &err), HV_OK);
  assert_int_equal(rep.entries, g.n);
  assert_int_equal(rep.bad_seq, 0);
  char hex[65];
  assert_string_equal(rep.head_hex, hv_hash_hex(g.hash[g.n], hex));
}

struct genesis_check {
  int calls, genesis_ops;
  int64_t first_seq;
};

static int check_genesis(const struct hv_ledger_entry *e, void *ud) {
  struct genesis_check *c = ud;
  if (c->calls++ == 0) {
    c->first_seq = e->seq;
    static const uint8_t zero[HV_HASH_BYTES];
    assert_int_equal(e->seq, 1);
    assert_string_equal(e->op, "genesis");
    assert_string_equal(e->kind, "store");
    assert_string_equal(e->author, HV_COORDINATOR);
    assert_int_equal(e->version, 1);
    assert_memory_equal(e->prev_hash, zero, HV_HASH_BYTES);
    json_error_t jerr;
    json_t *body = json_loads(e->body, 0, &jerr);
    assert_non_null(body);
    assert_int_equal(json_integer_value(json_object_get(body, "format")), 1);
    /* The genesis entry names the store it founded. */
    assert_string_equal(json_string_value(json_object_get(body, "store")),
                        e->id);
    json_decref(body);
  }
  if (strcmp(e->op, "genesis") == 0)
    c->genesis_ops++;
  return 0;
}

static void test_genesis(void **state) {
  (void)state;
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(g_base, &db, &err), HV_OK);
  struct genesis_check c = {0};
  assert_int_equal(hv_ledger_each(db, 1, 0, check_genesis, &c), HV_OK);
  assert_int_equal(c.calls, g.n);
  assert_int_equal(c.first_seq, 1);
  assert_int_equal(c.genesis_ops, 1); /* only entry 1 */
  hv_db_close(db);
}

/* hash_n per haven/ledger.h, written out independently of ledger.c. */
static void spec_hash(const struct hv_ledger_entry *e,
                      uint8_t out[HV_HASH_BYTES]) {
  size_t cap = HV_HASH_BYTES + 24 + 3 * 4 + strlen(e->author) + strlen(e->op) +
               strlen(e->kind) + HV_HASH_BYTES + HV_HASH_BYTES;
  uint8_t *buf = malloc(cap), *p = buf;
  assert_non_null(buf);
  memcpy(p, e->prev_hash, HV_HASH_BYTES);
  p += HV_HASH_BYTES;
  const int64_t nums[] = {e->seq, e->time_ms, e->version};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 8; i++)
      *p++ = (uint8_t)((uint64_t)nums[k] >> (8 * i));
  const char *strs[] = {e->author, e->op, e->kind};
  for (int k = 0; k < 3; k++) {
    uint32_t n = (uint32_t)strlen(strs[k]);
    for (int i = 0; i < 4; i++)
      *p++ = (uint8_t)(n >> (8 * i));
    memcpy(p, strs[k], n);
    p += n;
  }
  /* The id enters through its own BLAKE2b-256, as 32 bytes. */
  crypto_generichash(p, HV_HASH_BYTES, (const uint8_t *)e->id, strlen(e->id),
                     NULL, 0);
  p += HV_HASH_BYTES;
  /* The body enters through its own BLAKE2b-256. */
  crypto_generichash(p, HV_HASH_BYTES, (const uint8_t *)e->body,
                     strlen(e->body), NULL, 0);
  p += HV_HASH_BYTES;
  assert_int_equal((size_t)(p - buf), cap);
  crypto_generichash(out, HV_HASH_BYTES, buf, cap, NULL, 0);
  free(buf);
}

struct chain_check {
  uint8_t prev[HV_HASH_BYTES];
  int64_t n;
};

static int check_stored_hash(const struct hv_ledger_entry *e, void *ud) {
  struct chain_check *c = ud;
  uint8_t h[HV_HASH_BYTES], s[HV_HASH_BYTES];
  hv_ledger_hash(e, h);
  spec_hash(e, s);
  assert_memory_equal(h, e->hash, HV_HASH_BYTES);
  assert_memory_equal(s, e->hash, HV_HASH_BYTES);
  assert_memory_equal(e->prev_hash, c->prev, HV_HASH_BYTES);
  memcpy(c->prev, e->hash, HV_HASH_BYTES);
  assert_int_equal(e->seq, ++c->n);
  return 0;
}

static void test_stored_hashes_follow_spec(void **state) {
  (void)state;
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(g_base, &db, &err), HV_OK);
  struct chain_check c = {{0}, 0};
  assert_int_equal(hv_ledger_each(db, 1, 0, check_stored_hash, &c), HV_OK);
  assert_int_equal(c.n, g.n);
  hv_db_close(db);
}

static void test_hash_deterministic_and_complete(void **state) {
  (void)state;
  struct hv_ledger_entry base = {.seq = 7,
                                 .time_ms = 1488326400123,
                                 .version = 3,
                                 .author = "ru",
                                 .op = "update",
                                 .kind = "zone",
                                 .id = "astana-idlib",
                                 .body = "{\"id\":\"astana-idlib\"}"};
  for (int i = 0; i < HV_HASH_BYTES; i++)
    base.prev_hash[i] = (uint8_t)(i * 7 + 1);
  uint8_t h0[HV_HASH_BYTES], h1[HV_HASH_BYTES], s[HV_HASH_BYTES];
  hv_ledger_hash(&base, h0);
  hv_ledger_hash(&base, h1);
  assert_memory_equal(h0, h1, HV_HASH_BYTES);
  spec_hash(&base, s);
  assert_memory_equal(h0, s, HV_HASH_BYTES);
  /* The output does not depend on what is in e->hash already. */
  memset(base.hash, 0xab, HV_HASH_BYTES);
  hv_ledger_hash(&base, h1);
  assert_memory_equal(h0, h1, HV_HASH_BYTES);

  /* Every field is covered: change each one, alone. */
  for (int field = 0; field < 11; field++) {
    struct hv_ledger_entry e = base;
    switch (field) {
    case 0:
      e.seq++;
      break;
    case 1:
      e.time_ms++;
      break;
    case 2:
      e.version++;
      break;
    case 3:
      e.author = "rU";
      break;
    case 4:
      e.op = "updatE";
      break;
    case 5:
      e.kind = "zonE";
      break;
    case 6:
      e.id = "astana-idlic";
      break;
    case 7:
      e.body = "{\"id\":\"astana-idlib\"} ";
      break;
    case 8:
      e.prev_hash[0] ^= 1;
      break;
    case 9:
      e.prev_hash[HV_HASH_BYTES - 1] ^= 0x80;
      break;
    case 10:
      e.time_ms = -e.time_ms;
      break;
    }
    hv_ledger_hash(&e, h1);
    if (memcmp(h0, h1, HV_HASH_BYTES) == 0)
      fail_msg("changing field %d does not change the hash", field);
  }

  /* Length prefixes: moving a byte from one field to the next changes the
   * hash even though the concatenation is the same. */
  struct hv_ledger_entry a = base, b = base;
  a.author = "ab";
  a.op = "c";
  b.author = "a";
  b.op = "bc";
  hv_ledger_hash(&a, h0);
  hv_ledger_hash(&b, h1);
  assert_memory_not_equal(h0, h1, HV_HASH_BYTES);
  a = base;
  b = base;
  a.id = "x";
  a.body = "";
  b.id = "";
  b.body = "x";
  hv_ledger_hash(&a, h0);
  hv_ledger_hash(&b, h1);
  assert_memory_not_equal(h0, h1, HV_HASH_BYTES);
  /* Between kind (length-prefixed) and id (hashed) as well. */
  a = base;
  b = base;
  a.kind = "zonex";
  a.id = "";
  b.kind = "zone";
  b.id = "x";
  hv_ledger_hash(&a, h0);
  hv_ledger_hash(&b, h1);
  assert_memory_not_equal(h0, h1, HV_HASH_BYTES);
}

/* The id enters as BLAKE2b-256(id), 32 bytes: hv_ledger_id_hash is that
 * hash, and the entry hash depends on the id only through it (the
 * definition spelt out byte by byte, with the id's hash put in directly). */
static void test_hash_id_through_its_hash(void **state) {
  (void)state;
  const char *id = "it-blind-clinic";
  uint8_t ih[HV_HASH_BYTES], want[HV_HASH_BYTES];
  hv_ledger_id_hash(id, ih);
  crypto_generichash(want, sizeof want, (const uint8_t *)id, strlen(id), NULL,
                     0);
  assert_memory_equal(ih, want, HV_HASH_BYTES);
  /* The empty id too (a fixed-length hash, never empty). */
  hv_ledger_id_hash("", ih);
  crypto_generichash(want, sizeof want, (const uint8_t *)"", 0, NULL, 0);
  assert_memory_equal(ih, want, HV_HASH_BYTES);

  struct hv_ledger_entry e = {.seq = 9,
                              .time_ms = 1795303744394,
                              .version = 2,
                              .author = "ocha",
                              .op = "update",
                              .kind = "site",
                              .id = id,
                              .body = "{\"x\":1}"};
  uint8_t buf[HV_HASH_BYTES + 24 + 4 + 4 + 4 + 4 + 6 + 4 + 2 * HV_HASH_BYTES];
  uint8_t *p = buf;
  memset(p, 0x11, HV_HASH_BYTES);
  memcpy(e.prev_hash, p, HV_HASH_BYTES);
  p += HV_HASH_BYTES;
  const int64_t nums[] = {e.seq, e.time_ms, e.version};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 8; i++)
      *p++ = (uint8_t)((uint64_t)nums[k] >> (8 * i));
  const char *strs[] = {e.author, e.op, e.kind};
  for (int k = 0; k < 3; k++) {
    uint32_t len = (uint32_t)strlen(strs[k]);
    for (int i = 0; i < 4; i++)
      *p++ = (uint8_t)(len >> (8 * i));
    memcpy(p, strs[k], len);
    p += len;
  }
  hv_ledger_id_hash(id, p);
  p += HV_HASH_BYTES;
  hv_ledger_body_hash(e.body, p);
  p += HV_HASH_BYTES;
  assert_int_equal((size_t)(p - buf), sizeof buf);
  uint8_t h[HV_HASH_BYTES];
  crypto_generichash(want, sizeof want, buf, sizeof buf, NULL, 0);
  hv_ledger_hash(&e, h);
  assert_memory_equal(h, want, HV_HASH_BYTES);
  /* The id's bytes themselves appear nowhere in what is hashed. */
  for (size_t i = 0; i + strlen(id) <= sizeof buf; i++)
    assert_true(memcmp(buf + i, id, strlen(id)) != 0);
}

static void test_hash_hex(void **state) {
  (void)state;
  uint8_t h[HV_HASH_BYTES];
  for (int i = 0; i < HV_HASH_BYTES; i++)
    h[i] = (uint8_t)(0xf0 + (i % 16) - i);
  char buf[65];
  memset(buf, 'Z', sizeof buf);
  const char *s = hv_hash_hex(h, buf);
  assert_ptr_equal(s, buf);
  assert_int_equal(strlen(buf), 64);
  for (int i = 0; i < HV_HASH_BYTES; i++) {
    char two[3];
    snprintf(two, sizeof two, "%02x", h[i]);
    assert_memory_equal(buf + 2 * i, two, 2);
  }
}

struct collect {
  int64_t seqs[MAX_ENTRIES];
  int n, stop_after;
};

static int collect_seq(const struct hv_ledger_entry *e, void *ud) {
  struct collect *c = ud;
  c->seqs[c->n++] = e->seq;
  return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_each_and_history(void **state) {
  (void)state;
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(g_base, &db, &err), HV_OK);
  struct collect c = {{0}, 0, 0};
  assert_int_equal(hv_ledger_each(db, 3, 5, collect_seq, &c), HV_OK);
  assert_int_equal(c.n, 3);
  assert_int_equal(c.seqs[0], 3);
  assert_int_equal(c.seqs[2], 5);
  /* A non-zero return stops the walk and is returned. */
  struct collect s = {{0}, 0, 2};
  assert_int_equal(hv_ledger_each(db, 1, 0, collect_seq, &s), 42);
  assert_int_equal(s.n, 2);
  /* The zone: created, then its phase changed. */
  struct collect z = {{0}, 0, 0};
  assert_int_equal(hv_ledger_history(db, HV_ZONE, "test-zone", collect_seq, &z),
                   HV_OK);
  assert_int_equal(z.n, 2);
  assert_int_equal(z.seqs[1], g.seq_zone_phase);
  assert_string_equal(g.op[z.seqs[0]], "create");
  assert_int_equal(hv_db_get(db, HV_ZONE, "test-zone")->version, 2);
  hv_db_close(db);
}

/* ---- tampering with the store ---------------------------------------------
 */

static void test_tamper_body_byte(void **state) {
  (void)state;
  const char *dir = copy_base("t-body");
  flip_body_byte(dir, g.seq_tr);
  expect_tamper_at(dir, g.seq_tr);
}

static void test_tamper_fields(void **state) {
  (void)state;
  static const char *const sets[] = {
      "author='ru'",        "time_ms=time_ms+1", "time_ms=0",
      "version=version+1",  "op='update'",       "kind='agreement'",
      "obj_id='tr2'",       "prev_hash=hash",    "hash=prev_hash",
      "author=author||' '",
  };
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
    char name[32], sql[256];
    snprintf(name, sizeof name, "t-field-%zu", i);
    const char *dir = copy_base(name);
    snprintf(sql, sizeof sql, "UPDATE ledger SET %s WHERE seq=%lld", sets[i],
             (long long)g.seq_tr);
    raw_exec(dir, sql);
    expect_tamper_at(dir, g.seq_tr);
  }
}

static void test_tamper_genesis(void **state) {
  (void)state;
  const char *dir = copy_base("t-genesis");
  raw_exec(dir, "UPDATE ledger SET body=replace(body,'\"format\":1',"
                "'\"format\":2') WHERE seq=1");
  expect_tamper_at(dir, 1);
}

/* A forger who rewrites an entry and recomputes its hash breaks the link
 * to the next entry. */
static void test_tamper_rehashed_entry(void **state) {
  (void)state;
  const char *dir = copy_base("t-rehash");
  raw_exec(dir, "UPDATE ledger SET body=replace(body,'Turkey','Turkmenistan')"
                " WHERE seq=(SELECT seq FROM ledger WHERE obj_id='tr')");
  /* Recompute that entry's hash as haven would. */
  sqlite3 *db = raw_open(dir);
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db,
                         "SELECT seq,time_ms,author,op,kind,obj_id,version,"
                         "body,prev_hash FROM ledger WHERE seq=?1",
                         -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, g.seq_tr);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  struct hv_ledger_entry e = {.seq = sqlite3_column_int64(st, 0),
                              .time_ms = sqlite3_column_int64(st, 1),
                              .author =
                                  (const char *)sqlite3_column_text(st, 2),
                              .op = (const char *)sqlite3_column_text(st, 3),
                              .kind = (const char *)sqlite3_column_text(st, 4),
                              .id = (const char *)sqlite3_column_text(st, 5),
                              .version = sqlite3_column_int64(st, 6),
                              .body = (const char *)sqlite3_column_text(st, 7)};
  assert_int_equal(sqlite3_column_bytes(st, 8), HV_HASH_BYTES);
  memcpy(e.prev_hash, sqlite3_column_blob(st, 8), HV_HASH_BYTES);
  assert_non_null(strstr(e.body, "Turkmenistan"));
  hv_ledger_hash(&e, e.hash);
  sqlite3_stmt *up;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "UPDATE ledger SET hash=?1 WHERE seq=?2",
                                      -1, &up, NULL),
                   SQLITE_OK);
  sqlite3_bind_blob(up, 1, e.hash, HV_HASH_BYTES, SQLITE_TRANSIENT);
  sqlite3_bind_int64(up, 2, g.seq_tr);
  assert_int_equal(sqlite3_step(up), SQLITE_DONE);
  sqlite3_finalize(up);
  sqlite3_finalize(st);
  sqlite3_close(db);
  expect_tamper_at(dir, g.seq_tr + 1);
}

static void test_tamper_delete_middle(void **state) {
  (void)state;
  const char *dir = copy_base("t-delete-middle");
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM ledger WHERE seq=%lld",
           (long long)g.seq_tr);
  raw_exec(dir, sql);
  expect_tamper_at(dir, g.seq_tr);
}

static void test_tamper_delete_first(void **state) {
  (void)state;
  const char *dir = copy_base("t-delete-first");
  raw_exec(dir, "DELETE FROM ledger WHERE seq=1");
  expect_tamper_at(dir, 1);
}

/* The tail cut: hv_db_open compares the last entry with the recorded head
 * and refuses the store. */
static void test_tamper_delete_last(void **state) {
  (void)state;
  const char *dir = copy_base("t-delete-last");
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM ledger WHERE seq=%lld",
           (long long)g.n);
  raw_exec(dir, sql);
  expect_open_refused(dir, g.n);
}

/* The tail cut by someone who also moves the head back: the chain and the
 * head agree, but the objects table still holds what the cut entry wrote. */
static void test_tamper_delete_last_and_head(void **state) {
  (void)state;
  const char *dir = copy_base("t-delete-last-head");
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM ledger WHERE seq=%lld",
           (long long)g.n);
  raw_exec(dir, sql);
  move_head(dir, g.n - 1);
  struct hv_verify_report rep;
  struct hv_error err;
  assert_int_equal(open_verify(dir, &rep, &err), HV_ETAMPER);
  assert_int_equal(rep.entries, g.n - 1);
  assert_non_null(strstr(err.msg, "who"));
  /* Found by the objects check, the failure still names an entry: the cut
   * one, which the stored object needs. */
  assert_int_equal(rep.bad_seq, g.n);
}

/* The last row edited in place: open refuses the store. */
static void test_tamper_last_row(void **state) {
  (void)state;
  const char *dir = copy_base("t-last-row");
  flip_body_byte(dir, g.n);
  expect_open_refused(dir, g.n);
}

static void test_tamper_head_meta(void **state) {
  (void)state;
  const char *dir = copy_base("t-head-hash");
  raw_exec(dir, "UPDATE meta SET value=zeroblob(32) WHERE key='head_hash'");
  /* Only the head's hash changed: entry N, the head entry, disagrees. */
  expect_open_refused(dir, g.n);
  /* The head moved back to entry 3: entries 4.. look appended. */
  dir = copy_base("t-head-seq");
  raw_exec(dir, "UPDATE meta SET value='3' WHERE key='head_seq'");
  expect_open_refused(dir, 4);
}

/* A well-formed entry appended behind haven's back: its hash is right, so
 * only the head exposes it. */
static void test_tamper_insert_forged(void **state) {
  (void)state;
  const char *body = "{\"id\":\"mallory\",\"kind\":\"state\",\"name\":"
                     "\"Mallory\",\"version\":1}";
  const char *dir = copy_base("t-insert");
  forge_append(dir, g.n + 1, g.n, HV_COORDINATOR, "mallory", body);
  expect_open_refused(dir, g.n + 1);

  /* And with the head moved to the forged entry: the ledger now writes an
   * object the store does not hold. */
  dir = copy_base("t-insert-head");
  forge_append(dir, g.n + 1, g.n, HV_COORDINATOR, "mallory", body);
  move_head(dir, g.n + 1);
  struct hv_verify_report rep;
  struct hv_error err;
  assert_int_equal(open_verify(dir, &rep, &err), HV_ETAMPER);
  assert_non_null(strstr(err.msg, "mallory"));
  assert_int_equal(rep.bad_seq, g.n + 1);

  /* A forged row with a wrong hash, head moved to it or not: open
   * recomputes the last entry's hash and refuses. */
  dir = copy_base("t-insert-badhash");
  raw_exec(dir, "INSERT INTO ledger SELECT seq+1,time_ms,author,op,kind,"
                "obj_id,version,body,hash,hash FROM ledger "
                "WHERE seq=(SELECT max(seq) FROM ledger)");
  expect_open_refused(dir, g.n + 1);
  move_head(dir, g.n + 1);
  expect_open_refused(dir, g.n + 1);

  /* A well-formed row after a gap (seq N+2), head moved to it: open is
   * satisfied, the walk finds the gap. */
  dir = copy_base("t-insert-gap");
  forge_append(dir, g.n + 2, g.n, HV_COORDINATOR, "mallory", body);
  move_head(dir, g.n + 2);
  expect_tamper_at(dir, g.n + 1);
}

static void test_tamper_reorder(void **state) {
  (void)state;
  const char *dir = copy_base("t-reorder");
  char sql[256];
  int64_t a = g.seq_tr, b = g.seq_tr + 1;
  snprintf(sql, sizeof sql,
           "UPDATE ledger SET seq=-1 WHERE seq=%lld;"
           "UPDATE ledger SET seq=%lld WHERE seq=%lld;"
           "UPDATE ledger SET seq=%lld WHERE seq=-1;",
           (long long)a, (long long)a, (long long)b, (long long)b);
  raw_exec(dir, sql);
  expect_tamper_at(dir, a);
}

static void test_tamper_objects(void **state) {
  (void)state;
  struct hv_verify_report rep;
  struct hv_error err;
  static const struct {
    const char *name, *sql, *mention;
  } cases[] = {
      {"t-obj-body",
       "UPDATE objects SET body=replace(body,'Republic of Turkey',"
       "'Republic of Turkez') WHERE kind='party' AND id='tr'",
       "tr"},
      {"t-obj-version",
       "UPDATE objects SET version=2, body=replace(body,'\"version\":1',"
       "'\"version\":2') WHERE kind='party' AND id='ru'",
       "ru"},
      {"t-obj-delete", "DELETE FROM objects WHERE kind='party' AND id='is'",
       "is"},
      {"t-obj-insert",
       "INSERT INTO objects VALUES('party','ghost',1,"
       "'{\"id\":\"ghost\",\"kind\":\"state\",\"name\":\"Ghost\","
       "\"version\":1}')",
       "ghost"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *dir = copy_base(cases[i].name);
    raw_exec(dir, cases[i].sql);
    int rc = open_verify(dir, &rep, &err);
    if (rc != HV_ETAMPER)
      fail_msg("%s: verify returned %s", cases[i].name, hv_err_name(rc));
    /* The chain itself is intact. */
    assert_int_equal(rep.entries, g.n);
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", cases[i].mention);
    if (strstr(err.msg, quoted) == NULL)
      fail_msg("%s: message does not name %s: %s", cases[i].name, quoted,
               err.msg);
    /* An entry is named: the last that wrote the object, or the one
     * after the chain for an object no entry wrote. */
    if (rep.bad_seq < 1 || rep.bad_seq > g.n + 1)
      fail_msg("%s: bad_seq %lld", cases[i].name, (long long)rep.bad_seq);
    if (strcmp(cases[i].mention, "ghost") == 0)
      assert_int_equal(rep.bad_seq, g.n + 1);
  }
}

/* A tamper seen, the untouched base still verifies: the copies are real
 * copies. */
static void test_base_untouched(void **state) {
  (void)state;
  struct hv_verify_report rep;
  struct hv_error err;
  assert_int_equal(open_verify(g_base, &rep, &err), HV_OK);
  assert_int_equal(rep.entries, g.n);
}

/* hv_ledger_verify_dir agrees with hv_ledger_verify on a sound store and a
 * tampered one, and does not make a store where there is none. */
static void test_verify_dir(void **state) {
  (void)state;
  struct hv_verify_report rep, rep2;
  struct hv_error err = {0};
  assert_int_equal(hv_ledger_verify_dir(g_base, &rep, &err), HV_OK);
  assert_int_equal(rep.entries, g.n);
  assert_int_equal(rep.bad_seq, 0);
  assert_int_equal(open_verify(g_base, &rep2, &err), HV_OK);
  assert_string_equal(rep.head_hex, rep2.head_hex);

  const char *dir = copy_base("t-dir-middle");
  flip_body_byte(dir, g.seq_tr);
  memset(&err, 0, sizeof err);
  assert_int_equal(hv_ledger_verify_dir(dir, &rep, &err), HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);

  char none[2400];
  tu_path_in(none, sizeof none, g_scratch, "no-store-here");
  rm_tree(none);
  memset(&err, 0, sizeof err);
  assert_int_equal(hv_ledger_verify_dir(none, &rep, &err), HV_EIO);
  assert_true(err.msg[0] != '\0');
  struct stat sb;
  assert_int_not_equal(stat(none, &sb), 0); /* nothing was created */
}

/* ---- the export ------------------------------------------------------------
 */

/* The export's lines (without their newlines); *n gets their count. */
static char **export_lines(size_t *n) {
  char *text = read_file(g_export, NULL);
  char **lines = calloc(MAX_ENTRIES + 1, sizeof *lines);
  assert_non_null(lines);
  size_t k = 0;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    assert_true(k < MAX_ENTRIES);
    lines[k] = strdup(l);
    assert_non_null(lines[k++]);
  }
  free(text);
  *n = k;
  return lines;
}

static void free_lines(char **lines, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  free(lines);
}

/* Writes lines[order[0..n)] to scratch/name and verifies that file. */
static int verify_lines(const char *name, char **lines, const size_t *order,
                        size_t n, struct hv_verify_report *rep,
                        struct hv_error *err) {
  char path[2400];
  tu_path_in(path, sizeof path, g_scratch, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s\n", lines[order[i]]);
  assert_int_equal(fclose(f), 0);
  f = fopen(path, "r");
  assert_non_null(f);
  memset(err, 0, sizeof *err);
  int rc = hv_ledger_verify_export(f, rep, err);
  fclose(f);
  return rc;
}

static void identity(size_t *order, size_t n) {
  for (size_t i = 0; i < n; i++)
    order[i] = i;
}

static void test_export_verifies(void **state) {
  (void)state;
  FILE *f = fopen(g_export, "r");
  assert_non_null(f);
  struct hv_verify_report rep;
  struct hv_error err = {0};
  assert_int_equal(hv_ledger_verify_export(f, &rep, &err), HV_OK);
  fclose(f);
  assert_int_equal(rep.entries, g.n);
  assert_int_equal(rep.bad_seq, 0);
  char hex[65];
  assert_string_equal(rep.head_hex, hv_hash_hex(g.hash[g.n], hex));

  /* Each line is an entry with the members ledger.h lists. */
  size_t n;
  char **lines = export_lines(&n);
  assert_int_equal(n, g.n);
  for (size_t i = 0; i < n; i++) {
    json_error_t jerr;
    json_t *j = json_loads(lines[i], 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")),
                     (json_int_t)i + 1);
    assert_string_equal(json_string_value(json_object_get(j, "id")),
                        g.id[i + 1]);
    assert_string_equal(json_string_value(json_object_get(j, "hash")),
                        hv_hash_hex(g.hash[i + 1], hex));
    /* id_hash is the BLAKE2b-256 of the id. */
    uint8_t ih[HV_HASH_BYTES];
    crypto_generichash(ih, sizeof ih, (const uint8_t *)g.id[i + 1],
                       strlen(g.id[i + 1]), NULL, 0);
    assert_string_equal(json_string_value(json_object_get(j, "id_hash")),
                        hv_hash_hex(ih, hex));
    static const char *const members[] = {"time", "time_ms",  "author",
                                          "op",   "kind",     "version",
                                          "body", "prev_hash"};
    for (size_t m = 0; m < sizeof members / sizeof *members; m++)
      assert_non_null(json_object_get(j, members[m]));
    json_decref(j);
  }
  free_lines(lines, n);
}

/* Changes the case of the first letter of a body's first string value. */
static void edit_body(char *line) {
  char *b = strstr(line, "\"body\":\"");
  assert_non_null(b);
  b += strlen("\"body\":\"");
  char *v = strstr(b, ":\\\"");
  assert_non_null(v);
  v += 3;
  while (*v && !isalpha((unsigned char)*v))
    v++;
  assert_true(isalpha((unsigned char)*v));
  *v = (char)(islower((unsigned char)*v) ? toupper((unsigned char)*v)
                                         : tolower((unsigned char)*v));
}

static void test_export_tampered(void **state) {
  (void)state;
  size_t n;
  char **lines = export_lines(&n);
  assert_int_equal(n, g.n);
  size_t order[MAX_ENTRIES + 1];
  struct hv_verify_report rep;
  struct hv_error err;
  size_t k = (size_t)g.seq_tr - 1; /* index of a middle entry's line */

  /* A character of a body. */
  char *saved = strdup(lines[k]);
  assert_non_null(saved);
  edit_body(lines[k]);
  assert_string_not_equal(saved, lines[k]);
  identity(order, n);
  assert_int_equal(verify_lines("x-body.ndjson", lines, order, n, &rep, &err),
                   HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  assert_int_equal(rep.entries, g.seq_tr - 1);
  free(lines[k]);
  lines[k] = saved;

  /* A line dropped. */
  for (size_t i = 0, j = 0; i < n; i++)
    if (i != k)
      order[j++] = i;
  assert_int_equal(
      verify_lines("x-drop.ndjson", lines, order, n - 1, &rep, &err),
      HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);

  /* The first line dropped. */
  for (size_t i = 1; i < n; i++)
    order[i - 1] = i;
  assert_int_equal(
      verify_lines("x-drop-first.ndjson", lines, order, n - 1, &rep, &err),
      HV_ETAMPER);
  assert_int_equal(rep.bad_seq, 1);

  /* Two lines swapped. */
  identity(order, n);
  order[k] = k + 1;
  order[k + 1] = k;
  assert_int_equal(verify_lines("x-swap.ndjson", lines, order, n, &rep, &err),
                   HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);

  /* A line duplicated. */
  for (size_t i = 0, j = 0; i < n; i++) {
    order[j++] = i;
    if (i == k)
      order[j++] = i;
  }
  assert_int_equal(
      verify_lines("x-dup.ndjson", lines, order, n + 1, &rep, &err),
      HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr + 1);

  /* A line that is not an entry. */
  saved = lines[k];
  lines[k] = strdup("{\"seq\": \"three\"}");
  assert_non_null(lines[k]);
  identity(order, n);
  assert_int_equal(verify_lines("x-junk.ndjson", lines, order, n, &rep, &err),
                   HV_EPARSE);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  free(lines[k]);
  lines[k] = saved;

  /* The author of an entry (a JSON member outside the body). */
  saved = strdup(lines[k]);
  assert_non_null(saved);
  char *a = strstr(lines[k], "\"author\":\"coordinator\"");
  assert_non_null(a);
  memcpy(a + strlen("\"author\":\""), "Coordinator", strlen("Coordinator"));
  assert_int_equal(verify_lines("x-author.ndjson", lines, order, n, &rep, &err),
                   HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  free(lines[k]);
  lines[k] = saved;

  /* The human-readable "time" of an entry, moved by a year. */
  saved = strdup(lines[k]);
  assert_non_null(saved);
  char *t = strstr(lines[k], "\"time\":\"");
  assert_non_null(t);
  t += strlen("\"time\":\"");
  t[3] = (char)(t[3] == '0' ? '1' : '0');
  /* "time" must say what time_ms (hashed) says. */
  assert_int_equal(verify_lines("x-time.ndjson", lines, order, n, &rep, &err),
                   HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  free(lines[k]);
  lines[k] = saved;

  /* The last line dropped: the chain that is left is sound, so the export
   * alone cannot tell; its head no longer matches the store's. */
  identity(order, n);
  assert_int_equal(
      verify_lines("x-truncated.ndjson", lines, order, n - 1, &rep, &err),
      HV_OK);
  assert_int_equal(rep.entries, g.n - 1);
  char hex[65];
  assert_string_not_equal(rep.head_hex, hv_hash_hex(g.hash[g.n], hex));

  /* Nothing at all. */
  assert_int_equal(verify_lines("x-empty.ndjson", lines, order, 0, &rep, &err),
                   HV_EPARSE);
  free_lines(lines, n);
}

/* line (an export line) with member key set to value (taken), or removed
 * when value is NULL, as export lines are written. Caller frees. */
static char *edit_member(const char *line, const char *key, json_t *value) {
  json_error_t jerr;
  json_t *j = json_loads(line, 0, &jerr);
  assert_non_null(j);
  if (value)
    assert_int_equal(json_object_set_new(j, key, value), 0);
  else
    assert_int_equal(json_object_del(j, key), 0);
  char *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  assert_non_null(out);
  json_decref(j);
  return out;
}

/* Verifies the export with line k replaced by repl (taken). */
static int verify_with(const char *name, char **lines, size_t n, size_t k,
                       char *repl, struct hv_verify_report *rep,
                       struct hv_error *err) {
  size_t order[MAX_ENTRIES + 1] = {0};
  assert_true(n <= MAX_ENTRIES + 1);
  identity(order, n);
  char *saved = lines[k];
  lines[k] = repl;
  int rc = verify_lines(name, lines, order, n, rep, err);
  lines[k] = saved;
  free(repl);
  return rc;
}

/* The id enters the hash through id_hash: a copy may withhold it (id null)
 * and still verify; an id changed behind its id_hash, or with its id_hash
 * recomputed, does not. */
static void test_export_id_withheld_and_tampered(void **state) {
  (void)state;
  size_t n;
  char **lines = export_lines(&n);
  assert_int_equal(n, g.n);
  struct hv_verify_report rep;
  struct hv_error err;
  size_t k = (size_t)g.seq_tr - 1;
  char hex[65];
  assert_non_null(strstr(lines[k], "\"id\":\"tr\""));

  /* Withheld: id null, id_hash kept. Same head as the store's. */
  assert_int_equal(verify_with("i-null.ndjson", lines, n, k,
                               edit_member(lines[k], "id", json_null()), &rep,
                               &err),
                   HV_OK);
  assert_int_equal(rep.entries, g.n);
  assert_int_equal(rep.ids_withheld, 1);
  assert_int_equal(rep.withheld, 0);
  assert_string_equal(rep.head_hex, hv_hash_hex(g.hash[g.n], hex));
  /* Withheld by leaving the member out: the same. */
  assert_int_equal(verify_with("i-absent.ndjson", lines, n, k,
                               edit_member(lines[k], "id", NULL), &rep, &err),
                   HV_OK);
  assert_int_equal(rep.ids_withheld, 1);
  /* Id and body both withheld. */
  char *both = edit_member(lines[k], "id", json_null());
  assert_int_equal(verify_with("i-both.ndjson", lines, n, k,
                               edit_member(both, "body", NULL), &rep, &err),
                   HV_OK);
  free(both);
  assert_int_equal(rep.ids_withheld, 1);
  assert_int_equal(rep.withheld, 1);
  assert_string_equal(rep.head_hex, hv_hash_hex(g.hash[g.n], hex));

  /* The id changed, its id_hash kept: they disagree. */
  assert_int_equal(verify_with("i-changed.ndjson", lines, n, k,
                               edit_member(lines[k], "id", json_string("tq")),
                               &rep, &err),
                   HV_ETAMPER);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  assert_non_null(strstr(err.msg, "id does not match id_hash"));
  /* The id changed, id_hash dropped: the entry's hash no longer holds. */
  char *noh = edit_member(lines[k], "id_hash", NULL);
  assert_int_equal(verify_with("i-nohash.ndjson", lines, n, k,
                               edit_member(noh, "id", json_string("tq")), &rep,
                               &err),
                   HV_ETAMPER);
  free(noh);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  assert_int_equal(rep.entries, g.seq_tr - 1);
  /* The id changed and its id_hash recomputed to match: the same. */
  uint8_t ih[HV_HASH_BYTES];
  hv_ledger_id_hash("tq", ih);
  char *re = edit_member(lines[k], "id", json_string("tq"));
  assert_int_equal(
      verify_with("i-rehashed.ndjson", lines, n, k,
                  edit_member(re, "id_hash", json_string(hv_hash_hex(ih, hex))),
                  &rep, &err),
      HV_ETAMPER);
  free(re);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  /* Withheld, with id_hash changed: the entry's hash no longer holds. */
  char *wh = edit_member(lines[k], "id", json_null());
  hv_ledger_id_hash("tr", ih);
  ih[0] ^= 1;
  assert_int_equal(
      verify_with("i-null-bad.ndjson", lines, n, k,
                  edit_member(wh, "id_hash", json_string(hv_hash_hex(ih, hex))),
                  &rep, &err),
      HV_ETAMPER);
  free(wh);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  /* Neither id nor id_hash: nothing to hash, not an entry. */
  char *none = edit_member(lines[k], "id", json_null());
  assert_int_equal(verify_with("i-none.ndjson", lines, n, k,
                               edit_member(none, "id_hash", NULL), &rep, &err),
                   HV_EPARSE);
  free(none);
  assert_int_equal(rep.bad_seq, g.seq_tr);
  /* An id that is not a string. */
  assert_int_equal(verify_with("i-number.ndjson", lines, n, k,
                               edit_member(lines[k], "id", json_integer(7)),
                               &rep, &err),
                   HV_EPARSE);
  free_lines(lines, n);
}

/* hv_ledger_entry_json with the id withheld: id null, id_hash given, and
 * the line verifies as a one-entry chain would from entry 1. */
static void test_entry_json_withholds_id(void **state) {
  (void)state;
  struct hv_ledger_entry e = {.seq = 1,
                              .time_ms = 1488326400123,
                              .version = 1,
                              .author = "coordinator",
                              .op = "genesis",
                              .kind = "store",
                              .id = "secret-id",
                              .body = "{}"};
  hv_ledger_hash(&e, e.hash);
  json_t *j = hv_ledger_entry_json(&e, 0, 0);
  assert_non_null(j);
  assert_true(json_is_null(json_object_get(j, "id")));
  assert_null(json_object_get(j, "body"));
  char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  assert_non_null(text);
  assert_null(strstr(text, "secret-id"));
  uint8_t ih[HV_HASH_BYTES];
  char hex[65];
  hv_ledger_id_hash("secret-id", ih);
  assert_string_equal(json_string_value(json_object_get(j, "id_hash")),
                      hv_hash_hex(ih, hex));
  json_decref(j);
  FILE *f = tmpfile();
  assert_non_null(f);
  fprintf(f, "%s\n", text);
  free(text);
  rewind(f);
  struct hv_verify_report rep;
  struct hv_error err = {0};
  assert_int_equal(hv_ledger_verify_export(f, &rep, &err), HV_OK);
  fclose(f);
  assert_int_equal(rep.ids_withheld, 1);
  assert_int_equal(rep.withheld, 1);
  assert_string_equal(rep.head_hex, hv_hash_hex(e.hash, hex));
  /* With its id: the id shown. */
  j = hv_ledger_entry_json(&e, 1, 1);
  assert_string_equal(json_string_value(json_object_get(j, "id")), "secret-id");
  assert_string_equal(json_string_value(json_object_get(j, "body")), "{}");
  json_decref(j);
}

/* An export written after an update and reopen still matches the store. */
static void test_export_after_reopen(void **state) {
  (void)state;
  const char *dir = copy_base("t-reopen");
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(dir, &db, &err), HV_OK);
  assert_int_equal(hv_db_zone_set_phase(db, HV_COORDINATOR, "test-zone",
                                        HV_PHASE_OPEN, hv_time_now_ms(), NULL,
                                        2, &err),
                   HV_OK);
  char path[2400];
  tu_path_in(path, sizeof path, g_scratch, "reopen.ndjson");
  FILE *f = fopen(path, "w+");
  assert_non_null(f);
  assert_int_equal(hv_ledger_export(db, f, &err), HV_OK);
  struct hv_verify_report rep, rep2;
  assert_int_equal(hv_ledger_verify(db, &rep, &err), HV_OK);
  assert_int_equal(rep.entries, g.n + 1);
  rewind(f);
  assert_int_equal(hv_ledger_verify_export(f, &rep2, &err), HV_OK);
  fclose(f);
  assert_int_equal(rep2.entries, g.n + 1);
  assert_string_equal(rep.head_hex, rep2.head_hex);
  hv_db_close(db);
}

static int group_teardown(void **state) {
  (void)state;
  rm_tree(g_scratch);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verify_ok),
      cmocka_unit_test(test_genesis),
      cmocka_unit_test(test_stored_hashes_follow_spec),
      cmocka_unit_test(test_hash_deterministic_and_complete),
      cmocka_unit_test(test_hash_id_through_its_hash),
      cmocka_unit_test(test_hash_hex),
      cmocka_unit_test(test_each_and_history),
      cmocka_unit_test(test_tamper_body_byte),
      cmocka_unit_test(test_tamper_fields),
      cmocka_unit_test(test_tamper_genesis),
      cmocka_unit_test(test_tamper_rehashed_entry),
      cmocka_unit_test(test_tamper_delete_middle),
      cmocka_unit_test(test_tamper_delete_first),
      cmocka_unit_test(test_tamper_delete_last),
      cmocka_unit_test(test_tamper_delete_last_and_head),
      cmocka_unit_test(test_tamper_last_row),
      cmocka_unit_test(test_tamper_head_meta),
      cmocka_unit_test(test_tamper_insert_forged),
      cmocka_unit_test(test_tamper_reorder),
      cmocka_unit_test(test_tamper_objects),
      cmocka_unit_test(test_base_untouched),
      cmocka_unit_test(test_verify_dir),
      cmocka_unit_test(test_export_verifies),
      cmocka_unit_test(test_export_tampered),
      cmocka_unit_test(test_export_id_withheld_and_tampered),
      cmocka_unit_test(test_entry_json_withholds_id),
      cmocka_unit_test(test_export_after_reopen),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
