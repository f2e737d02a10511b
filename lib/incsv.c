/*
 * incsv.c — incident features from the CSV files of conflict-event
 * datasets (UCDP GED, ACLED, Syrian Archive), the mapping of
 * docs/incident-csv.md.
 *
 * The file is streamed through libcsv in 64 KB reads, each read fed to the
 * parser one physical line at a time, so that every row knows the line it
 * starts on (a quoted field may hold newlines: the row keeps its first
 * line). The first row is the header: column names map to indexes, and a
 * missing required column fails the file before any row is read.
 *
 * Invariants:
 * - A row either becomes one Feature, or is listed as skipped (blank
 *   coordinates), or fails the whole file: on failure *out stays empty.
 * - Every error message names the file, the 1-based line and the column.
 * - Actor names are never dropped: each non-empty name is in "actors";
 *   the ones that resolve to no party are counted in the unresolved list.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "haven/incsv.h"

#define DAY_MS 86400000LL
#define NOTES_MAX 500  /* bytes of notes kept (cut at a UTF-8 boundary) */
#define SOURCE_MAX 200 /* bytes of a source text kept */

/* ---- formats and their columns ------------------------------------------ */

static const char *const FORMAT_NAMES[HV_INCSV_FORMAT_COUNT] = {
    "ucdp", "acled", "syrian-archive"};

const char *hv_incsv_format_name(enum hv_incsv_format f) {
  return (unsigned)f < HV_INCSV_FORMAT_COUNT ? FORMAT_NAMES[f] : "?";
}

int hv_incsv_format_parse(const char *name, enum hv_incsv_format *out,
                          struct hv_error *err) {
  for (int f = 0; f < HV_INCSV_FORMAT_COUNT; f++)
    if (name && strcmp(name, FORMAT_NAMES[f]) == 0) {
      *out = (enum hv_incsv_format)f;
      return HV_OK;
    }
  return hv_error_set(err, HV_EINVAL,
                      "format: \"%s\" is not a format (ucdp, acled, "
                      "syrian-archive)",
                      name ? name : "");
}

/* The columns read, per format. A column is found by its header name;
 * an optional one that is missing reads as empty. */
struct column {
  const char *name;
  int required;
};

enum {
  U_ID,
  U_TYPE,
  U_SIDE_A,
  U_SIDE_B,
  U_OFFICE,
  U_PREC,
  U_LAT,
  U_LON,
  U_CLARITY,
  U_START,
  U_END,
  U_BEST,
  U_N
};
static const struct column UCDP_COLS[U_N] = {
    {"id", 1},         {"type_of_violence", 1}, {"side_a", 1},
    {"side_b", 1},     {"source_office", 0},    {"where_prec", 1},
    {"latitude", 1},   {"longitude", 1},        {"event_clarity", 1},
    {"date_start", 1}, {"date_end", 1},         {"best", 1}};

enum {
  A_ID,
  A_DATE,
  A_TYPE,
  A_SUB,
  A_ACTOR1,
  A_ASSOC1,
  A_ACTOR2,
  A_ASSOC2,
  A_CIVTARGET,
  A_LAT,
  A_LON,
  A_PREC,
  A_SOURCE,
  A_FATALITIES,
  A_N
};
static const struct column ACLED_COLS[A_N] = {
    {"event_id_cnty", 1},  {"event_date", 1},    {"event_type", 1},
    {"sub_event_type", 0}, {"actor1", 1},        {"assoc_actor_1", 0},
    {"actor2", 1},         {"assoc_actor_2", 0}, {"civilian_targeting", 0},
    {"latitude", 1},       {"longitude", 1},     {"geo_precision", 1},
    {"source", 0},         {"fatalities", 1}};

enum { S_REF, S_PUBLISHED, S_SOURCE, S_LAT, S_LON, S_VIOLATION, S_DESC, S_N };
static const struct column SA_COLS[S_N] = {
    {"reference_code", 1}, {"published_utc", 1}, {"source", 0},
    {"lat_dd", 1},         {"lon_dd", 1},        {"violation_type", 1},
    {"description_en", 0}};

static const struct column *const FORMAT_COLS[HV_INCSV_FORMAT_COUNT] = {
    UCDP_COLS, ACLED_COLS, SA_COLS};
