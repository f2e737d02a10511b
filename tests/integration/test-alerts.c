/*
 * test-alerts.c — the alert stream, GET /v1/alerts/stream (docs/api.md,
 * "The alert stream"), against a real `haven serve` on the bundled
 * scenario, read as a browser's EventSource would (HTTP/1.1, chunked,
 * Server-Sent Events: the harness's it_sse client on a raw socket):
 *
 * 1. need-to-know: streams of syr-gov, tr (guarantor of border-no-fly),
 *    sna and the coordinator each begin with `open` (party, role, head =
 *    the ledger's head, since null, buffer_bytes); syr-gov's jet in
 *    border-no-fly reaches syr-gov, tr and the coordinator as `finding`
 *    events (id = the seq of the POST reply, data = the item of GET
 *    /v1/findings), and not sna: the first finding sna's stream carries is
 *    the first of its own truck's, posted afterwards;
 * 2. backlog and resume: `since=N` replays exactly GET /v1/findings?since=N
 *    of the same caller, then goes on live without gap or repeat;
 *    `Last-Event-ID` wins over `since`; `kind=` keeps one kind; malformed
 *    since, kind, Last-Event-ID or an unknown parameter are 400
 *    bad_parameter;
 * 3. roles: no token or a malformed one 401, an agency's token may listen,
 *    POST is 405;
 * 4. slow consumer (--stream-buffer 65536): a coordinator's stream on a
 *    socket with a small receive buffer, not read, while batches raise some
 *    8 MiB of findings: every POST completes with 200; read afterwards, the
 *    stream is a prefix of the findings ending with `dropped` (id =
 *    resume_after = the last finding given), then the server closes the
 *    connection; resumed with Last-Event-ID, the two streams together are
 *    exactly the findings recorded, in order, without duplicates;
 * 5. revocation (--stream-heartbeat 1): `: keepalive` comments come, and
 *    once the stream's token is revoked over HTTP the stream ends with
 *    `closed` (id = resume_after = the last finding given) within 20 s;
 * 6. stop: SIGTERM with streams open — each gets `closed` ("the server is
 *    stopping") and the server exits 0 well before its 30 s grace;
 * 7. --max-streams 2: a third stream is 503 too_many_streams; once one is
 *    closed a new one is accepted, and the other went on undisturbed.
 *
 * Every wait is bounded (a stuck server fails the test, it does not hang
 * it); no test waits for time to pass as its assertion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/haven.h>

#include "harness.h"

/* How long one event may take to come before the test fails: generous,
 * for sanitizer builds on a loaded machine. */
#define EVENT_MS 10000

static struct {
  char work[1024], data[1100];
  struct it_server srv;
  char flags[256]; /* the extra arguments of the running server, joined */
  char coord[64], syr[64], sna[64], tr[64], ocha[64];
  double in_lon, in_lat; /* inside border-no-fly */
  int64_t t_ms;          /* time of the last batch: only goes forward */
  unsigned n_assets;     /* for new asset ids */
} g;

/* ---- the server ------------------------------------------------------- */

/* Makes sure the server runs with exactly the extra arguments (NULL
 * terminated, may be NULL): restarts it on the same data when it runs
 * with others. */
static void serve(const char *const *extra) {
  char flags[256] = "";
  size_t n = 0;
  for (size_t i = 0; extra && extra[i]; i++)
    n += (size_t)snprintf(flags + n, sizeof flags - n, "%s ", extra[i]);
  if (g.srv.pid > 0 && strcmp(flags, g.flags) == 0)
    return;
  if (g.srv.pid > 0)
    assert_int_equal(it_server_stop(&g.srv), 0);
  if (g.srv.starts == 0)
    it_server_start(&g.srv, g.data, g.work, extra);
  else
    it_server_restart(&g.srv, extra);
  snprintf(g.flags, sizeof g.flags, "%s", flags);
}

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "alerts");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, id);
  it_token_create(g.data, "syr-gov", "party", g.syr, id);
  it_token_create(g.data, "sna", "party", g.sna, id);
  it_token_create(g.data, "tr", "party", g.tr, id);
  it_token_create(g.data, "ocha", "agency", g.ocha, id);
  /* A point inside the border no-fly zone (guarantors us and tr). */
  struct hv_db *db = NULL;
  struct hv_error err = {0};
  if (hv_db_open(g.data, &db, &err) != HV_OK)
    fail_msg("open %s: %s", g.data, err.msg);
  const struct hv_object *z = hv_db_get(db, HV_ZONE, "border-no-fly");
  assert_non_null(z);
  int tr_guarantees = 0;
  for (hv_ids gu = z->u.zone.guarantors; gu && *gu; gu++)
    tr_guarantees |= strcmp(*gu, "tr") == 0;
  if (!tr_guarantees)
    fail_msg("the scenario changed: tr no longer guarantees border-no-fly");
  GEOSContextHandle_t gh = hv_geo_geos(hv_db_geo(db));
  GEOSGeometry *pt = GEOSPointOnSurface_r(gh, z->geom);
  assert_non_null(pt);
  assert_int_equal(GEOSGeomGetX_r(gh, pt, &g.in_lon), 1);
  assert_int_equal(GEOSGeomGetY_r(gh, pt, &g.in_lat), 1);
  GEOSGeom_destroy_r(gh, pt);
  hv_db_close(db);
  g.t_ms = 1533099600000; /* 2018-08-01T05:00:00Z */
  serve(NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  it_http_cleanup();
  return 0;
}

