/* `boostrl explain MODEL --env ENV --episodes N`: runs the deterministic
 * policy and explains each chosen action with exact TreeSHAP of the output
 * behind it (the chosen action's logit; the mean for continuous actions):
 * a table of the global mean |SHAP| per feature, the first steps, a CSV
 * with one row per step and action dimension, and two SVG plots
 * (shap_plot.c). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: boostrl explain MODEL [options]\n"
          "Runs the deterministic policy of an agent (agent file or run "
          "directory) and\nexplains every chosen action with exact TreeSHAP: "
          "the contribution of each\nobservation feature to the output behind "
          "the action (the chosen action's\nlogit, or the mean of a "
          "continuous action), in output units; the\ncontributions plus the "
          "expected value add up to the output.\n\n"
          "options:\n"
          "  --env ENV          environment (default: the run's, from "
          "config.json)\n"
          "  --episodes N       episodes (default 10)\n"
          "  --seed S           evaluation seed (default 0)\n"
          "  --csv FILE         per-step explanations: episode, step, dim, "
          "action,\n"
          "                     output, prediction, expected_value, "
          "shap_<feature>...,\n"
          "                     <feature>... (the observation)\n"
          "  --show K           steps of the first episode printed (default "
          "10)\n"
          "  --plot DIR         writes DIR/shap_bar.svg (mean |SHAP| per "
          "feature, one bar\n"
          "                     per action output: each action's logit, or "
          "each action\n"
          "                     dimension's mean) and DIR/shap_beeswarm.svg "
          "(one dot per\n"
          "                     step and feature at its SHAP value, coloured "
          "by the\n"
          "                     feature's value)\n"
          "  --output O         output of the beeswarm: chosen (default: the "
          "output behind\n"
          "                     each chosen action, as in the CSV), or one "
          "action output\n"
          "                     by index or name (CartPole: left, right)\n"
          "  --plot-points N    at most N steps in the beeswarm, every k-th "
          "(default 2000)\n"
          "  --feature-names A,B,...  names of the observation features "
          "(default: the\n"
          "                     env's where known, else obs0, obs1, ...)\n"
          "  --json             print the summary as one JSON line\n"
          "  -h, --help         this help\n");
}

typedef struct explain_acc {
  int F, K;        /* features, model outputs */
  int n_dims;      /* explained outputs per step */
  int64_t rows;    /* explained (step, dim) rows */
  double *sum_abs; /* F: sum of |SHAP| */
  double *sum;     /* F: sum of SHAP */
  FILE *csv;       /* or NULL */
  int show, shown; /* steps to print, printed */
  char **names;    /* F names */
  int json;
  /* Plots (plot set): */
  int plot;
  int n_act;         /* action outputs: logits, or means of a box */
  int fixed;         /* output column of the beeswarm, or -1: chosen */
  double *bar_sum;   /* F x n_act: sum of |SHAP| over steps */
  int64_t bar_steps; /* steps summed */
  float *bs, *bx;    /* beeswarm rows: SHAP and observation, F each */
  int64_t brows, bcap;
} explain_acc;

/* Appends one beeswarm row (SHAP column k of s, observation o). */
static int push_row(explain_acc *e, const float *s, int k, const float *o) {
  const int F = e->F, K = e->K;
  if (e->brows == e->bcap) {
    int64_t nc = e->bcap ? e->bcap * 2 : 1024;
    float *a = realloc(e->bs, sizeof(float) * (size_t)(nc * F));
    if (!a)
      return 1;
    e->bs = a;
    float *b = realloc(e->bx, sizeof(float) * (size_t)(nc * F));
    if (!b)
      return 1;
    e->bx = b;
    e->bcap = nc;
  }
  for (int j = 0; j < F; j++) {
    e->bs[e->brows * F + j] = s[j * K + k];
    e->bx[e->brows * F + j] = o[j];
  }
  e->brows++;
  return 0;
}

/* Readable labels of the observation features of native envs for the
 * plots (NULL if unknown). */
static const char *const *feature_labels(const char *env_id, int F) {
  static const char *const cartpole[] = {
      "cart position (x)", "cart velocity (x_dot)", "pole angle (theta)",
      "pole angular velocity (theta_dot)"};
  static const char *const mountain_car[] = {"car position", "car velocity"};
  static const char *const pendulum[] = {"cos(angle)", "sin(angle)",
                                         "angular velocity"};
  if (!env_id)
    return NULL;
  if (!strcmp(env_id, "CartPole-v1") && F == 4)
    return cartpole;
  if ((!strcmp(env_id, "MountainCar-v0") ||
       !strcmp(env_id, "MountainCarContinuous-v0")) &&
      F == 2)
    return mountain_car;
  if (!strcmp(env_id, "Pendulum-v1") && F == 3)
    return pendulum;
  return NULL;
}

