/* boostrl._core.Model: a brl_model with predict, step, batches, files and
 * accessors. boostrl.Ensemble subclasses it in Python. */
#include "brl_py.h"

#include <stdio.h>
#include <stdlib.h>

int brl_py_model_ready(BrlModelObject *self) {
  if (self->m)
    return 0;
  PyErr_SetString(PyExc_ValueError,
                  "the model is not initialized (its __init__ did not run or "
                  "failed)");
  return -1;
}

/* A float32 as the shortest Python float that rounds back to it (0.1f reads
 * 0.1, not 0.10000000149011612). */
static PyObject *f32_to_py(float v) {
  char buf[32];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v)
      return PyFloat_FromDouble(strtod(buf, NULL));
  }
  return PyFloat_FromDouble((double)v);
}

PyObject *brl_py_model_wrap(PyTypeObject *type, brl_model *m) {
  BrlModelObject *self = (BrlModelObject *)type->tp_alloc(type, 0);
  if (!self) {
    brl_model_free(&m);
    return NULL;
  }
  if (brl_py_new_lock(&self->lock) < 0) {
    brl_model_free(&m);
    Py_DECREF(self);
    return NULL;
  }
  self->m = m;
  return (PyObject *)self;
}

static PyObject *Model_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  (void)args;
  (void)kw;
  return brl_py_model_wrap(type, NULL);
}

static void Model_dealloc(BrlModelObject *self) {
  brl_model_free(&self->m);
  if (self->lock)
    PyThread_free_lock(self->lock);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* One group from a tuple (n_outputs, lr, lr_end, schedule, schedule_trees,
 * score_weight) or an int (n_outputs, the other fields as default). */
static int parse_group(PyObject *item, int index, brl_group *g) {
  if (PyLong_Check(item)) {
    long n = PyLong_AsLong(item);
    if (n == -1 && PyErr_Occurred())
      return -1;
    g->n_outputs = n > INT32_MAX   ? INT32_MAX
                   : n < INT32_MIN ? INT32_MIN
                                   : (int)n;
    return 0;
  }
  PyObject *t = PySequence_Tuple(item);
  if (!t)
    return -1;
  int schedule = (int)g->schedule;
  int ok = PyArg_ParseTuple(t, "iffiif", &g->n_outputs, &g->lr, &g->lr_end,
                            &schedule, &g->schedule_trees, &g->score_weight);
  Py_DECREF(t);
  if (!ok) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_Format(PyExc_TypeError,
                 "groups[%d] must be (n_outputs, lr, lr_end, schedule, "
                 "schedule_trees, score_weight): %S",
                 index, value ? value : Py_None);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return -1;
  }
  g->schedule = (brl_schedule)schedule;
  return 0;
}

static int Model_init(BrlModelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"n_features",       "groups",         "max_depth",
                           "min_data_in_leaf", "n_bins",         "grow_policy",
                           "split_score",      "bin_method",     "n_threads",
                           "clip_nonfinite",   "n_cat_features", "optimizer",
                           "adam_beta1",       "adam_beta2",     "adam_eps",
                           "control_variates", "cv_decay",       NULL};
  brl_params p;
  int n_features;
  PyObject *groups = NULL;
  brl_params_default(&p, 1, 1);
  int grow = (int)p.grow_policy, score = (int)p.split_score,
      bins = (int)p.bin_method;
  if (!PyArg_ParseTupleAndKeywords(
          args, kw, "i|Oiiiiiiipiifffpf:Model", kwlist, &n_features, &groups,
          &p.max_depth, &p.min_data_in_leaf, &p.n_bins, &grow, &score, &bins,
          &p.n_threads, &p.clip_nonfinite, &p.n_cat_features, &p.optimizer,
          &p.adam_beta1, &p.adam_beta2, &p.adam_eps, &p.control_variates,
          &p.cv_decay))
    return -1;
  p.n_features = n_features;
  p.grow_policy = (brl_grow_policy)grow;
  p.split_score = (brl_split_score)score;
  p.bin_method = (brl_bin_method)bins;
  if (groups && PyLong_Check(groups)) {
    if (parse_group(groups, 0, &p.groups[0]) < 0)
      return -1;
  } else if (groups && groups != Py_None) {
    PyObject *seq = PySequence_Fast(groups, "groups must be a sequence");
    if (!seq)
      return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n < 1 || n > BRL_MAX_GROUPS) {
      PyErr_Format(PyExc_ValueError,
                   "there are %zd groups: use 1 to %d output groups", n,
                   BRL_MAX_GROUPS);
      Py_DECREF(seq);
      return -1;
    }
    p.n_groups = (int)n;
    for (Py_ssize_t i = 0; i < n; i++) {
      p.groups[i] = p.groups[0];
      if (parse_group(PySequence_Fast_GET_ITEM(seq, i), (int)i, &p.groups[i]) <
          0) {
        Py_DECREF(seq);
        return -1;
      }
    }
    Py_DECREF(seq);
  }
  brl_model *m = NULL;
  if (brl_py_status(brl_model_create(&p, &m)) < 0)
    return -1;
  if (self->m) {
    /* Batches of the model rely on it staying the same. */
    brl_model_free(&m);
    PyErr_SetString(PyExc_RuntimeError, "the model is already initialized");
    return -1;
  }
  self->m = m;
  return 0;
}

