/* Internal pieces of tree growth on the CPU: histograms, split scores and
 * the level-wise growth that uses them. */
#ifndef BRL_ENGINE_GROW_H
#define BRL_ENGINE_GROW_H

#include "engine/batch.h"
#include "engine/model.h"

/* Work (row-features, or histogram slots) below which a loop stays on one
 * thread: RL minibatches of a few hundred rows run faster without a
 * parallel region. */
#define BRL_PARALLEL_MIN_WORK (1 << 18)

/* One node's histogram: for each feature f and bin code c (the missing code
 * included), slot hoff[f] + c holds K+1 int64: the count, then the K
 * fixed-point gradient sums. */

/* Builds the histograms of the given nodes (indices into the level) from
 * minibatch positions pos[node_begin[i], node_end[i]), features [fa, fb)
 * (their slots only are written). */
void brl__hist_build(const brl_batch *b, const int32_t *rows,
                     const int64_t *qgrad, const int32_t *pos,
                     const int64_t *begin, const int64_t *end, const int *nodes,
                     int n_nodes, int64_t **hists, int n_threads, int fa,
                     int fb);
/* out = parent - child, slot by slot (the subtraction trick). */
void brl__hist_subtract(const int64_t *parent, const int64_t *child,
                        int64_t *out, int64_t n);

typedef struct brl_split_ctx {
  int K;
  int l2;       /* 1: score without the square root */
  int min_leaf; /* min_data_in_leaf */
} brl_split_ctx;

/* Score of a node that does not split, from its totals (count, sums). */
double brl__node_score(const brl_split_ctx *c, const int64_t *tot);

typedef struct brl_split {
  int feature, bin, default_left;
  double score; /* score of the split times the feature weight */
} brl_split;

/* Best split of one node over features [f0, f1) (greedy growth): the first
 * of the highest score in feature order. Returns 0 when no valid split
 * exists. tot: the node totals (K+1). */
int brl__best_node_split(const brl_split_ctx *c, const brl_batch *b,
                         const int64_t *hist, const int64_t *tot,
                         const float *fweight, int f0, int f1, brl_scan_ws *sw,
                         brl_split *out);
/* Adds one node's score for every candidate (feature, bin, default side)
 * of features [f0, f1) to the level's scores, as differences between
 * consecutive bins (prefix sums give the scores); the same for the count of
 * nodes that reject a candidate (oblivious growth). */
void brl__level_accumulate(const brl_split_ctx *c, const brl_batch *b,
                           const int64_t *hist, const int64_t *tot, int f0,
                           int f1, brl_scan_ws *sw, double *level_delta,
                           int32_t *bad_delta);

/* Grows one tree (CPU backend). */
int brl__cpu_grow_tree(brl_model *m, brl_batch *b, const int32_t *rows,
                       int64_t n, const float *grads, float progress);

#endif
