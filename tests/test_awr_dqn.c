/* AWR and DQN: the AWR weights and policy gradients, Huber and the DQN
 * targets and loss against direct computation and finite differences; the
 * replay caches (online outputs, AWR's V(next_obs), DQN's target prefix)
 * against explicit predictions, the prefix against a copy of the ensemble
 * truncated to n_target; save -> load -> identical actions and buffer;
 * configuration keys and errors; a short AWR CartPole run that must learn.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "rl/agent.h"
#include "rl/losses.h"
#include "testlib.h"

static double rel_err(double a, double b) {
  return fabs(a - b) / (1e-3 + fabs(a) + fabs(b));
}

/* --------------------------------------------------------------- losses */

static void test_awr_weight(void) {
  const double beta = 0.05, wmax = 20.0;
  const double advs[] = {-10, -1, -0.1, 0, 0.05, 0.1, 0.2, 1, 1e6};
  for (size_t i = 0; i < sizeof advs / sizeof advs[0]; i++) {
    double direct = fmin(exp(advs[i] / beta), wmax);
    double w = brl__awr_weight(advs[i], beta, wmax);
    CHECK_MSG(isfinite(w) && fabs(w - direct) <= 1e-12 * (1 + direct),
              "awr weight(%g) = %g, direct %g", advs[i], w, direct);
  }
}

/* -w log pi(a) - ent H for a categorical and a Gaussian, by central
 * differences. */
static double awr_loss(const brl_dist *d, const float *params,
                       const float *log_std, const float *act, double w,
                       double ent) {
  brl_policy_out pi = {params, log_std, NULL};
  double lp = 0, H = 0;
  brl__dist_log_prob(d, &pi, act, &lp);
  brl__dist_entropy(d, &pi, &H);
  return -w * lp - ent * H;
}

static void test_awr_grad(void) {
  brl_dist dc, dg;
  CHECK_OK(brl__dist_init_categorical(&dc, 4));
  CHECK_OK(brl__dist_init_gaussian(&dg, 2));
  const double w = 3.7, ent = 0.05, h = 1e-3;
  /* Categorical. */
  float z[4] = {0.3f, -0.2f, 1.1f, 0.0f}, act = 2.0f, g[4];
  brl_policy_out pi = {z, NULL, NULL};
  brl_pg_info info;
  CHECK_OK(brl__awr_policy_loss(&dc, &pi, &act, w, ent, g, NULL, &info));
  for (int j = 0; j < 4; j++) {
    float zp[4], zm[4];
    memcpy(zp, z, sizeof z);
    memcpy(zm, z, sizeof z);
    zp[j] += (float)h;
    zm[j] -= (float)h;
    double fd = (awr_loss(&dc, zp, NULL, &act, w, ent) -
                 awr_loss(&dc, zm, NULL, &act, w, ent)) /
                (double)(zp[j] - zm[j]);
    CHECK_MSG(rel_err(g[j], fd) < 1e-3, "awr cat grad[%d] %g vs fd %g", j,
              (double)g[j], fd);
  }
  CHECK(fabs(info.loss - awr_loss(&dc, z, NULL, &act, w, ent)) < 1e-6);
  /* Gaussian: means and log_std. */
  float mu[2] = {0.2f, -0.4f}, ls[2] = {-0.5f, 0.1f}, a2[2] = {0.5f, -1.0f};
  float gm[2], gs[2];
  brl_policy_out pg = {mu, ls, NULL};
  CHECK_OK(brl__awr_policy_loss(&dg, &pg, a2, w, ent, gm, gs, &info));
  for (int j = 0; j < 2; j++) {
    float p[2], m[2];
    memcpy(p, mu, sizeof mu);
    memcpy(m, mu, sizeof mu);
    p[j] += (float)h;
    m[j] -= (float)h;
    double fd =
        (awr_loss(&dg, p, ls, a2, w, ent) - awr_loss(&dg, m, ls, a2, w, ent)) /
        (double)(p[j] - m[j]);
    CHECK_MSG(rel_err(gm[j], fd) < 1e-3, "awr mu grad[%d] %g vs fd %g", j,
              (double)gm[j], fd);
    memcpy(p, ls, sizeof ls);
    memcpy(m, ls, sizeof ls);
    p[j] += (float)h;
    m[j] -= (float)h;
    fd = (awr_loss(&dg, mu, p, a2, w, ent) - awr_loss(&dg, mu, m, a2, w, ent)) /
         (double)(p[j] - m[j]);
    CHECK_MSG(rel_err(gs[j], fd) < 1e-3, "awr log_std grad[%d] %g vs fd %g", j,
              (double)gs[j], fd);
  }
}

