/*
 * traffic.h — the real ADS-B day of ../shared/data/aircraft/
 * traffic_switzerland.csv as the benchmarks and tests of the live picture
 * use it: its rows read, moved over northern Syria, numbered by asset and
 * split into partitions of disjoint assets, cut into batches, and written
 * as the NDJSON bodies of POST /v1/positions. One copy of all that, so that
 * bench-tracks (which writes the bodies wrk posts), bench-posjson and
 * unit-posjson (which parse them) see the same reports. Header-only, as
 * bench-util.h.
 */
#ifndef HAVEN_BENCH_TRAFFIC_H
#define HAVEN_BENCH_TRAFFIC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"

/* The translation that moves the Swiss day over northern Syria. */
#define TRAFFIC_LON_SHIFT 29.0
#define TRAFFIC_LAT_SHIFT (-10.5)

/* One row: a report of a fixed-wing aircraft, SI units. */
struct traffic_rep {
  int64_t t_ms;
  double lon, lat, alt_m, gs_mps, trk_deg, vs_mps;
  char id[16]; /* icao24 */
  unsigned asset, part;
};

static inline int traffic_rep_cmp(const void *a, const void *b) {
  const struct traffic_rep *x = a, *y = b;
  if (x->t_ms != y->t_ms)
    return x->t_ms < y->t_ms ? -1 : 1;
  return strcmp(x->id, y->id);
}

/* time_utc,timestamp,altitude,callsign,groundspeed,icao24,latitude,
 * longitude,track,vertical_rate (CRLF lines). Rows with a field missing are
 * skipped. path is the CSV; NULL when it cannot be read or out of
 * memory. Sorted by time, then asset. */
static inline struct traffic_rep *traffic_load(const char *path, size_t *n,
                                               size_t *skipped) {
  char *buf = slurp(path);
  *n = *skipped = 0;
  if (buf == NULL)
    return NULL;
  size_t cap = 1 << 17;
  struct traffic_rep *r = malloc(cap * sizeof *r);
  char *p = buf + strcspn(buf, "\n");
  p += *p ? 1 : 0;
  *n = *skipped = 0;
  while (r != NULL && *p) {
    char *eol = p + strcspn(p, "\n");
    char *f[10];
    int k = 0;
    for (char *s = p; k < 10;) {
      f[k++] = s;
      char *c = s + strcspn(s, ",\n");
      if (c >= eol)
        break;
      s = c + 1;
    }
    char *next = *eol ? eol + 1 : eol;
    if (*eol)
      *eol = '\0';
    for (int i = 0; i < k; i++)
      f[i][strcspn(f[i], ",\r")] = '\0';
    p = next;
    if (k < 10) {
      (*skipped)++;
      continue;
    }
    double v[10];
    int bad = 0;
    for (int i = 1; i < 10; i++) {
      if (i == 3 || i == 5)
        continue;
      char *end;
      v[i] = strtod(f[i], &end);
      bad |= end == f[i] || *end != '\0';
    }
    size_t idlen = strlen(f[5]);
    if (bad || idlen == 0 || idlen >= sizeof r->id || v[4] < 0 || v[8] < 0 ||
        v[8] > 360) {
      (*skipped)++;
      continue;
    }
    if (*n == cap) {
      struct traffic_rep *t = realloc(r, (cap *= 2) * sizeof *r);
      if (t == NULL) {
        free(r);
        r = NULL;
        break;
      }
      r = t;
    }
    struct traffic_rep *x = &r[(*n)++];
    memset(x, 0, sizeof *x);
    x->t_ms = (int64_t)v[1];
    x->alt_m = v[2] * 0.3048;
    x->gs_mps = v[4] * 1852.0 / 3600.0;
    memcpy(x->id, f[5], idlen + 1);
    x->lat = v[6] + TRAFFIC_LAT_SHIFT;
    x->lon = v[7] + TRAFFIC_LON_SHIFT;
    x->trk_deg = v[8];
    x->vs_mps = v[9] * 0.3048 / 60.0;
  }
  free(buf);
  if (r == NULL)
    return NULL;
  qsort(r, *n, sizeof *r, traffic_rep_cmp);
  return r;
}

/* Numbers the assets in order of first appearance (asset) and puts each
 * in partition asset % parts (part). Returns the number of assets; 0 out
 * of memory. */
