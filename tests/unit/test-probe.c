/*
 * test-probe.c — the probing detector (lib/probe.c, haven/probe.h) on
 * scripted sequences of checks around a real protected place: Al-Sakhour
 * hospital (M10) in Aleppo, one of the scenario's medical sites.
 *
 * What must hold: a sweep of small checks tiling the area around it is
 * raised once, at the check that completes the pattern, and not again in
 * the same episode; a bisection closing in on it is raised with its chain
 * in order; and the ordinary uses of the service are not: one target
 * re-checked many times, checks of targets far apart, a shrinking sequence
 * that does not shrink fast enough or that takes longer than the window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>

#include "haven/haven.h"
#include "haven/probe.h"
#include "testutil.h"

#define MIN_MS INT64_C(60000)
#define T0 INT64_C(1480000000000) /* 2016-11-24, during the siege */
/* Al-Sakhour hospital (M10), data/scenario sites. */
#define SITE_LON 37.1928
#define SITE_LAT 36.2164
/* Metres per degree there. */
#define KY 111195.0
#define KX (111195.0 * 0.8068) /* cos(36.2164 deg) */

static struct hv_probe *make(void) {
  struct hv_probe *pr = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_probe_new(NULL, &pr, &err), HV_OK);
  return pr;
}

/* A point dx, dy metres east and north of the site. */
static double lon_at(double dx) { return SITE_LON + dx / KX; }
static double lat_at(double dy) { return SITE_LAT + dy / KY; }

/* A sweep: a 4 x 4 grid of checks of radius 2 km, 3 km apart, centred on
 * the site, one a minute from t0, ids from id0. Returns the number of the
 * check (1-based) that raised, 0 when none; *raised counts alerts. */
static int sweep(struct hv_probe *pr, const char *party, int64_t t0,
                 int64_t id0, struct hv_probe_alert *a, int *raised) {
  int first = 0;
  *raised = 0;
  for (int k = 0; k < 16; k++) {
    double dx = (k % 4 - 1.5) * 3000, dy = (k / 4 - 1.5) * 3000;
    int rc = hv_probe_note(pr, party, t0 + k * MIN_MS, id0 + k, lon_at(dx),
                           lat_at(dy), 2000, a);
    assert_true(rc == 0 || rc == 1);
    if (rc == 1) {
      (*raised)++;
      if (first == 0)
        first = k + 1;
    }
  }
  return first;
}

static void test_tiling_sweep_raised_once(void **state) {
  (void)state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  int raised;
  int at = sweep(pr, "syr-gov", T0, 100, &a, &raised);
  /* 12 checks within 25 km, spread over >= 8 cells of 2 km: the 12th. */
  assert_int_equal(at, 12);
  assert_int_equal(raised, 1);
  /* The alert of the last raise is still in a: the 12th check's. */
  assert_int_equal(a.pattern, HV_PROBE_TILING);
  assert_string_equal(hv_probe_pattern_name(a.pattern), "tiling");

  /* Another party sweeping the same area at the same time: its own. */
  at = sweep(pr, "ru", T0, 500, &a, &raised);
  assert_int_equal(at, 12);
  assert_int_equal(raised, 1);

  /* The same party again within the window: the same episode, silent. */
  at = sweep(pr, "syr-gov", T0 + 20 * MIN_MS, 200, &a, &raised);
  assert_int_equal(raised, 0);

  /* After a whole window without it: a new episode. */
  at = sweep(pr, "syr-gov", T0 + 120 * MIN_MS, 300, &a, &raised);
  assert_int_equal(at, 12);
  assert_int_equal(raised, 1);
  hv_probe_free(pr);
}

static void test_tiling_alert_content(void **state) {
  (void)state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  int rc = 0, k;
  for (k = 0; k < 16 && rc == 0; k++) {
    double dx = (k % 4 - 1.5) * 3000, dy = (k / 4 - 1.5) * 3000;
    rc = hv_probe_note(pr, "syr-gov", T0 + k * MIN_MS, 100 + k, lon_at(dx),
                       lat_at(dy), 2000, &a);
  }
  assert_int_equal(rc, 1);
  assert_int_equal(a.n, 12);
  for (size_t i = 0; i < a.n; i++)
    assert_int_equal(a.ids[i], 100 + (int64_t)i);
  assert_int_equal(a.first_ms, T0);
  assert_int_equal(a.last_ms, T0 + 11 * MIN_MS);
  /* The 12th check is at (+4.5, +1.5) km from the site; the farthest of
   * the 12 at (-4.5, -4.5) km: 9 km east and 6 km north of it. */
  double far = hypot(3 * 3000.0, 2 * 3000.0);
  assert_true(fabs(a.extent_m - far) < 0.01 * far);
  assert_true(fabs(a.lon - lon_at(1.5 * 3000)) < 1e-9);
  hv_probe_free(pr);
}

