/* The bins of a batch whose rows are spread over the ranks of a
 * communicator: the same edges and categories that one batch of all the
 * ranks' rows would have. */
#ifndef BRL_ENGINE_FIT_BINS_H
#define BRL_ENGINE_FIT_BINS_H

#include "boostrl.h"

/* A batch of this rank's n rows (n >= 1) binned as brl_batch_create_cat
 * would bin the concatenation of every rank's rows in rank order: numeric
 * edges from the global quantiles (or range) and categorical columns
 * keeping the globally most frequent codes. Collective over c; what it
 * exchanges does not grow with the rows (docs/SCALING.md, "Supervised fit
 * on sharded rows"). Every rank returns the same status. */
int brl__batch_create_global(const brl_model *m, const float *X,
                             const int32_t *X_cat, int64_t n, brl_comm *c,
                             brl_batch **out);

#endif
