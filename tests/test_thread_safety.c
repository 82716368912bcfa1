/* The thread-safety contract of include/boostrl.h ("Threads"), driven from
 * several pthreads at once:
 *  - one model shared by every thread for its const calls (predictions,
 *    leaves, importances, SHAP, file, JSON and C export, batches created
 *    from it), each
 *    result equal bit for bit to the same call made on one thread after;
 *  - separate models and separate agents (with their own envs) trained on
 *    separate threads, equal bit for bit to the same run on one thread;
 *  - brl_last_error() per thread: each thread's failure message survives
 *    the other threads' failures.
 * The first CRC and SIMD-level lookups of the process happen inside the
 * threads, so the ThreadSanitizer build (make test-tsan) sees them race if
 * they are not synchronized. Models use n_threads = 1: the threads here are
 * the caller's, not OpenMP's. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include "core/container.h"
#include "engine/predict.h"
#include "testlib.h"
#include "util.h"

#include <pthread.h>

enum { N_THREADS = 4, N = 300, D = 5, K = 3, TREES = 25, SHAP_ROWS = 8 };

static brl_model *shared_model;
static float *shared_X;
static pthread_barrier_t barrier;

typedef struct reader_out {
  float pred[N * K], scalar[N * K], range[N * K], cache[N * K];
  int leaf[TREES];
  double importance[D];
  float shap[SHAP_ROWS * (D + 1) * K];
  void *bytes;
  size_t len;
  char *json, *c_source;
  int rc;
} reader_out;

/* Everything a reader does to the shared model; also run on one thread for
 * the reference. */
static void read_model(const brl_model *m, reader_out *o) {
  o->rc = 0;
  o->rc |= brl_model_predict(m, shared_X, N, 0, -1, o->pred);
  o->rc |= brl__model_predict_scalar(m, shared_X, N, 0, -1, o->scalar);
  o->rc |= brl_model_predict(m, shared_X, N, 5, 20, o->range);
  for (int t = 0; t < TREES; t++)
    o->rc |= brl_model_tree_leaf(m, t, shared_X + t * D, NULL, &o->leaf[t]);
  o->rc |= brl_model_feature_importance(m, BRL_IMPORTANCE_GAIN, o->importance);
  o->rc |= brl_model_shap(m, shared_X, NULL, SHAP_ROWS, o->shap);
  o->rc |= brl_model_save_buffer(m, &o->bytes, &o->len);
  size_t len;
  o->rc |= brl_model_dump_json(m, &o->json, &len);
  brl_export_options eo;
  brl_export_options_default(&eo);
  char *header = NULL;
  size_t header_len, source_len;
  o->rc |= brl_model_export_c_buffer(m, &eo, &header, &header_len, &o->c_source,
                                     &source_len, NULL);
  brl_free(header);
  brl_batch *b = NULL;
  const float *c = NULL;
  o->rc |= brl_batch_create(m, shared_X, N, &b);
  if (b && brl_batch_predictions(b, m, &c) == BRL_OK)
    memcpy(o->cache, c, sizeof o->cache);
  else
    o->rc |= 1;
  brl_batch_free(&b);
}

static void *reader(void *arg) {
  pthread_barrier_wait(&barrier); /* all threads start together */
  read_model(shared_model, arg);
  return NULL;
}

static int same_reads(const reader_out *a, const reader_out *b) {
  return a->rc == 0 && b->rc == 0 &&
         memcmp(a->pred, b->pred, sizeof a->pred) == 0 &&
         memcmp(a->scalar, b->scalar, sizeof a->scalar) == 0 &&
         memcmp(a->range, b->range, sizeof a->range) == 0 &&
         memcmp(a->cache, b->cache, sizeof a->cache) == 0 &&
         memcmp(a->leaf, b->leaf, sizeof a->leaf) == 0 &&
         memcmp(a->importance, b->importance, sizeof a->importance) == 0 &&
         memcmp(a->shap, b->shap, sizeof a->shap) == 0 &&
         strcmp(a->json, b->json) == 0 &&
         strcmp(a->c_source, b->c_source) == 0 && a->len == b->len &&
         memcmp(a->bytes, b->bytes, a->len) == 0;
}

