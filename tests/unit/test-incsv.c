/*
 * test-incsv.c — the incident CSV readers (haven/incsv.h) on the real
 * files of ../shared/data/conflict (UCDP GED Syria 2016-2019, 10,979 rows;
 * Syrian Archive's alleged Russian attacks, 1,562 rows) and on the ACLED
 * fixture tests/data/acled_sample.csv (rows transcribed from UCDP rows,
 * tests/data/README.md), against the bundled scenario's parties and
 * aliases: hand-checked rows mapped field by field (docs/incident-csv.md),
 * the unresolved actor names and their counts, whole files imported with
 * hv_db_import_docs; malformed files refused naming file, line and column,
 * with nothing imported.
 *
 * The group setup builds the scenario into HAVEN_SCRATCH_DIR/incsv-<pid>;
 * the import tests run last (they add incidents to the shared store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/haven.h"
#include "haven/incsv.h"
#include "testutil.h"

#define UCDP_FILE "ucdp_ged_syria_2016_2018_2019.csv"
#define SA_FILE "syrianarchive_alleged_russian_attacks_2015-2016.csv"

/* ---- helpers ------------------------------------------------------------- */

/* The path of a file of ../shared/data/conflict into buf. */
static const char *conflict_file(char *buf, size_t size, const char *name) {
  const char *d = tu_env_or("HAVEN_SHARED_DATA", "/work/shared/data");
  assert_true((size_t)snprintf(buf, size, "%s/conflict/%s", d, name) < size);
  return buf;
}

/* Reads path in format f with offset (may be NULL), failing the test on an
 * error. */
static void read_ok(struct hv_db *db, enum hv_incsv_format f, const char *path,
                    const char *offset, int lag, struct hv_incsv_result *out) {
  struct hv_incsv_options opt = {.utc_offset = offset, .lag_days = lag};
  struct hv_error err = {0};
  int rc = hv_incsv_read(db, f, path, &opt, out, &err);
  if (rc != HV_OK)
    fail_msg("%s: %s (%s)", path, err.msg, hv_err_name(rc));
  assert_non_null(out->features);
}

static json_t *features(const struct hv_incsv_result *r) {
  return json_object_get(r->features, "features");
}

/* The feature with id, or the test fails. */
static json_t *feature(const struct hv_incsv_result *r, const char *id) {
  size_t i;
  json_t *f;
  json_array_foreach(features(r), i,
                     f) if (strcmp(json_string_value(json_object_get(f, "id")),
                                   id) == 0) return f;
  fail_msg("no feature %s", id);
  return NULL;
}

static json_t *prop(const json_t *f, const char *key) {
  return json_object_get(json_object_get(f, "properties"), key);
}

/* properties.key as a string ("(absent)" when missing). */
static const char *ps(const json_t *f, const char *key) {
  const json_t *v = prop(f, key);
  return v ? json_string_value(v) : "(absent)";
}

/* Fails unless properties.key is a string array holding exactly the n
 * strings given. */
static void assert_list(const json_t *f, const char *key, size_t n, ...) {
  const json_t *a = prop(f, key);
  assert_true(json_is_array(a));
  if (json_array_size(a) != n)
    fail_msg("%s: %s has %zu entries, expected %zu", ps(f, "source_id"), key,
             json_array_size(a), n);
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(json_string_value(json_array_get(a, i)),
                        va_arg(ap, const char *));
  va_end(ap);
}

static void assert_point(const json_t *f, double lon, double lat) {
  const json_t *c =
      json_object_get(json_object_get(f, "geometry"), "coordinates");
  assert_float_equal(json_real_value(json_array_get(c, 0)), lon, 1e-9);
  assert_float_equal(json_real_value(json_array_get(c, 1)), lat, 1e-9);
}

/* The count of name among r's unresolved names (0: not there). Also checks
 * the list's order: count descending, then name. */
static size_t unresolved(const struct hv_incsv_result *r, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_unresolved; i++) {
    if (i > 0) {
      const struct hv_incsv_unresolved *a = &r->unresolved[i - 1],
                                       *b = &r->unresolved[i];
      assert_true(a->count > b->count ||
                  (a->count == b->count && strcmp(a->name, b->name) < 0));
    }
    if (strcmp(r->unresolved[i].name, name) == 0)
      n = r->unresolved[i].count;
  }
  return n;
}

