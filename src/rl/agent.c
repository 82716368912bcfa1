/* Agent lifetime: the models from the configuration and the action space,
 * the buffers (all allocated here, none in the per-step calls), accessors. */
#include "rl/agent.h"
#include "core/abi.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double brl__now(void) {
  struct timespec ts;
  if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
    return 0.0;
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check_space(const brl_action_space *s) {
  switch (s->kind) {
  case BRL_SPACE_DISCRETE:
    if (s->dim != 1)
      return brl__fail(BRL_EINVAL, "a discrete action space has dim 1 (got %d)",
                       s->dim);
    if (s->nvec[0] < 1 || s->nvec[0] > 255)
      return brl__fail(BRL_EINVAL,
                       "a discrete action space has nvec[0] = %d actions: "
                       "use 1 to 255",
                       s->nvec[0]);
    return BRL_OK;
  case BRL_SPACE_MULTI_DISCRETE: {
    if (s->dim < 1 || s->dim > BRL_MAX_ACTION_DIM)
      return brl__fail(BRL_EINVAL,
                       "a multi-discrete space has dim %d sub-actions: use "
                       "1 to %d",
                       s->dim, BRL_MAX_ACTION_DIM);
    int total = 0;
    for (int j = 0; j < s->dim; j++) {
      if (s->nvec[j] < 1 || s->nvec[j] > 255)
        return brl__fail(BRL_EINVAL, "nvec[%d] is %d: use 1 to 255", j,
                         s->nvec[j]);
      total += s->nvec[j];
    }
    if (total > 255)
      return brl__fail(BRL_EINVAL,
                       "the multi-discrete space has %d actions in all: at "
                       "most 255",
                       total);
    return BRL_OK;
  }
  case BRL_SPACE_BOX:
    if (s->dim < 1 || s->dim > BRL_MAX_ACTION_DIM)
      return brl__fail(BRL_EINVAL, "a box space has dim %d: use 1 to %d",
                       s->dim, BRL_MAX_ACTION_DIM);
    for (int j = 0; j < s->dim; j++)
      if (isnan(s->low[j]) || isnan(s->high[j]) || !(s->low[j] <= s->high[j]))
        return brl__fail(BRL_EINVAL,
                         "box bounds [%g, %g] of dimension %d are invalid",
                         (double)s->low[j], (double)s->high[j], j);
    return BRL_OK;
  }
  return brl__fail(BRL_EINVAL, "unknown action space kind %d", (int)s->kind);
}

/* struct_size: the first version ends at high. */
static const brl__abi_struct space_abi = {
    "brl_action_space", "brl_action_space_default",
    BRL__END(brl_action_space, high), sizeof(brl_action_space)};

static void space_empty(brl_action_space *s) {
  memset(s, 0, sizeof *s);
  s->struct_size = sizeof *s;
}

void brl_action_space_default_sized(brl_action_space *s, size_t struct_size) {
  if (!s)
    return;
  brl_action_space full;
  space_empty(&full);
  brl__abi_out(&space_abi, &full, s, struct_size);
}

static int space_from_env(const brl_env_spec *spec, brl_action_space *out) {
  space_empty(out);
  out->kind = spec->action_kind;
  if (spec->action_kind == BRL_SPACE_DISCRETE) {
    out->dim = 1;
    out->nvec[0] = spec->n_actions;
  } else if (spec->action_kind == BRL_SPACE_BOX) {
    out->dim = spec->action_dim;
    for (int j = 0; j < spec->action_dim && j < BRL_MAX_ACTION_DIM; j++) {
      out->low[j] = spec->action_low[j];
      out->high[j] = spec->action_high[j];
    }
  } else {
    out->dim = spec->action_dim;
    for (int j = 0; j < spec->action_dim && j < BRL_MAX_ACTION_DIM; j++)
      out->nvec[j] = (int)spec->action_high[j] + 1;
  }
  return check_space(out);
}

int brl_action_space_from_env_sized(const brl_env_spec *spec,
                                    brl_action_space *out, size_t struct_size) {
  BRL_CHECK_ARG(spec);
  BRL_CHECK_ARG(out);
  brl_action_space full;
  int rc = space_from_env(spec, &full);
  int out_rc = brl__abi_out(&space_abi, &full, out, struct_size);
  return rc ? rc : out_rc;
}

