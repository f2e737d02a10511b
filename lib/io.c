/*
 * io.c — import of GeoJSON FeatureCollections and registry documents, and
 * export back to them (docs/formats.md).
 *
 * Invariants:
 * - an import is all or nothing: every object of every file is made and
 *   checked (schema, geometry, references, alias uniqueness, sponsor
 *   cycles, duplicate ids, stale versions) before the first write, and the
 *   writes are one transaction;
 * - objects are made from the canonical text of their document, exactly as
 *   the store will hold it, so what is checked is what is kept;
 * - export writes every stored member back, so import(export(x)) changes
 *   nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "db_internal.h"

/* The kinds written as GeoJSON Features (a movement routed by a corridor
 * is one too, with "geometry": null). */
static int spatial(enum hv_kind k) {
  return k == HV_ZONE || k == HV_CORRIDOR || k == HV_SITE ||
         k == HV_DELINEATION || k == HV_AREA || k == HV_MOVEMENT ||
         k == HV_INCIDENT;
}

/* One object read from a file, waiting to be written. */
struct pending {
  struct hv_object *obj;
  int64_t expected_version; /* 0 when the file gave none */
  const char *file;
  char where[64]; /* "feature 3" / "parties[2]" */
  int unchanged;
};

/* A pending object by (kind, id), for lookups during the checks. */
struct pkey {
  enum hv_kind kind;
  const char *id;
  size_t pos; /* in import.v */
};

struct import {
  struct hv_db *db;
  const char *author;
  struct pending *v;
  size_t n, cap;
  struct hv_error *err;
  int64_t now_ms;
  struct pkey *ix; /* v sorted by (kind, id, pos), while check_all runs */
};

