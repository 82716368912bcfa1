#!/usr/bin/env bash
# The collectives' cost by message size quoted in docs/SCALING.md ("Cost of
# the collectives"): bench_comm under mpirun at np 2 (default) on this
# machine, and the CPU it ran on.
# Usage: bench/comm.sh [BUILD_DIR] [NP] [--json]   (an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
np=${2:-2}
shift $(($# < 2 ? $# : 2))
prog=$build/bench_comm
if [[ ! -x $prog ]]; then
  echo "bench/comm.sh: no $prog: build with MPI (cmake -DBRL_MPI=ON)" >&2
  exit 1
fi
echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores," \
  "$(mpirun --version 2>&1 | head -1)" >&2
tests/mpi/run.sh "$np" "$prog" "$@"
