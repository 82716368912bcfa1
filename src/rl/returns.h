/*
 * returns.h - advantages, returns and reward scaling for on-policy and
 * replay-based RL.
 *
 * Rollouts are stored time-major, as stable-baselines3's RolloutBuffer:
 * entry (t, e) of an [n_steps][n_envs] array is at [t * n_envs + e]. Step t
 * of env e is the transition from observation t (whose value is values[t])
 * with reward rewards[t]; terminated[t] / truncated[t] say whether the
 * episode ended with that transition (the vectorized env then resets in the
 * same step, so observation t + 1 is the first of the next episode).
 * No function here allocates or prints. All sums are taken in double.
 */
#ifndef BRL_RL_RETURNS_H
#define BRL_RL_RETURNS_H

#include <stdint.h>

#include "boostrl.h"

/* ---------------------------------------------------------------- GAE */

/* Generalized advantage estimation, stable-baselines3's
 * compute_returns_and_advantage() with its truncation handling:
 *
 *   done_t  = terminated_t or truncated_t
 *   r'_t    = r_t + gamma * final_values_t   if truncated_t and not
 *             terminated_t (the episode was cut off by a time limit: bootstrap
 *             from the value of its final observation), else r_t
 *   V_next  = values_{t+1} for t < n_steps - 1, last_values for the last step
 *   delta_t = r'_t + gamma * (1 - done_t) * V_next - values_t
 *   A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
 *   R_t     = A_t + values_t.
 *
 * rewards, values, terminated, truncated, final_values: [n_steps][n_envs].
 * final_values is read only where truncated and not terminated and may be
 * NULL when no such step exists. terminated / truncated: nonzero = true.
 * last_values: [n_envs], the values of the observations after the last step
 * (used unless that step ended its episode).
 * values may be NULL (all zeros): with lambda = 1 the returns do not depend
 * on the values, so this gives Monte-Carlo returns that bootstrap only at
 * truncations and at the end of the segment (pass last_values of zeros, or
 * terminated flags, to have none).
 * advantages and returns ([n_steps][n_envs] floats) may each be NULL;
 * with lambda < 1 the returns are TD(lambda) returns (AWR's), so
 * brl__gae() with n_envs = 1 on one env's replay segment gives those.
 * gamma and lambda in [0, 1]. */
int brl__gae(int n_steps, int n_envs, const float *rewards, const float *values,
             const uint8_t *terminated, const uint8_t *truncated,
             const float *final_values, const float *last_values, double gamma,
             double lambda, float *advantages, float *returns);

/* brl__gae with valid ([n_steps][n_envs] bytes, NULL: all valid): a row with
 * valid 0 is no transition (e.g. the step of a next-step autoreset vector
 * env that only resets). Its advantage is 0 and its return its value; it
 * ends the lambda chain like the end of the segment: the valid row before
 * it, unless that row ended its episode, bootstraps from values at the
 * invalid row (the observation that row led to) with no advantage after
 * it. Its reward and flags are not read. */
int brl__gae_valid(int n_steps, int n_envs, const float *rewards,
                   const float *values, const uint8_t *terminated,
                   const uint8_t *truncated, const uint8_t *valid,
                   const float *final_values, const float *last_values,
                   double gamma, double lambda, float *advantages,
                   float *returns);

/* Advantage normalisation as stable-baselines3 does per minibatch:
 * out[k] = (adv[idx[k]] - mean) / (std + 1e-8) for k < n, where mean and the
 * (unbiased, n - 1) standard deviation are taken over the n selected
 * entries. idx NULL selects adv[0..n). When n == 1 the value is copied
 * unchanged (stable-baselines3 skips normalisation of single-sample
 * batches). out may be adv itself only when idx is NULL. */
int brl__normalize_advantages(const float *adv, const int32_t *idx, int64_t n,
                              float *out);

/* --------------------------------------------------- running mean / std */

/* stable-baselines3's RunningMeanStd for a scalar: starts at mean 0, var 1,
 * count epsilon (1e-4) and merges batches with the parallel (Chan et al.)
 * update using the batch's population variance. */
typedef struct brl_rms {
  double mean, var, count;
} brl_rms;

void brl__rms_init(brl_rms *r, double epsilon);
/* Merges the n >= 1 values x[0..n) (a no-op for n <= 0). */
void brl__rms_update(brl_rms *r, const double *x, int n);

/* ------------------------------------------------------ reward scaling */

#define BRL_REWARD_SCALER_MAX_ENVS 4096

/* stable-baselines3's VecNormalize(norm_obs=False, norm_reward=True): the
 * whole state is this plain struct (no pointers), so it can be copied or
 * written to a file as it is. */
typedef struct brl_reward_scaler {
  int n_envs;
  double gamma;    /* discount of the running return */
  double epsilon;  /* added to the variance before the sqrt (1e-8) */
  double clip;     /* scaled rewards are clipped to [-clip, clip] (10) */
  brl_rms ret_rms; /* running statistics of the discounted return */
  double ret[BRL_REWARD_SCALER_MAX_ENVS]; /* running return of each env */
} brl_reward_scaler;

/* n_envs in [1, BRL_REWARD_SCALER_MAX_ENVS], gamma in [0, 1]; epsilon 1e-8,
 * clip 10, returns 0 and ret_rms as brl__rms_init(1e-4). */
int brl__reward_scaler_init(brl_reward_scaler *s, int n_envs, double gamma);

/* One vectorized env step (VecNormalize.step_wait):
 *   ret_e = ret_e * gamma + r_e              for every env
 *   if update: ret_rms.update(ret[0..n_envs))
 *   scaled_e = clip(r_e / sqrt(ret_rms.var + epsilon), -clip, clip)
 *   ret_e = 0 where terminated_e or truncated_e.
 * rewards and scaled: n_envs floats (scaled may be rewards itself);
 * terminated / truncated: n_envs bytes (either may be NULL: none). update is
 * 0 at evaluation time (VecNormalize.training = False). */
int brl__reward_scaler_step(brl_reward_scaler *s, const float *rewards,
                            const uint8_t *terminated, const uint8_t *truncated,
                            int update, float *scaled);
/* The same where valid (n_envs bytes, NULL: all) is 0 for envs whose step
 * is no transition: their running return is left as it is, they are not
 * in the statistics' update and their scaled reward is 0. */
int brl__reward_scaler_step_valid(brl_reward_scaler *s, const float *rewards,
                                  const uint8_t *terminated,
                                  const uint8_t *truncated,
                                  const uint8_t *valid, int update,
                                  float *scaled);

/* The scaling of one reward with the current statistics, no update. */
double brl__reward_scaler_scale(const brl_reward_scaler *s, double r);

#endif
