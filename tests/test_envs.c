/* Tests of the native environments (brl_env_*): specs, errors, determinism,
 * auto-reset with final_obs, time-limit truncation, the state round trip and
 * golden transitions recorded from gymnasium 1.0.0. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "boostrl.h"
#include "envs/env_state.h"
#include "testlib.h"

#define MAXN 8 /* copies used by these tests */
#define MAXO 8 /* observation floats */

typedef struct step_out {
  float obs[MAXN * MAXO];
  float rew[MAXN];
  uint8_t term[MAXN];
  uint8_t trunc[MAXN];
  float final_obs[MAXN * MAXO];
} step_out;

/* Steps e and fills final_obs with a sentinel first, to see which rows the
 * step wrote. */
static int step(brl_env *e, const float *actions, step_out *o) {
  for (int k = 0; k < MAXN * MAXO; k++)
    o->final_obs[k] = -12345.0f;
  return brl_env_step(e, actions, o->obs, o->rew, o->term, o->trunc,
                      o->final_obs);
}

static int contains(const char *s, const char *sub) {
  return strstr(s, sub) != NULL;
}

static int obs_equal(const float *a, const float *b, int n) {
  for (int j = 0; j < n; j++)
    if (a[j] != b[j])
      return 0;
  return 1;
}

/* ------------------------------------------------------------ ids, specs */

static void test_ids_and_specs(void) {
  static const struct {
    const char *id;
    int obs_dim, kind, action_dim, n_actions, max_steps, state_dim;
    float low, high;
  } want[] = {
      {"CartPole-v1", 4, BRL_SPACE_DISCRETE, 1, 2, 500, 4, 0, 1},
      {"Acrobot-v1", 6, BRL_SPACE_DISCRETE, 1, 3, 500, 4, 0, 2},
      {"MountainCar-v0", 2, BRL_SPACE_DISCRETE, 1, 3, 200, 2, 0, 2},
      {"MountainCarContinuous-v0", 2, BRL_SPACE_BOX, 1, 0, 999, 2, -1, 1},
      {"Pendulum-v1", 3, BRL_SPACE_BOX, 1, 0, 200, 2, -2, 2},
  };
  const char *const *ids = brl_env_ids();
  int n = 0;
  CHECK(ids != NULL);
  while (ids && ids[n])
    n++;
  CHECK(n == 5);
  for (int k = 0; k < 5 && k < n; k++) {
    CHECK_MSG(strcmp(ids[k], want[k].id) == 0, "ids[%d] = %s", k, ids[k]);
    brl_env *e = NULL;
    brl_env_spec sp;
    CHECK_OK(brl_env_make(want[k].id, 3, 1, &e));
    if (!e)
      continue;
    CHECK_OK(brl_env_get_spec(e, &sp));
    CHECK(strcmp(sp.id, want[k].id) == 0);
    CHECK(sp.obs_dim == want[k].obs_dim);
    CHECK((int)sp.action_kind == want[k].kind);
    CHECK(sp.action_dim == want[k].action_dim);
    CHECK(sp.n_actions == want[k].n_actions);
    CHECK(sp.max_episode_steps == want[k].max_steps);
    CHECK(sp.action_low[0] == want[k].low);
    CHECK(sp.action_high[0] == want[k].high);
    CHECK(brl_env_n_envs(e) == 3);
    CHECK(brl__env_state_dim(e) == want[k].state_dim);
    brl_env_free(&e);
    CHECK(e == NULL);
  }
}

/* ---------------------------------------------------------------- errors */

