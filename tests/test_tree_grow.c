/* Tree growth: every sample lands in the leaf whose value came from its
 * gradients; covers count the samples; depth and min_data_in_leaf hold;
 * minibatch rows map to their gradients; non-finite gradients are refused
 * or clipped as asked; schedules set the leaf scale. */
#include "testlib.h"
#include "util.h"

#include <math.h>
#include <stdio.h>

static void check_leaves(int grow, int depth, int min_leaf, int use_rows,
                         uint64_t seed) {
  const int n = 300, d = 4, K = 3;
  brl_rng r;
  brl_rng_seed(&r, seed);
  float *X = rand_matrix(&r, n, d, 0.05);
  brl_params p;
  brl_params_default(&p, d, 2);
  p.n_groups = 2;
  p.groups[0].n_outputs = 2;
  p.groups[1] = p.groups[0];
  p.groups[1].n_outputs = 1;
  p.groups[1].lr = 0.37f;
  p.groups[1].lr_end = 0.37f;
  p.max_depth = depth;
  p.grow_policy = grow;
  p.min_data_in_leaf = min_leaf;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  int rows[300], nr = use_rows ? 170 : n;
  for (int i = 0; i < nr; i++)
    rows[i] = use_rows ? (int)brl_rng_below(&r, n) : i;
  float *g = malloc(sizeof(float) * (size_t)(nr * K));
  for (int i = 0; i < nr * K; i++)
    g[i] = (float)brl_rng_normal(&r) + (X[rows[i / K] * d] > 0 ? 2.0f : 0.0f);
  CHECK_OK(brl_model_step(m, b, use_rows ? rows : NULL, nr, g, 0));
  brl_tree_info info;
  CHECK_OK(brl_model_tree_info(m, 0, &info));
  CHECK(info.depth <= depth && info.depth >= 1);
  double sum[1 << 8][3] = {{0}};
  int cnt[1 << 8] = {0};
  for (int i = 0; i < nr; i++) {
    int leaf;
    CHECK_OK(brl_model_tree_leaf(m, 0, X + rows[i] * d, NULL, &leaf));
    cnt[leaf]++;
    for (int k = 0; k < K; k++)
      sum[leaf][k] += g[i * K + k];
  }
  int ok_val = 1, ok_cover = 1, ok_min = 1;
  for (int l = 0; l < info.n_leaves; l++) {
    for (int k = 0; k < K; k++) {
      float v, cover;
      CHECK_OK(brl_model_leaf_value(m, 0, l, k, &v, &cover));
      double lr = k < 2 ? 0.1 : 0.37;
      double want = cnt[l] ? -lr * sum[l][k] / cnt[l] : 0.0;
      ok_val &= fabs(v - want) <= 1e-5 * (1 + fabs(want));
      ok_cover &= cover == (float)cnt[l];
      ok_min &= cnt[l] == 0 || cnt[l] >= min_leaf;
    }
  }
  CHECK_MSG(ok_val, "grow %d depth %d rows %d: leaf values", grow, depth,
            use_rows);
  CHECK_MSG(ok_cover, "grow %d depth %d: covers", grow, depth);
  CHECK_MSG(ok_min, "grow %d min_leaf %d: a leaf is too small", grow, min_leaf);
  free(g);
  free(X);
  brl_batch_free(&b);
  brl_model_free(&m);
}

static void check_nonfinite(void) {
  const int n = 50, d = 2;
  brl_rng r;
  brl_rng_seed(&r, 5);
  float *X = rand_matrix(&r, n, d, 0);
  brl_params p;
  brl_params_default(&p, d, 1);
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  float g[50];
  for (int i = 0; i < n; i++)
    g[i] = (float)i;
  g[17] = NAN;
  CHECK(brl_model_step(m, b, NULL, n, g, 0) == BRL_ENUMERIC);
  CHECK_MSG(strstr(brl_last_error(), "row 17") != NULL, "message: %s",
            brl_last_error());
  CHECK(brl_model_n_trees(m) == 0);
  brl_model_free(&m);
  p.clip_nonfinite = 1;
  CHECK_OK(brl_model_create(&p, &m));
  g[18] = INFINITY;
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  CHECK(brl_model_n_trees(m) == 1);
  /* Bad rows are refused, naming the index. */
  int rows[2] = {3, 50};
  CHECK(brl_model_step(m, b, rows, 2, g, 0) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "rows[1]") != NULL);
  brl_model_free(&m);
  brl_batch_free(&b);
  free(X);
}

/* Linear schedules scale the leaves: the same gradients give leaves in the
 * ratio of the learning rates. */
