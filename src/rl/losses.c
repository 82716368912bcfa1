#include "rl/losses.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

#define BRL_HALF_LOG_2PI 0.91893853320467274178  /* 0.5 log(2 pi) */
#define BRL_HALF_LOG_2PIE 1.41893853320467274178 /* 0.5 log(2 pi e) */

static int allowed(const uint8_t *mask, int j) { return !mask || mask[j]; }

/* ------------------------------------------------------------ categorical */

double brl__cat_logsumexp(const float *z, const uint8_t *mask, int n) {
  double m = -INFINITY;
  int any = 0;
  for (int j = 0; j < n; j++) {
    if (!allowed(mask, j))
      continue;
    if (!any || (double)z[j] > m)
      m = (double)z[j];
    any = 1;
  }
  if (!any)
    return -INFINITY;
  if (!isfinite(m))
    return m; /* +inf or NaN logits: nothing sensible to subtract */
  double s = 0.0;
  for (int j = 0; j < n; j++)
    if (allowed(mask, j))
      s += exp((double)z[j] - m);
  return m + log(s);
}

void brl__cat_log_softmax(const float *z, const uint8_t *mask, int n,
                          double *logp) {
  double lse = brl__cat_logsumexp(z, mask, n);
  for (int j = 0; j < n; j++)
    logp[j] = allowed(mask, j) ? (double)z[j] - lse : -INFINITY;
}

void brl__cat_probs(const float *z, const uint8_t *mask, int n, double *p) {
  double lse = brl__cat_logsumexp(z, mask, n);
  for (int j = 0; j < n; j++)
    p[j] = allowed(mask, j) ? exp((double)z[j] - lse) : 0.0;
}

double brl__cat_log_prob(const float *z, const uint8_t *mask, int n, int a) {
  if (a < 0 || a >= n || !allowed(mask, a))
    return -INFINITY;
  return (double)z[a] - brl__cat_logsumexp(z, mask, n);
}

/* Entropy given the log-sum-exp: -sum p_j (z_j - lse). Using z_j - lse
 * rather than log(p_j) keeps underflowed probabilities harmless. */
static double cat_entropy_lse(const float *z, const uint8_t *mask, int n,
                              double lse) {
  double h = 0.0;
  for (int j = 0; j < n; j++) {
    if (!allowed(mask, j))
      continue;
    double lp = (double)z[j] - lse;
    h -= exp(lp) * lp;
  }
  return h;
}

double brl__cat_entropy(const float *z, const uint8_t *mask, int n) {
  return cat_entropy_lse(z, mask, n, brl__cat_logsumexp(z, mask, n));
}

int brl__cat_sample(const float *z, const uint8_t *mask, int n, double u) {
  double lse = brl__cat_logsumexp(z, mask, n);
  int last = -1;
  double c = 0.0;
  for (int j = 0; j < n; j++) {
    if (!allowed(mask, j))
      continue;
    c += exp((double)z[j] - lse);
    last = j;
    if (u < c)
      return j;
  }
  return last;
}

int brl__cat_argmax(const float *z, const uint8_t *mask, int n) {
  int best = -1;
  for (int j = 0; j < n; j++) {
    if (!allowed(mask, j))
      continue;
    if (best < 0 || z[j] > z[best])
      best = j;
  }
  return best;
}

double brl__cat_grad(const float *z, const uint8_t *mask, int n, int a,
                     double k_logp, double k_ent, float *g) {
  double lse = brl__cat_logsumexp(z, mask, n);
  double h = cat_entropy_lse(z, mask, n, lse);
  for (int j = 0; j < n; j++) {
    if (!allowed(mask, j)) {
      g[j] = 0.0f;
      continue;
    }
    double lp = (double)z[j] - lse;
    double p = exp(lp);
    double v = k_ent * (-p * (lp + h));
    if (a >= 0)
      v += k_logp * ((j == a ? 1.0 : 0.0) - p);
    g[j] = (float)v;
  }
  return h;
}

/* ------------------------------------------------------- diagonal Gaussian */

double brl__gauss_log_prob(const float *mu, const float *log_std,
                           const float *a, int d) {
  double lp = 0.0;
  for (int j = 0; j < d; j++) {
    double s = (double)log_std[j];
    double x = ((double)a[j] - (double)mu[j]) * exp(-s);
    lp += -0.5 * x * x - s - BRL_HALF_LOG_2PI;
  }
  return lp;
}

