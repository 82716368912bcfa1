/* The `boostrl` command end to end (train, eval, envs, --help, errors,
 * --config, --resume, Ctrl-C), run as a child process next to this test's
 * binary; its JSON lines and config.json are read with brl_kv. Skipped when
 * the command was not built. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boostrl.h"
#include "cli_util.h"
#include "testlib.h"

static char bin[1024];
static char dir[256];

static int run(const char *args, char *out, size_t size, int err_too) {
  return brl_test_run_cli(bin, args, out, size, err_too);
}

static const char *last_line(char *s) {
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '\n')
    s[--n] = '\0';
  char *nl = strrchr(s, '\n');
  return nl ? nl + 1 : s;
}

static int exists(const char *d, const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", d, name);
  struct stat sb;
  return stat(p, &sb) == 0 && sb.st_size > 0;
}

static void test_help_and_envs(void) {
  static char out[65536];
  CHECK(run("--help", out, sizeof out, 0) == 0);
  CHECK(strstr(out, "train ENV") && strstr(out, "eval MODEL") &&
        strstr(out, "envs") && strstr(out, "bench"));
  CHECK(run("train --help", out, sizeof out, 0) == 0);
  CHECK(strstr(out, "--timesteps") && strstr(out, "--eval-every") &&
        strstr(out, "clip_range_vf") && strstr(out, "shared_tree"));
  CHECK(strstr(out, "--device") && strstr(out, "auto"));
  CHECK(run("eval --help", out, sizeof out, 0) == 0);
  CHECK(strstr(out, "--episodes") && strstr(out, "--device"));
  CHECK(run("bench --help", out, sizeof out, 0) == 0);
  CHECK(run("envs", out, sizeof out, 0) == 0);
  CHECK(strstr(out, "CartPole-v1") && strstr(out, "Pendulum-v1"));
  CHECK(run("envs --json", out, sizeof out, 0) == 0);
  CHECK(out[0] == '[' && strstr(out, "\"MountainCarContinuous-v0\""));
  CHECK(run("nope", out, sizeof out, 1) == 2);
  CHECK(run("", out, sizeof out, 1) == 2);
}

static void test_errors(void) {
  static char out[65536];
  CHECK(run("train", out, sizeof out, 1) == 2);
  CHECK(run("train Nope-v0 --timesteps 10", out, sizeof out, 1) == 1);
  CHECK_MSG(strstr(out, "Nope-v0") != NULL, "%s", out);
  CHECK(run("train CartPole-v1 --set bogus=1", out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "bogus") != NULL, "%s", out);
  CHECK(run("train CartPole-v1 --set gamma=3", out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "gamma") != NULL, "%s", out);
  CHECK(run("train CartPole-v1 --algo sac", out, sizeof out, 1) == 2);
  CHECK(run("train CartPole-v1 --timesteps lots", out, sizeof out, 1) == 2);
  CHECK(run("train CartPole-v1 --frobnicate 1", out, sizeof out, 1) == 2);
  char path[512], args[1024];
  snprintf(path, sizeof path, "%s/bad.json", dir);
  FILE *f = fopen(path, "w");
  fputs("{\n  \"n_steps\": 32,\n  \"gamma\": [0.9]\n}\n", f);
  fclose(f);
  snprintf(args, sizeof args, "train CartPole-v1 --config %s", path);
  CHECK(run(args, out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "line 3") != NULL, "%s", out);
  CHECK(run("eval /nonexistent/model.brl --env CartPole-v1", out, sizeof out,
            1) == 1);
}

/* --device (and --set device=): bad values name themselves; cuda without
 * CUDA fails with the reason; the device is in the JSON lines and in the
 * run's config.json. */
