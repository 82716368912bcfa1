/* boostrl._core: a brl_comm over an mpi4py communicator. Each collective
 * calls back into mpi4py (Allreduce, Allgatherv, Bcast on buffers over the
 * library's memory), so the extension itself does not link MPI and works
 * with whatever MPI mpi4py was built against. The callbacks take the GIL
 * (the agent calls run with it released). */
#include "brl_py.h"

#include <stdio.h>

typedef struct py_comm {
  PyObject *comm;     /* the mpi4py communicator */
  PyObject *in_place; /* MPI.IN_PLACE */
  PyObject *sum, *max;
  PyObject *byte, *i64, *f64; /* MPI.BYTE, MPI.INT64_T, MPI.DOUBLE */
  int rank, size;
} py_comm;

/* The pending Python exception as this thread's brl error; 1. */
static int py_fail(const char *what) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyObject *s = value ? PyObject_Str(value) : NULL;
  const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
  char buf[400];
  snprintf(buf, sizeof buf, "mpi4py %s failed: %s", what,
           msg ? msg : "(no message)");
  PyErr_Clear();
  Py_XDECREF(s);
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
  brl_set_error(BRL_ECOMM, buf);
  return 1;
}

/* [memoryview over p, bytes / size(type), type] */
static PyObject *msg(void *p, int64_t bytes, PyObject *type) {
  PyObject *mv = PyMemoryView_FromMemory(p ? (char *)p : (char *)"",
                                         (Py_ssize_t)bytes, PyBUF_WRITE);
  if (!mv)
    return NULL;
  PyObject *m = Py_BuildValue("[NO]", mv, type);
  return m;
}

/* comm.Allreduce(IN_PLACE, [data, type], op=op) */
static int allreduce(py_comm *pc, void *data, int64_t bytes, PyObject *type,
                     PyObject *op) {
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *m = msg(data, bytes, type);
  PyObject *r =
      m ? PyObject_CallMethod(pc->comm, "Allreduce", "OOO", pc->in_place, m, op)
        : NULL;
  int rc = r ? 0 : py_fail("Allreduce");
  Py_XDECREF(r);
  Py_XDECREF(m);
  PyGILState_Release(g);
  return rc;
}

static int op_sum_i64(void *ctx, int64_t *data, int64_t n) {
  py_comm *pc = ctx;
  return allreduce(pc, data, n * 8, pc->i64, pc->sum);
}

static int op_max_f64(void *ctx, double *data, int64_t n) {
  py_comm *pc = ctx;
  return allreduce(pc, data, n * 8, pc->f64, pc->max);
}

static int op_allgatherv(void *ctx, const void *send, void *recv,
                         const int64_t *counts) {
  py_comm *pc = ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  const Py_ssize_t size = pc->size;
  const int64_t mine = pc->rank;
  int rc = 1;
  PyObject *cl = PyList_New(size), *dl = PyList_New(size);
  int64_t total = 0;
  for (Py_ssize_t r = 0; cl && dl && r < size; r++) {
    PyList_SET_ITEM(cl, r, PyLong_FromLongLong(counts[r]));
    PyList_SET_ITEM(dl, r, PyLong_FromLongLong(total));
    total += counts[r];
  }
  PyObject *sm = NULL, *rm = NULL, *res = NULL;
  if (cl && dl && !PyErr_Occurred()) {
    sm = msg((void *)send, counts[mine], pc->byte);
    PyObject *mv =
        sm ? PyMemoryView_FromMemory(recv ? (char *)recv : (char *)"",
                                     (Py_ssize_t)total, PyBUF_WRITE)
           : NULL;
    rm = mv ? Py_BuildValue("[N(OO)O]", mv, cl, dl, pc->byte) : NULL;
    res = rm ? PyObject_CallMethod(pc->comm, "Allgatherv", "OO", sm, rm) : NULL;
    rc = res ? 0 : 1;
  }
  if (rc)
    py_fail("Allgatherv");
  Py_XDECREF(res);
  Py_XDECREF(sm);
  Py_XDECREF(rm);
  Py_XDECREF(cl);
  Py_XDECREF(dl);
  PyGILState_Release(g);
  return rc;
}

static int op_bcast(void *ctx, void *data, int64_t bytes, int root) {
  py_comm *pc = ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *m = msg(data, bytes, pc->byte);
  PyObject *r =
      m ? PyObject_CallMethod(pc->comm, "Bcast", "Oi", m, root) : NULL;
  int rc = r ? 0 : py_fail("Bcast");
  Py_XDECREF(r);
  Py_XDECREF(m);
  PyGILState_Release(g);
  return rc;
}

static void op_destroy(void *ctx) {
  py_comm *pc = ctx;
  if (!pc)
    return;
  PyGILState_STATE g = PyGILState_Ensure();
  Py_XDECREF(pc->comm);
  Py_XDECREF(pc->in_place);
  Py_XDECREF(pc->sum);
  Py_XDECREF(pc->max);
  Py_XDECREF(pc->byte);
  Py_XDECREF(pc->i64);
  Py_XDECREF(pc->f64);
  PyMem_RawFree(pc);
  PyGILState_Release(g);
}

int brl_py_comm_new(PyObject *comm, brl_comm **out) {
  *out = NULL;
  PyObject *mpi = PyImport_ImportModule("mpi4py.MPI");
  if (!mpi)
    return -1;
  py_comm *pc = PyMem_RawCalloc(1, sizeof *pc);
  if (!pc) {
    Py_DECREF(mpi);
    PyErr_NoMemory();
    return -1;
  }
  pc->in_place = PyObject_GetAttrString(mpi, "IN_PLACE");
  pc->sum = pc->in_place ? PyObject_GetAttrString(mpi, "SUM") : NULL;
  pc->max = pc->sum ? PyObject_GetAttrString(mpi, "MAX") : NULL;
  pc->byte = pc->max ? PyObject_GetAttrString(mpi, "BYTE") : NULL;
  pc->i64 = pc->byte ? PyObject_GetAttrString(mpi, "INT64_T") : NULL;
  pc->f64 = pc->i64 ? PyObject_GetAttrString(mpi, "DOUBLE") : NULL;
  PyObject *rk = pc->f64 ? PyObject_CallMethod(comm, "Get_rank", NULL) : NULL;
  PyObject *sz = rk ? PyObject_CallMethod(comm, "Get_size", NULL) : NULL;
  Py_DECREF(mpi);
  long rank = rk ? PyLong_AsLong(rk) : -1, size = sz ? PyLong_AsLong(sz) : -1;
  Py_XDECREF(rk);
  Py_XDECREF(sz);
  if (!sz || PyErr_Occurred()) {
    if (!PyErr_Occurred())
      PyErr_SetString(PyExc_TypeError,
                      "comm must be an mpi4py communicator (MPI.COMM_WORLD)");
    op_destroy(pc);
    return -1;
  }
  Py_INCREF(comm);
  pc->comm = comm;
  pc->rank = (int)rank;
  pc->size = (int)size;
  static const brl_comm_ops ops = {
      sizeof(brl_comm_ops), op_sum_i64, op_max_f64,
      op_allgatherv,        op_bcast,   op_destroy};
  if (brl_py_status(brl_comm_new(&ops, pc, (int)rank, (int)size, out)) < 0) {
    op_destroy(pc);
    return -1;
  }
  return 0;
}
