/* `boostrl dump --format svg`: the DOT dump drawn by Graphviz's `dot`.
 * Without `dot` on PATH (PATH emptied) the command fails with a message
 * naming Graphviz; with `dot` installed the SVG of two trees names the
 * CartPole features. Exit code 77 (skipped) when the command was not built
 * or Graphviz is not installed, after the error path was checked. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "testlib.h"

int main(int argc, char **argv) {
  (void)argc;
  static char bin[1024], out[1 << 16];
  char dir[256], args[1024], cmd[2048], svg_path[300];
  if (brl_test_find_cli(argv[0], bin, sizeof bin) != 0) {
    printf("test_dump_svg: %s not built, skipping\n", bin);
    return 77;
  }
  snprintf(dir, sizeof dir, "/tmp/brl_test_dump_svg_%ld", (long)getpid());
  mkdir(dir, 0777);
  snprintf(args, sizeof args, "train CartPole-v1 --seed 0 --out %s/run --json",
           dir);
  int rc = brl_test_run_cli(bin, args, out, sizeof out, 1);
  CHECK_MSG(rc == 0, "train -> %d: %s", rc, out);
  /* No Graphviz: an error that names it, and no output file. */
  snprintf(cmd, sizeof cmd,
           "PATH= '%s' dump %s/run --format svg --trees 0:2 --out %s/t.svg "
           "2>&1",
           bin, dir, dir);
  FILE *p = popen(cmd, "r");
  size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[n] = '\0';
  int st = p ? pclose(p) : -1;
  CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, out);
  CHECK_MSG(strstr(out, "Graphviz") && strstr(out, "PATH"), "%s", out);
  snprintf(svg_path, sizeof svg_path, "%s/t.svg", dir);
  CHECK(access(svg_path, F_OK) != 0);
  int skipped = system("command -v dot >/dev/null 2>&1") != 0;
  if (skipped) {
    printf("test_dump_svg: Graphviz `dot` not installed, skipping the "
           "render\n");
  } else {
    snprintf(args, sizeof args, "dump %s/run --format svg --trees 0:2 --out %s",
             dir, svg_path);
    rc = brl_test_run_cli(bin, args, out, sizeof out, 1);
    CHECK_MSG(rc == 0, "dump --format svg -> %d: %s", rc, out);
    char *svg = brl_test_read_file(svg_path, NULL);
    CHECK(svg && strstr(svg, "<svg") && strstr(svg, "</svg>") &&
          strstr(svg, "theta") && strstr(svg, "tree 1"));
    free(svg);
    /* To stdout without --out. */
    snprintf(args, sizeof args, "dump %s/run --format svg --trees 3", dir);
    rc = brl_test_run_cli(bin, args, out, sizeof out, 0);
    CHECK(rc == 0 && strstr(out, "<svg") && strstr(out, "tree 3"));
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  rc = brl_test_report("test_dump_svg");
  return rc == 0 && skipped ? 77 : rc;
}
