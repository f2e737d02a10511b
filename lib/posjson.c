/*
 * posjson.c — batches of position reports (haven/positions.h): a fast
 * scanner for the common form, and jansson for everything else.
 *
 * Both parsers reduce a report to a struct report (which known members it
 * has, of which JSON type, with which value, and its first unknown
 * member), and one function, check(), turns that into a struct
 * hv_position or the error: so the rules, defaults, conversions and
 * messages exist once.
 *
 * The fast path (scan_*) accepts a strict subset of JSON — see
 * hv_positions_parse — and gives up (returns 0) at the first byte outside
 * it, or at the first report check() refuses; the whole text is then
 * parsed by the reference path, so every error, and every result of an
 * unusual body, comes from jansson. Invariants that make this sound:
 * - whatever the fast path accepts is JSON that json_loadb accepts, with
 *   the same values: strings without escapes are their bytes, integers are
 *   int64 (as strtoll gives them), reals are the correctly rounded double
 *   (as strtod gives it), and no member appears twice (jansson would keep
 *   the last);
 * - the fast path writes into text only a '\0' over the closing quote of a
 *   string value, always before the point it has read to, and it stops at
 *   any '\0' it meets: so, when it gives up, every '\0' before the last one
 *   it wrote is one of its own, and turning those back into '"' restores
 *   the text for jansson.
 * Scanning relies on text[len] == '\0': no byte class the scanner loops on
 * contains '\0', so it never reads past it.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/positions.h"

#define DEG2RAD (3.14159265358979323846 / 180.0)

/* ---- the rules of a report ----------------------------------------------- */

enum member {
  M_ASSET,
  M_PARTY,
  M_CLASS,
  M_T,
  M_T_MS,
  M_LON,
  M_LAT,
  M_ALT_M,
  M_VE_MPS,
  M_VN_MPS,
  M_GS_MPS,
  M_TRK_DEG,
  M_VS_MPS,
  M_COUNT
};

static const char *const MEMBERS[M_COUNT] = {
    "asset", "party",  "class",  "t",      "t_ms",    "lon",   "lat",
    "alt_m", "ve_mps", "vn_mps", "gs_mps", "trk_deg", "vs_mps"};

/* The JSON type of a member's value, as report() of the server tells them:
 * string, integer, real, anything else. */
enum vtype { V_ABSENT, V_STRING, V_INT, V_REAL, V_OTHER };

/* A report as both parsers see it. Only type[] need be reset per report:
 * s, num and t_ms are read where type says so. */
struct report {
  int not_object;      /* the value is not a JSON object */
  const char *unknown; /* its first unknown member, in jansson's order */
  unsigned char type[M_COUNT];
  const char *s[M_COUNT]; /* V_STRING */
  double num[M_COUNT];    /* V_INT, V_REAL: json_number_value */
  int64_t t_ms;           /* type[M_T_MS] == V_INT: the integer */
};

/* Report idx's error: "report I: <reason>", the reason cut at 799 bytes as
 * the server cut it; records the report and member in b. */
