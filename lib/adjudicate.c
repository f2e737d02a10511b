/*
 * adjudicate.c — one incident against the agreements: the rules of
 * docs/incidents.md, in the order written there.
 *
 * Invariants:
 * - the adjudicator is a projection of the registry at the generations it
 *   records (agreements, zones, delineations, areas, sites, parties); any
 *   change of those makes the next hv_adjudicate rebuild it first;
 * - point-in-polygon answers come from haven's zindex (cross-checked
 *   against GEOS in the tests); distances to a boundary are bounded from
 *   GEOS's planar distance in degrees and measured on the ellipsoid only
 *   when the bounds cannot decide (docs/incidents.md "Location");
 * - per agreement, what depends on a party only (bound, excluded, its
 *   accountable guarantor) is computed once per party at build time.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/adjudicate.h"

/* ---- names ---------------------------------------------------------------
 */

static const char *const CLASS_NAMES[HV_CLASS_COUNT] = {
    "violation", "uncertain", "excluded", "outside"};
static const char *const MEMBER_NAMES[] = {"out", "uncertain", "in"};
static const char *const ACK_NAMES[] = {"before", "after", "never",
                                        "not_told"};

const char *hv_class_name(enum hv_class c) {
  return (unsigned)c < HV_CLASS_COUNT ? CLASS_NAMES[c] : "?";
}

int hv_class_parse(const char *name, enum hv_class *out) {
  for (int i = 0; name && i < HV_CLASS_COUNT; i++)
    if (strcmp(CLASS_NAMES[i], name) == 0) {
      *out = (enum hv_class)i;
      return HV_OK;
    }
  return HV_EINVAL;
}

const char *hv_membership_name(enum hv_membership m) {
  return (unsigned)m <= HV_MEMBER_IN ? MEMBER_NAMES[m] : "?";
}

const char *hv_ack_state_name(enum hv_ack_state s) {
  return (unsigned)s <= HV_ACKED_NOT_TOLD ? ACK_NAMES[s] : "?";
}

void hv_incident_of(const struct hv_object *o, struct hv_incident *out) {
  *out = (struct hv_incident){
      .id = o->id,
      .version = o->version,
      .t_ms = o->u.incident.t_ms,
      .t_end_ms = o->u.incident.t_end_ms,
      .lon = o->minx,
      .lat = o->miny,
      .precision = o->u.incident.precision,
      .uncertainty_m = o->u.incident.uncertainty_m,
      .area = o->u.incident.area,
      .action = o->u.incident.action,
      .perpetrator = o->u.incident.perpetrator,
      .suspected = o->u.incident.suspected,
      .sides = {o->u.incident.sides[0], o->u.incident.sides[1]},
      .target = o->u.incident.target,
      .target_party = o->u.incident.target_party,
      .fatalities = o->u.incident.fatalities};
}

/* ---- the adjudicator -----------------------------------------------------
 */

/* An agreement, with what depends on a party only, per party index. */
struct agr {
  const struct hv_object *obj;
  int forbids[HV_ACT_COUNT];
  long *scope;          /* zone indexes of its scope (n_scope) */
  size_t n_scope;
  signed char *bound;   /* per party: 1 bound (covered or guarantor) */
  signed char *excl;    /* per party: 1 excluded */
  signed char *is_guar; /* per party: 1 a guarantor of it */
  long *guar;           /* per party: accountable guarantor's index, -1 */
};

/* A zone: its boundary, in lon/lat and in a local metric frame (an
 * equirectangular projection at the zone's mid-latitude, metres), each
 * prepared for distances; rel_err bounds how far the frame's distances
 * are from the geodesic ones within the zone's latitudes +- FRAME_BAND. */
struct zone {
  const struct hv_object *obj;
  GEOSGeometry *boundary;
  const GEOSPreparedGeometry *pboundary;
  GEOSGeometry *fboundary;
  const GEOSPreparedGeometry *pfboundary;
  struct frame {
    double lon0, lat0, klon, klat;
  } f;
  double rel_err;
};

struct hv_adjudicator {
  struct hv_db *db;
  uint64_t gen[HV_KIND_COUNT];
  size_t n_parties;
  struct agr *agr;
  size_t n_agr;
  struct zone *zones;
  size_t n_zones;
  struct hv_zindex *zix, *aix, *dix; /* zones, areas, delineations */
  signed char *area_rel;             /* [area * n_zones + zone]: membership
                                        of the whole area in the zone */
  size_t n_areas;
  const struct hv_object **sites; /* sorted by latitude */
  size_t n_sites;
  double max_site_radius_m;
  int64_t *site_notified; /* lazily: when first recorded (0 unknown yet) */
  uint32_t *hits;         /* the last index query's answer (query()) */
  size_t hits_cap;
  uint32_t *dels; /* the incident's delineations (delineations_at) */
  size_t n_dels, dels_cap;
};

static const size_t WATCHED[] = {HV_PARTY,       HV_AGREEMENT, HV_ZONE,
                                 HV_DELINEATION, HV_AREA,      HV_SITE};

