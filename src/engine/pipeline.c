/* The engine's steps of one boosting step (engine/pipeline.h): the reduce
 * hook, the gradient transform, leaf values and tree assembly. */
#include "engine/pipeline.h"
#include "core/error.h"

#include <math.h>
#include <string.h>

int brl__comm_multi(const brl_comm *c) { return c && brl_comm_size(c) > 1; }

int brl__reduce_sum_i64(brl_comm *c, int64_t *data, int64_t n) {
  if (!brl__comm_multi(c) || n <= 0)
    return BRL_OK;
  return brl_comm_allreduce_sum_i64(c, data, n);
}

int brl__reduce_max_f64(brl_comm *c, double *data, int64_t n) {
  if (!brl__comm_multi(c) || n <= 0)
    return BRL_OK;
  return brl_comm_allreduce_max_f64(c, data, n);
}

int brl__fixed_bits(int64_t n) {
  int c = 0;
  while (((int64_t)1 << c) < n + 1)
    c++;
  return c;
}

double brl__fixed_scale(float maxabs, int64_t n_total) {
  if (!(maxabs > 0.0f))
    return 1.0;
  int e;
  frexp((double)maxabs, &e); /* maxabs < 2^e */
  return ldexp(1.0, 62 - brl__fixed_bits(n_total) - e);
}

/* Column sums of llrint(g * scale[k]) (L2: of llrint((g - mean)^2 *
 * scale[k])), exact in any order. */
static void column_sums(const float *grads, int64_t n, int K,
                        const double *mean, const double *scale, int64_t *s) {
  memset(s, 0, (size_t)K * sizeof(int64_t));
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < K; k++) {
      double v = grads[i * K + k];
      if (mean) {
        v -= mean[k];
        v *= v;
      }
      s[k] += llrint(v * scale[k]);
    }
}

int brl__grad_columns(const brl_model *m, brl_comm *c, const float *grads,
                      int64_t n, brl_grad_xform *x) {
  const int K = m->n_outputs;
  const int l2 = m->p.split_score == BRL_SCORE_L2;
  int64_t sums[256];
  double amax[256];
  x->n_total = n;
  int rc = brl__reduce_sum_i64(c, &x->n_total, 1);
  if (rc)
    return rc;
  memset(amax, 0, (size_t)K * sizeof(double));
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < K; k++) {
      double a = fabs((double)grads[i * K + k]);
      amax[k] = a > amax[k] ? a : amax[k];
    }
  if ((rc = brl__reduce_max_f64(c, amax, K)))
    return rc;
  const int64_t nt = x->n_total;
  for (int k = 0; k < K; k++) {
    x->rscale[k] = brl__fixed_scale((float)amax[k], nt);
    x->wk[k] = sqrt((double)m->p.groups[m->col_group[k]].score_weight);
    x->mean[k] = 0.0;
    x->sd[k] = 1.0;
  }
  if (!l2)
    return BRL_OK;
  /* Mean and deviation from fixed-point sums: (g - mean)^2 < 2^(2e+2)
   * when |g| < 2^e, so 2^(60 - bits - 2e) keeps a sum of them in an
   * int64. */
  double sq[256];
  column_sums(grads, n, K, NULL, x->rscale, sums);
  if ((rc = brl__reduce_sum_i64(c, sums, K)))
    return rc;
  const int bits = brl__fixed_bits(nt);
  for (int k = 0; k < K; k++) {
    x->mean[k] = (double)sums[k] / x->rscale[k] / (double)nt;
    int e = 0;
    if (amax[k] > 0.0)
      frexp((double)(float)amax[k], &e);
    sq[k] = amax[k] > 0.0 ? ldexp(1.0, 60 - bits - 2 * e) : 1.0;
  }
  column_sums(grads, n, K, x->mean, sq, sums);
  if ((rc = brl__reduce_sum_i64(c, sums, K)))
    return rc;
  for (int k = 0; k < K; k++) {
    double sd = sqrt((double)sums[k] / sq[k] / (double)nt);
    if (!(sd > 0.0))
      x->wk[k] = 0.0, sd = 1.0; /* zero variance: the column cannot split */
    x->sd[k] = sd;
  }
  return BRL_OK;
}

