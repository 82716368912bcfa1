/* Distributed agents: each rank steps its share of the environments and
 * acts on its own rows; every step's rows are gathered in global env order,
 * so every rank holds the whole rollout (and replay buffer) and runs the
 * one-process update on it. The result is the one-process agent, bit for
 * bit (docs/SCALING.md, "Why the result is identical"). */
#include "core/error.h"
#include "rl/agent.h"

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

void brl__agent_comm_free(brl_agent *a) {
  void *bufs[] = {a->c_counts, a->c_send, a->c_recv,  a->c_rew,  a->c_fin,
                  a->c_last,   a->c_term, a->c_trunc, a->c_valid};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  a->c_counts = NULL;
  a->c_send = a->c_recv = a->c_rew = a->c_fin = a->c_last = NULL;
  a->c_term = a->c_trunc = a->c_valid = NULL;
  a->comm = NULL;
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
  const size_t R = (size_t)row_floats(a), d = (size_t)a->obs_dim;
  const size_t n = (size_t)E;
  a->c_counts = malloc((size_t)size * sizeof *a->c_counts);
  /* Zeroed: a failed step sends its rows unwritten. */
  a->c_send = calloc((size_t)HDR + (size_t)count * R, sizeof(float));
  a->c_recv = malloc(((size_t)HDR * (size_t)size + n * R) * sizeof(float));
  a->c_rew = malloc(n * sizeof(float));
  a->c_fin = calloc(n * d, sizeof(float));
  a->c_last = malloc(n * d * sizeof(float));
  a->c_term = malloc(n);
  a->c_trunc = malloc(n);
  a->c_valid = malloc(n);
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
  return BRL_OK;
}

/* Bytes each rank sends in a step's exchange. */
static void step_counts(brl_agent *a) {
  const int size = brl_comm_size(a->comm), E = a->cfg.n_envs;
  const int64_t R = row_floats(a);
  for (int r = 0; r < size; r++) {
    int first, count;
    brl_env_share(E, r, size, &first, &count);
    a->c_counts[r] = (HDR + (int64_t)count * R) * (int64_t)sizeof(float);
  }
}

/* The exchange of a step: every rank's header and rows into c_recv. A
 * nonzero status on any rank makes every rank return an error (its own
 * where it failed, BRL_ECOMM naming the rank elsewhere). */
static int exchange(brl_agent *a, int status) {
  a->c_send[0] = (float)status;
  step_counts(a);
  int rc = brl_comm_allgatherv(a->comm, a->c_send, a->c_recv, a->c_counts);
  if (rc)
    return rc;
  const int size = brl_comm_size(a->comm);
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
  if (any || mixed)
    return brl_comm_agree(a->comm, status);
  return BRL_OK;
}

int brl__agent_comm_fail(brl_agent *a, int status) {
  a->pending = 0;
  a->c_send[1] = 0.0f;
  int rc = exchange(a, status);
  return rc ? rc : status;
}

/* This rank's rows of the step into c_send. */
static void pack(brl_agent *a, const float *rewards, const uint8_t *terminated,
                 const uint8_t *truncated, const float *final_obs,
                 const uint8_t *valid) {
  const int E = a->cfg.n_envs, d = a->obs_dim, K = a->pi_K, A = a->act_dim;
  const int M = a->mask_dim, off = brl__off_policy(a);
  const int dqn = a->cfg.algo == BRL_ALGO_DQN;
  const size_t row = (size_t)a->t * (size_t)E;
  float *p = a->c_send;
  p[1] = (float)a->has_mask;
  p += HDR;
  for (int j = 0; j < a->c_count; j++) {
    const size_t g = row + (size_t)(a->c_first + j);
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
    const int ok = !valid || valid[j];
    *p++ = ok ? rewards[j] : 0.0f;
    *p++ = ok && terminated[j] ? 1.0f : 0.0f;
    *p++ = ok && truncated[j] ? 1.0f : 0.0f;
    *p++ = (float)ok;
    if (ok && truncated[j] && !terminated[j])
      memcpy(p, final_obs + (size_t)j * d, (size_t)d * sizeof(float));
    else
      memset(p, 0, (size_t)d * sizeof(float));
    p += d;
    for (int k = 0; k < M; k++)
      p[k] = a->has_mask ? (float)a->mask[g * (size_t)M + (size_t)k] : 0.0f;
    p += M;
  }
}

/* Every rank's rows into the rollout and the step's global arrays. */
static void unpack(brl_agent *a) {
  const int E = a->cfg.n_envs, d = a->obs_dim, K = a->pi_K, A = a->act_dim;
  const int M = a->mask_dim, off = brl__off_policy(a);
  const int dqn = a->cfg.algo == BRL_ALGO_DQN;
  const size_t row = (size_t)a->t * (size_t)E;
  const float *p = a->c_recv;
  for (int e = 0, r = 0; r < brl_comm_size(a->comm); r++) {
    const int64_t n =
        (a->c_counts[r] / (int64_t)sizeof(float) - HDR) / row_floats(a);
    p += HDR;
    for (int64_t j = 0; j < n; j++, e++) {
      const size_t g = row + (size_t)e;
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
      a->c_rew[e] = *p++;
      a->c_term[e] = *p++ != 0.0f;
      a->c_trunc[e] = *p++ != 0.0f;
      a->c_valid[e] = *p++ != 0.0f;
      memcpy(a->c_fin + (size_t)e * d, p, (size_t)d * sizeof(float));
      p += d;
      for (int k = 0; a->has_mask && k < M; k++)
        a->mask[g * (size_t)M + (size_t)k] = (uint8_t)p[k];
      p += M;
    }
  }
}

int brl__agent_observe_comm(brl_agent *a, const float *rewards,
                            const uint8_t *terminated, const uint8_t *truncated,
                            const float *final_obs, const uint8_t *valid) {
  int status = BRL_OK;
  if (!a->pending)
    status = brl__fail(BRL_ESTATE, "brl_agent_observe: no step to observe; "
                                   "call brl_agent_collect() first");
  for (int j = 0; !status && j < a->c_count; j++)
    if ((!valid || valid[j]) && truncated[j] && !terminated[j] && !final_obs)
      status = brl__fail(BRL_EINVAL,
                         "env %d was truncated but final_obs is NULL: pass "
                         "the final observations to bootstrap from",
                         a->c_first + j);
  if (status)
    return brl__agent_comm_fail(a, status);
  pack(a, rewards, terminated, truncated, final_obs, valid);
  int rc = exchange(a, BRL_OK);
  if (rc) {
    a->pending = 0;
    return rc;
  }
  unpack(a);
  /* The one-process step on every rank's rows (identical on every rank). */
  brl_comm *c = a->comm;
  a->comm = NULL;
  rc = brl_agent_observe_valid(a, a->c_rew, a->c_term, a->c_trunc, a->c_fin,
                               a->c_valid);
  a->comm = c;
  return rc;
}

int brl__agent_update_comm(brl_agent *a, const float *last_obs) {
  const int size = brl_comm_size(a->comm), E = a->cfg.n_envs;
  const int64_t d = a->obs_dim;
  for (int r = 0; r < size; r++) {
    int first, count;
    brl_env_share(E, r, size, &first, &count);
    a->c_counts[r] = (int64_t)count * d * (int64_t)sizeof(float);
  }
  int rc = brl_comm_allgatherv(a->comm, last_obs, a->c_last, a->c_counts);
  if (rc)
    return rc;
  brl_comm *c = a->comm;
  a->comm = NULL;
  rc = brl_agent_update(a, a->c_last);
  a->comm = c;
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
