/* Growable structure-of-arrays storage of the trees. */
#include "core/error.h"
#include "engine/model.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t elem, int64_t old_cap, int64_t new_cap) {
  void *q = realloc(*p, (size_t)new_cap * elem);
  if (!q)
    return 0;
  (void)old_cap;
  *p = q;
  return 1;
}

int brl__trees_reserve(brl_trees *t, int K, int64_t splits, int64_t leaves) {
  if (t->n + 1 >= t->cap) {
    int nc = t->cap < 16 ? 16 : t->cap + t->cap / 2;
    if (!grow((void **)&t->depth, 1, t->cap, nc) ||
        !grow((void **)&t->flags, 1, t->cap, nc) ||
        !grow((void **)&t->split_off, sizeof(int64_t), t->cap, nc + 1) ||
        !grow((void **)&t->leaf_off, sizeof(int64_t), t->cap, nc + 1))
      return brl__fail(BRL_ENOMEM, "out of memory storing tree %d", t->n);
    if (t->cap == 0)
      t->split_off[0] = t->leaf_off[0] = 0;
    t->cap = nc;
  }
  int64_t s_need = t->split_off[t->n] + splits;
  if (s_need > t->split_cap) {
    int64_t nc = t->split_cap < 64 ? 64 : t->split_cap + t->split_cap / 2;
    if (nc < s_need)
      nc = s_need;
    if (!grow((void **)&t->feature, sizeof(int32_t), t->split_cap, nc) ||
        !grow((void **)&t->threshold, sizeof(float), t->split_cap, nc) ||
        !grow((void **)&t->split_flags, 1, t->split_cap, nc) ||
        !grow((void **)&t->gain, sizeof(float), t->split_cap, nc))
      return brl__fail(BRL_ENOMEM, "out of memory storing tree %d", t->n);
    t->split_cap = nc;
  }
  int64_t l_need = t->leaf_off[t->n] + leaves;
  if (l_need > t->leaf_cap) {
    int64_t nc = t->leaf_cap < 256 ? 256 : t->leaf_cap + t->leaf_cap / 2;
    if (nc < l_need)
      nc = l_need;
    /* 16 floats of slack past the end let vector code load a full register
     * of leaf values from the last tree. */
    if (!grow((void **)&t->value, sizeof(float) * (size_t)K, t->leaf_cap,
              nc + 16) ||
        !grow((void **)&t->cover, sizeof(float), t->leaf_cap, nc))
      return brl__fail(BRL_ENOMEM, "out of memory storing tree %d", t->n);
    t->leaf_cap = nc;
  }
  return BRL_OK;
}

void brl__trees_commit(brl_trees *t, int depth, int oblivious, int64_t splits,
                       int64_t leaves) {
  t->depth[t->n] = (uint8_t)depth;
  t->flags[t->n] = oblivious ? BRL_TREE_OBLIVIOUS : 0;
  t->split_off[t->n + 1] = t->split_off[t->n] + splits;
  t->leaf_off[t->n + 1] = t->leaf_off[t->n] + leaves;
  t->n++;
}

void brl__trees_free(brl_trees *t) {
  free(t->depth);
  free(t->flags);
  free(t->split_off);
  free(t->leaf_off);
  free(t->feature);
  free(t->threshold);
  free(t->split_flags);
  free(t->gain);
  free(t->value);
  free(t->cover);
  memset(t, 0, sizeof *t);
}

size_t brl__trees_bytes(const brl_trees *t, int K) {
  if (!t->n)
    return 0;
  int64_t s = t->split_off[t->n], l = t->leaf_off[t->n];
  /* Bytes in use: the arrays are trimmed to this size on save/load. */
  return (size_t)t->n * (2 + 2 * sizeof(int64_t)) +
         (size_t)s * (sizeof(int32_t) + sizeof(float) * 2 + 1) +
         (size_t)l * (sizeof(float) * ((size_t)K + 1));
}
