/*
 * bench-adjudicate.c — incidents adjudicated in-process (hv_adjudicate,
 * haven/adjudicate.h): 1,000,000 incidents against the bundled scenario,
 * next to a brute-force baseline of their zone memberships in the same run,
 * and the recording path (hv_db_adjudicate) on the real incidents.
 *
 * The store: the bundled scenario as bench-check builds it
 * (data/scenario/registry.json and corridors.geojson, mkscenario's areas,
 * zones, sites and delineations), plus the real UCDP GED rows of
 * shared/data/conflict/ucdp_ged_syria_2016_2018_2019.csv (10,979 rows) read
 * with hv_incsv_read and imported with hv_db_import_docs.
 *
 * The workload: N (default 1,000,000) incidents, all struct hv_incident in
 * one array. Incident i is the imported incident i mod n (store order);
 * copy 0 (i < n) is the real rows as they are, every later copy (~91 in
 * all) is jittered from PRNG seed SEED: the place moved uniformly within
 * +-0.05 deg in lon and lat (clamped to [-180, 180] x [-90, 90]), the
 * interval shifted by a whole number of days in [-15, 15] (its length
 * kept); precision, uncertainty, area given, action, perpetrator, sides and
 * target kept. The copies borrow the source's strings, id included (the id
 * does not affect the answer).
 *
 * Timed, on one core:
 *   - hv_adjudicate over all N (one struct hv_adjudication reused): seconds,
 *     incidents/s, and the target (N = 1 M in <= 10 s): PASS or FAIL; the
 *     rows per class, zone memberships and site hits;
 *   - the baseline on a sample (every N/SAMPLE-th incident, SAMPLE default
 *     20,000): every incident against every zone of the store with GEOS and
 *     no index, on the zones' unprepared geometries — exact with no
 *     uncertainty: GEOSIntersects(zone, point); exact with uncertainty,
 *     near, district: the point buffered by r (hv_geo_buffer_m, geodesic),
 *     in when the zone contains the disk, out when they do not meet,
 *     uncertain otherwise; province: the area given or the first containing
 *     the point (all areas scanned), in when the zone covers it, out when
 *     the interiors do not meet, uncertain otherwise (and with no area);
 *     country: uncertain; zones in force at one end of the interval only
 *     turn in into uncertain (docs/incidents.md "In scope"). Only the
 *     memberships, the geometric part: the baseline does no agreement rows
 *     and no site hits, so the ratio flatters it.
 * Checked: every sampled incident's memberships (hv_adjudication.zones)
 * against the baseline's. The baseline's disk is a polygon (16 segments a
 * quarter): a disagreement where the point's geodesic distance to the zone
 * boundary is within 0.2% of r (+1 m) is counted apart as the baseline's
 * own tolerance; any other one is a disagreement, printed with its details.
 * Then hv_db_adjudicate (adjudicate and write the changed answers in one
 * transaction) over the real incidents in the store, twice: the first run
 * writes every answer, the second none.
 *
 * The standard workloads (shared/bench/WORKLOADS.md) are run by bench-pip
 * (W-PIP) and bench-separation (W-CD) in scripts/bench, as for bench-check.
 *
 * usage: bench-adjudicate SOURCE_DIR SCENARIO_DIR SCRATCH_DIR [N [SAMPLE]]
 *   SOURCE_DIR   the repository (for data/scenario/)
 *   SCENARIO_DIR mkscenario's output (mkscenario data/src DIR)
 *   SCRATCH_DIR  an empty directory for the store
 * The shared data are read from $HAVEN_SHARED_DATA (default
 * SOURCE_DIR/../shared/data). Exit status 1 when an answer differs or a
 * call fails; a missed target is printed, not an error.
 */
#include <haven/adjudicate.h>
#include <haven/haven.h>
#include <haven/incsv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"
#include "scenario.h"

