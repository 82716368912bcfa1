/* Feature importances: split counts and total score gain per feature, over
 * the splits stored in the trees (pass-through nodes excluded). */
#include "core/error.h"
#include "engine/model.h"

#include <string.h>

int brl_model_feature_importance(const brl_model *m, brl_importance kind,
                                 double *out) {
  BRL_CHECK_ARG(m);
  BRL_CHECK_ARG(out);
  if (kind != BRL_IMPORTANCE_SPLITS && kind != BRL_IMPORTANCE_GAIN)
    return brl__fail(BRL_EINVAL,
                     "importance kind %d: use BRL_IMPORTANCE_SPLITS or "
                     "BRL_IMPORTANCE_GAIN",
                     (int)kind);
  memset(out, 0, (size_t)m->n_feat * sizeof(double));
  const brl_trees *T = &m->trees;
  const int64_t ns = T->n ? T->split_off[T->n] : 0;
  for (int64_t s = 0; s < ns; s++) {
    if (BRL_SPLIT_FLAGS(T->split[s]) & BRL_SPLIT_PASS)
      continue;
    out[BRL_SPLIT_FEATURE(T->split[s])] +=
        kind == BRL_IMPORTANCE_SPLITS ? 1.0 : (double)T->gain[s];
  }
  return BRL_OK;
}
