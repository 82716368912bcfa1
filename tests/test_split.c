/* Histogram split finding equals a brute-force search over every threshold
 * between distinct values, for greedy and oblivious trees, cosine and L2,
 * with feature weights and min_data_in_leaf. */
#include "testlib.h"
#include "util.h"

#include <math.h>

#define N 60
#define D 3
#define K 2

/* Brute-force score of splitting `idx` (n samples) by x[f] <= thr. */
static double bf_score(const float *X, const double *G, const int *idx, int n,
                       int f, float thr, int l2, int min_leaf, int need_both,
                       int *ok) {
  double sl[K] = {0}, sr[K] = {0};
  int nl = 0, nr = 0;
  for (int i = 0; i < n; i++) {
    int r = idx[i];
    double *s = X[r * D + f] <= thr ? (nl++, sl) : (nr++, sr);
    for (int k = 0; k < K; k++)
      s[k] += G[r * K + k];
  }
  *ok = !((nl > 0 && nl < min_leaf) || (nr > 0 && nr < min_leaf) ||
          (need_both && (!nl || !nr)));
  double t = 0;
  for (int k = 0; k < K; k++)
    t += (nl ? sl[k] * sl[k] / nl : 0) + (nr ? sr[k] * sr[k] / nr : 0);
  return l2 ? t : sqrt(t);
}

/* Gradients as the engine scores them: z-scored per column for L2. */
static void score_grads(const float *g, int l2, double *G) {
  for (int k = 0; k < K; k++) {
    double mean = 0, var = 0;
    for (int i = 0; i < N; i++)
      mean += g[i * K + k];
    mean /= N;
    for (int i = 0; i < N; i++)
      var += (g[i * K + k] - mean) * (g[i * K + k] - mean);
    double sd = sqrt(var / N);
    for (int i = 0; i < N; i++)
      G[i * K + k] = l2 ? (g[i * K + k] - mean) / sd : g[i * K + k];
  }
}

/* Candidate thresholds: the distinct values of feature f except the max. */
static int thresholds(const float *X, int f, float *out) {
  int n = 0;
  for (int i = 0; i < N; i++) {
    float v = X[i * D + f];
    int seen = 0;
    for (int j = 0; j < n; j++)
      seen |= out[j] == v;
    if (!seen)
      out[n++] = v;
  }
  float mx = -INFINITY;
  for (int j = 0; j < n; j++)
    mx = out[j] > mx ? out[j] : mx;
  int m = 0;
  for (int j = 0; j < n; j++)
    if (out[j] < mx)
      out[m++] = out[j];
  return m;
}