double brl__gauss_entropy(const float *log_std, int d) {
  double h = 0.0;
  for (int j = 0; j < d; j++)
    h += (double)log_std[j] + BRL_HALF_LOG_2PIE;
  return h;
}

void brl__gauss_sample(const float *mu, const float *log_std, const double *eps,
                       int d, float *a) {
  for (int j = 0; j < d; j++)
    a[j] = (float)((double)mu[j] + exp((double)log_std[j]) * eps[j]);
}

void brl__gauss_grad(const float *mu, const float *log_std, const float *a,
                     int d, double k_logp, double k_ent, float *g_mu,
                     float *g_s) {
  for (int j = 0; j < d; j++) {
    double gm = 0.0, gs = k_ent;
    if (a) {
      double inv_sigma = exp(-(double)log_std[j]);
      double x = ((double)a[j] - (double)mu[j]) * inv_sigma; /* standardized */
      gm = k_logp * x * inv_sigma;
      gs += k_logp * (x * x - 1.0);
    }
    if (g_mu)
      g_mu[j] = (float)gm;
    if (g_s)
      g_s[j] = (float)gs;
  }
}

/* ----------------------------------------------- distributions in general */

int brl__dist_init_categorical(brl_dist *d, int n_actions) {
  BRL_CHECK_ARG(d);
  if (n_actions < 1)
    return brl__fail(BRL_EINVAL,
                     "brl__dist_init_categorical: n_actions is %d; it must be "
                     ">= 1",
                     n_actions);
  *d = (brl_dist){0};
  d->kind = BRL_DIST_CATEGORICAL;
  d->n_sub = 1;
  d->nvec[0] = n_actions;
  d->n_params = n_actions;
  d->action_dim = 1;
  return BRL_OK;
}

int brl__dist_init_multi_discrete(brl_dist *d, int n_sub, const int *nvec) {
  BRL_CHECK_ARG(d);
  BRL_CHECK_ARG(nvec);
  if (n_sub < 1 || n_sub > BRL_MAX_ACTION_DIM)
    return brl__fail(BRL_EINVAL,
                     "brl__dist_init_multi_discrete: n_sub is %d; it must be "
                     "in [1, %d]",
                     n_sub, BRL_MAX_ACTION_DIM);
  *d = (brl_dist){0};
  d->kind = BRL_DIST_MULTI_DISCRETE;
  d->n_sub = n_sub;
  d->action_dim = n_sub;
  for (int k = 0; k < n_sub; k++) {
    if (nvec[k] < 1 || nvec[k] > (1 << 24))
      return brl__fail(BRL_EINVAL,
                       "brl__dist_init_multi_discrete: nvec[%d] is %d; it "
                       "must be in [1, 2^24]",
                       k, nvec[k]);
    d->nvec[k] = nvec[k];
    d->n_params += nvec[k];
  }
  return BRL_OK;
}

int brl__dist_init_gaussian(brl_dist *d, int dim) {
  BRL_CHECK_ARG(d);
  if (dim < 1 || dim > BRL_MAX_ACTION_DIM)
    return brl__fail(BRL_EINVAL,
                     "brl__dist_init_gaussian: dim is %d; it must be in "
                     "[1, %d]",
                     dim, BRL_MAX_ACTION_DIM);
  *d = (brl_dist){0};
  d->kind = BRL_DIST_GAUSSIAN;
  d->n_sub = dim;
  d->n_params = dim;
  d->action_dim = dim;
  return BRL_OK;
}

