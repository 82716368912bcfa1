/* Recording the outcome of each step: rewards (scaled when asked), episode
 * ends, the values of truncated episodes' final observations, and episode
 * statistics of the raw rewards. */
#include "core/error.h"
#include "rl/agent.h"

#include <math.h>
#include <string.h>

static void window_push(brl_agent *a, double ret, double len) {
  a->win_ret[a->win_pos] = ret;
  a->win_len[a->win_pos] = len;
  a->win_pos = (a->win_pos + 1) % BRL_EP_WINDOW;
  if (a->win_n < BRL_EP_WINDOW)
    a->win_n++;
}

void brl__episode_window_stats(const brl_agent *a, brl_agent_stats *s) {
  s->ep_window = a->win_n;
  if (a->win_n == 0) {
    s->ep_return_mean = s->ep_return_std = s->ep_length_mean = NAN;
    return;
  }
  double sr = 0, sl = 0;
  for (int i = 0; i < a->win_n; i++) {
    sr += a->win_ret[i];
    sl += a->win_len[i];
  }
  double mr = sr / a->win_n, var = 0;
  for (int i = 0; i < a->win_n; i++)
    var += (a->win_ret[i] - mr) * (a->win_ret[i] - mr);
  s->ep_return_mean = mr;
  s->ep_return_std = sqrt(var / a->win_n);
  s->ep_length_mean = sl / a->win_n;
}

void brl__episodes_forget(brl_agent *a) {
  const int E = a->cfg.n_envs;
  for (int e = 0; e < E; e++) {
    a->ep_ret[e] = 0.0;
    a->ep_len[e] = 0;
  }
  if (a->scaler)
    for (int e = 0; e < E; e++)
      a->scaler->ret[e] = 0.0;
}

int brl_agent_reset_episodes(brl_agent *a) {
  BRL_CHECK_ARG(a);
  brl__episodes_forget(a);
  return BRL_OK;
}

int brl_agent_observe(brl_agent *a, const float *rewards,
                      const uint8_t *terminated, const uint8_t *truncated,
                      const float *final_obs) {
  return brl_agent_observe_valid(a, rewards, terminated, truncated, final_obs,
                                 NULL);
}

int brl_agent_observe_valid(brl_agent *a, const float *rewards,
                            const uint8_t *terminated, const uint8_t *truncated,
                            const float *final_obs, const uint8_t *valid) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(rewards);
  BRL_CHECK_ARG(terminated);
  BRL_CHECK_ARG(truncated);
  if (a->comm) /* this rank's rows: gathered, then the code below */
    return brl__agent_observe_comm(a, rewards, terminated, truncated, final_obs,
                                   valid);
  if (!a->pending)
    return brl__fail(BRL_ESTATE, "brl_agent_observe: no step to observe; call "
                                 "brl_agent_collect() first");
  const int E = a->cfg.n_envs, d = a->obs_dim;
  int n_fin = 0, all_valid = 1;
  for (int e = 0; valid && e < E; e++)
    all_valid &= valid[e] != 0;
  if (all_valid)
    valid = NULL; /* the same as no mask, bit for bit */
  for (int e = 0; e < E; e++) {
    if (valid && !valid[e])
      continue; /* nothing of it is read */
    if (!isfinite(rewards[e]))
      return brl__fail(BRL_ENUMERIC, "reward of env %d is %g: must be finite",
                       e, (double)rewards[e]);
    if (truncated[e] && !terminated[e]) {
      if (!final_obs)
        return brl__fail(BRL_EINVAL,
                         "env %d was truncated but final_obs is NULL: pass "
                         "the final observations to bootstrap from",
                         e);
      memcpy(a->tmp_obs + (size_t)n_fin * d, final_obs + (size_t)e * d,
             (size_t)d * sizeof(float));
      if (a->r_fobs)
        memcpy(a->r_fobs + ((size_t)a->t * (size_t)E + (size_t)e) * d,
               final_obs + (size_t)e * d, (size_t)d * sizeof(float));
      n_fin++;
    }
  }
  const size_t row = (size_t)a->t * (size_t)E;
  float *fv = a->fin_val + row;
  memset(fv, 0, (size_t)E * sizeof(float));
  if (n_fin) {
    /* Values of the final observations of truncated episodes; out_pi is
     * free here (the step's actions are already chosen). */
    int rc = brl__agent_forward(a, a->tmp_obs, n_fin, a->last_val);
    if (rc)
      return rc;
    for (int e = 0, k = 0; e < E; e++)
      if ((!valid || valid[e]) && truncated[e] && !terminated[e])
        fv[e] = a->last_val[k++];
  }
  float *r = a->rew + row;
  if (a->scaler) {
    int rc = brl__reward_scaler_step_valid(a->scaler, rewards, terminated,
                                           truncated, valid, 1, r);
    if (rc)
      return rc;
  } else {
    for (int e = 0; e < E; e++)
      r[e] = valid && !valid[e] ? 0.0f : rewards[e];
  }
  for (int e = 0; e < E; e++) {
    a->valid[row + e] = !valid || valid[e];
    if (valid && !valid[e]) {
      /* No transition: no flags, no episode step. */
      a->term[row + e] = a->trunc[row + e] = 0;
      continue;
    }
    a->term[row + e] = terminated[e] ? 1 : 0;
    a->trunc[row + e] = truncated[e] ? 1 : 0;
    a->ep_ret[e] += rewards[e];
    a->ep_len[e]++;
    if (terminated[e] || truncated[e]) {
      window_push(a, a->ep_ret[e], (double)a->ep_len[e]);
      a->episodes++;
      a->ep_ret[e] = 0.0;
      a->ep_len[e] = 0;
    }
  }
  a->timesteps += E; /* env steps, as the caller counts them */
  a->t++;
  a->pending = 0;
  return BRL_OK;
}

int brl_agent_rollout_full(const brl_agent *a) {
  return a && !a->pending && a->t >= brl__rollout_len(a);
}
