/* libFuzzer target: brl_env_load_buffer must reject any malformed buffer
 * with an error and leave the env as it was; what it accepts must save ->
 * load -> save to the same bytes. The first byte picks the environment,
 * the second its number of copies (1 to 4); the rest is the file. */
#include "boostrl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static brl_env *make(const uint8_t *data) {
  const char *const *ids = brl_env_ids();
  int n = 0;
  while (ids[n])
    n++;
  brl_env *e = NULL;
  if (brl_env_make(ids[data[0] % n], 1 + data[1] % 4, 7, &e) != BRL_OK)
    abort();
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  brl_env *e = make(data), *e2 = make(data);
  void *b0 = NULL, *b1 = NULL, *b2 = NULL;
  size_t l0 = 0, l1 = 0, l2 = 0;
  if (brl_env_save_buffer(e, &b0, &l0) != BRL_OK)
    abort();
  if (brl_env_load_buffer(e, data + 2, size - 2) != BRL_OK) {
    /* Rejected: the env is unchanged. */
    if (brl_env_save_buffer(e, &b1, &l1) != BRL_OK || l0 != l1 ||
        memcmp(b0, b1, l0) != 0)
      abort();
  } else if (brl_env_save_buffer(e, &b1, &l1) != BRL_OK ||
             brl_env_load_buffer(e2, b1, l1) != BRL_OK ||
             brl_env_save_buffer(e2, &b2, &l2) != BRL_OK || l1 != l2 ||
             memcmp(b1, b2, l1) != 0) {
    abort(); /* what loads must save and reload identically */
  }
  brl_free(b0);
  brl_free(b1);
  brl_free(b2);
  brl_env_free(&e);
  brl_env_free(&e2);
  return 0;
}
