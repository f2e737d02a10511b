/*
 * haven/notify.h — acknowledgements of humanitarian notifications.
 *
 * A notification is a protected site (HV_SITE) or a movement (HV_MOVEMENT)
 * that an agency records; it is delivered to its `recipients` (party ids,
 * or "*" = every party of kind state or armed_group). Each recipient
 * acknowledges receipt of one version: receipt, not approval. A new version
 * of the notification is a new notification, pending again for every
 * recipient until each acknowledges that version.
 *
 * An acknowledgement is a ledger-only entry (op and kind "ack", id
 * "<kind>/<id>", version the version acknowledged, author the recipient,
 * body {"object":{"kind","id","version"},"party"}), written through the one
 * write path; haven keeps the acknowledgements in memory (rebuilt from the
 * ledger at open), so that a status costs O(recipients).
 *
 * A blind notification (disclosure "blind") is delivered to nobody: it is
 * hidden from every party but its notifier (haven/auth.h), so nobody
 * acknowledges it; its status lists no recipient. A withdrawn notification
 * (withdrawn_at) is no longer asked to be acknowledged; its status stays
 * readable.
 *
 * Same thread rules as struct hv_db (haven/db.h).
 */
#ifndef HAVEN_NOTIFY_H
#define HAVEN_NOTIFY_H

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Records that party author acknowledges receipt of version `version` of
 * the notification (kind, id), kind HV_SITE or HV_MOVEMENT. Acknowledging a
 * version already acknowledged by author is harmless: HV_OK, nothing
 * written. author is borrowed.
 * Errors:
 * - HV_EINVAL: kind is not HV_SITE or HV_MOVEMENT; the notification is
 *   withdrawn;
 * - HV_ENOTFOUND: no such notification, or one author may not know of (a
 *   blind one: the same answer as for none); version < 1 or later than the
 *   current one;
 * - HV_EPERM: author is not one of its recipients;
 * - HV_ECONFLICT: version is an earlier, superseded version (acknowledge
 *   the current one), or another process wrote to the store (reopen);
 * - HV_EREF (author is no party), HV_ESTORE, HV_ENOMEM.
 */
int hv_db_ack(struct hv_db *db, const char *author, enum hv_kind kind,
              const char *id, int64_t version, struct hv_error *err);

/* One recipient in an acknowledgement status. */
struct hv_ack_row {
  char party[HV_ID_MAX + 1];
  int acked;        /* 1: has acknowledged the current version */
  int64_t since_ms; /* acked: when (its ledger entry's time); pending: since
                       the current version was recorded */
};

/* The acknowledgement status of a notification's current version. */
struct hv_ack_status {
  enum hv_kind kind;
  char id[HV_ID_MAX + 1];
  int64_t version;         /* the current version */
  int64_t recorded_ms;     /* when the current version was recorded */
  int blind;               /* 1: delivered to nobody (no rows) */
  int64_t withdrawn_ms;    /* 0 when not withdrawn */
  struct hv_ack_row *rows; /* recipients in id order; "*" expanded */
  size_t n, n_acked;       /* rows, of which acknowledged */
};

/*
 * The status of notification (kind, id): each recipient of its current
 * version, acknowledged (and when) or pending (and since when). Recipients
 * "*" are every party of kind state or armed_group. Fills *out (free its
 * rows with hv_ack_status_free). Who may read it (the coordinator and the
 * notifier) is for the caller to decide.
 * Errors: HV_EINVAL (kind), HV_ENOTFOUND, HV_ESTORE, HV_ENOMEM.
 */
int hv_db_ack_status(struct hv_db *db, enum hv_kind kind, const char *id,
                     struct hv_ack_status *out, struct hv_error *err);

/* Frees the rows of a status filled by hv_db_ack_status (the struct itself
 * is the caller's). NULL is a no-op. */
void hv_ack_status_free(struct hv_ack_status *status);

#ifdef __cplusplus
}
#endif
#endif
