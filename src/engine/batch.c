/* Batches: quantization of features into bins (once per update phase) and
 * the incremental prediction cache. */
#include "engine/batch.h"
#include "backend/backend.h"
#include "core/error.h"
#include "engine/model.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define EDGES_PER_FEATURE 255

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Strictly increasing edges from sorted finite values v[0..n). Returns the
 * number of edges (value bins - 1). */
int brl__quantile_edges(const float *v, int64_t n, int max_bins, float *edges) {
  int ne = 0;
  if (n == 0)
    return 0;
  /* Count unique values; with few of them, cut between each pair. */
  int64_t uniq = 1;
  for (int64_t i = 1; i < n && uniq <= max_bins; i++)
    uniq += v[i] != v[i - 1];
  if (uniq <= max_bins) {
    for (int64_t i = 1; i < n; i++)
      if (v[i] != v[i - 1]) {
        double mid = 0.5 * ((double)v[i - 1] + (double)v[i]);
        float e = (float)mid;
        if (!(e >= v[i - 1] && e < v[i]))
          e = v[i - 1];
        edges[ne++] = e;
      }
    return ne;
  }
  for (int b = 1; b < max_bins; b++) {
    int64_t q = (int64_t)((double)b * (double)n / (double)max_bins);
    if (q < 1)
      q = 1;
    float e = v[q - 1];
    if (e >= v[n - 1])
      break; /* an edge at the maximum would leave an empty bin */
    if (ne == 0 || e > edges[ne - 1])
      edges[ne++] = e;
  }
  return ne;
}

int brl__uniform_edges(float lo, float hi, int max_bins, float *edges) {
  int ne = 0;
  if (!(hi > lo))
    return 0;
  for (int b = 1; b < max_bins; b++) {
    float e = (float)((double)lo + ((double)hi - (double)lo) * b / max_bins);
    if (e >= hi)
      break;
    if (ne == 0 || e > edges[ne - 1])
      edges[ne++] = e;
  }
  return ne;
}

