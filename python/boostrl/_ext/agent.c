/* boostrl._core.Agent: a thin type over the C agent (brl_agent_*), and the
 * agent_config functions. The Python algorithms (boostrl.algorithms) drive
 * the training loop: act, collect, observe and update are one C call each
 * over all the envs of a vector step, with the GIL released. */
#include "brl_py.h"

#include <string.h>

typedef struct {
  PyObject ob_base;
  brl_agent *a;
  PyThread_type_lock lock;
  int obs_dim, act_dim, mask_dim, n_envs;
  /* set_comm: the communicator (NULL: none) and this rank's env copies
   * (collect, observe and update take n_local rows; n_envs without one). */
  brl_comm *comm;
  int n_local;
} BrlAgentObject;

PyTypeObject BrlAgent_Type;

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
  if (brl_py_new_lock(&self->lock) < 0) {
    brl_agent_free(&a);
    Py_DECREF(self);
    return NULL;
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
  self->n_local = c.n_envs;
  return (PyObject *)self;
}

static void Agent_dealloc(BrlAgentObject *self) {
  brl_agent_free(&self->a);
  brl_comm_free(&self->comm); /* after the agent that points to it */
  if (self->lock)
    PyThread_free_lock(self->lock);
  Py_TYPE(self)->tp_free((PyObject *)self);
}

/* brl_agent_config_set(c, str(key), str(value)); 0 or -1. */
static int set_text(brl_agent_config *c, PyObject *key, PyObject *value) {
  PyObject *ks = PyObject_Str(key), *vs = ks ? PyObject_Str(value) : NULL;
  const char *kc = vs ? PyUnicode_AsUTF8(ks) : NULL;
  const char *vc = kc ? PyUnicode_AsUTF8(vs) : NULL;
  int rc = vc ? brl_py_status(brl_agent_config_set(c, kc, vc)) : -1;
  Py_XDECREF(ks);
  Py_XDECREF(vs);
  return rc;
}

/* Fills c from algo, a preset env id (or None) and a dict of text
 * settings. found receives whether a preset exists. 0 or -1. */
static int build_config(const char *algo_name, const char *env_id,
                        PyObject *settings, brl_agent_config *c, int *found) {
  brl_algo algo;
  if (brl_py_status(brl_algo_parse(algo_name, &algo)) < 0 ||
      brl_py_status(brl_agent_config_preset(c, env_id, algo, found)) < 0)
    return -1;
  if (settings && settings != Py_None) {
    if (!PyDict_Check(settings)) {
      PyErr_SetString(PyExc_TypeError, "settings must be a dict");
      return -1;
    }
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(settings, &pos, &k, &v))
      if (set_text(c, k, v) < 0)
        return -1;
  }
  return brl_py_status(brl_agent_config_check(c));
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
  return brl_py_str_list(brl_agent_config_keys(), brl_agent_config_key_help);
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
  brl_action_space_default(&s);
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
  BRL_PY_NOGIL(rc = brl_agent_create(&c, obs_dim, &s, (uint64_t)seed, &a));
  return rc ? brl_py_raise(rc) : agent_wrap(a);
}

static PyObject *Agent_load(PyObject *cls, PyObject *arg) {
  (void)cls;
  PyObject *b = NULL;
  if (!PyUnicode_FSConverter(arg, &b))
    return NULL;
  brl_agent *a = NULL;
  const char *path = PyBytes_AS_STRING(b);
  int rc;
  BRL_PY_NOGIL(rc = brl_agent_load(path, &a));
  Py_DECREF(b);
  return rc ? brl_py_raise(rc) : agent_wrap(a);
}

static PyObject *Agent_from_bytes(PyObject *cls, PyObject *arg) {
  (void)cls;
  Py_buffer view;
  if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
    return NULL;
  brl_agent *a = NULL;
  int rc;
  BRL_PY_NOGIL(rc = brl_agent_load_buffer(view.buf, (size_t)view.len, &a));
  PyBuffer_Release(&view);
  return rc ? brl_py_raise(rc) : agent_wrap(a);
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
  return brl_py_none(rc);
}

