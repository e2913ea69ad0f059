//go:build cuda

package main

import (
	// The tensor package's CUDA backend: registered for cuda:N devices.
	"github.com/ragr-dev/ragr/tensor/gpu"
)

func init() {
	cudaDevices = gpu.Devices
	hostFallbacks = gpu.HostFallbacks
}