static int pkey_cmp(const void *a, const void *b) {
  const struct pkey *x = a, *y = b;
  if (x->kind != y->kind)
    return x->kind < y->kind ? -1 : 1;
  int c = strcmp(x->id, y->id);
  if (c)
    return c;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

static void prefix(struct hv_error *err, const struct pending *p) {
  hv_error_prefix(err, "%s: %s (id \"%s\"): ", p->file, p->where, p->obj->id);
}

/* The object of kind and id as the import would leave it: pending first. */
static const struct hv_object *view(const struct import *im, enum hv_kind kind,
                                    const char *id) {
  /* The first pending one of that kind and id (check_all has refused
   * duplicates before any lookup). */
  size_t lo = 0, hi = im->ix ? im->n : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct pkey *k = &im->ix[mid];
    int c = k->kind != kind ? (k->kind < kind ? -1 : 1) : strcmp(k->id, id);
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (im->ix && lo < im->n && im->ix[lo].kind == kind &&
      strcmp(im->ix[lo].id, id) == 0)
    return im->v[im->ix[lo].pos].obj;
  return hv_db_get(im->db, kind, id);
}

static int push(struct import *im, struct pending p) {
  if (im->n == im->cap) {
    size_t cap = im->cap ? 2 * im->cap : 64;
    struct pending *v = realloc(im->v, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    im->v = v;
    im->cap = cap;
  }
  im->v[im->n++] = p;
  return HV_OK;
}

/* Completes a zone's phase history when the file gives none: an existing
 * zone keeps its history (plus a transition to a new phase, now, by the
 * importer); a new zone starts with its phase at valid_from. */
static int complete_history(struct import *im, json_t *doc) {
  if (json_object_get(doc, "phase_history") != NULL)
    return HV_OK;
  const json_t *phase = json_object_get(doc, "phase");
  const json_t *from = json_object_get(doc, "valid_from");
  const char *id = json_string_value(json_object_get(doc, "id"));
  if (!json_is_string(phase) || !json_is_string(from) || id == NULL)
    return HV_OK; /* the schema check reports what is missing */
  const struct hv_object *cur = hv_db_get(im->db, HV_ZONE, id);
  json_t *h;
  if (cur) {
    h = json_deep_copy(json_object_get(cur->doc, "phase_history"));
    if (h && strcmp(json_string_value(phase),
                    hv_phase_name(cur->u.zone.phase)) != 0) {
      char at[32];
      size_t nh = cur->u.zone.n_history;
      if (nh && cur->u.zone.history[nh - 1].at_ms > im->now_ms) {
        json_decref(h);
        return hv_error_set(
            im->err, HV_ESCHEMA,
            "phase: the zone's last phase change is dated %s, after now, so "
            "a new phase cannot start now: give the whole phase_history, or "
            "use `haven phase` with --at",
            hv_time_format(cur->u.zone.history[nh - 1].at_ms, at, sizeof at));
      }
      json_array_append_new(h,
                            json_pack("{s:O,s:s,s:s}", "phase", phase, "at",
                                      hv_time_format(im->now_ms, at, sizeof at),
                                      "by", im->author));
    }
  } else {
    h = json_pack("[{s:O,s:O,s:s}]", "phase", phase, "at", from, "by",
                  im->author);
  }
  if (h == NULL)
    return HV_ENOMEM;
  return json_object_set_new(doc, "phase_history", h) ? HV_ENOMEM : HV_OK;
}

/* A movement notified without notified_at was notified when it is first
 * recorded: now for a new movement; an update without it keeps the recorded
 * time (so that importing the same file twice changes nothing). */
static int complete_notified_at(struct import *im, json_t *doc) {
  if (json_object_get(doc, "notified_at") != NULL)
    return HV_OK;
  const char *id = json_string_value(json_object_get(doc, "id"));
  const struct hv_object *cur = id ? hv_db_get(im->db, HV_MOVEMENT, id) : NULL;
  const json_t *was = cur ? json_object_get(cur->doc, "notified_at") : NULL;
  char at[32];
  json_t *v = was ? json_copy((json_t *)was)
                  : json_string(hv_time_format(im->now_ms, at, sizeof at));
  if (v == NULL)
    return HV_ENOMEM;
  return json_object_set_new(doc, "notified_at", v) ? HV_ENOMEM : HV_OK;
}

/* Makes the object of doc (taken) and queues it. */
static int add(struct import *im, enum hv_kind kind, json_t *doc,
               const char *file, const char *where) {
  struct pending p = {.file = file};
  snprintf(p.where, sizeof p.where, "%s", where);
  const char *id = json_string_value(json_object_get(doc, "id"));
  char idbuf[HV_ID_MAX + 1];
  snprintf(idbuf, sizeof idbuf, "%s", id ? id : "?");
  const json_t *ver = json_object_get(doc, "version");
  if (ver) {
    if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
      json_decref(doc);
      return hv_error_set(im->err, HV_ESCHEMA,
                          "%s: %s (id \"%s\"): version: must be a whole "
                          "number >= 1",
                          file, where, idbuf);
    }
    p.expected_version = json_integer_value(ver);
    json_object_del(doc, "version");
  }
  int rc = kind == HV_ZONE       ? complete_history(im, doc)
           : kind == HV_MOVEMENT ? complete_notified_at(im, doc)
                                 : HV_OK;
  if (rc != HV_OK) {
    json_decref(doc);
    hv_error_prefix(im->err, "%s: %s (id \"%s\"): ", file, where, idbuf);
    return rc;
  }
  char *text = hv__canon(doc);
  json_decref(doc);
  if (text == NULL)
    return HV_ENOMEM;
  json_error_t jerr;
  json_t *canon = json_loads(text, 0, &jerr);
  free(text);
  if (canon == NULL)
    return HV_ENOMEM;
  rc = hv__object_new(hv_db_geo(im->db), kind, canon, &p.obj, im->err);
  if (rc != HV_OK) {
    hv_error_prefix(im->err, "%s: %s (id \"%s\"): ", file, where, idbuf);
    return rc;
  }
  if ((rc = push(im, p)) != HV_OK)
    hv__object_free(hv_db_geo(im->db), p.obj);
  return rc;
}

static int read_registry(struct import *im, json_t *root, const char *file) {
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "parties") && strcmp(key, "agreements") &&
        strcmp(key, "notes") && strcmp(key, "source"))
      return hv_error_set(im->err, HV_ESCHEMA,
                          "%s: %s: unknown member of a registry document "
                          "(parties, agreements, notes, source)",
                          file, key);
    if ((!strcmp(key, "parties") || !strcmp(key, "agreements")) &&
        !json_is_array(v))
      return hv_error_set(im->err, HV_ESCHEMA, "%s: %s: must be an array", file,
                          key);
  }
  static const struct {
    const char *member;
    enum hv_kind kind;
  } parts[] = {{"parties", HV_PARTY}, {"agreements", HV_AGREEMENT}};
  for (size_t k = 0; k < 2; k++) {
    const json_t *arr = json_object_get(root, parts[k].member);
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
      char where[64];
      snprintf(where, sizeof where, "%s[%zu]", parts[k].member, i);
      if (!json_is_object(item))
        return hv_error_set(im->err, HV_ESCHEMA, "%s: %s: must be an object",
                            file, where);
      int rc = add(im, parts[k].kind, json_deep_copy(item), file, where);
      if (rc != HV_OK)
        return rc;
    }
  }
  return HV_OK;
}

