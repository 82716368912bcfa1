/* The backend table (src/backend/backend.h): the registration point and
 * availability, statuses of every call, predictions that go through the
 * table (a failing backend's error comes back, with no fallback), the
 * cache update from the leaves a backend returns, and the host workspace
 * that only the CPU backend allocates. */
#define _POSIX_C_SOURCE 200809L
#include "backend/backend.h"
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"
#include "engine/predict.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 300, D = 4, K = 2 };

static float X[N * D], G[N * K];

static void make_data(void) {
  unsigned s = 7;
  for (int i = 0; i < N * D; i++)
    X[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f;
  for (int i = 0; i < N * K; i++)
    G[i] = (float)((s = s * 1103515245u + 12345u) >> 8) / 16777216.0f - 0.5f;
}

static brl_model *model(int depth) {
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = depth;
  p.grow_policy = BRL_GROW_GREEDY;
  p.n_threads = 1;
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  return m;
}

static void check_registry(void) {
  const brl_backend *cpu = brl__backend_table(BRL_BACKEND_CPU);
  CHECK(cpu && cpu->kind == BRL_BACKEND_CPU && !*cpu->unavailable());
  CHECK(cpu->sharded && cpu->prepare && cpu->grow_tree && cpu->predict_add);
  CHECK(!cpu->predict_device && !cpu->mem_alloc);
  CHECK(brl__backend_usable(BRL_BACKEND_CPU) == cpu);
  CHECK(brl_backend_available(BRL_BACKEND_CPU));
  const brl_backend *cuda = brl__backend_table(BRL_BACKEND_CUDA);
  const char *why = brl__backend_reason(BRL_BACKEND_CUDA);
  CHECK(brl_backend_available(BRL_BACKEND_CUDA) == (cuda && !*why));
  if (!cuda)
    CHECK(strstr(why, "-DBRL_CUDA=ON") != NULL);
  else
    CHECK(cuda->kind == BRL_BACKEND_CUDA && !cuda->sharded && cuda->mem_alloc &&
          cuda->mem_free && cuda->mem_copy && cuda->predict_device);
  CHECK(brl__backend_table((brl_backend_kind)7) == NULL);
  brl_model *m = model(3);
  CHECK(brl_model_set_backend(m, (brl_backend_kind)7) == BRL_EINVAL);
  if (!brl_backend_available(BRL_BACKEND_CUDA)) {
    CHECK(brl_model_set_backend(m, BRL_BACKEND_CUDA) == BRL_EUNSUPPORTED);
    CHECK(strstr(brl_last_error(), why) != NULL);
    void *p = &p;
    CHECK(brl_device_alloc(16, &p) == BRL_EUNSUPPORTED && p == NULL);
  }
  brl_model_free(&m);
}

/* A backend that wraps the CPU's, counts its calls, can fail prediction and
 * returns a leaf for every batch row (all leaf 0) from growth. */
static int n_predict, fail_predict, n_grow;
static uint16_t zero_leaves[N];

static int fake_predict_add(const brl_model *m, const float *X_,
                            const int32_t *Xc, int64_t n, int start, int stop,
                            float *out) {
  n_predict++;
  if (fail_predict)
    return brl__fail(BRL_ESTATE, "the fake device failed");
  return brl__backend_cpu()->predict_add(m, X_, Xc, n, start, stop, out);
}

static int fake_predict_adam(const brl_model *m, const float *X_,
                             const int32_t *Xc, int64_t n, int start, int stop,
                             float *out, double *mv) {
  n_predict++;
  if (fail_predict)
    return brl__fail(BRL_ESTATE, "the fake device failed");
  return brl__backend_cpu()->predict_adam(m, X_, Xc, n, start, stop, out, mv);
}

static int fake_grow(brl_model *m, brl_batch *b, const int32_t *rows, int64_t n,
                     const float *grads, float progress,
                     const uint16_t **leaves) {
  n_grow++;
  int rc = brl__backend_cpu()->grow_tree(m, b, rows, n, grads, progress, NULL);
  if (leaves)
    *leaves = zero_leaves;
  return rc;
}

static int fake_prepare(const brl_model *m, brl_batch *b, int64_t n) {
  return brl__backend_cpu()->prepare(m, b, n);
}

static const char *fake_unavailable(void) { return ""; }

static const brl_backend fake = {"fake",
                                 BRL_BACKEND_CPU,
                                 fake_unavailable,
                                 1,
                                 fake_prepare,
                                 fake_grow,
                                 fake_predict_add,
                                 fake_predict_adam,
                                 NULL,
                                 NULL,
                                 NULL,
                                 NULL};

static void check_through_table(void) {
  brl_model *m = model(3), *ref = model(3);
  brl_batch *b = NULL, *bref = NULL;
  CHECK_OK(brl_batch_create(m, X, N, &b));
  CHECK_OK(brl_batch_create(ref, X, N, &bref));
  m->backend = &fake;
  const float *pred;
  CHECK_OK(brl_batch_predictions(b, m, &pred)); /* live cache, no trees */
  CHECK_OK(brl_model_step(m, b, NULL, N, G, 0.0f));
  CHECK_OK(brl_model_step(ref, bref, NULL, N, G, 0.0f));
  CHECK(n_grow == 1);
  /* The cache took the backend's leaves (all 0): leaf 0's values. */
  const brl_trees *T = &m->trees;
  const int nl = 1 << T->depth[0];
  CHECK(nl > 1);
  CHECK_OK(brl_batch_predictions(b, m, &pred));
  int same = 1;
  for (int i = 0; i < N; i++)
    for (int k = 0; k < K; k++)
      same &= pred[i * K + k] == m->bias[k] + T->value[k * nl + 0];
  CHECK(same);
  /* The same tree as the CPU backend's. */
  void *b1 = NULL, *b2 = NULL;
  size_t l1 = 0, l2 = 0;
  CHECK_OK(brl_model_save_buffer(m, &b1, &l1));
  CHECK_OK(brl_model_save_buffer(ref, &b2, &l2));
  CHECK(l1 == l2 && !memcmp(b1, b2, l1));
  free(b1);
  free(b2);
  /* Model predictions go through the table; its failure is the status. */
  float out[N * K];
  n_predict = 0;
  CHECK_OK(brl_model_predict(m, X, N, 0, -1, out));
  CHECK(n_predict == 1);
  fail_predict = 1;
  CHECK(brl_model_predict(m, X, N, 0, -1, out) == BRL_ESTATE);
  CHECK(strstr(brl_last_error(), "fake device") != NULL);
  /* A stale cache is recomputed through the table too. */
  CHECK_OK(brl_model_set_bias(m, m->bias));
  CHECK(brl_batch_predictions(b, m, &pred) == BRL_ESTATE);
  fail_predict = 0;
  CHECK_OK(brl_batch_predictions(b, m, &pred));
  float exp[N * K];
  CHECK_OK(brl_model_predict(ref, X, N, 0, -1, exp));
  CHECK(!memcmp(pred, exp, sizeof exp));
  brl_batch_free(&b);
  brl_batch_free(&bref);
  brl_model_free(&m);
  brl_model_free(&ref);
}

/* An Adam ensemble's predictions (model and batch cache) go through the
 * table's predict_adam, and its failure is the status. */
static void check_adam_through_table(void) {
  brl_params p;
  brl_params_default(&p, D, K);
  p.max_depth = 3;
  p.optimizer = BRL_OPTIMIZER_ADAM;
  p.n_threads = 1;
  brl_model *m = NULL, *ref = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_model_create(&p, &ref));
  brl_batch *b = NULL;
  CHECK_OK(brl_batch_create(m, X, N, &b));
  for (int t = 0; t < 2; t++) {
    CHECK_OK(brl_model_step(m, b, NULL, N, G, 0.0f));
    CHECK_OK(brl_model_step(ref, b, NULL, N, G, 0.0f));
  }
  m->backend = &fake;
  float out[N * K], exp[N * K];
  n_predict = 0;
  fail_predict = 0;
  CHECK_OK(brl_model_predict(m, X, N, 0, -1, out));
  CHECK(n_predict > 0);
  CHECK_OK(brl_model_predict(ref, X, N, 0, -1, exp));
  CHECK(!memcmp(out, exp, sizeof exp));
  fail_predict = 1;
  CHECK(brl_model_predict(m, X, N, 0, -1, out) == BRL_ESTATE);
  const float *pred;
  CHECK(brl_batch_predictions(b, m, &pred) == BRL_ESTATE);
  fail_predict = 0;
  CHECK_OK(brl_batch_predictions(b, m, &pred));
  CHECK(!memcmp(pred, exp, sizeof exp));
  brl_batch_free(&b);
  brl_model_free(&m);
  brl_model_free(&ref);
}

