/*
 * test-import.c — imports of bad input (lib/io.c): every refusal names the
 * file, the feature index and id, the field and the reason, and applies
 * nothing.
 *
 * Each test opens a store under HAVEN_SCRATCH_DIR holding the scenario of
 * tests/fixtures/unit/, then imports a bad file whose bad object comes after
 * good ones (ids "good-…"), alone and again behind two good files, and
 * checks the code, the message, and that the ledger (entry count and head
 * hash), the count of every kind and every object's version are as before
 * and no "good-…" object was written.
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
#define FC(features) "{'type':'FeatureCollection','features':[" features "]}"
#define ZONE(id, geometry, extra)                                              \
  "{'type':'Feature','id':'" id "','geometry':" geometry ",'properties':{"     \
  "'object':'zone','name':'Zone " id "','kind':'safe',"                        \
  "'valid_from':'2018-01-01','phase':'declared'" extra "}}"
#define SITE(id, coords, by)                                                   \
  "{'type':'Feature','id':'" id                                                \
  "','geometry':{'type':'Point','coordinates':" coords                         \
  "},'properties':{'object':'site','name':'Site " id "',"                      \
  "'category':'school','radius_m':100,'notified_by':'" by "'}}"
#define REG(parties, agreements)                                               \
  "{'parties':[" parties "],'agreements':[" agreements "]}"
#define PARTY(id, extra)                                                       \
  "{'id':'" id "','name':'Party " id "','kind':'armed_group'" extra "}"
#define AGREEMENT(id, extra)                                                   \
  "{'id':'" id "','name':'Agreement " id "','kind':'ceasefire',"               \
  "'valid_from':'2018-01-01','scope':'nationwide','covered':['ru'],"           \
  "'terms':['siege']" extra "}"

/* Good objects that go before the bad one in a bad file. */
#define GOOD_ZONE ZONE("good-z1", SQUARE(38.5, 34.5, 38.6, 34.6), "")
#define GOOD_SITE SITE("good-s1", "[38.55,34.55]", "un-ocha")
#define GOOD_PARTY PARTY("good-p1", "")
#define GOOD_AGREEMENT AGREEMENT("good-a1", "")
/* The good files imported before the bad one. */
#define GOOD_GEOJSON                                                           \
  FC(ZONE("good-z0", SQUARE(39.5, 34.5, 39.6, 34.6),                           \
          "") "," SITE("good-s0", "[39.55,34.55]", "good-p0"))
#define GOOD_REGISTRY                                                          \
  REG(PARTY("good-p0", ",'sponsor':'tr','aliases':['Good Zero']"),             \
      AGREEMENT("good-a0", ",'scope':['good-z0','idlib-dez']"))

/* ---- helpers ------------------------------------------------------------- */

/* Fails the test unless the store is as setup left it and no "good-..."
 * object was written; what names the refused import. */
static void assert_unchanged(struct tu_store *c, const char *what) {
  tu_assert_unchanged(c->db, &c->base, what);
  for (int k = 0; k < HV_KIND_COUNT; k++)
    for (size_t i = 0; i < hv_db_count(c->db, (enum hv_kind)k); i++) {
      const char *id = hv_db_at(c->db, (enum hv_kind)k, i)->id;
      if (strncmp(id, "good-", 5) == 0)
        fail_msg("%s %s was written", hv_kind_name((enum hv_kind)k), id);
    }
}

/* Each test's store holds the fixture scenario. */
static int setup(void **state) { return tu_store_setup(state, "import", 1); }

/* Writes text into the test's directory as name (single quotes become
 * double quotes); the path goes into buf. */
static const char *put(struct tu_store *c, char *buf, size_t size,
                       const char *name, const char *text) {
  tu_write_quoted(tu_path_in(buf, size, c->dir, name), text);
  return buf;
}

/* Imports paths as author, expecting code and a message holding every
 * needle; then checks nothing was applied. */
static void refused_v(struct tu_store *c, const char *author,
                      const char *const *paths, size_t n, int code,
                      va_list ap) {
  struct hv_import_stats st;
  memset(&st, 0x5a, sizeof st);
  struct hv_error err;
  memset(&err, 0, sizeof err);
  int rc = hv_db_import(c->db, author, paths, n, NULL, NULL, &st, &err);
  if (rc != code)
    fail_msg("import of %s: %s, expected %s (msg: %s)", paths[n - 1],
             hv_err_name(rc), hv_err_name(code), err.msg);
  assert_int_equal(err.code, code);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (strstr(err.msg, s) == NULL)
      fail_msg("message \"%s\" lacks \"%s\"", err.msg, s);
  /* The stats of a refused import are not written. */
  assert_int_equal(st.created, (size_t)0x5a5a5a5a5a5a5a5aULL);
  assert_unchanged(c, paths[n - 1]);
}

