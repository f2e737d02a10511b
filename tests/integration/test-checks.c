/*
 * test-checks.c — deconfliction requests and humanitarian notifications
 * over HTTP (docs/api.md, "Checks" and "Notifications"; the rules in
 * docs/checks.md) against a real `haven serve` on the bundled scenario,
 * where the protected sites are notified by ocha (an agency) to nobody:
 *
 * - a check of an air strike on a scenario hospital: conflict; a party
 *   that is not a recipient gets the reason without id or coordinates, the
 *   coordinator with the id; the receipt verifies, tampered ones do not;
 * - blind disclosure: a blind site is not listed, is 404 as a site that
 *   does not exist (the same message), a check near it says conflict with
 *   category and band only, no coordinates anywhere, nothing on the alert
 *   stream; the ledger lists its entries to a party without id or body
 *   (id_hash and body_hash only) and that party's copy verifies; deleted,
 *   its history is 404 to a party as for an id never used;
 * - movements: a convoy notified by ocha on the Castello Road, redacted for
 *   a party that is not a recipient, late (10 h of lead time), its
 *   acknowledgements (who, pending since when, twice harmless, refused to
 *   a non-recipient, read by the notifier and the coordinator only, pending
 *   again after a change), and a check across its route in its window and
 *   outside it;
 * - probing: a scripted sweep raises one finding for the coordinator (and
 *   its alert stream), none for the party; the per-party rate limit;
 * - need-to-know on every new route, table-driven.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <haven/haven.h>

#include "harness.h"

/* cond, or the test fails with the message. */
#define REQUIRE(cond, ...)                                                     \
  do {                                                                         \
    if (!(cond))                                                               \
      fail_msg(__VA_ARGS__);                                                   \
  } while (0)

/* Al-Sakhour hospital (M10), eastern Aleppo: a scenario site notified by
 * ocha to nobody. */
#define HOSPITAL "site-ho_1004"
#define HOSPITAL_LON 37.192808
#define HOSPITAL_LAT 36.216428
/* A hospital near Homs, the centre of the scripted sweep. */
#define SWEPT_LON 36.735749
#define SWEPT_LAT 34.833601
/* The blind site: in the Homs desert, away from everything else; its
 * coordinates have seven decimals so that any rounding of them is
 * recognisable. */
#define BLIND "it-blind-clinic"
#define BLIND_LON 38.6123457
#define BLIND_LAT 34.4876543
#define EVENT_MS 10000

static struct {
  char work[1024], data[1100];
  struct it_server srv;
  /* coordinator; ocha (agency, the notifier); icrc (another agency);
   * parties syr-gov and ru (recipients of the convoy), sna (not one), fsa
   * (the prober), nsa (rate-limited); it-monitor, a monitor */
  char coord[64], ocha[64], icrc[64], syr[64], ru[64], sna[64], fsa[64],
      nsa[64], mon[64];
} g;

