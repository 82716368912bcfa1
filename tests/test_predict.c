/* Prediction: the vector paths (AVX-512, AVX2) equal the scalar path bit
 * for bit for every tree kind and depth (greedy and oblivious, 0 to 12),
 * with and without missing values, pass-through nodes, both default
 * directions, several output chunks, tree ranges and row counts that are
 * not a multiple of 16; tree ranges add up to the whole; the batch cache
 * equals a fresh prediction bit for bit and follows bias changes and
 * truncation. */
#include "testlib.h"
#include "util.h"

#include "core/text.h"
#include "engine/predict.h"

#include <math.h>

static const char *level_name[3] = {"scalar", "avx2", "avx512"};

/* Splits seen in the greedy models of check_paths: pass-throughs, numeric
 * splits sending missing values left and right. */
static int64_t seen_pass, seen_left, seen_right;

static void count_splits(const brl_model *m) {
  const brl_trees *T = &m->trees;
  for (int t = 0; t < T->n; t++) {
    if (T->flags[t] & BRL_TREE_OBLIVIOUS)
      continue;
    for (uint32_t s = T->split_off[t]; s < T->split_off[t + 1]; s++) {
      unsigned fl = BRL_SPLIT_FLAGS(T->split[s]);
      if (fl & BRL_SPLIT_PASS)
        seen_pass++;
      else if (fl & BRL_SPLIT_DEFAULT_LEFT)
        seen_left++;
      else
        seen_right++;
    }
  }
}

/* Every SIMD level equals the scalar path bit for bit on rows [0, n) of X
 * (Xc: codes) over trees [start, stop), and on the first few rows alone
 * (fewer than 16: a padded block). */
static void same_as_scalar(const brl_model *m, const float *X,
                           const int32_t *Xc, int n, int start, int stop,
                           const char *what) {
  const int K = brl_model_n_outputs(m);
  const int rows[] = {n, 1, 8, 15, 17, 40};
  size_t sz = sizeof(float) * (size_t)(n * K);
  float *ref = malloc(sz), *got = malloc(sz);
  for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
    const int nr = rows[ri] < n ? rows[ri] : n;
    const size_t bytes = sizeof(float) * (size_t)(nr * K);
    brl__simd_force(BRL_SIMD_SCALAR);
    CHECK_OK(brl_model_predict_cat(m, X, Xc, nr, start, stop, ref));
    int best = BRL_SIMD_AVX512;
    brl__simd_force(-1);
    best = brl__simd_level();
    for (int level = 1; level <= best; level++) {
      brl__simd_force(level);
      memset(got, 0xFF, sz);
      CHECK_OK(brl_model_predict_cat(m, X, Xc, nr, start, stop, got));
      CHECK_MSG(memcmp(ref, got, bytes) == 0,
                "%s differs from scalar (%s, %d rows, trees [%d, %d))",
                level_name[level], what, nr, start, stop);
    }
  }
  brl__simd_force(-1);
  free(ref);
  free(got);
}

/* A copy of m with a tree of depth 0 before every fifth tree and after
 * the last. */
static brl_model *with_constants(const brl_model *m) {
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs;
  const float v0[10] = {0.5f, -1.0f, 2.0f, 0.25f,  -0.5f,
                        1.5f, -2.0f, 3.0f, 0.125f, 4.0f};
  const float c0[1] = {1.0f};
  brl_model *c;
  if (brl_model_create(&m->p, &c))
    return NULL;
  for (int t = 0; t <= T->n; t++) {
    const int obl = (T->flags[t < T->n ? t : 0] & BRL_TREE_OBLIVIOUS) != 0;
    if (t % 5 == 0 || t == T->n)
      CHECK_OK(brl__model_append_tree(c, 0, obl, NULL, NULL, NULL, v0 + t % 2,
                                      c0, NULL));
    if (t == T->n)
      break;
    const uint32_t so = T->split_off[t], lo = T->leaf_off[t];
    CHECK_OK(brl__model_append_tree(
        c, T->depth[t], obl, T->split + so, T->threshold + so, T->gain + so,
        T->value + (int64_t)lo * K, T->cover + lo, NULL));
  }
  return c;
}

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
  if (grow == BRL_GROW_GREEDY)
    count_splits(m);
  /* With trees of depth 0 (constants, as a loaded model may hold) among
   * the others: before trees 0, 5, 10, 15, 20 and after the last. */
  brl_model *mc = with_constants(m);
  brl_model_free(&m);
  m = mc;
  CHECK(m != NULL);
  if (!m)
    return;
  const int nt = m->trees.n;
  char what[64];
  snprintf(what, sizeof what, "grow %d depth %d K %d", grow, depth, K);
  float *Xt = rand_matrix(&r, n, d, 0.1);
  float *Xf = rand_matrix(&r, n, d, 0.0); /* no missing values */
  size_t sz = sizeof(float) * (size_t)(n * K);
  float *ref = malloc(sz), *got = malloc(sz);
  CHECK_OK(brl__model_predict_scalar(m, Xt, n, 0, -1, ref));
  int best = brl__simd_level();
  for (int level = 1; level <= best; level++) {
    brl__simd_force(level);
    CHECK_OK(brl_model_predict(m, Xt, n, 0, -1, got));
    CHECK_MSG(memcmp(ref, got, sz) == 0, "%s differs from scalar (%s)",
              level_name[level], what);
  }
  brl__simd_force(-1);
  same_as_scalar(m, Xt, NULL, n, 0, -1, what);
  same_as_scalar(m, Xf, NULL, n, 0, -1, what);
  same_as_scalar(m, Xt, NULL, n, 7, 19, what);
  same_as_scalar(m, Xf, NULL, n, 19, nt, what);
  if (grow == BRL_GROW_GREEDY) {
    /* Flip every split's default direction, pass-throughs included, and
     * give pass-throughs a finite threshold: they must still send everyone
     * left. */
    brl_trees *T = &m->trees;
    for (uint32_t s = 0; s < T->split_off[T->n]; s++) {
      T->split[s] ^= BRL_SPLIT_PACK(0, BRL_SPLIT_DEFAULT_LEFT);
      if (BRL_SPLIT_FLAGS(T->split[s]) & BRL_SPLIT_PASS)
        T->threshold[s] = -1.0f;
    }
    snprintf(what, sizeof what, "flipped, grow %d depth %d K %d", grow, depth,
             K);
    same_as_scalar(m, Xt, NULL, n, 0, -1, what);
    same_as_scalar(m, Xf, NULL, n, 3, 22, what);
  }
  /* Ranges add up: bias + [0, a) + [a, b) + [b, n). */
  CHECK_OK(brl__model_predict_scalar(m, Xt, n, 0, -1, ref));
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
  CHECK(brl_model_predict(m, Xt, n, 0, nt + 1, got) == BRL_EINVAL);
  free(ref);
  free(got);
  free(part);
  free(Xf);
  free(Xt);
  free(X);
  brl_model_free(&m);
}