static void refused(struct tu_store *c, const char *author,
                    const char *const *paths, size_t n, int code, ...) {
  va_list ap;
  va_start(ap, code);
  refused_v(c, author, paths, n, code, ap);
  va_end(ap);
}

/* The common case: bad_text as file name, imported alone and then behind
 * two good files (a registry and a FeatureCollection), refused the same way
 * both times. */
static void bad_file(struct tu_store *c, const char *name, const char *bad_text,
                     int code, ...) {
  char bad[4096], good_reg[4096], good_fc[4096];
  put(c, bad, sizeof bad, name, bad_text);
  const char *alone[] = {bad};
  va_list ap;
  va_start(ap, code);
  refused_v(c, HV_COORDINATOR, alone, 1, code, ap);
  va_end(ap);
  const char *behind[] = {
      put(c, good_reg, sizeof good_reg, "good-registry.json", GOOD_REGISTRY),
      put(c, good_fc, sizeof good_fc, "good.geojson", GOOD_GEOJSON), bad};
  va_start(ap, code);
  refused_v(c, HV_COORDINATOR, behind, 3, code, ap);
  va_end(ap);
}

/* ---- not a document haven reads ------------------------------------------ */

static void test_not_json(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "broken.geojson",
           "{\n 'type': 'FeatureCollection',\n 'features': [\n  " GOOD_ZONE
           ",\n  {'type': 'Feature',, }\n ]\n}\n",
           HV_EPARSE, "broken.geojson", "line 5", "column", "not JSON", NULL);
  bad_file(c, "empty.json", "", HV_EPARSE, "empty.json", NULL);
  bad_file(c, "trailing.json", REG(GOOD_PARTY, "") " {}", HV_EPARSE,
           "trailing.json", "line 1", NULL);
  /* A file that is not there. */
  char missing[4200];
  int n = snprintf(missing, sizeof missing, "%s/no-such-file.geojson", c->dir);
  assert_true(n > 0 && (size_t)n < sizeof missing);
  const char *paths[] = {missing};
  refused(c, HV_COORDINATOR, paths, 1, HV_EIO, "no-such-file.geojson", NULL);
}

static void test_neither_collection_nor_registry(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "feature.geojson",
           "{'type':'Feature','id':'x','geometry':" SQUARE(
               36, 35, 37, 36) ",'properties':{'object':'zone'}}",
           HV_ESCHEMA, "feature.geojson", "neither", NULL);
  bad_file(c, "array.json", "[" GOOD_PARTY "]", HV_ESCHEMA, "array.json",
           "neither", NULL);
  bad_file(c, "other.json", "{'zones':[]}", HV_ESCHEMA, "other.json", "neither",
           NULL);
  bad_file(c, "typed.json", "{'type':'Registry','parties':[" GOOD_PARTY "]}",
           HV_ESCHEMA, "typed.json", "neither", NULL);
  bad_file(c, "nofeatures.geojson", "{'type':'FeatureCollection'}", HV_ESCHEMA,
           "nofeatures.geojson", "features", NULL);
  bad_file(c, "extra.json", "{'parties':[" GOOD_PARTY "],'zones':[]}",
           HV_ESCHEMA, "extra.json", "zones", "unknown member", NULL);
  bad_file(c, "parties.json", "{'parties':{'id':'x'}}", HV_ESCHEMA,
           "parties.json", "parties", "array", NULL);
}

/* ---- schema -------------------------------------------------------------- */

