/* Compression (brl_agent_compress): a trained small CartPole agent
 * distilled into fewer trees keeps a high action agreement and its return,
 * never exceeds the budget (shared and separate ensembles), saves and loads
 * with identical actions; bad budgets and parameters fail and leave the
 * agent unchanged; the fit error falls monotonically with the budget on a
 * fixed sample; Gaussian policies compress; online compression during
 * training keeps the ensemble within the budget. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "testlib.h"

static int total_trees(const brl_agent *a) {
  const brl_model *p = brl_agent_model(a, 0), *v = brl_agent_model(a, 1);
  return brl_model_n_trees(p) + (v != p ? brl_model_n_trees(v) : 0);
}

/* An agent for c on env_id (n_envs copies seeded env_seed, in *env). */
static brl_agent *create(const brl_agent_config *c, const char *env_id,
                         uint64_t env_seed, brl_env **env) {
  brl_agent *a = NULL;
  CHECK_OK(brl_env_make(env_id, c->n_envs, env_seed, env));
  if (!*env)
    return NULL;
  brl_env_spec spec;
  brl_env_get_spec(*env, &spec);
  brl_action_space space;
  brl_action_space_from_env(&spec, &space);
  CHECK_OK(brl_agent_create(c, spec.obs_dim, &space, 3, &a));
  return a;
}

static brl_agent *train(const char *env_id, int shared, int64_t steps,
                        const char *every, const char *to) {
  brl_agent_config c;
  brl_agent_config_preset(&c, env_id, BRL_ALGO_PPO, NULL);
  brl_agent_config_set(&c, "n_envs", "8");
  brl_agent_config_set(&c, "shared_tree", shared ? "true" : "false");
  if (every) {
    CHECK_OK(brl_agent_config_set(&c, "compress_every", every));
    CHECK_OK(brl_agent_config_set(&c, "compress_to", to));
  }
  brl_env *env = NULL;
  brl_agent *a = create(&c, env_id, 1, &env);
  if (a)
    CHECK_OK(brl_agent_learn(a, env, steps, 1));
  brl_env_free(&env);
  return a;
}

static void small_params(brl_compress_params *cp, int trees) {
  brl_compress_params_default(cp, trees);
  cp->steps = 4000;
  cp->holdout_steps = 2000;
  cp->eval_episodes = 8;
}

