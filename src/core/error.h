/* Thread-local last-error message and helpers to set it. */
#ifndef BRL_CORE_ERROR_H
#define BRL_CORE_ERROR_H

#include "boostrl.h"

#if defined(__GNUC__)
#define BRL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define BRL_PRINTF(a, b)
#endif

/* Records a formatted message for brl_last_error() and returns status. */
int brl__fail(int status, const char *fmt, ...) BRL_PRINTF(2, 3);
/* Clears the message (called on entry of a few top-level calls). */
void brl__clear_error(void);

/* Returns from the enclosing function with BRL_EINVAL when p is NULL. */
#define BRL_CHECK_ARG(p)                                                       \
  do {                                                                         \
    if (!(p))                                                                  \
      return brl__fail(BRL_EINVAL, "%s: argument '%s' is NULL", __func__, #p); \
  } while (0)

#endif
