/* Distributed agents over the thread communicator: N ranks, each stepping
 * its share of the environments, end with agent files byte-identical to
 * one process with the same n_envs and seed (PPO shared and separate,
 * Gaussian PPO, PPO stopping early on its KL, A2C, AWR, DQN; 1 to 3
 * ranks, n_envs not divisible by them); a run saved under one rank count
 * resumes under another exactly; a failure on one rank is an error on every
 * rank, not a hang. */
#include "boostrl.h"
#include "comm_threads.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

#define SEED 7u

typedef struct job {
  const char *env_id;
  brl_algo algo;
  int shared, n_envs;
  int64_t steps, steps2; /* steps2 > 0: save, reload, continue to it */
  double target_kl;      /* PPO's early stop (0: off) */
  int64_t calls[4];      /* each rank's collectives while learning */
  int ranks2;            /* ranks of the continuation */
  void *out[4];          /* each rank's agent file */
  size_t out_len[4];
  void *env_buf; /* rank 0's whole-env buffer between the two phases */
  size_t env_len;
  void *agent_buf;
  size_t agent_len;
} job;

static int make_agent(const job *j, brl_agent **a) {
  brl_env *probe;
  int rc = brl_env_make(j->env_id, 1, 0, &probe);
  if (rc)
    return rc;
  brl_env_spec spec;
  brl_action_space space;
  brl_env_get_spec(probe, &spec);
  brl_action_space_from_env(&spec, &space);
  brl_env_free(&probe);
  brl_agent_config c;
  brl_agent_config_default(&c, j->algo);
  c.n_envs = j->n_envs;
  c.shared_tree = j->shared;
  c.max_depth = 3;
  c.n_bins = 16;
  if (j->algo == BRL_ALGO_PPO || j->algo == BRL_ALGO_A2C) {
    c.n_steps = 16;
    c.batch_size = 40;
    c.n_epochs = 2;
    c.normalize_reward = 1;
    c.target_kl = j->target_kl;
  } else {
    c.train_freq = 4;
    c.gradient_steps = 2;
    c.batch_size = 32;
    c.learning_starts = 60;
    c.buffer_size = 400;
    c.target_update_interval = 4;
  }
  return brl_agent_create(&c, spec.obs_dim, &space, SEED, a);
}

/* One process: the reference. */
static int run_single(job *j, void **buf, size_t *len) {
  brl_agent *a = NULL;
  brl_env *e = NULL;
  int rc = make_agent(j, &a);
  if (!rc)
    rc = brl_env_make(j->env_id, j->n_envs, SEED, &e);
  if (!rc)
    rc = brl_agent_learn(a, e, j->steps, 1);
  if (!rc && j->steps2)
    rc = brl_agent_learn(a, e, j->steps2, 0);
  if (!rc && brl_model_n_trees(brl_agent_model(a, 0)) < 1)
    rc = BRL_ESTATE; /* nothing trained: the comparison would be empty */
  if (!rc && j->target_kl > 0) { /* the case tests the early stop */
    brl_agent_stats s;
    brl_agent_get_stats(a, &s);
    CHECK_MSG(s.trees_added < 4,
              "target_kl %g: the last update grew %d of "
              "4 trees, no early stop to test",
              j->target_kl, s.trees_added);
  }
  if (!rc)
    rc = brl_agent_save_buffer(a, buf, len);
  brl_agent_free(&a);
  brl_env_free(&e);
  return rc;
}

static int make_share(const job *j, brl_comm *c, brl_env **e) {
  int first, count;
  int rc = brl_env_share(j->n_envs, brl_comm_rank(c), brl_comm_size(c), &first,
                         &count);
  return rc ? rc : brl_env_make_range(j->env_id, first, count, SEED, e);
}

/* Phase 1 on every rank: learn to j->steps; with steps2, rank 0 keeps the
 * agent and the whole env for phase 2. */
