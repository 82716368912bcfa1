#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then build the README's kind of
# program against it with pkg-config and run it: headers, static and shared
# libraries, soname and the pkg-config file all have to be right.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name boostrl.pc)")
cat >"$prefix/example.c" <<'C'
#include <boostrl.h>
#include <stdio.h>
int main(void) {
  brl_params p;
  brl_params_default(&p, 1, 1);
  brl_model *m;
  brl_batch *b;
  float X[4] = {0, 1, 2, 3}, g[4] = {1, 1, -1, -1};
  if (brl_model_create(&p, &m) || brl_batch_create(m, X, 4, &b) ||
      brl_model_step(m, b, NULL, 4, g, 0)) {
    fprintf(stderr, "%s\n", brl_last_error());
    return 1;
  }
  float out[4];
  brl_model_predict(m, X, 4, 0, -1, out);
  printf("%s %d %s\n", brl_version(), brl_model_n_trees(m),
         out[0] < 0 && out[3] > 0 ? "ok" : "wrong");
  brl_batch_free(&b);
  brl_model_free(&m);
  return 0;
}
C
libdir=$(pkg-config --variable=libdir boostrl)
# shared
gcc "$prefix/example.c" $(pkg-config --cflags --libs boostrl) \
  -Wl,-rpath,"$libdir" -o "$prefix/ex_shared"
out=$("$prefix/ex_shared")
[[ $out == "0.1.0 1 ok" ]] || { echo "shared: $out"; exit 1; }
objdump -p "$libdir/libboostrl.so" | grep -q 'SONAME *libboostrl.so.0' ||
  { echo "soname missing"; exit 1; }
# static
# (the private libraries: OpenMP, libm, and the CUDA runtime in CUDA builds)
static_libs=$(pkg-config --static --libs boostrl | sed -e 's/-lboostrl//')
gcc "$prefix/example.c" $(pkg-config --cflags boostrl) "$libdir/libboostrl.a" \
  $static_libs -o "$prefix/ex_static"
out=$("$prefix/ex_static")
[[ $out == "0.1.0 1 ok" ]] || { echo "static: $out"; exit 1; }
echo "test_install: 3 passed, 0 failed"
