/* Agent files: one container with the chunks
 *   AGCF  the configuration as "key=value\n" text (every key)
 *   AGSP  observation dim and action space
 *   AGST  training state: seed, generator, counters, log_std and its Adam,
 *         reward scaler, running episodes, the window of episode returns
 *   M0..  the policy (or shared) ensemble;  M1.. the critic (separate only)
 * Loading rebuilds the agent from the configuration and checks every field
 * and that the ensembles fit the spaces. */
#include "core/container.h"
#include "core/error.h"
#include "engine/model_io.h"
#include "rl/agent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AGENT_FILE_VERSION 1u

static void write_config(const brl_agent_config *c, brl_buf *b) {
  brl__chunk_begin(b, "AGCF");
  for (const char *const *k = brl_agent_config_keys(); *k; k++) {
    char v[64];
    brl_agent_config_get(c, *k, v, sizeof v);
    brl__buf_bytes(b, *k, strlen(*k));
    brl__buf_u8(b, '=');
    brl__buf_bytes(b, v, strlen(v));
    brl__buf_u8(b, '\n');
  }
  brl__chunk_end(b);
}

static void write_state(const brl_agent *a, brl_buf *b) {
  const int E = a->cfg.n_envs;
  brl__chunk_begin(b, "AGSP");
  brl__buf_u32(b, AGENT_FILE_VERSION);
  brl__buf_u32(b, (uint32_t)a->obs_dim);
  brl__buf_u32(b, (uint32_t)a->space.kind);
  brl__buf_u32(b, (uint32_t)a->space.dim);
  for (int j = 0; j < a->space.dim; j++) {
    brl__buf_u32(b, (uint32_t)a->space.nvec[j]);
    brl__buf_f32(b, a->space.low[j]);
    brl__buf_f32(b, a->space.high[j]);
  }
  brl__chunk_end(b);

  brl__chunk_begin(b, "AGST");
  brl__buf_u64(b, a->seed);
  for (int i = 0; i < 4; i++)
    brl__buf_u64(b, a->rng.s[i]);
  brl__buf_u64(b, (uint64_t)a->timesteps);
  brl__buf_u64(b, (uint64_t)a->episodes);
  brl__buf_u64(b, (uint64_t)a->updates);
  brl__buf_u64(b, (uint64_t)a->total_timesteps);
  for (int j = 0; j < BRL_MAX_ACTION_DIM; j++) {
    brl__buf_f32(b, a->log_std[j]);
    brl__buf_f64(b, a->adam.m[j]);
    brl__buf_f64(b, a->adam.v[j]);
  }
  brl__buf_u64(b, (uint64_t)a->adam.t);
  brl__buf_u8(b, a->scaler ? 1 : 0);
  if (a->scaler) {
    const brl_reward_scaler *s = a->scaler;
    brl__buf_f64(b, s->gamma);
    brl__buf_f64(b, s->epsilon);
    brl__buf_f64(b, s->clip);
    brl__buf_f64(b, s->ret_rms.mean);
    brl__buf_f64(b, s->ret_rms.var);
    brl__buf_f64(b, s->ret_rms.count);
    for (int e = 0; e < E; e++)
      brl__buf_f64(b, s->ret[e]);
  }
  for (int e = 0; e < E; e++) {
    brl__buf_f64(b, a->ep_ret[e]);
    brl__buf_u64(b, (uint64_t)a->ep_len[e]);
  }
  brl__buf_u32(b, (uint32_t)a->win_n);
  brl__buf_u32(b, (uint32_t)a->win_pos);
  for (int i = 0; i < BRL_EP_WINDOW; i++) {
    brl__buf_f64(b, a->win_ret[i]);
    brl__buf_f64(b, a->win_len[i]);
  }
  brl__chunk_end(b);
}

static int corrupt(const char *what);

/* AGRB (AWR / DQN): the replay buffer's transitions; AGRC: its prediction
 * caches, as training left them (recomputing them from the ensembles would
 * round differently, and a resumed run would drift from an uninterrupted
 * one). Files without AGRC recompute them on loading. */
