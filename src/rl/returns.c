#include "rl/returns.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

/* ---------------------------------------------------------------- GAE */

int brl__gae(int n_steps, int n_envs, const float *rewards, const float *values,
             const uint8_t *terminated, const uint8_t *truncated,
             const float *final_values, const float *last_values, double gamma,
             double lambda, float *advantages, float *returns) {
  return brl__gae_valid(n_steps, n_envs, rewards, values, terminated, truncated,
                        NULL, final_values, last_values, gamma, lambda,
                        advantages, returns);
}

int brl__gae_valid(int n_steps, int n_envs, const float *rewards,
                   const float *values, const uint8_t *terminated,
                   const uint8_t *truncated, const uint8_t *valid,
                   const float *final_values, const float *last_values,
                   double gamma, double lambda, float *advantages,
                   float *returns) {
  static const char fn[] = "brl__gae";
  BRL_CHECK_ARG(rewards);
  BRL_CHECK_ARG(terminated);
  BRL_CHECK_ARG(truncated);
  BRL_CHECK_ARG(last_values);
  if (n_steps < 1 || n_envs < 1)
    return brl__fail(BRL_EINVAL,
                     "%s: n_steps (%d) and n_envs (%d) must be >= 1", fn,
                     n_steps, n_envs);
  if (!(gamma >= 0.0 && gamma <= 1.0) || !(lambda >= 0.0 && lambda <= 1.0))
    return brl__fail(BRL_EINVAL,
                     "%s: gamma (%g) and lambda (%g) must be in [0, 1]", fn,
                     gamma, lambda);
  int64_t total = (int64_t)n_steps * n_envs;
  if (!final_values)
    for (int64_t i = 0; i < total; i++)
      if ((!valid || valid[i]) && truncated[i] && !terminated[i])
        return brl__fail(BRL_EINVAL,
                         "%s: step %lld env %lld is truncated but final_values "
                         "is NULL",
                         fn, (long long)(i / n_envs), (long long)(i % n_envs));
  for (int e = 0; e < n_envs; e++) {
    double next_adv = 0.0;
    double next_value = (double)last_values[e];
    for (int t = n_steps - 1; t >= 0; t--) {
      int64_t i = (int64_t)t * n_envs + e;
      double v = values ? (double)values[i] : 0.0;
      if (valid && !valid[i]) {
        /* No transition: the chain before it ends here, bootstrapping from
         * this row's value. */
        if (advantages)
          advantages[i] = 0.0f;
        if (returns)
          returns[i] = (float)v;
        next_adv = 0.0;
        next_value = v;
        continue;
      }
      double r = (double)rewards[i];
      int done = terminated[i] || truncated[i];
      if (truncated[i] && !terminated[i])
        r += gamma * (double)final_values[i];
      /* Values after an episode end are never read, not even multiplied
       * by 0, so that a NaN there (e.g. an unused last_values) is harmless. */
      double delta = r - v, adv;
      if (done) {
        adv = delta;
      } else {
        delta += gamma * next_value;
        adv = delta + gamma * lambda * next_adv;
      }
      if (advantages)
        advantages[i] = (float)adv;
      if (returns)
        returns[i] = (float)(adv + v);
      next_adv = adv;
      next_value = v;
    }
  }
  return BRL_OK;
}

int brl__normalize_advantages(const float *adv, const int32_t *idx, int64_t n,
                              float *out) {
  BRL_CHECK_ARG(adv);
  BRL_CHECK_ARG(out);
  if (n < 1)
    return brl__fail(BRL_EINVAL, "brl__normalize_advantages: n is %lld",
                     (long long)n);
  if (idx)
    for (int64_t k = 0; k < n; k++)
      if (idx[k] < 0)
        return brl__fail(BRL_EINVAL,
                         "brl__normalize_advantages: idx[%lld] = %d < 0",
                         (long long)k, (int)idx[k]);
  if (n == 1) {
    out[0] = adv[idx ? idx[0] : 0];
    return BRL_OK;
  }
  double sum = 0.0;
  for (int64_t k = 0; k < n; k++)
    sum += (double)adv[idx ? idx[k] : k];
  double mean = sum / (double)n;
  double ss = 0.0;
  for (int64_t k = 0; k < n; k++) {
    double d = (double)adv[idx ? idx[k] : k] - mean;
    ss += d * d;
  }
  double sd = sqrt(ss / (double)(n - 1));
  double inv = 1.0 / (sd + 1e-8);
  for (int64_t k = 0; k < n; k++)
    out[k] = (float)(((double)adv[idx ? idx[k] : k] - mean) * inv);
  return BRL_OK;
}

/* --------------------------------------------------- running mean / std */

void brl__rms_init(brl_rms *r, double epsilon) {
  r->mean = 0.0;
  r->var = 1.0;
  r->count = epsilon;
}

