package cpu

// Vector math: dst[i] = f(x[i]) for f in exp, tanh, erf, sigmoid and log,
// over contiguous float32 slices of equal length (dst may alias x), with
// float64 twins (suffix 64) that call the math package.
//
// Variants: AVX-512 and AVX2+FMA kernels in math_amd64.s (written by
// math_asmgen.go, see `go generate`), and a plain-Go twin of each (the
// mathExp1, mathTanh1, ... functions below) that evaluates the same
// polynomials in the same order without fused multiply-adds, so the tiers
// agree to a few ulps. Long slices are split over the worker pool.
//
// Algorithms (coefficients in math_consts.go, fitted by minimax):
//   - exp: Cody-Waite reduction x = n*ln2 + r, |r| <= ln2/2, a degree-6
//     polynomial, scaling by 2^n done as two exact powers of two (or
//     VSCALEFPS), so subnormal results round once.
//   - tanh: an odd polynomial below |x| = 0.625, 1 - 2/(exp(2|x|)+1) above.
//   - erf: an odd polynomial below |x| = 0.75, 1 - erfc(|x|) above with
//     erfc(z) = t*exp(-z^2 + Q(t)), t = 2/(2+z), z^2 carried exactly as a
//     hi+lo pair through a two-part exp.
//   - sigmoid: (x >= 0 ? 1 : e)/(1+e) with e = exp(-|x|), exact to the
//     subnormal range on both sides.
//
// Benchmarks: go test -run '^$' -bench 'Exp|Tanh|Erf' ./kernels/cpu/

//go:generate go run math_asmgen.go

import "math"

// Exp sets dst[i] = e^x[i]. dst may alias x.
//
// Accuracy, every tier, against math.Exp on [-87.3, 88.7] (normal
// results): relative error under 1.5e-7, about 1 ulp (measured on 2^20
// inputs: 9.4e-8 plain Go, 7.4e-8 AVX2/AVX-512). Below -87.3 the results
// are subnormal, with absolute error under 2^-149; below -103.98 they are
// 0, and from 88.7228 up +Inf. Exp(-Inf) = 0, Exp(+Inf) = +Inf, NaN gives
// NaN.
func Exp(dst, x []float32) {
	elemCheck2("Exp", dst, x)
	elemMapUnary(elemPickUnary(mathExpAVX512, mathExpAVX2, mathExpGeneric), dst, x)
}

// Tanh sets dst[i] = tanh(x[i]). dst may alias x.
//
// Accuracy, every tier, against math.Tanh over all float32 inputs: relative
// error under 2e-7 (measured on 2^20 inputs: 1.3e-7). Tanh(x) = x exactly
// for tiny |x| (subnormals and ±0 included), ±1 exactly for |x| > 9.02 and
// for ±Inf; NaN gives NaN.
func Tanh(dst, x []float32) {
	elemCheck2("Tanh", dst, x)
	elemMapUnary(elemPickUnary(mathTanhAVX512, mathTanhAVX2, mathTanhGeneric), dst, x)
}

// Erf sets dst[i] = erf(x[i]). dst may alias x.
//
// Accuracy, every tier, against math.Erf over all float32 inputs: relative
// error under 2.5e-7 wherever erf(x) is a normal float32 (measured on 2^20
// inputs: 1.75e-7); where it is subnormal (|x| < 1.05e-38) the absolute
// error is under 2^-149. Erf(±Inf) = ±1, NaN gives NaN.
func Erf(dst, x []float32) {
	elemCheck2("Erf", dst, x)
	elemMapUnary(elemPickUnary(mathErfAVX512, mathErfAVX2, mathErfGeneric), dst, x)
}

// Sigmoid sets dst[i] = 1/(1+e^-x[i]). dst may alias x.
//
// Accuracy, every tier, against 1/(1+math.Exp(-x)) in float64 over all
// float32 inputs: relative error under 2.5e-7 wherever the result is a
// normal float32 (measured on 2^20 inputs: 1.74e-7); subnormal results
// (x < -87.3) have absolute error under 2^-149, and below -103.98 the
// result is 0. Sigmoid(+Inf) = 1, Sigmoid(-Inf) = 0, NaN gives NaN.
func Sigmoid(dst, x []float32) {
	elemCheck2("Sigmoid", dst, x)
	elemMapUnary(elemPickUnary(mathSigmoidAVX512, mathSigmoidAVX2, mathSigmoidGeneric), dst, x)
}

// Log sets dst[i] = ln(x[i]) (NaN for x < 0, -Inf for ±0). dst may alias x.
// Every tier computes float32(math.Log(float64(x))), correctly rounded in
// all but rare cases (error at most 0.5 ulp + 2^-53 relative).
func Log(dst, x []float32) {
	elemCheck2("Log", dst, x)
	elemMapUnary(elemUnaryKern{gen: mathLogGeneric}, dst, x)
}

// Exp64 sets dst[i] = math.Exp(x[i]). dst may alias x.
func Exp64(dst, x []float64) {
	elemCheck2("Exp64", dst, x)
	elemMap64(dst, x, math.Exp)
}

// Tanh64 sets dst[i] = math.Tanh(x[i]). dst may alias x.
func Tanh64(dst, x []float64) {
	elemCheck2("Tanh64", dst, x)
	elemMap64(dst, x, math.Tanh)
}

// Erf64 sets dst[i] = math.Erf(x[i]). dst may alias x.
func Erf64(dst, x []float64) {
	elemCheck2("Erf64", dst, x)
	elemMap64(dst, x, math.Erf)
}

