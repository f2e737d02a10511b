/*
 * test-tracks.c — the live-picture engine (haven/tracks.h) on the real
 * scenario: zone entry and exit (once, no repeat while inside), no-fly and
 * agreement violations, protected sites, corridors in their windows,
 * out-of-order, duplicate and implausible reports, refused batches,
 * separation conflicts and their resolution, separation minima per
 * agreement (covered, through a sponsor, guarantor, not covered, out of
 * force, a shorter look-ahead, two agreements, a lapse between passes, the
 * engine's own parameters), the history setting; and a run over real ADS-B
 * tracks (traffic_switzerland.csv moved over northern Syria, parties
 * syr-gov, us and ru) cross-checked against GEOS containment of every
 * reported point and against a brute-force separation oracle
 * (bench/sep-oracle.h) on the engine's states, each pair with the minima
 * the agreements of the db give it (the scenario's US-Russia memorandum
 * holds us-ru pairs to 10 NM and 2,000 ft).
 *
 * The group setup runs $HAVEN_BUILD_DIR/mkscenario into HAVEN_SCRATCH_DIR
 * /tracks-<pid> and imports the scenario there, as test-scenario.c does.
 * Each test makes its own engine; assets are named per test so that the
 * shared db is only read (the tests that add objects add new ids).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../bench/sep-oracle.h"
#include "haven/haven.h"
#include "testutil.h"

#define RAD (M_PI / 180.0)
#define M_PER_DEG (HV_SEP_EARTH_RADIUS_M * RAD)
/* 2018-08-01T05:00:00Z: the day of the ADS-B sample. */
#define T0 1533099600000LL
#define MIN_MS 60000LL

struct ctx {
  char run[4096];
  struct hv_db *db;
  double in_lon, in_lat;   /* a point inside border-no-fly */
  double out_lon, out_lat; /* a point 0.35 degrees north of it, in no zone */
};

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
  if (tu_scenario_open(c->run, sizeof c->run, "tracks", 0, &c->db) != 0)
    goto fail;
  /* A point inside the border no-fly zone, and one north of it. */
  const struct hv_object *z = hv_db_get(c->db, HV_ZONE, "border-no-fly");
  if (z == NULL)
    goto fail;
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(c->db));
  GEOSGeometry *pt = GEOSPointOnSurface_r(gh, z->geom);
  if (pt == NULL || GEOSGeomGetX_r(gh, pt, &c->in_lon) != 1 ||
      GEOSGeomGetY_r(gh, pt, &c->in_lat) != 1) {
    if (pt)
      GEOSGeom_destroy_r(gh, pt);
    goto fail;
  }
  GEOSGeom_destroy_r(gh, pt);
  c->out_lon = c->in_lon;
  c->out_lat = c->in_lat + 0.35;
  return 0;
fail:
  group_teardown(state);
  return -1;
}

/* ---- helpers
 * ----------------------------------------------------------------- */

static struct hv_position pos(const char *asset, const char *party,
                              enum hv_asset_class cls, int64_t t, double lon,
                              double lat, double alt) {
  struct hv_position p = {asset, party, cls, t, lon, lat, alt, 0, 0, 0};
  return p;
}

/* Ingests one report, expecting success; the findings replace *out's. */
static void one(struct hv_tracks *tr, struct hv_position p,
                struct hv_findings *out) {
  struct hv_error err = {0};
  out->n = 0;
  int rc = hv_tracks_ingest(tr, &p, 1, out, &err);
  if (rc != HV_OK)
    fail_msg("ingest: %s: %s", hv_err_name(rc), err.msg);
}

static size_t count(const struct hv_findings *f, enum hv_finding_kind k,
                    const char *obj) {
  size_t n = 0;
  for (size_t i = 0; i < f->n; i++)
    if (f->v[i].kind == k && (obj == NULL || strcmp(f->v[i].obj_id, obj) == 0))
      n++;
  return n;
}

static struct hv_tracks *engine(struct ctx *c) {
  struct hv_tracks *tr = NULL;
  assert_int_equal(hv_tracks_new(c->db, &tr), HV_OK);
  return tr;
}

/* ---- zones
 * --------------------------------------------------------------------- */

static void test_zone_enter_exit_once(void **state) {
  struct ctx *c = *state;
  struct hv_hits h = {0};
  assert_int_equal(hv_db_zones_at(c->db, c->out_lon, c->out_lat, 9000, T0, &h),
                   HV_OK);
  assert_int_equal(h.n, 0); /* the outside point is in no zone */
  hv_hits_free(&h);

  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  one(tr,
      pos("zx1", "syr-gov", HV_ASSET_FIXED_WING, T0, c->out_lon, c->out_lat,
          9000),
      &f);
  assert_int_equal(f.n, 0);
  one(tr,
      pos("zx1", "syr-gov", HV_ASSET_FIXED_WING, T0 + 2 * MIN_MS, c->in_lon,
          c->in_lat, 9000),
      &f);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, "border-no-fly"), 1);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, "border-safe-zone"), 1);
  assert_int_equal(count(&f, HV_FIND_NO_FLY_VIOLATION, "border-no-fly"), 1);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, NULL), 0);
  json_t *j = hv_finding_json(&f.v[0]);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "kind")),
                      "zone_enter");
  json_decref(j);
  /* Staying inside: nothing more. */
  for (int k = 1; k <= 3; k++) {
    one(tr,
        pos("zx1", "syr-gov", HV_ASSET_FIXED_WING, T0 + (2 + k) * MIN_MS,
            c->in_lon + 0.001 * k, c->in_lat, 9000),
        &f);
    assert_int_equal(f.n, 0);
  }
  one(tr,
      pos("zx1", "syr-gov", HV_ASSET_FIXED_WING, T0 + 8 * MIN_MS, c->out_lon,
          c->out_lat, 9000),
      &f);
  assert_int_equal(f.n, 2);
  assert_int_equal(count(&f, HV_FIND_ZONE_EXIT, "border-no-fly"), 1);
  assert_int_equal(count(&f, HV_FIND_ZONE_EXIT, "border-safe-zone"), 1);
  /* Re-entry is a new entry. */
  one(tr,
      pos("zx1", "syr-gov", HV_ASSET_FIXED_WING, T0 + 10 * MIN_MS, c->in_lon,
          c->in_lat, 9000),
      &f);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, NULL), 2);
  assert_int_equal(count(&f, HV_FIND_NO_FLY_VIOLATION, NULL), 1);

  /* Humanitarian flights of every party are permitted; so are aircraft of
   * parties the rules do not name. */
  one(tr,
      pos("zx2", "syr-gov", HV_ASSET_HUMANITARIAN, T0, c->in_lon, c->in_lat,
          9000),
      &f);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, NULL), 2);
  assert_int_equal(count(&f, HV_FIND_NO_FLY_VIOLATION, NULL) +
                       count(&f, HV_FIND_FORBIDDEN_PRESENCE, NULL),
                   0);
  one(tr, pos("zx3", "us", HV_ASSET_FIXED_WING, T0, c->in_lon, c->in_lat, 9000),
      &f);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, NULL), 2);
  assert_int_equal(count(&f, HV_FIND_NO_FLY_VIOLATION, NULL), 0);
  /* Russia is named by the rule too. */
  one(tr, pos("zx4", "ru", HV_ASSET_ROTARY, T0, c->in_lon, c->in_lat, 500), &f);
  assert_int_equal(count(&f, HV_FIND_NO_FLY_VIOLATION, "border-no-fly"), 1);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