/* The flat document of GeoJSON Feature f (borrowed) into *doc (caller
 * owns), its kind from properties.object into *kind. want: the kind the
 * caller expects (properties.object may then be omitted), or HV_KIND_COUNT
 * for "any spatial kind, named by properties.object". */
static int feature_doc(struct import *im, const json_t *f, const char *file,
                       const char *where, enum hv_kind want, enum hv_kind *kind,
                       json_t **doc) {
  *doc = NULL;
  const json_t *id = json_object_get(f, "id");
  const char *idtxt = json_is_string(id) ? json_string_value(id) : "?";
  const char *ftype = json_string_value(json_object_get(f, "type"));
  if (!json_is_object(f) || ftype == NULL || strcmp(ftype, "Feature") != 0)
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: %s (id \"%s\"): type: must be \"Feature\"", file,
                        where, idtxt);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)f, key, v) {
    if (strcmp(key, "type") && strcmp(key, "id") && strcmp(key, "geometry") &&
        strcmp(key, "properties") && strcmp(key, "bbox"))
      return hv_error_set(im->err, HV_ESCHEMA,
                          "%s: %s (id \"%s\"): %s: unknown member of a "
                          "Feature",
                          file, where, idtxt, key);
  }
  if (!json_is_string(id))
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: %s: id: missing (every feature needs a string "
                        "id)",
                        file, where);
  const json_t *props = json_object_get(f, "properties");
  if (!json_is_object(props))
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: %s (id \"%s\"): properties: missing or not an "
                        "object",
                        file, where, idtxt);
  const json_t *obj = json_object_get(props, "object");
  const char *object = json_string_value(obj);
  if (obj == NULL && want != HV_KIND_COUNT) {
    *kind = want;
  } else if (object == NULL || hv_kind_parse(object, kind) != HV_OK ||
             *kind == HV_PARTY || *kind == HV_AGREEMENT || *kind == HV_TOKEN) {
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: %s (id \"%s\"): properties.object: must be one "
                        "of zone, corridor, site, delineation, area, "
                        "movement, incident",
                        file, where, idtxt);
  } else if (want != HV_KIND_COUNT && *kind != want) {
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: %s (id \"%s\"): properties.object: \"%s\" where "
                        "a %s was expected",
                        file, where, idtxt, object, hv_kind_name(want));
  }
  if (json_object_get(props, "id") || json_object_get(props, "geometry"))
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: %s (id \"%s\"): properties: id and geometry "
                        "belong to the Feature, not its properties",
                        file, where, idtxt);
  if ((*doc = json_deep_copy(props)) == NULL)
    return HV_ENOMEM;
  json_object_del(*doc, "object");
  /* A derived member replies show (lib/auth.c) is dropped on input, so that
   * what was read can be written back. */
  if (*kind == HV_MOVEMENT && json_is_boolean(json_object_get(*doc, "late")))
    json_object_del(*doc, "late");
  json_object_set(*doc, "id", (json_t *)id);
  const json_t *geom = json_object_get(f, "geometry");
  if (geom && !json_is_null(geom))
    json_object_set(*doc, "geometry", (json_t *)geom);
  return HV_OK;
}