/* Code of x: the number of edges strictly below x (binary search). */
static inline uint8_t bin_code(const float *e, int ne, float x) {
  int lo = 0, hi = ne;
  while (lo < hi) {
    int mid = (lo + hi) >> 1;
    if (e[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (uint8_t)lo;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

typedef struct {
  int32_t value, count;
} cat_count;

static int cmp_count(const void *a, const void *b) {
  const cat_count *x = a, *y = b;
  if (x->count != y->count)
    return x->count > y->count ? -1 : 1; /* most frequent first */
  return (x->value > y->value) - (x->value < y->value);
}

/* Bins of categorical column c: the most frequent codes (up to max_bins - 1,
 * in ascending code order), then "other"; negative codes are missing. */
static void bin_categorical(brl_batch *b, int c, int max_bins, int32_t *col,
                            cat_count *cc) {
  const int C = b->C;
  int64_t nv = 0;
  for (int64_t i = 0; i < b->n; i++)
    if (b->Xc[i * C + c] >= 0)
      col[nv++] = b->Xc[i * C + c];
  qsort(col, (size_t)nv, sizeof(int32_t), cmp_i32);
  int64_t nd = 0;
  for (int64_t i = 0; i < nv; i++) {
    if (i == 0 || col[i] != col[i - 1])
      cc[nd++] = (cat_count){col[i], 0};
    cc[nd - 1].count++;
  }
  int keep = nd < max_bins - 1 ? (int)nd : max_bins - 1;
  qsort(cc, (size_t)nd, sizeof(cat_count), cmp_count);
  int32_t *kept = b->cat_vals + (size_t)c * EDGES_PER_FEATURE;
  for (int j = 0; j < keep; j++)
    kept[j] = cc[j].value;
  qsort(kept, (size_t)keep, sizeof(int32_t), cmp_i32);
  brl__batch_code_cat(b, c, keep);
}

void brl__batch_code_cat(brl_batch *b, int c, int keep) {
  const int C = b->C, f = b->D + c;
  const int32_t *kept = b->cat_vals + (size_t)c * EDGES_PER_FEATURE;
  b->nbins[f] = (int16_t)(keep + 1);
  for (int64_t i = 0; i < b->n; i++) {
    int32_t x = b->Xc[i * C + c];
    uint8_t code = (uint8_t)(keep + 1); /* missing */
    if (x >= 0) {
      int lo = 0, hi = keep;
      while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (kept[mid] < x)
          lo = mid + 1;
        else
          hi = mid;
      }
      code = (uint8_t)(lo < keep && kept[lo] == x ? lo : keep); /* other */
    }
    b->codes[i * b->d + f] = code;
  }
}

/* Codes of numeric feature f from its ne edges (already in b->edges). */
static void bin_numeric(brl_batch *b, int f, int ne) {
  const float *e = b->edges + (size_t)f * EDGES_PER_FEATURE;
  b->nbins[f] = (int16_t)(ne + 1);
  for (int64_t i = 0; i < b->n; i++) {
    const float x = b->X[i * b->D + f];
    b->codes[i * b->d + f] = isnan(x) ? (uint8_t)(ne + 1) : bin_code(e, ne, x);
  }
}

/* Histogram offsets of every feature (each has a missing slot). */
static void set_offsets(brl_batch *b) {
  b->hoff[0] = 0;
  for (int f = 0; f < b->d; f++)
    b->hoff[f + 1] = b->hoff[f] + b->nbins[f] + 1;
  b->hslots = b->hoff[b->d];
}

/* Given edges: n_edges[f] strictly increasing finite values per numeric
 * feature at edges + f * BRL_MAX_EDGES. */
static int check_edges(const brl_model *m, const float *edges,
                       const int *n_edges) {
  BRL_CHECK_ARG(edges);
  BRL_CHECK_ARG(n_edges);
  for (int f = 0; f < m->p.n_features; f++) {
    if (n_edges[f] < 0 || n_edges[f] > BRL_MAX_EDGES)
      return brl__fail(BRL_EINVAL,
                       "n_edges[%d] is %d: give 0 to %d edges per feature", f,
                       n_edges[f], BRL_MAX_EDGES);
    const float *e = edges + (size_t)f * BRL_MAX_EDGES;
    for (int j = 0; j < n_edges[f]; j++)
      if (!isfinite(e[j]) || (j > 0 && !(e[j] > e[j - 1])))
        return brl__fail(BRL_EINVAL,
                         "edge %d of feature %d is %g: edges must be finite "
                         "and strictly increasing",
                         j, f, (double)e[j]);
  }
  return BRL_OK;
}

static int batch_create(const brl_model *m, const float *X,
                        const int32_t *X_cat, int64_t n_rows,
                        const float *given, const int *n_given,
                        brl_batch **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(m);
  const int D = m->p.n_features, C = m->p.n_cat_features, d = D + C;
  if (n_given) {
    int rc = check_edges(m, given, n_given);
    if (rc)
      return rc;
  }
  if (D > 0 && !X)
    return brl__fail(BRL_EINVAL,
                     "X is NULL but the model has %d numeric "
                     "features",
                     D);
  if (C > 0 && !X_cat)
    return brl__fail(BRL_EINVAL,
                     "X_cat is NULL but the model has %d categorical "
                     "features: pass their codes",
                     C);
  if (n_rows < 1 || n_rows > INT32_MAX)
    return brl__fail(BRL_EINVAL,
                     "n_rows is %lld: a batch needs 1 to 2^31-1 rows",
                     (long long)n_rows);
  brl_batch *b = calloc(1, sizeof *b);
  if (!b)
    return brl__fail(BRL_ENOMEM, "out of memory creating a batch");
  b->n = n_rows;
  b->d = d;
  b->D = D;
  b->C = C;
  b->K = m->n_outputs;
  b->cache_trees = -1;
  size_t n = (size_t)n_rows;
  b->X = malloc(n * (size_t)D * sizeof(float) + 1);
  b->Xc = malloc(n * (size_t)C * sizeof(int32_t) + 1);
  b->codes = malloc(n * (size_t)d);
  b->edges = malloc((size_t)D * EDGES_PER_FEATURE * sizeof(float) + 1);
  b->cat_vals = malloc((size_t)C * EDGES_PER_FEATURE * sizeof(int32_t) + 1);
  b->nbins = malloc((size_t)d * sizeof(int16_t));
  b->hoff = malloc((size_t)(d + 1) * sizeof(int64_t));
  float *col = malloc(n * sizeof(float));
  int32_t *icol = malloc(n * sizeof(int32_t));
  cat_count *cc = malloc(n * sizeof(cat_count));
  if (!b->X || !b->Xc || !b->codes || !b->edges || !b->cat_vals || !b->nbins ||
      !b->hoff || !col || !icol || !cc) {
    free(col);
    free(icol);
    free(cc);
    brl_batch_free(&b);
    return brl__fail(BRL_ENOMEM, "out of memory creating a batch of %lld rows",
                     (long long)n_rows);
  }
  if (D)
    memcpy(b->X, X, n * (size_t)D * sizeof(float));
  if (C)
    memcpy(b->Xc, X_cat, n * (size_t)C * sizeof(int32_t));
  const int max_bins = m->p.n_bins > 255 ? 255 : m->p.n_bins;
  for (int f = 0; f < D; f++) {
    int64_t nv = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n_rows; i++) {
      float x = X[i * D + f];
      if (isnan(x))
        continue;
      col[nv++] = x;
      lo = x < lo ? x : lo;
      hi = x > hi ? x : hi;
    }
    float *e = b->edges + (size_t)f * EDGES_PER_FEATURE;
    int ne;
    if (n_given) {
      ne = n_given[f];
      memcpy(e, given + (size_t)f * BRL_MAX_EDGES, (size_t)ne * sizeof(float));
    } else if (m->p.bin_method == BRL_BINS_UNIFORM) {
      ne = brl__uniform_edges(lo, hi, max_bins, e);
    } else {
      qsort(col, (size_t)nv, sizeof(float), cmp_float);
      ne = brl__quantile_edges(col, nv, max_bins, e);
    }
    bin_numeric(b, f, ne);
  }
  for (int c = 0; c < C; c++)
    bin_categorical(b, c, max_bins, icol, cc);
  free(col);
  free(icol);
  free(cc);
  set_offsets(b);
  *out = b;
  return BRL_OK;
}

static int cmp_val_row(const void *a, const void *b) {
  const brl_val_row *p = a, *q = b;
  if (p->v != q->v)
    return p->v < q->v ? -1 : 1;
  return (p->r > q->r) - (p->r < q->r);
}

int64_t brl__sort_feature(const float *X, int64_t n, int D, int f,
                          brl_val_row *vr) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(X[i * D + f]))
      vr[m++] = (brl_val_row){X[i * D + f], (int32_t)i};
  qsort(vr, (size_t)m, sizeof *vr, cmp_val_row);
  return m;
}