int brl__dist_check(const brl_dist *d) {
  BRL_CHECK_ARG(d);
  if (d->n_sub < 1 || d->n_sub > BRL_MAX_ACTION_DIM)
    return brl__fail(BRL_EINVAL, "brl_dist: n_sub is %d; it must be in [1, %d]",
                     d->n_sub, BRL_MAX_ACTION_DIM);
  switch (d->kind) {
  case BRL_DIST_CATEGORICAL:
  case BRL_DIST_MULTI_DISCRETE: {
    if (d->kind == BRL_DIST_CATEGORICAL && d->n_sub != 1)
      return brl__fail(BRL_EINVAL,
                       "brl_dist: a categorical has n_sub %d; it must be 1",
                       d->n_sub);
    int64_t total = 0;
    for (int k = 0; k < d->n_sub; k++) {
      if (d->nvec[k] < 1)
        return brl__fail(BRL_EINVAL,
                         "brl_dist: nvec[%d] is %d; it must be >= 1", k,
                         d->nvec[k]);
      total += d->nvec[k];
    }
    if (total != d->n_params || d->action_dim != d->n_sub)
      return brl__fail(BRL_EINVAL,
                       "brl_dist: n_params %d / action_dim %d do not match "
                       "nvec; fill the struct with brl_dist_init_*",
                       d->n_params, d->action_dim);
    return BRL_OK;
  }
  case BRL_DIST_GAUSSIAN:
    if (d->n_params != d->n_sub || d->action_dim != d->n_sub)
      return brl__fail(BRL_EINVAL,
                       "brl_dist: Gaussian n_params %d / action_dim %d differ "
                       "from its dimension %d",
                       d->n_params, d->action_dim, d->n_sub);
    return BRL_OK;
  default:
    return brl__fail(BRL_EINVAL, "brl_dist: unknown kind %d", (int)d->kind);
  }
}

/* Checks d and the pointers of pi that d needs. */
static int check_pi(const char *fn, const brl_dist *d,
                    const brl_policy_out *pi) {
  int rc = brl__dist_check(d);
  if (rc)
    return rc;
  if (!pi || !pi->params)
    return brl__fail(BRL_EINVAL, "%s: the policy outputs (params) are NULL",
                     fn);
  if (d->kind == BRL_DIST_GAUSSIAN && !pi->log_std)
    return brl__fail(BRL_EINVAL, "%s: a Gaussian policy needs log_std", fn);
  if (d->kind != BRL_DIST_GAUSSIAN && pi->mask) {
    int off = 0;
    for (int k = 0; k < d->n_sub; k++) {
      int any = 0;
      for (int j = 0; j < d->nvec[k] && !any; j++)
        any = pi->mask[off + j] != 0;
      if (!any)
        return brl__fail(
            BRL_EINVAL, "%s: the mask allows no action in sub-space %d", fn, k);
      off += d->nvec[k];
    }
  }
  return BRL_OK;
}

/* Converts the discrete action of sub-space k (logits at off) to an index. */
static int discrete_action(const char *fn, const brl_dist *d,
                           const brl_policy_out *pi, const float *action, int k,
                           int off, int *out) {
  float v = action[k];
  int n = d->nvec[k];
  if (!(v >= 0.0f && v < (float)n) || v != floorf(v))
    return brl__fail(BRL_EINVAL,
                     "%s: action[%d] = %g is not an integer in [0, %d)", fn, k,
                     (double)v, n);
  int a = (int)v;
  if (pi->mask && !pi->mask[off + a])
    return brl__fail(BRL_EINVAL, "%s: action[%d] = %d is masked", fn, k, a);
  *out = a;
  return BRL_OK;
}

int brl__dist_grad(const brl_dist *d, const brl_policy_out *pi,
                   const float *action, double k_logp, double k_ent,
                   float *g_params, float *g_log_std, double *logp, double *H) {
  static const char fn[] = "brl__dist_grad";
  int rc = check_pi(fn, d, pi);
  if (rc)
    return rc;
  if (!g_params)
    return brl__fail(BRL_EINVAL, "%s: g_params is NULL", fn);
  if (!action && k_logp != 0.0)
    return brl__fail(BRL_EINVAL, "%s: action is NULL but k_logp != 0", fn);
  double lp = 0.0, h = 0.0;
  if (d->kind == BRL_DIST_GAUSSIAN) {
    if (action)
      lp = brl__gauss_log_prob(pi->params, pi->log_std, action, d->n_sub);
    h = brl__gauss_entropy(pi->log_std, d->n_sub);
    brl__gauss_grad(pi->params, pi->log_std, action, d->n_sub, k_logp, k_ent,
                    g_params, g_log_std);
  } else {
    /* Validate every action before writing any gradient. */
    int acts[BRL_MAX_ACTION_DIM];
    int off = 0;
    for (int k = 0; k < d->n_sub; k++) {
      acts[k] = -1;
      if (action && (rc = discrete_action(fn, d, pi, action, k, off, &acts[k])))
        return rc;
      off += d->nvec[k];
    }
    off = 0;
    for (int k = 0; k < d->n_sub; k++) {
      const float *z = pi->params + off;
      const uint8_t *m = pi->mask ? pi->mask + off : NULL;
      h += brl__cat_grad(z, m, d->nvec[k], acts[k], k_logp, k_ent,
                         g_params + off);
      if (acts[k] >= 0)
        lp += brl__cat_log_prob(z, m, d->nvec[k], acts[k]);
      off += d->nvec[k];
    }
  }
  if (logp)
    *logp = lp;
  if (H)
    *H = h;
  return BRL_OK;
}

