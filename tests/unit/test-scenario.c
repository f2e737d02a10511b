/*
 * test-scenario.c — the bundled real scenario is what data/SOURCES.md ("How
 * the scenario was drawn") says it is.
 *
 * The group setup runs the real generator, $HAVEN_BUILD_DIR/mkscenario, on
 * $HAVEN_SOURCE_DIR/data/src into a directory of its own under
 * HAVEN_SCRATCH_DIR (run-<pid>), opens a haven there and imports the whole
 * scenario: data/scenario/registry.json, the four generated GeoJSON files
 * and data/scenario/corridors.geojson. The tests then measure the imported
 * objects with libhaven's geometry (hv_geo_*, and GEOS directly through
 * hv_geo_geos) against the published sources read independently here: the
 * Natural Earth Syria-Turkey border line and Israel polygon, and the OCHA
 * governorates as imported.
 *
 * Every geometry this file makes belongs to the db's geometry context and
 * is freed before the db is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
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

#include "haven/haven.h"
#include "testutil.h"

/* The band's definition in tools/mkscenario.c: depth is measured to the
 * stretch of the Syria-Turkey line between these meridians only. */
#define BAND_LON_WEST 37.03
#define BAND_LON_EAST 38.03
#define BAND_DEPTH_M 45000.0

#define KM2 1e6

/* ---- the fixture --------------------------------------------------------- */

struct ctx {
  char run[4096]; /* HAVEN_SCRATCH_DIR/run-<pid>: everything written */
  struct hv_db *db;
  struct hv_geo *geo;
  GEOSContextHandle_t gh;
  GEOSGeometry *border; /* the whole Natural Earth Syria-Turkey line */
  GEOSGeometry *near;   /* its Azaz-Jarablus stretch (as mkscenario) */
  GEOSGeometry *israel; /* the Natural Earth Israel polygon */
};

/* snprintf into buf; 0 when it fits. */
static int fmt(char *buf, size_t size, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t size, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(buf, size, f, ap);
  va_end(ap);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Reads the geometry of the feature of the source file name (in data/src)
 * whose property key is val. */
static int source_geometry(struct ctx *c, const char *name, const char *key,
                           const char *val, GEOSGeometry **out) {
  char path[4200];
  *out = NULL;
  if (fmt(path, sizeof path, "%s/data/src/%s",
          tu_env_or("HAVEN_SOURCE_DIR", "."), name))
    return -1;
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  if (doc == NULL) {
    print_error("%s: %s\n", path, je.text);
    return -1;
  }
  const json_t *features = json_object_get(doc, "features");
  size_t found = 0;
  int rc = 0;
  for (size_t i = 0; i < json_array_size(features); i++) {
    const json_t *f = json_array_get(features, i);
    const char *v = json_string_value(
        json_object_get(json_object_get(f, "properties"), key));
    if (v == NULL || strcmp(v, val) != 0)
      continue;
    found++;
    struct hv_error err = {0};
    if (*out == NULL &&
        hv_geo_from_geojson(c->geo, json_object_get(f, "geometry"), out,
                            &err) != HV_OK) {
      print_error("%s: feature %zu: %s\n", path, i, err.msg);
      rc = -1;
    }
  }
  if (found != 1) {
    print_error("%s: %zu features with properties.%s = \"%s\", expected 1\n",
                path, found, key, val);
    rc = -1;
  }
  json_decref(doc);
  return rc;
}

static int group_teardown(void **state) {
  struct ctx *c = *state;
  if (c == NULL)
    return 0;
  if (c->geo) {
    hv_geo_geom_free(c->geo, c->border);
    hv_geo_geom_free(c->geo, c->near);
    hv_geo_geom_free(c->geo, c->israel);
  }
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
  if (tu_scratch_dir(c->run, sizeof c->run, "run") != 0) {
    c->run[0] = '\0';
    goto fail;
  }
  if (tu_load_scenario(c->run, 1, &c->db) != 0)
    goto fail;
  c->geo = hv_db_geo(c->db);
  c->gh = hv_geo_geos(c->geo);

  /* The sources, read here independently of mkscenario. */
  if (source_geometry(c, "ne10m_syria_border_lines.geojson", "b", "Turkey",
                      &c->border) != 0 ||
      source_geometry(c, "ne10m_syria_and_neighbours.geojson", "name", "Israel",
                      &c->israel) != 0)
    goto fail;
  c->near = GEOSClipByRect_r(c->gh, c->border, BAND_LON_WEST, 30.0,
                             BAND_LON_EAST, 40.0);
  if (c->near == NULL || GEOSisEmpty_r(c->gh, c->near) != 0) {
    print_error("the Syria-Turkey line does not reach lon %.2f-%.2f\n",
                BAND_LON_WEST, BAND_LON_EAST);
    goto fail;
  }
  return 0;
fail:
  group_teardown(state);
  return -1;
}

/* ---- helpers ------------------------------------------------------------- */

static const struct hv_object *get(struct ctx *c, enum hv_kind kind,
                                   const char *id) {
  const struct hv_object *o = hv_db_get(c->db, kind, id);
  if (o == NULL)
    fail_msg("no %s %s in the imported scenario", hv_kind_name(kind), id);
  return o;
}

static int64_t t_of(const char *text) {
  int64_t t = 0;
  if (hv_time_parse(text, &t) != HV_OK)
    fail_msg("cannot parse time %s", text);
  return t;
}

/* Area in m2 of the polygonal parts of g (borrowed): a GEOS overlay may give
 * a collection with lines and points where boundaries touch. */
static double area_m2(struct ctx *c, const GEOSGeometry *g) {
  if (g == NULL)
    fail_msg("GEOS operation failed");
  int type = GEOSGeomTypeId_r(c->gh, g);
  double a = 0;
  if (type == GEOS_GEOMETRYCOLLECTION) {
    int n = GEOSGetNumGeometries_r(c->gh, g);
    for (int i = 0; i < n; i++)
      a += area_m2(c, GEOSGetGeometryN_r(c->gh, g, i));
    return a;
  }
  if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON)
    return 0;
  int rc = hv_geo_area_m2(c->geo, g, &a);
  if (rc != HV_OK)
    fail_msg("hv_geo_area_m2: %s", hv_strerror(rc));
  return a;
}