static int fail_report(struct hv_positions_batch *b, struct hv_error *err,
                       size_t idx, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_report(struct hv_positions_batch *b, struct hv_error *err,
                       size_t idx, const char *member, const char *fmt, ...) {
  char msg[800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  b->fault = 1;
  b->fault_index = idx;
  snprintf(b->fault_member, sizeof b->fault_member, "%s", member ? member : "");
  return hv_error_set(err, HV_EINVAL, "report %zu: %s", idx, msg);
}

/* A string member, required. */
static int str(const struct report *r, enum member m, const char **v,
               size_t idx, struct hv_positions_batch *b, struct hv_error *err) {
  if (r->type[m] == V_ABSENT)
    return fail_report(b, err, idx, MEMBERS[m], "%s: missing", MEMBERS[m]);
  if (r->type[m] != V_STRING)
    return fail_report(b, err, idx, MEMBERS[m], "%s: must be a string",
                       MEMBERS[m]);
  *v = r->s[m];
  return HV_OK;
}

/* A number member (*v left alone when absent and optional). */
static int num(const struct report *r, enum member m, int required, double *v,
               size_t idx, struct hv_positions_batch *b, struct hv_error *err) {
  if (r->type[m] == V_ABSENT) {
    if (required)
      return fail_report(b, err, idx, MEMBERS[m], "%s: missing", MEMBERS[m]);
    return HV_OK;
  }
  if (r->type[m] != V_INT && r->type[m] != V_REAL)
    return fail_report(b, err, idx, MEMBERS[m], "%s: must be a number",
                       MEMBERS[m]);
  *v = r->num[m];
  return HV_OK;
}

/*
 * Report idx into *p, or its error (HV_EINVAL, b->fault set). The checks,
 * in this order, their messages and the conversions are those POST
 * /v1/positions has always applied (server/positions.c before it called
 * this): the first fault found is the one told.
 */
static int check(const struct report *r, size_t idx, struct hv_position *p,
                 struct hv_positions_batch *b, struct hv_error *err) {
  if (r->not_object)
    return fail_report(b, err, idx, NULL, "a report must be a JSON object");
  if (r->unknown)
    return fail_report(b, err, idx, r->unknown, "%s: unknown member",
                       r->unknown);
  memset(p, 0, sizeof *p);
  const char *cls = NULL, *t = NULL;
  if (str(r, M_ASSET, &p->asset, idx, b, err) ||
      str(r, M_PARTY, &p->party, idx, b, err) ||
      str(r, M_CLASS, &cls, idx, b, err))
    return HV_EINVAL;
  if (hv_asset_class_parse(cls, &p->cls) != HV_OK)
    return fail_report(b, err, idx, "class",
                       "class: unknown asset class \"%s\"", cls);
  int tj = r->type[M_T] != V_ABSENT, tm = r->type[M_T_MS] != V_ABSENT;
  if (tj && tm)
    return fail_report(b, err, idx, "t", "t: give t or t_ms, not both");
  if (tj) {
    if (str(r, M_T, &t, idx, b, err))
      return HV_EINVAL;
    if (hv_time_parse(t, &p->t_ms) != HV_OK)
      return fail_report(b, err, idx, "t", "t: \"%s\" is not an RFC 3339 time",
                         t);
  } else if (tm) {
    if (r->type[M_T_MS] != V_INT)
      return fail_report(b, err, idx, "t_ms", "t_ms: must be an integer");
    p->t_ms = r->t_ms;
  } else {
    return fail_report(b, err, idx, "t", "t: missing (or t_ms)");
  }
  if (num(r, M_LON, 1, &p->lon, idx, b, err) ||
      num(r, M_LAT, 1, &p->lat, idx, b, err) ||
      num(r, M_ALT_M, 0, &p->alt_m, idx, b, err) ||
      num(r, M_VS_MPS, 0, &p->vs_mps, idx, b, err))
    return HV_EINVAL;
  int ve = r->type[M_VE_MPS] != V_ABSENT, vn = r->type[M_VN_MPS] != V_ABSENT,
      gs = r->type[M_GS_MPS] != V_ABSENT, trk = r->type[M_TRK_DEG] != V_ABSENT;
  if ((ve || vn) && (gs || trk))
    return fail_report(b, err, idx, gs ? "gs_mps" : "trk_deg",
                       "%s: give ve_mps and vn_mps, or gs_mps and trk_deg, "
                       "not both",
                       gs ? "gs_mps" : "trk_deg");
  if (ve != vn)
    return fail_report(b, err, idx, ve ? "vn_mps" : "ve_mps",
                       "%s: missing (ve_mps and vn_mps go together)",
                       ve ? "vn_mps" : "ve_mps");
  if (gs != trk)
    return fail_report(b, err, idx, gs ? "trk_deg" : "gs_mps",
                       "%s: missing (gs_mps and trk_deg go together)",
                       gs ? "trk_deg" : "gs_mps");
  if (ve && (num(r, M_VE_MPS, 1, &p->ve_mps, idx, b, err) ||
             num(r, M_VN_MPS, 1, &p->vn_mps, idx, b, err)))
    return HV_EINVAL;
  if (gs) {
    double g = 0, d = 0;
    if (num(r, M_GS_MPS, 1, &g, idx, b, err) ||
        num(r, M_TRK_DEG, 1, &d, idx, b, err))
      return HV_EINVAL;
    if (!(g >= 0))
      return fail_report(b, err, idx, "gs_mps", "gs_mps: must be >= 0");
    if (!(d >= 0 && d <= 360))
      return fail_report(b, err, idx, "trk_deg", "trk_deg: must be 0..360");
    p->ve_mps = g * sin(d * DEG2RAD);
    p->vn_mps = g * cos(d * DEG2RAD);
  }
  return HV_OK;
}

/* ---- the batch --------------------------------------------------------- */

void hv_positions_batch_free(struct hv_positions_batch *b) {
  if (b == NULL)
    return;
  json_decref(b->json);
  free(b->v);
  memset(b, 0, sizeof *b);
}

/* Empties b for a new parse, keeping v. */
static void batch_reset(struct hv_positions_batch *b, int fallback) {
  json_decref(b->json);
  b->json = NULL;
  b->n = 0;
  b->fallback = fallback;
  b->fault = 0;
  b->fault_index = 0;
  b->fault_member[0] = '\0';
}

/* Room for at least want reports at b->v. */
static int batch_reserve(struct hv_positions_batch *b, size_t want) {
  if (want <= b->cap)
    return HV_OK;
  size_t cap = b->cap ? b->cap : 16;
  while (cap < want)
    cap = cap > SIZE_MAX / 2 / sizeof *b->v ? want : cap * 2;
  if (cap > SIZE_MAX / sizeof *b->v)
    return HV_ENOMEM;
  struct hv_position *v = realloc(b->v, cap * sizeof *v);
  if (v == NULL)
    return HV_ENOMEM;
  b->v = v;
  b->cap = cap;
  return HV_OK;
}

/* ---- the reference: jansson -------------------------------------------- */

/* o as a struct report (strings borrowed from o). */
static void from_json(const json_t *o, struct report *r) {
  r->not_object = !json_is_object(o);
  r->unknown = NULL;
  memset(r->type, V_ABSENT, sizeof r->type);
  if (r->not_object)
    return;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)o, k, v) {
    size_t m = 0;
    while (m < M_COUNT && strcmp(MEMBERS[m], k) != 0)
      m++;
    if (m == M_COUNT) {
      r->unknown = k;
      return;
    }
  }
  for (size_t m = 0; m < M_COUNT; m++) {
    json_t *x = json_object_get(o, MEMBERS[m]);
    if (x == NULL)
      continue;
    if (json_is_string(x)) {
      r->type[m] = V_STRING;
      r->s[m] = json_string_value(x);
    } else if (json_is_number(x)) {
      r->type[m] = json_is_integer(x) ? V_INT : V_REAL;
      r->num[m] = json_number_value(x);
      if (m == M_T_MS && json_is_integer(x))
        r->t_ms = json_integer_value(x);
    } else {
      r->type[m] = V_OTHER;
    }
  }
}

