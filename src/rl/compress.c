/* Compression of an agent: its ensembles are distilled into fewer trees by
 * supervised boosting (brl_fit) on the teacher's outputs over observations
 * of its own rollouts, offline (brl_agent_compress, on a native env) or
 * online during training (brl__agent_compress_online, on the rollout just
 * trained on). */
#include "core/abi.h"
#include "core/error.h"
#include "core/rng.h"
#include "rl/agent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* struct_size: the first version ends at seed. */
static const brl__abi_struct params_abi = {
    "brl_compress_params", "brl_compress_params_default",
    BRL__END(brl_compress_params, seed), sizeof(brl_compress_params)};

static void defaults(brl_compress_params *cp, int trees) {
  memset(cp, 0, sizeof *cp);
  cp->struct_size = sizeof *cp;
  cp->trees = trees;
  cp->steps = 20000;
  cp->holdout_steps = 5000;
  cp->stochastic_frac = 0.5;
  cp->lr = 1.0;
  cp->value_weight = 1.0;
  cp->max_depth = 0;
  cp->grow_policy = -1;
  cp->eval_episodes = 100;
  cp->seed = 0;
}

void brl_compress_params_default_sized(brl_compress_params *cp,
                                       size_t struct_size, int trees) {
  if (!cp)
    return;
  brl_compress_params full;
  defaults(&full, trees);
  brl__abi_out(&params_abi, &full, cp, struct_size);
}

/* The caller's parameters over the defaults (struct_size checked). */
static int params_in(const brl_compress_params *in, brl_compress_params *full) {
  int rc = brl__abi_check(&params_abi, in->struct_size);
  if (rc)
    return rc;
  defaults(full, in->trees);
  return brl__abi_in(&params_abi, in, full);
}

static int check_algo(const brl_agent *a) {
  if (a->cfg.algo != BRL_ALGO_PPO && a->cfg.algo != BRL_ALGO_A2C)
    return brl__fail(BRL_EUNSUPPORTED,
                     "compression supports PPO and A2C agents, not %s (its "
                     "outputs are not a policy's logits or means)",
                     brl_algo_name(a->cfg.algo));
  return BRL_OK;
}

static int check_params(const brl_agent *a, const brl_compress_params *cp) {
  int rc = check_algo(a);
  if (rc)
    return rc;
  const int need = a->vf ? 2 : 1;
  if (cp->trees < need)
    return brl__fail(BRL_EINVAL,
                     "trees is %d: compress into at least %d tree%s (one per "
                     "ensemble)",
                     cp->trees, need, need > 1 ? "s" : "");
  if (!(cp->lr > 0 && cp->lr < 1e30))
    return brl__fail(BRL_EINVAL, "lr is %g: use a positive learning rate",
                     cp->lr);
  if (!(cp->value_weight >= 0 && cp->value_weight < 1e30))
    return brl__fail(BRL_EINVAL, "value_weight is %g: use 0 or more",
                     cp->value_weight);
  if (cp->max_depth < 0 || cp->max_depth > BRL_MAX_DEPTH)
    return brl__fail(BRL_EINVAL, "max_depth is %d: use 0 (the agent's) to %d",
                     cp->max_depth, BRL_MAX_DEPTH);
  if (cp->grow_policy < -1 || cp->grow_policy > 1)
    return brl__fail(BRL_EINVAL,
                     "grow_policy is %d: use -1 (the agent's), 0 (oblivious) "
                     "or 1 (greedy)",
                     cp->grow_policy);
  return BRL_OK;
}

/* The parameters of recording on an env (brl_agent_compress only). */
static int check_recording(const brl_compress_params *cp) {
  if (cp->steps < 1 || cp->steps > ((int64_t)1 << 31))
    return brl__fail(BRL_EINVAL, "steps is %lld: record 1 to 2^31 env steps",
                     (long long)cp->steps);
  if (cp->holdout_steps < 0 || cp->holdout_steps > ((int64_t)1 << 31))
    return brl__fail(BRL_EINVAL,
                     "holdout_steps is %lld: use 0 to 2^31 env steps",
                     (long long)cp->holdout_steps);
  if (!(cp->stochastic_frac >= 0 && cp->stochastic_frac <= 1))
    return brl__fail(BRL_EINVAL, "stochastic_frac is %g: use 0 to 1",
                     cp->stochastic_frac);
  if (cp->eval_episodes < 0)
    return brl__fail(BRL_EINVAL, "eval_episodes is %d: use 0 or more",
                     cp->eval_episodes);
  return BRL_OK;
}

