/* Internal layout of a batch: quantized features, the prediction cache and
 * the workspace that tree growth reuses from step to step. */
#ifndef BRL_ENGINE_BATCH_H
#define BRL_ENGINE_BATCH_H

#include "boostrl.h"

#include <stdint.h>

/* Per-thread scratch of a feature scan (up to 255 candidates). */
typedef struct brl_scan_ws {
  int bins[256];
  int has_missing;
  double *cnt[2];   /* 256 each: left counts without / with missing */
  double *sum[2];   /* K x 256 each: left sums */
  double *tl, *tr;  /* 256 each */
  double *score[2]; /* 256 each */
  uint8_t ok[2][256];
} brl_scan_ws;

/* The transform of one step's gradients, per column: split gradients are
 * ((g - mean) / sd) * wk (mean 0 and sd 1 for cosine scores, wk the square
 * root of the group's score weight, 0 for a constant column under L2);
 * leaf sums are int64 sums of llrint(g * rscale). */
typedef struct brl_grad_xform {
  int64_t n_total; /* rows over all ranks */
  double mean[256], sd[256], wk[256], rscale[256];
  double scale; /* fixed-point scale of the split gradients */
} brl_grad_xform;

typedef struct brl_grow_ws {
  int64_t cap_grad; /* rows grad holds */
  int K_grad;       /* outputs it was sized for */
  float *grad;      /* n x K gradients after clipping (every backend) */
  /* The CPU backend's growth state, allocated at its first step. */
  int64_t cap_rows; /* rows the buffers below hold */
  int K, max_depth; /* shapes the buffers were sized for */
  int64_t hslots;   /* histogram slots they were sized for */
  float *tgrad;     /* n x K gradients transformed for split scores */
  int64_t *qgrad;   /* n x K fixed-point split gradients */
  int32_t *pos;     /* minibatch positions grouped by node */
  int32_t *tmp;     /* partition scratch */
  int64_t *node_begin, *node_end;  /* 2^max_depth + 1 */
  int64_t *child_cnt;              /* 2^max_depth: rows of each child */
  uint8_t *node_state;             /* per node: 0 active, 1 frozen, 2 empty */
  int32_t *split_feat, *split_bin; /* per node of a level that splits */
  uint8_t *split_dl;
  float *split_gain;
  /* Histograms of the levels that split: even levels in hist_a, odd ones in
   * hist_b, each sized for the deepest level of its parity */
  int64_t *hist_a, *hist_b;
  double *level_score; /* oblivious: per candidate (f, bin, dl) */
  int32_t *level_bad;  /* oblivious: nodes rejecting it */
  int64_t *leaf_q;     /* 2^max_depth counts, then 2^max_depth x K sums */
  int64_t *node_tot;   /* 2^(max_depth-1) x (K+1) node totals */
  /* the tree being grown (heap order, or per level) */
  int32_t *tree_feat, *tree_bin;
  uint8_t *tree_dl, *tree_split;
  double *tree_gain; /* score units */
  brl_scan_ws *scan; /* one per thread */
  int n_scan;
  double *scan_mem;
} brl_grow_ws;

