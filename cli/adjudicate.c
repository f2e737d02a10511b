/*
 * adjudicate.c — `haven adjudicate`, `haven adjudications`, `haven review`,
 * `haven reviews`: incidents judged against the agreements, the answers
 * exported, and the review of violations (docs/incidents.md).
 *
 * Every command acts as the party --as names (the coordinator by default),
 * with the role its kind gives (hv_check_principal), and sees what that
 * principal may see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses "--name value" options listed in names into vals (same order);
 * returns the index of the first non-option argument, or -1 after printing
 * why (usage). */
static int options(int argc, char **argv, int from, const char *const *names,
                   const char **vals, const char *usage) {
  int i = from;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    size_t k = 0;
    while (names[k] && strcmp(names[k], argv[i] + 2) != 0)
      k++;
    if (names[k] == NULL || i + 1 >= argc) {
      fprintf(stderr, "haven: %s: %s\n%s", argv[i],
              names[k] ? "needs a value" : "unknown option", usage);
      return -1;
    }
    vals[k] = argv[++i];
  }
  return i;
}

static const char ADJUDICATE_USAGE[] =
    "usage: haven [--as PARTY] [--json] adjudicate [INCIDENT...]\n"
    "Adjudicates every incident (or those named) against the agreements and\n"
    "records each answer that changed (docs/incidents.md).\n";

