/* Per-sample RL loss gradients against central finite differences of
 * reference losses written independently here (naive softmax, the normal
 * density, the textbook PPO / value / Huber formulas). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "boostrl.h"
#include "core/rng.h"
#include "rl/losses.h"
#include "testlib.h"

#define MAXP 32
#define RTOL 1e-5
/* A power of two: x +- FD_H is exact in float for |x| < 2^11, so the central
 * difference is symmetric. */
#define FD_H (1.0 / 8192.0)

/* ------------------------------------------------------------ references */

static double ref_cat_logp(const float *z, const uint8_t *mask, int n, int a) {
  double s = 0.0;
  for (int j = 0; j < n; j++)
    if (!mask || mask[j])
      s += exp((double)z[j]);
  return log(exp((double)z[a]) / s);
}

static double ref_cat_entropy(const float *z, const uint8_t *mask, int n) {
  double s = 0.0, h = 0.0;
  for (int j = 0; j < n; j++)
    if (!mask || mask[j])
      s += exp((double)z[j]);
  for (int j = 0; j < n; j++)
    if (!mask || mask[j]) {
      double p = exp((double)z[j]) / s;
      h -= p * log(p);
    }
  return h;
}

static double ref_gauss_logp(const float *mu, const float *s, const float *a,
                             int d) {
  double lp = 0.0;
  for (int j = 0; j < d; j++) {
    double sigma = exp((double)s[j]);
    double x = (double)a[j] - (double)mu[j];
    double pdf = exp(-x * x / (2.0 * sigma * sigma)) /
                 (sqrt(2.0 * 3.14159265358979323846) * sigma);
    lp += log(pdf);
  }
  return lp;
}

static double ref_gauss_entropy(const float *s, int d) {
  double h = 0.0;
  for (int j = 0; j < d; j++)
    h += 0.5 * log(2.0 * 3.14159265358979323846 * 2.718281828459045235 *
                   exp(2.0 * (double)s[j]));
  return h;
}

enum { L_LOGP, L_ENT, L_PPO, L_A2C, L_AWR };

/* One policy sample: everything the reference loss needs. */
typedef struct pctx {
  brl_dist d;
  float params[MAXP];
  float log_std[MAXP];
  uint8_t mask[MAXP];
  int use_mask;
  float action[BRL_MAX_ACTION_DIM];
  int loss;
  double old_logp, adv, eps, ent, weight;
} pctx;

static double ref_logp(const pctx *c) {
  if (c->d.kind == BRL_DIST_GAUSSIAN)
    return ref_gauss_logp(c->params, c->log_std, c->action, c->d.n_sub);
  double lp = 0.0;
  int off = 0;
  for (int k = 0; k < c->d.n_sub; k++) {
    lp += ref_cat_logp(c->params + off, c->use_mask ? c->mask + off : NULL,
                       c->d.nvec[k], (int)c->action[k]);
    off += c->d.nvec[k];
  }
  return lp;
}

static double ref_entropy(const pctx *c) {
  if (c->d.kind == BRL_DIST_GAUSSIAN)
    return ref_gauss_entropy(c->log_std, c->d.n_sub);
  double h = 0.0;
  int off = 0;
  for (int k = 0; k < c->d.n_sub; k++) {
    h += ref_cat_entropy(c->params + off, c->use_mask ? c->mask + off : NULL,
                         c->d.nvec[k]);
    off += c->d.nvec[k];
  }
  return h;
}

static double ref_policy_loss(const pctx *c) {
  double lp = ref_logp(c), h = ref_entropy(c);
  switch (c->loss) {
  case L_LOGP:
    return lp;
  case L_ENT:
    return h;
  case L_PPO: {
    double r = exp(lp - c->old_logp);
    double rc = fmin(fmax(r, 1.0 - c->eps), 1.0 + c->eps);
    return -fmin(r * c->adv, rc * c->adv) - c->ent * h;
  }
  case L_A2C:
    return -lp * c->adv - c->ent * h;
  default:
    return -c->weight * lp - c->ent * h;
  }
}

/* ----------------------------------------------------- finite differences */

typedef double (*loss_fn)(void *ctx);

static void fd_grad(loss_fn f, void *ctx, float *x, int n, double *out) {
  for (int j = 0; j < n; j++) {
    float x0 = x[j];
    float xp = (float)((double)x0 + FD_H), xm = (float)((double)x0 - FD_H);
    x[j] = xp;
    double lp = f(ctx);
    x[j] = xm;
    double lm = f(ctx);
    x[j] = x0;
    out[j] = (lp - lm) / ((double)xp - (double)xm);
  }
}

/* Every component within RTOL of the finite difference, relative to the
 * component or (for components that are ~0 by cancellation) to the largest
 * one. Returns the largest magnitude, so callers can insist on a nonzero
 * gradient. */