/* Names of the actions of the native discrete envs (NULL if unknown). */
static const char *const *action_names(const char *env_id, int n) {
  static const char *const cartpole[] = {"left", "right"};
  static const char *const mountain_car[] = {"left", "none", "right"};
  static const char *const acrobot[] = {"torque -1", "torque 0", "torque +1"};
  if (!env_id)
    return NULL;
  if (!strcmp(env_id, "CartPole-v1") && n == 2)
    return cartpole;
  if (!strcmp(env_id, "MountainCar-v0") && n == 3)
    return mountain_car;
  if (!strcmp(env_id, "Acrobot-v1") && n == 3)
    return acrobot;
  return NULL;
}

/* Label of action output k into buf. */
static void output_label(const brl_action_space *sp, const char *env_id, int k,
                         char *buf, size_t size) {
  if (sp->kind == BRL_SPACE_BOX) {
    if (sp->dim == 1)
      snprintf(buf, size, "action mean");
    else
      snprintf(buf, size, "mean of action %d", k);
    return;
  }
  const char *const *an =
      sp->dim == 1 ? action_names(env_id, sp->nvec[0]) : NULL;
  if (an) {
    snprintf(buf, size, "%s", an[k]);
    return;
  }
  if (sp->dim == 1) {
    snprintf(buf, size, "action %d", k);
    return;
  }
  int d = 0;
  while (d + 1 < sp->dim && k >= sp->nvec[d]) {
    k -= sp->nvec[d];
    d++;
  }
  snprintf(buf, size, "dim %d = %d", d, k);
}

/* The output columns behind the action of one step. */
static int action_outputs(const brl_action_space *sp, const float *action,
                          int *cols) {
  if (sp->kind == BRL_SPACE_BOX) {
    for (int j = 0; j < sp->dim; j++)
      cols[j] = j;
    return sp->dim;
  }
  int off = 0;
  for (int j = 0; j < sp->dim; j++) {
    cols[j] = off + (int)action[j];
    off += sp->nvec[j];
  }
  return sp->dim;
}

/* Explains the n steps of one episode (obs n x F, actions n x act_dim). */
static int explain_episode(explain_acc *e, const brl_model *m,
                           const brl_action_space *sp, int episode,
                           const float *obs, const float *actions, int64_t n,
                           float *shap, float *pred) {
  const int F = e->F, K = e->K, ad = sp->dim;
  if (brl_model_shap(m, obs, NULL, n, shap) ||
      brl_model_predict(m, obs, n, 0, -1, pred))
    return cli_lib_error("explain");
  for (int64_t i = 0; i < n && e->plot; i++) {
    const float *s = shap + i * (F + 1) * K;
    for (int k = 0; k < e->n_act; k++)
      for (int j = 0; j < F; j++)
        e->bar_sum[j * e->n_act + k] += fabs((double)s[j * K + k]);
    e->bar_steps++;
    if (e->fixed >= 0 && push_row(e, s, e->fixed, obs + i * F))
      return 2;
  }
  for (int64_t i = 0; i < n; i++) {
    int cols[BRL_MAX_ACTION_DIM];
    int nd = action_outputs(sp, actions + i * ad, cols);
    for (int d = 0; d < nd; d++) {
      const int k = cols[d];
      const float *s = shap + i * (F + 1) * K;
      for (int j = 0; j < F; j++) {
        double v = s[j * K + k];
        e->sum_abs[j] += fabs(v);
        e->sum[j] += v;
      }
      e->rows++;
      if (e->plot && e->fixed < 0 && push_row(e, s, k, obs + i * F))
        return 2;
      if (e->csv) {
        fprintf(e->csv, "%d,%lld,%d,%.9g,%d,%.9g,%.9g", episode, (long long)i,
                d, (double)actions[i * ad + d], k, (double)pred[i * K + k],
                (double)s[F * K + k]);
        for (int j = 0; j < F; j++)
          fprintf(e->csv, ",%.9g", (double)s[j * K + k]);
        for (int j = 0; j < F; j++)
          fprintf(e->csv, ",%.9g", (double)obs[i * F + j]);
        fputc('\n', e->csv);
      }
      if (!e->json && episode == 0 && e->shown < e->show) {
        if (d == 0)
          e->shown++;
        printf("%5lld  %6g  %9.4f  %9.4f ", (long long)i,
               (double)actions[i * ad + d], (double)pred[i * K + k],
               (double)s[F * K + k]);
        /* The two largest contributions. */
        int best[2] = {-1, -1};
        for (int j = 0; j < F; j++) {
          if (best[0] < 0 || fabsf(s[j * K + k]) > fabsf(s[best[0] * K + k])) {
            best[1] = best[0];
            best[0] = j;
          } else if (best[1] < 0 ||
                     fabsf(s[j * K + k]) > fabsf(s[best[1] * K + k])) {
            best[1] = j;
          }
        }
        for (int b = 0; b < 2 && best[b] >= 0; b++)
          printf(" %s=%.4g (%+.4f)", e->names[best[b]],
                 (double)obs[i * F + best[b]], (double)s[best[b] * K + k]);
        putchar('\n');
      }
    }
  }
  return 0;
}

