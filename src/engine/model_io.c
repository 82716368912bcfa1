/* Saving and loading models: chunks <prefix>"PA" (parameters), <prefix>"BI"
 * (bias and feature weights), <prefix>"TR" (trees). Loading validates every
 * count, index and value before it builds the model. */
#include "engine/model_io.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void tag(char out[4], const char prefix[2], const char *kind) {
  out[0] = prefix[0];
  out[1] = prefix[1];
  out[2] = kind[0];
  out[3] = kind[1];
}

void brl__model_write_chunks(const brl_model *m, brl_buf *b,
                             const char prefix[2]) {
  char t[4];
  const brl_params *p = &m->p;
  tag(t, prefix, "PA");
  brl__chunk_begin(b, t);
  brl__buf_u32(b, (uint32_t)p->n_features);
  brl__buf_u32(b, (uint32_t)p->n_groups);
  for (int g = 0; g < p->n_groups; g++) {
    const brl_group *gr = &p->groups[g];
    brl__buf_u32(b, (uint32_t)gr->n_outputs);
    brl__buf_f32(b, gr->lr);
    brl__buf_f32(b, gr->lr_end);
    brl__buf_u32(b, (uint32_t)gr->schedule);
    brl__buf_u32(b, (uint32_t)gr->schedule_trees);
    brl__buf_f32(b, gr->score_weight);
  }
  brl__buf_u32(b, (uint32_t)p->max_depth);
  brl__buf_u32(b, (uint32_t)p->min_data_in_leaf);
  brl__buf_u32(b, (uint32_t)p->n_bins);
  brl__buf_u32(b, (uint32_t)p->grow_policy);
  brl__buf_u32(b, (uint32_t)p->split_score);
  brl__buf_u32(b, (uint32_t)p->bin_method);
  brl__buf_u32(b, (uint32_t)p->n_threads);
  brl__buf_u32(b, (uint32_t)p->clip_nonfinite);
  brl__buf_u32(b, (uint32_t)p->n_cat_features);
  brl__buf_u32(b, (uint32_t)p->optimizer);
  brl__buf_f32(b, p->adam_beta1);
  brl__buf_f32(b, p->adam_beta2);
  brl__buf_f32(b, p->adam_eps);
  brl__buf_u32(b, (uint32_t)p->control_variates);
  brl__buf_f32(b, p->cv_decay);
  brl__chunk_end(b);

  if (p->n_cat_features > 0) {
    tag(t, prefix, "CD");
    brl__chunk_begin(b, t);
    for (int c = 0; c < p->n_cat_features; c++) {
      const brl_catdict *d = &m->dicts[c];
      brl__buf_u32(b, (uint32_t)d->n);
      for (int32_t i = 0; i < d->n; i++) {
        uint32_t len = (uint32_t)strlen(d->str[i]);
        brl__buf_u32(b, len);
        brl__buf_bytes(b, d->str[i], len);
      }
    }
    brl__chunk_end(b);
  }

  tag(t, prefix, "BI");
  brl__chunk_begin(b, t);
  for (int k = 0; k < m->n_outputs; k++)
    brl__buf_f32(b, m->bias[k]);
  for (int f = 0; f < m->n_feat; f++)
    brl__buf_f32(b, m->feature_weights[f]);
  brl__chunk_end(b);

  const brl_trees *T = &m->trees;
  const int K = m->n_outputs;
  tag(t, prefix, "TR");
  brl__chunk_begin(b, t);
  brl__buf_u32(b, (uint32_t)T->n);
  for (int i = 0; i < T->n; i++) {
    brl__buf_u8(b, T->depth[i]);
    brl__buf_u8(b, T->flags[i]);
  }
  int64_t ns = T->n ? T->split_off[T->n] : 0, nl = T->n ? T->leaf_off[T->n] : 0;
  for (int64_t s = 0; s < ns; s++) {
    brl__buf_u32(b, (uint32_t)BRL_SPLIT_FEATURE(T->split[s]));
    brl__buf_f32(b, T->threshold[s]);
    brl__buf_u8(b, (uint8_t)BRL_SPLIT_FLAGS(T->split[s]));
    brl__buf_f32(b, T->gain[s]);
  }
  for (int64_t i = 0; i < nl * K; i++)
    brl__buf_f32(b, T->value[i]);
  for (int64_t i = 0; i < nl; i++)
    brl__buf_f32(b, T->cover[i]);
  for (int64_t i = 0; i < (int64_t)T->n * T->n_lr; i++)
    brl__buf_f32(b, T->lr[i]);
  brl__chunk_end(b);
}

