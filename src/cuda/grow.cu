/* Tree growth on the GPU: the algorithm of src/engine/tree_grow.c, split.c
 * and hist.c, level by level, with the batch resident on the device.
 *
 * Kernels per tree (depth L): prep, quant, root histogram, then per level
 * split + partition (+ the next level's histograms), then finish: 3L + 3
 * launches on one stream, no host synchronisation inside the step. Kernels
 * that find the step over (a level without a split sets ctl->stop) return
 * at once.
 *
 * Parity with the CPU: histograms are int64 sums of the same fixed-point
 * gradients (integer atomics, exact in any order); every score is computed
 * by one thread with the same double operations in the same order as the
 * CPU (this file is compiled with --fmad=false); where the CPU sums doubles
 * over nodes or bins (oblivious level scores) one thread adds them in the
 * CPU's order; ties go to the candidate the CPU meets first. */
#include "cuda/cuda_emu_compat.h"
#include "cuda/cuda_internal.h"

#include <stdint.h>

typedef long long i64;
typedef unsigned long long u64;

#define T BRL_CU_THREADS
#define NW (T / 32)
#define FULL 0xFFFFFFFFu

__device__ __forceinline__ void add_i64(i64 *p, i64 v) {
  atomicAdd((u64 *)p, (u64)v);
}

/* Inclusive block-wide sum of v over threads (exact, integers); *total gets
 * the sum over the block. Every thread of the block must call it. */
__device__ i64 scan_sum(i64 v, i64 *total) {
  __shared__ i64 wsum[NW];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  for (int o = 1; o < 32; o <<= 1) {
    i64 y = __shfl_up_sync(FULL, v, o);
    if (lane >= o)
      v += y;
  }
  if (lane == 31)
    wsum[w] = v;
  __syncthreads();
  i64 pre = 0, tot = 0;
  for (int j = 0; j < NW; j++) {
    i64 x = wsum[j];
    if (j < w)
      pre += x;
    tot += x;
  }
  __syncthreads();
  *total = tot;
  return v + pre;
}

/* Inclusive block-wide max of v. */
__device__ int scan_max(int v) {
  __shared__ int wmax[NW];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  for (int o = 1; o < 32; o <<= 1) {
    int y = __shfl_up_sync(FULL, v, o);
    if (lane >= o && y > v)
      v = y;
  }
  if (lane == 31)
    wmax[w] = v;
  __syncthreads();
  for (int j = 0; j < w; j++)
    v = wmax[j] > v ? wmax[j] : v;
  __syncthreads();
  return v;
}

/* The last block of a grid to arrive returns 1 (after all other blocks'
 * writes are visible); it resets the counter when it is done. */
__device__ int arrive_last(brl_cu_ctl *ctl, unsigned total) {
  __shared__ int s_last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned prev = atomicAdd(&ctl->counter, 1u);
    s_last = prev == total - 1;
  }
  __syncthreads();
  if (s_last)
    __threadfence();
  return s_last;
}

/* Score of a node that does not split (split.c: brl__node_score). */
__device__ double node_score(const i64 *tot, int K, int l2) {
  i64 n = __ldcg(tot);
  if (n <= 0)
    return 0.0;
  double acc = 0.0;
  for (int k = 0; k < K; k++) {
    double v = (double)__ldcg(tot + 1 + k);
    acc += v * v;
  }
  acc /= (double)n;
  return l2 ? acc : sqrt(acc);
}

/* One pass over the columns of a node's feature slice (nb value bins and
 * the missing slot, S int64 each): thread t gathers the left totals of
 * candidate t and accumulates |S_L|^2 and |S_R|^2 in the CPU's order
 * (split.c: gather + score_candidates), without (v = 0) and with (v = 1)
 * the missing slot on the left. */
struct col_out {
  i64 cnt_t; /* count of bin t */
  i64 cntL;  /* left count without the missing slot */
  i64 M0;    /* count of missing values */
  i64 tot0;  /* node count */
  double tl[2], tr[2];
  double ns; /* sum over k of tot_k^2 (node score) */
};