static double check_grad(const char *what, int trial, const float *g,
                         const double *fd, int n) {
  double scale = 0.0;
  for (int j = 0; j < n; j++)
    scale = fmax(scale, fabs(fd[j]));
  for (int j = 0; j < n; j++) {
    double err = fabs((double)g[j] - fd[j]);
    double tol = RTOL * fmax(fabs(fd[j]), 1e-2 * scale) + 1e-12;
    CHECK_MSG(err <= tol, "%s trial %d: grad[%d] = %.10g, fd = %.10g", what,
              trial, j, (double)g[j], fd[j]);
  }
  return scale;
}

static double pctx_loss(void *p) { return ref_policy_loss((pctx *)p); }

static double rel_err(double a, double b) {
  return fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* ------------------------------------------------------------ generators */

static double unif(brl_rng *r, double lo, double hi) {
  return lo + (hi - lo) * brl_rng_uniform(r);
}

/* Random logits, an optional random mask (each sub-space of 2 or more
 * actions keeps >= 2 allowed), masked logits set large so that using them would
 * show, and an allowed random action. */
static void make_discrete(pctx *c, brl_rng *r, int use_mask) {
  memset(c->mask, 1, sizeof c->mask);
  c->use_mask = use_mask;
  int off = 0;
  for (int k = 0; k < c->d.n_sub; k++) {
    int n = c->d.nvec[k], n_allowed = 0;
    for (int j = 0; j < n; j++) {
      c->params[off + j] = (float)unif(r, -2.0, 2.0);
      if (use_mask && n > 1) {
        c->mask[off + j] = brl_rng_uniform(r) < 0.6;
        n_allowed += c->mask[off + j];
      }
    }
    /* Keep two actions allowed so that the gradients are not all 0. */
    while (use_mask && n > 1 && n_allowed < 2) {
      int j = (int)brl_rng_below(r, (uint64_t)n);
      n_allowed += !c->mask[off + j];
      c->mask[off + j] = 1;
    }
    for (int j = 0; j < n; j++)
      if (!c->mask[off + j])
        c->params[off + j] = 30.0f;
    int a;
    do
      a = (int)brl_rng_below(r, (uint64_t)n);
    while (!c->mask[off + a]);
    c->action[k] = (float)a;
    off += n;
  }
}

static void make_gauss(pctx *c, brl_rng *r) {
  c->use_mask = 0;
  for (int j = 0; j < c->d.n_sub; j++) {
    c->params[j] = (float)unif(r, -1.5, 1.5);
    c->log_std[j] = (float)unif(r, -1.0, 0.5);
    c->action[j] = (float)((double)c->params[j] +
                           exp((double)c->log_std[j]) * brl_rng_normal(r));
  }
}

static brl_policy_out pi_of(pctx *c) {
  brl_policy_out pi = {c->params, c->log_std, c->use_mask ? c->mask : NULL};
  return pi;
}

/* Runs the library's loss for c, compares its gradient (params and, for a
 * Gaussian, log_std) with finite differences of the reference loss and its
 * reported values with the reference. Returns the gradient scale. */
static double run_policy_case(const char *what, int trial, pctx *c,
                              brl_pg_info *info_out) {
  brl_policy_out pi = pi_of(c);
  float g[MAXP], gs[MAXP];
  double fd[MAXP], fds[MAXP];
  brl_pg_info info;
  memset(&info, 0, sizeof info);
  int rc = 0;
  switch (c->loss) {
  case L_LOGP:
  case L_ENT: {
    double lp, h;
    rc = brl__dist_grad(&c->d, &pi, c->loss == L_LOGP ? c->action : NULL,
                        c->loss == L_LOGP ? 1.0 : 0.0,
                        c->loss == L_ENT ? 1.0 : 0.0, g, gs, &lp, &h);
    info.loss = c->loss == L_LOGP ? lp : h;
    info.logp = c->loss == L_LOGP ? lp : ref_logp(c);
    info.entropy = h;
    break;
  }
  case L_PPO:
    rc = brl__ppo_policy_loss(&c->d, &pi, c->action, c->old_logp, c->adv,
                              c->eps, c->ent, g, gs, &info);
    break;
  case L_A2C:
    rc = brl__a2c_policy_loss(&c->d, &pi, c->action, c->adv, c->ent, g, gs,
                              &info);
    break;
  default:
    rc = brl__awr_policy_loss(&c->d, &pi, c->action, c->weight, c->ent, g, gs,
                              &info);
  }
  CHECK_MSG(rc == BRL_OK, "%s trial %d: rc %d (%s)", what, trial, rc,
            brl_last_error());
  if (rc)
    return 0.0;
  double ref = ref_policy_loss(c);
  CHECK_MSG(rel_err(info.loss, ref) < 1e-12,
            "%s trial %d: loss %.15g ref %.15g", what, trial, info.loss, ref);
  CHECK_MSG(rel_err(info.logp, ref_logp(c)) < 1e-12, "%s trial %d: logp", what,
            trial);
  CHECK_MSG(rel_err(info.entropy, ref_entropy(c)) < 1e-12,
            "%s trial %d: entropy %.15g ref %.15g", what, trial, info.entropy,
            ref_entropy(c));
  fd_grad(pctx_loss, c, c->params, c->d.n_params, fd);
  double scale = check_grad(what, trial, g, fd, c->d.n_params);
  if (c->d.kind == BRL_DIST_GAUSSIAN) {
    fd_grad(pctx_loss, c, c->log_std, c->d.n_sub, fds);
    scale = fmax(scale, check_grad(what, trial, gs, fds, c->d.n_sub));
  } else if (c->use_mask) {
    for (int j = 0; j < c->d.n_params; j++)
      if (!c->mask[j])
        CHECK_MSG(g[j] == 0.0f, "%s trial %d: masked logit %d has grad %g",
                  what, trial, j, (double)g[j]);
  }
  if (info_out)
    *info_out = info;
  return scale;
}

/* ------------------------------------------------------------------ tests */

static void test_categorical_helpers(void) {
  float z[5] = {0.5f, -1.0f, 2.0f, 2.0f, 0.0f};
  uint8_t m[5] = {1, 1, 0, 1, 1};
  double p[5], lp[5];
  brl__cat_probs(z, m, 5, p);
  brl__cat_log_softmax(z, m, 5, lp);
  double sum = 0.0;
  for (int j = 0; j < 5; j++)
    sum += p[j];
  CHECK(fabs(sum - 1.0) < 1e-14);
  CHECK(p[2] == 0.0 && isinf(lp[2]) && lp[2] < 0);
  for (int j = 0; j < 5; j++)
    if (m[j]) {
      CHECK(fabs(lp[j] - ref_cat_logp(z, m, 5, j)) < 1e-14);
      CHECK(fabs(p[j] - exp(lp[j])) < 1e-15);
    }
  CHECK(fabs(brl__cat_entropy(z, m, 5) - ref_cat_entropy(z, m, 5)) < 1e-14);
  CHECK(isinf(brl__cat_log_prob(z, m, 5, 2)));
  CHECK(isinf(brl__cat_log_prob(z, m, 5, 5)));
  /* argmax skips the masked maximum; ties go to the first. */
  CHECK(brl__cat_argmax(z, m, 5) == 3);
  CHECK(brl__cat_argmax(z, NULL, 5) == 2);
  uint8_t none[5] = {0};
  CHECK(brl__cat_argmax(z, none, 5) == -1);
  CHECK(brl__cat_sample(z, none, 5, 0.5) == -1);
  CHECK(isinf(brl__cat_logsumexp(z, none, 5)));
  /* Uniform logits: entropy log(n allowed). */
  float u[4] = {0.3f, 0.3f, 0.3f, 0.3f};
  uint8_t m3[4] = {1, 0, 1, 1};
  CHECK(fabs(brl__cat_entropy(u, NULL, 4) - log(4.0)) < 1e-14);
  CHECK(fabs(brl__cat_entropy(u, m3, 4) - log(3.0)) < 1e-14);
  /* Large logits stay finite. */
  float big[3] = {1000.0f, 999.0f, -1000.0f};
  double lpb = brl__cat_log_prob(big, NULL, 3, 1);
  CHECK(fabs(lpb - (-1.0 - log1p(exp(-1.0)))) < 1e-12);
  CHECK(isfinite(brl__cat_entropy(big, NULL, 3)));
  float gb[3];
  double hb = brl__cat_grad(big, NULL, 3, 1, 1.0, 1.0, gb);
  CHECK(isfinite(hb) && isfinite(gb[0]) && isfinite(gb[1]) && gb[2] == 0.0f);

  /* Inverse-CDF sampling on a fine grid of u reproduces the probabilities,
   * and never picks a masked action. */
  enum { N = 100000 };
  int counts[5] = {0}, n_bad = 0;
  for (int i = 0; i < N; i++) {
    int a = brl__cat_sample(z, m, 5, (i + 0.5) / N);
    if (a >= 0 && a < 5 && m[a])
      counts[a]++;
    else
      n_bad++;
  }
  CHECK(n_bad == 0);
  for (int j = 0; j < 5; j++)
    CHECK_MSG(fabs((double)counts[j] / N - p[j]) <= 1.5 / N,
              "action %d freq %g p %g", j, (double)counts[j] / N, p[j]);
  CHECK(brl__cat_sample(z, m, 5, 0.0) == 0);
  CHECK(brl__cat_sample(z, m, 5, 0.999999999999) == 4);
  uint8_t m_last[5] = {1, 1, 1, 1, 0};
  CHECK(brl__cat_sample(z, m_last, 5, 0.9999999999999999) == 3);
}

static void test_gauss_helpers(void) {
  float mu[3] = {0.5f, -1.0f, 2.0f}, s[3] = {-0.5f, 0.0f, 0.3f};
  float a[3] = {0.7f, -1.5f, 2.0f};
  CHECK(fabs(brl__gauss_log_prob(mu, s, a, 3) - ref_gauss_logp(mu, s, a, 3)) <
        1e-13);
  CHECK(fabs(brl__gauss_entropy(s, 3) - ref_gauss_entropy(s, 3)) < 1e-13);
  double eps[3] = {1.0, -2.0, 0.0};
  float out[3];
  brl__gauss_sample(mu, s, eps, 3, out);
  CHECK(fabs(out[0] - (0.5 + exp(-0.5))) < 1e-6);
  CHECK(fabs(out[1] - (-1.0 - 2.0)) < 1e-6);
  CHECK(out[2] == 2.0f);
  /* dH/ds = 1, dH/dmu = 0. */
  float gm[3], gs[3];
  brl__gauss_grad(mu, s, NULL, 3, 5.0, 1.0, gm, gs);
  for (int j = 0; j < 3; j++)
    CHECK(gm[j] == 0.0f && gs[j] == 1.0f);
  /* g_s may be NULL (fixed log-std). */
  brl__gauss_grad(mu, s, a, 3, 1.0, 0.0, gm, NULL);
  CHECK(fabs(gm[1] - (-0.5)) < 1e-7);

  /* brl__dist_sample: the sample mean and variance match mu and sigma^2. */
  brl_dist d;
  CHECK_OK(brl__dist_init_gaussian(&d, 3));
  brl_policy_out pi = {mu, s, NULL};
  brl_rng rng;
  brl_rng_seed(&rng, 7);
  double m1[3] = {0}, m2[3] = {0};
  enum { N = 40000 };
  for (int i = 0; i < N; i++) {
    float x[3];
    CHECK_OK(brl__dist_sample(&d, &pi, &rng, x));
    for (int j = 0; j < 3; j++) {
      m1[j] += x[j];
      m2[j] += (double)x[j] * x[j];
    }
  }
  for (int j = 0; j < 3; j++) {
    double mean = m1[j] / N, var = m2[j] / N - mean * mean;
    double sig2 = exp(2.0 * s[j]);
    CHECK_MSG(fabs(mean - mu[j]) < 5.0 * sqrt(sig2 / N), "dim %d mean %g", j,
              mean);
    CHECK_MSG(fabs(var / sig2 - 1.0) < 0.05, "dim %d var %g vs %g", j, var,
              sig2);
  }
  float mode[3];
  CHECK_OK(brl__dist_mode(&d, &pi, mode));
  CHECK(memcmp(mode, mu, sizeof mu) == 0);
}

static void test_dist_generic(void) {
  brl_dist d;
  int nvec[3] = {3, 2, 4};
  CHECK_OK(brl__dist_init_multi_discrete(&d, 3, nvec));
  CHECK(d.n_params == 9 && d.action_dim == 3);
  float z[9] = {0.1f, 0.9f, -0.3f, 2.0f, 1.0f, 0.0f, 0.5f, 0.5f, -2.0f};
  uint8_t m[9] = {1, 0, 1, 1, 1, 0, 1, 1, 1};
  brl_policy_out pi = {z, NULL, m};
  float act[3] = {2.0f, 0.0f, 3.0f};
  double lp, h;
  CHECK_OK(brl__dist_log_prob(&d, &pi, act, &lp));
  double ref = ref_cat_logp(z, m, 3, 2) + ref_cat_logp(z + 3, m + 3, 2, 0) +
               ref_cat_logp(z + 5, m + 5, 4, 3);
  CHECK(fabs(lp - ref) < 1e-13);
  CHECK_OK(brl__dist_entropy(&d, &pi, &h));
  double refh = ref_cat_entropy(z, m, 3) + ref_cat_entropy(z + 3, m + 3, 2) +
                ref_cat_entropy(z + 5, m + 5, 4);
  CHECK(fabs(h - refh) < 1e-13);
  float mode[3];
  CHECK_OK(brl__dist_mode(&d, &pi, mode));
  CHECK(mode[0] == 0.0f && mode[1] == 0.0f && mode[2] == 1.0f);
  brl_rng rng;
  brl_rng_seed(&rng, 3);
  for (int i = 0; i < 200; i++) {
    float s[3];
    CHECK_OK(brl__dist_sample(&d, &pi, &rng, s));
    CHECK(s[0] != 1.0f && s[2] != 0.0f && s[1] >= 0 && s[1] < 2);
  }

  /* Errors: masked / non-integer / out-of-range actions, an all-masked
   * sub-space, a Gaussian without log_std, a bad distribution. */
  float g[9];
  float bad1[3] = {1.0f, 0.0f, 0.0f};
  CHECK(brl__dist_log_prob(&d, &pi, bad1, &lp) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "masked") != NULL);
  float bad2[3] = {0.5f, 0.0f, 0.0f};
  CHECK(brl__dist_grad(&d, &pi, bad2, 1.0, 0.0, g, NULL, NULL, NULL) ==
        BRL_EINVAL);
  float bad3[3] = {0.0f, 2.0f, 0.0f};
  CHECK(brl__a2c_policy_loss(&d, &pi, bad3, 1.0, 0.0, g, NULL, NULL) ==
        BRL_EINVAL);
  float bad4[3] = {0.0f, NAN, 0.0f};
  CHECK(brl__dist_log_prob(&d, &pi, bad4, &lp) == BRL_EINVAL);
  uint8_t m_none[9] = {1, 1, 1, 0, 0, 1, 1, 1, 1};
  brl_policy_out pi_none = {z, NULL, m_none};
  CHECK(brl__dist_entropy(&d, &pi_none, &h) == BRL_EINVAL);
  CHECK(brl__ppo_policy_loss(&d, &pi, act, 0.0, 1.0, -0.1, 0.0, g, NULL,
                             NULL) == BRL_EINVAL);
  CHECK(brl__ppo_policy_loss(&d, &pi, act, NAN, 1.0, 0.2, 0.0, g, NULL, NULL) ==
        BRL_EINVAL);
  CHECK(brl__awr_policy_loss(&d, &pi, act, -1.0, 0.0, g, NULL, NULL) ==
        BRL_EINVAL);
  brl_dist dg;
  CHECK_OK(brl__dist_init_gaussian(&dg, 2));
  brl_policy_out pg = {z, NULL, NULL};
  CHECK(brl__dist_entropy(&dg, &pg, &h) == BRL_EINVAL);
  CHECK(brl__dist_init_gaussian(&dg, 0) == BRL_EINVAL);
  CHECK(brl__dist_init_gaussian(&dg, BRL_MAX_ACTION_DIM + 1) == BRL_EINVAL);
  CHECK(brl__dist_init_categorical(&dg, 0) == BRL_EINVAL);
  int nbad[2] = {3, 0};
  CHECK(brl__dist_init_multi_discrete(&dg, 2, nbad) == BRL_EINVAL);
  brl_dist broken = d;
  broken.n_params = 8;
  CHECK(brl__dist_check(&broken) == BRL_EINVAL);
  broken = d;
  broken.kind = (brl_dist_kind)7;
  CHECK(brl__dist_check(&broken) == BRL_EINVAL);
}

