/*
 * harness.c — the helpers of the integration tests (see harness.h): server
 * processes, the scenario, tokens, an HTTP client, a Server-Sent Events
 * client on a raw socket and JSON helpers.
 *
 * Built into the library haven_itharness, linked to every
 * tests/integration/test-*. Each test program is one process, single
 * threaded; libcurl's easy handles are cached per local address so that
 * requests reuse their connection (as a real client does).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* prctl (CMake defines it for the build) */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include <haven/auth.h>
#include <haven/haven.h>

/* The unit tests' helpers (haven_testutil, linked in) serve here too. */
#include "../unit/testutil.h"
#include "harness.h"

/* ---- files and processes ---------------------------------------------- */

const char *it_env(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0')
    fail_msg("environment variable %s is not set (run through ctest)", name);
  return v;
}

const char *it_path(char *buf, size_t size, const char *dir, const char *name) {
  return tu_path_in(buf, size, dir, name);
}

void it_rm_tree(const char *path) { tu_rm_tree(path); }

void it_workdir(char *buf, size_t size, const char *name) {
  int n = snprintf(buf, size, "%s/%s-%ld", it_env("HAVEN_SCRATCH_DIR"), name,
                   (long)getpid());
  if (n < 0 || (size_t)n >= size)
    fail_msg("scratch path too long");
  it_rm_tree(buf);
  if (mkdir(buf, 0750) != 0)
    fail_msg("cannot make %s: %s", buf, strerror(errno));
}

char *it_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      char *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf == NULL)
    return NULL;
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

/* Opens path for the child's output (truncated), or /dev/null. */
static int open_out(const char *path) {
  return open(path ? path : "/dev/null",
              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
}

/* Forks and executes argv with its output in out/err; the child dies with
 * the test process (PR_SET_PDEATHSIG). Returns the child's pid. */
static pid_t spawn(const char *const argv[], const char *out_path,
                   const char *err_path) {
  int out = open_out(out_path), err = open_out(err_path);
  if (out < 0 || err < 0)
    fail_msg("cannot open %s or %s: %s", out_path ? out_path : "/dev/null",
             err_path ? err_path : "/dev/null", strerror(errno));
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0) {
    /* Only async-signal-safe calls from here to exec. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(out);
  close(err);
  return pid;
}

/* The it_run form of a wait status. */
static int exit_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

int it_run(const char *const argv[], const char *out_path,
           const char *err_path) {
  pid_t pid = spawn(argv, out_path, err_path);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      fail_msg("waitpid: %s", strerror(errno));
  }
  return exit_code(status);
}

/* Imports, in one transaction as scripts/demo does: the registry of
 * data/scenario, what mkscenario wrote (its .geojson files in name order),
 * and the corridors of data/scenario. */
void it_scenario(const char *workdir, const char *data) {
  char scen[1100], log[1100], src[1100], pattern[1200];
  const char *source = it_env("HAVEN_SOURCE_DIR");
  it_path(scen, sizeof scen, workdir, "scenario");
  it_path(log, sizeof log, workdir, "mkscenario.log");
  it_path(src, sizeof src, source, "data/src");
  const char *argv[] = {it_env("HAVEN_MKSCENARIO"), src, scen, NULL};
  int rc = it_run(argv, log, log);
  if (rc != 0)
    fail_msg("mkscenario failed (exit %d), see %s", rc, log);

  it_path(pattern, sizeof pattern, scen, "*.geojson");
  glob_t g;
  if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0)
    fail_msg("mkscenario wrote no .geojson into %s", scen);
  char registry[1100], corridors[1100];
  it_path(registry, sizeof registry, source, "data/scenario/registry.json");
  it_path(corridors, sizeof corridors, source,
          "data/scenario/corridors.geojson");
  const char **paths = calloc(g.gl_pathc + 2, sizeof *paths);
  assert_non_null(paths);
  size_t n = 0;
  paths[n++] = registry;
  for (size_t i = 0; i < g.gl_pathc; i++)
    paths[n++] = g.gl_pathv[i];
  paths[n++] = corridors;

  struct hv_db *db = NULL;
  struct hv_error err = {0};
  rc = hv_db_open(data, &db, &err);
  if (rc == HV_OK)
    rc = hv_db_import(db, HV_COORDINATOR, paths, n, NULL, NULL, NULL, &err);
  hv_db_close(db);
  free(paths);
  globfree(&g);
  if (rc != HV_OK)
    fail_msg("importing the scenario into %s: %s", data, err.msg);
}

void it_token_create(const char *data, const char *party, const char *role,
                     char text[64], char id[16]) {
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  enum hv_role r;
  if (hv_role_parse(role, &r) != HV_OK)
    fail_msg("no role %s", role);
  int rc = hv_db_open(data, &db, &err);
  if (rc == HV_OK)
    rc = hv_db_token_create(db, HV_COORDINATOR, party, r, "integration test",
                            text, id, &err);
  hv_db_close(db);
  if (rc != HV_OK)
    fail_msg("token for %s (%s): %s", party, role, err.msg);
}

