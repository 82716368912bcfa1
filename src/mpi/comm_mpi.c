/* brl_comm over MPI: the four collectives of brl_comm_ops on a duplicate of
 * the caller's communicator, with MPI_ERRORS_RETURN so that failures come
 * back as statuses. MPI counts are int: larger transfers go in chunks. */
#include "boostrl_mpi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mpi_ctx {
  MPI_Comm comm;
  int rank, size;
  int64_t chunk; /* most elements or bytes per MPI call (INT_MAX) */
  int *rcounts;  /* size: per-rank byte counts of one allgatherv */
  int *displs;   /* size */
} mpi_ctx;

/* Sets brl_last_error() from an MPI error code; returns the code. */
static int mpi_fail(int code, const char *call) {
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "MPI error %d", code);
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", call, text);
  brl_set_error(BRL_ECOMM, msg);
  return code;
}

static int allreduce(mpi_ctx *x, void *data, int64_t n, MPI_Datatype type,
                     size_t elem, MPI_Op op) {
  for (int64_t at = 0; at < n; at += x->chunk) {
    int64_t k = n - at < x->chunk ? n - at : x->chunk;
    int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)data + (size_t)at * elem,
                           (int)k, type, op, x->comm);
    if (rc != MPI_SUCCESS)
      return mpi_fail(rc, "MPI_Allreduce");
  }
  return 0;
}

static int sum_i64(void *ctx, int64_t *data, int64_t n) {
  return allreduce(ctx, data, n, MPI_INT64_T, sizeof(int64_t), MPI_SUM);
}

static int max_f64(void *ctx, double *data, int64_t n) {
  return allreduce(ctx, data, n, MPI_DOUBLE, sizeof(double), MPI_MAX);
}

static int bcast_bytes(mpi_ctx *x, void *data, int64_t bytes, int root) {
  for (int64_t at = 0; at < bytes; at += x->chunk) {
    int64_t k = bytes - at < x->chunk ? bytes - at : x->chunk;
    int rc = MPI_Bcast((char *)data + at, (int)k, MPI_BYTE, root, x->comm);
    if (rc != MPI_SUCCESS)
      return mpi_fail(rc, "MPI_Bcast");
  }
  return 0;
}

static int bcast(void *ctx, void *data, int64_t bytes, int root) {
  return bcast_bytes(ctx, data, bytes, root);
}

/* One MPI_Allgatherv when every count and offset fits an int; else each
 * rank's part is broadcast from it, in chunks. */
static int gather(mpi_ctx *x, const void *send, int in_place, char *out,
                  const int64_t *counts, int64_t total, int64_t mine) {
  if (total <= x->chunk) {
    for (int r = 0, at = 0; r < x->size; r++) {
      x->rcounts[r] = (int)counts[r];
      x->displs[r] = at;
      at += (int)counts[r];
    }
    int rc =
        MPI_Allgatherv(in_place ? MPI_IN_PLACE : send, (int)counts[x->rank],
                       MPI_BYTE, out, x->rcounts, x->displs, MPI_BYTE, x->comm);
    return rc == MPI_SUCCESS ? 0 : mpi_fail(rc, "MPI_Allgatherv");
  }
  if (counts[x->rank] > 0 && !in_place)
    memcpy(out + mine, send, (size_t)counts[x->rank]);
  int64_t at = 0;
  for (int r = 0; r < x->size; r++) {
    int rc = bcast_bytes(x, out + at, counts[r], r);
    if (rc)
      return rc;
    at += counts[r];
  }
  return 0;
}

