/* brl_fit: lowers the training error, continues from existing trees (no
 * bias reset, more trees keep improving), minibatches and shuffling are
 * deterministic for a seed; feature importances point at the features the
 * target depends on. */
#include "testlib.h"
#include "util.h"

#include <math.h>

static double rmse(const brl_model *m, const float *X, const float *y, int n) {
  float *p = malloc(sizeof(float) * (size_t)n);
  brl_model_predict(m, X, n, 0, -1, p);
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (p[i] - y[i]) * (p[i] - y[i]);
  free(p);
  return sqrt(s / n);
}

int main(void) {
  const int n = 500, d = 5;
  brl_rng r;
  brl_rng_seed(&r, 4);
  float *X = rand_matrix(&r, n, d, 0);
  float y[500];
  for (int i = 0; i < n; i++)
    y[i] = 3.0f + 2.0f * X[i * d + 1] - (X[i * d + 3] > 0 ? 1.5f : 0.0f);
  brl_params p;
  brl_params_default(&p, d, 1);
  p.grow_policy = BRL_GROW_GREEDY;
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  fp.iterations = 30;
  double r0 = rmse(m, X, y, n);
  CHECK_OK(brl_fit(m, X, NULL, y, n, &fp));
  float bias;
  brl_model_get_bias(m, &bias);
  double mean = 0;
  for (int i = 0; i < n; i++)
    mean += y[i];
  CHECK(fabs(bias - mean / n) < 1e-4);
  double r1 = rmse(m, X, y, n);
  CHECK_OK(brl_fit(m, X, NULL, y, n, &fp));
  double r2 = rmse(m, X, y, n);
  float bias2;
  brl_model_get_bias(m, &bias2);
  CHECK(bias2 == bias); /* no reset when trees exist */
  CHECK(brl_model_n_trees(m) == 60);
  CHECK_MSG(r1 < 0.5 * r0 && r2 < 0.8 * r1, "rmse %g -> %g -> %g", r0, r1, r2);
  double imp[5], gain[5];
  CHECK_OK(brl_model_feature_importance(m, BRL_IMPORTANCE_SPLITS, imp));
  CHECK_OK(brl_model_feature_importance(m, BRL_IMPORTANCE_GAIN, gain));
  CHECK(gain[1] > gain[0] && gain[1] > gain[2] && gain[3] > gain[4]);
  CHECK(imp[1] > 0 && imp[3] > 0);
  CHECK(brl_model_feature_importance(m, (brl_importance)9, imp) == BRL_EINVAL);
  /* Minibatches: deterministic for a seed, different across seeds. */
  fp.batch_size = 64;
  fp.seed = 1;
  brl_model *a, *b, *c;
  brl_model_create(&p, &a);
  brl_model_create(&p, &b);
  brl_model_create(&p, &c);
  CHECK_OK(brl_fit(a, X, NULL, y, n, &fp));
  CHECK_OK(brl_fit(b, X, NULL, y, n, &fp));
  fp.seed = 2;
  CHECK_OK(brl_fit(c, X, NULL, y, n, &fp));
  CHECK(rmse(a, X, y, n) == rmse(b, X, y, n));
  CHECK(rmse(a, X, y, n) != rmse(c, X, y, n));
  CHECK(rmse(a, X, y, n) < 0.6 * r0);
  /* Bad input. */
  y[7] = NAN;
  CHECK(brl_fit(a, X, NULL, y, n, &fp) == BRL_ENUMERIC);
  fp.iterations = -1;
  CHECK(brl_fit(a, X, NULL, y, n, &fp) == BRL_EINVAL);
  brl_model_free(&a);
  brl_model_free(&b);
  brl_model_free(&c);
  brl_model_free(&m);
  free(X);
  return brl_test_report("test_supervised");
}
