/*
 * test-geo.c — geometry and geodesy (lib/geo.c): GeoJSON into GEOS with its
 * checks, and measures in metres.
 *
 * What must hold: distances are geodesic on WGS84 (checked against values
 * computed independently with Vincenty's inverse formula); areas and
 * buffers are metric, never in degrees (checked against the OCHA areas of
 * the 14 Syrian governorates and against pi r^2); every bad geometry is an
 * error naming the field and the reason, never a crash.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/geo.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

/* Reads a geometry that must be accepted. Caller frees. */
static GEOSGeometry *geom_ok(struct hv_geo *geo, const char *text) {
  json_t *j = tu_js(text);
  GEOSGeometry *g = NULL;
  struct hv_error err = {0};
  int rc = hv_geo_from_geojson(geo, j, &g, &err);
  json_decref(j);
  if (rc != HV_OK)
    fail_msg("hv_geo_from_geojson(%s) = %s: %s", text, hv_err_name(rc),
             err.msg);
  assert_non_null(g);
  return g;
}

/* Reads a geometry that must be refused with code, the message holding
 * every one of the NULL-terminated needles. */
static void geom_bad(struct hv_geo *geo, const char *text, int code, ...) {
  json_t *j = tu_js(text);
  GEOSGeometry *g = (GEOSGeometry *)1;
  struct hv_error err = {0};
  int rc = hv_geo_from_geojson(geo, j, &g, &err);
  json_decref(j);
  if (rc != code)
    fail_msg("hv_geo_from_geojson(%s) = %s, expected %s (msg: %s)", text,
             hv_err_name(rc), hv_err_name(code), err.msg);
  assert_null(g);
  assert_int_equal(err.code, code);
  va_list ap;
  va_start(ap, code);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (strstr(err.msg, s) == NULL)
      fail_msg("message \"%s\" lacks \"%s\"", err.msg, s);
  va_end(ap);
}

static void assert_rel(double got, double want, double rel, const char *what) {
  if (!(fabs(got - want) <= rel * fabs(want)))
    fail_msg("%s: got %.6f, expected %.6f within %.3g%%", what, got, want,
             rel * 100);
}

static const char *shared_data(void) {
  const char *d = getenv("HAVEN_SHARED_DATA");
  return d && *d ? d : "/work/shared/data";
}

/* The OCHA admin-1 FeatureCollection (caller decrefs). */
static json_t *load_governorates(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s/admin/syr_adm1_ocha.geojson", shared_data());
  json_error_t jerr;
  json_t *fc = json_load_file(path, 0, &jerr);
  if (fc == NULL)
    fail_msg("%s: %s", path, jerr.text);
  return fc;
}

/* The geometry of the governorate named name (ADM1_EN). Caller frees. */
static GEOSGeometry *governorate(struct hv_geo *geo, const json_t *fc,
                                 const char *name) {
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(fc, "features"), i, f) {
    const char *en = json_string_value(
        json_object_get(json_object_get(f, "properties"), "ADM1_EN"));
    if (en && strcmp(en, name) == 0) {
      GEOSGeometry *g = NULL;
      struct hv_error err = {0};
      int rc =
          hv_geo_from_geojson(geo, json_object_get(f, "geometry"), &g, &err);
      if (rc != HV_OK)
        fail_msg("%s: %s", name, err.msg);
      return g;
    }
  }
  fail_msg("no governorate %s", name);
  return NULL;
}

/* ---- distances ----------------------------------------------------------- */

