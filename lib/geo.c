/*
 * geo.c — GeoJSON geometries into GEOS, and measures in metres through PROJ.
 *
 * Invariants:
 * - every geometry handed out was checked: finite, in-range coordinates,
 *   closed rings of >= 4 positions, and valid by GEOS for polygons;
 * - nothing is measured in degrees: areas go through a Lambert azimuthal
 *   equal-area projection, buffers and nearest points through an azimuthal
 *   equidistant one, both centred on the geometry (or query point), and
 *   point-to-point distances through geod_inverse on WGS84.
 */
#include <geodesic.h>
#include <math.h>
#include <proj.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/geo.h"

struct hv_geo {
  GEOSContextHandle_t gh;
  PJ_CONTEXT *pj;
  char geos_msg[512]; /* last GEOS error message */
};

static struct geod_geodesic wgs84;
static pthread_once_t wgs84_once = PTHREAD_ONCE_INIT;

static void wgs84_init(void) {
  geod_init(&wgs84, 6378137.0, 1 / 298.257223563);
}

static void geos_error(const char *msg, void *userdata) {
  struct hv_geo *geo = userdata;
  snprintf(geo->geos_msg, sizeof geo->geos_msg, "%s", msg);
}

int hv_geo_new(struct hv_geo **out) {
  *out = NULL;
  struct hv_geo *geo = calloc(1, sizeof *geo);
  if (geo == NULL)
    return HV_ENOMEM;
  geo->gh = GEOS_init_r();
  if (geo->gh == NULL) {
    free(geo);
    return HV_ENOMEM;
  }
  GEOSContext_setErrorMessageHandler_r(geo->gh, geos_error, geo);
  geo->pj = proj_context_create();
  if (geo->pj == NULL) {
    GEOS_finish_r(geo->gh);
    free(geo);
    return HV_EGEODESY;
  }
  proj_log_level(geo->pj, PJ_LOG_NONE);
  pthread_once(&wgs84_once, wgs84_init);
  *out = geo;
  return HV_OK;
}

void hv_geo_free(struct hv_geo *geo) {
  if (geo == NULL)
    return;
  proj_context_destroy(geo->pj);
  GEOS_finish_r(geo->gh);
  free(geo);
}

GEOSContextHandle_t hv_geo_geos(const struct hv_geo *geo) { return geo->gh; }

void hv_geo_geom_free(struct hv_geo *geo, GEOSGeometry *g) {
  if (g != NULL)
    GEOSGeom_destroy_r(geo->gh, g);
}

double hv_geo_distance_m(double lon1, double lat1, double lon2, double lat2) {
  pthread_once(&wgs84_once, wgs84_init);
  double s12 = 0;
  geod_inverse(&wgs84, lat1, lon1, lat2, lon2, &s12, NULL, NULL);
  return s12;
}

/* ---- reading GeoJSON ---------------------------------------------------- */

/* Reads one position [lon, lat(, alt)] at path into x, y. */
static int read_position(const json_t *pos, const char *path, double *x,
                         double *y, struct hv_error *err) {
  if (!json_is_array(pos) || json_array_size(pos) < 2 ||
      json_array_size(pos) > 3)
    return hv_error_set(err, HV_EGEOMETRY,
                        "%s: a position must be an array [lon, lat] or "
                        "[lon, lat, alt]",
                        path);
  for (size_t i = 0; i < json_array_size(pos); i++) {
    const json_t *v = json_array_get(pos, i);
    if (!json_is_number(v))
      return hv_error_set(err, HV_EGEOMETRY, "%s[%zu]: not a number", path, i);
    if (!isfinite(json_number_value(v)))
      return hv_error_set(err, HV_EGEOMETRY, "%s[%zu]: not a finite number",
                          path, i);
  }
  *x = json_number_value(json_array_get(pos, 0));
  *y = json_number_value(json_array_get(pos, 1));
  if (*x < -180 || *x > 180)
    return hv_error_set(err, HV_EGEOMETRY,
                        "%s: longitude %.9g outside [-180, 180]", path, *x);
  if (*y < -90 || *y > 90)
    return hv_error_set(err, HV_EGEOMETRY,
                        "%s: latitude %.9g outside [-90, 90]", path, *y);
  return HV_OK;
}

/* Reads an array of positions into a new coordinate sequence. ring: check
 * closure and length as a linear ring. */
