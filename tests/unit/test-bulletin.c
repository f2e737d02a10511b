/*
 * test-bulletin.c — the bulletin of the 2016 cessation of hostilities for
 * 2 March 2016 (previous period: 1 March), over incidents transcribed from
 * real UCDP GED rows of those two days (ids in the names, coordinates and
 * deaths as UCDP gives them) plus three modelled on the cases of
 * test-adjudicate.c (a Russian air strike, an NDF attack, a protest).
 * Totals are counted by hand from the rows below; the sums of
 * docs/bulletin.md are checked on both periods; the renderers are parsed
 * back.
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

#include "testutil.h"

struct ctx {
  char run[512];
  struct hv_db *db;
};

static const struct hv_principal COORD = {.party = "coordinator",
                                          .role = HV_ROLE_COORDINATOR};
static const struct hv_principal GOV = {.party = "syr-gov",
                                        .role = HV_ROLE_PARTY};

/* ---- the incidents ------------------------------------------------------ */

struct inc {
  const char *id;
  double lon, lat;
  const char *props;
};

#define CLASH(day, deaths)                                                     \
  "'time':'2016-03-0" day "','event_type':'Battles','sub_event_type':"         \
  "'Armed clash','sides':['syr-gov','syr-opposition'],'target':'party',"       \
  "'fatalities':" deaths

/* 1 March 2016 (the previous period). Government of Syria vs Syrian
 * insurgents: unattributed violations, involved syr-gov (guarantor ru,
 * its sponsor) and syr-opposition (no guarantor): 6, in Daraa (sy12),
 * Idlib (sy07) x2, Homs (sy04), Hama (sy05) x2. Government of Syria vs IS
 * east of Homs (UCDP 218192): IS is excluded. */
static const struct inc DAY1[] = {
    {"ucdp-216745", 36.21667, 32.85, CLASH("1", "0")},
    {"ucdp-216746", 36.225, 35.841111, CLASH("1", "6")},
    {"ucdp-216748", 36.62967, 35.8755, CLASH("1", "2")},
    {"ucdp-216749", 36.776743, 34.894975, CLASH("1", "1")},
    {"ucdp-216811", 36.99972, 34.88242, CLASH("1", "1")},
    {"ucdp-218190", 36.62287, 34.93757, CLASH("1", "11")},
    {"ucdp-218192", 37.321413, 34.834507,
     "'time':'2016-03-01','event_type':'Battles','sides':['syr-gov','is'],"
     "'target':'party','fatalities':4"},
};

/* 2 March 2016 (the period). Five government-insurgent clashes: Latakia
 * (sy06) x2, Idlib x2, Hama; UCDP 218211, Syrian insurgents against
 * civilians in Idlib: attributed to syr-opposition (no guarantor); UCDP
 * 216822, Iraq vs IS in Ar-Raqqa, delineated to IS: excluded; a Russian
 * air strike on civilians in Idlib (attributed ru, guarantor ru itself);
 * an NDF attack on civilians in Homs (attributed ndf, guarantor ru two
 * steps up); a protest in Daraa (no forbidden act: outside). */
