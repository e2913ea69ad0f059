#!/usr/bin/env bash
# gpu-run.sh: runs ON the lent GPU machine (repository root, .gpu/ carried
# there with the gzipped binaries, $OUT the folder whose files come back). scripts/gpu-check.sh builds
# .gpu/ here and prints the exact `run` call. Fits 8 minutes:
#   1. the kernel tests (.gpu/cuda.test, every kernel against CPU references),
#      the tensor CUDA backend's tests (.gpu/tensorgpu.test, every Backend
#      method against the CPU backend) and the BERT train step on both
#      devices (.gpu/bert.test -test.run CUDA),
#   2. compute-sanitizer memcheck over the same tests (reported, not fatal:
#      some machines refuse it),
#   3. ragr bench kernels with the PyTorch column (python3 there has torch),
#   4. ragr bench train (BERT-base cross-encoder fine-tuning, 32 x 256, bf16
#      mixed precision) then bench/pytorch/train_gpu_parity.py (the same
#      weights and batches in PyTorch eager with bf16 autocast): loss curves,
#      throughput ratio, peak memory; and `ragr train reranker --device cuda`
#      on the demo config for 20 steps.
# Stage timeouts: 95 + 45 + 35 + 65 + 120 + 110 = 470 s.
# What comes back in $OUT: logs.tar.gz (device.txt, tests.log,
# tensorgpu.log, bert-cuda.log, sanitizer.log, bench.*, trainbench.txt,
# ragr.json, compare.json, train-cuda.log) plus copies of bench.txt,
# bench.json, trainbench.txt and compare.json; the last lines printed are a
# summary.
set -uo pipefail
OUT=${OUT:-/tmp/ragr-gpu-out}
mkdir -p "$OUT"
# The device tool brings back at most 8 files from $OUT: every log is
# written to $LOG and packed into $OUT/logs.tar.gz at exit, with the few
# files read first (bench tables, training comparison) copied beside it.
LOG=$(mktemp -d "${TMPDIR:-/tmp}/ragr-gpu-log.XXXXXX")
pack() {
	tar czf "$OUT/logs.tar.gz" -C "$LOG" . 2>/dev/null
	for f in bench.txt bench.json trainbench.txt compare.json; do
		[ -f "$LOG/$f" ] && cp "$LOG/$f" "$OUT/"
	done
}
trap pack EXIT
cd "$(dirname "$0")/.."
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
	[ -e "$d/libcuda.so.1" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" && break
done
nvidia-smi -L 2>&1 | tee "$LOG/device.txt"
# scripts/gpu-check.sh carries the binaries gzipped; unpack them outside the tree
BIN=$(mktemp -d "${TMPDIR:-/tmp}/ragr-gpu-bin.XXXXXX")
for f in cuda.test tensorgpu.test bert.test ragr; do
	if [ ! -f ".gpu/$f.gz" ] || ! gunzip -c ".gpu/$f.gz" >"$BIN/$f"; then
		echo "gpu-run: .gpu/$f.gz missing or unreadable: run scripts/gpu-check.sh first and carry .gpu" >&2
		exit 2
	fi
	chmod +x "$BIN/$f"
done
status=0

echo "== 1. kernel tests"
( cd kernels/cuda && RAGR_CUDA_SYNC=1 timeout 95 "$BIN/cuda.test" -test.count=1 -test.v -test.timeout=90s ) >"$LOG/tests.log" 2>&1
rt=$?
grep -E '^(--- FAIL|FAIL|ok|PASS|panic)|cuda tests on' "$LOG/tests.log" | head -40
[ $rt -eq 0 ] || status=1

echo "== 1b. tensor CUDA backend tests and the BERT train step on both devices"
( cd tensor/gpu && RAGR_CUDA_SYNC=1 timeout 45 "$BIN/tensorgpu.test" -test.count=1 -test.v -test.timeout=40s ) >"$LOG/tensorgpu.log" 2>&1
rg=$?
grep -E '^(--- FAIL|FAIL|ok|PASS|panic)|tensor/gpu (tests|host)' "$LOG/tensorgpu.log" | head -40
( cd models/bert && RAGR_CUDA_SYNC=1 timeout 35 "$BIN/bert.test" -test.count=1 -test.v -test.run CUDA -test.timeout=30s ) >"$LOG/bert-cuda.log" 2>&1
rbt=$?
grep -E '^(--- FAIL|FAIL|ok|PASS|panic)|loss cpu|largest gradient|losses fp32|fused attention vs' "$LOG/bert-cuda.log" | head -20
[ $rg -eq 0 ] && [ $rbt -eq 0 ] || status=1

echo "== 2. compute-sanitizer memcheck"
if command -v compute-sanitizer >/dev/null; then
	# -test.short: tests may shrink their largest shapes under the sanitizer
	( cd kernels/cuda && timeout 65 compute-sanitizer --tool memcheck --error-exitcode 3 \
		"$BIN/cuda.test" -test.count=1 -test.short -test.timeout=60s ) >"$LOG/sanitizer.log" 2>&1
	rs=$?
	tail -n 5 "$LOG/sanitizer.log"
else
	rs=127
	echo "compute-sanitizer not on PATH" | tee "$LOG/sanitizer.log"
fi

echo "== 3. ragr bench kernels"
timeout 120 "$BIN/ragr" bench kernels --json "$LOG/bench.json" >"$LOG/bench.txt" 2>&1
rb=$?
cat "$LOG/bench.txt"
[ $rb -eq 0 ] || status=1

echo "== 4. BERT-base cross-encoder fine-tuning (32 x 256): ragr bf16 mixed precision beside PyTorch eager + bf16 autocast"
TB=$(mktemp -d "${TMPDIR:-/tmp}/ragr-trainbench.XXXXXX")
timeout 45 "$BIN/ragr" bench train --device cuda --out "$TB" >"$LOG/trainbench.txt" 2>&1
rtb=$?
rtp=125
if [ $rtb -eq 0 ]; then
	timeout 45 python3 bench/pytorch/train_gpu_parity.py --dir "$TB" >>"$LOG/trainbench.txt" 2>&1
	rtp=$?
fi
cp "$TB"/ragr.json "$TB"/compare.json "$LOG/" 2>/dev/null
cat "$LOG/trainbench.txt"
# the trainer itself on the GPU: the demo reranker with head size 64 and no
# attention dropout (fused attention), 20 steps, a checkpoint at step 10
timeout 20 "$BIN/ragr" train reranker --config examples/demo/reranker.yaml --device cuda \
	--set max_steps=20 --set save_steps=10 --set eval_steps=0 --set "output_dir=$TB/demo" \
	--set "model_config={hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512, max_position_embeddings: 256, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.0}" \
	>"$LOG/train-cuda.log" 2>&1
rtr=$?
tail -n 8 "$LOG/train-cuda.log"
[ $rtb -eq 0 ] && [ $rtp -eq 0 ] && [ $rtr -eq 0 ] || status=1

echo "== summary: kernel tests rc=$rt, tensor backend tests rc=$rg, bert cuda steps rc=$rbt, sanitizer rc=$rs (0 clean, 3 errors found, 124 timeout), bench rc=$rb, train bench ragr rc=$rtb pytorch/parity rc=$rtp (1 parity failed), ragr train --device cuda rc=$rtr"
exit $status
