/* The model JSON format (docs/MODEL_JSON.md): writing and the strict
 * loader, on core's one JSON reader and writer (core/json.h). The JSON
 * holds every field of the binary model file, with floats written as the
 * shortest decimals that read back to the same bits, so dump -> load gives
 * an identical model. */
#include "core/container.h"
#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "engine/model_io.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FORMAT "boostrl-model"
#define JSON_FORMAT_VERSION 1

static const char *const schedule_names[] = {"constant", "linear_trees",
                                             "linear_progress", NULL};
static const char *const grow_names[] = {"oblivious", "greedy", NULL};
static const char *const score_names[] = {"cosine", "l2", NULL};
static const char *const bins_names[] = {"quantile", "uniform", NULL};
static const char *const optimizer_names[] = {"sgd", "adam", NULL};

static const char *name_of(const char *const *names, int v) {
  for (int i = 0; names[i]; i++)
    if (i == v)
      return names[i];
  return "?";
}

/* ------------------------------------------------------------ writing */

static void json_params(brl_sb *s, const brl_params *p) {
  brl__sb_printf(s, "  \"params\": {\n    \"n_features\": %d,\n",
                 p->n_features);
  brl__sb_printf(s, "    \"n_cat_features\": %d,\n    \"groups\": [\n",
                 p->n_cat_features);
  for (int g = 0; g < p->n_groups; g++) {
    const brl_group *gr = &p->groups[g];
    brl__sb_printf(s, "      {\"n_outputs\": %d, \"lr\": ", gr->n_outputs);
    brl__json_put_float(s, gr->lr);
    brl__sb_puts(s, ", \"lr_end\": ");
    brl__json_put_float(s, gr->lr_end);
    brl__sb_printf(s, ", \"schedule\": \"%s\", \"schedule_trees\": %d, ",
                   name_of(schedule_names, (int)gr->schedule),
                   gr->schedule_trees);
    brl__sb_puts(s, "\"score_weight\": ");
    brl__json_put_float(s, gr->score_weight);
    brl__sb_puts(s, g + 1 < p->n_groups ? "},\n" : "}\n");
  }
  brl__sb_puts(s, "    ],\n");
  brl__sb_printf(s,
                 "    \"max_depth\": %d,\n    \"min_data_in_leaf\": %d,\n"
                 "    \"n_bins\": %d,\n    \"grow_policy\": \"%s\",\n"
                 "    \"split_score\": \"%s\",\n    \"bin_method\": \"%s\",\n"
                 "    \"n_threads\": %d,\n    \"clip_nonfinite\": %d,\n"
                 "    \"optimizer\": \"%s\",\n    \"adam_beta1\": ",
                 p->max_depth, p->min_data_in_leaf, p->n_bins,
                 name_of(grow_names, (int)p->grow_policy),
                 name_of(score_names, (int)p->split_score),
                 name_of(bins_names, (int)p->bin_method), p->n_threads,
                 p->clip_nonfinite, name_of(optimizer_names, p->optimizer));
  brl__json_put_float(s, p->adam_beta1);
  brl__sb_puts(s, ",\n    \"adam_beta2\": ");
  brl__json_put_float(s, p->adam_beta2);
  brl__sb_puts(s, ",\n    \"adam_eps\": ");
  brl__json_put_float(s, p->adam_eps);
  brl__sb_printf(s, ",\n    \"control_variates\": %d,\n    \"cv_decay\": ",
                 p->control_variates);
  brl__json_put_float(s, p->cv_decay);
  brl__sb_puts(s, "\n  },\n");
}

