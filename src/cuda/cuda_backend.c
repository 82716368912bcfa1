/* The CUDA backend: host glue between the engine's backend table and the
 * kernels of grow.cu and predict.cu.
 *
 * Per batch (brl_batch.dev): one device arena, allocated at the batch's
 * first step and reused by every later step (no cudaMalloc per step), that
 * holds the batch's bin codes (uploaded once), the fixed-point gradients,
 * the node histograms, positions and the results; a pinned host mirror of
 * the part that moves each step; a stream. A step is one host-to-device
 * copy (gradients, rows and parameters), 3 x depth + 3 kernel launches, one
 * device-to-host copy of the tree (and of the leaf of every batch row when
 * the batch's prediction cache is live) and one synchronisation.
 *
 * The engine owns the step's pipeline (engine/pipeline.h): this file calls
 * its gradient transform (brl__grad_columns: the column means, deviations,
 * weights and leaf scales the kernels apply), and hands the device's
 * decisions and exact integer leaf sums to brl__tree_assemble, the code
 * that stores the CPU's trees, so the stored trees are the CPU's bit for
 * bit.
 *
 * The prediction cache: when the engine asks for them, the step's kernels
 * compute the leaf of every batch row and grow_tree returns them; the
 * engine adds their values (brl__cache_add_last). predict_add runs the
 * prediction kernel over a device copy of X, identical bit for bit to the
 * CPU's. */
#include "backend/backend.h"
#include "core/error.h"
#include "cuda/cuda_internal.h"
#include "engine/batch.h"
#include "engine/model.h"
#include "engine/pipeline.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SMEM (48 * 1024) /* shared memory of a histogram tile */
#define LEAF_SMEM (48 * 1024) /* leaf sums in shared memory up to this */
/* A histogram slice in shared memory (the split kernels' static shared
 * memory, up to 14 KB, comes on top: 48 KB in all without opt-in). */
#define SLICE_SMEM (32 * 1024)
#define PRED_SMEM (16 * 1024)  /* trees staged per prediction chunk */
#define STAGE_SMEM (48 * 1024) /* features staged per prediction block */
/* Prediction work (rows x trees) below which the CPU answers sooner. */
#define PRED_MIN_WORK 65536.0

/* ------------------------------------------------------------- device */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int dev_ok, dev_sms = 1, hist_smem = HIST_SMEM;
static char dev_msg[256];

static void probe(void) {
  int n = 0, dev = 0, major = 0, minor = 0, optin = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n < 1) {
    snprintf(dev_msg, sizeof dev_msg, "no CUDA device is usable (%s)",
             e != cudaSuccess ? cudaGetErrorString(e) : "none found");
    cudaGetLastError();
    return;
  }
  if ((e = cudaGetDevice(&dev)) != cudaSuccess ||
      (e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor,
                                  dev)) != cudaSuccess ||
      (e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor,
                                  dev)) != cudaSuccess ||
      (e = cudaDeviceGetAttribute(&dev_sms, cudaDevAttrMultiProcessorCount,
                                  dev)) != cudaSuccess ||
      (e = cudaDeviceGetAttribute(&optin,
                                  cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                  dev)) != cudaSuccess) {
    snprintf(dev_msg, sizeof dev_msg, "querying CUDA device %d failed: %s", dev,
             cudaGetErrorString(e));
    cudaGetLastError();
    return;
  }
  if (major < 8) {
    snprintf(dev_msg, sizeof dev_msg,
             "CUDA device %d has compute capability %d.%d: the CUDA backend "
             "needs 8.0 or newer",
             dev, major, minor);
    return;
  }
  if (optin > 0 && optin < hist_smem)
    hist_smem = optin;
  if ((e = (cudaError_t)brl__cu_grow_init(hist_smem)) != cudaSuccess ||
      (e = (cudaError_t)brl__cu_predict_init(PRED_SMEM + STAGE_SMEM)) !=
          cudaSuccess) {
    snprintf(dev_msg, sizeof dev_msg,
             "the CUDA kernels cannot run on device %d: %s", dev,
             cudaGetErrorString(e));
    cudaGetLastError();
    return;
  }
  dev_ok = 1;
}

static int cu_status(cudaError_t e) {
  switch (e) {
  case cudaErrorMemoryAllocation:
    return BRL_ENOMEM;
  case cudaErrorNoDevice:
  case cudaErrorInsufficientDriver:
  case cudaErrorNoKernelImageForDevice:
  case cudaErrorInvalidDevice:
    return BRL_EUNSUPPORTED;
  default:
    return BRL_ESTATE;
  }
}

static int cu_fail(cudaError_t e, const char *what) {
  return brl__fail(cu_status(e), "CUDA error while %s: %s (%s)", what,
                   cudaGetErrorName(e), cudaGetErrorString(e));
}

#define CU(call, what)                                                         \
  do {                                                                         \
    cudaError_t e_ = (call);                                                   \
    if (e_ != cudaSuccess)                                                     \
      return cu_fail(e_, what);                                                \
  } while (0)

/* ------------------------------------------------------- batch state */

