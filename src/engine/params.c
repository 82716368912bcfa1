/* Default parameters, setting and reading them by name (the one table of
 * keys), and the one place where they are checked. */
#include "engine/params.h"
#include "core/abi.h"
#include "core/error.h"
#include "core/keytab.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* struct_size: the first version ends at cv_decay. */
static const brl__abi_struct params_abi = {"brl_params", "brl_params_default",
                                           BRL__END(brl_params, cv_decay),
                                           sizeof(brl_params)};

static void defaults(brl_params *p, int n_features, int n_outputs) {
  memset(p, 0, sizeof *p);
  p->struct_size = sizeof *p;
  p->n_features = n_features;
  p->n_groups = 1;
  p->groups[0].n_outputs = n_outputs;
  p->groups[0].lr = 0.1f;
  p->groups[0].lr_end = 0.1f;
  p->groups[0].schedule = BRL_SCHEDULE_CONSTANT;
  p->groups[0].score_weight = 1.0f;
  p->max_depth = 4;
  p->min_data_in_leaf = 0;
  p->n_bins = 256;
  p->grow_policy = BRL_GROW_OBLIVIOUS;
  p->split_score = BRL_SCORE_COSINE;
  p->bin_method = BRL_BINS_QUANTILE;
  p->n_threads = 0;
  p->clip_nonfinite = 0;
  p->n_cat_features = 0;
  p->optimizer = BRL_OPTIMIZER_SGD;
  p->adam_beta1 = 0.9f;
  p->adam_beta2 = 0.999f;
  p->adam_eps = 1e-8f;
  p->control_variates = 0;
  p->cv_decay = 0.9f;
}

void brl_params_default_sized(brl_params *p, size_t struct_size, int n_features,
                              int n_outputs) {
  if (!p)
    return;
  brl_params full;
  defaults(&full, n_features, n_outputs);
  brl__abi_out(&params_abi, &full, p, struct_size);
}

int brl__params_in(const brl_params *in, brl_params *full) {
  defaults(full, 0, 1);
  return brl__abi_in(&params_abi, in, full);
}

int brl__params_out(const brl_params *full, brl_params *out,
                    size_t struct_size) {
  return brl__abi_out(&params_abi, full, out, struct_size);
}

int brl_params_n_outputs(const brl_params *in) {
  brl_params full, *p = &full;
  if (!in || brl__params_in(in, &full) || p->n_groups < 1 ||
      p->n_groups > BRL_MAX_GROUPS)
    return 0;
  int k = 0;
  for (int g = 0; g < p->n_groups; g++)
    k += p->groups[g].n_outputs;
  return k;
}

static int bad(const char *fmt, int v) { return brl__fail(BRL_EINVAL, fmt, v); }