#define N_INCIDENTS 1000000L
#define N_SAMPLE 20000L
#define SEED 11u
#define JITTER_DEG 0.05
#define JITTER_DAYS 15
#define DAY_MS 86400000LL
#define TARGET_S 10.0
#define UCDP_FILE "conflict/ucdp_ged_syria_2016_2018_2019.csv"

/* splitmix64: a small deterministic stream. */
static uint64_t rng = SEED;
static double uni(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}

/* ---- the baseline: every zone, GEOS, no index ---------------------------
 */

struct zmem {
  size_t zi;
  enum hv_membership m;
};

/* The memberships (in / uncertain) of the incident's place in the zones of
 * the store, zones in table order, into out (room for every zone); returns
 * how many, or a negative HV_ error. */
static long baseline(struct hv_db *db, const struct hv_incident *in,
                     struct zmem *out) {
  struct hv_geo *geo = hv_db_geo(db);
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  size_t nz = hv_db_count(db, HV_ZONE);
  int64_t last = in->t_end_ms > in->t_ms ? in->t_end_ms - 1 : in->t_ms;
  GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(gh, in->lon, in->lat);
  GEOSGeometry *disk = NULL;
  const struct hv_object *area = NULL;
  double r = in->precision <= HV_PREC_DISTRICT ? in->uncertainty_m : 0;
  long n = 0, rc = 0;
  if (pt == NULL)
    return HV_ENOMEM;
  if (in->precision <= HV_PREC_DISTRICT && r > 0) {
    rc = hv_geo_buffer_m(geo, pt, r, &disk);
    if (rc != HV_OK)
      goto done;
  } else if (in->precision == HV_PREC_PROVINCE) {
    if (in->area) {
      area = hv_db_get(db, HV_AREA, in->area);
    } else {
      size_t na = hv_db_count(db, HV_AREA);
      for (size_t k = 0; k < na && area == NULL; k++) {
        const struct hv_object *ar = hv_db_at(db, HV_AREA, k);
        char c = GEOSIntersects_r(gh, ar->geom, pt);
        if (c == 2) {
          rc = HV_EGEOMETRY;
          goto done;
        }
        if (c)
          area = ar;
      }
    }
  }
  for (size_t zi = 0; zi < nz; zi++) {
    const struct hv_object *z = hv_db_at(db, HV_ZONE, zi);
    int force = hv_zone_in_force(z, in->t_ms) + hv_zone_in_force(z, last);
    if (force == 0)
      continue;
    int m = HV_MEMBER_UNCERTAIN;
    char a = 0, b = 0;
    if (in->precision == HV_PREC_COUNTRY ||
        (in->precision == HV_PREC_PROVINCE && area == NULL)) {
      m = HV_MEMBER_UNCERTAIN;
    } else if (in->precision == HV_PREC_PROVINCE) {
      a = GEOSCovers_r(gh, z->geom, area->geom);
      b = a == 1 ? 0
                 : GEOSRelatePattern_r(gh, area->geom, z->geom, "T********");
      m = a == 1 ? HV_MEMBER_IN : b == 1 ? HV_MEMBER_UNCERTAIN : HV_MEMBER_OUT;
    } else if (disk == NULL) {
      a = GEOSIntersects_r(gh, z->geom, pt);
      m = a == 1 ? HV_MEMBER_IN : HV_MEMBER_OUT;
    } else {
      a = GEOSContains_r(gh, z->geom, disk);
      b = a == 1 ? 0 : GEOSIntersects_r(gh, z->geom, disk);
      m = a == 1 ? HV_MEMBER_IN : b == 1 ? HV_MEMBER_UNCERTAIN : HV_MEMBER_OUT;
    }
    if (a == 2 || b == 2) {
      rc = HV_EGEOMETRY;
      goto done;
    }
    if (force == 1 && m == HV_MEMBER_IN)
      m = HV_MEMBER_UNCERTAIN;
    if (m != HV_MEMBER_OUT)
      out[n++] = (struct zmem){zi, (enum hv_membership)m};
  }
done:
  if (disk)
    GEOSGeom_destroy_r(gh, disk);
  GEOSGeom_destroy_r(gh, pt);
  return rc ? rc : n;
}

