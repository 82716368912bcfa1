/* The `boostrl` command: train, eval, envs, presets, bench, ... */
#include "bench.h"
#include "cli.h"

#include <string.h>

static void usage(FILE *f) {
  fprintf(f,
          "boostrl %s - reinforcement learning with gradient-boosted trees\n\n"
          "usage: boostrl COMMAND [options]\n\n"
          "commands:\n"
          "  train ENV     train an agent on a native environment\n"
          "  eval MODEL    evaluate a saved agent\n"
          "  explain MODEL explain the policy's actions with SHAP\n"
          "  dump MODEL    print trees as JSON, Graphviz DOT or text\n"
          "  export MODEL  export the policy as dependency-free C\n"
          "  compress MODEL distil the agent into fewer trees\n"
          "  envs          list the native environments\n"
          "  presets [ENV] list the hyper-parameter presets (--json)\n"
          "  tune ENV      tune the hyper-parameters with Optuna (Python)\n"
          "  bench         benchmark the tree engine on the RL update "
          "workload\n"
          "  version       print the version\n\n"
          "Run `boostrl COMMAND --help` for the options of a command.\n"
          "Example: boostrl train CartPole-v1\n",
          brl_version());
}

static int cmd_envs(int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      printf("usage: boostrl envs [--json]\nLists the native environments "
             "with their spaces and time limits.\n");
      return 0;
    } else {
      fprintf(stderr, "boostrl envs: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (json)
    fputc('[', stdout);
  else
    printf("%-26s %4s  %-22s %6s  %s\n", "id", "obs", "actions", "limit",
           "presets");
  int first = 1;
  for (const char *const *id = brl_env_ids(); *id; id++) {
    brl_env *e;
    if (brl_env_make(*id, 1, 0, &e))
      return cli_lib_error(*id);
    brl_env_spec s;
    brl_env_get_spec(e, &s);
    brl_env_free(&e);
    char act[64];
    if (s.action_kind == BRL_SPACE_DISCRETE)
      snprintf(act, sizeof act, "Discrete(%d)", s.n_actions);
    else if (s.action_kind == BRL_SPACE_BOX)
      snprintf(act, sizeof act, "Box(%d) [%g, %g]", s.action_dim,
               (double)s.action_low[0], (double)s.action_high[0]);
    else
      snprintf(act, sizeof act, "MultiDiscrete(%d)", s.action_dim);
    char presets[32] = "";
    brl_agent_config c;
    int found;
    for (int algo = 0; algo <= 3; algo++) {
      brl_agent_config_preset(&c, *id, (brl_algo)algo, &found);
      if (found) {
        if (presets[0])
          strcat(presets, ",");
        strcat(presets, brl_algo_name((brl_algo)algo));
      }
    }
    if (json) {
      printf("%s{\"id\":", first ? "" : ",");
      cli_json_string(stdout, *id);
      printf(",\"obs_dim\":%d,\"actions\":", s.obs_dim);
      cli_json_string(stdout, act);
      printf(",\"max_episode_steps\":%d,\"presets\":", s.max_episode_steps);
      cli_json_string(stdout, presets);
      fputc('}', stdout);
    } else {
      printf("%-26s %4d  %-22s %6d  %s\n", *id, s.obs_dim, act,
             s.max_episode_steps, presets);
    }
    first = 0;
  }
  if (json)
    puts("]");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("boostrl %s\n", brl_version());
    return 0;
  }
  if (!strcmp(cmd, "train"))
    return cli_train(argc - 1, argv + 1);
  if (!strcmp(cmd, "eval"))
    return cli_eval(argc - 1, argv + 1);
  if (!strcmp(cmd, "explain"))
    return cli_explain(argc - 1, argv + 1);
  if (!strcmp(cmd, "dump"))
    return cli_dump(argc - 1, argv + 1);
  if (!strcmp(cmd, "export"))
    return cli_export(argc - 1, argv + 1);
  if (!strcmp(cmd, "compress"))
    return cli_compress(argc - 1, argv + 1);
  if (!strcmp(cmd, "presets"))
    return cli_presets(argc - 1, argv + 1);
  if (!strcmp(cmd, "tune"))
    return cli_tune(argc - 1, argv + 1);
  if (!strcmp(cmd, "envs"))
    return cmd_envs(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench"))
    return brl_bench_main(argc - 1, argv + 1);
  fprintf(stderr, "boostrl: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return 2;
}
