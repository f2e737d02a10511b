/*
 * summary.c — `haven summary`: what a person wants to know first about the
 * map held in haven: the agreements and whom they bind, the zones with their
 * phase, guarantors and area, how many km² of each administrative area each
 * zone covers, which protected sites lie in which zone, and the corridors.
 * Areas are measured with GEOS in an equal-area projection (libhaven).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A date alone when t_ms is midnight UTC, else the whole time. */
static const char *day_or_time(int64_t t_ms, char *buf, size_t size) {
  hv_time_format(t_ms, buf, size);
  if (t_ms % 86400000 == 0 && size > 10)
    buf[10] = '\0';
  return buf;
}

static void print_ids(const char *label, hv_ids ids) {
  printf("    %-11s", label);
  if (ids == NULL || ids[0] == NULL)
    printf(" -");
  for (size_t i = 0; ids && ids[i]; i++)
    printf("%s %s", i ? "," : "", ids[i]);
  printf("\n");
}

/* km² of the intersection of a and b; negative on a geometry error. */
static double overlap_km2(struct hv_geo *geo, const struct hv_object *a,
                          const struct hv_object *b) {
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  if (a->maxx < b->minx || b->maxx < a->minx || a->maxy < b->miny ||
      b->maxy < a->miny)
    return 0;
  char hit = GEOSPreparedIntersects_r(gh, a->prepared, b->geom);
  if (hit != 1)
    return hit == 0 ? 0 : -1;
  GEOSGeometry *x = GEOSIntersection_r(gh, a->geom, b->geom);
  if (x == NULL)
    return -1;
  double m2 = 0;
  int rc = hv_geo_area_m2(geo, x, &m2);
  GEOSGeom_destroy_r(gh, x);
  return rc == HV_OK ? m2 / 1e6 : -1;
}

static void summarize_zone(struct hv_db *db, const struct hv_object *z,
                           int64_t now) {
  struct hv_geo *geo = hv_db_geo(db);
  char t[32];
  double m2 = 0;
  hv_geo_area_m2(geo, z->geom, &m2);
  const struct hv_phase_change *last =
      z->u.zone.n_history ? &z->u.zone.history[z->u.zone.n_history - 1] : NULL;
  printf("  %s — %s\n", z->id, z->name);
  printf("    %-11s %s, %.0f km²", "kind", z->u.zone.kind, m2 / 1e6);
  if (z->u.zone.alt_max_m < 1e300)
    printf(", up to %.0f m", z->u.zone.alt_max_m);
  printf("\n    %-11s %s", "phase", hv_phase_name(z->u.zone.phase));
  if (last)
    printf(" since %.10s (by %s)", hv_time_format(last->at_ms, t, sizeof t),
           last->by);
  if (!hv_zone_in_force(z, now))
    printf(" — not in force today");
  printf("\n");
  if (z->u.zone.n_history > 1) {
    printf("    %-11s", "history");
    for (size_t i = 0; i < z->u.zone.n_history; i++)
      printf("%s %s %.10s", i ? " →" : "",
             hv_phase_name(z->u.zone.history[i].phase),
             hv_time_format(z->u.zone.history[i].at_ms, t, sizeof t));
    printf("\n");
  }
  print_ids("guarantors", z->u.zone.guarantors);
  /* Overlap with each administrative area. */
  int any = 0;
  for (size_t i = 0; i < hv_db_count(db, HV_AREA); i++) {
    const struct hv_object *a = hv_db_at(db, HV_AREA, i);
    double km2 = overlap_km2(geo, z, a);
    if (km2 >= 1) {
      printf("    %-11s %-22s %8.0f km²\n", any ? "" : "overlaps", a->name,
             km2);
      any = 1;
    } else if (km2 < 0) {
      printf("    %-11s %-22s (geometry error)\n", any ? "" : "overlaps",
             a->name);
    }
  }
  /* Protected sites inside. */
  size_t n = 0;
  for (size_t i = 0; i < hv_db_count(db, HV_SITE); i++) {
    const struct hv_object *s = hv_db_at(db, HV_SITE, i);
    if (hv_geo_covers_point(geo, z->prepared, s->u.site.lon, s->u.site.lat) ==
        1) {
      if (n < 6)
        printf("    %-11s %s (%s)\n", n ? "" : "sites", s->name,
               s->u.site.category);
      n++;
    }
  }
  if (n > 6)
    printf("    %-11s … and %zu more\n", "", n - 6);
  if (n)
    printf("    %-11s %zu protected site%s in the zone\n", "", n,
           n == 1 ? "" : "s");
}

