//go:build !amd64 || purego

package cpu

// adamwVec has no SIMD version here: the plain-Go loop does every element.
func adamwVec(Tier, adamwScalars[float32], []float32, []float32, []float32, []float32) int {
	return 0
}
