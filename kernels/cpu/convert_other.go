//go:build !amd64 || purego

package cpu

// convHasF16C is false in builds without assembly.
const convHasF16C = false

// The conversion kernels are never called in a build without assembly (the
// tier is always Generic there).

func convF16ToF32AVX512(dst *float32, src *uint16, n int)  { panic("cpu: assembly kernel called") }
func convF32ToF16AVX512(dst *uint16, src *float32, n int)  { panic("cpu: assembly kernel called") }
func convBF16ToF32AVX512(dst *float32, src *uint16, n int) { panic("cpu: assembly kernel called") }
func convF32ToBF16AVX512(dst *uint16, src *float32, n int) { panic("cpu: assembly kernel called") }
func convF16ToF32AVX2(dst *float32, src *uint16, n int)    { panic("cpu: assembly kernel called") }
func convF32ToF16AVX2(dst *uint16, src *float32, n int)    { panic("cpu: assembly kernel called") }
func convBF16ToF32AVX2(dst *float32, src *uint16, n int)   { panic("cpu: assembly kernel called") }
func convF32ToBF16AVX2(dst *uint16, src *float32, n int)   { panic("cpu: assembly kernel called") }
