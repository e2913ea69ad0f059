// Package bench holds ragr's benchmark suites as a library, so `ragr bench`
// prints the same figures the `go test -bench` benchmarks report: GEMM in
// GFLOP/s against the machine's measured FMA peak and gonum, and the
// memory-bound kernels in GB/s against the measured memory bandwidth.
package bench
