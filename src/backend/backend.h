/* The table of functions a compute backend fills. Everything above it
 * (model, batch, agents) calls through this table and does not know whether
 * the CPU or the GPU does the work. */
#ifndef BRL_BACKEND_H
#define BRL_BACKEND_H

#include "boostrl.h"

typedef struct brl_backend {
  const char *name;
  brl_backend_kind kind;
  /* Grows one tree from rows[0..n) of b with gradients grads (n x K, already
   * checked finite) and appends it to m. */
  int (*grow_tree)(brl_model *m, brl_batch *b, const int32_t *rows, int64_t n,
                   const float *grads, float progress);
  /* Adds trees [start, stop) of m over X (n x D) and categorical codes Xc
   * (n x C) into out (n x K). */
  void (*predict_add)(const brl_model *m, const float *X, const int32_t *Xc,
                      int64_t n, int start, int stop, float *out);
  /* out (n x K) = bias (when start == 0, else 0) + trees [start, stop) of m
   * over X and Xc, all three in the backend's device memory (n > 0, the
   * range and an additive model checked by the caller). NULL when the
   * backend has no device memory. Returns a brl status. */
  int (*predict_device)(const brl_model *m, const float *X, const int32_t *Xc,
                        int64_t n, int start, int stop, float *out);
} brl_backend;

const brl_backend *brl__backend_cpu(void);
/* NULL when the CUDA backend is not compiled in or no GPU is present. */
const brl_backend *brl__backend_cuda(void);
/* Why brl__backend_cuda() is NULL, for messages. */
const char *brl__backend_cuda_reason(void);
/* The CUDA backend's own reason (src/cuda, only in builds with
 * BRL_HAVE_CUDA): "" when it is available. */
const char *brl__cuda_unavailable(void);

/* Device memory of the CUDA backend (cuda_backend.c): brl statuses, with
 * the CUDA error in the message. */
int brl__cuda_alloc(size_t bytes, void **out);
int brl__cuda_free(void *p);
int brl__cuda_copy(void *dst, const void *src, size_t bytes);

#endif
