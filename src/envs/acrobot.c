/* Acrobot-v1 with Gymnasium 1.0.0's dynamics: "book" equations, one rk4 step
 * of dt = 0.2, no torque noise, angles wrapped to [-pi, pi] and velocities
 * bounded. The state is float64 (the first one of an episode holds float32
 * values, as Gymnasium draws it in float32); the observation is float32.
 * Each expression keeps Python's evaluation order so results agree bit for
 * bit. */
#include <math.h>

#include "envs/env_internal.h"

#define AB_DT 0.2
#define AB_L1 1.0  /* LINK_LENGTH_1 */
#define AB_M1 1.0  /* LINK_MASS_1 */
#define AB_M2 1.0  /* LINK_MASS_2 */
#define AB_LC1 0.5 /* LINK_COM_POS_1 */
#define AB_LC2 0.5 /* LINK_COM_POS_2 */
#define AB_MOI 1.0 /* LINK_MOI */
#define AB_G 9.8
#define AB_MAX_VEL_1 (4 * BRL_PI)
#define AB_MAX_VEL_2 (9 * BRL_PI)

/* Gymnasium's wrap(): repeated subtraction of M - m. States far outside the
 * range (only reachable through brl__env_set_state) first jump close to it so
 * the loop stays short, and non-finite values are returned as they are
 * (Gymnasium would loop forever on an infinity). */
static double ab_wrap(double x, double m, double M) {
  double diff = M - m;
  if (!isfinite(x))
    return x;
  if (x > M + 64 * diff || x < m - 64 * diff)
    x -= floor((x - m) / diff) * diff;
  while (x > M)
    x = x - diff;
  while (x < m)
    x = x + diff;
  return x;
}

/* Gymnasium's bound(): min(max(x, m), M) with Python's min/max semantics. */
static double ab_bound(double x, double m, double M) {
  double t = m > x ? m : x;
  return M < t ? M : t;
}

/* _dsdt: derivatives of (theta1, theta2, dtheta1, dtheta2, torque). */
static void ab_dsdt(const double *sa, double *d) {
  const double m1 = AB_M1, m2 = AB_M2, l1 = AB_L1, lc1 = AB_LC1, lc2 = AB_LC2;
  const double I1 = AB_MOI, I2 = AB_MOI, g = AB_G;
  double a = sa[4];
  double theta1 = sa[0], theta2 = sa[1], dtheta1 = sa[2], dtheta2 = sa[3];
  /* lc1**2 etc. are squares of Python floats 0.5 and 1.0: exact. */
  double lc1_2 = lc1 * lc1, lc2_2 = lc2 * lc2, l1_2 = l1 * l1;
  double d1 =
      m1 * lc1_2 + m2 * (l1_2 + lc2_2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2;
  double d2 = m2 * (lc2_2 + l1 * lc2 * cos(theta2)) + I2;
  double phi2 = m2 * lc2 * g * cos(theta1 + theta2 - BRL_PI / 2.0);
  double phi1 = -m2 * l1 * lc2 * brl__pow2(dtheta2) * sin(theta2) -
                2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2) +
                (m1 * lc1 + m2 * l1) * g * cos(theta1 - BRL_PI / 2) + phi2;
  double ddtheta2 = (a + d2 / d1 * phi1 -
                     m2 * l1 * lc2 * brl__pow2(dtheta1) * sin(theta2) - phi2) /
                    (m2 * lc2_2 + I2 - brl__pow2(d2) / d1);
  double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  d[0] = dtheta1;
  d[1] = dtheta2;
  d[2] = ddtheta1;
  d[3] = ddtheta2;
  d[4] = 0.0;
}

static void ab_obs(const double *s, float *obs) {
  obs[0] = brl__f32(cos(s[0]));
  obs[1] = brl__f32(sin(s[0]));
  obs[2] = brl__f32(cos(s[1]));
  obs[3] = brl__f32(sin(s[1]));
  obs[4] = brl__f32(s[2]);
  obs[5] = brl__f32(s[3]);
}

static void ab_reset(double *s, brl_rng *rng) {
  /* uniform(-0.1, 0.1, size=(4,)).astype(np.float32) */
  for (int j = 0; j < 4; j++)
    s[j] = (double)(float)brl__uniform(rng, -0.1, 0.1);
}

static void ab_step(double *s, const float *action, float *obs, double *reward,
                    int *terminated) {
  static const double torques[3] = {-1.0, 0.0, 1.0};
  double y0[5], y[5], k1[5], k2[5], k3[5], k4[5];
  /* rk4(self._dsdt, s_augmented, [0, self.dt]) */
  const double dt = AB_DT - 0;
  const double dt2 = dt / 2.0;
  for (int j = 0; j < 4; j++)
    y0[j] = s[j];
  y0[4] = torques[(int)action[0]];
  ab_dsdt(y0, k1);
  for (int j = 0; j < 5; j++)
    y[j] = y0[j] + dt2 * k1[j];
  ab_dsdt(y, k2);
  for (int j = 0; j < 5; j++)
    y[j] = y0[j] + dt2 * k2[j];
  ab_dsdt(y, k3);
  for (int j = 0; j < 5; j++)
    y[j] = y0[j] + dt * k3[j];
  ab_dsdt(y, k4);
  for (int j = 0; j < 4; j++)
    y[j] = y0[j] + dt / 6.0 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
  s[0] = ab_wrap(y[0], -BRL_PI, BRL_PI);
  s[1] = ab_wrap(y[1], -BRL_PI, BRL_PI);
  s[2] = ab_bound(y[2], -AB_MAX_VEL_1, AB_MAX_VEL_1);
  s[3] = ab_bound(y[3], -AB_MAX_VEL_2, AB_MAX_VEL_2);
  *terminated = -cos(s[0]) - cos(s[1] + s[0]) > 1.0;
  *reward = *terminated ? 0.0 : -1.0;
  ab_obs(s, obs);
}

const brl_env_def brl__env_acrobot = {
    .id = "Acrobot-v1",
    .state_dim = 4,
    .obs_dim = 6,
    .action_kind = BRL_SPACE_DISCRETE,
    .action_dim = 1,
    .n_actions = 3,
    .max_episode_steps = 500,
    .reset = ab_reset,
    .step = ab_step,
    .obs = ab_obs,
};