static void clear(struct hv_adjudicator *a) {
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(a->db));
  for (size_t i = 0; i < a->n_agr; i++) {
    free(a->agr[i].scope);
    free(a->agr[i].bound);
    free(a->agr[i].excl);
    free(a->agr[i].is_guar);
    free(a->agr[i].guar);
  }
  free(a->agr);
  for (size_t i = 0; i < a->n_zones; i++) {
    if (a->zones[i].pboundary)
      GEOSPreparedGeom_destroy_r(gh, a->zones[i].pboundary);
    if (a->zones[i].boundary)
      GEOSGeom_destroy_r(gh, a->zones[i].boundary);
    if (a->zones[i].pfboundary)
      GEOSPreparedGeom_destroy_r(gh, a->zones[i].pfboundary);
    if (a->zones[i].fboundary)
      GEOSGeom_destroy_r(gh, a->zones[i].fboundary);
  }
  free(a->zones);
  hv_zindex_free(a->zix);
  hv_zindex_free(a->aix);
  hv_zindex_free(a->dix);
  free(a->area_rel);
  free(a->sites);
  free(a->site_notified);
  free(a->hits);
  free(a->dels);
  struct hv_db *db = a->db;
  *a = (struct hv_adjudicator){.db = db};
}

void hv_adjudicator_free(struct hv_adjudicator *a) {
  if (a == NULL)
    return;
  clear(a);
  free(a);
}

static long party_index(const struct hv_db *db, const char *id) {
  if (id == NULL)
    return -1;
  long i = hv__table_find(&db->tables[HV_PARTY], id);
  return i >= 0 ? i : -1;
}

static int has_term(const struct hv_object *ag, const char *term) {
  return hv_ids_contain(ag->u.agreement.terms, term);
}

/* Which actions the agreement forbids (docs/incidents.md "Actions"). */
static void forbids(const struct hv_object *ag, int *f) {
  int hostilities = has_term(ag, "air_strike") || has_term(ag, "shelling") ||
                    has_term(ag, "ground_offensive");
  f[HV_ACT_AIR_STRIKE] =
      has_term(ag, "air_strike") || has_term(ag, "military_flight");
  f[HV_ACT_SHELLING] = has_term(ag, "shelling");
  f[HV_ACT_GROUND_OFFENSIVE] = has_term(ag, "ground_offensive");
  f[HV_ACT_CHEMICAL] = has_term(ag, "chemical_weapons") || hostilities;
  f[HV_ACT_ATTACK] = hostilities;
  f[HV_ACT_NONE] = 0;
}

static int build_agreement(struct hv_adjudicator *a, struct agr *g,
                           const struct hv_object *ag) {
  struct hv_db *db = a->db;
  size_t np = a->n_parties;
  g->obj = ag;
  forbids(ag, g->forbids);
  g->bound = calloc(np + 1, 1);
  g->excl = calloc(np + 1, 1);
  g->is_guar = calloc(np + 1, 1);
  g->guar = calloc(np + 1, sizeof *g->guar);
  size_t ns = 0;
  while (!ag->u.agreement.nationwide && ag->u.agreement.scope &&
         ag->u.agreement.scope[ns])
    ns++;
  g->scope = calloc(ns + 1, sizeof *g->scope);
  if (!g->bound || !g->excl || !g->is_guar || !g->guar || !g->scope)
    return HV_ENOMEM;
  for (size_t i = 0; i < ns; i++) {
    long z = hv__table_find(&db->tables[HV_ZONE], ag->u.agreement.scope[i]);
    if (z >= 0)
      g->scope[g->n_scope++] = z;
  }
  for (size_t p = 0; p < np; p++) {
    const struct hv_object *po = db->tables[HV_PARTY].v[p];
    enum hv_coverage c = hv_db_coverage(db, ag, po->id);
    g->is_guar[p] = hv_ids_contain(ag->u.agreement.guarantors, po->id);
    g->excl[p] = c == HV_COVER_EXCLUDED;
    g->bound[p] = c == HV_COVER_DIRECT || c == HV_COVER_SPONSOR ||
                  (g->is_guar[p] && c != HV_COVER_EXCLUDED);
    /* The first guarantor up the sponsor chain (the party itself first);
     * the chain is acyclic (imports refuse cycles), bounded anyway. */
    g->guar[p] = -1;
    const struct hv_object *q = po;
    for (size_t step = 0; q && step <= np; step++) {
      if (hv_ids_contain(ag->u.agreement.guarantors, q->id)) {
        g->guar[p] = party_index(db, q->id);
        break;
      }
      q = q->u.party.sponsor ? hv_db_get(db, HV_PARTY, q->u.party.sponsor)
                             : NULL;
    }
  }
  return HV_OK;
}

/* A zindex over the polygons of table kind (ids = table index). */
static int index_of(struct hv_adjudicator *a, enum hv_kind kind,
                    struct hv_zindex **out, struct hv_error *err) {
  const struct hv__table *t = &a->db->tables[kind];
  const GEOSGeometry **polys = calloc(t->n + 1, sizeof *polys);
  uint32_t *ids = calloc(t->n + 1, sizeof *ids);
  int rc = HV_ENOMEM;
  if (polys && ids) {
    for (size_t i = 0; i < t->n; i++) {
      polys[i] = t->v[i]->geom;
      ids[i] = (uint32_t)i;
    }
    rc = hv_zindex_new(hv_db_geo(a->db), polys, ids, t->n, out, err);
  }
  free(polys);
  free(ids);
  return rc;
}

static int site_lat_cmp(const void *x, const void *y) {
  const struct hv_object *const *p = x, *const *q = y;
  return ((*p)->u.site.lat > (*q)->u.site.lat) -
         ((*p)->u.site.lat < (*q)->u.site.lat);
}