static int setup(void **state) {
  (void)state;
  it_workdir(g.work, sizeof g.work, "checks");
  it_path(g.data, sizeof g.data, g.work, "data");
  it_scenario(g.work, g.data);
  char id[16];
  it_token_create(g.data, "coordinator", "coordinator", g.coord, id);
  it_token_create(g.data, "ocha", "agency", g.ocha, id);
  it_token_create(g.data, "icrc", "agency", g.icrc, id);
  it_token_create(g.data, "syr-gov", "party", g.syr, id);
  it_token_create(g.data, "ru", "party", g.ru, id);
  it_token_create(g.data, "sna", "party", g.sna, id);
  it_token_create(g.data, "fsa", "party", g.fsa, id);
  it_token_create(g.data, "nsa", "party", g.nsa, id);
  it_put(g.data, "party",
         "{'id':'it-monitor','name':'Observer mission','kind':'monitor'}");
  it_token_create(g.data, "it-monitor", "monitor", g.mon, id);
  /* A blind site notified by ocha, "delivered" to sna: blind, so sna does
   * not learn of it either. */
  it_put(g.data, "site",
         "{'type':'Feature','id':'" BLIND "','geometry':{'type':'Point',"
         "'coordinates':[38.6123457,34.4876543]},'properties':{"
         "'object':'site','name':'Blind clinic','category':'hospital',"
         "'radius_m':200,'notified_by':'ocha','disclosure':'blind',"
         "'recipients':['sna']}}");
  it_server_start(&g.srv, g.data, g.work, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  it_server_kill(&g.srv);
  it_http_cleanup();
  return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* now + hours as RFC 3339 into buf. */
static const char *hours_from_now(char *buf, size_t size, double hours) {
  time_t t = time(NULL) + (time_t)(hours * 3600);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/* POST /v1/checks of a point operation as token; fills *r. */
static long check_point(const char *token, const char *kind, double lon,
                        double lat, double radius_m, const char *from,
                        const char *to, struct it_resp *r) {
  json_t *op = json_pack("{s:s,s:{s:s,s:[f,f]},s:f,s:s,s:s}", "kind", kind,
                         "geometry", "type", "Point", "coordinates", lon, lat,
                         "effect_radius_m", radius_m, "from", from, "to", to);
  assert_non_null(op);
  long st = it_send(&g.srv, "POST", token, "/v1/checks", op, r);
  json_decref(op);
  return st;
}

/* The first reason of kind in a check reply (borrowed), or NULL. */
static json_t *reason_of(const json_t *reply, const char *kind) {
  json_t *reasons =
      json_object_get(json_object_get(reply, "answer"), "reasons");
  size_t i;
  json_t *x;
  json_array_foreach(reasons, i, x) {
    if (strcmp(it_jstr(x, "reason"), kind) == 0)
      return x;
  }
  return NULL;
}

static const char *verdict_of(const json_t *reply) {
  return it_jstr(json_object_get(reply, "answer"), "verdict");
}

/* POST /v1/checks/verify of body (borrowed) as token: 1 when ok:true, 0
 * when ok:false with a message (into msg), fails otherwise. */
static int verify(const char *token, const json_t *body, char *msg,
                  size_t size) {
  struct it_resp r;
  long st = it_send(&g.srv, "POST", token, "/v1/checks/verify", body, &r);
  if (st != 200 || !json_is_boolean(json_object_get(r.json, "ok")))
    fail_msg("POST /v1/checks/verify: %s", it_show(&r));
  int ok = json_is_true(json_object_get(r.json, "ok"));
  if (msg)
    snprintf(msg, size, "%s", it_jstr(r.json, "message"));
  if (!ok && it_jstr(r.json, "message")[0] == '\0')
    fail_msg("ok:false without a message: %s", it_show(&r));
  it_resp_free(&r);
  return ok;
}

/* Whether text holds the coordinate x at 4 to 7 decimal places, rounded or
 * truncated. */
static int has_coordinate(const char *text, double x) {
  char buf[32];
  for (int k = 4; k <= 7; k++) {
    snprintf(buf, sizeof buf, "%.*f", k, x);
    if (strstr(text, buf))
      return 1;
    double p = pow(10, k);
    snprintf(buf, sizeof buf, "%.*f", k, trunc(x * p) / p);
    if (strstr(text, buf))
      return 1;
  }
  return 0;
}

/* The blind site named or located in text. */
static int reveals_blind(const char *text) {
  return strstr(text, BLIND) || has_coordinate(text, BLIND_LON) ||
         has_coordinate(text, BLIND_LAT);
}

/* ---- a check and its receipt -------------------------------------------- */

static void test_check_hospital(void **state) {
  (void)state;
  struct it_resp r, c;
  const char *from = "2030-03-01T10:00:00Z", *to = "2030-03-01T11:00:00Z";
  /* sna is not a recipient of the hospital (the scenario's sites are
   * delivered to nobody): the reason without id or place. */
  /* (Off the site in both coordinates: the reply echoes the request.) */
  assert_int_equal(check_point(g.sna, "air_strike", HOSPITAL_LON + 0.001,
                               HOSPITAL_LAT + 0.001, 250, from, to, &r),
                   200);
  assert_string_equal(verdict_of(r.json), "conflict");
  json_t *why = reason_of(r.json, "protected_site");
  if (why == NULL)
    fail_msg("no protected_site reason: %s", it_show(&r));
  assert_string_equal(it_jstr(why, "category"), "hospital");
  assert_string_equal(it_jstr(why, "distance_band"), "< 1 km");
  assert_null(json_object_get(why, "site"));
  assert_null(json_object_get(why, "distance_m"));
  if (strstr(r.body, HOSPITAL) || has_coordinate(r.body, HOSPITAL_LON) ||
      has_coordinate(r.body, HOSPITAL_LAT))
    fail_msg("the hospital is named or located for sna: %s", it_show(&r));
  json_t *receipt = json_object_get(r.json, "receipt");
  assert_true(json_is_integer(json_object_get(receipt, "seq")));
  assert_string_equal(it_jstr(receipt, "author"), "sna");

  /* The coordinator sees the site. */
  assert_int_equal(check_point(g.coord, "air_strike", HOSPITAL_LON + 0.001,
                               HOSPITAL_LAT + 0.001, 250, from, to, &c),
                   200);
  assert_string_equal(verdict_of(c.json), "conflict");
  assert_string_equal(it_jstr(reason_of(c.json, "protected_site"), "site"),
                      HOSPITAL);
  it_resp_free(&c);

  /* The receipt verifies, for anyone: the whole reply or the receipt. */
  assert_true(verify(g.sna, r.json, NULL, 0));
  assert_true(verify(g.ru, receipt, NULL, 0));
  assert_true(verify(g.mon, receipt, NULL, 0));

  /* Tampered: the answer's hash, an object's version, the seq. */
  char msg[512];
  json_t *t = json_deep_copy(receipt);
  json_object_set_new(t, "answer_hash",
                      json_string("00000000000000000000000000000000000000000"
                                  "00000000000000000000000"));
  assert_false(verify(g.sna, t, msg, sizeof msg));
  print_message("tampered answer_hash: %s\n", msg);
  json_decref(t);

  t = json_deep_copy(receipt);
  json_t *obj = json_array_get(json_object_get(t, "objects"), 0);
  assert_non_null(obj);
  json_object_set_new(
      obj, "version",
      json_integer(json_integer_value(json_object_get(obj, "version")) + 1));
  assert_false(verify(g.sna, t, msg, sizeof msg));
  print_message("tampered version: %s\n", msg);
  json_decref(t);

  t = json_deep_copy(receipt);
  json_object_set_new(
      t, "seq",
      json_integer(json_integer_value(json_object_get(receipt, "seq")) - 1));
  assert_false(verify(g.sna, t, msg, sizeof msg));
  print_message("tampered seq: %s\n", msg);
  json_decref(t);

  /* A set's count. */
  t = json_deep_copy(receipt);
  json_object_set_new(json_array_get(json_object_get(t, "sets"), 0), "count",
                      json_integer(1));
  assert_false(verify(g.sna, t, msg, sizeof msg));
  json_decref(t);

  /* Not a receipt at all: 400. */
  json_t *junk = it_js("{'hello':'world'}");
  assert_int_equal(
      it_send(&g.srv, "POST", g.sna, "/v1/checks/verify", junk, &c), 400);
  assert_null(it_err_shape(&c));
  it_resp_free(&c);
  json_decref(junk);

  /* A malformed operation names the field. */
  json_t *bad = it_js("{'kind':'nuke','geometry':{'type':'Point',"
                      "'coordinates':[37,36]},'effect_radius_m':1,"
                      "'from':'2030-01-01','to':'2030-01-02'}");
  assert_int_equal(it_send(&g.srv, "POST", g.sna, "/v1/checks", bad, &c), 400);
  assert_string_equal(it_err_code(&c), "invalid");
  it_resp_free(&c);
  json_decref(bad);
  it_resp_free(&r);
}

/* ---- blind disclosure -----------------------------------------------------
 */

/* The ledger's head as the coordinator's GET /v1/ledger/verify gives it. */
static void ledger_head(char head[65]) {
  struct it_resp r;
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/ledger/verify", &r), 200);
  assert_true(json_is_true(json_object_get(r.json, "ok")));
  snprintf(head, 65, "%s", it_jstr(r.json, "head"));
  assert_int_equal(strlen(head), 64);
  it_resp_free(&r);
}

/* GET /v1/ledger as token, every page, written out as an export
 * (work/ledger-NAME.ndjson) and checked with `haven ledger verify --file`:
 * 1 when it verifies to head. */
static int view_verifies(const char *token, const char *name,
                         const char *head) {
  char file[64], path[1200], out[1200], err[1200], url[128];
  snprintf(file, sizeof file, "ledger-%s.ndjson", name);
  it_path(path, sizeof path, g.work, file);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  int64_t from = 1;
  size_t total = 0;
  while (from > 0) {
    struct it_resp r;
    snprintf(url, sizeof url, "/v1/ledger?from=%lld&limit=1000",
             (long long)from);
    assert_int_equal(it_get(&g.srv, token, url, &r), 200);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "items"), i, e) {
      char *line = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
      assert_non_null(line);
      fprintf(f, "%s\n", line);
      free(line);
      total++;
    }
    json_t *next = json_object_get(r.json, "next");
    from = json_is_integer(next) ? (int64_t)json_integer_value(next) : 0;
    it_resp_free(&r);
  }
  assert_int_equal(fclose(f), 0);
  snprintf(file, sizeof file, "ledger-%s.out", name);
  it_path(out, sizeof out, g.work, file);
  snprintf(file, sizeof file, "ledger-%s.err", name);
  it_path(err, sizeof err, g.work, file);
  const char *argv[] = {
      it_env("HAVEN_BIN"), "ledger", "verify", "--file", path, NULL};
  int rc = it_run(argv, out, err);
  char *text = it_read_file(out, NULL);
  char want[160];
  snprintf(want, sizeof want, "ledger ok: %zu entries, head %s\n", total, head);
  int ok = rc == 0 && text && strncmp(text, want, strlen(want)) == 0;
  if (!ok) {
    char *etext = it_read_file(err, NULL);
    print_error("%s's view of the ledger: exit %d: %s%s (want %s)\n", name, rc,
                text ? text : "", etext ? etext : "", want);
    free(etext);
  }
  free(text);
  return ok;
}

static void test_blind_site(void **state) {
  (void)state;
  struct it_resp r, n;
  /* Not listed, for the party it was "delivered" to. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/sites?limit=1000", &r), 200);
  if (reveals_blind(r.body))
    fail_msg("GET /v1/sites shows the blind site to sna");
  it_resp_free(&r);
  /* The notifier and the coordinator see it. */
  assert_int_equal(it_get(&g.srv, g.ocha, "/v1/sites/" BLIND, &r), 200);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/sites/" BLIND, &r), 200);
  it_resp_free(&r);

  /* 404, the same as for an id that does not exist, byte for byte apart
   * from the id (both ids of the same length). */
  static const char *const routes[][2] = {
      {"/v1/sites/" BLIND, "/v1/sites/it-nonexistent-xyz"},
      {"/v1/sites/" BLIND "/history", "/v1/sites/it-nonexistent-xyz/history"},
  };
  assert_int_equal(strlen(BLIND), strlen("it-nonexistent-xyz") - 3);
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    assert_int_equal(it_get(&g.srv, g.sna, routes[i][0], &r), 404);
    assert_int_equal(it_get(&g.srv, g.sna, routes[i][1], &n), 404);
    const char *a = it_jstr(json_object_get(r.json, "error"), "message");
    const char *b = it_jstr(json_object_get(n.json, "error"), "message");
    char want[256];
    /* The message of the blind one with the other id put in its place. */
    const char *at = strstr(a, BLIND);
    if (at == NULL)
      fail_msg("the 404 does not name the id asked: %s", it_show(&r));
    snprintf(want, sizeof want, "%.*s%s%s", (int)(at - a), a,
             "it-nonexistent-xyz", at + strlen(BLIND));
    assert_string_equal(want, b);
    assert_string_equal(it_err_code(&r), it_err_code(&n));
    it_resp_free(&r);
    it_resp_free(&n);
  }
  /* ack and acks: the same 404 (ack) or the role's 403 (acks). */
  json_t *v1 = it_js("{'version':1}");
  assert_int_equal(
      it_send(&g.srv, "POST", g.sna, "/v1/sites/" BLIND "/ack", v1, &r), 404);
  assert_int_equal(it_send(&g.srv, "POST", g.sna,
                           "/v1/sites/it-nonexistent-xyz/ack", v1, &n),
                   404);
  assert_string_equal(it_err_code(&r), it_err_code(&n));
  it_resp_free(&r);
  it_resp_free(&n);
  json_decref(v1);

  /* A check near it, by the coordinator first: a blind site is shown by
   * category and band to whoever asks (haven/check.h), the coordinator
   * too; then by sna: conflict with category and band, nothing else. */
  const char *from = "2030-04-01T10:00:00Z", *to = "2030-04-01T11:00:00Z";
  assert_int_equal(
      check_point(g.coord, "artillery", 38.62, 34.49, 1500, from, to, &r), 200);
  json_t *cwhy = reason_of(r.json, "protected_site");
  assert_non_null(cwhy);
  assert_string_equal(it_jstr(cwhy, "disclosure"), "blind");
  assert_null(json_object_get(cwhy, "site"));
  it_resp_free(&r);
  assert_int_equal(
      check_point(g.sna, "artillery", 38.62, 34.49, 1500, from, to, &r), 200);
  assert_string_equal(verdict_of(r.json), "conflict");
  json_t *why = reason_of(r.json, "protected_site");
  assert_non_null(why);
  assert_string_equal(it_jstr(why, "category"), "hospital");
  assert_string_equal(it_jstr(why, "distance_band"), "< 1 km");
  if (reveals_blind(r.body))
    fail_msg("the check reply names or locates the blind site: %s",
             it_show(&r));
  /* Its receipt verifies without listing it. */
  assert_true(verify(g.sna, r.json, NULL, 0));
  it_resp_free(&r);

  /* The ledger, as sna. */
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/ledger?from=1&limit=1000", &r),
                   200);
  json_t *items = json_object_get(r.json, "items");
  size_t i;
  json_t *e;
  int listed = 0, body_shown = 0, check_leaks = 0, withheld_sites = 0;
  json_array_foreach(items, i, e) {
    const char *kind = it_jstr(e, "kind");
    const char *body = it_jstr(e, "body");
    json_t *id = json_object_get(e, "id");
    if (!json_is_string(id) && !json_is_null(id))
      fail_msg("ledger entry %lld: id neither a string nor null",
               (long long)json_integer_value(json_object_get(e, "seq")));
    if (strcmp(kind, "site") == 0 && json_is_null(id)) {
      /* Withheld: the blind site's (sna may see every other site, if only
       * redacted). Nothing of it but hashes. */
      withheld_sites++;
      body_shown |= json_object_get(e, "body") != NULL;
      assert_true(json_is_string(json_object_get(e, "id_hash")));
    }
    if (strcmp(kind, "site") == 0 && json_is_string(id) &&
        strcmp(json_string_value(id), BLIND) == 0) {
      listed = 1;
      body_shown |= json_object_get(e, "body") != NULL;
    } else if ((strcmp(kind, "check") == 0 || strcmp(kind, "finding") == 0 ||
                strcmp(kind, "ack") == 0) &&
               reveals_blind(body)) {
      /* (Entries of the shared map are left out: an area's polygon may
       * hold any 4-decimal number.) */
      fail_msg("ledger entry %lld names or locates the blind site to sna",
               (long long)json_integer_value(json_object_get(e, "seq")));
    }
    /* Another caller's check, its body shown: the coordinator's of
     * test_check_hospital names the hospital sna may not locate. */
    if (strcmp(kind, "check") == 0 && json_object_get(e, "body") &&
        strcmp(it_jstr(e, "author"), "sna") != 0 &&
        (strstr(body, HOSPITAL) || strstr(body, "\"site\"")))
      check_leaks = 1;
  }
  /* Neither its body nor its id: the entries that wrote it are listed
   * (so that the copy verifies) with id null and id_hash only. */
  assert_false(body_shown);
  if (listed)
    fail_msg("GET /v1/ledger lists the blind site's id \"%s\" to sna", BLIND);
  if (strstr(r.body, BLIND))
    fail_msg("GET /v1/ledger names the blind site \"%s\" to sna", BLIND);
  assert_true(withheld_sites >= 1);
  REQUIRE(!check_leaks,
          "GET /v1/ledger shows the coordinator's check body, naming "
          "%s, to a party",
          HOSPITAL);
  it_resp_free(&r);

  /* What sna reads of the ledger is a copy that verifies, to the head the
   * coordinator's verification gives; the notifier's too (it sees the
   * blind site's id). */
  char head[65];
  ledger_head(head);
  assert_int_equal(view_verifies(g.sna, "sna", head), 1);
  assert_int_equal(view_verifies(g.ocha, "ocha", head), 1);
  assert_int_equal(it_get(&g.srv, g.ocha, "/v1/ledger?from=1&limit=1000", &r),
                   200);
  if (strstr(r.body, "\"id\":\"" BLIND "\"") == NULL)
    fail_msg("the notifier does not see its blind site's id in the ledger");
  it_resp_free(&r);

  /* The alert stream, replayed from the start: nothing of it. */
  struct it_sse c;
  struct it_sse_req q = {.path = "/v1/alerts/stream?since=0", .token = g.sna};
  assert_int_equal(it_sse_open(&g.srv, &q, &c), 200);
  struct it_sse_event ev;
  int rc;
  while ((rc = it_sse_next(&c, &ev, 1000)) == 1) {
    if (ev.data && reveals_blind(ev.data))
      fail_msg("an %s event names or locates the blind site: %s", ev.type,
               ev.data);
    it_sse_event_free(&ev);
  }
  it_sse_close(&c);
}

