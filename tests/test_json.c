/* core/json.c, the library's one JSON reader and writer, and the settings
 * objects on top of it (brl_kv: a run's config.json, --config files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boostrl.h"
#include "core/json.h"
#include "testlib.h"

/* Parses text and expects a failure whose message holds every one of the
 * NULL-terminated words. */
static void expect_error(const char *text, const char *const *words) {
  brl_json j;
  int rc = brl__json_parse(text, strlen(text), &j);
  CHECK_MSG(rc == BRL_EFORMAT, "accepted: %s", text);
  for (int i = 0; rc && words[i]; i++)
    CHECK_MSG(strstr(brl_last_error(), words[i]) != NULL, "%s: '%s' not in %s",
              text, words[i], brl_last_error());
}

static void reader_errors(void) {
  /* Where and what: line:column, what was expected and what was found. */
  expect_error(
      "{\"a\": 1,\n \"b\" 2}",
      (const char *[]){"line 2, column 6", "expected ':'", "found '2'", NULL});
  expect_error("[1, 2",
               (const char *[]){"line 1, column 6", "expected ',' or ']'",
                                "found the end of the text", NULL});
  expect_error("{\"a\": 1 \"b\": 2}",
               (const char *[]){"column 9", "expected ',' or '}'", NULL});
  expect_error("{\"a\": 1,}",
               (const char *[]){"expected a member name", "found '}'", NULL});
  expect_error("[1] x", (const char *[]){"after the value", "found 'x'", NULL});
  expect_error("[\x01]", (const char *[]){"found byte 0x01", NULL});
  expect_error("", (const char *[]){"end of text", NULL});
  expect_error("[True]", (const char *[]){"invalid value", "found 'T'", NULL});
  expect_error("[01]", (const char *[]){"leading zero", NULL});
  expect_error("[\"\\ud800\"]", (const char *[]){"surrogate", NULL});
  expect_error("[\"a\xff\"]", (const char *[]){"UTF-8", NULL});
  expect_error("\xef\xbb\xbf[1]", (const char *[]){"byte 0xEF", NULL});
}

static void reader_limits(void) {
  /* 64 levels by default; the 65th is refused, naming the limit. */
  char deep[200];
  memset(deep, '[', 65);
  memset(deep + 65, ']', 65);
  deep[130] = '\0';
  brl_json j;
  CHECK(brl__json_parse(deep, 130, &j) == BRL_EFORMAT);
  CHECK_MSG(strstr(brl_last_error(), "deeper than 64") != NULL, "%s",
            brl_last_error());
  CHECK_OK(brl__json_parse(deep + 1, 128, &j));
  brl__json_free(&j);
  /* Chosen limits: depth and bytes. */
  CHECK(brl__json_parse_limited("[[1]]", 5, 1, 100, &j) == BRL_EFORMAT);
  CHECK_OK(brl__json_parse_limited("[1]", 3, 1, 100, &j));
  brl__json_free(&j);
  CHECK(brl__json_parse_limited("[1, 2, 3]", 9, 8, 8, &j) == BRL_EFORMAT);
  CHECK_MSG(strstr(brl_last_error(), "9 bytes") &&
                strstr(brl_last_error(), "limit of 8"),
            "%s", brl_last_error());
}

static void reader_values(void) {
  const char *txt = "{\"k\": \"a\\\"b\", \"x\": [1.5, \"inf\", \"-inf\", "
                    "\"nan\", -0, 3e2, \"no\"], \"e\\u00e9\": null}";
  brl_json j;
  CHECK_OK(brl__json_parse(txt, strlen(txt), &j));
  CHECK(brl__json_member(&j, 0, "k") > 0);
  CHECK(brl__json_member(&j, 0, "nope") == -1);
  CHECK(brl__json_member(&j, 0, "e\xc3\xa9") > 0); /* decoded key */
  CHECK(brl__json_string_is(&j, brl__json_member(&j, 0, "k"), "a\"b", 3));
  CHECK(!brl__json_string_is(&j, brl__json_member(&j, 0, "k"), "a\"", 2));
  const int32_t x = brl__json_member(&j, 0, "x");
  float v[7];
  int ok[7], i = 0;
  for (int32_t e = j.nodes[x].child; e >= 0; e = j.nodes[e].next, i++)
    ok[i] = brl__json_float(&j, e, &v[i]);
  CHECK(i == 7);
  CHECK(ok[0] && v[0] == 1.5f);
  CHECK(ok[1] && isinf(v[1]) && v[1] > 0);
  CHECK(ok[2] && isinf(v[2]) && v[2] < 0);
  CHECK(ok[3] && isnan(v[3]));
  CHECK(ok[4] && v[4] == 0.0f && signbit(v[4]));
  CHECK(ok[5] && v[5] == 300.0f);
  CHECK(!ok[6]);
  brl__json_free(&j);
}

