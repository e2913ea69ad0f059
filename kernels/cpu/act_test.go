package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

var actFwdCases = []struct {
	name string
	f    func(dst, x []float32)
	gen  func(dst, x []float32)
	f64  func(dst, x []float64)
}{
	{"GeluErf", GeluErf, actGeluErfGeneric, GeluErf64},
	{"GeluTanh", GeluTanh, actGeluTanhGeneric, GeluTanh64},
	{"Silu", Silu, actSiluGeneric, Silu64},
}

// actBwdCase is a backward pass with its twins and the float64 forward it
// differentiates; fromY marks the passes that take the forward output.
type actBwdCase struct {
	name   string
	f      func(dx, dy, x []float32)
	gen    func(dx, dy, x []float32)
	f64    func(dx, dy, x []float64)
	fwd64  func(dst, x []float64)
	fromY  bool
	lo, hi float32
}

var actBwdCases = []actBwdCase{
	{"GeluErfBackward", GeluErfBackward, actGeluErfBwdGeneric, GeluErfBackward64, GeluErf64, false, -8, 8},
	{"GeluTanhBackward", GeluTanhBackward, actGeluTanhBwdGeneric, GeluTanhBackward64, GeluTanh64, false, -8, 8},
	{"SiluBackward", SiluBackward, actSiluBwdGeneric, SiluBackward64, Silu64, false, -20, 20},
	{"TanhBackward", TanhBackward, actTanhBwdGeneric[float32], TanhBackward64, Tanh64, true, -1, 1},
	{"SigmoidBackward", SigmoidBackward, actSigmoidBwdGeneric[float32], SigmoidBackward64, Sigmoid64, true, 0, 1},
}

func TestActForward(t *testing.T) {
	for _, c := range actFwdCases {
		t.Run(c.name, func(t *testing.T) {
			mathCheckUnary(t, c.name, c.f, c.gen, c.f64, -12, 12, testutil.F32Rounding, testutil.F32)
		})
	}
}

func TestActBackward(t *testing.T) {
	for _, c := range actBwdCases {
		t.Run(c.name, func(t *testing.T) {
			forEachTier(t, func(t *testing.T) {
				r := testutil.NewRand(9)
				for _, n := range append(elemSizes, elemParSize) {
					x := mathInputs(r, n, c.lo, c.hi)
					if c.fromY {
						x = testutil.Uniform32(r, n, c.lo, c.hi)
						if n > 2 {
							x[0], x[1] = mathNaN, 0
						}
					}
					dy := testutil.Normal32(r, n, 1)
					out := testutil.NewGuarded32(n)
					c.f(out.Data, dy, x)
					out.Check(t)
					want := make([]float32, n)
					c.gen(want, dy, x)
					testutil.AssertClose(t, fmt.Sprintf("%s n=%d vs plain Go", c.name, n), out.Data, want, testutil.F32Rounding)
					ref := make([]float64, n)
					c.f64(ref, testutil.To64(dy), testutil.To64(x))
					testutil.AssertClose(t, fmt.Sprintf("%s n=%d vs float64", c.name, n), out.Data, ref, testutil.F32)
					// In place over dy and over x.
					d := append([]float32(nil), dy...)
					c.f(d, d, x)
					testutil.AssertClose(t, fmt.Sprintf("%s n=%d dx=dy", c.name, n), d, out.Data, testutil.Exact)
					s := append([]float32(nil), x...)
					c.f(s, dy, s)
					testutil.AssertClose(t, fmt.Sprintf("%s n=%d dx=x", c.name, n), s, out.Data, testutil.Exact)
				}
			})
		})
	}
}

