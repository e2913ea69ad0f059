//go:build !cuda

package gpu_test

// Without the cuda tag the backend conformance tests (backend_test.go)
// check the simulated accelerator (tensor.Sim) against the CPU backend:
// the CPU kernels behind a device boundary, so every comparison is exact
// there, and what this run checks is the harness itself (device views,
// poisoned outputs and their guards, transfers) and the sim's plumbing —
// every CI machine runs the bodies the GPU run depends on.

import (
	"fmt"
	"os"
	"testing"

	"github.com/ragr-dev/ragr/tensor"
)

func TestMain(m *testing.M) {
	dev = tensor.Sim(0)
	var err error
	if gb, err = tensor.BackendFor(dev); err != nil {
		fmt.Fprintln(os.Stderr, "tensor/gpu sim tests:", err)
		os.Exit(1)
	}
	cb, _ = tensor.BackendFor(tensor.CPU)
	if err := initSeed(); err != nil {
		fmt.Fprintln(os.Stderr, "tensor/gpu sim tests:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
