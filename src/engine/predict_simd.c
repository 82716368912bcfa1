/* x86 vector prediction over 16 samples at a time, compiled for AVX2 and
 * AVX-512 with target attributes and picked at run time (the default build
 * stays portable). Every tree without categorical splits, oblivious or
 * greedy, of any depth, gets a leaf index per lane in vector registers:
 *  - oblivious trees from one compare mask per level (the level's split is
 *    the same for all lanes);
 *  - greedy trees by walking the heap in all lanes at once: per level each
 *    lane fetches its node's split word and threshold (register permutes
 *    for the top levels, gathers below), picks its own feature value from
 *    the block's transposed features and appends the decision bit, so after
 *    d levels the path is the leaf index. On AVX-512 the top 3 levels are
 *    decided instead by comparing all lanes at each of their 7 nodes
 *    (independent compares, no chain of loads).
 * Leaf values are then looked up with register permutes (up to 16 or 32
 * leaves) or gathers. Greedy trees with categorical splits (and, on AVX2,
 * oblivious ones) walk per lane. Every lane adds the same values in the
 * same order as the scalar path, so the results are identical bit for
 * bit. */
#include "engine/predict.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define LANES 16
/* Greedy trees on AVX-512: levels decided by node masks (greedy_top512,
 * up to 3), the rest walked. 3 measured faster than 2 or 4. */
#define TOP 3

/* Leaves of tree t for 16 lanes, the scalar way (greedy trees with
 * categorical splits; oblivious ones with them on AVX2). */
static inline void tree_leaves(const brl_trees *T, int t, int D, int C,
                               const float *X, const int32_t *Xc, int *leaf) {
  for (int s = 0; s < LANES; s++)
    leaf[s] = brl__leaf_of(T, t, X + s * D, Xc + s * C, D);
}

static inline int block_has_nan(const float *X, int n) {
  int any = 0;
  for (int i = 0; i < n; i++)
    any |= X[i] != X[i];
  return any;
}

/* Each lane's own feature value, xt[f * 16 + lane] for the lane's feature
 * f < D. Up to 16 features, from the feature columns with permutes (each
 * picks from a pair of columns; a lane keeps its pair's), else a gather. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
lane_feature512(const float *xt, __m512i f, int D) {
  const __m512i lane =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  if (D > 16)
    return _mm512_i32gather_ps(_mm512_add_epi32(_mm512_slli_epi32(f, 4), lane),
                               xt, 4);
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i idx =
      _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(f, one), 4), lane);
  const __m512i pair = _mm512_srli_epi32(f, 1);
  __m512 x = _mm512_permutex2var_ps(_mm512_loadu_ps(xt), idx,
                                    _mm512_loadu_ps(xt + (D > 1) * LANES));
  for (int i = 1; 2 * i < D; i++) {
    const int hi = 2 * i + 1 < D ? 2 * i + 1 : D - 1;
    x = _mm512_mask_mov_ps(
        x, _mm512_cmpeq_epi32_mask(pair, _mm512_set1_epi32(i)),
        _mm512_permutex2var_ps(_mm512_loadu_ps(xt + 2 * i * LANES), idx,
                               _mm512_loadu_ps(xt + hi * LANES)));
  }
  return x;
}

/* The paths of the 16 lanes through the top L levels (nodes 0 .. 2^L - 2,
 * L <= 3) of a greedy tree, without a chain of loads: every node's
 * decision mask (independent compares), then the set of lanes reaching
 * each node (a child's: its parent's set and / and not the parent's mask);
 * level l's path bit is the union of its right-going lanes. Decisions as
 * brl__goes_right: right when !(x <= thr), a missing x goes left when the
 * split says so; a pass-through compares against +inf and counts as
 * missing-goes-left, so everyone goes left (a loaded one may name a
 * categorical feature, whose codes can look like NaN: gnan covers them). */