/* How many features have properties.key == value. */
static size_t count_prop(const struct hv_incsv_result *r, const char *key,
                         const char *value) {
  size_t i, n = 0;
  json_t *f;
  json_array_foreach(features(r), i, f) n +=
      json_is_string(prop(f, key)) && strcmp(ps(f, key), value) == 0;
  return n;
}

/* Reading path fails with HV_EPARSE and a message holding each of the
 * strings given (NULL-terminated); *out left empty. */
static void assert_read_fails(struct hv_db *db, enum hv_incsv_format f,
                              const char *path, ...) {
  struct hv_incsv_result out;
  struct hv_error err = {0};
  int rc = hv_incsv_read(db, f, path, NULL, &out, &err);
  if (rc != HV_EPARSE)
    fail_msg("%s: %s, expected HV_EPARSE (%s)", path, hv_err_name(rc), err.msg);
  assert_null(out.features);
  assert_int_equal(out.rows + out.skipped + out.n_unresolved, 0);
  va_list ap;
  va_start(ap, path);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (strstr(err.msg, s) == NULL)
      fail_msg("error \"%s\" does not name \"%s\"", err.msg, s);
  va_end(ap);
}

/* ---- formats ------------------------------------------------------------- */

static void test_format_names(void **state) {
  (void)state;
  for (int f = 0; f < HV_INCSV_FORMAT_COUNT; f++) {
    enum hv_incsv_format g;
    assert_int_equal(
        hv_incsv_format_parse(hv_incsv_format_name((enum hv_incsv_format)f), &g,
                              NULL),
        HV_OK);
    assert_int_equal(g, f);
  }
  enum hv_incsv_format g;
  struct hv_error err = {0};
  assert_int_equal(hv_incsv_format_parse("gdelt", &g, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "syrian-archive"));
  hv_incsv_result_free(NULL);
}

/* ---- UCDP GED ------------------------------------------------------------ */