/* Gradient of log pi and of H alone, for every kind, with and without
 * masks. */
static void test_logp_entropy_grads(void) {
  brl_rng r;
  brl_rng_seed(&r, 11);
  for (int trial = 0; trial < 30; trial++) {
    pctx c;
    memset(&c, 0, sizeof c);
    int kind = trial % 3;
    if (kind == 0) {
      CHECK_OK(brl__dist_init_categorical(&c.d, 2 + trial % 6));
      make_discrete(&c, &r, trial % 2);
    } else if (kind == 1) {
      int nvec[3] = {3, 1 + trial % 4, 5};
      CHECK_OK(brl__dist_init_multi_discrete(&c.d, 3, nvec));
      make_discrete(&c, &r, trial % 2);
    } else {
      CHECK_OK(brl__dist_init_gaussian(&c.d, 1 + trial % 4));
      make_gauss(&c, &r);
    }
    c.loss = L_LOGP;
    CHECK(run_policy_case("logp", trial, &c, NULL) > 1e-3);
    c.loss = L_ENT;
    double s = run_policy_case("entropy", trial, &c, NULL);
    CHECK(s > 1e-3);
  }
}

/* Drives c to the wanted PPO ratio by choosing old_logp. */
static void set_ratio(pctx *c, double ratio) {
  c->old_logp = ref_logp(c) - log(ratio);
}

