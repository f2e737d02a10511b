/*
 * internal.h — what the files of server/ share: the server's state, one
 * request's state, the route table, replies, metrics and the failed
 * authentication limiter. Internal names are hv__; nothing here is seen
 * outside server/.
 *
 * Threads: libmicrohttpd calls the access handler from the threads of its
 * pool, several requests at a time. struct hv_db is not thread-safe, so
 * every call into libhaven — and every use of an object it lends — happens
 * with srv->db_lock held (see http.c for why one lock is enough for now).
 * Metrics and the limiter have their own locks, always taken after
 * db_lock, never before it.
 */
#ifndef HAVEN_SERVER_INTERNAL_H
#define HAVEN_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <haven/auth.h>
#include <haven/haven.h>
#include <jansson.h>
#include <microhttpd.h>

#include "server.h"

struct hv__metrics;
struct hv__ratelimit;
struct hv__alerts;
struct hv__stream;

/* The running server. */
struct hv__srv {
  struct hv_server_options opt;
  struct hv_db *db;
  pthread_mutex_t db_lock;  /* guards db and every object borrowed from it */
  struct hv_tracks *tracks; /* the live picture (positions.c); db_lock */
  struct hv__metrics *metrics;
  struct hv__ratelimit *limiter;
  struct hv__alerts *alerts;         /* the open alert streams (alerts.c) */
  struct hv_checker *checker;        /* deconfliction checks; db_lock */
  struct hv_probe *probe;            /* the probing detector; db_lock */
  struct hv__buckets *check_buckets; /* checks per party */
  pthread_mutex_t flight_lock;
  pthread_cond_t flight_done;
  unsigned in_flight; /* requests begun and not completed */
};

/* Methods the routes use; everything else is HV__OTHER. */
enum hv__method { HV__GET, HV__POST, HV__PUT, HV__DELETE, HV__OTHER };

/* Who may call a route: bit (1u << enum hv_role) per role. */
#define HV__NOAUTH 0u /* no authentication at all (/healthz) */
#define HV__ANY ((1u << HV_ROLE_COUNT) - 1u)
#define HV__COORD (1u << HV_ROLE_COORDINATOR)
#define HV__SITES (HV__COORD | (1u << HV_ROLE_AGENCY))

/* How a route takes a request body. */
enum hv__body {
  HV__NOBODY,
  HV__BODY,
  HV__BODY_OPTIONAL,
  HV__BODY_NDJSON /* required; application/json or application/x-ndjson */
};

struct hv__req;

struct hv__route {
  enum hv__method method;
  const char *path; /* "{id}" matches one non-empty segment */
  void (*fn)(struct hv__req *r);
  unsigned roles;     /* HV__NOAUTH or role bits */
  int kind;           /* enum hv_kind of /v1/{kind} routes, else -1 */
  enum hv__body body; /* whether a JSON body is taken */
  const char *params; /* allowed query parameters, space separated */
  /* Optional: work on the body that needs no db (parsing), run by http.c
   * without the db lock once the body is in, before fn runs with it. It
   * leaves its result in r->prep (freed by r->prep_free) or sets an error
   * reply, which is then sent without running fn. fn must cope with a
   * request prep did not see (r->prep NULL, no reply set). */
  void (*prep)(struct hv__req *r);
};

/* One request, from its first call of the access handler to its
 * completion. Owned by http.c; handlers fill the reply members. */
struct hv__req {
  struct hv__srv *srv;
  struct MHD_Connection *conn;
  const char *url;         /* decoded path, borrowed from libmicrohttpd */
  const char *method_text; /* as sent */
  enum hv__method method;
  char addr[64]; /* the client's address, for the limiter and the log */
  struct timespec t0;
  int64_t t0_ms; /* wall clock, for the log */

  /* Routing (set by hv__route_find). */
  const struct hv__route *route; /* NULL: no route for this path/method */
  const char *route_label;       /* metrics label: pattern or "unmatched" */
  char id[HV_ID_MAX + 1];        /* the {id} of the path, when any */

