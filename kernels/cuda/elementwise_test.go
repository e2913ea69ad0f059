//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

func bf16Of(x []float32) []uint16 {
	b := make([]uint16, len(x))
	cpu.F32ToBF16(b, x)
	return b
}

func f32OfBF16(b []uint16) []float32 {
	x := make([]float32, len(b))
	cpu.BF16ToF32(x, b)
	return x
}

// roundBF16 rounds x to bf16 and back, so a float64 reference sees the
// values the kernel sees.
func roundBF16(x []float32) []float32 { return f32OfBF16(bf16Of(x)) }

// actRef is the float64 reference of each activation: forward f(x) and
// backward dy*f'(v), v the input (or the output for tanh/sigmoid).
func actRef(a Act) (fwd func(dst, x []float64), bwd func(dx, dy, v []float64)) {
	switch a {
	case GeluErf:
		return cpu.GeluErf64, cpu.GeluErfBackward64
	case GeluTanh:
		return cpu.GeluTanh64, cpu.GeluTanhBackward64
	case Silu:
		return cpu.Silu64, cpu.SiluBackward64
	case Tanh:
		return func(dst, x []float64) {
			for i := range x {
				dst[i] = math.Tanh(x[i])
			}
		}, cpu.TanhBackward64
	case Sigmoid:
		return func(dst, x []float64) {
			for i := range x {
				dst[i] = 1 / (1 + math.Exp(-x[i]))
			}
		}, cpu.SigmoidBackward64
	}
	f, g := scalarActRef(a)
	return func(dst, x []float64) {
			for i := range x {
				dst[i] = f(x[i])
			}
		}, func(dx, dy, v []float64) {
			for i := range v {
				dx[i] = g(dy[i], v[i])
			}
		}
}

// scalarActRef is the float64 definition of the activations added for the
// tensor backend's unary ops (tensor/cpu_backend.go's unaryScalar and
// unaryGradScalar): f(x) and the backward g(dy, v), v the input x or, where
// BackwardTakesOutput, the output y.
func scalarActRef(a Act) (f func(x float64) float64, g func(dy, v float64) float64) {
	switch a {
	case Exp:
		return math.Exp, func(dy, y float64) float64 { return dy * y }
	case Log:
		return math.Log, func(dy, x float64) float64 { return dy / x }
	case Sqrt:
		return math.Sqrt, func(dy, y float64) float64 { return dy * 0.5 / y }
	case Rsqrt:
		return func(x float64) float64 { return 1 / math.Sqrt(x) }, func(dy, y float64) float64 { return dy * -0.5 * y * y * y }
	case Erf:
		return math.Erf, func(dy, x float64) float64 { return dy * 2 / math.SqrtPi * math.Exp(-x*x) }
	case Abs:
		return math.Abs, func(dy, x float64) float64 {
			switch {
			case x > 0:
				return dy
			case x < 0:
				return -dy
			}
			return 0
		}
	case Relu:
		return func(x float64) float64 {
				if x > 0 || math.IsNaN(x) {
					return x
				}
				return 0
			}, func(dy, x float64) float64 {
				if x > 0 {
					return dy
				}
				return 0
			}
	}
	panic("unknown activation")
}

// allActs is every activation; actFwdLevel is the f32 forward tolerance of
// each: the libm-based ones (CUDA C Programming Guide, Mathematical
// Functions appendix: expf 2 ulp, logf 1, sqrtf 0, rsqrtf 2, erff 2) are held
// to F32Rounding (a handful of ulps), abs and relu are exact, the fused
// GELU/SiLU/tanh/sigmoid expressions to F32.
var allActs = []Act{GeluErf, GeluTanh, Silu, Tanh, Sigmoid, Exp, Log, Sqrt, Rsqrt, Erf, Abs, Relu}

func actFwdLevel(a Act) testutil.Level {
	switch a {
	case Exp, Log, Sqrt, Rsqrt, Erf:
		return testutil.F32Rounding
	case Abs, Relu:
		return testutil.Exact
	}
	return tolF32
}

