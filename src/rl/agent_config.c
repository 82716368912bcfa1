/* Agent hyper-parameters: defaults, setting and reading them by name (the
 * one table of keys), and the checks. */
#include "core/abi.h"
#include "core/error.h"
#include "core/keytab.h"
#include "rl/agent.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

/* Enum fields are read and written as int. */
_Static_assert(sizeof(brl_algo) == sizeof(int) &&
                   sizeof(brl_grow_policy) == sizeof(int) &&
                   sizeof(brl_split_score) == sizeof(int) &&
                   sizeof(brl_bin_method) == sizeof(int) &&
                   sizeof(brl_log_std_mode) == sizeof(int) &&
                   sizeof(brl_device) == sizeof(int),
               "enums must be int-sized");

static const char *const algo_names[] = {"ppo", "a2c", "awr", "dqn"};
static const char *const grow_names[] = {"oblivious", "greedy"};
static const char *const score_names[] = {"cosine", "l2"};
static const char *const bins_names[] = {"quantile", "uniform"};
static const char *const log_std_names[] = {"param", "tree"};
static const char *const device_names[] = {"cpu", "cuda", "auto"};

#define F(field) offsetof(brl_agent_config, field)
#define BIG 1e300
/* clang-format off */
#define NUM(field, type, lo, hi, help) \
  {#field, BRL__KEY_##type, F(field), lo, hi, 0, NULL, 0, help}
#define FLAG(field, help) {#field, BRL__KEY_BOOL, F(field), 0, 1, 0, NULL, 0, help}
#define ENUM(field, names, help) \
  {#field, BRL__KEY_ENUM, F(field), 0, 0, 0, names, \
   (int)(sizeof names / sizeof names[0]), help}
/* clang-format on */

static const brl__key keys[] = {
    ENUM(algo, algo_names, "algorithm: ppo, a2c, awr or dqn"),
    NUM(n_timesteps, INT64, 0, 9e18, "default training length in env steps"),
    NUM(n_envs, INT, 1, BRL_AGENT_MAX_ENVS,
        "environment copies stepped together"),
    NUM(n_steps, INT, 1, 1 << 24, "steps per env per rollout"),
    NUM(batch_size, INT, 1, 1 << 30,
        "PPO minibatch size (one tree per minibatch)"),
    NUM(n_epochs, INT, 1, 100000, "PPO passes over each rollout"),
    NUM(gamma, DOUBLE, 0, 1, "discount factor"),
    NUM(gae_lambda, DOUBLE, 0, 1, "GAE lambda"),
    NUM(clip_range, DOUBLE, 0, BIG, "PPO clip range of the probability ratio"),
    NUM(clip_range_vf, DOUBLE, -BIG, BIG,
        "PPO value clip range (SB3's form); 0 or none: no clipping"),
    NUM(ent_coef, DOUBLE, 0, BIG, "entropy bonus coefficient"),
    NUM(vf_coef, DOUBLE, 0, BIG, "value loss coefficient"),
    NUM(max_policy_grad_norm, DOUBLE, -BIG, BIG,
        "per-sample clip of the policy gradient's L2 norm; 0: none"),
    NUM(max_value_grad_norm, DOUBLE, -BIG, BIG,
        "per-sample clip of the value gradient; 0: none"),
    NUM(target_kl, DOUBLE, -BIG, BIG,
        "PPO: stop the update's epochs when approx KL > 1.5 target_kl; 0 or "
        "none: never"),
    FLAG(normalize_advantage,
         "normalise advantages (per minibatch for PPO, per rollout for A2C)"),
    NUM(policy_lr, DOUBLE, 1e-30, BIG, "learning rate of the policy trees"),
    NUM(policy_lr_end, DOUBLE, 0, BIG,
        "end rate of a linear decay over training; 0: constant policy_lr"),
    NUM(value_lr, DOUBLE, 1e-30, BIG, "learning rate of the value trees"),
    NUM(value_lr_end, DOUBLE, 0, BIG,
        "end rate of a linear decay over training; 0: constant value_lr"),
    ENUM(log_std_mode, log_std_names,
         "Gaussian log_std: param (state-independent, Adam) or tree (outputs)"),
    NUM(log_std_init, DOUBLE, -BIG, BIG,
        "initial log standard deviation of Gaussian policies"),
    NUM(log_std_lr, DOUBLE, 1e-30, BIG,
        "learning rate of log_std (Adam, or its tree output group)"),
    NUM(log_std_lr_end, DOUBLE, 0, BIG,
        "end rate of a linear decay over training; 0: constant log_std_lr"),
    NUM(log_std_min, DOUBLE, -BIG, BIG, "lower clamp of log_std"),
    NUM(log_std_max, DOUBLE, -BIG, BIG, "upper clamp of log_std"),
    FLAG(shared_tree,
         "one ensemble with policy and value output groups (else two)"),
    NUM(value_split_weight, DOUBLE, 0, BIG,
        "shared tree: weight of the value gradient in split scores"),
    FLAG(normalize_reward,
         "scale rewards by the running std of the discounted return"),
    NUM(clip_reward, DOUBLE, 1e-30, BIG,
        "scaled rewards are clipped to [-clip_reward, clip_reward]"),
    NUM(max_depth, INT, 1, BRL_MAX_DEPTH, "tree depth"),
    NUM(n_bins, INT, 2, BRL_MAX_BINS,
        "value bins per feature for split candidates (256 means 255)"),
    NUM(min_data_in_leaf, INT, 0, 1 << 30,
        "splits leaving fewer samples in a child are rejected"),
    ENUM(grow_policy, grow_names, "tree shape: oblivious or greedy"),
    ENUM(split_score, score_names, "split score: cosine or l2"),
    ENUM(bin_method, bins_names, "split candidates: quantile or uniform"),
    NUM(n_threads, INT, 0, 4096,
        "threads (default 1; 0: all cores); does not change results"),
    NUM(n_cat_obs, INT, 0, 1 << 20,
        "the last n_cat_obs observation columns are categorical codes"),
    ENUM(device, device_names,
         "where the trees grow and predict: cpu, cuda or auto (cuda when "
         "available)"),
    /* Online compression (src/rl/compress.c). */
    NUM(compress_every, INT, 0, 1 << 30,
        "distil the ensembles every this many updates (0: never)"),
    NUM(compress_to, INT, 0, 1 << 30,
        "online compression: trees in all ensembles after distilling"),
    NUM(tree_budget, INT, 0, 1 << 30,
        "online compression: distil into compress_to trees before an update "
        "could exceed this many (0: off)"),
    /* Off-policy algorithms (rl/replay.c, awr.c, dqn.c). */
    NUM(buffer_size, INT, 1, 1 << 26,
        "AWR/DQN: replay buffer capacity in transitions"),
    NUM(learning_starts, INT, 0, 2e9,
        "AWR/DQN: env steps collected before training starts"),
    NUM(train_freq, INT, 1, 1 << 24,
        "AWR/DQN: steps per env between training calls (the rollout)"),
    NUM(gradient_steps, INT, 1, 1 << 24,
        "AWR/DQN: trees per ensemble per training call"),
    NUM(beta, DOUBLE, 1e-30, BIG,
        "AWR: temperature of the weights exp(A / beta)"),
    NUM(weights_max, DOUBLE, 1e-30, BIG, "AWR: upper clip of the weights"),
    NUM(target_update_interval, INT, 1, 1 << 30,
        "DQN: the target prefix moves to the tree count at its multiples"),
    NUM(exploration_fraction, DOUBLE, 0, 1,
        "DQN: fraction of training over which epsilon decays"),
    NUM(exploration_initial_eps, DOUBLE, 0, 1,
        "DQN: initial epsilon of epsilon-greedy"),
    NUM(exploration_final_eps, DOUBLE, 0, 1,
        "DQN: final epsilon of epsilon-greedy"),
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

/* Filled once, under pthread_once: agents on several threads save their
 * configurations (and list the keys) at the same time. */
static const char *names[N_KEYS + 1];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void fill_names(void) {
  for (int i = 0; i < N_KEYS; i++)
    names[i] = keys[i].name;
  names[N_KEYS] = NULL;
}

static const char *const *key_names(void) {
  pthread_once(&names_once, fill_names);
  return names;
}

const char *const *brl_agent_config_keys(void) { return key_names(); }

static const brl__key *find_key(const char *name) {
  return brl__key_find(keys, N_KEYS, name);
}

const char *brl_agent_config_key_help(const char *key) {
  const brl__key *k = key ? find_key(key) : NULL;
  return k ? k->help : NULL;
}

const char *brl_algo_name(brl_algo algo) {
  switch (algo) {
  case BRL_ALGO_PPO:
    return "ppo";
  case BRL_ALGO_A2C:
    return "a2c";
  case BRL_ALGO_AWR:
    return "awr";
  case BRL_ALGO_DQN:
    return "dqn";
  }
  return "unknown";
}

int brl_algo_parse(const char *name, brl_algo *out) {
  BRL_CHECK_ARG(name);
  BRL_CHECK_ARG(out);
  if (brl__ieq(name, "ppo"))
    *out = BRL_ALGO_PPO;
  else if (brl__ieq(name, "a2c"))
    *out = BRL_ALGO_A2C;
  else if (brl__ieq(name, "awr"))
    *out = BRL_ALGO_AWR;
  else if (brl__ieq(name, "dqn"))
    *out = BRL_ALGO_DQN;
  else
    return brl__fail(BRL_EINVAL,
                     "unknown algorithm '%.40s': use ppo, a2c, awr or dqn",
                     name);
  return BRL_OK;
}

/* struct_size: the first version ends at `device`. */
static const brl__abi_struct config_abi = {
    "brl_agent_config", "brl_agent_config_default",
    BRL__END(brl_agent_config, device), sizeof(brl_agent_config)};

static void config_defaults(brl_agent_config *c, brl_algo algo) {
  memset(c, 0, sizeof *c);
  c->struct_size = sizeof *c;
  c->algo = algo;
  c->n_timesteps = 1000000;
  c->n_envs = 16;
  c->gamma = 0.99;
  c->clip_range = 0.2;
  c->clip_range_vf = 0.0;
  c->ent_coef = 0.0;
  c->max_policy_grad_norm = 0.0;
  c->max_value_grad_norm = 0.0;
  c->target_kl = 0.0;
  c->normalize_advantage = 1;
  c->log_std_mode = BRL_LOG_STD_PARAM;
  c->log_std_init = -2.0;
  c->log_std_lr = 0.0017;
  c->log_std_lr_end = 0.000475;
  c->log_std_min = -20.0;
  c->log_std_max = 2.0;
  c->shared_tree = 1; /* measured: docs/RESULTS.md */
  c->value_split_weight = 1.0;
  c->normalize_reward = 0;
  c->clip_reward = 10.0;
  c->max_depth = 4;
  c->n_bins = 256;
  c->min_data_in_leaf = 0;
  c->grow_policy = BRL_GROW_OBLIVIOUS;
  c->split_score = BRL_SCORE_COSINE;
  c->bin_method = BRL_BINS_QUANTILE;
  c->n_threads = 1; /* RL minibatches are small: one thread is fastest */
  /* Off-policy settings (REFERENCE.md: AWR and DQN). */
  c->buffer_size = algo == BRL_ALGO_DQN ? 100000 : 50000;
  c->learning_starts = 1000;
  c->train_freq = algo == BRL_ALGO_DQN ? 128 : 2000;
  c->gradient_steps = algo == BRL_ALGO_DQN ? 50 : 150;
  c->beta = 0.05;
  c->weights_max = 20.0;
  c->target_update_interval = 100;
  c->exploration_fraction = 0.16;
  c->exploration_initial_eps = 1.0;
  c->exploration_final_eps = 0.04;
  if (algo == BRL_ALGO_AWR || algo == BRL_ALGO_DQN) {
    c->n_envs = 1;
    c->n_steps = 1;
    c->n_epochs = 1;
    c->gae_lambda = 0.95;
    c->vf_coef = 1.0;
    c->batch_size = algo == BRL_ALGO_DQN ? 512 : 1024;
    c->policy_lr = algo == BRL_ALGO_DQN ? 0.1 : 0.0507;
    c->value_lr = 0.105;
    /* The published per-sample clipping norms (DESIGN §2). */
    c->max_policy_grad_norm = 100.0;
    c->max_value_grad_norm = 10.0;
    c->log_std_init = 0.0;
  } else if (algo == BRL_ALGO_A2C) {
    c->n_steps = 8;
    c->batch_size = 128;
    c->n_epochs = 1;
    c->gae_lambda = 1.0;
    c->vf_coef = 0.5;
    c->policy_lr = 0.1;
    c->value_lr = 0.03;
  } else {
    c->n_steps = 128;
    c->batch_size = 512;
    c->n_epochs = 10;
    c->gae_lambda = 0.95;
    c->vf_coef = 0.871923;
    c->policy_lr = 0.03;
    c->value_lr = 0.01;
  }
}

void brl_agent_config_default_sized(brl_agent_config *c, size_t struct_size,
                                    brl_algo algo) {
  if (!c)
    return;
  brl_agent_config full;
  config_defaults(&full, algo);
  brl__abi_out(&config_abi, &full, c, struct_size);
}

int brl__agent_config_in(const brl_agent_config *in, brl_agent_config *full) {
  int rc = brl__abi_check(&config_abi, in->struct_size);
  if (rc)
    return rc;
  config_defaults(full, in->algo);
  return brl__abi_in(&config_abi, in, full);
}

int brl__agent_config_out(const brl_agent_config *full, brl_agent_config *out,
                          size_t struct_size) {
  return brl__abi_out(&config_abi, full, out, struct_size);
}

/* ------------------------------------------------------------- by name */

int brl_agent_config_set(brl_agent_config *c, const char *key,
                         const char *value) {
  BRL_CHECK_ARG(c);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(value);
  int rc = brl__abi_check(&config_abi, c->struct_size);
  if (rc)
    return rc;
  const brl__key *k = find_key(key);
  if (!k)
    return brl__fail(BRL_EINVAL,
                     "unknown hyper-parameter '%.60s' (`boostrl train "
                     "--help` lists them; in C: brl_agent_config_keys)",
                     key);
  if (k->off + brl__key_size(k) > c->struct_size)
    return brl__fail(BRL_EINVAL,
                     "hyper-parameter '%s' is newer than this program's "
                     "brl_agent_config (struct_size %zu): rebuild it against "
                     "the library's boostrl.h to set it",
                     key, c->struct_size);
  return brl__key_set(k, key, c, value);
}

int brl_agent_config_get(const brl_agent_config *c, const char *key, char *buf,
                         size_t size) {
  BRL_CHECK_ARG(c);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(buf);
  brl_agent_config full;
  int rc = brl__agent_config_in(c, &full);
  if (rc)
    return rc;
  const brl__key *k = find_key(key);
  if (!k)
    return brl__fail(BRL_EINVAL, "unknown hyper-parameter '%.60s'", key);
  return brl__key_get(k, &full, buf, size);
}

/* ---------------------------------------------------------------- checks */

int64_t brl__trees_per_update(const brl_agent_config *c) {
  const int64_t N = (int64_t)c->n_envs * c->n_steps;
  const int64_t bs = c->batch_size > 0 && c->batch_size < N ? c->batch_size : N;
  const int64_t steps =
      c->algo == BRL_ALGO_PPO ? (int64_t)c->n_epochs * ((N + bs - 1) / bs) : 1;
  return steps * (c->shared_tree ? 1 : 2);
}

int brl_agent_config_check(const brl_agent_config *in) {
  BRL_CHECK_ARG(in);
  brl_agent_config full;
  int rc = brl__agent_config_in(in, &full);
  if (rc)
    return rc;
  const brl_agent_config *c = &full;
  /* Every field in its range (structs filled by hand too). */
  for (int i = 0; i < N_KEYS; i++)
    if ((rc = brl__key_check(&keys[i], keys[i].name, c, 1)))
      return rc;
  if ((int64_t)c->n_envs * c->n_steps > (1 << 28))
    return brl__fail(BRL_EINVAL,
                     "a rollout of n_envs x n_steps = %lld samples is too "
                     "large: keep it below 2^28",
                     (long long)c->n_envs * c->n_steps);
  if ((c->algo == BRL_ALGO_AWR || c->algo == BRL_ALGO_DQN) &&
      (int64_t)c->n_envs * c->train_freq > (1 << 28))
    return brl__fail(BRL_EINVAL,
                     "a rollout of n_envs x train_freq = %lld samples is too "
                     "large: keep it below 2^28",
                     (long long)c->n_envs * c->train_freq);
  if ((c->algo == BRL_ALGO_AWR || c->algo == BRL_ALGO_DQN) &&
      (c->compress_every > 0 || c->tree_budget > 0))
    return brl__fail(BRL_EINVAL,
                     "compress_every is %d, tree_budget %d: online compression "
                     "is for ppo and a2c; set them to 0 for %s",
                     c->compress_every, c->tree_budget, brl_algo_name(c->algo));
  if (c->tree_budget > 0 &&
      (int64_t)c->compress_to + brl__trees_per_update(c) > c->tree_budget)
    return brl__fail(BRL_EINVAL,
                     "tree_budget is %d: it must hold compress_to (%d) plus "
                     "the %lld trees one update can add; raise tree_budget or "
                     "lower compress_to",
                     c->tree_budget, c->compress_to,
                     (long long)brl__trees_per_update(c));
  if (c->tree_budget > 0 && c->compress_to < (c->shared_tree ? 1 : 2))
    return brl__fail(BRL_EINVAL,
                     "compress_to is %d: a tree budget needs at least %d "
                     "tree%s after distilling",
                     c->compress_to, c->shared_tree ? 1 : 2,
                     c->shared_tree ? "" : "s");
  if ((c->algo == BRL_ALGO_AWR || c->algo == BRL_ALGO_DQN) &&
      c->buffer_size < c->n_envs * c->train_freq)
    return brl__fail(BRL_EINVAL,
                     "buffer_size (%d) is below one rollout of n_envs x "
                     "train_freq = %lld transitions: raise buffer_size",
                     c->buffer_size, (long long)c->n_envs * c->train_freq);
  if (!(c->log_std_min < c->log_std_max))
    return brl__fail(BRL_EINVAL,
                     "log_std_min (%g) must be below log_std_max (%g)",
                     c->log_std_min, c->log_std_max);
  if (c->log_std_init < c->log_std_min || c->log_std_init > c->log_std_max)
    return brl__fail(BRL_EINVAL,
                     "log_std_init is %g: keep it within [log_std_min, "
                     "log_std_max] = [%g, %g]",
                     c->log_std_init, c->log_std_min, c->log_std_max);
  return BRL_OK;
}
