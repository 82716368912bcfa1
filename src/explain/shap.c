/* Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2)
 * over the whole ensemble, for every output column at once.
 *
 * A tree is walked as a complete binary tree of nodes (level l, prefix p):
 * the children of (l, p) are (l+1, 2p) (left) and (l+1, 2p+1) (right), the
 * leaves are (d, leaf). The split of (l, p) is split l of an oblivious tree
 * and split 2^l - 1 + p of a greedy one. A greedy pass-through node is no
 * split at all: the walk goes on to its left child and the node adds
 * nothing to the path.
 *
 * The conditional expectation of a node over the features left out follows
 * the training covers: a child gets the fraction cover(child) / cover(node)
 * of its parent's weight (half each when the node has no cover, which only
 * matters for trees whose covers are all zero). The cover of a pass-through
 * node is that of its left child. The expected value of a tree is the same
 * recursion, so that contributions plus the expected value add up to the
 * prediction exactly. */
#include "core/error.h"
#include "engine/model.h"
#include "engine/predict.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct path_el {
  int feature; /* -1 for the root's dummy element */
  double zero, one, weight;
} path_el;

/* Room for the nested copies of the path: (D + 2)(D + 3) / 2 elements. */
#define PATH_CAP ((BRL_MAX_DEPTH + 2) * (BRL_MAX_DEPTH + 3) / 2)

typedef struct tree_view {
  int d, oblivious, nl, K;
  const uint32_t *split;
  const float *thr;
  const float *value;  /* K x nl, output-major */
  const double *cover; /* per node (l, p) at (1 << l) - 1 + p */
} tree_view;

static inline int node_index(int l, int p) { return (1 << l) - 1 + p; }

static inline int split_of(const tree_view *tv, int l, int p) {
  return tv->oblivious ? l : node_index(l, p);
}

static inline int is_pass(const tree_view *tv, int l, int p) {
  return l < tv->d && !tv->oblivious &&
         (BRL_SPLIT_FLAGS(tv->split[node_index(l, p)]) & BRL_SPLIT_PASS);
}

/* Node covers of one tree, bottom-up, into c (2^(d+1) - 1 doubles). */
static void node_covers(const tree_view *tv, const float *leaf_cover,
                        double *c) {
  const int d = tv->d;
  for (int p = 0; p < tv->nl; p++)
    c[node_index(d, p)] = leaf_cover[p];
  for (int l = d - 1; l >= 0; l--)
    for (int p = 0; p < (1 << l); p++) {
      double left = c[node_index(l + 1, 2 * p)];
      c[node_index(l, p)] =
          is_pass(tv, l, p) ? left : left + c[node_index(l + 1, 2 * p + 1)];
    }
}

/* Fractions of node (l, p)'s weight that go to its left and right child. */
static inline void fractions(const tree_view *tv, int l, int p, double *fl,
                             double *fr) {
  double c = tv->cover[node_index(l, p)];
  if (c > 0.0) {
    *fl = tv->cover[node_index(l + 1, 2 * p)] / c;
    *fr = tv->cover[node_index(l + 1, 2 * p + 1)] / c;
  } else {
    *fl = *fr = 0.5;
  }
}

/* Expected value of node (l, p) for output k. */
static double expected(const tree_view *tv, int l, int p, int k) {
  while (is_pass(tv, l, p)) {
    l++;
    p *= 2;
  }
  if (l == tv->d)
    return tv->value[k * tv->nl + p];
  double fl, fr;
  fractions(tv, l, p, &fl, &fr);
  double e = 0.0;
  if (fl != 0.0)
    e += fl * expected(tv, l + 1, 2 * p, k);
  if (fr != 0.0)
    e += fr * expected(tv, l + 1, 2 * p + 1, k);
  return e;
}

static void extend_path(path_el *path, int u, double zero, double one,
                        int feature) {
  path[u].feature = feature;
  path[u].zero = zero;
  path[u].one = one;
  path[u].weight = u == 0 ? 1.0 : 0.0;
  for (int i = u - 1; i >= 0; i--) {
    path[i + 1].weight += one * path[i].weight * (i + 1) / (double)(u + 1);
    path[i].weight = zero * path[i].weight * (u - i) / (double)(u + 1);
  }
}

static void unwind_path(path_el *path, int u, int idx) {
  const double one = path[idx].one, zero = path[idx].zero;
  double next = path[u].weight;
  for (int i = u - 1; i >= 0; i--) {
    if (one != 0.0) {
      const double tmp = path[i].weight;
      path[i].weight = next * (u + 1) / ((i + 1) * one);
      next = tmp - path[i].weight * zero * (u - i) / (double)(u + 1);
    } else {
      path[i].weight = path[i].weight * (u + 1) / (zero * (u - i));
    }
  }
  for (int i = idx; i < u; i++) {
    path[i].feature = path[i + 1].feature;
    path[i].zero = path[i + 1].zero;
    path[i].one = path[i + 1].one;
  }
}