/* ---- positions and findings ------------------------------------------- */

/* Appends one position report to b (a JSON array's member, comma first
 * unless b is empty or ends with '['). */
static void add_report(struct it_buf *b, const char *asset, const char *party,
                       const char *cls, int64_t t_ms, double lon, double lat,
                       double alt_m) {
  char line[400];
  int n = snprintf(line, sizeof line,
                   "%s{\"asset\":\"%s\",\"party\":\"%s\",\"class\":\"%s\","
                   "\"t_ms\":%lld,\"lon\":%.7f,\"lat\":%.7f,\"alt_m\":%.0f}",
                   b->len > 0 && b->p[b->len - 1] != '[' ? "," : "", asset,
                   party, cls, (long long)t_ms, lon, lat, alt_m);
  assert_true(n > 0 && (size_t)n < sizeof line);
  assert_int_equal(it_buf_add(b, line, (size_t)n), (size_t)n);
}

/* POSTs the batch (JSON text) as token; must be 200 within timeout_s.
 * Returns the reply's findings (a new reference). */
static json_t *post(const char *token, const char *body, long timeout_s) {
  struct it_req q = {.method = "POST",
                     .path = "/v1/positions",
                     .token = token,
                     .body = body,
                     .timeout_s = timeout_s};
  struct it_resp r;
  if (it_http(&g.srv, &q, &r) != 200)
    fail_msg("POST /v1/positions: %s", it_show(&r));
  json_t *f = json_incref(json_object_get(r.json, "findings"));
  if (!json_is_array(f))
    fail_msg("POST /v1/positions: no findings array: %s", it_show(&r));
  it_resp_free(&r);
  return f;
}

/* A new asset of party (class cls, altitude alt_m) reported inside
 * border-no-fly, by token. Returns the reply's findings (a new
 * reference), which must not be empty: entering the border zones is a
 * finding for anyone. */
static json_t *enter_zone(const char *token, const char *party, const char *cls,
                          double alt_m) {
  char asset[64];
  snprintf(asset, sizeof asset, "%s-%s-%u", party, cls, ++g.n_assets);
  struct it_buf b = {0};
  it_buf_add(&b, "[", 1);
  g.t_ms += 1000;
  add_report(&b, asset, party, cls, g.t_ms, g.in_lon, g.in_lat, alt_m);
  it_buf_add(&b, "]", 1);
  json_t *f = post(token, b.p, 60);
  free(b.p);
  if (json_array_size(f) == 0)
    fail_msg("%s in border-no-fly raised no finding", asset);
  return f;
}

/* A syr-gov jet into border-no-fly (no_fly_violation and zone_enter: seen
 * by syr-gov, the guarantors us and tr, the coordinator). */
static json_t *syr_jet_in(void) {
  json_t *f = enter_zone(g.syr, "syr-gov", "fixed_wing", 9000);
  size_t i, nofly = 0;
  json_t *x;
  json_array_foreach(f, i, x) {
    if (strcmp(it_jstr(x, "kind"), "no_fly_violation") == 0)
      nofly++;
  }
  if (nofly != 1)
    fail_msg("a syr-gov jet in border-no-fly: %zu no_fly_violation", nofly);
  return f;
}

/* An sna truck into the border zones (zone_enter: seen by sna, us, tr and
 * the coordinator; never by syr-gov). */
static json_t *sna_truck_in(void) {
  return enter_zone(g.sna, "sna", "ground_armed", 0);
}

static int64_t seq_of(const json_t *item) {
  json_t *s = json_object_get(item, "seq");
  if (!json_is_integer(s))
    fail_msg("a finding without an integer seq");
  return (int64_t)json_integer_value(s);
}

/* GET /v1/findings?since=since[&kind=kind] as token, every page: the
 * items (a new reference). */
static json_t *findings_since(const char *token, int64_t since,
                              const char *kind) {
  json_t *all = json_array();
  for (;;) {
    char path[256];
    snprintf(path, sizeof path, "/v1/findings?since=%lld&limit=1000%s%s",
             (long long)since, kind ? "&kind=" : "", kind ? kind : "");
    struct it_resp r;
    if (it_get(&g.srv, token, path, &r) != 200)
      fail_msg("GET %s: %s", path, it_show(&r));
    json_t *items = json_object_get(r.json, "items");
    assert_true(json_is_array(items));
    json_array_extend(all, items);
    json_t *next = json_object_get(r.json, "next");
    if (!json_is_integer(next) || json_array_size(items) == 0) {
      it_resp_free(&r);
      return all;
    }
    since = (int64_t)json_integer_value(next);
    it_resp_free(&r);
  }
}

