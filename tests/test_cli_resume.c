/* Run directories of `boostrl train` and --resume, end to end:
 *  - exact resume, for every algorithm with and without reward scaling, on
 *    discrete and continuous envs: N steps at once, and N/2 (--stop-at) then
 *    --resume to N, give the same model.brl, env.brl and progress.csv rows
 *    (but the wall-clock columns), and the same curve.svg;
 *  - a resume to a larger --timesteps continues the episodes and the reward
 *    scaler's running returns;
 *  - interrupted saves and logs: torn or later CSV rows are dropped on
 *    resume, a save stopped between its renames is completed;
 *  - nothing is written before every file of the run is read (corrupt
 *    env.brl);
 *  - an existing run directory is refused without --force; long paths are
 *    used whole or refused;
 *  - eval on an env of another shape fails before acting; messages. */
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

static char *slurp(const char *d, const char *name, size_t *len) {
  char p[8192];
  snprintf(p, sizeof p, "%s/%s", d, name);
  return brl_test_read_file(p, len);
}

/* 1 when d/name holds the same bytes in both directories. */
static int same_file(const char *a, const char *b, const char *name) {
  size_t la = 0, lb = 0;
  char *x = slurp(a, name, &la), *y = slurp(b, name, &lb);
  int same = x && y && la == lb && la > 0 && memcmp(x, y, la) == 0;
  free(x);
  free(y);
  return same;
}

/* Columns of progress.csv that hold wall-clock measures. */
static int wall_column(int k) { return k == 16 || k == 17; /* fps, train_s */ }

/* Counts the rows of a progress.csv (after the header) and checks that
 * every one has 19 fields and rising timesteps. */
static int csv_rows_ok(const char *text, int *rows) {
  *rows = 0;
  const char *p = strchr(text, '\n');
  if (!p)
    return 0;
  long long last = -1;
  for (p++; *p;) {
    const char *nl = strchr(p, '\n');
    if (!nl)
      return 0; /* a torn last line */
    int fields = 1;
    for (const char *q = p; q < nl; q++)
      fields += *q == ',';
    long long ts = atoll(p);
    if (fields != 19 || ts <= last)
      return 0;
    last = ts;
    (*rows)++;
    p = nl + 1;
  }
  return 1;
}

/* 1 when the CSVs have the same lines, comparing every column but the
 * wall-clock ones. */
static int same_csv(const char *a, const char *b) {
  char *x = slurp(a, "progress.csv", NULL), *y = slurp(b, "progress.csv", NULL);
  int same = x && y;
  const char *p = x, *q = y;
  int col = 0;
  while (same && *p && *q) {
    const char *pe = p + strcspn(p, ",\n"), *qe = q + strcspn(q, ",\n");
    if (!wall_column(col) &&
        (pe - p != qe - q || memcmp(p, q, (size_t)(pe - p))))
      same = 0;
    if (*pe != *qe)
      same = 0;
    col = *pe == '\n' ? 0 : col + 1;
    p = *pe ? pe + 1 : pe;
    q = *qe ? qe + 1 : qe;
  }
  same = same && !*p && !*q;
  free(x);
  free(y);
  return same;
}

typedef struct family {
  const char *env, *algo, *sets;
} family;

/* Small runs of every algorithm: the episodes are in progress at the
 * stop, and the replay buffers (AWR, DQN) hold transitions and train. */
#define OFF_POLICY                                                             \
  "--set n_envs=4 --set train_freq=16 --set learning_starts=64 "               \
  "--set gradient_steps=16 --set buffer_size=512 --set batch_size=32"
static const family families[] = {
    {"CartPole-v1", "ppo", "--set n_envs=4 --set n_steps=32"},
    {"CartPole-v1", "ppo",
     "--set n_envs=4 --set n_steps=32 --set normalize_reward=true"},
    {"CartPole-v1", "a2c",
     "--set n_envs=4 --set n_steps=16 --set normalize_reward=true"},
    {"CartPole-v1", "awr", OFF_POLICY},
    {"CartPole-v1", "dqn", OFF_POLICY},
    {"Acrobot-v1", "dqn", OFF_POLICY " --set normalize_reward=true"},
    {"Pendulum-v1", "ppo",
     "--set n_envs=4 --set n_steps=32 --set normalize_reward=true"},
    {"Pendulum-v1", "a2c",
     "--set n_envs=4 --set n_steps=16 --set normalize_reward=false"},
    {"Pendulum-v1", "awr", OFF_POLICY " --set normalize_reward=true"},
    {"MountainCarContinuous-v0", "ppo", "--set n_envs=4 --set n_steps=32"},
};

