/*
 * bench-check.c — deconfliction requests in-process (hv_check, haven/
 * check.h) against 100,000 protected sites, 10,000 zones and 1,000
 * movements, next to a brute-force scan of all objects in the same run.
 *
 * The store: the bundled scenario (data/scenario/registry.json and
 * corridors.geojson, and mkscenario's zones, sites, delineations and areas:
 * the real medical facilities and Astana zones), plus, generated from seed
 * SEED:
 *   - sites up to 100,000: points, half of them within ~20 km of a real
 *     site (gaussian), half uniform over the W-PIP box; category drawn from
 *     the schema's list, radius 100-1,000 m, one in ten blind;
 *   - zones up to 10,000: real shapes scaled and placed as bench/zones-gen.h
 *     does (the 24 sources, 10-100 km), each simplified by GEOS
 *     (topology-preserving, tolerance 1% of its size) to keep the store's
 *     documents to a few hundred MB; kind de_escalation / safe / no_fly,
 *     valid from 2016-01-01, guarantors ru, tr;
 *   - 1,000 movements: routes of 2-5 vertices, 5-50 km, half-width 100-500
 *     m, windows of 2-24 h in June 2016, one in ten withdrawn, one in ten
 *     blind.
 * The operations: 10,000 random ones over the W-PIP box in June 2016 —
 * 70% points (effect radius 0-5 km), 15% squares of 0.5-5 km, 15% routes of
 * 2-4 vertices, 1-20 km, half-width 0-500 m — by syr-gov, ru, us or tr,
 * a third with a target.
 *
 * First an untimed pass checks every operation's site and movement sets
 * against the baseline's (and warms GEOS's prepared geometries); then one
 * timed pass of each: hv_check, and the baseline — every site, movement
 * and zone scanned (envelope first, then the same exact tests), the
 * agreements and delineations as hv_check does. Prints p50 / p99 / max
 * per check for both, the ratio of the p50s, and the target (p99 <= 1 ms
 * in-process): PASS or MISS.
 *
 * usage: bench-check SOURCE_DIR SCENARIO_DIR SCRATCH_DIR [OPS] [--ops-json FILE]
 *   SOURCE_DIR   the repository (for data/scenario/)
 *   SCENARIO_DIR mkscenario's output (mkscenario data/src DIR)
 *   SCRATCH_DIR  an empty directory for the store and generated files
 *
 * The store is built once: when SCRATCH_DIR/db already holds 100,000 sites
 * it is reused as it is (no import).
 *
 * With --ops-json FILE (for bench/bench-checks-api.sh): the store as above,
 * then OPS operations (default 10,000) of the same distribution but from
 * their own seed, so the same whether the store was just built or reused,
 * written to FILE one a line, "AUTHOR<TAB>VERDICT<TAB>BODY", BODY the JSON
 * of POST /v1/checks (hv_operation_json without "author") and VERDICT what
 * hv_check answers AUTHOR. The operations timed are those bodies read back
 * with hv_operation_from_json, as the server reads them: an untimed pass,
 * one timed pass of hv_check, then one of what the server does for a check
 * but HTTP (hv_check, hv_db_record_check: one ledger entry and one commit
 * each, hv_verdict_json serialized). No brute-force baseline in this mode.
 * The last line is "inproc check_p50_us=... check_p99_us=...
 * record_p50_us=... record_p99_us=...".
 * The shared data are read from $HAVEN_SHARED_DATA (default
 * SOURCE_DIR/../shared/data).
 */
#include <haven/check.h>
#include <haven/haven.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones-gen.h"

#include "bench-util.h"
#include "scenario.h"

#define N_SITES 100000
#define N_ZONES 10000
#define N_MOVES 1000
#define N_OPS 10000
#define SEED 7u
#define JUNE_2016 1464739200000LL
#define HOUR 3600000LL
#define TARGET_P99_S 1e-3

