/* Distributed agents: each rank steps its share of the environments and
 * acts on its own rows, with no exchange between updates (acting needs
 * only the rank's observations, the ensembles, which change only in
 * updates, and a random stream whose draws do not depend on the rows).
 * At the update, the rollout's rows of every rank are gathered in global
 * env order; every rank then records the steps as one process would have
 * and runs the update, so every rank holds the whole rollout (and replay
 * buffer) and the result is the one-process agent, bit for bit
 * (docs/SCALING.md, "Why the result is identical"). PPO's and A2C's
 * training then splits by rows again (update_split.c). */
#include "core/error.h"
#include "rl/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Floats before each rank's rows in a step's exchange: status, has_mask. */
#define HDR 2

/* Floats of one env row of a step: obs, act, logp, val, [pred], [qt],
 * rew, term, trunc, valid, final obs, [mask]. */
static int row_floats(const brl_agent *a) {
  const int off = brl__off_policy(a);
  return 2 * a->obs_dim + a->act_dim + 6 + (off ? a->pi_K : 0) +
         (a->cfg.algo == BRL_ALGO_DQN ? a->pi_K : 0) + a->mask_dim;
}

/* Floats a rank of `count` envs sends at an update: the header, its rows
 * of every step of the rollout, its last observations. */
static int64_t send_floats(const brl_agent *a, int count) {
  return HDR + (int64_t)count *
                   ((int64_t)brl__rollout_len(a) * row_floats(a) + a->obs_dim);
}

void brl__agent_comm_free(brl_agent *a) {
  void *bufs[] = {a->c_counts, a->c_send, a->c_recv,  a->c_rew,  a->c_fin,
                  a->c_last,   a->c_term, a->c_trunc, a->c_valid};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  a->c_counts = NULL;
  a->c_send = a->c_recv = a->c_rew = a->c_fin = a->c_last = NULL;
  a->c_term = a->c_trunc = a->c_valid = NULL;
  a->comm = NULL;
  a->c_status = BRL_OK;
  brl__split_free(a);
}

int brl_agent_set_comm(brl_agent *a, brl_comm *c) {
  BRL_CHECK_ARG(a);
  if (a->pending || a->t > 0)
    return brl__fail(BRL_ESTATE,
                     "brl_agent_set_comm: a rollout is in progress; attach "
                     "the communicator before the first step or after an "
                     "update");
  const int E = a->cfg.n_envs, size = c ? brl_comm_size(c) : 1;
  int first = 0, count = E, rc;
  if (c && (rc = brl_env_share(E, brl_comm_rank(c), size, &first, &count)))
    return brl__fail(BRL_EINVAL,
                     "brl_agent_set_comm: n_envs is %d but there are %d "
                     "ranks: every rank needs at least one environment "
                     "(raise n_envs or launch fewer ranks)",
                     E, size);
  brl__agent_comm_free(a);
  /* The learn loop's buffers are per local env: made again for the new
   * share. */
  void *lb[] = {a->learn_obs, a->learn_next, a->learn_fin,  a->learn_rew,
                a->learn_act, a->learn_term, a->learn_trunc};
  for (size_t i = 0; i < sizeof lb / sizeof lb[0]; i++)
    free(lb[i]);
  a->learn_obs = a->learn_next = a->learn_fin = a->learn_rew = NULL;
  a->learn_act = NULL;
  a->learn_term = a->learn_trunc = NULL;
  a->learn_env = NULL;
  a->c_first = 0;
  a->c_count = E;
  if (!c)
    return BRL_OK;
  /* N: the rollout's rows (all steps, all envs). */
  const size_t d = (size_t)a->obs_dim, n = (size_t)E;
  const size_t N = n * (size_t)brl__rollout_len(a);
  a->c_counts = malloc((size_t)size * sizeof *a->c_counts);
  /* Zeroed: a rank that failed sends rows it never wrote. */
  a->c_send = calloc((size_t)send_floats(a, count), sizeof(float));
  a->c_recv =
      malloc(((size_t)HDR * (size_t)size + (size_t)(send_floats(a, E) - HDR)) *
             sizeof(float));
  a->c_rew = malloc(N * sizeof(float));
  a->c_fin = calloc(N * d, sizeof(float));
  a->c_last = malloc(n * d * sizeof(float));
  a->c_term = malloc(N);
  a->c_trunc = malloc(N);
  a->c_valid = malloc(N);
  /* The workspaces a step may need for all n_envs rows (final
   * observations' values), so that no rank fails alone after a gather. */
  rc = brl__agent_reserve_rows(a, (int64_t)E);
  if (!rc)
    rc = brl__agent_reserve_split(a, (int64_t)E);
  if (!a->c_counts || !a->c_send || !a->c_recv || !a->c_rew || !a->c_fin ||
      !a->c_last || !a->c_term || !a->c_trunc || !a->c_valid || rc) {
    brl__agent_comm_free(a);
    return rc ? rc
              : brl__fail(BRL_ENOMEM,
                          "out of memory for the exchange buffers of %d "
                          "environments",
                          E);
  }
  a->comm = c;
  a->c_first = first;
  a->c_count = count;
  if ((rc = brl__split_alloc(a, size))) {
    brl__agent_comm_free(a);
    a->c_first = 0;
    a->c_count = E;
    return rc;
  }
  return BRL_OK;
}

