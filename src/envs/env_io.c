/* Saving and restoring a vector env's episodes (state, time step and
 * generator of every copy), so that a resumed training run continues the
 * same episodes with the same random draws. One container chunk "ENV0":
 * id, n_envs, state_dim, then per copy: started, elapsed, state doubles,
 * generator words. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/container.h"
#include "core/error.h"
#include "envs/env_internal.h"

#define ENV_ID_MAX 64

/* An env buffer's container and the ENV0 chunk's header for n copies of
 * d; the copies' records follow. */
static void begin(brl_buf *b, const brl_env_def *d, uint32_t n) {
  brl__container_begin(b);
  brl__chunk_begin(b, "ENV0");
  const size_t idn = strlen(d->id);
  brl__buf_u32(b, (uint32_t)idn);
  brl__buf_bytes(b, d->id, idn);
  brl__buf_u32(b, n);
  brl__buf_u32(b, (uint32_t)d->state_dim);
}

int brl_env_save_buffer(const brl_env *e, void **buf, size_t *len) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(buf);
  BRL_CHECK_ARG(len);
  *buf = NULL;
  *len = 0;
  const brl_env_def *d = e->def;
  brl_buf b;
  begin(&b, d, (uint32_t)e->n_envs);
  for (int i = 0; i < e->n_envs; i++) {
    brl__buf_u8(&b, e->started[i]);
    brl__buf_u32(&b, (uint32_t)e->elapsed[i]);
    for (int j = 0; j < d->state_dim; j++)
      brl__buf_f64(&b, e->state[(size_t)i * d->state_dim + j]);
    for (int j = 0; j < 4; j++)
      brl__buf_u64(&b, e->rng[i].s[j]);
  }
  brl__chunk_end(&b);
  int rc = brl__container_finish(&b);
  if (rc)
    return rc;
  *buf = b.data;
  *len = b.len;
  return BRL_OK;
}

int brl_env_load_buffer(brl_env *e, const void *buf, size_t len) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(buf);
  const brl_env_def *d = e->def;
  brl_container c;
  brl_reader r;
  int rc = brl__container_open(buf, len, &c);
  if (rc)
    return rc;
  if (!brl__container_find(&c, "ENV0", &r))
    return brl__fail(BRL_EFORMAT, "not an env file: no ENV0 chunk");
  const uint32_t idn = brl__rd_u32(&r);
  const uint8_t *id = idn <= ENV_ID_MAX ? brl__rd_bytes(&r, idn) : NULL;
  if (!id || idn != strlen(d->id) || memcmp(id, d->id, idn) != 0)
    return brl__fail(BRL_EINVAL,
                     "the env file holds another environment than this %s",
                     d->id);
  const uint32_t n = brl__rd_u32(&r), sd = brl__rd_u32(&r);
  if (r.err || n != (uint32_t)e->n_envs || sd != (uint32_t)d->state_dim)
    return brl__fail(BRL_EINVAL,
                     "the env file holds %u copies of %u doubles; this %s "
                     "has %d of %d",
                     n, sd, d->id, e->n_envs, d->state_dim);
  /* Read everything and check it before changing e. */
  const size_t per = 1 + 4 + 8 * (size_t)sd + 32;
  if (r.len - r.off != (size_t)n * per)
    return brl__fail(BRL_EFORMAT,
                     "the env file's ENV0 chunk has %zu bytes "
                     "of copies, expected %zu",
                     r.len - r.off, (size_t)n * per);
  brl_reader chk = r;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t started = brl__rd_u8(&chk);
    const uint32_t elapsed = brl__rd_u32(&chk);
    int bad = started > 1 || elapsed >= (uint32_t)d->max_episode_steps;
    for (uint32_t j = 0; j < sd; j++)
      bad |= !isfinite(brl__rd_f64(&chk));
    uint64_t any = 0;
    for (int j = 0; j < 4; j++)
      any |= brl__rd_u64(&chk);
    if (bad || any == 0)
      return brl__fail(BRL_EFORMAT,
                       "the env file's copy %u is invalid (time step, state "
                       "or generator)",
                       i);
  }
  for (uint32_t i = 0; i < n; i++) {
    e->started[i] = brl__rd_u8(&r);
    e->elapsed[i] = (int)brl__rd_u32(&r);
    for (uint32_t j = 0; j < sd; j++)
      e->state[(size_t)i * sd + j] = brl__rd_f64(&r);
    for (int j = 0; j < 4; j++)
      e->rng[i].s[j] = brl__rd_u64(&r);
  }
  return BRL_OK;
}

int brl_env_observe(const brl_env *e, float *obs) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(obs);
  const brl_env_def *d = e->def;
  for (int i = 0; i < e->n_envs; i++) {
    if (!e->started[i])
      return brl__fail(BRL_ESTATE,
                       "brl_env_observe: copy %d of %s has no episode yet: "
                       "reset the env first",
                       i, d->id);
    d->obs(e->state + (size_t)i * d->state_dim, obs + (size_t)i * d->obs_dim);
  }
  return BRL_OK;
}

int brl_env_save(const brl_env *e, const char *path) {
  BRL_CHECK_ARG(path);
  void *buf = NULL;
  size_t len = 0;
  const int rc = brl_env_save_buffer(e, &buf, &len);
  return brl__write_owned(path, rc, buf, len);
}