__attribute__((target("avx512f"), always_inline)) static inline __m512i
greedy_top512(const uint32_t *sp, const float *th, const float *xt,
              const int nan, const int L) {
  const __m512i one = _mm512_set1_epi32(1);
  const __mmask16 in = (__mmask16)((1u << ((1 << L) - 1)) - 1);
  const __m512i w = _mm512_maskz_loadu_epi32(in, sp);
  const __mmask16 pass =
      _mm512_test_epi32_mask(w, _mm512_set1_epi32((int)(BRL_SPLIT_PASS << 24)));
  const __m512 tv = _mm512_mask_mov_ps(_mm512_maskz_loadu_ps(in, th), pass,
                                       _mm512_set1_ps(__builtin_inff()));
  unsigned dl = 0; /* nodes where a missing value goes left */
  if (nan)
    dl = _mm512_test_epi32_mask(
        w, _mm512_set1_epi32(
               (int)((BRL_SPLIT_PASS | BRL_SPLIT_DEFAULT_LEFT) << 24)));
  const int n = (1 << L) - 1;
  unsigned at[8] = {0xFFFFu}, bit[3] = {0, 0, 0}; /* lanes at node i */
  _Pragma("GCC unroll 8") for (int i = 0; i < n; i++) {
    const int l = i >= 3 ? 2 : i >= 1; /* node i's level */
    const __m512 x = _mm512_loadu_ps(xt + BRL_SPLIT_FEATURE(sp[i]) * LANES);
    const __m512 thr = _mm512_permutexvar_ps(_mm512_set1_epi32(i), tv);
    unsigned go = _mm512_cmp_ps_mask(x, thr, _CMP_NLE_UQ);
    if (nan) /* and not missing, where missing goes left */
      go &= (unsigned)_mm512_cmp_ps_mask(x, x, _CMP_ORD_Q) |
            (((dl >> i) & 1u) - 1u);
    go &= at[i];
    bit[l] |= go;
    if (2 * i + 2 < n) {
      at[2 * i + 1] = at[i] & ~go;
      at[2 * i + 2] = go;
    }
  }
  __m512i r = _mm512_setzero_si512();
  _Pragma("GCC unroll 3") for (int l = 0; l < L; l++) {
    r = _mm512_slli_epi32(r, 1);
    r = _mm512_mask_add_epi32(r, (__mmask16)bit[l], r, one);
  }
  return r;
}

/* One level l >= TOP of the walk of a greedy tree (numeric splits only)
 * in 16 lanes: r is the path so far (the node's index within its level,
 * root decision first: node = 2^l - 1 + r), the result appends the
 * decision at level l. Fetches the lanes' split words and thresholds
 * (permutes down to level 5, gathers below) and each lane's own feature
 * value; a pass-through's lanes go left whatever its threshold. */
__attribute__((target("avx512f"), always_inline)) static inline __m512i
walk_level512(const uint32_t *sp, const float *th, int l, __m512i r,
              const float *xt, int D, int nan) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i fmask = _mm512_set1_epi32(0xFFFFFF);
  const __m512i pass = _mm512_set1_epi32((int)(BRL_SPLIT_PASS << 24));
  const __m512i dleft = _mm512_set1_epi32((int)(BRL_SPLIT_DEFAULT_LEFT << 24));
  const int base = (1 << l) - 1;
  __m512i w;
  __m512 thr;
  if (l <= 3) { /* up to 8 nodes (7-14 at level 3): masked load */
    const __mmask16 in = (__mmask16)((1u << (1 << l)) - 1);
    w = _mm512_permutexvar_epi32(r, _mm512_maskz_loadu_epi32(in, sp + base));
    thr = _mm512_permutexvar_ps(r, _mm512_maskz_loadu_ps(in, th + base));
  } else if (l == 4) { /* nodes 15-30 */
    w = _mm512_permutexvar_epi32(r, _mm512_loadu_si512(sp + base));
    thr = _mm512_permutexvar_ps(r, _mm512_loadu_ps(th + base));
  } else if (l == 5) { /* nodes 31-62 */
    w = _mm512_permutex2var_epi32(_mm512_loadu_si512(sp + base), r,
                                  _mm512_loadu_si512(sp + base + 16));
    thr = _mm512_permutex2var_ps(_mm512_loadu_ps(th + base), r,
                                 _mm512_loadu_ps(th + base + 16));
  } else {
    w = _mm512_i32gather_epi32(r, sp + base, 4);
    thr = _mm512_i32gather_ps(r, th + base, 4);
  }
  const __m512 x = lane_feature512(xt, _mm512_and_si512(w, fmask), D);
  __mmask16 right = _mm512_cmp_ps_mask(x, thr, _CMP_NLE_UQ);
  right = _mm512_mask_testn_epi32_mask(right, w, pass);
  if (nan)
    right &= ~(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) &
               _mm512_test_epi32_mask(w, dleft));
  r = _mm512_slli_epi32(r, 1);
  return _mm512_mask_add_epi32(r, right, r, one);
}