/* A blind site notified and then deleted: its history is 404 to another
 * party, as for an id never used (the entries that wrote it would carry
 * no id for that party), and its notifier's to read; the ledger names it
 * to no one else, and that party's view still verifies. */
static void test_blind_site_deleted(void **state) {
  (void)state;
  struct it_resp r, n;
  const char *gone = "it-blind-gone";
  json_t *doc = it_new_doc("sites", gone, "ocha");
  json_object_set_new(json_object_get(doc, "properties"), "disclosure",
                      json_string("blind"));
  if (it_send(&g.srv, "POST", g.ocha, "/v1/sites", doc, &r) != 201)
    fail_msg("POST a blind site: %s", it_show(&r));
  it_resp_free(&r);
  json_decref(doc);
  json_t *v1 = it_js("{'version':1}");
  if (it_send(&g.srv, "DELETE", g.ocha, "/v1/sites/it-blind-gone", v1, &r) !=
      200)
    fail_msg("DELETE the blind site: %s", it_show(&r));
  it_resp_free(&r);
  json_decref(v1);

  assert_int_equal(
      it_get(&g.srv, g.ocha, "/v1/sites/it-blind-gone/history", &r), 200);
  assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/sites/it-blind-gone/history", &r),
                   404);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/sites/it-blind-gonf/history", &n),
                   404);
  assert_string_equal(it_err_code(&r), it_err_code(&n));
  it_resp_free(&r);
  it_resp_free(&n);

  assert_int_equal(it_get(&g.srv, g.sna, "/v1/ledger?from=1&limit=1000", &r),
                   200);
  if (strstr(r.body, gone))
    fail_msg("GET /v1/ledger names the deleted blind site to sna");
  it_resp_free(&r);
  char head[65];
  ledger_head(head);
  assert_int_equal(view_verifies(g.sna, "sna-deleted", head), 1);
}

