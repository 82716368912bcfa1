/* `boostrl train ENV`: resolves the configuration (preset, JSON file,
 * --set), trains with brl_agent_learn, logs every rollout (CSV, progress,
 * learning curve), evaluates periodically and at the end, saves the agent
 * (also on Ctrl-C) and prints a JSON summary with --json. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef BRL_CLI_MPI
#include <boostrl_mpi.h>
#endif

#define MAX_SETS 128

typedef struct train_opts {
  const char *env_id, *algo, *out_dir, *config_path, *resume_dir, *device;
  const char *sets[MAX_SETS];
  int n_sets;
  int64_t timesteps, seed, threads, eval_every, eval_episodes, stop_at;
  int has_timesteps, has_seed, has_threads, json, force;
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
          "runs/ENV-ALGO-sSEED); a\n"
          "                       directory that holds a run is refused "
          "unless --force\n"
          "  --force              replace the run in DIR (its files are "
          "deleted first)\n"
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
          "  --eval-episodes N    episodes per evaluation (default 100; 0: "
          "no final\n"
          "                       evaluation)\n"
          "  --stop-at N          stop, as Ctrl-C does, after the rollout "
          "that reaches N\n"
          "                       steps; --resume DIR continues to the "
          "target\n"
          "  --resume DIR         continue the run saved in DIR (its "
          "episodes too: the\n"
          "                       same trees, env and progress.csv rows as "
          "one run that\n"
          "                       was never stopped, with the same "
          "--timesteps)\n"
          "  --json               print a JSON summary as the last line of "
          "stdout\n"
          "  -h, --help           this help\n\n"
          "Hyper-parameters resolve as: library defaults for the algorithm, "
          "the preset of\nENV, --config, then --set. DIR receives model.brl, "
          "env.brl (the episodes in\nprogress), progress.csv (one row per "
          "rollout), curve.svg and config.json (the\nresolved "
          "configuration). Ctrl-C stops after the current "
          "update and saves.\n\n"
          "Across processes: `mpirun -np N boostrl train ENV ...` (or srun "
          "under SLURM)\ntrains one agent on N processes, each stepping its "
          "share of the n_envs\nenvironments; the files are those of one "
          "process with the same n_envs and\nseed, byte for byte, and "
          "--resume works with any N. Rank 0 writes the files\nand prints "
          "the progress and --json. Needs a build with MPI (-DBRL_MPI=ON);\n"
          "see docs/SCALING.md.\n\nhyper-parameters (--set KEY=VALUE):\n");
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
    if (!strcmp(a, "--force")) {
      o->force = 1;
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
      if (parse_int_opt(a, v, 0, 1000000, &o->eval_episodes))
        return 1;
    } else if (!strcmp(a, "--stop-at")) {
      if (parse_int_opt(a, v, 1, (int64_t)1 << 60, &o->stop_at))
        return 1;
    } else if (!strcmp(a, "--resume"))
      o->resume_dir = v;
    else {
      fprintf(stderr, "boostrl train: unknown option '%s' (see --help)\n", a);
      return 1;
    }
  }
  if (o->eval_every > 0 && o->eval_episodes == 0) {
    fprintf(stderr, "boostrl train: --eval-every evaluates --eval-episodes "
                    "episodes: give 1 or more\n");
    return 1;
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
  brl_kv *j = NULL;
  if (o->config_path && brl_kv_load_json(o->config_path, &j)) {
    fprintf(stderr, "boostrl train: --config: %s\n", brl_last_error());
    return 1;
  }
  /* The algorithm picks the preset: --algo, else --set algo=, else the
   * config file, else ppo. */
  const char *algo_s = o->algo;
  for (int i = 0; !algo_s && i < o->n_sets; i++)
    if (!strncmp(o->sets[i], "algo=", 5))
      algo_s = o->sets[i] + 5;
  if (!algo_s)
    algo_s = brl_kv_get(j, "algo");
  brl_algo algo = BRL_ALGO_PPO;
  if (algo_s && brl_algo_parse(algo_s, &algo)) {
    fprintf(stderr, "boostrl train: %s\n", brl_last_error());
    brl_kv_free(&j);
    return 1;
  }
  int found;
  if (brl_agent_config_preset(c, o->env_id, algo, &found)) {
    brl_kv_free(&j);
    return cli_lib_error("preset");
  }
  if (!found && !o->json)
    fprintf(stderr,
            "boostrl train: no preset for %s with %s: using the library "
            "defaults\n",
            o->env_id, brl_algo_name(algo));
  int rc = 0;
  for (int i = 0; i < brl_kv_count(j) && !rc; i++) {
    const char *key = brl_kv_key(j, i), *val = brl_kv_value(j, i);
    if (is_run_key(key)) {
      if (!strcmp(key, "seed") && !o->has_seed) {
        rc = parse_int_opt("seed", val, 0, INT64_MAX, &o->seed);
        o->has_seed = 1;
      }
      continue;
    }
    if (brl_agent_config_set(c, key, val)) {
      fprintf(stderr, "boostrl train: --config %s: %s\n", o->config_path,
              brl_last_error());
      rc = 1;
    }
  }
  brl_kv_free(&j);
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
  brl_kv *kv;
  char v[64];
  int rc = brl_kv_create(&kv);
  if (!rc)
    rc = brl_kv_set(kv, "env", env_id, BRL_KV_STRING);
  snprintf(v, sizeof v, "%llu", (unsigned long long)seed);
  if (!rc)
    rc = brl_kv_set(kv, "seed", v, BRL_KV_LITERAL);
  /* Numbers and flags bare, names as strings. */
  for (const char *const *k = brl_agent_config_keys(); *k && !rc; k++)
    if (!(rc = brl_agent_config_get(c, *k, v, sizeof v)))
      rc = brl_kv_set(kv, *k, v, BRL_KV_AUTO);
  if (!rc)
    rc = brl_kv_save_json(kv, path);
  brl_kv_free(&kv);
  return rc != 0;
}