/* Rows of the real file, checked by hand against the CSV. */
static void test_ucdp_rows(void **state) {
  struct tu_scenario *c = *state;
  char path[4096];
  struct hv_incsv_result r;
  read_ok(c->db, HV_INCSV_UCDP, conflict_file(path, sizeof path, UCDP_FILE),
          NULL, 0, &r);
  assert_int_equal(r.rows, 10979);
  assert_int_equal(r.skipped, 0);
  assert_int_equal(json_array_size(features(&r)), 10979);

  /* 214797: state-based, Government of Syria vs Syrian insurgents (an alias
   * of syr-opposition), where_prec 1, 2016-01-01, best 4, SOHR. */
  json_t *f = feature(&r, "ucdp-214797");
  assert_string_equal(json_string_value(json_object_get(f, "type")), "Feature");
  assert_point(f, 36.707602, 34.802462);
  assert_string_equal(ps(f, "object"), "incident");
  assert_string_equal(ps(f, "time"), "2016-01-01");
  assert_null(prop(f, "time_end"));
  assert_string_equal(ps(f, "location_precision"), "exact");
  assert_string_equal(ps(f, "event_type"), "Battles");
  assert_string_equal(ps(f, "sub_event_type"), "Armed clash");
  assert_list(f, "sides", 2, "syr-gov", "syr-opposition");
  assert_list(f, "actors", 2, "Government of Syria", "Syrian insurgents");
  assert_null(prop(f, "perpetrator"));
  assert_string_equal(ps(f, "target"), "party");
  assert_string_equal(ps(f, "target_party"), "syr-opposition");
  assert_int_equal(json_integer_value(prop(f, "fatalities")), 4);
  assert_string_equal(ps(f, "source"), "UCDP GED 19.1 (SOHR)");
  assert_string_equal(ps(f, "source_id"), "ucdp:214797");
  assert_string_equal(ps(f, "confidence"), "medium");

  /* 223863: one-sided, Government of Syria on civilians in Damascus. */
  f = feature(&r, "ucdp-223863");
  assert_string_equal(ps(f, "event_type"), "Violence against civilians");
  assert_string_equal(ps(f, "sub_event_type"), "Attack");
  assert_string_equal(ps(f, "perpetrator"), "syr-gov");
  assert_string_equal(ps(f, "perpetrator_certainty"), "known");
  assert_list(f, "sides", 1, "syr-gov");
  assert_list(f, "actors", 2, "Government of Syria", "Civilians");
  assert_string_equal(ps(f, "target"), "civilians");
  assert_null(prop(f, "target_party"));

  /* 216878: IS vs SDF, where_prec 4 (province, no uncertainty, no area),
   * 2016-02-27 to 2016-02-29: time_end the day after. */
  f = feature(&r, "ucdp-216878");
  assert_string_equal(ps(f, "location_precision"), "province");
  assert_null(prop(f, "uncertainty_m"));
  assert_null(prop(f, "area"));
  assert_string_equal(ps(f, "time"), "2016-02-27");
  assert_string_equal(ps(f, "time_end"), "2016-03-01");
  assert_list(f, "sides", 2, "is", "sdf");
  assert_int_equal(json_integer_value(prop(f, "fatalities")), 0);
  assert_string_equal(ps(f, "source"), "UCDP GED 19.1 (SOHR; Waha Report)");

  /* 233200: the year 2016 as one event, where_prec 6, event_clarity 2. */
  f = feature(&r, "ucdp-233200");
  assert_string_equal(ps(f, "location_precision"), "country");
  assert_string_equal(ps(f, "confidence"), "low");
  assert_string_equal(ps(f, "time_end"), "2017-01-01");
  assert_int_equal(json_integer_value(prop(f, "fatalities")), 8179);

  /* 257324: side_a joins six groups with ", ": not split, unresolved;
   * side_b SDF resolves. Repeated offices are given once. */
  f = feature(&r, "ucdp-257324");
  assert_list(f, "sides", 1, "sdf");
  assert_string_equal(ps(f, "target_party"), "sdf");
  assert_list(f, "actors", 2,
              "23rd Division, Jaysh al Nasr, Jaysh al-Nukhba, Sham Legion, "
              "SNA, Syrian Liberation Front",
              "SDF");
  assert_string_equal(ps(f, "source"),
                      "UCDP GED 19.1 (BBC Monitoring Newsfile; Agence France "
                      "Presse; Reuters News; BBC Monitoring Middle East; "
                      "SOHR; Airwars)");

  /* Counted with python3 csv.DictReader over the whole file:
   * type_of_violence 3: 349 rows; event_clarity 2: 368; where_prec 1: 6014,
   * 2: 3724, 3: 216, 4: 481, 5 and 6: 389 + 155. */
  assert_int_equal(count_prop(&r, "event_type", "Violence against civilians"),
                   349);
  assert_int_equal(count_prop(&r, "confidence", "low"), 368);
  assert_int_equal(count_prop(&r, "location_precision", "exact"), 6014);
  assert_int_equal(count_prop(&r, "location_precision", "near"), 3724);
  assert_int_equal(count_prop(&r, "location_precision", "district"), 216);
  assert_int_equal(count_prop(&r, "location_precision", "province"), 481);
  assert_int_equal(count_prop(&r, "location_precision", "country"), 544);

  /* Unresolved names, counted with python3 csv.DictReader: for each row,
   * side_a and side_b, skipping "Civilians", matched case-insensitively
   * against every party's id, name and aliases in
   * data/scenario/registry.json; counted per row naming them. */
  assert_int_equal(r.n_unresolved, 49);
  assert_string_equal(r.unresolved[0].name,
                      "National Front for Liberation, SNA");
  assert_int_equal(r.unresolved[0].count, 142);
  assert_int_equal(unresolved(&r, "Fatah Halab, Jabhat Fateh al-Sham"), 30);
  assert_int_equal(unresolved(&r, "Shohadaa al-Yarmouk"), 3);
  assert_int_equal(unresolved(&r, "Civilians"), 0);
  assert_int_equal(unresolved(&r, "Government of Syria"), 0);
  hv_incsv_result_free(&r);
  assert_null(r.features);
}

