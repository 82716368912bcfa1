/* boostrl._core: the CPython extension over the C API. Shared declarations of
 * the module's files: module.c (initialization, errors, locking), common.c
 * (results, struct dicts, type registration), convert.c (arrays), model.c,
 * batch.c, agent.c, env.c (one type each) and dlpack.c (CUDA tensors). */
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

#include <stddef.h>
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

/* A native vector environment (brl_env) with its spec. */
typedef struct {
  PyObject ob_base;
  brl_env *e;
  PyThread_type_lock lock;
  brl_env_spec spec;
  int n_envs;
} BrlEnvObject;

extern PyTypeObject BrlModel_Type;
extern PyTypeObject BrlBatch_Type;
extern PyTypeObject BrlEnv_Type;
extern PyObject *BrlPy_FormatError;

/* A method-table entry's function: METH_VARARGS | METH_KEYWORDS functions
 * take three arguments, which PyCFunction does not say. */
#define BRL_PY_FN(fn) ((PyCFunction)(void (*)(void))(fn))

/* --- errors (module.c) --- */

/* Raises the Python exception of a brl status with brl_last_error() as its
 * message (and `status`, the code's name, as an attribute); returns NULL. */
PyObject *brl_py_raise(int status);
/* An int from a Python integer (OverflowError outside C's int); 0 or -1. */
int brl_py_as_int(PyObject *obj, int *out);

/* --- locking (module.c) --- */

/* Takes the lock, releasing the GIL only while it has to wait. */
void brl_py_lock(PyThread_type_lock lock);
/* Allocates *lock for a new object; 0, or -1 with MemoryError set. */
int brl_py_new_lock(PyThread_type_lock *lock);

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

/* Runs the statements with the GIL released, for calls that make a new
 * object (no lock to take yet). */
#define BRL_PY_NOGIL(...)                                                      \
  do {                                                                         \
    PyThreadState *brl_py_ts_ = PyEval_SaveThread();                           \
    __VA_ARGS__;                                                               \
    PyEval_RestoreThread(brl_py_ts_);                                          \
  } while (0)

/* --- results and registration (common.c) --- */

/* A status as setters and initializers end: 0 for BRL_OK, else raises and
 * returns -1. */
int brl_py_status(int status);
/* The end of a call that returns nothing: None for BRL_OK, else raises. */
PyObject *brl_py_none(int status);
/* The end of a call that fills obj: obj itself (the reference passes to the
 * caller) for BRL_OK, else obj released (may be NULL) and the error raised. */
PyObject *brl_py_result(int status, PyObject *obj);
/* The end of a call that wrote a buffer with the library's allocator: bytes
 * of buf[0..len) (buf freed) for BRL_OK, else raises. */
PyObject *brl_py_bytes(int status, void *buf, size_t len);

