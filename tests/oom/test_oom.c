/* Allocation failure, the way SQLite tests it: every call below runs with
 * allocation n failing, for n = 1, 2, ... until it succeeds without reaching
 * its n-th allocation. Each failing try must return BRL_ENOMEM (or succeed
 * with the right result), leave the object as it was and usable (or give
 * back nothing), and leak nothing: the bytes live before setup are live again
 * after teardown. Under AddressSanitizer (make test-oom) crashes and bad
 * frees are caught as well. */
#include "alloc_hook.h"
#include "boostrl.h"
#include "testlib.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long total_points;

typedef struct op {
  const char *name;
  void (*setup)(void *ctx);
  int (*call)(void *ctx);
  /* After the call: 1 when the object is as it should be (rc: the call's
   * status; failed: whether an allocation failed). */
  int (*check)(void *ctx, int rc, int failed);
  void (*teardown)(void *ctx);
} op;

static void sweep(const op *o, void *ctx) {
  long n;
  for (n = 1; n < 200000; n++) {
    long long live0 = hook_live_bytes();
    if (o->setup)
      o->setup(ctx);
    hook_arm(n);
    int rc = o->call(ctx);
    hook_disarm();
    int failed = hook_failed();
    CHECK_MSG(rc == BRL_OK || (failed && rc == BRL_ENOMEM),
              "%s: allocation %ld %s: status %d (%s)", o->name, n,
              failed ? "failed" : "did not fail", rc, brl_last_error());
    if (failed && rc == BRL_ENOMEM)
      CHECK_MSG(strstr(brl_last_error(), "memory") != NULL,
                "%s: allocation %ld: the message says nothing of memory: %s",
                o->name, n, brl_last_error());
    CHECK_MSG(o->check(ctx, rc, failed),
              "%s: allocation %ld (status %d): the object is not as it was",
              o->name, n, rc);
    if (o->teardown)
      o->teardown(ctx);
    CHECK_MSG(hook_live_bytes() == live0,
              "%s: allocation %ld: %lld bytes leaked", o->name, n,
              hook_live_bytes() - live0);
    if (!failed)
      break;
  }
  total_points += n - 1;
  printf("%-28s %5ld allocation failure points\n", o->name, n - 1);
}

static int same_bytes(const void *a, size_t la, const void *b, size_t lb) {
  return la == lb && memcmp(a, b, la) == 0;
}

/* ------------------------------------------------------------- models */

typedef struct mctx {
  brl_params p;
  float X[64 * 5];
  int32_t Xc[64 * 2];
  float g[64 * 2];
  brl_model *m, *out;
  brl_batch *b;
  void *saved, *buf;
  size_t saved_len, buf_len;
  char *json;
  size_t json_len;
  float pred[64 * 2];
  int n_trees;
} mctx;

