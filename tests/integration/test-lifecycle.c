/*
 * test-lifecycle.c — stopping `haven serve`, gently and brutally, on the
 * bundled scenario.
 *
 * 1. Graceful stop with requests in flight. Six clients ask for every
 *    administrative area (/v1/areas, ~700 kB) with a small receive buffer
 *    and stop reading after the first bytes; four do the same with ledger
 *    pages; four create objects with "Expect: 100-continue" and, once the
 *    server answered "100 Continue" (it has taken the request), send half
 *    of the body and stop (two with Content-Length, two chunked). Then
 *    SIGTERM. The server must stay up while those requests are unfinished
 *    and take no new connection; once the clients go on, every one of the
 *    fourteen gets its whole reply (200 or 201, JSON that parses, every
 *    item). Then it exits 0, prints "haven:
 *    stopped", `haven ledger verify` passes, and the four objects are
 *    there after a restart.
 * 2. kill -9 during writes, in rounds (at least 5, HAVEN_KILL_ROUNDS to
 *    change): four clients create parties and sites as fast as the server
 *    takes them, each 201 noted; at a pseudo-random moment (seed printed;
 *    HAVEN_TEST_SEED to repeat) the server gets SIGKILL. Restarted on the
 *    same data, every acknowledged object of every round so far is there
 *    with its content, and the ledger verifies (over HTTP, and with the
 *    command once the last server stopped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <haven/haven.h>

#include "harness.h"

static struct {
  char work[1024], data[1100];
  char coord[64];
  char auth[128]; /* "Authorization: Bearer <coord>" */
} g;

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "lifecycle");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, id);
  snprintf(g.auth, sizeof g.auth, "Authorization: Bearer %s", g.coord);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  curl_global_cleanup();
  return 0;
}

/* ---- a transfer of a curl multi set ---------------------------------- */

struct xfer {
  CURL *h;
  struct curl_slist *hdrs;
  char url[512];
  char *body;        /* request body (owned), NULL for GET */
  struct it_buf out; /* reply body */
  int hold;          /* 1: stop reading after the first bytes */
  int held;          /* the transfer is paused */
  int sent;          /* the request headers went out */
  int continued;     /* the server answered "100 Continue" */
  size_t sent_body;  /* bytes of a slow upload's body sent */
  int done;          /* finished (result, status) */
  CURLcode result;
  long status;
  char kind[16], id[64]; /* what a write creates */
};

static int g_hold_all = 1; /* holding transfers stay paused while set */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  struct xfer *x = ud;
  size_t n = size * nmemb;
  if (x->hold && g_hold_all && x->out.len > 0) {
    x->held = 1;
    return CURL_WRITEFUNC_PAUSE;
  }
  return it_buf_add(&x->out, data, n);
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size,
                    void *ud) {
  (void)h;
  (void)data;
  (void)size;
  struct xfer *x = ud;
  if (type == CURLINFO_HEADER_OUT)
    x->sent = 1;
  /* "HTTP/1.1 100 Continue": the server has read the request's headers and
   * called its handler — the request is in flight there. */
  if (type == CURLINFO_HEADER_IN && size > 12 &&
      memcmp(data, "HTTP/1.1 100", 12) == 0)
    x->continued = 1;
  return 0;
}

/* A receive buffer of 4 kB: the server cannot push the whole reply into
 * the client's socket, it has to wait for the client to read. */
static int small_rcvbuf(void *ud, curl_socket_t fd, curlsocktype purpose) {
  (void)ud;
  (void)purpose;
  int size = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return CURL_SOCKOPT_OK;
}

/* Prepares x: GET (body NULL) or POST of body (taken) to base + path. */
static void xfer_init(struct xfer *x, const char *base, const char *path,
                      char *body, int hold) {
  memset(x, 0, sizeof *x);
  snprintf(x->url, sizeof x->url, "%s%s", base, path);
  x->h = curl_easy_init();
  assert_non_null(x->h);
  x->body = body;
  x->hold = hold;
  x->hdrs = curl_slist_append(NULL, g.auth);
  curl_easy_setopt(x->h, CURLOPT_URL, x->url);
  curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(x->h, CURLOPT_DEBUGFUNCTION, on_debug);
  curl_easy_setopt(x->h, CURLOPT_DEBUGDATA, x);
  curl_easy_setopt(x->h, CURLOPT_VERBOSE, 1L);
  curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(x->h, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
  if (hold) {
    curl_easy_setopt(x->h, CURLOPT_SOCKOPTFUNCTION, small_rcvbuf);
    curl_easy_setopt(x->h, CURLOPT_BUFFERSIZE, 4096L);
  }
  if (body) {
    x->hdrs = curl_slist_append(x->hdrs, "Content-Type: application/json");
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, body);
  }
  curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
}

