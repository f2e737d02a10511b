/*
 * findings.c — findings of the live picture kept in the record: each one a
 * ledger-only entry (op and kind "finding") written through the one write
 * path, hv__db_commit, a batch in one transaction.
 *
 * Invariants:
 * - the body of a finding's entry is hv_finding_record_json, canonical:
 *   who may read it (hv_visibility, HV_FINDING) is decided from the body
 *   alone, so a copy of the chain carries its own audience;
 * - findings never touch the objects table or the registry.
 */
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/tracks.h"

/* Adds id to the sorted array a unless present or equal to skip1/skip2. */
static int audience_add(json_t *a, const char *id, const char *skip1,
                        const char *skip2) {
  if (id == NULL || *id == '\0' || strcmp(id, skip1) == 0 ||
      (skip2 && strcmp(id, skip2) == 0))
    return 0;
  size_t i, at = json_array_size(a);
  json_t *v;
  json_array_foreach(a, i, v) {
    int c = strcmp(json_string_value(v), id);
    if (c == 0)
      return 0;
    if (c > 0) {
      at = i;
      break;
    }
  }
  return json_array_insert_new(a, at, json_string(id));
}

json_t *hv_finding_record_json(const struct hv_db *db,
                               const struct hv_finding *f) {
  json_t *doc = hv_finding_json(f);
  json_t *aud = json_array();
  if (doc == NULL || aud == NULL) {
    json_decref(doc);
    json_decref(aud);
    return NULL;
  }
  const char *other = f->other_party[0] ? f->other_party : NULL;
  const struct hv_object *o =
      f->obj_id[0] ? hv_db_get(db, f->obj_kind, f->obj_id) : NULL;
  int bad = 0;
  hv_ids ids = NULL;
  if (o && o->kind == HV_ZONE)
    ids = o->u.zone.guarantors;
  else if (o && o->kind == HV_CORRIDOR)
    ids = o->u.corridor.guarantors;
  else if (o && o->kind == HV_SITE)
    bad |= audience_add(aud, o->u.site.notified_by, f->party, other);
  else if (o && o->kind == HV_MOVEMENT)
    bad |= audience_add(aud, o->u.movement.notified_by, f->party, other);
  for (size_t i = 0; ids && ids[i]; i++)
    bad |= audience_add(aud, ids[i], f->party, other);
  bad |= json_object_set_new(doc, "audience", aud);
  if (bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

int hv_db_record_findings(struct hv_db *db, const char *author,
                          const struct hv_findings *f, int64_t *first_seq,
                          struct hv_error *err) {
  if (first_seq)
    *first_seq = 0;
  if (f == NULL || f->n == 0)
    return HV_OK;
  struct hv__change *c = calloc(f->n, sizeof *c);
  char **bodies = calloc(f->n, sizeof *bodies);
  int rc = c && bodies ? HV_OK : HV_ENOMEM;
  for (size_t i = 0; i < f->n && rc == HV_OK; i++) {
    json_t *doc = hv_finding_record_json(db, &f->v[i]);
    bodies[i] = doc ? hv__canon(doc) : NULL;
    json_decref(doc);
    if (bodies[i] == NULL) {
      rc = HV_ENOMEM;
      break;
    }
    c[i].op = "finding";
    c[i].record_kind = "finding";
    c[i].record_body = bodies[i];
  }
  int64_t first = db->head_seq + 1;
  if (rc == HV_OK)
    rc = hv__db_commit(db, author, c, f->n, err);
  else
    hv_error_set(err, rc, "out of memory");
  if (rc == HV_OK && first_seq)
    *first_seq = first;
  for (size_t i = 0; bodies && i < f->n; i++)
    free(bodies[i]);
  free(bodies);
  free(c);
  return rc;
}
