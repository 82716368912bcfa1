/* Readable prints of a model's trees: Graphviz DOT and indented text
 * (the JSON format is the engine's: src/engine/model_json.c). */
#include "core/error.h"
#include "core/text.h"
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------- DOT and text */

typedef struct printer {
  const brl_model *m;
  const char *const *names; /* NULL or n_feat names */
  brl_sb *s;
  int dot; /* escape for DOT labels */
} printer;

static void put_escaped(printer *pr, const char *str) {
  if (!pr->dot) {
    brl__sb_puts(pr->s, str);
    return;
  }
  for (const char *c = str; *c; c++) {
    if (*c == '"' || *c == '\\')
      brl__sb_putn(pr->s, "\\", 1);
    if (*c == '\n')
      brl__sb_puts(pr->s, "\\n");
    else
      brl__sb_putn(pr->s, c, 1);
  }
}

static void put_feature(printer *pr, int f) {
  const int D = pr->m->p.n_features;
  if (pr->names && pr->names[f])
    put_escaped(pr, pr->names[f]);
  else if (f < D)
    brl__sb_printf(pr->s, "x[%d]", f);
  else
    brl__sb_printf(pr->s, "cat[%d]", f - D);
}

/* "x[2] <= 0.5" or "cat[0] == \"red\"" */
static void put_condition(printer *pr, uint32_t sp, float thr) {
  const unsigned fl = BRL_SPLIT_FLAGS(sp);
  const int f = BRL_SPLIT_FEATURE(sp);
  put_feature(pr, f);
  if (fl & BRL_SPLIT_CAT) {
    int32_t code = brl__thr_to_code(thr);
    const brl_catdict *d = &pr->m->dicts[f - pr->m->p.n_features];
    if (code < d->n) {
      brl__sb_puts(pr->s, pr->dot ? " == \\\"" : " == \"");
      put_escaped(pr, d->str[code]);
      brl__sb_puts(pr->s, pr->dot ? "\\\"" : "\"");
    } else {
      brl__sb_printf(pr->s, " == %ld", (long)code);
    }
  } else {
    brl__sb_puts(pr->s, " <= ");
    brl__sb_float(pr->s, thr);
  }
}

static void put_leaf_values(printer *pr, int t, int leaf) {
  const brl_trees *T = &pr->m->trees;
  const int K = pr->m->n_outputs, nl = 1 << T->depth[t];
  const float *v = T->value + (int64_t)T->leaf_off[t] * K;
  for (int k = 0; k < K; k++) {
    if (k)
      brl__sb_puts(pr->s, ", ");
    brl__sb_float(pr->s, v[k * nl + leaf]);
  }
}

static int check_range(const brl_model *m, int start, int *stop) {
  if (*stop < 0)
    *stop = m->trees.n;
  if (start < 0 || start > *stop || *stop > m->trees.n)
    return brl__fail(BRL_EINVAL,
                     "tree range [%d, %d) is invalid: the model has %d trees",
                     start, *stop, m->trees.n);
  return BRL_OK;
}

static int pass_node(const brl_trees *T, int t, int l, int p) {
  return !(T->flags[t] & BRL_TREE_OBLIVIOUS) && l < T->depth[t] &&
         (BRL_SPLIT_FLAGS(T->split[T->split_off[t] + (1 << l) - 1 + p]) &
          BRL_SPLIT_PASS);
}

/* DOT: node (l, p) of tree t (pass-through nodes collapsed into their left
 * child), returns nothing; its id is t<t>_<l>_<p> of the first non-pass
 * node. */
static void dot_node(printer *pr, int t, int l, int p) {
  const brl_trees *T = &pr->m->trees;
  const int d = T->depth[t];
  if (l == d) {
    brl__sb_printf(pr->s, "  t%d_%d_%d [shape=box, label=\"leaf %d\\ncover ", t,
                   l, p, p);
    brl__sb_float(pr->s, T->cover[T->leaf_off[t] + p]);
    brl__sb_puts(pr->s, "\\n");
    put_leaf_values(pr, t, p);
    brl__sb_puts(pr->s, "\"];\n");
    return;
  }
  const int s = (T->flags[t] & BRL_TREE_OBLIVIOUS) ? l : (1 << l) - 1 + p;
  const uint32_t sp = T->split[T->split_off[t] + s];
  brl__sb_printf(pr->s, "  t%d_%d_%d [label=\"", t, l, p);
  put_condition(pr, sp, T->threshold[T->split_off[t] + s]);
  brl__sb_puts(pr->s, "\"];\n");
  const int dl = (BRL_SPLIT_FLAGS(sp) & BRL_SPLIT_DEFAULT_LEFT) != 0;
  for (int side = 0; side < 2; side++) {
    int cl = l + 1, cp = 2 * p + side;
    while (pass_node(T, t, cl, cp)) {
      cl++;
      cp *= 2;
    }
    brl__sb_printf(pr->s, "  t%d_%d_%d -> t%d_%d_%d [label=\"%s%s\"];\n", t, l,
                   p, t, cl, cp, side ? "no" : "yes",
                   dl == !side ? ", missing" : "");
    dot_node(pr, t, cl, cp);
  }
}

