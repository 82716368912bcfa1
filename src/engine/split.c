/* Split scores from histograms (DESIGN: L2 = |S_L|^2/n_L + |S_R|^2/n_R on
 * z-scored gradients, cosine = its square root on raw gradients). Sums are
 * exact integers; scores are a deterministic function of them.
 *
 * A feature of a node is scanned in two passes: the first walks its bins
 * once and gathers the cumulative left totals at every non-empty bin (a
 * threshold between empty bins gives the same partition as the previous
 * one); the second scores all those candidates in a plain loop over arrays
 * that the compiler vectorizes, compiled for several vector widths and
 * picked at run time. The same operations run in every clone, so the
 * results do not depend on the machine's vector unit. */
#include "engine/grow.h"

#include <math.h>
#include <string.h>

double brl__node_score(const brl_split_ctx *c, const int64_t *tot) {
  if (tot[0] <= 0)
    return 0.0;
  double acc = 0.0;
  for (int k = 0; k < c->K; k++) {
    double v = (double)tot[1 + k];
    acc += v * v;
  }
  acc /= (double)tot[0];
  return c->l2 ? acc : sqrt(acc);
}

/* Not under the sanitizers: their instrumented ifunc resolver would run
 * before the sanitizer's runtime is set up (TSan crashes at load). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&         \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define BRL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BRL_CLONES
#endif

/* Scores m candidates: left counts cnt[m], left sums s[K][m] (stride 256),
 * parent count nP and sums sP[K]. tl/tr are scratch of m doubles. */
BRL_CLONES static void
score_candidates(int K, int m, const double *cnt, const double *s, double nP,
                 const double *sP, double min_leaf, int need_both, int l2,
                 double *tl, double *tr, double *score, uint8_t *ok) {
  for (int i = 0; i < m; i++) {
    tl[i] = 0.0;
    tr[i] = 0.0;
  }
  for (int k = 0; k < K; k++) {
    const double *sk = s + (int64_t)k * 256;
    const double p = sP[k];
    for (int i = 0; i < m; i++) {
      double a = sk[i], b = p - sk[i];
      tl[i] += a * a;
      tr[i] += b * b;
    }
  }
  /* Branch-free loops so that they vectorize: an empty child has zero
   * sums, so dividing by max(n, 1) gives its zero term. */
  for (int i = 0; i < m; i++) {
    double nl = cnt[i], nr = nP - cnt[i];
    score[i] = tl[i] / (nl > 1.0 ? nl : 1.0) + tr[i] / (nr > 1.0 ? nr : 1.0);
  }
  if (!l2)
    for (int i = 0; i < m; i++)
      score[i] = sqrt(score[i]);
  for (int i = 0; i < m; i++) {
    double nl = cnt[i], nr = nP - cnt[i];
    int bad = ((nl > 0.0) & (nl < min_leaf)) | ((nr > 0.0) & (nr < min_leaf)) |
              (need_both & ((nl <= 0.0) | (nr <= 0.0)));
    ok[i] = (uint8_t)!bad;
  }
}

/* Gathers the candidates of feature f: cumulative left totals at each
 * non-empty bin (and bin 0), without (variant 0) and with (variant 1) the
 * missing slot on the left. Returns their number; bins[i] is the threshold
 * bin of candidate i. */
