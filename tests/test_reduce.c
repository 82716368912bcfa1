/* The reduce hook of tree growth (brl_batch_set_comm): ranks that each hold
 * a shard of the rows grow byte-identical models to one process holding all
 * of them, over several steps, for greedy and oblivious trees, L2 and
 * cosine scores, numeric (with missing values) and categorical features,
 * several output groups, minibatches (large ones reducing histograms, small
 * ones gathered) and clipped gradients; and the
 * refusals and error agreement of a sharded step. Ranks are threads
 * (tests/comm_threads.h). */
#include "boostrl.h"
#include "comm_threads.h"
#include "testlib.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { N = 700, D = 5, C = 2, K = 3, STEPS = 6, CATS = 5, NE = 40 };

static float X[N * D];
static int32_t Xc[N * C];
static float Y[N * K];
static float edges[D * BRL_MAX_EDGES];
static int n_edges[D];

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

static double unit(uint64_t a, uint64_t b) {
  return (double)(mix(a * 1000003u + b) >> 11) / 9007199254740992.0;
}

static void make_data(void) {
  for (int i = 0; i < N; i++) {
    for (int f = 0; f < D; f++) {
      float v = (float)(4.0 * unit((uint64_t)i, (uint64_t)f) - 2.0);
      X[i * D + f] = (f == 1 && i % 11 == 3) ? NAN : v; /* missing values */
    }
    /* every category in every shard: rows cycle through them */
    Xc[i * C + 0] = i % CATS;
    Xc[i * C + 1] = (int32_t)(mix((uint64_t)i + 77) % CATS);
    const float *x = X + i * D;
    float x1 = isnan(x[1]) ? 0.0f : x[1];
    Y[i * K + 0] = sinf(2.0f * x[0]) + 0.5f * (Xc[i * C] == 2);
    Y[i * K + 1] = x1 * x[2] - (Xc[i * C + 1] == 4);
    Y[i * K + 2] = 100.0f * (x[3] > 0.3f) + x[4]; /* another scale */
  }
  for (int f = 0; f < D; f++) {
    n_edges[f] = NE;
    for (int j = 0; j < NE; j++)
      edges[f * BRL_MAX_EDGES + j] = -2.0f + 4.0f * (float)(j + 1) / (NE + 1);
  }
}

typedef struct setup {
  int greedy, l2, minibatch, clip, adam;
} setup;

static void params(const setup *s, brl_params *p) {
  brl_params_default(p, D, K);
  p->n_cat_features = C;
  p->n_groups = 2;
  p->groups[0].n_outputs = 2;
  p->groups[0].lr = 0.3f;
  p->groups[0].lr_end = 0.3f;
  p->groups[1] = p->groups[0];
  p->groups[1].n_outputs = 1;
  p->groups[1].lr = 0.1f;
  p->groups[1].lr_end = 0.1f;
  p->groups[1].score_weight = 0.5f;
  p->max_depth = 4;
  p->grow_policy = s->greedy ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
  p->split_score = s->l2 ? BRL_SCORE_L2 : BRL_SCORE_COSINE;
  p->clip_nonfinite = s->clip;
  p->optimizer = s->adam ? BRL_OPTIMIZER_ADAM : BRL_OPTIMIZER_SGD;
  p->n_threads = 1;
}

/* Whether global row i is in the minibatch of step t. */
static int in_minibatch(const setup *s, int i, int t) {
  const uint64_t h = mix((uint64_t)i * 31 + (uint64_t)t);
  return !s->minibatch || (s->minibatch == 2 ? h % 10 == 0 : h % 3 != 0);
}

/* Trains on global rows [r0, r1) (a rank's shard, or all rows with no
 * communicator) and saves the model into *buf. */
static int train(const setup *s, brl_comm *c, int r0, int r1, void **buf,
                 size_t *len) {
  brl_params p;
  params(s, &p);
  const int n = r1 - r0;
  brl_model *m = NULL;
  brl_batch *b = NULL;
  float *g = malloc(sizeof(float) * (size_t)n * K);
  int32_t *rows = malloc(sizeof(int32_t) * (size_t)n);
  int rc = g && rows ? BRL_OK : BRL_ENOMEM;
  if (!rc)
    rc = brl_model_create(&p, &m);
  if (!rc)
    rc = brl_batch_create_edges(m, X + (size_t)r0 * D, Xc + (size_t)r0 * C, n,
                                edges, n_edges, &b);
  if (!rc && c)
    rc = brl_batch_set_comm(b, c);
  for (int t = 0; !rc && t < STEPS; t++) {
    const float *pred;
    if ((rc = brl_batch_predictions(b, m, &pred)))
      break;
    int nb = 0;
    for (int i = 0; i < n; i++) {
      if (!in_minibatch(s, r0 + i, t))
        continue;
      rows[nb] = i;
      for (int k = 0; k < K; k++)
        g[nb * K + k] = pred[i * K + k] - Y[(r0 + i) * K + k];
      /* a diverged row: its column's largest finite magnitude over all
       * ranks replaces it */
      if (s->clip && r0 + i == 5 * t + 1)
        g[nb * K + 1] = (t & 1) ? INFINITY : -INFINITY;
      nb++;
    }
    rc = brl_model_step(m, b, s->minibatch ? rows : NULL, nb, g, 0.5f);
  }
  if (!rc)
    rc = brl_model_save_buffer(m, buf, len);
  brl_batch_free(&b);
  brl_model_free(&m);
  free(g);
  free(rows);
  return rc;
}

