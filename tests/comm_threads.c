/* Ranks as threads: every collective publishes the rank's buffer in a slot,
 * waits for all ranks, reads the slots it needs into a private result,
 * waits again (nobody rewrites a slot that is still being read) and copies
 * the result in place. */
#define _POSIX_C_SOURCE 200809L
#include "comm_threads.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct shared {
  int n;
  pthread_barrier_t bar;
  const void *slot[64];
} shared;

typedef struct rank_ctx {
  shared *s;
  int rank;
  brl_test_rank_fn fn;
  void *arg;
  int rc;
} rank_ctx;

static void sync2(shared *s) { pthread_barrier_wait(&s->bar); }

static int sum_i64(void *ctx, int64_t *data, int64_t n) {
  rank_ctx *rc = ctx;
  shared *s = rc->s;
  int64_t *res = calloc((size_t)n + 1, sizeof *res);
  s->slot[rc->rank] = data;
  sync2(s);
  for (int r = 0; r < s->n; r++)
    for (int64_t i = 0; i < n; i++)
      res[i] += ((const int64_t *)s->slot[r])[i];
  sync2(s);
  memcpy(data, res, (size_t)n * sizeof *res);
  free(res);
  return 0;
}

static int max_f64(void *ctx, double *data, int64_t n) {
  rank_ctx *rc = ctx;
  shared *s = rc->s;
  double *res = malloc(((size_t)n + 1) * sizeof *res);
  s->slot[rc->rank] = data;
  sync2(s);
  for (int64_t i = 0; i < n; i++) {
    res[i] = ((const double *)s->slot[0])[i];
    for (int r = 1; r < s->n; r++) {
      double v = ((const double *)s->slot[r])[i];
      res[i] = v > res[i] ? v : res[i];
    }
  }
  sync2(s);
  memcpy(data, res, (size_t)n * sizeof *res);
  free(res);
  return 0;
}

static int gatherv(void *ctx, const void *send, void *recv,
                   const int64_t *counts) {
  rank_ctx *rc = ctx;
  shared *s = rc->s;
  int64_t total = 0;
  for (int r = 0; r < s->n; r++)
    total += counts[r];
  char *res = malloc((size_t)total + 1);
  s->slot[rc->rank] = send;
  sync2(s);
  int64_t at = 0;
  for (int r = 0; r < s->n; r++) {
    if (counts[r])
      memcpy(res + at, s->slot[r], (size_t)counts[r]);
    at += counts[r];
  }
  sync2(s);
  if (total)
    memcpy(recv, res, (size_t)total);
  free(res);
  return 0;
}

static int bcast(void *ctx, void *data, int64_t bytes, int root) {
  rank_ctx *rc = ctx;
  shared *s = rc->s;
  s->slot[rc->rank] = data;
  sync2(s);
  if (rc->rank != root && bytes)
    memcpy(data, s->slot[root], (size_t)bytes);
  sync2(s);
  return 0;
}

static void *run(void *p) {
  rank_ctx *rc = p;
  static const brl_comm_ops ops = {
      sizeof(brl_comm_ops), sum_i64, max_f64, gatherv, bcast, NULL};
  brl_comm *c = NULL;
  rc->rc = brl_comm_new(&ops, rc, rc->rank, rc->s->n, &c);
  if (!rc->rc)
    rc->rc = rc->fn(c, rc->arg);
  brl_comm_free(&c);
  return NULL;
}

int brl_test_run_ranks(int n, brl_test_rank_fn fn, void *arg, int *rcs) {
  if (n < 1 || n > 64)
    return BRL_EINVAL;
  shared s;
  memset(&s, 0, sizeof s);
  s.n = n;
  pthread_barrier_init(&s.bar, NULL, (unsigned)n);
  rank_ctx ctx[64];
  pthread_t th[64];
  for (int r = 0; r < n; r++) {
    ctx[r] = (rank_ctx){&s, r, fn, arg, 0};
    pthread_create(&th[r], NULL, run, &ctx[r]);
  }
  int first = 0;
  for (int r = 0; r < n; r++) {
    pthread_join(th[r], NULL);
    if (rcs)
      rcs[r] = ctx[r].rc;
    if (!first && ctx[r].rc)
      first = ctx[r].rc;
  }
  pthread_barrier_destroy(&s.bar);
  return first;
}
