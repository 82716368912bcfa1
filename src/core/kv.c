/* Settings objects (brl_kv): flat JSON objects of "key": value pairs, read
 * and written through core's one JSON reader and writer (core/json.h). */
#include "boostrl.h"
#include "core/container.h"
#include "core/error.h"
#include "core/json.h"
#include "core/text.h"

#include <stdlib.h>
#include <string.h>

/* Settings files are small: a larger text is refused before parsing. */
#define KV_MAX_BYTES ((size_t)16 << 20)

struct brl_kv {
  int n, cap;
  char **key, **val; /* n each, malloc'd */
  unsigned char *is_str;
};

int brl_kv_create(brl_kv **out) {
  BRL_CHECK_ARG(out);
  *out = calloc(1, sizeof **out);
  if (!*out)
    return brl__fail(BRL_ENOMEM, "out of memory creating a settings object");
  return BRL_OK;
}

void brl_kv_free(brl_kv **kv) {
  if (!kv || !*kv)
    return;
  brl_kv *o = *kv;
  for (int i = 0; i < o->n; i++) {
    free(o->key[i]);
    free(o->val[i]);
  }
  free(o->key);
  free(o->val);
  free(o->is_str);
  free(o);
  *kv = NULL;
}

int brl_kv_count(const brl_kv *kv) { return kv ? kv->n : 0; }

const char *brl_kv_key(const brl_kv *kv, int i) {
  return kv && i >= 0 && i < kv->n ? kv->key[i] : NULL;
}

const char *brl_kv_value(const brl_kv *kv, int i) {
  return kv && i >= 0 && i < kv->n ? kv->val[i] : NULL;
}

int brl_kv_is_string(const brl_kv *kv, int i) {
  return kv && i >= 0 && i < kv->n ? kv->is_str[i] : 0;
}

static char *copy(const char *s) {
  const size_t n = strlen(s) + 1;
  char *c = malloc(n);
  return c ? memcpy(c, s, n) : NULL;
}

static int find(const brl_kv *kv, const char *key) {
  for (int i = 0; i < kv->n; i++)
    if (!strcmp(kv->key[i], key))
      return i;
  return -1;
}

const char *brl_kv_get(const brl_kv *kv, const char *key) {
  if (!kv || !key)
    return NULL;
  const int i = find(kv, key);
  return i < 0 ? NULL : kv->val[i];
}

static int grow(brl_kv *kv) {
  if (kv->n < kv->cap)
    return BRL_OK;
  if (kv->cap >= (1 << 20))
    return brl__fail(BRL_EINVAL, "a settings object holds at most %d keys",
                     1 << 20);
  const int nc = kv->cap ? kv->cap * 2 : 16;
  char **k = realloc(kv->key, sizeof *k * (size_t)nc);
  if (k)
    kv->key = k;
  char **v = k ? realloc(kv->val, sizeof *v * (size_t)nc) : NULL;
  if (v)
    kv->val = v;
  unsigned char *s = v ? realloc(kv->is_str, (size_t)nc) : NULL;
  if (!s)
    return brl__fail(BRL_ENOMEM, "out of memory growing a settings object");
  kv->is_str = s;
  kv->cap = nc;
  return BRL_OK;
}

/* *lit = 1 when text is one JSON number, true, false or null, with
 * nothing around it. Fails only when out of memory. */
static int is_literal(const char *text, int *lit) {
  const size_t n = strlen(text);
  *lit = 0;
  if (n == 0 || strchr(" \t\r\n", text[0]) || strchr(" \t\r\n", text[n - 1]))
    return BRL_OK;
  brl_json j;
  const int rc = brl__json_parse_limited(text, n, 1, KV_MAX_BYTES, &j);
  if (rc)
    return rc == BRL_ENOMEM ? rc : BRL_OK; /* else: not JSON at all */
  const int t = j.nodes[0].type;
  brl__json_free(&j);
  *lit =
      t == BRL_JNUMBER || t == BRL_JTRUE || t == BRL_JFALSE || t == BRL_JNULL;
  return BRL_OK;
}

int brl_kv_set(brl_kv *kv, const char *key, const char *value,
               brl_kv_kind kind) {
  BRL_CHECK_ARG(kv);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(value);
  if (!brl__json_utf8_valid(key))
    return brl__fail(BRL_EINVAL, "settings key is not valid UTF-8");
  int str, lit = 0, rc = BRL_OK;
  if (kind == BRL_KV_LITERAL || kind == BRL_KV_AUTO)
    rc = is_literal(value, &lit);
  if (rc)
    return rc;
  switch (kind) {
  case BRL_KV_STRING:
    str = 1;
    break;
  case BRL_KV_LITERAL:
    if (!lit)
      return brl__fail(BRL_EINVAL,
                       "settings key \"%s\": '%s' is not a JSON number, "
                       "true, false or null (set it as a string)",
                       key, value);
    str = 0;
    break;
  case BRL_KV_AUTO:
    str = !lit;
    break;
  default:
    return brl__fail(BRL_EINVAL,
                     "kind %d is not a brl_kv_kind (BRL_KV_STRING, "
                     "BRL_KV_LITERAL or BRL_KV_AUTO)",
                     (int)kind);
  }
  if (str && !brl__json_utf8_valid(value))
    return brl__fail(BRL_EINVAL,
                     "settings key \"%s\": the value is not valid UTF-8", key);
  char *v = copy(value);
  if (!v)
    return brl__fail(BRL_ENOMEM, "out of memory setting \"%s\"", key);
  int i = find(kv, key);
  if (i < 0) {
    char *k = copy(key);
    rc = k ? grow(kv) : brl__fail(BRL_ENOMEM, "out of memory");
    if (rc) {
      free(k);
      free(v);
      return rc;
    }
    i = kv->n++;
    kv->key[i] = k;
  } else {
    free(kv->val[i]);
  }
  kv->val[i] = v;
  kv->is_str[i] = (unsigned char)str;
  return BRL_OK;
}

