/* Dumps: JSON dump -> load gives an identical model (same model file bytes,
 * bit-identical predictions, same JSON again) for every kind of model
 * (oblivious, greedy with pass-through nodes, categorical with dictionary
 * strings that need escaping, several groups, Adam with per-tree rates, no
 * trees, infinite thresholds and signed zeros); the loader is strict
 * (malformed JSON and schema errors give BRL_EFORMAT with a position); DOT
 * and text prints contain every split. */
#define _POSIX_C_SOURCE 200809L
#include "testlib.h"
#include "util.h"

#include "core/json.h"
#include "core/text.h"
#include "engine/model.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

static brl_model *grow_cat(const brl_params *p, const float *X,
                           const int32_t *Xc, int64_t n, int steps,
                           uint64_t seed) {
  brl_model *m = NULL;
  brl_batch *b = NULL;
  if (brl_model_create(p, &m) || brl_batch_create_cat(m, X, Xc, n, &b))
    return NULL;
  brl_rng r;
  brl_rng_seed(&r, seed);
  const int K = brl_model_n_outputs(m);
  float *g = malloc(sizeof(float) * (size_t)(n * K));
  for (int s = 0; s < steps; s++) {
    for (int64_t i = 0; i < n * K; i++)
      g[i] = (float)brl_rng_normal(&r) +
             (Xc && Xc[(i / K) * p->n_cat_features] == 1 ? 2.0f : 0.0f);
    if (brl_model_step(m, b, NULL, n, g, (float)s / (float)steps)) {
      brl_model_free(&m);
      break;
    }
  }
  free(g);
  brl_batch_free(&b);
  return m;
}

/* Dump, load, compare file bytes, predictions and the second dump. */
static void round_trip(const char *what, const brl_model *m, const float *X,
                       const int32_t *Xc, int64_t n) {
  char *json = NULL, *json2 = NULL;
  size_t len = 0, len2 = 0;
  brl_model *m2 = NULL;
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  CHECK(json && strlen(json) == len);
  int rc = brl_model_load_json(json, len, &m2);
  CHECK_MSG(rc == 0, "%s: load -> %d (%s)", what, rc, brl_last_error());
  if (rc) {
    brl_free(json);
    return;
  }
  void *b1, *b2;
  size_t l1, l2;
  CHECK_OK(brl_model_save_buffer(m, &b1, &l1));
  CHECK_OK(brl_model_save_buffer(m2, &b2, &l2));
  CHECK_MSG(l1 == l2 && memcmp(b1, b2, l1) == 0, "%s: the model files differ",
            what);
  brl_free(b1);
  brl_free(b2);
  CHECK_OK(brl_model_dump_json(m2, &json2, &len2));
  CHECK_MSG(len == len2 && memcmp(json, json2, len) == 0,
            "%s: the second dump differs", what);
  const int K = brl_model_n_outputs(m);
  float *p1 = malloc(sizeof(float) * (size_t)(n * K)),
        *p2 = malloc(sizeof(float) * (size_t)(n * K));
  CHECK_OK(brl_model_predict_cat(m, X, Xc, n, 0, -1, p1));
  CHECK_OK(brl_model_predict_cat(m2, X, Xc, n, 0, -1, p2));
  CHECK_MSG(memcmp(p1, p2, sizeof(float) * (size_t)(n * K)) == 0,
            "%s: predictions differ", what);
  free(p1);
  free(p2);
  brl_free(json);
  brl_free(json2);
  brl_model_free(&m2);
}

