#!/usr/bin/env bash
# Installs what boostrl needs on a fresh Debian machine: the C toolchain,
# clang (for libFuzzer), and a Python virtual environment in .venv with the
# test requirements. Safe to run again: it installs only what is missing.
# Usage: scripts/setup.sh [--c-only]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v gcc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
if [[ "${1:-}" != "--c-only" ]]; then
  command -v clang >/dev/null || need_apt+=(clang)
  command -v clang-format >/dev/null || need_apt+=(clang-format)
  ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
    >/dev/null 2>&1 || need_apt+=(libclang-rt-dev)
  ls /usr/lib/llvm-*/lib/clang/*/include/omp.h >/dev/null 2>&1 ||
    need_apt+=(libomp-dev)
  command -v python3 >/dev/null || need_apt+=(python3)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
fi
if ((${#need_apt[@]})); then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
[[ "${1:-}" == "--c-only" ]] && exit 0

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [[ -f python/requirements-test.txt ]]; then
  stamp=.venv/.requirements-test
  if [[ ! -f $stamp ]] || ! cmp -s python/requirements-test.txt "$stamp"; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r python/requirements-test.txt
    cp python/requirements-test.txt "$stamp"
  fi
fi
