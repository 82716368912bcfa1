/* Locale-independent number <-> text: the libc calls run under a "C" locale
 * object installed for the calling thread only (POSIX 2008 uselocale). */
#define _POSIX_C_SOURCE 200809L

#include "core/numtext.h"

#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One "C" locale object for the process, created on first use (a thread
 * that loses the race frees its own copy) and kept until exit. */
static locale_t c_locale(void) {
  static _Atomic(locale_t) cached;
  locale_t l = atomic_load_explicit(&cached, memory_order_acquire);
  if (l)
    return l;
  l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (!l)
    return (locale_t)0; /* out of memory: the current locale is used */
  locale_t expected = (locale_t)0;
  if (!atomic_compare_exchange_strong(&cached, &expected, l)) {
    freelocale(l);
    return expected;
  }
  return l;
}

/* Switches the calling thread to the "C" locale; returns the locale to
 * restore with leave() ((locale_t)0 when nothing was switched). */
static locale_t enter(void) {
  locale_t c = c_locale();
  return c ? uselocale(c) : (locale_t)0;
}

static void leave(locale_t old) {
  if (old)
    uselocale(old);
}

double brl__strtod(const char *s, char **end) {
  locale_t old = enter();
  double v = strtod(s, end);
  leave(old);
  return v;
}

float brl__strtof(const char *s, char **end) {
  locale_t old = enter();
  float v = strtof(s, end);
  leave(old);
  return v;
}

int brl__vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
  locale_t old = enter();
  int n = vsnprintf(buf, size, fmt, ap);
  leave(old);
  return n;
}

int brl__snprintf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = brl__vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

void brl__fmt_double(double v, char *buf, size_t size) {
  locale_t old = enter();
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, v);
    if (prec == 17 || !isfinite(v) || strtod(buf, NULL) == v)
      break;
  }
  leave(old);
}

void brl__fmt_float(float v, char *buf, size_t size) {
  if (isnan(v)) {
    snprintf(buf, size, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, size, v > 0 ? "inf" : "-inf");
    return;
  }
  locale_t old = enter();
  if (v == floorf(v) && fabsf(v) < 1e15f) {
    snprintf(buf, size, "%.0f", (double)v); /* integers as integers */
  } else {
    for (int prec = 1; prec <= 9; prec++) {
      snprintf(buf, size, "%.*g", prec, (double)v);
      float back = strtof(buf, NULL);
      if (prec == 9 || memcmp(&back, &v, sizeof v) == 0)
        break;
    }
  }
  leave(old);
}
