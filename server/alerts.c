/*
 * alerts.c — GET /v1/alerts/stream: findings pushed to the parties as they
 * are recorded, as Server-Sent Events (docs/api.md, "The alert stream").
 *
 * The hub holds the open streams. Recording a batch of findings
 * (positions.c) publishes each one with hv__alerts_publish, which formats
 * its event once and copies it into the queue of every stream whose caller
 * may see it (hv_visibility, the one need-to-know rule) and whose kind
 * filter keeps it. Publishing never waits on a socket: a queue is bounded
 * (opt.stream_buffer bytes) and a stream whose queue would overflow is
 * marked dropped; it gets what was queued, then a `dropped` event naming
 * the seq to resume after, and is closed.
 *
 * Each stream is sent by libmicrohttpd through stream_read, a content
 * reader called from the pool's threads. When it has nothing to send it
 * suspends the connection (MHD_suspend_connection, from the reader, with
 * the hub lock held), and whoever gives it something — a publish, the
 * heartbeat, the stop — resumes it under the same lock, so a resume never
 * comes before its suspend.
 *
 * A stream that asks for the past (since, Last-Event-ID) first replays it
 * from the ledger: the handler fixes the ledger head H under the db lock,
 * in the same critical section that registers the stream, so every finding
 * with seq <= H is replayed and every later one is published to it — no
 * gap, no repeat. The replay is read in pages by the reader itself (with
 * the db lock), while live events wait in the queue.
 *
 * The heartbeat thread wakes every opt.stream_heartbeat_s seconds and
 * resumes every stream with a keepalive due; the reader then checks the
 * stream's token again (a revoked token ends its stream with `closed`) and
 * sends a comment line, which is also how a vanished client is noticed
 * (libmicrohttpd does not watch suspended connections).
 *
 * Locks: db_lock before hub->lock, never the other way round. The reader
 * takes db_lock only while it holds no hub lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Replay pages: the reader stops filling one past this many bytes. */
#define PAGE_BYTES (64u << 10)

struct hv__stream {
  struct hv__alerts *hub;
  struct hv__srv *srv;
  struct hv__stream *prev, *next; /* the hub's list (hub->lock) */
  struct MHD_Connection *conn;

  /* The caller, copied: the strings libhaven lends die with its next
   * write. The token text is kept to check it again at each heartbeat. */
  struct hv_principal who;
  char party[HV_ID_MAX + 1];
  char token_id[32];
  char token[160];
  char kind[32]; /* the kind filter; "" keeps all */

  /* Guarded by hub->lock. */
  char *q; /* live events queued, q[q_off..q_len) unsent */
  size_t q_off, q_len, q_cap;
  int64_t live_last; /* seq of the last finding queued (or the head) */
  int suspended;
  int dropped;
  int closing; /* a `closed` event is due, for close_reason */
  char close_reason[96];
  int keepalive_due;

  /* The reader's own (one reader call at a time per connection). */
  char *bk; /* replay pages and control events, bk[bk_off..bk_len) */
  size_t bk_off, bk_len, bk_cap;
  int64_t replay_next, replay_end; /* seqs still to replay, inclusive */
  int finished;                    /* the last event is in bk */
};

struct hv__alerts {
  pthread_mutex_t lock;
  pthread_cond_t wake; /* the heartbeat thread's, on stop */
  pthread_t heartbeat;
  int thread_started;
  int stopping;
  struct hv__stream *head; /* the open streams */
  unsigned n;
  size_t buffer;     /* queue bound per stream */
  unsigned period_s; /* heartbeat */
  unsigned max;      /* streams at once */
  uint64_t dropped;  /* streams dropped since the start */
};

/* ---- growing text buffers -------------------------------------------------
 */

static int grow(char **p, size_t *cap, size_t need) {
  if (need <= *cap)
    return 1;
  size_t c = *cap ? *cap : 4096;
  while (c < need)
    c *= 2;
  char *n = realloc(*p, c);
  if (n == NULL)
    return 0;
  *p = n;
  *cap = c;
  return 1;
}

