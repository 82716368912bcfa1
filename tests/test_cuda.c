/* The CUDA backend against the CPU backend: on the same batches and
 * gradients every tree has the same splits (features, flags, thresholds,
 * gains bit for bit), the same covers, and the same leaf values bit for
 * bit (both sum fixed-point gradients and store them through the engine's
 * brl__tree_assemble); the prediction caches agree; device prediction over tree
 * ranges is identical bit for bit to the CPU's; results are the same run
 * to run. Every engine feature: greedy and oblivious, cosine and L2,
 * categorical features, missing values, output groups with schedules and
 * score weights, feature weights, minibatch rows, min_data_in_leaf,
 * uniform bins, Adam.
 *
 * Without a GPU (or in a build without CUDA) it checks the refusal and
 * exits with 77 (SKIP_RETURN_CODE in CMakeLists.txt: CTest reports it as
 * skipped). Configured with -DBRL_CUDA_EMU=ON it runs everything on
 * the CPU emulator of CUDA. */
#include "backend/backend.h"
#include "engine/model.h"
#include "testlib.h"
#include "util.h"

#include <math.h>
#include <stdio.h>

#define SKIPPED 77

typedef struct scenario {
  const char *name;
  int n, D, C, cats;
  int depth, greedy, l2, adam;
  int groups;    /* 1: two groups with schedules and score weights */
  int minibatch; /* 1: each step on a random half of the rows */
  int min_leaf, bins, uniform, weights, steps;
  double nan_p;
  int outputs; /* without groups: output columns (0: 3) */
} scenario;

static const scenario scenarios[] = {
    /* name n D C cats depth greedy l2 adam groups minibatch min_leaf bins
       uniform weights steps nan outputs */
    {"oblivious", 700, 6, 0, 0, 4, 0, 0, 0, 0, 0, 0, 256, 0, 0, 12, 0.0, 0},
    {"greedy", 700, 6, 0, 0, 4, 1, 0, 0, 0, 0, 0, 256, 0, 0, 12, 0.0, 0},
    {"obl-l2-nan", 900, 5, 0, 0, 5, 0, 1, 0, 0, 0, 0, 64, 0, 0, 10, 0.1, 0},
    {"greedy-l2-nan", 900, 5, 0, 0, 5, 1, 1, 0, 0, 0, 3, 64, 0, 0, 10, 0.1, 0},
    {"categorical", 800, 3, 3, 12, 4, 1, 0, 0, 0, 1, 0, 256, 0, 0, 10, 0.05, 0},
    {"obl-cat", 800, 3, 2, 40, 4, 0, 0, 0, 0, 0, 0, 16, 0, 1, 10, 0.05, 0},
    {"groups", 600, 4, 1, 5, 3, 1, 0, 0, 1, 1, 5, 32, 1, 1, 12, 0.0, 0},
    {"groups-obl-l2", 600, 4, 0, 0, 3, 0, 1, 0, 1, 0, 0, 256, 1, 0, 12, 0.02,
     0},
    {"adam", 500, 4, 1, 6, 3, 1, 0, 1, 1, 0, 0, 256, 0, 0, 10, 0.05, 0},
    {"adam-obl", 500, 4, 0, 0, 4, 0, 1, 1, 0, 1, 0, 256, 0, 0, 10, 0.0, 0},
    {"deep-greedy", 1200, 4, 0, 0, 7, 1, 0, 0, 0, 0, 2, 256, 0, 0, 4, 0.02, 0},
    {"tiny", 20, 2, 0, 0, 5, 1, 0, 0, 0, 0, 0, 256, 0, 0, 6, 0.0, 0},
    /* several histogram tiles and work items per node, K = 9 */
    {"wide", 6000, 10, 0, 0, 4, 0, 0, 0, 0, 1, 0, 256, 0, 0, 4, 0.01, 9},
    {"wide-greedy", 6000, 6, 4, 300, 5, 1, 1, 0, 0, 0, 0, 256, 0, 0, 3, 0.01,
     9},
    /* K = 30: histogram tiles split by columns, slices and leaf sums too
     * large for shared memory */
    {"outputs-30", 1500, 4, 1, 9, 8, 1, 0, 0, 0, 1, 0, 256, 0, 0, 3, 0.02, 30},
    {"outputs-30-obl", 1500, 4, 0, 0, 8, 0, 1, 0, 0, 0, 0, 256, 0, 0, 3, 0.02,
     30},
};

