#include "core/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/numtext.h"

static _Thread_local char last_error[512];

/* The message is formatted into a local buffer first: callers wrap an
 * earlier failure as brl__fail(..., "...(%s)", brl_last_error()), and
 * vsnprintf into the buffer it reads from would be undefined. Numbers are
 * formatted in the "C" locale like every other text of the library. */
int brl__fail(int status, const char *fmt, ...) {
  char msg[sizeof last_error];
  va_list ap;
  va_start(ap, fmt);
  int n = brl__vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0)
    msg[0] = '\0';
  memcpy(last_error, msg, strlen(msg) + 1);
  return status;
}

void brl__clear_error(void) { last_error[0] = '\0'; }

int brl_set_error(int status, const char *message) {
  return brl__fail(status, "%s", message ? message : "");
}

const char *brl_last_error(void) { return last_error; }

const char *brl_status_name(int status) {
  switch (status) {
  case BRL_OK:
    return "BRL_OK";
  case BRL_EINVAL:
    return "BRL_EINVAL";
  case BRL_ENOMEM:
    return "BRL_ENOMEM";
  case BRL_EIO:
    return "BRL_EIO";
  case BRL_EFORMAT:
    return "BRL_EFORMAT";
  case BRL_ESTATE:
    return "BRL_ESTATE";
  case BRL_EUNSUPPORTED:
    return "BRL_EUNSUPPORTED";
  case BRL_ENUMERIC:
    return "BRL_ENUMERIC";
  case BRL_ECOMM:
    return "BRL_ECOMM";
  default:
    return "BRL_UNKNOWN";
  }
}

const char *brl_version(void) { return BRL_VERSION_STRING; }
int brl_version_number(void) { return BRL_VERSION_NUMBER; }

void brl_free(void *p) { free(p); }