/* The ledger's head now (/healthz). */
static int64_t head_now(void) {
  struct it_resp r;
  if (it_get(&g.srv, NULL, "/healthz", &r) != 200)
    fail_msg("GET /healthz: %s", it_show(&r));
  json_t *h = json_object_get(r.json, "ledger_head");
  assert_true(json_is_integer(h));
  int64_t head = (int64_t)json_integer_value(h);
  it_resp_free(&r);
  return head;
}

/* ---- streams ---------------------------------------------------------- */

/* An event for failure messages (static, valid until 4 further calls). */
static const char *show_ev(const struct it_sse_event *ev) {
  static char ring[4][600];
  static unsigned n;
  char *buf = ring[n++ % 4];
  snprintf(buf, sizeof ring[0], "event: %s, id: %s, data: %.400s", ev->type,
           ev->has_id ? ev->id : "(none)", ev->data ? ev->data : "");
  return buf;
}

/* The event's id as a number; fails the test when it has none or it is
 * not a decimal number. */
static int64_t ev_id(const struct it_sse_event *ev) {
  char *end;
  errno = 0;
  long long v = strtoll(ev->id, &end, 10);
  if (!ev->has_id || ev->id[0] == '\0' || *end != '\0' || errno != 0)
    fail_msg("an event without a numeric id: %s", show_ev(ev));
  return (int64_t)v;
}

/* The next event of stream c (who: its name for messages); fails the test
 * when none comes within EVENT_MS or the stream ends. */
static void next_event(struct it_sse *c, const char *who,
                       struct it_sse_event *ev) {
  int rc = it_sse_next(c, ev, EVENT_MS);
  if (rc == 0)
    fail_msg("%s's stream ended (%zu bytes, connection %s) where an event "
             "was expected",
             who, c->body_bytes, c->peer_closed ? "closed" : "open");
  if (rc < 0)
    fail_msg("%s's stream: no event within %d ms", who, EVENT_MS);
}

/*
 * Opens a stream at path as token (Last-Event-ID leid unless NULL, receive
 * buffer rcvbuf unless 0): 200 with Content-Type text/event-stream, its
 * first event `open` naming party and role, with an integer head. Returns
 * the open event's data (a new reference).
 */
static json_t *open_stream(struct it_sse *c, const char *token,
                           const char *path, const char *leid, int rcvbuf,
                           const char *party, const char *role) {
  struct it_sse_req q = {
      .path = path, .token = token, .last_event_id = leid, .rcvbuf = rcvbuf};
  if (it_sse_open(&g.srv, &q, c) != 200)
    fail_msg("GET %s as %s: %s", path, party, it_show(&c->resp));
  if (strcasestr(c->resp.headers, "content-type: text/event-stream") == NULL)
    fail_msg("GET %s: not text/event-stream: %s", path, c->resp.headers);
  struct it_sse_event ev;
  next_event(c, party, &ev);
  if (strcmp(ev.type, "open") != 0 || !json_is_object(ev.json))
    fail_msg("%s's stream does not begin with open: %s", party, show_ev(&ev));
  json_t *d = json_incref(ev.json);
  if (strcmp(it_jstr(d, "party"), party) != 0 ||
      strcmp(it_jstr(d, "role"), role) != 0 ||
      !json_is_integer(json_object_get(d, "head")) ||
      !json_is_integer(json_object_get(d, "buffer_bytes")))
    fail_msg("%s's open event: expected party %s, role %s, integer head "
             "and buffer_bytes: %s",
             party, party, role, show_ev(&ev));
  it_sse_event_free(&ev);
  return d;
}

static int64_t jint(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v)) {
    char *t = json_dumps(obj, JSON_COMPACT);
    print_error("no integer %s in %s\n", key, t ? t : "?");
    free(t);
    fail_msg("no integer %s", key);
  }
  return (int64_t)json_integer_value(v);
}

/* The next event of c must be the finding item (an item of GET
 * /v1/findings): event finding, id its seq, data the same item. */
static void expect_finding(struct it_sse *c, const char *who,
                           const json_t *item) {
  struct it_sse_event ev;
  next_event(c, who, &ev);
  int64_t seq = seq_of(item);
  if (strcmp(ev.type, "finding") != 0 || ev_id(&ev) != seq) {
    fail_msg("%s's stream: expected the finding of seq %lld (%s), got %s", who,
             (long long)seq, it_jstr(item, "kind"), show_ev(&ev));
  }
  if (!json_equal(ev.json, (json_t *)item)) {
    char *want = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS);
    char *got =
        ev.json ? json_dumps(ev.json, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    print_error("%s, seq %lld:\n  GET /v1/findings: %s\n  the stream:       "
                "%s\n",
                who, (long long)seq, want ? want : "?", got ? got : ev.data);
    free(want);
    free(got);
    fail_msg("%s's stream: the data of finding %lld is not the item of GET "
             "/v1/findings",
             who, (long long)seq);
  }
  it_sse_event_free(&ev);
}