static void set_group(brl_group *g, int n, double lr, double lr_end,
                      float weight) {
  g->n_outputs = n;
  g->lr = (float)lr;
  g->lr_end = lr_end > 0 ? (float)lr_end : (float)lr;
  g->schedule =
      lr_end > 0 ? BRL_SCHEDULE_LINEAR_PROGRESS : BRL_SCHEDULE_CONSTANT;
  g->schedule_trees = 0;
  g->score_weight = weight;
}

static void tree_params(const brl_agent *a, brl_params *p) {
  const brl_agent_config *c = &a->cfg;
  brl_params_default(p, a->n_num, 1);
  p->n_cat_features = a->n_cat;
  p->max_depth = c->max_depth;
  p->n_bins = c->n_bins;
  p->min_data_in_leaf = c->min_data_in_leaf;
  p->grow_policy = c->grow_policy;
  p->split_score = c->split_score;
  p->bin_method = c->bin_method;
  p->n_threads = c->n_threads;
  p->n_groups = 0;
}

int brl__agent_init(brl_agent *a) {
  const brl_agent_config *c = &a->cfg;
  int rc;
  a->n_cat = c->n_cat_obs;
  a->n_num = a->obs_dim - a->n_cat;
  switch (a->space.kind) {
  case BRL_SPACE_DISCRETE:
    rc = brl__dist_init_categorical(&a->dist, a->space.nvec[0]);
    break;
  case BRL_SPACE_MULTI_DISCRETE:
    rc = brl__dist_init_multi_discrete(&a->dist, a->space.dim, a->space.nvec);
    break;
  default:
    rc = brl__dist_init_gaussian(&a->dist, a->space.dim);
    break;
  }
  if (rc)
    return rc;
  a->n_params = a->dist.n_params;
  a->act_dim = a->dist.action_dim;
  a->gauss = a->dist.kind == BRL_DIST_GAUSSIAN;
  a->mask_dim = a->gauss ? 0 : a->n_params;
  a->tree_log_std = a->gauss && c->log_std_mode == BRL_LOG_STD_TREE;

  brl_params p;
  tree_params(a, &p);
  set_group(&p.groups[p.n_groups++], a->n_params, c->policy_lr,
            c->policy_lr_end, 1.0f);
  if (c->algo == BRL_ALGO_DQN) {
    /* One Q ensemble: one output per action, no critic, no log_std. */
    a->col_log_std = -1;
    a->col_value = -1;
    a->pi_K = a->n_params;
    if ((rc = brl_model_create(&p, &a->pi)))
      return rc;
    brl_rng_seed(&a->rng, a->seed);
    a->total_timesteps = c->n_timesteps;
    return brl__agent_alloc_buffers(a);
  }
  a->col_log_std = -1;
  if (a->tree_log_std) {
    a->col_log_std = a->n_params;
    set_group(&p.groups[p.n_groups++], a->dist.n_sub, c->log_std_lr,
              c->log_std_lr_end, 1.0f);
  }
  if (c->shared_tree) {
    a->col_value = brl_params_n_outputs(&p);
    set_group(&p.groups[p.n_groups++], 1, c->value_lr, c->value_lr_end,
              (float)c->value_split_weight);
  } else {
    a->col_value = 0;
  }
  a->pi_K = brl_params_n_outputs(&p);
  if ((rc = brl_model_create(&p, &a->pi)))
    return rc;
  if (!c->shared_tree) {
    brl_params q;
    tree_params(a, &q);
    set_group(&q.groups[q.n_groups++], 1, c->value_lr, c->value_lr_end, 1.0f);
    if ((rc = brl_model_create(&q, &a->vf)))
      return rc;
  }
  if (a->tree_log_std) {
    float bias[256] = {0};
    for (int j = 0; j < a->dist.n_sub; j++)
      bias[a->col_log_std + j] = (float)c->log_std_init;
    if ((rc = brl_model_set_bias(a->pi, bias)))
      return rc;
  }
  for (int j = 0; j < BRL_MAX_ACTION_DIM; j++)
    a->log_std[j] = a->gauss ? (float)c->log_std_init : 0.0f;
  brl_rng_seed(&a->rng, a->seed);
  a->total_timesteps = c->n_timesteps;
  return brl__agent_alloc_buffers(a);
}

