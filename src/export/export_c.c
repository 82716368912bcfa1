/* Export of a model to dependency-free C99 (float32, int32 and int16
 * fixed-point variants). The generated code walks the trees exactly as
 * brl__leaf_of does, from constant tables:
 *
 *   split[s]     feature << 3 | flags (1: missing goes left, 2: greedy
 *                pass-through, 4: categorical)
 *   threshold[s] float, or (fixed point) the threshold's index among its
 *                feature's cuts; code[s] the category
 *   leaf[]       leaf-major, K values per leaf
 *
 * Fixed point routes every sample exactly as float32 does, by ranks: per
 * numeric feature j, cut[cut_off[j] .. cut_off[j + 1]) holds the sorted
 * distinct (non-NaN) thresholds of the splits on j, and a split stores the
 * index i of its threshold there. NAME_eval finds once per call the rank of
 * each input, r(v) = #{cuts < v} (binary search; NaN -> -1, which each split
 * sends to its default side), and since the cuts are sorted and distinct,
 * v <= cut[i] exactly when r(v) <= i: the tree walk compares integers only
 * and takes the float32 branches (a NaN threshold, never left for a number,
 * gets index -1). Ranks are int16 when every feature has <= 32767 cuts, else
 * int32. Leaves are round(v * leaf_scale[k]) with the scale chosen so that
 * no sum over the trees leaves the int32 accumulator; the logits of a
 * discrete action share one scale, so their argmax is taken on the integers
 * and differs from float32 only through the leaves' rounding. */
#include "core/abi.h"
#include "core/container.h"
#include "core/error.h"
#include "core/text.h"
#include "engine/model_view.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct exporter {
  const brl_model_view *m; /* the engine's read-only view */
  const brl_export_options *o;
  char name[72], upper[72];
  int fixed; /* int32 or int16 */
  const char *thr_t, *leaf_t;
  int D, C, K, NT;
  int64_t NS, NL;
  int has_cat, has_pass, has_obl, has_greedy, has_num, has_inf, norm;
  /* fixed: per numeric feature j, its sorted distinct thresholds
   * cut[cut_off[j] .. cut_off[j + 1]); per split, its threshold's index
   * there (-1: NaN threshold; 0 for categorical and pass-through). */
  float *cut;
  int64_t *cut_off, n_cut;
  int32_t *rank_of;
  int rank16;        /* fixed: ranks fit int16_t */
  double *out_scale; /* fixed: per output */
  brl_sb *s;
  size_t table_bytes;
} exporter;

/* struct_size: the first version ends at action_high. */
static const brl__abi_struct options_abi = {
    "brl_export_options", "brl_export_options_default",
    BRL__END(brl_export_options, action_high), sizeof(brl_export_options)};

static void defaults(brl_export_options *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->name = "brl_model";
  o->variant = BRL_EXPORT_FLOAT32;
  o->action = BRL_EXPORT_ACTION_NONE;
}

void brl_export_options_default_sized(brl_export_options *o,
                                      size_t struct_size) {
  if (!o)
    return;
  brl_export_options full;
  defaults(&full);
  brl__abi_out(&options_abi, &full, o, struct_size);
}

/* ------------------------------------------------------------- checks */

static int check_options(const brl_model_view *m, const brl_export_options *o) {
  const char *nm = o->name ? o->name : "brl_model";
  size_t n = strlen(nm);
  int ok = n > 0 && n <= 64 && (isalpha((unsigned char)nm[0]) || nm[0] == '_');
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)nm[i]) || nm[i] == '_';
  if (!ok)
    return brl__fail(BRL_EINVAL,
                     "export name \"%s\" is not a C identifier of 1 to 64 "
                     "characters (letters, digits, '_', not starting with a "
                     "digit)",
                     nm);
  if (o->variant < BRL_EXPORT_FLOAT32 || o->variant > BRL_EXPORT_INT16)
    return brl__fail(BRL_EINVAL,
                     "export variant %d is unknown: use BRL_EXPORT_FLOAT32, "
                     "_INT32 or _INT16",
                     (int)o->variant);
  if (m->p->optimizer == BRL_OPTIMIZER_ADAM)
    return brl__fail(BRL_EUNSUPPORTED,
                     "export to C needs an additive ensemble: this model uses "
                     "the Adam optimizer, whose prediction is not a sum of "
                     "its trees");
  const int D = m->p->n_features, K = m->n_outputs;
  if (!o->obs_mean != !o->obs_std)
    return brl__fail(BRL_EINVAL,
                     "give both obs_mean and obs_std (or neither) for the "
                     "observation normalisation");
  for (int j = 0; o->obs_mean && j < D; j++)
    if (!isfinite(o->obs_mean[j]) || !(o->obs_std[j] > 0.0f) ||
        !isfinite(o->obs_std[j]))
      return brl__fail(BRL_EINVAL,
                       "observation normalisation of feature %d: mean %g and "
                       "std %g must be finite and std > 0",
                       j, (double)o->obs_mean[j], (double)o->obs_std[j]);
  if (!(o->obs_clip >= 0.0f) || !isfinite(o->obs_clip))
    return brl__fail(BRL_EINVAL,
                     "obs_clip is %g: use 0 (none) or a finite "
                     "number > 0",
                     (double)o->obs_clip);
  if (o->action < BRL_EXPORT_ACTION_NONE ||
      o->action > BRL_EXPORT_ACTION_CONTINUOUS)
    return brl__fail(BRL_EINVAL, "export action kind %d is unknown",
                     (int)o->action);
  if (o->action != BRL_EXPORT_ACTION_NONE &&
      (o->action_offset < 0 || o->action_dim < 1 ||
       o->action_dim > K - o->action_offset))
    return brl__fail(BRL_EINVAL,
                     "action columns [%d, %d + %d) do not fit the model's %d "
                     "outputs",
                     o->action_offset, o->action_offset, o->action_dim, K);
  if (o->action == BRL_EXPORT_ACTION_CONTINUOUS)
    for (int j = 0; j < o->action_dim; j++) {
      float lo = o->action_low ? o->action_low[j] : -INFINITY;
      float hi = o->action_high ? o->action_high[j] : INFINITY;
      if (isnan(lo) || isnan(hi) || lo > hi)
        return brl__fail(BRL_EINVAL,
                         "action bounds of dimension %d ([%g, %g]) are "
                         "invalid",
                         j, (double)lo, (double)hi);
    }
  const brl_model_view *T = m;
  if (T->n && ((int64_t)T->leaf_off[T->n] * K >= INT32_MAX ||
               T->split_off[T->n] >= INT32_MAX))
    return brl__fail(BRL_EUNSUPPORTED,
                     "the model is too large to export as C tables");
  return BRL_OK;
}

