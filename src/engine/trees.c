/* Growable structure-of-arrays storage of the trees. */
#include "core/error.h"
#include "engine/model.h"

#include <stdlib.h>
#include <string.h>

static int grow(void **p, size_t elem, int64_t new_cap) {
  void *q = realloc(*p, (size_t)new_cap * elem);
  if (!q)
    return 0;
  *p = q;
  return 1;
}

/* Next capacity: x1.5 while small, then +1/32 (large blocks grow in place
 * by remapping, so small steps cost no copies and waste little memory). */
static int64_t next_cap(int64_t cap, int64_t need, int64_t min) {
  int64_t nc = cap < min         ? min
               : cap < (1 << 16) ? cap + cap / 2
                                 : cap + cap / 32;
  return nc < need ? need : nc;
}

int brl__trees_reserve(brl_trees *t, int K, int64_t splits, int64_t leaves) {
  if (t->n + 1 >= t->cap) {
    int nc = (int)next_cap(t->cap, t->n + 2, 16);
    if (!grow((void **)&t->depth, 1, nc) || !grow((void **)&t->flags, 1, nc) ||
        !grow((void **)&t->split_off, sizeof(uint32_t), nc + 1) ||
        !grow((void **)&t->leaf_off, sizeof(uint32_t), nc + 1) ||
        (t->n_lr &&
         !grow((void **)&t->lr, sizeof(float) * (size_t)t->n_lr, nc)))
      return brl__fail(BRL_ENOMEM, "out of memory storing tree %d", t->n);
    if (t->cap == 0)
      t->split_off[0] = t->leaf_off[0] = 0;
    t->cap = nc;
  }
  int64_t s_need = (int64_t)t->split_off[t->n] + splits;
  int64_t l_need = (int64_t)t->leaf_off[t->n] + leaves;
  if (s_need > UINT32_MAX || l_need > UINT32_MAX)
    return brl__fail(BRL_ENOMEM,
                     "the ensemble is full: 2^32 splits or leaves at most");
  if (s_need > t->split_cap) {
    int64_t nc = next_cap(t->split_cap, s_need, 64);
    if (!grow((void **)&t->split, sizeof(uint32_t), nc) ||
        !grow((void **)&t->threshold, sizeof(float), nc) ||
        !grow((void **)&t->gain, sizeof(float), nc))
      return brl__fail(BRL_ENOMEM, "out of memory storing tree %d", t->n);
    t->split_cap = nc;
  }
  if (l_need > t->leaf_cap) {
    int64_t nc = next_cap(t->leaf_cap, l_need, 256);
    /* 16 floats of slack past the end let vector code load a full register
     * of leaf values from the last tree. */
    if (!grow((void **)&t->value, sizeof(float) * (size_t)K, nc + 16) ||
        !grow((void **)&t->cover, sizeof(float), nc))
      return brl__fail(BRL_ENOMEM, "out of memory storing tree %d", t->n);
    t->leaf_cap = nc;
  }
  return BRL_OK;
}

void brl__trees_commit(brl_trees *t, int depth, int oblivious, int64_t splits,
                       int64_t leaves) {
  t->depth[t->n] = (uint8_t)depth;
  t->flags[t->n] = oblivious ? BRL_TREE_OBLIVIOUS : 0;
  t->split_off[t->n + 1] = t->split_off[t->n] + (uint32_t)splits;
  t->leaf_off[t->n + 1] = t->leaf_off[t->n] + (uint32_t)leaves;
  t->n++;
}

void brl__trees_free(brl_trees *t) {
  free(t->depth);
  free(t->flags);
  free(t->split_off);
  free(t->leaf_off);
  free(t->split);
  free(t->threshold);
  free(t->gain);
  free(t->value);
  free(t->cover);
  free(t->lr);
  memset(t, 0, sizeof *t);
}

size_t brl__trees_bytes(const brl_trees *t, int K) {
  if (!t->n)
    return 0;
  int64_t s = t->split_off[t->n], l = t->leaf_off[t->n];
  /* Bytes in use: the arrays are trimmed to this size on save/load. */
  return (size_t)t->n * (2 + 2 * sizeof(uint32_t)) +
         (size_t)s * (sizeof(uint32_t) + sizeof(float) * 2) +
         (size_t)l * (sizeof(float) * ((size_t)K + 1));
}
