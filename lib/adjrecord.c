/*
 * adjrecord.c — adjudications and reviews in the record.
 *
 * Invariants:
 * - an adjudication is recorded as a ledger-only entry (kind and op
 *   "adjudication", id the incident id, version the incident's version),
 *   a review step as one of kind and op "review" (id "<incident>/<agreement>",
 *   version the step's number), both through hv__db_commit, the one write
 *   path; nothing else records them;
 * - db->adj, once loaded (on first use: hv_db_records_load; a cache filled
 *   behind const getters too), holds, per incident, the latest recorded
 *   adjudication and its
 *   canonical text, and per (incident, agreement) the review state folded
 *   from its steps: built from the ledger at open and on reload, added to
 *   only after a commit, so memory never shows what the disk does not hold;
 * - an adjudication is written only when its canonical text differs from
 *   the incident's latest: re-running with nothing changed writes nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/adjudicate.h"

/* ---- JSON ----------------------------------------------------------------
 */

static json_t *time_json(int64_t t_ms) {
  char buf[40];
  return json_string(hv_time_format(t_ms, buf, sizeof buf));
}

static json_t *id_or_null(const char *s) {
  return s[0] ? json_string(s) : json_null();
}

json_t *hv_adjudication_json(const struct hv_adjudication *a) {
  json_t *zones = json_array(), *rows = json_array(), *hits = json_array();
  for (size_t i = 0; zones && i < a->n_zones; i++)
    json_array_append_new(
        zones, json_pack("{s:s,s:s}", "zone", a->zones[i].zone, "membership",
                         hv_membership_name(a->zones[i].m)));
  for (size_t i = 0; rows && i < a->n_rows; i++) {
    const struct hv_adj_row *r = &a->rows[i];
    json_t *inv = json_array();
    for (size_t k = 0; inv && k < r->n_involved; k++)
      json_array_append_new(
          inv, json_pack("{s:s,s:o,s:b}", "party", r->involved[k].party,
                         "guarantor", id_or_null(r->involved[k].guarantor),
                         "is_guarantor", r->involved[k].is_guarantor));
    json_array_append_new(
        rows,
        json_pack("{s:s,s:s,s:s,s:o,s:b,s:b,s:o,s:o,s:s}", "agreement",
                  r->agreement, "class", hv_class_name(r->cls), "scope",
                  hv_membership_name(r->scope), "zone", id_or_null(r->zone),
                  "attributed", r->attributed, "suspected", r->suspected,
                  "involved", inv ? inv : json_null(), "excluded_party",
                  id_or_null(r->excluded_party), "reason", r->reason));
  }
  for (size_t i = 0; hits && i < a->n_hits; i++) {
    const struct hv_adj_hit *h = &a->hits[i];
    json_t *acks = json_array();
    for (size_t k = 0; acks && k < h->n_acks; k++)
      json_array_append_new(
          acks, json_pack("{s:s,s:s,s:o}", "party", h->acks[k].party, "state",
                          hv_ack_state_name(h->acks[k].state), "since",
                          h->acks[k].since_ms ? time_json(h->acks[k].since_ms)
                                              : json_null()));
    json_array_append_new(
        hits, json_pack("{s:s,s:s,s:f,s:f,s:o,s:o}", "site", h->site,
                        "category", h->category, "distance_m",
                        round(h->distance_m * 10) / 10, "reach_m", h->reach_m,
                        "notified_at", time_json(h->notified_ms), "acks",
                        acks ? acks : json_null()));
  }
  if (!zones || !rows || !hits) {
    json_decref(zones);
    json_decref(rows);
    json_decref(hits);
    return NULL;
  }
  json_t *fat = a->fatalities >= 0 ? json_integer(a->fatalities) : json_null();
  return json_pack(
      "{s:s,s:I,s:o,s:o,s:f,s:f,s:s,s:f,s:s,s:o,s:o,s:o,s:o,s:o}", "incident",
      a->incident, "version", (json_int_t)a->version, "t", time_json(a->t_ms),
      "t_end", time_json(a->t_end_ms), "lon", a->lon, "lat", a->lat,
      "precision", hv_loc_precision_name(a->precision), "uncertainty_m",
      a->uncertainty_m, "action", hv_action_name(a->action), "fatalities", fat,
      "area", id_or_null(a->area), "zones", zones, "agreements", rows, "hits",
      hits);
}

static int parse_enum(const json_t *v, const char *const *names, int n) {
  const char *s = json_string_value(v);
  for (int i = 0; s && i < n; i++)
    if (strcmp(names[i], s) == 0)
      return i;
  return -1;
}

