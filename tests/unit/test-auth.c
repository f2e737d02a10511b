/*
 * test-auth.c — credentials, roles and need-to-know (lib/auth.c).
 *
 * Each test gets its own data directory under HAVEN_SCRATCH_DIR holding the
 * scenario of tests/fixtures/unit/; most add a monitor party "obs", and
 * test_disclosed_sites two sites that disclose their place: "site-tr" (to
 * "tr") and "site-all" (to "*").
 *
 * What must hold (include/haven/auth.h, docs/api.md): a token's text is
 * "hv1.<12 hex>.<43 base64url>" and is shown once: the store keeps only
 * BLAKE2b-256 of the decoded secret, and no ledger body holds the secret;
 * a role fits its party's kind or the token is refused; authentication
 * accepts exactly the text it was given and nothing else (one character
 * off, truncated, longer, another prefix, empty, NULL, revoked, party gone
 * are all HV_EPERM); tokens outlive a reopen; need-to-know follows the
 * matrix of docs/api.md; views never show a token's hash, redact a site's
 * place, and a party's copy of the ledger withholds bodies yet verifies to
 * the same head.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "haven/auth.h"
#include "haven/haven.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

#define TEXT_LEN 60 /* "hv1." + 12 + "." + 43 */
#define SECRET_OFF 17
#define SECRET_LEN 43