int brl_params_check(const brl_params *in) {
  BRL_CHECK_ARG(in);
  brl_params full, *p = &full;
  int rc = brl__params_in(in, &full);
  if (rc)
    return rc;
  if (p->n_features < 0 || p->n_cat_features < 0 ||
      p->n_features + (int64_t)p->n_cat_features < 1 ||
      p->n_features + (int64_t)p->n_cat_features > (1 << 24))
    return brl__fail(BRL_EINVAL,
                     "n_features is %d and n_cat_features %d: a model needs "
                     "1 to 16777216 features in all, none negative",
                     p->n_features, p->n_cat_features);
  if (p->n_groups < 1 || p->n_groups > BRL_MAX_GROUPS)
    return bad("n_groups is %d: use 1 to 8 output groups", p->n_groups);
  int total = 0;
  for (int g = 0; g < p->n_groups; g++) {
    const brl_group *gr = &p->groups[g];
    if (gr->n_outputs < 1 || gr->n_outputs > 65536)
      return brl__fail(BRL_EINVAL,
                       "groups[%d].n_outputs is %d: each group needs 1 to "
                       "65536 output columns",
                       g, gr->n_outputs);
    total += gr->n_outputs;
    if (!(gr->lr > 0.0f) || !isfinite(gr->lr))
      return brl__fail(BRL_EINVAL,
                       "groups[%d].lr is %g: the learning rate must be a "
                       "finite number > 0",
                       g, (double)gr->lr);
    if ((int)gr->schedule < 0 || gr->schedule > BRL_SCHEDULE_LINEAR_PROGRESS)
      return brl__fail(BRL_EINVAL,
                       "groups[%d].schedule is %d: use BRL_SCHEDULE_CONSTANT, "
                       "_LINEAR_TREES or _LINEAR_PROGRESS",
                       g, (int)gr->schedule);
    if (gr->schedule != BRL_SCHEDULE_CONSTANT &&
        (!(gr->lr_end > 0.0f) || !isfinite(gr->lr_end)))
      return brl__fail(BRL_EINVAL,
                       "groups[%d].lr_end is %g: a linear schedule needs a "
                       "finite end rate > 0",
                       g, (double)gr->lr_end);
    if (gr->schedule == BRL_SCHEDULE_LINEAR_TREES && gr->schedule_trees < 1)
      return brl__fail(BRL_EINVAL,
                       "groups[%d].schedule_trees is %d: a schedule linear in "
                       "trees needs its length in trees (>= 1)",
                       g, gr->schedule_trees);
    if (!(gr->score_weight >= 0.0f) || !isfinite(gr->score_weight))
      return brl__fail(BRL_EINVAL,
                       "groups[%d].score_weight is %g: use a finite weight "
                       ">= 0",
                       g, (double)gr->score_weight);
  }
  if (total > 256)
    return bad("the groups have %d output columns in all: at most 256", total);
  if (p->max_depth < 1 || p->max_depth > BRL_MAX_DEPTH)
    return bad("max_depth is %d: use 1 to 12", p->max_depth);
  if (p->min_data_in_leaf < 0)
    return bad("min_data_in_leaf is %d: use 0 or more", p->min_data_in_leaf);
  if (p->n_bins < 2 || p->n_bins > BRL_MAX_BINS)
    return bad("n_bins is %d: use 2 to 256", p->n_bins);
  if ((int)p->grow_policy < 0 || p->grow_policy > BRL_GROW_GREEDY)
    return bad("grow_policy is %d: use BRL_GROW_OBLIVIOUS or BRL_GROW_GREEDY",
               (int)p->grow_policy);
  if ((int)p->split_score < 0 || p->split_score > BRL_SCORE_L2)
    return bad("split_score is %d: use BRL_SCORE_COSINE or BRL_SCORE_L2",
               (int)p->split_score);
  if ((int)p->bin_method < 0 || p->bin_method > BRL_BINS_UNIFORM)
    return bad("bin_method is %d: use BRL_BINS_QUANTILE or BRL_BINS_UNIFORM",
               (int)p->bin_method);
  if (p->n_threads < 0 || p->n_threads > 4096)
    return bad("n_threads is %d: use 0 (all cores) or a positive count",
               p->n_threads);
  if (p->clip_nonfinite != 0 && p->clip_nonfinite != 1)
    return bad("clip_nonfinite is %d: use 0 (reject) or 1 (clip)",
               p->clip_nonfinite);
  if (p->optimizer != BRL_OPTIMIZER_SGD && p->optimizer != BRL_OPTIMIZER_ADAM)
    return bad("optimizer is %d: use BRL_OPTIMIZER_SGD or BRL_OPTIMIZER_ADAM",
               p->optimizer);
  if (p->optimizer == BRL_OPTIMIZER_ADAM &&
      (!(p->adam_beta1 >= 0.0f && p->adam_beta1 < 1.0f) ||
       !(p->adam_beta2 >= 0.0f && p->adam_beta2 < 1.0f) ||
       !(p->adam_eps > 0.0f) || !isfinite(p->adam_eps)))
    return brl__fail(BRL_EINVAL,
                     "adam_beta1 %g, adam_beta2 %g, adam_eps %g: the betas "
                     "must be in [0, 1) and eps finite and > 0",
                     (double)p->adam_beta1, (double)p->adam_beta2,
                     (double)p->adam_eps);
  if (p->control_variates != 0 && p->control_variates != 1)
    return bad("control_variates is %d: use 0 or 1", p->control_variates);
  if (!(p->cv_decay >= 0.0f && p->cv_decay < 1.0f))
    return brl__fail(BRL_EINVAL, "cv_decay is %g: use a value in [0, 1)",
                     (double)p->cv_decay);
  return BRL_OK;
}

