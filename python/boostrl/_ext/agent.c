/* boostrl._core.Agent and boostrl._core.NativeEnv: thin types over the C
 * agent (brl_agent_*) and the native vector environments (brl_env_*). The
 * Python algorithms (boostrl.algorithms) drive the training loop: act,
 * collect, observe and update are one C call each over all the envs of a
 * vector step, with the GIL released. */
#include "brl_py.h"

#include <string.h>

typedef struct {
  PyObject ob_base;
  brl_agent *a;
  PyThread_type_lock lock;
  int obs_dim, act_dim, mask_dim, n_envs;
} BrlAgentObject;

typedef struct {
  PyObject ob_base;
  brl_env *e;
  PyThread_type_lock lock;
  brl_env_spec spec;
  int n_envs;
} BrlEnvObject;

PyTypeObject BrlAgent_Type;
PyTypeObject BrlEnv_Type;

/* ------------------------------------------------------------- helpers */

/* A C-contiguous uint8 array of `count` elements (forced cast), or NULL. */
static PyArrayObject *u8_array(PyObject *obj, const char *name, int64_t count) {
  PyArrayObject *arr = (PyArrayObject *)PyArray_FROMANY(
      obj, NPY_UINT8, 0, 0,
      NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST);
  if (!arr)
    return NULL;
  if ((int64_t)PyArray_SIZE(arr) != count) {
    PyErr_Format(PyExc_ValueError, "%s has %lld elements, expected %lld", name,
                 (long long)PyArray_SIZE(arr), (long long)count);
    Py_DECREF(arr);
    return NULL;
  }
  return arr;
}

/* A C-contiguous float32 array of exactly `count` elements, or NULL. */
static PyArrayObject *f32_array(PyObject *obj, const char *name,
                                int64_t count) {
  PyArrayObject *arr = brl_py_float_array(obj, name, -1, 1);
  if (!arr)
    return NULL;
  if (count >= 0 && (int64_t)PyArray_SIZE(arr) != count) {
    PyErr_Format(PyExc_ValueError, "%s has %lld elements, expected %lld", name,
                 (long long)PyArray_SIZE(arr), (long long)count);
    Py_DECREF(arr);
    return NULL;
  }
  return arr;
}

static PyObject *new_f32(int64_t rows, int cols) {
  npy_intp dims[2] = {(npy_intp)rows, (npy_intp)cols};
  return PyArray_ZEROS(2, dims, NPY_FLOAT32, 0);
}

static PyObject *new_vec(int64_t n, int type) {
  npy_intp dims[1] = {(npy_intp)n};
  return PyArray_ZEROS(1, dims, type, 0);
}

/* ------------------------------------------------------------- agent */

static int agent_ready(BrlAgentObject *self) {
  if (!self->a) {
    PyErr_SetString(PyExc_ValueError, "the agent is not initialized");
    return -1;
  }
  return 0;
}

static PyObject *agent_wrap(brl_agent *a) {
  BrlAgentObject *self =
      (BrlAgentObject *)BrlAgent_Type.tp_alloc(&BrlAgent_Type, 0);
  if (!self) {
    brl_agent_free(&a);
    return NULL;
  }
  self->lock = PyThread_allocate_lock();
  if (!self->lock) {
    brl_agent_free(&a);
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  self->a = a;
  brl_action_space s;
  brl_agent_config c;
  brl_agent_get_action_space(a, &s);
  brl_agent_get_config(a, &c);
  self->obs_dim = brl_agent_obs_dim(a);
  self->mask_dim = brl_agent_mask_dim(a);
  self->act_dim = s.kind == BRL_SPACE_DISCRETE ? 1 : s.dim;
  self->n_envs = c.n_envs;
  return (PyObject *)self;
}

static void Agent_dealloc(BrlAgentObject *self) {
  brl_agent_free(&self->a);
  if (self->lock)
    PyThread_free_lock(self->lock);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Fills c from algo, a preset env id (or None) and a dict of text
 * settings. found receives whether a preset exists. 0 or -1. */
static int build_config(const char *algo_name, const char *env_id,
                        PyObject *settings, brl_agent_config *c, int *found) {
  brl_algo algo;
  int rc = brl_algo_parse(algo_name, &algo);
  if (rc) {
    brl_py_raise(rc);
    return -1;
  }
  if ((rc = brl_agent_config_preset(c, env_id, algo, found))) {
    brl_py_raise(rc);
    return -1;
  }
  if (settings && settings != Py_None) {
    if (!PyDict_Check(settings)) {
      PyErr_SetString(PyExc_TypeError, "settings must be a dict");
      return -1;
    }
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(settings, &pos, &k, &v)) {
      PyObject *ks = PyObject_Str(k), *vs = PyObject_Str(v);
      if (!ks || !vs) {
        Py_XDECREF(ks);
        Py_XDECREF(vs);
        return -1;
      }
      const char *kc = PyUnicode_AsUTF8(ks), *vc = PyUnicode_AsUTF8(vs);
      if (!kc || !vc) {
        Py_DECREF(ks);
        Py_DECREF(vs);
        return -1;
      }
      rc = brl_agent_config_set(c, kc, vc);
      Py_DECREF(ks);
      Py_DECREF(vs);
      if (rc) {
        brl_py_raise(rc);
        return -1;
      }
    }
  }
  if ((rc = brl_agent_config_check(c))) {
    brl_py_raise(rc);
    return -1;
  }
  return 0;
}

static PyObject *config_dict(const brl_agent_config *c) {
  PyObject *d = PyDict_New();
  if (!d)
    return NULL;
  char buf[256];
  for (const char *const *k = brl_agent_config_keys(); *k; k++) {
    if (brl_agent_config_get(c, *k, buf, sizeof buf))
      continue;
    PyObject *v = PyUnicode_FromString(buf);
    if (!v || PyDict_SetItemString(d, *k, v) < 0) {
      Py_XDECREF(v);
      Py_DECREF(d);
      return NULL;
    }
    Py_DECREF(v);
  }
  return d;
}

/* config(algo, env_id=None, settings=None) -> (dict, found) */
static PyObject *agent_config(PyObject *mod, PyObject *args, PyObject *kw) {
  (void)mod;
  static char *kwlist[] = {"algo", "env_id", "settings", NULL};
  const char *algo, *env_id = NULL;
  PyObject *settings = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zO:agent_config", kwlist, &algo,
                                   &env_id, &settings))
    return NULL;
  brl_agent_config c;
  int found = 0;
  if (build_config(algo, env_id, settings, &c, &found) < 0)
    return NULL;
  PyObject *d = config_dict(&c);
  if (!d)
    return NULL;
  return Py_BuildValue("(NO)", d, found ? Py_True : Py_False);
}

