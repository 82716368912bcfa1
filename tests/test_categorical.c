/* Categorical features: the one-vs-rest split found equals a brute-force
 * search over (feature, category, missing side); unseen categories take the
 * "not equal" side and missing codes the learned default side; vector and
 * scalar prediction agree with categorical trees; dictionaries are stable,
 * append-only and saved with the model. */
#include "testlib.h"
#include "util.h"

#include "engine/predict.h"

#include <math.h>
#include <stdio.h>

#define N 80
#define C 3

static double score_of(const int32_t *X, const double *g, int f, int32_t c,
                       int dl, int *ok) {
  double sl = 0, sr = 0;
  int nl = 0, nr = 0;
  for (int i = 0; i < N; i++) {
    int32_t x = X[i * C + f];
    int left = x < 0 ? dl : x == c;
    if (left)
      sl += g[i], nl++;
    else
      sr += g[i], nr++;
  }
  *ok = nl > 0 && nr > 0;
  return sqrt((nl ? sl * sl / nl : 0) + (nr ? sr * sr / nr : 0));
}

static void check_brute_force(uint64_t seed) {
  brl_rng r;
  brl_rng_seed(&r, seed);
  int32_t X[N * C];
  float g[N];
  double gd[N];
  for (int i = 0; i < N * C; i++)
    X[i] = brl_rng_uniform(&r) < 0.1 ? -1 : (int32_t)brl_rng_below(&r, 6) * 7;
  for (int i = 0; i < N; i++) {
    g[i] = (float)brl_rng_normal(&r) + (X[i * C + 1] == 14 ? 1.5f : 0.0f);
    gd[i] = g[i];
  }
  brl_params p;
  brl_params_default(&p, 0, 1);
  p.n_cat_features = C;
  p.max_depth = 1;
  p.grow_policy = BRL_GROW_GREEDY;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create_cat(m, NULL, X, N, &b));
  CHECK_OK(brl_model_step(m, b, NULL, N, g, 0));
  double best = -1;
  for (int f = 0; f < C; f++)
    for (int32_t c = 0; c <= 35; c += 7)
      for (int dl = 0; dl < 2; dl++) {
        int ok;
        double sc = score_of(X, gd, f, c, dl, &ok);
        if (ok && sc > best)
          best = sc;
      }
  /* The engine's partition, scored the same way. */
  double sl = 0, sr = 0;
  int nl = 0, nr = 0;
  for (int i = 0; i < N; i++) {
    int leaf;
    CHECK_OK(brl_model_tree_leaf(m, 0, NULL, X + i * C, &leaf));
    if (leaf == 0)
      sl += gd[i], nl++;
    else
      sr += gd[i], nr++;
  }
  double got = sqrt((nl ? sl * sl / nl : 0) + (nr ? sr * sr / nr : 0));
  CHECK_MSG(got >= best * (1 - 1e-9), "seed %llu: engine %.10g < brute %.10g",
            (unsigned long long)seed, got, best);
  brl_batch_free(&b);
  brl_model_free(&m);
}

/* Routing: category 5 goes left at a split on 5; unseen codes (including
 * BRL_CAT_UNSEEN) go right; missing follows the learned side. */
static void check_routing(void) {
  const int n = 200;
  int32_t X[200];
  float g[200];
  for (int i = 0; i < n; i++) {
    X[i] = i % 10 == 0 ? -1 : (i % 4 == 0 ? 5 : i % 3);
    /* category 5 and missing share a large gradient: missing goes left */
    g[i] = (X[i] == 5 || X[i] < 0) ? 3.0f : -1.0f;
  }
  brl_params p;
  brl_params_default(&p, 0, 1);
  p.n_cat_features = 1;
  p.max_depth = 1;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create_cat(m, NULL, X, n, &b));
  CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  int32_t probe[5] = {5, -1, 1, 77, BRL_CAT_UNSEEN};
  int want[5] = {0, 0, 1, 1, 1};
  for (int i = 0; i < 5; i++) {
    int leaf;
    CHECK_OK(brl_model_tree_leaf(m, 0, NULL, probe + i, &leaf));
    CHECK_MSG(leaf == want[i], "code %d went to leaf %d", probe[i], leaf);
  }
  float out[5];
  CHECK_OK(brl_model_predict_cat(m, NULL, probe, 5, 0, -1, out));
  CHECK(out[0] < 0 && out[1] < 0 && out[2] > 0 && out[4] > 0);
  /* The model needs X_cat. */
  CHECK(brl_model_predict(m, NULL, 5, 0, -1, out) == BRL_EINVAL);
  brl_batch *b2 = NULL;
  CHECK(brl_batch_create(m, NULL, 5, &b2) == BRL_EINVAL && b2 == NULL);
  brl_batch_free(&b);
  brl_model_free(&m);
}

/* Mixed numeric + categorical models: SIMD == scalar, cache == predict,
 * save -> load identical. */