static void test_distance_known_geodesics(void **state) {
  (void)state;
  /* JFK (40d38'23"N 73d46'44"W) to Singapore Changi (1d21'33"N
   * 103d59'22"E): 15347627.66 m by Vincenty's
   * inverse formula on WGS84 (computed independently for this test). */
  double jfk_lat = 40 + 38 / 60.0 + 23 / 3600.0;
  double jfk_lon = -(73 + 46 / 60.0 + 44 / 3600.0);
  double sin_lat = 1 + 21 / 60.0 + 33 / 3600.0;
  double sin_lon = 103 + 59 / 60.0 + 22 / 3600.0;
  double d = hv_geo_distance_m(jfk_lon, jfk_lat, sin_lon, sin_lat);
  assert_true(fabs(d - 15347627.66) < 1.0);
  /* Symmetric. */
  assert_true(fabs(hv_geo_distance_m(sin_lon, sin_lat, jfk_lon, jfk_lat) - d) <
              1e-3);
  /* One degree of latitude at the equator: 110574.389 m (meridian arc). */
  assert_true(fabs(hv_geo_distance_m(0, 0, 0, 1) - 110574.389) < 0.01);
  /* One degree of longitude on the equator: a * pi / 180 = 111319.491 m. */
  assert_true(fabs(hv_geo_distance_m(0, 0, 1, 0) - 111319.491) < 0.01);
  /* Near the poles a degree of latitude is longer (111693.9 m at 89-90). */
  assert_true(fabs(hv_geo_distance_m(0, 89, 0, 90) - 111693.9) < 1.0);
  /* 0.1 degree north at 36 N (Vincenty: 11095.99 m). */
  assert_true(fabs(hv_geo_distance_m(36.5, 36.0, 36.5, 36.1) - 11095.99) <
              0.05);
  assert_true(hv_geo_distance_m(36.6, 35.9, 36.6, 35.9) == 0);
}

/* ---- reading GeoJSON ----------------------------------------------------- */

static void test_from_geojson_accepts(void **state) {
  struct hv_geo *geo = *state;
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  GEOSGeometry *g =
      geom_ok(geo, "{'type':'Point','coordinates':[36.633,35.93]}");
  assert_int_equal(GEOSGeomTypeId_r(gh, g), GEOS_POINT);
  double x = 0, y = 0;
  GEOSGeomGetX_r(gh, g, &x);
  GEOSGeomGetY_r(gh, g, &y);
  assert_true(x == 36.633 && y == 35.93);
  hv_geo_geom_free(geo, g);
  /* An altitude is accepted and ignored. */
  g = geom_ok(geo, "{'type':'Point','coordinates':[36.0,35.0,450.0]}");
  hv_geo_geom_free(geo, g);
  g = geom_ok(geo, "{'type':'LineString','coordinates':[[36,35],[37,36]]}");
  assert_int_equal(GEOSGeomTypeId_r(gh, g), GEOS_LINESTRING);
  hv_geo_geom_free(geo, g);
  /* A polygon with a hole. */
  g = geom_ok(geo, "{'type':'Polygon','coordinates':["
                   "[[36,35],[37,35],[37,36],[36,36],[36,35]],"
                   "[[36.2,35.2],[36.4,35.2],[36.4,35.4],[36.2,35.2]]]}");
  assert_int_equal(GEOSGeomTypeId_r(gh, g), GEOS_POLYGON);
  assert_int_equal(GEOSGetNumInteriorRings_r(gh, g), 1);
  hv_geo_geom_free(geo, g);
  g = geom_ok(geo, "{'type':'MultiPolygon','coordinates':["
                   "[[[36,35],[36.5,35],[36.5,35.5],[36,35]]],"
                   "[[[37,35],[37.5,35],[37.5,35.5],[37,35]]]]}");
  assert_int_equal(GEOSGeomTypeId_r(gh, g), GEOS_MULTIPOLYGON);
  assert_int_equal(GEOSGetNumGeometries_r(gh, g), 2);
  hv_geo_geom_free(geo, g);
  g = geom_ok(geo, "{'type':'MultiLineString','coordinates':["
                   "[[36,35],[37,35]],[[36,36],[37,36]]]}");
  assert_int_equal(GEOSGeomTypeId_r(gh, g), GEOS_MULTILINESTRING);
  hv_geo_geom_free(geo, g);
  /* The extreme values of the ranges are in range. */
  g = geom_ok(geo, "{'type':'LineString','coordinates':[[-180,-90],[180,90]]}");
  hv_geo_geom_free(geo, g);
  hv_geo_geom_free(geo, NULL); /* a no-op */
}

