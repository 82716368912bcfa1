/*
 * boostrl.h - the public C API of boostrl.
 *
 * boostrl grows gradient-boosted decision trees online: each call to
 * brl_model_step() receives a batch of samples and per-sample gradients of a
 * loss with respect to the model outputs and appends one tree. Reinforcement
 * learning algorithms (brl_agent_*) and native environments (brl_env_*) are
 * built on that engine.
 *
 * Conventions
 *  - Every name starts with brl_ / BRL_. Handles are opaque.
 *  - Every call that can fail returns an int status: BRL_OK (0) or a negative
 *    brl_status code. The message of the last failure on the calling thread
 *    is read with brl_last_error(). No call prints, exits or aborts.
 *  - Destructors take a pointer to the handle, accept NULL and set the
 *    handle to NULL.
 *  - Arrays are row-major: sample i, column j of an n x d matrix is at
 *    [i * d + j]. The caller owns every buffer it passes; the library copies
 *    what it keeps.
 *  - Results are deterministic for a given seed, whatever the thread count.
 *  - Option structs the caller fills (brl_params, brl_agent_config,
 *    brl_fit_params, brl_export_options, brl_compress_params,
 *    brl_action_space) start with size_t struct_size: fill them with their
 *    _default function (it sets struct_size = sizeof), then change fields,
 *    or set them by name
 *    (brl_params_set, brl_agent_config_set). Fields are only ever
 *    appended, so a program built against an older boostrl.h passes a
 *    smaller struct_size and the library gives the fields it lacks their
 *    defaults; a struct_size larger than the library's, or smaller than the
 *    first version's, is refused (BRL_EINVAL). The _default functions and
 *    the calls that write such a struct are inline wrappers that pass
 *    sizeof to a _sized function, which writes no more than that (bindings
 *    that cannot use inline functions call the _sized ones). brl_comm_ops
 *    has a struct_size too, which must equal the library's. Structs the
 *    library fills (stats, reports, info, specs) keep their layout: a field
 *    appended to one comes with a _sized variant of the call that fills it.
 *  - Threads: calls on different handles never interfere, so each thread
 *    may work with its own models, batches, envs and agents at the same
 *    time. Sharing one handle between threads, per type:
 *      brl_model  calls taking a const brl_model * (predictions, SHAP,
 *                 leaves, importances, dumps, exports, save, creating a
 *                 batch from it) may run at the same time on any number of
 *                 threads; the others (step, fit, set_*, truncate, being
 *                 distilled into, free) need the model to themselves.
 *      brl_batch  one call at a time: predictions and steps update its
 *                 cache and workspace (also for steps of different models).
 *      brl_env    one call at a time, except that const calls (spec,
 *                 observe, state, save) may run together.
 *      brl_agent  one call at a time, except that const calls (config,
 *                 stats, save, brl_agent_model) may run together; the
 *                 model brl_agent_model returns follows the brl_model rule
 *                 while no call that trains or acts runs on the agent.
 *      brl_kv     one call at a time, except that const calls (get, key,
 *                 value, count, dump, save) may run together.
 *      brl_comm   one thread at a time (its collectives are ordered
 *                 calls on every rank); the handles it is attached to keep
 *                 a pointer to it.
 *    brl_params, brl_agent_config and other structs are the caller's.
 *    brl_last_error() is per thread. n_threads is the OpenMP threads of
 *    one call; concurrent calls each run their own. Library-wide tables
 *    are constants or initialised once. tests/test_thread_safety.c drives
 *    this contract under ThreadSanitizer (make test-tsan).
 */
#ifndef BOOSTRL_H
#define BOOSTRL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(BRL_BUILD_SHARED)
#define BRL_API __declspec(dllexport)
#elif defined(__GNUC__)
#define BRL_API __attribute__((visibility("default")))
#else
#define BRL_API
#endif

/* ---------------------------------------------------------------- version */

#define BRL_VERSION_MAJOR 0
#define BRL_VERSION_MINOR 1
#define BRL_VERSION_PATCH 0
#define BRL_VERSION_STRING "0.1.0"
/* One integer that grows with every release: MAJOR*10000 + MINOR*100 + PATCH.
 */
#define BRL_VERSION_NUMBER                                                     \
  (BRL_VERSION_MAJOR * 10000 + BRL_VERSION_MINOR * 100 + BRL_VERSION_PATCH)

/* The version of the library actually linked (compare with the macros). */
BRL_API const char *brl_version(void);
BRL_API int brl_version_number(void);
/* This library's sizeof of an option struct named by its type
 * ("brl_params", "brl_agent_config", "brl_fit_params",
 * "brl_export_options", "brl_compress_params", "brl_action_space",
 * "brl_comm_ops"); 0 for any
 * other name. For bindings that lay the structs out themselves (ctypes,
 * cffi): their struct_size may be this or smaller (an older layout), never
 * larger. */
BRL_API size_t brl_abi_struct_size(const char *type);

/* ----------------------------------------------------------------- errors */

typedef enum brl_status {
  BRL_OK = 0,
  BRL_EINVAL = -1,       /* an argument or parameter is invalid */
  BRL_ENOMEM = -2,       /* an allocation failed */
  BRL_EIO = -3,          /* a file could not be opened, read or written */
  BRL_EFORMAT = -4,      /* a model file or buffer is corrupt or truncated */
  BRL_ESTATE = -5,       /* the call does not fit the object's state */
  BRL_EUNSUPPORTED = -6, /* the feature is not available in this build */
  BRL_ENUMERIC = -7,     /* non-finite numbers in the input */
  BRL_ECOMM = -8         /* a collective failed or another process failed */
} brl_status;

/* Message of the last failed call on this thread ("" if none). The pointer
 * stays valid until the next failing call on the same thread. */
BRL_API const char *brl_last_error(void);
/* Short name of a status code, e.g. "BRL_EINVAL". */
BRL_API const char *brl_status_name(int status);
/* Sets this thread's brl_last_error() to message (truncated to 511 bytes)
 * and returns status: for code outside the library that fills its callbacks
 * (a communicator's ops, as boostrl_mpi does) and reports through the same
 * channel. */
BRL_API int brl_set_error(int status, const char *message);

/* ------------------------------------------------------------- parameters */

#define BRL_MAX_GROUPS 8
#define BRL_MAX_DEPTH 12
#define BRL_MAX_BINS 256 /* codes per feature, including the missing code */

typedef enum brl_grow_policy {
  BRL_GROW_OBLIVIOUS = 0, /* one (feature, threshold) per level */
  BRL_GROW_GREEDY = 1     /* each node takes its own best split */
} brl_grow_policy;

typedef enum brl_split_score {
  BRL_SCORE_COSINE = 0, /* sqrt(|S_L|^2/n_L + |S_R|^2/n_R), raw gradients */
  BRL_SCORE_L2 = 1      /* |S_L|^2/n_L + |S_R|^2/n_R, z-scored gradients */
} brl_split_score;

typedef enum brl_bin_method {
  BRL_BINS_QUANTILE = 0, /* equal-count bins from the batch */
  BRL_BINS_UNIFORM = 1   /* equal-width bins between the batch min and max */
} brl_bin_method;

typedef enum brl_schedule {
  BRL_SCHEDULE_CONSTANT = 0,
  /* lr goes linearly from lr to lr_end over schedule_trees trees (by the
   * index of the tree in the ensemble), then stays at lr_end. */
  BRL_SCHEDULE_LINEAR_TREES = 1,
  /* lr = lr + (lr_end - lr) * progress, progress in [0, 1] passed to
   * brl_model_step() by the caller (as stable-baselines3 does). */
  BRL_SCHEDULE_LINEAR_PROGRESS = 2
} brl_schedule;

/* A group of consecutive output columns with its own learning rate, e.g.
 * policy logits and value in one shared actor-critic tree. */
typedef struct brl_group {
  int n_outputs;         /* columns in this group (>= 1) */
  float lr;              /* learning rate (> 0); the start rate of a schedule */
  float lr_end;          /* end rate of a linear schedule (> 0) */
  brl_schedule schedule; /* how lr changes */
  int schedule_trees;    /* length of a BRL_SCHEDULE_LINEAR_TREES schedule */
  float score_weight; /* weight of this group's columns in split scores (>=0) */
} brl_group;

