/*
 * incidents.c — `haven incidents import --format FORMAT FILE...`: incidents
 * from the CSV files of conflict-event datasets (docs/incident-csv.md),
 * imported all or nothing as the party --as names.
 *
 * Every file is read completely before anything is written: a malformed
 * row in any file fails the whole command, nothing imported. The actor
 * names that resolve to no party, and the rows skipped for want of a
 * location, are listed on stderr — never dropped silently.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include <haven/incsv.h>

static const char USAGE[] =
    "usage: haven [--as PARTY] [--json] incidents import|convert --format "
    "FORMAT\n"
    "                [--utc-offset +HH:MM] [--lag-days N] FILE...\n"
    "import: into the store, all or nothing; convert: the incidents as one\n"
    "GeoJSON FeatureCollection on stdout, nothing imported.\n"
    "FORMAT: ucdp (UCDP GED), acled (ACLED), syrian-archive (Syrian "
    "Archive's\n"
    "alleged-attacks files). --utc-offset: the offset the files' dates are "
    "local to\n"
    "(default UTC). --lag-days: syrian-archive, how many days before the "
    "upload the\n"
    "attack may have happened (default 7). The mapping: "
    "docs/incident-csv.md.\n";

/* The skipped lines listed on one line at most. */
#define SKIPPED_SHOWN 20

/* What the command line asks for. */
struct args {
  enum hv_incsv_format fmt;
  struct hv_incsv_options opt;
  char **files;
  size_t n_files;
};

/* Parses argv (argv[0] "import"); 0, or 2 after printing why. */
static int parse_args(int argc, char **argv, struct args *a) {
  const char *format = NULL, *lag = NULL;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    const char **slot = strcmp(argv[i], "--format") == 0 ? &format
                        : strcmp(argv[i], "--utc-offset") == 0
                            ? &a->opt.utc_offset
                        : strcmp(argv[i], "--lag-days") == 0 ? &lag
                                                             : NULL;
    if (slot == NULL || i + 1 >= argc) {
      fprintf(stderr, "haven: incidents import: unknown option \"%s\"\n%s",
              argv[i], USAGE);
      return 2;
    }
    *slot = argv[++i];
  }
  struct hv_error err = {0};
  if (format == NULL || hv_incsv_format_parse(format, &a->fmt, &err) != HV_OK) {
    fprintf(stderr, "haven: incidents import: %s\n%s",
            format ? err.msg : "--format is required", USAGE);
    return 2;
  }
  if (lag) {
    char *end;
    long v = strtol(lag, &end, 10);
    if (*lag == '\0' || *end != '\0' || v < 1 || v > 3650) {
      fprintf(stderr,
              "haven: --lag-days: \"%s\" is not a number of days (1 to "
              "3650)\n",
              lag);
      return 2;
    }
    a->opt.lag_days = (int)v;
  }
  if (i >= argc) {
    fputs(USAGE, stderr);
    return 2;
  }
  a->files = argv + i;
  a->n_files = (size_t)(argc - i);
  return 0;
}

/* Sorts names by count descending, then name. */
static int cmp_count(const void *x, const void *y) {
  const struct hv_incsv_unresolved *a = x, *b = y;
  if (a->count != b->count)
    return a->count > b->count ? -1 : 1;
  return strcmp(a->name, b->name);
}

/* Prints the unresolved names (all files' counts summed by name) and the
 * skipped rows on stderr. */
static void report(const struct args *a, const struct hv_incsv_result *res) {
  json_t *m = json_object();
  for (size_t f = 0; m && f < a->n_files; f++)
    for (size_t i = 0; i < res[f].n_unresolved; i++) {
      const struct hv_incsv_unresolved *u = &res[f].unresolved[i];
      json_int_t c = json_integer_value(json_object_get(m, u->name));
      json_object_set_new(m, u->name, json_integer(c + (json_int_t)u->count));
    }
  size_t n = json_object_size(m);
  struct hv_incsv_unresolved *v = calloc(n ? n : 1, sizeof *v);
  if (v) {
    const char *k;
    json_t *c;
    size_t i = 0;
    json_object_foreach(m, k, c) {
      v[i].name = (char *)k; /* borrowed from m, which outlives v */
      v[i++].count = (size_t)json_integer_value(c);
    }
    qsort(v, n, sizeof *v, cmp_count);
    if (n)
      fprintf(stderr,
              "haven: %zu actor name%s resolve%s to no party (their "
              "incidents keep them in actors):\n",
              n, n == 1 ? "" : "s", n == 1 ? "s" : "");
    for (size_t j = 0; j < n; j++)
      fprintf(stderr, "%7zu  %s\n", v[j].count, v[j].name);
    free(v);
  }
  json_decref(m);
  for (size_t f = 0; f < a->n_files; f++) {
    if (res[f].skipped == 0)
      continue;
    fprintf(stderr, "haven: %s: %zu row%s skipped (blank coordinates), line%s",
            a->files[f], res[f].skipped, res[f].skipped == 1 ? "" : "s",
            res[f].skipped == 1 ? "" : "s");
    for (size_t j = 0; j < res[f].skipped && j < SKIPPED_SHOWN; j++)
      fprintf(stderr, "%s %zu", j ? "," : "", res[f].skipped_lines[j]);
    fprintf(stderr, "%s\n", res[f].skipped > SKIPPED_SHOWN ? ", …" : "");
  }
}