static const size_t FORMAT_NCOLS[HV_INCSV_FORMAT_COUNT] = {U_N, A_N, S_N};
static const char *const FORMAT_TITLES[HV_INCSV_FORMAT_COUNT] = {
    "a UCDP GED CSV file", "an ACLED CSV file",
    "a Syrian Archive alleged-attacks CSV file"};

/* struct reader keeps a column map of 16. */
_Static_assert(U_N <= 16 && A_N <= 16 && S_N <= 16, "column map too small");

/* The name UCDP gives the Russian government: Syrian Archive's files
 * allege Russian attacks, so that is the actor of every row. */
#define RUSSIA_NAME "Government of Russia (Soviet Union)"

/* ---- the reader ---------------------------------------------------------- */

struct reader {
  struct hv_db *db;
  enum hv_incsv_format fmt;
  const char *path;
  const struct hv_incsv_options *opt;
  struct hv_error *err;
  int rc; /* the first error; once set, rows are ignored */

  /* The row being assembled: its fields, NUL-terminated, packed in buf at
   * off[0..nf); row_line: the physical line it starts on. */
  char *buf;
  size_t len, cap;
  size_t *off;
  size_t nf, offcap;
  size_t line;     /* the line being fed to the parser */
  size_t row_line; /* the line the current row started on */
  int at_row_start;

  int header_done;
  size_t n_header;
  int col[16]; /* FORMAT_COLS index -> field index, -1 when missing */

  json_t *features; /* the "features" array being filled */
  json_t *unres;    /* unresolved name -> count (json integers) */
  struct hv_incsv_result *out;
  size_t skipped_cap;
};

/* Sets the error of the row being read: "file: line N: column: reason". */
static int fail(struct reader *r, int code, const char *column, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
static int fail(struct reader *r, int code, const char *column, const char *fmt,
                ...) {
  char reason[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (r->rc == HV_OK)
    r->rc = hv_error_set(r->err, code, "%s: line %zu: %s: %s", r->path,
                         r->row_line, column, reason);
  return r->rc;
}

static int nomem(struct reader *r) {
  if (r->rc == HV_OK)
    r->rc = hv_error_set(r->err, HV_ENOMEM, "%s: line %zu: out of memory",
                         r->path, r->row_line);
  return r->rc;
}

/* The value of column c of the current row ("" when the column is absent
 * from the file or the row is short). */
static const char *get(const struct reader *r, int c) {
  int i = r->col[c];
  return i >= 0 && (size_t)i < r->nf ? r->buf + r->off[i] : "";
}

static const char *colname(const struct reader *r, int c) {
  return FORMAT_COLS[r->fmt][c].name;
}

/* libcsv's field callback: appends the field to the current row. */
static void on_field(void *data, size_t n, void *ud) {
  struct reader *r = ud;
  if (r->rc != HV_OK)
    return;
  if (r->len + n + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + n + 1)
      cap *= 2;
    char *b = realloc(r->buf, cap);
    if (b == NULL) {
      nomem(r);
      return;
    }
    r->buf = b;
    r->cap = cap;
  }
  if (r->nf == r->offcap) {
    size_t cap = r->offcap ? r->offcap * 2 : 64;
    size_t *o = realloc(r->off, cap * sizeof *o);
    if (o == NULL) {
      nomem(r);
      return;
    }
    r->off = o;
    r->offcap = cap;
  }
  r->off[r->nf++] = r->len;
  if (n)
    memcpy(r->buf + r->len, data, n);
  r->len += n;
  r->buf[r->len++] = '\0';
}

/* ---- values -------------------------------------------------------------- */

/* A finite number in [lo, hi], the whole field; what names it in errors
 * ("a latitude"). */
static int number(struct reader *r, int c, double lo, double hi,
                  const char *what, double *out) {
  const char *s = get(r, c);
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo ||
      v > hi)
    return fail(r, HV_EPARSE, colname(r, c), "\"%s\" is not %s (%g to %g)", s,
                what, lo, hi);
  *out = v;
  return HV_OK;
}

