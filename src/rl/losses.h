/*
 * losses.h - policy distributions and per-sample RL loss gradients.
 *
 * boostrl fits each tree to per-sample gradients of a loss with respect to
 * the model outputs. The functions here compute, for ONE sample, the value
 * of that sample's own loss (for logging) and its analytic gradient with
 * respect to the outputs the trees produce (logits, Gaussian means and
 * log-stds, state values, Q-values). The trees then descend that gradient.
 *
 * Conventions
 *  - Inputs are the float outputs of the model; all arithmetic is done in
 *    double; gradients are written as floats (the layout brl_model_step()
 *    takes) into caller buffers, which are overwritten, never accumulated.
 *  - No function allocates, prints or keeps state.
 *  - Functions that validate their arguments return an int status (BRL_OK or
 *    BRL_EINVAL with a message for brl_last_error()); the plain math helpers
 *    (brl_cat_*, brl_gauss_*, brl__huber*, brl__awr_weight, ...) return values
 *    and document their preconditions instead.
 *  - Losses are per sample and unaveraged: the mean over a minibatch that a
 *    deep-learning library would take is the trees' business (each leaf
 *    stores -lr * mean of its samples' gradients).
 */
#ifndef BRL_RL_LOSSES_H
#define BRL_RL_LOSSES_H

#include <stdint.h>

#include "boostrl.h"
#include "core/rng.h"

/* ------------------------------------------------------------ categorical */

/* A categorical distribution over n >= 1 actions given by logits z[n]. An
 * optional mask (one byte per action, nonzero = allowed; NULL = all allowed)
 * excludes actions: a masked action has probability 0 and receives gradient
 * 0, whatever its logit (which is never read, so it may be anything).
 * Preconditions of the brl_cat_* helpers: z != NULL, n >= 1, and at least one
 * action allowed (the helpers that return a log-sum-exp or an index report
 * the violation as -INFINITY or -1). */

/* log(sum over allowed j of exp(z_j)), computed stably; -INFINITY when no
 * action is allowed. */
double brl__cat_logsumexp(const float *z, const uint8_t *mask, int n);
/* logp[j] = z_j - logsumexp(z) for allowed j, -INFINITY for masked j. */
void brl__cat_log_softmax(const float *z, const uint8_t *mask, int n,
                          double *logp);
/* p[j] = softmax(z)_j for allowed j, 0 for masked j. */
void brl__cat_probs(const float *z, const uint8_t *mask, int n, double *p);
/* log p(a); -INFINITY if a is masked or out of [0, n). */
double brl__cat_log_prob(const float *z, const uint8_t *mask, int n, int a);
/* Entropy H = -sum_j p_j log p_j over allowed j (in nats). */
double brl__cat_entropy(const float *z, const uint8_t *mask, int n);
/* Inverse-CDF sample from a uniform u in [0, 1): the first allowed j whose
 * cumulative probability exceeds u (the last allowed action if rounding
 * leaves u above the total). -1 when no action is allowed. */
int brl__cat_sample(const float *z, const uint8_t *mask, int n, double u);
/* The allowed action with the largest logit (the first one on ties); -1
 * when no action is allowed. */
int brl__cat_argmax(const float *z, const uint8_t *mask, int n);
/* g[j] = k_logp * d log p(a) / dz_j + k_ent * dH / dz_j, where
 *   d log p(a) / dz_j = [j == a] - p_j   and   dH / dz_j = -p_j (log p_j + H).
 * Pass a < 0 to leave out the log-probability term. g[j] = 0 for masked j.
 * Returns the entropy H (reused by the losses). */
double brl__cat_grad(const float *z, const uint8_t *mask, int n, int a,
                     double k_logp, double k_ent, float *g);

/* ------------------------------------------------------- diagonal Gaussian */

/* A diagonal Gaussian over d >= 1 dimensions with means mu[d] and log
 * standard deviations s[d] (sigma = exp(s)):
 *   log N(a) = sum_j -0.5 ((a_j - mu_j) / sigma_j)^2 - s_j - 0.5 log(2 pi)
 *   H        = sum_j s_j + 0.5 log(2 pi e).
 * The log-probability is of the action as sampled (before any clipping to
 * the action box), as stable-baselines3 stores it. */
double brl__gauss_log_prob(const float *mu, const float *log_std,
                           const float *a, int d);
double brl__gauss_entropy(const float *log_std, int d);
/* a_j = mu_j + exp(s_j) * eps_j for standard-normal noise eps[d]. */
void brl__gauss_sample(const float *mu, const float *log_std, const double *eps,
                       int d, float *a);
