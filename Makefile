# Thin wrapper over CMake. The two commands a newcomer needs:
#   make train   set up, build, and train a PPO agent on CartPole-v1
#   make test    set up, build, and run every test (C, sanitizers, fuzzer,
#                Python)
BUILD ?= build
JOBS ?= 2

.PHONY: all setup build train test test-format test-arch test-c test-asan test-tsan test-oom test-fuzz \
        test-python test-python-gym-new test-cuda-emu test-mpi bench format clean

all: build

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBRL_BUILD_CLI=ON \
	  -DBRL_BUILD_TESTS=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

train:
	scripts/setup.sh --c-only
	$(MAKE) build
	$(BUILD)/boostrl train CartPole-v1 --force

test:
	scripts/setup.sh
	$(MAKE) test-format test-arch test-c test-mpi test-asan test-tsan test-oom \
	  test-cuda-emu test-fuzz test-python test-python-gym-new

test-c: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -LE mpi

# The MPI tests (CTest label mpi): each program of tests/mpi/ under
# mpirun -np 2 and -np 3 (tests/mpi/run.sh, --oversubscribe). Skipped when
# the build has no MPI (scripts/setup.sh installs Open MPI).
test-mpi: build
	cd $(BUILD) && ctest --output-on-failure -L mpi

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBRL_SANITIZE=ON \
	  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
	cmake --build build-asan -j$(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

# The thread-safety contract (tests/test_thread_safety.c: pthreads sharing
# one model, separate models and agents per thread, errors per thread) under
# ThreadSanitizer. OMP_NUM_THREADS=1 and the test's n_threads = 1 keep every
# OpenMP region on one thread: libgomp is not built with TSan, which cannot
# see its barriers and would report false races in parallel regions. The
# threads checked are the caller's; OpenMP determinism is test_threads'.
test-tsan:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DBRL_TSAN=ON \
	  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DBRL_BUILD_CLI=OFF >/dev/null
	cmake --build build-tsan -j$(JOBS) --target test_thread_safety
	cd build-tsan && OMP_NUM_THREADS=1 ctest --output-on-failure \
	  -R '^test_thread_safety$$'

# Allocation failure: every allocation of model, agent and env calls fails
# in turn (tests/oom/test_oom.c), under AddressSanitizer for leaks and bad
# frees; and the loaders' peak allocation on crafted files.
test-oom:
	cmake -S . -B build-oom -DCMAKE_BUILD_TYPE=Debug -DBRL_SANITIZE=ON \
	  -DBRL_BUILD_CLI=OFF -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
	cmake --build build-oom -j$(JOBS) --target test_oom test_loader_limits
	ASAN_OPTIONS=detect_leaks=1 build-oom/test_oom
	ASAN_OPTIONS=detect_leaks=1 build-oom/test_loader_limits

# The CUDA backend's tests on the CPU emulator of CUDA (no GPU, no nvcc;
# docs/CUDA.md): its kernels and host code run and are compared with the
# CPU backend. A skip (exit 77: no CUDA backend in the build) is a failure
# here, since this build exists to run them. About 4 minutes on 2 cores.
test-cuda-emu:
	cmake -S . -B build-emu -DCMAKE_BUILD_TYPE=Release -DBRL_CUDA_EMU=ON \
	  -DBRL_BUILD_CLI=OFF >/dev/null
	cmake --build build-emu -j$(JOBS) --target test_cuda
	@build-emu/test_cuda; rc=$$?; if [ $$rc = 77 ]; then \
	  echo "test-cuda-emu: test_cuda skipped: the emulator build has no" \
	    "CUDA backend (check -DBRL_CUDA_EMU=ON in build-emu)" >&2; fi; \
	  exit $$rc

# libFuzzer on every loader (model, JSON model, settings JSON, agent, env):
# a short run of each from its committed corpus fuzz/corpus-<target>. Longer
# runs:
#   make test-fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 15
FUZZ_TARGETS = model_load model_json kv_json agent_load env_load
test-fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DBRL_FUZZ=ON \
	  -DBRL_SANITIZE=ON -DBRL_BUILD_TESTS=OFF -DBRL_BUILD_CLI=OFF \
	  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
	cmake --build build-fuzz -j$(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus-work/$$t; \
	  build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=fuzz/corpus-work/$$t- fuzz/corpus-work/$$t \
	    fuzz/corpus-$$t; \
	done

test-python: build
	@if [ -f pyproject.toml ]; then \
	  .venv/bin/pip install -q . && \
	  BRL_LIB=$(CURDIR)/$(BUILD)/libboostrl.so .venv/bin/python -m pytest -q tests/python; \
	else \
	  BRL_LIB=$(CURDIR)/$(BUILD)/libboostrl.so .venv/bin/python -m pytest -q tests/python; \
	fi

# The Python tests again with the newest supported Gymnasium, MiniGrid and
# numpy (.venv-gym-new from python/requirements-test-new.txt; test-python
# runs the oldest, python/requirements-test.txt).
test-python-gym-new: build
	@[ -x .venv-gym-new/bin/python ] || scripts/setup.sh
	.venv-gym-new/bin/pip install -q .
	BRL_LIB=$(CURDIR)/$(BUILD)/libboostrl.so .venv-gym-new/bin/python -m pytest -q tests/python

bench: build
	$(BUILD)/bench --samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 2000 --threads 2

C_FILES = include/*.h src/*/*.c src/*/*.h cli/*.c cli/*.h bench/*.c bench/*.h \
  tests/*.c tests/*.h tests/oom/*.c tests/oom/*.h tests/mpi/*.c fuzz/*.c python/boostrl/_ext/*.c python/boostrl/_ext/*.h \
  examples/*/*.c

# The layer order of the includes (docs/DESIGN.md, "Layers"), and the
# check's own test on a tree with wrong includes.
test-arch:
	python3 scripts/check_arch.py
	bash tests/test_arch_check.sh

# The code is formatted with the committed .clang-format.
test-format:
	clang-format --dry-run -Werror $(wildcard $(C_FILES))

format:
	clang-format -i $(wildcard $(C_FILES)) src/cuda/*.cu

clean:
	rm -rf $(BUILD) build-asan build-tsan build-oom build-fuzz build-emu