static void test_unknown_object_kind(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "kind.geojson",
           FC(GOOD_ZONE ",{'type':'Feature','id':'bad-1','geometry':" SQUARE(
               36, 35, 37, 36) ",'properties':{'object':'zonne','name':'B'}}"),
           HV_ESCHEMA, "kind.geojson", "feature 1", "\"bad-1\"",
           "properties.object", "zone, corridor, site", NULL);
  /* Parties and agreements are not features. */
  bad_file(c, "party.geojson",
           FC(GOOD_SITE ",{'type':'Feature','id':'bad-2','geometry':null,"
                        "'properties':{'object':'party','name':'P',"
                        "'kind':'state'}}"),
           HV_ESCHEMA, "party.geojson", "feature 1", "\"bad-2\"",
           "properties.object", NULL);
  bad_file(c, "noobject.geojson",
           FC(GOOD_SITE ",{'type':'Feature','id':'bad-3','geometry':" SQUARE(
               36, 35, 37, 36) ",'properties':{'name':'B'}}"),
           HV_ESCHEMA, "noobject.geojson", "feature 1", "\"bad-3\"",
           "properties.object", NULL);
}

/* A Feature whose "type" is not "Feature" is refused naming its id. */
static void test_feature_type_names_id(void **state) {
  struct tu_store *c = *state;
  char p[4096];
  const char *paths[] = {
      put(c, p, sizeof p, "type.geojson",
          FC(GOOD_SITE ",{'type':'feature','id':'bad-4','geometry':" SQUARE(
              36, 35, 37, 36) ",'properties':{'object':'zone'}}"))};
  refused(c, HV_COORDINATOR, paths, 1, HV_ESCHEMA, "type.geojson", "feature 1",
          "type", "must be \"Feature\"", NULL);
  struct hv_import_stats st;
  struct hv_error err = {0};
  hv_db_import(c->db, HV_COORDINATOR, paths, 1, NULL, NULL, &st, &err);
  assert_non_null(strstr(err.msg, "(id \"bad-4\")"));
}

static void test_unknown_member(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "member.geojson",
           FC(GOOD_ZONE
              "," ZONE("bad-1", SQUARE(38, 34, 38.1, 34.1), ",'colour':'red'")),
           HV_ESCHEMA, "member.geojson", "feature 1", "\"bad-1\"", "colour",
           "unknown member", NULL);
  bad_file(c, "member.json",
           REG(GOOD_PARTY "," PARTY("bad-p", ",'nmae':'x'"), GOOD_AGREEMENT),
           HV_ESCHEMA, "member.json", "parties[1]", "\"bad-p\"", "nmae",
           "unknown member", NULL);
  bad_file(c, "member2.json",
           REG(GOOD_PARTY, GOOD_AGREEMENT
               "," AGREEMENT("bad-a", ",'scope_zones':['idlib-dez']")),
           HV_ESCHEMA, "member2.json", "agreements[1]", "\"bad-a\"",
           "scope_zones", "unknown member", NULL);
  /* On the Feature itself. */
  bad_file(c, "feature-member.geojson",
           FC(GOOD_ZONE ",{'type':'Feature','id':'bad-2','geometry':" SQUARE(
               38, 34, 38.1, 34.1) ",'style':{},'properties':{'object':'zone',"
                                   "'name':'Z','kind':'safe','valid_from':"
                                   "'2018-01-01','phase':'declared'}}"),
           HV_ESCHEMA, "feature-member.geojson", "feature 1", "\"bad-2\"",
           "style", "unknown member", NULL);
  /* In a nested object. */
  bad_file(c, "nested.geojson",
           FC(GOOD_ZONE "," ZONE("bad-3", SQUARE(38, 34, 38.1, 34.1),
                                 ",'rules':[{'parties':['*'],'asset_classes':"
                                 "['uav'],'inside':true,'overfly':true,"
                                 "'ceiling':100}]")),
           HV_ESCHEMA, "nested.geojson", "feature 1", "\"bad-3\"",
           "rules[0].ceiling", "unknown member", NULL);
}