static PyObject *Agent_to_bytes(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  void *buf = NULL;
  size_t len = 0;
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_save_buffer(self->a, &buf, &len));
  return brl_py_bytes(rc, buf, len);
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
  *out = brl_py_u8_count(obj, "action_masks", n * self->mask_dim);
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
  PyObject *acts = brl_py_zeros_f32(n, self->act_dim);
  PyObject *lp = extras ? brl_py_zeros_vec(n, NPY_FLOAT32) : NULL;
  PyObject *val = extras ? brl_py_zeros_vec(n, NPY_FLOAT32) : NULL;
  /* Py_BuildValue releases all three when one is NULL. */
  PyObject *res = extras ? Py_BuildValue("(NNN)", acts, lp, val) : acts;
  int rc = BRL_OK;
  if (res) {
    const float *x = PyArray_DATA(X);
    const uint8_t *m = brl_py_data((PyObject *)M);
    float *ap = brl_py_data(acts), *lpp = brl_py_data(lp),
          *vp = brl_py_data(val);
    BRL_PY_CALL(self, rc = brl_agent_act(self->a, x, n, m, det, ap, lpp, vp));
  }
  Py_DECREF(X);
  Py_XDECREF(M);
  return brl_py_result(rc, res);
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
  const int64_t n = self->n_local;
  PyArrayObject *X = brl_py_f32_count(obs_obj, "obs", n * self->obs_dim);
  if (!X)
    return NULL;
  PyArrayObject *M = NULL;
  if (agent_masks(self, mask_obj, n, &M) < 0) {
    Py_DECREF(X);
    return NULL;
  }
  PyObject *acts = brl_py_zeros_f32(n, self->act_dim);
  int rc = BRL_OK;
  if (acts) {
    const float *x = PyArray_DATA(X);
    const uint8_t *m = brl_py_data((PyObject *)M);
    float *ap = brl_py_data(acts);
    BRL_PY_CALL(self, rc = brl_agent_collect(self->a, x, m, ap, NULL, NULL));
  }
  Py_DECREF(X);
  Py_XDECREF(M);
  return brl_py_result(rc, acts);
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
  const int64_t n = self->n_local;
  PyArrayObject *R = brl_py_f32_count(r_obj, "rewards", n);
  PyArrayObject *TE = R ? brl_py_u8_count(te_obj, "terminated", n) : NULL;
  PyArrayObject *TR = TE ? brl_py_u8_count(tr_obj, "truncated", n) : NULL;
  PyArrayObject *F = NULL, *V = NULL;
  if (TR && f_obj != Py_None)
    F = brl_py_f32_count(f_obj, "final_obs", n * self->obs_dim);
  if (TR && (f_obj == Py_None || F) && v_obj != Py_None)
    V = brl_py_u8_count(v_obj, "valid", n);
  if (!TR || (f_obj != Py_None && !F) || (v_obj != Py_None && !V)) {
    Py_XDECREF(R);
    Py_XDECREF(TE);
    Py_XDECREF(TR);
    Py_XDECREF(F);
    return NULL;
  }
  const float *r = PyArray_DATA(R), *f = brl_py_data((PyObject *)F);
  const uint8_t *te = PyArray_DATA(TE), *tr = PyArray_DATA(TR);
  const uint8_t *v = brl_py_data((PyObject *)V);
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_observe_valid(self->a, r, te, tr, f, v));
  Py_DECREF(R);
  Py_DECREF(TE);
  Py_DECREF(TR);
  Py_XDECREF(F);
  Py_XDECREF(V);
  return brl_py_none(rc);
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
  PyArrayObject *X =
      brl_py_f32_count(arg, "last_obs", self->n_local * self->obs_dim);
  if (!X)
    return NULL;
  const float *x = PyArray_DATA(X);
  int rc;
  BRL_PY_CALL(self, rc = brl_agent_update(self->a, x));
  Py_DECREF(X);
  return brl_py_none(rc);
}

/* set_comm(comm): an mpi4py communicator (None detaches); returns this
 * rank's (first, count) share of the n_envs. */
static PyObject *Agent_set_comm(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  brl_comm *c = NULL;
  if (arg != Py_None && brl_py_comm_new(arg, &c) < 0)
    return NULL;
  int rc, first = 0, count = self->n_envs;
  BRL_PY_CALL(self, rc = brl_agent_set_comm(self->a, c));
  if (rc == BRL_OK && c)
    rc = brl_env_share(self->n_envs, brl_comm_rank(c), brl_comm_size(c), &first,
                       &count);
  if (rc != BRL_OK) {
    brl_comm_free(&c);
    return brl_py_none(rc);
  }
  brl_comm_free(&self->comm);
  self->comm = c;
  self->n_local = count;
  return Py_BuildValue("(ii)", first, count);
}

