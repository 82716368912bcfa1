/* Kernel launches and dynamic shared memory go through these macros so
 * that the same kernel source also builds for the CPU emulator that runs
 * the backend's tests without a GPU (tests/cuda_emu, BRL_CU_EMU). */
#ifndef BRL_CUDA_EMU_COMPAT_H
#define BRL_CUDA_EMU_COMPAT_H

#include <cuda_runtime.h>

#ifndef BRL_CU_EMU
#define BRL_CU_LAUNCH(k, grid, block, smem, st, ...)                           \
  k<<<(grid), (block), (smem), (st)>>>(__VA_ARGS__)
#define BRL_CU_DYN_SHARED(type, name) extern __shared__ type name[]
#endif

#endif