static int get_id(const json_t *o, const char *key, char *dst) {
  const json_t *v = json_object_get(o, key);
  if (json_is_null(v) || v == NULL) {
    dst[0] = '\0';
    return HV_OK;
  }
  const char *s = json_string_value(v);
  if (s == NULL || strlen(s) > HV_ID_MAX)
    return HV_EPARSE;
  snprintf(dst, HV_ADJ_ID, "%s", s);
  return HV_OK;
}

static int get_time(const json_t *o, const char *key, int64_t *out) {
  const json_t *v = json_object_get(o, key);
  if (json_is_null(v)) {
    *out = 0;
    return HV_OK;
  }
  return hv_time_parse(json_string_value(v), out) == HV_OK ? HV_OK
                                                           : HV_EPARSE;
}

static const char *const MEMBERS[] = {"out", "uncertain", "in"};
static const char *const ACKS[] = {"before", "after", "never", "not_told"};

int hv_adjudication_from_json(const json_t *j, struct hv_adjudication *out,
                              struct hv_error *err) {
  static const char *const PREC[] = {"exact", "near", "district", "province",
                                     "country"};
  static const char *const ACT[] = {"air_strike", "shelling",
                                    "ground_offensive", "chemical_weapons",
                                    "attack", "none"};
  static const char *const CLS[] = {"violation", "uncertain", "excluded",
                                    "outside"};
  const char *what = "incident";
  int p, act;
  out->n_zones = out->n_rows = out->n_hits = 0;
  if (get_id(j, "incident", out->incident) != HV_OK)
    goto bad;
  out->version = json_integer_value(json_object_get(j, "version"));
  what = "t";
  if (get_time(j, "t", &out->t_ms) || get_time(j, "t_end", &out->t_end_ms))
    goto bad;
  out->lon = json_number_value(json_object_get(j, "lon"));
  out->lat = json_number_value(json_object_get(j, "lat"));
  what = "precision";
  if ((p = parse_enum(json_object_get(j, "precision"), PREC, 5)) < 0)
    goto bad;
  out->precision = (enum hv_loc_precision)p;
  out->uncertainty_m = json_number_value(json_object_get(j, "uncertainty_m"));
  what = "action";
  if ((act = parse_enum(json_object_get(j, "action"), ACT, 6)) < 0)
    goto bad;
  out->action = (enum hv_action)act;
  const json_t *fat = json_object_get(j, "fatalities");
  out->fatalities = json_is_integer(fat) ? (long)json_integer_value(fat) : -1;
  what = "area";
  if (get_id(j, "area", out->area))
    goto bad;
  size_t i;
  json_t *v;
  what = "zones";
  json_array_foreach(json_object_get(j, "zones"), i, v) {
    struct hv_adj_zone *z = realloc(out->zones, (i + 1) * sizeof *z);
    if (z == NULL)
      return hv_error_set(err, HV_ENOMEM, "out of memory");
    out->zones = z;
    out->cap_zones = i + 1;
    int m = parse_enum(json_object_get(v, "membership"), MEMBERS, 3);
    if (m < 0 || get_id(v, "zone", z[i].zone))
      goto bad;
    z[i].m = (enum hv_membership)m;
    out->n_zones = i + 1;
  }
  what = "agreements";
  json_array_foreach(json_object_get(j, "agreements"), i, v) {
    struct hv_adj_row *r = realloc(out->rows, (i + 1) * sizeof *r);
    if (r == NULL)
      return hv_error_set(err, HV_ENOMEM, "out of memory");
    out->rows = r;
    out->cap_rows = i + 1;
    r = &r[i];
    memset(r, 0, sizeof *r);
    int c = parse_enum(json_object_get(v, "class"), CLS, 4);
    int m = parse_enum(json_object_get(v, "scope"), MEMBERS, 3);
    if (c < 0 || m < 0 || get_id(v, "agreement", r->agreement) ||
        get_id(v, "zone", r->zone) ||
        get_id(v, "excluded_party", r->excluded_party))
      goto bad;
    r->cls = (enum hv_class)c;
    r->scope = (enum hv_membership)m;
    r->attributed = json_is_true(json_object_get(v, "attributed"));
    r->suspected = json_is_true(json_object_get(v, "suspected"));
    snprintf(r->reason, sizeof r->reason, "%s",
             json_string_value(json_object_get(v, "reason"))
                 ? json_string_value(json_object_get(v, "reason"))
                 : "");
    size_t k;
    json_t *pv;
    json_array_foreach(json_object_get(v, "involved"), k, pv) {
      if (k >= 2 || get_id(pv, "party", r->involved[k].party) ||
          get_id(pv, "guarantor", r->involved[k].guarantor))
        goto bad;
      r->involved[k].is_guarantor =
          json_is_true(json_object_get(pv, "is_guarantor"));
      r->n_involved = k + 1;
    }
    out->n_rows = i + 1;
  }
  what = "hits";
  json_array_foreach(json_object_get(j, "hits"), i, v) {
    struct hv_adj_hit *h = realloc(out->hits, (i + 1) * sizeof *h);
    if (h == NULL)
      return hv_error_set(err, HV_ENOMEM, "out of memory");
    out->hits = h;
    out->cap_hits = i + 1;
    h = &h[i];
    memset(h, 0, sizeof *h);
    if (get_id(v, "site", h->site) ||
        get_time(v, "notified_at", &h->notified_ms))
      goto bad;
    snprintf(h->category, sizeof h->category, "%s",
             json_string_value(json_object_get(v, "category"))
                 ? json_string_value(json_object_get(v, "category"))
                 : "");
    h->distance_m = json_number_value(json_object_get(v, "distance_m"));
    h->reach_m = json_number_value(json_object_get(v, "reach_m"));
    size_t k;
    json_t *av;
    json_array_foreach(json_object_get(v, "acks"), k, av) {
      int s = parse_enum(json_object_get(av, "state"), ACKS, 4);
      if (k >= 2 || s < 0 || get_id(av, "party", h->acks[k].party) ||
          get_time(av, "since", &h->acks[k].since_ms))
        goto bad;
      h->acks[k].state = (enum hv_ack_state)s;
      h->n_acks = k + 1;
    }
    out->n_hits = i + 1;
  }
  return HV_OK;
bad:
  return hv_error_set(err, HV_EPARSE, "adjudication: %s: malformed", what);
}

