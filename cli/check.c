/*
 * check.c — `haven check FILE`: a planned operation checked against the
 * agreed map as the party --as names, recorded in the ledger, its answer
 * and receipt printed as JSON (docs/checks.md); `haven check --verify
 * RECEIPT`: a receipt confirmed against the ledger.
 *
 * The answer printed is the one the asking party is given (what it may not
 * see is withheld), the one the ledger records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char USAGE[] =
    "usage: haven [--as PARTY] check FILE\n"
    "       haven check --verify RECEIPT\n"
    "FILE: a planned operation as JSON ({\"kind\", \"geometry\", "
    "\"effect_radius_m\",\n"
    "\"from\", \"to\", \"target\"?}; - reads standard input). Prints "
    "{\"answer\", \"receipt\"}.\n"
    "RECEIPT: a receipt, or the whole output of haven check.\n"
    "Exit status: 0 clear, 3 conflict, 4 forbidden (after recording); "
    "--verify: 0 when\n"
    "the receipt verifies, 1 when not; 2 bad usage.\n";

/* The JSON document of path ("-": standard input), or NULL after saying
 * why. */
static json_t *load(const char *path) {
  json_error_t jerr;
  json_t *doc = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &jerr)
                                       : json_load_file(path, 0, &jerr);
  if (doc == NULL)
    fprintf(stderr, "haven: %s: line %d, column %d: %s\n",
            strcmp(path, "-") == 0 ? "standard input" : path, jerr.line,
            jerr.column, jerr.text);
  return doc;
}

static int verify(struct cli *c, const char *path) {
  json_t *doc = load(path);
  if (doc == NULL)
    return 1;
  int rc = cli_open(c);
  if (rc) {
    json_decref(doc);
    return rc;
  }
  json_t *receipt = json_object_get(doc, "receipt");
  struct hv_error err = {0};
  rc = hv_check_verify_receipt(c->db, receipt ? receipt : doc, &err);
  json_int_t seq =
      json_integer_value(json_object_get(receipt ? receipt : doc, "seq"));
  json_decref(doc);
  if (rc == HV_ETAMPER || rc == HV_ENOTFOUND) {
    fprintf(stderr, "haven: the receipt does not verify: %s\n", err.msg);
    return 1;
  }
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  printf("receipt verifies: check recorded at entry %lld\n", (long long)seq);
  return 0;
}

int cmd_check(struct cli *c, int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--verify") == 0)
    return verify(c, argv[2]);
  if (argc != 2 || strncmp(argv[1], "--", 2) == 0) {
    fputs(USAGE, argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  json_t *doc = load(argv[1]);
  if (doc == NULL)
    return 1;
  int rc = cli_open(c);
  if (rc) {
    json_decref(doc);
    return rc;
  }
  struct hv_operation op;
  struct hv_error err = {0};
  rc = hv_operation_from_json(c->db, doc, &op, &err);
  json_decref(doc);
  if (rc != HV_OK) {
    fprintf(stderr, "haven: %s: ", argv[1]);
    return cli_fail(rc, &err);
  }
  op.author = c->as;
  struct hv_checker *chk = NULL;
  struct hv_verdict *v = NULL;
  int64_t seq = 0;
  if ((rc = hv_checker_new(c->db, &chk)) != HV_OK)
    hv_error_set(&err, rc, "out of memory");
  else if ((rc = hv_check(chk, &op, &v, &err)) == HV_OK)
    rc = hv_db_record_check(c->db, c->as, &op, v, &seq, &err);
  int status;
  if (rc != HV_OK) {
    status = cli_fail(rc, &err);
  } else {
    struct hv_principal who = hv_check_principal(c->db, c->as);
    json_t *out = hv_verdict_json(&who, c->db, v);
    char *text =
        out ? json_dumps(out, (c->json ? JSON_COMPACT : JSON_INDENT(2)) |
                                  JSON_REAL_PRECISION(15))
            : NULL;
    json_decref(out);
    if (text == NULL) {
      status = cli_fail(HV_ENOMEM, NULL);
    } else {
      puts(text);
      free(text);
      fprintf(stderr, "haven: %s (%zu reasons), recorded at entry %lld\n",
              hv_verdict_name(v->verdict), v->n_reasons, (long long)seq);
      status = v->verdict == HV_VERDICT_CLEAR      ? 0
               : v->verdict == HV_VERDICT_CONFLICT ? 3
                                                   : 4;
    }
  }
  hv_verdict_free(v);
  hv_checker_free(chk);
  hv_operation_clear(c->db, &op);
  return status;
}
