#!/usr/bin/env bash
# The CPU benchmark figures quoted in docs/BENCHMARKS.md, as JSON lines.
# Usage: bench/cpu.sh [BUILD_DIR]   (run on an otherwise idle machine)
set -euo pipefail
B=${1:-build}/bench
run() { echo "# bench $*" >&2; "$B" "$@" --json; }
# Engine core (issue: 512 x 8 x 4, depth 4, 256 bins, 2000 trees, 2 threads)
run --samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 2000 --threads 2 --grow oblivious
run --samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 2000 --threads 2 --grow greedy
run --samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 2000 --threads 1 --grow oblivious
# A large batch
run --samples 65536 --features 32 --outputs 9 --depth 4 --bins 256 --trees 200 --threads 2
# Prediction latency through 10,000 trees, one thread
run --samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 10000 --threads 1 --grow oblivious
run --samples 512 --features 8 --outputs 4 --depth 4 --bins 256 --trees 10000 --threads 1 --grow greedy
# Model size at 100,000 trees
run --samples 64 --features 8 --outputs 4 --depth 4 --bins 256 --trees 100000 --threads 1
# Categorical: 8 numeric + 8 categorical features of 20 categories
run --samples 512 --features 8 --cat-features 8 --categories 20 --outputs 4 --depth 4 --bins 256 --trees 2000 --threads 2
