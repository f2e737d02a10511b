/*
 * haven/incsv.h — incidents from the CSV files of conflict-event datasets:
 * UCDP GED, ACLED, and Syrian Archive's alleged-attacks files
 * (docs/formats.md "Incident CSV files", the mapping in docs/incident-csv.md).
 *
 * A file is read into a GeoJSON FeatureCollection of incident features
 * (docs/formats.md "Incident"), which hv_db_import_docs then validates and
 * writes all or nothing. Actor names resolve to parties through the
 * parties' names and aliases (hv_db_party_by_alias); names that resolve to
 * nothing are counted, never dropped: the incident keeps them in `actors`.
 */
#ifndef HAVEN_INCSV_H
#define HAVEN_INCSV_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

enum hv_incsv_format {
  HV_INCSV_UCDP,           /* "ucdp" */
  HV_INCSV_ACLED,          /* "acled" */
  HV_INCSV_SYRIAN_ARCHIVE, /* "syrian-archive" */
  HV_INCSV_FORMAT_COUNT
};
const char *hv_incsv_format_name(enum hv_incsv_format f);
/* Errors: HV_EINVAL (err lists the names). */
int hv_incsv_format_parse(const char *name, enum hv_incsv_format *out,
                          struct hv_error *err);

struct hv_incsv_options {
  /* The UTC offset the file's dates are local to, "+02:00" / "-05:00";
   * NULL or "Z": UTC. A date D becomes the interval [D 00:00 at that
   * offset, D + 1 day 00:00 at that offset). */
  const char *utc_offset;
  /* syrian-archive: how many days before the upload the attack may have
   * happened (0: the default, 7). */
  int lag_days;
};

/* An actor name that resolved to no party, and how many rows named it. */
struct hv_incsv_unresolved {
  char *name;
  size_t count;
};

struct hv_incsv_result {
  json_t *features;   /* a FeatureCollection; owned */
  size_t rows;        /* data rows read */
  size_t skipped;     /* rows with no usable location (blank coordinates):
                         listed on skipped_lines, not made into incidents */
  size_t *skipped_lines; /* their 1-based line numbers in the file */
  struct hv_incsv_unresolved *unresolved; /* by count descending, then name */
  size_t n_unresolved;
};

/*
 * Reads path in format f. Actor names are resolved against db's parties.
 * A malformed file (missing column, bad number, bad date, coordinates out
 * of range) fails as a whole: err names the file, the line, the column and
 * the reason ("x.csv: line 12: latitude: \"91.2\" is not a latitude (-90 to 90)"), and
 * *out is left empty. Errors: HV_EIO, HV_EPARSE, HV_EINVAL, HV_ENOMEM.
 */
int hv_incsv_read(struct hv_db *db, enum hv_incsv_format f, const char *path,
                  const struct hv_incsv_options *opt,
                  struct hv_incsv_result *out, struct hv_error *err);

/* Frees what a result holds and zeroes it. NULL is a no-op. */
void hv_incsv_result_free(struct hv_incsv_result *r);

#ifdef __cplusplus
}
#endif
#endif
