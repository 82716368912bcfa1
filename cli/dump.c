/* `boostrl dump MODEL`: the model as JSON (docs/MODEL_JSON.md), Graphviz DOT
 * or text. Also the loader of MODEL arguments shared by dump, explain and
 * export, and the feature names of the native environments. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const *cli_feature_names(const char *env_id, int n_features) {
  static const char *const cartpole[] = {"x", "x_dot", "theta", "theta_dot"};
  static const char *const acrobot[] = {"cos_theta1", "sin_theta1",
                                        "cos_theta2", "sin_theta2",
                                        "theta1_dot", "theta2_dot"};
  static const char *const mountain_car[] = {"position", "velocity"};
  static const char *const pendulum[] = {"cos_theta", "sin_theta", "theta_dot"};
  static const struct {
    const char *id;
    const char *const *names;
    int n;
  } t[] = {{"CartPole-v1", cartpole, 4},
           {"Acrobot-v1", acrobot, 6},
           {"MountainCar-v0", mountain_car, 2},
           {"MountainCarContinuous-v0", mountain_car, 2},
           {"Pendulum-v1", pendulum, 3}};
  if (!env_id)
    return NULL;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(t[i].id, env_id) && t[i].n == n_features)
      return t[i].names;
  return NULL;
}

/* The path of Graphviz's `dot` on PATH into out; 1 when there is none. */
static int find_dot(char *out, size_t size) {
  const char *path = getenv("PATH");
  while (path && *path) {
    size_t len = strcspn(path, ":");
    if (len > 0 &&
        (size_t)snprintf(out, size, "%.*s/dot", (int)len, path) < size &&
        access(out, X_OK) == 0)
      return 0;
    path += len + (path[len] == ':');
  }
  return 1;
}

/* Renders DOT text to SVG with `dot -Tsvg` into out_path (or stdout). */
static int render_svg(const char *text, size_t len, const char *out_path) {
  char dot[CLI_PATH_MAX];
  if (find_dot(dot, sizeof dot)) {
    fprintf(stderr,
            "boostrl dump: --format svg renders the DOT dump with Graphviz's "
            "`dot`, which is not on PATH: install Graphviz (e.g. apt-get "
            "install graphviz) or write --format dot and render it "
            "elsewhere\n");
    return 1;
  }
  /* The command line, with both paths single-quoted for the shell. */
  size_t cap = 2 * CLI_PATH_MAX * 4 + 64, n = 0;
  char *cmd = malloc(cap);
  if (!cmd) {
    fprintf(stderr, "boostrl dump: out of memory\n");
    return 1;
  }
  const char *parts[2] = {dot, out_path};
  for (int p = 0; p < 2 && parts[p]; p++) {
    if (p)
      n += (size_t)snprintf(cmd + n, cap - n, " -Tsvg -o ");
    cmd[n++] = '\'';
    for (const char *c = parts[p]; *c; c++) {
      if (*c == '\'') {
        memcpy(cmd + n, "'\\''", 4);
        n += 4;
      } else {
        cmd[n++] = *c;
      }
    }
    cmd[n++] = '\'';
  }
  if (!out_path)
    n += (size_t)snprintf(cmd + n, cap - n, " -Tsvg");
  cmd[n] = '\0';
  fflush(stdout);
  FILE *p = popen(cmd, "w");
  free(cmd);
  if (!p) {
    fprintf(stderr, "boostrl dump: cannot run %s\n", dot);
    return 1;
  }
  int bad = fwrite(text, 1, len, p) != len;
  int st = pclose(p);
  if (bad || st != 0) {
    fprintf(stderr, "boostrl dump: %s -Tsvg failed (status %d)\n", dot, st);
    return 1;
  }
  return 0;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: boostrl dump MODEL [options]\n"
          "Prints a model's trees. MODEL is an agent file (model.brl), a run "
          "directory of\n`boostrl train`, a model file or a model JSON "
          "file.\n\n"
          "options:\n"
          "  --format F       json (every field; loads back into an identical "
          "model, see\n"
          "                   docs/MODEL_JSON.md), dot (Graphviz), svg (the "
          "dot dump\n"
          "                   drawn by Graphviz's `dot -Tsvg`, which must be "
          "on PATH) or\n"
          "                   text (default text)\n"
          "  --trees A:B      trees A to B-1 (dot and text; default all; A: "
          "or :B work)\n"
          "  --which W        policy (default; the shared actor-critic model) "
          "or value\n"
          "  --env ENV        feature names of ENV (default: the run's, from "
          "config.json)\n"
          "  --out FILE       write to FILE instead of stdout\n"
          "  -h, --help       this help\n");
}

