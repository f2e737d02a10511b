/*
 * mkscenario.c — builds the geographic half of haven's bundled scenario
 * (Syria, 2015-2017) from the published sources copied into data/src.
 *
 * Usage: mkscenario SRC_DIR OUT_DIR
 *
 * Reads SRC_DIR/syr_adm1_ocha.geojson (OCHA governorates),
 * SRC_DIR/ne10m_syria_border_lines.geojson and
 * SRC_DIR/ne10m_syria_and_neighbours.geojson (Natural Earth), and
 * SRC_DIR/syrianarchive_medical_facility_incidents.csv (Syrian Archive).
 * Writes OUT_DIR/areas.geojson, zones.geojson, sites.geojson and
 * delineations.geojson in the import format of docs/formats.md. The
 * hand-written half (registry.json, corridors.geojson) is in data/scenario.
 * How each shape is drawn, and every approximation, is in data/SOURCES.md.
 *
 * Invariants:
 * - every polygon written is valid by GEOS; coordinates are rounded to
 *   6 decimals (about 0.1 m) only when the rounded geometry is still valid,
 *   otherwise written at full precision;
 * - every measure in metres goes through libhaven (hv_geo_*), i.e. GEOS in
 *   a metric projection from PROJ, never degrees;
 * - the output depends only on the input: two runs give identical files;
 * - a missing or malformed input stops the program with a message naming
 *   the file; each output is written to NAME.tmp and renamed, so OUT_DIR
 *   never holds a half-written file under its final name.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <geos_c.h>
#include <jansson.h>

#include "haven/geo.h"

/* ---- constants of the scenario -------------------------------------------
 * Each is explained in data/SOURCES.md, "How the scenario was drawn". */

#define GOVERNORATES_FILE "syr_adm1_ocha.geojson"
#define BORDER_LINES_FILE "ne10m_syria_border_lines.geojson"
#define COUNTRIES_FILE "ne10m_syria_and_neighbours.geojson"
#define MEDICAL_FILE "syrianarchive_medical_facility_incidents.csv"

#define N_GOVERNORATES 14
#define OCHA_SOURCE                                                            \
  "UN OCHA COD-AB Syria, admin level 1, v02 (2020-12-17), CC BY-IGO 3.0"

/* The 2015 US-Turkey proposal: a zone from Azaz to Jarablus (west of the
 * Euphrates), about 98 km long and 45 km deep. */
#define BAND_DEPTH_M 45000.0
#define BAND_LON_WEST 37.03 /* just west of Azaz town, so Azaz is inside */
#define BAND_LON_EAST 38.03 /* Jarablus, at the Euphrates' entry into Syria */
/* Depth is measured to the stretch of border between these two meridians
 * (Azaz to Jarablus). Measuring to the whole border line would pull in
 * ground south of Azaz that lies within 45 km of the Hatay stretch of the
 * border further west: on the 37.03 E meridian the band would reach 76 km
 * south of the border instead of 45. */

#define SITE_RADIUS_M 300
/* Rows closer than this are the same facility (the two Syrian Archive files
 * give the same place with 6 and with 7-16 decimals, and M10 hospital in
 * Aleppo with two coordinates 8 m apart). */
#define SITE_MERGE_M 25.0

/* ---- small helpers ------------------------------------------------------- */

struct ctx {
  struct hv_geo *geo;
  GEOSContextHandle_t gh;
  const char *src_dir;
  const char *out_dir;
};

/* Joins dir and name into buf; HV_EINVAL when it does not fit. */
static int path_join(char *buf, size_t size, const char *dir, const char *name,
                     struct hv_error *err) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size)
    return hv_error_set(err, HV_EINVAL, "%s/%s: path too long", dir, name);
  return HV_OK;
}

/* Adds v (taken) to o under k; sets *bad when v is NULL (out of memory or
 * a string that is not UTF-8). */
static void put(json_t *o, const char *k, json_t *v, int *bad) {
  if (v == NULL || json_object_set_new(o, k, v) != 0)
    *bad = 1;
}

static void put_str(json_t *o, const char *k, const char *s, int *bad) {
  put(o, k, json_string(s), bad);
}

