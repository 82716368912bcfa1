/* Training progress: a live bar on a terminal (steps, fps, return, trees,
 * ETA), else a plain line every 10% of the run or every 10 seconds. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

void cli_progress_init(cli_progress *p, FILE *out, int enabled,
                       int64_t start_steps, int64_t total) {
  memset(p, 0, sizeof *p);
  p->out = out;
  p->enabled = enabled;
  p->tty = enabled && isatty(fileno(out));
  p->total = total;
  p->start_steps = start_steps;
  p->t_start = cli_now();
  p->last_pct = -1;
}

static void fmt_time(char *buf, size_t n, double s) {
  if (!isfinite(s) || s < 0)
    snprintf(buf, n, "--");
  else if (s < 60)
    snprintf(buf, n, "%.0fs", s);
  else if (s < 3600)
    snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
  else
    snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void cli_progress_update(cli_progress *p, const brl_agent_stats *s, int trees,
                         double elapsed_s, int force) {
  if (!p->enabled)
    return;
  double now = cli_now();
  double frac = p->total > 0 ? (double)s->timesteps / (double)p->total : 1.0;
  if (frac > 1)
    frac = 1;
  int pct = (int)(frac * 100);
  /* Throughput of this run (not counting steps loaded from a file). */
  double run_steps = (double)(s->timesteps - p->start_steps);
  double fps = elapsed_s > 0 ? run_steps / elapsed_s : 0;
  double left = (double)(p->total - s->timesteps);
  double eta = fps > 0 ? (left > 0 ? left : 0.0) / fps : NAN;
  char eta_s[16], ret[32];
  fmt_time(eta_s, sizeof eta_s, eta);
  if (isfinite(s->ep_return_mean))
    snprintf(ret, sizeof ret, "%.1f", s->ep_return_mean);
  else
    snprintf(ret, sizeof ret, "--");
  if (p->tty) {
    if (!force && now - p->t_last < 0.1)
      return;
    p->t_last = now;
    char bar[21];
    int fill = (int)(frac * 20);
    for (int i = 0; i < 20; i++)
      bar[i] = i < fill ? '#' : '-';
    bar[20] = '\0';
    fprintf(p->out,
            "\r[%s] %3d%% %lld/%lld steps  %.0f fps  return %s  trees %d  "
            "ETA %s \033[K",
            bar, pct, (long long)s->timesteps, (long long)p->total, fps, ret,
            trees, eta_s);
    fflush(p->out);
    return;
  }
  if (!force && pct / 10 == p->last_pct / 10 && now - p->t_last < 10.0)
    return;
  if (force && s->timesteps == p->last_steps)
    return; /* this line was just printed */
  p->last_steps = s->timesteps;
  p->last_pct = pct;
  p->t_last = now;
  fprintf(p->out,
          "steps %lld/%lld (%d%%)  fps %.0f  episodes %lld  return %s  "
          "trees %d  elapsed %.1fs\n",
          (long long)s->timesteps, (long long)p->total, pct, fps,
          (long long)s->episodes, ret, trees, elapsed_s);
  fflush(p->out);
}

void cli_progress_note(cli_progress *p, const char *msg) {
  if (!p->enabled)
    return;
  if (p->tty)
    fprintf(p->out, "\r\033[K%s\n", msg);
  else
    fprintf(p->out, "%s\n", msg);
  fflush(p->out);
}

void cli_progress_finish(cli_progress *p) {
  if (p->enabled && p->tty) {
    fputc('\n', p->out);
    fflush(p->out);
  }
}