/* "A:B", "A:", ":B" or "A" (one tree). */
static int parse_range(const char *s, int *start, int *stop) {
  const char *colon = strchr(s, ':');
  char a[32] = "", b[32] = "";
  if (!colon) {
    snprintf(a, sizeof a, "%s", s);
  } else {
    size_t la = (size_t)(colon - s);
    if (la >= sizeof a)
      return 1;
    memcpy(a, s, la);
    a[la] = '\0';
    snprintf(b, sizeof b, "%s", colon + 1);
  }
  int64_t v;
  *start = 0;
  *stop = -1;
  if (a[0]) {
    if (cli_parse_i64(a, 0, INT32_MAX, &v))
      return 1;
    *start = (int)v;
  }
  if (!colon) {
    *stop = *start + 1;
    return 0;
  }
  if (b[0]) {
    if (cli_parse_i64(b, 0, INT32_MAX, &v))
      return 1;
    *stop = (int)v;
  }
  return *stop >= 0 && *stop < *start;
}

int cli_dump(int argc, char **argv) {
  const char *model = NULL, *format = "text", *out_path = NULL, *trees = NULL,
             *which = "policy", *env_id = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a, *v;
    int rc;
    int k = cli_next_arg("dump", argc, argv, &i, usage, NULL, NULL, &model, &a,
                         &v, &rc);
    if (k < 0)
      return rc;
    if (k == 0)
      continue;
    if (!strcmp(a, "--format"))
      format = v;
    else if (!strcmp(a, "--out"))
      out_path = v;
    else if (!strcmp(a, "--trees"))
      trees = v;
    else if (!strcmp(a, "--which"))
      which = v;
    else if (!strcmp(a, "--env"))
      env_id = v;
    else
      return cli_unknown_option("dump", a);
  }
  if (!model) {
    fprintf(stderr, "boostrl dump: name a model (see --help)\n");
    return 2;
  }
  int fmt = !strcmp(format, "json")   ? 0
            : !strcmp(format, "dot")  ? 1
            : !strcmp(format, "text") ? 2
            : !strcmp(format, "svg")  ? 3
                                      : -1;
  if (fmt < 0) {
    fprintf(stderr,
            "boostrl dump: unknown format '%s': use json, dot, svg or "
            "text\n",
            format);
    return 2;
  }
  if (strcmp(which, "policy") && strcmp(which, "value")) {
    fprintf(stderr, "boostrl dump: --which is policy or value, not '%s'\n",
            which);
    return 2;
  }
  int start = 0, stop = -1;
  if (trees && parse_range(trees, &start, &stop)) {
    fprintf(stderr, "boostrl dump: bad tree range '%s': use A:B\n", trees);
    return 2;
  }
  if (trees && fmt == 0) {
    fprintf(stderr, "boostrl dump: the JSON dump holds the whole model: "
                    "--trees applies to dot and text\n");
    return 2;
  }
  cli_loaded l;
  int rc = cli_open_model("dump", model, env_id, 0, -1, &l);
  if (rc)
    return rc;
  env_id = l.env;
  const brl_model *m = l.policy;
  if (!strcmp(which, "value")) {
    if (!l.agent) {
      fprintf(stderr, "boostrl dump: --which value needs an agent file\n");
      cli_loaded_free(&l);
      return 2;
    }
    m = brl_agent_model(l.agent, 1);
  }
  int n_trees = brl_model_n_trees(m);
  if (start > n_trees || stop > n_trees) {
    fprintf(stderr,
            "boostrl dump: tree range %s is outside the model's %d "
            "trees\n",
            trees, n_trees);
    cli_loaded_free(&l);
    return 2;
  }
  const char *const *names =
      brl_model_n_all_features(m) == brl_model_n_features(m)
          ? cli_feature_names(env_id, brl_model_n_features(m))
          : NULL;
  char *text = NULL;
  size_t len = 0;
  rc = fmt == 0   ? brl_model_dump_json(m, &text, &len)
       : fmt != 2 ? brl_model_dump_dot(m, start, stop, names, &text, &len)
                  : brl_model_dump_text(m, start, stop, names, &text, &len);
  cli_loaded_free(&l);
  if (rc)
    return cli_lib_error("dump");
  if (fmt == 3) {
    rc = render_svg(text, len, out_path);
    brl_free(text);
    return rc;
  }
  FILE *f = out_path ? fopen(out_path, "wb") : stdout;
  if (!f) {
    fprintf(stderr, "boostrl dump: cannot write %s\n", out_path);
    brl_free(text);
    return 1;
  }
  int bad = fwrite(text, 1, len, f) != len;
  if (out_path)
    bad |= fclose(f) != 0;
  else
    bad |= fflush(f) != 0;
  brl_free(text);
  if (bad) {
    fprintf(stderr, "boostrl dump: error writing %s\n",
            out_path ? out_path : "stdout");
    return 1;
  }
  return 0;
}
