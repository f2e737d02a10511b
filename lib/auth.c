/*
 * auth.c — bearer tokens and the need-to-know rule.
 *
 * Invariants:
 * - a token's secret is never stored or logged: the token object holds
 *   BLAKE2b-256(secret) only, and the secret is compared through that hash
 *   with sodium_memcmp (constant time);
 * - every decision of who sees what is made by hv_visibility(); the views
 *   below and the server apply it, never a rule of their own.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "haven/adjudicate.h"
#include "haven/auth.h"

#define TOKEN_PREFIX "hv1."
#define ID_BYTES 6      /* 12 hex digits */
#define SECRET_BYTES 32 /* 43 base64url characters */
#define SECRET_B64 43

/* Does the role fit the party? (docs/api.md) */
static int role_fits(const struct hv_db *db, const char *party,
                     enum hv_role role, struct hv_error *err) {
  if (role == HV_ROLE_COORDINATOR)
    return strcmp(party, HV_COORDINATOR) == 0
               ? HV_OK
               : hv_error_set(err, HV_EINVAL,
                              "role: coordinator tokens belong to the party "
                              "\"%s\"",
                              HV_COORDINATOR);
  const struct hv_object *p = hv_db_get(db, HV_PARTY, party);
  if (p == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "party: no party \"%s\"", party);
  const char *kind = p->u.party.kind;
  int fits = role == HV_ROLE_AGENCY ? strcmp(kind, "agency") == 0
             : role == HV_ROLE_MONITOR
                 ? strcmp(kind, "monitor") == 0
                 : strcmp(kind, "agency") != 0 && strcmp(kind, "monitor") != 0;
  if (!fits)
    return hv_error_set(err, HV_EINVAL,
                        "role: %s does not fit party \"%s\" (kind %s)",
                        hv_role_name(role), party, kind);
  return HV_OK;
}

int hv_db_token_create(struct hv_db *db, const char *author, const char *party,
                       enum hv_role role, const char *label,
                       char text[HV_TOKEN_TEXT_MAX], char id[16],
                       struct hv_error *err) {
  text[0] = id[0] = '\0';
  if ((unsigned)role >= HV_ROLE_COUNT)
    return hv_error_set(err, HV_EINVAL, "role: unknown");
  int rc = role_fits(db, party, role, err);
  if (rc != HV_OK)
    return rc;
  uint8_t idb[ID_BYTES], secret[SECRET_BYTES], hash[HV_HASH_BYTES];
  char idhex[2 * ID_BYTES + 1], b64[SECRET_B64 + 1], hashhex[65], at[32];
  do { /* a fresh id: collisions are all but impossible, but cheap to rule out
        */
    randombytes_buf(idb, sizeof idb);
    sodium_bin2hex(idhex, sizeof idhex, idb, sizeof idb);
  } while (hv_db_get(db, HV_TOKEN, idhex) != NULL);
  randombytes_buf(secret, sizeof secret);
  sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  crypto_generichash(hash, sizeof hash, secret, sizeof secret, NULL, 0);
  sodium_memzero(secret, sizeof secret);
  json_t *doc =
      json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", idhex, "party", party, "role",
                hv_role_name(role), "hash", hv_hash_hex(hash, hashhex),
                "created_at", hv_time_format(hv_time_now_ms(), at, sizeof at));
  if (doc == NULL)
    return HV_ENOMEM;
  if (label && *label)
    json_object_set_new(doc, "label", json_string(label));
  struct hv__change c = {.op = "create"};
  if ((rc = hv__object_new(db->geo, HV_TOKEN, doc, &c.obj, err)) != HV_OK ||
      (rc = hv__db_commit(db, author, &c, 1, err)) != HV_OK) {
    sodium_memzero(b64, sizeof b64);
    return rc;
  }
  snprintf(text, HV_TOKEN_TEXT_MAX, TOKEN_PREFIX "%s.%s", idhex, b64);
  snprintf(id, 16, "%s", idhex);
  sodium_memzero(b64, sizeof b64);
  return HV_OK;
}

int hv_db_token_revoke(struct hv_db *db, const char *author, const char *id,
                       struct hv_error *err) {
  const struct hv_object *t = hv_db_get(db, HV_TOKEN, id);
  if (t == NULL)
    return hv_error_set(err, HV_ENOTFOUND, "no token \"%s\"", id);
  if (t->u.token.revoked)
    return HV_OK;
  json_t *doc = json_deep_copy(t->doc);
  if (doc == NULL || json_object_set_new(doc, "revoked", json_true())) {
    json_decref(doc);
    return HV_ENOMEM;
  }
  struct hv__change c = {.op = "revoke"};
  int rc = hv__object_new(db->geo, HV_TOKEN, doc, &c.obj, err);
  return rc == HV_OK ? hv__db_commit(db, author, &c, 1, err) : rc;
}