/* ------------------------------------------------------------ helpers */

static const char *uint_type(int64_t max) {
  return max <= 255 ? "uint8_t" : max <= 65535 ? "uint16_t" : "uint32_t";
}

static size_t uint_size(int64_t max) {
  return max <= 255 ? 1 : max <= 65535 ? 2 : 4;
}

/* A float literal: shortest exact decimal with an 'f' suffix. */
static void c_float(brl_sb *s, float v) {
  if (isinf(v)) {
    brl__sb_puts(s, v > 0 ? "INFINITY" : "-INFINITY");
    return;
  }
  char buf[48];
  brl__float_repr(v, buf, sizeof buf);
  brl__sb_puts(s, buf);
  if (!strpbrk(buf, ".e"))
    brl__sb_puts(s, ".0");
  brl__sb_puts(s, "f");
}

/* Starts `static const TYPE NAME_what[n] = {` and counts its bytes. */
static void table_begin(exporter *ex, const char *type, size_t elem,
                        const char *what, int64_t n, const char *comment) {
  if (comment)
    brl__sb_printf(ex->s, "/* %s */\n", comment);
  brl__sb_printf(ex->s, "static const %s %s_%s[%lld] = {", type, ex->name, what,
                 (long long)n);
  ex->table_bytes += elem * (size_t)n;
}

static void table_sep(exporter *ex, int64_t i, int per_line) {
  brl__sb_puts(ex->s, i == 0 ? "\n    " : i % per_line ? ", " : ",\n    ");
}

static void table_end(exporter *ex) { brl__sb_puts(ex->s, "};\n"); }

static void table_ints(exporter *ex, const char *type, size_t elem,
                       const char *what, const int64_t *v, int64_t n,
                       const char *comment) {
  table_begin(ex, type, elem, what, n, comment);
  for (int64_t i = 0; i < n; i++) {
    table_sep(ex, i, 12);
    brl__sb_printf(ex->s, "%lld", (long long)v[i]);
  }
  table_end(ex);
}

/* ----------------------------------------------------- fixed point */

static void fixed_scales(exporter *ex) {
  const brl_model_view *m = ex->m;
  const brl_model_view *T = m;
  const int K = ex->K;
  const double qleaf =
      ex->o->variant == BRL_EXPORT_INT16 ? 32767.0 : 1073741824.0;
  const double qacc = 1073741824.0;
  for (int k = 0; k < K; k++) {
    double mx = 0.0, sum = fabs((double)m->bias[k]);
    for (int t = 0; t < T->n; t++) {
      const int nl = 1 << T->depth[t];
      const float *v = T->value + (int64_t)T->leaf_off[t] * K + (int64_t)k * nl;
      double tm = 0.0;
      for (int i = 0; i < nl; i++)
        if (fabs((double)v[i]) > tm)
          tm = fabs((double)v[i]);
      sum += tm;
      if (tm > mx)
        mx = tm;
    }
    double sc = INFINITY;
    if (mx > 0.0)
      sc = qleaf / mx;
    if (sum > 0.0 && qacc / sum < sc)
      sc = qacc / sum;
    if (!(sc < 1e30))
      sc = 1e30;
    ex->out_scale[k] = sc;
  }
  if (ex->o->action == BRL_EXPORT_ACTION_DISCRETE) {
    const int a0 = ex->o->action_offset, a1 = a0 + ex->o->action_dim;
    double sc = ex->out_scale[a0];
    for (int k = a0; k < a1; k++)
      if (ex->out_scale[k] < sc)
        sc = ex->out_scale[k];
    for (int k = a0; k < a1; k++)
      ex->out_scale[k] = sc;
  }
}