func TestActivations(t *testing.T) {
	r := newRand(1)
	for _, act := range allActs {
		fwd, bwd := actRef(act)
		for _, dt := range []DType{F32, BF16} {
			for _, n := range oddSizes {
				t.Run(fmt.Sprintf("%v/%v/n=%d", act, dt, n), func(t *testing.T) {
					x := testutil.Normal32(r, n, 3)
					if act == Log || act == Sqrt || act == Rsqrt {
						for i := range x { // the functions' domain (TestUnarySpecials has the rest)
							x[i] = float32(math.Abs(float64(x[i]))) + 1e-3
						}
					}
					if n > 3 && (act == Abs || act == Relu) {
						x[2] = 0 // the derivative's 0 at 0
					}
					dy := testutil.Uniform32(r, n, -1, 1)
					lvl, flvl := tolF32, actFwdLevel(act)
					if dt == BF16 {
						x, dy, lvl, flvl = roundBF16(x), roundBF16(dy), tolBF16, tolBF16
					}
					want := make([]float64, n)
					fwd(want, testutil.To64(x))
					// the backward of tanh/sigmoid reads the output: give both
					// sides the same (rounded) output
					v := x
					if act.BackwardTakesOutput() {
						v = make([]float32, n)
						for i := range v {
							v[i] = float32(want[i])
						}
						if dt == BF16 {
							v = roundBF16(v)
						}
					}
					wantDx := make([]float64, n)
					bwd(wantDx, testutil.To64(dy), testutil.To64(v))

					var y, dx []float32
					if dt == F32 {
						xp, dyp, vp := up(t, x), up(t, dy), up(t, v)
						yo, dxo := out(t, n, 4), out(t, n, 4)
						must(t, dev.ActForward(act, dt, yo.ptr(), xp, int64(n)))
						must(t, dev.ActBackward(act, dt, dxo.ptr(), dyp, vp, int64(n)))
						y, dx = yo.f32(t), dxo.f32(t)
					} else {
						xp, dyp, vp := up(t, bf16Of(x)), up(t, bf16Of(dy)), up(t, bf16Of(v))
						yo, dxo := out(t, n, 2), out(t, n, 2)
						must(t, dev.ActForward(act, dt, yo.ptr(), xp, int64(n)))
						must(t, dev.ActBackward(act, dt, dxo.ptr(), dyp, vp, int64(n)))
						y, dx = f32OfBF16(yo.u16(t)), f32OfBF16(dxo.u16(t))
					}
					testutil.AssertClose(t, "forward", y, want, flvl)
					testutil.AssertClose(t, "backward", dx, wantDx, lvl)
				})
			}
		}
	}
}

// TestActivationInfinities: the backward passes use the derivative's
// limits at +-Inf (1 and 0), the forward passes follow PyTorch.
func TestActivationInfinities(t *testing.T) {
	inf := float32(math.Inf(1))
	x := []float32{inf, -inf}
	dy := []float32{2, 2}
	for _, act := range []Act{GeluErf, GeluTanh, Silu} {
		xp, dyp := up(t, x), up(t, dy)
		o := out(t, 2, 4)
		must(t, dev.ActBackward(act, F32, o.ptr(), dyp, xp, 2))
		got := o.f32(t)
		if got[0] != 2 || got[1] != 0 {
			t.Errorf("%v backward at +-Inf = %v, want [2 0]", act, got)
		}
		must(t, dev.ActForward(act, F32, o.ptr(), xp, 2))
		got = o.f32(t)
		if got[0] != inf || !math.IsNaN(float64(got[1])) {
			t.Errorf("%v forward at +-Inf = %v, want [+Inf NaN]", act, got)
		}
	}
}

var cpuOps = map[BinOp]cpu.BinaryOp{Add: cpu.OpAdd, Sub: cpu.OpSub, Mul: cpu.OpMul, Div: cpu.OpDiv, Max: cpu.OpMax, Min: cpu.OpMin}

