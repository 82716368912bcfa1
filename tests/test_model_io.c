/* Model files: save -> load gives bit-identical predictions (file and
 * buffer); every flipped byte and every truncation of a small file is
 * rejected with BRL_EFORMAT; a well-formed container holding invalid
 * values is rejected; I/O errors name the path. */
#include "testlib.h"
#include "util.h"

#include "core/container.h"

#include <math.h>
#include <stdio.h>

static void check_roundtrip(int grow, int groups, uint64_t seed) {
  const int n = 120, d = 5;
  brl_rng r;
  brl_rng_seed(&r, seed);
  float *X = rand_matrix(&r, n, d, 0.1);
  brl_params p;
  brl_params_default(&p, d, 2);
  p.grow_policy = grow;
  p.max_depth = 3;
  if (groups == 2) {
    p.n_groups = 2;
    p.groups[1] = p.groups[0];
    p.groups[1].n_outputs = 1;
    p.groups[1].schedule = BRL_SCHEDULE_LINEAR_TREES;
    p.groups[1].schedule_trees = 7;
    p.groups[1].lr_end = 0.01f;
  }
  brl_model *m = grow_random(&p, X, n, 15, seed);
  CHECK(m != NULL);
  if (!m)
    return;
  float bias[3] = {0.5f, -1.25f, 3.0f};
  CHECK_OK(brl_model_set_bias(m, bias));
  const char *path = "test_model_io.brl";
  CHECK_OK(brl_model_save(m, path));
  brl_model *m2 = NULL;
  CHECK_OK(brl_model_load(path, &m2));
  remove(path);
  if (!m2) {
    brl_model_free(&m);
    free(X);
    return;
  }
  int K = brl_model_n_outputs(m);
  float *a = malloc(sizeof(float) * (size_t)(n * K));
  float *b = malloc(sizeof(float) * (size_t)(n * K));
  CHECK_OK(brl_model_predict(m, X, n, 0, -1, a));
  CHECK_OK(brl_model_predict(m2, X, n, 0, -1, b));
  CHECK(memcmp(a, b, sizeof(float) * (size_t)(n * K)) == 0);
  CHECK(brl_model_n_trees(m2) == 15);
  brl_params p2;
  CHECK_OK(brl_model_params(m2, &p2));
  CHECK(memcmp(&p, &p2, sizeof p) == 0);
  /* Saving the loaded model gives the same bytes. */
  void *b1, *b2;
  size_t l1, l2;
  CHECK_OK(brl_model_save_buffer(m, &b1, &l1));
  CHECK_OK(brl_model_save_buffer(m2, &b2, &l2));
  CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0);
  brl_free(b1);
  brl_free(b2);
  free(a);
  free(b);
  brl_model_free(&m);
  brl_model_free(&m2);
  free(X);
}

static void check_corruption(void) {
  const int n = 40, d = 2;
  brl_rng r;
  brl_rng_seed(&r, 77);
  float *X = rand_matrix(&r, n, d, 0);
  brl_params p;
  brl_params_default(&p, d, 1);
  p.max_depth = 2;
  brl_model *m = grow_random(&p, X, n, 2, 1);
  void *buf;
  size_t len;
  CHECK_OK(brl_model_save_buffer(m, &buf, &len));
  uint8_t *c = malloc(len);
  int all_flips = 1, all_truncs = 1;
  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(c, buf, len);
      c[i] ^= (uint8_t)(1u << bit);
      brl_model *bad = NULL;
      int rc = brl_model_load_buffer(c, len, &bad);
      all_flips &= rc == BRL_EFORMAT && bad == NULL && brl_last_error()[0];
      brl_model_free(&bad);
    }
  for (size_t l = 0; l < len; l++) {
    brl_model *bad = NULL;
    int rc = brl_model_load_buffer(buf, l, &bad);
    all_truncs &= rc == BRL_EFORMAT && bad == NULL;
    brl_model_free(&bad);
  }
  CHECK_MSG(all_flips, "a flipped bit was accepted");
  CHECK_MSG(all_truncs, "a truncated buffer was accepted");
  /* Bad values behind a valid checksum: rewrite feature 0 of split 0 to a
   * feature that does not exist, then fix the checksum. */
  brl_container ct;
  CHECK_OK(brl__container_open(buf, len, &ct));
  brl_reader tr;
  CHECK(brl__container_find(&ct, "M0TR", &tr));
  size_t off = (size_t)(tr.p - (const uint8_t *)buf) + 4 + 2 * 2;
  memcpy(c, buf, len);
  c[off] = 9; /* feature 9 of 2 */
  uint32_t crc = brl__crc32(c, len - 4);
  for (int i = 0; i < 4; i++)
    c[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
  brl_model *bad = NULL;
  CHECK(brl_model_load_buffer(c, len, &bad) == BRL_EFORMAT);
  CHECK_MSG(strstr(brl_last_error(), "feature 9") != NULL, "%s",
            brl_last_error());
  /* A NaN in the leaf arrays (values, then covers, end the last chunk),
   * checksum fixed. */
  memcpy(c, buf, len);
  size_t leaf0 = len - 4 - 4 * 6;
  float nanv = NAN;
  memcpy(c + leaf0, &nanv, 4);
  crc = brl__crc32(c, len - 4);
  for (int i = 0; i < 4; i++)
    c[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
  CHECK(brl_model_load_buffer(c, len, &bad) == BRL_EFORMAT);
  /* Future format versions are refused with advice. */
  memcpy(c, buf, len);
  c[4] = 99;
  crc = brl__crc32(c, len - 4);
  for (int i = 0; i < 4; i++)
    c[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
  CHECK(brl_model_load_buffer(c, len, &bad) == BRL_EFORMAT);
  CHECK(strstr(brl_last_error(), "version 99") != NULL);
  free(c);
  brl_free(buf);
  brl_model_free(&m);
  free(X);
}

static void check_io_errors(void) {
  brl_model *m = NULL;
  CHECK(brl_model_load("/nonexistent/dir/model.brl", &m) == BRL_EIO);
  CHECK(strstr(brl_last_error(), "/nonexistent/dir/model.brl") != NULL);
  CHECK(m == NULL);
  brl_params p;
  brl_params_default(&p, 2, 1);
  CHECK_OK(brl_model_create(&p, &m));
  CHECK(brl_model_save(m, "/nonexistent/dir/model.brl") == BRL_EIO);
  brl_model *m2 = NULL;
  CHECK(brl_model_load_buffer("not a model at all", 18, &m2) == BRL_EFORMAT);
  CHECK(m2 == NULL);
  brl_model_free(&m);
}

int main(void) {
  for (int grow = 0; grow < 2; grow++)
    for (int groups = 1; groups <= 2; groups++)
      check_roundtrip(grow, groups, 10 + (uint64_t)grow * 2 + (uint64_t)groups);
  check_corruption();
  check_io_errors();
  return brl_test_report("test_model_io");
}
