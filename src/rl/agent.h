/* Internal layout of an agent and the functions its files share. */
#ifndef BRL_RL_AGENT_H
#define BRL_RL_AGENT_H

#include "boostrl.h"
#include "core/rng.h"
#include "rl/losses.h"
#include "rl/returns.h"

#define BRL_AGENT_MAX_ENVS BRL_REWARD_SCALER_MAX_ENVS
#define BRL_EP_WINDOW 100

/* Adam of the state-independent log_std (torch's Adam, SB3's eps 1e-5). */
typedef struct brl_adam {
  double m[BRL_MAX_ACTION_DIM], v[BRL_MAX_ACTION_DIM];
  int64_t t;
} brl_adam;

/* Per-update accumulators of statistics. */
typedef struct brl_update_acc {
  double pg_loss, v_loss, entropy, kl, clip, n;
  double kl_mb; /* approx KL of the current minibatch */
} brl_update_acc;

/* Replay buffer of the off-policy algorithms (replay.c), time-major by env
 * step: row slot * n_envs + e. Every prediction over it is cached and
 * brought up to date tree by tree, never recomputed over the whole
 * ensemble (except once after loading a file). */
typedef struct brl_replay {
  int64_t steps_cap;  /* env steps it holds (buffer_size / n_envs) */
  int64_t head;       /* slot of the next env step */
  int64_t n_steps;    /* env steps held */
  int64_t rows_alloc; /* rows the arrays hold (brl__replay_reserve) */
  float *obs, *next_obs, *act, *rew;
  uint8_t *term, *trunc;
  /* next_obs is the final observation of a truncated transition, the next
   * observation of a running episode, and a copy of obs for a terminated
   * one (never bootstrapped from). */
  float *pred;  /* rows x pi_K: the policy / Q ensemble over obs */
  float *vpred; /* rows: the separate critic over obs (AWR) */
  float *nv;    /* rows: V(next_obs) (AWR) */
  float *qt;    /* rows x n_actions: target prefix over next_obs (DQN) */
  int qt_trees; /* the prefix: trees [0, qt_trees) */
  /* A row that is no transition (brl_agent_observe_valid) has term and
   * trunc both set, which no transition has (terminated ones are stored
   * with trunc 0): it is never sampled and ends AWR's lambda chain. */
  float *adv, *ret, *w; /* AWR, per row */
  float *a_next;        /* n_envs scratch */
} brl_replay;

struct brl_agent {
  brl_agent_config cfg;
  int obs_dim;
  /* Observation columns as the models see them: the first n_num numeric,
   * the last n_cat (cfg.n_cat_obs) categorical codes. */
  int n_num, n_cat;
  /* Split workspace (split_rows rows): numeric part and int32 codes. */
  int64_t split_rows;
  float *split_x;
  int32_t *split_c;
  brl_action_space space;
  brl_dist dist;
  int n_params;     /* policy outputs: logits or means */
  int mask_dim;     /* bytes of one action mask (discrete kinds), else 0 */
  int act_dim;      /* floats per action */
  int gauss;        /* Gaussian policy */
  int tree_log_std; /* log_std is a tree output group */

  /* Ensembles: pi is the policy (or the shared model), vf the critic (NULL
   * when shared). Columns of pi: params, [log_std], [value]. */
  brl_model *pi, *vf;
  brl_backend_kind backend; /* their backend (cfg.device resolved) */
  int pi_K;
  int col_log_std; /* in pi, or -1 */
  int col_value;   /* in pi when shared, else 0 (in vf) */

  float log_std[BRL_MAX_ACTION_DIM]; /* state-independent log_std */
  brl_adam adam;

  uint64_t seed;
  brl_rng rng;
  int64_t timesteps, episodes, updates, total_timesteps;

  brl_reward_scaler *scaler; /* NULL unless normalize_reward */
  double *ep_ret;            /* n_envs running raw episode returns */
  int64_t *ep_len;           /* n_envs running episode lengths */
  double win_ret[BRL_EP_WINDOW], win_len[BRL_EP_WINDOW];
  int win_n, win_pos;

  /* Rollout, time-major [n_steps][n_envs]. */
  int t;       /* steps recorded */
  int pending; /* collect done, observe not yet */
  int has_mask;
  float *obs; /* N x obs_dim */
  float *act; /* N x act_dim, unclipped */
  float *logp, *val, *rew, *fin_val, *adv, *ret;
  uint8_t *term, *trunc, *mask;
  /* Per row: 1 for a real transition, 0 for a row the caller marked invalid
   * (brl_agent_observe_valid), which carries no gradient, no advantage and
   * no episode. */
  uint8_t *valid;
  /* Rows trained on by the update in progress: the valid rows, moved to the
   * front of the rollout arrays (obs, act, logp, val, adv, ret, mask). */
  int64_t n_train;

