/* Loaders check every count a file declares against the bytes that hold
 * its contents before allocating: a small file that declares millions of
 * features, outputs or observation columns is rejected fast, with a message
 * naming the field, and the loader's peak allocation stays small (measured
 * by the wrapped allocator, alloc_hook.h). */
#include "alloc_hook.h"
#include "boostrl.h"
#include "core/container.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

/* What a rejected load may hold at its peak: the container, the parsed JSON
 * nodes of a few-KB file, messages. */
#define SMALL_PEAK (256 * 1024)

static brl_model *tiny_model(int n_outputs) {
  brl_params p;
  brl_params_default(&p, 1, n_outputs);
  p.n_threads = 1;
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  return m;
}

/* A copy of the container buf with chunk `tag`'s payload replaced. */
static uint8_t *replace_chunk(const void *buf, size_t len, const char *tag,
                              const void *payload, size_t n, size_t *out_len) {
  brl_container c;
  if (brl__container_open(buf, len, &c))
    return NULL;
  brl_buf b;
  brl__container_begin(&b);
  for (uint32_t i = 0; i < c.n_chunks; i++) {
    brl__chunk_begin(&b, c.tags[i]);
    if (memcmp(c.tags[i], tag, 4) == 0)
      brl__buf_bytes(&b, payload, n);
    else
      brl__buf_bytes(&b, c.chunks[i].p, c.chunks[i].len);
    brl__chunk_end(&b);
  }
  if (brl__container_finish(&b))
    return NULL;
  *out_len = b.len;
  return b.data;
}

/* A copy of buf with the u32 at byte `off` of chunk `tag` set to v. */
static uint8_t *patch_u32(const void *buf, size_t len, const char *tag,
                          size_t off, uint32_t v, size_t *out_len) {
  brl_container c;
  brl_reader r;
  if (brl__container_open(buf, len, &c) || !brl__container_find(&c, tag, &r) ||
      off + 4 > r.len)
    return NULL;
  uint8_t *p = malloc(r.len);
  memcpy(p, r.p, r.len);
  for (int i = 0; i < 4; i++)
    p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
  uint8_t *out = replace_chunk(buf, len, tag, p, r.len, out_len);
  free(p);
  return out;
}

static void check_rejected(int rc, long long peak, const char *field,
                           const char *what, size_t file_len) {
  CHECK_MSG(rc == BRL_EFORMAT, "%s: rc %d (%s)", what, rc, brl_last_error());
  CHECK_MSG(strstr(brl_last_error(), field) != NULL,
            "%s: the message does not name %s: %s", what, field,
            brl_last_error());
  CHECK_MSG(peak < SMALL_PEAK,
            "%s: a %zu-byte file made the loader hold %lld "
            "bytes",
            what, file_len, peak);
}

/* The binary model's M0PA chunk: n_features at 0; n_cat_features after the
 * group (6 words) and 8 more words. */
static void test_binary_model(void) {
  brl_model *m = tiny_model(1);
  void *buf;
  size_t len;
  CHECK_OK(brl_model_save_buffer(m, &buf, &len));
  const struct {
    const char *field;
    size_t off;
  } cases[] = {{"n_cat_features", 8 + 24 + 32}, {"n_features", 0}};
  for (int i = 0; i < 2; i++) {
    size_t n;
    uint8_t *bad = patch_u32(buf, len, "M0PA", cases[i].off, 16000000u, &n);
    CHECK(bad != NULL);
    if (!bad)
      continue;
    brl_model *out = NULL;
    hook_peak_reset();
    int rc = brl_model_load_buffer(bad, n, &out);
    check_rejected(rc, hook_peak_bytes(), cases[i].field, "binary model", n);
    CHECK(out == NULL);
    brl_free(bad);
  }
  brl_free(buf);
  brl_model_free(&m);
}

