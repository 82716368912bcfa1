/* The read-only model view (model_view.h). */
#include "engine/model_view.h"
#include "engine/model.h"

void brl__model_view(const brl_model *m, brl_model_view *v) {
  const brl_trees *T = &m->trees;
  *v = (brl_model_view){.p = &m->p,
                        .n_outputs = m->n_outputs,
                        .n_feat = m->n_feat,
                        .bias = m->bias,
                        .n = T->n,
                        .depth = T->depth,
                        .flags = T->flags,
                        .split_off = T->split_off,
                        .leaf_off = T->leaf_off,
                        .split = T->split,
                        .threshold = T->threshold,
                        .gain = T->gain,
                        .value = T->value,
                        .cover = T->cover};
}