/* ---- the projection ------------------------------------------------------
 */

struct latest {
  struct hv_adjudication a;
  char *canon; /* the recorded body */
};

struct hv__adj {
  struct latest *v; /* by incident id */
  size_t n, cap;
  struct hv_review *rv; /* by (incident, agreement) */
  size_t nr, cap_r;
};

void hv__adj_free(struct hv__adj *x) {
  if (x == NULL)
    return;
  for (size_t i = 0; i < x->n; i++) {
    hv_adjudication_free(&x->v[i].a);
    free(x->v[i].canon);
  }
  free(x->v);
  free(x->rv);
  free(x);
}

static int latest_cmp(const void *key, const void *elem) {
  return strcmp(key, ((const struct latest *)elem)->a.incident);
}

static long find_latest(const struct hv__adj *x, const char *id) {
  return hv__bsearch(x->v, x->n, sizeof *x->v, id, latest_cmp);
}

/* Room for n more incidents' answers, so that latest_take cannot fail. */
static int latest_reserve(struct hv__adj *x, size_t n) {
  struct latest *nv = hv__grow(x->v, &x->cap, x->n + n, sizeof *nv);
  if (nv == NULL)
    return HV_ENOMEM;
  x->v = nv;
  return HV_OK;
}

/* Makes *a (its arrays taken; *a is zeroed) with its canonical text
 * (taken) a->incident's latest answer. Needs room for one more
 * (latest_reserve); never fails then. */
static void latest_take(struct hv__adj *x, struct hv_adjudication *a,
                        char *canon) {
  long i = find_latest(x, a->incident);
  if (i < 0) {
    size_t at = (size_t)(-i - 1);
    memmove(x->v + at + 1, x->v + at, (x->n - at) * sizeof *x->v);
    memset(&x->v[at], 0, sizeof x->v[at]);
    x->n++;
    i = (long)at;
  }
  struct latest *l = &x->v[i];
  free(l->canon);
  hv_adjudication_free(&l->a);
  l->canon = canon;
  l->a = *a;
  memset(a, 0, sizeof *a);
}

struct review_key {
  const char *incident, *agreement;
};

static int review_cmp(const void *key, const void *elem) {
  const struct review_key *k = key;
  const struct hv_review *r = elem;
  int c = strcmp(k->incident, r->incident);
  return c ? c : strcmp(k->agreement, r->agreement);
}

/* The index of (inc, agr) in x's reviews, or -(insertion point) - 1. */
static long find_review(const struct hv__adj *x, const char *inc,
                        const char *agr) {
  struct review_key k = {inc, agr};
  return hv__bsearch(x->rv, x->nr, sizeof *x->rv, &k, review_cmp);
}

static const char *const STATE_NAMES[HV_REVIEW_COUNT] = {
    "under_review", "contested", "info_requested", "answered",
    "confirmed",    "disputed",  "unverifiable",   "duplicate"};
static const char *const STEP_NAMES[] = {"dispute", "request_info", "respond",
                                         "assess"};

const char *hv_review_state_name(enum hv_review_state s) {
  return (unsigned)s < HV_REVIEW_COUNT ? STATE_NAMES[s] : "?";
}

