/* The one table of hyper-parameter presets, looked up by environment id and
 * algorithm. Rows start from the published GBRL settings
 * (../shared/REFERENCE.md); deviations are noted and measured in
 * docs/RESULTS.md. Each row is a list of "key=value" settings applied with
 * brl_agent_config_set() on top of the algorithm's defaults, so a preset
 * goes through the same checks as a user's --set. Patterns may contain '*'
 * (any run of characters). */
#include "core/error.h"
#include "rl/agent.h"

#include <stdio.h>
#include <string.h>

static const brl_agent_preset presets[] = {
    /* PPO. CartPole is tuned for `boostrl train CartPole-v1` (defaults)
     * to solve the task within 10 s on two cores (docs/RESULTS.md). */
    {"CartPole-v1", BRL_ALGO_PPO,
     "n_timesteps=150000 n_envs=16 n_steps=64 batch_size=256 n_epochs=4 "
     "policy_lr=0.05 value_lr=0.02 gamma=0.99 gae_lambda=0.95 ent_coef=0 "
     "max_policy_grad_norm=100 max_value_grad_norm=10"},
    {"Acrobot-v1", BRL_ALGO_PPO,
     "n_timesteps=1000000 n_envs=16 n_steps=128 batch_size=512 n_epochs=20 "
     "policy_lr=0.1603 value_lr=0.0342 gamma=0.99 gae_lambda=0.94 "
     "ent_coef=0"},
    /* MountainCar(Continuous): reward scaling added (gbrl_sb3's PPO wraps
     * envs in VecNormalize(norm_reward) by default): returns of -100..+100
     * are slow to reach with value_lr 0.00318 and value gradients clipped
     * at 10 (docs/RESULTS.md). */
    {"MountainCar-v0", BRL_ALGO_PPO,
     "n_timesteps=1000000 n_envs=16 n_steps=512 batch_size=256 n_epochs=20 "
     "policy_lr=0.0311 value_lr=0.00318 gamma=0.999 gae_lambda=0.98 "
     "ent_coef=0.0334 max_policy_grad_norm=100 max_value_grad_norm=10 "
     "normalize_reward=true"},
    {"MountainCarContinuous-v0", BRL_ALGO_PPO,
     "n_timesteps=1000000 n_envs=16 n_steps=512 batch_size=256 n_epochs=20 "
     "policy_lr=0.0311 value_lr=0.00318 gamma=0.999 gae_lambda=0.98 "
     "ent_coef=0.0334 max_policy_grad_norm=100 max_value_grad_norm=10 "
     "normalize_reward=true log_std_init=0"},
    {"LunarLander*", BRL_ALGO_PPO,
     "n_timesteps=1500000 n_envs=16 n_steps=512 batch_size=256 n_epochs=20 "
     "policy_lr=0.0311 value_lr=0.00318 gamma=0.999 gae_lambda=0.98 "
     "ent_coef=0.0334"},
    {"Pendulum-v1", BRL_ALGO_PPO,
     "n_timesteps=1000000 n_envs=16 n_steps=256 batch_size=512 n_epochs=20 "
     "policy_lr=0.0312 value_lr=0.0132 gamma=0.915 gae_lambda=0.938 "
     "ent_coef=0 normalize_reward=true max_policy_grad_norm=100 "
     "max_value_grad_norm=10"},
    {"MiniGrid-*", BRL_ALGO_PPO,
     "n_timesteps=1000000 n_envs=16 n_steps=256 batch_size=512 n_epochs=20 "
     "policy_lr=0.1706 value_lr=0.01 gamma=0.99 gae_lambda=0.95 ent_coef=0"},
    {"*-ram*", BRL_ALGO_PPO,
     "n_timesteps=10000000 n_envs=16 n_steps=512 batch_size=64 n_epochs=4 "
     "policy_lr=0.0503 value_lr=0.00217 gamma=0.99 gae_lambda=0.95 "
     "ent_coef=8e-5 clip_range=0.924"},
    /* A2C: one tree per rollout, advantages normalised, vf_coef 0.5. */
    {"CartPole-v1", BRL_ALGO_A2C,
     "n_timesteps=1000000 n_envs=16 n_steps=8 policy_lr=0.135 "
     "value_lr=0.0474 gamma=0.99 gae_lambda=1"},
    {"Acrobot-v1", BRL_ALGO_A2C,
     "n_timesteps=1000000 n_envs=4 n_steps=8 policy_lr=0.794 "
     "value_lr=0.0316 gamma=0.99 gae_lambda=1"},
    {"MountainCar-v0", BRL_ALGO_A2C,
     "n_timesteps=1000000 n_envs=16 n_steps=8 policy_lr=0.64 "
     "value_lr=0.0327 gamma=0.99 gae_lambda=1"},
    {"Pendulum-v1", BRL_ALGO_A2C,
     "n_timesteps=1000000 n_envs=32 n_steps=10 policy_lr=0.00317 "
     "value_lr=0.057 gamma=0.9 gae_lambda=0.9 log_std_lr=0.00018 "
     "log_std_lr_end=0 ent_coef=1e-5"},
    {"MiniGrid-*", BRL_ALGO_A2C,
     "n_timesteps=1000000 n_envs=128 n_steps=10 policy_lr=0.349 "
     "value_lr=0.0395 gamma=0.99 gae_lambda=0.95"},
    /* AWR (REFERENCE.md): buffer 50k, beta 0.05, weights <= 20, batch
     * 1024, train every 2000 transitions, 150 gradient steps. Deviation: 16
     * envs x train_freq 125 instead of 1 x 2000 (the same transitions per
     * training call): acting predicts 16 observations per ensemble pass,
     * which keeps the cost per env step flat as the ensemble grows
     * (docs/RESULTS.md). */
    {"CartPole-v1", BRL_ALGO_AWR,
     "n_timesteps=300000 n_envs=16 buffer_size=50000 learning_starts=1000 "
     "batch_size=1024 train_freq=125 gradient_steps=150 beta=0.05 "
     "weights_max=20 policy_lr=0.0507 value_lr=0.105 gamma=0.99 "
     "gae_lambda=0.95 ent_coef=0"},
    {"Pendulum-v1", BRL_ALGO_AWR,
     "n_timesteps=300000 n_envs=16 buffer_size=50000 learning_starts=1000 "
     "batch_size=1024 train_freq=125 gradient_steps=150 beta=0.05 "
     "weights_max=20 policy_lr=0.0507 value_lr=0.105 gamma=0.9 "
     "gae_lambda=0.95 ent_coef=0"},
    /* DQN (REFERENCE.md): train every 128 transitions (16 envs x 8), 50
     * gradient steps, batch 512, lr 0.1, epsilon 1 -> 0.04 over 16%.
     * Deviations: 16 envs (batched acting, as for AWR) and buffer 50k
     * instead of 100k (docs/RESULTS.md: cost per step). */
    {"CartPole-v1", BRL_ALGO_DQN,
     "n_timesteps=300000 n_envs=16 buffer_size=50000 learning_starts=1000 "
     "batch_size=512 train_freq=8 gradient_steps=50 policy_lr=0.1 "
     "gamma=0.99 target_update_interval=100 exploration_fraction=0.16 "
     "exploration_initial_eps=1 exploration_final_eps=0.04"},
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

/* Glob match with '*' only. */
static int match(const char *pat, const char *s) {
  if (*pat == '\0')
    return *s == '\0';
  if (*pat == '*') {
    for (;; s++) {
      if (match(pat + 1, s))
        return 1;
      if (*s == '\0')
        return 0;
    }
  }
  return *s == *pat && match(pat + 1, s + 1);
}

/* Applies "k=v k=v ..." to c. */
static int apply(brl_agent_config *c, const char *settings, const char *env) {
  const char *p = settings;
  while (*p) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    char key[64], val[64];
    size_t nk = strcspn(p, "=");
    size_t nv = strcspn(p + nk + 1, " ");
    if (nk >= sizeof key || nv >= sizeof val || p[nk] != '=')
      return brl__fail(BRL_EINVAL, "preset of %s is malformed near '%.20s'",
                       env, p);
    memcpy(key, p, nk);
    key[nk] = '\0';
    memcpy(val, p + nk + 1, nv);
    val[nv] = '\0';
    int rc = brl_agent_config_set(c, key, val);
    if (rc)
      return rc;
    p += nk + 1 + nv;
  }
  return BRL_OK;
}