static void check_mixed(int grow) {
  const int n = 211, d = 3, c = 2, K = 2;
  brl_rng r;
  brl_rng_seed(&r, 8 + (uint64_t)grow);
  float *X = rand_matrix(&r, n, d, 0.05);
  int32_t Xc[211 * 2];
  for (int i = 0; i < n * c; i++)
    Xc[i] = brl_rng_uniform(&r) < 0.05 ? -1 : (int32_t)brl_rng_below(&r, 12);
  brl_params p;
  brl_params_default(&p, d, K);
  p.n_cat_features = c;
  p.grow_policy = grow;
  p.max_depth = 4;
  float w[5] = {1, 1, 1, 3, 3}; /* favour the categorical features */
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_model_set_feature_weights(m, w));
  CHECK_OK(brl_batch_create_cat(m, X, Xc, n, &b));
  float g[211 * 2];
  const float *cache;
  CHECK_OK(brl_batch_predictions(b, m, &cache));
  for (int t = 0; t < 20; t++) {
    for (int i = 0; i < n * K; i++)
      g[i] = (float)brl_rng_normal(&r) + (float)(Xc[(i / K) * c] % 3);
    CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  }
  double imp[5];
  CHECK_OK(brl_model_feature_importance(m, BRL_IMPORTANCE_SPLITS, imp));
  CHECK_MSG(imp[3] + imp[4] > 0, "no categorical split was chosen");
  float *a = malloc(sizeof(float) * n * K), *s = malloc(sizeof(float) * n * K);
  CHECK_OK(brl_model_predict_cat(m, X, Xc, n, 0, -1, a));
  CHECK_OK(brl_batch_predictions(b, m, &cache));
  CHECK(memcmp(a, cache, sizeof(float) * n * K) == 0);
  brl__simd_force(BRL_SIMD_SCALAR);
  CHECK_OK(brl_model_predict_cat(m, X, Xc, n, 0, -1, s));
  brl__simd_force(-1);
  CHECK(memcmp(a, s, sizeof(float) * n * K) == 0);
  void *buf;
  size_t len;
  CHECK_OK(brl_model_save_buffer(m, &buf, &len));
  brl_model *m2;
  CHECK_OK(brl_model_load_buffer(buf, len, &m2));
  CHECK_OK(brl_model_predict_cat(m2, X, Xc, n, 0, -1, s));
  CHECK(memcmp(a, s, sizeof(float) * n * K) == 0);
  brl_free(buf);
  brl_model_free(&m2);
  free(a);
  free(s);
  free(X);
  brl_batch_free(&b);
  brl_model_free(&m);
}

static void check_dictionary(void) {
  brl_params p;
  brl_params_default(&p, 1, 1);
  p.n_cat_features = 2;
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  const char *words[4] = {"wall,grey,0", "door,red,1", "key,blue,0", ""};
  int32_t code;
  for (int i = 0; i < 4; i++) {
    CHECK_OK(brl_model_cat_encode(m, 1, words[i], 1, &code));
    CHECK(code == i);
  }
  CHECK_OK(brl_model_cat_encode(m, 1, "door,red,1", 1, &code));
  CHECK(code == 1); /* stable: adding again keeps the code */
  CHECK_OK(brl_model_cat_encode(m, 1, "lava", 0, &code));
  CHECK(code == BRL_CAT_UNSEEN && brl_model_cat_size(m, 1) == 4);
  CHECK(brl_model_cat_size(m, 0) == 0);
  CHECK(brl_model_cat_encode(m, 2, "x", 1, &code) == BRL_EINVAL);
  char big[40];
  for (int i = 0; i < 300; i++) { /* force rehashing */
    snprintf(big, sizeof big, "value-%d", i);
    CHECK_OK(brl_model_cat_encode(m, 0, big, 1, &code));
  }
  CHECK(brl_model_cat_size(m, 0) == 300);
  void *buf;
  size_t len;
  CHECK_OK(brl_model_save_buffer(m, &buf, &len));
  brl_model *m2;
  CHECK_OK(brl_model_load_buffer(buf, len, &m2));
  int same = 1;
  for (int i = 0; i < 300; i++) {
    snprintf(big, sizeof big, "value-%d", i);
    CHECK_OK(brl_model_cat_encode(m2, 0, big, 0, &code));
    same &= code == i && strcmp(brl_model_cat_decode(m2, 0, i), big) == 0;
  }
  CHECK(same);
  CHECK(strcmp(brl_model_cat_decode(m2, 1, 2), "key,blue,0") == 0);
  CHECK(brl_model_cat_decode(m2, 1, 4) == NULL);
  brl_free(buf);
  brl_model_free(&m2);
  brl_model_free(&m);
}

int main(void) {
  for (uint64_t seed = 1; seed <= 60; seed++)
    check_brute_force(seed);
  check_routing();
  check_mixed(0);
  check_mixed(1);
  check_dictionary();
  return brl_test_report("test_categorical");
}
