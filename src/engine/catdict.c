/* Append-only string dictionaries of categorical columns: stable codes
 * 0, 1, 2, ... in order of first appearance, found by an open-addressing
 * hash. */
#include "core/error.h"
#include "engine/model.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

void brl__catdict_free(brl_catdict *d) {
  for (int32_t i = 0; i < d->n; i++)
    free(d->str[i]);
  free(d->str);
  free(d->slot);
  memset(d, 0, sizeof *d);
}

int32_t brl__catdict_find(const brl_catdict *d, const char *s) {
  if (!d->n_slot)
    return -1;
  uint32_t mask = (uint32_t)d->n_slot - 1;
  for (uint32_t i = hash(s) & mask;; i = (i + 1) & mask) {
    int32_t c = d->slot[i];
    if (c == 0)
      return -1;
    if (strcmp(d->str[c - 1], s) == 0)
      return c - 1;
  }
}

static int rehash(brl_catdict *d, int32_t n_slot) {
  int32_t *slot = calloc((size_t)n_slot, sizeof(int32_t));
  if (!slot)
    return 0;
  uint32_t mask = (uint32_t)n_slot - 1;
  for (int32_t c = 0; c < d->n; c++) {
    uint32_t i = hash(d->str[c]) & mask;
    while (slot[i])
      i = (i + 1) & mask;
    slot[i] = c + 1;
  }
  free(d->slot);
  d->slot = slot;
  d->n_slot = n_slot;
  return 1;
}

int brl__catdict_add(brl_catdict *d, const char *s, int32_t *code) {
  int32_t c = brl__catdict_find(d, s);
  if (c >= 0) {
    *code = c;
    return BRL_OK;
  }
  if (d->n >= INT32_MAX / 4)
    return brl__fail(BRL_EINVAL, "a categorical dictionary is full");
  if (d->n == d->cap) {
    int32_t nc = d->cap ? d->cap * 2 : 16;
    char **q = realloc(d->str, (size_t)nc * sizeof(char *));
    if (!q)
      return brl__fail(BRL_ENOMEM, "out of memory growing a dictionary");
    d->str = q;
    d->cap = nc;
  }
  if ((int64_t)(d->n + 1) * 2 > d->n_slot &&
      !rehash(d, d->n_slot ? d->n_slot * 2 : 32))
    return brl__fail(BRL_ENOMEM, "out of memory growing a dictionary");
  size_t len = strlen(s);
  char *copy = malloc(len + 1);
  if (!copy)
    return brl__fail(BRL_ENOMEM, "out of memory growing a dictionary");
  memcpy(copy, s, len + 1);
  d->str[d->n] = copy;
  uint32_t mask = (uint32_t)d->n_slot - 1;
  uint32_t i = hash(s) & mask;
  while (d->slot[i])
    i = (i + 1) & mask;
  d->slot[i] = d->n + 1;
  *code = d->n++;
  return BRL_OK;
}

static int check_col(const brl_model *m, int f) {
  BRL_CHECK_ARG(m);
  if (f < 0 || f >= m->p.n_cat_features)
    return brl__fail(BRL_EINVAL,
                     "categorical feature %d does not exist (the model has "
                     "%d)",
                     f, m->p.n_cat_features);
  return BRL_OK;
}

int brl_model_cat_encode(brl_model *m, int cat_feature, const char *value,
                         int add, int32_t *code) {
  int rc = check_col(m, cat_feature);
  if (rc)
    return rc;
  BRL_CHECK_ARG(value);
  BRL_CHECK_ARG(code);
  brl_catdict *d = &m->dicts[cat_feature];
  if (add)
    return brl__catdict_add(d, value, code);
  int32_t c = brl__catdict_find(d, value);
  *code = c < 0 ? BRL_CAT_UNSEEN : c;
  return BRL_OK;
}

const char *brl_model_cat_decode(const brl_model *m, int cat_feature,
                                 int32_t code) {
  if (!m || cat_feature < 0 || cat_feature >= m->p.n_cat_features)
    return NULL;
  const brl_catdict *d = &m->dicts[cat_feature];
  return code >= 0 && code < d->n ? d->str[code] : NULL;
}

int brl_model_cat_size(const brl_model *m, int cat_feature) {
  if (!m || cat_feature < 0 || cat_feature >= m->p.n_cat_features)
    return 0;
  return m->dicts[cat_feature].n;
}
