/* The whole training loop against a native vector environment, and the
 * evaluation of the deterministic policy, shared by the command and the
 * Python binding. */
#include "core/error.h"
#include "rl/agent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_env(const brl_agent *a, const brl_env *env, brl_env_spec *spec,
                     int need_n_envs) {
  int rc = brl_env_get_spec(env, spec);
  if (rc)
    return rc;
  if (need_n_envs && a->comm && brl_env_n_envs(env) != a->c_count)
    return brl__fail(BRL_EINVAL,
                     "the env has %d copies but this rank's share of the "
                     "agent's n_envs = %d is %d (copies %d to %d): make it "
                     "with brl_env_make_range",
                     brl_env_n_envs(env), a->cfg.n_envs, a->c_count, a->c_first,
                     a->c_first + a->c_count - 1);
  if (need_n_envs && !a->comm && brl_env_n_envs(env) != a->cfg.n_envs)
    return brl__fail(BRL_EINVAL,
                     "the env has %d copies but the agent's n_envs is %d: "
                     "make the env with n_envs copies",
                     brl_env_n_envs(env), a->cfg.n_envs);
  if (spec->obs_dim != a->obs_dim)
    return brl__fail(BRL_EINVAL,
                     "%s has %d observation floats but the agent takes %d: "
                     "use the agent on the environment it was trained on",
                     spec->id, spec->obs_dim, a->obs_dim);
  brl_action_space s;
  if ((rc = brl_action_space_from_env(spec, &s)))
    return rc;
  int same = s.kind == a->space.kind && s.dim == a->space.dim;
  for (int j = 0; same && j < s.dim; j++)
    same = s.kind == BRL_SPACE_BOX
               ? s.low[j] == a->space.low[j] && s.high[j] == a->space.high[j]
               : s.nvec[j] == a->space.nvec[j];
  if (!same)
    return brl__fail(BRL_EINVAL,
                     "the action space of %s differs from the agent's: "
                     "train and run the agent on the same environment",
                     spec->id);
  return BRL_OK;
}

int brl_agent_check_env(const brl_agent *a, const brl_env *env) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(env);
  brl_env_spec spec;
  return check_env(a, env, &spec, 0);
}

static int learn_buffers(brl_agent *a) {
  if (a->learn_obs)
    return BRL_OK; /* all of them are there */
  /* This rank's copies (all of them without a communicator). */
  const size_t E = (size_t)(a->comm ? a->c_count : a->cfg.n_envs);
  const size_t d = (size_t)a->obs_dim;
  /* All or none, so that a call after a failure allocates them again. */
  void *p[] = {malloc(E * d * sizeof(float)),
               malloc(E * d * sizeof(float)),
               malloc(E * d * sizeof(float)),
               malloc(E * sizeof(float)),
               malloc(E * (size_t)a->act_dim * sizeof(float)),
               malloc(E),
               malloc(E)};
  int ok = 1;
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
    ok &= p[i] != NULL;
  if (!ok) {
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
      free(p[i]);
    return brl__fail(BRL_ENOMEM, "out of memory for the training loop");
  }
  a->learn_obs = p[0];
  a->learn_next = p[1];
  a->learn_fin = p[2];
  a->learn_rew = p[3];
  a->learn_act = p[4];
  a->learn_term = p[5];
  a->learn_trunc = p[6];
  return BRL_OK;
}

/* The checks and the env's first observations of brl_agent_learn. */
static int learn_start(brl_agent *a, brl_env *env, int reset_env) {
  brl_env_spec spec;
  int rc = check_env(a, env, &spec, 1);
  if (!rc)
    rc = learn_buffers(a);
  if (rc)
    return rc;
  if (reset_env < 0 || reset_env > 2)
    return brl__fail(BRL_EINVAL,
                     "brl_agent_learn: reset_env is %d: use 1 (reset), 0 "
                     "(continue the previous call's episodes) or 2 (continue "
                     "the env's episodes)",
                     reset_env);
  if (reset_env) {
    if ((rc = reset_env == 1 ? brl_env_reset(env, a->learn_obs)
                             : brl_env_observe(env, a->learn_obs)))
      return rc;
    /* Fresh episodes only on a reset: continuing the env's episodes (2)
     * keeps their running returns and the reward scaler's, as saved. */
    if (reset_env == 1)
      brl__episodes_forget(a);
    a->learn_env = env;
  } else if (a->learn_env != env) {
    return brl__fail(BRL_ESTATE,
                     "brl_agent_learn: reset_env is 0 but this env was not "
                     "the one of the previous call: pass reset_env = 1");
  }
  return BRL_OK;
}