int brl_model_dump_dot(const brl_model *m, int start, int stop,
                       const char *const *feature_names, char **out,
                       size_t *len) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  *out = NULL;
  int rc = check_range(m, start, &stop);
  if (rc)
    return rc;
  brl_sb s = {0};
  printer pr = {m, feature_names, &s, 1};
  brl__sb_puts(&s,
               "digraph boostrl {\n  node [shape=ellipse, "
               "fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\"];\n");
  const brl_trees *T = &m->trees;
  for (int t = start; t < stop; t++) {
    brl__sb_printf(&s,
                   "  subgraph cluster_t%d {\n  label=\"tree %d (%s, depth "
                   "%d)\";\n",
                   t, t,
                   (T->flags[t] & BRL_TREE_OBLIVIOUS) ? "oblivious" : "greedy",
                   T->depth[t]);
    int l = 0, p = 0;
    while (pass_node(T, t, l, p))
      l++;
    dot_node(&pr, t, l, p);
    brl__sb_puts(&s, "  }\n");
  }
  brl__sb_puts(&s, "}\n");
  return brl__sb_finish(&s, out, len);
}

static void text_leaf(printer *pr, int t, int leaf) {
  brl__sb_printf(pr->s, "leaf %d (cover ", leaf);
  brl__sb_float(pr->s, pr->m->trees.cover[pr->m->trees.leaf_off[t] + leaf]);
  brl__sb_puts(pr->s, "): ");
  put_leaf_values(pr, t, leaf);
  brl__sb_puts(pr->s, "\n");
}

static void missing_side(printer *pr, uint32_t sp) {
  brl__sb_puts(pr->s, (BRL_SPLIT_FLAGS(sp) & BRL_SPLIT_DEFAULT_LEFT)
                          ? " (missing: yes)"
                          : " (missing: no)");
}

static void text_greedy(printer *pr, int t, int l, int p, int indent,
                        const char *edge) {
  const brl_trees *T = &pr->m->trees;
  while (pass_node(T, t, l, p)) {
    l++;
    p *= 2;
  }
  brl__sb_printf(pr->s, "%*s%s", indent, "", edge);
  if (l == T->depth[t]) {
    text_leaf(pr, t, p);
    return;
  }
  const int s = (int)T->split_off[t] + (1 << l) - 1 + p;
  put_condition(pr, T->split[s], T->threshold[s]);
  missing_side(pr, T->split[s]);
  brl__sb_puts(pr->s, "\n");
  text_greedy(pr, t, l + 1, 2 * p, indent + 2, "yes: ");
  text_greedy(pr, t, l + 1, 2 * p + 1, indent + 2, "no: ");
}

int brl_model_dump_text(const brl_model *m, int start, int stop,
                        const char *const *feature_names, char **out,
                        size_t *len) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  *out = NULL;
  int rc = check_range(m, start, &stop);
  if (rc)
    return rc;
  brl_sb s = {0};
  printer pr = {m, feature_names, &s, 0};
  const brl_trees *T = &m->trees;
  brl__sb_printf(&s,
                 "boostrl model: %d trees, %d numeric + %d categorical "
                 "features, %d outputs, %s\nbias: ",
                 T->n, m->p.n_features, m->p.n_cat_features, m->n_outputs,
                 m->p.optimizer == BRL_OPTIMIZER_ADAM
                     ? "Adam (leaves hold raw mean gradients)"
                     : "prediction = bias + sum of leaves");
  for (int k = 0; k < m->n_outputs; k++) {
    if (k)
      brl__sb_puts(&s, ", ");
    brl__sb_float(&s, m->bias[k]);
  }
  brl__sb_puts(&s, "\n");
  for (int t = start; t < stop; t++) {
    const int d = T->depth[t], obl = (T->flags[t] & BRL_TREE_OBLIVIOUS) != 0;
    brl__sb_printf(&s, "tree %d: %s, depth %d\n", t,
                   obl ? "oblivious" : "greedy", d);
    if (!obl) {
      text_greedy(&pr, t, 0, 0, 2, "");
      continue;
    }
    for (int l = 0; l < d; l++) {
      const int sx = (int)T->split_off[t] + l;
      brl__sb_printf(&s, "  level %d: ", l);
      put_condition(&pr, T->split[sx], T->threshold[sx]);
      missing_side(&pr, T->split[sx]);
      brl__sb_puts(&s, "\n");
    }
    for (int leaf = 0; leaf < (1 << d); leaf++) {
      brl__sb_puts(&s, "  ");
      for (int l = 0; l < d; l++)
        brl__sb_puts(&s, (leaf >> (d - 1 - l)) & 1 ? "no " : "yes ");
      text_leaf(&pr, t, leaf);
    }
  }
  return brl__sb_finish(&s, out, len);
}
