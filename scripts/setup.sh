#!/usr/bin/env bash
# Installs what boostrl needs on a fresh Debian machine: the C toolchain,
# clang (for libFuzzer), and Python virtual environments with the test
# requirements: .venv (the oldest supported Gymnasium and numpy) and
# .venv-gym-new (the newest). Safe to run again: it installs only what is
# missing or changed.
# Usage: scripts/setup.sh [--c-only | --bench | --sb3]
#   --bench  also .venv-bench: the benchmark suites' envs (MiniGrid, ale-py,
#            box2d) and boostrl (python/requirements-bench.txt)
#   --sb3    also .venv-sb3: stable-baselines3 and torch, the benchmark's
#            neural baseline (python/requirements-sb3.txt; several GB)
# Neither is run by plain setup.sh, make test or CI.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cmake >/dev/null || need_apt+=(cmake)
command -v gcc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
if [[ "${1:-}" != "--c-only" ]]; then
  command -v clang >/dev/null || need_apt+=(clang)
  # The CPU emulator of CUDA (make test-cuda-emu) is C++17.
  command -v g++ >/dev/null || need_apt+=(g++)
  command -v clang-format >/dev/null || need_apt+=(clang-format)
  # Open MPI: the MPI communicator library and its tests (make test-mpi).
  command -v mpicc >/dev/null || need_apt+=(libopenmpi-dev)
  command -v mpirun >/dev/null || need_apt+=(openmpi-bin)
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

# A virtual environment with a requirements file, (re)installed when the
# file changed since the last run.
python_venv() {
  local dir=$1 req=$2
  [[ -f $req ]] || return 0
  if [[ ! -x $dir/bin/python ]]; then
    echo "setup: creating $dir"
    python3 -m venv "$dir"
  fi
  local stamp=$dir/.requirements-test
  if [[ ! -f $stamp ]] || ! cmp -s "$req" "$stamp"; then
    echo "setup: installing $req into $dir"
    "$dir/bin/pip" install -q --upgrade pip
    "$dir/bin/pip" install -q -r "$req"
    cp "$req" "$stamp"
  fi
}
# The Python tests run against the oldest supported Gymnasium and numpy
# (.venv) and the newest (.venv-gym-new).
python_venv .venv python/requirements-test.txt
python_venv .venv-gym-new python/requirements-test-new.txt
# The benchmark's environments (scripts/benchmark.py), on request only.
if [[ "${1:-}" == "--bench" ]]; then
  python_venv .venv-bench python/requirements-bench.txt
  .venv-bench/bin/pip install -q .
elif [[ "${1:-}" == "--sb3" ]]; then
  python_venv .venv-sb3 python/requirements-sb3.txt
fi
