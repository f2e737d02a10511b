/*
 * error.c — the result-code table and struct hv_error helpers.
 *
 * Invariant: every code in HV_ERRNO_MAP has a message and a name; unknown
 * codes are reported as such, never as NULL.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "haven/error.h"

const char *hv_strerror(int code) {
  switch (code) {
  case HV_OK:
    return "success";
#define HV__ERR_MSG(name, val, msg)                                            \
  case val:                                                                    \
    return msg;
    HV_ERRNO_MAP(HV__ERR_MSG)
#undef HV__ERR_MSG
  }
  return "unknown error";
}

const char *hv_err_name(int code) {
  switch (code) {
  case HV_OK:
    return "HV_OK";
#define HV__ERR_NAME(name, val, msg)                                           \
  case val:                                                                    \
    return "HV_E" #name;
    HV_ERRNO_MAP(HV__ERR_NAME)
#undef HV__ERR_NAME
  }
  return "HV_E?";
}

int hv_error_set(struct hv_error *err, int code, const char *fmt, ...) {
  if (err == NULL)
    return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return code;
}

void hv_error_prefix(struct hv_error *err, const char *fmt, ...) {
  if (err == NULL)
    return;
  char head[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(head, sizeof head, fmt, ap);
  va_end(ap);
  size_t hl = strlen(head), ol = strlen(err->msg);
  if (hl >= sizeof err->msg)
    hl = sizeof err->msg - 1;
  if (hl + ol >= sizeof err->msg)
    ol = sizeof err->msg - 1 - hl;
  memmove(err->msg + hl, err->msg, ol);
  memcpy(err->msg, head, hl);
  err->msg[hl + ol] = '\0';
}
