/*
 * test-findings.c — findings kept in the record (hv_db_record_findings):
 * ledger-only entries written in one transaction through the one write
 * path, ignored by the projection check of hv_ledger_verify, surviving a
 * reopen, and read through the need-to-know rule (hv_visibility with
 * HV_FINDING): the coordinator sees all; a party sees findings about its
 * own assets (party or other_party) and about zones/corridors it
 * guarantees or sites it notified; others get the entry without its body.
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

#define T0 1533099600000LL

static struct hv_finding make(enum hv_finding_kind k, const char *asset,
                              const char *party, enum hv_kind ok,
                              const char *obj) {
  struct hv_finding f;
  memset(&f, 0, sizeof f);
  f.kind = k;
  f.t_ms = T0;
  snprintf(f.asset, sizeof f.asset, "%s", asset);
  snprintf(f.party, sizeof f.party, "%s", party);
  f.cls = HV_ASSET_FIXED_WING;
  f.lon = 36.6;
  f.lat = 35.9;
  f.alt_m = 3000;
  f.obj_kind = ok;
  if (obj)
    snprintf(f.obj_id, sizeof f.obj_id, "%s", obj);
  snprintf(f.reason, sizeof f.reason, "test finding");
  return f;
}

/* Four findings: a no-fly violation in idlib-dez (guarantors tr, ru) by
 * syr-gov; a separation conflict syr-gov / us; an armed "is" asset near
 * hosp-1 (notified by un-ocha); fsa in corridor cor-1 (guarantor tr). */
static void four(struct hv_findings *f) {
  static struct hv_finding v[4];
  v[0] = make(HV_FIND_NO_FLY_VIOLATION, "jet-1", "syr-gov", HV_ZONE,
              "idlib-dez");
  v[1] = make(HV_FIND_SEPARATION_CONFLICT, "jet-1", "syr-gov", HV_ZONE, NULL);
  snprintf(v[1].other_asset, sizeof v[1].other_asset, "%s", "f16-1");
  snprintf(v[1].other_party, sizeof v[1].other_party, "%s", "us");
  v[1].t_cpa_s = 42;
  v[1].d_cpa_m = 900;
  v[1].dalt_cpa_m = 100;
  v[2] = make(HV_FIND_SITE_PROXIMITY, "tech-1", "is", HV_SITE, "hosp-1");
  v[2].cls = HV_ASSET_GROUND_ARMED;
  v[2].distance_m = 120;
  v[3] = make(HV_FIND_CORRIDOR_INCURSION, "truck-1", "fsa", HV_CORRIDOR,
              "cor-1");
  v[3].cls = HV_ASSET_GROUND_ARMED;
  f->v = v;
  f->n = 4;
  f->cap = 0; /* static: never freed */
}

struct seen {
  struct hv_principal who;
  int64_t from;
  int full[8]; /* by index from `from` */
  size_t n;
};

static int view_cb(const struct hv_ledger_entry *e, void *ud) {
  struct seen *s = ud;
  json_t *j = hv_ledger_entry_view_json(&s->who, e);
  assert_non_null(j);
  assert_non_null(json_object_get(j, "body_hash"));
  if (s->n < 8)
    s->full[s->n] = json_object_get(j, "body") != NULL;
  s->n++;
  json_decref(j);
  return 0;
}

static void test_record_and_verify(void **state) {
  struct tu_store *st = *state;
  struct hv_db *db = st->db;
  struct tu_snapshot before = tu_snap(db);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  int64_t first = -1;

  /* Nothing to record: nothing written. */
  assert_int_equal(hv_db_record_findings(db, "syr-gov", &f, &first, &err),
                   HV_OK);
  assert_int_equal(first, 0);
  tu_assert_unchanged(db, &before, "an empty batch");

  /* An unknown author: refused, nothing written. */
  four(&f);
  assert_int_equal(hv_db_record_findings(db, "nobody", &f, &first, &err),
                   HV_EREF);
  tu_assert_unchanged(db, &before, "an unknown author");

  assert_int_equal(hv_db_record_findings(db, "syr-gov", &f, &first, &err),
                   HV_OK);
  assert_int_equal(first, before.entries + 1);
  assert_int_equal(hv_db_head_seq(db), before.entries + 4);
  struct tu_ledger_info li = tu_ledger(db);
  assert_int_equal(li.n, before.entries + 4);
  assert_string_equal(li.last_op, "finding");
  assert_string_equal(li.last_kind, "finding");
  char want[32];
  snprintf(want, sizeof want, "%lld", (long long)li.last_seq);
  assert_string_equal(li.last_id, want);
  assert_string_equal(li.last_author, "syr-gov");
  /* No object rows: the registry is as it was. */
  for (int k = 0; k < HV_KIND_COUNT; k++)
    assert_int_equal(hv_db_count(db, (enum hv_kind)k), before.count[k]);
  struct hv_verify_report rep = tu_verify(db);
  assert_int_equal(rep.entries, before.entries + 4);

  /* Ordinary writes chain on after them and still verify. */
  assert_int_equal(hv_db_zone_set_phase(db, HV_COORDINATOR, "idlib-dez",
                                        HV_PHASE_SUSPENDED, T0, "test", 0,
                                        &err),
                   HV_OK);
  tu_verify(db);

  /* Survives a reopen. */
  hv_db_close(db);
  st->db = NULL;
  assert_int_equal(hv_db_open(st->dir, &st->db, &err), HV_OK);
  assert_int_equal(hv_db_head_seq(st->db), before.entries + 5);
  tu_verify(st->db);
}

