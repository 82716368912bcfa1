#!/usr/bin/env bash
# The architecture check (scripts/check_arch.py): it passes on the repository
# and fails, naming file:line, on a small tree with one wrong include of each
# kind its rules forbid.
set -euo pipefail
repo=$(cd "${1:-$(dirname "$0")/..}" && pwd)
check="python3 $repo/scripts/check_arch.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

$check --root "$repo" --quiet || fail "the repository breaks the layer order"

# A fake tree that follows the rules.
mk() { mkdir -p "$(dirname "$tmp/$1")"; printf '%b' "$2" >"$tmp/$1"; }
mk include/boostrl.h '/* api */\n'
mk src/core/error.h '#include "boostrl.h"\n'
mk src/backend/backend.h '#include "boostrl.h"\n'
mk src/engine/model.h '#include "core/error.h"\n#include "backend/backend.h"\n'
mk src/engine/model.c '#include "engine/model.h"\n'
mk src/engine/model_view.h '#include "boostrl.h"\n'
mk src/backend/cpu.c '#include "backend/backend.h"\n#include "engine/model.h"\n'
mk src/cuda/cuda_internal.h '#include <stdint.h>\n'
mk src/cuda/cuda_backend.c '#include "cuda/cuda_internal.h"\n#include "engine/model.h"\n'
mk src/explain/text.h '#include "engine/model.h"\n'
mk src/export/export_c.c '#include "core/error.h"\n#include "engine/model_view.h"\n'
mk src/export/other.c '#include "core/error.h"\n'
mk src/envs/env.h '#include "boostrl.h"\n'
mk src/rl/agent.c '#include "engine/model.h"\n#include "boostrl.h"\n'
mk cli/cli.h '#include "boostrl.h"\n'
mk cli/main.c '#include "cli.h"\n'
mk cli/other.c '#include "cli.h"\n'
mk bench/bench_lib.h '#include "engine/model.h"\n'
mk tests/test_x.c '#include "engine/model.h"\n#include "../cli/cli.h"\n'
$check --root "$tmp" --quiet >"$tmp/out" ||
  fail "a tree that follows the rules was refused: $(cat "$tmp/out")"

# expect_fail FILE TEXT INCLUDE: FILE gets INCLUDE as a new last line; the
# check must fail naming FILE:that line and TEXT; the file is then restored.
expect_fail() {
  local file=$1 text=$2 inc=$3 saved line
  saved=$(cat "$tmp/$file")
  line=$(($(wc -l <"$tmp/$file") + 1))
  printf '%s\n#include "%s"\n' "$saved" "$inc" >"$tmp/$file"
  if $check --root "$tmp" --quiet >"$tmp/out"; then
    fail "$file including $inc passed the check"
  fi
  grep -q "^$file:$line: .*$text" "$tmp/out" ||
    fail "$file including $inc: expected '$file:$line: ...$text'," \
      "got: $(cat "$tmp/out")"
  printf '%s\n' "$saved" >"$tmp/$file"
  $check --root "$tmp" --quiet >/dev/null || fail "restoring $file"
}
expect_fail src/engine/model.c "higher layer rl" "rl/agent.c"
expect_fail src/core/error.h "higher layer engine" "engine/model.h"
expect_fail src/backend/cpu.c "rule 2: .*src/cuda/cuda_internal.h" \
  "cuda/cuda_internal.h"
expect_fail tests/test_x.c "rule 2" "cuda/cuda_internal.h"
expect_fail src/export/other.c "peers" "explain/text.h"
expect_fail src/export/other.c "rule 7: export .*src/engine/model.h" \
  "engine/model.h"
expect_fail src/engine/model.c "peers" "envs/env.h"
expect_fail cli/main.c "rule 3: cli .*src/engine/model.h" "engine/model.h"
expect_fail src/rl/agent.c "rule 4" "../../cli/cli.h"
expect_fail src/rl/agent.c "rule 6: #include \"nowhere.h\"" "nowhere.h"

expect_fail cli/other.c "rule 3: cli .*bench/bench_lib.h" \
  "../bench/bench_lib.h"

# The allow-list is empty: cli/main.c may not include bench/ either.
expect_fail cli/main.c "rule 3: cli .*bench/bench_lib.h" "../bench/bench_lib.h"
echo "ok: the check passes on the repository and names each wrong include"