static int rank_learn(brl_comm *c, void *arg) {
  job *j = arg;
  const int r = brl_comm_rank(c);
  brl_agent *a = NULL;
  brl_env *e = NULL;
  int rc = make_agent(j, &a);
  if (!rc)
    rc = brl_agent_set_comm(a, c);
  if (!rc)
    rc = make_share(j, c, &e);
  if (!rc)
    rc = brl_agent_learn(a, e, j->steps, 1);
  int64_t bytes;
  brl_comm_stats(c, &j->calls[r], &bytes);
  if (!rc && j->steps2) {
    void *eb = NULL;
    size_t el = 0;
    rc = brl_env_save_buffer_comm(e, c, &eb, &el);
    if (!rc && r == 0) {
      j->env_buf = eb;
      j->env_len = el;
      rc = brl_agent_save_buffer(a, &j->agent_buf, &j->agent_len);
    } else {
      brl_free(eb);
    }
  }
  if (!rc && !j->steps2)
    rc = brl_agent_save_buffer(a, &j->out[r], &j->out_len[r]);
  brl_agent_free(&a);
  brl_env_free(&e);
  return rc;
}

/* Phase 2: every rank loads rank 0's files and continues to j->steps2. */
static int rank_resume(brl_comm *c, void *arg) {
  job *j = arg;
  const int r = brl_comm_rank(c);
  brl_agent *a = NULL;
  brl_env *e = NULL;
  int first, count;
  int rc = brl_agent_load_buffer(j->agent_buf, j->agent_len, &a);
  if (!rc)
    rc = brl_agent_set_comm(a, c);
  if (!rc)
    rc = make_share(j, c, &e);
  if (!rc)
    rc = brl_env_share(j->n_envs, r, brl_comm_size(c), &first, &count);
  if (!rc)
    rc = brl_env_load_buffer_range(e, j->env_buf, j->env_len, first);
  if (!rc)
    rc = brl_agent_learn(a, e, j->steps2, 2);
  if (!rc)
    rc = brl_agent_save_buffer(a, &j->out[r], &j->out_len[r]);
  brl_agent_free(&a);
  brl_env_free(&e);
  return rc;
}

static void check_identical(const char *what, job *j, int ranks) {
  void *ref = NULL;
  size_t ref_len = 0;
  CHECK_OK(run_single(j, &ref, &ref_len));
  int rcs[4] = {0};
  memset(j->out, 0, sizeof j->out);
  int rc = brl_test_run_ranks(ranks, rank_learn, j, rcs);
  CHECK_MSG(rc == 0, "%s, %d ranks: %d (%s)", what, ranks, rc,
            brl_last_error());
  if (!rc && j->steps2) {
    rc = brl_test_run_ranks(j->ranks2, rank_resume, j, rcs);
    CHECK_MSG(rc == 0, "%s, resumed on %d ranks: %d", what, j->ranks2, rc);
    ranks = j->ranks2;
  }
  for (int r = 0; !rc && r < ranks; r++)
    CHECK_MSG(j->out_len[r] == ref_len && ref_len > 0 &&
                  memcmp(j->out[r], ref, ref_len) == 0,
              "%s: rank %d of %d: agent file differs from one process", what, r,
              ranks);
  for (int r = 0; r < 4; r++)
    brl_free(j->out[r]);
  brl_free(j->env_buf);
  brl_free(j->agent_buf);
  j->env_buf = j->agent_buf = NULL;
  brl_free(ref);
}

/* Rank 1 passes a truncated step without final observations: the update
 * fails on every rank (rank 1 with its own error, the others with BRL_ECOMM
 * naming rank 1), and nobody waits. */
typedef struct fail_job {
  int rcs[3];
  char msg[3][256];
} fail_job;