int brl__agent_alloc_buffers(brl_agent *a) {
  const brl_agent_config *c = &a->cfg;
  const size_t E = (size_t)c->n_envs, d = (size_t)a->obs_dim;
  if (c->normalize_reward) {
    a->scaler = malloc(sizeof *a->scaler);
    if (!a->scaler)
      return brl__fail(BRL_ENOMEM, "out of memory for the reward scaler");
    int rc = brl__reward_scaler_init(a->scaler, c->n_envs, c->gamma);
    if (rc)
      return rc;
    a->scaler->clip = c->clip_reward;
  }
  a->ep_ret = calloc(E, sizeof *a->ep_ret);
  a->ep_len = calloc(E, sizeof *a->ep_len);
  a->tmp_obs = malloc(E * d * sizeof(float));
  a->last_val = malloc(E * sizeof(float));
  if (!a->ep_ret || !a->ep_len || !a->tmp_obs || !a->last_val)
    return brl__fail(BRL_ENOMEM, "out of memory for %zu env copies", E);
  /* The rollout and replay buffers follow the configuration (n_steps,
   * buffer_size), not the agent's contents: they are allocated when first
   * needed (brl__agent_reserve_rollout, brl__replay_reserve), so that a
   * small agent file cannot make its loader allocate gigabytes. */
  if (brl__off_policy(a))
    brl__replay_alloc(a);
  return brl__agent_reserve_rows(a, (int64_t)E);
}

int brl__agent_reserve_rollout(brl_agent *a) {
  if (a->obs)
    return BRL_OK; /* all of them are there */
  const brl_agent_config *c = &a->cfg;
  const size_t E = (size_t)c->n_envs, N = E * (size_t)brl__rollout_len(a);
  const size_t d = (size_t)a->obs_dim, K = (size_t)a->pi_K;
  const int off = brl__off_policy(a);
  /* Rows of a minibatch's gradients (off-policy minibatches may exceed a
   * rollout). */
  const size_t NG =
      off && (size_t)c->batch_size > N ? (size_t)c->batch_size : N;
  /* All or none: a failure leaves the agent as it was, to be retried.
   * `none` marks a buffer this agent does not use. */
  static char absent;
  void *const none = &absent;
  void *p[] = {
      malloc(N * d * sizeof(float)),                        /* obs */
      malloc(N * (size_t)a->act_dim * sizeof(float)),       /* act */
      malloc(N * sizeof(float)),                            /* logp */
      malloc(N * sizeof(float)),                            /* val */
      malloc(N * sizeof(float)),                            /* rew */
      calloc(N, sizeof(float)),                             /* fin_val */
      malloc(N * sizeof(float)),                            /* adv */
      malloc(N * sizeof(float)),                            /* ret */
      malloc(N),                                            /* term */
      malloc(N),                                            /* trunc */
      malloc(N),                                            /* valid */
      a->mask_dim ? malloc(N * (size_t)a->mask_dim) : none, /* mask */
      malloc(NG * sizeof(int32_t)),                         /* perm */
      malloc(NG * sizeof(float)),                           /* adv_mb */
      malloc(NG * K * sizeof(float)),                       /* g_pi */
      malloc(NG * sizeof(float)),                           /* g_vf */
      malloc(N * K * sizeof(float)),                        /* r_pred */
      off ? calloc(N * d, sizeof(float)) : none,            /* r_fobs */
      off && c->algo == BRL_ALGO_DQN ? malloc(N * K * sizeof(float))
                                     : none, /* r_qt */
  };
  enum { n_bufs = sizeof p / sizeof p[0] };
  int ok = 1;
  for (int i = 0; i < n_bufs; i++)
    ok &= p[i] != NULL;
  int rc = ok ? brl__agent_reserve_split(a, (int64_t)N) : BRL_OK;
  if (!ok || rc) {
    for (int i = 0; i < n_bufs; i++)
      if (p[i] != none)
        free(p[i]);
    return rc ? rc
              : brl__fail(BRL_ENOMEM,
                          "out of memory for a rollout of %zu steps x %d "
                          "features: lower n_steps or n_envs",
                          N, a->obs_dim);
  }
  for (int i = 0; i < n_bufs; i++)
    if (p[i] == none)
      p[i] = NULL;
  a->obs = p[0];
  a->act = p[1];
  a->logp = p[2];
  a->val = p[3];
  a->rew = p[4];
  a->fin_val = p[5];
  a->adv = p[6];
  a->ret = p[7];
  a->term = p[8];
  a->trunc = p[9];
  a->valid = p[10];
  a->mask = p[11];
  a->perm = p[12];
  a->adv_mb = p[13];
  a->g_pi = p[14];
  a->g_vf = p[15];
  a->r_pred = p[16];
  a->r_fobs = p[17];
  a->r_qt = p[18];
  return BRL_OK;
}

