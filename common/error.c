#include "common/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ds_fail(ds_err *err, const char *fmt, ...) {
  if (!err) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int ds_fail_prefix(ds_err *err, const char *fmt, ...) {
  if (!err) return -1;
  char prefix[512], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  snprintf(err->msg, sizeof err->msg, "%.400s: %.600s", prefix, old);
  return -1;
}
