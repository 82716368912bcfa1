/* Conversion of Python inputs (numpy arrays, __array__ objects, DLPack
 * producers, sequences) to the C-contiguous buffers the C API reads, without
 * a copy when the input already is one. */
#include "brl_py.h"

static PyObject *np_from_dlpack = NULL; /* numpy.from_dlpack, cached */

static PyObject *from_dlpack(PyObject *obj) {
  if (!np_from_dlpack) {
    PyObject *np = PyImport_ImportModule("numpy");
    if (!np)
      return NULL;
    np_from_dlpack = PyObject_GetAttrString(np, "from_dlpack");
    Py_DECREF(np);
    if (!np_from_dlpack)
      return NULL;
  }
  return PyObject_CallOneArg(np_from_dlpack, obj);
}

static int is_ready_float32(PyArrayObject *a) {
  return PyArray_TYPE(a) == NPY_FLOAT32 && PyArray_ISCARRAY_RO(a) &&
         PyArray_ISNOTSWAPPED(a);
}

static PyObject *shape_of(PyArrayObject *a) {
  return PyObject_GetAttrString((PyObject *)a, "shape");
}

static int check_ndim(PyArrayObject *a, const char *name, int ndim,
                      int allow_1d) {
  const int nd = PyArray_NDIM(a);
  if (ndim < 0 || nd == ndim || (allow_1d && nd == 1))
    return 0;
  PyObject *shape = shape_of(a);
  if (shape)
    PyErr_Format(PyExc_ValueError, "%s must be a %d-D array, got shape %R%s",
                 name, ndim, shape,
                 ndim == 2 && nd == 1 ? " (use reshape(1, -1) for one sample)"
                                      : "");
  Py_XDECREF(shape);
  return -1;
}

PyArrayObject *brl_py_float_array(PyObject *obj, const char *name, int ndim,
                                  int allow_1d) {
  /* Fast path: already what the C API reads. */
  if (PyArray_Check(obj) && is_ready_float32((PyArrayObject *)obj)) {
    if (check_ndim((PyArrayObject *)obj, name, ndim, allow_1d) < 0)
      return NULL;
    Py_INCREF(obj);
    return (PyArrayObject *)obj;
  }
  PyObject *src;
  if (PyArray_Check(obj)) {
    Py_INCREF(obj);
    src = obj;
  } else if (PyObject_HasAttrString(obj, "__dlpack__")) {
    src = from_dlpack(obj);
  } else {
    src = PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
  }
  if (!src)
    return NULL;
  PyArrayObject *a = (PyArrayObject *)src;
  if (!PyArray_Check(src) ||
      !(PyArray_ISBOOL(a) || PyArray_ISINTEGER(a) || PyArray_ISFLOAT(a))) {
    if (PyArray_Check(src))
      PyErr_Format(PyExc_TypeError,
                   "%s must hold numbers (bool, integer or floating), got "
                   "dtype %R",
                   name, (PyObject *)PyArray_DESCR(a));
    else
      PyErr_Format(PyExc_TypeError, "%s must be an array", name);
    Py_DECREF(src);
    return NULL;
  }
  if (check_ndim(a, name, ndim, allow_1d) < 0) {
    Py_DECREF(src);
    return NULL;
  }
  PyObject *res = PyArray_FromAny(
      src, PyArray_DescrFromType(NPY_FLOAT32), 0, 0,
      NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST, NULL);
  Py_DECREF(src);
  return (PyArrayObject *)res;
}

PyArrayObject *brl_py_features(PyObject *obj, int n_features) {
  PyArrayObject *a = brl_py_float_array(obj, "X", 2, 0);
  if (!a)
    return NULL;
  if (PyArray_DIM(a, 1) != n_features) {
    PyObject *shape = shape_of(a);
    if (shape)
      PyErr_Format(PyExc_ValueError,
                   "X has shape %R: the model has %d features, so X must be "
                   "(n_rows, %d)",
                   shape, n_features, n_features);
    Py_XDECREF(shape);
    Py_DECREF(a);
    return NULL;
  }
  return a;
}

PyArrayObject *brl_py_grads(PyObject *obj, int64_t n_rows, int n_outputs) {
  PyArrayObject *a = brl_py_float_array(obj, "grads", 2, n_outputs == 1);
  if (!a)
    return NULL;
  int ok = PyArray_DIM(a, 0) == n_rows &&
           (PyArray_NDIM(a) == 1 || PyArray_DIM(a, 1) == n_outputs);
  if (!ok) {
    PyObject *shape = shape_of(a);
    if (shape)
      PyErr_Format(PyExc_ValueError,
                   "grads has shape %R: expected (%lld, %d), one row per row "
                   "of the step and one column per output",
                   shape, (long long)n_rows, n_outputs);
    Py_XDECREF(shape);
    Py_DECREF(a);
    return NULL;
  }
  return a;
}

PyArrayObject *brl_py_rows(PyObject *obj, int64_t n_rows) {
  PyArrayObject *a = (PyArrayObject *)PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
  if (!a)
    return NULL;
  if (PyArray_NDIM(a) != 1 || !PyArray_ISINTEGER(a)) {
    PyErr_Format(PyExc_TypeError,
                 "rows must be a 1-D array of integer row indices, got dtype "
                 "%R with %d dimensions",
                 (PyObject *)PyArray_DESCR(a), PyArray_NDIM(a));
    Py_DECREF(a);
    return NULL;
  }
  if (PyArray_TYPE(a) == NPY_INT32 && PyArray_ISCARRAY_RO(a) &&
      PyArray_ISNOTSWAPPED(a))
    return a; /* checked by the C library */
  PyArrayObject *w = (PyArrayObject *)PyArray_FromAny(
      (PyObject *)a, PyArray_DescrFromType(NPY_INT64), 1, 1,
      NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST, NULL);
  Py_DECREF(a);
  if (!w)
    return NULL;
  npy_intp n = PyArray_DIM(w, 0);
  PyArrayObject *r = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_INT32);
  if (!r) {
    Py_DECREF(w);
    return NULL;
  }
  const int64_t *src = (const int64_t *)PyArray_DATA(w);
  int32_t *dst = (int32_t *)PyArray_DATA(r);
  for (npy_intp i = 0; i < n; i++) {
    int64_t v = src[i];
    if (v < 0 || v >= n_rows) { /* huge unsigned values wrapped below 0 */
      PyErr_Format(PyExc_ValueError,
                   "rows[%zd] is %lld: rows must be in [0, %lld)",
                   (Py_ssize_t)i, (long long)v, (long long)n_rows);
      Py_DECREF(w);
      Py_DECREF(r);
      return NULL;
    }
    dst[i] = (int32_t)v;
  }
  Py_DECREF(w);
  return r;
}

PyArrayObject *brl_py_output(PyObject *out, int64_t n_rows, int n_outputs) {
  npy_intp dims[2] = {(npy_intp)n_rows, n_outputs};
  if (!out || out == Py_None)
    return (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT32);
  PyArrayObject *a = (PyArrayObject *)out;
  if (!PyArray_Check(out) || PyArray_TYPE(a) != NPY_FLOAT32 ||
      !PyArray_ISCARRAY(a) || !PyArray_ISNOTSWAPPED(a) ||
      PyArray_NDIM(a) != 2 || PyArray_DIM(a, 0) != dims[0] ||
      PyArray_DIM(a, 1) != dims[1]) {
    PyErr_Format(PyExc_ValueError,
                 "out must be a writable C-contiguous float32 array of shape "
                 "(%lld, %d)",
                 (long long)n_rows, n_outputs);
    return NULL;
  }
  Py_INCREF(out);
  return a;
}
