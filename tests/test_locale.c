/* Numbers as text under a comma-decimal locale (de_DE.UTF-8, set the way a
 * host program does: setlocale(LC_ALL, ...)): every preset loads, agent
 * configurations print and parse with '.', an agent file saved under the
 * locale has '.' decimals and loads to the same bytes in both locales, JSON
 * models, text prints and exported C are byte-identical to the "C" locale's
 * and round-trip exactly, and error messages print '.' decimals. The host's
 * locale is left as it was.
 *
 * The locale comes from the system, or is compiled here with
 * `localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8` (DIR in the working
 * directory, used through LOCPATH); without one the test reports SKIPPED
 * (exit code 77). */
#define _POSIX_C_SOURCE 200809L
#include "testlib.h"
#include "util.h"

#include "core/container.h"

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SKIPPED 77

static char de_name[64];

static int is_comma_locale(const char *name) {
  if (!setlocale(LC_ALL, name))
    return 0;
  char buf[16];
  snprintf(buf, sizeof buf, "%g", 0.5);
  if (strcmp(buf, "0,5") != 0) {
    setlocale(LC_ALL, "C");
    return 0;
  }
  snprintf(de_name, sizeof de_name, "%s", name);
  return 1;
}

/* Switches the process to a comma-decimal locale; 0 if none can be had. */
static int enter_comma_locale(void) {
  static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8",
                                      "fr_FR.UTF-8", "fr_FR.utf8"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (is_comma_locale(names[i]))
      return 1;
  char dir[4096];
  if (!getcwd(dir, sizeof dir - 64))
    return 0;
  strcat(dir, "/test_locale.d");
  if (strchr(dir, '\''))
    return 0;
  /* Compiled once per build directory. (Not looked up before it exists:
   * glibc remembers a locale that it failed to load.) */
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/de_DE.UTF-8/LC_NUMERIC", dir);
  if (access(probe, R_OK) != 0) {
    mkdir(dir, 0777);
    char cmd[4300];
    snprintf(cmd, sizeof cmd,
             "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
             dir);
    if (system(cmd) == -1)
      return 0;
  }
  setenv("LOCPATH", dir, 1);
  return is_comma_locale("de_DE.UTF-8");
}

static void to_c(void) { setlocale(LC_ALL, "C"); }
static void to_de(void) { setlocale(LC_ALL, de_name); }

/* The host's locale is untouched by the library's calls. */
static void check_host_locale(const char *after) {
  char buf[16];
  snprintf(buf, sizeof buf, "%g", 0.25);
  CHECK_MSG(strcmp(buf, "0,25") == 0, "after %s the host prints %s", after,
            buf);
}

/* Applies one preset row's settings key by key. */
static void check_preset_row(int i) {
  brl_agent_preset row;
  CHECK_OK(brl_agent_preset_get(i, &row));
  brl_agent_config c;
  brl_agent_config_default(&c, row.algo);
  char s[1024];
  snprintf(s, sizeof s, "%s", row.settings);
  int ok = 1;
  for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    if (!eq)
      continue;
    *eq = '\0';
    if (brl_agent_config_set(&c, tok, eq + 1) != BRL_OK) {
      ok = 0;
      fprintf(stderr, "preset %d (%s): %s\n", i, row.env, brl_last_error());
    }
  }
  CHECK_MSG(ok, "preset row %d (%s, %s) does not load", i, row.env,
            brl_algo_name(row.algo));
  CHECK_OK(brl_agent_config_check(&c));
}

