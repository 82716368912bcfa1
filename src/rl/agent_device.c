/* The device of an agent's ensembles (config key `device`): resolving
 * cpu / cuda / auto to a backend and putting every ensemble on it. */
#include "backend/backend.h"
#include "core/error.h"
#include "rl/agent.h"

#include <string.h>

int brl__agent_resolve_device(brl_device device, brl_backend_kind *out) {
  switch (device) {
  case BRL_DEVICE_CPU:
    *out = BRL_BACKEND_CPU;
    return BRL_OK;
  case BRL_DEVICE_AUTO:
    *out = brl_backend_available(BRL_BACKEND_CUDA) ? BRL_BACKEND_CUDA
                                                   : BRL_BACKEND_CPU;
    return BRL_OK;
  case BRL_DEVICE_CUDA:
    if (!brl_backend_available(BRL_BACKEND_CUDA))
      return brl__fail(BRL_EUNSUPPORTED,
                       "device = cuda: the CUDA backend is not available: "
                       "%s; use device = cpu or auto",
                       brl__backend_cuda_reason());
    *out = BRL_BACKEND_CUDA;
    return BRL_OK;
  }
  return brl__fail(BRL_EINVAL, "device is %d: use cpu, cuda or auto",
                   (int)device);
}

int brl__agent_apply_device(brl_agent *a) {
  int rc = BRL_OK;
  if (a->pi)
    rc = brl_model_set_backend(a->pi, a->backend);
  if (!rc && a->vf)
    rc = brl_model_set_backend(a->vf, a->backend);
  return rc;
}

int brl_agent_set_device(brl_agent *a, const char *device) {
  BRL_CHECK_ARG(a);
  brl_agent_config c = a->cfg;
  int rc = brl_agent_config_set(&c, "device", device ? device : "cpu");
  if (rc)
    return rc;
  brl_backend_kind kind = BRL_BACKEND_CPU;
  if ((rc = brl__agent_resolve_device(c.device, &kind)))
    return rc;
  const brl_backend_kind old = a->backend;
  a->backend = kind;
  if ((rc = brl__agent_apply_device(a))) {
    a->backend = old;
    brl__agent_apply_device(a);
    return rc;
  }
  a->cfg.device = c.device;
  return BRL_OK;
}

const char *brl_agent_device(const brl_agent *a) {
  if (!a)
    return "";
  return a->backend == BRL_BACKEND_CUDA ? "cuda" : "cpu";
}
