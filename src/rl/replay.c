/* The replay buffer of the off-policy algorithms (AWR, DQN) and its
 * prediction caches.
 *
 * Cost model: the ensembles change only inside brl_agent_update(). So the
 * outputs computed while acting (the whole ensemble over each new
 * observation, which acting needs anyway) are exactly the cached outputs of
 * the new transitions: inserting a rollout predicts nothing over the
 * buffer. A training call quantizes the buffer into a batch whose
 * prediction cache is seeded from the buffer's cache (no prediction), then
 * every tree it grows updates that cache (one tree over the buffer), and
 * the cache is copied back. Outputs over next observations (AWR's
 * V(next_obs), DQN's target prefix) are brought forward by the trees added
 * since they were last computed. So a training call costs
 * O(gradient_steps x buffer) tree evaluations, whatever the ensemble size;
 * only acting grows with it. */
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"
#include "engine/predict.h"
#include "rl/agent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void brl__replay_alloc(brl_agent *a) {
  a->rb.steps_cap = a->cfg.buffer_size / a->cfg.n_envs;
}

/* realloc of *p to n elements of size sz; 0 on failure (*p unchanged). */
static int grow(void *p, size_t n, size_t sz) {
  void **pp = p;
  void *q = realloc(*pp, n * sz);
  if (!q)
    return 0;
  *pp = q;
  return 1;
}

int brl__replay_reserve(brl_agent *a, int64_t rows) {
  brl_replay *rb = &a->rb;
  if (rows <= rb->rows_alloc)
    return BRL_OK;
  const size_t R = (size_t)rows, d = (size_t)a->obs_dim;
  const size_t K = (size_t)a->pi_K, E = (size_t)a->cfg.n_envs;
  const int awr = a->cfg.algo == BRL_ALGO_AWR;
  /* Each array either keeps its contents at its old size or grows: the
   * buffer stays valid after a failure, and a later call retries. */
  int ok = grow(&rb->obs, R * d, sizeof(float)) &&
           grow(&rb->next_obs, R * d, sizeof(float)) &&
           grow(&rb->act, R * (size_t)a->act_dim, sizeof(float)) &&
           grow(&rb->rew, R, sizeof(float)) && grow(&rb->term, R, 1) &&
           grow(&rb->trunc, R, 1) && grow(&rb->pred, R * K, sizeof(float));
  if (ok && awr)
    ok = (!a->vf || grow(&rb->vpred, R, sizeof(float))) &&
         grow(&rb->nv, R, sizeof(float)) && grow(&rb->adv, R, sizeof(float)) &&
         grow(&rb->ret, R, sizeof(float)) && grow(&rb->w, R, sizeof(float)) &&
         (rb->a_next || grow(&rb->a_next, E, sizeof(float)));
  else if (ok)
    ok = grow(&rb->qt, R * K, sizeof(float));
  if (!ok)
    return brl__fail(BRL_ENOMEM,
                     "out of memory for a replay buffer of %lld transitions: "
                     "lower buffer_size",
                     (long long)rows);
  rb->rows_alloc = rows;
  return BRL_OK;
}

void brl__replay_free(brl_agent *a) {
  brl_replay *rb = &a->rb;
  void *bufs[] = {a->r_pred,    a->r_qt,   a->r_fobs, a->out_qt, rb->obs,
                  rb->next_obs, rb->act,   rb->rew,   rb->term,  rb->trunc,
                  rb->pred,     rb->vpred, rb->nv,    rb->qt,    rb->adv,
                  rb->ret,      rb->w,     rb->a_next};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  memset(rb, 0, sizeof *rb);
  a->r_pred = a->r_qt = a->r_fobs = a->out_qt = NULL;
}

double brl__dqn_epsilon(const brl_agent *a) {
  const brl_agent_config *c = &a->cfg;
  double p = a->total_timesteps > 0
                 ? (double)a->timesteps / (double)a->total_timesteps
                 : 0.0;
  double f = c->exploration_fraction > 0 ? p / c->exploration_fraction : 1.0;
  if (f > 1.0)
    f = 1.0;
  return c->exploration_initial_eps +
         f * (c->exploration_final_eps - c->exploration_initial_eps);
}