// TestActFiniteDiff checks the float64 backward passes against central
// differences of their float64 forward passes (h = 1e-6).
func TestActFiniteDiff(t *testing.T) {
	const h = 1e-6
	r := testutil.NewRand(13)
	for _, c := range actBwdCases {
		n := 500
		x := testutil.Uniform64(r, n, -6, 6)
		dy := testutil.Uniform64(r, n, -2, 2)
		xp, xm := make([]float64, n), make([]float64, n)
		for i, v := range x {
			xp[i], xm[i] = v+h, v-h
		}
		fp, fm := make([]float64, n), make([]float64, n)
		c.fwd64(fp, xp)
		c.fwd64(fm, xm)
		want := make([]float64, n)
		for i := range want {
			want[i] = dy[i] * (fp[i] - fm[i]) / (2 * h)
		}
		in := x
		if c.fromY {
			in = make([]float64, n)
			c.fwd64(in, x)
		}
		got := make([]float64, n)
		c.f64(got, dy, in)
		testutil.AssertClose(t, c.name+"64 vs finite differences", got, want, testutil.FiniteDiff)
	}
}

// TestActHandWorked checks values worked out by hand (sources in comments).
func TestActHandWorked(t *testing.T) {
	one := []float32{1}
	cases := []struct {
		name string
		got  func() float32
		want float64
	}{
		// GELU'(0) = Phi(0) + 0*phi(0) = 1/2.
		{"GeluErfBackward(1, 0)", func() float32 { d := []float32{0}; GeluErfBackward(d, one, d); return d[0] }, 0.5},
		// d/dx x/2*(1+tanh(c(x+kx^3))) at 0 = 1/2.
		{"GeluTanhBackward(1, 0)", func() float32 { d := []float32{0}; GeluTanhBackward(d, one, d); return d[0] }, 0.5},
		// SiLU'(0) = s(0)*(1 + 0) = 1/2.
		{"SiluBackward(1, 0)", func() float32 { d := []float32{0}; SiluBackward(d, one, d); return d[0] }, 0.5},
		// GELU(1) = Phi(1) = 0.8413447460685429 (standard normal CDF).
		{"GeluErf(1)", func() float32 { d := []float32{1}; GeluErf(d, d); return d[0] }, 0.8413447460685429},
		// GELU'(1) = Phi(1) + phi(1) = 0.8413447460685429 + 0.24197072451914337.
		{"GeluErfBackward(1, 1)", func() float32 { d := []float32{1}; GeluErfBackward(d, one, d); return d[0] }, 1.0833154705876864},
		// 0.5*(1+tanh(sqrt(2/pi)*1.044715)), evaluated in float64.
		{"GeluTanh(1)", func() float32 { d := []float32{1}; GeluTanh(d, d); return d[0] }, 0.8411919906082768},
		// 1/(1+e^-1).
		{"Silu(1)", func() float32 { d := []float32{1}; Silu(d, d); return d[0] }, 0.7310585786300049},
		// 1 - 0.5^2 = 0.75; (1-0.5)*0.5 = 0.25.
		{"TanhBackward(1, 0.5)", func() float32 { d := []float32{0.5}; TanhBackward(d, one, d); return d[0] }, 0.75},
		{"SigmoidBackward(1, 0.5)", func() float32 { d := []float32{0.5}; SigmoidBackward(d, one, d); return d[0] }, 0.25},
		// GeluErf(0) = 0; limits at infinity.
		{"GeluErf(0)", func() float32 { d := []float32{0}; GeluErf(d, d); return d[0] }, 0},
		{"GeluErfBackward(1, +Inf)", func() float32 { d := []float32{mathInf}; GeluErfBackward(d, one, d); return d[0] }, 1},
		{"GeluErfBackward(1, -Inf)", func() float32 { d := []float32{-mathInf}; GeluErfBackward(d, one, d); return d[0] }, 0},
		{"GeluTanhBackward(1, MaxFloat32)", func() float32 {
			d := []float32{math.MaxFloat32}
			GeluTanhBackward(d, one, d)
			return d[0]
		}, 1},
		{"SiluBackward(1, -Inf)", func() float32 { d := []float32{-mathInf}; SiluBackward(d, one, d); return d[0] }, 0},
		{"GeluErf(+Inf)", func() float32 { d := []float32{mathInf}; GeluErf(d, d); return d[0] }, math.Inf(1)},
		{"GeluErf(-Inf) (NaN, as PyTorch)", func() float32 { d := []float32{-mathInf}; GeluErf(d, d); return d[0] }, math.NaN()},
		{"Silu(-Inf) (NaN, as PyTorch)", func() float32 { d := []float32{-mathInf}; Silu(d, d); return d[0] }, math.NaN()},
	}
	forEachTier(t, func(t *testing.T) {
		for _, c := range cases {
			testutil.AssertClose(t, c.name, []float32{c.got()}, []float64{c.want}, testutil.F32Rounding)
		}
		// NaN in, NaN out, for every pass.
		for _, f := range actFwdCases {
			d := []float32{mathNaN}
			f.f(d, d)
			testutil.AssertClose(t, f.name+"(NaN)", d, []float32{mathNaN}, testutil.Exact)
		}
		for _, b := range actBwdCases {
			d := []float32{mathNaN}
			b.f(d, one, d)
			testutil.AssertClose(t, b.name+"(1, NaN)", d, []float32{mathNaN}, testutil.Exact)
			d = []float32{0.5}
			b.f(d, []float32{mathNaN}, d)
			testutil.AssertClose(t, b.name+"(NaN, 0.5)", d, []float32{mathNaN}, testutil.Exact)
		}
	})
}

