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

#endif /* HAVEN_TESTUTIL_H */
