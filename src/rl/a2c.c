/* A2C on the trees: one tree per ensemble per rollout, from every sample of
 * the rollout, advantages normalised over the rollout when asked. */
#include "rl/agent.h"

int brl__a2c_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, float progress,
                   brl_update_acc *acc) {
  const int64_t N = a->n_train; /* the rollout's valid rows */
  double lsg[BRL_MAX_ACTION_DIM];
  double *ls = a->gauss && !a->tree_log_std ? lsg : NULL;
  int stop;
  return brl__minibatch(a, bpi, bvf, NULL, N, progress, 0, acc, ls, &stop);
}
