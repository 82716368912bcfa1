/* The one registration point of the backends: which tables this build
 * holds, whether they can run, and the public calls that choose one. The
 * only place outside src/cuda that knows whether CUDA is compiled in. */
#include "backend/backend.h"
#include "core/error.h"
#include "engine/model.h"

#ifdef BRL_HAVE_CUDA
#define CUDA_TABLE() brl__cuda_table()
#else
#define CUDA_TABLE() NULL
#endif

const brl_backend *brl__backend_table(brl_backend_kind kind) {
  switch (kind) {
  case BRL_BACKEND_CPU:
    return brl__cpu_table();
  case BRL_BACKEND_CUDA:
    return CUDA_TABLE();
  }
  return NULL;
}

const char *brl__backend_reason(brl_backend_kind kind) {
  const brl_backend *be = brl__backend_table(kind);
  if (be)
    return be->unavailable();
  if (kind == BRL_BACKEND_CUDA)
    return "this build has no CUDA backend: configure with -DBRL_CUDA=ON "
           "(needs nvcc)";
  return "the backend is unknown";
}

const brl_backend *brl__backend_usable(brl_backend_kind kind) {
  const brl_backend *be = brl__backend_table(kind);
  return be && !*be->unavailable() ? be : NULL;
}

const brl_backend *brl__backend_cpu(void) { return brl__cpu_table(); }

const brl_backend *brl__backend_cuda(void) {
  return brl__backend_usable(BRL_BACKEND_CUDA);
}

const char *brl__backend_cuda_reason(void) {
  return brl__backend_reason(BRL_BACKEND_CUDA);
}

int brl_backend_available(brl_backend_kind kind) {
  return brl__backend_usable(kind) != NULL;
}

int brl_model_set_backend(brl_model *m, brl_backend_kind kind) {
  BRL_CHECK_ARG(m);
  if (kind != BRL_BACKEND_CPU && kind != BRL_BACKEND_CUDA)
    return brl__fail(BRL_EINVAL, "backend %d is unknown", (int)kind);
  const brl_backend *be = brl__backend_usable(kind);
  if (!be)
    return brl__fail(BRL_EUNSUPPORTED, "the %s backend is not available: %s",
                     kind == BRL_BACKEND_CUDA ? "CUDA" : "CPU",
                     brl__backend_reason(kind));
  m->backend = be;
  return BRL_OK;
}