static void make_params(const scenario *s, brl_params *p) {
  brl_params_default(p, s->D, s->groups ? 2 : s->outputs ? s->outputs : 3);
  if (s->groups) {
    p->n_groups = 2;
    p->groups[0].lr = 0.2f;
    p->groups[0].lr_end = 0.05f;
    p->groups[0].schedule = BRL_SCHEDULE_LINEAR_TREES;
    p->groups[0].schedule_trees = s->steps / 2;
    p->groups[0].score_weight = 0.5f;
    p->groups[1] = p->groups[0];
    p->groups[1].n_outputs = 2;
    p->groups[1].lr = 0.05f;
    p->groups[1].lr_end = 0.3f;
    p->groups[1].schedule = BRL_SCHEDULE_LINEAR_PROGRESS;
    p->groups[1].score_weight = 2.0f;
  }
  p->max_depth = s->depth;
  p->grow_policy = s->greedy ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
  p->split_score = s->l2 ? BRL_SCORE_L2 : BRL_SCORE_COSINE;
  p->n_cat_features = s->C;
  p->min_data_in_leaf = s->min_leaf;
  p->n_bins = s->bins;
  p->bin_method = s->uniform ? BRL_BINS_UNIFORM : BRL_BINS_QUANTILE;
  if (s->adam) {
    p->optimizer = BRL_OPTIMIZER_ADAM;
    p->adam_beta1 = 0.8f;
    p->adam_beta2 = 0.95f;
    p->adam_eps = 1e-6f;
  }
}

/* Trees of a (CPU) and b (CUDA): same structure, leaf values close;
 * exact = 1 also requires identical leaf values. */
static int same_trees(const brl_model *a, const brl_model *b, int exact,
                      const char *name) {
  const brl_trees *A = &a->trees, *B = &b->trees;
  const int K = a->n_outputs;
  int ok = A->n == B->n;
  CHECK_MSG(ok, "%s: %d vs %d trees", name, A->n, B->n);
  for (int t = 0; ok && t < A->n; t++) {
    if (A->depth[t] != B->depth[t] || A->flags[t] != B->flags[t] ||
        A->split_off[t + 1] != B->split_off[t + 1] ||
        A->leaf_off[t + 1] != B->leaf_off[t + 1]) {
      CHECK_MSG(0, "%s: tree %d: depth %d/%d flags %d/%d", name, t, A->depth[t],
                B->depth[t], A->flags[t], B->flags[t]);
      return 0;
    }
    for (uint32_t s = A->split_off[t]; s < A->split_off[t + 1]; s++)
      if (A->split[s] != B->split[s] ||
          memcmp(&A->threshold[s], &B->threshold[s], 4) ||
          memcmp(&A->gain[s], &B->gain[s], 4)) {
        CHECK_MSG(0,
                  "%s: tree %d split %u: feature/flags %08x/%08x thr %.9g/%.9g "
                  "gain %.9g/%.9g",
                  name, t, s - A->split_off[t], A->split[s], B->split[s],
                  (double)A->threshold[s], (double)B->threshold[s],
                  (double)A->gain[s], (double)B->gain[s]);
        return 0;
      }
    const int nl = 1 << A->depth[t];
    const float *va = A->value + (int64_t)A->leaf_off[t] * K;
    const float *vb = B->value + (int64_t)B->leaf_off[t] * K;
    double vmax = 0.0;
    for (int e = 0; e < nl * K; e++)
      vmax = fmax(vmax, fabs((double)va[e]));
    for (int i = 0; i < nl; i++) {
      if (A->cover[A->leaf_off[t] + i] != B->cover[B->leaf_off[t] + i]) {
        CHECK_MSG(0, "%s: tree %d leaf %d cover %g/%g", name, t, i,
                  (double)A->cover[A->leaf_off[t] + i],
                  (double)B->cover[B->leaf_off[t] + i]);
        return 0;
      }
      for (int k = 0; k < K; k++) {
        double x = va[k * nl + i], y = vb[k * nl + i];
        double tol = exact ? 0.0 : 1e-5 * fmax(fabs(x), fabs(y)) + 1e-7 * vmax;
        if (fabs(x - y) > tol) {
          CHECK_MSG(0, "%s: tree %d leaf %d output %d: %.9g vs %.9g", name, t,
                    i, k, x, y);
          return 0;
        }
      }
    }
    for (int g = 0; g < A->n_lr; g++)
      if (A->lr[(int64_t)t * A->n_lr + g] != B->lr[(int64_t)t * B->n_lr + g]) {
        CHECK_MSG(0, "%s: tree %d group %d rate differs", name, t, g);
        return 0;
      }
  }
  CHECK(ok);
  return ok;
}

