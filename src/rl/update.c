/* The update after a full rollout, shared by PPO and A2C: advantages and
 * returns, one quantized batch per ensemble, per-sample loss gradients of a
 * minibatch from the batches' prediction caches (the row assembly AWR uses
 * too), one tree per ensemble and minibatch, the Adam step of a
 * state-independent log_std, statistics. */
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"
#include "rl/agent.h"

#include <math.h>
#include <string.h>

/* One row's gradients into g (pi_K floats) and *g_v (the separate critic's,
 * or g's value column); a state-independent log_std's gradient added into
 * lsg, the statistics into acc and *kl. */
static int row_grads(brl_agent *a, const float *row, float v,
                     const brl_row_in *in, float *g, float *g_v, double *lsg,
                     brl_update_acc *acc, double *kl, double *rec) {
  const brl_agent_config *c = &a->cfg;
  const int ns = a->dist.n_sub;
  const int n_pol = a->n_params + (a->tree_log_std ? ns : 0);
  float ls[BRL_MAX_ACTION_DIM], gls[BRL_MAX_ACTION_DIM];
  brl_policy_out pi;
  brl__agent_policy(a, row, in->mask, ls, &pi);
  float *g_ls = a->tree_log_std ? g + a->col_log_std : (a->gauss ? gls : NULL);
  brl_pg_info info;
  int rc;
  if (c->algo == BRL_ALGO_PPO)
    rc = brl__ppo_policy_loss(&a->dist, &pi, in->act, in->old_logp, in->adv,
                              c->clip_range, c->ent_coef, g, g_ls, &info);
  else if (c->algo == BRL_ALGO_AWR)
    rc = brl__awr_policy_loss(&a->dist, &pi, in->act, in->adv, c->ent_coef, g,
                              g_ls, &info);
  else
    rc = brl__a2c_policy_loss(&a->dist, &pi, in->act, in->adv, c->ent_coef, g,
                              g_ls, &info);
  if (rc)
    return rc;
  if (a->tree_log_std)
    for (int j = 0; j < ns; j++) /* no gradient through the clamp */
      if (row[a->col_log_std + j] != ls[j])
        g_ls[j] = 0.0f;
  if (lsg)
    for (int j = 0; j < ns; j++)
      lsg[j] += gls[j];
  brl__clip_grad_norm(g, n_pol, c->max_policy_grad_norm);
  double vl;
  if (c->algo == BRL_ALGO_PPO && c->clip_range_vf > 0)
    rc = brl__value_loss_clipped(v, in->v_old, in->ret, c->clip_range_vf,
                                 c->vf_coef, g_v, &vl);
  else
    rc = brl__value_loss(v, in->ret, c->vf_coef, g_v, &vl);
  if (rc)
    return rc;
  brl__clip_grad_norm(g_v, 1, c->max_value_grad_norm);
  /* SB3 logs the mean squared error, without vf_coef and the 0.5. */
  const double vlog = c->vf_coef > 0 ? 2.0 * vl / c->vf_coef : 0.0;
  acc->pg_loss += info.pg_loss;
  acc->v_loss += vlog;
  acc->entropy += info.entropy;
  acc->clip += info.outside;
  *kl += info.approx_kl;
  if (rec) { /* brl__rows_merge adds it as above */
    rec[0] = info.pg_loss;
    rec[1] = vlog;
    rec[2] = info.entropy;
    rec[3] = info.outside;
    rec[4] = info.approx_kl;
    for (int j = 0; j < ns; j++)
      rec[5 + j] = lsg ? (double)gls[j] : 0.0;
  }
  return BRL_OK;
}