static void test_huber_dqn(void) {
  const double xs[] = {-3, -1.5, -0.7, -0.1, 0, 0.2, 0.99, 1.01, 4};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    double direct = fabs(x) < 1 ? 0.5 * x * x : fabs(x) - 0.5;
    CHECK(fabs(brl__huber(x) - direct) < 1e-12);
    double h = 1e-6;
    double fd = (brl__huber(x + h) - brl__huber(x - h)) / (2 * h);
    CHECK_MSG(fabs(brl__huber_grad(x) - fd) < 1e-5, "huber'(%g) %g vs fd %g", x,
              brl__huber_grad(x), fd);
  }
  /* Targets: r + gamma (1 - term) max_a Q_target(s', a). */
  float qn[3] = {0.5f, 2.25f, -1.0f}, qo[3] = {3.0f, 0.0f, 1.0f};
  double y;
  CHECK_OK(brl__dqn_target(qn, NULL, 3, 1.5, 0.9, 0, &y));
  CHECK(fabs(y - (1.5 + 0.9 * 2.25)) < 1e-6);
  CHECK_OK(brl__dqn_target(qn, NULL, 3, 1.5, 0.9, 1, &y));
  CHECK(fabs(y - 1.5) < 1e-12);
  CHECK_OK(brl__dqn_target(qn, qo, 3, 1.5, 0.9, 0, &y)); /* double DQN */
  CHECK(fabs(y - (1.5 + 0.9 * 0.5)) < 1e-6);
  /* Loss gradient by central differences at the taken action. */
  float q[3] = {0.1f, -0.3f, 0.7f}, g[3];
  const double targets[] = {0.2, 3.0, -2.0};
  for (int t = 0; t < 3; t++) {
    double loss;
    CHECK_OK(brl__dqn_loss(q, 3, 1, targets[t], g, &loss));
    CHECK(fabs(loss - brl__huber(q[1] - targets[t])) < 1e-9);
    CHECK(g[0] == 0.0f && g[2] == 0.0f);
    float p[3], m[3];
    memcpy(p, q, sizeof q);
    memcpy(m, q, sizeof q);
    p[1] += 1e-3f;
    m[1] -= 1e-3f;
    double lp, lm;
    float gg[3];
    brl__dqn_loss(p, 3, 1, targets[t], gg, &lp);
    brl__dqn_loss(m, 3, 1, targets[t], gg, &lm);
    double fd = (lp - lm) / (double)(p[1] - m[1]);
    CHECK_MSG(rel_err(g[1], fd) < 1e-3, "dqn grad %g vs fd %g", (double)g[1],
              fd);
  }
}

/* --------------------------------------------------------------- agents */

static const char *const small_dqn[] = {"n_envs=4",
                                        "buffer_size=1200",
                                        "learning_starts=200",
                                        "train_freq=16",
                                        "gradient_steps=12",
                                        "batch_size=64",
                                        "target_update_interval=30",
                                        "policy_lr=0.1",
                                        NULL};
static const char *const small_awr[] = {
    "n_envs=4",       "buffer_size=1200",  "learning_starts=200",
    "train_freq=40",  "gradient_steps=10", "batch_size=128",
    "policy_lr=0.05", "value_lr=0.1",      NULL};

