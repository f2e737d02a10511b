/*
 * haven/positions.h — batches of position reports as POST /v1/positions
 * takes them (docs/api.md, "Position reports"), parsed into the
 * struct hv_position array hv_tracks_ingest takes.
 *
 * A batch is a JSON array of report objects, or NDJSON: one report object
 * per line (lines split on '\n'; a line holding only spaces, tabs and CRs
 * is skipped). A report has exactly these members: asset, party, class
 * (strings), t (RFC 3339 string) or t_ms (JSON integer) — one of them —,
 * lon, lat (numbers), alt_m (number, default 0), ve_mps + vn_mps or
 * gs_mps + trk_deg (numbers; gs_mps >= 0, trk_deg 0..360, turned into
 * ve/vn as gs sin(trk), gs cos(trk); neither: 0) and vs_mps (number,
 * default 0). The range checks of the values (ids, coordinates, speeds,
 * parties) are hv_tracks_ingest's, not these.
 *
 * Two parsers give the same results. hv_positions_parse is the fast one: a
 * strict scanner for the common form of a batch (see its comment) that
 * allocates nothing per value and falls back to the other for anything
 * else; hv_positions_parse_reference parses with jansson (json_loadb) and
 * is kept for cross-checks.
 */
#ifndef HAVEN_POSITIONS_H
#define HAVEN_POSITIONS_H

#include <stddef.h>

#include "error.h"
#include "tracks.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of fault_member: a member name longer than this less one is cut. */
#define HV_POSITIONS_MEMBER_MAX 128

/*
 * A parsed batch. Zero it ({0}) before its first use; a batch may be passed
 * to the parsers again, which reuses its storage (the reports of the
 * earlier call are gone then). Free it with hv_positions_batch_free.
 */
struct hv_positions_batch {
  /* The reports, in the order of the body. Their asset and party (and the
   * strings they were made of) are borrowed: they point into the parser's
   * text (fast path) or into storage the batch owns (fallback), so they are
   * valid until the batch is freed or reused, and, when fallback is 0, as
   * long as the text is alive and unchanged. */
  struct hv_position *v;
  size_t n;
  /* 1 when the result (reports or error) came from jansson: always after
   * hv_positions_parse_reference; after hv_positions_parse when the fast
   * path gave up on the body. */
  int fallback;
  /* After HV_EINVAL about one report (err->msg "report I: ..."): fault is
   * 1, fault_index is I and fault_member the member at fault ("" when the
   * report as a whole is: "report I: a report must be a JSON object"),
   * NUL-terminated, cut at HV_POSITIONS_MEMBER_MAX - 1 bytes. Otherwise
   * fault is 0. Meant for the HTTP error's field "[I].member" and index. */
  int fault;
  size_t fault_index;
  char fault_member[HV_POSITIONS_MEMBER_MAX];
  /* Private to the parsers. */
  size_t cap; /* elements allocated at v */
  void *json; /* the fallback's document (json_t *), owning its strings */
};

/*
 * Parses the batch text[0..len) (ndjson 0: a JSON array of reports; 1:
 * NDJSON) into *out, replacing what out held.
 *
 * text: borrowed, and modified: text[len] must be '\0', and the parser may
 * write into text[0..len) (it ends the strings it takes in place with a
 * '\0'); when it falls back it first puts text back as it was. The reports'
 * strings may point into text: keep it until done with them.
 *
 * The fast path takes a body made only of: JSON whitespace (in NDJSON,
 * spaces, tabs and CRs within a line), the array's brackets and commas,
 * report objects whose members are among the known ones, each at most
 * once, with values that are strings of printable ASCII (0x20-0x7e)
 * without escapes, or JSON numbers (integers that fit int64; reals that do
 * not overflow), every report passing the checks. For anything else — and
 * so for every error — the whole text is parsed again by
 * hv_positions_parse_reference, whose result is returned (out->fallback
 * is 1). Numbers are converted as jansson does: an integer to int64 (then
 * to double when a double is wanted), a real as strtod would (exact
 * decimal fast path when the significand fits 2^53 and the power of ten
 * 10^22, strtod otherwise: both correctly rounded); so both parsers give
 * bit-identical reports.
 *
 * Errors (err, which may be NULL, gets the message; out->n is 0):
 * - HV_EINVAL "the body must hold position reports": text NULL or len 0;
 * - HV_EPARSE "the body is not JSON: line L, column C: <jansson's text>"
 *   (ndjson 0) or "line N is not JSON: column C: <jansson's text>" (ndjson
 *   1: the first line that is not one JSON object or array);
 * - HV_EINVAL "the body must be a JSON array of position reports" (ndjson
 *   0, the body is JSON but not an array);
 * - HV_EINVAL "report I: MEMBER: reason" (e.g. "report 3: lat: missing",
 *   "report 0: speed: unknown member", "report 2: gs_mps: must be >= 0")
 *   or "report I: a report must be a JSON object", with out->fault set: the
 *   first report at fault, and its first fault in the order of the checks;
 * - HV_EINVAL when out is NULL; HV_ENOMEM.
 * A body with no report ("[]", or NDJSON of blank lines only) is HV_OK with
 * n 0. Thread-safe on distinct texts and batches.
 */
int hv_positions_parse(char *text, size_t len, int ndjson,
                       struct hv_positions_batch *out, struct hv_error *err);

/*
 * The same with jansson alone (json_loadb on the body, or on each line),
 * as POST /v1/positions parsed before hv_positions_parse: same contract,
 * results and errors. text is only read (its strings are copied into
 * out). out->fallback is 1.
 */
int hv_positions_parse_reference(char *text, size_t len, int ndjson,
                                 struct hv_positions_batch *out,
                                 struct hv_error *err);

/* Frees what b holds and zeroes it (b itself is the caller's). NULL is a
 * no-op. */
void hv_positions_batch_free(struct hv_positions_batch *b);

#ifdef __cplusplus
}
#endif
#endif
