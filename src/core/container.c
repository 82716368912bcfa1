#include "core/container.h"
#include "core/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void brl__buf_bytes(brl_buf *b, const void *p, size_t n) {
  if (b->err)
    return;
  if (b->len + n > b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 4096;
    while (nc < b->len + n)
      nc *= 2;
    uint8_t *q = realloc(b->data, nc);
    if (!q) {
      b->err = 1;
      return;
    }
    b->data = q;
    b->cap = nc;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void brl__buf_u8(brl_buf *b, uint8_t v) { brl__buf_bytes(b, &v, 1); }

void brl__buf_u32(brl_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                  (uint8_t)(v >> 24)};
  brl__buf_bytes(b, x, 4);
}

void brl__buf_u64(brl_buf *b, uint64_t v) {
  brl__buf_u32(b, (uint32_t)v);
  brl__buf_u32(b, (uint32_t)(v >> 32));
}

void brl__buf_f32(brl_buf *b, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  brl__buf_u32(b, u);
}

void brl__buf_f64(brl_buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  brl__buf_u64(b, u);
}

static void put_u32_at(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

void brl__container_begin(brl_buf *b) {
  memset(b, 0, sizeof *b);
  brl__buf_bytes(b, "BRL1", 4);
  brl__buf_u32(b, BRL_FORMAT_VERSION);
  brl__buf_u32(b, 0); /* chunk count, patched at finish */
}

void brl__chunk_begin(brl_buf *b, const char tag[4]) {
  brl__buf_bytes(b, tag, 4);
  b->chunk_start = b->len;
  brl__buf_u64(b, 0);
}

void brl__chunk_end(brl_buf *b) {
  if (b->err)
    return;
  uint64_t n = b->len - b->chunk_start - 8;
  put_u32_at(b->data + b->chunk_start, (uint32_t)n);
  put_u32_at(b->data + b->chunk_start + 4, (uint32_t)(n >> 32));
  b->n_chunks++;
}

int brl__container_finish(brl_buf *b) {
  if (!b->err)
    put_u32_at(b->data + 8, b->n_chunks);
  if (!b->err)
    brl__buf_u32(b, brl__crc32(b->data, b->len));
  if (b->err) {
    free(b->data);
    memset(b, 0, sizeof *b);
    return brl__fail(BRL_ENOMEM, "out of memory serializing");
  }
  return BRL_OK;
}

static const uint8_t *take(brl_reader *r, size_t n) {
  if (r->err || n > r->len - r->off) {
    r->err = 1;
    return NULL;
  }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}

uint8_t brl__rd_u8(brl_reader *r) {
  const uint8_t *p = take(r, 1);
  return p ? p[0] : 0;
}

uint32_t brl__rd_u32(brl_reader *r) {
  const uint8_t *p = take(r, 4);
  return p ? get_u32_at(p) : 0;
}

uint64_t brl__rd_u64(brl_reader *r) {
  uint64_t lo = brl__rd_u32(r);
  uint64_t hi = brl__rd_u32(r);
  return lo | hi << 32;
}

float brl__rd_f32(brl_reader *r) {
  uint32_t u = brl__rd_u32(r);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

double brl__rd_f64(brl_reader *r) {
  uint64_t u = brl__rd_u64(r);
  double d;
  memcpy(&d, &u, 8);
  return d;
}

const uint8_t *brl__rd_bytes(brl_reader *r, size_t n) { return take(r, n); }

int brl__container_open(const void *buf, size_t len, brl_container *c) {
  const uint8_t *p = buf;
  memset(c, 0, sizeof *c);
  if (!p || len < 16)
    return brl__fail(BRL_EFORMAT,
                     "not a boostrl file: %zu bytes is shorter than the "
                     "16-byte header and checksum",
                     len);
  if (memcmp(p, "BRL1", 4) != 0)
    return brl__fail(BRL_EFORMAT, "not a boostrl file: the magic is not BRL1");
  uint32_t stored = get_u32_at(p + len - 4);
  uint32_t actual = brl__crc32(p, len - 4);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  stored = actual;
#endif
  if (stored != actual)
    return brl__fail(BRL_EFORMAT,
                     "the file is corrupt or truncated: checksum %08x, "
                     "expected %08x",
                     actual, stored);
  c->version = get_u32_at(p + 4);
  if (c->version == 0 || c->version > BRL_FORMAT_VERSION)
    return brl__fail(BRL_EFORMAT,
                     "format version %u is not supported (this build reads "
                     "up to %u): upgrade boostrl",
                     c->version, BRL_FORMAT_VERSION);
  c->n_chunks = get_u32_at(p + 8);
  if (c->n_chunks > BRL_MAX_CHUNKS)
    return brl__fail(BRL_EFORMAT, "the file claims %u chunks (at most %d)",
                     c->n_chunks, BRL_MAX_CHUNKS);
  brl_reader r = {p, len - 4, 12, 0};
  for (uint32_t i = 0; i < c->n_chunks; i++) {
    const uint8_t *tag = brl__rd_bytes(&r, 4);
    uint64_t n = brl__rd_u64(&r);
    if (r.err || n > r.len - r.off)
      return brl__fail(BRL_EFORMAT,
                       "chunk %u is truncated: it claims more bytes than the "
                       "file holds",
                       i);
    memcpy(c->tags[i], tag, 4);
    c->chunks[i].p = p + r.off;
    c->chunks[i].len = (size_t)n;
    c->chunks[i].off = 0;
    c->chunks[i].err = 0;
    r.off += (size_t)n;
  }
  if (r.off != r.len)
    return brl__fail(BRL_EFORMAT, "%zu stray bytes after the last chunk",
                     r.len - r.off);
  return BRL_OK;
}

int brl__container_find(const brl_container *c, const char tag[4],
                        brl_reader *out) {
  for (uint32_t i = 0; i < c->n_chunks; i++)
    if (memcmp(c->tags[i], tag, 4) == 0) {
      *out = c->chunks[i];
      return 1;
    }
  return 0;
}

/* The CRC-32 (IEEE, reflected) table as a constant: built by the compiler,
 * so concurrent first calls share no lazily written state. CRC_BIT is one
 * shift of the bitwise CRC; CRC_ENTRY(i) applies it eight times to i. */
#define CRC_BIT(c) (((c) >> 1) ^ (0xEDB88320u & (0u - ((c)&1u))))
#define CRC_ENTRY(i)                                                           \
  CRC_BIT(CRC_BIT(                                                             \
      CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT((uint32_t)(i)))))))))
