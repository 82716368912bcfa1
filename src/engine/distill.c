/* Distillation of a model into fewer trees, one student tree per
 * consecutive group of teacher trees (see brl_model_distill in boostrl.h).
 *
 * Why groups: a sum of many trees is a rough step function, and a student
 * fitted to it with quantile bins puts its splits between the teacher's
 * steps, so what it learns on the fitted rows does not carry over to new
 * ones. Tree i fits the residual that the teacher's first i groups leave,
 * with candidates at exactly the thresholds of group i (and the teacher's
 * most consequential earlier ones), so every cell it learns is a cell of
 * the teacher. */
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"
#include "engine/split_edges.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check(const brl_model *s, const brl_model *t, const float *X,
                 const int32_t *Xc, int64_t n, int n_trees,
                 const float *group_weight) {
  BRL_CHECK_ARG(s);
  BRL_CHECK_ARG(t);
  if (s == t)
    return brl__fail(BRL_EINVAL, "the student and the teacher are the same "
                                 "model: distil into a new one");
  if (s->p.n_features != t->p.n_features ||
      s->p.n_cat_features != t->p.n_cat_features ||
      s->p.n_groups != t->p.n_groups)
    return brl__fail(BRL_EINVAL,
                     "the student has %d+%d features and %d output groups, "
                     "the teacher %d+%d and %d: they must match",
                     s->p.n_features, s->p.n_cat_features, s->p.n_groups,
                     t->p.n_features, t->p.n_cat_features, t->p.n_groups);
  for (int g = 0; g < s->p.n_groups; g++)
    if (s->p.groups[g].n_outputs != t->p.groups[g].n_outputs)
      return brl__fail(BRL_EINVAL,
                       "output group %d has %d outputs in the student and %d "
                       "in the teacher",
                       g, s->p.groups[g].n_outputs, t->p.groups[g].n_outputs);
  if (s->trees.n != 0)
    return brl__fail(BRL_EINVAL,
                     "the student has %d trees: distil into a model with "
                     "none",
                     s->trees.n);
  if (s->p.optimizer != BRL_OPTIMIZER_SGD)
    return brl__fail(BRL_EUNSUPPORTED,
                     "the student uses Adam: distillation fits leaves to "
                     "residuals, which needs the SGD optimizer");
  if (n_trees < 1)
    return brl__fail(BRL_EINVAL, "n_trees is %d: distil into 1 or more trees",
                     n_trees);
  if (n < 1 || n > INT32_MAX)
    return brl__fail(BRL_EINVAL, "n_rows is %lld: give 1 to 2^31-1 rows",
                     (long long)n);
  if (s->p.n_features > 0)
    BRL_CHECK_ARG(X);
  if (s->p.n_cat_features > 0)
    BRL_CHECK_ARG(Xc);
  for (int g = 0; group_weight && g < s->p.n_groups; g++)
    if (!(group_weight[g] >= 0 && isfinite(group_weight[g])))
      return brl__fail(BRL_EINVAL,
                       "group_weight[%d] is %g: use a finite weight >= 0", g,
                       (double)group_weight[g]);
  return BRL_OK;
}

/* Teacher outputs of trees [0, stop) into acc (n x K), which holds those
 * of trees [0, start): only the new trees are added, except for Adam
 * teachers, whose trees depend on all before them. */
static int teacher_prefix(const brl_model *t, const float *X, const int32_t *Xc,
                          int64_t n, int start, int stop, float *acc,
                          float *tmp) {
  const int64_t nk = n * t->n_outputs;
  if (t->p.optimizer == BRL_OPTIMIZER_ADAM || start == 0)
    return brl_model_predict_cat(t, X, Xc, n, 0, stop, acc);
  int rc = brl_model_predict_cat(t, X, Xc, n, start, stop, tmp);
  for (int64_t i = 0; !rc && i < nk; i++)
    acc[i] += tmp[i];
  return rc;
}

/* Per-column weight of the split scores: each group's weight over the
 * spread of its targets Y (n x K), so that no group drowns the others. */
static void column_weights(const brl_model *m, const float *Y, int64_t n,
                           const float *gw, const float *bias, float *colw) {
  const int K = m->n_outputs;
  for (int g = 0, c0 = 0; g < m->p.n_groups;
       c0 += m->p.groups[g].n_outputs, g++) {
    const int nk = m->p.groups[g].n_outputs;
    double ss = 0;
    for (int64_t i = 0; i < n; i++)
      for (int k = c0; k < c0 + nk; k++)
        ss +=
            ((double)Y[i * K + k] - bias[k]) * ((double)Y[i * K + k] - bias[k]);
    const double spread = sqrt(ss / ((double)n * nk));
    const double w = gw ? (gw[g] > 1e-6 ? gw[g] : 1e-6) : 1.0;
    for (int k = c0; k < c0 + nk; k++)
      colw[k] = (float)(spread > 1e-12 ? w / spread : 1.0);
  }
}

