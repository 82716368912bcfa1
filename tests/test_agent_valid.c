/* Rows that are no transition (brl_agent_observe_valid): the step of a
 * next-step autoreset vector env that only resets. An agent fed such a
 * stream (an invalid row after every episode end) must learn exactly what
 * an agent fed the same transitions without those rows learns, and count
 * the same episodes; what an invalid row holds must not matter. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "core/rng.h"
#include "testlib.h"

#define OBS_DIM 3
#define T 8 /* steps per rollout of the agent without invalid rows */

/* A toy episodic env of one copy: x drifts with the action; episodes last
 * 4 steps, then 8 each (so a rollout of T transitions holds one episode
 * end); they alternately terminate and are truncated. */
typedef struct {
  brl_rng rng;
  float x;
  int k, episode;
} toy;

static int toy_len(const toy *t) { return t->episode == 0 ? 4 : 8; }

static void toy_obs(const toy *t, float *o) {
  o[0] = t->x;
  o[1] = (float)t->k / 8.0f;
  o[2] = (float)(t->episode % 3);
}

static void toy_reset(toy *t, float *o) {
  t->x = (float)(brl_rng_normal(&t->rng) * 0.5);
  t->k = 0;
  toy_obs(t, o);
}

/* Steps with action a: reward, and whether the episode terminated or was
 * truncated; o gets the observation after the step (the final one when the
 * episode ended). */
static float toy_step(toy *t, const float *a, int box, float *o, uint8_t *te,
                      uint8_t *tr) {
  const float push = box ? a[0] : (a[0] > 0.5f ? 0.3f : -0.2f);
  t->x += push + (float)(brl_rng_normal(&t->rng) * 0.1);
  t->k++;
  const float r = t->x > 0.0f ? 1.0f : -0.5f * t->x;
  const int end = t->k >= toy_len(t);
  *te = (uint8_t)(end && t->episode % 2 == 0);
  *tr = (uint8_t)(end && t->episode % 2 == 1);
  toy_obs(t, o);
  if (end)
    t->episode++;
  return r;
}

static int make(brl_algo algo, int n_steps, int box, const char *const *sets,
                brl_agent **a) {
  brl_agent_config c;
  brl_agent_config_default(&c, algo);
  char ns[16];
  snprintf(ns, sizeof ns, "%d", n_steps);
  const int off = algo == BRL_ALGO_AWR || algo == BRL_ALGO_DQN;
  int rc = brl_agent_config_set(&c, "n_envs", "1");
  if (!rc)
    rc = brl_agent_config_set(&c, off ? "train_freq" : "n_steps", ns);
  if (!rc && !off)
    rc = brl_agent_config_set(&c, "batch_size", "4");
  if (!rc && off)
    rc = brl_agent_config_set(&c, "learning_starts", "0");
  if (!rc && off)
    rc = brl_agent_config_set(&c, "batch_size", "16");
  for (int i = 0; !rc && sets && sets[i]; i += 2)
    rc = brl_agent_config_set(&c, sets[i], sets[i + 1]);
  if (rc)
    return rc;
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = box ? BRL_SPACE_BOX : BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = 2;
  s.low[0] = -1.0f;
  s.high[0] = 1.0f;
  return brl_agent_create(&c, OBS_DIM, &s, 42, a);
}

/* How the reset-only step is fed. */
enum mode {
  SAME_STEP,       /* no row: the agent sees the next episode's first obs */
  NEXT_STEP,       /* an invalid row on the final observation */
  NEXT_STEP2,      /* the same with other garbage in the invalid row */
  NEXT_STEP_NOMASK /* the old way: a valid zero-reward truncated row */
};

/* Runs `updates` updates of agent a on the toy env. SAME_STEP draws the
 * action the other modes sample at their invalid row with brl_agent_act
 * (the same generator draws), so that every later action matches. */