/* A decimal integer in [lo, hi], the whole field. */
static int integer(struct reader *r, int c, long lo, long hi, const char *what,
                   long *out) {
  const char *s = get(r, c);
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno == ERANGE || v < lo || v > hi)
    return fail(r, HV_EPARSE, colname(r, c), "\"%s\" is not %s (%ld to %ld)", s,
                what, lo, hi);
  *out = v;
  return HV_OK;
}

/* A date "YYYY-MM-DD": its midnight UTC in *ms. */
static int date(struct reader *r, int c, int64_t *ms) {
  const char *s = get(r, c);
  if (strlen(s) != 10 || hv_time_parse(s, ms) != HV_OK)
    return fail(r, HV_EPARSE, colname(r, c),
                "\"%s\" is not a date (YYYY-MM-DD)", s);
  return HV_OK;
}

/* An incident id: prefix and the dataset's id, which must be an id. */
static int make_id(struct reader *r, int c, const char *prefix, char *buf,
                   size_t size) {
  const char *s = get(r, c);
  int n = snprintf(buf, size, "%s-%s", prefix, s);
  int ok = *s && n > 0 && (size_t)n < size && (size_t)n <= HV_ID_MAX;
  for (const char *p = s; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == ':' ||
         *p == '-';
  if (!ok)
    return fail(r, HV_EPARSE, colname(r, c),
                "\"%s\" cannot make an incident id (1-%d of A-Z a-z 0-9 _ . "
                ": - with the prefix \"%s-\")",
                s, HV_ID_MAX, prefix);
  return HV_OK;
}

/* Copies at most max bytes of s into a new json string, cut at a UTF-8
 * character boundary (never inside a multi-byte sequence). */
static json_t *utf8_cut(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
      n--;
  }
  return json_stringn(s, n);
}

/* Blank: empty or only spaces. */
static int blank(const char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  return *s == '\0';
}

/* ---- actors -------------------------------------------------------------- */

/* Names that stand for civilians ("Civilians", ACLED's "Civilians
 * (Syria)"): the target, never a party; not resolved, not counted. */
static int civilians_name(const char *name) {
  return strcasecmp(name, "Civilians") == 0 ||
         strncasecmp(name, "Civilians (", 11) == 0;
}

/* Adds name to actors (when non-empty and not there yet). */
static int add_actor(struct reader *r, json_t *actors, const char *name) {
  if (blank(name))
    return HV_OK;
  size_t i;
  json_t *a;
  json_array_foreach(actors, i, a) if (strcmp(json_string_value(a), name) ==
                                       0) return HV_OK;
  if (json_array_append_new(actors, json_string(name)) != 0)
    return nomem(r);
  return HV_OK;
}

/* The party id that name resolves to, or NULL (the name is then counted as
 * unresolved, unless blank or civilians). */
static const char *resolve(struct reader *r, const char *name) {
  if (blank(name) || civilians_name(name))
    return NULL;
  const struct hv_object *p = hv_db_party_by_alias(r->db, name);
  if (p)
    return p->id;
  json_t *c = json_object_get(r->unres, name);
  json_int_t n = c ? json_integer_value(c) + 1 : 1;
  if (json_object_set_new(r->unres, name, json_integer(n)) != 0)
    nomem(r);
  return NULL;
}

/* Appends id to sides unless NULL or already there (at most 2). */
static void add_side(json_t *sides, const char *id) {
  if (id == NULL || json_array_size(sides) >= 2)
    return;
  size_t i;
  json_t *a;
  json_array_foreach(sides, i,
                     a) if (strcmp(json_string_value(a), id) == 0) return;
  json_array_append_new(sides, json_string(id));
}

/* ---- times --------------------------------------------------------------- */

/* "YYYY-MM-DD" of t_ms (UTC) into buf (>= 32). */
static const char *day_text(int64_t t_ms, char *buf, size_t size) {
  hv_time_format(t_ms, buf, size);
  buf[10] = '\0';
  return buf;
}

/* Sets time / time_end for the days [d0, d1] (midnights UTC, inclusive)
 * local to the file's UTC offset (docs/incident-csv.md "Times"). */