void it_token_revoke(const char *data, const char *id) {
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  int rc = hv_db_open(data, &db, &err);
  if (rc == HV_OK)
    rc = hv_db_token_revoke(db, HV_COORDINATOR, id, &err);
  hv_db_close(db);
  if (rc != HV_OK)
    fail_msg("revoking token %s: %s", id, err.msg);
}

void it_put(const char *data, const char *kind, const char *quoted_json) {
  enum hv_kind k;
  if (hv_kind_parse(kind, &k) != HV_OK)
    fail_msg("no kind %s", kind);
  json_t *doc = it_js(quoted_json);
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  int rc = hv_db_open(data, &db, &err);
  if (rc == HV_OK)
    rc = hv_db_put(db, HV_COORDINATOR, k, doc, HV_PUT_CREATE, 0, NULL, &err);
  hv_db_close(db);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("writing %s: %s", kind, err.msg);
}

int it_ledger_verify_cli(const char *data, const char *workdir) {
  char out[1100], err[1100];
  it_path(out, sizeof out, workdir, "ledger-verify.out");
  it_path(err, sizeof err, workdir, "ledger-verify.err");
  const char *argv[] = {
      it_env("HAVEN_BIN"), "--data", data, "ledger", "verify", NULL};
  int rc = it_run(argv, out, err);
  if (rc != 0) {
    char *text = it_read_file(err, NULL);
    print_error("haven ledger verify: exit %d: %s\n", rc, text ? text : "");
    free(text);
  }
  return rc;
}

void it_known_bug(int holds, const char *file, int line, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  print_message("%s: %s:%d: %s\n",
                holds ? "KNOWN BUG FIXED (remove the marking)"
                      : "KNOWN BUG (skipped)",
                file, line, msg);
}

int64_t it_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ---- the server ------------------------------------------------------- */

/* Servers alive, killed at exit whatever happened. */
#define MAX_LIVE 16
static pid_t g_live[MAX_LIVE];
static int g_atexit_set;

static void kill_live(void) {
  for (int i = 0; i < MAX_LIVE; i++) {
    if (g_live[i] > 0) {
      kill(g_live[i], SIGKILL);
      waitpid(g_live[i], NULL, 0);
      g_live[i] = 0;
    }
  }
}

static void live_add(pid_t pid) {
  if (!g_atexit_set) {
    atexit(kill_live);
    g_atexit_set = 1;
  }
  for (int i = 0; i < MAX_LIVE; i++) {
    if (g_live[i] == 0) {
      g_live[i] = pid;
      return;
    }
  }
  kill(pid, SIGKILL);
  fail_msg("more than %d servers at once", MAX_LIVE);
}

static void live_remove(pid_t pid) {
  for (int i = 0; i < MAX_LIVE; i++) {
    if (g_live[i] == pid)
      g_live[i] = 0;
  }
}

/* A port free now on 127.0.0.1 (the kernel's pick for port 0). */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
    fail_msg("cannot find a free port: %s", strerror(errno));
  close(fd);
  return ntohs(a.sin_port);
}

/* The port of the "haven: listening on http://HOST:PORT" line in text;
 * -1 when there is no such line yet. */
static int listening_port(const char *text) {
  const char *p = strstr(text, "haven: listening on http://");
  if (p == NULL)
    return -1;
  const char *eol = strchr(p, '\n');
  if (eol == NULL)
    return -1; /* not whole yet */
  const char *colon = NULL;
  for (const char *q = p + strlen("haven: listening on http://"); q < eol; q++)
    if (*q == ':')
      colon = q;
  if (colon == NULL)
    return 0;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  return port > 0 && port < 65536 ? (int)port : 0;
}

/* Waits for the listening line of s; returns the port, 0 when the server
 * printed no usable port, -1 when it exited (its status in *status). */
static int wait_listening(struct it_server *s, int *status) {
  int64_t deadline = it_mono_ms() + 60000;
  while (it_mono_ms() < deadline) {
    char *out = it_read_file(s->out_path, NULL);
    int port = out ? listening_port(out) : -1;
    free(out);
    if (port >= 0)
      return port;
    pid_t w = waitpid(s->pid, status, WNOHANG);
    if (w == s->pid) {
      live_remove(s->pid);
      s->pid = 0;
      s->exit_status = exit_code(*status);
      return -1;
    }
    it_sleep_ms(10);
  }
  fail_msg("haven serve did not print its listening line within 60 s; see %s",
           s->err_path);
  return -1;
}

