/*
 * zones-gen.h — real-shaped zones for the point-in-zone benchmark
 * (bench/bench-zindex.c) and its tests (tests/unit/test-zindex.c), in one
 * place so that both measure and check the very same zones.
 *
 * The sources are real boundaries, read from the shared data
 * (HAVEN_SHARED_DATA, e.g. /work/shared/data) with hv_geo_from_geojson, in
 * this order (24 shapes):
 *   - the 14 Syrian governorates, admin/syr_adm1_ocha.geojson (file order;
 *     Rural Damascus has a hole, Tartous is a MultiPolygon);
 *   - the 3 Turkish operation areas of north Syria,
 *     zones/tur_operation_areas_north_syria.geojson;
 *   - the 7 Natural Earth country polygons of Syria and its neighbours,
 *     admin/ne10m_syria_and_neighbours.geojson (Palestine and Turkey are
 *     MultiPolygons; Palestine, invalid as published, is repaired with
 *     GEOSMakeValid, see zg_repair).
 * Zone i is a copy of source i % 24 with every vertex kept, scaled so that
 * the larger side of its envelope measures d degrees, d log-uniform in
 * [ZG_MIN_DEG, ZG_MAX_DEG] (10 to 100 km: a town to a district), and
 * translated so that its envelope's centre is uniform in the box given (the
 * W-PIP box, lon 35.7-42.4, lat 32.3-37.4): the zones overlap each other
 * and the governorates, about two of them over an average point. The
 * draws come from a splitmix64 stream started at the seed, so a seed always
 * gives the same zones. Scaling keeps shapes, holes and vertex counts
 * (about 1,500 vertices per zone on average); rounding may in rare cases
 * make a copy invalid in the OGC sense, which neither GEOS's point locator
 * nor haven's index minds.
 *
 * Header-only (static functions); include it after <haven/haven.h>.
 */
#ifndef HAVEN_BENCH_ZONES_GEN_H
#define HAVEN_BENCH_ZONES_GEN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <haven/haven.h>

#define ZG_MIN_DEG 0.1
#define ZG_MAX_DEG 1.0

/* The W-PIP box (shared/bench/WORKLOADS.md): minx miny maxx maxy. */
static const double ZG_WPIP_BOX[4] = {35.7, 32.3, 42.4, 37.4};

/* A set of geometries owned by one hv_geo context. */
struct zg_set {
  GEOSGeometry **g;
  size_t n, cap;
};

/* Frees the geometries of s (made with geo) and the array. */
static inline void zg_free(struct hv_geo *geo, struct zg_set *s) {
  for (size_t i = 0; i < s->n; i++)
    hv_geo_geom_free(geo, s->g[i]);
  free(s->g);
  s->g = NULL;
  s->n = s->cap = 0;
}

/* Appends g (taken) to s; 0, or -1 when out of memory (g is freed). */
static inline int zg_push(struct hv_geo *geo, struct zg_set *s,
                          GEOSGeometry *g) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    GEOSGeometry **v = realloc(s->g, cap * sizeof *v);
    if (v == NULL) {
      hv_geo_geom_free(geo, g);
      return -1;
    }
    s->g = v;
    s->cap = cap;
  }
  s->g[s->n++] = g;
  return 0;
}

/* A geometry hv_geo_from_geojson refused as invalid (Natural Earth's
 * Palestine has a self-touching ring), read by GEOS's own GeoJSON reader
 * and repaired with GEOSMakeValid; 0 when the result is polygonal. */
static inline int zg_repair(struct hv_geo *geo, const json_t *geometry,
                            GEOSGeometry **out) {
  GEOSContextHandle_t h = hv_geo_geos(geo);
  char *text = json_dumps(geometry, JSON_COMPACT);
  GEOSGeoJSONReader *r = GEOSGeoJSONReader_create_r(h);
  GEOSGeometry *raw =
      text && r ? GEOSGeoJSONReader_readGeometry_r(h, r, text) : NULL;
  GEOSGeometry *v = raw ? GEOSMakeValid_r(h, raw) : NULL;
  if (r)
    GEOSGeoJSONReader_destroy_r(h, r);
  free(text);
  if (raw)
    GEOSGeom_destroy_r(h, raw);
  /* MakeValid may add the collapsed parts as lines: keep the polygons. */
  GEOSGeometry *parts[256];
  unsigned np = 0;
  int n = v ? GEOSGetNumGeometries_r(h, v) : 0;
  for (int i = 0; i < n; i++) {
    const GEOSGeometry *c = GEOSGetGeometryN_r(h, v, i);
    int t = GEOSGeomTypeId_r(h, c);
    if (t != GEOS_POLYGON && t != GEOS_MULTIPOLYGON)
      continue;
    int m = t == GEOS_MULTIPOLYGON ? GEOSGetNumGeometries_r(h, c) : 1;
    for (int k = 0; k < m; k++) {
      const GEOSGeometry *pg =
          t == GEOS_POLYGON ? c : GEOSGetGeometryN_r(h, c, k);
      if (np < sizeof parts / sizeof *parts)
        parts[np++] = GEOSGeom_clone_r(h, pg);
    }
  }
  if (v)
    GEOSGeom_destroy_r(h, v);
  GEOSGeometry *g =
      np ? GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, np) : NULL;
  if (g == NULL) {
    for (unsigned i = 0; i < np; i++)
      GEOSGeom_destroy_r(h, parts[i]);
    return -1;
  }
  *out = g;
  return 0;
}

