/*
 * main.c — the `haven` command: options, subcommand dispatch, and the
 * registry, query and ledger subcommands. Uses libhaven's public API only.
 *
 * Exit codes: 0 success, 1 failure (the message names what and why), 2 bad
 * usage, 3 the ledger does not verify.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char USAGE[] =
    "usage: haven [--data DIR] [--as PARTY] [--json] COMMAND [ARGS]\n"
    "\n"
    "The agreed map:\n"
    "  import FILE...                 import GeoJSON / registry files (all or "
    "nothing)\n"
    "  export DIR                     write the registry back to files\n"
    "  list KIND [--at T]             parties, agreements, zones, corridors, "
    "sites,\n"
    "                                 movements, delineations, areas\n"
    "  show KIND ID                   one object, as stored\n"
    "  history KIND ID                every change of one object\n"
    "  phase ZONE PHASE [--at T] [--reason TEXT] [--if-version N]\n"
    "                                 move a zone to a new phase\n"
    "  summary                        what is declared, where, by whom\n"
    "\n"
    "Queries:\n"
    "  query zones LON LAT [--alt M] [--at T]   zones in force at a point\n"
    "  query near LON LAT METRES [--at T]       everything within a distance\n"
    "  query sponsors PARTY                      the sponsor chain of a party\n"
    "  query agreements PARTY [--at T]           agreements covering a party\n"
    "\n"
    "Before an operation (docs/checks.md):\n"
    "  check FILE                     check a planned operation as --as; "
    "recorded,\n"
    "                                 answer and receipt printed (exit 0 "
    "clear,\n"
    "                                 3 conflict, 4 forbidden)\n"
    "  check --verify RECEIPT         confirm a receipt against the ledger\n"
    "\n"
    "Incidents (docs/incident-csv.md):\n"
    "  incidents import --format ucdp|acled|syrian-archive [--utc-offset "
    "+HH:MM]\n"
    "                   [--lag-days N] FILE...   import dataset CSV files "
    "(all or\n"
    "                                 nothing); unresolved actor names "
    "listed\n"
    "  adjudicate [INCIDENT...]       judge incidents against the agreements "
    "and\n"
    "                                 record the answers that changed "
    "(docs/incidents.md)\n"
    "  adjudications [--format csv|json|ndjson|geojson] [--agreement ID]\n"
    "                [--class C] [--party ID] [--guarantor ID] [--zone ID]\n"
    "                [--area ID] [--from T] [--to T]   export the answers\n"
    "  review INCIDENT AGREEMENT dispute|request_info|respond|assess --text "
    "T ...\n"
    "  reviews [--open]               the reviews of violations\n"
    "  status [--at T] [--window-days N] [ZONE...]   zone status "
    "(docs/zone-status.md)\n"
    "  sieges [--at T] [--period-days N] [--record]  suspected sieges\n"
    "  bulletin --agreement ID [--date D] [--days N] [--format "
    "text|json|csv|svg]\n"
    "                                 the bulletin (docs/bulletin.md)\n"
    "\n"
    "The live picture (docs/live.md):\n"
    "  replay FILE [OPTIONS]          feed a CSV of tracks through the "
    "checks\n"
    "\n"
    "The HTTP API (docs/api.md):\n"
    "  serve [--listen ADDR:PORT] [--threads N] [--max-body BYTES]\n"
    "  routes                         the routes served, one per line\n"
    "\n"
    "Credentials of the HTTP API:\n"
    "  token create --party ID --role ROLE [--label TEXT]   printed once\n"
    "  token revoke ID | token list\n"
    "\n"
    "The record:\n"
    "  ledger verify [--file EXPORT]  check the hash chain (exit 3 if broken)\n"
    "  ledger export [FILE]           write the chain as NDJSON\n"
    "  ledger show [--from N] [--to N]\n"
    "\n"
    "DIR defaults to $HAVEN_DATA, else ./haven-data. PARTY defaults to "
    "coordinator.\n"
    "Times are RFC 3339 (2016-02-27T00:00:00Z) or dates (2016-02-27); default "
    "now.\n";

int cli_fail(int rc, const struct hv_error *err) {
  if (err && err->msg[0])
    fprintf(stderr, "haven: %s\n", err->msg);
  else
    fprintf(stderr, "haven: %s\n", hv_strerror(rc));
  return 1;
}

int cli_open(struct cli *c) {
  if (c->db)
    return 0;
  struct hv_error err = {0};
  int rc = hv_db_open(c->data, &c->db, &err);
  return rc == HV_OK ? 0 : cli_fail(rc, &err);
}

int cli_time(const char *opt, const char *text, int64_t *out) {
  if (hv_time_parse(text, out) == HV_OK)
    return 0;
  fprintf(stderr,
          "haven: %s: \"%s\" is not an RFC 3339 time or a date "
          "(2016-02-27T00:00:00Z, 2016-02-27)\n",
          opt, text);
  return 2;
}

int cli_number(const char *what, const char *text, double *out) {
  char *end;
  errno = 0;
  *out = strtod(text, &end);
  if (errno == 0 && end != text && *end == '\0' && isfinite(*out))
    return 0;
  fprintf(stderr, "haven: %s: \"%s\" is not a number\n", what, text);
  return 2;
}

static int parse_kind(const char *s, enum hv_kind *k) {
  static const char *const plural[HV_KIND_COUNT] = {
      "parties",      "agreements", "zones",     "corridors", "sites",
      "delineations", "areas",      "movements", "incidents", "tokens"};
  for (int i = 0; i < HV_KIND_COUNT; i++)
    if (strcmp(s, plural[i]) == 0) {
      *k = (enum hv_kind)i;
      return 0;
    }
  if (hv_kind_parse(s, k) == HV_OK)
    return 0;
  fprintf(stderr,
          "haven: \"%s\" is not a kind of object (parties, agreements, zones, "
          "corridors, sites, delineations, areas)\n",
          s);
  return 2;
}

/* Options after the subcommand's words: --at, --alt, --reason, ... */
struct opts {
  int64_t at_ms;
  double alt_m;
  const char *reason;
  int64_t if_version;
  const char *file;
  int64_t from, to;
};