static int corrupt(const char *what) {
  return brl__fail(BRL_EFORMAT, "corrupt model: %s", what);
}

static int read_params(brl_reader *r, brl_params *p) {
  memset(p, 0, sizeof *p);
  p->struct_size = sizeof *p;
  p->n_features = (int)brl__rd_u32(r);
  uint32_t ng = brl__rd_u32(r);
  if (ng < 1 || ng > BRL_MAX_GROUPS)
    return corrupt("the number of output groups is out of range");
  p->n_groups = (int)ng;
  for (uint32_t g = 0; g < ng; g++) {
    brl_group *gr = &p->groups[g];
    gr->n_outputs = (int)brl__rd_u32(r);
    gr->lr = brl__rd_f32(r);
    gr->lr_end = brl__rd_f32(r);
    gr->schedule = (brl_schedule)brl__rd_u32(r);
    gr->schedule_trees = (int)brl__rd_u32(r);
    gr->score_weight = brl__rd_f32(r);
  }
  p->max_depth = (int)brl__rd_u32(r);
  p->min_data_in_leaf = (int)brl__rd_u32(r);
  p->n_bins = (int)brl__rd_u32(r);
  p->grow_policy = (brl_grow_policy)brl__rd_u32(r);
  p->split_score = (brl_split_score)brl__rd_u32(r);
  p->bin_method = (brl_bin_method)brl__rd_u32(r);
  p->n_threads = (int)brl__rd_u32(r);
  p->clip_nonfinite = (int)brl__rd_u32(r);
  p->n_cat_features = (int)brl__rd_u32(r);
  p->optimizer = (int)brl__rd_u32(r);
  p->adam_beta1 = brl__rd_f32(r);
  p->adam_beta2 = brl__rd_f32(r);
  p->adam_eps = brl__rd_f32(r);
  p->control_variates = (int)brl__rd_u32(r);
  p->cv_decay = brl__rd_f32(r);
  if (r->err || r->off != r->len)
    return corrupt("the parameter chunk is truncated");
  int rc = brl_params_check(p);
  if (rc)
    return brl__fail(BRL_EFORMAT, "corrupt model: invalid parameters (%s)",
                     brl_last_error());
  return BRL_OK;
}

