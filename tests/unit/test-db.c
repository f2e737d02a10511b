/*
 * test-db.c — an open haven (lib/db.c, lib/io.c, lib/store_sqlite.c): the
 * store, imports, the registry's queries and phase changes.
 *
 * Each test gets its own data directory under HAVEN_SCRATCH_DIR and imports
 * the small scenario in tests/fixtures/unit/ (11 parties in four sponsor
 * trees, 2 agreements, 3 zones, 3 sites, a corridor, a delineation and an
 * area around Idlib).
 *
 * What must hold: a new store has exactly its genesis entry; an import
 * creates, updates (version + 1) or leaves alone, and refuses a stale
 * version; everything written is there after reopening; the queries follow
 * docs/formats.md (validity, phase at a time, altitude band, boundary
 * inside, nearest first, coverage down the sponsor tree); every write adds
 * one ledger entry per changed object, and a refused write adds none.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "haven/haven.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

/* Each test's store starts empty. */
static int setup(void **state) { return tu_store_setup(state, "db", 0); }

/* Writes text to dir/name, single quotes turned into double quotes so that
 * JSON can be written readably in C strings. */
static const char *write_json(char *buf, size_t size, const char *dir,
                              const char *name, const char *text) {
  tu_write_quoted(tu_path_in(buf, size, dir, name), text);
  return buf;
}

/* Loads a fixture as JSON (caller decrefs). */
static json_t *load_fixture(const char *name) {
  char p[4096];
  json_error_t jerr;
  json_t *j = json_load_file(tu_fixture(p, sizeof p, name), 0, &jerr);
  if (j == NULL)
    fail_msg("%s: %s", p, jerr.text);
  return j;
}

/* Writes j (taken) to dir/name. */
static const char *dump_json(char *buf, size_t size, const char *dir,
                             const char *name, json_t *j) {
  tu_path_in(buf, size, dir, name);
  assert_int_equal(json_dump_file(j, buf, JSON_INDENT(1)), 0);
  json_decref(j);
  return buf;
}

/* Imports the NULL-terminated paths as author; returns the code. */
static int import_v(struct hv_db *db, const char *author,
                    struct hv_import_stats *st, struct hv_error *err,
                    va_list ap) {
  const char *paths[8];
  size_t n = 0;
  for (const char *p; n < 8 && (p = va_arg(ap, const char *)) != NULL;)
    paths[n++] = p;
  memset(st, 0xff, sizeof *st);
  memset(err, 0, sizeof *err);
  return hv_db_import(db, author, paths, n, NULL, NULL, st, err);
}

static int import(struct hv_db *db, const char *author,
                  struct hv_import_stats *st, struct hv_error *err, ...) {
  va_list ap;
  va_start(ap, err);
  int rc = import_v(db, author, st, err, ap);
  va_end(ap);
  return rc;
}

static struct hv_import_stats import_ok(struct hv_db *db, const char *author,
                                        ...) {
  struct hv_import_stats st;
  struct hv_error err;
  va_list ap;
  va_start(ap, author);
  int rc = import_v(db, author, &st, &err, ap);
  va_end(ap);
  if (rc != HV_OK)
    fail_msg("import failed: %s: %s", hv_err_name(rc), err.msg);
  return st;
}

#define N_OBJECTS 22 /* in the three fixtures */

static struct hv_import_stats import_base(struct hv_db *db) {
  char r[4096], z[4096], p[4096];
  return import_ok(db, HV_COORDINATOR, tu_fixture(r, sizeof r, "registry.json"),
                   tu_fixture(z, sizeof z, "zones.geojson"),
                   tu_fixture(p, sizeof p, "places.geojson"), NULL);
}

static void verify(struct hv_db *db) {
  struct hv_verify_report rep;
  struct hv_error err = {0};
  int rc = hv_ledger_verify(db, &rep, &err);
  if (rc != HV_OK)
    fail_msg("ledger does not verify: %s", err.msg);
  assert_true(rep.entries == tu_ledger(db).n);
}

static int64_t T(const char *text) {
  int64_t t = 0;
  if (hv_time_parse(text, &t) != HV_OK)
    fail_msg("bad test time %s", text);
  return t;
}

static const struct hv_object *get(struct hv_db *db, enum hv_kind k,
                                   const char *id) {
  const struct hv_object *o = hv_db_get(db, k, id);
  if (o == NULL)
    fail_msg("no %s %s", hv_kind_name(k), id);
  return o;
}

/* The ids of hits, space-separated, into buf. */
static const char *hit_ids(const struct hv_hits *h, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < h->n && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? " " : "",
                             h->v[i].obj->id);
  return buf;
}

/* The ids of the zones in force at (lon, lat, alt) at t. */
static const char *zones_at(struct hv_db *db, double lon, double lat,
                            double alt, const char *t, char *buf, size_t size) {
  struct hv_hits h = {0};
  assert_int_equal(hv_db_zones_at(db, lon, lat, alt, T(t), &h), HV_OK);
  hit_ids(&h, buf, size);
  hv_hits_free(&h);
  return buf;
}

/* ---- opening ------------------------------------------------------------- */

