/* The preset table as data: brl_agent_preset_count/get/find against
 * brl_agent_config_preset, and `boostrl presets [ENV] [--algo] [--json]`
 * (its JSON settings read back as a `boostrl train --config` file). The
 * command's tests are skipped when it was not built. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boostrl.h"
#include "cli_util.h"
#include "testlib.h"

static char bin[1024];

/* "CartPole-v1" for "CartPole-v1", "MiniGrid-X" for "MiniGrid-*". */
static void concrete(const char *pattern, char *out, size_t size) {
  size_t n = 0;
  for (const char *p = pattern; *p && n + 2 < size; p++) {
    if (*p == '*')
      out[n++] = 'X';
    else
      out[n++] = *p;
  }
  out[n] = '\0';
}

/* c = defaults of algo + settings, applied by name. */
static int apply_row(const brl_agent_preset *p, brl_agent_config *c) {
  brl_agent_config_default(c, p->algo);
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", p->settings);
  for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    if (!eq)
      return -1;
    *eq = '\0';
    if (brl_agent_config_set(c, tok, eq + 1))
      return -1;
  }
  return brl_agent_config_check(c);
}

static int same_config(const brl_agent_config *a, const brl_agent_config *b) {
  for (const char *const *k = brl_agent_config_keys(); *k; k++) {
    char va[128], vb[128];
    if (brl_agent_config_get(a, *k, va, sizeof va) ||
        brl_agent_config_get(b, *k, vb, sizeof vb) || strcmp(va, vb))
      return 0;
  }
  return 1;
}

static void test_table(void) {
  int n = brl_agent_preset_count();
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    brl_agent_preset p;
    CHECK_OK(brl_agent_preset_get(i, &p));
    CHECK(p.env && p.env[0] && p.settings && p.settings[0]);
    brl_agent_config byname, lib;
    CHECK_MSG(apply_row(&p, &byname) == 0, "row %d (%s): %s", i, p.env,
              brl_last_error());
    /* The library applies the first matching row of the algorithm. */
    char id[128];
    concrete(p.env, id, sizeof id);
    int row = brl_agent_preset_find(id, p.algo);
    CHECK_MSG(row >= 0 && row <= i, "row %d (%s): find -> %d", i, id, row);
    int found = 0;
    CHECK_OK(brl_agent_config_preset(&lib, id, p.algo, &found));
    CHECK(found == 1);
    if (row == i)
      CHECK_MSG(same_config(&byname, &lib), "row %d (%s)", i, id);
  }
  brl_agent_preset p;
  CHECK(brl_agent_preset_get(-1, &p) == BRL_EINVAL);
  CHECK(strstr(brl_last_error(), "brl_agent_preset_count") != NULL);
  CHECK(brl_agent_preset_get(n, &p) == BRL_EINVAL);
  CHECK(brl_agent_preset_get(0, NULL) == BRL_EINVAL);
  CHECK(brl_agent_preset_find(NULL, BRL_ALGO_PPO) == -1);
  CHECK(brl_agent_preset_find("NoSuchEnv-v0", BRL_ALGO_PPO) == -1);
  CHECK(brl_agent_preset_find("Pendulum-v1", BRL_ALGO_DQN) == -1);
  int mg = brl_agent_preset_find("MiniGrid-DoorKey-5x5-v0", BRL_ALGO_A2C);
  CHECK(mg >= 0 && brl_agent_preset_get(mg, &p) == 0 &&
        strcmp(p.env, "MiniGrid-*") == 0 && p.algo == BRL_ALGO_A2C);
}

static int run(const char *args, char *out, size_t size) {
  return brl_test_run_cli(bin, args, out, size, 1);
}

static int count(const char *s, const char *what) {
  int k = 0;
  for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
    k++;
  return k;
}

/* The object after the k-th "settings": in s, into out. */
static int settings_object(const char *s, int k, char *out, size_t size) {
  const char *p = s;
  for (int i = 0; i <= k; i++) {
    p = strstr(p, "\"settings\":");
    if (!p)
      return -1;
    p += strlen("\"settings\":");
  }
  const char *end = strchr(p, '}');
  if (*p != '{' || !end || (size_t)(end - p + 2) > size)
    return -1;
  snprintf(out, size, "%.*s", (int)(end - p + 1), p);
  return 0;
}

