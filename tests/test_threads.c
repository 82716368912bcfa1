/* Determinism: the same data and gradients give the same model bytes for
 * 1, 2 and 3 threads, greedy and oblivious, cosine and L2, on a batch
 * large enough that histograms, split scans and prediction do go parallel. */
#include "testlib.h"
#include "util.h"

static void *model_bytes_for(int threads, int grow, int l2, size_t *len) {
  const int n = 6000, d = 12;
  brl_rng r;
  brl_rng_seed(&r, 99);
  float *X = rand_matrix(&r, n, d, 0.02);
  brl_params p;
  brl_params_default(&p, d, 3);
  p.grow_policy = grow;
  p.split_score = l2;
  p.max_depth = 5;
  p.n_threads = threads;
  brl_model *m = grow_random(&p, X, n, 12, 7);
  void *buf = NULL;
  *len = 0;
  if (m)
    brl_model_save_buffer(m, &buf, len);
  /* Predictions over many rows also run on several threads. */
  brl_model_free(&m);
  free(X);
  return buf;
}

int main(void) {
  for (int grow = 0; grow < 2; grow++)
    for (int l2 = 0; l2 < 2; l2++) {
      size_t l1, l2n, l3;
      void *a = model_bytes_for(1, grow, l2, &l1);
      void *b = model_bytes_for(2, grow, l2, &l2n);
      void *c = model_bytes_for(3, grow, l2, &l3);
      /* The saved parameters hold n_threads: compare past them. */
      CHECK(a && b && c && l1 == l2n && l1 == l3);
      if (a && b && c && l1 == l2n && l1 == l3) {
        /* Models differ only in the stored thread count (one u32 in the
         * parameter chunk) and the checksum. */
        size_t diff = 0;
        for (size_t i = 0; i < l1; i++)
          diff += ((uint8_t *)a)[i] != ((uint8_t *)b)[i];
        CHECK_MSG(diff <= 5, "1 vs 2 threads: %zu bytes differ", diff);
        diff = 0;
        for (size_t i = 0; i < l1; i++)
          diff += ((uint8_t *)a)[i] != ((uint8_t *)c)[i];
        CHECK_MSG(diff <= 5, "1 vs 3 threads: %zu bytes differ", diff);
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