int brl__dist_log_prob(const brl_dist *d, const brl_policy_out *pi,
                       const float *action, double *logp) {
  static const char fn[] = "brl__dist_log_prob";
  int rc = check_pi(fn, d, pi);
  if (rc)
    return rc;
  BRL_CHECK_ARG(action);
  BRL_CHECK_ARG(logp);
  if (d->kind == BRL_DIST_GAUSSIAN) {
    *logp = brl__gauss_log_prob(pi->params, pi->log_std, action, d->n_sub);
    return BRL_OK;
  }
  double lp = 0.0;
  int off = 0;
  for (int k = 0; k < d->n_sub; k++) {
    int a = 0;
    if ((rc = discrete_action(fn, d, pi, action, k, off, &a)))
      return rc;
    lp += brl__cat_log_prob(pi->params + off, pi->mask ? pi->mask + off : NULL,
                            d->nvec[k], a);
    off += d->nvec[k];
  }
  *logp = lp;
  return BRL_OK;
}

int brl__dist_entropy(const brl_dist *d, const brl_policy_out *pi, double *H) {
  int rc = check_pi("brl__dist_entropy", d, pi);
  if (rc)
    return rc;
  BRL_CHECK_ARG(H);
  if (d->kind == BRL_DIST_GAUSSIAN) {
    *H = brl__gauss_entropy(pi->log_std, d->n_sub);
    return BRL_OK;
  }
  double h = 0.0;
  int off = 0;
  for (int k = 0; k < d->n_sub; k++) {
    h += brl__cat_entropy(pi->params + off, pi->mask ? pi->mask + off : NULL,
                          d->nvec[k]);
    off += d->nvec[k];
  }
  *H = h;
  return BRL_OK;
}

int brl__dist_sample(const brl_dist *d, const brl_policy_out *pi, brl_rng *rng,
                     float *action) {
  int rc = check_pi("brl__dist_sample", d, pi);
  if (rc)
    return rc;
  BRL_CHECK_ARG(rng);
  BRL_CHECK_ARG(action);
  if (d->kind == BRL_DIST_GAUSSIAN) {
    for (int j = 0; j < d->n_sub; j++) {
      double eps = brl_rng_normal(rng);
      brl__gauss_sample(pi->params + j, pi->log_std + j, &eps, 1, action + j);
    }
    return BRL_OK;
  }
  int off = 0;
  for (int k = 0; k < d->n_sub; k++) {
    double u = brl_rng_uniform(rng);
    action[k] = (float)brl__cat_sample(
        pi->params + off, pi->mask ? pi->mask + off : NULL, d->nvec[k], u);
    off += d->nvec[k];
  }
  return BRL_OK;
}

int brl__dist_mode(const brl_dist *d, const brl_policy_out *pi, float *action) {
  int rc = check_pi("brl__dist_mode", d, pi);
  if (rc)
    return rc;
  BRL_CHECK_ARG(action);
  if (d->kind == BRL_DIST_GAUSSIAN) {
    for (int j = 0; j < d->n_sub; j++)
      action[j] = pi->params[j];
    return BRL_OK;
  }
  int off = 0;
  for (int k = 0; k < d->n_sub; k++) {
    action[k] = (float)brl__cat_argmax(
        pi->params + off, pi->mask ? pi->mask + off : NULL, d->nvec[k]);
    off += d->nvec[k];
  }
  return BRL_OK;
}

/* ---------------------------------------------------------- policy losses */