/* text with the first `from` replaced by `to` (a new malloc'd string). */
static char *replace(const char *text, const char *from, const char *to) {
  const char *at = strstr(text, from);
  if (!at)
    return NULL;
  size_t a = (size_t)(at - text), nf = strlen(from), nt = strlen(to);
  char *out = malloc(strlen(text) - nf + nt + 1);
  memcpy(out, text, a);
  memcpy(out + a, to, nt);
  strcpy(out + a + nt, at + nf);
  return out;
}

static void test_json_model(void) {
  brl_model *m = tiny_model(1);
  char *json;
  size_t len;
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  char *bad =
      replace(json, "\"n_cat_features\": 0", "\"n_cat_features\": 16000000");
  CHECK(bad != NULL);
  brl_model *out = NULL;
  hook_peak_reset();
  int rc = bad ? brl_model_load_json(bad, strlen(bad), &out) : -1;
  check_rejected(rc, hook_peak_bytes(), "n_cat_features", "JSON model",
                 strlen(json));
  free(bad);
  brl_free(json);
  brl_model_free(&m);

  /* 256 outputs and one tree that claims depth 12 with no leaf values:
   * scratch for 4096 x 256 leaf values is not allocated for it. */
  m = tiny_model(256);
  json = NULL;
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  char *deep = replace(json, "\"max_depth\": 4", "\"max_depth\": 12");
  bad = deep ? replace(deep, "\"trees\": []",
                       "\"trees\": [{\"depth\": 12, \"oblivious\": true, "
                       "\"splits\": [], \"values\": [], \"covers\": []}]")
             : NULL;
  CHECK(bad != NULL);
  hook_peak_reset();
  rc = bad ? brl_model_load_json(bad, strlen(bad), &out) : -1;
  check_rejected(rc, hook_peak_bytes(), "values", "JSON deep tree",
                 bad ? strlen(bad) : 0);
  free(deep);
  free(bad);
  brl_free(json);
  brl_model_free(&m);
}

/* The saved bytes of a small agent: one env copy, 8-step rollouts, 4 obs
 * floats, two discrete actions, a 4000-transition replay where it has one. */
static void *small_agent_bytes(brl_algo algo, size_t *len) {
  brl_agent_config c;
  brl_agent_config_default(&c, algo);
  c.n_envs = 1;
  c.n_steps = 8;
  c.batch_size = 8;
  c.buffer_size = 4000;
  c.n_threads = 1;
  brl_action_space sp;
  brl_action_space_default(&sp);
  sp.kind = BRL_SPACE_DISCRETE;
  sp.dim = 1;
  sp.nvec[0] = 2;
  brl_agent *a = NULL;
  void *buf = NULL;
  *len = 0;
  CHECK_OK(brl_agent_create(&c, 4, &sp, 1, &a));
  if (a)
    CHECK_OK(brl_agent_save_buffer(a, &buf, len));
  brl_agent_free(&a);
  return buf;
}

/* The agent bytes with the line `from` of their stored configuration
 * replaced by `to` (NULL where the configuration has no such line). */
static uint8_t *with_config_line(const void *buf, size_t len, const char *from,
                                 const char *to, size_t *n) {
  brl_container ct;
  brl_reader r;
  if (brl__container_open(buf, len, &ct) != BRL_OK ||
      !brl__container_find(&ct, "AGCF", &r))
    return NULL;
  char *cfg = malloc(r.len + 1);
  memcpy(cfg, r.p, r.len);
  cfg[r.len] = 0;
  char *cfg2 = replace(cfg, from, to);
  uint8_t *out =
      cfg2 ? replace_chunk(buf, len, "AGCF", cfg2, strlen(cfg2), n) : NULL;
  free(cfg);
  free(cfg2);
  return out;
}

