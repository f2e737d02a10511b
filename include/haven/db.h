/*
 * haven/db.h — an open haven: the durable store, its hash-chained ledger and
 * the in-memory registry of the agreed map, with its queries and writes.
 *
 * Every write is validated completely first, then appended to the ledger and
 * applied to the store in one transaction, committed with fsync, and only
 * then applied to the in-memory registry and acknowledged (HV_OK). A write
 * that fails changes nothing.
 *
 * A struct hv_db is not thread-safe: one thread at a time. Several
 * processes may open one data directory; a write from a db whose view is
 * older than the store's head (another process wrote since) is refused with
 * HV_ECONFLICT and changes nothing: reopen and retry.
 */
#ifndef HAVEN_DB_H
#define HAVEN_DB_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "geo.h"
#include "object.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hv_db;

/* The party that writes when no other is named: the coordination cell. */
#define HV_COORDINATOR "coordinator"

/*
 * Opens (creating if needed) the haven kept in directory dir: the SQLite
 * store dir/haven.db in WAL mode, synchronous FULL. Loads every object into
 * memory and checks the tail of the ledger against the store's head.
 * Errors: HV_EIO (directory cannot be made or read), HV_ESTORE, HV_ETAMPER
 * (the head does not match the ledger), HV_ENOMEM. Caller closes with
 * hv_db_close(). dir is copied.
 */
int hv_db_open(const char *dir, struct hv_db **out, struct hv_error *err);

/* Closes the store and frees everything. NULL is a no-op. */
void hv_db_close(struct hv_db *db);

/* The geometry context of this db (borrowed, same thread rules). */
struct hv_geo *hv_db_geo(struct hv_db *db);

/* Looks an object up; NULL when there is none. Borrowed: valid until the
 * next write to this db. */
const struct hv_object *hv_db_get(const struct hv_db *db, enum hv_kind kind,
                                  const char *id);

/* Number of objects of kind, and the i-th in id order (borrowed, as above). */
size_t hv_db_count(const struct hv_db *db, enum hv_kind kind);
const struct hv_object *hv_db_at(const struct hv_db *db, enum hv_kind kind,
                                 size_t i);

/* The party whose name or alias is name (case-insensitive), or NULL. */
const struct hv_object *hv_db_party_by_alias(const struct hv_db *db,
                                             const char *name);

/* A result list of queries. Objects are borrowed (valid until the next
 * write); free the list with hv_hits_free. */
struct hv_hit {
  const struct hv_object *obj;
  double dist_m;       /* geodesic distance from the query point, 0 inside */
  enum hv_phase phase; /* for zones: the phase at the query time */
};
struct hv_hits {
  struct hv_hit *v;
  size_t n, cap;
};
void hv_hits_free(struct hv_hits *hits);

/*
 * Zones in force at t_ms (valid then, not dissolved then) that contain the
 * point (lon, lat) — boundary included — and whose altitude band contains
 * alt_m (pass NAN for "any altitude"). Appends to *out, in id order.
 * Errors: HV_EINVAL (coordinates out of range), HV_ENOMEM, HV_EGEOMETRY.
 */
int hv_db_zones_at(struct hv_db *db, double lon, double lat, double alt_m,
                   int64_t t_ms, struct hv_hits *out);

/*
 * Everything within dist_m metres (geodesic) of (lon, lat) at t_ms: zones in
 * force, corridors (their buffered area), protected sites (their point),
 * delineations valid then, administrative areas. Appends to *out, nearest
 * first. Errors: HV_EINVAL, HV_ENOMEM, HV_EGEODESY, HV_EGEOMETRY.
 */
int hv_db_within(struct hv_db *db, double lon, double lat, double dist_m,
                 int64_t t_ms, struct hv_hits *out);

/* The sponsor chain of party id: the party itself first, then its sponsor,
 * up to the root. Appends to *out. Errors: HV_ENOTFOUND, HV_ENOMEM. */
int hv_db_sponsor_chain(const struct hv_db *db, const char *id,
                        struct hv_hits *out);

/* How an agreement binds a party. */
enum hv_coverage {
  HV_COVER_NONE,     /* the agreement says nothing of the party */
  HV_COVER_DIRECT,   /* listed in covered */
  HV_COVER_SPONSOR,  /* covered through a covered sponsor up its chain */
  HV_COVER_EXCLUDED, /* excluded (itself or a sponsor on the way up) */
};
const char *hv_coverage_name(enum hv_coverage c);

/* How agreement binds party (both must exist; else HV_COVER_NONE). The
 * first listed party met climbing the sponsor chain decides: excluded wins
 * over covered at the same step. */
enum hv_coverage hv_db_coverage(const struct hv_db *db,
                                const struct hv_object *agreement,
                                const char *party);

/* The agreement rule shared by the live picture and the checks
 * (docs/formats.md): agreement a is in force at t_ms when valid_from <=
 * t_ms < valid_to; it binds party when it covers it directly or through a
 * sponsor (hv_db_coverage, excluded parties are not bound); it applies in
 * zone when it is nationwide or lists the zone in its scope. Pure
 * functions of their arguments; hv_agreement_binds reads db. */
int hv_agreement_in_force(const struct hv_object *a, int64_t t_ms);
int hv_agreement_binds(const struct hv_db *db, const struct hv_object *a,
                       const char *party);
int hv_agreement_applies_in(const struct hv_object *a, const char *zone);

/* Agreements valid at t_ms that cover party id (directly or through its
 * sponsors; excluded parties are not covered). Appends to *out.
 * Errors: HV_ENOTFOUND, HV_ENOMEM. */
