/* Prediction: bias + sum of leaf values over a tree range. Trees in the
 * outer loop, samples inside, so a tree's arrays stay in cache. */
#include "engine/predict.h"
#include "backend/backend.h"
#include "core/error.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Both are atomics: predictions run on any thread, and the first calls may
 * race to detect the level (they store the same value). */
static atomic_int simd_forced = -1;

void brl__simd_force(int level) {
  atomic_store_explicit(&simd_forced, level, memory_order_relaxed);
}

int brl__simd_level(void) {
  int forced = atomic_load_explicit(&simd_forced, memory_order_relaxed);
  if (forced >= 0)
    return forced;
#if defined(__x86_64__) && defined(__GNUC__)
  static atomic_int detected = -1;
  int level = atomic_load_explicit(&detected, memory_order_relaxed);
  if (level < 0) {
    __builtin_cpu_init();
    level = __builtin_cpu_supports("avx512f") ? BRL_SIMD_AVX512
            : __builtin_cpu_supports("avx2")  ? BRL_SIMD_AVX2
                                              : BRL_SIMD_SCALAR;
    atomic_store_explicit(&detected, level, memory_order_relaxed);
  }
  return level;
#else
  return BRL_SIMD_SCALAR;
#endif
}

int brl__tree_leaf(const brl_model *m, int t, const float *x,
                   const int32_t *xc) {
  return brl__leaf_of(&m->trees, t, x, xc, m->p.n_features);
}

void brl__predict_block_scalar(const brl_model *m, const float *X,
                               const int32_t *Xc, int64_t n, int start,
                               int stop, float *out) {
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  for (int t = start; t < stop; t++) {
    const int nl = 1 << T->depth[t];
    const float *v = T->value + (int64_t)T->leaf_off[t] * K;
    for (int64_t s = 0; s < n; s++) {
      int leaf = brl__leaf_of(T, t, X + s * D, Xc + s * C, D);
      float *o = out + s * K;
      for (int k = 0; k < K; k++)
        o[k] += v[k * nl + leaf];
    }
  }
}

/* Does padding a tail of r < 16 rows to a vector block pay off for most
 * of trees [start, stop)? Oblivious trees: always. Greedy trees walk all
 * 16 lanes level by level, which costs about as much as walking 2 rows
 * one by one at depth 4 or 5 and 4 rows when deeper (on the machine of
 * docs/BENCHMARKS.md), so they count from there. Greedy trees with
 * categorical splits walk each lane on its own: padding would multiply
 * their work. */
static int mostly_vector(const brl_trees *T, int start, int stop, int64_t r) {
  int64_t vec = 0;
  for (int t = start; t < stop; t++) {
    const int d = T->depth[t];
    vec += (T->flags[t] & BRL_TREE_OBLIVIOUS) ||
           (!(T->flags[t] & BRL_TREE_HAS_CAT) && r >= (d <= 3   ? 1
                                                       : d <= 5 ? 2
                                                                : 4));
  }
  return 2 * vec >= (int64_t)(stop - start);
}

/* Blocks of 64 samples: big enough to amortize a tree's loads, small enough
 * that the block's outputs stay in L1. */
#define BLOCK 64

void brl__predict_add(const brl_model *m, const float *X, const int32_t *Xc,
                      int64_t n, int start, int stop, float *out,
                      int force_scalar) {
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  const int simd = force_scalar ? BRL_SIMD_SCALAR : brl__simd_level();
  const int64_t nblocks = (n + BLOCK - 1) / BLOCK;
  int nt = m->p.n_threads > 0 ? m->p.n_threads : omp_get_max_threads();
  if ((int64_t)n * (stop - start) < 1000000 || nblocks < 2)
    nt = 1;
  const int vec_ok = D + C <= 256 && K <= 64;
  const int pad_ok = vec_ok && n % 16 != 0 && simd != BRL_SIMD_SCALAR &&
                     mostly_vector(&m->trees, start, stop, n % 16);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t bl = 0; bl < nblocks; bl++) {
    int64_t s0 = bl * BLOCK, s1 = s0 + BLOCK < n ? s0 + BLOCK : n;
    int64_t s = s0;
    if (simd == BRL_SIMD_AVX512 && vec_ok)
      for (; s + 16 <= s1; s += 16)
        brl__predict16_avx512(m, X + s * D, Xc + s * C, start, stop,
                              out + s * K);
    else if (simd == BRL_SIMD_AVX2 && vec_ok)
      for (; s + 16 <= s1; s += 16)
        brl__predict16_avx2(m, X + s * D, Xc + s * C, start, stop, out + s * K);
    if (s < s1 && pad_ok) {
      /* A tail of fewer than 16 rows: pad it to a full vector block (the
       * padding repeats the last row) rather than walk it row by row. */
      float xp[16 * 256], op[16 * 64];
      int32_t cp[16 * 256];
      const int64_t r = s1 - s;
      for (int i = 0; i < 16; i++) {
        int64_t src = s + (i < r ? i : r - 1);
        if (D) /* X (or Xc) is NULL without such features */
          memcpy(xp + i * D, X + src * D, (size_t)D * sizeof(float));
        if (C)
          memcpy(cp + i * C, Xc + src * C, (size_t)C * sizeof(int32_t));
        memcpy(op + i * K, out + src * K, (size_t)K * sizeof(float));
      }
      if (simd == BRL_SIMD_AVX512)
        brl__predict16_avx512(m, xp, cp, start, stop, op);
      else
        brl__predict16_avx2(m, xp, cp, start, stop, op);
      memcpy(out + s * K, op, (size_t)(r * K) * sizeof(float));
      s = s1;
    }
    if (s < s1)
      brl__predict_block_scalar(m, X + s * D, Xc + s * C, s1 - s, start, stop,
                                out + s * K);
  }
}

