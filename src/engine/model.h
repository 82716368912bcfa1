/* Internal layout of a model: parameters, bias, and the trees stored as flat
 * structure-of-arrays that grow by doubling.
 *
 * Every tree is a complete binary tree of its own depth d (d <= max_depth):
 *  - an oblivious tree has d splits, one per level;
 *  - a greedy tree has 2^d - 1 split nodes in heap order (children of node i
 *    are 2i+1 and 2i+2); a node that did not split is a pass-through
 *    (threshold +inf, missing to the left), so every sample goes left.
 * Leaves are numbered by their path, root decision as the most significant
 * bit, 1 = right. Leaf values are stored output-major per tree:
 * leaf_value[leaf_off[t] * K + k * n_leaves + leaf], already multiplied by
 * -learning rate (so prediction is a sum). */
#ifndef BRL_ENGINE_MODEL_H
#define BRL_ENGINE_MODEL_H

#include "boostrl.h"

#include <stdint.h>

/* The split and tree flags and their packing: model_view.h. */
#include "engine/model_view.h"

struct brl_backend;

typedef struct brl_trees {
  int n, cap;          /* trees stored / allocated */
  uint8_t *depth;      /* per tree */
  uint8_t *flags;      /* per tree: BRL_TREE_OBLIVIOUS */
  uint32_t *split_off; /* per tree + 1: first split of tree t */
  uint32_t *leaf_off;  /* per tree + 1: first leaf of tree t */
  int64_t split_cap, leaf_cap;
  uint32_t *split;  /* per split: feature and flags (BRL_SPLIT_PACK) */
  float *threshold; /* per split: go left when x <= threshold (numeric) or
                       x == code (categorical, the code's bits) */
  float *gain;      /* per split: score gain (feature importance) */
  float *value;     /* per leaf x K, output-major within a tree */
  float *cover;     /* per leaf: training samples that reached it */
  int n_lr;         /* Adam: groups whose rates are kept per tree */
  float *lr;        /* Adam: per tree x n_lr, each group's rate */
} brl_trees;

/* Append-only dictionary of one categorical column (catdict.c). */
typedef struct brl_catdict {
  int32_t n, cap; /* strings / allocated */
  char **str;     /* code -> string */
  int32_t *slot;  /* open-addressing hash: code + 1, 0 = empty */
  int32_t n_slot; /* a power of two */
} brl_catdict;

struct brl_model {
  brl_params p;
  int n_outputs;
  int n_feat;             /* numeric + categorical features */
  brl_catdict *dicts;     /* n_cat_features dictionaries */
  float *bias;            /* n_outputs */
  float *feature_weights; /* n_features */
  uint8_t *col_group;     /* n_outputs: group of each output column */
  brl_trees trees;
  uint64_t generation; /* changes whenever predictions change other than
                          by appending trees (bias, truncate, load) */
  uint64_t uid;        /* identity for batch caches */
  const struct brl_backend *backend;
};

/* Number of splits and leaves of a tree of depth d. */
static inline int64_t brl__tree_splits(int oblivious, int d) {
  return oblivious ? d : ((int64_t)1 << d) - 1;
}
static inline int64_t brl__tree_leaves(int d) { return (int64_t)1 << d; }

/* Reserves room for one more tree with `splits` splits and `leaves` leaves
 * (K outputs). */
int brl__trees_reserve(brl_trees *t, int K, int64_t splits, int64_t leaves);
/* Appends the tree whose arrays were written at the end (after reserve). */
void brl__trees_commit(brl_trees *t, int depth, int oblivious, int64_t splits,
                       int64_t leaves);
void brl__trees_free(brl_trees *t);
/* Appends one tree to m, copying the arrays: depth d (0..max_depth),
 * oblivious or greedy, splits packed with BRL_SPLIT_PACK (d or 2^d - 1 of
 * them), thresholds (categorical: brl__code_to_thr(code)), gains, leaf
 * values (K x 2^d, output-major), covers (2^d) and, for Adam models, the
 * groups' learning rates (n_groups floats; NULL otherwise). Checks every
 * index and value as the model loader does: BRL_EFORMAT naming the tree on
 * failure, and the model is left unchanged. */
int brl__model_append_tree(brl_model *m, int depth, int oblivious,
                           const uint32_t *split, const float *thr,
                           const float *gain, const float *value,
                           const float *cover, const float *lr);
size_t brl__trees_bytes(const brl_trees *t, int K);

/* Adds trees [start, stop) to out (n x K), without bias (SGD models). */
void brl__predict_add(const brl_model *m, const float *X, const int32_t *Xc,
                      int64_t n, int start, int stop, float *out,
                      int force_scalar);
/* Adam models: runs trees [start, stop) with moments mv (n x K x 2, zero
 * before tree 0) over out (n x K), updating both. */
void brl__predict_adam(const brl_model *m, const float *X, const int32_t *Xc,
                       int64_t n, int start, int stop, float *out, double *mv);

/* Leaf of tree t for sample x (xc: its categorical codes). */
int brl__tree_leaf(const brl_model *m, int t, const float *x,
                   const int32_t *xc);
void brl__catdict_free(brl_catdict *d);
int brl__catdict_add(brl_catdict *d, const char *s, int32_t *code);
int32_t brl__catdict_find(const brl_catdict *d, const char *s);

/* Learning rate of output column k's group for the next tree. */
float brl__column_lr(const brl_model *m, int k, float progress);

#endif