static int parse_env(const void *buf, size_t len, void *e) {
  return brl_env_load_buffer(e, buf, len);
}

int brl_env_load(brl_env *e, const char *path) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(path);
  return brl__load_file(path, parse_env, e);
}

/* The copies' records of an env buffer (after the chunk's header), checked
 * against e's id and state size; *n the number of copies. */
static int records(const brl_env *e, const void *buf, size_t len,
                   brl_reader *out, uint32_t *n) {
  const brl_env_def *d = e->def;
  brl_container c;
  int rc = brl__container_open(buf, len, &c);
  if (rc)
    return rc;
  if (!brl__container_find(&c, "ENV0", out))
    return brl__fail(BRL_EFORMAT, "not an env file: no ENV0 chunk");
  const uint32_t idn = brl__rd_u32(out);
  const uint8_t *id = idn <= ENV_ID_MAX ? brl__rd_bytes(out, idn) : NULL;
  if (!id || idn != strlen(d->id) || memcmp(id, d->id, idn) != 0)
    return brl__fail(BRL_EINVAL,
                     "the env file holds another environment than this %s",
                     d->id);
  *n = brl__rd_u32(out);
  const uint32_t sd = brl__rd_u32(out);
  const size_t per = 1 + 4 + 8 * (size_t)d->state_dim + 32;
  if (out->err || sd != (uint32_t)d->state_dim ||
      out->len - out->off != (size_t)*n * per)
    return brl__fail(BRL_EFORMAT,
                     "the env file's ENV0 chunk does not hold %u copies of "
                     "%d doubles of %s",
                     *n, d->state_dim, d->id);
  return BRL_OK;
}

/* An env buffer of id's n copies from their records. */
static int build(const brl_env *e, uint32_t n, const void *recs, size_t bytes,
                 void **buf, size_t *len) {
  brl_buf b;
  begin(&b, e->def, n);
  brl__buf_bytes(&b, recs, bytes);
  brl__chunk_end(&b);
  int rc = brl__container_finish(&b);
  if (rc)
    return rc;
  *buf = b.data;
  *len = b.len;
  return BRL_OK;
}

int brl_env_save_buffer_comm(const brl_env *e, brl_comm *c, void **buf,
                             size_t *len) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(c);
  BRL_CHECK_ARG(buf);
  BRL_CHECK_ARG(len);
  *buf = NULL;
  *len = 0;
  const int size = brl_comm_size(c);
  const size_t per = 1 + 4 + 8 * (size_t)e->def->state_dim + 32;
  void *mine = NULL, *all = NULL;
  size_t mine_len = 0;
  brl_reader r = {0};
  uint32_t n = 0;
  int64_t *counts = calloc((size_t)size, sizeof *counts);
  int64_t *copies = calloc((size_t)size, sizeof *copies);
  int rc = counts && copies ? BRL_OK
                            : brl__fail(BRL_ENOMEM,
                                        "out of memory saving an env of %d "
                                        "ranks",
                                        size);
  if (!rc)
    rc = brl_env_save_buffer(e, &mine, &mine_len);
  if (!rc)
    rc = records(e, mine, mine_len, &r, &n);
  /* Every rank's number of copies, then their records. */
  if (!rc)
    copies[brl_comm_rank(c)] = n;
  rc = brl_comm_agree(c, rc);
  if (!rc)
    rc = brl_comm_allreduce_sum_i64(c, copies, size);
  int64_t total = 0;
  for (int k = 0; !rc && k < size; k++) {
    counts[k] = copies[k] * (int64_t)per;
    total += copies[k];
  }
  if (!rc && !(all = malloc((size_t)total * per + 1)))
    rc = brl__fail(BRL_ENOMEM, "out of memory saving %lld env copies",
                   (long long)total);
  rc = brl_comm_agree(c, rc);
  if (!rc)
    rc = brl_comm_allgatherv(c, r.p + r.off, all, counts);
  if (!rc)
    rc = build(e, (uint32_t)total, all, (size_t)total * per, buf, len);
  free(mine);
  free(all);
  free(counts);
  free(copies);
  return rc;
}

int brl_env_load_buffer_range(brl_env *e, const void *buf, size_t len,
                              int first) {
  BRL_CHECK_ARG(e);
  BRL_CHECK_ARG(buf);
  brl_reader r;
  uint32_t n;
  int rc = records(e, buf, len, &r, &n);
  if (rc)
    return rc;
  if (first < 0 || (int64_t)first + e->n_envs > (int64_t)n)
    return brl__fail(BRL_EINVAL,
                     "the env file holds %u copies of %s; copies %d to %d "
                     "were asked for: load it with the n_envs it was saved "
                     "with",
                     n, e->def->id, first, first + e->n_envs - 1);
  const size_t per = 1 + 4 + 8 * (size_t)e->def->state_dim + 32;
  void *part = NULL;
  size_t part_len = 0;
  rc = build(e, (uint32_t)e->n_envs, r.p + r.off + (size_t)first * per,
             (size_t)e->n_envs * per, &part, &part_len);
  if (!rc)
    rc = brl_env_load_buffer(e, part, part_len);
  free(part);
  return rc;
}
