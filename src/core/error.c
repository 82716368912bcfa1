#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_error[512];

int brl__fail(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

void brl__clear_error(void) { last_error[0] = '\0'; }

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
  default:
    return "BRL_UNKNOWN";
  }
}

const char *brl_version(void) { return BRL_VERSION_STRING; }
int brl_version_number(void) { return BRL_VERSION_NUMBER; }

void brl_free(void *p) { free(p); }