/* The body as one JSON array: *out a new reference, or the error. */
static int load_body(const char *text, size_t len, int ndjson, json_t **out,
                     struct hv_error *err) {
  json_error_t jerr;
  *out = NULL;
  if (!ndjson) {
    json_t *j = json_loadb(text, len, 0, &jerr);
    if (j == NULL)
      return hv_error_set(err, HV_EPARSE,
                          "the body is not JSON: line %d, column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    if (!json_is_array(j)) {
      json_decref(j);
      return hv_error_set(err, HV_EINVAL,
                          "the body must be a JSON array of position reports");
    }
    *out = j;
    return HV_OK;
  }
  json_t *a = json_array();
  if (a == NULL)
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  size_t line = 0;
  for (const char *p = text, *end = text + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    line++;
    const char *q = p;
    while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
      q++;
    if (q < e) {
      json_t *j = json_loadb(p, (size_t)(e - p), 0, &jerr);
      if (j == NULL) {
        json_decref(a);
        return hv_error_set(err, HV_EPARSE,
                            "line %zu is not JSON: column %d: %s", line,
                            jerr.column, jerr.text);
      }
      if (json_array_append_new(a, j) != 0) {
        json_decref(a);
        return hv_error_set(err, HV_ENOMEM, "out of memory");
      }
    }
    p = nl ? nl + 1 : end;
  }
  *out = a;
  return HV_OK;
}

