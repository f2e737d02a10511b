/*
 * web.c — the dashboard's files (docs/dashboard.md): GET / gives
 * index.html, GET /ui/{file} the other files the build put in the web
 * directory (`haven serve --web DIR`; by default build/web beside the
 * binary). No token is needed for them: the page holds no data, it asks
 * the API for everything with the token its user types in.
 *
 * Invariants: only plain file names are served (no "/" reaches here: the
 * route matches one segment; a name starting with "." is refused), only
 * from the web directory; the content type comes from the extension.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct {
  const char *ext, *type;
} TYPES[] = {{".html", "text/html; charset=utf-8"},
             {".js", "text/javascript; charset=utf-8"},
             {".css", "text/css; charset=utf-8"},
             {".json", "application/json"},
             {".svg", "image/svg+xml"},
             {".png", "image/png"},
             {".map", "application/json"},
             {".txt", "text/plain; charset=utf-8"}};

static const char *type_of(const char *name) {
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && i < sizeof TYPES / sizeof *TYPES; i++)
    if (strcmp(dot, TYPES[i].ext) == 0)
      return TYPES[i].type;
  return NULL;
}

/* Replies with file name of the web directory, or 404. */
static void send_file(struct hv__req *r, const char *name) {
  const char *dir = r->srv->opt.web;
  const char *type = type_of(name);
  if (dir == NULL) {
    hv__fail(r, 404, "not_found", NULL,
             "no dashboard: this haven was started without one (haven serve "
             "--web DIR; `make build` makes build/web)");
    return;
  }
  if (name[0] == '.' || type == NULL) {
    hv__fail(r, 404, "not_found", NULL, "no file \"%s\"", name);
    return;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long len = -1;
  if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) != NULL &&
      fread(buf, 1, (size_t)len, f) != (size_t)len) {
    free(buf);
    buf = NULL;
  }
  if (f)
    fclose(f);
  if (buf == NULL) {
    hv__fail(r, 404, "not_found", NULL, "no file \"%s\"", name);
    return;
  }
  r->status = 200;
  r->text = buf;
  r->text_len = (size_t)len;
  r->text_owned = 1;
  r->content_type = type;
}

void hv__h_web_index(struct hv__req *r) { send_file(r, "index.html"); }

void hv__h_web_file(struct hv__req *r) { send_file(r, r->id); }