static void test_one_transaction(void **state) {
  struct tu_store *st = *state;
  struct hv_findings f = {0};
  struct hv_error err = {0};
  four(&f);
  /* Every entry of a batch has one time (one commit); a batch of 500 is
   * written whole. */
  struct hv_finding *many = calloc(500, sizeof *many);
  assert_non_null(many);
  for (size_t i = 0; i < 500; i++)
    many[i] = f.v[i % 4];
  struct hv_findings big = {many, 500, 500};
  int64_t first = 0, head0 = hv_db_head_seq(st->db);
  assert_int_equal(hv_db_record_findings(st->db, HV_COORDINATOR, &big, &first,
                                         &err),
                   HV_OK);
  assert_int_equal(first, head0 + 1);
  assert_int_equal(hv_db_head_seq(st->db), head0 + 500);
  struct tu_ledger_info li = tu_ledger(st->db);
  assert_int_equal(li.n, head0 + 500);
  tu_verify(st->db);
  free(many);
}

static void test_visibility_matrix(void **state) {
  struct tu_store *st = *state;
  struct hv_findings f = {0};
  struct hv_error err = {0};
  four(&f);
  int64_t first = 0;
  assert_int_equal(hv_db_record_findings(st->db, "syr-gov", &f, &first, &err),
                   HV_OK);
  /* Who sees which of the four, in full. */
  static const struct {
    const char *party;
    enum hv_role role;
    int full[4];
  } m[] = {
      {HV_COORDINATOR, HV_ROLE_COORDINATOR, {1, 1, 1, 1}},
      {"syr-gov", HV_ROLE_PARTY, {1, 1, 0, 0}}, /* its own asset */
      {"us", HV_ROLE_PARTY, {0, 1, 0, 0}},      /* the other party */
      {"ru", HV_ROLE_PARTY, {1, 0, 0, 0}},      /* guarantor of the zone */
      {"tr", HV_ROLE_PARTY, {1, 0, 0, 1}},      /* ...and of the corridor */
      {"un-ocha", HV_ROLE_AGENCY, {0, 0, 1, 0}}, /* notified the site */
      {"is", HV_ROLE_PARTY, {0, 0, 1, 0}},
      {"fsa", HV_ROLE_PARTY, {0, 0, 0, 1}},
      {"sdf", HV_ROLE_PARTY, {0, 0, 0, 0}}, /* nothing to do with any */
  };
  for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
    struct seen s = {{m[i].party, m[i].role, NULL}, first, {0}, 0};
    assert_int_equal(hv_ledger_each(st->db, first, first + 3, view_cb, &s), 0);
    assert_int_equal(s.n, 4); /* entries are never hidden */
    for (int k = 0; k < 4; k++) {
      json_t *doc = hv_finding_record_json(st->db, &f.v[k]);
      assert_non_null(doc);
      enum hv_visibility v = hv_visibility(&s.who, HV_FINDING, doc);
      json_decref(doc);
      if (s.full[k] != m[i].full[k] ||
          (v == HV_VIS_FULL) != (m[i].full[k] != 0))
        fail_msg("%s, finding %d: body %s, visibility %d; want %s", m[i].party,
                 k, s.full[k] ? "shown" : "withheld", (int)v,
                 m[i].full[k] ? "full" : "withheld");
      if (!m[i].full[k])
        assert_int_equal(v, HV_VIS_HIDDEN);
    }
  }
  /* The audience as recorded. */
  json_t *doc = hv_finding_record_json(st->db, &f.v[0]);
  char *s = json_dumps(json_object_get(doc, "audience"), JSON_COMPACT);
  assert_string_equal(s, "[\"ru\",\"tr\"]");
  free(s);
  json_decref(doc);
  doc = hv_finding_record_json(st->db, &f.v[1]);
  assert_int_equal(json_array_size(json_object_get(doc, "audience")), 0);
  json_decref(doc);
}

static int setup(void **state) { return tu_store_setup(state, "findings", 1); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_record_and_verify, setup,
                                      tu_store_teardown),
      cmocka_unit_test_setup_teardown(test_one_transaction, setup,
                                      tu_store_teardown),
      cmocka_unit_test_setup_teardown(test_visibility_matrix, setup,
                                      tu_store_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