static uint64_t rng = SEED;
static double uni(void) { return zg_uniform(&rng); }
static double gauss(void) {
  double u = uni() + 1e-12, v = uni();
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void time_text(int64_t t, char *buf) { hv_time_format(t, buf, 32); }

/* ---- generating the objects ---------------------------------------------- */

static int write_sites(struct hv_db *db, const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  size_t nreal = hv_db_count(db, HV_SITE);
  static const char *const cats[] = {"hospital", "school",        "shelter",
                                     "camp",     "aid_warehouse", "water",
                                     "power",    "religious",     "cultural"};
  fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[\n");
  for (size_t i = 0; i + nreal < N_SITES; i++) {
    double lon, lat;
    if (i % 2 == 0 && nreal) {
      const struct hv_object *s =
          hv_db_at(db, HV_SITE, (size_t)(uni() * nreal));
      lon = s->u.site.lon + gauss() * 0.2;
      lat = s->u.site.lat + gauss() * 0.2;
    } else {
      lon = ZG_WPIP_BOX[0] + uni() * (ZG_WPIP_BOX[2] - ZG_WPIP_BOX[0]);
      lat = ZG_WPIP_BOX[1] + uni() * (ZG_WPIP_BOX[3] - ZG_WPIP_BOX[1]);
    }
    lon = fmin(fmax(lon, -180), 180);
    lat = fmin(fmax(lat, -85), 85);
    fprintf(f,
            "%s{\"type\":\"Feature\",\"id\":\"gen-site-%zu\",\"geometry\":{"
            "\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]},\"properties\":{"
            "\"object\":\"site\",\"name\":\"Generated site %zu\",\"category\""
            ":\"%s\",\"radius_m\":%.0f,\"notified_by\":\"ocha\"%s}}\n",
            i ? "," : "", i, lon, lat, i, cats[i % 9], 100 + uni() * 900,
            i % 10 == 3 ? ",\"disclosure\":\"blind\"" : "");
  }
  fprintf(f, "]}\n");
  return fclose(f) == 0 ? 0 : -1;
}

static int write_zones(struct hv_db *db, const char *shared, const char *path) {
  struct hv_geo *geo = hv_db_geo(db);
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  struct zg_set src = {0}, gen = {0};
  size_t nreal = hv_db_count(db, HV_ZONE);
  size_t n = N_ZONES > nreal ? N_ZONES - nreal : 0;
  if (zg_load_sources(geo, shared, &src) != 0 ||
      zg_make(geo, &src, n, SEED, ZG_WPIP_BOX, &gen) != 0) {
    zg_free(geo, &src);
    zg_free(geo, &gen);
    return -1;
  }
  FILE *f = fopen(path, "w");
  int rc = f ? 0 : -1;
  static const char *const kinds[] = {"de_escalation", "safe", "no_fly"};
  if (f)
    fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[\n");
  size_t written = 0;
  for (size_t i = 0; f && i < gen.n; i++) {
    double x0, y0, x1, y1;
    GEOSGeom_getExtent_r(gh, gen.g[i], &x0, &y0, &x1, &y1);
    GEOSGeometry *s = GEOSTopologyPreserveSimplify_r(
        gh, gen.g[i], 0.01 * fmax(x1 - x0, y1 - y0));
    json_t *g = NULL;
    if (s == NULL || GEOSisValid_r(gh, s) != 1 ||
        hv_geo_to_geojson(geo, s, &g) != HV_OK) {
      if (s)
        GEOSGeom_destroy_r(gh, s);
      continue; /* an invalid copy (docs: rare) is left out */
    }
    GEOSGeom_destroy_r(gh, s);
    char *gt = json_dumps(g, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(g);
    fprintf(f,
            "%s{\"type\":\"Feature\",\"id\":\"gen-zone-%zu\",\"geometry\":%s,"
            "\"properties\":{\"object\":\"zone\",\"name\":\"Generated zone "
            "%zu\",\"kind\":\"%s\",\"valid_from\":\"2016-01-01\",\"phase\":"
            "\"established\",\"guarantors\":[\"ru\",\"tr\"]}}\n",
            written ? "," : "", i, gt, i, kinds[i % 3]);
    free(gt);
    written++;
  }
  if (f) {
    fprintf(f, "]}\n");
    rc = fclose(f) == 0 ? 0 : -1;
  }
  printf("zones: %zu real + %zu generated (%zu copies left out as invalid "
         "after simplification)\n",
         nreal, written, gen.n - written);
  zg_free(geo, &src);
  zg_free(geo, &gen);
  return rc;
}

static int write_movements(const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fprintf(f, "{\"type\":\"FeatureCollection\",\"features\":[\n");
  for (int i = 0; i < N_MOVES; i++) {
    double lon = ZG_WPIP_BOX[0] + uni() * (ZG_WPIP_BOX[2] - ZG_WPIP_BOX[0]);
    double lat = ZG_WPIP_BOX[1] + uni() * (ZG_WPIP_BOX[3] - ZG_WPIP_BOX[1]);
    int nv = 2 + (int)(uni() * 4);
    double len = (5 + uni() * 45) / 111.0 / (nv - 1), dir = uni() * 2 * M_PI;
    fprintf(f,
            "%s{\"type\":\"Feature\",\"id\":\"gen-move-%d\",\"geometry\":{"
            "\"type\":\"LineString\",\"coordinates\":[",
            i ? "," : "", i);
    for (int k = 0; k < nv; k++) {
      fprintf(f, "%s[%.6f,%.6f]", k ? "," : "", lon, lat);
      dir += (uni() - 0.5);
      lon += len * cos(dir);
      lat += len * sin(dir);
    }
    int64_t from = JUNE_2016 + (int64_t)(uni() * 29 * 24) * HOUR;
    int64_t to = from + (2 + (int64_t)(uni() * 22)) * HOUR;
    char a[32], b[32], w[32];
    time_text(from, a);
    time_text(to, b);
    time_text(from - 72 * HOUR, w);
    fprintf(f,
            "]},\"properties\":{\"object\":\"movement\",\"name\":\"Convoy "
            "%d\",\"kind\":\"convoy\",\"notified_by\":\"icrc\",\"valid_from\""
            ":\"%s\",\"valid_to\":\"%s\",\"vehicles\":%d,\"half_width_m\":"
            "%.0f%s%s%s%s}}\n",
            i, a, b, 1 + i % 30, 100 + uni() * 400,
            i % 10 == 1 ? ",\"withdrawn_at\":\"" : "", i % 10 == 1 ? w : "",
            i % 10 == 1 ? "\"" : "",
            i % 10 == 2 ? ",\"disclosure\":\"blind\"" : "");
  }
  fprintf(f, "]}\n");
  return fclose(f) == 0 ? 0 : -1;
}

/* ---- the operations -------------------------------------------------------
 */

static void make_op(struct hv_db *db, struct hv_operation *op) {
  static const char *const authors[] = {"syr-gov", "ru", "us", "tr"};
  static const char *const targets[] = {"fsa", "is",        "jfs",
                                        "sdf", "hezbollah", "syr-opposition"};
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(db));
  memset(op, 0, sizeof *op);
  op->kind = (enum hv_op_kind)(uni() * HV_OP_COUNT);
  op->author = authors[(int)(uni() * 4)];
  if (uni() < 1.0 / 3)
    snprintf(op->target, sizeof op->target, "%s", targets[(int)(uni() * 6)]);
  op->from_ms = JUNE_2016 + (int64_t)(uni() * 29 * 24) * HOUR;
  op->to_ms = op->from_ms + (1 + (int64_t)(uni() * 6)) * HOUR;
  double lon = ZG_WPIP_BOX[0] + uni() * (ZG_WPIP_BOX[2] - ZG_WPIP_BOX[0]);
  double lat = ZG_WPIP_BOX[1] + uni() * (ZG_WPIP_BOX[3] - ZG_WPIP_BOX[1]);
  double u = uni();
  if (u < 0.70) {
    op->geom = GEOSGeom_createPointFromXY_r(gh, lon, lat);
    op->effect_radius_m = uni() < 0.2 ? 0 : uni() * 5000;
  } else if (u < 0.85) {
    double h = (0.5 + uni() * 4.5) / 111.0 / 2;
    double xy[10] = {lon - h, lat - h, lon + h, lat - h, lon + h,
                     lat + h, lon - h, lat + h, lon - h, lat - h};
    GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(gh, xy, 5, 0, 0);
    op->geom = GEOSGeom_createPolygon_r(gh, GEOSGeom_createLinearRing_r(gh, cs),
                                        NULL, 0);
    op->effect_radius_m = uni() * 500;
  } else {
    int nv = 2 + (int)(uni() * 3);
    double xy[8], len = (1 + uni() * 19) / 111.0 / (nv - 1),
                  dir = uni() * 2 * M_PI;
    for (int k = 0; k < nv; k++) {
      xy[2 * k] = lon;
      xy[2 * k + 1] = lat;
      dir += uni() - 0.5;
      lon += len * cos(dir);
      lat += len * sin(dir);
    }
    GEOSCoordSequence *cs =
        GEOSCoordSeq_copyFromBuffer_r(gh, xy, (unsigned)nv, 0, 0);
    op->geom = GEOSGeom_createLineString_r(gh, cs);
    op->effect_radius_m = uni() * 500;
  }
}

/* ---- --ops-json: the operations as bodies of POST /v1/checks --------------
 */

static double pct(double *t, size_t n, double p) {
  qsort(t, n, sizeof *t, cmp_double);
  size_t i = (size_t)((double)n * p);
  return t[i < n ? i : n - 1];
}

static int ops_json(struct hv_db *db, long nops, const char *path) {
  struct hv_error err = {0};
  struct hv_checker *chk;
  if (hv_checker_new(db, &chk) != HV_OK)
    return 1;
  rng = SEED * 0x9e3779b97f4a7c15ull + 1; /* not the store's stream */
  struct hv_operation *ops = calloc((size_t)nops, sizeof *ops);
  char **bodies = calloc((size_t)nops, sizeof *bodies);
  int *verdict = calloc((size_t)nops, sizeof *verdict);
  double *tc = calloc((size_t)nops, sizeof *tc),
         *tr = calloc((size_t)nops, sizeof *tr);
  FILE *f = fopen(path, "w");
  if (!ops || !bodies || !verdict || !tc || !tr || !f) {
    fprintf(stderr, "bench-check: %s: cannot write\n", path);
    return 1;
  }
  for (long i = 0; i < nops; i++) {
    struct hv_operation op;
    make_op(db, &op);
    json_t *j = hv_operation_json(db, &op);
    json_object_del(j, "author");
    bodies[i] = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_t *back = j ? json_loads(bodies[i], 0, NULL) : NULL;
    json_decref(j);
    int rc = back ? hv_operation_from_json(db, back, &ops[i], &err) : HV_ENOMEM;
    json_decref(back);
    if (rc != HV_OK) {
      fprintf(stderr, "bench-check: op %ld read back: %s\n", i, err.msg);
      return 1;
    }
    ops[i].author = op.author;
    hv_operation_clear(db, &op);
  }
  /* The untimed pass: the verdicts, and GEOS's prepared geometries warm. */
  size_t verdicts[3] = {0, 0, 0};
  double t0 = now_s();
  for (long i = 0; i < nops; i++) {
    struct hv_verdict *v = NULL;
    if (hv_check(chk, &ops[i], &v, &err) != HV_OK) {
      fprintf(stderr, "bench-check: op %ld: %s\n", i, err.msg);
      return 1;
    }
    verdict[i] = (int)v->verdict;
    verdicts[v->verdict]++;
    fprintf(f, "%s\t%s\t%s\n", ops[i].author, hv_verdict_name(v->verdict),
            bodies[i]);
    hv_verdict_free(v);
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "bench-check: %s: cannot write\n", path);
    return 1;
  }
  printf("ops: %ld operations (own seed) written to %s, checked in %.1f s; "
         "clear %zu, conflict %zu, forbidden %zu\n",
         nops, path, now_s() - t0, verdicts[0], verdicts[1], verdicts[2]);
  /* hv_check alone. */
  for (long i = 0; i < nops; i++) {
    struct hv_verdict *v = NULL;
    double a = now_s();
    hv_check(chk, &ops[i], &v, &err);
    tc[i] = now_s() - a;
    hv_verdict_free(v);
  }
  /* What the server does for a check, but HTTP and the probing detector. */
  size_t bad = 0;
  for (long i = 0; i < nops; i++) {
    struct hv_verdict *v = NULL;
    double a = now_s();
    int rc = hv_check(chk, &ops[i], &v, &err);
    if (rc == HV_OK)
      rc = hv_db_record_check(db, ops[i].author, &ops[i], v, NULL, &err);
    if (rc == HV_OK) {
      struct hv_principal who = hv_check_principal(db, ops[i].author);
      json_t *j = hv_verdict_json(&who, db, v);
      char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
      rc = text ? HV_OK : HV_ENOMEM;
      free(text);
      json_decref(j);
    }
    tr[i] = now_s() - a;
    if (rc != HV_OK || (int)v->verdict != verdict[i]) {
      if (bad++ < 5)
        fprintf(stderr, "bench-check: op %ld recorded: %s\n", i,
                rc != HV_OK ? err.msg : "another verdict");
    }
    hv_verdict_free(v);
  }
  double c50 = pct(tc, (size_t)nops, 0.5), c99 = pct(tc, (size_t)nops, 0.99);
  double r50 = pct(tr, (size_t)nops, 0.5), r99 = pct(tr, (size_t)nops, 0.99);
  printf("hv_check:                          p50 %8.1f us  p99 %8.1f us  "
         "max %8.1f us\n",
         c50 * 1e6, c99 * 1e6, tc[nops - 1] * 1e6);
  printf("hv_check + record (commit) + JSON: p50 %8.1f us  p99 %8.1f us  "
         "max %8.1f us\n",
         r50 * 1e6, r99 * 1e6, tr[nops - 1] * 1e6);
  printf("inproc check_p50_us=%.1f check_p99_us=%.1f record_p50_us=%.1f "
         "record_p99_us=%.1f\n",
         c50 * 1e6, c99 * 1e6, r50 * 1e6, r99 * 1e6);
  for (long i = 0; i < nops; i++) {
    hv_operation_clear(db, &ops[i]);
    free(bodies[i]);
  }
  free(ops);
  free(bodies);
  free(verdict);
  free(tc);
  free(tr);
  hv_checker_free(chk);
  return bad ? 1 : 0;
}

/* ---- the baseline: every object scanned ------------------------------------
 */

struct base {
  size_t sites, moves, zones;
};

static void margin(double lat, double d, double *dlon, double *dlat) {
  *dlat = d / 110000.0 + 1e-6;
  *dlon =
      d / (111000.0 * cos(fmin(89.9, fabs(lat) + *dlat) * M_PI / 180)) + 1e-6;
}

/* The distance rule of docs/checks.md, written again here without any
 * index: 0 when g meets the operation; else the geodesic length between
 * the nearest points found by GEOS in the local frame (x = lon * coslat,
 * y = lat) around the operation. */
static int scale_x(double *x, double *y, void *ud) {
  (void)y;
  *x *= *(const double *)ud;
  return 1;
}

static double rule_distance(GEOSContextHandle_t gh, const GEOSGeometry *g,
                            const struct hv_operation *op, double coslat) {
  if (GEOSIntersects_r(gh, g, op->geom) == 1)
    return 0;
  GEOSGeometry *a = GEOSGeom_transformXY_r(gh, g, scale_x, &coslat);
  GEOSGeometry *b = GEOSGeom_transformXY_r(gh, op->geom, scale_x, &coslat);
  GEOSCoordSequence *np = a && b ? GEOSNearestPoints_r(gh, a, b) : NULL;
  double ax = 0, ay = 0, bx = 0, by = 0, d = INFINITY;
  if (np && GEOSCoordSeq_getXY_r(gh, np, 0, &ax, &ay) &&
      GEOSCoordSeq_getXY_r(gh, np, 1, &bx, &by))
    d = hv_geo_distance_m(ax / coslat, ay, bx / coslat, by);
  if (np)
    GEOSCoordSeq_destroy_r(gh, np);
  if (a)
    GEOSGeom_destroy_r(gh, a);
  if (b)
    GEOSGeom_destroy_r(gh, b);
  return d;
}

static void baseline(struct hv_db *db, const struct hv_operation *op,
                     struct base *b) {
  struct hv_geo *geo = hv_db_geo(db);
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  memset(b, 0, sizeof *b);
  double x0, y0, x1, y1;
  GEOSGeom_getExtent_r(gh, op->geom, &x0, &y0, &x1, &y1);
  int point = GEOSGeomTypeId_r(gh, op->geom) == GEOS_POINT;
  double coslat = cos(fmin(89.9, fabs((y0 + y1) / 2)) * M_PI / 180);
  double r = op->effect_radius_m, maxlat = fmax(fabs(y0), fabs(y1));
  size_t n = hv_db_count(db, HV_SITE);
  for (size_t i = 0; i < n; i++) {
    const struct hv_object *s = hv_db_at(db, HV_SITE, i);
    double lim = r + s->u.site.radius_m, dlon, dlat;
    margin(maxlat, lim, &dlon, &dlat);
    if (s->u.site.lon < x0 - dlon || s->u.site.lon > x1 + dlon ||
        s->u.site.lat < y0 - dlat || s->u.site.lat > y1 + dlat)
      continue;
    double d = point ? hv_geo_distance_m(x0, y0, s->u.site.lon, s->u.site.lat)
                     : rule_distance(gh, s->geom, op, coslat);
    b->sites += d <= lim;
  }
  n = hv_db_count(db, HV_MOVEMENT);
  for (size_t i = 0; i < n; i++) {
    const struct hv_object *m = hv_db_at(db, HV_MOVEMENT, i);
    if (m->geom == NULL || m->u.movement.withdrawn_ms ||
        m->from_ms >= op->to_ms || op->from_ms >= m->to_ms)
      continue;
    double lim = r + m->u.movement.half_width_m, dlon, dlat;
    margin(fmax(maxlat, fmax(fabs(m->miny), fabs(m->maxy))), lim, &dlon, &dlat);
    if (m->maxx < x0 - dlon || m->minx > x1 + dlon || m->maxy < y0 - dlat ||
        m->miny > y1 + dlat)
      continue;
    b->moves += rule_distance(gh, m->geom, op, coslat) <= lim;
  }
  n = hv_db_count(db, HV_ZONE);
  for (size_t i = 0; i < n; i++) {
    const struct hv_object *z = hv_db_at(db, HV_ZONE, i);
    double dlon, dlat;
    margin(fmax(maxlat, fmax(fabs(z->miny), fabs(z->maxy))), r, &dlon, &dlat);
    if (z->maxx < x0 - dlon || z->minx > x1 + dlon || z->maxy < y0 - dlat ||
        z->miny > y1 + dlat)
      continue;
    b->zones += rule_distance(gh, z->geom, op, coslat) <= r;
  }
}

static size_t count(const struct hv_verdict *v, enum hv_reason_kind k) {
  size_t n = 0;
  for (size_t i = 0; i < v->n_reasons; i++)
    n += v->reasons[i].kind == k;
  return n;
}

int main(int argc, char **argv) {
  const char *ops_path = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--ops-json") == 0) {
      ops_path = argv[i + 1];
      memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 1) * sizeof *argv);
      argc -= 2;
      break;
    }
  if (argc < 4) {
    fprintf(stderr, "usage: bench-check SOURCE_DIR SCENARIO_DIR SCRATCH_DIR "
                    "[OPS] [--ops-json FILE]\n");
    return 2;
  }
  const char *src = argv[1], *scn = argv[2], *scratch = argv[3];
  long nops = argc > 4 ? strtol(argv[4], NULL, 10) : N_OPS;
  if (nops < 1)
    nops = N_OPS;
  char shared[4096];
  const char *env = getenv("HAVEN_SHARED_DATA");
  snprintf(shared, sizeof shared, "%s", env && *env ? env : "");
  if (!shared[0])
    snprintf(shared, sizeof shared, "%s/../shared/data", src);
  char p[9][4200];
  snprintf(p[0], sizeof p[0], "%s/db", scratch);
  struct hv_db *db;
  struct hv_error err = {0};
  if (hv_db_open(p[0], &db, &err) != HV_OK) {
    fprintf(stderr, "bench-check: %s\n", err.msg);
    return 1;
  }
  double t0 = now_s();
  size_t real_sites = 0;
  if (hv_db_count(db, HV_SITE) >= N_SITES) {
    printf("store: reused from %s/db\n", scratch);
    goto built;
  }
  if (import_scenario(db, src, scn, &err) != HV_OK) {
    fprintf(stderr, "bench-check: scenario: %s\n", err.msg);
    return 1;
  }
  real_sites = hv_db_count(db, HV_SITE);
  snprintf(p[6], sizeof p[6], "%s/gen-sites.geojson", scratch);
  snprintf(p[7], sizeof p[7], "%s/gen-zones.geojson", scratch);
  snprintf(p[8], sizeof p[8], "%s/gen-movements.geojson", scratch);
  if (write_sites(db, p[6]) != 0 || write_zones(db, shared, p[7]) != 0 ||
      write_movements(p[8]) != 0) {
    fprintf(stderr, "bench-check: cannot write the generated objects\n");
    return 1;
  }
  const char *gpaths[3] = {p[6], p[7], p[8]};
  if (hv_db_import(db, HV_COORDINATOR, gpaths, 3, NULL, NULL, NULL, &err) !=
      HV_OK) {
    fprintf(stderr, "bench-check: generated objects: %s\n", err.msg);
    return 1;
  }