/* Every real split of the model appears in the text and DOT prints. */
static void check_prints(const char *what, const brl_model *m,
                         const char *const *names) {
  char *text, *dot;
  CHECK_OK(brl_model_dump_text(m, 0, -1, names, &text, NULL));
  CHECK_OK(brl_model_dump_dot(m, 0, -1, names, &dot, NULL));
  CHECK(strncmp(dot, "digraph", 7) == 0 && strstr(dot, "->") != NULL);
  CHECK(strncmp(text, "boostrl model:", 14) == 0);
  const brl_trees *T = &m->trees;
  const int D = m->p.n_features;
  int missing = 0, checked = 0;
  for (int t = 0; t < T->n; t++)
    for (int64_t s = T->split_off[t]; s < T->split_off[t + 1]; s++) {
      const uint32_t sp = T->split[s];
      const unsigned fl = BRL_SPLIT_FLAGS(sp);
      if (fl & BRL_SPLIT_PASS)
        continue;
      const int f = BRL_SPLIT_FEATURE(sp);
      char want[160], num[48], fname[32];
      if (names)
        snprintf(fname, sizeof fname, "%s", names[f]);
      else if (f < D)
        snprintf(fname, sizeof fname, "x[%d]", f);
      else
        snprintf(fname, sizeof fname, "cat[%d]", f - D);
      if (fl & BRL_SPLIT_CAT) {
        const char *str =
            brl_model_cat_decode(m, f - D, brl__thr_to_code(T->threshold[s]));
        if (str)
          snprintf(want, sizeof want, "%s == \"%s\"", fname, str);
        else
          snprintf(want, sizeof want, "%s == %d", fname,
                   brl__thr_to_code(T->threshold[s]));
      } else {
        brl__float_repr(T->threshold[s], num, sizeof num);
        snprintf(want, sizeof want, "%s <= %s", fname, num);
      }
      checked++;
      missing += strstr(text, want) == NULL;
      /* In DOT labels, quotes and backslashes are escaped. */
      char esc[320];
      size_t e = 0;
      for (const char *c = want; *c && e + 2 < sizeof esc; c++) {
        if (*c == '"' || *c == '\\')
          esc[e++] = '\\';
        esc[e++] = *c;
      }
      esc[e] = 0;
      if (!strchr(want, '\n'))
        missing += strstr(dot, esc) == NULL;
    }
  CHECK_MSG(checked > 0 && missing == 0, "%s: %d of %d splits missing", what,
            missing, checked);
  brl_free(text);
  brl_free(dot);
}

static void models(void) {
  brl_rng r;
  brl_rng_seed(&r, 17);
  const int64_t n = 250;
  const int D = 3, C = 2;
  float *X = rand_matrix(&r, n, D, 0.1);
  int32_t *Xc = malloc(sizeof(int32_t) * n * C);
  for (int64_t i = 0; i < n * C; i++)
    Xc[i] = (int32_t)brl_rng_below(&r, 6) - 1;
  for (int policy = 0; policy < 2; policy++)
    for (int opt = 0; opt < 2; opt++) {
      brl_params p;
      brl_params_default(&p, D, 2);
      p.n_groups = 2;
      p.groups[1] = p.groups[0];
      p.groups[1].n_outputs = 1;
      p.groups[1].lr = 0.037f;
      p.groups[1].lr_end = 0.001f;
      p.groups[1].schedule = BRL_SCHEDULE_LINEAR_PROGRESS;
      p.grow_policy = policy ? BRL_GROW_GREEDY : BRL_GROW_OBLIVIOUS;
      p.max_depth = 5;
      p.n_cat_features = C;
      p.optimizer = opt ? BRL_OPTIMIZER_ADAM : BRL_OPTIMIZER_SGD;
      p.adam_eps = 1e-7f;
      p.n_bins = 33;
      brl_model *m;
      CHECK_OK(brl_model_create(&p, &m));
      /* Dictionary strings that need escaping, and multi-byte UTF-8. */
      const char *words[] = {"red",
                             "say \"hi\"",
                             "back\\slash",
                             "tab\there\nnewline",
                             "\xc3\xa9t\xc3\xa9 \xe2\x82\xac",
                             "\xf0\x9f\x8c\xb2 tree",
                             "\x01 ctl"};
      for (int c = 0; c < C; c++)
        for (int w = 0; w < 7; w++) {
          int32_t code;
          CHECK_OK(brl_model_cat_encode(m, c, words[(w + c) % 7], 1, &code));
        }
      brl_model_free(&m);
      /* Grow from a model with the dictionaries: encode again on a fresh
       * model, then grow (brl_model_step keeps the dictionaries). */
      m = grow_cat(&p, X, Xc, n, 25, 3 + policy);
      CHECK(m != NULL);
      if (!m)
        continue;
      for (int c = 0; c < C; c++)
        for (int w = 0; w < 7; w++) {
          int32_t code;
          CHECK_OK(brl_model_cat_encode(m, c, words[(w + c) % 7], 1, &code));
        }
      const float bias[3] = {-0.0f, 1e-40f, 3.14159274f};
      CHECK_OK(brl_model_set_bias(m, bias));
      const float fw[5] = {1, 0.5f, 0, 2, 1.0f / 3.0f};
      CHECK_OK(brl_model_set_feature_weights(m, fw));
      char what[64];
      snprintf(what, sizeof what, "%s %s", policy ? "greedy" : "oblivious",
               opt ? "adam" : "sgd");
      int n_cat = 0, n_pass = 0;
      for (int64_t i = 0; i < m->trees.split_off[m->trees.n]; i++) {
        n_cat += (BRL_SPLIT_FLAGS(m->trees.split[i]) & BRL_SPLIT_CAT) != 0;
        n_pass += (BRL_SPLIT_FLAGS(m->trees.split[i]) & BRL_SPLIT_PASS) != 0;
      }
      CHECK_MSG(n_cat > 0 && (n_pass > 0) == (policy == 1),
                "%s: %d categorical splits, %d pass-through nodes", what, n_cat,
                n_pass);
      round_trip(what, m, X, Xc, n);
      check_prints(what, m, NULL);
      const char *names[] = {"cart \"pos\"", "vel", "angle", "colour", "size"};
      check_prints(what, m, names);
      /* A tree range. */
      char *text;
      CHECK_OK(brl_model_dump_text(m, 3, 5, NULL, &text, NULL));
      CHECK(strstr(text, "tree 3:") && strstr(text, "tree 4:") &&
            !strstr(text, "tree 5:") && !strstr(text, "tree 2:"));
      brl_free(text);
      CHECK(brl_model_dump_dot(m, 5, 3, NULL, &text, NULL) == BRL_EINVAL);
      brl_model_free(&m);
    }
  free(X);
  free(Xc);
}