int hv_review_assessed(enum hv_review_state s) {
  return s >= HV_REVIEW_CONFIRMED && s < HV_REVIEW_COUNT;
}

const char *hv_review_step_name(enum hv_review_step s) {
  return (unsigned)s <= HV_STEP_ASSESS ? STEP_NAMES[s] : "?";
}

int hv_review_step_parse(const char *name, enum hv_review_step *out) {
  for (int i = 0; name && i <= HV_STEP_ASSESS; i++)
    if (strcmp(STEP_NAMES[i], name) == 0) {
      *out = (enum hv_review_step)i;
      return HV_OK;
    }
  return HV_EINVAL;
}

/* Room for one more review, so that review_apply cannot fail. */
static int reviews_reserve(struct hv__adj *x) {
  struct hv_review *nv = hv__grow(x->rv, &x->cap_r, x->nr + 1, sizeof *nv);
  if (nv == NULL)
    return HV_ENOMEM;
  x->rv = nv;
  return HV_OK;
}

/* Folds one recorded step (its body) into the review state. Needs room
 * for one more review (reviews_reserve): fails only on a malformed body. */
static int review_apply(struct hv__adj *x, const json_t *body, int64_t at_ms) {
  const char *inc = json_string_value(json_object_get(body, "incident"));
  const char *agr = json_string_value(json_object_get(body, "agreement"));
  enum hv_review_step step;
  if (!inc || !agr || strlen(inc) > HV_ID_MAX || strlen(agr) > HV_ID_MAX ||
      hv_review_step_parse(json_string_value(json_object_get(body, "step")),
                           &step) != HV_OK)
    return HV_ESTORE;
  long i = find_review(x, inc, agr);
  if (i < 0) {
    if (x->nr == x->cap_r)
      return HV_ENOMEM; /* not reserved */
    size_t at = (size_t)(-i - 1);
    memmove(x->rv + at + 1, x->rv + at, (x->nr - at) * sizeof *x->rv);
    memset(&x->rv[at], 0, sizeof x->rv[at]);
    snprintf(x->rv[at].incident, HV_ADJ_ID, "%s", inc);
    snprintf(x->rv[at].agreement, HV_ADJ_ID, "%s", agr);
    x->rv[at].opened_ms = at_ms;
    x->nr++;
    i = (long)at;
  }
  struct hv_review *r = &x->rv[i];
  int64_t version = json_integer_value(json_object_get(body, "incident_version"));
  if (r->steps > 0 && version != r->version) {
    /* A step on a corrected incident: the review starts afresh (its steps
     * keep counting, the ledger numbers them). */
    r->state = HV_REVIEW_UNDER_REVIEW;
    r->asked[0] = r->duplicate_of[0] = '\0';
    r->deadline_ms = 0;
    r->answered_late = 0;
    r->opened_ms = at_ms;
  }
  r->version = version;
  r->steps++;
  r->updated_ms = at_ms;
  switch (step) {
  case HV_STEP_DISPUTE:
    r->state = HV_REVIEW_CONTESTED;
    break;
  case HV_STEP_REQUEST: {
    const char *p = json_string_value(json_object_get(body, "asked"));
    snprintf(r->asked, HV_ADJ_ID, "%s", p ? p : "");
    hv_time_parse(json_string_value(json_object_get(body, "deadline")),
                  &r->deadline_ms);
    r->answered_late = 0;
    r->state = HV_REVIEW_INFO_REQUESTED;
    break;
  }
  case HV_STEP_RESPOND:
    r->answered_late = json_is_true(json_object_get(body, "late"));
    r->state = HV_REVIEW_ANSWERED;
    break;
  case HV_STEP_ASSESS: {
    const char *o = json_string_value(json_object_get(body, "outcome"));
    for (int k = HV_REVIEW_CONFIRMED; o && k < HV_REVIEW_COUNT; k++)
      if (strcmp(STATE_NAMES[k], o) == 0)
        r->state = (enum hv_review_state)k;
    const char *d = json_string_value(json_object_get(body, "duplicate_of"));
    snprintf(r->duplicate_of, HV_ADJ_ID, "%s", d ? d : "");
    break;
  }
  }
  return HV_OK;
}