static void test_open_creates_genesis(void **state) {
  struct tu_store *c = *state;
  char p[4096];
  struct stat sb;
  assert_int_equal(stat(tu_path_in(p, sizeof p, c->dir, "haven.db"), &sb), 0);
  struct tu_ledger_info li = tu_ledger(c->db);
  assert_true(li.n == 1);
  assert_true(li.last_seq == 1);
  assert_string_equal(li.last_op, "genesis");
  assert_string_equal(li.last_kind, "store");
  assert_string_equal(li.last_author, HV_COORDINATOR);
  for (int k = 0; k < HV_KIND_COUNT; k++)
    assert_int_equal(hv_db_count(c->db, (enum hv_kind)k), 0);
  assert_null(hv_db_get(c->db, HV_PARTY, "ru"));
  assert_null(hv_db_at(c->db, HV_ZONE, 0));
  assert_non_null(hv_db_geo(c->db));
  verify(c->db);
  /* Reopening does not write a second genesis. */
  hv_db_close(c->db);
  c->db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(c->dir, &c->db, &err), HV_OK);
  struct tu_ledger_info li2 = tu_ledger(c->db);
  assert_true(li2.n == 1);
  assert_memory_equal(li.last_hash, li2.last_hash, HV_HASH_BYTES);
  /* Another store has another genesis (its own store id). */
  char other[4096];
  struct hv_db *db2 = NULL;
  assert_int_equal(
      hv_db_open(tu_path_in(other, sizeof other, c->dir, "other"), &db2, &err),
      HV_OK);
  struct tu_ledger_info li3 = tu_ledger(db2);
  assert_true(li3.n == 1);
  assert_string_not_equal(li3.last_id, li.last_id);
  hv_db_close(db2);
  /* A regular file is not a data directory. */
  struct hv_db *bad = (struct hv_db *)1;
  assert_int_equal(
      hv_db_open(tu_path_in(p, sizeof p, c->dir, "haven.db"), &bad, &err),
      HV_EIO);
  assert_null(bad);
  assert_non_null(strstr(err.msg, "haven.db"));
  hv_db_close(NULL); /* a no-op */
}

/* ---- importing ----------------------------------------------------------- */

static void test_import_creates(void **state) {
  struct tu_store *c = *state;
  struct hv_import_stats st = import_base(c->db);
  assert_int_equal(st.created, N_OBJECTS);
  assert_int_equal(st.updated, 0);
  assert_int_equal(st.unchanged, 0);
  static const size_t want[HV_KIND_COUNT] = {11, 2, 3, 1, 3, 1, 1};
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    assert_int_equal(st.by_kind[k], want[k]);
    assert_int_equal(hv_db_count(c->db, (enum hv_kind)k), want[k]);
  }
  /* In id order. */
  for (size_t i = 1; i < hv_db_count(c->db, HV_PARTY); i++)
    assert_true(strcmp(hv_db_at(c->db, HV_PARTY, i - 1)->id,
                       hv_db_at(c->db, HV_PARTY, i)->id) < 0);
  const struct hv_object *z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 1);
  assert_int_equal(json_integer_value(json_object_get(z->doc, "version")), 1);
  assert_int_equal(z->u.zone.phase, HV_PHASE_OPEN);
  assert_int_equal(z->u.zone.n_history, 3);
  assert_int_equal(z->u.zone.n_rules, 2);
  assert_true(z->u.zone.alt_max_m == 3000);
  /* A zone imported without history starts one: its phase at valid_from,
   * by the importing party. */
  const struct hv_object *f = get(c->db, HV_ZONE, "future-safe");
  assert_int_equal(f->u.zone.n_history, 1);
  assert_int_equal(f->u.zone.history[0].phase, HV_PHASE_DECLARED);
  assert_true(f->u.zone.history[0].at_ms == T("2030-01-01"));
  assert_string_equal(f->u.zone.history[0].by, HV_COORDINATOR);
  assert_string_equal(get(c->db, HV_PARTY, "nda")->u.party.sponsor, "syr-gov");
  assert_true(get(c->db, HV_CORRIDOR, "cor-1")->u.corridor.area_m2 > 3e7);
  /* One ledger entry per object, after the genesis. */
  struct tu_ledger_info li = tu_ledger(c->db);
  assert_true(li.n == 1 + N_OBJECTS);
  assert_string_equal(li.last_op, "create");
  assert_string_equal(li.last_author, HV_COORDINATOR);
  verify(c->db);
  /* Lookups that find nothing. */
  assert_null(hv_db_get(c->db, HV_ZONE, "ru"));
  assert_null(hv_db_get(c->db, HV_KIND_COUNT, "ru"));
  assert_null(hv_db_get(c->db, HV_PARTY, NULL));
  assert_null(hv_db_at(c->db, HV_PARTY, 11));
  assert_int_equal(hv_db_count(c->db, HV_KIND_COUNT), 0);
}

static void test_reimport_unchanged(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  struct tu_ledger_info before = tu_ledger(c->db);
  struct hv_import_stats st = import_base(c->db);
  assert_int_equal(st.unchanged, N_OBJECTS);
  assert_int_equal(st.created, 0);
  assert_int_equal(st.updated, 0);
  assert_int_equal(st.by_kind[HV_PARTY], 11);
  struct tu_ledger_info after = tu_ledger(c->db);
  assert_true(after.n == before.n);
  assert_memory_equal(after.last_hash, before.last_hash, HV_HASH_BYTES);
  for (int k = 0; k < HV_KIND_COUNT; k++)
    for (size_t i = 0; i < hv_db_count(c->db, (enum hv_kind)k); i++)
      assert_int_equal(hv_db_at(c->db, (enum hv_kind)k, i)->version, 1);
}

#define NEW_ZONE(phase)                                                        \
  "{'type':'FeatureCollection','features':[{'type':'Feature','id':'new-z',"    \
  "'geometry':{'type':'Polygon','coordinates':[[[38.5,34.5],[38.6,34.5],"      \
  "[38.6,34.6],[38.5,34.6],[38.5,34.5]]]},'properties':{'object':'zone',"      \
  "'name':'New','kind':'safe','valid_from':'2017-01-01','phase':'" phase       \
  "'}}]}"

