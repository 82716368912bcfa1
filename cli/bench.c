/* Benchmark of the RL update workload: N samples x D features (i.i.d.
 * N(0,1)), K outputs, binned once; then T steps, each with fresh random
 * gradients (generation not timed), each growing one tree, storing it and
 * updating the batch's cached predictions. */
#include "bench.h"
#include "boostrl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The benchmark's own data generator (splitmix64; Box-Muller normals):
 * the command uses the public API only. */
typedef struct bench_rng {
  uint64_t x;
} bench_rng;

static uint64_t rng_u64(bench_rng *r) {
  uint64_t z = (r->x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_uniform(bench_rng *r) {
  return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int32_t rng_below(bench_rng *r, int n) {
  return (int32_t)(rng_uniform(r) * (double)n);
}

static double rng_normal(bench_rng *r) {
  double u1 = rng_uniform(r), u2 = rng_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0.0;
}

static void cpu_name(char *out, size_t n) {
  snprintf(out, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f)
    return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *c = strchr(line, ':');
      if (c) {
        c += 2;
        c[strcspn(c, "\n")] = 0;
        snprintf(out, n, "%s", c);
      }
      break;
    }
  }
  fclose(f);
}

static void usage(FILE *to) {
  fprintf(to,
          "usage: bench [--samples N] [--features D] [--cat-features C]\n"
          "             [--categories V] [--outputs K] [--depth "
          "L]\n"
          "             [--bins B] [--grow oblivious|greedy] [--score "
          "cosine|l2]\n"
          "             [--trees T] [--threads P] [--seed S] [--json]\n"
          "             [--device cpu|cuda]\n"
          "Grows T trees from fresh random gradients over one binned batch "
          "and\n"
          "reports the median time per step, the prediction latency for 16\n"
          "observations through the final ensemble, and the model size.\n");
}

int brl_bench_main(int argc, char **argv) {
  int n_cat = 0, n_categories = 20;
  int n = 512, d = 8, k = 4, depth = 4, bins = 256, trees = 2000, threads = 0;
  int json = 0, greedy = 0, l2 = 0, cuda = 0;
  unsigned long long seed = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!v) {
      fprintf(stderr, "bench: %s needs a value\n", a);
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--samples"))
      n = atoi(v);
    else if (!strcmp(a, "--features"))
      d = atoi(v);
    else if (!strcmp(a, "--cat-features"))
      n_cat = atoi(v);
    else if (!strcmp(a, "--categories"))
      n_categories = atoi(v);
    else if (!strcmp(a, "--outputs"))
      k = atoi(v);
    else if (!strcmp(a, "--depth"))
      depth = atoi(v);
    else if (!strcmp(a, "--bins"))
      bins = atoi(v);
    else if (!strcmp(a, "--trees"))
      trees = atoi(v);
    else if (!strcmp(a, "--device") &&
             (!strcmp(v, "cpu") || !strcmp(v, "cuda")))
      cuda = !strcmp(v, "cuda");
    else if (!strcmp(a, "--threads"))
      threads = atoi(v);
    else if (!strcmp(a, "--seed"))
      seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--grow") &&
             (!strcmp(v, "oblivious") || !strcmp(v, "greedy")))
      greedy = !strcmp(v, "greedy");
    else if (!strcmp(a, "--score") &&
             (!strcmp(v, "cosine") || !strcmp(v, "l2")))
      l2 = !strcmp(v, "l2");
    else {
      fprintf(stderr, "bench: unknown option or value: %s %s\n", a, v);
      usage(stderr);
      return 2;
    }
  }
  if (n < 16 || trees < 1) {
    fprintf(stderr, "bench: need --samples >= 16 and --trees >= 1\n");
    return 2;
  }
  brl_params p;
  brl_params_default(&p, d, k);
  p.max_depth = depth;
  p.n_bins = bins;
  p.grow_policy = greedy ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
  p.split_score = l2 ? BRL_SCORE_L2 : BRL_SCORE_COSINE;
  p.n_threads = threads;
  p.n_cat_features = n_cat;
  if (n_categories < 1) {
    fprintf(stderr, "bench: need --categories >= 1\n");
    return 2;
  }
  brl_model *m = NULL;
  brl_batch *b = NULL;
  if (brl_model_create(&p, &m) ||
      (cuda && brl_model_set_backend(m, BRL_BACKEND_CUDA))) {
    fprintf(stderr, "bench: %s\n", brl_last_error());
    brl_model_free(&m);
    return 1;
  }
  bench_rng rng = {seed};
  float *X = malloc(sizeof(float) * (size_t)n * (size_t)d);
  float *G = malloc(sizeof(float) * (size_t)n * (size_t)k);
  double *t_step = malloc(sizeof(double) * (size_t)trees);
  int32_t *Xc = malloc(sizeof(int32_t) * ((size_t)n * (size_t)n_cat + 1));
  for (long i = 0; i < (long)n * d; i++)
    X[i] = (float)rng_normal(&rng);
  for (long i = 0; i < (long)n * n_cat; i++)
    Xc[i] = rng_below(&rng, n_categories);
  double t0 = now_us();
  if (brl_batch_create_cat(m, X, Xc, n, &b)) {
    fprintf(stderr, "bench: %s\n", brl_last_error());
    return 1;
  }
  double bin_ms = (now_us() - t0) / 1e3;
  const float *pred;
  brl_batch_predictions(b, m, &pred); /* turns the cache on */
  for (int t = 0; t < trees; t++) {
    for (long i = 0; i < (long)n * k; i++)
      G[i] = (float)rng_normal(&rng);
    double s = now_us();
    if (brl_model_step(m, b, NULL, n, G, 0.0f)) {
      fprintf(stderr, "bench: %s\n", brl_last_error());
      return 1;
    }
    t_step[t] = now_us() - s;
  }
  double ms_step = median(t_step, trees) / 1e3;
  /* The cache update alone: one tree over the batch's rows (on the GPU over
   * device copies of them, as the CUDA backend's step does). */
  int reps = trees < 200 ? trees : 200;
  float *scratch = calloc((size_t)n * (size_t)k, sizeof(float));
  void *X_dev = NULL, *Xc_dev = NULL, *out_dev = NULL;
  if (cuda &&
      (brl_device_alloc(sizeof(float) * (size_t)n * (size_t)d, &X_dev) ||
       brl_device_alloc(sizeof(int32_t) * ((size_t)n * (size_t)n_cat + 1),
                        &Xc_dev) ||
       brl_device_alloc(sizeof(float) * (size_t)n * (size_t)k, &out_dev) ||
       brl_device_copy(X_dev, X, sizeof(float) * (size_t)n * (size_t)d) ||
       brl_device_copy(Xc_dev, Xc,
                       sizeof(int32_t) * (size_t)n * (size_t)n_cat))) {
    fprintf(stderr, "bench: %s\n", brl_last_error());
    return 1;
  }
  for (int r = 0; r < reps; r++) {
    int t = trees - 1 - r;
    double s = now_us();
    int rc =
        cuda ? brl_model_predict_device(m, X_dev, Xc_dev, n, t, t + 1, out_dev)
             : brl_model_predict_cat(m, X, Xc, n, t, t + 1, scratch);
    t_step[r] = now_us() - s;
    if (rc) {
      fprintf(stderr, "bench: %s\n", brl_last_error());
      return 1;
    }
  }
  brl_device_free(X_dev);
  brl_device_free(Xc_dev);
  brl_device_free(out_dev);
  double ms_cache = median(t_step, reps) / 1e3;
  /* 16 fresh observations through the whole ensemble, one thread. */
  brl_model_set_threads(m, 1);
  float *obs = malloc(sizeof(float) * 16 * (size_t)d);
  int32_t *obs_c = malloc(sizeof(int32_t) * (16 * (size_t)n_cat + 1));
  float *out = malloc(sizeof(float) * 16 * (size_t)k);
  int calls = 1000;
  double *t_pred = malloc(sizeof(double) * (size_t)calls);
  for (int c = 0; c < calls; c++) {
    for (int i = 0; i < 16 * d; i++)
      obs[i] = (float)rng_normal(&rng);
    for (int i = 0; i < 16 * n_cat; i++)
      obs_c[i] = rng_below(&rng, n_categories);
    double s = now_us();
    brl_model_predict_cat(m, obs, obs_c, 16, 0, -1, out);
    t_pred[c] = now_us() - s;
  }
  double us_pred = median(t_pred, calls);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  char cpu[128];
  cpu_name(cpu, sizeof cpu);
  size_t bytes = brl_model_bytes(m);
  if (json)
    printf("{\"samples\":%d,\"features\":%d,\"cat_features\":%d,"
           "\"outputs\":%d,\"depth\":%d,"
           "\"bins\":%d,\"grow\":\"%s\",\"score\":\"%s\",\"trees\":%d,"
           "\"threads\":%d,\"ms_per_step\":%.4f,\"ms_per_tree_fit\":%.4f,"
           "\"ms_cache_update\":%.4f,\"ms_binning\":%.3f,"
           "\"us_predict_16\":%.2f,\"model_bytes\":%zu,\"peak_rss_mb\":%.1f,"
           "\"device\":\"%s\",\"cpu\":\"%s\"}\n",
           n, d, n_cat, k, depth, bins, greedy ? "greedy" : "oblivious",
           l2 ? "l2" : "cosine", trees, threads, ms_step, ms_step - ms_cache,
           ms_cache, bin_ms, us_pred, bytes, ru.ru_maxrss / 1024.0,
           cuda ? "cuda" : "cpu", cpu);
  else
    printf("%d x %d features, %d outputs, depth %d, %s, %s, %d trees, %d "
           "threads, device %s\n"
           "  step (fit + store + cache update): %.4f ms (median)\n"
           "  tree fit: %.4f ms, cache update: %.4f ms, binning: %.3f ms\n"
           "  predict 16 observations, 1 thread: %.2f us (median of %d)\n"
           "  model: %.2f MB, peak RSS %.1f MB, cpu %s\n",
           n, d, k, depth, greedy ? "greedy" : "oblivious",
           l2 ? "l2" : "cosine", trees, threads, cuda ? "cuda" : "cpu", ms_step,
           ms_step - ms_cache, ms_cache, bin_ms, us_pred, calls, bytes / 1e6,
           ru.ru_maxrss / 1024.0, cpu);
  free(X);
  free(Xc);
  free(obs_c);
  free(G);
  free(t_step);
  free(scratch);
  free(obs);
  free(out);
  free(t_pred);
  brl_batch_free(&b);
  brl_model_free(&m);
  return 0;
}