static void writer(void) {
  brl_sb s = {0};
  brl__sb_puts(&s, "[");
  brl__json_put_string(&s, "a\"b\\c\nd\te\rf\x01g\xc3\xa9");
  brl__sb_puts(&s, ", ");
  const float f[] = {0.1f, -2.0f, INFINITY, -INFINITY, NAN, 1e-45f};
  brl__json_put_floats(&s, f, 6);
  brl__sb_puts(&s, "]");
  char *out;
  size_t len;
  CHECK_OK(brl__sb_finish(&s, &out, &len));
  CHECK_MSG(!strcmp(out, "[\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\xc3\xa9\", "
                         "[0.1, -2, \"inf\", \"-inf\", \"nan\", 1e-45]]"),
            "%s", out);
  /* What the writer writes, the reader reads back to the same bits. */
  brl_json j;
  CHECK_OK(brl__json_parse(out, len, &j));
  char buf[64];
  const int32_t str = j.nodes[0].child, arr = j.nodes[str].next;
  CHECK(brl__json_string(&j, str, buf, sizeof buf) == 15);
  CHECK(!strcmp(buf, "a\"b\\c\nd\te\rf\x01g\xc3\xa9"));
  int i = 0;
  for (int32_t e = j.nodes[arr].child; e >= 0; e = j.nodes[e].next, i++) {
    float r;
    CHECK(brl__json_float(&j, e, &r));
    CHECK(memcmp(&r, &f[i], sizeof r) == 0 || (isnan(r) && isnan(f[i])));
  }
  brl__json_free(&j);
  free(out);
  CHECK(brl__json_utf8_valid("plain \xc3\xa9 \xf0\x9f\x8c\xb2"));
  CHECK(!brl__json_utf8_valid("\xc0\xaf"));     /* overlong */
  CHECK(!brl__json_utf8_valid("\xed\xa0\x80")); /* surrogate */
  CHECK(!brl__json_utf8_valid("\xe2\x82"));     /* cut short */
}

static void kv_read(void) {
  const char *txt = "{\"a\": 1, \"b\": \"x\\\"y\\u00e9\", \"c\": true, "
                    "\"d\": null, \"e\": -2.5e-3}";
  brl_kv *kv;
  CHECK_OK(brl_kv_parse_json(txt, strlen(txt), &kv));
  CHECK(brl_kv_count(kv) == 5);
  CHECK(!strcmp(brl_kv_get(kv, "a"), "1") && !brl_kv_is_string(kv, 0));
  CHECK(!strcmp(brl_kv_get(kv, "b"), "x\"y\xc3\xa9") &&
        brl_kv_is_string(kv, 1));
  CHECK(!strcmp(brl_kv_get(kv, "c"), "true"));
  CHECK(!strcmp(brl_kv_get(kv, "d"), "null"));
  CHECK(!strcmp(brl_kv_get(kv, "e"), "-2.5e-3"));
  CHECK(!strcmp(brl_kv_key(kv, 4), "e") && brl_kv_key(kv, 5) == NULL);
  CHECK(brl_kv_get(kv, "zz") == NULL);
  brl_kv_free(&kv);
  CHECK(kv == NULL);
  brl_kv_free(&kv); /* NULL is fine */
  /* A surrogate pair is one code point: 4 bytes of UTF-8 (the command's
   * old reader wrote each half as 3 bytes, text no UTF-8 reader takes). */
  const char *pair = "{\"tree\": \"\\ud83c\\udf32\"}";
  CHECK_OK(brl_kv_parse_json(pair, strlen(pair), &kv));
  CHECK(kv && !strcmp(brl_kv_get(kv, "tree"), "\xf0\x9f\x8c\xb2"));
  brl_kv_free(&kv);
  CHECK_OK(brl_kv_parse_json(" { } ", 5, &kv));
  CHECK(brl_kv_count(kv) == 0);
  brl_kv_free(&kv);
  static const char *bad[] = {"",
                              "[1]",
                              "{\"a\" 1}",
                              "{\"a\": }",
                              "{\"a\": 1,}",
                              "{\"a\": {}}",
                              "{\"a\": [1]}",
                              "{\"a\": 1} x",
                              "{\"a\": \"x",
                              "{\"a\": 1 \"b\": 2}",
                              "{\"a\": 1, \"a\": 2}",
                              "{\"a\": tru}",
                              "{\"a\": \"x\\u0000y\"}",
                              "{a: 1}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kv = (brl_kv *)&kv; /* set to NULL on failure */
    int rc = brl_kv_parse_json(bad[i], strlen(bad[i]), &kv);
    CHECK_MSG(rc == BRL_EFORMAT && kv == NULL, "accepted bad JSON: %s", bad[i]);
    CHECK_MSG(strstr(brl_last_error(), "line 1, column") != NULL, "%s: %s",
              bad[i], brl_last_error());
  }
  const char *nested = "{\n  \"a\": 1,\n  \"b\": [2]\n}";
  CHECK(brl_kv_parse_json(nested, strlen(nested), &kv) == BRL_EFORMAT);
  CHECK_MSG(strstr(brl_last_error(), "line 3") &&
                strstr(brl_last_error(), "\"b\" is an array"),
            "%s", brl_last_error());
  CHECK(brl_kv_load_json("/nonexistent/config.json", &kv) == BRL_EIO);
}