/* Area of an overlay result, which this frees. */
static double area_taken(struct ctx *c, GEOSGeometry *g) {
  double a = area_m2(c, g);
  hv_geo_geom_free(c->geo, g);
  return a;
}

/* 1 when the object's geometry covers (lon, lat), else 0. */
static int covers(struct ctx *c, const struct hv_object *o, double lon,
                  double lat) {
  int r = hv_geo_covers_point(c->geo, o->prepared, lon, lat);
  if (r < 0)
    fail_msg("hv_geo_covers_point(%s): %s", o->id, hv_strerror(r));
  return r;
}

/* Area of a inside b, and of a outside b, in m2. */
static void overlay(struct ctx *c, const GEOSGeometry *a, const GEOSGeometry *b,
                    double *in_m2, double *out_m2) {
  if (in_m2)
    *in_m2 = area_taken(c, GEOSIntersection_r(c->gh, a, b));
  if (out_m2)
    *out_m2 = area_taken(c, GEOSDifference_r(c->gh, a, b));
}

static void assert_near_rel(double got, double want, double rel,
                            const char *what) {
  if (!(fabs(got - want) <= rel * fabs(want)))
    fail_msg("%s: %.6g, expected %.6g within %.2g%%", what, got, want,
             rel * 100);
}

/* The latitude at which the meridian lon crosses the line g. */
static double crossing_lat(struct ctx *c, const GEOSGeometry *g, double lon) {
  GEOSCoordSequence *cs = GEOSCoordSeq_create_r(c->gh, 2, 2);
  assert_non_null(cs);
  GEOSCoordSeq_setXY_r(c->gh, cs, 0, lon, 30.0);
  GEOSCoordSeq_setXY_r(c->gh, cs, 1, lon, 40.0);
  GEOSGeometry *meridian = GEOSGeom_createLineString_r(c->gh, cs);
  assert_non_null(meridian);
  GEOSGeometry *x = GEOSIntersection_r(c->gh, g, meridian);
  hv_geo_geom_free(c->geo, meridian);
  assert_non_null(x);
  int n = GEOSGetNumGeometries_r(c->gh, x);
  int type = GEOSGeomTypeId_r(c->gh, GEOSGetGeometryN_r(c->gh, x, 0));
  double lat = NAN;
  if (n == 1 && type == GEOS_POINT)
    GEOSGeomGetY_r(c->gh, GEOSGetGeometryN_r(c->gh, x, 0), &lat);
  hv_geo_geom_free(c->geo, x);
  if (n != 1 || type != GEOS_POINT)
    fail_msg("the meridian %.3f E crosses the border line %d times", lon, n);
  return lat;
}

