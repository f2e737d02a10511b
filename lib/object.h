/*
 * object.h — internal: making objects from canonical documents.
 */
#ifndef HAVEN_LIB_OBJECT_H
#define HAVEN_LIB_OBJECT_H

#include "haven/geo.h"
#include "haven/object.h"

/* Decimal digits kept for real numbers in canonical documents: enough for
 * 1e-9 degree, and printed back unchanged after a parse. */
#define HV__REAL_DIGITS 15
#define HV__JSON_CANON                                                         \
  (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(HV__REAL_DIGITS))

/*
 * Checks doc (taken, whatever the outcome) against the schema of kind — every
 * member known, of its type, required ones present, geometry valid — and
 * makes the object. doc must hold "id" and, when it is in the store,
 * "version". References to other objects are not checked here. err's
 * message names the field ("valid_from: not an RFC 3339 time").
 * Errors: HV_ESCHEMA, HV_EGEOMETRY, HV_ENOMEM, HV_EGEODESY.
 */
int hv__object_new(struct hv_geo *geo, enum hv_kind kind, json_t *doc,
                   struct hv_object **out, struct hv_error *err);

void hv__object_free(struct hv_geo *geo, struct hv_object *obj);

/* 1 when s is a valid id (1..64 of [A-Za-z0-9_.:-]). */
int hv__id_valid(const char *s);

/* Calls fn for each party reference in obj (field name, id); stops and
 * returns the first non-zero value of fn. */
int hv__object_each_ref(const struct hv_object *obj,
                        int (*fn)(const char *field, enum hv_kind kind,
                                  const char *id, void *ud),
                        void *ud);

/* The canonical text of a document (caller frees with free()). */
char *hv__canon(const json_t *doc);

#endif