static void json_split(brl_sb *s, const brl_model *m, uint32_t sp, float thr,
                       float gain) {
  const unsigned fl = BRL_SPLIT_FLAGS(sp);
  const int f = BRL_SPLIT_FEATURE(sp);
  const int dl = (fl & BRL_SPLIT_DEFAULT_LEFT) != 0;
  if (fl & BRL_SPLIT_PASS) {
    /* The engine's pass-through node: feature 0, +inf, missing left, gain
     * 0. Anything else is written out. */
    brl__sb_puts(s, "{\"pass\": true");
    if (f != 0)
      brl__sb_printf(s, ", \"feature\": %d", f);
    if (!(isinf(thr) && thr > 0)) {
      brl__sb_puts(s, ", \"threshold\": ");
      brl__json_put_float(s, thr);
    }
    if (!dl)
      brl__sb_puts(s, ", \"missing\": \"right\"");
    if (gain != 0.0f || signbit(gain)) {
      brl__sb_puts(s, ", \"gain\": ");
      brl__json_put_float(s, gain);
    }
    brl__sb_putn(s, "}", 1);
    return;
  }
  brl__sb_printf(s, "{\"feature\": %d, ", f);
  if (fl & BRL_SPLIT_CAT) {
    int32_t code = brl__thr_to_code(thr);
    brl__sb_printf(s, "\"category\": %ld, ", (long)code);
    const brl_catdict *d = &m->dicts[f - m->p.n_features];
    if (code < d->n) {
      brl__sb_puts(s, "\"category_name\": ");
      brl__json_put_string(s, d->str[code]);
      brl__sb_puts(s, ", ");
    }
  } else {
    brl__sb_puts(s, "\"threshold\": ");
    brl__json_put_float(s, thr);
    brl__sb_puts(s, ", ");
  }
  brl__sb_printf(s, "\"missing\": \"%s\", \"gain\": ", dl ? "left" : "right");
  brl__json_put_float(s, gain);
  brl__sb_putn(s, "}", 1);
}

int brl_model_dump_json(const brl_model *m, char **out, size_t *len) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  *out = NULL;
  const brl_params *p = &m->p;
  const int K = m->n_outputs;
  for (int c = 0; c < p->n_cat_features; c++)
    for (int32_t i = 0; i < m->dicts[c].n; i++)
      if (!brl__json_utf8_valid(m->dicts[c].str[i]))
        return brl__fail(BRL_EUNSUPPORTED,
                         "category %d of categorical feature %d is not valid "
                         "UTF-8, which JSON cannot hold",
                         (int)i, c);
  brl_sb s = {0};
  brl__sb_printf(&s,
                 "{\n  \"format\": \"%s\",\n  \"format_version\": %d,\n"
                 "  \"library_version\": \"%s\",\n",
                 JSON_FORMAT, JSON_FORMAT_VERSION, brl_version());
  json_params(&s, p);
  brl__sb_printf(&s, "  \"n_outputs\": %d,\n  \"bias\": ", K);
  brl__json_put_floats(&s, m->bias, K);
  brl__sb_puts(&s, ",\n  \"feature_weights\": ");
  brl__json_put_floats(&s, m->feature_weights, m->n_feat);
  if (p->n_cat_features > 0) {
    brl__sb_puts(&s, ",\n  \"categories\": [");
    for (int c = 0; c < p->n_cat_features; c++) {
      brl__sb_puts(&s, c ? ",\n    [" : "\n    [");
      for (int32_t i = 0; i < m->dicts[c].n; i++) {
        if (i)
          brl__sb_puts(&s, ", ");
        brl__json_put_string(&s, m->dicts[c].str[i]);
      }
      brl__sb_putn(&s, "]", 1);
    }
    brl__sb_puts(&s, "\n  ]");
  }
  brl__sb_puts(&s, ",\n  \"trees\": [");
  const brl_trees *T = &m->trees;
  for (int t = 0; t < T->n; t++) {
    const int d = T->depth[t], obl = (T->flags[t] & BRL_TREE_OBLIVIOUS) != 0;
    const int64_t nl = brl__tree_leaves(d), so = T->split_off[t];
    const int64_t ns = T->split_off[t + 1] - so;
    brl__sb_printf(&s,
                   "%s\n    {\n      \"depth\": %d,\n      \"oblivious\": %s,\n"
                   "      \"splits\": [",
                   t ? "," : "", d, obl ? "true" : "false");
    for (int64_t i = 0; i < ns; i++) {
      brl__sb_puts(&s, i ? ",\n        " : "\n        ");
      json_split(&s, m, T->split[so + i], T->threshold[so + i],
                 T->gain[so + i]);
    }
    brl__sb_puts(&s, ns ? "\n      ],\n      \"values\": ["
                        : "],\n      \"values\": [");
    const float *v = T->value + (int64_t)T->leaf_off[t] * K;
    for (int k = 0; k < K; k++) {
      if (k)
        brl__sb_puts(&s, ", ");
      brl__json_put_floats(&s, v + k * nl, nl);
    }
    brl__sb_puts(&s, "],\n      \"covers\": ");
    brl__json_put_floats(&s, T->cover + T->leaf_off[t], nl);
    if (T->n_lr) {
      brl__sb_puts(&s, ",\n      \"lr\": ");
      brl__json_put_floats(&s, T->lr + (int64_t)t * T->n_lr, T->n_lr);
    }
    brl__sb_puts(&s, "\n    }");
  }
  brl__sb_puts(&s, T->n ? "\n  ]\n}\n" : "]\n}\n");
  return brl__sb_finish(&s, out, len);
}