/* Splits argv (argv[0] is the subcommand) into options "--name value" and
 * positional words, which are moved to the front, keeping their order; so
 * negative numbers (-12.5) stay positional. *n_args gets their count. */
static int sub_opts(int argc, char **argv, struct opts *o, int *n_args) {
  o->at_ms = hv_time_now_ms();
  o->alt_m = NAN;
  o->reason = NULL;
  o->if_version = 0;
  o->file = NULL;
  o->from = 1;
  o->to = 0;
  int n = 0, rc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      argv[1 + n++] = argv[i];
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "haven: %s needs a value\n", a);
      return 2;
    }
    const char *v = argv[++i];
    double d;
    if (strcmp(a, "--at") == 0) {
      if ((rc = cli_time("--at", v, &o->at_ms)))
        return rc;
    } else if (strcmp(a, "--alt") == 0) {
      if ((rc = cli_number("--alt", v, &o->alt_m)))
        return rc;
    } else if (strcmp(a, "--reason") == 0) {
      o->reason = v;
    } else if (strcmp(a, "--file") == 0) {
      o->file = v;
    } else if (strcmp(a, "--if-version") == 0 || strcmp(a, "--from") == 0 ||
               strcmp(a, "--to") == 0) {
      if ((rc = cli_number(a, v, &d)))
        return rc;
      if (d < 0 || d != floor(d) || d > 9e15) {
        fprintf(stderr, "haven: %s must be a whole number >= 0\n", a);
        return 2;
      }
      *(a[2] == 'i'   ? &o->if_version
        : a[2] == 'f' ? &o->from
                      : &o->to) = (int64_t)d;
    } else {
      fprintf(stderr, "haven: unknown option %s\n", a);
      return 2;
    }
  }
  *n_args = n;
  return 0;
}

/* ---- printing -------------------------------------------------------------
 */