/* The rows of every numeric feature sorted by value, NaN rows last
 * (b->order, D x n; b->n_finite per feature), made on the first rebin. */
static int sort_rows(brl_batch *b) {
  const int64_t n = b->n;
  b->order = malloc((size_t)n * (size_t)b->D * sizeof(int32_t) + 1);
  b->n_finite = malloc((size_t)b->D * sizeof(int64_t) + 1);
  brl_val_row *vr = malloc((size_t)n * sizeof(brl_val_row) + 1);
  if (!b->order || !b->n_finite || !vr) {
    free(vr);
    free(b->order);
    free(b->n_finite);
    b->order = NULL;
    b->n_finite = NULL;
    return brl__fail(BRL_ENOMEM, "out of memory sorting %lld rows",
                     (long long)n);
  }
  for (int f = 0; f < b->D; f++) {
    int32_t *o = b->order + (size_t)f * (size_t)n;
    const int64_t m = brl__sort_feature(b->X, n, b->D, f, vr);
    for (int64_t i = 0, k = n; i < n; i++) /* NaN rows last */
      if (isnan(b->X[i * b->D + f]))
        o[--k] = (int32_t)i;
    for (int64_t i = 0; i < m; i++)
      o[i] = vr[i].r;
    b->n_finite[f] = m;
  }
  free(vr);
  return BRL_OK;
}

