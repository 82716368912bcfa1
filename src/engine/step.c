/* One boosting step: checks the input, cleans the gradients, lets the
 * backend grow the tree and brings the batch's prediction cache along. */
#include "backend/backend.h"
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"
#include "engine/pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies the gradients into the workspace. A non-finite one is refused, or
 * with clip_nonfinite: NaN becomes 0 and +-inf +-(the largest finite
 * magnitude of its column in this step, 0 if none), so that it neither
 * sets the fixed-point scale of the batch (the other rows would quantize
 * to zero) nor puts a FLT_MAX-sized value in a leaf. */
static int clean_grads(const brl_model *m, const float *grads, int64_t n,
                       float *out, int64_t *n_bad) {
  const int K = m->n_outputs;
  const int64_t nk = n * K;
  *n_bad = 0;
  for (int64_t i = 0; i < nk; i++) {
    float g = grads[i];
    out[i] = g;
    if (isfinite(g))
      continue;
    if (!m->p.clip_nonfinite)
      return brl__fail(BRL_ENUMERIC,
                       "gradient row %lld, column %d is %g: gradients must be "
                       "finite (or set clip_nonfinite = 1)",
                       (long long)(i / K), (int)(i % K), (double)g);
    (*n_bad)++;
  }
  return BRL_OK;
}

/* The clipping of clean_grads, after it: +-inf becomes +-(the largest
 * finite magnitude of its column over every rank's rows). Collective when
 * the batch has a communicator of several ranks. */
static int clip_grads(const brl_model *m, brl_comm *comm, int64_t n,
                      int64_t n_bad, float *out) {
  const int K = m->n_outputs;
  const int64_t nk = n * K;
  const int multi = brl__comm_multi(comm);
  if (!n_bad && !multi)
    return BRL_OK;
  double col_max[256] = {0}; /* at most 256 output columns */
  for (int64_t i = 0; i < nk; i++)
    if (isfinite(out[i]))
      col_max[i % K] = fmax(col_max[i % K], fabsf(out[i]));
  int rc = brl__reduce_max_f64(comm, col_max, K);
  if (rc)
    return rc;
  for (int64_t i = 0; i < nk; i++)
    if (!isfinite(out[i]))
      out[i] = isnan(out[i]) ? 0.0f
               : out[i] > 0  ? (float)col_max[i % K]
                             : -(float)col_max[i % K];
  return BRL_OK;
}

/* Control variates: g_k -= beta_k (h_k - mean h_k), with h the row's
 * moving average of past leaf values and beta_k the clipped regression
 * coefficient of g_k on h_k over the minibatch. */
static int apply_control_variates(const brl_model *m, brl_batch *b,
                                  const int32_t *rows, int64_t n, float *g) {
  const int K = m->n_outputs;
  if (!b->cv_ema) {
    b->cv_ema = calloc((size_t)b->n * (size_t)K, sizeof(float));
    if (!b->cv_ema)
      return brl__fail(BRL_ENOMEM, "out of memory for control variates");
  }
  for (int k = 0; k < K; k++) {
    double mh = 0, mg = 0, cov = 0, var = 0;
    for (int64_t i = 0; i < n; i++) {
      mh += b->cv_ema[(rows ? rows[i] : i) * K + k];
      mg += g[i * K + k];
    }
    mh /= (double)n;
    mg /= (double)n;
    for (int64_t i = 0; i < n; i++) {
      double h = b->cv_ema[(rows ? rows[i] : i) * K + k] - mh;
      cov += h * (g[i * K + k] - mg);
      var += h * h;
    }
    double beta = var > 0 ? cov / var : 0.0;
    beta = beta > 1.0 ? 1.0 : beta < -1.0 ? -1.0 : beta;
    for (int64_t i = 0; i < n; i++)
      g[i * K + k] =
          (float)(g[i * K + k] -
                  beta * (b->cv_ema[(rows ? rows[i] : i) * K + k] - mh));
  }
  return BRL_OK;
}

