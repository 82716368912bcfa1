/* GAE against a direct sum over TD errors, Monte-Carlo returns, advantage
 * normalisation and the VecNormalize-style reward scaler against a direct
 * computation from the whole history. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "core/rng.h"
#include "rl/returns.h"
#include "testlib.h"

#define T 23
#define E 5
#define IDX(t, e) ((t)*E + (e))

typedef struct rollout {
  float rew[T * E], val[T * E], fin[T * E], last[E];
  uint8_t term[T * E], trunc[T * E];
} rollout;

static double unif(brl_rng *r, double lo, double hi) {
  return lo + (hi - lo) * brl_rng_uniform(r);
}

/* Random rollout with terminations, truncations (some steps both), and NaN
 * wherever a value must not be read: final values of steps that are not
 * truncations, and last values of envs whose last step ended an episode. */
static void make_rollout(rollout *ro, brl_rng *r) {
  for (int i = 0; i < T * E; i++) {
    ro->rew[i] = (float)unif(r, -1.0, 2.0);
    ro->val[i] = (float)unif(r, -3.0, 3.0);
    double u = brl_rng_uniform(r);
    ro->term[i] = u < 0.08 || (u > 0.5 && u < 0.53);
    ro->trunc[i] = (u > 0.2 && u < 0.28) || (u > 0.5 && u < 0.53);
    ro->fin[i] = ro->trunc[i] && !ro->term[i] ? (float)unif(r, -3.0, 3.0) : NAN;
  }
  for (int e = 0; e < E; e++) {
    int i = IDX(T - 1, e);
    ro->last[e] = ro->term[i] || ro->trunc[i] ? NAN : (float)unif(r, -3.0, 3.0);
  }
}

/* The TD error of step (t, e), written out case by case. */
static double td_error(const rollout *ro, int t, int e, double gamma) {
  int i = IDX(t, e);
  double v = ro->val[i];
  if (ro->term[i])
    return ro->rew[i] - v;
  if (ro->trunc[i])
    return ro->rew[i] + gamma * ro->fin[i] - v;
  double next = t + 1 < T ? ro->val[IDX(t + 1, e)] : ro->last[e];
  return ro->rew[i] + gamma * next - v;
}

/* A_t = sum_k (gamma lambda)^k delta_{t+k}, up to and including the step
 * that ends the episode, or to the end of the rollout. */
static double slow_gae(const rollout *ro, int t, int e, double gamma,
                       double lambda) {
  double a = 0.0, w = 1.0;
  for (int k = t; k < T; k++) {
    a += w * td_error(ro, k, e, gamma);
    int i = IDX(k, e);
    if (ro->term[i] || ro->trunc[i])
      break;
    w *= gamma * lambda;
  }
  return a;
}

/* Discounted reward sum to the episode end, bootstrapped at truncations
 * (from the final observation) and at the rollout end (from last). */
static double slow_mc(const rollout *ro, int t, int e, double gamma) {
  double g = 0.0, w = 1.0;
  for (int k = t; k < T; k++) {
    int i = IDX(k, e);
    g += w * ro->rew[i];
    if (ro->term[i])
      return g;
    if (ro->trunc[i])
      return g + w * gamma * ro->fin[i];
    w *= gamma;
  }
  return g + w * ro->last[e];
}

