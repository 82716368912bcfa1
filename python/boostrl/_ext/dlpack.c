/* CUDA tensors through DLPack, without host copies: Model.predict on a
 * CUDA DLPack producer (a torch / CuPy / JAX array on the GPU) reads it in
 * place with brl_model_predict_device and writes into a CUDA `out` tensor
 * or into a DeviceArray, device memory of the library's that exports itself
 * through __dlpack__ (torch.from_dlpack(result) takes it over). */
#include "brl_py.h"

#include <stdlib.h>
#include <string.h>

/* The DLPack ABI (dlpack.h v0.8; unversioned "dltensor" capsules). */
typedef struct {
  int32_t device_type, device_id;
} DLDevice;
typedef struct {
  uint8_t code, bits;
  uint16_t lanes;
} DLDataType;
typedef struct {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape, *strides;
  uint64_t byte_offset;
} DLTensor;
typedef struct DLManagedTensor {
  DLTensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(struct DLManagedTensor *self);
} DLManagedTensor;

enum { DL_CPU = 1, DL_CUDA = 2, DL_INT = 0, DL_FLOAT = 2 };

/* ------------------------------------------------------------ importing */

int brl_py_dlpack_cuda(PyObject *obj) {
  if (PyArray_Check(obj)) /* the common case, without a Python call */
    return 0;
  if (!PyObject_HasAttrString(obj, "__dlpack_device__") ||
      !PyObject_HasAttrString(obj, "__dlpack__"))
    return 0;
  PyObject *dev = PyObject_CallMethod(obj, "__dlpack_device__", NULL);
  if (!dev)
    return -1;
  int type = -1, id = 0;
  int ok = PyArg_ParseTuple(dev, "ii", &type, &id);
  Py_DECREF(dev);
  if (!ok)
    return -1;
  return type == DL_CUDA;
}

/* A consumed CUDA DLPack tensor of `rows` x `cols` elements of dtype
 * (code, 32 bits), C-contiguous. */
typedef struct {
  PyObject *capsule;
  DLManagedTensor *mt;
  void *data;
} cuda_view;

static void view_release(cuda_view *v) {
  if (v->mt && v->mt->deleter)
    v->mt->deleter(v->mt);
  v->mt = NULL;
  Py_CLEAR(v->capsule);
}

/* rows < 0: any; a 1-D tensor passes for (rows, 1) when one_d. */
static int view_take(PyObject *obj, const char *name, int code, int64_t rows,
                     int64_t cols, int one_d, cuda_view *v) {
  memset(v, 0, sizeof *v);
  v->capsule = PyObject_CallMethod(obj, "__dlpack__", NULL);
  if (!v->capsule)
    return -1;
  v->mt = (DLManagedTensor *)PyCapsule_GetPointer(v->capsule, "dltensor");
  if (!v->mt) {
    Py_CLEAR(v->capsule);
    return -1;
  }
  /* Consumed: the deleter is ours to call. */
  if (PyCapsule_SetName(v->capsule, "used_dltensor") < 0) {
    v->mt = NULL;
    Py_CLEAR(v->capsule);
    return -1;
  }
  const DLTensor *t = &v->mt->dl_tensor;
  const char *want = code == DL_FLOAT ? "float32" : "int32";
  if (t->device.device_type != DL_CUDA) {
    PyErr_Format(PyExc_ValueError,
                 "%s is not on a CUDA device (DLPack device type %d): pass "
                 "every array of a call on the same device",
                 name, (int)t->device.device_type);
    goto fail;
  }
  if (t->device.device_id != 0) {
    PyErr_Format(PyExc_ValueError,
                 "%s is on CUDA device %d: the library runs on device 0 (the "
                 "first of CUDA_VISIBLE_DEVICES)",
                 name, (int)t->device.device_id);
    goto fail;
  }
  if (t->dtype.code != code || t->dtype.bits != 32 || t->dtype.lanes != 1) {
    PyErr_Format(PyExc_TypeError,
                 "%s must be a %s CUDA tensor (DLPack dtype code %d, %d "
                 "bits): convert it on the device first",
                 name, want, (int)t->dtype.code, (int)t->dtype.bits);
    goto fail;
  }
  const int64_t r = t->ndim >= 1 ? t->shape[0] : -1;
  const int64_t c = t->ndim == 2 ? t->shape[1] : t->ndim == 1 ? 1 : -1;
  if (!(t->ndim == 2 || (one_d && t->ndim == 1)) || (rows >= 0 && r != rows) ||
      c != cols) {
    PyErr_Format(PyExc_ValueError,
                 "%s must be a (%lld, %lld) CUDA tensor, got %d-D with shape "
                 "(%lld, %lld)",
                 name, (long long)(rows >= 0 ? rows : r), (long long)cols,
                 (int)t->ndim, (long long)r, (long long)(t->ndim == 2 ? c : 0));
    goto fail;
  }
  if (t->strides && r > 1 &&
      !(t->strides[0] == c && (t->ndim == 1 || c == 1 || t->strides[1] == 1))) {
    PyErr_Format(PyExc_ValueError,
                 "%s must be C-contiguous on the device (call .contiguous())",
                 name);
    goto fail;
  }
  v->data = (char *)t->data + t->byte_offset;
  return 0;
fail:
  view_release(v);
  return -1;
}

