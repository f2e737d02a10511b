/*
 * token.c — `haven token create|revoke|list`: the credentials of the HTTP
 * API, managed on the machine that holds the data directory (the operator
 * acts as the coordinator). A token is printed once, at creation; haven
 * keeps only its hash.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include <haven/auth.h>

static const char USAGE[] =
    "usage: haven token create --party ID --role ROLE [--label TEXT]\n"
    "       haven token revoke ID\n"
    "       haven token list\n"
    "ROLE is coordinator, party, agency or monitor.\n";

static int create(struct cli *c, int argc, char **argv) {
  const char *party = NULL, *role = NULL, *label = NULL;
  for (int i = 0; i < argc; i++) {
    const char **slot = strcmp(argv[i], "--party") == 0   ? &party
                        : strcmp(argv[i], "--role") == 0  ? &role
                        : strcmp(argv[i], "--label") == 0 ? &label
                                                          : NULL;
    if (slot == NULL || i + 1 >= argc) {
      fputs(USAGE, stderr);
      return 2;
    }
    *slot = argv[++i];
  }
  enum hv_role r;
  if (party == NULL || role == NULL || hv_role_parse(role, &r) != HV_OK) {
    fputs(USAGE, stderr);
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  char text[HV_TOKEN_TEXT_MAX], id[16];
  struct hv_error err = {0};
  rc = hv_db_token_create(c->db, c->as, party, r, label, text, id, &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  if (c->json) {
    printf("{\"id\":\"%s\",\"party\":\"%s\",\"role\":\"%s\",\"token\":\"%s\"}\n",
           id, party, hv_role_name(r), text);
  } else {
    printf("%s\n", text);
    fprintf(stderr,
            "haven: token %s for %s (%s) created; it is shown only now\n", id,
            party, hv_role_name(r));
  }
  return 0;
}

static int revoke(struct cli *c, int argc, char **argv) {
  if (argc != 1) {
    fputs(USAGE, stderr);
    return 2;
  }
  int rc = cli_open(c);
  if (rc)
    return rc;
  struct hv_error err = {0};
  rc = hv_db_token_revoke(c->db, c->as, argv[0], &err);
  if (rc != HV_OK)
    return cli_fail(rc, &err);
  printf("token %s revoked\n", argv[0]);
  return 0;
}

static int list(struct cli *c) {
  int rc = cli_open(c);
  if (rc)
    return rc;
  for (size_t i = 0; i < hv_db_count(c->db, HV_TOKEN); i++) {
    const struct hv_object *t = hv_db_at(c->db, HV_TOKEN, i);
    const char *label = json_string_value(json_object_get(t->doc, "label"));
    const char *at = json_string_value(json_object_get(t->doc, "created_at"));
    printf("%-12s %-24s %-11s %-8s %s %s\n", t->id, t->u.token.party,
           hv_role_name(t->u.token.role),
           t->u.token.revoked ? "revoked" : "active", at ? at : "",
           label ? label : "");
  }
  return 0;
}

int cmd_token(struct cli *c, int argc, char **argv) {
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "create") == 0)
    return create(c, argc - 2, argv + 2);
  if (strcmp(what, "revoke") == 0)
    return revoke(c, argc - 2, argv + 2);
  if (strcmp(what, "list") == 0 && argc == 2)
    return list(c);
  fputs(USAGE, stderr);
  return 2;
}
