/* Split candidates for fitting one model to another's outputs: a sum of
 * trees is a step function whose steps sit exactly at its split thresholds,
 * so a student binned at the teacher's thresholds reproduces the steps
 * that quantile bins would smear.
 *
 * A split's score is the sum, over the rows whose feature value lies within
 * a small window around its threshold (and, in greedy trees, that reach its
 * node), of how far the tree's weighted outputs move when the split decides
 * the other way: the step's height integrated over the states next to it.
 * Selection keeps the best-scored thresholds, at most BRL_MAX_EDGES per
 * feature. */
#include "engine/split_edges.h"
#include "core/error.h"
#include "engine/batch.h"
#include "engine/predict.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_thr(const void *a, const void *b) {
  const float x = ((const brl_thr_score *)a)->thr;
  const float y = ((const brl_thr_score *)b)->thr;
  return (x > y) - (x < y);
}

/* Descending score, then count, then ascending threshold: a total order,
 * so the selection does not depend on how qsort orders ties. */
static int cmp_rank(const void *a, const void *b) {
  const brl_thr_score *p = a, *q = b;
  if (p->score != q->score)
    return p->score < q->score ? 1 : -1;
  if (p->count != q->count)
    return p->count < q->count ? 1 : -1;
  return (p->thr > q->thr) - (p->thr < q->thr);
}

/* Rows of feature f with a finite value, sorted by value (then row). */
static int64_t sort_column(const float *X, int64_t n, int D, int f,
                           brl_val_row *pairs, float *vals, int32_t *rows) {
  const int64_t m = brl__sort_feature(X, n, D, f, pairs);
  int64_t k = 0;
  for (int64_t i = 0; i < m; i++)
    if (isfinite(pairs[i].v)) {
      vals[k] = pairs[i].v;
      rows[k++] = pairs[i].r;
    }
  return k;
}