static void test_agreement_terms(void **state) {
  struct ctx *c = *state;
  struct hv_error err = {0};
  json_t *doc = tu_js(
      "{'id': 'test-no-arms', 'name': 'No armed presence in the border zone', "
      "'kind': 'deconfliction', 'valid_from': '2018-01-01', "
      "'scope': ['border-safe-zone'], 'covered': ['us', 'sdf'], "
      "'terms': ['armed_presence']}");
  int rc = hv_db_put(c->db, HV_COORDINATOR, HV_AGREEMENT, doc, HV_PUT_CREATE, 0,
                     NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put agreement: %s", err.msg);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  /* Covered directly. */
  one(tr,
      pos("ag1", "sdf", HV_ASSET_GROUND_ARMED, T0, c->in_lon, c->in_lat, 400),
      &f);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, "border-safe-zone"),
                   1);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, "border-no-fly"), 0);
  assert_int_equal(count(&f, HV_FIND_NO_FLY_VIOLATION, NULL), 0);
  assert_non_null(strstr(f.v[f.n - 1].reason, "test-no-arms"));
  /* Covered through its sponsor (nsa is sponsored by us). */
  one(tr,
      pos("ag2", "nsa", HV_ASSET_GROUND_ARMED, T0, c->in_lon, c->in_lat, 400),
      &f);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, "border-safe-zone"),
                   1);
  /* Not armed; not covered; before the agreement. */
  one(tr,
      pos("ag3", "sdf", HV_ASSET_GROUND_CIVIL, T0, c->in_lon, c->in_lat, 400),
      &f);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, NULL), 0);
  one(tr,
      pos("ag4", "sna", HV_ASSET_GROUND_ARMED, T0, c->in_lon, c->in_lat, 400),
      &f);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, NULL), 0);
  one(tr,
      pos("ag5", "sdf", HV_ASSET_GROUND_ARMED, 1483228800000LL /* 2017 */,
          c->in_lon, c->in_lat, 400),
      &f);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, NULL), 2);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, NULL), 0);
  /* The real Astana term: military flights of the covered government in
   * the Idlib de-escalation area. */
  const struct hv_object *idlib = hv_db_get(c->db, HV_ZONE, "astana-idlib");
  assert_non_null(idlib);
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(c->db));
  GEOSGeometry *pt = GEOSPointOnSurface_r(gh, idlib->geom);
  double x, y;
  assert_int_equal(GEOSGeomGetX_r(gh, pt, &x), 1);
  assert_int_equal(GEOSGeomGetY_r(gh, pt, &y), 1);
  GEOSGeom_destroy_r(gh, pt);
  one(tr, pos("ag6", "syr-gov", HV_ASSET_FIXED_WING, T0, x, y, 6000), &f);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, "astana-idlib"), 1);
  assert_non_null(strstr(f.v[f.n - 1].reason, "astana-2017"));
  one(tr, pos("ag7", "syr-gov", HV_ASSET_GROUND_ARMED, T0, x, y, 300), &f);
  assert_int_equal(count(&f, HV_FIND_FORBIDDEN_PRESENCE, NULL), 0);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* ---- sites and corridors
 * ---------------------------------------------------------- */

static void test_site_proximity_once(void **state) {
  struct ctx *c = *state;
  const struct hv_object *s = hv_db_at(c->db, HV_SITE, 0);
  assert_non_null(s);
  double lon = s->u.site.lon, lat = s->u.site.lat, r = s->u.site.radius_m;
  double away = lat + 3 * r / M_PER_DEG;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  int64_t t = T0;
  one(tr, pos("st1", "fsa", HV_ASSET_GROUND_ARMED, t, lon, away, 300), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, NULL), 0);
  t += MIN_MS;
  one(tr, pos("st1", "fsa", HV_ASSET_GROUND_ARMED, t, lon, lat, 300), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, s->id), 1);
  size_t i;
  for (i = 0; f.v[i].kind != HV_FIND_SITE_PROXIMITY; i++)
    ;
  assert_true(f.v[i].distance_m < 1.0);
  assert_int_equal(f.v[i].obj_kind, HV_SITE);
  t += MIN_MS;
  one(tr,
      pos("st1", "fsa", HV_ASSET_GROUND_ARMED, t, lon,
          lat + 0.3 * r / M_PER_DEG, 300),
      &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, NULL), 0);
  t += MIN_MS;
  one(tr, pos("st1", "fsa", HV_ASSET_GROUND_ARMED, t, lon, away, 300), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, NULL), 0);
  t += MIN_MS;
  one(tr, pos("st1", "fsa", HV_ASSET_GROUND_ARMED, t, lon, lat, 300), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, s->id), 1);
  /* Unarmed, and aircraft above 1,500 m: nothing; a low aircraft: yes. */
  one(tr, pos("st2", "fsa", HV_ASSET_GROUND_CIVIL, t, lon, lat, 300), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, NULL), 0);
  one(tr, pos("st3", "ru", HV_ASSET_FIXED_WING, t, lon, lat, 3000), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, NULL), 0);
  one(tr, pos("st4", "ru", HV_ASSET_ROTARY, t, lon, lat, 800), &f);
  assert_int_equal(count(&f, HV_FIND_SITE_PROXIMITY, s->id), 1);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