static int read_coords(struct hv_geo *geo, const json_t *arr, const char *path,
                       int ring, GEOSCoordSequence **out,
                       struct hv_error *err) {
  *out = NULL;
  if (!json_is_array(arr))
    return hv_error_set(err, HV_EGEOMETRY, "%s: not an array of positions",
                        path);
  size_t n = json_array_size(arr);
  size_t min = ring ? 4 : 2;
  if (n < min)
    return hv_error_set(err, HV_EGEOMETRY,
                        "%s: %zu positions, a %s needs at least %zu", path, n,
                        ring ? "linear ring" : "line", min);
  double *xy = malloc(2 * n * sizeof *xy);
  if (xy == NULL)
    return HV_ENOMEM;
  char sub[256];
  for (size_t i = 0; i < n; i++) {
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    int rc = read_position(json_array_get(arr, i), sub, &xy[2 * i],
                           &xy[2 * i + 1], err);
    if (rc != HV_OK) {
      free(xy);
      return rc;
    }
  }
  if (ring && (xy[0] != xy[2 * n - 2] || xy[1] != xy[2 * n - 1])) {
    free(xy);
    return hv_error_set(err, HV_EGEOMETRY,
                        "%s: ring is not closed (first and last positions "
                        "differ)",
                        path);
  }
  GEOSCoordSequence *cs =
      GEOSCoordSeq_copyFromBuffer_r(geo->gh, xy, (unsigned)n, 0, 0);
  free(xy);
  if (cs == NULL)
    return HV_ENOMEM;
  *out = cs;
  return HV_OK;
}

static int read_polygon(struct hv_geo *geo, const json_t *rings,
                        const char *path, GEOSGeometry **out,
                        struct hv_error *err) {
  *out = NULL;
  if (!json_is_array(rings) || json_array_size(rings) == 0)
    return hv_error_set(err, HV_EGEOMETRY,
                        "%s: a polygon needs at least one ring", path);
  size_t n = json_array_size(rings);
  GEOSGeometry **g = calloc(n, sizeof *g);
  if (g == NULL)
    return HV_ENOMEM;
  int rc = HV_OK;
  char sub[256];
  for (size_t i = 0; i < n; i++) {
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    GEOSCoordSequence *cs;
    rc = read_coords(geo, json_array_get(rings, i), sub, 1, &cs, err);
    if (rc != HV_OK)
      goto fail;
    g[i] = GEOSGeom_createLinearRing_r(geo->gh, cs);
    if (g[i] == NULL) {
      rc = hv_error_set(err, HV_EGEOMETRY, "%s: %s", sub, geo->geos_msg);
      goto fail;
    }
  }
  *out = GEOSGeom_createPolygon_r(geo->gh, g[0], n > 1 ? g + 1 : NULL,
                                  (unsigned)(n - 1));
  free(g);
  return *out ? HV_OK : HV_ENOMEM;
fail:
  for (size_t i = 0; i < n; i++)
    if (g[i])
      GEOSGeom_destroy_r(geo->gh, g[i]);
  free(g);
  return rc;
}

/* Builds a collection of type from the parts of arr read by one reader. */
static int read_multi(struct hv_geo *geo, const json_t *arr, const char *path,
                      int type, GEOSGeometry **out, struct hv_error *err) {
  *out = NULL;
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return hv_error_set(err, HV_EGEOMETRY, "%s: needs at least one part", path);
  size_t n = json_array_size(arr);
  GEOSGeometry **g = calloc(n, sizeof *g);
  if (g == NULL)
    return HV_ENOMEM;
  int rc = HV_OK;
  char sub[256];
  for (size_t i = 0; i < n; i++) {
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    if (type == GEOS_MULTIPOLYGON) {
      rc = read_polygon(geo, json_array_get(arr, i), sub, &g[i], err);
    } else {
      GEOSCoordSequence *cs;
      rc = read_coords(geo, json_array_get(arr, i), sub, 0, &cs, err);
      if (rc == HV_OK &&
          (g[i] = GEOSGeom_createLineString_r(geo->gh, cs)) == NULL)
        rc = hv_error_set(err, HV_EGEOMETRY, "%s: %s", sub, geo->geos_msg);
    }
    if (rc != HV_OK)
      goto fail;
  }
  *out = GEOSGeom_createCollection_r(geo->gh, type, g, (unsigned)n);
  free(g);
  return *out ? HV_OK : HV_ENOMEM;
fail:
  for (size_t i = 0; i < n; i++)
    if (g[i])
      GEOSGeom_destroy_r(geo->gh, g[i]);
  free(g);
  return rc;
}