/* ------------------------------------------------------------ the run */

/* The files of a run directory, and the temporary names they are written
 * under before a rename puts them in place. */
static const char *const run_files[] = {"model.brl",
                                        "env.brl",
                                        "config.json",
                                        "progress.csv",
                                        "curve.svg",
                                        "best_model.brl",
                                        "model.brl.tmp",
                                        "env.brl.tmp",
                                        "config.json.tmp",
                                        "progress.csv.tmp",
                                        "curve.svg.tmp",
                                        "best_model.brl.tmp",
                                        NULL};
/* The longest name joined to a run directory. */
#define LONGEST_RUN_FILE "best_model.brl.tmp"

typedef struct run {
  train_opts *o;
  const char *env_id;
  uint64_t seed;
  char dir[CLI_PATH_MAX];
  int csv_fd;
  cli_progress prog;
  brl_agent *agent;
  int64_t start_steps, total; /* total: the target in whole rollouts */
  double t0, eval_s;          /* start, seconds spent evaluating */
  int64_t next_eval;
  double best_eval, solved, solved_s;
  int64_t solved_steps;
  brl_eval_result final_ev; /* the evaluation after the last update */
  int have_final, stopped, failed;
  /* Under mpirun / srun: the communicator (else NULL) and this process's
   * rank; rank 0 alone writes files, evaluates and prints. */
  brl_comm *comm;
  int rank;
} run;

/* What --resume found in the run directory, all read before anything is
 * written. */
typedef struct resume_state {
  char *csv;        /* progress.csv: header and the rows up to the model */
  size_t csv_len;   /* (malloc'd; NULL when there is none) */
  int roll_forward; /* the checkpoint is DIR/model.brl.tmp (a save stopped
                       between its two renames) */
  int have_env;     /* DIR/env.brl restored the episodes */
} resume_state;

static int total_trees(const brl_agent *a) {
  const brl_model *p = brl_agent_model(a, 0), *v = brl_agent_model(a, 1);
  return brl_model_n_trees(p) + (v != p ? brl_model_n_trees(v) : 0);
}

static int file_exists(const char *dir, const char *name) {
  char path[CLI_PATH_MAX];
  struct stat sb;
  return !cli_join(path, sizeof path, dir, name) && stat(path, &sb) == 0;
}

/* 0 when DIR/LONGEST_RUN_FILE fits a path buffer; else says which option
 * names too long a directory. */
static int check_dir_length(const char *dir, const char *what) {
  const size_t n = strlen(dir),
               most = CLI_PATH_MAX - sizeof LONGEST_RUN_FILE - 1;
  if (n <= most)
    return 0;
  fprintf(stderr,
          "boostrl train: %s is %zu bytes long; this command takes run "
          "directories of at most %zu bytes: choose a shorter path\n",
          what, n, most);
  return 1;
}