/* ---- movements and acknowledgements ------------------------------------- */

/* GET /v1/{coll}/{id}/acks as the coordinator: the row of party. */
static json_t *ack_row(const char *coll, const char *id, const char *party,
                       json_t **status) {
  char path[256];
  snprintf(path, sizeof path, "/v1/%s/%s/acks", coll, id);
  struct it_resp r;
  if (it_get(&g.srv, g.coord, path, &r) != 200)
    fail_msg("GET %s: %s", path, it_show(&r));
  *status = json_incref(r.json);
  it_resp_free(&r);
  size_t i;
  json_t *row;
  json_array_foreach(json_object_get(*status, "recipients"), i, row) {
    if (strcmp(it_jstr(row, "party"), party) == 0)
      return row;
  }
  fail_msg("%s: no row for %s", path, party);
  return NULL;
}

static void test_movement(void **state) {
  (void)state;
  struct it_resp r;
  char from[32], to[32], in_from[32], in_to[32];
  hours_from_now(from, sizeof from, 10);
  hours_from_now(to, sizeof to, 20);
  json_t *mv = json_pack(
      "{s:s,s:s,s:n,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:[s,s]}}", "type",
      "Feature", "id", "it-convoy", "geometry", "properties", "object",
      "movement", "name", "Convoy to eastern Aleppo", "kind", "convoy",
      "corridor", "castello-road", "notified_by", "ocha", "valid_from", from,
      "valid_to", to, "vehicles", 12, "recipients", "syr-gov", "ru");
  assert_non_null(mv);
  /* A party may not notify; another agency not as ocha. */
  assert_int_equal(it_send(&g.srv, "POST", g.sna, "/v1/movements", mv, &r),
                   403);
  it_resp_free(&r);
  assert_int_equal(it_send(&g.srv, "POST", g.icrc, "/v1/movements", mv, &r),
                   403);
  it_resp_free(&r);
  /* Accepted though late: 10 h of lead time, 48 h asked. */
  if (it_send(&g.srv, "POST", g.ocha, "/v1/movements", mv, &r) != 201)
    fail_msg("POST /v1/movements as ocha: %s", it_show(&r));
  json_t *props = json_object_get(r.json, "properties");
  assert_string_equal(it_jstr(props, "corridor"), "castello-road");
  assert_true(it_jstr(props, "notified_at")[0] != '\0');
  it_resp_free(&r);

  assert_int_equal(it_get(&g.srv, g.coord, "/v1/movements/it-convoy", &r), 200);
  props = json_object_get(r.json, "properties");
  REQUIRE(json_is_true(json_object_get(props, "late")),
          "a movement notified 10 h ahead is not shown late:true to "
          "the coordinator (reply: %s)",
          it_show(&r));
  it_resp_free(&r);

  /* A recipient sees the route, another party not. */
  assert_int_equal(it_get(&g.srv, g.syr, "/v1/movements/it-convoy", &r), 200);
  assert_string_equal(
      it_jstr(json_object_get(r.json, "properties"), "corridor"),
      "castello-road");
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/movements/it-convoy", &r), 200);
  assert_true(json_is_null(json_object_get(r.json, "geometry")));
  assert_null(
      json_object_get(json_object_get(r.json, "properties"), "corridor"));
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.sna, "/v1/movements", &r), 200);
  if (strstr(r.body, "castello-road"))
    fail_msg("the convoy's route in sna's list: %s", it_show(&r));
  it_resp_free(&r);
  /* The kind filter, and a bbox meeting the corridor the convoy follows. */
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/movements?kind=convoy", &r),
                   200);
  REQUIRE(json_integer_value(json_object_get(r.json, "total")) >= 1,
          "GET /v1/movements?kind=convoy: %s", it_show(&r));
  it_resp_free(&r);
  assert_int_equal(
      it_get(&g.srv, g.coord, "/v1/movements?bbox=37,36,37.5,36.5", &r), 200);
  REQUIRE(json_integer_value(json_object_get(r.json, "total")) >= 1,
          "GET /v1/movements?bbox around the Castello Road: %s", it_show(&r));
  it_resp_free(&r);

  /* Acknowledgements: syr-gov acknowledges version 1. */
  json_t *v1 = it_js("{'version':1}");
  assert_int_equal(
      it_send(&g.srv, "POST", g.syr, "/v1/movements/it-convoy/ack", v1, &r),
      200);
  assert_string_equal(it_jstr(r.json, "party"), "syr-gov");
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(r.json, "acknowledged"), "version")),
                   1);
  it_resp_free(&r);
  /* Twice: harmless. */
  assert_int_equal(
      it_send(&g.srv, "POST", g.syr, "/v1/movements/it-convoy/ack", v1, &r),
      200);
  it_resp_free(&r);
  /* A party that is not a recipient: 403; no version: 400. */
  assert_int_equal(
      it_send(&g.srv, "POST", g.sna, "/v1/movements/it-convoy/ack", v1, &r),
      403);
  it_resp_free(&r);
  assert_int_equal(
      it_send(&g.srv, "POST", g.ru, "/v1/movements/it-convoy/ack", NULL, &r),
      400);
  it_resp_free(&r);

  json_t *st;
  json_t *row = ack_row("movements", "it-convoy", "syr-gov", &st);
  assert_true(json_is_true(json_object_get(row, "acknowledged")));
  assert_true(it_jstr(row, "at")[0] != '\0');
  json_decref(st);
  row = ack_row("movements", "it-convoy", "ru", &st);
  assert_true(json_is_false(json_object_get(row, "acknowledged")));
  assert_string_equal(it_jstr(row, "pending_since"),
                      it_jstr(st, "recorded_at"));
  assert_int_equal(json_integer_value(json_object_get(st, "acknowledged")), 1);
  assert_int_equal(json_integer_value(json_object_get(st, "pending")), 1);
  json_decref(st);
  /* Who reads the status: ocha and the coordinator; not ru, not icrc. */
  assert_int_equal(it_get(&g.srv, g.ocha, "/v1/movements/it-convoy/acks", &r),
                   200);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.ru, "/v1/movements/it-convoy/acks", &r),
                   403);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.icrc, "/v1/movements/it-convoy/acks", &r),
                   403);
  it_resp_free(&r);

  /* A change by ocha: pending again for both. The version as the
   * contract allows it, in properties.version. */
  it_doc_rename(mv, "Convoy to eastern Aleppo (20 trucks)");
  it_doc_set_version(mv, 1);
  long put = it_send(&g.srv, "PUT", g.ocha, "/v1/movements/it-convoy", mv, &r);
  REQUIRE(put == 200, "PUT /v1/movements/{id} with properties.version: %s",
          it_show(&r));
  it_resp_free(&r);
  if (put != 200) {
    struct it_req q = {.method = "PUT",
                       .path = "/v1/movements/it-convoy",
                       .token = g.ocha,
                       .if_match = "\"1\""};
    char *text = json_dumps(mv, JSON_COMPACT);
    q.body = text;
    put = it_http(&g.srv, &q, &r);
    free(text);
    if (put != 200)
      fail_msg("PUT /v1/movements/it-convoy with If-Match: %s", it_show(&r));
    it_resp_free(&r);
  }
  row = ack_row("movements", "it-convoy", "syr-gov", &st);
  assert_true(json_is_false(json_object_get(row, "acknowledged")));
  assert_int_equal(json_integer_value(json_object_get(st, "version")), 2);
  assert_int_equal(json_integer_value(json_object_get(st, "pending")), 2);
  json_decref(st);
  /* Acknowledging the superseded version: 409; the current one by
   * If-Match: 200. */
  assert_int_equal(
      it_send(&g.srv, "POST", g.syr, "/v1/movements/it-convoy/ack", v1, &r),
      409);
  it_resp_free(&r);
  struct it_req q = {.method = "POST",
                     .path = "/v1/movements/it-convoy/ack",
                     .token = g.ru,
                     .if_match = "\"2\""};
  assert_int_equal(it_http(&g.srv, &q, &r), 200);
  it_resp_free(&r);
  json_decref(v1);

  /* A check across its route in its window: conflict, a movement reason
   * without id for sna; outside the window: no movement reason. */
  hours_from_now(in_from, sizeof in_from, 11);
  hours_from_now(in_to, sizeof in_to, 12);
  assert_int_equal(
      check_point(g.sna, "artillery", 37.138, 36.245, 300, in_from, in_to, &r),
      200);
  assert_string_equal(verdict_of(r.json), "conflict");
  json_t *why = reason_of(r.json, "movement");
  if (why == NULL)
    fail_msg("no movement reason: %s", it_show(&r));
  assert_string_equal(it_jstr(why, "category"), "convoy");
  assert_null(json_object_get(why, "movement"));
  assert_null(strstr(r.body, "it-convoy"));
  /* Nor the corridor it follows, in the answer or the receipt: that is
   * the route the movement's view withholds. */
  REQUIRE(strstr(r.body, "castello-road") == NULL,
          "sna's check reply names the convoy's corridor: %s", it_show(&r));
  it_resp_free(&r);
  /* The coordinator sees which. */
  assert_int_equal(check_point(g.coord, "artillery", 37.138, 36.245, 300,
                               in_from, in_to, &r),
                   200);
  assert_string_equal(it_jstr(reason_of(r.json, "movement"), "movement"),
                      "it-convoy");
  it_resp_free(&r);
  assert_int_equal(check_point(g.sna, "artillery", 37.138, 36.245, 300,
                               "2030-05-01T10:00:00Z", "2030-05-01T11:00:00Z",
                               &r),
                   200);
  assert_null(reason_of(r.json, "movement"));
  it_resp_free(&r);
  json_decref(mv);
}

