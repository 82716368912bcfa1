/* CartPole-v1 with Gymnasium 1.0.0's dynamics (euler integrator), the state
 * in float64 and the observation cast to float32. Each arithmetic expression
 * keeps Python's evaluation order so results agree bit for bit. */
#include <math.h>

#include "envs/env_internal.h"

#define CP_GRAVITY 9.8
#define CP_MASSCART 1.0
#define CP_MASSPOLE 0.1
#define CP_LENGTH 0.5 /* half the pole's length */
#define CP_FORCE_MAG 10.0
#define CP_TAU 0.02
#define CP_X_THRESHOLD 2.4

static void cp_obs(const double *s, float *obs) {
  for (int j = 0; j < 4; j++)
    obs[j] = brl__f32(s[j]);
}

static void cp_reset(double *s, brl_rng *rng) {
  for (int j = 0; j < 4; j++)
    s[j] = brl__uniform(rng, -0.05, 0.05);
}

static void cp_step(double *s, const float *action, float *obs, double *reward,
                    int *terminated) {
  const double total_mass = CP_MASSPOLE + CP_MASSCART;
  const double polemass_length = CP_MASSPOLE * CP_LENGTH;
  const double theta_threshold = 12 * 2 * BRL_PI / 360;
  double x = s[0], x_dot = s[1], theta = s[2], theta_dot = s[3];
  double force = (int)action[0] == 1 ? CP_FORCE_MAG : -CP_FORCE_MAG;
  double costheta = cos(theta);
  double sintheta = sin(theta);
  double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) /
                total_mass;
  double thetaacc =
      (CP_GRAVITY * sintheta - costheta * temp) /
      (CP_LENGTH *
       (4.0 / 3.0 - CP_MASSPOLE * (costheta * costheta) / total_mass));
  double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
  x = x + CP_TAU * x_dot;
  x_dot = x_dot + CP_TAU * xacc;
  theta = theta + CP_TAU * theta_dot;
  theta_dot = theta_dot + CP_TAU * thetaacc;
  s[0] = x;
  s[1] = x_dot;
  s[2] = theta;
  s[3] = theta_dot;
  *terminated = x < -CP_X_THRESHOLD || x > CP_X_THRESHOLD ||
                theta < -theta_threshold || theta > theta_threshold;
  *reward = 1.0;
  cp_obs(s, obs);
}

const brl_env_def brl__env_cartpole = {
    .id = "CartPole-v1",
    .state_dim = 4,
    .obs_dim = 4,
    .action_kind = BRL_SPACE_DISCRETE,
    .action_dim = 1,
    .n_actions = 2,
    .max_episode_steps = 500,
    .reset = cp_reset,
    .step = cp_step,
    .obs = cp_obs,
};