static void test_changed_content_updates(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  char p[4096], q[4096];
  import_ok(
      c->db, "ru",
      write_json(q, sizeof q, c->dir, "new.geojson", NEW_ZONE("declared")),
      NULL);
  int64_t n0 = tu_ledger(c->db).n;
  /* Rename idlib-dez in a copy of its file. */
  json_t *fc = load_fixture("zones.geojson");
  json_t *features = json_object_get(fc, "features");
  json_object_set_new(
      json_object_get(json_array_get(features, 0), "properties"), "name",
      json_string("Idlib DEZ (renamed)"));
  dump_json(p, sizeof p, c->dir, "zones-v2.geojson", fc);
  /* Move new-z on to established; its file has no history, so the
   * importer adds the transition, by the importing party. */
  write_json(q, sizeof q, c->dir, "new.geojson", NEW_ZONE("established"));
  struct hv_import_stats st = import_ok(c->db, "tr", p, q, NULL);
  assert_int_equal(st.updated, 2);
  assert_int_equal(st.unchanged, 2);
  assert_int_equal(st.created, 0);
  assert_int_equal(st.by_kind[HV_ZONE], 4);
  const struct hv_object *z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 2);
  assert_string_equal(z->name, "Idlib DEZ (renamed)");
  assert_int_equal(z->u.zone.n_history, 3);
  const struct hv_object *nz = get(c->db, HV_ZONE, "new-z");
  assert_int_equal(nz->version, 2);
  assert_int_equal(nz->u.zone.phase, HV_PHASE_ESTABLISHED);
  assert_int_equal(nz->u.zone.n_history, 2);
  assert_string_equal(nz->u.zone.history[0].by, "ru");
  assert_string_equal(nz->u.zone.history[1].by, "tr");
  assert_true(nz->u.zone.history[1].at_ms > T("2020-01-01")); /* now */
  assert_int_equal(get(c->db, HV_ZONE, "old-buffer")->version, 1);
  struct tu_ledger_info li = tu_ledger(c->db);
  assert_true(li.n == n0 + 2);
  assert_string_equal(li.last_op, "update");
  assert_string_equal(li.last_author, "tr");
  assert_true(li.last_version == 2);
  /* The object's history in the ledger: create, then update. */
  struct tu_ledger_info h;
  memset(&h, 0, sizeof h);
  assert_int_equal(
      hv_ledger_history(c->db, HV_ZONE, "idlib-dez", tu_ledger_cb, &h), HV_OK);
  assert_true(h.n == 2);
  assert_string_equal(h.last_op, "update");
  assert_string_equal(h.last_id, "idlib-dez");
  /* Importing the same files again changes nothing more. */
  st = import_ok(c->db, "tr", p, q, NULL);
  assert_int_equal(st.unchanged, 4);
  assert_true(tu_ledger(c->db).n == n0 + 2);
  verify(c->db);
}

/* Re-importing a zone with a new phase and no phase_history appends a
 * transition dated now. For a zone whose recorded history starts in the
 * future (declared at 2030-01-01) that would put the change before the last
 * one: the import is refused with a message saying what to do, and nothing
 * is applied. */
static void test_phase_change_by_import_of_future_zone(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  int64_t n0 = (int64_t)tu_ledger(c->db).n;
  json_t *fc = load_fixture("zones.geojson");
  json_object_set_new(
      json_object_get(json_array_get(json_object_get(fc, "features"), 1),
                      "properties"),
      "phase", json_string("established"));
  char p[4096];
  dump_json(p, sizeof p, c->dir, "future.geojson", fc);
  struct hv_import_stats st;
  struct hv_error err;
  int rc = import(c->db, "tr", &st, &err, p, NULL);
  assert_int_equal(rc, HV_ESCHEMA);
  assert_non_null(strstr(err.msg, "future.geojson"));
  assert_non_null(strstr(err.msg, "future-safe"));
  assert_non_null(strstr(err.msg, "phase_history"));
  assert_non_null(strstr(err.msg, "haven phase"));
  const struct hv_object *f = get(c->db, HV_ZONE, "future-safe");
  assert_int_equal(f->u.zone.phase, HV_PHASE_DECLARED);
  assert_int_equal(f->u.zone.n_history, 1);
  assert_true((int64_t)tu_ledger(c->db).n == n0);
}

/* A zone's phase history only grows: an import that rewrites a recorded
 * change is refused (nothing applied); one that appends a change is taken. */
static void test_phase_history_only_grows(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  int64_t n0 = (int64_t)tu_ledger(c->db).n;
  char p[4096];
  struct hv_import_stats st;
  struct hv_error err;
  /* Entry 1 (established by tr) re-dated. */
  json_t *fc = load_fixture("zones.geojson");
  json_t *props = json_object_get(
      json_array_get(json_object_get(fc, "features"), 0), "properties");
  json_t *hist = json_object_get(props, "phase_history");
  json_object_set_new(json_array_get(hist, 1), "at",
                      json_string("2017-05-11T00:00:00Z"));
  dump_json(p, sizeof p, c->dir, "rewrite.geojson", fc);
  assert_int_equal(import(c->db, "tr", &st, &err, p, NULL), HV_ESCHEMA);
  assert_non_null(strstr(err.msg, "rewrite.geojson"));
  assert_non_null(strstr(err.msg, "idlib-dez"));
  assert_non_null(strstr(err.msg, "phase_history[1]"));
  assert_true((int64_t)tu_ledger(c->db).n == n0);
  assert_int_equal(get(c->db, HV_ZONE, "idlib-dez")->version, 1);
  /* A change appended: open -> suspended. */
  fc = load_fixture("zones.geojson");
  props = json_object_get(json_array_get(json_object_get(fc, "features"), 0),
                          "properties");
  json_array_append_new(json_object_get(props, "phase_history"),
                        json_pack("{s:s,s:s,s:s}", "phase", "suspended", "at",
                                  "2017-07-01T00:00:00Z", "by", "ru"));
  json_object_set_new(props, "phase", json_string("suspended"));
  dump_json(p, sizeof p, c->dir, "append.geojson", fc);
  assert_int_equal(import(c->db, "tr", &st, &err, p, NULL), HV_OK);
  const struct hv_object *z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 2);
  assert_int_equal(z->u.zone.n_history, 4);
  assert_int_equal(hv_zone_phase_at(z, T("2017-06-15")), HV_PHASE_OPEN);
  assert_int_equal(hv_zone_phase_at(z, T("2017-07-02")), HV_PHASE_SUSPENDED);
  verify(c->db);
}

