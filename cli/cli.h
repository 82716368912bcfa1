/* Shared pieces of the `boostrl` command. */
#ifndef BRL_CLI_H
#define BRL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "boostrl.h"

/* Subcommands (each returns the process exit status). */
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_compress(int argc, char **argv);
int cli_explain(int argc, char **argv);
int cli_dump(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_presets(int argc, char **argv);
int cli_tune(int argc, char **argv);

/* ------------------------------------------------------------ common.c */

/* Seconds on a monotonic clock. */
double cli_now(void);
/* Parses a whole decimal integer into *out (0 on success). */
int cli_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* The walk over argv that the eval, explain, dump, export and compress
 * commands share. Reads argv[*i] (advancing *i past an option's value):
 *  - -h/--help prints usage to stdout: returns -1 with *exit_rc 0;
 *  - a flag named in `flags` (NULL-terminated, may be NULL) sets
 *    flag_set[its index] = 1: returns 0;
 *  - a word not starting with '-' becomes *positional (one at most):
 *    returns 0;
 *  - "--opt value": returns 1 with *opt and *val set;
 *  - a second positional or a missing value prints the error for command
 *    `cmd`: returns -1 with *exit_rc 2. */
int cli_next_arg(const char *cmd, int argc, char **argv, int *i,
                 void (*usage)(FILE *), const char *const *flags, int *flag_set,
                 const char **positional, const char **opt, const char **val,
                 int *exit_rc);
/* Prints "boostrl CMD: unknown option ..." and returns 2. */
int cli_unknown_option(const char *cmd, const char *opt);
/* Prints "boostrl CMD: bad value ..." and returns 2. */
int cli_bad_value(const char *cmd, const char *val, const char *opt);
/* Seed of the evaluation env: distinct from every training env seed. */
uint64_t cli_eval_seed(uint64_t seed);
/* Copies of the evaluation env (episodes spread over them). */
#define CLI_EVAL_ENVS 16
/* The usual "solved" return of a native env (NAN if none known). */
double cli_solved_return(const char *env_id);
/* mkdir -p for one level (0 on success or if it exists). */
int cli_mkdir(const char *path);
/* Bytes of the path buffers of the command (PATH_MAX of Linux): longer
 * paths are refused with a message, never cut. */
#define CLI_PATH_MAX 4096
/* out = dir + "/" + name; nonzero (out empty) when it does not fit size. */
int cli_join(char *out, size_t size, const char *dir, const char *name);
/* out = path; nonzero (out empty) when it does not fit size. */
int cli_copy_path(char *out, size_t size, const char *path);
/* Prints "boostrl: <what>: <library message>" to stderr, returns 1. */
int cli_lib_error(const char *what);
/* Writes a JSON string literal (quotes and escapes). */
void cli_json_string(FILE *f, const char *s);
/* Writes a number, or null when it is not finite. */
void cli_json_number(FILE *f, double v);
/* 0 when env_id fits agent a (observation and action shapes), else prints
 * "boostrl CMD: <why>" and returns 1. */
int cli_check_env(const char *cmd, brl_agent *a, const char *env_id);
/* Median wall microseconds of one deterministic brl_agent_act on a single
 * observation (the first of env_id after a reset); NaN on failure. */
double cli_act_us(brl_agent *a, const char *env_id);
/* Evaluates a on a fresh env_id env; 0 on success. */
int cli_evaluate(brl_agent *a, const char *env_id, uint64_t seed, int episodes,
                 brl_eval_result *out);

/* A MODEL argument: an agent file, a run directory (DIR/model.brl), a model
 * file or a model JSON file. */
typedef struct cli_loaded {
  brl_agent *agent;        /* NULL unless an agent file */
  brl_model *model;        /* a bare model (owned), else NULL */
  const brl_model *policy; /* the agent's policy (shared) model, or model */
  char path[CLI_PATH_MAX]; /* the file read */
  char env_id[128];        /* from the run's config.json, or "" */
  const char *env;         /* --env, else env_id, else NULL */
} cli_loaded;

/* What a command needs of its MODEL (flags of cli_open_model). */
#define CLI_NEED_AGENT 1u /* an agent file, not a bare model */
#define CLI_NEED_ENV 2u   /* an env: --env or the run's config.json */

/* The prologue of eval, compress, explain, dump and export: resolves MODEL
 * (a run directory of `boostrl train`, whose model.brl is read, or a file),
 * loads it (an agent file, a model file or a model JSON file), sets
 * out->env from env_opt, else from the config.json of the run (in the
 * directory, or next to the file), and, when threads >= 0, sets the
 * agent's threads. Returns 0,
 * or the exit status after printing "boostrl CMD: ..." (1 when MODEL cannot
 * be read, 2 when it lacks what `need` asks for), with nothing to free. */
int cli_open_model(const char *cmd, const char *model, const char *env_opt,
                   unsigned need, int64_t threads, cli_loaded *out);
void cli_loaded_free(cli_loaded *l);

/* -------------------------------------------------------------- dump.c */

/* Names of the observation features of a native env (NULL if unknown or
 * n_features does not match). */
const char *const *cli_feature_names(const char *env_id, int n_features);

/* ----------------------------------------------------------- progress.c */

typedef struct cli_progress {
  FILE *out;
  int tty, enabled;
  int64_t total, start_steps, last_steps;
  double t_start, t_last;
  int last_pct;
} cli_progress;

void cli_progress_init(cli_progress *p, FILE *out, int enabled,
                       int64_t start_steps, int64_t total);
/* trees: trees in all ensembles; elapsed_s: training seconds of this run. */
void cli_progress_update(cli_progress *p, const brl_agent_stats *s, int trees,
                         double elapsed_s, int force);
/* Prints a message line without breaking the bar. */
void cli_progress_note(cli_progress *p, const char *msg);
void cli_progress_finish(cli_progress *p);

/* ---------------------------------------------------------------- svg.c */

typedef struct cli_curve {
  int n, cap;
  double *x, *y; /* training return per rollout */
  int ne, ecap;
  double *ex, *ey; /* evaluation returns */
} cli_curve;

int cli_curve_add(cli_curve *c, double x, double y);
int cli_curve_add_eval(cli_curve *c, double x, double y);
void cli_curve_free(cli_curve *c);
/* Writes the learning curve as an SVG file; 0 on success. */
int cli_svg_write(const char *path, const cli_curve *c, const char *title,
                  double solved);
/* A "nice" tick step (1, 2 or 5 times a power of ten) for about `ticks`
 * ticks over range (1 when range is not positive). */
double cli_svg_nice_step(double range, int ticks);
/* The <svg> start tag (w x h, sans-serif 12) and a white background. */
void cli_svg_begin(FILE *f, double w, double h);
/* Writes s with <, >, & and " escaped. */
void cli_svg_escape(FILE *f, const char *s);
/* <text x y ATTRS>escaped text</text>; attrs may be NULL. */
void cli_svg_text(FILE *f, double x, double y, const char *attrs,
                  const char *text);

/* ----------------------------------------------------------- shap_plot.c */

/* Bar chart of mean |SHAP| (shap_bar.svg): F features (labels), n_out
 * outputs (out_labels, one colour each), mean_abs[j * n_out + k] the mean
 * |SHAP| of feature j on output k. Features are sorted by their total over
 * the outputs, largest first. Each bar is
 * <rect class="bar" data-j="J" data-k="K" ...> whose width is proportional
 * to its value. 0 on success, 1 when the file cannot be written. */
int cli_shap_bar_svg(const char *path, const char *title, int F,
                     const char *const *labels, int n_out,
                     const char *const *out_labels, const double *mean_abs,
                     const char *axis_label);
/* Beeswarm (shap_beeswarm.svg): n rows of shap[i * F + j] (SHAP of feature
 * j on the explained output) and x[i * F + j] (the feature's value). One
 * row of dots per feature (sorted by mean |SHAP|, largest on top), each dot
 * <circle class="dot" data-j="J" cx=...> at its SHAP value on the x axis
 * (written in row order), coloured from blue (low feature value) to red
 * (high; the feature's 5th..95th percentile), a colour bar, the zero line
 * <line class="zero" ...> and the x axis "SHAP value (impact on
 * <output>)". 0 on success, 1 on a write error, 2 out of memory. */
int cli_shap_beeswarm_svg(const char *path, const char *title, int F,
                          const char *const *labels, int64_t n,
                          const float *shap, const float *x,
                          const char *output);

#endif