/* Offsets into the device arena. [0, xfer_end) is mirrored in pinned host
 * memory: results in [0, ctl_end) come back after a step, inputs in
 * [ctl, grad + n K) go up before it. */
typedef struct cu_layout {
  size_t dec_gain, leaf_sum, leaf_cnt, rscale, dec_feat, dec_bin, dec_dl,
      dec_split, ctl, rmax, ctl_end;
  size_t mean, sd, wk, rs_in, fw, rows, grad, xfer_end;
  size_t codes, hoff, nbins, tiles, qgrad, qraw, pos[2], nid, hist[2], state[2],
      kind[2], begin[2], end[2], cursor, node_tot, rec_score, rec_key, rec_nl,
      items, leaf16, total;
} cu_layout;

typedef struct cu_batch {
  cudaStream_t stream;
  int64_t N;
  int K, maxd;
  unsigned char *dmem; /* device arena */
  size_t dsize;
  unsigned char *hmem; /* pinned mirror of [0, xfer_end) */
  size_t hsize;
  uint16_t *leaf_host; /* pinned, N: leaf of each row in the last tree */
  size_t lsize;
  double *gain; /* 2^maxd: the greedy gains as the CPU rounds them */
  cu_layout o;
  brl_cu_grow g; /* device pointers and fixed shapes */
} cu_batch;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
/* The resources of the last freed batch, reused by the next one (RL makes
 * one batch per update phase). Guarded by reg_mu. */
static struct {
  unsigned char *dmem, *hmem;
  uint16_t *leaf_host;
  size_t dsize, hsize, lsize;
  cudaStream_t stream;
  int has_stream;
} pool;

static size_t take(size_t *off, size_t bytes) {
  size_t o = (*off + 255) & ~(size_t)255;
  *off = o + bytes;
  return o;
}

static void layout(cu_layout *o, int64_t N, int d, int K, int maxd, int64_t H,
                   int n_tiles, int64_t n_items) {
  const size_t NL = (size_t)1 << maxd, NH = (size_t)1 << (maxd - 1);
  const size_t S = (size_t)K + 1, n = (size_t)N, kk = (size_t)K;
  size_t off = 0;
  o->dec_gain = take(&off, NL * sizeof(double));
  o->leaf_sum = take(&off, NL * kk * sizeof(int64_t));
  o->leaf_cnt = take(&off, NL * sizeof(int64_t));
  o->rscale = take(&off, kk * sizeof(double));
  o->dec_feat = take(&off, NL * sizeof(int32_t));
  o->dec_bin = take(&off, NL * sizeof(int32_t));
  o->dec_dl = take(&off, NL);
  o->dec_split = take(&off, NL);
  o->ctl = take(&off, sizeof(brl_cu_ctl));
  o->rmax = take(&off, kk * sizeof(uint32_t));
  o->ctl_end = off;
  o->mean = take(&off, kk * sizeof(double));
  o->sd = take(&off, kk * sizeof(double));
  o->wk = take(&off, kk * sizeof(double));
  o->rs_in = take(&off, kk * sizeof(double));
  o->fw = take(&off, (size_t)d * sizeof(float));
  o->rows = take(&off, n * sizeof(int32_t));
  o->grad = take(&off, n * kk * sizeof(float));
  o->xfer_end = off;
  o->codes = take(&off, n * (size_t)d);
  o->hoff = take(&off, ((size_t)d + 1) * sizeof(int64_t));
  o->nbins = take(&off, (size_t)d * sizeof(int16_t));
  o->tiles = take(&off, (size_t)n_tiles * 4 * sizeof(int32_t));
  o->qgrad = take(&off, n * kk * sizeof(int64_t));
  o->qraw = take(&off, n * kk * sizeof(int64_t));
  for (int i = 0; i < 2; i++) {
    o->pos[i] = take(&off, n * sizeof(int32_t));
    o->hist[i] = take(&off, NH * (size_t)H * sizeof(int64_t));
    o->state[i] = take(&off, NL);
    o->kind[i] = take(&off, NL);
    o->begin[i] = take(&off, NL * sizeof(int32_t));
    o->end[i] = take(&off, NL * sizeof(int32_t));
  }
  o->nid = take(&off, n * sizeof(int32_t));
  o->cursor = take(&off, NL * sizeof(int32_t));
  o->node_tot = take(&off, NH * S * sizeof(int64_t));
  o->rec_score = take(&off, NH * (size_t)d * sizeof(double));
  o->rec_key = take(&off, NH * (size_t)d * sizeof(int32_t));
  o->rec_nl = take(&off, NH * (size_t)d * sizeof(int64_t));
  o->items = take(&off, (size_t)n_items * 3 * sizeof(int32_t));
  o->leaf16 = take(&off, n * sizeof(uint16_t));
  o->total = off;
}

/* Histogram tiles: features [f0, f1) x columns [s0, s1) whose slots fit
 * in `budget` bytes of shared memory. Returns the number of tiles. */
