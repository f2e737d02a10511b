/*
 * scenario.h — the bundled scenario imported into a benchmark's store:
 * data/scenario's registry and corridors with mkscenario's output in scn
 * (areas, zones, sites, delineations), as the coordinator, as `make demo`
 * does. Header-only, like bench-util.h.
 */
#ifndef HAVEN_BENCH_SCENARIO_H
#define HAVEN_BENCH_SCENARIO_H

#include <stdio.h>

#include <haven/haven.h>

/* src: the source tree; scn: mkscenario's output. Errors as
 * hv_db_import. */
static inline int import_scenario(struct hv_db *db, const char *src,
                                  const char *scn, struct hv_error *err) {
  static const struct {
    int built; /* 1: in scn, 0: in src */
    const char *name;
  } files[6] = {{0, "data/scenario/registry.json"},
                {1, "areas.geojson"},
                {1, "zones.geojson"},
                {1, "sites.geojson"},
                {1, "delineations.geojson"},
                {0, "data/scenario/corridors.geojson"}};
  char p[6][4200];
  const char *paths[6];
  for (int i = 0; i < 6; i++) {
    snprintf(p[i], sizeof p[i], "%s/%s", files[i].built ? scn : src,
             files[i].name);
    paths[i] = p[i];
  }
  return hv_db_import(db, HV_COORDINATOR, paths, 6, NULL, NULL, NULL, err);
}

#endif