static void test_missing_required_field(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "missing.geojson",
           FC(GOOD_ZONE ",{'type':'Feature','id':'bad-1','geometry':" SQUARE(
               38, 34, 38.1, 34.1) ",'properties':{'object':'zone','name':'Z',"
                                   "'valid_from':'2018-01-01','phase':"
                                   "'declared'}}"),
           HV_ESCHEMA, "missing.geojson", "feature 1", "\"bad-1\"",
           "kind: missing", NULL);
  bad_file(c, "nogeom.geojson",
           FC(GOOD_SITE ",{'type':'Feature','id':'bad-2','geometry':null,"
                        "'properties':{'object':'site','name':'S',"
                        "'category':'school','radius_m':5,'notified_by':"
                        "'un-ocha'}}"),
           HV_ESCHEMA, "nogeom.geojson", "feature 1", "\"bad-2\"",
           "geometry: missing", NULL);
  bad_file(c, "noid.geojson",
           FC(GOOD_SITE ",{'type':'Feature','geometry':{'type':'Point',"
                        "'coordinates':[36,35]},'properties':{'object':'site',"
                        "'name':'S','category':'school','radius_m':5,"
                        "'notified_by':'un-ocha'}}"),
           HV_ESCHEMA, "noid.geojson", "feature 1", "id: missing", NULL);
  bad_file(c, "missing.json",
           REG(GOOD_PARTY, GOOD_AGREEMENT ",{'id':'bad-a','name':'A','kind':"
                                          "'ceasefire','valid_from':"
                                          "'2018-01-01','scope':'nationwide',"
                                          "'covered':['ru']}"),
           HV_ESCHEMA, "missing.json", "agreements[1]", "\"bad-a\"", "terms",
           NULL);
  bad_file(c, "missing2.json",
           REG(GOOD_PARTY ",{'id':'bad-p','kind':'state'}", ""), HV_ESCHEMA,
           "missing2.json", "parties[1]", "\"bad-p\"", "name: missing", NULL);
}

/* ---- geometry ------------------------------------------------------------ */

static void test_self_intersecting_ring(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "bowtie.geojson",
           FC(GOOD_ZONE "," ZONE("bad-1",
                                 "{'type':'Polygon','coordinates':[[[36,35],"
                                 "[37,36],[37,35],[36,36],[36,35]]]}",
                                 "")),
           HV_EGEOMETRY, "bowtie.geojson", "feature 1", "\"bad-1\"", "geometry",
           "Self-intersection", NULL);
}

static void test_unclosed_ring(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "open.geojson",
           FC(GOOD_ZONE "," ZONE("bad-1",
                                 "{'type':'Polygon','coordinates':[[[36,35],"
                                 "[37,35],[37,36],[36,36],[36,35.1]]]}",
                                 "")),
           HV_EGEOMETRY, "open.geojson", "feature 1", "\"bad-1\"",
           "geometry.coordinates[0]", "not closed", NULL);
  bad_file(c, "short.geojson",
           FC(GOOD_ZONE "," ZONE("bad-2",
                                 "{'type':'Polygon','coordinates':[[[36,35],"
                                 "[37,35],[36,35]]]}",
                                 "")),
           HV_EGEOMETRY, "short.geojson", "feature 1", "\"bad-2\"",
           "geometry.coordinates[0]", "at least 4", NULL);
}

static void test_out_of_range_coordinate(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "lon.geojson",
           FC(GOOD_ZONE "," ZONE("bad-1",
                                 "{'type':'Polygon','coordinates':[[[36,35],"
                                 "[200,35],[37,36],[36,35]]]}",
                                 "")),
           HV_EGEOMETRY, "lon.geojson", "feature 1", "\"bad-1\"",
           "geometry.coordinates[0][1]", "longitude 200", NULL);
  bad_file(c, "lat.geojson",
           FC(GOOD_ZONE "," SITE("bad-2", "[36,-91]", "un-ocha")), HV_EGEOMETRY,
           "lat.geojson", "feature 1", "\"bad-2\"", "geometry.coordinates",
           "latitude -91", NULL);
}

static void test_non_finite_coordinate(void **state) {
  struct tu_store *c = *state;
  /* JSON has no NaN; 1e999 overflows a double and does not parse. */
  bad_file(c, "huge.geojson",
           "{'type':'FeatureCollection','features':[\n" GOOD_ZONE
           ",\n" SITE("bad-1", "[1e999,35]", "un-ocha") "]}",
           HV_EPARSE, "huge.geojson", "line 3", "column", NULL);
  bad_file(c, "string.geojson",
           FC(GOOD_ZONE "," ZONE("bad-2",
                                 "{'type':'Polygon','coordinates':[[[36,35],"
                                 "[37,35],[37,'36'],[36,35]]]}",
                                 "")),
           HV_EGEOMETRY, "string.geojson", "feature 1", "\"bad-2\"",
           "geometry.coordinates[0][2][1]", "not a number", NULL);
  bad_file(c, "null.geojson",
           FC(GOOD_ZONE "," SITE("bad-3", "[36,null]", "un-ocha")),
           HV_EGEOMETRY, "null.geojson", "feature 1", "\"bad-3\"",
           "geometry.coordinates[1]", "not a number", NULL);
  /* A finite but huge number is out of range. */
  bad_file(c, "e308.geojson",
           FC(GOOD_ZONE "," SITE("bad-4", "[36,1e308]", "un-ocha")),
           HV_EGEOMETRY, "e308.geojson", "feature 1", "\"bad-4\"",
           "geometry.coordinates", "latitude", NULL);
}

