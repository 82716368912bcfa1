/* brl_params across library versions (core/abi.h): a caller's struct in,
 * with the fields it does not have at their defaults, and out into the
 * caller's struct_size bytes. */
#ifndef BRL_ENGINE_PARAMS_H
#define BRL_ENGINE_PARAMS_H

#include "boostrl.h"

#include <stddef.h>

int brl__params_in(const brl_params *in, brl_params *full);
int brl__params_out(const brl_params *full, brl_params *out,
                    size_t struct_size);

#endif