int brl__agent_reserve_split(brl_agent *a, int64_t n) {
  if (a->n_cat == 0 || n <= a->split_rows)
    return BRL_OK;
  /* At least one float per row so that X is never NULL. */
  const size_t dx = a->n_num > 0 ? (size_t)a->n_num : 1;
  float *x = realloc(a->split_x, (size_t)n * dx * sizeof(float));
  if (!x)
    return brl__fail(BRL_ENOMEM, "out of memory splitting %lld observations",
                     (long long)n);
  a->split_x = x;
  int32_t *c = realloc(a->split_c, (size_t)n * (size_t)a->n_cat * sizeof *c);
  if (!c)
    return brl__fail(BRL_ENOMEM, "out of memory splitting %lld observations",
                     (long long)n);
  a->split_c = c;
  a->split_rows = n;
  return BRL_OK;
}

/* Codes are integers below 2^24 in magnitude (exact in a float); negative
 * and NaN are missing. */
#define BRL_CAT_CODE_MAX 16777216.0f

int brl__agent_check_cat(const brl_agent *a, const float *obs, int64_t n) {
  const int d = a->obs_dim, c0 = a->n_num;
  for (int64_t i = 0; a->n_cat > 0 && i < n; i++) {
    const float *r = obs + i * d;
    for (int j = c0; j < d; j++) {
      const float v = r[j];
      if (isnan(v))
        continue;
      if (!(fabsf(v) <= BRL_CAT_CODE_MAX) || v != floorf(v))
        return brl__fail(BRL_EINVAL,
                         "observation %lld, column %d (categorical column %d "
                         "of n_cat_obs = %d) is %g: categorical codes are "
                         "integers of magnitude at most 2^24 (negative: "
                         "missing)",
                         (long long)i, j, j - c0, a->n_cat, (double)v);
    }
  }
  return BRL_OK;
}

int brl__agent_split(brl_agent *a, const float *obs, int64_t n, const float **X,
                     const int32_t **Xc) {
  if (a->n_cat == 0) {
    *X = obs;
    *Xc = NULL;
    return BRL_OK;
  }
  int rc = brl__agent_check_cat(a, obs, n);
  if (rc || (rc = brl__agent_reserve_split(a, n)))
    return rc;
  const int d = a->obs_dim, D = a->n_num, C = a->n_cat;
  for (int64_t i = 0; i < n; i++) {
    const float *r = obs + i * d;
    if (D > 0)
      memcpy(a->split_x + i * D, r, (size_t)D * sizeof(float));
    else
      a->split_x[i] = 0.0f;
    int32_t *o = a->split_c + i * C;
    for (int j = 0; j < C; j++) {
      const float v = r[D + j];
      o[j] = isnan(v) || v < 0 ? -1 : (int32_t)v;
    }
  }
  *X = a->split_x;
  *Xc = a->split_c;
  return BRL_OK;
}

int brl__agent_reserve_rows(brl_agent *a, int64_t n) {
  if (n <= a->ws_rows)
    return BRL_OK;
  float *p = realloc(a->out_pi, (size_t)n * (size_t)a->pi_K * sizeof(float));
  if (!p)
    return brl__fail(BRL_ENOMEM, "out of memory for %lld predictions",
                     (long long)n);
  a->out_pi = p;
  float *v = realloc(a->out_vf, (size_t)n * sizeof(float));
  if (!v)
    return brl__fail(BRL_ENOMEM, "out of memory for %lld predictions",
                     (long long)n);
  a->out_vf = v;
  if (a->cfg.algo == BRL_ALGO_DQN) {
    float *q = realloc(a->out_qt, (size_t)n * (size_t)a->pi_K * sizeof(float));
    if (!q)
      return brl__fail(BRL_ENOMEM, "out of memory for %lld predictions",
                       (long long)n);
    a->out_qt = q;
  }
  a->ws_rows = n;
  return BRL_OK;
}