int brl_model_save_json(const brl_model *m, const char *path) {
  BRL_CHECK_ARG(path);
  char *text = NULL;
  size_t len = 0;
  const int rc = brl_model_dump_json(m, &text, &len);
  return brl__write_owned(path, rc, text, len);
}

/* ------------------------------------------------------------ loading */

typedef struct loader {
  const brl_json *j;
  char where[160]; /* the object being read, for messages */
} loader;

static const brl_jnode *node(const loader *ld, int32_t i) {
  return &ld->j->nodes[i];
}

static int bad(const loader *ld, int32_t i, const char *fmt, ...)
    BRL_PRINTF(3, 4);
static int bad(const loader *ld, int32_t i, const char *fmt, ...) {
  int line = 0, col = 0;
  if (i >= 0)
    brl__json_where(ld->j, node(ld, i)->off, &line, &col);
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return brl__fail(BRL_EFORMAT, "model JSON, %s (line %d, column %d): %s",
                   ld->where, line, col, msg);
}

static int key_is(const loader *ld, int32_t key, const char *name) {
  return brl__json_string_is(ld->j, key, name, strlen(name));
}

/* Checks that obj is an object whose members are all in `allowed` (NULL-
 * terminated, at most 32), each at most once. */
static int check_object(const loader *ld, int32_t obj,
                        const char *const *allowed) {
  if (node(ld, obj)->type != BRL_JOBJECT)
    return bad(ld, obj, "expected an object");
  uint32_t seen = 0;
  for (int32_t k = node(ld, obj)->child; k >= 0;
       k = node(ld, node(ld, k)->next)->next) {
    int a = 0;
    while (allowed[a] && !key_is(ld, k, allowed[a]))
      a++;
    if (!allowed[a]) {
      char buf[64];
      if (brl__json_string(ld->j, k, buf, sizeof buf) < 0)
        strcpy(buf, "(a long name)");
      return bad(ld, k, "unknown member \"%s\"", buf);
    }
    if (seen & (1u << a))
      return bad(ld, k, "member \"%s\" appears twice", allowed[a]);
    seen |= 1u << a;
  }
  return BRL_OK;
}

/* Value of member `key` of obj, or -1. */
static int32_t member(const loader *ld, int32_t obj, const char *key) {
  return brl__json_member(ld->j, obj, key);
}

static int require(const loader *ld, int32_t obj, const char *key,
                   int32_t *out) {
  *out = member(ld, obj, key);
  if (*out < 0)
    return bad(ld, obj, "member \"%s\" is missing", key);
  return BRL_OK;
}

static int as_int(const loader *ld, int32_t v, const char *key, int64_t lo,
                  int64_t hi, int64_t *out) {
  const brl_jnode *nd = node(ld, v);
  if (nd->type != BRL_JNUMBER)
    return bad(ld, v, "\"%s\" must be an integer", key);
  const char *s = ld->j->src + nd->off;
  int neg = s[0] == '-';
  int64_t x = 0;
  for (uint32_t i = (uint32_t)neg; i < nd->len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return bad(ld, v, "\"%s\" must be an integer", key);
    if (x > (INT64_MAX - 9) / 10)
      return bad(ld, v, "\"%s\" is out of range", key);
    x = x * 10 + (s[i] - '0');
  }
  x = neg ? -x : x;
  if (x < lo || x > hi)
    return bad(ld, v, "\"%s\" is out of range", key);
  *out = x;
  return BRL_OK;
}

static int get_int(const loader *ld, int32_t obj, const char *key, int64_t lo,
                   int64_t hi, int *out) {
  int32_t v;
  int64_t x;
  int rc = require(ld, obj, key, &v);
  if (!rc)
    rc = as_int(ld, v, key, lo, hi, &x);
  if (!rc)
    *out = (int)x;
  return rc;
}

/* A number, or one of the strings "inf", "-inf", "nan". */
static int as_float(const loader *ld, int32_t v, const char *key, float *out) {
  if (brl__json_float(ld->j, v, out))
    return BRL_OK;
  return bad(ld, v, "\"%s\" must be a number (or \"inf\", \"-inf\", \"nan\")",
             key);
}

