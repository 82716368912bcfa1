/* boostrl_mpi: a brl_comm over MPI (library boostrl_mpi, built when CMake
 * finds MPI: -DBRL_MPI=ON|OFF|AUTO). libboostrl itself never links MPI;
 * a program that trains across processes links this library too and hands
 * the communicator to the collective calls (docs/SCALING.md).
 *
 *   brl_comm *c;
 *   if (brl_comm_mpi_world(&argc, &argv, &c) != BRL_OK)
 *     fprintf(stderr, "%s\n", brl_last_error());
 *   brl_fit_comm(m, X, NULL, y, n_local, &fp, c);   (every rank)
 *   brl_comm_free(&c);
 *
 * Launch with mpirun -np N (one machine or a hostfile) or srun under SLURM.
 * The communicator works on a duplicate of the MPI communicator given, with
 * the error handler MPI_ERRORS_RETURN, so an MPI failure becomes
 * BRL_ECOMM with MPI's error string instead of ending the process; the
 * caller's communicator is left as it was. Counts above INT_MAX are sent in
 * chunks. A rank that dies is MPI's to detect (mpirun ends the job). */
#ifndef BOOSTRL_MPI_H
#define BOOSTRL_MPI_H

#include "boostrl.h"

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A communicator over a duplicate of comm (rank and size are comm's).
 * MPI must be initialised (MPI_Init or MPI_Init_thread) and not finalised:
 * else BRL_ESTATE. brl_comm_free frees the duplicate (when MPI is still
 * running). Collective over comm. */
BRL_API int brl_comm_mpi_new(MPI_Comm comm, brl_comm **out);

/* The same over MPI_COMM_WORLD, initialising MPI first when the program has
 * not (MPI_Init with argc/argv, which may be NULL; then MPI_Finalize runs
 * at exit). Collective over every process of the job. */
BRL_API int brl_comm_mpi_world(int *argc, char ***argv, brl_comm **out);

#ifdef __cplusplus
}
#endif

#endif
