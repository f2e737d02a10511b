/*
 * test-posjson.c — batches of position reports (lib/posjson.c,
 * haven/positions.h): the fast parser, hv_positions_parse, against the
 * jansson one, hv_positions_parse_reference, which is what POST
 * /v1/positions has always done.
 *
 * What must hold: on every input both give the same outcome — the same
 * code, the same message, the same report at fault, the same reports with
 * bit-identical numbers and equal strings; the reference never writes into
 * its text, and the fast parser, when it falls back, leaves its text as it
 * found it. Checked on:
 * - the real batches: every NDJSON body `bench-tracks emit` writes for
 *   bench-positions.sh (traffic_switzerland.csv over northern Syria,
 *   batches of 2,500 in 2 partitions, made by the same code:
 *   bench/traffic.h), and the same as JSON arrays; the fast path must take
 *   all of them;
 * - a table of odd and malformed inputs, with the outcome each must have
 *   (and whether the fast path must take it or leave it to jansson);
 * - random numbers, each also checked against strtod / strtoll;
 * - random byte edits, insertions, deletions and copies of valid bodies
 *   (fixed seed).
 * Each parser gets its own copy of every text (both may write into it),
 * allocated to the byte so that ASan sees a read past text[len].
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "haven/haven.h"
#include "testutil.h"

#include "../../bench/traffic.h"

/* bench-positions.sh's batches: BATCH reports, PARTS partitions. */
#define BATCH 2500
#define PARTS 2

/* ---- running both parsers ------------------------------------------------ */

/* The batches the parsers fill: kept from one call to the next, so reuse of
 * a batch is exercised too; freed by the group teardown. */
static struct hv_positions_batch fast_b, ref_b;

static int group_teardown(void **state) {
  (void)state;
  hv_positions_batch_free(&fast_b);
  hv_positions_batch_free(&ref_b);
  return 0;
}

/* body, shortened and with control and non-ASCII bytes escaped, for
 * messages. */
static const char *show(const char *body, size_t len, char *buf, size_t size) {
  size_t o = 0;
  for (size_t i = 0; i < len && o + 8 < size; i++) {
    unsigned char c = (unsigned char)body[i];
    if (i == 160 && len > 200) {
      o += (size_t)snprintf(buf + o, size - o, "...");
      i = len - 40;
      continue;
    }
    if (c >= 0x20 && c < 0x7f)
      buf[o++] = (char)c;
    else
      o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
  }
  buf[o] = '\0';
  return buf;
}

/* What a parse of body gave. */
struct outcome {
  int rc;
  int fallback; /* the fast parser's */
  size_t n;
  char msg[1024];
};

/*
 * Parses body[0..len) with both parsers, each on its own copy, and fails
 * the test (naming what and the body) unless the outcomes are the same.
 */
static struct outcome same(const char *body, size_t len, int ndjson,
                           const char *what) {
  char *a = malloc(len + 1), *b = malloc(len + 1), shown[512];
  assert_non_null(a);
  assert_non_null(b);
  memcpy(a, body, len);
  memcpy(b, body, len);
  a[len] = b[len] = '\0';
  struct hv_error fe = {0}, re = {0};
  int frc = hv_positions_parse(a, len, ndjson, &fast_b, &fe);
  int rrc = hv_positions_parse_reference(b, len, ndjson, &ref_b, &re);
#define DIFFER(fmt, ...)                                                       \
  fail_msg("%s (%s): " fmt, what, ndjson ? "ndjson" : "array", __VA_ARGS__)
  if (frc != rrc || strcmp(fe.msg, re.msg) != 0)
    DIFFER("fast %d \"%s\", reference %d \"%s\"; body %s", frc, fe.msg, rrc,
           re.msg, show(body, len, shown, sizeof shown));
  if (fast_b.n != ref_b.n || fast_b.fault != ref_b.fault ||
      fast_b.fault_index != ref_b.fault_index ||
      strcmp(fast_b.fault_member, ref_b.fault_member) != 0)
    DIFFER("fast n %zu fault %d [%zu].%s, reference n %zu fault %d "
           "[%zu].%s; body %s",
           fast_b.n, fast_b.fault, fast_b.fault_index, fast_b.fault_member,
           ref_b.n, ref_b.fault, ref_b.fault_index, ref_b.fault_member,
           show(body, len, shown, sizeof shown));
  if (!ref_b.fallback)
    DIFFER("%s", "the reference says it did not use jansson");
  if (memcmp(b, body, len) != 0)
    DIFFER("the reference wrote into its text; body %s",
           show(body, len, shown, sizeof shown));
  if (fast_b.fallback && memcmp(a, body, len) != 0)
    DIFFER("the fast parser fell back and left its text changed; body %s",
           show(body, len, shown, sizeof shown));
  if (frc != HV_OK && (fast_b.n != 0 || fe.code != frc))
    DIFFER("an error with n %zu, err.code %d", fast_b.n, fe.code);
  for (size_t i = 0; i < fast_b.n; i++) {
    const struct hv_position *x = &fast_b.v[i], *y = &ref_b.v[i];
    /* t_ms .. vs_mps: an int64 and six doubles, no padding between. */
    size_t nums = sizeof *x - offsetof(struct hv_position, t_ms);
    if (strcmp(x->asset, y->asset) != 0 || strcmp(x->party, y->party) != 0 ||
        x->cls != y->cls || memcmp(&x->t_ms, &y->t_ms, nums) != 0)
      DIFFER("report %zu: fast %s %s %d %" PRId64 " %a %a %a %a %a %a, "
             "reference %s %s %d %" PRId64 " %a %a %a %a %a %a; body %s",
             i, x->asset, x->party, (int)x->cls, x->t_ms, x->lon, x->lat,
             x->alt_m, x->ve_mps, x->vn_mps, x->vs_mps, y->asset, y->party,
             (int)y->cls, y->t_ms, y->lon, y->lat, y->alt_m, y->ve_mps,
             y->vn_mps, y->vs_mps, show(body, len, shown, sizeof shown));
  }
#undef DIFFER
  struct outcome o = {frc, fast_b.fallback, fast_b.n, ""};
  memcpy(o.msg, fe.msg, sizeof o.msg);
  free(a);
  free(b);
  return o;
}

