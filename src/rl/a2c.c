/* A2C on the trees: one tree per ensemble per rollout, from every sample of
 * the rollout, advantages normalised over the rollout when asked. */
#include "rl/agent.h"

int brl__a2c_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, float progress,
                   brl_update_acc *acc) {
  const int64_t N = a->n_train; /* the rollout's valid rows */
  double lsg[BRL_MAX_ACTION_DIM];
  double *ls = a->gauss && !a->tree_log_std ? lsg : NULL;
  const float *ppi, *pvf;
  int rc = brl__train_preds(a, bpi, bvf, &ppi, &pvf);
  if (!rc)
    rc = brl__minibatch_adv(a, NULL, N);
  if (!rc)
    rc = brl__minibatch_grads(a, ppi, pvf, NULL, N, acc, ls);
  if (!rc)
    rc = brl__minibatch_step(a, bpi, bvf, NULL, N, progress, ls);
  return rc;
}