#define CRC_4(i)                                                               \
  CRC_ENTRY(i), CRC_ENTRY(i + 1), CRC_ENTRY(i + 2), CRC_ENTRY(i + 3)
#define CRC_16(i) CRC_4(i), CRC_4(i + 4), CRC_4(i + 8), CRC_4(i + 12)
#define CRC_64(i) CRC_16(i), CRC_16(i + 16), CRC_16(i + 32), CRC_16(i + 48)
static const uint32_t crc_table[256] = {CRC_64(0), CRC_64(64), CRC_64(128),
                                        CRC_64(192)};

uint32_t brl__crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++)
    c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int brl__write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return brl__fail(BRL_EIO, "cannot open '%s' for writing: %s", path,
                     strerror(errno));
  size_t w = fwrite(data, 1, len, f);
  int bad = w != len;
  if (fclose(f) != 0)
    bad = 1;
  if (bad)
    return brl__fail(BRL_EIO, "cannot write '%s': %s", path, strerror(errno));
  return BRL_OK;
}

int brl__read_file(const char *path, uint8_t **data, size_t *len) {
  *data = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return brl__fail(BRL_EIO, "cannot open '%s': %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (n < cap)
      break;
    uint8_t *q = realloc(buf, cap * 2);
    if (!q) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = q;
    cap *= 2;
  }
  int err = ferror(f);
  fclose(f);
  if (!buf)
    return brl__fail(BRL_ENOMEM, "out of memory reading '%s'", path);
  if (err) {
    free(buf);
    return brl__fail(BRL_EIO, "cannot read '%s'", path);
  }
  *data = buf;
  *len = n;
  return BRL_OK;
}

int brl__write_owned(const char *path, int rc, void *data, size_t len) {
  if (rc)
    return rc;
  rc = brl__write_file(path, data, len);
  free(data);
  return rc;
}

int brl__load_file(const char *path, brl__parse_fn parse, void *out) {
  uint8_t *buf;
  size_t len;
  int rc = brl__read_file(path, &buf, &len);
  if (rc)
    return rc;
  rc = parse(buf, len, out);
  free(buf);
  return rc;
}