static void test_cartpole_shared(void) {
  brl_agent *a = train("CartPole-v1", 1, 40000, NULL, NULL);
  if (!a)
    return;
  const int before = total_trees(a);
  CHECK(before > 200);
  brl_env *env = NULL;
  CHECK_OK(brl_env_make("CartPole-v1", 8, 77, &env));

  /* Bad budgets and parameters: errors, the agent unchanged. */
  brl_compress_params cp;
  brl_compress_report r;
  small_params(&cp, 0);
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "trees") != NULL);
  small_params(&cp, -3);
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  small_params(&cp, 10);
  cp.steps = 0;
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  small_params(&cp, 10);
  cp.stochastic_frac = 1.5;
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  small_params(&cp, 10);
  cp.max_depth = BRL_MAX_DEPTH + 1;
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  CHECK(brl_agent_compress(a, env, NULL, &r) == BRL_EINVAL);
  small_params(&cp, 10);
  cp.lr = 0;
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  small_params(&cp, 10);
  cp.value_weight = -1;
  CHECK(brl_agent_compress(a, env, &cp, &r) == BRL_EINVAL);
  brl_env *other = NULL;
  CHECK_OK(brl_env_make("Acrobot-v1", 2, 0, &other));
  small_params(&cp, 10);
  CHECK(brl_agent_compress(a, other, &cp, &r) == BRL_EINVAL);
  brl_env_free(&other);
  CHECK(total_trees(a) == before);

  /* Compress to 64 trees. */
  brl_agent_stats s0, s1;
  brl_agent_get_stats(a, &s0);
  small_params(&cp, 64);
  cp.steps = 8000;
  CHECK_OK(brl_agent_compress(a, env, &cp, &r));
  CHECK(r.trees_before == before);
  CHECK(r.trees_after <= 64 && r.trees_after >= 1);
  CHECK(total_trees(a) == r.trees_after);
  CHECK_MSG(r.agreement >= 0.9, "agreement %g", r.agreement);
  CHECK(r.policy_rmse >= 0 && isfinite(r.policy_rmse));
  CHECK(r.value_rmse >= 0 && isfinite(r.value_rmse));
  CHECK(r.prob_tv >= 0 && r.prob_tv <= 1);
  CHECK(r.train_rows == 8000 && r.holdout_rows == 2000);
  CHECK(r.teacher.episodes == 8 && r.student.episodes == 8);
  CHECK_MSG(r.student.mean_return >= 0.8 * r.teacher.mean_return,
            "teacher %g student %g", r.teacher.mean_return,
            r.student.mean_return);
  /* Training state untouched. */
  brl_agent_get_stats(a, &s1);
  CHECK(s1.timesteps == s0.timesteps && s1.updates == s0.updates);

  /* Saves and loads: same actions. */
  void *buf = NULL;
  size_t len = 0;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  brl_agent *b = NULL;
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  free(buf);
  if (b) {
    CHECK(total_trees(b) == r.trees_after);
    float obs[64 * 4], act_a[64], act_b[64], va[64], vb[64];
    for (int i = 0; i < 64 * 4; i++)
      obs[i] = (float)(0.1 * sin(0.37 * i) * (i % 4 == 1 ? 5 : 1));
    CHECK_OK(brl_agent_act(a, obs, 64, NULL, 1, act_a, NULL, va));
    CHECK_OK(brl_agent_act(b, obs, 64, NULL, 1, act_b, NULL, vb));
    CHECK(!memcmp(act_a, act_b, sizeof act_a));
    CHECK(!memcmp(va, vb, sizeof va));
    brl_agent_free(&b);
  }
  /* A new depth within the budget still distils (one depth per file). */
  small_params(&cp, 1000);
  cp.eval_episodes = 0;
  cp.max_depth = 3;
  CHECK_OK(brl_agent_compress(a, env, &cp, &r));
  brl_agent_config cd;
  brl_agent_get_config(a, &cd);
  CHECK(cd.max_depth == 3);
  CHECK(r.trees_after == r.trees_before); /* never more trees */
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  free(buf);
  brl_agent_free(&b);
  /* A budget the agent already meets keeps it as it is. */
  small_params(&cp, 1000);
  cp.eval_episodes = 0;
  CHECK_OK(brl_agent_compress(a, env, &cp, &r));
  CHECK(r.trees_after == r.trees_before);
  CHECK(r.agreement == 1.0 && r.policy_rmse == 0.0);
  CHECK(isnan(r.student.mean_return));
  brl_env_free(&env);
  brl_agent_free(&a);
}

/* The fit error on a fixed sample (same seed: the same recorded states)
 * falls as the budget grows. */
static void test_monotone(void) {
  brl_agent *a = train("CartPole-v1", 1, 20000, NULL, NULL);
  if (!a)
    return;
  void *buf = NULL;
  size_t len = 0;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  const int budgets[] = {2, 8, 32, 128};
  double prev = INFINITY;
  for (int i = 0; i < 4; i++) {
    brl_agent *b = NULL;
    CHECK_OK(brl_agent_load_buffer(buf, len, &b));
    brl_env *env = NULL;
    CHECK_OK(brl_env_make("CartPole-v1", 4, 5, &env));
    brl_compress_params cp;
    small_params(&cp, budgets[i]);
    cp.eval_episodes = 0;
    brl_compress_report r;
    CHECK_OK(brl_agent_compress(b, env, &cp, &r));
    CHECK(r.trees_after <= budgets[i]);
    CHECK_MSG(r.train_policy_rmse < prev, "budget %d: rmse %g after %g",
              budgets[i], r.train_policy_rmse, prev);
    prev = r.train_policy_rmse;
    brl_env_free(&env);
    brl_agent_free(&b);
  }
  free(buf);
  brl_agent_free(&a);
}