/* 1 when a and b name the same directory. */
static int same_dir(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

/* The bytes of a file (malloc'd, NUL-terminated) or NULL; *missing is 1
 * when it does not exist. */
static char *read_all(const char *path, size_t *len, int *missing) {
  *missing = 0;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    *missing = errno == ENOENT;
    return NULL;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = cap ? 2 * cap : 65536;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t got = fread(buf + n, 1, 4096, f);
    n += got;
    if (got < 4096)
      break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Writes len bytes to path through path.tmp and a rename, so that an
 * interrupted write never leaves a torn file. */
static int write_whole(const char *path, const char *data, size_t len) {
  char tmp[CLI_PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return 1;
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return 1;
  int bad = fwrite(data, 1, len, f) != len;
  bad |= fclose(f) != 0;
  if (bad || rename(tmp, path)) {
    remove(tmp);
    return 1;
  }
  return 0;
}

static const char csv_header[] =
    "timesteps,episodes,updates,ep_return_mean,ep_return_std,ep_length_mean,"
    "policy_loss,value_loss,entropy,approx_kl,clip_fraction,"
    "explained_variance,log_std,policy_trees,value_trees,trees,fps,train_s,"
    "eval_mean_return\n";
#define CSV_FIELDS 19
#define CSV_TRAIN_S 17 /* the column of train_s */
#define CSV_EVAL 18    /* the column of eval_mean_return */

/* Splits one CSV line (without its newline) into CSV_FIELDS fields (start
 * offsets and lengths); 0 on success. */
static int csv_split(const char *line, size_t len, size_t *off, size_t *flen) {
  int k = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++)
    if (i == len || line[i] == ',') {
      if (k == CSV_FIELDS)
        return 1;
      off[k] = start;
      flen[k++] = i - start;
      start = i + 1;
    }
  return k != CSV_FIELDS;
}

/* A field as a number: 1 when it holds one (*v), 0 when it is empty or not
 * a number. */
static int csv_field_num(const char *line, size_t off, size_t len, double *v) {
  char buf[64];
  if (len == 0 || len >= sizeof buf)
    return 0;
  memcpy(buf, line + off, len);
  buf[len] = '\0';
  char *end;
  *v = strtod(buf, &end);
  return *end == '\0';
}

/* Walks the whole rows of a progress.csv text: calls row() for each row of
 * CSV_FIELDS fields whose timesteps rise and are at most upto. A torn last
 * line (no newline), torn rows and rows that go back in time are skipped.
 * Returns -1 when the header is not this version's, else 0. */
static int csv_rows(const char *text, size_t len, int64_t upto,
                    void (*row)(void *, const char *, size_t, const size_t *,
                                const size_t *),
                    void *user) {
  const size_t hl = sizeof csv_header - 1;
  if (len == 0 || !memchr(text, '\n', len))
    return 0; /* empty, or a torn header */
  if (len < hl || memcmp(text, csv_header, hl))
    return -1;
  int64_t last = -1;
  for (size_t p = hl; p < len;) {
    const char *nl = memchr(text + p, '\n', len - p);
    if (!nl)
      break;
    const size_t n = (size_t)(nl - (text + p));
    size_t off[CSV_FIELDS], fl[CSV_FIELDS];
    double ts;
    if (!csv_split(text + p, n, off, fl) &&
        csv_field_num(text + p, off[0], fl[0], &ts) && ts == floor(ts) &&
        ts > (double)last && ts <= (double)upto) {
      last = (int64_t)ts;
      row(user, text + p, n, off, fl);
    }
    p += n + 1;
  }
  return 0;
}

typedef struct kept_rows {
  char *out;
  size_t n;
  double best, solved, solved_s;
  int64_t solved_steps;
} kept_rows;

static void keep_row(void *user, const char *line, size_t n, const size_t *off,
                     const size_t *fl) {
  kept_rows *k = user;
  memcpy(k->out + k->n, line, n);
  k->out[k->n + n] = '\n';
  k->n += n + 1;
  double ev, ts, ts_s;
  if (csv_field_num(line, off[CSV_EVAL], fl[CSV_EVAL], &ev)) {
    k->best = ev > k->best ? ev : k->best;
    if (isfinite(k->solved) && ev >= k->solved && k->solved_steps < 0 &&
        csv_field_num(line, off[0], fl[0], &ts) &&
        csv_field_num(line, off[CSV_TRAIN_S], fl[CSV_TRAIN_S], &ts_s)) {
      k->solved_steps = (int64_t)ts;
      k->solved_s = ts_s;
    }
  }
}

static void curve_row(void *user, const char *line, size_t n, const size_t *off,
                      const size_t *fl) {
  (void)n;
  cli_curve *c = user;
  double ts, ret = NAN, ev;
  if (!csv_field_num(line, off[0], fl[0], &ts))
    return;
  if (!csv_field_num(line, off[3], fl[3], &ret))
    ret = NAN;
  cli_curve_add(c, ts, ret);
  if (csv_field_num(line, off[CSV_EVAL], fl[CSV_EVAL], &ev))
    cli_curve_add_eval(c, ts, ev);
}

/* Reads DIR/progress.csv of a run to resume from a model at `steps`: keeps
 * the header and the whole rows up to the model's steps (rows written after
 * it and torn rows of an interrupted run are dropped, so the CSV continues
 * as one uninterrupted run's). */
static int resume_csv(run *r, const char *dir, int64_t steps,
                      resume_state *rs) {
  char path[CLI_PATH_MAX];
  cli_join(path, sizeof path, dir, "progress.csv");
  size_t len;
  int missing;
  char *text = read_all(path, &len, &missing);
  if (!text && !missing) {
    fprintf(stderr, "boostrl train: --resume: cannot read %s: %s\n", path,
            strerror(errno));
    return 1;
  }
  kept_rows k = {0};
  k.best = -INFINITY;
  k.solved = r->solved;
  k.solved_steps = -1;
  k.out = malloc(len + sizeof csv_header);
  if (!k.out) {
    free(text);
    fprintf(stderr, "boostrl train: out of memory reading %s\n", path);
    return 1;
  }
  memcpy(k.out, csv_header, sizeof csv_header - 1);
  k.n = sizeof csv_header - 1;
  if (text && csv_rows(text, len, steps, keep_row, &k)) {
    fprintf(stderr,
            "boostrl train: --resume: %s has other columns than this "
            "version writes: move it out of the run directory to resume "
            "(a new one is started)\n",
            path);
    free(text);
    free(k.out);
    return 1;
  }
  free(text);
  rs->csv = k.out;
  rs->csv_len = k.n;
  r->best_eval = k.best;
  r->solved_steps = k.solved_steps;
  r->solved_s = k.solved_s;
  return 0;
}

/* The learning curve of the whole run, from its progress.csv. */
static int write_curve(const run *r, const brl_agent_config *cfg,
                       int64_t steps) {
  char path[CLI_PATH_MAX], tmp[CLI_PATH_MAX];
  cli_join(path, sizeof path, r->dir, "progress.csv");
  size_t len;
  int missing;
  char *text = read_all(path, &len, &missing);
  cli_curve c = {0};
  if (text)
    csv_rows(text, len, INT64_MAX, curve_row, &c);
  free(text);
  if (r->have_final && (c.ne == 0 || c.ex[c.ne - 1] != (double)steps))
    cli_curve_add_eval(&c, (double)steps, r->final_ev.mean_return);
  char title[256];
  snprintf(title, sizeof title, "%s, %s, seed %llu", r->env_id,
           brl_algo_name(cfg->algo), (unsigned long long)r->seed);
  cli_join(path, sizeof path, r->dir, "curve.svg");
  cli_join(tmp, sizeof tmp, r->dir, "curve.svg.tmp");
  int rc = cli_svg_write(tmp, &c, title, r->solved) || rename(tmp, path);
  cli_curve_free(&c);
  if (rc)
    fprintf(stderr, "boostrl train: cannot write %s\n", path);
  return rc;
}

/* Saves the agent (and, when env is not NULL, the episodes in progress) as
 * the run's checkpoint. Both files are written under temporary names, then
 * env.brl and model.brl are renamed in place, in that order: a stop at any
 * point leaves either the previous pair, or the new env.brl with the new
 * agent still in model.brl.tmp, which --resume completes. */
static int save_checkpoint(const run *r, const brl_env *env) {
  const brl_agent *a = r->agent;
  const char *dir = r->dir;
  char model[CLI_PATH_MAX], model_tmp[CLI_PATH_MAX], envp[CLI_PATH_MAX],
      env_tmp[CLI_PATH_MAX];
  cli_join(model, sizeof model, dir, "model.brl");
  cli_join(model_tmp, sizeof model_tmp, dir, "model.brl.tmp");
  cli_join(envp, sizeof envp, dir, "env.brl");
  cli_join(env_tmp, sizeof env_tmp, dir, "env.brl.tmp");
  if (env && r->comm) {
    /* Every rank's copies, in env order (collective); rank 0 writes. */
    void *buf = NULL;
    size_t len = 0;
    if (brl_env_save_buffer_comm(env, r->comm, &buf, &len))
      return cli_lib_error("saving the env");
    int bad = r->rank == 0 && write_whole(env_tmp, buf, len);
    brl_free(buf);
    if (bad) {
      fprintf(stderr, "boostrl train: cannot write %s: %s\n", env_tmp,
              strerror(errno));
      return 1;
    }
  }
  if (r->rank > 0)
    return 0; /* the agent is the same on every rank */
  if (env && !r->comm && brl_env_save(env, env_tmp))
    return cli_lib_error("saving the env");
  if (brl_agent_save(a, model_tmp))
    return cli_lib_error("saving the agent");
  if (env ? rename(env_tmp, envp) : (remove(envp) && errno != ENOENT)) {
    fprintf(stderr, "boostrl train: cannot replace %s: %s\n", envp,
            strerror(errno));
    return 1;
  }
  if (rename(model_tmp, model)) {
    fprintf(stderr, "boostrl train: cannot rename %s to %s: %s\n", model_tmp,
            model, strerror(errno));
    return 1;
  }
  return 0;
}

static int save_best(const brl_agent *a, const char *dir) {
  char path[CLI_PATH_MAX], tmp[CLI_PATH_MAX];
  cli_join(path, sizeof path, dir, "best_model.brl");
  cli_join(tmp, sizeof tmp, dir, "best_model.brl.tmp");
  if (brl_agent_save(a, tmp))
    return cli_lib_error("saving the best agent");
  if (rename(tmp, path)) {
    fprintf(stderr, "boostrl train: cannot rename %s to %s\n", tmp, path);
    return 1;
  }
  return 0;
}

/* Appends printf output to buf (size bytes, *n used). */
static void put(char *buf, size_t size, size_t *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = *n < size ? vsnprintf(buf + *n, size - *n, fmt, ap) : 0;
  va_end(ap);
  if (k > 0)
    *n = *n + (size_t)k < size ? *n + (size_t)k : size - 1;
}

static void put_num(char *buf, size_t size, size_t *n, double v) {
  if (isfinite(v))
    put(buf, size, n, ",%.6g", v);
  else
    put(buf, size, n, ",");
}

/* One CSV row in one write(), so that a process killed at any moment
 * leaves whole rows (the file is opened with O_APPEND). */
static int write_row(run *r, const brl_agent_stats *s, double train_s,
                     double eval_mean) {
  char row[1024];
  size_t n = 0;
  put(row, sizeof row, &n, "%lld,%lld,%lld", (long long)s->timesteps,
      (long long)s->episodes, (long long)s->updates);
  put_num(row, sizeof row, &n, s->ep_return_mean);
  put_num(row, sizeof row, &n, s->ep_return_std);
  put_num(row, sizeof row, &n, s->ep_length_mean);
  put_num(row, sizeof row, &n, s->policy_loss);
  put_num(row, sizeof row, &n, s->value_loss);
  put_num(row, sizeof row, &n, s->entropy);
  put_num(row, sizeof row, &n, s->approx_kl);
  put_num(row, sizeof row, &n, s->clip_fraction);
  put_num(row, sizeof row, &n, s->explained_variance);
  put_num(row, sizeof row, &n, s->log_std_mean);
  put(row, sizeof row, &n, ",%d,%d,%d", s->policy_trees, s->value_trees,
      total_trees(r->agent));
  put_num(row, sizeof row, &n, s->fps);
  put_num(row, sizeof row, &n, train_s);
  put_num(row, sizeof row, &n, eval_mean);
  put(row, sizeof row, &n, "\n");
  ssize_t w;
  do
    w = write(r->csv_fd, row, n);
  while (w < 0 && errno == EINTR);
  if (w != (ssize_t)n) {
    fprintf(stderr, "boostrl train: cannot write %s/progress.csv: %s\n", r->dir,
            w < 0 ? strerror(errno) : "short write");
    return 1;
  }
  return 0;
}

/* Evaluates the agent into *ev; keeps best_model.brl and the solved mark. */
static int run_eval(run *r, const brl_agent_stats *s, double train_s,
                    brl_eval_result *ev) {
  double te = cli_now();
  if (cli_evaluate(r->agent, r->env_id, r->seed, (int)r->o->eval_episodes, ev))
    return 1;
  r->eval_s += cli_now() - te;
  if (r->o->eval_every > 0 && ev->mean_return > r->best_eval) {
    r->best_eval = ev->mean_return;
    if (save_best(r->agent, r->dir))
      return 1;
  }
  if (isfinite(r->solved) && ev->mean_return >= r->solved &&
      r->solved_steps < 0) {
    r->solved_steps = s->timesteps;
    r->solved_s = train_s;
  }
  return 0;
}

static int on_update(const brl_agent_stats *s, void *user) {
  run *r = user;
  if (r->rank > 0) /* rank 0 logs and evaluates; every rank stops alike */
    return (r->o->stop_at > 0 && s->timesteps >= r->o->stop_at &&
            s->timesteps < r->total) ||
           interrupted;
  double now = cli_now();
  double train_s = now - r->t0 - r->eval_s;
  double eval_mean = NAN;
  brl_eval_result ev;
  int evaluated = 0;
  if (r->o->eval_every > 0 && s->timesteps >= r->next_eval) {
    while (r->next_eval <= s->timesteps)
      r->next_eval += r->o->eval_every;
    if (run_eval(r, s, train_s, &ev)) {
      r->failed = 1;
      return 1;
    }
    evaluated = 1;
    char msg[256];
    snprintf(
        msg, sizeof msg, "eval at %lld steps: %.1f +- %.1f over %d episodes",
        (long long)s->timesteps, ev.mean_return, ev.std_return, ev.episodes);
    cli_progress_note(&r->prog, msg);
  }
  /* The final evaluation goes into the last row. */
  if (s->timesteps >= r->total && r->o->eval_episodes > 0 && !interrupted) {
    if (!evaluated && run_eval(r, s, train_s, &ev)) {
      r->failed = 1;
      return 1;
    }
    evaluated = 1;
    r->final_ev = ev;
    r->have_final = 1;
  }
  if (evaluated)
    eval_mean = ev.mean_return;
  if (write_row(r, s, train_s, eval_mean)) {
    r->failed = 1;
    return 1;
  }
  cli_progress_update(&r->prog, s, total_trees(r->agent), train_s, 0);
  if (r->o->stop_at > 0 && s->timesteps >= r->o->stop_at &&
      s->timesteps < r->total) {
    r->stopped = 1;
    return 1;
  }
  return interrupted ? 1 : 0;
}

/* Loads the run in o->resume_dir: the env id and seed from its
 * config.json, and the agent of its checkpoint. Writes nothing. */
static int load_resume(train_opts *o, brl_agent **a, const char **env_id,
                       char *env_buf, size_t env_size, resume_state *rs) {
  char path[CLI_PATH_MAX];
  if (check_dir_length(o->resume_dir, "--resume"))
    return 1;
  struct stat sb;
  if (stat(o->resume_dir, &sb) || !S_ISDIR(sb.st_mode)) {
    fprintf(stderr,
            "boostrl train: --resume: %s is not a directory: name the run "
            "directory of `boostrl train` (its --out)\n",
            o->resume_dir);
    return 1;
  }
  cli_join(path, sizeof path, o->resume_dir, "config.json");
  brl_kv *j;
  if (brl_kv_load_json(path, &j)) {
    fprintf(stderr, "boostrl train: --resume: %s\n", brl_last_error());
    return 1;
  }
  const char *env = brl_kv_get(j, "env"), *seed = brl_kv_get(j, "seed");
  const char *steps = brl_kv_get(j, "n_timesteps");
  if (!o->has_timesteps && steps) {
    if (parse_int_opt("n_timesteps", steps, 0, (int64_t)1 << 60,
                      &o->timesteps)) {
      brl_kv_free(&j);
      return 1;
    }
    o->has_timesteps = 1;
  }
  if (!env) {
    fprintf(stderr, "boostrl train: --resume: %s names no env\n", path);
    brl_kv_free(&j);
    return 1;
  }
  if (o->env_id && strcmp(o->env_id, env)) {
    fprintf(stderr,
            "boostrl train: --resume: the run in %s trained %s, not %s\n",
            o->resume_dir, env, o->env_id);
    brl_kv_free(&j);
    return 1;
  }
  snprintf(env_buf, env_size, "%s", env);
  *env_id = env_buf;
  if (!o->has_seed && seed &&
      parse_int_opt("seed", seed, 0, INT64_MAX, &o->seed)) {
    brl_kv_free(&j);
    return 1;
  }
  brl_kv_free(&j);
  if (o->config_path || o->n_sets || o->algo) {
    fprintf(stderr, "boostrl train: --resume continues a run with its own "
                    "configuration: drop --config, --set and --algo\n");
    return 1;
  }
  /* A save stopped between renaming env.brl and model.brl left the agent
   * that goes with env.brl in model.brl.tmp. */
  rs->roll_forward = file_exists(o->resume_dir, "model.brl.tmp") &&
                     !file_exists(o->resume_dir, "env.brl.tmp") &&
                     file_exists(o->resume_dir, "env.brl");
  cli_join(path, sizeof path, o->resume_dir,
           rs->roll_forward ? "model.brl.tmp" : "model.brl");
  if (brl_agent_load(path, a))
    return cli_lib_error(path);
  if (o->device && brl_agent_set_device(*a, o->device)) {
    fprintf(stderr, "boostrl train: --device: %s\n", brl_last_error());
    brl_agent_free(a);
    return 1;
  }
  return 0;
}

/* Restores the episodes saved next to the agent (DIR/env.brl): 1 when DIR
 * has none (a run from before they were saved: fresh episodes), -1 on
 * error. */
static int load_env(brl_env *env, const char *dir, const run *r, int first) {
  char path[CLI_PATH_MAX];
  cli_join(path, sizeof path, dir, "env.brl");
  FILE *f = fopen(path, "rb");
  if (!f)
    return 1;
  fclose(f);
  int bad;
  if (r->comm) { /* this rank's copies, whatever rank count saved them */
    size_t len;
    int missing;
    char *buf = read_all(path, &len, &missing);
    bad = buf ? brl_env_load_buffer_range(env, buf, len, first) != BRL_OK
              : brl_set_error(BRL_EIO, "cannot read the file") != BRL_OK;
    free(buf);
  } else {
    bad = brl_env_load(env, path) != BRL_OK;
  }
  if (bad) {
    fprintf(stderr,
            "boostrl train: --resume: %s: %s (nothing was written; move "
            "env.brl away to resume with fresh episodes)\n",
            path, brl_last_error());
    return -1;
  }
  return 0;
}

/* 1 when dir holds files of a run. */
static int holds_run(const char *dir) {
  for (const char *const *f = run_files; *f; f++)
    if (file_exists(dir, *f))
      return 1;
  return 0;
}

/* Removes the run files of dir (--force) or, keep_run, only the leftovers
 * of interrupted writes. */
static int clear_run(const char *dir, int keep_run) {
  for (const char *const *f = run_files; *f; f++) {
    if (keep_run && !strstr(*f, ".tmp"))
      continue;
    char path[CLI_PATH_MAX];
    cli_join(path, sizeof path, dir, *f);
    if (remove(path) && errno != ENOENT) {
      fprintf(stderr, "boostrl train: cannot remove %s: %s\n", path,
              strerror(errno));
      return 1;
    }
  }
  return 0;
}

/* Writes config.json and progress.csv (the header, or the rows kept from
 * the resumed run) and opens the CSV for appending rows. */
static int start_files(run *r, const brl_agent_config *cfg,
                       const resume_state *rs) {
  char path[CLI_PATH_MAX], tmp[CLI_PATH_MAX];
  cli_join(path, sizeof path, r->dir, "config.json");
  cli_join(tmp, sizeof tmp, r->dir, "config.json.tmp");
  if (write_config_json(tmp, r->env_id, r->seed, cfg) || rename(tmp, path)) {
    fprintf(stderr, "boostrl train: cannot write %s: %s\n", path,
            strerror(errno));
    return 1;
  }
  cli_join(path, sizeof path, r->dir, "progress.csv");
  const char *text = rs->csv ? rs->csv : csv_header;
  const size_t len = rs->csv ? rs->csv_len : sizeof csv_header - 1;
  if (write_whole(path, text, len) ||
      (r->csv_fd = open(path, O_WRONLY | O_APPEND)) < 0) {
    fprintf(stderr, "boostrl train: cannot write %s: %s\n", path,
            strerror(errno));
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
  if (r->comm) { /* rank 0's share of the exchange (docs/SCALING.md) */
    int64_t calls, bytes;
    brl_comm_stats(r->comm, &calls, &bytes);
    fprintf(f, ",\"ranks\":%d,\"comm_calls\":%lld,\"comm_bytes\":%lld",
            brl_comm_size(r->comm), (long long)calls, (long long)bytes);
  }
  fprintf(f, ",\"interrupted\":%s,\"stopped\":%s,\"out\":",
          interrupted ? "true" : "false", r->stopped ? "true" : "false");
  cli_json_string(f, r->dir);
  fputs("}\n", f);
  fflush(f);
}

static int known_env(const char *id) {
  for (const char *const *k = brl_env_ids(); *k; k++)
    if (!strcmp(*k, id))
      return 1;
  return 0;
}

/* Env steps of one rollout: n_envs x n_steps (AWR and DQN: train_freq). */
static int64_t rollout_steps(const brl_agent_config *c) {
  const int off = c->algo == BRL_ALGO_AWR || c->algo == BRL_ALGO_DQN;
  return (int64_t)c->n_envs * (off ? c->train_freq : c->n_steps);
}

/* Processes in the job when an MPI launcher (mpirun, mpiexec, srun)
 * started this one, from the launcher's environment; 1 otherwise. */
static int launch_size(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                     "MPI_LOCALNRANKS", NULL};
  for (const char *const *v = vars; *v; v++) {
    const char *s = getenv(*v);
    if (s && atoi(s) > 0)
      return atoi(s);
  }
  const char *pmix = getenv("PMIX_RANK"), *n = getenv("SLURM_STEP_NUM_TASKS");
  return pmix && n && atoi(n) > 0 ? atoi(n) : 1;
}

/* The communicator of an MPI launch of more than one process (*c = NULL
 * for one process). A build without MPI refuses such a launch rather than
 * train the same run in every process. */
static int train_comm(brl_comm **c) {
  *c = NULL;
  const int size = launch_size();
  if (size <= 1)
    return 0;
#ifdef BRL_CLI_MPI
  if (brl_comm_mpi_world(NULL, NULL, c))
    return cli_lib_error("starting MPI");
  return 0;
#else
  fprintf(stderr,
          "boostrl train: started by an MPI launcher as %d processes, but "
          "this boostrl was built without MPI: rebuild it with MPI "
          "(libopenmpi-dev; cmake -DBRL_MPI=ON) to train across "
          "processes, or run one process\n",
          size);
  return 1;
#endif
}

int cli_train(int argc, char **argv) {
  train_opts o;
  if (parse_args(argc, argv, &o))
    return 2;
  brl_comm *comm = NULL;
  if (train_comm(&comm))
    return 1;
  double t_start = cli_now();
  run r;
  memset(&r, 0, sizeof r);
  r.o = &o;
  r.csv_fd = -1;
  r.solved_steps = -1;
  r.best_eval = -INFINITY;
  r.comm = comm;
  r.rank = brl_comm_rank(comm);
  int synced = 0; /* every rank passed the checks before training */
  resume_state rs;
  memset(&rs, 0, sizeof rs);
  char env_buf[128];
  brl_agent_config cfg;
  brl_env *env = NULL;
  int rc = 0;
  /* Everything is read and checked before the first file is written. */
  if (o.resume_dir) {
    if (load_resume(&o, &r.agent, &r.env_id, env_buf, sizeof env_buf, &rs))
      return 1;
    brl_agent_get_config(r.agent, &cfg);
  } else {
    r.env_id = o.env_id;
    if (!known_env(r.env_id)) {
      fprintf(stderr, "boostrl train: unknown environment '%s': use one of",
              r.env_id);
      for (const char *const *k = brl_env_ids(); *k; k++)
        fprintf(stderr, " %s", *k);
      fprintf(stderr, " (see `boostrl envs`)\n");
      return 1;
    }
    if (resolve_config(&o, &cfg))
      return 2;
    if (o.has_timesteps)
      cfg.n_timesteps = o.timesteps;
    if (o.has_threads)
      cfg.n_threads = (int)o.threads;
  }
  r.seed = (uint64_t)o.seed;
  r.solved = cli_solved_return(r.env_id);
  /* Ranks other than 0 print nothing (errors go to stderr). */
  FILE *quiet = r.rank > 0 ? fopen("/dev/null", "w") : NULL;
  FILE *log = quiet ? quiet : (o.json ? stderr : stdout);

  /* The environment and, for a new run, the agent. A resumed run continues
   * the saved episodes (DIR/env.brl); a run saved without them starts fresh
   * episodes from a seed of its own. */
  brl_env_spec spec;
  uint64_t env_seed = r.seed;
  if (r.agent) {
    brl_agent_stats st;
    brl_agent_get_stats(r.agent, &st);
    env_seed = r.seed + 0x9E3779B97F4A7C15ull * (uint64_t)(st.updates + 1);
  }
  /* This process's copies of the n_envs (all of them without MPI). */
  int first = 0, count = cfg.n_envs;
  if (comm &&
      brl_env_share(cfg.n_envs, r.rank, brl_comm_size(comm), &first, &count)) {
    fprintf(stderr,
            "boostrl train: n_envs is %d but %d processes were started: "
            "every process steps at least one env (raise n_envs or start "
            "fewer processes)\n",
            cfg.n_envs, brl_comm_size(comm));
    rc = 1;
    goto done;
  }
  if (brl_env_make_range(r.env_id, first, count, env_seed, &env)) {
    rc = cli_lib_error(r.env_id);
    goto done;
  }
  brl_env_get_spec(env, &spec);
  if (!r.agent) {
    brl_action_space space;
    if (brl_action_space_from_env(&spec, &space) ||
        brl_agent_create(&cfg, spec.obs_dim, &space, r.seed, &r.agent)) {
      rc = cli_lib_error("creating the agent");
      goto done;
    }
  }
  if (comm && brl_agent_set_comm(r.agent, comm)) {
    rc = cli_lib_error("distributing the agent");
    goto done;
  }
  if (o.has_threads)
    brl_agent_set_threads(r.agent, (int)o.threads);
  brl_agent_get_config(r.agent, &cfg);
  if (o.has_timesteps)
    cfg.n_timesteps = o.timesteps; /* the target of this run */
  brl_agent_stats st;
  brl_agent_get_stats(r.agent, &st);
  if (o.resume_dir) {
    if (brl_agent_check_env(r.agent, env)) {
      fprintf(stderr, "boostrl train: --resume: %s/model.brl: %s\n",
              o.resume_dir, brl_last_error());
      rc = 1;
      goto done;
    }
    const int lr = load_env(env, o.resume_dir, &r, first);
    if (lr < 0 || resume_csv(&r, o.resume_dir, st.timesteps, &rs)) {
      rc = 1;
      goto done;
    }
    rs.have_env = lr == 0;
  }

  /* The output directory: one that holds another run is refused. */
  if (o.out_dir)
    snprintf(r.dir, sizeof r.dir, "%s", o.out_dir);
  else if (o.resume_dir)
    snprintf(r.dir, sizeof r.dir, "%s", o.resume_dir);
  else
    snprintf(r.dir, sizeof r.dir, "runs/%s-%s-s%llu", r.env_id,
             brl_algo_name(cfg.algo), (unsigned long long)r.seed);
  if (check_dir_length(o.out_dir ? o.out_dir : r.dir, "--out")) {
    rc = 1;
    goto done;
  }
  const int in_place = o.resume_dir && same_dir(r.dir, o.resume_dir);
  if (!in_place && !o.force && holds_run(r.dir)) {
    fprintf(stderr,
            "boostrl train: %s already holds a run: continue it with "
            "`boostrl train --resume %s`, choose another --out, or add "
            "--force to replace it\n",
            r.dir, r.dir);
    rc = 1;
    goto done;
  }

  /* From here on files are written, by rank 0 once every rank has read
   * what it needs (the resumed run's files). */
  synced = 1;
  if (comm && brl_comm_agree(comm, BRL_OK)) {
    rc = 1;
    goto done;
  }
  if (r.rank > 0)
    goto files_done;
  if (!o.out_dir && !o.resume_dir)
    cli_mkdir("runs");
  if (cli_mkdir(r.dir)) {
    fprintf(stderr, "boostrl train: cannot create the directory %s: %s\n",
            r.dir, strerror(errno));
    rc = 1;
    goto files_done;
  }
  if (in_place && rs.roll_forward) {
    char from[CLI_PATH_MAX], to[CLI_PATH_MAX];
    cli_join(from, sizeof from, r.dir, "model.brl.tmp");
    cli_join(to, sizeof to, r.dir, "model.brl");
    if (rename(from, to)) {
      fprintf(stderr, "boostrl train: cannot rename %s to %s: %s\n", from, to,
              strerror(errno));
      rc = 1;
      goto files_done;
    }
  }
  if (clear_run(r.dir, in_place) || start_files(&r, &cfg, &rs)) {
    rc = 1;
    goto files_done;
  }
files_done:
  /* Every process starts training, or none does. */
  if (comm && brl_comm_agree(comm, rc ? BRL_EIO : BRL_OK))
    rc = 1;
  if (rc)
    goto done;

  r.start_steps = st.timesteps;
  /* brl_agent_learn trains whole rollouts until the target is reached. */
  const int64_t target = cfg.n_timesteps, roll = rollout_steps(&cfg);
  r.total =
      target > st.timesteps
          ? st.timesteps + (target - st.timesteps + roll - 1) / roll * roll
          : st.timesteps;
  r.next_eval = o.eval_every > 0
                    ? (st.timesteps / o.eval_every + 1) * o.eval_every
                    : INT64_MAX;
  char why[256] = "";
  if (r.total != target && target > st.timesteps)
    snprintf(why, sizeof why,
             " (%lld rounded up to whole rollouts of n_envs x %s = %d x %d "
             "= %lld)",
             (long long)target,
             roll == (int64_t)cfg.n_envs * cfg.n_steps ? "n_steps"
                                                       : "train_freq",
             cfg.n_envs, (int)(roll / cfg.n_envs), (long long)roll);
  fprintf(log, "boostrl: %s %s on %s, seed %llu, %lld steps%s -> %s\n",
          st.timesteps ? "resuming" : "training", brl_algo_name(cfg.algo),
          r.env_id, (unsigned long long)r.seed, (long long)r.total, why, r.dir);
  cli_progress_init(&r.prog, log, r.rank == 0, st.timesteps, r.total);
  brl_agent_set_callback(r.agent, on_update, &r);
  signal(SIGINT, on_sigint);
  r.t0 = cli_now();
  int lrc = brl_agent_learn(r.agent, env, target, rs.have_env ? 2 : 1);
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
  /* After a library error the env may be mid-step: the agent is saved
   * without it (a resume starts fresh episodes). */
  const int saved = !save_checkpoint(&r, lrc ? NULL : env);
  if (!saved)
    rc = 1;

  /* The final evaluation ran in the last update's callback; a run that had
   * nothing left to train is evaluated here. */
  if (!rc && r.rank == 0 && !r.have_final && !r.stopped && !interrupted &&
      o.eval_episodes > 0 && st.timesteps >= r.total) {
    if (cli_evaluate(r.agent, r.env_id, r.seed, (int)o.eval_episodes,
                     &r.final_ev))
      rc = 1;
    else
      r.have_final = 1;
  }
  const brl_eval_result *ev = &r.final_ev;
  if (r.have_final && isfinite(r.solved) && ev->mean_return >= r.solved &&
      r.solved_steps < 0) {
    r.solved_steps = st.timesteps;
    r.solved_s = train_s;
  }
  const int svg_rc = r.rank == 0 ? write_curve(&r, &cfg, st.timesteps) : 1;
  double wall_s = cli_now() - t_start;
  if (interrupted || r.stopped)
    fprintf(log,
            "%s at %lld of %lld steps: continue with `boostrl train "
            "--resume %s`\n",
            interrupted ? "interrupted" : "stopped (--stop-at)",
            (long long)st.timesteps, (long long)r.total, r.dir);
  else
    fprintf(log, "trained %lld steps in %.2f s (%.0f steps/s), %d trees\n",
            (long long)st.timesteps, train_s,
            train_s > 0 ? (double)(st.timesteps - r.start_steps) / train_s
                        : 0.0,
            total_trees(r.agent));
  if (r.have_final)
    fprintf(log, "eval: mean return %.2f +- %.2f over %d episodes\n",
            ev->mean_return, ev->std_return, ev->episodes);
  if (saved)
    fprintf(log,
            "wrote %s/model.brl (the agent), %s%s%s/config.json, "
            "%s/progress.csv%s%s%s\n",
            r.dir, lrc ? "" : r.dir, lrc ? "" : "/env.brl (its episodes), ",
            r.dir, r.dir, svg_rc ? "" : ", ", svg_rc ? "" : r.dir,
            svg_rc ? "" : "/curve.svg");
  if (file_exists(r.dir, "best_model.brl") && o.eval_every > 0)
    fprintf(log, "best evaluated agent: %s/best_model.brl\n", r.dir);
  if (o.json && r.rank == 0)
    print_json(&r, &cfg, &st, wall_s, train_s, ev, r.have_final);
done:
  /* A process that failed before training tells the others. */
  if (comm && !synced)
    brl_comm_agree(comm, BRL_EINVAL);
  if (quiet)
    fclose(quiet);
  if (r.csv_fd >= 0)
    close(r.csv_fd);
  free(rs.csv);
  brl_agent_free(&r.agent);
  brl_env_free(&env);
  brl_comm_free(&comm);
  return rc ? rc : (interrupted ? 130 : 0);
}