typedef struct brl_params {
  size_t struct_size; /* sizeof(brl_params): set by brl_params_default */
  int n_features;     /* numeric features per sample (>= 1) */
  int n_groups;       /* output groups (1..BRL_MAX_GROUPS) */
  brl_group groups[BRL_MAX_GROUPS];
  int max_depth;               /* 1..BRL_MAX_DEPTH (default 4) */
  int min_data_in_leaf;        /* splits leaving fewer samples in a child are
                                  rejected (default 0: any non-empty child) */
  int n_bins;                  /* 2..256 value bins per feature; 256 means 255,
                                  since one code is reserved for missing values
                                  (default 256) */
  brl_grow_policy grow_policy; /* default BRL_GROW_OBLIVIOUS */
  brl_split_score split_score; /* default BRL_SCORE_COSINE */
  brl_bin_method bin_method;   /* default BRL_BINS_QUANTILE */
  int n_threads;               /* 0: all cores (default), else exactly this */
  /* Non-finite gradients: 0 (default) rejects the step with BRL_ENUMERIC
   * naming the first bad row; 1 replaces NaN by 0 and +-inf by +-M, M the
   * largest finite magnitude in that output column among the step's
   * gradients (0 if the column has none). So a diverging sample weighs as
   * much as the batch's most extreme one: leaves stay within lr * M and the
   * other rows keep their precision in the split scores. */
  int clip_nonfinite;
  /* Categorical features per sample (default 0): int32 codes passed next to
   * the numeric matrix (the *_cat calls). A negative code is missing. Splits
   * are one-vs-rest equalities (x == c) on the most frequent codes of the
   * batch; a code never seen as a split value (an unseen category) always
   * takes the "not equal" side. Feature index n_features + j names
   * categorical column j (feature weights, importances). */
  int n_cat_features;
  /* BRL_OPTIMIZER_SGD (default): leaves hold -lr * mean gradient and
   * prediction is a sum. BRL_OPTIMIZER_ADAM: leaves hold the raw mean
   * gradient and prediction runs Adam's moment recursion over the trees in
   * order (not additive: tree ranges must start at 0). */
  int optimizer;
  float adam_beta1, adam_beta2, adam_eps; /* defaults 0.9, 0.999, 1e-8 */
  /* Control variates (default 0): before a step, each gradient column has
   * its regression on an exponential moving average of the sample's past
   * leaf values subtracted (coefficient clipped to [-1, 1]); the average is
   * kept per batch row with decay cv_decay (default 0.9). */
  int control_variates;
  float cv_decay;
} brl_params;

#define BRL_OPTIMIZER_SGD 0
#define BRL_OPTIMIZER_ADAM 1

/* Fills p with the defaults for n_features features and one output group of
 * n_outputs columns with a constant learning rate of 0.1. */
BRL_API void brl_params_default_sized(brl_params *p, size_t struct_size,
                                      int n_features, int n_outputs);
static inline void brl_params_default(brl_params *p, int n_features,
                                      int n_outputs) {
  brl_params_default_sized(p, sizeof *p, n_features, n_outputs);
}
/* Sets one parameter by name from text, as brl_agent_config_set does for
 * agents: numbers ('.' decimals in any locale), true/false for flags,
 * names for enums (grow_policy oblivious/greedy, split_score cosine/l2,
 * bin_method quantile/uniform, optimizer sgd/adam; groups[i].schedule
 * constant/linear_trees/linear_progress). Group fields are
 * "groups[i].NAME", i in 0..BRL_MAX_GROUPS-1 (n_outputs, lr, lr_end,
 * schedule, schedule_trees, score_weight). BRL_EINVAL names the key and the
 * accepted values or range, and p is unchanged, when the key is unknown or
 * the value does not parse or is out of range; brl_params_check judges
 * the combination. */
BRL_API int brl_params_set(brl_params *p, const char *key, const char *value);
/* The value of a key as text that brl_params_set reads back exactly (buf:
 * at least 32 bytes). */
BRL_API int brl_params_get(const brl_params *p, const char *key, char *buf,
                           size_t size);
/* Every key, NULL-terminated (groups[0] to groups[7] included), and a
 * one-line description of one (NULL for an unknown key). */
BRL_API const char *const *brl_params_keys(void);
BRL_API const char *brl_params_key_help(const char *key);
/* The single place where parameters are checked: BRL_OK, or BRL_EINVAL with
 * a message naming the parameter and what to change. */
BRL_API int brl_params_check(const brl_params *p);
/* Total number of output columns (the sum over groups). */
BRL_API int brl_params_n_outputs(const brl_params *p);

/* ------------------------------------------------------------------ model */

typedef struct brl_model brl_model;

BRL_API int brl_model_create(const brl_params *p, brl_model **out);
BRL_API void brl_model_free(brl_model **m);
/* Features per sample: numeric plus categorical. */
BRL_API int brl_model_n_all_features(const brl_model *m);
/* Copies of the parameters the model was created with. */
BRL_API int brl_model_params_sized(const brl_model *m, brl_params *out,
                                   size_t struct_size);
static inline int brl_model_params(const brl_model *m, brl_params *out) {
  return brl_model_params_sized(m, out, sizeof *out);
}
BRL_API int brl_model_n_trees(const brl_model *m);
BRL_API int brl_model_n_outputs(const brl_model *m);
BRL_API int brl_model_n_features(const brl_model *m);
/* Bytes the model holds in memory (trees, bias, bookkeeping). */
BRL_API size_t brl_model_bytes(const brl_model *m);

/* Per-output bias (n_outputs floats), added to every prediction. Setting the
 * bias invalidates the prediction caches of batches (they recompute). */
BRL_API int brl_model_set_bias(brl_model *m, const float *bias);
BRL_API int brl_model_get_bias(const brl_model *m, float *bias);
/* Per-feature weights (n_features + n_cat_features floats >= 0) that
 * multiply split scores; NULL restores all ones. */
BRL_API int brl_model_set_feature_weights(brl_model *m, const float *w);
/* Changes a group's learning rate for the trees grown from now on. */
BRL_API int brl_model_set_group_lr(brl_model *m, int group, float lr,
                                   float lr_end);
/* Threads used by this model's calls (0 = all cores). */
BRL_API int brl_model_set_threads(brl_model *m, int n_threads);
/* Drops the trees [n_keep, n_trees). */
BRL_API int brl_model_truncate(brl_model *m, int n_keep);

/* Learning rate that group g would use for the next tree at this progress
 * (progress is ignored unless the schedule is BRL_SCHEDULE_LINEAR_PROGRESS). */
BRL_API float brl_model_group_lr(const brl_model *m, int group, float progress);

/* ----------------------------------------------------------- communicator */

/* A communicator joins several processes (ranks 0..size-1) that train one
 * model or agent together and end with the same trees that one process
 * would grow (docs/SCALING.md). libboostrl does not link MPI: a
 * communicator is a table of the few collectives it needs, filled by
 * brl_comm_mpi_new() (include/boostrl_mpi.h, library boostrl_mpi, built
 * when MPI is found), by the Python package from mpi4py, or by the caller.
 *
 * Collective calls: brl_comm_allreduce_*, brl_comm_allgatherv,
 * brl_comm_bcast, brl_comm_agree, and every call documented as collective
 * (e.g. brl_agent_learn or brl_fit_comm with a communicator attached) must
 * be made by every rank, in the same order, with matching sizes. Errors:
 * a library call that fails on one rank reports the failure to the others
 * at its next collective point (brl_comm_agree), so every rank returns an
 * error (BRL_ECOMM on the ranks that did not fail, naming the rank and its
 * message) instead of waiting; a rank that dies is the transport's to
 * detect (MPI ends the job). A communicator is used by one thread at a
 * time; the handles it is attached to keep a pointer to it, so it must
 * outlive them. */
typedef struct brl_comm brl_comm;

typedef struct brl_comm_ops {
  size_t struct_size; /* sizeof(brl_comm_ops), checked by brl_comm_new */
  /* Each returns 0 on success, nonzero on a transport failure; ctx is the
   * pointer given to brl_comm_new. */
  /* data[0..n) = elementwise sum over ranks, in place. */
  int (*allreduce_sum_i64)(void *ctx, int64_t *data, int64_t n);
  /* data[0..n) = elementwise max over ranks, in place. */
  int (*allreduce_max_f64)(void *ctx, double *data, int64_t n);
  /* Rank r sends counts[r] bytes from send; recv (sum of counts bytes)
   * receives every rank's bytes in rank order. counts is the same on every
   * rank. */
  int (*allgatherv)(void *ctx, const void *send, void *recv,
                    const int64_t *counts);
  /* bytes of data from rank root to every rank. */
  int (*bcast)(void *ctx, void *data, int64_t bytes, int root);
  /* Releases ctx (may be NULL); called by brl_comm_free. */
  void (*destroy)(void *ctx);
} brl_comm_ops;

/* A communicator over ops and ctx for rank `rank` of `size`. ops is
 * copied. */
BRL_API int brl_comm_new(const brl_comm_ops *ops, void *ctx, int rank, int size,
                         brl_comm **out);
/* The single-process communicator (rank 0 of 1; every collective is the
 * identity). */
BRL_API int brl_comm_new_self(brl_comm **out);
BRL_API void brl_comm_free(brl_comm **c);
BRL_API int brl_comm_rank(const brl_comm *c);
BRL_API int brl_comm_size(const brl_comm *c);
/* The collectives, checked and counted (see brl_comm_stats). */
BRL_API int brl_comm_allreduce_sum_i64(brl_comm *c, int64_t *data, int64_t n);
BRL_API int brl_comm_allreduce_max_f64(brl_comm *c, double *data, int64_t n);
BRL_API int brl_comm_allgatherv(brl_comm *c, const void *send, void *recv,
                                const int64_t *counts);
BRL_API int brl_comm_bcast(brl_comm *c, void *data, int64_t bytes, int root);
/* Collective: every rank passes its local status (with its
 * brl_last_error() message when nonzero). Returns BRL_OK when every rank
 * passed BRL_OK; else, on every rank, an error: the rank's own status where
 * it failed, BRL_ECOMM elsewhere, the message naming the lowest failing
 * rank and its message. */
BRL_API int brl_comm_agree(brl_comm *c, int status);
/* Collective calls made and bytes this rank sent through c since it was
 * made (for measuring communication). */
BRL_API void brl_comm_stats(const brl_comm *c, int64_t *calls, int64_t *bytes);