static struct outcome same_str(const char *body, int ndjson, const char *what) {
  return same(body, strlen(body), ndjson, what);
}

/* ---- the real batches ------------------------------------------------------
 */

/* The bodies bench-tracks emit writes, in its order. */
struct bodies {
  char **text;
  size_t *len, *reports;
  size_t n, total;
};

static void bodies_free(struct bodies *b) {
  for (size_t i = 0; i < b->n; i++)
    free(b->text[i]);
  free(b->text);
  free(b->len);
  free(b->reports);
  memset(b, 0, sizeof *b);
}

/* The NDJSON bodies of the CSV at csv: 0, or -1 when it cannot be read. */
static int make_bodies(const char *csv, struct bodies *out) {
  memset(out, 0, sizeof *out);
  size_t n, skipped;
  struct traffic_rep *r = traffic_load(csv, &n, &skipped);
  if (r == NULL)
    return -1;
  assert_true(traffic_number_assets(r, n, PARTS) > 0);
  struct traffic_batches b;
  assert_int_equal(traffic_make_batches(r, n, PARTS, BATCH, &b), 0);
  out->text = calloc(b.nb + 1, sizeof *out->text);
  out->len = calloc(b.nb + 1, sizeof *out->len);
  out->reports = calloc(b.nb + 1, sizeof *out->reports);
  assert_true(out->text && out->len && out->reports);
  for (size_t bi = 0; bi < b.nb; bi++) {
    out->text[bi] = traffic_body(r, &b, bi, "syr-gov", 0, &out->len[bi]);
    assert_non_null(out->text[bi]);
    out->reports[bi] = b.len[bi];
    out->total += b.len[bi];
    out->n++;
  }
  traffic_batches_free(&b);
  free(r);
  return 0;
}

static void csv_path(char *buf, size_t size) {
  if ((size_t)snprintf(buf, size, "%s/aircraft/traffic_switzerland.csv",
                       tu_env_or("HAVEN_SHARED_DATA", "/work/shared/data")) >=
      size)
    fail();
}

static void test_real_batches(void **state) {
  (void)state;
  char csv[4200], what[64];
  csv_path(csv, sizeof csv);
  struct bodies b;
  if (make_bodies(csv, &b) != 0) {
    print_message("no %s: skipped\n", csv);
    skip();
  }
  assert_true(b.total > 100000);
  for (size_t i = 0; i < b.n; i++) {
    snprintf(what, sizeof what, "batch %zu", i);
    struct outcome o = same(b.text[i], b.len[i], 1, what);
    if (o.rc != HV_OK || o.fallback || o.n != b.reports[i])
      fail_msg("%s (ndjson): rc %d \"%s\", fallback %d, %zu of %zu reports",
               what, o.rc, o.msg, o.fallback, o.n, b.reports[i]);
    size_t alen = 0;
    char *a = traffic_to_array(b.text[i], b.len[i], &alen);
    assert_non_null(a);
    o = same(a, alen, 0, what);
    if (o.rc != HV_OK || o.fallback || o.n != b.reports[i])
      fail_msg("%s (array): rc %d \"%s\", fallback %d, %zu of %zu reports",
               what, o.rc, o.msg, o.fallback, o.n, b.reports[i]);
    free(a);
  }
  print_message("%zu batches, %zu reports: the same from both, each way\n", b.n,
                b.total);
  bodies_free(&b);
}

/* ---- the table ----------------------------------------------------------- */

/* A valid report, and its parts for building variants. */
#define HEAD "'asset':'a1','party':'syr-gov','class':'fixed_wing'"
#define TMS "'t_ms':1533099600000"
#define POS "'lon':36.5,'lat':35.25"
#define GOOD                                                                   \
  "{" HEAD "," TMS "," POS ",'alt_m':1000,'gs_mps':200.5,'trk_deg':90}"

/* text with ' turned into " (into buf). */
static const char *dq(const char *text, char *buf, size_t size) {
  size_t n = strlen(text);
  assert_true(n < size);
  for (size_t i = 0; i <= n; i++)
    buf[i] = text[i] == '\'' ? '"' : text[i];
  return buf;
}

/* Whether the fast path must take a case (1), must leave it (0), either. */
enum { LEAVE = 0, TAKE = 1, ANY = 2 };

struct report_case {
  const char *report; /* one report, ' for " */
  int rc;             /* expected */
  const char *msg;    /* expected err.msg, "report 1: " + this for errors */
  int fast;           /* TAKE, LEAVE, ANY */
};

