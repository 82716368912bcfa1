/* The wrapped allocator of alloc_hook.h. Counters are atomic: OpenMP worker
 * threads may allocate too (the tests run one thread so that the N-th
 * allocation is the same one every time). */
#include "alloc_hook.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static atomic_long armed_at, count;
static atomic_int failed;
static atomic_llong live, peak, base;

void hook_arm(long n) {
  atomic_store(&count, 0);
  atomic_store(&failed, 0);
  atomic_store(&armed_at, n);
}

long hook_disarm(void) {
  atomic_store(&armed_at, 0);
  return atomic_load(&count);
}

int hook_failed(void) { return atomic_load(&failed); }

long long hook_live_bytes(void) { return atomic_load(&live); }

void hook_peak_reset(void) {
  atomic_store(&base, atomic_load(&live));
  atomic_store(&peak, 0);
}

long long hook_peak_bytes(void) { return atomic_load(&peak); }

/* 1 when this allocation must fail. */
static int fail_now(void) {
  long n = atomic_fetch_add(&count, 1) + 1;
  if (n == atomic_load(&armed_at)) {
    atomic_store(&failed, 1);
    return 1;
  }
  return 0;
}

static void add(void *p, long long sign) {
  if (!p)
    return;
  long long now =
      atomic_fetch_add(&live, sign * (long long)malloc_usable_size(p)) +
      sign * (long long)malloc_usable_size(p);
  long long rel = now - atomic_load(&base);
  long long pk = atomic_load(&peak);
  while (rel > pk && !atomic_compare_exchange_weak(&peak, &pk, rel))
    ;
}

void *__wrap_malloc(size_t n) {
  if (fail_now())
    return NULL;
  void *p = __real_malloc(n);
  add(p, 1);
  return p;
}

void *__wrap_calloc(size_t n, size_t size) {
  if (fail_now())
    return NULL;
  void *p = __real_calloc(n, size);
  add(p, 1);
  return p;
}

void *__wrap_realloc(void *p, size_t n) {
  if (fail_now())
    return NULL;
  long long old = p ? (long long)malloc_usable_size(p) : 0;
  void *q = __real_realloc(p, n);
  if (q) {
    atomic_fetch_sub(&live, old);
    add(q, 1);
  }
  return q;
}

void __wrap_free(void *p) {
  add(p, -1);
  __real_free(p);
}
