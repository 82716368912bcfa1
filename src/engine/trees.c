/* Growable structure-of-arrays storage of the trees. */
#include "core/error.h"
#include "engine/model.h"

#include <math.h>
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