/* A disclosed site ocha notifies to syr-gov: ack by it, status. */
static void test_site_acks(void **state) {
  (void)state;
  struct it_resp r;
  json_t *site = it_new_doc("sites", "it-ack-site", "ocha");
  json_object_set_new(json_object_get(site, "properties"), "recipients",
                      json_pack("[s]", "syr-gov"));
  assert_int_equal(it_send(&g.srv, "POST", g.ocha, "/v1/sites", site, &r), 201);
  it_resp_free(&r);
  json_decref(site);
  json_t *v1 = it_js("{'version':1}");
  assert_int_equal(
      it_send(&g.srv, "POST", g.syr, "/v1/sites/it-ack-site/ack", v1, &r), 200);
  it_resp_free(&r);
  assert_int_equal(
      it_send(&g.srv, "POST", g.ru, "/v1/sites/it-ack-site/ack", v1, &r), 403);
  it_resp_free(&r);
  /* A later version than there is: 404. */
  json_t *v9 = it_js("{'version':9}");
  assert_int_equal(
      it_send(&g.srv, "POST", g.syr, "/v1/sites/it-ack-site/ack", v9, &r), 404);
  it_resp_free(&r);
  json_decref(v9);
  json_t *st;
  json_t *row = ack_row("sites", "it-ack-site", "syr-gov", &st);
  assert_true(json_is_true(json_object_get(row, "acknowledged")));
  assert_int_equal(json_array_size(json_object_get(st, "recipients")), 1);
  /* No review date: no review members. */
  assert_null(json_object_get(st, "review_overdue"));
  json_decref(st);
  json_decref(v1);

  /* Review dates: one passed (overdue, still listed), one to come. */
  const char *const ids[2] = {"it-review-past", "it-review-future"};
  const char *const dates[2] = {"2020-01-01", "2099-01-01"};
  for (int i = 0; i < 2; i++) {
    json_t *s = it_new_doc("sites", ids[i], "ocha");
    json_t *props = json_object_get(s, "properties");
    json_object_set_new(props, "recipients", json_pack("[s]", "syr-gov"));
    json_object_set_new(props, "review_by", json_string(dates[i]));
    assert_int_equal(it_send(&g.srv, "POST", g.ocha, "/v1/sites", s, &r), 201);
    it_resp_free(&r);
    json_decref(s);
    char path[128];
    snprintf(path, sizeof path, "/v1/sites/%s/acks", ids[i]);
    assert_int_equal(it_get(&g.srv, g.ocha, path, &r), 200);
    REQUIRE(json_is_boolean(json_object_get(r.json, "review_overdue")),
            "%s: no review_overdue: %s", path, it_show(&r));
    assert_int_equal(json_is_true(json_object_get(r.json, "review_overdue")),
                     i == 0);
    assert_true(strncmp(it_jstr(r.json, "review_by"), dates[i], 10) == 0);
    it_resp_free(&r);
  }
}