/* The latitude dist_m metres (geodesic) due south of (lon, lat). */
static double lat_south(double lon, double lat, double dist_m) {
  double lo = lat - 2.0, hi = lat; /* far enough for < 200 km */
  for (int i = 0; i < 80; i++) {
    double mid = (lo + hi) / 2;
    if (hv_geo_distance_m(lon, lat, lon, mid) > dist_m)
      lo = mid;
    else
      hi = mid;
  }
  return (lo + hi) / 2;
}

/* ---- counts and the record ----------------------------------------------- */

static void test_counts(void **state) {
  struct ctx *c = *state;
  assert_int_equal(hv_db_count(c->db, HV_AREA), 14);
  assert_int_equal(hv_db_count(c->db, HV_ZONE), 6);
  assert_int_equal(hv_db_count(c->db, HV_SITE), 33);
  assert_int_equal(hv_db_count(c->db, HV_DELINEATION), 4);
  assert_int_equal(hv_db_count(c->db, HV_CORRIDOR), 2);
  assert_int_equal(hv_db_count(c->db, HV_AGREEMENT), 3);
  size_t parties = hv_db_count(c->db, HV_PARTY);
  print_message("parties: %zu\n", parties);
  assert_true(parties >= 40);

  static const char *const zones[] = {
      "astana-idlib", "astana-north-homs", "astana-eastern-ghouta",
      "astana-south", "border-safe-zone",  "border-no-fly"};
  for (size_t i = 0; i < sizeof zones / sizeof *zones; i++)
    get(c, HV_ZONE, zones[i]);
  /* Areas: id = lowercase pcode, level adm1 (SY01..SY14). */
  for (int i = 1; i <= 14; i++) {
    char id[8], pcode[8];
    assert_int_equal(fmt(id, sizeof id, "sy%02d", i), 0);
    assert_int_equal(fmt(pcode, sizeof pcode, "SY%02d", i), 0);
    assert_string_equal(get(c, HV_AREA, id)->u.area.pcode, pcode);
  }
  get(c, HV_AGREEMENT, "coh-2016");
  get(c, HV_AGREEMENT, "astana-2017");
  /* The US-Russia flight-safety memorandum: separation minima only (a
   * modelling choice, data/SOURCES.md), for us and ru but not syr-gov. */
  const struct hv_object *mou = get(c, HV_AGREEMENT, "us-ru-mou-2015");
  const struct hv_agreement_sep *sp = &mou->u.agreement.separation;
  assert_true(sp->has_horizontal && sp->horizontal_m == 18520.0);
  assert_true(sp->has_vertical && sp->vertical_m == 609.6);
  assert_false(sp->has_lookahead);
  assert_null(mou->u.agreement.terms[0]);
  assert_int_equal(hv_db_coverage(c->db, mou, "us"), HV_COVER_DIRECT);
  assert_int_equal(hv_db_coverage(c->db, mou, "ru"), HV_COVER_DIRECT);
  assert_int_equal(hv_db_coverage(c->db, mou, "syr-gov"), HV_COVER_EXCLUDED);
  get(c, HV_CORRIDOR, "castello-road");
  get(c, HV_CORRIDOR, "aleppo-evacuation-2016");

  /* Each delineation is its whole governorate, for 2016, of its party. */
  static const struct {
    const char *id, *party, *area;
  } dl[] = {{"del-2016-is-ar-raqqa", "is", "sy11"},
            {"del-2016-is-deir-ez-zor", "is", "sy09"},
            {"del-2016-sdf-al-hasakeh", "sdf", "sy08"},
            {"del-2016-syr-gov-tartous", "syr-gov", "sy10"}};
  for (size_t i = 0; i < sizeof dl / sizeof *dl; i++) {
    const struct hv_object *d = get(c, HV_DELINEATION, dl[i].id);
    assert_string_equal(d->u.delineation.party, dl[i].party);
    assert_true(d->from_ms == t_of("2016-01-01"));
    assert_true(d->to_ms == t_of("2017-01-01"));
    assert_int_equal(
        GEOSEquals_r(c->gh, d->geom, get(c, HV_AREA, dl[i].area)->geom), 1);
  }

  struct hv_verify_report rep;
  memset(&rep, 0, sizeof rep);
  struct hv_error err = {0};
  int rc = hv_ledger_verify(c->db, &rep, &err);
  if (rc != HV_OK)
    fail_msg("the ledger does not verify: %s (entry %lld): %s", hv_err_name(rc),
             (long long)rep.bad_seq, err.msg);
  assert_true(rep.bad_seq == 0);
  /* One entry at least per object written. */
  size_t objects = 0;
  for (int k = 0; k < HV_KIND_COUNT; k++)
    objects += hv_db_count(c->db, (enum hv_kind)k);
  assert_true(rep.entries >= (int64_t)objects);
}