/* Starts one server process listening on listen; see it_server_start. */
static void launch(struct it_server *s, const char *listen,
                   const char *const *extra) {
  const char *argv[32];
  size_t n = 0;
  argv[n++] = it_env("HAVEN_BIN");
  argv[n++] = "--data";
  argv[n++] = s->data;
  argv[n++] = "serve";
  argv[n++] = "--listen";
  argv[n++] = listen;
  for (size_t i = 0; extra && extra[i]; i++) {
    if (n >= 31)
      fail_msg("too many server arguments");
    argv[n++] = extra[i];
  }
  argv[n] = NULL;
  /* Numbered across every server of the process, so that no log is
   * overwritten. */
  static unsigned starts;
  s->starts++;
  starts++;
  char name[64];
  snprintf(name, sizeof name, "serve-%u.out", starts);
  it_path(s->out_path, sizeof s->out_path, s->logdir, name);
  snprintf(name, sizeof name, "serve-%u.err", starts);
  it_path(s->err_path, sizeof s->err_path, s->logdir, name);
  s->pid = spawn(argv, s->out_path, s->err_path);
  live_add(s->pid);
}

void it_server_restart(struct it_server *s, const char *const *extra) {
  if (s->pid > 0)
    fail_msg("server already running (pid %ld)", (long)s->pid);
  int status = 0;
  s->exit_status = -1;
  launch(s, "127.0.0.1:0", extra);
  int port = wait_listening(s, &status);
  for (int attempt = 0; port <= 0 && attempt < 5; attempt++) {
    if (port == 0) /* no port picked for us: pick one */
      it_server_kill(s);
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", free_port());
    launch(s, listen, extra);
    port = wait_listening(s, &status);
  }
  if (port <= 0) {
    char *err = it_read_file(s->err_path, NULL);
    fail_msg("haven serve did not start (exit %d): %s", exit_code(status),
             err ? err : "");
  }
  s->port = port;
  snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", port);
}

void it_server_start(struct it_server *s, const char *data, const char *logdir,
                     const char *const *extra) {
  memset(s, 0, sizeof *s);
  if (snprintf(s->data, sizeof s->data, "%s", data) >= (int)sizeof s->data ||
      snprintf(s->logdir, sizeof s->logdir, "%s", logdir) >=
          (int)sizeof s->logdir)
    fail_msg("path too long");
  it_server_restart(s, extra);
}

int it_server_stop(struct it_server *s) {
  if (s->pid <= 0)
    return s->exit_status;
  kill(s->pid, SIGTERM);
  int64_t deadline = it_mono_ms() + 60000;
  int status = 0;
  pid_t w;
  while ((w = waitpid(s->pid, &status, WNOHANG)) == 0 &&
         it_mono_ms() < deadline)
    it_sleep_ms(10);
  if (w != s->pid) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    print_error("haven serve did not stop within 60 s of SIGTERM: killed\n");
  }
  live_remove(s->pid);
  s->pid = 0;
  s->exit_status = exit_code(status);
  return s->exit_status;
}

void it_server_kill(struct it_server *s) {
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGKILL);
  int status;
  waitpid(s->pid, &status, 0);
  live_remove(s->pid);
  s->pid = 0;
  s->exit_status = exit_code(status);
}

int it_server_alive(struct it_server *s) {
  if (s->pid <= 0)
    return 0;
  int status;
  if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
    live_remove(s->pid);
    s->pid = 0;
    s->exit_status = exit_code(status);
    return 0;
  }
  return 1;
}

/* ---- HTTP ------------------------------------------------------------- */

/* Easy handles by local address ("" = the default), reused round robin. */
#define N_HANDLES 8
static struct {
  char src[32];
  CURL *h;
} g_handles[N_HANDLES];
static unsigned g_next_handle;
static int g_curl_init;

static CURL *handle_for(const char *src) {
  if (!g_curl_init) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      fail_msg("curl_global_init failed");
    g_curl_init = 1;
  }
  const char *key = src ? src : "";
  for (int i = 0; i < N_HANDLES; i++)
    if (g_handles[i].h && strcmp(g_handles[i].src, key) == 0)
      return g_handles[i].h;
  unsigned i = g_next_handle++ % N_HANDLES;
  if (g_handles[i].h)
    curl_easy_cleanup(g_handles[i].h);
  g_handles[i].h = curl_easy_init();
  if (g_handles[i].h == NULL)
    fail_msg("curl_easy_init failed");
  snprintf(g_handles[i].src, sizeof g_handles[i].src, "%s", key);
  return g_handles[i].h;
}

void it_http_cleanup(void) {
  for (int i = 0; i < N_HANDLES; i++) {
    if (g_handles[i].h)
      curl_easy_cleanup(g_handles[i].h);
    g_handles[i].h = NULL;
  }
  if (g_curl_init)
    curl_global_cleanup();
  g_curl_init = 0;
}

size_t it_buf_add(struct it_buf *b, const char *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      return 0;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
  return n;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud) {
  return it_buf_add(ud, data, size * nmemb);
}

/* The body of a chunked upload. */
struct upload {
  const char *p;
  size_t left;
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
  struct upload *u = ud;
  size_t n = size * nitems;
  if (n > u->left)
    n = u->left;
  if (n > 1000) /* several chunks */
    n = 1000;
  memcpy(buf, u->p, n);
  u->p += n;
  u->left -= n;
  return n;
}

#define MAX_DENIED 4096
static struct it_denied g_denied[MAX_DENIED];
static size_t g_n_denied;

