/* An in-process communicator for tests: N ranks as N threads, so the
 * collective code paths (brl_comm) run without MPI. */
#ifndef BRL_TEST_COMM_THREADS_H
#define BRL_TEST_COMM_THREADS_H

#include "boostrl.h"

/* The body of one rank: returns a brl status. */
typedef int (*brl_test_rank_fn)(brl_comm *c, void *arg);

/* Runs fn on n threads, rank r with a communicator of rank r of n, and
 * joins them. rcs (n ints, may be NULL) receives each rank's status.
 * Returns 0 when every rank returned 0, else the first nonzero status. */
int brl_test_run_ranks(int n, brl_test_rank_fn fn, void *arg, int *rcs);

#endif
