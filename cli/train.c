/* `boostrl train ENV`: resolves the configuration (preset, JSON file,
 * --set), trains with brl_agent_learn, logs every rollout (CSV, progress,
 * learning curve), evaluates periodically and at the end, saves the agent
 * (also on Ctrl-C) and prints a JSON summary with --json. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 128

typedef struct train_opts {
  const char *env_id, *algo, *out_dir, *config_path, *resume_dir, *device;
  const char *sets[MAX_SETS];
  int n_sets;
  int64_t timesteps, seed, threads, eval_every, eval_episodes;
  int has_timesteps, has_seed, has_threads, json;
} train_opts;

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
  signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process */
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: boostrl train ENV [options]\n"
          "Trains an agent whose policy and value function are boosted "
          "trees on the\nnative environment ENV (see `boostrl envs`).\n\n"
          "options:\n"
          "  --algo ppo|a2c|awr|dqn  algorithm (default ppo)\n"
          "  --timesteps N        env steps to train (default: the preset's "
          "n_timesteps)\n"
          "  --seed S             random seed (default 0)\n"
          "  --threads P          threads, 0 = all cores (results do not "
          "depend on it)\n"
          "  --device D           cpu (default), cuda or auto: where the "
          "trees grow and\n"
          "                       predict (--set device=D; also with "
          "--resume)\n"
          "  --out DIR            output directory (default "
          "runs/ENV-ALGO-sSEED)\n"
          "  --config FILE        JSON object of hyper-parameters\n"
          "  --set KEY=VALUE      override one hyper-parameter "
          "(repeatable)\n"
          "  --compress-every K   online compression: every K updates, "
          "distil the\n"
          "                       ensembles into --compress-to N trees "
          "(compress_every,\n"
          "                       compress_to)\n"
          "  --compress-to N      trees after each online compression\n"
          "  --tree-budget B      online compression: distil into "
          "--compress-to N trees\n"
          "                       before an update could take the ensembles "
          "past B trees\n"
          "                       (tree_budget)\n"
          "  --eval-every N       evaluate every N env steps; keeps "
          "DIR/best_model.brl\n"
          "  --eval-episodes N    episodes per evaluation (default 100)\n"
          "  --resume DIR         continue the run saved in DIR (its "
          "episodes too: the\n"
          "                       same trees as one longer run)\n"
          "  --json               print a JSON summary as the last line of "
          "stdout\n"
          "  -h, --help           this help\n\n"
          "Hyper-parameters resolve as: library defaults for the algorithm, "
          "the preset of\nENV, --config, then --set. DIR receives model.brl, "
          "env.brl (the episodes in\nprogress), progress.csv (one row per "
          "rollout), curve.svg and config.json (the\nresolved "
          "configuration). Ctrl-C stops after the current "
          "update and saves.\n\nhyper-parameters (--set KEY=VALUE):\n");
  for (const char *const *k = brl_agent_config_keys(); *k; k++)
    fprintf(f, "  %-22s %s\n", *k, brl_agent_config_key_help(*k));
}

static int need_value(int i, int argc, char **argv) {
  if (i + 1 >= argc) {
    fprintf(stderr, "boostrl train: %s needs a value (see --help)\n", argv[i]);
    return 1;
  }
  return 0;
}

static int parse_int_opt(const char *name, const char *v, int64_t lo,
                         int64_t hi, int64_t *out) {
  if (cli_parse_i64(v, lo, hi, out)) {
    fprintf(stderr,
            "boostrl train: %s '%s' is not a whole number in [%lld, %lld]\n",
            name, v, (long long)lo, (long long)hi);
    return 1;
  }
  return 0;
}

