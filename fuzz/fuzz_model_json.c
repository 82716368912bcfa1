/* libFuzzer target: the JSON model loader must reject any malformed text
 * with an error, never crash, hang or leak. What it accepts must dump ->
 * load -> dump to the same text, and save the same binary file as its
 * reloaded copy. */
#include "boostrl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  brl_model *m = NULL, *m2 = NULL;
  if (brl_model_load_json((const char *)data, size, &m) != BRL_OK)
    return 0;
  char *j1 = NULL, *j2 = NULL;
  size_t l1 = 0, l2 = 0;
  int rc = brl_model_dump_json(m, &j1, &l1);
  if (rc == BRL_EUNSUPPORTED) { /* a category that is not UTF-8 */
    brl_model_free(&m);
    return 0;
  }
  if (rc != BRL_OK || brl_model_load_json(j1, l1, &m2) != BRL_OK ||
      brl_model_dump_json(m2, &j2, &l2) != BRL_OK || l1 != l2 ||
      memcmp(j1, j2, l1) != 0)
    abort(); /* what loads must dump and reload identically */
  void *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  if (brl_model_save_buffer(m, &b1, &n1) != BRL_OK ||
      brl_model_save_buffer(m2, &b2, &n2) != BRL_OK || n1 != n2 ||
      memcmp(b1, b2, n1) != 0)
    abort();
  brl_free(b1);
  brl_free(b2);
  brl_free(j1);
  brl_free(j2);
  brl_model_free(&m);
  brl_model_free(&m2);
  return 0;
}