static int close_arrays(const float *a, const float *b, int64_t n, double rel,
                        const char *what, const char *name) {
  double amax = 0.0;
  for (int64_t i = 0; i < n; i++)
    amax = fmax(amax, fabs((double)a[i]));
  for (int64_t i = 0; i < n; i++) {
    double tol = rel * (fabs((double)a[i]) + 1e-2 * amax);
    if (!(fabs((double)a[i] - (double)b[i]) <= tol)) {
      CHECK_MSG(0, "%s: %s[%lld]: %.9g vs %.9g", name, what, (long long)i,
                (double)a[i], (double)b[i]);
      return 0;
    }
  }
  CHECK(1);
  return 1;
}

typedef struct run_out {
  brl_model *m;
  brl_batch *b;
} run_out;

/* Both runs step in lockstep on the same gradients. */
static void lockstep(const scenario *s, const float *X, const int32_t *Xc,
                     const float *y, run_out *c, run_out *d, int cuda) {
  brl_params p;
  make_params(s, &p);
  const int K = brl_params_n_outputs(&p);
  run_out *runs[2] = {c, d};
  for (int q = 0; q < 2; q++) {
    run_out *o = runs[q];
    CHECK_OK(brl_model_create(&p, &o->m));
    if (q == 1 && cuda)
      CHECK_OK(brl_model_set_backend(o->m, BRL_BACKEND_CUDA));
    float bias[32] = {0.25f, -0.5f, 0.125f, 1.0f};
    CHECK_OK(brl_model_set_bias(o->m, bias));
    if (s->weights) {
      float w[16];
      for (int f = 0; f < s->D + s->C; f++)
        w[f] = f == 1 ? 0.0f : f == 2 ? 2.5f : 1.0f;
      CHECK_OK(brl_model_set_feature_weights(o->m, w));
    }
    CHECK_OK(brl_batch_create_cat(o->m, X, Xc, s->n, &o->b));
    const float *pred;
    CHECK_OK(brl_batch_predictions(o->b, o->m, &pred)); /* cache on */
  }
  brl_rng r;
  brl_rng_seed(&r, 99);
  int32_t *rows = malloc(sizeof(int32_t) * (size_t)s->n);
  float *g = malloc(sizeof(float) * (size_t)s->n * (size_t)K);
  for (int step = 0; step < s->steps; step++) {
    int64_t nr = s->n;
    if (s->minibatch) {
      for (int i = 0; i < s->n; i++)
        rows[i] = i;
      for (int i = s->n - 1; i > 0; i--) {
        int j = (int)brl_rng_below(&r, (uint64_t)i + 1);
        int32_t t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
      }
      nr = s->n / 2;
    }
    /* Squared-error gradients at the CPU run's predictions. */
    const float *ref;
    CHECK_OK(brl_batch_predictions(c->b, c->m, &ref));
    for (int64_t i = 0; i < nr; i++) {
      int64_t row = s->minibatch ? rows[i] : i;
      for (int k = 0; k < K; k++)
        g[i * K + k] = ref[row * K + k] - y[row * K + k];
    }
    for (int q = 0; q < 2; q++)
      CHECK_OK(brl_model_step(runs[q]->m, runs[q]->b,
                              s->minibatch ? rows : NULL, nr, g,
                              (float)step / (float)s->steps));
  }
  free(rows);
  free(g);
}

static void free_run(run_out *o) {
  brl_batch_free(&o->b);
  brl_model_free(&o->m);
}

