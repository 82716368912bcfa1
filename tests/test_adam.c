/* Adam ensembles: prediction equals a direct implementation of the moment
 * recursion over the trees' raw leaf values; the batch cache equals a fresh
 * prediction bit for bit; ranges not starting at 0 are refused; files keep
 * the per-tree rates. */
#include "testlib.h"
#include "util.h"

#include <math.h>

int main(void) {
  const int n = 90, d = 3, K = 2, T = 25;
  brl_rng r;
  brl_rng_seed(&r, 21);
  float *X = rand_matrix(&r, n, d, 0.05);
  brl_params p;
  brl_params_default(&p, d, 1);
  p.n_groups = 2;
  p.groups[1] = p.groups[0];
  p.groups[0].lr = 0.05f;
  p.groups[1].lr = 0.2f;
  p.groups[1].lr_end = 0.02f;
  p.groups[1].schedule = BRL_SCHEDULE_LINEAR_PROGRESS;
  p.optimizer = BRL_OPTIMIZER_ADAM;
  p.adam_beta1 = 0.8f;
  p.adam_beta2 = 0.95f;
  p.adam_eps = 1e-6f;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  float bias[2] = {0.5f, -0.25f};
  CHECK_OK(brl_model_set_bias(m, bias));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  float g[90 * 2];
  const float *cache;
  CHECK_OK(brl_batch_predictions(b, m, &cache));
  for (int t = 0; t < T; t++) {
    for (int i = 0; i < n * K; i++)
      g[i] = (float)brl_rng_normal(&r) +
             (isnan(X[(i / K) * d]) ? 1.0f : X[(i / K) * d]);
    CHECK_OK(brl_model_step(m, b, NULL, n, g, (float)t / T));
  }
  float *pred = malloc(sizeof(float) * n * K);
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, pred));
  CHECK(memcmp(pred, cache, sizeof(float) * n * K) == 0);
  /* Direct recursion from the stored raw leaf values. */
  int ok = 1;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < K; k++) {
      double mo = 0, v = 0, f = bias[k];
      for (int t = 0; t < T; t++) {
        int leaf;
        float gv;
        brl_model_tree_leaf(m, t, X + i * d, NULL, &leaf);
        brl_model_leaf_value(m, t, leaf, k, &gv, NULL);
        mo = 0.8 * mo + 0.2 * gv;
        v = 0.95 * v + 0.05 * (double)gv * gv;
        double lr = k == 0 ? 0.05 : 0.2 + (0.02 - 0.2) * ((double)t / T);
        double corr = sqrt(1 - pow(0.95, t + 1)) / (1 - pow(0.8, t + 1));
        f -= (double)(float)lr * corr * mo / (sqrt(v) + 1e-6);
      }
      ok &= fabs(f - pred[i * K + k]) <= 1e-4 * (1 + fabs(f));
    }
  CHECK_MSG(ok, "Adam prediction differs from the direct recursion");
  /* Raw leaf values are mean gradients (no learning rate folded in): a
   * leaf's value equals the mean of its samples' last gradients. */
  double s = 0;
  int cnt = 0, leaf0;
  brl_model_tree_leaf(m, T - 1, X, NULL, &leaf0);
  for (int i = 0; i < n; i++) {
    int leaf;
    brl_model_tree_leaf(m, T - 1, X + i * d, NULL, &leaf);
    if (leaf == leaf0)
      s += g[i * K], cnt++;
  }
  float lv;
  CHECK_OK(brl_model_leaf_value(m, T - 1, leaf0, 0, &lv, NULL));
  CHECK(fabs(lv - s / cnt) < 1e-5);
  CHECK(brl_model_predict(m, X, n, 3, -1, pred) == BRL_EUNSUPPORTED);
  CHECK_OK(brl_model_predict(m, X, n, 0, 10, pred));
  void *buf;
  size_t len;
  CHECK_OK(brl_model_save_buffer(m, &buf, &len));
  brl_model *m2;
  CHECK_OK(brl_model_load_buffer(buf, len, &m2));
  float *pred2 = malloc(sizeof(float) * n * K);
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, pred));
  CHECK_OK(brl_model_predict(m2, X, n, 0, -1, pred2));
  CHECK(memcmp(pred, pred2, sizeof(float) * n * K) == 0);
  brl_free(buf);
  free(pred);
  free(pred2);
  free(X);
  brl_model_free(&m2);
  brl_batch_free(&b);
  brl_model_free(&m);
  return brl_test_report("test_adam");
}
