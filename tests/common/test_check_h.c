/* tests/check.h itself: check_report() fails a test that made no check (it could never have failed), passes one
 * whose checks all held, and fails one with a failed check. The three cases run here one after the other with
 * the counters reset between them; the failed check below prints its "CHECK failed" line on purpose. The
 * program that makes no check at all and must exit 1 is tests/common/check_none.c (ctest: check_none_fails). */
#include "../check.h"

int main(void) {
  const int none = check_report(); /* 0 checks */
  CHECK(1 + 1 == 2);
  const int passed = check_report(); /* 1 check, 0 failed */
  fprintf(stderr, "expected, from the deliberately failing check:\n");
  CHECK(1 + 1 == 3);
  const int failed = check_report(); /* 2 checks, 1 failed */
  check_count = check_failures = 0;

  CHECK_MSG(none == 1, "no check: check_report() returned %d, want 1", none);
  CHECK_MSG(passed == 0, "all checks held: check_report() returned %d, want 0", passed);
  CHECK_MSG(failed == 1, "a check failed: check_report() returned %d, want 1", failed);
  return check_report();
}