struct brl_batch {
  int64_t n;         /* rows */
  int d, K;          /* all features, outputs of the model that made it */
  int D, C;          /* numeric and categorical features (d = D + C) */
  float *X;          /* copy of the numeric features (n x D) */
  int32_t *Xc;       /* copy of the categorical codes (n x C) */
  uint8_t *codes;    /* n x d bin codes; code nbins[f] means missing */
  float *edges;      /* D x 255: left of edge j means x <= edges[f*255 + j] */
  int32_t *cat_vals; /* C x 255: the category code of each kept bin */
  int16_t *nbins;    /* value bins per feature (edges + 1, or categories +
                        "other") */
  int64_t *hoff;     /* d + 1: first histogram slot of feature f */
  int32_t *order;    /* rebinning: D x n rows by value, NaN last (or NULL) */
  int64_t *n_finite; /* rebinning: non-NaN rows per numeric feature */
  int64_t hslots;    /* slots in one node histogram (sum of nbins + 1) */
  /* prediction cache */
  uint64_t cache_uid, cache_gen;
  int cache_trees; /* trees included; -1: empty */
  float *pred;     /* n x K */
  double *mv;      /* Adam models: n x K x 2 moments */
  float *cv_ema;   /* control variates: n x K average of past leaf values */
  brl_grow_ws ws;
  brl_grad_xform xform; /* the last step's */
  /* Sharded growth (brl_batch_set_comm): the ranks' communicator, and
   * whether the ranks' bins were found equal since it was attached. */
  brl_comm *comm;
  int comm_bins_checked;
  /* Sharded growth by gathering the minibatch (step.c): a batch with the
   * same bins holding every rank's minibatch rows, the rows it was made
   * for, and the exchange's buffer (send, then receive). Dropped when the
   * bins change. */
  struct brl_batch *gather;
  int64_t gather_cap;
  uint8_t *gather_buf;
  /* A gathered batch's growth, feature-parallel over fcomm's ranks while
   * set (tree_grow.c), and its records of the ranks' best splits:
   * (ranks + 1) x 2^(max_depth - 1) x BRL_FP_REC doubles. */
  brl_comm *fcomm;
  double *fp_rec;
  /* Backend state kept with the batch (the CUDA backend's device copy of
   * the codes and its buffers), released by dev_free(dev) when the batch is
   * freed. */
  void *dev;
  void (*dev_free)(void *dev);
};

/* Doubles of one node's best split in feature-parallel growth. */
#define BRL_FP_REC 5

/* A value of one feature and its row. */
typedef struct brl_val_row {
  float v;
  int32_t r;
} brl_val_row;

/* The rows of feature f of X (n x D) whose value is not NaN, sorted by value
 * then row, into vr (n entries); returns their number. */
int64_t brl__sort_feature(const float *X, int64_t n, int D, int f,
                          brl_val_row *vr);
/* The bin edges of one numeric feature (at most max_bins value bins,
 * strictly increasing; returns their number): quantile bins from its sorted
 * finite values v[0..n), uniform bins from its range [lo, hi]. */
int brl__quantile_edges(const float *v, int64_t n, int max_bins, float *edges);
int brl__uniform_edges(float lo, float hi, int max_bins, float *edges);

/* Sizes the step's gradient buffer for n rows of K outputs. */
int brl__grad_ws_reserve(brl_batch *b, int64_t n, int K);
/* Sizes the CPU growth workspace for n rows (no-op when already large
 * enough). */
int brl__grow_ws_reserve(brl_batch *b, int64_t n, int K, int max_depth);
/* Per-thread scan scratch for n_threads threads. */
int brl__scan_ws_reserve(brl_batch *b, int n_threads);
/* BRL_OK when b was made for m's shapes, else BRL_EINVAL naming them. */
/* Codes of categorical column c of b (bins and codes) for the keep kept
 * categories already in b->cat_vals (ascending): the shared binning of
 * brl_batch_create and the sharded fit's global bins. */
void brl__batch_code_cat(brl_batch *b, int c, int keep);
int brl__batch_check(const brl_batch *b, const brl_model *m);
/* Adds trees [start, stop) of m to the cache (which must hold [0, start))
 * through the model's backend. */
int brl__batch_cache_add(brl_batch *b, const brl_model *m, int start, int stop);
/* Re-quantizes the numeric features of b with the given edges
 * (brl_batch_create_edges' layout); the cache stays valid. */
int brl__batch_rebin(brl_batch *b, const brl_model *m, const float *edges,
                     const int *n_edges);
/* Makes pred (n x K, m's predictions for b's rows with every tree of m)
 * b's prediction cache, so that b predicts nothing until m changes. */
int brl__batch_seed_cache(brl_batch *b, const brl_model *m, const float *pred);
/* A batch of `rows` rows (codes unset, no features, n = rows) with the
 * bins of b: for growing trees from codes gathered from elsewhere. */
int brl__batch_like(const brl_batch *b, int64_t rows, brl_batch **out);
/* Brings the cache of b up to date with m. */
int brl__batch_sync(brl_batch *b, const brl_model *m);

#endif
