/* Internals shared by the int8 runtime's files (not part of the public API). quant/ links libc and
 * libm only, so it formats its own error messages instead of calling common/error.c. */
#ifndef DS_QUANT_INT8_PRIVATE_H
#define DS_QUANT_INT8_PRIVATE_H

#include "common/error.h"

/* Formats into err (if non-NULL) and returns -1, like ds_fail. */
int ds_i8_fail(ds_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
