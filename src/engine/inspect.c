/* Read-only views of single trees (for tests, dumps and explanations). */
#include "core/error.h"
#include "engine/model.h"

static int check_tree(const brl_model *m, int tree) {
  BRL_CHECK_ARG(m);
  if (tree < 0 || tree >= m->trees.n)
    return brl__fail(BRL_EINVAL, "tree %d does not exist (the model has %d)",
                     tree, m->trees.n);
  return BRL_OK;
}

int brl_model_tree_info(const brl_model *m, int tree, brl_tree_info *out) {
  int rc = check_tree(m, tree);
  if (rc)
    return rc;
  BRL_CHECK_ARG(out);
  const brl_trees *T = &m->trees;
  out->depth = T->depth[tree];
  out->oblivious = (T->flags[tree] & BRL_TREE_OBLIVIOUS) != 0;
  out->n_leaves = 1 << out->depth;
  int64_t so = T->split_off[tree], ns = T->split_off[tree + 1] - so;
  int real = 0;
  for (int64_t s = 0; s < ns; s++)
    real += !(BRL_SPLIT_FLAGS(T->split[so + s]) & BRL_SPLIT_PASS);
  out->n_splits = out->oblivious ? out->n_leaves - 1 : real;
  return BRL_OK;
}

int brl_model_tree_leaf(const brl_model *m, int tree, const float *x,
                        const int32_t *x_cat, int *leaf) {
  int rc = check_tree(m, tree);
  if (rc)
    return rc;
  static const float no_num[1];
  static const int32_t no_cat[1];
  if (m->p.n_features > 0)
    BRL_CHECK_ARG(x);
  if (m->p.n_cat_features > 0)
    BRL_CHECK_ARG(x_cat);
  BRL_CHECK_ARG(leaf);
  *leaf = brl__tree_leaf(m, tree, x ? x : no_num, x_cat ? x_cat : no_cat);
  return BRL_OK;
}

int brl_model_leaf_value(const brl_model *m, int tree, int leaf, int k,
                         float *value, float *cover) {
  int rc = check_tree(m, tree);
  if (rc)
    return rc;
  const brl_trees *T = &m->trees;
  int nl = 1 << T->depth[tree];
  if (leaf < 0 || leaf >= nl || k < 0 || k >= m->n_outputs)
    return brl__fail(BRL_EINVAL,
                     "leaf %d / output %d out of range (%d leaves, %d "
                     "outputs)",
                     leaf, k, nl, m->n_outputs);
  if (value)
    *value =
        T->value[(int64_t)T->leaf_off[tree] * m->n_outputs + k * nl + leaf];
  if (cover)
    *cover = T->cover[T->leaf_off[tree] + leaf];
  return BRL_OK;
}
