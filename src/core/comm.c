/* The communicator: a checked, counted front of a table of collectives
 * (brl_comm_ops) and the single-process table. */
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

struct brl_comm {
  brl_comm_ops ops;
  void *ctx;
  int rank, size;
  int64_t calls, bytes;
};

/* The message each rank contributes to brl_comm_agree. */
#define AGREE_MSG 384

int brl_comm_new(const brl_comm_ops *ops, void *ctx, int rank, int size,
                 brl_comm **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(ops);
  if (ops->struct_size != sizeof(brl_comm_ops))
    return brl__fail(BRL_EINVAL,
                     "brl_comm_new: ops.struct_size is %zu but this library's "
                     "brl_comm_ops has %zu bytes: set it to "
                     "sizeof(brl_comm_ops) and build against this header",
                     ops->struct_size, sizeof(brl_comm_ops));
  if (size < 1 || rank < 0 || rank >= size)
    return brl__fail(BRL_EINVAL,
                     "brl_comm_new: rank %d of size %d: need 0 <= rank < "
                     "size",
                     rank, size);
  if (size > 1 && (!ops->allreduce_sum_i64 || !ops->allreduce_max_f64 ||
                   !ops->allgatherv || !ops->bcast))
    return brl__fail(BRL_EINVAL,
                     "brl_comm_new: a communicator of %d ranks "
                     "needs all four collectives in ops",
                     size);
  brl_comm *c = calloc(1, sizeof *c);
  if (!c)
    return brl__fail(BRL_ENOMEM, "out of memory for a communicator");
  c->ops = *ops;
  c->ctx = ctx;
  c->rank = rank;
  c->size = size;
  *out = c;
  return BRL_OK;
}

int brl_comm_new_self(brl_comm **out) {
  static const brl_comm_ops self = {
      sizeof(brl_comm_ops), NULL, NULL, NULL, NULL, NULL};
  return brl_comm_new(&self, NULL, 0, 1, out);
}

void brl_comm_free(brl_comm **c) {
  if (!c || !*c)
    return;
  if ((*c)->ops.destroy)
    (*c)->ops.destroy((*c)->ctx);
  free(*c);
  *c = NULL;
}

int brl_comm_rank(const brl_comm *c) { return c ? c->rank : 0; }
int brl_comm_size(const brl_comm *c) { return c ? c->size : 1; }

void brl_comm_stats(const brl_comm *c, int64_t *calls, int64_t *bytes) {
  if (calls)
    *calls = c ? c->calls : 0;
  if (bytes)
    *bytes = c ? c->bytes : 0;
}

/* The message before a transport call, cleared so that a failure's own
 * message (brl_set_error in the transport) can be told apart; restored
 * when the call succeeds, so a successful collective leaves
 * brl_last_error() as it was. */
typedef struct saved_error {
  char msg[512];
} saved_error;

static saved_error save_error(void) {
  saved_error s;
  strncpy(s.msg, brl_last_error(), sizeof s.msg - 1);
  s.msg[sizeof s.msg - 1] = '\0';
  brl__clear_error();
  return s;
}

/* A transport's status: on failure BRL_ECOMM with the message it set. */
static int transport(const brl_comm *c, int rc, const char *what,
                     const saved_error *before) {
  if (rc == 0) {
    if (before->msg[0])
      brl__fail(BRL_OK, "%s", before->msg);
    return BRL_OK;
  }
  const char *why = brl_last_error();
  return brl__fail(BRL_ECOMM,
                   "rank %d of %d: the %s collective failed (%d)%s%s", c->rank,
                   c->size, what, rc, why[0] ? ": " : "", why);
}

/* The checks and counters of an allreduce of n values of elem bytes. */
static int allreduce_begin(brl_comm *c, const void *data, int64_t n,
                           size_t elem, const char *fn) {
  if (n < 0 || (n > 0 && !data))
    return brl__fail(BRL_EINVAL, "%s: %lld values at %p", fn, (long long)n,
                     data);
  c->calls++;
  c->bytes += n * (int64_t)elem;
  return BRL_OK;
}

