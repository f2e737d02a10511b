/*
 * probe.c — the probing detector of haven/probe.h.
 *
 * Per party: a ring of its last HV_PROBE_KEEP checks. Each entry also
 * keeps the longest bisection chain ending at it (length, first time,
 * predecessor), computed once when it is noted from the entries before it:
 * a chain's links never change afterwards, so a new check costs one pass
 * over its party's window for each pattern.
 *
 * Distances are on a sphere of 6,371 km (haversine): the patterns are about
 * shapes a few kilometres across, where the sphere is well within a
 * percent of the ellipsoid, and the answer is a flag for a person to look
 * at, not a distance anyone relies on.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/check.h"
#include "haven/db.h"
#include "haven/geo.h"
#include "haven/object.h"
#include "haven/probe.h"
#include "object.h"

#define EARTH_M 6371000.0
#define DEG2RAD (3.14159265358979323846 / 180.0)

struct entry {
  int64_t t_ms, id;
  double lon, lat, r;
  unsigned chain;   /* longest bisection chain ending here, itself included */
  int64_t chain_t0; /* time of its first check */
  int prev;         /* ring slot of the link before, -1 when none */
  int64_t prev_id;  /* and its id (the slot may have been reused since) */
};

struct party {
  char name[HV_ID_MAX];
  struct entry ring[HV_PROBE_KEEP];
  unsigned head, n; /* next slot; entries in use */
  int64_t last_t;
  int64_t seen[2]; /* last time each pattern held; INT64_MIN: never */
};

struct hv_probe {
  struct hv_probe_params p;
  struct party **parties;
  size_t n, cap;
};

struct hv_probe_params hv_probe_params_default(void) {
  struct hv_probe_params p = {30 * 60 * 1000, 12, 5000.0, 25000.0, 8, 4, 0.6};
  return p;
}

const char *hv_probe_pattern_name(enum hv_probe_pattern p) {
  return p == HV_PROBE_TILING ? "tiling" : "bisection";
}

int hv_probe_new(const struct hv_probe_params *p, struct hv_probe **out,
                 struct hv_error *err) {
  struct hv_probe_params q = p ? *p : hv_probe_params_default();
  *out = NULL;
  if (q.window_ms < 1000 || q.window_ms > 86400000 || q.tile_min < 2 ||
      q.tile_min > HV_PROBE_KEEP || !(q.tile_radius_m > 0) ||
      !(q.tile_span_m > 0) || !isfinite(q.tile_radius_m) ||
      !isfinite(q.tile_span_m) || q.tile_cells < 1 ||
      q.tile_cells > q.tile_min || q.bisect_steps < 2 ||
      q.bisect_steps > HV_PROBE_KEEP || !(q.bisect_ratio > 0) ||
      !(q.bisect_ratio < 1))
    return hv_error_set(err, HV_EINVAL,
                        "probing parameters out of range (haven/probe.h)");
  struct hv_probe *pr = calloc(1, sizeof *pr);
  if (pr == NULL)
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  pr->p = q;
  *out = pr;
  return HV_OK;
}

void hv_probe_free(struct hv_probe *pr) {
  if (pr == NULL)
    return;
  for (size_t i = 0; i < pr->n; i++)
    free(pr->parties[i]);
  free(pr->parties);
  free(pr);
}