static void test_stale_version_conflicts(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  char p[4096];
  /* Someone renames the zone: it is at version 2. */
  json_t *fc = load_fixture("zones.geojson");
  json_t *props = json_object_get(
      json_array_get(json_object_get(fc, "features"), 0), "properties");
  json_object_set_new(props, "name", json_string("Renamed once"));
  dump_json(p, sizeof p, c->dir, "v2.geojson", fc);
  import_ok(c->db, "tr", p, NULL);
  assert_int_equal(get(c->db, HV_ZONE, "idlib-dez")->version, 2);
  struct tu_ledger_info before = tu_ledger(c->db);
  /* A file exported at version 1 and edited since: refused. */
  fc = load_fixture("zones.geojson");
  props = json_object_get(json_array_get(json_object_get(fc, "features"), 0),
                          "properties");
  json_object_set_new(props, "name", json_string("Renamed from v1"));
  json_object_set_new(props, "version", json_integer(1));
  dump_json(p, sizeof p, c->dir, "stale.geojson", fc);
  struct hv_import_stats st;
  struct hv_error err;
  assert_int_equal(import(c->db, "ru", &st, &err, p, NULL), HV_ECONFLICT);
  assert_int_equal(err.code, HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "stale.geojson"));
  assert_non_null(strstr(err.msg, "feature 0"));
  assert_non_null(strstr(err.msg, "idlib-dez"));
  assert_non_null(strstr(err.msg, "version 1"));
  assert_non_null(strstr(err.msg, "version 2"));
  assert_string_equal(get(c->db, HV_ZONE, "idlib-dez")->name, "Renamed once");
  struct tu_ledger_info after = tu_ledger(c->db);
  assert_true(after.n == before.n);
  assert_memory_equal(after.last_hash, before.last_hash, HV_HASH_BYTES);
  /* A stale registry object likewise. */
  write_json(p, sizeof p, c->dir, "stale.json",
             "{'parties':[{'id':'ru','name':'Russia','kind':'state',"
             "'version':7}]}");
  assert_int_equal(import(c->db, "ru", &st, &err, p, NULL), HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "parties[0]"));
  assert_non_null(strstr(err.msg, "\"ru\""));
  assert_string_equal(get(c->db, HV_PARTY, "ru")->name, "Russian Federation");
  /* With the current version the change goes in. */
  fc = load_fixture("zones.geojson");
  props = json_object_get(json_array_get(json_object_get(fc, "features"), 0),
                          "properties");
  json_object_set_new(props, "name", json_string("Renamed from v2"));
  json_object_set_new(props, "version", json_integer(2));
  dump_json(p, sizeof p, c->dir, "current.geojson", fc);
  st = import_ok(c->db, "ru", p, NULL);
  assert_int_equal(st.updated, 1);
  assert_int_equal(get(c->db, HV_ZONE, "idlib-dez")->version, 3);
  assert_true(tu_ledger(c->db).n == before.n + 1);
}

/* Two handles on one store (a server and a command): a write through one
 * is refused by the other until it refreshes; after hv_db_refresh it sees
 * the write and can write again. */
static void test_refresh_sees_other_writer(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  struct hv_db *other;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(c->dir, &other, &err), HV_OK);
  int changed = -1;
  assert_int_equal(hv_db_refresh(c->db, &changed, &err), HV_OK);
  assert_int_equal(changed, 0);
  assert_int_equal(hv_db_zone_set_phase(other, "tr", "idlib-dez",
                                        HV_PHASE_SUSPENDED,
                                        T("2018-01-01T00:00:00Z"), NULL, 1,
                                        &err),
                   HV_OK);
  /* The stale handle may not chain onto a head it did not see. */
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez",
                                        HV_PHASE_SUSPENDED,
                                        T("2018-01-02T00:00:00Z"), NULL, 1,
                                        &err),
                   HV_ECONFLICT);
  assert_int_equal(get(c->db, HV_ZONE, "idlib-dez")->version, 1);
  assert_int_equal(hv_db_refresh(c->db, &changed, &err), HV_OK);
  assert_int_equal(changed, 1);
  const struct hv_object *z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 2);
  assert_int_equal(z->u.zone.phase, HV_PHASE_SUSPENDED);
  assert_true(hv_db_head_seq(c->db) == hv_db_head_seq(other));
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez",
                                        HV_PHASE_OPEN,
                                        T("2018-02-01T00:00:00Z"), NULL, 2,
                                        &err),
                   HV_OK);
  hv_db_close(other);
  verify(c->db);
}

