//go:build cuda

package bert

// Autograd on the GPU equals the CPU (checkTrainStep, device_test.go). Runs
// only on a machine with a GPU (scripts/gpu-run.sh runs this test binary
// with -test.run CUDA).

import (
	"testing"

	"github.com/ragr-dev/ragr/internal/devtest"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestTrainStepCUDAMatchesCPU(t *testing.T) {
	checkTrainStep(t, devtest.CUDA(t, false))
	t.Logf("host fallbacks %v", gpu.HostFallbacks())
}
