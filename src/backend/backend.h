/* The table of functions a compute backend fills. The engine owns the
 * pipeline of a boosting step (engine/pipeline.h: the gradient transform,
 * the reduce hook, leaf values, tree assembly, the prediction cache); a
 * backend does the device work only - histograms, split scores,
 * partitions, prediction - with its own memory and per-batch state. The
 * model, the batch and the agents call through this table and do not know
 * whether the CPU or the GPU does the work. Every call returns a brl
 * status. */
#ifndef BRL_BACKEND_H
#define BRL_BACKEND_H

#include "boostrl.h"

typedef struct brl_backend {
  const char *name;
  brl_backend_kind kind;
  /* "" when the backend can run in this process, else why not (for
   * messages: no device, a device too old, ...). */
  const char *(*unavailable)(void);
  /* 1 when grow_tree reduces every global quantity through the batch's
   * communicator (brl_batch_set_comm), so that ranks holding shards of the
   * rows grow the tree of their union; 0: refused with a communicator of
   * several ranks. */
  int sharded;
  /* Makes b's per-batch state ready for a step of n rows of m (memory).
   * Called before the step's first collective, so that a failure here is
   * agreed on by every rank instead of leaving the others waiting. */
  int (*prepare)(const brl_model *m, brl_batch *b, int64_t n);
  /* Grows one tree from rows[0..n) of b with gradients grads (n x K,
   * finite) and appends it to m with the engine's pipeline functions
   * (brl__grad_columns, brl__tree_assemble; the reduce hook between the
   * device steps when sharded). leaves: NULL, or where to store a pointer
   * to the leaf of each of b's rows in the new tree (b->n entries, owned
   * by the backend, valid until its next call on b) when the backend
   * computed them, NULL when it did not (the engine then predicts the tree
   * over the batch for its cache). */
  int (*grow_tree)(brl_model *m, brl_batch *b, const int32_t *rows, int64_t n,
                   const float *grads, float progress, const uint16_t **leaves);
  /* Adds trees [start, stop) of m over X (n x D) and categorical codes Xc
   * (n x C), host memory, into out (n x K). Never falls back to another
   * device: a failure is the status. */
  int (*predict_add)(const brl_model *m, const float *X, const int32_t *Xc,
                     int64_t n, int start, int stop, float *out);
  /* The same for an Adam ensemble (not a sum of trees): trees [start, stop)
   * applied in order to out, with each row's first and second moments in
   * mv (n x K x 2 doubles), updated in place. The moments make it
   * sequential over the trees, so the CUDA backend runs it on the host. */
  int (*predict_adam)(const brl_model *m, const float *X, const int32_t *Xc,
                      int64_t n, int start, int stop, float *out, double *mv);
  /* out (n x K) = bias (when start == 0, else 0) + trees [start, stop) of m
   * over X and Xc, all three in the backend's device memory (n > 0, the
   * range and an additive model checked by the caller). NULL when the
   * backend has no device memory. */
  int (*predict_device)(const brl_model *m, const float *X, const int32_t *Xc,
                        int64_t n, int start, int stop, float *out);
  /* The backend's device memory (NULL slots: it has none). */
  int (*mem_alloc)(size_t bytes, void **out);
  int (*mem_free)(void *p);
  int (*mem_copy)(void *dst, const void *src, size_t bytes);
} brl_backend;

/* The one registration point (backend/registry.c): the table of a kind of
 * backend compiled into this build, or NULL (brl__backend_reason says
 * why). A table is returned whether or not it can run here; ask its
 * unavailable(). */
const brl_backend *brl__backend_table(brl_backend_kind kind);
/* The table of kind when it can run here, else NULL. */
const brl_backend *brl__backend_usable(brl_backend_kind kind);
/* Why brl__backend_usable(kind) is NULL ("" when it is not). */
const char *brl__backend_reason(brl_backend_kind kind);
const brl_backend *brl__backend_cpu(void);
/* brl__backend_usable(BRL_BACKEND_CUDA) and its reason. */
const brl_backend *brl__backend_cuda(void);
const char *brl__backend_cuda_reason(void);

/* The CPU's Adam prediction, which the CUDA backend's table names too. */
int brl__cpu_predict_adam(const brl_model *m, const float *X, const int32_t *Xc,
                          int64_t n, int start, int stop, float *out,
                          double *mv);

/* The backends' tables, for the registration point only. */
const brl_backend *brl__cpu_table(void);
const brl_backend *brl__cuda_table(void);

#endif