__device__ void column_pass(const i64 *sl, int nb, int S, int cat, i64 *tot_out,
                            col_out &o) {
  const int t = threadIdx.x;
  o.tl[0] = o.tl[1] = o.tr[0] = o.tr[1] = 0.0;
  o.ns = 0.0;
  for (int s = 0; s < S; s++) {
    i64 v = t < nb ? sl[(i64)t * S + s] : 0;
    i64 total;
    i64 inc = scan_sum(v, &total);
    i64 L = cat ? v : inc;
    i64 M = sl[(i64)nb * S + s];
    i64 tot = total + M;
    if (tot_out && t == 0)
      tot_out[s] = tot;
    if (s == 0) {
      o.cnt_t = v;
      o.cntL = L;
      o.M0 = M;
      o.tot0 = tot;
      continue;
    }
    double p = (double)tot;
    double a0 = (double)L, a1 = (double)(L + M);
    double b0 = p - a0, b1 = p - a1;
    o.tl[0] += a0 * a0;
    o.tr[0] += b0 * b0;
    o.tl[1] += a1 * a1;
    o.tr[1] += b1 * b1;
    o.ns += p * p;
  }
}

/* Score and validity of candidate variant v (split.c: score_candidates). */
__device__ void cand_score(const col_out &o, int v, int l2, double min_leaf,
                           int need_both, double *score, int *bad) {
  double nl = (double)(o.cntL + (v ? o.M0 : 0));
  double nr = (double)o.tot0 - nl;
  double sc = o.tl[v] / (nl > 1.0 ? nl : 1.0) + o.tr[v] / (nr > 1.0 ? nr : 1.0);
  if (!l2)
    sc = sqrt(sc);
  *score = sc;
  *bad = ((nl > 0.0) & (nl < min_leaf)) | ((nr > 0.0) & (nr < min_leaf)) |
         (need_both & ((nl <= 0.0) | (nr <= 0.0)));
}

/* Block-wide argmax of (score, key): the highest score, ties to the
 * smallest key (the candidate the CPU meets first); key < 0: none. aux
 * travels with the winner. The result is in thread 0. */
__device__ void block_argmax(double &best, int &key, i64 &aux) {
  __shared__ double r_sc[NW];
  __shared__ int r_key[NW];
  __shared__ i64 r_aux[NW];
  const int t = threadIdx.x;
  for (int s = 16; s > 0; s >>= 1) {
    double ob = __shfl_down_sync(FULL, best, s);
    int ok = __shfl_down_sync(FULL, key, s);
    i64 oa = __shfl_down_sync(FULL, aux, s);
    if (ok >= 0 && (key < 0 || ob > best || (ob == best && ok < key))) {
      best = ob;
      key = ok;
      aux = oa;
    }
  }
  if ((t & 31) == 0) {
    r_sc[t >> 5] = best;
    r_key[t >> 5] = key;
    r_aux[t >> 5] = aux;
  }
  __syncthreads();
  if (t == 0)
    for (int w = 1; w < NW; w++) {
      double ob = r_sc[w];
      int ok = r_key[w];
      if (ok >= 0 && (key < 0 || ob > best || (ob == best && ok < key))) {
        best = ob;
        key = ok;
        aux = r_aux[w];
      }
    }
  __syncthreads();
}

/* Node i's slice of feature f at level l (nb + 1 slots x S), derived
 * from its parent and its sibling when its histogram is derived (the
 * subtraction trick; written back for the next level), and staged in
 * shared memory sh when given (one coalesced read; the column passes then
 * read shared memory). Every thread of the block must call it. */
__device__ const i64 *load_slice(const brl_cu_grow &g, int l, int i, int f,
                                 i64 *sh) {
  const int lv = l & 1;
  const i64 off = g.hoff[f] * g.S;
  const int ns = (g.nbins[f] + 1) * g.S;
  i64 *h = g.hist[lv] + (i64)i * g.H + off;
  __syncthreads(); /* the previous slice is no longer read */
  if (l > 0 && g.kind[lv][i] == BRL_CU_HIST_DERIVED) {
    const i64 *par = g.hist[lv ^ 1] + (i64)(i >> 1) * g.H + off;
    const i64 *sib = g.hist[lv] + (i64)(i ^ 1) * g.H + off;
    for (int e = threadIdx.x; e < ns; e += T) {
      i64 v = par[e] - sib[e];
      h[e] = v;
      if (sh)
        sh[e] = v;
    }
  } else if (sh) {
    for (int e = threadIdx.x; e < ns; e += T)
      sh[e] = h[e];
  }
  __syncthreads();
  return sh ? sh : h;
}