/* A tree index as Python counts: negative counts from the end. */
static int tree_index(PyObject *obj, int n_trees, int dflt, int *out) {
  if (!obj || obj == Py_None) {
    *out = dflt;
    return 0;
  }
  long v = PyLong_AsLong(obj);
  if (v == -1 && PyErr_Occurred())
    return -1;
  if (v < 0)
    v += n_trees;
  if (v < 0 || v > INT32_MAX) {
    PyErr_Format(PyExc_ValueError,
                 "tree index %S is out of range: the model has %d trees", obj,
                 n_trees);
    return -1;
  }
  *out = (int)v;
  return 0;
}

static PyObject *Model_predict(BrlModelObject *self, PyObject *args,
                               PyObject *kw) {
  static char *kwlist[] = {"X", "X_cat", "start", "stop", "out", NULL};
  PyObject *X_obj, *X_cat = Py_None, *start_obj = Py_None, *stop_obj = Py_None,
                   *out_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOO:predict", kwlist, &X_obj,
                                   &X_cat, &start_obj, &stop_obj, &out_obj))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  int start = 0, stop = -1;
  if (start_obj != Py_None || stop_obj != Py_None) {
    int n_trees;
    BRL_PY_QUICK(self, n_trees = brl_model_n_trees(self->m));
    if (tree_index(start_obj, n_trees, 0, &start) < 0 ||
        tree_index(stop_obj, n_trees, -1, &stop) < 0)
      return NULL;
  }
  const int cuda = brl_py_dlpack_cuda(X_obj);
  if (cuda < 0)
    return NULL;
  if (cuda)
    return brl_py_predict_cuda(self, X_obj, X_cat, start, stop, out_obj);
  brl_py_rows_in in;
  if (brl_py_rows_prepare(self->m, X_obj, X_cat, &in) < 0)
    return NULL;
  const int64_t n = in.n_rows;
  PyArrayObject *out = brl_py_output(out_obj, n, brl_model_n_outputs(self->m));
  int rc = BRL_OK;
  if (out) {
    float *o = (float *)PyArray_DATA(out);
    BRL_PY_CALL(self, {
      rc = brl_py_cat_encode(self->m, &in.cat, 0);
      if (rc == BRL_OK)
        rc = brl_model_predict_cat(self->m, brl_py_rows_x(&in),
                                   brl_py_cat_data(&in.cat), n, start, stop, o);
    });
  }
  brl_py_rows_release(&in);
  return brl_py_result(rc, (PyObject *)out);
}

/* _shap(X, X_cat=None): brl_model_shap as a float32 (n_rows, F + 1,
 * n_outputs) array, F = n_features + n_cat_features; [:, F, :] holds the
 * expected value. */
static PyObject *Model_shap(BrlModelObject *self, PyObject *args,
                            PyObject *kw) {
  static char *kwlist[] = {"X", "X_cat", NULL};
  PyObject *X_obj, *X_cat = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:_shap", kwlist, &X_obj,
                                   &X_cat))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  const int K = brl_model_n_outputs(self->m);
  const int F = brl_model_n_all_features(self->m);
  brl_py_rows_in in;
  if (brl_py_rows_prepare(self->m, X_obj, X_cat, &in) < 0)
    return NULL;
  const int64_t n = in.n_rows;
  npy_intp dims[3] = {(npy_intp)n, (npy_intp)F + 1, (npy_intp)K};
  PyObject *out = PyArray_ZEROS(3, dims, NPY_FLOAT32, 0);
  int rc = BRL_OK;
  if (out) {
    float *o = brl_py_data(out);
    BRL_PY_CALL(self, {
      rc = brl_py_cat_encode(self->m, &in.cat, 0);
      if (rc == BRL_OK)
        rc = brl_model_shap(self->m, brl_py_rows_x(&in),
                            brl_py_cat_data(&in.cat), n, o);
    });
  }
  brl_py_rows_release(&in);
  return brl_py_result(rc, out);
}