static void run_scenario(const scenario *s) {
  brl_rng r;
  brl_rng_seed(&r, 1234 + (uint64_t)s->n);
  float *X = rand_matrix(&r, s->n, s->D, s->nan_p);
  int32_t *Xc = malloc(sizeof(int32_t) * ((size_t)s->n * (size_t)s->C + 1));
  for (int64_t i = 0; i < (int64_t)s->n * s->C; i++)
    Xc[i] = brl_rng_uniform(&r) < s->nan_p
                ? -1
                : (int32_t)brl_rng_below(&r, (uint64_t)s->cats);
  brl_params p;
  make_params(s, &p);
  const int K = brl_params_n_outputs(&p);
  float *y = malloc(sizeof(float) * (size_t)s->n * (size_t)K);
  for (int64_t i = 0; i < s->n; i++)
    for (int k = 0; k < K; k++) {
      float x0 = X[i * s->D], x1 = X[i * s->D + 1];
      float c = s->C ? (float)(Xc[i * s->C] % 3) : 0.0f;
      y[i * K + k] = (isnan(x0) ? 1.0f : x0) * (float)(k + 1) +
                     (isnan(x1) ? -1.0f : x1 * x1) + c +
                     0.1f * (float)brl_rng_normal(&r);
    }
  run_out c = {0}, d = {0}, d2 = {0}, c2 = {0};
  lockstep(s, X, Xc, y, &c, &d, 1);
  if (c.m && d.m) {
    same_trees(c.m, d.m, 1, s->name);
    /* The CUDA run's cache is its own prediction, bit for bit, and close
     * to the CPU run's. */
    const float *pc, *pd;
    CHECK_OK(brl_batch_predictions(c.b, c.m, &pc));
    CHECK_OK(brl_batch_predictions(d.b, d.m, &pd));
    float *fresh = malloc(sizeof(float) * (size_t)s->n * (size_t)K);
    CHECK_OK(brl_model_predict_cat(d.m, X, Xc, s->n, 0, -1, fresh));
    CHECK_MSG(memcmp(fresh, pd, sizeof(float) * (size_t)s->n * K) == 0,
              "%s: cache of the CUDA run differs from its prediction", s->name);
    close_arrays(pc, pd, (int64_t)s->n * K, 1e-4, "cache", s->name);
    free(fresh);
    /* Tree ranges through the backend: device vs CPU, bit for bit. */
    if (!s->adam) {
      const int64_t n2 = 40000;
      float *X2 = rand_matrix(&r, n2, s->D, s->nan_p);
      int32_t *Xc2 = malloc(sizeof(int32_t) * ((size_t)n2 * s->C + 1));
      for (int64_t i = 0; i < n2 * s->C; i++)
        Xc2[i] = (int32_t)brl_rng_below(&r, (uint64_t)s->cats + 2) - 1;
      float *o1 = malloc(sizeof(float) * (size_t)n2 * K);
      float *o2 = malloc(sizeof(float) * (size_t)n2 * K);
      const int T = d.m->trees.n;
      const int ranges[3][2] = {{0, T}, {T / 3, T}, {1, T - 1}};
      for (int q = 0; q < 3; q++) {
        for (int64_t i = 0; i < n2 * K; i++)
          o1[i] = o2[i] = (float)(i % 7) * 0.5f;
        CHECK_OK(d.m->backend->predict_add(d.m, X2, Xc2, n2, ranges[q][0],
                                           ranges[q][1], o1));
        brl__predict_add(d.m, X2, Xc2, n2, ranges[q][0], ranges[q][1], o2, 1);
        CHECK_MSG(memcmp(o1, o2, sizeof(float) * (size_t)n2 * K) == 0,
                  "%s: device prediction of trees [%d, %d) differs", s->name,
                  ranges[q][0], ranges[q][1]);
      }
      free(X2);
      free(Xc2);
      free(o1);
      free(o2);
    }
    /* Run to run: the same trees bit for bit. */
    lockstep(s, X, Xc, y, &c2, &d2, 1);
    if (d2.m)
      same_trees(d.m, d2.m, 1, s->name);
  }
  free_run(&c);
  free_run(&d);
  free_run(&c2);
  free_run(&d2);
  free(X);
  free(Xc);
  free(y);
}

/* Random ensembles of every kind of tree (oblivious and greedy, pass
 * nodes, categorical splits, missing sides, depths 0 to 12, many chunks,
 * trees too large for shared memory), features staged in shared memory or
 * not, outputs beyond one register pass: device prediction equals the CPU
 * bit for bit. */