static void test_from_geojson_rejects(void **state) {
  struct hv_geo *geo = *state;
  geom_bad(geo,
           "{'type':'Polygon','coordinates':"
           "[[[36,35],[37,35],[37,36],[36,36],[36,35.5]]]}",
           HV_EGEOMETRY, "geometry.coordinates[0]", "not closed", NULL);
  geom_bad(geo, "{'type':'Polygon','coordinates':[[[36,35],[37,35],[36,35]]]}",
           HV_EGEOMETRY, "geometry.coordinates[0]", "3 positions", "at least 4",
           NULL);
  /* A bowtie: the ring crosses itself at (36.5, 35.5). */
  geom_bad(geo,
           "{'type':'Polygon','coordinates':"
           "[[[36,35],[37,36],[37,35],[36,36],[36,35]]]}",
           HV_EGEOMETRY, "geometry", "Self-intersection", NULL);
  geom_bad(geo,
           "{'type':'MultiPolygon','coordinates':[[["
           "[36,35],[37,36],[37,35],[36,36],[36,35]]]]}",
           HV_EGEOMETRY, "Self-intersection", NULL);
  geom_bad(geo, "{'type':'Point','coordinates':[200,35]}", HV_EGEOMETRY,
           "geometry.coordinates", "longitude 200", "[-180, 180]", NULL);
  geom_bad(geo,
           "{'type':'Polygon','coordinates':"
           "[[[36,35],[37,35],[37,-91],[36,36],[36,35]]]}",
           HV_EGEOMETRY, "geometry.coordinates[0][2]", "latitude -91",
           "[-90, 90]", NULL);
  geom_bad(geo, "{'type':'Point','coordinates':[-180.000001,0]}", HV_EGEOMETRY,
           "longitude", NULL);
  geom_bad(geo, "{'type':'LineString','coordinates':[[36,35],['37',36]]}",
           HV_EGEOMETRY, "geometry.coordinates[1][0]", "not a number", NULL);
  geom_bad(geo, "{'type':'Point','coordinates':[36,null]}", HV_EGEOMETRY,
           "geometry.coordinates[1]", "not a number", NULL);
  geom_bad(geo, "{'type':'Point','coordinates':[36]}", HV_EGEOMETRY,
           "geometry.coordinates", "position", NULL);
  geom_bad(geo, "{'type':'Point','coordinates':[36,35,1,2]}", HV_EGEOMETRY,
           "geometry.coordinates", "position", NULL);
  geom_bad(geo, "{'type':'LineString','coordinates':[[36,35]]}", HV_EGEOMETRY,
           "geometry.coordinates", "at least 2", NULL);
  geom_bad(geo, "{'type':'Polygon','coordinates':[]}", HV_EGEOMETRY,
           "at least one ring", NULL);
  geom_bad(geo, "{'type':'GeometryCollection','geometries':[]}", HV_ESCHEMA,
           "geometry.coordinates", NULL);
  geom_bad(geo, "{'type':'MultiPoint','coordinates':[[36,35]]}", HV_ESCHEMA,
           "geometry.type", "MultiPoint", "not supported", NULL);
  geom_bad(geo, "{'type':'Circle','coordinates':[36,35]}", HV_ESCHEMA,
           "\"Circle\" is not supported", NULL);
  geom_bad(geo, "{'coordinates':[36,35]}", HV_ESCHEMA, "geometry.type",
           "missing", NULL);
  geom_bad(geo, "{'type':'Point'}", HV_ESCHEMA, "geometry.coordinates",
           "missing", NULL);
  geom_bad(geo, "[36,35]", HV_ESCHEMA, "geometry", NULL);
  /* A hole outside its shell is invalid too, and GEOS's reason is given. */
  geom_bad(geo,
           "{'type':'Polygon','coordinates':["
           "[[36,35],[37,35],[37,36],[36,36],[36,35]],"
           "[[38,35],[38.5,35],[38.5,35.5],[38,35]]]}",
           HV_EGEOMETRY, "invalid Polygon", "Hole", NULL);
}