func TestBinary(t *testing.T) {
	r := newRand(2)
	for op := Add; op <= Min; op++ {
		for _, dt := range []DType{F32, BF16} {
			for _, n := range oddSizes {
				a := testutil.Normal32(r, n, 2)
				b := testutil.Uniform32(r, n, 0.5, 2)
				if n > 3 {
					a[1], b[2] = float32(math.NaN()), float32(math.NaN()) // max/min propagate NaN
				}
				if dt == BF16 {
					a, b = roundBF16(a), roundBF16(b)
				}
				want := make([]float32, n)
				cpu.Binary(cpuOps[op], want, a, b)
				var got []float32
				if dt == F32 {
					o := out(t, n, 4)
					must(t, dev.Binary(op, dt, o.ptr(), up(t, a), up(t, b), int64(n)))
					got = o.f32(t)
				} else {
					want = roundBF16(want) // fp32 result rounded once, as the kernel does
					o := out(t, n, 2)
					must(t, dev.Binary(op, dt, o.ptr(), up(t, bf16Of(a)), up(t, bf16Of(b)), int64(n)))
					got = f32OfBF16(o.u16(t))
				}
				testutil.AssertClose(t, fmt.Sprintf("%v/%v/n=%d", op, dt, n), got, want, testutil.Exact)
			}
		}
	}
}

func TestBinaryBroadcast(t *testing.T) {
	r := newRand(3)
	cases := []struct {
		shape, as, bs []int64
		na, nb        int
	}{
		{[]int64{7}, []int64{1}, []int64{0}, 7, 1},                          // tensor op scalar
		{[]int64{3, 5}, []int64{5, 1}, []int64{0, 1}, 15, 5},                // row bias
		{[]int64{3, 5}, []int64{1, 3}, []int64{1, 0}, 15, 3},                // a transposed, column b
		{[]int64{2, 3, 17}, []int64{51, 17, 1}, []int64{0, 17, 1}, 102, 51}, // batch broadcast
		{[]int64{4, 1, 33}, []int64{33, 33, 1}, []int64{0, 0, 1}, 132, 33},  // size-1 dim
		{[]int64{2, 2, 2, 2, 2, 2, 2, 3}, nil, nil, 384, 384},               // rank 8, contiguous
		{[]int64{31, 33}, []int64{1, 31}, []int64{33, 1}, 31 * 33, 31 * 33}, // transpose + contiguous
		// inner dimension a multiple of 4: the kernel's 4-wide path
		{[]int64{6, 8}, []int64{8, 1}, []int64{0, 1}, 48, 8},             // row bias (16-byte loads)
		{[]int64{2, 3, 8}, []int64{24, 8, 1}, []int64{0, 0, 1}, 48, 8},   // merged to [6, 8]
		{[]int64{5, 4, 4}, []int64{1, 5, 20}, []int64{0, 1, 0}, 80, 4},   // strided a, broadcast b
		{[]int64{3, 1, 12}, []int64{1, 0, 3}, []int64{12, 0, 1}, 36, 36}, // transposed a, size-1 dim
		{[]int64{1, 1}, []int64{0, 0}, []int64{0, 0}, 1, 1},              // everything size 1
	}
	for ci, c := range cases {
		if c.as == nil {
			c.as = contiguousStrides(c.shape)
			c.bs = contiguousStrides(c.shape)
		}
		n := 1
		shape := make([]int, len(c.shape))
		as, bs := make([]int, len(c.shape)), make([]int, len(c.shape))
		for i := range c.shape {
			n *= int(c.shape[i])
			shape[i], as[i], bs[i] = int(c.shape[i]), int(c.as[i]), int(c.bs[i])
		}
		a := testutil.Normal32(r, c.na, 1)
		b := testutil.Uniform32(r, c.nb, 0.5, 2)
		for op := Add; op <= Min; op++ {
			want := make([]float32, n)
			cpu.BinaryBroadcast(cpuOps[op], want, shape, a, 0, as, b, 0, bs)
			o := out(t, n, 4)
			must(t, dev.BinaryBroadcast(op, o.ptr(), c.shape, up(t, a), c.as, up(t, b), c.bs))
			testutil.AssertClose(t, fmt.Sprintf("case %d %v", ci, op), o.f32(t), want, testutil.Exact)
		}
	}
	if err := dev.BinaryBroadcast(Add, 0, make([]int64, 9), 0, make([]int64, 9), 0, make([]int64, 9)); err == nil {
		t.Error("rank 9: no error")
	}
	// a and b one float off 16-byte alignment (views): the 4-wide path's
	// per-quad alignment check falls back to scalar loads
	a := testutil.Normal32(r, 49, 1)
	b := testutil.Uniform32(r, 9, 0.5, 2)
	want := make([]float32, 48)
	cpu.BinaryBroadcast(cpuOps[Add], want, []int{6, 8}, a, 1, []int{8, 1}, b, 1, []int{0, 1})
	o := out(t, 48, 4)
	must(t, dev.BinaryBroadcast(Add, o.ptr(), []int64{6, 8}, up(t, a)+4, []int64{8, 1}, up(t, b)+4, []int64{0, 1}))
	testutil.AssertClose(t, "misaligned views", o.f32(t), want, testutil.Exact)
}