static struct party *party_of(struct hv_probe *pr, const char *name) {
  for (size_t i = 0; i < pr->n; i++)
    if (strcmp(pr->parties[i]->name, name) == 0)
      return pr->parties[i];
  if (pr->n == pr->cap) {
    size_t cap = pr->cap ? pr->cap * 2 : 16;
    struct party **v = realloc(pr->parties, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    pr->parties = v;
    pr->cap = cap;
  }
  struct party *p = calloc(1, sizeof *p);
  if (p == NULL)
    return NULL;
  memcpy(p->name, name, strlen(name) + 1);
  p->last_t = INT64_MIN;
  p->seen[0] = p->seen[1] = INT64_MIN;
  pr->parties[pr->n++] = p;
  return p;
}

static double dist_m(double lon1, double lat1, double lon2, double lat2) {
  double p1 = lat1 * DEG2RAD, p2 = lat2 * DEG2RAD;
  double dp = p2 - p1, dl = (lon2 - lon1) * DEG2RAD;
  double a =
      sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  return 2 * EARTH_M * asin(sqrt(a < 1 ? a : 1));
}

/* Slot of the k-th entry of the window, oldest first. */
static unsigned slot(const struct party *p, unsigned k) {
  return (p->head + HV_PROBE_KEEP - p->n + k) % HV_PROBE_KEEP;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Tiling, on the window ending with slot s. */
static int tiling(const struct hv_probe *pr, const struct party *p, unsigned s,
                  struct hv_probe_alert *a) {
  const struct entry *e = &p->ring[s];
  if (e->r > pr->p.tile_radius_m)
    return 0;
  unsigned idx[HV_PROBE_KEEP];
  double radii[HV_PROBE_KEEP];
  unsigned m = 0;
  for (unsigned k = 0; k < p->n; k++) {
    const struct entry *x = &p->ring[slot(p, k)];
    if (x->t_ms < e->t_ms - pr->p.window_ms || x->r > pr->p.tile_radius_m ||
        dist_m(x->lon, x->lat, e->lon, e->lat) > pr->p.tile_span_m)
      continue;
    idx[m] = slot(p, k);
    radii[m++] = x->r;
  }
  if (m < pr->p.tile_min)
    return 0;
  qsort(radii, m, sizeof *radii, cmp_double);
  double cell = radii[m / 2] > 50.0 ? radii[m / 2] : 50.0;
  /* Distinct cells of a local grid around the new check. */
  long long cells[HV_PROBE_KEEP][2];
  unsigned nc = 0;
  double kx = EARTH_M * DEG2RAD * cos(e->lat * DEG2RAD), ky = EARTH_M * DEG2RAD;
  for (unsigned i = 0; i < m; i++) {
    const struct entry *x = &p->ring[idx[i]];
    long long cx = (long long)floor((x->lon - e->lon) * kx / cell);
    long long cy = (long long)floor((x->lat - e->lat) * ky / cell);
    unsigned j = 0;
    while (j < nc && (cells[j][0] != cx || cells[j][1] != cy))
      j++;
    if (j == nc) {
      cells[nc][0] = cx;
      cells[nc++][1] = cy;
    }
  }
  if (nc < pr->p.tile_cells)
    return 0;
  a->pattern = HV_PROBE_TILING;
  a->n = m;
  a->extent_m = 0;
  for (unsigned i = 0; i < m; i++) {
    const struct entry *x = &p->ring[idx[i]];
    a->ids[i] = x->id;
    double d = dist_m(x->lon, x->lat, e->lon, e->lat);
    if (d > a->extent_m)
      a->extent_m = d;
  }
  a->first_ms = p->ring[idx[0]].t_ms;
  return 1;
}

/* The bisection chain ending at slot s (already computed), when long
 * enough. */
static int bisection(const struct hv_probe *pr, const struct party *p,
                     unsigned s, struct hv_probe_alert *a) {
  const struct entry *e = &p->ring[s];
  if (e->chain < pr->p.bisect_steps)
    return 0;
  /* Walk back; the ids come out newest first. */
  size_t n = 0;
  int at = (int)s;
  int64_t want = e->id;
  a->extent_m = 0;
  while (at >= 0 && n < e->chain && p->ring[at].id == want) {
    const struct entry *x = &p->ring[at];
    a->ids[n++] = x->id;
    double d = dist_m(x->lon, x->lat, e->lon, e->lat);
    if (d > a->extent_m)
      a->extent_m = d;
    a->first_ms = x->t_ms;
    want = x->prev_id;
    at = x->prev;
  }
  for (size_t i = 0; i < n / 2; i++) {
    int64_t t = a->ids[i];
    a->ids[i] = a->ids[n - 1 - i];
    a->ids[n - 1 - i] = t;
  }
  a->pattern = HV_PROBE_BISECTION;
  a->n = n;
  return 1;
}

/* Raises pattern k at time t unless it held within the last window. */
static int episode(const struct hv_probe *pr, struct party *p, int k,
                   int64_t t) {
  int raise = p->seen[k] == INT64_MIN || t - p->seen[k] > pr->p.window_ms;
  p->seen[k] = t;
  return raise;
}

int hv_probe_note(struct hv_probe *pr, const char *party, int64_t t_ms,
                  int64_t id, double lon, double lat, double radius_m,
                  struct hv_probe_alert *alert) {
  size_t len = party ? strlen(party) : 0;
  if (len == 0 || len >= HV_ID_MAX || !(lon >= -180 && lon <= 180) ||
      !(lat >= -90 && lat <= 90) || !isfinite(radius_m) || radius_m < 0)
    return HV_EINVAL;
  struct party *p = party_of(pr, party);
  if (p == NULL)
    return HV_ENOMEM;
  if (t_ms < p->last_t)
    t_ms = p->last_t;
  p->last_t = t_ms;

  /* The longest chain this check ends, from the window before it. */
  struct entry e = {t_ms, id, lon, lat, radius_m, 1, t_ms, -1, 0};
  for (unsigned k = 0; k < p->n; k++) {
    unsigned sk = slot(p, k);
    const struct entry *x = &p->ring[sk];
    if (x->t_ms < t_ms - pr->p.window_ms || !(x->r > 0) ||
        radius_m > pr->p.bisect_ratio * x->r ||
        dist_m(x->lon, x->lat, lon, lat) > x->r)
      continue;
    /* A chain that began before the window counts from x on. */
    unsigned len_x = x->chain_t0 >= t_ms - pr->p.window_ms ? x->chain : 1;
    if (len_x + 1 > e.chain) {
      e.chain = len_x + 1;
      e.chain_t0 = len_x == x->chain ? x->chain_t0 : x->t_ms;
      e.prev = (int)sk;
      e.prev_id = x->id;
    }
  }
  unsigned s = p->head;
  p->ring[s] = e;
  p->head = (p->head + 1) % HV_PROBE_KEEP;
  if (p->n < HV_PROBE_KEEP)
    p->n++;

  /* The alert is built aside: *alert is written only when one is raised. */
  struct hv_probe_alert found;
  int hit = 0;
  if (tiling(pr, p, s, &found) && episode(pr, p, HV_PROBE_TILING, t_ms))
    hit = 1;
  else if (bisection(pr, p, s, &found) &&
           episode(pr, p, HV_PROBE_BISECTION, t_ms))
    hit = 1;
  if (hit) {
    found.lon = lon;
    found.lat = lat;
    found.last_ms = t_ms;
    *alert = found;
  }
  return hit;
}

json_t *hv_probe_alert_json(const struct hv_probe_alert *a, const char *party) {
  char t[40], first[40], reason[320];
  json_t *checks = json_array();
  for (size_t i = 0; checks && i < a->n; i++)
    if (json_array_append_new(checks, json_integer((json_int_t)a->ids[i]))) {
      json_decref(checks);
      return NULL;
    }
  if (checks == NULL)
    return NULL;
  hv_time_format(a->last_ms, t, sizeof t);
  hv_time_format(a->first_ms, first, sizeof first);
  if (a->pattern == HV_PROBE_TILING)
    snprintf(reason, sizeof reason,
             "%s made %zu small checks within %.0f m of one another "
             "between %s and %s: a sweep of the area",
             party, a->n, a->extent_m, first, t);
  else
    snprintf(reason, sizeof reason,
             "%s made %zu checks between %s and %s, each inside the one "
             "before and smaller: closing in on one place",
             party, a->n, first, t);
  return json_pack("{s:s,s:s,s:I,s:s,s:s,s:o,s:f,s:f,s:f,s:s,s:s,s:s,s:[]}",
                   "kind", "probing", "t", t, "t_ms", (json_int_t)a->last_ms,
                   "suspect", party, "pattern",
                   hv_probe_pattern_name(a->pattern), "checks", checks, "lon",
                   a->lon, "lat", a->lat, "extent_m", a->extent_m, "first",
                   first, "last", t, "reason", reason, "audience");
}

int hv_db_record_probing(struct hv_db *db, const struct hv_probe_alert *a,
                         const char *party, int64_t *seq,
                         struct hv_error *err) {
  if (seq)
    *seq = 0;
  json_t *doc = hv_probe_alert_json(a, party);
  char *body = doc ? hv__canon(doc) : NULL;
  json_decref(doc);
  if (body == NULL)
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  struct hv__change c = {0};
  c.op = "finding";
  c.record_kind = "finding";
  c.record_body = body;
  int64_t at = db->head_seq + 1;
  int rc = hv__db_commit(db, HV_COORDINATOR, &c, 1, err);
  free(body);
  if (rc == HV_OK && seq)
    *seq = at;
  return rc;
}

int hv_probe_note_op(struct hv_probe *pr, struct hv_db *db,
                     const struct hv_operation *op, int64_t t_ms, int64_t id,
                     struct hv_probe_alert *alert) {
  GEOSContextHandle_t g = hv_geo_geos(hv_db_geo(db));
  double cx, cy, minx, miny, maxx, maxy;
  GEOSGeometry *c = op->geom ? GEOSGetCentroid_r(g, op->geom) : NULL;
  int ok = c && GEOSGeomGetX_r(g, c, &cx) == 1 &&
           GEOSGeomGetY_r(g, c, &cy) == 1 &&
           GEOSGeom_getXMin_r(g, op->geom, &minx) == 1 &&
           GEOSGeom_getYMin_r(g, op->geom, &miny) == 1 &&
           GEOSGeom_getXMax_r(g, op->geom, &maxx) == 1 &&
           GEOSGeom_getYMax_r(g, op->geom, &maxy) == 1;
  if (c)
    GEOSGeom_destroy_r(g, c);
  if (!ok)
    return HV_EGEOMETRY;
  double r = 0;
  const double xs[2] = {minx, maxx}, ys[2] = {miny, maxy};
  for (int i = 0; i < 4; i++) {
    double d = hv_geo_distance_m(cx, cy, xs[i & 1], ys[i >> 1]);
    if (d > r)
      r = d;
  }
  return hv_probe_note(pr, op->author, t_ms, id, cx, cy,
                       op->effect_radius_m + r, alert);
}