size_t it_denied_count(void) { return g_n_denied; }
const struct it_denied *it_denied_at(size_t i) {
  return i < g_n_denied ? &g_denied[i] : NULL;
}
void it_denied_reset(void) { g_n_denied = 0; }

static void note_denied(const char *method, const char *path, long status) {
  if (g_n_denied >= MAX_DENIED)
    return;
  struct it_denied *d = &g_denied[g_n_denied++];
  snprintf(d->method, sizeof d->method, "%s", method);
  size_t n = strcspn(path, "?");
  if (n >= sizeof d->path)
    n = sizeof d->path - 1;
  memcpy(d->path, path, n);
  d->path[n] = '\0';
  d->status = status;
}

long it_http(const struct it_server *s, const struct it_req *q,
             struct it_resp *r) {
  memset(r, 0, sizeof *r);
  const char *method = q->method ? q->method : "GET";
  CURL *h = handle_for(q->src);
  curl_easy_reset(h);
  char url[2048];
  if (snprintf(url, sizeof url, "%s%s", s->base, q->path) >= (int)sizeof url)
    fail_msg("URL too long: %s", q->path);
  struct it_buf body = {0}, head = {0};
  struct curl_slist *hdrs = NULL;
  char line[512];
  char errbuf[CURL_ERROR_SIZE] = "";
  struct upload up = {0};
  size_t body_len = q->body ? (q->body_len ? q->body_len : strlen(q->body)) : 0;

  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, q->timeout_s > 0 ? q->timeout_s : 120L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  if (q->src) {
    char iface[64];
    snprintf(iface, sizeof iface, "host!%s", q->src);
    curl_easy_setopt(h, CURLOPT_INTERFACE, iface);
  }
  if (q->fresh) {
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
  }
  if (q->auth || q->token) {
    if (q->auth)
      snprintf(line, sizeof line, "Authorization: %s", q->auth);
    else
      snprintf(line, sizeof line, "Authorization: Bearer %s", q->token);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (q->if_match) {
    snprintf(line, sizeof line, "If-Match: %s", q->if_match);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (q->body) {
    snprintf(line, sizeof line, "Content-Type: %s",
             q->ctype ? q->ctype : "application/json");
    hdrs = curl_slist_append(hdrs, line);
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (q->chunked) {
      up.p = q->body;
      up.left = body_len;
      hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, &up);
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (strcmp(method, "POST") != 0)
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (strcmp(method, "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(hdrs);
  if (rc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  else
    snprintf(r->err, sizeof r->err, "%s: %s", curl_easy_strerror(rc), errbuf);
  /* A reply whose sending the client could not finish (413 before the
   * body was read) still has a status line. */
  if (rc != CURLE_OK && head.len > 0)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  r->body = body.p ? body.p : calloc(1, 1);
  r->len = body.len;
  r->headers = head.p ? head.p : calloc(1, 1);
  if (r->len > 0) {
    json_error_t jerr;
    r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, &jerr);
  }
  if (r->status == 401 || r->status == 403 || r->status == 429)
    note_denied(method, q->path, r->status);
  return r->status;
}

void it_resp_free(struct it_resp *r) {
  free(r->body);
  free(r->headers);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

long it_get(const struct it_server *s, const char *token, const char *path,
            struct it_resp *r) {
  struct it_req q = {.path = path, .token = token};
  return it_http(s, &q, r);
}

long it_send(const struct it_server *s, const char *method, const char *token,
             const char *path, const json_t *body, struct it_resp *r) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (body && text == NULL)
    fail_msg("json_dumps failed");
  struct it_req q = {
      .method = method, .path = path, .token = token, .body = text};
  long st = it_http(s, &q, r);
  free(text);
  return st;
}

const char *it_fresh_src(void) {
  static char ring[64][32];
  static unsigned n;
  char *buf = ring[n % 64];
  /* 127.0.0.0/24 is left to the default address 127.0.0.1. */
  snprintf(buf, sizeof ring[0], "127.%u.%u.%u", 1 + n / 62500, (n / 250) % 250,
           1 + n % 250);
  n++;
  return buf;
}

/* ---- Server-Sent Events over a raw socket ------------------------------ */

/* Where the chunked decoder is: before a chunk's size line, in its data,
 * before the CRLF that ends its data, in the trailer after the last
 * chunk, done. */
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

static void buf_add_or_fail(struct it_buf *b, const char *data, size_t n) {
  if (n > 0 && it_buf_add(b, data, n) != n)
    fail_msg("out of memory");
}

/* Drops the first *off bytes of b, which have been used. */
static void buf_consume(struct it_buf *b, size_t *off) {
  if (*off == 0)
    return;
  memmove(b->p, b->p + *off, b->len - *off);
  b->len -= *off;
  b->p[b->len] = '\0';
  *off = 0;
}

static void sse_body_end(struct it_sse *c) {
  c->body_done = 1;
  c->chunk_state = CH_DONE;
}

/* Moves what can be decoded of c->in into c->text. */
static void sse_decode(struct it_sse *c) {
  while (c->in_off < c->in.len && !c->body_done) {
    const char *p = c->in.p + c->in_off;
    size_t avail = c->in.len - c->in_off;
    if (!c->chunked) {
      size_t n = avail;
      if (c->left >= 0 && (long long)n > c->left)
        n = (size_t)c->left;
      buf_add_or_fail(&c->text, p, n);
      c->in_off += n;
      c->body_bytes += n;
      if (c->left >= 0 && (c->left -= (long long)n) == 0)
        sse_body_end(c);
      continue;
    }
    if (c->chunk_state == CH_DATA) {
      size_t n = avail;
      if ((long long)n > c->left)
        n = (size_t)c->left;
      buf_add_or_fail(&c->text, p, n);
      c->in_off += n;
      c->body_bytes += n;
      if ((c->left -= (long long)n) == 0)
        c->chunk_state = CH_DATA_END;
      continue;
    }
    /* The other states read whole lines. */
    const char *eol = memchr(p, '\n', avail);
    if (eol == NULL)
      break;
    size_t len = (size_t)(eol - p);
    if (len == 0 || p[len - 1] != '\r')
      fail_msg("alert stream: a line of the chunked coding does not end "
               "with CRLF: \"%.*s\"",
               (int)(len > 80 ? 80 : len), p);
    len--; /* without the CR */
    c->in_off += len + 2;
    if (c->chunk_state == CH_DATA_END) {
      if (len != 0)
        fail_msg("alert stream: chunk data followed by \"%.*s\", not CRLF",
                 (int)(len > 80 ? 80 : len), p);
      c->chunk_state = CH_SIZE;
    } else if (c->chunk_state == CH_SIZE) {
      char *end;
      errno = 0;
      unsigned long long size = strtoull(p, &end, 16);
      if (end == p || errno != 0 ||
          (end < p + len && *end != ';' && *end != ' ' && *end != '\t'))
        fail_msg("alert stream: bad chunk size line \"%.*s\"",
                 (int)(len > 80 ? 80 : len), p);
      if (size == 0) {
        c->chunk_state = CH_TRAILER;
      } else {
        c->left = (long long)size;
        c->chunk_state = CH_DATA;
      }
    } else if (c->chunk_state == CH_TRAILER && len == 0) {
      sse_body_end(c);
    }
  }
  buf_consume(&c->in, &c->in_off);
}

/* Waits until deadline for bytes and reads them: 1 when some came, 0 when
 * the connection ended, -1 on timeout. */
static int sse_fill(struct it_sse *c, int64_t deadline) {
  if (c->fd < 0 || c->peer_closed)
    return 0;
  for (;;) {
    int64_t left = deadline - it_mono_ms();
    if (left < 0)
      left = 0;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int n = poll(&pfd, 1, (int)left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      fail_msg("poll: %s", strerror(errno));
    if (n == 0)
      return -1;
    char buf[65536];
    ssize_t got = recv(c->fd, buf, sizeof buf, 0);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got <= 0) {
      if (got < 0 && errno != ECONNRESET)
        fail_msg("alert stream: recv: %s", strerror(errno));
      c->peer_closed = 1;
      if (!c->body_done) {
        /* A body without a length ends with the connection; any other
         * was cut short. */
        if (c->chunked || c->left >= 0)
          c->truncated = 1;
        sse_body_end(c);
      }
      return 0;
    }
    buf_add_or_fail(&c->in, buf, (size_t)got);
    return 1;
  }
}

/* Parses the status line and headers once they are all in c->in: 1 when
 * done, 0 when more is needed. */
static int sse_headers(struct it_sse *c) {
  const char *end = c->in.p ? strstr(c->in.p, "\r\n\r\n") : NULL;
  if (end == NULL)
    return 0;
  size_t hlen = (size_t)(end - c->in.p) + 4;
  c->resp.headers = malloc(hlen + 1);
  if (c->resp.headers == NULL)
    fail_msg("out of memory");
  memcpy(c->resp.headers, c->in.p, hlen);
  c->resp.headers[hlen] = '\0';
  c->in_off = hlen;
  int minor;
  long status;
  if (sscanf(c->resp.headers, "HTTP/1.%d %ld", &minor, &status) != 2 ||
      status < 100 || status > 599)
    fail_msg("alert stream: bad status line: %.80s", c->resp.headers);
  c->resp.status = status;
  c->left = -1;
  for (const char *line = strstr(c->resp.headers, "\r\n"); line;
       line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, "transfer-encoding:", 18) == 0) {
      const char *eol = strstr(line, "\r\n");
      if (memmem(line, (size_t)(eol - line), "chunked", 7) != NULL)
        c->chunked = 1;
    } else if (strncasecmp(line, "content-length:", 15) == 0) {
      char *e;
      errno = 0;
      long long n = strtoll(line + 15, &e, 10);
      if (errno != 0 || e == line + 15 || n < 0)
        fail_msg("alert stream: bad Content-Length: %.40s", line);
      c->left = n;
    }
  }
  if (c->chunked) {
    c->left = 0;
    c->chunk_state = CH_SIZE;
  } else if (c->left == 0 || status == 204 || status == 304) {
    sse_body_end(c);
  }
  return 1;
}

long it_sse_open(const struct it_server *s, const struct it_sse_req *q,
                 struct it_sse *c) {
  memset(c, 0, sizeof *c);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    fail_msg("socket: %s", strerror(errno));
  if (q->rcvbuf > 0 && setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &q->rcvbuf,
                                  sizeof q->rcvbuf) != 0)
    fail_msg("SO_RCVBUF: %s", strerror(errno));
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  if (q->src) {
    if (inet_pton(AF_INET, q->src, &a.sin_addr) != 1)
      fail_msg("bad source address %s", q->src);
    if (bind(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
      fail_msg("bind %s: %s", q->src, strerror(errno));
  }
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)s->port);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
    snprintf(c->resp.err, sizeof c->resp.err, "connect to port %d: %s", s->port,
             strerror(errno));
    return 0;
  }
  char req[4096], auth[256] = "", leid[160] = "";
  if (q->token)
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", q->token);
  if (q->last_event_id)
    snprintf(leid, sizeof leid, "Last-Event-ID: %s\r\n", q->last_event_id);
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
                   "%s%s\r\n",
                   q->path, s->port, auth, leid);
  if (n < 0 || (size_t)n >= sizeof req)
    fail_msg("alert stream request too long: %s", q->path);
  for (size_t sent = 0; sent < (size_t)n;) {
    ssize_t w = send(c->fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      snprintf(c->resp.err, sizeof c->resp.err, "send: %s", strerror(errno));
      return 0;
    }
    sent += (size_t)w;
  }
  int64_t deadline = it_mono_ms() + 10000;
  while (!sse_headers(c)) {
    int f = sse_fill(c, deadline);
    if (f <= 0) {
      snprintf(c->resp.err, sizeof c->resp.err, "%s before the reply's headers",
               f < 0 ? "no reply within 10 s" : "connection closed");
      return 0;
    }
  }
  sse_decode(c);
  /* An event stream (whatever its status) stays open for it_sse_next:
   * resp.body gets what came of it so far. Any other reply is read whole. */
  int is_stream =
      strcasestr(c->resp.headers, "content-type: text/event-stream") != NULL;
  while (!is_stream && !c->body_done) {
    if (sse_fill(c, deadline) < 0)
      fail_msg("alert stream: the body of the %ld reply did not end within "
               "10 s; headers and %zu bytes of body: %s%.300s",
               c->resp.status, c->text.len, c->resp.headers,
               c->text.p ? c->text.p : "");
    sse_decode(c);
  }
  c->resp.body = malloc(c->text.len + 1);
  if (c->resp.body == NULL)
    fail_msg("out of memory");
  if (c->text.len)
    memcpy(c->resp.body, c->text.p, c->text.len);
  c->resp.body[c->text.len] = '\0';
  c->resp.len = c->text.len;
  json_error_t jerr;
  if (!is_stream && c->resp.len > 0)
    c->resp.json =
        json_loadb(c->resp.body, c->resp.len, JSON_DECODE_ANY, &jerr);
  if (c->resp.status == 401 || c->resp.status == 403 || c->resp.status == 429)
    note_denied("GET", q->path, c->resp.status);
  return c->resp.status;
}