void brl__rows_merge(const brl_agent *a, const double *const *recs, int64_t n,
                     brl_update_acc *acc, double *lsg) {
  const int ns = a->dist.n_sub;
  double kl = 0.0;
  if (lsg)
    for (int j = 0; j < ns; j++)
      lsg[j] = 0.0;
  for (int64_t k = 0; k < n; k++) {
    const double *r = recs[k];
    for (int j = 0; lsg && j < ns; j++)
      lsg[j] += r[5 + j];
    acc->pg_loss += r[0];
    acc->v_loss += r[1];
    acc->entropy += r[2];
    acc->clip += r[3];
    kl += r[4];
  }
  acc->kl += kl;
  acc->n += (double)n;
  acc->kl_mb = n > 0 ? kl / (double)n : 0.0;
}

int brl__rows_grads(brl_agent *a, const float *pred_pi, const float *pred_vf,
                    const int32_t *idx, int64_t n, brl_row_fill fill,
                    brl_update_acc *acc, double *lsg, double *rec) {
  const int K = a->pi_K, W = brl__rec_width(a);
  double kl = 0.0;
  if (lsg)
    for (int j = 0; j < a->dist.n_sub; j++)
      lsg[j] = 0.0;
  for (int64_t k = 0; k < n; k++) {
    const int64_t i = idx ? idx[k] : k;
    const float *row = pred_pi + i * K;
    float *g = a->g_pi + k * K;
    brl_row_in in;
    fill(a, k, i, &in);
    int rc = row_grads(a, row, pred_vf ? pred_vf[i] : row[a->col_value], &in, g,
                       a->vf ? a->g_vf + k : g + a->col_value, lsg, acc, &kl,
                       rec ? rec + k * W : NULL);
    if (rc)
      return rc;
  }
  acc->kl += kl;
  acc->n += (double)n;
  acc->kl_mb = n > 0 ? kl / (double)n : 0.0;
  return BRL_OK;
}

void brl__rollout_fill(const brl_agent *a, int64_t i, double adv,
                       brl_row_in *in) {
  in->act = a->act + i * a->act_dim;
  in->mask = a->has_mask ? a->mask + i * a->mask_dim : NULL;
  in->old_logp = a->logp[i];
  in->adv = adv;
  in->ret = a->ret[i];
  in->v_old = a->val[i];
}

/* The rollout's row i at minibatch position k. */
static void rollout_row(const brl_agent *a, int64_t k, int64_t i,
                        brl_row_in *in) {
  brl__rollout_fill(a, i, a->adv_mb[k], in);
}

int brl__minibatch_grads(brl_agent *a, const float *pred_pi,
                         const float *pred_vf, const int32_t *idx, int64_t n,
                         brl_update_acc *acc, double *lsg) {
  return brl__rows_grads(a, pred_pi, pred_vf, idx, n, rollout_row, acc, lsg,
                         NULL);
}

int brl__train_preds(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                     const float **ppi, const float **pvf) {
  *pvf = NULL;
  int rc = brl_batch_predictions(bpi, a->pi, ppi);
  if (!rc && bvf)
    rc = brl_batch_predictions(bvf, a->vf, pvf);
  return rc;
}

int brl__minibatch_adv(brl_agent *a, const int32_t *idx, int64_t n) {
  if (a->cfg.normalize_advantage)
    return brl__normalize_advantages(a->adv, idx, n, a->adv_mb);
  for (int64_t k = 0; k < n; k++)
    a->adv_mb[k] = a->adv[idx ? idx[k] : k];
  return BRL_OK;
}

void brl__models_stamp(const brl_agent *a, uint64_t *s) {
  const brl_model *m[2] = {a->pi, a->vf};
  for (int i = 0; i < 2; i++) {
    s[3 * i] = m[i] ? m[i]->uid : 0;
    s[3 * i + 1] = m[i] ? m[i]->generation : 0;
    s[3 * i + 2] = m[i] ? (uint64_t)m[i]->trees.n : 0;
  }
}

int brl__can_seed(const brl_agent *a) {
  uint64_t now[6];
  brl__models_stamp(a, now);
  return a->backend == BRL_BACKEND_CPU &&
         a->pi->p.optimizer != BRL_OPTIMIZER_ADAM &&
         (!a->vf || a->vf->p.optimizer != BRL_OPTIMIZER_ADAM) &&
         !memcmp(now, a->r_stamp, sizeof now);
}