/* ------------------------------------------------------------------ batch */

/* A batch: the features of a fixed set of samples, quantized once to at most
 * 255 bins per feature, plus a cache of the model's predictions for those
 * samples. Create one per RL update phase (one rollout) and grow many trees
 * from it; the cache then costs one tree's worth of work per step. */
typedef struct brl_batch brl_batch;

/* Quantizes X (n_rows x n_features of m). Bin edges come from X itself with
 * m's bin method and n_bins. NaN marks a missing value. */
BRL_API int brl_batch_create(const brl_model *m, const float *X, int64_t n_rows,
                             brl_batch **out);
/* Same with categorical codes X_cat (n_rows x n_cat_features; NULL when the
 * model has none). */
BRL_API int brl_batch_create_cat(const brl_model *m, const float *X,
                                 const int32_t *X_cat, int64_t n_rows,
                                 brl_batch **out);
/* Most bin edges of one numeric feature (255 value bins). */
#define BRL_MAX_EDGES 254
/* Same with the bin edges of each numeric feature given instead of taken
 * from X: feature f has n_edges[f] (0..BRL_MAX_EDGES) finite, strictly
 * increasing edges at edges + f * BRL_MAX_EDGES; x falls in bin j when
 * edges[j-1] < x <= edges[j], and a split after bin j is the threshold
 * edges[j]. Categorical columns are binned from X_cat as usual. */
BRL_API int brl_batch_create_edges(const brl_model *m, const float *X,
                                   const int32_t *X_cat, int64_t n_rows,
                                   const float *edges, const int *n_edges,
                                   brl_batch **out);
BRL_API void brl_batch_free(brl_batch **b);
BRL_API int64_t brl_batch_n_rows(const brl_batch *b);
/* Number of value bins of feature f in this batch (<= 255). */
BRL_API int brl_batch_n_bins(const brl_batch *b, int feature);
/* Attaches a communicator (NULL detaches): b holds this rank's shard of the
 * rows, and every rank's batch has the SAME bins (brl_batch_create_edges
 * with the same edges; categorical columns keeping the same categories).
 * brl_model_step on b is then collective: every rank calls it with its own
 * model (the same trees on every rank), its own rows (rows and n index this
 * rank's batch; a rank's minibatch is its part of the global one, which may
 * be empty: rows non-NULL and n = 0) and their
 * gradients, and the tree is grown on the union of the ranks' rows, so
 * every rank appends the same tree, byte for byte the tree one process
 * holding all the rows grows. The step picks the smaller exchange: a
 * minibatch whose bin codes and gradients take fewer bytes than one node's
 * histogram is gathered to every rank, which grows the tree on it (two
 * collectives); a larger one has its histograms, row counts, gradient
 * scales and leaf sums summed over the ranks, level by level (exact
 * integer sums; about 9 collectives at depth 4). The
 * first step after attaching (or after the bins change) checks that the
 * ranks' bins agree (BRL_EINVAL naming the rank otherwise). With several
 * ranks, control_variates and the CUDA backend are refused
 * (BRL_EUNSUPPORTED). c must outlive its use by b; the call itself is
 * local. */
BRL_API int brl_batch_set_comm(brl_batch *b, brl_comm *c);

/* Predictions of m for every row of b (n_rows x n_outputs) into out. Served
 * from the batch's cache, which adds only the trees grown since it was last
 * brought up to date (recomputing from scratch if m changed otherwise). */
BRL_API int brl_batch_predict(brl_batch *b, const brl_model *m, float *out);
/* Pointer to the cache after bringing it up to date (valid until the next
 * call on b); avoids a copy. */
BRL_API int brl_batch_predictions(brl_batch *b, const brl_model *m,
                                  const float **out);

/* ------------------------------------------------------------------- fit */

/* One boosting step: grows one tree from rows `rows[0..n)` of batch b (rows
 * NULL means all rows, n ignored) and their gradients `grads` (n x n_outputs,
 * row r of grads belongs to rows[r]), then appends it. Each leaf stores
 * -lr * mean(gradients of its samples) per output column, with the learning
 * rate of the column's group at `progress` (in [0, 1]; ignored by other
 * schedules). The batch's prediction cache is updated with the new tree. */
BRL_API int brl_model_step(brl_model *m, brl_batch *b, const int32_t *rows,
                           int64_t n, const float *grads, float progress);

/* ---------------------------------------------------------------- predict */

/* out (n_rows x n_outputs) = bias + sum of trees [start, stop) over X
 * (n_rows x n_features). stop < 0 means n_trees. The bias is included only
 * when start == 0, so predictions of consecutive ranges add up to the whole. */
BRL_API int brl_model_predict(const brl_model *m, const float *X,
                              int64_t n_rows, int start, int stop, float *out);
/* Same with categorical codes X_cat (n_rows x n_cat_features). */
BRL_API int brl_model_predict_cat(const brl_model *m, const float *X,
                                  const int32_t *X_cat, int64_t n_rows,
                                  int start, int stop, float *out);
/* Same as brl_model_predict_cat, with X (n_rows x n_features), X_cat
 * (n_rows x n_cat_features; NULL when the model has none) and out
 * (n_rows x n_outputs) in CUDA device memory (from cudaMalloc,
 * brl_device_alloc, or a CUDA tensor's data pointer): nothing goes through
 * host memory but the trees (kept on the device between calls). The model
 * must be on the CUDA backend (brl_model_set_backend), else
 * BRL_EUNSUPPORTED; Adam ensembles are refused (BRL_EUNSUPPORTED). The call
 * first waits for the work queued on the CUDA legacy default stream (so
 * inputs produced there are ready) and returns when out is written. The
 * results equal brl_model_predict's bit for bit. */
BRL_API int brl_model_predict_device(const brl_model *m, const float *X_dev,
                                     const int32_t *Xc_dev, int64_t n_rows,
                                     int start, int stop, float *out_dev);

/* ------------------------------------------------------ supervised fit */

typedef struct brl_fit_params {
  size_t struct_size; /* sizeof(brl_fit_params): set by _default */
  int iterations;     /* trees to add (default 100) */
  int64_t batch_size; /* rows per tree; 0 = all rows (default) */
  int shuffle;        /* 1: minibatches from a shuffled order (default) */
  uint64_t seed;      /* for the shuffle (default 0) */
} brl_fit_params;

BRL_API void brl_fit_params_default_sized(brl_fit_params *fp,
                                          size_t struct_size);
static inline void brl_fit_params_default(brl_fit_params *fp) {
  brl_fit_params_default_sized(fp, sizeof *fp);
}
/* Boosting with squared error on targets y (n_rows x n_outputs): each
 * iteration adds one tree fitted to (prediction - y) over a minibatch.
 * Predictions include every existing tree, so fitting a model that already
 * has trees continues from it; a model with no trees first sets its bias to
 * the mean of y. X_cat may be NULL when the model has no categorical
 * features. */
BRL_API int brl_fit(brl_model *m, const float *X, const int32_t *X_cat,
                    const float *y, int64_t n_rows, const brl_fit_params *fp);
/* brl_fit over rows spread across the ranks of c. Collective: every rank
 * calls it with the same model (the same trees, e.g. all new from the same
 * parameters) and params, and its own n_local_rows (>= 1) rows X, X_cat, y;
 * rank r's rows come after those of ranks 0..r-1. Every rank ends with the
 * model, byte for byte, that brl_fit gives on the concatenation of all the
 * ranks' rows with the same params: the bin edges, categories, bias and
 * minibatch order are those of all the rows, and each tree is grown from
 * histograms summed over the ranks (brl_batch_set_comm). What it exchanges
 * (docs/SCALING.md): to bin, about 45 collectives whose sizes do not
 * depend on the rows (at most 32 allreduces of n_features x 255 x 8 bytes
 * for quantile bins, the first n_bins + 1 distinct values per feature of
 * each rank, the categories' counts); per tree, the histograms of each
 * level; the bias, one broadcast per rank. A rank may hold none of a
 * minibatch's rows. c NULL or of one rank: brl_fit. Errors come back on
 * every rank (BRL_ECOMM on those that did not fail). */
BRL_API int brl_fit_comm(brl_model *m, const float *X, const int32_t *X_cat,
                         const float *y, int64_t n_local_rows,
                         const brl_fit_params *fp, brl_comm *c);

/* ------------------------------------------------------------ distillation */

/* Rewrites teacher outputs Y (n_rows x n_outputs) in place into the targets
 * to fit (for example centred logits); ctx is passed through. */
typedef void (*brl_target_fn)(void *ctx, float *Y, int64_t n_rows);

/* Distils teacher into n_trees trees appended to student (the same
 * features and output groups, no trees yet, SGD; its bias is set to the
 * mean target) so that it reproduces target(teacher's outputs) over the
 * rows X (X_cat their codes, NULL if none). The teacher's trees, ordered
 * by their split signature (features, then thresholds; Adam teachers keep
 * their order), are cut into n_trees consecutive groups of alike trees;
 * student tree i fits the residual target(teacher trees up to the end of
 * group i) - student so far, with
 * split candidates at exactly the thresholds of group i, topped up with
 * the teacher's most consequential earlier thresholds (those whose steps
 * move its outputs most next to the rows; at most BRL_MAX_EDGES per
 * feature), so that the student's cells are the teacher's. Categorical
 * columns are binned from X_cat. Leaves hold the student's group learning
 * rate x the mean residual (1: all of it). group_weight (n_groups, NULL =
 * all 1) weighs each group in the split scores after its residuals are
 * divided by the spread of its targets. target may be NULL. */