static const struct inc DAY2[] = {
    {"ucdp-216707", 36.2, 35.65, CLASH("2", "2")},
    {"ucdp-216708", 36.62967, 35.8755, CLASH("2", "2")},
    {"ucdp-216752", 36.92755, 35.5985, CLASH("2", "0")},
    {"ucdp-216753", 36.23272, 35.71743, CLASH("2", "7")},
    {"ucdp-218215", 36.62287, 34.93757, CLASH("2", "10")},
    {"ucdp-218211", 36.51522, 36.1168,
     "'time':'2016-03-02','event_type':'Violence against civilians',"
     "'sub_event_type':'Attack','perpetrator':'syr-opposition',"
     "'perpetrator_certainty':'known','target':'civilians','fatalities':2"},
    {"ucdp-216822", 39.007879, 35.952829,
     "'time':'2016-03-02','event_type':'Battles','sides':['iq','is'],"
     "'fatalities':3"},
    {"ru-idlib-0302", 36.63, 35.93,
     "'time':'2016-03-02T10:00:00Z','event_type':'Explosions/Remote "
     "violence','sub_event_type':'Air/drone strike','perpetrator':'ru',"
     "'perpetrator_certainty':'suspected','sides':['ru'],'target':"
     "'civilians'"},
    {"ndf-homs-0302", 36.72, 34.73,
     "'time':'2016-03-02T14:00:00Z','event_type':'Violence against "
     "civilians','sub_event_type':'Attack','perpetrator':'ndf',"
     "'perpetrator_certainty':'known','target':'civilians'"},
    {"protest-daraa-0302", 36.1, 32.62,
     "'time':'2016-03-02','event_type':'Protests','sub_event_type':"
     "'Peaceful protest','sides':['syr-opposition']"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* By hand, from the tables above. */
#define CUR_VIOLATIONS 8 /* 5 clashes, 218211, ru, ndf */
#define CUR_EXCLUDED 1   /* 216822 */
#define CUR_OUTSIDE 1    /* the protest */
#define CUR_UNATTRIBUTED 5
#define PREV_VIOLATIONS 6 /* 6 clashes */
#define PREV_EXCLUDED 1   /* 218192 */

static void put_incident(struct ctx *c, const struct inc *in) {
  char text[2048];
  snprintf(text, sizeof text,
           "{'type':'Feature','id':'%s','geometry':{'type':'Point',"
           "'coordinates':[%.6f,%.6f]},'properties':{'object':'incident',%s}}",
           in->id, in->lon, in->lat, in->props);
  json_t *doc = tu_js(text);
  struct hv_error err = {0};
  int rc = hv_db_put(c->db, "coordinator", HV_INCIDENT, doc, HV_PUT_CREATE, 0,
                     NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put %s: %s: %s", in->id, hv_err_name(rc), err.msg);
}

/* A blind hospital 60 m from UCDP 216708 (and 216748, the day before),
 * known to the coordinator and OCHA only. */
static void put_blind_site(struct ctx *c) {
  struct hv_error err = {0};
  json_t *site = tu_js(
      "{'type':'Feature','id':'hosp-blind','geometry':{'type':'Point',"
      "'coordinates':[36.6303,35.8757]},'properties':{'object':'site',"
      "'name':'Blind field hospital','category':'hospital','radius_m':300,"
      "'notified_by':'ocha','notified_at':'2016-01-15','disclosure':"
      "'blind'}}");
  int rc =
      hv_db_put(c->db, "ocha", HV_SITE, site, HV_PUT_CREATE, 0, NULL, &err);
  json_decref(site);
  if (rc != HV_OK)
    fail_msg("put hosp-blind: %s: %s", hv_err_name(rc), err.msg);
}

static int group_teardown(void **state) {
  struct ctx *c = *state;
  if (c)
    tu_scenario_close(c->run, c->db);
  free(c);
  *state = NULL;
  return 0;
}

static int group_setup(void **state) {
  struct ctx *c = calloc(1, sizeof *c);
  if (c == NULL)
    return -1;
  *state = c;
  if (tu_scenario_open(c->run, sizeof c->run, "bulletin", 0, &c->db) != 0)
    goto fail;
  put_blind_site(c);
  for (size_t i = 0; i < N_OF(DAY1); i++)
    put_incident(c, &DAY1[i]);
  for (size_t i = 0; i < N_OF(DAY2); i++)
    put_incident(c, &DAY2[i]);
  struct hv_error err = {0};
  struct hv_adjudicate_stats st;
  if (hv_db_adjudicate(c->db, "coordinator", NULL, 0, &st, &err) != HV_OK) {
    fprintf(stderr, "adjudicate: %s\n", err.msg);
    goto fail;
  }
  /* Russia disputes its strike (an open review); the coordinator confirms
   * the NDF attack (assessed: not open). */
  struct hv_principal ru = {.party = "ru", .role = HV_ROLE_PARTY};
  struct hv_review r;
  struct hv_review_input in = {.step = HV_STEP_DISPUTE,
                               .text = "no sorties over Idlib that day"};
  if (hv_db_review(c->db, &ru, "ru-idlib-0302", "coh-2016", &in, &r, &err) !=
      HV_OK)
    goto fail;
  in = (struct hv_review_input){.step = HV_STEP_ASSESS,
                                .text = "witnesses and photographs",
                                .outcome = HV_REVIEW_CONFIRMED};
  if (hv_db_review(c->db, &COORD, "ndf-homs-0302", "coh-2016", &in, &r, &err) !=
      HV_OK)
    goto fail;
  return 0;
fail:
  fprintf(stderr, "setup: %s\n", err.msg);
  group_teardown(state);
  return -1;
}

/* ---- helpers ------------------------------------------------------------ */

static int64_t day(const char *date) {
  int64_t t = 0;
  assert_int_equal(hv_time_parse(date, &t), HV_OK);
  return t;
}

/* The coh-2016 bulletin for 2 March 2016 as who sees it (caller decrefs). */
static json_t *bulletin(struct ctx *c, const struct hv_principal *who) {
  struct hv_bulletin_opts o = {.agreement = "coh-2016",
                               .from_ms = day("2016-03-02")};
  struct hv_error err = {0};
  json_t *b = NULL;
  int rc = hv_db_bulletin(c->db, who, &o, &b, &err);
  if (rc != HV_OK)
    fail_msg("hv_db_bulletin: %s: %s", hv_err_name(rc), err.msg);
  return b;
}

static long long num(const json_t *o, const char *path1, const char *path2) {
  const json_t *x = json_object_get(o, path1);
  if (path2)
    x = json_object_get(x, path2);
  assert_true(json_is_integer(x));
  return (long long)json_integer_value(x);
}

static long long total(const json_t *b, const char *cls, const char *when) {
  return num(json_object_get(b, "totals"), cls, when);
}

/* The sum of member when (current / previous) over a table. */
static long long table_sum(const json_t *b, const char *table,
                           const char *when) {
  long long s = 0;
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(b, table), i, e) s += num(e, when, NULL);
  return s;
}

static const json_t *entry(const json_t *b, const char *table, const char *id) {
  size_t i;
  const json_t *e;
  json_array_foreach(json_object_get(b, table), i, e) {
    if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
      return e;
  }
  return NULL;
}

/* ---- the counts ---------------------------------------------------------- */

static void test_totals(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(b, "agreement"), "id")),
      "coh-2016");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(b, "period"), "to")),
      "2016-03-03T00:00:00Z");
  assert_string_equal(json_string_value(json_object_get(
                          json_object_get(b, "previous_period"), "from")),
                      "2016-03-01T00:00:00Z");
  assert_int_equal(num(b, "basis", NULL), hv_db_head_seq(c->db));
  assert_int_equal(total(b, "violations", "current"), CUR_VIOLATIONS);
  assert_int_equal(total(b, "violations", "previous"), PREV_VIOLATIONS);
  assert_int_equal(total(b, "excluded", "current"), CUR_EXCLUDED);
  assert_int_equal(total(b, "excluded", "previous"), PREV_EXCLUDED);
  assert_int_equal(total(b, "outside", "current"), CUR_OUTSIDE);
  assert_int_equal(total(b, "uncertain", "current"), 0);
  assert_int_equal(total(b, "unattributed", "current"), CUR_UNATTRIBUTED);
  const char *const classes[] = {"violations", "uncertain",    "excluded",
                                 "outside",    "unattributed", "shared"};
  for (size_t k = 0; k < N_OF(classes); k++)
    assert_int_equal(total(b, classes[k], "change"),
                     total(b, classes[k], "current") -
                         total(b, classes[k], "previous"));
  json_decref(b);
}