static int get_float(const loader *ld, int32_t obj, const char *key,
                     float *out) {
  int32_t v;
  int rc = require(ld, obj, key, &v);
  return rc ? rc : as_float(ld, v, key, out);
}

static int get_bool(const loader *ld, int32_t obj, const char *key, int *out) {
  int32_t v;
  int rc = require(ld, obj, key, &v);
  if (rc)
    return rc;
  int t = node(ld, v)->type;
  if (t != BRL_JTRUE && t != BRL_JFALSE)
    return bad(ld, v, "\"%s\" must be true or false", key);
  *out = t == BRL_JTRUE;
  return BRL_OK;
}

static int get_enum(const loader *ld, int32_t obj, const char *key,
                    const char *const *names, int *out) {
  int32_t v;
  int rc = require(ld, obj, key, &v);
  if (rc)
    return rc;
  if (node(ld, v)->type == BRL_JSTRING)
    for (int i = 0; names[i]; i++)
      if (key_is(ld, v, names[i])) {
        *out = i;
        return BRL_OK;
      }
  return bad(ld, v, "\"%s\" has an unknown value", key);
}

/* Reads an array of exactly n floats into out. */
static int get_floats(const loader *ld, int32_t v, const char *key, int64_t n,
                      float *out) {
  if (v < 0 || node(ld, v)->type != BRL_JARRAY || node(ld, v)->n != n) {
    return bad(ld, v, "\"%s\" must be an array of %lld numbers", key,
               (long long)n);
  }
  int64_t i = 0;
  for (int32_t e = node(ld, v)->child; e >= 0; e = node(ld, e)->next) {
    int rc = as_float(ld, e, key, &out[i++]);
    if (rc)
      return rc;
  }
  return BRL_OK;
}

static int load_params(loader *ld, int32_t obj, brl_params *p) {
  static const char *const keys[] = {
      "n_features",       "n_cat_features",   "groups",
      "max_depth",        "min_data_in_leaf", "n_bins",
      "grow_policy",      "split_score",      "bin_method",
      "n_threads",        "clip_nonfinite",   "optimizer",
      "adam_beta1",       "adam_beta2",       "adam_eps",
      "control_variates", "cv_decay",         NULL};
  static const char *const gkeys[] = {
      "n_outputs",      "lr",           "lr_end", "schedule",
      "schedule_trees", "score_weight", NULL};
  memset(p, 0, sizeof *p);
  p->struct_size = sizeof *p;
  snprintf(ld->where, sizeof ld->where, "params");
  int rc = check_object(ld, obj, keys);
  int e;
  int32_t groups;
  if (rc ||
      (rc = get_int(ld, obj, "n_features", 0, INT32_MAX, &p->n_features)) ||
      (rc = get_int(ld, obj, "n_cat_features", 0, INT32_MAX,
                    &p->n_cat_features)) ||
      (rc = get_int(ld, obj, "max_depth", INT32_MIN, INT32_MAX,
                    &p->max_depth)) ||
      (rc = get_int(ld, obj, "min_data_in_leaf", INT32_MIN, INT32_MAX,
                    &p->min_data_in_leaf)) ||
      (rc = get_int(ld, obj, "n_bins", INT32_MIN, INT32_MAX, &p->n_bins)) ||
      (rc = get_enum(ld, obj, "grow_policy", grow_names, &e)))
    return rc;
  p->grow_policy = (brl_grow_policy)e;
  if ((rc = get_enum(ld, obj, "split_score", score_names, &e)))
    return rc;
  p->split_score = (brl_split_score)e;
  if ((rc = get_enum(ld, obj, "bin_method", bins_names, &e)))
    return rc;
  p->bin_method = (brl_bin_method)e;
  if ((rc = get_int(ld, obj, "n_threads", INT32_MIN, INT32_MAX,
                    &p->n_threads)) ||
      (rc = get_int(ld, obj, "clip_nonfinite", INT32_MIN, INT32_MAX,
                    &p->clip_nonfinite)) ||
      (rc = get_enum(ld, obj, "optimizer", optimizer_names, &p->optimizer)) ||
      (rc = get_float(ld, obj, "adam_beta1", &p->adam_beta1)) ||
      (rc = get_float(ld, obj, "adam_beta2", &p->adam_beta2)) ||
      (rc = get_float(ld, obj, "adam_eps", &p->adam_eps)) ||
      (rc = get_int(ld, obj, "control_variates", INT32_MIN, INT32_MAX,
                    &p->control_variates)) ||
      (rc = get_float(ld, obj, "cv_decay", &p->cv_decay)) ||
      (rc = require(ld, obj, "groups", &groups)))
    return rc;
  if (node(ld, groups)->type != BRL_JARRAY || node(ld, groups)->n < 1 ||
      node(ld, groups)->n > BRL_MAX_GROUPS)
    return bad(ld, groups, "\"groups\" must be an array of 1 to 8 groups");
  p->n_groups = node(ld, groups)->n;
  int g = 0;
  for (int32_t v = node(ld, groups)->child; v >= 0; v = node(ld, v)->next) {
    brl_group *gr = &p->groups[g];
    snprintf(ld->where, sizeof ld->where, "params.groups[%d]", g++);
    if ((rc = check_object(ld, v, gkeys)) ||
        (rc = get_int(ld, v, "n_outputs", INT32_MIN, INT32_MAX,
                      &gr->n_outputs)) ||
        (rc = get_float(ld, v, "lr", &gr->lr)) ||
        (rc = get_float(ld, v, "lr_end", &gr->lr_end)) ||
        (rc = get_enum(ld, v, "schedule", schedule_names, &e)))
      return rc;
    gr->schedule = (brl_schedule)e;
    if ((rc = get_int(ld, v, "schedule_trees", INT32_MIN, INT32_MAX,
                      &gr->schedule_trees)) ||
        (rc = get_float(ld, v, "score_weight", &gr->score_weight)))
      return rc;
  }
  return BRL_OK;
}

