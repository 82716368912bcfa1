/* boostrl._core: the pieces every type's methods end with (results, bytes,
 * dicts of C structs, string lists) and type registration. */
#include "brl_py.h"

int brl_py_status(int status) {
  if (!status)
    return 0;
  brl_py_raise(status);
  return -1;
}

PyObject *brl_py_none(int status) {
  if (status)
    return brl_py_raise(status);
  Py_RETURN_NONE;
}

PyObject *brl_py_result(int status, PyObject *obj) {
  if (!status)
    return obj;
  Py_XDECREF(obj);
  return brl_py_raise(status);
}

PyObject *brl_py_bytes(int status, void *buf, size_t len) {
  if (status)
    return brl_py_raise(status);
  PyObject *out = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
  brl_free(buf);
  return out;
}

static PyObject *field_value(const void *s, const brl_py_field *f) {
  const char *p = (const char *)s + f->offset;
  switch (f->kind) {
  case BRL_PY_INT:
    return PyLong_FromLong(*(const int *)p);
  case BRL_PY_I64:
    return PyLong_FromLongLong((long long)*(const int64_t *)p);
  default:
    return PyFloat_FromDouble(*(const double *)p);
  }
}

PyObject *brl_py_fields_dict(const void *s, const brl_py_field *fields) {
  PyObject *d = PyDict_New();
  for (const brl_py_field *f = fields; d && f->key; f++) {
    PyObject *v = field_value(s, f);
    if (!v || PyDict_SetItemString(d, f->key, v) < 0)
      Py_CLEAR(d);
    Py_XDECREF(v);
  }
  return d;
}

PyObject *brl_py_str_list(const char *const *items,
                          const char *(*help)(const char *)) {
  PyObject *l = PyList_New(0);
  for (const char *const *k = items; l && *k; k++) {
    const char *h = help ? help(*k) : NULL;
    PyObject *v =
        help ? Py_BuildValue("(ss)", *k, h ? h : "") : PyUnicode_FromString(*k);
    if (!v || PyList_Append(l, v) < 0)
      Py_CLEAR(l);
    Py_XDECREF(v);
  }
  return l;
}

int brl_py_add_type(PyObject *m, const char *name, PyTypeObject *type,
                    PyMethodDef *functions) {
  if (PyType_Ready(type) < 0)
    return -1;
  Py_INCREF(type);
  if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
    Py_DECREF(type);
    return -1;
  }
  return functions ? PyModule_AddFunctions(m, functions) : 0;
}