static void test_device(void) {
  static char out[1 << 16];
  CHECK(run("train CartPole-v1 --device gpu", out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "--device") && strstr(out, "gpu") &&
                strstr(out, "cpu, cuda or auto"),
            "%s", out);
  CHECK(run("train CartPole-v1 --set device=gpu", out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "device") && strstr(out, "gpu"), "%s", out);
  CHECK(run("eval nowhere.brl --env CartPole-v1 --device gpu", out, sizeof out,
            1) == 2);
  CHECK_MSG(strstr(out, "--device") && strstr(out, "gpu"), "%s", out);
  if (!brl_backend_available(BRL_BACKEND_CUDA)) {
    CHECK(run("train CartPole-v1 --timesteps 64 --device cuda", out, sizeof out,
              1) == 1);
    CHECK_MSG(strstr(out, "cuda") && strstr(out, "not available"), "%s", out);
    CHECK(run("train CartPole-v1 --timesteps 64 --set device=cuda", out,
              sizeof out, 1) == 1);
    CHECK_MSG(strstr(out, "not available") != NULL, "%s", out);
  }
  char args[2048], run_dir[512], path[600];
  snprintf(run_dir, sizeof run_dir, "%s/dev", dir);
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 256 --set n_steps=16 --set "
           "n_envs=4 --device auto --eval-episodes 1 --out %s --json",
           run_dir);
  const char *dev = brl_backend_available(BRL_BACKEND_CUDA) ? "cuda" : "cpu";
  CHECK(run(args, out, sizeof out, 0) == 0);
  brl_kv *j = NULL;
  const char *line = last_line(out);
  CHECK_MSG(brl_kv_parse_json(line, strlen(line), &j) == 0, "%s", line);
  if (j)
    CHECK(brl_kv_get(j, "device") && strcmp(brl_kv_get(j, "device"), dev) == 0);
  brl_kv_free(&j);
  snprintf(path, sizeof path, "%s/config.json", run_dir);
  CHECK(brl_kv_load_json(path, &j) == 0);
  if (j)
    CHECK(brl_kv_get(j, "device") &&
          strcmp(brl_kv_get(j, "device"), "auto") == 0);
  brl_kv_free(&j);
  snprintf(args, sizeof args, "eval %s --episodes 1 --device cpu --json",
           run_dir);
  CHECK(run(args, out, sizeof out, 0) == 0);
  line = last_line(out);
  CHECK_MSG(brl_kv_parse_json(line, strlen(line), &j) == 0, "%s", line);
  if (j)
    CHECK(brl_kv_get(j, "device") &&
          strcmp(brl_kv_get(j, "device"), "cpu") == 0);
  brl_kv_free(&j);
}