static void test_errors(void) {
  brl_env *e = (brl_env *)&e; /* make must set it to NULL on failure */
  CHECK(brl_env_make("CartPole-v0", 1, 0, &e) == BRL_EINVAL);
  CHECK(e == NULL);
  const char *msg = brl_last_error();
  CHECK_MSG(contains(msg, "CartPole-v0") && contains(msg, "CartPole-v1") &&
                contains(msg, "Acrobot-v1") && contains(msg, "Pendulum-v1") &&
                contains(msg, "MountainCarContinuous-v0"),
            "message: %s", msg);
  CHECK(brl_env_make(NULL, 1, 0, &e) == BRL_EINVAL);
  CHECK(brl_env_make("CartPole-v1", 1, 0, NULL) == BRL_EINVAL);
  CHECK(brl_env_make("CartPole-v1", 0, 0, &e) == BRL_EINVAL);
  CHECK(e == NULL);
  CHECK_MSG(contains(brl_last_error(), "n_envs"), "%s", brl_last_error());
  CHECK(brl_env_make("CartPole-v1", -3, 0, &e) == BRL_EINVAL);
  CHECK(e == NULL);

  brl_env_free(NULL);
  brl_env_free(&e); /* e is NULL */
  CHECK(brl_env_n_envs(NULL) < 0);
  CHECK(brl__env_state_dim(NULL) < 0);
  brl_env_spec sp;
  CHECK(brl_env_get_spec(NULL, &sp) == BRL_EINVAL);

  step_out o;
  float act[MAXN] = {0};
  double st[8] = {0}, st2[8];

  /* CartPole: discrete actions */
  CHECK_OK(brl_env_make("CartPole-v1", 4, 5, &e));
  CHECK(brl_env_get_spec(e, NULL) == BRL_EINVAL);
  CHECK(step(e, act, &o) == BRL_ESTATE); /* never reset */
  CHECK_MSG(contains(brl_last_error(), "reset"), "%s", brl_last_error());
  CHECK(brl_env_reset(e, NULL) == BRL_EINVAL);
  CHECK_OK(brl_env_reset(e, o.obs));
  CHECK(brl_env_step(e, NULL, o.obs, o.rew, o.term, o.trunc, NULL) ==
        BRL_EINVAL);
  CHECK(brl_env_step(e, act, o.obs, NULL, o.term, o.trunc, NULL) == BRL_EINVAL);
  CHECK_OK(brl__env_get_state(e, 2, st));
  static const float bad[] = {2.0f, -1.0f, 0.5f, NAN, INFINITY};
  for (int k = 0; k < 5; k++) {
    float a[4] = {0, 1, bad[k], 0};
    CHECK(step(e, a, &o) == BRL_EINVAL);
    CHECK_MSG(contains(brl_last_error(), "env 2"), "%s", brl_last_error());
  }
  /* a failed step changed nothing */
  CHECK_OK(brl__env_get_state(e, 2, st2));
  CHECK(memcmp(st, st2, 4 * sizeof(double)) == 0);

  /* state get / set errors */
  CHECK(brl__env_get_state(e, 4, st) == BRL_EINVAL);
  CHECK(brl__env_get_state(e, -1, st) == BRL_EINVAL);
  CHECK(brl__env_get_state(e, 0, NULL) == BRL_EINVAL);
  CHECK(brl__env_set_state(e, 4, st, 0) == BRL_EINVAL);
  CHECK(brl__env_set_state(e, 0, NULL, 0) == BRL_EINVAL);
  CHECK(brl__env_set_state(e, 0, st, -1) == BRL_EINVAL);
  CHECK(brl__env_set_state(e, 0, st, 500) == BRL_EINVAL);
  CHECK_MSG(contains(brl_last_error(), "elapsed_steps"), "%s",
            brl_last_error());
  st2[0] = 0.0;
  st2[1] = NAN;
  CHECK(brl__env_set_state(e, 1, st2, 0) == BRL_EINVAL);
  st2[1] = INFINITY;
  CHECK(brl__env_set_state(e, 1, st2, 0) == BRL_EINVAL);
  brl_env_free(&e);

  /* Pendulum: box actions, NaN is rejected, infinities are clipped */
  CHECK_OK(brl_env_make("Pendulum-v1", 3, 5, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  float pa[3] = {0.0f, 0.0f, NAN};
  CHECK(step(e, pa, &o) == BRL_EINVAL);
  CHECK_MSG(contains(brl_last_error(), "env 2") &&
                contains(brl_last_error(), "NaN"),
            "%s", brl_last_error());
  pa[2] = INFINITY;
  CHECK_OK(step(e, pa, &o));
  brl_env_free(&e);

  /* set_state makes a never-reset copy steppable; others still are not */
  CHECK_OK(brl_env_make("MountainCar-v0", 2, 5, &e));
  double mc[2] = {-0.5, 0.0};
  CHECK_OK(brl__env_set_state(e, 0, mc, 0));
  CHECK(step(e, act, &o) == BRL_ESTATE);
  CHECK_MSG(contains(brl_last_error(), "env 1"), "%s", brl_last_error());
  CHECK_OK(brl__env_set_state(e, 1, mc, 0));
  CHECK_OK(step(e, act, &o));
  brl_env_free(&e);
}

/* ----------------------------------------------------------- determinism */

/* Runs n_steps of env id with n copies and a fixed action pattern, and
 * returns a checksum-free copy of all observations in out. */
static int rollout(const char *id, int n, uint64_t seed, int n_steps,
                   float *out, int out_cap) {
  brl_env *e = NULL;
  brl_env_spec sp;
  step_out o;
  int w = 0;
  if (brl_env_make(id, n, seed, &e) != BRL_OK)
    return -1;
  brl_env_get_spec(e, &sp);
  brl_env_reset(e, o.obs);
  for (int k = 0; k < n * sp.obs_dim && w < out_cap; k++)
    out[w++] = o.obs[k];
  for (int t = 0; t < n_steps; t++) {
    float act[MAXN];
    for (int i = 0; i < n; i++)
      act[i] = sp.action_kind == BRL_SPACE_DISCRETE
                   ? (float)((t * 7 + i * 3) % sp.n_actions)
                   : sp.action_low[0] + (sp.action_high[0] - sp.action_low[0]) *
                                            (float)((t * 5 + i) % 11) / 10.0f;
    if (step(e, act, &o) != BRL_OK) {
      brl_env_free(&e);
      return -1;
    }
    for (int k = 0; k < n * sp.obs_dim && w < out_cap; k++)
      out[w++] = o.obs[k];
    for (int i = 0; i < n && w < out_cap; i++)
      out[w++] = o.rew[i] + 2.0f * o.term[i] + 4.0f * o.trunc[i];
  }
  brl_env_free(&e);
  return w;
}

static void test_determinism(void) {
  static float a[20000], b[20000];
  const char *const *ids = brl_env_ids();
  for (int k = 0; ids[k]; k++) {
    int na = rollout(ids[k], 3, 42, 600, a, 20000);
    int nb = rollout(ids[k], 3, 42, 600, b, 20000);
    CHECK_MSG(na > 0 && na == nb && memcmp(a, b, (size_t)na * 4) == 0,
              "%s is not deterministic for a seed", ids[k]);
    /* a different seed gives different first observations */
    nb = rollout(ids[k], 3, 43, 0, b, 20000);
    CHECK_MSG(nb > 0 && memcmp(a, b, (size_t)nb * 4) != 0,
              "%s: seeds 42 and 43 start the same", ids[k]);
    /* copies of one env differ from each other */
    brl_env *e = NULL;
    brl_env_spec sp;
    step_out o;
    CHECK_OK(brl_env_make(ids[k], 2, 42, &e));
    if (!e)
      continue;
    brl_env_get_spec(e, &sp);
    CHECK_OK(brl_env_reset(e, o.obs));
    CHECK_MSG(!obs_equal(o.obs, o.obs + sp.obs_dim, sp.obs_dim),
              "%s: copies 0 and 1 start the same", ids[k]);
    /* copy 0 does not depend on n_envs */
    CHECK(obs_equal(o.obs, a, sp.obs_dim));
    brl_env_free(&e);
  }
}

/* --------------------------------------------------------- reset ranges */

static void test_reset_ranges(void) {
  brl_env *e = NULL;
  float obs[MAXN * MAXO];
  double s[4];
  int ok = 1;
  CHECK_OK(brl_env_make("CartPole-v1", 8, 3, &e));
  for (int r = 0; r < 20; r++) {
    CHECK_OK(brl_env_reset(e, obs));
    for (int k = 0; k < 8 * 4; k++)
      ok &= fabsf(obs[k]) <= 0.05f;
    CHECK_OK(brl__env_get_state(e, 7, s));
    for (int j = 0; j < 4; j++)
      ok &= obs[7 * 4 + j] == (float)s[j];
  }
  CHECK_MSG(ok, "CartPole reset outside [-0.05, 0.05] or obs != state");
  brl_env_free(&e);

  ok = 1;
  CHECK_OK(brl_env_make("MountainCar-v0", 8, 3, &e));
  for (int r = 0; r < 20; r++) {
    CHECK_OK(brl_env_reset(e, obs));
    for (int i = 0; i < 8; i++)
      ok &= obs[2 * i] >= -0.6f && obs[2 * i] <= -0.4f && obs[2 * i + 1] == 0;
  }
  CHECK_MSG(ok, "MountainCar reset outside [-0.6, -0.4] x {0}");
  brl_env_free(&e);

  ok = 1;
  CHECK_OK(brl_env_make("Acrobot-v1", 8, 3, &e));
  for (int r = 0; r < 20; r++) {
    CHECK_OK(brl_env_reset(e, obs));
    CHECK_OK(brl__env_get_state(e, 3, s));
    for (int j = 0; j < 4; j++) /* drawn in float32, as Gymnasium does */
      ok &= fabs(s[j]) <= 0.1 && (double)(float)s[j] == s[j];
    ok &= obs[3 * 6 + 0] == (float)cos(s[0]) && obs[3 * 6 + 5] == (float)s[3];
  }
  CHECK_MSG(ok, "Acrobot reset outside [-0.1, 0.1] or not float32 values");
  brl_env_free(&e);

  ok = 1;
  CHECK_OK(brl_env_make("Pendulum-v1", 8, 3, &e));
  for (int r = 0; r < 20; r++) {
    CHECK_OK(brl_env_reset(e, obs));
    CHECK_OK(brl__env_get_state(e, 5, s));
    ok &= fabs(s[0]) <= 3.1415927 && fabs(s[1]) <= 1.0;
    ok &= obs[5 * 3 + 2] == (float)s[1] && obs[5 * 3 + 1] == (float)sin(s[0]);
  }
  CHECK_MSG(ok, "Pendulum reset outside [-pi, pi] x [-1, 1]");
  brl_env_free(&e);
}

/* ------------------------------------------------------------ auto-reset */

static void test_auto_reset(void) {
  brl_env *e = NULL;
  step_out o;
  double s[4];
  CHECK_OK(brl_env_make("CartPole-v1", 3, 9, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  /* copy 1 is about to leave the track: x = 2.39 + 0.02 * 1.0 > 2.4 */
  const double edge[4] = {2.39, 1.0, 0.0, 0.0};
  CHECK_OK(brl__env_set_state(e, 1, edge, 17));
  float act[3] = {0, 1, 1};
  CHECK_OK(step(e, act, &o));
  CHECK(o.term[1] == 1 && o.trunc[1] == 0);
  CHECK(o.term[0] == 0 && o.term[2] == 0);
  CHECK(o.rew[1] == 1.0f); /* Gymnasium pays the terminating step too */
  /* final_obs holds the state reached; other rows are not written */
  CHECK(o.final_obs[4 + 0] == (float)(2.39 + 0.02 * 1.0));
  CHECK(o.final_obs[4 + 2] == 0.0f);
  CHECK(o.final_obs[0] == -12345.0f && o.final_obs[8] == -12345.0f);
  /* obs holds a fresh episode, which is the copy's new state */
  CHECK_OK(brl__env_get_state(e, 1, s));
  for (int j = 0; j < 4; j++) {
    CHECK(fabs(s[j]) <= 0.05);
    CHECK(o.obs[4 + j] == (float)s[j]);
  }
  /* the fresh episode's clock restarted: balanced by a linear controller,
   * copy 1 runs 500 more steps and is then truncated, not terminated */
  int trunc_at = -1;
  for (int t = 1; t <= 500; t++) {
    const float *ob = o.obs + 4;
    float push = 0.1f * ob[0] + 0.5f * ob[1] + 10.0f * ob[2] + 2.0f * ob[3];
    act[0] = act[2] = 0;
    act[1] = push > 0 ? 1.0f : 0.0f;
    CHECK_OK(step(e, act, &o));
    if (o.trunc[1] || o.term[1]) {
      trunc_at = t;
      break;
    }
  }
  CHECK_MSG(trunc_at == 500 && o.trunc[1] && !o.term[1],
            "copy 1 ended after %d steps (term %d trunc %d), expected "
            "truncation after 500",
            trunc_at, o.term[1], o.trunc[1]);
  brl_env_free(&e);

  /* final_obs may be NULL */
  CHECK_OK(brl_env_make("CartPole-v1", 1, 9, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  CHECK_OK(brl__env_set_state(e, 0, edge, 0));
  CHECK_OK(brl_env_step(e, act, o.obs, o.rew, o.term, o.trunc, NULL));
  CHECK(o.term[0] == 1 && fabsf(o.obs[0]) <= 0.05f);
  brl_env_free(&e);

  /* MountainCar-v0 reaching the goal */
  CHECK_OK(brl_env_make("MountainCar-v0", 1, 9, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  const double goal[2] = {0.49, 0.05};
  CHECK_OK(brl__env_set_state(e, 0, goal, 0));
  act[0] = 2;
  CHECK_OK(step(e, act, &o));
  CHECK(o.term[0] == 1 && o.trunc[0] == 0 && o.rew[0] == -1.0f);
  CHECK(o.final_obs[0] >= 0.5f && o.final_obs[1] > 0.0f);
  CHECK(o.obs[0] <= -0.4f && o.obs[1] == 0.0f);
  brl_env_free(&e);
}

/* ------------------------------------------------------------ truncation */

/* Termination on the last step of the time limit: both flags, as
 * Gymnasium's TimeLimit gives (terminated=True, truncated=True). Copies of
 * MountainCar-v0 one step from the goal (x 0.49, v 0.05, pushing right)
 * with 198, 199 steps done, and one far from it with 199. */
static void test_terminated_at_time_limit(void) {
  brl_env *e = NULL;
  step_out o;
  const double near[2] = {0.49, 0.05}, far[2] = {-0.5, 0.0};
  float act[3] = {2, 2, 2};
  CHECK_OK(brl_env_make("MountainCar-v0", 3, 5, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  CHECK_OK(brl__env_set_state(e, 0, near, 198));
  CHECK_OK(brl__env_set_state(e, 1, near, 199));
  CHECK_OK(brl__env_set_state(e, 2, far, 199));
  CHECK_OK(step(e, act, &o));
  CHECK(o.term[0] == 1 && o.trunc[0] == 0); /* step 199 */
  CHECK(o.term[1] == 1 && o.trunc[1] == 1); /* step 200: both */
  CHECK(o.term[2] == 0 && o.trunc[2] == 1); /* step 200 */
  CHECK(o.rew[0] == -1.0f && o.rew[1] == -1.0f && o.rew[2] == -1.0f);
  /* every ended copy wrote final_obs (the goal state) and restarted */
  for (int i = 0; i < 3; i++)
    CHECK(o.final_obs[2 * i] != -12345.0f);
  CHECK(o.final_obs[0] >= 0.5f && o.final_obs[2] >= 0.5f);
  for (int i = 0; i < 3; i++)
    CHECK(o.obs[2 * i] >= -0.6f && o.obs[2 * i] <= -0.4f &&
          o.obs[2 * i + 1] == 0.0f);
  brl_env_free(&e);

  /* MountainCarContinuous: the goal's reward 100 - 0.1 a^2 is computed in
   * double and returned as the nearest float (Gymnasium: 99.9) */
  const double near_c[2] = {0.44, 0.05};
  float one = 1.0f;
  CHECK_OK(brl_env_make("MountainCarContinuous-v0", 1, 5, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  CHECK_OK(brl__env_set_state(e, 0, near_c, 998));
  CHECK_OK(step(e, &one, &o));
  CHECK(o.term[0] == 1 && o.trunc[0] == 1);
  CHECK_MSG(o.rew[0] == (float)99.9, "reward %.9g", (double)o.rew[0]);
  brl_env_free(&e);
}

static void test_truncation(void) {
  brl_env *e = NULL;
  step_out o;
  double s[2];
  const double st[2] = {1.0, 0.5};
  float act[2] = {0.3f, -0.3f};
  CHECK_OK(brl_env_make("Pendulum-v1", 2, 4, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  CHECK_OK(brl__env_set_state(e, 0, st, 198));
  CHECK_OK(brl__env_set_state(e, 1, st, 199));
  CHECK_OK(step(e, act, &o));
  CHECK(o.trunc[0] == 0 && o.term[0] == 0);
  CHECK(o.trunc[1] == 1 && o.term[1] == 0);
  CHECK(o.final_obs[0] == -12345.0f); /* copy 0 goes on */
  CHECK_OK(brl__env_get_state(e, 0, s));
  CHECK(o.obs[0] == (float)cos(s[0]) && o.obs[2] == (float)s[1]);
  /* copy 1: final_obs is the state reached from st, obs a fresh start */
  CHECK(o.final_obs[3 + 2] != -12345.0f);
  double thdot = 0.5 + (15.0 * sin(1.0) + (double)(3.0f * -0.3f)) * 0.05;
  CHECK_MSG(fabs(o.final_obs[3 + 2] - thdot) < 1e-6, "final thdot %.9g vs %.9g",
            o.final_obs[3 + 2], thdot);
  CHECK_OK(brl__env_get_state(e, 1, s));
  CHECK(fabs(s[1]) <= 1.0 && o.obs[3 + 2] == (float)s[1]);
  CHECK(o.obs[3 + 2] != o.final_obs[3 + 2]);
  CHECK_OK(step(e, act, &o));
  CHECK(o.trunc[0] == 1 && o.trunc[1] == 0);
  brl_env_free(&e);

  /* a whole Pendulum episode from reset is exactly 200 steps */
  CHECK_OK(brl_env_make("Pendulum-v1", 1, 4, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  int ended = 0;
  for (int t = 1; t <= 450 && ended < 2; t++) {
    act[0] = (float)sin(t * 0.1) * 3.0f;
    CHECK_OK(step(e, act, &o));
    CHECK(o.term[0] == 0);
    if (o.trunc[0]) {
      ended++;
      CHECK_MSG(t == 200 * ended, "truncated at step %d", t);
    }
  }
  CHECK(ended == 2);
  brl_env_free(&e);

  /* terminating on the last step of the time limit reports both flags, as
   * Gymnasium's TimeLimit does */
  CHECK_OK(brl_env_make("CartPole-v1", 1, 4, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  const double edge[4] = {2.39, 1.0, 0.0, 0.0};
  CHECK_OK(brl__env_set_state(e, 0, edge, 499));
  act[0] = 1;
  CHECK_OK(step(e, act, &o));
  CHECK(o.term[0] == 1 && o.trunc[0] == 1);
  brl_env_free(&e);
}

/* ----------------------------------------------------- state round trip */

/* Saved episodes continue exactly in another env of the same kind: the
 * same observations, rewards and ends (time limits, auto-resets and random
 * draws included) for 700 steps; wrong kinds and corrupt bytes fail. */
static void test_save_load(void) {
  const char *const *ids = brl_env_ids();
  for (int k = 0; ids[k]; k++) {
    brl_env *e = NULL, *f = NULL;
    CHECK_OK(brl_env_make(ids[k], 3, 5, &e));
    CHECK_OK(brl_env_make(ids[k], 3, 77, &f));
    if (!e || !f) {
      brl_env_free(&e);
      brl_env_free(&f);
      continue;
    }
    brl_env_spec sp;
    brl_env_get_spec(e, &sp);
    float obs[3 * 8], obs2[3 * 8], act[3 * 16], rew[3], rew2[3];
    uint8_t te[3], tr[3], te2[3], tr2[3];
    CHECK(brl_env_observe(e, obs) == BRL_ESTATE);
    CHECK_OK(brl_env_reset(e, obs));
    for (int j = 0; j < 3 * sp.action_dim; j++)
      act[j] = sp.action_kind == BRL_SPACE_DISCRETE ? (float)(j % 2) : 0.3f;
    for (int t = 0; t < 123; t++)
      CHECK_OK(brl_env_step(e, act, obs, rew, te, tr, NULL));
    void *buf = NULL;
    size_t len = 0;
    CHECK_OK(brl_env_save_buffer(e, &buf, &len));
    /* Through a file: the same bytes; a missing file names its path. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/brl_test_env_%d.brl", k);
    CHECK_OK(brl_env_save(e, path));
    CHECK_OK(brl_env_load(f, path));
    remove(path);
    CHECK(brl_env_load(f, path) == BRL_EIO);
    CHECK(strstr(brl_last_error(), path) != NULL);
    CHECK_OK(brl_env_load_buffer(f, buf, len));
    CHECK_OK(brl_env_observe(f, obs2));
    CHECK(!memcmp(obs, obs2, sizeof(float) * 3 * (size_t)sp.obs_dim));
    int same = 1;
    for (int t = 0; t < 700; t++) {
      CHECK_OK(brl_env_step(e, act, obs, rew, te, tr, NULL));
      CHECK_OK(brl_env_step(f, act, obs2, rew2, te2, tr2, NULL));
      same &= !memcmp(obs, obs2, sizeof(float) * 3 * (size_t)sp.obs_dim) &&
              !memcmp(rew, rew2, sizeof rew) && !memcmp(te, te2, 3) &&
              !memcmp(tr, tr2, 3);
    }
    CHECK_MSG(same, "%s diverged after loading", ids[k]);
    /* Another kind, another count, corrupt bytes: refused, f unchanged. */
    brl_env *g = NULL;
    CHECK_OK(brl_env_make(ids[k], 2, 5, &g));
    CHECK(brl_env_load_buffer(g, buf, len) == BRL_EINVAL);
    brl_env_free(&g);
    CHECK_OK(brl_env_make(ids[(k + 1) % 5], 3, 5, &g));
    CHECK(brl_env_load_buffer(g, buf, len) == BRL_EINVAL);
    brl_env_free(&g);
    ((uint8_t *)buf)[len / 2] ^= 0x10;
    CHECK(brl_env_load_buffer(f, buf, len) == BRL_EFORMAT);
    CHECK(brl_env_load_buffer(f, buf, 10) == BRL_EFORMAT);
    brl_free(buf);
    brl_env_free(&e);
    brl_env_free(&f);
  }
}

static void test_state_round_trip(void) {
  const char *const *ids = brl_env_ids();
  for (int k = 0; ids[k]; k++) {
    brl_env *e = NULL, *f = NULL;
    brl_env_spec sp;
    step_out o, p;
    double s[8], t[8];
    CHECK_OK(brl_env_make(ids[k], 2, 11, &e));
    CHECK_OK(brl_env_make(ids[k], 1, 999, &f));
    if (!e || !f) {
      brl_env_free(&e);
      brl_env_free(&f);
      continue;
    }
    brl_env_get_spec(e, &sp);
    int sd = brl__env_state_dim(e);
    CHECK_OK(brl_env_reset(e, o.obs));
    CHECK_OK(brl_env_reset(f, p.obs));
    float act[2] = {sp.action_kind == BRL_SPACE_DISCRETE ? 1.0f : 0.25f, 0.0f};
    for (int r = 0; r < 5; r++)
      CHECK_OK(step(e, act, &o));
    /* get -> set on another env -> get gives the same doubles */
    CHECK_OK(brl__env_get_state(e, 1, s));
    CHECK_OK(brl__env_set_state(f, 0, s, 5));
    CHECK_OK(brl__env_get_state(f, 0, t));
    CHECK(memcmp(s, t, (size_t)sd * sizeof(double)) == 0);
    /* and the two continue identically */
    int same = 1;
    for (int r = 0; r < 30; r++) {
      float a2[2] = {act[1], act[1]};
      CHECK_OK(step(e, a2, &o));
      CHECK_OK(step(f, a2, &p));
      same &= o.rew[1] == p.rew[0] && o.term[1] == p.term[0] &&
              o.trunc[1] == p.trunc[0];
      if (o.term[1] || o.trunc[1]) {
        /* fresh episodes differ (each copy has its own rng); the ended
         * ones agree */
        same &= obs_equal(o.final_obs + sp.obs_dim, p.final_obs, sp.obs_dim);
        break;
      }
      same &= obs_equal(o.obs + sp.obs_dim, p.obs, sp.obs_dim);
    }
    CHECK_MSG(same, "%s: env continued differently after set_state", ids[k]);
    /* set_state on one copy leaves the other alone */
    CHECK_OK(brl__env_get_state(e, 0, s));
    for (int j = 0; j < sd; j++)
      t[j] = 0.01 * (j + 1);
    CHECK_OK(brl__env_set_state(e, 1, t, 0));
    CHECK_OK(brl__env_get_state(e, 0, t));
    CHECK(memcmp(s, t, (size_t)sd * sizeof(double)) == 0);
    brl_env_free(&e);
    brl_env_free(&f);
  }
}

/* ------------------------------------------------------- box clipping */

static void test_box_clipping(void) {
  static const struct {
    const char *id;
    float hi;
  } boxes[] = {{"MountainCarContinuous-v0", 1.0f}, {"Pendulum-v1", 2.0f}};
  for (int k = 0; k < 2; k++) {
    brl_env *e = NULL;
    step_out o;
    CHECK_OK(brl_env_make(boxes[k].id, 4, 1, &e));
    CHECK_OK(brl_env_reset(e, o.obs));
    const double st[2] = {-0.5, 0.01};
    for (int i = 0; i < 4; i++)
      CHECK_OK(brl__env_set_state(e, i, st, 0));
    float hi = boxes[k].hi;
    float act[4] = {hi, 5.0f * hi, -hi, -INFINITY};
    CHECK_OK(step(e, act, &o));
    int d = k == 0 ? 2 : 3;
    CHECK(obs_equal(o.obs, o.obs + d, d) && o.rew[0] == o.rew[1]);
    CHECK(obs_equal(o.obs + 2 * d, o.obs + 3 * d, d) && o.rew[2] == o.rew[3]);
    CHECK(!obs_equal(o.obs, o.obs + 2 * d, d));
    brl_env_free(&e);
  }

  /* MountainCarContinuous: +100 at the goal minus 0.1 * a^2 of the clipped
   * action */
  brl_env *e = NULL;
  step_out o;
  CHECK_OK(brl_env_make("MountainCarContinuous-v0", 1, 1, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  const double goal[2] = {0.44, 0.05};
  CHECK_OK(brl__env_set_state(e, 0, goal, 0));
  float a = 3.0f;
  CHECK_OK(step(e, &a, &o));
  CHECK(o.term[0] == 1 && o.trunc[0] == 0);
  CHECK_MSG(o.rew[0] == (float)(100.0 - 0.1), "reward %.9g", o.rew[0]);
  brl_env_free(&e);
}

/* ---------------------------------------------- golden transitions */

/* Three steps from a fixed state, recorded with gymnasium 1.0.0 / numpy 2
 * (env.unwrapped.state = state; env.step(action), float32 box actions). The
 * native dynamics agree bit for bit. */
static void test_golden(void) {
  static const struct {
    const char *id;
    double state[4];
    float actions[3];
    float obs[3][6];
    float reward[3];
  } g[] = {
      {"CartPole-v1",
       {0.01, -0.2, 0.03, 0.4},
       {1, 0, 1},
       {{0.00600000005f, -0.005316169f, 0.0379999988f, 0.116924331f},
        {0.00589367654f, -0.200961396f, 0.0403384864f, 0.421349645f},
        {0.0018744485f, -0.00643350091f, 0.0487654805f, 0.141651452f}},
       {1, 1, 1}},
      {"Acrobot-v1",
       {0.5, -1.0, 1.5, -2.0},
       {0, 2, 1},
       {{0.744334936f, 0.667806506f, 0.282518148f, -0.959261954f, 0.779779613f,
         -0.828741729f},
        {0.708434999f, 0.705776036f, 0.289289594f, -0.957241595f, -0.267152011f,
         0.89765358f},
        {0.805493116f, 0.592605114f, 0.580579937f, -0.814203262f, -1.21184003f,
         2.35785317f}},
       {-1, -1, -1}},
      {"MountainCar-v0",
       {-0.55, 0.01},
       {2, 0, 1},
       {{-0.538802207f, 0.0111978026f},
        {-0.528490424f, 0.0103117879f},
        {-0.518141925f, 0.0103484746f}},
       {-1, -1, -1}},
      {"MountainCarContinuous-v0",
       {-0.55, 0.01},
       {0.7f, -0.3f, 1.0f},
       {{-0.538752198f, 0.0112478025f},
        {-0.527840793f, 0.0109114144f},
        {-0.515397549f, 0.0124432286f}},
       {-0.0489999987f, -0.00900000054f, -0.100000001f}},
      {"Pendulum-v1",
       {2.5, -1.5},
       {1.25f, -2.0f, 0.5f},
       {{-0.774561405f, 0.632498682f, -0.863645911f},
        {-0.752307594f, 0.658811986f, -0.689271867f},
        {-0.748335838f, 0.663320065f, -0.120162852f}},
       {-6.4765625f, -6.11454153f, -5.91555882f}},
  };
  for (int k = 0; k < 5; k++) {
    brl_env *e = NULL;
    brl_env_spec sp;
    step_out o;
    CHECK_OK(brl_env_make(g[k].id, 1, 0, &e));
    if (!e)
      continue;
    brl_env_get_spec(e, &sp);
    CHECK_OK(brl_env_reset(e, o.obs));
    CHECK_OK(brl__env_set_state(e, 0, g[k].state, 0));
    for (int t = 0; t < 3; t++) {
      CHECK_OK(step(e, &g[k].actions[t], &o));
      CHECK_MSG(obs_equal(o.obs, g[k].obs[t], sp.obs_dim) &&
                    o.rew[0] == g[k].reward[t] && !o.term[0] && !o.trunc[0],
                "%s step %d: obs[0] %.9g (want %.9g) reward %.9g (want %.9g)",
                g[k].id, t, o.obs[0], g[k].obs[t][0], o.rew[0], g[k].reward[t]);
    }
    brl_env_free(&e);
  }
}

/* One step from a state, with the float64 state Gymnasium 1.0.0 reaches
 * (env.unwrapped.state after env.step), compared bit for bit. The Acrobot
 * case needs libm's pow() for Python's `x ** 2` (x * x differs there). */
static void test_golden_states(void) {
  static const struct {
    const char *id;
    double state[4];
    float action;
    double next[4];
  } g[] = {
      {"CartPole-v1",
       {0.01, -0.2, 0.03, 0.4},
       1,
       {0.006, -0.005316169155413664, 0.038, 0.11692433252290102}},
      {"Acrobot-v1",
       {-2.59, 1.64, -1.09, 0.02},
       0,
       {-2.7329150704407956, 1.6154829762575595, -0.3738122268007651,
        -0.20701722524317892}},
      {"MountainCar-v0",
       {-0.55, 0.01},
       2,
       {-0.5388021977779832, 0.011197802222016835}},
      {"MountainCarContinuous-v0",
       {-0.55, 0.01},
       0.7f,
       {-0.5387521982192993, 0.011247802525758743}},
      {"Pendulum-v1",
       {2.5, -1.5},
       1.25f,
       {2.4568177054038984, -0.8636458919220326}},
  };
  for (int k = 0; k < 5; k++) {
    brl_env *e = NULL;
    step_out o;
    double s[4] = {0};
    CHECK_OK(brl_env_make(g[k].id, 1, 0, &e));
    if (!e)
      continue;
    int sd = brl__env_state_dim(e);
    CHECK_OK(brl_env_reset(e, o.obs));
    CHECK_OK(brl__env_set_state(e, 0, g[k].state, 0));
    CHECK_OK(step(e, &g[k].action, &o));
    CHECK_OK(brl__env_get_state(e, 0, s));
    for (int j = 0; j < sd; j++)
      CHECK_MSG(s[j] == g[k].next[j], "%s state[%d] = %.17g, want %.17g",
                g[k].id, j, s[j], g[k].next[j]);
    brl_env_free(&e);
  }
}

/* ----------------------------------------- Acrobot wrap and bounds */

static void test_acrobot_bounds(void) {
  brl_env *e = NULL;
  step_out o;
  double s[4];
  CHECK_OK(brl_env_make("Acrobot-v1", 1, 0, &e));
  CHECK_OK(brl_env_reset(e, o.obs));
  /* angles far outside [-pi, pi] and velocities beyond their bounds */
  const double wild[4] = {1e9, -77.0, 100.0, -100.0};
  CHECK_OK(brl__env_set_state(e, 0, wild, 0));
  float a = 2;
  CHECK_OK(step(e, &a, &o));
  CHECK_OK(brl__env_get_state(e, 0, s));
  const float *row = o.term[0] ? o.final_obs : o.obs;
  CHECK(fabsf(row[4]) <= (float)(4 * 3.141592653589793));
  CHECK(fabsf(row[5]) <= (float)(9 * 3.141592653589793));
  if (!o.term[0]) {
    CHECK(s[0] >= -3.141592653589793 && s[0] <= 3.141592653589793);
    CHECK(s[1] >= -3.141592653589793 && s[1] <= 3.141592653589793);
    CHECK(fabs(s[2]) <= 4 * 3.141592653589793);
    CHECK(fabs(s[3]) <= 9 * 3.141592653589793);
  }
  /* termination: the tip above the bar, -cos(t1) - cos(t1 + t2) > 1 */
  const double up[4] = {3.0, 0.0, 0.0, 0.0};
  CHECK_OK(brl__env_set_state(e, 0, up, 0));
  CHECK_OK(step(e, &a, &o));
  CHECK(o.term[0] == 1 && o.rew[0] == 0.0f);
  brl_env_free(&e);
}

int main(void) {
  test_ids_and_specs();
  test_errors();
  test_determinism();
  test_reset_ranges();
  test_auto_reset();
  test_truncation();
  test_terminated_at_time_limit();
  test_state_round_trip();
  test_save_load();
  test_box_clipping();
  test_golden();
  test_golden_states();
  test_acrobot_bounds();
  return brl_test_report("test_envs");
}
