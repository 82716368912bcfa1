/* Internal prediction kernels: a portable scalar path and x86 vector paths
 * chosen at run time. All paths add, per sample, the same leaf values in the
 * same tree order, so their results are identical bit for bit. */
#ifndef BRL_ENGINE_PREDICT_H
#define BRL_ENGINE_PREDICT_H

#include "engine/model.h"

enum { BRL_SIMD_SCALAR = 0, BRL_SIMD_AVX2 = 1, BRL_SIMD_AVX512 = 2 };

/* The best level this CPU supports, or the one forced by brl__simd_force. */
int brl__simd_level(void);
/* Forces a level (for tests); -1 returns to automatic choice. */
void brl__simd_force(int level);

/* Leaf of tree t for one sample. */
static inline int brl__leaf_of(const brl_trees *T, int t, const float *x) {
  const int d = T->depth[t];
  const int64_t so = T->split_off[t];
  if (T->flags[t] & BRL_TREE_OBLIVIOUS) {
    int idx = 0;
    for (int l = 0; l < d; l++) {
      uint32_t sp = T->split[so + l];
      float v = x[BRL_SPLIT_FEATURE(sp)];
      int right = !(v <= T->threshold[so + l]);
      if (right && v != v)
        right = !(BRL_SPLIT_FLAGS(sp) & BRL_SPLIT_DEFAULT_LEFT);
      idx = (idx << 1) | right;
    }
    return idx;
  }
  int node = 0;
  for (int l = 0; l < d; l++) {
    uint32_t sp = T->split[so + node];
    float v = x[BRL_SPLIT_FEATURE(sp)];
    int right = !(v <= T->threshold[so + node]);
    if (right && v != v)
      right = !(BRL_SPLIT_FLAGS(sp) & BRL_SPLIT_DEFAULT_LEFT);
    node = 2 * node + 1 + right;
  }
  return node - ((1 << d) - 1);
}

/* Scalar kernel over samples [0, n) of X, trees [start, stop). */
void brl__predict_block_scalar(const brl_model *m, const float *X, int64_t n,
                               int start, int stop, float *out);
/* Vector kernels over exactly 16 samples. */
void brl__predict16_avx512(const brl_model *m, const float *X, int start,
                           int stop, float *out);
void brl__predict16_avx2(const brl_model *m, const float *X, int start,
                         int stop, float *out);

#endif