/* Trains fam to `steps` in dir/name (--stop-at stop when stop > 0). */
static int train(const family *f, const char *name, int steps, int stop,
                 const char *extra) {
  char args[2048], out[8192], stop_s[64] = "";
  if (stop > 0)
    snprintf(stop_s, sizeof stop_s, "--stop-at %d", stop);
  snprintf(args, sizeof args,
           "train %s --algo %s %s --seed 3 --timesteps %d %s --out %s/%s "
           "--eval-episodes 0 %s",
           f->env, f->algo, f->sets, steps, stop_s, dir, name, extra);
  int rc = run(args, out, sizeof out, 1);
  CHECK_MSG(rc == 0, "%s -> %d: %s", args, rc, out);
  return rc;
}

static int resume(const char *name, const char *extra) {
  char args[2048], out[8192];
  snprintf(args, sizeof args, "train --resume %s/%s --eval-episodes 0 %s", dir,
           name, extra);
  int rc = run(args, out, sizeof out, 1);
  CHECK_MSG(rc == 0, "%s -> %d: %s", args, rc, out);
  return rc;
}

static void check_same_run(const char *what, const char *a, const char *b) {
  CHECK_MSG(same_file(a, b, "model.brl"), "%s: model.brl differs", what);
  CHECK_MSG(same_file(a, b, "env.brl"), "%s: env.brl differs", what);
  CHECK_MSG(same_csv(a, b), "%s: progress.csv rows differ", what);
  CHECK_MSG(same_file(a, b, "curve.svg"), "%s: curve.svg differs", what);
  char *t = slurp(b, "progress.csv", NULL);
  int rows = 0;
  CHECK_MSG(t && csv_rows_ok(t, &rows) && rows > 2, "%s: %d rows", what, rows);
  free(t);
}

/* N at once vs N/2 (--stop-at), then --resume to N. */
static void test_exact_resume(void) {
  const int N = 1024;
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
    const family *f = &families[i];
    char whole[512], halves[512], what[256];
    snprintf(what, sizeof what, "%s %s %s", f->env, f->algo, f->sets);
    snprintf(whole, sizeof whole, "%s/w%zu", dir, i);
    snprintf(halves, sizeof halves, "%s/h%zu", dir, i);
    char wn[32], hn[32];
    snprintf(wn, sizeof wn, "w%zu", i);
    snprintf(hn, sizeof hn, "h%zu", i);
    if (train(f, wn, N, 0, "") || train(f, hn, N, N / 2, ""))
      continue;
    /* The stopped run holds half the rows. */
    char *t = slurp(halves, "progress.csv", NULL),
         *w = slurp(whole, "progress.csv", NULL);
    int rows_h = 0, rows_w = 0;
    CHECK(t && w && csv_rows_ok(t, &rows_h) && csv_rows_ok(w, &rows_w));
    CHECK_MSG(rows_h > 0 && rows_h < rows_w, "%s: %d of %d rows", what, rows_h,
              rows_w);
    free(t);
    free(w);
    if (resume(hn, ""))
      continue;
    check_same_run(what, whole, halves);
  }
}

/* A resume to a larger --timesteps (no schedule depends on it here)
 * continues the episodes and the reward scaler: the same run as one of
 * the larger total. */
