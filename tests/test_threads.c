/* Determinism: the same data and gradients give the same model bytes for
 * 1, 2 and 3 threads, greedy and oblivious, cosine and L2, plain or with
 * every engine feature at once (categorical and missing values, groups with
 * score weights, minibatch rows, min_data_in_leaf, control variates, Adam).
 * The batch is large enough that histograms and split scans do go parallel
 * (rows x features >= BRL_PARALLEL_MIN_WORK for the root and the smaller
 * child of the first split), and so does the prediction at the end. */
#include "engine/grow.h"
#include "testlib.h"
#include "util.h"

enum { N = 48000, D = 12, C = 2, STEPS = 8 };

_Static_assert((int64_t)N / 2 * D >= BRL_PARALLEL_MIN_WORK,
               "the test batch must be large enough to go parallel");

/* Every feature: two output groups, categorical columns, minibatches. */
static brl_model *grow_full(brl_params *p, const float *X, const int32_t *Xc) {
  p->n_groups = 2;
  p->groups[0].n_outputs = 2;
  p->groups[0].score_weight = 0.5f;
  p->groups[1] = p->groups[0];
  p->groups[1].n_outputs = 1;
  p->groups[1].lr = 0.05f;
  p->groups[1].score_weight = 2.0f;
  p->n_cat_features = C;
  p->min_data_in_leaf = 20;
  p->control_variates = 1;
  p->optimizer = BRL_OPTIMIZER_ADAM;
  brl_model *m = NULL;
  brl_batch *b = NULL;
  if (brl_model_create(p, &m) || brl_batch_create_cat(m, X, Xc, N, &b)) {
    brl_model_free(&m);
    return NULL;
  }
  brl_rng r;
  brl_rng_seed(&r, 17);
  const int K = 3, n = N * 3 / 4;
  float *g = malloc(sizeof(float) * (size_t)n * K);
  int32_t *rows = malloc(sizeof(int32_t) * (size_t)n);
  for (int s = 0; m && s < STEPS; s++) {
    for (int i = 0; i < n; i++)
      rows[i] = (int32_t)brl_rng_below(&r, N);
    for (int64_t i = 0; i < (int64_t)n * K; i++)
      g[i] = (float)brl_rng_normal(&r);
    if (brl_model_step(m, b, rows, n, g, (float)s / STEPS))
      brl_model_free(&m);
  }
  free(rows);
  free(g);
  brl_batch_free(&b);
  return m;
}

static void *model_bytes_for(int threads, int grow, int l2, int full,
                             size_t *len) {
  brl_rng r;
  brl_rng_seed(&r, 99);
  float *X = rand_matrix(&r, N, D, 0.02);
  int32_t *Xc = malloc(sizeof(int32_t) * N * C);
  for (int i = 0; i < N * C; i++)
    Xc[i] = (int32_t)brl_rng_below(&r, 40) - 1; /* -1: missing */
  brl_params p;
  brl_params_default(&p, D, 3);
  p.grow_policy = grow;
  p.split_score = l2;
  p.max_depth = 5;
  p.n_threads = threads;
  brl_model *m = full ? grow_full(&p, X, Xc) : grow_random(&p, X, N, STEPS, 7);
  void *buf = NULL;
  *len = 0;
  /* The file stores n_threads: the same count for every run, so that the
   * whole file, checksum included, must be the same bytes. */
  if (m && brl_model_set_threads(m, 1) == BRL_OK)
    brl_model_save_buffer(m, &buf, len);
  brl_model_free(&m);
  free(Xc);
  free(X);
  return buf;
}

static size_t bytes_differing(const void *a, const void *b, size_t n) {
  size_t diff = 0;
  for (size_t i = 0; i < n; i++)
    diff += ((const uint8_t *)a)[i] != ((const uint8_t *)b)[i];
  return diff;
}

int main(void) {
  for (int full = 0; full < 2; full++)
    for (int grow = 0; grow < 2; grow++)
      for (int l2 = 0; l2 < 2; l2++) {
        size_t l1, l2n, l3;
        void *a = model_bytes_for(1, grow, l2, full, &l1);
        void *b = model_bytes_for(2, grow, l2, full, &l2n);
        void *c = model_bytes_for(3, grow, l2, full, &l3);
        CHECK(a && b && c && l1 == l2n && l1 == l3);
        if (a && b && c && l1 == l2n && l1 == l3) {
          CHECK_MSG(memcmp(a, b, l1) == 0,
                    "full %d grow %d l2 %d: 1 vs 2 threads: %zu bytes differ",
                    full, grow, l2, bytes_differing(a, b, l1));
          CHECK_MSG(memcmp(a, c, l1) == 0,
                    "full %d grow %d l2 %d: 1 vs 3 threads: %zu bytes differ",
                    full, grow, l2, bytes_differing(a, c, l1));
        }
        brl_free(a);
        brl_free(b);
        brl_free(c);
      }
  /* Prediction over many rows with threads equals one thread. */
  const int n = 20000, d = 6;
  brl_rng r;
  brl_rng_seed(&r, 3);
  float *X = rand_matrix(&r, n, d, 0.01);
  brl_params p;
  brl_params_default(&p, d, 2);
  brl_model *m = grow_random(&p, X, 500, 60, 1);
  float *o1 = malloc(sizeof(float) * n * 2),
        *o2 = malloc(sizeof(float) * n * 2);
  brl_model_set_threads(m, 1);
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, o1));
  brl_model_set_threads(m, 2);
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, o2));
  CHECK(memcmp(o1, o2, sizeof(float) * n * 2) == 0);
  free(o1);
  free(o2);
  free(X);
  brl_model_free(&m);
  return brl_test_report("test_threads");
}