/* ---------------------------------------------------------------- prep */

/* Transforms the gradients as brl__grad_quantize does and finds
 * the largest magnitudes (exact: max is order-independent); zeroes the
 * root histogram and the leaf sums; sets up the root node. */
__global__ void k_prep(brl_cu_grow g) {
  __shared__ unsigned smax[256];
  __shared__ u64 wmax[NW];
  const int tid = threadIdx.x;
  for (int k = tid; k < g.K; k += T)
    smax[k] = 0;
  __syncthreads();
  const i64 gt = (i64)blockIdx.x * T + tid, stride = (i64)gridDim.x * T;
  const i64 nk = (i64)g.n * g.K;
  double amax = 0.0;
  for (i64 e = gt; e < nk; e += stride) {
    int k = (int)(e % g.K);
    float gv = g.grad[e];
    double v = ((double)gv - g.mean[k]) / g.sd[k] * g.wk[k];
    float t = (float)v;
    double a = fabs((double)t);
    amax = a > amax ? a : amax;
    atomicMax(&smax[k], __float_as_uint(fabsf(gv)));
  }
  for (i64 e = gt; e < g.H; e += stride)
    g.hist[0][e] = 0;
  const i64 nl = (i64)1 << g.maxd;
  for (i64 e = gt; e < nl * g.K; e += stride)
    g.leaf_sum[e] = 0;
  for (i64 e = gt; e < nl; e += stride)
    g.leaf_cnt[e] = 0;
  if (gt == 0) {
    g.begin[0][0] = 0;
    g.end[0][0] = g.n;
    g.state[0][0] = BRL_CU_ACTIVE;
    g.kind[0][0] = BRL_CU_HIST_BUILT;
  }
  /* Non-negative doubles order like their bit patterns. */
  u64 bits = (u64)__double_as_longlong(amax);
  for (int o = 16; o > 0; o >>= 1) {
    u64 y = __shfl_down_sync(FULL, bits, o);
    bits = y > bits ? y : bits;
  }
  if ((tid & 31) == 0)
    wmax[tid >> 5] = bits;
  __syncthreads();
  if (tid == 0) {
    u64 b = 0;
    for (int w = 0; w < NW; w++)
      b = wmax[w] > b ? wmax[w] : b;
    if (b)
      atomicMax(&g.ctl->maxabs_bits, b);
  }
  for (int k = tid; k < g.K; k += T)
    if (smax[k])
      atomicMax(&g.rmax_bits[k], smax[k]);
}

/* Number of bits c with 2^c >= n + 1 (as brl__fixed_bits). */
__device__ int count_bits(i64 n) {
  int c = 0;
  while (((i64)1 << c) < n + 1)
    c++;
  return c;
}

/* Fixed point: split gradients as brl__grad_quantize (scale 2^(62-c) /
 * max), leaf gradients with the engine's power-of-two scale per column. Resets positions
 * and node ids. */
__global__ void k_quant(brl_cu_grow g) {
  __shared__ double rs[256];
  const int tid = threadIdx.x;
  const int c = count_bits(g.n);
  const double maxabs = __longlong_as_double((i64)g.ctl->maxabs_bits);
  const int any = maxabs > 0.0;
  const double scale = any ? ldexp(1.0, 62 - c) / maxabs : 1.0;
  for (int k = tid; k < g.K; k += T)
    rs[k] = g.rs_in[k]; /* the engine's (brl__fixed_scale) */
  __syncthreads();
  const i64 gt = (i64)blockIdx.x * T + tid, stride = (i64)gridDim.x * T;
  if (gt == 0)
    g.ctl->scale = scale;
  if (gt < g.K)
    g.rscale[gt] = rs[gt];
  const i64 nk = (i64)g.n * g.K;
  for (i64 e = gt; e < nk; e += stride) {
    int k = (int)(e % g.K);
    float gv = g.grad[e];
    double v = ((double)gv - g.mean[k]) / g.sd[k] * g.wk[k];
    float t = (float)v;
    g.qgrad[e] = any ? __double2ll_rn((double)t * scale) : 0;
    g.qraw[e] = __double2ll_rn((double)gv * rs[k]);
  }
  for (i64 p = gt; p < g.n; p += stride) {
    g.pos[0][p] = (int32_t)p;
    g.nid[p] = 0;
  }
}

