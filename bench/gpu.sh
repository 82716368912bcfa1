#!/usr/bin/env bash
# The CUDA backend's check on a GPU machine, from a fresh copy of the repo
# with only cmake, gcc and nvcc: configures with -DBRL_CUDA=ON, builds,
# runs every test (test_cuda must run, not skip; test_device must see
# CUDA), an optional DLPack smoke check (where torch sees a GPU), then
# prints the engine bench for both devices as JSON lines, and PASS/FAIL
# against the targets:
#   step 512 x 8 x 4, depth 4 (2000 trees):        ms_per_step <= 0.5 (cuda)
#   step 65536 x 32 x 9, depth 4 (1000 trees):     ms_per_step <= 2   (cuda)
#   predict 1e6 rows x 8 through 10000 depth-4 oblivious trees, 4 outputs:
#                                    >= 1e11 tree evaluations/s (cuda),
#                                    outputs identical to the CPU's
# Usage: bench/gpu.sh [build-dir]   (default build-gpu; about 5 minutes)
# Exit status: 0 when everything passed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-gpu}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 16)}
LOG=$BUILD/gpu-logs
fails=0
pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}
# A number from one JSON line: json_num LINE KEY
json_num() { sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" <<<"$1"; }
# awk comparison: le A B -> A <= B
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }

if ! command -v nvcc >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
    [[ -x $d/nvcc ]] && export PATH="$d:$PATH" && break
  done
fi
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
  2>&1 || echo "nvidia-smi failed"
nvcc --version 2>&1 | tail -2
cmake --version | head -1
gcc --version | head -1
echo "cores: $JOBS"

echo "== configure and build"
mkdir -p "$BUILD"
if ! timeout 180 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
  -DBRL_CUDA=ON >"$BUILD/configure.log" 2>&1; then
  tail -30 "$BUILD/configure.log"
  fail "configure with -DBRL_CUDA=ON"
  echo "== summary: $fails failed"
  exit 1
fi
grep "boostrl: CUDA" "$BUILD/configure.log"
start=$(date +%s)
if ! timeout 600 cmake --build "$BUILD" -j"$JOBS" >"$BUILD/build.log" 2>&1; then
  grep -E "error|Error" "$BUILD/build.log" | head -30
  fail "build"
  echo "== summary: $fails failed"
  exit 1
fi
pass "build ($(($(date +%s) - start)) s)"
mkdir -p "$LOG"

echo "== tests"
exclude=()
if ! command -v pkg-config >/dev/null 2>&1; then
  echo "(no pkg-config on this machine: test_install skipped)"
  exclude=(-E test_install)
fi
if (cd "$BUILD" && timeout 600 ctest --output-on-failure -j8 --timeout 300 \
  ${exclude[@]+"${exclude[@]}"} >"gpu-logs/ctest.log" 2>&1); then
  pass "ctest: $(grep -E 'tests passed' "$LOG/ctest.log")"
else
  grep -E "Failed|failed|CHECK" "$LOG/ctest.log" | head -40
  fail "ctest (log: $LOG/ctest.log)"
fi
timeout 600 "$BUILD/test_cuda" >"$LOG/test_cuda.log" 2>&1
rc=$?
cat "$LOG/test_cuda.log" | grep -v "CHECK failed" | tail -20
if grep -q "skipped" "$LOG/test_cuda.log"; then
  fail "test_cuda skipped: no usable GPU ($(grep skipped "$LOG/test_cuda.log"))"
elif [[ $rc -ne 0 ]]; then
  grep "CHECK failed" "$LOG/test_cuda.log" | head -20
  fail "test_cuda: parity with the CPU backend (exit $rc)"
else
  pass "test_cuda: parity with the CPU backend on every feature"
fi

echo "== device integration"
timeout 300 "$BUILD/test_device" >"$LOG/test_device.log" 2>&1
rc=$?
tail -2 "$LOG/test_device.log"
if [[ $rc -eq 0 ]] && grep -q "test_device: CUDA available" "$LOG/test_device.log"; then
  pass "test_device: agents on device cuda/auto, files portable"
else
  grep "CHECK failed" "$LOG/test_device.log" | head -20
  fail "test_device (exit $rc; log: $LOG/test_device.log)"
