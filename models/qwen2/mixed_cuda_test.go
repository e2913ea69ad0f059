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

func TestCausalAttentionCUDAMatchesCPU(t *testing.T) { checkCausalAttentionMixed(t, mixedOn(t)) }

func TestMixedPrecisionStepsCUDAMatchFP32CPU(t *testing.T) {
	checkMixedSteps(t, mixedOn(t))
	t.Logf("host fallbacks %v", gpu.HostFallbacks())
}