int hv_db_agreements_covering(const struct hv_db *db, const char *id,
                              int64_t t_ms, struct hv_hits *out);

/*
 * Changes the phase of zone id to phase, effective at_ms, as party author.
 * expected_version, when > 0, must equal the zone's version (else
 * HV_ECONFLICT). at_ms must not be before the last change. Errors:
 * HV_ENOTFOUND, HV_EPHASE, HV_ECONFLICT, HV_EINVAL, HV_EREF (unknown
 * author), HV_ESTORE.
 */
int hv_db_zone_set_phase(struct hv_db *db, const char *author, const char *id,
                         enum hv_phase phase, int64_t at_ms, const char *reason,
                         int64_t expected_version, struct hv_error *err);

/* How hv_db_put treats an existing id. */
enum hv_put_mode {
  HV_PUT_CREATE, /* the id must be new: HV_EEXISTS otherwise */
  HV_PUT_UPDATE  /* the id must exist, at expected_version */
};

/*
 * Creates or updates one object of kind from doc (borrowed), in the form of
 * import files (docs/formats.md): a GeoJSON Feature for spatial kinds
 * (properties.object may be omitted), a flat document otherwise. Every
 * check of hv_db_import applies (schema, geometry, references, cycles,
 * names). HV_PUT_UPDATE needs expected_version > 0 equal to the stored
 * version (HV_ECONFLICT otherwise; a "version" in doc is taken when
 * expected_version is 0). *out, when out is non-NULL, gets the object as
 * stored (borrowed until the next write). Tokens cannot be written here.
 * Errors: as hv_db_import, HV_EEXISTS, HV_ENOTFOUND, HV_ECONFLICT,
 * HV_EINVAL (kind).
 */
int hv_db_put(struct hv_db *db, const char *author, enum hv_kind kind,
              const json_t *doc, enum hv_put_mode mode,
              int64_t expected_version, const struct hv_object **out,
              struct hv_error *err);

/*
 * Deletes object (kind, id) at expected_version (> 0, required), as author:
 * a ledger entry with op "delete" whose body is the deleted document; the
 * object leaves the store and the registry. Refused with HV_EREF (err names
 * the referring object) while another object refers to it.
 * Errors: HV_ENOTFOUND, HV_ECONFLICT, HV_EREF, HV_EINVAL (tokens: revoke
 * them), HV_ESTORE.
 */
int hv_db_delete(struct hv_db *db, const char *author, enum hv_kind kind,
                 const char *id, int64_t expected_version,
                 struct hv_error *err);

/* The store's head as this db last saw it: the number of ledger entries. */
int64_t hv_db_head_seq(const struct hv_db *db);

/* A number that changes whenever the objects of kind may have changed
 * (written, deleted, reloaded) and stays put otherwise — ledger-only
 * records (findings, acks, checks) leave it alone. Indexes built over a
 * kind compare it instead of the objects. 0 out of range. */
uint64_t hv_db_generation(const struct hv_db *db, enum hv_kind kind);

/*
 * Catches up with writes made to the store by another process (a
 * `haven token create` or `haven import` while a server runs): when the
 * store's head differs from this db's, reloads every object. *changed (may
 * be NULL) says whether it did. Objects borrowed before a reload are freed
 * by it. Cheap when nothing changed (one read of the head).
 * Errors: HV_ESTORE, HV_ETAMPER (the tail does not match the head), HV_ENOMEM;
 * on error the db keeps its previous view.
 */
int hv_db_refresh(struct hv_db *db, int *changed, struct hv_error *err);

/* Import statistics. */
struct hv_import_stats {
  size_t created, updated, unchanged;
  size_t by_kind[HV_KIND_COUNT];
};

/* Called during long imports; done and total count features. */
typedef void (*hv_progress_fn)(const char *file, size_t done, size_t total,
                               void *ud);

/*
 * Imports files (GeoJSON FeatureCollections and registry documents, see
 * docs/formats.md) as party author, all or nothing: every object of every
 * file is validated against the others and the store, then all are written
 * in one transaction. err names the file, feature index and id, field and
 * reason. Errors: HV_EIO, HV_EPARSE, HV_ESCHEMA, HV_EGEOMETRY, HV_EREF,
 * HV_ECYCLE, HV_EEXISTS (same id twice), HV_ECONFLICT, HV_ESTORE.
 * progress may be NULL.
 */
int hv_db_import(struct hv_db *db, const char *author, const char *const *paths,
                 size_t n_paths, hv_progress_fn progress, void *ud,
                 struct hv_import_stats *stats, struct hv_error *err);

/* As hv_db_import, for documents already parsed: docs[i] (borrowed) is
 * the content of a file, named names[i] in messages (e.g. the CSV file it
 * was read from). */
int hv_db_import_docs(struct hv_db *db, const char *author,
                      json_t *const *docs, const char *const *names,
                      size_t n, hv_progress_fn progress, void *ud,
                      struct hv_import_stats *stats, struct hv_error *err);

/* Writes registry.json and one .geojson per spatial kind into dir (made if
 * missing). Errors: HV_EIO, HV_ENOMEM. */
int hv_db_export(struct hv_db *db, const char *dir, struct hv_error *err);

/* The document of an object as written by export: for spatial kinds a
 * GeoJSON Feature, else the flat document. Caller owns the result. */
json_t *hv_object_export_json(const struct hv_object *obj);

#ifdef __cplusplus
}
#endif
#endif