  /* Workspaces. */
  int64_t ws_rows;        /* rows the act buffers hold */
  float *out_pi, *out_vf; /* ws_rows x pi_K, ws_rows */
  float *tmp_obs;         /* n_envs x obs_dim */
  float *last_val;        /* n_envs */
  int32_t *perm;          /* N */
  float *adv_mb;          /* N */
  float *g_pi, *g_vf;     /* N x pi_K, N */

  /* Off-policy: the rollout's outputs at acting time (N x pi_K), DQN's
   * target-prefix outputs for its observations (N x n_actions), the final
   * observations of truncated steps (N x obs_dim), the buffer. */
  float *r_pred, *r_qt, *r_fobs;
  /* On-policy: the ensembles the rollout was acted with (brl__models_stamp
   * at its first step); while they are unchanged, r_pred (policy outputs)
   * and val (a separate critic's) seed the update's prediction caches. */
  uint64_t r_stamp[6];
  float *out_qt; /* ws_rows x pi_K */
  brl_replay rb;

  brl_agent_callback cb;
  void *cb_user;
  int stop;
  brl_agent_stats stats;
  double t_rollout; /* wall time of the current rollout so far */
  double t_mark;    /* when the last collect / update ended */

  /* Distributed training (agent_comm.c): the communicator (NULL: one
   * process), this rank's envs [c_first, c_first + c_count) (0 and n_envs
   * without one), the bytes each rank sends in the update's exchange, its
   * buffers (c_send fills step by step), the rollout's step arrays of every
   * rank, and the first error of this rank's steps (returned by the
   * update on every rank) with its message. */
  brl_comm *comm;
  int c_first, c_count;
  int64_t *c_counts;
  float *c_send, *c_recv, *c_rew, *c_fin, *c_last;
  uint8_t *c_term, *c_trunc, *c_valid;
  int c_status;
  char c_msg[256];
  /* The update's rows split over the ranks (update_split.c): the
   * communicator while the on-policy update trains on this rank's rows
   * (NULL otherwise; c_split is set for the update of a distributed agent),
   * per rollout row (global, after the valid rows moved to the front) its
   * rank and its row in this rank's batches, per minibatch row of this
   * rank its global row and minibatch position, this rank's observations,
   * the statistics records of the minibatch exchange and a cursor per
   * rank and per minibatch row; each env's rank; this rank's rows'
   * observations, acting-time outputs and values. */
  brl_comm *c_split, *s_comm;
  int32_t *s_owner, *s_lrow, *s_gidx, *s_kpos, *s_lidx, *s_env_rank;
  float *s_obs, *s_pred, *s_val;
  double *s_send, *s_recv;
  const double **s_cur, **s_order;

  /* brl_agent_learn: the env it runs and its current observations. */
  const brl_env *learn_env;
  float *learn_obs, *learn_next, *learn_fin, *learn_rew, *learn_act;
  uint8_t *learn_term, *learn_trunc;
};

static inline int brl__off_policy(const brl_agent *a) {
  return a->cfg.algo == BRL_ALGO_AWR || a->cfg.algo == BRL_ALGO_DQN;
}
/* Steps per env in a rollout. */
static inline int brl__rollout_len(const brl_agent *a) {
  return brl__off_policy(a) ? a->cfg.train_freq : a->cfg.n_steps;
}

/* replay.c: buffers of the off-policy algorithms; their update (the
 * rollout into the buffer, then AWR or DQN training); the caches rebuilt
 * from the ensembles (after loading); DQN's exploration rate. */
void brl__replay_alloc(brl_agent *a); /* sets the capacity, allocates none */
/* Grows the buffer's arrays to hold `rows` rows (keeping their contents);
 * BRL_ENOMEM leaves the buffer as it was. */
int brl__replay_reserve(brl_agent *a, int64_t rows);
void brl__replay_free(brl_agent *a);
int brl__offpolicy_update(brl_agent *a, const float *last_obs, float progress,
                          brl_update_acc *acc);
int brl__replay_refresh(brl_agent *a);
/* out (n x columns of m) += trees [from, to) of m over X (no bias). */
int brl__replay_advance(brl_agent *a, const brl_model *m, const float *X,
                        int64_t n, int from, int to, float *out);
double brl__dqn_epsilon(const brl_agent *a);
/* Row r of the buffer is no transition (see brl_replay). */
static inline int brl__replay_invalid(const brl_replay *rb, int64_t r) {
  return rb->term[r] && rb->trunc[r];
}
/* A uniform random row of [0, n) that is a transition (at least one must
 * be), from the agent's generator. */
int64_t brl__replay_sample(brl_agent *a, int64_t n);
/* awr.c / dqn.c: gradient_steps trees from the buffer rows [0, n). */
int brl__awr_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, int64_t n,
                   float progress, brl_update_acc *acc);
