/* libFuzzer target: the model loader must reject any malformed buffer with
 * an error, never crash, hang or leak. Valid inputs must round-trip. */
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
  free(xc);
  void *buf;
  size_t len;
  if (brl_model_save_buffer(m, &buf, &len) == BRL_OK)
    brl_free(buf);
  free(x);
  free(out);
  brl_model_free(&m);
  return 0;
}