static int load_categories(loader *ld, int32_t v, brl_model *m) {
  const int C = m->p.n_cat_features;
  snprintf(ld->where, sizeof ld->where, "categories");
  if (v < 0 || node(ld, v)->type != BRL_JARRAY || node(ld, v)->n != C)
    return bad(ld, v,
               "\"categories\" must be an array with one array of strings "
               "per categorical feature");
  int c = 0;
  for (int32_t a = node(ld, v)->child; a >= 0; a = node(ld, a)->next, c++) {
    snprintf(ld->where, sizeof ld->where, "categories[%d]", c);
    if (node(ld, a)->type != BRL_JARRAY)
      return bad(ld, a, "expected an array of strings");
    for (int32_t e = node(ld, a)->child; e >= 0; e = node(ld, e)->next) {
      if (node(ld, e)->type != BRL_JSTRING)
        return bad(ld, e, "expected a string");
      int64_t n = brl__json_string_len(ld->j, e);
      char *str = malloc((size_t)n + 1);
      if (!str)
        return brl__fail(BRL_ENOMEM, "out of memory reading categories");
      brl__json_string(ld->j, e, str, (size_t)n + 1);
      int32_t code, before = m->dicts[c].n;
      int rc = memchr(str, 0, (size_t)n)
                   ? bad(ld, e, "a category holds a NUL character")
                   : brl__catdict_add(&m->dicts[c], str, &code);
      free(str);
      if (rc)
        return rc;
      if (code != before)
        return bad(ld, e, "the same category appears twice");
    }
  }
  return BRL_OK;
}

/* Scratch arrays for one tree of depth up to max_depth. */
typedef struct tree_buf {
  uint32_t *split;
  float *thr, *gain, *value, *cover, *lr;
  int depth; /* the deepest tree they hold */
} tree_buf;