func TestMergeDims(t *testing.T) {
	for _, c := range []struct {
		shape, as, bs, wshape, was, wbs []int64
	}{
		{[]int64{2, 3, 8}, []int64{24, 8, 1}, []int64{0, 0, 1}, []int64{6, 8}, []int64{8, 1}, []int64{0, 1}},
		{[]int64{4, 1, 33}, []int64{33, 33, 1}, []int64{0, 0, 1}, []int64{4, 33}, []int64{33, 1}, []int64{0, 1}},
		{[]int64{3, 5}, []int64{1, 3}, []int64{1, 0}, []int64{3, 5}, []int64{1, 3}, []int64{1, 0}},
		{[]int64{2, 2, 3}, []int64{6, 3, 1}, []int64{6, 3, 1}, []int64{12}, []int64{1}, []int64{1}},
		{[]int64{1, 1}, []int64{0, 0}, []int64{5, 7}, []int64{1}, []int64{0}, []int64{0}},
	} {
		sh, st := mergeDims(c.shape, c.as, c.bs)
		if fmt.Sprint(sh, st[0], st[1]) != fmt.Sprint(c.wshape, c.was, c.wbs) {
			t.Errorf("mergeDims(%v, %v, %v) = %v %v %v, want %v %v %v", c.shape, c.as, c.bs, sh, st[0], st[1], c.wshape, c.was, c.wbs)
		}
	}
}