/* The sums of docs/bulletin.md, on both periods. */
static void test_sums(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  const char *const when[] = {"current", "previous"};
  for (int p = 0; p < 2; p++) {
    long long v = total(b, "violations", when[p]);
    assert_int_equal(table_sum(b, "by_governorate", when[p]), v);
    assert_int_equal(table_sum(b, "by_party", when[p]), v);
    assert_int_equal(table_sum(b, "by_guarantor", when[p]),
                     v + total(b, "shared", when[p]));
    assert_true(table_sum(b, "by_zone", when[p]) >= v);
    /* The unattributed row is the unattributed total; each one is under
     * the guarantors' "unattributed" once or twice (shared). */
    assert_int_equal(num(entry(b, "by_party", "unattributed"), when[p], NULL),
                     total(b, "unattributed", when[p]));
    long long gu = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(b, "by_guarantor"), i, e) gu +=
        num(e, "unattributed", when[p]);
    assert_int_equal(gu, total(b, "unattributed", when[p]) +
                             total(b, "shared", when[p]));
  }
  /* By hand: every unattributed clash is syr-gov (ru) against
   * syr-opposition (none): all shared. */
  assert_int_equal(total(b, "shared", "current"), CUR_UNATTRIBUTED);
  assert_int_equal(num(entry(b, "by_governorate", "sy07"), "current", NULL),
                   4); /* 216708, 216752, 218211, ru */
  assert_int_equal(num(entry(b, "by_governorate", "sy07"), "previous", NULL),
                   2);
  assert_int_equal(num(entry(b, "by_governorate", "sy07"), "change", NULL), 2);
  assert_string_equal(json_string_value(json_object_get(
                          entry(b, "by_governorate", "sy07"), "name")),
                      hv_db_get(c->db, HV_AREA, "sy07")->name);
  /* Sorted by current descending: Idlib first. */
  assert_string_equal(
      json_string_value(json_object_get(
          json_array_get(json_object_get(b, "by_governorate"), 0), "id")),
      "sy07");
  /* No zone was in force in March 2016. */
  assert_int_equal(num(entry(b, "by_zone", "none"), "current", NULL),
                   CUR_VIOLATIONS);
  json_decref(b);
}