/* Appends text to the stream's own buffer (the reader's side). */
static int bk_add(struct hv__stream *st, const char *text, size_t n) {
  if (st->bk_off == st->bk_len)
    st->bk_off = st->bk_len = 0;
  if (!grow(&st->bk, &st->bk_cap, st->bk_len + n))
    return 0;
  memcpy(st->bk + st->bk_len, text, n);
  st->bk_len += n;
  return 1;
}

/* An event with a JSON data line: "id: ..\nevent: ..\ndata: ..\n\n" (id
 * left out when < 0). malloc'd; *len its length. NULL on no memory. */
static char *event_text(int64_t id, const char *event, const json_t *data,
                        size_t *len) {
  char *d =
      json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
  if (d == NULL)
    return NULL;
  size_t n = strlen(d) + strlen(event) + 64;
  char *t = malloc(n);
  int w =
      t ? (id >= 0 ? snprintf(t, n, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n",
                              id, event, d)
                   : snprintf(t, n, "event: %s\ndata: %s\n\n", event, d))
        : -1;
  free(d);
  if (w < 0 || (size_t)w >= n) {
    free(t);
    return NULL;
  }
  *len = (size_t)w;
  return t;
}

/* A finding event from its recorded body (as GET /v1/findings shows it). */
static char *finding_event(const json_t *doc, int64_t seq, int64_t time_ms,
                           size_t *len) {
  json_t *item = hv__finding_item(doc, seq, time_ms);
  if (item == NULL)
    return NULL;
  char *t = event_text(seq, "finding", item, len);
  json_decref(item);
  return t;
}

/* ---- the hub ---------------------------------------------------------------
 */

