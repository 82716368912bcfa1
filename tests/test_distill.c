/* Distillation (brl_model_distill): a random ensemble of 64 oblivious
 * depth-3 trees distilled into N greedy depth-6 trees over a fixed sample.
 * The output error on that sample falls monotonically as N grows, and
 * reaches zero (to float rounding) with one student tree per teacher
 * tree: the student's splits are the teacher's own thresholds. Also: the target
 * transform, determinism and bad input. */
#include "engine/batch.h"
#include "testlib.h"
#include "util.h"

#include <math.h>

#define N_FIT 3000
#define D 3
#define K 2
#define TEACHER 64

static double rms_error(const brl_model *s, const brl_model *t, const float *X,
                        int64_t n, double sign) {
  float *ps = malloc(sizeof(float) * (size_t)(n * K));
  float *pt = malloc(sizeof(float) * (size_t)(n * K));
  double e = INFINITY;
  if (!brl_model_predict(s, X, n, 0, -1, ps) &&
      !brl_model_predict(t, X, n, 0, -1, pt)) {
    e = 0;
    for (int64_t i = 0; i < n * K; i++)
      e += ((double)ps[i] - sign * pt[i]) * ((double)ps[i] - sign * pt[i]);
    e = sqrt(e / (double)(n * K));
  }
  free(ps);
  free(pt);
  return e;
}

static brl_model *student(int depth) {
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = depth;
  p.grow_policy = BRL_GROW_GREEDY;
  p.groups[0].lr = p.groups[0].lr_end = 1.0f;
  brl_model *m = NULL;
  brl_model_create(&p, &m);
  return m;
}

static void negate(void *ctx, float *Y, int64_t n) {
  (void)ctx;
  for (int64_t i = 0; i < n * K; i++)
    Y[i] = -Y[i];
}

static brl_model *teacher_model(const float *X) {
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = 3;
  p.grow_policy = BRL_GROW_OBLIVIOUS;
  p.groups[0].lr = p.groups[0].lr_end = 0.3f;
  return grow_random(&p, X, 500, TEACHER, 7);
}

static void test_monotone(void) {
  brl_rng r;
  brl_rng_seed(&r, 1);
  float *Xt = rand_matrix(&r, 500, D, 0.0);
  float *X = rand_matrix(&r, N_FIT, D, 0.0);
  brl_model *t = teacher_model(Xt);
  CHECK(t != NULL);
  const int sizes[] = {1, 2, 4, 8, 16, 32, 64};
  double err[7];
  for (int i = 0; i < 7; i++) {
    brl_model *s = student(6);
    CHECK_OK(
        brl_model_distill(s, t, X, NULL, N_FIT, sizes[i], NULL, NULL, NULL));
    CHECK(brl_model_n_trees(s) == sizes[i]);
    err[i] = rms_error(s, t, X, N_FIT, 1.0);
    brl_model_free(&s);
  }
  for (int i = 1; i < 7; i++)
    CHECK_MSG(err[i] <= err[i - 1] * (1 + 1e-6) + 1e-7,
              "error rose from %g (%d trees) to %g (%d trees)", err[i - 1],
              sizes[i - 1], err[i], sizes[i]);
  /* One student tree per teacher tree reproduces the teacher: the splits
   * are its thresholds exactly. */
  CHECK_MSG(err[6] < 1e-5, "64 trees: error %g", err[6]);
  CHECK_MSG(err[0] > 2 * err[4] && err[4] > 10 * err[6], "1: %g, 16: %g",
            err[0], err[4]);

  /* The transform is what gets fitted: here the negated outputs. */
  brl_model *s = student(6);
  CHECK_OK(
      brl_model_distill(s, t, X, NULL, N_FIT, TEACHER, NULL, negate, NULL));
  CHECK(rms_error(s, t, X, N_FIT, -1.0) < 1e-5);
  brl_model_free(&s);

  /* Deterministic: the same bytes twice. */
  void *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  brl_model *s1 = student(4), *s2 = student(4);
  CHECK_OK(brl_model_distill(s1, t, X, NULL, N_FIT, 10, NULL, NULL, NULL));
  CHECK_OK(brl_model_distill(s2, t, X, NULL, N_FIT, 10, NULL, NULL, NULL));
  CHECK_OK(brl_model_save_buffer(s1, &b1, &n1));
  CHECK_OK(brl_model_save_buffer(s2, &b2, &n2));
  CHECK(n1 == n2 && b1 && b2 && memcmp(b1, b2, n1) == 0);
  brl_free(b1);
  brl_free(b2);

  /* Bad input: named errors, the student untouched. */
  CHECK(brl_model_distill(s1, t, X, NULL, N_FIT, 4, NULL, NULL, NULL) ==
        BRL_EINVAL); /* s1 has trees */
  CHECK(brl_model_n_trees(s1) == 10);
  brl_model *s3 = student(4);
  CHECK(brl_model_distill(s3, t, X, NULL, N_FIT, 0, NULL, NULL, NULL) ==
        BRL_EINVAL);
  CHECK(brl_model_distill(s3, t, X, NULL, 0, 4, NULL, NULL, NULL) ==
        BRL_EINVAL);
  CHECK(brl_model_distill(s3, s3, X, NULL, N_FIT, 4, NULL, NULL, NULL) ==
        BRL_EINVAL);
  const float bad_w[1] = {NAN};
  CHECK(brl_model_distill(s3, t, X, NULL, N_FIT, 4, bad_w, NULL, NULL) ==
        BRL_EINVAL);
  CHECK(brl_model_n_trees(s3) == 0);
  brl_params p;
  brl_params_default(&p, D + 1, K);
  brl_model *wide = NULL;
  CHECK_OK(brl_model_create(&p, &wide));
  CHECK(brl_model_distill(wide, t, X, NULL, N_FIT, 4, NULL, NULL, NULL) ==
        BRL_EINVAL);
  brl_params_default(&p, D, K);
  p.optimizer = BRL_OPTIMIZER_ADAM;
  brl_model *adam = NULL;
  CHECK_OK(brl_model_create(&p, &adam));
  CHECK(brl_model_distill(adam, t, X, NULL, N_FIT, 4, NULL, NULL, NULL) ==
        BRL_EUNSUPPORTED);
  brl_model_free(&wide);
  brl_model_free(&adam);
  brl_model_free(&s1);
  brl_model_free(&s2);
  brl_model_free(&s3);
  brl_model_free(&t);
  free(X);
  free(Xt);
}