// The accuracy stated in act.go's file comment; TestActAccuracy holds every
// tier to it.
var actAccuracySpecs = []struct {
	name string
	f    func(dst, x []float32)
	ref  func(float64) float64
	// relLo is where the relative bound starts to hold; maxRel is the bound
	// for normal results above it, maxRelTail the bound below it.
	relLo              float64
	maxRel, maxRelTail float64
}{
	{"GeluErf", GeluErf, actGeluErf64, -12, 4e-7, 1e-6},
	{"GeluTanh", GeluTanh, actGeluTanhExact64, -3, 1e-6, 1.5e-5},
	{"Silu", Silu, func(v float64) float64 { return v / (1 + math.Exp(-v)) }, -87.3, 3e-7, 1e-5},
}

// actGeluTanhExact64 is GeluTanh as x*sigmoid(2u) in float64 (no
// cancellation in the negative tail, unlike 1+tanh(u)).
func actGeluTanhExact64(x float64) float64 {
	u := 2 * actGeluBeta * (x + actGeluKappa*x*x*x)
	return x / (1 + math.Exp(-u))
}

// actGradAbsBound is the documented bound on |dx - dx_exact| / (1 + |x|)
// for dy = 1 (the backward passes).
const actGradAbsBound = 1.5e-7

func TestActAccuracy(t *testing.T) {
	x := mathScanInputs("", -20, 20)
	for i, v := range x {
		if math.Abs(float64(v)) > 1e4 {
			x[i] = v * 1e-30 // keep the scan where the functions are not trivially x or 0
		}
	}
	n := len(x)
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	forEachTier(t, func(t *testing.T) {
		got := make([]float32, n)
		for _, s := range actAccuracySpecs {
			s.f(got, x)
			var worst, worstTail float64
			var at, atTail float32
			for i, v := range x {
				w := s.ref(float64(v))
				if math.IsNaN(w) || math.Abs(w) < 0x1p-126 {
					continue
				}
				e := math.Abs(float64(got[i])-w) / math.Abs(w)
				if float64(v) >= s.relLo {
					if e > worst {
						worst, at = e, v
					}
				} else if e > worstTail {
					worstTail, atTail = e, v
				}
			}
			t.Logf("%s: max relative error %.3g at %g (x >= %g), %.3g at %g below", s.name, worst, at, s.relLo, worstTail, atTail)
			if worst > s.maxRel || worstTail > s.maxRelTail {
				t.Errorf("%s: relative error %.3g at %g / %.3g at %g beyond the documented %.3g / %.3g", s.name, worst, at, worstTail, atTail, s.maxRel, s.maxRelTail)
			}
		}
		grads := []struct {
			name string
			f    func(dx, dy, x []float32)
			ref  func(float64) float64
		}{
			{"GeluErfBackward", GeluErfBackward, actGeluErfGrad64},
			{"GeluTanhBackward", GeluTanhBackward, actGeluTanhGrad64},
			{"SiluBackward", SiluBackward, func(v float64) float64 { s := mathSigmoid64(v); return s * (1 + v*(1-s)) }},
		}
		for _, g := range grads {
			g.f(got, ones, x)
			var worst float64
			var at float32
			for i, v := range x {
				e := math.Abs(float64(got[i])-g.ref(float64(v))) / (1 + math.Abs(float64(v)))
				if e > worst {
					worst, at = e, v
				}
			}
			t.Logf("%s: max |error|/(1+|x|) %.3g at %g", g.name, worst, at)
			if worst > actGradAbsBound {
				t.Errorf("%s: |error|/(1+|x|) %.3g at %g beyond the documented %.3g", g.name, worst, at, actGradAbsBound)
			}
		}
	})
}

