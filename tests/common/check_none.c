/* A test that checks nothing: check_report() must make it fail. CMake registers the ctest check_none_fails,
 * which passes only if this program exits 1 saying "no check ran". */
#include "../check.h"

int main(void) { return check_report(); }