  /* Authentication: the principal, with its strings copied here because
   * libhaven lends them only until its next write. */
  int checked; /* hv__request_check passed */
  int authed;  /* who is valid */
  struct hv_principal who;
  char party[HV_ID_MAX + 1];
  char token_id[32];

  /* The body. */
  int has_body;             /* Content-Length > 0 or chunked */
  long long content_length; /* as declared; -1 when not declared */
  int recheck;              /* checked in an earlier call: authenticate again */
  char *body;               /* NUL-terminated when len > 0 */
  size_t len, cap;
  size_t discarded; /* bytes dropped after the limit (chunked bodies) */
  int too_large;

  /* The reply. */
  unsigned status;
  json_t *json;     /* reply document (owned); dumped after unlocking */
  const char *text; /* or a text reply... */
  size_t text_len;
  int text_owned;           /* ...which is freed with free() when set */
  const char *content_type; /* of a text reply */
  char allow[64];           /* Allow header of a 405 */
  char deny[160];           /* why a request was denied (401/403/429), logged */
  struct hv__stream *stream; /* an alert stream: sent from a callback */
  char retry_after[16];      /* Retry-After of a 429, when set */
  void *prep;                /* what route->prep made of the body */
  void (*prep_free)(void *);
};

/* ---- routes.c --------------------------------------------------------- */

/* The route table and its size. */
extern const struct hv__route hv__routes[];
extern const size_t hv__n_routes;

/* The method's enum from its text. */
enum hv__method hv__method_parse(const char *text);

/* Checks what can be checked from the request line and headers: the
 * route (404/405), the query parameters (400), authentication (429/401),
 * the role (403) and, for bodies, their type (415) and declared size
 * (413). Call with srv->db_lock held. Returns 1 when the request may go
 * on; else 0 with the error reply set. */
int hv__request_check(struct hv__req *r);

/* Runs the handler of a checked request, with srv->db_lock held: checks
 * the token again when the check was made in an earlier call (a long
 * upload), then calls the route's function, which sets the reply. */
void hv__request_run(struct hv__req *r);

/* ---- the handlers (objects.c, queries.c, record.c, positions.c) -------- */

void hv__h_list(struct hv__req *r);
void hv__h_get(struct hv__req *r);
void hv__h_create(struct hv__req *r);
void hv__h_update(struct hv__req *r);
void hv__h_delete(struct hv__req *r);
void hv__h_history(struct hv__req *r);
void hv__h_phase(struct hv__req *r);
void hv__h_sponsors(struct hv__req *r);
void hv__h_party_agreements(struct hv__req *r);
void hv__h_query_zones(struct hv__req *r);
void hv__h_query_near(struct hv__req *r);
void hv__h_healthz(struct hv__req *r);
void hv__h_metrics(struct hv__req *r);
void hv__h_openapi(struct hv__req *r);
void hv__h_ledger(struct hv__req *r);
void hv__h_verify(struct hv__req *r);
void hv__h_tokens(struct hv__req *r);
void hv__h_token_create(struct hv__req *r);
void hv__h_token_revoke(struct hv__req *r);
void hv__h_positions(struct hv__req *r);
void hv__prep_positions(struct hv__req *r);
void hv__h_findings(struct hv__req *r);
void hv__h_alerts_stream(struct hv__req *r);
void hv__h_check(struct hv__req *r);
void hv__h_check_verify(struct hv__req *r);
void hv__h_ack(struct hv__req *r);
void hv__h_acks(struct hv__req *r);
void hv__h_adjudicate(struct hv__req *r);
void hv__h_adjudications(struct hv__req *r);
void hv__h_incident_adjudication(struct hv__req *r);
void hv__h_incident_adjudications(struct hv__req *r);
void hv__h_review(struct hv__req *r);
void hv__h_reviews(struct hv__req *r);
void hv__h_zone_status(struct hv__req *r);
void hv__h_sieges(struct hv__req *r);
void hv__h_sieges_scan(struct hv__req *r);
void hv__h_bulletin(struct hv__req *r);
void hv__h_tracks(struct hv__req *r);
void hv__h_web_index(struct hv__req *r);
void hv__h_web_file(struct hv__req *r);