/* How much of area ar lies in zone z: in (within), out (interiors apart),
 * uncertain. */
static int area_relation(GEOSContextHandle_t gh, const struct hv_object *ar,
                         const struct hv_object *z) {
  if (ar->maxx < z->minx || ar->minx > z->maxx || ar->maxy < z->miny ||
      ar->miny > z->maxy)
    return HV_MEMBER_OUT;
  char within = GEOSPreparedCovers_r(gh, z->prepared, ar->geom);
  if (within == 1)
    return HV_MEMBER_IN;
  char inter = GEOSRelatePattern_r(gh, ar->geom, z->geom, "T********");
  if (inter == 2 || within == 2)
    return -1;
  return inter ? HV_MEMBER_UNCERTAIN : HV_MEMBER_OUT;
}

/* ---- the local frame -----------------------------------------------------
 * Metres per degree of latitude (M) and of longitude (N cos phi) on the
 * WGS84 ellipsoid at latitude phi. */
#define WGS84_A 6378137.0
#define WGS84_E2 0.00669437999014
#define FRAME_BAND 1.0      /* degrees of latitude around the zone */
#define FRAME_MAX_R 50000. /* larger radii take the degree bounds: a path
                              shorter than this from a point within half
                              the band of the zone stays in the band */

static double m_per_deg_lat(double phi) {
  double s = sin(phi * M_PI / 180.0);
  double w = 1.0 - WGS84_E2 * s * s;
  return WGS84_A * (1.0 - WGS84_E2) / (w * sqrt(w)) * M_PI / 180.0;
}

static double m_per_deg_lon(double phi) {
  double s = sin(phi * M_PI / 180.0);
  return WGS84_A / sqrt(1.0 - WGS84_E2 * s * s) * cos(phi * M_PI / 180.0) *
         M_PI / 180.0;
}

static int to_frame(double *x, double *y, void *ud) {
  const struct frame *f = ud;
  *x = (*x - f->lon0) * f->klon;
  *y = (*y - f->lat0) * f->klat;
  return 1;
}

/* Sets up zone z's frame. Along any path within the band, the metre per
 * degree of each axis differs from the frame's by a factor within
 * [1 - e, 1 + e], so every length — and so the distance to the boundary —
 * is within those factors of the frame's; e is the largest such departure
 * at the band's edges and middle (the scales are monotone in between),
 * plus 0.1% for the flat frame. */
static int frame_of(GEOSContextHandle_t gh, struct zone *z) {
  const struct hv_object *o = z->obj;
  double lo = o->miny - FRAME_BAND, hi = o->maxy + FRAME_BAND;
  if (lo < -85 || hi > 85)
    return HV_OK; /* near the poles: the degree bounds only */
  z->f.lat0 = (o->miny + o->maxy) / 2;
  z->f.lon0 = (o->minx + o->maxx) / 2;
  z->f.klat = m_per_deg_lat(z->f.lat0);
  z->f.klon = m_per_deg_lon(z->f.lat0);
  double e = 0;
  const double phis[3] = {lo, hi, 0.0};
  for (size_t i = 0; i < 3; i++) {
    if (i == 2 && !(lo < 0 && hi > 0))
      continue;
    double rl = fabs(m_per_deg_lat(phis[i]) / z->f.klat - 1.0);
    double rn = fabs(m_per_deg_lon(phis[i]) / z->f.klon - 1.0);
    e = fmax(e, fmax(rl, rn));
  }
  z->rel_err = e + 0.001;
  z->fboundary = GEOSGeom_transformXY_r(gh, z->boundary, to_frame, &z->f);
  if (z->fboundary)
    z->pfboundary = GEOSPrepare_r(gh, z->fboundary);
  return z->pfboundary ? HV_OK : HV_EGEOMETRY;
}

