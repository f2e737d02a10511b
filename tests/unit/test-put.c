/*
 * test-put.c — writing one object at a time (hv_db_put, lib/io.c) and
 * deleting one (hv_db_delete, lib/db.c).
 *
 * Each test gets its own data directory under HAVEN_SCRATCH_DIR holding the
 * scenario of tests/fixtures/unit/ (see test-db.c).
 *
 * What must hold (include/haven/db.h): a put takes the forms of import
 * files (a flat document for parties and agreements, a GeoJSON Feature with
 * properties.object optional for spatial kinds); CREATE needs a new id,
 * UPDATE an existing one at its current version; an update that changes
 * nothing writes nothing; every check of an import applies, and a refused
 * write changes nothing (same ledger head, same objects). A deletion needs
 * the current version, is refused while anything refers to the object
 * (naming the referrer), is one ledger entry "delete" whose body is the
 * deleted document, verifies and lasts; and an id written again after its
 * deletion never reuses a version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/haven.h"
#include "testutil.h"

/* ---- documents, written with single quotes ('x' becomes "x") ------------- */

#define SQUARE(x0, y0, x1, y1)                                                 \
  "{'type':'Polygon','coordinates':[[[" #x0 "," #y0 "],[" #x1 "," #y0          \
  "],[" #x1 "," #y1 "],[" #x0 "," #y1 "],[" #x0 "," #y0 "]]]}"
/* A zone Feature; obj is ",'object':'zone'" or "" (properties.object). */
#define ZONE(id, obj, extra)                                                   \
  "{'type':'Feature','id':'" id "','geometry':" SQUARE(                        \
      38.5, 34.5, 38.6, 34.6) ",'properties':{'name':'Zone " id                \
                              "','kind':'safe','valid_from':'2018-01-01',"     \
                              "'phase':'declared'" obj extra "}}"
#define SITE(id, by, extra)                                                    \
  "{'type':'Feature','id':'" id "','geometry':{'type':'Point',"                \
  "'coordinates':[38.55,34.55]},'properties':{'name':'Site " id "',"           \
  "'category':'school','radius_m':100,'notified_by':'" by "'" extra "}}"
#define PARTY(id, extra)                                                       \
  "{'id':'" id "','name':'Party " id "','kind':'armed_group'" extra "}"
#define AGREEMENT(id, extra)                                                   \
  "{'id':'" id "','name':'Agreement " id "','kind':'ceasefire',"               \
  "'valid_from':'2018-01-01','scope':'nationwide','covered':['ru'],"           \
  "'terms':['siege']" extra "}"

/* ---- helpers ------------------------------------------------------------- */

/* Each test's store holds the fixture scenario. */
static int setup(void **state) { return tu_store_setup(state, "put", 1); }

/* Puts json as the coordinator; returns the code, err filled. */
static int put(struct hv_db *db, enum hv_kind kind, const char *json,
               enum hv_put_mode mode, int64_t version,
               const struct hv_object **out, struct hv_error *err) {
  json_t *doc = tu_js(json);
  memset(err, 0, sizeof *err);
  int rc = hv_db_put(db, HV_COORDINATOR, kind, doc, mode, version, out, err);
  json_decref(doc);
  return rc;
}

/* As put, without err or out: the code alone. For parties and agreements
 * the refusals before validation format their message from freed memory
 * (see test_put_flat_messages), which a NULL err never reads. */
static int put_code(struct hv_db *db, enum hv_kind kind, const char *json,
                    enum hv_put_mode mode, int64_t version) {
  json_t *doc = tu_js(json);
  int rc = hv_db_put(db, HV_COORDINATOR, kind, doc, mode, version, NULL, NULL);
  json_decref(doc);
  return rc;
}

static int spatial(enum hv_kind k) {
  return k != HV_PARTY && k != HV_AGREEMENT && k != HV_TOKEN;
}

/* Puts json; fails the test unless it is written. Returns the object as
 * stored (hv_db_get). *out is asked for only for spatial kinds: for parties
 * and agreements it reads freed memory (see test_put_flat_messages). */
static const struct hv_object *put_ok(struct hv_db *db, enum hv_kind kind,
                                      const char *json, enum hv_put_mode mode,
                                      int64_t version) {
  struct hv_error err;
  const struct hv_object *o = NULL;
  json_t *doc = tu_js(json);
  memset(&err, 0, sizeof err);
  int rc = hv_db_put(db, HV_COORDINATOR, kind, doc, mode, version,
                     spatial(kind) ? &o : NULL, &err);
  if (rc != HV_OK)
    fail_msg("put %s: %s: %s", json, hv_err_name(rc), err.msg);
  const struct hv_object *got =
      hv_db_get(db, kind, json_string_value(json_object_get(doc, "id")));
  json_decref(doc);
  assert_non_null(got);
  if (spatial(kind))
    assert_ptr_equal(o, got);
  return got;
}

