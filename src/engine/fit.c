/* Supervised boosting with squared error, over the engine's own batch and
 * prediction cache: each iteration adds one tree fitted to the residuals
 * (prediction - y) of a minibatch. */
#include "core/abi.h"
#include "core/error.h"
#include "core/rng.h"
#include "engine/batch.h"
#include "engine/fit_bins.h"
#include "engine/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* struct_size: the first version ends at seed. */
static const brl__abi_struct fit_abi = {
    "brl_fit_params", "brl_fit_params_default", BRL__END(brl_fit_params, seed),
    sizeof(brl_fit_params)};

static void defaults(brl_fit_params *fp) {
  memset(fp, 0, sizeof *fp);
  fp->struct_size = sizeof *fp;
  fp->iterations = 100;
  fp->batch_size = 0;
  fp->shuffle = 1;
  fp->seed = 0;
}

void brl_fit_params_default_sized(brl_fit_params *fp, size_t struct_size) {
  if (!fp)
    return;
  brl_fit_params full;
  defaults(&full);
  brl__abi_out(&fit_abi, &full, fp, struct_size);
}

/* Rows of every rank: this rank's first global row and the total (one
 * gather of the row counts). Every rank reaches the same verdict. */
static int shard_rows(brl_comm *c, int64_t n, int64_t *first,
                      int64_t *n_total) {
  const int P = brl_comm_size(c), me = brl_comm_rank(c);
  int64_t *all = malloc((size_t)P * sizeof(int64_t));
  int64_t *counts = malloc((size_t)P * sizeof(int64_t));
  int rc = brl_comm_agree(
      c, all && counts ? BRL_OK : brl__fail(BRL_ENOMEM, "out of memory"));
  for (int r = 0; r < P && !rc; r++)
    counts[r] = sizeof(int64_t);
  if (!rc)
    rc = brl_comm_allgatherv(c, &n, all, counts);
  *first = *n_total = 0;
  for (int r = 0; r < P && !rc; r++) {
    if (all[r] < 1)
      rc = brl__fail(BRL_EINVAL,
                     "brl_fit_comm: rank %d of %d holds %lld rows: give every "
                     "rank at least one row",
                     r, P, (long long)all[r]);
    if (r < me)
      *first += all[r];
    *n_total += all[r];
  }
  if (!rc && *n_total > INT32_MAX)
    rc = brl__fail(BRL_EINVAL,
                   "brl_fit_comm: %lld rows over all ranks: a fit takes at "
                   "most 2^31-1",
                   (long long)*n_total);
  free(all);
  free(counts);
  return rc;
}

/* The bias as the mean of y over all rows, added in row order: rank r
 * continues the running sums of ranks 0..r-1 and passes them on (one
 * broadcast per rank), so the sums are exactly one process's. */
static int mean_bias(brl_model *m, const float *y, int64_t n, int64_t n_total,
                     brl_comm *c) {
  const int K = m->n_outputs, P = c ? brl_comm_size(c) : 1;
  double *s = calloc((size_t)K, sizeof(double));
  float *bias = malloc((size_t)K * sizeof(float));
  int rc = s && bias ? BRL_OK : brl__fail(BRL_ENOMEM, "out of memory");
  if (c)
    rc = brl_comm_agree(c, rc);
  for (int r = 0; r < P && !rc; r++) {
    if (!c || r == brl_comm_rank(c))
      for (int k = 0; k < K; k++)
        for (int64_t i = 0; i < n; i++)
          s[k] += y[i * K + k];
    if (c)
      rc = brl_comm_bcast(c, s, (int64_t)K * (int64_t)sizeof(double), r);
  }
  for (int k = 0; k < K && !rc; k++)
    bias[k] = (float)(s[k] / (double)n_total);
  if (!rc)
    rc = brl_model_set_bias(m, bias);
  free(s);
  free(bias);
  return rc;
}

/* The iterations: minibatches are positions of one order of the global
 * rows (the same shuffle on every rank); this rank steps with the rows of
 * each minibatch that it holds, rows [first, first + n) of all. With a
 * communicator the batch has it attached and every step is collective. */