/* ---- references ---------------------------------------------------------- */

static void test_sponsor_cycle(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "cycle.json",
           REG(GOOD_PARTY "," PARTY("cyc-a", ",'sponsor':'cyc-b'") "," PARTY(
                   "cyc-b", ",'sponsor':'cyc-a'"),
               ""),
           HV_ECYCLE, "cycle.json", "parties[1]", "\"cyc-a\"", "sponsor", NULL);
  /* Through parties already in the store: ru > syr-gov > nda, and now ru
   * would be sponsored by nda. */
  bad_file(c, "cycle2.json",
           REG(GOOD_PARTY ",{'id':'ru','name':'Russian Federation','kind':"
                          "'state','sponsor':'nda','aliases':['Government of "
                          "Russia (Soviet Union)']}",
               ""),
           HV_ECYCLE, "cycle2.json", "parties[1]", "\"ru\"", "sponsor", NULL);
  assert_null(hv_db_get(c->db, HV_PARTY, "ru")->u.party.sponsor);
  /* Through a new party: is > new > is-halab > is. */
  bad_file(c, "cycle3.json",
           REG(GOOD_PARTY "," PARTY(
                   "cyc-new", ",'sponsor':'is-halab'") ",{'id':'is','name':'"
                                                       "Islamic State','kind':"
                                                       "'designated','sponsor':"
                                                       "'cyc-new','aliases':["
                                                       "'ISIL','Daesh']}",
               ""),
           HV_ECYCLE, "cycle3.json", "sponsor", NULL);
  /* Itself. */
  bad_file(c, "self.json",
           REG(GOOD_PARTY "," PARTY("self", ",'sponsor':'self'"), ""),
           HV_ECYCLE, "self.json", "parties[1]", "\"self\"", "sponsor", NULL);
}

static void test_unknown_guarantor(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "guarantor.json",
           REG(GOOD_PARTY, GOOD_AGREEMENT
               "," AGREEMENT("bad-a", ",'guarantors':['us','ghost']")),
           HV_EREF, "guarantor.json", "agreements[1]", "\"bad-a\"",
           "guarantors[1]", "no party \"ghost\"", NULL);
  bad_file(c, "guarantor.geojson",
           FC(GOOD_ZONE "," ZONE("bad-z", SQUARE(38, 34, 38.1, 34.1),
                                 ",'guarantors':['ghost']")),
           HV_EREF, "guarantor.geojson", "feature 1", "\"bad-z\"",
           "guarantors[0]", "no party \"ghost\"", NULL);
  bad_file(c, "covered.json",
           REG(GOOD_PARTY, GOOD_AGREEMENT ",{'id':'bad-c','name':'A','kind':"
                                          "'ceasefire','valid_from':"
                                          "'2018-01-01','scope':'nationwide',"
                                          "'covered':['ru','ghost'],"
                                          "'terms':['siege']}"),
           HV_EREF, "covered.json", "agreements[1]", "\"bad-c\"", "covered[1]",
           "ghost", NULL);
}

static void test_unknown_sponsor(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "sponsor.json",
           REG(GOOD_PARTY "," PARTY("bad-p", ",'sponsor':'ghost'"), ""),
           HV_EREF, "sponsor.json", "parties[1]", "\"bad-p\"", "sponsor",
           "no party \"ghost\"", NULL);
}

static void test_unknown_notifier(void **state) {
  struct tu_store *c = *state;
  bad_file(
      c, "notifier.geojson",
      FC(GOOD_ZONE "," GOOD_SITE "," SITE("bad-s", "[36.6,35.9]", "ghost")),
      HV_EREF, "notifier.geojson", "feature 2", "\"bad-s\"", "notified_by",
      "no party \"ghost\"", NULL);
  bad_file(c, "delineation.geojson",
           FC(GOOD_SITE ",{'type':'Feature','id':'bad-d','geometry':" SQUARE(
               36, 35, 36.1, 35.1) ",'properties':{'object':'delineation',"
                                   "'party':'ghost','valid_from':"
                                   "'2018-01-01'}}"),
           HV_EREF, "delineation.geojson", "feature 1", "\"bad-d\"", "party",
           "ghost", NULL);
}

