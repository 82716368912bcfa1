/* Level-wise growth of one tree on the CPU: greedy (each node its best
 * split) or oblivious (one split per level), from histograms built for the
 * smaller child and derived for the larger (parent - child). */
#include "core/error.h"
#include "engine/grow.h"
#include "engine/pipeline.h"

#include <math.h>
#include <omp.h>
#include <string.h>

enum { NODE_ACTIVE = 0, NODE_FROZEN = 1, NODE_EMPTY = 2 };

static int resolve_threads(int n) { return n > 0 ? n : omp_get_max_threads(); }

/* Node totals: the sum of feature 0's slots. */
static void node_totals(const brl_batch *b, const int64_t *h, int64_t *tot) {
  const int S = b->K + 1;
  memset(tot, 0, (size_t)S * sizeof(int64_t));
  for (int64_t c = b->hoff[0]; c < b->hoff[1]; c++)
    for (int s = 0; s < S; s++)
      tot[s] += h[c * S + s];
}

static inline int goes_left(const brl_batch *b, int64_t row, int f, int bin,
                            int dl) {
  uint8_t c = b->codes[row * b->d + f];
  if (c == b->nbins[f])
    return dl;
  return f < b->D ? c <= bin : c == bin;
}

/* Stable partition of node i's positions into left (split) and right. */
static int64_t partition(const brl_batch *b, const int32_t *rows,
                         brl_grow_ws *w, int64_t begin, int64_t end, int f,
                         int bin, int dl) {
  int64_t nl = begin, nr = 0;
  for (int64_t p = begin; p < end; p++) {
    int32_t mb = w->pos[p];
    int64_t row = rows ? rows[mb] : mb;
    if (goes_left(b, row, f, bin, dl))
      w->pos[nl++] = mb;
    else
      w->tmp[nr++] = mb;
  }
  memcpy(w->pos + nl, w->tmp, (size_t)nr * sizeof(int32_t));
  return nl;
}

/* Feature-parallel growth (b->fcomm: a minibatch gathered to every rank,
 * step.c): every rank holds every row, builds and scores the histograms of
 * its block of features [f0, f1) only, and the ranks' best splits are
 * combined each level in rank order, which is feature order, keeping the
 * first of the highest: the split one process finds. Node totals come from
 * the rows (a rank may own no feature). Without it: all features, c NULL. */
typedef struct fpar {
  brl_comm *c;
  int f0, f1;
  double *rec; /* FP_REC doubles per node: this rank's, then every rank's */
} fpar;
enum { FP_REC = BRL_FP_REC }; /* found, score, feature, bin, default_left */

/* Every rank's records of the level's nn nodes into rec + FP_REC * nn. */
static int fp_gather(const fpar *fp, int nn) {
  const int P = brl_comm_size(fp->c);
  int64_t counts[64];
  for (int r = 0; r < P; r++)
    counts[r] = (int64_t)nn * FP_REC * (int64_t)sizeof(double);
  return brl_comm_allgatherv(fp->c, fp->rec, fp->rec + (int64_t)nn * FP_REC,
                             counts);
}

/* The best of every rank's records of node i (strictly higher wins, in rank
 * order). Returns 0 when no rank found one. */
static int fp_best(const fpar *fp, int nn, int i, brl_split *s) {
  const int P = brl_comm_size(fp->c);
  int found = 0;
  for (int r = 0; r < P; r++) {
    const double *q = fp->rec + ((int64_t)(r + 1) * nn + i) * FP_REC;
    if (q[0] != 0.0 && (!found || q[1] > s->score)) {
      found = 1;
      s->score = q[1];
      s->feature = (int)q[2];
      s->bin = (int)q[3];
      s->default_left = (int)q[4];
    }
  }
  return found;
}