/* What the ledger holds, with the last body; caller frees li.last_body. */
static struct tu_ledger_info ledger(struct hv_db *db) {
  struct tu_ledger_info li;
  memset(&li, 0, sizeof li);
  li.keep_body = 1;
  assert_int_equal(hv_ledger_each(db, 1, 0, tu_ledger_cb, &li), HV_OK);
  assert_non_null(li.last_body);
  assert_int_equal(li.n, hv_db_head_seq(db));
  return li;
}

static void reopen(struct tu_store *c) {
  hv_db_close(c->db);
  c->db = NULL;
  struct hv_error err = {0};
  if (hv_db_open(c->dir, &c->db, &err) != HV_OK)
    fail_msg("reopen: %s", err.msg);
}

/* Everything a refused write must leave as it was (after ledger()'s
 * checks). */
static struct tu_snapshot snap(struct hv_db *db) {
  struct tu_ledger_info li = ledger(db);
  free(li.last_body);
  return tu_snap(db);
}

/* Fails the test, naming what, unless db is as before (after ledger()'s
 * checks). */
static void same_as(struct hv_db *db, const struct tu_snapshot *before,
                    const char *what) {
  struct tu_ledger_info li = ledger(db);
  free(li.last_body);
  tu_assert_unchanged(db, before, what);
}

/* The largest version any ledger entry gave (kind, id). */
static int max_version_cb(const struct hv_ledger_entry *e, void *ud) {
  int64_t *m = ud;
  if (e->version > *m)
    *m = e->version;
  return 0;
}

static int64_t max_version(struct hv_db *db, enum hv_kind kind,
                           const char *id) {
  int64_t m = 0;
  assert_int_equal(hv_ledger_history(db, kind, id, max_version_cb, &m), HV_OK);
  return m;
}

/* ---- creating ------------------------------------------------------------ */

static void test_create_party(void **state) {
  struct tu_store *c = *state;
  int64_t head = hv_db_head_seq(c->db);
  size_t np = hv_db_count(c->db, HV_PARTY);
  const struct hv_object *o =
      put_ok(c->db, HV_PARTY, PARTY("newp", ",'sponsor':'tr','aliases':['NP']"),
             HV_PUT_CREATE, 0);
  assert_string_equal(o->id, "newp");
  assert_int_equal(o->kind, HV_PARTY);
  assert_int_equal(o->version, 1);
  assert_string_equal(o->u.party.sponsor, "tr");
  assert_ptr_equal(o, hv_db_get(c->db, HV_PARTY, "newp"));
  assert_ptr_equal(hv_db_party_by_alias(c->db, "np"), o);
  assert_int_equal(hv_db_count(c->db, HV_PARTY), np + 1);
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  struct tu_ledger_info li = ledger(c->db);
  assert_string_equal(li.last_op, "create");
  assert_string_equal(li.last_kind, "party");
  assert_string_equal(li.last_id, "newp");
  assert_string_equal(li.last_author, HV_COORDINATOR);
  assert_int_equal(li.last_version, 1);
  free(li.last_body);
  /* Its place in the sponsor tree. */
  struct hv_hits h = {0};
  assert_int_equal(hv_db_sponsor_chain(c->db, "newp", &h), HV_OK);
  assert_int_equal(h.n, 2);
  assert_string_equal(h.v[1].obj->id, "tr");
  hv_hits_free(&h);

  /* Twice: HV_EEXISTS, nothing written, even with the current version
   * given. (The message: test_put_flat_messages.) */
  struct tu_snapshot s = snap(c->db);
  struct hv_error err;
  assert_int_equal(
      put_code(c->db, HV_PARTY, PARTY("newp", ""), HV_PUT_CREATE, 0),
      HV_EEXISTS);
  same_as(c->db, &s, "create twice");
  assert_int_equal(
      put_code(c->db, HV_PARTY, PARTY("newp", ""), HV_PUT_CREATE, 1),
      HV_EEXISTS);
  same_as(c->db, &s, "create twice, with a version");
  /* An id of the fixture too. */
  assert_int_equal(put_code(c->db, HV_PARTY,
                            PARTY("nda", ",'sponsor':'syr-gov'"), HV_PUT_CREATE,
                            0),
                   HV_EEXISTS);
  same_as(c->db, &s, "create an imported id");
  assert_string_equal(hv_db_get(c->db, HV_PARTY, "nda")->u.party.kind,
                      "armed_group");

  /* out may be NULL. */
  assert_int_equal(put(c->db, HV_AGREEMENT, AGREEMENT("newa", ""),
                       HV_PUT_CREATE, 0, NULL, &err),
                   HV_OK);
  assert_int_equal(hv_db_get(c->db, HV_AGREEMENT, "newa")->version, 1);
  tu_verify(c->db);
  reopen(c);
  assert_non_null(hv_db_get(c->db, HV_PARTY, "newp"));
  assert_non_null(hv_db_get(c->db, HV_AGREEMENT, "newa"));
  tu_verify(c->db);
}

