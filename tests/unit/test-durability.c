/*
 * test-durability.c — kill -9 while writing: nothing acknowledged is lost,
 * nothing half-written is kept, and the record still verifies.
 *
 * One data directory lives through every round. In each round a child
 * process opens it and writes without pause — new parties, updates of
 * parties, phase changes of a zone, and batches (two parties and an
 * agreement in one import) — and after each write that returned HV_OK it
 * sends an acknowledgement down a pipe with write(2), unbuffered. The
 * parent reads the acknowledgements and kills the child with SIGKILL after
 * a short pseudo-random delay (deterministic seed), counted from the
 * child's first write in most rounds and from the fork in every fourth
 * (so that some kills land while the store is being opened). Then the
 * parent reopens the store and checks:
 *
 * - every acknowledged write is there (at its acknowledged version or a
 *   later one);
 * - every batch is there whole or not at all, acknowledged or not;
 * - hv_ledger_verify passes and the ledger only grew;
 * - the store takes a new write.
 *
 * The parent never has the store open while a child runs (SQLite handles
 * must not cross a fork).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haven/haven.h"
#include "testutil.h"

#define ROUNDS 24
#define MAX_DELAY_MS 200
#define ZONE_ID "dur-zone"

/* One acknowledgement: 64 bytes, so each write(2) to the pipe is atomic
 * (PIPE_BUF >= 512) and the parent can read whole records. */
struct ack {
  char type; /* R ready, P party created, U party updated, Z zone phase,
                B batch, E error */
  char pad[7];
  int64_t version;
  char id[48];
};
_Static_assert(sizeof(struct ack) == 64, "ack records are 64 bytes");

static char g_scratch[2048];
static char g_data[2200];

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift32: the same delays on every run. */
static uint32_t g_rng = 0x5eed1234u;
static uint32_t next_rand(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 17;
  g_rng ^= g_rng << 5;
  return g_rng;
}

/* ---- the child
 * --------------------------------------------------------------- No cmocka
 * here: a failed check sends an E record and exits. */

static void child_send(int fd, char type, const char *id, int64_t version) {
  struct ack a;
  memset(&a, 0, sizeof a);
  a.type = type;
  a.version = version;
  snprintf(a.id, sizeof a.id, "%s", id ? id : "");
  if (write(fd, &a, sizeof a) != (ssize_t)sizeof a)
    _exit(3);
}

static void child_fail(int fd, const char *what, int rc,
                       const struct hv_error *err) {
  fprintf(stderr, "child: %s: %s: %s\n", what, hv_err_name(rc),
          err ? err->msg : "");
  child_send(fd, 'E', what, rc);
  _exit(1);
}

static int child_import(struct hv_db *db, const char *file, const char *text,
                        struct hv_error *err) {
  FILE *f = fopen(file, "w");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
    return HV_EIO;
  const char *paths[] = {file};
  return hv_db_import(db, HV_COORDINATOR, paths, 1, NULL, NULL, NULL, err);
}