static void test_resume_extend(void) {
  const family f = {"CartPole-v1", "ppo",
                    "--set n_envs=4 --set n_steps=32 "
                    "--set normalize_reward=true"};
  if (train(&f, "ext_whole", 2048, 0, "") || train(&f, "ext", 1024, 0, ""))
    return;
  if (resume("ext", "--timesteps 2048"))
    return;
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/ext_whole", dir);
  snprintf(b, sizeof b, "%s/ext", dir);
  /* The agent files differ in the recorded n_timesteps: the trees agree. */
  char args[2048], out[8192];
  for (int i = 0; i < 2; i++) {
    snprintf(args, sizeof args,
             "dump %s/model.brl --format json --out %s/t.json", i ? b : a,
             i ? b : a);
    CHECK(run(args, out, sizeof out, 1) == 0);
  }
  CHECK_MSG(same_file(a, b, "t.json"), "extended: the trees differ");
  CHECK_MSG(same_file(a, b, "env.brl"), "extended: env.brl differs");
  CHECK_MSG(same_csv(a, b), "extended: progress.csv rows differ");
}

static void write_text(const char *d, const char *name, const char *text,
                       const char *mode) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", d, name);
  FILE *fp = fopen(p, mode);
  CHECK(fp != NULL);
  if (fp) {
    fputs(text, fp);
    fclose(fp);
  }
}

static void copy_file(const char *from_dir, const char *from,
                      const char *to_dir, const char *to) {
  size_t n = 0;
  char *buf = slurp(from_dir, from, &n);
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", to_dir, to);
  FILE *fp = fopen(p, "wb");
  CHECK(buf && fp);
  if (buf && fp)
    fwrite(buf, 1, n, fp);
  if (fp)
    fclose(fp);
  free(buf);
}

/* What a SIGKILL leaves: rows after the checkpoint, a torn row; and a
 * checkpoint whose model.brl was not renamed yet. A resume gives the run
 * that was never stopped. */
static void test_interrupted_logs(void) {
  const family *f = &families[4]; /* DQN on CartPole */
  const int N = 1024;
  char whole[512], h[512], older[512];
  snprintf(whole, sizeof whole, "%s/w4", dir); /* from test_exact_resume */
  snprintf(h, sizeof h, "%s/kill", dir);
  snprintf(older, sizeof older, "%s/kill_old", dir);
  if (train(f, "kill_old", N, N / 4, "") || train(f, "kill", N, N / 2, ""))
    return;
  /* Rows a killed run wrote after its last save, then a torn one. */
  char *t = slurp(whole, "progress.csv", NULL);
  int rows = 0;
  if (t && csv_rows_ok(t, &rows)) {
    /* The whole run's rows past the middle, and half of the next. */
    const char *p = t;
    for (int k = 0; k <= rows / 2 + 2 && p; k++)
      p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    if (p) {
      char extra[4096];
      snprintf(extra, sizeof extra, "%.*s", (int)(strlen(p) / 2), p);
      write_text(h, "progress.csv", extra, "a");
    }
  }
  free(t);
  /* A save stopped between renaming env.brl and model.brl: the new agent
   * in model.brl.tmp, an older one in model.brl. */
  char from[1024], to[1024];
  snprintf(from, sizeof from, "%s/model.brl", h);
  snprintf(to, sizeof to, "%s/model.brl.tmp", h);
  CHECK(rename(from, to) == 0);
  copy_file(older, "model.brl", h, "model.brl");
  if (resume("kill", ""))
    return;
  check_same_run("after a kill", whole, h);
  struct stat sb;
  CHECK(stat(to, &sb) != 0); /* completed */
}

/* SIGINT, then SIGKILL a few milliseconds later, at whatever point of the
 * run; then --resume to the end: the run that was never stopped. */
static void test_sigint_sigkill(void) {
  const family *f = &families[0];
  const int N = 16384;
  if (train(f, "sig_whole", N, 0, "") || train(f, "sig", N, 1024, ""))
    return;
  for (int round = 0; round < 3; round++) {
    char d[512];
    snprintf(d, sizeof d, "%s/sig", dir);
    pid_t pid = fork();
    if (pid == 0) {
      FILE *o = freopen("/dev/null", "w", stdout);
      FILE *e = freopen("/dev/null", "w", stderr);
      (void)o;
      (void)e;
      execl(bin, bin, "train", "--resume", d, "--eval-episodes", "0",
            (char *)NULL);
      _exit(127);
    }
    CHECK(pid > 0);
    if (pid <= 0)
      return;
    nanosleep(&(struct timespec){0, 4000000L + 3000000L * round}, NULL);
    kill(pid, SIGINT);
    nanosleep(&(struct timespec){0, 2000000L * (round + 1)}, NULL);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    char *t = slurp(d, "progress.csv", NULL);
    CHECK(t != NULL);
    free(t);
  }
  if (resume("sig", ""))
    return;
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/sig_whole", dir);
  snprintf(b, sizeof b, "%s/sig", dir);
  check_same_run("after SIGINT and SIGKILL", a, b);
}