BRL_API int brl_model_distill(brl_model *student, const brl_model *teacher,
                              const float *X, const int32_t *X_cat,
                              int64_t n_rows, int n_trees,
                              const float *group_weight, brl_target_fn target,
                              void *ctx);

/* ------------------------------------------------------------ importances */

typedef enum brl_importance {
  BRL_IMPORTANCE_SPLITS = 0, /* number of splits on the feature */
  BRL_IMPORTANCE_GAIN = 1    /* total score gain of those splits */
} brl_importance;

/* out: n_features + n_cat_features values. */
BRL_API int brl_model_feature_importance(const brl_model *m,
                                         brl_importance kind, double *out);

/* ---------------------------------------------- categorical dictionaries */

/* Each categorical column has an append-only dictionary from strings to
 * codes 0, 1, 2, ... kept in the model file, so bindings can pass strings.
 * Looking up a string that is not in the dictionary with add = 0 gives
 * BRL_CAT_UNSEEN, which never equals a split value. */
#define BRL_CAT_UNSEEN INT32_MAX
BRL_API int brl_model_cat_encode(brl_model *m, int cat_feature,
                                 const char *value, int add, int32_t *code);
/* The string of a code (NULL if out of range); valid while m lives. */
BRL_API const char *brl_model_cat_decode(const brl_model *m, int cat_feature,
                                         int32_t code);
BRL_API int brl_model_cat_size(const brl_model *m, int cat_feature);

/* ---------------------------------------------------------- trees, inspect */

typedef struct brl_tree_info {
  int depth;     /* levels (oblivious) or maximum node depth (greedy) */
  int n_leaves;  /* leaves */
  int n_splits;  /* internal nodes */
  int oblivious; /* 1 if the tree is oblivious */
} brl_tree_info;

BRL_API int brl_model_tree_info(const brl_model *m, int tree,
                                brl_tree_info *out);
/* Leaf of tree t that sample x (n_features floats; x_cat: n_cat_features
 * codes, NULL if none) falls in. */
BRL_API int brl_model_tree_leaf(const brl_model *m, int tree, const float *x,
                                const int32_t *x_cat, int *leaf);
/* Value of leaf `leaf` of tree t for output column k, and the number of
 * training samples that reached the leaf (its cover). */
BRL_API int brl_model_leaf_value(const brl_model *m, int tree, int leaf, int k,
                                 float *value, float *cover);

/* ------------------------------------------------------------------ files */

/* A model file is one chunked container: magic "BRL1", format version,
 * chunks (tag, length, payload), little-endian, CRC-32 checksum. Loading
 * checks every count and index; a truncated or corrupt file is rejected
 * with BRL_EFORMAT and a message. */
BRL_API int brl_model_save(const brl_model *m, const char *path);
BRL_API int brl_model_load(const char *path, brl_model **out);
/* Serializes into a malloc'd buffer (free with brl_free). */
BRL_API int brl_model_save_buffer(const brl_model *m, void **buf, size_t *len);
BRL_API int brl_model_load_buffer(const void *buf, size_t len, brl_model **out);
BRL_API void brl_free(void *p);

/* --------------------------------------------------------------- backends */

typedef enum brl_backend_kind {
  BRL_BACKEND_CPU = 0,
  BRL_BACKEND_CUDA = 1
} brl_backend_kind;

/* 1 if the backend is compiled in and usable on this machine. */
BRL_API int brl_backend_available(brl_backend_kind kind);
/* Selects the backend that grows this model's trees. */
BRL_API int brl_model_set_backend(brl_model *m, brl_backend_kind kind);
/* The backend a model is on. */
BRL_API brl_backend_kind brl_model_backend(const brl_model *m);
/* CUDA device memory for brl_model_predict_device: *out = bytes of device
 * memory (NULL for 0 bytes), freed with brl_device_free (NULL is a no-op).
 * brl_device_copy copies bytes between host and device memory in any
 * direction (cudaMemcpyDefault) and returns when done. Without a usable
 * CUDA device: BRL_EUNSUPPORTED saying why. */
BRL_API int brl_device_alloc(size_t bytes, void **out);
BRL_API int brl_device_free(void *p);
BRL_API int brl_device_copy(void *dst, const void *src, size_t bytes);

/* ---------------------------------------------------- explain and export */

/* SHAP values: exact path-dependent TreeSHAP (Lundberg et al. 2018,
 * Algorithm 2) of the whole ensemble, per output column, in output units
 * (learning rates are in the leaves). Samples are routed as prediction
 * routes them (missing values, categorical codes); where a feature is left
 * out, a node's expectation weighs its children by their training covers;
 * greedy pass-through nodes are no split. out: n_rows x (F + 1) x K floats,
 * F = n_features + n_cat_features: out[(i * (F + 1) + j) * K + k] is the
 * contribution of feature j to output k of row i, and j = F holds the
 * expected value, so each row's F + 1 values add up to its prediction.
 * X_cat may be NULL when the model has no categorical features. Adam
 * ensembles (not a sum of trees) are refused with BRL_EUNSUPPORTED. */
BRL_API int brl_model_shap(const brl_model *m, const float *X,
                           const int32_t *X_cat, int64_t n_rows, float *out);
/* The expected value (K floats): bias + sum over trees of the cover-weighted
 * mean leaf value (a tree whose covers are all zero weighs its leaves
 * equally). */
BRL_API int brl_model_expected_value(const brl_model *m, float *out);

/* JSON dump of every field of the model (schema: docs/MODEL_JSON.md), with
 * floats as the shortest decimals that read back to the same bits: loading
 * it gives an identical model (same file bytes, same predictions). *out is
 * NUL-terminated and malloc'd (free with brl_free). Categories that are not
 * valid UTF-8 are refused (BRL_EUNSUPPORTED). */
BRL_API int brl_model_dump_json(const brl_model *m, char **out, size_t *len);
/* Strict parser: malformed JSON, unknown or duplicate members, wrong types
 * and invalid values give BRL_EFORMAT with the line, column and member. */
BRL_API int brl_model_load_json(const char *json, size_t len, brl_model **out);
BRL_API int brl_model_save_json(const brl_model *m, const char *path);
BRL_API int brl_model_load_json_file(const char *path, brl_model **out);
/* Graphviz DOT and a readable text print of trees [start, stop) (stop < 0:
 * all). feature_names: NULL or n_features + n_cat_features names (a NULL
 * entry uses the default x[j] / cat[j]). Categorical splits show the
 * dictionary's string when there is one. Pass-through nodes are left out.
 * *out as for brl_model_dump_json. */
BRL_API int brl_model_dump_dot(const brl_model *m, int start, int stop,
                               const char *const *feature_names, char **out,
                               size_t *len);
BRL_API int brl_model_dump_text(const brl_model *m, int start, int stop,
                                const char *const *feature_names, char **out,
                                size_t *len);

/* Export to dependency-free C: NAME.h and NAME.c, C99, no allocation, no
 * writable globals, nothing beyond <stdint.h> (and <math.h> only for
 * infinite thresholds), with
 *   void NAME_predict(const float *x, const int32_t *x_cat, float *out);
 * (x: n_features floats, NaN = missing; x_cat: n_cat_features codes as
 * brl_model_cat_encode gives them, negative = missing, may be NULL when the
 * model has none; out: n_outputs floats) and, with an action:
 *   int NAME_act_discrete(const float *x, const int32_t *x_cat);
 *       (argmax of the logits, the first on ties)
 *   void NAME_act(const float *x, const int32_t *x_cat, float *action);
 *       (discrete: the argmax as a float; continuous: the mean outputs
 *       clipped to the bounds)
 * Variants: float32 adds the same floats in the same order as the library
 * (identical outputs); int32 and int16 rank each input once among its
 * feature's sorted split thresholds, so every split compares integer ranks
 * (the same branches as float32), and store leaves as fixed-point integers
 * (per-output scales) summed in an int32 accumulator, for smaller tables.
 * The header reports the table (flash) and stack (RAM) bytes. */
typedef enum brl_export_variant {
  BRL_EXPORT_FLOAT32 = 0,
  BRL_EXPORT_INT32 = 1,
  BRL_EXPORT_INT16 = 2
} brl_export_variant;

typedef enum brl_export_action {
  BRL_EXPORT_ACTION_NONE = 0,      /* NAME_predict only */
  BRL_EXPORT_ACTION_DISCRETE = 1,  /* logits: argmax */
  BRL_EXPORT_ACTION_CONTINUOUS = 2 /* Gaussian mean, clipped */
} brl_export_action;

typedef struct brl_export_options {
  size_t struct_size; /* sizeof(brl_export_options): set by _default */
  /* C identifier: prefix of every symbol and the file names (default
   * "brl_model"). */
  const char *name;
  brl_export_variant variant; /* default BRL_EXPORT_FLOAT32 */
  /* Frozen observation normalisation baked into the code (NULL: none):
   * x' = (x - obs_mean) / obs_std in float32 on the numeric features, then
   * clipped to [-obs_clip, obs_clip] when obs_clip > 0; the model sees x'.
   * obs_std must be > 0. */
  const float *obs_mean, *obs_std;
  float obs_clip;
  brl_export_action action; /* default BRL_EXPORT_ACTION_NONE */
  /* The action's output columns: the first one (default 0) and how many
   * (discrete: the number of actions; continuous: the vector length). */
  int action_offset, action_dim;
  /* Continuous: per-dimension bounds (NULL or infinite: no clipping). */
  const float *action_low, *action_high;
} brl_export_options;