/* Moves the rows' averages toward the new tree's leaf values. */
static void update_control_variates(const brl_model *m, brl_batch *b,
                                    const int32_t *rows, int64_t n) {
  const int K = m->n_outputs, t = m->trees.n - 1;
  const brl_trees *T = &m->trees;
  const int nl = 1 << T->depth[t];
  const float *v = T->value + (int64_t)T->leaf_off[t] * K;
  const float a = m->p.cv_decay;
  for (int64_t i = 0; i < n; i++) {
    int64_t r = rows ? rows[i] : i;
    int leaf = brl__tree_leaf(m, t, b->X + r * b->D, b->Xc + r * b->C);
    for (int k = 0; k < K; k++)
      b->cv_ema[r * K + k] =
          a * b->cv_ema[r * K + k] + (1.0f - a) * v[k * nl + leaf];
  }
}

/* Ranks of a communicator a sharded step takes. */
#define MAX_RANKS 64

/* The ranks' bins (and model shapes) are the same: a hash of each,
 * gathered. Collective. */
static int check_bins(const brl_model *m, brl_batch *b) {
  uint64_t h = 1469598103934665603ull;
#define MIX(p, bytes)                                                          \
  for (size_t i_ = 0; i_ < (size_t)(bytes); i_++)                              \
    h = (h ^ ((const unsigned char *)(p))[i_]) * 1099511628211ull;
  MIX(b->nbins, (size_t)b->d * sizeof(int16_t));
  for (int f = 0; f < b->D; f++)
    MIX(b->edges + (size_t)f * 255, (size_t)(b->nbins[f] - 1) * sizeof(float));
  for (int c = 0; c < b->C; c++)
    MIX(b->cat_vals + (size_t)c * 255,
        (size_t)(b->nbins[b->D + c] - 1) * sizeof(int32_t));
  MIX(&m->trees.n, sizeof m->trees.n);
  MIX(&m->p.max_depth, sizeof m->p.max_depth);
#undef MIX
  const int size = brl_comm_size(b->comm);
  int64_t counts[MAX_RANKS], mine = (int64_t)h, all[MAX_RANKS];
  for (int r = 0; r < size; r++)
    counts[r] = sizeof(int64_t);
  int rc = brl_comm_allgatherv(b->comm, &mine, all, counts);
  if (rc)
    return rc;
  for (int r = 1; r < size; r++)
    if (all[r] != all[0])
      return brl__fail(BRL_EINVAL,
                       "brl_model_step: rank %d's batch has other bins (or its "
                       "model other trees) than rank 0's: every rank's batch "
                       "must have the same bin edges (brl_batch_create_edges "
                       "with the same edges, and the same categories kept) and "
                       "the same model",
                       r);
  b->comm_bins_checked = 1;
  return BRL_OK;
}

/* The step's checks and everything that can fail on one rank alone:
 * arguments, gradients, the backend's memory, room for the tree. */
static int step_prepare(brl_model *m, brl_batch *b, const int32_t *rows,
                        int64_t *np, const float *grads, float progress) {
  BRL_CHECK_ARG(grads);
  int rc = brl__batch_check(b, m);
  if (rc)
    return rc;
  if (!rows)
    *np = b->n;
  const int64_t n = *np;
  /* A rank may hold none of a minibatch's rows (a sharded batch). */
  const int64_t least = rows && brl__comm_multi(b->comm) ? 0 : 1;
  if (n < least || n > b->n)
    return brl__fail(BRL_EINVAL,
                     "n is %lld: a step takes %lld to %lld rows of the batch",
                     (long long)n, (long long)least, (long long)b->n);
  for (int64_t i = 0; rows && i < n; i++)
    if (rows[i] < 0 || rows[i] >= b->n)
      return brl__fail(BRL_EINVAL,
                       "rows[%lld] is %d: rows must be in [0, %lld)",
                       (long long)i, rows[i], (long long)b->n);
  if (!isfinite(progress))
    return brl__fail(BRL_EINVAL, "progress is not finite");
  if (m->trees.n >= INT32_MAX - 1)
    return brl__fail(BRL_ESTATE, "the model holds the maximum number of trees");
  if (brl__comm_multi(b->comm)) {
    if (brl_comm_size(b->comm) > MAX_RANKS)
      return brl__fail(BRL_EUNSUPPORTED,
                       "brl_model_step: a communicator of %d ranks; at most "
                       "%d are supported",
                       brl_comm_size(b->comm), MAX_RANKS);
    if (!m->backend->sharded)
      return brl__fail(BRL_EUNSUPPORTED,
                       "brl_model_step: the %s backend grows a whole tree on "
                       "its device without a host step per level, so it "
                       "cannot reduce histograms across ranks; grow sharded "
                       "batches (brl_batch_set_comm) on the CPU backend",
                       m->backend->name);
    if (m->p.control_variates)
      return brl__fail(BRL_EUNSUPPORTED,
                       "brl_model_step: control_variates are per-rank "
                       "statistics and are not supported with a communicator "
                       "of several ranks; set control_variates = 0");
  }
  rc = brl__grad_ws_reserve(b, n, m->n_outputs);
  if (!rc)
    rc = m->backend->prepare(m, b, n);
  if (!rc)
    rc = brl__tree_reserve_max(m);
  return rc;
}

