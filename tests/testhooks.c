/* libboostrl_testhooks: the library plus its test hooks, exported for tests
 * that drive it through ctypes (tests/python/test_envs_gym.py replays
 * Gymnasium episodes by setting the native envs' internal state). Never
 * installed; the libraries that are export the API only. */
#include "boostrl.h"
#include "envs/env_state.h"

#define HOOK __attribute__((visibility("default")))

HOOK int brl_test_env_state_dim(const brl_env *e) {
  return brl__env_state_dim(e);
}

HOOK int brl_test_env_get_state(const brl_env *e, int i, double *state) {
  return brl__env_get_state(e, i, state);
}

HOOK int brl_test_env_set_state(brl_env *e, int i, const double *state,
                                int elapsed_steps) {
  return brl__env_set_state(e, i, state, elapsed_steps);
}
