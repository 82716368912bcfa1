/* Helpers of the tests that run the `boostrl` command as a child process. */
#ifndef BRL_TEST_CLI_UTIL_H
#define BRL_TEST_CLI_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The boostrl binary next to this test's (argv0); 0 if it is executable. */
static inline int brl_test_find_cli(const char *argv0, char *bin, size_t size) {
  snprintf(bin, size, "%s", argv0);
  char *slash = strrchr(bin, '/');
  if (slash)
    snprintf(slash + 1, size - (size_t)(slash + 1 - bin), "boostrl");
  else
    snprintf(bin, size, "./boostrl");
  return access(bin, X_OK);
}

/* Runs bin with args, capturing stdout (and stderr when err_too) into out
 * (the rest is drained so the child never blocks); returns the exit
 * status. */
static inline int brl_test_run_cli(const char *bin, const char *args, char *out,
                                   size_t size, int err_too) {
  const size_t len = strlen(bin) + strlen(args) + 32;
  char *cmd = malloc(len);
  if (!cmd)
    return -1;
  snprintf(cmd, len, "'%s' %s %s", bin, args, err_too ? "2>&1" : "2>/dev/null");
  FILE *p = popen(cmd, "r");
  free(cmd);
  if (!p)
    return -1;
  size_t n = 0, got;
  while (n + 1 < size && (got = fread(out + n, 1, size - n - 1, p)) > 0)
    n += got;
  out[n] = '\0';
  char drain[4096];
  while (fread(drain, 1, sizeof drain, p) > 0)
    ;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The bytes of a file, NUL-terminated and malloc'd (length in *len when
 * len is not NULL), or NULL. */
static inline char *brl_test_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  long n = -1;
  if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
      (buf = malloc((size_t)n + 1)) &&
      fread(buf, 1, (size_t)n, f) == (size_t)n) {
    buf[n] = '\0';
    if (len)
      *len = (size_t)n;
  } else {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

#endif