int hv_db_authenticate(const struct hv_db *db, const char *text,
                       struct hv_principal *who) {
  memset(who, 0, sizeof *who);
  size_t plen = strlen(TOKEN_PREFIX);
  if (text == NULL || strlen(text) != plen + 2 * ID_BYTES + 1 + SECRET_B64 ||
      strncmp(text, TOKEN_PREFIX, plen) != 0 ||
      text[plen + 2 * ID_BYTES] != '.')
    return HV_EPERM;
  char id[2 * ID_BYTES + 1];
  memcpy(id, text + plen, 2 * ID_BYTES);
  id[2 * ID_BYTES] = '\0';
  uint8_t secret[SECRET_BYTES], hash[HV_HASH_BYTES], want[HV_HASH_BYTES];
  size_t n = 0;
  if (sodium_base642bin(secret, sizeof secret, text + plen + 2 * ID_BYTES + 1,
                        SECRET_B64, NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      n != SECRET_BYTES)
    return HV_EPERM;
  crypto_generichash(hash, sizeof hash, secret, sizeof secret, NULL, 0);
  sodium_memzero(secret, sizeof secret);
  const struct hv_object *t = hv_db_get(db, HV_TOKEN, id);
  /* An unknown id is compared against a fixed hash all the same, so that
   * timing does not tell known ids from unknown ones. */
  memset(want, 0xa5, sizeof want);
  if (t)
    sodium_hex2bin(want, sizeof want, t->u.token.hash, strlen(t->u.token.hash),
                   NULL, &n, NULL);
  int same = sodium_memcmp(hash, want, sizeof hash) == 0;
  if (!t || !same || t->u.token.revoked)
    return HV_EPERM;
  if (strcmp(t->u.token.party, HV_COORDINATOR) != 0 &&
      hv_db_get(db, HV_PARTY, t->u.token.party) == NULL)
    return HV_EPERM;
  who->party = t->u.token.party;
  who->role = t->u.token.role;
  who->token_id = t->id;
  return HV_OK;
}

/* ---- need-to-know ------------------------------------------------------- */

static int listed(const json_t *arr, const char *party) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    if (s && (strcmp(s, "*") == 0 || strcmp(s, party) == 0))
      return 1;
  }
  return 0;
}

/* Whether party is in the array of ids (no wildcard). */
static int listed_exactly(const json_t *arr, const char *party) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    if (s && strcmp(s, party) == 0)
      return 1;
  }
  return 0;
}

enum hv_visibility hv_visibility(const struct hv_principal *who,
                                 enum hv_kind kind, const json_t *doc) {
  if (who->role == HV_ROLE_COORDINATOR)
    return HV_VIS_FULL;
  switch (kind) {
  case HV_TOKEN:
    return HV_VIS_HIDDEN;
  case HV_FINDING: {
    /* About its own asset (either side of a separation finding), or about
     * a zone or corridor it guarantees or a site it notified (the body's
     * audience, fixed when the finding was recorded). */
    const char *p = json_string_value(json_object_get(doc, "party"));
    const char *o = json_string_value(json_object_get(doc, "other_party"));
    if ((p && strcmp(p, who->party) == 0) ||
        (o && strcmp(o, who->party) == 0) ||
        listed_exactly(json_object_get(doc, "audience"), who->party))
      return HV_VIS_FULL;
    return HV_VIS_HIDDEN;
  }
  case HV_CHECK: {
    /* A recorded check (request, the answer its author was given,
     * receipt): the asking party's. */
    json_t *rc = json_object_get(doc, "receipt");
    const char *a = json_string_value(json_object_get(rc, "author"));
    return a && strcmp(a, who->party) == 0 ? HV_VIS_FULL : HV_VIS_HIDDEN;
  }
  case HV_ACK: {
    /* An acknowledgement (its recorded body, haven/notify.h): its own
     * party's business; the notifier reads the status instead. */
    const char *p = json_string_value(json_object_get(doc, "party"));
    return p && strcmp(p, who->party) == 0 ? HV_VIS_FULL : HV_VIS_HIDDEN;
  }
  case HV_SITE:
  case HV_MOVEMENT: {
    /* A notification: its notifier sees it in full; a disclosed one is
     * seen in full by its recipients and without its place by everyone
     * else; a blind one is hidden from everyone else. */
    const char *by = json_string_value(json_object_get(doc, "notified_by"));
    if (by && strcmp(by, who->party) == 0)
      return HV_VIS_FULL;
    const char *disc = json_string_value(json_object_get(doc, "disclosure"));
    if (disc && strcmp(disc, "blind") == 0)
      return HV_VIS_HIDDEN;
    return listed(json_object_get(doc, "recipients"), who->party)
               ? HV_VIS_FULL
               : HV_VIS_REDACTED;
  }
  case HV_INCIDENT: {
    /* The published record, but a reporter who asked for protection has
     * its name withheld and its location coarsened for everyone but the
     * coordinator (docs/incidents.md "What parties see"). */
    int hide = json_is_true(json_object_get(doc, "hide_reporter")) &&
               json_object_get(doc, "reporter") != NULL;
    /* The site it names may be one the party may not know of: the name
     * stays with the coordinator (the adjudication's hits say what the
     * party may see of it). */
    return hide || json_object_get(doc, "coarsen_m") ||
                   json_object_get(doc, "target_site")
               ? HV_VIS_REDACTED
               : HV_VIS_FULL;
  }
  default:
    return HV_VIS_FULL; /* the shared map */
  }
}