/* A JSON array of the n strings in s. NULL when out of memory. */
static json_t *str_array(const char *const *s, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, json_string(s[i])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

/* One phase transition, as docs/formats.md's phase_history entry. */
static json_t *phase_entry(const char *phase, const char *at,
                           const char *reason) {
  return json_pack("{s:s,s:s,s:s,s:s}", "phase", phase, "at", at, "by",
                   "coordinator", "reason", reason);
}

/* Reads a whole JSON file. The message names the file, line and column. */
static int load_json(struct ctx *c, const char *name, json_t **out,
                     struct hv_error *err) {
  char path[4096];
  int rc = path_join(path, sizeof path, c->src_dir, name, err);
  if (rc != HV_OK)
    return rc;
  json_error_t je;
  *out = json_load_file(path, 0, &je);
  if (*out == NULL) {
    if (je.line < 0) /* jansson's text names the file */
      return hv_error_set(err, HV_EIO, "%s", je.text);
    return hv_error_set(err, HV_EPARSE, "%s: line %d, column %d: %s", path,
                        je.line, je.column, je.text);
  }
  return HV_OK;
}

/* The features array of a FeatureCollection (borrowed from doc). */
static int features_of(const json_t *doc, const char *name, json_t **out,
                       struct hv_error *err) {
  const char *type = json_string_value(json_object_get(doc, "type"));
  *out = json_object_get(doc, "features");
  if (type == NULL || strcmp(type, "FeatureCollection") != 0 ||
      !json_is_array(*out))
    return hv_error_set(err, HV_ESCHEMA,
                        "%s: not a GeoJSON FeatureCollection with a "
                        "\"features\" array",
                        name);
  return HV_OK;
}

/* A string property of feature i, or NULL. */
static const char *prop_str(const json_t *feature, const char *key) {
  return json_string_value(
      json_object_get(json_object_get(feature, "properties"), key));
}

/* Reads feature i's geometry; the message names file, feature and field. */
static int feature_geometry(struct ctx *c, const json_t *feature,
                            const char *name, size_t i, GEOSGeometry **out,
                            struct hv_error *err) {
  int rc = hv_geo_from_geojson(c->geo, json_object_get(feature, "geometry"),
                               out, err);
  if (rc != HV_OK) {
    if (err && err->msg[0] == '\0')
      hv_error_set(err, rc, "%s", hv_strerror(rc));
    hv_error_prefix(err, "%s: feature %zu: ", name, i);
  }
  return rc;
}

static int is_polygonal(struct ctx *c, const GEOSGeometry *g) {
  int t = GEOSGeomTypeId_r(c->gh, g);
  return t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON;
}

/* Keeps the polygonal part of g (taken): overlay results can be collections
 * holding the lines and points where two shapes only touch. *out is a
 * Polygon or MultiPolygon; HV_EGEOMETRY when g has no area. */
static int polygonal_part(struct ctx *c, GEOSGeometry *g, const char *what,
                          GEOSGeometry **out, struct hv_error *err) {
  *out = NULL;
  if (g == NULL)
    return hv_error_set(err, HV_EGEOMETRY, "%s: GEOS operation failed", what);
  if (is_polygonal(c, g) && GEOSisEmpty_r(c->gh, g) == 0) {
    *out = g;
    return HV_OK;
  }
  int n = GEOSGetNumGeometries_r(c->gh, g);
  GEOSGeometry **parts = calloc(n > 0 ? (size_t)n : 1, sizeof *parts);
  if (parts == NULL) {
    GEOSGeom_destroy_r(c->gh, g);
    return HV_ENOMEM;
  }
  unsigned np = 0;
  for (int i = 0; i < n; i++) {
    const GEOSGeometry *p = GEOSGetGeometryN_r(c->gh, g, i);
    if (GEOSGeomTypeId_r(c->gh, p) == GEOS_POLYGON &&
        GEOSisEmpty_r(c->gh, p) == 0)
      parts[np++] = GEOSGeom_clone_r(c->gh, p);
  }
  GEOSGeom_destroy_r(c->gh, g);
  if (np == 0) {
    free(parts);
    return hv_error_set(err, HV_EGEOMETRY, "%s: the result has no area", what);
  }
  *out = np == 1
             ? parts[0]
             : GEOSGeom_createCollection_r(c->gh, GEOS_MULTIPOLYGON, parts, np);
  free(parts);
  return *out ? HV_OK : HV_ENOMEM;
}

/* Drops the parts of g (in/out, polygonal) smaller than min_m2: slivers
 * left where two datasets' boundaries do not quite meet. Reports on stderr
 * what it dropped. */
static int drop_slivers(struct ctx *c, GEOSGeometry **g, double min_m2,
                        const char *what, struct hv_error *err) {
  int n = GEOSGetNumGeometries_r(c->gh, *g);
  if (GEOSGeomTypeId_r(c->gh, *g) != GEOS_MULTIPOLYGON || n < 2)
    return HV_OK;
  GEOSGeometry **keep = calloc((size_t)n, sizeof *keep);
  if (keep == NULL)
    return HV_ENOMEM;
  unsigned nk = 0;
  double dropped_m2 = 0;
  int ndropped = 0, rc = HV_OK;
  for (int i = 0; i < n && rc == HV_OK; i++) {
    const GEOSGeometry *part = GEOSGetGeometryN_r(c->gh, *g, i);
    double a = 0;
    if ((rc = hv_geo_area_m2(c->geo, part, &a)) != HV_OK) {
      hv_error_set(err, rc, "%s: area of part %d: %s", what, i,
                   hv_strerror(rc));
      break;
    }
    if (a < min_m2) {
      dropped_m2 += a;
      ndropped++;
    } else if ((keep[nk++] = GEOSGeom_clone_r(c->gh, part)) == NULL) {
      rc = HV_ENOMEM;
    }
  }
  if (rc != HV_OK || ndropped == 0 || nk == 0) {
    for (unsigned i = 0; i < nk; i++)
      hv_geo_geom_free(c->geo, keep[i]);
    free(keep);
    return rc;
  }
  GEOSGeometry *out =
      nk == 1 ? keep[0]
              : GEOSGeom_createCollection_r(c->gh, GEOS_MULTIPOLYGON, keep, nk);
  free(keep);
  if (out == NULL)
    return HV_ENOMEM;
  fprintf(stderr,
          "mkscenario: note: %s: dropped %d sliver%s under %.0f km2 "
          "(%.2f km2 in all)\n",
          what, ndropped, ndropped == 1 ? "" : "s", min_m2 / 1e6,
          dropped_m2 / 1e6);
  GEOSGeom_destroy_r(c->gh, *g);
  *g = out;
  return HV_OK;
}

/* Makes sure g (in/out) is valid. A shape built here from valid inputs
 * should be; if GEOS says otherwise it is repaired with GEOSMakeValid and
 * the repair is reported on stderr, as data/SOURCES.md promises. */
static int ensure_valid(struct ctx *c, GEOSGeometry **g, const char *what,
                        struct hv_error *err) {
  char v = GEOSisValid_r(c->gh, *g);
  if (v == 1)
    return HV_OK;
  char *reason = GEOSisValidReason_r(c->gh, *g);
  fprintf(stderr, "mkscenario: %s: invalid (%s); repaired with GEOSMakeValid\n",
          what, reason ? reason : "?");
  GEOSFree_r(c->gh, reason);
  GEOSGeometry *fixed = NULL;
  int rc = polygonal_part(c, GEOSMakeValid_r(c->gh, *g), what, &fixed, err);
  if (rc != HV_OK)
    return rc;
  if (GEOSisValid_r(c->gh, fixed) != 1) {
    GEOSGeom_destroy_r(c->gh, fixed);
    return hv_error_set(err, HV_EGEOMETRY, "%s: still invalid after repair",
                        what);
  }
  GEOSGeom_destroy_r(c->gh, *g);
  *g = fixed;
  return HV_OK;
}

static int round6(double *x, double *y, void *userdata) {
  (void)userdata;
  *x = round(*x * 1e6) / 1e6;
  *y = round(*y * 1e6) / 1e6;
  return 1;
}

/* A copy of g rounded to 6 decimals when that copy is still valid (and
 * *rounded = 1), else an exact copy (*rounded = 0, and why[] says what
 * rounding would have broken). Caller frees *out. */
static int rounded_copy(struct ctx *c, const GEOSGeometry *g,
                        GEOSGeometry **out, int *rounded, char *why,
                        size_t why_size) {
  *rounded = 0;
  snprintf(why, why_size, "GEOS could not round it");
  GEOSGeometry *r = GEOSGeom_transformXY_r(c->gh, g, round6, NULL);
  if (r != NULL) {
    /* Rounding can make neighbouring vertices equal: drop the repeats. */
    GEOSGeometry *d = GEOSRemoveRepeatedPoints_r(c->gh, r, 0.0);
    GEOSGeom_destroy_r(c->gh, r);
    r = d;
  }
  if (r != NULL && (GEOSisEmpty_r(c->gh, r) != 0 ||
                    GEOSGeomTypeId_r(c->gh, r) != GEOSGeomTypeId_r(c->gh, g))) {
    snprintf(why, why_size, "it would change type or become empty");
    GEOSGeom_destroy_r(c->gh, r);
    r = NULL;
  }
  if (r != NULL && is_polygonal(c, g) && GEOSisValid_r(c->gh, r) != 1) {
    char *reason = GEOSisValidReason_r(c->gh, r);
    snprintf(why, why_size, "it would be invalid: %s", reason ? reason : "?");
    GEOSFree_r(c->gh, reason);
    GEOSGeom_destroy_r(c->gh, r);
    r = NULL;
  }
  if (r != NULL) {
    *out = r;
    *rounded = 1;
    return HV_OK;
  }
  *out = GEOSGeom_clone_r(c->gh, g);
  return *out ? HV_OK : HV_ENOMEM;
}

/* ---- output files -------------------------------------------------------- */

/* A FeatureCollection being written: one feature per line, so that the
 * files read and diff well. */
struct out_file {
  char path[4096];
  char tmp[4200];
  FILE *f;
  size_t n;       /* features written */
  size_t n_exact; /* of which kept at full precision */
};

static int out_open(struct ctx *c, struct out_file *o, const char *name,
                    struct hv_error *err) {
  memset(o, 0, sizeof *o);
  int rc = path_join(o->path, sizeof o->path, c->out_dir, name, err);
  if (rc != HV_OK)
    return rc;
  snprintf(o->tmp, sizeof o->tmp, "%s.tmp", o->path);
  o->f = fopen(o->tmp, "w");
  if (o->f == NULL)
    return hv_error_set(err, HV_EIO, "%s: %s", o->tmp, strerror(errno));
  fputs("{\"type\": \"FeatureCollection\", \"features\": [\n", o->f);
  return HV_OK;
}

/* Writes a Feature with id, properties (taken) and geometry g (borrowed),
 * g rounded to 6 decimals when that keeps it valid. Reals are printed with
 * 15 significant digits when rounded (which gives back the 6-decimal value
 * exactly) and 17 when exact (which gives back the double bit for bit). */
static int out_feature(struct ctx *c, struct out_file *o, const char *id,
                       const GEOSGeometry *g, json_t *props,
                       struct hv_error *err) {
  GEOSGeometry *r = NULL;
  json_t *geom = NULL, *feat = NULL;
  char *text = NULL;
  int rounded = 0, rc;
  if (props == NULL) {
    rc =
        hv_error_set(err, HV_ENOMEM, "%s: feature %s: properties", o->path, id);
    goto done;
  }
  char why[256];
  if ((rc = rounded_copy(c, g, &r, &rounded, why, sizeof why)) != HV_OK)
    goto done;
  if (!rounded)
    fprintf(stderr,
            "mkscenario: note: %s: %s kept at full precision (rounded to 6 "
            "decimals %s)\n",
            o->path, id, why);
  if ((rc = hv_geo_to_geojson(c->geo, r, &geom)) != HV_OK) {
    hv_error_set(err, rc, "%s: feature %s: cannot write its geometry: %s",
                 o->path, id, hv_strerror(rc));
    goto done;
  }
  feat = json_pack("{s:s,s:s,s:O,s:O}", "type", "Feature", "id", id,
                   "properties", props, "geometry", geom);
  if (feat == NULL) {
    rc = hv_error_set(err, HV_ENOMEM, "%s: feature %s", o->path, id);
    goto done;
  }
  text = json_dumps(feat, JSON_COMPACT | JSON_ENSURE_ASCII |
                              JSON_REAL_PRECISION(rounded ? 15 : 17));
  if (text == NULL) {
    rc = hv_error_set(err, HV_ENOMEM, "%s: feature %s", o->path, id);
    goto done;
  }
  fprintf(o->f, "%s%s", o->n ? ",\n" : "", text);
  o->n++;
  if (!rounded)
    o->n_exact++;
  rc = HV_OK;
done:
  free(text);
  json_decref(feat);
  json_decref(geom);
  json_decref(props);
  if (r)
    GEOSGeom_destroy_r(c->gh, r);
  return rc;
}

/* Finishes the file and moves it to its final name. */
static int out_close(struct out_file *o, struct hv_error *err) {
  if (o->f == NULL)
    return HV_OK;
  fputs("\n]}\n", o->f);
  int bad = ferror(o->f);
  if (fclose(o->f) != 0)
    bad = 1;
  o->f = NULL;
  if (bad) {
    remove(o->tmp);
    return hv_error_set(err, HV_EIO, "%s: write failed", o->tmp);
  }
  if (rename(o->tmp, o->path) != 0)
    return hv_error_set(err, HV_EIO, "%s: %s", o->path, strerror(errno));
  return HV_OK;
}

/* Drops a file that failed half-way. */
static void out_abort(struct out_file *o) {
  if (o->f == NULL)
    return;
  fclose(o->f);
  o->f = NULL;
  remove(o->tmp);
}

/* ---- governorates -------------------------------------------------------- */

struct gov {
  char pcode[8]; /* "SY07" */
  char id[8];    /* "sy07" */
  char name[64]; /* ADM1_EN, "Idleb" */
  GEOSGeometry *g;
};

struct govs {
  struct gov v[N_GOVERNORATES];
  size_t n;
};

static void govs_free(struct ctx *c, struct govs *gv) {
  for (size_t i = 0; i < gv->n; i++)
    hv_geo_geom_free(c->geo, gv->v[i].g);
  gv->n = 0;
}

static const struct gov *gov_get(const struct govs *gv, const char *pcode) {
  for (size_t i = 0; i < gv->n; i++)
    if (strcmp(gv->v[i].pcode, pcode) == 0)
      return &gv->v[i];
  return NULL;
}

/* Reads the 14 governorates: each needs ADM1_PCODE ("SY" and two digits,
 * unique), ADM1_EN and a valid Polygon or MultiPolygon. */
static int load_governorates(struct ctx *c, struct govs *gv,
                             struct hv_error *err) {
  const char *name = GOVERNORATES_FILE;
  json_t *doc = NULL, *features;
  int rc = load_json(c, name, &doc, err);
  if (rc != HV_OK)
    return rc;
  if ((rc = features_of(doc, name, &features, err)) != HV_OK)
    goto done;
  if (json_array_size(features) != N_GOVERNORATES) {
    rc = hv_error_set(err, HV_ESCHEMA,
                      "%s: %zu features, expected the %d "
                      "governorates of Syria",
                      name, json_array_size(features), N_GOVERNORATES);
    goto done;
  }
  for (size_t i = 0; i < json_array_size(features); i++) {
    const json_t *f = json_array_get(features, i);
    const char *pcode = prop_str(f, "ADM1_PCODE");
    const char *en = prop_str(f, "ADM1_EN");
    if (pcode == NULL || strlen(pcode) != 4 || strncmp(pcode, "SY", 2) != 0 ||
        pcode[2] < '0' || pcode[2] > '9' || pcode[3] < '0' || pcode[3] > '9') {
      rc = hv_error_set(err, HV_ESCHEMA,
                        "%s: feature %zu: properties.ADM1_PCODE: missing or "
                        "not of the form SYnn",
                        name, i);
      goto done;
    }
    if (en == NULL || en[0] == '\0' || strlen(en) >= sizeof gv->v[0].name) {
      rc = hv_error_set(err, HV_ESCHEMA,
                        "%s: feature %zu (%s): properties.ADM1_EN: missing, "
                        "empty or too long",
                        name, i, pcode);
      goto done;
    }
    if (gov_get(gv, pcode) != NULL) {
      rc = hv_error_set(err, HV_ESCHEMA,
                        "%s: feature %zu: ADM1_PCODE %s appears twice", name, i,
                        pcode);
      goto done;
    }
    struct gov *g = &gv->v[gv->n];
    memset(g, 0, sizeof *g);
    if ((rc = feature_geometry(c, f, name, i, &g->g, err)) != HV_OK)
      goto done;
    if (!is_polygonal(c, g->g)) {
      GEOSGeom_destroy_r(c->gh, g->g);
      rc = hv_error_set(err, HV_ESCHEMA,
                        "%s: feature %zu (%s): geometry: not a Polygon or "
                        "MultiPolygon",
                        name, i, pcode);
      goto done;
    }
    memcpy(g->pcode, pcode, 5);
    for (size_t k = 0; k < 5; k++)
      g->id[k] =
          (char)(pcode[k] >= 'A' && pcode[k] <= 'Z' ? pcode[k] + 32 : pcode[k]);
    memcpy(g->name, en, strlen(en) + 1);
    gv->n++;
  }
  /* The pcodes the scenario uses must be there. */
  static const char *const needed[] = {"SY03", "SY04", "SY07", "SY08", "SY09",
                                       "SY10", "SY11", "SY12", "SY14"};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
    if (gov_get(gv, needed[i]) == NULL) {
      rc = hv_error_set(err, HV_ESCHEMA, "%s: no governorate %s", name,
                        needed[i]);
      goto done;
    }
done:
  json_decref(doc);
  return rc;
}

static int write_areas(struct ctx *c, const struct govs *gv,
                       struct hv_error *err) {
  struct out_file o;
  int rc = out_open(c, &o, "areas.geojson", err);
  for (size_t i = 0; rc == HV_OK && i < gv->n; i++) {
    const struct gov *g = &gv->v[i];
    int bad = 0;
    json_t *p = json_object();
    put_str(p, "object", "area", &bad);
    put_str(p, "name", g->name, &bad);
    put_str(p, "pcode", g->pcode, &bad);
    put_str(p, "level", "adm1", &bad);
    put_str(p, "source", OCHA_SOURCE, &bad);
    if (bad) {
      json_decref(p);
      p = NULL;
    }
    rc = out_feature(c, &o, g->id, g->g, p, err);
  }
  if (rc == HV_OK)
    rc = out_close(&o, err);
  if (rc != HV_OK) {
    out_abort(&o);
    return rc;
  }
  printf("areas.geojson: %zu governorates (%zu at full precision)\n", o.n,
         o.n_exact);
  return HV_OK;
}

/* ---- zones --------------------------------------------------------------- */

/* The part of governorate pcode inside the lon/lat box. Caller frees. */
static int gov_in_box(struct ctx *c, const struct govs *gv, const char *pcode,
                      double x0, double y0, double x1, double y1,
                      GEOSGeometry **out, struct hv_error *err) {
  const struct gov *g = gov_get(gv, pcode);
  GEOSGeometry *box = GEOSGeom_createRectangle_r(c->gh, x0, y0, x1, y1);
  if (box == NULL)
    return HV_ENOMEM;
  int rc =
      polygonal_part(c, GEOSIntersection_r(c->gh, g->g, box), pcode, out, err);
  GEOSGeom_destroy_r(c->gh, box);
  return rc;
}

/* Astana zone properties. */
static json_t *astana_props(const char *name, const char *notes) {
  static const char *const guarantors[] = {"ru", "tr", "ir"};
  int bad = 0;
  json_t *p = json_object();
  json_t *hist = json_array();
  if (p == NULL || hist == NULL) {
    json_decref(p);
    json_decref(hist);
    return NULL;
  }
  if (json_array_append_new(
          hist, phase_entry("declared", "2017-05-04",
                            "Memorandum on the creation of de-escalation "
                            "areas signed in Astana by Russia, Turkey and "
                            "Iran")) != 0 ||
      json_array_append_new(
          hist, phase_entry("established", "2017-09-15",
                            "Astana 6: the guarantors agreed the boundaries "
                            "of the four areas, including Idlib")) != 0)
    bad = 1;
  put_str(p, "object", "zone", &bad);
  put_str(p, "name", name, &bad);
  put_str(p, "kind", "de_escalation", &bad);
  put_str(p, "valid_from", "2017-05-06", &bad);
  put_str(p, "phase", "established", &bad);
  put(p, "phase_history", hist, &bad);
  put(p, "guarantors", str_array(guarantors, 3), &bad);
  put_str(p, "notes", notes, &bad);
  put_str(p, "source",
          "Shape: approximation drawn by haven's mkscenario from " OCHA_SOURCE
          "; no published polygon of the Astana areas exists. Dates: "
          "Astana memorandum of 4 May 2017 (in force 6 May 2017); Astana 6 "
          "joint statement of 15 September 2017.",
          &bad);
  if (bad) {
    json_decref(p);
    return NULL;
  }
  return p;
}

/* The two border zones share their geometry, dates and guarantors. */
static json_t *border_props(const char *name, const char *kind,
                            const char *notes, double area_km2,
                            double depth_km) {
  static const char *const guarantors[] = {"us", "tr"};
  char full_notes[2048];
  snprintf(full_notes, sizeof full_notes,
           "%s Computed: the part of Syria within 45 km of the stretch of "
           "the Turkey-Syria border line between the meridians %.2f E (just "
           "west of Azaz) and %.2f E (Jarablus, on the Euphrates), cut along "
           "those meridians; %.0f km2, at most %.1f km deep.",
           notes, BAND_LON_WEST, BAND_LON_EAST, area_km2, depth_km);
  int bad = 0;
  json_t *p = json_object();
  json_t *hist = json_array();
  if (p == NULL || hist == NULL) {
    json_decref(p);
    json_decref(hist);
    return NULL;
  }
  if (json_array_append_new(
          hist, phase_entry("declared", "2015-07-27",
                            "US-Turkey understanding reported on 27 July "
                            "2015: an IS-free zone from Azaz to Jarablus, "
                            "about 98 km long and 45 km deep")) != 0)
    bad = 1;
  put_str(p, "object", "zone", &bad);
  put_str(p, "name", name, &bad);
  put_str(p, "kind", kind, &bad);
  put_str(p, "valid_from", "2015-07-27", &bad);
  put_str(p, "phase", "declared", &bad);
  put(p, "phase_history", hist, &bad);
  put(p, "guarantors", str_array(guarantors, 2), &bad);
  if (strcmp(kind, "no_fly") == 0) {
    /* First matching rule decides: humanitarian flights of anyone are
     * permitted; military aircraft of the government and Russia neither
     * inside nor over it; anything else permitted (no rule matches). */
    json_t *rules =
        json_pack("[{s:[s],s:[s],s:b,s:b},{s:[s,s],s:[s,s,s],s:b,s:b}]",
                  "parties", "*", "asset_classes", "humanitarian", "inside", 1,
                  "overfly", 1, "parties", "syr-gov", "ru", "asset_classes",
                  "fixed_wing", "rotary", "uav", "inside", 0, "overfly", 0);
    put(p, "rules", rules, &bad);
  }
  put_str(p, "notes", full_notes, &bad);
  put_str(p, "source",
          "Shape: computed by haven's mkscenario with GEOS and PROJ from the "
          "Natural Earth 1:10m v4.1.0 Syria-Turkey border line and Syria "
          "polygon (public domain). Proposal: US-Turkey talks, July 2015 "
          "(\"Azaz to Jarablus\", 98 km by 45 km, as reported).",
          &bad);
  if (bad) {
    json_decref(p);
    return NULL;
  }
  return p;
}

/* Finds the feature of doc whose property key equals val (and key2 val2
 * when key2 is not NULL); reads its geometry. */
static int find_feature_geometry(struct ctx *c, const char *name,
                                 const char *key, const char *val,
                                 const char *key2, const char *val2,
                                 GEOSGeometry **out, struct hv_error *err) {
  json_t *doc = NULL, *features;
  *out = NULL;
  int rc = load_json(c, name, &doc, err);
  if (rc != HV_OK)
    return rc;
  if ((rc = features_of(doc, name, &features, err)) != HV_OK)
    goto done;
  for (size_t i = 0; i < json_array_size(features); i++) {
    const json_t *f = json_array_get(features, i);
    const char *v = prop_str(f, key);
    const char *v2 = key2 ? prop_str(f, key2) : NULL;
    if (v == NULL || strcmp(v, val) != 0 ||
        (key2 && (v2 == NULL || strcmp(v2, val2) != 0)))
      continue;
    rc = feature_geometry(c, f, name, i, out, err);
    goto done;
  }
  if (key2)
    rc = hv_error_set(err, HV_ESCHEMA,
                      "%s: no feature with properties.%s = \"%s\" and "
                      "properties.%s = \"%s\"",
                      name, key, val, key2, val2);
  else
    rc = hv_error_set(err, HV_ESCHEMA,
                      "%s: no feature with properties.%s = \"%s\"", name, key,
                      val);
done:
  json_decref(doc);
  return rc;
}

/* The union of governorates a and b without the part held by Israel.
 * OCHA's Quneitra governorate includes the Golan Heights, occupied by Israel
 * since 1967, which no de-escalation area could cover: it is taken out with
 * Natural Earth's Israel polygon (drawn to the 1974 line). Caller frees. */
static int gov_union_minus_israel(struct ctx *c, const struct govs *gv,
                                  const char *a, const char *b,
                                  GEOSGeometry **out, struct hv_error *err) {
  GEOSGeometry *both = NULL, *israel = NULL;
  *out = NULL;
  int rc = polygonal_part(
      c, GEOSUnion_r(c->gh, gov_get(gv, a)->g, gov_get(gv, b)->g), a, &both,
      err);
  if (rc == HV_OK)
    rc = find_feature_geometry(c, COUNTRIES_FILE, "name", "Israel", NULL, NULL,
                               &israel, err);
  if (rc == HV_OK)
    rc = polygonal_part(c, GEOSDifference_r(c->gh, both, israel),
                        "astana-south", out, err);
  if (rc == HV_OK)
    rc = drop_slivers(c, out, 1e6, "astana-south", err);
  hv_geo_geom_free(c->geo, both);
  hv_geo_geom_free(c->geo, israel);
  return rc;
}

/* Geodesic length in metres of a line or multi-line (sum of its segments'
 * geodesic lengths). */
static double line_length_m(struct ctx *c, const GEOSGeometry *g) {
  double len = 0;
  int n = GEOSGetNumGeometries_r(c->gh, g);
  for (int i = 0; i < n; i++) {
    const GEOSCoordSequence *cs =
        GEOSGeom_getCoordSeq_r(c->gh, GEOSGetGeometryN_r(c->gh, g, i));
    unsigned np = 0;
    if (cs == NULL || !GEOSCoordSeq_getSize_r(c->gh, cs, &np))
      continue;
    double px = 0, py = 0;
    for (unsigned k = 0; k < np; k++) {
      double x = 0, y = 0;
      GEOSCoordSeq_getXY_r(c->gh, cs, k, &x, &y);
      if (k > 0)
        len += hv_geo_distance_m(px, py, x, y);
      px = x;
      py = y;
    }
  }
  return len;
}

/* The largest geodesic distance from a vertex of band to line: the band's
 * depth (its farthest points are vertices of its inner edge). */
static int band_depth_m(struct ctx *c, const GEOSGeometry *band,
                        const GEOSGeometry *line, double *out,
                        struct hv_error *err) {
  *out = 0;
  GEOSGeometry *pts = GEOSGeom_extractUniquePoints_r(c->gh, band);
  if (pts == NULL)
    return hv_error_set(err, HV_EGEOMETRY, "border band: no vertices");
  int n = GEOSGetNumGeometries_r(c->gh, pts);
  int rc = HV_OK;
  for (int i = 0; i < n; i++) {
    double x = 0, y = 0, d = 0;
    const GEOSGeometry *p = GEOSGetGeometryN_r(c->gh, pts, i);
    GEOSGeomGetX_r(c->gh, p, &x);
    GEOSGeomGetY_r(c->gh, p, &y);
    rc = hv_geo_distance_to_m(c->geo, x, y, line, &d);
    if (rc != HV_OK) {
      hv_error_set(err, rc, "border band: distance to the border: %s",
                   hv_strerror(rc));
      break;
    }
    if (d > *out)
      *out = d;
  }
  GEOSGeom_destroy_r(c->gh, pts);
  return rc;
}

/* The proposed safe zone: Syria within 45 km of the Turkish border, between
 * Azaz and Jarablus. Also reports its area, depth and border length. */
static int border_band(struct ctx *c, GEOSGeometry **out, double *area_m2,
                       double *depth_m, double *border_m,
                       struct hv_error *err) {
  GEOSGeometry *line = NULL, *syria = NULL, *near = NULL, *buf = NULL,
               *inside = NULL, *band = NULL, *window = NULL;
  *out = NULL;
  int rc = find_feature_geometry(c, BORDER_LINES_FILE, "a", "Syria", "b",
                                 "Turkey", &line, err);
  if (rc != HV_OK)
    goto done;
  if (GEOSGeomTypeId_r(c->gh, line) != GEOS_LINESTRING &&
      GEOSGeomTypeId_r(c->gh, line) != GEOS_MULTILINESTRING) {
    rc = hv_error_set(err, HV_ESCHEMA,
                      "%s: the Syria-Turkey feature is not a line",
                      BORDER_LINES_FILE);
    goto done;
  }
  if ((rc = find_feature_geometry(c, COUNTRIES_FILE, "name", "Syria", NULL,
                                  NULL, &syria, err)) != HV_OK)
    goto done;
  if (!is_polygonal(c, syria)) {
    rc = hv_error_set(err, HV_ESCHEMA, "%s: Syria is not a polygon",
                      COUNTRIES_FILE);
    goto done;
  }
  /* The stretch of border between Azaz and Jarablus. */
  near =
      GEOSClipByRect_r(c->gh, line, BAND_LON_WEST, 30.0, BAND_LON_EAST, 40.0);
  if (near == NULL || GEOSisEmpty_r(c->gh, near) != 0) {
    rc = hv_error_set(err, HV_EGEOMETRY,
                      "%s: the Syria-Turkey line does not reach lon %.2f-%.2f",
                      BORDER_LINES_FILE, BAND_LON_WEST, BAND_LON_EAST);
    goto done;
  }
  if ((rc = hv_geo_buffer_m(c->geo, near, BAND_DEPTH_M, &buf)) != HV_OK) {
    hv_error_set(err, rc, "border band: buffer: %s", hv_strerror(rc));
    goto done;
  }
  if ((rc = polygonal_part(c, GEOSIntersection_r(c->gh, buf, syria),
                           "border band", &inside, err)) != HV_OK)
    goto done;
  window = GEOSGeom_createRectangle_r(c->gh, BAND_LON_WEST, 30.0, BAND_LON_EAST,
                                      40.0);
  if (window == NULL) {
    rc = HV_ENOMEM;
    goto done;
  }
  if ((rc = polygonal_part(c, GEOSIntersection_r(c->gh, inside, window),
                           "border band", &band, err)) != HV_OK)
    goto done;
  if ((rc = ensure_valid(c, &band, "border band", err)) != HV_OK)
    goto done;
  if ((rc = hv_geo_area_m2(c->geo, band, area_m2)) != HV_OK) {
    hv_error_set(err, rc, "border band: area: %s", hv_strerror(rc));
    goto done;
  }
  if ((rc = band_depth_m(c, band, near, depth_m, err)) != HV_OK)
    goto done;
  *border_m = line_length_m(c, near);
  *out = band;
  band = NULL;
done:
  hv_geo_geom_free(c->geo, line);
  hv_geo_geom_free(c->geo, syria);
  hv_geo_geom_free(c->geo, near);
  hv_geo_geom_free(c->geo, buf);
  hv_geo_geom_free(c->geo, inside);
  hv_geo_geom_free(c->geo, band);
  hv_geo_geom_free(c->geo, window);
  return rc;
}

struct astana_zone {
  const char *id, *name, *notes;
  GEOSGeometry *g;
};

static int write_zones(struct ctx *c, const struct govs *gv,
                       struct hv_error *err) {
  struct astana_zone az[] = {
      {"astana-idlib", "Idlib de-escalation area",
       "Approximation: the whole of Idleb governorate (OCHA SY07). The "
       "memorandum's area also took in adjoining parts of Latakia, Aleppo "
       "and Hama governorates, which are not included here.",
       NULL},
      {"astana-north-homs", "Northern Homs de-escalation area",
       "Approximation: the part of Homs governorate (OCHA SY04) inside the "
       "box lon 36.45-36.95 E, lat 34.77-34.98 N, drawn around the "
       "Rastan-Talbiseh-Houla pocket; its southern edge stops short of "
       "Homs city. The real front line was not a box.",
       NULL},
      {"astana-eastern-ghouta", "Eastern Ghouta de-escalation area",
       "Approximation: the part of Rural Damascus governorate (OCHA SY03) "
       "inside the box lon 36.33-36.56 E, lat 33.47-33.63 N, drawn around "
       "Douma. Jobar, inside Damascus governorate, is not included; the box "
       "also takes in government-held ground at its edges.",
       NULL},
      {"astana-south", "Southern de-escalation area",
       "Approximation: the union of Dar'a (SY12) and Quneitra (SY14) "
       "governorates, less the Israeli-occupied Golan Heights (the Natural "
       "Earth Israel polygon, about 1,100 km2 of OCHA's Quneitra; slivers "
       "under 1 km2 left where the two datasets' lines differ are dropped). "
       "The memorandum's area covered only parts of the two governorates "
       "(and of As-Sweida); government-held ground is included here.",
       NULL},
  };
  const size_t naz = sizeof az / sizeof az[0];
  GEOSGeometry *band = NULL;
  struct out_file o = {.f = NULL};
  double area_m2 = 0, depth_m = 0, border_m = 0;
  int rc;

  az[0].g = GEOSGeom_clone_r(c->gh, gov_get(gv, "SY07")->g);
  if (az[0].g == NULL) {
    rc = HV_ENOMEM;
    goto done;
  }
  if ((rc = gov_in_box(c, gv, "SY04", 36.45, 34.77, 36.95, 34.98, &az[1].g,
                       err)) != HV_OK ||
      (rc = gov_in_box(c, gv, "SY03", 36.33, 33.47, 36.56, 33.63, &az[2].g,
                       err)) != HV_OK ||
      (rc = gov_union_minus_israel(c, gv, "SY12", "SY14", &az[3].g, err)) !=
          HV_OK)
    goto done;
  for (size_t i = 0; i < naz; i++)
    if ((rc = ensure_valid(c, &az[i].g, az[i].id, err)) != HV_OK)
      goto done;
  if ((rc = border_band(c, &band, &area_m2, &depth_m, &border_m, err)) != HV_OK)
    goto done;

  if ((rc = out_open(c, &o, "zones.geojson", err)) != HV_OK)
    goto done;
  for (size_t i = 0; i < naz && rc == HV_OK; i++)
    rc = out_feature(c, &o, az[i].id, az[i].g,
                     astana_props(az[i].name, az[i].notes), err);
  if (rc == HV_OK)
    rc = out_feature(
        c, &o, "border-safe-zone", band,
        border_props("Proposed safe zone along the Turkish border (Azaz to "
                     "Jarablus)",
                     "safe",
                     "Proposed by Turkey and discussed with the United States "
                     "in July 2015; never established. Its mechanics (who "
                     "polices it, what is forbidden inside) were never "
                     "agreed, so it carries no rules.",
                     area_m2 / 1e6, depth_m / 1e3),
        err);
  if (rc == HV_OK)
    rc = out_feature(
        c, &o, "border-no-fly", band,
        border_props("Proposed no-fly zone over the border safe zone", "no_fly",
                     "The no-fly zone Turkey sought over the proposed safe "
                     "zone; proposed, never agreed or enforced. Rules: "
                     "humanitarian flights of every party permitted; fixed-"
                     "wing, rotary and UAV aircraft of the Syrian government "
                     "and Russia forbidden inside and overhead; no altitude "
                     "floor or ceiling.",
                     area_m2 / 1e6, depth_m / 1e3),
        err);
  if (rc == HV_OK)
    rc = out_close(&o, err);
  if (rc != HV_OK)
    goto done;
  printf("zones.geojson: %zu zones (4 Astana de-escalation areas, border safe "
         "zone, border no-fly zone; %zu at full precision); border band "
         "%.0f km2, max depth %.2f km, %.1f km of border between lon %.2f "
         "and %.2f\n",
         o.n, o.n_exact, area_m2 / 1e6, depth_m / 1e3, border_m / 1e3,
         BAND_LON_WEST, BAND_LON_EAST);
done:
  out_abort(&o);
  for (size_t i = 0; i < naz; i++)
    hv_geo_geom_free(c->geo, az[i].g);
  hv_geo_geom_free(c->geo, band);
  return rc;
}

/* ---- delineations -------------------------------------------------------- */

static int write_delineations(struct ctx *c, const struct govs *gv,
                              struct hv_error *err) {
  static const struct {
    const char *id, *party, *pcode, *notes;
  } dl[] = {
      {"del-2016-is-ar-raqqa", "is", "SY11",
       "Coarse approximation: the whole of Ar-Raqqa governorate as IS-held "
       "in 2016. The SDF held its northern edge (Tell Abyad, Ain Issa) and "
       "the Tabqa area changed hands in 2017."},
      {"del-2016-is-deir-ez-zor", "is", "SY09",
       "Coarse approximation: the whole of Deir-ez-Zor governorate as "
       "IS-held in 2016. Government forces held parts of Deir ez-Zor city "
       "and its airbase under siege throughout the year."},
      {"del-2016-sdf-al-hasakeh", "sdf", "SY08",
       "Coarse approximation: the whole of Al-Hasakeh governorate as "
       "SDF-held in 2016. The government kept enclaves in al-Hasakah city "
       "and Qamishli, and IS held the south (al-Shaddadi) until February "
       "2016."},
      {"del-2016-syr-gov-tartous", "syr-gov", "SY10",
       "Coarse approximation: the whole of Tartous governorate as "
       "government-held in 2016."},
  };
  struct out_file o;
  int rc = out_open(c, &o, "delineations.geojson", err);
  for (size_t i = 0; rc == HV_OK && i < sizeof dl / sizeof dl[0]; i++) {
    const struct gov *g = gov_get(gv, dl[i].pcode);
    char source[512];
    snprintf(source, sizeof source,
             "Shape: %s governorate from " OCHA_SOURCE
             "; presence: haven's coarse reading of the 2016 situation, "
             "not a published control map.",
             g->name);
    int bad = 0;
    json_t *p = json_object();
    put_str(p, "object", "delineation", &bad);
    put_str(p, "party", dl[i].party, &bad);
    put_str(p, "valid_from", "2016-01-01", &bad);
    put_str(p, "valid_to", "2017-01-01", &bad);
    put_str(p, "notes", dl[i].notes, &bad);
    put_str(p, "source", source, &bad);
    if (bad) {
      json_decref(p);
      p = NULL;
    }
    rc = out_feature(c, &o, dl[i].id, g->g, p, err);
  }
  if (rc == HV_OK)
    rc = out_close(&o, err);
  if (rc != HV_OK) {
    out_abort(&o);
    return rc;
  }
  printf("delineations.geojson: %zu presence areas for 2016 (whole "
         "governorates)\n",
         o.n);
  return HV_OK;
}

/* ---- CSV ----------------------------------------------------------------- */

/* One record of an RFC 4180 CSV: quoted fields may hold commas, doubled
 * quotes and line breaks. Fields are NUL-terminated strings in buf. */
struct csv_rec {
  char *buf;
  size_t len, cap;
  size_t *off;
  size_t nf, fcap;
};

static void csv_rec_free(struct csv_rec *r) {
  free(r->buf);
  free(r->off);
  memset(r, 0, sizeof *r);
}

static int rec_putc(struct csv_rec *r, char ch) {
  if (r->len == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 256;
    char *b = realloc(r->buf, cap);
    if (b == NULL)
      return HV_ENOMEM;
    r->buf = b;
    r->cap = cap;
  }
  r->buf[r->len++] = ch;
  return HV_OK;
}

static int rec_field_start(struct csv_rec *r) {
  if (r->nf == r->fcap) {
    size_t cap = r->fcap ? 2 * r->fcap : 16;
    size_t *o = realloc(r->off, cap * sizeof *o);
    if (o == NULL)
      return HV_ENOMEM;
    r->off = o;
    r->fcap = cap;
  }
  r->off[r->nf++] = r->len;
  return HV_OK;
}

static const char *rec_field(const struct csv_rec *r, size_t i) {
  return r->buf + r->off[i];
}

struct csv {
  const char *p, *end;
  long line; /* line of *p, from 1 */
};

/* Reads the next record. Returns 1 with a record (*rec_line = the line it
 * starts on), 0 at the end, or a negative HV_E* code. */
static int csv_next(struct csv *cs, struct csv_rec *r, long *rec_line,
                    const char *name, struct hv_error *err) {
  r->len = 0;
  r->nf = 0;
  if (cs->p >= cs->end)
    return 0;
  *rec_line = cs->line;
  int quoted = 0, rc;
  if ((rc = rec_field_start(r)) != HV_OK)
    return rc;
  while (cs->p < cs->end) {
    char ch = *cs->p++;
    if (quoted) {
      if (ch == '"') {
        if (cs->p < cs->end && *cs->p == '"') {
          cs->p++;
          rc = rec_putc(r, '"');
        } else {
          quoted = 0;
          rc = HV_OK;
        }
      } else {
        if (ch == '\n')
          cs->line++;
        rc = rec_putc(r, ch);
      }
    } else if (ch == '"') {
      quoted = 1;
      rc = HV_OK;
    } else if (ch == ',') {
      if ((rc = rec_putc(r, '\0')) == HV_OK)
        rc = rec_field_start(r);
    } else if (ch == '\r' && cs->p < cs->end && *cs->p == '\n') {
      continue;
    } else if (ch == '\n') {
      cs->line++;
      break;
    } else {
      rc = rec_putc(r, ch);
    }
    if (rc != HV_OK)
      return rc;
  }
  if (quoted)
    return hv_error_set(err, HV_EPARSE,
                        "%s: line %ld: quoted field not closed before the end "
                        "of the file",
                        name, *rec_line);
  if ((rc = rec_putc(r, '\0')) != HV_OK)
    return rc;
  return 1;
}

/* Reads a whole file into memory. Caller frees *out. */
static int read_file(const char *path, char **out, size_t *len,
                     struct hv_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return hv_error_set(err, HV_EIO, "%s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf != NULL) {
    if (n == cap) {
      char *b = realloc(buf, cap * 2);
      if (b == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = b;
      cap *= 2;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0)
      break;
  }
  int code = buf == NULL ? HV_ENOMEM : ferror(f) ? HV_EIO : HV_OK;
  fclose(f);
  if (code != HV_OK) {
    free(buf);
    return hv_error_set(err, code, "%s: read failed", path);
  }
  *out = buf;
  *len = n;
  return HV_OK;
}

/* ---- sites --------------------------------------------------------------- */

struct place_count {
  char *place;
  int n;
};

struct site {
  double lat, lon; /* of the first row seen at this facility */
  char first_date[11];
  char last_date[11];
  char *first_ref; /* ref of the earliest-dated row (first in file on ties) */
  char *first_desc;
  char **refs; /* distinct refs, in file order */
  size_t nrefs;
  size_t nrows;
  struct place_count *places;
  size_t nplaces;
  char *name;
  char id[65];
};

struct sites {
  struct site *v;
  size_t n, cap;
};

static void sites_free(struct sites *s) {
  for (size_t i = 0; i < s->n; i++) {
    struct site *t = &s->v[i];
    free(t->first_ref);
    free(t->first_desc);
    for (size_t k = 0; k < t->nrefs; k++)
      free(t->refs[k]);
    free(t->refs);
    for (size_t k = 0; k < t->nplaces; k++)
      free(t->places[k].place);
    free(t->places);
    free(t->name);
  }
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* Parses a decimal degree; 0 when blank, not a number, or out of range. */
static int parse_deg(const char *s, double limit, double *out) {
  while (*s == ' ')
    s++;
  if (*s == '\0')
    return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  while (*end == ' ')
    end++;
  if (errno != 0 || *end != '\0' || !isfinite(v) || v < -limit || v > limit)
    return 0;
  *out = v;
  return 1;
}

/* 1 when s is a date YYYY-MM-DD (month 01-12, day 01-31). */
static int is_date(const char *s) {
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
    return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
      return 0;
  int month = (s[5] - '0') * 10 + (s[6] - '0');
  int day = (s[8] - '0') * 10 + (s[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* The place as recorded, trimmed, control characters as spaces, without a
 * trailing " / NA"; "" if none. Caller frees. */
static char *clean_place(const char *s) {
  while (*s == ' ')
    s++;
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == ' ')
    n--;
  if (n >= 5 && memcmp(s + n - 5, " / NA", 5) == 0)
    n -= 5;
  if (n == 2 && memcmp(s, "NA", 2) == 0)
    n = 0;
  char *p = strndup(s, n);
  for (size_t i = 0; p && i < n; i++)
    if ((unsigned char)p[i] < 0x20)
      p[i] = ' ';
  return p;
}

static int str_push(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (nv == NULL)
    return HV_ENOMEM;
  *v = nv;
  if ((nv[*n] = strdup(s)) == NULL)
    return HV_ENOMEM;
  (*n)++;
  return HV_OK;
}

/* Adds one row to site t. */
static int site_add_row(struct site *t, const char *ref, const char *date,
                        const char *place, const char *desc) {
  int rc;
  t->nrows++;
  int seen = 0;
  for (size_t k = 0; k < t->nrefs && !seen; k++)
    seen = strcmp(t->refs[k], ref) == 0;
  if (!seen && ref[0] != '\0' &&
      (rc = str_push(&t->refs, &t->nrefs, ref)) != HV_OK)
    return rc;
  /* The first row gives the site its ref until a dated row comes; the
   * earliest-dated row (first in file on ties) keeps it. */
  int dated = is_date(date);
  if (t->first_ref == NULL || (dated && (t->first_date[0] == '\0' ||
                                         strcmp(date, t->first_date) < 0))) {
    if (dated)
      memcpy(t->first_date, date, 11);
    free(t->first_ref);
    free(t->first_desc);
    t->first_ref = strdup(ref);
    t->first_desc = strdup(desc);
    if (t->first_ref == NULL || t->first_desc == NULL)
      return HV_ENOMEM;
  }
  if (dated && strcmp(date, t->last_date) > 0)
    memcpy(t->last_date, date, 11);
  char *p = clean_place(place);
  if (p == NULL)
    return HV_ENOMEM;
  if (p[0] == '\0') {
    free(p);
    return HV_OK;
  }
  for (size_t k = 0; k < t->nplaces; k++)
    if (strcmp(t->places[k].place, p) == 0) {
      t->places[k].n++;
      free(p);
      return HV_OK;
    }
  struct place_count *np = realloc(t->places, (t->nplaces + 1) * sizeof *np);
  if (np == NULL) {
    free(p);
    return HV_ENOMEM;
  }
  t->places = np;
  np[t->nplaces].place = p;
  np[t->nplaces].n = 1;
  t->nplaces++;
  return HV_OK;
}

/* The site within SITE_MERGE_M of (lon, lat), or a new one. */
static int site_for(struct sites *s, double lon, double lat,
                    struct site **out) {
  for (size_t i = 0; i < s->n; i++)
    if (hv_geo_distance_m(lon, lat, s->v[i].lon, s->v[i].lat) <= SITE_MERGE_M) {
      *out = &s->v[i];
      return HV_OK;
    }
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 32;
    struct site *v = realloc(s->v, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    s->v = v;
    s->cap = cap;
  }
  *out = &s->v[s->n++];
  memset(*out, 0, sizeof **out);
  (*out)->lat = lat;
  (*out)->lon = lon;
  return HV_OK;
}

static int site_cmp(const void *a, const void *b) {
  const struct site *x = a, *y = b;
  int d = strcmp(x->first_date, y->first_date);
  if (d != 0)
    return d;
  return strcmp(x->first_ref ? x->first_ref : "",
                y->first_ref ? y->first_ref : "");
}

/* Looks up the columns the scenario needs in the header record: ref, date,
 * place, lat, lon (required) and description (optional: col[5] is then
 * SIZE_MAX). */
static int csv_columns(const struct csv_rec *r, const char *name, size_t col[6],
                       struct hv_error *err) {
  static const char *const want[6] = {"ref", "date", "place",
                                      "lat", "lon",  "description"};
  for (size_t w = 0; w < 6; w++) {
    size_t i;
    for (i = 0; i < r->nf; i++) {
      const char *f = rec_field(r, i);
      if (w == 0 && i == 0 && (unsigned char)f[0] == 0xEF &&
          (unsigned char)f[1] == 0xBB && (unsigned char)f[2] == 0xBF)
        f += 3; /* UTF-8 byte order mark */
      if (strcmp(f, want[w]) == 0)
        break;
    }
    if (i == r->nf && w == 5) {
      col[w] = SIZE_MAX;
      continue;
    }
    if (i == r->nf)
      return hv_error_set(err, HV_ESCHEMA,
                          "%s: line 1: no column \"%s\" in the header", name,
                          want[w]);
    col[w] = i;
  }
  return HV_OK;
}

static int load_sites(struct ctx *c, struct sites *s, size_t *nrows,
                      size_t *nskipped, size_t *ndistinct,
                      struct hv_error *err) {
  char path[4096];
  char *text = NULL;
  size_t len = 0;
  struct csv_rec r = {0};
  char **keys = NULL; /* the distinct "lat,lon" texts, for the summary */
  size_t nkeys = 0;
  *nrows = *nskipped = *ndistinct = 0;
  int rc = path_join(path, sizeof path, c->src_dir, MEDICAL_FILE, err);
  if (rc != HV_OK)
    return rc;
  if ((rc = read_file(path, &text, &len, err)) != HV_OK)
    return rc;
  struct csv cs = {text, text + len, 1};
  long line = 0;
  size_t col[6];
  rc = csv_next(&cs, &r, &line, path, err);
  if (rc == 0)
    rc = hv_error_set(err, HV_ESCHEMA, "%s: empty file", path);
  if (rc < 0 || (rc = csv_columns(&r, path, col, err)) != HV_OK)
    goto done;
  size_t nheader = r.nf;
  while ((rc = csv_next(&cs, &r, &line, path, err)) == 1) {
    if (r.nf == 1 && rec_field(&r, 0)[0] == '\0')
      continue; /* blank line */
    (*nrows)++;
    if (r.nf != nheader) {
      fprintf(stderr,
              "mkscenario: %s: line %ld: %zu fields, the header has %zu; "
              "row skipped\n",
              path, line, r.nf, nheader);
      (*nskipped)++;
      continue;
    }
    const char *lat_s = rec_field(&r, col[3]), *lon_s = rec_field(&r, col[4]);
    double lat = 0, lon = 0;
    if (!parse_deg(lat_s, 90, &lat) || !parse_deg(lon_s, 180, &lon)) {
      fprintf(stderr,
              "mkscenario: %s: line %ld: lat \"%s\" / lon \"%s\" blank or "
              "not a coordinate; row skipped\n",
              path, line, lat_s, lon_s);
      (*nskipped)++;
      continue;
    }
    char key[256];
    snprintf(key, sizeof key, "%s,%s", lat_s, lon_s);
    int seen = 0;
    for (size_t k = 0; k < nkeys && !seen; k++)
      seen = strcmp(keys[k], key) == 0;
    if (!seen && (rc = str_push(&keys, &nkeys, key)) != HV_OK)
      goto done;
    const char *date = rec_field(&r, col[1]);
    if (!is_date(date))
      fprintf(stderr,
              "mkscenario: %s: line %ld: date \"%s\" is not YYYY-MM-DD; the "
              "row counts for the site but not for its dates\n",
              path, line, date);
    struct site *t;
    if ((rc = site_for(s, lon, lat, &t)) != HV_OK ||
        (rc = site_add_row(
             t, rec_field(&r, col[0]), date, rec_field(&r, col[2]),
             col[5] == SIZE_MAX ? "" : rec_field(&r, col[5]))) != HV_OK)
      goto done;
  }
  if (rc == 0)
    rc = HV_OK;
  *ndistinct = nkeys;
done:
  for (size_t k = 0; k < nkeys; k++)
    free(keys[k]);
  free(keys);
  csv_rec_free(&r);
  free(text);
  return rc;
}

/* The place of t: one of the form "GOVERNORATE / town" when there is one
 * (the other source file drops the governorate), then the most frequent,
 * then the first seen. NULL when no row names a place. */
static const char *site_place(const struct site *t) {
  const struct place_count *best = NULL;
  int best_full = 0;
  for (size_t k = 0; k < t->nplaces; k++) {
    int full = strstr(t->places[k].place, " / ") != NULL;
    if (best == NULL || full > best_full ||
        (full == best_full && t->places[k].n > best->n)) {
      best = &t->places[k];
      best_full = full;
    }
  }
  return best ? best->place : NULL;
}

/* "site-" + the first ref, lowercased, outside [a-zA-Z0-9_.:-] as '-',
 * at most 64 characters; made unique with a "-2", "-3"... suffix. */
static void site_id(struct sites *s, size_t i) {
  struct site *t = &s->v[i];
  char base[65];
  const char *ref = t->first_ref && t->first_ref[0] ? t->first_ref : "x";
  int n = snprintf(base, sizeof base, "site-%s", ref);
  if (n < 0)
    base[0] = '\0';
  for (char *p = base; *p; p++) {
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p + 32);
    else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
               *p == '_' || *p == '.' || *p == ':' || *p == '-'))
      *p = '-';
  }
  memcpy(t->id, base, sizeof base);
  for (int k = 2;; k++) {
    int clash = 0;
    for (size_t j = 0; j < i && !clash; j++)
      clash = strcmp(s->v[j].id, t->id) == 0;
    if (!clash)
      return;
    char suffix[16];
    int sl = snprintf(suffix, sizeof suffix, "-%d", k);
    size_t bl = strlen(base);
    if (bl + (size_t)sl > 64)
      bl = 64 - (size_t)sl;
    memcpy(t->id, base, bl);
    memcpy(t->id + bl, suffix, (size_t)sl + 1);
  }
}

/* Names: "Medical facility, <place>", with " (k of n)" when n facilities
 * share a place (k in order of first documented attack). */
static int site_names(struct sites *s) {
  for (size_t i = 0; i < s->n; i++) {
    const char *p = site_place(&s->v[i]);
    size_t k = 0, n = 0;
    for (size_t j = 0; j < s->n; j++) {
      const char *q = site_place(&s->v[j]);
      if ((p == NULL) != (q == NULL) || (p && strcmp(p, q) != 0))
        continue;
      n++;
      if (j <= i)
        k++;
    }
    char name[512];
    int len;
    if (p == NULL)
      len = snprintf(name, sizeof name, "Medical facility at %.5f N %.5f E",
                     s->v[i].lat, s->v[i].lon);
    else if (n > 1)
      len = snprintf(name, sizeof name, "Medical facility, %s (%zu of %zu)", p,
                     k, n);
    else
      len = snprintf(name, sizeof name, "Medical facility, %s", p);
    if (len < 0)
      return HV_EINVAL;
    if ((s->v[i].name = strdup(name)) == NULL)
      return HV_ENOMEM;
  }
  return HV_OK;
}

/* Copies at most max bytes of s into buf (size > max) without cutting a
 * UTF-8 sequence, adding "..." when cut. */
static void utf8_clip(char *buf, size_t size, const char *s, size_t max) {
  size_t n = strlen(s);
  int cut = 0;
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
      n--;
    cut = 1;
  }
  if (n + 4 > size)
    n = size > 4 ? size - 4 : 0;
  memcpy(buf, s, n);
  if (cut)
    memcpy(buf + n, "...", 3), n += 3;
  buf[n] = '\0';
}

static json_t *site_props(const struct site *t) {
  char notes[1024], source[2048], desc[256];
  size_t used = 0;
  int n = snprintf(source, sizeof source,
                   "Syrian Archive (syrianarchive.org), record%s ",
                   t->nrefs == 1 ? "" : "s");
  used = n > 0 ? (size_t)n : 0;
  for (size_t k = 0; k < t->nrefs && used < sizeof source; k++) {
    n = snprintf(source + used, sizeof source - used, "%s%s", k ? ", " : "",
                 t->refs[k]);
    if (n > 0)
      used += (size_t)n;
  }
  if (used < sizeof source)
    snprintf(source + used, sizeof source - used,
             "; file syrianarchive_medical_facility_incidents.csv "
             "(CC BY-SA 4.0). Coordinates as published, rounded to 6 "
             "decimals.");
  utf8_clip(desc, sizeof desc, t->first_desc ? t->first_desc : "", 200);
  char span[64];
  if (strcmp(t->first_date, t->last_date) == 0)
    snprintf(span, sizeof span, "on %s", t->first_date);
  else
    snprintf(span, sizeof span, "from %s to %s", t->first_date, t->last_date);
  if (t->first_date[0])
    snprintf(notes, sizeof notes,
             "First documented attack: %s (%s). %zu distinct Syrian Archive "
             "record%s about attacks on this facility, %s. First record: "
             "\"%s\". Category \"hospital\" stands for a hospital, field "
             "hospital, clinic or medical point; radius 300 m is haven's "
             "choice.",
             t->first_date, t->first_ref, t->nrefs, t->nrefs == 1 ? "" : "s",
             span, desc);
  else
    snprintf(notes, sizeof notes,
             "%zu distinct Syrian Archive record%s, without a usable date. "
             "Radius 300 m is haven's choice.",
             t->nrefs, t->nrefs == 1 ? "" : "s");
  int bad = 0;
  json_t *p = json_object();
  put_str(p, "object", "site", &bad);
  put_str(p, "name", t->name, &bad);
  put_str(p, "category", "hospital", &bad);
  put(p, "radius_m", json_integer(SITE_RADIUS_M), &bad);
  put_str(p, "notified_by", "ocha", &bad);
  put_str(p, "notes", notes, &bad);
  put_str(p, "source", source, &bad);
  if (bad) {
    json_decref(p);
    return NULL;
  }
  return p;
}

static int write_sites(struct ctx *c, struct hv_error *err) {
  struct sites s = {0};
  struct out_file o = {.f = NULL};
  GEOSGeometry *pt = NULL;
  size_t nrows, nskipped, ndistinct;
  int rc = load_sites(c, &s, &nrows, &nskipped, &ndistinct, err);
  if (rc != HV_OK)
    goto done;
  if (s.n == 0) {
    rc = hv_error_set(err, HV_ESCHEMA, "%s: no row with a usable location",
                      MEDICAL_FILE);
    goto done;
  }
  qsort(s.v, s.n, sizeof s.v[0], site_cmp);
  for (size_t i = 0; i < s.n; i++)
    site_id(&s, i);
  if ((rc = site_names(&s)) != HV_OK)
    goto done;
  if ((rc = out_open(c, &o, "sites.geojson", err)) != HV_OK)
    goto done;
  for (size_t i = 0; i < s.n && rc == HV_OK; i++) {
    pt = GEOSGeom_createPointFromXY_r(c->gh, s.v[i].lon, s.v[i].lat);
    if (pt == NULL) {
      rc = HV_ENOMEM;
      break;
    }
    rc = out_feature(c, &o, s.v[i].id, pt, site_props(&s.v[i]), err);
    GEOSGeom_destroy_r(c->gh, pt);
    pt = NULL;
  }
  if (rc == HV_OK)
    rc = out_close(&o, err);
  if (rc != HV_OK)
    goto done;
  printf("sites.geojson: %zu protected sites (hospital, radius %d m) from %zu "
         "rows; %zu skipped; %zu distinct lat/lon texts, merged where they "
         "lie within %.0f m of each other\n",
         o.n, SITE_RADIUS_M, nrows, nskipped, ndistinct, SITE_MERGE_M);
done:
  out_abort(&o);
  sites_free(&s);
  return rc;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv) {
  if (argc != 3 || argv[1][0] == '\0' || argv[2][0] == '\0') {
    fprintf(stderr, "usage: mkscenario SRC_DIR OUT_DIR\n"
                    "  builds areas, zones, sites and delineations GeoJSON "
                    "from the sources in SRC_DIR (data/src)\n");
    return 2;
  }
  struct ctx c = {.src_dir = argv[1], .out_dir = argv[2]};
  struct hv_error err = {0};
  struct govs gv = {.n = 0};
  int rc = hv_geo_new(&c.geo);
  if (rc != HV_OK) {
    fprintf(stderr, "mkscenario: cannot start geometry: %s\n", hv_strerror(rc));
    return 1;
  }
  c.gh = hv_geo_geos(c.geo);
  if (mkdir(c.out_dir, 0777) != 0 && errno != EEXIST) {
    rc = hv_error_set(&err, HV_EIO, "%s: %s", c.out_dir, strerror(errno));
    goto done;
  }
  if ((rc = load_governorates(&c, &gv, &err)) != HV_OK ||
      (rc = write_areas(&c, &gv, &err)) != HV_OK ||
      (rc = write_zones(&c, &gv, &err)) != HV_OK ||
      (rc = write_delineations(&c, &gv, &err)) != HV_OK ||
      (rc = write_sites(&c, &err)) != HV_OK)
    goto done;
done:
  govs_free(&c, &gv);
  hv_geo_free(c.geo);
  if (rc != HV_OK) {
    fprintf(stderr, "mkscenario: %s\n", err.msg[0] ? err.msg : hv_strerror(rc));
    return 1;
  }
  return 0;
}
