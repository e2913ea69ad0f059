#!/usr/bin/env bash
# gpu-check.sh: prepares the one GPU check of the CUDA kernels. On this
# machine (no GPU needed; cgo against cuda.h and libcuda.so from
# scripts/install-cuda.sh) it checks that the committed PTX is current, builds
# the cuda test binaries and ragr into .gpu/ (ignored by git, carried to the GPU
# machine), and prints the exact `run` call for the device tool. On the GPU
# machine scripts/gpu-run.sh then runs the kernel tests, compute-sanitizer
# and `ragr bench kernels` (beside PyTorch) within 8 minutes (about 2.5 on
# an H200).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
command -v nvcc >/dev/null || { echo "gpu-check: nvcc not found: run scripts/install-cuda.sh" >&2; exit 1; }
make -s kernels-check
mkdir -p .gpu
go vet -tags cuda ./kernels/... ./tensor/gpu/ ./models/bert/ ./models/qwen2/ ./nn/... ./train/ ./bench/ ./cmd/ragr/
go test -c -tags cuda -ldflags='-s -w' -o .gpu/cuda.test ./kernels/cuda/
# the tensor CUDA backend against the CPU backend, and the BERT train step
# on both devices (autograd gradients on the GPU equal the CPU's)
go test -c -tags cuda -ldflags='-s -w' -o .gpu/tensorgpu.test ./tensor/gpu/
go test -c -tags cuda -ldflags='-s -w' -o .gpu/bert.test ./models/bert/
go test -c -tags cuda -ldflags='-s -w' -o .gpu/qwen2.test ./models/qwen2/
go build -tags cuda -ldflags='-s -w' -o .gpu/ragr ./cmd/ragr
# gzip them: five binaries (~50 MiB) and the tree exceed the 64 MiB the
# device tool carries; scripts/gpu-run.sh unpacks them there.
for f in cuda.test tensorgpu.test bert.test qwen2.test ragr; do
	gzip -9 -f .gpu/$f
done
size=$(du -sm .gpu | cut -f1)
tree=$(( $( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s + 0}') / 1048576 ))
echo "gpu-check: built .gpu/{cuda.test,tensorgpu.test,bert.test,qwen2.test,ragr}.gz: ${size} MiB to carry + ${tree} MiB of working tree (the limit is 64 MiB together)"
if [ $((size + tree)) -ge 64 ]; then
	echo "gpu-check: OVER the 64 MiB the device tool carries: trim the tree or the binaries first" >&2
	exit 1
fi
cat <<'CMD'
Run on the lent GPU (device tool), one call:
  run(command="bash scripts/gpu-run.sh", carry=[".gpu"], timeout_s=540)
Results (the tool returns at most 8 files): $OUT/logs.tar.gz (every log:
sm90a.log, tests.log, tensorgpu.log, bert-cuda.log, sanitizer.log,
train-cuda.log, ...) plus bench.txt, bench.json, trainbench.txt,
compare.json and the sm_90a PTX built there (gemm90.ptx, attention90.ptx); copy the bench
table and each kernel's outcome into kernels/NOTES.md.
CMD