/* ------------------------------------------------------------- by name */

_Static_assert(sizeof(brl_grow_policy) == sizeof(int) &&
                   sizeof(brl_split_score) == sizeof(int) &&
                   sizeof(brl_bin_method) == sizeof(int) &&
                   sizeof(brl_schedule) == sizeof(int),
               "enums must be int-sized");

static const char *const grow_names[] = {"oblivious", "greedy"};
static const char *const score_names[] = {"cosine", "l2"};
static const char *const bins_names[] = {"quantile", "uniform"};
static const char *const optimizer_names[] = {"sgd", "adam"};
static const char *const schedule_names[] = {"constant", "linear_trees",
                                             "linear_progress"};

/* clang-format off */
#define NUM(T, field, type, lo, hi, open, help) \
  {#field, BRL__KEY_##type, offsetof(T, field), lo, hi, open, NULL, 0, help}
#define ENUM(T, field, names, help) \
  {#field, BRL__KEY_ENUM, offsetof(T, field), 0, 0, 0, names, \
   (int)(sizeof names / sizeof names[0]), help}
/* clang-format on */
#define P(field, type, lo, hi, open, help)                                     \
  NUM(brl_params, field, type, lo, hi, open, help)
#define G(field, type, lo, hi, open, help)                                     \
  NUM(brl_group, field, type, lo, hi, open, help)
#define LO BRL__KEY_LO_OPEN
#define HI BRL__KEY_HI_OPEN

static const brl__key keys[] = {
    P(n_features, INT, 0, 1 << 24, 0, "numeric features per sample"),
    P(n_cat_features, INT, 0, 1 << 24, 0,
      "categorical features per sample (int32 codes)"),
    P(n_groups, INT, 1, BRL_MAX_GROUPS, 0,
      "output groups (groups[0 .. n_groups-1] are used)"),
    P(max_depth, INT, 1, BRL_MAX_DEPTH, 0, "tree depth"),
    P(min_data_in_leaf, INT, 0, INT32_MAX, 0,
      "splits leaving fewer samples in a child are rejected"),
    P(n_bins, INT, 2, BRL_MAX_BINS, 0,
      "value bins per feature (256 means 255: one code is for missing)"),
    ENUM(brl_params, grow_policy, grow_names, "tree shape"),
    ENUM(brl_params, split_score, score_names, "split score"),
    ENUM(brl_params, bin_method, bins_names, "split candidates"),
    P(n_threads, INT, 0, 4096, 0, "threads (0: all cores)"),
    {"clip_nonfinite", BRL__KEY_BOOL, offsetof(brl_params, clip_nonfinite), 0,
     1, 0, NULL, 0,
     "non-finite gradients: false rejects the step, true clips them"},
    ENUM(brl_params, optimizer, optimizer_names,
         "leaf values: sgd (-lr x mean gradient) or adam"),
    P(adam_beta1, FLOAT, 0, 1, HI, "Adam's first-moment decay"),
    P(adam_beta2, FLOAT, 0, 1, HI, "Adam's second-moment decay"),
    P(adam_eps, FLOAT, 0, FLT_MAX, LO, "Adam's epsilon"),
    {"control_variates", BRL__KEY_BOOL, offsetof(brl_params, control_variates),
     0, 1, 0, NULL, 0, "subtract each gradient column's control variate"},
    P(cv_decay, FLOAT, 0, 1, HI, "decay of the control variates' average"),
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

/* The fields of groups[i], keys "groups[i].NAME". */
static const brl__key group_keys[] = {
    G(n_outputs, INT, 1, 65536, 0, "output columns of the group"),
    G(lr, FLOAT, 0, FLT_MAX, LO, "learning rate (the start of a schedule)"),
    G(lr_end, FLOAT, 0, FLT_MAX, 0, "end rate of a linear schedule"),
    ENUM(brl_group, schedule, schedule_names, "how lr changes"),
    G(schedule_trees, INT, 0, INT32_MAX, 0,
      "length in trees of a linear_trees schedule"),
    G(score_weight, FLOAT, 0, FLT_MAX, 0,
      "weight of the group's columns in split scores"),
};
#define N_GROUP_KEYS ((int)(sizeof group_keys / sizeof group_keys[0]))
#define N_ALL_KEYS (N_KEYS + BRL_MAX_GROUPS * N_GROUP_KEYS)

/* The key list, filled once (pthread_once): "groups[i].NAME" are made. */
static const char *key_list[N_ALL_KEYS + 1];
static char group_names[BRL_MAX_GROUPS * N_GROUP_KEYS][32];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void fill_keys(void) {
  int n = 0;
  for (int i = 0; i < N_KEYS; i++)
    key_list[n++] = keys[i].name;
  for (int g = 0; g < BRL_MAX_GROUPS; g++)
    for (int i = 0; i < N_GROUP_KEYS; i++) {
      char *s = group_names[g * N_GROUP_KEYS + i];
      snprintf(s, sizeof group_names[0], "groups[%d].%s", g,
               group_keys[i].name);
      key_list[n++] = s;
    }
  key_list[n] = NULL;
}

const char *const *brl_params_keys(void) {
  pthread_once(&keys_once, fill_keys);
  return key_list;
}

/* The key called name and the offset of the struct it is a field of
 * (groups[i] for a group key); NULL when there is none. */
static const brl__key *find_key(const char *name, size_t *base) {
  *base = 0;
  if (strncmp(name, "groups[", 7) != 0)
    return brl__key_find(keys, N_KEYS, name);
  const char *s = name + 7;
  if (s[0] < '0' || s[0] >= '0' + BRL_MAX_GROUPS || s[1] != ']' || s[2] != '.')
    return NULL;
  *base =
      offsetof(brl_params, groups) + (size_t)(s[0] - '0') * sizeof(brl_group);
  return brl__key_find(group_keys, N_GROUP_KEYS, s + 3);
}

const char *brl_params_key_help(const char *key) {
  size_t base;
  const brl__key *k = key ? find_key(key, &base) : NULL;
  return k ? k->help : NULL;
}

static int unknown(const char *key) {
  return brl__fail(BRL_EINVAL,
                   "unknown parameter '%.60s' (brl_params_keys lists them; "
                   "group fields are groups[0..%d].n_outputs, lr, lr_end, "
                   "schedule, schedule_trees, score_weight)",
                   key, BRL_MAX_GROUPS - 1);
}

int brl_params_set(brl_params *p, const char *key, const char *value) {
  BRL_CHECK_ARG(p);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(value);
  int rc = brl__abi_check(&params_abi, p->struct_size);
  if (rc)
    return rc;
  size_t base;
  const brl__key *k = find_key(key, &base);
  if (!k)
    return unknown(key);
  if (base + k->off + brl__key_size(k) > p->struct_size)
    return brl__fail(BRL_EINVAL,
                     "parameter '%s' is newer than this program's brl_params "
                     "(struct_size %zu): rebuild it against the library's "
                     "boostrl.h to set it",
                     key, p->struct_size);
  return brl__key_set(k, key, (char *)p + base, value);
}

int brl_params_get(const brl_params *p, const char *key, char *buf,
                   size_t size) {
  BRL_CHECK_ARG(p);
  BRL_CHECK_ARG(key);
  BRL_CHECK_ARG(buf);
  brl_params full;
  int rc = brl__params_in(p, &full);
  if (rc)
    return rc;
  size_t base;
  const brl__key *k = find_key(key, &base);
  if (!k)
    return unknown(key);
  return brl__key_get(k, (const char *)&full + base, buf, size);
}
