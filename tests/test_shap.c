/* SHAP values: contributions plus the expected value add up to the
 * prediction on random models of every kind (oblivious and greedy, numeric
 * and categorical, missing values, several outputs); they equal brute-force
 * Shapley values over all feature subsets of the path-dependent conditional
 * expectation on small models and on hand-built trees (pass-through nodes,
 * a feature repeated on a path, empty leaves, a tree without covers); the
 * expected value is the cover-weighted mean leaf value; the result does not
 * depend on the thread count; Adam ensembles are refused. */
#include "testlib.h"
#include "util.h"

#include "core/text.h"
#include "engine/predict.h"

#include <math.h>
#include <stdio.h>

/* A model grown on random gradients with numeric and categorical data. */
static brl_model *grow_mixed(const brl_params *p, const float *X,
                             const int32_t *Xc, int64_t n, int steps,
                             uint64_t seed) {
  brl_model *m = NULL;
  brl_batch *b = NULL;
  if (brl_model_create(p, &m) || brl_batch_create_cat(m, X, Xc, n, &b))
    return NULL;
  brl_rng r;
  brl_rng_seed(&r, seed);
  const int K = brl_model_n_outputs(m), D = p->n_features;
  float *g = malloc(sizeof(float) * (size_t)(n * K));
  for (int s = 0; s < steps; s++) {
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < K; k++) {
        /* Signal on the first features so that trees split on them. */
        float sig = D > 0 && !isnan(X[i * D]) ? X[i * D] : 0.5f;
        if (p->n_cat_features > 0 && Xc[i * p->n_cat_features] == 2)
          sig += 1.5f;
        g[i * K + k] = (float)brl_rng_normal(&r) + (k + 1) * sig;
      }
    if (brl_model_step(m, b, NULL, n, g, (float)s / (float)steps)) {
      brl_model_free(&m);
      break;
    }
  }
  free(g);
  brl_batch_free(&b);
  return m;
}

static int32_t *rand_codes(brl_rng *r, int64_t n, int c, int levels) {
  int32_t *x = malloc(sizeof(int32_t) * (size_t)(n * c + 1));
  for (int64_t i = 0; i < n * c; i++)
    x[i] = brl_rng_uniform(r) < 0.1 ? -1 : (int32_t)brl_rng_below(r, levels);
  return x;
}

/* ---------------------------------------------------- brute force */

static int is_pass(const brl_model *m, int t, int l, int p) {
  const brl_trees *T = &m->trees;
  return !(T->flags[t] & BRL_TREE_OBLIVIOUS) && l < T->depth[t] &&
         (BRL_SPLIT_FLAGS(T->split[T->split_off[t] + (1 << l) - 1 + p]) &
          BRL_SPLIT_PASS);
}

static double cover_of(const brl_model *m, int t, int l, int p) {
  if (is_pass(m, t, l, p))
    return cover_of(m, t, l + 1, 2 * p);
  if (l == m->trees.depth[t]) {
    float c;
    brl_model_leaf_value(m, t, p, 0, NULL, &c);
    return c;
  }
  return cover_of(m, t, l + 1, 2 * p) + cover_of(m, t, l + 1, 2 * p + 1);
}

/* E[tree | x_S] by the path-dependent recursion (in_s: feature in S). */
static double cond_exp(const brl_model *m, int t, int l, int p, int k,
                       const float *x, const int32_t *xc, const int *in_s) {
  const brl_trees *T = &m->trees;
  if (is_pass(m, t, l, p))
    return cond_exp(m, t, l + 1, 2 * p, k, x, xc, in_s);
  if (l == T->depth[t]) {
    float v;
    brl_model_leaf_value(m, t, p, k, &v, NULL);
    return v;
  }
  const int s = (T->flags[t] & BRL_TREE_OBLIVIOUS) ? l : (1 << l) - 1 + p;
  const uint32_t sp = T->split[T->split_off[t] + s];
  if (in_s[BRL_SPLIT_FEATURE(sp)]) {
    int r = brl__goes_right(sp, T->threshold[T->split_off[t] + s], x, xc,
                            m->p.n_features);
    return cond_exp(m, t, l + 1, 2 * p + r, k, x, xc, in_s);
  }
  double c = cover_of(m, t, l, p), cl = cover_of(m, t, l + 1, 2 * p),
         cr = cover_of(m, t, l + 1, 2 * p + 1);
  double el = cond_exp(m, t, l + 1, 2 * p, k, x, xc, in_s),
         er = cond_exp(m, t, l + 1, 2 * p + 1, k, x, xc, in_s);
  return c > 0 ? (cl * el + cr * er) / c : 0.5 * (el + er);
}

