/* Prediction over device memory (brl_model_predict_device) and the device
 * memory calls of the public API, dispatched to the model's backend. */
#include "backend/backend.h"
#include "core/error.h"
#include "engine/model.h"
#include "engine/predict.h"

int brl_model_predict_device(const brl_model *m, const float *X_dev,
                             const int32_t *Xc_dev, int64_t n_rows, int start,
                             int stop, float *out_dev) {
  int rc = brl__predict_args(m, X_dev, Xc_dev, n_rows, start, &stop, out_dev);
  if (rc)
    return rc;
  if (!m->backend->predict_device)
    return brl__fail(BRL_EUNSUPPORTED,
                     "brl_model_predict_device: the model is on the %s "
                     "backend; device pointers need the CUDA backend "
                     "(brl_model_set_backend(m, BRL_BACKEND_CUDA)), host "
                     "memory brl_model_predict",
                     m->backend->name);
  if (m->p.optimizer == BRL_OPTIMIZER_ADAM)
    return brl__fail(BRL_EUNSUPPORTED,
                     "brl_model_predict_device: an Adam ensemble is not a "
                     "sum of trees; predict it from host memory with "
                     "brl_model_predict");
  if (n_rows == 0)
    return BRL_OK;
  return m->backend->predict_device(m, X_dev, Xc_dev, n_rows, start, stop,
                                    out_dev);
}

brl_backend_kind brl_model_backend(const brl_model *m) {
  return m && m->backend ? m->backend->kind : BRL_BACKEND_CPU;
}

/* The backend that owns device memory: the first usable table with memory
 * slots (the CUDA backend where it can run). */
static int memory_backend(const brl_backend **out) {
  const brl_backend *be = brl__backend_usable(BRL_BACKEND_CUDA);
  if (!be || !be->mem_alloc)
    return brl__fail(BRL_EUNSUPPORTED, "no CUDA device memory: %s",
                     be ? "the CUDA backend has no device memory"
                        : brl__backend_reason(BRL_BACKEND_CUDA));
  *out = be;
  return BRL_OK;
}

int brl_device_alloc(size_t bytes, void **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  const brl_backend *be = NULL;
  int rc = memory_backend(&be);
  if (rc)
    return rc;
  return bytes ? be->mem_alloc(bytes, out) : BRL_OK;
}

int brl_device_free(void *p) {
  if (!p)
    return BRL_OK;
  const brl_backend *be = NULL;
  int rc = memory_backend(&be);
  return rc ? rc : be->mem_free(p);
}

int brl_device_copy(void *dst, const void *src, size_t bytes) {
  if (!bytes)
    return BRL_OK;
  const brl_backend *be = NULL;
  int rc = memory_backend(&be);
  if (rc)
    return rc;
  BRL_CHECK_ARG(dst);
  BRL_CHECK_ARG(src);
  return be->mem_copy(dst, src, bytes);
}
