#include "testlib.h"

int brl_test_passed, brl_test_failed;

int brl_test_report(const char *name) {
  printf("%s: %d passed, %d failed\n", name, brl_test_passed, brl_test_failed);
  return brl_test_failed ? 1 : 0;
}