static int make(const char *env_id, brl_algo algo, const char *const *sets,
                int shared, brl_env **env, brl_agent **a) {
  brl_agent_config c;
  int rc = brl_agent_config_preset(&c, NULL, algo, NULL);
  for (int i = 0; !rc && sets[i]; i++) {
    char k[64];
    const char *eq = strchr(sets[i], '=');
    memcpy(k, sets[i], (size_t)(eq - sets[i]));
    k[eq - sets[i]] = '\0';
    rc = brl_agent_config_set(&c, k, eq + 1);
  }
  c.shared_tree = shared;
  brl_env_spec spec;
  brl_action_space sp;
  if (!rc)
    rc = brl_env_make(env_id, c.n_envs, 3, env);
  if (!rc)
    rc = brl_env_get_spec(*env, &spec);
  if (!rc)
    rc = brl_action_space_from_env(&spec, &sp);
  if (!rc)
    rc = brl_agent_create(&c, spec.obs_dim, &sp, 11, a);
  return rc;
}

static float max_abs_diff(const float *x, const float *y, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; i++) {
    float d = fabsf(x[i] - y[i]);
    m = d > m ? d : m;
  }
  return m;
}

/* Caches against explicit predictions, the DQN prefix against a truncated
 * copy of the ensemble. */
static void check_caches(brl_agent *a, const char *what) {
  const brl_replay *rb = &a->rb;
  const int64_t n = rb->n_steps * a->cfg.n_envs;
  const int K = a->pi_K;
  float *p = malloc((size_t)n * (size_t)K * sizeof(float));
  CHECK_OK(brl_model_predict(a->pi, rb->obs, n, 0, -1, p));
  CHECK_MSG(max_abs_diff(p, rb->pred, n * K) < 1e-4,
            "%s: online cache differs by %g", what,
            (double)max_abs_diff(p, rb->pred, n * K));
  if (a->cfg.algo == BRL_ALGO_DQN) {
    const int nt = rb->qt_trees, T = brl_model_n_trees(a->pi);
    const int iv = a->cfg.target_update_interval;
    CHECK_MSG(nt == T / iv * iv && nt > 0, "%s: n_target %d of %d trees", what,
              nt, T);
    /* The explicit copy taken now, truncated to n_target. */
    void *buf;
    size_t len;
    brl_model *copy = NULL;
    CHECK_OK(brl_model_save_buffer(a->pi, &buf, &len));
    CHECK_OK(brl_model_load_buffer(buf, len, &copy));
    brl_free(buf);
    if (copy) {
      CHECK_OK(brl_model_truncate(copy, nt));
      CHECK_OK(brl_model_predict(copy, rb->next_obs, n, 0, -1, p));
      float d = max_abs_diff(p, rb->qt, n * K);
      CHECK_MSG(d < 1e-4, "%s: target prefix cache differs by %g", what,
                (double)d);
      brl_model_free(&copy);
    }
  } else {
    const brl_model *crit = a->vf ? a->vf : a->pi;
    const int Kc = brl_model_n_outputs(crit), col = a->vf ? 0 : a->col_value;
    float *v = malloc((size_t)n * (size_t)Kc * sizeof(float));
    CHECK_OK(brl_model_predict(crit, rb->next_obs, n, 0, -1, v));
    float m = 0;
    for (int64_t i = 0; i < n; i++) {
      float d = fabsf(v[i * Kc + col] - rb->nv[i]);
      m = d > m ? d : m;
    }
    CHECK_MSG(m < 1e-4, "%s: V(next_obs) cache differs by %g", what, (double)m);
    if (a->vf) {
      CHECK_OK(brl_model_predict(a->vf, rb->obs, n, 0, -1, v));
      CHECK(max_abs_diff(v, rb->vpred, n) < 1e-4);
    }
    free(v);
  }
  free(p);
}