static int run(brl_agent *a, enum mode m, int box, int updates,
               int64_t *true_episodes) {
  toy t;
  memset(&t, 0, sizeof t);
  brl_rng_seed(&t.rng, 5);
  float obs[OBS_DIM], fin[OBS_DIM], act[1];
  toy_reset(&t, obs);
  int done = 0, rc = BRL_OK;
  *true_episodes = 0;
  while (!rc && done < updates) {
    if ((rc = brl_agent_collect(a, obs, NULL, act, NULL, NULL)))
      break;
    uint8_t te, tr;
    float r = toy_step(&t, act, box, fin, &te, &tr);
    const int end = te || tr;
    if ((rc = brl_agent_observe(a, &r, &te, &tr, fin)))
      break;
    memcpy(obs, fin, sizeof obs);
    if (brl_agent_rollout_full(a)) {
      if ((rc = brl_agent_update(a, obs)))
        break;
      done++;
    }
    if (!end)
      continue;
    ++*true_episodes;
    if (m == SAME_STEP) {
      float burn[1];
      rc = brl_agent_act(a, fin, 1, NULL, 0, burn, NULL, NULL);
    } else {
      /* The reset-only step: the agent acts on the final observation. */
      if ((rc = brl_agent_collect(a, obs, NULL, act, NULL, NULL)))
        break;
      uint8_t no = 0, yes = 1, zero = 0;
      float garbage = m == NEXT_STEP2 ? 1e3f : 0.0f;
      float gobs[OBS_DIM] = {7.0f, -7.0f, 1.0f};
      if (m == NEXT_STEP_NOMASK)
        rc = brl_agent_observe(a, &garbage, &no, &yes, fin);
      else if (m == NEXT_STEP)
        rc = brl_agent_observe_valid(a, &garbage, &no, &yes, fin, &zero);
      else
        rc = brl_agent_observe_valid(a, &garbage, &yes, &no, gobs, &zero);
      if (rc)
        break;
      if (brl_agent_rollout_full(a)) {
        toy_reset(&t, obs);
        if ((rc = brl_agent_update(a, obs)))
          break;
        done++;
        continue;
      }
    }
    toy_reset(&t, obs);
  }
  return rc;
}

static int same_models(const brl_agent *a, const brl_agent *b) {
  for (int w = 0; w < 2; w++) {
    void *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    if (brl_model_save_buffer(brl_agent_model(a, w), &x, &nx) ||
        brl_model_save_buffer(brl_agent_model(b, w), &y, &ny))
      return -1;
    int same = nx == ny && memcmp(x, y, nx) == 0;
    brl_free(x);
    brl_free(y);
    if (!same)
      return 0;
  }
  return 1;
}

/* PPO and A2C: a rollout of T + 1 rows with one invalid row trains exactly
 * as a rollout of the T transitions alone, update after update (the
 * invalid row falls in the middle of the rollout). */
static void test_on_policy_equals_same_step(brl_algo algo, int box,
                                            const char *const *sets) {
  brl_agent *ref = NULL, *nxt = NULL, *old = NULL;
  int64_t ep_ref = 0, ep_nxt = 0, ep_old = 0;
  CHECK_OK(make(algo, T, box, sets, &ref));
  CHECK_OK(make(algo, T + 1, box, sets, &nxt));
  CHECK_OK(make(algo, T + 1, box, sets, &old));
  if (!ref || !nxt || !old)
    goto out;
  CHECK_OK(run(ref, SAME_STEP, box, 6, &ep_ref));
  CHECK_OK(run(nxt, NEXT_STEP, box, 6, &ep_nxt));
  CHECK_OK(run(old, NEXT_STEP_NOMASK, box, 6, &ep_old));
  CHECK(ep_ref == ep_nxt && ep_ref > 3);
  CHECK_MSG(brl_model_n_trees(brl_agent_model(ref, 0)) > 0, "no trees");
  CHECK_MSG(same_models(ref, nxt) == 1,
            "%s: invalid rows changed the model (%d trees vs %d)",
            brl_algo_name(algo), brl_model_n_trees(brl_agent_model(ref, 0)),
            brl_model_n_trees(brl_agent_model(nxt, 0)));
  /* The comparison can fail: as valid rows, the same steps change it. */
  CHECK(same_models(ref, old) == 0);
  brl_agent_stats sr, sn, so;
  CHECK_OK(brl_agent_get_stats(ref, &sr));
  CHECK_OK(brl_agent_get_stats(nxt, &sn));
  CHECK_OK(brl_agent_get_stats(old, &so));
  /* Episodes: the true count. */
  CHECK_MSG(sn.episodes == sr.episodes && sn.episodes == ep_nxt,
            "episodes %lld vs %lld (true %lld)", (long long)sn.episodes,
            (long long)sr.episodes, (long long)ep_nxt);
  CHECK(sn.ep_return_mean == sr.ep_return_mean);
  CHECK(sn.ep_length_mean == sr.ep_length_mean);
  CHECK(sn.ep_length_mean > 4.0);
  CHECK(so.episodes > sr.episodes); /* reset steps counted as episodes */
  CHECK(sn.explained_variance == sr.explained_variance ||
        (isnan(sn.explained_variance) && isnan(sr.explained_variance)));
out:
  brl_agent_free(&ref);
  brl_agent_free(&nxt);
  brl_agent_free(&old);
}

