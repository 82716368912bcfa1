/* Binning: at most 255 value bins; strictly increasing edges; codes agree
 * with the edges (code c <=> edge[c-1] < x <= edge[c]); few distinct values
 * get one bin each; quantile bins hold about equal counts, uniform bins
 * equal widths; NaN takes the missing code; constant features one bin. */
#include "testlib.h"
#include "util.h"

#include "engine/batch.h"

#include <math.h>

static void check_codes(const brl_batch *b, const float *X) {
  int ok = 1;
  for (int f = 0; f < b->d; f++) {
    const float *e = b->edges + f * 255;
    int ne = b->nbins[f] - 1;
    ok &= b->nbins[f] >= 1 && b->nbins[f] <= 255;
    for (int j = 1; j < ne; j++)
      ok &= e[j] > e[j - 1];
    for (int64_t i = 0; i < b->n; i++) {
      float x = X[i * b->d + f];
      int c = b->codes[i * b->d + f];
      if (isnan(x)) {
        ok &= c == b->nbins[f];
        continue;
      }
      ok &= c < b->nbins[f];
      ok &= (c == 0 || e[c - 1] < x) && (c == ne || x <= e[c]);
    }
  }
  CHECK_MSG(ok, "codes do not agree with edges");
}

int main(void) {
  brl_rng r;
  brl_rng_seed(&r, 1);
  const int n = 5000, d = 4;
  float *X = rand_matrix(&r, n, d, 0.03);
  for (int i = 0; i < n; i++) {
    X[i * d + 2] = (float)(i % 7); /* 7 distinct values */
    X[i * d + 3] = 2.5f;           /* constant */
  }
  for (int method = 0; method < 2; method++)
    for (int bins = 2; bins <= 256; bins += 127) {
      brl_params p;
      brl_params_default(&p, d, 1);
      p.n_bins = bins;
      p.bin_method = method;
      brl_model *m;
      brl_batch *b;
      CHECK_OK(brl_model_create(&p, &m));
      CHECK_OK(brl_batch_create(m, X, n, &b));
      check_codes(b, X);
      int vb = bins > 255 ? 255 : bins;
      CHECK(brl_batch_n_bins(b, 0) <= vb && brl_batch_n_bins(b, 0) >= vb - 2);
      if (method == BRL_BINS_QUANTILE && bins >= 7)
        CHECK(brl_batch_n_bins(b, 2) == 7);
      CHECK(brl_batch_n_bins(b, 3) == 1);
      if (method == BRL_BINS_QUANTILE && bins == 129) {
        int cnt[256] = {0}, tot = 0;
        for (int i = 0; i < n; i++)
          if (!isnan(X[i * d])) {
            cnt[b->codes[i * d]]++;
            tot++;
          }
        int mx = 0, mn = n;
        for (int c = 0; c < b->nbins[0]; c++) {
          mx = cnt[c] > mx ? cnt[c] : mx;
          mn = cnt[c] < mn ? cnt[c] : mn;
        }
        CHECK_MSG(mx <= 2 * tot / b->nbins[0] + 2 && mn >= 1,
                  "quantile bins: max %d min %d", mx, mn);
      }
      if (method == BRL_BINS_UNIFORM) {
        const float *e = b->edges;
        double w0 = e[1] - e[0];
        int ok = 1;
        for (int j = 2; j < b->nbins[0] - 1; j++)
          ok &= fabs((e[j] - e[j - 1]) - w0) < 1e-4;
        CHECK_MSG(ok, "uniform edges are not equally spaced");
      }
      brl_batch_free(&b);
      brl_model_free(&m);
    }
  free(X);
  return brl_test_report("test_batch");
}