int brl__batch_rebin(brl_batch *b, const brl_model *m, const float *edges,
                     const int *n_edges) {
  int rc = check_edges(m, edges, n_edges);
  if (rc)
    return rc;
  if (!b->order && (rc = sort_rows(b)))
    return rc;
  b->comm_bins_checked = 0;   /* the ranks' bins are compared again */
  brl_batch_free(&b->gather); /* made with the old bins */
  b->gather_cap = 0;
  if (b->dev_free) /* a backend's copy of the old codes */
    b->dev_free(b->dev);
  b->dev = NULL;
  b->dev_free = NULL;
  /* Codes by one merge of the sorted values with the edges (the same codes
   * as bin_code's binary search: the number of edges below the value). */
  const int64_t n = b->n;
  for (int f = 0; f < b->D; f++) {
    const int ne = n_edges[f];
    float *e = b->edges + (size_t)f * EDGES_PER_FEATURE;
    memcpy(e, edges + (size_t)f * BRL_MAX_EDGES, (size_t)ne * sizeof(float));
    b->nbins[f] = (int16_t)(ne + 1);
    const int32_t *o = b->order + (size_t)f * (size_t)n;
    int j = 0;
    for (int64_t i = 0; i < b->n_finite[f]; i++) {
      const float x = b->X[(int64_t)o[i] * b->D + f];
      while (j < ne && e[j] < x)
        j++;
      b->codes[(int64_t)o[i] * b->d + f] = (uint8_t)j;
    }
    for (int64_t i = b->n_finite[f]; i < n; i++)
      b->codes[(int64_t)o[i] * b->d + f] = (uint8_t)(ne + 1);
  }
  set_offsets(b);
  return BRL_OK;
}

int brl_batch_create_cat(const brl_model *m, const float *X,
                         const int32_t *X_cat, int64_t n_rows,
                         brl_batch **out) {
  return batch_create(m, X, X_cat, n_rows, NULL, NULL, out);
}

int brl_batch_create_edges(const brl_model *m, const float *X,
                           const int32_t *X_cat, int64_t n_rows,
                           const float *edges, const int *n_edges,
                           brl_batch **out) {
  return batch_create(m, X, X_cat, n_rows, edges, n_edges, out);
}

int brl_batch_create(const brl_model *m, const float *X, int64_t n_rows,
                     brl_batch **out) {
  return brl_batch_create_cat(m, X, NULL, n_rows, out);
}

/* The CPU growth part of the workspace. */
static void grow_free(brl_grow_ws *w) {
  free(w->tgrad);
  free(w->qgrad);
  free(w->pos);
  free(w->tmp);
  free(w->node_begin);
  free(w->node_end);
  free(w->child_cnt);
  free(w->node_state);
  free(w->split_feat);
  free(w->split_bin);
  free(w->split_dl);
  free(w->split_gain);
  free(w->hist_a);
  free(w->hist_b);
  free(w->level_score);
  free(w->level_bad);
  free(w->leaf_q);
  free(w->node_tot);
  free(w->tree_feat);
  free(w->tree_bin);
  free(w->tree_dl);
  free(w->tree_split);
  free(w->tree_gain);
  free(w->scan);
  free(w->scan_mem);
  float *grad = w->grad;
  int64_t cap = w->cap_grad;
  int K = w->K_grad;
  memset(w, 0, sizeof *w);
  w->grad = grad, w->cap_grad = cap, w->K_grad = K;
}

static void ws_free(brl_grow_ws *w) {
  grow_free(w);
  free(w->grad);
  memset(w, 0, sizeof *w);
}

void brl_batch_free(brl_batch **bp) {
  if (!bp || !*bp)
    return;
  brl_batch *b = *bp;
  if (b->dev_free)
    b->dev_free(b->dev);
  ws_free(&b->ws);
  free(b->X);
  free(b->Xc);
  free(b->cat_vals);
  free(b->mv);
  free(b->cv_ema);
  free(b->codes);
  free(b->edges);
  free(b->nbins);
  free(b->hoff);
  free(b->order);
  free(b->n_finite);
  free(b->pred);
  brl_batch_free(&b->gather);
  free(b->gather_buf);
  free(b->fp_rec);
  free(b);
  *bp = NULL;
}