static void expect_findings(struct it_sse *c, const char *who,
                            const json_t *items) {
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item) { expect_finding(c, who, item); }
}

/* ev must be the event `end` (closed or dropped) with id S = last (the
 * seq of the last finding the stream gave) and data {"reason": reason
 * (NULL: any non-empty text), "resume_after": S}. */
static void check_end(const struct it_sse_event *ev, const char *who,
                      const char *end, int64_t last, const char *reason) {
  if (strcmp(ev->type, end) != 0)
    fail_msg("%s's stream: expected %s, got %s", who, end, show_ev(ev));
  json_t *ra = json_object_get(ev->json, "resume_after");
  const char *why = json_string_value(json_object_get(ev->json, "reason"));
  if (ev_id(ev) != last || !json_is_integer(ra) ||
      json_integer_value(ra) != last || why == NULL || *why == '\0' ||
      (reason && strcmp(why, reason) != 0))
    fail_msg("%s's stream: expected %s with id %lld and data {\"reason\": "
             "%s%s%s, \"resume_after\": %lld} (%lld: the last finding it "
             "gave), got %s",
             who, end, (long long)last, reason ? "\"" : "",
             reason ? reason : "text", reason ? "\"" : "", (long long)last,
             (long long)last, show_ev(ev));
}

/* The next event of c must be as check_end says. */
static void expect_end(struct it_sse *c, const char *who, const char *end,
                       int64_t last, const char *reason) {
  struct it_sse_event ev;
  next_event(c, who, &ev);
  check_end(&ev, who, end, last, reason);
  it_sse_event_free(&ev);
}

/* c must end (no further event) within EVENT_MS. */
static void expect_stream_end(struct it_sse *c, const char *who) {
  struct it_sse_event ev;
  int rc = it_sse_next(c, &ev, EVENT_MS);
  if (rc == 1)
    fail_msg("%s's stream goes on after its last event: %s", who, show_ev(&ev));
  if (rc < 0)
    fail_msg("%s's stream did not end within %d ms of its last event", who,
             EVENT_MS);
}

/* ---- 1. need-to-know -------------------------------------------------- */

static void test_need_to_know(void **state) {
  (void)state;
  serve(NULL);
  int64_t head = head_now();
  struct {
    const char *name, *token, *role;
    struct it_sse c;
  } s[4] = {{"syr-gov", g.syr, "party", {0}},
            {"tr", g.tr, "party", {0}},
            {"sna", g.sna, "party", {0}},
            {"coordinator", g.coord, "coordinator", {0}}};
  for (int i = 0; i < 4; i++) {
    json_t *o = open_stream(&s[i].c, s[i].token, "/v1/alerts/stream", NULL, 0,
                            s[i].name, s[i].role);
    assert_int_equal(jint(o, "head"), head);
    assert_true(json_is_null(json_object_get(o, "since")));
    assert_int_equal(jint(o, "buffer_bytes"), 1048576);
    json_decref(o);
  }

  /* syr-gov's jet: its own stream carries the reply's findings, with the
   * reply's seqs, in order. */
  json_t *mine = syr_jet_in();
  json_t *seen = findings_since(g.syr, head, NULL);
  assert_int_equal(json_array_size(seen), json_array_size(mine));
  for (size_t i = 0; i < json_array_size(mine); i++) {
    assert_int_equal(seq_of(json_array_get(seen, i)),
                     seq_of(json_array_get(mine, i)));
    assert_string_equal(it_jstr(json_array_get(seen, i), "kind"),
                        it_jstr(json_array_get(mine, i), "kind"));
  }
  expect_findings(&s[0].c, "syr-gov", seen);
  json_decref(seen);

  /* tr guarantees the zone: it sees them all, as does the coordinator. */
  json_t *tr_seen = findings_since(g.tr, head, NULL);
  assert_int_equal(json_array_size(tr_seen), json_array_size(mine));
  expect_findings(&s[1].c, "tr", tr_seen);
  json_t *all = findings_since(g.coord, head, NULL);
  assert_int_equal(json_array_size(all), json_array_size(mine));
  expect_findings(&s[3].c, "coordinator", all);
  json_decref(tr_seen);
  json_decref(all);

  /* sna may see none of them. Its own truck comes after: the first finding
   * its stream carries must be the truck's first. */
  json_t *none = findings_since(g.sna, head, NULL);
  assert_int_equal(json_array_size(none), 0);
  json_decref(none);
  int64_t before_truck = head_now();
  json_t *truck = sna_truck_in();
  json_t *sna_seen = findings_since(g.sna, head, NULL);
  assert_int_equal(json_array_size(sna_seen), json_array_size(truck));
  assert_int_equal(seq_of(json_array_get(sna_seen, 0)),
                   seq_of(json_array_get(truck, 0)));
  assert_true(seq_of(json_array_get(truck, 0)) >
              seq_of(json_array_get(mine, json_array_size(mine) - 1)));
  expect_findings(&s[2].c, "sna", sna_seen);
  json_decref(sna_seen);

  /* The truck is in zones tr guarantees: tr and the coordinator get it
   * too; syr-gov does not (its next finding is its next jet's). */
  json_t *tr_truck = findings_since(g.tr, before_truck, NULL);
  assert_true(json_array_size(tr_truck) > 0);
  expect_findings(&s[1].c, "tr", tr_truck);
  json_t *coord_truck = findings_since(g.coord, before_truck, NULL);
  expect_findings(&s[3].c, "coordinator", coord_truck);
  json_decref(tr_truck);
  json_decref(coord_truck);
  int64_t before_jet = head_now();
  json_t *jet2 = syr_jet_in();
  json_t *syr_jet2 = findings_since(g.syr, before_jet, NULL);
  expect_findings(&s[0].c, "syr-gov", syr_jet2);
  json_decref(jet2);
  json_decref(syr_jet2);

  json_decref(mine);
  json_decref(truck);
  for (int i = 0; i < 4; i++)
    it_sse_close(&s[i].c);
}