/* Gradient of k_logp * log N(a) + k_ent * H:
 *   g_mu[j] = k_logp * (a_j - mu_j) / sigma_j^2
 *   g_s[j]  = k_logp * ((a_j - mu_j)^2 / sigma_j^2 - 1) + k_ent.
 * Pass a == NULL to leave out the log-probability term. g_mu or g_s may be
 * NULL when that gradient is not wanted (e.g. a fixed log-std). The log-std
 * may be tree outputs or one state-independent vector; the gradient is per
 * sample either way (for a shared vector the caller averages it over the
 * batch). */
void brl__gauss_grad(const float *mu, const float *log_std, const float *a,
                     int d, double k_logp, double k_ent, float *g_mu,
                     float *g_s);

/* ----------------------------------------------- distributions in general */

typedef enum brl_dist_kind {
  BRL_DIST_CATEGORICAL = 0,    /* one categorical over nvec[0] actions */
  BRL_DIST_MULTI_DISCRETE = 1, /* n_sub categoricals side by side */
  BRL_DIST_GAUSSIAN = 2        /* diagonal Gaussian of dimension n_sub */
} brl_dist_kind;

/* The action distribution of a policy: a plain struct, filled by one of the
 * brl_dist_init_* functions. */
typedef struct brl_dist {
  brl_dist_kind kind;
  int n_sub;                    /* categoricals, or Gaussian dimensions */
  int nvec[BRL_MAX_ACTION_DIM]; /* actions of each categorical */
  int n_params;   /* policy outputs: sum of nvec (logits), or n_sub (means) */
  int action_dim; /* floats per action: 1, n_sub, n_sub */
} brl_dist;

int brl__dist_init_categorical(brl_dist *d, int n_actions);
int brl__dist_init_multi_discrete(brl_dist *d, int n_sub, const int *nvec);
int brl__dist_init_gaussian(brl_dist *d, int dim);
/* BRL_OK if d is a consistent distribution (as the init functions make). */
int brl__dist_check(const brl_dist *d);

/* The policy outputs of one sample. */
typedef struct brl_policy_out {
  /* Categorical / multi-discrete: the logits, n_params floats, the
   * sub-spaces one after another. Gaussian: the means, n_params floats. */
  const float *params;
  /* Gaussian only: n_sub log standard deviations (tree outputs of this
   * sample, or a state-independent vector shared by all samples). */
  const float *log_std;
  /* Discrete kinds only, optional: one byte per logit, nonzero = allowed.
   * Each sub-space must keep at least one allowed action. */
  const uint8_t *mask;
} brl_policy_out;

/* Actions are action_dim floats, as brl_env_step() takes them: a discrete
 * action is its index as a float (exactly integer, in range, not masked);
 * a Gaussian action is the unclipped sample. */

/* log pi(action): the sum over sub-spaces / dimensions. */
int brl__dist_log_prob(const brl_dist *d, const brl_policy_out *pi,
                       const float *action, double *logp);
/* Entropy: the sum over sub-spaces / dimensions. */
int brl__dist_entropy(const brl_dist *d, const brl_policy_out *pi, double *H);
/* Draws an action: one uniform per categorical, one standard normal per
 * Gaussian dimension, taken from rng in order. */
int brl__dist_sample(const brl_dist *d, const brl_policy_out *pi, brl_rng *rng,
                     float *action);
/* The deterministic action: argmax of each categorical, or the means. */
int brl__dist_mode(const brl_dist *d, const brl_policy_out *pi, float *action);
/* Gradient of k_logp * log pi(action) + k_ent * H with respect to the policy
 * outputs: g_params (n_params floats, same layout as pi->params) and, for a
 * Gaussian, g_log_std (n_sub floats; may be NULL, e.g. for a fixed log-std;
 * ignored for discrete kinds). action may be NULL when k_logp == 0. Also
 * returns log pi(action) (0 when action is NULL) and H when the pointers are
 * not NULL. */
int brl__dist_grad(const brl_dist *d, const brl_policy_out *pi,
                   const float *action, double k_logp, double k_ent,
                   float *g_params, float *g_log_std, double *logp, double *H);

/* ---------------------------------------------------------- policy losses */