/* A corrupt env.brl stops --resume before any file is written. */
static void test_resume_writes_nothing_on_error(void) {
  const family *f = &families[0];
  if (train(f, "corrupt", 512, 0, ""))
    return;
  char d[512];
  snprintf(d, sizeof d, "%s/corrupt", dir);
  size_t ncfg = 0, ncsv = 0;
  char *cfg = slurp(d, "config.json", &ncfg),
       *csv = slurp(d, "progress.csv", &ncsv);
  char p[1024];
  snprintf(p, sizeof p, "%s/env.brl", d);
  FILE *fp = fopen(p, "r+b");
  CHECK(fp != NULL);
  if (fp) {
    fseek(fp, 20, SEEK_SET);
    fputc(0x5a, fp);
    fclose(fp);
  }
  char args[1024], out[8192];
  snprintf(args, sizeof args, "train --resume %s --timesteps 2048", d);
  CHECK(run(args, out, sizeof out, 1) == 1);
  CHECK_MSG(strstr(out, "env.brl") != NULL, "%s", out);
  size_t n2 = 0, n3 = 0;
  char *cfg2 = slurp(d, "config.json", &n2),
       *csv2 = slurp(d, "progress.csv", &n3);
  CHECK_MSG(cfg && cfg2 && n2 == ncfg && !memcmp(cfg, cfg2, ncfg),
            "config.json was rewritten");
  CHECK_MSG(csv && csv2 && n3 == ncsv && !memcmp(csv, csv2, ncsv),
            "progress.csv was rewritten");
  free(cfg);
  free(cfg2);
  free(csv);
  free(csv2);
}

/* A config.json naming another env than the agent's (in a run without
 * env.brl): refused before anything is written. */
static void test_resume_other_env(void) {
  const family *f = &families[0];
  if (train(f, "swap", 512, 0, ""))
    return;
  char d[512], p[1024], args[1024], out[8192];
  snprintf(d, sizeof d, "%s/swap", dir);
  snprintf(p, sizeof p, "%s/env.brl", d);
  CHECK(remove(p) == 0);
  size_t n = 0, ncsv = 0, n2 = 0;
  char *text = slurp(d, "config.json", &n),
       *csv = slurp(d, "progress.csv", &ncsv);
  char *at = text ? strstr(text, "CartPole-v1") : NULL;
  CHECK(at != NULL);
  if (at) {
    char fixed[16384];
    snprintf(fixed, sizeof fixed, "%.*sAcrobot-v1%s", (int)(at - text), text,
             at + strlen("CartPole-v1"));
    write_text(d, "config.json", fixed, "w");
    snprintf(args, sizeof args, "train --resume %s --timesteps 4096", d);
    CHECK(run(args, out, sizeof out, 1) == 1);
    CHECK_MSG(strstr(out, "Acrobot-v1") && strstr(out, "6") && strstr(out, "4"),
              "%s", out);
    char *cfg2 = slurp(d, "config.json", &n2);
    CHECK_MSG(cfg2 && !strcmp(cfg2, fixed), "config.json was rewritten");
    free(cfg2);
    char *csv2 = slurp(d, "progress.csv", &n2);
    CHECK_MSG(csv && csv2 && n2 == ncsv && !memcmp(csv, csv2, ncsv),
              "progress.csv was rewritten");
    free(csv2);
  }
  free(text);
  free(csv);
}