int brl_comm_allreduce_sum_i64(brl_comm *c, int64_t *data, int64_t n) {
  BRL_CHECK_ARG(c);
  int rc = allreduce_begin(c, data, n, sizeof *data, __func__);
  if (rc || c->size == 1)
    return rc;
  saved_error before = save_error();
  return transport(c, c->ops.allreduce_sum_i64(c->ctx, data, n), "allreduce",
                   &before);
}

int brl_comm_allreduce_max_f64(brl_comm *c, double *data, int64_t n) {
  BRL_CHECK_ARG(c);
  int rc = allreduce_begin(c, data, n, sizeof *data, __func__);
  if (rc || c->size == 1)
    return rc;
  saved_error before = save_error();
  return transport(c, c->ops.allreduce_max_f64(c->ctx, data, n), "allreduce",
                   &before);
}

int brl_comm_allgatherv(brl_comm *c, const void *send, void *recv,
                        const int64_t *counts) {
  BRL_CHECK_ARG(c);
  BRL_CHECK_ARG(counts);
  int64_t total = 0;
  for (int r = 0; r < c->size; r++) {
    if (counts[r] < 0)
      return brl__fail(BRL_EINVAL,
                       "brl_comm_allgatherv: rank %d sends %lld "
                       "bytes",
                       r, (long long)counts[r]);
    total += counts[r];
  }
  if ((counts[c->rank] > 0 && !send) || (total > 0 && !recv))
    return brl__fail(BRL_EINVAL,
                     "brl_comm_allgatherv: a NULL buffer for "
                     "%lld bytes",
                     (long long)total);
  c->calls++;
  c->bytes += counts[c->rank];
  if (c->size == 1) {
    if (total > 0 && recv != send)
      memmove(recv, send, (size_t)total);
    return BRL_OK;
  }
  saved_error before = save_error();
  return transport(c, c->ops.allgatherv(c->ctx, send, recv, counts),
                   "allgatherv", &before);
}

int brl_comm_bcast(brl_comm *c, void *data, int64_t bytes, int root) {
  BRL_CHECK_ARG(c);
  if (root < 0 || root >= c->size || bytes < 0 || (bytes > 0 && !data))
    return brl__fail(BRL_EINVAL,
                     "brl_comm_bcast: %lld bytes from rank %d "
                     "of %d",
                     (long long)bytes, root, c->size);
  c->calls++;
  if (c->rank == root)
    c->bytes += bytes;
  if (c->size == 1)
    return BRL_OK;
  saved_error before = save_error();
  return transport(c, c->ops.bcast(c->ctx, data, bytes, root), "bcast",
                   &before);
}

/* Each rank contributes its status and message; one allgatherv. */
int brl_comm_agree(brl_comm *c, int status) {
  BRL_CHECK_ARG(c);
  if (c->size == 1)
    return status;
  char mine[AGREE_MSG + sizeof(int32_t)];
  int32_t st = (int32_t)status;
  memcpy(mine, &st, sizeof st);
  memset(mine + sizeof st, 0, AGREE_MSG);
  if (status)
    strncpy(mine + sizeof st, brl_last_error(), AGREE_MSG - 1);
  const size_t each = sizeof mine;
  char *all = malloc(each * (size_t)c->size);
  int64_t *counts = malloc(sizeof(int64_t) * (size_t)c->size);
  if (!all || !counts) {
    free(all);
    free(counts);
    return brl__fail(BRL_ENOMEM, "out of memory for brl_comm_agree");
  }
  for (int r = 0; r < c->size; r++)
    counts[r] = (int64_t)each;
  int rc = brl_comm_allgatherv(c, mine, all, counts);
  free(counts);
  if (rc) {
    free(all);
    return rc;
  }
  for (int r = 0; r < c->size; r++) {
    int32_t s;
    memcpy(&s, all + (size_t)r * each, sizeof s);
    if (s) {
      char msg[AGREE_MSG];
      memcpy(msg, all + (size_t)r * each + sizeof s, AGREE_MSG);
      msg[AGREE_MSG - 1] = '\0';
      free(all);
      if (r == c->rank)
        return brl__fail(status, "%s", msg);
      return brl__fail(status ? status : BRL_ECOMM, "rank %d of %d failed: %s",
                       r, c->size, msg);
    }
  }
  free(all);
  return BRL_OK;
}