/* The update's exchange: every rank's header, rows and last observations
 * into c_recv. A nonzero status on any rank makes every rank return an
 * error (its own where it failed, BRL_ECOMM naming the rank elsewhere). */
static int exchange(brl_agent *a, int status) {
  const int size = brl_comm_size(a->comm), E = a->cfg.n_envs;
  for (int r = 0; r < size; r++) {
    int first, count;
    brl_env_share(E, r, size, &first, &count);
    a->c_counts[r] = send_floats(a, count) * (int64_t)sizeof(float);
  }
  a->c_send[0] = (float)status;
  int rc = brl_comm_allgatherv(a->comm, a->c_send, a->c_recv, a->c_counts);
  if (rc)
    return rc;
  int any = 0, mask = -1, mixed = 0;
  const float *p = a->c_recv;
  for (int r = 0; r < size; r++) {
    any |= p[0] != 0.0f;
    mixed |= mask >= 0 && mask != (int)p[1];
    mask = (int)p[1];
    p += a->c_counts[r] / (int64_t)sizeof(float);
  }
  if (!any && mixed)
    status = brl__fail(BRL_EINVAL,
                       "brl_agent_collect: some ranks passed action masks "
                       "and some did not: pass them on every rank or on "
                       "none");
  if (any || mixed) {
    if (status && a->c_msg[0])
      brl_set_error(status, a->c_msg); /* the step's own message */
    return brl_comm_agree(a->comm, status);
  }
  return BRL_OK;
}

/* Drops the rollout (a failed exchange). */
static int drop(brl_agent *a, int rc) {
  a->t = 0;
  a->pending = 0;
  a->c_status = BRL_OK;
  a->c_msg[0] = '\0';
  return rc;
}

int brl__agent_comm_fail(brl_agent *a, int status) {
  snprintf(a->c_msg, sizeof a->c_msg, "%s", brl_last_error());
  a->c_send[1] = 0.0f;
  int rc = exchange(a, status);
  return drop(a, rc ? rc : status);
}

int brl__agent_observe_comm(brl_agent *a, const float *rewards,
                            const uint8_t *terminated, const uint8_t *truncated,
                            const float *final_obs, const uint8_t *valid) {
  if (!a->pending)
    return brl__fail(BRL_ESTATE, "brl_agent_observe: no step to observe; "
                                 "call brl_agent_collect() first");
  /* A rank's own error waits for the update, which returns it on every
   * rank (the others are not waiting for this step). */
  for (int j = 0; !a->c_status && j < a->c_count; j++)
    if ((!valid || valid[j]) && truncated[j] && !terminated[j] && !final_obs) {
      a->c_status = brl__fail(BRL_EINVAL,
                              "env %d was truncated but final_obs is NULL: "
                              "pass the final observations to bootstrap from",
                              a->c_first + j);
      snprintf(a->c_msg, sizeof a->c_msg, "%s", brl_last_error());
    }
  /* The step's part of this rank's rows (rew, term, trunc, valid, fin). */
  const int R = row_floats(a), d = a->obs_dim;
  const int at = d + a->act_dim + 2 + (brl__off_policy(a) ? a->pi_K : 0) +
                 (a->cfg.algo == BRL_ALGO_DQN ? a->pi_K : 0);
  for (int j = 0; j < a->c_count; j++) {
    float *p = a->c_send + HDR + ((int64_t)a->t * a->c_count + j) * R + at;
    const int ok = !valid || valid[j];
    p[0] = ok ? rewards[j] : 0.0f;
    p[1] = ok && terminated[j] ? 1.0f : 0.0f;
    p[2] = ok && truncated[j] ? 1.0f : 0.0f;
    p[3] = (float)ok;
    if (ok && truncated[j] && !terminated[j] && final_obs)
      memcpy(p + 4, final_obs + (size_t)j * d, (size_t)d * sizeof(float));
    else
      memset(p + 4, 0, (size_t)d * sizeof(float));
  }
  /* What one process's observe advances that acting reads: the row and
   * the step count (DQN's exploration rate). The rest waits for the
   * update. */
  a->timesteps += a->cfg.n_envs;
  a->t++;
  a->pending = 0;
  return BRL_OK;
}