/* What the generated code needs (also written in the header's comment). */
typedef struct brl_export_info {
  size_t table_bytes; /* constant tables (flash) */
  size_t stack_bytes; /* estimated stack of one NAME_act call (RAM) */
  int has_math;       /* 1 if NAME.c includes <math.h> */
} brl_export_info;

BRL_API void brl_export_options_default_sized(brl_export_options *o,
                                              size_t struct_size);
static inline void brl_export_options_default(brl_export_options *o) {
  brl_export_options_default_sized(o, sizeof *o);
}
/* Writes dir/NAME.h and dir/NAME.c (dir must exist). info may be NULL.
 * Adam ensembles are refused with BRL_EUNSUPPORTED. */
BRL_API int brl_model_export_c(const brl_model *m, const brl_export_options *o,
                               const char *dir, brl_export_info *info);
/* The same texts in malloc'd NUL-terminated buffers (free with brl_free). */
BRL_API int brl_model_export_c_buffer(const brl_model *m,
                                      const brl_export_options *o,
                                      char **header, size_t *header_len,
                                      char **source, size_t *source_len,
                                      brl_export_info *info);

/* ----------------------------------------------------------- environments */

/* Native environments with Gymnasium's dynamics, vectorized over n_envs
 * copies with automatic reset in the same step (stable-baselines3's
 * convention): when an episode ends, `obs` holds the first observation of the
 * next episode and `final_obs` the last observation of the ended one. */
typedef struct brl_env brl_env;

typedef enum brl_space_kind {
  BRL_SPACE_DISCRETE = 0, /* one integer action in [0, n) */
  BRL_SPACE_BOX = 1,      /* a vector of floats in [low, high] */
  BRL_SPACE_MULTI_DISCRETE = 2
} brl_space_kind;

#define BRL_MAX_ACTION_DIM 16

typedef struct brl_env_spec {
  const char *id; /* e.g. "CartPole-v1" */
  int obs_dim;    /* observation floats */
  brl_space_kind action_kind;
  int action_dim;        /* 1 for discrete, vector length for box */
  int n_actions;         /* discrete: number of actions */
  int max_episode_steps; /* time limit (truncation) */
  float action_low[BRL_MAX_ACTION_DIM];
  float action_high[BRL_MAX_ACTION_DIM];
} brl_env_spec;

/* Ids of the native environments, NULL-terminated. */
BRL_API const char *const *brl_env_ids(void);
BRL_API int brl_env_make(const char *id, int n_envs, uint64_t seed,
                         brl_env **out);
/* Copies [first, first + n_envs) of the env brl_env_make(id, N, seed) makes
 * for any N >= first + n_envs: every copy draws from the generator of its
 * global index, so ranks that each make their share (brl_env_share) step
 * exactly the copies of one env. */
BRL_API int brl_env_make_range(const char *id, int first, int n_envs,
                               uint64_t seed, brl_env **out);
/* The share of n environments that rank `rank` of `size` steps: copies
 * [*first, *first + *count), contiguous and balanced (the first n % size
 * ranks take one more). BRL_EINVAL unless 0 <= rank < size <= n. */
BRL_API int brl_env_share(int n, int rank, int size, int *first, int *count);
BRL_API void brl_env_free(brl_env **e);
BRL_API int brl_env_get_spec(const brl_env *e, brl_env_spec *out);
BRL_API int brl_env_n_envs(const brl_env *e);
/* Resets every copy; obs is n_envs x obs_dim. */
BRL_API int brl_env_reset(brl_env *e, float *obs);
/* actions: n_envs x action_dim floats (a discrete action is its index as a
 * float). Writes obs (n_envs x obs_dim), rewards, terminated, truncated (one
 * per env) and final_obs (n_envs x obs_dim; only rows of ended episodes are
 * written; may be NULL). Box actions are clipped to the box.
 * As Gymnasium's TimeLimit, truncated is 1 on the step that reaches
 * max_episode_steps even when the episode also terminates on it (both are
 * then 1; terminated takes precedence, as in the agents). Rewards are
 * computed in double and rounded to float (Gymnasium returns the double:
 * MountainCarContinuous's 99.9 reads 99.9000015 here). */
BRL_API int brl_env_step(brl_env *e, const float *actions, float *obs,
                         float *rewards, uint8_t *terminated,
                         uint8_t *truncated, float *final_obs);
/* The episodes in progress (state, time step and generator of every copy)
 * as a container buffer (free with brl_free), and back into an env of the
 * same id and n_envs (checked; BRL_EFORMAT for a corrupt buffer). With
 * brl_env_observe, which writes the current observation of every copy,
 * a restored env continues exactly where the saved one was. */
BRL_API int brl_env_save_buffer(const brl_env *e, void **buf, size_t *len);
BRL_API int brl_env_load_buffer(brl_env *e, const void *buf, size_t len);
/* Collective over c: the env buffer (as brl_env_save_buffer) of the copies
 * of every rank's env e in rank order, on every rank; an env stepped as
 * shares of one env so saves the whole env. */
BRL_API int brl_env_save_buffer_comm(const brl_env *e, brl_comm *c, void **buf,
                                     size_t *len);
/* Loads copies [first, first + brl_env_n_envs(e)) of an env buffer of at
 * least that many copies (saved by any number of ranks) into e. */
BRL_API int brl_env_load_buffer_range(brl_env *e, const void *buf, size_t len,
                                      int first);
/* The same through a file (BRL_EIO naming the path on failure). */
BRL_API int brl_env_save(const brl_env *e, const char *path);
BRL_API int brl_env_load(brl_env *e, const char *path);
BRL_API int brl_env_observe(const brl_env *e, float *obs);

/* ----------------------------------------------------------------- agents */

/* Reinforcement-learning agents on the trees: PPO and A2C (DESIGN §2) with
 * the policy and the value function grown as boosted ensembles, one tree per
 * gradient step. The loss gradients with respect to the trees' outputs are
 * analytic and per sample; each update quantizes the rollout once and keeps
 * the ensembles' predictions over it in the batch cache.
 * AWR and DQN (off-policy) run the same loop: a rollout is train_freq steps,
 * brl_agent_update() appends it to a replay buffer and trains on the
 * buffer, whose predictions are cached and updated tree by tree (DQN's
 * target network is a prefix of its ensemble). They take no action masks.
 *
 * The loop (brl_agent_learn() runs it against a brl_env):
 *
 *   brl_agent_config c; brl_agent_config_preset(&c, "CartPole-v1",
 *                                                BRL_ALGO_PPO, NULL);
 *   brl_agent_config_set(&c, "n_envs", "16");        // overrides
 *   brl_agent_create(&c, obs_dim, &space, seed, &a);
 *   for (;;) {
 *     brl_agent_collect(a, obs, NULL, actions, NULL, NULL);
 *     env step -> obs, rewards, terminated, truncated, final_obs
 *     brl_agent_observe(a, rewards, terminated, truncated, final_obs);
 *     if (brl_agent_rollout_full(a)) brl_agent_update(a, obs);
 *   }
 */

typedef enum brl_algo {
  BRL_ALGO_PPO = 0, /* clipped surrogate, n_epochs x minibatches trees */
  BRL_ALGO_A2C = 1, /* one tree per rollout */
  /* Off-policy, on a replay buffer (every train_freq steps, gradient_steps
   * trees per ensemble from random minibatches of batch_size): */
  BRL_ALGO_AWR = 2, /* advantage-weighted regression, any action space */
  BRL_ALGO_DQN = 3  /* Q-values on the trees, discrete actions */
} brl_algo;

/* Where an agent's ensembles grow and predict (config key `device`):
 * "cpu" (default), "cuda" (brl_agent_create fails with BRL_EUNSUPPORTED
 * when the CUDA backend is unavailable) or "auto" (cuda when
 * brl_backend_available(BRL_BACKEND_CUDA), else cpu). Results do not depend
 * on it beyond leaf-value rounding (docs/CUDA.md). */
typedef enum brl_device {
  BRL_DEVICE_CPU = 0,
  BRL_DEVICE_CUDA = 1,
  BRL_DEVICE_AUTO = 2
} brl_device;

typedef enum brl_log_std_mode {
  BRL_LOG_STD_PARAM = 0, /* one state-independent vector, learned by Adam */
  BRL_LOG_STD_TREE = 1   /* tree outputs: an output group of the policy */
} brl_log_std_mode;

/* Hyper-parameters, with stable-baselines3's names. Fill with
 * brl_agent_config_default() or brl_agent_config_preset(), change fields
 * directly or by name with brl_agent_config_set() (what the command's --set
 * and JSON config files use). brl_agent_config_check() validates. A learning
 * rate `x_lr` with `x_lr_end` > 0 decays linearly from x_lr to x_lr_end over
 * training progress (timesteps / total timesteps); x_lr_end = 0 keeps it
 * constant. */
