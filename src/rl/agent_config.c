/* Agent hyper-parameters: defaults, setting and reading them by name (the
 * one table of keys), and the checks. */
#include "core/error.h"
#include "core/numtext.h"
#include "rl/agent.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum key_type {
  T_INT,
  T_INT64,
  T_DOUBLE,
  T_BOOL,
  T_ALGO,
  T_GROW,
  T_SCORE,
  T_BINS,
  T_LOG_STD,
  T_DEVICE
} key_type;

typedef struct key_def {
  const char *name;
  key_type type;
  size_t off;
  double lo, hi; /* range of numbers (inclusive) */
  const char *help;
} key_def;

/* Enum fields are read and written as int. */
_Static_assert(sizeof(brl_algo) == sizeof(int) &&
                   sizeof(brl_grow_policy) == sizeof(int) &&
                   sizeof(brl_split_score) == sizeof(int) &&
                   sizeof(brl_bin_method) == sizeof(int) &&
                   sizeof(brl_log_std_mode) == sizeof(int) &&
                   sizeof(brl_device) == sizeof(int),
               "enums must be int-sized");

#define F(field) offsetof(brl_agent_config, field)
#define BIG 1e300

static const key_def keys[] = {
    {"algo", T_ALGO, F(algo), 0, 0, "algorithm: ppo, a2c, awr or dqn"},
    {"n_timesteps", T_INT64, F(n_timesteps), 0, 9e18,
     "default training length in env steps"},
    {"n_envs", T_INT, F(n_envs), 1, BRL_AGENT_MAX_ENVS,
     "environment copies stepped together"},
    {"n_steps", T_INT, F(n_steps), 1, 1 << 24, "steps per env per rollout"},
    {"batch_size", T_INT, F(batch_size), 1, 1 << 30,
     "PPO minibatch size (one tree per minibatch)"},
    {"n_epochs", T_INT, F(n_epochs), 1, 100000, "PPO passes over each rollout"},
    {"gamma", T_DOUBLE, F(gamma), 0, 1, "discount factor"},
    {"gae_lambda", T_DOUBLE, F(gae_lambda), 0, 1, "GAE lambda"},
    {"clip_range", T_DOUBLE, F(clip_range), 0, BIG,
     "PPO clip range of the probability ratio"},
    {"clip_range_vf", T_DOUBLE, F(clip_range_vf), -BIG, BIG,
     "PPO value clip range (SB3's form); 0 or none: no clipping"},
    {"ent_coef", T_DOUBLE, F(ent_coef), 0, BIG, "entropy bonus coefficient"},
    {"vf_coef", T_DOUBLE, F(vf_coef), 0, BIG, "value loss coefficient"},
    {"max_policy_grad_norm", T_DOUBLE, F(max_policy_grad_norm), -BIG, BIG,
     "per-sample clip of the policy gradient's L2 norm; 0: none"},
    {"max_value_grad_norm", T_DOUBLE, F(max_value_grad_norm), -BIG, BIG,
     "per-sample clip of the value gradient; 0: none"},
    {"target_kl", T_DOUBLE, F(target_kl), -BIG, BIG,
     "PPO: stop the update's epochs when approx KL > 1.5 target_kl; 0 or "
     "none: never"},
    {"normalize_advantage", T_BOOL, F(normalize_advantage), 0, 1,
     "normalise advantages (per minibatch for PPO, per rollout for A2C)"},
    {"policy_lr", T_DOUBLE, F(policy_lr), 1e-30, BIG,
     "learning rate of the policy trees"},
    {"policy_lr_end", T_DOUBLE, F(policy_lr_end), 0, BIG,
     "end rate of a linear decay over training; 0: constant policy_lr"},
    {"value_lr", T_DOUBLE, F(value_lr), 1e-30, BIG,
     "learning rate of the value trees"},
    {"value_lr_end", T_DOUBLE, F(value_lr_end), 0, BIG,
     "end rate of a linear decay over training; 0: constant value_lr"},
    {"log_std_mode", T_LOG_STD, F(log_std_mode), 0, 0,
     "Gaussian log_std: param (state-independent, Adam) or tree (outputs)"},
    {"log_std_init", T_DOUBLE, F(log_std_init), -BIG, BIG,
     "initial log standard deviation of Gaussian policies"},
    {"log_std_lr", T_DOUBLE, F(log_std_lr), 1e-30, BIG,
     "learning rate of log_std (Adam, or its tree output group)"},
    {"log_std_lr_end", T_DOUBLE, F(log_std_lr_end), 0, BIG,
     "end rate of a linear decay over training; 0: constant log_std_lr"},
    {"log_std_min", T_DOUBLE, F(log_std_min), -BIG, BIG,
     "lower clamp of log_std"},
    {"log_std_max", T_DOUBLE, F(log_std_max), -BIG, BIG,
     "upper clamp of log_std"},
    {"shared_tree", T_BOOL, F(shared_tree), 0, 1,
     "one ensemble with policy and value output groups (else two)"},
    {"value_split_weight", T_DOUBLE, F(value_split_weight), 0, BIG,
     "shared tree: weight of the value gradient in split scores"},
    {"normalize_reward", T_BOOL, F(normalize_reward), 0, 1,
     "scale rewards by the running std of the discounted return"},
    {"clip_reward", T_DOUBLE, F(clip_reward), 1e-30, BIG,
     "scaled rewards are clipped to [-clip_reward, clip_reward]"},
    {"max_depth", T_INT, F(max_depth), 1, BRL_MAX_DEPTH, "tree depth"},
    {"n_bins", T_INT, F(n_bins), 2, BRL_MAX_BINS,
     "value bins per feature for split candidates (256 means 255)"},
    {"min_data_in_leaf", T_INT, F(min_data_in_leaf), 0, 1 << 30,
     "splits leaving fewer samples in a child are rejected"},
    {"grow_policy", T_GROW, F(grow_policy), 0, 0,
     "tree shape: oblivious or greedy"},
    {"split_score", T_SCORE, F(split_score), 0, 0, "split score: cosine or l2"},
    {"bin_method", T_BINS, F(bin_method), 0, 0,
     "split candidates: quantile or uniform"},
    {"n_threads", T_INT, F(n_threads), 0, 4096,
     "threads (default 1; 0: all cores); does not change results"},
    {"n_cat_obs", T_INT, F(n_cat_obs), 0, 1 << 20,
     "the last n_cat_obs observation columns are categorical codes"},
    {"device", T_DEVICE, F(device), 0, 0,
     "where the trees grow and predict: cpu, cuda or auto (cuda when "
     "available)"},
    /* Online compression (src/rl/compress.c). */
    {"compress_every", T_INT, F(compress_every), 0, 1 << 30,
     "distil the ensembles every this many updates (0: never)"},
    {"compress_to", T_INT, F(compress_to), 0, 1 << 30,
     "online compression: trees in all ensembles after distilling"},
    {"tree_budget", T_INT, F(tree_budget), 0, 1 << 30,
     "online compression: distil into compress_to trees before an update "
     "could exceed this many (0: off)"},
    /* Off-policy algorithms (rl/replay.c, awr.c, dqn.c). */
    {"buffer_size", T_INT, F(buffer_size), 1, 1 << 26,
     "AWR/DQN: replay buffer capacity in transitions"},
    {"learning_starts", T_INT, F(learning_starts), 0, 2e9,
     "AWR/DQN: env steps collected before training starts"},
    {"train_freq", T_INT, F(train_freq), 1, 1 << 24,
     "AWR/DQN: steps per env between training calls (the rollout)"},
    {"gradient_steps", T_INT, F(gradient_steps), 1, 1 << 24,
     "AWR/DQN: trees per ensemble per training call"},
    {"beta", T_DOUBLE, F(beta), 1e-30, BIG,
     "AWR: temperature of the weights exp(A / beta)"},
    {"weights_max", T_DOUBLE, F(weights_max), 1e-30, BIG,
     "AWR: upper clip of the weights"},
    {"target_update_interval", T_INT, F(target_update_interval), 1, 1 << 30,
     "DQN: the target prefix moves to the tree count at its multiples"},
    {"exploration_fraction", T_DOUBLE, F(exploration_fraction), 0, 1,
     "DQN: fraction of training over which epsilon decays"},
    {"exploration_initial_eps", T_DOUBLE, F(exploration_initial_eps), 0, 1,
     "DQN: initial epsilon of epsilon-greedy"},
    {"exploration_final_eps", T_DOUBLE, F(exploration_final_eps), 0, 1,
     "DQN: final epsilon of epsilon-greedy"},
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

static const key_def *find_key(const char *name) {
  for (int i = 0; i < N_KEYS; i++)
    if (strcmp(keys[i].name, name) == 0)
      return &keys[i];
  return NULL;
}

const char *brl_agent_config_key_help(const char *key) {
  const key_def *k = key ? find_key(key) : NULL;
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

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z')
      x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (char)(y - 'A' + 'a');
    if (x != y)
      return 0;
  }
  return *a == *b;
}

