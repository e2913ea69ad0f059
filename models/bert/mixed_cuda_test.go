//go:build cuda

package bert

// bf16 mixed precision on the GPU against fp32 on the CPU (issue 4, "On the
// GPU"): the fused attention alone, and a few AdamW training steps of a
// tiny BERT cross-encoder (head size 64, so attention runs the flash
// kernels) from the same weights and batches. Runs only on a machine with a
// GPU (scripts/gpu-run.sh runs this binary with -test.run CUDA).

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func mixedOn(t *testing.T) tensor.Device {
	b, err := gpu.Open(0)
	require.NoError(t, err)
	b.CUDA().SetSyncLaunch(true)
	dev := tensor.CUDA(0)
	prev, err := tensor.SetMixedPrecision(dev, true)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = tensor.SetMixedPrecision(dev, prev) })
	return dev
}

func TestFusedAttentionCUDAMatchesCPU(t *testing.T) { checkFusedAttention(t, mixedOn(t)) }

func TestFusedAttentionDropoutCUDAMatchesCPU(t *testing.T) {
	checkFusedAttentionDropout(t, mixedOn(t))
}

func TestMixedPrecisionStepsCUDAMatchFP32CPU(t *testing.T) {
	checkMixedSteps(t, mixedOn(t))
	t.Logf("host fallbacks %v", gpu.HostFallbacks())
}
