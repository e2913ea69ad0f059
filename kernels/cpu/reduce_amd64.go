//go:build amd64 && !purego

package cpu

// Go assembly kernels of reduce.go (reduce_amd64.s). Each reads exactly n
// elements from every pointer it is given (n >= 1 for Max and IndexEq;
// n >= 0 elsewhere) and writes only its outputs.

//go:noescape
func reduceSumAVX512(x *float32, n int) float32

//go:noescape
func reduceSumAVX2(x *float32, n int) float32

//go:noescape
func reduceDotAVX512(x, y *float32, n int) float32

//go:noescape
func reduceDotAVX2(x, y *float32, n int) float32

//go:noescape
func reduceSumSqAVX512(x *float32, n int) float32

//go:noescape
func reduceSumSqAVX2(x *float32, n int) float32

//go:noescape
func reduceSqDevAVX512(x *float32, n int, m float32) float32

//go:noescape
func reduceSqDevAVX2(x *float32, n int, m float32) float32

//go:noescape
func reduceMaxAVX512(x *float32, n int) float32

//go:noescape
func reduceMaxAVX2(x *float32, n int) float32

//go:noescape
func reduceIndexEqAVX512(x *float32, n int, v float32) int

//go:noescape
func reduceIndexEqAVX2(x *float32, n int, v float32) int

//go:noescape
func reduceAddAVX512(dst, x *float32, n int)

//go:noescape
func reduceAddAVX2(dst, x *float32, n int)

//go:noescape
func reduceAddSqAVX512(dst, x *float32, n int)

//go:noescape
func reduceAddSqAVX2(dst, x *float32, n int)

//go:noescape
func reduceMaxAccAVX512(dst, x *float32, n int)

//go:noescape
func reduceMaxAccAVX2(dst, x *float32, n int)

//go:noescape
func reduceMaxArgAccAVX512(dst *float32, arg *int32, x *float32, n int, j int32)

//go:noescape
func reduceMaxArgAccAVX2(dst *float32, arg *int32, x *float32, n int, j int32)