static int read_features(struct import *im, json_t *root, const char *file,
                         hv_progress_fn progress, void *ud) {
  const json_t *features = json_object_get(root, "features");
  if (!json_is_array(features))
    return hv_error_set(im->err, HV_ESCHEMA,
                        "%s: features: missing or not an array", file);
  size_t n = json_array_size(features), i;
  json_t *f;
  json_array_foreach(features, i, f) {
    char where[64];
    snprintf(where, sizeof where, "feature %zu", i);
    if (progress && (i % 8 == 0 || i + 1 == n))
      progress(file, i + 1, n, ud);
    enum hv_kind kind;
    json_t *doc;
    int rc = feature_doc(im, f, file, where, HV_KIND_COUNT, &kind, &doc);
    if (rc == HV_OK)
      rc = add(im, kind, doc, file, where);
    if (rc != HV_OK)
      return rc;
  }
  return HV_OK;
}

static int read_root(struct import *im, json_t *root, const char *path,
                     hv_progress_fn progress, void *ud);

static int read_file(struct import *im, const char *path,
                     hv_progress_fn progress, void *ud) {
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  if (root == NULL) {
    if (jerr.position == 0 && jerr.line <= 0)
      return hv_error_set(im->err, HV_EIO, "%s: %s", path, jerr.text);
    return hv_error_set(im->err, HV_EPARSE,
                        "%s: line %d, column %d: not JSON: %s", path, jerr.line,
                        jerr.column, jerr.text);
  }
  int rc = read_root(im, root, path, progress, ud);
  json_decref(root);
  return rc;
}

/* One file's parsed content (borrowed), named path in messages. */
static int read_root(struct import *im, json_t *root, const char *path,
                     hv_progress_fn progress, void *ud) {
  int rc;
  const char *type = json_string_value(json_object_get(root, "type"));
  if (type && strcmp(type, "FeatureCollection") == 0)
    rc = read_features(im, root, path, progress, ud);
  else if (json_is_object(root) && type == NULL &&
           (json_object_get(root, "parties") ||
            json_object_get(root, "agreements")))
    rc = read_registry(im, root, path);
  else
    rc = hv_error_set(im->err, HV_ESCHEMA,
                      "%s: neither a GeoJSON FeatureCollection nor a registry "
                      "document with parties/agreements",
                      path);
  return rc;
}

/* ---- checks across objects ---------------------------------------------- */

struct refctx {
  struct import *im;
};

static int check_ref(const char *field, enum hv_kind kind, const char *id,
                     void *ud) {
  struct import *im = ud;
  if (kind == HV_PARTY && strcmp(id, HV_COORDINATOR) == 0 &&
      strncmp(field, "phase_history", 13) == 0)
    return HV_OK; /* the coordination cell may always change a phase */
  if (view(im, kind, id) != NULL)
    return HV_OK;
  return hv_error_set(im->err, HV_EREF,
                      "%s: no %s \"%s\" in the store or in "
                      "this import",
                      field, hv_kind_name(kind), id);
}

/* 1 when s names party q: its id, name or one of its aliases. */
static int names_party(const char *s, const struct hv_object *q) {
  if (strcasecmp(s, q->id) == 0 || strcasecmp(s, q->name) == 0)
    return 1;
  for (size_t i = 0; q->u.party.aliases[i]; i++)
    if (strcasecmp(s, q->u.party.aliases[i]) == 0)
      return 1;
  return 0;
}

/* 1 with a message in msg when a name of party p (pending) also names
 * another party as the import would leave them; 0 when it names p alone. */
