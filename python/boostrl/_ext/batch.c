/* boostrl._core.Batch: features of fixed rows quantized once, with the
 * incremental cache of its model's predictions, for repeated steps. */
#include "brl_py.h"

PyObject *brl_py_batch_new(BrlModelObject *owner, PyObject *X_obj,
                           PyObject *X_cat) {
  brl_py_rows_in in;
  if (brl_py_rows_prepare(owner->m, X_obj, X_cat, &in) < 0)
    return NULL;
  const int64_t n = in.n_rows;
  brl_batch *b = NULL;
  int rc;
  BRL_PY_CALL(owner, {
    rc = brl_py_cat_encode(owner->m, &in.cat, 1);
    if (rc == BRL_OK)
      rc = brl_batch_create_cat(owner->m, brl_py_rows_x(&in),
                                brl_py_cat_data(&in.cat), n, &b);
  });
  brl_py_rows_release(&in);
  if (rc)
    return brl_py_raise(rc);
  BrlBatchObject *self = PyObject_GC_New(BrlBatchObject, &BrlBatch_Type);
  if (!self) {
    brl_batch_free(&b);
    return NULL;
  }
  Py_INCREF(owner);
  self->owner = owner;
  self->b = b;
  self->n_rows = n;
  PyObject_GC_Track(self);
  return (PyObject *)self;
}

static void Batch_dealloc(BrlBatchObject *self) {
  PyObject_GC_UnTrack(self);
  brl_batch_free(&self->b);
  Py_CLEAR(self->owner);
  PyObject_GC_Del(self);
}

static int Batch_traverse(BrlBatchObject *self, visitproc visit, void *arg) {
  Py_VISIT(self->owner);
  return 0;
}

static PyObject *closed_error(void) {
  PyErr_SetString(PyExc_ValueError, "the batch is closed");
  return NULL;
}

/* Marks a call that found the batch closed (inside the lock). */
#define BRL_PY_CLOSED 1

static PyObject *Batch_step(BrlBatchObject *self, PyObject *args,
                            PyObject *kw) {
  static char *kwlist[] = {"grads", "rows", "progress", NULL};
  PyObject *g_obj, *rows_obj = Py_None;
  float progress = 0.0f;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Of:step", kwlist, &g_obj,
                                   &rows_obj, &progress))
    return NULL;
  BrlModelObject *owner = self->owner;
  PyArrayObject *rows = NULL;
  if (rows_obj != Py_None && !(rows = brl_py_rows(rows_obj, self->n_rows)))
    return NULL;
  const int64_t n = rows ? (int64_t)PyArray_DIM(rows, 0) : self->n_rows;
  PyArrayObject *G = brl_py_grads(g_obj, n, brl_model_n_outputs(owner->m));
  if (!G) {
    Py_XDECREF(rows);
    return NULL;
  }
  const float *g = (const float *)PyArray_DATA(G);
  const int32_t *r = rows ? (const int32_t *)PyArray_DATA(rows) : NULL;
  int rc;
  BRL_PY_CALL(
      owner, rc = self->b ? brl_model_step(owner->m, self->b, r, n, g, progress)
                          : BRL_PY_CLOSED);
  Py_DECREF(G);
  Py_XDECREF(rows);
  return rc == BRL_PY_CLOSED ? closed_error() : brl_py_none(rc);
}

static PyObject *Batch_predictions(BrlBatchObject *self, PyObject *args,
                                   PyObject *kw) {
  static char *kwlist[] = {"out", NULL};
  PyObject *out_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:predictions", kwlist,
                                   &out_obj))
    return NULL;
  BrlModelObject *owner = self->owner;
  PyArrayObject *out =
      brl_py_output(out_obj, self->n_rows, brl_model_n_outputs(owner->m));
  if (!out)
    return NULL;
  float *o = (float *)PyArray_DATA(out);
  int rc;
  BRL_PY_CALL(owner, rc = self->b ? brl_batch_predict(self->b, owner->m, o)
                                  : BRL_PY_CLOSED);
  if (rc) {
    Py_DECREF(out);
    return rc == BRL_PY_CLOSED ? closed_error() : brl_py_raise(rc);
  }
  return (PyObject *)out;
}

