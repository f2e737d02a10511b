/*
 * test-time.c — RFC 3339 instants (lib/time.c): hv_time_parse and
 * hv_time_format.
 *
 * What must hold: every accepted text names exactly one instant in ms since
 * the epoch, UTC; a time of day always carries its offset; impossible dates
 * (month 13, 29 February of a common year) are errors, never normalised;
 * formatting gives back a text that parses to the same instant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "haven/object.h"

#define HOUR_MS INT64_C(3600000)
#define DAY_MS (24 * HOUR_MS)
/* 2016-02-27T00:00:00Z, checked against `date -u -d 2016-02-27 +%s`. */
#define T_2016_02_27 INT64_C(1456531200000)

/* Parses text, asserting success, and returns the instant. */
static int64_t parse_ok(const char *text) {
  int64_t t = -12345;
  int rc = hv_time_parse(text, &t);
  if (rc != HV_OK)
    fail_msg("hv_time_parse(\"%s\") = %d, expected HV_OK", text, rc);
  return t;
}

static void parse_bad(const char *text) {
  int64_t t = 0;
  int rc = hv_time_parse(text, &t);
  if (rc != HV_EPARSE)
    fail_msg("hv_time_parse(\"%s\") = %d (t = %lld), expected HV_EPARSE",
             text ? text : "(null)", rc, (long long)t);
}

static void test_date_alone_is_midnight_utc(void **state) {
  (void)state;
  assert_true(parse_ok("1970-01-01") == 0);
  assert_true(parse_ok("2016-02-27") == T_2016_02_27);
  assert_true(parse_ok("2016-02-28") == T_2016_02_27 + DAY_MS);
  assert_true(parse_ok("2000-02-29") == INT64_C(951782400000));
  /* Before the epoch: negative. */
  assert_true(parse_ok("1969-12-31") == -DAY_MS);
}

static void test_z_and_time_of_day(void **state) {
  (void)state;
  assert_true(parse_ok("2016-02-27T00:00:00Z") == T_2016_02_27);
  assert_true(parse_ok("2016-02-27T12:34:56Z") ==
              T_2016_02_27 + 12 * HOUR_MS + 34 * 60000 + 56000);
  /* Seconds may be left out; lower-case t/z and a space are accepted. */
  assert_true(parse_ok("2016-02-27T12:34Z") ==
              T_2016_02_27 + 12 * HOUR_MS + 34 * 60000);
  assert_true(parse_ok("2016-02-27t12:00:00z") == T_2016_02_27 + 12 * HOUR_MS);
  assert_true(parse_ok("2016-02-27 12:00:00Z") == T_2016_02_27 + 12 * HOUR_MS);
  assert_true(parse_ok("2016-02-27T23:59:59Z") == T_2016_02_27 + DAY_MS - 1000);
}

static void test_offsets(void **state) {
  (void)state;
  /* +02:00 is two hours ahead of UTC: the same wall time is 2 h earlier. */
  assert_true(parse_ok("2016-02-27T02:00:00+02:00") == T_2016_02_27);
  assert_true(parse_ok("2016-02-27T00:00:00+02:00") ==
              T_2016_02_27 - 2 * HOUR_MS);
  assert_true(parse_ok("2016-02-26T19:00:00-05:00") == T_2016_02_27);
  assert_true(parse_ok("2016-02-27T05:30:00+05:30") == T_2016_02_27);
  assert_true(parse_ok("2016-02-27T00:00:00+00:00") == T_2016_02_27);
  assert_true(parse_ok("2016-02-27T00:00:00-00:00") == T_2016_02_27);
  /* An offset crossing a day and a year boundary. */
  assert_true(parse_ok("2017-01-01T01:00:00+03:00") ==
              parse_ok("2016-12-31T22:00:00Z"));
}

static void test_fractions(void **state) {
  (void)state;
  assert_true(parse_ok("2016-02-27T00:00:00.5Z") == T_2016_02_27 + 500);
  assert_true(parse_ok("2016-02-27T00:00:00.123Z") == T_2016_02_27 + 123);
  assert_true(parse_ok("2016-02-27T00:00:00.05Z") == T_2016_02_27 + 50);
  /* Beyond milliseconds: kept to the millisecond (truncated). */
  assert_true(parse_ok("2016-02-27T00:00:00.123999Z") == T_2016_02_27 + 123);
  assert_true(parse_ok("2016-02-27T02:00:00.250+02:00") == T_2016_02_27 + 250);
  parse_bad("2016-02-27T00:00:00.Z");  /* a dot needs digits */
  parse_bad("2016-02-27T00:00:00,5Z"); /* comma is not RFC 3339 */
}