/* ---- probing ------------------------------------------------------------- */

static void test_probing_sweep(void **state) {
  (void)state;
  struct it_resp r;
  /* The coordinator's and the party's streams, open before the sweep. */
  struct it_sse cs, ps;
  it_sse_open_live(&g.srv, g.coord, &cs);
  it_sse_open_live(&g.srv, g.fsa, &ps);
  struct it_sse_event ev;

  /* 16 small artillery checks tiling 9 x 9 km around the hospital: a 4 x 4
   * grid 3 km apart, each 1.5 km in radius. */
  const double km_lat = 1 / 111.32;
  const double km_lon = 1 / (111.32 * cos(SWEPT_LAT * M_PI / 180));
  size_t n = 0;
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      double lon = SWEPT_LON + (-4.5 + 3 * i) * km_lon;
      double lat = SWEPT_LAT + (-4.5 + 3 * j) * km_lat;
      if (check_point(g.fsa, "artillery", lon, lat, 1500,
                      "2030-06-01T10:00:00Z", "2030-06-01T11:00:00Z",
                      &r) != 200)
        fail_msg("check %zu of the sweep: %s", n, it_show(&r));
      it_resp_free(&r);
      n++;
    }
  }

  /* Exactly one finding for the coordinator, about fsa. */
  assert_int_equal(it_get(&g.srv, g.coord, "/v1/findings?kind=probing", &r),
                   200);
  json_t *items = json_object_get(r.json, "items");
  size_t i;
  json_t *f;
  size_t about = 0;
  json_array_foreach(items, i, f) {
    assert_string_equal(it_jstr(f, "kind"), "probing");
    if (strcmp(it_jstr(f, "suspect"), "fsa") == 0)
      about++;
  }
  if (about != 1)
    fail_msg("%zu probing findings about fsa (1 expected): %s", about,
             it_show(&r));
  it_resp_free(&r);
  /* None for the party. */
  assert_int_equal(it_get(&g.srv, g.fsa, "/v1/findings?kind=probing", &r), 200);
  assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
  it_resp_free(&r);
  assert_int_equal(it_get(&g.srv, g.fsa, "/v1/findings", &r), 200);
  assert_null(strstr(r.body, "probing"));
  it_resp_free(&r);

  /* The coordinator's stream receives it; the party's does not. */
  int got = 0, rc;
  while (!got && (rc = it_sse_next(&cs, &ev, EVENT_MS)) == 1) {
    got = strcmp(ev.type, "finding") == 0 &&
          strcmp(it_jstr(ev.json, "kind"), "probing") == 0 &&
          strcmp(it_jstr(ev.json, "suspect"), "fsa") == 0;
    it_sse_event_free(&ev);
  }
  if (!got)
    fail_msg("the coordinator's stream did not receive the probing finding");
  while ((rc = it_sse_next(&ps, &ev, 1000)) == 1) {
    if (ev.data && strstr(ev.data, "probing"))
      fail_msg("the party's stream got %s", ev.data);
    it_sse_event_free(&ev);
  }
  it_sse_close(&cs);
  it_sse_close(&ps);
}

