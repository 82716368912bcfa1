#!/usr/bin/env bash
# Runs a program on NP MPI processes of this machine, for the tests:
#   tests/mpi/run.sh NP PROGRAM [ARGS...]
# Exit status: the job's (0 when every rank exits 0); 77 (skipped) when
# PROGRAM is empty or missing (the build has no MPI: -DBRL_MPI=OFF or MPI
# not found) or mpirun is not installed. The job is killed after
# BRL_MPI_TIMEOUT seconds (default 120), so a hung collective fails the
# test instead of hanging it. With Open MPI: --oversubscribe (more ranks
# than cores) and, as root, the environment that allows it.
set -u
np=${1:?usage: run.sh NP PROGRAM [ARGS...]}
prog=${2:-}
shift 2 || true
if [[ -z "$prog" || ! -x "$prog" ]]; then
  echo "run.sh: skipped: no MPI program '$prog' (built without MPI?)" >&2
  exit 77
fi
if ! command -v mpirun >/dev/null; then
  echo "run.sh: skipped: mpirun not found (scripts/setup.sh installs" \
    "openmpi-bin)" >&2
  exit 77
fi
args=(-np "$np")
if mpirun --version 2>&1 | grep -q "Open MPI"; then
  args+=(--oversubscribe)
  if [[ $(id -u) -eq 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
fi
# One OpenMP thread per rank: the ranks already share the cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
timeout --kill-after=10 "${BRL_MPI_TIMEOUT:-120}" mpirun "${args[@]}" \
  "$prog" "$@"
rc=$?
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
  echo "run.sh: the job ran past ${BRL_MPI_TIMEOUT:-120} s and was killed" >&2
fi
exit $rc
