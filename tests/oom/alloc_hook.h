/* An allocator hook for the tests linked with -Wl,--wrap=malloc,... (see
 * CMakeLists.txt): every malloc, calloc, realloc and free of the library and
 * the test goes through counters, so a test can make the N-th allocation
 * fail and measure the bytes a call holds at its peak. */
#ifndef BRL_TESTS_ALLOC_HOOK_H
#define BRL_TESTS_ALLOC_HOOK_H

#include <stddef.h>

/* From now on, allocation number n (1 = the next one) fails, and only that
 * one; n = 0 counts without failing. */
void hook_arm(long n);
/* Stops failing; returns the number of allocations since hook_arm. */
long hook_disarm(void);
/* 1 when the armed failure happened. */
int hook_failed(void);
/* Bytes allocated and not yet freed (by malloc_usable_size). */
long long hook_live_bytes(void);
/* The peak of hook_live_bytes() since the last reset, relative to it. */
void hook_peak_reset(void);
long long hook_peak_bytes(void);

#endif
