/*
 * cli.h — what the subcommands of the `haven` command share.
 */
#ifndef HAVEN_CLI_H
#define HAVEN_CLI_H

#include <haven/haven.h>

/* Options common to every subcommand. */
struct cli {
  const char *data; /* --data, HAVEN_DATA, or ./haven-data */
  const char *as;   /* --as: the party writing */
  int json;         /* --json: machine-readable output */
  struct hv_db *db; /* opened on demand by cli_open */
};

/* Opens cli->db, printing the error on failure. Returns 0 or an exit code. */
int cli_open(struct cli *c);

/* Prints "haven: <message>" for err / rc on stderr; returns exit code 1
 * (2 for bad usage is returned by callers directly). */
int cli_fail(int rc, const struct hv_error *err);

/* Parses a time option value, or prints an error naming the option. */
int cli_time(const char *opt, const char *text, int64_t *out);

/* Parses a finite number argument, or prints an error naming it. */
int cli_number(const char *what, const char *text, double *out);

int cmd_summary(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_routes(struct cli *c, int argc, char **argv);
int cmd_token(struct cli *c, int argc, char **argv);
int cmd_replay(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_incidents(struct cli *c, int argc, char **argv);
int cmd_adjudicate(struct cli *c, int argc, char **argv);
int cmd_adjudications(struct cli *c, int argc, char **argv);
int cmd_review(struct cli *c, int argc, char **argv);
int cmd_reviews(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_sieges(struct cli *c, int argc, char **argv);
int cmd_bulletin(struct cli *c, int argc, char **argv);

#endif
