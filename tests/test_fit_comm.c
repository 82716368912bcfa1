/* The sharded fit over 2 and 3 ranks (tests/comm_threads.h), rows split
 * unevenly: every rank's batch has the bins of one batch of all the rows
 * (quantile bins by the distinct-value and by the bisection path, uniform
 * bins, NaN, ties, categories beyond the bin count, missing codes), and
 * failures on one rank come back on every rank. */
#include "boostrl.h"
#include "comm_threads.h"
#include "engine/batch.h"
#include "engine/fit_bins.h"
#include "testlib.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 700
#define D 5
#define C 2
#define K 2

static float X[N * D], Y[N * K];
static int32_t XC[N * C];

/* Columns: continuous (bisection), 12 levels (distinct path), heavy ties
 * plus NaN, one value only, and a wide skewed one; categories: 300 codes
 * skewed (beyond 254 bins) with missing ones, and 6 codes. */
static void make_data(void) {
  brl_rng r;
  brl_rng_seed(&r, 11);
  for (int i = 0; i < N; i++) {
    float *x = X + i * D;
    x[0] = (float)brl_rng_normal(&r);
    x[1] = (float)brl_rng_below(&r, 12) * 0.25f - 1.0f;
    x[2] =
        brl_rng_uniform(&r) < 0.1 ? NAN : (float)brl_rng_below(&r, 400) * 0.5f;
    x[3] = 2.5f;
    x[4] = (float)exp(3.0 * brl_rng_normal(&r));
    double u = brl_rng_uniform(&r);
    XC[i * C] = u < 0.05 ? -1 : (int32_t)(300.0 * u * u * u);
    XC[i * C + 1] = (int32_t)brl_rng_below(&r, 6);
    Y[i * K] = x[0] + (x[1] > 0 ? 1.0f : 0.0f) + (float)(XC[i * C + 1] == 3);
    Y[i * K + 1] = (float)brl_rng_normal(&r);
  }
}

typedef struct run {
  brl_params p;
  int64_t first[4], n[4]; /* each rank's rows */
  brl_batch *whole;       /* one batch of all rows */
  int bad[4];             /* per rank: differences found */
  /* errors */
  int fail_rank, fail_kind;
  int64_t zero_rows_rank;
} run;

static void split(run *s, int P, const int *weights) {
  int64_t total_w = 0, at = 0;
  for (int r = 0; r < P; r++)
    total_w += weights[r];
  for (int r = 0; r < P; r++) {
    s->first[r] = at;
    s->n[r] = r == P - 1 ? N - at : N * weights[r] / total_w;
    if (s->n[r] < 1)
      s->n[r] = 1;
    at += s->n[r];
  }
}

/* Compares this rank's batch with the whole one. */
static int same_bins(brl_comm *c, void *arg) {
  run *s = arg;
  const int r = brl_comm_rank(c);
  brl_model *m = NULL;
  brl_batch *b = NULL;
  int rc = brl_model_create(&s->p, &m);
  if (!rc)
    rc = brl__batch_create_global(m, X + s->first[r] * D, XC + s->first[r] * C,
                                  s->n[r], c, &b);
  if (rc) {
    brl_model_free(&m);
    return rc;
  }
  const brl_batch *w = s->whole;
  int bad = 0;
  for (int f = 0; f < D + C; f++)
    bad += b->nbins[f] != w->nbins[f];
  for (int f = 0; f < D; f++) /* bitwise: the stored thresholds */
    bad += memcmp(b->edges + f * 255, w->edges + f * 255,
                  sizeof(float) * (size_t)(w->nbins[f] - 1)) != 0
               ? 100
               : 0;
  for (int cc = 0; cc < C; cc++)
    bad += memcmp(b->cat_vals + cc * 255, w->cat_vals + cc * 255,
                  sizeof(int32_t) * (size_t)(w->nbins[D + cc] - 1)) != 0;
  bad += memcmp(b->codes, w->codes + s->first[r] * (D + C),
                (size_t)(s->n[r] * (D + C))) != 0;
  bad += b->hslots != w->hslots;
  s->bad[r] = bad;
  brl_batch_free(&b);
  brl_model_free(&m);
  return BRL_OK;
}

static void check_bins(const char *what, int P, const int *weights,
                       const brl_params *p) {
  run s;
  memset(&s, 0, sizeof s);
  s.p = *p;
  split(&s, P, weights);
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(p, &m));
  CHECK_OK(brl_batch_create_cat(m, X, XC, N, &s.whole));
  int rcs[4] = {0};
  CHECK_OK(brl_test_run_ranks(P, same_bins, &s, rcs));
  for (int r = 0; r < P; r++)
    CHECK_MSG(s.bad[r] == 0, "%s, %d ranks: rank %d's bins differ (%d)", what,
              P, r, s.bad[r]);
  brl_batch_free(&s.whole);
  brl_model_free(&m);
}

/* brl_fit_comm with one rank failing a check (fail_kind 1: negative
 * iterations, 2: a non-finite y, 3: no rows). */
static int failing(brl_comm *c, void *arg) {
  run *s = arg;
  const int r = brl_comm_rank(c);
  brl_model *m = NULL;
  int rc = brl_model_create(&s->p, &m);
  if (rc)
    return rc;
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  fp.iterations = 3;
  float y[N * K];
  memcpy(y, Y, sizeof y);
  int64_t n = s->n[r];
  if (r == s->fail_rank) {
    if (s->fail_kind == 1)
      fp.iterations = -1;
    else if (s->fail_kind == 2)
      y[(s->first[r] + 1) * K] = NAN;
    else
      n = 0;
  }
  rc = brl_fit_comm(m, X + s->first[r] * D, XC + s->first[r] * C,
                    y + s->first[r] * K, n, &fp, c);
  brl_model_free(&m);
  return rc;
}

