/*
 * serve.c — `haven serve`, which runs the HTTP/JSON server of docs/api.md
 * until SIGTERM or SIGINT, and `haven routes`, which prints the routes it
 * serves, one "METHOD PATH" per line (the test suite compares them with
 * docs/openapi.json).
 *
 * The server opens the store itself (server/http.c): these commands never
 * call cli_open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "../server/server.h"
#include "cli.h"

static const char SERVE_USAGE[] =
    "usage: haven serve [--listen ADDR:PORT] [--data DIR] [--threads N] "
    "[--max-body BYTES]\n"
    "                   [--stream-buffer BYTES] [--stream-heartbeat S] "
    "[--max-streams N]\n"
    "                   [--check-rate N] [--check-burst N] [--web DIR]\n"
    "  --listen    address and port (default 127.0.0.1:8080; port 0 picks a "
    "free one)\n"
    "  --data      the data directory (default: haven's --data)\n"
    "  --threads   request threads (default 2)\n"
    "  --max-body  largest request body in bytes (default 1048576)\n"
    "  --stream-buffer     bytes queued per alert stream before it is "
    "dropped\n"
    "                      (default 1048576)\n"
    "  --stream-heartbeat  seconds between keepalives on alert streams, "
    "when\n"
    "                      their tokens are checked again (default 15)\n"
    "  --max-streams       alert streams open at once (default 64)\n"
    "  --check-rate        deconfliction checks a party may make a minute "
    "(default 60)\n"
    "  --check-burst       ... and at once (default 20)\n"
    "  --web       the dashboard's built files, served at / without a token\n"
    "              (every .html .js .css .json .svg .png .map .txt in DIR is;\n"
    "              default: web/ next to the haven binary, when it is there)\n"
    "SIGTERM or SIGINT stops it after the requests in flight.\n";

/* A whole number in [lo, hi] for option opt, or -1 after printing why. */
static long long whole(const char *opt, const char *v, long long lo,
                       long long hi) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end != '\0' || x < lo || x > hi) {
    fprintf(stderr,
            "haven: %s: \"%s\" is not a whole number from %lld to "
            "%lld\n",
            opt, v, lo, hi);
    return -1;
  }
  return x;
}

int cmd_serve(struct cli *c, int argc, char **argv) {
  struct hv_server_options o;
  hv_server_options_default(&o);
  o.data = c->data;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    const char *eq = strchr(a, '=');
    char name[32];
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(SERVE_USAGE, stdout);
      return 0;
    }
    if (strncmp(a, "--", 2) != 0 || n >= sizeof name) {
      fprintf(stderr, "haven: serve: unexpected argument \"%s\"\n%s", a,
              SERVE_USAGE);
      return 2;
    }
    memcpy(name, a, n);
    name[n] = '\0';
    if (eq)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    else {
      fprintf(stderr, "haven: %s needs a value\n", name);
      return 2;
    }
    long long x;
    if (strcmp(name, "--listen") == 0) {
      o.listen = v;
    } else if (strcmp(name, "--data") == 0) {
      o.data = v;
    } else if (strcmp(name, "--threads") == 0) {
      if ((x = whole(name, v, 1, 1024)) < 0)
        return 2;
      o.threads = (unsigned)x;
    } else if (strcmp(name, "--max-body") == 0) {
      if ((x = whole(name, v, 1, 1LL << 30)) < 0)
        return 2;
      o.max_body = (size_t)x;
    } else if (strcmp(name, "--stream-buffer") == 0) {
      if ((x = whole(name, v, 4096, 1LL << 30)) < 0)
        return 2;
      o.stream_buffer = (size_t)x;
    } else if (strcmp(name, "--stream-heartbeat") == 0) {
      if ((x = whole(name, v, 1, 3600)) < 0)
        return 2;
      o.stream_heartbeat_s = (unsigned)x;
    } else if (strcmp(name, "--check-rate") == 0) {
      if ((x = whole(name, v, 1, 100000)) < 0)
        return 2;
      o.check_rate = (unsigned)x;
    } else if (strcmp(name, "--check-burst") == 0) {
      if ((x = whole(name, v, 1, 100000)) < 0)
        return 2;
      o.check_burst = (unsigned)x;
    } else if (strcmp(name, "--web") == 0) {
      o.web = v;
    } else if (strcmp(name, "--max-streams") == 0) {
      if ((x = whole(name, v, 1, 100000)) < 0)
        return 2;
      o.max_streams = (unsigned)x;
    } else {
      fprintf(stderr, "haven: serve: unknown option %s\n%s", name, SERVE_USAGE);
      return 2;
    }
  }
  /* The dashboard the build made (build/web beside build/haven). */
  char exe[4096], web[4200];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (o.web == NULL && len > 0) {
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
      *slash = '\0';
    snprintf(web, sizeof web, "%s/web/index.html", exe);
    if (access(web, R_OK) == 0) {
      snprintf(web, sizeof web, "%s/web", exe);
      o.web = web;
    }
  }
  struct hv_error err = {0};
  int rc = hv_server_run(&o, &err);
  if (rc == HV_EINVAL) {
    cli_fail(rc, &err);
    return 2;
  }
  return rc == HV_OK ? 0 : cli_fail(rc, &err);
}

int cmd_routes(struct cli *c, int argc, char **argv) {
  (void)c, (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: haven routes\n");
    return 2;
  }
  const char *method, *path;
  for (size_t i = 0; hv_server_route(i, &method, &path); i++)
    printf("%s %s\n", method, path);
  return 0;
}
