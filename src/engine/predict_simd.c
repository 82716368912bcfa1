/* x86 vector prediction over 16 samples at a time, compiled for AVX2 and
 * AVX-512 with target attributes and picked at run time (the default build
 * stays portable). Oblivious trees of depth <= 5 (AVX-512) or <= 4 (AVX2)
 * take a leaf index per lane from compare masks and look their leaf values
 * up with a register permute; other trees walk per lane. Every lane adds
 * the same values in the same order as the scalar path, so the results are
 * identical bit for bit. */
#include "engine/predict.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define LANES 16

/* Leaves of tree t for 16 lanes, the scalar way (greedy or deep trees). */
static inline void tree_leaves(const brl_trees *T, int t, int D, int C,
                               const float *X, const int32_t *Xc, int *leaf) {
  const int d = T->depth[t];
  if (T->flags[t] != 0) { /* oblivious, or categorical splits */
    for (int s = 0; s < LANES; s++)
      leaf[s] = brl__leaf_of(T, t, X + s * D, Xc + s * C, D);
    return;
  }
  /* Greedy, numeric: level by level across the lanes, 16 independent load
   * chains instead of one long dependent walk per sample. */
  const uint32_t *sp = T->split + T->split_off[t];
  const float *thr = T->threshold + T->split_off[t];
  for (int s = 0; s < LANES; s++)
    leaf[s] = 0;
  for (int l = 0; l < d; l++)
    for (int s = 0; s < LANES; s++) {
      int node = leaf[s];
      leaf[s] =
          2 * node + 1 + brl__goes_right(sp[node], thr[node], X + s * D, Xc, D);
    }
  for (int s = 0; s < LANES; s++)
    leaf[s] -= (1 << d) - 1;
}

static inline int block_has_nan(const float *X, int n) {
  int any = 0;
  for (int i = 0; i < n; i++)
    any |= X[i] != X[i];
  return any;
}

/* Outputs [k0, k0 + KC) of 16 lanes over trees [start, stop), with the
 * accumulators in registers (KC is a compile-time constant at each call). */
__attribute__((target("avx512f"), always_inline)) static inline void
avx512_chunk(const brl_trees *T, int K, int D, int C, const float *X,
             const int32_t *Xc, const float *xt, int nan, int start, int stop,
             int k0, const int KC, float *acc) {
  __m512 a[8];
  _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] =
      _mm512_loadu_ps(acc + (k0 + j) * LANES);
  const __m512i one = _mm512_set1_epi32(1);
  for (int t = start; t < stop; t++) {
    const int d = T->depth[t], nl = 1 << d;
    const float *v = T->value + (int64_t)T->leaf_off[t] * K + k0 * nl;
    __m512i idx;
    if (d == 4 && !nan && T->flags[t] == BRL_TREE_OBLIVIOUS) {
      /* The common case, unrolled: the level decisions add 8, 4, 2, 1. */
      const uint32_t *sp = T->split + T->split_off[t];
      const float *th = T->threshold + T->split_off[t];
      idx = _mm512_setzero_si512();
      _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++) {
        __m512 x = _mm512_loadu_ps(xt + BRL_SPLIT_FEATURE(sp[l]) * LANES);
        __mmask16 right =
            _mm512_cmp_ps_mask(x, _mm512_set1_ps(th[l]), _CMP_NLE_UQ);
        idx = _mm512_mask_add_epi32(idx, right, idx, _mm512_set1_epi32(8 >> l));
      }
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] = _mm512_add_ps(
          a[j], _mm512_permutexvar_ps(idx, _mm512_loadu_ps(v + j * 16)));
      continue;
    }
    if ((T->flags[t] & BRL_TREE_OBLIVIOUS) && d <= 5) {
      const uint32_t *sp = T->split + T->split_off[t];
      const float *th = T->threshold + T->split_off[t];
      idx = _mm512_setzero_si512();
      for (int l = 0; l < d; l++) {
        const unsigned fl = BRL_SPLIT_FLAGS(sp[l]);
        const float *col = xt + BRL_SPLIT_FEATURE(sp[l]) * LANES;
        __mmask16 right;
        if (fl & BRL_SPLIT_CAT) { /* codes, stored as int bits */
          __m512i c = _mm512_loadu_si512(col);
          __mmask16 miss = _mm512_cmplt_epi32_mask(c, _mm512_setzero_si512());
          right = _mm512_cmpneq_epi32_mask(
              c, _mm512_set1_epi32(brl__thr_to_code(th[l])));
          right = (__mmask16)((right & ~miss) |
                              ((fl & BRL_SPLIT_DEFAULT_LEFT) ? 0 : miss));
        } else {
          __m512 x = _mm512_loadu_ps(col);
          right = _mm512_cmp_ps_mask(x, _mm512_set1_ps(th[l]), _CMP_NLE_UQ);
          if (nan && (fl & BRL_SPLIT_DEFAULT_LEFT))
            right &= _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q);
        }
        idx = _mm512_slli_epi32(idx, 1);
        idx = _mm512_mask_add_epi32(idx, right, idx, one);
      }
    } else {
      int leaf[LANES];
      tree_leaves(T, t, D, C, X, Xc, leaf);
      idx = _mm512_loadu_si512(leaf);
      if (d > 5) { /* too many leaves for a permute: gather */
        _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] =
            _mm512_add_ps(a[j], _mm512_i32gather_ps(idx, v + j * nl, 4));
        continue;
      }
    }
    if (d <= 4) {
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] = _mm512_add_ps(
          a[j], _mm512_permutexvar_ps(idx, _mm512_loadu_ps(v + j * nl)));
    } else {
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] = _mm512_add_ps(
          a[j], _mm512_permutex2var_ps(_mm512_loadu_ps(v + j * nl), idx,
                                       _mm512_loadu_ps(v + j * nl + 16)));
    }
  }
  _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++)
      _mm512_storeu_ps(acc + (k0 + j) * LANES, a[j]);
}