static void test_presets(void) {
  int n = brl_agent_preset_count();
  CHECK(n > 0);
  for (int i = 0; i < n; i++)
    check_preset_row(i);
  const char *envs[] = {"CartPole-v1", "Pendulum-v1", "MountainCar-v0",
                        "Acrobot-v1", "MountainCarContinuous-v0"};
  const brl_algo algos[] = {BRL_ALGO_PPO, BRL_ALGO_A2C, BRL_ALGO_AWR,
                            BRL_ALGO_DQN};
  for (int e = 0; e < 5; e++)
    for (int a = 0; a < 4; a++) {
      brl_agent_config c;
      int found = 0;
      CHECK_MSG(
          brl_agent_config_preset(&c, envs[e], algos[a], &found) == BRL_OK,
          "%s %s: %s", envs[e], brl_algo_name(algos[a]), brl_last_error());
    }
  check_host_locale("the presets");
}

static void test_config_text(void) {
  brl_agent_config c;
  brl_agent_config_default(&c, BRL_ALGO_PPO);
  char v[64];
  CHECK_OK(brl_agent_config_set(&c, "gamma", "0.995"));
  CHECK(c.gamma == 0.995);
  CHECK_OK(brl_agent_config_get(&c, "gamma", v, sizeof v));
  CHECK_MSG(strcmp(v, "0.995") == 0, "gamma reads '%s'", v);
  CHECK_OK(brl_agent_config_set(&c, "policy_lr", "1e-3"));
  CHECK_OK(brl_agent_config_get(&c, "policy_lr", v, sizeof v));
  CHECK_MSG(strcmp(v, "0.001") == 0, "policy_lr reads '%s'", v);
  /* The syntax is the same in every locale: a comma is not a decimal. */
  CHECK(brl_agent_config_set(&c, "gamma", "0,5") == BRL_EINVAL);
  CHECK(c.gamma == 0.995);
  /* Error messages print '.' decimals too. */
  CHECK(brl_agent_config_set(&c, "gamma", "1.5") == BRL_EINVAL);
  CHECK_MSG(strstr(brl_last_error(), "gamma = 1.5 is out of range") != NULL,
            "'%s'", brl_last_error());
  /* Every double key round-trips exactly through get -> set. */
  c.vf_coef = 0.1 + 0.2;
  CHECK_OK(brl_agent_config_get(&c, "vf_coef", v, sizeof v));
  brl_agent_config d = c;
  d.vf_coef = 0;
  CHECK_OK(brl_agent_config_set(&d, "vf_coef", v));
  CHECK_MSG(d.vf_coef == c.vf_coef, "vf_coef %s does not read back", v);
  check_host_locale("the configuration calls");
}

static brl_agent *cartpole_agent(void) {
  brl_agent_config c;
  CHECK_OK(brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_PPO, NULL));
  c.n_threads = 1;
  brl_env *env = NULL;
  brl_env_spec spec;
  brl_action_space s;
  brl_agent *a = NULL;
  if (brl_env_make("CartPole-v1", c.n_envs, 3, &env) ||
      brl_env_get_spec(env, &spec) || brl_action_space_from_env(&spec, &s) ||
      brl_agent_create(&c, spec.obs_dim, &s, 3, &a) ||
      brl_agent_learn(a, env, (int64_t)c.n_envs * c.n_steps, 1))
    fprintf(stderr, "cartpole agent: %s\n", brl_last_error());
  brl_env_free(&env);
  return a;
}

/* Every line of the configuration chunk is key=value with no ','. */
static void check_config_chunk(const void *buf, size_t len) {
  brl_container ct;
  brl_reader r;
  CHECK_OK(brl__container_open(buf, len, &ct));
  CHECK(brl__container_find(&ct, "AGCF", &r));
  const char *p = (const char *)r.p;
  CHECK(memchr(p, ',', r.len) == NULL);
  int has_gamma = 0;
  for (size_t i = 0; i + 12 <= r.len; i++)
    has_gamma |= memcmp(p + i, "\ngamma=0.99\n", 12) == 0;
  CHECK_MSG(has_gamma, "no line gamma=0.99 in the agent file");
}

static int same(const char *a, size_t la, const char *b, size_t lb);

/* A file of version 0.1.0 saved under the comma locale ("gamma=0,99")
 * loads, in either locale, as the file with '.' does. */
