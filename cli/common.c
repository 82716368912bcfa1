/* Helpers shared by the subcommands: clock, number parsing, paths, JSON
 * output, evaluation. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  if (!s || !*s)
    return 1;
  char *end;
  errno = 0;
  /* Accept 1e6-style and 1_000_000 for convenience. */
  char buf[64];
  size_t n = 0;
  for (const char *p = s; *p && n + 1 < sizeof buf; p++)
    if (*p != '_')
      buf[n++] = *p;
  buf[n] = '\0';
  long long v = strtoll(buf, &end, 10);
  if (*end == 'e' || *end == 'E' || *end == '.') {
    double d = strtod(buf, &end);
    if (*end || d != floor(d) || d < (double)lo || d > (double)hi)
      return 1;
    *out = (int64_t)d;
    return 0;
  }
  if (*end || errno == ERANGE || v < lo || v > hi)
    return 1;
  *out = v;
  return 0;
}

uint64_t cli_eval_seed(uint64_t seed) { return seed + 1000000000ull; }

double cli_solved_return(const char *env_id) {
  static const struct {
    const char *id;
    double r;
  } t[] = {{"CartPole-v1", 475.0},
           {"Acrobot-v1", -100.0},
           {"MountainCar-v0", -110.0},
           {"MountainCarContinuous-v0", 90.0},
           {"Pendulum-v1", -200.0}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(t[i].id, env_id) == 0)
      return t[i].r;
  return NAN;
}

int cli_mkdir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST)
    return 0;
  return 1;
}

int cli_join(char *out, size_t size, const char *dir, const char *name) {
  const int n = snprintf(out, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size) {
    if (size)
      out[0] = '\0';
    return 1;
  }
  return 0;
}

int cli_copy_path(char *out, size_t size, const char *path) {
  const int n = snprintf(out, size, "%s", path);
  if (n < 0 || (size_t)n >= size) {
    if (size)
      out[0] = '\0';
    return 1;
  }
  return 0;
}

int cli_lib_error(const char *what) {
  fprintf(stderr, "boostrl: %s: %s\n", what, brl_last_error());
  return 1;
}

void cli_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