func TestActPanics(t *testing.T) {
	for _, c := range actFwdCases {
		mathExpectPanic(t, "cpu."+c.name, func() { c.f(make([]float32, 2), make([]float32, 3)) })
	}
	for _, c := range actBwdCases {
		mathExpectPanic(t, "cpu."+c.name, func() { c.f(make([]float32, 3), make([]float32, 3), make([]float32, 2)) })
		mathExpectPanic(t, "cpu."+c.name+"64", func() { c.f64(make([]float64, 3), make([]float64, 2), make([]float64, 3)) })
	}
}

// TestAct64Formulas checks the float64 twins against the textbook formulas
// written with the math package (GeluErf64 uses erfc, which equals
// 1 + erf(-z) without its cancellation, so x stays above -5 here).
func TestAct64Formulas(t *testing.T) {
	x := testutil.Uniform64(testutil.NewRand(14), 999, -5, 5)
	dy := testutil.Uniform64(testutil.NewRand(15), 999, -2, 2)
	formulas := []struct {
		name string
		got  func(dst []float64)
		want func(x, dy float64) float64
	}{
		{"GeluErf64", func(d []float64) { GeluErf64(d, x) }, func(x, _ float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }},
		{"GeluErfBackward64", func(d []float64) { GeluErfBackward64(d, dy, x) }, func(x, dy float64) float64 {
			return dy * (0.5*(1+math.Erf(x/math.Sqrt2)) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi))
		}},
		{"GeluTanh64", func(d []float64) { GeluTanh64(d, x) }, func(x, _ float64) float64 {
			return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
		}},
		{"Silu64", func(d []float64) { Silu64(d, x) }, func(x, _ float64) float64 { return x / (1 + math.Exp(-x)) }},
		{"SiluBackward64", func(d []float64) { SiluBackward64(d, dy, x) }, func(x, dy float64) float64 {
			s := 1 / (1 + math.Exp(-x))
			return dy * s * (1 + x*(1-s))
		}},
		{"TanhBackward64", func(d []float64) { TanhBackward64(d, dy, x) }, func(y, dy float64) float64 { return dy * (1 - y*y) }},
		{"SigmoidBackward64", func(d []float64) { SigmoidBackward64(d, dy, x) }, func(y, dy float64) float64 { return dy * (1 - y) * y }},
	}
	for _, f := range formulas {
		got := testutil.NewGuarded64(len(x))
		f.got(got.Data)
		got.Check(t)
		want := make([]float64, len(x))
		for i := range x {
			want[i] = f.want(x[i], dy[i])
		}
		testutil.AssertClose(t, f.name, got.Data, want, testutil.F64)
	}
}