static void test_party_and_guarantor(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  const json_t *ru = entry(b, "by_party", "ru");
  assert_non_null(ru);
  assert_int_equal(num(ru, "current", NULL), 1);
  assert_int_equal(num(ru, "previous", NULL), 0);
  assert_int_equal(num(entry(b, "by_party", "ndf"), "current", NULL), 1);
  assert_int_equal(num(entry(b, "by_party", "syr-opposition"), "current", NULL),
                   1);
  /* syr-gov perpetrated nothing attributed, but was a side of every
   * unattributed clash. */
  const json_t *gov = entry(b, "by_party", "syr-gov");
  assert_int_equal(num(gov, "current", NULL), 0);
  assert_int_equal(num(gov, "involved", "current"), CUR_UNATTRIBUTED);
  assert_int_equal(num(gov, "involved", "previous"), PREV_VIOLATIONS);
  /* Guarantor ru answers for its own strike, the NDF's, and syr-gov's side
   * of each clash; "none" for syr-opposition's. */
  const json_t *g = entry(b, "by_guarantor", "ru");
  assert_int_equal(num(g, "current", NULL), 2 + CUR_UNATTRIBUTED);
  assert_int_equal(num(g, "unattributed", "current"), CUR_UNATTRIBUTED);
  assert_int_equal(num(g, "previous", NULL), PREV_VIOLATIONS);
  g = entry(b, "by_guarantor", "none");
  assert_int_equal(num(g, "current", NULL), 1 + CUR_UNATTRIBUTED);
  assert_string_equal(json_string_value(json_object_get(g, "name")),
                      "no guarantor");
  /* The excluded clash (Iraq vs IS) counts under no party. */
  assert_null(entry(b, "by_party", "iq"));
  assert_null(entry(b, "by_party", "is"));
  assert_null(entry(b, "by_governorate", "sy11"));
  json_decref(b);
}

static void test_trend(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  const json_t *tr = json_object_get(b, "trend");
  assert_int_equal(json_array_size(tr), HV_BULLETIN_TREND_DEFAULT);
  const json_t *last = json_array_get(tr, json_array_size(tr) - 1);
  const json_t *prev = json_array_get(tr, json_array_size(tr) - 2);
  assert_string_equal(json_string_value(json_object_get(last, "from")),
                      "2016-03-02T00:00:00Z");
  assert_int_equal(num(last, "violations", NULL),
                   total(b, "violations", "current"));
  assert_int_equal(num(last, "uncertain", NULL),
                   total(b, "uncertain", "current"));
  assert_int_equal(num(prev, "violations", NULL),
                   total(b, "violations", "previous"));
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(tr, 0), "from")),
      "2016-02-02T00:00:00Z");
  json_decref(b);
}

