/*
 * bench-inproc-query.c — the in-process baseline of the API benchmark
 * (bench/bench-api.sh): the point-in-zone query of GET /v1/query/zones,
 * hv_db_zones_at, on the same store and at the same point, called many
 * times in a row on one core. With --json it also builds the reply the
 * server sends for it ({"items":[{"id","name","kind","phase","version"}]},
 * dumped compact), to show what the JSON costs apart from HTTP.
 *
 * Checks the answer (the zone expected, given with --expect) and prints
 * the median of the runs, in words and as a last line of key=value pairs
 * for the script:
 *   inproc queries_per_s=... us_per_query=... json_queries_per_s=...
 *   json_us_per_query=...
 *
 * usage: bench-inproc-query DATA_DIR LON LAT [--runs N] [--count N]
 *        [--expect ZONE_ID]
 * The store must exist (bench-api.sh imports the bundled scenario). It is
 * opened read-only in effect: nothing is written.
 */
#include <haven/haven.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"

/* A whole number argument, or -1. */
static long number(const char *text) {
  char *end;
  long v = strtol(text, &end, 10);
  return *text && *end == '\0' && v > 0 ? v : -1;
}

/* The reply of GET /v1/query/zones for hits, as the server builds it. */
static char *reply_json(const struct hv_hits *hits) {
  json_t *items = json_array();
  for (size_t i = 0; i < hits->n; i++) {
    const struct hv_object *z = hits->v[i].obj;
    json_array_append_new(items,
                          json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", z->id,
                                    "name", z->name, "kind", z->u.zone.kind,
                                    "phase", hv_phase_name(hits->v[i].phase),
                                    "version", (json_int_t)z->version));
  }
  json_t *doc = json_pack("{s:o}", "items", items);
  char *text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  return text;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench-inproc-query DATA_DIR LON LAT [--runs N] "
                    "[--count N] [--expect ZONE_ID]\n");
    return 2;
  }
  const char *dir = argv[1];
  char *end1, *end2;
  double lon = strtod(argv[2], &end1), lat = strtod(argv[3], &end2);
  long runs = 5, count = 200000;
  const char *expect = NULL;
  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = number(argv[++i]);
    else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
      count = number(argv[++i]);
    else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
      expect = argv[++i];
    else
      runs = -1;
  }
  if (*end1 || *end2 || runs < 1 || count < 1) {
    fprintf(stderr, "bench-inproc-query: bad arguments\n");
    return 2;
  }
  struct hv_db *db;
  struct hv_error err = {0};
  if (hv_db_open(dir, &db, &err) != HV_OK) {
    fprintf(stderr, "bench-inproc-query: %s: %s\n", dir, err.msg);
    return 1;
  }
  int64_t t = hv_time_now_ms();
  struct hv_hits hits = {0};
  int rc = hv_db_zones_at(db, lon, lat, NAN, t, &hits);
  int found = expect == NULL;
  for (size_t i = 0; rc == HV_OK && i < hits.n; i++)
    found |= expect && strcmp(hits.v[i].obj->id, expect) == 0;
  if (rc != HV_OK || !found) {
    fprintf(stderr, "bench-inproc-query: (%g, %g): %s\n", lon, lat,
            rc != HV_OK ? hv_strerror(rc) : "the expected zone is not found");
    hv_hits_free(&hits);
    hv_db_close(db);
    return 1;
  }
  size_t n_hits = hits.n;

  double *plain = calloc((size_t)runs, sizeof *plain);
  double *with_json = calloc((size_t)runs, sizeof *with_json);
  size_t bytes = 0;
  for (long r = 0; plain && with_json && r < runs; r++) {
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
      hits.n = 0;
      hv_db_zones_at(db, lon, lat, NAN, t, &hits);
    }
    plain[r] = (now_s() - t0) / (double)count;
    t0 = now_s();
    for (long i = 0; i < count; i++) {
      hits.n = 0;
      hv_db_zones_at(db, lon, lat, NAN, t, &hits);
      char *text = reply_json(&hits);
      bytes = text ? strlen(text) : 0;
      free(text);
    }
    with_json[r] = (now_s() - t0) / (double)count;
  }
  if (plain == NULL || with_json == NULL) {
    fprintf(stderr, "bench-inproc-query: out of memory\n");
    return 1;
  }
  qsort(plain, (size_t)runs, sizeof *plain, cmp_double);
  qsort(with_json, (size_t)runs, sizeof *with_json, cmp_double);
  double q = plain[runs / 2], qj = with_json[runs / 2];
  printf("in-process hv_db_zones_at(%g, %g): %zu zone(s), median of %ld runs "
         "of %ld\n",
         lon, lat, n_hits, runs, count);
  printf("  query:                %10.0f queries/s  %8.3f us/query\n", 1 / q,
         q * 1e6);
  printf("  query + JSON reply:   %10.0f queries/s  %8.3f us/query  (%zu "
         "bytes)\n",
         1 / qj, qj * 1e6, bytes);
  printf("inproc queries_per_s=%.0f us_per_query=%.3f json_queries_per_s=%.0f "
         "json_us_per_query=%.3f\n",
         1 / q, q * 1e6, 1 / qj, qj * 1e6);
  free(plain);
  free(with_json);
  hv_hits_free(&hits);
  hv_db_close(db);
  return 0;
}