static void test_create_zone(void **state) {
  struct tu_store *c = *state;
  int64_t head = hv_db_head_seq(c->db);
  /* With properties.object. */
  const struct hv_object *z = put_ok(
      c->db, HV_ZONE, ZONE("z-obj", ",'object':'zone'", ""), HV_PUT_CREATE, 0);
  assert_int_equal(z->kind, HV_ZONE);
  assert_int_equal(z->version, 1);
  assert_non_null(z->geom);
  assert_int_equal(z->u.zone.phase, HV_PHASE_DECLARED);
  /* A new zone's history starts with its phase at valid_from. */
  assert_int_equal(z->u.zone.n_history, 1);
  /* The stored document is the flat one: no "object", no "properties". */
  assert_null(json_object_get(z->doc, "object"));
  assert_null(json_object_get(z->doc, "properties"));
  assert_non_null(json_object_get(z->doc, "geometry"));
  /* Without. */
  z = put_ok(c->db, HV_ZONE, ZONE("z-plain", "", ",'alt_max_m':500"),
             HV_PUT_CREATE, 0);
  assert_int_equal(z->kind, HV_ZONE);
  assert_true(z->u.zone.alt_max_m == 500.0);
  assert_int_equal(hv_db_head_seq(c->db), head + 2);
  /* Both are found where they are. */
  struct hv_hits h = {0};
  int64_t t = 0;
  assert_int_equal(hv_time_parse("2019-01-01", &t), HV_OK);
  assert_int_equal(hv_db_zones_at(c->db, 38.55, 34.55, NAN, t, &h), HV_OK);
  assert_int_equal(h.n, 2);
  assert_string_equal(h.v[0].obj->id, "z-obj");
  assert_string_equal(h.v[1].obj->id, "z-plain");
  hv_hits_free(&h);
  struct tu_ledger_info li = ledger(c->db);
  assert_string_equal(li.last_op, "create");
  assert_string_equal(li.last_kind, "zone");
  assert_string_equal(li.last_id, "z-plain");
  free(li.last_body);

  /* Twice: HV_EEXISTS naming the id and its version; nothing written. */
  struct tu_snapshot s = snap(c->db);
  struct hv_error err;
  const struct hv_object *out = z;
  assert_int_equal(
      put(c->db, HV_ZONE, ZONE("z-obj", "", ""), HV_PUT_CREATE, 0, &out, &err),
      HV_EEXISTS);
  assert_null(out);
  assert_non_null(strstr(err.msg, "\"z-obj\""));
  assert_non_null(strstr(err.msg, "version 1"));
  same_as(c->db, &s, "create a zone twice");

  /* A properties.object naming another kind, or no kind at all. */
  static const char *const wrong[] = {
      ZONE("z-bad", ",'object':'site'", ""),
      ZONE("z-bad", ",'object':'party'", ""),
      ZONE("z-bad", ",'object':'token'", ""),
      ZONE("z-bad", ",'object':'nonsense'", ""),
      ZONE("z-bad", ",'object':5", ""),
  };
  for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
    int rc = put(c->db, HV_ZONE, wrong[i], HV_PUT_CREATE, 0, NULL, &err);
    if (rc != HV_ESCHEMA)
      fail_msg("%s: %s, HV_ESCHEMA expected", wrong[i], hv_err_name(rc));
    assert_non_null(strstr(err.msg, "properties.object"));
    same_as(c->db, &s, wrong[i]);
  }
  assert_null(hv_db_get(c->db, HV_ZONE, "z-bad"));
  assert_null(hv_db_get(c->db, HV_SITE, "z-bad"));
  /* A site Feature put as a zone. */
  assert_int_equal(put(c->db, HV_ZONE, SITE("s-as-z", "un-ocha", ""),
                       HV_PUT_CREATE, 0, NULL, &err),
                   HV_ESCHEMA);
  /* The flat form is not a Feature. */
  assert_int_equal(put(c->db, HV_ZONE,
                       "{'id':'z-flat','name':'Flat','kind':'safe',"
                       "'valid_from':'2018-01-01','phase':'declared',"
                       "'geometry':" SQUARE(38.5, 34.5, 38.6, 34.6) "}",
                       HV_PUT_CREATE, 0, NULL, &err),
                   HV_ESCHEMA);
  same_as(c->db, &s, "not a Feature");
  tu_verify(c->db);
}

/* ---- updating ------------------------------------------------------------ */

/* A zone "zu" called name. */
#define ZU(name)                                                               \
  "{'type':'Feature','id':'zu','geometry':" SQUARE(                            \
      38.5, 34.5, 38.6, 34.6) ",'properties':{'name':'" name "','kind':"       \
                              "'safe','valid_from':'2018-01-01','phase':"      \
                              "'declared'}}"

