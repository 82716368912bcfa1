/* Small SVG primitives (header, escaped text, tick steps) and the learning
 * curve drawn with them: mean training return (last 100 episodes) per
 * rollout, evaluation returns as dots, the solved level as a dashed line.
 * Numbers are printed with '.' decimals (the command runs in the C
 * locale). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>

static int push(double **x, double **y, int *n, int *cap, double a, double b) {
  if (*n == *cap) {
    int nc = *cap ? *cap * 2 : 256;
    double *nx = realloc(*x, (size_t)nc * sizeof(double));
    if (!nx)
      return 1;
    *x = nx;
    double *ny = realloc(*y, (size_t)nc * sizeof(double));
    if (!ny)
      return 1;
    *y = ny;
    *cap = nc;
  }
  (*x)[*n] = a;
  (*y)[*n] = b;
  (*n)++;
  return 0;
}

int cli_curve_add(cli_curve *c, double x, double y) {
  return push(&c->x, &c->y, &c->n, &c->cap, x, y);
}

int cli_curve_add_eval(cli_curve *c, double x, double y) {
  return push(&c->ex, &c->ey, &c->ne, &c->ecap, x, y);
}

void cli_curve_free(cli_curve *c) {
  free(c->x);
  free(c->y);
  free(c->ex);
  free(c->ey);
  c->x = c->y = c->ex = c->ey = NULL;
  c->n = c->cap = c->ne = c->ecap = 0;
}

double cli_svg_nice_step(double range, int ticks) {
  if (!(range > 0) || !isfinite(range))
    return 1;
  double raw = range / ticks, p = pow(10.0, floor(log10(raw)));
  double m = raw / p;
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

void cli_svg_begin(FILE *f, double w, double h) {
  fprintf(f,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          w, h, w, h);
}

void cli_svg_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '"')
      fputs("&quot;", f);
    else
      fputc(*s, f);
  }
}

void cli_svg_text(FILE *f, double x, double y, const char *attrs,
                  const char *text) {
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"%s%s>", x, y, attrs ? " " : "",
          attrs ? attrs : "");
  cli_svg_escape(f, text);
  fputs("</text>\n", f);
}

int cli_svg_write(const char *path, const cli_curve *c, const char *title,
                  double solved) {
  FILE *f = fopen(path, "w");
  if (!f)
    return 1;
  const double W = 720, H = 420, L = 70, R = 20, T = 40, B = 50;
  double x0 = 0, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
  for (int i = 0; i < c->n; i++)
    if (isfinite(c->y[i])) {
      x1 = c->x[i] > x1 ? c->x[i] : x1;
      y0 = c->y[i] < y0 ? c->y[i] : y0;
      y1 = c->y[i] > y1 ? c->y[i] : y1;
    }
  for (int i = 0; i < c->ne; i++) {
    x1 = c->ex[i] > x1 ? c->ex[i] : x1;
    y0 = c->ey[i] < y0 ? c->ey[i] : y0;
    y1 = c->ey[i] > y1 ? c->ey[i] : y1;
  }
  if (isfinite(solved)) {
    y0 = solved < y0 ? solved : y0;
    y1 = solved > y1 ? solved : y1;
  }
  if (!isfinite(y0)) {
    y0 = 0;
    y1 = 1;
  }
  if (y1 - y0 < 1e-9) {
    y0 -= 1;
    y1 += 1;
  }
  double ys = cli_svg_nice_step(y1 - y0, 5), xs = cli_svg_nice_step(x1 - x0, 6);
  y0 = floor(y0 / ys) * ys;
  y1 = ceil(y1 / ys) * ys;
#define PX(v) (L + ((v)-x0) / (x1 - x0) * (W - L - R))
#define PY(v) (H - B - ((v)-y0) / (y1 - y0) * (H - T - B))
  cli_svg_begin(f, W, H);
  fprintf(f, "<text x=\"%.0f\" y=\"24\" font-size=\"15\">", L);
  cli_svg_escape(f, title);
  fputs("</text>\n", f);
  for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"end\">%g</text>\n",
            L, PY(v), W - R, PY(v), L - 6, PY(v) + 4, v);
  }
  for (double v = x0; v <= x1 + xs * 1e-6; v += xs)
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#999\"/><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"middle\">%g</text>\n",
            PX(v), H - B, PX(v), H - B + 5, PX(v), H - B + 20, v);
  fprintf(f,
          "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"none\" stroke=\"#333\"/>\n",
          L, T, W - L - R, H - T - B);
  fprintf(f,
          "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">env "
          "steps</text>\n<text x=\"16\" y=\"%.0f\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 16 %.0f)\">episode return</text>\n",
          (L + W - R) / 2, H - 12, (T + H - B) / 2, (T + H - B) / 2);
  if (isfinite(solved))
    fprintf(f,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#2a2\" stroke-dasharray=\"6 4\"/>\n",
            L, PY(solved), W - R, PY(solved));
  fputs("<polyline fill=\"none\" stroke=\"#1f6fd1\" stroke-width=\"1.5\" "
        "points=\"",
        f);
  for (int i = 0; i < c->n; i++)
    if (isfinite(c->y[i]))
      fprintf(f, "%.1f,%.1f ", PX(c->x[i]), PY(c->y[i]));
  fputs("\"/>\n", f);
  for (int i = 0; i < c->ne; i++)
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#e8590c\"/>\n",
            PX(c->ex[i]), PY(c->ey[i]));
  fprintf(f,
          "<text x=\"%.0f\" y=\"%.0f\" fill=\"#1f6fd1\">training (mean of "
          "last 100 episodes)</text>\n",
          L + 10, T + 16);
  if (c->ne)
    fprintf(f,
            "<text x=\"%.0f\" y=\"%.0f\" fill=\"#e8590c\">evaluation "
            "(deterministic)</text>\n",
            L + 10, T + 32);
  fputs("</svg>\n", f);
#undef PX
#undef PY
  return fclose(f) != 0;
}
