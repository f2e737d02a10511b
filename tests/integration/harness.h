/*
 * harness.h — what the integration tests in tests/integration/ share: a real
 * `haven serve` on loopback (started, stopped gracefully, killed), its data
 * directory holding the bundled scenario, tokens, an HTTP client (libcurl)
 * whose replies come parsed as JSON, a client of the alert stream
 * (Server-Sent Events on a raw socket), and small object documents to
 * write.
 *
 * Include it after <cmocka.h> (and its prerequisites). Helpers named it_*
 * fail the running test (cmocka's fail_msg) when something they need does
 * not work, so that a test reads as the requests it makes.
 *
 * Invariants:
 * - every server started here is in a table of live servers, killed
 *   (SIGKILL) when the test process exits however it exits — at exit, and
 *   by the kernel (PR_SET_PDEATHSIG) if the test process dies — so no test
 *   leaves a server behind;
 * - every reply with status 401, 403 or 429 is recorded (method, path,
 *   status), so that a test can check the server logged each one.
 *
 * Environment (set by ctest, see CMakeLists.txt): HAVEN_BIN (the haven
 * command), HAVEN_MKSCENARIO, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR.
 */
#ifndef HAVEN_IT_HARNESS_H
#define HAVEN_IT_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* ---- files and processes ---------------------------------------------- */

/* The value of environment variable name; fails the test when unset. */
const char *it_env(const char *name);

/* dir/name into buf (fails the test when it does not fit); returns buf. */
const char *it_path(char *buf, size_t size, const char *dir, const char *name);

/* Makes <$HAVEN_SCRATCH_DIR>/<name>-<pid> afresh into buf. */
void it_workdir(char *buf, size_t size, const char *name);

/* Removes path and everything under it (absent is fine). */
void it_rm_tree(const char *path);

/* The whole content of path, NUL-terminated (caller frees); NULL when it
 * cannot be read. *len may be NULL. */
char *it_read_file(const char *path, size_t *len);

/* Runs argv[0] with argv, standard output to out_path and standard error
 * to err_path (NULL: /dev/null), and waits. Returns the exit status, or
 * 128 + the signal that ended it. */
int it_run(const char *const argv[], const char *out_path,
           const char *err_path);

/* Builds the bundled scenario with $HAVEN_MKSCENARIO into
 * workdir/scenario, and imports it, with data/scenario/registry.json and
 * corridors.geojson, into the new data directory data (as scripts/demo
 * does): 48 parties, 3 agreements, 6 zones, 2 corridors, 33 sites, 4
 * delineations, 14 areas. */
void it_scenario(const char *workdir, const char *data);

/* In-process writes to the data directory data while no server runs on it
 * (the server would refuse its next write: its view would be stale). */
void it_token_create(const char *data, const char *party, const char *role,
                     char text[64], char id[16]);
void it_token_revoke(const char *data, const char *id);
/* Creates one object of kind ("party", "site"...) from a JSON document
 * written with single quotes for double quotes, as the coordinator. */
void it_put(const char *data, const char *kind, const char *quoted_json);

/* `haven --data DATA ledger verify`: its exit status. */
int it_ledger_verify_cli(const char *data, const char *workdir);

/* ---- the server ------------------------------------------------------- */

struct it_server {
  pid_t pid; /* 0 when not running */
  int port;
  int exit_status;     /* as it_run, once it exited; -1 before */
  unsigned starts;     /* how many times started */
  char data[1024];     /* its data directory */
  char logdir[1024];   /* where its output goes */
  char out_path[1100]; /* standard output of the current run */
  char err_path[1100]; /* standard error of the current run */
  char base[64];       /* "http://127.0.0.1:PORT" */
};

/*
 * Starts `haven --data DATA serve --listen 127.0.0.1:PORT [extra...]`
 * (extra: NULL-terminated, may be NULL), its output in
 * logdir/serve-N.out and .err (N counts the servers started by the test
 * process), and waits until it prints "haven: listening
 * on http://...". The port is the one the server picked for
 * "127.0.0.1:0", or, when it does not pick one, a free port found by
 * binding port 0 first (retried if taken meanwhile). Fails the test when
 * the server does not come up within 60 s.
 */
void it_server_start(struct it_server *s, const char *data, const char *logdir,
                     const char *const *extra);

/* The same server, started again on its data directory (a new port). */
void it_server_restart(struct it_server *s, const char *const *extra);

/* SIGTERM, and waits up to 60 s (then SIGKILL). Returns the exit status as
 * it_run (the one it exited with, when it already did and it_server_alive
 * noticed). */
int it_server_stop(struct it_server *s);

/* SIGKILL and wait. Harmless when not running. */
void it_server_kill(struct it_server *s);

/* 1 while the server process is alive; when it has exited, reaps it and
 * keeps its status in exit_status. */