static void check_old_comma_file(const uint8_t *buf, size_t len) {
  uint8_t *c = malloc(len);
  memcpy(c, buf, len);
  int edited = 0;
  for (size_t i = 0; i + 12 <= len && !edited; i++)
    if (memcmp(c + i, "\ngamma=0.99\n", 12) == 0) {
      c[i + 8] = ',';
      edited = 1;
    }
  CHECK(edited);
  uint32_t crc = brl__crc32(c, len - 4);
  for (int i = 0; i < 4; i++)
    c[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1)
      to_c();
    brl_agent *a = NULL;
    void *again = NULL;
    size_t l = 0;
    CHECK_OK(brl_agent_load_buffer(c, len, &a));
    if (a)
      CHECK_OK(brl_agent_save_buffer(a, &again, &l));
    CHECK_MSG(same(again, l, (const char *)buf, len),
              "the 0,99 file does not load as the 0.99 file (pass %d)", pass);
    brl_free(again);
    brl_agent_free(&a);
  }
  to_de();
  free(c);
}

static void test_agent_file(void) {
  brl_agent *a = cartpole_agent();
  CHECK(a != NULL);
  if (!a)
    return;
  void *b1 = NULL, *b2 = NULL, *b3 = NULL;
  size_t l1 = 0, l2 = 0, l3 = 0;
  brl_agent *x = NULL, *y = NULL;
  CHECK_OK(brl_agent_save_buffer(a, &b1, &l1));
  check_config_chunk(b1, l1);
  /* loads here and in the "C" locale, to the same bytes */
  CHECK_OK(brl_agent_load_buffer(b1, l1, &x));
  if (x)
    CHECK_OK(brl_agent_save_buffer(x, &b2, &l2));
  CHECK(l2 == l1 && b2 && memcmp(b1, b2, l1) == 0);
  to_c();
  CHECK_OK(brl_agent_load_buffer(b1, l1, &y));
  if (y)
    CHECK_OK(brl_agent_save_buffer(y, &b3, &l3));
  CHECK(l3 == l1 && b3 && memcmp(b1, b3, l1) == 0);
  to_de();
  check_old_comma_file(b1, l1);
  check_host_locale("the agent files");
  brl_free(b1);
  brl_free(b2);
  brl_free(b3);
  brl_agent_free(&x);
  brl_agent_free(&y);
  brl_agent_free(&a);
}

/* Text outputs of one model: JSON, text and DOT prints, exported C. */
typedef struct texts {
  char *json, *text, *dot, *h, *c;
  size_t lj, lt, ld, lh, lc;
} texts;

static void make_texts(const brl_model *m, texts *t) {
  memset(t, 0, sizeof *t);
  CHECK_OK(brl_model_dump_json(m, &t->json, &t->lj));
  CHECK_OK(brl_model_dump_text(m, 0, -1, NULL, &t->text, &t->lt));
  CHECK_OK(brl_model_dump_dot(m, 0, -1, NULL, &t->dot, &t->ld));
  brl_export_options o;
  brl_export_options_default(&o);
  CHECK_OK(
      brl_model_export_c_buffer(m, &o, &t->h, &t->lh, &t->c, &t->lc, NULL));
}

static void free_texts(texts *t) {
  brl_free(t->json);
  brl_free(t->text);
  brl_free(t->dot);
  brl_free(t->h);
  brl_free(t->c);
}

static int same(const char *a, size_t la, const char *b, size_t lb) {
  return a && b && la == lb && memcmp(a, b, la) == 0;
}