int brl__batch_like(const brl_batch *b, int64_t rows, brl_batch **out) {
  *out = NULL;
  brl_batch *g = calloc(1, sizeof *g);
  if (!g)
    return brl__fail(BRL_ENOMEM, "out of memory for a gathered batch");
  const size_t D = (size_t)b->D, C = (size_t)b->C, d = (size_t)b->d;
  g->n = rows;
  g->d = b->d;
  g->K = b->K;
  g->D = b->D;
  g->C = b->C;
  g->cache_trees = -1;
  g->hslots = b->hslots;
  g->X = malloc(1);
  g->Xc = malloc(1);
  g->codes = malloc((size_t)rows * d + 1);
  g->edges = malloc(D * EDGES_PER_FEATURE * sizeof(float) + 1);
  g->cat_vals = malloc(C * EDGES_PER_FEATURE * sizeof(int32_t) + 1);
  g->nbins = malloc(d * sizeof(int16_t) + 1);
  g->hoff = malloc((d + 1) * sizeof(int64_t));
  if (!g->X || !g->Xc || !g->codes || !g->edges || !g->cat_vals || !g->nbins ||
      !g->hoff) {
    brl_batch_free(&g);
    return brl__fail(BRL_ENOMEM,
                     "out of memory for a gathered batch of %lld "
                     "rows",
                     (long long)rows);
  }
  memcpy(g->edges, b->edges, D * EDGES_PER_FEATURE * sizeof(float));
  memcpy(g->cat_vals, b->cat_vals, C * EDGES_PER_FEATURE * sizeof(int32_t));
  memcpy(g->nbins, b->nbins, d * sizeof(int16_t));
  memcpy(g->hoff, b->hoff, (d + 1) * sizeof(int64_t));
  *out = g;
  return BRL_OK;
}

int64_t brl_batch_n_rows(const brl_batch *b) { return b ? b->n : 0; }

int brl_batch_n_bins(const brl_batch *b, int feature) {
  if (!b || feature < 0 || feature >= b->d)
    return 0;
  return b->nbins[feature];
}

int brl__grad_ws_reserve(brl_batch *b, int64_t n, int K) {
  brl_grow_ws *w = &b->ws;
  if (w->cap_grad >= n && w->K_grad == K)
    return BRL_OK;
  free(w->grad);
  w->grad = malloc((size_t)n * (size_t)K * sizeof(float) + 1);
  w->cap_grad = w->grad ? n : 0;
  w->K_grad = K;
  if (!w->grad)
    return brl__fail(BRL_ENOMEM, "out of memory for %lld rows of gradients",
                     (long long)n);
  return BRL_OK;
}