/* With a UTC offset every date is local midnight to local midnight. */
static void test_ucdp_offset(void **state) {
  struct tu_scenario *c = *state;
  char path[4096];
  struct hv_incsv_result r;
  read_ok(c->db, HV_INCSV_UCDP, conflict_file(path, sizeof path, UCDP_FILE),
          "+02:00", 0, &r);
  json_t *f = feature(&r, "ucdp-214797");
  assert_string_equal(ps(f, "time"), "2016-01-01T00:00:00+02:00");
  assert_string_equal(ps(f, "time_end"), "2016-01-02T00:00:00+02:00");
  f = feature(&r, "ucdp-216878");
  assert_string_equal(ps(f, "time"), "2016-02-27T00:00:00+02:00");
  assert_string_equal(ps(f, "time_end"), "2016-03-01T00:00:00+02:00");
  hv_incsv_result_free(&r);

  struct hv_incsv_options bad = {.utc_offset = "+2"};
  struct hv_error err = {0};
  assert_int_equal(hv_incsv_read(c->db, HV_INCSV_UCDP, path, &bad, &r, &err),
                   HV_EINVAL);
  assert_non_null(strstr(err.msg, "\"+2\""));
  assert_null(r.features);
}

/* ---- Syrian Archive ------------------------------------------------------ */

static void test_syrian_archive_rows(void **state) {
  struct tu_scenario *c = *state;
  char path[4096];
  struct hv_incsv_result r;
  read_ok(c->db, HV_INCSV_SYRIAN_ARCHIVE,
          conflict_file(path, sizeof path, SA_FILE), NULL, 0, &r);
  assert_int_equal(r.rows, 1562);
  /* Blank lat_dd and lon_dd (RU_1687, RU_1689, RU_1697, RU_1698, RU_1970,
   * all Saqba): their physical lines, found with python3 csv.reader's
   * line_num (some descriptions span lines). */
  assert_int_equal(r.skipped, 5);
  static const size_t lines[] = {775, 777, 785, 786, 1094};
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(r.skipped_lines[i], lines[i]);
  assert_int_equal(json_array_size(features(&r)), 1557);
  /* ru has the alias "Government of Russia (Soviet Union)". */
  assert_int_equal(r.n_unresolved, 0);

  json_t *f = feature(&r, "syrianarchive-RU_1000");
  assert_point(f, 36.667943, 35.647810);
  assert_string_equal(ps(f, "time"), "2016-03-07T17:37:31Z");
  assert_string_equal(ps(f, "time_end"), "2016-03-14T17:37:31Z");
  assert_string_equal(ps(f, "location_precision"), "near");
  assert_int_equal(json_integer_value(prop(f, "uncertainty_m")), 1000);
  assert_string_equal(ps(f, "event_type"), "Explosions/Remote violence");
  assert_string_equal(ps(f, "sub_event_type"), "Air/drone strike");
  assert_string_equal(ps(f, "perpetrator"), "ru");
  assert_string_equal(ps(f, "perpetrator_certainty"), "suspected");
  assert_list(f, "sides", 1, "ru");
  assert_list(f, "actors", 1, "Government of Russia (Soviet Union)");
  assert_string_equal(ps(f, "target"), "civilians");
  assert_string_equal(ps(f, "confidence"), "low");
  assert_string_equal(ps(f, "source"),
                      "Syrian Archive (Syrian Network for Human Rights)");
  assert_string_equal(ps(f, "source_id"), "syrianarchive:RU_1000");
  assert_string_equal(ps(f, "notes"),
                      "Desctruction and damage in Abi Al alaa school as a "
                      "result of the Russian airstrikes on Hayyan");
  assert_null(prop(f, "fatalities"));
  hv_incsv_result_free(&r);

  /* --lag-days 3. */
  read_ok(c->db, HV_INCSV_SYRIAN_ARCHIVE, path, NULL, 3, &r);
  assert_string_equal(ps(feature(&r, "syrianarchive-RU_1000"), "time"),
                      "2016-03-11T17:37:31Z");
  hv_incsv_result_free(&r);
}