static void test_gae(void) {
  brl_rng r;
  brl_rng_seed(&r, 1);
  int n_term = 0, n_trunc = 0, n_both = 0;
  double params[][2] = {
      {0.99, 0.95}, {0.9, 0.0}, {0.97, 1.0}, {0.0, 0.5}, {1.0, 0.8}};
  for (int trial = 0; trial < 40; trial++) {
    rollout ro;
    make_rollout(&ro, &r);
    for (int i = 0; i < T * E; i++) {
      n_term += ro.term[i] && !ro.trunc[i];
      n_trunc += ro.trunc[i] && !ro.term[i];
      n_both += ro.term[i] && ro.trunc[i];
    }
    double gamma = params[trial % 5][0], lambda = params[trial % 5][1];
    float adv[T * E], ret[T * E];
    CHECK_OK(brl__gae(T, E, ro.rew, ro.val, ro.term, ro.trunc, ro.fin, ro.last,
                      gamma, lambda, adv, ret));
    for (int t = 0; t < T; t++)
      for (int e = 0; e < E; e++) {
        int i = IDX(t, e);
        double want = slow_gae(&ro, t, e, gamma, lambda);
        CHECK_MSG(isfinite(adv[i]) &&
                      fabs(adv[i] - want) <= 1e-5 * fmax(1.0, fabs(want)),
                  "trial %d t %d e %d: adv %.9g want %.9g", trial, t, e,
                  (double)adv[i], want);
        double want_ret = want + ro.val[i];
        CHECK_MSG(fabs(ret[i] - want_ret) <= 1e-5 * fmax(1.0, fabs(want_ret)),
                  "trial %d t %d e %d: ret %.9g want %.9g", trial, t, e,
                  (double)ret[i], want_ret);
      }
    /* lambda = 1: the returns are Monte-Carlo returns, whatever the values,
     * also with values NULL (only returns wanted). */
    float ret1[T * E], ret0[T * E];
    CHECK_OK(brl__gae(T, E, ro.rew, ro.val, ro.term, ro.trunc, ro.fin, ro.last,
                      gamma, 1.0, NULL, ret1));
    CHECK_OK(brl__gae(T, E, ro.rew, NULL, ro.term, ro.trunc, ro.fin, ro.last,
                      gamma, 1.0, NULL, ret0));
    for (int t = 0; t < T; t++)
      for (int e = 0; e < E; e++) {
        int i = IDX(t, e);
        double want = slow_mc(&ro, t, e, gamma);
        double tol = 1e-5 * fmax(1.0, fabs(want));
        CHECK_MSG(fabs(ret1[i] - want) <= tol && fabs(ret0[i] - want) <= tol,
                  "trial %d t %d e %d: mc %.9g %.9g want %.9g", trial, t, e,
                  (double)ret1[i], (double)ret0[i], want);
      }
  }
  /* The random rollouts did exercise every kind of episode end. */
  CHECK(n_term > 100 && n_trunc > 100 && n_both > 20);

  /* A hand-made case: one env, gamma 0.5, lambda 1.
   * step 0: r 1, V 0; step 1: r 2, V 0, truncated with V(final) 4;
   * step 2: r 1, V 1, last value 8. */
  float rew[3] = {1, 2, 1}, val[3] = {0, 0, 1}, fin[3] = {NAN, 4, NAN};
  float last[1] = {8};
  uint8_t term[3] = {0, 0, 0}, trunc[3] = {0, 1, 0};
  float adv[3], ret[3];
  CHECK_OK(
      brl__gae(3, 1, rew, val, term, trunc, fin, last, 0.5, 1.0, adv, ret));
  CHECK(ret[2] == 5.0f && adv[2] == 4.0f); /* 1 + 0.5 * 8 */
  CHECK(ret[1] == 4.0f);                   /* 2 + 0.5 * 4 */
  CHECK(ret[0] == 3.0f);                   /* 1 + 0.5 * 4 */
  term[2] = 1;
  CHECK_OK(
      brl__gae(3, 1, rew, val, term, trunc, fin, last, 0.5, 1.0, adv, ret));
  CHECK(ret[2] == 1.0f && adv[2] == 0.0f);

  /* Errors. */
  CHECK(brl__gae(3, 1, rew, val, term, trunc, NULL, last, 0.5, 1.0, adv, ret) ==
        BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "final_values") != NULL);
  CHECK(brl__gae(3, 1, rew, val, term, trunc, fin, last, 1.5, 1.0, adv, ret) ==
        BRL_EINVAL);
  CHECK(brl__gae(0, 1, rew, val, term, trunc, fin, last, 0.5, 1.0, adv, ret) ==
        BRL_EINVAL);
  trunc[1] = 0;
  CHECK_OK(
      brl__gae(3, 1, rew, val, term, trunc, NULL, last, 0.5, 1.0, adv, ret));
}