int hv_geo_from_geojson(struct hv_geo *geo, const json_t *geometry,
                        GEOSGeometry **out, struct hv_error *err) {
  *out = NULL;
  if (!json_is_object(geometry))
    return hv_error_set(err, HV_ESCHEMA,
                        "geometry: missing or not a GeoJSON geometry object");
  const char *type = json_string_value(json_object_get(geometry, "type"));
  const json_t *coords = json_object_get(geometry, "coordinates");
  if (type == NULL)
    return hv_error_set(err, HV_ESCHEMA, "geometry.type: missing");
  if (coords == NULL)
    return hv_error_set(err, HV_ESCHEMA, "geometry.coordinates: missing");
  const char *path = "geometry.coordinates";
  GEOSGeometry *g = NULL;
  int rc;
  if (strcmp(type, "Point") == 0) {
    double x, y;
    rc = read_position(coords, path, &x, &y, err);
    if (rc == HV_OK &&
        (g = GEOSGeom_createPointFromXY_r(geo->gh, x, y)) == NULL)
      rc = HV_ENOMEM;
  } else if (strcmp(type, "LineString") == 0) {
    GEOSCoordSequence *cs;
    rc = read_coords(geo, coords, path, 0, &cs, err);
    if (rc == HV_OK && (g = GEOSGeom_createLineString_r(geo->gh, cs)) == NULL)
      rc = hv_error_set(err, HV_EGEOMETRY, "%s: %s", path, geo->geos_msg);
  } else if (strcmp(type, "Polygon") == 0) {
    rc = read_polygon(geo, coords, path, &g, err);
  } else if (strcmp(type, "MultiPolygon") == 0) {
    rc = read_multi(geo, coords, path, GEOS_MULTIPOLYGON, &g, err);
  } else if (strcmp(type, "MultiLineString") == 0) {
    rc = read_multi(geo, coords, path, GEOS_MULTILINESTRING, &g, err);
  } else {
    return hv_error_set(err, HV_ESCHEMA,
                        "geometry.type: \"%s\" is not supported (Point, "
                        "LineString, MultiLineString, Polygon, MultiPolygon)",
                        type);
  }
  if (rc != HV_OK)
    return rc;
  int pt = GEOSGeomTypeId_r(geo->gh, g);
  if (pt == GEOS_POLYGON || pt == GEOS_MULTIPOLYGON) {
    char v = GEOSisValid_r(geo->gh, g);
    if (v != 1) {
      char *reason = GEOSisValidReason_r(geo->gh, g);
      rc = hv_error_set(err, HV_EGEOMETRY, "geometry: invalid %s: %s", type,
                        reason ? reason : geo->geos_msg);
      GEOSFree_r(geo->gh, reason);
      GEOSGeom_destroy_r(geo->gh, g);
      return rc;
    }
  }
  *out = g;
  return HV_OK;
}

/* ---- writing GeoJSON ---------------------------------------------------- */

static json_t *coords_json(struct hv_geo *geo, const GEOSCoordSequence *cs) {
  unsigned n = 0;
  GEOSCoordSeq_getSize_r(geo->gh, cs, &n);
  json_t *arr = json_array();
  for (unsigned i = 0; arr && i < n; i++) {
    double x = 0, y = 0;
    GEOSCoordSeq_getXY_r(geo->gh, cs, i, &x, &y);
    json_array_append_new(arr, json_pack("[ff]", x, y));
  }
  return arr;
}

static json_t *polygon_json(struct hv_geo *geo, const GEOSGeometry *p) {
  json_t *rings = json_array();
  const GEOSGeometry *shell = GEOSGetExteriorRing_r(geo->gh, p);
  json_array_append_new(
      rings, coords_json(geo, GEOSGeom_getCoordSeq_r(geo->gh, shell)));
  int nh = GEOSGetNumInteriorRings_r(geo->gh, p);
  for (int i = 0; i < nh; i++) {
    const GEOSGeometry *h = GEOSGetInteriorRingN_r(geo->gh, p, i);
    json_array_append_new(rings,
                          coords_json(geo, GEOSGeom_getCoordSeq_r(geo->gh, h)));
  }
  return rings;
}

