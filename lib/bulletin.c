/*
 * bulletin.c — the periodic report of a ceasefire mechanism
 * (haven/bulletin.h, docs/bulletin.md): counts of the recorded
 * adjudications of one agreement over a period and the one before it, and
 * its renderers (text, CSV, SVG).
 *
 * Invariants:
 * - every count is made in one pass over the latest recorded adjudications
 *   (hv_db_adjudication_at), by count_row alone: a row of the agreement is
 *   counted in at most one period, once in its class total, and, when it is
 *   a violation, exactly once in by_governorate, exactly once in by_party
 *   (its perpetrator, or "unattributed"), at least once in by_zone (each
 *   zone it is "in", or "none") and once per distinct guarantor bucket of
 *   its accused in by_guarantor (twice, and then once in totals.shared,
 *   when the two sides of an unattributed violation answer to different
 *   guarantors). The sums of docs/bulletin.md follow from that;
 * - the trend's last period is the current period, counted by the same
 *   pass: its entry equals the totals;
 * - only the site hits show anything about one incident's place, and they
 *   come from hv_adjudication_view_json as the principal may see them;
 * - the renderers read the JSON only, never the db: what they print is
 *   what an API client gets.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/adjudicate.h"
#include "haven/bulletin.h"

#define PERIOD_MAX_MS (366 * HV_BULLETIN_DAY_MS)

/* Keys of the buckets that are not registry ids. */
#define KEY_UNATTRIBUTED "unattributed"
#define KEY_NO_GUARANTOR "none"
#define KEY_NO_ZONE "none"
#define KEY_NO_AREA "unknown"

/* ---- counting ------------------------------------------------------------
 */

/* One bucket of a table: [0] the current period, [1] the previous. extra
 * is by_party's "involved" and by_guarantor's "unattributed". */
struct tally {
  char key[HV_ADJ_ID];
  long n[2];
  long extra[2];
};

struct table {
  struct tally *v;
  size_t n, cap;
};

/* The bucket of key in t, made (zero) when new; NULL when out of memory.
 * Tables hold tens of keys: a linear search is enough. */
static struct tally *tally_of(struct table *t, const char *key) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].key, key) == 0)
      return &t->v[i];
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    struct tally *v = realloc(t->v, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    t->v = v;
    t->cap = cap;
  }
  struct tally *x = &t->v[t->n++];
  memset(x, 0, sizeof *x);
  snprintf(x->key, sizeof x->key, "%s", key);
  return x;
}

/* Everything one pass counts. Period index p: 0 current, 1 previous. */
struct count {
  struct hv_db *db;
  const struct hv_principal *who;
  const char *agreement;
  int64_t from_ms, to_ms, len_ms;
  int trend_n;
  int64_t trend_from_ms; /* from_ms - (trend_n - 1) * len_ms */
  long cls[2][HV_CLASS_COUNT];
  long unattributed[2];
  long shared[2]; /* violations counted under two guarantors */
  long set_aside[2]; /* violations assessed disputed, unverifiable or
                        duplicate: counted here only */
  struct table party, guarantor, zone, area;
  long *trend_v, *trend_u; /* trend_n each */
  json_t *hits;            /* site hits of the current period */
  int oom;
};

static void count_free(struct count *c) {
  free(c->party.v);
  free(c->guarantor.v);
  free(c->zone.v);
  free(c->area.v);
  free(c->trend_v);
  free(c->trend_u);
  json_decref(c->hits);
}

/* Adds one to key's bucket in t for period p (and to its extra when
 * extra); notes running out of memory. */
static void bump(struct count *c, struct table *t, const char *key, int p,
                 int extra) {
  struct tally *x = tally_of(t, key);
  if (x == NULL) {
    c->oom = 1;
    return;
  }
  x->n[p]++;
  if (extra)
    x->extra[p]++;
}

static const char *guarantor_key(const struct hv_adj_party *ap) {
  return ap->guarantor[0] ? ap->guarantor : KEY_NO_GUARANTOR;
}

/* by_party: the perpetrator, or the "unattributed" row with each distinct
 * involved side's "involved" count raised (not its own count, so that the
 * table sums to the violations). */
static void count_party(struct count *c, const struct hv_adj_row *r, int p) {
  if (r->attributed && r->n_involved > 0) {
    bump(c, &c->party, r->involved[0].party, p, 0);
    return;
  }
  c->unattributed[p]++;
  bump(c, &c->party, KEY_UNATTRIBUTED, p, 0);
  for (size_t k = 0; k < r->n_involved; k++) {
    if (k == 1 && strcmp(r->involved[0].party, r->involved[1].party) == 0)
      break; /* one side named twice: once per incident */
    struct tally *x = tally_of(&c->party, r->involved[k].party);
    if (x == NULL)
      c->oom = 1;
    else
      x->extra[p]++;
  }
}

/* by_guarantor: each distinct guarantor bucket of the accused, once; a
 * violation with no accused is "none". Two buckets: one more in shared. */