/* Leaf index of greedy tree t (numeric splits only) in 16 lanes: the top
 * TOP levels by greedy_top512, deeper ones by walk_level512 (after d
 * levels the path is the leaf). */
__attribute__((target("avx512f"), always_inline)) static inline __m512i
greedy_idx512(const brl_trees *T, int t, const float *xt, int D, int nan) {
  const int d = T->depth[t];
  const uint32_t *sp = T->split + T->split_off[t];
  const float *th = T->threshold + T->split_off[t];
  if (d < TOP) /* depth 0: a constant, leaf 0 */
    return d == 0   ? _mm512_setzero_si512()
           : d == 1 ? greedy_top512(sp, th, xt, nan, 1)
           : d == 2 ? greedy_top512(sp, th, xt, nan, 2)
                    : greedy_top512(sp, th, xt, nan, 3);
  __m512i r = greedy_top512(sp, th, xt, nan, TOP);
  for (int l = TOP; l < d; l++)
    r = walk_level512(sp, th, l, r, xt, D, nan);
  return r;
}

/* The same for greedy trees t and u (depths >= TOP) in lockstep: deep
 * trees wait on memory at every level, and two independent walks keep
 * twice as many loads in flight. */
__attribute__((target("avx512f"), always_inline)) static inline void
greedy_idx512_pair(const brl_trees *T, int t, int u, const float *xt, int D,
                   int nan, __m512i *rt, __m512i *ru) {
  const int dt = T->depth[t], du = T->depth[u];
  const uint32_t *spt = T->split + T->split_off[t];
  const float *tht = T->threshold + T->split_off[t];
  const uint32_t *spu = T->split + T->split_off[u];
  const float *thu = T->threshold + T->split_off[u];
  __m512i a = greedy_top512(spt, tht, xt, nan, TOP);
  __m512i b = greedy_top512(spu, thu, xt, nan, TOP);
  for (int l = TOP; l < dt || l < du; l++) {
    if (l < dt)
      a = walk_level512(spt, tht, l, a, xt, D, nan);
    if (l < du)
      b = walk_level512(spu, thu, l, b, xt, D, nan);
  }
  *rt = a;
  *ru = b;
}

/* Outputs [k0, k0 + KC) of 16 lanes over trees [start, stop), with the
 * accumulators in registers (KC is a compile-time constant at each call). */
