//go:build cuda

package gpu_test

// Every tensor.Backend method of the CUDA backend against the CPU backend
// on the same fresh random inputs: odd sizes, non-contiguous and broadcast
// views, outputs poisoned with NaN inside guard values (the output is a
// view at an offset into a larger buffer). Runs only on a machine with a
// GPU (scripts/gpu-run.sh); without the cuda tag the same bodies check the
// simulated accelerator (main_sim_test.go).

import (
	"fmt"
	"os"
	"testing"

	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func TestMain(m *testing.M) {
	b, err := gpu.Open(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tensor/gpu tests:", err)
		os.Exit(1)
	}
	b.CUDA().SetSyncLaunch(true)
	dev, gb = tensor.CUDA(0), b
	cb, _ = tensor.BackendFor(tensor.CPU)
	if err := initSeed(); err != nil {
		fmt.Fprintln(os.Stderr, "tensor/gpu tests:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "tensor/gpu tests on %v, seed %d (RAGR_TEST_SEED=%d reproduces the inputs)\n", b.CUDA(), seedBase, seedBase)
	code := m.Run()
	fmt.Fprintf(os.Stderr, "tensor/gpu host fallbacks: %v\n", gpu.HostFallbacks())
	os.Exit(code)
}
