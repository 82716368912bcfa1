/* Categorical observation columns (n_cat_obs): an env-free bandit whose
 * reward depends only on a categorical column; PPO learns it with a
 * categorical split in the policy, save -> load gives identical actions;
 * AWR, DQN and online compression run on categorical columns; bad codes and
 * a bad n_cat_obs are rejected. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "core/rng.h"
#include "testlib.h"

/* obs: 2 numeric noise columns, then 2 categorical: c0 in {0..5} (decides
 * the rewarded action), c1 in {-1 (missing), 3, 7} (noise). */
#define OBS_DIM 4
#define N_CAT 2
#define E 8

static int best_action(int code) { return code == 1 || code == 4 ? 1 : 0; }

static void fill_obs(brl_rng *r, float *obs, int n) {
  for (int i = 0; i < n; i++) {
    float *o = obs + i * OBS_DIM;
    o[0] = (float)brl_rng_normal(r);
    o[1] = (float)brl_rng_normal(r);
    o[2] = (float)brl_rng_below(r, 6);
    const int k = (int)brl_rng_below(r, 3);
    o[3] = k == 0 ? -1.0f : k == 1 ? 3.0f : 7.0f;
  }
}

static int make(brl_algo algo, const char *const *sets, brl_agent **a) {
  brl_agent_config c;
  brl_agent_config_default(&c, algo);
  int rc = brl_agent_config_set(&c, "n_envs", "8");
  if (!rc)
    rc = brl_agent_config_set(&c, "n_cat_obs", "2");
  for (int i = 0; !rc && sets[i]; i += 2)
    rc = brl_agent_config_set(&c, sets[i], sets[i + 1]);
  if (rc)
    return rc;
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = 2;
  return brl_agent_create(&c, OBS_DIM, &s, 7, a);
}

/* Runs `updates` rollouts of the one-step bandit (every step terminates). */
static int train(brl_agent *a, int updates, uint64_t seed) {
  brl_rng r;
  brl_rng_seed(&r, seed);
  float obs[E * OBS_DIM], act[E], rew[E];
  uint8_t term[E], trunc[E] = {0};
  memset(term, 1, sizeof term);
  fill_obs(&r, obs, E);
  int done = 0, rc = BRL_OK;
  while (!rc && done < updates) {
    if ((rc = brl_agent_collect(a, obs, NULL, act, NULL, NULL)))
      break;
    for (int e = 0; e < E; e++)
      rew[e] =
          (int)act[e] == best_action((int)obs[e * OBS_DIM + 2]) ? 1.0f : 0.0f;
    if ((rc = brl_agent_observe(a, rew, term, trunc, NULL)))
      break;
    fill_obs(&r, obs, E);
    if (brl_agent_rollout_full(a)) {
      rc = brl_agent_update(a, obs);
      done++;
    }
  }
  return rc;
}

static double accuracy(brl_agent *a, const float *obs, int n) {
  float *act = malloc((size_t)n * sizeof(float));
  int ok = 0;
  if (act && brl_agent_act(a, obs, n, NULL, 1, act, NULL, NULL) == BRL_OK)
    for (int i = 0; i < n; i++)
      ok += (int)act[i] == best_action((int)obs[i * OBS_DIM + 2]);
  free(act);
  return (double)ok / n;
}

static void same_after_reload(brl_agent *a, const float *obs, int n) {
  void *buf = NULL;
  size_t len = 0;
  brl_agent *b = NULL;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  free(buf);
  if (!b)
    return;
  brl_agent_config cb;
  CHECK_OK(brl_agent_get_config(b, &cb));
  CHECK(cb.n_cat_obs == N_CAT);
  float *x = malloc((size_t)n * sizeof(float) * 2);
  if (x) {
    CHECK_OK(brl_agent_act(a, obs, n, NULL, 1, x, NULL, NULL));
    CHECK_OK(brl_agent_act(b, obs, n, NULL, 1, x + n, NULL, NULL));
    CHECK(memcmp(x, x + n, (size_t)n * sizeof(float)) == 0);
  }
  free(x);
  brl_agent_free(&b);
}

