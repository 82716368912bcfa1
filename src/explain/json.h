/* A small strict JSON parser (RFC 8259): the whole text is parsed into an
 * array of nodes that point back into it; strings are decoded on demand.
 * Rejects trailing commas, comments, leading zeros, lone surrogates,
 * invalid UTF-8, control characters in strings, nesting deeper than 64 and
 * anything after the value. Errors: BRL_EFORMAT with line and column. */
#ifndef BRL_EXPLAIN_JSON_H
#define BRL_EXPLAIN_JSON_H

#include <stddef.h>
#include <stdint.h>

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
  int64_t off;   /* number: its text; string: between the quotes */
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

int brl__json_parse(const char *src, size_t len, brl_json *out);
void brl__json_free(brl_json *j);

/* Line and column (from 1) of byte offset off, for messages. */
void brl__json_where(const brl_json *j, int64_t off, int *line, int *col);
/* Decodes string node i into buf (size bytes, NUL-terminated). Returns its
 * length, or -1 if it does not fit. Decoded strings may hold NUL bytes
 * (written as \u0000). */
int64_t brl__json_string(const brl_json *j, int32_t i, char *buf, size_t size);
/* Decoded length of string node i. */
int64_t brl__json_string_len(const brl_json *j, int32_t i);

#endif
