/* boostrl._core: the CPython extension over the C API. Shared declarations of
 * the module's files (module.c, convert.c, model.c, batch.c). */
#ifndef BRL_PY_H
#define BRL_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL brl_py_ARRAY_API
#ifndef BRL_PY_MODULE_MAIN
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "boostrl.h"

#include <stdint.h>

/* A model. Every C call on it (and on its batches) holds `lock`, taken with
 * the GIL released, so that Python threads may call it concurrently. */
typedef struct {
  PyObject ob_base;
  brl_model *m;
  PyThread_type_lock lock;
} BrlModelObject;

/* A batch of one model: the quantized features of fixed rows and the cache
 * of the model's predictions for them. Keeps its model alive. */
typedef struct {
  PyObject ob_base;
  BrlModelObject *owner;
  brl_batch *b;
  int64_t n_rows;
} BrlBatchObject;

extern PyTypeObject BrlModel_Type;
extern PyTypeObject BrlBatch_Type;
extern PyObject *BrlPy_FormatError;

/* --- errors (module.c) --- */

/* Raises the Python exception of a brl status with brl_last_error() as its
 * message (and `status`, the code's name, as an attribute); returns NULL. */
PyObject *brl_py_raise(int status);
/* An int from a Python integer (OverflowError outside C's int); 0 or -1. */
int brl_py_as_int(PyObject *obj, int *out);
/* Raises NotImplementedError when X_cat is given (not None); returns -1. */
int brl_py_check_no_cat(PyObject *X_cat);

/* --- locking (module.c) --- */

/* Takes the lock, releasing the GIL only while it has to wait. */
void brl_py_lock(PyThread_type_lock lock);

/* Runs the statements with the GIL released (Py_BEGIN_ALLOW_THREADS) and the
 * model's lock held (for calls that may take a while). */
#define BRL_PY_CALL(model, ...)                                                \
  do {                                                                         \
    PyThreadState *brl_py_ts_ = PyEval_SaveThread();                           \
    PyThread_acquire_lock((model)->lock, WAIT_LOCK);                           \
    __VA_ARGS__;                                                               \
    PyThread_release_lock((model)->lock);                                      \
    PyEval_RestoreThread(brl_py_ts_);                                          \
  } while (0)

/* Runs the statements with the model's lock held, keeping the GIL unless it
 * has to wait (for calls that take no time). */
#define BRL_PY_QUICK(model, ...)                                               \
  do {                                                                         \
    brl_py_lock((model)->lock);                                                \
    __VA_ARGS__;                                                               \
    PyThread_release_lock((model)->lock);                                      \
  } while (0)

/* --- array conversion (convert.c) --- */

/* A C-contiguous, aligned, native float32 array viewing `obj` when it is one
 * already (a new reference to the same array: no copy), else a converted
 * copy. Accepts numpy arrays, anything with __array__ or the buffer
 * protocol, nested sequences and DLPack producers (through
 * numpy.from_dlpack). Only boolean, integer and floating dtypes. The array
 * must have `ndim` dimensions (any number when ndim < 0), or be 1-D when
 * `allow_1d` (a column vector, returned as is). `name` is used in messages.
 * Returns NULL with an exception set. */
PyArrayObject *brl_py_float_array(PyObject *obj, const char *name, int ndim,
                                  int allow_1d);
/* X as an (n_rows, n_features) float32 matrix; see brl_py_float_array. */
PyArrayObject *brl_py_features(PyObject *obj, int n_features);
/* Gradients as (n_rows, n_outputs) float32 ((n_rows,) when n_outputs == 1). */
PyArrayObject *brl_py_grads(PyObject *obj, int64_t n_rows, int n_outputs);
/* Row indices as a contiguous int32 vector, each in [0, n_rows). */
PyArrayObject *brl_py_rows(PyObject *obj, int64_t n_rows);
/* `out` checked as a writable C-contiguous float32 (n_rows, n_outputs)
 * array (new reference), or a new one when out is None. */
PyArrayObject *brl_py_output(PyObject *out, int64_t n_rows, int n_outputs);

/* --- types (model.c, batch.c) --- */

/* A new model object of type `type` (BrlModel_Type or a subclass) owning m
 * (freed on failure). */
PyObject *brl_py_model_wrap(PyTypeObject *type, brl_model *m);
/* A new batch of `owner` over X. */
PyObject *brl_py_batch_new(BrlModelObject *owner, PyObject *X);
/* Raises (ValueError) and returns -1 when the model object has no model. */
int brl_py_model_ready(BrlModelObject *self);

#endif