static int party_name_clash(const struct import *im, const struct hv_object *p,
                            char *msg, size_t size) {
  size_t nreg = hv_db_count(im->db, HV_PARTY);
  for (size_t k = 0; k < im->n + nreg; k++) {
    const struct hv_object *q =
        k < im->n ? im->v[k].obj : hv_db_at(im->db, HV_PARTY, k - im->n);
    if (q->kind != HV_PARTY || strcmp(q->id, p->id) == 0 ||
        view(im, HV_PARTY, q->id) != q)
      continue;
    if (names_party(p->name, q)) {
      snprintf(msg, size, "name: \"%s\" already names party \"%s\"", p->name,
               q->id);
      return 1;
    }
    for (size_t a = 0; p->u.party.aliases[a]; a++)
      if (names_party(p->u.party.aliases[a], q)) {
        snprintf(msg, size, "aliases[%zu]: \"%s\" already names party \"%s\"",
                 a, p->u.party.aliases[a], q->id);
        return 1;
      }
    int id_taken = strcasecmp(p->id, q->name) == 0;
    for (size_t a = 0; !id_taken && q->u.party.aliases[a]; a++)
      id_taken = strcasecmp(p->id, q->u.party.aliases[a]) == 0;
    if (id_taken) {
      snprintf(msg, size,
               "id: \"%s\" is already a name or alias of party \"%s\"", p->id,
               q->id);
      return 1;
    }
  }
  return 0;
}

static int check_all_indexed(struct import *im);

/* Every check of the pending objects before anything is written: with
 * them indexed by (kind, id), so that an import of N objects costs about
 * N log N, not N^2. */
static int check_all(struct import *im) {
  im->ix = malloc((im->n ? im->n : 1) * sizeof *im->ix);
  if (im->ix == NULL)
    return hv_error_set(im->err, HV_ENOMEM, "out of memory");
  for (size_t i = 0; i < im->n; i++)
    im->ix[i] = (struct pkey){im->v[i].obj->kind, im->v[i].obj->id, i};
  qsort(im->ix, im->n, sizeof *im->ix, pkey_cmp);
  int rc = check_all_indexed(im);
  free(im->ix);
  im->ix = NULL;
  return rc;
}

static int check_all_indexed(struct import *im) {
  struct hv_db *db = im->db;
  /* Duplicates within the import: the first object (in file order) that
   * repeats an earlier one's kind and id, named with the first of them. */
  size_t dup = SIZE_MAX, first = 0;
  for (size_t k = 1; k < im->n; k++)
    if (im->ix[k].kind == im->ix[k - 1].kind &&
        strcmp(im->ix[k].id, im->ix[k - 1].id) == 0) {
      /* ix[k - 1] is the group's earliest when it starts the group. */
      size_t g = k - 1;
      while (g > 0 && im->ix[g - 1].kind == im->ix[k].kind &&
             strcmp(im->ix[g - 1].id, im->ix[k].id) == 0)
        g--;
      if (im->ix[k].pos < dup && g == k - 1) {
        dup = im->ix[k].pos;
        first = im->ix[g].pos;
      }
    }
  if (dup != SIZE_MAX) {
    hv_error_set(im->err, HV_EEXISTS, "the same %s id is also given in %s: %s",
                 hv_kind_name(im->v[dup].obj->kind), im->v[first].file,
                 im->v[first].where);
    prefix(im->err, &im->v[dup]);
    return HV_EEXISTS;
  }
  for (size_t i = 0; i < im->n; i++) {
    struct pending *p = &im->v[i];
    int rc = hv__object_each_ref(p->obj, check_ref, im);
    if (rc != HV_OK) {
      prefix(im->err, p);
      return rc;
    }
    if (p->obj->kind != HV_PARTY)
      continue;
    /* Sponsor cycles: climb from the party through the view. */
    const struct hv_object *q = p->obj;
    size_t bound = hv_db_count(db, HV_PARTY) + im->n + 1;
    for (size_t step = 0; q && q->u.party.sponsor; step++) {
      q = view(im, HV_PARTY, q->u.party.sponsor);
      if (q == p->obj || step > bound) {
        hv_error_set(im->err, HV_ECYCLE,
                     "sponsor: \"%s\" would sponsor itself through its "
                     "sponsor chain",
                     p->obj->id);
        prefix(im->err, p);
        return HV_ECYCLE;
      }
    }
    /* Each name of a party (its name and aliases) names it alone: it may
     * not be another party's id, name or alias; nor may its id be another
     * party's name or alias (hv_db_party_by_alias matches all three). */
    char clash[512];
    if (party_name_clash(im, p->obj, clash, sizeof clash)) {
      hv_error_set(im->err, HV_ESCHEMA, "%s", clash);
      prefix(im->err, p);
      return HV_ESCHEMA;
    }
  }
  /* Stale versions, and what actually changes. */
  for (size_t i = 0; i < im->n; i++) {
    struct pending *p = &im->v[i];
    const struct hv_object *cur = hv_db_get(db, p->obj->kind, p->obj->id);
    if (cur == NULL)
      continue;
    if (p->expected_version && p->expected_version != cur->version) {
      hv_error_set(im->err, HV_ECONFLICT,
                   "version: the file has version %lld but the store holds "
                   "version %lld (changed since it was exported)",
                   (long long)p->expected_version, (long long)cur->version);
      prefix(im->err, p);
      return HV_ECONFLICT;
    }
    if (cur->kind == HV_ZONE) {
      /* A zone's phase history only grows: the recorded changes stay as
       * they were, new ones are appended. */
      const json_t *was = json_object_get(cur->doc, "phase_history");
      const json_t *now = json_object_get(p->obj->doc, "phase_history");
      size_t n = json_array_size(was);
      for (size_t k = 0; k < n; k++)
        if (k >= json_array_size(now) ||
            !json_equal(json_array_get(was, k), json_array_get(now, k))) {
          hv_error_set(im->err, HV_ESCHEMA,
                       "phase_history[%zu]: differs from the recorded "
                       "history, which can only be extended (append new "
                       "changes, or use `haven phase`)",
                       k);
          prefix(im->err, p);
          return HV_ESCHEMA;
        }
    }
    json_t *old = json_copy(cur->doc);
    if (old == NULL)
      return HV_ENOMEM;
    json_object_del(old, "version");
    p->unchanged = json_equal(old, p->obj->doc);
    json_decref(old);
  }
  return HV_OK;
}