static void test_update(void **state) {
  struct tu_store *c = *state;
  struct hv_error err;
  const struct hv_object *out;
  /* A new id. */
  struct tu_snapshot s = snap(c->db);
  out = (const struct hv_object *)&err;
  assert_int_equal(
      put(c->db, HV_ZONE, ZONE("ghost", "", ""), HV_PUT_UPDATE, 1, &out, &err),
      HV_ENOTFOUND);
  assert_null(out);
  assert_non_null(strstr(err.msg, "\"ghost\""));
  same_as(c->db, &s, "update a new id");
  assert_null(hv_db_get(c->db, HV_ZONE, "ghost"));
  assert_int_equal(
      put_code(c->db, HV_PARTY, PARTY("ghost", ""), HV_PUT_UPDATE, 1),
      HV_ENOTFOUND);
  same_as(c->db, &s, "update a new party id");
  assert_null(hv_db_get(c->db, HV_PARTY, "ghost"));

  /* No version: refused, the message names the current one. */
  put_ok(c->db, HV_ZONE, ZU("First"), HV_PUT_CREATE, 0);
  put_ok(c->db, HV_ZONE, ZU("Second"), HV_PUT_UPDATE, 1);
  s = snap(c->db);
  assert_int_equal(
      put(c->db, HV_ZONE, ZU("Third"), HV_PUT_UPDATE, 0, NULL, &err),
      HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "version 2"));
  assert_non_null(strstr(err.msg, "\"zu\""));
  same_as(c->db, &s, "update without a version");
  /* Stale versions, given either way. */
  assert_int_equal(
      put(c->db, HV_ZONE, ZU("Third"), HV_PUT_UPDATE, 1, NULL, &err),
      HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "version 2"));
  same_as(c->db, &s, "stale version");
  assert_int_equal(
      put(c->db, HV_ZONE, ZU("Third"), HV_PUT_UPDATE, 3, NULL, &err),
      HV_ECONFLICT);
  same_as(c->db, &s, "future version");
  assert_int_equal(put(c->db, HV_ZONE,
                       "{'type':'Feature','id':'zu','geometry':" SQUARE(
                           38.5, 34.5, 38.6, 34.6) ",'properties':{'name':"
                                                   "'Third','kind':'safe',"
                                                   "'valid_from':'2018-01-01',"
                                                   "'phase':'declared',"
                                                   "'version':1}}",
                       HV_PUT_UPDATE, 0, NULL, &err),
                   HV_ECONFLICT);
  same_as(c->db, &s, "stale version in the document");
  assert_string_equal(hv_db_get(c->db, HV_ZONE, "zu")->name, "Second");

  /* The right version: version + 1, one "update" entry. */
  const struct hv_object *o =
      put_ok(c->db, HV_ZONE, ZU("Third"), HV_PUT_UPDATE, 2);
  assert_int_equal(o->version, 3);
  assert_string_equal(o->name, "Third");
  assert_int_equal(o->u.zone.n_history, 1); /* same phase: same history */
  assert_int_equal(hv_db_head_seq(c->db), s.entries + 1);
  struct tu_ledger_info li = ledger(c->db);
  assert_string_equal(li.last_op, "update");
  assert_string_equal(li.last_kind, "zone");
  assert_string_equal(li.last_id, "zu");
  assert_int_equal(li.last_version, 3);
  free(li.last_body);
  /* The version in the document, when none is passed. */
  o = put_ok(c->db, HV_ZONE,
             "{'type':'Feature','id':'zu','geometry':" SQUARE(
                 38.5, 34.5, 38.6, 34.6) ",'properties':{'name':'Fourth',"
                                         "'kind':'safe','valid_from':"
                                         "'2018-01-01','phase':'declared',"
                                         "'version':3}}",
             HV_PUT_UPDATE, 0);
  assert_int_equal(o->version, 4);
  assert_string_equal(o->name, "Fourth");

  /* The same content: unchanged, nothing written. */
  s = snap(c->db);
  o = put_ok(c->db, HV_ZONE, ZU("Fourth"), HV_PUT_UPDATE, 4);
  assert_int_equal(o->version, 4);
  same_as(c->db, &s, "an update that changes nothing");

  /* A party: stale, then right, then the same again. */
  s = snap(c->db);
  assert_int_equal(
      put(c->db, HV_PARTY, PARTY("tr", ""), HV_PUT_UPDATE, 2, NULL, &err),
      HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "version"));
  same_as(c->db, &s, "stale party version");
  o = put_ok(c->db, HV_PARTY,
             "{'id':'tr','name':'Turkey','kind':'state','aliases':['TR']}",
             HV_PUT_UPDATE, 1);
  assert_int_equal(o->version, 2);
  assert_ptr_equal(hv_db_party_by_alias(c->db, "tr"), o);
  assert_ptr_equal(hv_db_party_by_alias(c->db, "Turkey"), o);
  li = ledger(c->db);
  assert_string_equal(li.last_op, "update");
  assert_string_equal(li.last_kind, "party");
  assert_int_equal(li.last_version, 2);
  free(li.last_body);
  s = snap(c->db);
  o = put_ok(c->db, HV_PARTY,
             "{'id':'tr','name':'Turkey','kind':'state','aliases':['TR']}",
             HV_PUT_UPDATE, 2);
  assert_int_equal(o->version, 2);
  same_as(c->db, &s, "a party update that changes nothing");
  /* Without a version: refused (the message: test_put_flat_messages). */
  assert_int_equal(put_code(c->db, HV_PARTY,
                            "{'id':'tr','name':'Turkey','kind':'state'}",
                            HV_PUT_UPDATE, 0),
                   HV_ECONFLICT);
  same_as(c->db, &s, "party update without a version");

  tu_verify(c->db);
  reopen(c);
  assert_int_equal(hv_db_get(c->db, HV_ZONE, "zu")->version, 4);
  assert_string_equal(hv_db_get(c->db, HV_ZONE, "zu")->name, "Fourth");
  assert_int_equal(hv_db_get(c->db, HV_PARTY, "tr")->version, 2);
  tu_verify(c->db);
}