static void test_ppo(void) {
  brl_rng r;
  brl_rng_seed(&r, 21);
  /* regime: 0 inside the clip range, 1 ratio > 1+eps with A > 0 (clipped),
   * 2 ratio < 1-eps with A < 0 (clipped), 3 ratio > 1+eps with A < 0
   * (unclipped), 4 ratio < 1-eps with A > 0 (unclipped). */
  int seen_clipped = 0, seen_unclipped = 0;
  for (int trial = 0; trial < 75; trial++) {
    int regime = trial % 5;
    int kind = (trial / 5) % 3;
    pctx c;
    memset(&c, 0, sizeof c);
    if (kind == 0) {
      CHECK_OK(brl__dist_init_categorical(&c.d, 4 + trial % 3));
      make_discrete(&c, &r, trial % 2);
    } else if (kind == 1) {
      int nvec[2] = {3, 4};
      CHECK_OK(brl__dist_init_multi_discrete(&c.d, 2, nvec));
      make_discrete(&c, &r, trial % 2);
    } else {
      CHECK_OK(brl__dist_init_gaussian(&c.d, 2));
      make_gauss(&c, &r);
    }
    c.loss = L_PPO;
    c.eps = 0.2;
    c.ent = (trial / 15) % 2 ? 0.01 : 0.0;
    double mag = unif(&r, 0.3, 2.0);
    double ratio;
    switch (regime) {
    case 0:
      ratio = unif(&r, 0.85, 1.15);
      c.adv = unif(&r, -2.0, 2.0);
      break;
    case 1:
      ratio = unif(&r, 1.3, 2.0);
      c.adv = mag;
      break;
    case 2:
      ratio = unif(&r, 0.4, 0.7);
      c.adv = -mag;
      break;
    case 3:
      ratio = unif(&r, 1.3, 2.0);
      c.adv = -mag;
      break;
    default:
      ratio = unif(&r, 0.4, 0.7);
      c.adv = mag;
      break;
    }
    set_ratio(&c, ratio);
    brl_pg_info info;
    double scale = run_policy_case("ppo", trial, &c, &info);
    int want_clipped = regime == 1 || regime == 2;
    CHECK_MSG(info.clipped == want_clipped, "trial %d regime %d clipped %d",
              trial, regime, info.clipped);
    CHECK(info.outside == (regime != 0));
    CHECK(fabs(info.ratio - ratio) < 1e-12 * ratio);
    double kl = (ratio - 1.0) - log(ratio);
    CHECK(fabs(info.approx_kl - kl) < 1e-12);
    CHECK(info.approx_kl >= 0.0);
    CHECK(fabs(info.loss - (info.pg_loss - c.ent * info.entropy)) < 1e-12);
    if (want_clipped) {
      seen_clipped++;
      CHECK(fabs(info.pg_loss + (regime == 1 ? 1.2 : 0.8) * c.adv) < 1e-12);
      /* Clipped: the gradient is the entropy term's alone (0 without it). */
      brl_policy_out pi = pi_of(&c);
      float g[MAXP], gs[MAXP], ge[MAXP], ges[MAXP];
      CHECK_OK(brl__ppo_policy_loss(&c.d, &pi, c.action, c.old_logp, c.adv,
                                    c.eps, c.ent, g, gs, NULL));
      CHECK_OK(
          brl__dist_grad(&c.d, &pi, NULL, 0.0, -c.ent, ge, ges, NULL, NULL));
      for (int j = 0; j < c.d.n_params; j++)
        CHECK(g[j] == ge[j]);
      if (c.ent == 0.0) {
        for (int j = 0; j < c.d.n_params; j++)
          CHECK(g[j] == 0.0f);
        CHECK(scale == 0.0);
      }
    } else {
      seen_unclipped++;
      CHECK(scale > 1e-3);
    }
  }
  CHECK(seen_clipped == 30 && seen_unclipped == 45);
}

