/* The on-policy update of a distributed agent on each rank's own rows.
 *
 * Every rank holds the whole rollout (agent_comm.c gathers it), so what is
 * cheap and must be global is computed from it on every rank alike: GAE,
 * the minibatch order, advantage normalisation. What costs - the batches'
 * codes and prediction caches, the per-row losses and gradients, the
 * histograms - each rank does for the rows of its own envs: its batches
 * hold those rows, binned as one batch of all the rows would be
 * (brl__batch_create_global), and grow each tree from histograms summed
 * over the ranks (brl_batch_set_comm), so every rank appends the tree that
 * one process appends. The rows' statistics (losses, approximate KL, the
 * log_std gradient) are gathered per minibatch and added up in the
 * one-process order, so the KL early stop, log_std and the logs are the
 * one-process ones too (docs/SCALING.md, "The update, split"). */
#include "core/error.h"
#include "engine/batch.h"
#include "engine/fit_bins.h"
#include "rl/agent.h"

#include <stdlib.h>
#include <string.h>

void brl__split_free(brl_agent *a) {
  void *bufs[] = {a->s_owner,        a->s_lrow, a->s_gidx,        a->s_kpos,
                  a->s_lidx,         a->s_obs,  a->s_pred,        a->s_val,
                  a->s_send,         a->s_recv, (void *)a->s_cur, a->s_env_rank,
                  (void *)a->s_order};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  a->s_owner = a->s_lrow = a->s_gidx = a->s_kpos = a->s_lidx = NULL;
  a->s_env_rank = NULL;
  a->s_obs = a->s_pred = a->s_val = NULL;
  a->s_send = a->s_recv = NULL;
  a->s_cur = a->s_order = NULL;
  a->c_split = a->s_comm = NULL;
}

int brl__split_alloc(brl_agent *a, int size) {
  if (brl__off_policy(a) || size < 2)
    return BRL_OK; /* their updates stay replicated */
  const size_t E = (size_t)a->cfg.n_envs, T = (size_t)brl__rollout_len(a);
  const size_t N = E * T, L = (size_t)a->c_count * T;
  const size_t W = (size_t)brl__rec_width(a), P = (size_t)size;
  a->s_owner = malloc(N * sizeof(int32_t));
  a->s_lrow = malloc(N * sizeof(int32_t));
  a->s_gidx = malloc(L * sizeof(int32_t));
  a->s_kpos = malloc(L * sizeof(int32_t));
  a->s_lidx = malloc(L * sizeof(int32_t));
  a->s_env_rank = malloc(E * sizeof(int32_t));
  a->s_obs = malloc(L * (size_t)a->obs_dim * sizeof(float));
  a->s_pred = malloc(L * (size_t)a->pi_K * sizeof(float));
  a->s_val = malloc(L * sizeof(float));
  a->s_send = malloc((1 + L * W) * sizeof(double));
  a->s_recv = malloc((P + N * W) * sizeof(double));
  a->s_cur = malloc(P * sizeof *a->s_cur);
  a->s_order = malloc(N * sizeof *a->s_order);
  if (!a->s_owner || !a->s_lrow || !a->s_gidx || !a->s_kpos || !a->s_lidx ||
      !a->s_env_rank || !a->s_obs || !a->s_pred || !a->s_val || !a->s_send ||
      !a->s_recv || !a->s_cur || !a->s_order) {
    brl__split_free(a);
    return brl__fail(BRL_ENOMEM,
                     "out of memory for the split update's buffers of %lld "
                     "rows",
                     (long long)N);
  }
  for (int r = 0; r < size; r++) {
    int first, count;
    brl_env_share((int)E, r, size, &first, &count);
    for (int e = first; e < first + count; e++)
      a->s_env_rank[e] = r;
  }
  return BRL_OK;
}

static int uses_control_variates(const brl_model *m) {
  brl_params p;
  return m && !brl_model_params(m, &p) && p.control_variates;
}