static void put_ok(struct hv_db *db, enum hv_kind kind, const char *json) {
  json_t *doc = tu_js(json);
  struct hv_error err = {0};
  int rc =
      hv_db_put(db, HV_COORDINATOR, kind, doc, HV_PUT_CREATE, 0, NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put %s: %s: %s", json, hv_err_name(rc), err.msg);
}

/* Each test's store holds the fixture scenario. */
static int setup(void **state) { return tu_store_setup(state, "auth", 1); }

/* A monitor party "obs" (written inside the test, so that a failure is
 * reported as the test's). */
static void add_monitor(struct hv_db *db) {
  put_ok(db, HV_PARTY,
         "{'id':'obs','name':'Observer mission','kind':'monitor'}");
}

/* Two sites of un-ocha that disclose their place: "site-tr" to "tr",
 * "site-all" to "*". Skips the test while the schema refuses them. */
static void add_disclosed_sites(struct hv_db *db) {
  json_t *doc =
      tu_js("{'type':'Feature','id':'site-tr','geometry':{'type':'Point',"
            "'coordinates':[36.111,35.222]},'properties':{'name':'Clinic',"
            "'category':'hospital','radius_m':300,'notified_by':'un-ocha',"
            "'recipients':['tr']}}");
  struct hv_error err = {0};
  int rc =
      hv_db_put(db, HV_COORDINATOR, HV_SITE, doc, HV_PUT_CREATE, 0, NULL, &err);
  json_decref(doc);
  if (rc != HV_OK)
    fail_msg("put site-tr: %s: %s", hv_err_name(rc), err.msg);
  put_ok(db, HV_SITE,
         "{'type':'Feature','id':'site-all','geometry':{'type':'Point',"
         "'coordinates':[36.333,35.444]},'properties':{'name':'Depot',"
         "'category':'school','radius_m':300,'notified_by':'un-ocha',"
         "'recipients':['*']}}");
}

/* Creates a token; fails the test unless it is made. */
static void token_ok(struct hv_db *db, const char *party, enum hv_role role,
                     char text[HV_TOKEN_TEXT_MAX], char id[16]) {
  struct hv_error err = {0};
  int rc =
      hv_db_token_create(db, HV_COORDINATOR, party, role, NULL, text, id, &err);
  if (rc != HV_OK)
    fail_msg("token for %s (%s): %s: %s", party, hv_role_name(role),
             hv_err_name(rc), err.msg);
}

static int is_hex(char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static int is_b64url(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* Authenticates text, expecting HV_EPERM and an empty principal. */
static void refused(struct hv_db *db, const char *text, const char *what) {
  struct hv_principal who = {"junk", HV_ROLE_COORDINATOR, "junk"};
  int rc = hv_db_authenticate(db, text, &who);
  if (rc != HV_EPERM)
    fail_msg("%s: authenticate gave %s, HV_EPERM expected", what,
             hv_err_name(rc));
  assert_null(who.party);
  assert_null(who.token_id);
}

/* A body of the ledger holds needle. */
struct find {
  const char *needle;
  int64_t hits, entries;
};

static int find_cb(const struct hv_ledger_entry *e, void *ud) {
  struct find *f = ud;
  f->entries++;
  if (strstr(e->body, f->needle) || strstr(e->author, f->needle) ||
      strstr(e->id, f->needle))
    f->hits++;
  return 0;
}

/* ---- creating tokens ----------------------------------------------------- */

static void test_token_create_form(void **state) {
  struct tu_store *c = *state;
  int64_t head = hv_db_head_seq(c->db);
  char text[HV_TOKEN_TEXT_MAX], id[16];
  struct hv_error err = {0};
  assert_int_equal(hv_db_token_create(c->db, HV_COORDINATOR, "tr",
                                      HV_ROLE_PARTY, "ops room", text, id,
                                      &err),
                   HV_OK);
  /* hv1.<12 hex>.<43 base64url> */
  assert_int_equal(strlen(text), TEXT_LEN);
  assert_memory_equal(text, "hv1.", 4);
  for (size_t i = 4; i < 16; i++)
    assert_true(is_hex(text[i]));
  assert_int_equal(text[16], '.');
  for (size_t i = SECRET_OFF; i < TEXT_LEN; i++)
    assert_true(is_b64url(text[i]));
  /* The id is the middle part. */
  assert_int_equal(strlen(id), 12);
  assert_memory_equal(id, text + 4, 12);

  /* One ledger entry, creating the token object. */
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  struct tu_ledger_info li = tu_ledger(c->db);
  assert_string_equal(li.last_op, "create");
  assert_string_equal(li.last_kind, "token");
  assert_string_equal(li.last_id, id);
  assert_string_equal(li.last_author, HV_COORDINATOR);
  const struct hv_object *t = hv_db_get(c->db, HV_TOKEN, id);
  assert_non_null(t);
  assert_int_equal(t->version, 1);
  assert_string_equal(t->u.token.party, "tr");
  assert_int_equal(t->u.token.role, HV_ROLE_PARTY);
  assert_int_equal(t->u.token.revoked, 0);
  assert_string_equal(json_string_value(json_object_get(t->doc, "role")),
                      "party");
  assert_string_equal(json_string_value(json_object_get(t->doc, "party")),
                      "tr");
  assert_string_equal(json_string_value(json_object_get(t->doc, "label")),
                      "ops room");

  /* Its hash is BLAKE2b-256 of the decoded secret. */
  uint8_t secret[32], hash[32];
  size_t n = 0;
  assert_int_equal(sodium_base642bin(secret, sizeof secret, text + SECRET_OFF,
                                     SECRET_LEN, NULL, &n, NULL,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                   0);
  assert_int_equal(n, 32);
  assert_int_equal(
      crypto_generichash(hash, sizeof hash, secret, sizeof secret, NULL, 0), 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  assert_string_equal(json_string_value(json_object_get(t->doc, "hash")), hex);
  assert_string_equal(t->u.token.hash, hex);

  /* Neither the text nor its secret is anywhere in the ledger. */
  struct find f = {text + SECRET_OFF, 0, 0};
  assert_int_equal(hv_ledger_each(c->db, 1, 0, find_cb, &f), HV_OK);
  assert_int_equal(f.entries, head + 1);
  assert_int_equal(f.hits, 0);
  /* (the walk itself can find: the id is there) */
  struct find fid = {id, 0, 0};
  assert_int_equal(hv_ledger_each(c->db, 1, 0, find_cb, &fid), HV_OK);
  assert_int_equal(fid.hits, 1);

  /* Two tokens never share an id or a secret. */
  char text2[HV_TOKEN_TEXT_MAX], id2[16];
  token_ok(c->db, "tr", HV_ROLE_PARTY, text2, id2);
  assert_string_not_equal(id, id2);
  assert_true(memcmp(text + SECRET_OFF, text2 + SECRET_OFF, SECRET_LEN) != 0);
  tu_verify(c->db);
}

static void test_token_role_fits_party(void **state) {
  struct tu_store *c = *state;
  add_monitor(c->db);
  static const struct {
    const char *party;
    enum hv_role role;
    int rc;
  } cases[] = {
      {"coordinator", HV_ROLE_COORDINATOR, HV_OK},
      {"tr", HV_ROLE_COORDINATOR, HV_EINVAL},
      {"un-ocha", HV_ROLE_COORDINATOR, HV_EINVAL},
      {"un-ocha", HV_ROLE_AGENCY, HV_OK},
      {"tr", HV_ROLE_AGENCY, HV_EINVAL},
      {"obs", HV_ROLE_AGENCY, HV_EINVAL},
      {"obs", HV_ROLE_MONITOR, HV_OK},
      {"tr", HV_ROLE_MONITOR, HV_EINVAL},
      {"un-ocha", HV_ROLE_MONITOR, HV_EINVAL},
      {"tr", HV_ROLE_PARTY, HV_OK},          /* state */
      {"nda", HV_ROLE_PARTY, HV_OK},         /* armed_group */
      {"is-halab", HV_ROLE_PARTY, HV_OK},    /* designated */
      {"un-ocha", HV_ROLE_PARTY, HV_EINVAL}, /* agency */
      {"obs", HV_ROLE_PARTY, HV_EINVAL},     /* monitor */
      {"nobody", HV_ROLE_PARTY, HV_ENOTFOUND},
      {"nobody", HV_ROLE_AGENCY, HV_ENOTFOUND},
      {"nobody", HV_ROLE_MONITOR, HV_ENOTFOUND},
      {"tr", HV_ROLE_COUNT, HV_EINVAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int64_t head = hv_db_head_seq(c->db);
    size_t ntok = hv_db_count(c->db, HV_TOKEN);
    char text[HV_TOKEN_TEXT_MAX] = "x", id[16] = "x";
    struct hv_error err = {0};
    int rc = hv_db_token_create(c->db, HV_COORDINATOR, cases[i].party,
                                cases[i].role, NULL, text, id, &err);
    if (rc != cases[i].rc)
      fail_msg("case %zu (%s as %s): %s, %s expected (%s)", i, cases[i].party,
               cases[i].role < HV_ROLE_COUNT ? hv_role_name(cases[i].role)
                                             : "?",
               hv_err_name(rc), hv_err_name(cases[i].rc), err.msg);
    if (rc == HV_OK) {
      assert_int_equal(hv_db_head_seq(c->db), head + 1);
      assert_int_equal(hv_db_count(c->db, HV_TOKEN), ntok + 1);
      struct hv_principal who;
      assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);
      assert_string_equal(who.party, cases[i].party);
      assert_int_equal(who.role, cases[i].role);
    } else {
      assert_int_equal(hv_db_head_seq(c->db), head);
      assert_int_equal(hv_db_count(c->db, HV_TOKEN), ntok);
      assert_string_equal(text, "");
      assert_string_equal(id, "");
      assert_true(err.msg[0] != '\0');
      if (rc == HV_ENOTFOUND)
        assert_non_null(strstr(err.msg, cases[i].party));
    }
  }
  tu_verify(c->db);
}

/* ---- authenticating ------------------------------------------------------ */

static void test_authenticate(void **state) {
  struct tu_store *c = *state;
  char text[HV_TOKEN_TEXT_MAX], id[16], ctext[HV_TOKEN_TEXT_MAX], cid[16];
  char otext[HV_TOKEN_TEXT_MAX], oid[16];
  token_ok(c->db, "tr", HV_ROLE_PARTY, text, id);
  token_ok(c->db, HV_COORDINATOR, HV_ROLE_COORDINATOR, ctext, cid);
  token_ok(c->db, "un-ocha", HV_ROLE_AGENCY, otext, oid);

  struct hv_principal who;
  assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);
  assert_string_equal(who.party, "tr");
  assert_int_equal(who.role, HV_ROLE_PARTY);
  assert_string_equal(who.token_id, id);
  assert_int_equal(hv_db_authenticate(c->db, ctext, &who), HV_OK);
  assert_string_equal(who.party, HV_COORDINATOR);
  assert_int_equal(who.role, HV_ROLE_COORDINATOR);
  assert_string_equal(who.token_id, cid);
  assert_int_equal(hv_db_authenticate(c->db, otext, &who), HV_OK);
  assert_string_equal(who.party, "un-ocha");
  assert_int_equal(who.role, HV_ROLE_AGENCY);
  assert_string_equal(who.token_id, oid);

  char bad[2 * HV_TOKEN_TEXT_MAX];
  /* Every single character of the secret changed, one at a time. */
  for (size_t i = SECRET_OFF; i < TEXT_LEN; i++) {
    snprintf(bad, sizeof bad, "%s", text);
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    char what[64];
    snprintf(what, sizeof what, "secret character %zu changed", i);
    refused(c->db, bad, what);
  }
  /* A character outside base64url in the secret. */
  snprintf(bad, sizeof bad, "%s", text);
  bad[SECRET_OFF + 5] = '+';
  refused(c->db, bad, "'+' in the secret");
  /* The id: one hex digit changed, upper case, another token's id. */
  snprintf(bad, sizeof bad, "%s", text);
  bad[4] = bad[4] == '0' ? '1' : '0';
  refused(c->db, bad, "id digit changed");
  snprintf(bad, sizeof bad, "%s", text);
  for (size_t i = 4; i < 16; i++)
    if (bad[i] >= 'a' && bad[i] <= 'f')
      bad[i] = (char)(bad[i] - 'a' + 'A');
  if (strcmp(bad, text) != 0)
    refused(c->db, bad, "id in upper case");
  snprintf(bad, sizeof bad, "hv1.%s.%s", oid, text + SECRET_OFF);
  refused(c->db, bad, "the secret of one token with the id of another");
  /* Length and shape. */
  snprintf(bad, sizeof bad, "%.*s", TEXT_LEN - 1, text);
  refused(c->db, bad, "truncated by one");
  snprintf(bad, sizeof bad, "%.*s", 16, text);
  refused(c->db, bad, "id only");
  snprintf(bad, sizeof bad, "%sA", text);
  refused(c->db, bad, "one character more");
  snprintf(bad, sizeof bad, "%s ", text);
  refused(c->db, bad, "trailing space");
  snprintf(bad, sizeof bad, " %s", text);
  refused(c->db, bad, "leading space");
  snprintf(bad, sizeof bad, "Bearer %s", text);
  refused(c->db, bad, "with the scheme");
  snprintf(bad, sizeof bad, "hv2.%s", text + 4);
  refused(c->db, bad, "prefix hv2.");
  snprintf(bad, sizeof bad, "HV1.%s", text + 4);
  refused(c->db, bad, "prefix HV1.");
  snprintf(bad, sizeof bad, "%s", text);
  bad[16] = '-';
  refused(c->db, bad, "separator not a dot");
  snprintf(bad, sizeof bad, "%s", text);
  bad[3] = '-';
  refused(c->db, bad, "prefix without its dot");
  refused(c->db, "", "empty");
  refused(c->db, NULL, "NULL");

  /* None of that spoilt the real ones. */
  assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);
  assert_string_equal(who.token_id, id);
}

static void test_revoke(void **state) {
  struct tu_store *c = *state;
  char text[HV_TOKEN_TEXT_MAX], id[16], text2[HV_TOKEN_TEXT_MAX], id2[16];
  token_ok(c->db, "tr", HV_ROLE_PARTY, text, id);
  token_ok(c->db, "tr", HV_ROLE_PARTY, text2, id2);
  struct hv_principal who;
  assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);

  int64_t head = hv_db_head_seq(c->db);
  struct hv_error err = {0};
  assert_int_equal(hv_db_token_revoke(c->db, HV_COORDINATOR, id, &err), HV_OK);
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  struct tu_ledger_info li = tu_ledger(c->db);
  assert_string_equal(li.last_op, "revoke");
  assert_string_equal(li.last_kind, "token");
  assert_string_equal(li.last_id, id);
  refused(c->db, text, "revoked");
  /* The object stays, marked revoked, at the next version. */
  const struct hv_object *t = hv_db_get(c->db, HV_TOKEN, id);
  assert_non_null(t);
  assert_int_equal(t->u.token.revoked, 1);
  assert_int_equal(t->version, 2);
  assert_true(json_is_true(json_object_get(t->doc, "revoked")));
  /* The other token of the same party is untouched. */
  assert_int_equal(hv_db_authenticate(c->db, text2, &who), HV_OK);
  assert_string_equal(who.token_id, id2);

  /* Twice: harmless, nothing written. */
  assert_int_equal(hv_db_token_revoke(c->db, HV_COORDINATOR, id, &err), HV_OK);
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  assert_int_equal(tu_ledger(c->db).n, head + 1);
  refused(c->db, text, "revoked, twice");

  /* Unknown id. */
  memset(&err, 0, sizeof err);
  assert_int_equal(
      hv_db_token_revoke(c->db, HV_COORDINATOR, "000000000000", &err),
      HV_ENOTFOUND);
  assert_non_null(strstr(err.msg, "000000000000"));
  assert_int_equal(hv_db_head_seq(c->db), head + 1);
  tu_verify(c->db);
}

static void test_party_deleted(void **state) {
  struct tu_store *c = *state;
  put_ok(c->db, HV_PARTY, "{'id':'tmp','name':'Temporary','kind':'state'}");
  char text[HV_TOKEN_TEXT_MAX], id[16];
  token_ok(c->db, "tmp", HV_ROLE_PARTY, text, id);
  struct hv_principal who;
  assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);
  assert_string_equal(who.party, "tmp");

  /* An active token holds its party. */
  int64_t head = hv_db_head_seq(c->db);
  struct hv_error err = {0};
  assert_int_equal(
      hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "tmp", 1, &err), HV_EREF);
  assert_non_null(strstr(err.msg, id));
  assert_non_null(strstr(err.msg, "token"));
  assert_int_equal(hv_db_head_seq(c->db), head);
  assert_non_null(hv_db_get(c->db, HV_PARTY, "tmp"));
  assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);

  /* A revoked one does not. */
  assert_int_equal(hv_db_token_revoke(c->db, HV_COORDINATOR, id, &err), HV_OK);
  memset(&err, 0, sizeof err);
  int rc = hv_db_delete(c->db, HV_COORDINATOR, HV_PARTY, "tmp", 1, &err);
  if (rc != HV_OK)
    fail_msg("delete after revoke: %s: %s", hv_err_name(rc), err.msg);
  assert_null(hv_db_get(c->db, HV_PARTY, "tmp"));
  refused(c->db, text, "revoked token of a deleted party");
  /* The token object stays for the record. */
  assert_non_null(hv_db_get(c->db, HV_TOKEN, id));
  tu_verify(c->db);

  /* And so after reopening. */
  hv_db_close(c->db);
  c->db = NULL;
  assert_int_equal(hv_db_open(c->dir, &c->db, &err), HV_OK);
  refused(c->db, text, "after reopening");
  assert_null(hv_db_get(c->db, HV_PARTY, "tmp"));
  tu_verify(c->db);
}

