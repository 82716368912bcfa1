/* A2C on the trees: one tree per ensemble per rollout, from every sample of
 * the rollout, advantages normalised over the rollout when asked. */
#include "rl/agent.h"

int brl__a2c_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, float progress,
                   brl_update_acc *acc) {
  const brl_agent_config *c = &a->cfg;
  const int64_t N = a->n_train; /* the rollout's valid rows */
  double lsg[BRL_MAX_ACTION_DIM];
  double *ls = a->gauss && !a->tree_log_std ? lsg : NULL;
  const float *ppi, *pvf = NULL;
  int rc = brl_batch_predictions(bpi, a->pi, &ppi);
  if (!rc && bvf)
    rc = brl_batch_predictions(bvf, a->vf, &pvf);
  if (!rc) {
    if (c->normalize_advantage)
      rc = brl__normalize_advantages(a->adv, NULL, N, a->adv_mb);
    else
      for (int64_t k = 0; k < N; k++)
        a->adv_mb[k] = a->adv[k];
  }
  if (!rc)
    rc = brl__minibatch_grads(a, ppi, pvf, NULL, N, acc, ls);
  if (!rc)
    rc = brl__minibatch_step(a, bpi, bvf, NULL, N, progress, ls);
  return rc;
}