static void test_corridor_window(void **state) {
  struct ctx *c = *state;
  struct hv_error err = {0};
  json_t *doc =
      tu_js("{'type': 'Feature', 'id': 'test-corridor', 'geometry': {'type': "
            "'LineString', 'coordinates': [[40.0, 35.0], [40.1, 35.0]]}, "
            "'properties': {'object': 'corridor', 'name': 'Test corridor', "
            "'half_width_m': 500, 'status': 'open', 'windows': [{'from': "
            "'2018-08-01T06:00:00Z', 'to': '2018-08-01T07:00:00Z'}]}}");
  int rc = hv_db_put(c->db, HV_COORDINATOR, HV_CORRIDOR, doc, HV_PUT_CREATE, 0,
                     NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put corridor: %s", err.msg);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  const int64_t h = 60 * MIN_MS;
  /* Every 4 minutes from 05:58 to 07:02 at the same spot (the engine takes
   * reports more than 5 minutes after the newest as implausible). */
  size_t total = 0;
  for (int64_t t = T0 + h - 2 * MIN_MS; t <= T0 + 2 * h + 2 * MIN_MS;
       t += 4 * MIN_MS) {
    one(tr, pos("co1", "fsa", HV_ASSET_GROUND_ARMED, t, 40.05, 35.0, 300), &f);
    size_t k = count(&f, HV_FIND_CORRIDOR_INCURSION, "test-corridor");
    assert_int_equal(f.n, k);
    assert_int_equal(k, t == T0 + h + 2 * MIN_MS ? 1 : 0);
    if (k)
      assert_int_equal(f.v[0].obj_kind, HV_CORRIDOR);
    total += k;
  }
  assert_int_equal(total, 1);
  const int64_t tw = T0 + h + 58 * MIN_MS;
  /* Outside the buffered area (2 km north) in the window: nothing. */
  one(tr, pos("co2", "fsa", HV_ASSET_GROUND_ARMED, tw, 40.05, 35.018, 300), &f);
  assert_int_equal(count(&f, HV_FIND_CORRIDOR_INCURSION, NULL), 0);
  /* Unarmed in the window: nothing. */
  one(tr, pos("co3", "ocha", HV_ASSET_HUMANITARIAN, tw, 40.05, 35.0, 300), &f);
  assert_int_equal(count(&f, HV_FIND_CORRIDOR_INCURSION, NULL), 0);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* ---- order, plausibility, validation
 * ------------------------------------------------ */

static void test_out_of_order_and_duplicate(void **state) {
  struct ctx *c = *state;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_position last;
  one(tr, pos("oo1", "us", HV_ASSET_GROUND_CIVIL, T0, 39.0, 35.0, 300), &f);
  one(tr,
      pos("oo1", "us", HV_ASSET_GROUND_CIVIL, T0 + 20000, 39.001, 35.0, 300),
      &f);
  assert_int_equal(f.n, 0);
  one(tr,
      pos("oo1", "us", HV_ASSET_GROUND_CIVIL, T0 + 10000, 39.0005, 35.0, 300),
      &f);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.v[0].kind, HV_FIND_OUT_OF_ORDER);
  assert_int_equal(hv_tracks_last(tr, "oo1", &last), HV_OK);
  assert_int_equal(last.t_ms, T0 + 20000);
  /* The same report again: a duplicate, silently ignored. */
  one(tr,
      pos("oo1", "us", HV_ASSET_GROUND_CIVIL, T0 + 20000, 39.001, 35.0, 300),
      &f);
  assert_int_equal(f.n, 0);
  /* Same time, another position: out of order, not applied. */
  one(tr,
      pos("oo1", "us", HV_ASSET_GROUND_CIVIL, T0 + 20000, 39.002, 35.0, 300),
      &f);
  assert_int_equal(count(&f, HV_FIND_OUT_OF_ORDER, NULL), 1);
  assert_int_equal(hv_tracks_last(tr, "oo1", &last), HV_OK);
  assert_true(last.lon == 39.001);
  struct hv_position hist[HV_TRACKS_HISTORY];
  assert_int_equal(hv_tracks_history(tr, "oo1", hist, HV_TRACKS_HISTORY), 2);
  assert_int_equal(hist[0].t_ms, T0);
  /* The ring keeps the last HV_TRACKS_HISTORY. */
  for (int k = 1; k <= 20; k++)
    one(tr,
        pos("oo1", "us", HV_ASSET_GROUND_CIVIL, T0 + 20000 + k * 1000, 39.001,
            35.0, 300),
        &f);
  assert_int_equal(hv_tracks_history(tr, "oo1", hist, HV_TRACKS_HISTORY),
                   HV_TRACKS_HISTORY);
  assert_int_equal(hist[HV_TRACKS_HISTORY - 1].t_ms, T0 + 40000);
  assert_int_equal(hist[0].t_ms, T0 + 40000 - (HV_TRACKS_HISTORY - 1) * 1000);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

static void test_implausible(void **state) {
  struct ctx *c = *state;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_position last;
  one(tr, pos("im1", "us", HV_ASSET_FIXED_WING, T0, 39.0, 35.0, 9000), &f);
  /* 100 km in 10 s = 10 km/s: a teleport. */
  one(tr, pos("im1", "us", HV_ASSET_FIXED_WING, T0 + 10000, 40.1, 35.0, 9000),
      &f);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.v[0].kind, HV_FIND_IMPLAUSIBLE);
  assert_true(f.v[0].speed_mps > 9000 && f.v[0].speed_mps < 11000);
  assert_int_equal(hv_tracks_last(tr, "im1", &last), HV_OK);
  assert_int_equal(last.t_ms, T0);
  /* 2 km in 10 s = 200 m/s: a fixed wing, yes; a ground vehicle, no. */
  one(tr, pos("im1", "us", HV_ASSET_FIXED_WING, T0 + 10000, 39.022, 35.0, 9000),
      &f);
  assert_int_equal(f.n, 0);
  one(tr, pos("im2", "us", HV_ASSET_GROUND_CIVIL, T0, 39.0, 35.0, 300), &f);
  one(tr,
      pos("im2", "us", HV_ASSET_GROUND_CIVIL, T0 + 10000, 39.022, 35.0, 300),
      &f);
  assert_int_equal(count(&f, HV_FIND_IMPLAUSIBLE, NULL), 1);
  /* Far in the future of the newest report seen (T0 + 10 s). */
  one(tr,
      pos("im3", "us", HV_ASSET_GROUND_CIVIL, T0 + 10000 + 6 * MIN_MS, 39.5,
          35.0, 300),
      &f);
  assert_int_equal(count(&f, HV_FIND_IMPLAUSIBLE, NULL), 1);
  assert_int_equal(hv_tracks_last(tr, "im3", &last), HV_ENOTFOUND);
  one(tr,
      pos("im3", "us", HV_ASSET_GROUND_CIVIL, T0 + 10000 + 4 * MIN_MS, 39.5,
          35.0, 300),
      &f);
  assert_int_equal(f.n, 0);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

static void test_malformed_batch(void **state) {
  struct ctx *c = *state;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  one(tr,
      pos("mb1", "us", HV_ASSET_FIXED_WING, T0, c->out_lon, c->out_lat, 9000),
      &f);
  struct hv_position b[3] = {pos("mb1", "us", HV_ASSET_FIXED_WING, T0 + 120000,
                                 c->in_lon, c->in_lat, 9000),
                             pos("mb2", "us", HV_ASSET_FIXED_WING, T0 + 120000,
                                 c->in_lon, c->in_lat, 9000),
                             pos("mb3", "us", HV_ASSET_FIXED_WING, T0 + 120000,
                                 c->in_lon, 91.0, 9000)};
  f.n = 0;
  assert_int_equal(hv_tracks_ingest(tr, b, 3, &f, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "report 2"));
  assert_non_null(strstr(err.msg, "lat"));
  assert_int_equal(f.n, 0);
  assert_int_equal(hv_tracks_count(tr), 1);
  struct hv_position last;
  assert_int_equal(hv_tracks_last(tr, "mb1", &last), HV_OK);
  assert_int_equal(last.t_ms, T0);
  /* Other faults, each refusing the batch. */
  b[2] =
      pos("mb3", "nobody", HV_ASSET_FIXED_WING, T0 + 120000, 39.0, 35.0, 9000);
  assert_int_equal(hv_tracks_ingest(tr, b, 3, &f, &err), HV_EREF);
  assert_non_null(strstr(err.msg, "party"));
  b[2] = pos("mb3", "us", HV_ASSET_FIXED_WING, T0 + 120000, 39.0, 35.0, NAN);
  assert_int_equal(hv_tracks_ingest(tr, b, 3, &f, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "alt_m"));
  b[2] = pos("", "us", HV_ASSET_FIXED_WING, T0 + 120000, 39.0, 35.0, 9000);
  assert_int_equal(hv_tracks_ingest(tr, b, 3, &f, &err), HV_EINVAL);
  b[2] = pos("mb1", "ru", HV_ASSET_FIXED_WING, T0 + 120000, 39.0, 35.0, 9000);
  assert_int_equal(hv_tracks_ingest(tr, b, 3, &f, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "report 2: party"));
  b[2] =
      pos("mb3", "us", (enum hv_asset_class)99, T0 + 120000, 39.0, 35.0, 9000);
  assert_int_equal(hv_tracks_ingest(tr, b, 3, &f, &err), HV_EINVAL);
  assert_int_equal(f.n, 0);
  assert_int_equal(hv_tracks_count(tr), 1);
  /* The good part alone goes through. */
  assert_int_equal(hv_tracks_ingest(tr, b, 2, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_ZONE_ENTER, NULL), 4);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* ---- separation
 * ------------------------------------------------------------------ */

/* Two aircraft on one parallel, 20 km apart, flying at each other at
 * 200 m/s each, same altitude. */
static void head_on(struct hv_position *b, const char *pa, const char *pb,
                    const char *ia, const char *ib, int64_t t, double sign) {
  double dlon = 10000.0 / (M_PER_DEG * cos(35.5 * RAD));
  b[0] = pos(ia, pa, HV_ASSET_FIXED_WING, t, 41.0 - dlon, 35.5, 8000);
  b[0].ve_mps = 200 * sign;
  b[1] = pos(ib, pb, HV_ASSET_FIXED_WING, t, 41.0 + dlon, 35.5, 8000);
  b[1].ve_mps = -200 * sign;
}

static void test_separation(void **state) {
  struct ctx *c = *state;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  struct hv_position b[4];
  head_on(b, "us", "ru", "sp1", "sp2", T0, 1);
  head_on(b + 2, "us", "us", "sp3", "sp4", T0, 1);
  for (int k = 2; k < 4; k++)
    b[k].lat += 1.0; /* far from the first pair */
  assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 1);
  const struct hv_finding *x = &f.v[0];
  assert_int_equal(x->kind, HV_FIND_SEPARATION_CONFLICT);
  assert_string_equal(x->asset, "sp1");
  assert_string_equal(x->other_asset, "sp2");
  assert_string_equal(x->party, "us");
  assert_string_equal(x->other_party, "ru");
  assert_true(fabs(x->t_cpa_s - 50.0) < 0.5);
  assert_true(x->d_cpa_m < 50.0);
  /* Still converging 10 s later: no repeat. */
  f.n = 0;
  head_on(b, "us", "ru", "sp1", "sp2", T0 + 10000, 1);
  b[0].lon += 2000.0 / (M_PER_DEG * cos(35.5 * RAD));
  b[1].lon -= 2000.0 / (M_PER_DEG * cos(35.5 * RAD));
  assert_int_equal(hv_tracks_ingest(tr, b, 2, &f, &err), HV_OK);
  assert_int_equal(f.n, 0);
  /* Turned away, now 60 km apart and diverging: resolved. */
  f.n = 0;
  head_on(b, "us", "ru", "sp1", "sp2", T0 + 80000, -1);
  b[0].lon -= 0.1;
  b[1].lon += 0.1;
  assert_int_equal(hv_tracks_ingest(tr, b, 2, &f, &err), HV_OK);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.v[0].kind, HV_FIND_SEPARATION_RESOLVED);
  assert_string_equal(f.v[0].other_asset, "sp2");
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* A batch of an earlier time than other aircraft's last reports: those are
 * left out of its pass (they are not extrapolated back by hours, off the
 * globe), and the batch's own pair is judged. */
static void test_separation_earlier_batch(void **state) {
  struct ctx *c = *state;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  struct hv_position b[2];
  /* Ten years later, far away. */
  head_on(b, "us", "ru", "late1", "late2", T0 + 10LL * 365 * 86400000, 1);
  b[0].lat += 2.0;
  b[1].lat += 2.0;
  assert_int_equal(hv_tracks_ingest(tr, b, 2, &f, &err), HV_OK);
  f.n = 0;
  /* Now a pair at T0: the pass at T0 leaves the later pair out. */
  head_on(b, "us", "ru", "early1", "early2", T0, 1);
  int rc = hv_tracks_ingest(tr, b, 2, &f, &err);
  if (rc != HV_OK)
    fail_msg("earlier batch: %s: %s", hv_err_name(rc), err.msg);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 1);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_RESOLVED, NULL), 0);
  assert_string_equal(f.v[0].asset, "early1");
  /* The later pair's conflict was kept as it was: back at its time, still
   * converging, it is not raised again (the earlier pair, ten years stale
   * at this pass, is resolved). */
  f.n = 0;
  head_on(b, "us", "ru", "late1", "late2",
          T0 + 10LL * 365 * 86400000 + 10000, 1);
  b[0].lat += 2.0;
  b[1].lat += 2.0;
  b[0].lon += 2000.0 / (M_PER_DEG * cos(37.5 * RAD));
  b[1].lon -= 2000.0 / (M_PER_DEG * cos(37.5 * RAD));
  assert_int_equal(hv_tracks_ingest(tr, b, 2, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 0);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_RESOLVED, NULL), 1);
  assert_string_equal(f.v[0].asset, "early1");
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* ---- separation minima per agreement
 * ------------------------------------------------ */

