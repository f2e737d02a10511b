/*
 * util.c — growing an array, searching a sorted one (util.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "util.h"

void *hv__grow(void *v, size_t *cap, size_t n, size_t size) {
  if (n <= *cap)
    return v;
  size_t c = *cap ? *cap : 16;
  while (c < n)
    c *= 2;
  void *x = c <= SIZE_MAX / size ? realloc(v, c * size) : NULL;
  if (x != NULL)
    *cap = c;
  return x;
}

long hv__bsearch(const void *base, size_t n, size_t size, const void *key,
                 int (*cmp)(const void *key, const void *elem)) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cmp(key, (const char *)base + mid * size);
    if (c == 0)
      return (long)mid;
    if (c > 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -(long)lo - 1;
}
