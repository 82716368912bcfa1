/* MountainCar-v0 and MountainCarContinuous-v0 with Gymnasium 1.0.0's
 * dynamics. Each expression keeps Python's evaluation order and numpy's
 * types so results agree bit for bit:
 *  - MountainCar-v0 keeps its state in float64.
 *  - MountainCarContinuous-v0 stores its state as float32 after every step,
 *    and the float32 action makes numpy 2 (NEP 50) compute parts of the step
 *    in float32; the first step of an episode starts from a float64 state.
 *    A state whose two values are both exactly representable as float32 is
 *    taken to be a float32 state (the float64 start state of an episode is
 *    one with probability about 2^-29). */
#include <math.h>

#include "envs/env_internal.h"

#define MC_MIN_POSITION -1.2
#define MC_MAX_POSITION 0.6
#define MC_MAX_SPEED 0.07

static void mc_obs(const double *s, float *obs) {
  obs[0] = brl__f32(s[0]);
  obs[1] = brl__f32(s[1]);
}

static void mc_reset(double *s, brl_rng *rng) {
  s[0] = brl__uniform(rng, -0.6, -0.4);
  s[1] = 0.0;
}

/* np.clip(x, lo, hi) on a float64 */
static double mc_clip(double x, double lo, double hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

/* ------------------------------------------------------- MountainCar-v0 */

static void mc_step(double *s, const float *action, float *obs, double *reward,
                    int *terminated) {
  const double force = 0.001, gravity = 0.0025;
  const double goal_position = 0.5, goal_velocity = 0;
  double position = s[0], velocity = s[1];
  int a = (int)action[0];
  velocity += (a - 1) * force + cos(3 * position) * (-gravity);
  velocity = mc_clip(velocity, -MC_MAX_SPEED, MC_MAX_SPEED);
  position += velocity;
  position = mc_clip(position, MC_MIN_POSITION, MC_MAX_POSITION);
  if (position == MC_MIN_POSITION && velocity < 0)
    velocity = 0;
  *terminated = position >= goal_position && velocity >= goal_velocity;
  *reward = -1.0;
  s[0] = position;
  s[1] = velocity;
  mc_obs(s, obs);
}

const brl_env_def brl__env_mountain_car = {
    .id = "MountainCar-v0",
    .state_dim = 2,
    .obs_dim = 2,
    .action_kind = BRL_SPACE_DISCRETE,
    .action_dim = 1,
    .n_actions = 3,
    .max_episode_steps = 200,
    .reset = mc_reset,
    .step = mc_step,
    .obs = mc_obs,
};

/* -------------------------------------------- MountainCarContinuous-v0 */

static int is_f32(double x) {
  return fabs(x) <= FLT_MAX && (double)(float)x == x;
}

static void mcc_step(double *s, const float *action, float *obs, double *reward,
                     int *terminated) {
  /* action is already clipped to [-1, 1], so Gymnasium's
   * min(max(action[0], -1.0), 1.0) returns action[0] itself (a float32). */
  float force = action[0];
  float dv;
  int term;
  /* force * self.power - 0.0025 * math.cos(3 * position): float32 times a
   * Python float is float32; the difference with a Python float too. */
  float fp = force * 0.0015f;
  if (is_f32(s[0]) && is_f32(s[1])) {
    /* float32 state: the whole step is float32 arithmetic, and Python
     * float constants compare and combine as float32. */
    float position = (float)s[0], velocity = (float)s[1];
    dv = fp - (float)(0.0025 * cos((double)(3.0f * position)));
    velocity += dv;
    if (velocity > (float)MC_MAX_SPEED)
      velocity = (float)MC_MAX_SPEED;
    if (velocity < (float)-MC_MAX_SPEED)
      velocity = (float)-MC_MAX_SPEED;
    position += velocity;
    if (position > (float)MC_MAX_POSITION)
      position = (float)MC_MAX_POSITION;
    if (position < (float)MC_MIN_POSITION)
      position = (float)MC_MIN_POSITION;
    if (position == (float)MC_MIN_POSITION && velocity < 0)
      velocity = 0;
    term = position >= 0.45f && velocity >= 0;
    s[0] = position;
    s[1] = velocity;
  } else {
    /* float64 state (start of an episode): float64 arithmetic, except the
     * float32 velocity change. */
    double position = s[0], velocity = s[1];
    dv = fp - brl__f32(0.0025 * cos(3 * position));
    velocity += (double)dv;
    if (velocity > MC_MAX_SPEED)
      velocity = MC_MAX_SPEED;
    if (velocity < -MC_MAX_SPEED)
      velocity = -MC_MAX_SPEED;
    position += velocity;
    if (position > MC_MAX_POSITION)
      position = MC_MAX_POSITION;
    if (position < MC_MIN_POSITION)
      position = MC_MIN_POSITION;
    if (position == MC_MIN_POSITION && velocity < 0)
      velocity = 0;
    term = position >= 0.45 && velocity >= 0;
    /* self.state = np.array([position, velocity], dtype=np.float32) */
    s[0] = (double)brl__f32(position);
    s[1] = (double)brl__f32(velocity);
  }
  *terminated = term;
  /* reward = 100.0 if terminated, minus math.pow(action[0], 2) * 0.1 */
  *reward = (term ? 100.0 : 0.0) - brl__pow2((double)force) * 0.1;
  mc_obs(s, obs);
}

const brl_env_def brl__env_mountain_car_continuous = {
    .id = "MountainCarContinuous-v0",
    .state_dim = 2,
    .obs_dim = 2,
    .action_kind = BRL_SPACE_BOX,
    .action_dim = 1,
    .max_episode_steps = 999,
    .action_low = {-1.0f},
    .action_high = {1.0f},
    .reset = mc_reset,
    .step = mcc_step,
    .obs = mc_obs,
};
