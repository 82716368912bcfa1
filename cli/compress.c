/* `boostrl compress MODEL --trees N --out FILE`: distils a saved agent's
 * ensembles into at most N trees (brl_agent_compress) on states of its own
 * rollouts, reports action agreement on held-out states, output errors and
 * the returns of the teacher and the compressed agent, and saves it. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: boostrl compress MODEL --trees N --out FILE [options]\n"
      "Distils the ensembles of a saved agent into at most N trees in all, "
      "one new tree\nper consecutive group of old trees, split at their own "
      "thresholds and fitted to\nthe teacher's outputs (centred logits or "
      "means, and the value) over states of\nits own rollouts, then saves "
      "the compressed agent. MODEL is an agent file\n(model.brl) or a run "
      "directory of `boostrl train`.\n\n"
      "options:\n"
      "  --trees N            tree budget of the compressed agent (required)\n"
      "  --out FILE           where to save the compressed agent (required)\n"
      "  --env ENV            environment (default: the run's, from its "
      "config.json)\n"
      "  --steps S            env steps recorded for the fit (default "
      "20000)\n"
      "  --holdout-steps H    env steps recorded for the report (default "
      "5000)\n"
      "  --stochastic-frac F  fraction of recorded episodes that sample "
      "actions\n"
      "                       instead of the argmax (default 0.5)\n"
      "  --lr LR              each distilled tree fits LR x the residual "
      "it is given\n"
      "                       (default 1)\n"
      "  --depth D            depth of the distilled trees (default: the "
      "agent's\n"
      "                       max_depth; the saved configuration follows)\n"
      "  --grow oblivious|greedy  grow policy of the distilled trees "
      "(default: the\n"
      "                       agent's)\n"
      "  --value-weight W     weight of the value against the policy in "
      "split scores\n"
      "                       of a shared ensemble (default 1)\n"
      "  --episodes N         evaluation episodes of teacher and student "
      "(default 100;\n"
      "                       0 skips)\n"
      "  --seed S             seed of the recorded rollouts and the "
      "evaluation (default 0)\n"
      "  --threads P          threads, 0 = all cores\n"
      "  --json               print the report as one JSON line\n"
      "  -h, --help           this help\n");
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (!s[0] || *end || !(v >= lo && v <= hi))
    return 1;
  *out = v;
  return 0;
}

static void json_eval(const char *name, const brl_eval_result *e) {
  printf(",\"%s_mean_return\":", name);
  cli_json_number(stdout, e->mean_return);
  printf(",\"%s_std_return\":", name);
  cli_json_number(stdout, e->std_return);
}

int cli_compress(int argc, char **argv) {
  const char *model = NULL, *env_id = NULL, *out_path = NULL;
  int64_t trees = -1, steps = 20000, holdout = 5000, episodes = 100, seed = 0,
          threads = -1;
  double frac = 0.5, lr = 1.0, vw = 1.0;
  int64_t depth = 0, grow = -1;
  int json = 0;
  static const char *const flags[] = {"--json", NULL};
  int flag_set[1] = {0};
  for (int i = 1; i < argc; i++) {
    const char *a, *v;
    int rc;
    int k = cli_next_arg("compress", argc, argv, &i, usage, flags, flag_set,
                         &model, &a, &v, &rc);
    if (k < 0)
      return rc;
    if (k == 0)
      continue;
    int bad = 0;
    if (!strcmp(a, "--trees"))
      bad = cli_parse_i64(v, INT64_MIN, INT64_MAX, &trees) || trees > INT32_MAX;
    else if (!strcmp(a, "--out"))
      out_path = v;
    else if (!strcmp(a, "--env"))
      env_id = v;
    else if (!strcmp(a, "--steps"))
      bad = cli_parse_i64(v, 1, (int64_t)1 << 31, &steps);
    else if (!strcmp(a, "--holdout-steps"))
      bad = cli_parse_i64(v, 0, (int64_t)1 << 31, &holdout);
    else if (!strcmp(a, "--stochastic-frac"))
      bad = parse_double(v, 0, 1, &frac);
    else if (!strcmp(a, "--lr"))
      bad = parse_double(v, 1e-30, 1e30, &lr);
    else if (!strcmp(a, "--depth"))
      bad = cli_parse_i64(v, 0, BRL_MAX_DEPTH, &depth);
    else if (!strcmp(a, "--grow")) {
      if (!strcmp(v, "oblivious"))
        grow = 0;
      else if (!strcmp(v, "greedy"))
        grow = 1;
      else
        bad = 1;
    } else if (!strcmp(a, "--value-weight"))
      bad = parse_double(v, 0, 1e30, &vw);
    else if (!strcmp(a, "--episodes"))
      bad = cli_parse_i64(v, 0, 10000000, &episodes);
    else if (!strcmp(a, "--seed"))
      bad = cli_parse_i64(v, 0, INT64_MAX, &seed);
    else if (!strcmp(a, "--threads"))
      bad = cli_parse_i64(v, 0, 4096, &threads);
    else
      return cli_unknown_option("compress", a);
    if (bad)
      return cli_bad_value("compress", v, a);
  }
  json = flag_set[0];
  if (!model || !out_path || trees == -1) {
    fprintf(stderr, "boostrl compress: name a model and give --trees N and "
                    "--out FILE (see --help)\n");
    return 2;
  }
  cli_loaded l;
  const int open_rc = cli_open_model(
      "compress", model, env_id, CLI_NEED_AGENT | CLI_NEED_ENV, threads, &l);
  if (open_rc)
    return open_rc;
  brl_agent *a = l.agent;
  const char *path = l.path;
  env_id = l.env;
  brl_compress_params cp;
  brl_compress_params_default(&cp, (int)trees);
  cp.steps = steps;
  cp.holdout_steps = holdout;
  cp.stochastic_frac = frac;
  cp.lr = lr;
  cp.value_weight = vw;
  cp.max_depth = (int)depth;
  cp.grow_policy = (int)grow;
  cp.eval_episodes = 0; /* evaluated below as `boostrl eval` does */
  cp.seed = (uint64_t)seed;
  brl_eval_result ev_t, ev_s;
  memset(&ev_t, 0, sizeof ev_t);
  memset(&ev_s, 0, sizeof ev_s);
  ev_t.mean_return = ev_t.std_return = NAN;
  ev_s.mean_return = ev_s.std_return = NAN;
  int rc = 0;
  if (episodes > 0)
    rc = cli_evaluate(a, env_id, (uint64_t)seed, (int)episodes, &ev_t);
  brl_env *env = NULL;
  brl_compress_report r;
  double t0 = cli_now();
  if (!rc) {
    /* Rollout seeds apart from training and from evaluation. */
    if (brl_env_make(env_id, 16, cli_eval_seed((uint64_t)seed) + 500000000ull,
                     &env) ||
        brl_agent_compress(a, env, &cp, &r))
      rc = cli_lib_error("compress");
  }
  double wall = cli_now() - t0;
  brl_env_free(&env);
  if (!rc && episodes > 0)
    rc = cli_evaluate(a, env_id, (uint64_t)seed, (int)episodes, &ev_s);
  if (!rc && brl_agent_save(a, out_path))
    rc = cli_lib_error(out_path);
  if (!rc && json) {
    fputs("{\"env\":", stdout);
    cli_json_string(stdout, env_id);
    fputs(",\"model\":", stdout);
    cli_json_string(stdout, path);
    fputs(",\"out\":", stdout);
    cli_json_string(stdout, out_path);
    printf(",\"trees_before\":%d,\"trees_after\":%d,\"train_rows\":%lld,"
           "\"holdout_rows\":%lld",
           r.trees_before, r.trees_after, (long long)r.train_rows,
           (long long)r.holdout_rows);
    fputs(",\"agreement\":", stdout);
    cli_json_number(stdout, r.agreement);
    fputs(",\"policy_rmse\":", stdout);
    cli_json_number(stdout, r.policy_rmse);
    fputs(",\"value_rmse\":", stdout);
    cli_json_number(stdout, r.value_rmse);
    fputs(",\"prob_tv\":", stdout);
    cli_json_number(stdout, r.prob_tv);
    fputs(",\"train_policy_rmse\":", stdout);
    cli_json_number(stdout, r.train_policy_rmse);
    json_eval("teacher", &ev_t);
    json_eval("student", &ev_s);
    printf(",\"eval_episodes\":%lld,\"fit_s\":", (long long)episodes);
    cli_json_number(stdout, r.fit_s);
    fputs(",\"wall_s\":", stdout);
    cli_json_number(stdout, wall);
    fputs("}\n", stdout);
  } else if (!rc) {
    printf("compressed %s (%s): %d -> %d trees in %.2f s (fit %.2f s) on "
           "%lld recorded states\n",
           path, env_id, r.trees_before, r.trees_after, wall, r.fit_s,
           (long long)r.train_rows);
    printf("held-out (%lld states): action agreement %.2f%%, policy RMSE "
           "%.4g, value RMSE %.4g, mean TV %.4g (fit policy RMSE %.4g)\n",
           (long long)r.holdout_rows, 100.0 * r.agreement, r.policy_rmse,
           r.value_rmse, r.prob_tv, r.train_policy_rmse);
    if (episodes > 0)
      printf("return over %lld episodes: teacher %.2f +- %.2f, compressed "
             "%.2f +- %.2f\n",
             (long long)episodes, ev_t.mean_return, ev_t.std_return,
             ev_s.mean_return, ev_s.std_return);
    printf("saved %s\n", out_path);
  }
  cli_loaded_free(&l);
  return rc;
}
