#!/usr/bin/env bash
# The libraries export the API and nothing else:
#   libboostrl.so  defines exactly the functions include/boostrl.h declares
#                  (every one of them, and no other global symbol);
#   libboostrl.a   the same: its objects are one relocatable object whose
#                  hidden symbols (the brl__ internals) are local, so every
#                  global symbol it defines starts with brl_ and is in the
#                  header, and a program's own names cannot clash with the
#                  library's internals.
# Usage: tests/test_exports.sh LIBBOOSTRL.so LIBBOOSTRL.a include/boostrl.h
set -euo pipefail
so=$1 a=$2 header=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The functions the header declares: the name before '(' of every
# declaration that starts with BRL_API (comments and preprocessor lines
# removed first).
python3 - "$header" >"$tmp/api" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
text = re.sub(r"//[^\n]*", " ", text)
text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
names = set()
for decl in re.findall(r"\bBRL_API\b([^;{]*)", text):
    m = re.search(r"\b([A-Za-z_]\w*)\s*\(", decl)
    if m:
        names.add(m.group(1))
print("\n".join(sorted(names)))
PY
[[ -s $tmp/api ]] || { echo "FAIL: no BRL_API declaration in $header" >&2; exit 1; }
bad=$(grep -v '^brl_' "$tmp/api" || true)
[[ -z $bad ]] || { echo "FAIL: API functions without the brl_ prefix:" $bad >&2; exit 1; }

# Defined global symbols (code, data, weak), names only. Linker-made
# markers (_init, _fini, _edata, _end, __bss_start) are not ours.
syms() {
  nm -g --defined-only "$@" 2>/dev/null |
    awk 'NF >= 3 && $2 ~ /^[BDGRSTVWiu]$/ {print $3}' |
    grep -vxE '_init|_fini|_edata|_end|__bss_start' | sort -u
}
syms -D "$so" >"$tmp/so"
syms "$a" >"$tmp/a"
[[ -s $tmp/so && -s $tmp/a ]] || {
  echo "FAIL: nm found no symbols in $so or $a" >&2
  exit 1
}

status=0
extra=$(comm -23 "$tmp/so" "$tmp/api")
if [[ -n $extra ]]; then
  echo "FAIL: $so exports symbols that include/boostrl.h does not declare" \
    "(give them hidden visibility: no BRL_API, or a brl__ name in an" \
    "internal header):" >&2
  echo "$extra" | sed 's/^/  /' >&2
  status=1
fi
missing=$(comm -13 "$tmp/so" "$tmp/api")
if [[ -n $missing ]]; then
  echo "FAIL: include/boostrl.h declares functions that $so does not" \
    "export (define them, with BRL_API):" >&2
  echo "$missing" | sed 's/^/  /' >&2
  status=1
fi
extra=$(comm -23 "$tmp/a" "$tmp/api")
if [[ -n $extra ]]; then
  echo "FAIL: $a defines global symbols that include/boostrl.h does not" \
    "declare (internal names must have hidden visibility, which the" \
    "build makes local in the archive; check the ld -r / objcopy" \
    "--localize-hidden step of CMakeLists.txt):" >&2
  echo "$extra" | sed 's/^/  /' >&2
  status=1
fi
missing=$(comm -13 "$tmp/a" "$tmp/api")
if [[ -n $missing ]]; then
  echo "FAIL: include/boostrl.h declares functions that $a does not" \
    "define:" >&2
  echo "$missing" | sed 's/^/  /' >&2
  status=1
fi
if ((status == 0)); then
  echo "ok: $(wc -l <"$tmp/api") API functions; the shared and the static" \
    "library define exactly them (every one starting with brl_)"
fi
exit $status