static inline unsigned traffic_number_assets(struct traffic_rep *r, size_t n,
                                             unsigned parts) {
  enum { SLOTS = 1 << 14 };
  struct {
    char id[16];
    unsigned num;
  } *h = calloc(SLOTS, sizeof *h);
  if (h == NULL)
    return 0;
  unsigned assets = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t x = 2166136261u;
    for (const char *c = r[i].id; *c; c++)
      x = (x ^ (unsigned char)*c) * 16777619u;
    size_t s = x & (SLOTS - 1);
    while (h[s].id[0] && strcmp(h[s].id, r[i].id) != 0)
      s = (s + 1) & (SLOTS - 1);
    if (!h[s].id[0]) {
      if (assets == SLOTS / 2) {
        free(h);
        return 0;
      }
      memcpy(h[s].id, r[i].id, sizeof h[s].id);
      h[s].num = assets++;
    }
    r[i].asset = h[s].num;
    r[i].part = h[s].num % parts;
  }
  free(h);
  return assets;
}

/* The batches: batch b of partition p is ord[start..start+len). Batches
 * listed interleaved (p0 b0, p1 b0, ...). */
struct traffic_batches {
  size_t *ord;             /* report indices, grouped by partition */
  size_t *start, *len;     /* per batch, interleaved order */
  unsigned *part;          /* per batch */
  size_t nb, per_part_max; /* batches; the most in one partition */
};

static inline int traffic_make_batches(const struct traffic_rep *r, size_t n,
                                       unsigned parts, size_t bsz,
                                       struct traffic_batches *b) {
  memset(b, 0, sizeof *b);
  b->ord = malloc(n * sizeof *b->ord);
  size_t *pstart = calloc(parts + 1, sizeof *pstart);
  size_t maxb = n / bsz + parts + 1;
  b->start = malloc(maxb * sizeof *b->start);
  b->len = malloc(maxb * sizeof *b->len);
  b->part = malloc(maxb * sizeof *b->part);
  if (!b->ord || !pstart || !b->start || !b->len || !b->part) {
    free(pstart);
    return -1;
  }
  size_t k = 0;
  for (unsigned p = 0; p < parts; p++) {
    pstart[p] = k;
    for (size_t i = 0; i < n; i++)
      if (r[i].part == p)
        b->ord[k++] = i;
  }
  pstart[parts] = k;
  for (size_t bi = 0;; bi++) {
    int any = 0;
    for (unsigned p = 0; p < parts; p++) {
      size_t s = pstart[p] + bi * bsz;
      if (s >= pstart[p + 1])
        continue;
      size_t e = s + bsz < pstart[p + 1] ? s + bsz : pstart[p + 1];
      b->start[b->nb] = s;
      b->len[b->nb] = e - s;
      b->part[b->nb] = p;
      b->nb++;
      any = 1;
      if (bi + 1 > b->per_part_max)
        b->per_part_max = bi + 1;
    }
    if (!any)
      break;
  }
  free(pstart);
  return 0;
}

static inline void traffic_batches_free(struct traffic_batches *b) {
  free(b->ord);
  free(b->start);
  free(b->len);
  free(b->part);
  memset(b, 0, sizeof *b);
}

/* Batch bi as an NDJSON body of POST /v1/positions, reports of party with
 * times shifted by shift_ms, one line each: malloc'd, *len its length.
 * NULL out of memory. */
static inline char *traffic_body(const struct traffic_rep *r,
                                 const struct traffic_batches *b, size_t bi,
                                 const char *party, int64_t shift_ms,
                                 size_t *len) {
  size_t cap = b->len[bi] * 256 + 1, o = 0;
  char *t = malloc(cap);
  for (size_t j = 0; t && j < b->len[bi]; j++) {
    const struct traffic_rep *x = &r[b->ord[b->start[bi] + j]];
    int w = snprintf(t + o, cap - o,
                     "{\"asset\":\"%s\",\"party\":\"%s\",\"class\":"
                     "\"fixed_wing\",\"t_ms\":%lld,\"lon\":%.7f,\"lat\":%.7f,"
                     "\"alt_m\":%.1f,\"gs_mps\":%.2f,\"trk_deg\":%.4f,"
                     "\"vs_mps\":%.2f}\n",
                     x->id, party, (long long)(x->t_ms + shift_ms), x->lon,
                     x->lat, x->alt_m, x->gs_mps, x->trk_deg, x->vs_mps);
    if (w <= 0 || (size_t)w >= cap - o) {
      free(t);
      return NULL;
    }
    o += (size_t)w;
  }
  if (t)
    *len = o;
  return t;
}

/* An NDJSON body as a JSON array: "[" line "," line ... "]", each line's
 * '\n' kept before the comma. malloc'd, *alen its length; NULL out of
 * memory. */
static inline char *traffic_to_array(const char *nd, size_t len, size_t *alen) {
  char *a = malloc(2 * len + 3);
  if (a == NULL)
    return NULL;
  size_t o = 0;
  a[o++] = '[';
  for (size_t i = 0; i < len; i++) {
    a[o++] = nd[i];
    if (nd[i] == '\n' && i + 1 < len)
      a[o++] = ',';
  }
  a[o++] = ']';
  a[o] = '\0';
  *alen = o;
  return a;
}

#endif
