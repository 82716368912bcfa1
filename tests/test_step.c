/* brl_model_step's gradient cleaning: with clip_nonfinite = 1, a +-inf
 * gradient is clipped to the largest finite magnitude of its column in the
 * step, so one diverging sample neither sets the fixed-point scale of the
 * whole batch (other rows' gradients would quantize to zero and the trees
 * stop learning) nor puts a +-FLT_MAX-sized value into a leaf. */
#include "testlib.h"
#include "util.h"

#include <float.h>
#include <math.h>

/* Two columns fitted by MSE boosting (g = prediction - y): column 0 a step
 * in x0 (-0.3 / +0.3), column 1 a step in x1 (-0.5 / +0.5). Row 0's column 1
 * gradient is +inf at every step. Column 0 must still be learned, and every
 * leaf must stay within lr times the largest finite gradient. */
static void inf_gradient_keeps_precision(int l2, int grow) {
  const int n = 400, d = 2, K = 2, steps = 40;
  const float lr = 0.3f;
  brl_rng r;
  brl_rng_seed(&r, 21);
  float *X = rand_matrix(&r, n, d, 0);
  float *y = malloc(sizeof(float) * n * K);
  float *g = malloc(sizeof(float) * n * K);
  for (int i = 0; i < n; i++) {
    y[i * K] = X[i * d] > 0 ? 0.3f : -0.3f;
    y[i * K + 1] = X[i * d + 1] > 0 ? 0.5f : -0.5f;
  }
  brl_params p;
  brl_params_default(&p, d, K);
  p.groups[0].lr = lr;
  p.split_score = l2 ? BRL_SCORE_L2 : BRL_SCORE_COSINE;
  p.grow_policy = grow;
  p.max_depth = 3;
  p.clip_nonfinite = 1;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  float max_finite = 0.0f;
  for (int s = 0; s < steps; s++) {
    const float *pred;
    CHECK_OK(brl_batch_predictions(b, m, &pred));
    for (int i = 0; i < n * K; i++)
      g[i] = pred[i] - y[i];
    g[1] = INFINITY; /* row 0, column 1 */
    for (int i = 2; i < n * K; i++)
      max_finite = fmaxf(max_finite, fabsf(g[i]));
    CHECK_OK(brl_model_step(m, b, NULL, n, g, 0.0f));
  }
  /* Leaves: finite and no larger than one learning-rate step of the
   * largest finite gradient seen. */
  int bad_leaves = 0;
  float worst = 0.0f;
  for (int t = 0; t < brl_model_n_trees(m); t++) {
    brl_tree_info ti;
    CHECK_OK(brl_model_tree_info(m, t, &ti));
    for (int l = 0; l < ti.n_leaves; l++)
      for (int k = 0; k < K; k++) {
        float v, cover;
        CHECK_OK(brl_model_leaf_value(m, t, l, k, &v, &cover));
        if (!(fabsf(v) <= lr * max_finite * 1.0001f)) {
          bad_leaves++;
          worst = !(fabsf(worst) >= fabsf(v)) ? v : worst;
        }
      }
  }
  CHECK_MSG(bad_leaves == 0, "l2 %d grow %d: %d leaves beyond lr * %g, e.g. %g",
            l2, grow, bad_leaves, (double)max_finite, (double)worst);
  /* Predictions of both columns are close to the targets for every row but
   * the diverging one. */
  float *out = malloc(sizeof(float) * n * K);
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, out));
  double err[2] = {0, 0};
  for (int i = 1; i < n; i++)
    for (int k = 0; k < K; k++)
      err[k] += fabs(out[i * K + k] - y[i * K + k]) / (n - 1);
  CHECK_MSG(err[0] < 0.03, "l2 %d grow %d: column 0 mean error %g", l2, grow,
            err[0]);
  CHECK_MSG(err[1] < 0.05, "l2 %d grow %d: column 1 mean error %g", l2, grow,
            err[1]);
  free(out);
  free(g);
  free(y);
  free(X);
  brl_batch_free(&b);
  brl_model_free(&m);
}

/* The clipped value is exactly the column's largest finite magnitude with
 * the infinity's sign; NaN counts as 0; a column with no finite gradient
 * becomes 0. Checked through a depth-1 tree's leaves (-lr * mean). */
static void clipped_values(void) {
  const int n = 8, K = 3;
  float X[8];
  for (int i = 0; i < n; i++)
    X[i] = i < 4 ? -1.0f : 1.0f; /* rows 0-3 left, 4-7 right */
  float g[8 * 3];
  for (int i = 0; i < n; i++) {
    g[i * K] = i < 4 ? 1.0f : -2.0f; /* column 0 drives the split */
    g[i * K + 1] = 0.25f * (float)(i + 1);
    g[i * K + 2] = NAN;
  }
  g[0 * K + 1] = -INFINITY; /* left: becomes -2.0 (rows reach 2.0) */
  g[5 * K + 1] = NAN;       /* right: becomes 0 */
  g[6 * K + 2] = INFINITY;  /* column 2 has no finite value: 0 */
  g[7 * K + 2] = -INFINITY;
  brl_params p;
  brl_params_default(&p, 1, K);
  p.groups[0].lr = 1.0f;
  p.max_depth = 1;
  p.clip_nonfinite = 1;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0.0f));
  float xl = -1.0f, xr = 1.0f, v, cover;
  int ll, lr;
  CHECK_OK(brl_model_tree_leaf(m, 0, &xl, NULL, &ll));
  CHECK_OK(brl_model_tree_leaf(m, 0, &xr, NULL, &lr));
  CHECK(ll != lr);
  /* left column 1: (-2.0 + 0.5 + 0.75 + 1.0) / 4 = 0.0625 */
  CHECK_OK(brl_model_leaf_value(m, 0, ll, 1, &v, &cover));
  CHECK_MSG(fabsf(v + 0.0625f) < 1e-6f, "left column 1 leaf %g", (double)v);
  /* right column 1: (1.25 + 0 + 1.75 + 2.0) / 4 = 1.25 */
  CHECK_OK(brl_model_leaf_value(m, 0, lr, 1, &v, &cover));
  CHECK_MSG(fabsf(v + 1.25f) < 1e-6f, "right column 1 leaf %g", (double)v);
  CHECK_OK(brl_model_leaf_value(m, 0, lr, 2, &v, &cover));
  CHECK_MSG(v == 0.0f, "right column 2 leaf %g", (double)v);
  /* Without clip_nonfinite the step is refused and names the first bad
   * gradient. */
  p.clip_nonfinite = 0;
  brl_model *strict;
  CHECK_OK(brl_model_create(&p, &strict));
  CHECK(brl_model_step(strict, b, NULL, n, g, 0.0f) == BRL_ENUMERIC);
  CHECK_MSG(strstr(brl_last_error(), "row 0, column 1") != NULL, "message: %s",
            brl_last_error());
  CHECK(brl_model_n_trees(strict) == 0);
  brl_model_free(&strict);
  brl_batch_free(&b);
  brl_model_free(&m);
}

int main(void) {
  for (int l2 = 0; l2 < 2; l2++)
    for (int grow = 0; grow < 2; grow++)
      inf_gradient_keeps_precision(l2, grow);
  clipped_values();
  return brl_test_report("test_step");
}
