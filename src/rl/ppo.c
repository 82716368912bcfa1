/* PPO on the trees: n_epochs passes over the rollout in shuffled
 * minibatches, one tree per ensemble and minibatch, advantages normalised per
 * minibatch, early stop when the minibatch's approximate KL exceeds
 * 1.5 * target_kl (checked before its tree, as stable-baselines3 does). */
#include "rl/agent.h"

int brl__ppo_train(brl_agent *a, brl_batch *bpi, brl_batch *bvf, float progress,
                   brl_update_acc *acc, int *epochs_done) {
  const brl_agent_config *c = &a->cfg;
  const int64_t N = a->n_train; /* the rollout's valid rows */
  const int64_t bs = c->batch_size < N ? c->batch_size : N;
  double lsg[BRL_MAX_ACTION_DIM];
  double *ls = a->gauss && !a->tree_log_std ? lsg : NULL;
  *epochs_done = 0;
  for (int64_t i = 0; i < N; i++)
    a->perm[i] = (int32_t)i;
  for (int epoch = 0; epoch < c->n_epochs; epoch++) {
    /* Fisher-Yates from the agent's generator. */
    for (int64_t i = N - 1; i > 0; i--) {
      int64_t j = (int64_t)brl_rng_below(&a->rng, (uint64_t)i + 1);
      int32_t t = a->perm[i];
      a->perm[i] = a->perm[j];
      a->perm[j] = t;
    }
    *epochs_done = epoch + 1;
    for (int64_t start = 0; start < N; start += bs) {
      const int64_t n = start + bs <= N ? bs : N - start;
      int stop;
      int rc = brl__minibatch(a, bpi, bvf, a->perm + start, n, progress, 1, acc,
                              ls, &stop);
      if (rc || stop)
        return rc;
    }
  }
  return 0;
}