int brl__grow_ws_reserve(brl_batch *b, int64_t n, int K, int max_depth) {
  brl_grow_ws *w = &b->ws;
  if (w->cap_rows >= n && w->K == K && w->max_depth >= max_depth &&
      w->hslots >= b->hslots)
    return BRL_OK;
  grow_free(w);
  size_t nk = (size_t)n * (size_t)K;
  size_t nodes = (size_t)1 << max_depth;
  /* Histograms are built for the levels that split: 0 .. max_depth - 1. */
  size_t half = nodes / 2;
  /* Level l's histograms (2^l nodes) are in hist_a when l is even and in
   * hist_b when it is odd (the growth swaps them each level), so each is
   * sized for the deepest level of its parity: together 3/4 of two
   * buffers of the deepest level. */
  const int last = max_depth - 1; /* the deepest level that splits */
  const int even = last > 0 ? last - (last & 1) : 0;
  const int odd = last > 0 ? last - !(last & 1) : 0;
  size_t per_node = (size_t)b->hslots * (size_t)(K + 1);
  size_t hist_even = ((size_t)1 << even) * per_node;
  size_t hist_odd = ((size_t)1 << (odd > 0 ? odd : 0)) * per_node;
  size_t cand = (size_t)b->hslots * 2;
  w->tgrad = malloc(nk * sizeof(float));
  w->qgrad = malloc(nk * sizeof(int64_t));
  w->pos = malloc((size_t)n * sizeof(int32_t));
  w->tmp = malloc((size_t)n * sizeof(int32_t));
  w->node_begin = malloc((nodes + 1) * sizeof(int64_t));
  w->node_end = malloc((nodes + 1) * sizeof(int64_t));
  w->child_cnt = malloc(nodes * sizeof(int64_t));
  w->node_state = malloc(nodes);
  w->split_feat = malloc(half * sizeof(int32_t));
  w->split_bin = malloc(half * sizeof(int32_t));
  w->split_dl = malloc(half);
  w->split_gain = malloc(half * sizeof(float));
  w->hist_a = malloc(hist_even * sizeof(int64_t));
  w->hist_b = malloc(hist_odd * sizeof(int64_t));
  w->level_score = malloc(cand * sizeof(double));
  w->level_bad = malloc(cand * sizeof(int32_t));
  w->leaf_q = malloc(nodes * (size_t)(K + 1) * sizeof(int64_t));
  w->node_tot = malloc(half * (size_t)(K + 1) * sizeof(int64_t));
  w->tree_feat = malloc(nodes * sizeof(int32_t));
  w->tree_bin = malloc(nodes * sizeof(int32_t));
  w->tree_dl = malloc(nodes);
  w->tree_split = malloc(nodes);
  w->tree_gain = malloc(nodes * sizeof(double));
  if (!w->tgrad || !w->qgrad || !w->pos || !w->tmp || !w->node_begin ||
      !w->node_end || !w->child_cnt || !w->node_state || !w->split_feat ||
      !w->split_bin || !w->split_dl || !w->split_gain || !w->hist_a ||
      !w->hist_b || !w->level_score || !w->level_bad || !w->leaf_q ||
      !w->node_tot || !w->tree_feat || !w->tree_bin || !w->tree_dl ||
      !w->tree_split || !w->tree_gain) {
    grow_free(w);
    return brl__fail(BRL_ENOMEM,
                     "out of memory for the tree workspace (%lld rows, depth "
                     "%d)",
                     (long long)n, max_depth);
  }
  w->cap_rows = n;
  w->K = K;
  w->max_depth = max_depth;
  w->hslots = b->hslots;
  return BRL_OK;
}

int brl__scan_ws_reserve(brl_batch *b, int n_threads) {
  brl_grow_ws *w = &b->ws;
  if (w->n_scan >= n_threads)
    return BRL_OK;
  free(w->scan);
  free(w->scan_mem);
  w->n_scan = 0;
  const size_t per = (size_t)256 * (6 + 2 * (size_t)w->K);
  w->scan = calloc((size_t)n_threads, sizeof(brl_scan_ws));
  w->scan_mem = malloc((size_t)n_threads * per * sizeof(double));
  if (!w->scan || !w->scan_mem) {
    free(w->scan);
    free(w->scan_mem);
    w->scan = NULL;
    w->scan_mem = NULL;
    return brl__fail(BRL_ENOMEM, "out of memory for split scan scratch");
  }
  for (int t = 0; t < n_threads; t++) {
    double *p = w->scan_mem + (size_t)t * per;
    brl_scan_ws *s = &w->scan[t];
    s->cnt[0] = p, p += 256;
    s->cnt[1] = p, p += 256;
    s->tl = p, p += 256;
    s->tr = p, p += 256;
    s->score[0] = p, p += 256;
    s->score[1] = p, p += 256;
    s->sum[0] = p, p += (size_t)256 * w->K;
    s->sum[1] = p;
  }
  w->n_scan = n_threads;
  return BRL_OK;
}

int brl__batch_check(const brl_batch *b, const brl_model *m) {
  if (b->D != m->p.n_features || b->C != m->p.n_cat_features ||
      b->K != m->n_outputs)
    return brl__fail(BRL_EINVAL,
                     "the batch was made for %d+%d features and %d outputs, "
                     "the model has %d+%d and %d",
                     b->D, b->C, b->K, m->p.n_features, m->p.n_cat_features,
                     m->n_outputs);
  return BRL_OK;
}