static void special_values(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  p.max_depth = 2;
  p.grow_policy = BRL_GROW_GREEDY;
  brl_model *m;
  CHECK_OK(brl_model_create(&p, &m));
  float X[4] = {0, 0, 1, NAN};
  round_trip("no trees", m, X, NULL, 2);
  const uint32_t DL = BRL_SPLIT_DEFAULT_LEFT;
  /* Infinite numeric thresholds, a non-canonical pass-through node,
   * denormal and negative-zero leaves. */
  uint32_t sp[3] = {BRL_SPLIT_PACK(1, 0), BRL_SPLIT_PACK(0, DL),
                    BRL_SPLIT_PACK(1, BRL_SPLIT_PASS)};
  float th[3] = {INFINITY, -INFINITY, 7.5f};
  float gain[3] = {1.5f, -0.0f, 0.25f};
  float v[4] = {-0.0f, 1e-45f, -3.4028235e38f, 0.1f};
  float c[4] = {1, 2, 0, 0};
  CHECK_OK(brl__model_append_tree(m, 2, 0, sp, th, gain, v, c, NULL));
  float Xt[8] = {0, 0, -INFINITY, INFINITY, NAN, NAN, 1, -INFINITY};
  round_trip("special values", m, Xt, NULL, 4);
  char *json;
  CHECK_OK(brl_model_dump_json(m, &json, NULL));
  CHECK(strstr(json, "\"threshold\": \"inf\"") != NULL);
  CHECK(strstr(json, "\"threshold\": \"-inf\"") != NULL);
  CHECK(strstr(json, "\"pass\": true, \"feature\": 1") != NULL);
  /* Through a file. */
  char path[] = "/tmp/brl_test_dump_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK_OK(brl_model_save_json(m, path));
  brl_model *m2;
  CHECK_OK(brl_model_load_json_file(path, &m2));
  CHECK(brl_model_n_trees(m2) == 1);
  brl_model_free(&m2);
  unlink(path);
  CHECK(brl_model_load_json_file("/nonexistent/x.json", &m2) == BRL_EIO);
  brl_free(json);
  brl_model_free(&m);
}

/* Replaces the first occurrence of `from` in base by `to` and expects the
 * loader to refuse the result with BRL_EFORMAT. */
static void expect_bad(const char *base, const char *from, const char *to,
                       const char *msg_part) {
  const char *at = strstr(base, from);
  CHECK_MSG(at != NULL, "'%s' not in the dump", from);
  if (!at)
    return;
  size_t n = strlen(base) - strlen(from) + strlen(to);
  char *s = malloc(n + 1);
  size_t pre = (size_t)(at - base);
  memcpy(s, base, pre);
  strcpy(s + pre, to);
  strcat(s, at + strlen(from));
  brl_model *m = NULL;
  int rc = brl_model_load_json(s, n, &m);
  CHECK_MSG(rc == BRL_EFORMAT && m == NULL, "'%s' -> '%s' gave %d", from, to,
            rc);
  CHECK_MSG(strstr(brl_last_error(), msg_part) != NULL,
            "'%s' -> '%s': message \"%s\" lacks \"%s\"", from, to,
            brl_last_error(), msg_part);
  brl_model_free(&m);
  free(s);
}