static void write_replay(const brl_agent *a, brl_buf *b) {
  const brl_replay *rb = &a->rb;
  const int64_t n = rb->n_steps * a->cfg.n_envs;
  const int64_t nd = n * a->obs_dim, na = n * a->act_dim;
  brl__chunk_begin(b, "AGRB");
  brl__buf_u64(b, (uint64_t)rb->steps_cap);
  brl__buf_u64(b, (uint64_t)rb->head);
  brl__buf_u64(b, (uint64_t)rb->n_steps);
  brl__buf_u32(b, (uint32_t)rb->qt_trees);
  for (int64_t i = 0; i < nd; i++)
    brl__buf_f32(b, rb->obs[i]);
  for (int64_t i = 0; i < nd; i++)
    brl__buf_f32(b, rb->next_obs[i]);
  for (int64_t i = 0; i < na; i++)
    brl__buf_f32(b, rb->act[i]);
  for (int64_t i = 0; i < n; i++) {
    brl__buf_f32(b, rb->rew[i]);
    brl__buf_u8(b, rb->term[i]);
    brl__buf_u8(b, rb->trunc[i]);
  }
  brl__chunk_end(b);
  const int64_t nk = n * a->pi_K;
  brl__chunk_begin(b, "AGRC");
  for (int64_t i = 0; i < nk; i++)
    brl__buf_f32(b, rb->pred[i]);
  for (int64_t i = 0; rb->vpred && i < n; i++)
    brl__buf_f32(b, rb->vpred[i]);
  for (int64_t i = 0; a->cfg.algo == BRL_ALGO_AWR && i < n; i++)
    brl__buf_f32(b, rb->nv[i]);
  for (int64_t i = 0; a->cfg.algo == BRL_ALGO_DQN && i < nk; i++)
    brl__buf_f32(b, rb->qt[i]);
  brl__chunk_end(b);
}

/* The caches of chunk AGRC into the replay buffer; 1 when the file has
 * none or they are not all finite (then they are recomputed). */
static int read_replay_caches(const brl_container *c, brl_agent *a, int64_t n) {
  brl_reader r;
  if (!brl__container_find(c, "AGRC", &r))
    return 1;
  brl_replay *rb = &a->rb;
  const int64_t nk = n * a->pi_K;
  int bad = 0;
  for (int64_t i = 0; i < nk; i++)
    bad |= !isfinite(rb->pred[i] = brl__rd_f32(&r));
  for (int64_t i = 0; rb->vpred && i < n; i++)
    bad |= !isfinite(rb->vpred[i] = brl__rd_f32(&r));
  for (int64_t i = 0; a->cfg.algo == BRL_ALGO_AWR && i < n; i++)
    bad |= !isfinite(rb->nv[i] = brl__rd_f32(&r));
  for (int64_t i = 0; a->cfg.algo == BRL_ALGO_DQN && i < nk; i++)
    bad |= !isfinite(rb->qt[i] = brl__rd_f32(&r));
  if (r.err || r.off != r.len)
    return corrupt("chunk AGRC (the replay's caches) has the wrong length");
  return bad; /* not finite: recomputed from the ensembles */
}

static int read_replay(const brl_container *c, brl_agent *a) {
  brl_reader r;
  if (!brl__container_find(c, "AGRB", &r))
    return corrupt("chunk AGRB (the replay buffer) is missing");
  brl_replay *rb = &a->rb;
  const uint64_t cap = brl__rd_u64(&r), head = brl__rd_u64(&r),
                 ns = brl__rd_u64(&r);
  const uint32_t qt = brl__rd_u32(&r);
  if (r.err || cap != (uint64_t)rb->steps_cap || head >= cap || ns > cap ||
      qt > (uint32_t)brl_model_n_trees(a->pi))
    return corrupt("the replay buffer does not fit the configuration");
  rb->head = (int64_t)head;
  rb->n_steps = (int64_t)ns;
  rb->qt_trees = a->cfg.algo == BRL_ALGO_DQN ? (int)qt : 0;
  const int64_t n = rb->n_steps * a->cfg.n_envs;
  const int64_t nd = n * a->obs_dim, na = n * a->act_dim;
  /* Transitions the chunk declares must be there before any is allocated:
   * the arrays hold what the file holds and grow to the capacity at the
   * first insertion. */
  const size_t row_bytes =
      4 * (2 * (size_t)a->obs_dim + (size_t)a->act_dim + 1) + 2;
  if ((r.len - r.off) / row_bytes != (uint64_t)n ||
      (r.len - r.off) % row_bytes != 0)
    return corrupt("chunk AGRB has the wrong length");
  int rc = brl__replay_reserve(a, n);
  if (rc)
    return rc;
  int bad = 0;
  for (int64_t i = 0; i < nd; i++)
    rb->obs[i] = brl__rd_f32(&r);
  for (int64_t i = 0; i < nd; i++)
    rb->next_obs[i] = brl__rd_f32(&r);
  for (int64_t i = 0; i < na; i++) {
    rb->act[i] = brl__rd_f32(&r);
    bad |= !isfinite(rb->act[i]);
    if (a->cfg.algo == BRL_ALGO_DQN)
      bad |= !(rb->act[i] >= 0 && rb->act[i] < a->space.nvec[0]) ||
             rb->act[i] != floorf(rb->act[i]);
  }
  for (int64_t i = 0; i < n; i++) {
    rb->rew[i] = brl__rd_f32(&r);
    rb->term[i] = brl__rd_u8(&r);
    rb->trunc[i] = brl__rd_u8(&r);
    bad |= !isfinite(rb->rew[i]) || rb->term[i] > 1 || rb->trunc[i] > 1;
  }
  if (r.err || r.off != r.len)
    return corrupt("chunk AGRB has the wrong length");
  if (bad)
    return corrupt("the replay buffer holds values out of range");
  rc = read_replay_caches(c, a, n);
  return rc == 1 ? brl__replay_refresh(a) : rc;
}