static int set_days(struct reader *r, json_t *props, int64_t d0, int64_t d1) {
  const char *off = r->opt ? r->opt->utc_offset : NULL;
  int has_off = off && *off && strcmp(off, "Z") != 0;
  char a[32], b[32], t[64];
  day_text(d0, a, sizeof a);
  day_text(d1 + DAY_MS, b, sizeof b);
  int bad = 0;
  if (has_off) {
    snprintf(t, sizeof t, "%sT00:00:00%s", a, off);
    bad |= json_object_set_new(props, "time", json_string(t));
    snprintf(t, sizeof t, "%sT00:00:00%s", b, off);
    bad |= json_object_set_new(props, "time_end", json_string(t));
  } else {
    bad |= json_object_set_new(props, "time", json_string(a));
    if (d1 > d0)
      bad |= json_object_set_new(props, "time_end", json_string(b));
  }
  return bad ? nomem(r) : HV_OK;
}

/* ---- rows ---------------------------------------------------------------- */

/* A new incident Feature with id and point; its properties in *props. */
static json_t *feature(const char *id, double lon, double lat, json_t **props) {
  *props = json_pack("{s:s}", "object", "incident");
  json_t *f = json_pack("{s:s,s:s,s:{s:s,s:[f,f]},s:o}", "type", "Feature",
                        "id", id, "geometry", "type", "Point", "coordinates",
                        lon, lat, "properties", *props);
  return f;
}

/* Sets key to the string s (a copy). */
static int set_s(struct reader *r, json_t *props, const char *key,
                 const char *s) {
  if (json_object_set_new(props, key, json_string(s)) != 0)
    return nomem(r);
  return HV_OK;
}

/* "<dataset> (<source>)", the source cut to SOURCE_MAX bytes; the
 * dataset alone when the source is blank. Semicolon-separated repeats
 * ("SOHR;SOHR") are given once. */
static int set_source(struct reader *r, json_t *props, const char *dataset,
                      const char *src) {
  char parts[SOURCE_MAX + 1] = "";
  size_t used = 0;
  const char *p = src;
  while (*p && used < SOURCE_MAX) {
    const char *e = strchr(p, ';');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && (*p == ' ' || *p == '\t'))
      p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
      n--;
    /* Already listed? */
    int seen = 0;
    for (const char *q = parts; n && *q && !seen;) {
      const char *qe = strstr(q, "; ");
      size_t qn = qe ? (size_t)(qe - q) : strlen(q);
      seen = qn == n && strncmp(q, p, n) == 0;
      q = qe ? qe + 2 : q + qn;
    }
    if (n && !seen)
      used += (size_t)snprintf(parts + used, sizeof parts - used, "%s%.*s",
                               used ? "; " : "", (int)n, p);
    if (used >= sizeof parts)
      used = sizeof parts - 1;
    p = e ? e + 1 : p + strlen(p);
  }
  json_t *cut = utf8_cut(parts, SOURCE_MAX);
  char text[SOURCE_MAX + 64];
  if (cut == NULL)
    return nomem(r);
  if (json_string_length(cut))
    snprintf(text, sizeof text, "%s (%s)", dataset, json_string_value(cut));
  else
    snprintf(text, sizeof text, "%s", dataset);
  json_decref(cut);
  return set_s(r, props, "source", text);
}

/* The point of the row, or *skip when a coordinate is blank. */
static int point(struct reader *r, int clat, int clon, double *lon, double *lat,
                 int *skip) {
  *skip = blank(get(r, clat)) || blank(get(r, clon));
  if (*skip)
    return HV_OK;
  int rc = number(r, clat, -90, 90, "a latitude", lat);
  if (rc == HV_OK)
    rc = number(r, clon, -180, 180, "a longitude", lon);
  return rc;
}

