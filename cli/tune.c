/* `boostrl tune ENV ...`: hyper-parameter tuning with Optuna, which lives in
 * the Python package (boostrl.tune). This command finds a Python that has
 * boostrl and optuna ($BOOSTRL_PYTHON, else python3, else python) and
 * replaces itself with `PYTHON -m boostrl.tune ARGS...`. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit codes of the probe below. */
enum { PROBE_OK = 0, PROBE_NO_BOOSTRL = 3, PROBE_NO_OPTUNA = 4 };

static const char probe_src[] =
    "import sys\n"
    "try:\n import boostrl.tune\nexcept ImportError:\n sys.exit(3)\n"
    "try:\n import optuna\nexcept ImportError:\n sys.exit(4)\n";

static void usage(FILE *f) {
  fprintf(f, "usage: boostrl tune ENV [--algo ppo|a2c|awr|dqn] [--trials N]\n"
             "                    [--timesteps T] [--jobs J] [--storage URL]\n"
             "                    [--study-name NAME] [--out best.json] ...\n\n"
             "Tunes an agent's hyper-parameters with Optuna (TPE sampler, "
             "median pruning);\nruns `PYTHON -m boostrl.tune`, where PYTHON is "
             "$BOOSTRL_PYTHON, else the first\nof python3 and python that has "
             "the boostrl and optuna packages\n(pip install 'boostrl[tune]'). "
             "`python -m boostrl.tune --help` lists every\noption; "
             "docs/PYTHON.md, \"Tuning\", describes them.\n");
}

/* Runs `py -c probe_src` with its output discarded: the PROBE_ code, 127
 * when py cannot be run, another value when it fails otherwise. */
static int probe(const char *py) {
  pid_t pid = fork();
  if (pid < 0)
    return 127;
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) ||
        !freopen("/dev/null", "w", stderr))
      _exit(126);
    execlp(py, py, "-c", probe_src, (char *)NULL);
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return 127;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 126;
}

static void explain(const char *py, int code, int from_env) {
  const char *fix = from_env ? "or point BOOSTRL_PYTHON at a Python 3 that "
                               "has them"
                             : "or set BOOSTRL_PYTHON to a Python 3 that has "
                               "them";
  if (code == 127)
    fprintf(stderr,
            "boostrl tune: cannot run Python '%s'%s: install Python 3 with "
            "boostrl and optuna (pip install 'boostrl[tune]') and set "
            "BOOSTRL_PYTHON to its path\n",
            py, from_env ? " (BOOSTRL_PYTHON)" : "");
  else if (code == PROBE_NO_BOOSTRL)
    fprintf(stderr,
            "boostrl tune: %s has no boostrl package: pip install "
            "'boostrl[tune]' into it (pip install '.[tune]' in the "
            "repository), %s\n",
            py, fix);
  else if (code == PROBE_NO_OPTUNA)
    fprintf(stderr,
            "boostrl tune: %s has boostrl but not optuna: pip install "
            "'optuna>=4.0' (or 'boostrl[tune]') into it, %s\n",
            py, fix);
  else
    fprintf(stderr,
            "boostrl tune: %s failed (exit %d) checking for boostrl and "
            "optuna: %s\n",
            py, code, fix);
}

int cli_tune(int argc, char **argv) {
  const char *env_py = getenv("BOOSTRL_PYTHON");
  const char *py = NULL;
  if (env_py && *env_py) {
    int code = probe(env_py);
    if (code != PROBE_OK) {
      if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
      }
      explain(env_py, code, 1);
      return 1;
    }
    py = env_py;
  } else {
    static const char *const cands[] = {"python3", "python"};
    int first_code = 127;
    for (size_t i = 0; i < sizeof cands / sizeof *cands && !py; i++) {
      int code = probe(cands[i]);
      if (code == PROBE_OK)
        py = cands[i];
      else if (first_code == 127)
        first_code = code;
    }
    if (!py) {
      if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
      }
      explain("python3", first_code, 0);
      return 1;
    }
  }
  /* PYTHON -m boostrl.tune argv[1..] */
  char **args = malloc(((size_t)argc + 3) * sizeof *args);
  if (!args) {
    fprintf(stderr, "boostrl tune: out of memory\n");
    return 1;
  }
  args[0] = (char *)py;
  args[1] = (char *)"-m";
  args[2] = (char *)"boostrl.tune";
  for (int i = 1; i < argc; i++)
    args[i + 2] = argv[i];
  args[argc + 2] = NULL;
  fflush(NULL);
  execvp(py, args);
  fprintf(stderr, "boostrl tune: cannot run %s: %s\n", py, strerror(errno));
  free(args);
  return 1;
}