static void test_tokens_survive_reopen(void **state) {
  struct tu_store *c = *state;
  char text[HV_TOKEN_TEXT_MAX], id[16], ctext[HV_TOKEN_TEXT_MAX], cid[16];
  char rtext[HV_TOKEN_TEXT_MAX], rid[16];
  token_ok(c->db, "un-ocha", HV_ROLE_AGENCY, text, id);
  token_ok(c->db, HV_COORDINATOR, HV_ROLE_COORDINATOR, ctext, cid);
  token_ok(c->db, "tr", HV_ROLE_PARTY, rtext, rid);
  struct hv_error err = {0};
  assert_int_equal(hv_db_token_revoke(c->db, HV_COORDINATOR, rid, &err), HV_OK);
  struct hv_verify_report before = tu_verify(c->db);
  size_t ntok = hv_db_count(c->db, HV_TOKEN);
  assert_int_equal(ntok, 3);

  hv_db_close(c->db);
  c->db = NULL;
  assert_int_equal(hv_db_open(c->dir, &c->db, &err), HV_OK);
  assert_int_equal(hv_db_count(c->db, HV_TOKEN), ntok);
  struct hv_principal who;
  assert_int_equal(hv_db_authenticate(c->db, text, &who), HV_OK);
  assert_string_equal(who.party, "un-ocha");
  assert_int_equal(who.role, HV_ROLE_AGENCY);
  assert_string_equal(who.token_id, id);
  assert_int_equal(hv_db_authenticate(c->db, ctext, &who), HV_OK);
  assert_string_equal(who.party, HV_COORDINATOR);
  assert_int_equal(who.role, HV_ROLE_COORDINATOR);
  refused(c->db, rtext, "revoked before reopening");
  struct hv_verify_report after = tu_verify(c->db);
  assert_int_equal(after.entries, before.entries);
  assert_string_equal(after.head_hex, before.head_hex);
}