int brl__split_batches(brl_agent *a, int seed, brl_batch **bpi,
                       brl_batch **bvf) {
  *bpi = *bvf = NULL;
  brl_comm *c = a->c_split;
  if (!c || !a->s_owner || a->backend != BRL_BACKEND_CPU ||
      uses_control_variates(a->pi) || uses_control_variates(a->vf))
    return BRL_OK; /* replicated: the engine's data-parallel step is CPU */
  const int P = brl_comm_size(c), me = brl_comm_rank(c);
  const int64_t E = a->cfg.n_envs, N = E * brl__rollout_len(a);
  const size_t d = (size_t)a->obs_dim;
  /* Each training row's rank and, for this rank's, its row here (rows
   * counted in c_counts, which no exchange is using now). */
  int64_t *cnt = a->c_counts;
  for (int r = 0; r < P; r++)
    cnt[r] = 0;
  for (int64_t i = 0, k = 0; i < N; i++) {
    if (!a->valid[i])
      continue;
    const int r = a->s_env_rank[i % E];
    a->s_owner[k] = r;
    if (r == me) {
      const size_t l = (size_t)cnt[me], K = (size_t)a->pi_K;
      a->s_lrow[k] = (int32_t)l;
      memcpy(a->s_obs + l * d, a->obs + (size_t)k * d, d * sizeof(float));
      memcpy(a->s_pred + l * K, a->r_pred + (size_t)k * K, K * sizeof(float));
      a->s_val[l] = a->val[k];
    }
    cnt[r]++;
    k++;
  }
  /* Every rank knows every count: all split, or none. */
  for (int r = 0; r < P; r++)
    if (cnt[r] == 0)
      return BRL_OK;
  const int64_t n = cnt[me];
  const float *X;
  const int32_t *Xc;
  int rc = brl_comm_agree(c, brl__agent_split(a, a->s_obs, n, &X, &Xc));
  if (!rc)
    rc = brl__batch_create_global(a->pi, X, Xc, n, c, bpi);
  if (!rc && a->vf)
    rc = brl__batch_create_global(a->vf, X, Xc, n, c, bvf);
  if (!rc && seed) /* this rank's rows' outputs when acting */
    rc = brl__batch_seed_cache(*bpi, a->pi, a->s_pred);
  if (!rc && seed && a->vf)
    rc = brl__batch_seed_cache(*bvf, a->vf, a->s_val);
  rc = brl_comm_agree(c, rc);
  if (!rc)
    rc = brl_batch_set_comm(*bpi, c);
  if (!rc && a->vf)
    rc = brl_batch_set_comm(*bvf, c);
  if (rc) {
    brl_batch_free(bpi);
    brl_batch_free(bvf);
    return rc;
  }
  a->s_comm = c;
  return BRL_OK;
}

/* This rank's row k of the minibatch: global rollout row s_gidx[k], at
 * minibatch position s_kpos[k]. */
static void split_row(const brl_agent *a, int64_t k, int64_t i,
                      brl_row_in *in) {
  (void)i; /* its row in this rank's batches */
  brl__rollout_fill(a, a->s_gidx[k], a->adv_mb[a->s_kpos[k]], in);
}

int brl__minibatch_split(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                         const int32_t *idx, int64_t n, float progress,
                         int check_kl, brl_update_acc *acc, double *lsg,
                         int *stop) {
  brl_comm *c = a->s_comm;
  const int P = brl_comm_size(c), me = brl_comm_rank(c);
  const int W = brl__rec_width(a);
  int64_t *cnt = a->c_counts;
  for (int r = 0; r < P; r++)
    cnt[r] = 0;
  int64_t m = 0;
  for (int64_t k = 0; k < n; k++) {
    const int32_t g = idx ? idx[k] : (int32_t)k;
    const int r = a->s_owner[g];
    cnt[r]++;
    if (r == me) {
      a->s_gidx[m] = g;
      a->s_kpos[m] = (int32_t)k;
      a->s_lidx[m] = a->s_lrow[g];
      m++;
    }
  }
  /* This rank's rows: gradients, and their statistics records for every
   * rank. */
  const float *ppi, *pvf;
  brl_update_acc mine;
  memset(&mine, 0, sizeof mine);
  double lsg_mine[BRL_MAX_ACTION_DIM];
  int rc = brl__train_preds(a, bpi, bvf, &ppi, &pvf);
  if (!rc)
    rc = brl__minibatch_adv(a, idx, n);
  if (!rc)
    rc = brl__rows_grads(a, ppi, pvf, a->s_lidx, m, split_row, &mine,
                         lsg ? lsg_mine : NULL, a->s_send + 1);
  a->s_send[0] = (double)rc;
  for (int r = 0; r < P; r++)
    cnt[r] = (1 + cnt[r] * W) * (int64_t)sizeof(double);
  int trc = brl_comm_allgatherv(c, a->s_send, a->s_recv, cnt);
  if (trc)
    return trc;
  int any = 0;
  const double *p = a->s_recv;
  for (int r = 0; r < P; r++) {
    any |= p[0] != 0.0;
    a->s_cur[r] = p + 1;
    p += cnt[r] / (int64_t)sizeof(double);
  }
  if (any) /* every rank saw it: the first failure on all */
    return brl_comm_agree(c, rc);
  /* The records in minibatch order (each rank's are in it already). */
  for (int64_t k = 0; k < n; k++) {
    const int r = a->s_owner[idx ? idx[k] : k];
    a->s_order[k] = a->s_cur[r];
    a->s_cur[r] += W;
  }
  brl__rows_merge(a, a->s_order, n, acc, lsg);
  if (check_kl && a->cfg.target_kl > 0 && acc->kl_mb > 1.5 * a->cfg.target_kl) {
    *stop = 1;
    return BRL_OK;
  }
  return brl__minibatch_step(a, bpi, bvf, a->s_lidx, m, n, progress, lsg);
}