static int rank_fails(brl_comm *c, void *arg) {
  fail_job *f = arg;
  const int r = brl_comm_rank(c);
  job j = {
      .env_id = "CartPole-v1", .algo = BRL_ALGO_PPO, .shared = 1, .n_envs = 5};
  brl_agent *a = NULL;
  brl_env *e = NULL;
  float obs[5 * 4], next[5 * 4], fin[5 * 4], act[5], rew[5];
  uint8_t term[5], trunc[5];
  int rc = make_agent(&j, &a);
  if (!rc)
    rc = brl_agent_set_comm(a, c);
  if (!rc)
    rc = make_share(&j, c, &e);
  if (!rc)
    rc = brl_env_reset(e, obs);
  for (int t = 0; !rc && !brl_agent_rollout_full(a); t++) {
    rc = brl_agent_collect(a, obs, NULL, act, NULL, NULL);
    if (!rc)
      rc = brl_env_step(e, act, next, rew, term, trunc, fin);
    if (!rc && t == 2 && r == 1)
      trunc[0] = 1, term[0] = 0; /* a truncation without final_obs */
    if (!rc)
      rc =
          brl_agent_observe(a, rew, term, trunc, t == 2 && r == 1 ? NULL : fin);
    memcpy(obs, next, sizeof obs);
  }
  if (!rc) /* the steps themselves succeed: the update tells */
    rc = brl_agent_update(a, obs);
  f->rcs[r] = rc;
  strncpy(f->msg[r], brl_last_error(), 255);
  brl_agent_free(&a);
  brl_env_free(&e);
  return rc;
}

/* An env with the wrong number of copies on one rank fails brl_agent_learn
 * on every rank before any step. */
static int rank_bad_env(brl_comm *c, void *arg) {
  fail_job *f = arg;
  const int r = brl_comm_rank(c);
  job j = {.env_id = "CartPole-v1",
           .algo = BRL_ALGO_A2C,
           .shared = 1,
           .n_envs = 4,
           .steps = 64};
  brl_agent *a = NULL;
  brl_env *e = NULL;
  int rc = make_agent(&j, &a);
  if (!rc)
    rc = brl_agent_set_comm(a, c);
  if (!rc)
    rc = brl_env_make("CartPole-v1", r == 1 ? 3 : 2, SEED, &e);
  if (!rc)
    rc = brl_agent_learn(a, e, j.steps, 1);
  f->rcs[r] = rc;
  strncpy(f->msg[r], brl_last_error(), 255);
  brl_agent_free(&a);
  brl_env_free(&e);
  return rc;
}

static void test_failures(void) {
  fail_job f;
  memset(&f, 0, sizeof f);
  brl_test_run_ranks(3, rank_fails, &f, NULL);
  CHECK_MSG(f.rcs[1] == BRL_EINVAL, "rank 1: %d (%s)", f.rcs[1], f.msg[1]);
  CHECK_MSG(f.rcs[0] == BRL_ECOMM && strstr(f.msg[0], "rank 1") &&
                strstr(f.msg[0], "final_obs"),
            "rank 0: %d (%s)", f.rcs[0], f.msg[0]);
  CHECK(f.rcs[2] == BRL_ECOMM && strstr(f.msg[2], "rank 1"));
  memset(&f, 0, sizeof f);
  brl_test_run_ranks(2, rank_bad_env, &f, NULL);
  CHECK_MSG(f.rcs[1] == BRL_EINVAL && strstr(f.msg[1], "brl_env_make_range"),
            "rank 1: %d (%s)", f.rcs[1], f.msg[1]);
  CHECK_MSG(f.rcs[0] == BRL_ECOMM && strstr(f.msg[0], "rank 1"),
            "rank 0: %d (%s)", f.rcs[0], f.msg[0]);
}