static int gather(const brl_split_ctx *c, const brl_batch *b,
                  const int64_t *hist, int f, brl_scan_ws *sw) {
  const int K = c->K, S = K + 1, nb = b->nbins[f];
  const int64_t *base = hist + b->hoff[f] * S;
  const int64_t *M = base + (int64_t)nb * S;
  int64_t L[1 + 256];
  memset(L, 0, (size_t)S * sizeof(int64_t));
  int m = 0;
  const int stride = 256;
  sw->has_missing = M[0] > 0;
  /* Numeric: left = bins <= j (cumulative). Categorical: left = bin j
   * alone (one-vs-rest), every kept category is a candidate; the last value
   * bin ("other") is never one. */
  const int cat = f >= b->D;
  for (int j = 0; j < nb - 1; j++) {
    const int64_t *slot = base + (int64_t)j * S;
    if (cat) {
      memcpy(L, slot, (size_t)S * sizeof(int64_t));
    } else {
      if (j > 0 && slot[0] == 0)
        continue;
      for (int s = 0; s < S; s++)
        L[s] += slot[s];
    }
    sw->bins[m] = j;
    sw->cnt[0][m] = (double)L[0];
    for (int k = 0; k < K; k++)
      sw->sum[0][k * stride + m] = (double)L[1 + k];
    if (sw->has_missing) {
      sw->cnt[1][m] = (double)(L[0] + M[0]);
      for (int k = 0; k < K; k++)
        sw->sum[1][k * stride + m] = (double)(L[1 + k] + M[1 + k]);
    }
    m++;
  }
  return m;
}

/* Scores the gathered candidates for both missing sides. */
static void score_both(const brl_split_ctx *c, const int64_t *tot, int m,
                       int need_both, brl_scan_ws *sw) {
  const int K = c->K;
  double sP[256];
  for (int k = 0; k < K; k++)
    sP[k] = (double)tot[1 + k];
  for (int v = 0; v < 1 + sw->has_missing; v++) {
    score_candidates(K, m, sw->cnt[v], sw->sum[v], (double)tot[0], sP,
                     (double)c->min_leaf, need_both, c->l2, sw->tl, sw->tr,
                     sw->score[v], sw->ok[v]);
  }
  if (!sw->has_missing) {
    memcpy(sw->score[1], sw->score[0], (size_t)m * sizeof(double));
    memcpy(sw->ok[1], sw->ok[0], (size_t)m);
  }
}

int brl__best_node_split(const brl_split_ctx *c, const brl_batch *b,
                         const int64_t *hist, const int64_t *tot,
                         const float *fweight, int f0, int f1, brl_scan_ws *sw,
                         brl_split *out) {
  int found = 0;
  for (int f = f0; f < f1; f++) {
    if (b->nbins[f] < 2 || fweight[f] <= 0.0f)
      continue;
    int m = gather(c, b, hist, f, sw);
    score_both(c, tot, m, 1, sw);
    for (int i = 0; i < m; i++)
      for (int dl = 1; dl >= 0; dl--) {
        if (dl == 0 && !sw->has_missing)
          break; /* no missing values: both sides are the same split */
        if (!sw->ok[dl][i])
          continue;
        double sc = sw->score[dl][i] * (double)fweight[f];
        if (!found || sc > out->score) {
          found = 1;
          out->score = sc;
          out->feature = f;
          out->bin = sw->bins[i];
          out->default_left = dl;
        }
      }
  }
  return found;
}

void brl__level_accumulate(const brl_split_ctx *c, const brl_batch *b,
                           const int64_t *hist, const int64_t *tot, int f0,
                           int f1, brl_scan_ws *sw, double *level_delta,
                           int32_t *bad_delta) {
  /* A node's score is constant between non-empty bins, so it adds only its
   * changes (deltas) there; the caller prefix-sums once per level. The
   * work per node is proportional to its samples, not to the bins. */
  for (int f = f0; f < f1; f++) {
    if (b->nbins[f] < 2)
      continue;
    int m = gather(c, b, hist, f, sw);
    score_both(c, tot, m, 0, sw);
    double *ls = level_delta + b->hoff[f] * 2;
    int32_t *bd = bad_delta + b->hoff[f] * 2;
    for (int dl = 0; dl < 2; dl++) {
      double last = 0.0;
      int last_bad = 0;
      for (int i = 0; i < m; i++) {
        int j = sw->bins[i], bad = !sw->ok[dl][i];
        ls[2 * j + dl] += sw->score[dl][i] - last;
        bd[2 * j + dl] += bad - last_bad;
        last = sw->score[dl][i];
        last_bad = bad;
      }
    }
  }
}