static int cmp_float(const void *a, const void *b) {
  const float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

/* Per numeric feature, its sorted distinct thresholds (-0 and +0 count as
 * one: no float comparison tells them apart) and each split's index among
 * them. */
static int build_cuts(exporter *ex) {
  const brl_model_view *T = ex->m;
  const int D = ex->D;
  ex->cut_off = calloc((size_t)D + 2, sizeof(int64_t));
  ex->cut = malloc(sizeof(float) * (size_t)(ex->NS + 1));
  ex->rank_of = calloc((size_t)ex->NS + 1, sizeof(int32_t));
  if (!ex->cut_off || !ex->cut || !ex->rank_of)
    return brl__fail(BRL_ENOMEM, "out of memory exporting a model");
  /* Bucket the numeric thresholds by feature, then sort and dedupe each. */
  int64_t *cnt = ex->cut_off + 1;
  for (int64_t s = 0; s < ex->NS; s++) {
    const unsigned fl = BRL_SPLIT_FLAGS(T->split[s]);
    const int f = BRL_SPLIT_FEATURE(T->split[s]);
    if (!(fl & (BRL_SPLIT_PASS | BRL_SPLIT_CAT)) && f < D &&
        !isnan(T->threshold[s]))
      cnt[f]++;
  }
  int64_t *pos = malloc(sizeof(int64_t) * ((size_t)D + 1));
  if (!pos)
    return brl__fail(BRL_ENOMEM, "out of memory exporting a model");
  for (int j = 0; j < D; j++)
    ex->cut_off[j + 1] += ex->cut_off[j];
  for (int j = 0; j < D; j++)
    pos[j] = ex->cut_off[j];
  for (int64_t s = 0; s < ex->NS; s++) {
    const unsigned fl = BRL_SPLIT_FLAGS(T->split[s]);
    const int f = BRL_SPLIT_FEATURE(T->split[s]);
    if (!(fl & (BRL_SPLIT_PASS | BRL_SPLIT_CAT)) && f < D &&
        !isnan(T->threshold[s]))
      ex->cut[pos[f]++] = T->threshold[s];
  }
  int64_t w = 0, widest = 0;
  for (int j = 0; j < D; j++) {
    const int64_t a = ex->cut_off[j], b = ex->cut_off[j + 1];
    qsort(ex->cut + a, (size_t)(b - a), sizeof(float), cmp_float);
    const int64_t w0 = w;
    for (int64_t i = a; i < b; i++)
      if (w == w0 || ex->cut[i] != ex->cut[w - 1])
        ex->cut[w++] = ex->cut[i];
    ex->cut_off[j] = w0;
    if (w - w0 > widest)
      widest = w - w0;
  }
  ex->cut_off[D] = w;
  ex->n_cut = w;
  free(pos);
  /* Index of each split's threshold in its feature's cuts. */
  for (int64_t s = 0; s < ex->NS; s++) {
    const unsigned fl = BRL_SPLIT_FLAGS(T->split[s]);
    const int f = BRL_SPLIT_FEATURE(T->split[s]);
    const float t = T->threshold[s];
    if ((fl & (BRL_SPLIT_PASS | BRL_SPLIT_CAT)) || f >= D)
      continue;
    ex->has_num = 1;
    if (isnan(t)) {
      ex->rank_of[s] = -1;
      continue;
    }
    int64_t lo = ex->cut_off[f], hi = ex->cut_off[f + 1];
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (ex->cut[mid] < t)
        lo = mid + 1;
      else
        hi = mid;
    }
    ex->rank_of[s] = (int32_t)(lo - ex->cut_off[f]);
  }
  for (int64_t i = 0; i < w; i++)
    ex->has_inf |= isinf(ex->cut[i]) != 0;
  ex->rank16 = widest <= 32767;
  ex->thr_t = ex->rank16 ? "int16_t" : "int32_t";
  return BRL_OK;
}

static int64_t quantize_value(double v, double scale, double lim) {
  double q = nearbyint(v * scale);
  if (q > lim)
    q = lim;
  if (q < -lim)
    q = -lim;
  return (int64_t)q;
}

/* ------------------------------------------------------------ tables */

