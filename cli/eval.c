/* `boostrl eval MODEL`: runs a saved agent's deterministic policy for N
 * episodes on env copies seeded apart from training. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: boostrl eval MODEL [options]\n"
          "Evaluates the deterministic policy of a saved agent. MODEL is an "
          "agent file\n(model.brl) or a run directory of `boostrl train`.\n\n"
          "options:\n"
          "  --env ENV          environment (default: the run's, from its "
          "config.json)\n"
          "  --episodes N       episodes (default 100)\n"
          "  --seed S           evaluation seed (default 0; env copies are "
          "seeded apart\n"
          "                     from every training seed)\n"
          "  --threads P        threads, 0 = all cores\n"
          "  --device D         cpu (default), cuda or auto: where the "
          "trees predict\n"
          "  --json             print the result as one JSON line\n"
          "  -h, --help         this help\n");
}

int cli_eval(int argc, char **argv) {
  const char *model = NULL, *env_id = NULL, *device = NULL;
  int64_t episodes = 100, seed = 0, threads = -1;
  int json = 0;
  static const char *const flags[] = {"--json", NULL};
  int flag_set[1] = {0};
  for (int i = 1; i < argc; i++) {
    const char *a, *v;
    int rc;
    int k = cli_next_arg("eval", argc, argv, &i, usage, flags, flag_set, &model,
                         &a, &v, &rc);
    if (k < 0)
      return rc;
    if (k == 0)
      continue;
    int bad = 0;
    if (!strcmp(a, "--env"))
      env_id = v;
    else if (!strcmp(a, "--episodes"))
      bad = cli_parse_i64(v, 1, 10000000, &episodes);
    else if (!strcmp(a, "--seed"))
      bad = cli_parse_i64(v, 0, INT64_MAX, &seed);
    else if (!strcmp(a, "--threads"))
      bad = cli_parse_i64(v, 0, 4096, &threads);
    else if (!strcmp(a, "--device")) {
      brl_agent_config c;
      brl_agent_config_default(&c, BRL_ALGO_PPO);
      if (brl_agent_config_set(&c, "device", v)) {
        fprintf(stderr, "boostrl eval: --device: %s\n", brl_last_error());
        return 2;
      }
      device = v;
    } else
      return cli_unknown_option("eval", a);
    if (bad)
      return cli_bad_value("eval", v, a);
  }
  json = flag_set[0];
  if (!model) {
    fprintf(stderr, "boostrl eval: name a model file or run directory\n");
    return 2;
  }
  cli_loaded l;
  const int open_rc = cli_open_model(
      "eval", model, env_id, CLI_NEED_AGENT | CLI_NEED_ENV, threads, &l);
  if (open_rc)
    return open_rc;
  brl_agent *a = l.agent;
  const char *path = l.path;
  env_id = l.env;
  if (device && brl_agent_set_device(a, device)) {
    fprintf(stderr, "boostrl eval: --device: %s\n", brl_last_error());
    cli_loaded_free(&l);
    return 1;
  }
  if (cli_check_env("eval", a, env_id)) {
    cli_loaded_free(&l);
    return 1;
  }
  brl_eval_result ev;
  const double act_us = cli_act_us(a, env_id);
  double t0 = cli_now();
  int rc = cli_evaluate(a, env_id, (uint64_t)seed, (int)episodes, &ev);
  double wall = cli_now() - t0;
  if (!rc) {
    brl_agent_config c;
    brl_agent_get_config(a, &c);
    const brl_model *p = brl_agent_model(a, 0), *v = brl_agent_model(a, 1);
    int trees = brl_model_n_trees(p) + (v != p ? brl_model_n_trees(v) : 0);
    if (json) {
      fputs("{\"env\":", stdout);
      cli_json_string(stdout, env_id);
      fputs(",\"model\":", stdout);
      cli_json_string(stdout, path);
      fprintf(stdout,
              ",\"algo\":\"%s\",\"device\":\"%s\",\"seed\":%lld,\"trees\":%d",
              brl_algo_name(c.algo), brl_agent_device(a), (long long)seed,
              trees);
      fputs(",\"eval_mean_return\":", stdout);
      cli_json_number(stdout, ev.mean_return);
      fputs(",\"eval_std_return\":", stdout);
      cli_json_number(stdout, ev.std_return);
      fprintf(stdout, ",\"eval_episodes\":%d", ev.episodes);
      fputs(",\"eval_mean_length\":", stdout);
      cli_json_number(stdout, ev.mean_length);
      fputs(",\"eval_min_return\":", stdout);
      cli_json_number(stdout, ev.min_return);
      fputs(",\"eval_max_return\":", stdout);
      cli_json_number(stdout, ev.max_return);
      fputs(",\"act_us\":", stdout);
      cli_json_number(stdout, act_us);
      fputs(",\"wall_s\":", stdout);
      cli_json_number(stdout, wall);
      fputs("}\n", stdout);
    } else {
      printf("%s on %s: mean return %.2f +- %.2f over %d episodes (min "
             "%.1f, max %.1f, mean length %.1f), %d trees, %.1f us per "
             "action, %.2f s\n",
             path, env_id, ev.mean_return, ev.std_return, ev.episodes,
             ev.min_return, ev.max_return, ev.mean_length, trees, act_us, wall);
    }
  }
  cli_loaded_free(&l);
  return rc;
}
