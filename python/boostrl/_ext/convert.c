/* Conversion of Python inputs (numpy arrays, __array__ objects, DLPack
 * producers, sequences) to the C-contiguous buffers the C API reads, without
 * a copy when the input already is one. */
#include "brl_py.h"

#include <math.h>
#include <string.h>

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

/* a, or NULL (a released) when it does not hold `count` elements. */
static PyArrayObject *with_count(PyArrayObject *a, const char *name,
                                 int64_t count) {
  if (a && count >= 0 && (int64_t)PyArray_SIZE(a) != count) {
    PyErr_Format(PyExc_ValueError, "%s has %lld elements, expected %lld", name,
                 (long long)PyArray_SIZE(a), (long long)count);
    Py_CLEAR(a);
  }
  return a;
}

PyArrayObject *brl_py_f32_count(PyObject *obj, const char *name,
                                int64_t count) {
  return with_count(brl_py_float_array(obj, name, -1, 1), name, count);
}

PyArrayObject *brl_py_u8_count(PyObject *obj, const char *name, int64_t count) {
  PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(
      obj, NPY_UINT8, 0, 0,
      NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST);
  return with_count(a, name, count);
}

PyObject *brl_py_zeros_f32(int64_t rows, int cols) {
  npy_intp dims[2] = {(npy_intp)rows, (npy_intp)cols};
  return PyArray_ZEROS(2, dims, NPY_FLOAT32, 0);
}

PyObject *brl_py_zeros_vec(int64_t n, int type) {
  npy_intp dims[1] = {(npy_intp)n};
  return PyArray_ZEROS(1, dims, type, 0);
}

void *brl_py_data(PyObject *arr) {
  return arr ? PyArray_DATA((PyArrayObject *)arr) : NULL;
}

/* ------------------------------------------------- categorical columns */

/* The array behind a categorical input: numpy arrays as they are, DLPack
 * producers through numpy.from_dlpack, anything else through numpy, with
 * sequences of strings kept as objects (so None and NaN stay missing). */
static PyArrayObject *cat_source(PyObject *obj) {
  if (PyArray_Check(obj)) {
    Py_INCREF(obj);
    return (PyArrayObject *)obj;
  }
  if (PyObject_HasAttrString(obj, "__dlpack__"))
    return (PyArrayObject *)from_dlpack(obj);
  PyArrayObject *a = (PyArrayObject *)PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
  if (!a || (PyArray_TYPE(a) != NPY_UNICODE && PyArray_TYPE(a) != NPY_STRING))
    return a;
  Py_DECREF(a);
  return (PyArrayObject *)PyArray_FromAny(
      obj, PyArray_DescrFromType(NPY_OBJECT), 0, 0, 0, NULL);
}

static int cat_shape(PyArrayObject *a, int64_t n_rows, int C) {
  if (PyArray_NDIM(a) == 2 && PyArray_DIM(a, 0) == n_rows &&
      PyArray_DIM(a, 1) == C)
    return 0;
  PyObject *shape = shape_of(a);
  const char *hint =
      PyArray_NDIM(a) == 1 && C == 1 ? " (use reshape(-1, 1))" : "";
  if (shape && n_rows < 0)
    PyErr_Format(PyExc_ValueError,
                 "X_cat has shape %R: the model has %d categorical features, "
                 "so X_cat must be (n_rows, %d)%s",
                 shape, C, C, hint);
  else if (shape)
    PyErr_Format(PyExc_ValueError,
                 "X_cat has shape %R: the model has %d categorical features, "
                 "so X_cat must be (%lld, %d), one row per row of X%s",
                 shape, C, (long long)n_rows, C, hint);
  Py_XDECREF(shape);
  return -1;
}

/* Integer codes as an int32 (n_rows, C) array: the input itself when it is
 * one already, else a copy where negative codes become -1 (missing). */