static int load_split(loader *ld, int32_t v, const brl_model *m, int oblivious,
                      uint32_t *split, float *thr, float *gain) {
  static const char *const keys[] = {"feature",       "threshold", "category",
                                     "category_name", "missing",   "gain",
                                     "pass",          NULL};
  int rc = check_object(ld, v, keys);
  if (rc)
    return rc;
  const int D = m->p.n_features, F = m->n_feat;
  int pass = 0, f = 0, dl = 1;
  int32_t x;
  *thr = INFINITY;
  *gain = 0.0f;
  if ((x = member(ld, v, "pass")) >= 0 && (rc = get_bool(ld, v, "pass", &pass)))
    return rc;
  if (pass && oblivious)
    return bad(ld, v, "an oblivious tree has no pass-through nodes");
  if ((x = member(ld, v, "gain")) >= 0 && (rc = as_float(ld, x, "gain", gain)))
    return rc;
  if ((x = member(ld, v, "missing")) >= 0 || !pass) {
    int right;
    if ((rc = get_enum(ld, v, "missing",
                       (const char *const[]){"left", "right", NULL}, &right)))
      return rc;
    dl = !right;
  }
  if ((x = member(ld, v, "feature")) >= 0 || !pass) {
    if ((rc = get_int(ld, v, "feature", 0, F - 1, &f)))
      return rc;
  }
  int32_t cat = member(ld, v, "category"), th = member(ld, v, "threshold");
  if (pass && cat >= 0)
    return bad(ld, v, "a pass-through node is not categorical");
  if (!pass && (cat >= 0) == (th >= 0))
    return bad(ld, v, "a split has either \"threshold\" or \"category\"");
  if (th >= 0 && (rc = as_float(ld, th, "threshold", thr)))
    return rc;
  unsigned fl = (dl ? BRL_SPLIT_DEFAULT_LEFT : 0) | (pass ? BRL_SPLIT_PASS : 0);
  if (cat >= 0) {
    int64_t code;
    if ((rc = as_int(ld, cat, "category", 0, INT32_MAX, &code)))
      return rc;
    if (f < D)
      return bad(ld, v,
                 "a categorical split on numeric feature %d (features %d and "
                 "up are categorical)",
                 f, D);
    *thr = brl__code_to_thr((int32_t)code);
    fl |= BRL_SPLIT_CAT;
    int32_t nm = member(ld, v, "category_name");
    if (nm >= 0) {
      const brl_catdict *d = &m->dicts[f - D];
      int ok = node(ld, nm)->type == BRL_JSTRING && code < d->n;
      if (ok) {
        size_t want = strlen(d->str[code]);
        ok = brl__json_string_len(ld->j, nm) == (int64_t)want;
        char *buf = ok ? malloc(want + 1) : NULL;
        if (ok && !buf)
          return brl__fail(BRL_ENOMEM, "out of memory loading a model");
        if (ok) {
          brl__json_string(ld->j, nm, buf, want + 1);
          ok = memcmp(buf, d->str[code], want) == 0;
          free(buf);
        }
      }
      if (!ok)
        return bad(ld, nm,
                   "\"category_name\" does not match category %ld of the "
                   "dictionary",
                   (long)code);
    }
  } else if (member(ld, v, "category_name") >= 0) {
    return bad(ld, v, "\"category_name\" belongs to categorical splits");
  }
  *split = BRL_SPLIT_PACK(f, fl);
  return BRL_OK;
}

static int load_tree(loader *ld, int32_t v, int t, brl_model *m, tree_buf *b) {
  static const char *const keys[] = {"depth",  "oblivious", "splits", "values",
                                     "covers", "lr",        NULL};
  const int K = m->n_outputs;
  snprintf(ld->where, sizeof ld->where, "trees[%d]", t);
  int rc = check_object(ld, v, keys);
  int d = 0, obl = 0;
  int32_t splits, values;
  if (rc || (rc = get_int(ld, v, "depth", 0, m->p.max_depth, &d)) ||
      (rc = get_bool(ld, v, "oblivious", &obl)) ||
      (rc = require(ld, v, "splits", &splits)) ||
      (rc = require(ld, v, "values", &values)))
    return rc;
  const int64_t ns = brl__tree_splits(obl, d), nl = brl__tree_leaves(d);
  if (d > b->depth) /* deepest_tree() found its values malformed */
    return bad(ld, values,
               "\"values\" must hold %d arrays of %lld leaf values (a tree "
               "of depth %d)",
               K, (long long)nl, d);
  if (node(ld, splits)->type != BRL_JARRAY || node(ld, splits)->n != ns) {
    return bad(ld, splits,
               "\"splits\" must be an array of %lld splits (%s tree of "
               "depth %d)",
               (long long)ns, obl ? "an oblivious" : "a greedy", d);
  }
  int64_t i = 0;
  for (int32_t e = node(ld, splits)->child; e >= 0;
       e = node(ld, e)->next, i++) {
    snprintf(ld->where, sizeof ld->where, "trees[%d].splits[%lld]", t,
             (long long)i);
    if ((rc = load_split(ld, e, m, obl, &b->split[i], &b->thr[i], &b->gain[i])))
      return rc;
  }
  snprintf(ld->where, sizeof ld->where, "trees[%d]", t);
  if (node(ld, values)->type != BRL_JARRAY || node(ld, values)->n != K)
    return bad(ld, values,
               "\"values\" must hold one array of leaf values per output");
  int k = 0;
  for (int32_t e = node(ld, values)->child; e >= 0; e = node(ld, e)->next)
    if ((rc = get_floats(ld, e, "values", nl, b->value + nl * k++)))
      return rc;
  if ((rc = get_floats(ld, member(ld, v, "covers"), "covers", nl, b->cover)))
    return rc;
  int32_t lr = member(ld, v, "lr");
  if ((lr >= 0) != (m->trees.n_lr > 0))
    return bad(ld, v,
               "\"lr\" (the groups' rates) is required for Adam models and "
               "only for them");
  if (lr >= 0 && (rc = get_floats(ld, lr, "lr", m->trees.n_lr, b->lr)))
    return rc;
  return brl__model_append_tree(m, d, obl, b->split, b->thr, b->gain, b->value,
                                b->cover, lr >= 0 ? b->lr : NULL);
}