static void test_persistence(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  struct hv_error err = {0};
  assert_int_equal(
      hv_db_zone_set_phase(c->db, "tr", "idlib-dez", HV_PHASE_SUSPENDED,
                           T("2018-01-01T00:00:00Z"), "shelling", 1, &err),
      HV_OK);
  struct tu_ledger_info before = tu_ledger(c->db);
  hv_db_close(c->db);
  c->db = NULL;
  assert_int_equal(hv_db_open(c->dir, &c->db, &err), HV_OK);
  static const size_t want[HV_KIND_COUNT] = {11, 2, 3, 1, 3, 1, 1};
  for (int k = 0; k < HV_KIND_COUNT; k++)
    assert_int_equal(hv_db_count(c->db, (enum hv_kind)k), want[k]);
  struct tu_ledger_info after = tu_ledger(c->db);
  assert_true(after.n == before.n);
  assert_memory_equal(after.last_hash, before.last_hash, HV_HASH_BYTES);
  verify(c->db);
  const struct hv_object *z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 2);
  assert_int_equal(z->u.zone.phase, HV_PHASE_SUSPENDED);
  assert_int_equal(z->u.zone.n_history, 4);
  assert_string_equal(z->u.zone.history[3].reason, "shelling");
  assert_true(z->u.zone.alt_min_m == 0 && z->u.zone.alt_max_m == 3000);
  const struct hv_object *s = get(c->db, HV_SITE, "hosp-1");
  assert_true(s->u.site.lon == 36.633 && s->u.site.lat == 35.93);
  assert_true(s->u.site.notified_ms == T("2017-07-01"));
  const struct hv_object *a = get(c->db, HV_AGREEMENT, "coh-2016");
  assert_true(a->to_ms == T("2016-06-01"));
  assert_true(hv_ids_contain(a->u.agreement.excluded, "is"));
  assert_string_equal(get(c->db, HV_PARTY, "fsa-north")->u.party.sponsor,
                      "fsa");
  assert_ptr_equal(hv_db_party_by_alias(c->db, "daesh"),
                   get(c->db, HV_PARTY, "is"));
  const struct hv_object *cor = get(c->db, HV_CORRIDOR, "cor-1");
  assert_int_equal(cor->u.corridor.n_windows, 1);
  assert_non_null(cor->u.corridor.area);
  char buf[256];
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, NAN, "2018-02-01", buf, sizeof buf),
      "idlib-dez");
  /* Re-importing the registry and the places finds them all unchanged. */
  char r[4096], p[4096];
  struct hv_import_stats st =
      import_ok(c->db, HV_COORDINATOR, tu_fixture(r, sizeof r, "registry.json"),
                tu_fixture(p, sizeof p, "places.geojson"), NULL);
  assert_int_equal(st.unchanged, 11 + 2 + 6);
}

/* ---- queries ------------------------------------------------------------- */

static void test_zones_at(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  char buf[256];
  /* Idlib city, any altitude, in 2018. */
  struct hv_hits h = {0};
  assert_int_equal(
      hv_db_zones_at(c->db, 36.633, 35.93, NAN, T("2018-01-01"), &h), HV_OK);
  assert_int_equal(h.n, 1);
  assert_string_equal(h.v[0].obj->id, "idlib-dez");
  assert_int_equal(h.v[0].phase, HV_PHASE_OPEN);
  assert_true(h.v[0].dist_m == 0);
  /* It appends. */
  assert_int_equal(
      hv_db_zones_at(c->db, 36.633, 35.93, NAN, T("2017-05-20"), &h), HV_OK);
  assert_int_equal(h.n, 2);
  assert_int_equal(h.v[1].phase, HV_PHASE_ESTABLISHED);
  hv_hits_free(&h);
  assert_int_equal(h.n, 0);
  assert_null(h.v);
  hv_hits_free(NULL);
  /* The altitude band 0..3000 m, ends included. */
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, 100, "2018-01-01", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, 3000, "2018-01-01", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, 0, "2018-01-01", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, 3000.5, "2018-01-01", buf, sizeof buf),
      "");
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, -10, "2018-01-01", buf, sizeof buf), "");
  /* Not yet valid. */
  assert_string_equal(zones_at(c->db, 36.633, 35.93, NAN,
                               "2017-05-05T23:59:59Z", buf, sizeof buf),
                      "");
  assert_string_equal(
      zones_at(c->db, 38.1, 35.1, NAN, "2029-12-31", buf, sizeof buf), "");
  assert_string_equal(
      zones_at(c->db, 38.1, 35.1, 100000, "2030-01-01", buf, sizeof buf),
      "future-safe"); /* no altitude band: no ceiling */
  /* Dissolved after its phase change on 2018-01-01; expired 2020. */
  assert_string_equal(
      zones_at(c->db, 37.65, 36.65, NAN, "2017-12-31", buf, sizeof buf),
      "old-buffer");
  assert_string_equal(
      zones_at(c->db, 37.65, 36.65, NAN, "2018-01-01", buf, sizeof buf), "");
  assert_string_equal(
      zones_at(c->db, 37.65, 36.65, NAN, "2015-12-31", buf, sizeof buf), "");
  /* The boundary counts as inside: an edge and a corner. */
  assert_string_equal(
      zones_at(c->db, 36.0, 35.5, NAN, "2018-01-01", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 37.0, 36.0, NAN, "2018-01-01", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 36.5, 35.0, NAN, "2018-01-01", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 35.9999, 35.5, NAN, "2018-01-01", buf, sizeof buf), "");
  assert_string_equal(
      zones_at(c->db, 36.5, 36.0001, NAN, "2018-01-01", buf, sizeof buf), "");
  /* Bad coordinates. */
  assert_int_equal(hv_db_zones_at(c->db, 181, 35, NAN, 0, &h), HV_EINVAL);
  assert_int_equal(hv_db_zones_at(c->db, 36, -90.5, NAN, 0, &h), HV_EINVAL);
  assert_int_equal(hv_db_zones_at(c->db, NAN, 35, NAN, 0, &h), HV_EINVAL);
  assert_int_equal(h.n, 0);
  hv_hits_free(&h);
}