/* 2019-01-01T00:00:00Z: the test agreements below are valid in 2019, after
 * the day of the real tracks, so they never meet test_real_tracks. */
#define T19 1546300800000LL
#define DAY_MS (24 * 60 * MIN_MS)
#define NM 1852.0

static void put_agreement(struct ctx *c, const char *quoted) {
  struct hv_error err = {0};
  json_t *doc = tu_js(quoted);
  int rc = hv_db_put(c->db, HV_COORDINATOR, HV_AGREEMENT, doc, HV_PUT_CREATE, 0,
                     NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put agreement: %s", err.msg);
}

/* Two aircraft of parties pa and pb on parallel opposite tracks at 8,000 m,
 * 200 m/s each, gap_m apart along the track and miss_m across it (the
 * closest approach, at gap_m / 400 s), around (41 E, lat): ia flies east,
 * ib west. */
static void passing(struct hv_position *b, const char *pa, const char *ia,
                    const char *pb, const char *ib, int64_t t, double lat,
                    double gap_m, double miss_m) {
  double dlon = 0.5 * gap_m / (M_PER_DEG * cos(lat * RAD));
  b[0] = pos(ia, pa, HV_ASSET_FIXED_WING, t, 41.0 - dlon, lat, 8000);
  b[0].ve_mps = 200;
  b[1] = pos(ib, pb, HV_ASSET_FIXED_WING, t, 41.0 + dlon,
             lat + miss_m / M_PER_DEG, 8000);
  b[1].ve_mps = -200;
}

/* The separation_conflict finding of asset a (as asset or other_asset);
 * NULL when there is none. */
static const struct hv_finding *conflict_of(const struct hv_findings *f,
                                            const char *a) {
  for (size_t i = 0; i < f->n; i++)
    if (f->v[i].kind == HV_FIND_SEPARATION_CONFLICT &&
        (strcmp(f->v[i].asset, a) == 0 || strcmp(f->v[i].other_asset, a) == 0))
      return &f->v[i];
  return NULL;
}

static void assert_minima(const struct hv_finding *x, double h, const char *hb,
                          double v, const char *vb, double t, const char *tb) {
  assert_non_null(x);
  if (!(x->h_sep_m == h && x->v_sep_m == v && x->lookahead_s == t) ||
      strcmp(x->h_sep_by, hb) || strcmp(x->v_sep_by, vb) ||
      strcmp(x->lookahead_by, tb))
    fail_msg("%s-%s: minima %g (%s) %g (%s) %g (%s), expected %g (%s) %g (%s) "
             "%g (%s)",
             x->asset, x->other_asset, x->h_sep_m, x->h_sep_by, x->v_sep_m,
             x->v_sep_by, x->lookahead_s, x->lookahead_by, h, hb, v, vb, t, tb);
}

/*
 * An agreement with 10 NM covering tr and ir (and so sna, sponsored by tr)
 * and guaranteed by jo: its parties' aircraft passing 7 NM apart are in
 * conflict, held to its minima; a pair it does not cover, the same
 * geometry, is not; out of force it does not apply. The real US-Russia
 * memorandum of the scenario does the same for us and ru, not syr-gov.
 */
static void test_separation_agreement_minima(void **state) {
  struct ctx *c = *state;
  put_agreement(c, "{'id': 'test-sep-10nm', 'name': 'Test 10 NM', "
                   "'kind': 'deconfliction', 'valid_from': '2019-01-01', "
                   "'valid_to': '2019-01-02', 'scope': 'nationwide', "
                   "'covered': ['tr', 'ir'], 'guarantors': ['jo'], "
                   "'terms': [], 'separation': {'horizontal_m': 18520}}");
  const double miss = 7 * NM, gap = 40000;
  const int64_t t = T19 + 6 * 60 * MIN_MS;
  struct hv_position b[14];
  passing(b + 0, "tr", "sa-tr", "ir", "sa-ir", t, 33.0, gap, miss);
  passing(b + 2, "tr", "sa-tr2", "il", "sa-il", t, 34.0, gap, miss);
  passing(b + 4, "sna", "sa-sna", "jo", "sa-jo", t, 35.0, gap, miss);
  passing(b + 6, "il", "sa-il2", "iq", "sa-iq", t, 36.0, gap, 3 * NM);
  passing(b + 8, "us", "sa-us", "ru", "sa-ru", t, 37.0, gap, miss);
  passing(b + 10, "us", "sa-us2", "syr-gov", "sa-syr", t, 38.0, gap, miss);
  passing(b + 12, "il", "sa-il3", "iq", "sa-iq2", t, 32.0, gap, miss);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_tracks_ingest(tr, b, 14, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 4);
  const double dv = 1000 * 0.3048, dt = 300;
  /* covered both */
  const struct hv_finding *x = conflict_of(&f, "sa-tr");
  assert_minima(x, 18520, "test-sep-10nm", dv, "", dt, "");
  assert_string_equal(x->other_asset, "sa-ir");
  assert_true(fabs(x->d_cpa_m - miss) < 5.0);
  /* not covered: il */
  assert_null(conflict_of(&f, "sa-il"));
  /* covered through the sponsor (sna < tr), and a guarantor (jo) */
  assert_minima(conflict_of(&f, "sa-sna"), 18520, "test-sep-10nm", dv, "", dt,
                "");
  /* no agreement: the engine's minima, 3 NM is inside them, 7 NM is not */
  assert_minima(conflict_of(&f, "sa-il2"), 9260, "", dv, "", dt, "");
  assert_null(conflict_of(&f, "sa-il3"));
  /* the real memorandum: us and ru, 10 NM and 2,000 ft; not syr-gov */
  x = conflict_of(&f, "sa-us");
  assert_minima(x, 18520, "us-ru-mou-2015", 609.6, "us-ru-mou-2015", dt, "");
  assert_null(conflict_of(&f, "sa-syr"));
  /* The finding says so, in JSON and in its reason. */
  json_t *j = hv_finding_json(x);
  assert_non_null(j);
  assert_true(json_real_value(json_object_get(j, "h_sep_m")) == 18520);
  assert_true(json_real_value(json_object_get(j, "v_sep_m")) == 609.6);
  assert_true(json_real_value(json_object_get(j, "lookahead_s")) == 300);
  json_t *by = json_object_get(j, "minima_by");
  assert_int_equal(json_object_size(by), 2);
  assert_string_equal(json_string_value(json_object_get(by, "h_sep_m")),
                      "us-ru-mou-2015");
  assert_null(json_object_get(by, "lookahead_s"));
  json_decref(j);
  assert_non_null(strstr(x->reason, "us-ru-mou-2015"));
  j = hv_finding_json(conflict_of(&f, "sa-il2"));
  assert_int_equal(json_object_size(json_object_get(j, "minima_by")), 0);
  json_decref(j);
  hv_findings_free(&f);
  hv_tracks_free(tr);

  /* Out of force (the day after, and the day before): the engine's minima. */
  const int64_t other[2] = {t + DAY_MS, t - DAY_MS};
  for (int k = 0; k < 2; k++) {
    tr = engine(c);
    passing(b, "tr", "sb-tr", "ir", "sb-ir", other[k], 33.0, gap, miss);
    passing(b + 2, "tr", "sb-tr2", "ir", "sb-ir2", other[k], 34.0, gap, 3 * NM);
    f.n = 0;
    assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_OK);
    assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 1);
    assert_minima(conflict_of(&f, "sb-tr2"), 9260, "", dv, "", dt, "");
    hv_findings_free(&f);
    hv_tracks_free(tr);
  }
}

