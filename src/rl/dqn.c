/* DQN on the trees: gradient_steps trees per training call, each from a
 * random minibatch of the buffer: target y = r + gamma (1 - terminated)
 * max_a' Q_target(s', a'), loss huber(Q(s, a) - y). The target network is
 * the prefix [0, qt_trees) of the ensemble (DESIGN §2); whenever the tree
 * count reaches a multiple of target_update_interval the prefix moves there
 * and the cached prefix outputs over next_obs get the trees in between. */
#include "core/error.h"
#include "rl/agent.h"

#include <math.h>
#include <string.h>

int brl__dqn_train(brl_agent *a, brl_batch *bq, int64_t n, float progress,
                   brl_update_acc *acc) {
  const brl_agent_config *c = &a->cfg;
  brl_replay *rb = &a->rb;
  const int K = a->pi_K;
  const int64_t bs = c->batch_size < n ? c->batch_size : n;
  for (int step = 0; step < c->gradient_steps; step++) {
    for (int64_t k = 0; k < bs; k++)
      a->perm[k] = (int32_t)brl__replay_sample(a, n);
    const float *q;
    int rc = brl_batch_predictions(bq, a->pi, &q);
    if (rc)
      return rc;
    for (int64_t k = 0; k < bs; k++) {
      const int64_t i = a->perm[k];
      double y, loss;
      if ((rc = brl__dqn_target(rb->qt + i * K, NULL, K, rb->rew[i], c->gamma,
                                rb->term[i], &y)) ||
          (rc = brl__dqn_loss(q + i * K, K, (int)rb->act[i], y, a->g_pi + k * K,
                              &loss)))
        return rc;
      acc->pg_loss += loss;
      acc->v_loss += q[i * K + (int)rb->act[i]];
    }
    acc->n += (double)bs;
    if ((rc = brl_model_step(a->pi, bq, a->perm, bs, a->g_pi, progress)))
      return rc;
    const int nt = brl_model_n_trees(a->pi);
    if (nt % c->target_update_interval == 0 && nt > rb->qt_trees) {
      if ((rc = brl__replay_advance(a, a->pi, rb->next_obs, n, rb->qt_trees, nt,
                                    rb->qt)))
        return rc;
      rb->qt_trees = nt;
    }
  }
  return BRL_OK;
}