static void test_one_target_rechecked_is_not_a_sweep(void **state) {
  (void)state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  /* 40 checks of the same bridge, radius 1 km, a few metres of jitter. */
  for (int k = 0; k < 40; k++)
    assert_int_equal(hv_probe_note(pr, "sdf", T0 + k * MIN_MS / 2, k,
                                   lon_at((k % 3) * 5.0), lat_at(0), 1000, &a),
                     0);
  hv_probe_free(pr);
}

static void test_far_apart_targets_are_not_a_sweep(void **state) {
  (void)state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  /* 30 small checks 40 km apart along a line: never 12 within 25 km. */
  for (int k = 0; k < 30; k++)
    assert_int_equal(hv_probe_note(pr, "us", T0 + k * MIN_MS, k,
                                   35.8 + k * 0.05, 34.5 + k * 0.3, 3000, &a),
                     0);
  /* Large checks are not tiles either: 20 checks of 20 km radius. */
  for (int k = 0; k < 20; k++)
    assert_int_equal(hv_probe_note(pr, "tr", T0 + k * MIN_MS, k,
                                   lon_at((k % 5) * 4000.0),
                                   lat_at((k / 5) * 4000.0), 20000, &a),
                     0);
  hv_probe_free(pr);
}

static void test_bisection_toward_site(void **state) {
  (void)state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  /* Halving radii, each centred inside the one before, closing in on the
   * hospital from 12 km away. */
  const double r[] = {20000, 10000, 5000, 2500, 1200};
  const double off[] = {12000, 6000, 3000, 1200, 400};
  int rc = 0;
  for (int k = 0; k < 5; k++) {
    rc = hv_probe_note(pr, "syr-gov", T0 + k * 2 * MIN_MS, 10 + k,
                       lon_at(off[k]), lat_at(0), r[k], &a);
    if (k < 3)
      assert_int_equal(rc, 0);
    if (k == 3) {
      assert_int_equal(rc, 1);
      assert_int_equal(a.pattern, HV_PROBE_BISECTION);
      assert_string_equal(hv_probe_pattern_name(a.pattern), "bisection");
      assert_int_equal(a.n, 4);
      for (int i = 0; i < 4; i++)
        assert_int_equal(a.ids[i], 10 + i);
      assert_int_equal(a.first_ms, T0);
      assert_true(fabs(a.extent_m - (12000 - 1200)) < 0.01 * 12000);
    }
  }
  /* The fifth step is the same episode. */
  assert_int_equal(rc, 0);
  hv_probe_free(pr);
}

static void test_bisection_needs_shrinking_and_time(void **state) {
  (void)state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  /* Shrinking by 0.8 only: no chain (ratio 0.6). */
  double rad = 20000;
  for (int k = 0; k < 8; k++, rad *= 0.8)
    assert_int_equal(hv_probe_note(pr, "sna", T0 + k * MIN_MS, k, lon_at(0),
                                   lat_at(0), rad, &a),
                     0);
  /* Halving, but 20 minutes apart: the chain outlives the 30 min window. */
  rad = 20000;
  for (int k = 0; k < 6; k++, rad /= 2)
    assert_int_equal(hv_probe_note(pr, "hts", T0 + k * 20 * MIN_MS, k,
                                   lon_at(0), lat_at(0), rad, &a),
                     0);
  /* Halving but each centre outside the disc before: not closing in. */
  rad = 8000;
  for (int k = 0; k < 6; k++, rad /= 2)
    assert_int_equal(hv_probe_note(pr, "jaish", T0 + k * MIN_MS, k,
                                   lon_at(k * 20000.0), lat_at(0), rad, &a),
                     0);
  hv_probe_free(pr);
}