static double value_of_set(const brl_model *m, unsigned set, int k,
                           const float *x, const int32_t *xc) {
  int in_s[16];
  for (int f = 0; f < m->n_feat; f++)
    in_s[f] = (set >> f) & 1u;
  double v = m->bias[k];
  for (int t = 0; t < m->trees.n; t++)
    v += cond_exp(m, t, 0, 0, k, x, xc, in_s);
  return v;
}

/* phi (F + 1) x K by enumerating every subset. */
static void brute_shap(const brl_model *m, const float *x, const int32_t *xc,
                       double *phi) {
  const int F = m->n_feat, K = m->n_outputs;
  double fact[17] = {1};
  for (int i = 1; i <= 16; i++)
    fact[i] = fact[i - 1] * i;
  for (int k = 0; k < K; k++) {
    double *vs = malloc(sizeof(double) << F);
    for (unsigned set = 0; set < (1u << F); set++)
      vs[set] = value_of_set(m, set, k, x, xc);
    for (int j = 0; j < F; j++) {
      double s = 0;
      for (unsigned set = 0; set < (1u << F); set++) {
        if (set & (1u << j))
          continue;
        int size = __builtin_popcount(set);
        s += fact[size] * fact[F - size - 1] / fact[F] *
             (vs[set | (1u << j)] - vs[set]);
      }
      phi[j * K + k] = s;
    }
    phi[F * K + k] = vs[0];
    free(vs);
  }
}

/* Checks additivity on rows, and brute force on the first n_brute rows. */
static void check_model(const char *what, const brl_model *m, const float *X,
                        const int32_t *Xc, int64_t n, int n_brute) {
  const int D = m->p.n_features, C = m->p.n_cat_features, F = m->n_feat,
            K = m->n_outputs;
  float *phi = malloc(sizeof(float) * (size_t)(n * (F + 1) * K));
  float *pred = malloc(sizeof(float) * (size_t)(n * K));
  CHECK_OK(brl_model_shap(m, X, Xc, n, phi));
  CHECK_OK(brl_model_predict_cat(m, X, Xc, n, 0, -1, pred));
  double worst = 0;
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int j = 0; j <= F; j++)
        s += phi[(i * (F + 1) + j) * K + k];
      double p = pred[i * K + k];
      double err = fabs(s - p) / fmax(fabs(p), 1.0);
      if (err > worst)
        worst = err;
    }
  CHECK_MSG(worst <= 1e-4, "%s: additivity error %.3g", what, worst);
  double worst_b = 0;
  double *ref = malloc(sizeof(double) * (size_t)((F + 1) * K));
  for (int64_t i = 0; i < n_brute && i < n; i++) {
    brute_shap(m, X + i * D, Xc ? Xc + i * C : NULL, ref);
    for (int j = 0; j <= F; j++)
      for (int k = 0; k < K; k++) {
        double a = phi[(i * (F + 1) + j) * K + k], b = ref[j * K + k];
        double err = fabs(a - b) / fmax(fabs(b), 1e-3);
        if (err > worst_b)
          worst_b = err;
      }
  }
  CHECK_MSG(worst_b <= 1e-4, "%s: brute-force error %.3g", what, worst_b);
  free(ref);
  free(phi);
  free(pred);
}