static PyObject *Model_step(BrlModelObject *self, PyObject *args,
                            PyObject *kw) {
  static char *kwlist[] = {"X", "grads", "X_cat", "rows", "progress", NULL};
  PyObject *X_obj, *g_obj, *X_cat = Py_None, *rows_obj = Py_None;
  float progress = 0.0f;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OOf:step", kwlist, &X_obj,
                                   &g_obj, &X_cat, &rows_obj, &progress))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  brl_py_rows_in in;
  if (brl_py_rows_prepare(self->m, X_obj, X_cat, &in) < 0)
    return NULL;
  const int64_t n_rows = in.n_rows;
  PyArrayObject *rows = NULL, *G = NULL;
  if (rows_obj == Py_None || (rows = brl_py_rows(rows_obj, n_rows)))
    G = brl_py_grads(g_obj, rows ? (int64_t)PyArray_DIM(rows, 0) : n_rows,
                     brl_model_n_outputs(self->m));
  if (!G) {
    brl_py_rows_release(&in);
    Py_XDECREF(rows);
    return NULL;
  }
  const int64_t n = (int64_t)PyArray_DIM(G, 0);
  const float *g = (const float *)PyArray_DATA(G);
  const int32_t *r = rows ? (const int32_t *)PyArray_DATA(rows) : NULL;
  int rc;
  BRL_PY_CALL(self, {
    brl_batch *b = NULL;
    rc = brl_py_cat_encode(self->m, &in.cat, 1);
    if (rc == BRL_OK)
      rc = brl_batch_create_cat(self->m, brl_py_rows_x(&in),
                                brl_py_cat_data(&in.cat), n_rows, &b);
    if (rc == BRL_OK)
      rc = brl_model_step(self->m, b, r, n, g, progress);
    brl_batch_free(&b);
  });
  brl_py_rows_release(&in);
  Py_DECREF(G);
  Py_XDECREF(rows);
  return brl_py_none(rc);
}

static PyObject *Model_batch(BrlModelObject *self, PyObject *args,
                             PyObject *kw) {
  static char *kwlist[] = {"X", "X_cat", NULL};
  PyObject *X_obj, *X_cat = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:batch", kwlist, &X_obj,
                                   &X_cat))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  return brl_py_batch_new(self, X_obj, X_cat);
}

/* _fit(X, y, X_cat=None, iterations=100, batch_size=0, shuffle=True,
 * seed=0): brl_fit with the GIL released. */
static PyObject *Model_fit(BrlModelObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"X",          "y",       "X_cat", "iterations",
                           "batch_size", "shuffle", "seed",  NULL};
  PyObject *X_obj, *y_obj, *X_cat = Py_None;
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  long long batch_size = 0;
  unsigned long long seed = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OiLpK:_fit", kwlist, &X_obj,
                                   &y_obj, &X_cat, &fp.iterations, &batch_size,
                                   &fp.shuffle, &seed))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  fp.batch_size = (int64_t)batch_size;
  fp.seed = (uint64_t)seed;
  PyArrayObject *X = brl_py_features(X_obj, brl_model_n_features(self->m));
  if (!X)
    return NULL;
  const int64_t n = (int64_t)PyArray_DIM(X, 0);
  const int K = brl_model_n_outputs(self->m);
  PyArrayObject *Y = brl_py_float_array(y_obj, "y", 2, 1);
  if (!Y) {
    Py_DECREF(X);
    return NULL;
  }
  if (PyArray_DIM(Y, 0) != n ||
      (PyArray_NDIM(Y) == 1 ? K != 1 : PyArray_DIM(Y, 1) != K)) {
    PyObject *shape = PyObject_GetAttrString((PyObject *)Y, "shape");
    if (shape)
      PyErr_Format(PyExc_ValueError,
                   "y has shape %R: expected (%lld, %d)%s, one row per row "
                   "of X and one column per output",
                   shape, (long long)n, K, K == 1 ? " or (n_rows,)" : "");
    Py_XDECREF(shape);
    Py_DECREF(X);
    Py_DECREF(Y);
    return NULL;
  }
  brl_py_cat cat;
  if (brl_py_cat_prepare(self->m, X_cat, n, &cat) < 0) {
    Py_DECREF(X);
    Py_DECREF(Y);
    return NULL;
  }
  const float *x = (const float *)PyArray_DATA(X);
  const float *y = (const float *)PyArray_DATA(Y);
  int rc;
  BRL_PY_CALL(self, {
    rc = brl_py_cat_encode(self->m, &cat, 1);
    if (rc == BRL_OK)
      rc = brl_fit(self->m, x, brl_py_cat_data(&cat), y, n, &fp);
  });
  brl_py_cat_release(&cat);
  Py_DECREF(X);
  Py_DECREF(Y);
  return brl_py_none(rc);
}

