/* The communicator front (src/core/comm.c) over the thread communicator:
 * argument checks, the collectives' results, agree's error spreading and
 * the counters. */
#include "boostrl.h"
#include "comm_threads.h"
#include "testlib.h"

#include <string.h>

static int collectives(brl_comm *c, void *arg) {
  (void)arg;
  int r = brl_comm_rank(c), n = brl_comm_size(c);
  int64_t v[3] = {r, 10 * r, -1};
  int rc = brl_comm_allreduce_sum_i64(c, v, 3);
  if (rc || v[0] != n * (n - 1) / 2 || v[1] != 10 * v[0] || v[2] != -n)
    return BRL_EINVAL;
  double m[2] = {(double)r, -(double)r};
  if ((rc = brl_comm_allreduce_max_f64(c, m, 2)) || m[0] != n - 1 || m[1] != 0)
    return BRL_EINVAL;
  /* rank r sends r + 1 bytes of value r */
  int64_t counts[8];
  char send[8], recv[64];
  for (int q = 0; q < n; q++)
    counts[q] = q + 1;
  memset(send, r, sizeof send);
  if ((rc = brl_comm_allgatherv(c, send, recv, counts)))
    return rc;
  int at = 0;
  for (int q = 0; q < n; q++)
    for (int k = 0; k <= q; k++)
      if (recv[at++] != q)
        return BRL_EINVAL;
  int64_t b = r == n - 1 ? 42 : 0;
  if ((rc = brl_comm_bcast(c, &b, sizeof b, n - 1)) || b != 42)
    return BRL_EINVAL;
  int64_t calls, bytes;
  brl_comm_stats(c, &calls, &bytes);
  if (calls != 4)
    return BRL_EINVAL;
  return brl_comm_agree(c, BRL_OK);
}

/* Rank 1 fails with its own message; every rank must get an error. */
static int one_fails(brl_comm *c, void *arg) {
  char *msgs = arg;
  int st = BRL_OK;
  if (brl_comm_rank(c) == 1) {
    brl_model_free(NULL);
    st = brl_comm_new(NULL, NULL, 0, 1, NULL); /* a real failure message */
  }
  int rc = brl_comm_agree(c, st);
  strncpy(msgs + 256 * brl_comm_rank(c), brl_last_error(), 255);
  return rc;
}

int main(void) {
  for (int n = 1; n <= 4; n++) {
    int rcs[4];
    CHECK_MSG(brl_test_run_ranks(n, collectives, NULL, rcs) == 0, "n=%d", n);
  }
  char msgs[3 * 256] = {0};
  int rcs[3];
  CHECK(brl_test_run_ranks(3, one_fails, msgs, rcs) != 0);
  CHECK(rcs[1] == BRL_EINVAL);
  CHECK(rcs[0] == BRL_ECOMM && rcs[2] == BRL_ECOMM);
  CHECK(strstr(msgs, "rank 1 of 3 failed") != NULL);
  CHECK(strstr(msgs + 512, "argument 'out' is NULL") != NULL);

  brl_comm *self = NULL;
  CHECK_OK(brl_comm_new_self(&self));
  CHECK(brl_comm_rank(self) == 0 && brl_comm_size(self) == 1);
  int64_t v = 7;
  CHECK_OK(brl_comm_allreduce_sum_i64(self, &v, 1));
  CHECK(v == 7);
  CHECK(brl_comm_agree(self, BRL_EIO) == BRL_EIO);
  brl_comm_free(&self);
  CHECK(self == NULL);

  brl_comm_ops bad = {sizeof(brl_comm_ops) - 8, NULL, NULL, NULL, NULL, NULL};
  brl_comm *c = NULL;
  CHECK(brl_comm_new(&bad, NULL, 0, 1, &c) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "struct_size") != NULL);
  bad.struct_size = sizeof bad;
  CHECK(brl_comm_new(&bad, NULL, 0, 2, &c) == BRL_EINVAL);
  CHECK(brl_comm_new(&bad, NULL, 2, 2, &c) == BRL_EINVAL);
  return brl_test_report("test_comm");
}