static int emit_tables(exporter *ex) {
  const brl_model_view *m = ex->m;
  const brl_model_view *T = m;
  const int K = ex->K, D = ex->D, NT = ex->NT;
  brl_sb *s = ex->s;
  if (NT > 0) {
    int64_t *tmp = malloc(sizeof(int64_t) * (size_t)NT);
    if (!tmp)
      return brl__fail(BRL_ENOMEM, "out of memory exporting a model");
    for (int t = 0; t < NT; t++)
      tmp[t] = T->depth[t];
    table_ints(ex, "uint8_t", 1, "depth", tmp, NT, "Per tree: depth.");
    if (ex->has_obl && ex->has_greedy) {
      for (int t = 0; t < NT; t++)
        tmp[t] = (T->flags[t] & BRL_TREE_OBLIVIOUS) != 0;
      table_ints(ex, "uint8_t", 1, "oblivious", tmp, NT,
                 "Per tree: 1 if oblivious (one split per level).");
    }
    if (ex->NS > 0) {
      for (int t = 0; t < NT; t++)
        tmp[t] = T->split_off[t];
      table_ints(ex, uint_type(ex->NS), uint_size(ex->NS), "split_off", tmp, NT,
                 "Per tree: its first split.");
    }
    for (int t = 0; t < NT; t++)
      tmp[t] = T->leaf_off[t];
    table_ints(ex, uint_type(ex->NL), uint_size(ex->NL), "leaf_off", tmp, NT,
               "Per tree: its first leaf.");
    free(tmp);
  }
  if (ex->NS > 0) {
    const int64_t maxsp = ((int64_t)(D + ex->C) << 3) | 7;
    table_begin(ex, uint_type(maxsp), uint_size(maxsp), "split", ex->NS,
                "Per split: feature << 3 | flags (1: missing goes left, 2: "
                "pass-through,\n * 4: categorical: left when the code "
                "equals code[s]). Oblivious trees: one\n * split per level; "
                "greedy: 2^depth - 1 in heap order.");
    for (int64_t i = 0; i < ex->NS; i++) {
      table_sep(ex, i, 10);
      brl__sb_printf(
          s, "%lu",
          (unsigned long)(((uint32_t)BRL_SPLIT_FEATURE(T->split[i]) << 3) |
                          (BRL_SPLIT_FLAGS(T->split[i]) & 7u)));
    }
    table_end(ex);
    const char *cm =
        ex->fixed ? "Per split: index of the threshold among its feature's "
                    "cuts (go left when\n * the input's rank <= index)."
                  : "Per split: threshold (go left when x <= "
                    "threshold).";
    if (ex->fixed)
      table_begin(ex, ex->thr_t, ex->rank16 ? 2 : 4, "threshold", ex->NS, cm);
    else
      table_begin(ex, "float", 4, "threshold", ex->NS, cm);
    for (int64_t i = 0; i < ex->NS; i++) {
      unsigned fl = BRL_SPLIT_FLAGS(T->split[i]);
      float t =
          (fl & (BRL_SPLIT_PASS | BRL_SPLIT_CAT)) ? 0.0f : T->threshold[i];
      table_sep(ex, i, ex->fixed ? 10 : 6);
      if (ex->fixed)
        brl__sb_printf(s, "%ld", (long)ex->rank_of[i]);
      else
        c_float(s, t);
    }
    table_end(ex);
    if (ex->has_cat) {
      table_begin(ex, "int32_t", 4, "code", ex->NS,
                  "Per split: category code of categorical splits.");
      for (int64_t i = 0; i < ex->NS; i++) {
        table_sep(ex, i, 10);
        brl__sb_printf(s, "%ld",
                       (BRL_SPLIT_FLAGS(T->split[i]) & BRL_SPLIT_CAT)
                           ? (long)brl__thr_to_code(T->threshold[i])
                           : 0L);
      }
      table_end(ex);
    }
  }
  if (NT > 0) {
    const int int16 = ex->o->variant == BRL_EXPORT_INT16;
    const size_t elem = ex->fixed && int16 ? 2 : 4;
    char cm[96];
    snprintf(cm, sizeof cm, "Leaf values%s, %d per leaf (one per output).",
             ex->fixed ? " (fixed point: value * leaf scale)" : "", K);
    table_begin(ex, ex->leaf_t, elem, "leaf", ex->NL * K, cm);
    int64_t i = 0;
    for (int t = 0; t < NT; t++) {
      const int nl = 1 << T->depth[t];
      const float *v = T->value + (int64_t)T->leaf_off[t] * K;
      for (int l = 0; l < nl; l++)
        for (int k = 0; k < K; k++, i++) {
          table_sep(ex, i, ex->fixed ? 10 : 6);
          if (ex->fixed)
            brl__sb_printf(
                s, "%lld",
                (long long)quantize_value(v[k * nl + l], ex->out_scale[k],
                                          int16 ? 32767.0 : 1073741824.0));
          else
            c_float(s, v[k * nl + l]);
        }
    }
    table_end(ex);
  }
  table_begin(ex, ex->fixed ? "int32_t" : "float", 4, "bias", K,
              ex->fixed ? "Bias (fixed point)." : "Bias.");
  for (int k = 0; k < K; k++) {
    table_sep(ex, k, ex->fixed ? 10 : 6);
    if (ex->fixed)
      brl__sb_printf(s, "%lld",
                     (long long)quantize_value(m->bias[k], ex->out_scale[k],
                                               1073741824.0));
    else
      c_float(s, m->bias[k]);
  }
  table_end(ex);
  if (ex->fixed) {
    table_begin(ex, "float", 4, "unscale", K,
                "Per output: 1 / leaf_scale (accumulator to float).");
    for (int k = 0; k < K; k++) {
      table_sep(ex, k, 6);
      c_float(s, (float)(1.0 / ex->out_scale[k]));
    }
    table_end(ex);
    if (ex->n_cut > 0) {
      table_begin(ex, uint_type(ex->n_cut), uint_size(ex->n_cut), "cut_off",
                  D + 1,
                  "Per numeric feature j: its cuts are cut[cut_off[j] .. "
                  "cut_off[j + 1]).");
      for (int j = 0; j <= D; j++) {
        table_sep(ex, j, 12);
        brl__sb_printf(s, "%lld", (long long)ex->cut_off[j]);
      }
      table_end(ex);
      table_begin(ex, "float", 4, "cut", ex->n_cut,
                  "Sorted distinct thresholds of each numeric feature's "
                  "splits.");
      for (int64_t i = 0; i < ex->n_cut; i++) {
        table_sep(ex, i, 6);
        c_float(s, ex->cut[i]);
      }
      table_end(ex);
    }
  }
  if (ex->norm && ex->NS > 0) {
    table_begin(ex, "float", 4, "obs_mean", D,
                "Frozen observation normalisation: (x - mean) / std.");
    for (int j = 0; j < D; j++) {
      table_sep(ex, j, 6);
      c_float(s, ex->o->obs_mean[j]);
    }
    table_end(ex);
    table_begin(ex, "float", 4, "obs_std", D, NULL);
    for (int j = 0; j < D; j++) {
      table_sep(ex, j, 6);
      c_float(s, ex->o->obs_std[j]);
    }
    table_end(ex);
  }
  brl__sb_puts(s, "\n");
  return BRL_OK;
}