/* Appends the geometry of every feature of the FeatureCollection file
 * data_dir/name to s, in file order. 0, or -1 with a message on stderr. */
static inline int zg_load_file(struct hv_geo *geo, const char *data_dir,
                               const char *name, struct zg_set *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", data_dir, name);
  json_error_t jerr;
  json_t *fc = json_load_file(path, 0, &jerr);
  if (fc == NULL) {
    fprintf(stderr, "zones-gen: %s: %s\n", path, jerr.text);
    return -1;
  }
  size_t i;
  json_t *f;
  int rc = 0;
  json_array_foreach(json_object_get(fc, "features"), i, f) {
    GEOSGeometry *g = NULL;
    struct hv_error err = {0};
    if (hv_geo_from_geojson(geo, json_object_get(f, "geometry"), &g, &err) !=
            HV_OK &&
        zg_repair(geo, json_object_get(f, "geometry"), &g) != 0) {
      fprintf(stderr, "zones-gen: %s: feature %zu: %s\n", path, i, err.msg);
      rc = -1;
      break;
    }
    if (zg_push(geo, s, g) != 0) {
      rc = -1;
      break;
    }
  }
  json_decref(fc);
  return rc;
}

/* The 14 governorates alone (file order: the W-PIP polygons). */
static inline int zg_load_governorates(struct hv_geo *geo, const char *data_dir,
                                       struct zg_set *out) {
  return zg_load_file(geo, data_dir, "admin/syr_adm1_ocha.geojson", out);
}

/* The 24 source shapes, in the order above. 0, or -1 (message on stderr;
 * whatever was loaded stays in out for zg_free). */
static inline int zg_load_sources(struct hv_geo *geo, const char *data_dir,
                                  struct zg_set *out) {
  if (zg_load_governorates(geo, data_dir, out) != 0 ||
      zg_load_file(geo, data_dir,
                   "zones/tur_operation_areas_north_syria.geojson", out) != 0 ||
      zg_load_file(geo, data_dir, "admin/ne10m_syria_and_neighbours.geojson",
                   out) != 0)
    return -1;
  return 0;
}

/* splitmix64: the next 64 random bits of *state. */
static inline uint64_t zg_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A uniform double in [0, 1) from *state. */
static inline double zg_uniform(uint64_t *state) {
  return (double)(zg_next(state) >> 11) * 0x1.0p-53;
}

/* The affine map of one copy: x' = cx + (x - ox) * f, likewise y. */
struct zg_map {
  double ox, oy, cx, cy, f;
};

static inline int zg_apply(double *x, double *y, void *userdata) {
  const struct zg_map *m = userdata;
  *x = m->cx + (*x - m->ox) * m->f;
  *y = m->cy + (*y - m->oy) * m->f;
  return 1;
}

/* Appends n zones copied from src (borrowed) to out, as described above,
 * from seed, centres uniform in box (minx miny maxx maxy). 0, or -1. */
static inline int zg_make(struct hv_geo *geo, const struct zg_set *src,
                          size_t n, uint64_t seed, const double box[4],
                          struct zg_set *out) {
  GEOSContextHandle_t h = hv_geo_geos(geo);
  uint64_t st = seed;
  if (src->n == 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const GEOSGeometry *s = src->g[i % src->n];
    double x0, y0, x1, y1;
    if (GEOSGeom_getExtent_r(h, s, &x0, &y0, &x1, &y1) == 0)
      return -1;
    double d = ZG_MIN_DEG * pow(ZG_MAX_DEG / ZG_MIN_DEG, zg_uniform(&st));
    struct zg_map m;
    m.ox = (x0 + x1) / 2;
    m.oy = (y0 + y1) / 2;
    m.f = d / fmax(x1 - x0, y1 - y0);
    m.cx = box[0] + (box[2] - box[0]) * zg_uniform(&st);
    m.cy = box[1] + (box[3] - box[1]) * zg_uniform(&st);
    GEOSGeometry *g = GEOSGeom_transformXY_r(h, s, zg_apply, &m);
    if (g == NULL || zg_push(geo, out, g) != 0)
      return -1;
  }
  return 0;
}

#endif /* HAVEN_BENCH_ZONES_GEN_H */
