//go:build !amd64 || purego

package cpu

// Without assembly the SIMD tiers are never selected; these empty tables keep
// the dispatch code compiling.
var (
	sgemmKernelsAVX512 [gemmMR512]sgemmKernelFunc
	sgemmKernelsAVX2   [gemmMR256]sgemmKernelFunc
)

func gemmCopyPackRows512(dst *float32, panelStride, step int, src *float32, ld, kc, npan int, fullMask, lastMask uint32) {
	panic("cpu: gemmCopyPackRows512 without assembly")
}

func gemmCopyPackRows256(dst *float32, panelStride, step int, src *float32, ld, kc, npan int, masks *[48]int32) {
	panic("cpu: gemmCopyPackRows256 without assembly")
}

func gemmTransPack512(dst *float32, dstStride int, src *float32, offs *[16]int, kc int, rowMask, storeMask uint32) {
	panic("cpu: gemmTransPack512 without assembly")
}

func gemmTransPack256(dst *float32, dstStride int, src *float32, offs *[8]int, kc int, masks *[32]int32) {
	panic("cpu: gemmTransPack256 without assembly")
}