/* In a store with no Russian party the name is counted, once per row made
 * an incident, and no incident has a perpetrator. Long descriptions are cut
 * to 500 bytes at a UTF-8 boundary. */
static void test_syrian_archive_no_party(void **state) {
  (void)state;
  char dir[4096], path[4200];
  struct hv_db *db;
  assert_int_equal(tu_open_store(dir, sizeof dir, "incsv-empty", &db), 0);
  struct hv_incsv_result r;
  read_ok(db, HV_INCSV_SYRIAN_ARCHIVE,
          conflict_file(path, sizeof path, SA_FILE), NULL, 0, &r);
  assert_int_equal(r.n_unresolved, 1);
  assert_string_equal(r.unresolved[0].name,
                      "Government of Russia (Soviet Union)");
  assert_int_equal(r.unresolved[0].count, 1557);
  json_t *f = feature(&r, "syrianarchive-RU_1000");
  assert_null(prop(f, "perpetrator"));
  assert_list(f, "sides", 0);
  assert_list(f, "actors", 1, "Government of Russia (Soviet Union)");
  hv_incsv_result_free(&r);

  /* 300 times "é" (2 bytes) after 1 byte: byte 500 is inside a character. */
  char desc[700] = "x";
  for (int i = 0; i < 300; i++)
    memcpy(desc + 1 + 2 * i, "\xC3\xA9", 3); /* and the NUL */
  char text[1024];
  snprintf(text, sizeof text,
           "reference_code,published_utc,source,lat_dd,lon_dd,"
           "violation_type,description_en\n"
           "RU_9,2016-03-14T17:37:31.000Z,,35.1,36.2,Other,%s\n",
           desc);
  tu_path_in(path, sizeof path, dir, "long.csv");
  tu_write_file(path, text);
  read_ok(db, HV_INCSV_SYRIAN_ARCHIVE, path, NULL, 0, &r);
  f = feature(&r, "syrianarchive-RU_9");
  assert_int_equal(strlen(ps(f, "notes")), 499);
  assert_string_equal(ps(f, "target"), "unknown");
  assert_string_equal(ps(f, "source"), "Syrian Archive");
  hv_incsv_result_free(&r);
  tu_close_store(db, dir);
}

/* ---- ACLED --------------------------------------------------------------- */

