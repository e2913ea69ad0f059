package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// elemSizes are the lengths every elementwise test runs: around the vector
// widths (8 and 16 lanes, 4x unrolled loops) and longer odd lengths.
var elemSizes = []int{0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 1000, 4099}

// elemParSize is long enough to be split over the worker pool.
const elemParSize = 3*elemGrain + 37

var (
	mathNaN    = float32(math.NaN())
	mathInf    = float32(math.Inf(1))
	mathMinSub = math.Float32frombits(1)          // smallest subnormal float32
	mathMaxSub = math.Float32frombits(0x007fffff) // largest subnormal float32
)

// mathSpecials are inputs every vector-math test includes.
var mathSpecials = []float32{
	0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5, 2, -2,
	mathMinSub, -mathMinSub, mathMaxSub, -mathMaxSub, 1e-30, -1e-30, 1e-7, -1e-7, 2.4e-4, -2.4e-4,
	0.625, -0.625, 0.62499994, 0.75, -0.75, 0.74999994, 1.0606601, -1.0606601,
	3.9, -3.9, 9.02, -9.02, 10.5, -10.5, 15, -15, 20, -20,
	-87.3, 88.7, 88.72283, 88.72284, 88.8, 89, 100, -103.97, -104, -110, -1000, 1000,
	math.MaxFloat32, -math.MaxFloat32, mathInf, -mathInf, mathNaN,
}

// mathInputs returns inputs for a vector-math test of length n: random
// values in [-lo, hi], with the special values at the front when they fit.
func mathInputs(r *rand.Rand, n int, lo, hi float32) []float32 {
	x := testutil.Uniform32(r, n, lo, hi)
	copy(x, mathSpecials)
	return x
}

// mathUnaryCase is a float32 vector function with its plain-Go twin and
// float64 reference.
type mathUnaryCase struct {
	name string
	f    func(dst, x []float32)
	gen  func(dst, x []float32)
	f64  func(dst, x []float64)
}

var mathUnaryCases = []mathUnaryCase{
	{"Exp", Exp, mathExpGeneric, Exp64},
	{"Tanh", Tanh, mathTanhGeneric, Tanh64},
	{"Erf", Erf, mathErfGeneric, Erf64},
	{"Sigmoid", Sigmoid, mathSigmoidGeneric, Sigmoid64},
	{"Log", Log, mathLogGeneric, Log64},
}

// mathCheckUnary runs f on every tier and size against gen (plain Go, within
// genLvl) and f64 (within refLvl), with guarded outputs and in place.
func mathCheckUnary(t *testing.T, name string, f, gen func(dst, x []float32), f64 func(dst, x []float64), lo, hi float32, genLvl, refLvl testutil.Level) {
	t.Helper()
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(7)
		for _, n := range append(elemSizes, elemParSize) {
			x := mathInputs(r, n, lo, hi)
			out := testutil.NewGuarded32(n)
			f(out.Data, x)
			out.Check(t)
			want := make([]float32, n)
			gen(want, x)
			testutil.AssertClose(t, fmt.Sprintf("%s n=%d vs plain Go", name, n), out.Data, want, genLvl)
			ref := make([]float64, n)
			f64(ref, testutil.To64(x))
			for i, v := range ref {
				ref[i] = float64(float32(v)) // beyond MaxFloat32 the float32 answer is ±Inf
			}
			testutil.AssertClose(t, fmt.Sprintf("%s n=%d vs float64", name, n), out.Data, ref, refLvl)
			// In place.
			y := append([]float32(nil), x...)
			f(y, y)
			testutil.AssertClose(t, fmt.Sprintf("%s n=%d in place", name, n), y, out.Data, testutil.Exact)
		}
	})
}

func TestMathUnary(t *testing.T) {
	for _, c := range mathUnaryCases {
		t.Run(c.name, func(t *testing.T) {
			lo, hi := float32(-12), float32(12)
			if c.name == "Log" {
				lo, hi = 0, 100
			}
			mathCheckUnary(t, c.name, c.f, c.gen, c.f64, lo, hi, testutil.F32Rounding, testutil.F32)
		})
	}
}

