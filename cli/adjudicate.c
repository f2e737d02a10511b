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

/* Prints j as one compact line and frees it. */
static void json_line(json_t *j) {
  json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
  fputc('\n', stdout);
  json_decref(j);
}

/* Parses argv[from..argc): "--name value" for the names listed (into vals,
 * same order) and "--flag" for the flags listed (set[k] = 1), in any order
 * among the other arguments, which are moved, in their order, to
 * argv[from..]. Returns how many those are, or -1 after printing why and
 * usage. */
static int options(int argc, char **argv, int from, const char *const *names,
                   const char **vals, const char *const *flags, int *set,
                   const char *usage) {
  int n = 0;
  for (int i = from; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) != 0) {
      argv[from + n++] = argv[i];
      continue;
    }
    size_t k = 0;
    while (flags && flags[k] && strcmp(flags[k], argv[i] + 2) != 0)
      k++;
    if (flags && flags[k]) {
      set[k] = 1;
      continue;
    }
    k = 0;
    while (names[k] && strcmp(names[k], argv[i] + 2) != 0)
      k++;
    if (names[k] == NULL || i + 1 >= argc) {
      fprintf(stderr, "haven: %s: %s\n%s", argv[i],
              names[k] ? "needs a value" : "unknown option", usage);
      return -1;
    }
    vals[k] = argv[++i];
  }
  return n;
}

/* --at TIME (default now) and a number of days option (days_opt, given as
 * days_text; NULL: *ms stays) into *at and *ms. 0, or 2 after printing
 * why. */