static void test_ppo_learns(void) {
  static const char *const sets[] = {"n_steps",  "16", "batch_size", "64",
                                     "n_epochs", "4",  "policy_lr",  "0.2",
                                     "ent_coef", "0",  NULL};
  brl_agent *a = NULL;
  CHECK_OK(make(BRL_ALGO_PPO, sets, &a));
  if (!a)
    return;
  const brl_model *m = brl_agent_model(a, 0);
  CHECK(brl_model_n_all_features(m) == OBS_DIM);
  brl_params p;
  CHECK_OK(brl_model_params(m, &p));
  CHECK(p.n_features == OBS_DIM - N_CAT && p.n_cat_features == N_CAT);
  CHECK_OK(train(a, 15, 1));
  enum { NT = 600 };
  static float obs[NT * OBS_DIM];
  brl_rng r;
  brl_rng_seed(&r, 99);
  fill_obs(&r, obs, NT);
  const double acc = accuracy(a, obs, NT);
  CHECK_MSG(acc > 0.9, "accuracy %.3f on the categorical bandit", acc);
  double imp[OBS_DIM];
  CHECK_OK(brl_model_feature_importance(m, BRL_IMPORTANCE_SPLITS, imp));
  CHECK_MSG(imp[OBS_DIM - N_CAT] > 0, "splits on the categorical column: %g",
            imp[OBS_DIM - N_CAT]);
  same_after_reload(a, obs, NT);
  brl_agent_free(&a);
}

static void test_offpolicy_and_compress(void) {
  static const char *const awr[] = {
      "buffer_size",    "400", "learning_starts", "64", "train_freq", "8",
      "gradient_steps", "4",   "batch_size",      "32", NULL};
  static const char *const dqn[] = {
      "buffer_size", "400", "learning_starts",        "64",
      "train_freq",  "8",   "gradient_steps",         "4",
      "batch_size",  "32",  "target_update_interval", "6",
      NULL};
  static const char *const a2c[] = {"n_steps",     "8", "compress_every", "2",
                                    "compress_to", "6", "shared_tree",    "0",
                                    NULL};
  const brl_algo algos[] = {BRL_ALGO_AWR, BRL_ALGO_DQN, BRL_ALGO_A2C};
  const char *const *sets[] = {awr, dqn, a2c};
  brl_rng r;
  brl_rng_seed(&r, 5);
  static float obs[64 * OBS_DIM];
  fill_obs(&r, obs, 64);
  for (int k = 0; k < 3; k++) {
    brl_agent *a = NULL;
    CHECK_OK(make(algos[k], sets[k], &a));
    if (!a)
      continue;
    CHECK_OK(train(a, 12, 3 + (uint64_t)k));
    brl_agent_stats st;
    CHECK_OK(brl_agent_get_stats(a, &st));
    CHECK_MSG(st.policy_trees > 0, "algo %d grew no trees", (int)algos[k]);
    if (algos[k] == BRL_ALGO_A2C)
      CHECK(st.policy_trees + st.value_trees <= 6 + 2);
    same_after_reload(a, obs, 64);
    brl_agent_free(&a);
  }
}

static void test_errors(void) {
  static const char *const none[] = {NULL};
  brl_agent *a = NULL;
  CHECK_OK(make(BRL_ALGO_PPO, none, &a));
  if (!a)
    return;
  float obs[OBS_DIM] = {0.5f, 0.1f, 1.5f, 3.0f}, act;
  CHECK(brl_agent_act(a, obs, 1, NULL, 1, &act, NULL, NULL) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "column 2") != NULL);
  obs[2] = 1.0f;
  obs[3] = 1e9f;
  CHECK(brl_agent_act(a, obs, 1, NULL, 1, &act, NULL, NULL) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "column 3") != NULL);
  obs[3] = -5.0f; /* missing */
  CHECK_OK(brl_agent_act(a, obs, 1, NULL, 1, &act, NULL, NULL));
  obs[3] = NAN; /* missing too */
  CHECK_OK(brl_agent_act(a, obs, 1, NULL, 1, &act, NULL, NULL));
  brl_agent_free(&a);

  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = 2;
  c.n_cat_obs = 5;
  CHECK(brl_agent_create(&c, OBS_DIM, &s, 1, &a) == BRL_EINVAL && !a);
  CHECK(brl_agent_config_set(&c, "n_cat_obs", "-1") != BRL_OK);
  /* Every column categorical. */
  c.n_cat_obs = OBS_DIM;
  CHECK_OK(brl_agent_create(&c, OBS_DIM, &s, 1, &a));
  if (a) {
    float o[OBS_DIM] = {1, 2, 3, -1};
    CHECK_OK(brl_agent_act(a, o, 1, NULL, 1, &act, NULL, NULL));
  }
  brl_agent_free(&a);
  char v[32];
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  CHECK_OK(brl_agent_config_get(&c, "n_cat_obs", v, sizeof v));
  CHECK(strcmp(v, "0") == 0);
}

int main(void) {
  test_ppo_learns();
  test_offpolicy_and_compress();
  test_errors();
  return brl_test_report("test_cat_obs");
}
