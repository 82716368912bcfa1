/* The MPI communicator (src/mpi/comm_mpi.c) under mpirun -np 2 or 3
 * (tests/mpi/run.sh): the collectives' results (test_comm.c's checks and
 * larger, uneven and in-place transfers), the same with transfers cut into
 * 3-byte/3-element chunks (BRL_MPI_CHUNK, the path of counts above
 * INT_MAX), error agreement, and argument errors. */
#define _POSIX_C_SOURCE 200809L
#include "boostrl_mpi.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

/* test_comm.c's checks: sum, max, allgatherv of r + 1 bytes, bcast. */
static void small_collectives(brl_comm *c) {
  int r = brl_comm_rank(c), n = brl_comm_size(c);
  int64_t v[3] = {r, 10 * r, -1};
  CHECK_OK(brl_comm_allreduce_sum_i64(c, v, 3));
  CHECK(v[0] == n * (n - 1) / 2 && v[1] == 10 * v[0] && v[2] == -n);
  double m[2] = {(double)r, -(double)r};
  CHECK_OK(brl_comm_allreduce_max_f64(c, m, 2));
  CHECK(m[0] == n - 1 && m[1] == 0);
  int64_t counts[8];
  char send[8], recv[64];
  for (int q = 0; q < n; q++)
    counts[q] = q + 1;
  memset(send, r, sizeof send);
  CHECK_OK(brl_comm_allgatherv(c, send, recv, counts));
  int at = 0, bad = 0;
  for (int q = 0; q < n; q++)
    for (int k = 0; k <= q; k++)
      bad += recv[at++] != q;
  CHECK(bad == 0);
  int64_t b = r == n - 1 ? 42 : 0;
  CHECK_OK(brl_comm_bcast(c, &b, sizeof b, n - 1));
  CHECK(b == 42);
}

/* 100,000 values; rank 0 sends nothing to the gather, rank q sends
 * 1000 q + 7 bytes; the gather in place (send = rank's part of recv). */
static void large_collectives(brl_comm *c) {
  int r = brl_comm_rank(c), n = brl_comm_size(c);
  enum { N = 100000 };
  int64_t *v = malloc(N * sizeof *v);
  double *d = malloc(N * sizeof *d);
  for (int64_t i = 0; i < N; i++) {
    v[i] = i * (r + 1) - ((int64_t)1 << 40);
    d[i] = (double)((i + r) % n) - 0.5;
  }
  CHECK_OK(brl_comm_allreduce_sum_i64(c, v, N));
  CHECK_OK(brl_comm_allreduce_max_f64(c, d, N));
  int bad = 0;
  for (int64_t i = 0; i < N; i++) {
    bad += v[i] != i * (int64_t)(n * (n + 1) / 2) - n * ((int64_t)1 << 40);
    bad += d[i] != (double)(n - 1) - 0.5;
  }
  CHECK_MSG(bad == 0, "%d wrong values", bad);
  free(v);
  free(d);

  int64_t counts[8], off[9] = {0};
  for (int q = 0; q < n; q++) {
    counts[q] = q == 0 ? 0 : 1000 * q + 7;
    off[q + 1] = off[q] + counts[q];
  }
  unsigned char *recv = malloc((size_t)off[n] + 1);
  unsigned char *send = malloc((size_t)counts[r] + 1);
  for (int64_t i = 0; i < counts[r]; i++)
    send[i] = (unsigned char)(r * 31 + i);
  CHECK_OK(brl_comm_allgatherv(c, send, recv, counts));
  bad = 0;
  for (int q = 0; q < n; q++)
    for (int64_t i = 0; i < counts[q]; i++)
      bad += recv[off[q] + i] != (unsigned char)(q * 31 + i);
  CHECK_MSG(bad == 0, "%d wrong bytes", bad);
  /* in place: each rank's part already sits in recv */
  memset(recv, 0xEE, (size_t)off[n]);
  memcpy(recv + off[r], send, (size_t)counts[r]);
  CHECK_OK(brl_comm_allgatherv(c, recv + off[r], recv, counts));
  bad = 0;
  for (int q = 0; q < n; q++)
    for (int64_t i = 0; i < counts[q]; i++)
      bad += recv[off[q] + i] != (unsigned char)(q * 31 + i);
  CHECK_MSG(bad == 0, "%d wrong bytes in place", bad);
  free(recv);
  free(send);
}

/* Rank 1 fails; every rank gets an error naming it; the counters count. */
static void agreement(brl_comm *c) {
  int r = brl_comm_rank(c), n = brl_comm_size(c);
  int st = BRL_OK;
  if (r == 1)
    st = brl_comm_new(NULL, NULL, 0, 1, NULL); /* a real failure message */
  int rc = brl_comm_agree(c, st);
  if (r == 1) {
    CHECK(rc == BRL_EINVAL);
    CHECK(strstr(brl_last_error(), "argument 'out' is NULL") != NULL);
  } else {
    char want[64];
    snprintf(want, sizeof want, "rank 1 of %d failed", n);
    CHECK(rc == BRL_ECOMM);
    CHECK_MSG(strstr(brl_last_error(), want) != NULL, "%s", brl_last_error());
  }
  CHECK_OK(brl_comm_agree(c, BRL_OK));
}

int main(int argc, char **argv) {
  brl_comm *c = NULL;
  CHECK(brl_comm_mpi_world(&argc, &argv, NULL) == BRL_EINVAL);
  CHECK_OK(brl_comm_mpi_world(&argc, &argv, &c));
  if (!c)
    return brl_test_report("test_mpi_comm");
  int n = brl_comm_size(c);
  CHECK(n >= 2 && n <= 8);
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CHECK(size == n);

  small_collectives(c);
  int64_t calls, bytes;
  brl_comm_stats(c, &calls, &bytes);
  CHECK(calls == 4);
  large_collectives(c);
  agreement(c);

  /* Every transfer cut into chunks of 3 (elements or bytes): the chunked
   * paths that counts above INT_MAX take. */
  setenv("BRL_MPI_CHUNK", "3", 1);
  brl_comm *small = NULL;
  CHECK_OK(brl_comm_mpi_new(MPI_COMM_WORLD, &small));
  unsetenv("BRL_MPI_CHUNK");
  if (small) {
    small_collectives(small);
    large_collectives(small);
    agreement(small);
  }
  brl_comm_free(&small);
  CHECK(small == NULL);

  CHECK(brl_comm_mpi_new(MPI_COMM_NULL, &small) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "MPI_COMM_NULL") != NULL);
  CHECK(brl_comm_mpi_new(MPI_COMM_WORLD, NULL) == BRL_EINVAL);

  brl_comm_free(&c);
  char name[32];
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  snprintf(name, sizeof name, "test_mpi_comm rank %d", rank);
  return brl_test_report(name);
}