static int make_tiles(const brl_batch *b, int S, int budget, int32_t *tiles,
                      int *max_bytes) {
  const int cols = budget / (BRL_MAX_BINS * (int)sizeof(int64_t));
  int nt = 0;
  *max_bytes = 0;
  if (S <= cols) {
    for (int f0 = 0; f0 < b->d;) {
      int f1 = f0 + 1;
      while (f1 < b->d &&
             (b->hoff[f1 + 1] - b->hoff[f0]) * S * 8 <= (int64_t)budget)
        f1++;
      int bytes = (int)((b->hoff[f1] - b->hoff[f0]) * S * 8);
      *max_bytes = bytes > *max_bytes ? bytes : *max_bytes;
      int32_t *t = tiles + 4 * nt++;
      t[0] = f0, t[1] = f1, t[2] = 0, t[3] = S;
      f0 = f1;
    }
    return nt;
  }
  for (int f = 0; f < b->d; f++)
    for (int s0 = 0; s0 < S; s0 += cols) {
      int s1 = s0 + cols < S ? s0 + cols : S;
      int bytes = (int)((b->hoff[f + 1] - b->hoff[f]) * (s1 - s0) * 8);
      *max_bytes = bytes > *max_bytes ? bytes : *max_bytes;
      int32_t *t = tiles + 4 * nt++;
      t[0] = f, t[1] = f + 1, t[2] = s0, t[3] = s1;
    }
  return nt;
}

static void release(cu_batch *cb) {
  /* Called with reg_mu held. Keeps the larger of each resource. */
  if (cb->stream) {
    cudaStreamSynchronize(cb->stream);
    if (!pool.has_stream) {
      pool.stream = cb->stream;
      pool.has_stream = 1;
    } else {
      cudaStreamDestroy(cb->stream);
    }
  }
  if (cb->dmem) {
    if (cb->dsize >= pool.dsize) {
      cudaFree(pool.dmem);
      pool.dmem = cb->dmem;
      pool.dsize = cb->dsize;
    } else {
      cudaFree(cb->dmem);
    }
  }
  if (cb->hmem) {
    if (cb->hsize >= pool.hsize) {
      cudaFreeHost(pool.hmem);
      pool.hmem = cb->hmem;
      pool.hsize = cb->hsize;
    } else {
      cudaFreeHost(cb->hmem);
    }
  }
  if (cb->leaf_host) {
    if (cb->lsize >= pool.lsize) {
      cudaFreeHost(pool.leaf_host);
      pool.leaf_host = cb->leaf_host;
      pool.lsize = cb->lsize;
    } else {
      cudaFreeHost(cb->leaf_host);
    }
  }
  cudaGetLastError();
}

static void cu_batch_free(void *p) {
  cu_batch *cb = p;
  if (!cb)
    return;
  pthread_mutex_lock(&reg_mu);
  release(cb);
  pthread_mutex_unlock(&reg_mu);
  free(cb->gain);
  free(cb);
}

/* Takes the pooled resources that are large enough, allocates the rest. */
static cudaError_t acquire(cu_batch *cb, size_t dsize, size_t hsize,
                           size_t lsize) {
  cudaError_t e = cudaSuccess;
  pthread_mutex_lock(&reg_mu);
  if (pool.has_stream) {
    cb->stream = pool.stream;
    pool.has_stream = 0;
  }
  if (pool.dmem && pool.dsize >= dsize) {
    cb->dmem = pool.dmem, cb->dsize = pool.dsize;
    pool.dmem = NULL, pool.dsize = 0;
  }
  if (pool.hmem && pool.hsize >= hsize) {
    cb->hmem = pool.hmem, cb->hsize = pool.hsize;
    pool.hmem = NULL, pool.hsize = 0;
  }
  if (pool.leaf_host && pool.lsize >= lsize) {
    cb->leaf_host = pool.leaf_host, cb->lsize = pool.lsize;
    pool.leaf_host = NULL, pool.lsize = 0;
  }
  pthread_mutex_unlock(&reg_mu);
  if (!cb->stream)
    e = cudaStreamCreateWithFlags(&cb->stream, cudaStreamNonBlocking);
  if (e == cudaSuccess && !cb->dmem) {
    /* Free the pooled arena first: it was too small. */
    pthread_mutex_lock(&reg_mu);
    cudaFree(pool.dmem);
    pool.dmem = NULL, pool.dsize = 0;
    pthread_mutex_unlock(&reg_mu);
    e = cudaMalloc((void **)&cb->dmem, dsize);
    if (e == cudaSuccess)
      cb->dsize = dsize;
  }
  if (e == cudaSuccess && !cb->hmem) {
    e = cudaMallocHost((void **)&cb->hmem, hsize);
    if (e == cudaSuccess)
      cb->hsize = hsize;
  }
  if (e == cudaSuccess && !cb->leaf_host) {
    e = cudaMallocHost((void **)&cb->leaf_host, lsize);
    if (e == cudaSuccess)
      cb->lsize = lsize;
  }
  return e;
}

