/*
 * haven/bulletin.h — the periodic report of a ceasefire mechanism.
 *
 * A bulletin counts, for one agreement and one period (by default a UTC
 * day), the recorded adjudications (haven/adjudicate.h) whose incident time
 * lies in the period, next to the same counts for the period just before:
 * totals by class, violations by accused party, by accountable guarantor,
 * by zone and by governorate; the hits on notified sites; the open
 * reviews; the status of the agreement's zones; and a trend over the
 * previous periods. It is a JSON value (docs/bulletin.md gives every
 * member), rendered as a terminal report, a CSV table or an SVG chart.
 *
 * The bulletin's totals equal the sum of its parts, by construction:
 *   sum(by_governorate)           == totals.violations
 *   sum(by_party)                 == totals.violations ("unattributed" row
 *                                    included)
 *   sum(by_guarantor)             == totals.violations + totals.shared
 *   sum(by_zone)                  >= totals.violations ("none" row
 *                                    included; equal when no violation lies
 *                                    in two zones)
 *   trend[last]                   == totals (violations, uncertain)
 * for the current and the previous period alike.
 *
 * Same thread rules as struct hv_db (haven/db.h).
 */
#ifndef HAVEN_BULLETIN_H
#define HAVEN_BULLETIN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "adjudicate.h"
#include "auth.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HV_BULLETIN_DAY_MS (24LL * 3600 * 1000)
#define HV_BULLETIN_TREND_DEFAULT 30
#define HV_BULLETIN_TREND_MAX 366

/* What a bulletin covers. Zero members take the defaults. */
struct hv_bulletin_opts {
  const char *agreement; /* required; borrowed */
  /* The period [from_ms, to_ms). Both 0: the last complete UTC day before
   * now. One of them 0: one day from from_ms, or up to to_ms. */
  int64_t from_ms, to_ms;
  int trend_periods; /* periods in the trend, this one included: 0 = 30,
                        at most HV_BULLETIN_TREND_MAX */
  const struct hv_status_params *status; /* zone status; NULL: defaults */
};

/*
 * The bulletin of o->agreement for the period, as principal who sees it
 * (counts are for every authenticated principal; site hits go through
 * hv_adjudication_view_json, so a hidden site is null). Reads the latest
 * recorded adjudications (hv_db_adjudicate must have run) and the reviews.
 * *out gets the bulletin (caller decrefs). who and o are borrowed.
 * Errors: HV_EINVAL (no agreement, period empty or reversed, trend out of
 * range, status parameters; err names the field), HV_ENOTFOUND (no such
 * agreement), HV_ENOMEM, and hv_db_zone_state's.
 */
int hv_db_bulletin(struct hv_db *db, const struct hv_principal *who,
                   const struct hv_bulletin_opts *o, json_t **out,
                   struct hv_error *err);

enum hv_bulletin_format {
  HV_BULLETIN_TEXT, /* a terminal report */
  HV_BULLETIN_CSV,  /* one table: section,key,name,current,previous,change */
  HV_BULLETIN_SVG,  /* a bar chart of the trend */
  HV_BULLETIN_FORMAT_COUNT
};
/* "text", "csv", "svg"; "?" out of range. */
const char *hv_bulletin_format_name(enum hv_bulletin_format f);
/* Errors: HV_EINVAL. */
int hv_bulletin_format_parse(const char *name, enum hv_bulletin_format *out);

/*
 * Renderers of a bulletin made by hv_db_bulletin (b borrowed), to f.
 * Missing members read as empty or zero. Errors: HV_EINVAL (b is not an
 * object), HV_EIO (a write failed).
 */
int hv_bulletin_text(const json_t *b, FILE *f);
int hv_bulletin_csv(const json_t *b, FILE *f);
int hv_bulletin_svg(const json_t *b, FILE *f);
int hv_bulletin_write(const json_t *b, enum hv_bulletin_format fmt, FILE *f);

/* As hv_bulletin_write, into a new NUL-terminated string *out (caller
 * frees) of *len bytes (len may be NULL), for the HTTP layer.
 * Errors: HV_EINVAL, HV_ENOMEM. */
int hv_bulletin_render(const json_t *b, enum hv_bulletin_format fmt, char **out,
                       size_t *len);

#ifdef __cplusplus
}
#endif
#endif