/* Checks and writes what im has read (rc: how the reading went). */
static int import_finish(struct import *im, int rc,
                         struct hv_import_stats *stats);

int hv_db_import(struct hv_db *db, const char *author, const char *const *paths,
                 size_t n_paths, hv_progress_fn progress, void *ud,
                 struct hv_import_stats *stats, struct hv_error *err) {
  struct import im = {
      .db = db, .author = author, .err = err, .now_ms = hv_time_now_ms()};
  int rc = HV_OK;
  for (size_t i = 0; i < n_paths && rc == HV_OK; i++)
    rc = read_file(&im, paths[i], progress, ud);
  return import_finish(&im, rc, stats);
}

int hv_db_import_docs(struct hv_db *db, const char *author,
                      json_t *const *docs, const char *const *names,
                      size_t n, hv_progress_fn progress, void *ud,
                      struct hv_import_stats *stats, struct hv_error *err) {
  struct import im = {
      .db = db, .author = author, .err = err, .now_ms = hv_time_now_ms()};
  int rc = HV_OK;
  for (size_t i = 0; i < n && rc == HV_OK; i++)
    rc = read_root(&im, docs[i], names[i], progress, ud);
  return import_finish(&im, rc, stats);
}

static int import_finish(struct import *im_, int rc,
                         struct hv_import_stats *stats) {
  struct import im = *im_;
  struct hv_db *db = im.db;
  const char *author = im.author;
  struct hv_error *err = im.err;
  struct hv_import_stats st = {0};
  if (rc == HV_OK)
    rc = check_all(&im);
  struct hv__change *changes = NULL;
  size_t nc = 0;
  if (rc == HV_OK && im.n > 0 &&
      (changes = calloc(im.n, sizeof *changes)) == NULL)
    rc = HV_ENOMEM;
  for (size_t i = 0; rc == HV_OK && i < im.n; i++) {
    struct pending *p = &im.v[i];
    st.by_kind[p->obj->kind]++;
    if (p->unchanged) {
      st.unchanged++;
      continue;
    }
    int exists = hv_db_get(db, p->obj->kind, p->obj->id) != NULL;
    exists ? st.updated++ : st.created++;
    changes[nc].obj = p->obj;
    changes[nc++].op = exists ? "update" : "create";
    p->obj = NULL; /* handed to the commit */
  }
  if (rc == HV_OK && nc > 0)
    rc = hv__db_commit(db, author, changes, nc, err);
  free(changes);
  for (size_t i = 0; i < im.n; i++)
    hv__object_free(hv_db_geo(db), im.v[i].obj);
  free(im.v);
  if (rc == HV_OK && stats)
    *stats = st;
  return rc;
}