static void check_case(int grow, int l2, int min_leaf, const float *fw,
                       uint64_t seed) {
  brl_rng r;
  brl_rng_seed(&r, seed);
  float *X = rand_grid(&r, N, D, 12);
  float g[N * K];
  for (int i = 0; i < N * K; i++)
    g[i] = (float)brl_rng_normal(&r);
  double G[N * K];
  score_grads(g, l2, G);
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = 2;
  p.grow_policy = grow;
  p.split_score = l2;
  p.min_data_in_leaf = min_leaf;
  brl_model *m;
  brl_batch *b;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_model_set_feature_weights(m, fw));
  CHECK_OK(brl_batch_create(m, X, N, &b));
  CHECK_OK(brl_model_step(m, b, NULL, N, g, 0));
  brl_tree_info info;
  CHECK_OK(brl_model_tree_info(m, 0, &info));

  int all[N];
  for (int i = 0; i < N; i++)
    all[i] = i;
  float thr[N];
  /* Root: best weighted score over all (feature, threshold). */
  double best = -1, parent = 0;
  {
    double s[K] = {0};
    for (int i = 0; i < N; i++)
      for (int k = 0; k < K; k++)
        s[k] += G[i * K + k];
    for (int k = 0; k < K; k++)
      parent += s[k] * s[k] / N;
    parent = l2 ? parent : sqrt(parent);
  }
  for (int f = 0; f < D; f++) {
    int nt = thresholds(X, f, thr);
    for (int j = 0; j < nt; j++) {
      int ok;
      double sc =
          bf_score(X, G, all, N, f, thr[j], l2, min_leaf, grow == 1, &ok);
      if (ok && sc * fw[f] > best)
        best = sc * fw[f];
    }
  }
  /* The engine's root split, scored by brute force. */
  float x0[D];
  int chosen_f = -1;
  float chosen_t = 0;
  {
    /* Recover the root split from the partition of the samples. */
    for (int f = 0; f < D && chosen_f < 0; f++) {
      int nt = thresholds(X, f, thr);
      for (int j = 0; j < nt && chosen_f < 0; j++) {
        int same = 1;
        for (int i = 0; i < N && same; i++) {
          memcpy(x0, X + i * D, sizeof x0);
          int leaf;
          brl_model_tree_leaf(m, 0, x0, NULL, &leaf);
          int right_root = info.depth == 2 ? leaf >> 1 : leaf;
          same = right_root == !(X[i * D + f] <= thr[j]);
        }
        if (same)
          chosen_f = f, chosen_t = thr[j];
      }
    }
  }
  if (best > parent * (1 + 1e-9)) {
    CHECK_MSG(info.depth >= 1, "grow %d l2 %d: no split, best %g", grow, l2,
              best);
    CHECK_MSG(chosen_f >= 0, "grow %d l2 %d: root partition not a threshold",
              grow, l2);
    if (chosen_f >= 0) {
      int ok;
      double sc = bf_score(X, G, all, N, chosen_f, chosen_t, l2, min_leaf,
                           grow == 1, &ok) *
                  fw[chosen_f];
      CHECK_MSG(ok && sc >= best * (1 - 1e-9),
                "grow %d l2 %d min_leaf %d: engine root score %.12g < brute "
                "force %.12g",
                grow, l2, min_leaf, sc, best);
    }
  }
  /* Oblivious second level: the best sum over both children. */
  if (grow == 0 && info.depth == 2 && chosen_f >= 0) {
    int li[N], ri[N], nl = 0, nr = 0;
    for (int i = 0; i < N; i++) {
      if (X[i * D + chosen_f] <= chosen_t)
        li[nl++] = i;
      else
        ri[nr++] = i;
    }
    double best2 = -1, got = -1;
    int leafs[N];
    for (int i = 0; i < N; i++)
      brl_model_tree_leaf(m, 0, X + i * D, NULL, &leafs[i]);
    for (int f = 0; f < D; f++) {
      int nt = thresholds(X, f, thr);
      for (int j = 0; j < nt; j++) {
        int ok1, ok2;
        double sc = (bf_score(X, G, li, nl, f, thr[j], l2, min_leaf, 0, &ok1) +
                     bf_score(X, G, ri, nr, f, thr[j], l2, min_leaf, 0, &ok2)) *
                    fw[f];
        if (!(ok1 && ok2))
          continue;
        if (sc > best2)
          best2 = sc;
        int same = 1;
        for (int i = 0; i < N && same; i++)
          same = (leafs[i] & 1) == !(X[i * D + f] <= thr[j]);
        if (same && sc > got)
          got = sc;
      }
    }
    CHECK_MSG(got >= best2 * (1 - 1e-9),
              "oblivious level 2: engine %.12g < brute force %.12g", got,
              best2);
  }
  brl_batch_free(&b);
  brl_model_free(&m);
  free(X);
}

int main(void) {
  const float ones[D] = {1, 1, 1}, weighted[D] = {0.3f, 1.0f, 2.5f};
  for (uint64_t seed = 1; seed <= 40; seed++)
    for (int grow = 0; grow < 2; grow++)
      for (int l2 = 0; l2 < 2; l2++) {
        check_case(grow, l2, 0, ones, seed);
        check_case(grow, l2, 0, weighted, seed + 100);
        check_case(grow, l2, 7, ones, seed + 200);
      }
  return brl_test_report("test_split");
}