static void mctx_init(mctx *c, int grow, int optimizer, int n_cat) {
  memset(c, 0, sizeof *c);
  brl_params_default(&c->p, 5 - n_cat, 2);
  c->p.n_cat_features = n_cat;
  c->p.grow_policy = grow;
  c->p.optimizer = optimizer;
  c->p.max_depth = 3;
  c->p.n_threads = 1;
  uint32_t s = 12345;
  for (int i = 0; i < 64 * 5; i++) {
    s = s * 1664525u + 1013904223u;
    c->X[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
  }
  for (int i = 0; i < 64 * 2; i++)
    c->Xc[i] = i % 3;
  for (int i = 0; i < 64 * 2; i++)
    c->g[i] = c->X[i] * 2.0f - c->X[(i * 7) % (64 * 5)];
}

static int batch(mctx *c, brl_batch **b) {
  return c->p.n_cat_features ? brl_batch_create_cat(c->m, c->X, c->Xc, 64, b)
                             : brl_batch_create(c->m, c->X, 64, b);
}

/* A model with two trees (and, categorical, a dictionary), its batch and
 * its saved bytes. */
static void model_setup(void *ctx) {
  mctx *c = ctx;
  if (brl_model_create(&c->p, &c->m) || batch(c, &c->b))
    abort();
  for (int j = 0; j < c->p.n_cat_features; j++) {
    int32_t code;
    brl_model_cat_encode(c->m, j, "red", 1, &code);
    brl_model_cat_encode(c->m, j, "green", 1, &code);
  }
  for (int t = 0; t < 2; t++)
    if (brl_model_step(c->m, c->b, NULL, 64, c->g, 0.5f))
      abort();
  if (brl_model_save_buffer(c->m, &c->saved, &c->saved_len))
    abort();
  c->n_trees = brl_model_n_trees(c->m);
}

/* The same with no trees yet: the first step allocates the tree storage. */
static void fresh_setup(void *ctx) {
  mctx *c = ctx;
  if (brl_model_create(&c->p, &c->m) || batch(c, &c->b) ||
      brl_model_save_buffer(c->m, &c->saved, &c->saved_len))
    abort();
  c->n_trees = 0;
}

static void model_teardown(void *ctx) {
  mctx *c = ctx;
  brl_model_free(&c->m);
  brl_model_free(&c->out);
  brl_batch_free(&c->b);
  brl_free(c->saved);
  brl_free(c->buf);
  brl_free(c->json);
  c->saved = c->buf = NULL;
  c->json = NULL;
}

/* The model saves the bytes it saved before the call. */
static int model_unchanged(mctx *c) {
  void *b;
  size_t l;
  if (brl_model_save_buffer(c->m, &b, &l))
    return 0;
  int same = same_bytes(b, l, c->saved, c->saved_len);
  brl_free(b);
  return same;
}

static int call_create(void *ctx) {
  mctx *c = ctx;
  return brl_model_create(&c->p, &c->out);
}
static int check_create(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  return rc ? c->out == NULL : c->out != NULL;
}

static void setup_model_only(void *ctx) {
  mctx *c = ctx;
  if (brl_model_create(&c->p, &c->m))
    abort();
}
static int call_batch(void *ctx) { return batch(ctx, &((mctx *)ctx)->b); }
static int check_batch(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  return rc ? c->b == NULL : c->b != NULL;
}

static int call_step(void *ctx) {
  mctx *c = ctx;
  return brl_model_step(c->m, c->b, NULL, 64, c->g, 0.5f);
}
/* A failed step leaves the model as it was, and the same step succeeds
 * next; the batch's cached predictions stay right. */
static int check_step(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  int ok = 1;
  if (rc) {
    ok = model_unchanged(c) && brl_model_n_trees(c->m) == c->n_trees;
    ok = ok && brl_model_step(c->m, c->b, NULL, 64, c->g, 0.5f) == BRL_OK;
  }
  ok = ok && brl_model_n_trees(c->m) == c->n_trees + 1;
  const float *cached;
  float direct[64 * 2];
  if (!ok || brl_batch_predictions(c->b, c->m, &cached) ||
      brl_model_predict_cat(c->m, c->X, c->p.n_cat_features ? c->Xc : NULL, 64,
                            0, -1, direct))
    return 0;
  return memcmp(cached, direct, sizeof direct) == 0;
}

static int call_predict(void *ctx) {
  mctx *c = ctx;
  return brl_model_predict_cat(c->m, c->X, c->p.n_cat_features ? c->Xc : NULL,
                               64, 0, -1, c->pred);
}
static int check_unchanged(void *ctx, int rc, int failed) {
  (void)rc;
  (void)failed;
  return model_unchanged(ctx);
}

static int call_save(void *ctx) {
  mctx *c = ctx;
  return brl_model_save_buffer(c->m, &c->buf, &c->buf_len);
}
static int check_save(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  if (rc)
    return c->buf == NULL && model_unchanged(c);
  return same_bytes(c->buf, c->buf_len, c->saved, c->saved_len);
}

static int call_load(void *ctx) {
  mctx *c = ctx;
  return brl_model_load_buffer(c->saved, c->saved_len, &c->out);
}
static int check_load(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  if (rc)
    return c->out == NULL;
  void *b;
  size_t l;
  if (brl_model_save_buffer(c->out, &b, &l))
    return 0;
  int same = same_bytes(b, l, c->saved, c->saved_len);
  brl_free(b);
  return same;
}

static int call_load_file(void *ctx) {
  mctx *c = ctx;
  return brl_model_load("test_oom.brl", &c->out);
}

static int call_dump_json(void *ctx) {
  mctx *c = ctx;
  return brl_model_dump_json(c->m, &c->json, &c->json_len);
}
static int check_dump_json(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  return rc ? c->json == NULL : c->json != NULL && c->json_len > 0;
}

static void setup_json(void *ctx) {
  mctx *c = ctx;
  model_setup(ctx);
  if (brl_model_dump_json(c->m, &c->json, &c->json_len))
    abort();
}
static int call_load_json(void *ctx) {
  mctx *c = ctx;
  return brl_model_load_json(c->json, c->json_len, &c->out);
}

/* Calls that read the model: it must be unchanged whatever they return. */
static int call_shap(void *ctx) {
  mctx *c = ctx;
  float out[8 * 6 * 2];
  int rc =
      brl_model_shap(c->m, c->X, c->p.n_cat_features ? c->Xc : NULL, 8, out);
  return rc == BRL_EUNSUPPORTED ? BRL_OK : rc; /* Adam: refused */
}
static int call_dump_text(void *ctx) {
  mctx *c = ctx;
  return brl_model_dump_text(c->m, 0, -1, NULL, &c->json, &c->json_len);
}
static int call_dump_dot(void *ctx) {
  mctx *c = ctx;
  return brl_model_dump_dot(c->m, 0, -1, NULL, &c->json, &c->json_len);
}
static int call_export(void *ctx) {
  mctx *c = ctx;
  brl_export_options o;
  brl_export_options_default(&o);
  char *h = NULL, *src = NULL;
  size_t lh, lc;
  int rc = brl_model_export_c_buffer(c->m, &o, &h, &lh, &src, &lc, NULL);
  brl_free(h);
  brl_free(src);
  return rc == BRL_EUNSUPPORTED ? BRL_OK : rc; /* Adam: refused */
}
static int check_text(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  return (rc ? c->json == NULL : c->json != NULL) && model_unchanged(c);
}

/* brl_fit adds its trees one by one: a failure keeps the trees fitted so
 * far, each whole, and the model goes on fitting. */
static int call_fit(void *ctx) {
  mctx *c = ctx;
  brl_fit_params fp;
  brl_fit_params_default(&fp);
  fp.iterations = 3;
  return brl_fit(c->m, c->X, c->p.n_cat_features ? c->Xc : NULL, c->g, 64, &fp);
}
static int check_fit(void *ctx, int rc, int failed) {
  mctx *c = ctx;
  (void)failed;
  int n = brl_model_n_trees(c->m);
  if (rc)
    return n >= c->n_trees && n < c->n_trees + 3 && call_fit(ctx) == BRL_OK;
  return n == c->n_trees + 3;
}

static void model_ops(int grow, int optimizer, int n_cat, const char *tag) {
  mctx c;
  mctx_init(&c, grow, optimizer, n_cat);
  char names[16][64];
  const char *what[] = {"create",    "batch",     "step", "first step",
                        "predict",   "save",      "load", "load file",
                        "dump json", "load json", "shap", "dump text",
                        "dump dot",  "export C",  "fit"};
  const int n_ops = (int)(sizeof what / sizeof what[0]);
  for (int i = 0; i < n_ops; i++)
    snprintf(names[i], sizeof names[i], "model %s %s", tag, what[i]);
  const op ops[] = {
      {names[0], NULL, call_create, check_create, model_teardown},
      {names[1], setup_model_only, call_batch, check_batch, model_teardown},
      {names[2], model_setup, call_step, check_step, model_teardown},
      {names[3], fresh_setup, call_step, check_step, model_teardown},
      {names[4], model_setup, call_predict, check_unchanged, model_teardown},
      {names[5], model_setup, call_save, check_save, model_teardown},
      {names[6], model_setup, call_load, check_load, model_teardown},
      {names[7], model_setup, call_load_file, check_load, model_teardown},
      {names[8], model_setup, call_dump_json, check_dump_json, model_teardown},
      {names[9], setup_json, call_load_json, check_load, model_teardown},
      {names[10], model_setup, call_shap, check_unchanged, model_teardown},
      {names[11], model_setup, call_dump_text, check_text, model_teardown},
      {names[12], model_setup, call_dump_dot, check_text, model_teardown},
      {names[13], model_setup, call_export, check_unchanged, model_teardown},
      {names[14], model_setup, call_fit, check_fit, model_teardown},
  };
  model_setup(&c);
  if (brl_model_save(c.m, "test_oom.brl"))
    abort();
  model_teardown(&c);
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    sweep(&ops[i], &c);
  remove("test_oom.brl");
}

/* ------------------------------------------------------------- agents */

typedef struct actx {
  brl_agent_config cfg;
  const char *env_id;
  brl_env_spec spec;
  brl_action_space sp;
  brl_agent *a, *out;
  brl_env *e;
  void *saved, *buf;
  size_t saved_len, buf_len;
  float obs[4 * 8], act[4 * BRL_MAX_ACTION_DIM];
} actx;

static void agent_teardown(void *ctx) {
  actx *c = ctx;
  brl_agent_free(&c->a);
  brl_agent_free(&c->out);
  brl_env_free(&c->e);
  brl_free(c->saved);
  brl_free(c->buf);
  c->saved = c->buf = NULL;
}

/* An agent trained for a few rollouts on its env, and its saved bytes. */
static void agent_setup(void *ctx) {
  actx *c = ctx;
  if (brl_env_make(c->env_id, c->cfg.n_envs, 3, &c->e) ||
      brl_agent_create(&c->cfg, c->spec.obs_dim, &c->sp, 9, &c->a) ||
      brl_agent_learn(c->a, c->e, 64, 1) ||
      brl_agent_save_buffer(c->a, &c->saved, &c->saved_len) ||
      brl_env_observe(c->e, c->obs))
    abort();
}

static int agent_unchanged(actx *c) {
  void *b;
  size_t l;
  if (brl_agent_save_buffer(c->a, &b, &l))
    return 0;
  int same = same_bytes(b, l, c->saved, c->saved_len);
  brl_free(b);
  return same;
}

static int call_agent_create(void *ctx) {
  actx *c = ctx;
  return brl_agent_create(&c->cfg, c->spec.obs_dim, &c->sp, 9, &c->out);
}
static int check_agent_create(void *ctx, int rc, int failed) {
  actx *c = ctx;
  (void)failed;
  return rc ? c->out == NULL : c->out != NULL;
}

static int call_act(void *ctx) {
  actx *c = ctx;
  return brl_agent_act(c->a, c->obs, c->cfg.n_envs, NULL, 1, c->act, NULL,
                       NULL);
}
static int check_agent_unchanged(void *ctx, int rc, int failed) {
  (void)rc;
  (void)failed;
  return agent_unchanged(ctx);
}

/* One more rollout and update, from the state after setup. */
static int call_learn(void *ctx) {
  actx *c = ctx;
  return brl_agent_learn(c->a, c->e, 64 + 16, 0);
}
/* After a failed call, learning again (with the env reset, as documented)
 * succeeds. */
static int check_learn(void *ctx, int rc, int failed) {
  actx *c = ctx;
  (void)failed;
  return !rc || brl_agent_learn(c->a, c->e, 64 + 16, 1) == BRL_OK;
}

/* Collects a full rollout by hand. */
static int fill_rollout(actx *c) {
  float rew[8], next[8 * 8];
  uint8_t term[8], trunc[8];
  int rc = 0;
  while (!rc && !brl_agent_rollout_full(c->a))
    if ((rc = brl_agent_collect(c->a, c->obs, NULL, c->act, NULL, NULL)) ||
        (rc = brl_env_step(c->e, c->act, next, rew, term, trunc, next)) ||
        (rc = brl_agent_observe(c->a, rew, term, trunc, next)))
      break;
    else
      rc = brl_env_observe(c->e, c->obs);
  return rc;
}

/* An agent after setup with a full rollout, and its saved bytes then
 * (saving drops the rollout). */
static void update_setup(void *ctx) {
  actx *c = ctx;
  agent_setup(ctx);
  brl_free(c->saved);
  if (fill_rollout(c) || brl_agent_save_buffer(c->a, &c->saved, &c->saved_len))
    abort();
}
static int call_update(void *ctx) {
  actx *c = ctx;
  return brl_agent_update(c->a, c->obs);
}
/* A failed update changes nothing (ensembles, counters, generator, replay
 * buffer) and drops the rollout: the next rollout's update succeeds. */
static int check_update(void *ctx, int rc, int failed) {
  actx *c = ctx;
  (void)failed;
  if (!rc)
    return 1;
  return agent_unchanged(c) && !brl_agent_rollout_full(c->a) &&
         fill_rollout(c) == BRL_OK && brl_agent_update(c->a, c->obs) == BRL_OK;
}

static int call_agent_save(void *ctx) {
  actx *c = ctx;
  return brl_agent_save_buffer(c->a, &c->buf, &c->buf_len);
}
static int check_agent_save(void *ctx, int rc, int failed) {
  actx *c = ctx;
  (void)failed;
  if (rc)
    return c->buf == NULL && agent_unchanged(c);
  return same_bytes(c->buf, c->buf_len, c->saved, c->saved_len);
}

static int call_agent_load(void *ctx) {
  actx *c = ctx;
  return brl_agent_load_buffer(c->saved, c->saved_len, &c->out);
}
static int check_agent_load(void *ctx, int rc, int failed) {
  actx *c = ctx;
  (void)failed;
  if (rc)
    return c->out == NULL;
  void *b;
  size_t l;
  if (brl_agent_save_buffer(c->out, &b, &l))
    return 0;
  int same = same_bytes(b, l, c->saved, c->saved_len);
  brl_free(b);
  return same;
}

/* The rollout and replay buffers are allocated at the first rollout (a
 * loaded agent's replay holds only the file's transitions until then): a
 * failure there leaves the agent valid, and learning again succeeds. */
static void fresh_agent_setup(void *ctx) {
  actx *c = ctx;
  if (brl_env_make(c->env_id, c->cfg.n_envs, 3, &c->e) ||
      brl_agent_create(&c->cfg, c->spec.obs_dim, &c->sp, 9, &c->out))
    abort();
}
static void loaded_agent_setup(void *ctx) {
  actx *c = ctx;
  agent_setup(ctx);
  if (brl_agent_load_buffer(c->saved, c->saved_len, &c->out))
    abort();
}
static int call_first_learn(void *ctx) {
  actx *c = ctx;
  return brl_agent_learn(c->out, c->e, 64 + 16, 1);
}
static int check_first_learn(void *ctx, int rc, int failed) {
  actx *c = ctx;
  (void)failed;
  return !rc || brl_agent_learn(c->out, c->e, 64 + 16, 1) == BRL_OK;
}

/* Compression: on error the agent is unchanged (boostrl.h). */
static int call_compress(void *ctx) {
  actx *c = ctx;
  brl_compress_params cp;
  brl_compress_params_default(&cp, 4);
  cp.steps = 48;
  cp.holdout_steps = 16;
  cp.eval_episodes = 0;
  int rc = brl_agent_compress(c->a, c->e, &cp, NULL);
  return rc == BRL_EUNSUPPORTED ? BRL_OK : rc; /* DQN, AWR: refused */
}

static int check_compress(void *ctx, int rc, int failed) {
  (void)failed;
  return !rc || agent_unchanged(ctx);
}

static void agent_ops(brl_algo algo, const char *env_id, const char *tag) {
  actx c;
  memset(&c, 0, sizeof c);
  brl_agent_config_default(&c.cfg, algo);
  c.cfg.n_envs = 2;
  c.cfg.n_steps = 8;
  c.cfg.batch_size = 8;
  c.cfg.max_depth = 2;
  c.cfg.buffer_size = 128; /* not full: a failed update restores it */
  c.cfg.learning_starts = 8;
  c.cfg.train_freq = 4;
  c.cfg.gradient_steps = 1;
  c.cfg.n_threads = 1;
  c.env_id = env_id;
  brl_env *e;
  if (brl_env_make(env_id, 1, 1, &e) || brl_env_get_spec(e, &c.spec) ||
      brl_action_space_from_env(&c.spec, &c.sp))
    abort();
  brl_env_free(&e);
  char names[9][64];
  const char *what[] = {"create",   "act",         "learn",
                        "update",   "save",        "load",
                        "compress", "fresh learn", "loaded learn"};
  for (int i = 0; i < 9; i++)
    snprintf(names[i], sizeof names[i], "agent %s %s", tag, what[i]);
  const op ops[] = {
      {names[0], NULL, call_agent_create, check_agent_create, agent_teardown},
      {names[1], agent_setup, call_act, check_agent_unchanged, agent_teardown},
      {names[2], agent_setup, call_learn, check_learn, agent_teardown},
      {names[3], update_setup, call_update, check_update, agent_teardown},
      {names[4], agent_setup, call_agent_save, check_agent_save,
       agent_teardown},
      {names[5], agent_setup, call_agent_load, check_agent_load,
       agent_teardown},
      {names[6], agent_setup, call_compress, check_compress, agent_teardown},
      {names[7], fresh_agent_setup, call_first_learn, check_first_learn,
       agent_teardown},
      {names[8], loaded_agent_setup, call_first_learn, check_first_learn,
       agent_teardown},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    sweep(&ops[i], &c);
}

/* ---------------------------------------------------------------- envs */

typedef struct ectx {
  brl_env *e, *out;
  void *saved, *buf;
  size_t saved_len, buf_len;
} ectx;

static void env_setup(void *ctx) {
  ectx *c = ctx;
  float obs[2 * 8];
  if (brl_env_make("CartPole-v1", 2, 4, &c->e) || brl_env_reset(c->e, obs) ||
      brl_env_save_buffer(c->e, &c->saved, &c->saved_len) ||
      brl_env_make("CartPole-v1", 2, 5, &c->out))
    abort();
}
static void env_teardown(void *ctx) {
  ectx *c = ctx;
  brl_env_free(&c->e);
  brl_env_free(&c->out);
  brl_free(c->saved);
  brl_free(c->buf);
  c->saved = c->buf = NULL;
}
static int call_env_make(void *ctx) {
  ectx *c = ctx;
  brl_env_free(&c->out);
  return brl_env_make("Acrobot-v1", 3, 1, &c->out);
}
static int check_env_make(void *ctx, int rc, int failed) {
  ectx *c = ctx;
  (void)failed;
  return rc ? c->out == NULL : c->out != NULL;
}
static int call_env_save(void *ctx) {
  ectx *c = ctx;
  return brl_env_save_buffer(c->e, &c->buf, &c->buf_len);
}
static int check_env_save(void *ctx, int rc, int failed) {
  ectx *c = ctx;
  (void)failed;
  return rc ? c->buf == NULL
            : same_bytes(c->buf, c->buf_len, c->saved, c->saved_len);
}
static int call_env_load(void *ctx) {
  ectx *c = ctx;
  return brl_env_load_buffer(c->out, c->saved, c->saved_len);
}
static int check_env_load(void *ctx, int rc, int failed) {
  ectx *c = ctx;
  (void)failed;
  if (rc)
    return 1;
  void *b;
  size_t l;
  if (brl_env_save_buffer(c->out, &b, &l))
    return 0;
  int same = same_bytes(b, l, c->saved, c->saved_len);
  brl_free(b);
  return same;
}

static void env_ops(void) {
  ectx c;
  memset(&c, 0, sizeof c);
  const op ops[] = {
      {"env make", env_setup, call_env_make, check_env_make, env_teardown},
      {"env save", env_setup, call_env_save, check_env_save, env_teardown},
      {"env load", env_setup, call_env_load, check_env_load, env_teardown},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    sweep(&ops[i], &c);
}

/* ------------------------------------------------------------ settings */

static const char kv_text[] =
    "{\"env\": \"CartPole-v1\", \"seed\": 3, \"gamma\": 0.99, "
    "\"name\": \"a\\u00e9\\ud83c\\udf32\", \"flag\": true}";

typedef struct kctx {
  brl_kv *kv, *out;
  char *text, *before;
  size_t text_len, before_len;
} kctx;

static void kv_setup(void *ctx) {
  kctx *c = ctx;
  CHECK_OK(brl_kv_parse_json(kv_text, sizeof kv_text - 1, &c->kv));
  CHECK_OK(brl_kv_dump_json(c->kv, &c->before, &c->before_len));
  c->out = NULL;
  c->text = NULL;
}

static void kv_teardown(void *ctx) {
  kctx *c = ctx;
  brl_kv_free(&c->kv);
  brl_kv_free(&c->out);
  brl_free(c->text);
  brl_free(c->before);
  c->text = c->before = NULL;
}

static int call_kv_parse(void *ctx) {
  kctx *c = ctx;
  return brl_kv_parse_json(kv_text, sizeof kv_text - 1, &c->out);
}
static int check_kv_parse(void *ctx, int rc, int failed) {
  kctx *c = ctx;
  (void)failed;
  if (rc)
    return c->out == NULL;
  char *t;
  size_t l;
  if (brl_kv_dump_json(c->out, &t, &l))
    return 0;
  int same = same_bytes(t, l, c->before, c->before_len);
  brl_free(t);
  return same;
}

/* A new key (AUTO: the literal check parses the value), then a replaced
 * one: on failure the object is as it was. */
static int call_kv_set(void *ctx) {
  kctx *c = ctx;
  int rc = brl_kv_set(c->kv, "lr", "2.5e-3", BRL_KV_AUTO);
  return rc ? rc : brl_kv_set(c->kv, "env", "Acrobot-v1", BRL_KV_STRING);
}
static int check_kv_set(void *ctx, int rc, int failed) {
  kctx *c = ctx;
  (void)failed;
  const char *lr = brl_kv_get(c->kv, "lr");
  if (!rc)
    return lr && !strcmp(lr, "2.5e-3") && !brl_kv_is_string(c->kv, 5) &&
           !strcmp(brl_kv_get(c->kv, "env"), "Acrobot-v1");
  /* The first set failed (nothing added) or the second (env kept). */
  return !strcmp(brl_kv_get(c->kv, "env"), "CartPole-v1") &&
         (lr == NULL || !strcmp(lr, "2.5e-3")) &&
         brl_kv_count(c->kv) == 5 + (lr != NULL);
}

static int call_kv_dump(void *ctx) {
  kctx *c = ctx;
  return brl_kv_dump_json(c->kv, &c->text, &c->text_len);
}
static int check_kv_dump(void *ctx, int rc, int failed) {
  kctx *c = ctx;
  (void)failed;
  if (rc)
    return c->text == NULL;
  return same_bytes(c->text, c->text_len, c->before, c->before_len);
}

static void kv_ops(void) {
  kctx c;
  memset(&c, 0, sizeof c);
  const op ops[] = {
      {"settings parse", kv_setup, call_kv_parse, check_kv_parse, kv_teardown},
      {"settings set", kv_setup, call_kv_set, check_kv_set, kv_teardown},
      {"settings dump", kv_setup, call_kv_dump, check_kv_dump, kv_teardown},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    sweep(&ops[i], &c);
}

int main(void) {
  model_ops(BRL_GROW_OBLIVIOUS, BRL_OPTIMIZER_SGD, 0, "oblivious");
  model_ops(BRL_GROW_GREEDY, BRL_OPTIMIZER_SGD, 2, "greedy-cat");
  model_ops(BRL_GROW_GREEDY, BRL_OPTIMIZER_ADAM, 2, "greedy-cat-adam");
  agent_ops(BRL_ALGO_PPO, "CartPole-v1", "ppo");
  agent_ops(BRL_ALGO_A2C, "Pendulum-v1", "a2c");
  agent_ops(BRL_ALGO_DQN, "CartPole-v1", "dqn");
  agent_ops(BRL_ALGO_AWR, "MountainCarContinuous-v0", "awr");
  env_ops();
  kv_ops();
  printf("%ld allocation failure points in all\n", total_points);
  return brl_test_report("test_oom");
}
