/* Struct fields set and read by name from text: one table of keys per
 * struct (brl_params, brl_agent_config), each key a field at an offset
 * with its type and range. Numbers are read and written in the "C" locale
 * (core/numtext.h). */
#ifndef BRL_CORE_KEYTAB_H
#define BRL_CORE_KEYTAB_H

#include <stddef.h>

typedef enum brl__key_type {
  BRL__KEY_INT,    /* int, a whole number in [lo, hi] */
  BRL__KEY_INT64,  /* int64_t, a whole number in [lo, hi] */
  BRL__KEY_DOUBLE, /* double in [lo, hi] */
  BRL__KEY_FLOAT,  /* float in [lo, hi] (hi at most FLT_MAX) */
  BRL__KEY_BOOL,   /* int 0/1: "true"/"false", "1"/"0", yes/no, on/off */
  BRL__KEY_ENUM    /* an int-sized enum: value i is names[i] */
} brl__key_type;

/* Open ends of a number's range (flags). */
#define BRL__KEY_LO_OPEN 1 /* > lo rather than >= lo */
#define BRL__KEY_HI_OPEN 2 /* < hi rather than <= hi */

typedef struct brl__key {
  const char *name;
  brl__key_type type;
  size_t off; /* offsetof the field */
  double lo, hi;
  int open;                 /* BRL__KEY_LO_OPEN | BRL__KEY_HI_OPEN */
  const char *const *names; /* enums: the name of each value */
  int n_names;
  const char *help; /* one line */
} brl__key;

/* The key called name among keys[0..n), or NULL. */
const brl__key *brl__key_find(const brl__key *keys, int n, const char *name);

/* Bytes of k's field (its offset plus this is where it ends). */
size_t brl__key_size(const brl__key *k);

/* Parses value and stores it in k's field of the struct at obj. BRL_EINVAL
 * names `label` (the key as the caller wrote it) and the accepted values
 * when value does not parse or is out of range; obj is then unchanged. */
int brl__key_set(const brl__key *k, const char *label, void *obj,
                 const char *value);

/* k's field of obj as text that brl__key_set reads back exactly (size >=
 * 32). */
int brl__key_get(const brl__key *k, const void *obj, char *buf, size_t size);

/* BRL_OK when k's field of obj is in its range (enums: a named value;
 * booleans: 0 or 1), else BRL_EINVAL naming label, the value and the
 * range, with k's help when with_help. */
int brl__key_check(const brl__key *k, const char *label, const void *obj,
                   int with_help);

/* ASCII case-insensitive string equality. */
int brl__ieq(const char *a, const char *b);

#endif