static void test_agent(const char *env_id, brl_algo algo,
                       const char *const *sets, int shared) {
  char what[96];
  snprintf(what, sizeof what, "%s %s shared=%d", brl_algo_name(algo), env_id,
           shared);
  brl_env *env = NULL;
  brl_agent *a = NULL, *b = NULL;
  CHECK_OK(make(env_id, algo, sets, shared, &env, &a));
  if (!a) {
    brl_env_free(&env);
    return;
  }
  CHECK_OK(brl_agent_learn(a, env, 1600, 1));
  brl_agent_stats s;
  CHECK_OK(brl_agent_get_stats(a, &s));
  CHECK_MSG(s.policy_trees > 0 && isfinite(s.policy_loss), "%s: no training",
            what);
  /* The buffer wrapped around (1600 > 1200). */
  CHECK(a->rb.n_steps == a->rb.steps_cap);
  check_caches(a, what);

  /* Save -> load: identical actions, the same buffer, caches rebuilt. */
  void *buf;
  size_t len;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  CHECK_OK(brl_agent_load_buffer(buf, len, &b));
  brl_free(buf);
  if (b) {
    const brl_replay *ra = &a->rb, *rb = &b->rb;
    const int64_t n = ra->n_steps * a->cfg.n_envs;
    CHECK(ra->head == rb->head && ra->n_steps == rb->n_steps &&
          ra->qt_trees == rb->qt_trees);
    CHECK(memcmp(ra->obs, rb->obs, (size_t)n * a->obs_dim * 4) == 0 &&
          memcmp(ra->rew, rb->rew, (size_t)n * 4) == 0 &&
          memcmp(ra->term, rb->term, (size_t)n) == 0);
    check_caches(b, what);
    float obs[32 * 4], act_a[32 * 2], act_b[32 * 2], va[32], vb[32];
    const int d = a->obs_dim;
    for (int i = 0; i < 32 * d; i++)
      obs[i] = (float)sin(0.37 * i);
    for (int det = 1; det >= 0; det--) {
      CHECK_OK(brl_agent_act(a, obs, 32, NULL, det, act_a, NULL, va));
      CHECK_OK(brl_agent_act(b, obs, 32, NULL, det, act_b, NULL, vb));
      CHECK_MSG(memcmp(act_a, act_b, (size_t)32 * a->act_dim * 4) == 0 &&
                    memcmp(va, vb, sizeof va) == 0,
                "%s: actions differ after load (deterministic %d)", what, det);
    }
    /* Training continues from the loaded agent. */
    brl_env *env2 = NULL;
    CHECK_OK(brl_env_make(env_id, a->cfg.n_envs, 5, &env2));
    if (env2) {
      CHECK_OK(brl_agent_learn(b, env2, 2000, 1));
      check_caches(b, what);
    }
    brl_env_free(&env2);
  }
  brl_agent_free(&a);
  brl_agent_free(&b);
  brl_env_free(&env);
}

/* The target prefix against an explicit copy of the ensemble taken when
 * n_target moved: with gradient_steps = 10 and target_update_interval =
 * 30, every third training call ends exactly at a multiple, and the copy
 * taken then (from the callback) must give the cached targets over every
 * next observation in the buffer until the next move. */
typedef struct snap_state {
  brl_agent *a;
  brl_model *snap;
  int snaps, compared;
  float worst;
} snap_state;

static int snap_cb(const brl_agent_stats *st, void *user) {
  snap_state *ss = user;
  brl_agent *a = ss->a;
  const int T = brl_model_n_trees(a->pi);
  (void)st;
  if (T == 0)
    return 0;
  if (T % 30 == 0) {
    void *buf;
    size_t len;
    brl_model_free(&ss->snap);
    if (brl_model_save_buffer(a->pi, &buf, &len) == BRL_OK) {
      brl_model_load_buffer(buf, len, &ss->snap);
      brl_free(buf);
    }
    ss->snaps++;
    CHECK(a->rb.qt_trees == T);
    return 0;
  }
  if (!ss->snap)
    return 0;
  CHECK(a->rb.qt_trees == brl_model_n_trees(ss->snap));
  const int64_t n = a->rb.n_steps * a->cfg.n_envs;
  const int K = a->pi_K;
  float *p = malloc((size_t)n * (size_t)K * sizeof(float));
  if (p && brl_model_predict(ss->snap, a->rb.next_obs, n, 0, -1, p) == 0) {
    float d = max_abs_diff(p, a->rb.qt, n * K);
    ss->worst = d > ss->worst ? d : ss->worst;
    ss->compared++;
  }
  free(p);
  return 0;
}