/* ---- need-to-know on the new routes -------------------------------------- */

static void test_need_to_know(void **state) {
  (void)state;
  struct it_resp r;
  /* A disclosed movement to syr-gov, a blind one, both by ocha. */
  json_t *d = it_new_doc("movements", "nk-mv", "ocha");
  json_object_set_new(json_object_get(d, "properties"), "recipients",
                      json_pack("[s]", "syr-gov"));
  assert_int_equal(it_send(&g.srv, "POST", g.ocha, "/v1/movements", d, &r),
                   201);
  it_resp_free(&r);
  json_decref(d);
  d = it_new_doc("movements", "nk-blind", "ocha");
  json_object_set_new(json_object_get(d, "properties"), "disclosure",
                      json_string("blind"));
  json_object_set_new(json_object_get(d, "properties"), "recipients",
                      json_pack("[s]", "syr-gov"));
  assert_int_equal(it_send(&g.srv, "POST", g.ocha, "/v1/movements", d, &r),
                   201);
  it_resp_free(&r);
  json_decref(d);

  const char *op = "{\"kind\":\"ground_move\",\"geometry\":{\"type\":"
                   "\"Point\",\"coordinates\":[38.0,34.0]},"
                   "\"effect_radius_m\":10,\"from\":\"2030-07-01\","
                   "\"to\":\"2030-07-02\"}";
  const char *ack = "{\"version\":1}";
  /* Roles in columns: none, coordinator, ocha (the notifier), icrc
   * (another agency), syr-gov (a recipient), sna (a party not one),
   * it-monitor (monitor). A status of 0: not asserted (a body the row cannot
   * make valid for every caller). */
  const char *who[] = {NULL, g.coord, g.ocha, g.icrc, g.syr, g.sna, g.mon};
  const char *names[] = {"none",    "coordinator", "ocha",   "icrc",
                         "syr-gov", "sna",         "monitor"};
  struct row {
    const char *method, *path, *body;
    long want[7];
  } rows[] = {
      {"GET", "/v1/movements", NULL, {401, 200, 200, 200, 200, 200, 200}},
      {"GET", "/v1/movements/nk-mv", NULL, {401, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/v1/movements/nk-blind",
       NULL,
       {401, 200, 200, 404, 404, 404, 404}},
      {"GET",
       "/v1/movements/nk-blind/history",
       NULL,
       {401, 200, 200, 404, 404, 404, 404}},
      {"PUT", "/v1/movements/nk-mv", "{}", {401, 0, 0, 403, 403, 403, 403}},
      {"DELETE", "/v1/movements/nk-mv", NULL, {401, 0, 0, 403, 403, 403, 403}},
      {"POST", "/v1/movements", "{}", {401, 0, 0, 0, 403, 403, 403}},
      {"POST",
       "/v1/movements/nk-mv/ack",
       ack,
       {401, 403, 403, 403, 200, 403, 403}},
      {"POST",
       "/v1/movements/nk-blind/ack",
       ack,
       {401, 0, 0, 404, 404, 404, 404}},
      {"GET",
       "/v1/movements/nk-mv/acks",
       NULL,
       {401, 200, 200, 403, 403, 403, 403}},
      {"GET",
       "/v1/movements/nk-blind/acks",
       NULL,
       {401, 200, 200, 404, 403, 403, 403}},
      {"POST", "/v1/sites/" BLIND "/ack", ack, {401, 0, 0, 404, 404, 404, 404}},
      {"GET",
       "/v1/sites/" BLIND "/acks",
       NULL,
       {401, 200, 200, 404, 403, 403, 403}},
      {"GET",
       "/v1/sites/" HOSPITAL "/acks",
       NULL,
       {401, 200, 200, 403, 403, 403, 403}},
      {"POST",
       "/v1/sites/" HOSPITAL "/ack",
       ack,
       {401, 403, 403, 403, 403, 403, 403}},
      {"POST", "/v1/checks", op, {401, 200, 403, 403, 200, 200, 403}},
  };
  size_t bad = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    for (size_t k = 0; k < 7; k++) {
      if (rows[i].want[k] == 0)
        continue;
      struct it_req q = {.method = rows[i].method,
                         .path = rows[i].path,
                         .token = who[k],
                         .body = rows[i].body,
                         .src = who[k] ? NULL : it_fresh_src()};
      long st = it_http(&g.srv, &q, &r);
      if (st != rows[i].want[k]) {
        print_error("%s %s as %s: %s (expected %ld)\n", rows[i].method,
                    rows[i].path, names[k], it_show(&r), rows[i].want[k]);
        bad++;
      } else if (st >= 400 && it_err_shape(&r) != NULL) {
        print_error("%s %s as %s: %s\n", rows[i].method, rows[i].path, names[k],
                    it_err_shape(&r));
        bad++;
      }
      it_resp_free(&r);
    }
  }
  /* verify: every role, on a real receipt. */
  assert_int_equal(check_point(g.syr, "ground_move", 38.0, 34.0, 10,
                               "2030-07-01", "2030-07-02", &r),
                   200);
  json_t *reply = json_incref(r.json);
  it_resp_free(&r);
  for (size_t k = 1; k < 7; k++) {
    if (!verify(who[k], reply, NULL, 0)) {
      print_error("verify as %s: not ok\n", names[k]);
      bad++;
    }
  }
  char *text = json_dumps(reply, JSON_COMPACT);
  struct it_req anon = {.method = "POST",
                        .path = "/v1/checks/verify",
                        .body = text,
                        .src = it_fresh_src()};
  if (it_http(&g.srv, &anon, &r) != 401) {
    print_error("verify without a token: %s\n", it_show(&r));
    bad++;
  }
  it_resp_free(&r);
  free(text);
  json_decref(reply);
  if (bad)
    fail_msg("%zu need-to-know expectations not met (above)", bad);
}

