/* The CPU backend: histogram tree growth (engine/tree_grow.c, the level
 * loop with the reduce hook between its steps) and vectorized prediction
 * (engine/predict.c); its per-batch state is the batch's workspace. */
#include "backend/backend.h"
#include "core/error.h"
#include "engine/grow.h"
#include "engine/model.h"

#include <omp.h>

static const char *cpu_unavailable(void) { return ""; }

static int cpu_prepare(const brl_model *m, brl_batch *b, int64_t n) {
  int nt = m->p.n_threads > 0 ? m->p.n_threads : omp_get_max_threads();
  int rc = brl__grow_ws_reserve(b, n, m->n_outputs, m->p.max_depth);
  return rc ? rc : brl__scan_ws_reserve(b, nt);
}

static int cpu_grow_tree(brl_model *m, brl_batch *b, const int32_t *rows,
                         int64_t n, const float *grads, float progress,
                         const uint16_t **leaves) {
  if (leaves)
    *leaves = NULL; /* growth sees the minibatch's rows only */
  return brl__cpu_grow_tree(m, b, rows, n, grads, progress);
}

static int cpu_predict_add(const brl_model *m, const float *X,
                           const int32_t *Xc, int64_t n, int start, int stop,
                           float *out) {
  brl__predict_add(m, X, Xc, n, start, stop, out, 0);
  return BRL_OK;
}

int brl__cpu_predict_adam(const brl_model *m, const float *X, const int32_t *Xc,
                          int64_t n, int start, int stop, float *out,
                          double *mv) {
  brl__predict_adam(m, X, Xc, n, start, stop, out, mv);
  return BRL_OK;
}

static const brl_backend cpu = {"cpu",
                                BRL_BACKEND_CPU,
                                cpu_unavailable,
                                1,
                                cpu_prepare,
                                cpu_grow_tree,
                                cpu_predict_add,
                                brl__cpu_predict_adam,
                                NULL,
                                NULL,
                                NULL,
                                NULL};

const brl_backend *brl__cpu_table(void) { return &cpu; }