/* An agreement with a shorter look-ahead filters: a loss 127 s ahead is
 * not a conflict for its parties, still one for the others. */
static void test_separation_agreement_lookahead(void **state) {
  struct ctx *c = *state;
  put_agreement(c, "{'id': 'test-sep-look60', 'name': 'Test 60 s', "
                   "'kind': 'deconfliction', 'valid_from': '2019-02-01', "
                   "'valid_to': '2019-02-02', 'scope': 'nationwide', "
                   "'covered': ['tr', 'ir'], 'terms': [], "
                   "'separation': {'lookahead_s': 60}}");
  const int64_t t = T19 + 31 * DAY_MS + 6 * 60 * MIN_MS;
  struct hv_position b[6];
  /* head-on, 60 km apart: 5 NM is lost after (60,000 - 9,260) / 400 s */
  passing(b, "tr", "sl-tr", "ir", "sl-ir", t, 33.0, 60000, 0);
  passing(b + 2, "il", "sl-il", "iq", "sl-iq", t, 34.0, 60000, 0);
  /* 20 km apart: lost after 27 s, inside 60 s */
  passing(b + 4, "tr", "sl-tr2", "ir", "sl-ir2", t, 35.0, 20000, 0);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_tracks_ingest(tr, b, 6, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 2);
  assert_null(conflict_of(&f, "sl-tr"));
  const double dv = 1000 * 0.3048;
  assert_minima(conflict_of(&f, "sl-il"), 9260, "", dv, "", 300, "");
  assert_minima(conflict_of(&f, "sl-tr2"), 9260, "", dv, "", 60,
                "test-sep-look60");
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* Two applicable agreements: field by field the larger, each field naming
 * the agreement that set it; and an applicable agreement's smaller minimum
 * replaces the engine's (the engine's fills only what no agreement gives). */
static void test_separation_two_agreements(void **state) {
  struct ctx *c = *state;
  put_agreement(c,
                "{'id': 'test-sep-a', 'name': 'Test A', "
                "'kind': 'deconfliction', 'valid_from': '2019-03-01', "
                "'valid_to': '2019-03-02', 'scope': 'nationwide', "
                "'covered': ['tr', 'ir'], 'terms': [], "
                "'separation': {'horizontal_m': 15000, 'lookahead_s': 400}}");
  put_agreement(c, "{'id': 'test-sep-b', 'name': 'Test B', "
                   "'kind': 'ceasefire', 'valid_from': '2019-03-01', "
                   "'valid_to': '2019-03-02', 'scope': 'nationwide', "
                   "'covered': ['tr'], 'guarantors': ['ir'], "
                   "'terms': ['shelling'], "
                   "'separation': {'horizontal_m': 18520, 'vertical_m': 600}}");
  put_agreement(c, "{'id': 'test-sep-small', 'name': 'Test small', "
                   "'kind': 'deconfliction', 'valid_from': '2019-03-01', "
                   "'valid_to': '2019-03-02', 'scope': 'nationwide', "
                   "'covered': ['il', 'iq'], 'terms': [], "
                   "'separation': {'horizontal_m': 5000}}");
  const int64_t t = T19 + 59 * DAY_MS + 6 * 60 * MIN_MS;
  struct hv_position b[8];
  passing(b, "tr", "s2-tr", "ir", "s2-ir", t, 33.0, 40000, 16000);
  passing(b + 2, "tr", "s2-tr2", "ir", "s2-ir2", t, 34.0, 40000, 14000);
  passing(b + 4, "il", "s2-il", "iq", "s2-iq", t, 35.0, 40000, 7000);
  passing(b + 6, "il", "s2-il2", "iq", "s2-iq2", t, 36.0, 40000, 4000);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_tracks_ingest(tr, b, 8, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 3);
  assert_minima(conflict_of(&f, "s2-tr"), 18520, "test-sep-b", 600,
                "test-sep-b", 400, "test-sep-a");
  assert_minima(conflict_of(&f, "s2-tr2"), 18520, "test-sep-b", 600,
                "test-sep-b", 400, "test-sep-a");
  assert_null(conflict_of(&f, "s2-il")); /* 7 km: inside 5 NM, not 5 km */
  assert_minima(conflict_of(&f, "s2-il2"), 5000, "test-sep-small", 304.8, "",
                300, "");
  json_t *j = hv_finding_json(conflict_of(&f, "s2-tr"));
  json_t *by = json_object_get(j, "minima_by");
  assert_string_equal(json_string_value(json_object_get(by, "lookahead_s")),
                      "test-sep-a");
  assert_string_equal(json_string_value(json_object_get(by, "v_sep_m")),
                      "test-sep-b");
  json_decref(j);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* When an agreement lapses between two passes, a pair held to its minima
 * is resolved if the engine's do not hold it, and stays (no new finding)
 * if they do: the remembered pairs are those in conflict under their own
 * minima at the last pass. */
static void test_separation_minima_change(void **state) {
  struct ctx *c = *state;
  put_agreement(c, "{'id': 'test-sep-lapse', 'name': 'Test lapse', "
                   "'kind': 'deconfliction', 'valid_from': '2019-05-01', "
                   "'valid_to': '2019-05-02', 'scope': 'nationwide', "
                   "'covered': ['tr', 'ir'], 'terms': [], "
                   "'separation': {'horizontal_m': 18520}}");
  /* 2019-05-02T00:00:00Z, when it lapses */
  const int64_t end = T19 + 121 * DAY_MS;
  const int64_t t1 = end - 30000, t2 = end + 10000;
  struct hv_position b[4];
  passing(b, "tr", "sc-tr", "ir", "sc-ir", t1, 33.0, 40000, 7 * NM);
  passing(b + 2, "tr", "sc-tr2", "ir", "sc-ir2", t1, 34.0, 40000, 2 * NM);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 2);
  assert_minima(conflict_of(&f, "sc-tr"), 18520, "test-sep-lapse", 304.8, "",
                300, "");
  /* 40 s later, each 8 km further along: still converging. */
  for (int k = 0; k < 4; k++) {
    b[k].t_ms = t2;
    b[k].lon += b[k].ve_mps * 40.0 / (M_PER_DEG * cos(b[k].lat * RAD));
  }
  f.n = 0;
  assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_OK);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.v[0].kind, HV_FIND_SEPARATION_RESOLVED);
  assert_string_equal(f.v[0].asset, "sc-tr");
  assert_string_equal(f.v[0].other_asset, "sc-ir");
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* The engine's own parameters stand in for the defaults: for pairs no
 * agreement applies to, and for the fields the agreements leave open. Bad
 * ones refuse the batch's pass. */