/* Flat documents (parties, agreements): the messages name the id and *out
 * is the stored object, though the document is handed over inside. */
static void test_put_flat_messages(void **state) {
  struct tu_store *c = *state;
  struct hv_error err;
  const struct hv_object *out = NULL;
  assert_int_equal(
      put(c->db, HV_PARTY, PARTY("newp", ""), HV_PUT_CREATE, 0, &out, &err),
      HV_OK);
  assert_non_null(out);
  assert_ptr_equal(out, hv_db_get(c->db, HV_PARTY, "newp"));
  assert_int_equal(out->version, 1);
  assert_int_equal(put(c->db, HV_AGREEMENT, AGREEMENT("newa", ""),
                       HV_PUT_CREATE, 0, &out, &err),
                   HV_OK);
  assert_ptr_equal(out, hv_db_get(c->db, HV_AGREEMENT, "newa"));
  assert_int_equal(
      put(c->db, HV_PARTY, PARTY("newp", ""), HV_PUT_CREATE, 0, NULL, &err),
      HV_EEXISTS);
  assert_non_null(strstr(err.msg, "\"newp\""));
  assert_non_null(strstr(err.msg, "version 1"));
  assert_int_equal(
      put(c->db, HV_PARTY, PARTY("ghost", ""), HV_PUT_UPDATE, 1, NULL, &err),
      HV_ENOTFOUND);
  assert_non_null(strstr(err.msg, "\"ghost\""));
  assert_int_equal(put(c->db, HV_PARTY, PARTY("newp", ",'aliases':['NP']"),
                       HV_PUT_UPDATE, 0, NULL, &err),
                   HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "\"newp\""));
  assert_non_null(strstr(err.msg, "version 1"));
  out = NULL;
  assert_int_equal(put(c->db, HV_PARTY, PARTY("newp", ",'aliases':['NP']"),
                       HV_PUT_UPDATE, 1, &out, &err),
                   HV_OK);
  assert_ptr_equal(out, hv_db_get(c->db, HV_PARTY, "newp"));
  assert_int_equal(out->version, 2);
}

/* A site's disclosure list (docs/formats.md, include/haven/object.h). */
static void test_site_recipients(void **state) {
  struct tu_store *c = *state;
  struct hv_error err;
  const struct hv_object *o = NULL;
  int rc =
      put(c->db, HV_SITE, SITE("s-tr", "un-ocha", ",'recipients':['tr']"),
          HV_PUT_CREATE, 0, &o, &err);
  if (rc != HV_OK)
    fail_msg("recipients ['tr']: %s: %s", hv_err_name(rc), err.msg);
  assert_non_null(o);
  assert_string_equal(o->u.site.recipients[0], "tr");
  assert_null(o->u.site.recipients[1]);
  o = put_ok(c->db, HV_SITE, SITE("s-all", "un-ocha", ",'recipients':['*']"),
             HV_PUT_CREATE, 0);
  assert_string_equal(o->u.site.recipients[0], "*");
  o = put_ok(c->db, HV_SITE,
             SITE("s-two", "un-ocha", ",'recipients':['tr','us']"),
             HV_PUT_CREATE, 0);
  assert_string_equal(o->u.site.recipients[1], "us");
  /* Without: an empty list. */
  o = hv_db_get(c->db, HV_SITE, "hosp-1");
  assert_non_null(o);
  assert_non_null(o->u.site.recipients);
  assert_null(o->u.site.recipients[0]);

  static const struct {
    const char *doc;
    int rc;
    const char *says;
  } bad[] = {
      {SITE("s-x", "un-ocha", ",'recipients':['tr','nobody']"), HV_EREF,
       "recipients[1]"},
      {SITE("s-x", "un-ocha", ",'recipients':'tr'"), HV_ESCHEMA,
       "recipients: must be"},
      {SITE("s-x", "un-ocha", ",'recipients':[5]"), HV_ESCHEMA,
       "recipients[0]"},
      {SITE("s-x", "un-ocha", ",'recipients':['tr','']"), HV_ESCHEMA,
       "recipients[1]"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct tu_snapshot s = snap(c->db);
    rc = put(c->db, HV_SITE, bad[i].doc, HV_PUT_CREATE, 0, NULL, &err);
    if (rc != bad[i].rc || strstr(err.msg, bad[i].says) == NULL)
      fail_msg("%s: %s (%s), %s naming %s expected", bad[i].doc,
               hv_err_name(rc), err.msg, hv_err_name(bad[i].rc), bad[i].says);
    same_as(c->db, &s, bad[i].doc);
  }
  assert_null(hv_db_get(c->db, HV_SITE, "s-x"));
  /* A party a site is disclosed to cannot be deleted under it. */
  put_ok(c->db, HV_PARTY, PARTY("watcher", ""), HV_PUT_CREATE, 0);
  put_ok(c->db, HV_SITE, SITE("s-w", "un-ocha", ",'recipients':['watcher']"),
         HV_PUT_CREATE, 0);
  memset(&err, 0, sizeof err);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "watcher", 1, &err),
      HV_EREF);
  assert_non_null(strstr(err.msg, "site \"s-w\""));
  tu_verify(c->db);
  reopen(c);
  assert_string_equal(hv_db_get(c->db, HV_SITE, "s-tr")->u.site.recipients[0],
                      "tr");
  tu_verify(c->db);
}