static int ucdp_row(struct reader *r, json_t *props) {
  long type, prec, clarity, best;
  int64_t d0, d1;
  int rc;
  if ((rc = integer(r, U_TYPE, 1, 3, "a UCDP type_of_violence", &type)) ||
      (rc = integer(r, U_PREC, 1, 7, "a UCDP where_prec", &prec)) ||
      (rc = integer(r, U_CLARITY, 1, 2, "a UCDP event_clarity", &clarity)) ||
      (rc = integer(r, U_BEST, 0, 100000000, "a count of deaths", &best)) ||
      (rc = date(r, U_START, &d0)) || (rc = date(r, U_END, &d1)))
    return rc;
  if (d1 < d0)
    return fail(r, HV_EPARSE, colname(r, U_END),
                "\"%s\" is before date_start \"%s\"", get(r, U_END),
                get(r, U_START));
  if ((rc = set_days(r, props, d0, d1)) != HV_OK)
    return rc;
  static const char *const PREC[8] = {NULL,       "exact",    "near",
                                      "district", "province", "country",
                                      "country",  "country"};
  const char *side_a = get(r, U_SIDE_A), *side_b = get(r, U_SIDE_B);
  const char *pa = resolve(r, side_a);
  const char *pb = resolve(r, side_b); /* one-sided: "Civilians" */
  json_t *sides = json_array(), *actors = json_array();
  json_object_set_new(props, "sides", sides);
  json_object_set_new(props, "actors", actors);
  add_side(sides, pa);
  if (type == 3) {
    set_s(r, props, "event_type", "Violence against civilians");
    set_s(r, props, "sub_event_type", "Attack");
    if (pa) {
      set_s(r, props, "perpetrator", pa);
      set_s(r, props, "perpetrator_certainty", "known");
    }
    set_s(r, props, "target", "civilians");
  } else {
    add_side(sides, pb);
    set_s(r, props, "event_type", "Battles");
    set_s(r, props, "sub_event_type", "Armed clash");
    set_s(r, props, "target", "party");
    if (pb)
      set_s(r, props, "target_party", pb);
  }
  add_actor(r, actors, side_a);
  add_actor(r, actors, side_b);
  set_s(r, props, "location_precision", PREC[prec]);
  json_object_set_new(props, "fatalities", json_integer(best));
  set_source(r, props, "UCDP GED 19.1", get(r, U_OFFICE));
  char sid[128];
  snprintf(sid, sizeof sid, "ucdp:%s", get(r, U_ID));
  set_s(r, props, "source_id", sid);
  set_s(r, props, "confidence", clarity == 1 ? "medium" : "low");
  return r->rc;
}

static int acled_row(struct reader *r, json_t *props) {
  static const char *const TYPES[] = {"Battles",
                                      "Explosions/Remote violence",
                                      "Violence against civilians",
                                      "Protests",
                                      "Riots",
                                      "Strategic developments"};
  static const char *const PREC[4] = {NULL, "exact", "near", "province"};
  const char *et = get(r, A_TYPE);
  size_t ti = 0;
  while (ti < 6 && strcmp(TYPES[ti], et) != 0)
    ti++;
  if (ti == 6)
    return fail(r, HV_EPARSE, colname(r, A_TYPE),
                "\"%s\" is not an ACLED event type (Battles, "
                "Explosions/Remote violence, Violence against civilians, "
                "Protests, Riots, Strategic developments)",
                et);
  long prec, deaths;
  int64_t d;
  int rc;
  if ((rc = integer(r, A_PREC, 1, 3, "an ACLED geo_precision", &prec)) ||
      (rc = integer(r, A_FATALITIES, 0, 100000000, "a count of deaths",
                    &deaths)) ||
      (rc = date(r, A_DATE, &d)) || (rc = set_days(r, props, d, d)))
    return rc;
  const char *a1 = get(r, A_ACTOR1), *a2 = get(r, A_ACTOR2);
  const char *p1 = resolve(r, a1), *p2 = resolve(r, a2);
  json_t *sides = json_array(), *actors = json_array();
  json_object_set_new(props, "sides", sides);
  json_object_set_new(props, "actors", actors);
  add_side(sides, p1);
  add_side(sides, p2);
  add_actor(r, actors, a1);
  add_actor(r, actors, get(r, A_ASSOC1));
  add_actor(r, actors, a2);
  add_actor(r, actors, get(r, A_ASSOC2));
  set_s(r, props, "event_type", et);
  if (!blank(get(r, A_SUB)))
    set_s(r, props, "sub_event_type", get(r, A_SUB));
  /* ACLED codes actor1 as the one who acted: in a strike or an attack on
   * civilians, the perpetrator; a battle is a clash of both sides. */
  if (p1 && (ti == 1 || ti == 2)) {
    set_s(r, props, "perpetrator", p1);
    set_s(r, props, "perpetrator_certainty", "known");
  }
  if (!blank(get(r, A_CIVTARGET)) || ti == 2) {
    set_s(r, props, "target", "civilians");
  } else if (p2) {
    set_s(r, props, "target", "party");
    set_s(r, props, "target_party", p2);
  } else {
    set_s(r, props, "target", "unknown");
  }
  set_s(r, props, "location_precision", PREC[prec]);
  json_object_set_new(props, "fatalities", json_integer(deaths));
  set_source(r, props, "ACLED", get(r, A_SOURCE));
  char sid[128];
  snprintf(sid, sizeof sid, "acled:%s", get(r, A_ID));
  set_s(r, props, "source_id", sid);
  set_s(r, props, "confidence", "medium");
  return r->rc;
}

