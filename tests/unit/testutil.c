/*
 * testutil.c — helpers shared by the cmocka unit tests (see testutil.h).
 * Built into the haven_testutil library, linked to every tests/unit/test-*.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, mkdtemp (CMake defines it for the build) */
#endif
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

/* nftw callback: removes one entry (children come first with FTW_DEPTH). */
static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int tu_rm_tree(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0)
    return 0;
  return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

const char *tu_path_in(char *buf, size_t size, const char *dir,
                       const char *name) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size)
    fail_msg("path too long: %s/%s", dir, name);
  return buf;
}

/* The value of the environment variable name, or dflt when unset or empty. */
static const char *env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

const char *tu_fixture(char *buf, size_t size, const char *name) {
  int n = snprintf(buf, size, "%s/tests/fixtures/unit/%s",
                   env_or("HAVEN_SOURCE_DIR", "."), name);
  if (n < 0 || (size_t)n >= size)
    fail_msg("path too long: %s", name);
  return buf;
}

int tu_scratch_dir(char *buf, size_t size, const char *name) {
  int n = snprintf(buf, size, "%s/%s-%ld", env_or("HAVEN_SCRATCH_DIR", "."),
                   name, (long)getpid());
  if (n < 0 || (size_t)n >= size)
    return -1;
  if (tu_rm_tree(buf) != 0 || mkdir(buf, 0750) != 0)
    return -1;
  return 0;
}

int tu_open_store(char *dir, size_t size, const char *prefix,
                  struct hv_db **db) {
  *db = NULL;
  int n = snprintf(dir, size, "%s/%s-XXXXXX", env_or("HAVEN_SCRATCH_DIR", "."),
                   prefix);
  if (n < 0 || (size_t)n >= size || mkdtemp(dir) == NULL) {
    print_error("cannot make a directory for %s\n", prefix);
    return -1;
  }
  struct hv_error err = {0};
  if (hv_db_open(dir, db, &err) != HV_OK) {
    print_error("hv_db_open(%s): %s\n", dir, err.msg);
    return -1;
  }
  return 0;
}

void tu_close_store(struct hv_db *db, const char *dir) {
  hv_db_close(db);
  tu_rm_tree(dir);
}

void tu_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

void tu_write_quoted(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (const char *p = text; *p; p++)
    fputc(*p == '\'' ? '"' : *p, f);
  assert_int_equal(fclose(f), 0);
}

json_t *tu_js(const char *text) {
  size_t n = strlen(text);
  char *s = malloc(n + 1);
  assert_non_null(s);
  for (size_t i = 0; i <= n; i++)
    s[i] = text[i] == '\'' ? '"' : text[i];
  json_error_t jerr;
  json_t *j = json_loads(s, 0, &jerr);
  if (j == NULL)
    fail_msg("bad test JSON: %s: %s", jerr.text, s);
  free(s);
  return j;
}

int tu_geo_setup(void **state) {
  struct hv_geo *geo = NULL;
  if (hv_geo_new(&geo) != HV_OK)
    return -1;
  *state = geo;
  return 0;
}

int tu_geo_teardown(void **state) {
  hv_geo_free(*state);
  return 0;
}