static void test_bad_input(void **state) {
  (void)state;
  struct hv_probe *pr = NULL;
  struct hv_error err = {0};
  struct hv_probe_params p = hv_probe_params_default();
  p.bisect_ratio = 1.0;
  assert_int_equal(hv_probe_new(&p, &pr, &err), HV_EINVAL);
  assert_null(pr);
  p = hv_probe_params_default();
  p.tile_cells = p.tile_min + 1;
  assert_int_equal(hv_probe_new(&p, &pr, &err), HV_EINVAL);
  pr = make();
  struct hv_probe_alert a;
  assert_int_equal(hv_probe_note(pr, "", T0, 1, 36, 35, 100, &a), HV_EINVAL);
  assert_int_equal(hv_probe_note(pr, NULL, T0, 1, 36, 35, 100, &a), HV_EINVAL);
  assert_int_equal(hv_probe_note(pr, "x", T0, 1, 181, 35, 100, &a), HV_EINVAL);
  assert_int_equal(hv_probe_note(pr, "x", T0, 1, 36, NAN, 100, &a), HV_EINVAL);
  assert_int_equal(hv_probe_note(pr, "x", T0, 1, 36, 35, -1, &a), HV_EINVAL);
  assert_int_equal(hv_probe_note(pr, "x", T0, 1, 36, 35, INFINITY, &a),
                   HV_EINVAL);
  hv_probe_free(pr);
}

/* An alert recorded in the ledger: one finding entry by the coordinator,
 * its body the alert's; the coordinator sees it, the suspect does not. */
static void test_recorded_for_the_coordinator_only(void **state) {
  struct tu_store *ts = *state;
  struct hv_probe *pr = make();
  struct hv_probe_alert a;
  int raised;
  assert_int_equal(sweep(pr, "syr-gov", T0, 100, &a, &raised), 12);
  struct hv_error err = {0};
  int64_t seq = 0, before = hv_db_head_seq(ts->db);
  assert_int_equal(hv_db_record_probing(ts->db, &a, "syr-gov", &seq, &err),
                   HV_OK);
  assert_int_equal(seq, before + 1);
  struct tu_ledger_info li = {0};
  li.keep_body = 1;
  assert_int_equal(hv_ledger_each(ts->db, seq, seq, tu_ledger_cb, &li), 0);
  assert_int_equal(li.n, 1);
  assert_string_equal(li.last_op, "finding");
  assert_string_equal(li.last_kind, "finding");
  assert_string_equal(li.last_author, HV_COORDINATOR);
  json_error_t jerr;
  json_t *doc = json_loads(li.last_body, 0, &jerr);
  free(li.last_body);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "kind")),
                      "probing");
  assert_string_equal(json_string_value(json_object_get(doc, "suspect")),
                      "syr-gov");
  assert_string_equal(json_string_value(json_object_get(doc, "pattern")),
                      "tiling");
  assert_int_equal(json_array_size(json_object_get(doc, "checks")), 12);
  assert_null(json_object_get(doc, "party"));
  struct hv_principal coord = {HV_COORDINATOR, HV_ROLE_COORDINATOR, NULL};
  struct hv_principal suspect = {"syr-gov", HV_ROLE_PARTY, NULL};
  struct hv_principal other = {"ru", HV_ROLE_PARTY, NULL};
  assert_int_equal(hv_visibility(&coord, HV_FINDING, doc), HV_VIS_FULL);
  assert_int_equal(hv_visibility(&suspect, HV_FINDING, doc), HV_VIS_HIDDEN);
  assert_int_equal(hv_visibility(&other, HV_FINDING, doc), HV_VIS_HIDDEN);
  json_decref(doc);
  tu_verify(ts->db);
  hv_probe_free(pr);
}

static int store_setup(void **state) {
  return tu_store_setup(state, "probe", 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiling_sweep_raised_once),
      cmocka_unit_test(test_tiling_alert_content),
      cmocka_unit_test(test_one_target_rechecked_is_not_a_sweep),
      cmocka_unit_test(test_far_apart_targets_are_not_a_sweep),
      cmocka_unit_test(test_bisection_toward_site),
      cmocka_unit_test(test_bisection_needs_shrinking_and_time),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test_setup_teardown(test_recorded_for_the_coordinator_only,
                                      store_setup, tu_store_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