int hv_geo_to_geojson(struct hv_geo *geo, const GEOSGeometry *g, json_t **out) {
  *out = NULL;
  if (GEOSisEmpty_r(geo->gh, g) == 1)
    return HV_EGEOMETRY;
  int t = GEOSGeomTypeId_r(geo->gh, g);
  json_t *coords = NULL;
  const char *name = NULL;
  switch (t) {
  case GEOS_POINT: {
    double x = 0, y = 0;
    GEOSGeomGetX_r(geo->gh, g, &x);
    GEOSGeomGetY_r(geo->gh, g, &y);
    coords = json_pack("[ff]", x, y);
    name = "Point";
    break;
  }
  case GEOS_LINESTRING:
    coords = coords_json(geo, GEOSGeom_getCoordSeq_r(geo->gh, g));
    name = "LineString";
    break;
  case GEOS_POLYGON:
    coords = polygon_json(geo, g);
    name = "Polygon";
    break;
  case GEOS_MULTIPOLYGON:
  case GEOS_MULTILINESTRING: {
    coords = json_array();
    int n = GEOSGetNumGeometries_r(geo->gh, g);
    for (int i = 0; i < n; i++) {
      const GEOSGeometry *part = GEOSGetGeometryN_r(geo->gh, g, i);
      json_array_append_new(
          coords,
          t == GEOS_MULTIPOLYGON
              ? polygon_json(geo, part)
              : coords_json(geo, GEOSGeom_getCoordSeq_r(geo->gh, part)));
    }
    name = t == GEOS_MULTIPOLYGON ? "MultiPolygon" : "MultiLineString";
    break;
  }
  default:
    return HV_EGEOMETRY;
  }
  if (coords == NULL)
    return HV_ENOMEM;
  *out = json_pack("{s:s,s:o}", "type", name, "coordinates", coords);
  return *out ? HV_OK : HV_ENOMEM;
}

/* ---- metric projections ------------------------------------------------- */

/* A projection from lon/lat degrees to metres, proj being "laea" or "aeqd",
 * centred on (lon0, lat0). Caller destroys with proj_destroy. */
static PJ *metric_projection(struct hv_geo *geo, const char *proj, double lon0,
                             double lat0) {
  char def[256];
  snprintf(def, sizeof def,
           "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
           "+step +proj=%s +lon_0=%.10f +lat_0=%.10f +ellps=WGS84",
           proj, lon0, lat0);
  return proj_create(geo->pj, def);
}

static int forward_xy(double *x, double *y, void *userdata) {
  PJ_COORD c = proj_coord(*x, *y, 0, 0);
  c = proj_trans((PJ *)userdata, PJ_FWD, c);
  if (!isfinite(c.xy.x) || !isfinite(c.xy.y))
    return 0;
  *x = c.xy.x;
  *y = c.xy.y;
  return 1;
}

static int inverse_xy(double *x, double *y, void *userdata) {
  PJ_COORD c = proj_coord(*x, *y, 0, 0);
  c = proj_trans((PJ *)userdata, PJ_INV, c);
  if (!isfinite(c.xy.x) || !isfinite(c.xy.y))
    return 0;
  *x = c.xy.x;
  *y = c.xy.y;
  return 1;
}

/* Edge length (degrees) above which edges are split before projecting.
 * RFC 7946 edges are straight in lon/lat, as GEOS tests them; a projected
 * edge is straight in metres instead. Splitting long edges first keeps the
 * two within metres of each other. */
#define DENSIFY_DEG 0.01

/* g (borrowed) projected with p, after splitting long edges. Caller frees. */
static GEOSGeometry *project(struct hv_geo *geo, const GEOSGeometry *g, PJ *p) {
  GEOSGeometry *d = NULL;
  if (GEOSGeomTypeId_r(geo->gh, g) != GEOS_POINT)
    d = GEOSDensify_r(geo->gh, g, DENSIFY_DEG);
  GEOSGeometry *m = GEOSGeom_transformXY_r(geo->gh, d ? d : g, forward_xy, p);
  if (d)
    GEOSGeom_destroy_r(geo->gh, d);
  return m;
}

/* Centre of g's envelope. */
static int envelope_centre(struct hv_geo *geo, const GEOSGeometry *g,
                           double *lon, double *lat) {
  double x0, y0, x1, y1;
  if (GEOSGeom_getExtent_r(geo->gh, g, &x0, &y0, &x1, &y1) == 0)
    return HV_EGEOMETRY;
  *lon = (x0 + x1) / 2;
  *lat = (y0 + y1) / 2;
  return HV_OK;
}