static void test_a2c_awr(void) {
  brl_rng r;
  brl_rng_seed(&r, 31);
  for (int trial = 0; trial < 40; trial++) {
    pctx c;
    memset(&c, 0, sizeof c);
    int kind = trial % 3;
    if (kind == 0) {
      CHECK_OK(brl__dist_init_categorical(&c.d, 3 + trial % 5));
      make_discrete(&c, &r, (trial / 3) % 2);
    } else if (kind == 1) {
      int nvec[2] = {2, 5};
      CHECK_OK(brl__dist_init_multi_discrete(&c.d, 2, nvec));
      make_discrete(&c, &r, (trial / 3) % 2);
    } else {
      CHECK_OK(brl__dist_init_gaussian(&c.d, 3));
      make_gauss(&c, &r);
    }
    c.ent = trial % 2 ? 0.05 : 0.0;
    c.adv = unif(&r, -3.0, 3.0);
    c.loss = L_A2C;
    brl_pg_info info;
    CHECK(run_policy_case("a2c", trial, &c, &info) > 1e-4);
    CHECK(info.ratio == 1.0 && info.approx_kl == 0.0 && !info.clipped);
    c.loss = L_AWR;
    c.weight = brl__awr_weight(c.adv, 0.5, 20.0);
    CHECK(run_policy_case("awr", trial, &c, &info) > 1e-6);
  }
  /* The weight: exp(A / beta) capped at w_max, without overflow. */
  CHECK(fabs(brl__awr_weight(1.0, 0.5, 20.0) - exp(2.0)) < 1e-12);
  CHECK(brl__awr_weight(2.0, 0.5, 20.0) == 20.0);
  CHECK(brl__awr_weight(1e6, 1e-3, 20.0) == 20.0);
  CHECK(fabs(brl__awr_weight(-1.0, 1.0, 20.0) - exp(-1.0)) < 1e-15);
  CHECK(brl__awr_weight(-1e6, 1e-3, 20.0) == 0.0);
}