static int sa_row(struct reader *r, json_t *props) {
  const char *pub = get(r, S_PUBLISHED);
  int64_t t1;
  if (hv_time_parse(pub, &t1) != HV_OK || strlen(pub) <= 10)
    return fail(r, HV_EPARSE, colname(r, S_PUBLISHED),
                "\"%s\" is not an RFC 3339 time "
                "(2016-03-14T17:37:31.000Z)",
                pub);
  int lag = r->opt && r->opt->lag_days > 0 ? r->opt->lag_days : 7;
  char a[32], b[32];
  set_s(r, props, "time", hv_time_format(t1 - lag * DAY_MS, a, sizeof a));
  set_s(r, props, "time_end", hv_time_format(t1, b, sizeof b));
  set_s(r, props, "location_precision", "near");
  json_object_set_new(props, "uncertainty_m", json_integer(1000));
  set_s(r, props, "event_type", "Explosions/Remote violence");
  set_s(r, props, "sub_event_type", "Air/drone strike");
  const char *ru = resolve(r, RUSSIA_NAME);
  json_t *sides = json_array();
  json_object_set_new(props, "sides", sides);
  if (ru) {
    /* The file's title: "alleged" Russian attacks. */
    set_s(r, props, "perpetrator", ru);
    set_s(r, props, "perpetrator_certainty", "suspected");
    add_side(sides, ru);
  }
  json_object_set_new(props, "actors", json_pack("[s]", RUSSIA_NAME));
  set_s(r, props, "target",
        strcasestr(get(r, S_VIOLATION), "civilian") ? "civilians" : "unknown");
  set_s(r, props, "confidence", "low");
  set_source(r, props, "Syrian Archive", get(r, S_SOURCE));
  char sid[128];
  snprintf(sid, sizeof sid, "syrianarchive:%s", get(r, S_REF));
  set_s(r, props, "source_id", sid);
  if (!blank(get(r, S_DESC)))
    json_object_set_new(props, "notes", utf8_cut(get(r, S_DESC), NOTES_MAX));
  return r->rc;
}

/* Notes row_line as skipped (no usable location). */
static int skip_row(struct reader *r) {
  struct hv_incsv_result *o = r->out;
  if (o->skipped == r->skipped_cap) {
    size_t cap = r->skipped_cap ? r->skipped_cap * 2 : 16;
    size_t *v = realloc(o->skipped_lines, cap * sizeof *v);
    if (v == NULL)
      return nomem(r);
    o->skipped_lines = v;
    r->skipped_cap = cap;
  }
  o->skipped_lines[o->skipped++] = r->row_line;
  return HV_OK;
}