static int build(struct hv_adjudicator *a, struct hv_error *err) {
  clear(a);
  struct hv_db *db = a->db;
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(db));
  int rc = HV_OK;
  a->n_parties = db->tables[HV_PARTY].n;
  const struct hv__table *ta = &db->tables[HV_AGREEMENT];
  a->agr = calloc(ta->n + 1, sizeof *a->agr);
  if (a->agr == NULL)
    return HV_ENOMEM;
  for (size_t i = 0; i < ta->n && rc == HV_OK; i++, a->n_agr++)
    rc = build_agreement(a, &a->agr[i], ta->v[i]);
  const struct hv__table *tz = &db->tables[HV_ZONE];
  if (rc == HV_OK && (a->zones = calloc(tz->n + 1, sizeof *a->zones)) == NULL)
    rc = HV_ENOMEM;
  for (size_t i = 0; rc == HV_OK && i < tz->n; i++, a->n_zones++) {
    a->zones[i].obj = tz->v[i];
    a->zones[i].boundary = GEOSBoundary_r(gh, tz->v[i]->geom);
    if (a->zones[i].boundary)
      a->zones[i].pboundary = GEOSPrepare_r(gh, a->zones[i].boundary);
    if (a->zones[i].pboundary == NULL ||
        frame_of(gh, &a->zones[i]) != HV_OK)
      rc = hv_error_set(err, HV_EGEOMETRY, "zone %s: no boundary",
                        tz->v[i]->id);
  }
  if (rc == HV_OK)
    rc = index_of(a, HV_ZONE, &a->zix, err);
  if (rc == HV_OK)
    rc = index_of(a, HV_AREA, &a->aix, err);
  if (rc == HV_OK)
    rc = index_of(a, HV_DELINEATION, &a->dix, err);
  const struct hv__table *tr = &db->tables[HV_AREA];
  a->n_areas = tr->n;
  if (rc == HV_OK &&
      (a->area_rel = calloc(tr->n * tz->n + 1, 1)) == NULL)
    rc = HV_ENOMEM;
  for (size_t i = 0; rc == HV_OK && i < tr->n; i++)
    for (size_t j = 0; rc == HV_OK && j < tz->n; j++) {
      int r = area_relation(gh, tr->v[i], tz->v[j]);
      if (r < 0)
        rc = hv_error_set(err, HV_EGEOMETRY, "area %s against zone %s",
                          tr->v[i]->id, tz->v[j]->id);
      else
        a->area_rel[i * tz->n + j] = (signed char)r;
    }
  const struct hv__table *ts = &db->tables[HV_SITE];
  a->n_sites = ts->n;
  if (rc == HV_OK && ((a->sites = calloc(ts->n + 1, sizeof *a->sites)) ==
                          NULL ||
                      (a->site_notified =
                           calloc(ts->n + 1, sizeof *a->site_notified)) ==
                          NULL))
    rc = HV_ENOMEM;
  for (size_t i = 0; rc == HV_OK && i < ts->n; i++) {
    a->sites[i] = ts->v[i];
    if (ts->v[i]->u.site.radius_m > a->max_site_radius_m)
      a->max_site_radius_m = ts->v[i]->u.site.radius_m;
  }
  if (rc == HV_OK && ts->n > 1)
    qsort(a->sites, ts->n, sizeof *a->sites, site_lat_cmp);
  for (size_t k = 0; k < sizeof WATCHED / sizeof *WATCHED; k++)
    a->gen[WATCHED[k]] = hv_db_generation(db, (enum hv_kind)WATCHED[k]);
  if (rc != HV_OK)
    clear(a);
  return rc;
}

int hv_adjudicator_new(struct hv_db *db, struct hv_adjudicator **out,
                       struct hv_error *err) {
  *out = NULL;
  struct hv_adjudicator *a = calloc(1, sizeof *a);
  if (a == NULL)
    return HV_ENOMEM;
  a->db = db;
  int rc = build(a, err);
  if (rc != HV_OK) {
    free(a);
    return rc;
  }
  *out = a;
  return HV_OK;
}

static int stale(const struct hv_adjudicator *a) {
  for (size_t k = 0; k < sizeof WATCHED / sizeof *WATCHED; k++)
    if (a->gen[WATCHED[k]] != hv_db_generation(a->db, (enum hv_kind)WATCHED[k]))
      return 1;
  return 0;
}

/* ---- location ------------------------------------------------------------
 */

/* Metres per degree, bounds for the planar distance in degrees of a point
 * at latitude lat to anything within deg degrees of it (docs/incidents.md
 * "Location"): the shortest is a degree of longitude at the farthest
 * latitude, the longest a degree of latitude at the poles; 1% margins. */
static double m_per_deg_min(double lat, double deg) {
  double phi = fabs(lat) + deg;
  if (phi >= 89.0)
    return 0.0;
  double lon_m = 111320.0 * cos(phi * M_PI / 180.0);
  return 0.99 * (lon_m < 110574.0 ? lon_m : 110574.0);
}
#define M_PER_DEG_MAX (1.01 * 111694.0)

/* GEOS's planar distance from (x, y) to prepared g, or -1 on error. */
static double planar(GEOSContextHandle_t gh, const GEOSPreparedGeometry *g,
                     double x, double y) {
  GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(gh, x, y);
  double d = -1;
  if (pt == NULL || !GEOSPreparedDistance_r(gh, g, pt, &d))
    d = -1;
  if (pt)
    GEOSGeom_destroy_r(gh, pt);
  return d;
}

/* The exact test: the geodesic distance to the part of the boundary that
 * can be within r (clipped to a box a little larger than r around the
 * point; nothing left: farther than r). */
static int exact_vs(struct hv_adjudicator *a, const struct zone *z,
                    double lon, double lat, double r) {
  struct hv_geo *geo = hv_db_geo(a->db);
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  double hlat = 1.05 * r / 110574.0;
  double c = cos((fabs(lat) + hlat) * M_PI / 180.0);
  double hlon = c > 0.01 ? 1.05 * r / (111320.0 * c) : 360;
  GEOSGeometry *part = GEOSClipByRect_r(gh, z->boundary, lon - hlon,
                                        lat - hlat, lon + hlon, lat + hlat);
  if (part == NULL)
    return HV_EGEOMETRY;
  int rc = 1;
  if (!GEOSisEmpty_r(gh, part)) {
    double d;
    rc = hv_geo_distance_to_m(geo, lon, lat, part, &d);
    if (rc == HV_OK)
      rc = d >= r ? 1 : -1;
  }
  GEOSGeom_destroy_r(gh, part);
  return rc;
}

/* Whether the distance from (lon, lat) to zone z's boundary is at least r:
 * 1 (d >= r), -1 (d < r) or a negative HV_ error. Decided from the local
 * frame's distance when the point is within its band (or from the planar
 * distance in degrees), and measured on the ellipsoid only when those
 * bounds cannot say (docs/incidents.md "Location"). */
