/* The two SHAP summary plots of `boostrl explain --plot DIR` as small
 * self-contained SVG files: mean |SHAP| per feature and output (bars) and
 * the beeswarm of every explained step (one dot per step and feature). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Colours of the outputs (bars, legend). */
static const char *const palette[] = {"#1f6fd1", "#e8590c", "#2a9d3a",
                                      "#9c36b5", "#c92a2a", "#0b7285",
                                      "#e67700", "#495057"};
#define N_PALETTE (int)(sizeof palette / sizeof palette[0])

/* Left margin that fits the longest label at font size 12. */
static double label_margin(int F, const char *const *labels) {
  size_t len = 0;
  for (int j = 0; j < F; j++)
    len = strlen(labels[j]) > len ? strlen(labels[j]) : len;
  double m = 16.0 + 6.8 * (double)len;
  return m < 90 ? 90 : m > 320 ? 320 : m;
}

/* Feature indices by decreasing score (stable: ties keep feature order). */
static void sort_desc(int F, const double *score, int *order) {
  for (int j = 0; j < F; j++)
    order[j] = j;
  for (int a = 1; a < F; a++)
    for (int b = a; b > 0 && score[order[b]] > score[order[b - 1]]; b--) {
      int t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
}

/* Tick lines and labels of an x axis over [x0, x1] mapped to [L, L + PW],
 * grid lines from y = T to y = Y (the axis). */
static void x_axis(FILE *f, double x0, double x1, double step, double L,
                   double PW, double T, double Y) {
  double first = ceil(x0 / step - 1e-9) * step;
  for (double v = first; v <= x1 + step * 1e-6; v += step) {
    double px = L + (v - x0) / (x1 - x0) * PW,
           lv = fabs(v) < step * 1e-6 ? 0 : v;
    fprintf(f,
            "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
            "stroke=\"#e5e5e5\"/><line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
            "y2=\"%.1f\" stroke=\"#333\"/><text x=\"%.2f\" y=\"%.1f\" "
            "text-anchor=\"middle\">%g</text>\n",
            px, T, px, Y, px, Y, px, Y + 5, px, Y + 19, lv);
  }
  fprintf(f,
          "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
          "stroke=\"#333\"/>\n",
          L, Y, L + PW, Y);
}

int cli_shap_bar_svg(const char *path, const char *title, int F,
                     const char *const *labels, int n_out,
                     const char *const *out_labels, const double *mean_abs,
                     const char *axis_label) {
  int *order = malloc(sizeof(int) * (size_t)(F > 0 ? F : 1));
  double *total = calloc((size_t)(F > 0 ? F : 1), sizeof(double));
  if (!order || !total) {
    free(order);
    free(total);
    return 2;
  }
  double vmax = 0;
  for (int j = 0; j < F; j++)
    for (int k = 0; k < n_out; k++) {
      double v = mean_abs[j * n_out + k];
      total[j] += v;
      vmax = v > vmax ? v : vmax;
    }
  sort_desc(F, total, order);
  const double W = 760, R = 70, T = 70, B = 56;
  const double L = label_margin(F, labels), PW = W - L - R;
  const double bh = n_out <= 3 ? 14 : 9, gap = 12, gh = n_out * bh + gap;
  const double H = T + F * gh + B, Y = T + F * gh;
  double step = cli_svg_nice_step(vmax > 0 ? vmax : 1, 5);
  double x1 = ceil((vmax > 0 ? vmax : 1) / step) * step;
  FILE *f = fopen(path, "w");
  if (!f) {
    free(order);
    free(total);
    return 1;
  }
  cli_svg_begin(f, W, H);
  cli_svg_text(f, 16, 24, "font-size=\"15\"", title);
  /* Legend: one coloured square per output. */
  double lx = L;
  for (int k = 0; k < n_out; k++) {
    fprintf(f,
            "<rect x=\"%.1f\" y=\"36\" width=\"12\" height=\"12\" "
            "fill=\"%s\"/>\n",
            lx, palette[k % N_PALETTE]);
    cli_svg_text(f, lx + 17, 46.5, NULL, out_labels[k]);
    lx += 40 + 7.0 * (double)strlen(out_labels[k]);
  }
  x_axis(f, 0, x1, step, L, PW, T - 6, Y);
  cli_svg_text(f, L - 8, T - 12, "text-anchor=\"end\" fill=\"#555\"",
               "feature");
  for (int r = 0; r < F; r++) {
    const int j = order[r];
    const double gy = T + r * gh + gap / 2;
    cli_svg_text(f, L - 8, gy + n_out * bh / 2 + 4, "text-anchor=\"end\"",
                 labels[j]);
    for (int k = 0; k < n_out; k++) {
      double v = mean_abs[j * n_out + k];
      double w = v / x1 * PW;
      fprintf(f,
              "<rect class=\"bar\" data-j=\"%d\" data-k=\"%d\" x=\"%.2f\" "
              "y=\"%.2f\" width=\"%.3f\" height=\"%.1f\" fill=\"%s\"/>"
              "<text x=\"%.2f\" y=\"%.2f\" font-size=\"10\" "
              "fill=\"#333\">%.3g</text>\n",
              j, k, L, gy + k * bh, w, bh - 2, palette[k % N_PALETTE],
              L + w + 4, gy + k * bh + bh - 4, v);
    }
  }
  cli_svg_text(f, L + PW / 2, H - 14, "text-anchor=\"middle\"", axis_label);
  fputs("</svg>\n", f);
  free(order);
  free(total);
  return fclose(f) != 0;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

int cli_shap_beeswarm_svg(const char *path, const char *title, int F,
                          const char *const *labels, int64_t n,
                          const float *shap, const float *x,
                          const char *output) {
  const double W = 760, R = 100, T = 50, RH = 40, B = 56, DOT = 2.4;
  const double L = label_margin(F, labels), PW = W - L - R;
  const double Y = T + F * RH, H = Y + B;
  const int n_bins = (int)(PW / 3.0) + 2;
  int *order = malloc(sizeof(int) * (size_t)(F > 0 ? F : 1));
  double *mean = calloc((size_t)(F > 0 ? F : 1), sizeof(double));
  float *tmp = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  int *bins = malloc(sizeof(int) * (size_t)n_bins);
  char *text = malloc(strlen(output) + 64);
  if (!order || !mean || !tmp || !bins || !text) {
    free(order);
    free(mean);
    free(tmp);
    free(bins);
    free(text);
    return 2;
  }
  double lo = 0, hi = 0;
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < F; j++) {
      double v = shap[i * F + j];
      mean[j] += fabs(v);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  sort_desc(F, mean, order);
  if (hi - lo < 1e-12) {
    lo -= 1;
    hi += 1;
  }
  double pad = 0.04 * (hi - lo), step = cli_svg_nice_step(hi - lo, 6);
  double x0 = lo - pad, x1 = hi + pad;
#define PX(v) (L + ((v)-x0) / (x1 - x0) * PW)
  FILE *f = fopen(path, "w");
  int rc = 1;
  if (!f)
    goto done;
  cli_svg_begin(f, W, H);
  fputs("<defs><linearGradient id=\"cbar\" x1=\"0\" y1=\"1\" x2=\"0\" "
        "y2=\"0\"><stop offset=\"0\" stop-color=\"#008afa\"/><stop "
        "offset=\"1\" stop-color=\"#ff0052\"/></linearGradient></defs>\n",
        f);
  cli_svg_text(f, 16, 24, "font-size=\"15\"", title);
  x_axis(f, x0, x1, step, L, PW, T - 6, Y);
  fprintf(f,
          "<line class=\"zero\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
          "y2=\"%.1f\" stroke=\"#777\" stroke-width=\"1.2\"/>\n",
          PX(0.0), T - 6, PX(0.0), Y);
  for (int r = 0; r < F; r++) {
    const int j = order[r];
    const double cy = T + r * RH + RH / 2;
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#ccc\" stroke-dasharray=\"2 3\"/>\n",
            L, cy, L + PW, cy);
    cli_svg_text(f, L - 8, cy + 4, "text-anchor=\"end\"", labels[j]);
    /* The colour scale: the feature's 5th to 95th percentile. */
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
      if (isfinite(x[i * F + j]))
        tmp[m++] = x[i * F + j];
    double vlo = 0, vhi = 0;
    if (m > 0) {
      qsort(tmp, (size_t)m, sizeof(float), cmp_float);
      vlo = tmp[(m - 1) * 5 / 100];
      vhi = tmp[(m - 1) * 95 / 100];
    }
    /* Dots in the same 3-pixel column stack alternately below and above
     * the row's centre line. */
    memset(bins, 0, sizeof(int) * (size_t)n_bins);
    const int levels = (int)((RH / 2 - DOT - 1) / 1.7);
    fprintf(f, "<g fill-opacity=\"0.85\">\n");
    for (int64_t i = 0; i < n; i++) {
      const double v = shap[i * F + j], px = PX(v), xv = x[i * F + j];
      int b = (int)((px - L) / 3.0);
      b = b < 0 ? 0 : b >= n_bins ? n_bins - 1 : b;
      const int c = bins[b]++;
      const int level = ((c + 1) / 2) % (levels + 1);
      const double off = (c % 2 ? -1.0 : 1.0) * level * 1.7;
      char fill[8] = "#999999";
      if (isfinite(xv)) {
        double t = vhi > vlo ? (xv - vlo) / (vhi - vlo) : 0.5;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        snprintf(fill, sizeof fill, "#%02x%02x%02x", (int)lround(0 + t * 255),
                 (int)lround(138 - t * 138), (int)lround(250 - t * 168));
      }
      fprintf(f,
              "<circle class=\"dot\" data-j=\"%d\" cx=\"%.2f\" cy=\"%.2f\" "
              "r=\"%.1f\" fill=\"%s\"/>\n",
              j, px, cy + off, DOT, fill);
    }
    fputs("</g>\n", f);
  }
  /* Colour bar. */
  const double cbx = W - R + 36, cbh = Y - T;
  fprintf(f,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"%.1f\" "
          "fill=\"url(#cbar)\"/>\n",
          cbx, T, cbh);
  cli_svg_text(f, cbx + 5, T - 6, "text-anchor=\"middle\"", "high");
  cli_svg_text(f, cbx + 5, T + cbh + 15, "text-anchor=\"middle\"", "low");
  fprintf(f,
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 %.1f %.1f)\">feature value</text>\n",
          cbx + 26, T + cbh / 2, cbx + 26, T + cbh / 2);
  snprintf(text, strlen(output) + 64, "SHAP value (impact on %s)", output);
  cli_svg_text(f, L + PW / 2, H - 14, "text-anchor=\"middle\"", text);
  fputs("</svg>\n", f);
  rc = fclose(f) != 0;
done:
#undef PX
  free(order);
  free(mean);
  free(tmp);
  free(bins);
  free(text);
  return rc;
}