static void run_child(int round, int fd) {
  alarm(30); /* never outlive a parent that failed to kill us */
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  int rc = hv_db_open(g_data, &db, &err);
  if (rc != HV_OK)
    child_fail(fd, "open", rc, &err);
  child_send(fd, 'R', NULL, 0);
  char file[2400], name[64], text[1024], last_party[48] = "";
  snprintf(name, sizeof name, "w%02d.json", round);
  tu_path_in(file, sizeof file, g_scratch, name);
  for (int n = 1;; n++) {
    char id[48];
    memset(&err, 0, sizeof err);
    if (n % 7 == 0) {
      /* A batch: two parties and an agreement, one transaction. */
      snprintf(id, sizeof id, "r%02d-b%05d", round, n);
      snprintf(text, sizeof text,
               "{\"parties\": ["
               "{\"id\": \"%s-a\", \"name\": \"Batch %s A\", \"kind\": "
               "\"armed_group\"},"
               "{\"id\": \"%s-b\", \"name\": \"Batch %s B\", \"kind\": "
               "\"armed_group\"}],"
               "\"agreements\": [{\"id\": \"%s-ag\", \"name\": \"Pause %s\","
               " \"kind\": \"humanitarian_pause\", \"valid_from\": "
               "\"2016-10-20\", \"scope\": \"nationwide\", \"covered\": "
               "[\"%s-a\", \"%s-b\"], \"terms\": [\"shelling\"]}]}",
               id, id, id, id, id, id, id, id);
      if ((rc = child_import(db, file, text, &err)) != HV_OK)
        child_fail(fd, "batch", rc, &err);
      child_send(fd, 'B', id, 1);
    } else if (n % 4 == 2 && last_party[0]) {
      /* Update the party created last: its version goes up. */
      snprintf(text, sizeof text,
               "{\"parties\": [{\"id\": \"%s\", \"name\": \"Renamed %s %d\", "
               "\"kind\": \"armed_group\"}]}",
               last_party, last_party, n);
      if ((rc = child_import(db, file, text, &err)) != HV_OK)
        child_fail(fd, "update", rc, &err);
      const struct hv_object *p = hv_db_get(db, HV_PARTY, last_party);
      if (p == NULL)
        child_fail(fd, "update: party gone", HV_ENOTFOUND, NULL);
      child_send(fd, 'U', last_party, p->version);
    } else if (n % 4 == 3) {
      /* Toggle the zone between established and suspended. */
      const struct hv_object *z = hv_db_get(db, HV_ZONE, ZONE_ID);
      if (z == NULL)
        child_fail(fd, "zone gone", HV_ENOTFOUND, NULL);
      enum hv_phase to = z->u.zone.phase == HV_PHASE_ESTABLISHED
                             ? HV_PHASE_SUSPENDED
                             : HV_PHASE_ESTABLISHED;
      rc = hv_db_zone_set_phase(db, HV_COORDINATOR, ZONE_ID, to,
                                hv_time_now_ms(), "durability test", z->version,
                                &err);
      if (rc != HV_OK)
        child_fail(fd, "phase", rc, &err);
      child_send(fd, 'Z', ZONE_ID, hv_db_get(db, HV_ZONE, ZONE_ID)->version);
    } else {
      snprintf(id, sizeof id, "r%02d-p%05d", round, n);
      snprintf(text, sizeof text,
               "{\"parties\": [{\"id\": \"%s\", \"name\": \"Party %s\", "
               "\"kind\": \"armed_group\"}]}",
               id, id);
      if ((rc = child_import(db, file, text, &err)) != HV_OK)
        child_fail(fd, "create", rc, &err);
      snprintf(last_party, sizeof last_party, "%s", id);
      child_send(fd, 'P', id, 1);
    }
  }
}

/* ---- the parent ------------------------------------------------------------
 */

struct round_acks {
  struct ack *v;
  size_t n, cap;
  int ready;
  int64_t entries; /* ledger entries the acknowledged writes made */
};

static void take(struct round_acks *r, const struct ack *a) {
  if (a->type == 'E')
    fail_msg("child failed: %s", a->id);
  if (a->type == 'R') {
    r->ready = 1;
    return;
  }
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 256;
    r->v = realloc(r->v, r->cap * sizeof *r->v);
    assert_non_null(r->v);
  }
  r->v[r->n++] = *a;
  r->entries += a->type == 'B' ? 3 : 1;
}

/* Reads whatever records are available (or waits up to wait_ms for some);
 * returns 0 at end of file. */
static int pump(int fd, struct round_acks *r, char *buf, size_t *have,
                int wait_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int pr = poll(&p, 1, wait_ms < 0 ? 0 : wait_ms);
  if (pr < 0 && errno == EINTR)
    return 1;
  assert_true(pr >= 0);
  if (pr == 0)
    return 1;
  ssize_t got = read(fd, buf + *have, 4096 - *have);
  if (got < 0 && errno == EINTR)
    return 1;
  assert_true(got >= 0);
  if (got == 0)
    return 0;
  *have += (size_t)got;
  size_t off = 0;
  for (; *have - off >= sizeof(struct ack); off += sizeof(struct ack)) {
    struct ack a;
    memcpy(&a, buf + off, sizeof a);
    take(r, &a);
  }
  memmove(buf, buf + off, *have - off);
  *have -= off;
  return 1;
}