/* _feature_importance(kind): float64 array over every feature (numeric,
 * then categorical); kind 0 splits, 1 gain. */
static PyObject *Model_feature_importance(BrlModelObject *self, PyObject *arg) {
  int kind;
  if (brl_py_as_int(arg, &kind) < 0 || brl_py_model_ready(self) < 0)
    return NULL;
  npy_intp d = brl_model_n_all_features(self->m);
  PyArrayObject *a = (PyArrayObject *)PyArray_SimpleNew(1, &d, NPY_FLOAT64);
  if (!a)
    return NULL;
  double *o = (double *)PyArray_DATA(a);
  int rc;
  BRL_PY_CALL(self, rc = brl_model_feature_importance(self->m,
                                                      (brl_importance)kind, o));
  return brl_py_result(rc, (PyObject *)a);
}

static int cat_column(BrlModelObject *self, PyObject *arg, int *j) {
  if (brl_py_as_int(arg, j) < 0 || brl_py_model_ready(self) < 0)
    return -1;
  const int C =
      brl_model_n_all_features(self->m) - brl_model_n_features(self->m);
  if (*j < 0)
    *j += C;
  if (*j < 0 || *j >= C) {
    PyErr_Format(PyExc_ValueError,
                 "categorical feature %S does not exist (the model has %d)",
                 arg, C);
    return -1;
  }
  return 0;
}

/* categories(j): the dictionary of categorical column j, code order. */
static PyObject *Model_categories(BrlModelObject *self, PyObject *arg) {
  int j;
  if (cat_column(self, arg, &j) < 0)
    return NULL;
  PyObject *list = NULL;
  brl_py_lock(self->lock); /* the strings stay valid while it is held */
  const int n = brl_model_cat_size(self->m, j);
  list = PyList_New(n);
  for (int c = 0; list && c < n; c++) {
    const char *s = brl_model_cat_decode(self->m, j, c);
    PyObject *str = PyUnicode_DecodeUTF8(
        s ? s : "", s ? (Py_ssize_t)strlen(s) : 0, "surrogateescape");
    if (!str)
      Py_CLEAR(list);
    else
      PyList_SET_ITEM(list, c, str);
  }
  PyThread_release_lock(self->lock);
  return list;
}

/* encode_categories(X_cat, add=False): the int32 codes the model reads for
 * X_cat (X_cat itself when it is a C-contiguous int32 array). */
static PyObject *Model_encode_categories(BrlModelObject *self, PyObject *args,
                                         PyObject *kw) {
  static char *kwlist[] = {"X_cat", "add", NULL};
  PyObject *X_cat;
  int add = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:encode_categories", kwlist,
                                   &X_cat, &add))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  if (X_cat == Py_None) {
    PyErr_SetString(PyExc_ValueError, "X_cat is None: nothing to encode");
    return NULL;
  }
  brl_py_cat cat;
  if (brl_py_cat_prepare(self->m, X_cat, -1, &cat) < 0)
    return NULL;
  int rc;
  BRL_PY_CALL(self, rc = brl_py_cat_encode(self->m, &cat, add));
  if (rc) {
    brl_py_cat_release(&cat);
    return brl_py_raise(rc);
  }
  PyObject *codes = (PyObject *)cat.codes;
  Py_INCREF(codes);
  brl_py_cat_release(&cat);
  return codes;
}

static PyObject *Model_save(BrlModelObject *self, PyObject *arg) {
  PyObject *path = NULL;
  if (brl_py_model_ready(self) < 0 || !PyUnicode_FSConverter(arg, &path))
    return NULL;
  const char *p = PyBytes_AS_STRING(path);
  int rc;
  BRL_PY_CALL(self, rc = brl_model_save(self->m, p));
  Py_DECREF(path);
  return brl_py_none(rc);
}

static PyObject *Model_load(PyObject *cls, PyObject *arg) {
  PyObject *path = NULL;
  if (!PyUnicode_FSConverter(arg, &path))
    return NULL;
  const char *p = PyBytes_AS_STRING(path);
  brl_model *m = NULL;
  int rc;
  BRL_PY_NOGIL(rc = brl_model_load(p, &m));
  Py_DECREF(path);
  return rc ? brl_py_raise(rc) : brl_py_model_wrap((PyTypeObject *)cls, m);
}

static PyObject *Model_to_bytes(BrlModelObject *self, PyObject *unused) {
  (void)unused;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  void *buf = NULL;
  size_t len = 0;
  int rc;
  BRL_PY_CALL(self, rc = brl_model_save_buffer(self->m, &buf, &len));
  return brl_py_bytes(rc, buf, len);
}