/* ---- need-to-know -------------------------------------------------------- */

enum { R_COORD, R_PARTY, R_AGENCY, R_MONITOR, N_ROLES };

static const struct hv_principal PRINCIPALS[N_ROLES] = {
    {HV_COORDINATOR, HV_ROLE_COORDINATOR, NULL},
    {"tr", HV_ROLE_PARTY, NULL},
    {"un-ocha", HV_ROLE_AGENCY, NULL},
    {"obs", HV_ROLE_MONITOR, NULL},
};

static const char *vis_name(enum hv_visibility v) {
  return v == HV_VIS_HIDDEN     ? "hidden"
         : v == HV_VIS_REDACTED ? "redacted"
         : v == HV_VIS_FULL     ? "full"
                                : "?";
}

static void expect_vis(const struct hv_principal *who, enum hv_kind kind,
                       const json_t *doc, enum hv_visibility want,
                       const char *what) {
  enum hv_visibility got = hv_visibility(who, kind, doc);
  if (got != want) {
    char *d = json_dumps(doc, JSON_COMPACT);
    print_error("%s (%s) on %s %s: %s, %s expected\n", who->party,
                hv_role_name(who->role), hv_kind_name(kind), d ? d : "?",
                vis_name(got), vis_name(want));
    free(d);
    fail_msg("visibility: %s", what);
  }
}

