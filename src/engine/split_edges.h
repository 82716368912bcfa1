/* Split candidates at another model's thresholds (for distillation). */
#ifndef BRL_ENGINE_SPLIT_EDGES_H
#define BRL_ENGINE_SPLIT_EDGES_H

#include "engine/model.h"

typedef struct brl_thr_score {
  float thr;
  double score;
  int64_t count; /* splits at this threshold: breaks ties of equal scores */
  int32_t first; /* the first tree that splits there */
} brl_thr_score;

/* Every split of a model scored over rows X: how far the split's tree
 * moves its outputs (weighted by col_weight, n_outputs) for the rows next
 * to the threshold when the split decides the other way; and per numeric
 * feature its distinct thresholds ranked best first (scores summed). */
typedef struct brl_edge_rank {
  double *score;          /* per split, in storage order (0: not numeric) */
  brl_thr_score *ranked;  /* feature f: [off[f], off[f + 1]) */
  int64_t *off;           /* n_features + 1 */
  brl_thr_score *scratch; /* for brl__select_edges */
} brl_edge_rank;

int brl__edge_rank_build(const brl_model *m, const float *X,
                         const int32_t *X_cat, int64_t n_rows,
                         const float *col_weight, brl_edge_rank *r);
void brl__edge_rank_free(brl_edge_rank *r);

/* Edges of every numeric feature (brl_batch_create_edges' layout): the
 * best-scored thresholds of trees [start, stop), then, while a feature has
 * room, the best ranked thresholds first used by a tree before
 * fill_stop. */
void brl__select_edges(const brl_model *m, const brl_edge_rank *r, int start,
                       int stop, int fill_stop, float *edges, int *n_edges);

#endif