static void test_acled_rows(void **state) {
  struct tu_scenario *c = *state;
  char path[4096];
  struct hv_incsv_result r;
  const char *src = tu_env_or("HAVEN_SOURCE_DIR", ".");
  snprintf(path, sizeof path, "%s/tests/data/acled_sample.csv", src);
  read_ok(c->db, HV_INCSV_ACLED, path, NULL, 0, &r);
  assert_int_equal(r.rows, 9);
  /* SYR1009 has blank coordinates; it starts on line 12, after SYR1003's
   * notes span lines 4-6. */
  assert_int_equal(r.skipped, 1);
  assert_int_equal(r.skipped_lines[0], 12);
  assert_int_equal(json_array_size(features(&r)), 8);
  assert_int_equal(r.n_unresolved, 1);
  assert_int_equal(unresolved(&r, "Shohadaa al-Yarmouk"), 1);

  /* A battle: both sides, no perpetrator, the other side targeted. */
  json_t *f = feature(&r, "acled-SYR1001");
  assert_string_equal(ps(f, "time"), "2016-01-01");
  assert_null(prop(f, "time_end"));
  assert_string_equal(ps(f, "location_precision"), "exact");
  assert_string_equal(ps(f, "event_type"), "Battles");
  assert_list(f, "sides", 2, "syr-gov", "syr-opposition");
  assert_null(prop(f, "perpetrator"));
  assert_string_equal(ps(f, "target"), "party");
  assert_string_equal(ps(f, "target_party"), "syr-opposition");
  assert_string_equal(ps(f, "source"), "ACLED (SOHR)");
  assert_string_equal(ps(f, "source_id"), "acled:SYR1001");
  assert_int_equal(json_integer_value(prop(f, "fatalities")), 4);

  /* Shelling, geo_precision 2: actor1 the perpetrator. */
  f = feature(&r, "acled-SYR1002");
  assert_string_equal(ps(f, "sub_event_type"),
                      "Shelling/artillery/missile attack");
  assert_string_equal(ps(f, "location_precision"), "near");
  assert_string_equal(ps(f, "perpetrator"), "syr-gov");
  assert_string_equal(ps(f, "perpetrator_certainty"), "known");

  /* Air/drone strike, geo_precision 3: province. */
  f = feature(&r, "acled-SYR1005");
  assert_string_equal(ps(f, "sub_event_type"), "Air/drone strike");
  assert_string_equal(ps(f, "location_precision"), "province");
  assert_string_equal(ps(f, "perpetrator"), "tr");
  assert_list(f, "sides", 2, "tr", "is");
  assert_string_equal(ps(f, "target_party"), "is");

  /* An attack on civilians: "Civilians (Syria)" is neither a side nor an
   * unresolved name. */
  f = feature(&r, "acled-SYR1004");
  assert_string_equal(ps(f, "event_type"), "Violence against civilians");
  assert_string_equal(ps(f, "perpetrator"), "syr-gov");
  assert_list(f, "sides", 1, "syr-gov");
  assert_list(f, "actors", 2, "Government of Syria", "Civilians (Syria)");
  assert_string_equal(ps(f, "target"), "civilians");

  /* An unresolved actor2: one side, target unknown. */
  f = feature(&r, "acled-SYR1007");
  assert_list(f, "sides", 1, "jfs");
  assert_null(prop(f, "perpetrator"));
  assert_string_equal(ps(f, "target"), "unknown");
  assert_list(f, "actors", 2, "Jabhat Fateh al-Sham", "Shohadaa al-Yarmouk");

  /* Associated actors are in actors only, in column order. */
  f = feature(&r, "acled-SYR1008");
  assert_list(f, "sides", 2, "il", "syr-gov");
  assert_list(f, "actors", 3, "Government of Israel", "Government of Syria",
              "NDF (Syria)");
  hv_incsv_result_free(&r);
}

/* ---- malformed files ----------------------------------------------------- */

#define UCDP_HEADER                                                            \
  "id,type_of_violence,side_a,side_b,source_office,source_article,"            \
  "where_prec,latitude,longitude,event_clarity,date_start,date_end,best\n"
#define UCDP_GOOD                                                              \
  "214797,1,Government of Syria,Syrian insurgents,SOHR,\"two\nlines\",1,"      \
  "34.802462,36.707602,1,2016-01-01,2016-01-01,4\n"