static void print_json(json_t *j) {
  if (j == NULL) {
    fprintf(stderr, "haven: out of memory\n");
    return;
  }
  json_dumpf(j, stdout,
             JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
  fputc('\n', stdout);
  json_decref(j);
}

static const char *obj_label(const struct hv_object *o) {
  return o->name ? o->name : o->id;
}

/* One line describing an object for people. */
static void print_line(const struct hv_object *o, int64_t t_ms) {
  char a[32], b[32];
  switch (o->kind) {
  case HV_PARTY:
    printf("%-24s %-12s %s%s%s%s\n", o->id, o->u.party.kind, o->name,
           o->u.party.sponsor ? "  (sponsor: " : "",
           o->u.party.sponsor ? o->u.party.sponsor : "",
           o->u.party.sponsor ? ")" : "");
    break;
  case HV_AGREEMENT:
    printf("%-24s %-26s %s .. %s  %s\n", o->id, o->u.agreement.kind,
           hv_time_format(o->from_ms, a, sizeof a),
           hv_time_format(o->to_ms, b, sizeof b), o->name);
    break;
  case HV_ZONE:
    printf("%-24s %-14s %-11s %s\n", o->id, o->u.zone.kind,
           hv_phase_name(hv_zone_phase_at(o, t_ms)), o->name);
    break;
  case HV_CORRIDOR:
    printf("%-24s %-8s %6.0f m  %8.2f km2  %s\n", o->id, o->u.corridor.status,
           2 * o->u.corridor.half_width_m, o->u.corridor.area_m2 / 1e6,
           o->name);
    break;
  case HV_SITE:
    printf("%-24s %-13s %10.6f %10.6f  r=%.0f m  %s\n", o->id,
           o->u.site.category, o->u.site.lon, o->u.site.lat, o->u.site.radius_m,
           o->name);
    break;
  case HV_DELINEATION:
    printf("%-24s %-16s %s .. %s\n", o->id, o->u.delineation.party,
           hv_time_format(o->from_ms, a, sizeof a),
           hv_time_format(o->to_ms, b, sizeof b));
    break;
  case HV_AREA:
    printf("%-24s %-10s %s\n", o->id, o->u.area.pcode ? o->u.area.pcode : "",
           o->name);
    break;
  case HV_MOVEMENT:
    printf("%-24s %-10s %s .. %s  %ld vehicles%s%s  %s\n", o->id,
           o->u.movement.kind, hv_time_format(o->from_ms, a, sizeof a),
           hv_time_format(o->to_ms, b, sizeof b), o->u.movement.vehicles,
           o->u.movement.late ? "  late" : "",
           o->u.movement.withdrawn_ms ? "  withdrawn" : "", o->name);
    break;
  default:
    break;
  }
}

static json_t *hits_json(const struct hv_hits *h, int with_dist) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < h->n; i++) {
    const struct hv_object *o = h->v[i].obj;
    json_t *j = json_pack("{s:s,s:s,s:I}", "kind", hv_kind_name(o->kind), "id",
                          o->id, "version", (json_int_t)o->version);
    if (o->name)
      json_object_set_new(j, "name", json_string(o->name));
    if (with_dist)
      json_object_set_new(j, "distance_m", json_real(h->v[i].dist_m));
    if (o->kind == HV_ZONE) {
      json_object_set_new(j, "zone_kind", json_string(o->u.zone.kind));
      json_object_set_new(j, "phase",
                          json_string(hv_phase_name(h->v[i].phase)));
    }
    json_array_append_new(arr, j);
  }
  return arr;
}

/* ---- subcommands ----------------------------------------------------------
 */

static void progress(const char *file, size_t done, size_t total, void *ud) {
  (void)ud;
  if (total >= 32)
    fprintf(stderr, "\r%s: %zu/%zu features%s", file, done, total,
            done == total ? "\n" : "");
}

static int cmd_import(struct cli *c, int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: haven import FILE...\n");
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_import_stats st;
  struct hv_error err = {0};
  rc = hv_db_import(c->db, c->as, (const char *const *)argv + 1,
                    (size_t)argc - 1, isatty(2) ? progress : NULL, NULL, &st,
                    &err);
  if (rc != HV_OK) {
    cli_fail(rc, &err);
    fprintf(stderr, "haven: nothing was imported\n");
    return 1;
  }
  if (c->json) {
    json_t *j = json_pack("{s:I,s:I,s:I}", "created", (json_int_t)st.created,
                          "updated", (json_int_t)st.updated, "unchanged",
                          (json_int_t)st.unchanged);
    for (int k = 0; j && k < HV_KIND_COUNT; k++)
      if (st.by_kind[k])
        json_object_set_new(j, hv_kind_name((enum hv_kind)k),
                            json_integer((json_int_t)st.by_kind[k]));
    print_json(j);
  } else {
    printf("imported %zu objects: %zu created, %zu updated, %zu unchanged (",
           st.created + st.updated + st.unchanged, st.created, st.updated,
           st.unchanged);
    int first = 1;
    for (int k = 0; k < HV_KIND_COUNT; k++)
      if (st.by_kind[k]) {
        printf("%s%zu %s", first ? "" : ", ", st.by_kind[k],
               hv_kind_name((enum hv_kind)k));
        first = 0;
      }
    printf(")\n");
  }
  return 0;
}

