/* Supervised boosting with squared error, over the engine's own batch and
 * prediction cache: each iteration adds one tree fitted to the residuals
 * (prediction - y) of a minibatch. */
#include "core/error.h"
#include "core/rng.h"
#include "engine/batch.h"
#include "engine/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void brl_fit_params_default(brl_fit_params *fp) {
  if (!fp)
    return;
  fp->iterations = 100;
  fp->batch_size = 0;
  fp->shuffle = 1;
  fp->seed = 0;
}

int brl_fit(brl_model *m, const float *X, const int32_t *X_cat, const float *y,
            int64_t n_rows, const brl_fit_params *fp) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(y);
  brl_fit_params def;
  if (!fp) {
    brl_fit_params_default(&def);
    fp = &def;
  }
  if (fp->iterations < 0)
    return brl__fail(BRL_EINVAL, "iterations is %d: use 0 or more",
                     fp->iterations);
  if (fp->batch_size < 0)
    return brl__fail(BRL_EINVAL,
                     "batch_size is %lld: use 0 (all rows) or "
                     "more",
                     (long long)fp->batch_size);
  const int K = m->n_outputs;
  for (int64_t i = 0; i < n_rows * K; i++)
    if (!isfinite(y[i]))
      return brl__fail(BRL_ENUMERIC, "y row %lld, column %d is not finite",
                       (long long)(i / K), (int)(i % K));
  brl_batch *b;
  int rc = brl_batch_create_cat(m, X, X_cat, n_rows, &b);
  if (rc)
    return rc;
  if (m->trees.n == 0 && n_rows > 0) {
    float *bias = malloc((size_t)K * sizeof(float));
    if (!bias) {
      brl_batch_free(&b);
      return brl__fail(BRL_ENOMEM, "out of memory");
    }
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int64_t i = 0; i < n_rows; i++)
        s += y[i * K + k];
      bias[k] = (float)(s / (double)n_rows);
    }
    rc = brl_model_set_bias(m, bias);
    free(bias);
  }
  const int64_t bs =
      fp->batch_size > 0 && fp->batch_size < n_rows ? fp->batch_size : n_rows;
  int32_t *order = malloc((size_t)n_rows * sizeof(int32_t));
  float *g = malloc((size_t)bs * (size_t)K * sizeof(float));
  if (!rc && (!order || !g))
    rc =
        brl__fail(BRL_ENOMEM, "out of memory for %lld rows", (long long)n_rows);
  brl_rng rng;
  brl_rng_seed(&rng, fp->seed);
  for (int64_t i = 0; !rc && i < n_rows; i++)
    order[i] = (int32_t)i;
  int64_t pos = n_rows; /* next unused position of the order */
  for (int it = 0; !rc && it < fp->iterations; it++) {
    const float *pred;
    rc = brl_batch_predictions(b, m, &pred);
    if (rc)
      break;
    const int32_t *rows = NULL;
    if (bs < n_rows) {
      if (pos + bs > n_rows) { /* a new epoch */
        if (fp->shuffle)
          for (int64_t i = n_rows - 1; i > 0; i--) {
            int64_t j = (int64_t)brl_rng_below(&rng, (uint64_t)i + 1);
            int32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
          }
        pos = 0;
      }
      rows = order + pos;
      pos += bs;
    }
    for (int64_t r = 0; r < bs; r++) {
      int64_t i = rows ? rows[r] : r;
      for (int k = 0; k < K; k++)
        g[r * K + k] = pred[i * K + k] - y[i * K + k];
    }
    rc = brl_model_step(
        m, b, rows, bs, g,
        fp->iterations > 1 ? (float)it / (float)(fp->iterations - 1) : 0.0f);
  }
  free(order);
  free(g);
  brl_batch_free(&b);
  return rc;
}