/* agent_config_keys() -> list of (key, help) */
static PyObject *agent_config_keys(PyObject *mod, PyObject *args) {
  (void)mod;
  (void)args;
  PyObject *l = PyList_New(0);
  if (!l)
    return NULL;
  for (const char *const *k = brl_agent_config_keys(); *k; k++) {
    const char *h = brl_agent_config_key_help(*k);
    PyObject *t = Py_BuildValue("(ss)", *k, h ? h : "");
    if (!t || PyList_Append(l, t) < 0) {
      Py_XDECREF(t);
      Py_DECREF(l);
      return NULL;
    }
    Py_DECREF(t);
  }
  return l;
}

/* Agent(algo, env_id, obs_dim, kind, nvec, low, high, settings, seed) */
static PyObject *Agent_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
  (void)type;
  static char *kwlist[] = {"algo", "env_id", "obs_dim",  "kind", "nvec",
                           "low",  "high",   "settings", "seed", NULL};
  const char *algo, *env_id = NULL;
  int obs_dim, kind;
  PyObject *nvec, *low, *high, *settings;
  unsigned long long seed = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "sziiOOOO|K:Agent", kwlist, &algo,
                                   &env_id, &obs_dim, &kind, &nvec, &low, &high,
                                   &settings, &seed))
    return NULL;
  brl_agent_config c;
  if (build_config(algo, env_id, settings, &c, NULL) < 0)
    return NULL;
  brl_action_space s;
  memset(&s, 0, sizeof s);
  s.kind = (brl_space_kind)kind;
  PyObject *seq = PySequence_Fast(kind == BRL_SPACE_BOX ? low : nvec,
                                  "nvec / low must be sequences");
  if (!seq)
    return NULL;
  Py_ssize_t dim = PySequence_Fast_GET_SIZE(seq);
  Py_DECREF(seq);
  if (dim < 1 || dim > BRL_MAX_ACTION_DIM) {
    PyErr_Format(PyExc_ValueError,
                 "the action space has %zd dimensions: boostrl takes 1 to %d",
                 dim, BRL_MAX_ACTION_DIM);
    return NULL;
  }
  s.dim = (int)dim;
  for (Py_ssize_t j = 0; j < dim; j++) {
    if (kind == BRL_SPACE_BOX) {
      PyObject *lo = PySequence_GetItem(low, j),
               *hi = PySequence_GetItem(high, j);
      double l = lo ? PyFloat_AsDouble(lo) : -1.0;
      double h = hi ? PyFloat_AsDouble(hi) : -1.0;
      Py_XDECREF(lo);
      Py_XDECREF(hi);
      if (PyErr_Occurred())
        return NULL;
      s.low[j] = (float)l;
      s.high[j] = (float)h;
    } else {
      PyObject *n = PySequence_GetItem(nvec, j);
      if (!n)
        return NULL;
      int v;
      int bad = brl_py_as_int(n, &v);
      Py_DECREF(n);
      if (bad < 0)
        return NULL;
      s.nvec[j] = v;
    }
  }
  brl_agent *a = NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS rc =
      brl_agent_create(&c, obs_dim, &s, (uint64_t)seed, &a);
  Py_END_ALLOW_THREADS if (rc) return brl_py_raise(rc);
  return agent_wrap(a);
}

static PyObject *Agent_load(PyObject *cls, PyObject *arg) {
  (void)cls;
  PyObject *b = NULL;
  if (!PyUnicode_FSConverter(arg, &b))
    return NULL;
  brl_agent *a = NULL;
  int rc;
  const char *path = PyBytes_AS_STRING(b);
  Py_BEGIN_ALLOW_THREADS rc = brl_agent_load(path, &a);
  Py_END_ALLOW_THREADS Py_DECREF(b);
  if (rc)
    return brl_py_raise(rc);
  return agent_wrap(a);
}