/* Bytes of one minibatch row in a gather: its codes and gradients. */
static int64_t gather_row_bytes(const brl_model *m, const brl_batch *b) {
  return (int64_t)b->d + (int64_t)m->n_outputs * (int64_t)sizeof(float);
}

/* The most minibatch rows (over all ranks) that a step gathers: rows
 * whose codes and gradients take fewer bytes than one node's histogram,
 * which the reduce hook sums at least once per level (and it needs about
 * 9 collectives to the gather's 2). RL minibatches (hundreds of rows)
 * gather; large batches reduce histograms. Every rank computes the same
 * (same bins and model). */
static int64_t gather_cap(const brl_model *m, const brl_batch *b) {
  return b->hslots * (int64_t)(m->n_outputs + 1) * (int64_t)sizeof(int64_t) /
         gather_row_bytes(m, b);
}

/* The gather's batch and buffer for gather_cap rows; a no-op once made. */
static int gather_reserve(const brl_model *m, brl_batch *b) {
  const int64_t cap = gather_cap(m, b);
  int rc = BRL_OK;
  if (b->gather_cap != cap) {
    brl_batch_free(&b->gather);
    free(b->gather_buf);
    b->gather_cap = 0;
    b->gather_buf = malloc((size_t)(2 * cap * gather_row_bytes(m, b)) + 1);
    rc = b->gather_buf ? brl__batch_like(b, cap, &b->gather)
                       : brl__fail(BRL_ENOMEM, "out of memory for a gather");
    if (rc)
      return rc;
    /* The split records of feature-parallel growth (its deepest level). */
    const size_t nodes = (size_t)1 << (BRL_MAX_DEPTH - 1);
    b->gather->fp_rec = malloc(((size_t)brl_comm_size(b->comm) + 1) * nodes *
                               BRL_FP_REC * sizeof(double));
    if (!b->gather->fp_rec)
      return brl__fail(BRL_ENOMEM, "out of memory for a gather");
    b->gather_cap = cap;
  }
  rc = brl__grad_ws_reserve(b->gather, cap, m->n_outputs);
  return rc ? rc : m->backend->prepare(m, b->gather, cap);
}

/* Each rank's status and row count (sizes[2r], sizes[2r + 1]); a failure
 * anywhere is returned on every rank. Collective. */
static int exchange_sizes(brl_comm *c, int rc, int64_t n, int64_t *sizes) {
  const int P = brl_comm_size(c);
  int64_t mine[2] = {rc, n}, counts[MAX_RANKS];
  for (int r = 0; r < P; r++)
    counts[r] = (int64_t)sizeof mine;
  int trc = brl_comm_allgatherv(c, mine, sizes, counts);
  if (trc)
    return trc;
  for (int r = 0; r < P; r++)
    if (sizes[2 * r])
      return brl_comm_agree(c, rc); /* every rank saw it */
  return BRL_OK;
}

/* The step by gathering: every rank's minibatch codes and (cleaned)
 * gradients into b->gather, in rank order; every rank grows the tree on
 * them - the tree one process grows on the same rows, since its sums are
 * exact in any order - building and scoring the histograms of its block
 * of features only (one small exchange a level picks the best split), and
 * adds it to its own cache. */