__attribute__((target("avx512f"), always_inline)) static inline void
avx512_chunk(const brl_trees *T, int K, int D, int C, const float *X,
             const int32_t *Xc, const float *xt, int nan, int gnan, int start,
             int stop, int k0, const int KC, float *acc) {
  __m512 a[8];
  _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] =
      _mm512_loadu_ps(acc + (k0 + j) * LANES);
  const __m512i one = _mm512_set1_epi32(1);
  for (int t = start; t < stop; t++) {
    /* The common case, a run of depth-4 oblivious trees without missing
     * values, in a loop of its own (the level decisions add 8, 4, 2, 1). */
    for (; !nan && t < stop && T->depth[t] == 4 &&
           T->flags[t] == BRL_TREE_OBLIVIOUS;
         t++) {
      const uint32_t *sp = T->split + T->split_off[t];
      const float *th = T->threshold + T->split_off[t];
      const float *v = T->value + (int64_t)T->leaf_off[t] * K + k0 * 16;
      __m512i idx = _mm512_setzero_si512();
      _Pragma("GCC unroll 4") for (int l = 0; l < 4; l++) {
        __m512 x = _mm512_loadu_ps(xt + BRL_SPLIT_FEATURE(sp[l]) * LANES);
        __mmask16 right =
            _mm512_cmp_ps_mask(x, _mm512_set1_ps(th[l]), _CMP_NLE_UQ);
        idx = _mm512_mask_add_epi32(idx, right, idx, _mm512_set1_epi32(8 >> l));
      }
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] = _mm512_add_ps(
          a[j], _mm512_permutexvar_ps(idx, _mm512_loadu_ps(v + j * 16)));
    }
    if (t >= stop)
      break;
    const int d = T->depth[t], nl = 1 << d;
    const unsigned tf = T->flags[t];
    const float *v = T->value + (int64_t)T->leaf_off[t] * K + k0 * nl;
    __m512i idx;
    if (tf & BRL_TREE_OBLIVIOUS) {
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
    } else if (!(tf & BRL_TREE_HAS_CAT)) {
      if (d >= 6 && t + 1 < stop && T->flags[t + 1] == 0 &&
          T->depth[t + 1] >= 6) { /* two deep trees at once */
        __m512i iu;
        greedy_idx512_pair(T, t, t + 1, xt, D, gnan, &idx, &iu);
        _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] =
            _mm512_add_ps(a[j], _mm512_i32gather_ps(idx, v + j * nl, 4));
        t++;
        const int nlu = 1 << T->depth[t];
        const float *vu = T->value + (int64_t)T->leaf_off[t] * K + k0 * nlu;
        _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] =
            _mm512_add_ps(a[j], _mm512_i32gather_ps(iu, vu + j * nlu, 4));
        continue;
      }
      idx = greedy_idx512(T, t, xt, D, gnan);
    } else {
      int leaf[LANES];
      tree_leaves(T, t, D, C, X, Xc, leaf);
      idx = _mm512_loadu_si512(leaf);
    }
    if (d <= 4) {
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] = _mm512_add_ps(
          a[j], _mm512_permutexvar_ps(idx, _mm512_loadu_ps(v + j * nl)));
    } else if (d == 5) {
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] = _mm512_add_ps(
          a[j], _mm512_permutex2var_ps(_mm512_loadu_ps(v + j * nl), idx,
                                       _mm512_loadu_ps(v + j * nl + 16)));
    } else { /* too many leaves for a permute: gather */
      _Pragma("GCC unroll 8") for (int j = 0; j < KC; j++) a[j] =
          _mm512_add_ps(a[j], _mm512_i32gather_ps(idx, v + j * nl, 4));
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
  /* Greedy trees: a missing code (-1) has NaN bits (see greedy_top512). */
  const int gnan = nan || block_has_nan(xt + D * LANES, LANES * C);
  for (int k0 = 0; k0 < K; k0 += 8) {
    switch (K - k0 >= 8 ? 8 : K - k0) {
#define CASE(n)                                                                \
  case n:                                                                      \
    avx512_chunk(T, K, D, C, X, Xc, xt, nan, gnan, start, stop, k0, n, acc);   \
    break;
      CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)
#undef CASE
    }
  }
  for (int s = 0; s < LANES; s++)
    for (int k = 0; k < K; k++)
      out[s * K + k] = acc[k * LANES + s];
}

/* Leaf index of greedy tree t (numeric splits only) in the 8 lanes whose
 * transposed features start at xt (stride 16), as greedy_idx512: levels 0-3
 * (15 nodes) permute registers, deeper levels gather. */