static void test_visibility_matrix(void **state) {
  struct tu_store *c = *state;
  add_monitor(c->db);
  char text[HV_TOKEN_TEXT_MAX], id[16];
  token_ok(c->db, "tr", HV_ROLE_PARTY, text, id);

  /* Every kind but sites, from stored objects. */
  static const struct {
    enum hv_kind kind;
    const char *id;
  } objs[] = {{HV_PARTY, "tr"},           {HV_PARTY, "un-ocha"},
              {HV_AGREEMENT, "coh-2016"}, {HV_ZONE, "idlib-dez"},
              {HV_CORRIDOR, "cor-1"},     {HV_DELINEATION, "del-1"},
              {HV_AREA, "idlib-city"},    {HV_TOKEN, NULL}};
  for (int r = 0; r < N_ROLES; r++)
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
      const struct hv_object *o =
          hv_db_get(c->db, objs[i].kind, objs[i].id ? objs[i].id : id);
      assert_non_null(o);
      enum hv_visibility want = r == R_COORD               ? HV_VIS_FULL
                                : objs[i].kind == HV_TOKEN ? HV_VIS_HIDDEN
                                                           : HV_VIS_FULL;
      expect_vis(&PRINCIPALS[r], o->kind, o->doc, want, o->id);
    }
  /* A token of the principal's own party is still the coordinator's. */
  expect_vis(&PRINCIPALS[R_PARTY], HV_TOKEN,
             hv_db_get(c->db, HV_TOKEN, id)->doc, HV_VIS_HIDDEN,
             "own party's token");

  /* Sites: notified by the principal, listed, "*", not listed. */
  for (int r = 0; r < N_ROLES; r++) {
    const char *p = PRINCIPALS[r].party;
    int coord = r == R_COORD;
    json_t *own = json_pack("{s:s}", "notified_by", p);
    json_t *own_listed_other =
        json_pack("{s:s,s:[s]}", "notified_by", p, "recipients", "us");
    json_t *listed = json_pack("{s:s,s:[s,s]}", "notified_by", "someone",
                               "recipients", "us", p);
    json_t *star =
        json_pack("{s:s,s:[s]}", "notified_by", "someone", "recipients", "*");
    json_t *other = json_pack("{s:s,s:[s,s]}", "notified_by", "someone",
                              "recipients", "us", "ru");
    json_t *no_list = json_pack("{s:s}", "notified_by", "someone");
    json_t *empty_list =
        json_pack("{s:s,s:[]}", "notified_by", "someone", "recipients");
    /* A name that merely contains the party's id is not the party. */
    char longer[80];
    snprintf(longer, sizeof longer, "%s-x", p);
    json_t *prefix = json_pack("{s:s,s:[s,s]}", "notified_by", longer,
                               "recipients", longer, "x");
    assert_non_null(own);
    assert_non_null(own_listed_other);
    assert_non_null(listed);
    assert_non_null(star);
    assert_non_null(other);
    assert_non_null(no_list);
    assert_non_null(empty_list);
    assert_non_null(prefix);
    expect_vis(&PRINCIPALS[r], HV_SITE, own, HV_VIS_FULL, "notifier");
    expect_vis(&PRINCIPALS[r], HV_SITE, own_listed_other, HV_VIS_FULL,
               "notifier, list naming others");
    expect_vis(&PRINCIPALS[r], HV_SITE, listed, HV_VIS_FULL, "listed");
    expect_vis(&PRINCIPALS[r], HV_SITE, star, HV_VIS_FULL, "\"*\"");
    expect_vis(&PRINCIPALS[r], HV_SITE, other,
               coord ? HV_VIS_FULL : HV_VIS_REDACTED, "not listed");
    expect_vis(&PRINCIPALS[r], HV_SITE, no_list,
               coord ? HV_VIS_FULL : HV_VIS_REDACTED, "no list");
    expect_vis(&PRINCIPALS[r], HV_SITE, empty_list,
               coord ? HV_VIS_FULL : HV_VIS_REDACTED, "empty list");
    expect_vis(&PRINCIPALS[r], HV_SITE, prefix,
               coord ? HV_VIS_FULL : HV_VIS_REDACTED, "longer id");
    json_decref(own);
    json_decref(own_listed_other);
    json_decref(listed);
    json_decref(star);
    json_decref(other);
    json_decref(no_list);
    json_decref(empty_list);
    json_decref(prefix);
  }

  /* The same on a stored site (hosp-1: un-ocha's, no list; the stored
   * sites with a list are in test_disclosed_sites). */
  static const enum hv_visibility hosp[N_ROLES] = {
      HV_VIS_FULL, HV_VIS_REDACTED, HV_VIS_FULL, HV_VIS_REDACTED};
  const struct hv_object *o = hv_db_get(c->db, HV_SITE, "hosp-1");
  assert_non_null(o);
  for (int r = 0; r < N_ROLES; r++)
    expect_vis(&PRINCIPALS[r], HV_SITE, o->doc, hosp[r], "hosp-1");
}