static int step_gathered(brl_model *m, brl_batch *b, const int32_t *rows,
                         int64_t n, const int64_t *sizes, int64_t total,
                         float progress, int cache_live) {
  const int P = brl_comm_size(b->comm), d = b->d, K = m->n_outputs;
  const int64_t gk = (int64_t)K * (int64_t)sizeof(float);
  const int64_t rb = gather_row_bytes(m, b);
  brl_batch *g = b->gather;
  uint8_t *send = b->gather_buf, *recv = send + b->gather_cap * rb;
  for (int64_t i = 0; i < n; i++)
    memcpy(send + i * d, b->codes + (rows ? (int64_t)rows[i] : i) * d,
           (size_t)d);
  memcpy(send + n * d, b->ws.grad, (size_t)(n * gk));
  int64_t counts[MAX_RANKS];
  for (int r = 0; r < P; r++)
    counts[r] = sizes[2 * r + 1] * rb;
  int rc = brl_comm_allgatherv(b->comm, send, recv, counts);
  if (rc)
    return rc;
  g->n = total;
  const uint8_t *p = recv;
  for (int r = 0, at = 0; r < P; r++) {
    const int64_t nr = sizes[2 * r + 1];
    memcpy(g->codes + (int64_t)at * d, p, (size_t)(nr * d));
    memcpy(g->ws.grad + (int64_t)at * K, p + nr * d, (size_t)(nr * gk));
    p += nr * rb;
    at += (int)nr;
  }
  /* Non-finite gradients clipped over the union (none: a no-op). */
  rc = clip_grads(m, NULL, total, 1, g->ws.grad);
  g->fcomm = b->comm; /* the ranks split the features' work */
  if (!rc)
    rc = m->backend->grow_tree(m, g, NULL, total, g->ws.grad, progress, NULL);
  g->fcomm = NULL;
  if (!rc && cache_live)
    rc = brl__batch_cache_add(b, m, m->trees.n - 1, m->trees.n);
  return rc;
}

int brl_model_step(brl_model *m, brl_batch *b, const int32_t *rows, int64_t n,
                   const float *grads, float progress) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(b);
  brl_comm *comm = brl__comm_multi(b->comm) ? b->comm : NULL;
  int64_t n_bad = 0, total = n, sizes[2 * MAX_RANKS];
  int rc = step_prepare(m, b, rows, &n, grads, progress);
  if (!rc)
    rc = clean_grads(m, grads, n, b->ws.grad, &n_bad);
  /* A gather needs every rank's rows to fit (total <= cap): only then is
   * its batch made. */
  if (!rc && comm && n <= gather_cap(m, b))
    rc = gather_reserve(m, b);
  if (comm) { /* every rank returns the first failure, none waits */
    rc = exchange_sizes(comm, rc, n, sizes);
    total = 0;
    for (int r = 0; r < brl_comm_size(comm); r++)
      total += sizes[2 * r + 1];
  }
  if (!rc && comm && !b->comm_bins_checked)
    rc = check_bins(m, b);
  /* Is the cache current before this tree? Then it only needs this tree. */
  int cache_live = b->pred && (m->p.optimizer != BRL_OPTIMIZER_ADAM || b->mv) &&
                   b->cache_trees == m->trees.n && b->cache_uid == m->uid &&
                   b->cache_gen == m->generation;
  if (!rc && comm && total <= gather_cap(m, b))
    return step_gathered(m, b, rows, n, sizes, total, progress, cache_live);
  if (!rc)
    rc = clip_grads(m, comm, n, n_bad, b->ws.grad);
  if (!rc && m->p.control_variates)
    rc = apply_control_variates(m, b, rows, n, b->ws.grad);
  if (rc)
    return rc;
  const uint16_t *leaves = NULL;
  rc = m->backend->grow_tree(m, b, rows, n, b->ws.grad, progress,
                             cache_live ? &leaves : NULL);
  if (rc)
    return rc;
  if (m->p.control_variates)
    update_control_variates(m, b, rows, n);
  if (cache_live)
    return brl__cache_add_last(b, m, leaves);
  return BRL_OK;
}