static void test_normalize(void) {
  brl_rng r;
  brl_rng_seed(&r, 2);
  enum { N = 200, M = 64 };
  float adv[N];
  for (int i = 0; i < N; i++)
    adv[i] = (float)unif(&r, -5.0, 15.0);
  int32_t idx[M];
  for (int k = 0; k < M; k++)
    idx[k] = (int32_t)brl_rng_below(&r, N);
  float out[M];
  CHECK_OK(brl__normalize_advantages(adv, idx, M, out));
  double mean = 0.0, ss = 0.0;
  for (int k = 0; k < M; k++)
    mean += adv[idx[k]];
  mean /= M;
  for (int k = 0; k < M; k++)
    ss += (adv[idx[k]] - mean) * (adv[idx[k]] - mean);
  double sd = sqrt(ss / (M - 1));
  double m_out = 0.0, s_out = 0.0;
  for (int k = 0; k < M; k++) {
    double want = (adv[idx[k]] - mean) / (sd + 1e-8);
    CHECK_MSG(fabs(out[k] - want) < 1e-5, "k %d %g %g", k, (double)out[k],
              want);
    m_out += out[k];
  }
  m_out /= M;
  for (int k = 0; k < M; k++)
    s_out += (out[k] - m_out) * (out[k] - m_out);
  CHECK(fabs(m_out) < 1e-6);
  CHECK(fabs(sqrt(s_out / (M - 1)) - 1.0) < 1e-6);
  /* All rows, in place. */
  float copy[N];
  memcpy(copy, adv, sizeof adv);
  CHECK_OK(brl__normalize_advantages(copy, NULL, N, copy));
  double s2 = 0.0, m2 = 0.0;
  for (int i = 0; i < N; i++)
    m2 += copy[i];
  m2 /= N;
  for (int i = 0; i < N; i++)
    s2 += (copy[i] - m2) * (copy[i] - m2);
  CHECK(fabs(m2) < 1e-6 && fabs(sqrt(s2 / (N - 1)) - 1.0) < 1e-6);
  /* Constant advantages: zeros, not NaN. One sample: copied. */
  float cst[4] = {2.5f, 2.5f, 2.5f, 2.5f}, o4[4];
  CHECK_OK(brl__normalize_advantages(cst, NULL, 4, o4));
  CHECK(o4[0] == 0.0f && o4[3] == 0.0f);
  int32_t one = 7;
  CHECK_OK(brl__normalize_advantages(adv, &one, 1, o4));
  CHECK(o4[0] == adv[7]);
  CHECK(brl__normalize_advantages(adv, NULL, 0, o4) == BRL_EINVAL);
  int32_t neg = -1;
  CHECK(brl__normalize_advantages(adv, &neg, 1, o4) == BRL_EINVAL);
}

/* RunningMeanStd merged batch by batch equals the pooled statistics of the
 * prior (count 1e-4, mean 0, var 1) and all the data. */
static void pooled(const double *x, int n, double *mean, double *var) {
  double c0 = 1e-4, s = 0.0;
  for (int i = 0; i < n; i++)
    s += x[i];
  double m = s / (c0 + n);
  double m2 = c0 * (1.0 + m * m);
  for (int i = 0; i < n; i++)
    m2 += (x[i] - m) * (x[i] - m);
  *mean = m;
  *var = m2 / (c0 + n);
}

static void test_rms(void) {
  brl_rng r;
  brl_rng_seed(&r, 3);
  brl_rms rms;
  brl__rms_init(&rms, 1e-4);
  CHECK(rms.mean == 0.0 && rms.var == 1.0 && rms.count == 1e-4);
  double all[200];
  int n = 0;
  for (int b = 0; b < 10; b++) {
    int bn = 1 + b % 7;
    for (int i = 0; i < bn; i++)
      all[n + i] = unif(&r, -2.0, 6.0);
    brl__rms_update(&rms, all + n, bn);
    n += bn;
    double m, v;
    pooled(all, n, &m, &v);
    CHECK_MSG(fabs(rms.mean - m) < 1e-12 && fabs(rms.var - v) < 1e-12 * v,
              "batch %d: mean %g/%g var %g/%g", b, rms.mean, m, rms.var, v);
    CHECK(fabs(rms.count - (n + 1e-4)) < 1e-9);
  }
  brl_rms before = rms;
  brl__rms_update(&rms, all, 0);
  CHECK(memcmp(&before, &rms, sizeof rms) == 0);
}

