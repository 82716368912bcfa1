/* Agents: configuration by name and its errors, presets, save -> load ->
 * identical actions (every action space, shared and separate ensembles,
 * both log_std modes), exact resumption, thread-count independence, action
 * masks, state errors, evaluation, and a short PPO CartPole run that must
 * learn. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "testlib.h"

/* ------------------------------------------------------------ config */

static void test_config(void) {
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  CHECK_OK(brl_agent_config_check(&c));
  brl_agent_config_default(&c, BRL_ALGO_A2C);
  CHECK_OK(brl_agent_config_check(&c));

  /* Unknown key and bad values: BRL_EINVAL naming the key. */
  CHECK(brl_agent_config_set(&c, "n_env", "4") == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "n_env") != NULL);
  CHECK(brl_agent_config_set(&c, "n_envs", "abc") == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "n_envs") != NULL);
  CHECK(brl_agent_config_set(&c, "n_envs", "2.5") == BRL_EINVAL);
  CHECK(brl_agent_config_set(&c, "n_envs", "0") == BRL_EINVAL);
  CHECK(brl_agent_config_set(&c, "gamma", "1.5") == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "gamma") != NULL);
  CHECK(brl_agent_config_set(&c, "gamma", "nan") == BRL_EINVAL);
  CHECK(brl_agent_config_set(&c, "grow_policy", "round") == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "oblivious") != NULL);
  CHECK(brl_agent_config_set(&c, "shared_tree", "maybe") == BRL_EINVAL);
  CHECK(brl_agent_config_set(&c, "algo", "sac") == BRL_EINVAL);
  CHECK(brl_agent_config_set(&c, "max_depth", "13") == BRL_EINVAL);

  /* Good values. */
  CHECK_OK(brl_agent_config_set(&c, "algo", "PPO"));
  CHECK(c.algo == BRL_ALGO_PPO);
  CHECK_OK(brl_agent_config_set(&c, "n_envs", "4"));
  CHECK(c.n_envs == 4);
  CHECK_OK(brl_agent_config_set(&c, "gamma", "0.97"));
  CHECK(c.gamma == 0.97);
  CHECK_OK(brl_agent_config_set(&c, "shared_tree", "true"));
  CHECK(c.shared_tree == 1);
  CHECK_OK(brl_agent_config_set(&c, "grow_policy", "greedy"));
  CHECK(c.grow_policy == BRL_GROW_GREEDY);
  CHECK_OK(brl_agent_config_set(&c, "target_kl", "none"));
  CHECK(c.target_kl == 0.0);
  CHECK_OK(brl_agent_config_set(&c, "n_timesteps", "1e6"));
  CHECK(c.n_timesteps == 1000000);

  /* Every key reads back exactly what it wrote. */
  brl_agent_config d;
  brl_agent_config_preset(&d, "Pendulum-v1", BRL_ALGO_PPO, NULL);
  d.gamma = 0.1 + 0.2; /* a value with a long decimal expansion */
  brl_agent_config e;
  brl_agent_config_default(&e, BRL_ALGO_A2C);
  int n_keys = 0;
  for (const char *const *k = brl_agent_config_keys(); *k; k++, n_keys++) {
    char v[64];
    CHECK_OK(brl_agent_config_get(&d, *k, v, sizeof v));
    CHECK_OK(brl_agent_config_set(&e, *k, v));
    CHECK(brl_agent_config_key_help(*k) != NULL);
  }
  CHECK(n_keys > 30);
  CHECK(memcmp(&d, &e, sizeof d) == 0);
  CHECK(brl_agent_config_key_help("nope") == NULL);

  /* Cross-field checks. */
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  c.log_std_min = 1.0;
  c.log_std_max = 0.0;
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  c.n_steps = 0;
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "n_steps") != NULL);

  /* Presets. */
  int found = -1;
  CHECK_OK(brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_PPO, &found));
  CHECK(found == 1);
  CHECK_OK(brl_agent_config_preset(&c, "Acrobot-v1", BRL_ALGO_PPO, &found));
  CHECK(found == 1 && c.n_epochs == 20 && c.batch_size == 512);
  CHECK_OK(brl_agent_config_preset(&c, "Acrobot-v1", BRL_ALGO_A2C, &found));
  CHECK(found == 1 && c.n_envs == 4 && c.algo == BRL_ALGO_A2C);
  CHECK_OK(brl_agent_config_preset(&c, "MiniGrid-DoorKey-5x5-v0", BRL_ALGO_PPO,
                                   &found));
  CHECK(found == 1 && c.n_steps == 256);
  CHECK_OK(brl_agent_config_preset(&c, "Nope-v0", BRL_ALGO_PPO, &found));
  brl_agent_config_default(&d, BRL_ALGO_PPO);
  CHECK(found == 0 && memcmp(&c, &d, sizeof c) == 0);
  for (const char *const *id = brl_env_ids(); *id; id++) {
    CHECK_OK(brl_agent_config_preset(&c, *id, BRL_ALGO_PPO, &found));
    CHECK_MSG(found == 1, "no PPO preset for %s", *id);
  }

  brl_algo a;
  CHECK(brl_algo_parse("a2c", &a) == BRL_OK && a == BRL_ALGO_A2C);
  CHECK(brl_algo_parse("dqn", &a) == BRL_OK && a == BRL_ALGO_DQN);
  CHECK(brl_algo_parse("sac", &a) == BRL_EINVAL);
  CHECK(strcmp(brl_algo_name(BRL_ALGO_PPO), "ppo") == 0);
}