/* ---- the border safe zone and no-fly zone -------------------------------- */

static void test_border_band(void **state) {
  struct ctx *c = *state;
  const struct hv_object *z = get(c, HV_ZONE, "border-safe-zone");
  const struct hv_object *nf = get(c, HV_ZONE, "border-no-fly");
  assert_string_equal(z->u.zone.kind, "safe");
  assert_string_equal(nf->u.zone.kind, "no_fly");

  /* Depth: every vertex within 45 km (+100 m) of the Azaz-Jarablus stretch,
   * and the deepest one at the full 45 km. */
  GEOSGeometry *pts = GEOSGeom_extractUniquePoints_r(c->gh, z->geom);
  assert_non_null(pts);
  int n = GEOSGetNumGeometries_r(c->gh, pts);
  double max_d = 0, max_x = 0, max_y = 0;
  int rc = HV_OK;
  for (int i = 0; i < n && rc == HV_OK; i++) {
    double x = 0, y = 0, d = 0;
    const GEOSGeometry *p = GEOSGetGeometryN_r(c->gh, pts, i);
    GEOSGeomGetX_r(c->gh, p, &x);
    GEOSGeomGetY_r(c->gh, p, &y);
    rc = hv_geo_distance_to_m(c->geo, x, y, c->near, &d);
    if (d > max_d) {
      max_d = d;
      max_x = x;
      max_y = y;
    }
  }
  hv_geo_geom_free(c->geo, pts);
  if (rc != HV_OK)
    fail_msg("hv_geo_distance_to_m: %s", hv_strerror(rc));
  print_message("border band: %d vertices, max distance to the Azaz-Jarablus "
                "border %.3f km (at %.6f E %.6f N)\n",
                n, max_d / 1e3, max_x, max_y);
  if (max_d > BAND_DEPTH_M + 100)
    fail_msg("vertex %.6f E %.6f N is %.3f km from the border, more than "
             "%.1f km",
             max_x, max_y, max_d / 1e3, (BAND_DEPTH_M + 100) / 1e3);
  if (max_d < BAND_DEPTH_M - 100)
    fail_msg("the band is only %.3f km deep, not 45 km", max_d / 1e3);

  /* Area: 4,273 km2 in SOURCES.md. */
  double a = area_m2(c, z->geom);
  print_message("border band: area %.1f km2\n", a / KM2);
  assert_true(a >= 4000 * KM2 && a <= 4600 * KM2);
  assert_near_rel(a, 4273 * KM2, 0.005, "border band area");

  /* The stretch of border: 96.7 km. */
  double len = 0;
  for (int i = 0; i < GEOSGetNumGeometries_r(c->gh, c->near); i++) {
    const GEOSCoordSequence *cs =
        GEOSGeom_getCoordSeq_r(c->gh, GEOSGetGeometryN_r(c->gh, c->near, i));
    unsigned np = 0;
    assert_non_null(cs);
    assert_int_equal(GEOSCoordSeq_getSize_r(c->gh, cs, &np), 1);
    for (unsigned k = 1; k < np; k++) {
      double x0, y0, x1, y1;
      GEOSCoordSeq_getXY_r(c->gh, cs, k - 1, &x0, &y0);
      GEOSCoordSeq_getXY_r(c->gh, cs, k, &x1, &y1);
      len += hv_geo_distance_m(x0, y0, x1, y1);
    }
  }
  print_message("border band: %.2f km of border\n", len / 1e3);
  assert_true(fabs(len - 96700) <= 100);

  /* Cut along the meridians 37.03 and 38.03: reaches both, not beyond. */
  print_message("border band: envelope lon %.6f-%.6f lat %.6f-%.6f\n", z->minx,
                z->maxx, z->miny, z->maxy);
  assert_true(z->minx >= 37.02 && z->maxx <= 38.04);
  assert_true(z->minx <= 37.04 && z->maxx >= 38.02);

  /* The Azaz hospital is inside (it would not be with a cut at 37.05). */
  const struct hv_object *azaz = NULL;
  for (size_t i = 0; i < hv_db_count(c->db, HV_SITE); i++) {
    const struct hv_object *s = hv_db_at(c->db, HV_SITE, i);
    if (strstr(s->name, "/ Azaz") != NULL) {
      assert_null(azaz);
      azaz = s;
    }
  }
  assert_non_null(azaz);
  assert_true(azaz->u.site.lon > 37.03 && azaz->u.site.lon < 37.05);
  assert_int_equal(covers(c, z, azaz->u.site.lon, azaz->u.site.lat), 1);

  /* On the meridian 37.5: 30 km south of the border is in, 60 km is not. */
  double lat_b = crossing_lat(c, c->border, 37.5);
  double lat30 = lat_south(37.5, lat_b, 30000);
  double lat60 = lat_south(37.5, lat_b, 60000);
  print_message("border at 37.5 E: %.6f N; 30 km south %.6f N, 60 km south "
                "%.6f N\n",
                lat_b, lat30, lat60);
  assert_true(fabs(hv_geo_distance_m(37.5, lat_b, 37.5, lat60) - 60000) < 1);
  assert_int_equal(covers(c, z, 37.5, lat30), 1);
  assert_int_equal(covers(c, z, 37.5, lat60), 0);
  /* ...and in Turkey, 10 km north, it is not either. */
  assert_int_equal(covers(c, z, 37.5, lat_b + 0.09), 0);

  /* The no-fly zone: same shape, its two rules; the safe zone has none. */
  assert_int_equal(GEOSEquals_r(c->gh, z->geom, nf->geom), 1);
  assert_int_equal(z->u.zone.n_rules, 0);
  assert_int_equal(nf->u.zone.n_rules, 2);
  static const char *const hostile[] = {"syr-gov", "ru"};
  static const enum hv_asset_class air[] = {HV_ASSET_FIXED_WING,
                                            HV_ASSET_ROTARY, HV_ASSET_UAV};
  for (size_t i = 0; i < 2; i++)
    for (size_t k = 0; k < 3; k++)
      for (int overfly = 0; overfly <= 1; overfly++)
        if (hv_zone_permits(nf, hostile[i], air[k], overfly) != 0)
          fail_msg("border-no-fly permits %s %s to %s", hostile[i],
                   hv_asset_class_name(air[k]), overfly ? "overfly" : "enter");
  static const char *const anyone[] = {"syr-gov", "ru", "ocha", "tr", "us"};
  for (size_t i = 0; i < sizeof anyone / sizeof *anyone; i++)
    for (int overfly = 0; overfly <= 1; overfly++)
      if (hv_zone_permits(nf, anyone[i], HV_ASSET_HUMANITARIAN, overfly) != 1)
        fail_msg("border-no-fly forbids humanitarian assets of %s to %s",
                 anyone[i], overfly ? "overfly" : "enter");
  /* Other parties' aircraft: no rule matches, permitted. */
  assert_int_equal(hv_zone_permits(nf, "tr", HV_ASSET_FIXED_WING, 1), 1);

  /* Declared on 2015-07-27, never established; guarantors us and tr. */
  const struct hv_object *both[] = {z, nf};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(both[i]->u.zone.phase, HV_PHASE_DECLARED);
    assert_int_equal(both[i]->u.zone.n_history, 1);
    assert_true(both[i]->from_ms == t_of("2015-07-27"));
    assert_true(both[i]->to_ms == HV_TIME_OPEN);
    assert_true(hv_ids_contain(both[i]->u.zone.guarantors, "us"));
    assert_true(hv_ids_contain(both[i]->u.zone.guarantors, "tr"));
  }
}

