/*
 * util.h — the two small helpers every module of libhaven uses: growing
 * an array and searching a sorted one (util.c).
 */
#ifndef HAVEN_UTIL_H
#define HAVEN_UTIL_H

#include <stddef.h>

/* The array v of *cap elements of size bytes, grown (doubling, from 16) to
 * hold n > 0 of them: v itself when it is large enough, else a new array
 * with *cap updated; NULL when out of memory (v is left as it was). The
 * growth of every array of libhaven. */
void *hv__grow(void *v, size_t *cap, size_t n, size_t size);

/* Binary search of the n elements of size bytes at base, sorted by cmp
 * (cmp(key, element) < 0 when key comes first): the index of the element
 * equal to key, or -(insertion point) - 1 when there is none. */
long hv__bsearch(const void *base, size_t n, size_t size, const void *key,
                 int (*cmp)(const void *key, const void *elem));

#endif