static brl_model *random_ensemble(brl_rng *rp, int D, int C, int K) {
  brl_rng r = *rp;
  brl_params p;
  brl_params_default(&p, D, K);
  p.n_cat_features = C;
  p.max_depth = 12;
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  brl_trees *T = &m->trees;
  for (int t = 0; t < 260; t++) {
    const int obl = brl_rng_below(&r, 2) == 0;
    const int d = t == 7 ? 12 : (int)brl_rng_below(&r, obl ? 7 : 8);
    const int64_t ns = brl__tree_splits(obl, d), nl = brl__tree_leaves(d);
    CHECK_OK(brl__trees_reserve(T, K, ns, nl));
    const int64_t so = T->split_off[T->n], lo = T->leaf_off[T->n];
    for (int64_t s = 0; s < ns; s++) {
      unsigned fl = (unsigned)brl_rng_below(&r, 2); /* default left */
      int f;
      float thr;
      if (!obl && brl_rng_below(&r, 5) == 0) {
        f = 0, thr = INFINITY, fl = BRL_SPLIT_DEFAULT_LEFT | BRL_SPLIT_PASS;
      } else if (C && brl_rng_below(&r, 3) == 0) {
        f = D + (int)brl_rng_below(&r, (uint64_t)C);
        thr = brl__code_to_thr((int32_t)brl_rng_below(&r, 6));
        fl |= BRL_SPLIT_CAT;
      } else {
        f = (int)brl_rng_below(&r, (uint64_t)D);
        thr = (float)brl_rng_normal(&r);
      }
      T->split[so + s] = BRL_SPLIT_PACK(f, fl);
      T->threshold[so + s] = thr;
      T->gain[so + s] = 1.0f;
    }
    for (int64_t i = 0; i < nl; i++) {
      T->cover[lo + i] = 1.0f;
      for (int k = 0; k < K; k++)
        T->value[(lo + i) * K + k] = (float)brl_rng_normal(&r);
    }
    brl__trees_commit(T, d, obl, ns, nl);
    for (int64_t s = 0; s < ns; s++) /* as tree_grow.c marks them */
      if (BRL_SPLIT_FLAGS(T->split[so + s]) & BRL_SPLIT_CAT)
        T->flags[T->n - 1] |= BRL_TREE_HAS_CAT;
  }
  *rp = r;
  return m;
}

static void predict_many(int D, int C, int K, int64_t n, uint64_t seed) {
  brl_rng r;
  brl_rng_seed(&r, seed);
  brl_model *m = random_ensemble(&r, D, C, K);
  brl_trees *T = &m->trees;
  float *X = rand_matrix(&r, n, D, 0.05);
  int32_t *Xc = malloc(sizeof(int32_t) * ((size_t)n * C + 1));
  for (int64_t i = 0; i < n * C; i++)
    Xc[i] = (int32_t)brl_rng_below(&r, 8) - 1;
  CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CUDA));
  float *o1 = malloc(sizeof(float) * (size_t)n * K);
  float *o2 = malloc(sizeof(float) * (size_t)n * K);
  const int nt = T->n, ranges[4][2] = {{0, nt}, {nt / 2, nt}, {3, 40}, {7, 8}};
  for (int q = 0; q < 4; q++) {
    for (int64_t i = 0; i < n * K; i++)
      o1[i] = o2[i] = (float)(i % 5) - 2.0f;
    CHECK_OK(
        m->backend->predict_add(m, X, Xc, n, ranges[q][0], ranges[q][1], o1));
    brl__predict_add(m, X, Xc, n, ranges[q][0], ranges[q][1], o2, 1);
    int64_t bad = 0;
    for (int64_t i = 0; i < n * K; i++)
      bad += memcmp(&o1[i], &o2[i], 4) != 0;
    CHECK_MSG(bad == 0,
              "predict D=%d C=%d K=%d trees [%d, %d): %lld values differ", D, C,
              K, ranges[q][0], ranges[q][1], (long long)bad);
  }
  free(X);
  free(Xc);
  free(o1);
  free(o2);
  brl_model_free(&m);
}

/* Host data in new device memory (the emulator faults on any host access
 * to it). */
static void *to_device(const void *host, size_t bytes) {
  void *d = NULL;
  CHECK_OK(brl_device_alloc(bytes, &d));
  CHECK_OK(brl_device_copy(d, host, bytes));
  return d;
}

