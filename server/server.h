/*
 * server.h — the HTTP/JSON server of haven, as the `haven` command sees it:
 * its options, the call that runs it until SIGTERM or SIGINT, and the table
 * of the routes it serves (docs/api.md is the contract, docs/openapi.json
 * its machine-readable form).
 *
 * The server is built on libhaven's public API only (include/haven/).
 * Everything else in server/ is internal to it (server/internal.h).
 */
#ifndef HAVEN_SERVER_H
#define HAVEN_SERVER_H

#include <stddef.h>

#include <haven/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What `haven serve` was asked for. Strings are borrowed for the run. */
struct hv_server_options {
  const char *listen;          /* "ADDR:PORT": "127.0.0.1:8080", "[::1]:8080",
                                  ":8080" (every IPv4 address), "localhost:0";
                                  port 0 picks a free port (printed) */
  const char *data;            /* the data directory (hv_db_open) */
  unsigned threads;            /* libmicrohttpd thread pool size, >= 1 */
  size_t max_body;             /* request bodies above this get 413 */
  unsigned auth_fail_max;      /* failed authentications per address ... */
  unsigned auth_fail_window_s; /* ... within this many seconds -> 429 */
  unsigned grace_s;     /* on stop, how long requests in flight may take */
  size_t stream_buffer; /* bytes queued per alert stream before it is
                           dropped (GET /v1/alerts/stream) */
  unsigned stream_heartbeat_s; /* keepalive and token re-check period */
  unsigned max_streams;        /* alert streams open at once */
  unsigned check_rate;  /* deconfliction checks a party may make a minute */
  unsigned check_burst; /* ... and at once */
  const char *web;      /* the dashboard's built files (index.html, app.js,
                           ...), served at / and /ui/{file}; NULL: none
                           (/ answers 404 saying so) */
};

/* The defaults of docs/api.md: 127.0.0.1:8080, ./haven-data, 2 threads,
 * 1 MiB bodies, 10 failures per 60 s, 30 s of grace, alert streams of
 * 1 MiB with a heartbeat every 15 s, at most 64 of them; 60 checks a
 * minute per party, 20 at once. */
void hv_server_options_default(struct hv_server_options *o);

/*
 * Opens the store in o->data, listens on o->listen and serves docs/api.md
 * until SIGTERM or SIGINT arrives; then stops accepting, lets the requests
 * in flight finish (at most o->grace_s seconds), stops and closes the
 * store. Prints "haven: listening on http://ADDR:PORT" on standard output
 * once it accepts connections, and "haven: stopped" at the end.
 * Must be called from the main thread before any other thread exists: it
 * blocks SIGTERM and SIGINT in every thread and waits for them itself.
 * Returns HV_OK after a clean stop; on failure err says why: HV_EINVAL
 * (o->listen malformed or options out of range: threads 1-1024, max_body
 * >= 1, stream_buffer 4 KiB-1 GiB, stream_heartbeat_s 1-3600,
 * max_streams 1-100,000, check_rate 1-100,000, check_burst 1-100,000), HV_EIO
 * (cannot listen), or what hv_db_open returned.
 */
int hv_server_run(const struct hv_server_options *o, struct hv_error *err);

/* The routes served, in table order: n-th route's method ("GET") and path
 * pattern ("/v1/zones/{id}"). Static strings. hv_server_route returns 0
 * when i is out of range. */
size_t hv_server_route_count(void);
int hv_server_route(size_t i, const char **method, const char **path);

#ifdef __cplusplus
}
#endif
#endif