static void test_malformed(void **state) {
  struct tu_scenario *c = *state;
  char dir[4096], path[4200];
  assert_int_equal(tu_scratch_dir(dir, sizeof dir, "incsv-bad"), 0);
  struct tu_snapshot before = tu_snap(c->db);

  /* Line 4: the row after a row on lines 2-3. */
  tu_path_in(path, sizeof path, dir, "lat.csv");
  tu_write_file(path, UCDP_HEADER UCDP_GOOD
                "214804,1,Government of Syria,Syrian insurgents,SOHR,,2,"
                "91.2,36.449962,1,2016-01-01,2016-01-01,2\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path,
                    "lat.csv: line 4: latitude: ", "\"91.2\" is not a latitude",
                    NULL);

  tu_path_in(path, sizeof path, dir, "nocol.csv");
  tu_write_file(path, "id,type_of_violence,side_a,side_b,where_prec,"
                      "latitude,longitude,event_clarity,date_start,best\n"
                      "1,1,a,b,1,34,36,1,2016-01-01,4\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path,
                    "nocol.csv: line 1: date_end: no such column", NULL);

  tu_path_in(path, sizeof path, dir, "date.csv");
  tu_write_file(path, UCDP_HEADER
                "214797,1,Government of Syria,Syrian insurgents,SOHR,,1,"
                "34.8,36.7,1,2016-02-30,2016-03-01,4\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path,
                    "date.csv: line 2: date_start: \"2016-02-30\" is not a "
                    "date",
                    NULL);

  tu_path_in(path, sizeof path, dir, "order.csv");
  tu_write_file(path, UCDP_HEADER
                "214797,1,Government of Syria,Syrian insurgents,SOHR,,1,"
                "34.8,36.7,1,2016-03-02,2016-03-01,4\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path,
                    "line 2: date_end: ", "before date_start", NULL);

  tu_path_in(path, sizeof path, dir, "prec.csv");
  tu_write_file(path, UCDP_HEADER UCDP_GOOD
                "214798,1,Government of Syria,Syrian insurgents,SOHR,,8,"
                "34.8,36.7,1,2016-01-01,2016-01-01,4\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path, "line 4: where_prec: \"8\"",
                    NULL);

  tu_path_in(path, sizeof path, dir, "best.csv");
  tu_write_file(path, UCDP_HEADER
                "214797,1,Government of Syria,Syrian insurgents,SOHR,,1,"
                "34.8,36.7,1,2016-01-01,2016-01-01,4.5\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path, "line 2: best: \"4.5\"", NULL);

  tu_path_in(path, sizeof path, dir, "short.csv");
  tu_write_file(path, UCDP_HEADER "214797,1,Government of Syria\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path, "short.csv: line 2: ",
                    "has 3 fields, the header names 13 columns", NULL);

  tu_path_in(path, sizeof path, dir, "acled.csv");
  tu_write_file(path, "event_id_cnty,event_date,event_type,actor1,actor2,"
                      "latitude,longitude,geo_precision,fatalities\n"
                      "SYR1,2016-01-01,Battles,IS,SDF,36,40,1,0\n"
                      "SYR2,2016-01-01,Airstrike,IS,SDF,36,40,1,0\n");
  assert_read_fails(c->db, HV_INCSV_ACLED, path,
                    "acled.csv: line 3: event_type: \"Airstrike\" is not an "
                    "ACLED event type",
                    NULL);

  tu_path_in(path, sizeof path, dir, "sa.csv");
  tu_write_file(path, "reference_code,published_utc,lat_dd,lon_dd,"
                      "violation_type\n"
                      "RU_1,14/03/2016,35,36,x\n");
  assert_read_fails(c->db, HV_INCSV_SYRIAN_ARCHIVE, path,
                    "sa.csv: line 2: published_utc: \"14/03/2016\"", NULL);

  tu_path_in(path, sizeof path, dir, "id.csv");
  tu_write_file(path, "reference_code,published_utc,lat_dd,lon_dd,"
                      "violation_type\n"
                      "RU 1,2016-03-14T17:37:31.000Z,35,36,x\n");
  assert_read_fails(c->db, HV_INCSV_SYRIAN_ARCHIVE, path,
                    "id.csv: line 2: reference_code: \"RU 1\"", NULL);

  tu_path_in(path, sizeof path, dir, "utf8.csv");
  tu_write_file(path, UCDP_HEADER
                "214797,1,Government of Syria,Syrian insurgents\xff,SOHR,,1,"
                "34.8,36.7,1,2016-01-01,2016-01-01,4\n");
  assert_read_fails(c->db, HV_INCSV_UCDP, path,
                    "utf8.csv: line 2: side_b: not UTF-8", NULL);

  struct hv_incsv_result r;
  struct hv_error err = {0};
  tu_path_in(path, sizeof path, dir, "absent.csv");
  assert_int_equal(hv_incsv_read(c->db, HV_INCSV_UCDP, path, NULL, &r, &err),
                   HV_EIO);
  assert_non_null(strstr(err.msg, "absent.csv"));

  /* A file the CSV reader accepts but the incident schema refuses (a
   * sub-event type that is not ACLED's): imported with a good file, it
   * fails the whole import, naming the file and feature; nothing changes. */
  char good[4200];
  snprintf(good, sizeof good, "%s/tests/data/acled_sample.csv",
           tu_env_or("HAVEN_SOURCE_DIR", "."));
  tu_path_in(path, sizeof path, dir, "sub.csv");
  tu_write_file(path, "event_id_cnty,event_date,event_type,sub_event_type,"
                      "actor1,actor2,latitude,longitude,geo_precision,"
                      "fatalities\n"
                      "SYR77,2016-01-01,Battles,Dogfight,IS,SDF,36,40,1,0\n");
  struct hv_incsv_result res[2];
  read_ok(c->db, HV_INCSV_ACLED, good, NULL, 0, &res[0]);
  read_ok(c->db, HV_INCSV_ACLED, path, NULL, 0, &res[1]);
  json_t *docs[2] = {res[0].features, res[1].features};
  const char *names[2] = {good, path};
  struct hv_import_stats st;
  assert_int_not_equal(hv_db_import_docs(c->db, HV_COORDINATOR, docs, names, 2,
                                         NULL, NULL, &st, &err),
                       HV_OK);
  assert_non_null(strstr(err.msg, "sub.csv"));
  assert_non_null(strstr(err.msg, "sub_event_type"));
  hv_incsv_result_free(&res[0]);
  hv_incsv_result_free(&res[1]);
  tu_assert_unchanged(c->db, &before, "a refused incident import");
  assert_int_equal(hv_db_count(c->db, HV_INCIDENT), 0);
  tu_rm_tree(dir);
}

