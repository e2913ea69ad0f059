//go:build amd64 && !purego

package cpu

// adamwAVX512 applies adamwGeneric's step to the first n - n%16 elements;
// k holds decay, w1, 1-w1, beta2, 1-beta2, sqrt(bc2), -step size, eps,
// gradient scale.
//
//go:noescape
func adamwAVX512(param, grad, m, v *float32, n int, k *[9]float32, small bool)

// adamwAVX2 is adamwAVX512 eight elements at a time (n - n%8 elements).
//
//go:noescape
func adamwAVX2(param, grad, m, v *float32, n int, k *[9]float32, small bool)

// adamwVec runs the SIMD AdamW of the current tier over the longest prefix
// it handles and returns its length.
func adamwVec(t Tier, s adamwScalars[float32], param, grad, m, v []float32) int {
	n := len(param)
	var w int
	switch t {
	case AVX512:
		w = 16
	case AVX2:
		w = 8
	default:
		return 0
	}
	n -= n % w
	if n == 0 {
		return 0
	}
	k := [9]float32{s.decay, s.w1, 1 - s.w1, s.beta2, s.c2, s.bc2sqrt, s.negStep, s.eps, s.gscale}
	if t == AVX512 {
		adamwAVX512(&param[0], &grad[0], &m[0], &v[0], n, &k, s.small)
	} else {
		adamwAVX2(&param[0], &grad[0], &m[0], &v[0], n, &k, s.small)
	}
	return n
}
