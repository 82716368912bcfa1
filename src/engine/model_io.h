/* Model chunks inside the container, so that agent files can carry models
 * next to their own chunks. `prefix` (2 chars) distinguishes several models
 * in one file, e.g. "M0" and "M1" for separate actor and critic. */
#ifndef BRL_ENGINE_MODEL_IO_H
#define BRL_ENGINE_MODEL_IO_H

#include "core/container.h"
#include "engine/model.h"

void brl__model_write_chunks(const brl_model *m, brl_buf *b,
                             const char prefix[2]);
int brl__model_read_chunks(const brl_container *c, const char prefix[2],
                           brl_model **out);
int brl__model_alloc(const brl_params *p, brl_model **out);

#endif
