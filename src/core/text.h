/* A growable text buffer with locale-independent float formatting (the
 * dumps of src/explain and the C export of src/export write through it). */
#ifndef BRL_CORE_TEXT_H
#define BRL_CORE_TEXT_H

#include "core/error.h"

#include <stddef.h>
#include <stdint.h>

/* Growable NUL-terminated text; err sticks after the first failed
 * allocation (every append is then a no-op). */
typedef struct brl_sb {
  char *p;
  size_t len, cap;
  int err;
} brl_sb;

void brl__sb_puts(brl_sb *s, const char *str);
void brl__sb_putn(brl_sb *s, const char *str, size_t n);
void brl__sb_printf(brl_sb *s, const char *fmt, ...) BRL_PRINTF(2, 3);
/* The shortest decimal that reads back (strtof) as exactly v, with '.' as
 * the decimal point whatever the locale ("inf", "-inf", "nan" for
 * non-finite values). */
void brl__sb_float(brl_sb *s, float v);
/* Hands the text to the caller (BRL_ENOMEM if an append failed). */
int brl__sb_finish(brl_sb *s, char **out, size_t *len);
void brl__sb_free(brl_sb *s);

/* Formats v as brl__sb_float does into buf (at least 32 bytes). */
void brl__float_repr(float v, char *buf, size_t size);
/* Reads a float written by brl__float_repr (or any JSON number) exactly,
 * whatever the locale: the nearest float to the decimal. Returns 0 when s
 * is not a number. */
int brl__float_parse(const char *s, size_t n, float *out);

#endif
