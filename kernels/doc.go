// Package kernels holds ragr's CUDA kernel sources (kernels/*.cu) and, once
// the CUDA backend lands, their generated PTX (kernels/ptx/, committed and
// embedded with go:embed). It has no cgo and no Go dependencies; the CPU
// kernels live in kernels/cpu and the CUDA launchers in kernels/cuda.
package kernels