json_t *hv_object_view_json(const struct hv_principal *who,
                            const struct hv_object *obj) {
  enum hv_visibility v = hv_visibility(who, obj->kind, obj->doc);
  if (v == HV_VIS_HIDDEN)
    return NULL;
  json_t *j = hv_object_export_json(obj);
  if (j == NULL)
    return NULL;
  if (obj->kind == HV_TOKEN)
    json_object_del(j, "hash"); /* not even the coordinator needs it */
  if (obj->kind == HV_MOVEMENT) {
    /* Derived, not stored: notified inside the lead time. */
    json_object_set_new(json_object_get(j, "properties"), "late",
                        json_boolean(obj->u.movement.late));
  }
  if (v == HV_VIS_REDACTED && obj->kind == HV_INCIDENT) {
    json_t *props = json_object_get(j, "properties");
    if (obj->u.incident.hide_reporter)
      json_object_del(props, "reporter");
    json_object_del(props, "target_site");
    double lon, lat;
    hv_incident_published_point(obj, &lon, &lat);
    json_object_set_new(
        j, "geometry",
        json_pack("{s:s,s:[f,f]}", "type", "Point", "coordinates", lon, lat));
    return j;
  }
  if (v == HV_VIS_REDACTED) {
    json_object_set_new(j, "geometry", json_null());
    /* A movement routed by a corridor: the corridor id is its route. */
    json_object_del(json_object_get(j, "properties"), "corridor");
  }
  return j;
}

json_t *hv_ledger_entry_view_json(const struct hv_principal *who,
                                  const struct hv_ledger_entry *e) {
  enum hv_kind kind;
  /* The body of an entry of a kind this rule does not know is the
   * coordinator's only (genesis has no body to speak of); its id, which
   * names no object of a party's, stays. */
  int full = who->role == HV_ROLE_COORDINATOR || strcmp(e->op, "genesis") == 0;
  int show_id = 1;
  int known = hv_kind_parse(e->kind, &kind) == HV_OK;
  if (!known && strcmp(e->kind, "finding") == 0) {
    kind = HV_FINDING;
    known = 1;
  } else if (!known && strcmp(e->kind, "ack") == 0) {
    kind = HV_ACK;
    known = 1;
  } else if (!known && strcmp(e->kind, "check") == 0) {
    kind = HV_CHECK;
    known = 1;
  }
  if (known) {
    /* What who may not see at all, it may not name either: the id goes
     * with the body (id_hash stays, so the copy verifies). That is what
     * keeps a blind notification's id, and a token's, from the parties;
     * an acknowledgement's id names its notification ("site/ID"), so it
     * goes too. A redacted object's entry keeps its id. A body that does
     * not parse is shown to no one but the coordinator. */
    json_error_t jerr;
    json_t *doc = json_loads(e->body, 0, &jerr);
    enum hv_visibility v = doc ? hv_visibility(who, kind, doc)
                           : who->role == HV_ROLE_COORDINATOR ? HV_VIS_FULL
                                                              : HV_VIS_HIDDEN;
    full = v == HV_VIS_FULL;
    show_id = v != HV_VIS_HIDDEN;
    json_decref(doc);
  }
  return hv_ledger_entry_json(e, full, show_id);
}