int cmd_adjudicate(struct cli *c, int argc, char **argv) {
  if (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
    fputs(ADJUDICATE_USAGE, stderr);
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_adjudicate_stats st;
  struct hv_error err = {0};
  int64_t t0 = hv_time_now_ms();
  rc = hv_db_adjudicate(c->db, c->as, (const char *const *)argv + 1,
                        (size_t)(argc - 1), &st, &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  double secs = (double)(hv_time_now_ms() - t0) / 1000.0;
  if (c->json) {
    json_t *j = json_pack(
        "{s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,s:f}", "incidents",
        (json_int_t)st.incidents, "recorded", (json_int_t)st.recorded,
        "unchanged", (json_int_t)st.unchanged, "rows", "violation",
        (json_int_t)st.by_class[HV_CLASS_VIOLATION], "uncertain",
        (json_int_t)st.by_class[HV_CLASS_UNCERTAIN], "excluded",
        (json_int_t)st.by_class[HV_CLASS_EXCLUDED], "outside",
        (json_int_t)st.by_class[HV_CLASS_OUTSIDE], "site_hits",
        (json_int_t)st.hits, "seconds", secs);
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(j);
    return 0;
  }
  printf("adjudicated %zu incidents in %.2f s: %zu answers recorded, %zu "
         "unchanged\n",
         st.incidents, secs, st.recorded, st.unchanged);
  printf("per agreement: %zu violations, %zu uncertain, %zu excluded, %zu "
         "outside; %zu hits on notified sites\n",
         st.by_class[HV_CLASS_VIOLATION], st.by_class[HV_CLASS_UNCERTAIN],
         st.by_class[HV_CLASS_EXCLUDED], st.by_class[HV_CLASS_OUTSIDE],
         st.hits);
  return 0;
}

static const char EXPORT_USAGE[] =
    "usage: haven [--as PARTY] adjudications [--format json|ndjson|csv|"
    "geojson]\n"
    "         [--agreement ID] [--class violation|uncertain|excluded|outside]\n"
    "         [--party ID] [--guarantor ID|none] [--zone ID] [--area ID]\n"
    "         [--from TIME] [--to TIME]\n"
    "The latest recorded adjudications, as --as may see them, on stdout.\n";

int cmd_adjudications(struct cli *c, int argc, char **argv) {
  static const char *const names[] = {
      "format", "agreement", "class", "party", "guarantor",
      "zone",   "area",      "from",  "to",    NULL};
  const char *v[9] = {0};
  int i = options(argc, argv, 1, names, v, EXPORT_USAGE);
  if (i < 0)
    return 2;
  if (i < argc) {
    fputs(EXPORT_USAGE, stderr);
    return 2;
  }
  enum hv_adj_format fmt = c->json ? HV_ADJ_JSON : HV_ADJ_CSV;
  if (v[0] && hv_adj_format_parse(v[0], &fmt) != HV_OK) {
    fprintf(stderr, "haven: --format: \"%s\" is not json, ndjson, csv or "
                    "geojson\n",
            v[0]);
    return 2;
  }
  struct hv_adj_filter f = {.agreement = v[1],
                            .party = v[3],
                            .guarantor = v[4],
                            .zone = v[5],
                            .area = v[6]};
  enum hv_class cls;
  if (v[2]) {
    if (hv_class_parse(v[2], &cls) != HV_OK) {
      fprintf(stderr, "haven: --class: \"%s\" is not violation, uncertain, "
                      "excluded or outside\n",
              v[2]);
      return 2;
    }
    f.cls = 1 + (int)cls;
  }
  if ((v[7] && cli_time("--from", v[7], &f.from_ms)) ||
      (v[8] && cli_time("--to", v[8], &f.to_ms)))
    return 2;
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_principal who = hv_check_principal(c->db, c->as);
  struct hv_error err = {0};
  size_t n;
  rc = hv_db_adjudications_write(c->db, &who, &f, fmt, stdout, &n, &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  fprintf(stderr, "haven: %zu incidents\n", n);
  return 0;
}

static const char REVIEW_USAGE[] =
    "usage: haven [--as PARTY] review INCIDENT AGREEMENT STEP --text TEXT\n"
    "         [--party ID --deadline TIME]   (request_info)\n"
    "         [--outcome confirmed|disputed|unverifiable|duplicate\n"
    "          [--duplicate-of INCIDENT]]     (assess)\n"
    "STEP: dispute, request_info, respond, assess (docs/incidents.md "
    "\"Reviews\").\n";

int cmd_review(struct cli *c, int argc, char **argv) {
  if (argc < 4) {
    fputs(REVIEW_USAGE, stderr);
    return 2;
  }
  static const char *const names[] = {"text", "party", "deadline", "outcome",
                                      "duplicate-of", NULL};
  const char *v[5] = {0};
  int i = options(argc, argv, 4, names, v, REVIEW_USAGE);
  if (i < 0)
    return 2;
  if (i < argc) {
    fputs(REVIEW_USAGE, stderr);
    return 2;
  }
  struct hv_review_input in = {.text = v[0], .party = v[1],
                               .duplicate_of = v[4]};
  if (hv_review_step_parse(argv[3], &in.step) != HV_OK) {
    fprintf(stderr, "haven: review: \"%s\" is not a step\n%s", argv[3],
            REVIEW_USAGE);
    return 2;
  }
  if (v[2] && cli_time("--deadline", v[2], &in.deadline_ms))
    return 2;
  in.outcome = HV_REVIEW_UNDER_REVIEW;
  for (int s = 0; v[3] && s < HV_REVIEW_COUNT; s++)
    if (strcmp(hv_review_state_name((enum hv_review_state)s), v[3]) == 0)
      in.outcome = (enum hv_review_state)s;
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_principal who = hv_check_principal(c->db, c->as);
  struct hv_review r;
  struct hv_error err = {0};
  rc = hv_db_review(c->db, &who, argv[1], argv[2], &in, &r, &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  json_t *j = hv_review_json(&r, hv_time_now_ms());
  if (c->json) {
    json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', stdout);
  } else {
    printf("%s %s: %s (%zu steps)\n", r.incident, r.agreement,
           hv_review_state_name(r.state), r.steps);
  }
  json_decref(j);
  return 0;
}

int cmd_reviews(struct cli *c, int argc, char **argv) {
  int open_only = argc > 1 && strcmp(argv[1], "--open") == 0;
  if (argc > 1 + open_only) {
    fputs("usage: haven [--json] reviews [--open]\n", stderr);
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  int64_t now = hv_time_now_ms();
  for (size_t i = 0; i < hv_db_review_count(c->db); i++) {
    const struct hv_review *r = hv_db_review_at(c->db, i);
    if (open_only && hv_review_assessed(r->state))
      continue;
    if (c->json) {
      json_t *j = hv_review_json(r, now);
      json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
      fputc('\n', stdout);
      json_decref(j);
    } else {
      char t[40];
      printf("%-24s %-16s %-15s %zu steps, last %s\n", r->incident,
             r->agreement, hv_review_state_name(r->state), r->steps,
             hv_time_format(r->updated_ms, t, sizeof t));
    }
  }
  return 0;
}