static void test_separation_engine_params(void **state) {
  struct ctx *c = *state;
  const int64_t t = T19 + 6 * 60 * MIN_MS; /* test-sep-10nm in force */
  struct hv_position b[4];
  passing(b, "il", "se-il", "iq", "se-iq", t, 33.0, 40000, 7 * NM);
  passing(b + 2, "tr", "se-tr", "ir", "se-ir", t, 34.0, 40000, 7 * NM);
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  struct hv_sep_params p = {600, 15000, 500};
  hv_tracks_set_sep_params(tr, &p);
  assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_CONFLICT, NULL), 2);
  assert_minima(conflict_of(&f, "se-il"), 15000, "", 500, "", 600, "");
  assert_minima(conflict_of(&f, "se-tr"), 18520, "test-sep-10nm", 500, "", 600,
                "");
  p.h_sep_m = -1;
  hv_tracks_set_sep_params(tr, &p);
  for (int k = 0; k < 4; k++)
    b[k].t_ms += 1000;
  f.n = 0;
  assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_EINVAL);
  assert_non_null(strstr(err.msg, "h_sep_m"));
  hv_tracks_set_sep_params(tr, NULL); /* the defaults again */
  for (int k = 0; k < 4; k++)
    b[k].t_ms += 1000;
  f.n = 0;
  assert_int_equal(hv_tracks_ingest(tr, b, 4, &f, &err), HV_OK);
  assert_int_equal(count(&f, HV_FIND_SEPARATION_RESOLVED, NULL), 1);
  assert_string_equal(f.v[0].asset, "se-il");
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* ---- history
 * ------------------------------------------------------------------ */

static void test_history_setting(void **state) {
  struct ctx *c = *state;
  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_position h[HV_TRACKS_HISTORY + 4], last;
  assert_int_equal(hv_tracks_set_history(tr, HV_TRACKS_HISTORY + 1), HV_EINVAL);
  assert_int_equal(hv_tracks_set_history(NULL, 0), HV_EINVAL);
  int64_t t = T0;
  /* hs16 gets its ring of 16 under the default. */
  one(tr, pos("hs16", "us", HV_ASSET_GROUND_CIVIL, t, 39.0, 35.0, 300), &f);
  assert_int_equal(hv_tracks_set_history(tr, 0), HV_OK);
  /* No history: the last report alone. */
  for (int k = 0; k < 5; k++, t += 1000) {
    one(tr,
        pos("hs0", "us", HV_ASSET_GROUND_CIVIL, t, 39.0 + 0.0001 * k, 35.0,
            300),
        &f);
    one(tr,
        pos("hs16", "us", HV_ASSET_GROUND_CIVIL, t + 1, 39.0 + 0.0001 * k, 35.0,
            300),
        &f);
  }
  assert_int_equal(hv_tracks_history(tr, "hs0", h, HV_TRACKS_HISTORY), 1);
  assert_int_equal(h[0].t_ms, t - 1000);
  assert_true(h[0].lon == 39.0004);
  assert_string_equal(h[0].asset, "hs0");
  assert_string_equal(h[0].party, "us");
  assert_int_equal(hv_tracks_history(tr, "hs0", h, 0), 0);
  assert_int_equal(hv_tracks_history(tr, "nobody", h, 4), 0);
  assert_int_equal(hv_tracks_last(tr, "hs0", &last), HV_OK);
  assert_int_equal(last.t_ms, t - 1000);
  /* An asset that had a ring keeps it. */
  assert_int_equal(hv_tracks_history(tr, "hs16", h, HV_TRACKS_HISTORY), 6);
  /* The order rules still hold without a ring: older, same time elsewhere,
   * a teleport; and a duplicate is ignored. */
  one(tr, pos("hs0", "us", HV_ASSET_GROUND_CIVIL, t - 3000, 39.0, 35.0, 300),
      &f);
  assert_int_equal(count(&f, HV_FIND_OUT_OF_ORDER, NULL), 1);
  one(tr, pos("hs0", "us", HV_ASSET_GROUND_CIVIL, t - 1000, 39.0004, 35.0, 300),
      &f);
  assert_int_equal(f.n, 0);
  one(tr, pos("hs0", "us", HV_ASSET_GROUND_CIVIL, t, 40.0, 35.0, 300), &f);
  assert_int_equal(count(&f, HV_FIND_IMPLAUSIBLE, NULL), 1);
  assert_int_equal(hv_tracks_history(tr, "hs0", h, HV_TRACKS_HISTORY), 1);
  assert_int_equal(h[0].t_ms, t - 1000);
  /* History 4: hs0, which has no ring, gets one at its next report; a new
   * asset too. */
  assert_int_equal(hv_tracks_set_history(tr, 4), HV_OK);
  for (int k = 0; k < 6; k++, t += 1000) {
    one(tr,
        pos("hs0", "us", HV_ASSET_GROUND_CIVIL, t, 39.0005 + 0.0001 * k, 35.0,
            300),
        &f);
    one(tr,
        pos("hs4", "us", HV_ASSET_GROUND_CIVIL, t, 39.0 + 0.0001 * k, 35.5,
            300),
        &f);
  }
  assert_int_equal(hv_tracks_history(tr, "hs0", h, HV_TRACKS_HISTORY), 4);
  assert_int_equal(h[3].t_ms, t - 1000);
  assert_int_equal(h[0].t_ms, t - 4000);
  assert_int_equal(hv_tracks_history(tr, "hs0", h, 2), 2); /* the newest */
  assert_int_equal(h[1].t_ms, t - 1000);
  assert_int_equal(hv_tracks_history(tr, "hs4", h, HV_TRACKS_HISTORY), 4);
  /* Back to 16: rings made at 4 stay at 4; hs16 fills its 16. */
  assert_int_equal(hv_tracks_set_history(tr, HV_TRACKS_HISTORY), HV_OK);
  for (int k = 0; k < 12; k++, t += 1000) {
    one(tr, pos("hs4", "us", HV_ASSET_GROUND_CIVIL, t, 39.001, 35.5, 300), &f);
    one(tr, pos("hs16", "us", HV_ASSET_GROUND_CIVIL, t, 39.001, 35.0, 300), &f);
  }
  assert_int_equal(hv_tracks_history(tr, "hs4", h, HV_TRACKS_HISTORY + 4), 4);
  assert_int_equal(hv_tracks_history(tr, "hs16", h, HV_TRACKS_HISTORY + 4),
                   HV_TRACKS_HISTORY);
  assert_int_equal(h[HV_TRACKS_HISTORY - 1].t_ms, t - 1000);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

/* ---- the real tracks
 * -------------------------------------------------------------- */

struct adsb {
  struct hv_position p;
  char asset[16];
};

static int adsb_cmp(const void *x, const void *y) {
  const struct adsb *a = x, *b = y;
  return a->p.t_ms < b->p.t_ms ? -1 : a->p.t_ms > b->p.t_ms;
}

/* Reads the rows of traffic_switzerland.csv with minutes of T0, translated
 * over northern Syria, parties syr-gov, us, ru in turn by order of first
 * appearance (so that us-ru pairs are held to the scenario's US-Russia
 * memorandum, and pairs with syr-gov to the defaults). */
static size_t read_adsb(const char *path, int64_t minutes, struct adsb **out) {
  FILE *in = fopen(path, "r");
  if (in == NULL)
    fail_msg("%s: %s", path, strerror(errno));
  char line[512];
  size_t n = 0, cap = 0;
  struct adsb *v = NULL;
  char(*seen)[16] = NULL;
  size_t nseen = 0, capseen = 0;
  assert_non_null(fgets(line, sizeof line, in)); /* header */
  while (fgets(line, sizeof line, in)) {
    char *f[10];
    size_t k = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    for (; k < 10; k++) {
      f[k] = p;
      char *cm = strchr(p, ',');
      if (cm == NULL) {
        k++;
        break;
      }
      *cm = '\0';
      p = cm + 1;
    }
    if (k < 10)
      continue;
    int blank = 0;
    for (size_t i = 0; i < 10; i++)
      if (i != 3 && f[i][0] == '\0')
        blank = 1;
    if (blank)
      continue;
    int64_t t = strtoll(f[1], NULL, 10);
    if (t < T0 || t >= T0 + minutes * MIN_MS)
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 4096;
      v = realloc(v, cap * sizeof *v);
      assert_non_null(v);
    }
    struct adsb *r = &v[n++];
    memset(r, 0, sizeof *r);
    snprintf(r->asset, sizeof r->asset, "%s", f[5]);
    size_t s;
    for (s = 0; s < nseen && strcmp(seen[s], r->asset) != 0; s++)
      ;
    if (s == nseen) {
      if (nseen == capseen) {
        capseen = capseen ? 2 * capseen : 256;
        seen = realloc(seen, capseen * sizeof *seen);
        assert_non_null(seen);
      }
      memcpy(seen[nseen++], r->asset, sizeof r->asset);
    }
    double gs = strtod(f[4], NULL) * 1852.0 / 3600.0;
    double trk = strtod(f[8], NULL) * RAD;
    r->p.party = s % 3 == 0 ? "syr-gov" : s % 3 == 1 ? "us" : "ru";
    r->p.cls = HV_ASSET_FIXED_WING;
    r->p.t_ms = t;
    r->p.lon = strtod(f[7], NULL) + 29.0;
    r->p.lat = strtod(f[6], NULL) - 10.5;
    r->p.alt_m = strtod(f[2], NULL) * 0.3048;
    r->p.ve_mps = gs * sin(trk);
    r->p.vn_mps = gs * cos(trk);
    r->p.vs_mps = strtod(f[9], NULL) * 0.3048 / 60.0;
  }
  fclose(in);
  free(seen);
  qsort(v, n, sizeof *v, adsb_cmp);
  for (size_t i = 0; i < n; i++)
    v[i].p.asset = v[i].asset;
  *out = v;
  return n;
}

