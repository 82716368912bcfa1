/* Boosting with MSE gradients lowers the training error of a synthetic
 * regression to within 5% of a brute-force reference booster (exact trees
 * over every threshold, the same depth, rate and tree count): greedy trees,
 * and oblivious trees with cosine and L2 level scores. The features take
 * 200 distinct values, so 255 bins can represent every threshold; a second
 * data set with continuous features shows the cost of quantization. */
#include "testlib.h"
#include "util.h"

#include <math.h>
#include <stdio.h>

#define N 600
#define D 4
#define TREES 60
#define DEPTH 3
#define LR 0.1

static double target(const float *x) {
  return sin(2.0 * x[0]) + 0.5 * x[1] * x[1] - (x[2] > 0.3 ? 1.0 : 0.0);
}

static double rmse(const double *pred, const double *y) {
  double s = 0;
  for (int i = 0; i < N; i++)
    s += (pred[i] - y[i]) * (pred[i] - y[i]);
  return sqrt(s / N);
}

/* Reference: recursive exact greedy tree on residual gradients. */
static void ref_tree(const float *X, const double *g, int *idx, int n,
                     int depth, double *pred) {
  double s = 0;
  for (int i = 0; i < n; i++)
    s += g[idx[i]];
  double parent = n ? s * s / n : 0;
  int best_f = -1;
  float best_t = 0;
  double best = parent;
  if (depth > 0 && n >= 2) {
    for (int f = 0; f < D; f++)
      for (int c = 0; c < n; c++) {
        float t = X[idx[c] * D + f];
        double sl = 0;
        int nl = 0;
        for (int i = 0; i < n; i++)
          if (X[idx[i] * D + f] <= t)
            sl += g[idx[i]], nl++;
        int nr = n - nl;
        if (!nl || !nr)
          continue;
        double sc = sl * sl / nl + (s - sl) * (s - sl) / nr;
        if (sc > best) {
          best = sc;
          best_f = f;
          best_t = t;
        }
      }
  }
  if (best_f < 0) {
    for (int i = 0; i < n; i++)
      pred[idx[i]] -= LR * s / n;
    return;
  }
  int *l = malloc(sizeof(int) * (size_t)n),
      *r = malloc(sizeof(int) * (size_t)n);
  int nl = 0, nr = 0;
  for (int i = 0; i < n; i++)
    if (X[idx[i] * D + best_f] <= best_t)
      l[nl++] = idx[i];
    else
      r[nr++] = idx[i];
  ref_tree(X, g, l, nl, depth - 1, pred);
  ref_tree(X, g, r, nr, depth - 1, pred);
  free(l);
  free(r);
}

/* Reference oblivious tree: per level the (feature, threshold) with the
 * largest sum of node scores (sqrt per node for cosine). */
static void ref_oblivious(const float *X, const double *g, int cosine,
                          double *pred) {
  int node[N] = {0};
  for (int l = 0; l < DEPTH; l++) {
    int nn = 1 << l, best_f = -1;
    float best_t = 0;
    double best = 0;
    double s[1 << DEPTH] = {0};
    int c[1 << DEPTH] = {0};
    for (int i = 0; i < N; i++)
      s[node[i]] += g[i], c[node[i]]++;
    for (int j = 0; j < nn; j++)
      best +=
          c[j] ? (cosine ? fabs(s[j]) / sqrt(c[j]) : s[j] * s[j] / c[j]) : 0;
    for (int f = 0; f < D; f++)
      for (int cand = 0; cand < N; cand++) {
        float t = X[cand * D + f];
        double sl[1 << DEPTH] = {0};
        int nl[1 << DEPTH] = {0};
        for (int i = 0; i < N; i++)
          if (X[i * D + f] <= t)
            sl[node[i]] += g[i], nl[node[i]]++;
        double sc = 0;
        for (int j = 0; j < nn; j++) {
          double sr = s[j] - sl[j];
          int nr = c[j] - nl[j];
          double v =
              (nl[j] ? sl[j] * sl[j] / nl[j] : 0) + (nr ? sr * sr / nr : 0);
          sc += cosine ? sqrt(v) : v;
        }
        if (sc > best * (1 + 1e-12)) {
          best = sc;
          best_f = f;
          best_t = t;
        }
      }
    if (best_f < 0)
      break;
    for (int i = 0; i < N; i++)
      node[i] = 2 * node[i] + !(X[i * D + best_f] <= best_t);
  }
  double s[1 << DEPTH] = {0};
  int c[1 << DEPTH] = {0};
  for (int i = 0; i < N; i++)
    s[node[i]] += g[i], c[node[i]]++;
  for (int i = 0; i < N; i++)
    pred[i] -= LR * s[node[i]] / c[node[i]];
}