static double sched(double lr, double lr_end, double progress) {
  return lr_end > 0 ? lr + (lr_end - lr) * progress : lr;
}

static void adam_log_std(brl_agent *a, const double *lsg, int64_t n,
                         float progress) {
  const brl_agent_config *c = &a->cfg;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-5;
  const double lr = sched(c->log_std_lr, c->log_std_lr_end, progress);
  brl_adam *m = &a->adam;
  m->t++;
  const double bc1 = 1.0 - pow(b1, (double)m->t);
  const double bc2 = 1.0 - pow(b2, (double)m->t);
  for (int j = 0; j < a->dist.n_sub; j++) {
    double g = lsg[j] / (double)n;
    m->m[j] = b1 * m->m[j] + (1.0 - b1) * g;
    m->v[j] = b2 * m->v[j] + (1.0 - b2) * g * g;
    double step = lr * (m->m[j] / bc1) / (sqrt(m->v[j] / bc2) + eps);
    double s = (double)a->log_std[j] - step;
    if (s < c->log_std_min)
      s = c->log_std_min;
    if (s > c->log_std_max)
      s = c->log_std_max;
    a->log_std[j] = (float)s;
  }
}

int brl__minibatch_step(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                        const int32_t *idx, int64_t n, int64_t n_all,
                        float progress, const double *lsg) {
  int rc = brl_model_step(a->pi, bpi, idx, n, a->g_pi, progress);
  if (!rc && a->vf)
    rc = brl_model_step(a->vf, bvf, idx, n, a->g_vf, progress);
  if (rc)
    return rc;
  if (lsg)
    adam_log_std(a, lsg, n_all, progress);
  return BRL_OK;
}

int brl__minibatch(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                   const int32_t *idx, int64_t n, float progress, int check_kl,
                   brl_update_acc *acc, double *lsg, int *stop) {
  *stop = 0;
  if (a->s_comm)
    return brl__minibatch_split(a, bpi, bvf, idx, n, progress, check_kl, acc,
                                lsg, stop);
  const float *ppi, *pvf;
  int rc = brl__train_preds(a, bpi, bvf, &ppi, &pvf);
  if (!rc)
    rc = brl__minibatch_adv(a, idx, n);
  if (!rc)
    rc = brl__minibatch_grads(a, ppi, pvf, idx, n, acc, lsg);
  if (rc)
    return rc;
  if (check_kl && a->cfg.target_kl > 0 && acc->kl_mb > 1.5 * a->cfg.target_kl) {
    *stop = 1;
    return BRL_OK;
  }
  return brl__minibatch_step(a, bpi, bvf, idx, n, n, progress, lsg);
}

static double explained_variance(const float *v, const float *r, int64_t n) {
  double mr = 0, md = 0;
  for (int64_t i = 0; i < n; i++) {
    mr += r[i];
    md += (double)r[i] - v[i];
  }
  mr /= (double)n;
  md /= (double)n;
  double vr = 0, vd = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)r[i] - v[i] - md;
    vr += ((double)r[i] - mr) * ((double)r[i] - mr);
    vd += d * d;
  }
  return vr == 0.0 ? NAN : 1.0 - vd / vr;
}

/* Moves the rollout's valid rows (advantages and returns computed) to the
 * front of its arrays, in order, and sets n_train to their count: the
 * update trains on them alone (batches, minibatches, normalisation,
 * statistics). With every row valid nothing moves. */