static void fp_put(const fpar *fp, int i, int found, const brl_split *s) {
  double *q = fp->rec + (int64_t)i * FP_REC;
  q[0] = found;
  q[1] = found ? s->score : 0.0;
  q[2] = found ? s->feature : 0;
  q[3] = found ? s->bin : 0;
  q[4] = found ? s->default_left : 0;
}

/* Node totals of the nodes [0, nn) from their rows: the sums a histogram's
 * slots of any feature add up to. */
static void rows_totals(const brl_batch *b, const brl_grow_ws *w, int nn) {
  const int K = b->K, S = K + 1;
  for (int i = 0; i < nn; i++) {
    int64_t *tot = w->node_tot + (int64_t)i * S;
    memset(tot, 0, (size_t)S * sizeof(int64_t));
    if (w->node_state[i] != NODE_ACTIVE)
      continue;
    tot[0] = w->node_end[i] - w->node_begin[i];
    for (int64_t p = w->node_begin[i]; p < w->node_end[i]; p++) {
      const int64_t *g = w->qgrad + (int64_t)w->pos[p] * K;
      for (int k = 0; k < K; k++)
        tot[1 + k] += g[k];
    }
  }
}

/* Chooses the level's split (oblivious). Returns 0 when none gains. */
static int oblivious_level(const brl_model *m, const brl_batch *b,
                           brl_grow_ws *w, const brl_split_ctx *ctx,
                           int64_t *hist, int nn, int nt, const fpar *fp,
                           brl_split *best, double *best_gain, int *rc) {
  const int S = b->K + 1, d = fp->f1 - fp->f0;
  const int64_t H = b->hslots * S;
  memset(w->level_score, 0, (size_t)b->hslots * 2 * sizeof(double));
  memset(w->level_bad, 0, (size_t)b->hslots * 2 * sizeof(int32_t));
  double parent = 0.0;
  int64_t work = 0;
  for (int i = 0; i < nn; i++)
    if (w->node_state[i] != NODE_EMPTY) {
      parent += brl__node_score(ctx, w->node_tot + (int64_t)i * S);
      work += w->node_tot[(int64_t)i * S]; /* rows */
    }
  /* A scan's cost follows the non-empty bins, at most the rows. */
  int t_used = (work * d >= BRL_PARALLEL_MIN_WORK && nt > 1) ? nt : 1;
  if (t_used > d)
    t_used = d;
#pragma omp parallel for num_threads(t_used) schedule(static) if (t_used > 1)
  for (int t = 0; t < t_used; t++) {
    int f0 = fp->f0 + (int)((int64_t)d * t / t_used);
    int f1 = fp->f0 + (int)((int64_t)d * (t + 1) / t_used);
    for (int i = 0; i < nn; i++)
      if (w->node_state[i] != NODE_EMPTY)
        brl__level_accumulate(ctx, b, hist + i * H,
                              w->node_tot + (int64_t)i * S, f0, f1, &w->scan[t],
                              w->level_score, w->level_bad);
  }
  int found = 0;
  for (int f = fp->f0; f < fp->f1; f++) {
    double fw = m->feature_weights[f];
    if (b->nbins[f] < 2 || fw <= 0.0)
      continue;
    double run[2] = {0.0, 0.0};
    int32_t run_bad[2] = {0, 0};
    for (int j = 0; j < b->nbins[f] - 1; j++)
      for (int dl = 1; dl >= 0; dl--) {
        int64_t c = (b->hoff[f] + j) * 2 + dl;
        run[dl] += w->level_score[c];
        run_bad[dl] += w->level_bad[c];
        if (run_bad[dl])
          continue;
        double g = run[dl] * fw - parent;
        if (!found || g > *best_gain) {
          found = 1;
          *best_gain = g;
          best->feature = f;
          best->bin = j;
          best->default_left = dl;
        }
      }
  }
  if (fp->c) { /* the ranks' blocks in feature order */
    best->score = *best_gain;
    fp_put(fp, 0, found, best);
    if ((*rc = fp_gather(fp, 1)))
      return 0;
    found = fp_best(fp, 1, 0, best);
    *best_gain = best->score;
  }
  return found && *best_gain > 0.0;
}