static int boost(brl_model *m, brl_batch *b, const float *y, int64_t first,
                 int64_t n, int64_t n_total, const brl_fit_params *fp,
                 brl_comm *c) {
  const int K = m->n_outputs;
  int64_t bs = n_total;
  if (fp->batch_size > 0 && fp->batch_size < n_total)
    bs = fp->batch_size;
  const int mini = bs < n_total;
  const int64_t cap = bs < n ? bs : n; /* this rank's rows of a minibatch */
  int32_t *order = mini ? malloc((size_t)n_total * sizeof(int32_t)) : NULL;
  int32_t *local = mini ? malloc((size_t)cap * sizeof(int32_t)) : NULL;
  float *g = malloc((size_t)cap * (size_t)K * sizeof(float));
  int rc = !g || (mini && (!order || !local))
               ? brl__fail(BRL_ENOMEM, "out of memory for %lld rows",
                           (long long)n_total)
               : BRL_OK;
  if (c)
    rc = brl_comm_agree(c, rc);
  brl_rng rng;
  brl_rng_seed(&rng, fp->seed);
  for (int64_t i = 0; !rc && mini && i < n_total; i++)
    order[i] = (int32_t)i;
  int64_t pos = n_total; /* next unused position of the order */
  for (int it = 0; !rc && it < fp->iterations; it++) {
    const float *pred;
    rc = brl_batch_predictions(b, m, &pred);
    if (rc) {
      if (c) /* meets the agreement that opens the others' step */
        brl_comm_agree(c, rc);
      break;
    }
    int64_t nl = n;
    if (mini) {
      if (pos + bs > n_total) { /* a new epoch */
        if (fp->shuffle)
          for (int64_t i = n_total - 1; i > 0; i--) {
            int64_t j = (int64_t)brl_rng_below(&rng, (uint64_t)i + 1);
            int32_t t = order[i];
            order[i] = order[j];
            order[j] = t;
          }
        pos = 0;
      }
      nl = 0;
      for (int64_t r = 0; r < bs; r++)
        if (order[pos + r] >= first && order[pos + r] < first + n)
          local[nl++] = (int32_t)(order[pos + r] - first);
      pos += bs;
    }
    for (int64_t r = 0; r < nl; r++) {
      int64_t i = mini ? local[r] : r;
      for (int k = 0; k < K; k++)
        g[r * K + k] = pred[i * K + k] - y[i * K + k];
    }
    rc = brl_model_step(
        m, b, mini ? local : NULL, nl, g,
        fp->iterations > 1 ? (float)it / (float)(fp->iterations - 1) : 0.0f);
  }
  free(order);
  free(local);
  free(g);
  return rc;
}

/* brl_fit and, with c (several ranks), brl_fit_comm. *joined is set once
 * the checks passed and this rank agreed so with the others. */
static int fit(brl_model *m, const float *X, const int32_t *X_cat,
               const float *y, int64_t n_rows, const brl_fit_params *fp,
               brl_comm *c, int *joined) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(y);
  brl_fit_params def; /* NULL: the defaults; else fp over them */
  defaults(&def);
  if (fp) {
    int rc = brl__abi_in(&fit_abi, fp, &def);
    if (rc)
      return rc;
  }
  fp = &def;
  if (fp->iterations < 0)
    return brl__fail(BRL_EINVAL, "iterations is %d: use 0 or more",
                     fp->iterations);
  if (fp->batch_size < 0)
    return brl__fail(BRL_EINVAL,
                     "batch_size is %lld: use 0 (all rows) or "
                     "more",
                     (long long)fp->batch_size);
  const int K = m->n_outputs;
  for (int64_t i = 0; i < n_rows * K; i++)
    if (!isfinite(y[i]))
      return brl__fail(BRL_ENUMERIC, "y row %lld, column %d is not finite",
                       (long long)(i / K), (int)(i % K));
  int rc = BRL_OK;
  if (c) {
    *joined = 1;
    if ((rc = brl_comm_agree(c, BRL_OK)))
      return rc;
  }
  int64_t first = 0, n_total = n_rows;
  if (c && (rc = shard_rows(c, n_rows, &first, &n_total)))
    return rc;
  brl_batch *b = NULL;
  rc = c ? brl__batch_create_global(m, X, X_cat, n_rows, c, &b)
         : brl_batch_create_cat(m, X, X_cat, n_rows, &b);
  if (rc)
    return rc;
  if (c) /* every step grows the tree of all ranks' rows */
    rc = brl_batch_set_comm(b, c);
  if (!rc && m->trees.n == 0 && n_total > 0)
    rc = mean_bias(m, y, n_rows, n_total, c);
  if (!rc)
    rc = boost(m, b, y, first, n_rows, n_total, fp, c);
  brl_batch_free(&b);
  return rc;
}

int brl_fit(brl_model *m, const float *X, const int32_t *X_cat, const float *y,
            int64_t n_rows, const brl_fit_params *fp) {
  int joined = 0;
  return fit(m, X, X_cat, y, n_rows, fp, NULL, &joined);
}

int brl_fit_comm(brl_model *m, const float *X, const int32_t *X_cat,
                 const float *y, int64_t n_local_rows, const brl_fit_params *fp,
                 brl_comm *c) {
  if (brl_comm_size(c) == 1) /* NULL too */
    return brl_fit(m, X, X_cat, y, n_local_rows, fp);
  int joined = 0;
  int rc = fit(m, X, X_cat, y, n_local_rows, fp, c, &joined);
  if (!joined) /* a check failed here: the others wait in the agreement */
    rc = brl_comm_agree(c, rc);
  return rc;
}
