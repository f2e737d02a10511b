/*
 * testutil.c — helpers shared by the cmocka unit tests (see testutil.h).
 * Built into the haven_testutil library, linked to every tests/unit/test-*.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, mkdtemp (CMake defines it for the build) */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

int tu_import_fixtures(struct hv_db *db) {
  char r[4096], z[4096], p[4096];
  const char *paths[] = {tu_fixture(r, sizeof r, "registry.json"),
                         tu_fixture(z, sizeof z, "zones.geojson"),
                         tu_fixture(p, sizeof p, "places.geojson")};
  struct hv_error err = {0};
  struct hv_import_stats st;
  if (hv_db_import(db, HV_COORDINATOR, paths, 3, NULL, NULL, &st, &err) !=
      HV_OK) {
    print_error("cannot import the fixtures: %s\n", err.msg);
    return -1;
  }
  return 0;
}

int tu_ledger_cb(const struct hv_ledger_entry *e, void *ud) {
  struct tu_ledger_info *li = ud;
  li->n++;
  li->last_seq = e->seq;
  li->last_version = e->version;
  snprintf(li->last_op, sizeof li->last_op, "%s", e->op);
  snprintf(li->last_kind, sizeof li->last_kind, "%s", e->kind);
  snprintf(li->last_id, sizeof li->last_id, "%s", e->id);
  snprintf(li->last_author, sizeof li->last_author, "%s", e->author);
  memcpy(li->last_hash, e->hash, HV_HASH_BYTES);
  if (!li->keep_body)
    return 0;
  free(li->last_body);
  li->last_body = strdup(e->body);
  return li->last_body == NULL;
}

struct tu_ledger_info tu_ledger(struct hv_db *db) {
  struct tu_ledger_info li;
  memset(&li, 0, sizeof li);
  assert_int_equal(hv_ledger_each(db, 1, 0, tu_ledger_cb, &li), HV_OK);
  return li;
}

struct hv_verify_report tu_verify(struct hv_db *db) {
  struct hv_verify_report rep;
  struct hv_error err = {0};
  int rc = hv_ledger_verify(db, &rep, &err);
  if (rc != HV_OK)
    fail_msg("ledger does not verify: %s: %s", hv_err_name(rc), err.msg);
  assert_int_equal(rep.entries, hv_db_head_seq(db));
  return rep;
}

/* The snapshot of db into *s; 0, or -1 when the ledger cannot be read. */
static int snap_into(struct hv_db *db, struct tu_snapshot *s) {
  struct tu_ledger_info li;
  memset(&li, 0, sizeof li);
  memset(s, 0, sizeof *s);
  if (hv_ledger_each(db, 1, 0, tu_ledger_cb, &li) != HV_OK)
    return -1;
  s->entries = li.n;
  memcpy(s->head_hash, li.last_hash, HV_HASH_BYTES);
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    s->count[k] = hv_db_count(db, (enum hv_kind)k);
    for (size_t i = 0; i < s->count[k]; i++)
      s->version_sum[k] += hv_db_at(db, (enum hv_kind)k, i)->version;
  }
  return 0;
}

struct tu_snapshot tu_snap(struct hv_db *db) {
  struct tu_snapshot s;
  if (snap_into(db, &s) != 0)
    fail_msg("cannot walk the ledger");
  return s;
}

void tu_assert_unchanged(struct hv_db *db, const struct tu_snapshot *before,
                         const char *what) {
  struct tu_snapshot now = tu_snap(db);
  if (now.entries != before->entries)
    fail_msg("%s: the ledger has %lld entries, had %lld", what,
             (long long)now.entries, (long long)before->entries);
  if (memcmp(now.head_hash, before->head_hash, HV_HASH_BYTES) != 0)
    fail_msg("%s: the ledger's head changed", what);
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    const char *kind = hv_kind_name((enum hv_kind)k);
    if (now.count[k] != before->count[k])
      fail_msg("%s: %zu %s objects, had %zu", what, now.count[k], kind,
               before->count[k]);
    if (now.version_sum[k] != before->version_sum[k])
      fail_msg("%s: the versions of the %s objects changed", what, kind);
  }
}

int tu_store_setup(void **state, const char *prefix, int fixtures) {
  struct tu_store *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -1;
  if (tu_open_store(s->dir, sizeof s->dir, prefix, &s->db) != 0 ||
      (fixtures && tu_import_fixtures(s->db) != 0) ||
      snap_into(s->db, &s->base) != 0) {
    tu_close_store(s->db, s->dir);
    free(s);
    return -1;
  }
  *state = s;
  return 0;
}

