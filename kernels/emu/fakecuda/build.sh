#!/bin/sh
# Builds libfakecuda.so: a fake CUDA driver for LD_PRELOAD whose device
# memory is host memory and whose kernel launches run the real kernels/*.cu
# sources in the host emulator (kernels/emu), one launch at a time. It
# reports one compute 8.0 device, so the mma.sync GEMM and attention paths
# run (not the sm_90a ones), and it takes 1-D blocks only. With it the
# cuda-tagged Go code (kernels/cuda, tensor/gpu, the models' and trainer's
# device paths) runs end to end on a machine without a GPU: see
# scripts/fakecuda-test.sh. Needs g++ >= 12 and cuda.h (the CUDA toolkit).
# Usage: kernels/emu/fakecuda/build.sh OUTDIR
# Env at run time: FAKECUDA_CC (80 or 90), FAKECUDA_MEM_LIMIT (bytes,
# default 16 GiB), FAKECUDA_SMS (default 1, or an H100's 132 with
# FAKECUDA_CC=90: it steers the launchers' grid and tile choices; every
# emulated CUDA thread is an OS thread, so fewer blocks run faster),
# FAKECUDA_TRACE=1 (print every launch).
set -eu
S=$(cd "$(dirname "$0")" && pwd)
K=$(cd "$S/../.." && pwd)
E=$K/emu
O=$1
mkdir -p "$O"
cp "$S"/driver.cpp "$S"/registry.h "$S"/glue.cpp "$S"/core.cpp "$S"/gemm_attn.cpp "$O"/
# the registered kernels are the entries of the committed PTX
gen() {
	out=$1
	shift
	for f in "$@"; do grep -ho '\.entry [a-zA-Z0-9_]*' "$K/ptx/$f.ptx" | awk '{print $2}'; done |
		sort -u | awk '{printf "  reg(\"%s\", &%s);\n", $1, $1}' >"$O/$out"
}
gen reg_core.inc adamw copy dropout elementwise embedding gradnorm norm reduce rope softmax xent
gen reg_gemm.inc gemm
gen reg_attn.inc attention
# The sm_90a modules: their PTX from nvcc's front end (any nvcc: the inline
# wgmma/TMA PTX is copied, not assembled), for RAGR_EXTRA_PTX — the Go side
# reads the kernels and their parameter lists there; the fake driver runs
# the emulated kernels (gemm_attn.cpp).
NVCC=${NVCC:-nvcc}
for m in gemm90 attention90; do
	"$NVCC" -arch=compute_90 -ptx -O3 -std=c++17 "$K/$m.cu" -o "$O/$m.ptx"
	cp "$O/$m.ptx" "$O/$m.ptx.tmp"
done
K90=$O
gen90() {
	for f in gemm90 attention90; do grep -ho '\.entry [a-zA-Z0-9_]*' "$K90/$f.ptx" | awk '{print $2}'; done |
		sort -u | awk '{printf "  reg90(\"%s\", &%s);\n", $1, $1}' >"$O/reg_sm90.inc"
}
gen90
rm -f "$O"/*.ptx.tmp
cd "$O"
# the sources include the kernels relative to kernels/emu/fakecuda
sed -i "s|\"\.\./\.\./|\"$K/|" core.cpp gemm_attn.cpp
FL="-std=c++20 -O1 -fPIC -pthread -DRAGR_EMU -I $E/include -include $E/emu.h -w -Wno-psabi"
g++ $FL -include "$E/core_emu.h" -ffp-contract=off -c core.cpp -o core.o &
g++ $FL -I "$E" -c gemm_attn.cpp -o gemm_attn.o &
g++ $FL -c glue.cpp -o glue.o
g++ -O1 -fPIC -I /usr/local/cuda/include -c driver.cpp -o driver.o
wait
g++ -shared -o libfakecuda.so driver.o glue.o core.o gemm_attn.o -pthread
echo "$O/libfakecuda.so"