/* Every algorithm: what an invalid row holds (reward, flags, final
 * observation) changes nothing, and it ends no episode. */
static void test_invalid_content_ignored(brl_algo algo, int box) {
  brl_agent *a = NULL, *b = NULL, *c = NULL;
  int64_t ea = 0, eb = 0, ec = 0;
  CHECK_OK(make(algo, T + 1, box, NULL, &a));
  CHECK_OK(make(algo, T + 1, box, NULL, &b));
  CHECK_OK(make(algo, T + 1, box, NULL, &c));
  if (!a || !b || !c)
    goto out;
  CHECK_OK(run(a, NEXT_STEP, box, 8, &ea));
  CHECK_OK(run(b, NEXT_STEP2, box, 8, &eb));
  CHECK_OK(run(c, NEXT_STEP_NOMASK, box, 8, &ec));
  CHECK(ea == eb);
  CHECK_MSG(same_models(a, b) == 1, "%s: the invalid rows' content mattered",
            brl_algo_name(algo));
  CHECK(same_models(a, c) == 0);
  brl_agent_stats sa, sc;
  CHECK_OK(brl_agent_get_stats(a, &sa));
  CHECK_OK(brl_agent_get_stats(c, &sc));
  /* The true count: no reset-only step is an episode. */
  CHECK_MSG(sa.episodes == ea, "%s: %lld episodes counted, %lld true",
            brl_algo_name(algo), (long long)sa.episodes, (long long)ea);
  CHECK(sa.ep_length_mean > 4.0);
  CHECK(sc.episodes > sa.episodes);
out:
  brl_agent_free(&a);
  brl_agent_free(&b);
  brl_agent_free(&c);
}

/* DQN on one-step episodes of reward 1, with a reset-only row after each
 * (stored in the replay buffer, never sampled): Q converges to 1. Trained
 * on, those rows (reward 0, ended) would pull it halfway down. */