static void test_unknown_rule_party(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "rule.geojson",
           FC(GOOD_ZONE "," ZONE("bad-z", SQUARE(38, 34, 38.1, 34.1),
                                 ",'rules':[{'parties':['*'],'asset_classes':"
                                 "['uav'],'inside':true,'overfly':true},"
                                 "{'parties':['ru','ghost'],'asset_classes':"
                                 "['rotary'],'inside':false,"
                                 "'overfly':false}]")),
           HV_EREF, "rule.geojson", "feature 1", "\"bad-z\"",
           "rules[1].parties[1]", "no party \"ghost\"", NULL);
}

static void test_unknown_zone_in_scope(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "scope.json",
           REG(GOOD_PARTY, GOOD_AGREEMENT
               "," AGREEMENT("bad-a", ",'scope':['idlib-dez','nowhere']")),
           HV_EREF, "scope.json", "agreements[1]", "\"bad-a\"", "scope[1]",
           "no zone \"nowhere\"", NULL);
  /* A party id is not a zone. */
  bad_file(c, "scope2.json",
           REG(GOOD_PARTY, AGREEMENT("bad-b", ",'scope':['ru']")), HV_EREF,
           "scope2.json", "agreements[0]", "\"bad-b\"", "scope[0]",
           "no zone \"ru\"", NULL);
  /* Corridor ends likewise. */
  bad_file(c, "connects.geojson",
           FC(GOOD_ZONE ",{'type':'Feature','id':'bad-c','geometry':{'type':"
                        "'LineString','coordinates':[[36,35],[36.1,35]]},"
                        "'properties':{'object':'corridor','name':'C',"
                        "'half_width_m':100,'status':'open','connects':"
                        "['good-z1','nowhere']}}"),
           HV_EREF, "connects.geojson", "feature 1", "\"bad-c\"", "connects[1]",
           "no zone \"nowhere\"", NULL);
}

static void test_duplicate_id_in_file(void **state) {
  struct tu_store *c = *state;
  bad_file(
      c, "dup.geojson",
      FC(GOOD_SITE "," ZONE("dup", SQUARE(38, 34, 38.1, 34.1), "") "," ZONE(
          "dup", SQUARE(38.2, 34, 38.3, 34.1), "")),
      HV_EEXISTS, "dup.geojson", "feature 2", "\"dup\"", "feature 1", NULL);
  /* Two repeated ids: the first repeat in file order is named, with the
   * first feature it repeats. */
  bad_file(
      c, "dup2.geojson",
      FC(GOOD_SITE "," ZONE("dup-a", SQUARE(38, 34, 38.1, 34.1), "") "," ZONE(
          "dup-b", SQUARE(38.2, 34, 38.3, 34.1),
          "") "," ZONE("dup-b", SQUARE(38.4, 34, 38.5, 34.1),
                       "") "," ZONE("dup-a", SQUARE(38.6, 34, 38.7, 34.1), "")),
      HV_EEXISTS, "feature 3", "\"dup-b\"", "feature 2", NULL);
  bad_file(c, "dup.json",
           REG(GOOD_PARTY "," PARTY("dup", "") "," PARTY("dup", ""), ""),
           HV_EEXISTS, "dup.json", "parties[2]", "\"dup\"", "parties[1]", NULL);
}

static void test_duplicate_id_across_files(void **state) {
  struct tu_store *c = *state;
  char a[4096], b[4096];
  const char *paths[] = {
      put(c, a, sizeof a, "first.geojson",
          FC(GOOD_SITE "," ZONE("dup", SQUARE(38, 34, 38.1, 34.1), ""))),
      put(c, b, sizeof b, "second.geojson",
          FC(GOOD_ZONE "," ZONE("dup", SQUARE(38.2, 34, 38.3, 34.1), "")))};
  refused(c, HV_COORDINATOR, paths, 2, HV_EEXISTS, "second.geojson",
          "feature 1", "\"dup\"", "first.geojson", NULL);
  const char *regs[] = {
      put(c, a, sizeof a, "first.json", REG(PARTY("dup-p", ""), "")),
      put(c, b, sizeof b, "second.json",
          REG(GOOD_PARTY "," PARTY("dup-p", ""), ""))};
  refused(c, HV_COORDINATOR, regs, 2, HV_EEXISTS, "second.json", "parties[1]",
          "\"dup-p\"", "first.json", "parties[0]", NULL);
  /* The same file twice. */
  const char *twice[] = {a, a};
  refused(c, HV_COORDINATOR, twice, 2, HV_EEXISTS, "first.json", "dup-p", NULL);
}