typedef struct shared {
  setup s;
  void *buf[4];
  size_t len[4];
} shared;

/* Uneven contiguous shards: rank r of n holds [N r^2 / n^2, ...). */
static int shard_begin(int r, int n) { return N * r * r / (n * n); }

static int rank_body(brl_comm *c, void *arg) {
  shared *sh = arg;
  const int r = brl_comm_rank(c), n = brl_comm_size(c);
  return train(&sh->s, c, shard_begin(r, n), shard_begin(r + 1, n), &sh->buf[r],
               &sh->len[r]);
}

static void check_setup(const setup *s) {
  void *ref = NULL;
  size_t ref_len = 0;
  CHECK_OK(train(s, NULL, 0, N, &ref, &ref_len));
  for (int n = 2; n <= 3; n++) {
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.s = *s;
    int rcs[4] = {0};
    int rc = brl_test_run_ranks(n, rank_body, &sh, rcs);
    CHECK_MSG(rc == 0, "greedy %d l2 %d mb %d clip %d adam %d, %d ranks: %d",
              s->greedy, s->l2, s->minibatch, s->clip, s->adam, n, rc);
    for (int r = 0; r < n; r++) {
      CHECK_MSG(sh.buf[r] && sh.len[r] == ref_len &&
                    !memcmp(sh.buf[r], ref, ref_len),
                "greedy %d l2 %d mb %d clip %d adam %d: rank %d of %d differs "
                "from one process",
                s->greedy, s->l2, s->minibatch, s->clip, s->adam, r, n);
      free(sh.buf[r]);
    }
  }
  free(ref);
}

/* A communicator of one rank is the identity: the same model as none. */
static int self_body(brl_comm *c, void *arg) {
  shared *sh = arg;
  return train(&sh->s, c, 0, N, &sh->buf[0], &sh->len[0]);
}

static void check_self(void) {
  setup s = {1, 1, 1, 0, 0};
  void *ref = NULL;
  size_t ref_len = 0;
  CHECK_OK(train(&s, NULL, 0, N, &ref, &ref_len));
  shared sh;
  memset(&sh, 0, sizeof sh);
  sh.s = s;
  CHECK(brl_test_run_ranks(1, self_body, &sh, NULL) == 0);
  CHECK(sh.len[0] == ref_len && !memcmp(sh.buf[0], ref, ref_len));
  free(sh.buf[0]);
  free(ref);
}

/* One process: the trees differ from those of half of the rows (so the
 * comparison above is not trivially true). */
static void check_shards_matter(void) {
  setup s = {0, 0, 0, 0, 0};
  void *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  CHECK_OK(train(&s, NULL, 0, N, &a, &la));
  CHECK_OK(train(&s, NULL, 0, N / 2, &b, &lb));
  CHECK(la != lb || memcmp(a, b, la) != 0);
  free(a);
  free(b);
}

typedef struct fault {
  int kind; /* 0: other bins on rank 1; 1: NaN gradient on rank 1;
               2: control variates; 3: the CUDA backend */
  int rc[4];
  char msg[4][512];
  int64_t calls[4];
} fault;

static int fault_body(brl_comm *c, void *arg) {
  fault *f = arg;
  const int r = brl_comm_rank(c);
  setup s = {0, 1, 0, 0, 0};
  brl_params p;
  params(&s, &p);
  p.control_variates = f->kind == 2;
  brl_model *m = NULL;
  brl_batch *b = NULL;
  float e2[D * BRL_MAX_EDGES];
  memcpy(e2, edges, sizeof e2);
  if (f->kind == 0 && r == 1)
    e2[2 * BRL_MAX_EDGES + 7] += 0.01f; /* one edge moved */
  const int r0 = r * 100;
  int rc = brl_model_create(&p, &m);
  if (!rc && f->kind == 3)
    rc = brl_model_set_backend(m, BRL_BACKEND_CUDA);
  if (!rc)
    rc = brl_batch_create_edges(m, X + r0 * D, Xc + r0 * C, 100, e2, n_edges,
                                &b);
  if (!rc)
    rc = brl_batch_set_comm(b, c);
  float g[100 * K];
  for (int i = 0; i < 100 * K; i++)
    g[i] = (float)(unit((uint64_t)(r0 * K + i), 9) - 0.5);
  if (f->kind == 1 && r == 1)
    g[17] = NAN;
  if (!rc)
    rc = brl_model_step(m, b, NULL, 100, g, 0.0f);
  f->rc[r] = rc;
  strncpy(f->msg[r], brl_last_error(), 511);
  int64_t bytes;
  brl_comm_stats(c, &f->calls[r], &bytes);
  int ntrees = m ? brl_model_n_trees(m) : -1;
  brl_batch_free(&b);
  brl_model_free(&m);
  return ntrees == 0 ? BRL_OK : BRL_ESTATE; /* no rank appended a tree */
}

