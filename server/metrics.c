/*
 * metrics.c — what GET /metrics reports, in the Prometheus text exposition
 * format 0.0.4: requests by route pattern, method and status; a latency
 * histogram per route pattern; a histogram of store writes; the live
 * objects per kind (counted by the caller at scrape time); failed
 * authentications.
 *
 * Label values come from closed sets — route patterns of the route table
 * (or "unmatched"), a fixed list of methods (others are "OTHER"), statuses
 * the server sends — so the number of series is bounded whatever clients
 * send. Series are kept in small arrays, searched linearly (a few hundred
 * at most).
 *
 * Invariants: counters only grow; each histogram's buckets hold
 * non-cumulative counts (made cumulative when printed) and their sum is its
 * count. One lock guards everything here; it is taken after the db lock
 * when both are held, never before.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Upper bounds of the latency buckets, in seconds (+Inf follows). */
static const double BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NB (sizeof BOUNDS / sizeof *BOUNDS)

struct counter {
  const char *route, *method;
  unsigned status;
  uint64_t n;
};

struct hist {
  const char *route;
  uint64_t buckets[NB + 1]; /* the last one is +Inf */
  double sum;
  uint64_t count;
};

struct hv__metrics {
  pthread_mutex_t lock;
  struct counter *c;
  size_t nc, capc;
  struct hist *h;
  size_t nh, caph;
  struct hist store;
  uint64_t auth_failures;
};

int hv__metrics_new(struct hv__metrics **out) {
  struct hv__metrics *m = calloc(1, sizeof *m);
  if (m == NULL)
    return HV_ENOMEM;
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m);
    return HV_ENOMEM;
  }
  *out = m;
  return HV_OK;
}

void hv__metrics_free(struct hv__metrics *m) {
  if (m == NULL)
    return;
  pthread_mutex_destroy(&m->lock);
  free(m->c);
  free(m->h);
  free(m);
}

/* The method label: one of a fixed list, so that clients cannot make new
 * series by inventing methods. */
static const char *method_label(const char *method) {
  static const char *const known[] = {"GET",  "POST",  "PUT",    "DELETE",
                                      "HEAD", "PATCH", "OPTIONS"};
  for (size_t i = 0; method && i < sizeof known / sizeof *known; i++)
    if (strcmp(method, known[i]) == 0)
      return known[i];
  return "OTHER";
}

/* Route labels are the table's strings: usually the same pointer for the
 * same pattern, though the compiler need not merge equal literals. */
static int same(const char *a, const char *b) {
  return a == b || strcmp(a, b) == 0;
}

static void observe(struct hist *h, double s) {
  size_t i = 0;
  while (i < NB && s > BOUNDS[i])
    i++;
  h->buckets[i]++;
  h->sum += s;
  h->count++;
}

void hv__metrics_request(struct hv__metrics *m, const char *route,
                         const char *method, unsigned status, double s) {
  method = method_label(method);
  pthread_mutex_lock(&m->lock);
  size_t i;
  for (i = 0; i < m->nc; i++)
    if (same(m->c[i].route, route) && m->c[i].method == method &&
        m->c[i].status == status)
      break;
  if (i == m->nc && m->nc == m->capc) {
    size_t cap = m->capc ? 2 * m->capc : 64;
    struct counter *c = realloc(m->c, cap * sizeof *c);
    if (c) {
      m->c = c;
      m->capc = cap;
    }
  }
  if (i < m->capc) {
    if (i == m->nc)
      m->c[m->nc++] = (struct counter){route, method, status, 0};
    m->c[i].n++;
  }
  for (i = 0; i < m->nh; i++)
    if (same(m->h[i].route, route))
      break;
  if (i == m->nh && m->nh == m->caph) {
    size_t cap = m->caph ? 2 * m->caph : 32;
    struct hist *h = realloc(m->h, cap * sizeof *h);
    if (h) {
      m->h = h;
      m->caph = cap;
    }
  }
  if (i < m->caph) {
    if (i == m->nh) {
      memset(&m->h[i], 0, sizeof m->h[i]);
      m->h[i].route = route;
      m->nh++;
    }
    observe(&m->h[i], s);
  }
  pthread_mutex_unlock(&m->lock);
}

void hv__metrics_store_write(struct hv__metrics *m, double s) {
  pthread_mutex_lock(&m->lock);
  observe(&m->store, s);
  pthread_mutex_unlock(&m->lock);
}

void hv__metrics_auth_failure(struct hv__metrics *m) {
  pthread_mutex_lock(&m->lock);
  m->auth_failures++;
  pthread_mutex_unlock(&m->lock);
}

