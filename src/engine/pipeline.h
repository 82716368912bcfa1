/* The engine's steps of one boosting step, the same on every device:
 * the reduce hook, the gradient transform, leaf values, tree assembly and
 * the prediction cache's bookkeeping. A backend does the device work in
 * between (histograms, split scores, partitions) and calls these. */
#ifndef BRL_ENGINE_PIPELINE_H
#define BRL_ENGINE_PIPELINE_H

#include "engine/batch.h"
#include "engine/model.h"

/* The reduce step: with no communicator, or one of size 1, the identity;
 * otherwise the elementwise sum (max) over the ranks, in place. Every
 * global quantity a split or leaf decision uses passes through these. */
int brl__reduce_sum_i64(brl_comm *c, int64_t *data, int64_t n);
int brl__reduce_max_f64(brl_comm *c, double *data, int64_t n);
/* 1 when c joins more than one rank. */
int brl__comm_multi(const brl_comm *c);

/* The number of bits c with 2^c >= n + 1: a sum of n fixed-point values
 * below 2^(62-c) each cannot overflow an int64. */
int brl__fixed_bits(int64_t n);
/* The power-of-two fixed-point scale of a column whose largest magnitude
 * is maxabs, for sums over n_total rows (1 when maxabs is 0). */
double brl__fixed_scale(float maxabs, int64_t n_total);

/* The transform of one step's gradients: brl_grad_xform (engine/batch.h). */

/* Columns of the transform from grads (n x K, finite) over all ranks of c:
 * the row count, each column's largest magnitude (its leaf scale) and, for
 * L2, its mean and deviation from exact fixed-point sums (the same result
 * for any split of the rows between ranks). Collective when c joins
 * several ranks. */
int brl__grad_columns(const brl_model *m, brl_comm *c, const float *grads,
                      int64_t n, brl_grad_xform *x);
/* Split gradients: tgrad = the transform (float), qgrad = llrint(tgrad *
 * scale) with scale = 2^(62 - bits(n_total)) / (largest |tgrad| over all
 * ranks), so no histogram sum overflows. Sets x->scale. Collective. */
int brl__grad_quantize(const brl_model *m, brl_comm *c, const float *grads,
                       int64_t n, brl_grad_xform *x, float *tgrad,
                       int64_t *qgrad);
/* Adds the fixed-point leaf gradients of positions pos[begin, end) (rows
 * of grads by minibatch index) into sum (K int64). */
void brl__leaf_accumulate(const brl_grad_xform *x, int K, const float *grads,
                          const int32_t *pos, int64_t begin, int64_t end,
                          int64_t *sum);

/* A grown tree before it is stored: a device's decisions in bins. */
typedef struct brl_tree_draft {
  int depth;     /* levels grown */
  int oblivious; /* one split per level, else 2^depth - 1 heap nodes */
  /* per split (brl__tree_splits(oblivious, depth)): feature, bin, missing
   * side, whether the node splits (greedy; NULL: all do), gain in score
   * units (greedy gains already rounded to float) */
  const int32_t *feat, *bin;
  const uint8_t *dl, *split;
  const double *gain;
  double to_real; /* score units -> gain units */
  /* per leaf (2^depth): count over all ranks and K fixed-point gradient
   * sums (leaf-major), in the scales of the transform */
  const int64_t *leaf_cnt, *leaf_sum;
} brl_tree_draft;

/* The stored form of a split on (feature, bin) of batch b. */
void brl__split_value(const brl_batch *b, int f, int bin, int dl, float *thr,
                      uint8_t *flags);
/* Room for one more tree of the largest size m can grow (before any
 * collective, so that assembly cannot fail on one rank only). */
int brl__tree_reserve_max(brl_model *m);
/* Leaf values (-lr * mean gradient, or the raw mean and the groups' rates
 * for Adam) and the stored tree: appends the draft to m. */
void brl__tree_assemble(brl_model *m, const brl_batch *b,
                        const brl_grad_xform *x, const brl_tree_draft *t,
                        float progress);

/* The prediction cache after a step: adds the last tree of m to the cache
 * of b, from leaf[0..b->n) (the leaf of every batch row, computed by the
 * backend during growth) when given, else through the backend's
 * predict_add. */
int brl__cache_add_last(brl_batch *b, const brl_model *m, const uint16_t *leaf);

#endif
