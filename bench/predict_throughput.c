/* Prediction throughput of the backends: R observations x D features
 * (N(0,1)) through T random oblivious trees of depth L with K outputs,
 * through the backend's predict_add (the CUDA backend copies X to the
 * device and the outputs back on every call; that is included). Prints
 * tree evaluations per second (rows x trees / seconds, median of the
 * timed calls after one warm-up call) and, with both devices, whether
 * their outputs are identical bit for bit. */
#include "backend/backend.h"
#include "boostrl.h"
#include "core/rng.h"
#include "engine/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void usage(FILE *to) {
  fprintf(to,
          "usage: predict_throughput [--rows R] [--trees T] [--depth L]\n"
          "             [--features D] [--outputs K] [--reps N] [--threads P]\n"
          "             [--device cpu|cuda|both] [--seed S] [--json]\n"
          "Times R observations through T random oblivious trees and prints\n"
          "tree evaluations per second for each device.\n");
}

/* T random oblivious trees of depth L. */
static int build(brl_model *m, int T, int L, brl_rng *rng) {
  const int K = m->n_outputs, D = m->p.n_features, nl = 1 << L;
  brl_trees *tr = &m->trees;
  for (int t = 0; t < T; t++) {
    int rc = brl__trees_reserve(tr, K, L, nl);
    if (rc)
      return rc;
    const int64_t so = tr->split_off[tr->n], lo = tr->leaf_off[tr->n];
    for (int l = 0; l < L; l++) {
      int f = (int)brl_rng_below(rng, (uint64_t)D);
      tr->split[so + l] = BRL_SPLIT_PACK(f, brl_rng_below(rng, 2));
      tr->threshold[so + l] = (float)(0.7 * brl_rng_normal(rng));
      tr->gain[so + l] = 1.0f;
    }
    for (int i = 0; i < nl; i++) {
      tr->cover[lo + i] = 1.0f;
      for (int k = 0; k < K; k++)
        tr->value[lo * K + k * nl + i] = (float)(0.01 * brl_rng_normal(rng));
    }
    brl__trees_commit(tr, L, 1, L, nl);
  }
  return BRL_OK;
}

static double run(const brl_backend *be, brl_model *m, const float *X,
                  const int32_t *Xc, int64_t rows, int reps, float *out) {
  const size_t bytes = sizeof(float) * (size_t)rows * (size_t)m->n_outputs;
  double *t = malloc(sizeof(double) * (size_t)reps);
  memset(out, 0, bytes);
  be->predict_add(m, X, Xc, rows, 0, m->trees.n, out); /* warm-up */
  for (int r = 0; r < reps; r++) {
    memset(out, 0, bytes);
    double s = now_s();
    be->predict_add(m, X, Xc, rows, 0, m->trees.n, out);
    t[r] = now_s() - s;
  }
  qsort(t, (size_t)reps, sizeof(double), cmp_double);
  double med = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
  free(t);
  return med;
}

int main(int argc, char **argv) {
  long long rows = 1000000;
  int trees = 10000, depth = 4, D = 8, K = 4, reps = 3, threads = 0, json = 0;
  unsigned long long seed = 0;
  const char *device = "both";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--rows"))
      rows = atoll(v);
    else if (!strcmp(a, "--trees"))
      trees = atoi(v);
    else if (!strcmp(a, "--depth"))
      depth = atoi(v);
    else if (!strcmp(a, "--features"))
      D = atoi(v);
    else if (!strcmp(a, "--outputs"))
      K = atoi(v);
    else if (!strcmp(a, "--reps"))
      reps = atoi(v);
    else if (!strcmp(a, "--threads"))
      threads = atoi(v);
    else if (!strcmp(a, "--seed"))
      seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--device") &&
             (!strcmp(v, "cpu") || !strcmp(v, "cuda") || !strcmp(v, "both")))
      device = v;
    else {
      fprintf(stderr, "predict_throughput: unknown option or value: %s %s\n", a,
              v);
      usage(stderr);
      return 2;
    }
  }
  if (rows < 1 || trees < 1 || reps < 1 || depth < 1 || depth > 12) {
    fprintf(stderr, "predict_throughput: bad sizes\n");
    return 2;
  }
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = depth;
  p.n_threads = threads;
  brl_model *m = NULL;
  if (brl_model_create(&p, &m)) {
    fprintf(stderr, "predict_throughput: %s\n", brl_last_error());
    return 1;
  }
  brl_rng rng;
  brl_rng_seed(&rng, seed);
  const size_t n = (size_t)rows;
  float *X = malloc(sizeof(float) * n * (size_t)D);
  int32_t Xc[1] = {0};
  float *out_cpu = malloc(sizeof(float) * n * (size_t)K);
  float *out_gpu = malloc(sizeof(float) * n * (size_t)K);
  if (!X || !out_cpu || !out_gpu || build(m, trees, depth, &rng)) {
    fprintf(stderr, "predict_throughput: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < n * (size_t)D; i++)
    X[i] = (float)brl_rng_normal(&rng);
  const int do_cpu = strcmp(device, "cuda") != 0;
  const int do_gpu = strcmp(device, "cpu") != 0;
  const brl_backend *cuda = brl__backend_cuda();
  if (do_gpu && !cuda) {
    brl_model_set_backend(m, BRL_BACKEND_CUDA);
    fprintf(stderr, "predict_throughput: %s\n", brl_last_error());
    if (!do_cpu)
      return 1;
  }
  const double evals = (double)rows * (double)trees;
  for (int q = 0; q < 2; q++) {
    const brl_backend *be = q == 0 ? brl__backend_cpu() : cuda;
    if ((q == 0 && !do_cpu) || (q == 1 && (!do_gpu || !cuda)))
      continue;
    float *out = q == 0 ? out_cpu : out_gpu;
    double s = run(be, m, X, Xc, rows, reps, out);
    int match = -1;
    if (q == 1 && do_cpu)
      match = !memcmp(out_cpu, out_gpu, sizeof(float) * n * (size_t)K);
    if (json)
      printf("{\"bench\":\"predict\",\"device\":\"%s\",\"rows\":%lld,"
             "\"trees\":%d,\"depth\":%d,\"features\":%d,\"outputs\":%d,"
             "\"threads\":%d,\"seconds\":%.6f,\"tree_evals_per_s\":%.4g%s}\n",
             be->name, rows, trees, depth, D, K, threads, s, evals / s,
             match < 0 ? ""
             : match   ? ",\"match_cpu\":true"
                       : ",\"match_cpu\":false");
    else
      printf("%s: %lld rows x %d trees (depth %d, %d outputs): %.4f s, "
             "%.3g tree evaluations/s%s\n",
             be->name, rows, trees, depth, K, s, evals / s,
             match < 0 ? ""
             : match   ? ", identical to cpu"
                       : ", DIFFERS from cpu");
    fflush(stdout);
  }
  free(X);
  free(out_cpu);
  free(out_gpu);
  brl_model_free(&m);
  return 0;
}
