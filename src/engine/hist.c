/* Gradient histograms: counts and fixed-point gradient sums per (feature,
 * bin). Integer sums are exact, so their order (threads) cannot change a
 * split. */
#include "engine/grow.h"

#include <string.h>

/* The hot loop: one pass over a node's rows, features [f0, f1). */
static void build_range(const brl_batch *b, const int32_t *rows,
                        const int64_t *qgrad, const int32_t *pos, int64_t begin,
                        int64_t end, int64_t *h, int f0, int f1) {
  const int K = b->K, d = b->d, S = K + 1;
  const int64_t *hoff = b->hoff;
  for (int64_t p = begin; p < end; p++) {
    const int32_t mb = pos[p];
    const int64_t row = rows ? rows[mb] : mb;
    const uint8_t *code = b->codes + row * d;
    const int64_t *g = qgrad + (int64_t)mb * K;
    for (int f = f0; f < f1; f++) {
      int64_t *slot = h + (hoff[f] + code[f]) * S;
      slot[0]++;
      for (int k = 0; k < K; k++)
        slot[1 + k] += g[k];
    }
  }
}

void brl__hist_build(const brl_batch *b, const int32_t *rows,
                     const int64_t *qgrad, const int32_t *pos,
                     const int64_t *begin, const int64_t *end, const int *nodes,
                     int n_nodes, int64_t **hists, int n_threads, int fa,
                     int fb) {
  const int d = fb - fa, S = b->K + 1;
  int64_t work = 0;
  for (int i = 0; i < n_nodes; i++)
    work += end[nodes[i]] - begin[nodes[i]];
  /* Threads only pay off when there is enough work (a parallel region
   * costs microseconds, and milliseconds when another process holds the
   * other cores); each thread owns a slice of features, so no two threads
   * write the same slot. */
  int nt = (work * d >= BRL_PARALLEL_MIN_WORK && n_threads > 1) ? n_threads : 1;
  if (nt > d)
    nt = d;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int t = 0; t < nt; t++) {
    int f0 = fa + (int)((int64_t)d * t / nt);
    int f1 = fa + (int)((int64_t)d * (t + 1) / nt);
    for (int i = 0; i < n_nodes; i++) {
      int64_t *h = hists[i];
      memset(h + b->hoff[f0] * S, 0,
             (size_t)(b->hoff[f1] - b->hoff[f0]) * (size_t)S * sizeof(int64_t));
      build_range(b, rows, qgrad, pos, begin[nodes[i]], end[nodes[i]], h, f0,
                  f1);
    }
  }
}

void brl__hist_subtract(const int64_t *parent, const int64_t *child,
                        int64_t *out, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    out[i] = parent[i] - child[i];
}