static void test_within_nearest_first(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  const double lon = 36.633, lat = 35.93;
  struct hv_hits h = {0};
  assert_int_equal(hv_db_within(c->db, lon, lat, 60000, T("2018-06-01"), &h),
                   HV_OK);
  char buf[512];
  /* Zero distance first (zone, site, area by kind), then by distance;
   * del-1 (~76 km), old-buffer (dissolved) and future-safe (not valid
   * yet) are left out. */
  assert_string_equal(hit_ids(&h, buf, sizeof buf),
                      "idlib-dez hosp-1 idlib-city school-1 camp-1 cor-1");
  for (size_t i = 1; i < h.n; i++)
    assert_true(h.v[i - 1].dist_m <= h.v[i].dist_m);
  for (size_t i = 0; i < h.n; i++) {
    const struct hv_object *o = h.v[i].obj;
    assert_true(h.v[i].dist_m <= 60000);
    if (o->kind == HV_SITE) {
      double d = hv_geo_distance_m(lon, lat, o->u.site.lon, o->u.site.lat);
      if (fabs(h.v[i].dist_m - d) > 1e-6)
        fail_msg("%s: %.3f m, geodesic %.3f m", o->id, h.v[i].dist_m, d);
    }
  }
  assert_true(h.v[0].dist_m == 0 && h.v[1].dist_m == 0 && h.v[2].dist_m == 0);
  assert_int_equal(h.v[0].phase, HV_PHASE_OPEN);
  /* school-1 at 36.70 35.95: ~6.4 km. */
  assert_true(h.v[3].dist_m > 6000 && h.v[3].dist_m < 7000);
  /* The corridor: its buffered area, 1000 m either side of 35.5 N. */
  double to_line = hv_geo_distance_m(lon, lat, lon, 35.5);
  if (fabs(h.v[5].dist_m - (to_line - 1000)) > 0.01 * to_line)
    fail_msg("corridor at %.0f m, expected about %.0f", h.v[5].dist_m,
             to_line - 1000);
  hv_hits_free(&h);
  /* A smaller radius cuts the list; a larger one takes del-1 in. */
  assert_int_equal(hv_db_within(c->db, lon, lat, 7000, T("2018-06-01"), &h),
                   HV_OK);
  assert_string_equal(hit_ids(&h, buf, sizeof buf),
                      "idlib-dez hosp-1 idlib-city school-1");
  hv_hits_free(&h);
  assert_int_equal(hv_db_within(c->db, lon, lat, 90000, T("2018-06-01"), &h),
                   HV_OK);
  assert_non_null(strstr(hit_ids(&h, buf, sizeof buf), "del-1"));
  hv_hits_free(&h);
  /* Before the zone's validity it is not listed. */
  assert_int_equal(hv_db_within(c->db, lon, lat, 7000, T("2017-01-01"), &h),
                   HV_OK);
  assert_string_equal(hit_ids(&h, buf, sizeof buf),
                      "hosp-1 idlib-city school-1");
  hv_hits_free(&h);
  /* Zero radius: only what contains the point or sits on it. */
  assert_int_equal(hv_db_within(c->db, lon, lat, 0, T("2018-06-01"), &h),
                   HV_OK);
  assert_string_equal(hit_ids(&h, buf, sizeof buf),
                      "idlib-dez hosp-1 idlib-city");
  hv_hits_free(&h);
  assert_int_equal(hv_db_within(c->db, lon, lat, -1, 0, &h), HV_EINVAL);
  assert_int_equal(hv_db_within(c->db, lon, 95, 10, 0, &h), HV_EINVAL);
  assert_int_equal(h.n, 0);
}

static void test_sponsor_chain(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  struct hv_hits h = {0};
  char buf[256];
  assert_int_equal(hv_db_sponsor_chain(c->db, "nda", &h), HV_OK);
  assert_string_equal(hit_ids(&h, buf, sizeof buf), "nda syr-gov ru");
  hv_hits_free(&h);
  assert_int_equal(hv_db_sponsor_chain(c->db, "fsa-north", &h), HV_OK);
  assert_string_equal(hit_ids(&h, buf, sizeof buf), "fsa-north fsa tr");
  /* Appends. */
  assert_int_equal(hv_db_sponsor_chain(c->db, "ru", &h), HV_OK);
  assert_string_equal(hit_ids(&h, buf, sizeof buf), "fsa-north fsa tr ru");
  hv_hits_free(&h);
  assert_int_equal(hv_db_sponsor_chain(c->db, "nobody", &h), HV_ENOTFOUND);
  assert_int_equal(hv_db_sponsor_chain(c->db, "idlib-dez", &h), HV_ENOTFOUND);
  assert_int_equal(h.n, 0);
}

static void test_coverage(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  const struct hv_object *coh = get(c->db, HV_AGREEMENT, "coh-2016");
  const struct hv_object *dz = get(c->db, HV_AGREEMENT, "deesc-idlib");
  /* covered [ru us tr], excluded [is]. */
  assert_int_equal(hv_db_coverage(c->db, coh, "ru"), HV_COVER_DIRECT);
  assert_int_equal(hv_db_coverage(c->db, coh, "syr-gov"), HV_COVER_SPONSOR);
  assert_int_equal(hv_db_coverage(c->db, coh, "nda"), HV_COVER_SPONSOR);
  assert_int_equal(hv_db_coverage(c->db, coh, "sdf"), HV_COVER_SPONSOR);
  assert_int_equal(hv_db_coverage(c->db, coh, "fsa-north"), HV_COVER_SPONSOR);
  assert_int_equal(hv_db_coverage(c->db, coh, "is"), HV_COVER_EXCLUDED);
  assert_int_equal(hv_db_coverage(c->db, coh, "is-halab"), HV_COVER_EXCLUDED);
  assert_int_equal(hv_db_coverage(c->db, coh, "un-ocha"), HV_COVER_NONE);
  assert_int_equal(hv_db_coverage(c->db, coh, "nobody"), HV_COVER_NONE);
  /* covered [tr ru], excluded [fsa is]: fsa's group is excluded although
   * fsa's own sponsor tr is covered. */
  assert_int_equal(hv_db_coverage(c->db, dz, "tr"), HV_COVER_DIRECT);
  assert_int_equal(hv_db_coverage(c->db, dz, "fsa"), HV_COVER_EXCLUDED);
  assert_int_equal(hv_db_coverage(c->db, dz, "fsa-north"), HV_COVER_EXCLUDED);
  assert_int_equal(hv_db_coverage(c->db, dz, "nda"), HV_COVER_SPONSOR);
  assert_int_equal(hv_db_coverage(c->db, dz, "us"), HV_COVER_NONE);
  assert_int_equal(hv_db_coverage(c->db, dz, "sdf"), HV_COVER_NONE);
  assert_string_equal(hv_coverage_name(HV_COVER_NONE), "not_covered");
  assert_string_equal(hv_coverage_name(HV_COVER_DIRECT), "covered");
  assert_string_equal(hv_coverage_name(HV_COVER_SPONSOR),
                      "covered_via_sponsor");
  assert_string_equal(hv_coverage_name(HV_COVER_EXCLUDED), "excluded");
}