static int read_trees(brl_reader *r, brl_model *m) {
  const int K = m->n_outputs, D = m->p.n_features, F = m->n_feat;
  uint32_t n = brl__rd_u32(r);
  if (r->err || n > INT32_MAX - 1 || (uint64_t)n * 2 > r->len - r->off)
    return corrupt("the tree count does not fit the chunk");
  brl_trees *T = &m->trees;
  const uint8_t *hdr = brl__rd_bytes(r, (size_t)n * 2);
  int64_t ns = 0, nl = 0;
  for (uint32_t i = 0; i < n; i++) {
    int d = hdr[2 * i], fl = hdr[2 * i + 1];
    if (d > m->p.max_depth || (fl & ~BRL_TREE_FLAG_MASK))
      return brl__fail(BRL_EFORMAT,
                       "corrupt model: tree %u has depth %d or flags %d out "
                       "of range",
                       i, d, fl);
    ns += brl__tree_splits(fl & BRL_TREE_OBLIVIOUS, d);
    nl += brl__tree_leaves(d);
  }
  /* 13 bytes per split, 4(K+1) per leaf, 4 per tree and group for Adam:
   * check before allocating. */
  uint64_t need = (uint64_t)ns * 13 + (uint64_t)nl * 4 * (uint64_t)(K + 1) +
                  (uint64_t)n * 4 * (uint64_t)T->n_lr;
  if (need != r->len - r->off)
    return corrupt("the tree chunk's length does not match its trees");
  for (uint32_t i = 0; i < n; i++) {
    int d = hdr[2 * i], obl = hdr[2 * i + 1] & BRL_TREE_OBLIVIOUS;
    int64_t s = brl__tree_splits(obl, d), l = brl__tree_leaves(d);
    int rc = brl__trees_reserve(T, K, s, l);
    if (rc)
      return rc;
    brl__trees_commit(T, d, obl, s, l);
    T->flags[T->n - 1] = (uint8_t)hdr[2 * i + 1];
  }
  for (uint32_t i = 0; i < n; i++) {
    int has_cat = 0;
    const int obl = T->flags[i] & BRL_TREE_OBLIVIOUS;
    for (int64_t s = T->split_off[i]; s < T->split_off[i + 1]; s++) {
      uint32_t f = brl__rd_u32(r);
      float thr = brl__rd_f32(r);
      uint8_t fl = brl__rd_u8(r);
      float gain = brl__rd_f32(r);
      int cat = (fl & BRL_SPLIT_CAT) != 0;
      int ok = f < (uint32_t)F && !(fl & ~BRL_SPLIT_FLAG_MASK) &&
               isfinite(gain) && (cat ? (int)f >= D : (int)f < D) &&
               (cat ? brl__thr_to_code(thr) >= 0 : !isnan(thr)) &&
               !((fl & BRL_SPLIT_PASS) && (obl || cat));
      if (!ok)
        return brl__fail(BRL_EFORMAT,
                         "corrupt model: split %lld has feature %u (of %d), "
                         "threshold %g or flags %u out of range",
                         (long long)s, f, F, (double)thr, fl);
      has_cat |= cat;
      T->split[s] = BRL_SPLIT_PACK(f, fl);
      T->threshold[s] = thr;
      T->gain[s] = gain;
    }
    if (has_cat != ((T->flags[i] & BRL_TREE_HAS_CAT) != 0))
      return brl__fail(BRL_EFORMAT,
                       "corrupt model: tree %u's categorical flag does not "
                       "match its splits",
                       i);
  }
  for (int64_t i = 0; i < nl * K; i++) {
    T->value[i] = brl__rd_f32(r);
    if (!isfinite(T->value[i]))
      return corrupt("a leaf value is not finite");
  }
  for (int64_t i = 0; i < nl; i++) {
    T->cover[i] = brl__rd_f32(r);
    if (!(T->cover[i] >= 0.0f) || !isfinite(T->cover[i]))
      return corrupt("a leaf cover is negative or not finite");
  }
  for (int64_t i = 0; i < (int64_t)n * T->n_lr; i++) {
    T->lr[i] = brl__rd_f32(r);
    if (!(T->lr[i] > 0.0f) || !isfinite(T->lr[i]))
      return corrupt("a tree's learning rate is not a finite number > 0");
  }
  if (r->err)
    return corrupt("the tree chunk is truncated");
  return BRL_OK;
}

static int read_dicts(brl_reader *r, brl_model *m) {
  for (int c = 0; c < m->p.n_cat_features; c++) {
    uint32_t n = brl__rd_u32(r);
    if (r->err || n > (r->len - r->off) / 4)
      return corrupt("a dictionary's size does not fit the chunk");
    for (uint32_t i = 0; i < n; i++) {
      uint32_t len = brl__rd_u32(r);
      const uint8_t *p = brl__rd_bytes(r, len);
      if (!p || memchr(p, 0, len))
        return corrupt("a dictionary string is truncated or holds a NUL");
      char buf[256];
      char *s = len < sizeof buf ? buf : malloc((size_t)len + 1);
      if (!s)
        return brl__fail(BRL_ENOMEM, "out of memory reading a dictionary");
      memcpy(s, p, len);
      s[len] = 0;
      int32_t code;
      int rc = brl__catdict_add(&m->dicts[c], s, &code);
      if (s != buf)
        free(s);
      if (rc)
        return rc;
      if (code != (int32_t)i)
        return corrupt("a dictionary holds the same string twice");
    }
  }
  if (r->off != r->len)
    return corrupt("stray bytes after the dictionaries");
  return BRL_OK;
}

/* The model's arrays are sized by counts the file declares: check them
 * against the bytes that hold their contents before allocating anything, so
 * a few bytes cannot make the loader allocate gigabytes. */