static int parse_args(int argc, char **argv, train_opts *o) {
  memset(o, 0, sizeof *o);
  o->eval_episodes = 100;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    }
    if (!strcmp(a, "--json")) {
      o->json = 1;
      continue;
    }
    if (a[0] != '-') {
      if (o->env_id) {
        fprintf(stderr, "boostrl train: unexpected argument '%s'\n", a);
        return 1;
      }
      o->env_id = a;
      continue;
    }
    if (need_value(i, argc, argv))
      return 1;
    const char *v = argv[++i];
    if (!strcmp(a, "--algo"))
      o->algo = v;
    else if (!strcmp(a, "--timesteps")) {
      if (parse_int_opt(a, v, 0, (int64_t)1 << 60, &o->timesteps))
        return 1;
      o->has_timesteps = 1;
    } else if (!strcmp(a, "--seed")) {
      if (parse_int_opt(a, v, 0, INT64_MAX, &o->seed))
        return 1;
      o->has_seed = 1;
    } else if (!strcmp(a, "--threads")) {
      if (parse_int_opt(a, v, 0, 4096, &o->threads))
        return 1;
      o->has_threads = 1;
    } else if (!strcmp(a, "--device"))
      o->device = v;
    else if (!strcmp(a, "--out"))
      o->out_dir = v;
    else if (!strcmp(a, "--config"))
      o->config_path = v;
    else if (!strcmp(a, "--set")) {
      if (o->n_sets >= MAX_SETS || !strchr(v, '=')) {
        fprintf(stderr, "boostrl train: --set takes KEY=VALUE (got '%s')\n", v);
        return 1;
      }
      o->sets[o->n_sets++] = v;
    } else if (!strcmp(a, "--compress-every") || !strcmp(a, "--compress-to") ||
               !strcmp(a, "--tree-budget")) {
      /* Online compression: shorthands for --set compress_every,
       * compress_to and tree_budget. */
      static char kv[3][80];
      const int k = a[2] == 't' ? 2 : a[11] == 't';
      static const char *const keys[3] = {"compress_every", "compress_to",
                                          "tree_budget"};
      snprintf(kv[k], sizeof kv[0], "%s=%s", keys[k], v);
      if (o->n_sets >= MAX_SETS) {
        fprintf(stderr, "boostrl train: too many --set options\n");
        return 1;
      }
      o->sets[o->n_sets++] = kv[k];
    } else if (!strcmp(a, "--eval-every")) {
      if (parse_int_opt(a, v, 0, (int64_t)1 << 60, &o->eval_every))
        return 1;
    } else if (!strcmp(a, "--eval-episodes")) {
      if (parse_int_opt(a, v, 1, 1000000, &o->eval_episodes))
        return 1;
    } else if (!strcmp(a, "--resume"))
      o->resume_dir = v;
    else {
      fprintf(stderr, "boostrl train: unknown option '%s' (see --help)\n", a);
      return 1;
    }
  }
  if (!o->env_id && !o->resume_dir) {
    fprintf(stderr, "boostrl train: name an environment, e.g. `boostrl "
                    "train CartPole-v1` (see `boostrl envs`)\n");
    return 1;
  }
  return 0;
}

/* Applies one "key=value" to c; reports errors with `where`. */
static int apply_set(brl_agent_config *c, const char *kv, const char *where) {
  char key[128];
  const char *eq = strchr(kv, '=');
  size_t n = (size_t)(eq - kv);
  if (n == 0 || n >= sizeof key) {
    fprintf(stderr, "boostrl train: %s: bad KEY=VALUE '%s'\n", where, kv);
    return 1;
  }
  memcpy(key, kv, n);
  key[n] = '\0';
  if (brl_agent_config_set(c, key, eq + 1)) {
    fprintf(stderr, "boostrl train: %s: %s\n", where, brl_last_error());
    return 1;
  }
  return 0;
}

/* Keys of a config file that belong to the command, not the agent. */
static int is_run_key(const char *k) {
  return !strcmp(k, "env") || !strcmp(k, "seed");
}

