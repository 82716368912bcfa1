/* `boostrl export MODEL --format c --out DIR`: the policy as dependency-free
 * C99 (NAME.h, NAME.c) with act functions for the agent's action space, and
 * a size report (the library's estimate, then measured object sizes for the
 * host and, when arm-none-eabi-gcc is installed, for a Cortex-M4). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
  fprintf(f,
          "usage: boostrl export MODEL --format c --out DIR [options]\n"
          "Writes the policy of MODEL (an agent file, a run directory, a model "
          "file or a\nmodel JSON file) as C99 code with no dependencies: "
          "DIR/NAME.h and DIR/NAME.c\nwith NAME_predict(), and for an agent "
          "NAME_act() and (discrete actions)\nNAME_act_discrete(). Prints the "
          "table (flash) and stack (RAM) bytes, and the\nsizes of the "
          "compiled object for the host (cc) and for a Cortex-M4\n"
          "(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os) when those "
          "compilers exist.\n\n"
          "options:\n"
          "  --format c         the only format\n"
          "  --out DIR          output directory (created if missing)\n"
          "  --name NAME        C identifier: symbol prefix and file names "
          "(default policy)\n"
          "  --variant V        float32 (default; the library's sums exactly),"
          " int32 or\n"
          "                     int16 (threshold ranks, fixed-point leaves)\n"
          "  --no-compile       skip the compiled size measurements\n"
          "  --json             print the report as one JSON line\n"
          "  -h, --help         this help\n");
}

static int valid_identifier(const char *s) {
  if (!s[0] || strlen(s) > 64 || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

/* mkdir -p; 0 on success. */
static int mkdir_p(const char *path) {
  char buf[CLI_PATH_MAX];
  if (cli_copy_path(buf, sizeof buf, path))
    return 1;
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (cli_mkdir(buf))
        return 1;
      *p = '/';
    }
  return cli_mkdir(buf);
}

/* Compiles src with `cc flags` into dir/obj and reads text, data, bss with
 * the `size` tool; 0 on success. */
static int measure(const char *cc, const char *flags, const char *size_tool,
                   const char *src, const char *obj, long sizes[3]) {
  char cmd[4 * CLI_PATH_MAX];
  const int n = snprintf(
      cmd, sizeof cmd,
      "command -v %s >/dev/null 2>&1 && command -v %s >/dev/null 2>&1 "
      "&& %s %s -c '%s' -o '%s' >/dev/null 2>&1 && %s '%s' 2>/dev/null",
      cc, size_tool, cc, flags, src, obj, size_tool, obj);
  if (n < 0 || (size_t)n >= sizeof cmd)
    return 1;
  FILE *p = popen(cmd, "r");
  if (!p)
    return 1;
  char line[512];
  int ok = 0;
  /* Berkeley format: a header line, then "text data bss dec hex file". */
  while (fgets(line, sizeof line, p))
    if (sscanf(line, "%ld %ld %ld", &sizes[0], &sizes[1], &sizes[2]) == 3)
      ok = 1;
  int st = pclose(p);
  remove(obj);
  return !(ok && st == 0);
}