int it_server_alive(struct it_server *s);

/* ---- HTTP ------------------------------------------------------------- */

struct it_resp {
  long status; /* 0: no reply (err says why) */
  char *body;  /* NUL-terminated */
  size_t len;
  char *headers; /* the raw header block, NUL-terminated */
  json_t *json;  /* the body parsed, when it is JSON */
  char err[512];
};

struct it_req {
  const char *method;   /* NULL: GET */
  const char *path;     /* with its query string */
  const char *token;    /* bearer token text; NULL: none */
  const char *auth;     /* a whole Authorization value (overrides token) */
  const char *body;     /* NULL: no body */
  size_t body_len;      /* 0: strlen(body) */
  const char *ctype;    /* NULL: application/json (when there is a body) */
  const char *if_match; /* If-Match value, as sent */
  const char *src;      /* local address to connect from ("127.0.3.9") */
  int fresh;            /* 1: on a new connection, closed afterwards */
  int chunked;          /* 1: the body sent with chunked transfer coding */
  long timeout_s;       /* the whole request at most this long; 0: 120 */
};

/* Makes the request; fills *r (free with it_resp_free) and returns the
 * status (0 when there was no reply). */
long it_http(const struct it_server *s, const struct it_req *q,
             struct it_resp *r);
void it_resp_free(struct it_resp *r);

/* GET path with token. */
long it_get(const struct it_server *s, const char *token, const char *path,
            struct it_resp *r);
/* method path with the JSON body (borrowed; NULL: none) and token. */
long it_send(const struct it_server *s, const char *method, const char *token,
             const char *path, const json_t *body, struct it_resp *r);

/* Frees the cached connections (call once at the end of a test program). */
void it_http_cleanup(void);

/* A loopback address of its own for the next requests — "127.0.X.Y", a
 * new one on each call — so that failed authentications made on purpose
 * do not add up to the server's per-address limit. Static storage, valid
 * until 64 further calls. */
const char *it_fresh_src(void);

/* Replies with status 401, 403 or 429 since the last reset. */
struct it_denied {
  char method[8];
  char path[256]; /* without the query string */
  long status;
};
size_t it_denied_count(void);
const struct it_denied *it_denied_at(size_t i);
void it_denied_reset(void);

/* A growing byte buffer, kept NUL-terminated (p malloc'd; zeroed: empty). */
struct it_buf {
  char *p;
  size_t len, cap;
};

/* Appends n bytes of data to b; n, or 0 when out of memory (as curl wants). */
size_t it_buf_add(struct it_buf *b, const char *data, size_t n);

/* ---- Server-Sent Events over a raw socket ------------------------------ */

/*
 * A client of GET /v1/alerts/stream (docs/api.md, "The alert stream") that
 * libcurl cannot be: it keeps the stream open while the test does other
 * requests, reads only when the test asks (or never, to be a slow
 * consumer), can shrink its receive buffer, and fails instead of hanging
 * (every read has a timeout).
 *
 * The request is HTTP/1.1 — as browsers' EventSource send it — so the
 * stream comes in chunked transfer coding (libmicrohttpd's way with a body
 * of unknown length); the client decodes it, and also takes a body with a
 * Content-Length (error replies) or one delimited by the end of the
 * connection. A protocol error in the reply (bad status line, bad chunk)
 * fails the test. Events are parsed as the SSE format says: lines
 * "field: value" (one leading space of the value dropped), "data" lines
 * joined with "\n", a blank line ends an event, lines starting with ':'
 * are comments (counted, the last one kept), CRLF, LF or CR ends a line.
 */
struct it_sse_req {
  const char *path;          /* with its query string */
  const char *token;         /* bearer token text; NULL: no Authorization */
  const char *last_event_id; /* NULL: no Last-Event-ID header */
  const char *src;           /* local address to connect from; NULL: any */
  int rcvbuf;                /* > 0: SO_RCVBUF (bytes) set before connecting */
};

struct it_sse_event {
  char type[64]; /* the event field; "message" when there was none */
  char id[64];   /* the id field ("" when none; see has_id) */
  int has_id;
  char *data;   /* data lines joined with '\n', NUL-terminated (malloc'd) */
  json_t *json; /* data parsed as JSON; NULL when it is not */
};

struct it_sse {
  int fd;                 /* -1 when closed */
  struct it_resp resp;    /* status and headers; for a status other than 200,
                             also the whole body and its JSON */
  int chunked;            /* the body comes in chunked transfer coding */
  int body_done;          /* the body is complete (last chunk, Content-Length
                             reached, or the connection's end) */
  int peer_closed;        /* the server closed the connection */
  int truncated;          /* ... before the body was complete */
  size_t body_bytes;      /* decoded body bytes so far */
  size_t comments;        /* comment lines so far */
  char last_comment[128]; /* the last one, without ':' and one space */
  /* Decoding state (internal). */
  struct it_buf in;   /* bytes received, not yet decoded */
  struct it_buf text; /* body decoded, not yet parsed */
  size_t in_off, text_off;
  int chunk_state;
  long long left; /* of the chunk or the Content-Length body; -1: EOF */
  struct it_sse_event cur; /* the event being parsed */
  struct it_buf data;
  int cur_any, cur_data;
};