static void seed_store(void) {
  char zfile[2400];
  tu_path_in(zfile, sizeof zfile, g_scratch, "zone.geojson");
  tu_write_file(
      zfile,
      "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": "
      "\"Feature\", \"id\": \"" ZONE_ID "\", \"geometry\": {\"type\": "
      "\"Polygon\", \"coordinates\": [[[36.1,35.6],[36.9,35.6],[36.9,36.3],"
      "[36.1,36.3],[36.1,35.6]]]}, \"properties\": {\"object\": \"zone\", "
      "\"name\": \"Durability zone\", \"kind\": \"de_escalation\", "
      "\"valid_from\": \"2017-05-06\", \"phase\": \"established\"}}]}");
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  assert_int_equal(hv_db_open(g_data, &db, &err), HV_OK);
  const char *paths[] = {zfile};
  int rc = hv_db_import(db, HV_COORDINATOR, paths, 1, NULL, NULL, NULL, &err);
  if (rc != HV_OK)
    fail_msg("seed: %s", err.msg);
  hv_db_close(db);
}

/* Checks the store after round `round`; returns its ledger length. */
static int64_t check_store(int round, const struct round_acks *r,
                           int64_t prev_entries) {
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  int rc = hv_db_open(g_data, &db, &err);
  if (rc != HV_OK)
    fail_msg("round %d: reopen: %s: %s", round, hv_err_name(rc), err.msg);

  int64_t zone_version = 0;
  for (size_t i = 0; i < r->n; i++) {
    const struct ack *a = &r->v[i];
    const struct hv_object *o;
    char id[64];
    switch (a->type) {
    case 'P':
    case 'U':
      o = hv_db_get(db, HV_PARTY, a->id);
      if (o == NULL)
        fail_msg("round %d: acknowledged party %s is missing", round, a->id);
      if (o->version < a->version)
        fail_msg("round %d: party %s is at version %lld, version %lld was "
                 "acknowledged",
                 round, a->id, (long long)o->version, (long long)a->version);
      break;
    case 'Z':
      if (a->version > zone_version)
        zone_version = a->version;
      break;
    case 'B':
      snprintf(id, sizeof id, "%s-ag", a->id);
      if (hv_db_get(db, HV_AGREEMENT, id) == NULL)
        fail_msg("round %d: acknowledged agreement %s is missing", round, id);
      break;
    default:
      fail_msg("round %d: unexpected record type %c", round, a->type);
    }
  }
  const struct hv_object *z = hv_db_get(db, HV_ZONE, ZONE_ID);
  assert_non_null(z);
  if (z->version < zone_version)
    fail_msg("round %d: zone at version %lld, version %lld was acknowledged",
             round, (long long)z->version, (long long)zone_version);
  /* The zone's phase is consistent with its history. */
  assert_int_equal(z->u.zone.phase,
                   z->u.zone.history[z->u.zone.n_history - 1].phase);

  /* Batches: whole or absent, whether acknowledged or not. */
  for (size_t i = 0; i < hv_db_count(db, HV_AGREEMENT); i++) {
    const struct hv_object *ag = hv_db_at(db, HV_AGREEMENT, i);
    size_t len = strlen(ag->id);
    assert_true(len > 3 && strcmp(ag->id + len - 3, "-ag") == 0);
    char a[64], b[64];
    snprintf(a, sizeof a, "%.*s-a", (int)(len - 3), ag->id);
    snprintf(b, sizeof b, "%.*s-b", (int)(len - 3), ag->id);
    if (hv_db_get(db, HV_PARTY, a) == NULL ||
        hv_db_get(db, HV_PARTY, b) == NULL)
      fail_msg("round %d: batch %s is incomplete", round, ag->id);
  }
  size_t batch_parties = 0;
  for (size_t i = 0; i < hv_db_count(db, HV_PARTY); i++) {
    const char *id = hv_db_at(db, HV_PARTY, i)->id;
    size_t len = strlen(id);
    if (strstr(id, "-b") && len > 2 &&
        (strcmp(id + len - 2, "-a") == 0 || strcmp(id + len - 2, "-b") == 0))
      batch_parties++;
  }
  assert_int_equal(batch_parties, 2 * hv_db_count(db, HV_AGREEMENT));

  struct hv_verify_report rep;
  rc = hv_ledger_verify(db, &rep, &err);
  if (rc != HV_OK)
    fail_msg("round %d: verify: %s: %s", round, hv_err_name(rc), err.msg);
  /* Everything acknowledged this round is in the ledger on top of what
   * was there before. */
  assert_true(rep.entries >= prev_entries + r->entries);

  /* The store takes a write after the kill. */
  rc = hv_db_zone_set_phase(db, HV_COORDINATOR, ZONE_ID,
                            z->u.zone.phase == HV_PHASE_ESTABLISHED
                                ? HV_PHASE_SUSPENDED
                                : HV_PHASE_ESTABLISHED,
                            hv_time_now_ms(), "parent", z->version, &err);
  if (rc != HV_OK)
    fail_msg("round %d: write after kill: %s: %s", round, hv_err_name(rc),
             err.msg);
  assert_int_equal(hv_ledger_verify(db, &rep, &err), HV_OK);
  int64_t entries = rep.entries;
  hv_db_close(db);
  return entries;
}