/* ------------------------------------------------------------- code */

static void emit_code(exporter *ex) {
  brl_sb *s = ex->s;
  const char *N = ex->name;
  const int D = ex->D, K = ex->K;
  const char *acc_t = ex->fixed ? "int32_t" : "float";
  const char *xin_t = ex->fixed ? ex->thr_t : "float";
  const int cat_arg = ex->has_cat;
  /* Fixed point: the ranks are searched when some split is numeric. */
  const int ranks = ex->fixed && ex->has_num && D > 0;
  if (ranks && ex->n_cut > 0)
    brl__sb_printf(s,
                   "/* Rank of v among feature j's cuts: how many are < v "
                   "(NaN: -1). */\n"
                   "static %s %s_rank(uint32_t j, float v) {\n"
                   "  uint32_t lo = %s_cut_off[j], hi = %s_cut_off[j + 1u];\n"
                   "  const uint32_t first = lo;\n"
                   "  if (v != v)\n"
                   "    return -1;\n"
                   "  while (lo < hi) {\n"
                   "    const uint32_t mid = lo + ((hi - lo) >> 1);\n"
                   "    if (%s_cut[mid] < v)\n"
                   "      lo = mid + 1u;\n"
                   "    else\n"
                   "      hi = mid;\n"
                   "  }\n"
                   "  return (%s)(lo - first);\n"
                   "}\n\n",
                   xin_t, N, N, N, N, xin_t);
  if (ex->NS > 0) {
    brl__sb_printf(s,
                   "/* 1 if the sample goes right at split s. */\n"
                   "static int %s_right(uint32_t s, const %s *x%s) {\n"
                   "  const uint32_t sf = %s_split[s], fl = sf & 7u, f = sf "
                   ">> 3;\n",
                   N, xin_t, cat_arg ? ", const int32_t *x_cat" : "", N);
    if (ex->has_pass)
      brl__sb_puts(s, "  if (fl & 2u)\n    return 0;\n");
    if (ex->has_cat)
      brl__sb_printf(s,
                     "  if (fl & 4u) {\n"
                     "    const int32_t c = x_cat[f - %du];\n"
                     "    return c < 0 ? !(fl & 1u) : c != %s_code[s];\n"
                     "  }\n",
                     D, N);
    if (ex->fixed)
      brl__sb_printf(s,
                     "  {\n"
                     "    const %s r = x[f];\n"
                     "    if (r < 0)\n"
                     "      return !(fl & 1u);\n"
                     "    return r > %s_threshold[s];\n"
                     "  }\n}\n\n",
                     xin_t, N);
    else
      brl__sb_printf(s,
                     "  {\n"
                     "    const float v = x[f];\n"
                     "    if (v <= %s_threshold[s])\n"
                     "      return 0;\n"
                     "    return v != v ? !(fl & 1u) : 1;\n"
                     "  }\n}\n\n",
                     N);
  }
  /* eval */
  brl__sb_printf(s,
                 "/* Accumulates bias + leaves of every tree into acc. */\n"
                 "static void %s_eval(const float *x, const int32_t *x_cat, "
                 "%s *acc) {\n",
                 N, acc_t);
  /* Fixed point always walks the ranks (one unused element when no split
   * is numeric); float32 copies only to normalise. */
  const int own_x = ex->NS > 0 && (ex->fixed || (ex->norm && D > 0));
  const int fill_x = own_x && (ex->fixed ? ranks : D > 0);
  if (own_x)
    brl__sb_printf(s, "  %s xs[%d];\n", xin_t, fill_x ? D : 1);
  if (fill_x)
    brl__sb_puts(s, "  uint32_t j;\n");
  brl__sb_puts(s, "  uint32_t k;\n");
  if (ex->NT > 0)
    brl__sb_puts(s, "  uint32_t t;\n");
  brl__sb_puts(s, "  (void)x;\n  (void)x_cat;\n");
  if (own_x && !fill_x)
    brl__sb_puts(s, "  xs[0] = 0;\n  (void)xs;\n");
  if (fill_x) {
    brl__sb_printf(s, "  for (j = 0; j < %du; ++j) {\n", D);
    if (ex->norm) {
      brl__sb_printf(
          s, "    float v = (x[j] - %s_obs_mean[j]) / %s_obs_std[j];\n", N, N);
      if (ex->o->obs_clip > 0.0f) {
        brl__sb_puts(s, "    if (v > ");
        c_float(s, ex->o->obs_clip);
        brl__sb_puts(s, ")\n      v = ");
        c_float(s, ex->o->obs_clip);
        brl__sb_puts(s, ";\n    else if (v < ");
        c_float(s, -ex->o->obs_clip);
        brl__sb_puts(s, ")\n      v = ");
        c_float(s, -ex->o->obs_clip);
        brl__sb_puts(s, ";\n");
      }
    } else {
      brl__sb_puts(s, "    const float v = x[j];\n");
    }
    if (ex->fixed && ex->n_cut > 0)
      brl__sb_printf(s, "    xs[j] = %s_rank(j, v);\n", N);
    else if (ex->fixed) /* only NaN thresholds */
      brl__sb_puts(s, "    xs[j] = v != v ? -1 : 0;\n");
    else
      brl__sb_puts(s, "    xs[j] = v;\n");
    brl__sb_puts(s, "  }\n");
  }
  brl__sb_printf(s, "  for (k = 0; k < %du; ++k)\n    acc[k] = %s_bias[k];\n",
                 K, N);
  if (ex->NT > 0) {
    const char *xa = own_x ? "xs" : "x";
    const char *ca = cat_arg ? ", x_cat" : "";
    brl__sb_printf(s,
                   "  for (t = 0; t < %du; ++t) {\n"
                   "    const uint32_t d = %s_depth[t];\n"
                   "    uint32_t idx = 0;\n"
                   "    const %s *v;\n",
                   ex->NT, N, ex->leaf_t);
    if (ex->NS > 0) {
      brl__sb_printf(s,
                     "    const uint32_t s0 = %s_split_off[t];\n"
                     "    uint32_t l;\n",
                     N);
      const int mixed = ex->has_obl && ex->has_greedy;
      if (mixed)
        brl__sb_printf(s, "    if (%s_oblivious[t]) {\n", N);
      if (ex->has_obl)
        brl__sb_printf(s,
                       "%s    for (l = 0; l < d; ++l)\n"
                       "%s      idx = (idx << 1) | (uint32_t)%s_right(s0 + "
                       "l, %s%s);\n",
                       mixed ? "  " : "", mixed ? "  " : "", N, xa, ca);
      if (mixed)
        brl__sb_puts(s, "    } else {\n");
      if (ex->has_greedy)
        brl__sb_printf(s,
                       "%s    uint32_t node = 0;\n"
                       "%s    for (l = 0; l < d; ++l)\n"
                       "%s      node = 2u * node + 1u + (uint32_t)%s_right(s0 "
                       "+ node, %s%s);\n"
                       "%s    idx = node - ((1u << d) - 1u);\n",
                       mixed ? "  " : "", mixed ? "  " : "", mixed ? "  " : "",
                       N, xa, ca, mixed ? "  " : "");
      if (mixed)
        brl__sb_puts(s, "    }\n");
    } else {
      brl__sb_puts(s, "    (void)d;\n");
    }
    brl__sb_printf(s,
                   "    v = %s_leaf + ((uint32_t)%s_leaf_off[t] + idx) * %du;\n"
                   "    for (k = 0; k < %du; ++k)\n"
                   "      acc[k] += v[k];\n"
                   "  }\n",
                   N, N, K, K);
  }
  brl__sb_puts(s, "}\n\n");

  /* predict */
  brl__sb_printf(s,
                 "void %s_predict(const float *x, const int32_t *x_cat, "
                 "float *out) {\n",
                 N);
  if (ex->fixed)
    brl__sb_printf(s,
                   "  int32_t acc[%d];\n"
                   "  uint32_t k;\n"
                   "  %s_eval(x, x_cat, acc);\n"
                   "  for (k = 0; k < %du; ++k)\n"
                   "    out[k] = (float)acc[k] * %s_unscale[k];\n"
                   "}\n",
                   K, N, K, N);
  else
    brl__sb_printf(s, "  %s_eval(x, x_cat, out);\n}\n", N);

  const brl_export_options *o = ex->o;
  if (o->action == BRL_EXPORT_ACTION_DISCRETE) {
    brl__sb_printf(s,
                   "\nint %s_act_discrete(const float *x, const int32_t "
                   "*x_cat) {\n"
                   "  %s acc[%d];\n"
                   "  int a, best = 0;\n"
                   "  %s_eval(x, x_cat, acc);\n"
                   "  for (a = 1; a < %d; ++a)\n"
                   "    if (acc[%d + a] > acc[%d + best])\n"
                   "      best = a;\n"
                   "  return best;\n"
                   "}\n\n"
                   "void %s_act(const float *x, const int32_t *x_cat, float "
                   "*action) {\n"
                   "  action[0] = (float)%s_act_discrete(x, x_cat);\n"
                   "}\n",
                   N, acc_t, K, N, o->action_dim, o->action_offset,
                   o->action_offset, N, N);
  } else if (o->action == BRL_EXPORT_ACTION_CONTINUOUS) {
    brl__sb_printf(s,
                   "\nvoid %s_act(const float *x, const int32_t *x_cat, "
                   "float *action) {\n"
                   "  float out[%d];\n"
                   "  %s_predict(x, x_cat, out);\n",
                   N, K, N);
    for (int j = 0; j < o->action_dim; j++) {
      float lo = o->action_low ? o->action_low[j] : -INFINITY;
      float hi = o->action_high ? o->action_high[j] : INFINITY;
      if (isinf(lo) && isinf(hi)) {
        brl__sb_printf(s, "  action[%d] = out[%d];\n", j, o->action_offset + j);
        continue;
      }
      brl__sb_printf(s, "  {\n    float a = out[%d];\n", o->action_offset + j);
      if (!isinf(lo)) {
        brl__sb_puts(s, "    if (a < ");
        c_float(s, lo);
        brl__sb_puts(s, ")\n      a = ");
        c_float(s, lo);
        brl__sb_puts(s, ";\n");
      }
      if (!isinf(hi)) {
        brl__sb_puts(s, "    if (a > ");
        c_float(s, hi);
        brl__sb_puts(s, ")\n      a = ");
        c_float(s, hi);
        brl__sb_puts(s, ";\n");
      }
      brl__sb_printf(s, "    action[%d] = a;\n  }\n", j);
    }
    brl__sb_puts(s, "}\n");
  }
}