static void count_guarantor(struct count *c, const struct hv_adj_row *r,
                            int p) {
  int unattr = !(r->attributed && r->n_involved > 0);
  size_t n = r->attributed ? (r->n_involved > 0) : r->n_involved;
  if (n == 0) {
    bump(c, &c->guarantor, KEY_NO_GUARANTOR, p, unattr);
    return;
  }
  const char *g0 = guarantor_key(&r->involved[0]);
  bump(c, &c->guarantor, g0, p, unattr);
  if (n == 2 && strcmp(g0, guarantor_key(&r->involved[1])) != 0) {
    bump(c, &c->guarantor, guarantor_key(&r->involved[1]), p, unattr);
    c->shared[p]++;
  }
}

static void count_zones(struct count *c, const struct hv_adjudication *a,
                        int p) {
  int any = 0;
  for (size_t i = 0; i < a->n_zones; i++)
    if (a->zones[i].m == HV_MEMBER_IN) {
      bump(c, &c->zone, a->zones[i].zone, p, 0);
      any = 1;
    }
  if (!any)
    bump(c, &c->zone, KEY_NO_ZONE, p, 0);
}

/* The one place where a row is counted (see the invariants above). aside:
 * a violation the coordinator assessed disputed, unverifiable or duplicate
 * (docs/bulletin.md "What is counted"). */
static void count_row(struct count *c, const struct hv_adjudication *a,
                      const struct hv_adj_row *r, int p, int aside) {
  if (aside) {
    c->set_aside[p]++;
    return;
  }
  c->cls[p][r->cls]++;
  if (r->cls != HV_CLASS_VIOLATION)
    return;
  bump(c, &c->area, a->area[0] ? a->area : KEY_NO_AREA, p, 0);
  count_party(c, r, p);
  count_guarantor(c, r, p);
  count_zones(c, a, p);
}

static void count_trend(struct count *c, const struct hv_adjudication *a,
                        const struct hv_adj_row *r, int aside) {
  if (a->t_ms < c->trend_from_ms || a->t_ms >= c->to_ms)
    return;
  int64_t i = (a->t_ms - c->trend_from_ms) / c->len_ms;
  if (r->cls == HV_CLASS_VIOLATION && !aside)
    c->trend_v[i]++;
  else if (r->cls == HV_CLASS_UNCERTAIN)
    c->trend_u[i]++;
}

/* The hits of a (current period) as who may see them, each with the
 * incident's id, time and class appended. */
static void collect_hits(struct count *c, const struct hv_adjudication *a,
                         const struct hv_adj_row *r) {
  json_t *view = hv_adjudication_view_json(c->db, c->who, a);
  if (view == NULL) {
    c->oom = 1;
    return;
  }
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(view, "hits"), i, h) {
    json_t *x = json_copy(h);
    if (x == NULL ||
        json_object_set(x, "incident", json_object_get(view, "incident")) ||
        json_object_set(x, "t", json_object_get(view, "t")) ||
        json_object_set_new(x, "class", json_string(hv_class_name(r->cls))) ||
        json_array_append_new(c->hits, x))
      c->oom = 1;
  }
  json_decref(view);
}

static const struct hv_adj_row *row_for(const struct hv_adjudication *a,
                                        const char *agreement) {
  for (size_t i = 0; i < a->n_rows; i++)
    if (strcmp(a->rows[i].agreement, agreement) == 0)
      return &a->rows[i];
  return NULL;
}

static void count_all(struct count *c) {
  size_t n = hv_db_adjudication_count(c->db);
  for (size_t i = 0; i < n && !c->oom; i++) {
    const struct hv_adjudication *a = hv_db_adjudication_at(c->db, i);
    const struct hv_adj_row *r = a ? row_for(a, c->agreement) : NULL;
    if (r == NULL)
      continue; /* deleted incident, or not in the agreement's validity */
    int p = a->t_ms >= c->from_ms && a->t_ms < c->to_ms                 ? 0
            : a->t_ms >= c->from_ms - c->len_ms && a->t_ms < c->from_ms ? 1
                                                                        : -1;
    int aside = r->cls == HV_CLASS_VIOLATION &&
                hv_db_review_sets_aside(c->db, a->incident, r->agreement);
    if (p >= 0)
      count_row(c, a, r, p, aside);
    count_trend(c, a, r, aside);
    if (p == 0 && a->n_hits > 0)
      collect_hits(c, a, r);
  }
}

/* ---- the JSON ------------------------------------------------------------
 */

static json_t *time_json(int64_t t_ms) {
  char buf[40];
  return json_string(hv_time_format(t_ms, buf, sizeof buf));
}

static json_t *triple(long cur, long prev) {
  return json_pack("{s:I,s:I,s:I}", "current", (json_int_t)cur, "previous",
                   (json_int_t)prev, "change", (json_int_t)(cur - prev));
}

static int tally_cmp(const void *x, const void *y) {
  const struct tally *a = x, *b = y;
  if (a->n[0] != b->n[0])
    return a->n[0] > b->n[0] ? -1 : 1;
  return strcmp(a->key, b->key);
}