/* ----------------------------------------------------------- histograms */

/* Histograms of one work item (a node's rows [begin, end)) for one tile
 * (features [f0, f1), columns [s0, s1)) in shared memory, then added to
 * the node's histogram in global memory. root: the items are the chunks of
 * [0, n) of node 0. */
__global__ void k_hist(brl_cu_grow g, int level, int root) {
  BRL_CU_DYN_SHARED(i64, sh);
  const int tid = threadIdx.x, item = blockIdx.x;
  int node, begin, end;
  if (root) {
    node = 0;
    begin = item * g.chunk;
    end = begin + g.chunk < g.n ? begin + g.chunk : g.n;
    if (begin >= g.n)
      return;
  } else {
    if (g.ctl->stop || item >= g.ctl->n_items)
      return;
    node = g.items[3 * item];
    begin = g.items[3 * item + 1];
    end = g.items[3 * item + 2];
  }
  const int32_t *tl = g.tiles + 4 * blockIdx.y;
  const int f0 = tl[0], f1 = tl[1], s0 = tl[2], s1 = tl[3];
  const int SW = s1 - s0;
  const i64 slot0 = g.hoff[f0];
  const int ne = (int)(g.hoff[f1] - slot0) * SW;
  for (int e = tid; e < ne; e += T)
    sh[e] = 0;
  __syncthreads();
  const int32_t *pos = g.pos[level & 1];
  for (int p = begin + tid; p < end; p += T) {
    const int32_t mb = pos[p];
    const i64 row = g.use_rows ? g.rows[mb] : mb;
    const uint8_t *cr = g.codes + row * g.d;
    const i64 *q = g.qgrad + (i64)mb * g.K;
    for (int f = f0; f < f1; f++) {
      i64 *slot = sh + (int)(__ldg(g.hoff + f) - slot0 + cr[f]) * SW;
      int s = s0;
      if (s == 0) {
        add_i64(slot, 1);
        s = 1;
      }
      for (; s < s1; s++)
        add_i64(slot + (s - s0), q[s - 1]);
    }
  }
  __syncthreads();
  i64 *h = g.hist[level & 1] + (i64)node * g.H;
  for (int e = tid; e < ne; e += T) {
    i64 v = sh[e];
    if (v)
      add_i64(h + (slot0 + e / SW) * g.S + s0 + e % SW, v);
  }
}

/* --------------------------------------------------------------- greedy */

/* Sets up the children of level l's nodes and the next level's histogram
 * work list (one thread). */
__device__ void plan_next(const brl_cu_grow &g, int l) {
  const int nx = (l + 1) & 1, nc = 2 << l;
  int n_items = 0;
  if (!g.ctl->stop && l + 1 < g.maxd)
    for (int c = 0; c < nc; c++) {
      if (g.kind[nx][c] != BRL_CU_HIST_BUILT)
        continue;
      for (int b = g.begin[nx][c], e = g.end[nx][c]; b < e; b += g.chunk) {
        g.items[3 * n_items] = c;
        g.items[3 * n_items + 1] = b;
        g.items[3 * n_items + 2] = b + g.chunk < e ? b + g.chunk : e;
        n_items++;
      }
    }
  g.ctl->n_items = n_items;
  g.ctl->counter = 0;
}

/* Children of node i of level l: split at mid (positions [b0, mid) go
 * left), or all to the left child (split = 0, state st). */
__device__ void set_children(const brl_cu_grow &g, int l, int i, int split,
                             int mid, uint8_t st) {
  const int lv = l & 1, nx = lv ^ 1;
  const int b0 = g.begin[lv][i], e0 = g.end[lv][i];
  const int c0 = 2 * i, c1 = 2 * i + 1;
  if (split) {
    g.state[nx][c0] = mid > b0 ? BRL_CU_ACTIVE : BRL_CU_EMPTY;
    g.state[nx][c1] = e0 > mid ? BRL_CU_ACTIVE : BRL_CU_EMPTY;
    int sm = (mid - b0 <= e0 - mid) ? c0 : c1;
    g.kind[nx][sm] = BRL_CU_HIST_BUILT;
    g.kind[nx][sm ^ 1] = BRL_CU_HIST_DERIVED;
  } else {
    mid = e0;
    g.state[nx][c0] = st;
    g.state[nx][c1] = BRL_CU_EMPTY;
    g.kind[nx][c0] = BRL_CU_HIST_NONE;
    g.kind[nx][c1] = BRL_CU_HIST_NONE;
  }
  g.begin[nx][c0] = b0;
  g.end[nx][c0] = mid;
  g.begin[nx][c1] = mid;
  g.end[nx][c1] = e0;
  g.cursor[c0] = 0;
  g.cursor[c1] = 0;
}