/* Centres the logits of each sub-action in rows [0, n) of Y (row stride
 * pi_K; softmax is unchanged by a shift). Gaussian means stay as they
 * are. As a brl_target_fn, ctx is the agent. */
static void center_logits(void *ctx, float *Y, int64_t n) {
  const brl_agent *a = ctx;
  if (a->gauss)
    return;
  for (int64_t i = 0; i < n; i++) {
    float *row = Y + i * a->pi_K;
    int off = 0;
    for (int k = 0; k < a->dist.n_sub; k++) {
      const int m = a->dist.nvec[k];
      double mean = 0;
      for (int j = 0; j < m; j++)
        mean += row[off + j];
      mean /= m;
      for (int j = 0; j < m; j++)
        row[off + j] = (float)(row[off + j] - mean);
      off += m;
    }
  }
}

/* A fresh model with src's parameters (depth and grow policy overridden
 * when given) distilled from src into `trees` trees over X (brl_model_
 * distill, leaves at lr x the residual; group_weight per output group).
 * Its group rates are src's, so that training continues with them. */
static int distill_model(const brl_model *src, const float *X,
                         const int32_t *Xc, int64_t n, int trees, double lr,
                         const float *group_weight, int depth, int grow,
                         brl_target_fn target, void *ctx, brl_model **out) {
  *out = NULL;
  brl_params p;
  int rc = brl_model_params(src, &p);
  if (rc)
    return rc;
  if (depth > 0)
    p.max_depth = depth;
  if (grow >= 0)
    p.grow_policy = (brl_grow_policy)grow;
  brl_model *m = NULL;
  if ((rc = brl_model_create(&p, &m)))
    return rc;
  for (int g = 0; !rc && g < p.n_groups; g++)
    rc = brl_model_set_group_lr(m, g, (float)lr, (float)lr);
  if (!rc)
    rc = brl_model_distill(m, src, X, Xc, n, trees, group_weight, target, ctx);
  for (int g = 0; !rc && g < p.n_groups; g++)
    rc = brl_model_set_group_lr(m, g, p.groups[g].lr, p.groups[g].lr_end);
  if (rc) {
    brl_model_free(&m);
    return rc;
  }
  *out = m;
  return BRL_OK;
}

static int n_trees_all(const brl_agent *a) {
  return brl_model_n_trees(a->pi) + (a->vf ? brl_model_n_trees(a->vf) : 0);
}

/* Distils the agent's ensembles over obs (n rows) into new models (NULL
 * where an ensemble is already within its share and keeps its tree
 * shape). */
static int distill(brl_agent *a, const float *obs, int64_t n,
                   const brl_compress_params *cp, brl_model **pi_out,
                   brl_model **vf_out) {
  const int trees = cp->trees, depth = cp->max_depth, grow = cp->grow_policy;
  *pi_out = NULL;
  *vf_out = NULL;
  const float *X;
  const int32_t *Xc;
  int rc = brl__agent_split(a, obs, n, &X, &Xc);
  if (rc)
    return rc;
  int pi_budget = a->vf ? trees - trees / 2 : trees;
  int vf_budget = trees / 2;
  /* Never more trees than the ensemble has (at least one). */
  const int npi = brl_model_n_trees(a->pi);
  const int nvf = a->vf ? brl_model_n_trees(a->vf) : 0;
  if (npi < pi_budget)
    pi_budget = npi > 1 ? npi : 1;
  if (a->vf && nvf < vf_budget)
    vf_budget = nvf > 1 ? nvf : 1;
  /* New tree shapes apply to every ensemble (the file keeps one depth). */
  const int force = (depth > 0 && depth != a->cfg.max_depth) ||
                    (grow >= 0 && grow != (int)a->cfg.grow_policy);
  float w[BRL_MAX_GROUPS];
  for (int g = 0; g < BRL_MAX_GROUPS; g++)
    w[g] = 1.0f;
  if (!a->vf) { /* the value is the last group of a shared model */
    brl_params pp;
    brl_model_params(a->pi, &pp);
    w[pp.n_groups - 1] = (float)cp->value_weight;
  }
  if (force || npi > pi_budget)
    rc = distill_model(a->pi, X, Xc, n, pi_budget, cp->lr, w, depth, grow,
                       center_logits, a, pi_out);
  if (!rc && a->vf && (force || nvf > vf_budget))
    rc = distill_model(a->vf, X, Xc, n, vf_budget, cp->lr, NULL, depth, grow,
                       NULL, NULL, vf_out);
  if (rc)
    brl_model_free(pi_out);
  return rc;
}

