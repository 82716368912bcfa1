/* boostrl._core: module initialization, errors, locking and a timing helper
 * for the tests. */
#define BRL_PY_MODULE_MAIN
#include "brl_py.h"

#include <limits.h>
#include <time.h>

PyObject *BrlPy_FormatError = NULL;

PyObject *brl_py_raise(int status) {
  PyObject *type;
  switch (status) {
  case BRL_EINVAL:
  case BRL_ENUMERIC:
    type = PyExc_ValueError;
    break;
  case BRL_EIO:
    type = PyExc_OSError;
    break;
  case BRL_EFORMAT:
    type = BrlPy_FormatError;
    break;
  case BRL_ENOMEM:
    type = PyExc_MemoryError;
    break;
  case BRL_EUNSUPPORTED:
    type = PyExc_NotImplementedError;
    break;
  default: /* BRL_ESTATE and anything unknown */
    type = PyExc_RuntimeError;
    break;
  }
  const char *msg = brl_last_error();
  if (!msg || !msg[0])
    msg = brl_status_name(status);
  PyObject *exc = PyObject_CallFunction(type, "s", msg);
  if (!exc)
    return NULL;
  PyObject *name = PyUnicode_FromString(brl_status_name(status));
  if (!name || PyObject_SetAttrString(exc, "status", name) < 0) {
    Py_XDECREF(name);
    Py_DECREF(exc);
    return NULL;
  }
  Py_DECREF(name);
  PyErr_SetObject(type, exc);
  Py_DECREF(exc);
  return NULL;
}

int brl_py_as_int(PyObject *obj, int *out) {
  long v = PyLong_AsLong(obj);
  if (v == -1 && PyErr_Occurred())
    return -1;
  if (v < INT_MIN || v > INT_MAX) {
    PyErr_Format(PyExc_OverflowError, "%ld does not fit in a C int", v);
    return -1;
  }
  *out = (int)v;
  return 0;
}

void brl_py_lock(PyThread_type_lock lock) {
  if (PyThread_acquire_lock(lock, NOWAIT_LOCK))
    return;
  PyThreadState *ts = PyEval_SaveThread();
  PyThread_acquire_lock(lock, WAIT_LOCK);
  PyEval_RestoreThread(ts);
}

int brl_py_new_lock(PyThread_type_lock *lock) {
  *lock = PyThread_allocate_lock();
  if (*lock)
    return 0;
  PyErr_NoMemory();
  return -1;
}