static PyObject *Model_from_bytes(PyObject *cls, PyObject *arg) {
  Py_buffer view;
  if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
    return NULL;
  brl_model *m = NULL;
  int rc;
  BRL_PY_NOGIL(rc = brl_model_load_buffer(view.buf, (size_t)view.len, &m));
  PyBuffer_Release(&view);
  return rc ? brl_py_raise(rc) : brl_py_model_wrap((PyTypeObject *)cls, m);
}

static PyObject *Model_truncate(BrlModelObject *self, PyObject *arg) {
  int n_keep;
  if (brl_py_as_int(arg, &n_keep) < 0)
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_model_truncate(self->m, n_keep));
  return brl_py_none(rc);
}

static PyObject *Model_set_group_lr(BrlModelObject *self, PyObject *args,
                                    PyObject *kw) {
  static char *kwlist[] = {"group", "lr", "lr_end", NULL};
  int group;
  float lr;
  PyObject *lr_end_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "if|O:set_group_lr", kwlist,
                                   &group, &lr, &lr_end_obj))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  float lr_end = 0.0f;
  int keep_end = lr_end_obj == Py_None;
  if (!keep_end) {
    double v = PyFloat_AsDouble(lr_end_obj);
    if (v == -1.0 && PyErr_Occurred())
      return NULL;
    lr_end = (float)v;
  }
  int rc;
  BRL_PY_QUICK(self, {
    brl_params p;
    rc = brl_model_params(self->m, &p);
    if (rc == BRL_OK) {
      if (keep_end)
        lr_end = group >= 0 && group < p.n_groups ? p.groups[group].lr_end : lr;
      rc = brl_model_set_group_lr(self->m, group, lr, lr_end);
    }
  });
  return brl_py_none(rc);
}

static PyObject *Model_group_lr(BrlModelObject *self, PyObject *args,
                                PyObject *kw) {
  static char *kwlist[] = {"group", "progress", NULL};
  int group;
  float progress = 0.0f;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "i|f:group_lr", kwlist, &group,
                                   &progress))
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  int n_groups;
  float lr;
  BRL_PY_QUICK(self, {
    brl_params p;
    brl_model_params(self->m, &p);
    n_groups = p.n_groups;
    lr = brl_model_group_lr(self->m, group, progress);
  });
  if (group < 0 || group >= n_groups) {
    PyErr_Format(PyExc_ValueError, "group %d does not exist (the model has %d)",
                 group, n_groups);
    return NULL;
  }
  return f32_to_py(lr);
}

static PyObject *Model_set_feature_weights(BrlModelObject *self,
                                           PyObject *arg) {
  if (brl_py_model_ready(self) < 0)
    return NULL;
  PyArrayObject *w = NULL;
  const int d = brl_model_n_all_features(self->m);
  if (arg != Py_None) {
    w = brl_py_float_array(arg, "weights", 1, 0);
    if (!w)
      return NULL;
    if (PyArray_DIM(w, 0) != d) {
      PyErr_Format(PyExc_ValueError,
                   "weights has %zd values: the model has %d features",
                   (Py_ssize_t)PyArray_DIM(w, 0), d);
      Py_DECREF(w);
      return NULL;
    }
  }
  const float *pw = w ? (const float *)PyArray_DATA(w) : NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_model_set_feature_weights(self->m, pw));
  Py_XDECREF(w);
  return brl_py_none(rc);
}

static PyObject *Model_tree_info(BrlModelObject *self, PyObject *arg) {
  int t;
  if (brl_py_as_int(arg, &t) < 0)
    return NULL;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  brl_tree_info info;
  int rc;
  BRL_PY_QUICK(self, {
    if (t < 0)
      t += brl_model_n_trees(self->m);
    rc = brl_model_tree_info(self->m, t, &info);
  });
  if (rc)
    return brl_py_raise(rc);
  return Py_BuildValue("{sisisisO}", "depth", info.depth, "n_leaves",
                       info.n_leaves, "n_splits", info.n_splits, "oblivious",
                       info.oblivious ? Py_True : Py_False);
}

static PyObject *group_dict(const brl_group *g) {
  PyObject *lr = f32_to_py(g->lr), *lr_end = f32_to_py(g->lr_end),
           *sw = f32_to_py(g->score_weight);
  PyObject *d = NULL;
  if (lr && lr_end && sw)
    d = Py_BuildValue("{sisOsOsisisO}", "n_outputs", g->n_outputs, "lr", lr,
                      "lr_end", lr_end, "schedule", (int)g->schedule,
                      "schedule_trees", g->schedule_trees, "score_weight", sw);
  Py_XDECREF(lr);
  Py_XDECREF(lr_end);
  Py_XDECREF(sw);
  return d;
}