int hv_positions_parse_reference(char *text, size_t len, int ndjson,
                                 struct hv_positions_batch *out,
                                 struct hv_error *err) {
  if (out == NULL)
    return hv_error_set(err, HV_EINVAL, "no batch to parse into");
  batch_reset(out, 1);
  if (text == NULL || len == 0)
    return hv_error_set(err, HV_EINVAL, "the body must hold position reports");
  json_t *a;
  int rc = load_body(text, len, ndjson, &a, err);
  if (rc != HV_OK)
    return rc;
  size_t n = json_array_size(a);
  if (batch_reserve(out, n ? n : 1) != HV_OK) {
    json_decref(a);
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  }
  struct report r;
  for (size_t i = 0; i < n; i++) {
    from_json(json_array_get(a, i), &r);
    if ((rc = check(&r, i, &out->v[i], out, err)) != HV_OK) {
      json_decref(a);
      return rc;
    }
  }
  out->json = a;
  out->n = n;
  return HV_OK;
}

/* ---- the fast path ------------------------------------------------------ */

/* Byte classes. WS_JSON: JSON's whitespace; WS_LINE: that within an NDJSON
 * line (no '\n'); PLAIN: what a fast-path string may hold (printable ASCII
 * but '"' and '\\'). '\0' is in none. */
enum { WS_JSON = 1, WS_LINE = 2, PLAIN = 4 };

/* _: none; P: PLAIN; S: ' '; W: '\t', '\r'; N: '\n'. */
/* clang-format off */
#define _ 0
#define P PLAIN
#define S (WS_JSON | WS_LINE | PLAIN)
#define W (WS_JSON | WS_LINE)
#define N WS_JSON
static const unsigned char CLASS[256] = {
    /* 00 */ _, _, _, _, _, _, _, _, _, W, N, _, _, W, _, _,
    /* 10 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* 20 */ S, P, _, P, P, P, P, P, P, P, P, P, P, P, P, P,
    /* 30 */ P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    /* 40 */ P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    /* 50 */ P, P, P, P, P, P, P, P, P, P, P, P, _, P, P, P,
    /* 60 */ P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    /* 70 */ P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, _,
    /* 80 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* 90 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* a0 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* b0 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* c0 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* d0 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* e0 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
    /* f0 */ _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _,
};
#undef _
#undef P
#undef S
#undef W
#undef N
/* clang-format on */

struct scan {
  char *p;     /* the next byte to read */
  char *nul;   /* one past the last '\0' written; text when none */
  unsigned ws; /* WS_JSON or WS_LINE */
};

static inline void skip_ws(struct scan *s) {
  while (CLASS[(unsigned char)*s->p] & s->ws)
    s->p++;
}

/* The member named by the len bytes at k; M_COUNT when none. */
static enum member member_of(const char *k, size_t len) {
  enum member m;
  switch (len) {
  case 1:
    return k[0] == 't' ? M_T : M_COUNT;
  case 3:
    m = k[1] == 'o' ? M_LON : M_LAT;
    break;
  case 4:
    m = M_T_MS;
    break;
  case 5:
    m = k[0] == 'a' ? (k[1] == 's' ? M_ASSET : M_ALT_M)
                    : (k[0] == 'p' ? M_PARTY : M_CLASS);
    break;
  case 6:
    m = k[0] == 'g'
            ? M_GS_MPS
            : (k[1] == 'e' ? M_VE_MPS : (k[1] == 'n' ? M_VN_MPS : M_VS_MPS));
    break;
  case 7:
    m = M_TRK_DEG;
    break;
  default:
    return M_COUNT;
  }
  return memcmp(k, MEMBERS[m], len) == 0 ? m : M_COUNT;
}

