/*
 * check.c — deconfliction requests (haven/check.h): a planned operation
 * against protected sites, zones and agreements, target standing and
 * delineations; the verdict, its receipt, its record in the ledger and the
 * verification of a receipt. The rules are written out in docs/checks.md.
 *
 * Invariants:
 * - the site index (struct hv_checker) describes exactly the db's site
 *   table as of chk->seq: same count, and at each position the same object
 *   pointer, version, coordinates and radius (and likewise its copies of
 *   the movement and zone tables: pointer, version, zone envelope). On
 *   every check whose db head
 *   differs from chk->seq the table is compared with it (O(N) pointer and
 *   number compares) and the index rebuilt when anything differs, so it
 *   never holds a pointer the db has freed;
 * - a verdict owns everything it holds (ids copied), so it outlives writes;
 * - the verdict's JSON never carries the id, version, coordinates or exact
 *   distance of a blind site or movement, nor of one the viewer may not see
 *   in full (hv_visibility): category and distance band only;
 * - agreement terms and coverage are evaluated with the engine's own rule:
 *   in force from valid_from (inclusive) to valid_to (exclusive), scope
 *   nationwide or listing the zone, and binding a party when
 *   hv_db_coverage gives covered or covered through a sponsor (as
 *   lib/tracks.c does for live tracks).
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/auth.h"
#include "haven/check.h"

#define RAD (M_PI / 180.0)

/* ---- names ---------------------------------------------------------------
 */

static const char *const op_names[HV_OP_COUNT] = {"air_strike", "artillery",
                                                  "ground_move", "flight"};

const char *hv_op_kind_name(enum hv_op_kind k) {
  return (unsigned)k < HV_OP_COUNT ? op_names[k] : "?";
}

int hv_op_kind_parse(const char *name, enum hv_op_kind *out) {
  for (int k = 0; name && k < HV_OP_COUNT; k++)
    if (strcmp(name, op_names[k]) == 0) {
      *out = (enum hv_op_kind)k;
      return HV_OK;
    }
  return HV_EINVAL;
}

const char *hv_verdict_name(enum hv_verdict_kind v) {
  return v == HV_VERDICT_FORBIDDEN  ? "forbidden"
         : v == HV_VERDICT_CONFLICT ? "conflict"
                                    : "clear";
}

static const char *const reason_names[HV_REASON_COUNT] = {
    "protected_site",    "movement", "zone_forbidden",
    "notify_guarantors", "target",   "delineation"};

const char *hv_reason_kind_name(enum hv_reason_kind k) {
  return (unsigned)k < HV_REASON_COUNT ? reason_names[k] : "?";
}

const char *hv_standing_name(enum hv_standing s) {
  static const char *const n[] = {"none", "unknown", "not_covered", "excluded",
                                  "covered"};
  return (unsigned)s <= HV_STANDING_COVERED ? n[s] : "?";
}

const char *hv_check_band(double d) {
  return d < 1000    ? "< 1 km"
         : d < 5000  ? "1-5 km"
         : d < 10000 ? "5-10 km"
         : d < 25000 ? "10-25 km"
                     : ">= 25 km";
}

/* The agreement terms an operation kind falls under (docs/checks.md). */
static const char *const *op_terms(enum hv_op_kind k) {
  static const char *const strike[] = {"air_strike", NULL};
  static const char *const shell[] = {"shelling", NULL};
  static const char *const ground[] = {"ground_offensive", "armed_presence",
                                       NULL};
  static const char *const flight[] = {"military_flight", NULL};
  switch (k) {
  case HV_OP_AIR_STRIKE:
    return strike;
  case HV_OP_ARTILLERY:
    return shell;
  case HV_OP_GROUND_MOVE:
    return ground;
  default:
    return flight;
  }
}

static void copy_str(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src ? src : "");
}

/* ---- BLIND / MOVEMENT -----------------------------------------------------
 * Blind disclosure and movements (haven/object.h): the fields they use. */

static int obj_blind(const struct hv_object *o) {
  return o->kind == HV_SITE       ? o->u.site.blind
         : o->kind == HV_MOVEMENT ? o->u.movement.blind
                                  : 0;
}

/* ---- the operation -------------------------------------------------------
 */

void hv_operation_clear(struct hv_db *db, struct hv_operation *op) {
  if (op == NULL)
    return;
  if (op->geom)
    hv_geo_geom_free(hv_db_geo(db), op->geom);
  memset(op, 0, sizeof *op);
}

static int read_time(const json_t *doc, const char *key, int64_t *out,
                     struct hv_error *err) {
  const json_t *v = json_object_get(doc, key);
  if (v == NULL)
    return hv_error_set(err, HV_ESCHEMA, "%s: missing (an RFC 3339 time)", key);
  if (!json_is_string(v) || hv_time_parse(json_string_value(v), out) != HV_OK)
    return hv_error_set(err, HV_ESCHEMA, "%s: not an RFC 3339 time", key);
  return HV_OK;
}

int hv_operation_from_json(struct hv_db *db, const json_t *doc,
                           struct hv_operation *op, struct hv_error *err) {
  memset(op, 0, sizeof *op);
  if (!json_is_object(doc))
    return hv_error_set(err, HV_ESCHEMA, "operation: must be a JSON object");
  static const char *const members[] = {
      "kind", "geometry", "effect_radius_m", "from", "to", "target", NULL};
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)doc, key, v) {
    size_t i = 0;
    while (members[i] && strcmp(members[i], key) != 0)
      i++;
    if (members[i] == NULL)
      return hv_error_set(err, HV_ESCHEMA,
                          "%s: unknown member (kind, geometry, "
                          "effect_radius_m, from, to, target)",
                          key);
  }
  v = json_object_get(doc, "kind");
  if (v == NULL || hv_op_kind_parse(json_string_value(v), &op->kind) != HV_OK)
    return hv_error_set(err, HV_ESCHEMA,
                        "kind: %s; must be one of air_strike, artillery, "
                        "ground_move, flight",
                        v ? "unknown" : "missing");
  v = json_object_get(doc, "effect_radius_m");
  if (v == NULL || !json_is_number(v) || !(json_number_value(v) >= 0) ||
      json_number_value(v) > HV_CHECK_MAX_RADIUS_M)
    return hv_error_set(err, HV_ESCHEMA,
                        "effect_radius_m: %s; must be a number >= 0 and "
                        "<= %.0f",
                        v ? "out of range" : "missing", HV_CHECK_MAX_RADIUS_M);
  op->effect_radius_m = json_number_value(v);
  int rc;
  if ((rc = read_time(doc, "from", &op->from_ms, err)) != HV_OK ||
      (rc = read_time(doc, "to", &op->to_ms, err)) != HV_OK)
    return rc;
  if (op->to_ms <= op->from_ms)
    return hv_error_set(err, HV_ESCHEMA, "to: must be after from");
  v = json_object_get(doc, "target");
  if (v && !json_is_null(v)) {
    if (!json_is_string(v) || !hv__id_valid(json_string_value(v)))
      return hv_error_set(err, HV_ESCHEMA,
                          "target: must be a party id (1-64 of "
                          "a-z A-Z 0-9 _ . : -)");
    copy_str(op->target, sizeof op->target, json_string_value(v));
  }
  v = json_object_get(doc, "geometry");
  if (v == NULL)
    return hv_error_set(err, HV_ESCHEMA,
                        "geometry: missing (a GeoJSON Point, Polygon, "
                        "MultiPolygon or LineString)");
  const char *type = json_string_value(json_object_get(v, "type"));
  if (type && strcmp(type, "Point") != 0 && strcmp(type, "Polygon") != 0 &&
      strcmp(type, "MultiPolygon") != 0 && strcmp(type, "LineString") != 0)
    return hv_error_set(err, HV_ESCHEMA,
                        "geometry.type: \"%s\" is not an operation's shape "
                        "(Point, Polygon, MultiPolygon, LineString)",
                        type);
  rc = hv_geo_from_geojson(hv_db_geo(db), v, &op->geom, err);
  if (rc != HV_OK) {
    op->geom = NULL;
    return rc;
  }
  return HV_OK;
}