static int at_and_days(const char *at_text, const char *days_opt,
                       const char *days_text, int64_t *at, int64_t *ms) {
  double days;
  *at = hv_time_now_ms();
  if ((at_text && cli_time("--at", at_text, at)) ||
      (days_text && cli_number(days_opt, days_text, &days)))
    return 2;
  if (days_text)
    *ms = (int64_t)(days * 86400000.0);
  return 0;
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
    json_line(j);
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
  int n = options(argc, argv, 1, names, v, NULL, NULL, EXPORT_USAGE);
  if (n < 0)
    return 2;
  if (n > 0) {
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
  size_t written;
  rc = hv_db_adjudications_write(c->db, &who, &f, fmt, stdout, &written,
                                 &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  fprintf(stderr, "haven: %zu incidents\n", written);
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
  int n = options(argc, argv, 4, names, v, NULL, NULL, REVIEW_USAGE);
  if (n < 0)
    return 2;
  if (n > 0) {
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
  if (c->json)
    json_line(hv_review_json(&r, hv_time_now_ms()));
  else
    printf("%s %s: %s (%zu steps)\n", r.incident, r.agreement,
           hv_review_state_name(r.state), r.steps);
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
  struct hv_error err = {0};
  if ((rc = hv_db_records_load(c->db, &err)) != HV_OK)
    return cli_fail(rc, &err);
  int64_t now = hv_time_now_ms();
  for (size_t i = 0; i < hv_db_review_count(c->db); i++) {
    const struct hv_review *r = hv_db_review_at(c->db, i);
    if (open_only && hv_review_assessed(r->state))
      continue;
    if (c->json) {
      json_line(hv_review_json(r, now));
    } else {
      char t[40];
      printf("%-24s %-16s %-15s %zu steps, last %s\n", r->incident,
             r->agreement, hv_review_state_name(r->state), r->steps,
             hv_time_format(r->updated_ms, t, sizeof t));
    }
  }
  return 0;
}

static const char STATUS_USAGE[] =
    "usage: haven [--json] status [--at TIME] [--window-days N] [ZONE...]\n"
    "The status of zones (holding, strained, violated, collapsed) from the\n"
    "recorded adjudications of the window before TIME (default now, 7 days;\n"
    "docs/zone-status.md). No ZONE: every zone in force at TIME.\n";

int cmd_status(struct cli *c, int argc, char **argv) {
  static const char *const names[] = {"at", "window-days", NULL};
  const char *v[2] = {0};
  int n = options(argc, argv, 1, names, v, NULL, NULL, STATUS_USAGE);
  if (n < 0)
    return 2;
  char **zones = argv + 1; /* the n zones named */
  int64_t at;
  struct hv_status_params p = hv_status_params_default();
  if (at_and_days(v[0], "--window-days", v[1], &at, &p.window_ms))
    return 2;
  int rc = cli_open(c);
  if (rc)
    return rc;
  size_t all = n ? (size_t)n : hv_db_count(c->db, HV_ZONE);
  for (size_t k = 0; k < all; k++) {
    const char *id = n ? zones[k] : hv_db_at(c->db, HV_ZONE, k)->id;
    if (!n && !hv_zone_in_force(hv_db_at(c->db, HV_ZONE, k), at))
      continue;
    struct hv_zone_state st;
    struct hv_error err = {0};
    rc = hv_db_zone_state(c->db, id, at, &p, &st, &err);
    if (rc != HV_OK)
      return cli_fail(rc, &err);
    if (c->json) {
      json_line(hv_zone_state_json(&st));
    } else {
      printf("%-24s %-10s %4ld violations, %5ld deaths, %4ld uncertain\n",
             st.zone, hv_zone_status_name(st.status), st.violations,
             st.fatalities, st.uncertain);
    }
  }
  return 0;
}

static const char SIEGES_USAGE[] =
    "usage: haven [--json] sieges [--at TIME] [--period-days N] [--record]\n"
    "Tests every populated zone for a siege at TIME (default now): encircled,\n"
    "no completed movement in the period (default 30 days), no exit\n"
    "(docs/zone-status.md). --record: record a siege_suspected finding for\n"
    "each suspected one (as the coordinator).\n";

int cmd_sieges(struct cli *c, int argc, char **argv) {
  static const char *const names[] = {"at", "period-days", NULL};
  static const char *const flags[] = {"record", NULL};
  const char *v[2] = {0};
  int record = 0;
  int n = options(argc, argv, 1, names, v, flags, &record, SIEGES_USAGE);
  if (n < 0)
    return 2;
  if (n > 0) {
    fputs(SIEGES_USAGE, stderr);
    return 2;
  }
  int64_t at;
  struct hv_siege_params p = hv_siege_params_default();
  if (at_and_days(v[0], "--period-days", v[1], &at, &p.no_access_ms))
    return 2;
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_siege *s = NULL;
  size_t ns = 0;
  struct hv_error err = {0};
  rc = hv_db_sieges(c->db, at, &p, &s, &ns, &err);
  for (size_t k = 0; rc == HV_OK && k < ns; k++) {
    int recorded = 0;
    if (record && s[k].suspected)
      rc = hv_db_record_siege(c->db, &s[k], &p, &recorded, NULL, &err);
    if (rc != HV_OK)
      break;
    if (c->json) {
      json_t *j = hv_siege_json(&s[k]);
      json_object_set_new(j, "recorded", json_boolean(recorded));
      json_line(j);
    } else {
      printf("%-24s %s: encircled %s (%zu of %zu corridors closed), no "
             "access %s, no exit %s%s\n",
             s[k].zone, s[k].suspected ? "SIEGE SUSPECTED" : "no siege",
             s[k].encircled ? "yes" : "no", s[k].corridors_closed,
             s[k].corridors, s[k].no_access ? "yes" : "no",
             s[k].no_exit ? "yes" : "no", recorded ? "; finding recorded" : "");
    }
  }
  free(s);
  return rc == HV_OK ? 0 : cli_fail(rc, &err);
}

static const char BULLETIN_USAGE[] =
    "usage: haven [--as PARTY] [--json] bulletin --agreement ID [--date D]\n"
    "         [--utc-offset +HH:MM] [--days N] [--trend N]\n"
    "         [--format text|json|csv|svg]\n"
    "The bulletin of an agreement for the period of N days (default 1) from\n"
    "D at midnight (default: yesterday; UTC, or local to --utc-offset, as the\n"
    "incidents' dates were imported), with the change from the period\n"
    "before, as --as may see it (docs/bulletin.md).\n";

int cmd_bulletin(struct cli *c, int argc, char **argv) {
  static const char *const names[] = {"agreement", "date",   "days",
                                      "trend",     "format", "utc-offset",
                                      NULL};
  const char *v[6] = {0};
  int n = options(argc, argv, 1, names, v, NULL, NULL, BULLETIN_USAGE);
  if (n < 0)
    return 2;
  if (n > 0 || v[0] == NULL) {
    fputs(BULLETIN_USAGE, stderr);
    return 2;
  }
  struct hv_bulletin_opts o = {.agreement = v[0]};
  double days = 1, trend = 0;
  char date[64];
  if (v[1] && v[5]) {
    if (strlen(v[1]) != 10 || strlen(v[5]) != 6 ||
        (v[5][0] != '+' && v[5][0] != '-')) {
      fprintf(stderr, "haven: --utc-offset +HH:MM goes with a --date "
                      "YYYY-MM-DD\n");
      return 2;
    }
    snprintf(date, sizeof date, "%sT00:00:00%s", v[1], v[5]);
    v[1] = date;
  }
  if ((v[1] && cli_time("--date", v[1], &o.from_ms)) ||
      (v[2] && cli_number("--days", v[2], &days)) ||
      (v[3] && cli_number("--trend", v[3], &trend)))
    return 2;
  if (!(days >= 1 && days <= 366) || days != (double)(int64_t)days ||
      !(trend >= 0 && trend <= HV_BULLETIN_TREND_MAX)) {
    fprintf(stderr, "haven: --days: a whole number from 1 to 366; --trend: "
                    "0 to 366 periods\n");
    return 2;
  }
  if (v[1] == NULL) /* yesterday, UTC */
    o.from_ms = (hv_time_now_ms() / HV_BULLETIN_DAY_MS - 1) *
                HV_BULLETIN_DAY_MS;
  o.to_ms = o.from_ms + (int64_t)days * HV_BULLETIN_DAY_MS;
  o.trend_periods = (int)trend;
  int json = c->json || (v[4] && strcmp(v[4], "json") == 0);
  enum hv_bulletin_format fmt = HV_BULLETIN_TEXT;
  if (!json && v[4] && hv_bulletin_format_parse(v[4], &fmt) != HV_OK) {
    fprintf(stderr, "haven: --format: \"%s\" is not text, json, csv or svg\n",
            v[4]);
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_principal who = hv_check_principal(c->db, c->as);
  struct hv_error err = {0};
  json_t *b = NULL;
  rc = hv_db_bulletin(c->db, &who, &o, &b, &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  if (json) {
    json_dumpf(b, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    fputc('\n', stdout);
  } else {
    rc = hv_bulletin_write(b, fmt, stdout);
  }
  json_decref(b);
  return rc == HV_OK ? 0 : cli_fail(rc, NULL);
}