static int boundary_vs(struct hv_adjudicator *a, const struct zone *z,
                       double lon, double lat, double r) {
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(a->db));
  const struct hv_object *o = z->obj;
  if (z->pfboundary && r <= FRAME_MAX_R && lat >= o->miny - FRAME_BAND / 2 &&
      lat <= o->maxy + FRAME_BAND / 2) {
    struct frame f = z->f;
    double x = lon, y = lat;
    to_frame(&x, &y, &f);
    double d = planar(gh, z->pfboundary, x, y);
    if (d < 0)
      return HV_EGEOMETRY;
    if (d * (1 - z->rel_err) >= r)
      return 1;
    if (d * (1 + z->rel_err) < r)
      return -1;
    return exact_vs(a, z, lon, lat, r);
  }
  double deg = planar(gh, z->pboundary, lon, lat);
  if (deg < 0)
    return HV_EGEOMETRY;
  if (deg * m_per_deg_min(lat, deg) >= r)
    return 1;
  if (deg * M_PER_DEG_MAX < r)
    return -1;
  return exact_vs(a, z, lon, lat, r);
}

/* Membership of the incident's place in zone index zi. inside: the point
 * is in the zone (zindex). */
static int place_in_zone(struct hv_adjudicator *a, const struct hv_incident *in,
                         long area, size_t zi, int inside) {
  if (in->precision == HV_PREC_COUNTRY)
    return HV_MEMBER_UNCERTAIN;
  if (in->precision == HV_PREC_PROVINCE)
    return area < 0 ? HV_MEMBER_UNCERTAIN
                    : a->area_rel[(size_t)area * a->n_zones + zi];
  double r = in->uncertainty_m;
  if (r <= 0)
    return inside ? HV_MEMBER_IN : HV_MEMBER_OUT;
  int c = boundary_vs(a, &a->zones[zi], in->lon, in->lat, r);
  if (c != 1 && c != -1)
    return c < 0 ? c : HV_EGEOMETRY;
  if (c == 1)
    return inside ? HV_MEMBER_IN : HV_MEMBER_OUT;
  return HV_MEMBER_UNCERTAIN;
}

/* Zone zi in force over the interval: 2 both ends, 1 one, 0 neither. */
static int zone_force(const struct hv_object *z, const struct hv_incident *in) {
  int64_t last = in->t_end_ms > in->t_ms ? in->t_end_ms - 1 : in->t_ms;
  return hv_zone_in_force(z, in->t_ms) + hv_zone_in_force(z, last);
}

/* Every polygon of ix containing the point, into a->hits: how many, or
 * (size_t)-1 when out of memory. The answer is valid until the next
 * query. */
static size_t query(struct hv_adjudicator *a, const struct hv_zindex *ix,
                    double lon, double lat) {
  size_t n = hv_zindex_query(ix, lon, lat, a->hits, a->hits_cap);
  if (n <= a->hits_cap)
    return n;
  uint32_t *v = realloc(a->hits, n * sizeof *v);
  if (v == NULL)
    return (size_t)-1;
  a->hits = v;
  a->hits_cap = n;
  return hv_zindex_query(ix, lon, lat, a->hits, a->hits_cap);
}

#define INSIDE 3 /* mem[] mark: the point is in the zone */

/* Per zone of the table: its membership (HV_MEMBER_*), computed for the
 * zones near enough; mem must hold n_zones. */
static int zones_of(struct hv_adjudicator *a, const struct hv_incident *in,
                    long area, signed char *mem) {
  memset(mem, HV_MEMBER_OUT, a->n_zones);
  size_t nh = query(a, a->zix, in->lon, in->lat);
  if (nh == (size_t)-1)
    return HV_ENOMEM;
  for (size_t k = 0; k < nh; k++)
    mem[a->hits[k]] = INSIDE;
  double r = in->precision <= HV_PREC_DISTRICT ? in->uncertainty_m : 0;
  double rdeg = r / m_per_deg_min(in->lat, r / 100000.0 + 0.01) + 1e-9;
  for (size_t zi = 0; zi < a->n_zones; zi++) {
    const struct hv_object *z = a->zones[zi].obj;
    int inside = mem[zi] == INSIDE;
    mem[zi] = HV_MEMBER_OUT;
    int force = zone_force(z, in);
    if (force == 0)
      continue;
    int m;
    if (in->precision >= HV_PREC_PROVINCE) {
      m = place_in_zone(a, in, area, zi, inside);
    } else {
      if (!inside && (in->lon < z->minx - rdeg || in->lon > z->maxx + rdeg ||
                      in->lat < z->miny - rdeg || in->lat > z->maxy + rdeg))
        continue;
      m = place_in_zone(a, in, area, zi, inside);
    }
    if (m < 0)
      return m;
    if (force == 1 && m == HV_MEMBER_IN)
      m = HV_MEMBER_UNCERTAIN;
    mem[zi] = (signed char)m;
  }
  return HV_OK;
}

/* The area at the point (or given), as a table index, or -1: of the areas
 * containing the point, the first in id order. */
static long area_of(struct hv_adjudicator *a, const struct hv_incident *in) {
  if (in->area)
    return hv__table_find(&a->db->tables[HV_AREA], in->area);
  size_t nh = query(a, a->aix, in->lon, in->lat);
  long best = -1;
  for (size_t k = 0; nh != (size_t)-1 && k < nh; k++)
    if (best < 0 || (long)a->hits[k] < best)
      best = (long)a->hits[k];
  return best;
}