/* Given bin edges: codes and split thresholds follow them exactly. */
static void test_batch_edges(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  const float X[8] = {0.0f, 5.0f, 1.0f, 6.0f, 2.0f, 7.0f, 3.0f, 8.0f};
  float edges[2 * BRL_MAX_EDGES];
  int ne[2] = {2, 0};
  edges[0] = 0.5f;
  edges[1] = 2.5f;
  brl_batch *b = NULL;
  CHECK_OK(brl_batch_create_edges(m, X, NULL, 4, edges, ne, &b));
  CHECK(brl_batch_n_bins(b, 0) == 3 && brl_batch_n_bins(b, 1) == 1);
  /* Gradients that want x0 <= 2.5 apart from x0 > 2.5: the split is at
   * the given edge, not at a quantile. */
  const float g[4] = {-1.0f, -1.0f, -1.0f, 3.0f};
  CHECK_OK(brl_model_step(m, b, NULL, 4, g, 0.0f));
  int leaf_a = -1, leaf_b = -1;
  const float xa[2] = {2.5f, 0.0f}, xb[2] = {2.50001f, 0.0f};
  CHECK_OK(brl_model_tree_leaf(m, 0, xa, NULL, &leaf_a));
  CHECK_OK(brl_model_tree_leaf(m, 0, xb, NULL, &leaf_b));
  CHECK(leaf_a != leaf_b);
  brl_batch_free(&b);
  edges[1] = 0.5f; /* not increasing */
  CHECK(brl_batch_create_edges(m, X, NULL, 4, edges, ne, &b) == BRL_EINVAL);
  edges[1] = NAN;
  CHECK(brl_batch_create_edges(m, X, NULL, 4, edges, ne, &b) == BRL_EINVAL);
  ne[0] = BRL_MAX_EDGES + 1;
  CHECK(brl_batch_create_edges(m, X, NULL, 4, edges, ne, &b) == BRL_EINVAL);
  CHECK(b == NULL);
  brl_model_free(&m);
}

/* Re-binning a batch in place gives the codes of a batch made with the new
 * edges (NaN rows, values equal to an edge, features without edges). */
static void test_rebin(void) {
  brl_params p;
  brl_params_default(&p, 3, 1);
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  brl_rng r;
  brl_rng_seed(&r, 4);
  const int64_t n = 777;
  float *X = rand_matrix(&r, n, 3, 0.05);
  float e1[3 * BRL_MAX_EDGES], e2[3 * BRL_MAX_EDGES];
  int n1[3] = {5, 0, 254}, n2[3] = {254, 3, 0};
  for (int f = 0; f < 3; f++)
    for (int j = 0; j < BRL_MAX_EDGES; j++) {
      e1[f * BRL_MAX_EDGES + j] = -2.0f + 0.015f * (float)j;
      e2[f * BRL_MAX_EDGES + j] = -1.5f + 0.011f * (float)j;
    }
  X[3] = e2[1]; /* a value on an edge goes to the bin below it */
  brl_batch *a = NULL, *b = NULL;
  CHECK_OK(brl_batch_create_edges(m, X, NULL, n, e1, n1, &a));
  CHECK_OK(brl_batch_create_edges(m, X, NULL, n, e2, n2, &b));
  if (a && b) {
    for (int round = 0; round < 2; round++) {
      CHECK_OK(brl__batch_rebin(a, m, e2, n2));
      CHECK(!memcmp(a->codes, b->codes, (size_t)(n * 3)));
      for (int f = 0; f < 3; f++)
        CHECK(brl_batch_n_bins(a, f) == brl_batch_n_bins(b, f));
      CHECK(a->hslots == b->hslots);
    }
  }
  brl_batch_free(&a);
  brl_batch_free(&b);
  brl_model_free(&m);
  free(X);
}

int main(void) {
  test_rebin();
  test_monotone();
  test_batch_edges();
  return brl_test_report("test_distill");
}