/* Every check of an import applies, and nothing is applied on failure. */
static void test_checks_apply(void **state) {
  struct tu_store *c = *state;
  static const struct {
    enum hv_kind kind;
    enum hv_put_mode mode;
    int64_t version;
    const char *doc;
    int rc;
    const char *says; /* in the message */
  } cases[] = {
      {HV_PARTY, HV_PUT_CREATE, 0, PARTY("p-x", ",'colour':'red'"), HV_ESCHEMA,
       "colour"},
      {HV_PARTY, HV_PUT_CREATE, 0, "{'id':'p-x','name':'No kind'}", HV_ESCHEMA,
       "kind"},
      {HV_PARTY, HV_PUT_CREATE, 0, "['not','an','object']", HV_ESCHEMA, NULL},
      {HV_PARTY, HV_PUT_CREATE, 0, PARTY("p-x", ",'sponsor':'nobody'"), HV_EREF,
       "nobody"},
      {HV_PARTY, HV_PUT_CREATE, 0, PARTY("p-x", ",'aliases':['SAA']"),
       HV_ESCHEMA, "syr-gov"},
      {HV_PARTY, HV_PUT_CREATE, 0,
       "{'id':'p-x','name':'Turkey','kind':'state'}", HV_ESCHEMA, "tr"},
      /* ru -> syr-gov -> nda -> ru */
      {HV_PARTY, HV_PUT_UPDATE, 1,
       "{'id':'ru','name':'Russian Federation','kind':'state','sponsor':'nda',"
       "'aliases':['Government of Russia (Soviet Union)']}",
       HV_ECYCLE, "ru"},
      {HV_PARTY, HV_PUT_UPDATE, 1,
       "{'id':'tr','name':'Turkey','kind':'state','sponsor':'tr'}", HV_ECYCLE,
       "tr"},
      {HV_AGREEMENT, HV_PUT_CREATE, 0,
       AGREEMENT("a-x", ",'excluded':['nobody']"), HV_EREF, "nobody"},
      {HV_AGREEMENT, HV_PUT_CREATE, 0,
       "{'id':'a-x','name':'A','kind':'ceasefire','valid_from':'2018-01-01',"
       "'scope':['no-zone'],'covered':['ru'],'terms':['siege']}",
       HV_EREF, "no-zone"},
      {HV_ZONE, HV_PUT_CREATE, 0, ZONE("z-x", "", ",'guarantors':['nobody']"),
       HV_EREF, "nobody"},
      {HV_ZONE, HV_PUT_CREATE, 0,
       "{'type':'Feature','id':'z-x','geometry':{'type':'Polygon',"
       "'coordinates':[[[38,34],[39,35],[39,34],[38,35],[38,34]]]},"
       "'properties':{'name':'Bow tie','kind':'safe','valid_from':"
       "'2018-01-01','phase':'declared'}}",
       HV_EGEOMETRY, NULL},
      {HV_ZONE, HV_PUT_CREATE, 0,
       "{'type':'Feature','id':'z-x','geometry':" SQUARE(
           38.5, 34.5, 38.6, 34.6) ",'properties':{'name':'Z','kind':'safe',"
                                   "'valid_from':'2018-01-01','phase':"
                                   "'declared'},'extra':1}",
       HV_ESCHEMA, "extra"},
      /* A zone's recorded phase history cannot be rewritten. */
      {HV_ZONE, HV_PUT_UPDATE, 1,
       "{'type':'Feature','id':'old-buffer','geometry':" SQUARE(
           37.5, 36.5, 37.8, 36.8) ",'properties':{'name':'Old buffer',"
                                   "'kind':'buffer','valid_from':"
                                   "'2016-01-01','valid_to':'2020-01-01',"
                                   "'phase':'dissolved','phase_history':["
                                   "{'phase':'declared','at':"
                                   "'2016-01-02T00:00:00Z','by':"
                                   "'coordinator'},{'phase':'dissolved',"
                                   "'at':'2018-01-01T00:00:00Z','by':"
                                   "'coordinator'}]}}",
       HV_ESCHEMA, "phase_history"},
      {HV_SITE, HV_PUT_CREATE, 0, SITE("s-x", "nobody", ""), HV_EREF, "nobody"},
      {HV_CORRIDOR, HV_PUT_CREATE, 0,
       "{'type':'Feature','id':'c-x','geometry':{'type':'LineString',"
       "'coordinates':[[38.5,34.5],[38.6,34.5]]},'properties':{'name':'C',"
       "'half_width_m':500,'status':'open','connects':['no-zone']}}",
       HV_EREF, "no-zone"},
      {HV_DELINEATION, HV_PUT_CREATE, 0,
       "{'type':'Feature','id':'d-x','geometry':" SQUARE(
           38.5, 34.5, 38.6, 34.6) ",'properties':{'party':'nobody',"
                                   "'valid_from':'2018-01-01'}}",
       HV_EREF, "nobody"},
      /* Tokens are made and revoked, not put; nor is a kind out of range. */
      {HV_TOKEN, HV_PUT_CREATE, 0,
       "{'id':'0123456789ab','party':'tr','role':'party','hash':"
       "'0000000000000000000000000000000000000000000000000000000000000000'}",
       HV_EINVAL, NULL},
      {HV_KIND_COUNT, HV_PUT_CREATE, 0, PARTY("p-x", ""), HV_EINVAL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    struct tu_snapshot s = snap(c->db);
    struct hv_error err;
    const struct hv_object *out = (const struct hv_object *)&err;
    int rc = put(c->db, cases[i].kind, cases[i].doc, cases[i].mode,
                 cases[i].version, &out, &err);
    if (rc != cases[i].rc)
      fail_msg("case %zu: %s: %s, %s expected (%s)", i, cases[i].doc,
               hv_err_name(rc), hv_err_name(cases[i].rc), err.msg);
    assert_null(out);
    if (cases[i].says && strstr(err.msg, cases[i].says) == NULL)
      fail_msg("case %zu: message \"%s\" does not name %s", i, err.msg,
               cases[i].says);
    same_as(c->db, &s, cases[i].doc);
  }
  assert_null(hv_db_get(c->db, HV_PARTY, "p-x"));
  assert_null(hv_db_get(c->db, HV_TOKEN, "0123456789ab"));
  assert_null(hv_db_get(c->db, HV_PARTY, "ru")->u.party.sponsor);

  /* An unknown author writes nothing either. */
  struct tu_snapshot s = snap(c->db);
  json_t *doc = tu_js(PARTY("p-x", ""));
  struct hv_error err = {0};
  assert_int_equal(
      hv_db_put(c->db, "nobody", HV_PARTY, doc, HV_PUT_CREATE, 0, NULL, &err),
      HV_EREF);
  json_decref(doc);
  same_as(c->db, &s, "unknown author");
  assert_null(hv_db_get(c->db, HV_PARTY, "p-x"));
  tu_verify(c->db);
}

/* ---- deleting ------------------------------------------------------------ */

static void test_delete_refused(void **state) {
  struct tu_store *c = *state;
  struct hv_error err;
  struct tu_snapshot s = snap(c->db);
  /* Versions: wrong, missing, unknown object, tokens. */
  memset(&err, 0, sizeof err);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "is-halab", 2, &err),
      HV_ECONFLICT);
  assert_non_null(strstr(err.msg, "is-halab"));
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "is-halab", 0, &err),
      HV_ECONFLICT);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "ghost", 1, &err),
      HV_ENOTFOUND);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_ZONE, "is-halab", 1, &err),
      HV_ENOTFOUND);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_TOKEN, "0123456789ab", 1, &err),
      HV_EINVAL);
  assert_int_equal(hv_db_delete(c->db, "nobody", HV_PARTY, "is-halab", 1, &err),
                   HV_EREF);
  same_as(c->db, &s, "refused deletions");
  assert_non_null(hv_db_get(c->db, HV_PARTY, "is-halab"));

  /* Referred to: a party an agreement covers, a zone in an agreement's
   * scope. The message names the referrer. */
  put_ok(c->db, HV_PARTY, PARTY("lone", ""), HV_PUT_CREATE, 0);
  put_ok(c->db, HV_ZONE, ZONE("z-scope", "", ""), HV_PUT_CREATE, 0);
  put_ok(c->db, HV_AGREEMENT,
         "{'id':'a-ref','name':'Ref','kind':'ceasefire','valid_from':"
         "'2018-01-01','scope':['z-scope'],'covered':['lone'],'terms':"
         "['siege']}",
         HV_PUT_CREATE, 0);
  s = snap(c->db);
  memset(&err, 0, sizeof err);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "lone", 1, &err), HV_EREF);
  assert_non_null(strstr(err.msg, "agreement \"a-ref\""));
  memset(&err, 0, sizeof err);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_ZONE, "z-scope", 1, &err),
      HV_EREF);
  assert_non_null(strstr(err.msg, "agreement \"a-ref\""));
  /* A sponsor, a site's notifier, a corridor's zone. */
  memset(&err, 0, sizeof err);
  assert_int_equal(hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "is", 1, &err),
                   HV_EREF);
  assert_non_null(strstr(err.msg, "\"is-halab\""));
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "un-ocha", 1, &err),
      HV_EREF);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_ZONE, "idlib-dez", 1, &err),
      HV_EREF);
  same_as(c->db, &s, "deletions of referred objects");

  /* Once the referrer is gone, they can go. */
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_AGREEMENT, "a-ref", 1, &err),
      HV_OK);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "lone", 1, &err), HV_OK);
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_ZONE, "z-scope", 1, &err), HV_OK);
  assert_int_equal(hv_db_head_seq(c->db), s.entries + 3);
  tu_verify(c->db);
}

