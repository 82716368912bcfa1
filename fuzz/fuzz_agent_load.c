/* libFuzzer target: the agent loader must reject any malformed buffer with
 * an error, never crash, hang or leak. What it accepts must act, and save
 * -> load -> save must give the same bytes.
 *
 * An agent's rollout and replay buffers follow its configuration (n_steps,
 * buffer_size, batch_size), as they do for brl_agent_create: files whose
 * configuration asks for more working memory than a fuzzing process has
 * are skipped here, not rejected by the library. */
#include "boostrl.h"
#include "core/container.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Rows x columns of the largest buffers the configuration in AGCF asks for
 * (an over-estimate); 0 when there is no readable configuration. */
static double working_set(const uint8_t *data, size_t size) {
  brl_container c;
  brl_reader r, s;
  if (brl__container_open(data, size, &c) ||
      !brl__container_find(&c, "AGCF", &r) ||
      !brl__container_find(&c, "AGSP", &s) || s.len < 8)
    return 0;
  brl_agent_config cfg;
  brl_agent_config_default(&cfg, BRL_ALGO_PPO);
  char line[160];
  for (size_t i = 0; i < r.len;) {
    size_t j = i;
    while (j < r.len && r.p[j] != '\n')
      j++;
    if (j - i < sizeof line) {
      memcpy(line, r.p + i, j - i);
      line[j - i] = 0;
      char *eq = strchr(line, '=');
      if (eq) {
        *eq = 0;
        brl_agent_config_set(&cfg, line, eq + 1);
      }
    }
    i = j + 1;
  }
  double d =
      (double)(s.p[4] | s.p[5] << 8 | s.p[6] << 16 | (uint32_t)s.p[7] << 24);
  double steps = cfg.n_steps > cfg.train_freq ? cfg.n_steps : cfg.train_freq;
  double rows = cfg.n_envs * steps + cfg.buffer_size + cfg.batch_size;
  return rows * (d + 2 + 256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (working_set(data, size) > 1e7)
    return 0;
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
