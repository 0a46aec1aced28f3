/* Minimal assertions for ctest: every failed check is printed with file:line and counted;
 * a test's main ends with `return check_report();`, which exits non-zero if any check failed, and
 * also if no check ran at all: a test that asserts nothing cannot fail, so it does not pass either. */
#ifndef DS_TESTS_CHECK_H
#define DS_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    check_count++;                                                           \
    if (!(cond)) {                                                           \
      check_failures++;                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

#define CHECK_MSG(cond, ...)                                         \
  do {                                                               \
    check_count++;                                                   \
    if (!(cond)) {                                                   \
      check_failures++;                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                  \
      fputc('\n', stderr);                                           \
    }                                                                \
  } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                                      \
  do {                                                                                     \
    double check_a_ = (double)(a), check_b_ = (double)(b);                                 \
    check_count++;                                                                         \
    if (!(fabs(check_a_ - check_b_) <= (atol) + (rtol)*fabs(check_b_))) {                 \
      check_failures++;                                                                    \
      fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s = %.9g vs %s = %.9g\n", __FILE__,   \
              __LINE__, #a, check_a_, #b, check_b_);                                       \
    }                                                                                      \
  } while (0)

static inline int check_report(void) {
  printf("%d checks, %d failed\n", check_count, check_failures);
  if (check_count == 0) {
    fprintf(stderr, "no check ran: a test that checks nothing cannot fail, so it fails here\n");
    return 1;
  }
  return check_failures ? 1 : 0;
}

#endif