static double fit_engine(const float *X, const double *y, int grow, int l2) {
  brl_params p;
  brl_params_default(&p, D, 1);
  p.max_depth = DEPTH;
  p.grow_policy = grow;
  p.split_score = l2 ? BRL_SCORE_L2 : BRL_SCORE_COSINE;
  p.groups[0].lr = (float)LR;
  p.groups[0].lr_end = (float)LR;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_batch_create(m, X, N, &b));
  float g[N];
  double pred[N];
  const float *cache;
  double first = 0, last = 0;
  for (int t = 0; t < TREES; t++) {
    CHECK_OK(brl_batch_predictions(b, m, &cache));
    for (int i = 0; i < N; i++) {
      pred[i] = cache[i];
      g[i] = (float)(pred[i] - y[i]);
    }
    if (t == 0)
      first = rmse(pred, y);
    CHECK_OK(brl_model_step(m, b, NULL, N, g, 0));
  }
  CHECK_OK(brl_batch_predictions(b, m, &cache));
  for (int i = 0; i < N; i++)
    pred[i] = cache[i];
  last = rmse(pred, y);
  CHECK_MSG(last < 0.5 * first, "training RMSE %g did not drop from %g", last,
            first);
  /* The cache equals a fresh prediction bit for bit. */
  float *full = malloc(sizeof(float) * N);
  CHECK_OK(brl_model_predict(m, X, N, 0, -1, full));
  CHECK(memcmp(full, cache, sizeof(float) * N) == 0);
  free(full);
  brl_batch_free(&b);
  brl_model_free(&m);
  return last;
}

static double reference(const float *X, const double *y, int kind) {
  static double ref[N];
  int idx[N];
  memset(ref, 0, sizeof ref);
  for (int t = 0; t < TREES; t++) {
    double g[N];
    for (int i = 0; i < N; i++) {
      g[i] = ref[i] - y[i];
      idx[i] = i;
    }
    if (kind == 0)
      ref_tree(X, g, idx, N, DEPTH, ref);
    else
      ref_oblivious(X, g, kind == 1, ref);
  }
  return rmse(ref, y);
}

int main(void) {
  brl_rng r;
  brl_rng_seed(&r, 3);
  float *X = rand_grid(&r, N, D, 200);
  for (int i = 0; i < N * D; i++)
    X[i] *= 0.02f; /* 200 levels in [-0.06, 1.93] */
  double y[N];
  for (int i = 0; i < N; i++)
    y[i] = target(X + i * D) + 0.1 * brl_rng_normal(&r);
  const char *names[3] = {"greedy", "oblivious cosine", "oblivious l2"};
  for (int kind = 0; kind < 3; kind++) {
    double ref = reference(X, y, kind);
    double got = fit_engine(X, y, kind ? BRL_GROW_OBLIVIOUS : BRL_GROW_GREEDY,
                            kind == 2);
    printf("%s: reference RMSE %.4f, boostrl %.4f\n", names[kind], ref, got);
    CHECK_MSG(got <= ref * 1.05, "%s: RMSE %g vs reference %g", names[kind],
              got, ref);
  }
  /* Continuous features: more distinct values than bins. */
  float *Xc = rand_matrix(&r, N, D, 0);
  for (int i = 0; i < N; i++)
    y[i] = target(Xc + i * D) + 0.1 * brl_rng_normal(&r);
  double ref = reference(Xc, y, 0);
  double got = fit_engine(Xc, y, BRL_GROW_GREEDY, 0);
  printf("continuous greedy: reference RMSE %.4f, boostrl %.4f\n", ref, got);
  CHECK_MSG(got <= ref * 1.15, "continuous: RMSE %g vs reference %g", got, ref);
  free(X);
  free(Xc);
  return brl_test_report("test_fit");
}
