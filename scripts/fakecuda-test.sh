#!/usr/bin/env bash
# fakecuda-test.sh: runs the cuda-tagged Go code — the kernel launchers and
# their tests (kernels/cuda), the tensor CUDA backend's conformance suite
# (tensor/gpu), the BERT and Qwen2 device checks, and one `ragr train
# --device cuda` step — on a machine without a GPU, against a fake CUDA
# driver (kernels/emu/fakecuda, LD_PRELOAD): device memory is host memory
# and every kernel launch runs the real kernels/*.cu in the host emulator.
# It checks everything between the Go API and the kernels (argument
# packing against the PTX parameter lists, views and strides, copies, the
# pool, error paths, the trainer's device path) with the kernels computing
# as the emulator does; what it cannot check is what only hardware shows
# (speed, the driver's JIT, async races, how the hardware reads the sm_90a
# kernels' descriptors beyond the emulator's model). CI runs it after the
# CUDA toolkit install. Needs nvcc, cuda.h and libcuda.so
# (scripts/install-cuda.sh) and g++ >= 12.
# About 6 minutes on 2 cores.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
W=$(mktemp -d "${TMPDIR:-/tmp}/ragr-fakecuda.XXXXXX")
trap 'rm -rf "$W"' EXIT
kernels/emu/fakecuda/build.sh "$W/lib" >/dev/null || { echo "fakecuda: building the fake driver failed" >&2; exit 1; }
LIB=$W/lib/libfakecuda.so
for p in kernels/cuda tensor/gpu models/bert models/qwen2; do
	go test -c -tags cuda -o "$W/$(basename "$p").test" "./$p/" || exit 1
done
go build -tags cuda -o "$W/ragr" ./cmd/ragr || exit 1
# the tests draw fresh inputs each run unless RAGR_TEST_SEED is set: CI runs
# one fixed draw (a failure there is reproducible); set another to explore
export RAGR_TEST_SEED=${RAGR_TEST_SEED:-20261126}
# every device allocation NaN-filled (a reused pool block too): an op that
# reads what it did not write, or relies on zeros, fails
export RAGR_CUDA_POISON=1
status=0
run() { # run NAME DIR ARGS...: one test binary under the fake driver
	local name=$1 dir=$2
	shift 2
	local t0=$SECONDS
	if (cd "$dir" && LD_PRELOAD=$LIB "$W/$name" -test.count=1 "$@") >"$W/$name.log" 2>&1; then
		echo "fakecuda: $name ok ($((SECONDS - t0)) s)"
	else
		echo "fakecuda: $name FAILED ($((SECONDS - t0)) s):"
		grep -E -- '^(--- FAIL|FAIL|panic)|_test.go:[0-9]+:' "$W/$name.log" | head -40
		status=1
	fi
}
# TestGemm's sweep is hours in the emulator (make emu checks those kernels);
# TestExtraPTX needs a driver that rejects bad PTX.
run cuda.test kernels/cuda -test.skip '^(TestGemm|TestExtraPTX)$'
run gpu.test tensor/gpu
run bert.test models/bert -test.short -test.run CUDA
run qwen2.test models/qwen2 -test.short -test.run CUDA
# The same driver playing an H100 (compute 9.0): the sm_90a GEMM and
# attention kernels (emulated TMA, mbarriers, wgmma) through the Go
# launchers — tensor maps from a fake cuTensorMapEncodeTiled, the auto
# paths, every GEMM tile — and the BERT fused attention on them.
# the sm_90a modules: their committed PTX (kernels/ptx, built on a GPU
# machine's nvcc >= 12.3) is embedded; any not committed comes from nvcc
# 11.8's front end through RAGR_EXTRA_PTX (the emulator runs the .cu source
# either way: the PTX gives the Go side the kernels' parameter lists)
export FAKECUDA_CC=90
extra=""
for m in gemm90 attention90; do
	[ -f "kernels/ptx/$m.ptx" ] || extra="${extra:+$extra,}$W/lib/$m.ptx"
done
[ -z "$extra" ] || export RAGR_EXTRA_PTX="$extra"
run cuda.test kernels/cuda -test.run '^(TestGemm90|TestGemm90Auto|TestGemm90Probe|TestGemm90SplitK|TestAttention90|TestAttention90MatchesMMA|TestAttentionAutoPath|TestAttentionErrors)$'
mv "$W/cuda.test.log" "$W/cuda90.log" 2>/dev/null
run bert.test models/bert -test.short -test.run 'FusedAttention.*CUDA'
unset FAKECUDA_CC RAGR_EXTRA_PTX
# the trainer on the device: one BERT step with fused attention and dropout,
# a checkpoint, the export
t0=$SECONDS
if LD_PRELOAD=$LIB "$W/ragr" train reranker --config examples/demo/reranker.yaml --device cuda \
	--set max_steps=1 --set save_steps=1 --set eval_steps=0 --set val_proportion=0 --set max_len=64 \
	--set train_group_size=4 --set batch_size=2 --set "output_dir=$W/demo" \
	--set "model_config={hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: 64, max_position_embeddings: 128, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1}" \
	>"$W/train.log" 2>&1 && grep -q "trained 1 steps" "$W/train.log" && [ -f "$W/demo/model/model.safetensors" ]; then
	echo "fakecuda: ragr train reranker --device cuda ok ($((SECONDS - t0)) s)"
else
	echo "fakecuda: ragr train reranker --device cuda FAILED:"
	tail -n 20 "$W/train.log"
	status=1
fi
exit $status
