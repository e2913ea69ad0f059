//go:build amd64 && !purego

package cpu

// fmaLoopAVX512 runs iters iterations of 24 independent 16-lane float32 FMAs
// (768 flops per iteration) on registers only.
//
//go:noescape
func fmaLoopAVX512(iters int)

// fmaLoopAVX2 runs iters iterations of 12 independent 8-lane float32 FMAs
// (192 flops per iteration) on registers only.
//
//go:noescape
func fmaLoopAVX2(iters int)

// fmaLoop runs iters iterations of the tier's register-only FMA loop and
// returns the float32 flops it performed.
func fmaLoop(tier Tier, iters int) float64 {
	switch tier {
	case AVX512:
		fmaLoopAVX512(iters)
		return float64(iters) * 24 * 16 * 2
	case AVX2:
		fmaLoopAVX2(iters)
		return float64(iters) * 12 * 8 * 2
	}
	return fmaLoopGo(iters)
}