int brl__batch_cache_add(brl_batch *b, const brl_model *m, int start,
                         int stop) {
  if (m->p.optimizer == BRL_OPTIMIZER_ADAM) {
    int rc = m->backend->predict_adam(m, b->X, b->Xc, b->n, start, stop,
                                      b->pred, b->mv);
    if (rc) {
      b->cache_trees = -1; /* partly added: recompute next time */
      return rc;
    }
  } else {
    int rc =
        m->backend->predict_add(m, b->X, b->Xc, b->n, start, stop, b->pred);
    if (rc) {
      b->cache_trees = -1; /* partly added: recompute next time */
      return rc;
    }
  }
  b->cache_trees = stop;
  return BRL_OK;
}

int brl__cache_add_last(brl_batch *b, const brl_model *m,
                        const uint16_t *leaf) {
  const int t = m->trees.n - 1;
  if (!leaf || m->p.optimizer == BRL_OPTIMIZER_ADAM)
    return brl__batch_cache_add(b, m, t, t + 1);
  /* The leaves the backend found: the tree's values added in the CPU's
   * order, bit for bit what predicting the tree gives. */
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs, nl = 1 << T->depth[t];
  const float *v = T->value + (int64_t)T->leaf_off[t] * K;
  int nt = m->p.n_threads > 0 ? m->p.n_threads : omp_get_max_threads();
  if (b->n * K < 262144 || nt < 2)
    nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t s = 0; s < b->n; s++) {
    float *os = b->pred + s * K;
    const int lf = leaf[s];
    for (int k = 0; k < K; k++)
      os[k] += v[k * nl + lf];
  }
  b->cache_trees = t + 1;
  return BRL_OK;
}

int brl__batch_seed_cache(brl_batch *b, const brl_model *m, const float *pred) {
  const size_t bytes = (size_t)b->n * (size_t)b->K * sizeof(float);
  if (!b->pred && !(b->pred = malloc(bytes)))
    return brl__fail(BRL_ENOMEM, "out of memory for the prediction cache");
  memcpy(b->pred, pred, bytes);
  b->cache_trees = m->trees.n;
  b->cache_uid = m->uid;
  b->cache_gen = m->generation;
  return BRL_OK;
}

int brl_batch_set_comm(brl_batch *b, brl_comm *c) {
  BRL_CHECK_ARG(b);
  b->comm = c;
  b->comm_bins_checked = 0;
  return BRL_OK;
}

int brl__batch_sync(brl_batch *b, const brl_model *m) {
  int rc = brl__batch_check(b, m);
  if (rc)
    return rc;
  const int K = b->K;
  const int adam = m->p.optimizer == BRL_OPTIMIZER_ADAM;
  if (!b->pred) {
    b->pred = malloc((size_t)b->n * (size_t)K * sizeof(float));
    if (!b->pred)
      return brl__fail(BRL_ENOMEM, "out of memory for the prediction cache");
  }
  if (adam && !b->mv) {
    b->mv = malloc((size_t)b->n * (size_t)K * 2 * sizeof(double));
    if (!b->mv)
      return brl__fail(BRL_ENOMEM, "out of memory for the prediction cache");
  }
  int stale = b->cache_trees < 0 || b->cache_uid != m->uid ||
              b->cache_gen != m->generation || b->cache_trees > m->trees.n;
  if (stale) {
    for (int64_t i = 0; i < b->n; i++)
      memcpy(b->pred + i * K, m->bias, (size_t)K * sizeof(float));
    if (adam)
      memset(b->mv, 0, (size_t)b->n * (size_t)K * 2 * sizeof(double));
    b->cache_trees = 0;
    b->cache_uid = m->uid;
    b->cache_gen = m->generation;
  }
  if (b->cache_trees < m->trees.n)
    return brl__batch_cache_add(b, m, b->cache_trees, m->trees.n);
  return BRL_OK;
}

int brl_batch_predictions(brl_batch *b, const brl_model *m, const float **out) {
  BRL_CHECK_ARG(b);
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  int rc = brl__batch_sync(b, m);
  *out = rc ? NULL : b->pred;
  return rc;
}

int brl_batch_predict(brl_batch *b, const brl_model *m, float *out) {
  BRL_CHECK_ARG(out);
  const float *p;
  int rc = brl_batch_predictions(b, m, &p);
  if (rc)
    return rc;
  memcpy(out, p, (size_t)b->n * (size_t)b->K * sizeof(float));
  return BRL_OK;
}