/* ---- the Astana de-escalation areas -------------------------------------- */

static void test_astana_areas(void **state) {
  struct ctx *c = *state;
  double a, in, out;

  /* Idlib: the whole of Idleb governorate (5,416 km2). */
  const struct hv_object *idlib = get(c, HV_ZONE, "astana-idlib");
  double a_sy07 = area_m2(c, get(c, HV_AREA, "sy07")->geom);
  a = area_m2(c, idlib->geom);
  print_message("astana-idlib %.1f km2, Idleb (sy07) %.1f km2\n", a / KM2,
                a_sy07 / KM2);
  assert_near_rel(a, a_sy07, 0.001, "astana-idlib area vs Idleb's");
  assert_near_rel(a, 5416 * KM2, 0.001, "astana-idlib area");

  /* South: Dar'a and Quneitra less the occupied Golan (4,451 km2). */
  const struct hv_object *south = get(c, HV_ZONE, "astana-south");
  GEOSGeometry *dq = GEOSUnion_r(c->gh, get(c, HV_AREA, "sy12")->geom,
                                 get(c, HV_AREA, "sy14")->geom);
  assert_non_null(dq);
  double a_dq = area_m2(c, dq);
  overlay(c, south->geom, dq, NULL, &out);
  hv_geo_geom_free(c->geo, dq);
  overlay(c, south->geom, c->israel, &in, NULL);
  a = area_m2(c, south->geom);
  print_message("astana-south %.1f km2; outside Dar'a+Quneitra %.4f km2; in "
                "the Israel polygon %.4f km2; Dar'a+Quneitra %.1f km2\n",
                a / KM2, out / KM2, in / KM2, a_dq / KM2);
  assert_true(out <= 1 * KM2);
  assert_true(in <= 1 * KM2);
  assert_near_rel(a, 4451 * KM2, 0.002, "astana-south area");
  /* What was taken out is the Golan, ~1,100 km2. */
  assert_true(a_dq - a >= 1000 * KM2 && a_dq - a <= 1200 * KM2);

  /* Northern Homs: Homs governorate in a box, not Homs city (846 km2). */
  const struct hv_object *homs = get(c, HV_ZONE, "astana-north-homs");
  overlay(c, homs->geom, get(c, HV_AREA, "sy04")->geom, NULL, &out);
  a = area_m2(c, homs->geom);
  print_message("astana-north-homs %.1f km2, %.6f km2 outside Homs (sy04)\n",
                a / KM2, out / KM2);
  assert_true(out <= 0.01 * KM2);
  assert_near_rel(a, 846 * KM2, 0.002, "astana-north-homs area");
  assert_true(homs->minx >= 36.45 - 1e-6 && homs->maxx <= 36.95 + 1e-6 &&
              homs->miny >= 34.77 - 1e-6 && homs->maxy <= 34.98 + 1e-6);
  assert_int_equal(covers(c, homs, 36.716, 34.730), 0); /* Homs city */
  assert_int_equal(covers(c, homs, 36.717, 34.923), 1); /* Rastan */
  assert_int_equal(covers(c, get(c, HV_AREA, "sy04"), 36.716, 34.730), 1);

  /* Eastern Ghouta: Rural Damascus in a box around Douma (369 km2). */
  const struct hv_object *gh = get(c, HV_ZONE, "astana-eastern-ghouta");
  overlay(c, gh->geom, get(c, HV_AREA, "sy03")->geom, NULL, &out);
  a = area_m2(c, gh->geom);
  print_message("astana-eastern-ghouta %.1f km2, %.6f km2 outside Rural "
                "Damascus (sy03)\n",
                a / KM2, out / KM2);
  assert_true(out <= 0.01 * KM2);
  assert_near_rel(a, 369 * KM2, 0.003, "astana-eastern-ghouta area");
  assert_true(gh->minx >= 36.33 - 1e-6 && gh->maxx <= 36.56 + 1e-6 &&
              gh->miny >= 33.47 - 1e-6 && gh->maxy <= 33.63 + 1e-6);
  assert_int_equal(covers(c, gh, 36.40, 33.57), 1); /* Douma */

  /* Dates: declared 2017-05-04, valid from 2017-05-06, established
   * 2017-09-15, by the coordinator; no end. */
  static const char *const ids[] = {"astana-idlib", "astana-north-homs",
                                    "astana-eastern-ghouta", "astana-south"};
  for (size_t i = 0; i < 4; i++) {
    const struct hv_object *z = get(c, HV_ZONE, ids[i]);
    assert_string_equal(z->u.zone.kind, "de_escalation");
    assert_true(z->from_ms == t_of("2017-05-06"));
    assert_true(z->to_ms == HV_TIME_OPEN);
    assert_int_equal(z->u.zone.n_history, 2);
    assert_int_equal(z->u.zone.history[0].phase, HV_PHASE_DECLARED);
    assert_true(z->u.zone.history[0].at_ms == t_of("2017-05-04"));
    assert_int_equal(z->u.zone.history[1].phase, HV_PHASE_ESTABLISHED);
    assert_true(z->u.zone.history[1].at_ms == t_of("2017-09-15"));
    assert_string_equal(z->u.zone.history[0].by, HV_COORDINATOR);
    assert_string_equal(z->u.zone.history[1].by, HV_COORDINATOR);
    assert_true(hv_ids_contain(z->u.zone.guarantors, "ru"));
    assert_true(hv_ids_contain(z->u.zone.guarantors, "tr"));
    assert_true(hv_ids_contain(z->u.zone.guarantors, "ir"));
  }
}