typedef struct vctx {
  float v, v_old;
  double ret, c, vf;
  int clipped;
} vctx;

static double ref_value_loss(void *p) {
  vctx *c = p;
  double e = (double)c->v - c->ret;
  if (!c->clipped)
    return 0.5 * c->vf * e * e;
  double vc =
      (double)c->v_old + fmin(fmax((double)c->v - c->v_old, -c->c), c->c);
  return 0.5 * c->vf * fmax(e * e, (vc - c->ret) * (vc - c->ret));
}

static void test_value(void) {
  struct {
    float v, v_old;
    double ret;
    int branch; /* 0 inside, 1 outside & unclipped max, 2 clipped max */
  } cases[] = {
      {0.10f, 0.0f, 0.7, 0}, {-0.15f, 0.0f, -1.0, 0}, {1.0f, 0.0f, -0.5, 1},
      {-1.0f, 0.0f, 0.5, 1}, {1.0f, 0.0f, 1.1, 2},    {-1.0f, 0.5f, -0.9, 2},
      {2.0f, 1.0f, 0.5, 1},  {0.3f, 1.0f, 0.5, 2},
  };
  int n = (int)(sizeof cases / sizeof cases[0]);
  for (int i = 0; i < n; i++) {
    vctx c = {cases[i].v, cases[i].v_old, cases[i].ret, 0.2, 0.5, 0};
    float g;
    double loss, fd;
    /* Plain value loss. */
    CHECK_OK(brl__value_loss(c.v, c.ret, c.vf, &g, &loss));
    CHECK(rel_err(loss, ref_value_loss(&c)) < 1e-14);
    fd_grad(ref_value_loss, &c, &c.v, 1, &fd);
    check_grad("value", i, &g, &fd, 1);
    CHECK(fabs(g - c.vf * (c.v - c.ret)) < 1e-6);
    /* Clipped. */
    c.clipped = 1;
    CHECK_OK(
        brl__value_loss_clipped(c.v, c.v_old, c.ret, c.c, c.vf, &g, &loss));
    CHECK_MSG(rel_err(loss, ref_value_loss(&c)) < 1e-14, "case %d", i);
    fd_grad(ref_value_loss, &c, &c.v, 1, &fd);
    check_grad("value clipped", i, &g, &fd, 1);
    if (cases[i].branch == 2)
      CHECK_MSG(g == 0.0f && fd == 0.0, "case %d g %g", i, (double)g);
    else
      CHECK_MSG(fabs(g - c.vf * (c.v - c.ret)) < 1e-6 && g != 0.0f, "case %d",
                i);
  }
  float g;
  CHECK(brl__value_loss_clipped(0.0f, 0.0f, 1.0, -0.1, 0.5, &g, NULL) ==
        BRL_EINVAL);
  CHECK(brl__value_loss(0.0f, 1.0, 0.5, NULL, NULL) == BRL_EINVAL);
}