static int cmd_export(struct cli *c, int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: haven export DIR\n");
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_error err = {0};
  rc = hv_db_export(c->db, argv[1], &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  if (!c->json)
    printf("exported to %s\n", argv[1]);
  return 0;
}

static int cmd_list(struct cli *c, int argc, char **argv) {
  struct opts o;
  int a, rc;
  enum hv_kind k;
  if ((rc = sub_opts(argc, argv, &o, &a)))
    return rc;
  argc = a + 1;
  a = 1;
  if (argc - a != 1) {
    fprintf(stderr, "usage: haven list KIND [--at T]\n");
    return 2;
  }
  if ((rc = parse_kind(argv[a], &k)) || (rc = cli_open(c)))
    return rc;
  json_t *arr = c->json ? json_array() : NULL;
  for (size_t i = 0; i < hv_db_count(c->db, k); i++) {
    const struct hv_object *obj = hv_db_at(c->db, k, i);
    if (arr)
      json_array_append_new(arr, hv_object_export_json(obj));
    else
      print_line(obj, o.at_ms);
  }
  if (arr) {
    /* Geometries make indented output unreadable: one object per line. */
    size_t i;
    json_t *e;
    fputs("[", stdout);
    json_array_foreach(arr, i, e) {
      fputs(i ? ",\n " : "\n ", stdout);
      json_dumpf(e, stdout,
                 JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    }
    fputs("\n]\n", stdout);
    json_decref(arr);
  }
  return 0;
}

/* The object named by "KIND ID" in argv[1..2] (usage names the command);
 * returns 0 with *out set, or the exit code after printing why. */
static int object_arg(struct cli *c, int argc, char **argv, const char *usage,
                      const struct hv_object **out) {
  enum hv_kind k;
  int rc;
  if (argc != 3) {
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
  }
  if ((rc = parse_kind(argv[1], &k)) || (rc = cli_open(c)))
    return rc;
  *out = hv_db_get(c->db, k, argv[2]);
  if (*out == NULL) {
    fprintf(stderr, "haven: no %s \"%s\"\n", hv_kind_name(k), argv[2]);
    return 1;
  }
  return 0;
}

static int cmd_show(struct cli *c, int argc, char **argv) {
  const struct hv_object *o;
  int rc = object_arg(c, argc, argv, "haven show KIND ID", &o);
  if (rc == 0)
    print_json(hv_object_export_json(o));
  return rc;
}

static int print_entry(const struct hv_ledger_entry *e, void *ud) {
  struct cli *c = ud;
  char t[32], h[65];
  if (c->json) {
    json_error_t jerr;
    json_t *body = json_loads(e->body, 0, &jerr);
    json_t *j = json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o}", "seq", (json_int_t)e->seq,
        "time", hv_time_format(e->time_ms, t, sizeof t), "author", e->author,
        "op", e->op, "kind", e->kind, "id", e->id, "version",
        (json_int_t)e->version, "hash", hv_hash_hex(e->hash, h), "body",
        body ? body : json_null());
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(j);
  } else {
    printf("%6lld  %s  %-12s %-8s %-11s %-28s v%-3lld %.12s\n",
           (long long)e->seq, hv_time_format(e->time_ms, t, sizeof t),
           e->author, e->op, e->kind, e->id, (long long)e->version,
           hv_hash_hex(e->hash, h));
  }
  return 0;
}

static int cmd_history(struct cli *c, int argc, char **argv) {
  const struct hv_object *o;
  int rc = object_arg(c, argc, argv, "haven history KIND ID", &o);
  if (rc)
    return rc;
  rc = hv_ledger_history(c->db, o->kind, o->id, print_entry, c);
  return rc == HV_OK ? 0 : cli_fail(rc, NULL);
}

