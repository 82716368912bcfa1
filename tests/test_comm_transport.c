/* A transport's failure reaches the caller with the transport's own message
 * (brl_set_error), and a successful collective leaves brl_last_error() as
 * it was. A two-rank table whose collectives fail or succeed on demand. */
#include "boostrl.h"
#include "testlib.h"

#include <string.h>

static int fail_next;

static int sum(void *ctx, int64_t *data, int64_t n) {
  (void)ctx, (void)data, (void)n;
  if (fail_next)
    return brl_set_error(BRL_ECOMM, "link to rank 1 is down"), 5;
  return 0;
}
static int max(void *ctx, double *data, int64_t n) {
  (void)ctx, (void)data, (void)n;
  return fail_next ? 7 : 0; /* fails without a message */
}
static int gather(void *ctx, const void *s, void *r, const int64_t *counts) {
  (void)ctx, (void)s, (void)r, (void)counts;
  return 0;
}
static int bcast(void *ctx, void *data, int64_t bytes, int root) {
  (void)ctx, (void)data, (void)bytes, (void)root;
  return 0;
}

int main(void) {
  CHECK(brl_set_error(BRL_EIO, "a message") == BRL_EIO);
  CHECK(strcmp(brl_last_error(), "a message") == 0);
  CHECK(brl_set_error(BRL_EINVAL, NULL) == BRL_EINVAL);
  CHECK(strcmp(brl_last_error(), "") == 0);

  static const brl_comm_ops ops = {
      sizeof(brl_comm_ops), sum, max, gather, bcast, NULL};
  brl_comm *c = NULL;
  CHECK_OK(brl_comm_new(&ops, NULL, 0, 2, &c));
  int64_t v = 1;
  double d = 1;
  fail_next = 1;
  CHECK(brl_comm_allreduce_sum_i64(c, &v, 1) == BRL_ECOMM);
  CHECK_MSG(strstr(brl_last_error(), "rank 0 of 2: the allreduce collective "
                                     "failed (5): link to rank 1 is down"),
            "%s", brl_last_error());
  /* no message from the transport: none added, and no stale one */
  CHECK(brl_comm_allreduce_max_f64(c, &d, 1) == BRL_ECOMM);
  CHECK_MSG(strcmp(brl_last_error(),
                   "rank 0 of 2: the allreduce collective failed (7)") == 0,
            "%s", brl_last_error());
  fail_next = 0;
  brl_set_error(BRL_EIO, "an earlier failure");
  CHECK_OK(brl_comm_allreduce_sum_i64(c, &v, 1));
  CHECK_OK(brl_comm_bcast(c, &v, sizeof v, 1));
  CHECK(strcmp(brl_last_error(), "an earlier failure") == 0);
  brl_comm_free(&c);
  return brl_test_report("test_comm_transport");
}