/* The minima of a pair of aircraft of parties pa and pb at t_ms by the rule
 * of haven/tracks.h, worked out here from the db alone (the cross-check of
 * test_real_tracks): by[k] names the agreement that set field k (h, v,
 * look-ahead), "" for the defaults. */
struct pmin {
  struct hv_sep_params p;
  const char *by[3];
};

static int oracle_applies(const struct hv_db *db, const struct hv_object *ag,
                          const char *party) {
  enum hv_coverage cv = hv_db_coverage(db, ag, party);
  return cv == HV_COVER_DIRECT || cv == HV_COVER_SPONSOR ||
         hv_ids_contain(ag->u.agreement.guarantors, party);
}

static struct pmin oracle_minima(const struct hv_db *db, int64_t t_ms,
                                 const char *pa, const char *pb) {
  struct pmin m = {hv_sep_params_default(), {"", "", ""}};
  double *f[3] = {&m.p.h_sep_m, &m.p.v_sep_m, &m.p.lookahead_s};
  for (size_t i = 0; i < hv_db_count(db, HV_AGREEMENT); i++) {
    const struct hv_object *ag = hv_db_at(db, HV_AGREEMENT, i);
    const struct hv_agreement_sep *sp = &ag->u.agreement.separation;
    if (t_ms < ag->from_ms || t_ms >= ag->to_ms ||
        !oracle_applies(db, ag, pa) || !oracle_applies(db, ag, pb))
      continue;
    const int has[3] = {sp->has_horizontal, sp->has_vertical,
                        sp->has_lookahead};
    const double v[3] = {sp->horizontal_m, sp->vertical_m, sp->lookahead_s};
    for (int k = 0; k < 3; k++)
      if (has[k] && (m.by[k][0] == '\0' || v[k] > *f[k])) {
        *f[k] = v[k];
        m.by[k] = ag->id;
      }
  }
  return m;
}

/* The zones an asset is in, from the findings so far (bit per zone). */
struct zstate {
  char asset[HV_ID_MAX];
  unsigned bits;
};