func contiguousStrides(shape []int64) []int64 {
	s := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

func TestScaleAxpy(t *testing.T) {
	r := newRand(4)
	for _, n := range oddSizes {
		x := testutil.Normal32(r, n, 1)
		y := testutil.Normal32(r, n, 1)
		const alpha = float32(-0.37)
		o := out(t, n, 4)
		must(t, dev.Scale(o.ptr(), up(t, x), alpha, int64(n)))
		want := make([]float32, n)
		for i := range x {
			want[i] = float32(float64(alpha) * float64(x[i])) // one rounding
		}
		testutil.AssertClose(t, fmt.Sprintf("scale n=%d", n), o.f32(t), want, testutil.Exact)

		yp := up(t, y)
		must(t, dev.Axpy(yp, alpha, up(t, x), int64(n)))
		got := make([]float32, n)
		must(t, CopyDtoH(dev, got, yp))
		want64 := make([]float64, n)
		for i := range x {
			want64[i] = float64(y[i]) + float64(alpha)*float64(x[i])
		}
		testutil.AssertClose(t, fmt.Sprintf("axpy n=%d", n), got, want64, testutil.F32Rounding)
	}
}

// TestUnarySpecials: zeros, negatives, infinities, NaN and a subnormal
// through the libm-based forward kernels, against the float64 definition
// (log(0) = -Inf, log(-1) = NaN, rsqrt(-0) = -Inf, erf(+-Inf) = +-1, ...).
func TestUnarySpecials(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	x := []float32{0, negZero, -1, 1, inf, -inf, nan, 1e-40, 88, -104, 4, -4, 1e30}
	for _, act := range []Act{Exp, Log, Sqrt, Rsqrt, Erf, Abs, Relu} {
		f, _ := scalarActRef(act)
		want := make([]float64, len(x))
		for i, v := range x {
			want[i] = float64(float32(f(float64(v))))
		}
		o := out(t, len(x), 4)
		must(t, dev.ActForward(act, F32, o.ptr(), up(t, x), int64(len(x))))
		got := o.f32(t)
		testutil.AssertClose(t, act.String()+" specials", got, want, actFwdLevel(act))
		for i := range got { // signs of zeros and infinities, and NaN where expected
			if want[i] == 0 || math.IsInf(want[i], 0) {
				if math.Signbit(float64(got[i])) != math.Signbit(want[i]) || (math.IsInf(want[i], 0) != math.IsInf(float64(got[i]), 0)) {
					t.Errorf("%v(%v) = %v, want %v", act, x[i], got[i], want[i])
				}
			}
		}
	}
}

// binRef64 is the float64 definition of the binary ops (tensor's
// binaryScalar): the result of a op b before rounding to float32.
func binRef64(op BinOp, a, b float64) float64 {
	b2f := func(c bool) float64 {
		if c {
			return 1
		}
		return 0
	}
	switch op {
	case Pow:
		return math.Pow(a, b)
	case Greater:
		return b2f(a > b)
	case Less:
		return b2f(a < b)
	case Equal:
		return b2f(a == b)
	}
	panic("binRef64: " + op.String())
}

// powCmpLevel: powf is within 4 ulp (CUDA C Programming Guide), a handful
// of ulps: F32Rounding; the comparisons are exact.
func powCmpLevel(op BinOp, dt DType) testutil.Level {
	switch {
	case op != Pow:
		return testutil.Exact
	case dt == BF16:
		return tolBF16
	}
	return testutil.F32Rounding
}

// powCmpInputs: a with some negatives, zeros and NaN, b with ties to a,
// small integers (pow of negative bases) and NaN.
func powCmpInputs(r interface{ Float64() float64 }, n int) (a, b []float32) {
	a, b = make([]float32, n), make([]float32, n)
	for i := range a {
		a[i] = float32(r.Float64()*6 - 1)
		b[i] = float32(r.Float64()*6 - 3)
		switch i % 7 {
		case 1:
			b[i] = a[i] // ties
		case 2:
			b[i] = float32(int(b[i])) // integer exponents of negative bases
		case 3:
			a[i] = 0
		}
	}
	if n > 5 {
		a[4], b[5] = float32(math.NaN()), float32(math.NaN())
	}
	return a, b
}

func TestBinaryPowCompare(t *testing.T) {
	r := newRand(5)
	for op := Pow; op <= Equal; op++ {
		for _, dt := range []DType{F32, BF16} {
			for _, n := range oddSizes {
				a, b := powCmpInputs(r, n)
				if dt == BF16 {
					a, b = roundBF16(a), roundBF16(b)
				}
				want := make([]float32, n)
				for i := range want {
					want[i] = float32(binRef64(op, float64(a[i]), float64(b[i])))
				}
				var got []float32
				if dt == F32 {
					o := out(t, n, 4)
					must(t, dev.Binary(op, dt, o.ptr(), up(t, a), up(t, b), int64(n)))
					got = o.f32(t)
				} else {
					if op != Pow {
						want = roundBF16(want) // 0/1: exact
					}
					// Pow: the bf16 result against the unrounded value (a
					// 4-ulp powf may round to the other bf16 neighbour)
					o := out(t, n, 2)
					must(t, dev.Binary(op, dt, o.ptr(), up(t, bf16Of(a)), up(t, bf16Of(b)), int64(n)))
					got = f32OfBF16(o.u16(t))
				}
				testutil.AssertClose(t, fmt.Sprintf("%v/%v/n=%d", op, dt, n), got, want, powCmpLevel(op, dt))
			}
		}
	}
	// broadcast: [31, 33] = a (transposed view) op b (a row broadcast over rows)
	shape := []int64{31, 33}
	as, bs := []int64{1, 31}, []int64{0, 1}
	a, _ := powCmpInputs(r, 31*33)
	_, b := powCmpInputs(r, 33)
	for op := Pow; op <= Equal; op++ {
		want := make([]float32, 31*33)
		for i := 0; i < 31; i++ {
			for j := 0; j < 33; j++ {
				want[i*33+j] = float32(binRef64(op, float64(a[i+31*j]), float64(b[j])))
			}
		}
		o := out(t, 31*33, 4)
		must(t, dev.BinaryBroadcast(op, o.ptr(), shape, up(t, a), as, up(t, b), bs))
		testutil.AssertClose(t, "broadcast "+op.String(), o.f32(t), want, powCmpLevel(op, F32))
	}
}

// TestWhere: every condition dtype (by value: -0 is false, NaN true), the
// condition and b broadcast, a transposed.
func TestWhere(t *testing.T) {
	r := newRand(6)
	const A, B, C = 3, 5, 17 // output [A, B, C]
	shape := []int64{A, B, C}
	cs := []int64{C, 0, 1}     // cond [A, 1, C]
	as := []int64{1, A, A * B} // a stored as [C, B, A]
	bs := []int64{0, C, 1}     // b [B, C]
	negZero := float32(math.Copysign(0, -1))
	cv := testutil.Uniform32(r, A*C, -2, 2)
	for i := range cv {
		switch i % 5 {
		case 0:
			cv[i] = 0
		case 1:
			cv[i] = negZero
		case 2:
			cv[i] = float32(int(cv[i])) // zeros and small integers survive every cast
		}
	}
	cv[3] = float32(math.NaN())
	a := testutil.Normal32(r, A*B*C, 1)
	b := testutil.Normal32(r, B*C, 1)
	ci := make([]int32, len(cv))
	for i, v := range cv {
		if v == v {
			ci[i] = int32(v)
		}
	}
	f16 := make([]uint16, len(cv))
	cpu.F32ToF16(f16, cv)
	for _, c := range []struct {
		dt   DType
		cond DevicePtr
		nz   func(i int) bool
	}{
		{F32, up(t, cv), func(i int) bool { return cv[i] != 0 }},
		{BF16, up(t, bf16Of(cv)), func(i int) bool { return cv[i] != 0 }},
		{F16, up(t, f16), func(i int) bool { return cv[i] != 0 }},
		{I32, up(t, ci), func(i int) bool { return ci[i] != 0 }},
	} {
		want := make([]float32, A*B*C)
		for i := 0; i < A; i++ {
			for j := 0; j < B; j++ {
				for k := 0; k < C; k++ {
					if c.nz(i*C + k) {
						want[(i*B+j)*C+k] = a[i+j*A+k*A*B]
					} else {
						want[(i*B+j)*C+k] = b[j*C+k]
					}
				}
			}
		}
		o := out(t, A*B*C, 4)
		must(t, dev.Where(o.ptr(), shape, c.cond, c.dt, cs, up(t, a), as, up(t, b), bs))
		testutil.AssertClose(t, "where cond "+c.dt.String(), o.f32(t), want, testutil.Exact)
	}
	if err := dev.Where(0, []int64{1}, 0, badDType, []int64{1}, 0, []int64{1}, 0, []int64{1}); err == nil {
		t.Error("bad condition dtype: no error")
	}
}

// badDType is a DType no kernel takes.
const badDType = DType(99)

// TestCastInt32: int32 <-> f32, bf16, f16 against the CPU's conversions
// (int32 -> f32 rounds to nearest even, then to the 16-bit type), and the
// documented saturation of the float -> int32 direction.
func TestCastInt32(t *testing.T) {
	r := newRand(7)
	for _, n := range oddSizes {
		iv := make([]int32, n)
		for i := range iv {
			iv[i] = int32(r.Uint32() >> uint(i%31)) // magnitudes from 1 to 2^31
			if i%2 == 1 {
				iv[i] = -iv[i]
			}
		}
		iv[0] = math.MinInt32
		if n > 2 {
			iv[1], iv[2] = math.MaxInt32, 1<<24+1 // not representable in f32
		}
		f := make([]float32, n)
		for i, v := range iv {
			f[i] = float32(float64(v)) // the CPU backend's conversion
		}
		src := up(t, iv)
		o := out(t, n, 4)
		must(t, dev.Cast(o.ptr(), F32, src, I32, int64(n)))
		testutil.AssertClose(t, fmt.Sprintf("i32->f32 n=%d", n), o.f32(t), f, testutil.Exact)
		for _, dt := range []DType{BF16, F16} {
			want := make([]uint16, n)
			if dt == BF16 {
				cpu.F32ToBF16(want, f)
			} else {
				cpu.F32ToF16(want, f)
			}
			o := out(t, n, 2)
			must(t, dev.Cast(o.ptr(), dt, src, I32, int64(n)))
			got := o.u16(t)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("i32->%v n=%d: element %d (%d) = %#x, want %#x", dt, n, i, iv[i], got[i], want[i])
				}
			}
		}

		// float -> int32: truncation toward zero, in range
		x := testutil.Uniform32(r, n, -70000, 70000)
		wantI := make([]int32, n)
		for i, v := range x {
			wantI[i] = int32(v)
		}
		o = out(t, n, 4)
		must(t, dev.Cast(o.ptr(), I32, up(t, x), F32, int64(n)))
		gotI := o.i32(t)
		for i := range wantI {
			if gotI[i] != wantI[i] {
				t.Fatalf("f32->i32 n=%d: element %d (%v) = %d, want %d", n, i, x[i], gotI[i], wantI[i])
			}
		}
		for _, dt := range []DType{BF16, F16} {
			h := make([]uint16, n)
			xs := testutil.Uniform32(r, n, -60000, 60000)
			if dt == BF16 {
				cpu.F32ToBF16(h, xs)
				cpu.BF16ToF32(xs, h)
			} else {
				cpu.F32ToF16(h, xs)
				cpu.F16ToF32(xs, h)
			}
			o := out(t, n, 4)
			must(t, dev.Cast(o.ptr(), I32, up(t, h), dt, int64(n)))
			got := o.i32(t)
			for i := range got {
				if got[i] != int32(xs[i]) {
					t.Fatalf("%v->i32 n=%d: element %d (%v) = %d, want %d", dt, n, i, xs[i], got[i], int32(xs[i]))
				}
			}
		}
	}
	// beyond int32 and NaN: saturation, NaN -> 0 (__float2int_rz)
	inf := float32(math.Inf(1))
	x := []float32{3e9, -3e9, inf, -inf, float32(math.NaN()), -0.75, 0.75, 2147483520}
	want := []int32{math.MaxInt32, math.MinInt32, math.MaxInt32, math.MinInt32, 0, 0, 0, 2147483520}
	o := out(t, len(x), 4)
	must(t, dev.Cast(o.ptr(), I32, up(t, x), F32, int64(len(x))))
	got := o.i32(t)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("f32->i32 %v = %d, want %d", x[i], got[i], want[i])
		}
	}
	if err := dev.Cast(0, I32, 0, I32, 1); err == nil {
		t.Error("i32->i32: no error")
	}
}
