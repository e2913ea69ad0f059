//go:build cuda

package qwen2

// Qwen2 on the GPU in bf16 mixed precision against fp32 on the CPU: the
// fused causal attention with grouped-query heads alone (left and right
// padding, dropout), and a few AdamW steps of a small sequence classifier
// (head size 64, so attention runs the flash kernels). Runs only on a
// machine with a GPU (scripts/gpu-run.sh runs this binary with -test.run
// CUDA).

import (
	"testing"

	"github.com/ragr-dev/ragr/internal/devtest"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestCausalAttentionCUDAMatchesCPU(t *testing.T) {
	checkCausalAttentionMixed(t, devtest.CUDA(t, true))
}

func TestMixedPrecisionStepsCUDAMatchFP32CPU(t *testing.T) {
	checkMixedSteps(t, devtest.CUDA(t, true))
	t.Logf("host fallbacks %v", gpu.HostFallbacks())
}