static void kv_write(void) {
  brl_kv *kv;
  CHECK_OK(brl_kv_create(&kv));
  char *out;
  size_t len;
  CHECK_OK(brl_kv_dump_json(kv, &out, &len));
  CHECK(!strcmp(out, "{}\n") && len == 3);
  brl_free(out);
  CHECK_OK(brl_kv_set(kv, "env", "CartPole-v1", BRL_KV_STRING));
  CHECK_OK(brl_kv_set(kv, "seed", "7", BRL_KV_LITERAL));
  CHECK_OK(brl_kv_set(kv, "gamma", "0.99", BRL_KV_AUTO));
  CHECK_OK(brl_kv_set(kv, "flag", "true", BRL_KV_AUTO));
  CHECK_OK(brl_kv_set(kv, "name", "x\"y", BRL_KV_AUTO));
  CHECK_OK(brl_kv_set(kv, "inf", "inf", BRL_KV_AUTO)); /* not JSON: string */
  CHECK_OK(brl_kv_set(kv, "sp", " 1", BRL_KV_AUTO));   /* not bare: string */
  CHECK_OK(brl_kv_set(kv, "seed", "8", BRL_KV_AUTO));  /* replaced in place */
  CHECK(brl_kv_set(kv, "n", "1.", BRL_KV_LITERAL) == BRL_EINVAL);
  CHECK_MSG(strstr(brl_last_error(), "\"n\"") != NULL, "%s", brl_last_error());
  CHECK(brl_kv_set(kv, "n", "[1]", BRL_KV_LITERAL) == BRL_EINVAL);
  CHECK(brl_kv_set(kv, "n", "\xff", BRL_KV_STRING) == BRL_EINVAL);
  CHECK(brl_kv_set(kv, "\xff", "1", BRL_KV_AUTO) == BRL_EINVAL);
  CHECK(brl_kv_set(kv, "n", "1", (brl_kv_kind)9) == BRL_EINVAL);
  CHECK(brl_kv_count(kv) == 7);
  CHECK_OK(brl_kv_dump_json(kv, &out, &len));
  CHECK_MSG(!strcmp(out, "{\n  \"env\": \"CartPole-v1\",\n  \"seed\": 8,\n"
                         "  \"gamma\": 0.99,\n  \"flag\": true,\n"
                         "  \"name\": \"x\\\"y\",\n  \"inf\": \"inf\",\n"
                         "  \"sp\": \" 1\"\n}\n"),
            "%s", out);
  /* Written, read back: the same pairs. */
  brl_kv *back;
  CHECK_OK(brl_kv_parse_json(out, len, &back));
  CHECK(brl_kv_count(back) == brl_kv_count(kv));
  for (int i = 0; i < brl_kv_count(kv) && back; i++) {
    CHECK(!strcmp(brl_kv_key(kv, i), brl_kv_key(back, i)));
    CHECK(!strcmp(brl_kv_value(kv, i), brl_kv_value(back, i)));
    CHECK(brl_kv_is_string(kv, i) == brl_kv_is_string(back, i));
  }
  brl_kv_free(&back);
  brl_free(out);
  brl_kv_free(&kv);
}

int main(void) {
  reader_errors();
  reader_limits();
  reader_values();
  writer();
  kv_read();
  kv_write();
  return brl_test_report("test_json");
}
