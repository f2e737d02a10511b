/*
 * http.c — the server's life: libmicrohttpd set up in its epoll mode with a
 * pool of threads, each request's state from its first call of the access
 * handler to its completion, request bodies read up to the limit, replies
 * sent, denied requests logged, and the graceful stop on SIGTERM/SIGINT.
 *
 * A request goes through the access handler at least twice: once when its
 * headers have arrived, then once per piece of body, then once more when it
 * is complete. A request with a body is checked (route, credentials, role,
 * parameters, type, declared size: routes.c) at the first call, so that
 * nothing is read from a client that is refused: its error is sent at once
 * and libmicrohttpd drops the rest of the body and closes the connection.
 * A request without a body is checked and run at its last call, in one
 * critical section. A chunked body that grows past the limit is dropped as
 * it comes (libmicrohttpd cannot answer in the middle of an upload) and
 * answered 413 at its end; beyond DISCARD_MAX the connection is closed.
 *
 * One lock: struct hv_db is not thread-safe (haven/db.h), and the objects
 * it lends are valid only until its next write. So the check and the
 * handler of a request run with srv->db_lock held, from authentication to
 * the last use of a borrowed object; the reply document is then dumped to
 * text after the lock is released. That is safe because the reply owns
 * its JSON (views are copies; the parts they share with the registry's
 * documents are immutable and jansson >= 2.11 counts references
 * atomically). Reads thus wait for each other; snapshots will come when
 * the measurements ask for them. libhaven's pure functions (times, names
 * of codes and kinds) touch no db and are called without the lock.
 *
 * Stop: SIGTERM and SIGINT are blocked in every thread and taken by
 * sigwait() in the thread that called hv_server_run. Then: stop accepting
 * (MHD_quiesce_daemon), wait until the requests in flight are completed
 * (counted by the access handler and MHD_OPTION_NOTIFY_COMPLETED, at most
 * grace_s seconds), MHD_stop_daemon, close the store.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* A chunked body may be read past the limit (to answer 413 at its end) up
 * to this much; then the connection is closed without an answer. */
#define DISCARD_MAX (64u << 20)

static atomic_int stopping;

void hv_server_options_default(struct hv_server_options *o) {
  o->listen = "127.0.0.1:8080";
  o->data = "./haven-data";
  o->threads = 2;
  o->max_body = 1u << 20;
  o->auth_fail_max = 10;
  o->auth_fail_window_s = 60;
  o->grace_s = 30;
  o->stream_buffer = 1u << 20;
  o->stream_heartbeat_s = 15;
  o->max_streams = 64;
  o->check_rate = 60;
  o->check_burst = 20;
}

/* ---- requests -------------------------------------------------------------
 */

static void client_addr(struct MHD_Connection *conn, char *buf, size_t size) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  buf[0] = '\0';
  if (ci == NULL || ci->client_addr == NULL)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET,
              &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
              (socklen_t)size);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6,
              &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
              (socklen_t)size);
}

static struct hv__req *req_new(struct hv__srv *s, struct MHD_Connection *conn,
                               const char *url, const char *method) {
  struct hv__req *r = calloc(1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->srv = s;
  r->conn = conn;
  r->url = url;
  r->method_text = method;
  r->method = hv__method_parse(method);
  r->route_label = "unmatched";
  clock_gettime(CLOCK_MONOTONIC, &r->t0);
  r->t0_ms = hv_time_now_ms();
  client_addr(conn, r->addr, sizeof r->addr);
  r->content_length = -1;
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl) {
    char *end;
    errno = 0;
    long long n = strtoll(cl, &end, 10);
    if (errno == 0 && end != cl && *end == '\0' && n >= 0)
      r->content_length = n;
  }
  r->has_body = r->content_length > 0 ||
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                            MHD_HTTP_HEADER_TRANSFER_ENCODING);
  pthread_mutex_lock(&s->flight_lock);
  s->in_flight++;
  pthread_mutex_unlock(&s->flight_lock);
  return r;
}

static void req_free(struct hv__req *r) {
  hv__stream_free(r->stream);
  if (r->prep && r->prep_free)
    r->prep_free(r->prep);
  json_decref(r->json);
  if (r->text_owned)
    free((void *)r->text);
  free(r->body);
  free(r);
}

