/* Internal interface between the CUDA backend's host glue (cuda_backend.c,
 * C11) and its kernels (grow.cu, predict.cu). Plain C structs of device
 * pointers and shapes, passed to the kernels by value.
 *
 * Tree growth on the device does the device steps of the engine's pipeline
 * (src/engine/pipeline.h, tree_grow.c's level loop) with the engine's
 * gradient transform (its column statistics and leaf scales come from the
 * host):
 * the same int64 fixed-point split gradients, histograms of (count, K sums)
 * per (node, feature, bin) accumulated with integer atomics (exact, so
 * order-independent), the same candidate scores computed with the same
 * double operations in the same order (nvcc --fmad=false), the same
 * tie-breaking. Leaf sums use a second fixed point of the raw gradients
 * (a power-of-two scale per column), so they too are exact and
 * deterministic. */
#ifndef BRL_CUDA_INTERNAL_H
#define BRL_CUDA_INTERNAL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Node states, as in tree_grow.c. */
enum { BRL_CU_ACTIVE = 0, BRL_CU_FROZEN = 1, BRL_CU_EMPTY = 2 };
/* How a node's histogram is obtained. */
enum { BRL_CU_HIST_NONE = 0, BRL_CU_HIST_BUILT = 1, BRL_CU_HIST_DERIVED = 2 };

/* Threads per block of the growth kernels: one thread per histogram slot of
 * a feature (at most 255 value bins + the missing code). */
#define BRL_CU_THREADS 256

/* Control block in device memory: initialized by the host at each step
 * (one copy with the step's inputs) and read back with the results. */
typedef struct brl_cu_ctl {
  int32_t stop;     /* a level found no split: later kernels do nothing */
  int32_t depth;    /* levels grown */
  int32_t n_items;  /* work items of the next histogram build */
  uint32_t counter; /* blocks done (last-block reduction) */
  unsigned long long maxabs_bits; /* max |transformed gradient| (bits) */
  double scale;                   /* fixed-point scale of split gradients */
} brl_cu_ctl;

/* Everything the growth kernels need. */
typedef struct brl_cu_grow {
  /* shapes */
  int n;           /* rows of this step (minibatch) */
  int N;           /* rows of the batch */
  int d, D, K, S;  /* features, numeric features, outputs, K + 1 */
  int maxd;        /* max depth */
  int l2, greedy;  /* split score, grow policy */
  int min_leaf;    /* min_data_in_leaf */
  int use_rows;    /* rows[] maps minibatch index -> batch row */
  int want_leaves; /* write the leaf of every batch row to leaf16 */
  int chunk;       /* rows per histogram work item */
  int n_tiles;     /* histogram tiles (feature x column ranges) */
  int tile_smem;   /* bytes of shared memory of the largest tile */
  int leaf_smem;   /* bytes of shared memory for leaf sums (0: global) */
  int slice_smem;  /* bytes of shared memory for a node-feature histogram
                      slice in the split kernels (0: read global memory) */
  int64_t H;       /* int64 per node histogram: hslots * S */
  /* batch data (uploaded once) */
  const uint8_t *codes; /* N x d */
  const int64_t *hoff;  /* d + 1 */
  const int16_t *nbins; /* d */
  const int32_t *tiles; /* n_tiles x 4: f0, f1, s0, s1 */
  /* step inputs */
  const int32_t *rows;
  const float *grad; /* n x K */
  /* per column: the engine's transform of the gradients (brl__grad_columns)
   * and the fixed-point scale of the leaf sums */
  const double *mean, *sd, *wk, *rs_in;
  const float *fw; /* feature weights */
  /* work */
  long long *qgrad, *qraw;     /* n x K fixed point: split and leaf gradients */
  int32_t *pos[2];             /* minibatch positions grouped by node */
  int32_t *nid;                /* node of each minibatch row at this level */
  long long *hist[2];          /* 2^(maxd-1) node histograms each */
  uint8_t *state[2], *kind[2]; /* per node of a level (double-buffered) */
  int32_t *begin[2], *end[2];  /* position range of each node */
  int32_t *cursor;             /* partition cursors, per child */
  long long *node_tot;         /* per node: count, K sums */
  double *rec_score;           /* per (node, feature) best candidate */
  int32_t *rec_key;            /* bin * 2 + (missing right), -1: none */
  long long *rec_nl;           /* left count of that candidate */
  int32_t *items;              /* histogram work items: node, begin, end */
  uint16_t *leaf16;            /* N: leaf of every batch row */
  /* results (read back) */
  brl_cu_ctl *ctl;
  uint32_t *rmax_bits; /* K: max |raw gradient| per column (float bits) */
  double *rscale;      /* K: fixed-point scale of the leaf sums */
  int32_t *dec_feat, *dec_bin; /* per split node (heap order) or level */
  uint8_t *dec_dl, *dec_split;
  double *dec_gain;
  long long *leaf_cnt, *leaf_sum; /* 2^maxd, 2^maxd x K */
} brl_cu_grow;

/* Enqueues one tree's growth on stream (a cudaStream_t). Returns a
 * cudaError_t. */
int brl__cu_grow_launch(const brl_cu_grow *g, void *stream);
/* Raises the shared-memory limit of the histogram kernel to bytes. */
int brl__cu_grow_init(int smem_bytes);

/* Everything the prediction kernel needs. Trees are processed in chunks
 * staged in shared memory: chunk c covers trees [t0, t1), splits [s0, s1)
 * and leaves [l0, l1) (chunks[c * 8 + ...]); a chunk too large for shared
 * memory (fits = 0) is read from global memory. A block's features are
 * staged in shared memory too when they fit (staged = 1, read from X and
 * Xc), else read from transposed copies (Xt, Xct). */
typedef struct brl_cu_predict {
  int64_t n;
  int D, C, K;
  int n_chunks, smem, staged;
  const int32_t *chunks; /* n_chunks x 8: t0, t1, s0, s1, l0, l1, fits, 0 */
  const uint8_t *depth, *flags;
  const uint32_t *split_off, *leaf_off, *split;
  const float *thr, *value;
  const float *X;     /* n x D */
  const int32_t *Xc;  /* n x C */
  const float *Xt;    /* D x n */
  const int32_t *Xct; /* C x n */
  float *out;         /* n x K */
} brl_cu_predict;

/* Shared memory that staging the features of a block takes. */
int brl__cu_predict_stage_bytes(int D, int C);
/* Adds trees of the chunks to out (Xt, Xct: scratch for the transposed
 * features when they are not staged). */
int brl__cu_predict_launch(const brl_cu_predict *p, float *Xt, int32_t *Xct,
                           void *stream);
int brl__cu_predict_init(int smem_bytes);
/* out (n x K, device) = the K values of bias (device) on every row, or 0
 * when bias is NULL. */
int brl__cu_fill_rows(float *out, const float *bias, int64_t n, int K,
                      void *stream);

#ifdef __cplusplus
}
#endif

#endif