/* ---- protected sites ----------------------------------------------------- */

static void test_sites(void **state) {
  struct ctx *c = *state;
  size_t n = hv_db_count(c->db, HV_SITE), na = hv_db_count(c->db, HV_AREA);
  for (size_t i = 0; i < n; i++) {
    const struct hv_object *s = hv_db_at(c->db, HV_SITE, i);
    if (s->u.site.radius_m != 300)
      fail_msg("%s: radius %g m, expected 300", s->id, s->u.site.radius_m);
    assert_string_equal(s->u.site.category, "hospital");
    assert_string_equal(s->u.site.notified_by, "ocha");
    assert_true(strncmp(s->id, "site-", 5) == 0);
    size_t in = 0;
    for (size_t k = 0; k < na; k++)
      in += (size_t)covers(c, hv_db_at(c->db, HV_AREA, k), s->u.site.lon,
                           s->u.site.lat);
    if (in == 0)
      fail_msg("%s (%s) at %.6f E %.6f N is in no governorate of Syria", s->id,
               s->name, s->u.site.lon, s->u.site.lat);
  }
  double min_d = INFINITY;
  const char *min_a = "", *min_b = "";
  for (size_t i = 0; i < n; i++)
    for (size_t k = i + 1; k < n; k++) {
      const struct hv_object *a = hv_db_at(c->db, HV_SITE, i);
      const struct hv_object *b = hv_db_at(c->db, HV_SITE, k);
      double d = hv_geo_distance_m(a->u.site.lon, a->u.site.lat, b->u.site.lon,
                                   b->u.site.lat);
      if (d < min_d) {
        min_d = d;
        min_a = a->id;
        min_b = b->id;
      }
    }
  print_message("sites: %zu, nearest pair %s and %s, %.1f m apart\n", n, min_a,
                min_b, min_d);
  if (!(min_d >= 25))
    fail_msg("sites %s and %s are %.1f m apart: the same facility", min_a,
             min_b, min_d);
}

