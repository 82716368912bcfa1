/* AWR on the trees: every training call recomputes GAE(lambda) advantages
 * and returns over the whole replay buffer from the cached values (the
 * critic over obs, and over next_obs), weights w = min(exp(A / beta),
 * weights_max) (advantages normalised over the buffer first when
 * normalize_advantage), then grows gradient_steps trees per ensemble on
 * random minibatches: policy L = -w log pi(a) - ent_coef H, value
 * L = 0.5 vf_coef (V - R)^2. */
#include "core/error.h"
#include "rl/agent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* rb->w = the advantages normalised as brl__normalize_advantages does, over
 * the rows that are transitions (the others get 0: never sampled). */
static void normalize_valid(brl_replay *rb, int64_t n) {
  int64_t m = 0;
  double sum = 0.0;
  for (int64_t r = 0; r < n; r++)
    if (!brl__replay_invalid(rb, r)) {
      sum += (double)rb->adv[r];
      m++;
    }
  const double mean = m > 0 ? sum / (double)m : 0.0;
  double ss = 0.0;
  for (int64_t r = 0; r < n; r++)
    if (!brl__replay_invalid(rb, r))
      ss += ((double)rb->adv[r] - mean) * ((double)rb->adv[r] - mean);
  /* One transition is left as it is (as brl__normalize_advantages). */
  const double inv = m > 1 ? 1.0 / (sqrt(ss / (double)(m - 1)) + 1e-8) : 1.0;
  for (int64_t r = 0; r < n; r++)
    rb->w[r] = brl__replay_invalid(rb, r)
                   ? 0.0f
                   : (float)(m > 1 ? ((double)rb->adv[r] - mean) * inv
                                   : (double)rb->adv[r]);
}

/* Advantages, returns and weights of the buffer rows [0, n). */
static int awr_targets(brl_agent *a, const float *ppi, const float *pvf,
                       int64_t n) {
  const brl_agent_config *c = &a->cfg;
  brl_replay *rb = &a->rb;
  const int E = c->n_envs, K = a->pi_K;
  const int64_t S = rb->n_steps, cap = rb->steps_cap;
  int64_t n_invalid = 0;
  for (int e = 0; e < E; e++)
    rb->a_next[e] = 0.0f;
  /* Logical step k = 0 (oldest) .. S - 1 (newest), backwards. */
  for (int64_t k = S - 1; k >= 0; k--) {
    const int64_t slot = ((rb->head - S + k) % cap + cap) % cap;
    for (int e = 0; e < E; e++) {
      const int64_t r = slot * E + e;
      const double v = pvf ? pvf[r] : ppi[r * K + a->col_value];
      if (brl__replay_invalid(rb, r)) {
        /* No transition: the chain before it ends here (the row before
         * bootstraps from V of this row's observation, its nv). */
        rb->a_next[e] = 0.0f;
        rb->adv[r] = 0.0f;
        rb->ret[r] = (float)v;
        n_invalid++;
        continue;
      }
      const int term = rb->term[r], done = term || rb->trunc[r];
      double delta = rb->rew[r] - v + (term ? 0.0 : c->gamma * rb->nv[r]);
      double adv =
          delta + (done ? 0.0 : c->gamma * c->gae_lambda * rb->a_next[e]);
      rb->a_next[e] = (float)adv;
      rb->adv[r] = (float)adv;
      rb->ret[r] = (float)(adv + v);
    }
  }
  if (c->normalize_advantage && n_invalid > 0) {
    normalize_valid(rb, n);
  } else if (c->normalize_advantage && n > 1) {
    int rc = brl__normalize_advantages(rb->adv, NULL, n, rb->w);
    if (rc)
      return rc;
  } else {
    memcpy(rb->w, rb->adv, (size_t)n * sizeof(float));
  }
  for (int64_t r = 0; r < n; r++)
    rb->w[r] = (float)brl__awr_weight(rb->w[r], c->beta, c->weights_max);
  return BRL_OK;
}

/* The replay buffer's row i: AWR's loss reads the weight where PPO and A2C
 * read the advantage. */
static void replay_row(const brl_agent *a, int64_t k, int64_t i,
                       brl_row_in *in) {
  (void)k;
  const brl_replay *rb = &a->rb;
  in->act = rb->act + i * a->act_dim;
  in->mask = NULL;
  in->old_logp = 0.0;
  in->adv = rb->w[i];
  in->ret = rb->ret[i];
  in->v_old = 0.0f;
}

int brl__awr_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, int64_t n,
                   float progress, brl_update_acc *acc) {
  const brl_agent_config *c = &a->cfg;
  brl_replay *rb = &a->rb;
  const int K = a->pi_K;
  double lsg[BRL_MAX_ACTION_DIM];
  double *ls = a->gauss && !a->tree_log_std ? lsg : NULL;
  const int64_t bs = c->batch_size < n ? c->batch_size : n;
  const brl_model *critic = a->vf ? a->vf : a->pi;
  const int v0 = brl_model_n_trees(critic);
  const float *ppi, *pvf;
  int rc = brl__train_preds(a, bpi, bvf, &ppi, &pvf);
  if (!rc)
    rc = awr_targets(a, ppi, pvf, n);
  for (int step = 0; !rc && step < c->gradient_steps; step++) {
    for (int64_t k = 0; k < bs; k++)
      a->perm[k] = (int32_t)brl__replay_sample(a, n);
    rc = brl__train_preds(a, bpi, bvf, &ppi, &pvf);
    if (!rc)
      rc = brl__rows_grads(a, ppi, pvf, a->perm, bs, replay_row, acc, ls, NULL);
    if (!rc)
      rc = brl__minibatch_step(a, bpi, bvf, a->perm, bs, bs, progress, ls);
  }
  if (rc)
    return rc;
  /* V(next_obs) by the critic's new trees. */
  const int v1 = brl_model_n_trees(critic);
  if (a->vf) {
    return brl__replay_advance(a, a->vf, rb->next_obs, n, v0, v1, rb->nv);
  }
  float *tmp = calloc((size_t)n * (size_t)K, sizeof(float));
  if (!tmp)
    return brl__fail(BRL_ENOMEM, "out of memory for the replay's values");
  rc = brl__replay_advance(a, a->pi, rb->next_obs, n, v0, v1, tmp);
  for (int64_t i = 0; !rc && i < n; i++)
    rb->nv[i] += tmp[i * K + a->col_value];
  free(tmp);
  return rc;
}
