//go:build !amd64 || purego

package cpu

// Stand-ins for the assembly kernels of reduce_amd64.s in builds without
// them. Current() is always Generic there, so they are never called.

func reduceSumAVX512(x *float32, n int) float32 {
	panic("cpu.reduceSumAVX512: no assembly in this build")
}

func reduceSumAVX2(x *float32, n int) float32 {
	panic("cpu.reduceSumAVX2: no assembly in this build")
}

func reduceDotAVX512(x, y *float32, n int) float32 {
	panic("cpu.reduceDotAVX512: no assembly in this build")
}

func reduceDotAVX2(x, y *float32, n int) float32 {
	panic("cpu.reduceDotAVX2: no assembly in this build")
}

func reduceSumSqAVX512(x *float32, n int) float32 {
	panic("cpu.reduceSumSqAVX512: no assembly in this build")
}

func reduceSumSqAVX2(x *float32, n int) float32 {
	panic("cpu.reduceSumSqAVX2: no assembly in this build")
}

func reduceSqDevAVX512(x *float32, n int, m float32) float32 {
	panic("cpu.reduceSqDevAVX512: no assembly in this build")
}

func reduceSqDevAVX2(x *float32, n int, m float32) float32 {
	panic("cpu.reduceSqDevAVX2: no assembly in this build")
}

func reduceMaxAVX512(x *float32, n int) float32 {
	panic("cpu.reduceMaxAVX512: no assembly in this build")
}

func reduceMaxAVX2(x *float32, n int) float32 {
	panic("cpu.reduceMaxAVX2: no assembly in this build")
}

func reduceIndexEqAVX512(x *float32, n int, v float32) int {
	panic("cpu.reduceIndexEqAVX512: no assembly in this build")
}

func reduceIndexEqAVX2(x *float32, n int, v float32) int {
	panic("cpu.reduceIndexEqAVX2: no assembly in this build")
}

func reduceAddAVX512(dst, x *float32, n int) {
	panic("cpu.reduceAddAVX512: no assembly in this build")
}

func reduceAddAVX2(dst, x *float32, n int) {
	panic("cpu.reduceAddAVX2: no assembly in this build")
}

func reduceAddSqAVX512(dst, x *float32, n int) {
	panic("cpu.reduceAddSqAVX512: no assembly in this build")
}

func reduceAddSqAVX2(dst, x *float32, n int) {
	panic("cpu.reduceAddSqAVX2: no assembly in this build")
}

func reduceMaxAccAVX512(dst, x *float32, n int) {
	panic("cpu.reduceMaxAccAVX512: no assembly in this build")
}

func reduceMaxAccAVX2(dst, x *float32, n int) {
	panic("cpu.reduceMaxAccAVX2: no assembly in this build")
}

func reduceMaxArgAccAVX512(dst *float32, arg *int32, x *float32, n int, j int32) {
	panic("cpu.reduceMaxArgAccAVX512: no assembly in this build")
}

func reduceMaxArgAccAVX2(dst *float32, arg *int32, x *float32, n int, j int32) {
	panic("cpu.reduceMaxArgAccAVX2: no assembly in this build")
}