/* ---- 2. backlog and resume -------------------------------------------- */

/* After a replay, the stream goes on live: a new jet's findings (as token
 * sees them) come next, nothing between. kind: the stream's filter. */
static void expect_live_next(struct it_sse *c, const char *who,
                             const char *token, const char *kind) {
  int64_t before = head_now();
  json_decref(syr_jet_in());
  json_t *want = findings_since(token, before, kind);
  assert_true(json_array_size(want) > 0);
  expect_findings(c, who, want);
  json_decref(want);
}

static void test_backlog_and_resume(void **state) {
  (void)state;
  serve(NULL);
  /* Findings to replay: two more jets and a truck, whatever ran before. */
  json_decref(syr_jet_in());
  json_decref(sna_truck_in());
  json_decref(syr_jet_in());
  json_t *tr_all = findings_since(g.tr, 0, NULL);
  size_t n = json_array_size(tr_all);
  assert_true(n >= 4);

  /* since=N: exactly tr's findings after N, then live. */
  int64_t since = seq_of(json_array_get(tr_all, 0));
  char path[128];
  snprintf(path, sizeof path, "/v1/alerts/stream?since=%lld", (long long)since);
  int64_t head = head_now();
  struct it_sse c;
  json_t *o = open_stream(&c, g.tr, path, NULL, 0, "tr", "party");
  assert_int_equal(jint(o, "since"), since);
  assert_int_equal(jint(o, "head"), head);
  json_decref(o);
  json_t *want = findings_since(g.tr, since, NULL);
  assert_int_equal(json_array_size(want), n - 1);
  expect_findings(&c, "tr (since)", want);
  json_decref(want);
  expect_live_next(&c, "tr (since)", g.tr, NULL);
  it_sse_close(&c);

  /* Last-Event-ID wins over since. */
  int64_t last = seq_of(json_array_get(tr_all, n - 2));
  char leid[32];
  snprintf(leid, sizeof leid, "%lld", (long long)last);
  o = open_stream(&c, g.tr, path, leid, 0, "tr", "party");
  assert_int_equal(jint(o, "since"), last);
  json_decref(o);
  want = findings_since(g.tr, last, NULL);
  assert_true(json_array_size(want) >= 1);
  assert_true(json_array_size(want) < n - 1);
  expect_findings(&c, "tr (Last-Event-ID)", want);
  json_decref(want);
  expect_live_next(&c, "tr (Last-Event-ID)", g.tr, NULL);
  it_sse_close(&c);

  /* kind: only no_fly_violation, in the replay and live. */
  o = open_stream(&c, g.coord,
                  "/v1/alerts/stream?since=0&kind=no_fly_violation", NULL, 0,
                  "coordinator", "coordinator");
  json_decref(o);
  want = findings_since(g.coord, 0, "no_fly_violation");
  assert_true(json_array_size(want) >= 2);
  assert_true(json_array_size(want) < json_array_size(tr_all));
  expect_findings(&c, "coordinator (kind)", want);
  json_decref(want);
  expect_live_next(&c, "coordinator (kind)", g.coord, "no_fly_violation");
  it_sse_close(&c);
  json_decref(tr_all);

  /* Malformed: 400 bad_parameter, the normal error reply. */
  static const struct {
    const char *path, *leid, *field;
  } bad[] = {
      {"/v1/alerts/stream?since=abc", NULL, "since"},
      {"/v1/alerts/stream?since=12x", NULL, "since"},
      {"/v1/alerts/stream?since=-1", NULL, "since"},
      {"/v1/alerts/stream?kind=nope", NULL, "kind"},
      {"/v1/alerts/stream?since=3&kind=zone", NULL, "kind"},
      {"/v1/alerts/stream?limit=3", NULL, "limit"},
      {"/v1/alerts/stream", "abc", NULL},
      {"/v1/alerts/stream", "1.5", NULL},
      {"/v1/alerts/stream?since=2", "-7", NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct it_sse_req q = {
        .path = bad[i].path, .token = g.tr, .last_event_id = bad[i].leid};
    long st = it_sse_open(&g.srv, &q, &c);
    const char *shape = st == 400 ? it_err_shape(&c.resp) : NULL;
    if (st != 400 || shape ||
        strcmp(it_err_code(&c.resp), "bad_parameter") != 0 ||
        (bad[i].field && (it_err_field(&c.resp) == NULL ||
                          strcmp(it_err_field(&c.resp), bad[i].field) != 0)))
      fail_msg("GET %s%s%s: expected 400 bad_parameter (field %s): %s%s%s",
               bad[i].path, bad[i].leid ? " with Last-Event-ID: " : "",
               bad[i].leid ? bad[i].leid : "",
               bad[i].field ? bad[i].field : "any", it_show(&c.resp),
               shape ? "; " : "", shape ? shape : "");
    it_sse_close(&c);
  }
}

/* ---- 3. roles --------------------------------------------------------- */

static void test_roles(void **state) {
  (void)state;
  serve(NULL);
  struct it_sse c;
  struct it_sse_req q = {.path = "/v1/alerts/stream"};
  assert_int_equal(it_sse_open(&g.srv, &q, &c), 401);
  assert_null(it_err_shape(&c.resp));
  assert_string_equal(it_err_code(&c.resp), "unauthenticated");
  it_sse_close(&c);
  struct it_sse_req bad = {.path = "/v1/alerts/stream",
                           .token = "hv1.nope.nope",
                           .src = it_fresh_src()};
  assert_int_equal(it_sse_open(&g.srv, &bad, &c), 401);
  assert_string_equal(it_err_code(&c.resp), "unauthenticated");
  it_sse_close(&c);

  /* Any role may listen: an agency's token. */
  json_decref(
      open_stream(&c, g.ocha, "/v1/alerts/stream", NULL, 0, "ocha", "agency"));
  it_sse_close(&c);

  struct it_resp r;
  struct it_req post_req = {
      .method = "POST", .path = "/v1/alerts/stream", .token = g.coord};
  assert_int_equal(it_http(&g.srv, &post_req, &r), 405);
  assert_string_equal(it_err_code(&r), "method_not_allowed");
  it_resp_free(&r);
}

/* ---- 4. slow consumer ------------------------------------------------- */

/* Assets per batch, each reported twice 1 s apart at two points 9 km
 * apart in the Homs desert (away from zones): one `implausible` finding
 * per asset (a ground vehicle at 9 km/s). */
#define SLOW_ASSETS 2000
/* Bytes of events to raise while the stream is not read: more than the
 * stream buffer, the client's receive buffer and the server's send buffer
 * (net.ipv4.tcp_wmem allows up to 4 MiB) together. */
#define SLOW_BYTES (8u << 20)

static void test_slow_consumer(void **state) {
  (void)state;
  const char *const flags[] = {"--stream-buffer", "65536", NULL};
  serve(flags);
  int64_t head = head_now();
  struct it_sse c;
  json_t *o = open_stream(&c, g.coord, "/v1/alerts/stream", NULL, 4096,
                          "coordinator", "coordinator");
  assert_int_equal(jint(o, "buffer_bytes"), 65536);
  json_decref(o);

  /* Not reading c: every batch must still be taken at once. */
  size_t bytes = 0, raised = 0;
  unsigned batches = 0;
  while (bytes < SLOW_BYTES) {
    struct it_buf b = {0};
    it_buf_add(&b, "[", 1);
    int64_t t = (g.t_ms += 2000);
    for (int i = 0; i < SLOW_ASSETS; i++) {
      char asset[64];
      snprintf(asset, sizeof asset, "slow-%u-%d", batches, i);
      add_report(&b, asset, "sna", "ground_civil", t - 1000, 38.30, 34.30, 0);
      add_report(&b, asset, "sna", "ground_civil", t, 38.40, 34.30, 0);
    }
    it_buf_add(&b, "]", 1);
    int64_t t0 = it_mono_ms();
    json_t *f = post(g.coord, b.p, 60);
    free(b.p);
    size_t i;
    json_t *x;
    json_array_foreach(f, i, x) {
      char *text = json_dumps(x, JSON_COMPACT);
      assert_non_null(text);
      /* "event: finding\nid: N\ndata: ...\n\n" */
      bytes += strlen(text) + 40;
      free(text);
    }
    raised += json_array_size(f);
    if (json_array_size(f) < SLOW_ASSETS)
      fail_msg("batch %u raised %zu findings, expected at least %d", batches,
               json_array_size(f), SLOW_ASSETS);
    json_decref(f);
    print_message("batch %u: %zu findings in %lld ms, %zu kB of events so "
                  "far\n",
                  batches, raised, (long long)(it_mono_ms() - t0), bytes >> 10);
    batches++;
  }

  /* Now read: a prefix of the findings, then dropped, then the end. */
  json_t *all = findings_since(g.coord, head, NULL);
  size_t n_all = json_array_size(all);
  assert_int_equal(n_all, raised);
  size_t got = 0;
  int64_t last = head;
  struct it_sse_event ev;
  for (;;) {
    next_event(&c, "slow coordinator", &ev);
    if (strcmp(ev.type, "finding") != 0)
      break;
    int64_t id = ev_id(&ev);
    if (got >= n_all || id != seq_of(json_array_get(all, got)))
      fail_msg("slow coordinator: finding %zu of the stream has id %lld, "
               "expected %lld",
               got, (long long)id,
               got < n_all ? (long long)seq_of(json_array_get(all, got))
                           : -1LL);
    if (jint(ev.json, "seq") != id)
      fail_msg("slow coordinator: data.seq differs from id: %s", show_ev(&ev));
    last = id;
    got++;
    it_sse_event_free(&ev);
  }
  if (strcmp(ev.type, "dropped") != 0)
    fail_msg("slow coordinator: after %zu findings of %zu, expected dropped, "
             "got %s",
             got, n_all, show_ev(&ev));
  check_end(&ev, "slow coordinator", "dropped", last, NULL);
  it_sse_event_free(&ev);
  int64_t s = last;
  print_message("first stream: %zu of %zu findings, then dropped at %lld\n",
                got, n_all, (long long)s);
  assert_true(got < n_all);
  expect_stream_end(&c, "slow coordinator");
  if (!it_sse_wait_closed(&c, EVENT_MS))
    fail_msg("the server did not close the dropped stream's connection");
  it_sse_close(&c);

  /* Resume after S: the rest, exactly, then live. */
  char leid[32];
  snprintf(leid, sizeof leid, "%lld", (long long)s);
  o = open_stream(&c, g.coord, "/v1/alerts/stream", leid, 0, "coordinator",
                  "coordinator");
  json_decref(o);
  for (size_t k = got; k < n_all; k++) {
    next_event(&c, "resumed coordinator", &ev);
    int64_t want = seq_of(json_array_get(all, k));
    if (strcmp(ev.type, "finding") != 0 || ev_id(&ev) != want)
      fail_msg("resumed coordinator: expected finding %lld (%zu of %zu), got "
               "%s",
               (long long)want, k, n_all, show_ev(&ev));
    it_sse_event_free(&ev);
  }
  expect_live_next(&c, "resumed coordinator", g.coord, NULL);
  it_sse_close(&c);
  json_decref(all);
}

/* ---- 5. revocation ---------------------------------------------------- */

static void test_revocation(void **state) {
  (void)state;
  const char *const flags[] = {"--stream-heartbeat", "1", NULL};
  serve(flags);
  struct it_resp r;
  json_t *doc = it_js("{'party':'tr','role':'party','label':'stream'}");
  if (it_send(&g.srv, "POST", g.coord, "/v1/tokens", doc, &r) != 201)
    fail_msg("POST /v1/tokens: %s", it_show(&r));
  json_decref(doc);
  char token[128], id[64], path[128];
  snprintf(token, sizeof token, "%s", it_jstr(r.json, "token"));
  snprintf(id, sizeof id, "%s", it_jstr(r.json, "id"));
  it_resp_free(&r);
  assert_true(token[0] != '\0' && id[0] != '\0');

  struct it_sse c;
  json_decref(
      open_stream(&c, token, "/v1/alerts/stream", NULL, 0, "tr", "party"));
  /* The heartbeat: a `: keepalive` comment within a few seconds. */
  int64_t deadline = it_mono_ms() + 10000;
  struct it_sse_event ev;
  while (c.comments == 0 && it_mono_ms() < deadline) {
    int rc = it_sse_next(&c, &ev, 200);
    if (rc == 1)
      fail_msg("unexpected event before any finding: %s", show_ev(&ev));
    if (rc == 0)
      fail_msg("the stream ended before its first keepalive");
  }
  if (c.comments == 0)
    fail_msg("no keepalive comment within 10 s with --stream-heartbeat 1");
  assert_string_equal(c.last_comment, "keepalive");

  /* A finding it is given, then the revocation. */
  int64_t before = head_now();
  json_decref(syr_jet_in());
  json_t *want = findings_since(g.tr, before, NULL);
  expect_findings(&c, "tr (token to revoke)", want);
  int64_t last = seq_of(json_array_get(want, json_array_size(want) - 1));
  json_decref(want);

  snprintf(path, sizeof path, "/v1/tokens/%s", id);
  if (it_send(&g.srv, "DELETE", g.coord, path, NULL, &r) != 200)
    fail_msg("DELETE %s: %s", path, it_show(&r));
  assert_true(json_is_true(json_object_get(r.json, "revoked")));
  it_resp_free(&r);
  int64_t t0 = it_mono_ms();
  /* closed within 20 s; keepalives may come before it, nothing else. */
  int rc;
  while ((rc = it_sse_next(&c, &ev, 500)) < 0 && it_mono_ms() - t0 < 20000)
    ;
  if (rc < 0)
    fail_msg("no closed event within 20 s of revoking the stream's token");
  if (rc == 0)
    fail_msg("the stream of the revoked token ended without closed");
  check_end(&ev, "tr (revoked)", "closed", last, NULL);
  it_sse_event_free(&ev);
  print_message("closed %lld ms after the revocation\n",
                (long long)(it_mono_ms() - t0));
  expect_stream_end(&c, "tr (revoked)");
  it_sse_close(&c);

  /* The token opens nothing any more. */
  struct it_sse_req q = {
      .path = "/v1/alerts/stream", .token = token, .src = it_fresh_src()};
  assert_int_equal(it_sse_open(&g.srv, &q, &c), 401);
  it_sse_close(&c);
}

/* ---- 6. stop ---------------------------------------------------------- */

static void test_stop(void **state) {
  (void)state;
  serve(NULL); /* the default heartbeat (15 s): the stop must not wait */
  struct it_sse a, b;
  json_decref(open_stream(&a, g.coord, "/v1/alerts/stream", NULL, 0,
                          "coordinator", "coordinator"));
  json_decref(
      open_stream(&b, g.syr, "/v1/alerts/stream", NULL, 0, "syr-gov", "party"));
  int64_t before = head_now();
  json_decref(syr_jet_in());
  json_t *fa = findings_since(g.coord, before, NULL);
  json_t *fb = findings_since(g.syr, before, NULL);
  expect_findings(&a, "coordinator", fa);
  expect_findings(&b, "syr-gov", fb);
  int64_t last_a = seq_of(json_array_get(fa, json_array_size(fa) - 1));
  int64_t last_b = seq_of(json_array_get(fb, json_array_size(fb) - 1));
  json_decref(fa);
  json_decref(fb);

  int64_t t0 = it_mono_ms();
  int rc = it_server_stop(&g.srv);
  int64_t took = it_mono_ms() - t0;
  print_message("stopped in %lld ms\n", (long long)took);
  g.flags[0] = '\0';
  assert_int_equal(rc, 0);
  if (took > 10000)
    fail_msg("the server took %lld ms to stop with two streams open (its "
             "grace is 30 s)",
             (long long)took);
  expect_end(&a, "coordinator", "closed", last_a, "the server is stopping");
  expect_end(&b, "syr-gov", "closed", last_b, "the server is stopping");
  expect_stream_end(&a, "coordinator");
  expect_stream_end(&b, "syr-gov");
  it_sse_close(&a);
  it_sse_close(&b);
  serve(NULL);
}

/* ---- 7. --max-streams ------------------------------------------------- */

static void test_max_streams(void **state) {
  (void)state;
  /* The heartbeat writes to idle streams, so a closed one is noticed
   * quickly even by a server that learns it only from a failed write. */
  const char *const flags[] = {"--max-streams", "2", "--stream-heartbeat", "1",
                               NULL};
  serve(flags);
  struct it_sse a, b, c;
  json_decref(open_stream(&a, g.coord, "/v1/alerts/stream", NULL, 0,
                          "coordinator", "coordinator"));
  json_decref(
      open_stream(&b, g.syr, "/v1/alerts/stream", NULL, 0, "syr-gov", "party"));
  struct it_sse_req q = {.path = "/v1/alerts/stream", .token = g.tr};
  for (int i = 0; i < 2; i++) {
    long st = it_sse_open(&g.srv, &q, &c);
    if (st != 503 || it_err_shape(&c.resp) ||
        strcmp(it_err_code(&c.resp), "too_many_streams") != 0)
      fail_msg("a third stream (try %d): expected 503 too_many_streams: %s",
               i + 1, it_show(&c.resp));
    it_sse_close(&c);
  }

  /* One closes: a new one is accepted once the server noticed. */
  it_sse_close(&a);
  int64_t deadline = it_mono_ms() + 15000;
  long st;
  for (;;) {
    st = it_sse_open(&g.srv, &q, &c);
    if (st != 503 || it_mono_ms() > deadline)
      break;
    it_sse_close(&c);
    it_sleep_ms(100);
  }
  if (st != 200)
    fail_msg("after a stream closed, a new one: %s", it_show(&c.resp));
  struct it_sse_event ev;
  next_event(&c, "tr", &ev);
  assert_string_equal(ev.type, "open");
  it_sse_event_free(&ev);

  /* The streams left go on. */
  int64_t before = head_now();
  json_decref(syr_jet_in());
  json_t *fb = findings_since(g.syr, before, NULL);
  json_t *fc = findings_since(g.tr, before, NULL);
  expect_findings(&b, "syr-gov", fb);
  expect_findings(&c, "tr", fc);
  json_decref(fb);
  json_decref(fc);
  it_sse_close(&b);
  it_sse_close(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_need_to_know),
      cmocka_unit_test(test_backlog_and_resume),
      cmocka_unit_test(test_roles),
      cmocka_unit_test(test_slow_consumer),
      cmocka_unit_test(test_revocation),
      cmocka_unit_test(test_stop),
      cmocka_unit_test(test_max_streams),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