/* An existing run is not replaced without --force. */
static void test_existing_run_dir(void) {
  const family *f = &families[0];
  if (train(f, "exist", 1024, 0, ""))
    return;
  char d[512], args[1024], out[8192];
  snprintf(d, sizeof d, "%s/exist", dir);
  size_t n = 0;
  char *before = slurp(d, "model.brl", &n);
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 128 --eval-episodes 0 --out %s", d);
  CHECK(run(args, out, sizeof out, 1) == 1);
  CHECK_MSG(strstr(out, "already holds a run") && strstr(out, "--force") &&
                strstr(out, "--resume"),
            "%s", out);
  size_t n2 = 0;
  char *after = slurp(d, "model.brl", &n2);
  CHECK(before && after && n == n2 && !memcmp(before, after, n));
  free(after);
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 128 --eval-episodes 0 --out %s "
           "--force",
           d);
  CHECK_MSG(run(args, out, sizeof out, 1) == 0, "%s", out);
  after = slurp(d, "model.brl", &n2);
  CHECK(after && (n2 != n || memcmp(before, after, n)));
  free(after);
  free(before);
  /* An empty directory is fine. */
  snprintf(d, sizeof d, "%s/empty", dir);
  mkdir(d, 0777);
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 128 --eval-episodes 0 --out %s", d);
  CHECK_MSG(run(args, out, sizeof out, 1) == 0, "%s", out);
}

/* --out of 1,119 bytes is used whole; one past the limit is refused. */
static void test_long_paths(void) {
  char d[8192], args[16384];
  static char out[16384];
  snprintf(d, sizeof d, "%s", dir);
  while (strlen(d) < 1000) {
    strcat(d, "/");
    for (int i = 0; i < 100; i++)
      strcat(d, "p");
    mkdir(d, 0777);
  }
  size_t len = strlen(d);
  strcat(d, "/");
  for (size_t i = len + 1; i < 1119; i++)
    strcat(d, "r");
  CHECK(strlen(d) == 1119);
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 128 --eval-episodes 0 --out %s", d);
  CHECK_MSG(run(args, out, sizeof out, 1) == 0, "%s", out);
  char p[8300];
  snprintf(p, sizeof p, "%s/model.brl", d);
  struct stat sb;
  CHECK_MSG(stat(p, &sb) == 0, "no model.brl at the 1,119-byte path");
  snprintf(args, sizeof args, "eval %s --episodes 1", d);
  CHECK_MSG(run(args, out, sizeof out, 1) == 0, "%s", out);
  /* 5,000 bytes: refused with the reason, nothing written. */
  char big[5100];
  snprintf(big, sizeof big, "%s/", dir);
  while (strlen(big) < 5000)
    strcat(big, "q");
  snprintf(args, sizeof args,
           "train CartPole-v1 --timesteps 128 --eval-episodes 0 --out %s", big);
  CHECK(run(args, out, sizeof out, 1) == 1);
  CHECK_MSG(strstr(out, "bytes") != NULL, "%s", out);
  snprintf(args, sizeof args, "eval %s --episodes 1", big);
  CHECK(run(args, out, sizeof out, 1) != 0);
}

/* eval on an env of another observation shape fails before acting, and
 * the library says so too. */
static void test_eval_other_env(void) {
  const family *f = &families[0];
  if (train(f, "shape", 256, 0, ""))
    return;
  static const char *envs[] = {"MountainCar-v0", "Pendulum-v1"};
  static const char *dims[] = {"2", "3"};
  for (int i = 0; i < 2; i++) {
    char args[1024], out[8192];
    snprintf(args, sizeof args, "eval %s/shape --env %s --episodes 2", dir,
             envs[i]);
    CHECK(run(args, out, sizeof out, 1) == 1);
    CHECK_MSG(strstr(out, envs[i]) && strstr(out, dims[i]) && strstr(out, "4"),
              "%s", out);
  }
  char p[1024];
  snprintf(p, sizeof p, "%s/shape/model.brl", dir);
  brl_agent *a = NULL;
  brl_env *env = NULL;
  CHECK_OK(brl_agent_load(p, &a));
  CHECK_OK(brl_env_make("MountainCar-v0", 1, 0, &env));
  if (a && env) {
    CHECK(brl_agent_check_env(a, env) == BRL_EINVAL);
    CHECK_MSG(strstr(brl_last_error(), "2") && strstr(brl_last_error(), "4"),
              "%s", brl_last_error());
    brl_eval_result ev;
    CHECK(brl_agent_evaluate(a, env, 1, &ev, NULL) == BRL_EINVAL);
  }
  brl_env_free(&env);
  CHECK_OK(brl_env_make("CartPole-v1", 2, 0, &env));
  if (a && env)
    CHECK_OK(brl_agent_check_env(a, env));
  brl_env_free(&env);
  brl_agent_free(&a);
}