static void replace(brl_agent *a, brl_model **pi, brl_model **vf) {
  if (*pi) {
    brl_model_free(&a->pi);
    a->pi = *pi;
    *pi = NULL;
  }
  if (*vf) {
    brl_model_free(&a->vf);
    a->vf = *vf;
    *vf = NULL;
  }
  /* The new ensembles go on the agent's device (usable: the old ones are
   * on it). */
  (void)brl__agent_apply_device(a);
}

/* ------------------------------------------------------ online (learning) */

/* Distils the ensembles into compress_to trees over the rollout's
 * observations (when they hold more). */
static int compress_rollout(brl_agent *a) {
  const brl_agent_config *c = &a->cfg;
  int rc = check_algo(a);
  if (rc)
    return rc;
  if (c->compress_to < (a->vf ? 2 : 1))
    return brl__fail(BRL_EINVAL,
                     "compress_to is %d: online compression needs at least "
                     "%d tree%s",
                     c->compress_to, a->vf ? 2 : 1, a->vf ? "s" : "");
  if (n_trees_all(a) <= c->compress_to)
    return BRL_OK;
  brl_compress_params cp;
  brl_compress_params_default(&cp, c->compress_to);
  const int64_t N = a->n_train; /* the rollout's valid rows */
  if (N == 0)
    return BRL_OK;
  brl_model *pi = NULL, *vf = NULL;
  rc = distill(a, a->obs, N, &cp, &pi, &vf);
  if (rc)
    return rc;
  replace(a, &pi, &vf);
  return BRL_OK;
}

int brl__agent_compress_online(brl_agent *a) {
  const brl_agent_config *c = &a->cfg;
  if (c->compress_every <= 0 || a->updates % c->compress_every != 0)
    return BRL_OK;
  return compress_rollout(a);
}

int brl__agent_compress_budget(brl_agent *a) {
  const brl_agent_config *c = &a->cfg;
  if (c->tree_budget <= 0 ||
      n_trees_all(a) + brl__trees_per_update(c) <= c->tree_budget)
    return BRL_OK;
  return compress_rollout(a);
}

/* ------------------------------------------------------ offline (on env) */

static int check_env(const brl_agent *a, const brl_env *env) {
  brl_env_spec spec;
  int rc = brl_env_get_spec(env, &spec);
  if (rc)
    return rc;
  brl_action_space s;
  if ((rc = brl_action_space_from_env(&spec, &s)))
    return rc;
  int same = spec.obs_dim == a->obs_dim && s.kind == a->space.kind &&
             s.dim == a->space.dim;
  for (int j = 0; same && j < s.dim; j++)
    same = s.kind == BRL_SPACE_BOX
               ? s.low[j] == a->space.low[j] && s.high[j] == a->space.high[j]
               : s.nvec[j] == a->space.nvec[j];
  if (!same)
    return brl__fail(BRL_EINVAL,
                     "the spaces of %s differ from the agent's: compress on "
                     "the environment the agent was trained on",
                     spec.id);
  return BRL_OK;
}

/* Records n_rows observations (into X) of the teacher acting on env, each
 * episode of each copy deterministic or, with probability frac, sampled. */
