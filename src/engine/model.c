/* Model lifetime, accessors and learning-rate schedules. */
#include "engine/model.h"
#include "backend/backend.h"
#include "core/error.h"
#include "engine/model_io.h"
#include "engine/params.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t next_uid = 1;

int brl__model_alloc(const brl_params *p, brl_model **out) {
  *out = NULL;
  int rc = brl_params_check(p);
  if (rc)
    return rc;
  brl_model *m = calloc(1, sizeof *m);
  if (!m)
    return brl__fail(BRL_ENOMEM, "out of memory creating a model");
  m->p = *p;
  m->n_outputs = brl_params_n_outputs(p);
  m->n_feat = p->n_features + p->n_cat_features;
  m->bias = calloc((size_t)m->n_outputs, sizeof(float));
  m->feature_weights = malloc((size_t)m->n_feat * sizeof(float));
  m->col_group = malloc((size_t)m->n_outputs);
  m->dicts = calloc((size_t)p->n_cat_features + 1, sizeof(brl_catdict));
  if (p->optimizer == BRL_OPTIMIZER_ADAM)
    m->trees.n_lr = p->n_groups;
  if (!m->bias || !m->feature_weights || !m->col_group || !m->dicts) {
    brl_model_free(&m);
    return brl__fail(BRL_ENOMEM, "out of memory creating a model");
  }
  for (int f = 0; f < m->n_feat; f++)
    m->feature_weights[f] = 1.0f;
  for (int g = 0, k = 0; g < p->n_groups; g++)
    for (int j = 0; j < p->groups[g].n_outputs; j++)
      m->col_group[k++] = (uint8_t)g;
  m->uid = atomic_fetch_add(&next_uid, 1);
  m->backend = brl__backend_cpu();
  *out = m;
  return BRL_OK;
}

int brl_model_create(const brl_params *p, brl_model **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(p);
  brl_params full; /* fields newer than the caller's at their defaults */
  int rc = brl__params_in(p, &full);
  return rc ? rc : brl__model_alloc(&full, out);
}

void brl_model_free(brl_model **mp) {
  if (!mp || !*mp)
    return;
  brl_model *m = *mp;
  brl__trees_free(&m->trees);
  for (int c = 0; m->dicts && c < m->p.n_cat_features; c++)
    brl__catdict_free(&m->dicts[c]);
  free(m->dicts);
  free(m->bias);
  free(m->feature_weights);
  free(m->col_group);
  free(m);
  *mp = NULL;
}

int brl_model_params_sized(const brl_model *m, brl_params *out,
                           size_t struct_size) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  return brl__params_out(&m->p, out, struct_size);
}

int brl_model_n_trees(const brl_model *m) { return m ? m->trees.n : 0; }
int brl_model_n_outputs(const brl_model *m) { return m ? m->n_outputs : 0; }
int brl_model_n_features(const brl_model *m) { return m ? m->p.n_features : 0; }
int brl_model_n_all_features(const brl_model *m) { return m ? m->n_feat : 0; }

size_t brl_model_bytes(const brl_model *m) {
  if (!m)
    return 0;
  const brl_trees *t = &m->trees;
  /* What is allocated, not only what is used. */
  size_t bytes = sizeof *m + (size_t)m->n_outputs * (sizeof(float) + 1) +
                 (size_t)m->n_feat * sizeof(float);
  bytes += (size_t)t->cap * (2 + 2 * sizeof(uint32_t));
  bytes += (size_t)t->split_cap * (sizeof(uint32_t) + 2 * sizeof(float));
  bytes += (size_t)(t->leaf_cap ? t->leaf_cap + 16 : 0) * sizeof(float) *
           (size_t)m->n_outputs;
  bytes += (size_t)t->leaf_cap * sizeof(float);
  return bytes;
}

int brl_model_set_bias(brl_model *m, const float *bias) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(bias);
  for (int k = 0; k < m->n_outputs; k++)
    if (!isfinite(bias[k]))
      return brl__fail(BRL_ENUMERIC, "bias[%d] is not finite", k);
  memcpy(m->bias, bias, (size_t)m->n_outputs * sizeof(float));
  m->generation++;
  return BRL_OK;
}

int brl_model_get_bias(const brl_model *m, float *bias) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(bias);
  memcpy(bias, m->bias, (size_t)m->n_outputs * sizeof(float));
  return BRL_OK;
}

int brl_model_set_feature_weights(brl_model *m, const float *w) {
  BRL_CHECK_ARG(m);
  for (int f = 0; w && f < m->n_feat; f++)
    if (!(w[f] >= 0.0f) || !isfinite(w[f]))
      return brl__fail(BRL_EINVAL,
                       "feature weight %d is %g: weights must be finite and "
                       ">= 0",
                       f, (double)w[f]);
  for (int f = 0; f < m->n_feat; f++)
    m->feature_weights[f] = w ? w[f] : 1.0f;
  return BRL_OK;
}

int brl_model_set_group_lr(brl_model *m, int group, float lr, float lr_end) {
  BRL_CHECK_ARG(m);
  if (group < 0 || group >= m->p.n_groups)
    return brl__fail(BRL_EINVAL, "group %d does not exist (the model has %d)",
                     group, m->p.n_groups);
  brl_params p = m->p;
  p.groups[group].lr = lr;
  p.groups[group].lr_end = lr_end;
  int rc = brl_params_check(&p);
  if (rc)
    return rc;
  m->p = p;
  return BRL_OK;
}

int brl_model_set_threads(brl_model *m, int n_threads) {
  BRL_CHECK_ARG(m);
  if (n_threads < 0)
    return brl__fail(BRL_EINVAL, "n_threads is %d: use 0 or more", n_threads);
  m->p.n_threads = n_threads;
  return BRL_OK;
}

int brl_model_truncate(brl_model *m, int n_keep) {
  BRL_CHECK_ARG(m);
  if (n_keep < 0 || n_keep > m->trees.n)
    return brl__fail(BRL_EINVAL, "cannot keep %d trees of %d", n_keep,
                     m->trees.n);
  if (n_keep < m->trees.n) {
    m->trees.n = n_keep;
    m->generation++;
  }
  return BRL_OK;
}

float brl_model_group_lr(const brl_model *m, int group, float progress) {
  if (!m || group < 0 || group >= m->p.n_groups)
    return 0.0f;
  const brl_group *g = &m->p.groups[group];
  double t;
  switch (g->schedule) {
  case BRL_SCHEDULE_LINEAR_TREES:
    t = (double)m->trees.n / (double)g->schedule_trees;
    break;
  case BRL_SCHEDULE_LINEAR_PROGRESS:
    t = progress;
    break;
  default:
    return g->lr;
  }
  /* Clamped to [0, 1] so that the rate stays between lr and lr_end in
   * either direction (increasing schedules included). */
  if (!(t > 0.0))
    t = 0.0;
  if (t > 1.0)
    t = 1.0;
  return (float)((double)g->lr + ((double)g->lr_end - (double)g->lr) * t);
}

float brl__column_lr(const brl_model *m, int k, float progress) {
  return brl_model_group_lr(m, m->col_group[k], progress);
}