/* ---- one object at a time ------------------------------------------------ */

int hv_db_put(struct hv_db *db, const char *author, enum hv_kind kind,
              const json_t *doc, enum hv_put_mode mode,
              int64_t expected_version, const struct hv_object **out,
              struct hv_error *err) {
  if (out)
    *out = NULL;
  if ((unsigned)kind >= HV_KIND_COUNT || kind == HV_TOKEN)
    return hv_error_set(err, HV_EINVAL, "%s: not written this way",
                        hv_kind_name(kind));
  struct import im = {
      .db = db, .author = author, .err = err, .now_ms = hv_time_now_ms()};
  const char *file = "request", *where = "body";
  json_t *flat = NULL;
  int rc = HV_OK;
  if (spatial(kind)) {
    enum hv_kind k;
    rc = feature_doc(&im, doc, file, where, kind, &k, &flat);
  } else if (!json_is_object(doc)) {
    rc = hv_error_set(err, HV_ESCHEMA, "%s: %s: must be a JSON object", file,
                      where);
  } else if ((flat = json_deep_copy(doc)) == NULL) {
    rc = HV_ENOMEM;
  }
  if (rc != HV_OK)
    return rc;
  if (expected_version > 0)
    json_object_set_new(flat, "version", json_integer(expected_version));
  /* A copy: flat is handed over (and freed) below, the id is needed after. */
  char id[HV_ID_MAX + 2];
  const char *idp = json_string_value(json_object_get(flat, "id"));
  snprintf(id, sizeof id, "%s", idp ? idp : "?");
  const struct hv_object *cur = idp ? hv_db_get(db, kind, id) : NULL;
  if (mode == HV_PUT_CREATE && cur) {
    json_decref(flat);
    return hv_error_set(err, HV_EEXISTS,
                        "id: %s \"%s\" exists already (version %lld)",
                        hv_kind_name(kind), id, (long long)cur->version);
  }
  if (mode == HV_PUT_UPDATE && cur == NULL) {
    json_decref(flat);
    return hv_error_set(err, HV_ENOTFOUND, "id: no %s \"%s\"",
                        hv_kind_name(kind), id);
  }
  if (mode == HV_PUT_UPDATE && json_object_get(flat, "version") == NULL) {
    json_decref(flat);
    return hv_error_set(err, HV_ECONFLICT,
                        "version: required to update %s \"%s\" (current "
                        "version %lld)",
                        hv_kind_name(kind), id, (long long)cur->version);
  }
  if ((rc = add(&im, kind, flat, file, where)) == HV_OK)
    rc = check_all(&im);
  if (rc == HV_OK && !im.v[0].unchanged) {
    struct hv__change c = {.obj = im.v[0].obj, .op = cur ? "update" : "create"};
    im.v[0].obj = NULL; /* handed to the commit */
    rc = hv__db_commit(db, author, &c, 1, err);
  }
  if (rc == HV_OK && out)
    *out = hv_db_get(db, kind, id);
  for (size_t i = 0; i < im.n; i++)
    hv__object_free(hv_db_geo(db), im.v[i].obj);
  free(im.v);
  return rc;
}

/* ---- export ---------------------------------------------------------------
 */