/* This rank's collect-time part of every row into c_send. */
static void pack(brl_agent *a, const float *last_obs) {
  const int E = a->cfg.n_envs, d = a->obs_dim, K = a->pi_K, A = a->act_dim;
  const int M = a->mask_dim, off = brl__off_policy(a), R = row_floats(a);
  const int dqn = a->cfg.algo == BRL_ALGO_DQN, T = brl__rollout_len(a);
  a->c_send[1] = (float)a->has_mask;
  for (int t = 0; t < T; t++)
    for (int j = 0; j < a->c_count; j++) {
      const size_t g = (size_t)t * (size_t)E + (size_t)(a->c_first + j);
      float *p = a->c_send + HDR + ((int64_t)t * a->c_count + j) * R;
      memcpy(p, a->obs + g * (size_t)d, (size_t)d * sizeof(float));
      p += d;
      memcpy(p, a->act + g * (size_t)A, (size_t)A * sizeof(float));
      p += A;
      *p++ = a->logp[g];
      *p++ = a->val[g];
      if (off) {
        memcpy(p, a->r_pred + g * (size_t)K, (size_t)K * sizeof(float));
        p += K;
      }
      if (dqn) {
        memcpy(p, a->r_qt + g * (size_t)K, (size_t)K * sizeof(float));
        p += K;
      }
      p += 4 + d; /* written by observe */
      for (int k = 0; k < M; k++)
        p[k] = a->has_mask ? (float)a->mask[g * (size_t)M + (size_t)k] : 0.0f;
    }
  memcpy(a->c_send + HDR + (int64_t)T * a->c_count * R, last_obs,
         (size_t)a->c_count * (size_t)d * sizeof(float));
}

/* Every rank's rows into the rollout, the steps' global arrays and the
 * last observations. */
static void unpack(brl_agent *a) {
  const int E = a->cfg.n_envs, d = a->obs_dim, K = a->pi_K, A = a->act_dim;
  const int M = a->mask_dim, off = brl__off_policy(a), R = row_floats(a);
  const int dqn = a->cfg.algo == BRL_ALGO_DQN, T = brl__rollout_len(a);
  const int size = brl_comm_size(a->comm);
  const float *p = a->c_recv;
  for (int r = 0; r < size; r++) {
    int first, count;
    brl_env_share(E, r, size, &first, &count);
    p += HDR;
    for (int t = 0; t < T; t++)
      for (int j = 0; j < count; j++) {
        const size_t g = (size_t)t * (size_t)E + (size_t)(first + j);
        memcpy(a->obs + g * (size_t)d, p, (size_t)d * sizeof(float));
        p += d;
        memcpy(a->act + g * (size_t)A, p, (size_t)A * sizeof(float));
        p += A;
        a->logp[g] = *p++;
        a->val[g] = *p++;
        if (off) {
          memcpy(a->r_pred + g * (size_t)K, p, (size_t)K * sizeof(float));
          p += K;
        }
        if (dqn) {
          memcpy(a->r_qt + g * (size_t)K, p, (size_t)K * sizeof(float));
          p += K;
        }
        a->c_rew[g] = *p++;
        a->c_term[g] = *p++ != 0.0f;
        a->c_trunc[g] = *p++ != 0.0f;
        a->c_valid[g] = *p++ != 0.0f;
        memcpy(a->c_fin + g * (size_t)d, p, (size_t)d * sizeof(float));
        p += d;
        for (int k = 0; a->has_mask && k < M; k++)
          a->mask[g * (size_t)M + (size_t)k] = (uint8_t)p[k];
        p += M;
      }
    memcpy(a->c_last + (size_t)first * (size_t)d, p,
           (size_t)count * (size_t)d * sizeof(float));
    p += (int64_t)count * d;
  }
  (void)R;
}

int brl__agent_update_comm(brl_agent *a, const float *last_obs) {
  if (!brl_agent_rollout_full(a) && !a->c_status)
    a->c_status = brl__fail(BRL_ESTATE,
                            "brl_agent_update: the rollout holds %d of %d "
                            "steps; collect and observe until "
                            "brl_agent_rollout_full()",
                            a->t, brl__rollout_len(a));
  const int status = a->c_status;
  if (!status)
    pack(a, last_obs);
  else
    a->c_send[1] = 0.0f;
  int rc = exchange(a, status);
  if (rc)
    return drop(a, rc);
  unpack(a);
  /* The steps as one process records them (identical on every rank), then
   * the one-process update. */
  brl_comm *c = a->comm;
  a->comm = NULL;
  const int T = a->t;
  const size_t E = (size_t)a->cfg.n_envs, d = (size_t)a->obs_dim;
  a->t = 0;
  a->timesteps -= (int64_t)T * (int64_t)E;
  for (int t = 0; !rc && t < T; t++) {
    const size_t g = (size_t)t * E;
    a->pending = 1;
    rc = brl_agent_observe_valid(a, a->c_rew + g, a->c_term + g, a->c_trunc + g,
                                 a->c_fin + g * d, a->c_valid + g);
  }
  a->c_split = c; /* the update's rows split over the ranks */
  if (!rc)
    rc = brl_agent_update(a, a->c_last);
  a->c_split = NULL;
  a->comm = c;
  if (rc && a->t)
    drop(a, rc);
  /* Whether any rank failed, and whether any callback asked to stop: the
   * loop then stops on every rank at the same step. */
  int64_t flags[2] = {rc != BRL_OK, a->stop != 0};
  int trc = brl_comm_allreduce_sum_i64(c, flags, 2);
  if (trc)
    return trc;
  if (flags[0])
    return brl_comm_agree(c, rc);
  a->stop = flags[1] > 0;
  return BRL_OK;
}
