/* Ensemble prediction on the GPU: one thread per sample, trees in chunks
 * staged in shared memory (every thread of a block reads the same tree,
 * so split loads are broadcasts), features read from a transposed copy of
 * X (coalesced). Each output adds the leaf values tree after tree in the
 * model's order, as the CPU does, so the results are identical bit for
 * bit. */
#include "cuda/cuda_emu_compat.h"
#include "cuda/cuda_internal.h"

#include <stdint.h>

typedef long long i64;

#define PT 256          /* threads per block */
#define SPT 4           /* samples per thread */
#define TILE (PT * SPT) /* samples per block */
#define XS (TILE + 1)   /* stride of the staged features (no bank conflicts) */
#define KC 4            /* outputs accumulated in registers per pass */

/* model.h's split flags */
#define SPLIT_DEFAULT_LEFT 1u
#define SPLIT_PASS 2u
#define SPLIT_CAT 4u
#define TREE_OBLIVIOUS 1u

/* predict.h: brl__goes_right, for a sample whose numeric features are
 * x[f * xs] and categorical codes xc[c * cs]. */
__device__ __forceinline__ int goes_right(uint32_t sp, float thr,
                                          const float *x, i64 xs,
                                          const int32_t *xc, i64 cs, int D) {
  const unsigned fl = sp >> 24;
  const int f = (int)(sp & 0xFFFFFFu);
  if (fl & (SPLIT_CAT | SPLIT_PASS)) {
    if (fl & SPLIT_PASS)
      return 0;
    const int32_t c = xc[(i64)(f - D) * cs];
    return c < 0 ? !(fl & SPLIT_DEFAULT_LEFT) : c != __float_as_int(thr);
  }
  const float v = x[(i64)f * xs];
  int right = !(v <= thr);
  if (right && v != v)
    right = !(fl & SPLIT_DEFAULT_LEFT);
  return right;
}

/* A block handles TILE samples (SPT per thread) through every tree. Shared
 * memory: the current chunk of trees (p.smem bytes), then, when p.staged,
 * the tile's features (transposed, stride XS). */
__global__ void __launch_bounds__(PT, 4) k_predict(brl_cu_predict p) {
  BRL_CU_DYN_SHARED(unsigned char, smem);
  const int tid = threadIdx.x, K = p.K, D = p.D, C = p.C;
  const i64 base = (i64)blockIdx.x * TILE;
  const int cnt = p.n - base < TILE ? (int)(p.n - base) : TILE;
  /* Sample j of this thread: features x0[j * PT + f * xs]. */
  const float *x0;
  const int32_t *c0;
  i64 xs = p.n, cs = p.n;
  if (p.staged) {
    float *sx = (float *)(smem + p.smem);
    int32_t *sc = (int32_t *)(sx + (i64)D * XS);
    for (int e = tid; e < cnt * D; e += PT)
      sx[(e % D) * XS + e / D] = p.X[base * D + e];
    for (int e = tid; e < cnt * C; e += PT)
      sc[(e % C) * XS + e / C] = p.Xc[base * C + e];
    xs = cs = XS;
    x0 = sx + tid;
    c0 = sc + tid;
  } else {
    x0 = p.Xt + base + tid;
    c0 = p.Xct + base + tid;
  }
  for (int kc = 0; kc < K; kc += KC) {
    const int kn = K - kc < KC ? K - kc : KC;
    float acc[SPT][KC];
#pragma unroll
    for (int j = 0; j < SPT; j++)
#pragma unroll
      for (int k = 0; k < KC; k++)
        acc[j][k] = tid + j * PT < cnt && k < kn
                        ? p.out[(base + tid + j * PT) * K + kc + k]
                        : 0.0f;
    for (int c = 0; c < p.n_chunks; c++) {
      const int32_t *ch = p.chunks + 8 * c;
      const int t0 = ch[0], t1 = ch[1], fits = ch[6];
      const i64 s0 = ch[2], s1 = ch[3], l0 = ch[4], l1 = ch[5];
      const uint32_t *sp = p.split;
      const float *th = p.thr, *val = p.value;
      const int32_t *hdr = 0;
      i64 soff = 0, loff = 0;
      __syncthreads(); /* staged features ready, previous chunk done */
      if (fits) {
        /* splits, thresholds, values, then per tree: depth | flags << 8,
         * first split, first leaf (relative to the chunk) */
        uint32_t *ssp = (uint32_t *)smem;
        float *sth = (float *)(ssp + (s1 - s0));
        float *sval = sth + (s1 - s0);
        int32_t *shdr = (int32_t *)(sval + (l1 - l0) * K);
        for (int e = tid; e < s1 - s0; e += PT) {
          ssp[e] = p.split[s0 + e];
          sth[e] = p.thr[s0 + e];
        }
        for (i64 e = tid; e < (l1 - l0) * K; e += PT)
          sval[e] = p.value[l0 * K + e];
        for (int e = tid; e < t1 - t0; e += PT) {
          shdr[3 * e] = p.depth[t0 + e] | p.flags[t0 + e] << 8;
          shdr[3 * e + 1] = (int32_t)(p.split_off[t0 + e] - s0);
          shdr[3 * e + 2] = (int32_t)(p.leaf_off[t0 + e] - l0);
        }
        __syncthreads();
        sp = ssp;
        th = sth;
        val = sval;
        hdr = shdr;
        soff = s0;
        loff = l0;
      }
      for (int t = t0; t < t1; t++) {
        int d;
        unsigned tf;
        i64 so, lo;
        if (hdr) {
          const int32_t *h = hdr + 3 * (t - t0);
          d = h[0] & 0xFF;
          tf = (unsigned)h[0] >> 8;
          so = h[1];
          lo = h[2];
        } else {
          d = __ldg(p.depth + t);
          tf = __ldg(p.flags + t);
          so = (i64)__ldg(p.split_off + t) - soff;
          lo = (i64)__ldg(p.leaf_off + t) - loff;
        }
        const int nl = 1 << d;
        int leaf[SPT];
        if (tf & TREE_OBLIVIOUS) {
#pragma unroll
          for (int j = 0; j < SPT; j++)
            leaf[j] = 0;
          for (int l = 0; l < d; l++) {
            const uint32_t sv = sp[so + l];
            const float tv = th[so + l];
#pragma unroll
            for (int j = 0; j < SPT; j++)
              leaf[j] = (leaf[j] << 1) |
                        goes_right(sv, tv, x0 + j * PT, xs, c0 + j * PT, cs, D);
          }
        } else {
#pragma unroll
          for (int j = 0; j < SPT; j++) {
            int node = 0;
            for (int l = 0; l < d; l++)
              node = 2 * node + 1 +
                     goes_right(sp[so + node], th[so + node], x0 + j * PT, xs,
                                c0 + j * PT, cs, D);
            leaf[j] = node - (nl - 1);
          }
        }
        const float *v = val + lo * K + (i64)kc * nl;
#pragma unroll
        for (int j = 0; j < SPT; j++)
#pragma unroll
          for (int k = 0; k < KC; k++)
            if (k < kn)
              acc[j][k] += v[(i64)k * nl + leaf[j]];
      }
    }
#pragma unroll
    for (int j = 0; j < SPT; j++)
      if (tid + j * PT < cnt)
#pragma unroll
        for (int k = 0; k < KC; k++)
          if (k < kn)
            p.out[(base + tid + j * PT) * K + kc + k] = acc[j][k];
  }
}