static int load_entry(const struct hv_ledger_entry *e, void *ud) {
  struct hv__adj *x = ud;
  json_error_t jerr;
  json_t *body = json_loads(e->body, 0, &jerr);
  if (body == NULL)
    return HV_ESTORE;
  int rc;
  if (strcmp(e->kind, "review") == 0) {
    rc = reviews_reserve(x);
    if (rc == HV_OK)
      rc = review_apply(x, body, e->time_ms);
  } else {
    struct hv_adjudication a = {0};
    struct hv_error err;
    rc = hv_adjudication_from_json(body, &a, &err) == HV_OK ? HV_OK
                                                             : HV_ESTORE;
    a.recorded_seq = e->seq;
    a.recorded_ms = e->time_ms;
    char *canon = rc == HV_OK ? strdup(e->body) : NULL;
    if (rc == HV_OK && (canon == NULL || latest_reserve(x, 1) != HV_OK)) {
      free(canon);
      rc = HV_ENOMEM;
    }
    if (rc == HV_OK)
      latest_take(x, &a, canon);
    hv_adjudication_free(&a);
  }
  json_decref(body);
  return rc;
}

int hv__adj_load(struct hv_db *db, struct hv__adj **out) {
  *out = NULL;
  struct hv__adj *x = calloc(1, sizeof *x);
  if (x == NULL)
    return HV_ENOMEM;
  int rc = db->store->ops->each_entry(db->store, 1, 0, "adjudication", NULL,
                                      load_entry, x);
  if (rc == HV_OK)
    rc = db->store->ops->each_entry(db->store, 1, 0, "review", NULL,
                                    load_entry, x);
  if (rc != HV_OK) {
    hv__adj_free(x);
    return rc;
  }
  *out = x;
  return HV_OK;
}

int hv_db_records_load(struct hv_db *db, struct hv_error *err) {
  if (db->adj)
    return HV_OK;
  int rc = hv__adj_load(db, &db->adj);
  if (rc != HV_OK)
    return hv_error_set(err, rc, "%s: cannot load the adjudications",
                        db->dir);
  return HV_OK;
}

/* db's adjudications and reviews, loaded if they were not (the getters
 * take a const db: this fills its cache); NULL when they cannot be. */
static const struct hv__adj *records(const struct hv_db *db) {
  hv_db_records_load((struct hv_db *)db, NULL);
  return db->adj;
}

const struct hv_adjudication *hv_db_adjudication(const struct hv_db *db,
                                                 const char *id) {
  const struct hv__adj *x = records(db);
  if (x == NULL || hv_db_get(db, HV_INCIDENT, id) == NULL)
    return NULL;
  long i = find_latest(x, id);
  return i >= 0 ? &x->v[i].a : NULL;
}

size_t hv_db_adjudication_count(const struct hv_db *db) {
  const struct hv__adj *x = records(db);
  return x ? x->n : 0;
}

const struct hv_adjudication *hv_db_adjudication_at(const struct hv_db *db,
                                                    size_t i) {
  const struct hv__adj *x = records(db);
  if (x == NULL || i >= x->n ||
      hv_db_get(db, HV_INCIDENT, x->v[i].a.incident) == NULL)
    return NULL;
  return &x->v[i].a;
}

/* ---- adjudicating and recording -----------------------------------------
 */

struct pending {
  struct hv_adjudication a;
  char *canon;
};