static void test_prefix_snapshot(void) {
  static const char *const sets[] = {
      "n_envs=4",      "buffer_size=1200",          "learning_starts=200",
      "train_freq=16", "gradient_steps=10",         "batch_size=64",
      "policy_lr=0.1", "target_update_interval=30", NULL};
  brl_env *env = NULL;
  brl_agent *a = NULL;
  CHECK_OK(make("CartPole-v1", BRL_ALGO_DQN, sets, 1, &env, &a));
  if (a) {
    snap_state ss = {a, NULL, 0, 0, 0.0f};
    brl_agent_set_callback(a, snap_cb, &ss);
    CHECK_OK(brl_agent_learn(a, env, 3000, 1));
    CHECK_MSG(ss.snaps >= 3 && ss.compared >= 6,
              "prefix snapshots %d, comparisons %d", ss.snaps, ss.compared);
    CHECK_MSG(ss.worst < 1e-4, "target prefix vs the copy: %g",
              (double)ss.worst);
    brl_model_free(&ss.snap);
  }
  brl_agent_free(&a);
  brl_env_free(&env);
}

static void test_config(void) {
  brl_agent_config c;
  brl_algo al;
  CHECK_OK(brl_algo_parse("AWR", &al));
  CHECK(al == BRL_ALGO_AWR);
  CHECK_OK(brl_algo_parse("dqn", &al));
  CHECK(al == BRL_ALGO_DQN);
  CHECK(strcmp(brl_algo_name(BRL_ALGO_DQN), "dqn") == 0);
  int found = 0;
  CHECK_OK(brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_DQN, &found));
  CHECK(found && c.algo == BRL_ALGO_DQN && c.gradient_steps == 50);
  CHECK_OK(brl_agent_config_preset(&c, "Pendulum-v1", BRL_ALGO_AWR, &found));
  CHECK(found && c.beta == 0.05 && c.weights_max == 20);
  char v[64];
  CHECK_OK(brl_agent_config_set(&c, "exploration_final_eps", "0.02"));
  CHECK_OK(brl_agent_config_get(&c, "exploration_final_eps", v, sizeof v));
  CHECK(strcmp(v, "0.02") == 0);
  CHECK(brl_agent_config_set(&c, "beta", "0") == BRL_EINVAL);
  c.buffer_size = 10; /* below one rollout */
  CHECK(brl_agent_config_check(&c) == BRL_EINVAL);
  /* DQN needs a discrete space. */
  brl_agent_config_default(&c, BRL_ALGO_DQN);
  brl_action_space box;
  brl_action_space_default(&box);
  box.kind = BRL_SPACE_BOX;
  box.dim = 1;
  box.low[0] = -1;
  box.high[0] = 1;
  brl_agent *a = NULL;
  CHECK(brl_agent_create(&c, 3, &box, 0, &a) == BRL_EINVAL && !a);
}

/* AWR learns CartPole quickly (16 envs, 24k steps). */
static void test_awr_learns(void) {
  brl_agent_config c;
  CHECK_OK(brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_AWR, NULL));
  brl_env *env = NULL, *ev = NULL;
  brl_agent *a = NULL;
  brl_env_spec spec;
  brl_action_space sp;
  CHECK_OK(brl_env_make("CartPole-v1", c.n_envs, 0, &env));
  CHECK_OK(brl_env_make("CartPole-v1", 4, 1000, &ev));
  if (!env || !ev)
    goto done;
  brl_env_get_spec(env, &spec);
  brl_action_space_from_env(&spec, &sp);
  CHECK_OK(brl_agent_create(&c, spec.obs_dim, &sp, 0, &a));
  if (!a)
    goto done;
  CHECK_OK(brl_agent_learn(a, env, 24000, 1));
  brl_eval_result r;
  CHECK_OK(brl_agent_evaluate(a, ev, 8, &r, NULL));
  CHECK_MSG(r.mean_return > 100, "AWR CartPole after 24k steps: %g",
            r.mean_return);
done:
  brl_agent_free(&a);
  brl_env_free(&env);
  brl_env_free(&ev);
}

int main(void) {
  test_awr_weight();
  test_awr_grad();
  test_huber_dqn();
  test_config();
  test_prefix_snapshot();
  test_agent("CartPole-v1", BRL_ALGO_DQN, small_dqn, 1);
  test_agent("CartPole-v1", BRL_ALGO_AWR, small_awr, 1);
  test_agent("CartPole-v1", BRL_ALGO_AWR, small_awr, 0);
  test_agent("Pendulum-v1", BRL_ALGO_AWR, small_awr, 1);
  test_awr_learns();
  return brl_test_report("test_awr_dqn");
}