static void keep_valid_rows(brl_agent *a, int64_t N) {
  const size_t d = (size_t)a->obs_dim, ad = (size_t)a->act_dim;
  const size_t md = (size_t)a->mask_dim;
  int64_t k = 0;
  for (int64_t i = 0; i < N; i++) {
    if (!a->valid[i])
      continue;
    if (k != i) {
      memcpy(a->obs + k * d, a->obs + i * d, d * sizeof(float));
      memcpy(a->act + k * ad, a->act + i * ad, ad * sizeof(float));
      memcpy(a->r_pred + k * (int64_t)a->pi_K, a->r_pred + i * a->pi_K,
             (size_t)a->pi_K * sizeof(float));
      a->logp[k] = a->logp[i];
      a->val[k] = a->val[i];
      a->adv[k] = a->adv[i];
      a->ret[k] = a->ret[i];
      if (a->has_mask)
        memcpy(a->mask + k * md, a->mask + i * md, md);
    }
    k++;
  }
  a->n_train = k;
}

static int update(brl_agent *a, const float *last_obs) {
  const brl_agent_config *c = &a->cfg;
  const int E = c->n_envs;
  const int64_t N = (int64_t)E * brl__rollout_len(a);
  const double t0 = brl__now();
  double progress = a->total_timesteps > 0
                        ? (double)a->timesteps / (double)a->total_timesteps
                        : 0.0;
  progress = progress < 0 ? 0 : (progress > 1 ? 1 : progress);
  const int trees0 = brl_model_n_trees(a->pi) + brl_model_n_trees(a->vf);
  brl_update_acc acc;
  memset(&acc, 0, sizeof acc);
  int epochs = 1;
  int rc;
  if (brl__off_policy(a)) {
    rc = brl__offpolicy_update(a, last_obs, (float)progress, &acc);
    if (rc)
      return rc;
    goto stats;
  }
  rc = brl__agent_forward(a, last_obs, E, a->last_val);
  if (rc)
    return rc;
  if ((rc = brl__gae_valid(c->n_steps, E, a->rew, a->val, a->term, a->trunc,
                           a->valid, a->fin_val, a->last_val, c->gamma,
                           c->gae_lambda, a->adv, a->ret)))
    return rc;
  keep_valid_rows(a, N);

  /* A tree budget distils before the update could exceed it. */
  if ((rc = brl__agent_compress_budget(a)))
    return rc;
  brl_batch *bpi = NULL, *bvf = NULL;
  const float *p;
  const float *X;
  const int32_t *Xc;
  const int64_t NT = a->n_train;
  if (NT == 0) /* no transition in the rollout: nothing to learn from */
    goto stats;
  /* A distributed agent's rows split over the ranks, or all rows here.
   * The caches start from the outputs the rollout was acted with (the
   * predictions they would compute, bit for bit): no prediction of the
   * whole ensemble over the rollout. A distributed agent holds its own
   * rows' outputs only. */
  const int seed = brl__can_seed(a);
  rc = brl__split_batches(a, seed, &bpi, &bvf);
  if (!rc && !bpi) {
    rc = brl__agent_split(a, a->obs, NT, &X, &Xc);
    if (!rc)
      rc = brl_batch_create_cat(a->pi, X, Xc, NT, &bpi);
    if (!rc && a->vf)
      rc = brl_batch_create_cat(a->vf, X, Xc, NT, &bvf);
    if (!rc && seed && !a->c_split)
      rc = brl__batch_seed_cache(bpi, a->pi, a->r_pred);
    if (!rc && seed && !a->c_split && a->vf)
      rc = brl__batch_seed_cache(bvf, a->vf, a->val);
  }
  if (!rc)
    rc = brl_batch_predictions(bpi, a->pi, &p); /* makes the cache live */
  if (!rc && a->vf)
    rc = brl_batch_predictions(bvf, a->vf, &p);
  if (a->s_comm) /* no rank goes on to the collectives alone */
    rc = brl_comm_agree(a->s_comm, rc);
  if (!rc)
    rc = c->algo == BRL_ALGO_PPO
             ? brl__ppo_train(a, bpi, bvf, (float)progress, &acc, &epochs)
             : brl__a2c_train(a, bpi, bvf, (float)progress, &acc);
  a->s_comm = NULL;
  brl_batch_free(&bpi);
  brl_batch_free(&bvf);
  if (rc)
    return rc;

stats:;
  const double t1 = brl__now();
  brl_agent_stats *s = &a->stats;
  s->algo = c->algo;
  s->progress = progress;
  const double nn = acc.n > 0 ? acc.n : 1.0;
  s->policy_loss = acc.pg_loss / nn;
  s->value_loss = acc.v_loss / nn;
  s->entropy = acc.entropy / nn;
  s->approx_kl = acc.kl / nn;
  s->clip_fraction = acc.clip / nn;
  s->explained_variance = brl__off_policy(a) || a->n_train == 0
                              ? NAN
                              : explained_variance(a->val, a->ret, a->n_train);
  s->log_std_mean = NAN;
  if (a->gauss && !a->tree_log_std) {
    double m = 0;
    for (int j = 0; j < a->dist.n_sub; j++)
      m += a->log_std[j];
    s->log_std_mean = m / a->dist.n_sub;
  }
  s->epochs_done = epochs;
  s->trees_added = brl_model_n_trees(a->pi) + brl_model_n_trees(a->vf) - trees0;
  s->policy_lr = sched(c->policy_lr, c->policy_lr_end, progress);
  s->value_lr = sched(c->value_lr, c->value_lr_end, progress);
  s->rollout_s = a->t_mark > 0 ? t0 - a->t_mark : 0.0;
  s->update_s = t1 - t0;
  s->fps = (double)N / (s->rollout_s + s->update_s + 1e-12);
  a->updates++;
  a->t = 0;
  /* Online compression (compress.c; off unless compress_every > 0). */
  if ((rc = brl__agent_compress_online(a)))
    return rc;
  brl_agent_stats out;
  brl_agent_get_stats(a, &out);
  *s = out;
  if (a->cb && a->cb(&out, a->cb_user))
    a->stop = 1;
  a->t_mark = brl__now();
  return BRL_OK;
}

