/* Distillation of a model into fewer trees, one student tree per group of
 * alike teacher trees (see brl_model_distill in boostrl.h).
 *
 * Why groups: a sum of many trees is a rough step function, and a student
 * fitted to it with quantile bins puts its splits between the teacher's
 * steps, so what it learns on the fitted rows does not carry over to new
 * ones. Tree i fits the residual that the teacher's first i groups leave,
 * with candidates at exactly the thresholds of group i (and the teacher's
 * most consequential earlier ones), so every cell it learns is a cell of
 * the teacher; and a group holds trees that split alike, so that one
 * student tree can hold their sum. */
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

/* Groups of alike trees: the teacher's trees ordered by their split
 * signature (the features of their splits in storage order, then the
 * thresholds), so that a group holds trees that split on the same features
 * at nearby thresholds, whose sum one student tree can hold far better
 * than that of trees taken in training order. A sum of SGD trees does not
 * depend on their order (Adam's does: its teachers keep theirs). */
typedef struct sig {
  const brl_trees *T;
  int t;
} sig;

static int cmp_sig(const void *a, const void *b) {
  const sig *p = a, *q = b;
  const brl_trees *T = p->T;
  const int64_t sx = T->split_off[p->t], nx = T->split_off[p->t + 1] - sx;
  const int64_t sy = T->split_off[q->t], ny = T->split_off[q->t + 1] - sy;
  const int64_t n = nx < ny ? nx : ny;
  for (int64_t i = 0; i < n; i++) {
    const int fx = BRL_SPLIT_FEATURE(T->split[sx + i]);
    const int fy = BRL_SPLIT_FEATURE(T->split[sy + i]);
    if (fx != fy)
      return fx < fy ? -1 : 1;
  }
  if (nx != ny)
    return nx < ny ? -1 : 1;
  for (int64_t i = 0; i < n; i++) {
    const float x = T->threshold[sx + i], y = T->threshold[sy + i];
    if (x != y)
      return x < y ? -1 : 1;
  }
  return (p->t > q->t) - (p->t < q->t);
}

/* A copy of t with its trees in signature order. */
static int sorted_copy(const brl_model *t, brl_model **out) {
  *out = NULL;
  const brl_trees *T = &t->trees;
  const int K = t->n_outputs;
  brl_model *m = NULL;
  sig *ord = malloc((size_t)T->n * sizeof(sig) + 1);
  int rc = ord ? brl_model_create(&t->p, &m)
               : brl__fail(BRL_ENOMEM, "out of memory ordering %d trees", T->n);
  if (!rc)
    rc = brl_model_set_bias(m, t->bias);
  for (int i = 0; i < T->n && ord; i++)
    ord[i] = (sig){T, i};
  if (!rc)
    qsort(ord, (size_t)T->n, sizeof(sig), cmp_sig);
  for (int i = 0; !rc && i < T->n; i++) {
    const int s = ord[i].t;
    const int64_t s0 = T->split_off[s], l0 = T->leaf_off[s];
    rc = brl__model_append_tree(m, T->depth[s],
                                (T->flags[s] & BRL_TREE_OBLIVIOUS) != 0,
                                T->split + s0, T->threshold + s0, T->gain + s0,
                                T->value + l0 * K, T->cover + l0, NULL);
  }
  free(ord);
  if (rc) {
    brl_model_free(&m);
    return rc;
  }
  *out = m;
  return BRL_OK;
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
  brl_model *sorted = NULL;
  if (teacher->p.optimizer != BRL_OPTIMIZER_ADAM) {
    if ((rc = sorted_copy(teacher, &sorted)))
      return rc;
    t = sorted;
  }
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
  brl_model_free(&sorted);
  return rc;
}
