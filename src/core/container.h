/* The chunked file container shared by models and agents:
 *
 *   "BRL1"  u32 format version  u32 chunk count
 *   chunk*: 4-byte tag, u64 payload length, payload
 *   u32 CRC-32 (IEEE) of every byte before it
 *
 * All integers little-endian, floats IEEE-754 bit patterns. Readers check
 * every length against the bytes that remain; unknown chunks are skipped. */
#ifndef BRL_CORE_CONTAINER_H
#define BRL_CORE_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#define BRL_FORMAT_VERSION 1u
#define BRL_MAX_CHUNKS 64

/* Growable output buffer; err sticks after the first failed allocation. */
typedef struct brl_buf {
  uint8_t *data;
  size_t len, cap;
  int err;
  size_t chunk_start; /* where the open chunk's length field is */
  uint32_t n_chunks;
} brl_buf;

void brl__buf_bytes(brl_buf *b, const void *p, size_t n);
void brl__buf_u8(brl_buf *b, uint8_t v);
void brl__buf_u32(brl_buf *b, uint32_t v);
void brl__buf_u64(brl_buf *b, uint64_t v);
void brl__buf_f32(brl_buf *b, float v);
void brl__buf_f64(brl_buf *b, double v);

/* Starts the container (header) / a chunk / ends it / finishes (checksum).
 * Finish returns BRL_OK or BRL_ENOMEM; the caller owns data. */
void brl__container_begin(brl_buf *b);
void brl__chunk_begin(brl_buf *b, const char tag[4]);
void brl__chunk_end(brl_buf *b);
int brl__container_finish(brl_buf *b);

/* Bounds-checked reader over one chunk's payload; err sticks after the
 * first read past the end (values read then are 0). */
typedef struct brl_reader {
  const uint8_t *p;
  size_t len, off;
  int err;
} brl_reader;

uint8_t brl__rd_u8(brl_reader *r);
uint32_t brl__rd_u32(brl_reader *r);
uint64_t brl__rd_u64(brl_reader *r);
float brl__rd_f32(brl_reader *r);
double brl__rd_f64(brl_reader *r);
/* Pointer to the next n bytes (NULL and err when fewer remain). */
const uint8_t *brl__rd_bytes(brl_reader *r, size_t n);

typedef struct brl_container {
  uint32_t version, n_chunks;
  char tags[BRL_MAX_CHUNKS][4];
  brl_reader chunks[BRL_MAX_CHUNKS];
} brl_container;

/* Checks magic, version, checksum and the chunk table (BRL_EFORMAT with a
 * message on failure). The chunks point into buf. */
int brl__container_open(const void *buf, size_t len, brl_container *c);
/* Reader of the first chunk with this tag; 0 if absent. */
int brl__container_find(const brl_container *c, const char tag[4],
                        brl_reader *out);

uint32_t brl__crc32(const uint8_t *p, size_t n);

/* Whole-file helpers (BRL_EIO with the path and reason on failure). */
int brl__write_file(const char *path, const void *data, size_t len);
int brl__read_file(const char *path, uint8_t **data, size_t *len);

/* The file halves of the save/load-by-path calls. brl__write_owned writes
 * data (made by a *_save_buffer call that returned rc) to path and frees
 * it; a failed rc is returned as it is. brl__load_file reads path and
 * hands its bytes to parse(buf, len, out). */
typedef int (*brl__parse_fn)(const void *buf, size_t len, void *out);
int brl__write_owned(const char *path, int rc, void *data, size_t len);
int brl__load_file(const char *path, brl__parse_fn parse, void *out);

#endif