static int check_coef(const char *fn, const char *name, double v) {
  if (!(v >= 0.0) || !isfinite(v))
    return brl__fail(BRL_EINVAL, "%s: %s is %g; it must be finite and >= 0", fn,
                     name, v);
  return BRL_OK;
}

int brl__ppo_policy_loss(const brl_dist *d, const brl_policy_out *pi,
                         const float *action, double old_logp, double adv,
                         double clip_eps, double ent_coef, float *g_params,
                         float *g_log_std, brl_pg_info *info) {
  static const char fn[] = "brl__ppo_policy_loss";
  int rc;
  if ((rc = check_coef(fn, "clip_eps", clip_eps)) ||
      (rc = check_coef(fn, "ent_coef", ent_coef)))
    return rc;
  if (!isfinite(old_logp) || !isfinite(adv))
    return brl__fail(BRL_EINVAL,
                     "%s: old_logp (%g) and adv (%g) must be finite", fn,
                     old_logp, adv);
  BRL_CHECK_ARG(action);
  double logp, h;
  /* The log-probability first: the gradient's coefficient needs the ratio. */
  if ((rc = brl__dist_log_prob(d, pi, action, &logp)))
    return rc;
  double log_ratio = logp - old_logp;
  double ratio = exp(log_ratio);
  double lo = 1.0 - clip_eps, hi = 1.0 + clip_eps;
  double r_clip = ratio < lo ? lo : (ratio > hi ? hi : ratio);
  double s1 = ratio * adv, s2 = r_clip * adv;
  int clipped = s2 < s1; /* the min is the clipped term, strictly */
  double surr = clipped ? s2 : s1;
  double k_logp = clipped ? 0.0 : -adv * ratio;
  if ((rc = brl__dist_grad(d, pi, action, k_logp, -ent_coef, g_params,
                           g_log_std, NULL, &h)))
    return rc;
  if (info) {
    info->pg_loss = -surr;
    info->loss = -surr - ent_coef * h;
    info->logp = logp;
    info->entropy = h;
    info->ratio = ratio;
    info->approx_kl = (ratio - 1.0) - log_ratio;
    info->clipped = clipped;
    info->outside = fabs(ratio - 1.0) > clip_eps;
  }
  return BRL_OK;
}

/* L = -k * logp - ent_coef * H with a constant k (A2C: A, AWR: w). */
static int weighted_pg(const char *fn, const brl_dist *d,
                       const brl_policy_out *pi, const float *action, double k,
                       double ent_coef, float *g_params, float *g_log_std,
                       brl_pg_info *info) {
  int rc = check_coef(fn, "ent_coef", ent_coef);
  if (rc)
    return rc;
  BRL_CHECK_ARG(action);
  double logp, h;
  if ((rc = brl__dist_grad(d, pi, action, -k, -ent_coef, g_params, g_log_std,
                           &logp, &h)))
    return rc;
  if (info) {
    info->pg_loss = -k * logp;
    info->loss = -k * logp - ent_coef * h;
    info->logp = logp;
    info->entropy = h;
    info->ratio = 1.0;
    info->approx_kl = 0.0;
    info->clipped = 0;
    info->outside = 0;
  }
  return BRL_OK;
}

int brl__a2c_policy_loss(const brl_dist *d, const brl_policy_out *pi,
                         const float *action, double adv, double ent_coef,
                         float *g_params, float *g_log_std, brl_pg_info *info) {
  static const char fn[] = "brl__a2c_policy_loss";
  if (!isfinite(adv))
    return brl__fail(BRL_EINVAL, "%s: adv (%g) must be finite", fn, adv);
  return weighted_pg(fn, d, pi, action, adv, ent_coef, g_params, g_log_std,
                     info);
}

double brl__awr_weight(double adv, double beta, double w_max) {
  double x = adv / beta;
  /* exp(x) >= w_max exactly when x >= log(w_max): no overflow for big x. */
  if (x >= log(w_max))
    return w_max;
  return exp(x);
}

int brl__awr_policy_loss(const brl_dist *d, const brl_policy_out *pi,
                         const float *action, double weight, double ent_coef,
                         float *g_params, float *g_log_std, brl_pg_info *info) {
  static const char fn[] = "brl__awr_policy_loss";
  int rc = check_coef(fn, "weight", weight);
  if (rc)
    return rc;
  return weighted_pg(fn, d, pi, action, weight, ent_coef, g_params, g_log_std,
                     info);
}

