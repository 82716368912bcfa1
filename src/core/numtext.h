/* Numbers as text whatever the locale: '.' is the decimal point even when
 * the host program called setlocale() with a comma-decimal locale. Every
 * number the library reads or writes as text (configurations, presets, agent
 * files, JSON models, exported C, error messages) goes through here. The
 * calls switch the calling thread to the "C" locale for their duration
 * (uselocale); they never call setlocale() and are thread-safe. */
#ifndef BRL_CORE_NUMTEXT_H
#define BRL_CORE_NUMTEXT_H

#include <stdarg.h>
#include <stddef.h>

#include "core/error.h"

/* strtod / strtof in the "C" locale. */
double brl__strtod(const char *s, char **end);
float brl__strtof(const char *s, char **end);

/* vsnprintf / snprintf in the "C" locale. */
int brl__vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int brl__snprintf(char *buf, size_t size, const char *fmt, ...)
    BRL_PRINTF(3, 4);

/* The shortest "%.Ng" text (N <= 17) that brl__strtod reads back as exactly
 * v. buf must hold at least 32 bytes. */
void brl__fmt_double(double v, char *buf, size_t size);

/* The shortest decimal that brl__strtof reads back as exactly v: integers
 * below 1e15 without exponent ("3"), else the shortest "%.Ng" (N <= 9);
 * "nan", "inf", "-inf" for non-finite values. buf must hold at least 32
 * bytes. */
void brl__fmt_float(float v, char *buf, size_t size);

#endif