/* Best split of each (node, feature) of level l (grid: features x nodes);
 * the last block picks each node's best over features (split.c:
 * brl__best_node_split, tree_grow.c: greedy_level). */
__global__ void k_split_greedy(brl_cu_grow g, int l) {
  BRL_CU_DYN_SHARED(i64, ssl);
  __shared__ int s_go, s_nsplit;
  const int f = blockIdx.x, i = blockIdx.y, t = threadIdx.x;
  const int lv = l & 1;
  if (t == 0)
    s_go = !g.ctl->stop && g.state[lv][i] == BRL_CU_ACTIVE;
  __syncthreads();
  double best = 0.0;
  int key = -1;
  i64 bnl = 0;
  if (s_go) {
    const int nb = g.nbins[f];
    const i64 *sl = load_slice(g, l, i, f, g.slice_smem ? ssl : 0);
    const int cat = f >= g.D;
    col_out o;
    column_pass(sl, nb, g.S, cat, f == 0 ? g.node_tot + (i64)i * g.S : 0, o);
    const float fw = g.fw[f];
    if (nb >= 2 && fw > 0.0f && t < nb - 1 && (cat || t == 0 || o.cnt_t)) {
      /* dl = 1 (missing left, variant 1) first, then dl = 0 if there are
       * missing values (the CPU's order). */
      for (int dl = 1; dl >= 0; dl--) {
        if (dl == 0 && !(o.M0 > 0))
          break;
        double sc;
        int bad;
        cand_score(o, dl, g.l2, (double)g.min_leaf, 1, &sc, &bad);
        if (bad)
          continue;
        sc = sc * (double)fw;
        if (key < 0 || sc > best) {
          best = sc;
          key = t * 2 + (dl ? 0 : 1);
          bnl = o.cntL + (dl ? o.M0 : 0);
        }
      }
    }
    block_argmax(best, key, bnl);
  }
  if (t == 0) {
    const i64 r = (i64)i * g.d + f;
    g.rec_key[r] = key;
    g.rec_score[r] = best;
    g.rec_nl[r] = bnl;
  }
  if (!arrive_last(g.ctl, gridDim.x * gridDim.y))
    return;
  /* The last block: each node's decision. */
  if (t == 0)
    s_nsplit = 0;
  __syncthreads();
  const int nn = 1 << l;
  for (int j = t; j < nn; j += T) {
    const int hi = nn - 1 + j;
    uint8_t st = g.state[lv][j];
    int split = 0, bf = 0, bk = 0;
    i64 bn = 0;
    double gain = 0.0;
    if (st == BRL_CU_ACTIVE) {
      const i64 *tot = g.node_tot + (i64)j * g.S;
      if (__ldcg(tot) >= 2) {
        int found = 0;
        double bs = 0.0;
        for (int ff = 0; ff < g.d; ff++) {
          const i64 r = (i64)j * g.d + ff;
          int k = __ldcg(g.rec_key + r);
          if (k < 0)
            continue;
          double sc = __ldcg(g.rec_score + r);
          if (!found || sc > bs) {
            found = 1;
            bs = sc;
            bf = ff;
            bk = k;
            bn = __ldcg(g.rec_nl + r);
          }
        }
        if (found) {
          gain = bs - node_score(tot, g.K, g.l2);
          split = gain > 0.0;
        }
      }
      if (!split)
        st = BRL_CU_FROZEN;
    }
    g.dec_split[hi] = (uint8_t)split;
    g.dec_feat[hi] = bf;
    g.dec_bin[hi] = bk >> 1;
    g.dec_dl[hi] = (uint8_t) !(bk & 1);
    g.dec_gain[hi] = gain;
    set_children(g, l, j, split, g.begin[lv][j] + (int)bn, st);
    if (split)
      atomicAdd(&s_nsplit, 1);
  }
  __syncthreads();
  if (t == 0) {
    if (s_nsplit == 0)
      g.ctl->stop = 1;
    else
      g.ctl->depth = l + 1;
    plan_next(g, l);
  }
}

