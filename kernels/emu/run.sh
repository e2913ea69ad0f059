#!/bin/sh
# Runs the GEMM and attention kernels (kernels/gemm.cu, kernels/gemm90.cu,
# kernels/attention.cu, kernels/attention90.cu) in the host emulator (emu.h: every CUDA thread an OS thread, warp
# collectives following the PTX ISA's fragment layouts) against float64
# references. Needs g++ >= 12 (C++20: std::barrier, std::atomic_ref<float>,
# _Float16); no GPU, no CUDA toolkit. About 75 s on 2 cores.
# Usage: kernels/emu/run.sh [quick]   (RAGR_EMU_SEED=<n> draws other inputs)
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
flags="-std=c++20 -O1 -pthread -DRAGR_EMU -I include -include emu.h -Wall -Wno-psabi -Wno-unused-function -Wno-unknown-pragmas"
g++ $flags -o "$out/check_gemm" check_gemm.cpp
g++ $flags -o "$out/check_attn" check_attn.cpp
g++ $flags -o "$out/check_gemm90" check_gemm90.cpp
status=0
# each checker prints one line per case and exits 1 on any failure; only
# the lines that are not "ok" are shown
"$out/check_gemm" ${1:-} >"$out/gemm.log" || status=1
grep -v ' ok$' "$out/gemm.log" || true
"$out/check_attn" || status=1
"$out/check_gemm90" >"$out/gemm90.log" || status=1
grep -v ' ok$' "$out/gemm90.log" || true
exit $status