static double unwound_sum(const path_el *path, int u, int idx) {
  const double one = path[idx].one, zero = path[idx].zero;
  double next = path[u].weight, total = 0.0;
  if (one != 0.0) {
    for (int i = u - 1; i >= 0; i--) {
      const double tmp = next * (u + 1) / ((i + 1) * one);
      total += tmp;
      next = path[i].weight - tmp * zero * (u - i) / (double)(u + 1);
    }
  } else {
    for (int i = u - 1; i >= 0; i--)
      total += path[i].weight * (u + 1) / (zero * (u - i));
  }
  return total;
}

typedef struct shap_row {
  const tree_view *tv;
  const float *x;
  const int32_t *xc;
  int D;
  double *phi; /* F x K */
} shap_row;

static void recurse(const shap_row *r, int l, int p, path_el *parent, int u,
                    double zero, double one, int feature) {
  const tree_view *tv = r->tv;
  path_el *path = parent + u + 1;
  memcpy(path, parent, (size_t)(u + 1) * sizeof *path);
  extend_path(path, u, zero, one, feature);
  while (is_pass(tv, l, p)) {
    l++;
    p *= 2;
  }
  const int K = tv->K;
  if (l == tv->d) {
    const float *v = tv->value + p;
    for (int i = 1; i <= u; i++) {
      const double w = unwound_sum(path, u, i) * (path[i].one - path[i].zero);
      double *ph = r->phi + (int64_t)path[i].feature * K;
      for (int k = 0; k < K; k++)
        ph[k] += w * v[k * tv->nl];
    }
    return;
  }
  const int s = split_of(tv, l, p);
  const uint32_t sp = tv->split[s];
  const int f = BRL_SPLIT_FEATURE(sp);
  const int right = brl__goes_right(sp, tv->thr[s], r->x, r->xc, r->D);
  double fl, fr;
  fractions(tv, l, p, &fl, &fr);
  const double f_hot = right ? fr : fl, f_cold = right ? fl : fr;
  double in_zero = 1.0, in_one = 1.0;
  int k = 1;
  while (k <= u && path[k].feature != f)
    k++;
  if (k <= u) {
    in_zero = path[k].zero;
    in_one = path[k].one;
    unwind_path(path, u, k);
    u--;
  }
  /* A branch with no weight either way contributes nothing. */
  if (f_hot * in_zero != 0.0 || in_one != 0.0)
    recurse(r, l + 1, 2 * p + right, path, u + 1, f_hot * in_zero, in_one, f);
  if (f_cold * in_zero != 0.0)
    recurse(r, l + 1, 2 * p + !right, path, u + 1, f_cold * in_zero, 0.0, f);
}

/* Covers of every node of every tree (offsets in off, n_trees + 1). */
static int all_covers(const brl_model *m, double **covers, int64_t **offsets) {
  const brl_trees *T = &m->trees;
  int64_t *off = malloc(sizeof(int64_t) * ((size_t)T->n + 1));
  if (!off)
    return brl__fail(BRL_ENOMEM, "out of memory computing SHAP values");
  off[0] = 0;
  for (int t = 0; t < T->n; t++)
    off[t + 1] = off[t] + 2 * brl__tree_leaves(T->depth[t]) - 1;
  double *c = malloc(sizeof(double) * (size_t)(off[T->n] ? off[T->n] : 1));
  if (!c) {
    free(off);
    return brl__fail(BRL_ENOMEM, "out of memory computing SHAP values");
  }
  for (int t = 0; t < T->n; t++) {
    tree_view tv = {T->depth[t],
                    (T->flags[t] & BRL_TREE_OBLIVIOUS) != 0,
                    1 << T->depth[t],
                    m->n_outputs,
                    T->split + T->split_off[t],
                    T->threshold + T->split_off[t],
                    NULL,
                    NULL};
    node_covers(&tv, T->cover + T->leaf_off[t], c + off[t]);
  }
  *covers = c;
  *offsets = off;
  return BRL_OK;
}

static tree_view view_of(const brl_model *m, int t, const double *covers,
                         const int64_t *off) {
  const brl_trees *T = &m->trees;
  tree_view tv = {T->depth[t],
                  (T->flags[t] & BRL_TREE_OBLIVIOUS) != 0,
                  1 << T->depth[t],
                  m->n_outputs,
                  T->split + T->split_off[t],
                  T->threshold + T->split_off[t],
                  T->value + (int64_t)T->leaf_off[t] * m->n_outputs,
                  covers + off[t]};
  return tv;
}