static void test_delete(void **state) {
  struct tu_store *c = *state;
  struct hv_error err = {0};
  const struct hv_object *o = hv_db_get(c->db, HV_PARTY, "is-halab");
  assert_non_null(o);
  json_t *old = json_deep_copy(o->doc);
  assert_non_null(old);
  size_t np = hv_db_count(c->db, HV_PARTY);
  int64_t head = hv_db_head_seq(c->db);

  assert_int_equal(hv_db_delete(c->db, "tr", HV_PARTY, "is-halab", 1, &err),
                   HV_OK);
  assert_null(hv_db_get(c->db, HV_PARTY, "is-halab"));
  assert_null(hv_db_party_by_alias(c->db, "IS Wilayat Halab"));
  assert_int_equal(hv_db_count(c->db, HV_PARTY), np - 1);
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  struct tu_ledger_info li = ledger(c->db);
  assert_string_equal(li.last_op, "delete");
  assert_string_equal(li.last_kind, "party");
  assert_string_equal(li.last_id, "is-halab");
  assert_string_equal(li.last_author, "tr");
  assert_true(li.last_version > 1);
  /* Its body is the deleted document. */
  json_error_t jerr;
  json_t *body = json_loads(li.last_body, 0, &jerr);
  assert_non_null(body);
  assert_true(json_equal(body, old));
  json_decref(body);
  free(li.last_body);
  int64_t delete_version = li.last_version;
  tu_verify(c->db);

  /* A spatial object leaves the queries too. */
  o = hv_db_get(c->db, HV_SITE, "school-1");
  assert_non_null(o);
  assert_int_equal(hv_db_delete(c->db, HV_COORDINATOR, HV_SITE, "school-1",
                                o->version, &err),
                   HV_OK);
  struct hv_hits h = {0};
  int64_t t = 0;
  assert_int_equal(hv_time_parse("2018-01-01", &t), HV_OK);
  assert_int_equal(hv_db_within(c->db, 36.7, 35.95, 10.0, t, &h), HV_OK);
  for (size_t i = 0; i < h.n; i++)
    assert_string_not_equal(h.v[i].obj->id, "school-1");
  hv_hits_free(&h);
  tu_verify(c->db);

  /* Gone for good. */
  reopen(c);
  assert_null(hv_db_get(c->db, HV_PARTY, "is-halab"));
  assert_null(hv_db_get(c->db, HV_SITE, "school-1"));
  assert_int_equal(hv_db_count(c->db, HV_PARTY), np - 1);
  tu_verify(c->db);

  /* Written again: a version above every earlier one of that id, so that
   * (kind, id, version) names one document for ever. */
  int64_t earlier = max_version(c->db, HV_PARTY, "is-halab");
  assert_true(earlier >= delete_version);
  json_object_del(old, "version");
  memset(&err, 0, sizeof err);
  int rc = hv_db_put(c->db, HV_COORDINATOR, HV_PARTY, old, HV_PUT_CREATE, 0,
                     NULL, &err);
  json_decref(old);
  if (rc != HV_OK)
    fail_msg("re-create: %s: %s", hv_err_name(rc), err.msg);
  o = hv_db_get(c->db, HV_PARTY, "is-halab");
  assert_non_null(o);
  /* (Fixed in fa6cc07: the version restarted at 1 before.) */
  if (o->version <= earlier)
    fail_msg("re-created at version %lld, earlier versions up to %lld",
             (long long)o->version, (long long)earlier);
  int64_t v1 = o->version;
  li = ledger(c->db);
  assert_string_equal(li.last_op, "create");
  assert_int_equal(li.last_version, v1);
  free(li.last_body);
  tu_verify(c->db);
  reopen(c);
  o = hv_db_get(c->db, HV_PARTY, "is-halab");
  assert_non_null(o);
  assert_int_equal(o->version, v1);
  tu_verify(c->db);
  /* And again, after a reopen (the numbering comes from the store). */
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "is-halab", v1, &err),
      HV_OK);
  reopen(c);
  earlier = max_version(c->db, HV_PARTY, "is-halab");
  assert_true(earlier > v1);
  o = put_ok(c->db, HV_PARTY,
             "{'id':'is-halab','name':'IS Wilayat Halab','kind':'designated',"
             "'sponsor':'is'}",
             HV_PUT_CREATE, 0);
  assert_true(o->version > earlier);
  tu_verify(c->db);
}

int main(void) {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, tu_store_teardown)
  const struct CMUnitTest tests[] = {
      T_(test_create_party),
      T_(test_create_zone),
      T_(test_update),
      T_(test_put_flat_messages),
      T_(test_site_recipients),
      T_(test_checks_apply),
      T_(test_delete_refused),
      T_(test_delete),
  };
#undef T_
  return cmocka_run_group_tests(tests, NULL, NULL);
}
