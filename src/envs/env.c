/* The generic vector environment: n_envs copies of one native environment
 * with a time limit and automatic reset in the same step (as
 * stable-baselines3's DummyVecEnv does). Each copy has its own rng, seeded
 * from (seed, index), so results do not depend on n_envs or on the order in
 * which copies are stepped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "envs/env_internal.h"
#include "envs/env_state.h"

static const brl_env_def *const env_defs[] = {
    &brl__env_cartpole,     &brl__env_acrobot,
    &brl__env_mountain_car, &brl__env_mountain_car_continuous,
    &brl__env_pendulum,
};
#define N_ENV_DEFS ((int)(sizeof env_defs / sizeof env_defs[0]))

static const char *const env_ids[] = {
    "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0",
    "Pendulum-v1", NULL,
};

const char *const *brl_env_ids(void) { return env_ids; }

/* The seed of copy i: two rounds of splitmix64 so that (seed, i) pairs do
 * not collide for nearby seeds and indices. */
static uint64_t copy_seed(uint64_t seed, int i) {
  uint64_t x = seed;
  uint64_t a = brl__splitmix64(&x);
  x = a ^ (0xD1B54A32D192ED03ull * ((uint64_t)i + 1));
  return brl__splitmix64(&x);
}

int brl_env_share(int n, int rank, int size, int *first, int *count) {
  BRL_CHECK_ARG(first);
  BRL_CHECK_ARG(count);
  if (size < 1 || rank < 0 || rank >= size || n < size)
    return brl__fail(BRL_EINVAL,
                     "brl_env_share: %d environments over rank %d of %d: "
                     "need 0 <= rank < size <= n (at least one environment "
                     "per rank)",
                     n, rank, size);
  const int base = n / size, rem = n % size;
  *first = rank * base + (rank < rem ? rank : rem);
  *count = base + (rank < rem ? 1 : 0);
  return BRL_OK;
}

int brl_env_make(const char *id, int n_envs, uint64_t seed, brl_env **out) {
  return brl_env_make_range(id, 0, n_envs, seed, out);
}

int brl_env_make_range(const char *id, int first, int n_envs, uint64_t seed,
                       brl_env **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(id);
  const brl_env_def *def = NULL;
  for (int k = 0; k < N_ENV_DEFS; k++)
    if (strcmp(env_defs[k]->id, id) == 0)
      def = env_defs[k];
  if (!def) {
    char list[256];
    size_t len = 0;
    list[0] = '\0';
    for (int k = 0; env_ids[k]; k++) {
      size_t n = strlen(env_ids[k]);
      if (len + n + 3 >= sizeof list)
        break;
      if (k > 0) {
        memcpy(list + len, ", ", 2);
        len += 2;
      }
      memcpy(list + len, env_ids[k], n + 1);
      len += n;
    }
    return brl__fail(
        BRL_EINVAL, "unknown environment id '%.64s' (valid ids: %s)", id, list);
  }
  if (n_envs < 1)
    return brl__fail(BRL_EINVAL,
                     "brl_env_make: n_envs is %d for %s; it must be >= 1",
                     n_envs, def->id);
  if (first < 0 || first > INT32_MAX - n_envs)
    return brl__fail(BRL_EINVAL,
                     "brl_env_make_range: first copy %d of %d copies of %s: "
                     "use 0 <= first, first + n_envs < 2^31",
                     first, n_envs, def->id);
  brl_env *e = calloc(1, sizeof *e);
  if (!e)
    return brl__fail(BRL_ENOMEM, "brl_env_make: out of memory");
  size_t n = (size_t)n_envs;
  e->def = def;
  e->n_envs = n_envs;
  e->state = calloc(n * (size_t)def->state_dim, sizeof *e->state);
  e->rng = calloc(n, sizeof *e->rng);
  e->elapsed = calloc(n, sizeof *e->elapsed);
  e->started = calloc(n, sizeof *e->started);
  if (!e->state || !e->rng || !e->elapsed || !e->started) {
    brl_env_free(&e);
    return brl__fail(BRL_ENOMEM,
                     "brl_env_make: out of memory for %d copies of %s", n_envs,
                     def->id);
  }
  for (int i = 0; i < n_envs; i++)
    brl_rng_seed(&e->rng[i], copy_seed(seed, first + i));
  *out = e;
  return BRL_OK;
}

void brl_env_free(brl_env **e) {
  if (!e || !*e)
    return;
  free((*e)->state);
  free((*e)->rng);
  free((*e)->elapsed);
  free((*e)->started);
  free(*e);
  *e = NULL;
}

int brl_env_get_spec(const brl_env *e, brl_env_spec *out) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(out);
  const brl_env_def *d = e->def;
  memset(out, 0, sizeof *out);
  out->id = d->id;
  out->obs_dim = d->obs_dim;
  out->action_kind = d->action_kind;
  out->action_dim = d->action_dim;
  out->max_episode_steps = d->max_episode_steps;
  if (d->action_kind == BRL_SPACE_DISCRETE) {
    out->n_actions = d->n_actions;
    out->action_low[0] = 0.0f;
    out->action_high[0] = (float)(d->n_actions - 1);
  } else {
    for (int j = 0; j < d->action_dim; j++) {
      out->action_low[j] = d->action_low[j];
      out->action_high[j] = d->action_high[j];
    }
  }
  return BRL_OK;
}

int brl_env_n_envs(const brl_env *e) {
  BRL_CHECK_ARG(e);
  return e->n_envs;
}

int brl__env_state_dim(const brl_env *e) {
  BRL_CHECK_ARG(e);
  return e->def->state_dim;
}

