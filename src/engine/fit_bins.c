/* Global bins for rows spread over ranks, exactly those of one batch of all
 * the rows, from exchanges whose size does not depend on the row count:
 *  - uniform edges: the range of each feature (one max-allreduce);
 *  - quantile edges: each rank's first max_bins + 1 distinct values per
 *    feature (one gather). When the union has at most max_bins values the
 *    edges fall between them (batch.c's rule, run on the union); otherwise
 *    they are order statistics of the global sorted column, found by a
 *    bisection over the values' 32-bit order keys: each round one
 *    allreduce of the count of values <= the candidate, for every
 *    (feature, quantile) at once; at most 32 rounds;
 *  - categories: each rank's (code, count) pairs (one gather), summed. */
#include "engine/fit_bins.h"
#include "core/error.h"
#include "engine/batch.h"
#include "engine/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Order key of a float: keys compare as the values do; -0 and +0 are one
 * key (they compare equal), and only finite or infinite values get one. */
static uint32_t key_of(float x) {
  uint32_t u;
  if (x == 0.0f)
    x = 0.0f;
  memcpy(&u, &x, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static float value_of(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Number of keys of sorted k[0..n) that are <= t. */
static int64_t count_le(const uint32_t *k, int64_t n, uint32_t t) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (k[mid] <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

typedef struct shard {
  const brl_model *m;
  brl_comm *c;
  int P, D, C, max_bins;
  int64_t n;
  uint32_t *keys; /* D x n: each feature's finite values' keys, sorted */
  int64_t *nf;    /* D: finite values here */
  int64_t *ng;    /* D: finite values over all ranks */
  float *edges;   /* D x BRL_MAX_EDGES */
  int *n_edges;   /* D */
} shard;

/* Uniform bins: the global range of each feature. */
static int uniform_bins(shard *s) {
  double *r = malloc(((size_t)s->D * 2 + 1) * sizeof(double));
  int rc = brl_comm_agree(
      s->c, r ? BRL_OK
              : brl__fail(BRL_ENOMEM, "out of memory for the feature ranges"));
  if (rc)
    return rc;
  for (int f = 0; f < s->D; f++) {
    const uint32_t *k = s->keys + (size_t)f * (size_t)s->n;
    const int64_t nf = s->nf[f];
    r[2 * f] = nf ? (double)value_of(k[nf - 1]) : -INFINITY;
    r[2 * f + 1] = nf ? -(double)value_of(k[0]) : -INFINITY;
  }
  rc = brl_comm_allreduce_max_f64(s->c, r, 2 * (int64_t)s->D);
  for (int f = 0; !rc && f < s->D; f++)
    s->n_edges[f] =
        brl__uniform_edges((float)-r[2 * f + 1], (float)r[2 * f], s->max_bins,
                           s->edges + (size_t)f * BRL_MAX_EDGES);
  free(r);
  return rc;
}

/* Each rank's first max_bins + 1 distinct keys per feature, gathered:
 * per rank and feature a count then the keys. Sets many[f] when the union
 * has more than max_bins values, else writes its edges. */
static int distinct_bins(shard *s, uint8_t *many) {
  const int L = s->max_bins + 1, P = s->P;
  const int64_t per = (int64_t)s->D * (L + 1);
  uint32_t *mine = malloc((size_t)per * sizeof(uint32_t));
  uint32_t *all = malloc((size_t)per * (size_t)P * sizeof(uint32_t));
  uint32_t *u = malloc((size_t)L * (size_t)P * sizeof(uint32_t));
  float *v = malloc((size_t)L * (size_t)P * sizeof(float));
  int64_t *counts = malloc((size_t)P * sizeof(int64_t));
  int rc = BRL_OK;
  if (!mine || !all || !u || !v || !counts)
    rc = brl__fail(BRL_ENOMEM, "out of memory for the distinct values");
  if ((rc = brl_comm_agree(s->c, rc))) /* no rank waits for a failed one */
    goto done;
  memset(mine, 0, (size_t)per * sizeof(uint32_t));
  for (int f = 0; f < s->D; f++) {
    const uint32_t *k = s->keys + (size_t)f * (size_t)s->n;
    uint32_t *out = mine + (int64_t)f * (L + 1);
    uint32_t nd = 0;
    for (int64_t i = 0; i < s->nf[f] && nd < (uint32_t)L; i++)
      if (i == 0 || k[i] != k[i - 1])
        out[1 + nd++] = k[i];
    out[0] = nd;
  }
  for (int r = 0; r < P; r++)
    counts[r] = per * (int64_t)sizeof(uint32_t);
  rc = brl_comm_allgatherv(s->c, mine, all, counts);
  for (int f = 0; !rc && f < s->D; f++) {
    int64_t nu = 0;
    many[f] = 0;
    for (int r = 0; r < P; r++) {
      const uint32_t *in = all + (int64_t)r * per + (int64_t)f * (L + 1);
      if (in[0] > (uint32_t)s->max_bins)
        many[f] = 1;
      memcpy(u + nu, in + 1, (size_t)in[0] * sizeof(uint32_t));
      nu += in[0];
    }
    if (many[f])
      continue;
    qsort(u, (size_t)nu, sizeof(uint32_t), cmp_u32);
    int64_t nd = 0;
    for (int64_t i = 0; i < nu; i++)
      if (i == 0 || u[i] != u[i - 1])
        v[nd++] = value_of(u[i]);
    if (nd > s->max_bins) {
      many[f] = 1;
      continue;
    }
    /* batch.c's rule on the union: with at most max_bins distinct values
     * it only looks at consecutive distinct pairs. */
    s->n_edges[f] = brl__quantile_edges(v, nd, s->max_bins,
                                        s->edges + (size_t)f * BRL_MAX_EDGES);
  }
done:
  free(mine);
  free(all);
  free(u);
  free(v);
  free(counts);
  return rc;
}

/* Quantile edges of the features with many values: v[q_b - 1] of the
 * global sorted column for b = 1..max_bins-1 (q_b as in batch.c) and its
 * maximum v[n - 1], by bisection over keys; then batch.c's selection. */
static int quantile_bins(shard *s, const uint8_t *many) {
  const int Q = s->max_bins; /* max_bins - 1 quantiles + the maximum */
  int nm = 0;
  for (int f = 0; f < s->D; f++)
    nm += many[f];
  if (nm == 0)
    return BRL_OK;
  const int64_t T = (int64_t)nm * Q;
  int64_t *target = malloc((size_t)T * sizeof(int64_t));
  int64_t *cnt = malloc((size_t)T * sizeof(int64_t));
  uint32_t *lo = malloc((size_t)T * sizeof(uint32_t));
  uint32_t *hi = malloc((size_t)T * sizeof(uint32_t));
  int *feat = malloc((size_t)nm * sizeof(int));
  int rc = BRL_OK;
  if (!target || !cnt || !lo || !hi || !feat)
    rc = brl__fail(BRL_ENOMEM, "out of memory for the quantile search");
  if ((rc = brl_comm_agree(s->c, rc)))
    goto done;
  for (int f = 0, j = 0; f < s->D; f++)
    if (many[f])
      feat[j++] = f;
  for (int j = 0; j < nm; j++) {
    const int64_t n = s->ng[feat[j]]; /* > max_bins values */
    for (int b = 1; b <= Q; b++) {
      int64_t q = n;
      if (b < Q) {
        q = (int64_t)((double)b * (double)n / (double)s->max_bins);
        if (q < 1)
          q = 1;
      }
      target[(int64_t)j * Q + b - 1] = q; /* the q-th smallest value */
      lo[(int64_t)j * Q + b - 1] = 0;
      hi[(int64_t)j * Q + b - 1] = UINT32_MAX;
    }
  }
  /* The smallest key with at least q values <= it, for every target;
   * every rank holds the same bounds, so all stop together. */
  for (;;) {
    int open = 0;
    for (int64_t t = 0; t < T; t++) {
      const int f = feat[t / Q];
      cnt[t] = 0;
      if (lo[t] < hi[t]) {
        open = 1;
        uint32_t mid = lo[t] + (hi[t] - lo[t]) / 2;
        cnt[t] = count_le(s->keys + (size_t)f * (size_t)s->n, s->nf[f], mid);
      }
    }
    if (!open)
      break;
    if ((rc = brl_comm_allreduce_sum_i64(s->c, cnt, T)))
      goto done;
    for (int64_t t = 0; t < T; t++)
      if (lo[t] < hi[t]) {
        uint32_t mid = lo[t] + (hi[t] - lo[t]) / 2;
        if (cnt[t] >= target[t])
          hi[t] = mid;
        else
          lo[t] = mid + 1;
      }
  }
  /* batch.c's quantile selection over the order statistics found. */
  for (int j = 0; j < nm; j++) {
    const uint32_t *k = lo + (int64_t)j * Q;
    float *e = s->edges + (size_t)feat[j] * BRL_MAX_EDGES;
    const float vmax = value_of(k[Q - 1]);
    int ne = 0;
    for (int b = 1; b < s->max_bins; b++) {
      float x = value_of(k[b - 1]);
      if (x >= vmax)
        break; /* an edge at the maximum would leave an empty bin */
      if (ne == 0 || x > e[ne - 1])
        e[ne++] = x;
    }
    s->n_edges[feat[j]] = ne;
  }
done:
  free(target);
  free(cnt);
  free(lo);
  free(hi);
  free(feat);
  return rc;
}

typedef struct cat_count {
  int32_t value, count;
} cat_count;

static int cmp_value(const void *a, const void *b) {
  const cat_count *x = a, *y = b;
  return (x->value > y->value) - (x->value < y->value);
}

/* batch.c's order: most frequent first, then by code. */
static int cmp_count(const void *a, const void *b) {
  const cat_count *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1;
  return (x->value > y->value) - (x->value < y->value);
}

/* Sorted local codes of column c into (code, count) pairs; returns how
 * many. */
static int64_t local_counts(const int32_t *Xc, int64_t n, int C, int c,
                            int32_t *col, cat_count *out) {
  int64_t nv = 0, nd = 0;
  for (int64_t i = 0; i < n; i++)
    if (Xc[i * C + c] >= 0)
      col[nv++] = Xc[i * C + c];
  qsort(col, (size_t)nv, sizeof(int32_t), cmp_u32); /* codes are >= 0 */
  for (int64_t i = 0; i < nv; i++) {
    if (i == 0 || col[i] != col[i - 1])
      out[nd++] = (cat_count){col[i], 0};
    out[nd - 1].count++;
  }
  return nd;
}

/* Codes of categorical column c of b for the kept categories (ascending). */
static void recode(brl_batch *b, int c, const int32_t *kept, int keep) {
  memcpy(b->cat_vals + (size_t)c * 255, kept, (size_t)keep * sizeof(int32_t));
  brl__batch_code_cat(b, c, keep);
}

/* Categorical bins from every rank's (code, count) pairs, one gather of
 * their sizes and one of the pairs. */
static int category_bins(shard *s, const int32_t *Xc, brl_batch *b) {
  const int P = s->P, C = s->C;
  int64_t *sizes = calloc((size_t)P * (size_t)C + 1, sizeof(int64_t));
  int64_t *counts = malloc((size_t)P * sizeof(int64_t));
  int32_t *col = malloc((size_t)s->n * sizeof(int32_t));
  cat_count *mine = malloc((size_t)s->n * (size_t)C * sizeof(cat_count));
  cat_count *all = NULL, *u = NULL;
  int32_t kept[255];
  int rc = BRL_OK;
  if (!sizes || !counts || !col || !mine)
    rc = brl__fail(BRL_ENOMEM, "out of memory for the category counts");
  if ((rc = brl_comm_agree(s->c, rc)))
    goto done;
  int64_t nmine = 0;
  for (int c = 0; c < C; c++) {
    int64_t k = local_counts(Xc, s->n, C, c, col, mine + nmine);
    sizes[(int64_t)brl_comm_rank(s->c) * C + c] = k;
    nmine += k;
  }
  if ((rc = brl_comm_allreduce_sum_i64(s->c, sizes, (int64_t)P * C)))
    goto done;
  int64_t total = 0;
  for (int r = 0; r < P; r++) {
    counts[r] = 0;
    for (int c = 0; c < C; c++)
      counts[r] += sizes[(int64_t)r * C + c];
    total += counts[r];
    counts[r] *= (int64_t)sizeof(cat_count);
  }
  all = malloc((size_t)total * sizeof(cat_count) + 1);
  u = malloc((size_t)total * sizeof(cat_count) + 1);
  if (!all || !u)
    rc = brl__fail(BRL_ENOMEM, "out of memory for the category counts");
  if ((rc = brl_comm_agree(s->c, rc)))
    goto done;
  if ((rc = brl_comm_allgatherv(s->c, mine, all, counts)))
    goto done;
  /* Column c's pairs of every rank, one after the other, summed by code. */
  for (int c = 0; c < C; c++) {
    int64_t nu = 0, at = 0;
    for (int r = 0; r < P; r++) {
      const int64_t *sz = sizes + (int64_t)r * C;
      int64_t before = 0;
      for (int q = 0; q < c; q++)
        before += sz[q];
      memcpy(u + nu, all + at + before, (size_t)sz[c] * sizeof(cat_count));
      nu += sz[c];
      for (int q = 0; q < C; q++)
        at += sz[q];
    }
    qsort(u, (size_t)nu, sizeof(cat_count), cmp_value);
    int64_t nd = 0;
    for (int64_t i = 0; i < nu; i++) {
      if (nd > 0 && u[nd - 1].value == u[i].value)
        u[nd - 1].count += u[i].count;
      else
        u[nd++] = u[i];
    }
    int keep = nd < s->max_bins - 1 ? (int)nd : s->max_bins - 1;
    qsort(u, (size_t)nd, sizeof(cat_count), cmp_count);
    for (int j = 0; j < keep; j++)
      kept[j] = u[j].value;
    qsort(kept, (size_t)keep, sizeof(int32_t), cmp_u32);
    recode(b, c, kept, keep);
  }
  b->hoff[0] = 0; /* the histogram offsets of the new bin counts */
  for (int f = 0; f < b->d; f++)
    b->hoff[f + 1] = b->hoff[f] + b->nbins[f] + 1;
  b->hslots = b->hoff[b->d];
done:
  free(sizes);
  free(counts);
  free(col);
  free(mine);
  free(all);
  free(u);
  return rc;
}

/* Each feature's finite values' keys, sorted, and their global counts. */
static int sort_keys(shard *s, const float *X) {
  for (int f = 0; f < s->D; f++) {
    uint32_t *k = s->keys + (size_t)f * (size_t)s->n;
    int64_t nf = 0;
    for (int64_t i = 0; i < s->n; i++)
      if (!isnan(X[i * s->D + f]))
        k[nf++] = key_of(X[i * s->D + f]);
    qsort(k, (size_t)nf, sizeof(uint32_t), cmp_u32);
    s->nf[f] = s->ng[f] = nf;
  }
  return brl_comm_allreduce_sum_i64(s->c, s->ng, s->D);
}

int brl__batch_create_global(const brl_model *m, const float *X,
                             const int32_t *X_cat, int64_t n, brl_comm *c,
                             brl_batch **out) {
  *out = NULL;
  shard s = {.m = m, .c = c, .P = brl_comm_size(c), .n = n};
  s.D = m->p.n_features;
  s.C = m->p.n_cat_features;
  s.max_bins = m->p.n_bins > 255 ? 255 : m->p.n_bins;
  int rc = BRL_OK;
  uint8_t *many = malloc((size_t)s.D + 1);
  s.keys = malloc((size_t)n * (size_t)s.D * sizeof(uint32_t) + 1);
  s.nf = malloc(((size_t)s.D + 1) * sizeof(int64_t));
  s.ng = malloc(((size_t)s.D + 1) * sizeof(int64_t));
  s.edges = calloc((size_t)s.D * BRL_MAX_EDGES + 1, sizeof(float));
  s.n_edges = calloc((size_t)s.D + 1, sizeof(int));
  if (!many || !s.keys || !s.nf || !s.ng || !s.edges || !s.n_edges)
    rc = brl__fail(BRL_ENOMEM, "out of memory binning %lld rows", (long long)n);
  if ((rc = brl_comm_agree(c, rc)))
    goto done;
  if ((rc = sort_keys(&s, X)))
    goto done;
  if (m->p.bin_method == BRL_BINS_UNIFORM)
    rc = uniform_bins(&s);
  else if (!(rc = distinct_bins(&s, many)))
    rc = quantile_bins(&s, many);
  brl_batch *b = NULL;
  if (!rc)
    rc = brl_batch_create_edges(m, X, X_cat, n, s.edges, s.n_edges, &b);
  rc = brl_comm_agree(c, rc);
  if (!rc && s.C > 0)
    rc = brl_comm_agree(c, category_bins(&s, X_cat, b));
  if (rc)
    brl_batch_free(&b);
  *out = b;
done:
  free(many);
  free(s.keys);
  free(s.nf);
  free(s.ng);
  free(s.edges);
  free(s.n_edges);
  return rc;
}