__attribute__((target("avx512f"))) void
brl__predict16_avx512(const brl_model *m, const float *X, const int32_t *Xc,
                      int start, int stop, float *out) {
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  float xt[256 * LANES]; /* features x lanes; codes keep their int bits */
  float acc[64 * LANES]; /* outputs x lanes */
  for (int s = 0; s < LANES; s++)
    for (int f = 0; f < D; f++)
      xt[f * LANES + s] = X[s * D + f];
  for (int s = 0; s < LANES; s++)
    for (int c = 0; c < C; c++)
      xt[(D + c) * LANES + s] = brl__code_to_thr(Xc[s * C + c]);
  for (int s = 0; s < LANES; s++)
    for (int k = 0; k < K; k++)
      acc[k * LANES + s] = out[s * K + k];
  const int nan = block_has_nan(X, LANES * D);
  for (int k0 = 0; k0 < K; k0 += 8) {
    switch (K - k0 >= 8 ? 8 : K - k0) {
#define CASE(n)                                                                \
  case n:                                                                      \
    avx512_chunk(T, K, D, C, X, Xc, xt, nan, start, stop, k0, n, acc);         \
    break;
      CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)
#undef CASE
    }
  }
  for (int s = 0; s < LANES; s++)
    for (int k = 0; k < K; k++)
      out[s * K + k] = acc[k * LANES + s];
}

__attribute__((target("avx2"))) void
brl__predict16_avx2(const brl_model *m, const float *X, const int32_t *Xc,
                    int start, int stop, float *out) {
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  float xt[256 * LANES];
  float acc[64 * LANES];
  for (int s = 0; s < LANES; s++)
    for (int f = 0; f < D; f++)
      xt[f * LANES + s] = X[s * D + f];
  for (int s = 0; s < LANES; s++)
    for (int k = 0; k < K; k++)
      acc[k * LANES + s] = out[s * K + k];
  const int nan = block_has_nan(X, LANES * D);
  for (int t = start; t < stop; t++) {
    const int d = T->depth[t], nl = 1 << d;
    const float *v = T->value + (int64_t)T->leaf_off[t] * K;
    if (T->flags[t] != BRL_TREE_OBLIVIOUS || d > 4) {
      int leaf[LANES];
      tree_leaves(T, t, D, C, X, Xc, leaf);
      for (int k = 0; k < K; k++)
        for (int s = 0; s < LANES; s++)
          acc[k * LANES + s] += v[k * nl + leaf[s]];
      continue;
    }
    const uint32_t *sp = T->split + T->split_off[t];
    const float *th = T->threshold + T->split_off[t];
    __m256i idx[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int l = 0; l < d; l++) {
      __m256 thr = _mm256_set1_ps(th[l]);
      const float *xf = xt + BRL_SPLIT_FEATURE(sp[l]) * LANES;
      int dl = nan && (BRL_SPLIT_FLAGS(sp[l]) & BRL_SPLIT_DEFAULT_LEFT);
      for (int h = 0; h < 2; h++) {
        __m256 x = _mm256_loadu_ps(xf + 8 * h);
        __m256 right = _mm256_cmp_ps(x, thr, _CMP_NLE_UQ);
        if (dl)
          right = _mm256_and_ps(right, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
        /* an all-ones lane is -1: idx*2 - (-1) appends the bit */
        idx[h] = _mm256_sub_epi32(_mm256_slli_epi32(idx[h], 1),
                                  _mm256_castps_si256(right));
      }
    }
    for (int k = 0; k < K; k++) {
      __m256 lo = _mm256_loadu_ps(v + k * nl);
      __m256 hi = _mm256_loadu_ps(v + k * nl + 8);
      for (int h = 0; h < 2; h++) {
        __m256 r = _mm256_permutevar8x32_ps(lo, idx[h]);
        if (d == 4) {
          __m256 r2 = _mm256_permutevar8x32_ps(hi, idx[h]);
          __m256 sel = _mm256_castsi256_ps(_mm256_slli_epi32(idx[h], 28));
          r = _mm256_blendv_ps(r, r2, sel);
        }
        __m256 a = _mm256_loadu_ps(acc + k * LANES + 8 * h);
        _mm256_storeu_ps(acc + k * LANES + 8 * h, _mm256_add_ps(a, r));
      }
    }
  }
  for (int s = 0; s < LANES; s++)
    for (int k = 0; k < K; k++)
      out[s * K + k] = acc[k * LANES + s];
}

#else
void brl__predict16_avx512(const brl_model *m, const float *X,
                           const int32_t *Xc, int start, int stop, float *out) {
  brl__predict_block_scalar(m, X, Xc, 16, start, stop, out);
}
void brl__predict16_avx2(const brl_model *m, const float *X, const int32_t *Xc,
                         int start, int stop, float *out) {
  brl__predict_block_scalar(m, X, Xc, 16, start, stop, out);
}
#endif