/* JSON has no NaN or infinity, and jansson refuses 1e999 (real number
 * overflow) and will not hold a non-finite real, so the largest values that
 * can reach the reader are huge finite ones: out of range, never a crash. */
static void test_from_geojson_rejects_huge(void **state) {
  struct hv_geo *geo = *state;
  json_error_t jerr;
  assert_null(
      json_loads("{\"type\":\"Point\",\"coordinates\":[1e999,35]}", 0, &jerr));
  geom_bad(geo, "{'type':'Point','coordinates':[1e308,35]}", HV_EGEOMETRY,
           "geometry.coordinates", "longitude", "outside", NULL);
  geom_bad(geo, "{'type':'Point','coordinates':[36,-1e308]}", HV_EGEOMETRY,
           "geometry.coordinates", "latitude", "outside", NULL);
  geom_bad(geo, "{'type':'LineString','coordinates':[[36,35],[36,35,1e308,1]]}",
           HV_EGEOMETRY, "geometry.coordinates[1]", "position", NULL);
}

/* ---- areas --------------------------------------------------------------- */

static void test_area_of_governorates(void **state) {
  struct hv_geo *geo = *state;
  json_t *fc = load_governorates();
  json_t *features = json_object_get(fc, "features");
  assert_int_equal(json_array_size(features), 14);
  size_t i;
  json_t *f;
  double total = 0, total_ref = 0;
  json_array_foreach(features, i, f) {
    const json_t *props = json_object_get(f, "properties");
    const char *name = json_string_value(json_object_get(props, "ADM1_EN"));
    double ref_km2 = json_number_value(json_object_get(props, "area_sqkm"));
    assert_non_null(name);
    assert_true(ref_km2 > 100);
    GEOSGeometry *g = NULL;
    struct hv_error err = {0};
    int rc = hv_geo_from_geojson(geo, json_object_get(f, "geometry"), &g, &err);
    if (rc != HV_OK)
      fail_msg("%s: %s", name, err.msg);
    double a = 0;
    assert_int_equal(hv_geo_area_m2(geo, g, &a), HV_OK);
    char what[128];
    snprintf(what, sizeof what, "area of %s in km2", name);
    assert_rel(a / 1e6, ref_km2, 0.01, what);
    total += a / 1e6;
    total_ref += ref_km2;
    hv_geo_geom_free(geo, g);
  }
  /* Syria is about 185,000 km2. */
  assert_rel(total, total_ref, 0.005, "total area");
  assert_rel(total, 185180, 0.02, "Syria");
  json_decref(fc);
}

static void test_area_of_square_degree(void **state) {
  struct hv_geo *geo = *state;
  /* One degree square on the equator: ~110574 x 111319 m = 1.2309e10 m2.
   * In degrees it would be 1: this checks the area is metric. */
  GEOSGeometry *g = geom_ok(geo, "{'type':'Polygon','coordinates':"
                                 "[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}");
  double a = 0;
  assert_int_equal(hv_geo_area_m2(geo, g, &a), HV_OK);
  assert_rel(a, 1.2309e10, 0.002, "1 degree square at the equator");
  hv_geo_geom_free(geo, g);
  /* A point has no area. */
  g = geom_ok(geo, "{'type':'Point','coordinates':[36,35]}");
  assert_int_equal(hv_geo_area_m2(geo, g, &a), HV_OK);
  assert_true(a == 0);
  hv_geo_geom_free(geo, g);
}