static void check_schedules(void) {
  const int n = 64, d = 2;
  brl_rng r;
  brl_rng_seed(&r, 9);
  float *X = rand_matrix(&r, n, d, 0);
  float g[64];
  for (int i = 0; i < n; i++)
    g[i] = X[i * d] > 0 ? 1.0f : -1.0f;
  brl_params p;
  brl_params_default(&p, d, 1);
  p.groups[0].lr = 1.0f;
  p.groups[0].lr_end = 0.5f;
  p.groups[0].schedule = BRL_SCHEDULE_LINEAR_TREES;
  p.groups[0].schedule_trees = 4;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  float expect[6] = {1.0f, 0.875f, 0.75f, 0.625f, 0.5f, 0.5f};
  for (int t = 0; t < 6; t++) {
    CHECK(fabsf(brl_model_group_lr(m, 0, 0) - expect[t]) < 1e-6f);
    CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  }
  brl_model_free(&m);
  p.groups[0].schedule = BRL_SCHEDULE_LINEAR_PROGRESS;
  p.groups[0].lr = 0.1f;
  p.groups[0].lr_end = 0.3f; /* increasing schedules clamp too */
  CHECK_OK(brl_model_create(&p, &m));
  CHECK(fabsf(brl_model_group_lr(m, 0, 0.5f) - 0.2f) < 1e-6f);
  CHECK(fabsf(brl_model_group_lr(m, 0, 2.0f) - 0.3f) < 1e-6f);
  CHECK(fabsf(brl_model_group_lr(m, 0, -1.0f) - 0.1f) < 1e-6f);
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0.5f));
  float v;
  int leaf;
  CHECK_OK(brl_model_tree_leaf(m, 0, X, NULL, &leaf));
  CHECK_OK(brl_model_leaf_value(m, 0, leaf, 0, &v, NULL));
  /* Leaves are pure (+1 or -1 gradients): |value| = lr = 0.2. */
  CHECK_MSG(fabsf(fabsf(v) - 0.2f) < 1e-6f, "leaf %g", (double)v);
  brl_model_free(&m);
  brl_batch_free(&b);
  free(X);
}

/* A greedy tree stops splitting nodes that do not gain: a gradient that
 * depends on one feature only gives a one-split tree. */
static void check_greedy_stops(void) {
  const int n = 200, d = 3;
  brl_rng r;
  brl_rng_seed(&r, 11);
  float *X = rand_matrix(&r, n, d, 0);
  float g[200];
  for (int i = 0; i < n; i++)
    g[i] = X[i * d + 1] > 0.3f ? 2.0f : -1.0f;
  brl_params p;
  brl_params_default(&p, d, 1);
  p.grow_policy = BRL_GROW_GREEDY;
  p.max_depth = 5;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  brl_tree_info info;
  CHECK_OK(brl_model_tree_info(m, 0, &info));
  CHECK_MSG(info.n_splits == 1 && info.depth == 1, "splits %d depth %d",
            info.n_splits, info.depth);
  /* Constant gradients: no split at all, one leaf holding -lr * g. */
  for (int i = 0; i < n; i++)
    g[i] = 3.0f;
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  CHECK_OK(brl_model_tree_info(m, 1, &info));
  CHECK(info.depth == 0 && info.n_leaves == 1);
  float v;
  CHECK_OK(brl_model_leaf_value(m, 1, 0, 0, &v, NULL));
  CHECK(fabsf(v + 0.3f) < 1e-6f);
  brl_model_free(&m);
  brl_batch_free(&b);
  free(X);
}

/* Control variates: the second tree's leaves equal -lr * mean of the
 * gradients after subtracting their clipped regression on the average of
 * the first tree's leaf values (decay a: h = (1 - a) * leaf value). */
static void check_control_variates(void) {
  const int n = 120, d = 2;
  brl_rng r;
  brl_rng_seed(&r, 31);
  float *X = rand_matrix(&r, n, d, 0);
  brl_params p;
  brl_params_default(&p, d, 1);
  p.control_variates = 1;
  p.cv_decay = 0.75f;
  p.max_depth = 2;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  float g[120], g2[120];
  for (int i = 0; i < n; i++)
    g[i] = X[i * d] > 0 ? 1.0f : -1.0f;
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  double h[120], mh = 0, mg = 0, cov = 0, var = 0;
  for (int i = 0; i < n; i++) {
    int leaf;
    float v;
    brl_model_tree_leaf(m, 0, X + i * d, NULL, &leaf);
    brl_model_leaf_value(m, 0, leaf, 0, &v, NULL);
    h[i] = (1.0 - 0.75) * v;
    g2[i] = (float)brl_rng_normal(&r) + 2.0f * (X[i * d] > 0);
    mh += h[i] / n;
    mg += g2[i] / (double)n;
  }
  for (int i = 0; i < n; i++) {
    cov += (h[i] - mh) * (g2[i] - mg);
    var += (h[i] - mh) * (h[i] - mh);
  }
  double beta = cov / var;
  beta = beta > 1 ? 1 : beta < -1 ? -1 : beta;
  CHECK(fabs(beta) > 0.01); /* the case exercises the correction */
  CHECK_OK(brl_model_step(m, b, NULL, n, g2, 0));
  double sum[4] = {0};
  int cnt[4] = {0};
  for (int i = 0; i < n; i++) {
    int leaf;
    brl_model_tree_leaf(m, 1, X + i * d, NULL, &leaf);
    sum[leaf] += g2[i] - beta * (h[i] - mh);
    cnt[leaf]++;
  }
  int ok = 1;
  for (int l = 0; l < 4; l++) {
    float v;
    if (brl_model_leaf_value(m, 1, l, 0, &v, NULL) || !cnt[l])
      continue;
    ok &= fabs(v - (-0.1 * sum[l] / cnt[l])) < 1e-5;
  }
  CHECK_MSG(ok, "control-variate leaves differ");
  brl_batch_free(&b);
  brl_model_free(&m);
  free(X);
}

int main(void) {
  check_control_variates();
  for (int grow = 0; grow < 2; grow++)
    for (int depth = 1; depth <= 6; depth++)
      for (int rows = 0; rows < 2; rows++) {
        check_leaves(grow, depth, 0, rows, 100 + depth);
        check_leaves(grow, depth, 12, rows, 200 + depth);
      }
  check_nonfinite();
  check_schedules();
  check_greedy_stops();
  return brl_test_report("test_tree_grow");
}