/* The arrays a model allocates are sized by counts in "params": check them
 * against the arrays the text holds before allocating, so that a few bytes
 * cannot make the loader allocate gigabytes. */
static int check_sizes(loader *ld, const brl_params *p) {
  const int64_t K = brl_params_n_outputs(p),
                F = (int64_t)p->n_features + p->n_cat_features;
  const int32_t root = 0;
  snprintf(ld->where, sizeof ld->where, "top level");
  int32_t v = member(ld, root, "bias");
  if (v < 0 || node(ld, v)->type != BRL_JARRAY || node(ld, v)->n != K)
    return bad(ld, v < 0 ? root : v,
               "\"bias\" must be an array of %lld numbers, one per output "
               "of the groups' n_outputs",
               (long long)K);
  v = member(ld, root, "feature_weights");
  if (v < 0 || node(ld, v)->type != BRL_JARRAY || node(ld, v)->n != F)
    return bad(ld, v < 0 ? root : v,
               "\"feature_weights\" must be an array of n_features + "
               "n_cat_features = %lld numbers",
               (long long)F);
  v = member(ld, root, "categories");
  if (p->n_cat_features > 0 && (v < 0 || node(ld, v)->type != BRL_JARRAY ||
                                node(ld, v)->n != p->n_cat_features))
    return bad(ld, v < 0 ? root : v,
               "\"categories\" must be an array of n_cat_features = %d "
               "arrays of strings",
               p->n_cat_features);
  return BRL_OK;
}

/* The deepest tree whose "values" hold K arrays of its 2^depth leaves: the
 * scratch arrays are sized for it, not for max_depth (the other trees are
 * rejected when they are read). */
static int deepest_tree(const loader *ld, int32_t trees, int K, int max_depth) {
  int deepest = 0;
  for (int32_t e = node(ld, trees)->child; e >= 0; e = node(ld, e)->next) {
    int32_t dv, vv;
    if (node(ld, e)->type != BRL_JOBJECT || (dv = member(ld, e, "depth")) < 0 ||
        (vv = member(ld, e, "values")) < 0 ||
        node(ld, dv)->type != BRL_JNUMBER || node(ld, vv)->type != BRL_JARRAY ||
        node(ld, vv)->n != K)
      continue;
    /* Digits only (no message: a bad depth is reported when read). */
    const char *s = ld->j->src + node(ld, dv)->off;
    int d = 0, ok = node(ld, dv)->len <= 2;
    for (uint32_t i = 0; ok && i < node(ld, dv)->len; i++)
      ok = s[i] >= '0' && s[i] <= '9' && (d = d * 10 + (s[i] - '0')) >= 0;
    if (!ok || d <= deepest || d > max_depth)
      continue;
    for (int32_t a = node(ld, vv)->child; ok && a >= 0; a = node(ld, a)->next)
      ok = node(ld, a)->type == BRL_JARRAY &&
           node(ld, a)->n == brl__tree_leaves(d);
    if (ok)
      deepest = d;
  }
  return deepest;
}

