/*
 * adjexport.c — querying and exporting the recorded adjudications: JSON,
 * NDJSON, CSV (one line per incident and agreement) and GeoJSON (one
 * Point Feature per incident), always through the principal's view.
 *
 * Invariants:
 * - every format is written from hv_adjudication_view_json, so what a
 *   principal may not see (a hidden site's id, a protected reporter's exact
 *   place) is never in any of them;
 * - the CSV has a fixed header and one line per matching row; fields are
 *   quoted per RFC 4180 whenever they hold a comma, a quote or a newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/adjudicate.h"

static const char *const FORMATS[HV_ADJ_FORMAT_COUNT] = {"json", "ndjson",
                                                         "csv", "geojson"};

const char *hv_adj_format_name(enum hv_adj_format f) {
  return (unsigned)f < HV_ADJ_FORMAT_COUNT ? FORMATS[f] : "?";
}

int hv_adj_format_parse(const char *name, enum hv_adj_format *out) {
  for (int i = 0; name && i < HV_ADJ_FORMAT_COUNT; i++)
    if (strcmp(FORMATS[i], name) == 0) {
      *out = (enum hv_adj_format)i;
      return HV_OK;
    }
  return HV_EINVAL;
}

static int has_row_conditions(const struct hv_adj_filter *f) {
  return f->agreement || f->cls || f->party || f->guarantor;
}

int hv_adj_row_matches(const struct hv_adj_row *r,
                       const struct hv_adj_filter *f) {
  if (f->agreement && strcmp(r->agreement, f->agreement) != 0)
    return 0;
  if (f->cls && (int)r->cls != f->cls - 1)
    return 0;
  if (f->party) {
    int in = strcmp(r->excluded_party, f->party) == 0;
    for (size_t k = 0; k < r->n_involved && !in; k++)
      in = strcmp(r->involved[k].party, f->party) == 0;
    if (!in)
      return 0;
  }
  if (f->guarantor) {
    int none = strcmp(f->guarantor, "none") == 0;
    int in = 0;
    for (size_t k = 0; k < r->n_involved && !in; k++)
      in = none ? r->involved[k].guarantor[0] == '\0'
                : strcmp(r->involved[k].guarantor, f->guarantor) == 0;
    if (!in)
      return 0;
  }
  return 1;
}

int hv_adj_matches(const struct hv_adjudication *a,
                   const struct hv_adj_filter *f) {
  int64_t end = a->t_end_ms > a->t_ms ? a->t_end_ms : a->t_ms + 1;
  if (f->from_ms && end <= f->from_ms)
    return 0;
  if (f->to_ms && a->t_ms >= f->to_ms)
    return 0;
  if (f->area && strcmp(a->area, f->area) != 0)
    return 0;
  if (f->zone) {
    int in = 0;
    for (size_t i = 0; i < a->n_zones && !in; i++)
      in = strcmp(a->zones[i].zone, f->zone) == 0;
    if (!in)
      return 0;
  }
  if (!has_row_conditions(f))
    return 1;
  for (size_t i = 0; i < a->n_rows; i++)
    if (hv_adj_row_matches(&a->rows[i], f))
      return 1;
  return 0;
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_field(FILE *out, const char *s, int last) {
  if (s == NULL)
    s = "";
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, out);
  } else {
    fputc('"', out);
    for (; *s; s++) {
      if (*s == '"')
        fputc('"', out);
      fputc(*s, out);
    }
    fputc('"', out);
  }
  fputc(last ? '\n' : ',', out);
}

static const char *jstr(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static const char CSV_HEADER[] =
    "incident,version,time,time_end,lon,lat,precision,uncertainty_m,area,"
    "action,fatalities,agreement,class,scope,zone,attributed,suspected,"
    "party_1,guarantor_1,party_2,guarantor_2,excluded_party,sites_hit,"
    "reason\n";

/* The CSV lines of one view (its rows matching f). Errors: HV_ENOMEM. */
static int write_csv(FILE *out, const json_t *v,
                      const struct hv_adjudication *a,
                      const struct hv_adj_filter *f) {
  char num[5][48];
  snprintf(num[0], sizeof num[0], "%lld",
           (long long)json_integer_value(json_object_get(v, "version")));
  snprintf(num[1], sizeof num[1], "%.6f",
           json_number_value(json_object_get(v, "lon")));
  snprintf(num[2], sizeof num[2], "%.6f",
           json_number_value(json_object_get(v, "lat")));
  snprintf(num[3], sizeof num[3], "%.0f",
           json_number_value(json_object_get(v, "uncertainty_m")));
  const json_t *fat = json_object_get(v, "fatalities");
  snprintf(num[4], sizeof num[4], "%lld",
           (long long)json_integer_value(fat));
  /* The sites hit, as the viewer may name them (their category when not),
   * joined by ";". */
  char *sites = NULL;
  size_t sites_len = 0, i;
  FILE *mem = open_memstream(&sites, &sites_len);
  json_t *h;
  json_array_foreach(json_object_get(v, "hits"), i, h) {
    const char *s = jstr(h, "site");
    if (mem)
      fprintf(mem, "%s%s", i ? ";" : "", s ? s : jstr(h, "category"));
  }
  if (mem == NULL || fclose(mem) != 0) {
    free(sites);
    return HV_ENOMEM;
  }
  json_t *r;
  json_array_foreach(json_object_get(v, "agreements"), i, r) {
    if (!hv_adj_row_matches(&a->rows[i], f))
      continue;
    const json_t *inv = json_object_get(r, "involved");
    const json_t *p1 = json_array_get(inv, 0), *p2 = json_array_get(inv, 1);
    csv_field(out, jstr(v, "incident"), 0);
    csv_field(out, num[0], 0);
    csv_field(out, jstr(v, "t"), 0);
    csv_field(out, jstr(v, "t_end"), 0);
    csv_field(out, num[1], 0);
    csv_field(out, num[2], 0);
    csv_field(out, jstr(v, "precision"), 0);
    csv_field(out, num[3], 0);
    csv_field(out, jstr(v, "area"), 0);
    csv_field(out, jstr(v, "action"), 0);
    csv_field(out, json_is_integer(fat) ? num[4] : "", 0);
    csv_field(out, jstr(r, "agreement"), 0);
    csv_field(out, jstr(r, "class"), 0);
    csv_field(out, jstr(r, "scope"), 0);
    csv_field(out, jstr(r, "zone"), 0);
    csv_field(out, json_is_true(json_object_get(r, "attributed")) ? "true"
                                                                  : "false",
              0);
    csv_field(out, json_is_true(json_object_get(r, "suspected")) ? "true"
                                                                 : "false",
              0);
    csv_field(out, jstr(p1, "party"), 0);
    csv_field(out, jstr(p1, "guarantor"), 0);
    csv_field(out, jstr(p2, "party"), 0);
    csv_field(out, jstr(p2, "guarantor"), 0);
    csv_field(out, jstr(r, "excluded_party"), 0);
    csv_field(out, sites, 0);
    csv_field(out, jstr(r, "reason"), 1);
  }
  free(sites);
  return HV_OK;
}