json_t *hv_operation_json(struct hv_db *db, const struct hv_operation *op) {
  json_t *g = NULL;
  if (op->geom == NULL || hv_geo_to_geojson(hv_db_geo(db), op->geom, &g))
    return NULL;
  char f[32], t[32];
  json_t *j =
      json_pack("{s:s,s:o,s:f,s:s,s:s}", "kind", hv_op_kind_name(op->kind),
                "geometry", g, "effect_radius_m", op->effect_radius_m, "from",
                hv_time_format(op->from_ms, f, sizeof f), "to",
                hv_time_format(op->to_ms, t, sizeof t));
  if (j && op->target[0] &&
      json_object_set_new(j, "target", json_string(op->target))) {
    json_decref(j);
    return NULL;
  }
  if (j && op->author &&
      json_object_set_new(j, "author", json_string(op->author))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* ---- the verdict ----------------------------------------------------------
 */

static void reason_clear(struct hv_reason *r) {
  for (size_t i = 0; i < r->n_list; i++)
    free(r->list[i]);
  free(r->list);
  r->list = NULL;
  r->n_list = 0;
}

void hv_verdict_free(struct hv_verdict *v) {
  if (v == NULL)
    return;
  for (size_t i = 0; i < v->n_reasons; i++)
    reason_clear(&v->reasons[i]);
  free(v->reasons);
  free(v->objects);
  json_decref(v->request);
  free(v);
}

/* A new zeroed reason at the end of v, or NULL when out of memory. */
static struct hv_reason *reason_add(struct hv_verdict *v,
                                    enum hv_reason_kind kind,
                                    enum hv_verdict_kind effect,
                                    const struct hv_object *o) {
  struct hv_reason *r =
      hv__grow(v->reasons, &v->cap_reasons, v->n_reasons + 1, sizeof *r);
  if (r == NULL)
    return NULL;
  v->reasons = r;
  r = &v->reasons[v->n_reasons++];
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->effect = effect;
  if (effect > v->verdict)
    v->verdict = effect;
  if (o) {
    r->obj_kind = o->kind;
    copy_str(r->id, sizeof r->id, o->id);
    r->version = o->version;
  }
  return r;
}

static int list_add(struct hv_reason *r, const char *s) {
  for (size_t i = 0; i < r->n_list; i++)
    if (strcmp(r->list[i], s) == 0)
      return HV_OK;
  char **l = realloc(r->list, (r->n_list + 1) * sizeof *l);
  if (l == NULL)
    return HV_ENOMEM;
  r->list = l;
  if ((l[r->n_list] = strdup(s)) == NULL)
    return HV_ENOMEM;
  r->n_list++;
  return HV_OK;
}

/* Notes that the verdict was checked against o (once). */
static int consulted(struct hv_verdict *v, const struct hv_object *o) {
  for (size_t i = 0; i < v->n_objects; i++)
    if (v->objects[i].kind == o->kind && strcmp(v->objects[i].id, o->id) == 0)
      return HV_OK;
  struct hv_receipt_obj *x =
      hv__grow(v->objects, &v->cap_objects, v->n_objects + 1, sizeof *x);
  if (x == NULL)
    return HV_ENOMEM;
  v->objects = x;
  x = &v->objects[v->n_objects++];
  x->kind = o->kind;
  copy_str(x->id, sizeof x->id, o->id);
  x->version = o->version;
  return HV_OK;
}

static int obj_cmp(const void *a, const void *b) {
  const struct hv_receipt_obj *x = a, *y = b;
  if (x->kind != y->kind)
    return (int)x->kind - (int)y->kind;
  return strcmp(x->id, y->id);
}

/* ---- the site index --------------------------------------------------------
 */

struct site_e {
  const struct hv_object *o;
  double lon, lat, radius_m;
  int64_t version;
};

struct hv_checker {
  struct hv_db *db;
  int built;
  int64_t seq;      /* the db head the index was last found valid at */
  uint64_t gen[3];  /* generations of sites, movements, zones it was built at */
  struct site_e *s; /* the site table, in its order */
  size_t n;
  uint32_t *items;      /* site indexes grouped by cell */
  uint32_t *cell_start; /* cols * rows + 1 */
  double x0, y0, cell;
  unsigned cols, rows;
  double max_radius_m;
  char digest[65]; /* of the sites' (id, version), docs/checks.md */
  /* The movement table as of seq (a few thousand at most: scanned whole,
   * by envelope first), and its digest. */
  const struct hv_object **mv;
  int64_t *mv_ver;
  size_t n_mv;
  char mv_digest[65];
  /* The zone table's envelopes, contiguous: the scan of every zone's
   * envelope reads 32 bytes per zone instead of a cache miss per object. */
  struct zone_e {
    double minx, miny, maxx, maxy;
  } * ze;
  const struct hv_object **zo;
  int64_t *zv;
  size_t n_z;
};

int hv_checker_new(struct hv_db *db, struct hv_checker **out) {
  if (out == NULL)
    return HV_EINVAL;
  *out = NULL;
  if (db == NULL)
    return HV_EINVAL;
  struct hv_checker *c = calloc(1, sizeof *c);
  if (c == NULL)
    return HV_ENOMEM;
  c->db = db;
  *out = c;
  return HV_OK;
}

static void index_clear(struct hv_checker *c) {
  free(c->s);
  free(c->items);
  free(c->cell_start);
  c->s = NULL;
  c->items = c->cell_start = NULL;
  c->n = 0;
  c->built = 0;
  free(c->mv);
  free(c->mv_ver);
  free(c->ze);
  free(c->zo);
  free(c->zv);
  c->ze = NULL;
  c->zo = NULL;
  c->zv = NULL;
  c->n_z = 0;
  c->mv = NULL;
  c->mv_ver = NULL;
  c->n_mv = 0;
}

void hv_checker_free(struct hv_checker *c) {
  if (c == NULL)
    return;
  index_clear(c);
  free(c);
}

/* The BLAKE2b-256 hex of "id version\n" for every object of kind in db, in
 * id (table) order. */
static void kind_digest(const struct hv_db *db, enum hv_kind kind,
                        char out[65]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, HV_HASH_BYTES);
  size_t n = hv_db_count(db, kind);
  for (size_t i = 0; i < n; i++) {
    const struct hv_object *o = hv_db_at(db, kind, i);
    char line[HV_ID_MAX + 32];
    int len =
        snprintf(line, sizeof line, "%s %lld\n", o->id, (long long)o->version);
    crypto_generichash_update(&st, (const unsigned char *)line, (size_t)len);
  }
  uint8_t h[HV_HASH_BYTES];
  crypto_generichash_final(&st, h, sizeof h);
  hv_hash_hex(h, out);
}

static unsigned cell_x(const struct hv_checker *c, double lon) {
  double f = floor((lon - c->x0) / c->cell);
  return f < 0 ? 0 : f >= c->cols ? c->cols - 1 : (unsigned)f;
}
static unsigned cell_y(const struct hv_checker *c, double lat) {
  double f = floor((lat - c->y0) / c->cell);
  return f < 0 ? 0 : f >= c->rows ? c->rows - 1 : (unsigned)f;
}

/* Builds the grid over the site table: cells of about two sites each. */
static int index_build(struct hv_checker *c) {
  index_clear(c);
  size_t n = hv_db_count(c->db, HV_SITE);
  c->s = calloc(n ? n : 1, sizeof *c->s);
  if (c->s == NULL)
    return HV_ENOMEM;
  double x0 = 180, y0 = 90, x1 = -180, y1 = -90;
  c->max_radius_m = 0;
  for (size_t i = 0; i < n; i++) {
    const struct hv_object *o = hv_db_at(c->db, HV_SITE, i);
    c->s[i] = (struct site_e){o, o->u.site.lon, o->u.site.lat,
                              o->u.site.radius_m, o->version};
    x0 = fmin(x0, o->u.site.lon);
    x1 = fmax(x1, o->u.site.lon);
    y0 = fmin(y0, o->u.site.lat);
    y1 = fmax(y1, o->u.site.lat);
    c->max_radius_m = fmax(c->max_radius_m, o->u.site.radius_m);
  }
  c->n = n;
  if (n == 0) {
    x0 = y0 = 0;
    x1 = y1 = 1;
  }
  double w = fmax(x1 - x0, 1e-6), h = fmax(y1 - y0, 1e-6);
  double cell = sqrt(w * h * 2.0 / (double)(n ? n : 1));
  cell = fmax(cell, fmax(w, h) / 2048.0);
  cell = fmin(fmax(cell, 1e-4), 10.0);
  c->x0 = x0;
  c->y0 = y0;
  c->cell = cell;
  c->cols = (unsigned)(w / cell) + 1;
  c->rows = (unsigned)(h / cell) + 1;
  size_t ncells = (size_t)c->cols * c->rows;
  c->cell_start = calloc(ncells + 1, sizeof *c->cell_start);
  c->items = malloc((n ? n : 1) * sizeof *c->items);
  if (c->cell_start == NULL || c->items == NULL) {
    index_clear(c);
    return HV_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    c->cell_start[(size_t)cell_y(c, c->s[i].lat) * c->cols +
                  cell_x(c, c->s[i].lon) + 1]++;
  for (size_t k = 0; k < ncells; k++)
    c->cell_start[k + 1] += c->cell_start[k];
  uint32_t *fill = calloc(ncells ? ncells : 1, sizeof *fill);
  if (fill == NULL) {
    index_clear(c);
    return HV_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    size_t k =
        (size_t)cell_y(c, c->s[i].lat) * c->cols + cell_x(c, c->s[i].lon);
    c->items[c->cell_start[k] + fill[k]++] = (uint32_t)i;
  }
  free(fill);
  kind_digest(c->db, HV_SITE, c->digest);
  size_t nm = hv_db_count(c->db, HV_MOVEMENT);
  c->mv = malloc((nm ? nm : 1) * sizeof *c->mv);
  c->mv_ver = malloc((nm ? nm : 1) * sizeof *c->mv_ver);
  if (c->mv == NULL || c->mv_ver == NULL) {
    index_clear(c);
    return HV_ENOMEM;
  }
  for (size_t i = 0; i < nm; i++) {
    c->mv[i] = hv_db_at(c->db, HV_MOVEMENT, i);
    c->mv_ver[i] = c->mv[i]->version;
  }
  c->n_mv = nm;
  kind_digest(c->db, HV_MOVEMENT, c->mv_digest);
  size_t nz = hv_db_count(c->db, HV_ZONE);
  c->ze = malloc((nz ? nz : 1) * sizeof *c->ze);
  c->zo = malloc((nz ? nz : 1) * sizeof *c->zo);
  c->zv = malloc((nz ? nz : 1) * sizeof *c->zv);
  if (c->ze == NULL || c->zo == NULL || c->zv == NULL) {
    index_clear(c);
    return HV_ENOMEM;
  }
  for (size_t i = 0; i < nz; i++) {
    const struct hv_object *z = hv_db_at(c->db, HV_ZONE, i);
    c->zo[i] = z;
    c->zv[i] = z->version;
    c->ze[i] = (struct zone_e){z->minx, z->miny, z->maxx, z->maxy};
  }
  c->n_z = nz;
  c->built = 1;
  return HV_OK;
}

/* Makes the index describe the db's site table (the invariant above). */
static int index_fresh(struct hv_checker *c) {
  int64_t seq = hv_db_head_seq(c->db);
  if (c->built && seq == c->seq)
    return HV_OK;
  /* The head moved; the tables did not if their generations did not (a
   * recorded check, finding or acknowledgement moves only the head). */
  uint64_t gen[3] = {hv_db_generation(c->db, HV_SITE),
                     hv_db_generation(c->db, HV_MOVEMENT),
                     hv_db_generation(c->db, HV_ZONE)};
  if (c->built && memcmp(gen, c->gen, sizeof gen) == 0) {
    c->seq = seq;
    return HV_OK;
  }
  int same = c->built && hv_db_count(c->db, HV_SITE) == c->n;
  for (size_t i = 0; same && i < c->n; i++) {
    const struct hv_object *o = hv_db_at(c->db, HV_SITE, i);
    const struct site_e *e = &c->s[i];
    same = o == e->o && o->version == e->version && o->u.site.lon == e->lon &&
           o->u.site.lat == e->lat && o->u.site.radius_m == e->radius_m;
  }
  same = same && hv_db_count(c->db, HV_MOVEMENT) == c->n_mv;
  for (size_t i = 0; same && i < c->n_mv; i++) {
    const struct hv_object *o = hv_db_at(c->db, HV_MOVEMENT, i);
    same = o == c->mv[i] && o->version == c->mv_ver[i];
  }
  same = same && hv_db_count(c->db, HV_ZONE) == c->n_z;
  for (size_t i = 0; same && i < c->n_z; i++) {
    const struct hv_object *o = hv_db_at(c->db, HV_ZONE, i);
    same = o == c->zo[i] && o->version == c->zv[i];
  }
  if (!same) {
    int rc = index_build(c);
    if (rc != HV_OK)
      return rc;
  }
  c->seq = seq;
  memcpy(c->gen, gen, sizeof gen);
  return HV_OK;
}

/* ---- geometry of the operation -------------------------------------------
 */

struct opctx {
  struct hv_checker *chk;
  struct hv_db *db;
  struct hv_geo *geo;
  GEOSContextHandle_t gh;
  const struct hv_operation *op;
  struct hv_verdict *v;
  int point;                        /* a Point: distances point to point */
  double plon, plat;                /* the point, or the centroid */
  double r;                         /* effect radius */
  const GEOSPreparedGeometry *prep; /* of op->geom */
  double coslat;       /* the local frame: x = lon * coslat, y = lat */
  GEOSGeometry *sgeom; /* op->geom in the local frame */
  double minx, miny, maxx, maxy;  /* envelope of op->geom */
  double qx0, qy0, qx1, qy1;      /* the envelope grown by the effect radius */
  const struct hv_object **zones; /* zones touched, in force in the window */
  size_t n_zones;
};

/* Half sides in degrees of a box around the envelope holding every point
 * within d metres of it (as hv_db_within). */
static void deg_margin(double maxabslat, double d, double *dlon, double *dlat) {
  *dlat = d / 110000.0 + 1e-6;
  double maxlat = fmin(89.9, maxabslat + *dlat);
  *dlon = fmin(360, d / (111000.0 * cos(maxlat * RAD)) + 1e-6);
}

/* A lower bound of the geodesic distance (m) of a planar distance dd in
 * degrees near latitudes up to maxabslat. */
static double lower_bound_m(double dd, double maxabslat) {
  double maxlat = fmin(89.9, maxabslat + dd);
  return dd * 110000.0 * cos(maxlat * RAD) * 0.99;
}

/* Distances between an object and the operation (docs/checks.md): 0 when
 * they intersect; otherwise the geodesic length (geod_inverse) between
 * their nearest points, found by GEOS in a local equirectangular frame
 * around the operation (x = lon * cos(lat0), y = lat), where a degree
 * east and a degree north measure about the same. No projection object
 * is made per distance, so a distance costs microseconds. */
static int scale_x(double *x, double *y, void *ud) {
  (void)y;
  *x *= *(const double *)ud;
  return 1;
}

/* g (borrowed) in the local frame; caller frees. NULL on failure. */
static GEOSGeometry *local(struct opctx *x, const GEOSGeometry *g) {
  return GEOSGeom_transformXY_r(x->gh, g, scale_x, &x->coslat);
}

/* Geodesic length between the nearest points of a and b, both in the
 * local frame. */
static int near_m(struct opctx *x, const GEOSGeometry *a, const GEOSGeometry *b,
                  double *out) {
  GEOSCoordSequence *np = GEOSNearestPoints_r(x->gh, a, b);
  double ax = 0, ay = 0, bx = 0, by = 0;
  int ok = np && GEOSCoordSeq_getXY_r(x->gh, np, 0, &ax, &ay) &&
           GEOSCoordSeq_getXY_r(x->gh, np, 1, &bx, &by);
  if (np)
    GEOSCoordSeq_destroy_r(x->gh, np);
  if (!ok)
    return HV_EGEOMETRY;
  *out = hv_geo_distance_m(ax / x->coslat, ay, bx / x->coslat, by);
  return HV_OK;
}

/* The distance from object geometry g (borrowed, lon/lat, with its
 * prepared form pg) to the operation, or INFINITY when it surely exceeds
 * limit (m). */
static int obj_distance(struct opctx *x, const GEOSGeometry *g,
                        const GEOSPreparedGeometry *pg, double maxabslat,
                        double limit, double *out) {
  *out = INFINITY;
  char in = GEOSPreparedIntersects_r(x->gh, pg, x->op->geom);
  if (in == 2)
    return HV_EGEOMETRY;
  if (in == 1) {
    *out = 0;
    return HV_OK;
  }
  double dd = 0;
  if (!GEOSPreparedDistance_r(x->gh, pg, x->op->geom, &dd))
    return HV_EGEOMETRY;
  if (lower_bound_m(dd, maxabslat) > limit)
    return HV_OK;
  GEOSGeometry *sg = local(x, g);
  if (sg == NULL)
    return HV_ENOMEM;
  int rc = near_m(x, sg, x->sgeom, out);
  GEOSGeom_destroy_r(x->gh, sg);
  return rc;
}

/* Geodesic distance from (lon, lat) to the operation's geometry, or a
 * value > limit when it surely exceeds limit (m). */
static int op_distance(struct opctx *x, double lon, double lat, double limit,
                       double *out) {
  if (x->point) {
    *out = hv_geo_distance_m(x->plon, x->plat, lon, lat);
    return HV_OK;
  }
  GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(x->gh, lon, lat);
  if (pt == NULL)
    return HV_ENOMEM;
  char in = GEOSPreparedIntersects_r(x->gh, x->prep, pt);
  double dd = 0;
  int ok = in == 0 ? GEOSPreparedDistance_r(x->gh, x->prep, pt, &dd) : 1;
  GEOSGeom_destroy_r(x->gh, pt);
  if (in == 2 || !ok)
    return HV_EGEOMETRY;
  if (in == 1) {
    *out = 0;
    return HV_OK;
  }
  double maxabslat = fmax(fabs(x->miny), fabs(x->maxy));
  maxabslat = fmax(maxabslat, fabs(lat));
  if (lower_bound_m(dd, maxabslat) > limit) {
    *out = INFINITY;
    return HV_OK;
  }
  GEOSGeometry *sp = GEOSGeom_createPointFromXY_r(x->gh, lon * x->coslat, lat);
  if (sp == NULL)
    return HV_ENOMEM;
  int rc = near_m(x, x->sgeom, sp, out);
  GEOSGeom_destroy_r(x->gh, sp);
  return rc;
}

/* ---- the reasons ---------------------------------------------------------
 */

struct site_hit {
  const struct site_e *e;
  double d;
};

static int hit_cmp(const void *a, const void *b) {
  const struct site_hit *x = a, *y = b;
  if (x->d != y->d)
    return x->d < y->d ? -1 : 1;
  return strcmp(x->e->o->id, y->e->o->id);
}

/* Protected sites within reach: distance to the operation <= effect
 * radius + the site's radius. Withdrawn sites stay protected. */
static int check_sites(struct opctx *x) {
  struct hv_checker *c = x->chk;
  double reach = x->r + c->max_radius_m;
  double maxabslat = fmax(fabs(x->miny), fabs(x->maxy));
  double dlon, dlat;
  deg_margin(maxabslat, reach, &dlon, &dlat);
  double qx0 = x->minx - dlon, qx1 = x->maxx + dlon, qy0 = x->miny - dlat,
         qy1 = x->maxy + dlat;
  struct site_hit *hits = NULL;
  size_t nh = 0, caph = 0;
  int rc = HV_OK;
  if (c->n == 0 || qx1 < c->x0 || qy1 < c->y0 ||
      qx0 > c->x0 + c->cols * c->cell || qy0 > c->y0 + c->rows * c->cell)
    return HV_OK;
  unsigned cx0 = cell_x(c, qx0), cx1 = cell_x(c, qx1), cy0 = cell_y(c, qy0),
           cy1 = cell_y(c, qy1);
  for (unsigned cy = cy0; cy <= cy1 && rc == HV_OK; cy++)
    for (unsigned cx = cx0; cx <= cx1 && rc == HV_OK; cx++) {
      size_t k = (size_t)cy * c->cols + cx;
      for (uint32_t j = c->cell_start[k]; j < c->cell_start[k + 1]; j++) {
        const struct site_e *e = &c->s[c->items[j]];
        if (e->lon < qx0 || e->lon > qx1 || e->lat < qy0 || e->lat > qy1)
          continue;
        double lim = x->r + e->radius_m, d;
        if ((rc = op_distance(x, e->lon, e->lat, lim, &d)) != HV_OK)
          break;
        if (!(d <= lim))
          continue;
        struct site_hit *g = hv__grow(hits, &caph, nh + 1, sizeof *g);
        if (g == NULL) {
          rc = HV_ENOMEM;
          break;
        }
        hits = g;
        hits[nh++] = (struct site_hit){e, d};
      }
    }
  if (rc == HV_OK && nh)
    qsort(hits, nh, sizeof *hits, hit_cmp);
  for (size_t i = 0; i < nh && rc == HV_OK; i++) {
    const struct hv_object *o = hits[i].e->o;
    struct hv_reason *r =
        reason_add(x->v, HV_REASON_SITE, HV_VERDICT_CONFLICT, o);
    if (r == NULL) {
      rc = HV_ENOMEM;
      break;
    }
    r->blind = obj_blind(o);
    copy_str(r->category, sizeof r->category, o->u.site.category);
    copy_str(r->notified_by, sizeof r->notified_by, o->u.site.notified_by);
    r->distance_m = hits[i].d;
    r->radius_m = o->u.site.radius_m;
  }
  free(hits);
  return rc;
}

/* Movements whose route — its LineString, or its corridor's line —
 * buffered by its half-width comes within the effect radius of the
 * operation while both windows overlap. Withdrawn movements are ignored
 * (a called-off convoy is not on the road); a corridor that does not exist
 * (any more) gives no route. */
static int check_movements(struct opctx *x) {
  struct hv_checker *c = x->chk;
  const struct hv_operation *op = x->op;
  int rc = HV_OK;
  for (size_t i = 0; i < c->n_mv && rc == HV_OK; i++) {
    const struct hv_object *o = c->mv[i];
    if (o->u.movement.withdrawn_ms != 0 || o->from_ms >= op->to_ms ||
        op->from_ms >= o->to_ms)
      continue;
    const struct hv_object *route = o, *cor = NULL;
    double hw = o->u.movement.half_width_m;
    if (o->geom == NULL) {
      cor = o->u.movement.corridor
                ? hv_db_get(x->db, HV_CORRIDOR, o->u.movement.corridor)
                : NULL;
      if (cor == NULL || cor->geom == NULL)
        continue;
      route = cor;
      if (!(hw > 0))
        hw = cor->u.corridor.half_width_m;
    }
    double lim = x->r + hw, dlon, dlat;
    double maxabslat = fmax(fmax(fabs(x->miny), fabs(x->maxy)),
                            fmax(fabs(route->miny), fabs(route->maxy)));
    deg_margin(maxabslat, lim, &dlon, &dlat);
    if (route->maxx < x->minx - dlon || route->minx > x->maxx + dlon ||
        route->maxy < x->miny - dlat || route->miny > x->maxy + dlat)
      continue;
    double d = INFINITY;
    if ((rc = obj_distance(x, route->geom, route->prepared, maxabslat, lim,
                           &d)) != HV_OK)
      break;
    if (!(d <= lim))
      continue;
    struct hv_reason *r =
        reason_add(x->v, HV_REASON_MOVEMENT, HV_VERDICT_CONFLICT, o);
    if (r == NULL)
      return HV_ENOMEM;
    r->blind = obj_blind(o);
    copy_str(r->category, sizeof r->category, o->u.movement.kind);
    copy_str(r->notified_by, sizeof r->notified_by, o->u.movement.notified_by);
    r->distance_m = d;
    r->radius_m = hw;
  }
  return rc;
}

/* Whether agreement a's validity overlaps the window. */
static int ag_overlaps(const struct hv_object *a,
                       const struct hv_operation *op) {
  return a->from_ms < op->to_ms && op->from_ms < a->to_ms;
}

/* The first term of a that the operation's kind falls under, or NULL. */
static const char *ag_term(const struct hv_object *a, enum hv_op_kind k) {
  for (const char *const *t = op_terms(k); *t; t++)
    if (hv_ids_contain(a->u.agreement.terms, *t))
      return *t;
  return NULL;
}

/* Whether, at some instant of the window, zone z (when non-NULL) and
 * agreement a (when non-NULL) are both in force. Both are piecewise
 * constant in time, changing only at their breakpoints, so it is enough to
 * test the window's start and every breakpoint inside it. */
static int in_force_within(const struct hv_object *z, const struct hv_object *a,
                           const struct hv_operation *op) {
  int64_t f = op->from_ms, t = op->to_ms;
  int64_t cand[4] = {f, z ? z->from_ms : f, a ? a->from_ms : f, f};
  size_t nh = z ? z->u.zone.n_history : 0;
  for (size_t i = 0; i < 3 + nh; i++) {
    int64_t u = i < 3 ? cand[i] : z->u.zone.history[i - 3].at_ms;
    if (u < f || u >= t)
      continue;
    if ((z == NULL || hv_zone_in_force(z, u)) &&
        (a == NULL || hv_agreement_in_force(a, u)))
      return 1;
  }
  return 0;
}

/* Whether the operation's reach touches zone z. */
static int zone_touched(struct opctx *x, const struct hv_object *z, int *out) {
  *out = 0;
  double maxabslat = fmax(fabs(x->qy0), fabs(x->qy1));
  if (x->point) {
    int in = hv_geo_covers_point(x->geo, z->prepared, x->plon, x->plat);
    if (in < 0)
      return in;
    if (in || x->r == 0) {
      *out = in;
      return HV_OK;
    }
  }
  double d;
  int rc = obj_distance(x, z->geom, z->prepared, maxabslat, x->r, &d);
  *out = rc == HV_OK && d <= x->r;
  return rc;
}

/* Zones the operation touches that are in force in its window: where an
 * agreement in force forbids its kind to its author (zone_forbidden), and
 * whose guarantors must be told (notify_guarantors). */
static int check_zones(struct opctx *x) {
  struct hv_db *db = x->db;
  const struct hv_operation *op = x->op;
  const struct hv_checker *c = x->chk;
  size_t na = hv_db_count(db, HV_AGREEMENT);
  int rc = HV_OK;
  for (size_t i = 0; i < c->n_z && rc == HV_OK; i++) {
    const struct zone_e *e = &c->ze[i];
    if (e->maxx < x->qx0 || e->minx > x->qx1 || e->maxy < x->qy0 ||
        e->miny > x->qy1)
      continue;
    const struct hv_object *z = c->zo[i];
    int touched;
    if ((rc = zone_touched(x, z, &touched)) != HV_OK)
      break;
    if (!touched || !in_force_within(z, NULL, op))
      continue;
    const struct hv_object **zs =
        realloc(x->zones, (x->n_zones + 1) * sizeof *zs);
    if (zs == NULL || (rc = consulted(x->v, z)) != HV_OK) {
      rc = HV_ENOMEM;
      if (zs)
        x->zones = zs;
      break;
    }
    x->zones = zs;
    x->zones[x->n_zones++] = z;
    for (size_t k = 0; k < na && rc == HV_OK; k++) {
      const struct hv_object *a = hv_db_at(db, HV_AGREEMENT, k);
      const char *term = ag_term(a, op->kind);
      if (term == NULL || !ag_overlaps(a, op) ||
          !hv_agreement_applies_in(a, z->id) ||
          !hv_agreement_binds(db, a, op->author) || !in_force_within(z, a, op))
        continue;
      struct hv_reason *r =
          reason_add(x->v, HV_REASON_ZONE_FORBIDDEN, HV_VERDICT_FORBIDDEN, z);
      if (r == NULL) {
        rc = HV_ENOMEM;
        break;
      }
      copy_str(r->category, sizeof r->category, z->u.zone.kind);
      copy_str(r->agreement, sizeof r->agreement, a->id);
      copy_str(r->term, sizeof r->term, term);
    }
    hv_ids g = z->u.zone.guarantors;
    if (rc == HV_OK && g && g[0]) {
      struct hv_reason *r =
          reason_add(x->v, HV_REASON_NOTIFY_GUARANTORS, HV_VERDICT_CLEAR, z);
      if (r == NULL) {
        rc = HV_ENOMEM;
        break;
      }
      copy_str(r->category, sizeof r->category, z->u.zone.kind);
      for (size_t k = 0; g[k] && rc == HV_OK; k++)
        rc = list_add(r, g[k]);
    }
  }
  return rc;
}

/* Notes party id and its sponsors as consulted. */
static int consult_chain(struct opctx *x, const char *id) {
  const struct hv_object *p = hv_db_get(x->db, HV_PARTY, id);
  int rc = HV_OK;
  for (size_t n = 0; p && rc == HV_OK && n <= hv_db_count(x->db, HV_PARTY);
       n++) {
    rc = consulted(x->v, p);
    p = p->u.party.sponsor ? hv_db_get(x->db, HV_PARTY, p->u.party.sponsor)
                           : NULL;
  }
  return rc;
}

/* Whether agreement a applies where the operation is: nationwide, or one
 * of its scope's zones is touched. */
static int ag_applies_here(const struct opctx *x, const struct hv_object *a) {
  if (a->u.agreement.nationwide)
    return 1;
  for (size_t i = 0; i < x->n_zones; i++)
    if (hv_ids_contain(a->u.agreement.scope, x->zones[i]->id))
      return 1;
  return 0;
}

/* The target's standing; a strike (air_strike, artillery) on a party an
 * agreement in force covers is forbidden to the parties that agreement
 * binds and to its guarantors, where it applies. */
static int check_target(struct opctx *x) {
  const struct hv_operation *op = x->op;
  if (op->target[0] == '\0')
    return HV_OK;
  struct hv_db *db = x->db;
  const struct hv_object *p = hv_db_get(db, HV_PARTY, op->target);
  struct hv_reason tmp = {0};
  tmp.standing = p ? HV_STANDING_NOT_COVERED : HV_STANDING_UNKNOWN;
  int rc = HV_OK;
  const struct hv_object *forb = NULL;
  const char *forb_term = NULL;
  int excluded = 0;
  size_t na = hv_db_count(db, HV_AGREEMENT);
  for (size_t k = 0; p && k < na && rc == HV_OK; k++) {
    const struct hv_object *a = hv_db_at(db, HV_AGREEMENT, k);
    if (!ag_overlaps(a, op))
      continue;
    enum hv_coverage cov = hv_db_coverage(db, a, op->target);
    if (cov == HV_COVER_EXCLUDED) {
      excluded = 1;
      continue;
    }
    if (cov != HV_COVER_DIRECT && cov != HV_COVER_SPONSOR)
      continue;
    tmp.standing = HV_STANDING_COVERED;
    rc = list_add(&tmp, a->id);
    const char *term =
        (op->kind == HV_OP_AIR_STRIKE || op->kind == HV_OP_ARTILLERY)
            ? ag_term(a, op->kind)
            : NULL;
    if (forb == NULL && term && ag_applies_here(x, a) &&
        (hv_agreement_binds(db, a, op->author) ||
         hv_ids_contain(a->u.agreement.guarantors, op->author))) {
      forb = a;
      forb_term = term;
    }
  }
  if (rc == HV_OK && excluded && tmp.standing != HV_STANDING_COVERED)
    tmp.standing = HV_STANDING_EXCLUDED;
  /* The excluded standing lists the agreements that exclude it. */
  for (size_t k = 0;
       rc == HV_OK && tmp.standing == HV_STANDING_EXCLUDED && k < na; k++) {
    const struct hv_object *a = hv_db_at(db, HV_AGREEMENT, k);
    if (ag_overlaps(a, op) &&
        hv_db_coverage(db, a, op->target) == HV_COVER_EXCLUDED)
      rc = list_add(&tmp, a->id);
  }
  struct hv_reason *r =
      rc == HV_OK
          ? reason_add(x->v, HV_REASON_TARGET,
                       forb ? HV_VERDICT_FORBIDDEN : HV_VERDICT_CLEAR, p)
          : NULL;
  if (r == NULL) {
    reason_clear(&tmp);
    return rc == HV_OK ? HV_ENOMEM : rc;
  }
  r->obj_kind = HV_PARTY;
  copy_str(r->party, sizeof r->party, op->target);
  r->standing = tmp.standing;
  r->list = tmp.list;
  r->n_list = tmp.n_list;
  if (forb) {
    copy_str(r->agreement, sizeof r->agreement, forb->id);
    copy_str(r->term, sizeof r->term, forb_term);
  }
  return p ? consult_chain(x, op->target) : HV_OK;
}

/* The delineations valid in the window whose area holds the operation's
 * point (or its geometry's centroid). */
static int check_delineations(struct opctx *x) {
  size_t n = hv_db_count(x->db, HV_DELINEATION);
  int rc = HV_OK;
  for (size_t i = 0; i < n && rc == HV_OK; i++) {
    const struct hv_object *d = hv_db_at(x->db, HV_DELINEATION, i);
    if (x->plon < d->minx || x->plon > d->maxx || x->plat < d->miny ||
        x->plat > d->maxy || !ag_overlaps(d, x->op))
      continue;
    int in = hv_geo_covers_point(x->geo, d->prepared, x->plon, x->plat);
    if (in < 0)
      return in;
    if (!in)
      continue;
    struct hv_reason *r =
        reason_add(x->v, HV_REASON_DELINEATION, HV_VERDICT_CLEAR, d);
    if (r == NULL)
      return HV_ENOMEM;
    copy_str(r->party, sizeof r->party, d->u.delineation.party);
    if ((rc = consulted(x->v, d)) == HV_OK)
      rc = consult_chain(x, d->u.delineation.party);
  }
  return rc;
}

struct hv_principal hv_check_principal(const struct hv_db *db,
                                       const char *party) {
  struct hv_principal who = {party, HV_ROLE_PARTY, NULL};
  if (party && strcmp(party, HV_COORDINATOR) == 0) {
    who.role = HV_ROLE_COORDINATOR;
    return who;
  }
  const struct hv_object *p = party ? hv_db_get(db, HV_PARTY, party) : NULL;
  if (p && strcmp(p->u.party.kind, "agency") == 0)
    who.role = HV_ROLE_AGENCY;
  else if (p && strcmp(p->u.party.kind, "monitor") == 0)
    who.role = HV_ROLE_MONITOR;
  return who;
}

/* Whether who may see the site or movement of reason r by id. */
static int reason_visible(const struct hv_principal *who,
                          const struct hv_db *db, const struct hv_reason *r) {
  if (r->blind)
    return 0;
  const struct hv_object *o = hv_db_get(db, r->obj_kind, r->id);
  if (o == NULL || o->version != r->version)
    return who->role == HV_ROLE_COORDINATOR;
  return hv_visibility(who, r->obj_kind, o->doc) == HV_VIS_FULL;
}

int hv_check(struct hv_checker *chk, const struct hv_operation *op,
             struct hv_verdict **out, struct hv_error *err) {
  *out = NULL;
  struct hv_db *db = chk->db;
  if (op == NULL || op->geom == NULL)
    return hv_error_set(err, HV_EINVAL, "geometry: missing");
  if ((unsigned)op->kind >= HV_OP_COUNT)
    return hv_error_set(err, HV_EINVAL, "kind: unknown");
  if (!(op->effect_radius_m >= 0) ||
      op->effect_radius_m > HV_CHECK_MAX_RADIUS_M)
    return hv_error_set(err, HV_EINVAL,
                        "effect_radius_m: must be a number >= 0 and <= %.0f",
                        HV_CHECK_MAX_RADIUS_M);
  if (op->to_ms <= op->from_ms)
    return hv_error_set(err, HV_EINVAL, "to: must be after from");
  if (op->author == NULL || (strcmp(op->author, HV_COORDINATOR) != 0 &&
                             hv_db_get(db, HV_PARTY, op->author) == NULL))
    return hv_error_set(err, HV_EREF, "author: no party \"%s\"",
                        op->author ? op->author : "");
  int rc = index_fresh(chk);
  if (rc != HV_OK)
    return rc;
  struct opctx x = {.chk = chk, .db = db, .geo = hv_db_geo(db), .op = op};
  x.gh = hv_geo_geos(x.geo);
  x.r = op->effect_radius_m;
  struct hv_verdict *v = calloc(1, sizeof *v);
  if (v == NULL)
    return HV_ENOMEM;
  x.v = v;
  v->at_seq = hv_db_head_seq(db);
  copy_str(v->author, sizeof v->author, op->author);
  if ((v->request = hv_operation_json(db, op)) == NULL) {
    rc = HV_ENOMEM;
    goto done;
  }
  int type = GEOSGeomTypeId_r(x.gh, op->geom);
  if (type != GEOS_POINT && type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON &&
      type != GEOS_LINESTRING) {
    rc = hv_error_set(err, HV_EINVAL,
                      "geometry: must be a Point, Polygon, MultiPolygon or "
                      "LineString");
    goto done;
  }
  if (GEOSGeom_getExtent_r(x.gh, op->geom, &x.minx, &x.miny, &x.maxx,
                           &x.maxy) == 0) {
    rc = HV_EGEOMETRY;
    goto done;
  }
  x.point = type == GEOS_POINT;
  {
    double dlon, dlat;
    deg_margin(fmax(fabs(x.miny), fabs(x.maxy)), x.r, &dlon, &dlat);
    x.qx0 = x.minx - dlon;
    x.qx1 = x.maxx + dlon;
    x.qy0 = x.miny - dlat;
    x.qy1 = x.maxy + dlat;
  }
  x.coslat = cos(fmin(89.9, fabs((x.miny + x.maxy) / 2)) * RAD);
  if ((x.sgeom = local(&x, op->geom)) == NULL) {
    rc = HV_ENOMEM;
    goto done;
  }
  if (x.point) {
    x.plon = x.minx;
    x.plat = x.miny;
  } else {
    GEOSGeometry *c = GEOSGetCentroid_r(x.gh, op->geom);
    if (c == NULL || GEOSGeomGetX_r(x.gh, c, &x.plon) != 1 ||
        GEOSGeomGetY_r(x.gh, c, &x.plat) != 1)
      rc = HV_EGEOMETRY;
    if (c)
      GEOSGeom_destroy_r(x.gh, c);
    if (rc == HV_OK && (x.prep = GEOSPrepare_r(x.gh, op->geom)) == NULL)
      rc = HV_EGEOMETRY;
    if (rc != HV_OK)
      goto done;
  }
  if ((rc = check_sites(&x)) != HV_OK || (rc = check_movements(&x)) != HV_OK ||
      (rc = check_zones(&x)) != HV_OK || (rc = check_target(&x)) != HV_OK ||
      (rc = check_delineations(&x)) != HV_OK ||
      (rc = consult_chain(&x, op->author)) != HV_OK)
    goto done;
  /* Agreements: every one whose validity overlaps the window was
   * evaluated. */
  for (size_t k = 0; k < hv_db_count(db, HV_AGREEMENT) && rc == HV_OK; k++) {
    const struct hv_object *a = hv_db_at(db, HV_AGREEMENT, k);
    if (ag_overlaps(a, op))
      rc = consulted(v, a);
  }
  /* Sites and movements within reach the author may see in full are
   * listed by id, with the corridor a movement follows; all of them enter
   * through the sets' digests. The corridor of a movement the author may
   * not see is not listed: it would name the movement's route. */
  struct hv_principal who = hv_check_principal(db, op->author);
  for (size_t i = 0; i < v->n_reasons && rc == HV_OK; i++) {
    const struct hv_reason *r = &v->reasons[i];
    if ((r->kind != HV_REASON_SITE && r->kind != HV_REASON_MOVEMENT) ||
        !reason_visible(&who, db, r))
      continue;
    const struct hv_object *o = hv_db_get(db, r->obj_kind, r->id);
    rc = consulted(v, o);
    if (rc == HV_OK && o && o->kind == HV_MOVEMENT && o->geom == NULL &&
        o->u.movement.corridor) {
      const struct hv_object *cor =
          hv_db_get(db, HV_CORRIDOR, o->u.movement.corridor);
      if (cor)
        rc = consulted(v, cor);
    }
  }
  if (rc != HV_OK)
    goto done;
  if (v->n_objects)
    qsort(v->objects, v->n_objects, sizeof *v->objects, obj_cmp);
  v->sets[0].kind = HV_SITE;
  v->sets[0].count = chk->n;
  memcpy(v->sets[0].digest, chk->digest, sizeof chk->digest);
  v->sets[1].kind = HV_MOVEMENT;
  v->sets[1].count = chk->n_mv;
  memcpy(v->sets[1].digest, chk->mv_digest, sizeof chk->mv_digest);
  v->n_sets = 2;
done:
  if (x.prep)
    GEOSPreparedGeom_destroy_r(x.gh, x.prep);
  if (x.sgeom)
    GEOSGeom_destroy_r(x.gh, x.sgeom);
  free(x.zones);
  if (rc != HV_OK) {
    hv_verdict_free(v);
    if (rc == HV_ENOMEM)
      hv_error_set(err, rc, "out of memory");
    else if (err && err->code != rc)
      hv_error_set(err, rc, "check: %s", hv_strerror(rc));
    return rc;
  }
  *out = v;
  return HV_OK;
}

/* ---- JSON ---------------------------------------------------------------
 */

static json_t *ids_json(char *const *l, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_string(l[i]))) {
      json_decref(a);
      return NULL;
    }
  return a;
}