static int cu_batch_make(const brl_model *m, const brl_batch *b,
                         cu_batch **out) {
  const int d = b->d, K = b->K, S = K + 1, maxd = m->p.max_depth;
  const int64_t N = b->n, H = b->hslots * S;
  const int cols = hist_smem / (BRL_MAX_BINS * 8);
  const int tile_cap = d * ((S + cols - 1) / cols) + 1;
  int32_t *tiles = malloc((size_t)tile_cap * 4 * sizeof(int32_t));
  cu_batch *cb = calloc(1, sizeof *cb);
  double *gain = malloc(((size_t)1 << maxd) * sizeof(double));
  if (!tiles || !cb || !gain) {
    free(tiles);
    free(cb);
    free(gain);
    return brl__fail(BRL_ENOMEM, "out of memory for the CUDA batch state");
  }
  int tile_smem = 0;
  const int n_tiles = make_tiles(b, S, hist_smem, tiles, &tile_smem);
  cb->gain = gain;
  if (n_tiles > 65535) {
    free(tiles);
    free(gain);
    free(cb);
    return brl__fail(BRL_EUNSUPPORTED,
                     "the CUDA backend handles at most 65535 histogram tiles; "
                     "%d features x %d outputs need %d",
                     d, K, n_tiles);
  }
  /* Rows per histogram block: about 4 blocks per multiprocessor at the
   * root. */
  int64_t chunk = N * n_tiles / (4 * (int64_t)dev_sms);
  chunk = chunk < 1024 ? 1024 : chunk;
  chunk = (chunk + 255) / 256 * 256;
  const int64_t NH = (int64_t)1 << (maxd - 1);
  const int64_t n_items = N / chunk + NH + 2;
  layout(&cb->o, N, d, K, maxd, H, n_tiles, n_items);
  const cu_layout *o = &cb->o;
  cudaError_t e =
      acquire(cb, o->total, o->xfer_end, (size_t)N * sizeof(uint16_t));
  if (e != cudaSuccess) {
    free(tiles);
    cu_batch_free(cb);
    return cu_fail(e, "allocating device memory for a batch");
  }
  unsigned char *D = cb->dmem;
  /* Upload the batch once. */
  if ((e = cudaMemcpyAsync(D + o->codes, b->codes, (size_t)N * (size_t)d,
                           cudaMemcpyHostToDevice, cb->stream)) ||
      (e = cudaMemcpyAsync(D + o->hoff, b->hoff,
                           ((size_t)d + 1) * sizeof(int64_t),
                           cudaMemcpyHostToDevice, cb->stream)) ||
      (e = cudaMemcpyAsync(D + o->nbins, b->nbins, (size_t)d * sizeof(int16_t),
                           cudaMemcpyHostToDevice, cb->stream)) ||
      (e = cudaMemcpyAsync(D + o->tiles, tiles,
                           (size_t)n_tiles * 4 * sizeof(int32_t),
                           cudaMemcpyHostToDevice, cb->stream)) ||
      (e = cudaStreamSynchronize(cb->stream))) {
    free(tiles);
    cu_batch_free(cb);
    return cu_fail(e, "copying a batch to the device");
  }
  free(tiles);
  cb->N = N;
  cb->K = K;
  cb->maxd = maxd;
  brl_cu_grow *g = &cb->g;
  g->N = (int)N;
  g->d = d;
  g->D = b->D;
  g->K = K;
  g->S = S;
  g->chunk = (int)chunk;
  g->n_tiles = n_tiles;
  g->tile_smem = tile_smem;
  g->slice_smem = BRL_MAX_BINS * S * 8 <= SLICE_SMEM ? BRL_MAX_BINS * S * 8 : 0;
  g->H = H;
  g->codes = (const uint8_t *)(D + o->codes);
  g->hoff = (const int64_t *)(D + o->hoff);
  g->nbins = (const int16_t *)(D + o->nbins);
  g->tiles = (const int32_t *)(D + o->tiles);
  g->rows = (const int32_t *)(D + o->rows);
  g->grad = (const float *)(D + o->grad);
  g->mean = (const double *)(D + o->mean);
  g->sd = (const double *)(D + o->sd);
  g->wk = (const double *)(D + o->wk);
  g->rs_in = (const double *)(D + o->rs_in);
  g->fw = (const float *)(D + o->fw);
  g->qgrad = (long long *)(D + o->qgrad);
  g->qraw = (long long *)(D + o->qraw);
  for (int i = 0; i < 2; i++) {
    g->pos[i] = (int32_t *)(D + o->pos[i]);
    g->hist[i] = (long long *)(D + o->hist[i]);
    g->state[i] = D + o->state[i];
    g->kind[i] = D + o->kind[i];
    g->begin[i] = (int32_t *)(D + o->begin[i]);
    g->end[i] = (int32_t *)(D + o->end[i]);
  }
  g->nid = (int32_t *)(D + o->nid);
  g->cursor = (int32_t *)(D + o->cursor);
  g->node_tot = (long long *)(D + o->node_tot);
  g->rec_score = (double *)(D + o->rec_score);
  g->rec_key = (int32_t *)(D + o->rec_key);
  g->rec_nl = (long long *)(D + o->rec_nl);
  g->items = (int32_t *)(D + o->items);
  g->leaf16 = (uint16_t *)(D + o->leaf16);
  g->ctl = (brl_cu_ctl *)(D + o->ctl);
  g->rmax_bits = (uint32_t *)(D + o->rmax);
  g->rscale = (double *)(D + o->rscale);
  g->dec_feat = (int32_t *)(D + o->dec_feat);
  g->dec_bin = (int32_t *)(D + o->dec_bin);
  g->dec_dl = D + o->dec_dl;
  g->dec_split = D + o->dec_split;
  g->dec_gain = (double *)(D + o->dec_gain);
  g->leaf_cnt = (long long *)(D + o->leaf_cnt);
  g->leaf_sum = (long long *)(D + o->leaf_sum);
  *out = cb;
  return BRL_OK;
}

