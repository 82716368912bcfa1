/* Helpers shared by the engine tests: random data and small models. */
#ifndef BRL_TEST_UTIL_H
#define BRL_TEST_UTIL_H

#include "boostrl.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

static inline float *rand_matrix(brl_rng *r, int64_t n, int d, double nan_p) {
  float *x = malloc(sizeof(float) * (size_t)(n * d));
  for (int64_t i = 0; i < n * d; i++)
    x[i] = brl_rng_uniform(r) < nan_p ? NAN : (float)brl_rng_normal(r);
  return x;
}

/* Values rounded to a grid, so features have few distinct values. */
static inline float *rand_grid(brl_rng *r, int64_t n, int d, int levels) {
  float *x = malloc(sizeof(float) * (size_t)(n * d));
  for (int64_t i = 0; i < n * d; i++)
    x[i] = (float)brl_rng_below(r, (uint64_t)levels) * 0.5f - 3.0f;
  return x;
}

/* A model grown for `steps` steps on random gradients over X. */
static inline brl_model *grow_random(const brl_params *p, const float *X,
                                     int64_t n, int steps, uint64_t seed) {
  brl_model *m = NULL;
  brl_batch *b = NULL;
  if (brl_model_create(p, &m) || brl_batch_create(m, X, n, &b))
    return NULL;
  brl_rng r;
  brl_rng_seed(&r, seed);
  int K = brl_model_n_outputs(m);
  float *g = malloc(sizeof(float) * (size_t)(n * K));
  for (int s = 0; s < steps; s++) {
    for (int64_t i = 0; i < n * K; i++)
      g[i] = (float)brl_rng_normal(&r);
    if (brl_model_step(m, b, NULL, n, g, (float)s / (float)steps)) {
      brl_model_free(&m);
      break;
    }
  }
  free(g);
  brl_batch_free(&b);
  return m;
}

#endif