static void test_replay_skips_invalid(int masked) {
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_DQN);
  const char *const sets[] = {
      "n_envs",     "1",  "train_freq",     "8", "learning_starts", "0",
      "batch_size", "32", "gradient_steps", "4", "policy_lr",       "0.3",
      NULL};
  for (int i = 0; sets[i]; i += 2)
    CHECK_OK(brl_agent_config_set(&c, sets[i], sets[i + 1]));
  brl_action_space sp;
  brl_action_space_default(&sp);
  sp.kind = BRL_SPACE_DISCRETE;
  sp.dim = 1;
  sp.nvec[0] = 2;
  brl_agent *a = NULL;
  CHECK_OK(brl_agent_create(&c, OBS_DIM, &sp, 3, &a));
  if (!a)
    return;
  brl_rng r;
  brl_rng_seed(&r, 9);
  float obs[OBS_DIM], act[1], one = 1.0f, zero_r = 0.0f;
  uint8_t yes = 1, no = 0, invalid = 0;
  for (int step = 0; step < 1600; step++) {
    for (int j = 0; j < OBS_DIM; j++)
      obs[j] = (float)brl_rng_below(&r, 4);
    const int reset_row = step % 2 == 1;
    CHECK_OK(brl_agent_collect(a, obs, NULL, act, NULL, NULL));
    if (!reset_row)
      CHECK_OK(brl_agent_observe(a, &one, &yes, &no, NULL));
    else if (masked)
      CHECK_OK(brl_agent_observe_valid(a, &zero_r, &no, &yes, obs, &invalid));
    else
      CHECK_OK(brl_agent_observe(a, &zero_r, &yes, &no, NULL));
    if (brl_agent_rollout_full(a))
      CHECK_OK(brl_agent_update(a, obs));
  }
  double q = 0.0;
  for (int i = 0; i < 64; i++) {
    float v, x[OBS_DIM];
    for (int j = 0; j < OBS_DIM; j++)
      x[j] = (float)brl_rng_below(&r, 4);
    CHECK_OK(brl_agent_act(a, x, 1, NULL, 1, act, NULL, &v));
    q += v / 64.0;
  }
  if (masked)
    CHECK_MSG(q > 0.9 && q < 1.1, "mean max Q %g, expected ~1", q);
  else
    CHECK_MSG(q < 0.8, "mean max Q %g: the test cannot tell", q);
  brl_agent_free(&a);
}

/* Invalid rows only: nothing to learn from, no error, no episode. */
static void test_all_invalid(void) {
  brl_agent *a = NULL;
  CHECK_OK(make(BRL_ALGO_PPO, 4, 0, NULL, &a));
  if (!a)
    return;
  float obs[OBS_DIM] = {0.1f, 0.2f, 0.0f}, act[1], r = 1.0f;
  uint8_t no = 0, zero = 0;
  for (int t = 0; t < 4; t++) {
    CHECK_OK(brl_agent_collect(a, obs, NULL, act, NULL, NULL));
    CHECK_OK(brl_agent_observe_valid(a, &r, &no, &no, NULL, &zero));
  }
  CHECK(brl_agent_rollout_full(a));
  CHECK_OK(brl_agent_update(a, obs));
  brl_agent_stats s;
  CHECK_OK(brl_agent_get_stats(a, &s));
  CHECK(s.episodes == 0 && s.trees_added == 0 && s.timesteps == 4);
  brl_agent_free(&a);
}

int main(void) {
  const char *const norm[] = {"normalize_reward", "true", "n_epochs", "3",
                              NULL};
  /* Constant rates: the progress of a schedule counts env steps, invalid
   * ones included, so the agent with them is further along. */
  const char *const tree_std[] = {
      "log_std_mode",   "tree", "shared_tree", "false",
      "log_std_lr_end", "0",    NULL};
  const char *const separate[] = {"shared_tree", "false", NULL};
  test_on_policy_equals_same_step(BRL_ALGO_PPO, 0, NULL);
  test_on_policy_equals_same_step(BRL_ALGO_PPO, 0, norm);
  test_on_policy_equals_same_step(BRL_ALGO_PPO, 0, separate);
  test_on_policy_equals_same_step(BRL_ALGO_PPO, 1, NULL);
  test_on_policy_equals_same_step(BRL_ALGO_PPO, 1, tree_std);
  test_on_policy_equals_same_step(BRL_ALGO_A2C, 0, norm);
  test_on_policy_equals_same_step(BRL_ALGO_A2C, 1, NULL);
  test_invalid_content_ignored(BRL_ALGO_PPO, 0);
  test_invalid_content_ignored(BRL_ALGO_AWR, 1);
  test_invalid_content_ignored(BRL_ALGO_DQN, 0);
  test_replay_skips_invalid(1);
  test_replay_skips_invalid(0);
  test_all_invalid();
  return brl_test_report("test_agent_valid");
}