typedef struct brl_agent_config {
  size_t struct_size; /* sizeof(brl_agent_config): set by _default/_preset */
  brl_algo algo;
  int64_t n_timesteps; /* default training length in env steps */
  int n_envs;          /* environment copies stepped together */
  int n_steps;         /* steps per env per rollout */
  int batch_size;      /* PPO minibatch size (one tree per minibatch) */
  int n_epochs;        /* PPO passes over each rollout */
  double gamma, gae_lambda;
  double clip_range;    /* PPO surrogate clip */
  double clip_range_vf; /* PPO value clip (SB3's form); <= 0: none */
  double ent_coef, vf_coef;
  /* Per-sample gradient-norm clipping of the policy outputs' gradient and of
   * the value gradient; <= 0: none. */
  double max_policy_grad_norm, max_value_grad_norm;
  double target_kl;        /* PPO early stop at 1.5 * target_kl; <= 0 none */
  int normalize_advantage; /* per minibatch (PPO) / per rollout (A2C) */
  double policy_lr, policy_lr_end;
  double value_lr, value_lr_end;
  /* Gaussian policies (Box actions): */
  brl_log_std_mode log_std_mode;
  double log_std_init;
  double log_std_lr, log_std_lr_end; /* Adam (PARAM) or tree group (TREE) */
  double log_std_min, log_std_max;   /* clamp of log_std */
  /* 1 (default): one ensemble with policy and value output groups;
   * 0: separate actor and critic ensembles. */
  int shared_tree;
  double value_split_weight; /* shared tree: weight of the value column in
                                split scores */
  int normalize_reward;      /* VecNormalize-style reward scaling */
  double clip_reward;        /* scaled rewards clipped to +-clip_reward */
  /* Trees (brl_params): */
  int max_depth, n_bins, min_data_in_leaf;
  brl_grow_policy grow_policy;
  brl_split_score split_score;
  brl_bin_method bin_method;
  int n_threads; /* 1 (default; RL minibatches are small), 0: all cores */
  /* Online compression (brl_agent_compress on the rollout's observations):
   * after every compress_every-th update, an ensemble with more than its
   * share of compress_to trees is replaced by a distilled one of that many
   * trees, from which learning continues. With tree_budget > 0 the
   * ensembles are distilled into compress_to trees before any update that
   * could take them past tree_budget trees in all, so they never exceed
   * it (compress_to plus the trees one update can add must fit in it).
   * 0 (default): off. */
  int compress_every, compress_to, tree_budget;
  /* Off-policy algorithms (AWR, DQN), stable-baselines3's names. A rollout
   * is train_freq steps of the n_envs copies (n_steps is not used); it goes
   * into a replay buffer of buffer_size transitions; once learning_starts
   * env steps are collected, each rollout trains gradient_steps trees per
   * ensemble on random minibatches of batch_size transitions. Predictions
   * over the buffer are cached and updated tree by tree. */
  int buffer_size, learning_starts, train_freq, gradient_steps;
  /* AWR: weights min(exp(A / beta), weights_max) of the log-likelihood,
   * advantages GAE(gae_lambda) over the buffer (normalised when
   * normalize_advantage); the value regresses on the returns. */
  double beta, weights_max;
  /* DQN: the Q trees learn at policy_lr; the target network is the prefix
   * [0, n_target) of the ensemble, n_target = the tree count at its last
   * multiple of target_update_interval; Huber loss on 1-step targets;
   * epsilon goes linearly from exploration_initial_eps to
   * exploration_final_eps over the first exploration_fraction of training. */
  int target_update_interval;
  double exploration_fraction, exploration_initial_eps, exploration_final_eps;
  /* Categorical observations (default 0): the last n_cat_obs columns of
   * every observation are categorical codes (integral floats below 2^24 in
   * magnitude; negative or NaN: missing). The agent's models get
   * obs_dim - n_cat_obs numeric and n_cat_obs categorical features
   * (feature index obs_dim - n_cat_obs + j is categorical column j). */
  int n_cat_obs;
  /* Device of the ensembles (brl_device; default BRL_DEVICE_CPU). Not part
   * of the model files: an agent file records it in its configuration, and
   * loading one that asks for cuda where CUDA is unavailable gives a cpu
   * agent (brl_agent_set_device then says why cuda cannot be used). */
  brl_device device;
} brl_agent_config;

/* The library's defaults for an algorithm (no environment preset). */
BRL_API void brl_agent_config_default_sized(brl_agent_config *c,
                                            size_t struct_size, brl_algo algo);
static inline void brl_agent_config_default(brl_agent_config *c,
                                            brl_algo algo) {
  brl_agent_config_default_sized(c, sizeof *c, algo);
}
/* Defaults for algo, then the preset of env_id (the one table of presets in
 * the library, from the published GBRL settings). *found (may be NULL) is 1
 * when a preset exists for (env_id, algo), else 0 and c holds the defaults.
 * env_id may be NULL (defaults only). */
BRL_API int brl_agent_config_preset_sized(brl_agent_config *c,
                                          size_t struct_size,
                                          const char *env_id, brl_algo algo,
                                          int *found);
static inline int brl_agent_config_preset(brl_agent_config *c,
                                          const char *env_id, brl_algo algo,
                                          int *found) {
  return brl_agent_config_preset_sized(c, sizeof *c, env_id, algo, found);
}
/* One row of the preset table, as data (`boostrl presets` prints them). */
typedef struct brl_agent_preset {
  const char *env; /* env id pattern; '*' matches any run of characters */
  brl_algo algo;
  /* "key=value key=value ...": brl_agent_config_set() keys and values,
   * applied in order over brl_agent_config_default(algo). */
  const char *settings;
} brl_agent_preset;
/* Rows in the table. */
BRL_API int brl_agent_preset_count(void);
/* Row i (0 <= i < brl_agent_preset_count()) into *out; the strings are
 * static. BRL_EINVAL when i is out of range. */
BRL_API int brl_agent_preset_get(int i, brl_agent_preset *out);
/* The row that brl_agent_config_preset() applies for (env_id, algo): the
 * first of that algo whose pattern matches env_id; -1 when none does. */
BRL_API int brl_agent_preset_find(const char *env_id, brl_algo algo);
/* Sets one hyper-parameter by name from text: numbers, "true"/"false" (or
 * 1/0) for flags, names for enums ("ppo", "oblivious", "cosine", ...).
 * BRL_EINVAL names the key and the accepted values when the key is unknown
 * or the value does not parse or is out of range. */
BRL_API int brl_agent_config_set(brl_agent_config *c, const char *key,
                                 const char *value);
/* Writes the value of a key as text (the form _set reads back exactly).
 * Both use '.' as the decimal point whatever locale the host set, as does
 * every number the library reads or writes as text (agent files, JSON,
 * prints, exported C, error messages); see docs/RELIABILITY.md. */
BRL_API int brl_agent_config_get(const brl_agent_config *c, const char *key,
                                 char *buf, size_t size);
/* Names of every key, NULL-terminated, and a one-line description of one
 * (NULL for an unknown key). */
BRL_API const char *const *brl_agent_config_keys(void);
BRL_API const char *brl_agent_config_key_help(const char *key);
/* BRL_OK, or BRL_EINVAL naming the first invalid field and what to change. */
BRL_API int brl_agent_config_check(const brl_agent_config *c);
/* "ppo" / "a2c" / "awr" / "dqn"; brl_algo_parse returns BRL_EINVAL for
 * other names. */
BRL_API const char *brl_algo_name(brl_algo algo);
BRL_API int brl_algo_parse(const char *name, brl_algo *out);

/* ------------------------------------------------------- settings (JSON) */

/* A settings object: an ordered list of "key": value pairs read from or
 * written as one flat JSON object, as in a run's config.json or a
 * `boostrl train --config` file. Values are text, as brl_agent_config_set
 * takes them: a string value decoded, a number as it is written ("2.5e-3"),
 * true, false and null as those words. The library's one strict JSON reader
 * parses it (RFC 8259; nested objects and arrays, duplicate keys, NUL
 * characters and texts over 16 MiB are refused); errors are BRL_EFORMAT
 * with "line L, column C: expected ..." or the key at fault. */
typedef struct brl_kv brl_kv;
/* An empty object. */
BRL_API int brl_kv_create(brl_kv **out);
BRL_API int brl_kv_parse_json(const char *text, size_t len, brl_kv **out);
/* Reads and parses a file (BRL_EIO naming it when it cannot be read). */
BRL_API int brl_kv_load_json(const char *path, brl_kv **out);
BRL_API void brl_kv_free(brl_kv **kv);
BRL_API int brl_kv_count(const brl_kv *kv);
/* Key and value text of pair i (0 <= i < count; NULL out of range), valid
 * until the pair is changed or kv freed. is_string: 1 when the value is a
 * JSON string. */
BRL_API const char *brl_kv_key(const brl_kv *kv, int i);
BRL_API const char *brl_kv_value(const brl_kv *kv, int i);
BRL_API int brl_kv_is_string(const brl_kv *kv, int i);
/* Value text of key, or NULL when kv has no such key. */
BRL_API const char *brl_kv_get(const brl_kv *kv, const char *key);
/* How brl_kv_set writes a value. */
typedef enum brl_kv_kind {
  BRL_KV_STRING = 0,  /* a JSON string */
  BRL_KV_LITERAL = 1, /* a JSON number, true, false or null (else EINVAL) */
  BRL_KV_AUTO = 2     /* a literal when the value is one, else a string */
} brl_kv_kind;
/* Sets key (replacing its value in place, else appending). Key and a
 * string value must be valid UTF-8 (BRL_EINVAL). */