__attribute__((target("avx2"), always_inline)) static inline __m256i
greedy_idx256(const uint32_t *sp, const float *th, int d, const float *xt,
              int nan) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i fmask = _mm256_set1_epi32(0xFFFFFF);
  const __m256i pass = _mm256_set1_epi32((int)(BRL_SPLIT_PASS << 24));
  const __m256i dleft = _mm256_set1_epi32((int)(BRL_SPLIT_DEFAULT_LEFT << 24));
  if (d == 0) /* a constant: leaf 0 */
    return _mm256_setzero_si256();
  const unsigned fl0 = BRL_SPLIT_FLAGS(sp[0]);
  __m256 x = _mm256_loadu_ps(xt + BRL_SPLIT_FEATURE(sp[0]) * LANES);
  __m256 right = _mm256_cmp_ps(x, _mm256_set1_ps(th[0]), _CMP_NLE_UQ);
  if (fl0 & BRL_SPLIT_PASS)
    right = _mm256_setzero_ps();
  else if (nan && (fl0 & BRL_SPLIT_DEFAULT_LEFT))
    right = _mm256_and_ps(right, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
  /* an all-ones lane is -1: r*2 - (-1) appends the bit */
  __m256i r =
      _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_castps_si256(right));
  for (int l = 1; l < d; l++) {
    const int base = (1 << l) - 1;
    __m256i w;
    __m256 thr;
    if (l <= 3) { /* up to 8 nodes: one register, masked */
      const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(1 << l), lane);
      w = _mm256_permutevar8x32_epi32(
          _mm256_maskload_epi32((const int *)sp + base, in), r);
      thr = _mm256_permutevar8x32_ps(_mm256_maskload_ps(th + base, in), r);
    } else {
      w = _mm256_i32gather_epi32((const int *)sp + base, r, 4);
      thr = _mm256_i32gather_ps(th + base, r, 4);
    }
    const __m256i xi = _mm256_add_epi32(
        _mm256_slli_epi32(_mm256_and_si256(w, fmask), 4), lane);
    x = _mm256_i32gather_ps(xt, xi, 4);
    __m256i rt = _mm256_castps_si256(_mm256_cmp_ps(x, thr, _CMP_NLE_UQ));
    rt = _mm256_andnot_si256(
        _mm256_cmpeq_epi32(_mm256_and_si256(w, pass), pass), rt);
    if (nan)
      rt = _mm256_andnot_si256(
          _mm256_and_si256(
              _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)),
              _mm256_cmpeq_epi32(_mm256_and_si256(w, dleft), dleft)),
          rt);
    r = _mm256_sub_epi32(_mm256_slli_epi32(r, 1), rt);
  }
  return r;
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
    const unsigned tf = T->flags[t];
    const float *v = T->value + (int64_t)T->leaf_off[t] * K;
    const uint32_t *sp = T->split + T->split_off[t];
    const float *th = T->threshold + T->split_off[t];
    __m256i idx[2];
    if (tf == BRL_TREE_OBLIVIOUS) {
      idx[0] = idx[1] = _mm256_setzero_si256();
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
    } else if (tf == 0) {
      for (int h = 0; h < 2; h++)
        idx[h] = greedy_idx256(sp, th, d, xt + 8 * h, nan);
    } else { /* categorical splits */
      int leaf[LANES];
      tree_leaves(T, t, D, C, X, Xc, leaf);
      for (int k = 0; k < K; k++)
        for (int s = 0; s < LANES; s++)
          acc[k * LANES + s] += v[k * nl + leaf[s]];
      continue;
    }
    if (d > 4) { /* too many leaves for a permute: gather */
      for (int k = 0; k < K; k++)
        for (int h = 0; h < 2; h++) {
          __m256 a = _mm256_loadu_ps(acc + k * LANES + 8 * h);
          __m256 r = _mm256_i32gather_ps(v + k * nl, idx[h], 4);
          _mm256_storeu_ps(acc + k * LANES + 8 * h, _mm256_add_ps(a, r));
        }
      continue;
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
