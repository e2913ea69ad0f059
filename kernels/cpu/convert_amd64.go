//go:build amd64 && !purego

package cpu

import "github.com/klauspost/cpuid/v2"

// convHasF16C reports whether the AVX2 tier may use VCVTPH2PS/VCVTPS2PH
// (every AVX2 CPU known has F16C, but it is a separate feature bit).
var convHasF16C = cpuid.CPU.Supports(cpuid.F16C)

// The AVX-512 kernels take any n; the AVX2 kernels take n a multiple of 8.

// convF16ToF32AVX512 sets dst[i] = float32 of the half bits src[i].
//
//go:noescape
func convF16ToF32AVX512(dst *float32, src *uint16, n int)

// convF32ToF16AVX512 sets dst[i] = half bits of src[i] (ties to even).
//
//go:noescape
func convF32ToF16AVX512(dst *uint16, src *float32, n int)

// convBF16ToF32AVX512 sets dst[i] = float32 of the bfloat16 bits src[i].
//
//go:noescape
func convBF16ToF32AVX512(dst *float32, src *uint16, n int)

// convF32ToBF16AVX512 sets dst[i] = bfloat16 bits of src[i] (ties to even).
//
//go:noescape
func convF32ToBF16AVX512(dst *uint16, src *float32, n int)

// convF16ToF32AVX2 is convF16ToF32AVX512 for n a multiple of 8 (F16C).
//
//go:noescape
func convF16ToF32AVX2(dst *float32, src *uint16, n int)

// convF32ToF16AVX2 is convF32ToF16AVX512 for n a multiple of 8 (F16C).
//
//go:noescape
func convF32ToF16AVX2(dst *uint16, src *float32, n int)

// convBF16ToF32AVX2 is convBF16ToF32AVX512 for n a multiple of 8.
//
//go:noescape
func convBF16ToF32AVX2(dst *float32, src *uint16, n int)

// convF32ToBF16AVX2 is convF32ToBF16AVX512 for n a multiple of 8.
//
//go:noescape
func convF32ToBF16AVX2(dst *uint16, src *float32, n int)