int brl_agent_preset_count(void) { return N_PRESETS; }

int brl_agent_preset_get(int i, brl_agent_preset *out) {
  BRL_CHECK_ARG(out);
  if (i < 0 || i >= N_PRESETS)
    return brl__fail(BRL_EINVAL,
                     "preset row %d does not exist: use 0 to %d "
                     "(brl_agent_preset_count() - 1)",
                     i, N_PRESETS - 1);
  *out = presets[i];
  return BRL_OK;
}

int brl_agent_preset_find(const char *env_id, brl_algo algo) {
  if (!env_id)
    return -1;
  for (int i = 0; i < N_PRESETS; i++)
    if (presets[i].algo == algo && match(presets[i].env, env_id))
      return i;
  return -1;
}

int brl_agent_config_preset_sized(brl_agent_config *out, size_t struct_size,
                                  const char *env_id, brl_algo algo,
                                  int *found) {
  BRL_CHECK_ARG(out);
  if (found)
    *found = 0;
  brl_agent_config full, *c = &full;
  brl_agent_config_default(c, algo);
  int rc = brl__agent_config_out(c, out, struct_size);
  if (rc)
    return rc;
  if (algo != BRL_ALGO_PPO && algo != BRL_ALGO_A2C && algo != BRL_ALGO_AWR &&
      algo != BRL_ALGO_DQN)
    return brl__fail(BRL_EINVAL, "algo is %d: use ppo, a2c, awr or dqn",
                     (int)algo);
  if (!env_id)
    return BRL_OK;
  int i = brl_agent_preset_find(env_id, algo);
  if (i < 0)
    return BRL_OK;
  if ((rc = apply(c, presets[i].settings, env_id)) ||
      (rc = brl_agent_config_check(c)))
    return rc;
  if (found)
    *found = 1;
  return brl__agent_config_out(c, out, struct_size);
}
