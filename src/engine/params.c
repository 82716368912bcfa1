/* Default parameters and the one place where they are checked. */
#include "core/error.h"

#include <math.h>
#include <string.h>

void brl_params_default(brl_params *p, int n_features, int n_outputs) {
  if (!p)
    return;
  memset(p, 0, sizeof *p);
  p->n_features = n_features;
  p->n_groups = 1;
  p->groups[0].n_outputs = n_outputs;
  p->groups[0].lr = 0.1f;
  p->groups[0].lr_end = 0.1f;
  p->groups[0].schedule = BRL_SCHEDULE_CONSTANT;
  p->groups[0].score_weight = 1.0f;
  p->max_depth = 4;
  p->min_data_in_leaf = 0;
  p->n_bins = 256;
  p->grow_policy = BRL_GROW_OBLIVIOUS;
  p->split_score = BRL_SCORE_COSINE;
  p->bin_method = BRL_BINS_QUANTILE;
  p->n_threads = 0;
  p->clip_nonfinite = 0;
  p->n_cat_features = 0;
  p->optimizer = BRL_OPTIMIZER_SGD;
  p->adam_beta1 = 0.9f;
  p->adam_beta2 = 0.999f;
  p->adam_eps = 1e-8f;
  p->control_variates = 0;
  p->cv_decay = 0.9f;
}

int brl_params_n_outputs(const brl_params *p) {
  if (!p || p->n_groups < 1 || p->n_groups > BRL_MAX_GROUPS)
    return 0;
  int k = 0;
  for (int g = 0; g < p->n_groups; g++)
    k += p->groups[g].n_outputs;
  return k;
}

static int bad(const char *fmt, int v) { return brl__fail(BRL_EINVAL, fmt, v); }

int brl_params_check(const brl_params *p) {
  BRL_CHECK_ARG(p);
  if (p->n_features < 0 || p->n_cat_features < 0 ||
      p->n_features + (int64_t)p->n_cat_features < 1 ||
      p->n_features + (int64_t)p->n_cat_features > (1 << 24))
    return brl__fail(BRL_EINVAL,
                     "n_features is %d and n_cat_features %d: a model needs "
                     "1 to 16777216 features in all, none negative",
                     p->n_features, p->n_cat_features);
  if (p->n_groups < 1 || p->n_groups > BRL_MAX_GROUPS)
    return bad("n_groups is %d: use 1 to 8 output groups", p->n_groups);
  int total = 0;
  for (int g = 0; g < p->n_groups; g++) {
    const brl_group *gr = &p->groups[g];
    if (gr->n_outputs < 1 || gr->n_outputs > 65536)
      return brl__fail(BRL_EINVAL,
                       "groups[%d].n_outputs is %d: each group needs 1 to "
                       "65536 output columns",
                       g, gr->n_outputs);
    total += gr->n_outputs;
    if (!(gr->lr > 0.0f) || !isfinite(gr->lr))
      return brl__fail(BRL_EINVAL,
                       "groups[%d].lr is %g: the learning rate must be a "
                       "finite number > 0",
                       g, (double)gr->lr);
    if ((int)gr->schedule < 0 || gr->schedule > BRL_SCHEDULE_LINEAR_PROGRESS)
      return brl__fail(BRL_EINVAL,
                       "groups[%d].schedule is %d: use BRL_SCHEDULE_CONSTANT, "
                       "_LINEAR_TREES or _LINEAR_PROGRESS",
                       g, (int)gr->schedule);
    if (gr->schedule != BRL_SCHEDULE_CONSTANT &&
        (!(gr->lr_end > 0.0f) || !isfinite(gr->lr_end)))
      return brl__fail(BRL_EINVAL,
                       "groups[%d].lr_end is %g: a linear schedule needs a "
                       "finite end rate > 0",
                       g, (double)gr->lr_end);
    if (gr->schedule == BRL_SCHEDULE_LINEAR_TREES && gr->schedule_trees < 1)
      return brl__fail(BRL_EINVAL,
                       "groups[%d].schedule_trees is %d: a schedule linear in "
                       "trees needs its length in trees (>= 1)",
                       g, gr->schedule_trees);
    if (!(gr->score_weight >= 0.0f) || !isfinite(gr->score_weight))
      return brl__fail(BRL_EINVAL,
                       "groups[%d].score_weight is %g: use a finite weight "
                       ">= 0",
                       g, (double)gr->score_weight);
  }
  if (total > 256)
    return bad("the groups have %d output columns in all: at most 256", total);
  if (p->max_depth < 1 || p->max_depth > BRL_MAX_DEPTH)
    return bad("max_depth is %d: use 1 to 12", p->max_depth);
  if (p->min_data_in_leaf < 0)
    return bad("min_data_in_leaf is %d: use 0 or more", p->min_data_in_leaf);
  if (p->n_bins < 2 || p->n_bins > BRL_MAX_BINS)
    return bad("n_bins is %d: use 2 to 256", p->n_bins);
  if ((int)p->grow_policy < 0 || p->grow_policy > BRL_GROW_GREEDY)
    return bad("grow_policy is %d: use BRL_GROW_OBLIVIOUS or BRL_GROW_GREEDY",
               (int)p->grow_policy);
  if ((int)p->split_score < 0 || p->split_score > BRL_SCORE_L2)
    return bad("split_score is %d: use BRL_SCORE_COSINE or BRL_SCORE_L2",
               (int)p->split_score);
  if ((int)p->bin_method < 0 || p->bin_method > BRL_BINS_UNIFORM)
    return bad("bin_method is %d: use BRL_BINS_QUANTILE or BRL_BINS_UNIFORM",
               (int)p->bin_method);
  if (p->n_threads < 0 || p->n_threads > 4096)
    return bad("n_threads is %d: use 0 (all cores) or a positive count",
               p->n_threads);
  if (p->clip_nonfinite != 0 && p->clip_nonfinite != 1)
    return bad("clip_nonfinite is %d: use 0 (reject) or 1 (clip)",
               p->clip_nonfinite);
  if (p->optimizer != BRL_OPTIMIZER_SGD && p->optimizer != BRL_OPTIMIZER_ADAM)
    return bad("optimizer is %d: use BRL_OPTIMIZER_SGD or BRL_OPTIMIZER_ADAM",
               p->optimizer);
  if (p->optimizer == BRL_OPTIMIZER_ADAM &&
      (!(p->adam_beta1 >= 0.0f && p->adam_beta1 < 1.0f) ||
       !(p->adam_beta2 >= 0.0f && p->adam_beta2 < 1.0f) ||
       !(p->adam_eps > 0.0f) || !isfinite(p->adam_eps)))
    return brl__fail(BRL_EINVAL,
                     "adam_beta1 %g, adam_beta2 %g, adam_eps %g: the betas "
                     "must be in [0, 1) and eps finite and > 0",
                     (double)p->adam_beta1, (double)p->adam_beta2,
                     (double)p->adam_eps);
  if (p->control_variates != 0 && p->control_variates != 1)
    return bad("control_variates is %d: use 0 or 1", p->control_variates);
  if (!(p->cv_decay >= 0.0f && p->cv_decay < 1.0f))
    return brl__fail(BRL_EINVAL, "cv_decay is %g: use a value in [0, 1)",
                     (double)p->cv_decay);
  return BRL_OK;
}