/* The JSON text of j, compact with sorted keys (caller frees). */
static char *dump(const json_t *j) {
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  assert_non_null(s);
  return s;
}

static void test_object_view(void **state) {
  struct tu_store *c = *state;
  add_monitor(c->db);
  char text[HV_TOKEN_TEXT_MAX], id[16];
  struct hv_error err = {0};
  assert_int_equal(hv_db_token_create(c->db, HV_COORDINATOR, "tr",
                                      HV_ROLE_PARTY, "label", text, id, &err),
                   HV_OK);
  const struct hv_object *tok = hv_db_get(c->db, HV_TOKEN, id);
  assert_non_null(tok);

  /* Tokens: hidden from all but the coordinator... */
  for (int r = R_PARTY; r < N_ROLES; r++)
    assert_null(hv_object_view_json(&PRINCIPALS[r], tok));
  /* ... who sees one without its hash. */
  json_t *tv = hv_object_view_json(&PRINCIPALS[R_COORD], tok);
  assert_non_null(tv);
  char *ts = dump(tv);
  assert_null(strstr(ts, "\"hash\""));
  assert_null(strstr(ts, tok->u.token.hash));
  assert_null(strstr(ts, text + SECRET_OFF));
  assert_non_null(strstr(ts, id));
  assert_non_null(strstr(ts, "\"tr\""));
  assert_non_null(strstr(ts, "label"));
  free(ts);
  json_decref(tv);
}

static void test_object_view_sites(void **state) {
  struct tu_store *c = *state;
  add_monitor(c->db);
  const struct hv_object *hosp = hv_db_get(c->db, HV_SITE, "hosp-1");
  assert_non_null(hosp);

  /* Redacted: everything but the place. */
  json_t *full = hv_object_export_json(hosp);
  assert_non_null(full);
  for (int r = R_PARTY; r < N_ROLES; r += 2) { /* party, monitor */
    json_t *v = hv_object_view_json(&PRINCIPALS[r], hosp);
    assert_non_null(v);
    assert_true(json_is_null(json_object_get(v, "geometry")));
    assert_string_equal(json_string_value(json_object_get(v, "id")), "hosp-1");
    assert_string_equal(json_string_value(json_object_get(v, "type")),
                        "Feature");
    const json_t *props = json_object_get(v, "properties");
    assert_true(
        json_equal((json_t *)props, json_object_get(full, "properties")));
    assert_null(json_object_get(props, "geometry"));
    char *s = dump(v);
    assert_null(strstr(s, "36.633"));
    assert_null(strstr(s, "35.93"));
    free(s);
    json_decref(v);
  }
  /* In full: the export form itself. */
  static const int sees_hosp[] = {R_COORD, R_AGENCY};
  for (size_t i = 0; i < 2; i++) {
    json_t *v = hv_object_view_json(&PRINCIPALS[sees_hosp[i]], hosp);
    assert_non_null(v);
    assert_true(json_equal(v, full));
    assert_true(json_is_object(json_object_get(v, "geometry")));
    json_decref(v);
  }
  json_decref(full);
  /* The shared map: whole, for everyone. */
  static const struct {
    enum hv_kind kind;
    const char *id;
  } shared[] = {{HV_PARTY, "tr"},          {HV_AGREEMENT, "deesc-idlib"},
                {HV_ZONE, "idlib-dez"},    {HV_CORRIDOR, "cor-1"},
                {HV_DELINEATION, "del-1"}, {HV_AREA, "idlib-city"}};
  for (size_t i = 0; i < sizeof shared / sizeof *shared; i++) {
    const struct hv_object *o = hv_db_get(c->db, shared[i].kind, shared[i].id);
    assert_non_null(o);
    json_t *e = hv_object_export_json(o);
    assert_non_null(e);
    for (int r = 0; r < N_ROLES; r++) {
      json_t *w = hv_object_view_json(&PRINCIPALS[r], o);
      assert_non_null(w);
      assert_true(json_equal(w, e));
      json_decref(w);
    }
    json_decref(e);
  }
}

