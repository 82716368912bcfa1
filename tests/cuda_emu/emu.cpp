/* The CPU stand-in for CUDA (see cuda_runtime_api.h).
 *
 * A launch runs its blocks one after the other, in a shuffled order (a
 * kernel must not depend on the order of its blocks). A block's threads are
 * fibers on their own stacks, switched (x86-64: a few instructions) only at
 * __syncthreads and warp collectives, in a shuffled order each round, so
 * that a read of shared data that lacks a barrier sees stale values.
 * Launch configurations and dynamic shared memory are checked as the
 * device would. Device allocations are protected (PROT_NONE) except during
 * device operations, so host code that dereferences a device pointer
 * faults at once. Set BRL_EMU_NO_DEVICE to emulate a machine without a
 * GPU, BRL_EMU_SEED to change the shuffles. */
#include "cuda_runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#if !defined(__x86_64__)
#error "the CUDA emulator's fibers are written for x86-64"
#endif

extern "C" void emu_swap(void **save_sp, void *load_sp);
asm(R"(
.text
.globl emu_swap
.type emu_swap,@function
emu_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size emu_swap, .-emu_swap
)");

namespace emu {

dim3 block_idx, grid_dim, block_dim;

namespace {

const size_t STACK = 256 * 1024;

struct Fiber {
  void *sp = nullptr;
  char *stack = nullptr;
  dim3 tid;
  int done = 0;
};

struct Barrier {
  unsigned count = 0, live = 0, gen = 0;
};

std::recursive_mutex mu; /* one device operation at a time */
std::vector<Fiber> fibers;
std::vector<Barrier> warps;
std::vector<unsigned long long> slots; /* 32 per warp */
Barrier block_bar;
Fiber *cur = nullptr;
void *sched_sp = nullptr;
const std::function<void()> *body = nullptr;
std::vector<unsigned char> smem;
std::mt19937_64 rng;
cudaError_t last_error = cudaSuccess;
std::map<const void *, int> max_smem;

struct Alloc {
  size_t bytes;
};
std::map<void *, Alloc> allocs; /* device allocations */
int protected_now = 1;

void protect(int on) {
  if (protected_now == on)
    return;
  for (auto &a : allocs)
    mprotect(a.first, a.second.bytes, on ? PROT_NONE : PROT_READ | PROT_WRITE);
  protected_now = on;
}

/* Device operations run with device memory accessible. */
struct DeviceOp {
  std::lock_guard<std::recursive_mutex> g{mu};
  int was;
  DeviceOp() : was(protected_now) { protect(0); }
  ~DeviceOp() { protect(was); }
};

void yield() { emu_swap(&cur->sp, sched_sp); }

void release_if_done(Barrier &b) {
  if (b.count > 0 && b.count == b.live) {
    b.count = 0;
    b.gen++;
  }
}

void wait(Barrier &b) {
  unsigned gen = b.gen;
  b.count++;
  if (b.count == b.live) {
    b.count = 0;
    b.gen++;
    return;
  }
  while (b.gen == gen)
    yield();
}

extern "C" void fiber_main() {
  (*body)();
  Fiber *f = cur;
  f->done = 1;
  unsigned t = f->tid.x + block_dim.x * (f->tid.y + block_dim.y * f->tid.z);
  block_bar.live--;
  release_if_done(block_bar);
  Barrier &w = warps[t / 32];
  w.live--;
  release_if_done(w);
  void *dummy;
  emu_swap(&dummy, sched_sp);
  std::abort(); /* never resumed */
}

void start(Fiber &f) {
  uintptr_t top = ((uintptr_t)(f.stack + STACK)) & ~(uintptr_t)15;
  void **sp = (void **)top;
  *--sp = nullptr;             /* return address of fiber_main */
  *--sp = (void *)&fiber_main; /* popped by ret */
  for (int i = 0; i < 6; i++)  /* rbp, rbx, r12-r15 */
    *--sp = nullptr;
  f.sp = sp;
  f.done = 0;
}

void run_block(unsigned nthreads) {
  if (fibers.size() < nthreads) {
    size_t old = fibers.size();
    fibers.resize(nthreads);
    for (size_t i = old; i < nthreads; i++)
      fibers[i].stack = (char *)std::malloc(STACK);
  }
  unsigned nw = (nthreads + 31) / 32;
  warps.assign(nw, Barrier());
  slots.assign((size_t)nw * 32, 0xDEADBEEFDEADBEEFull);
  for (unsigned w = 0; w < nw; w++)
    warps[w].live = std::min(32u, nthreads - 32 * w);
  block_bar = Barrier();
  block_bar.live = nthreads;
  for (unsigned t = 0; t < nthreads; t++) {
    Fiber &f = fibers[t];
    f.tid = dim3(t % block_dim.x, (t / block_dim.x) % block_dim.y,
                 t / (block_dim.x * block_dim.y));
    start(f);
  }
  std::vector<unsigned> order(nthreads);
  for (unsigned t = 0; t < nthreads; t++)
    order[t] = t;
  unsigned alive = nthreads;
  while (alive) {
    std::shuffle(order.begin(), order.end(), rng);
    for (unsigned t : order) {
      Fiber &f = fibers[t];
      if (f.done)
        continue;
      cur = &f;
      emu_swap(&sched_sp, f.sp);
      if (f.done)
        alive--;
    }
  }
  cur = nullptr;
}

} // namespace

const dim3 &thread_idx() { return cur->tid; }
void *dyn_smem() { return smem.data(); }
void sync_block() { wait(block_bar); }
void sync_warp() {
  unsigned t =
      cur->tid.x + block_dim.x * (cur->tid.y + block_dim.y * cur->tid.z);
  wait(warps[t / 32]);
}
int lane() {
  unsigned t =
      cur->tid.x + block_dim.x * (cur->tid.y + block_dim.y * cur->tid.z);
  return (int)(t % 32);
}
unsigned long long *warp_slots() {
  unsigned t =
      cur->tid.x + block_dim.x * (cur->tid.y + block_dim.y * cur->tid.z);
  return slots.data() + (t / 32) * 32;
}

cudaError_t set_max_smem(const void *fn, int bytes) {
  std::lock_guard<std::recursive_mutex> g(mu);
  if (bytes < 0 || bytes > 232448)
    return last_error = cudaErrorInvalidValue;
  max_smem[fn] = bytes;
  return cudaSuccess;
}

void launch(dim3 grid, dim3 block, size_t dyn, const void *fn,
            const std::function<void()> &b) {
  DeviceOp op;
  unsigned nthreads = block.x * block.y * block.z;
  int limit = 48 * 1024;
  auto it = max_smem.find(fn);
  if (it != max_smem.end() && it->second > limit)
    limit = it->second;
  if (nthreads < 1 || nthreads > 1024 || block.z > 64 || grid.x < 1 ||
      grid.y < 1 || grid.z < 1 || grid.y > 65535 || grid.z > 65535 ||
      grid.x > 2147483647u) {
    std::fprintf(stderr,
                 "emu: bad launch configuration (%u,%u,%u)x(%u,%u,%u)\n",
                 grid.x, grid.y, grid.z, block.x, block.y, block.z);
    last_error = cudaErrorInvalidConfiguration;
    return;
  }
  if ((long)dyn > limit) {
    std::fprintf(stderr, "emu: %zu bytes of dynamic shared memory > %d\n", dyn,
                 limit);
    last_error = cudaErrorInvalidValue;
    return;
  }
  smem.assign(dyn + 16, 0xA5);
  grid_dim = grid;
  block_dim = block;
  body = &b;
  std::vector<unsigned long long> blocks((size_t)grid.x * grid.y * grid.z);
  for (size_t i = 0; i < blocks.size(); i++)
    blocks[i] = i;
  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (unsigned long long i : blocks) {
    block_idx = dim3((unsigned)(i % grid.x), (unsigned)(i / grid.x % grid.y),
                     (unsigned)(i / ((unsigned long long)grid.x * grid.y)));
    std::fill(smem.begin(), smem.end(), 0xA5);
    run_block(nthreads);
  }
  body = nullptr;
}

} // namespace emu

