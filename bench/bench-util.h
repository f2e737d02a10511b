/*
 * bench-util.h — what every benchmark needs: a monotonic clock, medians,
 * whole files read into memory, the W-PIP points and their published
 * answer (shared/bench/WORKLOADS.md). Header-only: each benchmark is one
 * source file.
 */
#ifndef HAVEN_BENCH_UTIL_H
#define HAVEN_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* W-PIP's correct answer: points inside per governorate, in file order. */
#define WPIP_NFEAT 14
static const long WPIP_EXPECT[WPIP_NFEAT] = {67806, 58547, 51027, 18201,  309,
                                             10835, 72727, 32055, 124103, 15813,
                                             6953,  3976,  74442, 5501};
static const long WPIP_EXPECT_INSIDE = 542295;

/* Seconds on the monotonic clock. */
static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort comparison of doubles, ascending. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v in place). */
static inline double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

/* The whole of path, NUL-terminated, in *size bytes (size may be NULL);
 * caller frees. NULL when it cannot be read. */
static inline char *slurp_n(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = NULL;
  long n;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    } else {
      buf[n] = '\0';
      if (size)
        *size = (size_t)n;
    }
  }
  fclose(f);
  return buf;
}

static inline char *slurp(const char *path) { return slurp_n(path, NULL); }

/* The W-PIP points file: little-endian (lon, lat) float64 pairs; *n pairs.
 * Caller frees; NULL when it cannot be read. */
static inline double *load_points(const char *path, size_t *n) {
  size_t size = 0;
  char *buf = slurp_n(path, &size);
  *n = buf ? size / (2 * sizeof(double)) : 0;
  return (double *)(void *)buf;
}

#endif