/* _params(): the parameters as a dict, enums as their integer values. */
static PyObject *Model_params(BrlModelObject *self, PyObject *unused) {
  (void)unused;
  if (brl_py_model_ready(self) < 0)
    return NULL;
  brl_params p;
  BRL_PY_QUICK(self, brl_model_params(self->m, &p));
  PyObject *groups = PyList_New(p.n_groups);
  if (!groups)
    return NULL;
  for (int i = 0; i < p.n_groups; i++) {
    PyObject *g = group_dict(&p.groups[i]);
    if (!g) {
      Py_DECREF(groups);
      return NULL;
    }
    PyList_SET_ITEM(groups, i, g);
  }
  return Py_BuildValue(
      "{sisNsisisisisisisisOsisisNsNsNsOsN}", "n_features", p.n_features,
      "groups", groups, "max_depth", p.max_depth, "min_data_in_leaf",
      p.min_data_in_leaf, "n_bins", p.n_bins, "grow_policy", (int)p.grow_policy,
      "split_score", (int)p.split_score, "bin_method", (int)p.bin_method,
      "n_threads", p.n_threads, "clip_nonfinite",
      p.clip_nonfinite ? Py_True : Py_False, "n_cat_features", p.n_cat_features,
      "optimizer", p.optimizer, "adam_beta1", f32_to_py(p.adam_beta1),
      "adam_beta2", f32_to_py(p.adam_beta2), "adam_eps", f32_to_py(p.adam_eps),
      "control_variates", p.control_variates ? Py_True : Py_False, "cv_decay",
      f32_to_py(p.cv_decay));
}

static PyObject *Model_sizeof(BrlModelObject *self, PyObject *unused) {
  (void)unused;
  size_t bytes = (size_t)Py_TYPE(self)->tp_basicsize;
  if (self->m)
    BRL_PY_QUICK(self, bytes += brl_model_bytes(self->m));
  return PyLong_FromSize_t(bytes);
}

/* ------------------------------------------------------------ properties */

/* The integer properties: the closure says which. */
enum {
  P_TREES,
  P_OUTPUTS,
  P_FEATURES,
  P_CAT_FEATURES,
  P_BYTES,
  P_THREADS,
  P_BACKEND
};

static long long model_count(const brl_model *m, intptr_t which) {
  brl_params p;
  switch (which) {
  case P_TREES:
    return brl_model_n_trees(m);
  case P_OUTPUTS:
    return brl_model_n_outputs(m);
  case P_FEATURES:
    return brl_model_n_features(m);
  case P_CAT_FEATURES:
    return brl_model_n_all_features(m) - brl_model_n_features(m);
  case P_BYTES:
    return (long long)brl_model_bytes(m);
  case P_THREADS:
    brl_model_params(m, &p);
    return p.n_threads;
  default:
    return (long long)brl_model_backend(m);
  }
}

static PyObject *Model_get_count(BrlModelObject *self, void *which) {
  if (brl_py_model_ready(self) < 0)
    return NULL;
  long long v;
  BRL_PY_QUICK(self, v = model_count(self->m, (intptr_t)which));
  return PyLong_FromLongLong(v);
}

/* A float32 vector of n_outputs filled by fn(model, out); slow calls
 * (release_gil) run without the GIL. */
static PyObject *outputs_vector(BrlModelObject *self,
                                int (*fn)(const brl_model *, float *),
                                int release_gil) {
  if (brl_py_model_ready(self) < 0)
    return NULL;
  npy_intp K = brl_model_n_outputs(self->m);
  PyArrayObject *a = (PyArrayObject *)PyArray_SimpleNew(1, &K, NPY_FLOAT32);
  if (!a)
    return NULL;
  float *o = (float *)PyArray_DATA(a);
  int rc;
  if (release_gil)
    BRL_PY_CALL(self, rc = fn(self->m, o));
  else
    BRL_PY_QUICK(self, rc = fn(self->m, o));
  return brl_py_result(rc, (PyObject *)a);
}

static PyObject *Model_get_bias(BrlModelObject *self, void *c) {
  (void)c;
  return outputs_vector(self, brl_model_get_bias, 0);
}

static PyObject *Model_get_expected_value(BrlModelObject *self, void *c) {
  (void)c;
  return outputs_vector(self, brl_model_expected_value, 1);
}

