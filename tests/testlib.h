/* A tiny test harness: CHECK records failures and keeps going; each test
 * program ends with TEST_MAIN_END, which prints "N passed, N failed". */
#ifndef BRL_TESTLIB_H
#define BRL_TESTLIB_H

#include <stdio.h>

extern int brl_test_passed, brl_test_failed;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (cond) {                                                                \
      brl_test_passed++;                                                       \
    } else {                                                                   \
      brl_test_failed++;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    if (cond) {                                                                \
      brl_test_passed++;                                                       \
    } else {                                                                   \
      brl_test_failed++;                                                       \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

/* CHECK that a brl_ call returns BRL_OK, printing the library's message. */
#define CHECK_OK(call)                                                         \
  do {                                                                         \
    int rc_ = (call);                                                          \
    CHECK_MSG(rc_ == 0, "%s -> %d (%s)", #call, rc_, brl_last_error());        \
  } while (0)

int brl_test_report(const char *name);

#endif