/* Adam over the trees in order, per sample and output (DESIGN section 1):
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * f -= lr sqrt(1-b2^(t+1)) / (1-b1^(t+1)) m / (sqrt(v) + eps). */
void brl__predict_adam(const brl_model *m, const float *X, const int32_t *Xc,
                       int64_t n, int start, int stop, float *out, double *mv) {
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  const double b1 = m->p.adam_beta1, b2 = m->p.adam_beta2, eps = m->p.adam_eps;
  for (int t = start; t < stop; t++) {
    const int nl = 1 << T->depth[t];
    const float *v = T->value + (int64_t)T->leaf_off[t] * K;
    const float *lr = T->lr + (int64_t)t * T->n_lr;
    const double corr =
        sqrt(1.0 - pow(b2, (double)(t + 1))) / (1.0 - pow(b1, (double)(t + 1)));
    for (int64_t s = 0; s < n; s++) {
      int leaf = brl__leaf_of(T, t, X + s * D, Xc + s * C, D);
      float *o = out + s * K;
      double *q = mv + s * K * 2;
      for (int k = 0; k < K; k++) {
        double g = v[k * nl + leaf];
        q[2 * k] = b1 * q[2 * k] + (1.0 - b1) * g;
        q[2 * k + 1] = b2 * q[2 * k + 1] + (1.0 - b2) * g * g;
        double step = (double)lr[m->col_group[k]] * corr * q[2 * k] /
                      (sqrt(q[2 * k + 1]) + eps);
        o[k] = (float)((double)o[k] - step);
      }
    }
  }
}

int brl__predict_args(const brl_model *m, const void *X, const void *Xc,
                      int64_t n_rows, int start, int *stop, const void *out) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  if (n_rows < 0)
    return brl__fail(BRL_EINVAL, "n_rows is %lld: use 0 or more",
                     (long long)n_rows);
  if (n_rows > 0 && !X && m->p.n_features > 0)
    return brl__fail(BRL_EINVAL, "X is NULL");
  if (n_rows > 0 && !Xc && m->p.n_cat_features > 0)
    return brl__fail(BRL_EINVAL,
                     "X_cat is NULL but the model has %d categorical "
                     "features: pass their codes (brl_model_predict_cat)",
                     m->p.n_cat_features);
  if (*stop < 0)
    *stop = m->trees.n;
  if (start < 0 || start > *stop || *stop > m->trees.n)
    return brl__fail(BRL_EINVAL,
                     "tree range [%d, %d) is invalid: the model has %d trees",
                     start, *stop, m->trees.n);
  return BRL_OK;
}

int brl__model_predict_add(const brl_model *m, const float *X,
                           const int32_t *Xc, int64_t n, int start, int stop,
                           float *out) {
  if (n <= 0 || stop <= start)
    return BRL_OK;
  return m->backend->predict_add(m, X, Xc, n, start, stop, out);
}

static int predict_common(const brl_model *m, const float *X, const int32_t *Xc,
                          int64_t n_rows, int start, int stop, float *out,
                          int scalar) {
  static const float no_num[1];
  static const int32_t no_cat[1];
  int rc = brl__predict_args(m, X, Xc, n_rows, start, &stop, out);
  if (rc)
    return rc;
  if (!X)
    X = no_num; /* no numeric features: never read */
  if (!Xc)
    Xc = no_cat;
  const int adam = m->p.optimizer == BRL_OPTIMIZER_ADAM;
  if (adam && start > 0)
    return brl__fail(BRL_EUNSUPPORTED,
                     "tree range [%d, %d): an Adam ensemble is not additive, "
                     "so its ranges must start at tree 0",
                     start, stop);
  const int K = m->n_outputs;
  for (int64_t i = 0; i < n_rows; i++) {
    if (start == 0)
      memcpy(out + i * K, m->bias, (size_t)K * sizeof(float));
    else
      memset(out + i * K, 0, (size_t)K * sizeof(float));
  }
  if (!adam) {
    if (!scalar)
      return brl__model_predict_add(m, X, Xc, n_rows, start, stop, out);
    brl__predict_add(m, X, Xc, n_rows, start, stop, out, scalar);
    return BRL_OK;
  }
  /* Adam: moments for a block of rows at a time (no allocation per row). */
  enum { ROWS = 8 };
  double mv[ROWS * 256 * 2];
  const int D = m->p.n_features, C = m->p.n_cat_features;
  for (int64_t s = 0; s < n_rows; s += ROWS) {
    int64_t r = n_rows - s < ROWS ? n_rows - s : ROWS;
    memset(mv, 0, (size_t)(r * K * 2) * sizeof(double));
    if ((rc = m->backend->predict_adam(m, X + s * D, Xc + s * C, r, 0, stop,
                                       out + s * K, mv)))
      return rc;
  }
  return BRL_OK;
}

int brl_model_predict(const brl_model *m, const float *X, int64_t n_rows,
                      int start, int stop, float *out) {
  return predict_common(m, X, NULL, n_rows, start, stop, out, 0);
}

int brl_model_predict_cat(const brl_model *m, const float *X,
                          const int32_t *X_cat, int64_t n_rows, int start,
                          int stop, float *out) {
  return predict_common(m, X, X_cat, n_rows, start, stop, out, 0);
}

int brl__model_predict_scalar(const brl_model *m, const float *X,
                              int64_t n_rows, int start, int stop, float *out) {
  return predict_common(m, X, NULL, n_rows, start, stop, out, 1);
}