static int Model_set_bias(BrlModelObject *self, PyObject *value, void *c) {
  (void)c;
  if (!value) {
    PyErr_SetString(PyExc_TypeError, "the bias cannot be deleted");
    return -1;
  }
  if (brl_py_model_ready(self) < 0)
    return -1;
  const int K = brl_model_n_outputs(self->m);
  PyArrayObject *a = brl_py_float_array(value, "bias", -1, 0);
  if (!a)
    return -1;
  if (PyArray_SIZE(a) != K) {
    PyErr_Format(PyExc_ValueError,
                 "bias has %zd values: the model has %d outputs",
                 (Py_ssize_t)PyArray_SIZE(a), K);
    Py_DECREF(a);
    return -1;
  }
  const float *b = (const float *)PyArray_DATA(a);
  int rc;
  BRL_PY_QUICK(self, rc = brl_model_set_bias(self->m, b));
  Py_DECREF(a);
  return brl_py_status(rc);
}

static int Model_set_n_threads(BrlModelObject *self, PyObject *value, void *c) {
  (void)c;
  if (!value) {
    PyErr_SetString(PyExc_TypeError, "n_threads cannot be deleted");
    return -1;
  }
  if (brl_py_model_ready(self) < 0)
    return -1;
  int n;
  if (brl_py_as_int(value, &n) < 0)
    return -1;
  int rc;
  BRL_PY_QUICK(self, rc = brl_model_set_threads(self->m, n));
  return brl_py_status(rc);
}

/* _set_backend(kind): brl_model_set_backend (0 cpu, 1 cuda). */
static PyObject *Model_set_backend(BrlModelObject *self, PyObject *arg) {
  int kind;
  if (brl_py_model_ready(self) < 0 || brl_py_as_int(arg, &kind) < 0)
    return NULL;
  int rc;
  BRL_PY_QUICK(self,
               rc = brl_model_set_backend(self->m, (brl_backend_kind)kind));
  return brl_py_none(rc);
}