/* Collects the view lines of the ledger for one principal. */
struct viewer {
  const struct hv_principal *who;
  FILE *f;
  int64_t n, withheld, site_withheld, token_withheld, zone_full,
      delete_withheld;
  int bad;
};

static int view_cb(const struct hv_ledger_entry *e, void *ud) {
  struct viewer *v = ud;
  json_t *j = hv_ledger_entry_view_json(v->who, e);
  if (j == NULL) {
    v->bad = 1;
    return 1;
  }
  v->n++;
  int has_body = json_object_get(j, "body") != NULL;
  if (!json_is_string(json_object_get(j, "body_hash")))
    v->bad = 1;
  if (!has_body) {
    v->withheld++;
    if (strcmp(e->kind, "site") == 0)
      v->site_withheld++;
    if (strcmp(e->kind, "token") == 0)
      v->token_withheld++;
    if (strcmp(e->op, "delete") == 0)
      v->delete_withheld++;
  } else if (strcmp(e->kind, "zone") == 0) {
    v->zone_full++;
  }
  /* Which entries must be withheld from whom: the tokens' from all but the
   * coordinator; un-ocha's sites' (no list) from all but un-ocha and the
   * coordinator; site-tr's from all but tr, un-ocha and the coordinator;
   * nothing else. */
  const char *p = v->who->party;
  int coord = v->who->role == HV_ROLE_COORDINATOR;
  int must_hide = 0;
  if (strcmp(e->kind, "token") == 0)
    must_hide = !coord;
  else if (strcmp(e->kind, "site") == 0 && strcmp(e->id, "site-tr") == 0)
    must_hide = !coord && strcmp(p, "tr") != 0 && strcmp(p, "un-ocha") != 0;
  else if (strcmp(e->kind, "site") == 0 && strcmp(e->id, "site-all") != 0)
    must_hide = !coord && strcmp(p, "un-ocha") != 0;
  if (must_hide == has_body) {
    print_error("entry %lld (%s %s %s): body %s for %s\n", (long long)e->seq,
                e->op, e->kind, e->id, has_body ? "shown" : "withheld", p);
    v->bad = 1;
  }
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (s == NULL) {
    v->bad = 1;
    return 1;
  }
  if (!has_body && strstr(s, "36.633") != NULL)
    v->bad = 1; /* hosp-1's place leaked */
  fprintf(v->f, "%s\n", s);
  free(s);
  return 0;
}

/* Writes who's view of the ledger to path; returns the counts. */
static struct viewer
write_view(struct hv_db *db, const struct hv_principal *who, const char *path) {
  struct viewer v = {.who = who};
  v.f = fopen(path, "w");
  assert_non_null(v.f);
  assert_int_equal(hv_ledger_each(db, 1, 0, view_cb, &v), HV_OK);
  assert_int_equal(fclose(v.f), 0);
  v.f = NULL;
  assert_false(v.bad);
  assert_int_equal(v.n, hv_db_head_seq(db));
  return v;
}

static struct hv_verify_report verify_file(const char *path,
                                           int64_t *withheld) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  struct hv_verify_report rep;
  struct hv_error err = {0};
  int rc = hv_ledger_verify_export(f, &rep, &err);
  fclose(f);
  if (rc != HV_OK)
    fail_msg("%s does not verify: %s: %s", path, hv_err_name(rc), err.msg);
  *withheld = rep.withheld;
  return rep;
}

static void test_ledger_view(void **state) {
  struct tu_store *c = *state;
  add_monitor(c->db);
  char text[HV_TOKEN_TEXT_MAX], id[16];
  token_ok(c->db, "tr", HV_ROLE_PARTY, text, id);
  struct hv_error err = {0};
  assert_int_equal(hv_db_token_revoke(c->db, HV_COORDINATOR, id, &err), HV_OK);
  /* A deleted site's deletion entry carries its document: withheld too. */
  const struct hv_object *camp = hv_db_get(c->db, HV_SITE, "camp-1");
  assert_non_null(camp);
  assert_int_equal(hv_db_delete(c->db, HV_COORDINATOR, HV_SITE, "camp-1",
                                camp->version, &err),
                   HV_OK);
  struct hv_verify_report whole = tu_verify(c->db);

  char path[4096];
  int64_t withheld;
  /* A party's copy. */
  tu_path_in(path, sizeof path, c->dir, "ledger-tr.ndjson");
  struct viewer v = write_view(c->db, &PRINCIPALS[R_PARTY], path);
  /* hosp-1, school-1, camp-1 (create and delete): un-ocha's, no list. */
  assert_int_equal(v.site_withheld, 4);
  assert_int_equal(v.delete_withheld, 1);
  assert_int_equal(v.token_withheld, 2); /* create, revoke */
  assert_true(v.zone_full > 0);
  struct hv_verify_report rep = verify_file(path, &withheld);
  assert_true(withheld > 0);
  assert_int_equal(withheld, v.withheld);
  assert_int_equal(rep.entries, whole.entries);
  assert_string_equal(rep.head_hex, whole.head_hex);

  /* A monitor's: the same. */
  tu_path_in(path, sizeof path, c->dir, "ledger-obs.ndjson");
  struct viewer m = write_view(c->db, &PRINCIPALS[R_MONITOR], path);
  assert_int_equal(m.site_withheld, 4);
  assert_int_equal(m.withheld, v.withheld);
  rep = verify_file(path, &withheld);
  assert_int_equal(withheld, m.withheld);
  assert_string_equal(rep.head_hex, whole.head_hex);

  /* The notifying agency sees its sites' bodies, not the tokens. */
  tu_path_in(path, sizeof path, c->dir, "ledger-ocha.ndjson");
  struct viewer a = write_view(c->db, &PRINCIPALS[R_AGENCY], path);
  assert_int_equal(a.site_withheld, 0);
  assert_int_equal(a.withheld, 2);
  rep = verify_file(path, &withheld);
  assert_string_equal(rep.head_hex, whole.head_hex);

  /* The coordinator's copy is whole. */
  tu_path_in(path, sizeof path, c->dir, "ledger-coord.ndjson");
  struct viewer k = write_view(c->db, &PRINCIPALS[R_COORD], path);
  assert_int_equal(k.withheld, 0);
  rep = verify_file(path, &withheld);
  assert_int_equal(withheld, 0);
  assert_string_equal(rep.head_hex, whole.head_hex);
}