int brl_model_distill(brl_model *student, const brl_model *teacher,
                      const float *X, const int32_t *X_cat, int64_t n_rows,
                      int n_trees, const float *group_weight,
                      brl_target_fn target, void *ctx) {
  int rc = check(student, teacher, X, X_cat, n_rows, n_trees, group_weight);
  if (rc)
    return rc;
  brl_model *m = student;
  const brl_model *t = teacher;
  const int K = m->n_outputs, D = m->p.n_features, Tt = t->trees.n;
  const int64_t n = n_rows, nk = n_rows * K;
  float *acc = malloc((size_t)nk * sizeof(float));
  float *tmp = malloc((size_t)nk * sizeof(float));
  float *tgt = malloc((size_t)nk * sizeof(float));
  float *S = malloc((size_t)nk * sizeof(float));
  float *g = malloc((size_t)nk * sizeof(float));
  float *colw = malloc((size_t)K * sizeof(float));
  float *bias = malloc((size_t)K * sizeof(float));
  float *edges = malloc((size_t)D * BRL_MAX_EDGES * sizeof(float) + 1);
  int *ne = malloc((size_t)D * sizeof(int) + 1);
  brl_edge_rank rank;
  memset(&rank, 0, sizeof rank);
  float lr0[BRL_MAX_GROUPS], lr1[BRL_MAX_GROUPS];
  int lr_set = 0;
  brl_batch *b = NULL;
  if (!acc || !tmp || !tgt || !S || !g || !colw || !bias || !edges || !ne) {
    rc = brl__fail(BRL_ENOMEM, "out of memory distilling %lld rows",
                   (long long)n);
    goto done;
  }
  /* The student starts at the mean of the final targets. */
  if ((rc = brl_model_predict_cat(t, X, X_cat, n, 0, -1, tgt)))
    goto done;
  if (target)
    target(ctx, tgt, n);
  for (int k = 0; k < K; k++) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
      sum += tgt[i * K + k];
    bias[k] = (float)(sum / (double)n);
  }
  for (int64_t i = 0; i < nk; i++)
    if (!isfinite(tgt[i])) {
      rc = brl__fail(BRL_ENUMERIC,
                     "the target of row %lld, output %d is not finite",
                     (long long)(i / K), (int)(i % K));
      goto done;
    }
  column_weights(m, tgt, n, group_weight, bias, colw);
  if ((rc = brl_model_set_bias(m, bias)))
    goto done;
  /* Leaves take lr x the mean residual although the split gradients are
   * the residuals times colw: the rates are divided by colw meanwhile. */
  for (int gi = 0, c0 = 0; gi < m->p.n_groups;
       c0 += m->p.groups[gi].n_outputs, gi++) {
    lr0[gi] = m->p.groups[gi].lr;
    lr1[gi] = m->p.groups[gi].lr_end;
    const float r = (float)((double)lr0[gi] / colw[c0]);
    if ((rc = brl_model_set_group_lr(m, gi, r, r)))
      goto done;
  }
  lr_set = 1;
  if ((rc = brl__edge_rank_build(t, X, X_cat, n, colw, &rank)))
    goto done;
  for (int64_t i = 0; i < nk; i++)
    S[i] = bias[i % K];
  for (int it = 0; it < n_trees; it++) {
    const int t0 = (int)((int64_t)it * Tt / n_trees);
    const int t1 = (int)((int64_t)(it + 1) * Tt / n_trees);
    if ((rc = teacher_prefix(t, X, X_cat, n, t0, t1, acc, tmp)))
      goto done;
    memcpy(tgt, acc, (size_t)nk * sizeof(float));
    if (target)
      target(ctx, tgt, n);
    for (int64_t i = 0; i < nk; i++)
      g[i] = (S[i] - tgt[i]) * colw[i % K];
    brl__select_edges(t, &rank, t0, t1, t1, edges, ne);
    rc = b ? brl__batch_rebin(b, m, edges, ne)
           : brl_batch_create_edges(m, X, X_cat, n, edges, ne, &b);
    if (rc || (rc = brl_model_step(m, b, NULL, n, g, 0.0f)))
      goto done;
    /* The new tree's outputs (tree 0's come with the bias). */
    if ((rc = brl_model_predict_cat(m, X, X_cat, n, it, it + 1, tmp)))
      goto done;
    for (int64_t i = 0; i < nk; i++)
      S[i] = it == 0 ? tmp[i] : S[i] + tmp[i];
  }
done:
  for (int gi = 0; lr_set && gi < m->p.n_groups; gi++)
    brl_model_set_group_lr(m, gi, lr0[gi], lr1[gi]);
  brl_batch_free(&b);
  free(acc);
  free(tmp);
  free(tgt);
  free(S);
  free(g);
  free(colw);
  free(bias);
  free(edges);
  free(ne);
  brl__edge_rank_free(&rank);
  return rc;
}