static void test_alias_already_used(void **state) {
  struct tu_store *c = *state;
  /* syr-gov has the alias "SAA" (aliases match case-insensitively). */
  bad_file(c, "alias.json",
           REG(GOOD_PARTY "," PARTY("bad-p", ",'aliases':['Army','saa']"), ""),
           HV_ESCHEMA, "alias.json", "parties[1]", "\"bad-p\"", "aliases[1]",
           "already names party \"syr-gov\"", NULL);
  /* Another party's name is taken too. */
  bad_file(c, "alias2.json",
           REG(GOOD_PARTY "," PARTY("bad-q", ",'aliases':['TURKEY']"), ""),
           HV_ESCHEMA, "alias2.json", "parties[1]", "\"bad-q\"", "aliases[0]",
           "\"tr\"", NULL);
  /* Two new parties claiming one alias. */
  bad_file(c, "alias3.json",
           REG(PARTY("new-a", ",'aliases':['Brigade 7']") "," PARTY(
                   "new-b", ",'aliases':['brigade 7']"),
               ""),
           HV_ESCHEMA, "alias3.json", "parties[0]", "\"new-a\"", "aliases[0]",
           "already names party \"new-b\"", NULL);
}

/* A party's name and aliases name it alone: a new party named like an
 * alias of a stored party, or with another party's id as an alias, is
 * refused (hv_db_party_by_alias would otherwise answer the wrong party). */
static void test_name_or_alias_taking_another_partys(void **state) {
  struct tu_store *c = *state;
  const struct hv_object *sg = hv_db_get(c->db, HV_PARTY, "syr-gov");
  assert_ptr_equal(hv_db_party_by_alias(c->db, "SAA"), sg);
  char p[4096], q[4096];
  const char *by_name[] = {put(
      c, p, sizeof p, "name.json",
      REG(GOOD_PARTY ",{'id':'aaa','name':'SAA','kind':'armed_group'}", ""))};
  const char *by_id[] = {
      put(c, q, sizeof q, "alias-id.json",
          REG(GOOD_PARTY "," PARTY("aab", ",'aliases':['tr']"), ""))};
  struct hv_import_stats st;
  struct hv_error err = {0};
  int rc_name =
      hv_db_import(c->db, HV_COORDINATOR, by_name, 1, NULL, NULL, &st, &err);
  int rc_id =
      hv_db_import(c->db, HV_COORDINATOR, by_id, 1, NULL, NULL, &st, &err);
  assert_int_equal(rc_name, HV_ESCHEMA);
  assert_int_equal(rc_id, HV_ESCHEMA);
  assert_ptr_equal(hv_db_party_by_alias(c->db, "SAA"), sg);
  refused(c, HV_COORDINATOR, by_name, 1, HV_ESCHEMA, "name.json", "parties[1]",
          "\"aaa\"", "syr-gov", NULL);
  refused(c, HV_COORDINATOR, by_id, 1, HV_ESCHEMA, "alias-id.json",
          "parties[1]", "\"aab\"", "aliases[0]", NULL);
}

static void test_author_not_a_party(void **state) {
  struct tu_store *c = *state;
  char p[4096];
  /* A new zone's history starts "by" the author, who must be a party. */
  const char *zones[] = {
      put(c, p, sizeof p, "by.geojson", FC(GOOD_SITE "," GOOD_ZONE))};
  refused(c, "nobody", zones, 1, HV_EREF, "by.geojson", "feature 1",
          "\"good-z1\"", "phase_history[0].by", "\"nobody\"", NULL);
  /* Without zones the author is checked when writing; this error is about
   * the whole import, so it names the author rather than a file. */
  const char *reg[] = {
      put(c, p, sizeof p, "by.json", REG(GOOD_PARTY, GOOD_AGREEMENT))};
  refused(c, "nobody", reg, 1, HV_EREF, "author", "\"nobody\"", NULL);
  /* A party of the store may import. */
  struct hv_import_stats st;
  struct hv_error err = {0};
  assert_int_equal(hv_db_import(c->db, "tr", reg, 1, NULL, NULL, &st, &err),
                   HV_OK);
  assert_int_equal(st.created, 2);
}