/* The display name of a bucket: the registry object's, or one of the
 * fixed names of the special keys. */
static const char *bucket_name(struct hv_db *db, enum hv_kind kind,
                               const char *key) {
  const struct hv_object *o = hv_db_get(db, kind, key);
  if (o && o->name)
    return o->name;
  if (kind == HV_PARTY && strcmp(key, KEY_UNATTRIBUTED) == 0)
    return "unattributed (both sides involved)";
  if (kind == HV_ZONE && strcmp(key, KEY_NO_ZONE) == 0)
    return "outside every zone";
  if (kind == HV_PARTY && strcmp(key, KEY_NO_GUARANTOR) == 0)
    return "no guarantor";
  if (kind == HV_AREA && strcmp(key, KEY_NO_AREA) == 0)
    return "unknown governorate";
  return key;
}

/* A table as a JSON array, sorted by current count descending, then id.
 * extra_name: the member for the extra counts (NULL: none). */
static json_t *table_json(struct hv_db *db, struct table *t, enum hv_kind kind,
                          const char *extra_name) {
  if (t->n > 1)
    qsort(t->v, t->n, sizeof *t->v, tally_cmp);
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < t->n; i++) {
    const struct tally *x = &t->v[i];
    json_t *e = json_pack("{s:s,s:s,s:I,s:I,s:I}", "id", x->key, "name",
                          bucket_name(db, kind, x->key), "current",
                          (json_int_t)x->n[0], "previous", (json_int_t)x->n[1],
                          "change", (json_int_t)(x->n[0] - x->n[1]));
    if (e && extra_name)
      json_object_set_new(e, extra_name, triple(x->extra[0], x->extra[1]));
    if (e == NULL || json_array_append_new(arr, e)) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

/* The totals' member of each class, by enum hv_class: plurals as the
 * bulletin reads ("violations"), not the class names. */
static const char *const CLASS_TOTALS[HV_CLASS_COUNT] = {
    "violations", "uncertain", "excluded", "outside"};

static json_t *totals_json(const struct count *c) {
  json_t *t = json_object();
  for (int k = 0; t && k < HV_CLASS_COUNT; k++)
    json_object_set_new(t, CLASS_TOTALS[k], triple(c->cls[0][k], c->cls[1][k]));
  if (t) {
    json_object_set_new(t, "unattributed",
                        triple(c->unattributed[0], c->unattributed[1]));
    json_object_set_new(t, "shared", triple(c->shared[0], c->shared[1]));
    json_object_set_new(t, "set_aside",
                        triple(c->set_aside[0], c->set_aside[1]));
  }
  return t;
}

static json_t *trend_json(const struct count *c) {
  json_t *arr = json_array();
  for (int i = 0; arr && i < c->trend_n; i++) {
    int64_t f = c->trend_from_ms + (int64_t)i * c->len_ms;
    json_array_append_new(arr,
                          json_pack("{s:o,s:o,s:I,s:I}", "from", time_json(f),
                                    "to", time_json(f + c->len_ms),
                                    "violations", (json_int_t)c->trend_v[i],
                                    "uncertain", (json_int_t)c->trend_u[i]));
  }
  return arr;
}

static const char *hit_time(const json_t *h) {
  const char *s = json_string_value(json_object_get(h, "t"));
  return s ? s : "";
}

static int hit_cmp(const void *x, const void *y) {
  const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
  int d = strcmp(hit_time(a), hit_time(b));
  if (d)
    return d;
  const char *ia = json_string_value(json_object_get(a, "incident"));
  const char *ib = json_string_value(json_object_get(b, "incident"));
  return strcmp(ia ? ia : "", ib ? ib : "");
}

/* The hits sorted by time, then incident; one incident's hits keep the
 * view's order (nearest first): the sort is stable. */
static json_t *hits_sorted(json_t *hits) {
  size_t n = json_array_size(hits);
  json_t **v = n ? malloc(n * sizeof *v) : NULL;
  json_t *out = json_array();
  if ((n && v == NULL) || out == NULL) {
    free(v);
    json_decref(out);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    v[i] = json_array_get(hits, i);
  /* Insertion sort: stable, and a day's hits are few. */
  for (size_t i = 1; i < n; i++) {
    json_t *x = v[i];
    size_t j = i;
    while (j > 0 && hit_cmp(&v[j - 1], &x) > 0) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
  for (size_t i = 0; i < n; i++)
    json_array_append(out, v[i]);
  free(v);
  return out;
}

/* Reviews of the agreement with a step and no assessment yet. */
static json_t *open_reviews_json(struct hv_db *db, const char *agreement,
                                 int64_t now_ms) {
  json_t *arr = json_array();
  size_t n = hv_db_review_count(db);
  for (size_t i = 0; arr && i < n; i++) {
    const struct hv_review *r = hv_db_review_at(db, i);
    if (r && strcmp(r->agreement, agreement) == 0 && r->steps > 0 &&
        !hv_review_assessed(r->state))
      json_array_append_new(arr, hv_review_json(r, now_ms));
  }
  return arr;
}

static int zone_state_append(struct hv_db *db, json_t *arr, const char *id,
                             const struct hv_bulletin_opts *o, int64_t at_ms,
                             struct hv_error *err) {
  struct hv_zone_state st;
  int rc = hv_db_zone_state(db, id, at_ms, o->status, &st, err);
  if (rc != HV_OK)
    return rc;
  json_t *e = hv_zone_state_json(&st);
  if (e)
    json_object_set_new(e, "name",
                        json_string(bucket_name(db, HV_ZONE, st.zone)));
  if (e == NULL || json_array_append_new(arr, e))
    return hv_error_set(err, HV_ENOMEM, "zone_status: out of memory");
  return HV_OK;
}

/* The status at to_ms of each zone of the agreement's scope (nationwide:
 * every zone in force then), in id order. */
static int zone_status_json(struct hv_db *db, const struct hv_object *ag,
                            const struct hv_bulletin_opts *o, int64_t to_ms,
                            json_t **out, struct hv_error *err) {
  json_t *arr = json_array();
  int rc = arr ? HV_OK : HV_ENOMEM;
  if (ag->u.agreement.nationwide) {
    size_t n = hv_db_count(db, HV_ZONE);
    for (size_t i = 0; rc == HV_OK && i < n; i++) {
      const struct hv_object *z = hv_db_at(db, HV_ZONE, i);
      if (hv_zone_in_force(z, to_ms))
        rc = zone_state_append(db, arr, z->id, o, to_ms, err);
    }
  } else {
    for (hv_ids s = ag->u.agreement.scope; rc == HV_OK && s && *s; s++)
      if (hv_db_get(db, HV_ZONE, *s))
        rc = zone_state_append(db, arr, *s, o, to_ms, err);
  }
  if (rc != HV_OK) {
    json_decref(arr);
    return rc == HV_ENOMEM && arr == NULL
               ? hv_error_set(err, rc, "zone_status: out of memory")
               : rc;
  }
  *out = arr;
  return HV_OK;
}

/* ---- hv_db_bulletin ------------------------------------------------------
 */

/* The period of o, with the defaults of haven/bulletin.h. */
static int period_of(const struct hv_bulletin_opts *o, int64_t now_ms,
                     int64_t *from, int64_t *to, struct hv_error *err) {
  *from = o->from_ms;
  *to = o->to_ms;
  if (*from == 0 && *to == 0) {
    *to = now_ms - now_ms % HV_BULLETIN_DAY_MS; /* today, 00:00 UTC */
    *from = *to - HV_BULLETIN_DAY_MS;
  } else if (*to == 0) {
    *to = *from + HV_BULLETIN_DAY_MS;
  } else if (*from == 0) {
    *from = *to - HV_BULLETIN_DAY_MS;
  }
  if (*to <= *from)
    return hv_error_set(err, HV_EINVAL,
                        "to: %" PRId64 " is not after from (%" PRId64 ")", *to,
                        *from);
  if (*to - *from > PERIOD_MAX_MS)
    return hv_error_set(err, HV_EINVAL,
                        "to: the period is longer than 366 days");
  return HV_OK;
}

static int opts_check(struct hv_db *db, const struct hv_principal *who,
                      const struct hv_bulletin_opts *o,
                      const struct hv_object **ag, struct hv_error *err) {
  if (who == NULL || o == NULL)
    return hv_error_set(err, HV_EINVAL, "bulletin: no principal or options");
  if (o->agreement == NULL || o->agreement[0] == '\0')
    return hv_error_set(err, HV_EINVAL, "agreement: required");
  if (o->trend_periods < 0 || o->trend_periods > HV_BULLETIN_TREND_MAX)
    return hv_error_set(err, HV_EINVAL,
                        "trend_periods: %d is out of range (1 to %d)",
                        o->trend_periods, HV_BULLETIN_TREND_MAX);
  *ag = hv_db_get(db, HV_AGREEMENT, o->agreement);
  if (*ag == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "agreement: no agreement \"%s\"",
                        o->agreement);
  return HV_OK;
}

/* Assembles the bulletin from the counts; HV_ENOMEM or zone_status's. */
static int assemble(struct count *c, const struct hv_object *ag,
                    const struct hv_bulletin_opts *o, int64_t now_ms,
                    json_t **out, struct hv_error *err) {
  json_t *zs = NULL;
  int rc = zone_status_json(c->db, ag, o, c->to_ms, &zs, err);
  if (rc != HV_OK)
    return rc;
  json_t *b =
      json_pack("{s:{s:s,s:s?},s:{s:o,s:o},s:{s:o,s:o},s:o,s:I}", "agreement",
                "id", ag->id, "name", ag->name, "period", "from",
                time_json(c->from_ms), "to", time_json(c->to_ms),
                "previous_period", "from", time_json(c->from_ms - c->len_ms),
                "to", time_json(c->from_ms), "generated_at", time_json(now_ms),
                "basis", (json_int_t)hv_db_head_seq(c->db));
  /* One member at a time: json_object_set_new takes each value (freeing it
   * when it fails, b NULL included) and fails on a NULL one. */
  const struct {
    const char *key;
    json_t *value;
  } members[] = {
      {"totals", totals_json(c)},
      {"by_party", table_json(c->db, &c->party, HV_PARTY, "involved")},
      {"by_guarantor",
       table_json(c->db, &c->guarantor, HV_PARTY, "unattributed")},
      {"by_zone", table_json(c->db, &c->zone, HV_ZONE, NULL)},
      {"by_governorate", table_json(c->db, &c->area, HV_AREA, NULL)},
      {"site_hits", hits_sorted(c->hits)},
      {"open_reviews", open_reviews_json(c->db, c->agreement, now_ms)},
      {"zone_status", zs},
      {"trend", trend_json(c)},
  };
  int failed = b == NULL;
  for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
    failed |= json_object_set_new(b, members[i].key, members[i].value) != 0;
  if (failed) {
    json_decref(b);
    b = NULL;
  }
  if (b == NULL)
    return hv_error_set(err, HV_ENOMEM, "bulletin: out of memory");
  *out = b;
  return HV_OK;
}

int hv_db_bulletin(struct hv_db *db, const struct hv_principal *who,
                   const struct hv_bulletin_opts *o, json_t **out,
                   struct hv_error *err) {
  const struct hv_object *ag = NULL;
  int rc = opts_check(db, who, o, &ag, err);
  if (rc == HV_OK)
    rc = hv_db_records_load(db, err);
  if (rc != HV_OK)
    return rc;
  int64_t now_ms = hv_time_now_ms();
  struct count c = {.db = db, .who = who, .agreement = ag->id};
  rc = period_of(o, now_ms, &c.from_ms, &c.to_ms, err);
  if (rc != HV_OK)
    return rc;
  c.len_ms = c.to_ms - c.from_ms;
  c.trend_n = o->trend_periods ? o->trend_periods : HV_BULLETIN_TREND_DEFAULT;
  c.trend_from_ms = c.from_ms - (int64_t)(c.trend_n - 1) * c.len_ms;
  c.trend_v = calloc((size_t)c.trend_n, sizeof *c.trend_v);
  c.trend_u = calloc((size_t)c.trend_n, sizeof *c.trend_u);
  c.hits = json_array();
  if (c.trend_v == NULL || c.trend_u == NULL || c.hits == NULL)
    c.oom = 1;
  else
    count_all(&c);
  if (c.oom)
    rc = hv_error_set(err, HV_ENOMEM, "bulletin: out of memory");
  else
    rc = assemble(&c, ag, o, now_ms, out, err);
  count_free(&c);
  return rc;
}

/* ---- reading the JSON back (renderers) -----------------------------------
 */

static const char *str_at(const json_t *o, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : dflt;
}

static long long int_at(const json_t *o, const char *key) {
  return (long long)json_integer_value(json_object_get(o, key));
}

/* "+3", "-2", "0". */
static const char *signed_text(long long v, char *buf, size_t size) {
  snprintf(buf, size, v > 0 ? "+%lld" : "%lld", v);
  return buf;
}

/* ---- text ----------------------------------------------------------------
 */

/* The sections of the tables, in the order every renderer prints them. */
static const struct {
  const char *member, *title;
  const char *extra; /* the entries' second count, in the text only */
} TABLES[] = {
    {"by_party",
     "Violations by accused party (involved: sides of unattributed ones)",
     "involved"},
    {"by_guarantor",
     "Violations by accountable guarantor (unattributed: of which, through "
     "a side)",
     "unattributed"},
    {"by_zone", "Violations by zone", NULL},
    {"by_governorate", "Violations by governorate", NULL},
};
#define N_TABLES (sizeof TABLES / sizeof TABLES[0])

static const char *const TOTAL_KEYS[] = {
    "violations", "uncertain",    "excluded",
    "outside",    "unattributed", "shared",   "set_aside"};
#define N_TOTAL_KEYS (sizeof TOTAL_KEYS / sizeof TOTAL_KEYS[0])

#define NAME_COL_MAX 44

/* The bytes of s to print in at most max bytes without cutting a UTF-8
 * sequence. */
static int utf8_cut(const char *s, int max) {
  int n = (int)strlen(s);
  if (n <= max)
    return n;
  while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
    max--; /* s[max] continues a sequence: cut before its start */
  return max;
}

/* One line of a table; extra (may be NULL) is the entry's "involved" or
 * "unattributed" count, printed in a last column. */
static void text_row(FILE *f, int w_id, int w_name, const json_t *e,
                     const char *extra) {
  char b[32];
  const char *name = str_at(e, "name", "");
  int cut = utf8_cut(name, w_name);
  fprintf(f, "  %-*s  %.*s%*s  %7lld  %8lld  %6s", w_id, str_at(e, "id", ""),
          cut, name, w_name - cut, "", int_at(e, "current"),
          int_at(e, "previous"), signed_text(int_at(e, "change"), b, sizeof b));
  if (extra)
    fprintf(f, "  %12lld", int_at(json_object_get(e, extra), "current"));
  fputc('\n', f);
}

static void text_table(FILE *f, const char *title, const json_t *arr,
                       const char *extra) {
  int w_id = 2, w_name = 4;
  size_t i;
  const json_t *e;
  json_array_foreach(arr, i, e) {
    int a = (int)strlen(str_at(e, "id", "")),
        b = (int)strlen(str_at(e, "name", ""));
    w_id = a > w_id ? a : w_id;
    w_name = b > w_name ? b : w_name;
  }
  w_name = w_name > NAME_COL_MAX ? NAME_COL_MAX : w_name;
  fprintf(f, "\n%s\n", title);
  if (json_array_size(arr) == 0) {
    fprintf(f, "  (none)\n");
    return;
  }
  fprintf(f, "  %-*s  %-*s  %7s  %8s  %6s", w_id, "id", w_name, "name",
          "current", "previous", "change");
  if (extra)
    fprintf(f, "  %12s", extra);
  fputc('\n', f);
  json_array_foreach(arr, i, e) text_row(f, w_id, w_name, e, extra);
}

static void text_header(const json_t *b, FILE *f) {
  const json_t *ag = json_object_get(b, "agreement");
  const json_t *p = json_object_get(b, "period");
  const json_t *q = json_object_get(b, "previous_period");
  fprintf(f, "CEASEFIRE BULLETIN  %s  %s\n", str_at(ag, "id", "?"),
          str_at(ag, "name", ""));
  fprintf(f, "Period    %s .. %s\n", str_at(p, "from", "?"),
          str_at(p, "to", "?"));
  fprintf(f, "Previous  %s .. %s\n", str_at(q, "from", "?"),
          str_at(q, "to", "?"));
  fprintf(f, "Basis     ledger entry %lld; generated %s\n", int_at(b, "basis"),
          str_at(b, "generated_at", "?"));
}

static void text_totals(const json_t *b, FILE *f) {
  const json_t *t = json_object_get(b, "totals");
  fprintf(f, "\nTotals\n  %-12s  %7s  %8s  %6s\n", "class", "current",
          "previous", "change");
  for (size_t k = 0; k < N_TOTAL_KEYS; k++) {
    const json_t *x = json_object_get(t, TOTAL_KEYS[k]);
    char c[32];
    fprintf(f, "  %-12s  %7lld  %8lld  %6s\n", TOTAL_KEYS[k],
            int_at(x, "current"), int_at(x, "previous"),
            signed_text(int_at(x, "change"), c, sizeof c));
  }
  fputs("  (unattributed: violations by both sides, no perpetrator named;\n"
        "   shared: unattributed ones whose sides answer to two "
        "guarantors;\n"
        "   set_aside: assessed disputed, unverifiable or duplicate, not "
        "counted)\n",
        f);
}

static void text_hits(const json_t *b, FILE *f) {
  const json_t *hits = json_object_get(b, "site_hits");
  fprintf(f, "\nHits on notified sites (%zu)\n", json_array_size(hits));
  size_t i, k;
  const json_t *h, *a;
  json_array_foreach(hits, i, h) {
    fprintf(f, "  %s  %s  %s  %s  %s", str_at(h, "t", "?"),
            str_at(h, "incident", "?"), str_at(h, "class", "?"),
            str_at(h, "category", "?"), str_at(h, "site", "(site withheld)"));
    const json_t *d = json_object_get(h, "distance_m");
    if (d)
      fprintf(f, "  %.0f m", json_number_value(d));
    else
      fprintf(f, "  %s", str_at(h, "distance_band", ""));
    json_array_foreach(json_object_get(h, "acks"), k, a) fprintf(
        f, "  %s: %s", str_at(a, "party", "?"), str_at(a, "state", "?"));
    fputc('\n', f);
  }
}

static void text_reviews(const json_t *b, FILE *f) {
  const json_t *rv = json_object_get(b, "open_reviews");
  fprintf(f, "\nOpen reviews (%zu)\n", json_array_size(rv));
  size_t i;
  const json_t *r;
  json_array_foreach(rv, i, r) {
    fprintf(f, "  %s  %s  steps %lld  opened %s", str_at(r, "incident", "?"),
            str_at(r, "state", "?"), int_at(r, "steps"),
            str_at(r, "opened_at", "?"));
    if (json_is_true(json_object_get(r, "overdue")))
      fprintf(f, "  OVERDUE (asked %s)", str_at(r, "asked", "?"));
    fputc('\n', f);
  }
}

static void text_zones(const json_t *b, FILE *f) {
  const json_t *zs = json_object_get(b, "zone_status");
  fprintf(f, "\nZone status at the end of the period (%zu)\n",
          json_array_size(zs));
  size_t i;
  const json_t *z;
  json_array_foreach(zs, i, z) fprintf(
      f, "  %-24s  %-9s  violations %lld  fatalities %lld  uncertain %lld\n",
      str_at(z, "zone", "?"), str_at(z, "status", "?"), int_at(z, "violations"),
      int_at(z, "fatalities"), int_at(z, "uncertain"));
}

int hv_bulletin_text(const json_t *b, FILE *f) {
  if (!json_is_object(b))
    return HV_EINVAL;
  text_header(b, f);
  text_totals(b, f);
  for (size_t i = 0; i < N_TABLES; i++)
    text_table(f, TABLES[i].title, json_object_get(b, TABLES[i].member),
               TABLES[i].extra);
  text_hits(b, f);
  text_reviews(b, f);
  text_zones(b, f);
  return ferror(f) ? HV_EIO : HV_OK;
}

/* ---- CSV -----------------------------------------------------------------
 */

/* One field by RFC 4180: quoted when it holds a comma, a quote or a line
 * break, its quotes doubled. */
static void csv_field(FILE *f, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void csv_row(FILE *f, const char *section, const char *key,
                    const char *name, const json_t *x) {
  csv_field(f, section);
  fputc(',', f);
  csv_field(f, key);
  fputc(',', f);
  csv_field(f, name);
  fprintf(f, ",%lld,%lld,%lld\r\n", int_at(x, "current"), int_at(x, "previous"),
          int_at(x, "change"));
}

int hv_bulletin_csv(const json_t *b, FILE *f) {
  if (!json_is_object(b))
    return HV_EINVAL;
  fputs("section,key,name,current,previous,change\r\n", f);
  const json_t *t = json_object_get(b, "totals");
  for (size_t k = 0; k < N_TOTAL_KEYS; k++)
    csv_row(f, "totals", TOTAL_KEYS[k], TOTAL_KEYS[k],
            json_object_get(t, TOTAL_KEYS[k]));
  for (size_t i = 0; i < N_TABLES; i++) {
    size_t j;
    const json_t *e;
    json_array_foreach(json_object_get(b, TABLES[i].member), j, e) csv_row(
        f, TABLES[i].member, str_at(e, "id", ""), str_at(e, "name", ""), e);
  }
  return ferror(f) ? HV_EIO : HV_OK;
}

/* ---- SVG -----------------------------------------------------------------
 */

#define SVG_W 800
#define SVG_H 400
#define SVG_LEFT 56
#define SVG_RIGHT 24
#define SVG_TOP 48
#define SVG_BOTTOM 72

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++)
    switch (*s) {
    case '&':
      fputs("&amp;", f);
      break;
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    case '\'':
      fputs("&apos;", f);
      break;
    default:
      fputc(*s, f);
    }
}

/* The label of a period: its date, or (periods shorter than a day) its
 * "MM-DDTHH:MM". */
static void period_label(const char *from, int daily, char *buf, size_t size) {
  if (daily || strlen(from) < 16)
    snprintf(buf, size, "%.10s", from);
  else
    snprintf(buf, size, "%.11s", from + 5);
}

/* A round step (1, 2, 5, 10, 20, 50, ...) for at most five gridlines
 * above zero up to max. */
static long y_step(long max) {
  static const long MANTISSA[] = {1, 2, 5};
  for (long scale = 1;; scale *= 10)
    for (int i = 0; i < 3; i++)
      if (max <= 5 * MANTISSA[i] * scale)
        return MANTISSA[i] * scale;
}

static void svg_axes(FILE *f, long top, long step, double plot_h) {
  int y0 = SVG_H - SVG_BOTTOM;
  for (long v = 0; v <= top; v += step) {
    double y = y0 - plot_h * (double)v / (double)top;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
            "class=\"grid\"/>\n<text x=\"%d\" y=\"%.1f\" "
            "text-anchor=\"end\">%ld</text>\n",
            SVG_LEFT, y, SVG_W - SVG_RIGHT, y, SVG_LEFT - 6, y + 4, v);
  }
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n",
          SVG_LEFT, y0, SVG_W - SVG_RIGHT, y0);
}