static void emit_header(exporter *ex, brl_sb *h, size_t stack) {
  const brl_model_view *m = ex->m;
  const brl_export_options *o = ex->o;
  const char *N = ex->name, *U = ex->upper;
  static const char *const vname[] = {"float32", "int32 fixed point",
                                      "int16 fixed point"};
  int maxd = 0;
  for (int t = 0; t < ex->NT; t++)
    if (m->depth[t] > maxd)
      maxd = m->depth[t];
  brl__sb_printf(h,
                 "/* %s.h: a boostrl model exported to C99 (%s).\n"
                 " * Generated by boostrl %s; do not edit.\n *\n"
                 " * %d trees (%s), depth <= %d; %d numeric + %d categorical "
                 "features;\n * %d outputs.\n",
                 N, vname[o->variant], brl_version(), ex->NT,
                 ex->has_obl && ex->has_greedy ? "oblivious and greedy"
                 : ex->has_greedy              ? "greedy"
                                               : "oblivious",
                 maxd, ex->D, ex->C, ex->K);
  if (ex->norm)
    brl__sb_printf(h,
                   " * The frozen observation normalisation (x - mean) / std"
                   "%s is built in:\n * pass raw observations.\n",
                   o->obs_clip > 0.0f ? ", clipped," : "");
  brl__sb_printf(h, " * x: %d floats (NaN = missing).", ex->D);
  if (ex->C)
    brl__sb_printf(h,
                   " x_cat: %d int32 category codes (negative =\n"
                   " * missing; a code no split tests takes the \"not "
                   "equal\" side).\n",
                   ex->C);
  else
    brl__sb_puts(h, " x_cat: unused, may be NULL.\n");
  if (ex->fixed)
    brl__sb_puts(h, " * Fixed point: each input's rank among its feature's "
                    "sorted split thresholds\n * is found once per call by "
                    "binary search (float comparisons only); the trees\n * "
                    "compare integer ranks and take the library's branches. "
                    "Leaves are summed\n * in an int32 accumulator: outputs "
                    "are close to, not equal to, the library's.\n");
  brl__sb_printf(h,
                 " *\n * Memory: %lu bytes of constant tables (flash), about "
                 "%lu bytes of stack\n * per call (RAM); no heap, no writable "
                 "globals, reentrant.\n"
                 " * Build with any C99 compiler, without -ffast-math (NaN "
                 "tests must work).\n */\n",
                 (unsigned long)ex->table_bytes, (unsigned long)stack);
  brl__sb_printf(h,
                 "#ifndef %s_H_INCLUDED\n#define %s_H_INCLUDED\n\n"
                 "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" "
                 "{\n#endif\n\n"
                 "#define %s_N_FEATURES %d\n#define %s_N_CAT_FEATURES %d\n"
                 "#define %s_N_OUTPUTS %d\n#define %s_TABLE_BYTES %lu\n"
                 "#define %s_STACK_BYTES %lu\n",
                 U, U, U, ex->D, U, ex->C, U, ex->K, U,
                 (unsigned long)ex->table_bytes, U, (unsigned long)stack);
  if (o->action == BRL_EXPORT_ACTION_DISCRETE)
    brl__sb_printf(h, "#define %s_N_ACTIONS %d\n", U, o->action_dim);
  if (o->action == BRL_EXPORT_ACTION_CONTINUOUS)
    brl__sb_printf(h, "#define %s_ACTION_DIM %d\n", U, o->action_dim);
  brl__sb_printf(h,
                 "\n/* The model's %d outputs for one sample. */\n"
                 "void %s_predict(const float *x, const int32_t *x_cat, "
                 "float *out);\n",
                 ex->K, N);
  if (o->action == BRL_EXPORT_ACTION_DISCRETE)
    brl__sb_printf(h,
                   "/* The greedy action: argmax of outputs [%d, %d), the "
                   "first on ties. */\n"
                   "int %s_act_discrete(const float *x, const int32_t "
                   "*x_cat);\n"
                   "/* The same action as a float in action[0]. */\n"
                   "void %s_act(const float *x, const int32_t *x_cat, float "
                   "*action);\n",
                   o->action_offset, o->action_offset + o->action_dim, N, N);
  if (o->action == BRL_EXPORT_ACTION_CONTINUOUS)
    brl__sb_printf(h,
                   "/* The deterministic action: outputs [%d, %d) (the "
                   "Gaussian mean), clipped\n * to the action bounds. */\n"
                   "void %s_act(const float *x, const int32_t *x_cat, float "
                   "*action);\n",
                   o->action_offset, o->action_offset + o->action_dim, N);
  brl__sb_printf(h,
                 "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* "
                 "%s_H_INCLUDED */\n",
                 U);
}