/* Copies at most size - 1 bytes of text (n long) into dst. */
static void copy_cut(char *dst, size_t size, const char *text, size_t n) {
  if (n >= size)
    n = size - 1;
  memcpy(dst, text, n);
  dst[n] = '\0';
}

/* One line of the stream (without its end). Returns 1 when it ended an
 * event, which is then moved into *ev. */
static int sse_line(struct it_sse *c, const char *line, size_t len,
                    struct it_sse_event *ev) {
  if (len == 0) {
    if (!c->cur_any)
      return 0;
    *ev = c->cur;
    if (ev->type[0] == '\0')
      snprintf(ev->type, sizeof ev->type, "message");
    ev->data = malloc(c->data.len + 1);
    if (ev->data == NULL)
      fail_msg("out of memory");
    if (c->data.len)
      memcpy(ev->data, c->data.p, c->data.len);
    ev->data[c->data.len] = '\0';
    json_error_t jerr;
    ev->json = json_loadb(ev->data, c->data.len, JSON_DECODE_ANY, &jerr);
    memset(&c->cur, 0, sizeof c->cur);
    c->data.len = 0;
    c->cur_any = c->cur_data = 0;
    return 1;
  }
  if (line[0] == ':') {
    size_t skip = len > 1 && line[1] == ' ' ? 2 : 1;
    c->comments++;
    copy_cut(c->last_comment, sizeof c->last_comment, line + skip, len - skip);
    return 0;
  }
  const char *colon = memchr(line, ':', len);
  size_t nlen = colon ? (size_t)(colon - line) : len;
  const char *v = colon ? colon + 1 : line + len;
  if (v < line + len && *v == ' ')
    v++;
  size_t vlen = (size_t)(line + len - v);
  if (nlen == 5 && memcmp(line, "event", 5) == 0) {
    copy_cut(c->cur.type, sizeof c->cur.type, v, vlen);
    c->cur_any = 1;
  } else if (nlen == 4 && memcmp(line, "data", 4) == 0) {
    if (c->cur_data)
      buf_add_or_fail(&c->data, "\n", 1);
    buf_add_or_fail(&c->data, v, vlen);
    c->cur_data = c->cur_any = 1;
  } else if (nlen == 2 && memcmp(line, "id", 2) == 0) {
    copy_cut(c->cur.id, sizeof c->cur.id, v, vlen);
    c->cur.has_id = 1;
    c->cur_any = 1;
  } /* retry and unknown fields: ignored, as the format says */
  return 0;
}