static PyMethodDef Model_methods[] = {
    {"predict", BRL_PY_FN(Model_predict), METH_VARARGS | METH_KEYWORDS,
     "predict(X, X_cat=None, start=0, stop=None, out=None) -> ndarray\n\n"
     "bias + the sum of trees [start, stop) over X (n_rows, n_features) and "
     "X_cat (n_rows, n_cat_features: int32 codes or strings, unseen strings "
     "are BRL_CAT_UNSEEN), as "
     "a float32 (n_rows, n_outputs) array (written into `out` when given). "
     "The bias is included only when start == 0. Negative indices count "
     "from the end. X a CUDA DLPack tensor (float32, C-contiguous; X_cat "
     "int32 codes on the device too): predicts on the GPU from device "
     "memory (the model must be on the CUDA backend), into `out` (a "
     "float32 CUDA tensor) or a new DeviceArray."},
    {"_set_backend", (PyCFunction)Model_set_backend, METH_O,
     "_set_backend(kind) -> None: brl_model_set_backend (0: cpu, 1: "
     "cuda); NotImplementedError saying why CUDA is unavailable."},
    {"_shap", BRL_PY_FN(Model_shap), METH_VARARGS | METH_KEYWORDS,
     "_shap(X, X_cat=None) -> float32 (n_rows, F + 1, n_outputs) array\n\n"
     "brl_model_shap: exact TreeSHAP contributions of the F = n_features + "
     "n_cat_features features, then the expected value at index F; each "
     "row's F + 1 values add up to its prediction. NotImplementedError for "
     "Adam ensembles."},
    {"step", BRL_PY_FN(Model_step), METH_VARARGS | METH_KEYWORDS,
     "step(X, grads, X_cat=None, rows=None, progress=0.0) -> None\n\n"
     "One boosting step: grows one tree from rows `rows` of X (all when "
     "None) and their gradients grads (len(rows) or n_rows, n_outputs), each "
     "leaf storing -lr * mean(gradients)."},
    {"batch", BRL_PY_FN(Model_batch), METH_VARARGS | METH_KEYWORDS,
     "batch(X, X_cat=None) -> Batch\n\n"
     "Quantizes X once for many steps; the batch caches the model's "
     "predictions for its rows."},
    {"_fit", BRL_PY_FN(Model_fit), METH_VARARGS | METH_KEYWORDS,
     "_fit(X, y, X_cat=None, iterations=100, batch_size=0, shuffle=True, "
     "seed=0) -> None\n\n"
     "brl_fit: supervised boosting with the squared error (batch_size 0: all "
     "rows per tree)."},
    {"_feature_importance", (PyCFunction)Model_feature_importance, METH_O,
     "_feature_importance(kind) -> float64 array over n_features + "
     "n_cat_features (kind 0: split counts, 1: total gain)."},
    {"categories", (PyCFunction)Model_categories, METH_O,
     "categories(j) -> list[str]: the dictionary of categorical column j; "
     "the string of code c is at index c."},
    {"encode_categories", BRL_PY_FN(Model_encode_categories),
     METH_VARARGS | METH_KEYWORDS,
     "encode_categories(X_cat, add=False) -> int32 array\n\n"
     "The codes the model reads for X_cat: strings through the "
     "dictionaries (add=True adds unseen ones, else they become "
     "BRL_CAT_UNSEEN), missing entries -1, integer codes as they are "
     "(X_cat itself when it is a C-contiguous int32 array)."},
    {"save", (PyCFunction)Model_save, METH_O,
     "save(path) -> None: writes the model file."},
    {"load", (PyCFunction)Model_load, METH_O | METH_CLASS,
     "load(path) -> model read from a model file."},
    {"to_bytes", (PyCFunction)Model_to_bytes, METH_NOARGS,
     "to_bytes() -> bytes: the model file's content."},
    {"from_bytes", (PyCFunction)Model_from_bytes, METH_O | METH_CLASS,
     "from_bytes(data) -> model read from bytes (any buffer)."},
    {"truncate", (PyCFunction)Model_truncate, METH_O,
     "truncate(n_keep) -> None: drops the trees [n_keep, n_trees)."},
    {"set_group_lr", BRL_PY_FN(Model_set_group_lr),
     METH_VARARGS | METH_KEYWORDS,
     "set_group_lr(group, lr, lr_end=None) -> None: the learning rate of a "
     "group for the trees grown from now on (lr_end None keeps it)."},
    {"group_lr", BRL_PY_FN(Model_group_lr), METH_VARARGS | METH_KEYWORDS,
     "group_lr(group, progress=0.0) -> float: the rate the next tree would "
     "use."},
    {"set_feature_weights", (PyCFunction)Model_set_feature_weights, METH_O,
     "set_feature_weights(weights) -> None: per-feature multipliers of "
     "split scores (None: all ones)."},
    {"tree_info", (PyCFunction)Model_tree_info, METH_O,
     "tree_info(tree) -> dict(depth, n_leaves, n_splits, oblivious)."},
    {"_params", (PyCFunction)Model_params, METH_NOARGS,
     "_params() -> dict of the parameters (enums as integers)."},
    {"__sizeof__", (PyCFunction)Model_sizeof, METH_NOARGS,
     "Size in bytes, the model's trees included."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Model_getset[] = {
    {"n_trees", (getter)Model_get_count, NULL, "Number of trees.",
     (void *)P_TREES},
    {"n_outputs", (getter)Model_get_count, NULL, "Number of output columns.",
     (void *)P_OUTPUTS},
    {"n_features", (getter)Model_get_count, NULL, "Number of numeric features.",
     (void *)P_FEATURES},
    {"n_cat_features", (getter)Model_get_count, NULL,
     "Number of categorical features (columns of X_cat).",
     (void *)P_CAT_FEATURES},
    {"model_bytes", (getter)Model_get_count, NULL,
     "Bytes the model holds in memory.", (void *)P_BYTES},
    {"bias", (getter)Model_get_bias, (setter)Model_set_bias,
     "Per-output bias (float32, n_outputs), added to every prediction.", NULL},
    {"expected_value", (getter)Model_get_expected_value, NULL,
     "Expected value of each output (float32, n_outputs): the bias plus "
     "each tree's cover-weighted mean leaf value (NotImplementedError for "
     "Adam ensembles).",
     NULL},
    {"_backend", (getter)Model_get_count, NULL,
     "The backend of the model (0: cpu, 1: cuda).", (void *)P_BACKEND},
    {"n_threads", (getter)Model_get_count, (setter)Model_set_n_threads,
     "Threads of this model's calls (0: all cores).", (void *)P_THREADS},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject BrlModel_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boostrl._core.Model",
    .tp_basicsize = sizeof(BrlModelObject),
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Model(n_features, groups=None, max_depth=4, "
              "min_data_in_leaf=0, n_bins=256, grow_policy=0, "
              "split_score=0, bin_method=0, n_threads=0, "
              "clip_nonfinite=False, n_cat_features=0, optimizer=0, "
              "adam_beta1=0.9, adam_beta2=0.999, adam_eps=1e-8, "
              "control_variates=False, cv_decay=0.9)\n\n"
              "A gradient-boosted tree ensemble (the C brl_model). groups: "
              "an int (outputs of one group) or a sequence of (n_outputs, "
              "lr, lr_end, schedule, schedule_trees, score_weight) tuples. "
              "boostrl.Ensemble is the friendlier subclass.",
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
    .tp_init = (initproc)Model_init,
    .tp_new = Model_new,
};

int brl_py_model_init(PyObject *m) {
  return brl_py_add_type(m, "Model", &BrlModel_Type, NULL);
}