int cli_export(int argc, char **argv) {
  const char *model = NULL, *format = NULL, *out_dir = NULL, *name = "policy",
             *variant_s = "float32";
  int compile = 1, json = 0;
  static const char *const flags[] = {"--no-compile", "--json", NULL};
  int flag_set[2] = {0};
  for (int i = 1; i < argc; i++) {
    const char *a, *v;
    int rc;
    int k = cli_next_arg("export", argc, argv, &i, usage, flags, flag_set,
                         &model, &a, &v, &rc);
    if (k < 0)
      return rc;
    if (k == 0)
      continue;
    if (!strcmp(a, "--format"))
      format = v;
    else if (!strcmp(a, "--out"))
      out_dir = v;
    else if (!strcmp(a, "--name"))
      name = v;
    else if (!strcmp(a, "--variant"))
      variant_s = v;
    else
      return cli_unknown_option("export", a);
  }
  compile = !flag_set[0];
  json = flag_set[1];
  if (!model || !out_dir) {
    fprintf(stderr, "boostrl export: name a model and --out DIR (see "
                    "--help)\n");
    return 2;
  }
  if (format && strcmp(format, "c")) {
    fprintf(stderr,
            "boostrl export: unknown format '%s': the only format "
            "is c\n",
            format);
    return 2;
  }
  if (!valid_identifier(name)) {
    fprintf(stderr, "boostrl export: --name '%s' is not a C identifier\n",
            name);
    return 2;
  }
  brl_export_options o;
  brl_export_options_default(&o);
  o.name = name;
  if (!strcmp(variant_s, "float32"))
    o.variant = BRL_EXPORT_FLOAT32;
  else if (!strcmp(variant_s, "int32"))
    o.variant = BRL_EXPORT_INT32;
  else if (!strcmp(variant_s, "int16"))
    o.variant = BRL_EXPORT_INT16;
  else {
    fprintf(stderr,
            "boostrl export: unknown variant '%s': use float32, "
            "int32 or int16\n",
            variant_s);
    return 2;
  }
  cli_loaded l;
  int rc = cli_open_model("export", model, NULL, 0, -1, &l);
  if (rc)
    return rc;
  const char *action = "none (NAME_predict only)";
  brl_action_space sp;
  if (l.agent && brl_agent_get_action_space(l.agent, &sp) == 0) {
    if (sp.kind == BRL_SPACE_DISCRETE) {
      o.action = BRL_EXPORT_ACTION_DISCRETE;
      o.action_offset = 0;
      o.action_dim = sp.nvec[0];
      action = "discrete";
    } else if (sp.kind == BRL_SPACE_BOX) {
      o.action = BRL_EXPORT_ACTION_CONTINUOUS;
      o.action_offset = 0;
      o.action_dim = sp.dim;
      o.action_low = sp.low;
      o.action_high = sp.high;
      action = "continuous (mean, clipped)";
    } else {
      /* One argmax per sub-space is not in the export: the logits of the
       * sub-spaces lie side by side in NAME_predict's output. */
      action = "none (multi-discrete: argmax each sub-space's logits of "
               "NAME_predict)";
    }
  }
  if (strlen(out_dir) + strlen(name) + 48 > CLI_PATH_MAX) {
    fprintf(stderr,
            "boostrl export: the paths of --out %s (%zu bytes) with --name "
            "exceed %d bytes: use a shorter directory\n",
            out_dir, strlen(out_dir), CLI_PATH_MAX);
    cli_loaded_free(&l);
    return 1;
  }
  if (mkdir_p(out_dir)) {
    fprintf(stderr, "boostrl export: cannot create %s\n", out_dir);
    cli_loaded_free(&l);
    return 1;
  }
  brl_export_info info;
  rc = brl_model_export_c(l.policy, &o, out_dir, &info);
  int n_trees = brl_model_n_trees(l.policy);
  cli_loaded_free(&l);
  if (rc)
    return cli_lib_error("export");
  char src[CLI_PATH_MAX], obj[CLI_PATH_MAX];
  snprintf(src, sizeof src, "%s/%s.c", out_dir, name);
  /* [0]: host, [1]: Cortex-M4; text, data, bss; -1 when not measured. */
  long sz[2][3] = {{-1, -1, -1}, {-1, -1, -1}};
  if (compile) {
    snprintf(obj, sizeof obj, "%s/.%s.host.%ld.o", out_dir, name,
             (long)getpid());
    if (measure("cc", "-std=c99 -Os", "size", src, obj, sz[0]))
      sz[0][0] = -1;
    snprintf(obj, sizeof obj, "%s/.%s.m4.%ld.o", out_dir, name, (long)getpid());
    if (measure("arm-none-eabi-gcc",
                "-std=c99 -mcpu=cortex-m4 -mthumb "
                "-mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os",
                "arm-none-eabi-size", src, obj, sz[1]))
      sz[1][0] = -1;
  }
  if (json) {
    fputs("{\"dir\":", stdout);
    cli_json_string(stdout, out_dir);
    fputs(",\"name\":", stdout);
    cli_json_string(stdout, name);
    printf(",\"variant\":\"%s\",\"trees\":%d,\"table_bytes\":%zu,"
           "\"stack_bytes\":%zu,\"has_math\":%d",
           variant_s, n_trees, info.table_bytes, info.stack_bytes,
           info.has_math);
    static const char *const key[2] = {"host", "cortex_m4"};
    for (int t = 0; t < 2; t++)
      if (sz[t][0] >= 0)
        printf(",\"%s_text\":%ld,\"%s_data\":%ld,\"%s_bss\":%ld", key[t],
               sz[t][0], key[t], sz[t][1], key[t], sz[t][2]);
    puts("}");
    return 0;
  }
  printf("wrote %s/%s.h and %s/%s.c: %d trees, %s variant, action %s\n",
         out_dir, name, out_dir, name, n_trees, variant_s, action);
  printf("flash: %zu bytes of tables; RAM: ~%zu bytes of stack per call, no "
         "globals%s\n",
         info.table_bytes, info.stack_bytes,
         info.has_math ? "; includes <math.h>" : "");
  static const char *const label[2] = {
#if defined(__x86_64__)
    "x86-64 (cc -std=c99 -Os)",
#else
    "host (cc -std=c99 -Os)",
#endif
    "Cortex-M4 (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb "
    "-mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os)"
  };
  for (int t = 0; t < 2 && compile; t++) {
    if (sz[t][0] >= 0)
      printf("%s: text %ld, data %ld, bss %ld bytes -> flash %ld, static "
             "RAM %ld\n",
             label[t], sz[t][0], sz[t][1], sz[t][2], sz[t][0] + sz[t][1],
             sz[t][1] + sz[t][2]);
    else
      printf("%s: not measured (compiler or size tool not found)\n", label[t]);
  }
  return 0;
}
