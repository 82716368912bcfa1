/* Struct fields by name: parsing, printing and range checks of a key. */
#include "core/keytab.h"

#include "core/error.h"
#include "core/numtext.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* An upper bound this large means "no upper bound" in messages. */
#define UNBOUNDED 1e300

int brl__ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z')
      x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (char)(y - 'A' + 'a');
    if (x != y)
      return 0;
  }
  return *a == *b;
}

const brl__key *brl__key_find(const brl__key *keys, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(keys[i].name, name) == 0)
      return &keys[i];
  return NULL;
}

size_t brl__key_size(const brl__key *k) {
  switch (k->type) {
  case BRL__KEY_INT64:
    return sizeof(int64_t);
  case BRL__KEY_DOUBLE:
    return sizeof(double);
  case BRL__KEY_FLOAT:
    return sizeof(float);
  default:
    return sizeof(int);
  }
}

static int parse_enum(const char *s, const char *const *names, int n,
                      int *out) {
  for (int i = 0; i < n; i++)
    if (brl__ieq(s, names[i])) {
      *out = i;
      return 1;
    }
  return 0;
}

/* "a, b or c" */
static void name_list(const brl__key *k, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < k->n_names && len < size; i++) {
    const char *sep = i == 0 ? "" : i == k->n_names - 1 ? " or " : ", ";
    int w = snprintf(buf + len, size - len, "%s%s", sep, k->names[i]);
    if (w < 0)
      break;
    len += (size_t)w;
  }
}

/* "1 to 12", "a value > 0", "a value >= 0 and < 1" */
static void range_text(const brl__key *k, char *buf, size_t size) {
  const int lo_open = k->open & BRL__KEY_LO_OPEN;
  const int hi_open = k->open & BRL__KEY_HI_OPEN;
  const int no_hi =
      k->hi >= UNBOUNDED || (k->type == BRL__KEY_FLOAT && k->hi >= FLT_MAX);
  if (no_hi)
    brl__snprintf(buf, size, "a value %s %g", lo_open ? ">" : ">=", k->lo);
  else if (!lo_open && !hi_open)
    brl__snprintf(buf, size, "%g to %g", k->lo, k->hi);
  else
    brl__snprintf(buf, size, "a value %s %g and %s %g",
                  lo_open ? ">" : ">=", k->lo, hi_open ? "<" : "<=", k->hi);
}

static int in_range(const brl__key *k, double v) {
  if (!isfinite(v))
    return 0;
  if (k->open & BRL__KEY_LO_OPEN ? !(v > k->lo) : !(v >= k->lo))
    return 0;
  return k->open & BRL__KEY_HI_OPEN ? v < k->hi : v <= k->hi;
}

/* A number, or "none"/"null" for 0 (stable-baselines3's None of optional
 * settings such as target_kl). */
static int parse_double(const char *s, double *out) {
  if (brl__ieq(s, "none") || brl__ieq(s, "null")) {
    *out = 0.0;
    return 1;
  }
  char *end;
  errno = 0;
  double v = brl__strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
    return 0;
  *out = v;
  return 1;
}

static const char *const bool_true[] = {"1", "true", "yes", "on"};
static const char *const bool_false[] = {"0", "false", "no", "off"};