/* A batch over the buffer's first n observations whose prediction cache is
 * the buffer's cache `pred` (current for every tree of m): no prediction. */
static int seeded_batch(const brl_model *m, const float *X, const int32_t *Xc,
                        int64_t n, const float *pred, brl_batch **out) {
  int rc = brl_batch_create_cat(m, X, Xc, n, out);
  if (rc)
    return rc;
  rc = brl__batch_seed_cache(*out, m, pred);
  if (rc)
    brl_batch_free(out);
  return rc;
}

/* Appends the rollout (train_freq steps of n_envs) to the buffer. */
static int insert_rollout(brl_agent *a, const float *last_obs) {
  const brl_agent_config *c = &a->cfg;
  brl_replay *rb = &a->rb;
  const int E = c->n_envs, T = c->train_freq, d = a->obs_dim, K = a->pi_K;
  const int awr = c->algo == BRL_ALGO_AWR, ad = a->act_dim;
  const size_t fd = (size_t)d * sizeof(float);
  /* The buffer grows to its capacity at the first insertion (a loaded one
   * holds only its transitions until then); so does the split workspace,
   * which every training batch over the buffer uses. */
  const int64_t cap = rb->steps_cap * (int64_t)E;
  int rc;
  if ((rc = brl__replay_reserve(a, cap)) ||
      (rc = brl__agent_reserve_split(a, cap)))
    return rc;
  /* AWR: V(last_obs); DQN: the target prefix over last_obs. */
  if ((rc = brl__agent_forward(a, last_obs, E, a->last_val)))
    return rc;
  for (int t = 0; t < T; t++) {
    const int64_t slot = rb->head;
    rb->head = (rb->head + 1) % rb->steps_cap;
    if (rb->n_steps < rb->steps_cap)
      rb->n_steps++;
    for (int e = 0; e < E; e++) {
      const size_t i = (size_t)t * (size_t)E + (size_t)e;
      const size_t r = (size_t)slot * (size_t)E + (size_t)e;
      const int invalid = !a->valid[i];
      const int term = invalid || a->term[i];
      const int trunc = invalid || (a->trunc[i] && !term);
      memcpy(rb->obs + r * d, a->obs + i * d, fd);
      memcpy(rb->act + r * ad, a->act + i * ad, (size_t)ad * sizeof(float));
      rb->rew[r] = a->rew[i];
      rb->term[r] = (uint8_t)term;
      rb->trunc[r] = (uint8_t)trunc;
      memcpy(rb->pred + r * K, a->r_pred + i * K, (size_t)K * sizeof(float));
      if (rb->vpred)
        rb->vpred[r] = a->val[i];
      /* The next observation and the cached outputs over it. */
      const float *nx;
      float nv = 0.0f;
      const float *qt = NULL;
      if (term) { /* (invalid rows: never sampled, never bootstrapped) */
        nx = a->obs + i * d; /* placeholder, never bootstrapped from */
        nv = a->val[i];
        qt = awr ? NULL : a->r_qt + i * K;
      } else if (trunc) {
        nx = a->r_fobs + i * d;
        nv = a->fin_val[i]; /* AWR: the critic at observe time */
      } else if (t + 1 < T) {
        nx = a->obs + (i + (size_t)E) * d;
        nv = a->val[i + (size_t)E];
        qt = awr ? NULL : a->r_qt + (i + (size_t)E) * K;
      } else {
        nx = last_obs + (size_t)e * d;
        nv = a->last_val[e];
        qt = awr ? NULL : a->out_qt + (size_t)e * K;
      }
      memcpy(rb->next_obs + r * d, nx, fd);
      if (awr) {
        rb->nv[r] = nv;
      } else if (qt) {
        memcpy(rb->qt + r * K, qt, (size_t)K * sizeof(float));
      } else {
        /* Truncated: the prefix over the final observation (rare). */
        const float *X;
        const int32_t *Xc;
        if ((rc = brl__agent_split(a, nx, 1, &X, &Xc)) ||
            (rc = brl_model_predict_cat(a->pi, X, Xc, 1, 0, rb->qt_trees,
                                        rb->qt + r * K)))
          return rc;
      }
    }
  }
  return BRL_OK;
}