static PyObject *Agent_from_bytes(PyObject *cls, PyObject *arg) {
  (void)cls;
  Py_buffer view;
  if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
    return NULL;
  brl_agent *a = NULL;
  int rc;
  Py_BEGIN_ALLOW_THREADS rc =
      brl_agent_load_buffer(view.buf, (size_t)view.len, &a);
  Py_END_ALLOW_THREADS PyBuffer_Release(&view);
  if (rc)
    return brl_py_raise(rc);
  return agent_wrap(a);
}

static PyObject *Agent_save(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  PyObject *b = NULL;
  if (!PyUnicode_FSConverter(arg, &b))
    return NULL;
  const char *path = PyBytes_AS_STRING(b);
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_save(self->a, path));
  Py_DECREF(b);
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

static PyObject *Agent_to_bytes(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  void *buf = NULL;
  size_t len = 0;
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_save_buffer(self->a, &buf, &len));
  if (rc)
    return brl_py_raise(rc);
  PyObject *out = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
  brl_free(buf);
  return out;
}

/* Masks (None or n x mask_dim) as uint8; *out NULL when None. 0 or -1. */
static int agent_masks(BrlAgentObject *self, PyObject *obj, int64_t n,
                       PyArrayObject **out) {
  *out = NULL;
  if (obj == Py_None)
    return 0;
  if (self->mask_dim == 0) {
    PyErr_SetString(PyExc_ValueError,
                    "action masks need a discrete or multi-discrete action "
                    "space");
    return -1;
  }
  *out = u8_array(obj, "action_masks", n * self->mask_dim);
  return *out ? 0 : -1;
}

/* act(obs, masks=None, deterministic=False, values=False) -> actions
 * (n, act_dim) float32 [, log_probs, values] */
static PyObject *Agent_act(BrlAgentObject *self, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"obs", "masks", "deterministic", "extras", NULL};
  PyObject *obs_obj, *mask_obj = Py_None;
  int det = 0, extras = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Opp:act", kwlist, &obs_obj,
                                   &mask_obj, &det, &extras))
    return NULL;
  if (agent_ready(self) < 0)
    return NULL;
  PyArrayObject *X = brl_py_features(obs_obj, self->obs_dim);
  if (!X)
    return NULL;
  const int64_t n = (int64_t)PyArray_DIM(X, 0);
  PyArrayObject *M = NULL;
  if (agent_masks(self, mask_obj, n, &M) < 0) {
    Py_DECREF(X);
    return NULL;
  }
  PyObject *acts = new_f32(n, self->act_dim);
  PyObject *lp = extras ? new_vec(n, NPY_FLOAT32) : NULL;
  PyObject *val = extras ? new_vec(n, NPY_FLOAT32) : NULL;
  if (!acts || (extras && (!lp || !val))) {
    Py_XDECREF(acts);
    Py_XDECREF(lp);
    Py_XDECREF(val);
    Py_DECREF(X);
    Py_XDECREF(M);
    return NULL;
  }
  const float *x = PyArray_DATA(X);
  const uint8_t *m = M ? PyArray_DATA(M) : NULL;
  float *ap = PyArray_DATA((PyArrayObject *)acts);
  float *lpp = lp ? PyArray_DATA((PyArrayObject *)lp) : NULL;
  float *vp = val ? PyArray_DATA((PyArrayObject *)val) : NULL;
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_act(self->a, x, n, m, det, ap, lpp, vp));
  Py_DECREF(X);
  Py_XDECREF(M);
  if (rc) {
    Py_DECREF(acts);
    Py_XDECREF(lp);
    Py_XDECREF(val);
    return brl_py_raise(rc);
  }
  if (!extras)
    return acts;
  return Py_BuildValue("(NNN)", acts, lp, val);
}

/* collect(obs, masks=None) -> actions (n_envs, act_dim) float32 */
static PyObject *Agent_collect(BrlAgentObject *self, PyObject *args,
                               PyObject *kw) {
  static char *kwlist[] = {"obs", "masks", NULL};
  PyObject *obs_obj, *mask_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:collect", kwlist, &obs_obj,
                                   &mask_obj))
    return NULL;
  if (agent_ready(self) < 0)
    return NULL;
  const int64_t n = self->n_envs;
  PyArrayObject *X = f32_array(obs_obj, "obs", n * self->obs_dim);
  if (!X)
    return NULL;
  PyArrayObject *M = NULL;
  if (agent_masks(self, mask_obj, n, &M) < 0) {
    Py_DECREF(X);
    return NULL;
  }
  PyObject *acts = new_f32(n, self->act_dim);
  if (!acts) {
    Py_DECREF(X);
    Py_XDECREF(M);
    return NULL;
  }
  const float *x = PyArray_DATA(X);
  const uint8_t *m = M ? PyArray_DATA(M) : NULL;
  float *ap = PyArray_DATA((PyArrayObject *)acts);
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_collect(self->a, x, m, ap, NULL, NULL));
  Py_DECREF(X);
  Py_XDECREF(M);
  if (rc) {
    Py_DECREF(acts);
    return brl_py_raise(rc);
  }
  return acts;
}