/* ---- what a refused import leaves behind --------------------------------- */

static void test_store_usable_after_refusal(void **state) {
  struct tu_store *c = *state;
  bad_file(c, "bowtie.geojson",
           FC(GOOD_ZONE "," ZONE("bad-1",
                                 "{'type':'Polygon','coordinates':[[[36,35],"
                                 "[37,36],[37,35],[36,36],[36,35]]]}",
                                 "")),
           HV_EGEOMETRY, "Self-intersection", NULL);
  /* The good files alone go in, references between them resolved within
   * the import (good-a0 scopes good-z0; good-s0 is notified by good-p0). */
  char r[4096], f[4096];
  const char *paths[] = {
      put(c, r, sizeof r, "good-registry.json", GOOD_REGISTRY),
      put(c, f, sizeof f, "good.geojson", GOOD_GEOJSON)};
  struct hv_import_stats st;
  struct hv_error err = {0};
  assert_int_equal(
      hv_db_import(c->db, HV_COORDINATOR, paths, 2, NULL, NULL, &st, &err),
      HV_OK);
  assert_int_equal(st.created, 4);
  struct tu_snapshot now = tu_snap(c->db);
  assert_true(now.entries == c->base.entries + 4);
  assert_non_null(hv_db_get(c->db, HV_ZONE, "good-z0"));
  assert_ptr_equal(hv_db_party_by_alias(c->db, "good zero"),
                   hv_db_get(c->db, HV_PARTY, "good-p0"));
  /* And they are there after reopening. */
  hv_db_close(c->db);
  c->db = NULL;
  assert_int_equal(hv_db_open(c->dir, &c->db, &err), HV_OK);
  struct tu_snapshot again = tu_snap(c->db);
  assert_true(again.entries == now.entries);
  assert_memory_equal(again.head_hash, now.head_hash, HV_HASH_BYTES);
  assert_non_null(hv_db_get(c->db, HV_SITE, "good-s0"));
  struct hv_verify_report rep;
  assert_int_equal(hv_ledger_verify(c->db, &rep, &err), HV_OK);
}

/* Progress is reported per file with running counts. */
struct progress {
  size_t calls, last_done, last_total;
  char file[4096];
};

static void on_progress(const char *file, size_t done, size_t total, void *ud) {
  struct progress *p = ud;
  p->calls++;
  p->last_done = done;
  p->last_total = total;
  snprintf(p->file, sizeof p->file, "%s", file);
}

static void test_progress(void **state) {
  struct tu_store *c = *state;
  char f[4096];
  const char *paths[] = {
      put(c, f, sizeof f, "good.geojson", FC(GOOD_ZONE "," GOOD_SITE))};
  struct progress pr = {0, 0, 0, {0}};
  struct hv_import_stats st;
  struct hv_error err = {0};
  assert_int_equal(hv_db_import(c->db, HV_COORDINATOR, paths, 1, on_progress,
                                &pr, &st, &err),
                   HV_OK);
  assert_true(pr.calls >= 1);
  assert_int_equal(pr.last_done, 2);
  assert_int_equal(pr.last_total, 2);
  assert_string_equal(pr.file, f);
}

int main(void) {
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, tu_store_teardown)
  const struct CMUnitTest tests[] = {
      T_(test_not_json),
      T_(test_neither_collection_nor_registry),
      T_(test_unknown_object_kind),
      T_(test_feature_type_names_id),
      T_(test_unknown_member),
      T_(test_missing_required_field),
      T_(test_self_intersecting_ring),
      T_(test_unclosed_ring),
      T_(test_out_of_range_coordinate),
      T_(test_non_finite_coordinate),
      T_(test_sponsor_cycle),
      T_(test_unknown_guarantor),
      T_(test_unknown_sponsor),
      T_(test_unknown_notifier),
      T_(test_unknown_rule_party),
      T_(test_unknown_zone_in_scope),
      T_(test_duplicate_id_in_file),
      T_(test_duplicate_id_across_files),
      T_(test_alias_already_used),
      T_(test_name_or_alias_taking_another_partys),
      T_(test_author_not_a_party),
      T_(test_store_usable_after_refusal),
      T_(test_progress),
  };
#undef T_
  return cmocka_run_group_tests(tests, NULL, NULL);
}