/* The summary as JSON: the import's counts, rows read and skipped, the
 * unresolved names per file. */
static json_t *summary_json(const struct args *a,
                            const struct hv_incsv_result *res,
                            const struct hv_import_stats *st) {
  json_t *files = json_array();
  for (size_t f = 0; files && f < a->n_files; f++) {
    json_t *skipped = json_array(), *unres = json_array();
    for (size_t j = 0; j < res[f].skipped; j++)
      json_array_append_new(skipped,
                            json_integer((json_int_t)res[f].skipped_lines[j]));
    for (size_t j = 0; j < res[f].n_unresolved; j++)
      json_array_append_new(
          unres, json_pack("{s:s,s:I}", "name", res[f].unresolved[j].name,
                           "count", (json_int_t)res[f].unresolved[j].count));
    json_array_append_new(
        files, json_pack("{s:s,s:I,s:o,s:o}", "file", a->files[f], "rows",
                         (json_int_t)res[f].rows, "skipped_lines", skipped,
                         "unresolved", unres));
  }
  return json_pack("{s:s,s:I,s:I,s:I,s:o}", "format",
                   hv_incsv_format_name(a->fmt), "created",
                   (json_int_t)st->created, "updated", (json_int_t)st->updated,
                   "unchanged", (json_int_t)st->unchanged, "files", files);
}

static void progress(const char *file, size_t done, size_t total, void *ud) {
  (void)ud;
  if (total >= 32)
    fprintf(stderr, "\r%s: %zu/%zu incidents%s", file, done, total,
            done == total ? "\n" : "");
}

/* Reads every file, then imports them together — or, with convert, writes
 * them as one FeatureCollection on stdout instead (nothing imported). */
static int import(struct cli *c, const struct args *a, int convert) {
  struct hv_incsv_result *res = calloc(a->n_files, sizeof *res);
  json_t **docs = calloc(a->n_files, sizeof *docs);
  if (res == NULL || docs == NULL) {
    free(res);
    free(docs);
    return cli_fail(HV_ENOMEM, NULL);
  }
  struct hv_error err = {0};
  int rc = HV_OK;
  size_t rows = 0, skipped = 0;
  for (size_t f = 0; f < a->n_files && rc == HV_OK; f++) {
    rc = hv_incsv_read(c->db, a->fmt, a->files[f], &a->opt, &res[f], &err);
    docs[f] = res[f].features;
    rows += res[f].rows;
    skipped += res[f].skipped;
  }
  struct hv_import_stats st = {0};
  if (rc == HV_OK)
    report(a, res);
  if (rc == HV_OK && convert) {
    json_t *all = json_array();
    for (size_t f = 0; all && f < a->n_files; f++)
      json_array_extend(all, json_object_get(docs[f], "features"));
    json_t *fc = all ? json_pack("{s:s,s:o}", "type", "FeatureCollection",
                                 "features", all)
                     : NULL;
    if (fc == NULL ||
        json_dumpf(fc, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0)
      rc = hv_error_set(&err, fc ? HV_EIO : HV_ENOMEM,
                        "cannot write the features");
    fputc('\n', stdout);
    json_decref(fc);
    for (size_t f = 0; f < a->n_files; f++)
      hv_incsv_result_free(&res[f]);
    free(res);
    free(docs);
    return rc == HV_OK ? 0 : cli_fail(rc, &err);
  }
  if (rc == HV_OK)
    rc = hv_db_import_docs(c->db, c->as, docs, (const char *const *)a->files,
                           a->n_files, isatty(2) ? progress : NULL, NULL, &st,
                           &err);
  if (rc != HV_OK) {
    cli_fail(rc, &err);
    fprintf(stderr, "haven: nothing was imported\n");
  } else if (c->json) {
    json_t *j = summary_json(a, res, &st);
    if (j)
      json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(j);
  } else {
    printf("read %zu rows from %zu file%s (%zu skipped); imported %zu "
           "incidents: %zu created, %zu updated, %zu unchanged\n",
           rows, a->n_files, a->n_files == 1 ? "" : "s", skipped,
           st.created + st.updated + st.unchanged, st.created, st.updated,
           st.unchanged);
  }
  for (size_t f = 0; f < a->n_files; f++)
    hv_incsv_result_free(&res[f]);
  free(res);
  free(docs);
  return rc == HV_OK ? 0 : 1;
}

int cmd_incidents(struct cli *c, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
    fputs(USAGE, stdout);
    return 0;
  }
  int convert = argc >= 2 && strcmp(argv[1], "convert") == 0;
  if (argc < 2 || (strcmp(argv[1], "import") != 0 && !convert)) {
    fputs(USAGE, stderr);
    return 2;
  }
  struct args a = {0};
  int rc = parse_args(argc - 1, argv + 1, &a);
  if (rc)
    return rc;
  if ((rc = cli_open(c)) != 0)
    return rc;
  return import(c, &a, convert);
}