static void check_faults(void) {
  for (int kind = 0; kind < 4; kind++) {
    if (kind == 3 && !brl_backend_available(BRL_BACKEND_CUDA))
      continue;
    fault f;
    memset(&f, 0, sizeof f);
    f.kind = kind;
    CHECK_MSG(brl_test_run_ranks(3, fault_body, &f, NULL) == 0, "kind %d",
              kind);
    for (int r = 0; r < 3; r++) {
      CHECK_MSG(f.rc[r] != BRL_OK, "kind %d rank %d", kind, r);
      if (kind == 0)
        CHECK_MSG(f.rc[r] == BRL_EINVAL && strstr(f.msg[r], "rank 1") &&
                      strstr(f.msg[r], "same bin edges"),
                  "rank %d: %d %s", r, f.rc[r], f.msg[r]);
      if (kind == 1)
        CHECK_MSG(f.rc[r] == (r == 1 ? BRL_ENUMERIC : BRL_ECOMM) &&
                      strstr(f.msg[r], "finite"),
                  "rank %d: %d %s", r, f.rc[r], f.msg[r]);
      if (kind >= 2)
        CHECK_MSG(f.rc[r] == BRL_EUNSUPPORTED &&
                      strstr(f.msg[r],
                             kind == 2 ? "control_variates" : "CPU backend"),
                  "rank %d: %d %s", r, f.rc[r], f.msg[r]);
    }
  }
}

/* A sharded step's collectives are counted; after detaching, none. A
 * step of many rows reduces histograms (several collectives per level); a
 * minibatch of few rows is gathered instead: two collectives (the sizes,
 * then the rows' codes and gradients) and one per level of depth 4 that
 * splits (the ranks' best splits of their blocks of features). */
enum { CN = 250, CM = 30 };

static int count_body(brl_comm *c, void *arg) {
  int64_t *calls = arg;
  const int r = brl_comm_rank(c);
  setup s = {1, 0, 0, 0, 0};
  brl_params p;
  params(&s, &p);
  brl_model *m = NULL;
  brl_batch *b = NULL;
  float g[CN * K];
  int32_t rows[CM];
  for (int i = 0; i < CN * K; i++)
    g[i] = (float)(unit((uint64_t)(r * CN * K + i), 3) - 0.5);
  for (int i = 0; i < CM; i++)
    rows[i] = 7 * i;
  int rc = brl_model_create(&p, &m);
  if (!rc)
    rc = brl_batch_create_edges(m, X + r * CN * D, Xc + r * CN * C, CN, edges,
                                n_edges, &b);
  if (!rc)
    rc = brl_batch_set_comm(b, c);
  int64_t bytes;
  if (!rc)
    rc = brl_model_step(m, b, NULL, CN, g, 0.0f);
  brl_comm_stats(c, &calls[3 * r], &bytes);
  if (!rc)
    rc = brl_model_step(m, b, rows, CM, g, 0.0f);
  brl_comm_stats(c, &calls[3 * r + 1], &bytes);
  if (!rc)
    rc = brl_batch_set_comm(b, NULL);
  if (!rc)
    rc = brl_model_step(m, b, NULL, CN, g, 0.0f);
  brl_comm_stats(c, &calls[3 * r + 2], &bytes);
  brl_batch_free(&b);
  brl_model_free(&m);
  return rc;
}

int main(void) {
  make_data();
  CHECK(brl_batch_set_comm(NULL, NULL) == BRL_EINVAL);
  check_shards_matter();
  check_self();
  for (int greedy = 0; greedy < 2; greedy++)
    for (int l2 = 0; l2 < 2; l2++)
      for (int mb = 0; mb < 3; mb++) { /* 2: few rows, gathered */
        setup s = {greedy, l2, mb, 0, 0};
        check_setup(&s);
      }
  for (int mb = 1; mb < 3; mb++) {
    setup clip = {1, 1, mb, 1, 0};
    check_setup(&clip);
    setup adam = {0, 1, mb, 0, 1};
    check_setup(&adam);
  }
  check_faults();
  int64_t calls[6];
  CHECK(brl_test_run_ranks(2, count_body, calls, NULL) == 0);
  CHECK_MSG(calls[0] > 6, "%lld collectives for a step of %d rows",
            (long long)calls[0], 2 * CN);
  CHECK_MSG(calls[1] - calls[0] >= 3 && calls[1] - calls[0] <= 2 + 4,
            "%lld collectives for a step of %d rows",
            (long long)(calls[1] - calls[0]), 2 * CM);
  CHECK(calls[2] == calls[1]);
  CHECK(calls[3] == calls[0] && calls[4] == calls[1] && calls[5] == calls[2]);
  return brl_test_report("test_reduce");
}