static void reset_copy(brl_env *e, int i, float *obs) {
  const brl_env_def *d = e->def;
  double *s = e->state + (size_t)i * (size_t)d->state_dim;
  d->reset(s, &e->rng[i]);
  e->elapsed[i] = 0;
  e->started[i] = 1;
  d->obs(s, obs);
}

int brl_env_reset(brl_env *e, float *obs) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(obs);
  size_t od = (size_t)e->def->obs_dim;
  for (int i = 0; i < e->n_envs; i++)
    reset_copy(e, i, obs + (size_t)i * od);
  return BRL_OK;
}

/* Checks every copy's action before any state changes, so a failing step
 * leaves the env as it was. */
static int check_actions(const brl_env *e, const float *actions) {
  const brl_env_def *d = e->def;
  size_t ad = (size_t)d->action_dim;
  for (int i = 0; i < e->n_envs; i++) {
    const float *a = actions + (size_t)i * ad;
    if (!e->started[i])
      return brl__fail(BRL_ESTATE,
                       "brl_env_step: env %d of %s was never reset; call "
                       "brl_env_reset() first",
                       i, d->id);
    if (d->action_kind == BRL_SPACE_DISCRETE) {
      float v = a[0];
      if (!(v >= 0.0f && v < (float)d->n_actions) || v != floorf(v))
        return brl__fail(BRL_EINVAL,
                         "brl_env_step: env %d: action %g is not a valid "
                         "action of %s (expected an integer 0..%d)",
                         i, (double)v, d->id, d->n_actions - 1);
    } else {
      for (size_t j = 0; j < ad; j++)
        if (isnan(a[j]))
          return brl__fail(BRL_EINVAL,
                           "brl_env_step: env %d: action[%d] of %s is NaN", i,
                           (int)j, d->id);
    }
  }
  return BRL_OK;
}

int brl_env_step(brl_env *e, const float *actions, float *obs, float *rewards,
                 uint8_t *terminated, uint8_t *truncated, float *final_obs) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(actions);
  BRL_CHECK_ARG(obs);
  BRL_CHECK_ARG(rewards);
  BRL_CHECK_ARG(terminated);
  BRL_CHECK_ARG(truncated);
  int rc = check_actions(e, actions);
  if (rc != BRL_OK)
    return rc;
  const brl_env_def *d = e->def;
  size_t ad = (size_t)d->action_dim, od = (size_t)d->obs_dim;
  size_t sd = (size_t)d->state_dim;
  for (int i = 0; i < e->n_envs; i++) {
    float a[BRL_MAX_ACTION_DIM];
    const float *ai = actions + (size_t)i * ad;
    float *oi = obs + (size_t)i * od;
    for (size_t j = 0; j < ad; j++) {
      a[j] = ai[j];
      if (d->action_kind == BRL_SPACE_BOX) {
        if (a[j] < d->action_low[j])
          a[j] = d->action_low[j];
        if (a[j] > d->action_high[j])
          a[j] = d->action_high[j];
      }
    }
    double reward = 0.0;
    int term = 0;
    d->step(e->state + (size_t)i * sd, a, oi, &reward, &term);
    e->elapsed[i]++;
    /* Gymnasium's TimeLimit: truncated once elapsed >= max_episode_steps,
     * also when the episode terminated on that same step (both then hold;
     * consumers give terminated precedence, as stable-baselines3's
     * TimeLimit.truncated = truncated and not terminated does). The reward
     * is computed in double, as Gymnasium does, and returned as the API's
     * float. */
    int trunc = e->elapsed[i] >= d->max_episode_steps;
    rewards[i] = brl__f32(reward);
    terminated[i] = (uint8_t)term;
    truncated[i] = (uint8_t)trunc;
    if (term || trunc) {
      if (final_obs)
        memcpy(final_obs + (size_t)i * od, oi, od * sizeof *oi);
      reset_copy(e, i, oi);
    }
  }
  return BRL_OK;
}

int brl__env_get_state(const brl_env *e, int i, double *state) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(state);
  if (i < 0 || i >= e->n_envs)
    return brl__fail(BRL_EINVAL,
                     "brl__env_get_state: env index %d is out of range "
                     "[0, %d)",
                     i, e->n_envs);
  size_t sd = (size_t)e->def->state_dim;
  memcpy(state, e->state + (size_t)i * sd, sd * sizeof *state);
  return BRL_OK;
}

int brl__env_set_state(brl_env *e, int i, const double *state,
                       int elapsed_steps) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(state);
  const brl_env_def *d = e->def;
  if (i < 0 || i >= e->n_envs)
    return brl__fail(BRL_EINVAL,
                     "brl__env_set_state: env index %d is out of range "
                     "[0, %d)",
                     i, e->n_envs);
  if (elapsed_steps < 0 || elapsed_steps >= d->max_episode_steps)
    return brl__fail(BRL_EINVAL,
                     "brl__env_set_state: elapsed_steps is %d; it must be in "
                     "[0, %d) for %s",
                     elapsed_steps, d->max_episode_steps, d->id);
  for (int j = 0; j < d->state_dim; j++)
    if (!isfinite(state[j]))
      return brl__fail(BRL_EINVAL,
                       "brl__env_set_state: env %d: state[%d] of %s is not "
                       "finite",
                       i, j, d->id);
  size_t sd = (size_t)d->state_dim;
  memcpy(e->state + (size_t)i * sd, state, sd * sizeof *state);
  e->elapsed[i] = elapsed_steps;
  e->started[i] = 1;
  return BRL_OK;
}