static PyArrayObject *cat_ints(PyArrayObject *a) {
  if (PyArray_TYPE(a) == NPY_INT32 && PyArray_ISCARRAY_RO(a) &&
      PyArray_ISNOTSWAPPED(a)) {
    Py_INCREF(a);
    return a;
  }
  const int wide_unsigned = PyArray_ISUNSIGNED(a) && PyArray_ITEMSIZE(a) >= 8;
  PyArrayObject *w = (PyArrayObject *)PyArray_FromAny(
      (PyObject *)a,
      PyArray_DescrFromType(wide_unsigned ? NPY_UINT64 : NPY_INT64), 2, 2,
      NPY_ARRAY_CARRAY_RO | NPY_ARRAY_FORCECAST, NULL);
  if (!w)
    return NULL;
  PyArrayObject *r =
      (PyArrayObject *)PyArray_SimpleNew(2, PyArray_DIMS(w), NPY_INT32);
  if (!r) {
    Py_DECREF(w);
    return NULL;
  }
  const npy_intp n = PyArray_SIZE(w), C = PyArray_DIM(w, 1);
  int32_t *dst = (int32_t *)PyArray_DATA(r);
  for (npy_intp i = 0; i < n; i++) {
    int64_t v;
    if (wide_unsigned) {
      uint64_t u = ((const uint64_t *)PyArray_DATA(w))[i];
      v = u > INT32_MAX ? (int64_t)INT32_MAX + 1 : (int64_t)u;
    } else {
      v = ((const int64_t *)PyArray_DATA(w))[i];
    }
    if (v > INT32_MAX) {
      PyErr_Format(PyExc_ValueError,
                   "X_cat[%zd, %zd] is too large: categorical codes must be "
                   "below 2^31",
                   (Py_ssize_t)(i / C), (Py_ssize_t)(i % C));
      Py_DECREF(w);
      Py_DECREF(r);
      return NULL;
    }
    dst[i] = v < 0 ? -1 : (int32_t)v;
  }
  Py_DECREF(w);
  return r;
}

/* A growing buffer of NUL-terminated UTF-8 strings. */
typedef struct {
  brl_py_cat *c;
  size_t len, cap;
} arena;

static int arena_reserve(arena *ar, size_t extra) {
  if (ar->len + extra <= ar->cap)
    return 0;
  size_t cap = ar->cap ? ar->cap : 256;
  while (cap < ar->len + extra)
    cap *= 2;
  char *p = PyMem_RawRealloc(ar->c->arena, cap);
  if (!p) {
    PyErr_NoMemory();
    return -1;
  }
  ar->c->arena = p;
  ar->cap = cap;
  return 0;
}

static int nul_error(npy_intp i, npy_intp C) {
  PyErr_Format(PyExc_ValueError,
               "X_cat[%zd, %zd] contains a NUL character: categories are "
               "C strings",
               (Py_ssize_t)(i / C), (Py_ssize_t)(i % C));
  return -1;
}

/* Appends the bytes s[0..len) as cell i's string. */
static int arena_put(arena *ar, npy_intp i, npy_intp C, const char *s,
                     size_t len) {
  if (memchr(s, 0, len))
    return nul_error(i, C);
  if (arena_reserve(ar, len + 1) < 0)
    return -1;
  memcpy(ar->c->arena + ar->len, s, len);
  ar->c->arena[ar->len + len] = 0;
  ar->c->offs[i] = (int64_t)ar->len;
  ar->len += len + 1;
  return 0;
}

/* Cell i of a numpy unicode array (UCS4, native order, `size` code points at
 * most, trailing NULs are padding), encoded to UTF-8; lone surrogates
 * U+DC80..U+DCFF are bytes 0x80..0xFF, as Python's surrogateescape. */