int brl__grad_quantize(const brl_model *m, brl_comm *c, const float *grads,
                       int64_t n, brl_grad_xform *x, float *tgrad,
                       int64_t *qgrad) {
  const int K = m->n_outputs;
  double maxabs = 0.0;
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < K; k++) {
      double v = ((double)grads[i * K + k] - x->mean[k]) / x->sd[k] * x->wk[k];
      float t = (float)v;
      tgrad[i * K + k] = t;
      double a = fabs((double)t);
      maxabs = a > maxabs ? a : maxabs;
    }
  int rc = brl__reduce_max_f64(c, &maxabs, 1);
  if (rc)
    return rc;
  if (!(maxabs > 0.0)) {
    memset(qgrad, 0, (size_t)n * (size_t)K * sizeof(int64_t));
    x->scale = 1.0;
    return BRL_OK;
  }
  const double scale = ldexp(1.0, 62 - brl__fixed_bits(x->n_total)) / maxabs;
  for (int64_t i = 0; i < n * K; i++)
    qgrad[i] = llrint((double)tgrad[i] * scale);
  x->scale = scale;
  return BRL_OK;
}

void brl__leaf_accumulate(const brl_grad_xform *x, int K, const float *grads,
                          const int32_t *pos, int64_t begin, int64_t end,
                          int64_t *sum) {
  for (int64_t p = begin; p < end; p++) {
    const float *g = grads + (int64_t)pos[p] * K;
    for (int k = 0; k < K; k++)
      sum[k] += llrint((double)g[k] * x->rscale[k]);
  }
}

void brl__split_value(const brl_batch *b, int f, int bin, int dl, float *thr,
                      uint8_t *flags) {
  if (f < b->D) {
    *thr = b->edges[(int64_t)f * 255 + bin];
    *flags = dl ? BRL_SPLIT_DEFAULT_LEFT : 0;
  } else {
    *thr = brl__code_to_thr(b->cat_vals[(int64_t)(f - b->D) * 255 + bin]);
    *flags = (uint8_t)(BRL_SPLIT_CAT | (dl ? BRL_SPLIT_DEFAULT_LEFT : 0));
  }
}

int brl__tree_reserve_max(brl_model *m) {
  const int d = m->p.max_depth;
  const int oblivious = m->p.grow_policy == BRL_GROW_OBLIVIOUS;
  return brl__trees_reserve(&m->trees, m->n_outputs,
                            brl__tree_splits(oblivious, d),
                            brl__tree_leaves(d));
}

void brl__tree_assemble(brl_model *m, const brl_batch *b,
                        const brl_grad_xform *x, const brl_tree_draft *t,
                        float progress) {
  const int K = m->n_outputs, depth = t->depth, nl = 1 << depth;
  const int64_t splits = brl__tree_splits(t->oblivious, depth);
  brl_trees *T = &m->trees;
  const int64_t so = T->split_off[T->n], lo = T->leaf_off[T->n];
  int has_cat = 0;
  for (int64_t s = 0; s < splits; s++) {
    int f = 0;
    float thr = INFINITY, gain = 0.0f;
    uint8_t flags = BRL_SPLIT_DEFAULT_LEFT | BRL_SPLIT_PASS;
    if (!t->split || t->split[s]) {
      f = t->feat[s];
      brl__split_value(b, f, t->bin[s], t->dl[s], &thr, &flags);
      gain = (float)(t->gain[s] * t->to_real);
    }
    T->split[so + s] = BRL_SPLIT_PACK(f, flags);
    T->threshold[so + s] = thr;
    T->gain[so + s] = gain;
    has_cat |= (flags & BRL_SPLIT_CAT) != 0;
  }
  float lr[256];
  for (int k = 0; k < K; k++)
    lr[k] = brl__column_lr(m, k, progress);
  if (m->p.optimizer == BRL_OPTIMIZER_ADAM) {
    /* leaves keep the raw mean; the rate goes with the tree */
    for (int g = 0; g < m->p.n_groups; g++)
      T->lr[(int64_t)T->n * T->n_lr + g] = brl_model_group_lr(m, g, progress);
    for (int k = 0; k < K; k++)
      lr[k] = -1.0f;
  }
  float *val = T->value + lo * K;
  for (int i = 0; i < nl; i++) {
    const int64_t cnt = t->leaf_cnt[i];
    T->cover[lo + i] = (float)cnt;
    for (int k = 0; k < K; k++) {
      double acc = (double)t->leaf_sum[(int64_t)i * K + k] / x->rscale[k];
      val[k * nl + i] =
          cnt ? (float)(-(double)lr[k] * acc / (double)cnt) : 0.0f;
    }
  }
  brl__trees_commit(T, depth, t->oblivious, splits, nl);
  if (has_cat)
    T->flags[T->n - 1] |= BRL_TREE_HAS_CAT;
}
