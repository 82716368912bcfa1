/* Pendulum-v1 with Gymnasium 1.0.0's dynamics (g = 10.0): the state in
 * float64, the float32 torque combined as numpy 2 does (NEP 50: float32 op
 * Python float is float32), the observation cast to float32. Each expression
 * keeps Python's evaluation order so results agree bit for bit. */
#include <math.h>

#include "envs/env_internal.h"

#define PD_MAX_SPEED 8
#define PD_MAX_TORQUE 2.0
#define PD_DT 0.05
#define PD_G 10.0
#define PD_M 1.0
#define PD_L 1.0

/* numpy's float64 remainder (x % y, the sign of y), via fmod as npy_divmod
 * does. */
static double py_mod(double a, double b) {
  double mod = fmod(a, b);
  if (mod != 0) {
    if ((b < 0) != (mod < 0))
      mod += b;
  } else {
    mod = copysign(0.0, b);
  }
  return mod;
}

/* ((x + np.pi) % (2 * np.pi)) - np.pi */
static double angle_normalize(double x) {
  return py_mod(x + BRL_PI, 2 * BRL_PI) - BRL_PI;
}

static void pd_obs(const double *s, float *obs) {
  obs[0] = brl__f32(cos(s[0]));
  obs[1] = brl__f32(sin(s[0]));
  obs[2] = brl__f32(s[1]);
}

static void pd_reset(double *s, brl_rng *rng) {
  /* uniform(low=[-pi, -1], high=[pi, 1]) */
  s[0] = brl__uniform(rng, -BRL_PI, BRL_PI);
  s[1] = brl__uniform(rng, -1.0, 1.0);
}

static void pd_step(double *s, const float *action, float *obs, double *reward,
                    int *terminated) {
  const double g = PD_G, m = PD_M, l = PD_L, dt = PD_DT;
  double th = s[0], thdot = s[1];
  float u = action[0]; /* already clipped to [-2, 2] */
  /* 0.001 * (u**2) is float32 arithmetic */
  float cost_u = 0.001f * brl__pow2f(u);
  double costs =
      brl__pow2(angle_normalize(th)) + 0.1 * brl__pow2(thdot) + (double)cost_u;
  /* 3.0 / (m * l**2) * u is a Python float times a float32: float32 */
  float torque_term = (float)(3.0 / (m * (l * l))) * u;
  double newthdot =
      thdot + (3 * g / (2 * l) * sin(th) + (double)torque_term) * dt;
  if (newthdot < -PD_MAX_SPEED)
    newthdot = -PD_MAX_SPEED;
  if (newthdot > PD_MAX_SPEED)
    newthdot = PD_MAX_SPEED;
  double newth = th + newthdot * dt;
  s[0] = newth;
  s[1] = newthdot;
  *terminated = 0;
  *reward = -costs;
  pd_obs(s, obs);
}

const brl_env_def brl__env_pendulum = {
    .id = "Pendulum-v1",
    .state_dim = 2,
    .obs_dim = 3,
    .action_kind = BRL_SPACE_BOX,
    .action_dim = 1,
    .max_episode_steps = 200,
    .action_low = {(float)-PD_MAX_TORQUE},
    .action_high = {(float)PD_MAX_TORQUE},
    .reset = pd_reset,
    .step = pd_step,
    .obs = pd_obs,
};
