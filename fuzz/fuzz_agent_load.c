/* libFuzzer target: the agent loader must reject any malformed buffer with
 * an error, never crash, hang or leak. What it accepts must act, and save
 * -> load -> save must give the same bytes.
 *
 * Whatever n_steps or buffer_size a file declares, loading allocates in
 * proportion to its bytes (the rollout and replay buffers are allocated on
 * first use): run with -malloc_limit_mb to check it. */
#include "boostrl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  brl_agent *a = NULL, *a2 = NULL;
  if (brl_agent_load_buffer(data, size, &a) != BRL_OK)
    return 0;
  const int d = brl_agent_obs_dim(a);
  brl_action_space sp;
  brl_agent_get_action_space(a, &sp);
  float *obs = calloc((size_t)d, sizeof(float));
  float act[BRL_MAX_ACTION_DIM];
  if (brl_agent_mask_dim(a) == 0 &&
      brl_agent_act(a, obs, 1, NULL, 1, act, NULL, NULL) != BRL_OK)
    abort();
  free(obs);
  void *b1 = NULL, *b2 = NULL;
  size_t l1 = 0, l2 = 0;
  if (brl_agent_save_buffer(a, &b1, &l1) != BRL_OK ||
      brl_agent_load_buffer(b1, l1, &a2) != BRL_OK ||
      brl_agent_save_buffer(a2, &b2, &l2) != BRL_OK || l1 != l2 ||
      memcmp(b1, b2, l1) != 0)
    abort(); /* what loads must save and reload identically */
  brl_free(b1);
  brl_free(b2);
  brl_agent_free(&a);
  brl_agent_free(&a2);
  return 0;
}