/* ----------------------------------------------------------- value losses */

int brl__value_loss(float v, double ret, double vf_coef, float *g,
                    double *loss) {
  BRL_CHECK_ARG(g);
  int rc = check_coef("brl__value_loss", "vf_coef", vf_coef);
  if (rc)
    return rc;
  double e = (double)v - ret;
  *g = (float)(vf_coef * e);
  if (loss)
    *loss = 0.5 * vf_coef * e * e;
  return BRL_OK;
}

int brl__value_loss_clipped(float v, float v_old, double ret, double clip_c,
                            double vf_coef, float *g, double *loss) {
  static const char fn[] = "brl__value_loss_clipped";
  BRL_CHECK_ARG(g);
  int rc;
  if ((rc = check_coef(fn, "vf_coef", vf_coef)) ||
      (rc = check_coef(fn, "clip_c", clip_c)))
    return rc;
  double dv = (double)v - (double)v_old;
  int inside = dv >= -clip_c && dv <= clip_c;
  double v_clip = (double)v_old + (inside ? dv : (dv < 0 ? -clip_c : clip_c));
  double e1 = (double)v - ret, e2 = v_clip - ret;
  double l1 = e1 * e1, l2 = e2 * e2;
  double grad;
  if (l1 >= l2) {
    grad = vf_coef * e1;
  } else {
    grad = inside ? vf_coef * e2 : 0.0;
  }
  *g = (float)grad;
  if (loss)
    *loss = 0.5 * vf_coef * (l1 >= l2 ? l1 : l2);
  return BRL_OK;
}

/* ------------------------------------------------------------------- DQN */

double brl__huber(double x) {
  double ax = fabs(x);
  return ax < 1.0 ? 0.5 * x * x : ax - 0.5;
}

double brl__huber_grad(double x) {
  if (x >= 1.0)
    return 1.0;
  if (x <= -1.0)
    return -1.0;
  return x;
}

int brl__dqn_target(const float *q_next_target, const float *q_next_online,
                    int n_actions, double reward, double gamma, int terminated,
                    double *target) {
  static const char fn[] = "brl__dqn_target";
  BRL_CHECK_ARG(q_next_target);
  BRL_CHECK_ARG(target);
  if (n_actions < 1)
    return brl__fail(BRL_EINVAL, "%s: n_actions is %d; it must be >= 1", fn,
                     n_actions);
  if (terminated) {
    *target = reward;
    return BRL_OK;
  }
  int a = brl__cat_argmax(q_next_online ? q_next_online : q_next_target, NULL,
                          n_actions);
  *target = reward + gamma * (double)q_next_target[a];
  return BRL_OK;
}

int brl__dqn_loss(const float *q, int n_actions, int action, double target,
                  float *g, double *loss) {
  static const char fn[] = "brl__dqn_loss";
  BRL_CHECK_ARG(q);
  BRL_CHECK_ARG(g);
  if (n_actions < 1 || action < 0 || action >= n_actions)
    return brl__fail(BRL_EINVAL, "%s: action %d is not in [0, %d)", fn, action,
                     n_actions);
  double x = (double)q[action] - target;
  for (int j = 0; j < n_actions; j++)
    g[j] = 0.0f;
  g[action] = (float)brl__huber_grad(x);
  if (loss)
    *loss = brl__huber(x);
  return BRL_OK;
}

/* ------------------------------------------------------------- utilities */

double brl__clip_grad_norm(float *g, int n, double max_norm) {
  double ss = 0.0;
  for (int j = 0; j < n; j++)
    ss += (double)g[j] * (double)g[j];
  double norm = sqrt(ss);
  if (!(max_norm > 0.0) || !isfinite(norm))
    return norm;
  /* The factor 1 - 2^-23 keeps float rounding of the scaled components from
   * pushing the norm above max_norm. */
  double c = max_norm / (norm + 1e-6) * (1.0 - 0x1p-23);
  if (c < 1.0)
    for (int j = 0; j < n; j++)
      g[j] = (float)((double)g[j] * c);
  return norm;
}
