/* `boostrl presets [ENV] [--algo A] [--json]`: the library's table of
 * hyper-parameter presets as data to read and copy. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: boostrl presets [ENV] [--algo ppo|a2c|awr|dqn] [--json]\n"
      "Lists the hyper-parameter presets that `boostrl train` and the Python\n"
      "algorithms start from: each row's env id pattern ('*' matches any\n"
      "characters), algorithm and settings, applied over the algorithm's\n"
      "defaults. With ENV, only the rows that apply to ENV (one per\n"
      "algorithm at most); with --algo, only that algorithm's.\n\n"
      "  --json   a JSON array of {\"env\": PATTERN, \"algo\": ALGO,\n"
      "           \"settings\": {KEY: VALUE, ...}}; a row's settings object "
      "is a\n"
      "           valid `boostrl train --config` file\n"
      "  -h, --help  this help\n");
}

/* Writes a setting's value as a JSON number, true/false, or a string. */
static void json_value(const char *v) {
  char *end;
  double d = strtod(v, &end);
  if (!strcmp(v, "true") || !strcmp(v, "false"))
    fputs(v, stdout);
  else if ((v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) && *end == '\0' &&
           isfinite(d))
    fputs(v, stdout);
  else
    cli_json_string(stdout, v);
}

/* Prints the "k=v k=v" settings as a JSON object or as "k=v" text. */
static void print_settings(const char *s, int json) {
  int first = 1;
  if (json)
    fputc('{', stdout);
  while (*s) {
    while (*s == ' ')
      s++;
    size_t n = strcspn(s, " ");
    if (!n)
      break;
    char kv[128];
    snprintf(kv, sizeof kv, "%.*s", (int)n, s);
    char *eq = strchr(kv, '=');
    if (json && eq) {
      *eq = '\0';
      fputs(first ? "" : ",", stdout);
      cli_json_string(stdout, kv);
      fputc(':', stdout);
      json_value(eq + 1);
    } else if (!json) {
      printf("%s%s", first ? "" : " ", kv);
    }
    first = 0;
    s += n;
  }
  if (json)
    fputc('}', stdout);
}

static int wanted(int row, const char *env_id, int algo) {
  brl_agent_preset p;
  brl_agent_preset_get(row, &p);
  if (algo >= 0 && (int)p.algo != algo)
    return 0;
  return !env_id || brl_agent_preset_find(env_id, p.algo) == row;
}

int cli_presets(int argc, char **argv) {
  const char *env_id = NULL;
  int json = 0, algo = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--algo")) {
      brl_algo al;
      if (i + 1 >= argc) {
        fprintf(stderr, "boostrl presets: --algo needs a value: ppo, a2c, "
                        "awr or dqn\n");
        return 2;
      }
      if (brl_algo_parse(argv[++i], &al))
        return cli_bad_value("presets", argv[i], "--algo");
      algo = (int)al;
    } else if (a[0] == '-') {
      return cli_unknown_option("presets", a);
    } else if (env_id) {
      fprintf(stderr,
              "boostrl presets: one ENV at most ('%s' and '%s' given)\n",
              env_id, a);
      return 2;
    } else {
      env_id = a;
    }
  }
  int n = brl_agent_preset_count(), shown = 0;
  if (json)
    fputc('[', stdout);
  else
    printf("%-26s %-4s  %s\n", "env", "algo", "settings");
  for (int i = 0; i < n; i++) {
    brl_agent_preset p;
    if (!wanted(i, env_id, algo) || brl_agent_preset_get(i, &p))
      continue;
    if (json) {
      printf("%s{\"env\":", shown ? "," : "");
      cli_json_string(stdout, p.env);
      printf(",\"algo\":\"%s\",\"settings\":", brl_algo_name(p.algo));
      print_settings(p.settings, 1);
      fputc('}', stdout);
    } else {
      printf("%-26s %-4s  ", p.env, brl_algo_name(p.algo));
      print_settings(p.settings, 0);
      fputc('\n', stdout);
    }
    shown++;
  }
  if (json)
    puts("]");
  else if (!shown && env_id)
    printf("(no preset for %s: `boostrl train` uses the library defaults, "
           "listed by `boostrl train --help`)\n",
           env_id);
  return 0;
}