int brl_agent_save_buffer(const brl_agent *a, void **buf, size_t *len) {
  BRL_CHECK_ARG(a);
  BRL_CHECK_ARG(buf);
  BRL_CHECK_ARG(len);
  brl_buf b;
  brl__container_begin(&b);
  write_config(&a->cfg, &b);
  write_state(a, &b);
  brl__model_write_chunks(a->pi, &b, "M0");
  if (a->vf)
    brl__model_write_chunks(a->vf, &b, "M1");
  if (brl__off_policy(a))
    write_replay(a, &b);
  int rc = brl__container_finish(&b);
  if (rc)
    return rc;
  *buf = b.data;
  *len = b.len;
  return BRL_OK;
}

int brl_agent_save(const brl_agent *a, const char *path) {
  BRL_CHECK_ARG(path);
  void *buf = NULL;
  size_t len = 0;
  const int rc = brl_agent_save_buffer(a, &buf, &len);
  return brl__write_owned(path, rc, buf, len);
}

/* ---------------------------------------------------------------- loading */

static int corrupt(const char *what) {
  return brl__fail(BRL_EFORMAT, "corrupt agent file: %s", what);
}

static int read_config(const brl_container *c, brl_agent_config *cfg) {
  brl_reader r;
  if (!brl__container_find(c, "AGCF", &r))
    return brl__fail(BRL_EFORMAT,
                     "the file holds no agent (chunk AGCF); is it a bare "
                     "model file (one ensemble)? Those load as models");
  brl_agent_config_default(cfg, BRL_ALGO_PPO);
  size_t n = r.len;
  const char *p = (const char *)brl__rd_bytes(&r, n);
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && p[j] != '\n')
      j++;
    char line[160];
    if (j - i >= sizeof line || j == n)
      return corrupt("the configuration chunk is malformed");
    memcpy(line, p + i, j - i);
    line[j - i] = '\0';
    char *eq = strchr(line, '=');
    if (!eq)
      return corrupt("a configuration line has no '='");
    *eq = '\0';
    /* Version 0.1.0 wrote numbers in the host's locale ("gamma=0,99" under
     * de_DE); no value has a comma otherwise. */
    for (char *q = eq + 1; *q; q++)
      if (*q == ',')
        *q = '.';
    /* Keys of newer versions that this one does not know are an error: the
     * agent would not train the same way. */
    if (brl_agent_config_set(cfg, line, eq + 1))
      return brl__fail(BRL_EFORMAT,
                       "agent file: configuration '%.60s' cannot be read "
                       "(%s)",
                       line, brl_last_error());
    i = j + 1;
  }
  if (brl_agent_config_check(cfg))
    return brl__fail(BRL_EFORMAT, "agent file: invalid configuration (%s)",
                     brl_last_error());
  return BRL_OK;
}