built:
  printf("store: %zu sites (%zu real), %zu zones, %zu movements, %zu "
         "agreements, %zu delineations; built in %.1f s\n",
         hv_db_count(db, HV_SITE), real_sites, hv_db_count(db, HV_ZONE),
         hv_db_count(db, HV_MOVEMENT), hv_db_count(db, HV_AGREEMENT),
         hv_db_count(db, HV_DELINEATION), now_s() - t0);
  if (ops_path) {
    int rc = ops_json(db, nops, ops_path);
    hv_db_close(db);
    return rc;
  }

  struct hv_checker *chk;
  hv_checker_new(db, &chk);
  struct hv_operation *ops = calloc((size_t)nops, sizeof *ops);
  int *shape = calloc((size_t)nops, sizeof *shape);
  double *tc = calloc((size_t)nops, sizeof *tc),
         *tb = calloc((size_t)nops, sizeof *tb);
  for (long i = 0; i < nops; i++) {
    make_op(db, &ops[i]);
    int t = GEOSGeomTypeId_r(hv_geo_geos(hv_db_geo(db)), ops[i].geom);
    shape[i] = t == GEOS_POINT ? 0 : t == GEOS_POLYGON ? 1 : 2;
  }
  /* The checked, untimed pass. */
  t0 = now_s();
  struct hv_verdict *v = NULL;
  if (hv_check(chk, &ops[0], &v, &err) != HV_OK) {
    fprintf(stderr, "bench-check: %s\n", err.msg);
    return 1;
  }
  hv_verdict_free(v);
  printf("index: built at the first check in %.3f s\n", now_s() - t0);
  size_t bad = 0, tot_sites = 0, tot_moves = 0, verdicts[3] = {0, 0, 0};
  for (long i = 0; i < nops; i++) {
    struct base b;
    if (hv_check(chk, &ops[i], &v, &err) != HV_OK) {
      fprintf(stderr, "bench-check: op %ld: %s\n", i, err.msg);
      return 1;
    }
    baseline(db, &ops[i], &b);
    size_t ns = count(v, HV_REASON_SITE), nm = count(v, HV_REASON_MOVEMENT);
    if (ns != b.sites || nm != b.moves) {
      if (bad++ < 5)
        fprintf(stderr,
                "op %ld: check %zu sites %zu movements, baseline %zu, %zu\n", i,
                ns, nm, b.sites, b.moves);
    }
    tot_sites += ns;
    tot_moves += nm;
    verdicts[v->verdict]++;
    hv_verdict_free(v);
  }
  printf("checked: %ld operations, %zu differ from the baseline; %zu site "
         "and %zu movement reasons; clear %zu, conflict %zu, forbidden %zu\n",
         nops, bad, tot_sites, tot_moves, verdicts[0], verdicts[1],
         verdicts[2]);
  /* The timed passes. */
  for (long i = 0; i < nops; i++) {
    double a = now_s();
    hv_check(chk, &ops[i], &v, &err);
    tc[i] = now_s() - a;
    hv_verdict_free(v);
  }
  for (long i = 0; i < nops; i++) {
    struct base b;
    double a = now_s();
    baseline(db, &ops[i], &b);
    tb[i] = now_s() - a;
  }
  /* Per shape (points, polygons, routes): p50 and p99 of hv_check. */
  double *ts = calloc((size_t)nops, sizeof *ts);
  static const char *const shapes[] = {"points", "polygons", "routes"};
  for (int k = 0; ts && k < 3; k++) {
    size_t m = 0;
    for (long i = 0; i < nops; i++)
      if (shape[i] == k)
        ts[m++] = tc[i];
    if (m == 0)
      continue;
    qsort(ts, m, sizeof *ts, cmp_double);
    printf("hv_check %-8s (%5zu): p50 %8.1f us  p99 %8.1f us\n", shapes[k], m,
           ts[m / 2] * 1e6, ts[(size_t)((double)m * 0.99)] * 1e6);
  }
  free(ts);
  free(shape);
  qsort(tc, (size_t)nops, sizeof *tc, cmp_double);
  qsort(tb, (size_t)nops, sizeof *tb, cmp_double);
  size_t i50 = (size_t)nops / 2, i99 = (size_t)((double)nops * 0.99);
  printf("hv_check:   p50 %8.1f us  p99 %8.1f us  max %8.1f us\n",
         tc[i50] * 1e6, tc[i99] * 1e6, tc[nops - 1] * 1e6);
  printf("brute force: p50 %8.1f us  p99 %8.1f us  max %8.1f us\n",
         tb[i50] * 1e6, tb[i99] * 1e6, tb[nops - 1] * 1e6);
  printf("ratio (brute force / hv_check): p50 %.1fx  p99 %.1fx\n",
         tb[i50] / tc[i50], tb[i99] / tc[i99]);
  int pass = tc[i99] <= TARGET_P99_S && bad == 0;
  printf("target p99 <= 1 ms in-process: %s\n", pass ? "PASS" : "MISS");
  for (long i = 0; i < nops; i++)
    hv_operation_clear(db, &ops[i]);
  free(ops);
  free(tc);
  free(tb);
  hv_checker_free(chk);
  hv_db_close(db);
  return bad ? 1 : 0;
}