static int cu_batch_get(const brl_model *m, brl_batch *b, cu_batch **out) {
  cu_batch *cb = b->dev;
  if (cb && cb->maxd >= m->p.max_depth && cb->K == b->K) {
    *out = cb;
    return BRL_OK;
  }
  if (b->dev_free)
    b->dev_free(b->dev);
  b->dev = NULL;
  b->dev_free = NULL;
  int rc = cu_batch_make(m, b, &cb);
  if (rc)
    return rc;
  b->dev = cb;
  b->dev_free = cu_batch_free;
  *out = cb;
  return BRL_OK;
}

/* --------------------------------------------------------------- grow */

static int cuda_prepare(const brl_model *m, brl_batch *b, int64_t n) {
  (void)n; /* the arena holds every row of the batch */
  cu_batch *cb;
  return cu_batch_get(m, b, &cb);
}

static int cuda_grow_tree(brl_model *m, brl_batch *b, const int32_t *rows,
                          int64_t n, const float *grads, float progress,
                          const uint16_t **leaves) {
  if (leaves)
    *leaves = NULL;
  cu_batch *cb;
  int rc = cu_batch_get(m, b, &cb);
  if (rc)
    return rc;
  const int K = m->n_outputs, d = b->d;
  const int greedy = m->p.grow_policy == BRL_GROW_GREEDY;
  const int l2 = m->p.split_score == BRL_SCORE_L2;
  const int adam = m->p.optimizer == BRL_OPTIMIZER_ADAM;
  const cu_layout *o = &cb->o;
  unsigned char *h = cb->hmem, *D = cb->dmem;
  /* Leaves of every batch row, when the engine's cache wants them. */
  const int want = leaves && !adam;

  /* The engine's transform of the columns; the kernels apply it. */
  brl_grad_xform *x = &b->xform;
  if ((rc = brl__grad_columns(m, NULL, grads, n, x)))
    return rc;
  brl_cu_ctl *ctl = (brl_cu_ctl *)(h + o->ctl);
  memset(ctl, 0, sizeof *ctl);
  memset(h + o->rmax, 0, (size_t)K * sizeof(uint32_t));
  memcpy(h + o->mean, x->mean, (size_t)K * sizeof(double));
  memcpy(h + o->sd, x->sd, (size_t)K * sizeof(double));
  memcpy(h + o->wk, x->wk, (size_t)K * sizeof(double));
  memcpy(h + o->rs_in, x->rscale, (size_t)K * sizeof(double));
  memcpy(h + o->fw, m->feature_weights, (size_t)d * sizeof(float));
  if (rows)
    memcpy(h + o->rows, rows, (size_t)n * sizeof(int32_t));
  memcpy(h + o->grad, grads, (size_t)n * (size_t)K * sizeof(float));
  const size_t up_end = o->grad + (size_t)n * (size_t)K * sizeof(float);
  CU(cudaMemcpyAsync(D + o->ctl, h + o->ctl, up_end - o->ctl,
                     cudaMemcpyHostToDevice, cb->stream),
     "copying gradients to the device");
  brl_cu_grow g = cb->g;
  g.n = (int)n;
  g.maxd = m->p.max_depth;
  g.l2 = l2;
  g.greedy = greedy;
  g.min_leaf = m->p.min_data_in_leaf;
  g.use_rows = rows != NULL;
  g.want_leaves = want;
  const int64_t nl_max = (int64_t)1 << g.maxd;
  g.leaf_smem =
      nl_max * (K + 1) * 8 <= LEAF_SMEM ? (int)(nl_max * (K + 1) * 8) : 0;
  cudaError_t le = (cudaError_t)brl__cu_grow_launch(&g, cb->stream);
  if (le != cudaSuccess) {
    cudaStreamSynchronize(cb->stream); /* what was queued, before returning */
    cudaGetLastError();
    return cu_fail(le, "launching tree growth");
  }
  CU(cudaMemcpyAsync(h, D, o->ctl_end, cudaMemcpyDeviceToHost, cb->stream),
     "copying a tree from the device");
  if (want)
    CU(cudaMemcpyAsync(cb->leaf_host, g.leaf16,
                       (size_t)cb->N * sizeof(uint16_t), cudaMemcpyDeviceToHost,
                       cb->stream),
       "copying leaves from the device");
  CU(cudaStreamSynchronize(cb->stream), "growing a tree on the device");

  /* The engine stores the tree, as it stores the CPU's. */
  const int depth = ctl->depth;
  if (depth < 0 || depth > g.maxd)
    return brl__fail(BRL_ESTATE, "the device returned a tree of depth %d",
                     depth);
  const double scale = ctl->scale;
  const int64_t splits = brl__tree_splits(!greedy, depth);
  const double *dec_gain = (const double *)(h + o->dec_gain);
  for (int64_t s = 0; s < splits; s++) /* the CPU keeps greedy gains as float */
    cb->gain[s] = greedy ? (double)(float)dec_gain[s] : dec_gain[s];
  const int nl = 1 << depth;
  const int64_t *leaf_cnt = (const int64_t *)(h + o->leaf_cnt);
  brl_tree_draft t = {depth,
                      !greedy,
                      (const int32_t *)(h + o->dec_feat),
                      (const int32_t *)(h + o->dec_bin),
                      h + o->dec_dl,
                      greedy ? h + o->dec_split : NULL,
                      cb->gain,
                      l2 ? 1.0 / (scale * scale) : 1.0 / scale,
                      leaf_cnt,
                      (const int64_t *)(h + o->leaf_sum)};
  (void)nl;
  brl__tree_assemble(m, b, x, &t, progress);
  if (want)
    *leaves = cb->leaf_host;
  return BRL_OK;
}