/* One period: a bar of violations (class v) and the uncertain stacked on it
 * (class u), each drawn only when > 0; a date label every label_every
 * periods counted back from the last (this period is always labelled). */
static void svg_period(FILE *f, const json_t *e, size_t i, size_t n,
                       double slot, double scale, size_t label_every,
                       int daily) {
  long long v = int_at(e, "violations"), u = int_at(e, "uncertain");
  double x = SVG_LEFT + slot * (double)i, w = slot * 0.8;
  double y0 = SVG_H - SVG_BOTTOM, hv = (double)v * scale,
         hu = (double)u * scale;
  char label[32];
  period_label(str_at(e, "from", ""), daily, label, sizeof label);
  if (v > 0) {
    fprintf(f,
            "<rect class=\"v\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"><title>",
            x + slot * 0.1, y0 - hv, w, hv);
    xml_text(f, label);
    fprintf(f, ": %lld violations</title></rect>\n", v);
  }
  if (u > 0) {
    fprintf(f,
            "<rect class=\"u\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"><title>",
            x + slot * 0.1, y0 - hv - hu, w, hu);
    xml_text(f, label);
    fprintf(f, ": %lld uncertain</title></rect>\n", u);
  }
  if ((n - 1 - i) % label_every == 0) {
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
            "transform=\"rotate(-40 %.1f %.1f)\">",
            x + slot / 2, y0 + 16, x + slot / 2, y0 + 16);
    xml_text(f, label);
    fputs("</text>\n", f);
  }
}

