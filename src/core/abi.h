/* The size check of the option structs the caller fills (brl_params,
 * brl_agent_config, brl_fit_params, brl_export_options,
 * brl_compress_params): each starts with size_t struct_size, the sizeof
 * the caller was compiled with. Fields are only ever appended, so a
 * smaller size is an older header: the library takes the fields the caller
 * has and gives the newer ones their defaults. docs/DESIGN.md, "A stable
 * ABI". */
#ifndef BRL_CORE_ABI_H
#define BRL_CORE_ABI_H

#include <stddef.h>

/* Where field f of struct type T ends: the size of a layout whose last
 * field is f (the `first` of a struct is that of its first version). */
#define BRL__END(T, f) (offsetof(T, f) + sizeof(((T *)0)->f))

/* The sizes of a struct the library accepts: its first versioned layout
 * (first) up to the library's own (lib). */
typedef struct brl__abi_struct {
  const char *type;    /* "brl_params" */
  const char *fill_fn; /* "brl_params_default" */
  size_t first, lib;
} brl__abi_struct;

/* BRL_OK when `size` is one that s accepts, else BRL_EINVAL saying to fill
 * the struct with its _default function or to rebuild. */
int brl__abi_check(const brl__abi_struct *s, size_t size);

/* Takes a caller's struct in: checks src->struct_size, then copies its
 * struct_size bytes over `full` (filled with the defaults by the caller)
 * and sets full's struct_size to the library's. */
int brl__abi_in(const brl__abi_struct *s, const void *src, void *full);

/* Gives a struct out into the caller's `size` bytes at dst: the first
 * `size` bytes of full (the library's), with struct_size = size. A size s
 * does not accept zeroes dst and records it, so that the next call
 * taking the struct says what is wrong; the status says it too. */
int brl__abi_out(const brl__abi_struct *s, const void *full, void *dst,
                 size_t size);

#endif
