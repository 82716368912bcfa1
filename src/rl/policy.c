/* The policy on the trees: outputs of the ensembles for observations, the
 * action distribution of one row, and acting (inference). */
#include "core/error.h"
#include "rl/agent.h"

#include <math.h>
#include <string.h>

int brl__agent_forward(brl_agent *a, const float *obs, int64_t n,
                       float *values) {
  int rc = brl__agent_reserve_rows(a, n);
  if (rc)
    return rc;
  const float *X;
  const int32_t *Xc;
  if ((rc = brl__agent_split(a, obs, n, &X, &Xc)))
    return rc;
  if (a->cfg.algo == BRL_ALGO_DQN) {
    /* Q = target prefix [0, qt_trees) + the rest: the prefix part over the
     * observations comes for free (out_qt) for the replay's targets. */
    const int K = a->pi_K, nt = a->rb.qt_trees;
    if ((rc = brl_model_predict_cat(a->pi, X, Xc, n, 0, nt, a->out_qt)) ||
        (rc = brl_model_predict_cat(a->pi, X, Xc, n, nt, -1, a->out_pi)))
      return rc;
    for (int64_t i = 0; i < n * K; i++)
      a->out_pi[i] += a->out_qt[i];
    for (int64_t i = 0; values && i < n; i++) {
      float m = a->out_pi[i * K];
      for (int j = 1; j < K; j++)
        m = a->out_pi[i * K + j] > m ? a->out_pi[i * K + j] : m;
      values[i] = m;
    }
    return BRL_OK;
  }
  if ((rc = brl_model_predict_cat(a->pi, X, Xc, n, 0, -1, a->out_pi)))
    return rc;
  if (!values)
    return BRL_OK;
  if (a->vf)
    return brl_model_predict_cat(a->vf, X, Xc, n, 0, -1, values);
  for (int64_t i = 0; i < n; i++)
    values[i] = a->out_pi[i * a->pi_K + a->col_value];
  return BRL_OK;
}

void brl__agent_policy(const brl_agent *a, const float *row,
                       const uint8_t *mask, float *ls, brl_policy_out *pi) {
  pi->params = row;
  pi->mask = a->gauss ? NULL : mask;
  pi->log_std = NULL;
  if (!a->gauss)
    return;
  const float lo = (float)a->cfg.log_std_min, hi = (float)a->cfg.log_std_max;
  const float *src = a->tree_log_std ? row + a->col_log_std : a->log_std;
  for (int j = 0; j < a->dist.n_sub; j++)
    ls[j] = src[j] < lo ? lo : (src[j] > hi ? hi : src[j]);
  pi->log_std = ls;
}

void brl__agent_clip_action(const brl_agent *a, const float *in, float *out) {
  for (int j = 0; j < a->act_dim; j++) {
    float v = in[j];
    if (a->gauss) {
      if (v < a->space.low[j])
        v = a->space.low[j];
      if (v > a->space.high[j])
        v = a->space.high[j];
    }
    out[j] = v;
  }
}

static int check_masks(const brl_agent *a, const uint8_t *masks, int64_t n) {
  if (!masks)
    return BRL_OK;
  if (!a->mask_dim)
    return brl__fail(BRL_EINVAL,
                     "action masks apply to discrete action spaces only: "
                     "pass NULL for a box space");
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *m = masks + i * a->mask_dim;
    int off = 0;
    for (int k = 0; k < a->dist.n_sub; k++) {
      int any = 0;
      for (int j = 0; j < a->dist.nvec[k]; j++)
        any |= m[off + j] != 0;
      if (!any)
        return brl__fail(BRL_EINVAL,
                         "the mask of observation %lld allows no action (in "
                         "sub-space %d): allow at least one",
                         (long long)i, k);
      off += a->dist.nvec[k];
    }
  }
  return BRL_OK;
}

static int check_obs(const brl_agent *a, const float *obs, int64_t n) {
  if (n < 0 || n > INT32_MAX)
    return brl__fail(BRL_EINVAL, "n is %lld: use 0 to 2^31-1 observations",
                     (long long)n);
  const int64_t nd = n * a->obs_dim;
  for (int64_t i = 0; i < nd; i++)
    if (isinf(obs[i]))
      return brl__fail(BRL_ENUMERIC,
                       "observation %lld, feature %d is infinite (NaN means "
                       "missing; infinities are not allowed)",
                       (long long)(i / a->obs_dim), (int)(i % a->obs_dim));
  return brl__agent_check_cat(a, obs, n);
}

/* Acts on rows [0, n) whose outputs are in out_pi. raw (n x act_dim) gets
 * the unclipped action, actions the clipped one (may be NULL). */
static int act_rows(brl_agent *a, int64_t n, const uint8_t *masks,
                    int deterministic, float *raw, float *actions,
                    float *log_probs) {
  float ls[BRL_MAX_ACTION_DIM];
  const int dqn = a->cfg.algo == BRL_ALGO_DQN;
  const double eps = dqn && !deterministic ? brl__dqn_epsilon(a) : 0.0;
  for (int64_t i = 0; i < n; i++) {
    brl_policy_out pi;
    brl__agent_policy(a, a->out_pi + i * a->pi_K,
                      masks ? masks + i * a->mask_dim : NULL, ls, &pi);
    float *r = raw + i * a->act_dim;
    int rc;
    if (dqn && !deterministic) {
      /* Epsilon-greedy on the Q-values (one uniform, then one more for a
       * random action). */
      if (brl_rng_uniform(&a->rng) < eps) {
        r[0] = (float)brl_rng_below(&a->rng, (uint64_t)a->space.nvec[0]);
        rc = BRL_OK;
      } else {
        rc = brl__dist_mode(&a->dist, &pi, r);
      }
    } else {
      rc = deterministic ? brl__dist_mode(&a->dist, &pi, r)
                         : brl__dist_sample(&a->dist, &pi, &a->rng, r);
    }
    if (rc)
      return rc;
    if (log_probs) {
      double lp;
      if ((rc = brl__dist_log_prob(&a->dist, &pi, r, &lp)))
        return rc;
      log_probs[i] = (float)lp;
    }
    if (actions)
      brl__agent_clip_action(a, r, actions + i * a->act_dim);
  }
  return BRL_OK;
}