/* One field of a C struct as a dict entry: its name is the key. */
typedef enum { BRL_PY_INT, BRL_PY_I64, BRL_PY_DOUBLE } brl_py_kind;
typedef struct {
  const char *key;
  brl_py_kind kind;
  size_t offset;
} brl_py_field;
#define BRL_PY_FIELD(type, name, kind)                                         \
  { #name, kind, offsetof(type, name) }
/* A dict of the fields of *s (the table ends with a NULL key), in order. */
PyObject *brl_py_fields_dict(const void *s, const brl_py_field *fields);
/* A list of the strings of a NULL-terminated array, or with help of
 * (string, help(string) or "") tuples; NULL with an exception set. */
PyObject *brl_py_str_list(const char *const *items,
                          const char *(*help)(const char *));

/* Readies `type` and adds it to m as `name`, with the module functions
 * (NULL: none) that go with it; 0 or -1. */
int brl_py_add_type(PyObject *m, const char *name, PyTypeObject *type,
                    PyMethodDef *functions);

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
/* A C-contiguous float32 array of exactly `count` elements (any count when
 * count < 0), any shape; see brl_py_float_array. */
PyArrayObject *brl_py_f32_count(PyObject *obj, const char *name, int64_t count);
/* A C-contiguous uint8 array of exactly `count` elements (values cast as
 * numpy casts them), any shape. */
PyArrayObject *brl_py_u8_count(PyObject *obj, const char *name, int64_t count);
/* New zero arrays: (rows, cols) float32, and (n,) of a numpy type. */
PyObject *brl_py_zeros_f32(int64_t rows, int cols);
PyObject *brl_py_zeros_vec(int64_t n, int type);
/* Its data, for a new array made by the calls above (NULL for NULL). */
void *brl_py_data(PyObject *arr);

/* Categorical columns of one call, read in two phases: brl_py_cat_prepare
 * (GIL held, model lock not needed) checks the input and takes integer codes
 * as they are (no copy for a C-contiguous int32 array) or copies strings as
 * UTF-8; brl_py_cat_encode (under the model's lock, GIL released) maps the
 * strings through the model's dictionaries. */
typedef struct {
  PyArrayObject *codes; /* int32 (n_rows, n_cols); NULL when n_cols == 0 */
  char *arena;          /* strings: NUL-terminated UTF-8, one after another */
  int64_t *offs;        /* strings: offset of each cell's string, -1 missing;
                           NULL for integer codes */
  int64_t n_rows;
  int n_cols;
} brl_py_cat;

/* X_cat (None, integer codes, or str / bytes / object arrays and nested
 * sequences; None and NaN objects are missing) for n_rows rows of a model
 * with n_cat_features columns. ValueError for a wrong shape or dtype, or
 * when X_cat is None but the model has categorical features (or the
 * reverse). n_rows < 0: as many rows as X_cat has. 0, or -1 with an
 * exception set (and c released). */
int brl_py_cat_prepare(const brl_model *m, PyObject *obj, int64_t n_rows,
                       brl_py_cat *c);
/* Fills the codes of string input: brl_model_cat_encode with `add` for each
 * cell, -1 for missing ones. A brl status (BRL_OK for integer input). */
int brl_py_cat_encode(brl_model *m, brl_py_cat *c, int add);
/* The codes to pass to the C API (NULL when the model has none). */
const int32_t *brl_py_cat_data(const brl_py_cat *c);
/* Frees what prepare took (GIL held); safe to call twice. */
void brl_py_cat_release(brl_py_cat *c);

/* The rows of a model call: X as brl_py_features reads it and X_cat as
 * brl_py_cat_prepare reads it for X's rows. */
typedef struct {
  PyArrayObject *X;
  brl_py_cat cat;
  int64_t n_rows;
} brl_py_rows_in;
/* 0, or -1 with an exception set (nothing left to release). */
int brl_py_rows_prepare(const brl_model *m, PyObject *X, PyObject *X_cat,
                        brl_py_rows_in *in);
/* The features to pass to the C API. */
const float *brl_py_rows_x(const brl_py_rows_in *in);
/* Releases what prepare took (GIL held). */
void brl_py_rows_release(brl_py_rows_in *in);

/* --- types (model.c, batch.c, agent.c, env.c) --- */

/* Each adds its type (and its module functions) to m; 0 or -1. */
int brl_py_model_init(PyObject *m);
int brl_py_batch_init(PyObject *m);
int brl_py_agent_init(PyObject *m);
int brl_py_env_init(PyObject *m);

/* A new model object of type `type` (BrlModel_Type or a subclass) owning m
 * (freed on failure). */
PyObject *brl_py_model_wrap(PyTypeObject *type, brl_model *m);
/* A new batch of `owner` over X and X_cat (None when the model has no
 * categorical features; strings add to the dictionaries). */
PyObject *brl_py_batch_new(BrlModelObject *owner, PyObject *X, PyObject *X_cat);
/* Raises (ValueError) and returns -1 when the model object has no model. */
int brl_py_model_ready(BrlModelObject *self);

/* --- CUDA tensors through DLPack (dlpack.c) --- */

/* 1 when obj is a DLPack producer on a CUDA device, 0 when not, -1 with an
 * exception set. */
int brl_py_dlpack_cuda(PyObject *obj);
/* Model.predict of a CUDA X (and X_cat, out): brl_model_predict_device on
 * the tensors' memory; returns out, or a new DeviceArray. ValueError when
 * the model is not on the CUDA backend. */
PyObject *brl_py_predict_cuda(BrlModelObject *self, PyObject *X,
                              PyObject *X_cat, int start, int stop,
                              PyObject *out);
/* Adds DeviceArray and cuda_available() to m; 0 or -1. */
int brl_py_dlpack_init(PyObject *m);

/* --- MPI through mpi4py (comm.c) --- */

/* A communicator whose collectives call comm's (an mpi4py communicator)
 * Allreduce / Allgatherv / Bcast; 0, or -1 with an exception set. */
int brl_py_comm_new(PyObject *comm, brl_comm **out);

#endif
