/* The cost of the communicator's collectives by message size, through
 * brl_comm over MPI (boostrl_mpi): allreduce_sum_i64 of S bytes and an
 * allgatherv that gathers S bytes in all (S / ranks from each), for S =
 * 8 B .. 8 MiB (x4 apart). Each figure is the median over repetitions of the
 * slowest rank's time for one call. Rank 0 prints a table (or --json lines).
 *
 *   mpirun -np 2 build/bench_comm [--max-bytes B] [--seconds S] [--json]
 *
 * bench/comm.sh runs it at np 2 on this machine (loopback, shared memory
 * between processes). */
#include "boostrl_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median over reps of the slowest rank's seconds for one call of op. */
typedef int (*op_fn)(brl_comm *c, void *buf, int64_t bytes, int64_t *counts);

static int op_allreduce(brl_comm *c, void *buf, int64_t bytes,
                        int64_t *counts) {
  (void)counts;
  return brl_comm_allreduce_sum_i64(c, buf, bytes / 8);
}

static int op_allgatherv(brl_comm *c, void *buf, int64_t bytes,
                         int64_t *counts) {
  const int P = brl_comm_size(c), r = brl_comm_rank(c);
  int64_t at = 0;
  for (int q = 0; q < P; q++) {
    counts[q] = bytes / P + (q < bytes % P);
    if (q < r)
      at += counts[q];
  }
  return brl_comm_allgatherv(c, (char *)buf + at, buf, counts);
}

static double measure(brl_comm *c, op_fn op, void *buf, int64_t bytes,
                      int64_t *counts, double seconds, int *reps_out) {
  double t[1000];
  int reps = 0;
  double spent = 0;
  for (int w = 0; w < 3; w++) /* warm up */
    op(c, buf, bytes, counts);
  while (reps < 1000 && (reps < 5 || spent < seconds)) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (op(c, buf, bytes, counts)) {
      fprintf(stderr, "bench_comm: %s\n", brl_last_error());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    t[reps++] = dt;
    spent += dt;
  }
  qsort(t, (size_t)reps, sizeof(double), cmp_double);
  *reps_out = reps;
  return t[reps / 2];
}

int main(int argc, char **argv) {
  brl_comm *c = NULL;
  if (brl_comm_mpi_world(&argc, &argv, &c)) {
    fprintf(stderr, "bench_comm: %s\n", brl_last_error());
    return 1;
  }
  int64_t max_bytes = 8 << 20;
  double seconds = 0.2;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--max-bytes") && i + 1 < argc)
      max_bytes = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else {
      fprintf(stderr, "usage: bench_comm [--max-bytes B] [--seconds S] "
                      "[--json]\n");
      return 2;
    }
  }
  const int P = brl_comm_size(c), me = brl_comm_rank(c);
  void *buf = calloc((size_t)max_bytes + 8, 1);
  int64_t *counts = malloc((size_t)P * sizeof(int64_t));
  if (!buf || !counts)
    MPI_Abort(MPI_COMM_WORLD, 1);
  if (me == 0 && !json)
    printf("%d ranks\n%10s %14s %12s %14s %12s\n", P, "bytes", "allreduce us",
           "GB/s", "allgatherv us", "GB/s");
  for (int64_t s = 8; s <= max_bytes; s *= 4) {
    int ra, rg;
    double ta = measure(c, op_allreduce, buf, s, counts, seconds, &ra);
    double tg = measure(c, op_allgatherv, buf, s, counts, seconds, &rg);
    if (me != 0)
      continue;
    if (json)
      printf("{\"ranks\": %d, \"bytes\": %lld, \"allreduce_us\": %.2f, "
             "\"allgatherv_us\": %.2f, \"reps\": [%d, %d]}\n",
             P, (long long)s, ta * 1e6, tg * 1e6, ra, rg);
    else
      printf("%10lld %14.2f %12.3f %14.2f %12.3f\n", (long long)s, ta * 1e6,
             (double)s / ta * 1e-9, tg * 1e6, (double)s / tg * 1e-9);
  }
  free(buf);
  free(counts);
  brl_comm_free(&c);
  return 0;
}
