/* `boostrl tune` runs `PYTHON -m boostrl.tune`; where no usable Python is
 * found it says why and what to do, with exit status 1:
 *  - BOOSTRL_PYTHON names no program: "cannot run Python", its path and
 *    BOOSTRL_PYTHON in the message;
 *  - a Python without boostrl (here a script exiting as the probe does):
 *    "has no boostrl package" and the pip command;
 *  - one without optuna: "not optuna";
 *  - a working interpreter gets `-m boostrl.tune` and the arguments, in
 *    order (a script that prints its argv);
 *  - --help works without Python. `boostrl --help` lists the command.
 * The tuning itself is tested in tests/python/test_tune.py. Skipped when
 * the command was not built. */
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
static char dir[256];

static int run(const char *args, char *out, size_t size) {
  return brl_test_run_cli(bin, args, out, size, 1);
}

/* A fake Python: a shell script with `body`, made executable. */
static void fake_python(const char *path, const char *body) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f)
    return;
  fprintf(f, "#!/bin/sh\n%s\n", body);
  fclose(f);
  CHECK(chmod(path, 0755) == 0);
}

static void test_no_python(void) {
  static char out[8192];
  setenv("BOOSTRL_PYTHON", "/nonexistent/python3", 1);
  CHECK(run("tune CartPole-v1 --trials 2", out, sizeof out) == 1);
  CHECK_MSG(strstr(out, "cannot run Python '/nonexistent/python3'") &&
                strstr(out, "BOOSTRL_PYTHON") &&
                strstr(out, "pip install 'boostrl[tune]'"),
            "%s", out);
  /* Usage needs no Python. */
  CHECK(run("tune --help", out, sizeof out) == 0);
  CHECK(strstr(out, "usage: boostrl tune ENV") != NULL);
}

static void test_missing_packages(void) {
  static char out[8192];
  char py[512];
  snprintf(py, sizeof py, "%s/py-no-boostrl", dir);
  fake_python(py, "exit 3");
  setenv("BOOSTRL_PYTHON", py, 1);
  CHECK(run("tune CartPole-v1", out, sizeof out) == 1);
  CHECK_MSG(strstr(out, "has no boostrl package") &&
                strstr(out, "pip install 'boostrl[tune]'"),
            "%s", out);
  snprintf(py, sizeof py, "%s/py-no-optuna", dir);
  fake_python(py, "exit 4");
  setenv("BOOSTRL_PYTHON", py, 1);
  CHECK(run("tune CartPole-v1", out, sizeof out) == 1);
  CHECK_MSG(strstr(out, "but not optuna"), "%s", out);
}

static void test_runs_the_module(void) {
  static char out[8192];
  char py[512];
  snprintf(py, sizeof py, "%s/py-echo", dir);
  /* The probe passes "-c CODE" (exit 0); the real call prints argv. */
  fake_python(py, "[ \"$1\" = -c ] && exit 0\necho \"ARGS: $*\"");
  setenv("BOOSTRL_PYTHON", py, 1);
  CHECK(run("tune Acrobot-v1 --algo dqn --trials 3", out, sizeof out) == 0);
  CHECK_MSG(
      strstr(out, "ARGS: -m boostrl.tune Acrobot-v1 --algo dqn --trials 3"),
      "%s", out);
  CHECK(run("--help", out, sizeof out) == 0);
  CHECK(strstr(out, "tune ENV") != NULL);
}

int main(int argc, char **argv) {
  (void)argc;
  if (brl_test_find_cli(argv[0], bin, sizeof bin) != 0) {
    printf("test_cli_tune: %s not built, skipping\n", bin);
    return brl_test_report("test_cli_tune");
  }
  snprintf(dir, sizeof dir, "/tmp/brl_test_cli_tune_%ld", (long)getpid());
  CHECK(mkdir(dir, 0700) == 0);
  test_no_python();
  test_missing_packages();
  test_runs_the_module();
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
  return brl_test_report("test_cli_tune");
}