/* Parses the lines decoded so far: 1 when an event is complete. */
static int sse_parse(struct it_sse *c, struct it_sse_event *ev) {
  int got = 0;
  while (!got && c->text_off < c->text.len) {
    const char *p = c->text.p + c->text_off;
    size_t avail = c->text.len - c->text_off, i = 0;
    while (i < avail && p[i] != '\n' && p[i] != '\r')
      i++;
    if (i == avail)
      break; /* not a whole line yet */
    size_t eol = 1;
    if (p[i] == '\r') {
      if (i + 1 < avail)
        eol = p[i + 1] == '\n' ? 2 : 1;
      else if (!c->body_done)
        break; /* an LF may follow */
    }
    got = sse_line(c, p, i, ev);
    c->text_off += i + eol;
  }
  buf_consume(&c->text, &c->text_off);
  return got;
}

int it_sse_next(struct it_sse *c, struct it_sse_event *ev, int timeout_ms) {
  memset(ev, 0, sizeof *ev);
  int64_t deadline = it_mono_ms() + timeout_ms;
  for (;;) {
    if (sse_parse(c, ev))
      return 1;
    if (c->body_done || c->fd < 0)
      return 0;
    if (sse_fill(c, deadline) < 0)
      return -1;
    sse_decode(c);
  }
}