int brl__key_set(const brl__key *k, const char *label, void *obj,
                 const char *value) {
  char *field = (char *)obj + k->off;
  char text[160];
  int iv;
  double dv;
  switch (k->type) {
  case BRL__KEY_ENUM:
    if (!parse_enum(value, k->names, k->n_names, &iv)) {
      name_list(k, text, sizeof text);
      return brl__fail(BRL_EINVAL, "%s = '%.40s': use %s", label, value, text);
    }
    memcpy(field, &iv, sizeof iv); /* every enum field is int-sized */
    return BRL_OK;
  case BRL__KEY_BOOL:
    if (parse_enum(value, bool_true, 4, &iv))
      iv = 1;
    else if (parse_enum(value, bool_false, 4, &iv))
      iv = 0;
    else
      return brl__fail(BRL_EINVAL, "%s = '%.40s': use true or false", label,
                       value);
    memcpy(field, &iv, sizeof iv);
    return BRL_OK;
  default:
    break;
  }
  if (!parse_double(value, &dv))
    return brl__fail(BRL_EINVAL, "%s = '%.40s' is not a number", label, value);
  if (!in_range(k, dv)) {
    range_text(k, text, sizeof text);
    return brl__fail(BRL_EINVAL, "%s = %g is out of range: use %s", label, dv,
                     text);
  }
  if (k->type == BRL__KEY_DOUBLE) {
    memcpy(field, &dv, sizeof dv);
    return BRL_OK;
  }
  if (k->type == BRL__KEY_FLOAT) {
    float fv = (float)dv;
    memcpy(field, &fv, sizeof fv);
    return BRL_OK;
  }
  if (dv != floor(dv))
    return brl__fail(BRL_EINVAL, "%s = '%.40s': use a whole number", label,
                     value);
  if (k->type == BRL__KEY_INT) {
    iv = (int)dv;
    memcpy(field, &iv, sizeof iv);
  } else {
    int64_t lv = (int64_t)dv;
    memcpy(field, &lv, sizeof lv);
  }
  return BRL_OK;
}

/* The field as a double (numbers) or int (the others). */
static double field_value(const brl__key *k, const void *obj, int *iv) {
  const char *field = (const char *)obj + k->off;
  int64_t lv;
  double dv;
  float fv;
  switch (k->type) {
  case BRL__KEY_INT64:
    memcpy(&lv, field, sizeof lv);
    return (double)lv;
  case BRL__KEY_DOUBLE:
    memcpy(&dv, field, sizeof dv);
    return dv;
  case BRL__KEY_FLOAT:
    memcpy(&fv, field, sizeof fv);
    return fv;
  default:
    memcpy(iv, field, sizeof *iv);
    return *iv;
  }
}

int brl__key_get(const brl__key *k, const void *obj, char *buf, size_t size) {
  if (size < 32)
    return brl__fail(BRL_EINVAL, "buffer of %zu bytes: pass at least 32", size);
  int iv = 0;
  const double v = field_value(k, obj, &iv);
  switch (k->type) {
  case BRL__KEY_ENUM:
    snprintf(buf, size, "%s",
             iv >= 0 && iv < k->n_names ? k->names[iv] : "invalid");
    break;
  case BRL__KEY_BOOL:
    snprintf(buf, size, "%s", iv ? "true" : "false");
    break;
  case BRL__KEY_INT:
    snprintf(buf, size, "%d", iv);
    break;
  case BRL__KEY_INT64: {
    int64_t lv;
    memcpy(&lv, (const char *)obj + k->off, sizeof lv);
    snprintf(buf, size, "%lld", (long long)lv);
    break;
  }
  case BRL__KEY_DOUBLE:
    brl__fmt_double(v, buf, size);
    break;
  case BRL__KEY_FLOAT:
    brl__fmt_float((float)v, buf, size);
    break;
  }
  return BRL_OK;
}

int brl__key_check(const brl__key *k, const char *label, const void *obj,
                   int with_help) {
  int iv = 0;
  const double v = field_value(k, obj, &iv);
  char text[160];
  switch (k->type) {
  case BRL__KEY_BOOL:
    if (iv == 0 || iv == 1)
      return BRL_OK;
    return brl__fail(BRL_EINVAL, "%s is %d: use 0 (false) or 1 (true)", label,
                     iv);
  case BRL__KEY_ENUM:
    if (iv >= 0 && iv < k->n_names)
      return BRL_OK;
    name_list(k, text, sizeof text);
    return brl__fail(BRL_EINVAL, "%s is %d: use %s", label, iv, text);
  default:
    if (in_range(k, v))
      return BRL_OK;
    range_text(k, text, sizeof text);
    if (with_help)
      return brl__fail(BRL_EINVAL, "%s is %g: use %s (%s)", label, v, text,
                       k->help);
    return brl__fail(BRL_EINVAL, "%s is %g: use %s", label, v, text);
  }
}