static void strictness(void) {
  brl_rng r;
  brl_rng_seed(&r, 5);
  float *X = rand_matrix(&r, 100, 2, 0.0);
  int32_t Xc[100];
  for (int i = 0; i < 100; i++)
    Xc[i] = i % 3;
  brl_params p;
  brl_params_default(&p, 2, 1);
  p.n_cat_features = 1;
  p.max_depth = 2;
  brl_model *m = grow_cat(&p, X, Xc, 100, 2, 1);
  int32_t code;
  CHECK_OK(brl_model_cat_encode(m, 0, "zero", 1, &code));
  CHECK_OK(brl_model_cat_encode(m, 0, "one", 1, &code));
  char *json;
  size_t len;
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  brl_model *ok;
  CHECK_OK(brl_model_load_json(json, len, &ok));
  brl_model_free(&ok);
  /* Syntax. */
  expect_bad(json, "\"n_features\": 2,", "\"n_features\": 2,,", "line");
  expect_bad(json, "\"bias\": [", "\"bias\": [,", "JSON error");
  expect_bad(json, "\"n_features\": 2", "\"n_features\": 02", "JSON error");
  expect_bad(json, "\"n_features\": 2", "\"n_features\": 2.", "JSON error");
  expect_bad(json, "\"n_features\": 2", "\"n_features\": +2", "JSON error");
  expect_bad(json, "\"format\"", "\"for\\xmat\"", "invalid escape");
  expect_bad(json, "\"format\"", "\"for\\ud800mat\"", "surrogate");
  expect_bad(json, "\"format\"", "\"for\xffmat\"", "UTF-8");
  expect_bad(json, "\"format\"", "\"for\tmat\"", "control character");
  expect_bad(json, "{", "{/* c */", "JSON error");
  expect_bad(json, "\"trees\": [",
             "\"trees\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[["
             "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             "nesting");
  expect_bad(json, "\n}\n", "\n} x\n", "after the value");
  expect_bad(json, "true", "True", "invalid value");
  expect_bad(json, "\"format\": \"boostrl-model\"", "\"format\": \"other\"",
             "format");
  /* Schema. */
  expect_bad(json, "\"format_version\": 1", "\"format_version\": 2",
             "not supported");
  expect_bad(json, "\"n_features\": 2,",
             "\"n_features\": 2, \"n_features\": 2,", "twice");
  expect_bad(json, "\"n_features\": 2,", "\"n_feature\": 2,", "unknown member");
  expect_bad(json, "\"n_features\": 2,", "", "missing");
  expect_bad(json, "\"n_features\": 2,", "\"n_features\": \"2\",", "integer");
  expect_bad(json, "\"n_features\": 2,", "\"n_features\": 2.5,", "integer");
  expect_bad(json, "\"max_depth\": 2", "\"max_depth\": 0",
             "invalid parameters");
  expect_bad(json, "\"grow_policy\": \"oblivious\"",
             "\"grow_policy\": \"sideways\"", "unknown value");
  expect_bad(json, "\"n_outputs\": 1,\n  \"bias\"",
             "\"n_outputs\": 2,\n  \"bias\"", "n_outputs");
  expect_bad(json, "\"depth\": 2", "\"depth\": 3", "trees[0]");
  expect_bad(json, "\"oblivious\": true", "\"oblivious\": 1", "true or false");
  expect_bad(json,
             "\"feature\": ", "\"feature\": 9, \"x\": ", "unknown member");
  expect_bad(json, "\"covers\": [", "\"covers\": [-1, ", "covers");
  expect_bad(json, "\"missing\": \"", "\"missing\": \"up", "unknown value");
  expect_bad(json, "[\"zero\", \"one\"]", "[\"zero\", \"zero\"]", "twice");
  expect_bad(json, "[\"zero\", \"one\"]", "[\"zero\", \"o\\u0000ne\"]", "NUL");
  expect_bad(json, "\"bias\": [", "\"bias\": [\"nan\", ", "bias");
  brl_free(json);
  /* Truncations never crash and always fail. */
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  int all_fail = 1;
  for (size_t cut = 0; cut + 1 < len; cut += 7) {
    brl_model *t = NULL;
    if (brl_model_load_json(json, cut, &t) != BRL_EFORMAT || t)
      all_fail = 0;
    brl_model_free(&t);
  }
  CHECK(all_fail);
  /* A whitespace variant of the same text loads. */
  char *spaced = malloc(2 * len + 1);
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    spaced[k++] = json[i];
    if (json[i] == ',')
      spaced[k++] = '\r';
  }
  CHECK_OK(brl_model_load_json(spaced, k, &ok));
  brl_model_free(&ok);
  free(spaced);
  brl_free(json);
  /* JSON strings with escapes decode. */
  const char *txt = "[\"a\\u00e9\\ud83c\\udf32\\n\\/\"]";
  brl_json j;
  CHECK_OK(brl__json_parse(txt, strlen(txt), &j));
  char buf[32];
  CHECK(brl__json_string(&j, j.nodes[0].child, buf, sizeof buf) == 9);
  CHECK(strcmp(buf, "a\xc3\xa9\xf0\x9f\x8c\xb2\n/") == 0);
  brl__json_free(&j);
  brl_model_free(&m);
  free(X);
}

int main(void) {
  models();
  special_values();
  strictness();
  return brl_test_report("test_dump");
}