static PyObject *Agent_reset_episodes(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_reset_episodes(self->a));
  return brl_py_none(rc);
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
  return brl_py_none(rc);
}

static PyObject *Agent_set_threads(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  int t;
  if (brl_py_as_int(arg, &t) < 0)
    return NULL;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_set_threads(self->a, t));
  return brl_py_none(rc);
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
  return brl_py_none(rc);
}

static PyObject *Agent_get_device(BrlAgentObject *self, void *closure) {
  (void)closure;
  if (agent_ready(self) < 0)
    return NULL;
  const char *d;
  BRL_PY_QUICK(self, d = brl_agent_device(self->a));
  return PyUnicode_FromString(d);
}

#define STAT(name, kind) BRL_PY_FIELD(brl_agent_stats, name, kind)
static const brl_py_field stats_fields[] = {
    STAT(timesteps, BRL_PY_I64),
    STAT(episodes, BRL_PY_I64),
    STAT(updates, BRL_PY_I64),
    STAT(progress, BRL_PY_DOUBLE),
    STAT(ep_window, BRL_PY_INT),
    STAT(ep_return_mean, BRL_PY_DOUBLE),
    STAT(ep_return_std, BRL_PY_DOUBLE),
    STAT(ep_length_mean, BRL_PY_DOUBLE),
    STAT(policy_loss, BRL_PY_DOUBLE),
    STAT(value_loss, BRL_PY_DOUBLE),
    STAT(entropy, BRL_PY_DOUBLE),
    STAT(approx_kl, BRL_PY_DOUBLE),
    STAT(clip_fraction, BRL_PY_DOUBLE),
    STAT(explained_variance, BRL_PY_DOUBLE),
    STAT(log_std_mean, BRL_PY_DOUBLE),
    STAT(epochs_done, BRL_PY_INT),
    STAT(trees_added, BRL_PY_INT),
    STAT(policy_trees, BRL_PY_INT),
    STAT(value_trees, BRL_PY_INT),
    STAT(policy_lr, BRL_PY_DOUBLE),
    STAT(value_lr, BRL_PY_DOUBLE),
    STAT(rollout_s, BRL_PY_DOUBLE),
    STAT(update_s, BRL_PY_DOUBLE),
    STAT(fps, BRL_PY_DOUBLE),
    {NULL, BRL_PY_INT, 0}};
#undef STAT

static PyObject *Agent_stats(BrlAgentObject *self, PyObject *args) {
  (void)args;
  if (agent_ready(self) < 0)
    return NULL;
  brl_agent_stats s;
  int rc;
  BRL_PY_QUICK(self, rc = brl_agent_get_stats(self->a, &s));
  return rc ? brl_py_raise(rc) : brl_py_fields_dict(&s, stats_fields);
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

/* An int field of the object: the closure is its offset. */
static PyObject *Agent_get_int(BrlAgentObject *self, void *offset) {
  if (agent_ready(self) < 0)
    return NULL;
  return PyLong_FromLong(*(const int *)((const char *)self + (size_t)offset));
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
  return brl_py_bytes(rc, buf, len);
}

/* _shap(obs) -> float32 (n, obs_dim + 1, K): brl_model_shap of the policy
 * (or shared) ensemble over n observations (n x obs_dim floats); column
 * obs_dim holds the expected value. */
static PyObject *Agent_shap(BrlAgentObject *self, PyObject *arg) {
  if (agent_ready(self) < 0)
    return NULL;
  PyArrayObject *X = brl_py_f32_count(arg, "obs", -1);
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
  return brl_py_result(rc, (PyObject *)out);
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
  return brl_py_none(rc);
}

#define EVAL(name, kind) BRL_PY_FIELD(brl_eval_result, name, kind)
static const brl_py_field eval_fields[] = {EVAL(episodes, BRL_PY_INT),
                                           EVAL(mean_return, BRL_PY_DOUBLE),
                                           EVAL(std_return, BRL_PY_DOUBLE),
                                           EVAL(mean_length, BRL_PY_DOUBLE),
                                           EVAL(min_return, BRL_PY_DOUBLE),
                                           EVAL(max_return, BRL_PY_DOUBLE),
                                           {NULL, BRL_PY_INT, 0}};
#undef EVAL

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
  return rc ? brl_py_raise(rc) : brl_py_fields_dict(&r, eval_fields);
}