static int refuse_adam(const brl_model *m) {
  if (m->p.optimizer == BRL_OPTIMIZER_ADAM)
    return brl__fail(BRL_EUNSUPPORTED,
                     "SHAP values need an additive ensemble: this model uses "
                     "the Adam optimizer, whose prediction is not a sum of "
                     "its trees");
  return BRL_OK;
}

/* Expected value per output in double: bias + sum of the trees'. */
static void expected_all(const brl_model *m, const double *covers,
                         const int64_t *off, double *e) {
  const int K = m->n_outputs;
  for (int k = 0; k < K; k++)
    e[k] = m->bias[k];
  for (int t = 0; t < m->trees.n; t++) {
    tree_view tv = view_of(m, t, covers, off);
    for (int k = 0; k < K; k++)
      e[k] += expected(&tv, 0, 0, k);
  }
}

int brl_model_expected_value(const brl_model *m, float *out) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  int rc = refuse_adam(m);
  if (rc)
    return rc;
  double *covers;
  int64_t *off;
  if ((rc = all_covers(m, &covers, &off)))
    return rc;
  double *e = malloc(sizeof(double) * (size_t)m->n_outputs);
  if (!e) {
    free(covers);
    free(off);
    return brl__fail(BRL_ENOMEM, "out of memory computing SHAP values");
  }
  expected_all(m, covers, off, e);
  for (int k = 0; k < m->n_outputs; k++)
    out[k] = (float)e[k];
  free(e);
  free(covers);
  free(off);
  return BRL_OK;
}

int brl_model_shap(const brl_model *m, const float *X, const int32_t *X_cat,
                   int64_t n_rows, float *out) {
  static const float no_num[1];
  static const int32_t no_cat[1];
  BRL_CHECK_ARG(m);
  int rc = refuse_adam(m);
  if (rc)
    return rc;
  if (n_rows < 0)
    return brl__fail(BRL_EINVAL, "n_rows is %lld: use 0 or more",
                     (long long)n_rows);
  if (n_rows == 0)
    return BRL_OK;
  BRL_CHECK_ARG(out);
  const int D = m->p.n_features, C = m->p.n_cat_features, F = m->n_feat,
            K = m->n_outputs;
  if (!X && D > 0)
    return brl__fail(BRL_EINVAL, "X is NULL");
  if (!X_cat && C > 0)
    return brl__fail(BRL_EINVAL,
                     "X_cat is NULL but the model has %d categorical features",
                     C);
  if (!X)
    X = no_num;
  if (!X_cat)
    X_cat = no_cat;
  double *covers;
  int64_t *off;
  if ((rc = all_covers(m, &covers, &off)))
    return rc;
  const int n_trees = m->trees.n;
  int nt = m->p.n_threads > 0 ? m->p.n_threads : omp_get_max_threads();
  if (nt < 1)
    nt = 1;
  if (n_rows < 2 * nt || (int64_t)n_rows * n_trees < 20000)
    nt = 1;
  const size_t row_len = (size_t)(F + 1) * (size_t)K;
  double *e = malloc(sizeof(double) * (size_t)K);
  double *phi = malloc(sizeof(double) * row_len * (size_t)nt);
  if (!e || !phi) {
    free(e);
    free(phi);
    free(covers);
    free(off);
    return brl__fail(BRL_ENOMEM, "out of memory computing SHAP values");
  }
  expected_all(m, covers, off, e);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 16) if (nt > 1)
  for (int64_t i = 0; i < n_rows; i++) {
    double *ph = phi + row_len * (size_t)omp_get_thread_num();
    memset(ph, 0, sizeof(double) * row_len);
    path_el path[PATH_CAP];
    shap_row r = {NULL, X + i * D, X_cat + i * C, D, ph};
    for (int t = 0; t < n_trees; t++) {
      tree_view tv = view_of(m, t, covers, off);
      r.tv = &tv;
      recurse(&r, 0, 0, path, 0, 1.0, 1.0, -1);
    }
    float *o = out + (size_t)i * row_len;
    for (size_t j = 0; j < (size_t)F * (size_t)K; j++)
      o[j] = (float)ph[j];
    for (int k = 0; k < K; k++)
      o[(size_t)F * (size_t)K + (size_t)k] = (float)e[k];
  }
  free(e);
  free(phi);
  free(covers);
  free(off);
  return BRL_OK;
}