static void test_idlib_city_in_idleb_not_aleppo(void **state) {
  struct hv_geo *geo = *state;
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  json_t *fc = load_governorates();
  GEOSGeometry *idleb = governorate(geo, fc, "Idleb");
  GEOSGeometry *aleppo = governorate(geo, fc, "Aleppo");
  const GEOSPreparedGeometry *pi = GEOSPrepare_r(gh, idleb);
  const GEOSPreparedGeometry *pa = GEOSPrepare_r(gh, aleppo);
  assert_non_null(pi);
  assert_non_null(pa);
  /* Idlib city, 36.633 E 35.930 N. */
  assert_int_equal(hv_geo_covers_point(geo, pi, 36.633, 35.930), 1);
  assert_int_equal(hv_geo_covers_point(geo, pa, 36.633, 35.930), 0);
  /* Aleppo city, 37.16 E 36.20 N, the other way round. */
  assert_int_equal(hv_geo_covers_point(geo, pa, 37.16, 36.20), 1);
  assert_int_equal(hv_geo_covers_point(geo, pi, 37.16, 36.20), 0);
  /* Idlib city is inside Idleb: distance 0; Aleppo governorate's boundary
   * is about 20 km away. */
  double d = -1;
  assert_int_equal(hv_geo_distance_to_m(geo, 36.633, 35.930, idleb, &d), HV_OK);
  assert_true(d == 0);
  assert_int_equal(hv_geo_distance_to_m(geo, 36.633, 35.930, aleppo, &d),
                   HV_OK);
  assert_true(d > 15000 && d < 25000); /* 19.5 km */
  GEOSPreparedGeom_destroy_r(gh, pi);
  GEOSPreparedGeom_destroy_r(gh, pa);
  hv_geo_geom_free(geo, idleb);
  hv_geo_geom_free(geo, aleppo);
  json_decref(fc);
}

/* ---- buffers and distances to geometries --------------------------------- */

static void test_buffer_point(void **state) {
  struct hv_geo *geo = *state;
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  GEOSGeometry *p =
      geom_ok(geo, "{'type':'Point','coordinates':[36.633,35.93]}");
  GEOSGeometry *b = NULL;
  assert_int_equal(hv_geo_buffer_m(geo, p, 1000, &b), HV_OK);
  assert_non_null(b);
  assert_int_equal(GEOSGeomTypeId_r(gh, b), GEOS_POLYGON);
  double a = 0;
  assert_int_equal(hv_geo_area_m2(geo, b, &a), HV_OK);
  assert_rel(a, M_PI * 1e6, 0.01, "area of a 1000 m buffer");
  /* Every vertex of the ring is ~1000 m from the centre, geodesically. */
  const GEOSCoordSequence *cs =
      GEOSGeom_getCoordSeq_r(gh, GEOSGetExteriorRing_r(gh, b));
  unsigned n = 0;
  GEOSCoordSeq_getSize_r(gh, cs, &n);
  assert_true(n > 16);
  for (unsigned i = 0; i < n; i++) {
    double x, y;
    GEOSCoordSeq_getXY_r(gh, cs, i, &x, &y);
    assert_rel(hv_geo_distance_m(36.633, 35.93, x, y), 1000, 0.002,
               "buffer vertex distance");
  }
  hv_geo_geom_free(geo, b);
  /* A bigger one, 20 km. */
  assert_int_equal(hv_geo_buffer_m(geo, p, 20000, &b), HV_OK);
  assert_int_equal(hv_geo_area_m2(geo, b, &a), HV_OK);
  assert_rel(a, M_PI * 4e8, 0.01, "area of a 20 km buffer");
  hv_geo_geom_free(geo, b);
  b = (GEOSGeometry *)1;
  assert_int_equal(hv_geo_buffer_m(geo, p, -1, &b), HV_EINVAL);
  assert_null(b);
  assert_int_equal(hv_geo_buffer_m(geo, p, NAN, &b), HV_EINVAL);
  hv_geo_geom_free(geo, p);
}

static void test_buffer_line(void **state) {
  struct hv_geo *geo = *state;
  /* A 0.2 degree line along 35 N buffered by 500 m: a stadium of area
   * L * 2w + pi w^2. */
  GEOSGeometry *l = geom_ok(
      geo, "{'type':'LineString','coordinates':[[36.0,35.0],[36.2,35.0]]}");
  double len = hv_geo_distance_m(36.0, 35.0, 36.2, 35.0);
  assert_true(len > 18000 && len < 18400);
  GEOSGeometry *b = NULL;
  assert_int_equal(hv_geo_buffer_m(geo, l, 500, &b), HV_OK);
  double a = 0;
  assert_int_equal(hv_geo_area_m2(geo, b, &a), HV_OK);
  assert_rel(a, len * 1000 + M_PI * 250000, 0.01, "stadium area");
  hv_geo_geom_free(geo, b);
  hv_geo_geom_free(geo, l);
}