// TestMathSpecialValues checks the documented results on special inputs.
func TestMathSpecialValues(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		name string
		f    func(dst, x []float32)
		in   []float32
		want []float32
	}{
		{"Exp", Exp, []float32{mathNaN, mathInf, -mathInf, 0, negZero, 88.8, 1000, -104, -1000, -110.5},
			[]float32{mathNaN, mathInf, 0, 1, 1, mathInf, mathInf, 0, 0, 0}},
		{"Tanh", Tanh, []float32{mathNaN, mathInf, -mathInf, 0, negZero, mathMinSub, -mathMinSub, 1e-5, 9.1, -9.1, 1e30},
			[]float32{mathNaN, 1, -1, 0, negZero, mathMinSub, -mathMinSub, 1e-5, 1, -1, 1}},
		{"Erf", Erf, []float32{mathNaN, mathInf, -mathInf, 0, negZero, 4, -4, 11, -1e30},
			[]float32{mathNaN, 1, -1, 0, negZero, 1, -1, 1, -1}},
		{"Sigmoid", Sigmoid, []float32{mathNaN, mathInf, -mathInf, 0, 20, -105, -1000},
			[]float32{mathNaN, 1, 0, 0.5, 1, 0, 0}},
		{"Log", Log, []float32{mathNaN, mathInf, -1, 0, negZero, 1},
			[]float32{mathNaN, mathInf, mathNaN, -mathInf, -mathInf, 0}},
	}
	forEachTier(t, func(t *testing.T) {
		for _, c := range cases {
			got := make([]float32, len(c.in))
			c.f(got, c.in)
			for i := range got {
				g, w := got[i], c.want[i]
				same := math.Float32bits(g) == math.Float32bits(w) || (g != g && w != w)
				if !same {
					t.Errorf("%s(%g) = %g (%#x), want %g (%#x)", c.name, c.in[i], g, math.Float32bits(g), w, math.Float32bits(w))
				}
			}
		}
	})
}

// The error bounds stated in the doc comments of Exp, Tanh, Erf and
// Sigmoid; TestMathAccuracy holds every tier to them.
var mathAccuracySpecs = []struct {
	name   string
	f      func(dst, x []float32)
	ref    func(float64) float64
	lo, hi float32 // the range scanned uniformly
	maxRel float64 // max relative error where the result is a normal float32
	subAbs float64 // max absolute error where the exact result is below 2^-126
}{
	{"Exp", Exp, math.Exp, -87.3, 88.7, 1.5e-7, 0x1p-149},
	{"Tanh", Tanh, math.Tanh, -10, 10, 2e-7, 0x1p-149},
	{"Erf", Erf, math.Erf, -5, 5, 2.5e-7, 0x1p-149},
	{"Sigmoid", Sigmoid, mathSigmoid64, -90, 20, 2.5e-7, 0x1p-149},
}

// mathScanInputs returns 2^20 inputs: half uniform in [lo, hi], half with
// uniformly random bits (every binade, subnormals included) clamped to
// [lo, hi] for Exp, and the special values.
func mathScanInputs(name string, lo, hi float32) []float32 {
	r := testutil.NewRand(11)
	const n = 1 << 20
	x := testutil.Uniform32(r, n/2, lo, hi)
	for len(x) < n {
		v := math.Float32frombits(r.Uint32())
		if v != v || math.IsInf(float64(v), 0) {
			continue
		}
		if name == "Exp" && (v < lo || v > hi) {
			continue
		}
		x = append(x, v)
	}
	return append(x, mathSpecials...)
}