/* observe(rewards, terminated, truncated, final_obs=None, valid=None) */
static PyObject *Agent_observe(BrlAgentObject *self, PyObject *args,
                               PyObject *kw) {
  static char *kwlist[] = {"rewards",   "terminated", "truncated",
                           "final_obs", "valid",      NULL};
  PyObject *r_obj, *te_obj, *tr_obj, *f_obj = Py_None, *v_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO|OO:observe", kwlist, &r_obj,
                                   &te_obj, &tr_obj, &f_obj, &v_obj))
    return NULL;
  if (agent_ready(self) < 0)
    return NULL;
  const int64_t n = self->n_envs;
  PyArrayObject *R = f32_array(r_obj, "rewards", n);
  PyArrayObject *TE = R ? u8_array(te_obj, "terminated", n) : NULL;
  PyArrayObject *TR = TE ? u8_array(tr_obj, "truncated", n) : NULL;
  PyArrayObject *F = NULL, *V = NULL;
  if (TR && f_obj != Py_None)
    F = f32_array(f_obj, "final_obs", n * self->obs_dim);
  if (TR && (f_obj == Py_None || F) && v_obj != Py_None)
    V = u8_array(v_obj, "valid", n);
  if (!TR || (f_obj != Py_None && !F) || (v_obj != Py_None && !V)) {
    Py_XDECREF(R);
    Py_XDECREF(TE);
    Py_XDECREF(TR);
    Py_XDECREF(F);
    return NULL;
  }
  const float *r = PyArray_DATA(R), *f = F ? PyArray_DATA(F) : NULL;
  const uint8_t *te = PyArray_DATA(TE), *tr = PyArray_DATA(TR);
  const uint8_t *v = V ? PyArray_DATA(V) : NULL;
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_observe_valid(self->a, r, te, tr, f, v));
  Py_DECREF(R);
  Py_DECREF(TE);
  Py_DECREF(TR);
  Py_XDECREF(F);
  Py_XDECREF(V);
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

static PyObject *Agent_rollout_full(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  int full;
  BRL_PY_QUICK(self, full = brl_agent_rollout_full(self->a));
  return PyBool_FromLong(full);
}

/* update(last_obs) */
static PyObject *Agent_update(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  PyArrayObject *X = f32_array(arg, "last_obs", self->n_envs * self->obs_dim);
  if (!X)
    return NULL;
  const float *x = PyArray_DATA(X);
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_update(self->a, x));
  Py_DECREF(X);
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

static PyObject *Agent_reset_episodes(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_reset_episodes(self->a));
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

static PyObject *Agent_set_total_timesteps(BrlAgentObject *self,
                                           PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  long long t = PyLong_AsLongLong(arg);
  if (t == -1 && PyErr_Occurred())
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_set_total_timesteps(self->a, (int64_t)t));
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

static PyObject *Agent_set_threads(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  int t;
  if (brl_py_as_int(arg, &t) < 0)
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_set_threads(self->a, t));
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

/* set_device("cpu" | "cuda" | "auto"): brl_agent_set_device. */
static PyObject *Agent_set_device(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  const char *d = PyUnicode_AsUTF8(arg);
  if (!d)
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_set_device(self->a, d));
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

static PyObject *Agent_get_device(BrlAgentObject *self, void *closure) {
  (void)closure;
  if (agent_ready(self) < 0)
    return NULL;
  const char *d;
  BRL_PY_QUICK(self, d = brl_agent_device(self->a));
  return PyUnicode_FromString(d);
}

#define SET_D(d, k, v)                                                         \
  do {                                                                         \
    PyObject *o_ = PyFloat_FromDouble(v);                                      \
    if (!o_ || PyDict_SetItemString(d, k, o_) < 0) {                           \
      Py_XDECREF(o_);                                                          \
      Py_DECREF(d);                                                            \
      return NULL;                                                             \
    }                                                                          \
    Py_DECREF(o_);                                                             \
  } while (0)
#define SET_I(d, k, v)                                                         \
  do {                                                                         \
    PyObject *o_ = PyLong_FromLongLong((long long)(v));                        \
    if (!o_ || PyDict_SetItemString(d, k, o_) < 0) {                           \
      Py_XDECREF(o_);                                                          \
      Py_DECREF(d);                                                            \
      return NULL;                                                             \
    }                                                                          \
    Py_DECREF(o_);                                                             \
  } while (0)

static PyObject *Agent_stats(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  brl_agent_stats s;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_get_stats(self->a, &s));
  if (rc)
    return brl_py_raise(rc);
  PyObject *d = PyDict_New();
  if (!d)
    return NULL;
  SET_I(d, "timesteps", s.timesteps);
  SET_I(d, "episodes", s.episodes);
  SET_I(d, "updates", s.updates);
  SET_D(d, "progress", s.progress);
  SET_I(d, "ep_window", s.ep_window);
  SET_D(d, "ep_return_mean", s.ep_return_mean);
  SET_D(d, "ep_return_std", s.ep_return_std);
  SET_D(d, "ep_length_mean", s.ep_length_mean);
  SET_D(d, "policy_loss", s.policy_loss);
  SET_D(d, "value_loss", s.value_loss);
  SET_D(d, "entropy", s.entropy);
  SET_D(d, "approx_kl", s.approx_kl);
  SET_D(d, "clip_fraction", s.clip_fraction);
  SET_D(d, "explained_variance", s.explained_variance);
  SET_D(d, "log_std_mean", s.log_std_mean);
  SET_I(d, "epochs_done", s.epochs_done);
  SET_I(d, "trees_added", s.trees_added);
  SET_I(d, "policy_trees", s.policy_trees);
  SET_I(d, "value_trees", s.value_trees);
  SET_D(d, "policy_lr", s.policy_lr);
  SET_D(d, "value_lr", s.value_lr);
  SET_D(d, "rollout_s", s.rollout_s);
  SET_D(d, "update_s", s.update_s);
  SET_D(d, "fps", s.fps);
  return d;
}