/* Numeric and categorical features: greedy trees with categorical splits
 * walk per lane, the others in vectors; a pass-through that names a
 * categorical feature (possible in a loaded model) still sends everyone
 * left, missing codes (-1, NaN bits as a float) included. */
static void check_mixed(int depth, uint64_t seed) {
  const int n = 150, d = 3, c = 2, K = 3;
  brl_rng r;
  brl_rng_seed(&r, seed);
  float *X = rand_matrix(&r, n, d, 0.05);
  int32_t *Xc = malloc(sizeof(int32_t) * (size_t)(n * c));
  for (int i = 0; i < n * c; i++)
    Xc[i] = brl_rng_uniform(&r) < 0.1 ? -1 : (int32_t)brl_rng_below(&r, 6);
  brl_params p;
  brl_params_default(&p, d, K);
  p.n_cat_features = c;
  p.grow_policy = BRL_GROW_GREEDY;
  p.max_depth = depth;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create_cat(m, X, Xc, n, &b));
  float *g = malloc(sizeof(float) * (size_t)(n * K));
  for (int t = 0; t < 20; t++) {
    for (int i = 0; i < n * K; i++)
      g[i] = (float)brl_rng_normal(&r) +
             (t % 2 ? (float)(Xc[(i / K) * c] % 3) : 0.0f);
    CHECK_OK(brl_model_step(m, b, NULL, n, g, 0));
  }
  char what[64];
  snprintf(what, sizeof what, "mixed, depth %d", depth);
  same_as_scalar(m, X, Xc, n, 0, -1, what);
  float *Xf = rand_matrix(&r, n, d, 0.0);
  same_as_scalar(m, Xf, Xc, n, 0, -1, what);
  /* Every other tree: categorical splits become pass-throughs (keeping
   * their feature), so the tree has none; then in the trees without
   * categorical splits, one more node becomes a pass-through, and every
   * pass-through names categorical feature 1 (finite threshold, missing to
   * the left or right). */
  brl_trees *T = &m->trees;
  int renamed = 0;
  for (int t = 0; t < T->n; t += 2) {
    for (uint32_t s = T->split_off[t]; s < T->split_off[t + 1]; s++)
      if (BRL_SPLIT_FLAGS(T->split[s]) & BRL_SPLIT_CAT)
        T->split[s] ^= BRL_SPLIT_PACK(0, BRL_SPLIT_CAT | BRL_SPLIT_PASS);
    T->flags[t] &= (uint8_t)~BRL_TREE_HAS_CAT;
  }
  for (int t = 0; t < T->n; t++) {
    if (T->flags[t] & BRL_TREE_HAS_CAT)
      continue;
    const uint32_t s0 = T->split_off[t], ns = T->split_off[t + 1] - s0;
    T->split[s0 + (uint32_t)t % ns] |= BRL_SPLIT_PACK(0, BRL_SPLIT_PASS);
    for (uint32_t s = s0; s < s0 + ns; s++)
      if (BRL_SPLIT_FLAGS(T->split[s]) & BRL_SPLIT_PASS) {
        T->split[s] = BRL_SPLIT_PACK(d + 1, BRL_SPLIT_FLAGS(T->split[s]) ^
                                                (s % 2 ? 0 : 1));
        T->threshold[s] = 0.5f;
        renamed++;
      }
  }
  snprintf(what, sizeof what, "mixed, pass on a code, depth %d", depth);
  same_as_scalar(m, X, Xc, n, 0, -1, what);
  same_as_scalar(m, Xf, Xc, n, 0, -1, what);
  CHECK_MSG(renamed > 0, "no tree without categorical splits (depth %d)",
            depth);
  free(Xf);
  free(g);
  free(Xc);
  free(X);
  brl_batch_free(&b);
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
    for (int depth = 1; depth <= BRL_MAX_DEPTH; depth++)
      for (int K = 1; K <= 9; K += K < 5 ? 2 : 4) /* 1, 3, 5, 9 */
        check_paths(grow, depth, K, 1000 + (uint64_t)(depth * 10 + K));
  CHECK_MSG(seen_pass > 0 && seen_left > 0 && seen_right > 0,
            "greedy models lack a kind of split: %lld pass-through, %lld "
            "missing-left, %lld missing-right",
            (long long)seen_pass, (long long)seen_left, (long long)seen_right);
  for (int depth = 1; depth <= 8; depth++)
    check_mixed(depth, 70 + (uint64_t)depth);
  check_cache(0);
  check_cache(1);
  return brl_test_report("test_predict");
}