static int record(brl_agent *a, brl_env *env, int64_t n_rows, double frac,
                  brl_rng *rng, float *X) {
  const int E = brl_env_n_envs(env);
  const size_t d = (size_t)a->obs_dim;
  float *obs = malloc((size_t)E * d * sizeof(float));
  float *act = malloc((size_t)E * (size_t)a->act_dim * sizeof(float));
  float *raw = malloc((size_t)a->act_dim * sizeof(float));
  float *rew = malloc((size_t)E * sizeof(float));
  uint8_t *term = malloc((size_t)E), *trunc = malloc((size_t)E);
  uint8_t *stoch = malloc((size_t)E);
  int rc = BRL_OK;
  if (!obs || !act || !raw || !rew || !term || !trunc || !stoch) {
    rc = brl__fail(BRL_ENOMEM, "out of memory recording rollouts");
    goto done;
  }
  if ((rc = brl_env_reset(env, obs)))
    goto done;
  for (int e = 0; e < E; e++)
    stoch[e] = brl_rng_uniform(rng) < frac;
  int64_t got = 0;
  while (got < n_rows) {
    const int64_t take = n_rows - got < E ? n_rows - got : E;
    memcpy(X + got * (int64_t)d, obs, (size_t)take * d * sizeof(float));
    got += take;
    if (got >= n_rows)
      break;
    if ((rc = brl__agent_forward(a, obs, E, NULL)))
      goto done;
    float ls[BRL_MAX_ACTION_DIM];
    for (int e = 0; e < E; e++) {
      brl_policy_out pi;
      brl__agent_policy(a, a->out_pi + (size_t)e * (size_t)a->pi_K, NULL, ls,
                        &pi);
      rc = stoch[e] ? brl__dist_sample(&a->dist, &pi, rng, raw)
                    : brl__dist_mode(&a->dist, &pi, raw);
      if (rc)
        goto done;
      brl__agent_clip_action(a, raw, act + (size_t)e * (size_t)a->act_dim);
    }
    if ((rc = brl_env_step(env, act, obs, rew, term, trunc, NULL)))
      goto done;
    for (int e = 0; e < E; e++)
      if (term[e] || trunc[e])
        stoch[e] = brl_rng_uniform(rng) < frac;
  }
done:
  free(obs);
  free(act);
  free(raw);
  free(rew);
  free(term);
  free(trunc);
  free(stoch);
  return rc;
}

/* Outputs of the agent for n rows: policy outputs P (n x pi_K) with logits
 * centred and values V (n). */
static int outputs(brl_agent *a, const float *obs, int64_t n, float *P,
                   float *V) {
  const float *X;
  const int32_t *Xc;
  int rc = brl__agent_split(a, obs, n, &X, &Xc);
  if (!rc)
    rc = brl_model_predict_cat(a->pi, X, Xc, n, 0, -1, P);
  if (!rc && a->vf)
    rc = brl_model_predict_cat(a->vf, X, Xc, n, 0, -1, V);
  if (rc)
    return rc;
  for (int64_t i = 0; !a->vf && i < n; i++)
    V[i] = P[i * a->pi_K + a->col_value];
  center_logits(a, P, n);
  return BRL_OK;
}

/* Largest total-variation distance over the sub-actions of one row. */
static double row_tv(const brl_agent *a, const float *p, const float *q) {
  double worst = 0;
  int off = 0;
  for (int k = 0; k < a->dist.n_sub; k++) {
    const int m = a->dist.nvec[k];
    double mp = -INFINITY, mq = -INFINITY, sp = 0, sq = 0, tv = 0;
    for (int j = 0; j < m; j++) {
      mp = p[off + j] > mp ? p[off + j] : mp;
      mq = q[off + j] > mq ? q[off + j] : mq;
    }
    for (int j = 0; j < m; j++) {
      sp += exp(p[off + j] - mp);
      sq += exp(q[off + j] - mq);
    }
    for (int j = 0; j < m; j++)
      tv += fabs(exp(p[off + j] - mp) / sp - exp(q[off + j] - mq) / sq);
    worst = 0.5 * tv > worst ? 0.5 * tv : worst;
    off += m;
  }
  return worst;
}