/* Writes DIR/shap_bar.svg and DIR/shap_beeswarm.svg; 0 on success. */
static int write_plots(explain_acc *e, const brl_action_space *sp,
                       const char *env_id, const char *dir, int64_t points,
                       int json) {
  const int F = e->F, A = e->n_act;
  char bar[CLI_PATH_MAX], swarm[CLI_PATH_MAX], title[512], axis[256];
  if (cli_join(bar, sizeof bar, dir, "shap_bar.svg") ||
      cli_join(swarm, sizeof swarm, dir, "shap_beeswarm.svg")) {
    fprintf(stderr, "boostrl explain: --plot %s: path too long\n", dir);
    return 1;
  }
  const char *const *fl = feature_labels(env_id, F);
  const char **labels = malloc(sizeof(char *) * (size_t)F);
  char(*outs)[64] = malloc(sizeof *outs * (size_t)A);
  const char **out_ptr = malloc(sizeof(char *) * (size_t)A);
  int rc = 1;
  if (!labels || !outs || !out_ptr) {
    fprintf(stderr, "boostrl explain: out of memory\n");
    goto done;
  }
  /* Names given with --feature-names win over the readable labels. */
  const char *const *fn = cli_feature_names(env_id, F);
  for (int j = 0; j < F; j++)
    labels[j] = fl && fn && !strcmp(e->names[j], fn[j]) ? fl[j] : e->names[j];
  for (int k = 0; k < A; k++) {
    output_label(sp, env_id, k, outs[k], sizeof outs[k]);
    out_ptr[k] = outs[k];
  }
  for (int i = 0; i < F * A; i++)
    e->bar_sum[i] /= e->bar_steps > 0 ? (double)e->bar_steps : 1.0;
  const int box = sp->kind == BRL_SPACE_BOX;
  snprintf(title, sizeof title, "%s: mean |SHAP| per feature over %lld steps",
           env_id, (long long)e->bar_steps);
  snprintf(axis, sizeof axis, "mean |SHAP value| (average impact on %s)",
           box ? "each action dimension's mean" : "each action's logit");
  int r = cli_shap_bar_svg(bar, title, F, labels, A, out_ptr, e->bar_sum, axis);
  if (r) {
    fprintf(stderr, "boostrl explain: %s %s\n",
            r == 2 ? "out of memory writing" : "cannot write", bar);
    goto done;
  }
  /* Every k-th row, at most `points`. */
  const int64_t stride = (e->brows + points - 1) / points;
  int64_t kept = 0;
  for (int64_t i = 0; i<e->brows; i += stride> 0 ? stride : 1, kept++)
    if (kept != i) {
      memmove(e->bs + kept * F, e->bs + i * F, sizeof(float) * (size_t)F);
      memmove(e->bx + kept * F, e->bx + i * F, sizeof(float) * (size_t)F);
    }
  char what[128];
  if (e->fixed >= 0)
    snprintf(what, sizeof what, box ? "the %s" : "the logit of %s",
             outs[e->fixed]);
  else
    snprintf(what, sizeof what, "%s",
             box ? "the action's mean" : "the chosen action's logit");
  snprintf(title, sizeof title, "%s: SHAP values of %s, %lld steps", env_id,
           what, (long long)kept);
  r = cli_shap_beeswarm_svg(swarm, title, F, labels, kept, e->bs, e->bx, what);
  if (r) {
    fprintf(stderr, "boostrl explain: %s %s\n",
            r == 2 ? "out of memory writing" : "cannot write", swarm);
    goto done;
  }
  if (!json)
    printf("plots: %s, %s\n", bar, swarm);
  rc = 0;
done:
  free(labels);
  free(outs);
  free(out_ptr);
  return rc;
}

