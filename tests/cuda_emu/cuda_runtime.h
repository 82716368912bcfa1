/* The device side of the CPU stand-in for CUDA (see cuda_runtime_api.h):
 * built-in variables, barriers, warp shuffles and votes, atomics and
 * launches, for kernels compiled as C++ by the host compiler. */
#ifndef BRL_EMU_CUDA_RUNTIME_H
#define BRL_EMU_CUDA_RUNTIME_H

#include "cuda_runtime_api.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1)
      : x(x_), y(y_), z(z_) {}
};

namespace emu {
extern dim3 block_idx, grid_dim, block_dim;
const dim3 &thread_idx();
void *dyn_smem();
void sync_block();
void sync_warp();
unsigned long long *warp_slots();
int lane();
void launch(dim3 grid, dim3 block, size_t smem, const void *fn,
            const std::function<void()> &body);
cudaError_t set_max_smem(const void *fn, int bytes);

template <class V> unsigned long long to_bits(V v) {
  unsigned long long b = 0;
  std::memcpy(&b, &v, sizeof v);
  return b;
}
template <class V> V from_bits(unsigned long long b) {
  V v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
/* Every lane deposits v; lane i gets the value of lane src(i). */
template <class V> V exchange(V v, int src) {
  unsigned long long *s = warp_slots();
  s[lane()] = to_bits(v);
  sync_warp();
  V r = from_bits<V>(s[src]);
  sync_warp();
  return r;
}
} // namespace emu

#define threadIdx (emu::thread_idx())
#define blockIdx (emu::block_idx)
#define gridDim (emu::grid_dim)
#define blockDim (emu::block_dim)

inline void __syncthreads() { emu::sync_block(); }
inline void __threadfence() {}
inline void __threadfence_block() {}

template <class V> V __shfl_up_sync(unsigned, V v, int d) {
  int l = emu::lane();
  return emu::exchange(v, l >= d ? l - d : l);
}
template <class V> V __shfl_down_sync(unsigned, V v, int d) {
  int l = emu::lane();
  return emu::exchange(v, l + d < 32 ? l + d : l);
}
template <class V> V __shfl_sync(unsigned, V v, int src) {
  return emu::exchange(v, src & 31);
}
inline unsigned __match_any_sync(unsigned, unsigned key) {
  unsigned long long *s = emu::warp_slots();
  s[emu::lane()] = key;
  emu::sync_warp();
  unsigned m = 0;
  for (int i = 0; i < 32; i++)
    if ((unsigned)s[i] == key)
      m |= 1u << i;
  emu::sync_warp();
  return m;
}
inline int __ffs(unsigned x) { return __builtin_ffs((int)x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }

template <class V> V atomicAdd(V *p, V v) {
  V old = *p;
  *p = old + v;
  return old;
}
template <class V> V atomicMax(V *p, V v) {
  V old = *p;
  if (v > old)
    *p = v;
  return old;
}
template <class V> V __ldg(const V *p) { return *p; }
template <class V> V __ldcg(const V *p) { return *p; }

inline long long __double_as_longlong(double x) {
  return emu::from_bits<long long>(emu::to_bits(x));
}
inline double __longlong_as_double(long long x) {
  return emu::from_bits<double>(emu::to_bits(x));
}
inline unsigned __float_as_uint(float x) {
  unsigned u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline float __uint_as_float(unsigned u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
inline int __float_as_int(float x) {
  int u;
  std::memcpy(&u, &x, 4);
  return u;
}
inline long long __double2ll_rn(double x) { return std::llrint(x); }
using std::fabs;
using std::frexp;
using std::ldexp;
using std::sqrt;

template <class F>
cudaError_t cudaFuncSetAttribute(F *fn, enum cudaFuncAttribute, int value) {
  return emu::set_max_smem((const void *)fn, value);
}

template <class... P, class... A>
void brl_emu_launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem,
                    A... args) {
  std::tuple<P...> t(args...);
  emu::launch(grid, block, smem, (const void *)k, [&] { std::apply(k, t); });
}

#define BRL_CU_LAUNCH(k, grid, block, smem, st, ...)                           \
  ((void)(st), brl_emu_launch(k, dim3(grid), dim3(block), (smem), __VA_ARGS__))
#define BRL_CU_DYN_SHARED(type, name) type *name = (type *)emu::dyn_smem()

#endif