void brl__rms_update(brl_rms *r, const double *x, int n) {
  if (n <= 0)
    return;
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    sum += x[i];
  double bmean = sum / n;
  double ss = 0.0;
  for (int i = 0; i < n; i++) {
    double d = x[i] - bmean;
    ss += d * d;
  }
  double bvar = ss / n, bcount = (double)n;
  /* RunningMeanStd.update_from_moments, term for term. */
  double delta = bmean - r->mean;
  double tot = r->count + bcount;
  double new_mean = r->mean + delta * bcount / tot;
  double m_a = r->var * r->count;
  double m_b = bvar * bcount;
  double m2 = m_a + m_b + delta * delta * r->count * bcount / tot;
  r->mean = new_mean;
  r->var = m2 / tot;
  r->count = tot;
}

/* ------------------------------------------------------ reward scaling */

int brl__reward_scaler_init(brl_reward_scaler *s, int n_envs, double gamma) {
  BRL_CHECK_ARG(s);
  if (n_envs < 1 || n_envs > BRL_REWARD_SCALER_MAX_ENVS)
    return brl__fail(BRL_EINVAL,
                     "brl__reward_scaler_init: n_envs is %d; it must be in "
                     "[1, %d]",
                     n_envs, BRL_REWARD_SCALER_MAX_ENVS);
  if (!(gamma >= 0.0 && gamma <= 1.0))
    return brl__fail(BRL_EINVAL,
                     "brl__reward_scaler_init: gamma is %g; it must be in "
                     "[0, 1]",
                     gamma);
  *s = (brl_reward_scaler){0};
  s->n_envs = n_envs;
  s->gamma = gamma;
  s->epsilon = 1e-8;
  s->clip = 10.0;
  brl__rms_init(&s->ret_rms, 1e-4);
  return BRL_OK;
}

double brl__reward_scaler_scale(const brl_reward_scaler *s, double r) {
  double v = r / sqrt(s->ret_rms.var + s->epsilon);
  if (v < -s->clip)
    return -s->clip;
  if (v > s->clip)
    return s->clip;
  return v;
}

int brl__reward_scaler_step(brl_reward_scaler *s, const float *rewards,
                            const uint8_t *terminated, const uint8_t *truncated,
                            int update, float *scaled) {
  return brl__reward_scaler_step_valid(s, rewards, terminated, truncated, NULL,
                                       update, scaled);
}

/* brl__rms_update over the entries of x whose valid byte is set. */
static void rms_update_valid(brl_rms *r, const double *x, const uint8_t *valid,
                             int n) {
  int m = 0;
  double sum = 0.0;
  for (int i = 0; i < n; i++)
    if (valid[i]) {
      sum += x[i];
      m++;
    }
  if (m == 0)
    return;
  double bmean = sum / m, ss = 0.0;
  for (int i = 0; i < n; i++)
    if (valid[i])
      ss += (x[i] - bmean) * (x[i] - bmean);
  /* The same merge as brl__rms_update, from the valid entries' moments. */
  double bvar = ss / m, bcount = (double)m;
  double delta = bmean - r->mean;
  double tot = r->count + bcount;
  double m2 = r->var * r->count + bvar * bcount +
              delta * delta * r->count * bcount / tot;
  r->mean = r->mean + delta * bcount / tot;
  r->var = m2 / tot;
  r->count = tot;
}

int brl__reward_scaler_step_valid(brl_reward_scaler *s, const float *rewards,
                                  const uint8_t *terminated,
                                  const uint8_t *truncated,
                                  const uint8_t *valid, int update,
                                  float *scaled) {
  BRL_CHECK_ARG(s);
  BRL_CHECK_ARG(rewards);
  BRL_CHECK_ARG(scaled);
  if (s->n_envs < 1 || s->n_envs > BRL_REWARD_SCALER_MAX_ENVS)
    return brl__fail(BRL_EINVAL,
                     "brl__reward_scaler_step: the scaler has n_envs %d; "
                     "initialize it with brl__reward_scaler_init",
                     s->n_envs);
  int n = s->n_envs;
  for (int e = 0; e < n; e++)
    if (!valid || valid[e])
      s->ret[e] = s->ret[e] * s->gamma + (double)rewards[e];
  if (update && valid)
    rms_update_valid(&s->ret_rms, s->ret, valid, n);
  else if (update)
    brl__rms_update(&s->ret_rms, s->ret, n);
  for (int e = 0; e < n; e++) {
    if (valid && !valid[e]) {
      scaled[e] = 0.0f;
      continue;
    }
    /* Read the reward before writing: scaled may alias rewards. */
    double r = (double)rewards[e];
    scaled[e] = (float)brl__reward_scaler_scale(s, r);
    if ((terminated && terminated[e]) || (truncated && truncated[e]))
      s->ret[e] = 0.0;
  }
  return BRL_OK;
}
