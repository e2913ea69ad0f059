package cpu

// Activations and their backward passes, element-wise over contiguous
// slices of equal length, with float64 twins (suffix 64):
//
//	GeluErf   x/2 * (1 + erf(x/sqrt2))                (BERT's exact GELU)
//	GeluTanh  x/2 * (1 + tanh(sqrt(2/pi)*(x + 0.044715x^3)))
//	Silu      x * sigmoid(x)
//
// and the backward of each (dx = dy * f'(x), written, not accumulated), plus
// TanhBackward and SigmoidBackward, which take the forward output y.
// Outputs may alias inputs. NaN propagates; at x = ±Inf the backward
// passes use the derivative's limits (1 and 0) rather than Inf*0 = NaN,
// while the forward passes follow PyTorch (GeluErf(-Inf), GeluTanh(-Inf)
// and Silu(-Inf) are NaN, +Inf maps to +Inf).
//
// Variants: AVX-512 and AVX2+FMA kernels in act_amd64.s (written by
// math_asmgen.go) and the plain-Go twins below, which follow the same
// formulas in the same order (they agree to a few ulps). The float32
// kernels use forms that stay accurate in the tails, where the textbook
// forms cancel: 1 + erf(z) for z < -0.75 is erfc(-z) computed directly,
// 1 + tanh(u) is 2*sigmoid(2u), and sigmoid'(v) = sigmoid(v)(1-sigmoid(v))
// is e/(1+e)^2 with e = exp(-|v|).
//
// Accuracy, every tier, against float64 (TestActAccuracy scans 2^20
// inputs; measured figures in parentheses), for normal float32 results:
//   - GeluErf: relative error under 4e-7 for x >= -12 (3.6e-7), under 1e-6
//     below, down to where the result underflows (x < -13.2).
//   - GeluTanh: relative error under 1e-6 for x >= -3; below, the float32
//     rounding of the cubic argument grows it to 2e-6 at x = -5 and 1.3e-5
//     at x = -10 (PyTorch's float32 1+tanh form returns 0 there).
//   - Silu: relative error under 3e-7 for x >= -87.3 (2.2e-7); below, where
//     exp(x) is subnormal, under 1e-5.
//   - The backward passes: |dx - exact| under 1.5e-7*(1+|x|)*|dy|
//     (1.03e-7); relative error is meaningless near the zero crossings of
//     the derivatives (x = -0.75 for GELU, -1.28 for SiLU).
//
// Benchmarks: go test -run '^$' -bench 'Gelu' ./kernels/cpu/

import "math"

// GeluErf sets dst[i] = x/2 * (1 + erf(x/sqrt(2))) for x = x[i]. Relative
// error under 4e-7 for x >= -12 and under 1e-6 below (every tier, normal
// results); GeluErf(+Inf) = +Inf, GeluErf(-Inf) = NaN as in PyTorch.
func GeluErf(dst, x []float32) {
	elemCheck2("GeluErf", dst, x)
	elemMapUnary(elemPickUnary(actGeluErfAVX512, actGeluErfAVX2, actGeluErfGeneric), dst, x)
}

// GeluErfBackward sets dx[i] = dy[i] * (Phi(x) + x*phi(x)) for x = x[i],
// where Phi and phi are the standard normal CDF and density. Absolute error
// under 1.5e-7*(1+|x|)*|dy|; at x = ±Inf it uses the limits 1 and 0.
func GeluErfBackward(dx, dy, x []float32) {
	elemCheck3("GeluErfBackward", dx, dy, x, "dy", "x")
	elemMapBinary(elemPickBinary(actGeluErfBwdAVX512, actGeluErfBwdAVX2, actGeluErfBwdGeneric), dx, dy, x)
}

// GeluTanh sets dst[i] = x/2 * (1 + tanh(sqrt(2/pi)*(x + 0.044715x^3))),
// computed as x*sigmoid(2u). Relative error under 1e-6 for x >= -3, growing
// to 1.3e-5 at x = -10 (the rounding of the cubic argument).
func GeluTanh(dst, x []float32) {
	elemCheck2("GeluTanh", dst, x)
	elemMapUnary(elemPickUnary(actGeluTanhAVX512, actGeluTanhAVX2, actGeluTanhGeneric), dst, x)
}

// GeluTanhBackward sets dx[i] = dy[i] * d/dx GeluTanh(x[i]). Absolute
// error under 1.5e-7*(1+|x|)*|dy|; at x = ±Inf it uses the limits 1 and 0.
func GeluTanhBackward(dx, dy, x []float32) {
	elemCheck3("GeluTanhBackward", dx, dy, x, "dy", "x")
	elemMapBinary(elemPickBinary(actGeluTanhBwdAVX512, actGeluTanhBwdAVX2, actGeluTanhBwdGeneric), dx, dy, x)
}