/* ------------------------------------------------------------ predict */

/* Device buffers of the prediction path and the device copy of the last
 * model predicted (its trees [0, n_up)), shared by all threads. */
static struct {
  pthread_mutex_t mu;
  cudaStream_t stream;
  int has_stream;
  uint64_t uid, gen;
  int n_up;
  size_t c_depth, c_flags, c_soff, c_loff, c_split, c_thr, c_val;
  uint8_t *depth, *flags;
  uint32_t *soff, *loff, *split;
  float *thr, *val;
  size_t c_X, c_Xt, c_Xc, c_Xct, c_out, c_chunks, c_hchunks;
  size_t c_bias;
  float *X, *Xt, *out, *bias;
  int32_t *Xc, *Xct, *chunks, *hchunks;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Makes *p hold at least `need` bytes; contents are lost when it grows. */
static cudaError_t ensure(void **p, size_t *cap, size_t need, int *grew) {
  if (*cap >= need && *p)
    return cudaSuccess;
  cudaFree(*p);
  *p = NULL;
  *cap = 0;
  size_t nc = need + need / 2 + 256;
  cudaError_t e = cudaMalloc(p, nc);
  if (e == cudaSuccess)
    *cap = nc;
  if (grew)
    *grew = 1;
  return e;
}

#define ENSURE(ptr, cap, need, grew)                                           \
  ensure((void **)&(ptr), &(cap), (need), (grew))

/* Brings the device copy of m's trees up to tree `stop`. */
static cudaError_t mirror(const brl_model *m, int stop) {
  const brl_trees *T = &m->trees;
  const int K = m->n_outputs;
  if (P.uid != m->uid || P.gen != m->generation || P.n_up > T->n) {
    P.uid = m->uid;
    P.gen = m->generation;
    P.n_up = 0;
  }
  if (P.n_up >= stop)
    return cudaSuccess;
  int grew = 0;
  const size_t nt = (size_t)stop + 1, ns = T->split_off[stop],
               nv = (size_t)T->leaf_off[stop] * (size_t)K;
  cudaError_t e;
  if ((e = ENSURE(P.depth, P.c_depth, nt, &grew)) ||
      (e = ENSURE(P.flags, P.c_flags, nt, &grew)) ||
      (e = ENSURE(P.soff, P.c_soff, nt * 4, &grew)) ||
      (e = ENSURE(P.loff, P.c_loff, nt * 4, &grew)) ||
      (e = ENSURE(P.split, P.c_split, ns * 4 + 4, &grew)) ||
      (e = ENSURE(P.thr, P.c_thr, ns * 4 + 4, &grew)) ||
      (e = ENSURE(P.val, P.c_val, nv * 4 + 4, &grew))) {
    P.n_up = 0;
    return e;
  }
  if (grew)
    P.n_up = 0;
  const int t0 = P.n_up;
  const size_t s0 = T->split_off[t0], v0 = (size_t)T->leaf_off[t0] * K;
  const enum cudaMemcpyKind up = cudaMemcpyHostToDevice;
  cudaStream_t st = P.stream;
  const size_t tn = (size_t)(stop - t0);
  if ((e = cudaMemcpyAsync(P.depth + t0, T->depth + t0, tn, up, st)) ||
      (e = cudaMemcpyAsync(P.flags + t0, T->flags + t0, tn, up, st)) ||
      (e = cudaMemcpyAsync(P.soff + t0, T->split_off + t0, (tn + 1) * 4, up,
                           st)) ||
      (e = cudaMemcpyAsync(P.loff + t0, T->leaf_off + t0, (tn + 1) * 4, up,
                           st)) ||
      (ns > s0 && ((e = cudaMemcpyAsync(P.split + s0, T->split + s0,
                                        (ns - s0) * 4, up, st)) ||
                   (e = cudaMemcpyAsync(P.thr + s0, T->threshold + s0,
                                        (ns - s0) * 4, up, st)))) ||
      (e = cudaMemcpyAsync(P.val + v0, T->value + v0, (nv - v0) * 4, up, st))) {
    P.n_up = 0;
    return e;
  }
  P.n_up = stop;
  return cudaSuccess;
}

/* Chunks of trees [start, stop) that fit PRED_SMEM bytes of shared memory
 * (a larger tree is a chunk of its own, read from global memory). */
static int make_chunks(const brl_model *m, int start, int stop, int32_t *ch) {
  const brl_trees *T = &m->trees;
  const int64_t K = m->n_outputs;
  int nc = 0;
  for (int t = start; t < stop;) {
    const int t0 = t;
    int64_t bytes = 0;
    while (t < stop) {
      /* splits and thresholds, leaf values, header (3 int32) */
      int64_t tb = ((int64_t)T->split_off[t + 1] - T->split_off[t]) * 8 +
                   ((int64_t)T->leaf_off[t + 1] - T->leaf_off[t]) * K * 4 + 12;
      if (t > t0 && bytes + tb > PRED_SMEM)
        break;
      bytes += tb;
      t++;
    }
    int32_t *c = ch + 8 * nc++;
    c[0] = t0;
    c[1] = t;
    c[2] = (int32_t)T->split_off[t0];
    c[3] = (int32_t)T->split_off[t];
    c[4] = (int32_t)T->leaf_off[t0];
    c[5] = (int32_t)T->leaf_off[t];
    c[6] = bytes <= PRED_SMEM;
    c[7] = 0;
  }
  return nc;
}

/* Prediction is possible on the device for these sizes (32-bit indices of
 * the kernels). */
static int device_fits(const brl_model *m, int64_t n, int stop) {
  const brl_trees *T = &m->trees;
  return (int64_t)T->split_off[stop] <= INT32_MAX &&
         (int64_t)T->leaf_off[stop] * m->n_outputs <= INT32_MAX &&
         n <= INT32_MAX / 2;
}

/* Enqueues trees [start, stop) over X and Xc (device memory) added into out
 * (device memory) on P.stream. P.mu held, P.stream created. */
static cudaError_t enqueue_predict(const brl_model *m, const float *X,
                                   const int32_t *Xc, int64_t n, int start,
                                   int stop, float *out) {
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  const size_t nx = (size_t)n * (size_t)D * 4, nxc = (size_t)n * (size_t)C * 4;
  const size_t hch = (size_t)(stop - start) * 8 * sizeof(int32_t);
  const int staged = brl__cu_predict_stage_bytes(D, C) <= STAGE_SMEM;
  cudaError_t e = cudaSuccess;
  if (P.c_hchunks < hch) {
    free(P.hchunks);
    P.hchunks = malloc(hch);
    P.c_hchunks = P.hchunks ? hch : 0;
    if (!P.hchunks)
      return cudaErrorMemoryAllocation;
  }
  if ((e = mirror(m, stop)) ||
      (e = ENSURE(P.Xt, P.c_Xt, staged ? 4 : nx + 4, NULL)) ||
      (e = ENSURE(P.Xct, P.c_Xct, staged ? 4 : nxc + 4, NULL)) ||
      (e = ENSURE(P.chunks, P.c_chunks, hch, NULL)))
    return e;
  const int n_chunks = make_chunks(m, start, stop, P.hchunks);
  brl_cu_predict p = {n,         D,      C,        K,       n_chunks,
                      PRED_SMEM, staged, P.chunks, P.depth, P.flags,
                      P.soff,    P.loff, P.split,  P.thr,   P.val,
                      X,         Xc,     P.Xt,     P.Xct,   out};
  if ((e = cudaMemcpyAsync(P.chunks, P.hchunks,
                           (size_t)n_chunks * 8 * sizeof(int32_t),
                           cudaMemcpyHostToDevice, P.stream)))
    return e;
  return (cudaError_t)brl__cu_predict_launch(&p, P.Xt, P.Xct, P.stream);
}

/* Creates P.stream once. P.mu held. */
static cudaError_t need_stream(void) {
  if (P.has_stream)
    return cudaSuccess;
  cudaError_t e = cudaStreamCreateWithFlags(&P.stream, cudaStreamNonBlocking);
  P.has_stream = e == cudaSuccess;
  return e;
}

/* Trees [start, stop) over host X on the device, added into host out.
 * Returns a cudaError_t (out is only written on success), or -1 when the
 * device path does not apply. */
static int device_predict(const brl_model *m, const float *X, const int32_t *Xc,
                          int64_t n, int start, int stop, float *out) {
  if (!device_fits(m, n, stop))
    return -1;
  const int K = m->n_outputs, D = m->p.n_features, C = m->p.n_cat_features;
  pthread_mutex_lock(&P.mu);
  const size_t nx = (size_t)n * (size_t)D * 4, nxc = (size_t)n * (size_t)C * 4,
               no = (size_t)n * (size_t)K * 4;
  const enum cudaMemcpyKind up = cudaMemcpyHostToDevice;
  cudaError_t e;
  if (!(e = need_stream()) && !(e = ENSURE(P.X, P.c_X, nx + 4, NULL)) &&
      !(e = ENSURE(P.Xc, P.c_Xc, nxc + 4, NULL)) &&
      !(e = ENSURE(P.out, P.c_out, no + 4, NULL)) &&
      (!nx || !(e = cudaMemcpyAsync(P.X, X, nx, up, P.stream))) &&
      (!nxc || !(e = cudaMemcpyAsync(P.Xc, Xc, nxc, up, P.stream))) &&
      !(e = cudaMemcpyAsync(P.out, out, no, up, P.stream)) &&
      !(e = enqueue_predict(m, P.X, P.Xc, n, start, stop, P.out)) &&
      !(e = cudaStreamSynchronize(P.stream)))
    e = cudaMemcpy(out, P.out, no, cudaMemcpyDeviceToHost);
  if (e)
    cudaGetLastError();
  pthread_mutex_unlock(&P.mu);
  return (int)e;
}

/* Trees [start, stop) over host memory. Small work runs on the CPU (it
 * answers sooner, with the same sums), as does work beyond the kernel's
 * 32-bit indices; a device failure is an error, never a fallback. */
static int cuda_predict_add(const brl_model *m, const float *X,
                            const int32_t *Xc, int64_t n, int start, int stop,
                            float *out) {
  if (n <= 0 || stop <= start)
    return BRL_OK;
  if ((double)n * (double)(stop - start) >= PRED_MIN_WORK) {
    int e = device_predict(m, X, Xc, n, start, stop, out);
    if (e == 0)
      return BRL_OK;
    if (e > 0)
      return cu_fail((cudaError_t)e, "predicting on the device");
  }
  brl__predict_add(m, X, Xc, n, start, stop, out, 0);
  return BRL_OK;
}

/* brl_model_predict_device: X, Xc and out are the caller's device memory;
 * only the trees (when they changed) and the chunk table go up. Work queued
 * on the legacy default stream (the caller's producers) is waited for
 * first; out is complete on return. */
static int cuda_predict_device(const brl_model *m, const float *X,
                               const int32_t *Xc, int64_t n, int start,
                               int stop, float *out) {
  if (!device_fits(m, n, stop))
    return brl__fail(BRL_EUNSUPPORTED,
                     "brl_model_predict_device: %lld rows over %d trees "
                     "exceed the device kernel's 32-bit indices",
                     (long long)n, stop);
  const int K = m->n_outputs;
  pthread_mutex_lock(&P.mu);
  const char *what = "waiting for the legacy default stream";
  cudaError_t e = cudaStreamSynchronize((cudaStream_t)0);
  if (!e) {
    what = "creating a stream";
    e = need_stream();
  }
  if (!e && start == 0) {
    what = "uploading the bias";
    e = ENSURE(P.bias, P.c_bias, (size_t)K * 4, NULL);
    if (!e)
      e = cudaMemcpyAsync(P.bias, m->bias, (size_t)K * 4,
                          cudaMemcpyHostToDevice, P.stream);
  }
  if (!e) {
    what = "predicting on the device";
    e = (cudaError_t)brl__cu_fill_rows(out, start == 0 ? P.bias : NULL, n, K,
                                       P.stream);
    if (!e && stop > start)
      e = enqueue_predict(m, X, Xc, n, start, stop, out);
    if (!e)
      e = cudaStreamSynchronize(P.stream);
  }
  int rc = BRL_OK;
  if (e) {
    cudaGetLastError();
    rc = cu_fail(e, what);
  }
  pthread_mutex_unlock(&P.mu);
  return rc;
}

/* ------------------------------------------------------- device memory */

static int cuda_alloc(size_t bytes, void **out) {
  CU(cudaMalloc(out, bytes), "allocating device memory");
  return BRL_OK;
}

static int cuda_free(void *p) {
  CU(cudaFree(p), "freeing device memory");
  return BRL_OK;
}

static int cuda_copy(void *dst, const void *src, size_t bytes) {
  CU(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault), "copying memory");
  return BRL_OK;
}

/* ------------------------------------------------------------- table */

static const char *cuda_unavailable(void) {
  pthread_once(&probe_once, probe);
  return dev_ok ? "" : dev_msg;
}

static const brl_backend cuda_backend = {"cuda",
                                         BRL_BACKEND_CUDA,
                                         cuda_unavailable,
                                         0,
                                         cuda_prepare,
                                         cuda_grow_tree,
                                         cuda_predict_add,
                                         brl__cpu_predict_adam,
                                         cuda_predict_device,
                                         cuda_alloc,
                                         cuda_free,
                                         cuda_copy};

const brl_backend *brl__cuda_table(void) { return &cuda_backend; }