static PyObject *Batch_n_bins(BrlBatchObject *self, PyObject *arg) {
  int f;
  if (brl_py_as_int(arg, &f) < 0)
    return NULL;
  const int d = brl_model_n_all_features(self->owner->m);
  if (f < 0 || f >= d) {
    PyErr_Format(PyExc_ValueError,
                 "feature %d does not exist (the model has %d features)", f, d);
    return NULL;
  }
  int nb = -1;
  BRL_PY_QUICK(self->owner, nb = self->b ? brl_batch_n_bins(self->b, f) : -1);
  if (nb < 0)
    return closed_error();
  return PyLong_FromLong(nb);
}

static PyObject *Batch_close(BrlBatchObject *self, PyObject *unused) {
  (void)unused;
  brl_batch *b = NULL;
  BRL_PY_QUICK(self->owner, b = self->b; self->b = NULL);
  brl_batch_free(&b);
  Py_RETURN_NONE;
}

static PyObject *Batch_enter(BrlBatchObject *self, PyObject *unused) {
  (void)unused;
  Py_INCREF(self);
  return (PyObject *)self;
}

static PyObject *Batch_exit(BrlBatchObject *self, PyObject *args) {
  (void)args;
  return Batch_close(self, NULL);
}

static PyObject *Batch_get_n_rows(BrlBatchObject *self, void *c) {
  (void)c;
  return PyLong_FromLongLong((long long)self->n_rows);
}

static PyObject *Batch_get_model(BrlBatchObject *self, void *c) {
  (void)c;
  Py_INCREF(self->owner);
  return (PyObject *)self->owner;
}

static PyObject *Batch_get_closed(BrlBatchObject *self, void *c) {
  (void)c;
  int closed;
  BRL_PY_QUICK(self->owner, closed = self->b == NULL);
  return PyBool_FromLong(closed);
}

static PyMethodDef Batch_methods[] = {
    {"step", BRL_PY_FN(Batch_step), METH_VARARGS | METH_KEYWORDS,
     "step(grads, rows=None, progress=0.0) -> None\n\n"
     "One boosting step of the batch's model from rows `rows` of the batch "
     "(all when None) and their gradients (len(rows) or n_rows, n_outputs); "
     "the prediction cache takes in the new tree."},
    {"predictions", BRL_PY_FN(Batch_predictions), METH_VARARGS | METH_KEYWORDS,
     "predictions(out=None) -> ndarray\n\n"
     "The model's predictions for every row (n_rows, n_outputs), from the "
     "cache (only trees grown since the last call are added)."},
    {"n_bins", (PyCFunction)Batch_n_bins, METH_O,
     "n_bins(feature) -> int: value bins of the feature in this batch "
     "(n_features + j: categorical column j)."},
    {"close", (PyCFunction)Batch_close, METH_NOARGS,
     "close() -> None: frees the batch's memory now."},
    {"__enter__", (PyCFunction)Batch_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Batch_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Batch_getset[] = {
    {"n_rows", (getter)Batch_get_n_rows, NULL, "Rows of the batch.", NULL},
    {"model", (getter)Batch_get_model, NULL, "The model of the batch.", NULL},
    {"closed", (getter)Batch_get_closed, NULL, "Whether close() was called.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject BrlBatch_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boostrl._core.Batch",
    .tp_basicsize = sizeof(BrlBatchObject),
    .tp_dealloc = (destructor)Batch_dealloc,
    .tp_traverse = (traverseproc)Batch_traverse,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A batch of a model (made by Model.batch(X)): the features of "
              "fixed rows quantized once, and a cache of the model's "
              "predictions for them, for many steps on the same rows.",
    .tp_methods = Batch_methods,
    .tp_getset = Batch_getset,
};

int brl_py_batch_init(PyObject *m) {
  return brl_py_add_type(m, "Batch", &BrlBatch_Type, NULL);
}