/* Adjudicates incident id just written and records its answer (as the
 * coordinator: the engine's answer, not the writer's): the answer as the
 * request's principal sees it, or NULL (logged) when it could not be
 * given — the incident stands, the next POST /v1/adjudications answers
 * it. (incidents.c) */
json_t *hv__incident_adjudicate(struct hv__req *r, const char *id);

/* A recorded finding as GET /v1/findings and the alert stream show it: its
 * recorded body (hv_finding_record_json; borrowed) with seq and
 * recorded_at (the ledger entry's time). NULL on no memory. */
json_t *hv__finding_item(const json_t *doc, int64_t seq, int64_t time_ms);
/* The recorded body of ledger entry e when it is a finding who may see
 * and, when kind is non-NULL and not "", of that kind; else NULL. Caller
 * owns it. GET /v1/findings and the alert streams' replay read the ledger
 * through it. */
json_t *hv__finding_of(const struct hv_principal *who, const char *kind,
                       const struct hv_ledger_entry *e);
/* 1 when name is a kind of finding ("zone_enter"...). */
int hv__finding_kind_known(const char *name);

/* The collection name of a kind ("zones"), for messages. */
const char *hv__plural(enum hv_kind k);

/* Times a store write: call with the db lock held, around the write. */
struct timespec hv__write_begin(void);
void hv__write_end(struct hv__req *r, const struct timespec *t0);

/* ---- reply.c: replies, errors, parameters, bodies ---------------------- */

/* Sets the reply to status with document j (taken; NULL = out of memory,
 * which becomes a 500). */
void hv__reply(struct hv__req *r, unsigned status, json_t *j);

/* Replies a page of a ledger walk: {"items": items, "next": next or null}.
 * rc is the walk's result (> 0: the callback stopped it, not an error);
 * items (taken) NULL means out of memory. On an error, fails instead. */
void hv__reply_page(struct hv__req *r, int rc, json_t *items, int64_t next);

/* Sets the reply to the error {"error": {"code", "message", "field"?}}
 * (docs/api.md); field may be NULL. Returns 0 so that checks can write
 * `return hv__fail(...)`. */