/* The messages say what happened and what to do, in the command's terms. */
static void test_messages(void) {
  static char out[65536];
  char args[2048];
  CHECK(run("train NoSuchEnv-v0 --timesteps 10", out, sizeof out, 1) == 1);
  CHECK_MSG(!strstr(out, "preset") && strstr(out, "NoSuchEnv-v0") &&
                strstr(out, "CartPole-v1"),
            "%s", out);
  snprintf(args, sizeof args, "eval %s/missing.brl", dir);
  CHECK(run(args, out, sizeof out, 1) == 1);
  CHECK_MSG(strstr(out, "No such file") && !strstr(out, "--env"), "%s", out);
  /* A bare model file is not an agent: no C function names. */
  brl_params prm;
  brl_params_default(&prm, 4, 2);
  brl_model *m = NULL;
  char p[1024];
  snprintf(p, sizeof p, "%s/bare.brl", dir);
  CHECK_OK(brl_model_create(&prm, &m));
  CHECK_OK(brl_model_save(m, p));
  brl_model_free(&m);
  snprintf(args, sizeof args, "eval %s --env CartPole-v1 --episodes 1", p);
  CHECK(run(args, out, sizeof out, 1) == 2); /* as explain: a usage error */
  CHECK_MSG(!strstr(out, "()") && strstr(out, "bare model") &&
                strstr(out, "agent file"),
            "%s", out);
  CHECK(run("train CartPole-v1 --eval-every 100 --eval-episodes 0", out,
            sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "--eval-episodes") != NULL, "%s", out);
  CHECK(run("train CartPole-v1 --set bogus=1", out, sizeof out, 1) == 2);
  CHECK_MSG(strstr(out, "bogus") && !strstr(out, "()"), "%s", out);
  /* Rounding to whole rollouts is explained; the files are named. */
  snprintf(args, sizeof args,
           "train CartPole-v1 --set n_envs=4 --set n_steps=32 --timesteps 1000 "
           "--eval-episodes 2 --out %s/msg",
           dir);
  CHECK(run(args, out, sizeof out, 0) == 0);
  CHECK_MSG(strstr(out, "1024 steps (1000 rounded up to whole rollouts of "
                        "n_envs x n_steps = 4 x 32 = 128)"),
            "%s", out);
  static const char *files[] = {"model.brl", "env.brl", "config.json",
                                "progress.csv", "curve.svg"};
  for (int i = 0; i < 5; i++)
    CHECK_MSG(strstr(out, files[i]) != NULL, "%s not named: %s", files[i], out);
  /* The final evaluation is in the last CSV row. */
  char d[512];
  snprintf(d, sizeof d, "%s/msg", dir);
  char *t = slurp(d, "progress.csv", NULL);
  CHECK(t != NULL);
  if (t) {
    size_t n = strlen(t);
    while (n > 0 && t[n - 1] == '\n')
      t[--n] = '\0';
    const char *last = strrchr(t, ',');
    CHECK_MSG(last && last[1] && isfinite(atof(last + 1)), "%s", t);
  }
  free(t);
}

int main(int argc, char **argv) {
  (void)argc;
  if (brl_test_find_cli(argv[0], bin, sizeof bin) != 0) {
    printf("test_cli_resume: %s not built, skipping\n", bin);
    return brl_test_report("test_cli_resume");
  }
  snprintf(dir, sizeof dir, "/tmp/brl_test_cli_resume_%ld", (long)getpid());
  mkdir(dir, 0777);
  test_exact_resume();
  test_resume_extend();
  test_interrupted_logs();
  test_sigint_sigkill();
  test_resume_writes_nothing_on_error();
  test_resume_other_env();
  test_existing_run_dir();
  test_long_paths();
  test_eval_other_env();
  test_messages();
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  return brl_test_report("test_cli_resume");
}
