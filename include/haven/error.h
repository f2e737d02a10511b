/*
 * haven/error.h — result codes of libhaven.
 *
 * Every function that can fail returns int: HV_OK (0) or one of the negative
 * HV_E* codes below. The table is written once, as an X-macro, and gives both
 * the constants and hv_strerror() / hv_err_name().
 *
 * Functions that fail on bad input also fill a struct hv_error with a message
 * a person can act on: which file, which feature or object, which field, and
 * why.
 */
#ifndef HAVEN_ERROR_H
#define HAVEN_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HV_ERRNO_MAP(X)                                                        \
  X(NOMEM, -1, "out of memory")                                                \
  X(INVAL, -2, "invalid argument")                                             \
  X(IO, -3, "input/output error")                                              \
  X(PARSE, -4, "malformed input")                                              \
  X(SCHEMA, -5, "input does not follow the schema")                            \
  X(GEOMETRY, -6, "invalid geometry")                                          \
  X(NOTFOUND, -7, "no such object")                                            \
  X(EXISTS, -8, "object already exists")                                       \
  X(CONFLICT, -9, "stale version")                                             \
  X(CYCLE, -10, "sponsor relation would contain a cycle")                      \
  X(REF, -11, "reference to an unknown object")                                \
  X(STORE, -12, "store error")                                                 \
  X(TAMPER, -13, "ledger does not verify")                                     \
  X(PHASE, -14, "phase transition not allowed")                                \
  X(GEODESY, -15, "geodesy error")                                             \
  X(PERM, -16, "not permitted")

enum hv_errno {
  HV_OK = 0,
#define HV__ERR_ENUM(name, code, msg) HV_E##name = (code),
  HV_ERRNO_MAP(HV__ERR_ENUM)
#undef HV__ERR_ENUM
};

/* A short English description of code; never NULL (unknown codes give
 * "unknown error"). The string is static. Thread-safe. */
const char *hv_strerror(int code);

/* The symbolic name of code ("HV_ENOMEM"); never NULL. Static. Thread-safe. */
const char *hv_err_name(int code);

/*
 * Detail of a failure on input: filled by functions that take a
 * struct hv_error * (which may be NULL when the caller does not want it).
 * msg holds the whole human-readable sentence, e.g.
 *   "zones.geojson: feature 3 (id "idlib"): geometry:
 * Self-intersection[36.1 35.2]"
 */
struct hv_error {
  int code;       /* the HV_E* code that was returned */
  char msg[1024]; /* NUL-terminated; empty when there is no detail */
};

/* Sets err->code and formats err->msg (printf-style). A NULL err is ignored.
 * Returns code so that callers can write `return hv_error_set(err, ...)`. */
int hv_error_set(struct hv_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with a formatted context ("file.json: "), keeping the
 * existing text. A NULL err is ignored. */
void hv_error_prefix(struct hv_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif
#endif
