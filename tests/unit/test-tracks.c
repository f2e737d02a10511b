/*
 * test-tracks.c — the live-picture engine (haven/tracks.h) on the real
 * scenario: zone entry and exit (once, no repeat while inside), no-fly and
 * agreement violations, protected sites, corridors in their windows,
 * out-of-order, duplicate and implausible reports, refused batches,
 * separation conflicts and their resolution; and a run over real ADS-B
 * tracks (traffic_switzerland.csv moved over northern Syria) cross-checked
 * against GEOS containment of every reported point and against the
 * all-pairs separation oracle (bench/sep-oracle.h) on the engine's states.
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
  if (c == NULL)
    return 0;
  hv_db_close(c->db);
  if (c->run[0])
    tu_rm_tree(c->run);
  free(c);
  *state = NULL;
  return 0;
}

static int group_setup(void **state) {
  struct ctx *c = calloc(1, sizeof *c);
  if (c == NULL)
    return -1;
  *state = c;
  if (tu_scratch_dir(c->run, sizeof c->run, "tracks") != 0) {
    c->run[0] = '\0';
    goto fail;
  }
  if (tu_load_scenario(c->run, 0, &c->db) != 0)
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
 * over northern Syria, parties alternating by order of first appearance. */
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
    r->p.party = s % 2 ? "us" : "syr-gov";
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
  struct hv_conflicts oracle = {0};
  const struct hv_sep_params sep = hv_sep_params_default();
  size_t enters = 0, exits = 0, conflicts = 0, resolved = 0, checked = 0;
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
    /* Separation: the active pairs equal the oracle's on the same states. */
    struct hv_state *st;
    const char **ids;
    size_t ns;
    assert_int_equal(hv_tracks_states(tr, newest, &st, &ids, &ns), HV_OK);
    assert_int_equal(sep_oracle(st, ns, &sep, &oracle), 0);
    assert_int_equal(oracle.n, n_pairs);
    for (size_t k = 0; k < oracle.n; k++) {
      char key[2 * HV_ID_MAX + 2];
      snprintf(key, sizeof key, "%s %s", ids[oracle.v[k].a],
               ids[oracle.v[k].b]);
      size_t p;
      for (p = 0; p < n_pairs && strcmp(pairs[p], key) != 0; p++)
        ;
      if (p == n_pairs)
        fail_msg("oracle pair %s not reported", key);
    }
    free(st);
    free(ids);
    batches++;
    i = j;
  }
  print_message("%zu reports in %zu batches, %zu assets: %zu zone entries, "
                "%zu exits, %zu conflicts, %zu resolved; %zu reports checked "
                "against GEOS; %zu bytes per asset\n",
                n, batches, hv_tracks_count(tr), enters, exits, conflicts,
                resolved, checked, hv_tracks_bytes_per_asset(tr));
  assert_true(enters > 0 && exits > 0 && conflicts > 0);
  assert_true(hv_tracks_bytes_per_asset(tr) <= 256);
  for (size_t z = 0; z < nz; z++)
    GEOSPreparedGeom_destroy_r(gh, pz[z]);
  hv_conflicts_free(&oracle);
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
      cmocka_unit_test(test_real_tracks),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