/* ---------------------------------------------- a deterministic test env */

/* A tiny env whose whole state is plain data, so a test can copy it: E
 * walkers on a line. Observation (x, v, k/10); discrete actions push left,
 * stay or right (3 actions) or a box action in [-1, 1]; reward -|x - 0.3|;
 * terminated when |x| > 1, truncated after 25 steps. Resets draw x from a
 * counter-based hash. */
#define TE_MAX 16
typedef struct test_env {
  int n, box, multi;
  double x[TE_MAX], v[TE_MAX];
  int k[TE_MAX];
  uint64_t resets;
} test_env;

static double hash01(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}

static void te_obs(const test_env *e, int i, float *o) {
  o[0] = (float)e->x[i];
  o[1] = (float)e->v[i];
  o[2] = (float)e->k[i] / 10.0f;
}

static void te_reset_one(test_env *e, int i) {
  e->x[i] = hash01(e->resets++) - 0.5;
  e->v[i] = 0.0;
  e->k[i] = 0;
}

static void te_init(test_env *e, int n, int box, int multi, float *obs) {
  memset(e, 0, sizeof *e);
  e->n = n;
  e->box = box;
  e->multi = multi;
  for (int i = 0; i < n; i++) {
    te_reset_one(e, i);
    te_obs(e, i, obs + 3 * i);
  }
}

static void te_step(test_env *e, const float *act, float *obs, float *rew,
                    uint8_t *term, uint8_t *trunc, float *fin) {
  const int ad = e->multi ? 2 : 1;
  for (int i = 0; i < e->n; i++) {
    double u = e->box ? act[i] : (double)act[i * ad] - 1.0;
    if (e->multi)
      u += 0.5 * ((double)act[i * ad + 1] - 1.0);
    e->v[i] = 0.8 * e->v[i] + 0.05 * u;
    e->x[i] += e->v[i];
    e->k[i]++;
    rew[i] = (float)-fabs(e->x[i] - 0.3);
    term[i] = fabs(e->x[i]) > 1.0;
    trunc[i] = !term[i] && e->k[i] >= 25;
    te_obs(e, i, obs + 3 * i);
    if (term[i] || trunc[i]) {
      memcpy(fin + 3 * i, obs + 3 * i, 3 * sizeof(float));
      te_reset_one(e, i);
      te_obs(e, i, obs + 3 * i);
    }
  }
}

typedef struct driver {
  test_env env;
  float obs[TE_MAX * 3], next[TE_MAX * 3], fin[TE_MAX * 3];
  float act[TE_MAX * 2], rew[TE_MAX];
  uint8_t term[TE_MAX], trunc[TE_MAX];
  uint8_t mask[TE_MAX * 6];
  int use_mask;
} driver;

static void mask_for(const driver *d, uint8_t *m) {
  /* Forbid "push right" in the first sub-space of even envs at even
   * steps. */
  for (int i = 0; i < d->env.n; i++)
    for (int j = 0; j < 6; j++)
      m[i * 6 + j] = !(j == 2 && i % 2 == 0 && d->env.k[i] % 2 == 0);
}