static void test_separate_and_gaussian(void) {
  brl_agent *a = train("CartPole-v1", 0, 20000, NULL, NULL);
  if (a) {
    brl_env *env = NULL;
    CHECK_OK(brl_env_make("CartPole-v1", 4, 9, &env));
    brl_compress_params cp;
    small_params(&cp, 1);
    CHECK(brl_agent_compress(a, env, &cp, NULL) == BRL_EINVAL);
    small_params(&cp, 31);
    cp.eval_episodes = 0;
    brl_compress_report r;
    CHECK_OK(brl_agent_compress(a, env, &cp, &r));
    CHECK(brl_model_n_trees(brl_agent_model(a, 0)) <= 16);
    CHECK(brl_model_n_trees(brl_agent_model(a, 1)) <= 15);
    CHECK(r.trees_after <= 31);
    CHECK(r.agreement >= 0.8);
    brl_env_free(&env);
    brl_agent_free(&a);
  }
  a = train("Pendulum-v1", 1, 4000, NULL, NULL);
  if (a) {
    brl_env *env = NULL;
    CHECK_OK(brl_env_make("Pendulum-v1", 4, 9, &env));
    brl_compress_params cp;
    small_params(&cp, 10);
    cp.eval_episodes = 2;
    cp.max_depth = 5;
    brl_compress_report r;
    CHECK_OK(brl_agent_compress(a, env, &cp, &r));
    CHECK(r.trees_after <= 10);
    CHECK(isnan(r.agreement) && isnan(r.prob_tv));
    CHECK(isfinite(r.policy_rmse) && isfinite(r.student.mean_return));
    brl_agent_config c;
    brl_agent_get_config(a, &c);
    CHECK(c.max_depth == 5);
    /* The new depth travels with the file. */
    void *buf = NULL;
    size_t len = 0;
    CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
    brl_agent *b = NULL;
    CHECK_OK(brl_agent_load_buffer(buf, len, &b));
    free(buf);
    brl_agent_free(&b);
    brl_env_free(&env);
    brl_agent_free(&a);
  }
}

typedef struct online_check {
  int max_after_compress, bad;
} online_check;

static int on_update(const brl_agent_stats *s, void *user) {
  online_check *o = user;
  if (s->updates % 3 == 0 && s->policy_trees > 50)
    o->bad++;
  if (s->policy_trees > o->max_after_compress)
    o->max_after_compress = s->policy_trees;
  return 0;
}

static void test_online(void) {
  brl_agent_config c;
  brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_PPO, NULL);
  CHECK(brl_agent_config_set(&c, "compress_every", "-1") == BRL_EINVAL);
  CHECK_OK(brl_agent_config_set(&c, "n_envs", "8"));
  CHECK_OK(brl_agent_config_set(&c, "compress_every", "3"));
  CHECK_OK(brl_agent_config_set(&c, "compress_to", "50"));
  char v[32];
  CHECK_OK(brl_agent_config_get(&c, "compress_to", v, sizeof v));
  CHECK(!strcmp(v, "50"));
  brl_env *env = NULL;
  brl_agent *a = create(&c, "CartPole-v1", 1, &env);
  if (!a) {
    brl_env_free(&env);
    return;
  }
  online_check o = {0, 0};
  brl_agent_set_callback(a, on_update, &o);
  CHECK_OK(brl_agent_learn(a, env, 30000, 1));
  CHECK(o.bad == 0);
  /* 16 trees per update: at most 50 + 2 x 16 between compressions. */
  CHECK_MSG(o.max_after_compress <= 50 + 2 * 16, "max %d",
            o.max_after_compress);
  /* It still learns something (random CartPole: about 20). */
  brl_eval_result ev;
  CHECK_OK(brl_agent_evaluate(a, env, 8, &ev, NULL));
  CHECK_MSG(ev.mean_return > 40, "return %g", ev.mean_return);
  /* The settings travel with the file. */
  void *buf = NULL;
  size_t len = 0;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  brl_agent *b = NULL;
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  free(buf);
  if (b) {
    brl_agent_config d;
    brl_agent_get_config(b, &d);
    CHECK(d.compress_every == 3 && d.compress_to == 50);
    brl_agent_free(&b);
  }
  brl_agent_free(&a);
  /* A budget of 0 with compression on fails at the first compression. */
  CHECK_OK(brl_agent_config_set(&c, "compress_to", "0"));
  brl_env_free(&env);
  a = create(&c, "CartPole-v1", 1, &env);
  if (a)
    CHECK(brl_agent_learn(a, env, 30000, 1) == BRL_EINVAL);
  brl_agent_free(&a);
  brl_env_free(&env);
}

/* Largest tree count seen by the callback (after each update). */
static int on_update_max(const brl_agent_stats *s, void *user) {
  int *mx = user;
  const int t = s->policy_trees +
                (s->value_trees != s->policy_trees ? s->value_trees : 0);
  if (t > *mx)
    *mx = t;
  return 0;
}

/* A tree budget: the ensembles never exceed it; budgets that cannot hold
 * compress_to plus one update are refused with both numbers. */