int hv__fail(struct hv__req *r, unsigned status, const char *code,
             const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The 409 conflict error with current_version in the error object. */
int hv__fail_conflict(struct hv__req *r, int64_t current_version,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps a libhaven failure to its status and error (docs/api.md): the
 * library's message, and the field at fault taken from it. */
int hv__fail_lib(struct hv__req *r, int rc, const struct hv_error *err);

/* The field named by a library message: the text before the first ": "
 * after its "(id ...)" part. Writes "" when there is none. */
void hv__error_field(const char *msg, char *field, size_t size);

/* Query parameters. Each returns 1 with *out set (or left at its default
 * when the parameter is absent and not required), or 0 with a 400
 * bad_parameter reply naming it. */
const char *hv__param(struct hv__req *r, const char *name);
/* 1 when every member of body doc is named in the space-separated list;
 * else 0 with a 400 "invalid" naming the first unknown member. */
int hv__known_members(struct hv__req *r, json_t *doc, const char *list);
int hv__param_int(struct hv__req *r, const char *name, int64_t lo, int64_t hi,
                  int64_t *out);
int hv__param_double(struct hv__req *r, const char *name, int required,
                     double lo, double hi, double *out);
int hv__param_time(struct hv__req *r, const char *name, int64_t *out);

/* The request body as a JSON object (a new reference in *out): 400
 * bad_json with line and column when it is not JSON, 400 invalid when it
 * is not an object. A missing body is NULL in *out when optional is set. */
int hv__body_object(struct hv__req *r, int optional, json_t **out);

/* The version a conditional write names: the If-Match header ("N" or N),
 * else body_version (a JSON integer or NULL). *out = 0 when neither gives
 * one. Returns 0 with a 400 reply when malformed or contradictory. */
int hv__write_version(struct hv__req *r, const json_t *body_version,
                      int64_t *out);

/* Monotonic seconds since t0. */
double hv__elapsed_s(const struct timespec *t0);

/* ---- metrics.c --------------------------------------------------------- */

int hv__metrics_new(struct hv__metrics **out);
void hv__metrics_free(struct hv__metrics *m);
/* One request answered: route label (a static string), method text,
 * status, seconds taken. Thread-safe. */
void hv__metrics_request(struct hv__metrics *m, const char *route,
                         const char *method, unsigned status, double s);
/* One store write (hv_db_put, delete, phase, token) of s seconds. */
void hv__metrics_store_write(struct hv__metrics *m, double s);
void hv__metrics_auth_failure(struct hv__metrics *m);
/* What /metrics reads from the rest of the server at the time. */
struct hv__gauges {
  size_t counts[HV_KIND_COUNT]; /* objects by kind */
  size_t assets;                /* assets the live engine knows */
  unsigned streams;             /* alert streams open */
  uint64_t streams_dropped;     /* alert streams dropped since the start */
};
/* The Prometheus text (format 0.0.4) of everything counted, plus the
 * gauges of g; malloc'd in *out (length *len). Returns HV_OK or
 * HV_ENOMEM. */
int hv__metrics_text(struct hv__metrics *m, const struct hv__gauges *g,
                     char **out, size_t *len);

/* ---- ratelimit.c ------------------------------------------------------- */

int hv__ratelimit_new(unsigned max_failures, int64_t window_ms,
                      struct hv__ratelimit **out);
void hv__ratelimit_free(struct hv__ratelimit *rl);
/* 1 when addr has failed max_failures times in its current window. */
int hv__ratelimit_blocked(struct hv__ratelimit *rl, const char *addr,
                          int64_t now_ms);
/* Counts one failed authentication from addr. */
void hv__ratelimit_fail(struct hv__ratelimit *rl, const char *addr,
                        int64_t now_ms);

/* Token buckets per key (a party): burst tokens, refilled at per_minute a
 * minute. hv__buckets_take takes one: 1 when there was one; 0 when not,
 * with *retry_s the seconds until there is. Thread-safe. */
struct hv__buckets;
int hv__buckets_new(double per_minute, double burst, struct hv__buckets **out);
void hv__buckets_free(struct hv__buckets *b);
int hv__buckets_take(struct hv__buckets *b, const char *key, int64_t now_ms,
                     unsigned *retry_s);

/* ---- alerts.c: the alert streams ------------------------------------- */

/* The hub, with its heartbeat thread. Errors: HV_ENOMEM. */
int hv__alerts_new(const struct hv_server_options *o, struct hv__alerts **out);
/* Every open stream gets `closed` ("the server is stopping") and is
 * resumed; no stream opens after it. Call before waiting for the requests
 * in flight and before MHD_stop_daemon (no connection stays suspended). */
void hv__alerts_close_all(struct hv__alerts *a);
/* Closes all, stops the heartbeat and frees the hub: after
 * MHD_stop_daemon (the streams' completions use the hub). NULL: no-op. */
void hv__alerts_free(struct hv__alerts *a);
/* 1 when a stream is open (publishing is worth its formatting). */
int hv__alerts_active(struct hv__alerts *a);
/* Streams open now, and streams dropped since the start. */
void hv__alerts_counts(struct hv__alerts *a, unsigned *open, uint64_t *dropped);
/* Queues the finding recorded at seq (time_ms: its entry's time; doc: its
 * recorded body, borrowed) on every stream that may see it. Call with
 * db_lock held, in seq order. Never blocks on a client. */
void hv__alerts_publish(struct hv__alerts *a, int64_t seq, int64_t time_ms,
                        const json_t *doc);
/* The response that sends stream st (http.c queues it). */
struct MHD_Response *hv__stream_response(struct hv__stream *st);
/* Unregisters and frees a stream (at the request's completion). */
void hv__stream_free(struct hv__stream *st);

/* ---- openapi (generated at build time from docs/openapi.json) ---------- */

extern const unsigned char hv__openapi_json[];
extern const size_t hv__openapi_json_len;

#endif
