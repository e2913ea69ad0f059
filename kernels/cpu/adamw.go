package cpu

// One AdamW step over a flat parameter tensor, in the arithmetic order of
// PyTorch's torch.optim.AdamW (single-tensor path, amsgrad=False,
// maximize=False), with a float64 twin:
//
//	param *= 1 - lr*weightDecay
//	m = lerp(m, grad, 1-beta1)                 (m + w*(g-m), w < 0.5)
//	v = v*beta2 + (1-beta2)*grad*grad
//	denom = sqrt(v)/sqrt(1-beta2^step) + eps
//	param += (-lr/(1-beta1^step)) * m / denom
//
// The scalars (1-lr*weightDecay, 1-beta1, 1-beta2, the bias corrections and
// the step size) are computed in float64, as PyTorch does with Python
// floats, and rounded to float32 once; the per-element work is float32.
// AVX-512 / AVX2 kernels (no fused multiply-adds, so bit-identical to the
// plain-Go loop) split over the worker pool: the step is memory-bound
// (seven float32 streams per element).

import (
	"fmt"
	"math"
	"strconv"
)

// adamwScalars are the per-step constants, in the element type.
type adamwScalars[T float32 | float64] struct {
	decay, w1, beta2, c2, bc2sqrt, negStep, eps T
	gscale                                      T    // gradient multiplier (1: none)
	small                                       bool // lerp weight < 0.5
}

func adamwPrepare[T float32 | float64](fn string, n []int, lr, beta1, beta2, eps, wd float64, step int) adamwScalars[T] {
	for _, l := range n[1:] {
		if l != n[0] {
			panic(fmt.Sprintf("cpu.%s: lengths differ: param %d, grad %d, m %d, v %d", fn, n[0], n[1], n[2], n[3]))
		}
	}
	if step < 1 {
		panic(fmt.Sprintf("cpu.%s: step %d < 1 (step is 1-based, counted after the increment)", fn, step))
	}
	bc1 := 1 - math.Pow(beta1, float64(step))
	bc2 := 1 - math.Pow(beta2, float64(step))
	w1 := 1 - beta1
	return adamwScalars[T]{
		decay:   T(1 - lr*wd),
		w1:      T(w1),
		beta2:   T(beta2),
		c2:      T(1 - beta2),
		bc2sqrt: T(math.Sqrt(bc2)),
		negStep: T(-(lr / bc1)),
		eps:     T(eps),
		gscale:  1,
		small:   math.Abs(w1) < 0.5,
	}
}

// AdamW applies one AdamW step to param given its gradient, updating the
// first and second moments m and v in place. step is the 1-based step
// count after its increment (1 on the first call). All four slices have
// the same length.
//
// The hyperparameters are read as the Python floats they came from: each
// float32 is widened to the shortest decimal that rounds to it (0.9 means
// 0.9, not 0.89999997615814), so the float64 scalar arithmetic matches
// PyTorch's. PyTorch's vectorized CPU lerp fuses a multiply-add where this
// code rounds twice, so m may differ from PyTorch's in the last bit.
func AdamW(param, grad, m, v []float32, lr, beta1, beta2, eps, weightDecay float32, step int) {
	AdamWScaled(param, grad, m, v, 1, lr, beta1, beta2, eps, weightDecay, step)
}

// AdamWScaled is AdamW on the gradient multiplied by gradScale (in float32,
// element by element, as the separate pass grad *= gradScale would round
// it, so the result is bit-identical to scaling first), without writing the
// scaled gradient: gradient clipping fused into the step. grad is not
// modified.
func AdamWScaled(param, grad, m, v []float32, gradScale, lr, beta1, beta2, eps, weightDecay float32, step int) {
	s := adamwPrepare[float32]("AdamW", []int{len(param), len(grad), len(m), len(v)},
		adamwWiden(lr), adamwWiden(beta1), adamwWiden(beta2), adamwWiden(eps), adamwWiden(weightDecay), step)
	s.gscale = gradScale
	t := Current()
	elemRun(len(param), func(lo, hi int) {
		d := lo + adamwVec(t, s, param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi])
		adamwGeneric(s, param[d:hi], grad[d:hi], m[d:hi], v[d:hi])
	})
}

// AdamW64 is the float64 twin of AdamW.
func AdamW64(param, grad, m, v []float64, lr, beta1, beta2, eps, weightDecay float64, step int) {
	s := adamwPrepare[float64]("AdamW64", []int{len(param), len(grad), len(m), len(v)}, lr, beta1, beta2, eps, weightDecay, step)
	elemRun(len(param), func(lo, hi int) { adamwGeneric(s, param[lo:hi], grad[lo:hi], m[lo:hi], v[lo:hi]) })
}

// adamwWiden returns the float64 nearest to the shortest decimal
// representation of x.
func adamwWiden(x float32) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	if err != nil {
		return float64(x) // ±Inf, NaN
	}
	return f
}

func adamwGeneric[T float32 | float64](s adamwScalars[T], param, grad, m, v []T) {
	n := len(param)
	grad, m, v = grad[:n], m[:n], v[:n]
	one := T(1)
	for i := range param {
		g := grad[i]
		if s.gscale != 1 {
			g *= s.gscale
		}
		p := param[i] * s.decay
		mi := m[i]
		if s.small {
			mi = mi + T(s.w1*(g-mi))
		} else {
			mi = g - T((g-mi)*(one-s.w1))
		}
		vi := v[i] * s.beta2
		vi = vi + T(T(s.c2*g)*g)
		denom := T(T(math.Sqrt(float64(vi)))/s.bc2sqrt) + s.eps
		p = p + T(s.negStep*mi)/denom
		param[i], m[i], v[i] = p, mi, vi
	}
}