static void svg_title(const json_t *b, FILE *f) {
  const json_t *ag = json_object_get(b, "agreement");
  const json_t *p = json_object_get(b, "period");
  fprintf(f, "<text x=\"%d\" y=\"24\" class=\"title\">", SVG_LEFT);
  xml_text(f, str_at(ag, "id", "?"));
  fputs(": violations per period, to ", f);
  xml_text(f, str_at(p, "to", "?"));
  fputs("</text>\n", f);
  /* The legend uses circles, not rects: every rect is a bar. */
  fprintf(f,
          "<circle cx=\"%d\" cy=\"38\" r=\"5\" class=\"v\"/><text x=\"%d\" "
          "y=\"42\">violations</text>\n<circle cx=\"%d\" cy=\"38\" r=\"5\" "
          "class=\"u\"/><text x=\"%d\" y=\"42\">uncertain</text>\n",
          SVG_W - 230, SVG_W - 220, SVG_W - 120, SVG_W - 110);
}

int hv_bulletin_svg(const json_t *b, FILE *f) {
  if (!json_is_object(b))
    return HV_EINVAL;
  const json_t *trend = json_object_get(b, "trend");
  size_t n = json_array_size(trend), i;
  const json_t *e;
  long max = 1;
  int daily = 1;
  json_array_foreach(trend, i, e) {
    long s = (long)(int_at(e, "violations") + int_at(e, "uncertain"));
    max = s > max ? s : max;
    const char *from = str_at(e, "from", "");
    daily =
        daily && strlen(from) >= 20 && strncmp(from + 10, "T00:00:00", 9) == 0;
  }
  long step = y_step(max), top = (max + step - 1) / step * step;
  double plot_h = SVG_H - SVG_TOP - SVG_BOTTOM;
  double slot = n ? (double)(SVG_W - SVG_LEFT - SVG_RIGHT) / (double)n : 0;
  size_t label_every = n > 10 ? (n + 9) / 10 : 1;
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
          "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
          "font-size=\"12\">\n<style>.v{fill:#b2182b}.u{fill:#f4a582}"
          ".grid{stroke:#ddd}.axis{stroke:#333}.title{font-size:16px;"
          "font-weight:bold}</style>\n",
          SVG_W, SVG_H, SVG_W, SVG_H);
  svg_title(b, f);
  svg_axes(f, top, step, plot_h);
  json_array_foreach(trend, i, e)
      svg_period(f, e, i, n, slot, plot_h / (double)top, label_every, daily);
  fputs("</svg>\n", f);
  return ferror(f) ? HV_EIO : HV_OK;
}