/* ---- need-to-know and reviews ------------------------------------------- */

static const json_t *hit_of(const json_t *b, const char *incident) {
  size_t i;
  const json_t *h;
  json_array_foreach(json_object_get(b, "site_hits"), i, h) {
    if (strcmp(json_string_value(json_object_get(h, "incident")), incident) ==
        0)
      return h;
  }
  return NULL;
}

static void test_site_hits_need_to_know(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  const json_t *h = hit_of(b, "ucdp-216708");
  assert_non_null(h);
  assert_string_equal(json_string_value(json_object_get(h, "site")),
                      "hosp-blind");
  assert_string_equal(json_string_value(json_object_get(h, "category")),
                      "hospital");
  assert_string_equal(json_string_value(json_object_get(h, "t")),
                      "2016-03-02T00:00:00Z");
  assert_string_equal(json_string_value(json_object_get(h, "class")),
                      "violation");
  assert_non_null(json_object_get(h, "acks"));
  /* The day before is not in the period. */
  assert_null(hit_of(b, "ucdp-216748"));
  json_decref(b);
  b = bulletin(c, &GOV);
  h = hit_of(b, "ucdp-216708");
  assert_non_null(h);
  assert_true(json_is_null(json_object_get(h, "site")));
  assert_string_equal(json_string_value(json_object_get(h, "category")),
                      "hospital");
  assert_null(json_object_get(h, "distance_m"));
  assert_non_null(json_object_get(h, "distance_band"));
  /* The counts are the same for everyone. */
  assert_int_equal(total(b, "violations", "current"), CUR_VIOLATIONS);
  json_decref(b);
}

static void test_open_reviews(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  const json_t *rv = json_object_get(b, "open_reviews");
  assert_int_equal(json_array_size(rv), 1);
  const json_t *r = json_array_get(rv, 0);
  assert_string_equal(json_string_value(json_object_get(r, "incident")),
                      "ru-idlib-0302");
  assert_string_equal(json_string_value(json_object_get(r, "state")),
                      "contested");
  assert_true(json_is_true(json_object_get(r, "open")));
  json_decref(b);
}

/* Astana in April 2018: the zone-scoped agreement's four areas, each with
 * a status; UCDP 257896 (Idlib, 2018-04-11) is a violation in
 * astana-idlib. */
static void test_zone_status(void **state) {
  struct ctx *c = *state;
  struct inc in = {"ucdp-257896", 36.539818, 35.50016,
                   "'time':'2018-04-11','event_type':'Battles','sides':"
                   "['syr-gov','syr-opposition'],'fatalities':3"};
  put_incident(c, &in);
  struct hv_error err = {0};
  const char *ids[] = {"ucdp-257896"};
  assert_int_equal(hv_db_adjudicate(c->db, "coordinator", ids, 1, NULL, &err),
                   HV_OK);
  struct hv_bulletin_opts o = {.agreement = "astana-2017",
                               .from_ms = day("2018-04-11"),
                               .trend_periods = 7};
  json_t *b = NULL;
  assert_int_equal(hv_db_bulletin(c->db, &GOV, &o, &b, &err), HV_OK);
  const json_t *zs = json_object_get(b, "zone_status");
  const struct hv_object *ag = hv_db_get(c->db, HV_AGREEMENT, "astana-2017");
  size_t n_scope = 0;
  for (hv_ids s = ag->u.agreement.scope; *s; s++)
    n_scope++;
  assert_int_equal(json_array_size(zs), n_scope);
  size_t i;
  const json_t *z;
  int seen = 0;
  json_array_foreach(zs, i, z) {
    assert_non_null(json_string_value(json_object_get(z, "status")));
    if (strcmp(json_string_value(json_object_get(z, "zone")), "astana-idlib") ==
        0) {
      assert_int_equal(num(z, "violations", NULL), 1);
      assert_string_equal(json_string_value(json_object_get(z, "status")),
                          "strained");
      seen = 1;
    }
  }
  assert_true(seen);
  assert_int_equal(num(entry(b, "by_zone", "astana-idlib"), "current", NULL),
                   1);
  assert_int_equal(json_array_size(json_object_get(b, "trend")), 7);
  json_decref(b);
}