/* The membership haven gave zone id, HV_MEMBER_OUT when not listed. */
static enum hv_membership listed(const struct hv_adjudication *x,
                                 const char *id) {
  for (size_t k = 0; k < x->n_zones; k++)
    if (strcmp(x->zones[k].zone, id) == 0)
      return x->zones[k].m;
  return HV_MEMBER_OUT;
}

/* Geodesic distance from the incident's point to zone z's boundary, or
 * NAN. */
static double to_boundary_m(struct hv_db *db, const struct hv_incident *in,
                            const struct hv_object *z) {
  struct hv_geo *geo = hv_db_geo(db);
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  GEOSGeometry *bd = GEOSBoundary_r(gh, z->geom);
  double d = NAN;
  if (bd && hv_geo_distance_to_m(geo, in->lon, in->lat, bd, &d) != HV_OK)
    d = NAN;
  if (bd)
    GEOSGeom_destroy_r(gh, bd);
  return d;
}

/* ---- the store ------------------------------------------------------------
 */

/* The scenario's sites carry no notification time, so they count as
 * notified when imported (now) and no 2016-2019 incident could hit one:
 * for the workload they are taken as notified on 2015-10-01 to every
 * party, so that rule 5 (hits, acknowledgement states) does its work. */
static int notify_sites(struct hv_db *db) {
  struct hv_error err = {0};
  for (size_t i = 0; i < hv_db_count(db, HV_SITE); i++) {
    const struct hv_object *o = hv_db_at(db, HV_SITE, i);
    json_t *f = hv_object_export_json(o);
    json_t *props = json_object_get(f, "properties");
    json_object_set_new(props, "notified_at", json_string("2015-10-01"));
    json_object_set_new(props, "recipients", json_pack("[s]", "*"));
    json_object_del(props, "version");
    int rc = hv_db_put(db, HV_COORDINATOR, HV_SITE, f, HV_PUT_UPDATE,
                       o->version, NULL, &err);
    json_decref(f);
    if (rc != HV_OK) {
      fprintf(stderr, "bench-adjudicate: site: %s\n", err.msg);
      return -1;
    }
  }
  printf("store: the %zu sites taken as notified on 2015-10-01 to every "
         "party (the scenario gives no date)\n",
         hv_db_count(db, HV_SITE));
  return 0;
}

static int build_store(struct hv_db *db, const char *src, const char *scn,
                       const char *shared) {
  struct hv_error err = {0};
  char ucdp[4200];
  snprintf(ucdp, sizeof ucdp, "%s/%s", shared, UCDP_FILE);
  double t0 = now_s();
  if (import_scenario(db, src, scn, &err) != HV_OK) {
    fprintf(stderr, "bench-adjudicate: scenario: %s\n", err.msg);
    return -1;
  }
  double t1 = now_s();
  struct hv_incsv_result res = {0};
  if (hv_incsv_read(db, HV_INCSV_UCDP, ucdp, NULL, &res, &err) != HV_OK) {
    fprintf(stderr, "bench-adjudicate: %s\n", err.msg);
    return -1;
  }
  double t2 = now_s();
  const char *names[1] = {ucdp};
  struct hv_import_stats st = {0};
  int rc = hv_db_import_docs(db, HV_COORDINATOR, &res.features, names, 1, NULL,
                             NULL, &st, &err);
  double t3 = now_s();
  size_t unresolved = 0;
  for (size_t i = 0; i < res.n_unresolved; i++)
    unresolved += res.unresolved[i].count;
  printf("store: scenario imported in %.2f s; %s: %zu rows read in %.2f s "
         "(%zu skipped, %zu actor names in %zu rows unresolved), imported "
         "in %.2f s\n",
         t1 - t0, UCDP_FILE, res.rows, t2 - t1, res.skipped, res.n_unresolved,
         unresolved, t3 - t2);
  hv_incsv_result_free(&res);
  if (rc != HV_OK) {
    fprintf(stderr, "bench-adjudicate: import: %s\n", err.msg);
    return -1;
  }
  return notify_sites(db);
}