int cli_explain(int argc, char **argv) {
  const char *model = NULL, *env_id = NULL, *csv_path = NULL;
  const char *plot_dir = NULL, *output = "chosen", *feature_names = NULL;
  int64_t episodes = 10, seed = 0, show = 10, plot_points = 2000;
  int json = 0;
  static const char *const flags[] = {"--json", NULL};
  int flag_set[1] = {0};
  for (int i = 1; i < argc; i++) {
    const char *a, *v;
    int rc;
    int k = cli_next_arg("explain", argc, argv, &i, usage, flags, flag_set,
                         &model, &a, &v, &rc);
    if (k < 0)
      return rc;
    if (k == 0)
      continue;
    int bad = 0;
    if (!strcmp(a, "--env"))
      env_id = v;
    else if (!strcmp(a, "--episodes"))
      bad = cli_parse_i64(v, 1, 1000000, &episodes);
    else if (!strcmp(a, "--seed"))
      bad = cli_parse_i64(v, 0, INT64_MAX, &seed);
    else if (!strcmp(a, "--show"))
      bad = cli_parse_i64(v, 0, 1000000, &show);
    else if (!strcmp(a, "--csv"))
      csv_path = v;
    else if (!strcmp(a, "--plot"))
      plot_dir = v;
    else if (!strcmp(a, "--output"))
      output = v;
    else if (!strcmp(a, "--plot-points"))
      bad = cli_parse_i64(v, 1, 100000000, &plot_points);
    else if (!strcmp(a, "--feature-names"))
      feature_names = v;
    else
      return cli_unknown_option("explain", a);
    if (bad)
      return cli_bad_value("explain", v, a);
  }
  json = flag_set[0];
  if (!model) {
    fprintf(stderr, "boostrl explain: name an agent file or run directory\n");
    return 2;
  }
  cli_loaded l;
  int rc = cli_open_model("explain", model, env_id,
                          CLI_NEED_AGENT | CLI_NEED_ENV, -1, &l);
  if (rc)
    return rc;
  env_id = l.env;
  brl_agent *ag = l.agent;
  const brl_model *m = l.policy;
  brl_action_space sp;
  brl_agent_get_action_space(ag, &sp);
  brl_env *env = NULL;
  brl_env_spec spec;
  rc = 1;
  explain_acc e;
  memset(&e, 0, sizeof e);
  float *obs = NULL, *act = NULL, *shap = NULL, *pred = NULL;
  double *returns = NULL;
  char **names = NULL;
  if (brl_env_make(env_id, 1, cli_eval_seed((uint64_t)seed), &env)) {
    cli_lib_error(env_id);
    goto done;
  }
  brl_env_get_spec(env, &spec);
  if (spec.obs_dim != brl_agent_obs_dim(ag)) {
    fprintf(stderr,
            "boostrl explain: %s has %d observation features, the "
            "agent %d\n",
            env_id, spec.obs_dim, brl_agent_obs_dim(ag));
    goto done;
  }
  e.F = brl_model_n_all_features(m);
  e.K = brl_model_n_outputs(m);
  e.show = (int)show;
  e.json = json;
  const int F = e.F, K = e.K, ad = sp.dim;
  const int64_t cap =
      spec.max_episode_steps > 0 ? spec.max_episode_steps : 100000;
  e.sum_abs = calloc((size_t)F, sizeof(double));
  e.sum = calloc((size_t)F, sizeof(double));
  names = calloc((size_t)F, sizeof(char *));
  obs = malloc(sizeof(float) * (size_t)(cap + 1) * (size_t)F);
  act = malloc(sizeof(float) * (size_t)(cap + 1) * (size_t)ad);
  shap =
      malloc(sizeof(float) * (size_t)(cap + 1) * (size_t)(F + 1) * (size_t)K);
  pred = malloc(sizeof(float) * (size_t)(cap + 1) * (size_t)K);
  returns = calloc((size_t)episodes, sizeof(double));
  if (!e.sum_abs || !e.sum || !names || !obs || !act || !shap || !pred ||
      !returns) {
    fprintf(stderr, "boostrl explain: out of memory\n");
    goto done;
  }
  const char *const *fn = cli_feature_names(env_id, F);
  const char *next = feature_names;
  for (int j = 0; j < F; j++) {
    char buf[32];
    snprintf(buf, sizeof buf, "obs%d", j);
    if (feature_names) {
      const char *c = next ? strchr(next, ',') : NULL;
      size_t len = next ? (c ? (size_t)(c - next) : strlen(next)) : 0;
      if (!next || len == 0 || (j == F - 1) != (c == NULL)) {
        fprintf(stderr,
                "boostrl explain: --feature-names needs %d non-empty names "
                "separated by commas (one per observation feature)\n",
                F);
        rc = 2;
        goto done;
      }
      names[j] = strndup(next, len);
      next = c ? c + 1 : NULL;
    } else {
      names[j] = strdup(fn ? fn[j] : buf);
    }
    if (!names[j]) {
      fprintf(stderr, "boostrl explain: out of memory\n");
      goto done;
    }
  }
  e.names = names;
  e.fixed = -1;
  e.n_act = 0;
  for (int d = 0; d < sp.dim; d++)
    e.n_act += sp.kind == BRL_SPACE_BOX ? 1 : sp.nvec[d];
  if (e.n_act > K) {
    fprintf(stderr,
            "boostrl explain: the policy has %d outputs, fewer than the %d "
            "of its action space\n",
            K, e.n_act);
    goto done;
  }
  if (plot_dir) {
    e.plot = 1;
    if (strcmp(output, "chosen")) {
      int64_t k;
      for (int c = 0; c < e.n_act && e.fixed < 0; c++) {
        char lab[64];
        output_label(&sp, env_id, c, lab, sizeof lab);
        if (!strcmp(lab, output))
          e.fixed = c;
      }
      if (e.fixed < 0 && !cli_parse_i64(output, 0, e.n_act - 1, &k))
        e.fixed = (int)k;
      if (e.fixed < 0) {
        char lab[64];
        output_label(&sp, env_id, 0, lab, sizeof lab);
        fprintf(stderr,
                "boostrl explain: --output is chosen, an action output index "
                "0..%d or its name (output 0: %s), not '%s'\n",
                e.n_act - 1, lab, output);
        rc = 2;
        goto done;
      }
    }
    e.bar_sum = calloc((size_t)F * (size_t)e.n_act, sizeof(double));
    if (!e.bar_sum) {
      fprintf(stderr, "boostrl explain: out of memory\n");
      goto done;
    }
    if (cli_mkdir(plot_dir)) {
      fprintf(stderr, "boostrl explain: cannot create directory %s\n",
              plot_dir);
      goto done;
    }
  } else if (strcmp(output, "chosen")) {
    fprintf(stderr, "boostrl explain: --output applies to the plots: add "
                    "--plot DIR\n");
    rc = 2;
    goto done;
  }
  if (csv_path) {
    e.csv = fopen(csv_path, "w");
    if (!e.csv) {
      fprintf(stderr, "boostrl explain: cannot write %s\n", csv_path);
      goto done;
    }
    fputs("episode,step,dim,action,output,prediction,expected_value", e.csv);
    for (int j = 0; j < F; j++)
      fprintf(e.csv, ",shap_%s", names[j]);
    for (int j = 0; j < F; j++)
      fprintf(e.csv, ",%s", names[j]);
    fputc('\n', e.csv);
  }
  float *expected = malloc(sizeof(float) * (size_t)K);
  if (!expected || brl_model_expected_value(m, expected)) {
    free(expected);
    if (!expected)
      fprintf(stderr, "boostrl explain: out of memory\n");
    else
      cli_lib_error("explain");
    goto done;
  }
  if (!json) {
    printf("%s on %s: %d trees, %d outputs; expected value of output 0: "
           "%.4f\n",
           l.path, env_id, brl_model_n_trees(m), K, (double)expected[0]);
    if (show > 0)
      printf("\nfirst steps of episode 0 (%s):\n%5s  %6s  %9s  %9s  %s\n",
             sp.kind == BRL_SPACE_BOX ? "mean of each action dimension"
                                      : "logit of the chosen action",
             "step", "action", "output", "expected", "largest contributions");
  }
  free(expected);
  int64_t total_steps = 0;
  for (int ep = 0; ep < episodes; ep++) {
    if (brl_env_reset(env, obs)) {
      cli_lib_error(env_id);
      goto done;
    }
    int64_t n = 0;
    double ret = 0;
    for (;;) {
      float r, *o = obs + n * F;
      uint8_t term, trunc;
      if (brl_agent_act(ag, o, 1, NULL, 1, act + n * ad, NULL, NULL)) {
        cli_lib_error("explain");
        goto done;
      }
      n++;
      /* obs has cap + 1 rows: the observation after the last step fits. */
      if (brl_env_step(env, act + (n - 1) * ad, obs + n * F, &r, &term, &trunc,
                       NULL)) {
        cli_lib_error(env_id);
        goto done;
      }
      ret += r;
      if (term || trunc || n >= cap)
        break;
    }
    returns[ep] = ret;
    total_steps += n;
    int erc = explain_episode(&e, m, &sp, ep, obs, act, n, shap, pred);
    if (erc == 2)
      fprintf(stderr, "boostrl explain: out of memory\n");
    if (erc)
      goto done;
  }
  double mean_ret = 0;
  for (int ep = 0; ep < episodes; ep++)
    mean_ret += returns[ep] / (double)episodes;
  /* Features by decreasing mean |SHAP|. */
  int *order = malloc(sizeof(int) * (size_t)F);
  if (!order) {
    fprintf(stderr, "boostrl explain: out of memory\n");
    goto done;
  }
  double total = 0;
  for (int j = 0; j < F; j++) {
    order[j] = j;
    total += e.sum_abs[j];
  }
  for (int a = 1; a < F; a++)
    for (int b = a; b > 0 && e.sum_abs[order[b]] > e.sum_abs[order[b - 1]];
         b--) {
      int t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  const double rows = e.rows > 0 ? (double)e.rows : 1.0;
  if (json) {
    fputs("{\"env\":", stdout);
    cli_json_string(stdout, env_id);
    fputs(",\"model\":", stdout);
    cli_json_string(stdout, l.path);
    printf(",\"episodes\":%lld,\"steps\":%lld,\"rows\":%lld,\"mean_return\":",
           (long long)episodes, (long long)total_steps, (long long)e.rows);
    cli_json_number(stdout, mean_ret);
    fputs(",\"features\":[", stdout);
    for (int r = 0; r < F; r++) {
      int j = order[r];
      fputs(r ? ",{\"name\":" : "{\"name\":", stdout);
      cli_json_string(stdout, names[j]);
      printf(",\"mean_abs_shap\":%.6g,\"mean_shap\":%.6g}", e.sum_abs[j] / rows,
             e.sum[j] / rows);
    }
    fputs("]", stdout);
    if (csv_path) {
      fputs(",\"csv\":", stdout);
      cli_json_string(stdout, csv_path);
    }
    puts("}");
  } else {
    printf("\n%lld episodes, %lld steps, mean return %.2f\n"
           "global importance (mean |SHAP| of the chosen action's output):\n"
           "%4s  %-16s %12s %12s %7s\n",
           (long long)episodes, (long long)total_steps, mean_ret, "rank",
           "feature", "mean |SHAP|", "mean SHAP", "share");
    for (int r = 0; r < F; r++) {
      int j = order[r];
      printf("%4d  %-16s %12.5f %12.5f %6.1f%%\n", r + 1, names[j],
             e.sum_abs[j] / rows, e.sum[j] / rows,
             total > 0 ? 100.0 * e.sum_abs[j] / total : 0.0);
    }
    if (csv_path)
      printf("per-step explanations: %s (%lld rows)\n", csv_path,
             (long long)e.rows);
  }
  free(order);
  if (e.plot && write_plots(&e, &sp, env_id, plot_dir, plot_points, json))
    goto done;
  rc = 0;
done:
  if (e.csv && fclose(e.csv) != 0 && rc == 0) {
    fprintf(stderr, "boostrl explain: error writing %s\n", csv_path);
    rc = 1;
  }
  for (int j = 0; names && j < e.F; j++)
    free(names[j]);
  free(names);
  free(e.sum_abs);
  free(e.sum);
  free(e.bar_sum);
  free(e.bs);
  free(e.bx);
  free(obs);
  free(act);
  free(shap);
  free(pred);
  free(returns);
  brl_env_free(&env);
  cli_loaded_free(&l);
  return rc;
}
