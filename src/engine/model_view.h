/* The engine's read-only view of a model, for the layers that translate a
 * trained model into something else (src/export): its parameters and its
 * flat tree arrays as const pointers, valid while the model is not changed.
 * It is the one engine header those layers may include
 * (scripts/check_arch.py); the model's own struct stays in model.h.
 *
 * Storage (the full story in model.h): every tree is a complete binary tree
 * of its own depth d. An oblivious tree has d splits, one per level; a
 * greedy tree has 2^d - 1 split nodes in heap order (children of node i are
 * 2i+1 and 2i+2), where a node that did not split is a pass-through (every
 * sample goes left). Leaves are numbered by their path, the root's decision
 * the most significant bit, 1 = right. Leaf values are output-major per
 * tree: value[leaf_off[t] * K + k * 2^d + leaf], already multiplied by
 * -learning rate (prediction is bias + a sum). */
#ifndef BRL_ENGINE_MODEL_VIEW_H
#define BRL_ENGINE_MODEL_VIEW_H

#include "boostrl.h"

#include <stdint.h>

#define BRL_SPLIT_DEFAULT_LEFT 1u /* missing values go left */
#define BRL_SPLIT_PASS 2u         /* greedy node that did not split */
#define BRL_SPLIT_CAT 4u          /* categorical: left when x == code */
#define BRL_SPLIT_FLAG_MASK 7u
/* A split packs its feature (24 bits) and flags (top 8 bits) in a uint32. */
#define BRL_SPLIT_FEATURE(s) ((int)((s)&0xFFFFFFu))
#define BRL_SPLIT_FLAGS(s) ((unsigned)((s) >> 24))
#define BRL_SPLIT_PACK(f, fl) ((uint32_t)(f) | ((uint32_t)(fl) << 24))
#define BRL_TREE_OBLIVIOUS 1u
#define BRL_TREE_HAS_CAT 2u /* at least one categorical split */
#define BRL_TREE_FLAG_MASK 3u

/* The float that stores a categorical split's code, and back. */
static inline float brl__code_to_thr(int32_t c) {
  union {
    int32_t i;
    float f;
  } u = {c};
  return u.f;
}
static inline int32_t brl__thr_to_code(float t) {
  union {
    float f;
    int32_t i;
  } u = {t};
  return u.i;
}

typedef struct brl_model_view {
  const brl_params *p;
  int n_outputs;     /* K */
  int n_feat;        /* numeric + categorical features */
  const float *bias; /* K */
  /* The trees, as brl_trees stores them. */
  int n;                     /* trees */
  const uint8_t *depth;      /* per tree */
  const uint8_t *flags;      /* per tree: BRL_TREE_* */
  const uint32_t *split_off; /* per tree + 1: first split of tree t */
  const uint32_t *leaf_off;  /* per tree + 1: first leaf of tree t */
  const uint32_t *split;     /* per split: BRL_SPLIT_PACK(feature, flags) */
  const float *threshold;    /* per split: left when x <= threshold (numeric)
                                or x == code (categorical: the code's bits) */
  const float *gain;         /* per split */
  const float *value;        /* per leaf x K, output-major within a tree */
  const float *cover;        /* per leaf */
} brl_model_view;

/* Fills v from m (no allocation, no change to m). */
void brl__model_view(const brl_model *m, brl_model_view *v);

#endif
