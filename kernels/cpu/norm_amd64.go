//go:build amd64 && !purego

package cpu

// Go assembly row kernels of norm.go (norm_amd64.s). Each reads exactly n
// elements from every pointer it is given and writes only its outputs.

// normScaleShiftAVX512 does dst[i] = (x[i]-mean)*rstd*gamma[i] + beta[i].
//
//go:noescape
func normScaleShiftAVX512(dst, x, gamma, beta *float32, n int, mean, rstd float32)

// normScaleShiftAVX2 is normScaleShiftAVX512 for AVX2+FMA.
//
//go:noescape
func normScaleShiftAVX2(dst, x, gamma, beta *float32, n int, mean, rstd float32)

// normRMSScaleAVX512 does dst[i] = (x[i]*rstd)*gamma[i].
//
//go:noescape
func normRMSScaleAVX512(dst, x, gamma *float32, n int, rstd float32)

// normRMSScaleAVX2 is normRMSScaleAVX512 for AVX2+FMA.
//
//go:noescape
func normRMSScaleAVX2(dst, x, gamma *float32, n int, rstd float32)

// normBwdAccAVX512 returns sum(g) and sum(g*xhat), g = dy*gamma,
// xhat = (x-mean)*rstd, and does dgs += dy*xhat, dbs += dy.
//
//go:noescape
func normBwdAccAVX512(dgs, dbs, dy, x, gamma *float32, n int, mean, rstd float32) (sg, sgx float32)

// normBwdAccAVX2 is normBwdAccAVX512 for AVX2+FMA.
//
//go:noescape
func normBwdAccAVX2(dgs, dbs, dy, x, gamma *float32, n int, mean, rstd float32) (sg, sgx float32)

// normBwdDxAVX512 does dx = rstd*((dy*gamma - a) - xhat*b).
//
//go:noescape
func normBwdDxAVX512(dx, dy, x, gamma *float32, n int, mean, rstd, a, b float32)

// normBwdDxAVX2 is normBwdDxAVX512 for AVX2+FMA.
//
//go:noescape
func normBwdDxAVX2(dx, dy, x, gamma *float32, n int, mean, rstd, a, b float32)