/* Each report case, after a good report, as a JSON array and as NDJSON. */
static const struct report_case REPORTS[] = {
    {GOOD, HV_OK, "", TAKE},
    {"{" HEAD ",'t':'2018-08-01T05:00:00.5Z'," POS "}", HV_OK, "", TAKE},
    {"{" HEAD "," TMS "," POS ",'ve_mps':-3,'vn_mps':4.5,'vs_mps':-2}", HV_OK,
     "", TAKE},
    {"{" HEAD "," TMS "," POS "}", HV_OK, "", TAKE},
    {"{ 'asset' : 'a 1' , 'party':'syr-gov',\t'class':'uav'," TMS "," POS " }",
     HV_OK, "", TAKE},
    {"{'vs_mps':1,'trk_deg':360,'gs_mps':0,'alt_m':-5,'lat':1,'lon':2,"
     "'t_ms':0,'class':'rotary','party':'p','asset':'~!#$%&()*+,-./"
     ":;<=>?@[]^_`{|}'}",
     HV_OK, "", TAKE},
    /* escapes, unicode, control characters */
    {"{'asset':'a\\u0031','party':'syr-gov','class':'fixed_wing'," TMS "," POS
     "}",
     HV_OK, "", LEAVE},
    {"{'asset':'a\\'b\\\\c\\/d\\n','party':'syr-gov','class':'fixed_wing'," TMS
     "," POS "}",
     HV_OK, "", LEAVE},
    {"{'asset':'\xc3\xa9t\xc3\xa9','party':'syr-gov','class':'fixed_wing'," TMS
     "," POS "}",
     HV_OK, "", LEAVE},
    {"{'asset':'\\ud83d\\ude00','party':'syr-gov','class':'fixed_wing'," TMS
     "," POS "}",
     HV_OK, "", LEAVE},
    {"{'\\u0061sset':'a1','party':'syr-gov','class':'fixed_wing'," TMS "," POS
     "}",
     HV_OK, "", LEAVE},
    {"{'asset':'a\x7f','party':'syr-gov','class':'fixed_wing'," TMS "," POS "}",
     HV_OK, "", LEAVE},
    {"{'asset':'a\\u0000','party':'syr-gov','class':'fixed_wing'," TMS "," POS
     "}",
     HV_EPARSE, NULL, LEAVE},
    {"{'asset':'a\tb','party':'syr-gov','class':'fixed_wing'," TMS "," POS "}",
     HV_EPARSE, NULL, LEAVE},
    {"{'asset':'\xff','party':'syr-gov','class':'fixed_wing'," TMS "," POS "}",
     HV_EPARSE, NULL, LEAVE},
    {"{'asset':'a\\x','party':'syr-gov','class':'fixed_wing'," TMS "," POS "}",
     HV_EPARSE, NULL, LEAVE},
    {"{'asset':'\\ud800','party':'syr-gov','class':'fixed_wing'," TMS "," POS
     "}",
     HV_EPARSE, NULL, LEAVE},
    /* duplicates: jansson keeps the last */
    {"{" HEAD "," TMS "," POS ",'lon':37}", HV_OK, "", LEAVE},
    {"{'asset':'x'," HEAD "," TMS "," POS "}", HV_OK, "", LEAVE},
    {"{" HEAD "," TMS "," POS ",'t_ms':5}", HV_OK, "", LEAVE},
    /* nested values, true, false, null */
    {"{" HEAD "," TMS "," POS ",'alt_m':[1]}", HV_EINVAL,
     "alt_m: must be a number", LEAVE},
    {"{" HEAD "," TMS "," POS ",'alt_m':{'x':1}}", HV_EINVAL,
     "alt_m: must be a number", LEAVE},
    {"{'asset':true,'party':'syr-gov','class':'fixed_wing'," TMS "," POS "}",
     HV_EINVAL, "asset: must be a string", LEAVE},
    {"{" HEAD "," TMS "," POS ",'vs_mps':false}", HV_EINVAL,
     "vs_mps: must be a number", LEAVE},
    {"{" HEAD "," TMS "," POS ",'alt_m':null}", HV_EINVAL,
     "alt_m: must be a number", LEAVE},
    {"{" HEAD "," TMS ",'lon':'36.5','lat':35}", HV_EINVAL,
     "lon: must be a number", LEAVE},
    {"{'asset':5,'party':'syr-gov','class':'fixed_wing'," TMS "," POS "}",
     HV_EINVAL, "asset: must be a string", LEAVE},
    {"{" HEAD "," TMS "," POS ",'alt_m':nul}", HV_EPARSE, NULL, LEAVE},
    /* numbers */
    {"{" HEAD "," TMS ",'lon':-0,'lat':-0.0,'alt_m':0e0,'vs_mps':-0E-0}", HV_OK,
     "", TAKE},
    {"{" HEAD "," TMS ",'lon':1e308,'lat':-1.7976931348623157e308}", HV_OK, "",
     TAKE},
    {"{" HEAD "," TMS ",'lon':4.9e-324,'lat':2.2250738585072011e-308,"
     "'alt_m':1e-400,'vs_mps':-1e-400}",
     HV_OK, "", TAKE},
    {"{" HEAD "," TMS ",'lon':0.1,'lat':0.30000000000000004,'alt_m':1E5,"
     "'vs_mps':1e+5,'ve_mps':1e-5,'vn_mps':123456789012345678}",
     HV_OK, "", TAKE},
    {"{" HEAD "," TMS ",'lon':46.123456789012345678901234567890,"
     "'lat':9007199254740993,'alt_m':9007199254740993.0,"
     "'vs_mps':0.000000000000000000000000000001}",
     HV_OK, "", TAKE},
    {"{" HEAD ",'t_ms':9223372036854775807," POS "}", HV_OK, "", TAKE},
    {"{" HEAD ",'t_ms':-9223372036854775808," POS "}", HV_OK, "", TAKE},
    {"{" HEAD ",'t_ms':9223372036854775808," POS "}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD ",'t_ms':-9223372036854775809," POS "}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':123456789012345678901,'lat':1}", HV_EPARSE, NULL,
     LEAVE},
    {"{" HEAD "," TMS ",'lon':1e309,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':-1e309,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':01,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':1.,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':.5,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':-,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':+1,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':1e,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':1e+,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':0x10,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':NaN,'lat':1}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS ",'lon':1.5.5,'lat':1}", HV_EPARSE, NULL, LEAVE},
    /* t and t_ms */
    {"{" HEAD ",'t_ms':1533099600000.0," POS "}", HV_EINVAL,
     "t_ms: must be an integer", LEAVE},
    {"{" HEAD ",'t_ms':1.5e12," POS "}", HV_EINVAL, "t_ms: must be an integer",
     LEAVE},
    {"{" HEAD ",'t_ms':'1533099600000'," POS "}", HV_EINVAL,
     "t_ms: must be an integer", LEAVE},
    {"{" HEAD "," TMS ",'t':'2018-08-01T05:00:00Z'," POS "}", HV_EINVAL,
     "t: give t or t_ms, not both", LEAVE},
    {"{" HEAD "," POS "}", HV_EINVAL, "t: missing (or t_ms)", LEAVE},
    {"{" HEAD ",'t':'yesterday'," POS "}", HV_EINVAL,
     "t: \"yesterday\" is not an RFC 3339 time", LEAVE},
    {"{" HEAD ",'t':1533099600000," POS "}", HV_EINVAL, "t: must be a string",
     LEAVE},
    /* missing members */
    {"{'party':'syr-gov','class':'fixed_wing'," TMS "," POS "}", HV_EINVAL,
     "asset: missing", LEAVE},
    {"{'asset':'a1','class':'fixed_wing'," TMS "," POS "}", HV_EINVAL,
     "party: missing", LEAVE},
    {"{'asset':'a1','party':'syr-gov'," TMS "," POS "}", HV_EINVAL,
     "class: missing", LEAVE},
    {"{" HEAD "," TMS ",'lat':1}", HV_EINVAL, "lon: missing", LEAVE},
    {"{" HEAD "," TMS ",'lon':1}", HV_EINVAL, "lat: missing", LEAVE},
    {"{}", HV_EINVAL, "asset: missing", LEAVE},
    {"{'asset':'a1','party':'syr-gov','class':'tank'," TMS "," POS "}",
     HV_EINVAL, "class: unknown asset class \"tank\"", LEAVE},
    /* unknown members: the first told, before anything else */
    {"{" HEAD "," TMS "," POS ",'speed':3}", HV_EINVAL, "speed: unknown member",
     LEAVE},
    {"{'zz':1,'a:b':2}", HV_EINVAL, "zz: unknown member", LEAVE},
    {"{'':1}", HV_EINVAL, ": unknown member", LEAVE},
    /* velocities */
    {"{" HEAD "," TMS "," POS ",'gs_mps':10}", HV_EINVAL,
     "trk_deg: missing (gs_mps and trk_deg go together)", LEAVE},
    {"{" HEAD "," TMS "," POS ",'trk_deg':10}", HV_EINVAL,
     "gs_mps: missing (gs_mps and trk_deg go together)", LEAVE},
    {"{" HEAD "," TMS "," POS ",'ve_mps':10}", HV_EINVAL,
     "vn_mps: missing (ve_mps and vn_mps go together)", LEAVE},
    {"{" HEAD "," TMS "," POS ",'vn_mps':10}", HV_EINVAL,
     "ve_mps: missing (ve_mps and vn_mps go together)", LEAVE},
    {"{" HEAD "," TMS "," POS ",'ve_mps':1,'vn_mps':1,'trk_deg':1}", HV_EINVAL,
     "trk_deg: give ve_mps and vn_mps, or gs_mps and trk_deg, not both", LEAVE},
    {"{" HEAD "," TMS "," POS ",'ve_mps':1,'gs_mps':1,'trk_deg':1}", HV_EINVAL,
     "gs_mps: give ve_mps and vn_mps, or gs_mps and trk_deg, not both", LEAVE},
    {"{" HEAD "," TMS "," POS ",'gs_mps':10,'trk_deg':360.0001}", HV_EINVAL,
     "trk_deg: must be 0..360", LEAVE},
    {"{" HEAD "," TMS "," POS ",'gs_mps':10,'trk_deg':-1}", HV_EINVAL,
     "trk_deg: must be 0..360", LEAVE},
    {"{" HEAD "," TMS "," POS ",'gs_mps':-0.5,'trk_deg':1}", HV_EINVAL,
     "gs_mps: must be >= 0", LEAVE},
    {"{" HEAD "," TMS "," POS ",'gs_mps':-0.0,'trk_deg':0}", HV_OK, "", TAKE},
    {"{" HEAD "," TMS "," POS ",'gs_mps':'1','trk_deg':1}", HV_EINVAL,
     "gs_mps: must be a number", LEAVE},
    /* not an object */
    {"[" GOOD "]", HV_EINVAL, "a report must be a JSON object", LEAVE},
    {"[]", HV_EINVAL, "a report must be a JSON object", LEAVE},
    /* syntax */
    {"{" HEAD "," TMS "," POS ",}", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS "," POS "", HV_EPARSE, NULL, LEAVE},
    {"{" HEAD "," TMS "," POS "}}", HV_EPARSE, NULL, LEAVE},
    {"{'asset' 'a1'}", HV_EPARSE, NULL, LEAVE},
    {"{asset:'a1'}", HV_EPARSE, NULL, LEAVE},
    {"{'asset':'a1\x01'}", HV_EPARSE, NULL, LEAVE},
};

