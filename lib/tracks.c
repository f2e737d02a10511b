/*
 * tracks.c — the live picture: per-asset state, the checks made on each
 * position report, and the separation pass after each batch
 * (haven/tracks.h; the rules are in docs/live.md).
 *
 * Invariants:
 * - Assets are never removed: an asset's index in tr->a is stable, and the
 *   hash table tr->slots maps its id to index + 1 (0 = empty slot), open
 *   addressing with linear probing, at most half full.
 * - An asset's state (t_ms, position, velocity) is that of its last applied
 *   report (t_ms is INT64_MIN until there is one); a report that is out of
 *   order, a duplicate or implausible is never applied. Its history ring,
 *   when it has one (ring != NULL, hist_cap > 0 entries, allocated with
 *   tr->history entries at the first applied report while it has none),
 *   holds its last applied reports, the newest being its state.
 * - What an asset's last applied report was inside — zones, site radii,
 *   open corridors — is one small array (struct inside; NULL when inside
 *   nothing) of indexes into tr->names, the ids interned once per engine;
 *   a finding is made only when a list gains an id (entry) or, for zones,
 *   loses one (exit).
 * - Asset ids and interned names live in tr->arena, blocks that are only
 *   freed with the engine (assets are never removed, names are few).
 * - tr->pairs holds the conflicting pairs reported by the last separation
 *   pass, as (asset index a << 32 | asset index b), a < b, sorted: the
 *   pairs in conflict under their own minima at that pass (tracks.h).
 * - During a pass, tr->sep_ag lists the agreements in force at its time
 *   that carry separation minima, in the db's order, and for a party p
 *   whose party_done[p] is set, bit k of its words in party_ag says whether
 *   sep_ag[k] applies to p (covered or guarantor). Both are rebuilt by
 *   every pass and point into the db, which no one writes during it.
 * - The site and corridor caches hold pointers to db objects and are
 *   rebuilt whenever the db's head sequence differs from cache_seq (every
 *   write may free objects). Corridor areas are cloned and prepared here,
 *   so the cache owns every geometry it uses.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/tracks.h"
#include "util.h"

#define RAD (M_PI / 180.0)

/* What an asset is inside: n[IN_ZONE] zone, then n[IN_SITE] site, then
 * n[IN_CORRIDOR] corridor ids, as indexes into tr->names. */
enum { IN_ZONE, IN_SITE, IN_CORRIDOR };
struct inside {
  uint32_t n[3];
  uint32_t v[]; /* n[0] + n[1] + n[2] */
};

/* A block of the string arena. */
struct block {
  struct block *next;
  size_t used, cap;
  char data[];
};
#define BLOCK_BYTES 65536

struct hist {
  int64_t t_ms;
  double lon, lat, alt_m, ve, vn, vs;
};

struct asset {
  char *id;       /* in tr->arena */
  uint32_t party; /* index into tr->parties */
  uint8_t cls;
  uint8_t hist_head, hist_n; /* next slot to write; slots in use */
  uint8_t hist_cap;          /* entries of ring; 0 when there is none */
  int64_t t_ms;              /* INT64_MIN until the first applied report */
  double lon, lat, alt_m, ve, vn, vs;
  struct inside *in; /* NULL when inside nothing */
  struct hist *ring; /* hist_cap entries, or NULL */
};

struct site_c {
  const struct hv_object *o;
  double dlat, dlon; /* half sides of a degree box holding the radius */
};

struct corr_c {
  const struct hv_object *o;
  GEOSGeometry *g; /* clone of the corridor's area, owned */
  const GEOSPreparedGeometry *pg;
  double minx, miny, maxx, maxy;
};

struct hv_tracks {
  struct hv_db *db;
  struct asset *a;
  size_t n, cap;
  uint32_t *slots;
  size_t nslots;
  struct block *arena; /* asset ids and names */
  const char **names;  /* interned ids of zones, sites, corridors */
  uint32_t n_names, cap_names;
  uint32_t *name_slots; /* index + 1, open addressing, at most half full */
  size_t n_name_slots;
  char **parties;
  size_t n_parties, cap_parties;
  int64_t newest_ms;
  int have_newest;
  struct hv_sep_params sep;
  uint64_t *pairs;
  size_t n_pairs, cap_pairs;
  int64_t cache_seq;
  int cache_ok;
  struct site_c *sites;
  size_t n_sites;
  struct corr_c *corrs;
  size_t n_corrs;
  struct hv_hits hits;
  struct hv_conflicts conf;
  unsigned history; /* ring size given to assets that get one */
  /* Separation minima of the pass (invariants above). */
  const struct hv_object **sep_ag;
  size_t n_sep_ag, cap_sep_ag;
  uint64_t *party_ag;  /* per party, ag_words words */
  uint8_t *party_done; /* per party */
  size_t ag_words, cap_party_ag, cap_party_done;
  struct minima *conf_min; /* per conflict of conf: the pair's minima */
  size_t cap_conf_min;
};

/* ---- small helpers --------------------------------------------------------
 */

static const char *const finding_names[HV_FIND_COUNT] = {
    "zone_enter",          "zone_exit",           "no_fly_violation",
    "forbidden_presence",  "site_proximity",      "corridor_incursion",
    "separation_conflict", "separation_resolved", "implausible",
    "out_of_order"};

const char *hv_finding_kind_name(enum hv_finding_kind k) {
  return (unsigned)k < HV_FIND_COUNT ? finding_names[k] : "unknown";
}

double hv_tracks_max_speed_mps(enum hv_asset_class c) {
  switch (c) {
  case HV_ASSET_FIXED_WING:
    return 700.0;
  case HV_ASSET_ROTARY:
    return 120.0;
  case HV_ASSET_UAV:
    return 300.0;
  default:
    return 60.0;
  }
}

static int is_aircraft(enum hv_asset_class c) {
  return c == HV_ASSET_FIXED_WING || c == HV_ASSET_ROTARY || c == HV_ASSET_UAV;
}

/* Armed near sites and corridors: armed ground units, and aircraft low
 * enough to strike or land (docs/live.md). */
static int is_armed(enum hv_asset_class c, double alt_m) {
  return c == HV_ASSET_GROUND_ARMED ||
         (is_aircraft(c) && alt_m < HV_TRACKS_LOW_ALT_M);
}

/* Copies src into a fixed buffer, truncating (ids are < HV_ID_MAX). */
static void copy_id(char *dst, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= HV_ID_MAX)
    n = HV_ID_MAX - 1;
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* A copy of s in the arena; NULL when out of memory. */
static char *arena_dup(struct hv_tracks *tr, const char *s) {
  size_t n = strlen(s) + 1;
  struct block *b = tr->arena;
  if (b == NULL || b->cap - b->used < n) {
    size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
    if ((b = malloc(sizeof *b + cap)) == NULL)
      return NULL;
    b->next = tr->arena;
    b->used = 0;
    b->cap = cap;
    tr->arena = b;
  }
  char *d = b->data + b->used;
  memcpy(d, s, n);
  b->used += n;
  return d;
}