/* Exact powers of ten as doubles: 10^0 .. 10^22. */
static const double POW10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * A JSON number at s->p into r's member m; 0 to give up (not the JSON
 * grammar, an integer outside int64, a real that overflows).
 *
 * A real w x 10^e, the significand w < 2^53 and |e| <= 22, is w * 10^e or
 * w / 10^-e in doubles: both operands are exact, and IEEE 754 rounds the
 * one operation correctly — so it is the correctly rounded value, which is
 * what glibc's strtod (and so jansson) gives (Clinger, 1990). Other reals
 * go to strtod itself.
 */
static int scan_number(struct scan *s, struct report *r, enum member m) {
  char *start = s->p, *q = s->p;
  int neg = *q == '-';
  q += neg;
  uint64_t w = 0;
  int sig = 0;  /* significant digits in w (from the first non-zero) */
  int drop = 0; /* digits after the decimal point */
  int digits = 0;
  if (*q == '0') {
    q++;
    digits = 1;
  } else if (*q >= '1' && *q <= '9') {
    while (*q >= '0' && *q <= '9') {
      if (sig < 19) {
        w = w * 10 + (uint64_t)(*q - '0');
        sig++;
      } else {
        sig = 99; /* more than fits: strtod */
      }
      q++;
      digits++;
    }
  } else {
    return 0;
  }
  if (*q != '.' && *q != 'e' && *q != 'E') {
    /* An integer, as jansson's strtoll: 19 digits fit uint64, and must fit
     * int64 (its negative may reach 2^63). */
    if (digits > 19 || w > (uint64_t)INT64_MAX + (uint64_t)neg)
      return 0;
    int64_t i = !neg                           ? (int64_t)w
                : w == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                               : -(int64_t)w;
    r->type[m] = V_INT;
    r->num[m] = (double)i;
    if (m == M_T_MS)
      r->t_ms = i;
    s->p = q;
    return 1;
  }
  if (*q == '.') {
    q++;
    if (!(*q >= '0' && *q <= '9'))
      return 0;
    while (*q >= '0' && *q <= '9') {
      if (sig >= 19 || drop >= 400) {
        sig = 99; /* too many digits, or zeros: strtod */
      } else {
        if (w || *q != '0') {
          w = w * 10 + (uint64_t)(*q - '0');
          sig++;
        }
        drop++;
      }
      q++;
    }
  }
  int e = 0;
  if (*q == 'e' || *q == 'E') {
    q++;
    int eneg = *q == '-';
    if (*q == '-' || *q == '+')
      q++;
    if (!(*q >= '0' && *q <= '9'))
      return 0;
    while (*q >= '0' && *q <= '9') {
      if (e < 100000)
        e = e * 10 + (*q - '0');
      q++;
    }
    e = eneg ? -e : e;
  }
  e -= drop;
  double v;
  if (sig <= 19 && w <= (UINT64_C(1) << 53) && e >= -22 && e <= 22) {
    v = e < 0 ? (double)w / POW10[-e] : (double)w * POW10[e];
    v = neg ? -v : v;
  } else {
    char *end;
    v = strtod(start, &end);
    if (end != q || isinf(v))
      return 0;
  }
  r->type[m] = V_REAL;
  r->num[m] = v;
  s->p = q;
  return 1;
}