/* Runs rollouts of the agent against the driver's env. */
static int drive(brl_agent *a, driver *d, int rollouts) {
  for (int r = 0; r < rollouts; r++) {
    while (!brl_agent_rollout_full(a)) {
      if (d->use_mask)
        mask_for(d, d->mask);
      int rc = brl_agent_collect(a, d->obs, d->use_mask ? d->mask : NULL,
                                 d->act, NULL, NULL);
      if (rc)
        return rc;
      if (d->use_mask)
        for (int i = 0; i < d->env.n; i++)
          if (!d->mask[i * 6 + (int)d->act[i * 2]])
            return -100; /* a masked action was chosen */
      te_step(&d->env, d->act, d->next, d->rew, d->term, d->trunc, d->fin);
      memcpy(d->obs, d->next, sizeof d->obs);
      if ((rc = brl_agent_observe(a, d->rew, d->term, d->trunc, d->fin)))
        return rc;
    }
    int rc = brl_agent_update(a, d->obs);
    if (rc)
      return rc;
  }
  return BRL_OK;
}

typedef struct variant {
  const char *name;
  int box, multi, shared, tree_log_std, a2c, mask, normalize_reward;
} variant;

static const variant variants[] = {
    {"discrete ppo separate", 0, 0, 0, 0, 0, 0, 0},
    {"discrete ppo shared", 0, 0, 1, 0, 0, 0, 1},
    {"discrete a2c separate", 0, 0, 0, 0, 1, 0, 0},
    {"multi-discrete ppo masks", 0, 1, 0, 0, 0, 1, 0},
    {"multi-discrete a2c shared masks", 0, 1, 1, 0, 1, 1, 0},
    {"box ppo param log_std", 1, 0, 0, 0, 0, 0, 1},
    {"box ppo tree log_std shared", 1, 0, 1, 1, 0, 0, 0},
    {"box a2c tree log_std", 1, 0, 0, 1, 1, 0, 0},
};

static int make_agent(const variant *v, int n_envs, uint64_t seed, int threads,
                      brl_agent **out) {
  brl_agent_config c;
  brl_agent_config_default(&c, v->a2c ? BRL_ALGO_A2C : BRL_ALGO_PPO);
  c.n_envs = n_envs;
  c.n_steps = 16;
  c.batch_size = 48;
  c.n_epochs = 3;
  c.shared_tree = v->shared;
  c.log_std_mode = v->tree_log_std ? BRL_LOG_STD_TREE : BRL_LOG_STD_PARAM;
  c.normalize_reward = v->normalize_reward;
  c.clip_range_vf = v->a2c ? 0 : 0.5;
  c.ent_coef = 0.01;
  c.max_policy_grad_norm = 5;
  c.max_value_grad_norm = 2;
  c.target_kl = v->a2c ? 0 : 0.5;
  c.n_threads = threads;
  c.n_timesteps = 5000;
  brl_action_space s;
  brl_action_space_default(&s);
  if (v->box) {
    s.kind = BRL_SPACE_BOX;
    s.dim = 1;
    s.low[0] = -1;
    s.high[0] = 1;
  } else if (v->multi) {
    s.kind = BRL_SPACE_MULTI_DISCRETE;
    s.dim = 2;
    s.nvec[0] = s.nvec[1] = 3;
  } else {
    s.kind = BRL_SPACE_DISCRETE;
    s.dim = 1;
    s.nvec[0] = 3;
  }
  return brl_agent_create(&c, 3, &s, seed, out);
}

static int same_buffers(const brl_agent *a, const brl_agent *b) {
  void *pa, *pb;
  size_t la, lb;
  if (brl_agent_save_buffer(a, &pa, &la) || brl_agent_save_buffer(b, &pb, &lb))
    return 0;
  int same = la == lb && memcmp(pa, pb, la) == 0;
  brl_free(pa);
  brl_free(pb);
  return same;
}