static void test_model_texts(void) {
  brl_rng r;
  brl_rng_seed(&r, 5);
  const int64_t n = 300;
  float *X = rand_matrix(&r, n, 3, 0.0);
  brl_params p;
  brl_params_default(&p, 3, 2);
  p.groups[0].lr = 0.1f;
  p.groups[0].lr_end = 0.0125f;
  p.groups[0].schedule = BRL_SCHEDULE_LINEAR_PROGRESS;
  brl_model *m = grow_random(&p, X, n, 20, 11);
  CHECK(m != NULL);
  if (!m) {
    free(X);
    return;
  }
  texts de, c;
  make_texts(m, &de);
  to_c();
  make_texts(m, &c);
  to_de();
  CHECK_MSG(same(de.json, de.lj, c.json, c.lj), "the JSON dumps differ");
  CHECK_MSG(same(de.text, de.lt, c.text, c.lt), "the text prints differ");
  CHECK_MSG(same(de.dot, de.ld, c.dot, c.ld), "the DOT prints differ");
  CHECK_MSG(same(de.h, de.lh, c.h, c.lh), "the exported headers differ");
  CHECK_MSG(same(de.c, de.lc, c.c, c.lc), "the exported sources differ");
  CHECK(de.json && strstr(de.json, "\"lr\": 0.1,") != NULL);
  CHECK(de.json && strstr(de.json, "\"lr_end\": 0.0125,") != NULL);
  /* the JSON loads under the locale to the same model file */
  brl_model *m2 = NULL;
  if (de.json)
    CHECK_OK(brl_model_load_json(de.json, de.lj, &m2));
  void *b1 = NULL, *b2 = NULL;
  size_t l1 = 0, l2 = 0;
  CHECK_OK(brl_model_save_buffer(m, &b1, &l1));
  if (m2)
    CHECK_OK(brl_model_save_buffer(m2, &b2, &l2));
  CHECK_MSG(same(b1, l1, b2, l2), "the JSON round trip changed the model");
  check_host_locale("the model texts");
  brl_free(b1);
  brl_free(b2);
  brl_model_free(&m2);
  free_texts(&de);
  free_texts(&c);
  brl_model_free(&m);
  free(X);
}

/* Threads parse and print at the same time (each switches only itself to
 * the "C" locale, and back): every result is right and the host's locale
 * is the comma one afterwards in every thread. */
typedef struct worker {
  const char *json; /* the dump made by the main thread */
  const brl_model *m;
  int bad;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int it = 0; it < 200; it++) {
    brl_agent_config c;
    char v[64];
    brl_agent_config_default(&c, BRL_ALGO_PPO);
    if (brl_agent_config_set(&c, "gamma", "0.975") ||
        brl_agent_config_get(&c, "gamma", v, sizeof v) ||
        strcmp(v, "0.975") != 0)
      w->bad++;
    char *json = NULL;
    size_t len = 0;
    if (brl_model_dump_json(w->m, &json, &len) || strcmp(json, w->json) != 0)
      w->bad++;
    brl_free(json);
    char buf[16];
    snprintf(buf, sizeof buf, "%g", 0.5);
    if (strcmp(buf, "0,5") != 0)
      w->bad++;
  }
  return NULL;
}

static void test_threads(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  p.groups[0].lr = 0.3f;
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  char *json = NULL;
  size_t len = 0;
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  if (!json) {
    brl_model_free(&m);
    return;
  }
  CHECK(strstr(json, "\"lr\": 0.3,") != NULL);
  enum { T = 4 };
  pthread_t th[T];
  worker w[T];
  for (int i = 0; i < T; i++) {
    w[i] = (worker){json, m, 0};
    CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    CHECK_MSG(w[i].bad == 0, "thread %d: %d wrong results", i, w[i].bad);
  }
  check_host_locale("the threads");
  brl_free(json);
  brl_model_free(&m);
}

int main(void) {
  if (!enter_comma_locale()) {
    printf("test_locale: SKIPPED: no comma-decimal locale (de_DE.UTF-8 is "
           "not installed and `localedef -i de_DE -f UTF-8` failed; install "
           "glibc's locale sources, e.g. the Debian package locales)\n");
    return SKIPPED;
  }
  printf("test_locale: running under %s\n", de_name);
  test_presets();
  test_config_text();
  test_agent_file();
  test_model_texts();
  test_threads();
  return brl_test_report("test_locale");
}