/* The report object at s->p ('{') into *r; 0 to give up. */
static int scan_report(struct scan *s, struct report *r) {
  r->not_object = 0;
  r->unknown = NULL;
  memset(r->type, V_ABSENT, sizeof r->type);
  s->p++;
  skip_ws(s);
  if (*s->p == '}') {
    s->p++;
    return 1;
  }
  for (;;) {
    if (*s->p != '"')
      return 0;
    char *k = ++s->p;
    while (CLASS[(unsigned char)*s->p] & PLAIN)
      s->p++;
    if (*s->p != '"')
      return 0;
    enum member m = member_of(k, (size_t)(s->p - k));
    if (m == M_COUNT || r->type[m] != V_ABSENT)
      return 0; /* unknown or repeated: jansson tells */
    s->p++;
    skip_ws(s);
    if (*s->p != ':')
      return 0;
    s->p++;
    skip_ws(s);
    if (*s->p == '"') {
      char *v = ++s->p;
      while (CLASS[(unsigned char)*s->p] & PLAIN)
        s->p++;
      if (*s->p != '"')
        return 0;
      *s->p++ = '\0';
      s->nul = s->p;
      r->type[m] = V_STRING;
      r->s[m] = v;
    } else if (!scan_number(s, r, m)) {
      return 0;
    }
    skip_ws(s);
    if (*s->p == '}') {
      s->p++;
      return 1;
    }
    if (*s->p != ',')
      return 0;
    s->p++;
    skip_ws(s);
  }
}

/* One report: scanned, checked, appended. 0 to give up, -1 out of memory. */
static int scan_one(struct scan *s, struct hv_positions_batch *b) {
  struct report r;
  if (!scan_report(s, &r))
    return 0;
  if (b->n == b->cap && batch_reserve(b, b->n + 1) != HV_OK)
    return -1;
  if (check(&r, b->n, &b->v[b->n], b, NULL) != HV_OK)
    return 0;
  b->n++;
  return 1;
}

/* The whole body by the fast path into b: 1 done, 0 give up, -1 out of
 * memory. */
static int scan_body(struct scan *s, char *end, int ndjson,
                     struct hv_positions_batch *b) {
  int rc;
  if (!ndjson) {
    s->ws = WS_JSON;
    skip_ws(s);
    if (*s->p++ != '[')
      return 0;
    skip_ws(s);
    if (*s->p == ']') {
      s->p++;
    } else {
      for (;;) {
        if (*s->p != '{')
          return 0;
        if ((rc = scan_one(s, b)) != 1)
          return rc;
        skip_ws(s);
        if (*s->p == ']') {
          s->p++;
          break;
        }
        if (*s->p != ',')
          return 0;
        s->p++;
        skip_ws(s);
      }
    }
    skip_ws(s);
    return s->p == end;
  }
  s->ws = WS_LINE;
  while (s->p < end) {
    skip_ws(s);
    if (*s->p == '{') {
      if ((rc = scan_one(s, b)) != 1)
        return rc;
      skip_ws(s);
    }
    if (*s->p == '\n')
      s->p++;
    else if (s->p != end)
      return 0;
  }
  return 1;
}

int hv_positions_parse(char *text, size_t len, int ndjson,
                       struct hv_positions_batch *out, struct hv_error *err) {
  if (out == NULL)
    return hv_error_set(err, HV_EINVAL, "no batch to parse into");
  batch_reset(out, 0);
  if (text == NULL || len == 0)
    return hv_error_set(err, HV_EINVAL, "the body must hold position reports");
  /* A first guess at the reports: the emitted ones take ~190 bytes. */
  if (batch_reserve(out, len / 128 + 1) != HV_OK)
    return hv_error_set(err, HV_ENOMEM, "out of memory");
  struct scan s = {text, text, WS_JSON};
  int rc = scan_body(&s, text + len, ndjson, out);
  if (rc == 1)
    return HV_OK;
  /* Put back the quotes the scan ended strings with, and let jansson
   * decide (an out-of-memory on the way too: it may have been the batch's
   * array alone). */
  for (char *q = text; (q = memchr(q, '\0', (size_t)(s.nul - q))) != NULL;)
    *q++ = '"';
  return hv_positions_parse_reference(text, len, ndjson, out, err);
}
