/*
 * ratelimit.c — counts failed authentications per client address, so that
 * an address that failed max_failures times within a window gets 429 until
 * the window passes (docs/api.md, "Authentication").
 *
 * A small fixed-size table (memory does not grow with the number of
 * addresses an attacker can use): an address hashes to a slot and is looked
 * for in the PROBE slots from there. A new address takes a free or expired
 * slot among them, else the one whose window began longest ago — so a flood
 * of addresses can only evict each other, and an address that is blocked
 * now stays blocked unless PROBE newer addresses landed on its slots.
 *
 * Invariants: every slot is empty (addr[0] == 0) or holds one address, the
 * start of its current window and the failures counted in it; an address
 * is in at most one slot. The table has its own lock: callers may hold the
 * db lock, never the other way round.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SLOTS 1024 /* a power of two */
#define PROBE 8

struct slot {
  char addr[64];
  int64_t start_ms;
  unsigned failures;
};

struct hv__ratelimit {
  pthread_mutex_t lock;
  unsigned max_failures;
  int64_t window_ms;
  struct slot slots[SLOTS];
};

int hv__ratelimit_new(unsigned max_failures, int64_t window_ms,
                      struct hv__ratelimit **out) {
  struct hv__ratelimit *rl = calloc(1, sizeof *rl);
  if (rl == NULL)
    return HV_ENOMEM;
  if (pthread_mutex_init(&rl->lock, NULL) != 0) {
    free(rl);
    return HV_ENOMEM;
  }
  rl->max_failures = max_failures;
  rl->window_ms = window_ms;
  *out = rl;
  return HV_OK;
}

void hv__ratelimit_free(struct hv__ratelimit *rl) {
  if (rl == NULL)
    return;
  pthread_mutex_destroy(&rl->lock);
  free(rl);
}

/* FNV-1a of the address. */
static size_t hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* The slot holding addr, or NULL. Lock held. */
static struct slot *find(struct hv__ratelimit *rl, const char *addr) {
  size_t h = hash(addr);
  for (size_t i = 0; i < PROBE; i++) {
    struct slot *s = &rl->slots[(h + i) & (SLOTS - 1)];
    if (strcmp(s->addr, addr) == 0)
      return s;
  }
  return NULL;
}

int hv__ratelimit_blocked(struct hv__ratelimit *rl, const char *addr,
                          int64_t now_ms) {
  if (rl->max_failures == 0)
    return 0;
  pthread_mutex_lock(&rl->lock);
  const struct slot *s = find(rl, addr);
  int blocked = s && s->failures >= rl->max_failures &&
                now_ms - s->start_ms < rl->window_ms;
  pthread_mutex_unlock(&rl->lock);
  return blocked;
}

void hv__ratelimit_fail(struct hv__ratelimit *rl, const char *addr,
                        int64_t now_ms) {
  if (addr[0] == '\0' || strlen(addr) >= sizeof rl->slots[0].addr)
    return;
  pthread_mutex_lock(&rl->lock);
  struct slot *s = find(rl, addr);
  if (s == NULL) {
    /* A free or expired slot, else the oldest window. */
    size_t h = hash(addr);
    for (size_t i = 0; i < PROBE; i++) {
      struct slot *c = &rl->slots[(h + i) & (SLOTS - 1)];
      if (c->addr[0] == '\0' || now_ms - c->start_ms >= rl->window_ms) {
        s = c;
        break;
      }
      if (s == NULL || c->start_ms < s->start_ms)
        s = c;
    }
    memcpy(s->addr, addr, strlen(addr) + 1);
    s->failures = 0;
    s->start_ms = now_ms;
  }
  if (now_ms - s->start_ms >= rl->window_ms) {
    s->start_ms = now_ms; /* the window passed: a new one begins */
    s->failures = 0;
  }
  s->failures++;
  pthread_mutex_unlock(&rl->lock);
}

/* ---- token buckets per party ------------------------------------------------
 *
 * Deconfliction checks are limited per party (docs/checks.md, "Probing"):
 * each party has a bucket of `burst` tokens refilled at `per_minute` a
 * minute; a check takes one, and a party with an empty bucket is refused
 * (429) until one has dripped back. Parties are registered objects, not
 * whatever an attacker sends, so the table simply grows with them.
 */

struct bucket {
  char key[HV_ID_MAX + 1];
  double tokens;
  int64_t at_ms; /* when tokens was last brought up to date */
};

struct hv__buckets {
  pthread_mutex_t lock;
  double per_ms, burst;
  struct bucket *v;
  size_t n, cap;
};

int hv__buckets_new(double per_minute, double burst, struct hv__buckets **out) {
  struct hv__buckets *b = calloc(1, sizeof *b);
  *out = NULL;
  if (b == NULL)
    return HV_ENOMEM;
  if (pthread_mutex_init(&b->lock, NULL) != 0) {
    free(b);
    return HV_ENOMEM;
  }
  b->per_ms = per_minute / 60000.0;
  b->burst = burst;
  *out = b;
  return HV_OK;
}

void hv__buckets_free(struct hv__buckets *b) {
  if (b == NULL)
    return;
  pthread_mutex_destroy(&b->lock);
  free(b->v);
  free(b);
}

int hv__buckets_take(struct hv__buckets *b, const char *key, int64_t now_ms,
                     unsigned *retry_s) {
  size_t len = strlen(key);
  *retry_s = 0;
  if (len > HV_ID_MAX)
    return 0;
  pthread_mutex_lock(&b->lock);
  struct bucket *k = NULL;
  for (size_t i = 0; i < b->n && k == NULL; i++)
    if (strcmp(b->v[i].key, key) == 0)
      k = &b->v[i];
  if (k == NULL) {
    if (b->n == b->cap) {
      size_t cap = b->cap ? b->cap * 2 : 32;
      struct bucket *v = realloc(b->v, cap * sizeof *v);
      if (v == NULL) {
        pthread_mutex_unlock(&b->lock);
        return 0;
      }
      b->v = v;
      b->cap = cap;
    }
    k = &b->v[b->n++];
    memcpy(k->key, key, len + 1);
    k->tokens = b->burst;
    k->at_ms = now_ms;
  }
  if (now_ms > k->at_ms) {
    k->tokens += (double)(now_ms - k->at_ms) * b->per_ms;
    if (k->tokens > b->burst)
      k->tokens = b->burst;
    k->at_ms = now_ms;
  }
  int ok = k->tokens >= 1.0;
  if (ok)
    k->tokens -= 1.0;
  else
    *retry_s = (unsigned)((1.0 - k->tokens) / b->per_ms / 1000.0) + 1;
  pthread_mutex_unlock(&b->lock);
  return ok;
}