static void test_tree_budget(void) {
  brl_agent_config c;
  brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_PPO, NULL);
  CHECK_OK(brl_agent_config_set(&c, "n_envs", "8"));
  CHECK_OK(brl_agent_config_set(&c, "compress_to", "40"));
  /* 8 envs x 64 steps in minibatches of 256, 4 epochs: 8 trees per
   * update. */
  CHECK_OK(brl_agent_config_set(&c, "tree_budget", "47"));
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "tree_budget") != NULL);
  CHECK_OK(brl_agent_config_set(&c, "tree_budget", "48"));
  CHECK_OK(brl_agent_config_check(&c));
  brl_env *env = NULL;
  brl_agent *a = create(&c, "CartPole-v1", 1, &env);
  if (a) {
    int mx = 0;
    brl_agent_set_callback(a, on_update_max, &mx);
    CHECK_OK(brl_agent_learn(a, env, 20000, 1));
    CHECK_MSG(mx <= 48 && mx > 40, "max trees %d", mx);
    brl_agent_free(&a);
  }
  /* Separate ensembles: two trees per minibatch. */
  CHECK_OK(brl_agent_config_set(&c, "shared_tree", "false"));
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  CHECK_OK(brl_agent_config_set(&c, "tree_budget", "56"));
  CHECK_OK(brl_agent_config_check(&c));
  brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_DQN, NULL);
  CHECK_OK(brl_agent_config_set(&c, "tree_budget", "500"));
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  brl_env_free(&env);
}

/* Observations of n steps of env under a's argmax policy. */
static float *rollout_obs(brl_agent *a, brl_env *env, int64_t n) {
  brl_env_spec spec;
  brl_env_get_spec(env, &spec);
  const int E = brl_env_n_envs(env), d = spec.obs_dim;
  float *X = malloc(sizeof(float) * (size_t)(n + E) * (size_t)d);
  float *obs = malloc(sizeof(float) * (size_t)E * (size_t)d);
  float *fin = malloc(sizeof(float) * (size_t)E * (size_t)d);
  float *act = malloc(sizeof(float) * (size_t)E), rew[64];
  uint8_t term[64], trunc[64];
  CHECK(E <= 64);
  CHECK_OK(brl_env_reset(env, obs));
  for (int64_t i = 0; i < n; i += E) {
    memcpy(X + i * d, obs, sizeof(float) * (size_t)E * (size_t)d);
    CHECK_OK(brl_agent_act(a, obs, E, NULL, 1, act, NULL, NULL));
    CHECK_OK(brl_env_step(env, act, obs, rew, term, trunc, fin));
  }
  free(obs);
  free(fin);
  free(act);
  return X;
}

/* Compression over caller-recorded observations (no env). */
static void test_compress_obs(void) {
  brl_agent *a = train("CartPole-v1", 1, 40000, NULL, NULL);
  if (!a)
    return;
  brl_env *env = NULL;
  CHECK_OK(brl_env_make("CartPole-v1", 8, 123, &env));
  float *X = rollout_obs(a, env, 8000), *H = rollout_obs(a, env, 2000);
  const int before = total_trees(a);
  brl_compress_params cp;
  brl_compress_params_default(&cp, 64);
  brl_compress_report r;
  /* Bad input: named errors, the agent unchanged. */
  CHECK(brl_agent_compress_obs(a, X, 0, H, 2000, &cp, &r) == BRL_EINVAL);
  CHECK(brl_agent_compress_obs(a, X, 8000, NULL, 10, &cp, &r) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "holdout") != NULL);
  const float keep = X[5];
  X[5] = INFINITY;
  CHECK(brl_agent_compress_obs(a, X, 8000, H, 2000, &cp, &r) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "observation 1") != NULL);
  X[5] = keep;
  CHECK(total_trees(a) == before);
  CHECK_OK(brl_agent_compress_obs(a, X, 8000, H, 2000, &cp, &r));
  CHECK(r.trees_before == before && r.trees_after <= 64);
  CHECK(total_trees(a) == r.trees_after);
  CHECK(r.train_rows == 8000 && r.holdout_rows == 2000);
  CHECK_MSG(r.agreement >= 0.9, "agreement %g", r.agreement);
  CHECK(isnan(r.teacher.mean_return) && isnan(r.student.mean_return));
  brl_eval_result ev;
  CHECK_OK(brl_agent_evaluate(a, env, 8, &ev, NULL));
  CHECK_MSG(ev.mean_return >= 300, "return %g", ev.mean_return);
  free(X);
  free(H);
  brl_env_free(&env);
  brl_agent_free(&a);
}

int main(void) {
  test_compress_obs();
  test_tree_budget();
  test_cartpole_shared();
  test_monotone();
  test_separate_and_gaussian();
  test_online();
  return brl_test_report("test_compress");
}