/* The index of name s in tr->names, added when new. */
static int intern(struct hv_tracks *tr, const char *s, uint32_t *out) {
  size_t mask = tr->n_name_slots - 1;
  if (tr->n_name_slots)
    for (size_t i = hash_str(s) & mask;; i = (i + 1) & mask) {
      uint32_t k = tr->name_slots[i];
      if (k == 0)
        break;
      if (strcmp(tr->names[k - 1], s) == 0) {
        *out = k - 1;
        return HV_OK;
      }
    }
  if (tr->n_names == tr->cap_names) {
    uint32_t cap = tr->cap_names ? 2 * tr->cap_names : 64;
    const char **v = realloc(tr->names, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    tr->names = v;
    tr->cap_names = cap;
  }
  if (2 * ((size_t)tr->n_names + 1) > tr->n_name_slots) {
    size_t ns = tr->n_name_slots ? 2 * tr->n_name_slots : 128;
    uint32_t *v = calloc(ns, sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    for (uint32_t k = 0; k < tr->n_names; k++) {
      size_t i = hash_str(tr->names[k]) & (ns - 1);
      while (v[i])
        i = (i + 1) & (ns - 1);
      v[i] = k + 1;
    }
    free(tr->name_slots);
    tr->name_slots = v;
    tr->n_name_slots = ns;
  }
  const char *d = arena_dup(tr, s);
  if (d == NULL)
    return HV_ENOMEM;
  size_t i = hash_str(d) & (tr->n_name_slots - 1);
  while (tr->name_slots[i])
    i = (i + 1) & (tr->n_name_slots - 1);
  tr->names[tr->n_names] = d;
  tr->name_slots[i] = ++tr->n_names;
  *out = tr->n_names - 1;
  return HV_OK;
}

void hv_findings_free(struct hv_findings *f) {
  if (f == NULL)
    return;
  free(f->v);
  f->v = NULL;
  f->n = f->cap = 0;
}

/* Appends a zeroed finding of kind about asset a at its report r;
 * NULL when out of memory. */
static struct hv_finding *push(struct hv_tracks *tr, struct hv_findings *out,
                               enum hv_finding_kind kind, const char *asset,
                               uint32_t party, enum hv_asset_class cls,
                               int64_t t_ms, double lon, double lat,
                               double alt_m) {
  if (out->n == out->cap) {
    size_t cap = out->cap ? 2 * out->cap : 64;
    struct hv_finding *v = realloc(out->v, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    out->v = v;
    out->cap = cap;
  }
  struct hv_finding *f = &out->v[out->n++];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->t_ms = t_ms;
  copy_id(f->asset, asset);
  copy_id(f->party, tr->parties[party]);
  f->cls = cls;
  f->lon = lon;
  f->lat = lat;
  f->alt_m = alt_m;
  f->obj_kind = HV_ZONE;
  return f;
}

static struct hv_finding *push_rep(struct hv_tracks *tr,
                                   struct hv_findings *out,
                                   enum hv_finding_kind kind,
                                   const struct hv_position *r,
                                   uint32_t party) {
  return push(tr, out, kind, r->asset, party, r->cls, r->t_ms, r->lon, r->lat,
              r->alt_m);
}

/* ---- assets and parties ----------------------------------------------------
 */

static struct asset *find_asset(const struct hv_tracks *tr, const char *id) {
  if (tr->nslots == 0)
    return NULL;
  size_t mask = tr->nslots - 1;
  for (size_t i = hash_str(id) & mask;; i = (i + 1) & mask) {
    uint32_t s = tr->slots[i];
    if (s == 0)
      return NULL;
    if (strcmp(tr->a[s - 1].id, id) == 0)
      return &tr->a[s - 1];
  }
}

static int rehash(struct hv_tracks *tr, size_t nslots) {
  uint32_t *slots = calloc(nslots, sizeof *slots);
  if (slots == NULL)
    return HV_ENOMEM;
  for (size_t k = 0; k < tr->n; k++) {
    size_t i = hash_str(tr->a[k].id) & (nslots - 1);
    while (slots[i])
      i = (i + 1) & (nslots - 1);
    slots[i] = (uint32_t)(k + 1);
  }
  free(tr->slots);
  tr->slots = slots;
  tr->nslots = nslots;
  return HV_OK;
}

static int party_index(struct hv_tracks *tr, const char *party, uint32_t *out) {
  for (size_t i = 0; i < tr->n_parties; i++)
    if (strcmp(tr->parties[i], party) == 0) {
      *out = (uint32_t)i;
      return HV_OK;
    }
  if (tr->n_parties == tr->cap_parties) {
    size_t cap = tr->cap_parties ? 2 * tr->cap_parties : 16;
    char **v = realloc(tr->parties, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    tr->parties = v;
    tr->cap_parties = cap;
  }
  if ((tr->parties[tr->n_parties] = dup_str(party)) == NULL)
    return HV_ENOMEM;
  *out = (uint32_t)tr->n_parties++;
  return HV_OK;
}

static int add_asset(struct hv_tracks *tr, const struct hv_position *r,
                     struct asset **out) {
  uint32_t party;
  int rc = party_index(tr, r->party, &party);
  if (rc != HV_OK)
    return rc;
  if (tr->n == tr->cap) {
    size_t cap = tr->cap ? 2 * tr->cap : 64;
    struct asset *v = realloc(tr->a, cap * sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    tr->a = v;
    tr->cap = cap;
  }
  if (2 * (tr->n + 1) > tr->nslots &&
      (rc = rehash(tr, tr->nslots ? 2 * tr->nslots : 128)) != HV_OK)
    return rc;
  struct asset *a = &tr->a[tr->n];
  memset(a, 0, sizeof *a);
  if ((a->id = arena_dup(tr, r->asset)) == NULL)
    return HV_ENOMEM;
  a->party = party;
  a->t_ms = INT64_MIN;
  size_t i = hash_str(a->id) & (tr->nslots - 1);
  while (tr->slots[i])
    i = (i + 1) & (tr->nslots - 1);
  tr->slots[i] = (uint32_t)(tr->n + 1);
  tr->n++;
  *out = a;
  return HV_OK;
}

/* ---- the public lifecycle ---------------------------------------------------
 */

static void cache_clear(struct hv_tracks *tr) {
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(tr->db));
  for (size_t i = 0; i < tr->n_corrs; i++) {
    if (tr->corrs[i].pg)
      GEOSPreparedGeom_destroy_r(gh, tr->corrs[i].pg);
    if (tr->corrs[i].g)
      GEOSGeom_destroy_r(gh, tr->corrs[i].g);
  }
  free(tr->corrs);
  free(tr->sites);
  tr->corrs = NULL;
  tr->sites = NULL;
  tr->n_corrs = tr->n_sites = 0;
  tr->cache_ok = 0;
}

int hv_tracks_new(struct hv_db *db, struct hv_tracks **out) {
  if (db == NULL || out == NULL)
    return HV_EINVAL;
  struct hv_tracks *tr = calloc(1, sizeof *tr);
  if (tr == NULL)
    return HV_ENOMEM;
  tr->db = db;
  tr->sep = hv_sep_params_default();
  tr->history = HV_TRACKS_HISTORY;
  *out = tr;
  return HV_OK;
}

void hv_tracks_free(struct hv_tracks *tr) {
  if (tr == NULL)
    return;
  for (size_t i = 0; i < tr->n; i++) {
    free(tr->a[i].in);
    free(tr->a[i].ring);
  }
  free(tr->a);
  free(tr->slots);
  while (tr->arena) {
    struct block *b = tr->arena;
    tr->arena = b->next;
    free(b);
  }
  free(tr->names);
  free(tr->name_slots);
  for (size_t i = 0; i < tr->n_parties; i++)
    free(tr->parties[i]);
  free(tr->parties);
  free(tr->pairs);
  cache_clear(tr);
  hv_hits_free(&tr->hits);
  hv_conflicts_free(&tr->conf);
  free(tr->sep_ag);
  free(tr->party_ag);
  free(tr->party_done);
  free(tr->conf_min);
  free(tr);
}

void hv_tracks_set_sep_params(struct hv_tracks *tr,
                              const struct hv_sep_params *p) {
  tr->sep = p ? *p : hv_sep_params_default();
}

int hv_tracks_set_history(struct hv_tracks *tr, unsigned n) {
  if (tr == NULL || n > HV_TRACKS_HISTORY)
    return HV_EINVAL;
  tr->history = n;
  return HV_OK;
}

size_t hv_tracks_count(const struct hv_tracks *tr) { return tr->n; }

/* ---- the site and corridor caches ------------------------------------------
 */

static int cache_refresh(struct hv_tracks *tr) {
  int64_t seq = hv_db_head_seq(tr->db);
  if (tr->cache_ok && seq == tr->cache_seq)
    return HV_OK;
  cache_clear(tr);
  size_t ns = hv_db_count(tr->db, HV_SITE),
         nc = hv_db_count(tr->db, HV_CORRIDOR);
  if (ns && (tr->sites = calloc(ns, sizeof *tr->sites)) == NULL)
    return HV_ENOMEM;
  if (nc && (tr->corrs = calloc(nc, sizeof *tr->corrs)) == NULL)
    return HV_ENOMEM;
  for (size_t i = 0; i < ns; i++) {
    const struct hv_object *o = hv_db_at(tr->db, HV_SITE, i);
    double r = o->u.site.radius_m;
    double dlat = r / 110000.0 + 1e-6;
    double maxlat = fmin(89.9, fabs(o->u.site.lat) + dlat);
    tr->sites[i].o = o;
    tr->sites[i].dlat = dlat;
    tr->sites[i].dlon = fmin(360, r / (111000.0 * cos(maxlat * RAD)) + 1e-6);
  }
  tr->n_sites = ns;
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(tr->db));
  for (size_t i = 0; i < nc; i++) {
    const struct hv_object *o = hv_db_at(tr->db, HV_CORRIDOR, i);
    struct corr_c *c = &tr->corrs[tr->n_corrs];
    c->o = o;
    if (o->u.corridor.area == NULL)
      continue;
    tr->n_corrs++;
    if ((c->g = GEOSGeom_clone_r(gh, o->u.corridor.area)) == NULL ||
        (c->pg = GEOSPrepare_r(gh, c->g)) == NULL ||
        GEOSGeom_getExtent_r(gh, c->g, &c->minx, &c->miny, &c->maxx,
                             &c->maxy) == 0)
      return HV_EGEOMETRY;
  }
  tr->cache_seq = seq;
  tr->cache_ok = 1;
  return HV_OK;
}

/* ---- sets and the checks ----------------------------------------------------
 */

/* Zones: any number (heap beyond SMALL). Sites and corridors: at most
 * SMALL at once per report, in id order — protective radii are hundreds of
 * metres, so more than 32 overlapping at one point is not a real case; the
 * limit is written in docs/live.md. */
#define SMALL 32

struct set_ctx {
  struct hv_tracks *tr;
  struct asset *a;
  const struct hv_position *r;
  struct hv_findings *out;
  enum hv_kind kind;
  const struct hv_object *const *objs; /* parallel to the ids given */
  const double *dist;                  /* sites: distance per id */
};

static int has_index(const uint32_t *v, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; i++)
    if (v[i] == x)
      return 1;
  return 0;
}

/* Where list k of in starts in in->v. */
static uint32_t inside_at(const struct inside *in, int k) {
  uint32_t o = 0;
  for (int q = 0; q < k; q++)
    o += in->n[q];
  return o;
}

/* Makes list k of the asset's struct inside hold now[0..n-1] (the other
 * lists as they were); the struct is replaced, or freed when all are
 * empty. Failing leaves it as it was. */
static int inside_set(struct asset *a, int k, const uint32_t *now, size_t n) {
  struct inside *in = a->in, *x = NULL;
  uint32_t cnt[3] = {0, 0, 0};
  if (in)
    memcpy(cnt, in->n, sizeof cnt);
  cnt[k] = (uint32_t)n;
  size_t total = (size_t)cnt[0] + cnt[1] + cnt[2];
  if (total) {
    if ((x = malloc(sizeof *x + total * sizeof x->v[0])) == NULL)
      return HV_ENOMEM;
    memcpy(x->n, cnt, sizeof cnt);
    uint32_t w = 0;
    for (int q = 0; q < 3; q++) {
      if (cnt[q] == 0)
        continue; /* (for q != k, cnt[q] > 0 means in != NULL) */
      const uint32_t *src = q == k ? now : in->v + inside_at(in, q);
      memcpy(x->v + w, src, cnt[q] * sizeof *src);
      w += cnt[q];
    }
  }
  free(in);
  a->in = x;
  return HV_OK;
}

/* Whether agreement ag forbids the asset of report r in zone z; why gets
 * the term. */
static int agreement_forbids(const struct hv_tracks *tr,
                             const struct hv_object *ag,
                             const struct hv_object *z,
                             const struct hv_position *r, const char **why) {
  if (!hv_agreement_in_force(ag, r->t_ms) ||
      !hv_agreement_applies_in(ag, z->id))
    return 0;
  const char *term = NULL;
  if (is_aircraft(r->cls) &&
      hv_ids_contain(ag->u.agreement.terms, "military_flight"))
    term = "military_flight";
  else if (r->cls == HV_ASSET_GROUND_ARMED &&
           hv_ids_contain(ag->u.agreement.terms, "armed_presence"))
    term = "armed_presence";
  if (term == NULL || !hv_agreement_binds(tr->db, ag, r->party))
    return 0;
  *why = term;
  return 1;
}

static int zone_entered(struct set_ctx *c, const struct hv_object *z) {
  const struct hv_position *r = c->r;
  struct hv_finding *f =
      push_rep(c->tr, c->out, HV_FIND_ZONE_ENTER, r, c->a->party);
  if (f == NULL)
    return HV_ENOMEM;
  copy_id(f->obj_id, z->id);
  snprintf(f->reason, sizeof f->reason, "entered %s zone %s", z->u.zone.kind,
           z->id);
  int over = is_aircraft(r->cls);
  const char *ag_id = NULL, *term = NULL;
  int ok = hv_zone_permits(z, r->party, r->cls, over);
  if (ok) {
    size_t na = hv_db_count(c->tr->db, HV_AGREEMENT);
    for (size_t i = 0; i < na && ok; i++) {
      const struct hv_object *ag = hv_db_at(c->tr->db, HV_AGREEMENT, i);
      if (agreement_forbids(c->tr, ag, z, r, &term)) {
        ok = 0;
        ag_id = ag->id;
      }
    }
  }
  if (ok)
    return HV_OK;
  int nofly = strcmp(z->u.zone.kind, "no_fly") == 0;
  f = push_rep(c->tr, c->out,
               nofly ? HV_FIND_NO_FLY_VIOLATION : HV_FIND_FORBIDDEN_PRESENCE, r,
               c->a->party);
  if (f == NULL)
    return HV_ENOMEM;
  copy_id(f->obj_id, z->id);
  if (ag_id)
    snprintf(f->reason, sizeof f->reason,
             "%s %s of %s in zone %s: agreement %s forbids %s to the parties "
             "it covers",
             hv_asset_class_name(r->cls), r->asset, r->party, z->id, ag_id,
             term);
  else
    snprintf(f->reason, sizeof f->reason,
             "%s %s of %s in zone %s: the zone's rules do not permit it %s",
             hv_asset_class_name(r->cls), r->asset, r->party, z->id,
             over ? "to fly over" : "inside");
  return HV_OK;
}

/* Called for each id entering (enter = 1) or leaving the set. */
static int on_change(struct set_ctx *c, int enter, const char *id, size_t j) {
  const struct hv_position *r = c->r;
  struct hv_finding *f;
  if (c->kind == HV_ZONE) {
    if (enter)
      return zone_entered(c, c->objs[j]);
    if ((f = push_rep(c->tr, c->out, HV_FIND_ZONE_EXIT, r, c->a->party)) ==
        NULL)
      return HV_ENOMEM;
    copy_id(f->obj_id, id);
    snprintf(f->reason, sizeof f->reason, "left zone %s", id);
    return HV_OK;
  }
  if (!enter)
    return HV_OK; /* leaving a site radius or a corridor is not a finding */
  int site = c->kind == HV_SITE;
  f = push_rep(c->tr, c->out,
               site ? HV_FIND_SITE_PROXIMITY : HV_FIND_CORRIDOR_INCURSION, r,
               c->a->party);
  if (f == NULL)
    return HV_ENOMEM;
  f->obj_kind = c->kind;
  copy_id(f->obj_id, id);
  if (site) {
    f->distance_m = c->dist[j];
    snprintf(f->reason, sizeof f->reason,
             "armed %s %s of %s %.0f m from protected site %s (radius %.0f m)",
             hv_asset_class_name(r->cls), r->asset, r->party, c->dist[j], id,
             c->objs[j]->u.site.radius_m);
  } else {
    snprintf(f->reason, sizeof f->reason,
             "armed %s %s of %s inside corridor %s while it is open",
             hv_asset_class_name(r->cls), r->asset, r->party, id);
  }
  return HV_OK;
}

/* Makes the asset's list of c->kind (zones, sites or corridors) hold
 * exactly ids[0..n-1], reporting each id that leaves and each that enters
 * through on_change. */
static int set_update(struct set_ctx *c, const char *const *ids, size_t n) {
  struct hv_tracks *tr = c->tr;
  const struct inside *in = c->a->in;
  int k = c->kind == HV_ZONE   ? IN_ZONE
          : c->kind == HV_SITE ? IN_SITE
                               : IN_CORRIDOR;
  size_t nold = in ? in->n[k] : 0;
  const uint32_t *old = in ? in->v + inside_at(in, k) : NULL;
  uint32_t buf[SMALL], *now = buf;
  int rc = HV_OK;
  if (n > SMALL && (now = malloc(n * sizeof *now)) == NULL)
    return HV_ENOMEM;
  for (size_t j = 0; j < n && rc == HV_OK; j++)
    rc = intern(tr, ids[j], &now[j]);
  int changed = nold != n;
  for (size_t i = 0; i < nold && rc == HV_OK; i++)
    if (!has_index(now, n, old[i])) {
      changed = 1;
      rc = on_change(c, 0, tr->names[old[i]], 0);
    }
  for (size_t j = 0; j < n && rc == HV_OK; j++)
    if (!has_index(old, nold, now[j])) {
      changed = 1;
      rc = on_change(c, 1, ids[j], j);
    }
  if (rc == HV_OK && changed)
    rc = inside_set(c->a, k, now, n);
  if (now != buf)
    free(now);
  return rc;
}

static int check_zones(struct hv_tracks *tr, struct asset *a,
                       const struct hv_position *r, struct hv_findings *out) {
  tr->hits.n = 0;
  int rc = hv_db_zones_at(tr->db, r->lon, r->lat, r->alt_m, r->t_ms, &tr->hits);
  if (rc != HV_OK)
    return rc;
  size_t n = tr->hits.n;
  const char *ibuf[SMALL] = {0}, **ids = ibuf;
  const struct hv_object *obuf[SMALL], **objs = obuf;
  if (n > SMALL) {
    ids = malloc(n * sizeof *ids);
    objs = malloc(n * sizeof *objs);
    if (ids == NULL || objs == NULL) {
      free(ids);
      free(objs);
      return HV_ENOMEM;
    }
  }
  for (size_t i = 0; i < n; i++) {
    objs[i] = tr->hits.v[i].obj;
    ids[i] = objs[i]->id;
  }
  struct set_ctx c = {tr, a, r, out, HV_ZONE, objs, NULL};
  rc = set_update(&c, ids, n);
  if (ids != ibuf) {
    free(ids);
    free(objs);
  }
  return rc;
}

static int corridor_open(const struct hv_object *o, int64_t t) {
  if (t < o->from_ms || t >= o->to_ms || o->u.corridor.status == NULL ||
      strcmp(o->u.corridor.status, "open") != 0)
    return 0;
  if (o->u.corridor.n_windows == 0)
    return 1;
  for (size_t i = 0; i < o->u.corridor.n_windows; i++)
    if (t >= o->u.corridor.windows[i].from_ms &&
        t < o->u.corridor.windows[i].to_ms)
      return 1;
  return 0;
}

static int check_sites_corridors(struct hv_tracks *tr, struct asset *a,
                                 const struct hv_position *r,
                                 struct hv_findings *out) {
  const char *ibuf[SMALL] = {0};
  const struct hv_object *obuf[SMALL];
  double dbuf[SMALL];
  size_t n = 0;
  int rc;
  int armed = is_armed(r->cls, r->alt_m);
  if (armed)
    for (size_t i = 0; i < tr->n_sites && n < SMALL; i++) {
      const struct site_c *s = &tr->sites[i];
      const struct hv_object *o = s->o;
      if (fabs(r->lat - o->u.site.lat) > s->dlat ||
          fabs(r->lon - o->u.site.lon) > s->dlon || r->t_ms < o->from_ms ||
          r->t_ms >= o->to_ms)
        continue;
      double d =
          hv_geo_distance_m(r->lon, r->lat, o->u.site.lon, o->u.site.lat);
      if (!(d <= o->u.site.radius_m))
        continue;
      obuf[n] = o;
      ibuf[n] = o->id;
      dbuf[n++] = d;
    }
  struct set_ctx c = {tr, a, r, out, HV_SITE, obuf, dbuf};
  if ((rc = set_update(&c, ibuf, n)) != HV_OK)
    return rc;
  n = 0;
  if (armed)
    for (size_t i = 0; i < tr->n_corrs && n < SMALL; i++) {
      const struct corr_c *k = &tr->corrs[i];
      if (r->lon < k->minx || r->lon > k->maxx || r->lat < k->miny ||
          r->lat > k->maxy || !corridor_open(k->o, r->t_ms))
        continue;
      rc = hv_geo_covers_point(hv_db_geo(tr->db), k->pg, r->lon, r->lat);
      if (rc < 0)
        return rc;
      if (rc == 0)
        continue;
      obuf[n] = k->o;
      ibuf[n++] = k->o->id;
    }
  c.kind = HV_CORRIDOR;
  c.dist = NULL;
  return set_update(&c, ibuf, n);
}

/* ---- validation
 * -------------------------------------------------------------- */

static int bad(struct hv_error *err, size_t i, const char *field,
               const char *what, double v, double lo, double hi) {
  return hv_error_set(err, HV_EINVAL,
                      "report %zu: %s: %s %.17g is out of range %g..%g", i,
                      field, what, v, lo, hi);
}

static int validate(struct hv_tracks *tr, const struct hv_position *r, size_t i,
                    struct hv_error *err) {
  if (r->asset == NULL || r->asset[0] == '\0' || strlen(r->asset) >= HV_ID_MAX)
    return hv_error_set(err, HV_EINVAL,
                        "report %zu: asset: must be an id of 1-%d characters",
                        i, HV_ID_MAX - 1);
  if (r->party == NULL || r->party[0] == '\0')
    return hv_error_set(err, HV_EINVAL, "report %zu: party: missing", i);
  if ((unsigned)r->cls >= HV_ASSET_COUNT)
    return hv_error_set(err, HV_EINVAL,
                        "report %zu: class: %d is not an asset class", i,
                        (int)r->cls);
  if (r->t_ms <= 0)
    return hv_error_set(err, HV_EINVAL,
                        "report %zu: t_ms: %lld is not a time after 1970", i,
                        (long long)r->t_ms);
  if (!(r->lon >= -180 && r->lon <= 180))
    return bad(err, i, "lon", "longitude", r->lon, -180, 180);
  if (!(r->lat >= -HV_SEP_MAX_LAT_DEG && r->lat <= HV_SEP_MAX_LAT_DEG))
    return bad(err, i, "lat", "latitude", r->lat, -HV_SEP_MAX_LAT_DEG,
               HV_SEP_MAX_LAT_DEG);
  if (!(r->alt_m >= -1000 && r->alt_m <= 100000))
    return bad(err, i, "alt_m", "altitude", r->alt_m, -1000, 100000);
  const double vmax = HV_SEP_MAX_SPEED_MPS;
  if (!(fabs(r->ve_mps) <= vmax))
    return bad(err, i, "ve_mps", "speed", r->ve_mps, -vmax, vmax);
  if (!(fabs(r->vn_mps) <= vmax))
    return bad(err, i, "vn_mps", "speed", r->vn_mps, -vmax, vmax);
  if (!(hypot(r->ve_mps, r->vn_mps) <= vmax))
    return bad(err, i, "ve_mps", "ground speed", hypot(r->ve_mps, r->vn_mps), 0,
               vmax);
  if (!(fabs(r->vs_mps) <= vmax))
    return bad(err, i, "vs_mps", "vertical rate", r->vs_mps, -vmax, vmax);
  const struct asset *a = find_asset(tr, r->asset);
  if (a && strcmp(tr->parties[a->party], r->party) == 0)
    return HV_OK; /* a known asset of a known party */
  if (a)
    return hv_error_set(err, HV_EINVAL,
                        "report %zu: party: asset %s is reported by party %s, "
                        "not %s",
                        i, r->asset, tr->parties[a->party], r->party);
  if (hv_db_get(tr->db, HV_PARTY, r->party) == NULL)
    return hv_error_set(err, HV_EREF, "report %zu: party: no party \"%s\"", i,
                        r->party);
  return HV_OK;
}

/* ---- applying one report
 * ------------------------------------------------------ */

static void ring_push(struct asset *a, const struct hv_position *r) {
  if (a->ring == NULL)
    return;
  struct hist *h = &a->ring[a->hist_head];
  h->t_ms = r->t_ms;
  h->lon = r->lon;
  h->lat = r->lat;
  h->alt_m = r->alt_m;
  h->ve = r->ve_mps;
  h->vn = r->vn_mps;
  h->vs = r->vs_mps;
  a->hist_head = (uint8_t)((a->hist_head + 1) % a->hist_cap);
  if (a->hist_n < a->hist_cap)
    a->hist_n++;
}

/* 1 when applied, 0 when not (a finding may have been made), or < 0. */
static int apply(struct hv_tracks *tr, const struct hv_position *r,
                 struct hv_findings *out) {
  struct asset *a = find_asset(tr, r->asset);
  int rc;
  if (a == NULL && (rc = add_asset(tr, r, &a)) != HV_OK)
    return rc;
  struct hv_finding *f;
  char b1[40], b2[40];
  if (strcmp(tr->parties[a->party], r->party) != 0) {
    /* Only possible for an asset first seen earlier in the same batch. */
    if ((f = push_rep(tr, out, HV_FIND_IMPLAUSIBLE, r, a->party)) == NULL)
      return HV_ENOMEM;
    snprintf(f->reason, sizeof f->reason,
             "asset %s is reported by party %s, not %s; not applied", r->asset,
             tr->parties[a->party], r->party);
    return 0;
  }
  int has_last = a->t_ms != INT64_MIN;
  if (has_last && r->t_ms <= a->t_ms) {
    if (r->t_ms == a->t_ms && r->lon == a->lon && r->lat == a->lat &&
        r->alt_m == a->alt_m)
      return 0; /* a duplicate: silently ignored */
    if ((f = push_rep(tr, out, HV_FIND_OUT_OF_ORDER, r, a->party)) == NULL)
      return HV_ENOMEM;
    snprintf(f->reason, sizeof f->reason,
             r->t_ms == a->t_ms
                 ? "report at %s gives another position than the applied one "
                   "at %s; not applied"
                 : "report at %s is older than the applied one at %s; not "
                   "applied",
             hv_time_format(r->t_ms, b1, sizeof b1),
             hv_time_format(a->t_ms, b2, sizeof b2));
    return 0;
  }
  if (tr->have_newest && r->t_ms > tr->newest_ms + HV_TRACKS_FUTURE_MS) {
    if ((f = push_rep(tr, out, HV_FIND_IMPLAUSIBLE, r, a->party)) == NULL)
      return HV_ENOMEM;
    snprintf(f->reason, sizeof f->reason,
             "report at %s is more than %d s after the newest report seen "
             "(%s); not applied",
             hv_time_format(r->t_ms, b1, sizeof b1), HV_TRACKS_FUTURE_MS / 1000,
             hv_time_format(tr->newest_ms, b2, sizeof b2));
    return 0;
  }
  if (has_last) {
    double d = hv_geo_distance_m(a->lon, a->lat, r->lon, r->lat);
    double v = d / ((double)(r->t_ms - a->t_ms) / 1000.0);
    double vmax = hv_tracks_max_speed_mps(r->cls);
    if (!(v <= vmax)) {
      if ((f = push_rep(tr, out, HV_FIND_IMPLAUSIBLE, r, a->party)) == NULL)
        return HV_ENOMEM;
      f->distance_m = d;
      f->speed_mps = v;
      snprintf(
          f->reason, sizeof f->reason,
          "a jump of %.0f m in %.3f s implies %.0f m/s, above the %.0f m/s "
          "a %s can fly or drive; not applied",
          d, (double)(r->t_ms - a->t_ms) / 1000.0, v, vmax,
          hv_asset_class_name(r->cls));
      return 0;
    }
  }
  if (a->ring == NULL && tr->history > 0) {
    if ((a->ring = malloc(tr->history * sizeof *a->ring)) == NULL)
      return HV_ENOMEM;
    a->hist_cap = (uint8_t)tr->history;
    a->hist_head = a->hist_n = 0;
  }
  a->cls = (uint8_t)r->cls;
  a->t_ms = r->t_ms;
  a->lon = r->lon;
  a->lat = r->lat;
  a->alt_m = r->alt_m;
  a->ve = r->ve_mps;
  a->vn = r->vn_mps;
  a->vs = r->vs_mps;
  ring_push(a, r);
  if (!tr->have_newest || r->t_ms > tr->newest_ms) {
    tr->newest_ms = r->t_ms;
    tr->have_newest = 1;
  }
  if ((rc = check_zones(tr, a, r, out)) != HV_OK ||
      (rc = check_sites_corridors(tr, a, r, out)) != HV_OK)
    return rc;
  return 1;
}

/* ---- separation
 * ---------------------------------------------------------------- */

/* Fills st / idx (capacity tr->n) with the aircraft states at t_ms. */
static size_t build_states(const struct hv_tracks *tr, int64_t t_ms,
                           struct hv_state *st, uint32_t *idx) {
  size_t n = 0;
  const double m_per_deg = HV_SEP_EARTH_RADIUS_M * RAD;
  for (size_t i = 0; i < tr->n; i++) {
    const struct asset *a = &tr->a[i];
    /* Only aircraft whose last report is near the pass's time, before it
     * or after it (a batch may be of another time than the last one). */
    if (a->t_ms == INT64_MIN || !is_aircraft((enum hv_asset_class)a->cls) ||
        t_ms - a->t_ms > HV_TRACKS_STALE_MS ||
        a->t_ms - t_ms > HV_TRACKS_STALE_MS)
      continue;
    double dt = (double)(t_ms - a->t_ms) / 1000.0;
    double lat = a->lat + a->vn * dt / m_per_deg;
    double lon = a->lon + a->ve * dt / (m_per_deg * cos(a->lat * RAD));
    if (lon > 180)
      lon -= 360;
    if (lon < -180)
      lon += 360;
    if (!(fabs(lat) <= HV_SEP_MAX_LAT_DEG) || !isfinite(lon))
      continue;
    struct hv_state *s = &st[n];
    s->lat = lat;
    s->lon = lon;
    s->alt_m = a->alt_m + a->vs * dt;
    s->gs_mps = hypot(a->ve, a->vn);
    double trk = atan2(a->ve, a->vn) / RAD;
    s->trk_deg = trk < 0 ? trk + 360 : trk;
    s->vs_mps = a->vs;
    s->party = a->party;
    idx[n++] = (uint32_t)i;
  }
  return n;
}

int hv_tracks_states(const struct hv_tracks *tr, int64_t t_ms,
                     struct hv_state **states, const char ***assets,
                     size_t *n) {
  size_t cap = tr->n ? tr->n : 1;
  struct hv_state *st = malloc(cap * sizeof *st);
  uint32_t *idx = malloc(cap * sizeof *idx);
  const char **ids = malloc(cap * sizeof *ids);
  if (st == NULL || idx == NULL || ids == NULL) {
    free(st);
    free(idx);
    free(ids);
    return HV_ENOMEM;
  }
  size_t k = build_states(tr, t_ms, st, idx);
  for (size_t i = 0; i < k; i++)
    ids[i] = tr->a[idx[i]].id;
  free(idx);
  *states = st;
  *assets = ids;
  *n = k;
  return HV_OK;
}

/* The minima a pair is held to, and where each comes from. */
struct minima {
  struct hv_sep_params p;
  int by[3]; /* h, v, look-ahead: index into tr->sep_ag, -1 = the engine */
};

/* Starts a pass at t_ms: lists in tr->sep_ag the agreements in force then
 * that carry separation minima, forgets which apply to which party, and
 * sets *maxp to the largest of each parameter over the engine's and those
 * agreements' (the parameters of the one hv_separation_detect). */
static int sep_begin(struct hv_tracks *tr, int64_t t_ms,
                     struct hv_sep_params *maxp) {
  *maxp = tr->sep;
  tr->n_sep_ag = 0;
  size_t na = hv_db_count(tr->db, HV_AGREEMENT);
  for (size_t i = 0; i < na; i++) {
    const struct hv_object *ag = hv_db_at(tr->db, HV_AGREEMENT, i);
    const struct hv_agreement_sep *sp = &ag->u.agreement.separation;
    if (!hv_agreement_in_force(ag, t_ms) ||
        !(sp->has_horizontal || sp->has_vertical || sp->has_lookahead))
      continue;
    const struct hv_object **v =
        hv__grow(tr->sep_ag, &tr->cap_sep_ag, tr->n_sep_ag + 1, sizeof *v);
    if (v == NULL)
      return HV_ENOMEM;
    tr->sep_ag = v;
    tr->sep_ag[tr->n_sep_ag++] = ag;
    if (sp->has_horizontal)
      maxp->h_sep_m = fmax(maxp->h_sep_m, sp->horizontal_m);
    if (sp->has_vertical)
      maxp->v_sep_m = fmax(maxp->v_sep_m, sp->vertical_m);
    if (sp->has_lookahead)
      maxp->lookahead_s = fmax(maxp->lookahead_s, sp->lookahead_s);
  }
  if (tr->n_sep_ag == 0 || tr->n_parties == 0)
    return HV_OK;
  tr->ag_words = (tr->n_sep_ag + 63) / 64;
  uint64_t *w = hv__grow(tr->party_ag, &tr->cap_party_ag,
                      tr->n_parties * tr->ag_words, sizeof *w);
  if (w == NULL)
    return HV_ENOMEM;
  tr->party_ag = w;
  uint8_t *d =
      hv__grow(tr->party_done, &tr->cap_party_done, tr->n_parties, sizeof *d);
  if (d == NULL)
    return HV_ENOMEM;
  tr->party_done = d;
  memset(tr->party_done, 0, tr->n_parties);
  return HV_OK;
}

/* Bits of the agreements of tr->sep_ag that apply to party p (covered or
 * guarantor), worked out once per pass. */
static const uint64_t *party_bits(struct hv_tracks *tr, uint32_t p) {
  uint64_t *w = &tr->party_ag[(size_t)p * tr->ag_words];
  if (tr->party_done[p])
    return w;
  memset(w, 0, tr->ag_words * sizeof *w);
  const char *id = tr->parties[p];
  for (size_t k = 0; k < tr->n_sep_ag; k++) {
    const struct hv_object *ag = tr->sep_ag[k];
    if (hv_agreement_binds(tr->db, ag, id) ||
        hv_ids_contain(ag->u.agreement.guarantors, id))
      w[k / 64] |= 1ull << (k % 64);
  }
  tr->party_done[p] = 1;
  return w;
}

/* The minima of a pair of aircraft of parties pa and pb (the rule of
 * tracks.h): field by field the largest any applicable agreement gives,
 * the first in tr->sep_ag order on ties; the engine's where none gives
 * one. */
static void pair_minima(struct hv_tracks *tr, uint32_t pa, uint32_t pb,
                        struct minima *m) {
  m->p = tr->sep;
  m->by[0] = m->by[1] = m->by[2] = -1;
  if (tr->n_sep_ag == 0)
    return;
  const uint64_t *wa = party_bits(tr, pa), *wb = party_bits(tr, pb);
  double *f[3] = {&m->p.h_sep_m, &m->p.v_sep_m, &m->p.lookahead_s};
  for (size_t k = 0; k < tr->n_sep_ag; k++) {
    if (!((wa[k / 64] & wb[k / 64]) >> (k % 64) & 1u))
      continue; /* does not apply to both */
    const struct hv_agreement_sep *sp = &tr->sep_ag[k]->u.agreement.separation;
    const int has[3] = {sp->has_horizontal, sp->has_vertical,
                        sp->has_lookahead};
    const double val[3] = {sp->horizontal_m, sp->vertical_m, sp->lookahead_s};
    for (int i = 0; i < 3; i++)
      if (has[i] && (m->by[i] < 0 || val[i] > *f[i])) {
        *f[i] = val[i];
        m->by[i] = (int)k;
      }
  }
}

static int same_params(const struct hv_sep_params *x,
                       const struct hv_sep_params *y) {
  return x->h_sep_m == y->h_sep_m && x->v_sep_m == y->v_sep_m &&
         x->lookahead_s == y->lookahead_s;
}

/* Keeps in tr->conf the conflicts of the pass (found with maxp among the n
 * states st) that hold under their pair's own minima, with those minima in
 * tr->conf_min. A pair whose minima are maxp is kept as found: it is what
 * hv_separation_pair would give. */
static int sep_decide(struct hv_tracks *tr, const struct hv_state *st, size_t n,
                      const struct hv_sep_params *maxp, struct hv_error *err) {
  struct hv_conflicts *cf = &tr->conf;
  if (cf->n == 0)
    return HV_OK;
  struct minima *mv = hv__grow(tr->conf_min, &tr->cap_conf_min, cf->n, sizeof *mv);
  if (mv == NULL)
    return HV_ENOMEM;
  tr->conf_min = mv;
  size_t w = 0;
  for (size_t k = 0; k < cf->n; k++) {
    struct hv_conflict c = cf->v[k];
    struct minima m;
    pair_minima(tr, st[c.a].party, st[c.b].party, &m);
    if (!same_params(&m.p, maxp)) {
      int rc = hv_separation_pair(st, n, c.a, c.b, &m.p, &c, err);
      if (rc < 0)
        return rc;
      if (rc == 0)
        continue;
    }
    cf->v[w] = c;
    tr->conf_min[w++] = m;
  }
  cf->n = w;
  return HV_OK;
}

/* Writes the minima m into the finding f. */
static void set_minima(const struct hv_tracks *tr, const struct minima *m,
                       struct hv_finding *f) {
  f->h_sep_m = m->p.h_sep_m;
  f->v_sep_m = m->p.v_sep_m;
  f->lookahead_s = m->p.lookahead_s;
  char *by[3] = {f->h_sep_by, f->v_sep_by, f->lookahead_by};
  for (int i = 0; i < 3; i++)
    copy_id(by[i], m->by[i] < 0 ? "" : tr->sep_ag[m->by[i]]->id);
}

static int separation(struct hv_tracks *tr, int64_t t_ms,
                      struct hv_findings *out, struct hv_error *err) {
  int rc = hv_sep_params_check(&tr->sep, err);
  if (rc != HV_OK)
    return rc;
  size_t cap = tr->n ? tr->n : 1;
  struct hv_state *st = malloc(cap * sizeof *st);
  uint32_t *idx = malloc(cap * sizeof *idx);
  uint64_t *keys = NULL, *kept = NULL;
  struct hv_sep_params maxp;
  rc = HV_ENOMEM;
  if (st == NULL || idx == NULL || sep_begin(tr, t_ms, &maxp) != HV_OK)
    goto done;
  size_t n = build_states(tr, t_ms, st, idx);
  if ((rc = hv_separation_detect(st, n, &maxp, &tr->conf, err)) != HV_OK ||
      (rc = sep_decide(tr, st, n, &maxp, err)) != HV_OK)
    goto done;
  rc = HV_ENOMEM;
  size_t nk = tr->conf.n;
  if (nk && (keys = malloc(nk * sizeof *keys)) == NULL)
    goto done;
  /* conf is sorted by (a, b) and idx is increasing, so keys are sorted and
   * keys[j] is the key of conf.v[j]. */
  for (size_t i = 0; i < nk; i++)
    keys[i] = (uint64_t)idx[tr->conf.v[i].a] << 32 | idx[tr->conf.v[i].b];
  /* Pairs in conflict at a later time than this pass (a batch of an
   * earlier time): not judged by it, kept as they are. */
  kept = tr->n_pairs ? malloc(tr->n_pairs * sizeof *kept) : NULL;
  size_t n_kept = 0;
  if (tr->n_pairs && kept == NULL)
    goto done;
  size_t i = 0, j = 0;
  while (i < tr->n_pairs || j < nk) {
    uint64_t old = i < tr->n_pairs ? tr->pairs[i] : UINT64_MAX;
    uint64_t now = j < nk ? keys[j] : UINT64_MAX;
    if (old == now) {
      i++;
      j++;
      continue;
    }
    int resolved = old < now;
    uint64_t key = resolved ? old : now;
    const struct asset *a = &tr->a[key >> 32], *b = &tr->a[key & 0xffffffffu];
    struct hv_finding *f;
    if (resolved && (a->t_ms - t_ms > HV_TRACKS_STALE_MS ||
                     b->t_ms - t_ms > HV_TRACKS_STALE_MS)) {
      kept[n_kept++] = old;
      i++;
      continue;
    }
    if (resolved) {
      f = push(tr, out, HV_FIND_SEPARATION_RESOLVED, a->id, a->party,
               (enum hv_asset_class)a->cls, t_ms, a->lon, a->lat, a->alt_m);
      if (f == NULL)
        goto done;
      snprintf(f->reason, sizeof f->reason,
               "%s (%s) and %s (%s) are no longer predicted to lose "
               "separation",
               a->id, tr->parties[a->party], b->id, tr->parties[b->party]);
      i++;
    } else {
      const struct hv_conflict *c = &tr->conf.v[j];
      const struct minima *m = &tr->conf_min[j];
      const struct hv_state *sa = &st[c->a];
      f = push(tr, out, HV_FIND_SEPARATION_CONFLICT, a->id, a->party,
               (enum hv_asset_class)a->cls, t_ms, sa->lon, sa->lat, sa->alt_m);
      if (f == NULL)
        goto done;
      f->t_cpa_s = c->t_cpa_s;
      f->d_cpa_m = c->d_cpa_m;
      f->dalt_cpa_m = c->dalt_cpa_m;
      set_minima(tr, m, f);
      const char *src = f->h_sep_by[0]   ? f->h_sep_by
                        : f->v_sep_by[0] ? f->v_sep_by
                                         : f->lookahead_by;
      snprintf(f->reason, sizeof f->reason,
               "%s (%s) and %s (%s) are predicted to lose separation in %.0f s "
               "(closest approach in %.0f s: %.0f m horizontally, %.0f m "
               "vertically; minima %.0f m, %.0f m, %.0f s%s%s)",
               a->id, tr->parties[a->party], b->id, tr->parties[b->party],
               c->t_in_s, c->t_cpa_s, c->d_cpa_m, c->dalt_cpa_m, m->p.h_sep_m,
               m->p.v_sep_m, m->p.lookahead_s, src[0] ? " of " : "", src);
      j++;
    }
    copy_id(f->other_asset, b->id);
    copy_id(f->other_party, tr->parties[b->party]);
    f->obj_id[0] = '\0';
  }
  if (n_kept) { /* merge the kept pairs in, both lists sorted */
    uint64_t *all = malloc((nk + n_kept) * sizeof *all);
    if (all == NULL)
      goto done;
    size_t x = 0, y = 0, z = 0;
    while (x < nk || y < n_kept)
      all[z++] = y >= n_kept || (x < nk && keys[x] < kept[y]) ? keys[x++]
                                                               : kept[y++];
    free(keys);
    keys = all;
    nk += n_kept;
  }
  free(tr->pairs);
  tr->pairs = keys;
  tr->n_pairs = tr->cap_pairs = nk;
  keys = NULL;
  rc = HV_OK;
done:
  if (rc == HV_ENOMEM)
    rc = hv_error_set(err, rc, "tracks: out of memory in the separation pass");
  free(kept);
  free(keys);
  free(st);
  free(idx);
  return rc;
}

/* ---- ingest
 * ------------------------------------------------------------------ */

int hv_tracks_ingest(struct hv_tracks *tr, const struct hv_position *batch,
                     size_t n, struct hv_findings *out, struct hv_error *err) {
  if (tr == NULL || out == NULL || (batch == NULL && n > 0))
    return hv_error_set(err, HV_EINVAL, "tracks: NULL argument");
  int rc;
  for (size_t i = 0; i < n; i++)
    if ((rc = validate(tr, &batch[i], i, err)) != HV_OK)
      return rc;
  if ((rc = cache_refresh(tr)) != HV_OK)
    return hv_error_set(err, rc, "tracks: cannot prepare sites and corridors");
  int64_t newest = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    rc = apply(tr, &batch[i], out);
    if (rc < 0)
      return hv_error_set(err, rc, "report %zu: %s", i, hv_strerror(rc));
    if (rc == 1 && batch[i].t_ms > newest)
      newest = batch[i].t_ms;
  }
  if (newest == INT64_MIN)
    return HV_OK;
  return separation(tr, newest, out, err);
}

/* ---- queries
 * ------------------------------------------------------------------ */

static void hist_to_pos(const struct hv_tracks *tr, const struct asset *a,
                        const struct hist *h, struct hv_position *p) {
  p->asset = a->id;
  p->party = tr->parties[a->party];
  p->cls = (enum hv_asset_class)a->cls;
  p->t_ms = h->t_ms;
  p->lon = h->lon;
  p->lat = h->lat;
  p->alt_m = h->alt_m;
  p->ve_mps = h->ve;
  p->vn_mps = h->vn;
  p->vs_mps = h->vs;
}

int hv_tracks_last(const struct hv_tracks *tr, const char *asset,
                   struct hv_position *out) {
  const struct asset *a = find_asset(tr, asset);
  if (a == NULL || a->t_ms == INT64_MIN)
    return HV_ENOTFOUND;
  struct hist h = {a->t_ms, a->lon, a->lat, a->alt_m, a->ve, a->vn, a->vs};
  hist_to_pos(tr, a, &h, out);
  return HV_OK;
}

int hv_tracks_at(const struct hv_tracks *tr, size_t i,
                 struct hv_position *out) {
  if (i >= tr->n || tr->a[i].t_ms == INT64_MIN)
    return HV_ENOTFOUND;
  const struct asset *a = &tr->a[i];
  struct hist h = {a->t_ms, a->lon, a->lat, a->alt_m, a->ve, a->vn, a->vs};
  hist_to_pos(tr, a, &h, out);
  return HV_OK;
}

size_t hv_tracks_history(const struct hv_tracks *tr, const char *asset,
                         struct hv_position *out, size_t max) {
  const struct asset *a = find_asset(tr, asset);
  if (a == NULL || a->t_ms == INT64_MIN || max == 0)
    return 0;
  if (a->ring == NULL) { /* no history kept: the last report */
    struct hist h = {a->t_ms, a->lon, a->lat, a->alt_m, a->ve, a->vn, a->vs};
    hist_to_pos(tr, a, &h, &out[0]);
    return 1;
  }
  size_t n = a->hist_n < max ? a->hist_n : max;
  size_t first = (a->hist_head + a->hist_cap - a->hist_n) +
                 (a->hist_n - n); /* skip the oldest when max is short */
  for (size_t i = 0; i < n; i++)
    hist_to_pos(tr, a, &a->ring[(first + i) % a->hist_cap], &out[i]);
  return n;
}

size_t hv_tracks_bytes_per_asset(const struct hv_tracks *tr) {
  if (tr->n == 0)
    return 0;
  size_t total = tr->nslots * sizeof *tr->slots;
  for (size_t i = 0; i < tr->n; i++) {
    const struct asset *a = &tr->a[i];
    total += sizeof *a + strlen(a->id) + 1;
    if (a->in)
      total +=
          sizeof *a->in + ((size_t)a->in->n[0] + a->in->n[1] + a->in->n[2]) *
                              sizeof a->in->v[0];
  }
  /* the interned names, shared by all */
  total += tr->cap_names * sizeof *tr->names +
           tr->n_name_slots * sizeof *tr->name_slots;
  for (uint32_t k = 0; k < tr->n_names; k++)
    total += strlen(tr->names[k]) + 1;
  return total / tr->n;
}

/* ---- JSON -------------------------------------------------------------------
 */

static int set_num(json_t *o, const char *k, double v) {
  return json_object_set_new(o, k, json_real(v));
}

json_t *hv_finding_json(const struct hv_finding *f) {
  json_t *o = json_object();
  if (o == NULL)
    return NULL;
  char t[40];
  int bad_ = 0;
  bad_ |= json_object_set_new(o, "kind",
                              json_string(hv_finding_kind_name(f->kind)));
  bad_ |= json_object_set_new(
      o, "t", json_string(hv_time_format(f->t_ms, t, sizeof t)));
  bad_ |= json_object_set_new(o, "t_ms", json_integer(f->t_ms));
  bad_ |= json_object_set_new(o, "asset", json_string(f->asset));
  bad_ |= json_object_set_new(o, "party", json_string(f->party));
  bad_ |=
      json_object_set_new(o, "class", json_string(hv_asset_class_name(f->cls)));
  bad_ |= set_num(o, "lon", f->lon);
  bad_ |= set_num(o, "lat", f->lat);
  bad_ |= set_num(o, "alt_m", f->alt_m);
  if (f->obj_id[0])
    bad_ |= json_object_set_new(o, "object",
                                json_pack("{s:s,s:s}", "kind",
                                          hv_kind_name(f->obj_kind), "id",
                                          f->obj_id));
  switch (f->kind) {
  case HV_FIND_SEPARATION_CONFLICT: {
    bad_ |= set_num(o, "t_cpa_s", f->t_cpa_s);
    bad_ |= set_num(o, "d_cpa_m", f->d_cpa_m);
    bad_ |= set_num(o, "dalt_cpa_m", f->dalt_cpa_m);
    bad_ |= set_num(o, "h_sep_m", f->h_sep_m);
    bad_ |= set_num(o, "v_sep_m", f->v_sep_m);
    bad_ |= set_num(o, "lookahead_s", f->lookahead_s);
    json_t *by = json_object();
    const char *const field[3] = {"h_sep_m", "v_sep_m", "lookahead_s"};
    const char *const ag[3] = {f->h_sep_by, f->v_sep_by, f->lookahead_by};
    for (int i = 0; by && i < 3; i++)
      if (ag[i][0])
        bad_ |= json_object_set_new(by, field[i], json_string(ag[i]));
    bad_ |= json_object_set_new(o, "minima_by", by);
  }
    /* fall through */
  case HV_FIND_SEPARATION_RESOLVED:
    bad_ |= json_object_set_new(o, "other_asset", json_string(f->other_asset));
    bad_ |= json_object_set_new(o, "other_party", json_string(f->other_party));
    break;
  case HV_FIND_SITE_PROXIMITY:
    bad_ |= set_num(o, "distance_m", f->distance_m);
    break;
  case HV_FIND_IMPLAUSIBLE:
    if (f->speed_mps > 0) {
      bad_ |= set_num(o, "distance_m", f->distance_m);
      bad_ |= set_num(o, "speed_mps", f->speed_mps);
    }
    break;
  default:
    break;
  }
  if (f->reason[0])
    bad_ |= json_object_set_new(o, "reason", json_string(f->reason));
  if (bad_) {
    json_decref(o);
    return NULL;
  }
  return o;
}