static void shared_model_reads(void) {
  brl_rng r;
  brl_rng_seed(&r, 31);
  shared_X = rand_matrix(&r, N, D, 0.05);
  brl_params p;
  brl_params_default(&p, D, K);
  p.n_threads = 1;
  /* Growing alone predicts nothing: the process's first prediction and
   * first checksum are the readers'. */
  shared_model = grow_random(&p, shared_X, N, TREES, 5);
  CHECK(shared_model != NULL);
  if (!shared_model)
    return;
  static reader_out out[N_THREADS], ref;
  pthread_t th[N_THREADS];
  pthread_barrier_init(&barrier, NULL, N_THREADS);
  for (int i = 0; i < N_THREADS; i++)
    CHECK(pthread_create(&th[i], NULL, reader, &out[i]) == 0);
  for (int i = 0; i < N_THREADS; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  read_model(shared_model, &ref);
  for (int i = 0; i < N_THREADS; i++) {
    CHECK_MSG(same_reads(&out[i], &ref),
              "thread %d: concurrent reads differ from one thread's", i);
    brl_free(out[i].bytes);
    brl_free(out[i].json);
    brl_free(out[i].c_source);
  }
  brl_free(ref.bytes);
  brl_free(ref.json);
  brl_free(ref.c_source);
  brl_model_free(&shared_model);
  free(shared_X);
}

/* Separate models, each grown on its own thread from its own batch. */
typedef struct trainer {
  uint64_t seed;
  void *bytes;
  size_t len;
} trainer;

static void train_model(trainer *t) {
  brl_rng r;
  brl_rng_seed(&r, t->seed);
  float *X = rand_matrix(&r, N, D, 0.0);
  brl_params p;
  brl_params_default(&p, D, K);
  p.n_threads = 1;
  p.grow_policy = t->seed % 2 ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
  brl_model *m = grow_random(&p, X, N, TREES, t->seed);
  t->bytes = NULL;
  t->len = 0;
  if (m)
    brl_model_save_buffer(m, &t->bytes, &t->len);
  brl_model_free(&m);
  free(X);
}

static void *trainer_main(void *arg) {
  train_model(arg);
  return NULL;
}

static void separate_models(void) {
  trainer t[N_THREADS], ref[N_THREADS];
  pthread_t th[N_THREADS];
  for (int i = 0; i < N_THREADS; i++) {
    t[i].seed = ref[i].seed = 100 + (uint64_t)i;
    CHECK(pthread_create(&th[i], NULL, trainer_main, &t[i]) == 0);
  }
  for (int i = 0; i < N_THREADS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < N_THREADS; i++) {
    train_model(&ref[i]);
    CHECK_MSG(t[i].bytes && ref[i].bytes && t[i].len == ref[i].len &&
                  memcmp(t[i].bytes, ref[i].bytes, t[i].len) == 0,
              "model %d grown on a thread differs", i);
    brl_free(t[i].bytes);
    brl_free(ref[i].bytes);
  }
}

/* Separate agents (PPO and DQN), each with its own env, on separate
 * threads; the policy's deterministic actions on fixed observations and
 * the agent file are compared with the same run on one thread. */
typedef struct agent_run {
  int algo;
  uint64_t seed;
  float actions[64];
  void *bytes;
  size_t len;
  int rc;
} agent_run;

static void run_agent(agent_run *r) {
  brl_agent_config c;
  brl_env *env = NULL;
  brl_agent *a = NULL;
  brl_env_spec spec;
  brl_action_space s;
  r->bytes = NULL;
  r->len = 0;
  brl_agent_config_default(&c, r->algo);
  c.n_envs = 4;
  c.n_threads = 1;
  if (r->algo == BRL_ALGO_PPO) {
    c.n_steps = 32;
    c.batch_size = 64;
    c.n_epochs = 2;
  } else {
    c.learning_starts = 200;
    c.train_freq = 16;
  }
  r->rc = brl_env_make("CartPole-v1", c.n_envs, r->seed, &env);
  if (!r->rc)
    r->rc = brl_env_get_spec(env, &spec);
  if (!r->rc)
    r->rc = brl_action_space_from_env(&spec, &s);
  if (!r->rc)
    r->rc = brl_agent_create(&c, spec.obs_dim, &s, r->seed, &a);
  if (!r->rc)
    r->rc = brl_agent_learn(a, env, 1500, 1);
  float obs[64 * 4];
  for (int i = 0; i < 64 * 4; i++)
    obs[i] = 0.05f * (float)((i * 7) % 13 - 6);
  if (!r->rc)
    r->rc = brl_agent_act(a, obs, 64, NULL, 1, r->actions, NULL, NULL);
  if (!r->rc)
    r->rc = brl_agent_save_buffer(a, &r->bytes, &r->len);
  brl_agent_free(&a);
  brl_env_free(&env);
}

static void *agent_main(void *arg) {
  run_agent(arg);
  return NULL;
}

static void separate_agents(void) {
  enum { A = 3 };
  agent_run t[A], ref[A];
  pthread_t th[A];
  for (int i = 0; i < A; i++) {
    t[i].algo = ref[i].algo = i == 2 ? BRL_ALGO_DQN : BRL_ALGO_PPO;
    t[i].seed = ref[i].seed = (uint64_t)i;
    CHECK(pthread_create(&th[i], NULL, agent_main, &t[i]) == 0);
  }
  for (int i = 0; i < A; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < A; i++) {
    run_agent(&ref[i]);
    CHECK_MSG(t[i].rc == 0 && ref[i].rc == 0, "agent %d: %d %d", i, t[i].rc,
              ref[i].rc);
    CHECK_MSG(memcmp(t[i].actions, ref[i].actions, sizeof t[i].actions) == 0,
              "agent %d trained on a thread acts differently", i);
    CHECK_MSG(t[i].len == ref[i].len && t[i].bytes && ref[i].bytes &&
                  memcmp(t[i].bytes, ref[i].bytes, t[i].len) == 0,
              "agent %d trained on a thread saves different bytes", i);
    brl_free(t[i].bytes);
    brl_free(ref[i].bytes);
  }
}

/* brl_last_error: each thread fails with its own message, waits until
 * every thread has failed, then still reads its own message. */
typedef struct err_run {
  int id, ok;
} err_run;

static void *error_main(void *arg) {
  err_run *e = arg;
  brl_params p;
  brl_params_default(&p, 1 + e->id, 1);
  p.max_depth = 100 + e->id; /* invalid, and different per thread */
  brl_model *m = NULL;
  int rc = brl_model_create(&p, &m);
  char want[32];
  snprintf(want, sizeof want, "%d", 100 + e->id);
  pthread_barrier_wait(&barrier);
  e->ok = rc == BRL_EINVAL && !m && strstr(brl_last_error(), want) != NULL;
  pthread_barrier_wait(&barrier);
  return NULL;
}

static void errors_per_thread(void) {
  err_run e[N_THREADS];
  pthread_t th[N_THREADS];
  pthread_barrier_init(&barrier, NULL, N_THREADS);
  for (int i = 0; i < N_THREADS; i++) {
    e[i].id = i;
    e[i].ok = 0;
    CHECK(pthread_create(&th[i], NULL, error_main, &e[i]) == 0);
  }
  for (int i = 0; i < N_THREADS; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  for (int i = 0; i < N_THREADS; i++)
    CHECK_MSG(e[i].ok, "thread %d lost its error message", i);
  CHECK(strcmp(brl_last_error(), "") == 0); /* the main thread had none */
}

/* The checksum table is a constant: the standard CRC-32 (its check value
 * for "123456789"). Run last, so the first checksum is the readers'. */
static void crc_check_value(void) {
  CHECK(brl__crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u);
}

int main(void) {
  shared_model_reads();
  separate_models();
  separate_agents();
  errors_per_thread();
  crc_check_value();
  return brl_test_report("test_thread_safety");
}