static void xfer_free(struct xfer *x) {
  if (x->h)
    curl_easy_cleanup(x->h);
  curl_slist_free_all(x->hdrs);
  free(x->body);
  free(x->out.p);
  memset(x, 0, sizeof *x);
}

/* The next finished transfer of the multi set, marked done (result,
 * status) and taken out of the set; NULL when none has finished. */
static struct xfer *next_done(CURLM *m) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(m, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    struct xfer *x;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    x->done = 1;
    x->result = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &x->status);
    curl_multi_remove_handle(m, msg->easy_handle);
    return x;
  }
  return NULL;
}

/* Runs the multi set for up to ms milliseconds, marking finished
 * transfers; returns the number still running. */
static int drive(CURLM *m, long ms) {
  int64_t end = it_mono_ms() + ms;
  int running = 0;
  do {
    curl_multi_perform(m, &running);
    while (next_done(m) != NULL)
      continue;
    if (running == 0)
      break;
    int64_t left_ms = end - it_mono_ms();
    curl_multi_poll(m, NULL, 0,
                    left_ms > 20 ? 20 : (int)(left_ms > 0 ? left_ms : 0), NULL);
  } while (it_mono_ms() < end);
  return running;
}

/* ---- 1. graceful stop ---------------------------------------------------- */

/* Transfers of the graceful stop: held big replies, held ledger pages,
 * slow uploads (requests the server took — it answered "100 Continue" —
 * whose body the client has only half sent: in flight in the server
 * whatever the socket buffers), and one made after SIGTERM. */
#define N_HOLD 6
#define N_LEDGER 4
#define N_UPLOAD 4
#define I_LEDGER N_HOLD
#define I_UPLOAD (N_HOLD + N_LEDGER)
#define I_LATE (I_UPLOAD + N_UPLOAD)
#define N_XFER (I_LATE + 1)

/* The body of a slow upload: half of it, then a pause while g_hold_all. */
static size_t on_upload(char *buf, size_t size, size_t nitems, void *ud) {
  struct xfer *x = ud;
  size_t total = strlen(x->body), half = total / 2;
  size_t limit = g_hold_all ? half : total;
  if (x->sent_body >= limit) {
    if (x->sent_body >= total)
      return 0;
    x->held = 1;
    return CURL_READFUNC_PAUSE;
  }
  size_t n = size * nitems;
  if (n > limit - x->sent_body)
    n = limit - x->sent_body;
  memcpy(buf, x->body + x->sent_body, n);
  x->sent_body += n;
  return n;
}

/* Turns x (made by xfer_init with a body) into a slow upload, with
 * chunked transfer coding or a Content-Length. */
static void make_slow(struct xfer *x, int chunked) {
  curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, NULL);
  curl_easy_setopt(x->h, CURLOPT_POST, 1L);
  curl_easy_setopt(x->h, CURLOPT_READFUNCTION, on_upload);
  curl_easy_setopt(x->h, CURLOPT_READDATA, x);
  if (chunked)
    x->hdrs = curl_slist_append(x->hdrs, "Transfer-Encoding: chunked");
  else
    curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)strlen(x->body));
  /* Expect: 100-continue, and wait for the 100 as long as it takes: it
   * proves the server took the request (xfer_init disabled Expect). */
  struct curl_slist *h = NULL;
  for (struct curl_slist *p = x->hdrs; p; p = p->next)
    if (strcmp(p->data, "Expect:") != 0)
      h = curl_slist_append(h, p->data);
  h = curl_slist_append(h, "Expect: 100-continue");
  curl_slist_free_all(x->hdrs);
  x->hdrs = h;
  curl_easy_setopt(x->h, CURLOPT_EXPECT_100_TIMEOUT_MS, 120000L);
  curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
}

/* Drives m until cond(x) holds for transfers [from, to) or 60 s pass. */
static void drive_until(CURLM *m, struct xfer *x, int from, int to,
                        int (*cond)(const struct xfer *), const char *what) {
  int64_t deadline = it_mono_ms() + 60000;
  for (;;) {
    drive(m, 10);
    int ok = 0;
    for (int i = from; i < to; i++) {
      ok += cond(&x[i]);
      if (x[i].done)
        fail_msg("%s: transfer %d (%s) finished early: %s, status %ld", what, i,
                 x[i].url, curl_easy_strerror(x[i].result), x[i].status);
    }
    if (ok == to - from)
      return;
    if (it_mono_ms() > deadline)
      fail_msg("%s: %d of %d within 60 s", what, ok, to - from);
  }
}