/* ---- rate limit (last: restarts the server) ------------------------------ */

static void test_rate_limit(void **state) {
  (void)state;
  const char *const extra[] = {"--check-burst", "5", "--check-rate", "60",
                               NULL};
  it_server_stop(&g.srv);
  it_server_restart(&g.srv, extra);
  struct it_resp r;
  for (int i = 0; i < 5; i++) {
    if (check_point(g.nsa, "artillery", 38.2 + 0.05 * i, 34.2, 100,
                    "2030-08-01T00:00:00Z", "2030-08-01T01:00:00Z", &r) != 200)
      fail_msg("check %d of 5: %s", i + 1, it_show(&r));
    it_resp_free(&r);
  }
  assert_int_equal(check_point(g.nsa, "artillery", 38.5, 34.2, 100,
                               "2030-08-01T00:00:00Z", "2030-08-01T01:00:00Z",
                               &r),
                   429);
  assert_string_equal(it_err_code(&r), "too_many_checks");
  assert_null(it_err_shape(&r));
  const char *ra = strcasestr(r.headers, "\nRetry-After:");
  if (ra == NULL)
    fail_msg("429 without Retry-After: %s", r.headers);
  long secs = strtol(ra + strlen("\nRetry-After:"), NULL, 10);
  assert_true(secs >= 1 && secs <= 60);
  it_resp_free(&r);
  /* Another party is not held back by nsa's checks. */
  assert_int_equal(check_point(g.sna, "artillery", 38.5, 34.2, 100,
                               "2030-08-01T00:00:00Z", "2030-08-01T01:00:00Z",
                               &r),
                   200);
  it_resp_free(&r);
  /* The record verifies after all this. */
  assert_int_equal(it_server_stop(&g.srv), 0);
  assert_int_equal(it_ledger_verify_cli(g.data, g.work), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_hospital),
      cmocka_unit_test(test_blind_site),
      cmocka_unit_test(test_blind_site_deleted),
      cmocka_unit_test(test_movement),
      cmocka_unit_test(test_site_acks),
      cmocka_unit_test(test_probing_sweep),
      cmocka_unit_test(test_need_to_know),
      cmocka_unit_test(test_rate_limit),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  it_http_cleanup();
  if (failed == 0)
    it_rm_tree(g.work);
  return failed;
}
