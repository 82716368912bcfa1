/* Text buffer and exact float formatting shared by the JSON loader, the
 * dumps and the C exporter. */
#include "core/text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/numtext.h"

static int sb_reserve(brl_sb *s, size_t extra) {
  if (s->err)
    return 0;
  if (s->len + extra + 1 <= s->cap)
    return 1;
  size_t nc = s->cap ? s->cap : 256;
  while (nc < s->len + extra + 1) {
    if (nc > SIZE_MAX / 2) {
      s->err = 1;
      return 0;
    }
    nc *= 2;
  }
  char *q = realloc(s->p, nc);
  if (!q) {
    s->err = 1;
    return 0;
  }
  s->p = q;
  s->cap = nc;
  return 1;
}

void brl__sb_putn(brl_sb *s, const char *str, size_t n) {
  if (!sb_reserve(s, n))
    return;
  memcpy(s->p + s->len, str, n);
  s->len += n;
  s->p[s->len] = 0;
}

void brl__sb_puts(brl_sb *s, const char *str) {
  brl__sb_putn(s, str, strlen(str));
}

void brl__sb_printf(brl_sb *s, const char *fmt, ...) {
  if (s->err)
    return;
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = brl__vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    s->err = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    brl__sb_putn(s, small, (size_t)n);
    return;
  }
  if (!sb_reserve(s, (size_t)n))
    return;
  va_start(ap, fmt);
  brl__vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  s->len += (size_t)n;
}

int brl__sb_finish(brl_sb *s, char **out, size_t *len) {
  if (!s->err && !s->p)
    sb_reserve(s, 0);
  if (s->err) {
    brl__sb_free(s);
    return brl__fail(BRL_ENOMEM, "out of memory writing text");
  }
  s->p[s->len] = 0;
  *out = s->p;
  if (len)
    *len = s->len;
  memset(s, 0, sizeof *s);
  return BRL_OK;
}

void brl__sb_free(brl_sb *s) {
  free(s->p);
  memset(s, 0, sizeof *s);
}

int brl__float_parse(const char *s, size_t n, float *out) {
  char buf[128];
  if (n == 0 || n >= sizeof buf)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
          c == 'e' || c == 'E'))
      return 0;
    buf[i] = c;
  }
  buf[n] = 0;
  char *end;
  float v = brl__strtof(buf, &end);
  if (end != buf + n)
    return 0;
  *out = v;
  return 1;
}

void brl__float_repr(float v, char *buf, size_t size) {
  brl__fmt_float(v, buf, size);
}

void brl__sb_float(brl_sb *s, float v) {
  char buf[48];
  brl__float_repr(v, buf, sizeof buf);
  brl__sb_puts(s, buf);
}