static void test_leap_years(void **state) {
  (void)state;
  assert_true(parse_ok("2016-02-29") == T_2016_02_27 + 2 * DAY_MS);
  assert_true(parse_ok("2016-03-01") == T_2016_02_27 + 3 * DAY_MS);
  assert_true(parse_ok("2016-02-29T23:59:59Z") ==
              T_2016_02_27 + 3 * DAY_MS - 1000);
  parse_bad("2017-02-29");
  parse_bad("2017-02-29T00:00:00Z");
  parse_bad("1900-02-29"); /* divisible by 100, not by 400 */
  assert_true(parse_ok("2000-02-29") + DAY_MS == parse_ok("2000-03-01"));
  parse_bad("2016-02-30");
  parse_bad("2016-04-31");
  assert_true(parse_ok("2016-12-31") + DAY_MS == parse_ok("2017-01-01"));
}

static void test_bad_forms(void **state) {
  (void)state;
  parse_bad(NULL);
  parse_bad("");
  parse_bad("2016-02-27T00:00:00");      /* time without offset */
  parse_bad("2016-02-27T00:00");         /* likewise */
  parse_bad("2016-13-01");               /* month 13 */
  parse_bad("2016-00-10");               /* month 0 */
  parse_bad("2016-02-00");               /* day 0 */
  parse_bad("2016-02-27T00:00:00Zjunk"); /* trailing junk */
  parse_bad("2016-02-27T00:00:00+02:00 ");
  parse_bad("2016-02-27x");
  parse_bad("2016-02-27 ");
  parse_bad("2016-02-27Z"); /* an offset needs a time */
  parse_bad("2016-2-27");
  parse_bad("16-02-27");
  parse_bad("2016/02/27");
  parse_bad("2016-02-27T24:00:00Z");
  parse_bad("2016-02-27T23:60:00Z");
  parse_bad("2016-02-27T23:59:61Z");
  parse_bad("2016-02-27T12Z");
  parse_bad("2016-02-27T12:00:00+0200"); /* offset needs its colon */
  parse_bad("2016-02-27T12:00:00+02");
  parse_bad("2016-02-27T12:00:00+24:00");
  parse_bad("2016-02-27T12:00:00+02:60");
  parse_bad("now");
}

static void test_leap_second_stays_in_its_minute(void **state) {
  (void)state;
  int64_t t = parse_ok("2016-12-31T23:59:60Z");
  assert_true(t < parse_ok("2017-01-01T00:00:00Z"));
  assert_true(t >= parse_ok("2016-12-31T23:59:59Z"));
}

static void test_format(void **state) {
  (void)state;
  char buf[32];
  assert_string_equal(hv_time_format(0, buf, sizeof buf),
                      "1970-01-01T00:00:00Z");
  assert_string_equal(hv_time_format(T_2016_02_27, buf, sizeof buf),
                      "2016-02-27T00:00:00Z");
  assert_string_equal(hv_time_format(T_2016_02_27 + 45296789, buf, sizeof buf),
                      "2016-02-27T12:34:56.789Z");
  assert_string_equal(hv_time_format(T_2016_02_27 + 7, buf, sizeof buf),
                      "2016-02-27T00:00:00.007Z");
  assert_string_equal(hv_time_format(-1, buf, sizeof buf),
                      "1969-12-31T23:59:59.999Z");
  assert_string_equal(hv_time_format(HV_TIME_OPEN, buf, sizeof buf), "open");
  /* The result is the buffer itself. */
  assert_ptr_equal(hv_time_format(0, buf, sizeof buf), buf);
}

static void test_round_trip(void **state) {
  (void)state;
  static const char *const texts[] = {
      "2016-02-27T00:00:00Z",     "2016-02-29T23:59:59Z",
      "2017-05-06T12:30:00.100Z", "1999-12-31T23:59:59.999Z",
      "2038-01-19T03:14:08Z",     "1969-07-20T20:17:40Z",
      "2400-02-29T00:00:00Z"};
  char buf[32];
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    int64_t t = parse_ok(texts[i]);
    assert_string_equal(hv_time_format(t, buf, sizeof buf), texts[i]);
  }
  /* Text with an offset comes back in UTC, naming the same instant. */
  int64_t t = parse_ok("2016-02-27T02:00:00.5+02:00");
  assert_string_equal(hv_time_format(t, buf, sizeof buf),
                      "2016-02-27T00:00:00.500Z");
  assert_true(parse_ok(buf) == t);
  /* Every millisecond of a few seconds around midnight survives. */
  for (int64_t ms = T_2016_02_27 - 2000; ms < T_2016_02_27 + 2000; ms += 37) {
    hv_time_format(ms, buf, sizeof buf);
    assert_true(parse_ok(buf) == ms);
  }
}

static void test_now(void **state) {
  (void)state;
  int64_t a = hv_time_now_ms();
  int64_t b = hv_time_now_ms();
  assert_true(a > parse_ok("2020-01-01"));
  assert_true(b >= a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_date_alone_is_midnight_utc),
      cmocka_unit_test(test_z_and_time_of_day),
      cmocka_unit_test(test_offsets),
      cmocka_unit_test(test_fractions),
      cmocka_unit_test(test_leap_years),
      cmocka_unit_test(test_bad_forms),
      cmocka_unit_test(test_leap_second_stays_in_its_minute),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_now),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