static int resolve_config(train_opts *o, brl_agent_config *c) {
  cli_json j = {0};
  char err[512];
  if (o->config_path &&
      cli_json_read_file(o->config_path, &j, err, sizeof err)) {
    fprintf(stderr, "boostrl train: --config %s\n", err);
    return 1;
  }
  /* The algorithm picks the preset: --algo, else --set algo=, else the
   * config file, else ppo. */
  const char *algo_s = o->algo;
  for (int i = 0; !algo_s && i < o->n_sets; i++)
    if (!strncmp(o->sets[i], "algo=", 5))
      algo_s = o->sets[i] + 5;
  if (!algo_s)
    algo_s = cli_json_get(&j, "algo");
  brl_algo algo = BRL_ALGO_PPO;
  if (algo_s && brl_algo_parse(algo_s, &algo)) {
    fprintf(stderr, "boostrl train: %s\n", brl_last_error());
    cli_json_free(&j);
    return 1;
  }
  int found;
  if (brl_agent_config_preset(c, o->env_id, algo, &found)) {
    cli_json_free(&j);
    return cli_lib_error("preset");
  }
  if (!found && !o->json)
    fprintf(stderr,
            "boostrl train: no preset for %s with %s: using the library "
            "defaults\n",
            o->env_id, brl_algo_name(algo));
  int rc = 0;
  for (int i = 0; i < j.n && !rc; i++) {
    if (is_run_key(j.keys[i])) {
      if (!strcmp(j.keys[i], "seed") && !o->has_seed) {
        rc = parse_int_opt("seed", j.values[i], 0, INT64_MAX, &o->seed);
        o->has_seed = 1;
      }
      continue;
    }
    if (brl_agent_config_set(c, j.keys[i], j.values[i])) {
      fprintf(stderr, "boostrl train: --config %s: %s\n", o->config_path,
              brl_last_error());
      rc = 1;
    }
  }
  cli_json_free(&j);
  if (!rc && algo_s)
    c->algo = algo;
  for (int i = 0; i < o->n_sets && !rc; i++)
    rc = apply_set(c, o->sets[i], "--set");
  if (!rc && o->device && brl_agent_config_set(c, "device", o->device)) {
    fprintf(stderr, "boostrl train: --device: %s\n", brl_last_error());
    rc = 1;
  }
  if (!rc && brl_agent_config_check(c)) {
    fprintf(stderr, "boostrl train: %s\n", brl_last_error());
    rc = 1;
  }
  return rc;
}

static int write_config_json(const char *path, const char *env_id,
                             uint64_t seed, const brl_agent_config *c) {
  FILE *f = fopen(path, "w");
  if (!f)
    return 1;
  fputs("{\n  \"env\": ", f);
  cli_json_string(f, env_id);
  fprintf(f, ",\n  \"seed\": %llu", (unsigned long long)seed);
  for (const char *const *k = brl_agent_config_keys(); *k; k++) {
    char v[64];
    brl_agent_config_get(c, *k, v, sizeof v);
    char *end;
    strtod(v, &end);
    fprintf(f, ",\n  \"%s\": ", *k);
    if ((*end == '\0' && v[0]) || !strcmp(v, "true") || !strcmp(v, "false"))
      fputs(v, f);
    else
      cli_json_string(f, v);
  }
  fputs("\n}\n", f);
  return fclose(f) != 0;
}

/* ------------------------------------------------------------ the run */

typedef struct run {
  train_opts *o;
  const char *env_id;
  uint64_t seed;
  char dir[1024];
  FILE *csv;
  cli_progress prog;
  cli_curve curve;
  brl_agent *agent;
  int64_t start_steps;
  double t0, eval_s; /* start, seconds spent evaluating */
  int64_t next_eval;
  double best_eval, solved, solved_s;
  int64_t solved_steps;
  int failed;
} run;

static int total_trees(const brl_agent *a) {
  const brl_model *p = brl_agent_model(a, 0), *v = brl_agent_model(a, 1);
  return brl_model_n_trees(p) + (v != p ? brl_model_n_trees(v) : 0);
}

/* Ends a save into tmp (rc: the library's status) by renaming it over
 * path, so that an interrupted save never leaves a torn file. */
static int finish_save(int rc, const char *tmp, const char *path,
                       const char *what) {
  if (rc)
    return cli_lib_error(what);
  if (rename(tmp, path)) {
    fprintf(stderr, "boostrl: cannot rename %s to %s\n", tmp, path);
    return 1;
  }
  return 0;
}