/* ---- the run ------------------------------------------------------------- */

static void print_adj(const char *who, const struct hv_adjudication *x) {
  printf("      haven %s:", who);
  for (size_t k = 0; k < x->n_zones; k++)
    printf(" %s=%s", x->zones[k].zone, hv_membership_name(x->zones[k].m));
  printf("%s\n", x->n_zones ? "" : " (none)");
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench-adjudicate SOURCE_DIR SCENARIO_DIR "
                    "SCRATCH_DIR [N [SAMPLE]]\n");
    return 2;
  }
  const char *src = argv[1], *scn = argv[2], *scratch = argv[3];
  long n = argc > 4 ? strtol(argv[4], NULL, 10) : N_INCIDENTS;
  long sample = argc > 5 ? strtol(argv[5], NULL, 10) : N_SAMPLE;
  if (n < 1)
    n = N_INCIDENTS;
  if (sample < 1 || sample > n)
    sample = n < N_SAMPLE ? n : N_SAMPLE;
  char shared[4096], path[4200];
  const char *env = getenv("HAVEN_SHARED_DATA");
  snprintf(shared, sizeof shared, "%s", env && *env ? env : "");
  if (!shared[0])
    snprintf(shared, sizeof shared, "%s/../shared/data", src);
  snprintf(path, sizeof path, "%s/db", scratch);
  struct hv_db *db;
  struct hv_error err = {0};
  if (hv_db_open(path, &db, &err) != HV_OK) {
    fprintf(stderr, "bench-adjudicate: %s\n", err.msg);
    return 1;
  }
  if (hv_db_count(db, HV_INCIDENT) > 0)
    printf("store: reused from %s/db\n", scratch);
  else if (build_store(db, src, scn, shared) != 0)
    return 1;
  size_t nsrc = hv_db_count(db, HV_INCIDENT), nz = hv_db_count(db, HV_ZONE);
  printf("store: %zu incidents, %zu zones, %zu agreements, %zu areas, %zu "
         "delineations, %zu sites\n",
         nsrc, nz, hv_db_count(db, HV_AGREEMENT), hv_db_count(db, HV_AREA),
         hv_db_count(db, HV_DELINEATION), hv_db_count(db, HV_SITE));
  if (nsrc == 0)
    return 1;

  /* The workload. */
  struct hv_incident *inc = malloc((size_t)n * sizeof *inc);
  if (inc == NULL)
    return 1;
  size_t by_prec[HV_PREC_COUNT] = {0};
  for (long i = 0; i < n; i++) {
    const struct hv_object *o = hv_db_at(db, HV_INCIDENT, (size_t)i % nsrc);
    hv_incident_of(o, &inc[i]);
    by_prec[inc[i].precision]++;
    if ((size_t)i < nsrc)
      continue;
    struct hv_incident *x = &inc[i];
    x->lon = fmin(180, fmax(-180, x->lon + (2 * uni() - 1) * JITTER_DEG));
    x->lat = fmin(90, fmax(-90, x->lat + (2 * uni() - 1) * JITTER_DEG));
    int64_t shift =
        ((int64_t)(uni() * (2 * JITTER_DAYS + 1)) - JITTER_DAYS) * DAY_MS;
    x->t_ms += shift;
    x->t_end_ms += shift;
  }
  printf("workload: %ld incidents = the %zu real UCDP incidents, then "
         "copies with places jittered uniformly within +-%.2f deg and "
         "intervals shifted by -%d..+%d days (seed %u); precision exact %zu, "
         "near %zu, district %zu, province %zu, country %zu\n",
         n, nsrc, JITTER_DEG, JITTER_DAYS, JITTER_DAYS, SEED,
         by_prec[HV_PREC_EXACT], by_prec[HV_PREC_NEAR],
         by_prec[HV_PREC_DISTRICT], by_prec[HV_PREC_PROVINCE],
         by_prec[HV_PREC_COUNTRY]);

  /* hv_adjudicate over all N, one core. */
  struct hv_adjudicator *adj;
  double t0 = now_s();
  if (hv_adjudicator_new(db, &adj, &err) != HV_OK) {
    fprintf(stderr, "bench-adjudicate: adjudicator: %s\n", err.msg);
    return 1;
  }
  printf("adjudicator: built in %.3f s\n", now_s() - t0);
  struct hv_adjudication a = {0};
  size_t by_class[HV_CLASS_COUNT] = {0}, rows = 0, hits = 0, with_hits = 0,
         mem_in = 0, mem_unc = 0, failed = 0;
  t0 = now_s();
  for (long i = 0; i < n; i++) {
    if (hv_adjudicate(adj, &inc[i], &a, &err) != HV_OK) {
      if (failed++ < 5)
        fprintf(stderr, "bench-adjudicate: incident %ld: %s\n", i, err.msg);
      continue;
    }
    for (size_t k = 0; k < a.n_rows; k++)
      by_class[a.rows[k].cls]++;
    rows += a.n_rows;
    hits += a.n_hits;
    with_hits += a.n_hits > 0;
    for (size_t k = 0; k < a.n_zones; k++) {
      mem_in += a.zones[k].m == HV_MEMBER_IN;
      mem_unc += a.zones[k].m == HV_MEMBER_UNCERTAIN;
    }
  }
  double hv_s = now_s() - t0;
  printf("hv_adjudicate: %ld incidents in %.3f s on one core: %.0f "
         "incidents/s (%zu failed)\n",
         n, hv_s, (double)n / hv_s, failed);
  printf("  rows (incident x agreement in force then): %zu; violation %zu, "
         "uncertain %zu, excluded %zu, outside %zu\n",
         rows, by_class[HV_CLASS_VIOLATION], by_class[HV_CLASS_UNCERTAIN],
         by_class[HV_CLASS_EXCLUDED], by_class[HV_CLASS_OUTSIDE]);
  printf("  zone memberships: in %zu, uncertain %zu; site hits %zu in %zu "
         "incidents\n",
         mem_in, mem_unc, hits, with_hits);
  double target = TARGET_S * (double)n / 1e6;
  printf("target 1 M incidents in <= %.0f s on one core (%.1f s for %ld): "
         "%s\n",
         TARGET_S, target, n, hv_s <= target ? "PASS" : "FAIL");

  /* Where the time goes: hv_adjudicate on the sample, by precision. */
  long stride = n / sample;
  double prec_s[HV_PREC_COUNT] = {0};
  size_t prec_n[HV_PREC_COUNT] = {0};
  for (long s = 0; s < sample; s++) {
    const struct hv_incident *in = &inc[s * stride];
    double p0 = now_s();
    hv_adjudicate(adj, in, &a, &err);
    prec_s[in->precision] += now_s() - p0;
    prec_n[in->precision]++;
  }
  printf("  by precision, on the sample below (incidents, share of the "
         "time, us each):");
  double all_s = 0;
  for (int k = 0; k < HV_PREC_COUNT; k++)
    all_s += prec_s[k];
  for (int k = 0; k < HV_PREC_COUNT; k++)
    if (prec_n[k])
      printf(" %s %zu %.0f%% %.1f;",
             hv_loc_precision_name((enum hv_loc_precision)k), prec_n[k],
             100 * prec_s[k] / all_s, 1e6 * prec_s[k] / (double)prec_n[k]);
  printf("\n");

  /* The baseline on the sample, checked against haven. */
  struct zmem *bm = calloc(nz + 1, sizeof *bm);
  double base_s = 0;
  size_t differ = 0, tolerance = 0, bad_inc = 0, base_failed = 0;
  size_t b_in = 0, b_unc = 0;
  for (long s = 0; bm && s < sample; s++) {
    const struct hv_incident *in = &inc[s * stride];
    double b0 = now_s();
    long nb = baseline(db, in, bm);
    base_s += now_s() - b0;
    if (nb < 0) {
      if (base_failed++ < 5)
        fprintf(stderr, "bench-adjudicate: baseline, incident %ld: %s\n",
                s * stride, hv_strerror((int)nb));
      continue;
    }
    if (hv_adjudicate(adj, in, &a, &err) != HV_OK)
      continue; /* counted above */
    int shown = 0, real = 0;
    for (size_t zi = 0, k = 0; zi < nz; zi++) {
      const struct hv_object *z = hv_db_at(db, HV_ZONE, zi);
      enum hv_membership mb = HV_MEMBER_OUT;
      if (k < (size_t)nb && bm[k].zi == zi)
        mb = bm[k++].m;
      b_in += mb == HV_MEMBER_IN;
      b_unc += mb == HV_MEMBER_UNCERTAIN;
      enum hv_membership mh = listed(&a, z->id);
      if (mh == mb)
        continue;
      double r = in->precision <= HV_PREC_DISTRICT ? in->uncertainty_m : 0;
      double d = r > 0 ? to_boundary_m(db, in, z) : NAN;
      if (r > 0 && fabs(d - r) <= 0.002 * r + 1) {
        tolerance++;
        continue;
      }
      differ++;
      real = 1;
      if (bad_inc < 5) {
        printf("  DISAGREE incident %ld (%s, copy %ld) zone %s: haven %s, "
               "baseline %s; %s r %.0f m at %.6f %.6f, t %lld..%lld, area "
               "%s, %.1f m from the boundary\n",
               s * stride, in->id, s * stride / (long)nsrc, z->id,
               hv_membership_name(mh), hv_membership_name(mb),
               hv_loc_precision_name(in->precision), r, in->lon, in->lat,
               (long long)in->t_ms, (long long)in->t_end_ms,
               in->area ? in->area : a.area, d);
        if (!shown++)
          print_adj("zones", &a);
      }
    }
    bad_inc += real;
  }
  free(bm);
  printf("baseline (every zone, GEOS unprepared, geodesic disk by "
         "hv_geo_buffer_m, no index; memberships only): sample of %ld "
         "incidents (every %ld-th) in %.3f s: %.0f incidents/s (%zu failed)\n",
         sample, stride, base_s, (double)sample / base_s, base_failed);
  printf("  baseline memberships: in %zu, uncertain %zu\n", b_in, b_unc);
  printf("  checked: %zu memberships differ from haven's in %zu incidents; "
         "%zu more within the baseline disk's tolerance (|d - r| <= 0.2%% "
         "r + 1 m)\n",
         differ, bad_inc, tolerance);
  printf("ratio haven / baseline (incidents/s): %.1fx\n",
         ((double)n / hv_s) / ((double)sample / base_s));

  /* The recording path on the real incidents. */
  for (int run = 1; run <= 2; run++) {
    struct hv_adjudicate_stats st = {0};
    t0 = now_s();
    int rc = hv_db_adjudicate(db, HV_COORDINATOR, NULL, 0, &st, &err);
    double dt = now_s() - t0;
    if (rc != HV_OK) {
      fprintf(stderr, "bench-adjudicate: hv_db_adjudicate: %s\n", err.msg);
      failed++;
      break;
    }
    printf("hv_db_adjudicate run %d: %zu incidents in %.3f s (%.0f/s), "
           "%zu recorded, %zu unchanged; violation %zu, uncertain %zu, "
           "excluded %zu, outside %zu; hits %zu\n",
           run, st.incidents, dt, (double)st.incidents / dt, st.recorded,
           st.unchanged, st.by_class[HV_CLASS_VIOLATION],
           st.by_class[HV_CLASS_UNCERTAIN], st.by_class[HV_CLASS_EXCLUDED],
           st.by_class[HV_CLASS_OUTSIDE], st.hits);
  }

  hv_adjudication_free(&a);
  hv_adjudicator_free(adj);
  free(inc);
  hv_db_close(db);
  return differ || failed || base_failed ? 1 : 0;
}
