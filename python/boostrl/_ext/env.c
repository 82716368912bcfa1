/* boostrl._core.NativeEnv: the native vector environments (brl_env_*), with
 * same-step autoreset, and env_ids(). */
#include "brl_py.h"

static void Env_dealloc(BrlEnvObject *self) {
  brl_env_free(&self->e);
  if (self->lock)
    PyThread_free_lock(self->lock);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Env_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"env_id", "n_envs", "seed", NULL};
  const char *id;
  int n = 1;
  unsigned long long seed = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "s|iK:NativeEnv", kwlist, &id, &n,
                                   &seed))
    return NULL;
  brl_env *e = NULL;
  int rc = brl_env_make(id, n, (uint64_t)seed, &e);
  if (rc)
    return brl_py_raise(rc);
  BrlEnvObject *self = (BrlEnvObject *)type->tp_alloc(type, 0);
  if (!self) {
    brl_env_free(&e);
    return NULL;
  }
  self->e = e;
  if (brl_py_new_lock(&self->lock) < 0) {
    Py_DECREF(self);
    return NULL;
  }
  brl_env_get_spec(e, &self->spec);
  self->n_envs = brl_env_n_envs(e);
  return (PyObject *)self;
}

static PyObject *Env_reset(BrlEnvObject *self, PyObject *args) {
  (void)args;
  PyObject *obs = brl_py_zeros_f32(self->n_envs, self->spec.obs_dim);
  if (!obs)
    return NULL;
  float *o = brl_py_data(obs);
  int rc;
  BRL_PY_CALL(self, rc = brl_env_reset(self->e, o));
  return brl_py_result(rc, obs);
}

/* step(actions) -> (obs, rewards, terminated, truncated, final_obs) */
static PyObject *Env_step(BrlEnvObject *self, PyObject *arg) {
  const int n = self->n_envs, d = self->spec.obs_dim;
  const int ad =
      self->spec.action_kind == BRL_SPACE_DISCRETE ? 1 : self->spec.action_dim;
  PyArrayObject *A = brl_py_f32_count(arg, "actions", (int64_t)n * ad);
  if (!A)
    return NULL;
  PyObject *res = Py_BuildValue(
      "(NNNNN)", brl_py_zeros_f32(n, d), brl_py_zeros_vec(n, NPY_FLOAT32),
      brl_py_zeros_vec(n, NPY_BOOL), brl_py_zeros_vec(n, NPY_BOOL),
      brl_py_zeros_f32(n, d));
  if (!res) {
    Py_DECREF(A);
    return NULL;
  }
  const float *a = PyArray_DATA(A);
  float *obs = brl_py_data(PyTuple_GET_ITEM(res, 0));
  float *rew = brl_py_data(PyTuple_GET_ITEM(res, 1));
  uint8_t *te = brl_py_data(PyTuple_GET_ITEM(res, 2));
  uint8_t *tr = brl_py_data(PyTuple_GET_ITEM(res, 3));
  float *fin = brl_py_data(PyTuple_GET_ITEM(res, 4));
  int rc;
  BRL_PY_CALL(self, rc = brl_env_step(self->e, a, obs, rew, te, tr, fin));
  Py_DECREF(A);
  return brl_py_result(rc, res);
}

static PyObject *Env_spec(BrlEnvObject *self, void *closure) {
  (void)closure;
  const brl_env_spec *s = &self->spec;
  const int ad = s->action_dim;
  PyObject *lo = PyList_New(ad), *hi = PyList_New(ad);
  if (!lo || !hi) {
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    return NULL;
  }
  for (int j = 0; j < ad; j++) {
    PyList_SET_ITEM(lo, j, PyFloat_FromDouble(s->action_low[j]));
    PyList_SET_ITEM(hi, j, PyFloat_FromDouble(s->action_high[j]));
  }
  return Py_BuildValue(
      "{s:s,s:i,s:i,s:i,s:i,s:i,s:N,s:N}", "id", s->id, "obs_dim", s->obs_dim,
      "action_kind", (int)s->action_kind, "action_dim", s->action_dim,
      "n_actions", s->n_actions, "max_episode_steps", s->max_episode_steps,
      "action_low", lo, "action_high", hi);
}

static PyObject *Env_n_envs(BrlEnvObject *self, void *closure) {
  (void)closure;
  return PyLong_FromLong(self->n_envs);
}

static PyObject *env_ids(PyObject *mod, PyObject *args) {
  (void)mod;
  (void)args;
  return brl_py_str_list(brl_env_ids(), NULL);
}

static PyMethodDef Env_methods[] = {
    {"reset", (PyCFunction)Env_reset, METH_NOARGS,
     "reset() -> obs (n_envs, obs_dim) float32"},
    {"step", (PyCFunction)Env_step, METH_O,
     "step(actions) -> (obs, rewards, terminated, truncated, final_obs); "
     "same-step autoreset"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Env_getset[] = {
    {"spec", (getter)Env_spec, NULL, "dict of the brl_env_spec", NULL},
    {"n_envs", (getter)Env_n_envs, NULL, "copies", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject BrlEnv_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boostrl._core.NativeEnv",
    .tp_basicsize = sizeof(BrlEnvObject),
    .tp_dealloc = (destructor)Env_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "NativeEnv(env_id, n_envs=1, seed=0)\n\nA native vector "
              "environment (brl_env) with same-step autoreset.",
    .tp_methods = Env_methods,
    .tp_getset = Env_getset,
    .tp_new = Env_new,
};

static PyMethodDef env_module_methods[] = {
    {"env_ids", env_ids, METH_NOARGS, "env_ids() -> native environment ids"},
    {NULL, NULL, 0, NULL}};

int brl_py_env_init(PyObject *m) {
  return brl_py_add_type(m, "NativeEnv", &BrlEnv_Type, env_module_methods);
}