typedef struct qctx {
  float q[6];
  int a;
  double target;
} qctx;

static double ref_dqn_loss(void *p) {
  qctx *c = p;
  double x = (double)c->q[c->a] - c->target;
  return fabs(x) < 1.0 ? 0.5 * x * x : fabs(x) - 0.5;
}

static void test_dqn(void) {
  CHECK(brl__huber(0.5) == 0.125 && brl__huber(-3.0) == 2.5);
  CHECK(brl__huber_grad(0.5) == 0.5 && brl__huber_grad(-3.0) == -1.0);
  CHECK(brl__huber_grad(2.0) == 1.0);
  double xs[] = {0.3, -0.7, 2.5, -3.0, 1.6, -1.2};
  for (int i = 0; i < 6; i++) {
    qctx c = {{0.5f, -0.25f, 1.0f, 2.0f, -1.5f, 0.75f}, i % 6, 0.0};
    c.target = (double)c.q[c.a] - xs[i];
    float g[6];
    double loss, fd[6];
    CHECK_OK(brl__dqn_loss(c.q, 6, c.a, c.target, g, &loss));
    CHECK(rel_err(loss, ref_dqn_loss(&c)) < 1e-12);
    fd_grad(ref_dqn_loss, &c, c.q, 6, fd);
    CHECK(check_grad("dqn", i, g, fd, 6) > 0.2);
    for (int j = 0; j < 6; j++)
      if (j != c.a)
        CHECK(g[j] == 0.0f);
    double want = fabs(xs[i]) < 1.0 ? xs[i] : (xs[i] > 0 ? 1.0 : -1.0);
    CHECK_MSG(fabs(g[c.a] - want) < 1e-6, "case %d", i);
  }
  float qn[4] = {1.0f, 3.0f, -2.0f, 2.5f}, qo[4] = {0.0f, 0.0f, 0.0f, 1.0f};
  double t;
  CHECK_OK(brl__dqn_target(qn, NULL, 4, 0.5, 0.9, 0, &t));
  CHECK(fabs(t - (0.5 + 0.9 * 3.0)) < 1e-12);
  CHECK_OK(brl__dqn_target(qn, NULL, 4, 0.5, 0.9, 1, &t));
  CHECK(t == 0.5);
  CHECK_OK(brl__dqn_target(qn, qo, 4, 0.5, 0.9, 0, &t)); /* double DQN */
  CHECK(fabs(t - (0.5 + 0.9 * 2.5)) < 1e-12);
  float g[4];
  CHECK(brl__dqn_loss(qn, 4, 4, 0.0, g, NULL) == BRL_EINVAL);
  CHECK(brl__dqn_target(qn, NULL, 0, 0.5, 0.9, 0, &t) == BRL_EINVAL);
}

