//go:build !amd64 || purego

package cpu

// Stand-ins for the assembly kernels of norm_amd64.s in builds without them.
// Current() is always Generic there, so they are never called.

func normScaleShiftAVX512(dst, x, gamma, beta *float32, n int, mean, rstd float32) {
	panic("cpu.normScaleShiftAVX512: no assembly in this build")
}

func normScaleShiftAVX2(dst, x, gamma, beta *float32, n int, mean, rstd float32) {
	panic("cpu.normScaleShiftAVX2: no assembly in this build")
}

func normRMSScaleAVX512(dst, x, gamma *float32, n int, rstd float32) {
	panic("cpu.normRMSScaleAVX512: no assembly in this build")
}

func normRMSScaleAVX2(dst, x, gamma *float32, n int, rstd float32) {
	panic("cpu.normRMSScaleAVX2: no assembly in this build")
}

func normBwdAccAVX512(dgs, dbs, dy, x, gamma *float32, n int, mean, rstd float32) (sg, sgx float32) {
	panic("cpu.normBwdAccAVX512: no assembly in this build")
}

func normBwdAccAVX2(dgs, dbs, dy, x, gamma *float32, n int, mean, rstd float32) (sg, sgx float32) {
	panic("cpu.normBwdAccAVX2: no assembly in this build")
}

func normBwdDxAVX512(dx, dy, x, gamma *float32, n int, mean, rstd, a, b float32) {
	panic("cpu.normBwdDxAVX512: no assembly in this build")
}

func normBwdDxAVX2(dx, dy, x, gamma *float32, n int, mean, rstd, a, b float32) {
	panic("cpu.normBwdDxAVX2: no assembly in this build")
}