/* ------------------------------------------------------------ oblivious */

/* One feature per block: adds every node's score changes between
 * consecutive candidates in node order (split.c: brl__level_accumulate),
 * then scans the bins in order (tree_grow.c: oblivious_level); the last
 * block picks the level's split. */
__global__ void k_split_obl(brl_cu_grow g, int l) {
  BRL_CU_DYN_SHARED(i64, ssl);
  __shared__ int s_go, s_split, s_f, s_key;
  __shared__ double ssc[2][T], gsc[2][T];
  __shared__ int sbad[2][T], spidx[T], gok[2][T];
  const int f = blockIdx.x, t = threadIdx.x;
  const int lv = l & 1, nn = 1 << l;
  if (t == 0)
    s_go = !g.ctl->stop;
  __syncthreads();
  const int nb = g.nbins[f];
  const int cat = f >= g.D;
  const float fw = g.fw[f];
  const int scan = nb >= 2;
  double ls[2] = {0.0, 0.0}, parent = 0.0;
  int bd[2] = {0, 0};
  for (int i = 0; s_go && i < nn; i++) {
    if (g.state[lv][i] != BRL_CU_ACTIVE)
      continue; /* empty: adds nothing */
    const i64 *sl = load_slice(g, l, i, f, g.slice_smem ? ssl : 0);
    col_out o;
    column_pass(sl, nb, g.S, cat, 0, o);
    if (o.tot0 > 0) {
      double acc = o.ns / (double)o.tot0;
      parent += g.l2 ? acc : sqrt(acc);
    }
    if (!scan)
      continue;
    const int exists = t < nb - 1 && (cat || t == 0 || o.cnt_t);
    double sc[2];
    int bad[2];
    for (int v = 0; v < 2; v++)
      cand_score(o, v, g.l2, (double)g.min_leaf, 0, &sc[v], &bad[v]);
    int inc = scan_max(exists ? t : -1);
    spidx[t] = inc;
    ssc[0][t] = sc[0];
    ssc[1][t] = sc[1];
    sbad[0][t] = bad[0];
    sbad[1][t] = bad[1];
    __syncthreads();
    if (exists) {
      const int p = t > 0 ? spidx[t - 1] : -1;
      for (int v = 0; v < 2; v++) {
        ls[v] += sc[v] - (p >= 0 ? ssc[v][p] : 0.0);
        bd[v] += bad[v] - (p >= 0 ? sbad[v][p] : 0);
      }
    }
    __syncthreads();
  }
  if (s_go && scan && fw > 0.0f) {
    ssc[0][t] = ls[0];
    ssc[1][t] = ls[1];
    sbad[0][t] = bd[0];
    sbad[1][t] = bd[1];
  }
  __syncthreads();
  /* The level's score of candidate (j, dl) is the running sum of the
   * node deltas over bins 0..j, added in bin order (one thread per missing
   * side); a candidate that some node rejects is out. */
  const int cand = s_go && scan && fw > 0.0f;
  if (cand && (t == 0 || t == 32)) {
    const int dl = t == 0;
    double run = 0.0;
    int rb = 0;
    for (int j = 0; j < nb - 1; j++) {
      run += ssc[dl][j];
      rb += sbad[dl][j];
      gsc[dl][j] = run * (double)fw - parent;
      gok[dl][j] = rb == 0;
    }
  }
  __syncthreads();
  double best = 0.0;
  int key = -1;
  i64 none = 0;
  if (cand && t < nb - 1)
    for (int dl = 1; dl >= 0; dl--)
      if (gok[dl][t] && (key < 0 || gsc[dl][t] > best)) {
        best = gsc[dl][t];
        key = t * 2 + (dl ? 0 : 1);
      }
  block_argmax(best, key, none);
  if (t == 0) {
    g.rec_key[f] = key;
    g.rec_score[f] = best;
  }
  if (!arrive_last(g.ctl, gridDim.x))
    return;
  if (t == 0) {
    int found = 0, bf = 0, bk = 0;
    double bs = 0.0;
    for (int ff = 0; ff < g.d; ff++) {
      int k = __ldcg(g.rec_key + ff);
      if (k < 0)
        continue;
      double sc = __ldcg(g.rec_score + ff);
      if (!found || sc > bs) {
        found = 1;
        bs = sc;
        bf = ff;
        bk = k;
      }
    }
    s_split = s_go && found && bs > 0.0;
    s_f = bf;
    s_key = bk;
    if (s_split) {
      g.dec_feat[l] = bf;
      g.dec_bin[l] = bk >> 1;
      g.dec_dl[l] = (uint8_t) !(bk & 1);
      g.dec_split[l] = 1;
      g.dec_gain[l] = bs;
      g.ctl->depth = l + 1;
    } else {
      g.ctl->stop = 1;
    }
  }
  __syncthreads();
  if (s_split) {
    const int bf = s_f, bin = s_key >> 1, dl = !(s_key & 1);
    const int bcat = bf >= g.D, bnb = g.nbins[bf];
    for (int j = t; j < nn; j += T) {
      const uint8_t st = g.state[lv][j];
      const int b0 = g.begin[lv][j], e0 = g.end[lv][j];
      if (st == BRL_CU_ACTIVE && e0 > b0) {
        const i64 *sl = g.hist[lv] + (i64)j * g.H + g.hoff[bf] * g.S;
        i64 nl = 0;
        if (bcat)
          nl = __ldcg(sl + (i64)bin * g.S);
        else
          for (int b = 0; b <= bin; b++)
            nl += __ldcg(sl + (i64)b * g.S);
        if (dl)
          nl += __ldcg(sl + (i64)bnb * g.S);
        set_children(g, l, j, 1, b0 + (int)nl, st);
      } else {
        set_children(g, l, j, 0, e0, st);
      }
    }
  }
  __syncthreads();
  if (t == 0)
    plan_next(g, l);
}

