/*
 * bench-pip.c — W-PIP (shared/bench/WORKLOADS.md): which governorate holds
 * each of 1,000,000 points, through haven's point-in-zone query
 * (hv_db_zones_at on a store holding the 14 governorates as zones), against
 * the baseline of GEOS prepared geometries with an envelope test, in the
 * same run. Checks both answers against the published one and prints
 * points per second (median of runs) and the ratio.
 *
 * usage: bench-pip SHARED_DIR SCRATCH_DIR [RUNS]
 */
#include <haven/haven.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"

/* Writes the governorates as zones (id g00..g13, in file order). */
static int write_zones(const char *src, const char *dst) {
  json_error_t jerr;
  json_t *fc = json_load_file(src, 0, &jerr);
  if (fc == NULL)
    return -1;
  json_t *out =
      json_pack("{s:s,s:[]}", "type", "FeatureCollection", "features");
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(fc, "features"), i, f) {
    char id[32];
    snprintf(id, sizeof id, "g%02zu", i);
    json_array_append_new(
        json_object_get(out, "features"),
        json_pack("{s:s,s:s,s:O,s:{s:s,s:O,s:s,s:s,s:s}}", "type", "Feature",
                  "id", id, "geometry", json_object_get(f, "geometry"),
                  "properties", "object", "zone", "name",
                  json_object_get(json_object_get(f, "properties"), "ADM1_EN"),
                  "kind", "security", "valid_from", "2000-01-01", "phase",
                  "declared"));
  }
  int rc = json_dump_file(out, dst, JSON_COMPACT);
  json_decref(out);
  json_decref(fc);
  return rc;
}

static int check(const char *what, const long *counts) {
  long inside = 0;
  int ok = 1;
  for (int i = 0; i < WPIP_NFEAT; i++) {
    inside += counts[i];
    ok &= counts[i] == WPIP_EXPECT[i];
  }
  ok &= inside == WPIP_EXPECT_INSIDE;
  printf("  %-28s inside %ld (expected %ld): %s\n", what, inside,
         WPIP_EXPECT_INSIDE, ok ? "correct" : "WRONG");
  if (!ok) {
    for (int i = 0; i < WPIP_NFEAT; i++)
      printf("    feature %2d: %ld expected %ld\n", i, counts[i],
             WPIP_EXPECT[i]);
  }
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench-pip SHARED_DIR SCRATCH_DIR [RUNS]\n");
    return 2;
  }
  int runs = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 5;
  if (runs < 1)
    runs = 1;
  char path[4096], zones[4096], data[4096];
  snprintf(path, sizeof path, "%s/bench/wpip_points_1m.bin", argv[1]);
  size_t n;
  double *pts = load_points(path, &n);
  if (pts == NULL) {
    fprintf(stderr, "bench-pip: %s: cannot read\n", path);
    return 1;
  }
  snprintf(path, sizeof path, "%s/data/admin/syr_adm1_ocha.geojson", argv[1]);
  snprintf(zones, sizeof zones, "%s/wpip-zones.geojson", argv[2]);
  snprintf(data, sizeof data, "%s/wpip-data", argv[2]);
  if (write_zones(path, zones) != 0) {
    fprintf(stderr, "bench-pip: %s: cannot convert\n", path);
    return 1;
  }
  struct hv_db *db;
  struct hv_error err = {0};
  const char *files[] = {zones};
  if (hv_db_open(data, &db, &err) != HV_OK ||
      (hv_db_count(db, HV_ZONE) == 0 &&
       hv_db_import(db, HV_COORDINATOR, files, 1, NULL, NULL, NULL, &err) !=
           HV_OK)) {
    fprintf(stderr, "bench-pip: %s\n", err.msg);
    return 1;
  }
  struct hv_geo *geo = hv_db_geo(db);
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  int64_t t = hv_time_now_ms();
  double *base_s = calloc((size_t)runs, sizeof *base_s);
  double *hv_s = calloc((size_t)runs, sizeof *hv_s);
  long base_counts[WPIP_NFEAT], hv_counts[WPIP_NFEAT];
  struct hv_hits hits = {0};
  for (int r = 0; r < runs; r++) {
    /* Baseline: GEOS prepared geometry, envelope first, first hit wins. */
    memset(base_counts, 0, sizeof base_counts);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
      double x = pts[2 * i], y = pts[2 * i + 1];
      for (int k = 0; k < WPIP_NFEAT; k++) {
        const struct hv_object *z = hv_db_at(db, HV_ZONE, (size_t)k);
        if (x < z->minx || x > z->maxx || y < z->miny || y > z->maxy)
          continue;
        GEOSGeometry *p = GEOSGeom_createPointFromXY_r(gh, x, y);
        char in = GEOSPreparedContains_r(gh, z->prepared, p);
        GEOSGeom_destroy_r(gh, p);
        if (in == 1) {
          base_counts[k]++;
          break;
        }
      }
    }
    base_s[r] = now_s() - t0;
    /* haven: the registry's point-in-zone query. */
    memset(hv_counts, 0, sizeof hv_counts);
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
      hits.n = 0;
      hv_db_zones_at(db, pts[2 * i], pts[2 * i + 1], NAN, t, &hits);
      if (hits.n > 0)
        hv_counts[hits.v[0].obj->id[1] == '0'
                      ? hits.v[0].obj->id[2] - '0'
                      : 10 + hits.v[0].obj->id[2] - '0']++;
    }
    hv_s[r] = now_s() - t0;
  }
  hv_hits_free(&hits);
  qsort(base_s, (size_t)runs, sizeof *base_s, cmp_double);
  qsort(hv_s, (size_t)runs, sizeof *hv_s, cmp_double);
  double base_pps = n / base_s[runs / 2], hv_pps = n / hv_s[runs / 2];
  printf("W-PIP: %zu points, 14 governorates (%d runs, median)\n", n, runs);
  int ok = check("GEOS prepared (baseline)", base_counts);
  ok &= check("haven hv_db_zones_at", hv_counts);
  printf("  baseline GEOS prepared:  %10.0f points/s\n", base_pps);
  printf("  haven zones_at:          %10.0f points/s\n", hv_pps);
  printf("  ratio haven / baseline:  %10.2f\n", hv_pps / base_pps);
  free(base_s);
  free(hv_s);
  free(pts);
  hv_db_close(db);
  return ok ? 0 : 1;
}
