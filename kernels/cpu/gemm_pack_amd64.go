//go:build amd64 && !purego

package cpu

// gemmCopyPackRows512 packs npan panels of step (<= 32) floats per k step
// from a source whose row p holds the panels side by side:
// dst[q*panelStride+p*step+j] = src[p*ld+q*step+j] for p < kc, j < step,
// loading the lanes of fullMask (lastMask for the last panel) and storing
// zeros in the others. AVX-512; reads and writes nothing outside the masks.
//
//go:noescape
func gemmCopyPackRows512(dst *float32, panelStride, step int, src *float32, ld, kc, npan int, fullMask, lastMask uint32)

// gemmCopyPackRows256 is the AVX2 gemmCopyPackRows512 for step <= 16; masks
// holds the full-panel load, last-panel load and store masks (low and high
// 8 lanes each, lanes 0 or -1).
//
//go:noescape
func gemmCopyPackRows256(dst *float32, panelStride, step int, src *float32, ld, kc, npan int, masks *[48]int32)