static void test_train_eval_resume(void) {
  static char out[1 << 16];
  char path[1024], args[4096], run_dir[512];
  snprintf(run_dir, sizeof run_dir, "%s/run", dir);
  snprintf(path, sizeof path, "%s/cfg.json", dir);
  FILE *f = fopen(path, "w");
  fputs("{\"n_steps\": 32, \"n_envs\": 8, \"seed\": 5, \"env\": "
        "\"CartPole-v1\", \"grow_policy\": \"oblivious\"}",
        f);
  fclose(f);
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 4000 --config %s --set "
           "batch_size=64 --out %s --eval-every 2048 --eval-episodes 5 "
           "--json",
           path, run_dir);
  int rc = run(args, out, sizeof out, 0);
  CHECK_MSG(rc == 0, "train -> %d: %s", rc, out);
  brl_kv *j = NULL;
  const char *line = last_line(out);
  CHECK_MSG(brl_kv_parse_json(line, strlen(line), &j) == 0, "%s: %s",
            brl_last_error(), line);
  static const char *fields[] = {"env",
                                 "algo",
                                 "seed",
                                 "timesteps",
                                 "wall_s",
                                 "trees",
                                 "eval_mean_return",
                                 "eval_std_return",
                                 "eval_episodes"};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    CHECK_MSG(brl_kv_get(j, fields[i]) != NULL, "missing %s", fields[i]);
  if (j) {
    CHECK(strcmp(brl_kv_get(j, "env"), "CartPole-v1") == 0);
    CHECK(strcmp(brl_kv_get(j, "algo"), "ppo") == 0);
    CHECK(strcmp(brl_kv_get(j, "seed"), "5") == 0); /* from the file */
    CHECK(atoll(brl_kv_get(j, "timesteps")) == 4096);
    CHECK(atoi(brl_kv_get(j, "eval_episodes")) == 5);
    CHECK(atoi(brl_kv_get(j, "trees")) > 0);
  }
  brl_kv_free(&j);
  CHECK(exists(run_dir, "model.brl") && exists(run_dir, "best_model.brl") &&
        exists(run_dir, "progress.csv") && exists(run_dir, "curve.svg") &&
        exists(run_dir, "config.json"));
  snprintf(path, sizeof path, "%s/config.json", run_dir);
  CHECK(brl_kv_load_json(path, &j) == 0);
  if (j) {
    CHECK(strcmp(brl_kv_get(j, "n_steps"), "32") == 0);
    CHECK(strcmp(brl_kv_get(j, "batch_size"), "64") == 0);
    CHECK(strcmp(brl_kv_get(j, "env"), "CartPole-v1") == 0);
    CHECK(strcmp(brl_kv_get(j, "n_timesteps"), "4000") == 0);
  }
  brl_kv_free(&j);
  /* One CSV row per rollout (4096 / 256) plus the header. */
  snprintf(path, sizeof path, "%s/progress.csv", run_dir);
  f = fopen(path, "r");
  int lines = 0, c;
  while (f && (c = fgetc(f)) != EOF)
    lines += c == '\n';
  if (f)
    fclose(f);
  CHECK_MSG(lines == 17, "progress.csv has %d lines", lines);

  /* eval of the run directory (env from its config.json). */
  snprintf(args, sizeof args, "eval %s --episodes 7 --json", run_dir);
  CHECK(run(args, out, sizeof out, 0) == 0);
  line = last_line(out);
  CHECK_MSG(brl_kv_parse_json(line, strlen(line), &j) == 0, "%s", line);
  if (j) {
    CHECK(atoi(brl_kv_get(j, "eval_episodes")) == 7);
    CHECK(isfinite(atof(brl_kv_get(j, "eval_mean_return"))));
  }
  brl_kv_free(&j);
  snprintf(args, sizeof args, "eval %s/model.brl --env Acrobot-v1", run_dir);
  CHECK(run(args, out, sizeof out, 1) == 1); /* wrong env */

  /* Resume to a larger total, appending to the CSV. */
  snprintf(args, sizeof args,
           "train --resume %s --timesteps 6000 --eval-episodes 3 --json",
           run_dir);
  CHECK(run(args, out, sizeof out, 0) == 0);
  line = last_line(out);
  CHECK_MSG(brl_kv_parse_json(line, strlen(line), &j) == 0, "%s", line);
  if (j) {
    CHECK(atoll(brl_kv_get(j, "timesteps")) == 6144);
    CHECK(strcmp(brl_kv_get(j, "seed"), "5") == 0);
  }
  brl_kv_free(&j);
  snprintf(args, sizeof args, "train --resume %s --set gamma=0.9", run_dir);
  CHECK(run(args, out, sizeof out, 1) == 1);
}

/* A run trained to 2,048 steps and resumed to 4,096 grows the same trees as
 * a run trained to 4,096 at once: the saved episodes (env.brl) continue. */
static void test_resume_exact(void) {
  char args[1024], out[8192], a[600], b[600];
  const char *names[2] = {"halves", "whole"};
  for (int i = 0; i < 2; i++) {
    snprintf(args, sizeof args,
             "train CartPole-v1 --seed 9 --timesteps %d --out %s/%s "
             "--set n_envs=4 --eval-episodes 1 --json",
             i == 0 ? 2048 : 4096, dir, names[i]);
    CHECK(run(args, out, sizeof out, 0) == 0);
  }
  CHECK(exists(dir, "halves/env.brl"));
  snprintf(args, sizeof args,
           "train --resume %s/halves --timesteps 4096 --eval-episodes 1 --json",
           dir);
  CHECK(run(args, out, sizeof out, 0) == 0);
  for (int i = 0; i < 2; i++) {
    snprintf(args, sizeof args,
             "dump %s/%s/model.brl --format json --out %s/%s.json", dir,
             names[i], dir, names[i]);
    CHECK(run(args, out, sizeof out, 0) == 0);
  }
  snprintf(a, sizeof a, "%s/halves.json", dir);
  snprintf(b, sizeof b, "%s/whole.json", dir);
  char *ja = brl_test_read_file(a, NULL), *jb = brl_test_read_file(b, NULL);
  CHECK(ja && jb && strlen(ja) > 1000 && strcmp(ja, jb) == 0);
  free(ja);
  free(jb);
  /* A corrupt env.brl stops the resume with a message. */
  snprintf(a, sizeof a, "%s/halves/env.brl", dir);
  FILE *f = fopen(a, "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, 20, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
  }
  snprintf(args, sizeof args, "train --resume %s/halves --timesteps 8192", dir);
  CHECK(run(args, out, sizeof out, 1) == 1);
  CHECK(strstr(out, "env.brl") != NULL);
}