static int read_space(const brl_container *c, brl_agent *a) {
  brl_reader r;
  if (!brl__container_find(c, "AGSP", &r))
    return corrupt("chunk AGSP is missing");
  uint32_t ver = brl__rd_u32(&r);
  if (!r.err && ver != AGENT_FILE_VERSION)
    return brl__fail(BRL_EFORMAT,
                     "agent file version %u is not supported (this library "
                     "reads version %u)",
                     ver, AGENT_FILE_VERSION);
  uint32_t od = brl__rd_u32(&r), kind = brl__rd_u32(&r), dim = brl__rd_u32(&r);
  if (r.err || od < 1 || od > (1u << 20) || kind > 2 || dim < 1 ||
      dim > BRL_MAX_ACTION_DIM)
    return corrupt("the spaces are out of range");
  a->obs_dim = (int)od;
  memset(&a->space, 0, sizeof a->space);
  a->space.struct_size = sizeof a->space;
  a->space.kind = (brl_space_kind)kind;
  a->space.dim = (int)dim;
  for (uint32_t j = 0; j < dim; j++) {
    uint32_t nv = brl__rd_u32(&r);
    a->space.nvec[j] = nv > 65536 ? 0 : (int)nv;
    a->space.low[j] = brl__rd_f32(&r);
    a->space.high[j] = brl__rd_f32(&r);
  }
  if (r.err || r.off != r.len)
    return corrupt("chunk AGSP has the wrong length");
  return BRL_OK;
}

static int read_state(const brl_container *c, brl_agent *a) {
  brl_reader r;
  if (!brl__container_find(c, "AGST", &r))
    return corrupt("chunk AGST is missing");
  const int E = a->cfg.n_envs;
  if (brl__rd_u64(&r) != a->seed)
    return corrupt("the seed does not match");
  for (int i = 0; i < 4; i++)
    a->rng.s[i] = brl__rd_u64(&r);
  a->timesteps = (int64_t)brl__rd_u64(&r);
  a->episodes = (int64_t)brl__rd_u64(&r);
  a->updates = (int64_t)brl__rd_u64(&r);
  a->total_timesteps = (int64_t)brl__rd_u64(&r);
  int bad = a->timesteps < 0 || a->episodes < 0 || a->updates < 0 ||
            a->total_timesteps < 0;
  for (int j = 0; j < BRL_MAX_ACTION_DIM; j++) {
    a->log_std[j] = brl__rd_f32(&r);
    a->adam.m[j] = brl__rd_f64(&r);
    a->adam.v[j] = brl__rd_f64(&r);
    bad |= !isfinite(a->log_std[j]) || !isfinite(a->adam.m[j]) ||
           !(a->adam.v[j] >= 0) || !isfinite(a->adam.v[j]);
  }
  a->adam.t = (int64_t)brl__rd_u64(&r);
  bad |= a->adam.t < 0;
  uint8_t has_scaler = brl__rd_u8(&r);
  if (has_scaler != (a->scaler ? 1 : 0))
    return corrupt("the reward scaler does not match the configuration");
  if (a->scaler) {
    brl_reward_scaler *s = a->scaler;
    s->gamma = brl__rd_f64(&r);
    s->epsilon = brl__rd_f64(&r);
    s->clip = brl__rd_f64(&r);
    s->ret_rms.mean = brl__rd_f64(&r);
    s->ret_rms.var = brl__rd_f64(&r);
    s->ret_rms.count = brl__rd_f64(&r);
    bad |= !isfinite(s->gamma) || !isfinite(s->epsilon) || !isfinite(s->clip) ||
           !isfinite(s->ret_rms.mean) || !(s->ret_rms.var >= 0) ||
           !isfinite(s->ret_rms.var) || !(s->ret_rms.count > 0) ||
           !isfinite(s->ret_rms.count);
    for (int e = 0; e < E; e++) {
      s->ret[e] = brl__rd_f64(&r);
      bad |= !isfinite(s->ret[e]);
    }
  }
  for (int e = 0; e < E; e++) {
    a->ep_ret[e] = brl__rd_f64(&r);
    a->ep_len[e] = (int64_t)brl__rd_u64(&r);
    bad |= !isfinite(a->ep_ret[e]) || a->ep_len[e] < 0;
  }
  uint32_t wn = brl__rd_u32(&r), wp = brl__rd_u32(&r);
  bad |= wn > BRL_EP_WINDOW || wp >= BRL_EP_WINDOW;
  a->win_n = (int)wn;
  a->win_pos = (int)wp;
  for (int i = 0; i < BRL_EP_WINDOW; i++) {
    a->win_ret[i] = brl__rd_f64(&r);
    a->win_len[i] = brl__rd_f64(&r);
  }
  if (r.err || r.off != r.len)
    return corrupt("chunk AGST has the wrong length");
  if (bad)
    return corrupt("the training state holds values out of range");
  return BRL_OK;
}