static void test_bad_options(void **state) {
  struct ctx *c = *state;
  struct hv_error err = {0};
  json_t *b = NULL;
  struct hv_bulletin_opts o = {0};
  assert_int_equal(hv_db_bulletin(c->db, &COORD, &o, &b, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "agreement"));
  o.agreement = "no-such";
  assert_int_equal(hv_db_bulletin(c->db, &COORD, &o, &b, &err), HV_ENOTFOUND);
  assert_non_null(strstr(err.msg, "no-such"));
  o.agreement = "coh-2016";
  o.from_ms = day("2016-03-02");
  o.to_ms = day("2016-03-01");
  assert_int_equal(hv_db_bulletin(c->db, &COORD, &o, &b, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "to:"));
  o.to_ms = 0;
  o.trend_periods = HV_BULLETIN_TREND_MAX + 1;
  assert_int_equal(hv_db_bulletin(c->db, &COORD, &o, &b, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "trend_periods"));
  assert_null(b);
}

/* ---- the renderers ------------------------------------------------------- */

static char *render(const json_t *b, enum hv_bulletin_format fmt) {
  char *s = NULL;
  size_t n = 0;
  assert_int_equal(hv_bulletin_render(b, fmt, &s, &n), HV_OK);
  assert_int_equal(strlen(s), n);
  return s;
}

/* Parses one RFC 4180 record starting at *p; returns its field count and
 * moves *p past its CRLF; the first field into first (size 64). */
static int csv_record(const char **p, char *first) {
  const char *s = *p;
  int fields = 0;
  size_t k = 0;
  first[0] = '\0';
  for (;;) {
    fields++;
    if (*s == '"') {
      for (s++; !(*s == '"' && s[1] != '"'); s++) {
        assert_true(*s != '\0');
        if (*s == '"')
          s++;
        if (fields == 1 && k < 63)
          first[k++] = *s;
      }
      s++;
    } else {
      for (; *s && *s != ',' && *s != '\r'; s++)
        if (fields == 1 && k < 63)
          first[k++] = *s;
    }
    first[k] = fields == 1 ? '\0' : first[k];
    if (*s == ',') {
      s++;
      continue;
    }
    assert_true(s[0] == '\r' && s[1] == '\n');
    *p = s + 2;
    return fields;
  }
}

static void test_csv(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  char *csv = render(b, HV_BULLETIN_CSV);
  size_t rows = json_object_size(json_object_get(b, "totals"));
  const char *const tables[] = {"by_party", "by_guarantor", "by_zone",
                                "by_governorate"};
  for (size_t i = 0; i < N_OF(tables); i++)
    rows += json_array_size(json_object_get(b, tables[i]));
  const char *p = csv;
  char first[64];
  assert_int_equal(csv_record(&p, first), 6);
  assert_string_equal(first, "section");
  size_t n = 0, n_gov = 0;
  while (*p) {
    assert_int_equal(csv_record(&p, first), 6);
    n_gov += strcmp(first, "by_governorate") == 0;
    n++;
  }
  assert_int_equal(n, rows);
  assert_int_equal(n_gov,
                   json_array_size(json_object_get(b, "by_governorate")));
  assert_non_null(strstr(csv, "totals,violations,violations,8,6,2\r\n"));
  free(csv);
  /* A name with a comma and quotes is quoted, its quotes doubled, and
   * parses back as one field. */
  json_object_set_new(json_array_get(json_object_get(b, "by_party"), 0), "name",
                      json_string("a, \"b\"\r\nc"));
  csv = render(b, HV_BULLETIN_CSV);
  assert_non_null(strstr(csv, ",\"a, \"\"b\"\"\r\nc\","));
  p = csv;
  n = 0;
  while (*p) {
    assert_int_equal(csv_record(&p, first), 6);
    n++;
  }
  assert_int_equal(n, rows + 1);
  free(csv);
  json_decref(b);
}