/* ---- zones at a place and time ------------------------------------------- */

/* Zones at Idlib city at time text; the single hit's phase goes in *phase. */
static size_t idlib_city_at(struct ctx *c, const char *text,
                            enum hv_phase *phase) {
  struct hv_hits h = {0};
  int rc = hv_db_zones_at(c->db, 36.633, 35.930, NAN, t_of(text), &h);
  size_t n = h.n;
  int ok = rc == HV_OK &&
           (n == 0 || (n == 1 && strcmp(h.v[0].obj->id, "astana-idlib") == 0));
  if (n == 1)
    *phase = h.v[0].phase;
  const char *first = n ? h.v[0].obj->id : "";
  char first_id[HV_ID_MAX + 1];
  assert_int_equal(fmt(first_id, sizeof first_id, "%s", first), 0);
  hv_hits_free(&h);
  if (!ok)
    fail_msg("zones at Idlib city at %s: %s, %zu hits (first %s)", text,
             hv_err_name(rc), n, first_id);
  return n;
}

static void test_zones_at_idlib(void **state) {
  struct ctx *c = *state;
  enum hv_phase ph = HV_PHASE_COUNT;
  /* Before the memorandum: nothing. */
  assert_int_equal(idlib_city_at(c, "2016-06-01", &ph), 0);
  /* Signed (declared) on 05-04 but in force only from 05-06 (SOURCES.md:
   * "declared 2017-05-04 ..., valid from 2017-05-06"). */
  assert_int_equal(
      hv_zone_phase_at(get(c, HV_ZONE, "astana-idlib"), t_of("2017-05-05")),
      HV_PHASE_DECLARED);
  assert_int_equal(idlib_city_at(c, "2017-05-05", &ph), 0);
  /* In force and declared until Astana 6 on 2017-09-15... */
  assert_int_equal(idlib_city_at(c, "2017-05-06", &ph), 1);
  assert_int_equal(ph, HV_PHASE_DECLARED);
  ph = HV_PHASE_COUNT;
  assert_int_equal(idlib_city_at(c, "2017-06-01", &ph), 1);
  assert_int_equal(ph, HV_PHASE_DECLARED);
  /* ...established from then on. */
  ph = HV_PHASE_COUNT;
  assert_int_equal(idlib_city_at(c, "2017-09-15", &ph), 1);
  assert_int_equal(ph, HV_PHASE_ESTABLISHED);
  ph = HV_PHASE_COUNT;
  assert_int_equal(idlib_city_at(c, "2018-01-01", &ph), 1);
  assert_int_equal(ph, HV_PHASE_ESTABLISHED);
}