int hv_db_adjudicate(struct hv_db *db, const char *author,
                     const char *const *ids, size_t n,
                     struct hv_adjudicate_stats *stats,
                     struct hv_error *err) {
  struct hv_adjudicate_stats st = {0};
  const struct hv__table *ti = &db->tables[HV_INCIDENT];
  size_t total = n ? n : ti->n;
  for (size_t i = 0; i < n; i++)
    if (hv_db_get(db, HV_INCIDENT, ids[i]) == NULL)
      return hv_error_set(err, HV_ENOTFOUND, "no incident \"%s\"", ids[i]);
  struct hv_adjudicator *adj = NULL;
  int rc = hv_db_records_load(db, err);
  if (rc == HV_OK)
    rc = hv_adjudicator_new(db, &adj, err);
  if (rc != HV_OK)
    return rc;
  struct pending *pend = calloc(total + 1, sizeof *pend);
  size_t np = 0;
  struct hv_adjudication a = {0};
  if (pend == NULL)
    rc = hv_error_set(err, HV_ENOMEM, "out of memory");
  for (size_t i = 0; rc == HV_OK && i < total; i++) {
    const struct hv_object *o =
        n ? hv_db_get(db, HV_INCIDENT, ids[i]) : ti->v[i];
    struct hv_incident in;
    hv_incident_of(o, &in);
    if ((rc = hv_adjudicate(adj, &in, &a, err)) != HV_OK)
      break;
    st.incidents++;
    for (size_t k = 0; k < a.n_rows; k++)
      st.by_class[a.rows[k].cls]++;
    st.hits += a.n_hits;
    json_t *j = hv_adjudication_json(&a);
    char *canon = j ? hv__canon(j) : NULL;
    json_decref(j);
    if (canon == NULL) {
      rc = hv_error_set(err, HV_ENOMEM, "out of memory");
      break;
    }
    long li = db->adj ? find_latest(db->adj, o->id) : -1;
    int repeat = 0; /* the same id named twice: one answer */
    for (size_t k = 0; n && k < np && !repeat; k++)
      repeat = strcmp(pend[k].a.incident, o->id) == 0;
    if (repeat || (li >= 0 && strcmp(db->adj->v[li].canon, canon) == 0)) {
      st.unchanged += !repeat;
      free(canon);
      continue;
    }
    pend[np].canon = canon;
    pend[np].a = a; /* taken: a starts afresh */
    memset(&a, 0, sizeof a);
    np++;
  }
  hv_adjudication_free(&a);
  hv_adjudicator_free(adj);
  struct hv__change *c = rc == HV_OK && np ? calloc(np, sizeof *c) : NULL;
  if (rc == HV_OK && np && (c == NULL || latest_reserve(db->adj, np) != HV_OK))
    rc = hv_error_set(err, HV_ENOMEM, "out of memory");
  for (size_t i = 0; rc == HV_OK && i < np; i++)
    c[i] = (struct hv__change){.op = "adjudication",
                               .record_kind = "adjudication",
                               .record_body = pend[i].canon,
                               .record_id = pend[i].a.incident,
                               .record_version = pend[i].a.version};
  if (rc == HV_OK && np)
    rc = hv__db_commit(db, author, c, np, err);
  free(c);
  /* Durable now: memory follows, with room reserved before the commit, so
   * nothing here can fail. */
  for (size_t i = 0; i < np; i++) {
    if (rc == HV_OK) {
      pend[i].a.recorded_seq = db->head_seq - (int64_t)(np - 1 - i);
      pend[i].a.recorded_ms = db->head_time_ms;
      latest_take(db->adj, &pend[i].a, pend[i].canon);
      pend[i].canon = NULL;
      st.recorded++;
    }
    free(pend[i].canon);
    hv_adjudication_free(&pend[i].a);
  }
  free(pend);
  if (rc == HV_OK && stats)
    *stats = st;
  return rc;
}

/* ---- what parties see ----------------------------------------------------
 */

void hv_incident_published_point(const struct hv_object *o, double *lon,
                                 double *lat) {
  *lon = o->minx;
  *lat = o->miny;
  double c = o->u.incident.coarsen_m;
  if (!(c > 0))
    return;
  double dlat = c / 111320.0;
  double lat_c = (floor(*lat / dlat) + 0.5) * dlat;
  double cl = cos(lat_c * M_PI / 180.0);
  double dlon = c / (111320.0 * (cl > 0.01 ? cl : 0.01));
  *lat = lat_c;
  *lon = (floor(*lon / dlon) + 0.5) * dlon;
}

static const char *distance_band(double d) {
  return d < 1000 ? "<1 km" : d < 5000 ? "1-5 km" : d < 25000 ? "5-25 km"
                                                              : ">=25 km";
}

json_t *hv_adjudication_view_json(struct hv_db *db,
                                  const struct hv_principal *who,
                                  const struct hv_adjudication *a) {
  json_t *j = hv_adjudication_json(a);
  if (j == NULL || who->role == HV_ROLE_COORDINATOR)
    return j;
  /* No incident to say how it may be published (deleted meanwhile): no
   * place at all, and distances as bands only. */
  const struct hv_object *o = hv_db_get(db, HV_INCIDENT, a->incident);
  int coarse = o == NULL || o->u.incident.coarsen_m > 0;
  if (o) {
    double lon, lat;
    hv_incident_published_point(o, &lon, &lat);
    json_object_set_new(j, "lon", json_real(lon));
    json_object_set_new(j, "lat", json_real(lat));
  } else {
    json_object_set_new(j, "lon", json_null());
    json_object_set_new(j, "lat", json_null());
  }
  size_t i;
  json_t *h;
  json_array_foreach(json_object_get(j, "hits"), i, h) {
    const struct hv_object *s = hv_db_get(db, HV_SITE, a->hits[i].site);
    int full = s && hv_visibility(who, HV_SITE, s->doc) == HV_VIS_FULL;
    if (full && !coarse)
      continue;
    if (!full) { /* nothing that helps find it */
      json_object_set_new(h, "site", json_null());
      json_object_del(h, "notified_at");
    }
    json_object_set_new(h, "distance_band",
                        json_string(distance_band(a->hits[i].distance_m)));
    json_object_del(h, "distance_m");
    json_object_del(h, "reach_m");
  }
  return j;
}

/* ---- reviews -------------------------------------------------------------
 */