static void test_agent(void) {
  size_t len;
  void *buf = small_agent_bytes(BRL_ALGO_PPO, &len);
  if (!buf)
    return;
  /* AGSP: version, obs_dim, ... */
  size_t n;
  uint8_t *bad = patch_u32(buf, len, "AGSP", 4, 1u << 20, &n);
  CHECK(bad != NULL);
  brl_agent *out = NULL;
  hook_peak_reset();
  int rc = bad ? brl_agent_load_buffer(bad, n, &out) : -1;
  check_rejected(rc, hook_peak_bytes(), "obs_dim", "agent obs_dim", n);
  CHECK(out == NULL);
  brl_free(bad);

  /* The configuration declares 4096 env copies; AGST holds one. */
  bad = with_config_line(buf, len, "\nn_envs=1\n", "\nn_envs=4096\n", &n);
  CHECK(bad != NULL);
  hook_peak_reset();
  rc = bad ? brl_agent_load_buffer(bad, n, &out) : -1;
  check_rejected(rc, hook_peak_bytes(), "n_envs", "agent n_envs", n);
  brl_free(bad);
  brl_free(buf);
}

/* The rollout and replay buffers follow the configuration (n_steps,
 * buffer_size), which a file may set as high as the library allows: the
 * loader allocates them only when first used, so a small file declaring a
 * PPO rollout of 10^7 steps or a replay of 6 x 10^7 transitions loads in
 * little memory, acts, and saves back to the same bytes. */
static void load_big_config(brl_algo algo, const char *from, const char *to,
                            uint64_t replay_cap, const char *what) {
  size_t len = 0;
  void *buf = small_agent_bytes(algo, &len);
  size_t n = 0, n2 = 0;
  uint8_t *bad = buf ? with_config_line(buf, len, from, to, &n) : NULL;
  CHECK_MSG(bad != NULL, "%s: no %s in the configuration", what, from);
  if (bad && replay_cap) { /* the replay's capacity follows buffer_size */
    uint8_t *b2 = patch_u32(bad, n, "AGRB", 0, (uint32_t)replay_cap, &n2);
    brl_free(bad);
    bad = b2;
    n = n2;
  }
  CHECK(bad != NULL);
  brl_agent *out = NULL;
  hook_peak_reset();
  int rc = bad ? brl_agent_load_buffer(bad, n, &out) : -1;
  const long long peak = hook_peak_bytes();
  CHECK_MSG(rc == BRL_OK, "%s: rc %d (%s)", what, rc, brl_last_error());
  CHECK_MSG(peak < SMALL_PEAK,
            "%s: a %zu-byte file made the loader hold %lld bytes", what, n,
            peak);
  if (out) {
    float obs[4] = {0}, act[BRL_MAX_ACTION_DIM];
    CHECK_OK(brl_agent_act(out, obs, 1, NULL, 1, act, NULL, NULL));
    void *b3 = NULL;
    size_t l3 = 0;
    CHECK_OK(brl_agent_save_buffer(out, &b3, &l3));
    CHECK_MSG(l3 == n && memcmp(b3, bad, n) == 0,
              "%s: saving the loaded agent changed its bytes", what);
    brl_free(b3);
  }
  brl_agent_free(&out);
  brl_free(bad);
  brl_free(buf);
}

static void test_agent_big_config(void) {
  load_big_config(BRL_ALGO_PPO, "\nn_steps=8\n", "\nn_steps=10000000\n", 0,
                  "PPO n_steps 10^7");
  load_big_config(BRL_ALGO_DQN, "\nbuffer_size=4000\n",
                  "\nbuffer_size=60000000\n", 60000000,
                  "DQN buffer_size 6 x 10^7");
  load_big_config(BRL_ALGO_AWR, "\nbuffer_size=4000\n",
                  "\nbuffer_size=60000000\n", 60000000,
                  "AWR buffer_size 6 x 10^7");
}

int main(void) {
  test_binary_model();
  test_json_model();
  test_agent();
  test_agent_big_config();
  return brl_test_report("test_loader_limits");
}
