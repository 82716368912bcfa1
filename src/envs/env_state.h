/* Test hooks of the native environments: the internal state of one copy,
 * read and written directly (the public way to save and restore episodes
 * is brl_env_save_buffer / brl_env_load_buffer). The tests compare the
 * dynamics with Gymnasium's through them: tests/test_envs.c, and
 * tests/python/test_envs_gym.py through the test library
 * libboostrl_testhooks (tests/testhooks.c). */
#ifndef BRL_ENVS_ENV_STATE_H
#define BRL_ENVS_ENV_STATE_H

#include "boostrl.h"

/* The internal state of copy i: brl__env_state_dim doubles, the values of
 * Gymnasium's env.unwrapped.state (CartPole: x, x_dot, theta, theta_dot).
 * brl__env_set_state puts a state into copy i as if elapsed_steps steps of
 * its episode had run (in [0, max_episode_steps), every value finite;
 * BRL_EINVAL otherwise); brl_env_observe then gives its observation. With
 * them a Gymnasium episode can be replayed exactly (DESIGN.md). */
int brl__env_state_dim(const brl_env *e);
int brl__env_get_state(const brl_env *e, int i, double *state);
int brl__env_set_state(brl_env *e, int i, const double *state,
                       int elapsed_steps);

#endif