fi
# Optional: the Python extension on this CUDA build, a torch CUDA tensor
# predicted through DLPack without host copies (only where torch sees a GPU;
# offline: numpy and the Python headers must be installed already).
echo "== DLPack smoke (optional)"
PY=$(command -v python3 || true)
if [[ -n $PY ]] && "$PY" -c "import numpy, torch; assert torch.cuda.is_available()" >/dev/null 2>&1; then
  if timeout 180 cmake -S . -B "$BUILD" -DBRL_PYTHON=ON -DPython3_EXECUTABLE="$PY" \
    >"$LOG/py-configure.log" 2>&1 &&
    timeout 600 cmake --build "$BUILD" -j"$JOBS" --target _core >"$LOG/py-build.log" 2>&1; then
    rm -rf "$BUILD/pypkg" && mkdir -p "$BUILD/pypkg" && cp -r python/boostrl "$BUILD/pypkg/"
    cp "$(find "$BUILD" -maxdepth 2 -name '_core*.so' | head -1)" "$BUILD/pypkg/boostrl/"
    if PYTHONPATH="$BUILD/pypkg" timeout 300 "$PY" - >"$LOG/dlpack.log" 2>&1 <<'PYEOF'; then
import numpy as np, torch, boostrl
from boostrl import _core
assert _core.cuda_available(), "the CUDA backend is not available to Python"
rng = np.random.default_rng(0)
X = rng.normal(size=(50000, 8)).astype(np.float32)
y = np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], 1).astype(np.float32)
e = boostrl.Ensemble(8, 2, device="cuda").fit(X, y, iterations=50)
want = e.predict(X)
Xd = torch.from_numpy(X).cuda()
got = torch.from_dlpack(e.predict(Xd))
assert got.is_cuda and np.array_equal(got.cpu().numpy(), want), "device != host"
out = torch.full((50000, 2), float("nan"), device="cuda")
assert e.predict(Xd, out=out) is out and np.array_equal(out.cpu().numpy(), want)
print("dlpack smoke: ok", tuple(got.shape))
PYEOF
      pass "DLPack: torch CUDA tensor in, device memory out, equal to the host"
    else
      tail -20 "$LOG/dlpack.log"
      fail "DLPack smoke (log: $LOG/dlpack.log)"
    fi
  else
    tail -20 "$LOG/py-configure.log" "$LOG/py-build.log"
    echo "(DLPack smoke skipped: the Python extension did not build here)"
  fi
else
  echo "(DLPack smoke skipped: no python3 with numpy and torch on a GPU)"
fi

echo "== engine bench (JSON lines)"
bench() { # device, timeout, args...
  local dev=$1 t=$2
  shift 2
  timeout "$t" "$BUILD/bench" --device "$dev" --json "$@" 2>"$LOG/bench.err" |
    tail -1
}
SMALL="--samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 2000"
BIG="--samples 65536 --features 32 --outputs 9 --depth 4 --bins 256 --trees 1000"
for size in small big; do
  args=$SMALL
  limit=0.5
  [[ $size == big ]] && args=$BIG && limit=2
  for dev in cpu cuda; do
    line=$(bench $dev 240 $args)
    if [[ -z $line ]]; then
      cat "$LOG/bench.err"
      [[ $dev == cuda ]] && fail "bench $size on cuda did not run"
      continue
    fi
    echo "$line"
    if [[ $dev == cuda ]]; then
      ms=$(json_num "$line" ms_per_step)
      if le "$ms" "$limit"; then
        pass "step $size on cuda: $ms ms <= $limit ms"
      else
        fail "step $size on cuda: $ms ms > $limit ms"
      fi
    fi
  done
done

echo "== prediction throughput (JSON lines)"
out=$(timeout 300 "$BUILD/predict_throughput" --rows 1000000 --trees 10000 \
  --depth 4 --features 8 --outputs 4 --device both --reps 3 --json \
  2>"$LOG/predict.err")
echo "$out"
cuda_line=$(grep '"device":"cuda"' <<<"$out")
if [[ -z $cuda_line ]]; then
  cat "$LOG/predict.err"
  fail "prediction throughput on cuda did not run"
else
  rate=$(json_num "$cuda_line" tree_evals_per_s)
  if ge "$rate" 1e11; then
    pass "prediction on cuda: $rate tree evaluations/s >= 1e11"
  else
    fail "prediction on cuda: $rate tree evaluations/s < 1e11"
  fi
  if grep -q '"match_cpu":true' <<<"$cuda_line"; then
    pass "prediction on cuda identical to the CPU bit for bit"
  else
    fail "prediction on cuda differs from the CPU"
  fi
fi

echo "== summary: $fails failed"
[[ $fails -eq 0 ]]