/* Sites with a disclosure list, as stored: visibility, views, ledger. */
static void test_disclosed_sites(void **state) {
  struct tu_store *c = *state;
  add_monitor(c->db);
  add_disclosed_sites(c->db);
  static const struct {
    const char *site;
    enum hv_visibility want[N_ROLES];
  } sites[] = {
      {"site-tr", {HV_VIS_FULL, HV_VIS_FULL, HV_VIS_FULL, HV_VIS_REDACTED}},
      {"site-all", {HV_VIS_FULL, HV_VIS_FULL, HV_VIS_FULL, HV_VIS_FULL}},
  };
  for (size_t i = 0; i < sizeof sites / sizeof *sites; i++)
    for (int r = 0; r < N_ROLES; r++) {
      const struct hv_object *o = hv_db_get(c->db, HV_SITE, sites[i].site);
      assert_non_null(o);
      expect_vis(&PRINCIPALS[r], HV_SITE, o->doc, sites[i].want[r],
                 sites[i].site);
    }

  /* Disclosed to tr: tr sees the place, the monitor does not. */
  const struct hv_object *site_tr = hv_db_get(c->db, HV_SITE, "site-tr");
  json_t *v = hv_object_view_json(&PRINCIPALS[R_PARTY], site_tr);
  assert_non_null(v);
  json_t *coords =
      json_object_get(json_object_get(v, "geometry"), "coordinates");
  assert_true(json_is_array(coords));
  assert_true(json_number_value(json_array_get(coords, 0)) == 36.111);
  json_decref(v);
  v = hv_object_view_json(&PRINCIPALS[R_MONITOR], site_tr);
  assert_non_null(v);
  assert_true(json_is_null(json_object_get(v, "geometry")));
  char *txt = dump(v);
  assert_null(strstr(txt, "36.111"));
  free(txt);
  json_decref(v);
  v = hv_object_view_json(&PRINCIPALS[R_MONITOR],
                          hv_db_get(c->db, HV_SITE, "site-all"));
  assert_non_null(v);
  assert_true(json_is_object(json_object_get(v, "geometry")));
  json_decref(v);

  /* The ledger: tr gets site-tr's body, the monitor does not; both copies
   * verify to the store's head. */
  struct hv_verify_report whole = tu_verify(c->db);
  char path[4096];
  int64_t withheld;
  tu_path_in(path, sizeof path, c->dir, "ledger-tr.ndjson");
  struct viewer p = write_view(c->db, &PRINCIPALS[R_PARTY], path);
  assert_int_equal(p.site_withheld, 3); /* hosp-1, school-1, camp-1 */
  struct hv_verify_report rep = verify_file(path, &withheld);
  assert_int_equal(withheld, p.withheld);
  assert_string_equal(rep.head_hex, whole.head_hex);
  tu_path_in(path, sizeof path, c->dir, "ledger-obs.ndjson");
  struct viewer m = write_view(c->db, &PRINCIPALS[R_MONITOR], path);
  assert_int_equal(m.site_withheld, 4); /* and site-tr */
  rep = verify_file(path, &withheld);
  assert_int_equal(withheld, m.withheld);
  assert_string_equal(rep.head_hex, whole.head_hex);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
#define T_(f) cmocka_unit_test_setup_teardown(f, setup, tu_store_teardown)
  const struct CMUnitTest tests[] = {
      T_(test_token_create_form), T_(test_token_role_fits_party),
      T_(test_authenticate),      T_(test_revoke),
      T_(test_party_deleted),     T_(test_tokens_survive_reopen),
      T_(test_visibility_matrix), T_(test_object_view),
      T_(test_object_view_sites), T_(test_ledger_view),
      T_(test_disclosed_sites),
  };
#undef T_
  return cmocka_run_group_tests(tests, NULL, NULL);
}
