/* brl_fit_comm over MPI (mpirun -np 2 / 3, tests/mpi/run.sh): every rank
 * fits its uneven shard of the rows and ends with the model, byte for
 * byte, that brl_fit gives on all rows in one process (computed by each
 * rank for comparison): full batch and minibatches, oblivious and greedy,
 * numeric features with NaN and ties plus categorical ones. And a failed
 * check on one rank comes back on every rank. */
#include "boostrl_mpi.h"
#include "testlib.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 900
#define D 4
#define C 2
#define K 2

static float X[N * D], Y[N * K];
static int32_t XC[N * C];

static uint64_t next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double unif(uint64_t *s) { return (double)(next(s) >> 11) * 0x1p-53; }

static void make_data(void) {
  uint64_t s = 5;
  for (int i = 0; i < N; i++) {
    float *x = X + i * D;
    x[0] = (float)(unif(&s) * 4.0 - 2.0);
    x[1] = (float)(next(&s) % 9) * 0.5f;
    x[2] = unif(&s) < 0.1 ? NAN : (float)(next(&s) % 500) * 0.25f;
    x[3] = (float)exp(2.0 * unif(&s));
    double u = unif(&s);
    XC[i * C] = u < 0.05 ? -1 : (int32_t)(280.0 * u * u);
    XC[i * C + 1] = (int32_t)(next(&s) % 5);
    Y[i * K] = sinf(x[0]) + (x[1] > 2.0f ? 1.0f : 0.0f) +
               (XC[i * C + 1] == 2 ? 0.5f : 0.0f);
    Y[i * K + 1] = (float)unif(&s);
  }
}

/* Rank r's rows: uneven shares 1 : 2 : 3 ... */
static void shard(int r, int P, int64_t *first, int64_t *n) {
  int64_t w = (int64_t)P * (P + 1) / 2, at = 0;
  for (int q = 0; q < r; q++)
    at += N * (q + 1) / w;
  *first = at;
  *n = r == P - 1 ? N - at : N * (r + 1) / w;
}

static void check_fit(brl_comm *c, const char *what, const brl_params *p,
                      const brl_fit_params *fp) {
  const int r = brl_comm_rank(c), P = brl_comm_size(c);
  brl_model *one = NULL, *m = NULL;
  void *want = NULL, *got = NULL;
  size_t want_len = 0, got_len = 0;
  CHECK_OK(brl_model_create(p, &one));
  CHECK_OK(brl_fit(one, X, XC, Y, N, fp));
  CHECK_OK(brl_model_save_buffer(one, &want, &want_len));
  int64_t first, n;
  shard(r, P, &first, &n);
  CHECK_OK(brl_model_create(p, &m));
  CHECK_OK(
      brl_fit_comm(m, X + first * D, XC + first * C, Y + first * K, n, fp, c));
  CHECK_OK(brl_model_save_buffer(m, &got, &got_len));
  CHECK_MSG(
      got && want && got_len == want_len && memcmp(got, want, want_len) == 0,
      "%s: rank %d of %d: the model differs from one process's", what, r, P);
  brl_free(want);
  brl_free(got);
  brl_model_free(&one);
  brl_model_free(&m);
}

int main(int argc, char **argv) {
  brl_comm *c = NULL;
  CHECK_OK(brl_comm_mpi_world(&argc, &argv, &c));
  if (!c)
    return brl_test_report("test_mpi_fit");
  make_data();
  brl_params p;
  brl_params_default(&p, D, K);
  p.n_cat_features = C;
  p.max_depth = 3;
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  fp.iterations = 10;
  check_fit(c, "full batch", &p, &fp);
  fp.batch_size = 100;
  fp.seed = 9;
  check_fit(c, "minibatch", &p, &fp);
  p.grow_policy = BRL_GROW_GREEDY;
  p.split_score = BRL_SCORE_L2;
  p.n_bins = 24;
  check_fit(c, "greedy L2 minibatch", &p, &fp);

  /* rank 1 passes a negative iteration count */
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  const int r = brl_comm_rank(c);
  int64_t first, n;
  shard(r, brl_comm_size(c), &first, &n);
  fp.iterations = r == 1 ? -1 : 5;
  int rc =
      brl_fit_comm(m, X + first * D, XC + first * C, Y + first * K, n, &fp, c);
  CHECK(rc == (r == 1 ? BRL_EINVAL : BRL_ECOMM));
  if (r != 1)
    CHECK_MSG(strstr(brl_last_error(), "rank 1 of") != NULL, "%s",
              brl_last_error());
  brl_model_free(&m);
  brl_comm_free(&c);
  char name[32];
  snprintf(name, sizeof name, "test_mpi_fit rank %d", r);
  return brl_test_report(name);
}