static const char *covering(struct hv_db *db, const char *party, const char *t,
                            char *buf, size_t size) {
  struct hv_hits h = {0};
  assert_int_equal(hv_db_agreements_covering(db, party, T(t), &h), HV_OK);
  hit_ids(&h, buf, size);
  hv_hits_free(&h);
  return buf;
}

static void test_agreements_covering(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  char b[256];
  /* coh-2016 runs 2016-02-27 .. 2016-06-01 (exclusive). */
  assert_string_equal(covering(c->db, "syr-gov", "2016-03-01", b, sizeof b),
                      "coh-2016");
  assert_string_equal(covering(c->db, "syr-gov", "2016-02-27", b, sizeof b),
                      "coh-2016");
  assert_string_equal(
      covering(c->db, "syr-gov", "2016-02-26T23:59:59Z", b, sizeof b), "");
  assert_string_equal(
      covering(c->db, "syr-gov", "2016-05-31T23:59:59Z", b, sizeof b),
      "coh-2016");
  assert_string_equal(covering(c->db, "syr-gov", "2016-06-01", b, sizeof b),
                      "");
  assert_string_equal(covering(c->db, "syr-gov", "2015-01-01", b, sizeof b),
                      "");
  assert_string_equal(covering(c->db, "syr-gov", "2018-01-01", b, sizeof b),
                      "deesc-idlib");
  assert_string_equal(covering(c->db, "fsa-north", "2016-03-01", b, sizeof b),
                      "coh-2016");
  assert_string_equal(covering(c->db, "fsa-north", "2018-01-01", b, sizeof b),
                      "");
  assert_string_equal(covering(c->db, "is", "2016-03-01", b, sizeof b), "");
  assert_string_equal(covering(c->db, "is-halab", "2016-03-01", b, sizeof b),
                      "");
  assert_string_equal(covering(c->db, "un-ocha", "2016-03-01", b, sizeof b),
                      "");
  assert_string_equal(covering(c->db, "us", "2018-01-01", b, sizeof b), "");
  struct hv_hits h = {0};
  assert_int_equal(hv_db_agreements_covering(c->db, "nobody", 0, &h),
                   HV_ENOTFOUND);
  assert_int_equal(h.n, 0);
}

static void test_zone_set_phase(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  struct hv_error err = {0};
  int64_t n0 = tu_ledger(c->db).n;
  /* open -> suspended, by tr, at version 1. */
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez",
                                        HV_PHASE_SUSPENDED, T("2018-01-01"),
                                        "shelling", 1, &err),
                   HV_OK);
  const struct hv_object *z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 2);
  assert_int_equal(z->u.zone.phase, HV_PHASE_SUSPENDED);
  assert_int_equal(z->u.zone.n_history, 4);
  assert_int_equal(z->u.zone.history[3].phase, HV_PHASE_SUSPENDED);
  assert_true(z->u.zone.history[3].at_ms == T("2018-01-01"));
  assert_string_equal(z->u.zone.history[3].by, "tr");
  assert_string_equal(z->u.zone.history[3].reason, "shelling");
  assert_string_equal(z->name, "Idlib de-escalation zone"); /* rest kept */
  struct tu_ledger_info li = tu_ledger(c->db);
  assert_true(li.n == n0 + 1);
  assert_string_equal(li.last_op, "phase");
  assert_string_equal(li.last_author, "tr");
  assert_string_equal(li.last_kind, "zone");
  assert_string_equal(li.last_id, "idlib-dez");
  assert_true(li.last_version == 2);
  /* Refusals change nothing. */
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez",
                                        HV_PHASE_DECLARED, T("2018-02-01"),
                                        NULL, 0, &err),
                   HV_EPHASE);
  assert_non_null(strstr(err.msg, "suspended -> declared"));
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez", HV_PHASE_OPEN,
                                        T("2018-02-01"), NULL, 1, &err),
                   HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "idlib-dez"));
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez", HV_PHASE_OPEN,
                                        T("2017-12-31"), NULL, 2, &err),
                   HV_EINVAL);
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "no-such-zone",
                                        HV_PHASE_OPEN, T("2018-02-01"), NULL, 0,
                                        &err),
                   HV_ENOTFOUND);
  assert_int_equal(hv_db_zone_set_phase(c->db, "nobody", "idlib-dez",
                                        HV_PHASE_OPEN, T("2018-02-01"), NULL, 0,
                                        &err),
                   HV_EREF);
  assert_non_null(strstr(err.msg, "nobody"));
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez",
                                        HV_PHASE_COUNT, T("2018-02-01"), NULL,
                                        0, &err),
                   HV_EINVAL);
  z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 2);
  assert_int_equal(z->u.zone.n_history, 4);
  assert_true(tu_ledger(c->db).n == n0 + 1);
  /* suspended -> open (no version check), then dissolved. */
  assert_int_equal(hv_db_zone_set_phase(c->db, HV_COORDINATOR, "idlib-dez",
                                        HV_PHASE_OPEN, T("2018-02-01"), NULL, 0,
                                        &err),
                   HV_OK);
  assert_int_equal(hv_db_zone_set_phase(c->db, "ru", "idlib-dez",
                                        HV_PHASE_DISSOLVED, T("2019-01-01"), "",
                                        3, &err),
                   HV_OK);
  z = get(c->db, HV_ZONE, "idlib-dez");
  assert_int_equal(z->version, 4);
  assert_int_equal(z->u.zone.n_history, 6);
  assert_null(z->u.zone.history[5].reason); /* an empty reason is none */
  /* Nothing leaves dissolved. */
  assert_int_equal(hv_db_zone_set_phase(c->db, "ru", "idlib-dez", HV_PHASE_OPEN,
                                        T("2019-02-01"), NULL, 0, &err),
                   HV_EPHASE);
  /* The queries see the history: dissolved after the phase change. */
  char buf[256];
  struct hv_hits h = {0};
  assert_int_equal(
      hv_db_zones_at(c->db, 36.633, 35.93, NAN, T("2018-01-15"), &h), HV_OK);
  assert_int_equal(h.n, 1);
  assert_int_equal(h.v[0].phase, HV_PHASE_SUSPENDED);
  hv_hits_free(&h);
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, NAN, "2018-12-31", buf, sizeof buf),
      "idlib-dez");
  assert_string_equal(
      zones_at(c->db, 36.633, 35.93, NAN, "2019-01-01", buf, sizeof buf), "");
  /* The ledger: create, then three phase changes. */
  struct tu_ledger_info hist;
  memset(&hist, 0, sizeof hist);
  assert_int_equal(
      hv_ledger_history(c->db, HV_ZONE, "idlib-dez", tu_ledger_cb, &hist),
      HV_OK);
  assert_true(hist.n == 4);
  assert_string_equal(hist.last_op, "phase");
  assert_string_equal(hist.last_author, "ru");
  assert_true(hist.last_version == 4);
  verify(c->db);
}