/* Ctrl-C during training saves the agent and reports it. */
static void test_sigint(void) {
  char run_dir[512], out_path[600];
  snprintf(run_dir, sizeof run_dir, "%s/intr", dir);
  snprintf(out_path, sizeof out_path, "%s/intr.out", dir);
  pid_t pid = fork();
  if (pid == 0) {
    FILE *o = freopen(out_path, "w", stdout);
    (void)o;
    FILE *e = freopen("/dev/null", "w", stderr);
    (void)e;
    execl(bin, bin, "train", "CartPole-v1", "--timesteps", "100000000", "--out",
          run_dir, "--json", (char *)NULL);
    _exit(127);
  }
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  /* Wait until training is under way (the CSV has rows), then Ctrl-C. */
  char csv[600];
  snprintf(csv, sizeof csv, "%s/progress.csv", run_dir);
  for (int i = 0; i < 200; i++) {
    struct stat sb;
    if (stat(csv, &sb) == 0 && sb.st_size > 400)
      break;
    nanosleep(&(struct timespec){0, 50000000}, NULL);
  }
  kill(pid, SIGINT);
  int st;
  waitpid(pid, &st, 0);
  CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 130, "status %d", st);
  CHECK(exists(run_dir, "model.brl"));
  static char out[8192];
  FILE *f = fopen(out_path, "r");
  size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
  out[n] = '\0';
  if (f)
    fclose(f);
  CHECK_MSG(strstr(out, "\"interrupted\":true") != NULL, "%s", out);
}

/* The MODEL prologue that eval, compress, explain, dump and export share
 * (cli_open_model): a bare model where an agent is needed is a usage error
 * naming it, the env comes from --env or the run's config.json, and every
 * command reads a run directory, an agent file or a model JSON file. */
static void test_model_prologue(void) {
  static char out[1 << 16];
  char args[2048], run_dir[512], json[600];
  snprintf(run_dir, sizeof run_dir, "%s/run", dir); /* from train_eval */
  snprintf(json, sizeof json, "%s/model.json", dir);
  snprintf(args, sizeof args, "dump %s --format json --out %s", run_dir, json);
  CHECK(run(args, out, sizeof out, 1) == 0);
  static const char *const need_agent[] = {
      "eval %s --env CartPole-v1", "explain %s --env CartPole-v1",
      "compress %s --env CartPole-v1 --trees 4 --out /dev/null"};
  for (int i = 0; i < 3; i++) {
    snprintf(args, sizeof args, need_agent[i], json);
    CHECK_MSG(run(args, out, sizeof out, 1) == 2, "%s: %s", args, out);
    CHECK_MSG(strstr(out, "is a bare model") && strstr(out, "agent file"),
              "%s: %s", args, out);
  }
  /* No --env and no config.json next to the file. */
  snprintf(args, sizeof args, "eval %s", json);
  CHECK(run(args, out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "--env") != NULL, "%s", out);
  /* A model JSON file serves dump and export; a run directory serves all. */
  snprintf(args, sizeof args, "dump %s --trees 0:1", json);
  CHECK(run(args, out, sizeof out, 1) == 0);
  snprintf(args, sizeof args, "export %s --out %s/exp --no-compile", json, dir);
  CHECK_MSG(run(args, out, sizeof out, 1) == 0, "%s", out);
  snprintf(args, sizeof args, "eval %s --episodes 1 --threads 1", run_dir);
  CHECK_MSG(run(args, out, sizeof out, 1) == 0, "%s", out);
  snprintf(args, sizeof args, "eval %s/nothing-here", dir);
  CHECK(run(args, out, sizeof out, 1) == 1);
  CHECK_MSG(strstr(out, "nothing-here") != NULL, "%s", out);
}

int main(int argc, char **argv) {
  (void)argc;
  if (brl_test_find_cli(argv[0], bin, sizeof bin) != 0) {
    printf("test_cli: %s not built, skipping the command's tests\n", bin);
    return brl_test_report("test_cli");
  }
  snprintf(dir, sizeof dir, "/tmp/brl_test_cli_%ld", (long)getpid());
  mkdir(dir, 0777);
  test_help_and_envs();
  test_errors();
  test_device();
  test_train_eval_resume();
  test_model_prologue();
  test_resume_exact();
  test_sigint();
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  return brl_test_report("test_cli");
}
