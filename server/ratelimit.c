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