/* The report cases: GOOD then the case, as an array and as NDJSON; the
 * error (when any) is report 1's; and the case alone in NDJSON followed by
 * a syntax error on a later line: the syntax error wins. */
static void test_report_table(void **state) {
  (void)state;
  char rep[1024], body[4096], what[64];
  size_t taken = 0;
  for (size_t i = 0; i < sizeof REPORTS / sizeof *REPORTS; i++) {
    const struct report_case *c = &REPORTS[i];
    dq(c->report, rep, sizeof rep);
    for (int nd = 0; nd <= 1; nd++) {
      char good[512];
      dq(GOOD, good, sizeof good);
      snprintf(body, sizeof body, nd ? "%s\n%s\n" : "[%s,%s]", good, rep);
      snprintf(what, sizeof what, "report case %zu", i);
      struct outcome o = same_str(body, nd, what);
      if (o.rc != c->rc)
        fail_msg("%s (%s): rc %d \"%s\", expected %d", what,
                 nd ? "ndjson" : "array", o.rc, o.msg, c->rc);
      if (c->rc == HV_OK && o.n != 2)
        fail_msg("%s: %zu reports", what, o.n);
      if (c->msg && c->rc != HV_OK) {
        char want[1100];
        snprintf(want, sizeof want, "report 1: %s", c->msg);
        if (strcmp(o.msg, want) != 0)
          fail_msg("%s: \"%s\", expected \"%s\"", what, o.msg, want);
      }
      if (c->rc == HV_EPARSE &&
          strncmp(o.msg,
                  nd ? "line 2 is not JSON: column "
                     : "the body is not JSON: line 1, column ",
                  nd ? 27 : 37) != 0)
        fail_msg("%s: \"%s\"", what, o.msg);
      if ((c->fast == TAKE && o.fallback) || (c->fast == LEAVE && !o.fallback))
        fail_msg("%s (%s): fallback %d", what, nd ? "ndjson" : "array",
                 o.fallback);
      taken += !o.fallback;
    }
    /* A later syntax error comes first: the whole body is parsed before
     * any report is checked. */
    snprintf(body, sizeof body, "%s\n{\n", rep);
    struct outcome o = same_str(body, 1, what);
    if (o.rc != HV_EPARSE || strncmp(o.msg, "line ", 5) != 0)
      fail_msg("%s then a bad line: %d \"%s\"", what, o.rc, o.msg);
    if (o.msg[5] != (c->rc == HV_EPARSE ? '1' : '2'))
      fail_msg("%s then a bad line: \"%s\"", what, o.msg);
  }
  print_message("%zu report cases, %zu bodies taken by the fast path\n",
                sizeof REPORTS / sizeof *REPORTS, taken);
}

