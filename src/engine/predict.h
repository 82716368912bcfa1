/* Internal prediction kernels: a portable scalar path and x86 vector paths
 * chosen at run time. All paths add, per sample, the same leaf values in the
 * same tree order, so their results are identical bit for bit. */
#ifndef BRL_ENGINE_PREDICT_H
#define BRL_ENGINE_PREDICT_H

#include "engine/model.h"

enum { BRL_SIMD_SCALAR = 0, BRL_SIMD_AVX2 = 1, BRL_SIMD_AVX512 = 2 };

/* Checks the arguments of a prediction (X, Xc, out: host or device
 * pointers, only tested for NULL) and resolves stop < 0 to all trees. */
int brl__predict_args(const brl_model *m, const void *X, const void *Xc,
                      int64_t n_rows, int start, int *stop, const void *out);
/* Adds trees [start, stop) of m over host X and Xc into out through the
 * model's backend (a failure there is the status, never a fallback). */
int brl__model_predict_add(const brl_model *m, const float *X,
                           const int32_t *Xc, int64_t n, int start, int stop,
                           float *out);
/* The best level this CPU supports, or the one forced by brl__simd_force. */
int brl__simd_level(void);
/* Forces a level (for tests); -1 returns to automatic choice. */
void brl__simd_force(int level);

/* Whether a sample goes right at split sp (x: its numeric features, xc:
 * its categorical codes, D: numeric features). */
static inline int brl__goes_right(uint32_t sp, float thr, const float *x,
                                  const int32_t *xc, int D) {
  const unsigned fl = BRL_SPLIT_FLAGS(sp);
  const int f = BRL_SPLIT_FEATURE(sp);
  if (fl & (BRL_SPLIT_CAT | BRL_SPLIT_PASS)) {
    if (fl & BRL_SPLIT_PASS)
      return 0;
    int32_t c = xc[f - D];
    return c < 0 ? !(fl & BRL_SPLIT_DEFAULT_LEFT) : c != brl__thr_to_code(thr);
  }
  float v = x[f];
  int right = !(v <= thr);
  if (right && v != v)
    right = !(fl & BRL_SPLIT_DEFAULT_LEFT);
  return right;
}

/* Leaf of tree t for one sample. */
static inline int brl__leaf_of(const brl_trees *T, int t, const float *x,
                               const int32_t *xc, int D) {
  const int d = T->depth[t];
  const uint32_t *sp = T->split + T->split_off[t];
  const float *th = T->threshold + T->split_off[t];
  if (T->flags[t] & BRL_TREE_OBLIVIOUS) {
    int idx = 0;
    for (int l = 0; l < d; l++)
      idx = (idx << 1) | brl__goes_right(sp[l], th[l], x, xc, D);
    return idx;
  }
  int node = 0;
  for (int l = 0; l < d; l++)
    node = 2 * node + 1 + brl__goes_right(sp[node], th[node], x, xc, D);
  return node - ((1 << d) - 1);
}

/* brl_model_predict forcing the portable scalar path (tests compare the
 * vectorized paths with it: the results are identical bit for bit). */
int brl__model_predict_scalar(const brl_model *m, const float *X,
                              int64_t n_rows, int start, int stop, float *out);

/* Scalar kernel over samples [0, n) of X, trees [start, stop). */
void brl__predict_block_scalar(const brl_model *m, const float *X,
                               const int32_t *Xc, int64_t n, int start,
                               int stop, float *out);
/* Vector kernels over exactly 16 samples. */
void brl__predict16_avx512(const brl_model *m, const float *X,
                           const int32_t *Xc, int start, int stop, float *out);
void brl__predict16_avx2(const brl_model *m, const float *X, const int32_t *Xc,
                         int start, int stop, float *out);

#endif