json_t *hv_object_export_json(const struct hv_object *o) {
  json_t *props = json_copy(o->doc);
  if (props == NULL)
    return NULL;
  if (!spatial(o->kind)) /* parties, agreements, tokens: flat documents */
    return props;
  json_t *geom = json_incref(json_object_get(props, "geometry"));
  if (geom == NULL)
    geom = json_null(); /* a movement routed by a corridor */
  json_object_del(props, "geometry");
  json_object_del(props, "id");
  json_object_set_new(props, "object", json_string(hv_kind_name(o->kind)));
  return json_pack("{s:s,s:s,s:o,s:o}", "type", "Feature", "id", o->id,
                   "geometry", geom, "properties", props);
}

/* Writes j (taken) to dir/name. A FeatureCollection or registry document
 * is written one object per line (compact), so that files stay readable
 * and diffable whatever the size of the geometries. */
static int write_json(const char *dir, const char *name, json_t *j,
                      const char *member, struct hv_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (j == NULL)
    return HV_ENOMEM;
  const size_t flags =
      JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(HV__REAL_DIGITS);
  FILE *f = fopen(path, "w");
  int rc = f ? HV_OK : HV_EIO;
  const char *key;
  json_t *v;
  int first_member = 1;
  if (f)
    fputs("{", f);
  json_object_foreach(j, key, v) {
    if (rc != HV_OK)
      break;
    fprintf(f, "%s\n\"%s\": ", first_member ? "" : ",", key);
    first_member = 0;
    if (json_is_array(v) &&
        (strcmp(key, member) == 0 || strcmp(key, "agreements") == 0)) {
      size_t i;
      json_t *e;
      fputs("[", f);
      json_array_foreach(v, i, e) {
        fputs(i ? ",\n  " : "\n  ", f);
        if (json_dumpf(e, f, flags) != 0)
          rc = HV_EIO;
      }
      fputs(json_array_size(v) ? "\n]" : "]", f);
    } else if (json_dumpf(v, f, flags | JSON_ENCODE_ANY) != 0) {
      rc = HV_EIO;
    }
  }
  if (f) {
    fputs("\n}\n", f);
    if (fclose(f) != 0)
      rc = HV_EIO;
  }
  json_decref(j);
  if (rc != HV_OK)
    return hv_error_set(err, HV_EIO, "%s: cannot write: %s", path,
                        strerror(errno));
  return HV_OK;
}

int hv_db_export(struct hv_db *db, const char *dir, struct hv_error *err) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return hv_error_set(err, HV_EIO, "%s: cannot create: %s", dir,
                        strerror(errno));
  json_t *reg = json_pack("{s:[],s:[]}", "parties", "agreements");
  if (reg == NULL)
    return HV_ENOMEM;
  for (size_t i = 0; i < hv_db_count(db, HV_PARTY); i++)
    json_array_append_new(json_object_get(reg, "parties"),
                          hv_object_export_json(hv_db_at(db, HV_PARTY, i)));
  for (size_t i = 0; i < hv_db_count(db, HV_AGREEMENT); i++)
    json_array_append_new(json_object_get(reg, "agreements"),
                          hv_object_export_json(hv_db_at(db, HV_AGREEMENT, i)));
  int rc = write_json(dir, "registry.json", reg, "parties", err);
  static const struct {
    enum hv_kind kind;
    const char *file;
  } files[] = {
      {HV_ZONE, "zones.geojson"}, {HV_CORRIDOR, "corridors.geojson"},
      {HV_SITE, "sites.geojson"}, {HV_DELINEATION, "delineations.geojson"},
      {HV_AREA, "areas.geojson"}, {HV_MOVEMENT, "movements.geojson"},
      {HV_INCIDENT, "incidents.geojson"}};
  for (size_t k = 0; rc == HV_OK && k < sizeof files / sizeof *files; k++) {
    json_t *fc =
        json_pack("{s:s,s:[]}", "type", "FeatureCollection", "features");
    for (size_t i = 0; fc && i < hv_db_count(db, files[k].kind); i++)
      json_array_append_new(
          json_object_get(fc, "features"),
          hv_object_export_json(hv_db_at(db, files[k].kind, i)));
    rc = write_json(dir, files[k].file, fc, "features", err);
  }
  return rc;
}