/* A failed update (out of memory) leaves the ensembles and the training
 * state as they were and drops the rollout: trees are only appended, so
 * the ensembles are truncated back; the generator, log_std and its Adam
 * state, counters and the replay buffer's position are restored, and the replay
 * caches recomputed. (A full replay buffer keeps the rollout's
 * transitions: they overwrote the oldest.) */
int brl_agent_update(brl_agent *a, const float *last_obs) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(last_obs);
  if (a->comm) /* this rank's rows: gathered, then the code below */
    return brl__agent_update_comm(a, last_obs);
  if (!brl_agent_rollout_full(a))
    return brl__fail(BRL_ESTATE,
                     "brl_agent_update: the rollout holds %d of %d steps; "
                     "collect and observe until brl_agent_rollout_full()",
                     a->t, brl__rollout_len(a));
  brl_model *pi = a->pi, *vf = a->vf;
  const int n_pi = brl_model_n_trees(pi), n_vf = brl_model_n_trees(vf);
  const brl_rng rng = a->rng;
  const brl_adam adam = a->adam;
  float log_std[BRL_MAX_ACTION_DIM];
  memcpy(log_std, a->log_std, sizeof log_std);
  const brl_replay rb = a->rb;
  const brl_agent_stats stats = a->stats;
  const int64_t updates = a->updates;
  int rc = update(a, last_obs);
  if (rc == BRL_OK)
    return rc;
  if (a->pi == pi && brl_model_n_trees(pi) >= n_pi)
    brl_model_truncate(pi, n_pi);
  if (vf && a->vf == vf && brl_model_n_trees(vf) >= n_vf)
    brl_model_truncate(vf, n_vf);
  a->rng = rng;
  a->adam = adam;
  memcpy(a->log_std, log_std, sizeof log_std);
  a->stats = stats;
  a->updates = updates;
  a->t = 0;
  a->pending = 0;
  if (brl__off_policy(a)) {
    if (rb.n_steps < rb.steps_cap) {
      a->rb.head = rb.head;
      a->rb.n_steps = rb.n_steps;
    }
    a->rb.qt_trees = rb.qt_trees;
    brl__replay_refresh(a); /* rc stays the first failure's */
  }
  return rc;
}