struct body_case {
  const char *body; /* ' for " */
  int ndjson;
  int rc;
  const char *msg; /* expected err.msg (NULL: not checked) */
  size_t n;        /* reports, when HV_OK */
  int fast;
};

static const struct body_case BODIES[] = {
    {"[]", 0, HV_OK, "", 0, TAKE},
    {" \t\r\n[ \n ]\r\n ", 0, HV_OK, "", 0, TAKE},
    {"[" GOOD "]", 0, HV_OK, "", 1, TAKE},
    {"[\r\n " GOOD " ,\r\n\t" GOOD "\r\n]\r\n", 0, HV_OK, "", 2, TAKE},
    {"[\n{\n'asset'\n:\n'a1',\n'party':'syr-gov','class':'uav'," TMS "," POS
     "\n}\n]",
     0, HV_OK, "", 1, TAKE},
    {"", 0, HV_EINVAL, "the body must hold position reports", 0, ANY},
    {"", 1, HV_EINVAL, "the body must hold position reports", 0, ANY},
    {"   ", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"{}", 0, HV_EINVAL, "the body must be a JSON array of position reports", 0,
     LEAVE},
    {GOOD, 0, HV_EINVAL, "the body must be a JSON array of position reports", 0,
     LEAVE},
    {"5", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"'x'", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD "] x", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD "][]", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD ",]", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD, 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD " " GOOD "]", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[,]", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"\xef\xbb\xbf[]", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD "]\f", 0, HV_EPARSE, NULL, 0, LEAVE},
    {"[[]]", 0, HV_EINVAL, "report 0: a report must be a JSON object", 0,
     LEAVE},
    {"[" GOOD ",1]", 0, HV_EINVAL, "report 1: a report must be a JSON object",
     0, LEAVE},
    {"[" GOOD ",'x']", 0, HV_EINVAL, "report 1: a report must be a JSON object",
     0, LEAVE},
    {"[null]", 0, HV_EINVAL, "report 0: a report must be a JSON object", 0,
     LEAVE},
    /* NDJSON */
    {GOOD, 1, HV_OK, "", 1, TAKE},
    {GOOD "\n", 1, HV_OK, "", 1, TAKE},
    {GOOD "\r\n" GOOD "\r\n", 1, HV_OK, "", 2, TAKE},
    {"\n\n \t\r\n" GOOD "\n\r\n\n  " GOOD " \t\r\n\n", 1, HV_OK, "", 2, TAKE},
    {"\n", 1, HV_OK, "", 0, TAKE},
    {"  \r\n\t\n", 1, HV_OK, "", 0, TAKE},
    {"   ", 1, HV_OK, "", 0, TAKE},
    {"[]", 1, HV_EINVAL, "report 0: a report must be a JSON object", 0, LEAVE},
    {GOOD "\nnull\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {GOOD "\n'x'\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {"[" GOOD "]", 1, HV_EINVAL, "report 0: a report must be a JSON object", 0,
     LEAVE},
    {GOOD " x\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {GOOD "\n" GOOD GOOD "\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {"{'asset':'a1',\n'party':'p'}", 1, HV_EPARSE, NULL, 0, LEAVE},
    {GOOD "\n5\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {"\f" GOOD "\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {GOOD "\n\v\n", 1, HV_EPARSE, NULL, 0, LEAVE},
    {"{}\n{", 1, HV_EPARSE, NULL, 0, LEAVE},
    {"{}\n" GOOD, 1, HV_EINVAL, "report 0: asset: missing", 0, LEAVE},
};

static void test_body_table(void **state) {
  (void)state;
  char body[4096], what[64];
  for (size_t i = 0; i < sizeof BODIES / sizeof *BODIES; i++) {
    const struct body_case *c = &BODIES[i];
    dq(c->body, body, sizeof body);
    snprintf(what, sizeof what, "body case %zu", i);
    struct outcome o = same_str(body, c->ndjson, what);
    int rc = c->rc;
    if (o.rc != rc || (rc == HV_OK && o.n != c->n))
      fail_msg("%s: rc %d \"%s\" n %zu, expected %d n %zu", what, o.rc, o.msg,
               o.n, rc, c->n);
    if (c->msg && strcmp(o.msg, c->msg) != 0)
      fail_msg("%s: \"%s\", expected \"%s\"", what, o.msg, c->msg);
    if ((c->fast == TAKE && o.fallback) || (c->fast == LEAVE && !o.fallback))
      fail_msg("%s: fallback %d", what, o.fallback);
  }
}

/* NUL bytes inside the body (the server's body may hold them), and the
 * report at fault recorded for the HTTP error. */
static void test_nul_and_fault(void **state) {
  (void)state;
  char good[512], body[1200];
  dq(GOOD, good, sizeof good);
  size_t g = strlen(good);
  /* [GOOD,\0GOOD] and GOOD\n\0\n in NDJSON, and a NUL inside a string. */
  body[0] = '[';
  memcpy(body + 1, good, g);
  body[1 + g] = ',';
  body[2 + g] = '\0';
  memcpy(body + 3 + g, good, g);
  body[3 + 2 * g] = ']';
  struct outcome o = same(body, 4 + 2 * g, 0, "NUL between reports");
  assert_int_equal(o.rc, HV_EPARSE);
  memcpy(body, good, g);
  memcpy(body + g, "\n\0\n", 3);
  o = same(body, g + 3, 1, "NUL line");
  assert_int_equal(o.rc, HV_EPARSE);
  assert_true(strncmp(o.msg, "line 2 is not JSON", 18) == 0);
  memcpy(body, good, g);
  body[10] = '\0'; /* in "a1" */
  o = same(body, g, 1, "NUL in a string");
  assert_int_equal(o.rc, HV_EPARSE);

  /* The report at fault, for the HTTP error's field and index. */
  dq("[" GOOD "," GOOD ",{" HEAD "," TMS ",'lon':1,'lat':1,'alt_m':'x'}]", body,
     sizeof body);
  o = same_str(body, 0, "fault");
  assert_int_equal(o.rc, HV_EINVAL);
  assert_string_equal(o.msg, "report 2: alt_m: must be a number");
  assert_int_equal(fast_b.fault, 1);
  assert_int_equal(fast_b.fault_index, 2);
  assert_string_equal(fast_b.fault_member, "alt_m");
  dq("[" GOOD ",7]", body, sizeof body);
  o = same_str(body, 0, "fault, not an object");
  assert_string_equal(o.msg, "report 1: a report must be a JSON object");
  assert_int_equal(fast_b.fault, 1);
  assert_int_equal(fast_b.fault_index, 1);
  assert_string_equal(fast_b.fault_member, "");
  /* A long unknown member: the member cut at 127 bytes, the reason at 799
   * (as the server cut them). */
  char key[1000];
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  char big[1200];
  snprintf(big, sizeof big, "[{\"%s\":1}]", key);
  o = same_str(big, 0, "long member");
  assert_int_equal(strlen(fast_b.fault_member), HV_POSITIONS_MEMBER_MAX - 1);
  assert_int_equal(strlen(o.msg), strlen("report 0: ") + 799);
  dq("[" GOOD "]", body, sizeof body);
  o = same_str(body, 0, "after a fault");
  assert_int_equal(fast_b.fault, 0);
  assert_int_equal(fast_b.n, 1);
  /* The strings of the fast path point into the text; NULL text, out. */
  struct hv_positions_batch b = {0};
  struct hv_error err = {0};
  assert_int_equal(hv_positions_parse(body, strlen(body), 0, &b, &err), HV_OK);
  assert_int_equal(b.fallback, 0);
  assert_true(b.v[0].asset > body && b.v[0].asset < body + strlen(good) + 1);
  assert_string_equal(b.v[0].asset, "a1");
  assert_int_equal(hv_positions_parse(NULL, 5, 0, &b, &err), HV_EINVAL);
  assert_int_equal(b.n, 0);
  assert_int_equal(hv_positions_parse(body, 5, 0, NULL, &err), HV_EINVAL);
  assert_int_equal(hv_positions_parse_reference(body, 5, 0, NULL, NULL),
                   HV_EINVAL);
  hv_positions_batch_free(&b);
  hv_positions_batch_free(&b);
  hv_positions_batch_free(NULL);
}

/* ---- random numbers and random edits ------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* xorshift64*: the same sequence on every platform. */
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}

static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }

/* A random JSON number into buf: integer part 0 or 1-22 digits, a fraction
 * of 1-25 digits, an exponent of 1-3 digits, each or not. */
static void random_number(char *buf, size_t size, int *is_int) {
  size_t o = 0;
  if (below(2))
    buf[o++] = '-';
  unsigned nd = below(4) ? 1 + below(8) : 1 + below(22);
  if (below(8) == 0)
    buf[o++] = '0';
  else
    for (unsigned i = 0; i < nd; i++)
      buf[o++] = (char)((i == 0 ? '1' + below(9) : '0' + below(10)));
  *is_int = 1;
  if (below(5) < 3) {
    buf[o++] = '.';
    unsigned nf = below(3) ? 1 + below(9) : 1 + below(25);
    for (unsigned i = 0; i < nf; i++)
      buf[o++] = (char)('0' + (below(3) ? below(10) : 0));
    *is_int = 0;
  }
  if (below(5) < 2) {
    buf[o++] = below(2) ? 'e' : 'E';
    unsigned s = below(3);
    if (s)
      buf[o++] = s == 1 ? '+' : '-';
    unsigned ne = 1 + below(3);
    for (unsigned i = 0; i < ne; i++)
      buf[o++] = (char)('0' + below(10));
    *is_int = 0;
  }
  assert_true(o < size);
  buf[o] = '\0';
}

/* Random numbers as lon: the same from both, and what strtod (reals) or
 * strtoll (integers) gives — or an error where jansson refuses them. */
static void test_random_numbers(void **state) {
  (void)state;
  char num[80], body[512], what[128];
  size_t ok = 0, fast = 0;
  rng_state = 12345;
  for (int k = 0; k < 40000; k++) {
    int is_int;
    random_number(num, sizeof num, &is_int);
    snprintf(body, sizeof body,
             "{\"asset\":\"a\",\"party\":\"p\",\"class\":\"uav\","
             "\"t_ms\":1,\"lon\":%s,\"lat\":0}",
             num);
    snprintf(what, sizeof what, "number %s", num);
    struct outcome o = same_str(body, 1, what);
    errno = 0;
    char *end;
    double want;
    if (is_int) {
      long long i = strtoll(num, &end, 10);
      want = (double)i;
    } else {
      want = strtod(num, &end);
    }
    int refused = errno == ERANGE && (is_int || isinf(want));
    if (refused) {
      if (o.rc != HV_EPARSE)
        fail_msg("%s: rc %d, expected HV_EPARSE", what, o.rc);
      continue;
    }
    if (o.rc != HV_OK || memcmp(&fast_b.v[0].lon, &want, sizeof want) != 0)
      fail_msg("%s: rc %d \"%s\", lon %a, expected %a", what, o.rc, o.msg,
               o.rc == HV_OK ? fast_b.v[0].lon : 0.0, want);
    ok++;
    fast += !o.fallback;
  }
  print_message("%zu numbers as strtod/strtoll give them, %zu by the fast "
                "path\n",
                ok, fast);
  assert_true(fast > ok * 9 / 10);
}

/* Bytes an edit puts in: mostly JSON's own, some printable, some any. */
static char random_byte(void) {
  static const char json[] = "{}[],:\"\\ -+.eE0123456789tfnrulaTZ_/\r\n\t";
  unsigned k = below(20);
  if (k < 14)
    return json[below(sizeof json - 1)];
  if (k < 17)
    return (char)(0x20 + below(0x5f));
  return (char)below(256);
}

/* Pieces an edit may insert, and where: anywhere (0), where whitespace
 * may go ('w': after '{', '[', ',' or ':'), inside a string value ('s':
 * after ':"'), after a value ('v': before ',' or '}'). */
static const struct piece {
  const char *s; /* "" stands for one NUL byte */
  char where;
} PIECES[] = {
    {" ", 'w'},
    {"\t", 'w'},
    {"\r\n", 'w'},
    {"\n", 'w'},
    {" \t ", 'w'},
    {"\\n", 's'},
    {"\\u0041", 's'},
    {"\\u00e9", 's'},
    {"\\\"", 's'},
    {"\\/", 's'},
    {"\xc3\xa9", 's'},
    {"\xe2\x82\xac", 's'},
    {"\xf0\x9f\x98\x80", 's'},
    {"\x7f", 's'},
    {"\xc3", 's'},
    {"\\ud800", 's'},
    {"\\x", 's'},
    {"\x01", 's'},
    {",\"alt_m\":1", 'v'},
    {",\"alt_m\":-2.5e-1", 'v'},
    {",\"lon\":5", 'v'},
    {",\"vs_mps\":3", 'v'},
    {",\"asset\":\"z\"", 'v'},
    {",\"x\":1", 'v'},
    {",\"alt_m\":null", 'v'},
    {",\"vs_mps\":[1]", 'v'},
    {",\"t\":\"2018-08-01T05:00:00Z\"", 'v'},
    {",\"ve_mps\":2", 'v'},
    {",\"trk_deg\":400", 'v'},
    {",\"t_ms\":1.0", 'v'},
    {"-", 0},
    {"0", 0},
    {"00", 0},
    {"e5", 0},
    {"E-3", 0},
    {".5", 0},
    {"123456789012345678901", 0},
    {"1e400", 0},
    {"{}", 0},
    {"[]", 0},
    {",", 0},
    {"\"", 0},
    {"\\", 0},
    {"", 0},
};

/* Whether an insertion at buf[at] (0..n) is where kind wants it. */
static int fits(const char *buf, size_t n, size_t at, char kind) {
  char before = at ? buf[at - 1] : 0, here = at < n ? buf[at] : 0;
  switch (kind) {
  case 'w':
    return before == '{' || before == '[' || before == ',' || before == ':';
  case 's':
    return at >= 2 && before == '"' && buf[at - 2] == ':';
  case 'v':
    return here == ',' || here == '}';
  default:
    return 1;
  }
}

/* Applies 1-3 random edits to buf[0..*len) (room for cap bytes): replace a
 * digit by a digit, or a byte by any, insert a byte or a piece, delete a
 * run, copy a run elsewhere (a member twice, say). */
static void mutate(char *buf, size_t *len, size_t cap) {
  unsigned edits = below(2) ? 1 : 2 + below(2);
  for (unsigned e = 0; e < edits; e++) {
    size_t n = *len, at = n ? below((unsigned)n) : 0, k = 0;
    char tmp[40], where = 0; /* to insert: k bytes, where */
    switch (n ? below(10) : 4) {
    case 0:
    case 1:
    case 2: /* a digit by a digit (the first from a random place) */
      for (size_t i = 0; i < n; i++, at = (at + 1) % n)
        if (buf[at] >= '0' && buf[at] <= '9') {
          buf[at] = (char)('0' + below(10));
          break;
        }
      break;
    case 3: /* replace by any */
      buf[at] = random_byte();
      break;
    case 4: /* insert a byte */
      tmp[k++] = random_byte();
      break;
    case 5:
    case 6: { /* insert a piece */
      const struct piece *p = &PIECES[below(sizeof PIECES / sizeof *PIECES)];
      k = strlen(p->s);
      memcpy(tmp, p->s, k);
      if (k == 0)
        tmp[k++] = '\0';
      where = p->where;
      break;
    }
    case 7: /* delete a run of 1-4 */
      k = 1 + below(4);
      if (k > n - at)
        k = n - at;
      memmove(buf + at, buf + at + k, n - at - k);
      *len = n - k;
      k = 0;
      break;
    default: /* copy a run of up to 32 bytes elsewhere */
      k = 1 + below(32);
      if (k > n - at)
        k = n - at;
      memcpy(tmp, buf + at, k);
    }
    if (k == 0 || n + k >= cap)
      continue;
    /* The first place from a random one that fits (else the random one). */
    size_t start = below((unsigned)n + 1);
    at = start;
    for (size_t i = 0; i <= n && !fits(buf, n, at, where); i++)
      at = at == n ? 0 : at + 1;
    if (!fits(buf, n, at, where))
      at = start;
    memmove(buf + at + k, buf + at, n - at);
    memcpy(buf + at, tmp, k);
    *len = n + k;
  }
}

static void test_mutations(void **state) {
  (void)state;
  static const char *const SEEDS[] = {
      "[" GOOD ",{" HEAD ",'t':'2018-08-01T05:00:00Z'," POS
      ",'ve_mps':-3,'vn_mps':4.5,'vs_mps':-2e1}]",
      "[{'asset':'b2','party':'syr-gov','class':'uav','t_ms':-0,'lon':-0.0,"
      "'lat':1E+2,'alt_m':123456789012345678,'vs_mps':0.1e-7}]",
      "[ {" HEAD " , " TMS " , " POS " } ]",
      GOOD "\n{" HEAD ",'t':'2018-08-01T05:00:00+02:00'," POS "}\r\n\n",
      "{" HEAD "," TMS ",'lon':-12.3456789,'lat':1,'gs_mps':3,"
      "'trk_deg':359.9}\n \n{" HEAD ",'t_ms':2," POS "}",
  };
  /* POSJSON_MUTANTS (per seed) and POSJSON_SEED make longer runs. */
  long per_seed = strtol(tu_env_or("POSJSON_MUTANTS", "6000"), NULL, 10);
  char seed[1024], buf[2048], what[64];
  size_t counts[3] = {0}; /* fast OK, jansson OK, errors */
  rng_state = strtoull(tu_env_or("POSJSON_SEED", "20240611"), NULL, 10);
  assert_true(per_seed > 0 && rng_state != 0);
  for (size_t s = 0; s < sizeof SEEDS / sizeof *SEEDS; s++) {
    dq(SEEDS[s], seed, sizeof seed);
    size_t slen = strlen(seed);
    int nd = seed[0] != '[';
    struct outcome so = same(seed, slen, nd, "seed");
    if (so.rc != HV_OK || so.fallback)
      fail_msg("seed %zu: %d \"%s\", fallback %d", s, so.rc, so.msg,
               so.fallback);
    for (long k = 0; k < per_seed; k++) {
      size_t len = slen;
      memcpy(buf, seed, slen);
      mutate(buf, &len, sizeof buf);
      snprintf(what, sizeof what, "seed %zu mutant %ld", s, k);
      /* As its seed's kind, and one in four as the other too. */
      for (int m = 0; m <= (k % 4 == 0); m++) {
        struct outcome o = same(buf, len, m ? !nd : nd, what);
        counts[o.rc != HV_OK ? 2 : o.fallback ? 1 : 0]++;
      }
    }
  }
  long total = per_seed * (long)(sizeof SEEDS / sizeof *SEEDS);
  print_message("%ld mutants: %zu outcomes taken by the fast path, %zu valid "
                "through jansson, %zu errors; all the same from both\n",
                total, counts[0], counts[1], counts[2]);
  /* The mutants must reach all three outcomes, not only errors. */
  assert_true(counts[0] > (size_t)total / 10 &&
              counts[1] > (size_t)total / 40 && counts[2] > (size_t)total / 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_report_table),
      cmocka_unit_test(test_body_table),
      cmocka_unit_test(test_nul_and_fault),
      cmocka_unit_test(test_random_numbers),
      cmocka_unit_test(test_mutations),
      cmocka_unit_test(test_real_batches),
  };
  return cmocka_run_group_tests(tests, NULL, group_teardown);
}
