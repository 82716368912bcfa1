/* Option structs across library versions: the struct_size check. */
#include "core/abi.h"

#include "core/error.h"

#include <string.h>

int brl__abi_check(const brl__abi_struct *s, size_t size) {
  if (size >= s->first && size <= s->lib)
    return BRL_OK;
  if (size > s->lib)
    return brl__fail(BRL_EINVAL,
                     "%s.struct_size is %zu but this library's %s has %zu "
                     "bytes: the program was built against a newer boostrl.h "
                     "than the library it runs with (link the newer library), "
                     "or struct_size is not set (fill the struct with %s())",
                     s->type, size, s->type, s->lib, s->fill_fn);
  return brl__fail(BRL_EINVAL,
                   "%s.struct_size is %zu, below the %zu bytes of its first "
                   "version: fill the struct with %s() (it sets struct_size) "
                   "before changing fields, or rebuild against boostrl.h",
                   s->type, size, s->first, s->fill_fn);
}

int brl__abi_in(const brl__abi_struct *s, const void *src, void *full) {
  size_t size;
  memcpy(&size, src, sizeof size);
  int rc = brl__abi_check(s, size);
  if (rc)
    return rc;
  memcpy(full, src, size);
  memcpy(full, &s->lib, sizeof s->lib);
  return BRL_OK;
}

int brl__abi_out(const brl__abi_struct *s, const void *full, void *dst,
                 size_t size) {
  int rc = brl__abi_check(s, size);
  if (rc) {
    /* Not past the library's size: a garbage size may overstate dst. */
    memset(dst, 0, size < s->lib ? size : s->lib);
    if (size >= sizeof size)
      memcpy(dst, &size, sizeof size);
    return rc;
  }
  memcpy(dst, full, size);
  memcpy(dst, &size, sizeof size);
  return BRL_OK;
}

size_t brl_abi_struct_size(const char *type) {
  static const struct {
    const char *type;
    size_t size;
  } sizes[] = {{"brl_params", sizeof(brl_params)},
               {"brl_agent_config", sizeof(brl_agent_config)},
               {"brl_fit_params", sizeof(brl_fit_params)},
               {"brl_export_options", sizeof(brl_export_options)},
               {"brl_compress_params", sizeof(brl_compress_params)},
               {"brl_action_space", sizeof(brl_action_space)},
               {"brl_comm_ops", sizeof(brl_comm_ops)}};
  for (size_t i = 0; type && i < sizeof sizes / sizeof sizes[0]; i++)
    if (strcmp(type, sizes[i].type) == 0)
      return sizes[i].size;
  return 0;
}