/* ---- GeoJSON ------------------------------------------------------------- */

static json_t *feature_of(json_t *v) {
  json_t *props = json_deep_copy(v);
  if (props == NULL)
    return NULL;
  double lon = json_number_value(json_object_get(v, "lon"));
  double lat = json_number_value(json_object_get(v, "lat"));
  json_object_del(props, "lon");
  json_object_del(props, "lat");
  return json_pack("{s:s,s:s,s:{s:s,s:[f,f]},s:o}", "type", "Feature", "id",
                   jstr(v, "incident"), "geometry", "type", "Point",
                   "coordinates", lon, lat, "properties", props);
}

int hv_db_adjudications_write(struct hv_db *db, const struct hv_principal *who,
                              const struct hv_adj_filter *f,
                              enum hv_adj_format fmt, FILE *out, size_t *n,
                              struct hv_error *err) {
  static const struct hv_adj_filter any = {0};
  if (f == NULL)
    f = &any;
  int rc = hv_db_records_load(db, err);
  if (rc != HV_OK)
    return rc;
  size_t written = 0;
  if (fmt == HV_ADJ_CSV)
    fputs(CSV_HEADER, out);
  else if (fmt == HV_ADJ_JSON)
    fputs("[", out);
  else if (fmt == HV_ADJ_GEOJSON)
    fputs("{\"type\":\"FeatureCollection\",\"features\":[", out);
  rc = HV_OK;
  for (size_t i = 0; rc == HV_OK && i < hv_db_adjudication_count(db); i++) {
    const struct hv_adjudication *a = hv_db_adjudication_at(db, i);
    if (a == NULL || !hv_adj_matches(a, f))
      continue;
    json_t *v = hv_adjudication_view_json(db, who, a);
    if (v == NULL) {
      rc = hv_error_set(err, HV_ENOMEM, "out of memory");
      break;
    }
    json_t *item = fmt == HV_ADJ_GEOJSON ? feature_of(v) : json_incref(v);
    if (item == NULL) {
      json_decref(v);
      rc = hv_error_set(err, HV_ENOMEM, "out of memory");
      break;
    }
    if (fmt == HV_ADJ_CSV) {
      if (write_csv(out, v, a, f) != HV_OK)
        rc = hv_error_set(err, HV_ENOMEM, "out of memory");
    } else {
      if ((fmt == HV_ADJ_JSON || fmt == HV_ADJ_GEOJSON) && written)
        fputs(",\n", out);
      json_dumpf(item, out, JSON_COMPACT | JSON_REAL_PRECISION(12));
      if (fmt == HV_ADJ_NDJSON)
        fputc('\n', out);
    }
    json_decref(item);
    json_decref(v);
    written++;
  }
  if (fmt == HV_ADJ_JSON)
    fputs("]\n", out);
  else if (fmt == HV_ADJ_GEOJSON)
    fputs("]}\n", out);
  if (rc == HV_OK && ferror(out))
    rc = hv_error_set(err, HV_EIO, "cannot write the export");
  if (n)
    *n = written;
  return rc;
}