static void test_party_by_alias(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  const struct hv_object *sg = get(c->db, HV_PARTY, "syr-gov");
  assert_ptr_equal(hv_db_party_by_alias(c->db, "SAA"), sg);
  assert_ptr_equal(hv_db_party_by_alias(c->db, "saa"), sg);
  assert_ptr_equal(hv_db_party_by_alias(c->db, "SYRIAN arab ARMY"), sg);
  assert_ptr_equal(hv_db_party_by_alias(c->db, "government of syria"), sg);
  assert_ptr_equal(
      hv_db_party_by_alias(c->db, "GOVERNMENT OF RUSSIA (SOVIET UNION)"),
      get(c->db, HV_PARTY, "ru"));
  assert_ptr_equal(hv_db_party_by_alias(c->db, "sdf"),
                   get(c->db, HV_PARTY, "sdf"));
  assert_ptr_equal(hv_db_party_by_alias(c->db, "Daesh"),
                   get(c->db, HV_PARTY, "is"));
  assert_null(hv_db_party_by_alias(c->db, "Syrian Arab"));
  assert_null(hv_db_party_by_alias(c->db, "SAA "));
  assert_null(hv_db_party_by_alias(c->db, "nobody"));
}

static void test_export_round_trip(void **state) {
  struct tu_store *c = *state;
  import_base(c->db);
  struct hv_error err = {0};
  assert_int_equal(hv_db_zone_set_phase(c->db, "tr", "idlib-dez",
                                        HV_PHASE_SUSPENDED, T("2018-01-01"),
                                        NULL, 0, &err),
                   HV_OK);
  char out[4096];
  tu_path_in(out, sizeof out, c->dir, "export");
  assert_int_equal(hv_db_export(c->db, out, &err), HV_OK);
  static const char *const files[] = {"registry.json",        "zones.geojson",
                                      "corridors.geojson",    "sites.geojson",
                                      "delineations.geojson", "areas.geojson"};
  char p[6][4096];
  for (size_t i = 0; i < 6; i++) {
    struct stat sb;
    assert_int_equal(stat(tu_path_in(p[i], sizeof p[i], out, files[i]), &sb),
                     0);
  }
  /* Importing the export into the same store changes nothing. */
  int64_t n0 = tu_ledger(c->db).n;
  struct hv_import_stats st = import_ok(c->db, HV_COORDINATOR, p[0], p[1], p[2],
                                        p[3], p[4], p[5], NULL);
  assert_int_equal(st.unchanged, N_OBJECTS);
  assert_true(tu_ledger(c->db).n == n0);
  /* Into an empty store it creates the same objects. */
  char dir2[4096];
  struct hv_db *db2 = NULL;
  assert_int_equal(
      hv_db_open(tu_path_in(dir2, sizeof dir2, c->dir, "second"), &db2, &err),
      HV_OK);
  st = import_ok(db2, HV_COORDINATOR, p[0], p[1], p[2], p[3], p[4], p[5], NULL);
  assert_int_equal(st.created, N_OBJECTS);
  for (int k = 0; k < HV_KIND_COUNT; k++)
    assert_int_equal(hv_db_count(db2, (enum hv_kind)k),
                     hv_db_count(c->db, (enum hv_kind)k));
  const struct hv_object *z = get(db2, HV_ZONE, "idlib-dez");
  assert_int_equal(z->u.zone.phase, HV_PHASE_SUSPENDED);
  assert_int_equal(z->u.zone.n_history, 4);
  assert_int_equal(GEOSEquals_r(hv_geo_geos(hv_db_geo(db2)), z->geom,
                                get(c->db, HV_ZONE, "idlib-dez")->geom),
                   1);
  hv_db_close(db2);
}

int main(void) {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, tu_store_teardown)
  const struct CMUnitTest tests[] = {
      T_(test_open_creates_genesis),
      T_(test_import_creates),
      T_(test_reimport_unchanged),
      T_(test_changed_content_updates),
      T_(test_phase_change_by_import_of_future_zone),
      T_(test_phase_history_only_grows),
      T_(test_stale_version_conflicts),
      T_(test_refresh_sees_other_writer),
      T_(test_persistence),
      T_(test_zones_at),
      T_(test_within_nearest_first),
      T_(test_sponsor_chain),
      T_(test_coverage),
      T_(test_agreements_covering),
      T_(test_zone_set_phase),
      T_(test_party_by_alias),
      T_(test_export_round_trip),
  };
#undef T_
  return cmocka_run_group_tests(tests, NULL, NULL);
}