static size_t count_of(const char *s, const char *what) {
  size_t n = 0;
  for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
    n++;
  return n;
}

static void test_svg(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &COORD);
  char *svg = render(b, HV_BULLETIN_SVG);
  if (getenv("HAVEN_TEST_SVG")) /* a path: keep the chart to look at */
    tu_write_file(getenv("HAVEN_TEST_SVG"), svg);
  assert_true(strncmp(svg, "<svg", 4) == 0);
  assert_non_null(strstr(svg, "coh-2016"));
  assert_non_null(strstr(svg, ">2016-03-02</text>")); /* the last label */
  /* One rect per period with violations, one per period with uncertain,
   * nothing else. */
  size_t want = 0, i;
  const json_t *e;
  json_array_foreach(json_object_get(b, "trend"), i, e) want +=
      (num(e, "violations", NULL) > 0) + (num(e, "uncertain", NULL) > 0);
  assert_int_equal(want, 2);
  assert_int_equal(count_of(svg, "<rect"), want);
  assert_int_equal(count_of(svg, "<rect class=\"v\""), 2);
  assert_non_null(strstr(svg, "</svg>\n"));
  free(svg);
  /* Text is escaped. */
  json_object_set_new(json_object_get(b, "agreement"), "id",
                      json_string("a<b&\"c\""));
  svg = render(b, HV_BULLETIN_SVG);
  assert_non_null(strstr(svg, "a&lt;b&amp;&quot;c&quot;"));
  assert_null(strstr(svg, "a<b"));
  free(svg);
  json_decref(b);
}

static void test_text(void **state) {
  struct ctx *c = *state;
  json_t *b = bulletin(c, &GOV);
  char *t = render(b, HV_BULLETIN_TEXT);
  if (getenv("HAVEN_TEST_VERBOSE"))
    fputs(t, stderr);
  assert_non_null(strstr(t, "CEASEFIRE BULLETIN  coh-2016"));
  assert_non_null(strstr(t, "  violations          8         6      +2\n"));
  assert_non_null(strstr(t, "Violations by governorate"));
  assert_non_null(strstr(t, "(site withheld)"));
  assert_null(strstr(t, "hosp-blind"));
  free(t);
  json_t *one = json_integer(1);
  assert_int_equal(hv_bulletin_text(one, stdout), HV_EINVAL);
  json_decref(one);
  json_decref(b);
}

/* A violation assessed unverifiable is set aside: out of the violations,
 * the tables and the trend, into totals.set_aside; the sums still hold.
 * (Runs last: it changes the review of ru's strike.) */
static void test_set_aside(void **state) {
  struct ctx *c = *state;
  struct hv_review_input in = {.step = HV_STEP_ASSESS,
                               .text = "no corroboration",
                               .outcome = HV_REVIEW_UNVERIFIABLE};
  struct hv_review r;
  struct hv_error err = {0};
  assert_int_equal(hv_db_review(c->db, &COORD, "ru-idlib-0302", "coh-2016",
                                &in, &r, &err),
                   HV_OK);
  json_t *b = bulletin(c, &COORD);
  assert_int_equal(total(b, "violations", "current"), CUR_VIOLATIONS - 1);
  assert_int_equal(total(b, "set_aside", "current"), 1);
  assert_null(entry(b, "by_party", "ru"));
  long long v = total(b, "violations", "current");
  assert_int_equal(table_sum(b, "by_governorate", "current"), v);
  assert_int_equal(table_sum(b, "by_party", "current"), v);
  const json_t *last = json_array_get(json_object_get(b, "trend"),
                                      json_array_size(json_object_get(b, "trend")) - 1);
  assert_int_equal(num(last, "violations", NULL), v);
  json_decref(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_totals),
      cmocka_unit_test(test_sums),
      cmocka_unit_test(test_party_and_guarantor),
      cmocka_unit_test(test_trend),
      cmocka_unit_test(test_site_hits_need_to_know),
      cmocka_unit_test(test_open_reviews),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_svg),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_zone_status),
      cmocka_unit_test(test_set_aside),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