/* ---- parties and agreements ---------------------------------------------- */

/* 1 when party id's sponsor chain (itself included) reaches root. */
static int chain_reaches(struct ctx *c, const char *id, const char *root) {
  struct hv_hits h = {0};
  int rc = hv_db_sponsor_chain(c->db, id, &h);
  int found = 0;
  for (size_t i = 0; i < h.n; i++)
    if (strcmp(h.v[i].obj->id, root) == 0)
      found = 1;
  hv_hits_free(&h);
  if (rc != HV_OK)
    fail_msg("sponsor chain of %s: %s", id, hv_err_name(rc));
  return found;
}

static void test_agreements(void **state) {
  struct ctx *c = *state;
  const struct hv_object *coh = get(c, HV_AGREEMENT, "coh-2016");
  const struct hv_object *ast = get(c, HV_AGREEMENT, "astana-2017");

  /* coh-2016: midnight Damascus 2016-02-27, nationwide, no end. */
  assert_true(coh->from_ms == t_of("2016-02-27T00:00:00+02:00"));
  assert_true(coh->to_ms == HV_TIME_OPEN);
  assert_int_equal(coh->u.agreement.nationwide, 1);
  assert_true(hv_ids_contain(coh->u.agreement.excluded, "is"));
  assert_true(hv_ids_contain(coh->u.agreement.excluded, "jfs"));
  assert_true(hv_ids_contain(coh->u.agreement.covered, "syr-gov"));
  assert_int_equal(hv_db_coverage(c->db, coh, "is"), HV_COVER_EXCLUDED);
  assert_int_equal(hv_db_coverage(c->db, coh, "jfs"), HV_COVER_EXCLUDED);
  assert_int_equal(hv_db_coverage(c->db, coh, "syr-gov"), HV_COVER_DIRECT);
  assert_int_equal(hv_db_coverage(c->db, coh, "ndf"), HV_COVER_SPONSOR);

  /* astana-2017: the four zones; no Turkish-backed party excluded. */
  assert_true(ast->from_ms == t_of("2017-05-06"));
  assert_int_equal(ast->u.agreement.nationwide, 0);
  static const char *const scope[] = {"astana-idlib", "astana-north-homs",
                                      "astana-eastern-ghouta", "astana-south"};
  for (size_t i = 0; i < 4; i++)
    assert_true(hv_ids_contain(ast->u.agreement.scope, scope[i]));
  assert_int_equal(hv_db_coverage(c->db, ast, "jfs"), HV_COVER_EXCLUDED);
  size_t n_tr = 0;
  for (size_t i = 0; i < hv_db_count(c->db, HV_PARTY); i++) {
    const char *id = hv_db_at(c->db, HV_PARTY, i)->id;
    if (!chain_reaches(c, id, "tr"))
      continue;
    n_tr++;
    enum hv_coverage cov = hv_db_coverage(c->db, ast, id);
    if (cov == HV_COVER_EXCLUDED &&
        !hv_ids_contain(ast->u.agreement.excluded, id))
      fail_msg("astana-2017 excludes %s, backed by tr, without listing it", id);
  }
  print_message("parties whose sponsor chain reaches tr: %zu\n", n_tr);
  /* tr itself and the eight Turkish-backed groups of SOURCES.md. */
  assert_int_equal(n_tr, 9);

  /* Aliases from UCDP GED. */
  static const struct {
    const char *alias, *id;
  } al[] = {{"Jabhat Fateh al-Sham", "jfs"},
            {"Government of Syria", "syr-gov"},
            {"IS", "is"}};
  for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
    const struct hv_object *p = hv_db_party_by_alias(c->db, al[i].alias);
    if (p == NULL)
      fail_msg("no party with alias \"%s\"", al[i].alias);
    assert_string_equal(p->id, al[i].id);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counts),         cmocka_unit_test(test_border_band),
      cmocka_unit_test(test_astana_areas),   cmocka_unit_test(test_sites),
      cmocka_unit_test(test_zones_at_idlib), cmocka_unit_test(test_agreements),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