static void test_distance_to_polygon(void **state) {
  struct hv_geo *geo = *state;
  GEOSGeometry *sq =
      geom_ok(geo, "{'type':'Polygon','coordinates':"
                   "[[[36,35],[37,35],[37,36],[36,36],[36,35]]]}");
  double d = -1;
  /* 0.1 degree of latitude north of the top edge: ~11.1 km. */
  assert_int_equal(hv_geo_distance_to_m(geo, 36.5, 36.1, sq, &d), HV_OK);
  assert_rel(d, 11096, 0.02, "distance north of the edge");
  /* 0.1 degree of longitude east of the east edge at 35.5 N: ~9.07 km. */
  assert_int_equal(hv_geo_distance_to_m(geo, 37.1, 35.5, sq, &d), HV_OK);
  assert_rel(d, hv_geo_distance_m(37.1, 35.5, 37.0, 35.5), 0.002,
             "distance east of the edge");
  /* Diagonal from a corner. */
  assert_int_equal(hv_geo_distance_to_m(geo, 37.1, 36.1, sq, &d), HV_OK);
  assert_rel(d, hv_geo_distance_m(37.1, 36.1, 37.0, 36.0), 0.005,
             "distance from the corner");
  /* Inside and on the boundary: 0. */
  assert_int_equal(hv_geo_distance_to_m(geo, 36.5, 35.5, sq, &d), HV_OK);
  assert_true(d == 0);
  assert_int_equal(hv_geo_distance_to_m(geo, 36.0, 35.5, sq, &d), HV_OK);
  assert_true(d == 0);
  hv_geo_geom_free(geo, sq);
  /* To a point geometry: the geodesic distance. */
  GEOSGeometry *p = geom_ok(geo, "{'type':'Point','coordinates':[36.7,35.95]}");
  assert_int_equal(hv_geo_distance_to_m(geo, 36.633, 35.93, p, &d), HV_OK);
  assert_rel(d, hv_geo_distance_m(36.633, 35.93, 36.7, 35.95), 0.001,
             "distance to a point");
  hv_geo_geom_free(geo, p);
}

/* Distances follow RFC 7946 edges (straight in lon/lat, as
 * hv_geo_covers_point and GEOS see them), not chords of the projection: for
 * a 1 degree edge along 36 N a chord would bulge ~115 m north. */
static void test_distance_to_follows_lonlat_edges(void **state) {
  struct hv_geo *geo = *state;
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  GEOSGeometry *sq =
      geom_ok(geo, "{'type':'Polygon','coordinates':"
                   "[[[36,35],[37,35],[37,36],[36,36],[36,35]]]}");
  const GEOSPreparedGeometry *pg = GEOSPrepare_r(gh, sq);
  double d_far = -1, d_near = -1;
  assert_int_equal(hv_geo_distance_to_m(geo, 36.5, 36.1, sq, &d_far), HV_OK);
  assert_int_equal(hv_geo_distance_to_m(geo, 36.5, 36.0005, sq, &d_near),
                   HV_OK);
  int near_inside = hv_geo_covers_point(geo, pg, 36.5, 36.0005);
  GEOSPreparedGeom_destroy_r(gh, pg);
  hv_geo_geom_free(geo, sq);
  print_message("distance 0.1 deg north: %.1f m (expected %.1f); "
                "0.0005 deg north: %.1f m, covered: %d\n",
                d_far, hv_geo_distance_m(36.5, 36.1, 36.5, 36.0), d_near,
                near_inside);
  assert_int_equal(near_inside, 0);
  assert_rel(d_far, hv_geo_distance_m(36.5, 36.1, 36.5, 36.0), 0.001,
             "distance north of the edge");
  assert_rel(d_near, hv_geo_distance_m(36.5, 36.0005, 36.5, 36.0), 0.05,
             "distance just north of the edge");
}