/* What a policy loss reports about one sample (all fields are written). */
typedef struct brl_pg_info {
  double loss;      /* the sample's whole loss, entropy term included */
  double pg_loss;   /* the loss without the entropy term */
  double logp;      /* log pi(action) under the current outputs */
  double entropy;   /* H of the current distribution */
  double ratio;     /* PPO: exp(logp - old_logp); 1 for A2C / AWR */
  double approx_kl; /* PPO: (ratio - 1) - log(ratio); 0 for A2C / AWR */
  int clipped;      /* PPO: the clipped term is the minimum (and strictly
                       below the other), so the surrogate's gradient is 0 */
  int outside;      /* PPO: |ratio - 1| > clip_eps (stable-baselines3's
                       clip_fraction counts these) */
} brl_pg_info;

/* PPO clipped surrogate with entropy bonus:
 *   ratio = exp(logp - old_logp)
 *   L = -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) - ent_coef * H.
 * dL/d(outputs) = (clipped ? 0 : -A * ratio) * dlogp - ent_coef * dH.
 * When the two terms tie (ratio inside the clip range, or A == 0) the
 * unclipped term's gradient is used. clip_eps >= 0; info may be NULL. */
int brl__ppo_policy_loss(const brl_dist *d, const brl_policy_out *pi,
                         const float *action, double old_logp, double adv,
                         double clip_eps, double ent_coef, float *g_params,
                         float *g_log_std, brl_pg_info *info);

/* A2C: L = -logp * A - ent_coef * H. */
int brl__a2c_policy_loss(const brl_dist *d, const brl_policy_out *pi,
                         const float *action, double adv, double ent_coef,
                         float *g_params, float *g_log_std, brl_pg_info *info);

/* AWR sample weight w = min(exp(A / beta), w_max), computed without
 * overflow (beta > 0, w_max > 0). */
double brl__awr_weight(double adv, double beta, double w_max);
/* AWR: L = -w * logp - ent_coef * H, with w from brl__awr_weight() (a
 * constant of the loss: no gradient flows through it). w >= 0. */
int brl__awr_policy_loss(const brl_dist *d, const brl_policy_out *pi,
                         const float *action, double weight, double ent_coef,
                         float *g_params, float *g_log_std, brl_pg_info *info);

/* ----------------------------------------------------------- value losses */

/* L = 0.5 * vf_coef * (V - R)^2; *g = vf_coef * (V - R). loss may be NULL. */
int brl__value_loss(float v, double ret, double vf_coef, float *g,
                    double *loss);
/* stable-baselines3's clipped value loss (clip_range_vf):
 *   V_clip = V_old + clip(V - V_old, -c, c)
 *   L = 0.5 * vf_coef * max((V - R)^2, (V_clip - R)^2)
 * with the gradient of the branch that is the maximum (the unclipped one on
 * ties); V_clip has slope 1 in V inside [V_old - c, V_old + c] (edges
 * included, as torch.clamp) and 0 outside. c >= 0. loss may be NULL. */
int brl__value_loss_clipped(float v, float v_old, double ret, double clip_c,
                            double vf_coef, float *g, double *loss);

/* ------------------------------------------------------------------- DQN */

/* Huber loss with delta 1 (PyTorch's smooth_l1_loss with beta = 1):
 * 0.5 x^2 if |x| < 1, else |x| - 0.5; its derivative x or sign(x). */
double brl__huber(double x);
double brl__huber_grad(double x);

/* target = r + gamma * (1 - terminated) * Q_target(s', a*), where a* is the
 * argmax of q_next_target (DQN) or, when q_next_online is not NULL, of
 * q_next_online (double DQN). Pass terminated, not truncated: a truncated
 * transition is bootstrapped from its final observation. n_actions >= 1. */
int brl__dqn_target(const float *q_next_target, const float *q_next_online,
                    int n_actions, double reward, double gamma, int terminated,
                    double *target);
/* L = huber(Q(s, a) - target). g (n_actions floats) is 0 except at the taken
 * action, where it is huber'(Q(s, a) - target). loss may be NULL. */
int brl__dqn_loss(const float *q, int n_actions, int action, double target,
                  float *g, double *loss);

/* ------------------------------------------------------------- utilities */

/* Scales g[0..n) so that its L2 norm is at most max_norm, with PyTorch's
 * clip_grad_norm_ coefficient max_norm / (norm + 1e-6) when that is below 1
 * (times 1 - 2^-23, so that rounding to float cannot leave the norm above
 * max_norm).
 * A no-op when max_norm <= 0 or the norm is not finite. Returns the norm
 * before clipping. */
double brl__clip_grad_norm(float *g, int n, double max_norm);

#endif