static PyObject *Agent_get_config(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  brl_agent_config c;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_get_config(self->a, &c));
  if (rc)
    return brl_py_raise(rc);
  PyObject *d = config_dict(&c);
  if (!d)
    return NULL;
  PyObject *name = PyUnicode_FromString(brl_algo_name(c.algo));
  if (!name || PyDict_SetItemString(d, "algo", name) < 0) {
    Py_XDECREF(name);
    Py_DECREF(d);
    return NULL;
  }
  Py_DECREF(name);
  return d;
}

/* action_space -> (kind, nvec list, low list, high list) */
static PyObject *Agent_action_space(BrlAgentObject *self, void *closure) {
  (void)closure;
  if (agent_ready(self) < 0)
    return NULL;
  brl_action_space s;
  brl_agent_get_action_space(self->a, &s);
  PyObject *nv = PyList_New(s.dim), *lo = PyList_New(s.dim),
           *hi = PyList_New(s.dim);
  if (!nv || !lo || !hi) {
    Py_XDECREF(nv);
    Py_XDECREF(lo);
    Py_XDECREF(hi);
    return NULL;
  }
  for (int j = 0; j < s.dim; j++) {
    PyList_SET_ITEM(nv, j, PyLong_FromLong(s.nvec[j]));
    PyList_SET_ITEM(lo, j, PyFloat_FromDouble(s.low[j]));
    PyList_SET_ITEM(hi, j, PyFloat_FromDouble(s.high[j]));
  }
  return Py_BuildValue("(iNNN)", (int)s.kind, nv, lo, hi);
}

static PyObject *Agent_get_int(BrlAgentObject *self, void *closure) {
  if (agent_ready(self) < 0)
    return NULL;
  intptr_t which = (intptr_t)closure;
  int v = which == 0   ? self->obs_dim
          : which == 1 ? self->act_dim
          : which == 2 ? self->mask_dim
                       : self->n_envs;
  return PyLong_FromLong(v);
}

static PyObject *Agent_n_trees(BrlAgentObject *self, void *closure) {
  (void)closure;
  if (agent_ready(self) < 0)
    return NULL;
  int np = 0, nv = 0;
  /* Under the lock: an update may replace the ensembles (compression). */
  BRL_PY_QUICK(self, {
    const brl_model *pi = brl_agent_model(self->a, 0);
    const brl_model *vf = brl_agent_model(self->a, 1);
    np = pi ? brl_model_n_trees(pi) : 0;
    nv = vf ? brl_model_n_trees(vf) : 0;
  });
  return Py_BuildValue("(ii)", np, nv);
}

/* model_bytes(which) -> bytes: ensemble `which` (0 policy or shared, 1 value)
 * in the model file format (boostrl.Ensemble.from_bytes reads it). */
static PyObject *Agent_model_bytes(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  int which;
  if (brl_py_as_int(arg, &which) < 0)
    return NULL;
  if (which != 0 && which != 1) {
    PyErr_SetString(PyExc_ValueError, "which must be 0 (policy) or 1 (value)");
    return NULL;
  }
  void *buf = NULL;
  size_t len = 0;
  int rc;
  BRL_PY_CALL(self, {
    const brl_model *m = brl_agent_model(self->a, which);
    rc = m ? brl_model_save_buffer(m, &buf, &len) : BRL_EINVAL;
  });
  if (rc)
    return brl_py_raise(rc);
  PyObject *out = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
  brl_free(buf);
  return out;
}

/* _shap(obs) -> float32 (n, obs_dim + 1, K): brl_model_shap of the policy
 * (or shared) ensemble over n observations (n x obs_dim floats); column
 * obs_dim holds the expected value. */
static PyObject *Agent_shap(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  PyArrayObject *X = f32_array(arg, "obs", -1);
  if (!X)
    return NULL;
  const int64_t size = (int64_t)PyArray_SIZE(X);
  if (self->obs_dim <= 0 || size % self->obs_dim) {
    PyErr_Format(PyExc_ValueError,
                 "obs has %lld elements, not a multiple of obs_dim %d",
                 (long long)size, self->obs_dim);
    Py_DECREF(X);
    return NULL;
  }
  const int64_t n = size / self->obs_dim;
  int K = 0, F = 0;
  BRL_PY_QUICK(self, {
    const brl_model *m = brl_agent_model(self->a, 0);
    if (m) {
      K = brl_model_n_outputs(m);
      F = brl_model_n_all_features(m);
    }
  });
  if (K <= 0) {
    Py_DECREF(X);
    PyErr_SetString(PyExc_ValueError, "the agent has no policy ensemble");
    return NULL;
  }
  npy_intp dims[3] = {(npy_intp)n, (npy_intp)F + 1, (npy_intp)K};
  PyArrayObject *out = (PyArrayObject *)PyArray_ZEROS(3, dims, NPY_FLOAT32, 0);
  if (!out) {
    Py_DECREF(X);
    return NULL;
  }
  const float *x = PyArray_DATA(X);
  float *o = PyArray_DATA(out);
  /* The library reads the observations as act() does (checks, numeric and
   * categorical split): one rule for both. */
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_shap(self->a, x, n, o));
  Py_DECREF(X);
  if (rc) {
    Py_DECREF(out);
    return brl_py_raise(rc);
  }
  return (PyObject *)out;
}