int brl_model_export_c_buffer(const brl_model *model,
                              const brl_export_options *o, char **header,
                              size_t *header_len, char **source,
                              size_t *source_len, brl_export_info *info) {
  BRL_CHECK_ARG(model);
  brl_model_view view;
  brl__model_view(model, &view);
  const brl_model_view *m = &view;
  BRL_CHECK_ARG(header);
  BRL_CHECK_ARG(source);
  *header = *source = NULL;
  brl_export_options full; /* NULL: the defaults; else o over them */
  defaults(&full);
  int rc = o ? brl__abi_in(&options_abi, o, &full) : BRL_OK;
  if (rc)
    return rc;
  o = &full;
  rc = check_options(m, o);
  if (rc)
    return rc;
  exporter ex;
  memset(&ex, 0, sizeof ex);
  ex.m = m;
  ex.o = o;
  snprintf(ex.name, sizeof ex.name, "%s", o->name ? o->name : "brl_model");
  for (size_t i = 0; i <= strlen(ex.name); i++)
    ex.upper[i] = (char)toupper((unsigned char)ex.name[i]);
  ex.fixed = o->variant != BRL_EXPORT_FLOAT32;
  ex.leaf_t = !ex.fixed                        ? "float"
              : o->variant == BRL_EXPORT_INT16 ? "int16_t"
                                               : "int32_t";
  ex.D = m->p->n_features;
  ex.C = m->p->n_cat_features;
  ex.K = m->n_outputs;
  const brl_model_view *T = m;
  ex.NT = T->n;
  ex.NS = T->n ? T->split_off[T->n] : 0;
  ex.NL = T->n ? T->leaf_off[T->n] : 0;
  ex.norm = o->obs_mean != NULL && ex.D > 0;
  for (int t = 0; t < T->n; t++) {
    if (T->flags[t] & BRL_TREE_OBLIVIOUS)
      ex.has_obl |= T->depth[t] > 0;
    else
      ex.has_greedy |= T->depth[t] > 0;
  }
  for (int64_t i = 0; i < ex.NS; i++) {
    unsigned fl = BRL_SPLIT_FLAGS(T->split[i]);
    ex.has_cat |= (fl & BRL_SPLIT_CAT) != 0;
    ex.has_pass |= (fl & BRL_SPLIT_PASS) != 0;
    ex.has_inf |= !(fl & (BRL_SPLIT_CAT | BRL_SPLIT_PASS)) &&
                  isinf(T->threshold[i]) && !ex.fixed;
  }
  if (ex.fixed) {
    ex.out_scale = malloc(sizeof(double) * (size_t)ex.K + 1);
    rc = ex.out_scale
             ? build_cuts(&ex)
             : brl__fail(BRL_ENOMEM, "out of memory exporting a model");
    if (rc) {
      free(ex.out_scale);
      free(ex.cut);
      free(ex.cut_off);
      free(ex.rank_of);
      return rc;
    }
    fixed_scales(&ex);
  }
  brl_sb c = {0}, h = {0};
  ex.s = &c;
  brl__sb_printf(&c,
                 "/* %s.c: a boostrl model exported to C99; see %s.h.\n"
                 " * Generated by boostrl %s; do not edit. */\n"
                 "#include \"%s.h\"\n%s\n",
                 ex.name, ex.name, brl_version(), ex.name,
                 ex.has_inf ? "\n#include <math.h> /* INFINITY */" : "");
  rc = emit_tables(&ex);
  if (!rc)
    emit_code(&ex);
  free(ex.out_scale);
  free(ex.cut);
  free(ex.cut_off);
  free(ex.rank_of);
  if (rc) {
    brl__sb_free(&c);
    return rc;
  }
  /* Stack: the inputs' copy (fixed point: their ranks), the accumulator
   * (twice for NAME_act), and about 64 bytes of locals and return
   * addresses. */
  const size_t stack =
      (size_t)(ex.fixed  ? ex.D * (ex.rank16 ? 2 : 4)
               : ex.norm ? ex.D * 4
                         : 0) +
      (size_t)ex.K * 4 * (o->action == BRL_EXPORT_ACTION_NONE ? 1 : 2) + 64;
  emit_header(&ex, &h, stack);
  if (info) {
    info->table_bytes = ex.table_bytes;
    info->stack_bytes = stack;
    info->has_math = ex.has_inf;
  }
  if ((rc = brl__sb_finish(&h, header, header_len))) {
    brl__sb_free(&c);
    return rc;
  }
  if ((rc = brl__sb_finish(&c, source, source_len))) {
    free(*header);
    *header = NULL;
    return rc;
  }
  return BRL_OK;
}

int brl_model_export_c(const brl_model *m, const brl_export_options *o,
                       const char *dir, brl_export_info *info) {
  BRL_CHECK_ARG(dir);
  char *h, *c;
  size_t hl, cl;
  int rc = brl_model_export_c_buffer(m, o, &h, &hl, &c, &cl, info);
  if (rc)
    return rc;
  const char *name = o && o->name ? o->name : "brl_model";
  size_t n = strlen(dir) + strlen(name) + 4;
  char *path = malloc(n);
  if (!path) {
    free(h);
    free(c);
    return brl__fail(BRL_ENOMEM, "out of memory exporting a model");
  }
  snprintf(path, n, "%s/%s.h", dir, name);
  rc = brl__write_file(path, h, hl);
  if (!rc) {
    snprintf(path, n, "%s/%s.c", dir, name);
    rc = brl__write_file(path, c, cl);
  }
  free(path);
  free(h);
  free(c);
  return rc;
}