/* The loaded ensemble must have the layout the agent would create. */
static int check_model(const brl_model *loaded, const brl_model *fresh,
                       const char *which) {
  brl_params p, q;
  brl_model_params(loaded, &p);
  brl_model_params(fresh, &q);
  int ok = p.n_features == q.n_features &&
           p.n_cat_features == q.n_cat_features && p.n_groups == q.n_groups &&
           p.max_depth == q.max_depth;
  for (int g = 0; ok && g < p.n_groups; g++)
    ok = p.groups[g].n_outputs == q.groups[g].n_outputs;
  if (!ok)
    return brl__fail(BRL_EFORMAT,
                     "corrupt agent file: the %s ensemble does not fit the "
                     "agent's spaces and configuration",
                     which);
  return BRL_OK;
}

static int swap_model(brl_model **slot, const brl_container *c,
                      const char *prefix, const char *which) {
  brl_model *m;
  int rc = brl__model_read_chunks(c, prefix, &m);
  if (rc)
    return rc;
  if ((rc = check_model(m, *slot, which))) {
    brl_model_free(&m);
    return rc;
  }
  brl_model_free(slot);
  *slot = m;
  return BRL_OK;
}

/* The agent's arrays follow obs_dim and n_envs: check those against the
 * bytes that hold them (a weight per feature in the policy ensemble; an
 * episode's return and length per env copy) before creating the agent, so
 * a few bytes cannot make the loader allocate gigabytes. The rollout and
 * replay buffers, which follow the configuration (n_steps, buffer_size),
 * are allocated when first used: loading holds only the transitions the
 * file has. */
static int check_sizes(const brl_container *c, const brl_agent_config *cfg,
                       int obs_dim) {
  brl_reader r;
  if (!brl__container_find(c, "M0BI", &r) || r.len < 4 * (size_t)obs_dim)
    return brl__fail(BRL_EFORMAT,
                     "corrupt agent file: obs_dim is %d, but the policy "
                     "ensemble's chunk M0BI holds %zu bytes, not a weight "
                     "per feature",
                     obs_dim, r.len);
  if (!brl__container_find(c, "AGST", &r) || r.len < 16 * (size_t)cfg->n_envs)
    return brl__fail(BRL_EFORMAT,
                     "corrupt agent file: n_envs is %d, but chunk AGST holds "
                     "%zu bytes, fewer than 16 per env copy",
                     cfg->n_envs, r.len);
  return BRL_OK;
}

int brl_agent_load_buffer(const void *buf, size_t len, brl_agent **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(buf);
  brl_container c;
  int rc = brl__container_open(buf, len, &c);
  if (rc)
    return rc;
  brl_agent_config cfg;
  brl_agent tmp;
  memset(&tmp, 0, sizeof tmp);
  if ((rc = read_config(&c, &cfg)) || (rc = read_space(&c, &tmp)) ||
      (rc = check_sizes(&c, &cfg, tmp.obs_dim)))
    return rc;
  /* Files do not depend on the device: one trained on a GPU loads on a
   * machine without one (as a cpu agent). */
  if (cfg.device == BRL_DEVICE_CUDA && !brl_backend_available(BRL_BACKEND_CUDA))
    cfg.device = BRL_DEVICE_CPU;
  brl_reader r;
  if (!brl__container_find(&c, "AGST", &r) || r.len < 8)
    return corrupt("chunk AGST is missing");
  uint64_t seed = brl__rd_u64(&r);
  brl_agent *a;
  if ((rc = brl_agent_create(&cfg, tmp.obs_dim, &tmp.space, seed, &a)))
    return rc == BRL_ENOMEM
               ? rc
               : brl__fail(BRL_EFORMAT, "agent file: %s", brl_last_error());
  if ((rc = read_state(&c, a)) ||
      (rc = swap_model(&a->pi, &c, "M0", "policy")) ||
      (a->vf && (rc = swap_model(&a->vf, &c, "M1", "value"))) ||
      (rc = brl__agent_apply_device(a)) ||
      (brl__off_policy(a) && (rc = read_replay(&c, a)))) {
    brl_agent_free(&a);
    return rc;
  }
  *out = a;
  return BRL_OK;
}

static int parse_agent(const void *buf, size_t len, void *out) {
  return brl_agent_load_buffer(buf, len, out);
}

int brl_agent_load(const char *path, brl_agent **out) {
  BRL_CHECK_ARG(out);
  *out = NULL;
  BRL_CHECK_ARG(path);
  return brl__load_file(path, parse_agent, out);
}