/* ---- imports ------------------------------------------------------------- */

/* The whole UCDP file, the Syrian Archive file and the ACLED fixture, in
 * one import: every row with a location becomes an incident. */
static void test_import_all(void **state) {
  struct tu_scenario *c = *state;
  char p[3][4200];
  conflict_file(p[0], sizeof p[0], UCDP_FILE);
  conflict_file(p[1], sizeof p[1], SA_FILE);
  snprintf(p[2], sizeof p[2], "%s/tests/data/acled_sample.csv",
           tu_env_or("HAVEN_SOURCE_DIR", "."));
  static const enum hv_incsv_format fmts[3] = {
      HV_INCSV_UCDP, HV_INCSV_SYRIAN_ARCHIVE, HV_INCSV_ACLED};
  struct hv_incsv_result r[3];
  json_t *docs[3];
  const char *names[3];
  for (int i = 0; i < 3; i++) {
    read_ok(c->db, fmts[i], p[i], "+02:00", 0, &r[i]);
    docs[i] = r[i].features;
    names[i] = p[i];
  }
  struct hv_import_stats st;
  struct hv_error err = {0};
  int rc = hv_db_import_docs(c->db, HV_COORDINATOR, docs, names, 3, NULL, NULL,
                             &st, &err);
  if (rc != HV_OK)
    fail_msg("import: %s (%s)", err.msg, hv_err_name(rc));
  assert_int_equal(st.created, 10979 + 1557 + 8);
  assert_int_equal(st.by_kind[HV_INCIDENT], 10979 + 1557 + 8);
  assert_int_equal(hv_db_count(c->db, HV_INCIDENT), 10979 + 1557 + 8);
  const struct hv_object *o = hv_db_get(c->db, HV_INCIDENT, "ucdp-214797");
  assert_non_null(o);
  /* 2016-01-01T00:00:00+02:00 = 2015-12-31T22:00:00Z. */
  assert_int_equal(o->u.incident.t_ms, 1451599200000LL);
  assert_int_equal(o->u.incident.t_end_ms, 1451599200000LL + 86400000LL);

  /* The same files again: nothing changes. */
  rc = hv_db_import_docs(c->db, HV_COORDINATOR, docs, names, 3, NULL, NULL, &st,
                         &err);
  assert_int_equal(rc, HV_OK);
  assert_int_equal(st.created + st.updated, 0);
  assert_int_equal(st.unchanged, 10979 + 1557 + 8);
  for (int i = 0; i < 3; i++)
    hv_incsv_result_free(&r[i]);
  tu_verify(c->db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_names),
      cmocka_unit_test(test_ucdp_rows),
      cmocka_unit_test(test_ucdp_offset),
      cmocka_unit_test(test_syrian_archive_rows),
      cmocka_unit_test(test_syrian_archive_no_party),
      cmocka_unit_test(test_acled_rows),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_import_all),
  };
  return cmocka_run_group_tests(tests, tu_scenario_setup, tu_scenario_teardown);
}