/* The delineations valid at the incident's start that contain its point,
 * as table indexes in id order, into a->dels (a->n_dels). */
static int delineations_at(struct hv_adjudicator *a,
                           const struct hv_incident *in) {
  a->n_dels = 0;
  size_t nh = query(a, a->dix, in->lon, in->lat);
  if (nh == (size_t)-1)
    return HV_ENOMEM;
  if (nh > a->dels_cap) {
    uint32_t *v = realloc(a->dels, nh * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    a->dels = v;
    a->dels_cap = nh;
  }
  for (size_t k = 0; k < nh; k++) {
    const struct hv_object *d = a->db->tables[HV_DELINEATION].v[a->hits[k]];
    if (d->from_ms <= in->t_ms && in->t_ms < d->to_ms)
      a->dels[a->n_dels++] = a->hits[k];
  }
  for (size_t k = 1; k < a->n_dels; k++) /* few: insertion sort */
    for (size_t m = k; m > 0 && a->dels[m - 1] > a->dels[m]; m--) {
      uint32_t t = a->dels[m];
      a->dels[m] = a->dels[m - 1];
      a->dels[m - 1] = t;
    }
  return HV_OK;
}

/* The party the place is delineated to at the time: the first delineation
 * (in id order) of a->dels; NULL none. *of_party: 1 when one of them is
 * party's. */
static const char *holder_of(const struct hv_adjudicator *a,
                             const char *party, int *of_party) {
  *of_party = 0;
  for (size_t k = 0; party && k < a->n_dels; k++)
    if (strcmp(a->db->tables[HV_DELINEATION].v[a->dels[k]]->u.delineation.party,
               party) == 0)
      *of_party = 1;
  return a->n_dels
             ? a->db->tables[HV_DELINEATION].v[a->dels[0]]->u.delineation.party
             : NULL;
}

/* ---- the answer ----------------------------------------------------------
 */

void hv_adjudication_free(struct hv_adjudication *x) {
  if (x == NULL)
    return;
  free(x->zones);
  free(x->rows);
  free(x->hits);
  memset(x, 0, sizeof *x);
}

static void set_id(char *dst, const char *src) {
  snprintf(dst, HV_ADJ_ID, "%s", src ? src : "");
}

static void set_party(const struct hv_adjudicator *a, const struct agr *g,
                      struct hv_adj_party *out, long p) {
  const struct hv__table *tp = &a->db->tables[HV_PARTY];
  set_id(out->party, tp->v[p]->id);
  set_id(out->guarantor, g->guar[p] >= 0 ? tp->v[g->guar[p]]->id : "");
  out->is_guarantor = g->is_guar[p];
}

/* The sides named (perpetrator, sides, target_party), as party indexes,
 * without repeats; returns how many (<= 4). */
static size_t sides_of(const struct hv_db *db, const struct hv_incident *in,
                       long *out) {
  const char *names[4] = {in->perpetrator, in->sides[0], in->sides[1],
                          in->target_party};
  size_t n = 0;
  for (size_t i = 0; i < 4; i++) {
    long p = party_index(db, names[i]);
    int dup = p < 0;
    for (size_t j = 0; j < n && !dup; j++)
      dup = out[j] == p;
    if (!dup)
      out[n++] = p;
  }
  return n;
}

/* Writes the row's reason (truncated to fit, by design). */
static void reasonf(struct hv_adj_row *row, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reasonf(struct hv_adj_row *row, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(row->reason, sizeof row->reason, fmt, ap);
  va_end(ap);
}

/* Rules 2-4 for agreement g, once in scope with membership m. */
static void judge(struct hv_adjudicator *a, const struct agr *g,
                  const struct hv_incident *in, enum hv_membership m,
                  struct hv_adj_row *row) {
  const struct hv_db *db = a->db;
  long sides[4];
  size_t ns = sides_of(db, in, sides);
  long perp = party_index(db, in->perpetrator);
  /* 2. Excluded: a side the agreement excludes, on its own ground or on
   * ground no delineation gives to anyone. Otherwise the place's holder
   * stands in for it as the side acted against. */
  long stand_in = -2; /* -2: no failed exclusion claim */
  for (size_t i = 0; i < ns; i++) {
    if (!g->excl[sides[i]])
      continue;
    const char *pid = db->tables[HV_PARTY].v[sides[i]]->id;
    int of_party;
    const char *holder = holder_of(a, pid, &of_party);
    if (holder == NULL || of_party) {
      row->cls = HV_CLASS_EXCLUDED;
      set_id(row->excluded_party, pid);
      reasonf(row,
               "%s is excluded from %s and the place is %s", pid, g->obj->id,
               holder ? "delineated to it" : "delineated to no one");
      return;
    }
    if (sides[i] != perp)
      stand_in = party_index(db, holder);
  }
  /* 3. Violation: a forbidden act between bound parties, or by a bound
   * party against civilians. */
  row->cls = HV_CLASS_OUTSIDE;
  if (!g->forbids[in->action]) {
    reasonf(row,
             "%s does not forbid %s", g->obj->id, hv_action_name(in->action));
    return;
  }
  enum hv_class hit = m == HV_MEMBER_IN ? HV_CLASS_VIOLATION
                                        : HV_CLASS_UNCERTAIN;
  const char *mtxt = m == HV_MEMBER_IN ? "" : " (membership uncertain)";
  if (perp >= 0) {
    const char *pid = db->tables[HV_PARTY].v[perp]->id;
    if (!g->bound[perp]) {
      reasonf(row, "%s is not bound by %s", pid,
               g->obj->id);
      return;
    }
    long target = -1;
    int against_civilians = in->target &&
                            (strcmp(in->target, "civilians") == 0 ||
                             strcmp(in->target, "site") == 0);
    if (!against_civilians) {
      if (stand_in >= -1)
        target = stand_in;
      else if (in->target_party)
        target = party_index(db, in->target_party);
      else
        for (size_t i = 0; i < ns && target < 0; i++)
          if (sides[i] != perp)
            target = sides[i];
      if (target < 0 && stand_in == -2) {
        int dummy;
        target = party_index(db, holder_of(a, NULL, &dummy));
      }
    }
    if (target >= 0 && !g->bound[target]) {
      reasonf(row,
               "%s acted against %s, which %s does not bind", pid,
               db->tables[HV_PARTY].v[target]->id, g->obj->id);
      return;
    }
    row->cls = hit;
    row->attributed = 1;
    row->suspected = in->suspected;
    set_party(a, g, &row->involved[0], perp);
    row->n_involved = 1;
    reasonf(row, "%s by %s%s, forbidden by %s%s",
             hv_action_name(in->action), pid, in->suspected ? " (suspected)" : "",
             g->obj->id, mtxt);
    return;
  }
  long s0 = party_index(db, in->sides[0]), s1 = party_index(db, in->sides[1]);
  if (stand_in >= 0) {
    if (s0 >= 0 && g->excl[s0])
      s0 = stand_in;
    else if (s1 >= 0 && g->excl[s1])
      s1 = stand_in;
  }
  if (s0 < 0 || s1 < 0 || s0 == s1) {
    reasonf(row,
             "no perpetrator and not two known sides");
    return;
  }
  if (!g->bound[s0] || !g->bound[s1]) {
    reasonf(row, "%s is not bound by %s",
             db->tables[HV_PARTY].v[g->bound[s0] ? s1 : s0]->id, g->obj->id);
    return;
  }
  row->cls = hit;
  row->attributed = 0;
  set_party(a, g, &row->involved[0], s0);
  set_party(a, g, &row->involved[1], s1);
  row->n_involved = 2;
  reasonf(row,
           "%s between %s and %s, forbidden by %s; unattributed%s",
           hv_action_name(in->action), row->involved[0].party,
           row->involved[1].party, g->obj->id, mtxt);
}

/* The time of the first entry seen (the history is oldest first). */
static int first_time(const struct hv_ledger_entry *e, void *ud) {
  *(int64_t *)ud = e->time_ms;
  return 1;
}

/* When site si was notified: notified_at, or when it was first recorded
 * (looked up once, then kept). */
static int64_t notified_at(struct hv_adjudicator *a, size_t si) {
  const struct hv_object *s = a->sites[si];
  if (s->u.site.notified_ms > 0)
    return s->u.site.notified_ms;
  if (a->site_notified[si] == 0) {
    int64_t first = INT64_MAX;
    hv_ledger_history(a->db, HV_SITE, s->id, first_time, &first);
    a->site_notified[si] = first;
  }
  return a->site_notified[si];
}

static void ack_of(struct hv_adjudicator *a, const struct hv_object *site,
                   const char *party, int64_t t_ms, struct hv_adj_hit *h) {
  size_t k = h->n_acks++;
  set_id(h->acks[k].party, party);
  h->acks[k].since_ms = 0;
  if (!hv__recipient(a->db, site, party)) {
    h->acks[k].state = HV_ACKED_NOT_TOLD;
    return;
  }
  int64_t at = 0;
  if (!hv__acks_first(a->db, HV_SITE, site->id, party, &at)) {
    h->acks[k].state = HV_ACKED_NEVER;
    return;
  }
  h->acks[k].since_ms = at;
  h->acks[k].state = at <= t_ms ? HV_ACKED_BEFORE : HV_ACKED_AFTER;
}

static int hit_cmp(const void *x, const void *y) {
  const struct hv_adj_hit *p = x, *q = y;
  if (p->distance_m != q->distance_m)
    return p->distance_m < q->distance_m ? -1 : 1;
  return strcmp(p->site, q->site);
}

/* 5. Notified sites within reach, after their notification. */
static int site_hits(struct hv_adjudicator *a, const struct hv_incident *in,
                     struct hv_adjudication *out) {
  out->n_hits = 0;
  if (in->precision >= HV_PREC_PROVINCE || a->n_sites == 0)
    return HV_OK;
  double r = in->uncertainty_m;
  double reach_max = a->max_site_radius_m + r;
  double dlat = reach_max / (0.99 * 110574.0);
  double lo = in->lat - dlat;
  size_t i = 0, j = a->n_sites;
  while (i < j) { /* first site with lat >= lo */
    size_t mid = (i + j) / 2;
    if (a->sites[mid]->u.site.lat < lo)
      i = mid + 1;
    else
      j = mid;
  }
  for (; i < a->n_sites && a->sites[i]->u.site.lat <= in->lat + dlat; i++) {
    const struct hv_object *s = a->sites[i];
    double reach = s->u.site.radius_m + r;
    double d = hv_geo_distance_m(in->lon, in->lat, s->u.site.lon,
                                 s->u.site.lat);
    if (!(d <= reach))
      continue;
    int64_t since = notified_at(a, i);
    if (in->t_ms < since)
      continue;
    struct hv_adj_hit *h = hv__grow(out->hits, &out->cap_hits, out->n_hits + 1,
                                sizeof *h);
    if (h == NULL)
      return HV_ENOMEM;
    out->hits = h;
    h = &out->hits[out->n_hits++];
    memset(h, 0, sizeof *h);
    set_id(h->site, s->id);
    snprintf(h->category, sizeof h->category, "%s", s->u.site.category);
    h->distance_m = d;
    h->reach_m = reach;
    h->notified_ms = since;
    if (in->perpetrator) {
      ack_of(a, s, in->perpetrator, in->t_ms, h);
    } else {
      for (size_t k = 0; k < 2; k++)
        if (in->sides[k])
          ack_of(a, s, in->sides[k], in->t_ms, h);
    }
  }
  if (out->n_hits > 1)
    qsort(out->hits, out->n_hits, sizeof *out->hits, hit_cmp);
  return HV_OK;
}

int hv_adjudicate(struct hv_adjudicator *a, const struct hv_incident *in,
                  struct hv_adjudication *out, struct hv_error *err) {
  if (!(in->lon >= -180 && in->lon <= 180 && in->lat >= -90 && in->lat <= 90))
    return hv_error_set(err, HV_EINVAL, "incident %s: coordinates out of range",
                        in->id ? in->id : "?");
  int rc;
  if (stale(a) && (rc = build(a, err)) != HV_OK)
    return rc;
  set_id(out->incident, in->id);
  out->version = in->version;
  out->t_ms = in->t_ms;
  out->t_end_ms = in->t_end_ms;
  out->lon = in->lon;
  out->lat = in->lat;
  out->precision = in->precision;
  out->uncertainty_m =
      in->precision <= HV_PREC_DISTRICT ? in->uncertainty_m : 0;
  out->action = in->action;
  out->fatalities = in->fatalities;
  out->recorded_seq = 0;
  out->recorded_ms = 0;
  long area = area_of(a, in);
  set_id(out->area, area >= 0 ? a->db->tables[HV_AREA].v[area]->id : "");
  /* Zones: membership of each. */
  signed char mem_small[64];
  signed char *mem = a->n_zones <= 64 ? mem_small : malloc(a->n_zones);
  if (mem == NULL)
    return HV_ENOMEM;
  if ((rc = zones_of(a, in, area, mem)) != HV_OK) {
    if (mem != mem_small)
      free(mem);
    return hv_error_set(err, rc, "incident %s: zones: %s", out->incident,
                        hv_strerror(rc));
  }
  out->n_zones = 0;
  for (size_t zi = 0; zi < a->n_zones; zi++) {
    if (mem[zi] == HV_MEMBER_OUT)
      continue;
    struct hv_adj_zone *z =
        hv__grow(out->zones, &out->cap_zones, out->n_zones + 1, sizeof *z);
    if (z == NULL) {
      rc = HV_ENOMEM;
      break;
    }
    out->zones = z;
    set_id(out->zones[out->n_zones].zone, a->zones[zi].obj->id);
    out->zones[out->n_zones++].m = (enum hv_membership)mem[zi];
  }
  if (rc == HV_OK)
    rc = delineations_at(a, in);
  /* Agreements whose validity the time touches. */
  out->n_rows = 0;
  int64_t last = in->t_end_ms > in->t_ms ? in->t_end_ms - 1 : in->t_ms;
  for (size_t i = 0; rc == HV_OK && i < a->n_agr; i++) {
    const struct agr *g = &a->agr[i];
    int at_start = hv_agreement_in_force(g->obj, in->t_ms);
    int at_end = hv_agreement_in_force(g->obj, last);
    if (!at_start && !at_end && !(in->t_ms < g->obj->from_ms &&
                                  last >= g->obj->to_ms))
      continue;
    struct hv_adj_row *row =
        hv__grow(out->rows, &out->cap_rows, out->n_rows + 1, sizeof *row);
    if (row == NULL) {
      rc = HV_ENOMEM;
      break;
    }
    out->rows = row;
    row = &out->rows[out->n_rows++];
    memset(row, 0, sizeof *row);
    set_id(row->agreement, g->obj->id);
    /* 1. Scope. */
    enum hv_membership m = HV_MEMBER_OUT;
    if (g->obj->u.agreement.nationwide) {
      m = HV_MEMBER_IN;
    } else {
      for (size_t k = 0; k < g->n_scope; k++) {
        enum hv_membership zm = (enum hv_membership)mem[g->scope[k]];
        if (zm > m) {
          m = zm;
          set_id(row->zone, a->zones[g->scope[k]].obj->id);
        }
      }
    }
    if (!(at_start && at_end) && m == HV_MEMBER_IN)
      m = HV_MEMBER_UNCERTAIN;
    row->scope = m;
    if (m == HV_MEMBER_OUT) {
      row->cls = HV_CLASS_OUTSIDE;
      reasonf(row,
               "not in any zone of %s in force then", g->obj->id);
      continue;
    }
    judge(a, g, in, m, row);
  }
  if (mem != mem_small)
    free(mem);
  if (rc == HV_OK)
    rc = site_hits(a, in, out);
  if (rc == HV_ENOMEM)
    hv_error_set(err, rc, "incident %s: out of memory", out->incident);
  return rc;
}