static void test_command(const char *dir) {
  static char out[1 << 16];
  int n = brl_agent_preset_count();
  CHECK(run("presets", out, sizeof out) == 0);
  for (int i = 0; i < n; i++) {
    brl_agent_preset p;
    brl_agent_preset_get(i, &p);
    CHECK_MSG(strstr(out, p.settings) != NULL, "row %d missing", i);
  }
  /* JSON: every row, each settings object a flat object of its settings. */
  CHECK(run("presets --json", out, sizeof out) == 0);
  CHECK(out[0] == '[' && count(out, "\"env\":") == n);
  for (int i = 0; i < n; i++) {
    brl_agent_preset p;
    brl_agent_preset_get(i, &p);
    char obj[2048];
    brl_kv *j = NULL;
    CHECK_MSG(settings_object(out, i, obj, sizeof obj) == 0, "row %d", i);
    CHECK_MSG(brl_kv_parse_json(obj, strlen(obj), &j) == 0, "row %d: %s", i,
              brl_last_error());
    CHECK_MSG(brl_kv_count(j) == count(p.settings, "="), "row %d: %d keys", i,
              brl_kv_count(j));
    for (int k = 0; k < brl_kv_count(j); k++) {
      char kv[256];
      snprintf(kv, sizeof kv, "%s=%s", brl_kv_key(j, k), brl_kv_value(j, k));
      CHECK_MSG(strstr(p.settings, kv) != NULL, "row %d: %s", i, kv);
    }
    brl_kv_free(&j);
  }
  /* ENV: the rows that apply to it, one per algorithm. */
  CHECK(run("presets MiniGrid-DoorKey-5x5-v0", out, sizeof out) == 0);
  CHECK(count(out, "MiniGrid-*") == 2 && strstr(out, "CartPole") == NULL);
  CHECK(run("presets CartPole-v1 --algo dqn --json", out, sizeof out) == 0);
  CHECK(count(out, "\"env\":") == 1 && strstr(out, "\"algo\":\"dqn\""));
  CHECK(run("presets --algo a2c --json", out, sizeof out) == 0);
  CHECK(count(out, "\"algo\":\"a2c\"") == count(out, "\"env\":"));
  CHECK(count(out, "\"algo\":\"a2c\"") >= 1);
  CHECK(run("presets NoSuchEnv-v0", out, sizeof out) == 0);
  CHECK(strstr(out, "no preset for NoSuchEnv-v0") != NULL);
  CHECK(run("presets NoSuchEnv-v0 --json", out, sizeof out) == 0);
  CHECK(strncmp(out, "[]", 2) == 0);
  CHECK(run("presets --algo xyz", out, sizeof out) == 2);
  CHECK(strstr(out, "xyz") != NULL);
  CHECK(run("presets --bogus", out, sizeof out) == 2);
  CHECK(run("presets A B", out, sizeof out) == 2);
  CHECK(run("presets --help", out, sizeof out) == 0 && strstr(out, "--json"));
  CHECK(run("--help", out, sizeof out) == 0 && strstr(out, "presets"));

  /* Copied into a --config file, CartPole's PPO settings train Pendulum. */
  CHECK(run("presets CartPole-v1 --algo ppo --json", out, sizeof out) == 0);
  char obj[2048], path[512], args[1200];
  CHECK(settings_object(out, 0, obj, sizeof obj) == 0);
  snprintf(path, sizeof path, "%s/cartpole.json", dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f)
    return;
  fputs(obj, f);
  fclose(f);
  snprintf(args, sizeof args,
           "train Pendulum-v1 --config %s --timesteps 1024 --eval-episodes 1 "
           "--out %s/run",
           path, dir);
  CHECK(run(args, out, sizeof out) == 0);
  snprintf(path, sizeof path, "%s/run/config.json", dir);
  brl_kv *j = NULL;
  CHECK(brl_kv_load_json(path, &j) == 0);
  const char *lr = brl_kv_get(j, "policy_lr");
  const char *env = brl_kv_get(j, "env");
  CHECK(lr && strtod(lr, NULL) == 0.05);
  CHECK(env && strcmp(env, "Pendulum-v1") == 0);
  brl_kv_free(&j);
}

int main(int argc, char **argv) {
  (void)argc;
  test_table();
  if (brl_test_find_cli(argv[0], bin, sizeof bin) != 0) {
    printf("test_presets: %s not built, skipping the command's tests\n", bin);
    return brl_test_report("test_presets");
  }
  char dir[256], cmd[300];
  snprintf(dir, sizeof dir, "/tmp/brl_test_presets_%ld", (long)getpid());
  mkdir(dir, 0777);
  test_command(dir);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  return brl_test_report("test_presets");
}