void cli_json_number(FILE *f, double v) {
  if (!isfinite(v))
    fputs("null", f);
  else if (v == floor(v) && fabs(v) < 1e15)
    fprintf(f, "%.0f", v);
  else
    fprintf(f, "%.6g", v);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double cli_act_us(brl_agent *a, const char *env_id) {
  enum { RUNS = 201 };
  brl_env *env = NULL;
  brl_env_spec spec;
  double t[RUNS], us = NAN;
  float *obs = NULL, *act = NULL;
  /* The env's observations must have the agent's shape before acting. */
  if (brl_env_make(env_id, 1, 0, &env) || brl_agent_check_env(a, env) ||
      brl_env_get_spec(env, &spec))
    goto done;
  obs = malloc((size_t)spec.obs_dim * sizeof(float));
  act = malloc((size_t)spec.action_dim * sizeof(float));
  if (!obs || !act || brl_env_reset(env, obs))
    goto done;
  for (int i = 0; i < RUNS; i++) {
    const double t0 = cli_now();
    if (brl_agent_act(a, obs, 1, NULL, 1, act, NULL, NULL))
      goto done;
    t[i] = cli_now() - t0;
  }
  qsort(t, RUNS, sizeof t[0], cmp_double);
  us = t[RUNS / 2] * 1e6;
done:
  brl_env_free(&env);
  free(obs);
  free(act);
  return us;
}

int cli_check_env(const char *cmd, brl_agent *a, const char *env_id) {
  brl_env *env = NULL;
  int rc = brl_env_make(env_id, 1, 0, &env) || brl_agent_check_env(a, env);
  if (rc)
    fprintf(stderr, "boostrl %s: %s\n", cmd, brl_last_error());
  brl_env_free(&env);
  return rc;
}

int cli_evaluate(brl_agent *a, const char *env_id, uint64_t seed, int episodes,
                 brl_eval_result *out) {
  brl_env *env = NULL;
  int n = episodes < CLI_EVAL_ENVS ? episodes : CLI_EVAL_ENVS;
  if (brl_env_make(env_id, n, cli_eval_seed(seed), &env))
    return cli_lib_error("evaluation");
  int rc = brl_agent_evaluate(a, env, episodes, out, NULL);
  brl_env_free(&env);
  if (rc)
    return cli_lib_error("evaluation");
  return 0;
}

static int env_from_run(const char *model, int is_dir, char *out, size_t size) {
  char path[CLI_PATH_MAX];
  if (is_dir) {
    if (cli_join(path, sizeof path, model, "config.json"))
      return 1;
  } else {
    if (cli_copy_path(path, sizeof path, model))
      return 1;
    char *slash = strrchr(path, '/');
    char *base = slash ? slash + 1 : path;
    const size_t room = sizeof path - (size_t)(base - path);
    if ((size_t)snprintf(base, room, "config.json") >= room)
      return 1; /* no config.json fits next to it */
  }
  brl_kv *j;
  if (brl_kv_load_json(path, &j))
    return 1;
  const char *env = brl_kv_get(j, "env");
  int rc = env ? 0 : 1;
  if (env)
    snprintf(out, size, "%s", env);
  brl_kv_free(&j);
  return rc;
}

/* MODEL as named on a command line: a run directory (path gets its
 * model.brl) or a file (path gets it as is); env gets the env id of the
 * run's config.json (next to a file). Returns 1, with env empty, when there
 * is none; -1, with a message for cmd, when MODEL does not exist or its
 * path does not fit path_size. */
static int resolve_model(const char *cmd, const char *model, char *path,
                         size_t path_size, char *env, size_t env_size) {
  struct stat sb;
  env[0] = '\0';
  if (stat(model, &sb)) {
    fprintf(stderr,
            "boostrl %s: %s: %s: name an agent file (model.brl) or the run "
            "directory of `boostrl train`\n",
            cmd, model, strerror(errno));
    return -1;
  }
  const int is_dir = S_ISDIR(sb.st_mode);
  if (is_dir ? cli_join(path, path_size, model, "model.brl")
             : cli_copy_path(path, path_size, model)) {
    fprintf(stderr,
            "boostrl %s: the path %s is %zu bytes long: use one of at most "
            "%zu bytes\n",
            cmd, model, strlen(model), path_size - 12);
    return -1;
  }
  if (is_dir && stat(path, &sb)) {
    fprintf(stderr,
            "boostrl %s: %s holds no model.brl: name an agent file or the "
            "run directory of `boostrl train`\n",
            cmd, model);
    return -1;
  }
  return env_from_run(model, is_dir, env, env_size);
}

/* 1 if the file starts (after blanks) with '{'. */
static int looks_like_json(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  int c;
  while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
    ;
  fclose(f);
  return c == '{';
}

/* Loads out->path: a model JSON file, an agent file or a model file. */
static int load_resolved(const char *cmd, cli_loaded *out) {
  if (looks_like_json(out->path)) {
    if (brl_model_load_json_file(out->path, &out->model)) {
      fprintf(stderr, "boostrl %s: %s: %s\n", cmd, out->path, brl_last_error());
      return 1;
    }
    out->policy = out->model;
    return 0;
  }
  if (brl_agent_load(out->path, &out->agent) == 0) {
    out->policy = brl_agent_model(out->agent, 0);
    return 0;
  }
  char agent_err[512];
  snprintf(agent_err, sizeof agent_err, "%s", brl_last_error());
  if (brl_model_load(out->path, &out->model) == 0) {
    out->policy = out->model;
    return 0;
  }
  fprintf(stderr,
          "boostrl %s: %s is neither an agent file nor a model file (as an "
          "agent: %s; as a model: %s)\n",
          cmd, out->path, agent_err, brl_last_error());
  return 1;
}

int cli_open_model(const char *cmd, const char *model, const char *env_opt,
                   unsigned need, int64_t threads, cli_loaded *out) {
  memset(out, 0, sizeof *out);
  if (resolve_model(cmd, model, out->path, sizeof out->path, out->env_id,
                    sizeof out->env_id) < 0)
    return 1;
  out->env = env_opt ? env_opt : out->env_id[0] ? out->env_id : NULL;
  int rc = 0;
  if ((need & CLI_NEED_ENV) && !out->env) {
    fprintf(stderr,
            "boostrl %s: name the environment with --env (no config.json "
            "next to the model)\n",
            cmd);
    rc = 2;
  } else if ((rc = load_resolved(cmd, out)) == 0 && (need & CLI_NEED_AGENT) &&
             !out->agent) {
    fprintf(stderr,
            "boostrl %s: %s is a bare model: %s needs an agent file (its "
            "action space and observation shape)\n",
            cmd, out->path, cmd);
    rc = 2;
  }
  if (!rc && out->agent && threads >= 0)
    brl_agent_set_threads(out->agent, (int)threads);
  if (rc)
    cli_loaded_free(out);
  return rc;
}

void cli_loaded_free(cli_loaded *l) {
  brl_agent_free(&l->agent);
  brl_model_free(&l->model);
  l->policy = NULL;
}

int cli_next_arg(const char *cmd, int argc, char **argv, int *i,
                 void (*usage)(FILE *), const char *const *flags, int *flag_set,
                 const char **positional, const char **opt, const char **val,
                 int *exit_rc) {
  const char *a = argv[*i];
  if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
    usage(stdout);
    *exit_rc = 0;
    return -1;
  }
  for (int f = 0; flags && flags[f]; f++)
    if (!strcmp(a, flags[f])) {
      flag_set[f] = 1;
      return 0;
    }
  if (a[0] != '-') {
    if (*positional) {
      fprintf(stderr, "boostrl %s: unexpected argument '%s'\n", cmd, a);
      *exit_rc = 2;
      return -1;
    }
    *positional = a;
    return 0;
  }
  if (*i + 1 >= argc) {
    fprintf(stderr, "boostrl %s: %s needs a value (see --help)\n", cmd, a);
    *exit_rc = 2;
    return -1;
  }
  *opt = a;
  *val = argv[++*i];
  return 1;
}

int cli_unknown_option(const char *cmd, const char *opt) {
  fprintf(stderr, "boostrl %s: unknown option '%s' (see --help)\n", cmd, opt);
  return 2;
}

int cli_bad_value(const char *cmd, const char *val, const char *opt) {
  fprintf(stderr, "boostrl %s: bad value '%s' for %s\n", cmd, val, opt);
  return 2;
}
