/* The cost of the communicator's collectives by message size, through
 * brl_comm over MPI (boostrl_mpi): allreduce_sum_i64 of S bytes and an
 * allgatherv that gathers S bytes in all (S / ranks from each), for S =
 * 8 B .. 8 MiB (x4 apart). Each figure is the median over repetitions of the
 * slowest rank's time for one call. Rank 0 prints a table (or --json lines).
 *
 *   mpirun -np 2 build/bench_comm [--max-bytes B] [--seconds S] [--json]
 *
 * With --fit ROWS,FEATURES,DEPTH[,GREEDY] it measures brl_fit_comm's
 * exchange instead: collectives and bytes to bin and per tree; with
 * --agent ENV ALGO a distributed agent's (the preset) per update.
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

/* The exchange of brl_fit_comm: collectives and bytes this rank sent to
 * bin (a fit of 0 trees) and per tree, and the wall time per tree, for
 * rows x features (n_rows split evenly), depth, 256 bins, 1 output. */
static void fit_exchange(brl_comm *c, int64_t rows, int d, int depth, int trees,
                         int grow, int json) {
  const int P = brl_comm_size(c), me = brl_comm_rank(c);
  const int64_t n = rows / P + (me < rows % P);
  float *X = malloc((size_t)n * (size_t)d * sizeof(float));
  float *y = malloc((size_t)n * sizeof(float));
  uint64_t s = 77 + (uint64_t)me;
  for (int64_t i = 0; i < n * d; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    X[i] = (float)(s >> 40) * 0x1p-24f;
  }
  for (int64_t i = 0; i < n; i++)
    y[i] = X[i * d] + (X[i * d + 1 % d] > 0.5f ? 1.0f : 0.0f);
  brl_params p;
  brl_params_default(&p, d, 1);
  p.max_depth = depth;
  p.grow_policy = grow ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
  p.n_threads = 1;
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  int64_t calls[3], bytes[3];
  double t[2] = {0, 0};
  for (int pass = 0; pass < 2; pass++) {
    brl_model *m = NULL;
    fp.iterations = pass ? trees : 0;
    brl_comm_stats(c, &calls[pass], &bytes[pass]);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (brl_model_create(&p, &m) || brl_fit_comm(m, X, NULL, y, n, &fp, c)) {
      fprintf(stderr, "bench_comm: %s\n", brl_last_error());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    t[pass] = MPI_Wtime() - t0;
    brl_model_free(&m);
  }
  brl_comm_stats(c, &calls[2], &bytes[2]);
  const int64_t bin_calls = calls[1] - calls[0],
                bin_bytes = bytes[1] - bytes[0];
  const double tree_calls = (double)(calls[2] - calls[1] - bin_calls) / trees;
  const double tree_bytes = (double)(bytes[2] - bytes[1] - bin_bytes) / trees;
  const double tree_ms = (t[1] - t[0]) / trees * 1e3;
  if (me == 0) {
    if (json)
      printf("{\"fit_rows\": %lld, \"features\": %d, \"depth\": %d, "
             "\"grow\": \"%s\", \"ranks\": %d, \"bin_calls\": %lld, "
             "\"bin_bytes\": %lld, \"tree_calls\": %.1f, \"tree_bytes\": "
             "%.0f, \"tree_ms\": %.3f}\n",
             (long long)rows, d, depth, grow ? "greedy" : "oblivious", P,
             (long long)bin_calls, (long long)bin_bytes, tree_calls, tree_bytes,
             tree_ms);
    else
      printf("fit %lld rows x %d features, depth %d %s, %d ranks: binning %lld "
             "collectives, %lld bytes sent; per tree %.1f collectives, %.0f "
             "bytes sent, %.3f ms\n",
             (long long)rows, d, depth, grow ? "greedy" : "oblivious", P,
             (long long)bin_calls, (long long)bin_bytes, tree_calls, tree_bytes,
             tree_ms);
  }
  free(X);
  free(y);
}

/* The exchange of a distributed agent (brl_agent_set_comm) with env's
 * preset for algo: collectives and bytes this rank sent per update (one
 * rollout and its trees), from the second update to the fourth, and the
 * env steps of an update. */
static void agent_exchange(brl_comm *c, const char *env_id, const char *algo,
                           int json) {
  const int P = brl_comm_size(c), me = brl_comm_rank(c);
  brl_algo a = !strcmp(algo, "a2c")   ? BRL_ALGO_A2C
               : !strcmp(algo, "awr") ? BRL_ALGO_AWR
               : !strcmp(algo, "dqn") ? BRL_ALGO_DQN
                                      : BRL_ALGO_PPO;
  brl_agent_config cfg;
  brl_agent_config_preset(&cfg, env_id, a, NULL);
  cfg.n_threads = 1;
  int first = 0, count = 0;
  brl_env *env = NULL;
  brl_agent *ag = NULL;
  brl_env_spec spec;
  brl_action_space space;
  if (brl_env_share(cfg.n_envs, me, P, &first, &count) ||
      brl_env_make_range(env_id, first, count, 1, &env) ||
      brl_env_get_spec(env, &spec) ||
      brl_action_space_from_env(&spec, &space) ||
      brl_agent_create(&cfg, spec.obs_dim, &space, 1, &ag) ||
      brl_agent_set_comm(ag, c)) {
    fprintf(stderr, "bench_comm: %s\n", brl_last_error());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  const int64_t per =
      (int64_t)cfg.n_envs *
      (a == BRL_ALGO_PPO || a == BRL_ALGO_A2C ? cfg.n_steps : cfg.train_freq);
  int64_t calls[2], bytes[2];
  double t[2];
  for (int k = 0; k < 2; k++) { /* learn's target counts from the start */
    int64_t target = k == 0 ? per * 2 : per * 4;
    MPI_Barrier(MPI_COMM_WORLD);
    t[k] = MPI_Wtime();
    brl_comm_stats(c, &calls[k], &bytes[k]);
    if (brl_agent_learn(ag, env, target, k == 0 ? 1 : 2)) {
      fprintf(stderr, "bench_comm: %s\n", brl_last_error());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  double t_end = MPI_Wtime();
  int64_t c_end, b_end;
  brl_comm_stats(c, &c_end, &b_end);
  const double upd_calls = (double)(c_end - calls[1]) / 2;
  const double upd_bytes = (double)(b_end - bytes[1]) / 2;
  const double upd_ms = (t_end - t[1]) / 2 * 1e3;
  if (me == 0) {
    if (json)
      printf("{\"env\": \"%s\", \"algo\": \"%s\", \"ranks\": %d, "
             "\"n_envs\": %d, \"steps_per_update\": %lld, "
             "\"update_calls\": %.1f, \"update_bytes\": %.0f, "
             "\"update_ms\": %.2f}\n",
             env_id, algo, P, cfg.n_envs, (long long)per, upd_calls, upd_bytes,
             upd_ms);
    else
      printf("%s %s, %d ranks, n_envs %d: per update (%lld env steps) %.1f "
             "collectives, %.0f bytes sent by rank 0, %.2f ms\n",
             env_id, algo, P, cfg.n_envs, (long long)per, upd_calls, upd_bytes,
             upd_ms);
  }
  brl_agent_free(&ag);
  brl_env_free(&env);
}

int main(int argc, char **argv) {
  brl_comm *c = NULL;
  if (brl_comm_mpi_world(&argc, &argv, &c)) {
    fprintf(stderr, "bench_comm: %s\n", brl_last_error());
    return 1;
  }
  int64_t max_bytes = 8 << 20;
  double seconds = 0.2;
  int json = 0, fit_d = 0, fit_depth = 0, fit_grow = 0;
  int64_t fit_rows = 0;
  const char *agent_env = NULL, *agent_algo = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--max-bytes") && i + 1 < argc)
      max_bytes = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "--agent") && i + 2 < argc) {
      agent_env = argv[++i];
      agent_algo = argv[++i];
    } else if (!strcmp(argv[i], "--fit") && i + 1 < argc) {
      long long rows = 0;
      int d = 0, depth = 0, grow = 0;
      if (sscanf(argv[++i], "%lld,%d,%d,%d", &rows, &d, &depth, &grow) < 3)
        return 2;
      fit_rows = rows, fit_d = d, fit_depth = depth, fit_grow = grow;
    } else {
      fprintf(stderr, "usage: bench_comm [--max-bytes B] [--seconds S] "
                      "[--json] [--fit ROWS,FEATURES,DEPTH[,GREEDY]] "
                      "[--agent ENV ppo|a2c|awr|dqn]\n");
      return 2;
    }
  }
  if (agent_env) {
    agent_exchange(c, agent_env, agent_algo, json);
    brl_comm_free(&c);
    return 0;
  }
  if (fit_rows > 0) {
    fit_exchange(c, fit_rows, fit_d, fit_depth, 20, fit_grow, json);
    brl_comm_free(&c);
    return 0;
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