/* ------------------------------------------------------------ partition */

/* Whether batch row `row` goes left at (feature f, bin, dl) (tree_grow.c:
 * goes_left). */
__device__ __forceinline__ int goes_left(const brl_cu_grow &g, i64 row, int f,
                                         int bin, int dl) {
  const int c = g.codes[row * g.d + f];
  if (c == g.nbins[f])
    return dl;
  return f < g.D ? c <= bin : c == bin;
}

/* Moves every position of level l to its child's range and zeroes the
 * next level's built histograms. Order within a node does not matter:
 * histograms and leaf sums are integer sums. */
__global__ void k_part(brl_cu_grow g, int l) {
  if (g.ctl->stop)
    return;
  const int nx = (l + 1) & 1, lane = threadIdx.x & 31;
  const i64 gt = (i64)blockIdx.x * T + threadIdx.x, stride = (i64)gridDim.x * T;
  if (l + 1 < g.maxd)
    for (int c = 0; c < (2 << l); c++)
      if (g.kind[nx][c] == BRL_CU_HIST_BUILT) {
        i64 *h = g.hist[nx] + (i64)c * g.H;
        for (i64 e = gt; e < g.H; e += stride)
          h[e] = 0;
      }
  const int valid = gt < g.n;
  int child = 0;
  int32_t mb = 0;
  if (valid) {
    mb = g.pos[l & 1][gt];
    const int node = g.nid[mb];
    const int hi = g.greedy ? (1 << l) - 1 + node : l;
    int right = 0;
    if (g.dec_split[hi]) {
      const i64 row = g.use_rows ? g.rows[mb] : mb;
      right = !goes_left(g, row, g.dec_feat[hi], g.dec_bin[hi], g.dec_dl[hi]);
    }
    child = 2 * node + right;
  }
  /* One atomic per group of lanes going to the same child. */
  const unsigned key = valid ? (unsigned)child : 0xFFFFFFFFu;
  const unsigned peers = __match_any_sync(FULL, key);
  const int leader = __ffs(peers) - 1;
  const int rank = __popc(peers & ((1u << lane) - 1));
  int base = 0;
  if (valid && lane == leader)
    base = atomicAdd(&g.cursor[child], __popc(peers));
  base = __shfl_sync(FULL, base, leader);
  if (valid) {
    g.pos[nx][g.begin[nx][child] + base + rank] = mb;
    g.nid[mb] = child;
  }
}

/* --------------------------------------------------------------- finish */

/* Leaf counts and fixed-point sums of the raw gradients (integers: exact
 * and deterministic), and the leaf of every batch row for the prediction
 * cache. */