/* brl_model_predict_device: inputs and outputs in device memory, never
 * staged through the host; bias + trees equal to brl_model_predict_cat bit
 * for bit over tree ranges (bias only from tree 0, an empty range), the
 * output's old contents ignored; the refusals. */
static void predict_device(int D, int C, int K, int64_t n, uint64_t seed) {
  brl_rng r;
  brl_rng_seed(&r, seed);
  brl_model *m = random_ensemble(&r, D, C, K);
  float bias[32];
  for (int k = 0; k < K; k++)
    bias[k] = (float)brl_rng_normal(&r);
  CHECK_OK(brl_model_set_bias(m, bias));
  float *X = rand_matrix(&r, n, D, 0.05);
  int32_t *Xc = malloc(sizeof(int32_t) * ((size_t)n * C + 1));
  for (int64_t i = 0; i < n * C; i++)
    Xc[i] = (int32_t)brl_rng_below(&r, 8) - 1;
  const size_t no = sizeof(float) * (size_t)n * K;
  float *want = malloc(no), *got = malloc(no);
  for (int64_t i = 0; i < n * K; i++)
    got[i] = NAN;
  float *dX = to_device(X, sizeof(float) * (size_t)n * D);
  int32_t *dXc = C ? to_device(Xc, sizeof(int32_t) * (size_t)n * C) : NULL;
  float *dout = to_device(got, no);
  /* On the CPU backend: refused, naming what to do. */
  int rc = brl_model_predict_device(m, dX, dXc, n, 0, -1, dout);
  CHECK(rc == BRL_EUNSUPPORTED);
  CHECK_MSG(strstr(brl_last_error(), "CUDA backend") != NULL, "%s",
            brl_last_error());
  CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CUDA));
  const int nt = m->trees.n;
  const int ranges[6][2] = {{0, nt}, {nt / 2, nt}, {3, 40},
                            {7, 8},  {0, 0},       {5, 5}};
  for (int q = 0; q < 6; q++) {
    const int a = ranges[q][0], b = ranges[q][1];
    CHECK_OK(brl_device_copy(dout, got, no)); /* stale contents: NaN */
    CHECK_OK(brl_model_predict_device(m, dX, dXc, n, a, b, dout));
    float *back = malloc(no);
    CHECK_OK(brl_device_copy(back, dout, no));
    CHECK_OK(brl_model_predict_cat(m, X, Xc, n, a, b, want));
    int64_t bad = 0;
    for (int64_t i = 0; i < n * K; i++)
      bad += memcmp(&back[i], &want[i], 4) != 0;
    CHECK_MSG(bad == 0,
              "predict_device D=%d C=%d K=%d trees [%d, %d): %lld values "
              "differ",
              D, C, K, a, b, (long long)bad);
    free(back);
  }
  /* stop = -1 is every tree; 0 rows touch nothing. */
  CHECK_OK(brl_model_predict_device(m, dX, dXc, n, 0, -1, dout));
  CHECK_OK(brl_model_predict_device(m, dX, dXc, 0, 0, -1, dout));
  CHECK(brl_model_predict_device(m, dX, dXc, n, 3, nt + 1, dout) == BRL_EINVAL);
  if (C)
    CHECK(brl_model_predict_device(m, dX, NULL, n, 0, -1, dout) == BRL_EINVAL);
  CHECK(brl_model_predict_device(m, dX, dXc, -1, 0, -1, dout) == BRL_EINVAL);
  CHECK_OK(brl_device_free(dX));
  CHECK_OK(brl_device_free(dXc));
  CHECK_OK(brl_device_free(dout));
  free(X);
  free(Xc);
  free(want);
  free(got);
  brl_model_free(&m);
}

/* An Adam ensemble is not a sum of trees: refused on the device. */
static void predict_device_adam(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  p.optimizer = BRL_OPTIMIZER_ADAM;
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CUDA));
  float x[2] = {0.5f, 1.0f}, *dx = to_device(x, sizeof x), *dout = NULL;
  CHECK_OK(brl_device_alloc(sizeof(float), (void **)&dout));
  CHECK(brl_model_predict_device(m, dx, NULL, 1, 0, -1, dout) ==
        BRL_EUNSUPPORTED);
  CHECK(strstr(brl_last_error(), "Adam") != NULL);
  CHECK_OK(brl_device_free(dx));
  CHECK_OK(brl_device_free(dout));
  brl_model_free(&m);
}

