/* A standalone CartPole-v1 controller: the native CartPole dynamics
 * (Gymnasium 1.0.0's equations, euler integrator, state in double,
 * observation cast to float) driven by a boostrl policy exported with
 * `boostrl export MODEL --format c --name policy`. Needs nothing but the
 * generated policy.h / policy.c and the C library.
 *
 * usage: cartpole [EPISODES [SEED]]   (defaults 100 and 0)
 * Prints the mean, min and max return; exits 0 when the mean is >= 475. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"

#define GRAVITY 9.8
#define MASSCART 1.0
#define MASSPOLE 0.1
#define LENGTH 0.5 /* half the pole's length */
#define FORCE_MAG 10.0
#define TAU 0.02
#define X_THRESHOLD 2.4
#define MAX_STEPS 500

/* splitmix64: a small seeded generator for the initial states. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi) {
  return lo +
         (hi - lo) * ((double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0));
}

/* One step; returns 1 when the episode terminates. */
static int step(double *s, int action) {
  const double total_mass = MASSPOLE + MASSCART;
  const double polemass_length = MASSPOLE * LENGTH;
  const double theta_threshold = 12 * 2 * 3.14159265358979323846 / 360;
  double x = s[0], x_dot = s[1], theta = s[2], theta_dot = s[3];
  double force = action == 1 ? FORCE_MAG : -FORCE_MAG;
  double costheta = cos(theta), sintheta = sin(theta);
  double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) /
                total_mass;
  double thetaacc =
      (GRAVITY * sintheta - costheta * temp) /
      (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / total_mass));
  double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
  s[0] = x + TAU * x_dot;
  s[1] = x_dot + TAU * xacc;
  s[2] = theta + TAU * theta_dot;
  s[3] = theta_dot + TAU * thetaacc;
  return s[0] < -X_THRESHOLD || s[0] > X_THRESHOLD || s[2] < -theta_threshold ||
         s[2] > theta_threshold;
}

int main(int argc, char **argv) {
  int episodes = argc > 1 ? atoi(argv[1]) : 100;
  uint64_t rng = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
  if (episodes < 1)
    episodes = 1;
  double sum = 0, lo = 1e9, hi = -1e9;
  for (int ep = 0; ep < episodes; ep++) {
    double s[4];
    for (int j = 0; j < 4; j++)
      s[j] = uniform(&rng, -0.05, 0.05);
    int ret = 0;
    for (int t = 0; t < MAX_STEPS; t++) {
      float obs[4];
      for (int j = 0; j < 4; j++)
        obs[j] = (float)s[j];
      int a = policy_act_discrete(obs, NULL);
      ret++;
      if (step(s, a))
        break;
    }
    sum += ret;
    lo = ret < lo ? ret : lo;
    hi = ret > hi ? ret : hi;
  }
  double mean = sum / episodes;
  printf("mean return %.2f over %d episodes (min %.0f, max %.0f)\n", mean,
         episodes, lo, hi);
  return mean >= 475 ? 0 : 1;
}