/* The header row: column indexes, or the first required column missing. */
static int header(struct reader *r) {
  const struct column *cols = FORMAT_COLS[r->fmt];
  /* A UTF-8 byte order mark before the first name is not part of it. */
  if (r->nf && strncmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
    r->off[0] += 3;
  r->n_header = r->nf;
  for (size_t c = 0; c < FORMAT_NCOLS[r->fmt]; c++) {
    r->col[c] = -1;
    for (size_t i = 0; i < r->nf && r->col[c] < 0; i++)
      if (strcmp(r->buf + r->off[i], cols[c].name) == 0)
        r->col[c] = (int)i;
    if (r->col[c] < 0 && cols[c].required)
      return fail(r, HV_EPARSE, cols[c].name,
                  "no such column in the header row (%s has one; is "
                  "the format right?)",
                  FORMAT_TITLES[r->fmt]);
  }
  r->header_done = 1;
  return HV_OK;
}

/* The columns read must be UTF-8 (JSON strings are): jansson refuses
 * anything else, which is how it is checked here. */
static int utf8_fields(struct reader *r) {
  for (size_t c = 0; c < FORMAT_NCOLS[r->fmt]; c++) {
    json_t *s = json_string(get(r, (int)c));
    if (s == NULL)
      return fail(r, HV_EPARSE, colname(r, (int)c),
                  "not UTF-8 text (convert the file to UTF-8)");
    json_decref(s);
  }
  return HV_OK;
}

/* One data row: a Feature appended, or the row skipped. */
static int data_row(struct reader *r) {
  static const int LAT[] = {U_LAT, A_LAT, S_LAT}, LON[] = {U_LON, A_LON, S_LON};
  static const int ID[] = {U_ID, A_ID, S_REF};
  static const char *const PREFIX[] = {"ucdp", "acled", "syrianarchive"};
  r->out->rows++;
  if (r->nf != r->n_header)
    return fail(r, HV_EPARSE, "(row)",
                "has %zu fields, the header names %zu columns", r->nf,
                r->n_header);
  char id[HV_ID_MAX + 32];
  double lon = 0, lat = 0;
  int skip, rc;
  if ((rc = utf8_fields(r)) != HV_OK)
    return rc;
  if ((rc = make_id(r, ID[r->fmt], PREFIX[r->fmt], id, sizeof id)) ||
      (rc = point(r, LAT[r->fmt], LON[r->fmt], &lon, &lat, &skip)))
    return rc;
  if (skip)
    return skip_row(r);
  json_t *props;
  json_t *f = feature(id, lon, lat, &props);
  if (f == NULL)
    return nomem(r);
  rc = r->fmt == HV_INCSV_UCDP    ? ucdp_row(r, props)
       : r->fmt == HV_INCSV_ACLED ? acled_row(r, props)
                                  : sa_row(r, props);
  if (rc == HV_OK && json_array_append_new(r->features, f) != 0)
    return nomem(r);
  if (rc != HV_OK)
    json_decref(f);
  return rc;
}

/* libcsv's row callback: the row is complete. */
static void on_row(int term, void *ud) {
  struct reader *r = ud;
  (void)term;
  if (r->rc == HV_OK)
    (void)(r->header_done ? data_row(r) : header(r));
  r->len = 0;
  r->nf = 0;
  r->at_row_start = 1;
}

/* ---- the file ------------------------------------------------------------ */

/* Feeds n bytes to the parser a physical line at a time, noting the line
 * each row starts on. */
static void feed(struct reader *r, struct csv_parser *p, const char *s,
                 size_t n) {
  while (n > 0 && r->rc == HV_OK) {
    const char *nl = memchr(s, '\n', n);
    size_t k = nl ? (size_t)(nl - s) + 1 : n;
    /* A row starts at the first byte that is not a blank line's. */
    if (r->at_row_start && !(k <= 2 && (s[0] == '\n' || s[0] == '\r'))) {
      r->row_line = r->line;
      r->at_row_start = 0;
    }
    if (csv_parse(p, s, k, on_field, on_row, r) != k && r->rc == HV_OK)
      r->rc = hv_error_set(r->err, HV_EPARSE, "%s: line %zu: %s", r->path,
                           r->line, csv_strerror(csv_error(p)));
    if (nl)
      r->line++;
    s += k;
    n -= k;
  }
}

/* Sorts unresolved names: count descending, then name. */
static int unres_cmp(const void *a, const void *b) {
  const struct hv_incsv_unresolved *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Moves the unresolved counts into out, sorted. */
static int collect_unresolved(struct reader *r) {
  size_t n = json_object_size(r->unres);
  if (n == 0)
    return HV_OK;
  struct hv_incsv_unresolved *v = calloc(n, sizeof *v);
  if (v == NULL)
    return nomem(r);
  r->out->unresolved = v;
  const char *k;
  json_t *c;
  size_t i = 0;
  json_object_foreach(r->unres, k, c) {
    if ((v[i].name = strdup(k)) == NULL)
      return nomem(r);
    v[i].count = (size_t)json_integer_value(c);
    r->out->n_unresolved = ++i;
  }
  qsort(v, n, sizeof *v, unres_cmp);
  return HV_OK;
}

/* "+HH:MM" / "-HH:MM" (up to 14:00), or NULL / "" / "Z". */
static int offset_ok(const char *s) {
  if (s == NULL || *s == '\0' || strcmp(s, "Z") == 0)
    return 1;
  return strlen(s) == 6 && (s[0] == '+' || s[0] == '-') &&
         isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
         s[3] == ':' && isdigit((unsigned char)s[4]) &&
         isdigit((unsigned char)s[5]) &&
         (s[1] - '0') * 10 + (s[2] - '0') <= 14 && s[4] <= '5';
}

int hv_incsv_read(struct hv_db *db, enum hv_incsv_format f, const char *path,
                  const struct hv_incsv_options *opt,
                  struct hv_incsv_result *out, struct hv_error *err) {
  memset(out, 0, sizeof *out);
  if ((unsigned)f >= HV_INCSV_FORMAT_COUNT)
    return hv_error_set(err, HV_EINVAL, "format: not a CSV format");
  if (opt && !offset_ok(opt->utc_offset))
    return hv_error_set(err, HV_EINVAL,
                        "utc offset: \"%s\" is not an offset (+02:00, "
                        "-05:00 or Z)",
                        opt->utc_offset);
  if (opt && (opt->lag_days < 0 || opt->lag_days > 3650))
    return hv_error_set(err, HV_EINVAL,
                        "lag days: %d is not a number of days (1 to 3650)",
                        opt->lag_days);
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return hv_error_set(err, HV_EIO, "%s: %s", path, strerror(errno));
  struct reader r = {.db = db,
                     .fmt = f,
                     .path = path,
                     .opt = opt,
                     .err = err,
                     .line = 1,
                     .row_line = 1,
                     .at_row_start = 1,
                     .out = out};
  struct csv_parser p;
  r.features = json_array();
  r.unres = json_object();
  if (r.features == NULL || r.unres == NULL ||
      csv_init(&p, CSV_APPEND_NULL) != 0) {
    fclose(fp);
    json_decref(r.features);
    json_decref(r.unres);
    return hv_error_set(err, HV_ENOMEM, "%s: out of memory", path);
  }
  enum { CHUNK = 65536 };
  char *chunk = malloc(CHUNK);
  size_t n;
  if (chunk == NULL)
    nomem(&r);
  while (r.rc == HV_OK && (n = fread(chunk, 1, CHUNK, fp)) > 0)
    feed(&r, &p, chunk, n);
  free(chunk);
  if (r.rc == HV_OK && ferror(fp))
    r.rc = hv_error_set(err, HV_EIO, "%s: %s", path, strerror(errno));
  if (r.rc == HV_OK)
    csv_fini(&p, on_field, on_row, &r);
  csv_free(&p);
  fclose(fp);
  if (r.rc == HV_OK && !r.header_done)
    fail(&r, HV_EPARSE, "(header)",
         "the file is empty: %s starts with a "
         "header row",
         FORMAT_TITLES[f]);
  if (r.rc == HV_OK)
    collect_unresolved(&r);
  if (r.rc == HV_OK &&
      (out->features = json_pack("{s:s,s:o}", "type", "FeatureCollection",
                                 "features", r.features)) == NULL)
    nomem(&r);
  else if (r.rc != HV_OK)
    json_decref(r.features);
  json_decref(r.unres);
  free(r.buf);
  free(r.off);
  if (r.rc != HV_OK)
    hv_incsv_result_free(out);
  return r.rc;
}

void hv_incsv_result_free(struct hv_incsv_result *r) {
  if (r == NULL)
    return;
  json_decref(r->features);
  free(r->skipped_lines);
  for (size_t i = 0; i < r->n_unresolved; i++)
    free(r->unresolved[i].name);
  free(r->unresolved);
  memset(r, 0, sizeof *r);
}