int brl_agent_learn(brl_agent *a, brl_env *env, int64_t total_timesteps,
                    int reset_env) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(env);
  if (total_timesteps < 0)
    return brl__fail(BRL_EINVAL, "total_timesteps is %lld: use 0 or more",
                     (long long)total_timesteps);
  int rc = learn_start(a, env, reset_env);
  /* With a communicator every rank starts, or none does. */
  if (a->comm)
    rc = brl_comm_agree(a->comm, rc);
  if (rc)
    return rc;
  a->t = 0;
  a->pending = 0;
  a->stop = 0;
  a->t_mark = 0.0;
  a->total_timesteps = total_timesteps;
  for (;;) {
    if (a->t == 0 && (a->timesteps >= total_timesteps || a->stop))
      break;
    if ((rc = brl_agent_collect(a, a->learn_obs, NULL, a->learn_act, NULL,
                                NULL)) == BRL_OK)
      rc = brl_env_step(env, a->learn_act, a->learn_next, a->learn_rew,
                        a->learn_term, a->learn_trunc, a->learn_fin);
    if (rc && a->comm) /* the other ranks wait for this step's rows */
      rc = brl__agent_comm_fail(a, rc);
    else if (!rc)
      rc = brl_agent_observe(a, a->learn_rew, a->learn_term, a->learn_trunc,
                             a->learn_fin);
    if (rc)
      break;
    float *t = a->learn_obs;
    a->learn_obs = a->learn_next;
    a->learn_next = t;
    if (brl_agent_rollout_full(a) && (rc = brl_agent_update(a, a->learn_obs)))
      break;
  }
  if (rc) {
    /* The env may be mid-step: the next call must reset it. */
    a->learn_env = NULL;
    a->t = 0;
    a->pending = 0;
  }
  return rc;
}

int brl_agent_evaluate(brl_agent *a, brl_env *env, int n_episodes,
                       brl_eval_result *out, double *returns) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(env);
  BRL_CHECK_ARG(out);
  if (n_episodes < 1)
    return brl__fail(BRL_EINVAL, "n_episodes is %d: use 1 or more", n_episodes);
  brl_env_spec spec;
  int rc = check_env(a, env, &spec, 0);
  if (rc)
    return rc;
  const int E = brl_env_n_envs(env);
  const size_t d = (size_t)a->obs_dim;
  float *obs = malloc((size_t)E * d * sizeof(float));
  float *act = malloc((size_t)E * (size_t)a->act_dim * sizeof(float));
  float *rew = malloc((size_t)E * sizeof(float));
  uint8_t *term = malloc((size_t)E), *trunc = malloc((size_t)E);
  double *ep_ret = calloc((size_t)E, sizeof(double));
  double *all = malloc((size_t)n_episodes * sizeof(double));
  int *count = calloc((size_t)E, sizeof(int)),
      *len = calloc((size_t)E, sizeof(int));
  if (!obs || !act || !rew || !term || !trunc || !ep_ret || !all || !count ||
      !len) {
    rc = brl__fail(BRL_ENOMEM, "out of memory for the evaluation");
    goto done;
  }
  if ((rc = brl_env_reset(env, obs)))
    goto done;
  int done_eps = 0;
  double len_sum = 0.0;
  while (done_eps < n_episodes) {
    if ((rc = brl_agent_act(a, obs, E, NULL, 1, act, NULL, NULL)) ||
        (rc = brl_env_step(env, act, obs, rew, term, trunc, NULL)))
      goto done;
    for (int e = 0; e < E; e++) {
      ep_ret[e] += rew[e];
      len[e]++;
      if (term[e] || trunc[e]) {
        int target = (n_episodes + e) / E;
        if (count[e] < target && done_eps < n_episodes) {
          all[done_eps++] = ep_ret[e];
          len_sum += len[e];
          count[e]++;
        }
        ep_ret[e] = 0.0;
        len[e] = 0;
      }
    }
  }
  double sum = 0.0, lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n_episodes; i++) {
    sum += all[i];
    lo = all[i] < lo ? all[i] : lo;
    hi = all[i] > hi ? all[i] : hi;
  }
  double mean = sum / n_episodes, var = 0.0;
  for (int i = 0; i < n_episodes; i++)
    var += (all[i] - mean) * (all[i] - mean);
  out->episodes = n_episodes;
  out->mean_return = mean;
  out->std_return = sqrt(var / n_episodes);
  out->mean_length = len_sum / n_episodes;
  out->min_return = lo;
  out->max_return = hi;
  if (returns)
    memcpy(returns, all, (size_t)n_episodes * sizeof(double));
done:
  free(obs);
  free(act);
  free(rew);
  free(term);
  free(trunc);
  free(ep_ret);
  free(all);
  free(count);
  free(len);
  return rc;
}