/* Compares the student's outputs (Ps, Vs) with the teacher's (Pt, Vt). */
static int compare(const brl_agent *a, const float *Pt, const float *Vt,
                   const float *Ps, const float *Vs, int64_t n,
                   brl_compress_report *r) {
  const int K = a->pi_K, P = a->n_params;
  double se_p = 0, se_v = 0, tv = 0;
  int64_t agree = 0;
  float at[BRL_MAX_ACTION_DIM], as[BRL_MAX_ACTION_DIM];
  float ls[BRL_MAX_ACTION_DIM];
  for (int64_t i = 0; i < n; i++) {
    const float *t = Pt + i * K, *s = Ps + i * K;
    for (int j = 0; j < P; j++)
      se_p += ((double)t[j] - s[j]) * ((double)t[j] - s[j]);
    se_v += ((double)Vt[i] - Vs[i]) * ((double)Vt[i] - Vs[i]);
    if (a->gauss)
      continue;
    brl_policy_out pt, ps;
    brl__agent_policy(a, t, NULL, ls, &pt);
    brl__agent_policy(a, s, NULL, ls, &ps);
    int rc;
    if ((rc = brl__dist_mode(&a->dist, &pt, at)) ||
        (rc = brl__dist_mode(&a->dist, &ps, as)))
      return rc;
    agree += !memcmp(at, as, (size_t)a->act_dim * sizeof(float));
    tv += row_tv(a, t, s);
  }
  const double nn = n > 0 ? (double)n : NAN;
  r->policy_rmse = sqrt(se_p / (nn * P));
  r->value_rmse = sqrt(se_v / nn);
  r->agreement = a->gauss ? NAN : (double)agree / nn;
  r->prob_tv = a->gauss ? NAN : tv / nn;
  return BRL_OK;
}

static void nan_eval(brl_eval_result *e) {
  memset(e, 0, sizeof *e);
  e->mean_return = e->std_return = e->mean_length = NAN;
  e->min_return = e->max_return = NAN;
}

/* Distils over X (n rows), reports on H (h rows; none when h == 0) and,
 * with an env, evaluates teacher and student; on success the student
 * replaces the teacher. r holds trees_before and the NaN returns. */
static int compress_core(brl_agent *a, brl_env *env, const float *X, int64_t n,
                         const float *H, int64_t h,
                         const brl_compress_params *cp,
                         brl_compress_report *r) {
  const size_t K = (size_t)a->pi_K;
  const int64_t nm = n > h ? n : h;
  float *Pt = malloc((size_t)nm * K * sizeof(float));
  float *Ps = malloc((size_t)nm * K * sizeof(float));
  float *Vt = malloc((size_t)nm * sizeof(float));
  float *Vs = malloc((size_t)nm * sizeof(float));
  brl_model *pi = NULL, *vf = NULL, *old_pi = a->pi, *old_vf = a->vf;
  int rc = BRL_OK;
  if (!Pt || !Ps || !Vt || !Vs) {
    rc = brl__fail(BRL_ENOMEM, "out of memory for %lld recorded states",
                   (long long)nm);
    goto done;
  }
  r->train_rows = n;
  r->holdout_rows = h;
  if (env && cp->eval_episodes > 0 &&
      (rc = brl_agent_evaluate(a, env, cp->eval_episodes, &r->teacher, NULL)))
    goto done;
  const double t0 = brl__now();
  if ((rc = distill(a, X, n, cp, &pi, &vf)))
    goto done;
  r->fit_s = brl__now() - t0;
  /* Teacher (old_*) and student (new_*) outputs on the fitted states,
   * then on the held-out ones. */
  brl_model *new_pi = pi ? pi : old_pi, *new_vf = vf ? vf : old_vf;
  brl_compress_report tr;
  rc = outputs(a, X, n, Pt, Vt);
  a->pi = new_pi;
  a->vf = new_vf;
  if (!rc)
    rc = outputs(a, X, n, Ps, Vs);
  if (!rc)
    rc = compare(a, Pt, Vt, Ps, Vs, n, &tr);
  if (!rc)
    r->train_policy_rmse = tr.policy_rmse;
  if (!rc && h > 0) {
    a->pi = old_pi;
    a->vf = old_vf;
    rc = outputs(a, H, h, Pt, Vt);
    a->pi = new_pi;
    a->vf = new_vf;
    if (!rc)
      rc = outputs(a, H, h, Ps, Vs);
    if (!rc)
      rc = compare(a, Pt, Vt, Ps, Vs, h, r);
  } else if (!rc) {
    r->agreement = r->policy_rmse = r->value_rmse = r->prob_tv = NAN;
  }
  if (!rc && env && cp->eval_episodes > 0)
    rc = brl_agent_evaluate(a, env, cp->eval_episodes, &r->student, NULL);
  /* Put the teacher back; on success replace it for good. */
  a->pi = old_pi;
  a->vf = old_vf;
  if (rc)
    goto done;
  replace(a, &pi, &vf);
  if (cp->max_depth > 0)
    a->cfg.max_depth = cp->max_depth;
  if (cp->grow_policy >= 0)
    a->cfg.grow_policy = (brl_grow_policy)cp->grow_policy;
  r->trees_after = n_trees_all(a);
done:
  brl_model_free(&pi);
  brl_model_free(&vf);
  free(Pt);
  free(Ps);
  free(Vt);
  free(Vs);
  return rc;
}

