/* One boosting step: checks the input, cleans the gradients, lets the
 * backend grow the tree and brings the batch's prediction cache along. */
#include "backend/backend.h"
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"

#include <float.h>
#include <math.h>
#include <string.h>

static int clean_grads(const brl_model *m, const float *grads, int64_t n,
                       float *out) {
  const int K = m->n_outputs;
  const int64_t nk = n * K;
  for (int64_t i = 0; i < nk; i++) {
    float g = grads[i];
    if (isfinite(g)) {
      out[i] = g;
      continue;
    }
    if (!m->p.clip_nonfinite)
      return brl__fail(BRL_ENUMERIC,
                       "gradient row %lld, column %d is %g: gradients must be "
                       "finite (or set clip_nonfinite = 1)",
                       (long long)(i / K), (int)(i % K), (double)g);
    out[i] = isnan(g) ? 0.0f : (g > 0 ? FLT_MAX : -FLT_MAX);
  }
  return BRL_OK;
}

int brl_model_step(brl_model *m, brl_batch *b, const int32_t *rows, int64_t n,
                   const float *grads, float progress) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(b);
  BRL_CHECK_ARG(grads);
  if (b->D != m->p.n_features || b->C != m->p.n_cat_features ||
      b->K != m->n_outputs)
    return brl__fail(BRL_EINVAL,
                     "the batch was made for %d+%d features and %d outputs, "
                     "the model has %d+%d and %d",
                     b->D, b->C, b->K, m->p.n_features, m->p.n_cat_features,
                     m->n_outputs);
  if (!rows)
    n = b->n;
  if (n < 1 || n > b->n)
    return brl__fail(BRL_EINVAL,
                     "n is %lld: a step takes 1 to %lld rows of the batch",
                     (long long)n, (long long)b->n);
  for (int64_t i = 0; rows && i < n; i++)
    if (rows[i] < 0 || rows[i] >= b->n)
      return brl__fail(BRL_EINVAL,
                       "rows[%lld] is %d: rows must be in [0, %lld)",
                       (long long)i, rows[i], (long long)b->n);
  if (!isfinite(progress))
    return brl__fail(BRL_EINVAL, "progress is not finite");
  if (m->trees.n >= INT32_MAX - 1)
    return brl__fail(BRL_ESTATE, "the model holds the maximum number of trees");
  int rc = brl__grow_ws_reserve(b, n, m->n_outputs, m->p.max_depth);
  if (rc)
    return rc;
  rc = clean_grads(m, grads, n, b->ws.grad);
  if (rc)
    return rc;
  /* Is the cache current before this tree? Then it only needs this tree. */
  int cache_live = b->pred && (m->p.optimizer != BRL_OPTIMIZER_ADAM || b->mv) &&
                   b->cache_trees == m->trees.n && b->cache_uid == m->uid &&
                   b->cache_gen == m->generation;
  rc = m->backend->grow_tree(m, b, rows, n, b->ws.grad, progress);
  if (rc)
    return rc;
  if (cache_live) {
    if (m->p.optimizer == BRL_OPTIMIZER_ADAM)
      brl__predict_adam(m, b->X, b->Xc, b->n, m->trees.n - 1, m->trees.n,
                        b->pred, b->mv);
    else
      m->backend->predict_add(m, b->X, b->Xc, b->n, m->trees.n - 1, m->trees.n,
                              b->pred);
    b->cache_trees = m->trees.n;
  }
  return BRL_OK;
}