int hv_geo_area_m2(struct hv_geo *geo, const GEOSGeometry *g, double *out) {
  *out = 0;
  if (GEOSisEmpty_r(geo->gh, g) == 1)
    return HV_OK;
  double lon0, lat0;
  if (envelope_centre(geo, g, &lon0, &lat0) != HV_OK)
    return HV_EGEOMETRY;
  PJ *p = metric_projection(geo, "laea", lon0, lat0);
  if (p == NULL)
    return HV_EGEODESY;
  GEOSGeometry *m = project(geo, g, p);
  proj_destroy(p);
  if (m == NULL)
    return HV_EGEODESY;
  double a = 0;
  int ok = GEOSArea_r(geo->gh, m, &a);
  GEOSGeom_destroy_r(geo->gh, m);
  if (!ok)
    return HV_EGEOMETRY;
  *out = a;
  return HV_OK;
}

int hv_geo_buffer_m(struct hv_geo *geo, const GEOSGeometry *g, double dist_m,
                    GEOSGeometry **out) {
  *out = NULL;
  if (!(dist_m >= 0))
    return HV_EINVAL;
  double lon0, lat0;
  if (envelope_centre(geo, g, &lon0, &lat0) != HV_OK)
    return HV_EGEOMETRY;
  PJ *p = metric_projection(geo, "aeqd", lon0, lat0);
  if (p == NULL)
    return HV_EGEODESY;
  int rc = HV_EGEODESY;
  GEOSGeometry *m = project(geo, g, p);
  GEOSGeometry *b = NULL;
  if (m == NULL)
    goto done;
  /* 16 segments per quarter circle: at 45 km the chord error is < 0.2%. */
  b = GEOSBuffer_r(geo->gh, m, dist_m, 16);
  if (b == NULL) {
    rc = HV_EGEOMETRY;
    goto done;
  }
  *out = GEOSGeom_transformXY_r(geo->gh, b, inverse_xy, p);
  rc = *out ? HV_OK : HV_EGEODESY;
done:
  if (m)
    GEOSGeom_destroy_r(geo->gh, m);
  if (b)
    GEOSGeom_destroy_r(geo->gh, b);
  proj_destroy(p);
  return rc;
}

int hv_geo_distance_to_m(struct hv_geo *geo, double lon, double lat,
                         const GEOSGeometry *g, double *out) {
  *out = 0;
  GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(geo->gh, lon, lat);
  if (pt == NULL)
    return HV_ENOMEM;
  char in = GEOSIntersects_r(geo->gh, g, pt);
  GEOSGeom_destroy_r(geo->gh, pt);
  if (in == 2)
    return HV_EGEOMETRY;
  if (in == 1)
    return HV_OK;
  PJ *p = metric_projection(geo, "aeqd", lon, lat);
  if (p == NULL)
    return HV_EGEODESY;
  int rc = HV_EGEODESY;
  GEOSGeometry *m = project(geo, g, p);
  GEOSGeometry *origin = GEOSGeom_createPointFromXY_r(geo->gh, 0, 0);
  GEOSCoordSequence *np = NULL;
  if (m == NULL || origin == NULL)
    goto done;
  np = GEOSNearestPoints_r(geo->gh, m, origin);
  if (np == NULL) {
    rc = HV_EGEOMETRY;
    goto done;
  }
  double x = 0, y = 0;
  GEOSCoordSeq_getXY_r(geo->gh, np, 0, &x, &y);
  if (!inverse_xy(&x, &y, p))
    goto done;
  *out = hv_geo_distance_m(lon, lat, x, y);
  rc = HV_OK;
done:
  if (np)
    GEOSCoordSeq_destroy_r(geo->gh, np);
  if (m)
    GEOSGeom_destroy_r(geo->gh, m);
  if (origin)
    GEOSGeom_destroy_r(geo->gh, origin);
  proj_destroy(p);
  return rc;
}

int hv_geo_covers_point(struct hv_geo *geo, const GEOSPreparedGeometry *pg,
                        double lon, double lat) {
  GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(geo->gh, lon, lat);
  if (pt == NULL)
    return HV_ENOMEM;
  char r = GEOSPreparedIntersects_r(geo->gh, pg, pt);
  GEOSGeom_destroy_r(geo->gh, pt);
  if (r == 2)
    return HV_EGEOMETRY;
  return r;
}