/* The decoded text of string node i (malloc'd), refusing NUL characters. */
static int decoded(const brl_json *j, int32_t i, const char *what, char **out) {
  const int64_t n = brl__json_string_len(j, i);
  *out = malloc((size_t)n + 1);
  if (!*out)
    return brl__fail(BRL_ENOMEM, "out of memory reading settings");
  brl__json_string(j, i, *out, (size_t)n + 1);
  if (strlen(*out) != (size_t)n) {
    int line, col;
    brl__json_where(j, j->nodes[i].off, &line, &col);
    free(*out);
    *out = NULL;
    return brl__fail(BRL_EFORMAT,
                     "settings JSON, line %d, column %d: %s holds a NUL "
                     "character (\\u0000)",
                     line, col, what);
  }
  return BRL_OK;
}

static int from_json(const brl_json *j, brl_kv *kv) {
  const brl_jnode *root = &j->nodes[0];
  int line, col;
  if (root->type != BRL_JOBJECT)
    return brl__fail(BRL_EFORMAT,
                     "settings JSON, line 1, column 1: expected one object "
                     "{\"key\": value, ...}");
  for (int32_t k = root->child; k >= 0; k = j->nodes[j->nodes[k].next].next) {
    const int32_t v = j->nodes[k].next;
    const brl_jnode *vn = &j->nodes[v];
    char *key = NULL, *val = NULL;
    int rc = decoded(j, k, "a key", &key);
    if (!rc && (vn->type == BRL_JOBJECT || vn->type == BRL_JARRAY)) {
      brl__json_where(j, vn->off, &line, &col);
      rc = brl__fail(BRL_EFORMAT,
                     "settings JSON, line %d, column %d: \"%s\" is %s; "
                     "expected a string, number, true, false or null (a "
                     "settings file is one flat object)",
                     line, col, key,
                     vn->type == BRL_JOBJECT ? "an object" : "an array");
    }
    if (!rc && find(kv, key) >= 0) {
      brl__json_where(j, j->nodes[k].off, &line, &col);
      rc = brl__fail(BRL_EFORMAT,
                     "settings JSON, line %d, column %d: \"%s\" appears "
                     "twice",
                     line, col, key);
    }
    if (!rc && vn->type == BRL_JSTRING) {
      rc = decoded(j, v, "a value", &val);
    } else if (!rc) {
      val = malloc((size_t)vn->len + 1);
      if (!val)
        rc = brl__fail(BRL_ENOMEM, "out of memory reading settings");
      else
        memcpy(val, j->src + vn->off, vn->len), val[vn->len] = '\0';
    }
    if (!rc)
      rc = grow(kv);
    if (rc) {
      free(key);
      free(val);
      return rc;
    }
    kv->key[kv->n] = key;
    kv->val[kv->n] = val;
    kv->is_str[kv->n] = vn->type == BRL_JSTRING;
    kv->n++;
  }
  return BRL_OK;
}

int brl_kv_parse_json(const char *text, size_t len, brl_kv **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(text);
  brl_json j;
  /* Depth 2: the object and one level of values, so that a nested value
   * is reported by name rather than as too deep. */
  int rc = brl__json_parse_limited(text, len, 2, KV_MAX_BYTES, &j);
  if (rc)
    return rc;
  brl_kv *kv;
  if (!(rc = brl_kv_create(&kv)) && (rc = from_json(&j, kv)))
    brl_kv_free(&kv);
  brl__json_free(&j);
  if (!rc)
    *out = kv;
  return rc;
}

static int parse_file(const void *buf, size_t len, void *out) {
  return brl_kv_parse_json((const char *)buf, len, out);
}

int brl_kv_load_json(const char *path, brl_kv **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(path);
  int rc = brl__load_file(path, parse_file, out);
  if (rc == BRL_EFORMAT)
    rc = brl__fail(BRL_EFORMAT, "%s: %s", path, brl_last_error());
  return rc;
}

int brl_kv_dump_json(const brl_kv *kv, char **out, size_t *len) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(kv);
  brl_sb s = {0};
  brl__sb_putn(&s, "{", 1);
  for (int i = 0; i < kv->n; i++) {
    brl__sb_puts(&s, i ? ",\n  " : "\n  ");
    brl__json_put_string(&s, kv->key[i]);
    brl__sb_puts(&s, ": ");
    if (kv->is_str[i])
      brl__json_put_string(&s, kv->val[i]);
    else
      brl__sb_puts(&s, kv->val[i]);
  }
  brl__sb_puts(&s, kv->n ? "\n}\n" : "}\n");
  return brl__sb_finish(&s, out, len);
}

int brl_kv_save_json(const brl_kv *kv, const char *path) {
  BRL_CHECK_ARG(path);
  char *text = NULL;
  size_t len = 0;
  const int rc = brl_kv_dump_json(kv, &text, &len);
  return brl__write_owned(path, rc, text, len);
}