static int check_sizes(const brl_container *c, const char prefix[2],
                       const brl_params *p) {
  char t[4];
  brl_reader r;
  const uint64_t K = (uint64_t)brl_params_n_outputs(p);
  const uint64_t F = (uint64_t)p->n_features + (uint64_t)p->n_cat_features;
  tag(t, prefix, "BI");
  if (!brl__container_find(c, t, &r))
    return brl__fail(BRL_EFORMAT, "corrupt model: chunk %.4s is missing", t);
  if ((uint64_t)r.len != 4 * (K + F))
    return brl__fail(BRL_EFORMAT,
                     "corrupt model: n_features %d + n_cat_features %d and "
                     "%llu outputs need %llu bytes of bias and feature "
                     "weights, but chunk %.4s holds %zu",
                     p->n_features, p->n_cat_features, (unsigned long long)K,
                     (unsigned long long)(4 * (K + F)), t, r.len);
  tag(t, prefix, "TR");
  if (!brl__container_find(c, t, &r))
    return brl__fail(BRL_EFORMAT, "corrupt model: chunk %.4s is missing", t);
  if (p->n_cat_features > 0) {
    tag(t, prefix, "CD");
    if (!brl__container_find(c, t, &r))
      return corrupt("the dictionaries are missing");
    if ((uint64_t)r.len < 4 * (uint64_t)p->n_cat_features)
      return brl__fail(BRL_EFORMAT,
                       "corrupt model: n_cat_features is %d, but chunk %.4s "
                       "holds %zu bytes, fewer than 4 per dictionary",
                       p->n_cat_features, t, r.len);
  }
  return BRL_OK;
}

int brl__model_read_chunks(const brl_container *c, const char prefix[2],
                           brl_model **out) {
  *out = NULL;
  char t[4];
  brl_reader r;
  brl_params p;
  tag(t, prefix, "PA");
  if (!brl__container_find(c, t, &r))
    return brl__fail(BRL_EFORMAT, "the file holds no model (chunk %.4s)", t);
  int rc = read_params(&r, &p);
  if (!rc)
    rc = check_sizes(c, prefix, &p);
  if (rc)
    return rc;
  brl_model *m;
  rc = brl__model_alloc(&p, &m);
  if (rc)
    return rc;
  tag(t, prefix, "BI");
  brl__container_find(c, t, &r);
  for (int k = 0; k < m->n_outputs; k++)
    m->bias[k] = brl__rd_f32(&r);
  for (int f = 0; f < m->n_feat; f++)
    m->feature_weights[f] = brl__rd_f32(&r);
  int bad = r.err || r.off != r.len;
  for (int k = 0; k < m->n_outputs; k++)
    bad |= !isfinite(m->bias[k]);
  for (int f = 0; f < m->n_feat; f++)
    bad |= !(m->feature_weights[f] >= 0.0f) || !isfinite(m->feature_weights[f]);
  if (bad) {
    brl_model_free(&m);
    return corrupt("the bias chunk is truncated or holds invalid values");
  }
  tag(t, prefix, "TR");
  if (!brl__container_find(c, t, &r)) {
    brl_model_free(&m);
    return brl__fail(BRL_EFORMAT, "corrupt model: chunk %.4s is missing", t);
  }
  rc = read_trees(&r, m);
  if (!rc && p.n_cat_features > 0) {
    tag(t, prefix, "CD");
    rc = brl__container_find(c, t, &r)
             ? read_dicts(&r, m)
             : corrupt("the dictionaries are missing");
  }
  if (rc) {
    brl_model_free(&m);
    return rc;
  }
  *out = m;
  return BRL_OK;
}

int brl_model_save_buffer(const brl_model *m, void **buf, size_t *len) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(buf);
  BRL_CHECK_ARG(len);
  brl_buf b;
  brl__container_begin(&b);
  brl__model_write_chunks(m, &b, "M0");
  int rc = brl__container_finish(&b);
  if (rc)
    return rc;
  *buf = b.data;
  *len = b.len;
  return BRL_OK;
}

int brl_model_load_buffer(const void *buf, size_t len, brl_model **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(buf);
  brl_container c;
  int rc = brl__container_open(buf, len, &c);
  if (rc)
    return rc;
  return brl__model_read_chunks(&c, "M0", out);
}

int brl_model_save(const brl_model *m, const char *path) {
  BRL_CHECK_ARG(path);
  void *buf = NULL;
  size_t len = 0;
  const int rc = brl_model_save_buffer(m, &buf, &len);
  return brl__write_owned(path, rc, buf, len);
}

static int parse_model(const void *buf, size_t len, void *out) {
  return brl_model_load_buffer(buf, len, out);
}

int brl_model_load(const char *path, brl_model **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(path);
  return brl__load_file(path, parse_model, out);
}
