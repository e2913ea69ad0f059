#!/bin/sh
# Runs the core kernel families (every kernels/*.cu except gemm.cu,
# gemm90.cu, attention.cu and attention90.cu) in the host emulator (emu.h + core_emu.h) against float64
# references: indexing, reductions, vector/tail paths, error flags. Needs
# g++ >= 12 (C++20); no GPU, no CUDA toolkit. Usage: kernels/emu/run_core.sh
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -O1 -pthread -ffp-contract=off -DRAGR_EMU -I include -include emu.h -include core_emu.h \
	-Wall -Wno-unused-function -Wno-unknown-pragmas -o "$out/check_core" check_core.cpp
"$out/check_core"