void it_sse_event_free(struct it_sse_event *ev) {
  free(ev->data);
  json_decref(ev->json);
  memset(ev, 0, sizeof *ev);
}

int it_sse_wait_closed(struct it_sse *c, int timeout_ms) {
  int64_t deadline = it_mono_ms() + timeout_ms;
  while (c->fd >= 0 && !c->peer_closed) {
    if (sse_fill(c, deadline) < 0)
      return 0;
    sse_decode(c);
  }
  return 1;
}

void it_sse_close(struct it_sse *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  free(c->in.p);
  free(c->text.p);
  free(c->data.p);
  memset(&c->in, 0, sizeof c->in);
  memset(&c->text, 0, sizeof c->text);
  memset(&c->data, 0, sizeof c->data);
  c->in_off = c->text_off = 0;
  it_resp_free(&c->resp);
}

/* ---- JSON ------------------------------------------------------------- */

json_t *it_js(const char *quoted) { return tu_js(quoted); }

const char *it_jstr(const json_t *obj, const char *key) {
  const char *s = json_string_value(json_object_get(obj, key));
  return s ? s : "";
}

int64_t it_version(const json_t *doc) {
  json_t *v = json_object_get(doc, "version");
  if (v == NULL)
    v = json_object_get(json_object_get(doc, "properties"), "version");
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static json_t *err_obj(const struct it_resp *r) {
  return json_object_get(r->json, "error");
}

const char *it_err_code(const struct it_resp *r) {
  const char *c = json_string_value(json_object_get(err_obj(r), "code"));
  return c ? c : "";
}

const char *it_err_field(const struct it_resp *r) {
  return json_string_value(json_object_get(err_obj(r), "field"));
}

const char *it_err_shape(const struct it_resp *r) {
  if (!json_is_object(r->json))
    return "the body is not a JSON object";
  json_t *e = err_obj(r);
  if (!json_is_object(e))
    return "no \"error\" object";
  if (!json_is_string(json_object_get(e, "code")))
    return "error.code is not a string";
  const char *m = json_string_value(json_object_get(e, "message"));
  if (m == NULL || *m == '\0')
    return "error.message is not a non-empty string";
  json_t *f = json_object_get(e, "field");
  if (f && !json_is_string(f))
    return "error.field is not a string";
  if (strcasestr(r->headers, "content-type: application/json") == NULL)
    return "the Content-Type is not application/json";
  return NULL;
}

const char *it_show(const struct it_resp *r) {
  static char ring[4][700];
  static unsigned n;
  char *buf = ring[n++ % 4];
  if (r->status == 0)
    snprintf(buf, sizeof ring[0], "no reply (%s)", r->err);
  else
    snprintf(buf, sizeof ring[0], "%ld: %.400s%s", r->status,
             r->body ? r->body : "", r->len > 400 ? "..." : "");
  return buf;
}

const char *const it_collections[IT_N_COLLECTIONS] = {
    "parties", "agreements",   "zones", "corridors",
    "sites",   "delineations", "areas"};
const char *const it_kinds[IT_N_COLLECTIONS] = {
    "party", "agreement", "zone", "corridor", "site", "delineation", "area"};

/* A small square polygon in the Homs desert, away from the scenario's
 * zones and sites. */
#define IT_SQUARE                                                              \
  "{'type':'Polygon','coordinates':[[[38.30,34.30],[38.35,34.30],"             \
  "[38.35,34.35],[38.30,34.35],[38.30,34.30]]]}"

json_t *it_new_doc(const char *coll, const char *id, const char *notified_by) {
  json_t *d = NULL;
  char name[128];
  snprintf(name, sizeof name, "Integration test %s", id);
  if (strcmp(coll, "parties") == 0) {
    d = it_js("{'kind':'armed_group'}");
  } else if (strcmp(coll, "agreements") == 0) {
    d = it_js("{'kind':'ceasefire','valid_from':'2020-01-01',"
              "'scope':'nationwide','covered':['sna'],'terms':['shelling']}");
  } else if (strcmp(coll, "zones") == 0) {
    d = it_js("{'type':'Feature','geometry':" IT_SQUARE ",'properties':{"
              "'object':'zone','kind':'security','valid_from':'2020-01-01',"
              "'phase':'declared'}}");
  } else if (strcmp(coll, "corridors") == 0) {
    d = it_js("{'type':'Feature','geometry':{'type':'LineString',"
              "'coordinates':[[38.30,34.30],[38.35,34.35]]},'properties':{"
              "'object':'corridor','half_width_m':200,'status':'open'}}");
  } else if (strcmp(coll, "sites") == 0) {
    d = it_js("{'type':'Feature','geometry':{'type':'Point',"
              "'coordinates':[38.31,34.31]},'properties':{'object':'site',"
              "'category':'school','radius_m':100}}");
    json_object_set_new(json_object_get(d, "properties"), "notified_by",
                        json_string(notified_by ? notified_by : "ocha"));
  } else if (strcmp(coll, "movements") == 0) {
    /* A convoy on a road of its own in the Homs desert, in 2030 (notified
     * years ahead: never late). */
    d = it_js("{'type':'Feature','geometry':{'type':'LineString',"
              "'coordinates':[[38.30,34.30],[38.40,34.35]]},'properties':{"
              "'object':'movement','kind':'convoy','vehicles':3,"
              "'valid_from':'2030-01-01T06:00:00Z',"
              "'valid_to':'2030-01-01T18:00:00Z'}}");
    json_object_set_new(json_object_get(d, "properties"), "notified_by",
                        json_string(notified_by ? notified_by : "ocha"));
  } else if (strcmp(coll, "delineations") == 0) {
    d = it_js("{'type':'Feature','geometry':" IT_SQUARE ",'properties':{"
              "'object':'delineation','party':'sna','valid_from':'2020-01-01'}"
              "}");
  } else if (strcmp(coll, "areas") == 0) {
    d = it_js("{'type':'Feature','geometry':" IT_SQUARE ",'properties':{"
              "'object':'area','level':'adm9'}}");
  } else if (strcmp(coll, "positions") == 0) {
    /* Not an object: a batch of one position report of asset id. */
    json_t *a = json_array();
    json_array_append_new(
        a, it_js("{'party':'sna','class':'rotary','t':'2018-08-01T05:00:00Z',"
                 "'lon':38.3,'lat':34.3,'alt_m':500,'ve_mps':10,'vn_mps':0,"
                 "'vs_mps':0}"));
    json_object_set_new(json_array_get(a, 0), "asset", json_string(id));
    return a;
  } else {
    fail_msg("no collection %s", coll);
  }
  json_object_set_new(d, "id", json_string(id));
  it_doc_rename(d, name);
  return d;
}

void it_doc_rename(json_t *doc, const char *text) {
  json_t *props = json_object_get(doc, "properties");
  json_t *target = props ? props : doc;
  const char *member = props && json_object_get(props, "party") &&
                               !json_object_get(props, "name")
                           ? "notes" /* a delineation has no name */
                           : "name";
  json_object_set_new(target, member, json_string(text));
}

void it_doc_set_version(json_t *doc, int64_t version) {
  json_t *props = json_object_get(doc, "properties");
  json_object_set_new(props ? props : doc, "version",
                      json_integer((json_int_t)version));
}

void it_sse_open_live(const struct it_server *s, const char *token,
                      struct it_sse *c) {
  struct it_sse_req q = {.path = "/v1/alerts/stream", .token = token};
  if (it_sse_open(s, &q, c) != 200)
    fail_msg("GET /v1/alerts/stream: %s", it_show(&c->resp));
  struct it_sse_event ev;
  if (it_sse_next(c, &ev, 10000) != 1)
    fail_msg("GET /v1/alerts/stream: no open event within 10 s");
  int open = strcmp(ev.type, "open") == 0;
  it_sse_event_free(&ev);
  if (!open)
    fail_msg("GET /v1/alerts/stream: the first event is not open");
}