static int64_t view_rows(const cuda_view *v) {
  return v->mt->dl_tensor.shape[0];
}

/* ---------------------------------------------------------- DeviceArray */

typedef struct {
  PyObject ob_base;
  float *data; /* device memory (brl_device_alloc) */
  int64_t shape[2];
} DeviceArray;

static PyTypeObject DeviceArray_Type;

static void DeviceArray_dealloc(DeviceArray *self) {
  brl_device_free(self->data);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* What an exported capsule owns: the tensor, its shape, the array. */
typedef struct {
  DLManagedTensor mt;
  int64_t shape[2];
  PyObject *owner;
} export_ctx;

static void export_deleter(DLManagedTensor *mt) {
  export_ctx *c = (export_ctx *)mt->manager_ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  Py_XDECREF(c->owner);
  PyGILState_Release(g);
  free(c);
}

static void capsule_destructor(PyObject *cap) {
  /* Not consumed: the tensor is still the capsule's. */
  if (PyCapsule_IsValid(cap, "dltensor")) {
    DLManagedTensor *mt =
        (DLManagedTensor *)PyCapsule_GetPointer(cap, "dltensor");
    if (mt && mt->deleter)
      mt->deleter(mt);
  } else {
    PyErr_Clear();
  }
}

static PyObject *DeviceArray_dlpack(DeviceArray *self, PyObject *args,
                                    PyObject *kw) {
  (void)args;
  (void)kw; /* stream, max_version, ...: the data is ready on return */
  export_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return PyErr_NoMemory();
  c->shape[0] = self->shape[0];
  c->shape[1] = self->shape[1];
  c->owner = (PyObject *)self;
  Py_INCREF(self);
  DLTensor *t = &c->mt.dl_tensor;
  t->data = self->data;
  t->device.device_type = DL_CUDA;
  t->device.device_id = 0;
  t->ndim = 2;
  t->dtype.code = DL_FLOAT;
  t->dtype.bits = 32;
  t->dtype.lanes = 1;
  t->shape = c->shape;
  t->strides = NULL;
  c->mt.manager_ctx = c;
  c->mt.deleter = export_deleter;
  PyObject *cap = PyCapsule_New(&c->mt, "dltensor", capsule_destructor);
  if (!cap)
    export_deleter(&c->mt);
  return cap;
}

static PyObject *DeviceArray_dlpack_device(DeviceArray *self, PyObject *u) {
  (void)self;
  (void)u;
  return Py_BuildValue("(ii)", DL_CUDA, 0);
}

static PyObject *DeviceArray_numpy(DeviceArray *self, PyObject *u) {
  (void)u;
  npy_intp dims[2] = {(npy_intp)self->shape[0], (npy_intp)self->shape[1]};
  PyObject *a = PyArray_SimpleNew(2, dims, NPY_FLOAT32);
  if (!a)
    return NULL;
  int rc = brl_device_copy(PyArray_DATA((PyArrayObject *)a), self->data,
                           (size_t)(dims[0] * dims[1]) * sizeof(float));
  if (rc) {
    Py_DECREF(a);
    return brl_py_raise(rc);
  }
  return a;
}

static PyObject *DeviceArray_shape(DeviceArray *self, void *c) {
  (void)c;
  return Py_BuildValue("(LL)", (long long)self->shape[0],
                       (long long)self->shape[1]);
}

static PyMethodDef DeviceArray_methods[] = {
    {"__dlpack__", (PyCFunction)(void (*)(void))DeviceArray_dlpack,
     METH_VARARGS | METH_KEYWORDS,
     "__dlpack__(*, stream=None, ...) -> capsule: the array as a DLPack "
     "tensor (the consumer keeps the memory alive)."},
    {"__dlpack_device__", (PyCFunction)DeviceArray_dlpack_device, METH_NOARGS,
     "__dlpack_device__() -> (2, 0): CUDA device 0."},
    {"numpy", (PyCFunction)DeviceArray_numpy, METH_NOARGS,
     "numpy() -> a float32 host copy."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef DeviceArray_getset[] = {
    {"shape", (getter)DeviceArray_shape, NULL, "(n_rows, n_outputs)", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject DeviceArray_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boostrl._core.DeviceArray",
    .tp_basicsize = sizeof(DeviceArray),
    .tp_dealloc = (destructor)DeviceArray_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Predictions in CUDA device memory (Model.predict of a CUDA "
              "tensor without out=): a float32 (n_rows, n_outputs) array "
              "that DLPack consumers take over, e.g. torch.from_dlpack().",
    .tp_methods = DeviceArray_methods,
    .tp_getset = DeviceArray_getset,
};

/* ------------------------------------------------------------ predicting */

PyObject *brl_py_predict_cuda(BrlModelObject *self, PyObject *X_obj,
                              PyObject *X_cat, int start, int stop,
                              PyObject *out_obj) {
  if (brl_model_backend(self->m) != BRL_BACKEND_CUDA) {
    PyErr_SetString(PyExc_ValueError,
                    "X is a CUDA tensor but the ensemble is on the cpu: "
                    "create it with device=\"cuda\" (or move it with "
                    ".to(\"cuda\")), or pass X in host memory");
    return NULL;
  }
  const int D = brl_model_n_features(self->m), K = brl_model_n_outputs(self->m);
  const int C = brl_model_n_all_features(self->m) - D;
  cuda_view x, xc = {0}, o = {0};
  float *out = NULL;
  int rc = BRL_OK;
  if (view_take(X_obj, "X", DL_FLOAT, -1, D, D == 1, &x) < 0)
    return NULL;
  const int64_t n = view_rows(&x);
  PyObject *result = NULL;
  if (C > 0 && X_cat == Py_None) {
    PyErr_Format(PyExc_ValueError,
                 "the model has %d categorical features: pass X_cat as an "
                 "int32 CUDA tensor of codes",
                 C);
    goto done;
  }
  if (X_cat != Py_None) {
    if (C == 0) {
      PyErr_SetString(PyExc_ValueError,
                      "X_cat given but the model has no categorical features");
      goto done;
    }
    if (view_take(X_cat, "X_cat", DL_INT, n, C, C == 1, &xc) < 0)
      goto done;
  }
  if (out_obj != Py_None) {
    int cu = brl_py_dlpack_cuda(out_obj);
    if (cu <= 0) {
      if (cu == 0)
        PyErr_SetString(PyExc_ValueError,
                        "out must be a float32 CUDA tensor when X is one");
      goto done;
    }
    if (view_take(out_obj, "out", DL_FLOAT, n, K, K == 1, &o) < 0)
      goto done;
    out = o.data;
    Py_INCREF(out_obj);
    result = out_obj;
  } else {
    DeviceArray *a = PyObject_New(DeviceArray, &DeviceArray_Type);
    if (!a)
      goto done;
    a->data = NULL;
    a->shape[0] = n;
    a->shape[1] = K;
    rc = brl_device_alloc((size_t)n * (size_t)K * sizeof(float),
                          (void **)&a->data);
    if (rc) {
      Py_DECREF(a);
      brl_py_raise(rc);
      goto done;
    }
    result = (PyObject *)a;
    out = a->data;
  }
  if (n > 0)
    BRL_PY_CALL(self, rc = brl_model_predict_device(
                          self->m, (const float *)x.data,
                          (const int32_t *)xc.data, n, start, stop, out));
  if (rc) {
    Py_CLEAR(result);
    brl_py_raise(rc);
  }
done:
  view_release(&x);
  view_release(&xc);
  view_release(&o);
  return result;
}

/* ---------------------------------------------------------------- module */

static PyObject *cuda_available(PyObject *mod, PyObject *u) {
  (void)mod;
  (void)u;
  return PyBool_FromLong(brl_backend_available(BRL_BACKEND_CUDA));
}

static PyMethodDef dlpack_methods[] = {
    {"cuda_available", cuda_available, METH_NOARGS,
     "cuda_available() -> bool: the CUDA backend is built in and a usable "
     "GPU is present."},
    {NULL, NULL, 0, NULL}};

int brl_py_dlpack_init(PyObject *m) {
  return brl_py_add_type(m, "DeviceArray", &DeviceArray_Type, dlpack_methods);
}