/* Defined by the CUDA emulator only. */
extern void emu_swap(void **save_sp, void *load_sp) __attribute__((weak));

/* A device failure is the status, not an answer from the CPU: a prediction
 * large enough for the device path while device allocation fails. */
static void check_device_failure(const brl_model *m) {
  const int64_t n = 65536; /* x 3 trees: over the device threshold */
  float *Xb = malloc(sizeof(float) * (size_t)n * D);
  float *out = malloc(sizeof(float) * (size_t)n * K);
  float *ref = malloc(sizeof(float) * (size_t)n * K);
  for (int64_t i = 0; i < n * D; i++)
    Xb[i] = X[i % (N * D)];
  CHECK_OK(brl__model_predict_scalar(m, Xb, n, 0, -1, ref));
  setenv("BRL_EMU_FAIL_MALLOC", "1", 1);
  int rc = brl_model_predict(m, Xb, n, 0, -1, out);
  unsetenv("BRL_EMU_FAIL_MALLOC");
  CHECK_MSG(rc == BRL_ENOMEM && strstr(brl_last_error(), "CUDA error"), "%d %s",
            rc, brl_last_error());
  CHECK_OK(brl_model_predict(m, Xb, n, 0, -1, out));
  CHECK(!memcmp(out, ref, sizeof(float) * (size_t)n * K));
  free(Xb);
  free(out);
  free(ref);
}