/* ---- writing GeoJSON ----------------------------------------------------- */

static void round_trip(struct hv_geo *geo, const char *text) {
  json_t *in = tu_js(text);
  GEOSGeometry *g = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_geo_from_geojson(geo, in, &g, &err), HV_OK);
  json_t *out = NULL;
  assert_int_equal(hv_geo_to_geojson(geo, g, &out), HV_OK);
  assert_non_null(out);
  if (!json_equal(in, out)) {
    char *a = json_dumps(in, JSON_COMPACT), *b = json_dumps(out, JSON_COMPACT);
    fail_msg("round trip changed the geometry:\n  in:  %s\n  out: %s", a, b);
  }
  /* And it reads back to an equal geometry. */
  GEOSGeometry *g2 = NULL;
  assert_int_equal(hv_geo_from_geojson(geo, out, &g2, &err), HV_OK);
  assert_int_equal(GEOSEqualsExact_r(hv_geo_geos(geo), g, g2, 0), 1);
  hv_geo_geom_free(geo, g2);
  hv_geo_geom_free(geo, g);
  json_decref(in);
  json_decref(out);
}

static void test_to_geojson_round_trip(void **state) {
  struct hv_geo *geo = *state;
  round_trip(geo, "{'type':'Point','coordinates':[36.633,35.93]}");
  round_trip(geo, "{'type':'LineString','coordinates':"
                  "[[36.5,35.5],[36.8,35.5],[36.9,35.6]]}");
  round_trip(geo,
             "{'type':'Polygon','coordinates':["
             "[[36.0,35.0],[37.0,35.0],[37.0,36.0],[36.0,36.0],[36.0,35.0]],"
             "[[36.2,35.2],[36.4,35.2],[36.4,35.4],[36.2,35.2]]]}");
  round_trip(geo, "{'type':'MultiPolygon','coordinates':["
                  "[[[36.0,35.0],[36.5,35.0],[36.5,35.5],[36.0,35.0]]],"
                  "[[[37.0,35.0],[37.5,35.0],[37.5,35.5],[37.0,35.0]]]]}");
  round_trip(geo, "{'type':'MultiLineString','coordinates':["
                  "[[36.0,35.0],[37.0,35.0]],[[36.0,36.0],[37.0,36.1]]]}");
  /* Real data: the Tartous MultiPolygon loses nothing. */
  json_t *fc = load_governorates();
  GEOSGeometry *g = governorate(geo, fc, "Tartous");
  json_t *out = NULL;
  assert_int_equal(hv_geo_to_geojson(geo, g, &out), HV_OK);
  assert_string_equal(json_string_value(json_object_get(out, "type")),
                      "MultiPolygon");
  GEOSGeometry *g2 = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_geo_from_geojson(geo, out, &g2, &err), HV_OK);
  assert_int_equal(GEOSEqualsExact_r(hv_geo_geos(geo), g, g2, 0), 1);
  hv_geo_geom_free(geo, g2);
  hv_geo_geom_free(geo, g);
  json_decref(out);
  json_decref(fc);
  /* An empty geometry cannot be written. */
  GEOSGeometry *e = GEOSGeom_createEmptyPolygon_r(hv_geo_geos(geo));
  out = (json_t *)1;
  assert_int_equal(hv_geo_to_geojson(geo, e, &out), HV_EGEOMETRY);
  assert_null(out);
  hv_geo_geom_free(geo, e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_distance_known_geodesics),
      cmocka_unit_test_setup_teardown(test_from_geojson_accepts, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_from_geojson_rejects, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_from_geojson_rejects_huge,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_area_of_governorates, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_area_of_square_degree, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_idlib_city_in_idleb_not_aleppo,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_buffer_point, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_buffer_line, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_distance_to_polygon, tu_geo_setup,
                                      tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_distance_to_follows_lonlat_edges,
                                      tu_geo_setup, tu_geo_teardown),
      cmocka_unit_test_setup_teardown(test_to_geojson_round_trip, tu_geo_setup,
                                      tu_geo_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