static void random_models(void) {
  brl_rng r;
  brl_rng_seed(&r, 7);
  const int64_t n = 300;
  for (int policy = 0; policy < 2; policy++)
    for (int cat = 0; cat < 2; cat++)
      for (int depth = 2; depth <= 6; depth += 2) {
        const int D = 4, C = cat ? 2 : 0;
        float *X = rand_matrix(&r, n, D, 0.1);
        int32_t *Xc = rand_codes(&r, n, C ? C : 1, 5);
        brl_params p;
        brl_params_default(&p, D, 2);
        p.n_groups = 2;
        p.groups[1] = p.groups[0];
        p.groups[1].n_outputs = 1;
        p.groups[1].lr = 0.3f;
        p.grow_policy = policy ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
        p.max_depth = depth;
        p.n_cat_features = C;
        p.n_threads = 1;
        brl_model *m = grow_mixed(&p, X, C ? Xc : NULL, n, 30, 100 + depth);
        CHECK(m != NULL);
        if (!m)
          continue;
        /* Fresh rows, with unseen category codes. */
        float *Xt = rand_matrix(&r, 200, D, 0.15);
        int32_t *Xct = rand_codes(&r, 200, C ? C : 1, 8);
        char what[96];
        snprintf(what, sizeof what, "%s depth %d%s",
                 policy ? "greedy" : "oblivious", depth,
                 cat ? " categorical" : "");
        /* Brute force over 2^6 subsets: a few rows of the shallow ones. */
        check_model(what, m, Xt, C ? Xct : NULL, 200, depth <= 4 ? 6 : 2);
        /* Expected value = bias + cover-weighted mean leaf per tree. */
        float ev[3];
        CHECK_OK(brl_model_expected_value(m, ev));
        for (int k = 0; k < 3; k++) {
          double e = m->bias[k];
          for (int t = 0; t < m->trees.n; t++) {
            double sv = 0, sc = 0;
            for (int l = 0; l < (1 << m->trees.depth[t]); l++) {
              float v, c;
              brl_model_leaf_value(m, t, l, k, &v, &c);
              sv += (double)v * c;
              sc += c;
            }
            e += sv / sc;
          }
          CHECK_MSG(fabs(e - ev[k]) <= 1e-5 * fmax(1, fabs(e)),
                    "%s: expected value %g vs %g", what, (double)ev[k], e);
        }
        free(X);
        free(Xc);
        free(Xt);
        free(Xct);
        brl_model_free(&m);
      }
}

/* Hand-built trees: a greedy tree with pass-through nodes and a feature
 * used twice on a path, an oblivious tree with empty leaves and a
 * categorical level, a tree with no covers, a depth-0 tree. */
static void hand_built(void) {
  brl_params p;
  brl_params_default(&p, 3, 2);
  p.n_cat_features = 1;
  p.max_depth = 3;
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  const float bias[2] = {0.25f, -1.0f};
  CHECK_OK(brl_model_set_bias(m, bias));
  const uint32_t DL = BRL_SPLIT_DEFAULT_LEFT;
  /* Greedy depth 3: 7 nodes in heap order. */
  uint32_t sp1[7] = {BRL_SPLIT_PACK(0, 0),
                     BRL_SPLIT_PACK(1, DL),
                     BRL_SPLIT_PACK(0, DL | BRL_SPLIT_PASS),
                     BRL_SPLIT_PACK(0, 0), /* x0 again */
                     BRL_SPLIT_PACK(3, BRL_SPLIT_CAT),
                     BRL_SPLIT_PACK(0, DL | BRL_SPLIT_PASS),
                     BRL_SPLIT_PACK(0, DL | BRL_SPLIT_PASS)};
  float th1[7] = {0.5f,     -0.25f,  INFINITY, -1.0f, brl__code_to_thr(2),
                  INFINITY, INFINITY};
  float gain[7] = {0};
  float v1[16], c1[8] = {3, 5, 2, 7, 4, 0, 0, 0};
  for (int i = 0; i < 16; i++)
    v1[i] = (float)((i * 37) % 11) - 5.0f;
  CHECK_OK(brl__model_append_tree(m, 3, 0, sp1, th1, gain, v1, c1, NULL));
  /* Oblivious depth 3 with empty leaves. */
  uint32_t sp2[3] = {BRL_SPLIT_PACK(2, DL),
                     BRL_SPLIT_PACK(3, BRL_SPLIT_CAT | DL),
                     BRL_SPLIT_PACK(2, 0)};
  float th2[3] = {0.0f, brl__code_to_thr(1), 1.0f};
  float v2[16], c2[8] = {4, 0, 0, 6, 1, 0, 9, 2};
  for (int i = 0; i < 16; i++)
    v2[i] = (float)((i * 53) % 13) * 0.25f - 1.0f;
  CHECK_OK(brl__model_append_tree(m, 3, 1, sp2, th2, gain, v2, c2, NULL));
  /* No covers at all: the children weigh half each. */
  float c3[8] = {0};
  CHECK_OK(brl__model_append_tree(m, 3, 1, sp2, th2, gain, v1, c3, NULL));
  /* Depth 0: a constant. */
  float v4[2] = {0.5f, 2.0f}, c4[1] = {10};
  CHECK_OK(brl__model_append_tree(m, 0, 0, NULL, NULL, NULL, v4, c4, NULL));
  brl_rng r;
  brl_rng_seed(&r, 3);
  const int n = 400;
  float *X = malloc(sizeof(float) * n * 3);
  int32_t *Xc = malloc(sizeof(int32_t) * n);
  for (int i = 0; i < n * 3; i++)
    X[i] = brl_rng_uniform(&r) < 0.15
               ? NAN
               : (float)brl_rng_below(&r, 9) * 0.5f - 2.0f;
  for (int i = 0; i < n; i++)
    Xc[i] = (int32_t)brl_rng_below(&r, 5) - 1;
  check_model("hand-built", m, X, Xc, n, n);
  /* A row routed through every kind of node: the brute force above covers
   * it; here also the expected value by hand for tree 1 (cover-weighted). */
  float ev[2];
  CHECK_OK(brl_model_expected_value(m, ev));
  double e0 = bias[0] + 0.5;
  double s = 0;
  for (int l = 0; l < 8; l++)
    s += v1[l] * c1[l];
  e0 += s / 21.0;
  s = 0;
  for (int l = 0; l < 8; l++)
    s += v2[l] * c2[l];
  e0 += s / 22.0;
  s = 0;
  for (int l = 0; l < 8; l++)
    s += v1[l] / 8.0;
  e0 += s;
  CHECK_MSG(fabs(ev[0] - e0) < 1e-5, "expected value %g vs %g", (double)ev[0],
            e0);
  free(X);
  free(Xc);
  brl_model_free(&m);
}

