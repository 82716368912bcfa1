/* The CPU backend: histogram tree growth and vectorized prediction. */
#include "backend/backend.h"
#include "core/error.h"
#include "engine/grow.h"
#include "engine/model.h"

static void cpu_predict_add(const brl_model *m, const float *X,
                            const int32_t *Xc, int64_t n, int start, int stop,
                            float *out) {
  brl__predict_add(m, X, Xc, n, start, stop, out, 0);
}

static const brl_backend cpu = {"cpu", BRL_BACKEND_CPU, brl__cpu_grow_tree,
                                cpu_predict_add, NULL};

const brl_backend *brl__backend_cpu(void) { return &cpu; }

#ifndef BRL_HAVE_CUDA
const brl_backend *brl__backend_cuda(void) { return NULL; }
static const char *cuda_unavailable(void) {
  return "this build has no CUDA backend: configure with -DBRL_CUDA=ON "
         "(needs nvcc)";
}
#else
static const char *cuda_unavailable(void) { return brl__cuda_unavailable(); }
#endif

const char *brl__backend_cuda_reason(void) {
  return brl__backend_cuda() ? "" : cuda_unavailable();
}

int brl_backend_available(brl_backend_kind kind) {
  if (kind == BRL_BACKEND_CPU)
    return 1;
  if (kind == BRL_BACKEND_CUDA)
    return brl__backend_cuda() != NULL;
  return 0;
}

int brl_model_set_backend(brl_model *m, brl_backend_kind kind) {
  BRL_CHECK_ARG(m);
  if (kind == BRL_BACKEND_CPU) {
    m->backend = brl__backend_cpu();
    return BRL_OK;
  }
  if (kind == BRL_BACKEND_CUDA) {
    const brl_backend *be = brl__backend_cuda();
    if (!be)
      return brl__fail(BRL_EUNSUPPORTED,
                       "the CUDA backend is not available: %s",
                       cuda_unavailable());
    m->backend = be;
    return BRL_OK;
  }
  return brl__fail(BRL_EINVAL, "backend %d is unknown", (int)kind);
}