/* ---- the text -------------------------------------------------------------
 */

struct buf {
  char *p;
  size_t n, cap;
  int oom;
};

static void put(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...) {
  if (b->oom)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (w < 0) {
      b->oom = 1;
      return;
    }
    if ((size_t)w < b->cap - b->n) {
      b->n += (size_t)w;
      return;
    }
    size_t cap = 2 * b->cap + (size_t)w + 1;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

/* A label value with \, " and newline escaped, as the format wants. */
static void put_label(struct buf *b, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      put(b, "\\%c", *v);
    else if (*v == '\n')
      put(b, "\\n");
    else
      put(b, "%c", *v);
  }
}

/* One histogram's lines; route NULL for the unlabelled store histogram. */
static void put_hist(struct buf *b, const char *name, const struct hist *h) {
  uint64_t cum = 0;
  for (size_t i = 0; i <= NB; i++) {
    cum += h->buckets[i];
    put(b, "%s_bucket{", name);
    if (h->route) {
      put(b, "route=\"");
      put_label(b, h->route);
      put(b, "\",");
    }
    if (i < NB)
      put(b, "le=\"%g\"} %llu\n", BOUNDS[i], (unsigned long long)cum);
    else
      put(b, "le=\"+Inf\"} %llu\n", (unsigned long long)cum);
  }
  if (h->route) {
    put(b, "%s_sum{route=\"", name);
    put_label(b, h->route);
    put(b, "\"} %.9g\n%s_count{route=\"", h->sum, name);
    put_label(b, h->route);
    put(b, "\"} %llu\n", (unsigned long long)h->count);
  } else {
    put(b, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
        (unsigned long long)h->count);
  }
}

int hv__metrics_text(struct hv__metrics *m, const struct hv__gauges *g,
                     char **out, size_t *len) {
  struct buf b = {malloc(8192), 0, 8192, 0};
  if (b.p == NULL)
    return HV_ENOMEM;
  pthread_mutex_lock(&m->lock);
  put(&b, "# HELP haven_http_requests_total HTTP requests answered, by route "
          "pattern, method and status.\n"
          "# TYPE haven_http_requests_total counter\n");
  for (size_t i = 0; i < m->nc; i++) {
    put(&b, "haven_http_requests_total{route=\"");
    put_label(&b, m->c[i].route);
    put(&b, "\",method=\"%s\",status=\"%u\"} %llu\n", m->c[i].method,
        m->c[i].status, (unsigned long long)m->c[i].n);
  }
  put(&b, "# HELP haven_http_request_duration_seconds Time from a request's "
          "headers to its reply, by route pattern.\n"
          "# TYPE haven_http_request_duration_seconds histogram\n");
  for (size_t i = 0; i < m->nh; i++)
    put_hist(&b, "haven_http_request_duration_seconds", &m->h[i]);
  put(&b, "# HELP haven_store_write_duration_seconds Time of each write to "
          "the store (object, phase, token), durable when it ends.\n"
          "# TYPE haven_store_write_duration_seconds histogram\n");
  put_hist(&b, "haven_store_write_duration_seconds", &m->store);
  put(&b, "# HELP haven_objects Live objects in the registry, by kind.\n"
          "# TYPE haven_objects gauge\n");
  for (int k = 0; k < HV_KIND_COUNT; k++)
    put(&b, "haven_objects{kind=\"%s\"} %zu\n", hv_kind_name((enum hv_kind)k),
        g->counts[k]);
  put(&b,
      "# HELP haven_live_assets Assets the live picture knows.\n"
      "# TYPE haven_live_assets gauge\n"
      "haven_live_assets %zu\n"
      "# HELP haven_alert_streams Alert streams open.\n"
      "# TYPE haven_alert_streams gauge\n"
      "haven_alert_streams %u\n"
      "# HELP haven_alert_streams_dropped_total Alert streams dropped because "
      "their client fell behind.\n"
      "# TYPE haven_alert_streams_dropped_total counter\n"
      "haven_alert_streams_dropped_total %llu\n",
      g->assets, g->streams, (unsigned long long)g->streams_dropped);
  put(&b,
      "# HELP haven_auth_failures_total Requests whose credentials failed.\n"
      "# TYPE haven_auth_failures_total counter\n"
      "haven_auth_failures_total %llu\n",
      (unsigned long long)m->auth_failures);
  pthread_mutex_unlock(&m->lock);
  if (b.oom) {
    free(b.p);
    return HV_ENOMEM;
  }
  *out = b.p;
  *len = b.n;
  return HV_OK;
}
