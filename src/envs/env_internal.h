/* Internal interface of the native environments: each environment fills one
 * brl_env_def (its spec and a table of functions on one copy's state); the
 * generic vector env in env.c does the rest (time limit, auto-reset,
 * validation of actions, errors). */
#ifndef BRL_ENVS_ENV_INTERNAL_H
#define BRL_ENVS_ENV_INTERNAL_H

#include <float.h>
#include <math.h>

#include "boostrl.h"
#include "core/rng.h"

#define BRL_ENV_MAX_STATE 8

/* math.pi / numpy.pi (M_PI is not part of C11). */
#define BRL_PI 3.141592653589793

typedef struct brl_env_def {
  const char *id;
  int state_dim; /* doubles of internal state (<= BRL_ENV_MAX_STATE) */
  int obs_dim;
  brl_space_kind action_kind;
  int action_dim;
  int n_actions; /* discrete only */
  int max_episode_steps;
  float action_low[BRL_MAX_ACTION_DIM]; /* box only */
  float action_high[BRL_MAX_ACTION_DIM];
  /* Draws a fresh initial state. */
  void (*reset)(double *state, brl_rng *rng);
  /* One transition in place. `action` is valid: a discrete action is an
   * integer-valued float in [0, n_actions), a box action is clipped. */
  void (*step)(double *state, const float *action, float *obs, double *reward,
               int *terminated);
  /* The observation of a state. */
  void (*obs)(const double *state, float *obs);
} brl_env_def;

/* The generic vector env over one brl_env_def (env.c; saved by env_io.c). */
struct brl_env {
  const brl_env_def *def;
  int n_envs;
  double *state;    /* n_envs x def->state_dim */
  brl_rng *rng;     /* n_envs */
  int *elapsed;     /* steps taken in the current episode, per copy */
  uint8_t *started; /* 1 once the copy was reset or had its state set */
};

extern const brl_env_def brl__env_cartpole;
extern const brl_env_def brl__env_acrobot;
extern const brl_env_def brl__env_mountain_car;
extern const brl_env_def brl__env_mountain_car_continuous;
extern const brl_env_def brl__env_pendulum;

/* numpy's float64 -> float32 cast (saturating to +-inf instead of the
 * undefined behaviour of an out-of-range C conversion). */
static inline float brl__f32(double x) {
  /* Smallest double that rounds to infinity: FLT_MAX + half an ulp. */
  const double lim = 3.4028235677973366e38;
  if (x >= lim)
    return INFINITY;
  if (x <= -lim)
    return -INFINITY;
  return (float)x;
}

/* Python's `x ** 2` on a float64 calls libm's pow(), which is not always
 * x * x rounded; the volatile exponent stops the compiler from folding
 * pow(x, 2.0) into x * x. */
static inline double brl__pow2(double x) {
  volatile double two = 2.0;
  return pow(x, two);
}

/* numpy's `x ** 2` on a float32 scalar (powf). */
static inline float brl__pow2f(float x) {
  volatile float two = 2.0f;
  return powf(x, two);
}

/* numpy's uniform(low, high): low + (high - low) * U[0, 1). */
static inline double brl__uniform(brl_rng *r, double low, double high) {
  return low + (high - low) * brl_rng_uniform(r);
}

#endif