/* Connects to s, sends GET q->path and reads the reply's status line and
 * headers (at most 10 s). A reply that is not text/event-stream (an
 * error) is read whole (c->resp.body and .json, so it_err_code etc. work
 * on &c->resp); of an event stream, c->resp.body holds what came with the
 * headers, and the rest is for it_sse_next. Returns the status, 0 when no
 * reply came (c->resp.err says why). Close with it_sse_close whatever it
 * returned. */
long it_sse_open(const struct it_server *s, const struct it_sse_req *q,
                 struct it_sse *c);

/* Opens GET /v1/alerts/stream as token into *c and reads its first event:
 * fails the test unless the reply is 200 and that event is `open` (within
 * 10 s). For tests that then wait for findings on it. */
void it_sse_open_live(const struct it_server *s, const char *token,
                      struct it_sse *c);

/* The next event, waiting at most timeout_ms for it: 1 with *ev filled
 * (free with it_sse_event_free), 0 when the stream ended (the body is
 * complete or the connection closed) before one came, -1 on timeout.
 * Comments are counted on the way, not returned. */
int it_sse_next(struct it_sse *c, struct it_sse_event *ev, int timeout_ms);
void it_sse_event_free(struct it_sse_event *ev);

/* Reads (and decodes) until the server closes the connection: 1 when it
 * did within timeout_ms, 0 when not. Events that come are kept for
 * it_sse_next. */
int it_sse_wait_closed(struct it_sse *c, int timeout_ms);

/* Closes the connection and frees everything; c may be closed already. */
void it_sse_close(struct it_sse *c);

/* ---- JSON ------------------------------------------------------------- */

/* Parses JSON written with single quotes ('x' -> "x"); caller decrefs. */
json_t *it_js(const char *quoted);

/* The string member key of obj, or "" when there is none. */
const char *it_jstr(const json_t *obj, const char *key);

/* The version of an object document: "version" of a flat document or
 * properties.version of a Feature; 0 when there is none. */
int64_t it_version(const json_t *doc);

/* The error code of an error reply ({"error":{"code":...}}), or "". */
const char *it_err_code(const struct it_resp *r);
/* The error's field, or NULL. */
const char *it_err_field(const struct it_resp *r);

/* Checks the error shape of docs/api.md: {"error": {"code": string,
 * "message": non-empty string, "field"?: string, ...}} and the JSON
 * content type. Returns NULL when it holds, else what is wrong (static). */
const char *it_err_shape(const struct it_resp *r);

/* A short description of a reply for failure messages: "status: body"
 * (the body cut at 400 bytes). Static storage, valid until 4 further
 * calls. */
const char *it_show(const struct it_resp *r);

/* The collection names of docs/api.md ("parties" ... "areas") and the
 * object kind of each ("party" ... "area"), HV_PARTY order. */
#define IT_N_COLLECTIONS 7
extern const char *const it_collections[IT_N_COLLECTIONS];
extern const char *const it_kinds[IT_N_COLLECTIONS];

/* A new, valid document of collection coll (e.g. "zones", "movements")
 * with id, ready to POST: small geometries away from the scenario's places
 * (a movement: a convoy on a LineString of its own, in 2030). notified_by
 * names a site's or movement's notifying party (NULL: "ocha"). For
 * "positions", a batch (array) of one report of an sna helicopter with
 * asset id. Caller decrefs. */
json_t *it_new_doc(const char *coll, const char *id, const char *notified_by);

/* Sets the display member of a document (name; for a delineation, its
 * notes) to text, in properties for a Feature. */
void it_doc_rename(json_t *doc, const char *text);

/* Sets the version member of a document (properties.version for a
 * Feature). */
void it_doc_set_version(json_t *doc, int64_t version);

/*
 * A known deviation of the server from the contract, kept as a check but
 * not failing the suite: when cond (what the contract says) does not hold,
 * prints "KNOWN BUG (skipped): ..."; when it holds, prints "KNOWN BUG
 * FIXED: ..." so that the marking can be removed. Every use carries a
 * BUG comment saying what differs.
 */
#define IT_KNOWN_BUG(cond, ...)                                                \
  it_known_bug((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)
void it_known_bug(int holds, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Monotonic milliseconds. */
int64_t it_mono_ms(void);
/* Sleeps ms milliseconds. */
void it_sleep_ms(long ms);

#endif /* HAVEN_IT_HARNESS_H */
