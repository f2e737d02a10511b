/*
 * time.c — RFC 3339 instants as milliseconds since the Unix epoch (UTC).
 *
 * Accepted: "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDTHH:MM[:SS[.fff…]]"
 * followed by "Z" or "±HH:MM" ("t" and a space are accepted for "T").
 * Invariant: fields are range-checked (a 31 February is an error), so every
 * accepted text names exactly one instant.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "haven/object.h"

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return 0;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 1;
}

static int days_in_month(int y, int m) {
  static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return d[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int hv_time_parse(const char *text, int64_t *out_ms) {
  if (text == NULL)
    return HV_EPARSE;
  const char *p = text;
  int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
  if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
      !digits(&p, 2, &d))
    return HV_EPARSE;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return HV_EPARSE;
  int64_t offset_min = 0;
  if (*p != '\0') {
    if (*p != 'T' && *p != 't' && *p != ' ')
      return HV_EPARSE;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
      return HV_EPARSE;
    if (*p == ':') {
      p++;
      if (!digits(&p, 2, &s))
        return HV_EPARSE;
      if (*p == '.') {
        p++;
        int n = 0, scale = 100;
        while (isdigit((unsigned char)*p)) {
          ms += (*p - '0') * scale;
          scale /= 10;
          p++;
          n++;
        }
        if (n == 0)
          return HV_EPARSE;
      }
    }
    if (h > 23 || mi > 59 || s > 60)
      return HV_EPARSE;
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p++ == '-' ? -1 : 1, oh, om;
      if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) ||
          oh > 23 || om > 59)
        return HV_EPARSE;
      offset_min = sign * (oh * 60 + om);
    } else {
      return HV_EPARSE; /* a time of day needs its offset */
    }
    if (*p != '\0')
      return HV_EPARSE;
  }
  if (s == 60)
    s = 59; /* a leap second is kept within its minute */
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
                 offset_min * 60;
  *out_ms = secs * 1000 + ms;
  return HV_OK;
}

const char *hv_time_format(int64_t t_ms, char *buf, size_t size) {
  if (t_ms == HV_TIME_OPEN) {
    snprintf(buf, size, "open");
    return buf;
  }
  int64_t secs = t_ms / 1000, ms = t_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs--;
  }
  time_t tt = (time_t)secs;
  struct tm tm;
  gmtime_r(&tt, &tm);
  if (ms)
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)ms);
  else
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

int64_t hv_time_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