__global__ void k_finish(brl_cu_grow g) {
  BRL_CU_DYN_SHARED(i64, sl);
  const int tid = threadIdx.x, K = g.K;
  const int depth = g.ctl->depth;
  const int nl = 1 << depth;
  const int use_sh = g.leaf_smem > 0;
  const i64 gt = (i64)blockIdx.x * T + tid, stride = (i64)gridDim.x * T;
  if (use_sh) {
    for (int e = tid; e < nl * (K + 1); e += T)
      sl[e] = 0;
    __syncthreads();
  }
  for (i64 mb = gt; mb < g.n; mb += stride) {
    const int leaf = g.nid[mb];
    const i64 *q = g.qraw + mb * K;
    if (use_sh) {
      i64 *a = sl + (i64)leaf * (K + 1);
      add_i64(a, 1);
      for (int k = 0; k < K; k++)
        add_i64(a + 1 + k, q[k]);
    } else {
      add_i64(g.leaf_cnt + leaf, 1);
      for (int k = 0; k < K; k++)
        add_i64(g.leaf_sum + (i64)leaf * K + k, q[k]);
    }
  }
  if (use_sh) {
    __syncthreads();
    for (int e = tid; e < nl * (K + 1); e += T) {
      i64 v = sl[e];
      if (!v)
        continue;
      int leaf = e / (K + 1), s = e % (K + 1);
      add_i64(s ? g.leaf_sum + (i64)leaf * K + s - 1 : g.leaf_cnt + leaf, v);
    }
  }
  if (!g.want_leaves)
    return;
  for (i64 r = gt; r < g.N; r += stride) {
    if (!g.use_rows) {
      g.leaf16[r] = (uint16_t)g.nid[r];
      continue;
    }
    int node = 0;
    for (int l = 0; l < depth; l++) {
      const int hi = g.greedy ? (1 << l) - 1 + node : l;
      int right = 0;
      if (g.dec_split[hi])
        right = !goes_left(g, r, g.dec_feat[hi], g.dec_bin[hi], g.dec_dl[hi]);
      node = 2 * node + right;
    }
    g.leaf16[r] = (uint16_t)node;
  }
}

/* ----------------------------------------------------------------- host */

static int blocks_for(i64 work, int cap) {
  i64 b = (work + T - 1) / T;
  if (b < 1)
    b = 1;
  return (int)(b < cap ? b : cap);
}

extern "C" int brl__cu_grow_init(int smem_bytes) {
  cudaError_t e = cudaFuncSetAttribute(
      k_hist, cudaFuncAttributeMaxDynamicSharedMemorySize, smem_bytes);
  return (int)e;
}

extern "C" int brl__cu_grow_launch(const brl_cu_grow *gp, void *stream) {
  const brl_cu_grow g = *gp;
  cudaStream_t st = (cudaStream_t)stream;
  const i64 nk = (i64)g.n * g.K;
  BRL_CU_LAUNCH(k_prep, blocks_for(nk > g.H ? nk : g.H, 1024), T, 0, st, g);
  BRL_CU_LAUNCH(k_quant, blocks_for(nk, 1024), T, 0, st, g);
  const int root_items = (g.n + g.chunk - 1) / g.chunk;
  BRL_CU_LAUNCH(k_hist, dim3(root_items, g.n_tiles), T, g.tile_smem, st, g, 0,
                1);
  for (int l = 0; l < g.maxd; l++) {
    if (g.greedy)
      BRL_CU_LAUNCH(k_split_greedy, dim3(g.d, 1 << l), T, g.slice_smem, st, g,
                    l);
    else
      BRL_CU_LAUNCH(k_split_obl, g.d, T, g.slice_smem, st, g, l);
    BRL_CU_LAUNCH(k_part, (g.n + T - 1) / T, T, 0, st, g, l);
    if (l + 1 < g.maxd) {
      const int items = g.n / (2 * g.chunk) + (1 << l) + 1;
      BRL_CU_LAUNCH(k_hist, dim3(items, g.n_tiles), T, g.tile_smem, st, g,
                    l + 1, 0);
    }
  }
  const i64 fin = g.want_leaves && g.N > g.n ? g.N : g.n;
  BRL_CU_LAUNCH(k_finish, blocks_for(fin, 1024), T, g.leaf_smem, st, g);
  return (int)cudaGetLastError();
}