/* ---- dispatch ------------------------------------------------------------
 */

const char *hv_bulletin_format_name(enum hv_bulletin_format fmt) {
  static const char *const NAMES[] = {"text", "csv", "svg"};
  return (unsigned)fmt < HV_BULLETIN_FORMAT_COUNT ? NAMES[fmt] : "?";
}

int hv_bulletin_format_parse(const char *name, enum hv_bulletin_format *out) {
  for (int i = 0; name && i < HV_BULLETIN_FORMAT_COUNT; i++)
    if (strcmp(name, hv_bulletin_format_name((enum hv_bulletin_format)i)) ==
        0) {
      *out = (enum hv_bulletin_format)i;
      return HV_OK;
    }
  return HV_EINVAL;
}

int hv_bulletin_write(const json_t *b, enum hv_bulletin_format fmt, FILE *f) {
  switch (fmt) {
  case HV_BULLETIN_TEXT:
    return hv_bulletin_text(b, f);
  case HV_BULLETIN_CSV:
    return hv_bulletin_csv(b, f);
  case HV_BULLETIN_SVG:
    return hv_bulletin_svg(b, f);
  default:
    return HV_EINVAL;
  }
}

int hv_bulletin_render(const json_t *b, enum hv_bulletin_format fmt, char **out,
                       size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (f == NULL)
    return HV_ENOMEM;
  int rc = hv_bulletin_write(b, fmt, f);
  /* The stream's buffer is complete only once it is closed. */
  if (fclose(f) != 0 && rc == HV_OK)
    rc = HV_ENOMEM;
  if (rc != HV_OK) {
    free(buf);
    return rc == HV_EIO ? HV_ENOMEM : rc;
  }
  *out = buf;
  if (len)
    *len = n;
  return HV_OK;
}