/* Only the CPU backend allocates the host growth workspace; on the CUDA
 * backend the cache follows the device's leaves, equal to predicting. */
static void check_workspace(void) {
  brl_model *m = model(6);
  brl_batch *b = NULL;
  CHECK_OK(brl_batch_create(m, X, N, &b));
  CHECK_OK(brl_model_step(m, b, NULL, N, G, 0.0f));
  CHECK(b->ws.hist_a && b->ws.max_depth == 6);
  brl_batch_free(&b);
  if (brl_backend_available(BRL_BACKEND_CUDA)) {
    CHECK_OK(brl_model_set_backend(m, BRL_BACKEND_CUDA));
    CHECK_OK(brl_batch_create(m, X, N, &b));
    const float *pred;
    CHECK_OK(brl_batch_predictions(b, m, &pred));
    for (int t = 0; t < 3; t++)
      CHECK_OK(brl_model_step(m, b, NULL, N, G, 0.0f));
    CHECK(!b->ws.hist_a && !b->ws.qgrad && b->ws.grad);
    float out[N * K];
    CHECK_OK(brl_batch_predictions(b, m, &pred));
    CHECK_OK(brl_model_predict(m, X, N, 0, -1, out));
    CHECK(!memcmp(pred, out, sizeof out));
    brl_batch_free(&b);
    if (emu_swap) /* the CUDA emulator (tests/cuda_emu) can fail */
      check_device_failure(m);
  }
  brl_model_free(&m);
}

int main(void) {
  make_data();
  check_registry();
  check_through_table();
  check_adam_through_table();
  check_workspace();
  return brl_test_report("test_backend");
}