static int allgatherv(void *ctx, const void *send, void *recv,
                      const int64_t *counts) {
  mpi_ctx *x = ctx;
  int64_t total = 0, mine = 0;
  for (int r = 0; r < x->size; r++) {
    if (r == x->rank)
      mine = total;
    total += counts[r];
  }
  char *out = recv;
  /* MPI forbids send and recv to overlap: a rank whose part is already in
   * place sends MPI_IN_PLACE; another overlap goes through a copy. */
  const int in_place = send == out + mine;
  void *copy = NULL;
  if (!in_place && counts[x->rank] > 0 && (const char *)send < out + total &&
      (const char *)send + counts[x->rank] > out) {
    copy = malloc((size_t)counts[x->rank]);
    if (!copy)
      return mpi_fail(MPI_ERR_NO_MEM, "allgatherv: a copy of the send buffer");
    memcpy(copy, send, (size_t)counts[x->rank]);
    send = copy;
  }
  int rc = gather(x, send, in_place, out, counts, total, mine);
  free(copy);
  return rc;
}

static void destroy(void *ctx) {
  mpi_ctx *x = ctx;
  if (!x)
    return;
  int fin = 1;
  MPI_Finalized(&fin);
  if (!fin && x->comm != MPI_COMM_NULL)
    MPI_Comm_free(&x->comm);
  free(x->rcounts);
  free(x->displs);
  free(x);
}

/* The chunk size: INT_MAX, or BRL_MPI_CHUNK (tests: small values make the
 * chunked paths run on small messages). */
static int64_t chunk_size(void) {
  const char *s = getenv("BRL_MPI_CHUNK");
  if (s && *s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && v >= 1 && v <= INT_MAX)
      return v;
  }
  return INT_MAX;
}

int brl_comm_mpi_new(MPI_Comm comm, brl_comm **out) {
  if (!out)
    return brl_set_error(BRL_EINVAL, "brl_comm_mpi_new: argument 'out' is "
                                     "NULL");
  *out = NULL;
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (!init || fin)
    return brl_set_error(BRL_ESTATE,
                         "brl_comm_mpi_new: MPI is not running (call "
                         "MPI_Init first, or use brl_comm_mpi_world)");
  if (comm == MPI_COMM_NULL)
    return brl_set_error(BRL_EINVAL, "brl_comm_mpi_new: comm is "
                                     "MPI_COMM_NULL");
  mpi_ctx *x = calloc(1, sizeof *x);
  if (!x)
    return brl_set_error(BRL_ENOMEM, "out of memory for an MPI communicator");
  x->comm = MPI_COMM_NULL;
  int rc = MPI_Comm_dup(comm, &x->comm);
  if (rc != MPI_SUCCESS) {
    mpi_fail(rc, "brl_comm_mpi_new: MPI_Comm_dup");
    free(x);
    return BRL_ECOMM;
  }
  MPI_Comm_set_errhandler(x->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(x->comm, &x->rank);
  MPI_Comm_size(x->comm, &x->size);
  x->chunk = chunk_size();
  x->rcounts = malloc((size_t)x->size * sizeof(int));
  x->displs = malloc((size_t)x->size * sizeof(int));
  if (!x->rcounts || !x->displs) {
    destroy(x);
    return brl_set_error(BRL_ENOMEM, "out of memory for an MPI communicator");
  }
  static const brl_comm_ops ops = {sizeof(brl_comm_ops), sum_i64, max_f64,
                                   allgatherv,           bcast,   destroy};
  rc = brl_comm_new(&ops, x, x->rank, x->size, out);
  if (rc)
    destroy(x);
  return rc;
}

static void finalize_at_exit(void) {
  int fin = 1;
  MPI_Finalized(&fin);
  if (!fin)
    MPI_Finalize();
}

int brl_comm_mpi_world(int *argc, char ***argv, brl_comm **out) {
  if (!out)
    return brl_set_error(BRL_EINVAL, "brl_comm_mpi_world: argument 'out' is "
                                     "NULL");
  *out = NULL;
  int init = 0;
  MPI_Initialized(&init);
  if (!init) {
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) {
      mpi_fail(rc, "brl_comm_mpi_world: MPI_Init");
      return BRL_ECOMM;
    }
    atexit(finalize_at_exit);
  }
  return brl_comm_mpi_new(MPI_COMM_WORLD, out);
}
