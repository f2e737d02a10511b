/*
 * haven/auth.h — credentials, roles and need-to-know.
 *
 * A bearer token is "hv1.<id>.<secret>": id, 12 hex digits, names the token;
 * secret, 43 base64url characters, is 32 random bytes. haven keeps only
 * BLAKE2b-256(secret) in a token object (kind HV_TOKEN), and compares it in
 * constant time. The token object records the party and the role; creating
 * and revoking tokens are ledger entries like any change.
 *
 * Need-to-know is decided in one place, hv_visibility(): every reader of
 * objects, ledger entries and (later) tracks, operations and findings goes
 * through it.
 */
#ifndef HAVEN_AUTH_H
#define HAVEN_AUTH_H

#include "db.h"
#include "ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

/* enum hv_role and its names are in object.h (a token object holds one). */

/* Who is asking: the party a token speaks for, and its role. */
struct hv_principal {
  const char *party; /* borrowed */
  enum hv_role role;
  const char *token_id; /* borrowed; NULL for local (command-line) use */
};

#define HV_TOKEN_TEXT_MAX 64

/*
 * Creates a token for party with role, as author (the coordinator, or a
 * local operator), recording it in the ledger. The role must fit the party:
 * coordinator -> the party "coordinator"; agency -> a party of kind agency;
 * monitor -> kind monitor; party -> any other kind. label may be NULL.
 * Writes the token text (NUL-terminated) into text — shown once, never
 * stored — and its id into id (>= 13 bytes).
 * Errors: HV_ENOTFOUND (party), HV_EINVAL (role does not fit), HV_EREF,
 * HV_ESTORE, HV_ECONFLICT.
 */
int hv_db_token_create(struct hv_db *db, const char *author, const char *party,
                       enum hv_role role, const char *label,
                       char text[HV_TOKEN_TEXT_MAX], char id[16],
                       struct hv_error *err);

/* Revokes token id (its object stays, marked revoked). Errors:
 * HV_ENOTFOUND, HV_ESTORE, HV_ECONFLICT. Revoking twice is harmless. */
int hv_db_token_revoke(struct hv_db *db, const char *author, const char *id,
                       struct hv_error *err);

/*
 * Checks a bearer token's text. On success fills *who (strings borrowed
 * from the token object: valid until the next write) and returns HV_OK.
 * Any failure — malformed, unknown id, wrong secret, revoked, its party
 * gone — is HV_EPERM, with the same timing for a wrong secret whatever its
 * bytes (constant-time comparison).
 */
int hv_db_authenticate(const struct hv_db *db, const char *text,
                       struct hv_principal *who);

/* What a principal may see of an object or entry. */
enum hv_visibility {
  HV_VIS_HIDDEN,   /* not at all (not even that it exists) */
  HV_VIS_REDACTED, /* the object without what is withheld (a site's place) */
  HV_VIS_FULL,
};

/*
 * The need-to-know rule, for an object's document of kind `kind` (borrowed;
 * the current object's doc, or a ledger entry's body parsed):
 * - the coordinator sees everything;
 * - tokens are seen by the coordinator only;
 * - notifications — protected sites (HV_SITE) and movements (HV_MOVEMENT)
 *   — are seen in full by their notifying party (`notified_by`); then by
 *   `disclosure`:
 *   - "disclosed" (the default): seen in full by the parties in its
 *     `recipients` ("*" = every party), and redacted — without geometry,
 *     and for a movement without its `corridor` — by everyone else;
 *   - "blind": hidden from everyone else (not even its existence), its
 *     recipients included; it protects only through checks;
 * - the shared map (parties, agreements, zones, corridors, delineations,
 *   areas) is seen by every authenticated principal;
 * - a finding (kind HV_FINDING, doc its recorded body,
 *   hv_finding_record_json) is seen in full by the party of its asset, the
 *   other party of a separation finding, and the parties of its
 *   "audience" (guarantors of its zone or corridor, notifier of its site
 *   or movement);
 *   it is hidden from everyone else. Its ledger entry stays listed for
 *   all, with the body and the id withheld (hv_ledger_entry_view_json).
 * - an acknowledgement (kind HV_ACK, doc its recorded body, haven/notify.h)
 *   is seen in full by the party that acknowledged and hidden from the
 *   others (its ledger entry stays listed, body and id withheld); the notifier
 *   reads acknowledgements through hv_db_ack_status.
 * - a recorded check (kind HV_CHECK, doc its recorded body, haven/check.h)
 *   is seen in full by the party that asked (receipt.author) and hidden
 *   from everyone else;
 * - an incident (HV_INCIDENT) is seen by every principal, redacted when
 *   its reporter asked for protection (hide_reporter: no `reporter`;
 *   coarsen_m: the point moved to its grid cell's centre) or when it names
 *   a target_site (withheld: the site may be one the party may not know
 *   of); its ledger entries are then listed without body;
 * - an entry of any other ledger-only kind (adjudication, review...): its
 *   body is the coordinator's.
 */
enum hv_visibility hv_visibility(const struct hv_principal *who,
                                 enum hv_kind kind, const json_t *doc);

/* The export form of obj (hv_object_export_json) as who may see it: NULL
 * when hidden, without geometry when redacted (an incident: without what
 * its redaction withholds, at its published point). Caller owns the
 * result. */
json_t *hv_object_view_json(const struct hv_principal *who,
                            const struct hv_object *obj);

/* An entry as who may see it (hv_ledger_entry_json): its body is withheld
 * (body_hash only) unless who may see the object it wrote in full, and its
 * id too (id null, id_hash only) when who may not see that object at all
 * (hv_visibility HV_VIS_HIDDEN: a blind notification, a token, another's
 * finding, check or acknowledgement). Entries themselves are never left
 * out, so every copy verifies. who and e are borrowed; caller owns the
 * result (NULL on no memory). */
json_t *hv_ledger_entry_view_json(const struct hv_principal *who,
                                  const struct hv_ledger_entry *e);

#ifdef __cplusplus
}
#endif
#endif