static void report_init(const brl_agent *a, brl_compress_report *r) {
  memset(r, 0, sizeof *r);
  nan_eval(&r->teacher);
  nan_eval(&r->student);
  r->trees_before = n_trees_all(a);
}

int brl_agent_compress(brl_agent *a, brl_env *env,
                       const brl_compress_params *in,
                       brl_compress_report *out) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(env);
  BRL_CHECK_ARG(in);
  brl_compress_params full, *cp = &full;
  int rc;
  if ((rc = params_in(in, &full)) || (rc = check_params(a, cp)) ||
      (rc = check_recording(cp)) || (rc = check_env(a, env)))
    return rc;
  brl_compress_report r;
  report_init(a, &r);
  const int64_t n = cp->steps, h = cp->holdout_steps;
  const size_t d = (size_t)a->obs_dim;
  float *X = malloc((size_t)n * d * sizeof(float));
  float *H = malloc((size_t)(h > 0 ? h : 1) * d * sizeof(float));
  if (!X || !H) {
    rc = brl__fail(BRL_ENOMEM, "out of memory for %lld recorded states",
                   (long long)n);
    goto done;
  }
  brl_rng rng;
  brl_rng_seed(&rng, cp->seed ^ 0x636f6d7072657373ULL);
  if ((rc = record(a, env, n, cp->stochastic_frac, &rng, X)) ||
      (h > 0 && (rc = record(a, env, h, cp->stochastic_frac, &rng, H))))
    goto done;
  rc = compress_core(a, env, X, n, H, h, cp, &r);
  if (!rc && out)
    *out = r;
done:
  free(X);
  free(H);
  return rc;
}

int brl_agent_compress_obs(brl_agent *a, const float *obs, int64_t n_rows,
                           const float *holdout, int64_t n_holdout,
                           const brl_compress_params *in,
                           brl_compress_report *out) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(obs);
  BRL_CHECK_ARG(in);
  brl_compress_params full, *cp = &full;
  int rc = params_in(in, &full);
  if (rc || (rc = check_params(a, cp)))
    return rc;
  if (n_rows < 1 || n_rows > INT32_MAX)
    return brl__fail(BRL_EINVAL,
                     "n_rows is %lld: distil over 1 to 2^31-1 observations",
                     (long long)n_rows);
  if (n_holdout < 0 || n_holdout > INT32_MAX || (n_holdout > 0 && !holdout))
    return brl__fail(BRL_EINVAL,
                     "n_holdout is %lld%s: use 0 to 2^31-1 held-out "
                     "observations",
                     (long long)n_holdout,
                     n_holdout > 0 && !holdout ? " but holdout is NULL" : "");
  const int64_t d = a->obs_dim;
  for (int64_t i = 0; i < n_rows * d; i++)
    if (isinf(obs[i]))
      return brl__fail(BRL_EINVAL, "observation %lld, column %d is infinite",
                       (long long)(i / d), (int)(i % d));
  brl_compress_report r;
  report_init(a, &r);
  rc = compress_core(a, NULL, obs, n_rows, holdout, n_holdout, cp, &r);
  if (!rc && out)
    *out = r;
  return rc;
}