static void test_variant(const variant *v) {
  const int E = 6;
  brl_agent *a = NULL, *b = NULL, *c = NULL;
  CHECK_OK(make_agent(v, E, 7, 1, &a));
  if (!a)
    return;
  CHECK(brl_agent_mask_dim(a) == (v->box ? 0 : (v->multi ? 6 : 3)));
  driver da;
  memset(&da, 0, sizeof da);
  da.use_mask = v->mask;
  te_init(&da.env, E, v->box, v->multi, da.obs);
  int rc = drive(a, &da, 2);
  CHECK_MSG(rc == BRL_OK, "%s: drive -> %d (%s)", v->name, rc,
            brl_last_error());

  /* Save -> load -> the same file. */
  void *buf;
  size_t len;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  brl_free(buf);
  if (!b) {
    brl_agent_free(&a);
    return;
  }
  CHECK_MSG(same_buffers(a, b), "%s: reloaded agent differs", v->name);

  /* Resume: the loaded agent continues exactly like the original (the env
   * state is plain data, copied). */
  driver db = da;
  CHECK_OK(drive(a, &da, 2));
  CHECK_OK(drive(b, &db, 2));
  CHECK_MSG(same_buffers(a, b), "%s: resumed training differs", v->name);

  /* Identical actions, log-probabilities and values, deterministic and
   * sampled, from a loaded copy. */
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &c));
  brl_free(buf);
  if (!c) {
    brl_agent_free(&a);
    brl_agent_free(&b);
    return;
  }
  float obs[40 * 3];
  for (int i = 0; i < 40 * 3; i++)
    obs[i] = (float)(hash01((uint64_t)i + 99) * 2 - 1);
  uint8_t masks[40 * 6];
  for (int i = 0; i < 40 * 6; i++)
    masks[i] = (uint8_t)(i % 4 != 1);
  const uint8_t *m = v->mask ? masks : NULL;
  float act_a[80] = {0}, act_c[80] = {0}, lp_a[40], lp_c[40], val_a[40],
        val_c[40];
  for (int det = 1; det >= 0; det--) {
    CHECK_OK(brl_agent_act(a, obs, 40, m, det, act_a, lp_a, val_a));
    CHECK_OK(brl_agent_act(c, obs, 40, m, det, act_c, lp_c, val_c));
    CHECK_MSG(memcmp(act_a, act_c, sizeof act_a) == 0 &&
                  memcmp(lp_a, lp_c, sizeof lp_a) == 0 &&
                  memcmp(val_a, val_c, sizeof val_a) == 0,
              "%s: actions differ after load (deterministic %d)", v->name, det);
  }
  /* Actions are valid: in the box, or allowed integers. */
  int ad = v->multi ? 2 : 1, ok = 1;
  for (int i = 0; i < 40; i++)
    for (int j = 0; j < ad; j++) {
      float x = act_a[i * ad + j];
      if (v->box)
        ok &= x >= -1.0f && x <= 1.0f;
      else
        ok &= x == floorf(x) && x >= 0 && x <= 2 &&
              (!m || m[i * 6 + j * 3 + (int)x]);
    }
  CHECK_MSG(ok, "%s: invalid action", v->name);
  brl_agent_stats s;
  CHECK_OK(brl_agent_get_stats(a, &s));
  CHECK(s.timesteps == 4 * 16 * E && s.updates == 4);
  CHECK(s.episodes > 0 && s.ep_window > 0 && isfinite(s.ep_return_mean));
  CHECK(isfinite(s.policy_loss) && isfinite(s.value_loss));
  CHECK(s.policy_trees > 0 && s.value_trees > 0);
  if (v->a2c)
    CHECK(s.policy_trees == 4);
  if (v->box && !v->tree_log_std)
    CHECK(isfinite(s.log_std_mean) && s.log_std_mean != -2.0);
  brl_agent_free(&a);
  brl_agent_free(&b);
  brl_agent_free(&c);
}

/* The same agent whatever the thread count. */
static void test_threads(void) {
  const variant *v = &variants[0];
  brl_agent *a = NULL, *b = NULL;
  CHECK_OK(make_agent(v, 8, 3, 1, &a));
  CHECK_OK(make_agent(v, 8, 3, 2, &b));
  if (!a || !b)
    return;
  driver da, db;
  memset(&da, 0, sizeof da);
  te_init(&da.env, 8, 0, 0, da.obs);
  db = da;
  CHECK_OK(drive(a, &da, 3));
  CHECK_OK(drive(b, &db, 3));
  /* The files differ only in the stored thread count: compare actions. */
  float obs[64 * 3], aa[64], ab[64], va[64], vb[64];
  for (int i = 0; i < 64 * 3; i++)
    obs[i] = (float)(hash01((uint64_t)i) * 2 - 1);
  CHECK_OK(brl_agent_act(a, obs, 64, NULL, 0, aa, NULL, va));
  CHECK_OK(brl_agent_act(b, obs, 64, NULL, 0, ab, NULL, vb));
  CHECK(memcmp(aa, ab, sizeof aa) == 0 && memcmp(va, vb, sizeof va) == 0);
  CHECK_OK(brl_agent_set_threads(b, 1));
  CHECK(same_buffers(a, b));
  brl_agent_free(&a);
  brl_agent_free(&b);
}