int cmd_summary(struct cli *c, int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: haven summary\n");
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_db *db = c->db;
  int64_t now = hv_time_now_ms();
  char a[32], b[32];

  printf("haven — the agreed map in %s\n\n", c->data);
  static const char *const kinds[] = {"state", "armed_group", "agency",
                                      "monitor", "designated"};
  size_t np = hv_db_count(db, HV_PARTY), counts[5] = {0}, sponsored = 0;
  for (size_t i = 0; i < np; i++) {
    const struct hv_object *p = hv_db_at(db, HV_PARTY, i);
    for (int k = 0; k < 5; k++)
      counts[k] += strcmp(p->u.party.kind, kinds[k]) == 0;
    sponsored += p->u.party.sponsor != NULL;
  }
  printf("PARTIES  %zu: %zu states, %zu armed groups, %zu designated, %zu "
         "agencies, %zu monitor%s; %zu have a sponsor\n\n",
         np, counts[0], counts[1], counts[4], counts[2], counts[3],
         counts[3] == 1 ? "" : "s", sponsored);

  printf("AGREEMENTS\n");
  for (size_t i = 0; i < hv_db_count(db, HV_AGREEMENT); i++) {
    const struct hv_object *ag = hv_db_at(db, HV_AGREEMENT, i);
    printf("  %s — %s\n", ag->id, ag->name);
    printf("    %-11s %s, %s .. %s\n", "kind", ag->u.agreement.kind,
           day_or_time(ag->from_ms, a, sizeof a),
           ag->to_ms == HV_TIME_OPEN ? "open"
                                     : hv_time_format(ag->to_ms, b, sizeof b));
    if (ag->u.agreement.nationwide)
      printf("    %-11s nationwide\n", "scope");
    else
      print_ids("scope", ag->u.agreement.scope);
    /* Parties bound through their sponsors, counted from the tree. */
    size_t direct = 0, via = 0, excl = 0;
    for (size_t j = 0; j < np; j++) {
      enum hv_coverage cv =
          hv_db_coverage(db, ag, hv_db_at(db, HV_PARTY, j)->id);
      direct += cv == HV_COVER_DIRECT;
      via += cv == HV_COVER_SPONSOR;
      excl += cv == HV_COVER_EXCLUDED;
    }
    print_ids("covers", ag->u.agreement.covered);
    printf("    %-11s %zu parties in all (%zu listed, %zu through their "
           "sponsors); %zu excluded\n",
           "", direct + via, direct, via, excl);
    print_ids("excludes", ag->u.agreement.excluded);
    print_ids("guarantors", ag->u.agreement.guarantors);
    print_ids("forbids", ag->u.agreement.terms);
    const struct hv_agreement_sep *sp = &ag->u.agreement.separation;
    if (sp->has_horizontal || sp->has_vertical || sp->has_lookahead) {
      printf("    %-11s", "separation");
      if (sp->has_horizontal)
        printf(" %g m horizontal", sp->horizontal_m);
      if (sp->has_vertical)
        printf("%s %g m vertical", sp->has_horizontal ? "," : "",
               sp->vertical_m);
      if (sp->has_lookahead)
        printf("%s look-ahead %g s",
               sp->has_horizontal || sp->has_vertical ? "," : "",
               sp->lookahead_s);
      printf("\n");
    }
    printf("\n");
  }

  printf("ZONES\n");
  for (size_t i = 0; i < hv_db_count(db, HV_ZONE); i++) {
    summarize_zone(db, hv_db_at(db, HV_ZONE, i), now);
    printf("\n");
  }

  if (hv_db_count(db, HV_CORRIDOR)) {
    printf("CORRIDORS\n");
    for (size_t i = 0; i < hv_db_count(db, HV_CORRIDOR); i++) {
      const struct hv_object *co = hv_db_at(db, HV_CORRIDOR, i);
      printf("  %s — %s\n    %-11s %s, %.0f m wide, %.2f km²\n", co->id,
             co->name, "status", co->u.corridor.status,
             2 * co->u.corridor.half_width_m, co->u.corridor.area_m2 / 1e6);
      print_ids("connects", co->u.corridor.connects);
    }
    printf("\n");
  }

  size_t ns = hv_db_count(db, HV_SITE), inside = 0;
  for (size_t i = 0; i < ns; i++) {
    const struct hv_object *s = hv_db_at(db, HV_SITE, i);
    for (size_t j = 0; j < hv_db_count(db, HV_ZONE); j++)
      if (hv_geo_covers_point(hv_db_geo(db), hv_db_at(db, HV_ZONE, j)->prepared,
                              s->u.site.lon, s->u.site.lat) == 1) {
        inside++;
        break;
      }
  }
  printf("PROTECTED SITES  %zu, of which %zu inside a zone\n", ns, inside);
  printf("DELINEATIONS     %zu\n", hv_db_count(db, HV_DELINEATION));
  printf("AREAS            %zu\n", hv_db_count(db, HV_AREA));
  printf("MOVEMENTS        %zu\n", hv_db_count(db, HV_MOVEMENT));
  return 0;
}