int64_t brl__replay_sample(brl_agent *a, int64_t n) {
  for (;;) {
    const int64_t r = (int64_t)brl_rng_below(&a->rng, (uint64_t)n);
    if (!brl__replay_invalid(&a->rb, r))
      return r;
  }
}

int brl__offpolicy_update(brl_agent *a, const float *last_obs, float progress,
                          brl_update_acc *acc) {
  const brl_agent_config *c = &a->cfg;
  brl_replay *rb = &a->rb;
  int rc = insert_rollout(a, last_obs);
  if (rc || a->timesteps < c->learning_starts)
    return rc;
  const int64_t n = rb->n_steps * c->n_envs;
  /* Minibatches are drawn from the transitions only (brl__replay_sample):
   * with none yet, there is nothing to train on. */
  int64_t n_valid = 0;
  for (int64_t r = 0; r < n; r++)
    n_valid += !brl__replay_invalid(rb, r);
  if (n_valid == 0)
    return BRL_OK;
  const size_t K = (size_t)a->pi_K;
  brl_batch *bpi = NULL, *bvf = NULL;
  const float *X;
  const int32_t *Xc;
  rc = brl__agent_split(a, rb->obs, n, &X, &Xc);
  if (!rc)
    rc = seeded_batch(a->pi, X, Xc, n, rb->pred, &bpi);
  if (!rc && a->vf)
    rc = seeded_batch(a->vf, X, Xc, n, rb->vpred, &bvf);
  if (!rc)
    rc = c->algo == BRL_ALGO_AWR ? brl__awr_train(a, bpi, bvf, n, progress, acc)
                                 : brl__dqn_train(a, bpi, n, progress, acc);
  /* The batch caches hold every new tree: they become the buffer's. */
  const float *p;
  if (!rc)
    rc = brl_batch_predictions(bpi, a->pi, &p);
  if (!rc)
    memcpy(rb->pred, p, (size_t)n * K * sizeof(float));
  if (!rc && bvf && !(rc = brl_batch_predictions(bvf, a->vf, &p)))
    memcpy(rb->vpred, p, (size_t)n * sizeof(float));
  brl_batch_free(&bpi);
  brl_batch_free(&bvf);
  return rc;
}

/* ------------------------------------------------------------- caches */

int brl__replay_advance(brl_agent *a, const brl_model *m, const float *obs,
                        int64_t n, int from, int to, float *out) {
  if (to <= from)
    return BRL_OK;
  const float *X;
  const int32_t *Xc;
  int rc = brl__agent_split(a, obs, n, &X, &Xc);
  if (rc)
    return rc;
  return brl__model_predict_add(m, X, Xc, n, from, to, out);
}

int brl__replay_refresh(brl_agent *a) {
  brl_replay *rb = &a->rb;
  const int64_t n = rb->n_steps * a->cfg.n_envs;
  if (n == 0)
    return BRL_OK;
  const float *X;
  const int32_t *Xc;
  int rc = brl__agent_split(a, rb->obs, n, &X, &Xc);
  if (!rc)
    rc = brl_model_predict_cat(a->pi, X, Xc, n, 0, -1, rb->pred);
  if (!rc && rb->vpred)
    rc = brl_model_predict_cat(a->vf, X, Xc, n, 0, -1, rb->vpred);
  if (!rc)
    rc = brl__agent_split(a, rb->next_obs, n, &X, &Xc);
  if (rc)
    return rc;
  if (a->cfg.algo == BRL_ALGO_DQN)
    return brl_model_predict_cat(a->pi, X, Xc, n, 0, rb->qt_trees, rb->qt);
  /* AWR: V(next_obs). */
  if (a->vf)
    return brl_model_predict_cat(a->vf, X, Xc, n, 0, -1, rb->nv);
  float *tmp = malloc((size_t)n * (size_t)a->pi_K * sizeof(float));
  if (!tmp)
    return brl__fail(BRL_ENOMEM, "out of memory refreshing the replay");
  rc = brl_model_predict_cat(a->pi, X, Xc, n, 0, -1, tmp);
  for (int64_t i = 0; !rc && i < n; i++)
    rb->nv[i] = tmp[i * a->pi_K + a->col_value];
  free(tmp);
  return rc;
}