BRL_API int brl_kv_set(brl_kv *kv, const char *key, const char *value,
                       brl_kv_kind kind);
/* The object as JSON text, one pair per line:
 *   {\n  "key": value,\n  ...\n}\n
 * *out NUL-terminated, malloc'd (free with brl_free). */
BRL_API int brl_kv_dump_json(const brl_kv *kv, char **out, size_t *len);
BRL_API int brl_kv_save_json(const brl_kv *kv, const char *path);

/* The action space of an agent. */
typedef struct brl_action_space {
  size_t struct_size; /* sizeof(brl_action_space): set by _default */
  brl_space_kind kind;
  /* DISCRETE: 1; MULTI_DISCRETE: number of sub-actions; BOX: vector length
   * (1..BRL_MAX_ACTION_DIM). */
  int dim;
  int nvec[BRL_MAX_ACTION_DIM];  /* (multi-)discrete: actions of each */
  float low[BRL_MAX_ACTION_DIM]; /* box bounds (may be +-inf) */
  float high[BRL_MAX_ACTION_DIM];
} brl_action_space;

/* An empty space (struct_size set, every other field 0) to fill. */
BRL_API void brl_action_space_default_sized(brl_action_space *s,
                                            size_t struct_size);
static inline void brl_action_space_default(brl_action_space *s) {
  brl_action_space_default_sized(s, sizeof *s);
}
/* The action space of a native environment. */
BRL_API int brl_action_space_from_env_sized(const brl_env_spec *spec,
                                            brl_action_space *out,
                                            size_t struct_size);
static inline int brl_action_space_from_env(const brl_env_spec *spec,
                                            brl_action_space *out) {
  return brl_action_space_from_env_sized(spec, out, sizeof *out);
}

/* Statistics of one update, passed to the callback after every update. */
typedef struct brl_agent_stats {
  brl_algo algo;
  int64_t timesteps; /* env steps collected so far (all copies) */
  int64_t episodes;  /* episodes finished so far */
  int64_t updates;   /* rollouts trained on */
  double progress;   /* timesteps / total timesteps, in [0, 1] */
  /* Raw (unscaled) returns and lengths of the last <= 100 finished episodes;
   * NaN while none has finished. */
  int ep_window;
  double ep_return_mean, ep_return_std, ep_length_mean;
  /* Means over the samples of this update's minibatches (DQN:
   * policy_loss is the Huber loss, value_loss the mean Q(s, a); AWR and
   * DQN leave approx_kl, clip_fraction and explained_variance at 0 / NaN;
   * both report 0 trees and losses until learning_starts): */
  double policy_loss, value_loss, entropy, approx_kl, clip_fraction;
  double explained_variance;     /* of the rollout's values vs its returns */
  double log_std_mean;           /* Gaussian: mean log_std (NaN otherwise) */
  int epochs_done;               /* PPO: < n_epochs after a target-KL stop */
  int trees_added;               /* trees grown by this update (all models) */
  int policy_trees, value_trees; /* trees in each ensemble (shared: equal) */
  double policy_lr, value_lr;    /* rates used by this update */
  double rollout_s, update_s;    /* wall seconds collecting / in the update */
  double fps;                    /* env steps per second over both */
} brl_agent_stats;

/* Called after every update (and by brl_agent_learn); return nonzero to ask
 * brl_agent_learn to stop after this rollout. */
typedef int (*brl_agent_callback)(const brl_agent_stats *stats, void *user);

typedef struct brl_agent brl_agent;

/* Creates an agent for observations of obs_dim floats and the action space.
 * The seed fixes every random choice of the agent (action sampling,
 * minibatch order), whatever the thread count. */
BRL_API int brl_agent_create(const brl_agent_config *c, int obs_dim,
                             const brl_action_space *space, uint64_t seed,
                             brl_agent **out);
BRL_API void brl_agent_free(brl_agent **a);
BRL_API int brl_agent_get_config_sized(const brl_agent *a,
                                       brl_agent_config *out,
                                       size_t struct_size);
static inline int brl_agent_get_config(const brl_agent *a,
                                       brl_agent_config *out) {
  return brl_agent_get_config_sized(a, out, sizeof *out);
}
BRL_API int brl_agent_get_action_space_sized(const brl_agent *a,
                                             brl_action_space *out,
                                             size_t struct_size);
static inline int brl_agent_get_action_space(const brl_agent *a,
                                             brl_action_space *out) {
  return brl_agent_get_action_space_sized(a, out, sizeof *out);
}
BRL_API int brl_agent_obs_dim(const brl_agent *a);
/* Logits per observation in an action mask (discrete kinds), else 0. */
BRL_API int brl_agent_mask_dim(const brl_agent *a);
BRL_API int brl_agent_set_callback(brl_agent *a, brl_agent_callback cb,
                                   void *user);
/* Threads for tree growth and prediction (0: all cores). Not part of the
 * results: any count gives the same agent. */
BRL_API int brl_agent_set_threads(brl_agent *a, int n_threads);
/* Moves every ensemble of the agent to a device: "cpu", "cuda" or "auto"
 * (as the config key `device`; NULL means "cpu"). BRL_EINVAL names an
 * unknown device; BRL_EUNSUPPORTED says why cuda is unavailable (the agent
 * is unchanged). Sets the configuration's device as well. */
BRL_API int brl_agent_set_device(brl_agent *a, const char *device);
/* The device the agent's ensembles are on: "cpu" or "cuda" ("auto"
 * resolved); "" for NULL. */
BRL_API const char *brl_agent_device(const brl_agent *a);
/* Total timesteps of the run, for learning-rate schedules (progress =
 * timesteps / total). brl_agent_learn sets it; default n_timesteps. */
BRL_API int brl_agent_set_total_timesteps(brl_agent *a, int64_t total);

/* (DQN: the "distribution" is a softmax of the Q-values for log_probs;
 * values are max_a Q; a non-deterministic action is epsilon-greedy with the
 * current exploration rate.)
 * Inference for n observations (n x obs_dim), outside any rollout: actions
 * (n x dim floats; a discrete action is its index as a float; box actions
 * clipped to the box), and optionally log-probabilities of the returned
 * (unclipped) actions and values (n floats each; may be NULL). masks: NULL or
 * n x brl_agent_mask_dim() bytes, nonzero = allowed. deterministic: the most
 * likely action (argmax / mean), else a sample from the agent's generator. */
BRL_API int brl_agent_act(brl_agent *a, const float *obs, int64_t n,
                          const uint8_t *masks, int deterministic,
                          float *actions, float *log_probs, float *values);
/* SHAP values (brl_model_shap) of the policy ensemble (the shared one, or
 * DQN's Q ensemble) over n observations (n x obs_dim), read exactly as
 * brl_agent_act reads them: infinities give BRL_ENUMERIC and categorical
 * columns that are not integers of magnitude at most 2^24 give BRL_EINVAL
 * (the same messages); then they are split into numeric features and
 * categorical codes. out: n x (obs_dim + 1) x K floats, K the ensemble's
 * outputs (brl_model_n_outputs(brl_agent_model(a, 0))); index obs_dim
 * holds the expected value. */
BRL_API int brl_agent_shap(brl_agent *a, const float *obs, int64_t n,
                           float *out);
/* One training step of the n_envs environments: samples actions for obs
 * (n_envs x obs_dim) and records obs, actions, log-probabilities, values and
 * masks in the rollout. Call brl_agent_observe() next. */
BRL_API int brl_agent_collect(brl_agent *a, const float *obs,
                              const uint8_t *masks, float *actions,
                              float *log_probs, float *values);
/* The outcome of the step recorded by brl_agent_collect(): rewards,
 * terminated, truncated (n_envs each) and final_obs (n_envs x obs_dim; only
 * rows of ended episodes are read; may be NULL when no episode was
 * truncated). Truncated episodes bootstrap from V(final observation). */
BRL_API int brl_agent_observe(brl_agent *a, const float *rewards,
                              const uint8_t *terminated,
                              const uint8_t *truncated, const float *final_obs);
/* brl_agent_observe with a per-env valid mask (n_envs bytes; NULL or all
 * nonzero: the same as brl_agent_observe, bit for bit). valid[e] = 0 says
 * that env e's step was no transition, for example the step in which a
 * vector env with next-step autoreset (Gymnasium's default) only resets
 * the env after the episode ended at the step before: its action was
 * ignored. Such a row's reward, terminated, truncated and final_obs are not
 * read; it carries no gradient and takes no part in an update (PPO and A2C
 * train on the rollout's valid rows only: batches, minibatches, advantage
 * normalisation, statistics; AWR and DQN never sample it from the replay
 * buffer), it ends the GAE chain of the row before it like the end of a
 * rollout (that row, unless it ended its episode, bootstraps from the value
 * of the observation it led to), it adds no step to an episode and ends
 * none, and the reward scaler leaves it out. It is an env step all the
 * same: timesteps (the training budget, the progress of schedules) count
 * it, as the caller counts its env steps. */
BRL_API int brl_agent_observe_valid(brl_agent *a, const float *rewards,
                                    const uint8_t *terminated,
                                    const uint8_t *truncated,
                                    const float *final_obs,
                                    const uint8_t *valid);