/* The path as it may go into the log: printable ASCII, shortened. */
static void log_safe(const char *in, char *out, size_t size) {
  size_t n = 0;
  for (; in && *in && n + 1 < size; in++)
    out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
  out[n] = '\0';
}

/* Logs a denied request on stderr: time, address, method, path, status,
 * reason (docs/api.md). One fprintf, so lines of threads do not mix. */
static void log_denied(const struct hv__req *r) {
  char t[32], method[16], path[256];
  hv_time_format(r->t0_ms, t, sizeof t);
  log_safe(r->method_text, method, sizeof method);
  log_safe(r->url, path, sizeof path);
  fprintf(stderr, "%s haven: denied %s %s %s %u %s\n", t,
          r->addr[0] ? r->addr : "-", method, path, r->status,
          r->deny[0] ? r->deny : "-");
}

/* Sends r's reply; records it in the metrics and the log. */
static enum MHD_Result respond(struct hv__req *r) {
  static const char OOM[] =
      "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
  const char *ct = "application/json";
  struct MHD_Response *resp = NULL;
  if (r->stream) {
    ct = "text/event-stream";
    resp = hv__stream_response(r->stream);
    if (resp)
      MHD_add_response_header(resp, "X-Accel-Buffering", "no");
  } else if (r->json) {
    char *text = json_dumps(r->json, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (text)
      resp = MHD_create_response_from_buffer(strlen(text), text,
                                             MHD_RESPMEM_MUST_FREE);
    if (text && resp == NULL)
      free(text);
  } else if (r->text) {
    ct = r->content_type ? r->content_type : "text/plain";
    resp = MHD_create_response_from_buffer(
        r->text_len, (void *)r->text,
        r->text_owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp)
      r->text_owned = 0; /* libmicrohttpd frees it now */
  }
  if (resp == NULL) {
    r->status = 500;
    ct = "application/json";
    resp = MHD_create_response_from_buffer(sizeof OOM - 1, (void *)OOM,
                                           MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
      return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  /* The dashboard and the API alike: types as declared, never framed, and
   * the page runs only its own scripts and talks only to this server. */
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data:; "
                          "style-src 'self' 'unsafe-inline'; "
                          "frame-ancestors 'none'");
  if (r->status == 405 && r->allow[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (r->status == 429 && r->retry_after[0])
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
  if (r->status == 401)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            "Bearer realm=\"haven\"");
  if (atomic_load(&stopping) || r->stream)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
  MHD_destroy_response(resp);
  if (r->status == 401 || r->status == 403 || r->status == 429)
    log_denied(r);
  hv__metrics_request(r->srv->metrics, r->route_label, r->method_text,
                      r->status, hv__elapsed_s(&r->t0));
  return ret;
}

/* Appends a piece of body, or drops it past the limit. Returns 0 when the
 * connection must be closed. */
static int take_body(struct hv__req *r, const char *data, size_t n) {
  size_t max = r->srv->opt.max_body;
  if (r->too_large || n > max - r->len) {
    if (!r->too_large) {
      r->too_large = 1;
      r->discarded = r->len;
      free(r->body);
      r->body = NULL;
      r->len = r->cap = 0;
    }
    r->discarded += n;
    return r->discarded <= DISCARD_MAX;
  }
  if (r->len + n + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    if (r->content_length > 0 && (size_t)r->content_length < max)
      cap = (size_t)r->content_length + 1;
    while (cap < r->len + n + 1)
      cap *= 2;
    if (cap > max + 1)
      cap = max + 1;
    char *b = realloc(r->body, cap);
    if (b == NULL)
      return 0;
    r->body = b;
    r->cap = cap;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
  r->body[r->len] = '\0';
  return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  struct hv__srv *s = cls;
  struct hv__req *r = *con_cls;
  (void)version;
  if (r == NULL) {
    r = req_new(s, conn, url, method);
    if (r == NULL)
      return MHD_NO;
    *con_cls = r;
    if (!r->has_body)
      return MHD_YES; /* checked and run at the last call */
    pthread_mutex_lock(&s->db_lock);
    int ok = hv__request_check(r);
    pthread_mutex_unlock(&s->db_lock);
    if (!ok)
      return respond(r);
    r->recheck = 1;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    size_t n = *upload_size;
    *upload_size = 0;
    return take_body(r, upload, n) ? MHD_YES : MHD_NO;
  }
  if (r->too_large) {
    hv__fail(r, 413, "too_large", NULL,
             "the body has more than %zu bytes (the limit)", s->opt.max_body);
    return respond(r);
  }
  if (r->checked && r->route->prep) {
    /* Parsing needs no db: done here, several requests at a time. */
    r->route->prep(r);
    if (r->json || r->text)
      return respond(r);
  }
  pthread_mutex_lock(&s->db_lock);
  if (r->checked || hv__request_check(r))
    hv__request_run(r);
  pthread_mutex_unlock(&s->db_lock);
  return respond(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct hv__srv *s = cls;
  (void)conn, (void)toe;
  if (*con_cls == NULL)
    return;
  req_free(*con_cls);
  *con_cls = NULL;
  pthread_mutex_lock(&s->flight_lock);
  if (--s->in_flight == 0)
    pthread_cond_broadcast(&s->flight_done);
  pthread_mutex_unlock(&s->flight_lock);
}

/* ---- listening ------------------------------------------------------------
 */

/* Resolves "ADDR:PORT" ("[v6]:PORT", ":PORT" = every IPv4 address). */
static int parse_listen(const char *text, struct sockaddr_storage *ss,
                        struct hv_error *err) {
  char host[256];
  const char *colon = strrchr(text, ':');
  const char *h = text;
  size_t hn;
  if (colon == NULL)
    return hv_error_set(err, HV_EINVAL,
                        "--listen: \"%s\" is not ADDR:PORT (127.0.0.1:8080)",
                        text);
  hn = (size_t)(colon - text);
  if (hn >= 2 && text[0] == '[' && text[hn - 1] == ']') {
    h++;
    hn -= 2;
  }
  if (hn >= sizeof host)
    return hv_error_set(err, HV_EINVAL, "--listen: address too long");
  memcpy(host, h, hn);
  host[hn] = '\0';
  const char *port = colon + 1;
  char *end;
  errno = 0;
  long p = strtol(port, &end, 10);
  if (*port == '\0' || errno || *end != '\0' || p < 0 || p > 65535)
    return hv_error_set(err, HV_EINVAL,
                        "--listen: \"%s\" is not a port (0-65535)", port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = hn ? AF_UNSPEC : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(hn ? host : NULL, port, &hints, &res);
  if (gai != 0 || res == NULL)
    return hv_error_set(err, HV_EINVAL, "--listen: %s: %s", text,
                        gai ? gai_strerror(gai) : "no address");
  memset(ss, 0, sizeof *ss);
  memcpy(ss, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return HV_OK;
}

/* "http://127.0.0.1:8080" of the bound address. */
static void url_of(const struct sockaddr_storage *ss, unsigned port, char *buf,
                   size_t size) {
  char a[INET6_ADDRSTRLEN] = "?";
  if (ss->ss_family == AF_INET6) {
    inet_ntop(AF_INET6,
              &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, a,
              sizeof a);
    snprintf(buf, size, "http://[%s]:%u", a, port);
  } else {
    inet_ntop(AF_INET,
              &((const struct sockaddr_in *)(const void *)ss)->sin_addr, a,
              sizeof a);
    snprintf(buf, size, "http://%s:%u", a, port);
  }
}

static void on_signal(int sig) { (void)sig; }

int hv_server_run(const struct hv_server_options *o, struct hv_error *err) {
  struct hv__srv s;
  struct sockaddr_storage ss;
  struct MHD_Daemon *d = NULL;
  MHD_socket listen_fd = MHD_INVALID_SOCKET;
  int rc;
  memset(&s, 0, sizeof s);
  s.opt = *o;
  if (o->threads < 1 || o->threads > 1024 || o->max_body < 1)
    return hv_error_set(err, HV_EINVAL,
                        "--threads must be 1-1024 and --max-body >= 1");
  if (o->stream_buffer < 4096 || o->stream_buffer > (1u << 30) ||
      o->stream_heartbeat_s < 1 || o->stream_heartbeat_s > 3600 ||
      o->max_streams < 1 || o->max_streams > 100000 || o->check_rate < 1 ||
      o->check_rate > 100000 || o->check_burst < 1 || o->check_burst > 100000)
    return hv_error_set(err, HV_EINVAL,
                        "--stream-buffer must be 4096-1073741824, "
                        "--stream-heartbeat 1-3600, --max-streams, "
                        "--check-rate and --check-burst 1-100000");
  if ((rc = parse_listen(o->listen, &ss, err)) != HV_OK)
    return rc;

  /* Signals first: every thread made from here on inherits the mask, so
   * SIGTERM and SIGINT reach only sigwait() below. A handler (that does
   * nothing) replaces an inherited SIG_IGN, which would discard them. */
  sigset_t set, old_mask;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old_mask);
  struct sigaction sa, old_int, old_term, old_pipe;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &old_pipe);
  atomic_store(&stopping, 0);

  json_object_seed(0); /* before threads: jansson seeds its hash once */
  pthread_mutex_init(&s.db_lock, NULL);
  pthread_mutex_init(&s.flight_lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s.flight_done, &ca);
  pthread_condattr_destroy(&ca);

  /* The recorded adjudications and reviews now, not at a first request
   * that holds the db lock (and so that a failure stops the start). */
  if ((rc = hv_db_open(o->data, &s.db, err)) != HV_OK ||
      (rc = hv_db_records_load(s.db, err)) != HV_OK)
    goto done;
  if ((rc = hv_tracks_new(s.db, &s.tracks)) != HV_OK) {
    hv_error_set(err, rc, "out of memory");
    goto done;
  }
  if ((rc = hv__metrics_new(&s.metrics)) != HV_OK ||
      (rc = hv__alerts_new(o, &s.alerts)) != HV_OK ||
      (rc = hv_checker_new(s.db, &s.checker)) != HV_OK ||
      (rc = hv_probe_new(NULL, &s.probe, NULL)) != HV_OK ||
      (rc = hv__buckets_new(o->check_rate, o->check_burst, &s.check_buckets)) !=
          HV_OK ||
      (rc = hv__ratelimit_new(o->auth_fail_max,
                              (int64_t)o->auth_fail_window_s * 1000,
                              &s.limiter)) != HV_OK) {
    hv_error_set(err, rc, "out of memory");
    goto done;
  }

  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                   MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                   (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
  d = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, &s, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
  if (d == NULL) {
    rc = hv_error_set(err, HV_EIO,
                      "cannot listen on %s (address in use or not local?)",
                      o->listen);
    goto done;
  }
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  char url[128];
  url_of(&ss, di ? di->port : 0, url, sizeof url);
  printf("haven: listening on %s\n", url);
  fflush(stdout);

  int sig = 0;
  while (sigwait(&set, &sig) != 0)
    ;
  fprintf(stderr, "haven: %s: stopping (requests in flight finish first)\n",
          sig == SIGINT ? "SIGINT" : "SIGTERM");
  atomic_store(&stopping, 1);
  listen_fd = MHD_quiesce_daemon(d);
  /* The socket must stay open until MHD_stop_daemon (a thread may still
   * hold it), but it need not listen: on Linux shutdown() makes the kernel
   * refuse new connections at once instead of queueing them unanswered. */
  if (listen_fd != MHD_INVALID_SOCKET)
    shutdown(listen_fd, SHUT_RDWR);
  /* Streams would hold the stop for the whole grace: close them now. */
  hv__alerts_close_all(s.alerts);

  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += o->grace_s;
  pthread_mutex_lock(&s.flight_lock);
  while (s.in_flight > 0)
    if (pthread_cond_timedwait(&s.flight_done, &s.flight_lock, &deadline) ==
        ETIMEDOUT)
      break;
  unsigned left = s.in_flight;
  pthread_mutex_unlock(&s.flight_lock);
  if (left)
    fprintf(stderr, "haven: %u requests still in flight after %u s: cut\n",
            left, o->grace_s);
  rc = HV_OK;

done:
  if (d) {
    MHD_stop_daemon(d);
    if (listen_fd != MHD_INVALID_SOCKET)
      close(listen_fd);
  }
  hv__alerts_free(s.alerts);
  hv_checker_free(s.checker);
  hv_probe_free(s.probe);
  hv__buckets_free(s.check_buckets);
  hv_tracks_free(s.tracks);
  hv_db_close(s.db);
  hv__metrics_free(s.metrics);
  hv__ratelimit_free(s.limiter);
  pthread_cond_destroy(&s.flight_done);
  pthread_mutex_destroy(&s.flight_lock);
  pthread_mutex_destroy(&s.db_lock);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  if (d) {
    printf("haven: stopped\n");
    fflush(stdout);
  }
  return rc;
}
