//go:build !cuda

package main

import (
	"errors"
	"io"
)

// benchKernels without the cuda build tag: the CUDA kernels are not in
// this binary.
func benchKernels(args []string, stdout, stderr io.Writer) error {
	return errors.New("bench kernels: this ragr was built without CUDA; build it with `go build -tags cuda ./cmd/ragr` (needs cuda.h and libcuda.so; see README, CUDA)")
}