static void test_clip_grad_norm(void) {
  float g[4] = {3.0f, 0.0f, -4.0f, 0.0f};
  float orig[4];
  memcpy(orig, g, sizeof g);
  double n0 = brl__clip_grad_norm(g, 4, 1.0);
  CHECK(fabs(n0 - 5.0) < 1e-12);
  double n1 = sqrt((double)g[0] * g[0] + (double)g[2] * g[2]);
  CHECK_MSG(n1 <= 1.0 && n1 > 1.0 - 1e-5, "norm after %g", n1);
  CHECK(fabs(g[0] / g[2] - (-0.75)) < 1e-6 && g[1] == 0.0f);
  memcpy(g, orig, sizeof g);
  CHECK(fabs(brl__clip_grad_norm(g, 4, 10.0) - 5.0) < 1e-12);
  CHECK(memcmp(g, orig, sizeof g) == 0);
  CHECK(fabs(brl__clip_grad_norm(g, 4, 0.0) - 5.0) < 1e-12);
  CHECK(fabs(brl__clip_grad_norm(g, 4, -1.0) - 5.0) < 1e-12);
  CHECK(memcmp(g, orig, sizeof g) == 0);
  /* Random vectors: after clipping the norm never exceeds max_norm. */
  brl_rng r;
  brl_rng_seed(&r, 5);
  for (int t = 0; t < 100; t++) {
    float v[16];
    for (int j = 0; j < 16; j++)
      v[j] = (float)unif(&r, -10.0, 10.0);
    double mx = unif(&r, 0.1, 30.0);
    brl__clip_grad_norm(v, 16, mx);
    double s = 0.0;
    for (int j = 0; j < 16; j++)
      s += (double)v[j] * v[j];
    CHECK_MSG(sqrt(s) <= mx, "norm %g > %g", sqrt(s), mx);
  }
}

/* The gradients of a state-independent log-std: per sample the same
 * formula, so their batch mean is the derivative of the mean loss. */
static void test_shared_log_std(void) {
  enum { B = 8, D = 2 };
  brl_rng r;
  brl_rng_seed(&r, 41);
  brl_dist d;
  CHECK_OK(brl__dist_init_gaussian(&d, D));
  float mu[B][D], act[B][D], s[D] = {-0.3f, 0.2f};
  double adv[B];
  for (int i = 0; i < B; i++) {
    for (int j = 0; j < D; j++) {
      mu[i][j] = (float)unif(&r, -1, 1);
      act[i][j] = (float)(mu[i][j] + exp(s[j]) * brl_rng_normal(&r));
    }
    adv[i] = unif(&r, -1, 1);
  }
  double gmean[D] = {0};
  for (int i = 0; i < B; i++) {
    brl_policy_out pi = {mu[i], s, NULL};
    float gm[D], gs[D];
    CHECK_OK(brl__a2c_policy_loss(&d, &pi, act[i], adv[i], 0.01, gm, gs, NULL));
    for (int j = 0; j < D; j++)
      gmean[j] += gs[j] / (double)B;
  }
  for (int j = 0; j < D; j++) {
    double l[2];
    float s0 = s[j];
    for (int k = 0; k < 2; k++) {
      s[j] = (float)(s0 + (k ? -FD_H : FD_H));
      l[k] = 0.0;
      for (int i = 0; i < B; i++)
        l[k] += (-ref_gauss_logp(mu[i], s, act[i], D) * adv[i] -
                 0.01 * ref_gauss_entropy(s, D)) /
                B;
    }
    s[j] = s0;
    double fd = (l[0] - l[1]) / (2.0 * FD_H);
    CHECK_MSG(fabs(gmean[j] - fd) <= RTOL * fmax(fabs(fd), 1e-3),
              "dim %d mean grad %g fd %g", j, gmean[j], fd);
  }
}

int main(void) {
  test_categorical_helpers();
  test_gauss_helpers();
  test_dist_generic();
  test_logp_entropy_grads();
  test_ppo();
  test_a2c_awr();
  test_value();
  test_dqn();
  test_clip_grad_norm();
  test_shared_log_std();
  return brl_test_report("test_losses");
}