/* Runs the statements with the GIL released and both the agent's and the
 * env's locks held, so that no other thread steps the env (Env.step takes
 * its lock) or uses the agent meanwhile. Every call that holds both takes
 * the agent's first, so two of them cannot wait on each other. */
#define AGENT_ENV_CALL(agent, env, ...)                                        \
  do {                                                                         \
    PyThreadState *ts_ = PyEval_SaveThread();                                  \
    PyThread_acquire_lock((agent)->lock, WAIT_LOCK);                           \
    PyThread_acquire_lock((env)->lock, WAIT_LOCK);                             \
    __VA_ARGS__;                                                               \
    PyThread_release_lock((env)->lock);                                        \
    PyThread_release_lock((agent)->lock);                                      \
    PyEval_RestoreThread(ts_);                                                 \
  } while (0)

/* learn_native(env, total_timesteps, reset_env): brl_agent_learn on a
 * NativeEnv (the command's loop, for comparisons). */
static PyObject *Agent_learn_native(BrlAgentObject *self, PyObject *args) {
  PyObject *env_obj;
  long long total;
  int reset = 1;
  if (!PyArg_ParseTuple(args, "O!L|p:learn_native", &BrlEnv_Type, &env_obj,
                        &total, &reset))
    return NULL;
  if (agent_ready(self) < 0)
    return NULL;
  BrlEnvObject *env = (BrlEnvObject *)env_obj;
  int rc;
  AGENT_ENV_CALL(self, env,
                 rc = brl_agent_learn(self->a, env->e, (int64_t)total, reset));
  if (rc)
    return brl_py_raise(rc);
  Py_RETURN_NONE;
}

/* evaluate_native(env, n_episodes) -> dict */
static PyObject *Agent_evaluate_native(BrlAgentObject *self, PyObject *args) {
  PyObject *env_obj;
  int n_eps;
  if (!PyArg_ParseTuple(args, "O!i:evaluate_native", &BrlEnv_Type, &env_obj,
                        &n_eps))
    return NULL;
  if (agent_ready(self) < 0)
    return NULL;
  BrlEnvObject *env = (BrlEnvObject *)env_obj;
  brl_eval_result r;
  int rc;
  AGENT_ENV_CALL(self, env,
                 rc = brl_agent_evaluate(self->a, env->e, n_eps, &r, NULL));
  if (rc)
    return brl_py_raise(rc);
  return Py_BuildValue("{s:i,s:d,s:d,s:d,s:d,s:d}", "episodes", r.episodes,
                       "mean_return", r.mean_return, "std_return", r.std_return,
                       "mean_length", r.mean_length, "min_return", r.min_return,
                       "max_return", r.max_return);
}

/* compress_obs(obs, holdout=None, trees, lr=1.0, value_weight=1.0, depth=0,
 * grow=None) -> dict: brl_agent_compress_obs over observations the caller
 * recorded (n x obs_dim in the agent's flat layout; holdout: rows for the
 * report, or None). grow: None (the agent's), "oblivious" or "greedy". */
static PyObject *Agent_compress_obs(BrlAgentObject *self, PyObject *args,
                                    PyObject *kw) {
  static char *kwlist[] = {"obs",          "holdout", "trees", "lr",
                           "value_weight", "depth",   "grow",  NULL};
  PyObject *obs_obj, *ho_obj = Py_None, *trees_obj = NULL, *grow_obj = Py_None;
  double lr = 1.0, vw = 1.0;
  int depth = 0;
  if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOddiO:compress_obs", kwlist,
                                   &obs_obj, &ho_obj, &trees_obj, &lr, &vw,
                                   &depth, &grow_obj))
    return NULL;
  if (agent_ready(self) < 0)
    return NULL;
  if (!trees_obj) {
    PyErr_SetString(PyExc_TypeError,
                    "compress_obs() missing required argument 'trees'");
    return NULL;
  }
  int trees;
  if (brl_py_as_int(trees_obj, &trees) < 0)
    return NULL;
  int grow = -1;
  if (grow_obj != Py_None) {
    const char *g =
        PyUnicode_Check(grow_obj) ? PyUnicode_AsUTF8(grow_obj) : NULL;
    if (g && !strcmp(g, "oblivious"))
      grow = 0;
    else if (g && !strcmp(g, "greedy"))
      grow = 1;
    else {
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError,
                        "grow must be None (the agent's), 'oblivious' or "
                        "'greedy'");
      return NULL;
    }
  }
  PyArrayObject *X = brl_py_features(obs_obj, self->obs_dim);
  if (!X)
    return NULL;
  PyArrayObject *H = NULL;
  if (ho_obj != Py_None && !(H = brl_py_features(ho_obj, self->obs_dim))) {
    Py_DECREF(X);
    return NULL;
  }
  const int64_t n = (int64_t)PyArray_DIM(X, 0);
  const int64_t h = H ? (int64_t)PyArray_DIM(H, 0) : 0;
  const float *x = PyArray_DATA(X);
  const float *hx = H ? PyArray_DATA(H) : NULL;
  brl_compress_params cp;
  brl_compress_params_default(&cp, trees);
  cp.lr = lr;
  cp.value_weight = vw;
  cp.max_depth = depth;
  cp.grow_policy = grow;
  cp.eval_episodes = 0;
  brl_compress_report r;
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_compress_obs(self->a, x, n,
                                                h > 0 ? hx : NULL, h, &cp, &r));
  Py_DECREF(X);
  Py_XDECREF(H);
  if (rc)
    return brl_py_raise(rc);
  return Py_BuildValue("{s:i,s:i,s:L,s:L,s:d,s:d,s:d,s:d,s:d,s:d}",
                       "trees_before", r.trees_before, "trees_after",
                       r.trees_after, "train_rows", (long long)r.train_rows,
                       "holdout_rows", (long long)r.holdout_rows, "agreement",
                       r.agreement, "policy_rmse", r.policy_rmse, "value_rmse",
                       r.value_rmse, "prob_tv", r.prob_tv, "train_policy_rmse",
                       r.train_policy_rmse, "fit_s", r.fit_s);
}