// TestMathAccuracy scans each vectorized function over 2^20 inputs and
// holds it to its documented maximum error.
func TestMathAccuracy(t *testing.T) {
	for _, s := range mathAccuracySpecs {
		x := mathScanInputs(s.name, s.lo, s.hi)
		got := make([]float32, len(x))
		forEachTier(t, func(t *testing.T) {
			s.f(got, x)
			var worst, worstSub float64
			var at, atSub float32
			for i, v := range x {
				w := s.ref(float64(v))
				g := float64(got[i])
				if math.IsNaN(w) || math.IsInf(w, 0) || math.IsInf(g, 0) {
					if !(math.IsNaN(w) && math.IsNaN(g)) && g != w {
						if !(s.name == "Exp" && math.Abs(w) > math.MaxFloat32) {
							t.Errorf("%s(%g) = %g, want %g", s.name, v, g, w)
						}
					}
					continue
				}
				if math.Abs(w) < 0x1p-126 {
					if e := math.Abs(g - w); e > worstSub {
						worstSub, atSub = e, v
					}
					continue
				}
				if e := math.Abs(g-w) / math.Abs(w); e > worst {
					worst, at = e, v
				}
			}
			t.Logf("%s: max relative error %.3g at x=%g; subnormal range max abs error %.3g at x=%g", s.name, worst, at, worstSub, atSub)
			if worst > s.maxRel {
				t.Errorf("%s: max relative error %.3g at x=%g exceeds the documented %.3g", s.name, worst, at, s.maxRel)
			}
			if worstSub > s.subAbs {
				t.Errorf("%s: subnormal-range absolute error %.3g at x=%g exceeds %.3g", s.name, worstSub, atSub, s.subAbs)
			}
		})
	}
}

// TestMathTwinsMatchMath checks the float64 twins against the math package.
func TestMathTwinsMatchMath(t *testing.T) {
	x := testutil.Uniform64(testutil.NewRand(3), 1001, -20, 20)
	x = append(x, 0, math.Inf(1), math.Inf(-1), math.NaN())
	for _, c := range []struct {
		name string
		f    func(dst, x []float64)
		ref  func(float64) float64
	}{
		{"Exp64", Exp64, math.Exp}, {"Tanh64", Tanh64, math.Tanh}, {"Erf64", Erf64, math.Erf},
		{"Sigmoid64", Sigmoid64, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"Log64", Log64, math.Log},
	} {
		out := testutil.NewGuarded64(len(x))
		c.f(out.Data, x)
		out.Check(t)
		want := make([]float64, len(x))
		for i, v := range x {
			want[i] = c.ref(v)
		}
		testutil.AssertClose(t, c.name, out.Data, want, testutil.Exact)
	}
	// Long input through the pool.
	y := testutil.Uniform64(testutil.NewRand(4), elemParSize, -5, 5)
	got := make([]float64, len(y))
	Exp64(got, y)
	for i, v := range y {
		if got[i] != math.Exp(v) {
			t.Fatalf("Exp64 pool path: [%d] = %g, want %g", i, got[i], math.Exp(v))
		}
	}
}

func TestMathPanics(t *testing.T) {
	for _, c := range mathUnaryCases {
		mathExpectPanic(t, "cpu."+c.name, func() { c.f(make([]float32, 3), make([]float32, 4)) })
		mathExpectPanic(t, "cpu."+c.name+"64", func() { c.f64(make([]float64, 3), make([]float64, 2)) })
	}
}

// mathExpectPanic fails t unless f panics with a message containing want.
func mathExpectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
			return
		}
		if s := fmt.Sprint(r); !strings.Contains(s, want) {
			t.Errorf("panic %q does not mention %q", s, want)
		}
	}()
	f()
}

func TestMathThreads(t *testing.T) {
	x := testutil.Uniform32(testutil.NewRand(5), elemParSize, -10, 10)
	var ref []float32
	for _, th := range []int{1, 2, 3} {
		prev := SetThreads(th)
		got := make([]float32, len(x))
		Erf(got, x)
		SetThreads(prev)
		if ref == nil {
			ref = got
			continue
		}
		testutil.AssertClose(t, fmt.Sprintf("Erf threads=%d", th), got, ref, testutil.Exact)
	}
}