static int load_model(loader *ld, brl_model **out) {
  static const char *const keys[] = {
      "format", "format_version",  "library_version", "params", "n_outputs",
      "bias",   "feature_weights", "categories",      "trees",  "metadata",
      NULL};
  const int32_t root = 0;
  snprintf(ld->where, sizeof ld->where, "top level");
  int rc = check_object(ld, root, keys);
  int32_t v;
  if (rc || (rc = require(ld, root, "format", &v)))
    return rc;
  if (node(ld, v)->type != BRL_JSTRING || !key_is(ld, v, JSON_FORMAT))
    return bad(ld, v, "\"format\" must be \"%s\"", JSON_FORMAT);
  int version;
  if ((rc = get_int(ld, root, "format_version", 0, INT32_MAX, &version)))
    return rc;
  if (version != JSON_FORMAT_VERSION)
    return bad(ld, root,
               "format_version %d is not supported (this library reads "
               "version %d)",
               version, JSON_FORMAT_VERSION);
  if ((v = member(ld, root, "library_version")) >= 0 &&
      node(ld, v)->type != BRL_JSTRING)
    return bad(ld, v, "\"library_version\" must be a string");
  brl_params p;
  int32_t pv;
  if ((rc = require(ld, root, "params", &pv)) || (rc = load_params(ld, pv, &p)))
    return rc;
  if ((rc = brl_params_check(&p)))
    return brl__fail(BRL_EFORMAT, "model JSON: invalid parameters (%s)",
                     brl_last_error());
  if ((rc = check_sizes(ld, &p)))
    return rc;
  brl_model *m;
  if ((rc = brl__model_alloc(&p, &m)))
    return rc;
  const int K = m->n_outputs, F = m->n_feat;
  int k_file;
  tree_buf b = {0};
  snprintf(ld->where, sizeof ld->where, "top level");
  if ((rc = get_int(ld, root, "n_outputs", 0, INT32_MAX, &k_file)))
    goto done;
  if (k_file != K) {
    rc = bad(ld, root, "\"n_outputs\" does not match the groups");
    goto done;
  }
  if ((rc = get_floats(ld, member(ld, root, "bias"), "bias", K, m->bias)) ||
      (rc = get_floats(ld, member(ld, root, "feature_weights"),
                       "feature_weights", F, m->feature_weights)))
    goto done;
  for (int k = 0; k < K; k++)
    if (!isfinite(m->bias[k])) {
      rc = bad(ld, member(ld, root, "bias"), "a bias is not finite");
      goto done;
    }
  for (int f = 0; f < F; f++)
    if (!(m->feature_weights[f] >= 0.0f) || !isfinite(m->feature_weights[f])) {
      rc = bad(ld, member(ld, root, "feature_weights"),
               "feature weights must be finite and >= 0");
      goto done;
    }
  v = member(ld, root, "categories");
  if (p.n_cat_features > 0 || v >= 0)
    if ((rc = load_categories(ld, v, m)))
      goto done;
  snprintf(ld->where, sizeof ld->where, "top level");
  if ((rc = require(ld, root, "trees", &v)))
    goto done;
  if (node(ld, v)->type != BRL_JARRAY) {
    rc = bad(ld, v, "\"trees\" must be an array");
    goto done;
  }
  b.depth = deepest_tree(ld, v, K, p.max_depth);
  const int64_t max_l = brl__tree_leaves(b.depth);
  b.split = malloc(sizeof(uint32_t) * (size_t)max_l);
  b.thr = malloc(sizeof(float) * (size_t)max_l);
  b.gain = malloc(sizeof(float) * (size_t)max_l);
  b.value = malloc(sizeof(float) * (size_t)(max_l * K));
  b.cover = malloc(sizeof(float) * (size_t)max_l);
  b.lr = malloc(sizeof(float) * BRL_MAX_GROUPS);
  if (!b.split || !b.thr || !b.gain || !b.value || !b.cover || !b.lr) {
    rc = brl__fail(BRL_ENOMEM, "out of memory loading a model");
    goto done;
  }
  int t = 0;
  for (int32_t e = node(ld, v)->child; e >= 0; e = node(ld, e)->next)
    if ((rc = load_tree(ld, e, t++, m, &b)))
      goto done;
done:
  free(b.split);
  free(b.thr);
  free(b.gain);
  free(b.value);
  free(b.cover);
  free(b.lr);
  if (rc) {
    brl_model_free(&m);
    return rc;
  }
  m->generation = 0;
  *out = m;
  return BRL_OK;
}

int brl_model_load_json(const char *json, size_t len, brl_model **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(json);
  brl_json j;
  int rc = brl__json_parse(json, len, &j);
  if (rc)
    return rc;
  loader ld = {&j, {0}};
  rc = load_model(&ld, out);
  brl__json_free(&j);
  return rc;
}

static int parse_json(const void *buf, size_t len, void *out) {
  return brl_model_load_json((const char *)buf, len, out);
}

int brl_model_load_json_file(const char *path, brl_model **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(path);
  return brl__load_file(path, parse_json, out);
}