static int save_agent(const brl_agent *a, const char *dir, const char *name) {
  char path[1100], tmp[1110];
  cli_join(path, sizeof path, dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  return finish_save(brl_agent_save(a, tmp), tmp, path, "saving the agent");
}

/* The training env's episodes next to the agent (DIR/env.brl), so that
 * --resume continues them exactly. */
static int save_env(const brl_env *env, const char *dir) {
  char path[1100], tmp[1110];
  cli_join(path, sizeof path, dir, "env.brl");
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  return finish_save(brl_env_save(env, tmp), tmp, path, "saving the env");
}

/* Restores the episodes saved by save_env; 1 when DIR has none (a run
 * from before they were saved: fresh episodes), -1 on error. */
static int load_env(brl_env *env, const char *dir) {
  char path[1100];
  cli_join(path, sizeof path, dir, "env.brl");
  FILE *f = fopen(path, "rb");
  if (!f)
    return 1;
  fclose(f);
  return brl_env_load(env, path) ? (cli_lib_error(path), -1) : 0;
}

static void csv_num(FILE *f, double v) {
  if (isfinite(v))
    fprintf(f, ",%.6g", v);
  else
    fputc(',', f);
}

static int on_update(const brl_agent_stats *s, void *user) {
  run *r = user;
  double now = cli_now();
  double train_s = now - r->t0 - r->eval_s;
  double eval_mean = NAN;
  if (r->o->eval_every > 0 && s->timesteps >= r->next_eval) {
    while (r->next_eval <= s->timesteps)
      r->next_eval += r->o->eval_every;
    brl_eval_result ev;
    double te = cli_now();
    if (cli_evaluate(r->agent, r->env_id, r->seed, (int)r->o->eval_episodes,
                     &ev)) {
      r->failed = 1;
      return 1;
    }
    r->eval_s += cli_now() - te;
    eval_mean = ev.mean_return;
    cli_curve_add_eval(&r->curve, (double)s->timesteps, ev.mean_return);
    char msg[256];
    snprintf(
        msg, sizeof msg, "eval at %lld steps: %.1f +- %.1f over %d episodes",
        (long long)s->timesteps, ev.mean_return, ev.std_return, ev.episodes);
    cli_progress_note(&r->prog, msg);
    if (ev.mean_return > r->best_eval) {
      r->best_eval = ev.mean_return;
      if (save_agent(r->agent, r->dir, "best_model.brl")) {
        r->failed = 1;
        return 1;
      }
    }
    if (isfinite(r->solved) && ev.mean_return >= r->solved &&
        r->solved_steps < 0) {
      r->solved_steps = s->timesteps;
      r->solved_s = train_s;
    }
  }
  if (r->csv) {
    fprintf(r->csv, "%lld,%lld,%lld", (long long)s->timesteps,
            (long long)s->episodes, (long long)s->updates);
    csv_num(r->csv, s->ep_return_mean);
    csv_num(r->csv, s->ep_return_std);
    csv_num(r->csv, s->ep_length_mean);
    csv_num(r->csv, s->policy_loss);
    csv_num(r->csv, s->value_loss);
    csv_num(r->csv, s->entropy);
    csv_num(r->csv, s->approx_kl);
    csv_num(r->csv, s->clip_fraction);
    csv_num(r->csv, s->explained_variance);
    csv_num(r->csv, s->log_std_mean);
    fprintf(r->csv, ",%d,%d,%d", s->policy_trees, s->value_trees,
            total_trees(r->agent));
    csv_num(r->csv, s->fps);
    csv_num(r->csv, train_s);
    csv_num(r->csv, eval_mean);
    fputc('\n', r->csv);
  }
  cli_curve_add(&r->curve, (double)s->timesteps, s->ep_return_mean);
  cli_progress_update(&r->prog, s, total_trees(r->agent), train_s, 0);
  return interrupted ? 1 : 0;
}

static const char csv_header[] =
    "timesteps,episodes,updates,ep_return_mean,ep_return_std,ep_length_mean,"
    "policy_loss,value_loss,entropy,approx_kl,clip_fraction,"
    "explained_variance,log_std,policy_trees,value_trees,trees,fps,train_s,"
    "eval_mean_return\n";

/* Loads DIR/model.brl and the env id and seed from DIR/config.json. */
static int load_resume(train_opts *o, brl_agent **a, const char **env_id,
                       char *env_buf, size_t env_size) {
  char path[1100];
  cli_join(path, sizeof path, o->resume_dir, "config.json");
  cli_json j;
  char err[512];
  if (cli_json_read_file(path, &j, err, sizeof err)) {
    fprintf(stderr, "boostrl train: --resume: %s\n", err);
    return 1;
  }
  const char *env = cli_json_get(&j, "env"), *seed = cli_json_get(&j, "seed");
  const char *steps = cli_json_get(&j, "n_timesteps");
  if (!o->has_timesteps && steps) {
    if (parse_int_opt("n_timesteps", steps, 0, (int64_t)1 << 60,
                      &o->timesteps)) {
      cli_json_free(&j);
      return 1;
    }
    o->has_timesteps = 1;
  }
  if (!env) {
    fprintf(stderr, "boostrl train: --resume: %s names no env\n", path);
    cli_json_free(&j);
    return 1;
  }
  if (o->env_id && strcmp(o->env_id, env)) {
    fprintf(stderr,
            "boostrl train: --resume: the run in %s trained %s, not %s\n",
            o->resume_dir, env, o->env_id);
    cli_json_free(&j);
    return 1;
  }
  snprintf(env_buf, env_size, "%s", env);
  *env_id = env_buf;
  if (!o->has_seed && seed &&
      parse_int_opt("seed", seed, 0, INT64_MAX, &o->seed)) {
    cli_json_free(&j);
    return 1;
  }
  cli_json_free(&j);
  if (o->config_path || o->n_sets || o->algo) {
    fprintf(stderr, "boostrl train: --resume continues a run with its own "
                    "configuration: drop --config, --set and --algo\n");
    return 1;
  }
  cli_join(path, sizeof path, o->resume_dir, "model.brl");
  if (brl_agent_load(path, a))
    return cli_lib_error(path);
  if (o->device && brl_agent_set_device(*a, o->device)) {
    fprintf(stderr, "boostrl train: --device: %s\n", brl_last_error());
    brl_agent_free(a);
    return 1;
  }
  return 0;
}

static void print_json(const run *r, const brl_agent_config *c,
                       const brl_agent_stats *s, double wall_s, double train_s,
                       const brl_eval_result *ev, int have_eval) {
  FILE *f = stdout;
  fputs("{\"env\":", f);
  cli_json_string(f, r->env_id);
  fprintf(f,
          ",\"algo\":\"%s\",\"device\":\"%s\",\"seed\":%llu,\"timesteps\":%lld",
          brl_algo_name(c->algo), brl_agent_device(r->agent),
          (unsigned long long)r->seed, (long long)s->timesteps);
  fputs(",\"wall_s\":", f);
  cli_json_number(f, wall_s);
  fputs(",\"train_s\":", f);
  cli_json_number(f, train_s);
  fprintf(f, ",\"trees\":%d,\"policy_trees\":%d,\"value_trees\":%d",
          total_trees(r->agent), s->policy_trees, s->value_trees);
  fprintf(f, ",\"shared_tree\":%s,\"episodes\":%lld",
          c->shared_tree ? "true" : "false", (long long)s->episodes);
  fputs(",\"train_return_mean\":", f);
  cli_json_number(f, s->ep_return_mean);
  fputs(",\"eval_mean_return\":", f);
  cli_json_number(f, have_eval ? ev->mean_return : NAN);
  fputs(",\"eval_std_return\":", f);
  cli_json_number(f, have_eval ? ev->std_return : NAN);
  fprintf(f, ",\"eval_episodes\":%d", have_eval ? ev->episodes : 0);
  fputs(",\"solved_threshold\":", f);
  cli_json_number(f, r->solved);
  fputs(",\"solved_at_timesteps\":", f);
  cli_json_number(f, r->solved_steps >= 0 ? (double)r->solved_steps : NAN);
  fputs(",\"solved_at_train_s\":", f);
  cli_json_number(f, r->solved_steps >= 0 ? r->solved_s : NAN);
  fprintf(f, ",\"interrupted\":%s,\"out\":", interrupted ? "true" : "false");
  cli_json_string(f, r->dir);
  fputs("}\n", f);
  fflush(f);
}

int cli_train(int argc, char **argv) {
  train_opts o;
  if (parse_args(argc, argv, &o))
    return 2;
  double t_start = cli_now();
  run r;
  memset(&r, 0, sizeof r);
  r.o = &o;
  r.solved_steps = -1;
  r.best_eval = -INFINITY;
  char env_buf[128];
  brl_agent_config cfg;
  if (o.resume_dir) {
    if (load_resume(&o, &r.agent, &r.env_id, env_buf, sizeof env_buf))
      return 1;
    brl_agent_get_config(r.agent, &cfg);
  } else {
    r.env_id = o.env_id;
    if (resolve_config(&o, &cfg))
      return 2;
    if (o.has_timesteps)
      cfg.n_timesteps = o.timesteps;
    if (o.has_threads)
      cfg.n_threads = (int)o.threads;
  }
  r.seed = (uint64_t)o.seed;
  r.solved = cli_solved_return(r.env_id);
  FILE *log = o.json ? stderr : stdout;

  /* The environment and, for a new run, the agent. */
  brl_env *env = NULL;
  brl_env_spec spec;
  /* A resumed run continues the saved episodes (DIR/env.brl); a run saved
   * without them starts fresh episodes from a seed of its own. */
  uint64_t env_seed = r.seed;
  if (r.agent) {
    brl_agent_stats st;
    brl_agent_get_stats(r.agent, &st);
    env_seed = r.seed + 0x9E3779B97F4A7C15ull * (uint64_t)(st.updates + 1);
  }
  if (brl_env_make(r.env_id, cfg.n_envs, env_seed, &env)) {
    brl_agent_free(&r.agent);
    return cli_lib_error(r.env_id);
  }
  brl_env_get_spec(env, &spec);
  if (!r.agent) {
    brl_action_space space;
    if (brl_action_space_from_env(&spec, &space) ||
        brl_agent_create(&cfg, spec.obs_dim, &space, r.seed, &r.agent)) {
      brl_env_free(&env);
      return cli_lib_error("creating the agent");
    }
  }
  if (o.has_threads)
    brl_agent_set_threads(r.agent, (int)o.threads);
  brl_agent_get_config(r.agent, &cfg);
  if (o.has_timesteps)
    cfg.n_timesteps = o.timesteps; /* the target of this run */

  /* The output directory. */
  if (o.out_dir)
    snprintf(r.dir, sizeof r.dir, "%s", o.out_dir);
  else if (o.resume_dir)
    snprintf(r.dir, sizeof r.dir, "%s", o.resume_dir);
  else {
    cli_mkdir("runs");
    snprintf(r.dir, sizeof r.dir, "runs/%s-%s-s%llu", r.env_id,
             brl_algo_name(cfg.algo), (unsigned long long)r.seed);
  }
  int rc = 0;
  if (cli_mkdir(r.dir)) {
    fprintf(stderr, "boostrl train: cannot create the directory %s\n", r.dir);
    rc = 1;
    goto done;
  }
  char path[1100];
  cli_join(path, sizeof path, r.dir, "config.json");
  if (write_config_json(path, r.env_id, r.seed, &cfg)) {
    fprintf(stderr, "boostrl train: cannot write %s\n", path);
    rc = 1;
    goto done;
  }
  cli_join(path, sizeof path, r.dir, "progress.csv");
  int append = o.resume_dir && !strcmp(r.dir, o.resume_dir);
  r.csv = fopen(path, append ? "a" : "w");
  if (!r.csv) {
    fprintf(stderr, "boostrl train: cannot write %s\n", path);
    rc = 1;
    goto done;
  }
  if (!append || ftell(r.csv) == 0)
    fputs(csv_header, r.csv);

  brl_agent_stats st;
  brl_agent_get_stats(r.agent, &st);
  r.start_steps = st.timesteps;
  const int64_t total = cfg.n_timesteps;
  r.next_eval = o.eval_every > 0
                    ? (st.timesteps / o.eval_every + 1) * o.eval_every
                    : INT64_MAX;
  fprintf(log, "boostrl: %s %s on %s, seed %llu, %lld steps -> %s\n",
          st.timesteps ? "resuming" : "training", brl_algo_name(cfg.algo),
          r.env_id, (unsigned long long)r.seed, (long long)total, r.dir);
  cli_progress_init(&r.prog, log, 1, st.timesteps, total);
  brl_agent_set_callback(r.agent, on_update, &r);
  signal(SIGINT, on_sigint);
  r.t0 = cli_now();
  int resumed_env = 0;
  if (o.resume_dir) {
    const int lr = load_env(env, o.resume_dir);
    if (lr < 0) {
      brl_env_free(&env);
      brl_agent_free(&r.agent);
      return 1;
    }
    resumed_env = lr == 0;
  }
  int lrc = brl_agent_learn(r.agent, env, total, resumed_env ? 2 : 1);
  double t_end = cli_now();
  signal(SIGINT, SIG_DFL);
  brl_agent_get_stats(r.agent, &st);
  cli_progress_update(&r.prog, &st, total_trees(r.agent),
                      t_end - r.t0 - r.eval_s, 1);
  cli_progress_finish(&r.prog);
  if (lrc && !r.failed)
    cli_lib_error("training");
  if (lrc || r.failed)
    rc = 1;
  double train_s = t_end - r.t0 - r.eval_s;
  if (save_agent(r.agent, r.dir, "model.brl") || (!lrc && save_env(env, r.dir)))
    rc = 1;

  brl_eval_result ev;
  memset(&ev, 0, sizeof ev);
  int have_eval = 0;
  if (!rc && !interrupted && o.eval_episodes > 0) {
    if (cli_evaluate(r.agent, r.env_id, r.seed, (int)o.eval_episodes, &ev))
      rc = 1;
    else
      have_eval = 1;
  }
  if (have_eval && isfinite(r.solved) && ev.mean_return >= r.solved &&
      r.solved_steps < 0 && o.eval_every <= 0) {
    r.solved_steps = st.timesteps;
    r.solved_s = train_s;
  }
  if (have_eval)
    cli_curve_add_eval(&r.curve, (double)st.timesteps, ev.mean_return);
  cli_join(path, sizeof path, r.dir, "curve.svg");
  char title[256];
  snprintf(title, sizeof title, "%s, %s, seed %llu", r.env_id,
           brl_algo_name(cfg.algo), (unsigned long long)r.seed);
  if (cli_svg_write(path, &r.curve, title, r.solved))
    fprintf(stderr, "boostrl train: cannot write %s\n", path);
  double wall_s = cli_now() - t_start;
  if (interrupted)
    fprintf(log, "interrupted: saved %s/model.brl at %lld steps\n", r.dir,
            (long long)st.timesteps);
  else
    fprintf(log,
            "trained %lld steps in %.2f s (%.0f steps/s), %d trees; saved "
            "%s/model.brl\n",
            (long long)st.timesteps, train_s,
            train_s > 0 ? (double)(st.timesteps - r.start_steps) / train_s
                        : 0.0,
            total_trees(r.agent), r.dir);
  if (have_eval)
    fprintf(log, "eval: mean return %.2f +- %.2f over %d episodes\n",
            ev.mean_return, ev.std_return, ev.episodes);
  if (o.json)
    print_json(&r, &cfg, &st, wall_s, train_s, &ev, have_eval);
done:
  if (r.csv)
    fclose(r.csv);
  cli_curve_free(&r.curve);
  brl_agent_free(&r.agent);
  brl_env_free(&env);
  return rc ? rc : (interrupted ? 130 : 0);
}