/* Without CUDA: the device calls refuse with the reason. */
static void device_refused(brl_model *m) {
  float x[2] = {0}, out[1];
  void *d = (void *)1;
  CHECK(brl_model_predict_device(m, x, NULL, 1, 0, -1, out) ==
        BRL_EUNSUPPORTED);
  CHECK(strstr(brl_last_error(), "cpu backend") != NULL);
  CHECK(brl_device_alloc(64, &d) == BRL_EUNSUPPORTED);
  CHECK(d == NULL);
  CHECK(strstr(brl_last_error(), "CUDA") != NULL);
  CHECK(brl_device_copy(out, x, 4) == BRL_EUNSUPPORTED);
  CHECK_OK(brl_device_free(NULL));
}

/* One batch, models of growing depth (the device state is rebuilt), and a
 * model file written from a CUDA model loads anywhere. */
static void batch_reuse(void) {
  brl_rng r;
  brl_rng_seed(&r, 5);
  const int n = 400, D = 3;
  float *X = rand_matrix(&r, n, D, 0.0);
  float g[400];
  for (int i = 0; i < n; i++)
    g[i] = X[i * D] > 0 ? 1.0f : -1.0f;
  brl_batch *b = NULL;
  for (int depth = 2; depth <= 6; depth += 2) {
    brl_params p;
    brl_params_default(&p, D, 1);
    p.max_depth = depth;
    brl_model *m, *mc;
    CHECK_OK(brl_model_create(&p, &m));
    CHECK_OK(brl_model_create(&p, &mc));
    CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CUDA));
    if (!b)
      CHECK_OK(brl_batch_create(m, X, n, &b));
    CHECK_OK(brl_model_step(m, b, NULL, n, g, 0.0f));
    CHECK_OK(brl_model_step(mc, b, NULL, n, g, 0.0f));
    same_trees(mc, m, 1, "batch reuse");
    void *buf;
    size_t len;
    brl_model *l;
    CHECK_OK(brl_model_save_buffer(m, &buf, &len));
    CHECK_OK(brl_model_load_buffer(buf, len, &l));
    same_trees(m, l, 1, "saved CUDA model");
    brl_free(buf);
    brl_model_free(&l);
    brl_model_free(&m);
    brl_model_free(&mc);
  }
  brl_batch_free(&b);
  free(X);
}

int main(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  if (!brl_backend_available(BRL_BACKEND_CUDA)) {
    int rc = brl_model_set_backend(m, BRL_BACKEND_CUDA);
    CHECK(rc == BRL_EUNSUPPORTED);
    CHECK(strstr(brl_last_error(), "CUDA") != NULL);
    CHECK(m->backend == brl__backend_cpu());
    char why[256];
    snprintf(why, sizeof why, "%s", brl_last_error());
    device_refused(m);
    printf("test_cuda: skipped (%s)\n", why);
    brl_model_free(&m);
    /* The refusal checks passed: exit with CTest's SKIP_RETURN_CODE, so
     * that the run shows as skipped, not passed. */
    return brl_test_report("test_cuda") ? 1 : SKIPPED;
  }
  CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CUDA));
  CHECK(strcmp(m->backend->name, "cuda") == 0);
  CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CPU));
  brl_model_free(&m);
  for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) {
    int before = brl_test_failed;
    run_scenario(&scenarios[i]);
    printf("test_cuda: %-14s %s\n", scenarios[i].name,
           brl_test_failed == before ? "ok" : "FAILED");
    fflush(stdout);
  }
  int before = brl_test_failed;
  predict_many(5, 2, 3, 70000, 1);  /* features staged in shared memory */
  predict_many(12, 3, 9, 70000, 2); /* transposed features, K > 4 */
  printf("test_cuda: %-14s %s\n", "predict",
         brl_test_failed == before ? "ok" : "FAILED");
  before = brl_test_failed;
  predict_device(5, 2, 3, 3000, 3);  /* features staged in shared memory */
  predict_device(12, 3, 9, 1500, 4); /* transposed features, K > 4 */
  predict_device(4, 0, 1, 2100, 5);  /* no categorical features */
  predict_device_adam();
  printf("test_cuda: %-14s %s\n", "predict_device",
         brl_test_failed == before ? "ok" : "FAILED");
  batch_reuse();
  return brl_test_report("test_cuda");
}