static void test_errors(void) {
  brl_agent *a = NULL;
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  c.n_envs = 2;
  c.n_steps = 4;
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = 0;
  CHECK(brl_agent_create(&c, 3, &s, 0, &a) == BRL_EINVAL && !a);
  s.nvec[0] = 2;
  CHECK(brl_agent_create(&c, 0, &s, 0, &a) == BRL_EINVAL && !a);
  c.gamma = 2;
  CHECK(brl_agent_create(&c, 3, &s, 0, &a) == BRL_EINVAL && !a);
  c.gamma = 0.99;
  CHECK_OK(brl_agent_create(&c, 3, &s, 0, &a));
  if (!a)
    return;
  float obs[6] = {0}, act[2], rew[2] = {1, 1};
  uint8_t no[2] = {0, 0}, yes[2] = {1, 0};
  CHECK(brl_agent_update(a, obs) == BRL_ESTATE);
  CHECK(brl_agent_observe(a, rew, no, no, NULL) == BRL_ESTATE);
  CHECK_OK(brl_agent_collect(a, obs, NULL, act, NULL, NULL));
  CHECK(brl_agent_collect(a, obs, NULL, act, NULL, NULL) == BRL_ESTATE);
  CHECK(brl_agent_observe(a, rew, no, yes, NULL) == BRL_EINVAL);
  rew[0] = NAN;
  CHECK(brl_agent_observe(a, rew, no, no, NULL) == BRL_ENUMERIC);
  rew[0] = 1;
  CHECK_OK(brl_agent_observe(a, rew, no, no, NULL));
  uint8_t bad_mask[4] = {0, 0, 1, 1};
  CHECK(brl_agent_act(a, obs, 2, bad_mask, 1, act, NULL, NULL) == BRL_EINVAL);
  obs[1] = INFINITY;
  CHECK(brl_agent_act(a, obs, 2, NULL, 1, act, NULL, NULL) == BRL_ENUMERIC);

  /* Corrupt and foreign files. */
  void *buf;
  size_t len;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  brl_agent *b = NULL;
  for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
    CHECK(brl_agent_load_buffer(buf, cut, &b) == BRL_EFORMAT && !b);
  }
  ((uint8_t *)buf)[len / 2] ^= 0x40;
  CHECK(brl_agent_load_buffer(buf, len, &b) == BRL_EFORMAT && !b);
  brl_free(buf);
  CHECK_OK(brl_model_save_buffer(brl_agent_model(a, 0), &buf, &len));
  CHECK(brl_agent_load_buffer(buf, len, &b) == BRL_EFORMAT && !b);
  CHECK(strstr(brl_last_error(), "AGCF") != NULL);
  brl_free(buf);
  CHECK(brl_agent_load("/nonexistent/dir/agent.brl", &b) == BRL_EIO);

  /* learn needs an env with n_envs copies of matching spaces. */
  brl_env *env;
  CHECK_OK(brl_env_make("CartPole-v1", 3, 0, &env));
  CHECK(brl_agent_learn(a, env, 100, 1) == BRL_EINVAL);
  brl_env_free(&env);
  CHECK_OK(brl_env_make("CartPole-v1", 2, 0, &env));
  CHECK(brl_agent_learn(a, env, 100, 1) == BRL_EINVAL); /* obs_dim 4 != 3 */
  brl_env_free(&env);
  brl_agent_free(&a);
  brl_agent_free(&a); /* NULL is fine */
}

static brl_agent *cartpole_agent(uint64_t seed, brl_env **env) {
  brl_agent_config c;
  brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_PPO, NULL);
  c.n_threads = 1;
  brl_agent *a = NULL;
  brl_env_spec spec;
  brl_action_space s;
  if (brl_env_make("CartPole-v1", c.n_envs, seed, env) ||
      brl_env_get_spec(*env, &spec) || brl_action_space_from_env(&spec, &s) ||
      brl_agent_create(&c, spec.obs_dim, &s, seed, &a))
    return NULL;
  return a;
}

static int stop_cb(const brl_agent_stats *s, void *user) {
  int *calls = user;
  (*calls)++;
  return s->updates >= 2;
}

