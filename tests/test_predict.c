/* Prediction: the vector paths (AVX-512, AVX2) equal the scalar path bit
 * for bit for every tree kind and depth, with missing values; tree ranges
 * add up to the whole; the batch cache equals a fresh prediction bit for
 * bit and follows bias changes and truncation. */
#include "testlib.h"
#include "util.h"

#include "engine/predict.h"

#include <math.h>

static void check_paths(int grow, int depth, int K, uint64_t seed) {
  const int n = 203, d = 6; /* not a multiple of 16: tails run too */
  brl_rng r;
  brl_rng_seed(&r, seed);
  float *X = rand_matrix(&r, n, d, 0.08);
  brl_params p;
  brl_params_default(&p, d, K);
  p.grow_policy = grow;
  p.max_depth = depth;
  brl_model *m = grow_random(&p, X, n, 25, seed);
  CHECK(m != NULL);
  if (!m)
    return;
  float *Xt = rand_matrix(&r, n, d, 0.1);
  size_t sz = sizeof(float) * (size_t)(n * K);
  float *ref = malloc(sz), *got = malloc(sz);
  CHECK_OK(brl_model_predict_scalar(m, Xt, n, 0, -1, ref));
  const char *names[3] = {"scalar", "avx2", "avx512"};
  int best = brl__simd_level();
  for (int level = 1; level <= best; level++) {
    brl__simd_force(level);
    CHECK_OK(brl_model_predict(m, Xt, n, 0, -1, got));
    CHECK_MSG(memcmp(ref, got, sz) == 0,
              "%s differs from scalar (grow %d "
              "depth %d K %d)",
              names[level], grow, depth, K);
  }
  brl__simd_force(-1);
  /* Ranges add up: bias + [0, a) + [a, b) + [b, n). */
  float *part = malloc(sz);
  int ok = 1;
  CHECK_OK(brl_model_predict(m, Xt, n, 0, 7, got));
  CHECK_OK(brl_model_predict(m, Xt, n, 7, 19, part));
  for (int i = 0; i < n * K; i++)
    got[i] += part[i];
  CHECK_OK(brl_model_predict(m, Xt, n, 19, -1, part));
  for (int i = 0; i < n * K; i++)
    ok &= fabsf(got[i] + part[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i]));
  CHECK_MSG(ok, "tree ranges do not add up (grow %d depth %d)", grow, depth);
  CHECK(brl_model_predict(m, Xt, n, 5, 3, got) == BRL_EINVAL);
  CHECK(brl_model_predict(m, Xt, n, 0, 26, got) == BRL_EINVAL);
  free(ref);
  free(got);
  free(part);
  free(Xt);
  free(X);
  brl_model_free(&m);
}

static void check_cache(int grow) {
  const int n = 150, d = 4, K = 2;
  brl_rng r;
  brl_rng_seed(&r, 42);
  float *X = rand_matrix(&r, n, d, 0.05);
  brl_params p;
  brl_params_default(&p, d, K);
  p.grow_policy = grow;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, n, &b));
  size_t sz = sizeof(float) * (size_t)(n * K);
  float *fresh = malloc(sz), *g = malloc(sz);
  const float *cache;
  int rows[40];
  int ok = 1;
  for (int t = 0; t < 30; t++) {
    CHECK_OK(brl_batch_predictions(b, m, &cache));
    CHECK_OK(brl_model_predict(m, X, n, 0, -1, fresh));
    ok &= memcmp(cache, fresh, sz) == 0;
    for (int i = 0; i < 40; i++)
      rows[i] = (int)brl_rng_below(&r, n);
    for (int i = 0; i < 40 * K; i++)
      g[i] = (float)brl_rng_normal(&r);
    CHECK_OK(brl_model_step(m, b, rows, 40, g, 0));
    if (t == 10) {
      float bias[2] = {1.5f, -2.0f};
      CHECK_OK(brl_model_set_bias(m, bias));
    }
    if (t == 20)
      CHECK_OK(brl_model_truncate(m, 12));
  }
  CHECK_OK(brl_batch_predictions(b, m, &cache));
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, fresh));
  ok &= memcmp(cache, fresh, sz) == 0;
  CHECK_MSG(ok, "cache differs from prediction (grow %d)", grow);
  /* A batch follows a different model too. */
  brl_model *m2 = grow_random(&p, X, n, 3, 5);
  CHECK_OK(brl_batch_predictions(b, m2, &cache));
  CHECK_OK(brl_model_predict(m2, X, n, 0, -1, fresh));
  CHECK(memcmp(cache, fresh, sz) == 0);
  /* A batch made for other shapes is refused. */
  brl_params q;
  brl_params_default(&q, d + 1, K);
  brl_model *m3;
  CHECK_OK(brl_model_create(&q, &m3));
  CHECK(brl_batch_predictions(b, m3, &cache) == BRL_EINVAL);
  CHECK(brl_model_step(m3, b, NULL, n, g, 0) == BRL_EINVAL);
  brl_model_free(&m3);
  brl_model_free(&m2);
  free(fresh);
  free(g);
  free(X);
  brl_batch_free(&b);
  brl_model_free(&m);
}

int main(void) {
  for (int grow = 0; grow < 2; grow++)
    for (int depth = 1; depth <= 7; depth++)
      for (int K = 1; K <= 5; K += 2)
        check_paths(grow, depth, K, 1000 + (uint64_t)(depth * 10 + K));
  check_cache(0);
  check_cache(1);
  return brl_test_report("test_predict");
}
