/* libFuzzer target: the settings reader (brl_kv_parse_json: a run's
 * config.json, train --config files) must reject any malformed text with an
 * error, never crash, hang or leak. What it accepts must dump -> parse ->
 * dump to the same text, with the same pairs. */
#include "boostrl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  brl_kv *kv = NULL, *kv2 = NULL;
  if (brl_kv_parse_json((const char *)data, size, &kv) != BRL_OK)
    return 0;
  char *j1 = NULL, *j2 = NULL;
  size_t l1 = 0, l2 = 0;
  if (brl_kv_dump_json(kv, &j1, &l1) != BRL_OK ||
      brl_kv_parse_json(j1, l1, &kv2) != BRL_OK ||
      brl_kv_dump_json(kv2, &j2, &l2) != BRL_OK || l1 != l2 ||
      memcmp(j1, j2, l1) != 0 || brl_kv_count(kv) != brl_kv_count(kv2))
    abort(); /* what parses must dump and reparse identically */
  for (int i = 0; i < brl_kv_count(kv); i++) {
    const char *v = brl_kv_value(kv, i);
    if (strcmp(brl_kv_key(kv, i), brl_kv_key(kv2, i)) ||
        strcmp(v, brl_kv_value(kv2, i)) ||
        brl_kv_get(kv, brl_kv_key(kv, i)) != v)
      abort();
  }
  brl_free(j1);
  brl_free(j2);
  brl_kv_free(&kv);
  brl_kv_free(&kv2);
  return 0;
}
