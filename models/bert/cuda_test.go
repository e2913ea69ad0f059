//go:build cuda

package bert

// Autograd on the GPU equals the CPU (checkTrainStep, device_test.go). Runs
// only on a machine with a GPU (scripts/gpu-run.sh runs this test binary
// with -test.run CUDA).

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestTrainStepCUDAMatchesCPU(t *testing.T) {
	b, err := gpu.Open(0)
	require.NoError(t, err)
	b.CUDA().SetSyncLaunch(true)
	checkTrainStep(t, tensor.CUDA(0))
	t.Logf("host fallbacks %v", gpu.HostFallbacks())
}
