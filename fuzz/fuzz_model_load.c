/* libFuzzer target: the binary model loader must reject any malformed
 * buffer with an error, never crash, hang or leak. What it accepts must
 * predict, and save -> load -> save must give the same bytes. */
#include "boostrl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  brl_model *m = NULL;
  if (brl_model_load_buffer(data, size, &m) != BRL_OK)
    return 0;
  /* Accepted: it must predict and save again. */
  int d = brl_model_n_features(m), k = brl_model_n_outputs(m);
  int c = brl_model_n_all_features(m) - d;
  float *x = calloc((size_t)d + 1, sizeof(float));
  int32_t *xc = calloc((size_t)c + 1, sizeof(int32_t));
  float *out = calloc((size_t)k, sizeof(float));
  if (x && xc && out &&
      brl_model_predict_cat(m, x, xc, 1, 0, -1, out) != BRL_OK)
    abort();
  free(x);
  free(xc);
  free(out);
  void *b1 = NULL, *b2 = NULL;
  size_t l1 = 0, l2 = 0;
  brl_model *m2 = NULL;
  if (brl_model_save_buffer(m, &b1, &l1) != BRL_OK)
    abort();
  if (brl_model_load_buffer(b1, l1, &m2) != BRL_OK ||
      brl_model_save_buffer(m2, &b2, &l2) != BRL_OK || l1 != l2 ||
      memcmp(b1, b2, l1) != 0)
    abort(); /* what loads must save and reload identically */
  brl_free(b1);
  brl_free(b2);
  brl_model_free(&m2);
  brl_model_free(&m);
  return 0;
}