/* PPO on the native CartPole must learn within 50,000 steps (seed 0). */
static void test_cartpole(void) {
  brl_env *env = NULL;
  brl_agent *a = cartpole_agent(0, &env);
  CHECK_MSG(a != NULL, "%s", brl_last_error());
  if (!a)
    return;
  CHECK_OK(brl_agent_learn(a, env, 50000, 1));
  brl_agent_stats s;
  brl_agent_get_stats(a, &s);
  printf("PPO CartPole seed 0: %lld steps, mean training return %.1f "
         "(last %d episodes), %d trees in the shared ensemble\n",
         (long long)s.timesteps, s.ep_return_mean, s.ep_window, s.policy_trees);
  CHECK_MSG(s.ep_return_mean >= 150.0, "mean training return %.1f < 150",
            s.ep_return_mean);
  CHECK(s.timesteps >= 50000);

  /* Evaluation: deterministic, repeatable, and it leaves the agent's
   * random state alone. */
  brl_env *ev, *ev2;
  CHECK_OK(brl_env_make("CartPole-v1", 4, 12345, &ev));
  CHECK_OK(brl_env_make("CartPole-v1", 4, 12345, &ev2));
  brl_eval_result r1, r2;
  double rets[10];
  float obs[4] = {0.01f, 0.0f, -0.02f, 0.0f}, a1, a2;
  void *before, *after;
  size_t lb, la;
  CHECK_OK(brl_agent_save_buffer(a, &before, &lb));
  CHECK_OK(brl_agent_evaluate(a, ev, 10, &r1, rets));
  CHECK_OK(brl_agent_evaluate(a, ev2, 10, &r2, NULL));
  CHECK_OK(brl_agent_save_buffer(a, &after, &la));
  CHECK(lb == la && memcmp(before, after, la) == 0);
  brl_free(before);
  brl_free(after);
  CHECK(r1.episodes == 10 && r1.mean_return == r2.mean_return);
  CHECK(r1.mean_return >= r1.min_return && r1.mean_return <= r1.max_return);
  CHECK(rets[0] >= r1.min_return && rets[9] <= r1.max_return);
  CHECK_OK(brl_agent_act(a, obs, 1, NULL, 1, &a1, NULL, NULL));
  CHECK_OK(brl_agent_act(a, obs, 1, NULL, 1, &a2, NULL, NULL));
  CHECK(a1 == a2);
  brl_env_free(&ev);
  brl_env_free(&ev2);

  /* learn continues on the same env, and the callback can stop it. */
  int calls = 0;
  CHECK_OK(brl_agent_set_callback(a, stop_cb, &calls));
  int64_t t0 = s.timesteps;
  CHECK_OK(brl_agent_learn(a, env, 1000000, 0));
  brl_agent_get_stats(a, &s);
  CHECK(calls == 1 && s.timesteps > t0 && s.timesteps < t0 + 5000);
  brl_agent_free(&a);
  brl_env_free(&env);
}

/* The native Pendulum (Box actions) runs through learn; log_std moves. */
static void test_pendulum_smoke(void) {
  brl_agent_config c;
  brl_agent_config_preset(&c, "Pendulum-v1", BRL_ALGO_PPO, NULL);
  c.n_envs = 4;
  c.n_steps = 64;
  c.batch_size = 128;
  c.n_epochs = 2;
  c.n_threads = 1;
  brl_env *env;
  brl_env_spec spec;
  brl_action_space s;
  brl_agent *a = NULL;
  CHECK_OK(brl_env_make("Pendulum-v1", 4, 1, &env));
  CHECK_OK(brl_env_get_spec(env, &spec));
  CHECK_OK(brl_action_space_from_env(&spec, &s));
  CHECK(s.kind == BRL_SPACE_BOX && s.low[0] == -2.0f && s.high[0] == 2.0f);
  CHECK_OK(brl_agent_create(&c, spec.obs_dim, &s, 1, &a));
  if (a) {
    CHECK_OK(brl_agent_learn(a, env, 1024, 1));
    brl_agent_stats st;
    brl_agent_get_stats(a, &st);
    CHECK(st.updates == 4 && st.log_std_mean != -2.0 &&
          isfinite(st.log_std_mean));
    CHECK(st.policy_trees == 16 && st.value_trees == 16);
  }
  brl_agent_free(&a);
  brl_env_free(&env);
}

int main(void) {
  test_config();
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
    test_variant(&variants[i]);
  test_threads();
  test_errors();
  test_pendulum_smoke();
  test_cartpole();
  return brl_test_report("test_agent");
}