int brl_algo_parse(const char *name, brl_algo *out) {
  BRL_CHECK_ARG(name);
  BRL_CHECK_ARG(out);
  if (ieq(name, "ppo"))
    *out = BRL_ALGO_PPO;
  else if (ieq(name, "a2c"))
    *out = BRL_ALGO_A2C;
  else if (ieq(name, "awr"))
    *out = BRL_ALGO_AWR;
  else if (ieq(name, "dqn"))
    *out = BRL_ALGO_DQN;
  else
    return brl__fail(BRL_EINVAL,
                     "unknown algorithm '%.40s': use ppo, a2c, awr or dqn",
                     name);
  return BRL_OK;
}

void brl_agent_config_default(brl_agent_config *c, brl_algo algo) {
  if (!c)
    return;
  memset(c, 0, sizeof *c);
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

/* --------------------------------------------------------------- parsing */

static int parse_double(const char *s, double *out) {
  if (ieq(s, "none") || ieq(s, "null")) {
    *out = 0.0;
    return 1;
  }
  char *end;
  errno = 0;
  double v = brl__strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
    return 0;
  *out = v;
  return 1;
}

static int parse_enum(const char *s, const char *const *names, int n,
                      int *out) {
  for (int i = 0; i < n; i++)
    if (ieq(s, names[i])) {
      *out = i;
      return 1;
    }
  return 0;
}

static const char *const bool_true[] = {"1", "true", "yes", "on"};
static const char *const bool_false[] = {"0", "false", "no", "off"};
static const char *const grow_names[] = {"oblivious", "greedy"};
static const char *const score_names[] = {"cosine", "l2"};
static const char *const bins_names[] = {"quantile", "uniform"};
static const char *const log_std_names[] = {"param", "tree"};
static const char *const device_names[] = {"cpu", "cuda", "auto"};

int brl_agent_config_set(brl_agent_config *c, const char *key,
                         const char *value) {
  BRL_CHECK_ARG(c);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(value);
  const key_def *k = find_key(key);
  if (!k)
    return brl__fail(BRL_EINVAL,
                     "unknown hyper-parameter '%.60s' (`boostrl train "
                     "--help` lists them; in C: brl_agent_config_keys)",
                     key);
  char *base = (char *)c + k->off;
  int iv;
  double dv;
  switch (k->type) {
  case T_ALGO: {
    brl_algo a;
    if (brl_algo_parse(value, &a))
      return brl__fail(BRL_EINVAL, "%s = '%.40s': use ppo, a2c, awr or dqn",
                       key, value);
    *(brl_algo *)(void *)base = a;
    return BRL_OK;
  }
  case T_GROW:
  case T_SCORE:
  case T_BINS:
  case T_LOG_STD: {
    const char *const *names = k->type == T_GROW    ? grow_names
                               : k->type == T_SCORE ? score_names
                               : k->type == T_BINS  ? bins_names
                                                    : log_std_names;
    if (!parse_enum(value, names, 2, &iv))
      return brl__fail(BRL_EINVAL, "%s = '%.40s': use %s or %s", key, value,
                       names[0], names[1]);
    /* Every enum field is an int-sized enum. */
    memcpy(base, &iv, sizeof iv);
    return BRL_OK;
  }
  case T_DEVICE:
    if (!parse_enum(value, device_names, 3, &iv))
      return brl__fail(BRL_EINVAL, "%s = '%.40s': use cpu, cuda or auto", key,
                       value);
    memcpy(base, &iv, sizeof iv);
    return BRL_OK;
  case T_BOOL:
    if (parse_enum(value, bool_true, 4, &iv))
      iv = 1;
    else if (parse_enum(value, bool_false, 4, &iv))
      iv = 0;
    else
      return brl__fail(BRL_EINVAL, "%s = '%.40s': use true or false", key,
                       value);
    *(int *)(void *)base = iv;
    return BRL_OK;
  default:
    break;
  }
  if (!parse_double(value, &dv))
    return brl__fail(BRL_EINVAL, "%s = '%.40s' is not a number", key, value);
  if (dv < k->lo || dv > k->hi)
    return brl__fail(BRL_EINVAL, "%s = %g is out of range: use %g to %g", key,
                     dv, k->lo, k->hi);
  if (k->type == T_DOUBLE) {
    *(double *)(void *)base = dv;
    return BRL_OK;
  }
  if (dv != floor(dv))
    return brl__fail(BRL_EINVAL, "%s = '%.40s': use a whole number", key,
                     value);
  if (k->type == T_INT)
    *(int *)(void *)base = (int)dv;
  else
    *(int64_t *)(void *)base = (int64_t)dv;
  return BRL_OK;
}

int brl_agent_config_get(const brl_agent_config *c, const char *key, char *buf,
                         size_t size) {
  BRL_CHECK_ARG(c);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(buf);
  const key_def *k = find_key(key);
  if (!k)
    return brl__fail(BRL_EINVAL, "unknown hyper-parameter '%.60s'", key);
  if (size < 32)
    return brl__fail(BRL_EINVAL, "buffer of %zu bytes: pass at least 32", size);
  const char *base = (const char *)c + k->off;
  int iv;
  switch (k->type) {
  case T_ALGO:
    snprintf(buf, size, "%s",
             brl_algo_name(*(const brl_algo *)(const void *)base));
    break;
  case T_GROW:
  case T_SCORE:
  case T_BINS:
  case T_LOG_STD: {
    const char *const *names = k->type == T_GROW    ? grow_names
                               : k->type == T_SCORE ? score_names
                               : k->type == T_BINS  ? bins_names
                                                    : log_std_names;
    memcpy(&iv, base, sizeof iv);
    snprintf(buf, size, "%s", iv == 0 || iv == 1 ? names[iv] : "invalid");
    break;
  }
  case T_DEVICE:
    memcpy(&iv, base, sizeof iv);
    snprintf(buf, size, "%s",
             iv >= 0 && iv <= 2 ? device_names[iv] : "invalid");
    break;
  case T_BOOL:
    snprintf(buf, size, "%s",
             *(const int *)(const void *)base ? "true" : "false");
    break;
  case T_INT:
    snprintf(buf, size, "%d", *(const int *)(const void *)base);
    break;
  case T_INT64:
    snprintf(buf, size, "%lld",
             (long long)*(const int64_t *)(const void *)base);
    break;
  case T_DOUBLE:
    brl__fmt_double(*(const double *)(const void *)base, buf, size);
    break;
  }
  return BRL_OK;
}

/* ---------------------------------------------------------------- checks */

int64_t brl__trees_per_update(const brl_agent_config *c) {
  const int64_t N = (int64_t)c->n_envs * c->n_steps;
  const int64_t bs = c->batch_size > 0 && c->batch_size < N ? c->batch_size : N;
  const int64_t steps =
      c->algo == BRL_ALGO_PPO ? (int64_t)c->n_epochs * ((N + bs - 1) / bs) : 1;
  return steps * (c->shared_tree ? 1 : 2);
}

int brl_agent_config_check(const brl_agent_config *c) {
  BRL_CHECK_ARG(c);
  if (c->algo != BRL_ALGO_PPO && c->algo != BRL_ALGO_A2C &&
      c->algo != BRL_ALGO_AWR && c->algo != BRL_ALGO_DQN)
    return brl__fail(BRL_EINVAL, "algo is %d: use ppo, a2c, awr or dqn",
                     (int)c->algo);
  /* Every numeric field in its range (structs filled by hand too). */
  for (int i = 0; i < N_KEYS; i++) {
    const key_def *k = &keys[i];
    const char *base = (const char *)c + k->off;
    double v;
    int iv;
    switch (k->type) {
    case T_INT:
      v = *(const int *)(const void *)base;
      break;
    case T_INT64:
      v = (double)*(const int64_t *)(const void *)base;
      break;
    case T_DOUBLE:
      v = *(const double *)(const void *)base;
      break;
    case T_BOOL:
      iv = *(const int *)(const void *)base;
      if (iv != 0 && iv != 1)
        return brl__fail(BRL_EINVAL, "%s is %d: use 0 (false) or 1 (true)",
                         k->name, iv);
      continue;
    case T_ALGO:
      continue;
    case T_DEVICE:
      memcpy(&iv, base, sizeof iv);
      if (iv < 0 || iv > 2)
        return brl__fail(BRL_EINVAL, "%s is %d: use cpu, cuda or auto", k->name,
                         iv);
      continue;
    default:
      memcpy(&iv, base, sizeof iv);
      if (iv != 0 && iv != 1)
        return brl__fail(BRL_EINVAL, "%s is %d: not a valid choice (%s)",
                         k->name, iv, k->help);
      continue;
    }
    if (!isfinite(v) || v < k->lo || v > k->hi)
      return brl__fail(BRL_EINVAL, "%s is %g: use %g to %g (%s)", k->name, v,
                       k->lo, k->hi, k->help);
  }
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