#define REPORT(name, kind) BRL_PY_FIELD(brl_compress_report, name, kind)
static const brl_py_field compress_fields[] = {
    REPORT(trees_before, BRL_PY_INT),
    REPORT(trees_after, BRL_PY_INT),
    REPORT(train_rows, BRL_PY_I64),
    REPORT(holdout_rows, BRL_PY_I64),
    REPORT(agreement, BRL_PY_DOUBLE),
    REPORT(policy_rmse, BRL_PY_DOUBLE),
    REPORT(value_rmse, BRL_PY_DOUBLE),
    REPORT(prob_tv, BRL_PY_DOUBLE),
    REPORT(train_policy_rmse, BRL_PY_DOUBLE),
    REPORT(fit_s, BRL_PY_DOUBLE),
    {NULL, BRL_PY_INT, 0}};
#undef REPORT

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
  return rc ? brl_py_raise(rc) : brl_py_fields_dict(&r, compress_fields);
}

static PyMethodDef Agent_methods[] = {
    {"load", (PyCFunction)Agent_load, METH_O | METH_CLASS,
     "load(path) -> Agent: an agent file (the command's format)"},
    {"from_bytes", (PyCFunction)Agent_from_bytes, METH_O | METH_CLASS,
     "from_bytes(data) -> Agent"},
    {"save", (PyCFunction)Agent_save, METH_O, "save(path)"},
    {"to_bytes", (PyCFunction)Agent_to_bytes, METH_NOARGS,
     "to_bytes() -> bytes"},
    {"act", BRL_PY_FN(Agent_act), METH_VARARGS | METH_KEYWORDS,
     "act(obs, masks=None, deterministic=False, extras=False) -> actions "
     "(n, act_dim) float32, or (actions, log_probs, values) with extras"},
    {"collect", BRL_PY_FN(Agent_collect), METH_VARARGS | METH_KEYWORDS,
     "collect(obs, masks=None) -> actions of one training step"},
    {"observe", BRL_PY_FN(Agent_observe), METH_VARARGS | METH_KEYWORDS,
     "observe(rewards, terminated, truncated, final_obs=None, valid=None): "
     "valid (n_envs bools) marks the envs whose step was a transition; the "
     "others (a next-step autoreset's reset step) are not trained on and "
     "end no episode (brl_agent_observe_valid)"},
    {"rollout_full", (PyCFunction)Agent_rollout_full, METH_NOARGS,
     "rollout_full() -> bool"},
    {"update", (PyCFunction)Agent_update, METH_O, "update(last_obs)"},
    {"set_comm", (PyCFunction)Agent_set_comm, METH_O,
     "set_comm(comm) -> (first, count): train across the ranks of an mpi4py "
     "communicator (None: one process); collect, observe and update then "
     "take this rank's count envs"},
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
    {"compress_obs", BRL_PY_FN(Agent_compress_obs),
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
    {"obs_dim", (getter)Agent_get_int, NULL, "observation floats",
     (void *)offsetof(BrlAgentObject, obs_dim)},
    {"act_dim", (getter)Agent_get_int, NULL, "floats per action",
     (void *)offsetof(BrlAgentObject, act_dim)},
    {"mask_dim", (getter)Agent_get_int, NULL, "bytes of one action mask",
     (void *)offsetof(BrlAgentObject, mask_dim)},
    {"n_envs", (getter)Agent_get_int, NULL, "environment copies",
     (void *)offsetof(BrlAgentObject, n_envs)},
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

static PyMethodDef agent_module_methods[] = {
    {"agent_config", BRL_PY_FN(agent_config), METH_VARARGS | METH_KEYWORDS,
     "agent_config(algo, env_id=None, settings=None) -> (dict, found): the "
     "library's preset for (env_id, algo) with settings applied"},
    {"agent_config_keys", agent_config_keys, METH_NOARGS,
     "agent_config_keys() -> [(key, help)]"},
    {NULL, NULL, 0, NULL}};

int brl_py_agent_init(PyObject *m) {
  return brl_py_add_type(m, "Agent", &BrlAgent_Type, agent_module_methods);
}