static double now_seconds(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* _time_predict(model, X, repeats): seconds per brl_model_predict call on X
 * (all trees), measured in C around `repeats` calls: the cost of the C call
 * alone, for comparison with Model.predict. */
static PyObject *time_predict(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *model_obj, *X_obj;
  Py_ssize_t repeats;
  if (!PyArg_ParseTuple(args, "O!On:_time_predict", &BrlModel_Type, &model_obj,
                        &X_obj, &repeats))
    return NULL;
  BrlModelObject *model = (BrlModelObject *)model_obj;
  if (brl_py_model_ready(model) < 0)
    return NULL;
  if (repeats < 1) {
    PyErr_SetString(PyExc_ValueError, "repeats must be >= 1");
    return NULL;
  }
  PyArrayObject *X = brl_py_features(X_obj, brl_model_n_features(model->m));
  if (!X)
    return NULL;
  const int64_t n = (int64_t)PyArray_DIM(X, 0);
  const int K = brl_model_n_outputs(model->m);
  float *out =
      PyMem_RawMalloc((size_t)(n > 0 ? n : 1) * (size_t)K * sizeof(float));
  if (!out) {
    Py_DECREF(X);
    return PyErr_NoMemory();
  }
  const float *x = (const float *)PyArray_DATA(X);
  int rc = BRL_OK;
  double seconds = 0.0;
  BRL_PY_CALL(model, {
    double t0 = now_seconds();
    for (Py_ssize_t r = 0; r < repeats && rc == BRL_OK; r++)
      rc = brl_model_predict(model->m, x, n, 0, -1, out);
    seconds = (now_seconds() - t0) / (double)repeats;
  });
  PyMem_RawFree(out);
  Py_DECREF(X);
  if (rc)
    return brl_py_raise(rc);
  return PyFloat_FromDouble(seconds);
}

/* _as_float32(X, n_features): the array that predict and step read X from
 * (for tests of the no-copy path). */
static PyObject *as_float32(PyObject *mod, PyObject *args) {
  (void)mod;
  PyObject *X;
  int d;
  if (!PyArg_ParseTuple(args, "Oi:_as_float32", &X, &d))
    return NULL;
  return (PyObject *)brl_py_features(X, d);
}

static PyObject *version(PyObject *mod, PyObject *args) {
  (void)mod;
  (void)args;
  return PyUnicode_FromString(brl_version());
}

static PyObject *backend_available(PyObject *mod, PyObject *arg) {
  (void)mod;
  long kind = PyLong_AsLong(arg);
  if (kind == -1 && PyErr_Occurred())
    return NULL;
  if (kind != BRL_BACKEND_CPU && kind != BRL_BACKEND_CUDA)
    Py_RETURN_FALSE;
  return PyBool_FromLong(brl_backend_available((brl_backend_kind)kind));
}

static PyMethodDef module_methods[] = {
    {"_time_predict", time_predict, METH_VARARGS,
     "_time_predict(model, X, repeats) -> seconds per C predict call"},
    {"_as_float32", as_float32, METH_VARARGS,
     "_as_float32(X, n_features) -> the float32 matrix the binding reads"},
    {"c_version", version, METH_NOARGS,
     "c_version() -> version string of the linked C library"},
    {"backend_available", backend_available, METH_O,
     "backend_available(kind) -> whether backend kind (0 CPU, 1 CUDA) is "
     "usable"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "boostrl._core",
    "C extension of boostrl: the Model and Batch types over the C API.",
    -1,
    module_methods,
    NULL,
    NULL,
    NULL,
    NULL};

static int add_int(PyObject *m, const char *name, long v) {
  return PyModule_AddIntConstant(m, name, v);
}

/* Each file of a type adds it (and its module functions). */
static int (*const type_inits[])(PyObject *) = {
    brl_py_model_init, brl_py_batch_init, brl_py_agent_init, brl_py_env_init,
    brl_py_dlpack_init};

PyMODINIT_FUNC PyInit__core(void) {
  import_array();
  PyObject *m = PyModule_Create(&module_def);
  if (!m)
    return NULL;
  if (!BrlPy_FormatError) {
    BrlPy_FormatError = PyErr_NewExceptionWithDoc(
        "boostrl.FormatError",
        "A model file or buffer is corrupt, truncated or not a boostrl "
        "model (BRL_EFORMAT).",
        PyExc_ValueError, NULL);
    if (!BrlPy_FormatError)
      goto fail;
  }
  Py_INCREF(BrlPy_FormatError);
  if (PyModule_AddObject(m, "FormatError", BrlPy_FormatError) < 0) {
    Py_DECREF(BrlPy_FormatError);
    goto fail;
  }
  if (add_int(m, "MAX_GROUPS", BRL_MAX_GROUPS) ||
      add_int(m, "MAX_DEPTH", BRL_MAX_DEPTH) ||
      add_int(m, "MAX_BINS", BRL_MAX_BINS) ||
      add_int(m, "CAT_UNSEEN", BRL_CAT_UNSEEN) ||
      add_int(m, "VERSION_NUMBER", brl_version_number()))
    goto fail;
  for (size_t i = 0; i < sizeof type_inits / sizeof type_inits[0]; i++)
    if (type_inits[i](m) < 0)
      goto fail;
  return m;
fail:
  Py_DECREF(m);
  return NULL;
}