static int put_ucs4(arena *ar, npy_intp i, npy_intp C, const Py_UCS4 *u,
                    size_t size) {
  while (size > 0 && u[size - 1] == 0)
    size--;
  if (arena_reserve(ar, 4 * size + 1) < 0)
    return -1;
  unsigned char *o = (unsigned char *)ar->c->arena + ar->len;
  size_t k = 0;
  for (size_t t = 0; t < size; t++) {
    Py_UCS4 cp = u[t];
    if (cp == 0)
      return nul_error(i, C);
    if (cp < 0x80) {
      o[k++] = (unsigned char)cp;
    } else if (cp < 0x800) {
      o[k++] = (unsigned char)(0xC0 | (cp >> 6));
      o[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp >= 0xDC80 && cp <= 0xDCFF) {
      o[k++] = (unsigned char)(cp - 0xDC00);
    } else if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      PyErr_Format(PyExc_ValueError,
                   "X_cat[%zd, %zd] holds the code point U+%04X, which has "
                   "no UTF-8 form",
                   (Py_ssize_t)(i / C), (Py_ssize_t)(i % C), (unsigned)cp);
      return -1;
    } else if (cp < 0x10000) {
      o[k++] = (unsigned char)(0xE0 | (cp >> 12));
      o[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      o[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
      o[k++] = (unsigned char)(0xF0 | (cp >> 18));
      o[k++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
      o[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      o[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    }
  }
  o[k] = 0;
  ar->c->offs[i] = (int64_t)ar->len;
  ar->len += k + 1;
  return 0;
}

static int is_missing(PyObject *o) {
  if (o == Py_None)
    return 1;
  if (PyFloat_Check(o))
    return isnan(PyFloat_AS_DOUBLE(o));
  if (PyArray_IsScalar(o, Floating)) {
    double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return 0;
    }
    return isnan(v);
  }
  return 0;
}

/* A str as UTF-8 (surrogateescape'd bytes back to bytes). */
static int put_str(arena *ar, npy_intp i, npy_intp C, PyObject *s) {
  Py_ssize_t len;
  const char *u = PyUnicode_AsUTF8AndSize(s, &len);
  if (u)
    return arena_put(ar, i, C, u, (size_t)len);
  PyErr_Clear();
  PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
  if (!b)
    return -1;
  int rc =
      arena_put(ar, i, C, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
  Py_DECREF(b);
  return rc;
}

/* Cell i of an object array: None/NaN missing, str, bytes (UTF-8), anything
 * else by str(). */
static int put_object(arena *ar, npy_intp i, npy_intp C, PyObject *o) {
  if (is_missing(o))
    return 0; /* offs[i] stays -1 */
  if (PyUnicode_Check(o))
    return put_str(ar, i, C, o);
  if (PyBytes_Check(o))
    return arena_put(ar, i, C, PyBytes_AS_STRING(o),
                     (size_t)PyBytes_GET_SIZE(o));
  PyObject *s = PyObject_Str(o);
  if (!s)
    return -1;
  int rc = put_str(ar, i, C, s);
  Py_DECREF(s);
  return rc;
}

/* Strings of a unicode, bytes or object array into c's arena. */
static int cat_strings(PyArrayObject *a, brl_py_cat *c) {
  const npy_intp n = PyArray_DIM(a, 0), C = PyArray_DIM(a, 1);
  const int type = PyArray_TYPE(a);
  PyArrayObject *src = a;
  Py_INCREF(src);
  if (type != NPY_OBJECT && !PyArray_ISNOTSWAPPED(a)) {
    PyArray_Descr *d = PyArray_DescrNewByteorder(PyArray_DESCR(a), NPY_NATIVE);
    Py_DECREF(src);
    src = d ? (PyArrayObject *)PyArray_FromAny((PyObject *)a, d, 2, 2,
                                               NPY_ARRAY_CARRAY_RO, NULL)
            : NULL;
    if (!src)
      return -1;
  }
  const size_t itemsize = (size_t)PyArray_ITEMSIZE(src);
  c->offs = PyMem_RawMalloc((size_t)(n * C > 0 ? n * C : 1) * sizeof(int64_t));
  if (!c->offs) {
    Py_DECREF(src);
    PyErr_NoMemory();
    return -1;
  }
  for (npy_intp i = 0; i < n * C; i++)
    c->offs[i] = -1;
  arena ar = {c, 0, 0};
  int rc = 0;
  for (npy_intp r = 0; r < n && rc == 0; r++)
    for (npy_intp j = 0; j < C && rc == 0; j++) {
      const char *p = (const char *)PyArray_GETPTR2(src, r, j);
      const npy_intp i = r * C + j;
      if (type == NPY_OBJECT) {
        PyObject *o;
        memcpy(&o, p, sizeof o);
        rc = put_object(&ar, i, C, o ? o : Py_None);
      } else if (type == NPY_UNICODE) {
        Py_UCS4 buf[64];
        const size_t size = itemsize / 4;
        Py_UCS4 *u = size <= 64 ? buf : PyMem_RawMalloc(itemsize);
        if (!u) {
          PyErr_NoMemory();
          rc = -1;
          break;
        }
        memcpy(u, p, itemsize); /* items may be unaligned */
        rc = put_ucs4(&ar, i, C, u, size);
        if (u != buf)
          PyMem_RawFree(u);
      } else { /* NPY_STRING: trailing NULs are padding */
        size_t len = itemsize;
        while (len > 0 && p[len - 1] == 0)
          len--;
        rc = arena_put(&ar, i, C, p, len);
      }
    }
  Py_DECREF(src);
  return rc;
}

int brl_py_cat_prepare(const brl_model *m, PyObject *obj, int64_t n_rows,
                       brl_py_cat *c) {
  memset(c, 0, sizeof *c);
  const int C = brl_model_n_all_features(m) - brl_model_n_features(m);
  c->n_cols = C;
  c->n_rows = n_rows;
  if (!obj || obj == Py_None) {
    if (C == 0)
      return 0;
    PyErr_Format(PyExc_ValueError,
                 "the model has %d categorical features: pass X_cat, an "
                 "(n_rows, %d) array of int32 codes or of strings",
                 C, C);
    return -1;
  }
  if (C == 0) {
    PyErr_SetString(PyExc_ValueError,
                    "X_cat is given but the model has no categorical "
                    "features (n_cat_features=0): pass X_cat=None");
    return -1;
  }
  PyArrayObject *a = cat_source(obj);
  if (!a)
    return -1;
  if (!PyArray_Check((PyObject *)a)) {
    PyErr_SetString(PyExc_ValueError, "X_cat must be an array");
    Py_DECREF(a);
    return -1;
  }
  if (PyArray_DESCR(a)->kind == 'T') { /* numpy 2's StringDType */
    PyArrayObject *o = (PyArrayObject *)PyArray_FromAny(
        (PyObject *)a, PyArray_DescrFromType(NPY_OBJECT), 0, 0, 0, NULL);
    Py_DECREF(a);
    if (!(a = o))
      return -1;
  }
  const int type = PyArray_TYPE(a);
  const int ints = PyArray_ISINTEGER(a) || PyArray_ISBOOL(a);
  const int strings =
      type == NPY_UNICODE || type == NPY_STRING || type == NPY_OBJECT;
  if (!ints && !strings) {
    PyErr_Format(PyExc_ValueError,
                 "X_cat must hold integer codes (int32, negative = missing) "
                 "or strings (str, bytes or object arrays; None/NaN = "
                 "missing), got dtype %S",
                 (PyObject *)PyArray_DESCR(a));
    Py_DECREF(a);
    return -1;
  }
  if (n_rows < 0 && PyArray_NDIM(a) == 2)
    c->n_rows = n_rows = (int64_t)PyArray_DIM(a, 0);
  if (cat_shape(a, n_rows, C) < 0) {
    Py_DECREF(a);
    return -1;
  }
  if (ints) {
    c->codes = cat_ints(a);
    Py_DECREF(a);
    return c->codes ? 0 : -1;
  }
  npy_intp dims[2] = {(npy_intp)n_rows, C};
  c->codes = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_INT32);
  int rc = c->codes ? cat_strings(a, c) : -1;
  Py_DECREF(a);
  if (rc < 0)
    brl_py_cat_release(c);
  return rc;
}

int brl_py_cat_encode(brl_model *m, brl_py_cat *c, int add) {
  if (!c->offs)
    return BRL_OK;
  int32_t *codes = (int32_t *)PyArray_DATA(c->codes);
  const int64_t n = c->n_rows * c->n_cols;
  for (int64_t i = 0; i < n; i++) {
    if (c->offs[i] < 0) {
      codes[i] = -1;
      continue;
    }
    int rc = brl_model_cat_encode(m, (int)(i % c->n_cols),
                                  c->arena + c->offs[i], add, &codes[i]);
    if (rc)
      return rc;
  }
  return BRL_OK;
}

const int32_t *brl_py_cat_data(const brl_py_cat *c) {
  return c->codes ? (const int32_t *)PyArray_DATA(c->codes) : NULL;
}

void brl_py_cat_release(brl_py_cat *c) {
  Py_CLEAR(c->codes);
  PyMem_RawFree(c->arena);
  PyMem_RawFree(c->offs);
  c->arena = NULL;
  c->offs = NULL;
}

/* ------------------------------------------------------- rows of a call */

int brl_py_rows_prepare(const brl_model *m, PyObject *X, PyObject *X_cat,
                        brl_py_rows_in *in) {
  in->X = brl_py_features(X, brl_model_n_features(m));
  if (!in->X)
    return -1;
  in->n_rows = (int64_t)PyArray_DIM(in->X, 0);
  if (brl_py_cat_prepare(m, X_cat, in->n_rows, &in->cat) < 0) {
    Py_CLEAR(in->X);
    return -1;
  }
  return 0;
}

const float *brl_py_rows_x(const brl_py_rows_in *in) {
  return (const float *)PyArray_DATA(in->X);
}

void brl_py_rows_release(brl_py_rows_in *in) {
  brl_py_cat_release(&in->cat);
  Py_CLEAR(in->X);
}