static int is_held(const struct xfer *x) { return x->held; }
static int is_taken(const struct xfer *x) { return x->continued && x->held; }

static void test_graceful_stop(void **state) {
  (void)state;
  struct it_server srv;
  it_server_start(&srv, g.data, g.work, NULL);
  struct it_resp r;
  assert_int_equal(it_get(&srv, g.coord, "/v1/areas?limit=1", &r), 200);
  json_int_t areas = json_integer_value(json_object_get(r.json, "total"));
  it_resp_free(&r);
  it_http_cleanup(); /* no idle connection of ours to hold the stop */
  assert_true(areas >= 14);

  CURLM *m = curl_multi_init();
  struct xfer x[N_XFER];
  memset(x, 0, sizeof x);
  g_hold_all = 1;
  /* Big replies, the client reading only their first bytes. */
  for (int i = 0; i < N_HOLD; i++) {
    xfer_init(&x[i], srv.base, "/v1/areas?limit=1000", NULL, 1);
    curl_multi_add_handle(m, x[i].h);
  }
  drive_until(m, x, 0, N_HOLD, is_held, "big replies begun");
  /* Ledger pages (with the areas' bodies: ~1.5 MB), held the same way. */
  for (int i = I_LEDGER; i < I_LEDGER + N_LEDGER; i++) {
    char path[64];
    snprintf(path, sizeof path, "/v1/ledger?from=%d&limit=1000",
             1 + 20 * (i - I_LEDGER));
    xfer_init(&x[i], srv.base, path, NULL, 1);
    curl_multi_add_handle(m, x[i].h);
  }
  drive_until(m, x, I_LEDGER, I_LEDGER + N_LEDGER, is_held,
              "ledger replies begun");
  /* Writes whose body is half sent. */
  for (int i = I_UPLOAD; i < I_UPLOAD + N_UPLOAD; i++) {
    char id[32];
    snprintf(id, sizeof id, "stop-%d", i - I_UPLOAD);
    const char *coll = i % 2 ? "sites" : "parties";
    json_t *doc = it_new_doc(coll, id, NULL);
    char path[32];
    snprintf(path, sizeof path, "/v1/%s", coll);
    xfer_init(&x[i], srv.base, path, json_dumps(doc, JSON_COMPACT), 0);
    json_decref(doc);
    snprintf(x[i].kind, sizeof x[i].kind, "%s", coll);
    snprintf(x[i].id, sizeof x[i].id, "%s", id);
    make_slow(&x[i], i >= I_UPLOAD + 2);
    curl_multi_add_handle(m, x[i].h);
  }
  drive_until(m, x, I_UPLOAD, I_UPLOAD + N_UPLOAD, is_taken,
              "uploads taken (100 Continue) and half sent");
  drive(m, 100);

  assert_int_equal(kill(srv.pid, SIGTERM), 0);
  int64_t t_term = it_mono_ms();
  /* The uploads are unfinished: the server must wait for them. */
  drive(m, 500);
  if (!it_server_alive(&srv))
    fail_msg("the server exited (status %d) %lld ms after SIGTERM with %d "
             "requests half received",
             srv.exit_status, (long long)(it_mono_ms() - t_term), N_UPLOAD);
  /* A request made now, on a new connection, is not served. (One on a
   * connection opened before may be: the server drains those.) */
  xfer_init(&x[I_LATE], srv.base, "/v1/parties/sna", NULL, 0);
  curl_easy_setopt(x[I_LATE].h, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(x[I_LATE].h, CURLOPT_FORBID_REUSE, 1L);
  curl_multi_add_handle(m, x[I_LATE].h);
  drive(m, 200);

  /* The clients go on: every request started gets its whole reply. */
  g_hold_all = 0;
  for (int i = 0; i < I_LATE; i++)
    if (x[i].held)
      curl_easy_pause(x[i].h, CURLPAUSE_CONT);
  int64_t deadline = it_mono_ms() + 90000;
  for (;;) {
    drive(m, 100);
    int done = 0;
    for (int i = 0; i < I_LATE; i++)
      done += x[i].done;
    if (done == I_LATE || it_mono_ms() > deadline)
      break;
  }
  for (int i = 0; i < I_LATE; i++) {
    long want = i >= I_UPLOAD ? 201 : 200;
    if (!x[i].done || x[i].result != CURLE_OK || x[i].status != want)
      fail_msg("request %d (%s) started before the stop: %s, status %ld, "
               "%zu bytes: %.300s",
               i, x[i].url,
               x[i].done ? curl_easy_strerror(x[i].result) : "not finished",
               x[i].status, x[i].out.len, x[i].out.p ? x[i].out.p : "");
    json_error_t jerr;
    json_t *j = json_loadb(x[i].out.p, x[i].out.len, 0, &jerr);
    if (j == NULL)
      fail_msg("request %d (%s): the reply (%zu bytes) is not whole JSON: "
               "%s",
               i, x[i].url, x[i].out.len, jerr.text);
    size_t n = json_array_size(json_object_get(j, "items"));
    if (i < I_LEDGER ? n != (size_t)areas : i < I_UPLOAD ? n == 0 : 0)
      fail_msg("request %d (%s): %zu items", i, x[i].url, n);
    if (i >= I_UPLOAD && strcmp(it_jstr(j, "id"), x[i].id) != 0)
      fail_msg("request %d (%s): the reply is not %s", i, x[i].url, x[i].id);
    json_decref(j);
  }

  int rc = it_server_stop(&srv); /* waits; the process is already ending */
  assert_int_equal(rc, 0);
  char *out = it_read_file(srv.out_path, NULL);
  assert_non_null(out);
  if (strstr(out, "haven: stopped") == NULL)
    fail_msg("no \"haven: stopped\" on standard output: %s", out);
  free(out);
  /* The late request ended with the process, unserved. */
  drive(m, 5000);
  struct xfer *late = &x[I_LATE];
  if (!late->done || (late->result == CURLE_OK && late->status == 200))
    fail_msg("the request made after SIGTERM: %s, status %ld",
             late->done ? curl_easy_strerror(late->result) : "not finished",
             late->status);
  assert_int_equal(it_ledger_verify_cli(g.data, g.work), 0);

  /* What the uploads wrote is kept. */
  it_server_restart(&srv, NULL);
  for (int i = I_UPLOAD; i < I_UPLOAD + N_UPLOAD; i++) {
    char path[128];
    snprintf(path, sizeof path, "/v1/%s/%s", x[i].kind, x[i].id);
    if (it_get(&srv, g.coord, path, &r) != 200)
      fail_msg("GET %s after the restart: %s", path, it_show(&r));
    it_resp_free(&r);
  }
  it_http_cleanup();
  assert_int_equal(it_server_stop(&srv), 0);
  for (int i = 0; i < N_XFER; i++) {
    if (x[i].h && !x[i].done)
      curl_multi_remove_handle(m, x[i].h);
    xfer_free(&x[i]);
  }
  curl_multi_cleanup(m);
}

/* ---- 2. kill -9 during writes ------------------------------------------ */

#define N_WRITERS 4

/* xorshift32, seeded once. */
static uint32_t g_rng;
static uint32_t next_rand(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 17;
  g_rng ^= g_rng << 5;
  return g_rng;
}

/* Acknowledged objects of every round. */
struct acked {
  char kind[16], id[64];
};
static struct acked *g_acked;
static size_t g_n_acked, g_cap_acked;

static void note_acked(const struct xfer *x) {
  if (g_n_acked == g_cap_acked) {
    g_cap_acked = g_cap_acked ? 2 * g_cap_acked : 256;
    g_acked = realloc(g_acked, g_cap_acked * sizeof *g_acked);
    assert_non_null(g_acked);
  }
  struct acked *a = &g_acked[g_n_acked++];
  snprintf(a->kind, sizeof a->kind, "%s", x->kind);
  snprintf(a->id, sizeof a->id, "%s", x->id);
}

/* Starts the next write of writer x: a party or a site, new id. */
static void next_write(CURLM *m, struct xfer *x, const char *base, int round,
                       unsigned *n) {
  xfer_free(x);
  unsigned k = (*n)++;
  char id[64];
  snprintf(id, sizeof id, "k%d-%u", round, k);
  const char *coll = k % 2 ? "sites" : "parties";
  json_t *doc = it_new_doc(coll, id, "ocha");
  char *body = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  char path[32];
  snprintf(path, sizeof path, "/v1/%s", coll);
  xfer_init(x, base, path, body, 0);
  snprintf(x->kind, sizeof x->kind, "%s", coll);
  snprintf(x->id, sizeof x->id, "%s", id);
  curl_multi_add_handle(m, x->h);
}

/* Checks every acknowledged object is served with its content. */
static void check_acked(struct it_server *srv, int round) {
  for (size_t i = 0; i < g_n_acked; i++) {
    char path[128];
    snprintf(path, sizeof path, "/v1/%s/%s", g_acked[i].kind, g_acked[i].id);
    struct it_resp r;
    it_get(srv, g.coord, path, &r);
    if (r.status != 200)
      fail_msg("round %d: acknowledged %s is lost: GET %s: %s", round,
               g_acked[i].id, path, it_show(&r));
    char want[128];
    snprintf(want, sizeof want, "Integration test %s", g_acked[i].id);
    json_t *props = json_object_get(r.json, "properties");
    const char *name = it_jstr(props ? props : r.json, "name");
    if (strcmp(name, want) != 0)
      fail_msg("round %d: %s has name \"%s\"", round, path, name);
    it_resp_free(&r);
  }
  struct it_resp r;
  assert_int_equal(it_get(srv, g.coord, "/v1/ledger/verify", &r), 200);
  if (!json_is_true(json_object_get(r.json, "ok")))
    fail_msg("round %d: the ledger does not verify: %s", round, it_show(&r));
  it_resp_free(&r);
}

static void test_kill9(void **state) {
  (void)state;
  const char *seed_env = getenv("HAVEN_TEST_SEED");
  g_rng = seed_env ? (uint32_t)strtoul(seed_env, NULL, 10)
                   : (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
  if (g_rng == 0)
    g_rng = 1;
  print_message("kill -9 rounds: seed %u (HAVEN_TEST_SEED to repeat)\n", g_rng);
  const char *rounds_env = getenv("HAVEN_KILL_ROUNDS");
  int rounds = rounds_env ? (int)strtol(rounds_env, NULL, 10) : 6;
  if (rounds < 5)
    rounds = 5;

  struct it_server srv;
  it_server_start(&srv, g.data, g.work, NULL);
  for (int round = 1; round <= rounds; round++) {
    CURLM *m = curl_multi_init();
    struct xfer x[N_WRITERS];
    memset(x, 0, sizeof x);
    unsigned n = 0;
    for (int i = 0; i < N_WRITERS; i++)
      next_write(m, &x[i], srv.base, round, &n);
    /* The kill comes 20-420 ms after the first acknowledgement. */
    long delay = 20 + (long)(next_rand() % 400);
    int64_t kill_at = -1, deadline = it_mono_ms() + 60000;
    size_t acked_before = g_n_acked;
    int killed = 0;
    while (!killed) {
      int running = 0;
      curl_multi_perform(m, &running);
      struct xfer *w;
      while ((w = next_done(m)) != NULL) {
        if (w->result != CURLE_OK || w->status != 201)
          fail_msg("round %d: POST %s %s before the kill: %s, status %ld: "
                   "%.300s",
                   round, w->kind, w->id, curl_easy_strerror(w->result),
                   w->status, w->out.p ? w->out.p : "");
        note_acked(w);
        if (kill_at < 0)
          kill_at = it_mono_ms() + delay;
        next_write(m, w, srv.base, round, &n);
      }
      if (kill_at >= 0 && it_mono_ms() >= kill_at) {
        it_server_kill(&srv);
        killed = 1;
        break;
      }
      if (it_mono_ms() > deadline)
        fail_msg("round %d: no write acknowledged within 60 s", round);
      curl_multi_poll(m, NULL, 0, 2, NULL);
    }
    /* Writes in flight at the kill end one way or the other; a reply that
     * came whole before the connection broke is an acknowledgement too. */
    drive(m, 10000);
    for (int i = 0; i < N_WRITERS; i++) {
      if (x[i].done && x[i].result == CURLE_OK && x[i].status == 201)
        note_acked(&x[i]);
      if (x[i].h && !x[i].done)
        curl_multi_remove_handle(m, x[i].h);
      xfer_free(&x[i]);
    }
    curl_multi_cleanup(m);
    print_message("round %d: killed %ld ms after the first of %zu "
                  "acknowledged writes\n",
                  round, delay, g_n_acked - acked_before);
    assert_true(g_n_acked > acked_before);

    it_server_restart(&srv, NULL);
    check_acked(&srv, round);
    it_http_cleanup();
  }
  assert_int_equal(it_server_stop(&srv), 0);
  assert_int_equal(it_ledger_verify_cli(g.data, g.work), 0);
  free(g_acked);
  g_acked = NULL;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_graceful_stop),
      cmocka_unit_test(test_kill9),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  it_http_cleanup();
  if (failed == 0)
    it_rm_tree(g.work);
  return failed;
}