static PyMethodDef Agent_methods[] = {
    {"load", (PyCFunction)Agent_load, METH_O | METH_CLASS,
     "load(path) -> Agent: an agent file (the command's format)"},
    {"from_bytes", (PyCFunction)Agent_from_bytes, METH_O | METH_CLASS,
     "from_bytes(data) -> Agent"},
    {"save", (PyCFunction)Agent_save, METH_O, "save(path)"},
    {"to_bytes", (PyCFunction)Agent_to_bytes, METH_NOARGS,
     "to_bytes() -> bytes"},
    {"act", (PyCFunction)(void (*)(void))Agent_act,
     METH_VARARGS | METH_KEYWORDS,
     "act(obs, masks=None, deterministic=False, extras=False) -> actions "
     "(n, act_dim) float32, or (actions, log_probs, values) with extras"},
    {"collect", (PyCFunction)(void (*)(void))Agent_collect,
     METH_VARARGS | METH_KEYWORDS,
     "collect(obs, masks=None) -> actions of one training step"},
    {"observe", (PyCFunction)(void (*)(void))Agent_observe,
     METH_VARARGS | METH_KEYWORDS,
     "observe(rewards, terminated, truncated, final_obs=None, valid=None): "
     "valid (n_envs bools) marks the envs whose step was a transition; the "
     "others (a next-step autoreset's reset step) are not trained on and "
     "end no episode (brl_agent_observe_valid)"},
    {"rollout_full", (PyCFunction)Agent_rollout_full, METH_NOARGS,
     "rollout_full() -> bool"},
    {"update", (PyCFunction)Agent_update, METH_O, "update(last_obs)"},
    {"reset_episodes", (PyCFunction)Agent_reset_episodes, METH_NOARGS,
     "reset_episodes()"},
    {"set_total_timesteps", (PyCFunction)Agent_set_total_timesteps, METH_O,
     "set_total_timesteps(n)"},
    {"set_threads", (PyCFunction)Agent_set_threads, METH_O, "set_threads(n)"},
    {"set_device", (PyCFunction)Agent_set_device, METH_O,
     "set_device('cpu' | 'cuda' | 'auto')"},
    {"stats", (PyCFunction)Agent_stats, METH_NOARGS, "stats() -> dict"},
    {"config", (PyCFunction)Agent_get_config, METH_NOARGS,
     "config() -> dict of text settings (and algo)"},
    {"model_bytes", (PyCFunction)Agent_model_bytes, METH_O,
     "model_bytes(which) -> bytes of ensemble which (0 policy, 1 value)"},
    {"_shap", (PyCFunction)Agent_shap, METH_O,
     "_shap(obs) -> float32 (n, obs_dim + 1, K): TreeSHAP of the policy (or "
     "shared) ensemble's K outputs; index obs_dim holds the expected value"},
    {"learn_native", (PyCFunction)Agent_learn_native, METH_VARARGS,
     "learn_native(env, total_timesteps, reset_env=True)"},
    {"evaluate_native", (PyCFunction)Agent_evaluate_native, METH_VARARGS,
     "evaluate_native(env, n_episodes) -> dict"},
    {"compress_obs", (PyCFunction)(void (*)(void))Agent_compress_obs,
     METH_VARARGS | METH_KEYWORDS,
     "compress_obs(obs, holdout=None, trees, lr=1.0, value_weight=1.0, "
     "depth=0, grow=None) -> dict: distils the ensembles into at most `trees` "
     "trees over recorded observations (brl_agent_compress_obs); the report "
     "has trees_before, trees_after, train_rows, holdout_rows, agreement, "
     "policy_rmse, value_rmse, prob_tv, train_policy_rmse, fit_s"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Agent_getset[] = {
    {"device", (getter)Agent_get_device, NULL,
     "'cpu' or 'cuda': where the ensembles are", NULL},
    {"action_space", (getter)Agent_action_space, NULL,
     "(kind, nvec, low, high)", NULL},
    {"obs_dim", (getter)Agent_get_int, NULL, "observation floats", (void *)0},
    {"act_dim", (getter)Agent_get_int, NULL, "floats per action", (void *)1},
    {"mask_dim", (getter)Agent_get_int, NULL, "bytes of one action mask",
     (void *)2},
    {"n_envs", (getter)Agent_get_int, NULL, "environment copies", (void *)3},
    {"n_trees", (getter)Agent_n_trees, NULL, "(policy, value) trees", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

PyTypeObject BrlAgent_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boostrl._core.Agent",
    .tp_basicsize = sizeof(BrlAgentObject),
    .tp_dealloc = (destructor)Agent_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Agent(algo, env_id, obs_dim, kind, nvec, low, high, settings, "
              "seed=0)\n\nThe C agent (brl_agent): algo 'ppo', 'a2c', ...; "
              "env_id names the preset (None: defaults); settings: dict of "
              "config keys to values (as text).",
    .tp_methods = Agent_methods,
    .tp_getset = Agent_getset,
    .tp_new = Agent_new,
};

/* ------------------------------------------------------------- env */

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
  self->lock = PyThread_allocate_lock();
  if (!self->lock) {
    Py_DECREF(self);
    return PyErr_NoMemory();
  }
  brl_env_get_spec(e, &self->spec);
  self->n_envs = brl_env_n_envs(e);
  return (PyObject *)self;
}

static PyObject *Env_reset(BrlEnvObject *self, PyObject *args) {
  (void)args;
  PyObject *obs = new_f32(self->n_envs, self->spec.obs_dim);
  if (!obs)
    return NULL;
  float *o = PyArray_DATA((PyArrayObject *)obs);
  int rc;
  BRL_PY_CALL(self, rc = brl_env_reset(self->e, o));
  if (rc) {
    Py_DECREF(obs);
    return brl_py_raise(rc);
  }
  return obs;
}

/* step(actions) -> (obs, rewards, terminated, truncated, final_obs) */
static PyObject *Env_step(BrlEnvObject *self, PyObject *arg) {
  const int ad =
      self->spec.action_kind == BRL_SPACE_DISCRETE ? 1 : self->spec.action_dim;
  PyArrayObject *A = f32_array(arg, "actions", (int64_t)self->n_envs * ad);
  if (!A)
    return NULL;
  PyObject *obs = new_f32(self->n_envs, self->spec.obs_dim);
  PyObject *fin = new_f32(self->n_envs, self->spec.obs_dim);
  PyObject *rew = new_vec(self->n_envs, NPY_FLOAT32);
  PyObject *te = new_vec(self->n_envs, NPY_BOOL);
  PyObject *tr = new_vec(self->n_envs, NPY_BOOL);
  if (!obs || !fin || !rew || !te || !tr) {
    Py_DECREF(A);
    Py_XDECREF(obs);
    Py_XDECREF(fin);
    Py_XDECREF(rew);
    Py_XDECREF(te);
    Py_XDECREF(tr);
    return NULL;
  }
  const float *a = PyArray_DATA(A);
  int rc;
  BRL_PY_CALL(self,
              rc = brl_env_step(self->e, a, PyArray_DATA((PyArrayObject *)obs),
                                PyArray_DATA((PyArrayObject *)rew),
                                PyArray_DATA((PyArrayObject *)te),
                                PyArray_DATA((PyArrayObject *)tr),
                                PyArray_DATA((PyArrayObject *)fin)));
  Py_DECREF(A);
  if (rc) {
    Py_DECREF(obs);
    Py_DECREF(fin);
    Py_DECREF(rew);
    Py_DECREF(te);
    Py_DECREF(tr);
    return brl_py_raise(rc);
  }
  return Py_BuildValue("(NNNNN)", obs, rew, te, tr, fin);
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
  PyObject *l = PyList_New(0);
  if (!l)
    return NULL;
  for (const char *const *k = brl_env_ids(); *k; k++) {
    PyObject *s = PyUnicode_FromString(*k);
    if (!s || PyList_Append(l, s) < 0) {
      Py_XDECREF(s);
      Py_DECREF(l);
      return NULL;
    }
    Py_DECREF(s);
  }
  return l;
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

static PyMethodDef agent_module_methods[] = {
    {"agent_config", (PyCFunction)(void (*)(void))agent_config,
     METH_VARARGS | METH_KEYWORDS,
     "agent_config(algo, env_id=None, settings=None) -> (dict, found): the "
     "library's preset for (env_id, algo) with settings applied"},
    {"agent_config_keys", agent_config_keys, METH_NOARGS,
     "agent_config_keys() -> [(key, help)]"},
    {"env_ids", env_ids, METH_NOARGS, "env_ids() -> native environment ids"},
    {NULL, NULL, 0, NULL}};

int brl_py_agent_init(PyObject *m) {
  if (PyType_Ready(&BrlAgent_Type) < 0 || PyType_Ready(&BrlEnv_Type) < 0)
    return -1;
  Py_INCREF(&BrlAgent_Type);
  if (PyModule_AddObject(m, "Agent", (PyObject *)&BrlAgent_Type) < 0) {
    Py_DECREF(&BrlAgent_Type);
    return -1;
  }
  Py_INCREF(&BrlEnv_Type);
  if (PyModule_AddObject(m, "NativeEnv", (PyObject *)&BrlEnv_Type) < 0) {
    Py_DECREF(&BrlEnv_Type);
    return -1;
  }
  return PyModule_AddFunctions(m, agent_module_methods);
}