/* Node i takes split s (ok: it has one) when it gains, else is frozen.
 * Returns 1 when it splits. */
static int take_split(const brl_split_ctx *ctx, brl_grow_ws *w, int S, int i,
                      int ok, const brl_split *s) {
  double gain = 0.0;
  if (ok) {
    gain = s->score - brl__node_score(ctx, w->node_tot + (int64_t)i * S);
    ok = gain > 0.0;
  }
  if (!ok) {
    w->node_state[i] = NODE_FROZEN;
    return 0;
  }
  w->split_feat[i] = s->feature;
  w->split_bin[i] = s->bin;
  w->split_dl[i] = (uint8_t)s->default_left;
  w->split_gain[i] = (float)gain;
  return 1;
}

/* Chooses each node's split (greedy); freezes nodes that do not gain.
 * Returns the number of nodes that split. */
static int greedy_level(const brl_model *m, const brl_batch *b, brl_grow_ws *w,
                        const brl_split_ctx *ctx, int64_t *hist, int nn, int nt,
                        const fpar *fp, int *rc) {
  const int S = b->K + 1;
  const int64_t H = b->hslots * S;
  int64_t rows = 0;
  for (int i = 0; i < nn; i++)
    rows += w->node_state[i] == NODE_ACTIVE ? w->node_tot[(int64_t)i * S] : 0;
  int t_used =
      (nn > 1 && rows * b->d >= BRL_PARALLEL_MIN_WORK && nt > 1) ? nt : 1;
  int n_split = 0;
#pragma omp parallel for num_threads(t_used) schedule(dynamic) if (t_used > 1) reduction(+ : n_split)
  for (int i = 0; i < nn; i++) {
    if (w->node_state[i] != NODE_ACTIVE)
      continue;
    const int64_t *tot = w->node_tot + (int64_t)i * S;
    brl_split s;
    int ok =
        tot[0] >= 2 && brl__best_node_split(ctx, b, hist + i * H, tot,
                                            m->feature_weights, fp->f0, fp->f1,
                                            &w->scan[omp_get_thread_num()], &s);
    if (fp->c) /* combined below */
      fp_put(fp, i, ok, &s);
    else
      n_split += take_split(ctx, w, S, i, ok, &s);
  }
  if (!fp->c)
    return n_split;
  if ((*rc = fp_gather(fp, nn)))
    return 0;
  for (int i = 0; i < nn; i++) {
    brl_split s = {0, 0, 0, 0.0};
    if (w->node_state[i] == NODE_ACTIVE)
      n_split += take_split(ctx, w, S, i, fp_best(fp, nn, i, &s), &s);
  }
  return n_split;
}

/* The children's row counts over all ranks (child_cnt), their states and
 * the smaller child of each split, whose histogram is built (the larger is
 * the parent's minus it). Returns the number of smaller children. */
static int children(brl_batch *b, brl_grow_ws *w, int nn, int *small) {
  int n_small = 0;
  /* Descending: child 2i and 2i+1 never overwrite a parent not yet
   * visited. */
  for (int i = nn - 1; i >= 0; i--) {
    uint8_t st = w->node_state[i];
    int64_t nl = w->child_cnt[2 * i], nr = w->child_cnt[2 * i + 1];
    if (st != NODE_ACTIVE) {
      w->node_state[2 * i] = st;
      w->node_state[2 * i + 1] = NODE_EMPTY;
      continue;
    }
    w->node_state[2 * i] = nl > 0 ? NODE_ACTIVE : NODE_EMPTY;
    w->node_state[2 * i + 1] = nr > 0 ? NODE_ACTIVE : NODE_EMPTY;
    small[n_small++] = nl <= nr ? 2 * i : 2 * i + 1;
  }
  (void)b;
  return n_small;
}

