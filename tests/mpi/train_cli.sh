#!/usr/bin/env bash
# `boostrl train` under mpirun (CTest mpi_train_cli, label mpi):
#   train_cli.sh BOOSTRL RUN_SH mpi|nompi
# - PPO (CartPole, shared tree), A2C, AWR and DQN on 2 and 3 processes
#   write model.brl and env.brl byte-identical to one process with the same
#   n_envs (5: not a multiple of 2 or 3) and seed;
# - a run stopped on 2 processes and resumed on 3 (and on 1) ends with the
#   model of one uninterrupted process;
# - killing one rank mid-run ends the job in bounded time with a non-zero
#   exit, and the checkpoint written before resumes to the same model.
# Built without MPI (nompi): an MPI launch of 2 processes must be refused
# with a message, not train twice.
set -u
bin=${1:?usage: train_cli.sh BOOSTRL RUN_SH mpi|nompi}
run=${2:?}
mode=${3:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check WHAT CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else
    echo "FAIL: $what"
    fail=1
  fi
}
common=(--seed 3 --set n_envs=5 --set max_depth=3 --eval-episodes 0)

if [[ $mode == nompi ]]; then
  BRL_MPI_TIMEOUT=60 bash "$run" 2 "$bin" train CartPole-v1 "${common[@]}" \
    --timesteps 200 --out "$tmp/x" 2>"$tmp/err"
  rc=$?
  [[ $rc -eq 77 ]] && exit 77 # no mpirun here
  check "a 2-process launch without MPI fails" test "$rc" -ne 0
  check "... saying MPI is missing" grep -q "built without MPI" "$tmp/err"
  check "... and writes no run" test ! -e "$tmp/x/model.brl"
  exit $fail
fi

train() { # train NP DIR ARGS...
  local np=$1 dir=$2
  shift 2
  BRL_MPI_TIMEOUT=120 bash "$run" "$np" "$bin" train CartPole-v1 \
    "${common[@]}" --out "$dir" "$@" >"$dir.log" 2>&1
}
same() { cmp -s "$1" "$2"; }

for algo in ppo a2c awr dqn; do
  args=(--algo "$algo" --timesteps 600)
  [[ $algo == awr || $algo == dqn ]] &&
    args+=(--set learning_starts=100 --set buffer_size=1000)
  train 1 "$tmp/$algo-1" "${args[@]}"
  rc=$?
  [[ $rc -eq 77 ]] && exit 77
  check "$algo: one process trains" test $rc -eq 0
  for np in 2 3; do
    train "$np" "$tmp/$algo-$np" "${args[@]}"
    check "$algo: $np processes train" test $? -eq 0
    check "$algo: one of the $np processes prints" \
      test "$(grep -c '^boostrl: training' "$tmp/$algo-$np.log")" -eq 1
    check "$algo: model.brl on $np processes = 1 process" \
      same "$tmp/$algo-1/model.brl" "$tmp/$algo-$np/model.brl"
    check "$algo: env.brl on $np processes = 1 process" \
      same "$tmp/$algo-1/env.brl" "$tmp/$algo-$np/env.brl"
  done
done
# Rank 0 alone writes progress.csv: one header, the rows of one process
# (their first columns; the timing columns differ).
cols() { cut -d, -f1-13 "$1"; }
check "progress.csv of 3 processes has one process's rows" \
  test "$(cols "$tmp/ppo-1/progress.csv")" = "$(cols "$tmp/ppo-3/progress.csv")"

# Stopped on 2 processes, resumed on 3 and on 1.
train 1 "$tmp/straight" --timesteps 1200
for np2 in 3 1; do
  train 2 "$tmp/res$np2" --timesteps 1200 --stop-at 400
  check "stopped at 400 on 2 processes" test -e "$tmp/res$np2/model.brl"
  BRL_MPI_TIMEOUT=120 bash "$run" "$np2" "$bin" train --resume \
    "$tmp/res$np2" --timesteps 1200 >"$tmp/res$np2.log2" 2>&1
  check "resumed on $np2 processes" test $? -eq 0
  check "resumed on $np2 = one uninterrupted process" \
    same "$tmp/straight/model.brl" "$tmp/res$np2/model.brl"
done

# A rank killed mid-run: the job ends (bounded by run.sh's timeout, well
# below it) with a non-zero exit; the checkpoint before it still resumes.
big=400000000 # a target the killed run does not reach
train 2 "$tmp/kill" --timesteps $big --stop-at 400
cp "$tmp/kill/model.brl" "$tmp/kill-before.brl"
marker="brl_kill_$$"
(BRL_KILL_MARK=$marker BRL_MPI_TIMEOUT=100 bash "$run" 2 "$bin" train \
  --resume "$tmp/kill" --timesteps $big >"$tmp/kill.log" 2>&1
echo $? >"$tmp/kill.rc") &
victim=""
for _ in $(seq 100); do
  sleep 0.2
  for p in $(pgrep -f "train --resume $tmp/kill" || true); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
      grep -qx "BRL_KILL_MARK=$marker" &&
      tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
      grep -qx "OMPI_COMM_WORLD_RANK=1"; then
      victim=$p
    fi
  done
  [[ -n $victim ]] && break
done
check "found rank 1 of the run to kill" test -n "$victim"
sleep 2
start=$(date +%s)
[[ -n $victim ]] && kill -9 "$victim"
wait
took=$(($(date +%s) - start))
rc=$(cat "$tmp/kill.rc")
check "the job ended after the kill (rc $rc, ${took}s)" test "$took" -lt 60
check "... with a non-zero exit" test "$rc" -ne 0
check "the checkpoint is the one before the fault" \
  same "$tmp/kill-before.brl" "$tmp/kill/model.brl"
BRL_MPI_TIMEOUT=120 bash "$run" 3 "$bin" train --resume "$tmp/kill" \
  --timesteps $big --stop-at 800 >"$tmp/kill2.log" 2>&1
check "it resumes on 3 processes" test $? -eq 0
train 1 "$tmp/kill-ref" --timesteps $big --stop-at 800
check "... to the model of one uninterrupted process" \
  same "$tmp/kill-ref/model.brl" "$tmp/kill/model.brl"
if [[ $fail -ne 0 ]]; then
  for f in "$tmp"/*.log; do
    echo "== $f"
    tail -5 "$f"
  done
fi
exit $fail
