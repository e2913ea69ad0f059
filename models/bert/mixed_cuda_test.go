//go:build cuda

package bert

// bf16 mixed precision on the GPU against fp32 on the CPU (issue 4, "On the
// GPU"): the fused attention alone, and a few AdamW training steps of a
// tiny BERT cross-encoder (head size 64, so attention runs the flash
// kernels) from the same weights and batches. Runs only on a machine with a
// GPU (scripts/gpu-run.sh runs this binary with -test.run CUDA).

import (
	"testing"

	"github.com/ragr-dev/ragr/internal/devtest"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestFusedAttentionCUDAMatchesCPU(t *testing.T) { checkFusedAttention(t, devtest.CUDA(t, true)) }

func TestFusedAttentionDropoutCUDAMatchesCPU(t *testing.T) {
	checkFusedAttentionDropout(t, devtest.CUDA(t, true))
}

func TestMixedPrecisionStepsCUDAMatchFP32CPU(t *testing.T) {
	checkMixedSteps(t, devtest.CUDA(t, true))
	t.Logf("host fallbacks %v", gpu.HostFallbacks())
}
