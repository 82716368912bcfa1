/* The library's one JSON reader and writer (RFC 8259), used by the model
 * JSON format (src/engine/model_json.c) and the settings objects of the
 * public API (brl_kv: a run's config.json, train --config files).
 *
 * Reading: the whole text is parsed into an array of nodes that point back
 * into it; strings are decoded on demand. Strict: rejects trailing commas,
 * comments, leading zeros, lone surrogates, invalid UTF-8, control
 * characters in strings, a byte order mark and anything after the value.
 * Limits: nesting deeper than max_depth and texts longer than max_bytes are
 * refused before anything is built for them. Errors are BRL_EFORMAT with
 * "JSON error at line L, column C: expected ..., found ...".
 *
 * Writing: values are appended to a brl_sb (core/text.h); numbers are
 * written with '.' whatever the locale (core/numtext.h). */
#ifndef BRL_CORE_JSON_H
#define BRL_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/text.h"

typedef enum brl_jtype {
  BRL_JNULL = 0,
  BRL_JFALSE,
  BRL_JTRUE,
  BRL_JNUMBER,
  BRL_JSTRING,
  BRL_JARRAY,
  BRL_JOBJECT
} brl_jtype;

typedef struct brl_jnode {
  int64_t off;   /* number, true, false, null: its text; string: between
                    the quotes; array, object: the opening bracket */
  uint32_t len;  /* bytes of that text */
  int32_t next;  /* next sibling, -1 at the end */
  int32_t child; /* array: first element; object: first key (each key is
                    a string node whose next is its value); -1 if empty */
  int32_t n;     /* array: elements; object: members */
  uint8_t type;  /* brl_jtype */
} brl_jnode;

typedef struct brl_json {
  const char *src;
  size_t len;
  brl_jnode *nodes; /* nodes[0] is the root */
  int32_t n, cap;
} brl_json;

/* Default limits of brl__json_parse: 64 levels, 2^31 - 1 bytes (node
 * offsets and lengths are 32-bit within a value). */
#define BRL_JSON_MAX_DEPTH 64
#define BRL_JSON_MAX_BYTES ((size_t)INT32_MAX)

int brl__json_parse(const char *src, size_t len, brl_json *out);
/* As brl__json_parse with the given limits (max_depth >= 1: 1 allows one
 * object or array of scalars). */
int brl__json_parse_limited(const char *src, size_t len, int max_depth,
                            size_t max_bytes, brl_json *out);
void brl__json_free(brl_json *j);

/* Line and column (from 1) of byte offset off, for messages. */
void brl__json_where(const brl_json *j, int64_t off, int *line, int *col);
/* Decodes string node i into buf (size bytes, NUL-terminated). Returns its
 * length, or -1 if it does not fit. Decoded strings may hold NUL bytes
 * (written as \u0000). */
int64_t brl__json_string(const brl_json *j, int32_t i, char *buf, size_t size);
/* Decoded length of string node i. */
int64_t brl__json_string_len(const brl_json *j, int32_t i);
/* 1 when string node i decodes to exactly the n bytes of s. */
int brl__json_string_is(const brl_json *j, int32_t i, const char *s, size_t n);
/* Value of member `key` of object node obj, or -1. */
int32_t brl__json_member(const brl_json *j, int32_t obj, const char *key);

/* ------------------------------------------------------------ writing */

/* 1 when the NUL-terminated s is valid UTF-8 (no overlongs, no surrogates):
 * only such text can be written as a JSON string. */
int brl__json_utf8_valid(const char *s);
/* s as a JSON string literal: quotes, \" \\ \n \t \r and \u00XX for the
 * other control characters; other bytes as they are (s must be UTF-8). */
void brl__json_put_string(brl_sb *sb, const char *s);
/* A float as the shortest JSON number that reads back to its bits; the
 * non-finite values, which JSON cannot hold, as the strings "inf", "-inf"
 * and "nan" (brl__json_float reads them back). */
void brl__json_put_float(brl_sb *sb, float v);
/* Array of n floats as brl__json_put_float writes them, ", " between. */
void brl__json_put_floats(brl_sb *sb, const float *v, int64_t n);
/* Reads number node i, or a string "inf", "-inf", "nan", as a float
 * exactly (whatever the locale). Returns 0 for any other node. */
int brl__json_float(const brl_json *j, int32_t i, float *out);

#endif /* BRL_CORE_JSON_H */