/* 1 when the rollout holds n_steps steps and brl_agent_update() is due. */
BRL_API int brl_agent_rollout_full(const brl_agent *a);
/* Trains on the full rollout (last_obs: the n_envs observations after its
 * last step, for bootstrapping), calls the callback, empties the rollout.
 * On failure (BRL_ENOMEM) the ensembles and the training state are as they
 * were and the rollout is dropped: collect a new one. */
BRL_API int brl_agent_update(brl_agent *a, const float *last_obs);
/* Tells the agent every environment was reset: forgets running episode
 * returns (statistics and reward scaling). */
BRL_API int brl_agent_reset_episodes(brl_agent *a);
BRL_API int brl_agent_get_stats(const brl_agent *a, brl_agent_stats *out);
/* The ensembles: which 0 = policy (or the shared model), 1 = value (the
 * same pointer when shared). Valid until the agent changes or is freed. */
BRL_API const brl_model *brl_agent_model(const brl_agent *a, int which);

/* An agent file is one container (as model files) with the algorithm,
 * spaces, configuration, log_std and its Adam state, reward scaler, random
 * generator, counters, running episodes and the ensembles (AWR / DQN: and
 * the replay buffer with its prediction caches), so training resumes
 * exactly. Saving in the middle of a rollout drops the partial rollout. */
BRL_API int brl_agent_save(const brl_agent *a, const char *path);
BRL_API int brl_agent_load(const char *path, brl_agent **out);
BRL_API int brl_agent_save_buffer(const brl_agent *a, void **buf, size_t *len);
BRL_API int brl_agent_load_buffer(const void *buf, size_t len, brl_agent **out);

/* Trains against env (its n_envs copies must equal the config's n_envs and
 * its spaces the agent's) until the agent has collected total_timesteps env
 * steps in all (so a loaded agent continues to the same total; progress of
 * learning-rate schedules is timesteps / total_timesteps), in whole
 * rollouts. reset_env 1 resets env and starts fresh episodes (needed on the
 * first call); 0 continues from where the previous call on the same env
 * stopped; 2 continues the episodes env holds (one restored with
 * brl_env_load_buffer, so a saved agent and env resume exactly). Stops early,
 * after an update, when the callback returns nonzero. A partial rollout left by
 * the caller is dropped. */
BRL_API int brl_agent_learn(brl_agent *a, brl_env *env, int64_t total_timesteps,
                            int reset_env);

/* Distributed training (docs/SCALING.md): attaches communicator c (NULL
 * detaches) before a rollout starts (else BRL_ESTATE). n_envs stays the
 * global number of environments; rank r steps the contiguous share
 * brl_env_share(n_envs, r, size) of them (BRL_EINVAL when n_envs < size).
 * With c attached:
 * - brl_agent_collect takes this rank's rows (count x obs_dim observations,
 *   masks, and count rows of actions, log_probs, values out) and draws
 *   from the agent's generator exactly what one process acting on all
 *   n_envs rows draws for them; not collective;
 * - brl_agent_observe / _observe_valid take this rank's rows; not
 *   collective (an error of this rank's step, such as a truncation without
 *   final_obs, is returned by the next brl_agent_update on every rank);
 * - brl_agent_update (last_obs: this rank's rows) is collective: every
 *   rank's rows of the rollout are gathered in env order, so every rank
 *   holds the whole rollout (and replay buffer); PPO and A2C then train
 *   each rank on its own rows (prediction caches, losses, gradients),
 *   growing every tree from the minibatch of all ranks (brl_model_step on
 *   sharded batches) and gathering the rows' statistics, while AWR and
 *   DQN train on every rank alike; a callback asking to stop stops every
 *   rank;
 * - brl_agent_learn is collective, env this rank's share of copies (made
 *   with brl_env_make_range; the same total_timesteps on every rank).
 * The ensembles, the training state and so the agent files are the same on
 * every rank and byte-identical to one process with the same n_envs and
 * seed, for any number of ranks. A failure on one rank (an env error, a
 * non-finite reward) makes the collective call return an error on every
 * rank (BRL_ECOMM naming the rank elsewhere); the agents may then differ:
 * continue from a saved agent. brl_agent_act, _evaluate, _save and the
 * other calls stay local. c must outlive the agent or be detached. */
BRL_API int brl_agent_set_comm(brl_agent *a, brl_comm *c);

typedef struct brl_eval_result {
  int episodes;
  double mean_return, std_return; /* raw rewards, population std */
  double mean_length;
  double min_return, max_return;
} brl_eval_result;

/* BRL_OK when env fits the agent: the observation floats (obs_dim) and the
 * action space of the agent's training env. Else BRL_EINVAL naming both
 * shapes. brl_agent_act reads n x obs_dim floats of obs: check an env with
 * this before acting on its observations (learn, evaluate and compress
 * check it themselves). */
BRL_API int brl_agent_check_env(const brl_agent *a, const brl_env *env);

/* Runs the deterministic policy on env (reset first; use seeds distinct from
 * training) for n_episodes episodes, spread over its copies as
 * stable-baselines3's evaluate_policy does (copy i runs
 * (n_episodes + i) / n_envs episodes), so short episodes are not favoured.
 * returns: NULL or n_episodes doubles. Does not touch training state. */
BRL_API int brl_agent_evaluate(brl_agent *a, brl_env *env, int n_episodes,
                               brl_eval_result *out, double *returns);

/* Compression: distils an agent's ensemble(s) into at most `trees` trees
 * in all with brl_model_distill (one new tree per consecutive group of old
 * trees, split at their own thresholds) over observations recorded from
 * the agent's own rollouts on env, then replaces them. The targets are the
 * teacher's outputs: for discrete policies the logits, centred per
 * sub-action (softmax is unchanged by a shift); Gaussian means (and tree
 * log_std) as they are; and the value. With separate actor and critic
 * ensembles the policy gets trees - trees / 2 and the value trees / 2. An
 * ensemble already within its share is kept as it is. Each recorded
 * episode of each env copy follows the teacher's argmax policy or, with
 * probability stochastic_frac, samples from it (a generator seeded by
 * seed, not the agent's). Held-out states come from later episodes after a
 * reset. The agent's training state (generator, counters, rollout) is not
 * touched; its learning rates carry over to the new trees. */
typedef struct brl_compress_params {
  size_t struct_size;     /* sizeof(brl_compress_params): set by _default */
  int trees;              /* budget of trees in all ensembles (>= 1) */
  int64_t steps;          /* env steps recorded for the fit (default 20000) */
  int64_t holdout_steps;  /* env steps recorded for the report (5000) */
  double stochastic_frac; /* episodes that sample (default 0.5) */
  /* Each distilled tree's leaves take lr x the residual it fits (default
   * 1: all of it; brl_model_distill). */
  double lr;
  /* Weight of the value against the policy in the split scores of a shared
   * ensemble (each output group's residuals are divided by the spread of
   * its targets first; default 1). */
  double value_weight;
  /* Trees of the compressed agent: depth (0: the agent's max_depth) and
   * grow policy (-1: the agent's). A new setting is written into the
   * agent's configuration, so training continues with it. */
  int max_depth, grow_policy;
  int eval_episodes; /* returns of teacher and student; 0: skip (100) */
  uint64_t seed;     /* default 0 */
} brl_compress_params;

typedef struct brl_compress_report {
  int trees_before, trees_after; /* in all ensembles */
  int64_t train_rows, holdout_rows;
  /* On the held-out states: the fraction where the compressed agent's
   * deterministic action equals the teacher's (NaN for box actions), the
   * RMS error of the (centred) policy outputs and of the value, and the
   * mean total-variation distance of the action probabilities (discrete;
   * the largest over sub-actions; NaN for box). */
  double agreement, policy_rmse, value_rmse, prob_tv;
  double train_policy_rmse; /* the policy RMS error on the fitted states */
  /* Deterministic returns over eval_episodes (NaN when skipped). */
  brl_eval_result teacher, student;
  double fit_s; /* wall seconds of the distillation fits */
} brl_compress_report;

BRL_API void brl_compress_params_default_sized(brl_compress_params *cp,
                                               size_t struct_size, int trees);
static inline void brl_compress_params_default(brl_compress_params *cp,
                                               int trees) {
  brl_compress_params_default_sized(cp, sizeof *cp, trees);
}
/* Compresses a in place (see above). env: a native env with the agent's
 * spaces (any number of copies); it is reset. out may be NULL. BRL_EINVAL
 * for trees < 1 (< 2 with separate ensembles) or other bad parameters; on
 * error the agent is unchanged. */
BRL_API int brl_agent_compress(brl_agent *a, brl_env *env,
                               const brl_compress_params *cp,
                               brl_compress_report *out);
/* The same over observations the caller recorded (obs: n_rows x obs_dim;
 * holdout: n_holdout rows for the report, may be 0/NULL), for agents whose
 * environment is not a native one. steps, holdout_steps, stochastic_frac,
 * eval_episodes and seed are not used; the returns in the report are
 * NaN. */
BRL_API int brl_agent_compress_obs(brl_agent *a, const float *obs,
                                   int64_t n_rows, const float *holdout,
                                   int64_t n_holdout,
                                   const brl_compress_params *cp,
                                   brl_compress_report *out);

#ifdef __cplusplus
}
#endif
#endif /* BOOSTRL_H */