using namespace emu;

static int no_device() { return std::getenv("BRL_EMU_NO_DEVICE") != nullptr; }

static void seed_once() {
  static int done = 0;
  if (done)
    return;
  done = 1;
  const char *s = std::getenv("BRL_EMU_SEED");
  rng.seed(s ? std::strtoull(s, nullptr, 10) : 12345);
}

extern "C" {

cudaError_t cudaGetDeviceCount(int *n) {
  std::lock_guard<std::recursive_mutex> g(mu);
  seed_once();
  *n = 0;
  if (no_device())
    return last_error = cudaErrorNoDevice;
  *n = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int *dev) {
  *dev = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int) {
  switch (attr) {
  case cudaDevAttrMultiProcessorCount:
    *value = 132;
    break;
  case cudaDevAttrComputeCapabilityMajor:
    *value = 9;
    break;
  case cudaDevAttrComputeCapabilityMinor:
    *value = 0;
    break;
  case cudaDevAttrMaxSharedMemoryPerBlockOptin:
    *value = 232448;
    break;
  default:
    return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t e) {
  switch (e) {
  case cudaSuccess:
    return "no error";
  case cudaErrorInvalidValue:
    return "invalid argument";
  case cudaErrorMemoryAllocation:
    return "out of memory";
  case cudaErrorInvalidConfiguration:
    return "invalid configuration argument";
  case cudaErrorNoDevice:
    return "no CUDA-capable device is detected";
  default:
    return "emulated CUDA error";
  }
}

const char *cudaGetErrorName(cudaError_t e) {
  switch (e) {
  case cudaSuccess:
    return "cudaSuccess";
  case cudaErrorInvalidValue:
    return "cudaErrorInvalidValue";
  case cudaErrorMemoryAllocation:
    return "cudaErrorMemoryAllocation";
  case cudaErrorInvalidConfiguration:
    return "cudaErrorInvalidConfiguration";
  case cudaErrorNoDevice:
    return "cudaErrorNoDevice";
  default:
    return "cudaErrorUnknown";
  }
}

cudaError_t cudaGetLastError(void) {
  std::lock_guard<std::recursive_mutex> g(mu);
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) {
  static char dummy[64];
  static int next = 0;
  std::lock_guard<std::recursive_mutex> g(mu);
  *s = (cudaStream_t)(dummy + (next++ % 64));
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) {
  std::lock_guard<std::recursive_mutex> g(mu);
  return last_error;
}

cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaMalloc(void **p, size_t bytes) {
  std::lock_guard<std::recursive_mutex> g(mu);
  seed_once();
  /* Tests of error paths: device allocation fails while this is set. */
  if (std::getenv("BRL_EMU_FAIL_MALLOC")) {
    *p = nullptr;
    return cudaErrorMemoryAllocation;
  }
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t len = (bytes + page - 1) / page * page;
  if (!len)
    len = page;
  void *q = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q == MAP_FAILED) {
    *p = nullptr;
    return cudaErrorMemoryAllocation;
  }
  std::memset(q, 0xA5, len); /* device memory starts as garbage */
  allocs[q] = Alloc{len};
  if (protected_now)
    mprotect(q, len, PROT_NONE);
  *p = q;
  return cudaSuccess;
}

cudaError_t cudaFree(void *p) {
  std::lock_guard<std::recursive_mutex> g(mu);
  if (!p)
    return cudaSuccess;
  auto it = allocs.find(p);
  if (it == allocs.end())
    return cudaErrorInvalidValue;
  munmap(p, it->second.bytes);
  allocs.erase(it);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t bytes) {
  *p = std::malloc(bytes ? bytes : 1);
  if (!*p)
    return cudaErrorMemoryAllocation;
  std::memset(*p, 0x5A, bytes);
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void *p) {
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       enum cudaMemcpyKind) {
  DeviceOp op;
  if (bytes)
    std::memcpy(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            enum cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

} // extern "C"