static void *heartbeat_main(void *arg) {
  struct hv__alerts *a = arg;
  pthread_mutex_lock(&a->lock);
  while (!a->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += a->period_s;
    while (!a->stopping &&
           pthread_cond_timedwait(&a->wake, &a->lock, &until) != ETIMEDOUT)
      ;
    if (a->stopping)
      break;
    for (struct hv__stream *st = a->head; st; st = st->next) {
      st->keepalive_due = 1;
      if (st->suspended) {
        st->suspended = 0;
        MHD_resume_connection(st->conn);
      }
    }
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

int hv__alerts_new(const struct hv_server_options *o, struct hv__alerts **out) {
  struct hv__alerts *a = calloc(1, sizeof *a);
  *out = NULL;
  if (a == NULL)
    return HV_ENOMEM;
  a->buffer = o->stream_buffer;
  a->period_s = o->stream_heartbeat_s;
  a->max = o->max_streams;
  pthread_mutex_init(&a->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->wake, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&a->heartbeat, NULL, heartbeat_main, a) != 0) {
    hv__alerts_free(a);
    return HV_ENOMEM;
  }
  a->thread_started = 1;
  *out = a;
  return HV_OK;
}

void hv__alerts_close_all(struct hv__alerts *a) {
  if (a == NULL)
    return;
  pthread_mutex_lock(&a->lock);
  a->stopping = 1;
  pthread_cond_broadcast(&a->wake);
  for (struct hv__stream *st = a->head; st; st = st->next) {
    if (!st->closing)
      snprintf(st->close_reason, sizeof st->close_reason,
               "the server is stopping");
    st->closing = 1;
    if (st->suspended) {
      st->suspended = 0;
      MHD_resume_connection(st->conn);
    }
  }
  pthread_mutex_unlock(&a->lock);
}

void hv__alerts_free(struct hv__alerts *a) {
  if (a == NULL)
    return;
  hv__alerts_close_all(a);
  if (a->thread_started)
    pthread_join(a->heartbeat, NULL);
  pthread_cond_destroy(&a->wake);
  pthread_mutex_destroy(&a->lock);
  free(a);
}

int hv__alerts_active(struct hv__alerts *a) {
  pthread_mutex_lock(&a->lock);
  int n = a->head != NULL;
  pthread_mutex_unlock(&a->lock);
  return n;
}

void hv__alerts_counts(struct hv__alerts *a, unsigned *open,
                       uint64_t *dropped) {
  pthread_mutex_lock(&a->lock);
  *open = a->n;
  *dropped = a->dropped;
  pthread_mutex_unlock(&a->lock);
}

void hv__alerts_publish(struct hv__alerts *a, int64_t seq, int64_t time_ms,
                        const json_t *doc) {
  const char *kind = json_string_value(json_object_get(doc, "kind"));
  char *text = NULL;
  size_t len = 0;
  pthread_mutex_lock(&a->lock);
  for (struct hv__stream *st = a->head; st; st = st->next) {
    if (st->dropped || st->closing)
      continue;
    if (st->kind[0] && (kind == NULL || strcmp(kind, st->kind) != 0))
      continue;
    if (hv_visibility(&st->who, HV_FINDING, doc) != HV_VIS_FULL)
      continue;
    if (text == NULL && (text = finding_event(doc, seq, time_ms, &len)) == NULL)
      break; /* out of memory: the ledger keeps it; resume finds it */
    size_t unsent = st->q_len - st->q_off;
    if (unsent + len > a->buffer) {
      st->dropped = 1;
      a->dropped++;
    } else {
      if (st->q_off > 0) { /* compact: what was sent is gone */
        memmove(st->q, st->q + st->q_off, unsent);
        st->q_off = 0;
        st->q_len = unsent;
      }
      if (!grow(&st->q, &st->q_cap, st->q_len + len)) {
        st->dropped = 1;
        a->dropped++;
      } else {
        memcpy(st->q + st->q_len, text, len);
        st->q_len += len;
        st->live_last = seq;
      }
    }
    if (st->suspended) {
      st->suspended = 0;
      MHD_resume_connection(st->conn);
    }
  }
  pthread_mutex_unlock(&a->lock);
  free(text);
}

/* ---- one stream: the reader ------------------------------------------------
 */

struct replay {
  struct hv__stream *st;
  int64_t last; /* the last seq walked */
  int oom;
};

static int replay_entry(const struct hv_ledger_entry *e, void *ud) {
  struct replay *p = ud;
  struct hv__stream *st = p->st;
  p->last = e->seq;
  json_t *doc = hv__finding_of(&st->who, st->kind, e);
  if (doc) {
    size_t len;
    char *t = finding_event(doc, e->seq, e->time_ms, &len);
    if (t == NULL || !bk_add(st, t, len)) {
      free(t);
      json_decref(doc);
      p->oom = 1;
      p->last = e->seq - 1; /* not given: resume before it */
      return 1;
    }
    free(t);
  }
  json_decref(doc);
  return st->bk_len - st->bk_off >= PAGE_BYTES;
}

/* Reads the next page of the replay into bk (db lock taken here). Returns
 * 0 when the record could not be read. */
static int replay_page(struct hv__stream *st) {
  struct replay p = {st, st->replay_next - 1, 0};
  pthread_mutex_lock(&st->srv->db_lock);
  int rc = hv_ledger_each(st->srv->db, st->replay_next, st->replay_end,
                          replay_entry, &p);
  pthread_mutex_unlock(&st->srv->db_lock);
  if (rc < 0 || p.oom)
    return 0;
  st->replay_next = rc > 0 ? p.last + 1 : st->replay_end + 1;
  return 1;
}

/* Checks the stream's token again (db lock taken here): 1 when it still
 * holds. */
static int token_holds(struct hv__stream *st) {
  struct hv_principal who;
  struct hv_error err = {0};
  pthread_mutex_lock(&st->srv->db_lock);
  hv_db_refresh(st->srv->db, NULL, &err);
  int ok = hv_db_authenticate(st->srv->db, st->token, &who) == HV_OK &&
           who.role == st->who.role && who.party &&
           strcmp(who.party, st->party) == 0;
  pthread_mutex_unlock(&st->srv->db_lock);
  return ok;
}

/* Puts the last event (event "dropped" or "closed") into bk. */
static void finish(struct hv__stream *st, const char *event, const char *reason,
                   int64_t resume) {
  size_t len;
  json_t *d = json_pack("{s:s,s:I}", "reason", reason, "resume_after",
                        (json_int_t)resume);
  char *t = d ? event_text(resume, event, d, &len) : NULL;
  json_decref(d);
  if (t)
    bk_add(st, t, len);
  free(t);
  st->finished = 1;
}

static ssize_t copy_out(char **src, size_t *off, size_t len, char *buf,
                        size_t max) {
  size_t n = len - *off < max ? len - *off : max;
  memcpy(buf, *src + *off, n);
  *off += n;
  return (ssize_t)n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
  struct hv__stream *st = cls;
  struct hv__alerts *a = st->hub;
  static const char KEEPALIVE[] = ": keepalive\n\n";
  (void)pos;
  if (max == 0)
    return 0;
  for (;;) {
    if (st->bk_off < st->bk_len)
      return copy_out(&st->bk, &st->bk_off, st->bk_len, buf, max);
    if (st->finished)
      return MHD_CONTENT_READER_END_OF_STREAM;

    pthread_mutex_lock(&a->lock);
    int stop = st->dropped || st->closing;
    int keepalive = st->keepalive_due;
    st->keepalive_due = 0;
    pthread_mutex_unlock(&a->lock);

    int replaying = st->replay_next <= st->replay_end;
    if (replaying && !stop) {
      if (!replay_page(st)) {
        pthread_mutex_lock(&a->lock);
        if (!st->closing)
          snprintf(st->close_reason, sizeof st->close_reason,
                   "the record could not be read");
        st->closing = 1;
        pthread_mutex_unlock(&a->lock);
      }
      continue;
    }
    if (keepalive && !stop && !token_holds(st)) {
      pthread_mutex_lock(&a->lock);
      snprintf(st->close_reason, sizeof st->close_reason,
               "the token was revoked");
      st->closing = 1;
      pthread_mutex_unlock(&a->lock);
      continue;
    }

    pthread_mutex_lock(&a->lock);
    if (replaying) {
      /* Dropped or closed in the middle of the replay: the live events
       * queued meanwhile come after a gap; the replay's end so far is
       * where the client resumes. */
      st->q_off = st->q_len = 0;
      st->live_last = st->replay_next - 1;
      st->replay_end = st->replay_next - 1;
    }
    if (st->q_off < st->q_len) {
      ssize_t n = copy_out(&st->q, &st->q_off, st->q_len, buf, max);
      pthread_mutex_unlock(&a->lock);
      return n;
    }
    if (st->dropped || st->closing) {
      int64_t resume = st->live_last;
      char reason[96];
      const char *event = st->dropped ? "dropped" : "closed";
      snprintf(reason, sizeof reason, "%s",
               st->dropped ? "the client fell behind: its buffer is full"
                           : st->close_reason);
      pthread_mutex_unlock(&a->lock);
      finish(st, event, reason, resume);
      continue;
    }
    if (keepalive) {
      pthread_mutex_unlock(&a->lock);
      if (!bk_add(st, KEEPALIVE, sizeof KEEPALIVE - 1))
        return MHD_CONTENT_READER_END_WITH_ERROR;
      continue;
    }
    st->suspended = 1;
    MHD_suspend_connection(st->conn);
    pthread_mutex_unlock(&a->lock);
    return 0;
  }
}

/* ---- the route --------------------------------------------------------------
 */

void hv__stream_free(struct hv__stream *st) {
  if (st == NULL)
    return;
  struct hv__alerts *a = st->hub;
  pthread_mutex_lock(&a->lock);
  if (st->prev)
    st->prev->next = st->next;
  else if (a->head == st)
    a->head = st->next;
  if (st->next)
    st->next->prev = st->prev;
  a->n--;
  pthread_mutex_unlock(&a->lock);
  free(st->q);
  free(st->bk);
  memset(st->token, 0, sizeof st->token);
  free(st);
}

/* A seq parameter: a whole number 0..head. */
static int seq_value(struct hv__req *r, const char *name, const char *v,
                     int64_t head, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end != '\0' || x < 0)
    return hv__fail(r, 400, "bad_parameter", name,
                    "%s: \"%s\" is not a ledger seq (a whole number >= 0)",
                    name, v);
  if (x > head)
    return hv__fail(r, 400, "bad_parameter", name,
                    "%s: %lld is past the ledger's head (%" PRId64 ")", name, x,
                    head);
  *out = (int64_t)x;
  return 1;
}

