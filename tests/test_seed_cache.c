/* The on-policy update's prediction caches start from the outputs the
 * rollout was acted with (update.c, brl__can_seed) instead of predicting
 * the whole ensemble over the rollout again. That is only right if those
 * outputs are the predictions bit for bit: an agent trained so is compared
 * with the same agent whose rollout stamp is made stale before each update
 * (so its caches are recomputed from the ensembles). Shared and separate
 * ensembles, discrete and Gaussian policies, env counts that are not
 * multiples of the predictor's 16-row blocks, and invalid rows (which the
 * update moves out of the rollout, outputs included). */
#include "boostrl.h"
#include "rl/agent.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

typedef struct job {
  const char *env_id;
  int shared, n_envs, invalid;
} job;

static int train(const job *j, int stale, void **buf, size_t *len) {
  brl_env *e = NULL;
  brl_agent *a = NULL;
  int rc = brl_env_make(j->env_id, j->n_envs, 11, &e);
  brl_env_spec spec;
  brl_action_space space;
  if (!rc)
    rc = brl_env_get_spec(e, &spec);
  if (rc)
    return rc;
  brl_action_space_from_env(&spec, &space);
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  c.n_envs = j->n_envs;
  c.n_steps = 16;
  c.batch_size = 48;
  c.n_epochs = 2;
  c.max_depth = 3;
  c.shared_tree = j->shared;
  if (!(rc = brl_agent_create(&c, spec.obs_dim, &space, 5, &a)))
    rc = brl_agent_set_total_timesteps(a, 3 * 16 * j->n_envs);
  const size_t E = (size_t)j->n_envs, d = (size_t)spec.obs_dim;
  float *obs = malloc(E * d * sizeof(float));
  float *fin = calloc(E * d, sizeof(float));
  float *act = malloc(E * (size_t)spec.action_dim * sizeof(float));
  float *rew = malloc(E * sizeof(float));
  uint8_t *term = malloc(E), *trunc = malloc(E), *valid = malloc(E);
  if (!obs || !fin || !act || !rew || !term || !trunc || !valid)
    rc = BRL_ENOMEM;
  if (!rc)
    rc = brl_env_reset(e, obs);
  for (int u = 0, t = 0; !rc && u < 3; u++) {
    while (!rc && !brl_agent_rollout_full(a)) {
      rc = brl_agent_collect(a, obs, NULL, act, NULL, NULL);
      if (!rc)
        rc = brl_env_step(e, act, obs, rew, term, trunc, fin);
      for (size_t k = 0; k < E; k++)
        valid[k] = !j->invalid || (t + (int)k) % 7 != 3;
      if (!rc)
        rc = brl_agent_observe_valid(a, rew, term, trunc, fin, valid);
      t++;
    }
    if (rc)
      break;
    CHECK_MSG(brl__can_seed(a), "%s: the rollout's outputs are current",
              j->env_id);
    if (stale)
      a->r_stamp[0] ^= 1; /* the caches are predicted from the ensembles */
    rc = brl_agent_update(a, obs);
  }
  if (!rc)
    rc = brl_agent_save_buffer(a, buf, len);
  free(obs);
  free(fin);
  free(act);
  free(rew);
  free(term);
  free(trunc);
  free(valid);
  brl_agent_free(&a);
  brl_env_free(&e);
  return rc;
}

int main(void) {
  static const job jobs[] = {
      {"CartPole-v1", 1, 5, 0}, {"CartPole-v1", 0, 17, 0},
      {"Pendulum-v1", 1, 3, 0}, {"Pendulum-v1", 0, 16, 1},
      {"Acrobot-v1", 1, 33, 1},
  };
  for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
    void *seeded = NULL, *predicted = NULL;
    size_t ls = 0, lp = 0;
    CHECK_OK(train(&jobs[i], 0, &seeded, &ls));
    CHECK_OK(train(&jobs[i], 1, &predicted, &lp));
    CHECK_MSG(ls > 0 && ls == lp && !memcmp(seeded, predicted, ls),
              "%s shared %d, %d envs, invalid rows %d: the agent trained from "
              "seeded caches differs from the one with predicted caches",
              jobs[i].env_id, jobs[i].shared, jobs[i].n_envs, jobs[i].invalid);
    brl_free(seeded);
    brl_free(predicted);
  }
  return brl_test_report("test_seed_cache");
}