/* First position in sorted v[0..n) whose value is >= x. */
static int64_t lower_bound(const float *v, int64_t n, double x) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if ((double)v[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* How far tree t's weighted outputs move for sample x when split `node`
 * (its index within the tree) decides the other way; 0 if x does not
 * reach the node. */
static double flip_delta(const brl_model *m, int t, int node, const float *x,
                         const int32_t *xc, const float *w) {
  const brl_trees *T = &m->trees;
  const int d = T->depth[t], K = m->n_outputs, D = m->p.n_features;
  const int nl = 1 << d;
  const uint32_t *sp = T->split + T->split_off[t];
  const float *th = T->threshold + T->split_off[t];
  const float *val = T->value + (int64_t)T->leaf_off[t] * K;
  int leaf, alt;
  if (T->flags[t] & BRL_TREE_OBLIVIOUS) {
    leaf = brl__leaf_of(T, t, x, xc, D);
    alt = leaf ^ (1 << (d - 1 - node));
  } else {
    int i = 0, l = 0;
    for (; l < d && i != node; l++)
      i = 2 * i + 1 + brl__goes_right(sp[i], th[i], x, xc, D);
    if (i != node)
      return 0.0;
    const int r = brl__goes_right(sp[i], th[i], x, xc, D);
    int a = 2 * i + 1 + !r;
    i = 2 * i + 1 + r;
    for (l++; l < d; l++) {
      i = 2 * i + 1 + brl__goes_right(sp[i], th[i], x, xc, D);
      a = 2 * a + 1 + brl__goes_right(sp[a], th[a], x, xc, D);
    }
    leaf = i - (nl - 1);
    alt = a - (nl - 1);
  }
  double s = 0;
  for (int k = 0; k < K; k++)
    s += (double)w[k] *
         fabs((double)val[k * nl + alt] - (double)val[k * nl + leaf]);
  return s;
}

static int is_numeric_split(const brl_trees *T, int64_t s) {
  return !(BRL_SPLIT_FLAGS(T->split[s]) & (BRL_SPLIT_PASS | BRL_SPLIT_CAT)) &&
         isfinite(T->threshold[s]);
}

static int split_scores(const brl_model *m, const float *X,
                        const int32_t *X_cat, int64_t n_rows,
                        const float *col_weight, double *score) {
  const int D = m->p.n_features, C = m->p.n_cat_features;
  const brl_trees *T = &m->trees;
  const int64_t n_splits = T->n > 0 ? T->split_off[T->n] : 0;
  brl_val_row *pairs = malloc((size_t)n_rows * sizeof(brl_val_row) + 1);
  float *vals = malloc((size_t)n_rows * sizeof(float) + 1);
  int32_t *rows = malloc((size_t)n_rows * sizeof(int32_t) + 1);
  if (!pairs || !vals || !rows) {
    free(pairs);
    free(vals);
    free(rows);
    return brl__fail(BRL_ENOMEM, "out of memory sorting %lld rows",
                     (long long)n_rows);
  }
  memset(score, 0, (size_t)n_splits * sizeof(double) + 0);
  static const int32_t no_cat[1];
  for (int f = 0; f < D; f++) {
    const int64_t nv = sort_column(X, n_rows, D, f, pairs, vals, rows);
    /* Window: half an average bin of BRL_MAX_EDGES edges over the
     * central 90% of the values. */
    double h = 0;
    if (nv > 0)
      h = ((double)vals[(int64_t)(0.95 * (double)(nv - 1))] -
           (double)vals[(int64_t)(0.05 * (double)(nv - 1))]) /
          (2.0 * BRL_MAX_EDGES);
    for (int t = 0; t < T->n; t++) {
      const int64_t so = T->split_off[t], ns = T->split_off[t + 1] - so;
      for (int64_t s = 0; s < ns; s++) {
        if (BRL_SPLIT_FEATURE(T->split[so + s]) != f ||
            !is_numeric_split(T, so + s))
          continue;
        const double thr = T->threshold[so + s];
        const int64_t a = lower_bound(vals, nv, thr - h);
        const int64_t b = lower_bound(vals, nv, nextafter(thr + h, INFINITY));
        double sc = 0;
        for (int64_t i = a; i < b; i++) {
          const int64_t r = rows[i];
          sc += flip_delta(m, t, (int)s, X + r * D, C ? X_cat + r * C : no_cat,
                           col_weight);
        }
        score[so + s] = sc;
      }
    }
  }
  free(pairs);
  free(vals);
  free(rows);
  return BRL_OK;
}

/* Merges entries of equal threshold in ts[0..n) (sorted by threshold):
 * scores and counts add up, the first tree is the earliest. Returns the
 * number left. */
static int64_t merge(brl_thr_score *ts, int64_t n) {
  int64_t u = 0;
  for (int64_t i = 0; i < n; i++) {
    if (u > 0 && ts[u - 1].thr == ts[i].thr) {
      ts[u - 1].score += ts[i].score;
      ts[u - 1].count += ts[i].count;
      if (ts[i].first < ts[u - 1].first)
        ts[u - 1].first = ts[i].first;
    } else {
      ts[u++] = ts[i];
    }
  }
  return u;
}

/* Thresholds of feature f among trees [t0, t1) into ts, merged by value
 * and ranked best first; returns their number. */
static int64_t ranked(const brl_model *m, const double *score, int f, int t0,
                      int t1, brl_thr_score *ts) {
  const brl_trees *T = &m->trees;
  int64_t nt = 0;
  for (int t = t0; t < t1; t++)
    for (int64_t s = T->split_off[t]; s < T->split_off[t + 1]; s++)
      if (BRL_SPLIT_FEATURE(T->split[s]) == f && is_numeric_split(T, s))
        ts[nt++] = (brl_thr_score){T->threshold[s], score[s], 1, t};
  qsort(ts, (size_t)nt, sizeof *ts, cmp_thr);
  nt = merge(ts, nt);
  qsort(ts, (size_t)nt, sizeof *ts, cmp_rank);
  return nt;
}

int brl__edge_rank_build(const brl_model *m, const float *X,
                         const int32_t *X_cat, int64_t n_rows,
                         const float *col_weight, brl_edge_rank *r) {
  memset(r, 0, sizeof *r);
  const brl_trees *T = &m->trees;
  const int D = m->p.n_features;
  const int64_t n_splits = T->n > 0 ? T->split_off[T->n] : 0;
  r->score = malloc((size_t)n_splits * sizeof(double) + 1);
  r->ranked = malloc((size_t)n_splits * sizeof(brl_thr_score) + 1);
  r->scratch = malloc((size_t)n_splits * sizeof(brl_thr_score) + 1);
  r->off = malloc((size_t)(D + 1) * sizeof(int64_t));
  if (!r->score || !r->ranked || !r->scratch || !r->off) {
    brl__edge_rank_free(r);
    return brl__fail(BRL_ENOMEM, "out of memory ranking %lld thresholds",
                     (long long)n_splits);
  }
  int rc = split_scores(m, X, X_cat, n_rows, col_weight, r->score);
  if (rc) {
    brl__edge_rank_free(r);
    return rc;
  }
  r->off[0] = 0;
  for (int f = 0; f < D; f++)
    r->off[f + 1] =
        r->off[f] + ranked(m, r->score, f, 0, T->n, r->ranked + r->off[f]);
  return BRL_OK;
}

void brl__edge_rank_free(brl_edge_rank *r) {
  free(r->score);
  free(r->ranked);
  free(r->scratch);
  free(r->off);
  memset(r, 0, sizeof *r);
}

static int cmp_float(const void *a, const void *b) {
  const float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Is x among the sorted e[0..n)? */
static int contains(const float *e, int n, float x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (e[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && e[lo] == x;
}

void brl__select_edges(const brl_model *m, const brl_edge_rank *r, int start,
                       int stop, int fill_stop, float *edges, int *n_edges) {
  for (int f = 0; f < m->p.n_features; f++) {
    float *e = edges + (size_t)f * BRL_MAX_EDGES;
    int ne = 0;
    const int64_t u = ranked(m, r->score, f, start, stop, r->scratch);
    for (int64_t i = 0; i < u && ne < BRL_MAX_EDGES; i++)
      e[ne++] = r->scratch[i].thr;
    qsort(e, (size_t)ne, sizeof(float), cmp_float);
    const int own = ne;
    for (int64_t i = r->off[f]; i < r->off[f + 1] && ne < BRL_MAX_EDGES; i++)
      if (r->ranked[i].first < fill_stop && !contains(e, own, r->ranked[i].thr))
        e[ne++] = r->ranked[i].thr;
    qsort(e, (size_t)ne, sizeof(float), cmp_float);
    n_edges[f] = ne;
  }
}