int hv_db_review_get(const struct hv_db *db, const char *incident,
                     const char *agreement, struct hv_review *out) {
  const struct hv__adj *x = records(db);
  long i = x ? find_review(x, incident, agreement) : -1;
  if (i < 0) {
    memset(out, 0, sizeof *out);
    snprintf(out->incident, HV_ADJ_ID, "%s", incident);
    snprintf(out->agreement, HV_ADJ_ID, "%s", agreement);
    return HV_ENOTFOUND;
  }
  *out = x->rv[i];
  return HV_OK;
}

/* The review as it stands for the incident's current version: a review
 * whose steps were about an earlier version is under_review again. */
static void review_now(const struct hv_db *db, const char *incident,
                       const char *agreement, struct hv_review *out) {
  hv_db_review_get(db, incident, agreement, out);
  const struct hv_object *o = hv_db_get(db, HV_INCIDENT, incident);
  if (out->steps > 0 && o && o->version != out->version) {
    out->state = HV_REVIEW_UNDER_REVIEW;
    out->asked[0] = out->duplicate_of[0] = '\0';
    out->deadline_ms = 0;
    out->answered_late = 0;
  }
}

int hv_db_review_sets_aside(const struct hv_db *db, const char *incident,
                            const char *agreement) {
  struct hv_review r;
  review_now(db, incident, agreement, &r);
  return r.state == HV_REVIEW_DISPUTED || r.state == HV_REVIEW_UNVERIFIABLE ||
         r.state == HV_REVIEW_DUPLICATE;
}

size_t hv_db_review_count(const struct hv_db *db) {
  const struct hv__adj *x = records(db);
  return x ? x->nr : 0;
}

const struct hv_review *hv_db_review_at(const struct hv_db *db, size_t i) {
  const struct hv__adj *x = records(db);
  return x && i < x->nr ? &x->rv[i] : NULL;
}

json_t *hv_review_json(const struct hv_review *r, int64_t now_ms) {
  int overdue = r->state == HV_REVIEW_INFO_REQUESTED && r->deadline_ms &&
                now_ms > r->deadline_ms;
  json_t *j = json_pack(
      "{s:s,s:s,s:s,s:b,s:I,s:o,s:o,s:o,s:o,s:b,s:b,s:o}", "incident",
      r->incident, "agreement", r->agreement, "state",
      hv_review_state_name(r->state), "open",
      r->steps > 0 && !hv_review_assessed(r->state), "steps",
      (json_int_t)r->steps, "opened_at",
      r->opened_ms ? time_json(r->opened_ms) : json_null(), "updated_at",
      r->updated_ms ? time_json(r->updated_ms) : json_null(), "asked",
      id_or_null(r->asked), "deadline",
      r->deadline_ms ? time_json(r->deadline_ms) : json_null(), "overdue",
      overdue, "answered_late", r->answered_late, "duplicate_of",
      id_or_null(r->duplicate_of));
  if (j)
    json_object_set_new(j, "incident_version", json_integer(r->version));
  return j;
}

/* The row of agreement in the incident's latest adjudication, if it is a
 * violation or uncertain. */
static const struct hv_adj_row *violation_row(const struct hv_db *db,
                                              const char *incident,
                                              const char *agreement) {
  const struct hv_adjudication *a = hv_db_adjudication(db, incident);
  for (size_t i = 0; a && i < a->n_rows; i++)
    if (strcmp(a->rows[i].agreement, agreement) == 0)
      return a->rows[i].cls == HV_CLASS_VIOLATION ||
                     a->rows[i].cls == HV_CLASS_UNCERTAIN
                 ? &a->rows[i]
                 : NULL;
  return NULL;
}

static int accused(const struct hv_adj_row *row, const char *party) {
  for (size_t k = 0; k < row->n_involved; k++)
    if (strcmp(row->involved[k].party, party) == 0 ||
        strcmp(row->involved[k].guarantor, party) == 0)
      return 1;
  return 0;
}