static void test_real_tracks(void **state) {
  struct ctx *c = *state;
  char path[4200];
  if ((size_t)snprintf(path, sizeof path, "%s/aircraft/traffic_switzerland.csv",
                       tu_env_or("HAVEN_SHARED_DATA", "/work/shared/data")) >=
      sizeof path)
    fail();
  if (access(path, R_OK) != 0) {
    print_message("no %s: skipped\n", path);
    skip();
  }
  struct adsb *rows = NULL;
  const int64_t minutes = 17 * 60; /* the whole sample: 05:00-22:00 */
  size_t n = read_adsb(path, minutes, &rows);
  assert_true(n > 5000);

  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(c->db));
  size_t nz = hv_db_count(c->db, HV_ZONE);
  assert_true(nz <= 32);
  const GEOSPreparedGeometry *pz[32];
  const struct hv_object *zo[32];
  for (size_t z = 0; z < nz; z++) {
    zo[z] = hv_db_at(c->db, HV_ZONE, z);
    pz[z] = GEOSPrepare_r(gh, zo[z]->geom);
    assert_non_null(pz[z]);
  }
  struct zstate *zs = calloc(n, sizeof *zs);
  size_t nzs = 0;
  assert_non_null(zs);

  struct hv_tracks *tr = engine(c);
  struct hv_findings f = {0};
  struct hv_error err = {0};
  /* Active conflicting pairs from the findings, as "a b" strings. */
  size_t cap_pairs = 4096, n_pairs = 0;
  char(*pairs)[2 * HV_ID_MAX + 2] = calloc(cap_pairs, sizeof *pairs);
  assert_non_null(pairs);
  const struct hv_sep_params def = hv_sep_params_default();
  size_t enters = 0, exits = 0, conflicts = 0, resolved = 0, checked = 0;
  size_t by_mou = 0, oracle_pairs = 0, beyond_defaults = 0;
  size_t batches = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && rows[j].p.t_ms < rows[i].p.t_ms + 10000)
      j++;
    struct hv_position *b = malloc((j - i) * sizeof *b);
    assert_non_null(b);
    int64_t newest = 0;
    for (size_t k = i; k < j; k++) {
      b[k - i] = rows[k].p;
      if (rows[k].p.t_ms > newest)
        newest = rows[k].p.t_ms;
    }
    f.n = 0;
    int rc = hv_tracks_ingest(tr, b, j - i, &f, &err);
    if (rc != HV_OK)
      fail_msg("batch at row %zu: %s", i, err.msg);
    free(b);
    for (size_t k = 0; k < f.n; k++) {
      const struct hv_finding *x = &f.v[k];
      assert_int_not_equal(x->kind, HV_FIND_IMPLAUSIBLE);
      assert_int_not_equal(x->kind, HV_FIND_OUT_OF_ORDER);
      if (x->kind == HV_FIND_ZONE_ENTER || x->kind == HV_FIND_ZONE_EXIT) {
        size_t s, z;
        for (s = 0; s < nzs && strcmp(zs[s].asset, x->asset) != 0; s++)
          ;
        if (s == nzs)
          snprintf(zs[nzs++].asset, sizeof zs->asset, "%s", x->asset);
        for (z = 0; z < nz && strcmp(zo[z]->id, x->obj_id) != 0; z++)
          ;
        assert_true(z < nz);
        /* The reported point against GEOS, and the sequence. */
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(gh, x->lon, x->lat);
        char in = GEOSPreparedIntersects_r(gh, pz[z], pt);
        GEOSGeom_destroy_r(gh, pt);
        int enter = x->kind == HV_FIND_ZONE_ENTER;
        if (in != enter || ((zs[s].bits >> z) & 1u) == (unsigned)enter)
          fail_msg("%s %s %s at %.6f %.6f: GEOS says %d, was inside %u",
                   hv_finding_kind_name(x->kind), x->asset, x->obj_id, x->lon,
                   x->lat, in, (zs[s].bits >> z) & 1u);
        zs[s].bits ^= 1u << z;
        enter ? enters++ : exits++;
      } else if (x->kind == HV_FIND_SEPARATION_CONFLICT ||
                 x->kind == HV_FIND_SEPARATION_RESOLVED) {
        char key[2 * HV_ID_MAX + 2];
        snprintf(key, sizeof key, "%s %s", x->asset, x->other_asset);
        size_t p;
        for (p = 0; p < n_pairs && strcmp(pairs[p], key) != 0; p++)
          ;
        if (x->kind == HV_FIND_SEPARATION_CONFLICT) {
          assert_int_equal(p, n_pairs);
          assert_string_not_equal(x->party, x->other_party);
          if (n_pairs == cap_pairs) {
            cap_pairs *= 2;
            pairs = realloc(pairs, cap_pairs * sizeof *pairs);
            assert_non_null(pairs);
          }
          memcpy(pairs[n_pairs++], key, sizeof key);
          conflicts++;
          /* held to the minima the rule gives this pair now */
          struct pmin m =
              oracle_minima(c->db, x->t_ms, x->party, x->other_party);
          if (!(x->h_sep_m == m.p.h_sep_m && x->v_sep_m == m.p.v_sep_m &&
                x->lookahead_s == m.p.lookahead_s) ||
              strcmp(x->h_sep_by, m.by[0]) || strcmp(x->v_sep_by, m.by[1]) ||
              strcmp(x->lookahead_by, m.by[2]))
            fail_msg("%s: minima %g %g %g (%s %s %s), the rule's %g %g %g "
                     "(%s %s %s)",
                     key, x->h_sep_m, x->v_sep_m, x->lookahead_s, x->h_sep_by,
                     x->v_sep_by, x->lookahead_by, m.p.h_sep_m, m.p.v_sep_m,
                     m.p.lookahead_s, m.by[0], m.by[1], m.by[2]);
          by_mou += strcmp(x->h_sep_by, "us-ru-mou-2015") == 0;
        } else {
          assert_true(p < n_pairs);
          memcpy(pairs[p], pairs[--n_pairs], sizeof *pairs);
          resolved++;
        }
      }
    }
    /* Each report's containment: the asset's zone set from the findings
     * equals GEOS's answer at its last report of the batch. */
    for (size_t k = i; k < j; k++) {
      const struct hv_position *r = &rows[k].p;
      size_t s;
      for (s = 0; s < nzs && strcmp(zs[s].asset, r->asset) != 0; s++)
        ;
      unsigned have = s < nzs ? zs[s].bits : 0, want = 0;
      struct hv_position last;
      assert_int_equal(hv_tracks_last(tr, r->asset, &last), HV_OK);
      if (last.t_ms != r->t_ms)
        continue; /* a later report of it in this batch decides */
      GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(gh, r->lon, r->lat);
      for (size_t z = 0; z < nz; z++)
        if (hv_zone_in_force(zo[z], r->t_ms) &&
            r->alt_m >= zo[z]->u.zone.alt_min_m &&
            r->alt_m <= zo[z]->u.zone.alt_max_m &&
            GEOSPreparedIntersects_r(gh, pz[z], pt) == 1)
          want |= 1u << z;
      GEOSGeom_destroy_r(gh, pt);
      if (have != want)
        fail_msg("%s at %.6f %.6f: zones from findings %#x, GEOS %#x", r->asset,
                 r->lon, r->lat, have, want);
      checked++;
    }
    /* Separation: the active pairs equal those of a brute-force oracle on
     * the same states, every pair put to the rule (bench/sep-oracle.h)
     * with its own minima (oracle_minima). */
    struct hv_state *st;
    const char **ids;
    size_t ns;
    assert_int_equal(hv_tracks_states(tr, newest, &st, &ids, &ns), HV_OK);
    const char *pname[8];
    size_t np = 0;
    struct pmin pm[8][8];
    uint8_t *pidx = malloc(ns ? ns : 1);
    double *pre = malloc((ns ? ns : 1) * 4 * sizeof *pre);
    assert_true(pidx && pre);
    for (size_t k = 0; k < ns; k++) {
      struct hv_position last;
      assert_int_equal(hv_tracks_last(tr, ids[k], &last), HV_OK);
      size_t q = 0;
      while (q < np && strcmp(pname[q], last.party) != 0)
        q++;
      if (q == np) {
        assert_true(np < 8);
        pname[np++] = last.party;
        for (size_t o = 0; o < np; o++)
          pm[q][o] = pm[o][q] =
              oracle_minima(c->db, newest, pname[q], pname[o]);
      }
      pidx[k] = (uint8_t)q;
      sep_oracle_pre(&st[k], &pre[4 * k]);
    }
    size_t found = 0;
    for (size_t x = 0; x < ns; x++)
      for (size_t y = x + 1; y < ns; y++) {
        if (st[x].party == st[y].party)
          continue;
        const struct pmin *m = &pm[pidx[x]][pidx[y]];
        struct hv_conflict cf;
        if (!sep_oracle_rule(&st[x], &pre[4 * x], &st[y], &pre[4 * y], &m->p,
                             &cf))
          continue;
        found++;
        beyond_defaults += !sep_oracle_rule(&st[x], &pre[4 * x], &st[y],
                                            &pre[4 * y], &def, &cf);
        char key[2 * HV_ID_MAX + 2];
        snprintf(key, sizeof key, "%s %s", ids[x], ids[y]);
        size_t p;
        for (p = 0; p < n_pairs && strcmp(pairs[p], key) != 0; p++)
          ;
        if (p == n_pairs)
          fail_msg("oracle pair %s not reported", key);
      }
    if (found != n_pairs)
      fail_msg("batch at row %zu: %zu pairs in conflict, the oracle finds %zu",
               i, n_pairs, found);
    oracle_pairs += found;
    free(pidx);
    free(pre);
    free(st);
    free(ids);
    batches++;
    i = j;
  }
  print_message("%zu reports in %zu batches, %zu assets: %zu zone entries, "
                "%zu exits, %zu conflicts (%zu held to us-ru-mou-2015), %zu "
                "resolved; %zu reports checked against GEOS; the oracle's "
                "pairs %zu over all passes, %zu of them only under an "
                "agreement's minima; %zu bytes per asset\n",
                n, batches, hv_tracks_count(tr), enters, exits, conflicts,
                by_mou, resolved, checked, oracle_pairs, beyond_defaults,
                hv_tracks_bytes_per_asset(tr));
  assert_true(enters > 0 && exits > 0 && conflicts > 0);
  /* The memorandum's minima made a difference: conflicts held to them, and
   * pairs in conflict only because of them. */
  assert_true(by_mou > 0 && beyond_defaults > 0);
  assert_true(hv_tracks_bytes_per_asset(tr) <= 256);
  for (size_t z = 0; z < nz; z++)
    GEOSPreparedGeom_destroy_r(gh, pz[z]);
  free(pairs);
  free(zs);
  free(rows);
  hv_findings_free(&f);
  hv_tracks_free(tr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_zone_enter_exit_once),
      cmocka_unit_test(test_agreement_terms),
      cmocka_unit_test(test_site_proximity_once),
      cmocka_unit_test(test_corridor_window),
      cmocka_unit_test(test_out_of_order_and_duplicate),
      cmocka_unit_test(test_implausible),
      cmocka_unit_test(test_malformed_batch),
      cmocka_unit_test(test_separation),
      cmocka_unit_test(test_separation_earlier_batch),
      cmocka_unit_test(test_separation_agreement_minima),
      cmocka_unit_test(test_separation_agreement_lookahead),
      cmocka_unit_test(test_separation_two_agreements),
      cmocka_unit_test(test_separation_minima_change),
      cmocka_unit_test(test_separation_engine_params),
      cmocka_unit_test(test_history_setting),
      cmocka_unit_test(test_real_tracks),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
