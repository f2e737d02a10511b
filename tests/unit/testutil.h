/*
 * testutil.h — helpers shared by the cmocka unit tests in tests/unit/.
 *
 * Include it after <cmocka.h> (and its prerequisites). Helpers whose name
 * says they fail the test do so with cmocka's fail_msg/assert macros; the
 * others return 0 or -1 so that setup functions can use them.
 */
#ifndef HAVEN_TESTUTIL_H
#define HAVEN_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "haven/haven.h"

/* Removes path and everything under it; 0 when done or when path is absent. */
int tu_rm_tree(const char *path);

/* dir/name into buf (fails the test when it does not fit); returns buf. */
const char *tu_path_in(char *buf, size_t size, const char *dir,
                       const char *name);

/* The path of a fixture in $HAVEN_SOURCE_DIR/tests/fixtures/unit/ into buf. */
const char *tu_fixture(char *buf, size_t size, const char *name);

/* Makes <$HAVEN_SCRATCH_DIR>/<name>-<pid> afresh (a leftover is removed)
 * into buf; 0 when done, -1 otherwise. */
int tu_scratch_dir(char *buf, size_t size, const char *name);

/* Makes a new <$HAVEN_SCRATCH_DIR>/<prefix>-XXXXXX into dir and opens a
 * store there; 0 when done, -1 (with a message) otherwise. */
int tu_open_store(char *dir, size_t size, const char *prefix,
                  struct hv_db **db);

/* Closes db (may be NULL) and removes its directory dir. */
void tu_close_store(struct hv_db *db, const char *dir);

/* Imports tests/fixtures/unit/ as the coordinator; 0, or -1 with a message. */
int tu_import_fixtures(struct hv_db *db);

/* A ledger walk's entry count and last entry (body only with keep_body). */
struct tu_ledger_info {
  int64_t n, last_seq, last_version;
  char last_op[32], last_kind[32], last_id[80], last_author[64];
  uint8_t last_hash[HV_HASH_BYTES];
  int keep_body;   /* set before the walk to keep last_body */
  char *last_body; /* malloc'd: the caller frees it */
};

/* Ledger walk callback filling the zeroed struct tu_ledger_info ud. */
int tu_ledger_cb(const struct hv_ledger_entry *e, void *ud);

/* Walks all of db's ledger, without bodies (fails the test on error). */
struct tu_ledger_info tu_ledger(struct hv_db *db);

/* Fails the test unless db's whole ledger (to its head) verifies. */
struct hv_verify_report tu_verify(struct hv_db *db);

/* What a refused write leaves as it was: ledger length, head, kinds. */
struct tu_snapshot {
  int64_t entries;                    /* ledger entries */
  uint8_t head_hash[HV_HASH_BYTES];   /* the last entry's hash */
  size_t count[HV_KIND_COUNT];        /* objects of each kind */
  int64_t version_sum[HV_KIND_COUNT]; /* their versions summed */
};

/* The snapshot of db now (fails the test when the ledger cannot be read). */
struct tu_snapshot tu_snap(struct hv_db *db);

/* Fails the test, naming what and what changed, unless db is as before. */
void tu_assert_unchanged(struct hv_db *db, const struct tu_snapshot *before,
                         const char *what);

/* A test's own store (tu_store_setup). */
struct tu_store {
  char dir[4096];
  struct hv_db *db;
  struct tu_snapshot base; /* as tu_store_setup left it */
};

/* cmocka setup: a new struct tu_store in *state, fixtures imported if set. */
int tu_store_setup(void **state, const char *prefix, int fixtures);

/* cmocka teardown: closes, removes and frees the store of tu_store_setup. */
int tu_store_teardown(void **state);

/* Writes text to path as it is (fails the test on an I/O error). */
void tu_write_file(const char *path, const char *text);

/* Writes text to path with single quotes turned into double quotes, so that
 * JSON can be written readably in C strings (fails the test on error). */
void tu_write_quoted(const char *path, const char *text);

/* Parses JSON written with single quotes ('x' -> "x"); caller decrefs. */
json_t *tu_js(const char *text);

/* cmocka setup: a new geometry context (struct hv_geo *) into *state. */
int tu_geo_setup(void **state);

/* cmocka teardown: frees the geometry context of tu_geo_setup. */
int tu_geo_teardown(void **state);

/* The value of environment variable name, or dflt when unset or empty. */
const char *tu_env_or(const char *name, const char *dflt);

/* The bundled real scenario, built as `make demo` does: runs
 * $HAVEN_BUILD_DIR/mkscenario on $HAVEN_SOURCE_DIR/data/src into
 * run_dir/scenario (its output in run_dir/mkscenario.log, printed when
 * verbose or when it fails), opens a store in run_dir/db and imports the
 * registry, the generated files and the corridors. run_dir must exist.
 * Returns 0 with *db open (caller closes), or -1 after printing why. */
int tu_load_scenario(const char *run_dir, int verbose, struct hv_db **db);

/* A scratch run directory run (of size bytes) for name, with the bundled
 * scenario loaded into *db (tu_load_scenario). Returns 0, or -1 after
 * printing why (nothing left behind). */
int tu_scenario_open(char *run, size_t size, const char *name, int verbose,
                     struct hv_db **db);
/* Closes db (NULL: nothing) and removes run (empty: nothing). */
void tu_scenario_close(char *run, struct hv_db *db);

/* A cmocka group's state with the bundled scenario loaded: *state is a
 * struct tu_scenario (tu_scenario_setup / tu_scenario_teardown). */
struct tu_scenario {
  char run[4096];
  struct hv_db *db;
};
int tu_scenario_setup(void **state);
int tu_scenario_teardown(void **state);

#endif /* HAVEN_TESTUTIL_H */
