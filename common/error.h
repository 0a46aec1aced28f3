/* common/: libc only: errors, whole-or-nothing file writes with fsync, the run lock, the ISA dispatch macro. */
/* Errors in library code: a function returns 0 on success or -1 on failure, having filled a
 * ds_err with a message that names the file, dataset or line at fault. Only the CLI prints. */
#ifndef DS_COMMON_ERROR_H
#define DS_COMMON_ERROR_H

typedef struct {
  char msg[1024];
} ds_err;

/* Formats the message into err (if non-NULL) and returns -1, so callers can `return ds_fail(...)`. */
int ds_fail(ds_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message (adds context on the way up); returns -1. */
int ds_fail_prefix(ds_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
