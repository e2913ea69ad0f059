// Package cpu holds ragr's CPU compute kernels: loops over []float32 (and
// float64 twins used as references in tests) with explicit sizes and strides,
// outputs first.
//
// Every SIMD routine (Go assembly, AVX2+FMA or AVX-512) has a plain-Go twin
// computing the same thing; the tests run each tier the machine supports
// against the plain-Go version and against float64 references.
//
// The tier is chosen once, at package initialisation, from the CPU feature
// bits reported by github.com/klauspost/cpuid/v2 (never from model numbers).
// The environment variable RAGR_CPU=generic|avx2|avx512 forces a tier (it is
// lowered to the best supported tier when the machine lacks it), and SetTier
// switches tier at run time for tests and benchmarks.
//
// Parallel kernels share one process-wide worker pool (see Parallel), sized
// from GOMAXPROCS; a kernel called from inside a pool worker runs inline, so
// pools never nest.
//
// This package has no tensor type and does not allocate in hot loops.
package cpu