// Silu sets dst[i] = x/(1 + e^-x) for x = x[i]. Relative error under 3e-7
// for x >= -87.3 and under 1e-5 below (where e^x is subnormal).
func Silu(dst, x []float32) {
	elemCheck2("Silu", dst, x)
	elemMapUnary(elemPickUnary(actSiluAVX512, actSiluAVX2, actSiluGeneric), dst, x)
}

// SiluBackward sets dx[i] = dy[i] * s*(1 + x*(1-s)), s = sigmoid(x[i]).
// Absolute error under 1.5e-7*(1+|x|)*|dy|; at x = ±Inf it uses the limits
// 1 and 0.
func SiluBackward(dx, dy, x []float32) {
	elemCheck3("SiluBackward", dx, dy, x, "dy", "x")
	elemMapBinary(elemPickBinary(actSiluBwdAVX512, actSiluBwdAVX2, actSiluBwdGeneric), dx, dy, x)
}

// TanhBackward sets dx[i] = dy[i] * (1 - y[i]*y[i]), where y = tanh(x) is
// the forward output.
func TanhBackward(dx, dy, y []float32) {
	elemCheck3("TanhBackward", dx, dy, y, "dy", "y")
	elemMapBinary(elemPickBinary(actTanhBwdAVX512, actTanhBwdAVX2, actTanhBwdGeneric[float32]), dx, dy, y)
}

// SigmoidBackward sets dx[i] = dy[i] * (1 - y[i]) * y[i], where
// y = sigmoid(x) is the forward output.
func SigmoidBackward(dx, dy, y []float32) {
	elemCheck3("SigmoidBackward", dx, dy, y, "dy", "y")
	elemMapBinary(elemPickBinary(actSigmoidBwdAVX512, actSigmoidBwdAVX2, actSigmoidBwdGeneric[float32]), dx, dy, y)
}

// GeluErf64 is the float64 twin of GeluErf: x/2 * erfc(-x/sqrt2), which
// equals x/2 * (1 + erf(x/sqrt2)) without its cancellation for x < 0.
func GeluErf64(dst, x []float64) {
	elemCheck2("GeluErf64", dst, x)
	elemMap64(dst, x, actGeluErf64)
}

// GeluErfBackward64 is the float64 twin of GeluErfBackward.
func GeluErfBackward64(dx, dy, x []float64) {
	elemCheck3("GeluErfBackward64", dx, dy, x, "dy", "x")
	actBwd64(dx, dy, x, actGeluErfGrad64)
}

// GeluTanh64 is the float64 twin of GeluTanh (PyTorch's formula).
func GeluTanh64(dst, x []float64) {
	elemCheck2("GeluTanh64", dst, x)
	elemMap64(dst, x, actGeluTanh64)
}

// GeluTanhBackward64 is the float64 twin of GeluTanhBackward (PyTorch's
// formula).
func GeluTanhBackward64(dx, dy, x []float64) {
	elemCheck3("GeluTanhBackward64", dx, dy, x, "dy", "x")
	actBwd64(dx, dy, x, actGeluTanhGrad64)
}

// Silu64 is the float64 twin of Silu.
func Silu64(dst, x []float64) {
	elemCheck2("Silu64", dst, x)
	elemMap64(dst, x, func(v float64) float64 { return v / (1 + math.Exp(-v)) })
}

// SiluBackward64 is the float64 twin of SiluBackward.
func SiluBackward64(dx, dy, x []float64) {
	elemCheck3("SiluBackward64", dx, dy, x, "dy", "x")
	actBwd64(dx, dy, x, func(v float64) float64 {
		if l, ok := actInfLimit(v); ok {
			return l
		}
		s := mathSigmoid64(v)
		return s * (1 + v*(1-s))
	})
}

// TanhBackward64 is the float64 twin of TanhBackward.
func TanhBackward64(dx, dy, y []float64) {
	elemCheck3("TanhBackward64", dx, dy, y, "dy", "y")
	elemRun(len(dx), func(lo, hi int) { actTanhBwdGeneric(dx[lo:hi], dy[lo:hi], y[lo:hi]) })
}

// SigmoidBackward64 is the float64 twin of SigmoidBackward.
func SigmoidBackward64(dx, dy, y []float64) {
	elemCheck3("SigmoidBackward64", dx, dy, y, "dy", "y")
	elemRun(len(dx), func(lo, hi int) { actSigmoidBwdGeneric(dx[lo:hi], dy[lo:hi], y[lo:hi]) })
}

func actGeluErf64(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }

// actInfLimit returns the limit of a GELU or SiLU derivative at x = ±Inf.
func actInfLimit(x float64) (float64, bool) {
	if math.IsInf(x, 0) {
		if x > 0 {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func actGeluErfGrad64(x float64) float64 {
	if l, ok := actInfLimit(x); ok {
		return l
	}
	return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
}

// The constants of PyTorch's tanh GELU.
const (
	actGeluBeta  = 0.7978845608028654 // sqrt(2/pi)
	actGeluKappa = 0.044715
)

func actGeluTanh64(x float64) float64 {
	inner := actGeluBeta * (x + actGeluKappa*x*x*x)
	return 0.5 * x * (1 + math.Tanh(inner))
}

func actGeluTanhGrad64(x float64) float64 {
	if l, ok := actInfLimit(x); ok {
		return l
	}
	x2 := x * x
	inner := actGeluBeta * (x + actGeluKappa*x2*x)
	th := math.Tanh(inner)
	left := 0.5 * x
	right := 1 + th
	return 0.5*right + left*(1-th*th)*actGeluBeta*(1+3*actGeluKappa*x2)
}

// actBwd64 sets dx = dy * grad(x), in parallel when long.
func actBwd64(dx, dy, x []float64, grad func(float64) float64) {
	elemRun(len(dx), func(lo, hi int) {
		d, g, s := dx[lo:hi], dy[lo:hi], x[lo:hi]
		for i := range d {
			d[i] = g[i] * grad(s[i])
		}
	})
}

// ---------------------------------------------------------------------------
// Plain-Go twins of the assembly (mirroring math_asmgen.go).

// actGeluW returns w = 1 + erf(x/sqrt2) and hi+lo = xc*xc/2 exactly, xc = x
// clamped to ±mathGeluClamp.
func actGeluW(x float32) (w, hi, lo float32) {
	xc := x
	if xc > mathGeluClamp {
		xc = mathGeluClamp
	}
	if xc < -mathGeluClamp {
		xc = -mathGeluClamp
	}
	hi, lo = mathSquare(xc)
	hi *= mathHalf
	lo *= mathHalf
	z := x * mathInvSqrt2
	if mathAbs(z) < mathErfA {
		return z*mathErfPoly((x*x)*mathHalf) + 1, hi, lo
	}
	e := mathErfcCore(mathAbs(xc)*mathInvSqrt2, hi, lo)
	if x > 0 {
		return 2 - e, hi, lo
	}
	return e, hi, lo
}

func actGeluErf1(x float32) float32 {
	w, _, _ := actGeluW(x)
	return (x * mathHalf) * w
}

func actGeluErfGrad1(x float32) float32 {
	w, hi, lo := actGeluW(x)
	phi := mathExp2(-hi, -lo) * mathInvSqrt2Pi
	return actClamp(x, mathGeluClamp)*phi + w*mathHalf
}

// actClamp returns x clamped to [-c, c]; NaN stays NaN. The backward
// passes clamp x in terms x*f(x) where f(x) has already underflowed to 0,
// so that huge or infinite x gives the limit instead of Inf*0 = NaN.
func actClamp(x, c float32) float32 {
	if x > c {
		x = c
	}
	if x < -c {
		x = -c
	}
	return x
}

func actGeluTanh1(x float32) float32 {
	v := (x*x)*mathGeluK2 + mathGeluK1
	v *= x
	return mathSigmoidNum(x, v)
}

// actSigmoidParts returns e = exp(-|v|), inv = 1/(1+e) and s = sigmoid(v).
func actSigmoidParts(v float32) (e, inv, s float32) {
	e = mathExp1(-mathAbs(v))
	inv = 1 / (e + 1)
	s = e * inv
	if v >= 0 {
		s = inv
	}
	return e, inv, s
}

func actGeluTanhGrad1(x float32) float32 {
	x2 := x * x
	v := (x2*mathGeluK2 + mathGeluK1) * x
	e, inv, s := actSigmoidParts(v)
	xc := actClamp(x, mathGeluClamp)
	g := (xc*xc)*mathGeluK3 + mathGeluK1
	g = (((g * xc) * e) * inv) * inv
	return g + s
}

func actSilu1(x float32) float32 { return mathSigmoidNum(x, x) }

func actSiluGrad1(x float32) float32 {
	e, inv, s := actSigmoidParts(x)
	return ((e*actClamp(x, mathSiluClamp))*inv)*inv + s
}

func actGeluErfGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = actGeluErf1(v)
	}
}

func actGeluTanhGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = actGeluTanh1(v)
	}
}

func actSiluGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = actSilu1(v)
	}
}

func actGeluErfBwdGeneric(dx, dy, x []float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] = dy[i] * actGeluErfGrad1(x[i])
	}
}

func actGeluTanhBwdGeneric(dx, dy, x []float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] = dy[i] * actGeluTanhGrad1(x[i])
	}
}

func actSiluBwdGeneric(dx, dy, x []float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i := range dx {
		dx[i] = dy[i] * actSiluGrad1(x[i])
	}
}

func actTanhBwdGeneric[T float32 | float64](dx, dy, y []T) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i := range dx {
		dx[i] = dy[i] * (1 - T(y[i]*y[i]))
	}
}

func actSigmoidBwdGeneric[T float32 | float64](dx, dy, y []T) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i := range dx {
		dx[i] = dy[i] * (1 - y[i]) * y[i]
	}
}
