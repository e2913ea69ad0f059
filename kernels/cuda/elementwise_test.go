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
	panic("unknown activation")
}

func TestActivations(t *testing.T) {
	r := newRand(1)
	for _, act := range []Act{GeluErf, GeluTanh, Silu, Tanh, Sigmoid} {
		fwd, bwd := actRef(act)
		for _, dt := range []DType{F32, BF16} {
			for _, n := range oddSizes {
				t.Run(fmt.Sprintf("%v/%v/n=%d", act, dt, n), func(t *testing.T) {
					x := testutil.Normal32(r, n, 3)
					dy := testutil.Uniform32(r, n, -1, 1)
					lvl := tolF32
					if dt == BF16 {
						x, dy, lvl = roundBF16(x), roundBF16(dy), tolBF16
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
					testutil.AssertClose(t, "forward", y, want, lvl)
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