// Sigmoid64 sets dst[i] = 1/(1+math.Exp(-x[i])). dst may alias x.
func Sigmoid64(dst, x []float64) {
	elemCheck2("Sigmoid64", dst, x)
	elemMap64(dst, x, mathSigmoid64)
}

// Log64 sets dst[i] = math.Log(x[i]). dst may alias x.
func Log64(dst, x []float64) {
	elemCheck2("Log64", dst, x)
	elemMap64(dst, x, math.Log)
}

func mathSigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// ---------------------------------------------------------------------------
// Plain-Go twins of the assembly (the Generic tier). They mirror the
// operation order of math_asmgen.go; where the assembly fuses a
// multiply-add these round twice.

const (
	mathSignBit uint32  = 0x80000000
	mathRound   float32 = 12582912 // 1.5*2^23: (v+mathRound)-mathRound rounds |v| < 2^22 to an integer
)

func mathAbs(x float32) float32 {
	return math.Float32frombits(math.Float32bits(x) &^ mathSignBit)
}

// mathOrSign returns r with the sign bit of s or-ed in.
func mathOrSign(r, s float32) float32 {
	return math.Float32frombits(math.Float32bits(r) | math.Float32bits(s)&mathSignBit)
}

// mathExpPoly returns 2^n * (1 + r*(1 + r*q(r))) for an integral n in
// [-160, 130].
func mathExpPoly(r, n float32) float32 {
	p := mathExpQ4*r + mathExpQ3
	p = p*r + mathExpQ2
	p = p*r + mathExpQ1
	p = p*r + mathExpQ0
	p = p*r + 1
	p = p*r + 1
	ni := int32(n) // NaN gives an arbitrary value; p is NaN then
	n1 := ni >> 1
	n2 := ni - n1
	return p * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(n2+127)<<23)
}

// mathExp1 is the plain-Go exp.
func mathExp1(x float32) float32 {
	if x > mathExpHi {
		x = mathExpHi
	}
	if x < mathExpLo {
		x = mathExpLo
	}
	n := float32(x*mathLog2E) + mathRound
	n -= mathRound
	r := x - n*mathLn2Hi
	r -= n * mathLn2Lo
	return mathExpPoly(r, n)
}

// mathExp2 returns exp(hi+lo) for hi+lo in [-115, 0], keeping the part of
// lo that the float32 sum hi+lo would round away.
func mathExp2(hi, lo float32) float32 {
	n := float32((hi+lo)*mathLog2E) + mathRound
	n -= mathRound
	r := hi - n*mathLn2Hi
	r += lo
	r -= n * mathLn2Lo
	return mathExpPoly(r, n)
}

// mathTanh1 is the plain-Go tanh.
func mathTanh1(x float32) float32 {
	a := mathAbs(x)
	if a < mathTanhT {
		u := x * x
		p := mathTanhP4*u + mathTanhP3
		p = p*u + mathTanhP2
		p = p*u + mathTanhP1
		p = p*u + mathTanhP0
		return mathOrSign((u*x)*p+x, x) // keeps tanh(-0) = -0
	}
	e := mathExp1(a + a)
	return mathOrSign(1-2/(e+1), x)
}

// mathErfPoly returns P(u) with erf(x) ≈ x*P(x*x) for |x| < mathErfA.
func mathErfPoly(u float32) float32 {
	p := mathErfP5*u + mathErfP4
	p = p*u + mathErfP3
	p = p*u + mathErfP2
	p = p*u + mathErfP1
	return p*u + mathErfP0
}

// mathErfcCore returns erfc(z) for z >= mathErfA (clamped to mathErfClamp)
// given hi+lo = z*z exactly.
func mathErfcCore(z, hi, lo float32) float32 {
	t := 2 / (z + 2)
	q := mathErfcQ8*t + mathErfcQ7
	q = q*t + mathErfcQ6
	q = q*t + mathErfcQ5
	q = q*t + mathErfcQ4
	q = q*t + mathErfcQ3
	q = q*t + mathErfcQ2
	q = q*t + mathErfcQ1
	q = q*t + mathErfcQ0
	q -= lo
	return mathExp2(-hi, q) * t
}

// mathSquare returns hi+lo = a*a exactly.
func mathSquare(a float32) (hi, lo float32) {
	hi = a * a
	lo = float32(float64(a)*float64(a) - float64(hi))
	return hi, lo
}

// mathErf1 is the plain-Go erf.
func mathErf1(x float32) float32 {
	a := mathAbs(x)
	if a < mathErfA {
		return mathErfPoly(x*x) * x
	}
	if a > mathErfClamp {
		a = mathErfClamp
	}
	hi, lo := mathSquare(a)
	return mathOrSign(1-mathErfcCore(a, hi, lo), x)
}

// mathSigmoid1 is the plain-Go sigmoid.
func mathSigmoid1(x float32) float32 { return mathSigmoidNum(1, x) }

// mathSigmoidNum returns a*sigmoid(v) as (v >= 0 ? a : a*e)/(1+e) with
// e = exp(-|v|), which neither overflows nor cancels.
func mathSigmoidNum(a, v float32) float32 {
	e := mathExp1(-mathAbs(v))
	num := a * e
	if v >= 0 {
		num = a
	}
	return num / (e + 1)
}

func mathExpGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = mathExp1(v)
	}
}

func mathTanhGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = mathTanh1(v)
	}
}

func mathErfGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = mathErf1(v)
	}
}

func mathSigmoidGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = mathSigmoid1(v)
	}
}

func mathLogGeneric(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = float32(math.Log(float64(v)))
	}
}