static int cmd_phase(struct cli *c, int argc, char **argv) {
  struct opts o;
  int a, rc;
  if ((rc = sub_opts(argc, argv, &o, &a)))
    return rc;
  argc = a + 1;
  a = 1;
  enum hv_phase p;
  if (argc - a != 2) {
    fprintf(stderr, "usage: haven phase ZONE PHASE [--at T] [--reason TEXT] "
                    "[--if-version N]\n");
    return 2;
  }
  if (hv_phase_parse(argv[a + 1], &p) != HV_OK) {
    fprintf(stderr,
            "haven: phase: \"%s\" is not one of declared, established, open, "
            "suspended, dissolved\n",
            argv[a + 1]);
    return 2;
  }
  if ((rc = cli_open(c)))
    return rc;
  struct hv_error err = {0};
  rc = hv_db_zone_set_phase(c->db, c->as, argv[a], p, o.at_ms, o.reason,
                            o.if_version, &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  const struct hv_object *z = hv_db_get(c->db, HV_ZONE, argv[a]);
  printf("zone %s is now %s (version %lld)\n", z->id,
         hv_phase_name(z->u.zone.phase), (long long)z->version);
  return 0;
}

static int query_point(int argc, char **argv, int a, double *lon, double *lat) {
  int rc;
  if ((rc = cli_number("LON", argv[a], lon)) ||
      (rc = cli_number("LAT", argv[a + 1], lat)))
    return rc;
  if (*lon < -180 || *lon > 180 || *lat < -90 || *lat > 90) {
    fprintf(stderr, "haven: LON LAT out of range (lon -180..180, lat "
                    "-90..90)\n");
    return 2;
  }
  (void)argc;
  return 0;
}

static int cmd_query(struct cli *c, int argc, char **argv) {
  struct opts o;
  int a, rc;
  if ((rc = sub_opts(argc, argv, &o, &a)))
    return rc;
  argc = a + 1;
  a = 1;
  int n = argc - a;
  const char *what = n > 0 ? argv[a] : "";
  struct hv_hits hits = {0};
  double lon, lat, dist;
  if (strcmp(what, "zones") == 0 && n == 3) {
    if ((rc = query_point(argc, argv, a + 1, &lon, &lat)) || (rc = cli_open(c)))
      return rc;
    rc = hv_db_zones_at(c->db, lon, lat, o.alt_m, o.at_ms, &hits);
  } else if (strcmp(what, "near") == 0 && n == 4) {
    if ((rc = query_point(argc, argv, a + 1, &lon, &lat)) ||
        (rc = cli_number("METRES", argv[a + 3], &dist)))
      return rc;
    if (dist < 0) {
      fprintf(stderr, "haven: METRES must be >= 0\n");
      return 2;
    }
    if ((rc = cli_open(c)))
      return rc;
    rc = hv_db_within(c->db, lon, lat, dist, o.at_ms, &hits);
  } else if ((strcmp(what, "sponsors") == 0 ||
              strcmp(what, "agreements") == 0) &&
             n == 2) {
    if ((rc = cli_open(c)))
      return rc;
    rc = what[0] == 's'
             ? hv_db_sponsor_chain(c->db, argv[a + 1], &hits)
             : hv_db_agreements_covering(c->db, argv[a + 1], o.at_ms, &hits);
    if (rc == HV_ENOTFOUND) {
      fprintf(stderr, "haven: no party \"%s\"\n", argv[a + 1]);
      return 1;
    }
  } else {
    fprintf(stderr, "usage: haven query zones LON LAT [--alt M] [--at T]\n"
                    "       haven query near LON LAT METRES [--at T]\n"
                    "       haven query sponsors PARTY\n"
                    "       haven query agreements PARTY [--at T]\n");
    return 2;
  }
  if (rc != HV_OK) {
    hv_hits_free(&hits);
    return cli_fail(rc, NULL);
  }
  if (c->json) {
    print_json(hits_json(&hits, what[0] == 'n'));
  } else {
    for (size_t i = 0; i < hits.n; i++) {
      const struct hv_object *h = hits.v[i].obj;
      if (what[0] == 'n')
        printf("%10.0f m  %-11s %-26s %s\n", hits.v[i].dist_m,
               hv_kind_name(h->kind), h->id, obj_label(h));
      else if (what[0] == 'a')
        printf("%-24s %-14s %s\n", h->id,
               hv_coverage_name(hv_db_coverage(c->db, h, argv[a + 1])),
               h->name);
      else
        print_line(h, o.at_ms);
    }
    if (hits.n == 0)
      printf("(none)\n");
  }
  hv_hits_free(&hits);
  return 0;
}

static int cmd_ledger(struct cli *c, int argc, char **argv) {
  struct opts o;
  int a, rc;
  if ((rc = sub_opts(argc, argv, &o, &a)))
    return rc;
  argc = a + 1;
  a = 1;
  const char *what = argc > a ? argv[a] : "";
  struct hv_error err = {0};
  struct hv_verify_report rep;
  if (strcmp(what, "verify") == 0 && argc - a == 1) {
    if (o.file) {
      FILE *f = strcmp(o.file, "-") == 0 ? stdin : fopen(o.file, "r");
      if (f == NULL) {
        fprintf(stderr, "haven: %s: %s\n", o.file, strerror(errno));
        return 1;
      }
      rc = hv_ledger_verify_export(f, &rep, &err);
      if (f != stdin)
        fclose(f);
    } else {
      rc = hv_ledger_verify_dir(c->data, &rep, &err);
    }
    if (rc == HV_ETAMPER || (rc == HV_EPARSE && o.file)) {
      /* exit 3: the record does not verify (1 is for other failures) */
      fprintf(stderr, "haven: ledger does NOT verify: %s\n", err.msg);
      printf("FAILED at entry %lld (%lld good entries before it)\n",
             (long long)rep.bad_seq,
             (long long)(rep.bad_seq > 0 ? rep.bad_seq - 1 : 0));
      return 3;
    }
    if (rc != HV_OK)
      return cli_fail(rc, &err);
    printf("ledger ok: %lld entries, head %s\n", (long long)rep.entries,
           rep.head_hex);
    if (rep.withheld)
      printf("(%lld entries carried their body's hash only: withheld from "
             "this copy)\n",
             (long long)rep.withheld);
    if (rep.ids_withheld)
      printf("(%lld entries carried their id's hash only: withheld from "
             "this copy)\n",
             (long long)rep.ids_withheld);
    return 0;
  }
  if (strcmp(what, "export") == 0 && argc - a <= 2) {
    if ((rc = cli_open(c)))
      return rc;
    FILE *f = argc - a == 2 ? fopen(argv[a + 1], "w") : stdout;
    if (f == NULL) {
      fprintf(stderr, "haven: %s: %s\n", argv[a + 1], strerror(errno));
      return 1;
    }
    rc = hv_ledger_export(c->db, f, &err);
    if (f != stdout && fclose(f) != 0 && rc == HV_OK)
      rc = hv_error_set(&err, HV_EIO, "%s: %s", argv[a + 1], strerror(errno));
    return rc == HV_OK ? 0 : cli_fail(rc, &err);
  }
  if (strcmp(what, "show") == 0 && argc - a == 1) {
    if ((rc = cli_open(c)))
      return rc;
    rc = hv_ledger_each(c->db, o.from, o.to, print_entry, c);
    return rc == HV_OK ? 0 : cli_fail(rc, NULL);
  }
  fprintf(stderr, "usage: haven ledger verify [--file EXPORT]\n"
                  "       haven ledger export [FILE]\n"
                  "       haven ledger show [--from N] [--to N]\n");
  return 2;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"data", required_argument, NULL, 'd'},
      {"as", required_argument, NULL, 'u'},
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  struct cli c = {0};
  c.data = getenv("HAVEN_DATA");
  if (c.data == NULL || *c.data == '\0')
    c.data = "./haven-data";
  c.as = HV_COORDINATOR;
  int ch;
  while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'd':
      c.data = optarg;
      break;
    case 'u':
      c.as = optarg;
      break;
    case 'j':
      c.json = 1;
      break;
    case 'h':
      fputs(USAGE, stdout);
      return 0;
    default:
      fputs(USAGE, stderr);
      return 2;
    }
  }
  if (optind >= argc) {
    fputs(USAGE, stderr);
    return 2;
  }
  static const struct {
    const char *name;
    int (*fn)(struct cli *, int, char **);
  } cmds[] = {{"import", cmd_import},   {"export", cmd_export},
              {"list", cmd_list},       {"show", cmd_show},
              {"history", cmd_history}, {"phase", cmd_phase},
              {"query", cmd_query},     {"ledger", cmd_ledger},
              {"summary", cmd_summary}, {"token", cmd_token},
              {"serve", cmd_serve},     {"routes", cmd_routes},
              {"replay", cmd_replay},   {"check", cmd_check},
              {"incidents", cmd_incidents}, {"adjudicate", cmd_adjudicate},
              {"adjudications", cmd_adjudications},
              {"review", cmd_review},       {"reviews", cmd_reviews},
              {"status", cmd_status},       {"sieges", cmd_sieges},
              {"bulletin", cmd_bulletin}};
  const char *name = argv[optind];
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
    if (strcmp(cmds[i].name, name) == 0) {
      int rc = cmds[i].fn(&c, argc - optind, argv + optind);
      hv_db_close(c.db);
      return rc;
    }
  fprintf(stderr, "haven: unknown command \"%s\"\n\n%s", name, USAGE);
  return 2;
}