int brl_agent_create(const brl_agent_config *in, int obs_dim,
                     const brl_action_space *space_in, uint64_t seed,
                     brl_agent **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(in);
  BRL_CHECK_ARG(space_in);
  brl_agent_config full, *c = &full; /* fields newer than the caller's */
  brl_action_space space_full, *space = &space_full;
  space_empty(&space_full);
  int rc = brl__agent_config_in(in, &full);
  if (rc || (rc = brl_agent_config_check(c)) ||
      (rc = brl__abi_in(&space_abi, space_in, &space_full)))
    return rc;
  if (obs_dim < 1 || obs_dim > (1 << 20))
    return brl__fail(BRL_EINVAL,
                     "obs_dim is %d: observations need 1 to 2^20 floats",
                     obs_dim);
  if ((rc = check_space(space)))
    return rc;
  if (c->n_cat_obs < 0 || c->n_cat_obs > obs_dim)
    return brl__fail(BRL_EINVAL,
                     "n_cat_obs is %d: the categorical columns are the last "
                     "0 to obs_dim = %d of an observation",
                     c->n_cat_obs, obs_dim);
  if (c->algo == BRL_ALGO_DQN && space->kind != BRL_SPACE_DISCRETE)
    return brl__fail(BRL_EINVAL, "DQN needs a discrete action space: use awr, "
                                 "ppo or a2c for this space");
  brl_backend_kind backend = BRL_BACKEND_CPU;
  if ((rc = brl__agent_resolve_device(c->device, &backend)))
    return rc;
  brl_agent *a = calloc(1, sizeof *a);
  if (!a)
    return brl__fail(BRL_ENOMEM, "out of memory creating an agent");
  a->cfg = *c;
  a->obs_dim = obs_dim;
  a->space = *space;
  a->seed = seed;
  a->backend = backend;
  if ((rc = brl__agent_init(a)) || (rc = brl__agent_apply_device(a))) {
    brl_agent_free(&a);
    return rc;
  }
  *out = a;
  return BRL_OK;
}

void brl_agent_free(brl_agent **ap) {
  if (!ap || !*ap)
    return;
  brl_agent *a = *ap;
  brl_model_free(&a->pi);
  brl_model_free(&a->vf);
  brl__replay_free(a);
  brl__agent_comm_free(a);
  void *bufs[] = {a->scaler,      a->ep_ret,    a->ep_len,    a->obs,
                  a->act,         a->logp,      a->val,       a->rew,
                  a->fin_val,     a->adv,       a->ret,       a->term,
                  a->trunc,       a->mask,      a->out_pi,    a->out_vf,
                  a->tmp_obs,     a->last_val,  a->perm,      a->adv_mb,
                  a->g_pi,        a->g_vf,      a->learn_obs, a->learn_next,
                  a->learn_fin,   a->learn_rew, a->learn_act, a->learn_term,
                  a->learn_trunc, a->split_x,   a->split_c,   a->valid};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  free(a);
  *ap = NULL;
}

int brl_agent_get_config_sized(const brl_agent *a, brl_agent_config *out,
                               size_t struct_size) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(out);
  return brl__agent_config_out(&a->cfg, out, struct_size);
}

int brl_agent_get_action_space_sized(const brl_agent *a, brl_action_space *out,
                                     size_t struct_size) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(out);
  return brl__abi_out(&space_abi, &a->space, out, struct_size);
}

int brl_agent_obs_dim(const brl_agent *a) { return a ? a->obs_dim : 0; }
int brl_agent_mask_dim(const brl_agent *a) { return a ? a->mask_dim : 0; }

int brl_agent_set_callback(brl_agent *a, brl_agent_callback cb, void *user) {
  BRL_CHECK_ARG(a);
  a->cb = cb;
  a->cb_user = user;
  return BRL_OK;
}

int brl_agent_set_threads(brl_agent *a, int n_threads) {
  BRL_CHECK_ARG(a);
  if (n_threads < 0 || n_threads > 4096)
    return brl__fail(BRL_EINVAL,
                     "n_threads is %d: use 0 (all cores) or a positive count",
                     n_threads);
  int rc = brl_model_set_threads(a->pi, n_threads);
  if (!rc && a->vf)
    rc = brl_model_set_threads(a->vf, n_threads);
  if (!rc)
    a->cfg.n_threads = n_threads;
  return rc;
}

int brl_agent_set_total_timesteps(brl_agent *a, int64_t total) {
  BRL_CHECK_ARG(a);
  if (total < 0)
    return brl__fail(BRL_EINVAL, "total timesteps is %lld: use 0 or more",
                     (long long)total);
  a->total_timesteps = total;
  return BRL_OK;
}

int brl_agent_get_stats(const brl_agent *a, brl_agent_stats *out) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(out);
  *out = a->stats;
  out->timesteps = a->timesteps;
  out->episodes = a->episodes;
  out->updates = a->updates;
  out->policy_trees = brl_model_n_trees(a->pi);
  out->value_trees = brl_model_n_trees(a->vf ? a->vf : a->pi);
  brl__episode_window_stats(a, out);
  return BRL_OK;
}

const brl_model *brl_agent_model(const brl_agent *a, int which) {
  if (!a || which < 0 || which > 1)
    return NULL;
  return which == 0 || !a->vf ? a->pi : a->vf;
}