void hv__h_alerts_stream(struct hv__req *r) {
  struct hv__srv *s = r->srv;
  struct hv__alerts *a = s->alerts;
  int64_t head = hv_db_head_seq(s->db), since = -1;
  const char *v = hv__param(r, "since");
  if (v && !seq_value(r, "since", v, head, &since))
    return;
  const char *last =
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
  if (last && !seq_value(r, "Last-Event-ID", last, head, &since))
    return;
  const char *kind = hv__param(r, "kind");
  if (kind && !hv__finding_kind_known(kind)) {
    hv__fail(r, 400, "bad_parameter", "kind",
             "kind: \"%s\" is not a kind of finding", kind);
    return;
  }
  const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION);
  const char *tok =
      auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";
  while (*tok == ' ')
    tok++;

  struct hv__stream *st = calloc(1, sizeof *st);
  if (st == NULL) {
    hv__fail(r, 500, "internal", NULL, "out of memory");
    return;
  }
  st->hub = a;
  st->srv = s;
  st->conn = r->conn;
  snprintf(st->party, sizeof st->party, "%s", r->party);
  snprintf(st->token_id, sizeof st->token_id, "%s", r->token_id);
  snprintf(st->token, sizeof st->token, "%s", tok);
  snprintf(st->kind, sizeof st->kind, "%s", kind ? kind : "");
  st->who.party = st->party;
  st->who.role = r->who.role;
  st->who.token_id = st->token_id[0] ? st->token_id : NULL;
  st->replay_next = since >= 0 ? since + 1 : head + 1;
  st->replay_end = head;
  st->live_last = since >= 0 ? since : head;
  /* Once replayed, the client has everything up to the head. */
  if (st->replay_next <= st->replay_end)
    st->live_last = head;

  size_t len;
  json_t *open =
      json_pack("{s:s,s:s,s:I,s:o,s:I}", "party", st->party, "role",
                hv_role_name(st->who.role), "head", (json_int_t)head, "since",
                since >= 0 ? json_integer(since) : json_null(), "buffer_bytes",
                (json_int_t)a->buffer);
  char *t = open ? event_text(-1, "open", open, &len) : NULL;
  json_decref(open);
  static const char RETRY[] = "retry: 3000\n";
  if (t == NULL || !bk_add(st, RETRY, sizeof RETRY - 1) ||
      !bk_add(st, t, len)) {
    free(t);
    free(st->bk);
    free(st);
    hv__fail(r, 500, "internal", NULL, "out of memory");
    return;
  }
  free(t);

  pthread_mutex_lock(&a->lock);
  if (a->stopping || a->n >= a->max) {
    int stopping = a->stopping;
    pthread_mutex_unlock(&a->lock);
    free(st->bk);
    free(st);
    if (stopping)
      hv__fail(r, 503, "too_many_streams", NULL, "the server is stopping");
    else
      hv__fail(r, 503, "too_many_streams", NULL,
               "%u alert streams are open already (the limit)", a->max);
    return;
  }
  st->next = a->head;
  if (a->head)
    a->head->prev = st;
  a->head = st;
  a->n++;
  pthread_mutex_unlock(&a->lock);
  r->stream = st;
  r->status = 200;
}

struct MHD_Response *hv__stream_response(struct hv__stream *st) {
  return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                           stream_read, st, NULL);
}