int hv_db_review(struct hv_db *db, const struct hv_principal *who,
                 const char *incident, const char *agreement,
                 const struct hv_review_input *in, struct hv_review *out,
                 struct hv_error *err) {
  int rc = hv_db_records_load(db, err);
  if (rc != HV_OK)
    return rc;
  const struct hv_adj_row *row = violation_row(db, incident, agreement);
  if (row == NULL)
    return hv_error_set(err, HV_ENOTFOUND,
                        "no violation of %s by incident %s (in its latest "
                        "adjudication)",
                        agreement, incident);
  struct hv_review cur;
  review_now(db, incident, agreement, &cur);
  int coord = who->role == HV_ROLE_COORDINATOR;
  int64_t now = hv_time_now_ms();
  if (in->text == NULL || in->text[0] == '\0')
    return hv_error_set(err, HV_EINVAL, "text: required (%s)",
                        in->step == HV_STEP_DISPUTE   ? "the grounds"
                        : in->step == HV_STEP_REQUEST ? "the question"
                        : in->step == HV_STEP_RESPOND ? "the answer"
                                                      : "the reasoning");
  int late = 0;
  switch (in->step) {
  case HV_STEP_DISPUTE:
    if (!accused(row, who->party))
      return hv_error_set(err, HV_EPERM,
                          "only an accused party (or its accountable "
                          "guarantor) may dispute this violation");
    if (hv_review_assessed(cur.state))
      return hv_error_set(err, HV_EINVAL,
                          "state: already assessed (%s); disputes come "
                          "before the assessment",
                          hv_review_state_name(cur.state));
    if (cur.state == HV_REVIEW_INFO_REQUESTED)
      return hv_error_set(err, HV_EINVAL,
                          "state: info_requested from %s: answer the request "
                          "(respond) first",
                          cur.asked);
    break;
  case HV_STEP_REQUEST:
    if (!coord)
      return hv_error_set(err, HV_EPERM,
                          "only the coordinator requests information");
    if (hv_review_assessed(cur.state))
      return hv_error_set(err, HV_EINVAL, "state: already assessed (%s)",
                          hv_review_state_name(cur.state));
    if (in->party == NULL || hv_db_get(db, HV_PARTY, in->party) == NULL)
      return hv_error_set(err, HV_EINVAL, "party: no party \"%s\"",
                          in->party ? in->party : "");
    if (in->deadline_ms <= now)
      return hv_error_set(err, HV_EINVAL, "deadline: %s",
                          in->deadline_ms ? "must be in the future"
                                          : "required (when to answer by)");
    break;
  case HV_STEP_RESPOND:
    if (cur.state != HV_REVIEW_INFO_REQUESTED)
      return hv_error_set(err, HV_EINVAL,
                          "state: %s; an answer needs a request for "
                          "information first",
                          hv_review_state_name(cur.state));
    if (strcmp(cur.asked, who->party) != 0)
      return hv_error_set(err, HV_EPERM, "the request was made to %s",
                          cur.asked);
    late = now > cur.deadline_ms;
    break;
  case HV_STEP_ASSESS:
    if (!coord)
      return hv_error_set(err, HV_EPERM, "only the coordinator assesses");
    if (!hv_review_assessed(in->outcome))
      return hv_error_set(err, HV_EINVAL,
                          "outcome: one of confirmed, disputed, "
                          "unverifiable, duplicate");
    if (in->outcome == HV_REVIEW_DUPLICATE &&
        (in->duplicate_of == NULL ||
         hv_db_get(db, HV_INCIDENT, in->duplicate_of) == NULL ||
         strcmp(in->duplicate_of, incident) == 0))
      return hv_error_set(err, HV_EINVAL,
                          "duplicate_of: the id of another incident");
    break;
  default:
    return hv_error_set(err, HV_EINVAL, "step: unknown");
  }
  const struct hv_object *inc = hv_db_get(db, HV_INCIDENT, incident);
  json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "incident", incident,
                           "agreement", agreement, "incident_version",
                           (json_int_t)(inc ? inc->version : 0), "step",
                           hv_review_step_name(in->step), "party", who->party,
                           "text", in->text);
  if (body && in->step == HV_STEP_REQUEST) {
    json_object_set_new(body, "asked", json_string(in->party));
    json_object_set_new(body, "deadline", time_json(in->deadline_ms));
  }
  if (body && in->step == HV_STEP_RESPOND)
    json_object_set_new(body, "late", json_boolean(late));
  if (body && in->step == HV_STEP_ASSESS) {
    json_object_set_new(body, "outcome",
                        json_string(hv_review_state_name(in->outcome)));
    if (in->outcome == HV_REVIEW_DUPLICATE)
      json_object_set_new(body, "duplicate_of", json_string(in->duplicate_of));
  }
  char *text = body ? hv__canon(body) : NULL;
  char key[2 * HV_ADJ_ID + 1];
  snprintf(key, sizeof key, "%s/%s", incident, agreement);
  if (text == NULL) {
    json_decref(body);
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  }
  struct hv__change c = {.op = "review",
                         .record_kind = "review",
                         .record_body = text,
                         .record_id = key,
                         .record_version = (int64_t)cur.steps + 1};
  /* Room first: once committed, memory must follow without failing. */
  rc = reviews_reserve(db->adj);
  if (rc != HV_OK)
    hv_error_set(err, rc, "out of memory");
  else
    rc = hv__db_commit(db, who->party, &c, 1, err);
  free(text);
  if (rc == HV_OK)
    review_apply(db->adj, body, db->head_time_ms);
  json_decref(body);
  if (rc == HV_OK && out)
    hv_db_review_get(db, incident, agreement, out);
  return rc;
}