/* X (n x D) -> Xt (D x n). */
__global__ void k_transpose(const float *X, float *Xt, i64 n, int D) {
  const i64 stride = (i64)gridDim.x * PT;
  for (i64 e = (i64)blockIdx.x * PT + threadIdx.x; e < n * D; e += stride)
    Xt[(e % D) * n + e / D] = X[e];
}

__global__ void k_transpose_i(const int32_t *X, int32_t *Xt, i64 n, int D) {
  const i64 stride = (i64)gridDim.x * PT;
  for (i64 e = (i64)blockIdx.x * PT + threadIdx.x; e < n * D; e += stride)
    Xt[(e % D) * n + e / D] = X[e];
}

/* out (n x K) = bias, or 0 when bias is NULL. */
__global__ void k_fill_rows(float *out, const float *bias, i64 n, int K) {
  const i64 stride = (i64)gridDim.x * PT;
  for (i64 e = (i64)blockIdx.x * PT + threadIdx.x; e < n * K; e += stride)
    out[e] = bias ? bias[e % K] : 0.0f;
}

extern "C" int brl__cu_fill_rows(float *out, const float *bias, int64_t n,
                                 int K, void *stream) {
  const i64 ne = n * K;
  if (ne <= 0)
    return 0;
  const int b = (int)((ne + PT - 1) / PT < 4096 ? (ne + PT - 1) / PT : 4096);
  BRL_CU_LAUNCH(k_fill_rows, b, PT, 0, (cudaStream_t)stream, out, bias, n, K);
  return (int)cudaGetLastError();
}

extern "C" int brl__cu_predict_init(int smem_bytes) {
  return (int)cudaFuncSetAttribute(
      k_predict, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
}

extern "C" int brl__cu_predict_stage_bytes(int D, int C) {
  return (D + C) * XS * 4;
}

extern "C" int brl__cu_predict_launch(const brl_cu_predict *pp, float *Xt,
                                      int32_t *Xct, void *stream) {
  const brl_cu_predict p = *pp;
  cudaStream_t st = (cudaStream_t)stream;
  const i64 blocks = (p.n + TILE - 1) / TILE;
  const i64 nd = p.n * p.D, nc = p.n * p.C;
  int smem = p.smem;
  if (p.staged) {
    smem += brl__cu_predict_stage_bytes(p.D, p.C);
  } else {
    const int tb = (int)((nd + PT - 1) / PT < 4096 ? (nd + PT - 1) / PT : 4096);
    const int cb = (int)((nc + PT - 1) / PT < 4096 ? (nc + PT - 1) / PT : 4096);
    if (nd)
      BRL_CU_LAUNCH(k_transpose, tb, PT, 0, st, p.X, Xt, p.n, p.D);
    if (nc)
      BRL_CU_LAUNCH(k_transpose_i, cb, PT, 0, st, p.Xc, Xct, p.n, p.C);
  }
  BRL_CU_LAUNCH(k_predict, (int)blocks, PT, smem, st, p);
  return (int)cudaGetLastError();
}
