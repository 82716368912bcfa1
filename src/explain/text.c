/* Text buffer, exact float formatting and the tree constructor shared by
 * the JSON loader, the dumps and the C exporter. */
#include "explain/text.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  int n = vsnprintf(small, sizeof small, fmt, ap);
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
  vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
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

static char locale_point(void) {
  const struct lconv *lc = localeconv();
  return lc && lc->decimal_point && lc->decimal_point[0] ? lc->decimal_point[0]
                                                         : '.';
}

int brl__float_parse(const char *s, size_t n, float *out) {
  char buf[128];
  if (n == 0 || n >= sizeof buf)
    return 0;
  const char point = locale_point();
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
          c == 'e' || c == 'E'))
      return 0;
    buf[i] = c == '.' ? point : c;
  }
  buf[n] = 0;
  char *end;
  float v = strtof(buf, &end);
  if (end != buf + n)
    return 0;
  *out = v;
  return 1;
}

void brl__float_repr(float v, char *buf, size_t size) {
  if (isnan(v)) {
    snprintf(buf, size, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, size, v > 0 ? "inf" : "-inf");
    return;
  }
  const char point = locale_point();
  if (v == floorf(v) && fabsf(v) < 1e15f) {
    snprintf(buf, size, "%.0f", (double)v); /* integers as integers */
    return;
  }
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(buf, size, "%.*g", prec, (double)v);
    for (char *c = buf; *c; c++)
      if (*c == point)
        *c = '.';
    float back;
    if (prec == 9 || (brl__float_parse(buf, strlen(buf), &back) &&
                      memcmp(&back, &v, sizeof v) == 0))
      return;
  }
}

void brl__sb_float(brl_sb *s, float v) {
  char buf[48];
  brl__float_repr(v, buf, sizeof buf);
  brl__sb_puts(s, buf);
}

int brl__model_append_tree(brl_model *m, int depth, int oblivious,
                           const uint32_t *split, const float *thr,
                           const float *gain, const float *value,
                           const float *cover, const float *lr) {
  brl_trees *T = &m->trees;
  const int K = m->n_outputs, D = m->p.n_features, F = m->n_feat;
  const int t = T->n;
  if (depth < 0 || depth > m->p.max_depth)
    return brl__fail(BRL_EFORMAT,
                     "tree %d: depth %d is out of range (0..max_depth = %d)", t,
                     depth, m->p.max_depth);
  const int64_t ns = brl__tree_splits(oblivious, depth),
                nl = brl__tree_leaves(depth);
  int has_cat = 0;
  for (int64_t s = 0; s < ns; s++) {
    const unsigned fl = BRL_SPLIT_FLAGS(split[s]);
    const int f = BRL_SPLIT_FEATURE(split[s]);
    const int cat = (fl & BRL_SPLIT_CAT) != 0, pass = (fl & BRL_SPLIT_PASS);
    const char *why = NULL;
    if (fl & ~BRL_SPLIT_FLAG_MASK)
      why = "unknown flags";
    else if (f >= F)
      why = "the feature does not exist";
    else if (cat && f < D)
      why = "a categorical split on a numeric feature";
    else if (!cat && f >= D)
      why = "a numeric split on a categorical feature";
    else if (cat && brl__thr_to_code(thr[s]) < 0)
      why = "a negative category code";
    else if (!cat && isnan(thr[s]))
      why = "a NaN threshold";
    else if (pass && (oblivious || cat))
      why = "a pass-through node outside a greedy numeric tree";
    else if (!isfinite(gain[s]))
      why = "a gain that is not finite";
    if (why)
      return brl__fail(BRL_EFORMAT, "tree %d, split %lld (feature %d): %s", t,
                       (long long)s, f, why);
    has_cat |= cat;
  }
  for (int64_t i = 0; i < nl * K; i++)
    if (!isfinite(value[i]))
      return brl__fail(BRL_EFORMAT, "tree %d: leaf value %lld is not finite", t,
                       (long long)i);
  for (int64_t i = 0; i < nl; i++)
    if (!(cover[i] >= 0.0f) || !isfinite(cover[i]))
      return brl__fail(BRL_EFORMAT,
                       "tree %d: cover of leaf %lld is negative or not finite",
                       t, (long long)i);
  if (T->n_lr && !lr)
    return brl__fail(BRL_EFORMAT,
                     "tree %d: an Adam model needs the tree's learning rates",
                     t);
  for (int g = 0; g < T->n_lr; g++)
    if (!(lr[g] > 0.0f) || !isfinite(lr[g]))
      return brl__fail(BRL_EFORMAT,
                       "tree %d: learning rate %d is not a finite number > 0",
                       t, g);
  int rc = brl__trees_reserve(T, K, ns, nl);
  if (rc)
    return rc;
  const int64_t so = T->split_off[t], lo = T->leaf_off[t];
  if (ns) {
    memcpy(T->split + so, split, (size_t)ns * sizeof(uint32_t));
    memcpy(T->threshold + so, thr, (size_t)ns * sizeof(float));
    memcpy(T->gain + so, gain, (size_t)ns * sizeof(float));
  }
  memcpy(T->value + lo * K, value, (size_t)(nl * K) * sizeof(float));
  memcpy(T->cover + lo, cover, (size_t)nl * sizeof(float));
  if (T->n_lr)
    memcpy(T->lr + (int64_t)t * T->n_lr, lr, (size_t)T->n_lr * sizeof(float));
  brl__trees_commit(T, depth, oblivious, ns, nl);
  if (has_cat)
    T->flags[t] |= BRL_TREE_HAS_CAT;
  m->generation++;
  return BRL_OK;
}
