/* Error messages: a message that wraps the previous one
 * (brl__fail(..., "(%s)", brl_last_error())) keeps it intact, so the real
 * reason reaches the user through every loader that wraps one: JSON models,
 * binary models and agent files. */
#include "testlib.h"

#include "boostrl.h"
#include "core/container.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static void fix_crc(uint8_t *c, size_t len) {
  uint32_t crc = brl__crc32(c, len - 4);
  for (int i = 0; i < 4; i++)
    c[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

/* brl__fail with an argument that is the message buffer itself. */
static void test_self_wrap(void) {
  brl__fail(BRL_EINVAL, "inner reason %d", 42);
  int rc = brl__fail(BRL_EFORMAT, "outer (%s)", brl_last_error());
  CHECK(rc == BRL_EFORMAT);
  CHECK_MSG(strcmp(brl_last_error(), "outer (inner reason 42)") == 0, "'%s'",
            brl_last_error());
  /* twice, and a prefix longer than the message it wraps */
  brl__fail(BRL_EFORMAT, "a: %s; b: %s", brl_last_error(), brl_last_error());
  CHECK_MSG(strcmp(brl_last_error(), "a: outer (inner reason 42); b: outer "
                                     "(inner reason 42)") == 0,
            "'%s'", brl_last_error());
  /* a long message is cut at the buffer's size, still NUL-terminated, and
   * its head is kept */
  char big[700];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  brl__fail(BRL_EINVAL, "%s", big);
  size_t n = strlen(brl_last_error());
  CHECK(n > 400 && n < sizeof big - 1);
  brl__fail(BRL_EINVAL, "wrapped: %s", brl_last_error());
  CHECK(strncmp(brl_last_error(), "wrapped: xxxx", 13) == 0);
  CHECK(strlen(brl_last_error()) == n);
  brl__clear_error();
  CHECK(brl_last_error()[0] == '\0');
}

/* Replaces the first `from` in s (NUL-terminated, len bytes) by `to`. */
static char *replace(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  if (!at)
    return NULL;
  size_t n = strlen(s), nf = strlen(from), nt = strlen(to);
  char *out = malloc(n - nf + nt + 1);
  size_t head = (size_t)(at - s);
  memcpy(out, s, head);
  memcpy(out + head, to, nt);
  memcpy(out + head + nt, at + nf, n - head - nf + 1);
  return out;
}

/* The JSON model loader wraps the parameter check's reason. */
static void test_json_max_depth(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  p.max_depth = 3;
  brl_model *m = NULL;
  CHECK_OK(brl_model_create(&p, &m));
  char *json = NULL;
  size_t len = 0;
  CHECK_OK(brl_model_dump_json(m, &json, &len));
  char *bad =
      json ? replace(json, "\"max_depth\": 3", "\"max_depth\": 64") : NULL;
  CHECK_MSG(bad != NULL, "no \"max_depth\": 3 in the dump");
  if (bad) {
    brl_model *m2 = NULL;
    CHECK(brl_model_load_json(bad, strlen(bad), &m2) == BRL_EFORMAT);
    CHECK(m2 == NULL);
    CHECK_MSG(strstr(brl_last_error(), "invalid parameters (max_depth is 64: "
                                       "use 1 to 12)") != NULL,
              "'%s'", brl_last_error());
  }
  free(bad);
  brl_free(json);
  brl_model_free(&m);
}

/* The binary model loader wraps it too: max_depth rewritten behind a valid
 * checksum (its offset found by comparing files of depth 3 and 5). */
static void test_binary_max_depth(void) {
  brl_params p;
  brl_params_default(&p, 2, 1);
  void *b3 = NULL, *b5 = NULL;
  size_t l3 = 0, l5 = 0;
  brl_model *m = NULL;
  p.max_depth = 3;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_model_save_buffer(m, &b3, &l3));
  brl_model_free(&m);
  p.max_depth = 5;
  CHECK_OK(brl_model_create(&p, &m));
  CHECK_OK(brl_model_save_buffer(m, &b5, &l5));
  brl_model_free(&m);
  CHECK(l3 == l5);
  uint8_t *c = b3;
  const uint8_t *d = b5;
  size_t at = 0;
  int diffs = 0;
  for (size_t i = 0; i + 4 < l3; i++)
    if (c[i] != d[i]) {
      at = i;
      diffs++;
    }
  CHECK_MSG(diffs == 1 && c[at] == 3, "%d differing bytes", diffs);
  if (diffs == 1) {
    c[at] = 64;
    fix_crc(c, l3);
    CHECK(brl_model_load_buffer(c, l3, &m) == BRL_EFORMAT);
    CHECK(m == NULL);
    CHECK_MSG(strstr(brl_last_error(), "invalid parameters (max_depth is 64: "
                                       "use 1 to 12)") != NULL,
              "'%s'", brl_last_error());
  }
  brl_free(b3);
  brl_free(b5);
}

static brl_agent *small_agent(void) {
  brl_agent_config c;
  brl_agent_config_preset(&c, "CartPole-v1", BRL_ALGO_PPO, NULL);
  c.n_threads = 1;
  brl_action_space s;
  brl_action_space_default(&s);
  s.kind = BRL_SPACE_DISCRETE;
  s.dim = 1;
  s.nvec[0] = 2;
  brl_agent *a = NULL;
  CHECK_OK(brl_agent_create(&c, 4, &s, 7, &a));
  return a;
}

/* Replaces, in an agent buffer, the configuration line `from` by `to` (same
 * length) and fixes the checksum. */
static int edit_config(uint8_t *buf, size_t len, const char *from,
                       const char *to) {
  size_t n = strlen(from);
  if (strlen(to) != n)
    return 0;
  for (size_t i = 0; i + n < len; i++)
    if (memcmp(buf + i, from, n) == 0) {
      memcpy(buf + i, to, n);
      fix_crc(buf, len);
      return 1;
    }
  return 0;
}

/* Agent files: an unknown stored key is named, and so is an invalid stored
 * value, inside the loader's own message. */
static void test_agent_config(void) {
  brl_agent *a = small_agent();
  void *buf = NULL;
  size_t len = 0;
  CHECK_OK(brl_agent_save_buffer(a, &buf, &len));
  uint8_t *c = malloc(len);
  brl_agent *b = NULL;

  memcpy(c, buf, len);
  CHECK(edit_config(c, len, "\ngamma=", "\ngamxa="));
  CHECK(brl_agent_load_buffer(c, len, &b) == BRL_EFORMAT);
  CHECK(b == NULL);
  CHECK_MSG(strstr(brl_last_error(),
                   "configuration 'gamxa' cannot be read "
                   "(unknown hyper-parameter 'gamxa'") != NULL,
            "'%s'", brl_last_error());

  memcpy(c, buf, len);
  CHECK(edit_config(c, len, "\ngamma=0.99\n", "\ngamma=7.99\n"));
  CHECK(brl_agent_load_buffer(c, len, &b) == BRL_EFORMAT);
  CHECK_MSG(strstr(brl_last_error(), "configuration 'gamma' cannot be read "
                                     "(gamma = 7.99 is out of range") != NULL,
            "'%s'", brl_last_error());

  free(c);
  brl_free(buf);
  brl_agent_free(&a);
}

int main(void) {
  test_self_wrap();
  test_json_max_depth();
  test_binary_max_depth();
  test_agent_config();
  return brl_test_report("test_error");
}
