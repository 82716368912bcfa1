/* Host memory of one growth step: VmPeak (allocated) and VmHWM (touched)
 * from /proc/self/status before and after one brl_model_step at depth 12,
 * 20 features, 256 bins, 4 outputs, greedy (docs/BENCHMARKS.md).
 * Usage: step_memory [ROWS]   (default 65536; Linux only) */
#include "boostrl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void status(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return;
  char line[256];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key)))
      fputs(line, stdout);
  fclose(f);
}

int main(int argc, char **argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 65536, D = 20, K = 4;
  if (n < 1) {
    fprintf(stderr, "step_memory: ROWS must be >= 1\n");
    return 2;
  }
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = 12;
  p.n_bins = 256;
  p.grow_policy = BRL_GROW_GREEDY;
  p.n_threads = 1;
  brl_model *m = NULL;
  brl_batch *b = NULL;
  float *X = malloc(sizeof(float) * (size_t)n * D);
  float *g = malloc(sizeof(float) * (size_t)n * K);
  if (!X || !g)
    return 1;
  unsigned s = 1;
  for (long i = 0; i < (long)n * D; i++)
    X[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f;
  for (long i = 0; i < (long)n * K; i++)
    g[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
  if (brl_model_create(&p, &m) || brl_batch_create(m, X, n, &b)) {
    fprintf(stderr, "step_memory: %s\n", brl_last_error());
    return 1;
  }
  printf("before the step:\n");
  status("VmPeak");
  status("VmHWM");
  if (brl_model_step(m, b, NULL, n, g, 0.0f)) {
    fprintf(stderr, "step_memory: %s\n", brl_last_error());
    return 1;
  }
  printf("after one step (%d rows, depth 12):\n", n);
  status("VmPeak");
  status("VmHWM");
  brl_batch_free(&b);
  brl_model_free(&m);
  free(X);
  free(g);
  return 0;
}