static json_t *reason_json(const struct hv_principal *who,
                           const struct hv_db *db, const struct hv_reason *r) {
  json_t *j = json_pack("{s:s,s:s}", "reason", hv_reason_kind_name(r->kind),
                        "effect", hv_verdict_name(r->effect));
  if (j == NULL)
    return NULL;
  int bad = 0;
  switch (r->kind) {
  case HV_REASON_SITE:
  case HV_REASON_MOVEMENT:
    bad |= json_object_set_new(j, "category", json_string(r->category));
    if (reason_visible(who, db, r)) {
      bad |= json_object_set_new(
          j, r->kind == HV_REASON_SITE ? "site" : "movement",
          json_string(r->id));
      bad |= json_object_set_new(j, "version", json_integer(r->version));
      bad |= json_object_set_new(j, "distance_m",
                                 json_real(round(r->distance_m * 10) / 10));
      if (r->kind == HV_REASON_SITE)
        bad |= json_object_set_new(j, "radius_m", json_real(r->radius_m));
    } else {
      bad |= json_object_set_new(j, "distance_band",
                                 json_string(hv_check_band(r->distance_m)));
      bad |= json_object_set_new(j, "disclosure",
                                 json_string(r->blind ? "blind" : "withheld"));
    }
    break;
  case HV_REASON_ZONE_FORBIDDEN:
    bad |= json_object_set_new(j, "zone", json_string(r->id));
    bad |= json_object_set_new(j, "zone_kind", json_string(r->category));
    bad |= json_object_set_new(j, "version", json_integer(r->version));
    bad |= json_object_set_new(j, "agreement", json_string(r->agreement));
    bad |= json_object_set_new(j, "term", json_string(r->term));
    break;
  case HV_REASON_NOTIFY_GUARANTORS:
    bad |= json_object_set_new(j, "zone", json_string(r->id));
    bad |= json_object_set_new(j, "zone_kind", json_string(r->category));
    bad |= json_object_set_new(j, "guarantors", ids_json(r->list, r->n_list));
    break;
  case HV_REASON_TARGET:
    bad |= json_object_set_new(j, "target", json_string(r->party));
    bad |= json_object_set_new(j, "standing",
                               json_string(hv_standing_name(r->standing)));
    bad |= json_object_set_new(j, "agreements", ids_json(r->list, r->n_list));
    if (r->agreement[0]) {
      bad |= json_object_set_new(j, "agreement", json_string(r->agreement));
      bad |= json_object_set_new(j, "term", json_string(r->term));
    }
    break;
  case HV_REASON_DELINEATION:
    bad |= json_object_set_new(j, "delineation", json_string(r->id));
    bad |= json_object_set_new(j, "version", json_integer(r->version));
    bad |= json_object_set_new(j, "party", json_string(r->party));
    break;
  default:
    break;
  }
  if (bad) {
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *hv_verdict_answer_json(const struct hv_principal *who,
                               const struct hv_db *db,
                               const struct hv_verdict *v) {
  json_t *reasons = json_array();
  json_t *j =
      json_pack("{s:s,s:I,s:O,s:o}", "verdict", hv_verdict_name(v->verdict),
                "at_seq", (json_int_t)v->at_seq, "request",
                v->request ? v->request : json_null(), "reasons", reasons);
  if (j == NULL)
    return NULL;
  for (size_t i = 0; i < v->n_reasons; i++)
    if (json_array_append_new(reasons, reason_json(who, db, &v->reasons[i]))) {
      json_decref(j);
      return NULL;
    }
  return j;
}

/* The receipt without seq: what the ledger entry records. */
static json_t *receipt_body(const struct hv_verdict *v) {
  json_t *objs = json_array(), *sets = json_array();
  json_t *j =
      json_pack("{s:s,s:I,s:s,s:s,s:o,s:o}", "author", v->author, "at_seq",
                (json_int_t)v->at_seq, "request_hash", v->request_hash,
                "answer_hash", v->answer_hash, "objects", objs, "sets", sets);
  if (j == NULL)
    return NULL;
  int bad = 0;
  for (size_t i = 0; i < v->n_objects; i++)
    bad |= json_array_append_new(objs,
                                 json_pack("{s:s,s:s,s:I}", "kind",
                                           hv_kind_name(v->objects[i].kind),
                                           "id", v->objects[i].id, "version",
                                           (json_int_t)v->objects[i].version));
  for (size_t i = 0; i < v->n_sets; i++)
    bad |= json_array_append_new(
        sets, json_pack("{s:s,s:I,s:s}", "kind", hv_kind_name(v->sets[i].kind),
                        "count", (json_int_t)v->sets[i].count, "digest",
                        v->sets[i].digest));
  if (bad) {
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *hv_verdict_receipt_json(const struct hv_db *db,
                                const struct hv_verdict *v) {
  (void)db;
  if (v->seq <= 0)
    return NULL;
  json_t *j = receipt_body(v);
  if (j && json_object_set_new(j, "seq", json_integer(v->seq))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *hv_verdict_json(const struct hv_principal *who, const struct hv_db *db,
                        const struct hv_verdict *v) {
  json_t *a = hv_verdict_answer_json(who, db, v);
  json_t *r = v->seq > 0 ? hv_verdict_receipt_json(db, v) : json_null();
  if (a == NULL || r == NULL) {
    json_decref(a);
    json_decref(r);
    return NULL;
  }
  return json_pack("{s:o,s:o}", "answer", a, "receipt", r);
}

/* ---- the record ------------------------------------------------------------
 */

/* hex BLAKE2b-256 of the canonical text of doc into out; HV_ENOMEM. */
static int canon_hash(const json_t *doc, char out[65]) {
  char *text = doc ? hv__canon(doc) : NULL;
  if (text == NULL)
    return HV_ENOMEM;
  uint8_t h[HV_HASH_BYTES];
  hv_ledger_body_hash(text, h);
  hv_hash_hex(h, out);
  free(text);
  return HV_OK;
}

int hv_db_record_check(struct hv_db *db, const char *author,
                       const struct hv_operation *op, struct hv_verdict *v,
                       int64_t *seq, struct hv_error *err) {
  if (seq)
    *seq = 0;
  (void)op; /* the request is the verdict's own copy of op */
  if (author == NULL || strcmp(author, v->author) != 0)
    return hv_error_set(err, HV_EINVAL, "author: the check was made for \"%s\"",
                        v->author);
  if (v->seq > 0)
    return hv_error_set(err, HV_EINVAL, "check: already recorded at entry %lld",
                        (long long)v->seq);
  struct hv_principal who = hv_check_principal(db, author);
  json_t *answer = hv_verdict_answer_json(&who, db, v);
  int rc = HV_ENOMEM;
  json_t *body = NULL;
  char *text = NULL;
  if (answer == NULL || canon_hash(answer, v->answer_hash) != HV_OK ||
      canon_hash(v->request, v->request_hash) != HV_OK)
    goto done;
  json_t *receipt = receipt_body(v);
  if (receipt == NULL)
    goto done;
  body = json_pack("{s:O,s:O,s:o}", "request", v->request, "answer", answer,
                   "receipt", receipt);
  if (body == NULL || (text = hv__canon(body)) == NULL)
    goto done;
  struct hv__change c = {
      .op = "check", .record_kind = "check", .record_body = text};
  int64_t next = hv_db_head_seq(db) + 1;
  rc = hv__db_commit(db, author, &c, 1, err);
  if (rc == HV_OK) {
    v->seq = next;
    if (seq)
      *seq = next;
  }
done:
  if (rc == HV_ENOMEM)
    hv_error_set(err, rc, "out of memory");
  if (rc != HV_OK)
    v->answer_hash[0] = v->request_hash[0] = '\0';
  free(text);
  json_decref(body);
  json_decref(answer);
  return rc;
}

/* ---- verifying a receipt
 * -----------------------------------------------------
 */

struct entry_copy {
  int found;
  char author[HV_ID_MAX + 8], op[32], kind[32];
  char *body;
};

static int copy_entry(const struct hv_ledger_entry *e, void *ud) {
  struct entry_copy *c = ud;
  c->found = 1;
  copy_str(c->author, sizeof c->author, e->author);
  copy_str(c->op, sizeof c->op, e->op);
  copy_str(c->kind, sizeof c->kind, e->kind);
  c->body = strdup(e->body ? e->body : "");
  return c->body ? 1 : HV_ENOMEM;
}

/* An object's history up to a seq: the last entry that wrote it. */
struct last_write {
  int64_t upto, seq, version;
  int deleted;
};

static int last_write_cb(const struct hv_ledger_entry *e, void *ud) {
  struct last_write *w = ud;
  if (e->seq > w->upto)
    return 1;
  w->seq = e->seq;
  w->version = e->version;
  w->deleted = strcmp(e->op, "delete") == 0;
  return 0;
}

/* The state of one kind at a seq, replayed from the ledger. */
struct replay {
  const char *kind;
  struct rep_e {
    char *id;
    int64_t seq, version;
    int deleted;
  } * v;
  size_t n, cap;
};

static int replay_cb(const struct hv_ledger_entry *e, void *ud) {
  struct replay *r = ud;
  if (strcmp(e->kind, r->kind) != 0)
    return 0;
  struct rep_e *v = hv__grow(r->v, &r->cap, r->n + 1, sizeof *v);
  if (v == NULL)
    return HV_ENOMEM;
  r->v = v;
  v[r->n] = (struct rep_e){strdup(e->id), e->seq, e->version,
                           strcmp(e->op, "delete") == 0};
  if (v[r->n].id == NULL)
    return HV_ENOMEM;
  r->n++;
  return 0;
}

static int rep_cmp(const void *a, const void *b) {
  const struct rep_e *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if (c)
    return c;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Count and digest of kind as the ledger had it at seq upto. */
static int replay_digest(struct hv_db *db, const char *kind, int64_t upto,
                         size_t *count, char digest[65]) {
  struct replay r = {.kind = kind};
  int rc = hv_ledger_each(db, 1, upto, replay_cb, &r);
  if (rc == HV_OK) {
    if (r.n)
      qsort(r.v, r.n, sizeof *r.v, rep_cmp);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, HV_HASH_BYTES);
    *count = 0;
    for (size_t i = 0; i < r.n; i++) {
      if (i + 1 < r.n && strcmp(r.v[i].id, r.v[i + 1].id) == 0)
        continue; /* not the last write of this id */
      if (r.v[i].deleted)
        continue;
      char line[HV_ID_MAX + 32];
      int len = snprintf(line, sizeof line, "%s %lld\n", r.v[i].id,
                         (long long)r.v[i].version);
      crypto_generichash_update(&st, (const unsigned char *)line, (size_t)len);
      (*count)++;
    }
    uint8_t h[HV_HASH_BYTES];
    crypto_generichash_final(&st, h, sizeof h);
    hv_hash_hex(h, digest);
  }
  for (size_t i = 0; i < r.n; i++)
    free(r.v[i].id);
  free(r.v);
  return rc;
}

static int tamper(struct hv_error *err, const char *fmt, const char *a,
                  long long n) {
  return hv_error_set(err, HV_ETAMPER, fmt, a, n);
}

int hv_check_verify_receipt(struct hv_db *db, const json_t *receipt,
                            struct hv_error *err) {
  const json_t *jseq = json_object_get(receipt, "seq");
  const json_t *jat = json_object_get(receipt, "at_seq");
  const char *author = json_string_value(json_object_get(receipt, "author"));
  const char *rhash =
      json_string_value(json_object_get(receipt, "request_hash"));
  const char *ahash =
      json_string_value(json_object_get(receipt, "answer_hash"));
  const json_t *objs = json_object_get(receipt, "objects");
  const json_t *sets = json_object_get(receipt, "sets");
  if (!json_is_object(receipt) || !json_is_integer(jseq) ||
      !json_is_integer(jat) || author == NULL || rhash == NULL ||
      ahash == NULL || !json_is_array(objs) || !json_is_array(sets))
    return hv_error_set(err, HV_ESCHEMA,
                        "receipt: needs seq, at_seq (integers), author, "
                        "request_hash, answer_hash (strings), objects and "
                        "sets (arrays)");
  long long seq = json_integer_value(jseq), at = json_integer_value(jat);
  if (seq <= 0 || seq > hv_db_head_seq(db))
    return hv_error_set(err, HV_ENOTFOUND,
                        "seq: the ledger has no entry %lld (its head is "
                        "%lld)",
                        seq, (long long)hv_db_head_seq(db));
  struct entry_copy e = {0};
  int rc = hv_ledger_each(db, seq, seq, copy_entry, &e);
  if (rc < 0) {
    free(e.body);
    return hv_error_set(err, rc, "seq %lld: cannot read the entry", seq);
  }
  json_t *body = NULL;
  if (!e.found) {
    rc = hv_error_set(err, HV_ENOTFOUND, "seq: no ledger entry %lld", seq);
    goto done;
  }
  if (strcmp(e.kind, "check") != 0 || strcmp(e.op, "check") != 0) {
    rc = hv_error_set(err, HV_ETAMPER,
                      "seq: entry %lld is not a check (it is a %s entry, op "
                      "%s)",
                      seq, e.kind, e.op);
    goto done;
  }
  if (strcmp(e.author, author) != 0) {
    rc = hv_error_set(err, HV_ETAMPER,
                      "author: entry %lld was asked by \"%s\", not \"%s\"", seq,
                      e.author, author);
    goto done;
  }
  json_error_t jerr;
  body = json_loads(e.body, 0, &jerr);
  const json_t *rec = json_object_get(body, "receipt");
  char h[65];
  if (body == NULL || rec == NULL) {
    rc = hv_error_set(err, HV_ETAMPER,
                      "seq: entry %lld does not hold a check's record", seq);
    goto done;
  }
  if ((rc = canon_hash(json_object_get(body, "answer"), h)) != HV_OK)
    goto done;
  if (strcmp(h, ahash) != 0 ||
      strcmp(json_string_value(json_object_get(rec, "answer_hash")), ahash)) {
    rc = tamper(err,
                "answer_hash: %s does not match the answer recorded at "
                "entry %lld",
                ahash, seq);
    goto done;
  }
  if ((rc = canon_hash(json_object_get(body, "request"), h)) != HV_OK)
    goto done;
  if (strcmp(h, rhash) != 0) {
    rc = tamper(err,
                "request_hash: %s does not match the request recorded at "
                "entry %lld",
                rhash, seq);
    goto done;
  }
  if (json_integer_value(json_object_get(rec, "at_seq")) != at || at >= seq) {
    rc = hv_error_set(err, HV_ETAMPER,
                      "at_seq: %lld is not the one recorded at entry %lld", at,
                      seq);
    goto done;
  }
  if (!json_equal((json_t *)objs, json_object_get(rec, "objects")) ||
      !json_equal((json_t *)sets, json_object_get(rec, "sets"))) {
    rc = hv_error_set(err, HV_ETAMPER,
                      "objects or sets: differ from those recorded at entry "
                      "%lld",
                      seq);
    goto done;
  }
  /* Each object listed was that object's current version at at_seq. */
  size_t i;
  json_t *o;
  json_array_foreach(objs, i, o) {
    const char *kn = json_string_value(json_object_get(o, "kind"));
    const char *id = json_string_value(json_object_get(o, "id"));
    json_int_t ver = json_integer_value(json_object_get(o, "version"));
    enum hv_kind kind;
    if (kn == NULL || id == NULL || hv_kind_parse(kn, &kind) != HV_OK) {
      rc = hv_error_set(err, HV_ESCHEMA,
                        "objects[%zu]: needs kind, id, version", i);
      goto done;
    }
    struct last_write w = {.upto = at};
    if ((rc = hv_ledger_history(db, kind, id, last_write_cb, &w)) < 0)
      goto done;
    rc = HV_OK;
    if (w.seq == 0 || w.deleted || w.version != ver) {
      rc = hv_error_set(err, HV_ETAMPER,
                        "objects[%zu]: %s \"%s\" version %lld was not current "
                        "at entry %lld (%s)",
                        i, kn, id, (long long)ver, at,
                        w.seq == 0  ? "it did not exist"
                        : w.deleted ? "it had been deleted"
                                    : "another version was");
      goto done;
    }
  }
  json_array_foreach(sets, i, o) {
    const char *kn = json_string_value(json_object_get(o, "kind"));
    const char *dg = json_string_value(json_object_get(o, "digest"));
    json_int_t cnt = json_integer_value(json_object_get(o, "count"));
    size_t n = 0;
    char d[65];
    if (kn == NULL || dg == NULL) {
      rc = hv_error_set(err, HV_ESCHEMA, "sets[%zu]: needs kind, count, digest",
                        i);
      goto done;
    }
    if ((rc = replay_digest(db, kn, at, &n, d)) != HV_OK)
      goto done;
    if ((json_int_t)n != cnt || strcmp(d, dg) != 0) {
      rc = hv_error_set(err, HV_ETAMPER,
                        "sets[%zu]: the %ss at entry %lld were %zu with digest "
                        "%.16s..., not %lld with %.16s...",
                        i, kn, at, n, d, (long long)cnt, dg);
      goto done;
    }
  }
  rc = HV_OK;
done:
  json_decref(body);
  free(e.body);
  return rc;
}