static void threads_and_errors(void) {
  brl_rng r;
  brl_rng_seed(&r, 11);
  const int n = 500, D = 5;
  float *X = rand_matrix(&r, n, D, 0.05);
  brl_params p;
  brl_params_default(&p, D, 3);
  p.max_depth = 5;
  p.grow_policy = BRL_GROW_GREEDY;
  brl_model *m = grow_random(&p, X, n, 40, 5);
  CHECK(m != NULL);
  const size_t len = (size_t)n * (D + 1) * 3;
  float *a = malloc(sizeof(float) * len), *b = malloc(sizeof(float) * len);
  CHECK_OK(brl_model_set_threads(m, 1));
  CHECK_OK(brl_model_shap(m, X, NULL, n, a));
  CHECK_OK(brl_model_set_threads(m, 4));
  CHECK_OK(brl_model_shap(m, X, NULL, n, b));
  CHECK(memcmp(a, b, sizeof(float) * len) == 0);
  /* Errors. */
  CHECK(brl_model_shap(NULL, X, NULL, n, a) == BRL_EINVAL);
  CHECK(brl_model_shap(m, NULL, NULL, n, a) == BRL_EINVAL);
  CHECK(brl_model_shap(m, X, NULL, -1, a) == BRL_EINVAL);
  CHECK_OK(brl_model_shap(m, X, NULL, 0, NULL));
  brl_model_free(&m);
  p.optimizer = BRL_OPTIMIZER_ADAM;
  m = grow_random(&p, X, n, 3, 5);
  CHECK(m != NULL);
  CHECK(brl_model_shap(m, X, NULL, n, a) == BRL_EUNSUPPORTED);
  CHECK(strstr(brl_last_error(), "Adam") != NULL);
  float ev[3];
  CHECK(brl_model_expected_value(m, ev) == BRL_EUNSUPPORTED);
  brl_model_free(&m);
  /* No trees: everything is the expected value (the bias). */
  p.optimizer = BRL_OPTIMIZER_SGD;
  CHECK_OK(brl_model_create(&p, &m));
  const float bias[3] = {1, 2, 3};
  CHECK_OK(brl_model_set_bias(m, bias));
  CHECK_OK(brl_model_shap(m, X, NULL, 2, a));
  CHECK(a[0] == 0 && a[D * 3] == 1 && a[D * 3 + 2] == 3);
  brl_model_free(&m);
  free(a);
  free(b);
  free(X);
}

int main(void) {
  random_models();
  hand_built();
  threads_and_errors();
  return brl_test_report("test_shap");
}