static void test_kill_while_writing(void **state) {
  (void)state;
  /* A directory of this process's own: several people may run the suite
   * in one build tree at once. Left behind when the test fails. */
  assert_int_equal(tu_scratch_dir(g_scratch, sizeof g_scratch, "run"), 0);
  tu_path_in(g_data, sizeof g_data, g_scratch, "data");
  seed_store();

  int64_t t0 = mono_ms();
  int64_t entries = 0;
  size_t total_acked = 0;
  int rounds_with_acks = 0;
  for (int round = 0; round < ROUNDS; round++) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(fds[0]);
      run_child(round, fds[1]);
      _exit(0);
    }
    close(fds[1]);
    int from_fork = round % 4 == 3;
    int64_t delay = from_fork ? (int64_t)(next_rand() % 40)
                              : 2 + (int64_t)(next_rand() % MAX_DELAY_MS);
    struct round_acks r = {0};
    char buf[4096];
    size_t have = 0;
    int64_t start = mono_ms(), deadline = from_fork ? start + delay : -1;
    int alive = 1;
    for (;;) {
      int64_t now = mono_ms();
      if (deadline < 0 && r.n > 0)
        deadline = now + delay; /* counted from the first write */
      if (deadline >= 0 && now >= deadline)
        break;
      if (now - start > 20000)
        fail_msg("round %d: the child made no write in 20 s", round);
      if (!(alive = pump(fds[0], &r, buf, &have,
                         deadline >= 0 ? (int)(deadline - now) : 50)))
        break;
    }
    assert_true(alive); /* the child never stops writing by itself */
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Acknowledgements written before the kill. */
    while (pump(fds[0], &r, buf, &have, 1000))
      ;
    close(fds[0]);
    assert_int_equal(have, 0); /* no torn record */
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
      fail_msg("round %d: child ended on its own (status %d)", round, status);

    int64_t after = check_store(round, &r, entries);
    assert_true(after > entries);
    entries = after;
    total_acked += r.n;
    rounds_with_acks += r.n > 0;
    free(r.v);
  }
  double secs = (double)(mono_ms() - t0) / 1000.0;
  print_message("durability: %d rounds, %zu acknowledged writes, %d rounds "
                "killed mid-stream, %lld ledger entries, %.1f s\n",
                ROUNDS, total_acked, rounds_with_acks, (long long)entries,
                secs);
  assert_true(total_acked > 20);
  /* Every round counted from the first write was killed after it. */
  assert_true(rounds_with_acks >= ROUNDS - ROUNDS / 4);
  assert_int_equal(tu_rm_tree(g_scratch), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_while_writing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