static void check_failure(int P, int kind, int fail_rank, int want) {
  run s;
  memset(&s, 0, sizeof s);
  brl_params_default(&s.p, D, K);
  s.p.n_cat_features = C;
  const int w[4] = {1, 1, 1, 1};
  split(&s, P, w);
  s.fail_rank = fail_rank;
  s.fail_kind = kind;
  int rcs[4] = {0};
  brl_test_run_ranks(P, failing, &s, rcs);
  for (int r = 0; r < P; r++) {
    int expect = kind == 3 ? BRL_EINVAL : r == fail_rank ? want : BRL_ECOMM;
    CHECK_MSG(rcs[r] == expect, "kind %d, %d ranks: rank %d returned %d", kind,
              P, r, rcs[r]);
  }
}

/* brl_fit_comm on each rank's rows; the model bytes into s->bytes[r]. */
typedef struct fit_run {
  brl_params p;
  brl_fit_params fp;
  int64_t first[4], n[4];
  void *bytes[4];
  size_t len[4];
  int64_t calls[4], sent[4];
} fit_run;

static int fit_rank(brl_comm *c, void *arg) {
  fit_run *s = arg;
  const int r = brl_comm_rank(c);
  brl_model *m = NULL;
  int rc = brl_model_create(&s->p, &m);
  if (!rc)
    rc = brl_fit_comm(m, X + s->first[r] * D, XC + s->first[r] * C,
                      Y + s->first[r] * K, s->n[r], &s->fp, c);
  if (!rc)
    rc = brl_model_save_buffer(m, &s->bytes[r], &s->len[r]);
  brl_comm_stats(c, &s->calls[r], &s->sent[r]);
  brl_model_free(&m);
  return rc;
}

/* Every rank's model is byte for byte brl_fit's on all rows. */
static void check_fit(const char *what, int P, const int *weights,
                      const brl_params *p, const brl_fit_params *fp) {
  brl_model *m = NULL;
  void *want = NULL;
  size_t want_len = 0;
  CHECK_OK(brl_model_create(p, &m));
  CHECK_OK(brl_fit(m, X, XC, Y, N, fp));
  CHECK_OK(brl_model_save_buffer(m, &want, &want_len));
  CHECK(brl_model_n_trees(m) == fp->iterations);
  brl_model_free(&m);
  fit_run s;
  memset(&s, 0, sizeof s);
  s.p = *p;
  s.fp = *fp;
  run sp;
  split(&sp, P, weights);
  memcpy(s.first, sp.first, sizeof s.first);
  memcpy(s.n, sp.n, sizeof s.n);
  int rcs[4] = {0};
  CHECK_MSG(brl_test_run_ranks(P, fit_rank, &s, rcs) == 0, "%s: %d %d %d", what,
            rcs[0], rcs[1], rcs[2]);
  for (int r = 0; r < P; r++) {
    CHECK_MSG(s.len[r] == want_len && s.bytes[r] &&
                  memcmp(s.bytes[r], want, want_len) == 0,
              "%s, %d ranks: rank %d's model differs from one process's", what,
              P, r);
    brl_free(s.bytes[r]);
  }
  if (getenv("BRL_FIT_COMM_STATS"))
    printf("%s, %d ranks: %lld collectives, %lld bytes sent by rank 0\n", what,
           P, (long long)s.calls[0], (long long)s.sent[0]);
  brl_free(want);
}

int main(void) {
  make_data();
  brl_params p;
  brl_params_default(&p, D, K);
  p.n_cat_features = C;
  const int w2[2] = {1, 3}, w3[3] = {5, 1, 2};
  check_bins("quantile 256", 2, w2, &p);
  check_bins("quantile 256", 3, w3, &p);
  p.n_bins = 16; /* 12 levels: distinct path; the others: bisection */
  check_bins("quantile 16", 2, w2, &p);
  check_bins("quantile 16", 3, w3, &p);
  p.bin_method = BRL_BINS_UNIFORM;
  check_bins("uniform 16", 3, w3, &p);
  p.n_bins = 256;
  check_bins("uniform 256", 2, w2, &p);
  /* a rank of one row */
  const int tiny[3] = {1, 1000, 1};
  p.bin_method = BRL_BINS_QUANTILE;
  check_bins("quantile, 1-row rank", 3, tiny, &p);

  /* models: full batch and minibatches, greedy and oblivious, L2 */
  brl_params_default(&p, D, K);
  p.n_cat_features = C;
  p.max_depth = 3;
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  fp.iterations = 12;
  check_fit("full batch", 2, w2, &p, &fp);
  check_fit("full batch", 3, w3, &p, &fp);
  fp.batch_size = 128; /* 5 minibatches an epoch, reshuffled */
  fp.seed = 3;
  fp.iterations = 14;
  check_fit("minibatch", 2, w2, &p, &fp);
  check_fit("minibatch", 3, w3, &p, &fp);
  p.grow_policy = BRL_GROW_GREEDY;
  p.split_score = BRL_SCORE_L2;
  p.n_bins = 32;
  check_fit("greedy L2 minibatch", 3, w3, &p, &fp);
  fp.shuffle = 0;
  check_fit("greedy L2 minibatch, no shuffle", 2, w2, &p, &fp);

  check_failure(2, 1, 1, BRL_EINVAL);
  check_failure(3, 2, 2, BRL_ENUMERIC);
  check_failure(3, 3, 0, BRL_EINVAL);
  return brl_test_report("test_fit_comm");
}