int brl__dqn_train(brl_agent *a, brl_batch *bq, int64_t n, float progress,
                   brl_update_acc *acc);

/* Wall-clock seconds (C11 timespec_get). */
double brl__now(void);

/* Builds the models and buffers of a fresh agent from a, whose cfg,
 * obs_dim, space and seed are set (agent.c). */
int brl__agent_init(brl_agent *a);
/* agent_device.c: the backend of a device setting (auto resolved), or
 * BRL_EUNSUPPORTED / BRL_EINVAL saying why not; puts the agent's ensembles
 * on a->backend (called wherever the agent creates or replaces them). */
int brl__agent_resolve_device(brl_device device, brl_backend_kind *out);
int brl__agent_apply_device(brl_agent *a);
/* Allocates the per-env buffers (agent.c); the rollout's wait for the
 * first brl_agent_collect (brl__agent_reserve_rollout: all or none). */
int brl__agent_alloc_buffers(brl_agent *a);
int brl__agent_reserve_rollout(brl_agent *a);
/* Splits n observations (obs_dim floats each) into the models' numeric
 * matrix *X and categorical codes *Xc (NULL without categorical columns, when
 * *X is obs itself). The split lives in the agent's workspace until the next
 * call. Codes must be integral (negative or NaN: missing) and below 2^24 in
 * magnitude: BRL_EINVAL names the column otherwise. */
int brl__agent_split(brl_agent *a, const float *obs, int64_t n, const float **X,
                     const int32_t **Xc);
/* The checks of brl__agent_split alone. */
int brl__agent_check_cat(const brl_agent *a, const float *obs, int64_t n);
/* Split workspace for n rows (grown only when n exceeds what it holds). */
int brl__agent_reserve_split(brl_agent *a, int64_t n);
/* Act buffers for n rows (grown only when n exceeds what they hold). */
int brl__agent_reserve_rows(brl_agent *a, int64_t n);

/* policy.c: outputs of both ensembles for n observations into out_pi
 * (n x pi_K) and values (n, may be NULL). */
int brl__agent_forward(brl_agent *a, const float *obs, int64_t n,
                       float *values);
/* The policy of row i of outputs `row` (pi_K floats): fills pi; ls is
 * scratch for a clamped log_std. */
void brl__agent_policy(const brl_agent *a, const float *row,
                       const uint8_t *mask, float *ls, brl_policy_out *pi);
/* Clips a box action to the bounds (copy). */
void brl__agent_clip_action(const brl_agent *a, const float *in, float *out);

/* ppo.c / a2c.c: train on the rollout (advantages and returns computed). */
int brl__ppo_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, float progress,
                   brl_update_acc *acc, int *epochs_done);
int brl__a2c_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, float progress,
                   brl_update_acc *acc);
/* What the losses of one training row read besides the ensembles' outputs:
 * brl__rows_grads asks a brl_row_fill for it, row by row. */
typedef struct brl_row_in {
  const float *act;    /* the action taken (act_dim floats) */
  const uint8_t *mask; /* its action mask, or NULL */
  double old_logp;     /* PPO: log pi(act) when it was collected */
  double adv;          /* PPO, A2C: the advantage; AWR: the sample weight */
  double ret;          /* the value target */
  float v_old;         /* PPO's clip_range_vf: the value when collected */
} brl_row_in;
/* Fills in for minibatch position k, which is row i of the data. */
typedef void (*brl_row_fill)(const brl_agent *a, int64_t k, int64_t i,
                             brl_row_in *in);
/* update.c: the per-row gradient assembly of PPO, A2C and AWR: for rows
 * idx[0..n) (0..n when idx is NULL) of the predictions, the policy loss of
 * cfg.algo and the value loss (clipped for PPO with clip_range_vf), each
 * gradient clipped to its norm, into g_pi / g_vf at position k, with the
 * statistics (acc->kl_mb: the rows' mean approximate KL). lsg (may be NULL)
 * receives the sum over the rows of the log_std gradient (state-independent
 * log_std). */
int brl__rows_grads(brl_agent *a, const float *pred_pi, const float *pred_vf,
                    const int32_t *idx, int64_t n, brl_row_fill fill,
                    brl_update_acc *acc, double *lsg, double *rec);
/* Doubles of one row's statistics record (rec, when not NULL: the row's
 * pg_loss, logged value loss, entropy, clip, approx KL and log_std
 * gradient, which brl__rows_grads adds into acc and lsg). */
static inline int brl__rec_width(const brl_agent *a) {
  return 5 + a->dist.n_sub;
}
/* Adds n records (in row order) into acc and lsg as brl__rows_grads does
 * its rows; recs[k] is row k's. */
void brl__rows_merge(const brl_agent *a, const double *const *recs, int64_t n,
                     brl_update_acc *acc, double *lsg);
