#!/bin/sh
# Runs the GEMM and attention kernels (kernels/gemm.cu, kernels/attention.cu)
# in the host emulator (emu.h: every CUDA thread an OS thread, warp
# collectives following the PTX ISA's fragment layouts) against float64
# references. Needs g++ >= 12 (C++20: std::barrier, std::atomic_ref<float>,
# _Float16); no GPU, no CUDA toolkit. About a minute on 2 cores.
# Usage: kernels/emu/run.sh [quick]   (RAGR_EMU_SEED=<n> draws other inputs)
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-std=c++20 -O1 -pthread -DRAGR_EMU -I include -include emu.h -Wall -Wno-unused-function -Wno-unknown-pragmas"
g++ $flags -o "$out/check_gemm" check_gemm.cpp
g++ $flags -o "$out/check_attn" check_attn.cpp
status=0
"$out/check_gemm" ${1:-} | grep -v ' ok$' || status=1
"$out/check_attn" || status=1
exit $status