/* Draws from the generator what act_rows (sampling) draws for n rows, none
 * of which depends on the rows' outputs: a rank acting on its share of the
 * environments keeps the generator of one process acting on all of them. */
static void skip_rows(brl_agent *a, int64_t n) {
  if (a->cfg.algo == BRL_ALGO_DQN) {
    const double eps = brl__dqn_epsilon(a);
    for (int64_t i = 0; i < n; i++)
      if (brl_rng_uniform(&a->rng) < eps)
        (void)brl_rng_u64(&a->rng);
    return;
  }
  /* Gaussian: two uniforms per normal; categorical: one per sub-action. */
  const int64_t per = (a->gauss ? 2 : 1) * (int64_t)a->dist.n_sub;
  for (int64_t i = 0; i < n * per; i++)
    (void)brl_rng_u64(&a->rng);
}

int brl_agent_act(brl_agent *a, const float *obs, int64_t n,
                  const uint8_t *masks, int deterministic, float *actions,
                  float *log_probs, float *values) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(obs);
  BRL_CHECK_ARG(actions);
  int rc;
  if ((rc = check_obs(a, obs, n)) || (rc = check_masks(a, masks, n)) ||
      (rc = brl__agent_forward(a, obs, n, values)))
    return rc;
  /* The unclipped action goes to actions first, then is clipped in place. */
  if ((rc = act_rows(a, n, masks, deterministic, actions, NULL, log_probs)))
    return rc;
  for (int64_t i = 0; a->gauss && i < n; i++)
    brl__agent_clip_action(a, actions + i * a->act_dim,
                           actions + i * a->act_dim);
  return BRL_OK;
}

int brl_agent_shap(brl_agent *a, const float *obs, int64_t n, float *out) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(obs);
  BRL_CHECK_ARG(out);
  /* The observations are read as brl_agent_act reads them: the same checks
   * and the same numeric / categorical split. */
  const float *X;
  const int32_t *Xc;
  int rc = check_obs(a, obs, n);
  if (!rc)
    rc = brl__agent_split(a, obs, n, &X, &Xc);
  if (!rc)
    rc = brl_model_shap(a->pi, X, Xc, n, out);
  return rc;
}

int brl_agent_collect(brl_agent *a, const float *obs, const uint8_t *masks,
                      float *actions, float *log_probs, float *values) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(obs);
  BRL_CHECK_ARG(actions);
  if (a->pending)
    return brl__fail(BRL_ESTATE,
                     "brl_agent_collect: the previous step was not observed; "
                     "call brl_agent_observe() first");
  if (brl__off_policy(a) && masks)
    return brl__fail(BRL_EINVAL, "brl_agent_collect: action masks are not "
                                 "supported by awr and dqn: pass NULL");
  if (a->t >= brl__rollout_len(a))
    return brl__fail(BRL_ESTATE, "brl_agent_collect: the rollout is full; call "
                                 "brl_agent_update() first");
  if (a->t > 0 && (masks != NULL) != a->has_mask)
    return brl__fail(BRL_EINVAL,
                     "brl_agent_collect: pass masks at every step of a "
                     "rollout or at none");
  /* With a communicator, this rank's rows [lo, lo + n) of the n_envs. */
  const int E = a->cfg.n_envs;
  const int lo = a->comm ? a->c_first : 0, n = a->comm ? a->c_count : E;
  int rc;
  if ((rc = check_obs(a, obs, n)) || (rc = check_masks(a, masks, n)) ||
      (rc = brl__agent_reserve_rollout(a)))
    return rc;
  if (a->t == 0 && a->t_mark == 0.0)
    a->t_mark = brl__now();
  if (a->t == 0)
    brl__models_stamp(a, a->r_stamp);
  const size_t row = (size_t)a->t * (size_t)E + (size_t)lo;
  float *o = a->obs + row * (size_t)a->obs_dim;
  memcpy(o, obs, (size_t)n * (size_t)a->obs_dim * sizeof(float));
  float *v = a->val + row;
  if ((rc = brl__agent_forward(a, o, n, v)))
    return rc;
  a->has_mask = masks != NULL;
  uint8_t *m = NULL;
  if (masks) {
    m = a->mask + row * (size_t)a->mask_dim;
    memcpy(m, masks, (size_t)n * (size_t)a->mask_dim);
  }
  skip_rows(a, lo);
  if ((rc = act_rows(a, n, m, 0, a->act + row * (size_t)a->act_dim, actions,
                     a->logp + row)))
    return rc;
  skip_rows(a, E - lo - n);
  if (a->r_pred)
    memcpy(a->r_pred + row * (size_t)a->pi_K, a->out_pi,
           (size_t)n * (size_t)a->pi_K * sizeof(float));
  if (a->r_qt)
    memcpy(a->r_qt + row * (size_t)a->pi_K, a->out_qt,
           (size_t)n * (size_t)a->pi_K * sizeof(float));
  if (log_probs)
    memcpy(log_probs, a->logp + row, (size_t)n * sizeof(float));
  if (values)
    memcpy(values, v, (size_t)n * sizeof(float));
  a->pending = 1;
  return BRL_OK;
}