static void test_reward_scaler(void) {
  enum { NE = 4, STEPS = 300 };
  const double gamma = 0.99;
  brl_rng r;
  brl_rng_seed(&r, 4);
  static brl_reward_scaler s, saved;
  CHECK_OK(brl__reward_scaler_init(&s, NE, gamma));
  static double hist[STEPS * NE];
  int n_hist = 0;
  double ret[NE] = {0};
  int n_clipped = 0, n_clipped_neg = 0, n_reset = 0;
  for (int step = 0; step < STEPS; step++) {
    float rew[NE], scaled[NE];
    uint8_t term[NE], trunc[NE];
    for (int e = 0; e < NE; e++) {
      rew[e] = (float)unif(&r, -1.0, 3.0);
      /* Rewards beyond the clip, of either sign. */
      if (step == 250 && e == 3)
        rew[e] = 1e6f;
      if (step == 100 && e == 2)
        rew[e] = -30000.0f;
      term[e] = brl_rng_uniform(&r) < 0.03;
      trunc[e] = brl_rng_uniform(&r) < 0.03;
    }
    int update = step % 10 != 9; /* some steps in evaluation mode */
    if (step == 150)
      saved = s; /* a plain copy is a checkpoint */
    CHECK_OK(brl__reward_scaler_step(&s, rew, term, trunc, update, scaled));
    for (int e = 0; e < NE; e++) {
      ret[e] = ret[e] * gamma + rew[e];
      if (update)
        hist[n_hist++] = ret[e];
    }
    double mean, var;
    pooled(hist, n_hist, &mean, &var);
    CHECK_MSG(fabs(s.ret_rms.var - var) < 1e-9 * var, "step %d var %g/%g", step,
              s.ret_rms.var, var);
    for (int e = 0; e < NE; e++) {
      double want = rew[e] / sqrt(var + 1e-8);
      if (want > 10.0) {
        want = 10.0;
        n_clipped++;
      }
      if (want < -10.0) {
        want = -10.0;
        n_clipped_neg++;
      }
      CHECK_MSG(fabs(scaled[e] - want) < 1e-6 * fmax(1.0, fabs(want)),
                "step %d env %d: %g want %g", step, e, (double)scaled[e], want);
      if (term[e] || trunc[e]) {
        ret[e] = 0.0;
        n_reset++;
      }
      CHECK(s.ret[e] == ret[e]);
    }
  }
  CHECK_MSG(n_clipped >= 1 && n_clipped_neg >= 1 && n_reset > 20,
            "clipped %d / %d, reset %d", n_clipped, n_clipped_neg, n_reset);

  /* Resuming from the copy reproduces the run; scaled may alias rewards. */
  brl_rng_seed(&r, 99);
  static brl_reward_scaler a, b;
  a = saved;
  b = saved;
  for (int step = 0; step < 20; step++) {
    float rew[NE], out[NE], inplace[NE];
    uint8_t term[NE];
    for (int e = 0; e < NE; e++) {
      rew[e] = (float)unif(&r, -2.0, 2.0);
      inplace[e] = rew[e];
      term[e] = brl_rng_uniform(&r) < 0.1;
    }
    CHECK_OK(brl__reward_scaler_step(&a, rew, term, NULL, 1, out));
    CHECK_OK(brl__reward_scaler_step(&b, inplace, term, NULL, 1, inplace));
    CHECK(memcmp(out, inplace, sizeof out) == 0);
    CHECK(fabs(brl__reward_scaler_scale(&a, rew[0]) - out[0]) < 1e-6);
  }
  CHECK(memcmp(&a, &b, sizeof a) == 0);

  CHECK(brl__reward_scaler_init(&a, 0, 0.99) == BRL_EINVAL);
  CHECK(brl__reward_scaler_init(&a, BRL_REWARD_SCALER_MAX_ENVS + 1, 0.99) ==
        BRL_EINVAL);
  CHECK(brl__reward_scaler_init(&a, 2, 1.5) == BRL_EINVAL);
}

int main(void) {
  test_gae();
  test_normalize();
  test_rms();
  test_reward_scaler();
  return brl_test_report("test_returns");
}