/* Leaves: counts and fixed-point gradient sums over all ranks. */
static int leaf_sums(const brl_model *m, brl_batch *b, brl_grow_ws *w,
                     const brl_grad_xform *x, const float *grads, int nl) {
  const int K = m->n_outputs;
  int64_t *cnt = w->leaf_q, *sum = w->leaf_q + nl;
  memset(sum, 0, (size_t)nl * (size_t)K * sizeof(int64_t));
  for (int i = 0; i < nl; i++) {
    cnt[i] = w->node_end[i] - w->node_begin[i];
    brl__leaf_accumulate(x, K, grads, w->pos, w->node_begin[i], w->node_end[i],
                         sum + (int64_t)i * K);
  }
  return brl__reduce_sum_i64(b->comm, w->leaf_q, (int64_t)nl * (K + 1));
}

int brl__cpu_grow_tree(brl_model *m, brl_batch *b, const int32_t *rows,
                       int64_t n, const float *grads, float progress) {
  brl_grow_ws *w = &b->ws;
  brl_comm *comm = b->comm;
  const int K = m->n_outputs, S = K + 1, maxd = m->p.max_depth;
  const int oblivious = m->p.grow_policy == BRL_GROW_OBLIVIOUS;
  const int nt = resolve_threads(m->p.n_threads);
  const int64_t H = b->hslots * S;
  brl_split_ctx ctx = {K, m->p.split_score == BRL_SCORE_L2,
                       m->p.min_data_in_leaf};
  brl_grad_xform *x = &b->xform;
  fpar fp = {NULL, 0, b->d, NULL};
  if (brl__comm_multi(b->fcomm)) {
    const int P = brl_comm_size(b->fcomm), r = brl_comm_rank(b->fcomm);
    fp.c = b->fcomm;
    fp.f0 = (int)((int64_t)b->d * r / P);
    fp.f1 = (int)((int64_t)b->d * (r + 1) / P);
    fp.rec = b->fp_rec;
  }
  /* The slots of this rank's features in a node's histogram. */
  const int64_t h_off = b->hoff[fp.f0] * S;
  const int64_t h_len = (b->hoff[fp.f1] - b->hoff[fp.f0]) * S;
  int rc = brl__grad_columns(m, comm, grads, n, x);
  if (!rc)
    rc = brl__grad_quantize(m, comm, grads, n, x, w->tgrad, w->qgrad);
  if (rc)
    return rc;
  const double scale = x->scale;
  const double to_real = ctx.l2 ? 1.0 / (scale * scale) : 1.0 / scale;

  for (int64_t i = 0; i < n; i++)
    w->pos[i] = (int32_t)i;
  w->node_begin[0] = 0;
  w->node_end[0] = n;
  w->node_state[0] = NODE_ACTIVE;
  int64_t *hist = w->hist_a, *next = w->hist_b;
  int root = 0;
  brl__hist_build(b, rows, w->qgrad, w->pos, w->node_begin, w->node_end, &root,
                  1, &hist, nt, fp.f0, fp.f1);
  if ((rc = brl__reduce_sum_i64(comm, hist, H)))
    return rc;
  if (fp.c)
    rows_totals(b, w, 1);
  else
    node_totals(b, hist, w->node_tot);

  int depth = 0;
  int small[1 << BRL_MAX_DEPTH];
  int64_t *small_h[1 << BRL_MAX_DEPTH];
  for (int l = 0; l < maxd; l++) {
    const int nn = 1 << l;
    brl_split lv = {0, 0, 0, 0.0};
    double lv_gain = 0.0;
    if (oblivious) {
      if (!oblivious_level(m, b, w, &ctx, hist, nn, nt, &fp, &lv, &lv_gain,
                           &rc)) {
        if (rc)
          return rc;
        break;
      }
      w->tree_feat[l] = lv.feature;
      w->tree_bin[l] = lv.bin;
      w->tree_dl[l] = (uint8_t)lv.default_left;
      w->tree_gain[l] = lv_gain;
      for (int i = 0; i < nn; i++) {
        w->split_feat[i] = lv.feature;
        w->split_bin[i] = lv.bin;
        w->split_dl[i] = (uint8_t)lv.default_left;
      }
    } else {
      if (!greedy_level(m, b, w, &ctx, hist, nn, nt, &fp, &rc)) {
        if (rc)
          return rc;
        break;
      }
      for (int i = 0; i < nn; i++) {
        int64_t hi = nn - 1 + i;
        int sp = w->node_state[i] == NODE_ACTIVE;
        w->tree_split[hi] = (uint8_t)sp;
        w->tree_feat[hi] = sp ? w->split_feat[i] : 0;
        w->tree_bin[hi] = sp ? w->split_bin[i] : 0;
        w->tree_dl[hi] = sp ? w->split_dl[i] : 1;
        w->tree_gain[hi] = sp ? (double)w->split_gain[i] : 0.0;
      }
    }
    /* Partition in descending order: child 2i and 2i+1 never overwrite a
     * parent not yet visited. A node with no rows on this rank still
     * splits when it does on the union of the ranks' rows. */
    for (int i = nn - 1; i >= 0; i--) {
      int64_t beg = w->node_begin[i], end = w->node_end[i];
      int64_t mid = w->node_state[i] == NODE_ACTIVE
                        ? partition(b, rows, w, beg, end, w->split_feat[i],
                                    w->split_bin[i], w->split_dl[i])
                        : end;
      w->node_begin[2 * i] = beg;
      w->node_end[2 * i] = mid;
      w->node_begin[2 * i + 1] = mid;
      w->node_end[2 * i + 1] = end;
      w->child_cnt[2 * i] = mid - beg;
      w->child_cnt[2 * i + 1] = end - mid;
    }
    depth = l + 1;
    /* Only the last level's leaves need no histograms. */
    if (l + 1 >= maxd)
      break;
    if ((rc = brl__reduce_sum_i64(comm, w->child_cnt, 2 * (int64_t)nn)))
      return rc;
    int n_small = children(b, w, nn, small);
    for (int s = 0; s < n_small; s++)
      small_h[s] = next + (int64_t)small[s] * H;
    brl__hist_build(b, rows, w->qgrad, w->pos, w->node_begin, w->node_end,
                    small, n_small, small_h, nt, fp.f0, fp.f1);
    for (int s = 0; s < n_small; s++)
      if ((rc = brl__reduce_sum_i64(comm, small_h[s], H)))
        return rc;
    for (int s = 0; s < n_small; s++) {
      int sm = small[s], big = sm ^ 1, parent = sm >> 1;
      brl__hist_subtract(hist + (int64_t)parent * H + h_off,
                         next + (int64_t)sm * H + h_off,
                         next + (int64_t)big * H + h_off, h_len);
    }
    if (fp.c)
      rows_totals(b, w, 2 * nn);
    else
      for (int i = 0; i < 2 * nn; i++)
        if (w->node_state[i] == NODE_ACTIVE)
          node_totals(b, next + (int64_t)i * H, w->node_tot + (int64_t)i * S);
    int64_t *t = hist;
    hist = next;
    next = t;
  }

  const int nl = 1 << depth;
  if ((rc = leaf_sums(m, b, w, x, grads, nl)))
    return rc;
  brl_tree_draft draft = {depth,      oblivious,     w->tree_feat, w->tree_bin,
                          w->tree_dl, w->tree_split, w->tree_gain, to_real,
                          w->leaf_q,  w->leaf_q + nl};
  if (oblivious)
    draft.split = NULL;
  brl__tree_assemble(m, b, x, &draft, progress);
  return BRL_OK;
}