int tu_store_teardown(void **state) {
  struct tu_store *s = *state;
  tu_close_store(s->db, s->dir);
  free(s);
  return 0;
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

const char *tu_env_or(const char *name, const char *dflt) {
  const char *v = getenv(name);
  return v && *v ? v : dflt;
}

/* Prints a file's lines, as errors or as messages. */
static void dump_file(const char *path, int as_error) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return;
  char line[1024];
  while (fgets(line, sizeof line, f) != NULL)
    if (as_error)
      print_error("  %s", line);
    else
      print_message("  %s", line);
  fclose(f);
}

/* Runs mkscenario SRC OUT with its output into log; 0 when it exited 0. */
static int run_mkscenario(const char *out, const char *log, int verbose) {
  char bin[4200], src[4200];
  if ((size_t)snprintf(bin, sizeof bin, "%s/mkscenario",
                       tu_env_or("HAVEN_BUILD_DIR", ".")) >= sizeof bin ||
      (size_t)snprintf(src, sizeof src, "%s/data/src",
                       tu_env_or("HAVEN_SOURCE_DIR", ".")) >= sizeof src)
    return -1;
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0)
    return -1;
  int rc = posix_spawn_file_actions_addopen(&fa, 1, log,
                                            O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = {bin, src, (char *)out, NULL};
  extern char **environ;
  pid_t pid = 0;
  if (rc == 0)
    rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    print_error("cannot run %s: %s\n", bin, strerror(rc));
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    print_error("%s %s %s: %s %d; its output:\n", bin, src, out,
                WIFEXITED(status) ? "exit status" : "killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    dump_file(log, 1);
    return -1;
  }
  if (verbose) {
    print_message("mkscenario:\n");
    dump_file(log, 0);
  }
  return 0;
}

int tu_load_scenario(const char *run_dir, int verbose, struct hv_db **db) {
  *db = NULL;
  char out[4200], log[4200], data[4200], p[6][4300];
  const char *src = tu_env_or("HAVEN_SOURCE_DIR", ".");
  tu_path_in(out, sizeof out, run_dir, "scenario");
  tu_path_in(log, sizeof log, run_dir, "mkscenario.log");
  tu_path_in(data, sizeof data, run_dir, "db");
  if (run_mkscenario(out, log, verbose) != 0)
    return -1;
  struct hv_error err = {0};
  if (hv_db_open(data, db, &err) != HV_OK) {
    print_error("cannot open a haven in %s: %s\n", data, err.msg);
    return -1;
  }
  snprintf(p[0], sizeof p[0], "%s/data/scenario/registry.json", src);
  snprintf(p[1], sizeof p[1], "%s/areas.geojson", out);
  snprintf(p[2], sizeof p[2], "%s/zones.geojson", out);
  snprintf(p[3], sizeof p[3], "%s/sites.geojson", out);
  snprintf(p[4], sizeof p[4], "%s/delineations.geojson", out);
  snprintf(p[5], sizeof p[5], "%s/data/scenario/corridors.geojson", src);
  const char *paths[] = {p[0], p[1], p[2], p[3], p[4], p[5]};
  if (hv_db_import(*db, HV_COORDINATOR, paths, 6, NULL, NULL, NULL, &err) !=
      HV_OK) {
    print_error("cannot import the scenario: %s\n", err.msg);
    hv_db_close(*db);
    *db = NULL;
    return -1;
  }
  return 0;
}

int tu_scenario_open(char *run, size_t size, const char *name, int verbose,
                     struct hv_db **db) {
  *db = NULL;
  if (tu_scratch_dir(run, size, name) != 0) {
    run[0] = '\0';
    return -1;
  }
  if (tu_load_scenario(run, verbose, db) != 0) {
    tu_scenario_close(run, *db);
    *db = NULL;
    return -1;
  }
  return 0;
}

void tu_scenario_close(char *run, struct hv_db *db) {
  hv_db_close(db);
  if (run[0])
    tu_rm_tree(run);
  run[0] = '\0';
}

int tu_scenario_setup(void **state) {
  struct tu_scenario *s = calloc(1, sizeof *s);
  *state = s;
  if (s == NULL ||
      tu_scenario_open(s->run, sizeof s->run, "scenario", 0, &s->db) != 0) {
    tu_scenario_teardown(state);
    return -1;
  }
  return 0;
}

int tu_scenario_teardown(void **state) {
  struct tu_scenario *s = *state;
  if (s)
    tu_scenario_close(s->run, s->db);
  free(s);
  *state = NULL;
  return 0;
}