/* Identity, version and tree count of both ensembles into s[6]. */
void brl__models_stamp(const brl_agent *a, uint64_t *s);
/* Whether the update's caches can be seeded with the rollout's acting-time
 * outputs (r_pred, val): the ensembles are those it was acted with, on the
 * CPU backend, additive (not Adam). */
int brl__can_seed(const brl_agent *a);
/* The training predictions of both ensembles from their batches (*pvf NULL
 * without a separate critic). */
int brl__train_preds(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                     const float **ppi, const float **pvf);
/* adv_mb[k] = the advantage of rollout row idx[k] (k when idx is NULL),
 * normalised over the n rows when cfg.normalize_advantage. */
int brl__minibatch_adv(brl_agent *a, const int32_t *idx, int64_t n);
/* in: rollout row i's inputs with advantage adv. */
void brl__rollout_fill(const brl_agent *a, int64_t i, double adv,
                       brl_row_in *in);
/* brl__rows_grads over the rollout: minibatch rows idx[0..n) (advantages
 * already in adv_mb[0..n), brl__minibatch_adv). */
int brl__minibatch_grads(brl_agent *a, const float *pred_pi,
                         const float *pred_vf, const int32_t *idx, int64_t n,
                         brl_update_acc *acc, double *lsg);
/* One tree on each ensemble from the gradients in g_pi / g_vf (rows
 * idx[0..n) of the batches), then the Adam step of a state-independent
 * log_std from lsg, the gradient summed over the minibatch's n_all rows
 * (n_all > n where the other ranks hold the rest). */
int brl__minibatch_step(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                        const int32_t *idx, int64_t n, int64_t n_all,
                        float progress, const double *lsg);
/* One minibatch of PPO (check_kl: stop before the trees, *stop set, when
 * its approximate KL exceeds 1.5 * target_kl) or A2C: predictions,
 * advantages, gradients, trees. On this rank's rows when the update is
 * split (s_comm), with the same result. */
int brl__minibatch(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                   const int32_t *idx, int64_t n, float progress, int check_kl,
                   brl_update_acc *acc, double *lsg, int *stop);

/* update_split.c: the on-policy update of a distributed agent on each
 * rank's own rows. brl__split_alloc / _free: its buffers (with the
 * communicator). brl__split_batches: when the update can be split (PPO or
 * A2C on the CPU backend, every rank holding training rows), this rank's
 * batches of the rollout's first n_train rows, binned as one batch of all
 * of them, with the communicator attached, and s_comm set (*bpi NULL when
 * not split: the update then runs replicated). brl__minibatch_split: the
 * minibatch on this rank's rows (exchanging the rows' statistics, so that
 * every rank holds the one-process statistics and KL decision). */
int brl__split_alloc(brl_agent *a, int size);
void brl__split_free(brl_agent *a);
int brl__split_batches(brl_agent *a, int seed, brl_batch **bpi,
                       brl_batch **bvf);
int brl__minibatch_split(brl_agent *a, brl_batch *bpi, brl_batch *bvf,
                         const int32_t *idx, int64_t n, float progress,
                         int check_kl, brl_update_acc *acc, double *lsg,
                         int *stop);

/* compress.c: after every cfg.compress_every-th update, distils the
 * ensembles over the rollout's observations into cfg.compress_to trees. */
int brl__agent_compress_online(brl_agent *a);
/* With a tree budget: distils before an update that could exceed it. */
int brl__agent_compress_budget(brl_agent *a);
/* The most trees one PPO/A2C update adds to all ensembles. */
int64_t brl__trees_per_update(const brl_agent_config *c);
/* agent_config.c: a caller's config in (struct_size checked; fields it does
 * not have at their defaults) and out (into struct_size bytes). */
int brl__agent_config_in(const brl_agent_config *in, brl_agent_config *full);
int brl__agent_config_out(const brl_agent_config *full, brl_agent_config *out,
                          size_t struct_size);

/* agent_comm.c: with a communicator attached, brl_agent_observe_valid
 * keeps this rank's step for the update, and brl_agent_update exchanges
 * every rank's rollout, records its steps and runs the one-process update;
 * brl__agent_comm_fail makes this rank's part of the update's exchange
 * with `status`, so the others' update fails too (returns it). */
int brl__agent_observe_comm(brl_agent *a, const float *rewards,
                            const uint8_t *terminated, const uint8_t *truncated,
                            const float *final_obs, const uint8_t *valid);
int brl__agent_update_comm(brl_agent *a, const float *last_obs);
int brl__agent_comm_fail(brl_agent *a, int status);
void brl__agent_comm_free(brl_agent *a);

/* rollout.c */
void brl__episodes_forget(brl_agent *a);
void brl__episode_window_stats(const brl_agent *a, brl_agent_stats *s);

#endif