static void test_share_and_range(void) {
  int first, count, next = 0;
  for (int r = 0; r < 3; r++) {
    CHECK_OK(brl_env_share(7, r, 3, &first, &count));
    CHECK(first == next && count == (r == 0 ? 3 : 2));
    next = first + count;
  }
  CHECK(brl_env_share(2, 0, 3, &first, &count) == BRL_EINVAL);
  /* Copies 2..4 of a 5-copy env are copies 0..2 of its range. */
  brl_env *all, *part;
  float o5[5 * 4], o3[3 * 4];
  CHECK_OK(brl_env_make("CartPole-v1", 5, 3, &all));
  CHECK_OK(brl_env_make_range("CartPole-v1", 2, 3, 3, &part));
  CHECK_OK(brl_env_reset(all, o5));
  CHECK_OK(brl_env_reset(part, o3));
  CHECK(memcmp(o5 + 2 * 4, o3, sizeof o3) == 0);
  brl_env_free(&all);
  brl_env_free(&part);
  /* An agent with fewer envs than ranks is refused. */
  job j = {
      .env_id = "CartPole-v1", .algo = BRL_ALGO_PPO, .shared = 1, .n_envs = 1};
  brl_agent *a;
  brl_comm *self;
  CHECK_OK(make_agent(&j, &a));
  CHECK_OK(brl_comm_new_self(&self));
  CHECK_OK(brl_agent_set_comm(a, self));
  CHECK_OK(brl_agent_set_comm(a, NULL));
  brl_agent_free(&a);
  brl_comm_free(&self);
}

int main(void) {
  test_share_and_range();
  static const struct {
    const char *name, *env;
    brl_algo algo;
    int shared;
    int64_t steps;
    double target_kl;
  } cases[] = {
      {"ppo shared", "CartPole-v1", BRL_ALGO_PPO, 1, 400, 0},
      {"ppo separate", "CartPole-v1", BRL_ALGO_PPO, 0, 400, 0},
      {"ppo gaussian", "Pendulum-v1", BRL_ALGO_PPO, 1, 400, 0},
      {"ppo gaussian separate", "Pendulum-v1", BRL_ALGO_PPO, 0, 400, 0},
      {"ppo early stop", "CartPole-v1", BRL_ALGO_PPO, 1, 400, 1e-5},
      {"a2c", "Acrobot-v1", BRL_ALGO_A2C, 1, 400, 0},
      /* 2 features, 3 ranks: a rank owns none when growing by features */
      {"ppo 2 features", "MountainCar-v0", BRL_ALGO_PPO, 1, 400, 0},
      {"awr", "CartPole-v1", BRL_ALGO_AWR, 0, 300, 0},
      {"dqn", "CartPole-v1", BRL_ALGO_DQN, 0, 300, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    for (int ranks = 1; ranks <= 3; ranks++) {
      job j = {.env_id = cases[k].env,
               .algo = cases[k].algo,
               .shared = cases[k].shared,
               .n_envs = 5,
               .steps = cases[k].steps,
               .target_kl = cases[k].target_kl};
      check_identical(cases[k].name, &j, ranks);
      /* PPO and A2C train each rank's rows (update_split.c): more
       * collectives than gathering the rollout and replicating the
       * update (two per update, five updates here). */
      if (ranks > 1 &&
          (cases[k].algo == BRL_ALGO_PPO || cases[k].algo == BRL_ALGO_A2C))
        CHECK_MSG(j.calls[0] > 4 * 5,
                  "%s, %d ranks: %lld collectives: the "
                  "update was not split",
                  cases[k].name, ranks, (long long)j.calls[0]);
    }
  /* Saved under 2 ranks, resumed under 3 (and 1): the one-process run. */
  for (int ranks2 = 1; ranks2 <= 3; ranks2 += 2) {
    job j = {.env_id = "CartPole-v1",
             .algo = BRL_ALGO_PPO,
             .shared = 1,
             .n_envs = 5,
             .steps = 240,
             .steps2 = 480,
             .ranks2 = ranks2};
    check_identical("ppo resumed", &j, 2);
    job d = {.env_id = "CartPole-v1",
             .algo = BRL_ALGO_DQN,
             .n_envs = 5,
             .steps = 200,
             .steps2 = 400,
             .ranks2 = ranks2};
    check_identical("dqn resumed", &d, 2);
  }
  test_failures();
  return brl_test_report("test_agent_comm");
}
