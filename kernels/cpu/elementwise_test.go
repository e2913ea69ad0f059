package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

var elemOps = []BinaryOp{OpAdd, OpSub, OpMul, OpDiv, OpMax, OpMin}

// elemSpecials are mixed into operands: NaN, infinities, signed zeros.
var elemSpecials = []float32{mathNaN, mathInf, -mathInf, 0, float32(math.Copysign(0, -1)), 1, -1, mathMinSub, math.MaxFloat32}

// elemOperands returns a and b of length n with specials in the first
// positions (in different pairings for a and b).
func elemOperands(r *rand.Rand, n int) (a, b []float32) {
	a = testutil.Uniform32(r, n, -4, 4)
	b = testutil.Uniform32(r, n, -4, 4)
	for i := 0; i < n && i < len(elemSpecials)*len(elemSpecials); i++ {
		a[i] = elemSpecials[i%len(elemSpecials)]
		b[i] = elemSpecials[i/len(elemSpecials)]
	}
	return a, b
}

func TestBinary(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(21)
		for _, op := range elemOps {
			for _, n := range append(elemSizes, 81, elemParSize) {
				a, b := elemOperands(r, n)
				out := testutil.NewGuarded32(n)
				Binary(op, out.Data, a, b)
				out.Check(t)
				want := make([]float32, n)
				elemBinaryGeneric(op, want, a, b)
				name := fmt.Sprintf("Binary(%v) n=%d", op, n)
				testutil.AssertClose(t, name+" vs plain Go", out.Data, want, testutil.Exact)
				ref := make([]float64, n)
				Binary64(op, ref, testutil.To64(a), testutil.To64(b))
				for i, v := range ref {
					ref[i] = float64(float32(v))
				}
				testutil.AssertClose(t, name+" vs float64", out.Data, ref, testutil.F32Rounding)
				d := append([]float32(nil), a...)
				Binary(op, d, d, b)
				testutil.AssertClose(t, name+" dst=a", d, want, testutil.Exact)
				d = append([]float32(nil), b...)
				Binary(op, d, a, d)
				testutil.AssertClose(t, name+" dst=b", d, want, testutil.Exact)
			}
		}
	})
}

func TestBinaryScalar(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(22)
		for _, op := range elemOps {
			for _, s := range []float32{2.5, -0.75, 0, mathNaN, mathInf} {
				for _, n := range append(elemSizes, elemParSize) {
					a, _ := elemOperands(r, n)
					name := fmt.Sprintf("(%v, s=%g) n=%d", op, s, n)

					out := testutil.NewGuarded32(n)
					BinaryScalar(op, out.Data, a, s)
					out.Check(t)
					want := make([]float32, n)
					for i := range want {
						want[i] = elemApply(op, a[i], s)
					}
					testutil.AssertClose(t, "BinaryScalar"+name, out.Data, want, testutil.Exact)
					ref := make([]float64, n)
					BinaryScalar64(op, ref, testutil.To64(a), float64(s))
					for i, v := range ref {
						ref[i] = float64(float32(v))
					}
					testutil.AssertClose(t, "BinaryScalar"+name+" vs float64", out.Data, ref, testutil.F32Rounding)
					d := append([]float32(nil), a...)
					BinaryScalar(op, d, d, s)
					testutil.AssertClose(t, "BinaryScalar"+name+" in place", d, want, testutil.Exact)

					out.Poison()
					ScalarBinary(op, out.Data, s, a)
					out.Check(t)
					for i := range want {
						want[i] = elemApply(op, s, a[i])
					}
					testutil.AssertClose(t, "ScalarBinary"+name, out.Data, want, testutil.Exact)
					ScalarBinary64(op, ref, float64(s), testutil.To64(a))
					for i, v := range ref {
						ref[i] = float64(float32(v))
					}
					testutil.AssertClose(t, "ScalarBinary"+name+" vs float64", out.Data, ref, testutil.F32Rounding)
					d = append(d[:0], a...)
					ScalarBinary(op, d, s, d)
					testutil.AssertClose(t, "ScalarBinary"+name+" in place", d, want, testutil.Exact)
				}
			}
		}
	})
}

// TestMaxMinSemantics pins NaN propagation and the signed-zero rule.
func TestMaxMinSemantics(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		op         BinaryOp
		a, b, want float32
	}{
		{OpMax, mathNaN, 1, mathNaN}, {OpMax, 1, mathNaN, mathNaN}, {OpMin, mathNaN, 1, mathNaN}, {OpMin, 1, mathNaN, mathNaN},
		{OpMax, 1, 2, 2}, {OpMax, 2, 1, 2}, {OpMin, 1, 2, 1}, {OpMin, -mathInf, 0, -mathInf},
		{OpMax, negZero, 0, 0}, {OpMax, 0, negZero, negZero}, {OpMin, 0, negZero, negZero}, {OpMin, negZero, 0, 0},
	}
	forEachTier(t, func(t *testing.T) {
		for _, c := range cases {
			a := make([]float32, 37) // exercise both the vector loop and the tail
			b := make([]float32, 37)
			for i := range a {
				a[i], b[i] = c.a, c.b
			}
			got := make([]float32, 37)
			Binary(c.op, got, a, b)
			for i, g := range got {
				if math.Float32bits(g) != math.Float32bits(c.want) && !(g != g && c.want != c.want) {
					t.Fatalf("Binary(%v)(%g, %g)[%d] = %g, want %g", c.op, c.a, c.b, i, g, c.want)
				}
			}
		}
	})
}

func TestScaleAxpyFill(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(23)
		for _, n := range append(elemSizes, elemParSize) {
			x, y := elemOperands(r, n)
			for i := range x {
				if x[i] == math.MaxFloat32 {
					x[i] = 1e30 // alpha*x would overflow in float32 only
				}
			}
			alpha := float32(-1.375)

			out := testutil.NewGuarded32(n)
			Scale(out.Data, x, alpha)
			out.Check(t)
			want := make([]float32, n)
			for i := range want {
				want[i] = alpha * x[i]
			}
			testutil.AssertClose(t, fmt.Sprintf("Scale n=%d", n), out.Data, want, testutil.Exact)
			ref := make([]float64, n)
			Scale64(ref, testutil.To64(x), float64(alpha))
			for i, v := range ref {
				ref[i] = float64(float32(v))
			}
			testutil.AssertClose(t, fmt.Sprintf("Scale n=%d vs float64", n), out.Data, ref, testutil.Exact)

			g := testutil.NewGuarded32(n)
			copy(g.Data, y)
			Axpy(g.Data, alpha, x)
			g.Check(t)
			for i := range want {
				want[i] = y[i] + float32(alpha*x[i])
			}
			testutil.AssertClose(t, fmt.Sprintf("Axpy n=%d", n), g.Data, want, testutil.Exact)
			y64, x64 := testutil.To64(y), testutil.To64(x)
			Axpy64(y64, float64(alpha), x64)
			for i, v := range x64 {
				ref[i] = float64(y[i]) + float64(alpha)*v
			}
			testutil.AssertClose(t, fmt.Sprintf("Axpy64 n=%d", n), y64, ref, testutil.Exact)

			g.Poison()
			Fill(g.Data, 3.5)
			g.Check(t)
			for i := range want {
				want[i] = 3.5
			}
			testutil.AssertClose(t, fmt.Sprintf("Fill n=%d", n), g.Data, want, testutil.Exact)
			f64 := testutil.NewGuarded64(n)
			Fill64(f64.Data, -2)
			f64.Check(t)
			for i, v := range f64.Data {
				if v != -2 {
					t.Fatalf("Fill64 n=%d: [%d] = %g", n, i, v)
				}
			}
		}
	})
}

// elemBroadcastRef is the obvious loop over every index of shape.
func elemBroadcastRef[T float32 | float64](op BinaryOp, shape []int, a []T, aOff int, aStrides []int, b []T, bOff int, bStrides []int) []T {
	total := 1
	for _, n := range shape {
		total *= n
	}
	out := make([]T, total)
	idx := make([]int, len(shape))
	for k := 0; k < total; k++ {
		r := k
		ia, ib := aOff, bOff
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d] = r % shape[d]
			r /= shape[d]
			ia += idx[d] * aStrides[d]
			ib += idx[d] * bStrides[d]
		}
		out[k] = elemApply(op, a[ia], b[ib])
	}
	return out
}

func TestBinaryBroadcast(t *testing.T) {
	type bc struct {
		name               string
		shape              []int
		aOff               int
		aStrides           []int
		bOff               int
		bStrides           []int
		aLen, bLen         int
		fastA, fastB, both bool
	}
	cases := []bc{
		{name: "bias add [4,5,7]+[7]", shape: []int{4, 5, 7}, aStrides: []int{35, 7, 1}, bStrides: []int{0, 0, 1}, aLen: 140, bLen: 7},
		{name: "column [6,9]+[6,1]", shape: []int{6, 9}, aStrides: []int{9, 1}, bStrides: []int{1, 0}, aLen: 54, bLen: 6},
		{name: "row scalar a [6,9]", shape: []int{6, 9}, aStrides: []int{1, 0}, bStrides: []int{9, 1}, aLen: 6, bLen: 54},
		{name: "both scalars", shape: []int{3, 4}, aStrides: []int{0, 0}, bStrides: []int{0, 0}, aOff: 2, bOff: 1, aLen: 3, bLen: 2},
		{name: "transposed a", shape: []int{5, 6}, aStrides: []int{1, 5}, bStrides: []int{6, 1}, aLen: 30, bLen: 30},
		{name: "offsets and odd strides", shape: []int{3, 4, 5}, aOff: 3, aStrides: []int{41, 10, 2}, bOff: 5, bStrides: []int{0, 5, 1}, aLen: 3 + 2*41 + 3*10 + 4*2 + 1, bLen: 5 + 15 + 4 + 1},
		{name: "size-1 dims", shape: []int{1, 7, 1, 3}, aStrides: []int{99, 3, 99, 1}, bStrides: []int{0, 0, 5, 1}, aLen: 21, bLen: 3},
		{name: "empty", shape: []int{0, 5}, aStrides: []int{5, 1}, bStrides: []int{5, 1}, aLen: 0, bLen: 0},
		{name: "rank 0", shape: []int{}, aStrides: []int{}, bStrides: []int{}, aOff: 1, aLen: 2, bLen: 1},
		{name: "rank 9", shape: []int{2, 1, 2, 3, 1, 2, 2, 1, 5}, aStrides: []int{240, 0, 120, 40, 0, 20, 10, 0, 1}, bStrides: []int{0, 0, 0, 1, 0, 0, 3, 0, 0}, aLen: 480, bLen: 6},
		{name: "inner stride 2 both", shape: []int{4, 33}, aStrides: []int{66, 2}, bStrides: []int{1, 4}, aLen: 264, bLen: 132},
		{name: "pool: [64,1031]+[1031]", shape: []int{64, 1031}, aStrides: []int{1031, 1}, bStrides: []int{0, 1}, aLen: 64 * 1031, bLen: 1031},
		{name: "pool: 3 long rows, column", shape: []int{3, 40000}, aStrides: []int{40000, 1}, bStrides: []int{1, 0}, aLen: 120000, bLen: 3},
		{name: "pool: strided inner", shape: []int{80, 500}, aStrides: []int{1, 80}, bStrides: []int{500, 1}, aLen: 40000, bLen: 40000},
	}
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(24)
		for _, c := range cases {
			a, _ := elemOperands(r, c.aLen)
			_, b := elemOperands(r, c.bLen)
			for _, op := range elemOps {
				want := elemBroadcastRef(op, c.shape, a, c.aOff, c.aStrides, b, c.bOff, c.bStrides)
				out := testutil.NewGuarded32(len(want))
				BinaryBroadcast(op, out.Data, c.shape, a, c.aOff, c.aStrides, b, c.bOff, c.bStrides)
				out.Check(t)
				testutil.AssertClose(t, fmt.Sprintf("%s (%v)", c.name, op), out.Data, want, testutil.Exact)

				a64, b64 := testutil.To64(a), testutil.To64(b)
				want64 := elemBroadcastRef(op, c.shape, a64, c.aOff, c.aStrides, b64, c.bOff, c.bStrides)
				out64 := testutil.NewGuarded64(len(want64))
				BinaryBroadcast64(op, out64.Data, c.shape, a64, c.aOff, c.aStrides, b64, c.bOff, c.bStrides)
				out64.Check(t)
				testutil.AssertClose(t, fmt.Sprintf("%s (%v) float64", c.name, op), out64.Data, want64, testutil.Exact)
			}
		}
	})
}

func TestBinaryOpString(t *testing.T) {
	want := []string{"add", "sub", "mul", "div", "max", "min"}
	for i, op := range elemOps {
		if op.String() != want[i] {
			t.Errorf("%d.String() = %q, want %q", i, op.String(), want[i])
		}
	}
	if s := BinaryOp(42).String(); s != "BinaryOp(42)" {
		t.Errorf("BinaryOp(42).String() = %q", s)
	}
}

func TestElementwisePanics(t *testing.T) {
	f3 := make([]float32, 3)
	f2 := make([]float32, 2)
	d3 := make([]float64, 3)
	mathExpectPanic(t, "cpu.Binary: unknown operation", func() { Binary(BinaryOp(9), f3, f3, f3) })
	mathExpectPanic(t, "cpu.Binary: lengths differ", func() { Binary(OpAdd, f3, f2, f3) })
	mathExpectPanic(t, "cpu.Binary64: lengths differ", func() { Binary64(OpAdd, d3, d3, d3[:1]) })
	mathExpectPanic(t, "cpu.BinaryScalar", func() { BinaryScalar(OpAdd, f3, f2, 1) })
	mathExpectPanic(t, "cpu.ScalarBinary", func() { ScalarBinary(OpAdd, f3, 1, f2) })
	mathExpectPanic(t, "cpu.ScalarBinary", func() { ScalarBinary(BinaryOp(-1), f3, 1, f3) })
	mathExpectPanic(t, "cpu.Scale", func() { Scale(f3, f2, 1) })
	mathExpectPanic(t, "cpu.Axpy", func() { Axpy(f3, 1, f2) })
	mathExpectPanic(t, "cpu.Axpy64", func() { Axpy64(d3, 1, d3[:2]) })
	mathExpectPanic(t, "cpu.BinaryBroadcast: len(dst)", func() {
		BinaryBroadcast(OpAdd, f2, []int{3}, f3, 0, []int{1}, f3, 0, []int{1})
	})
	mathExpectPanic(t, "cpu.BinaryBroadcast: operand out of range", func() {
		BinaryBroadcast(OpAdd, f3, []int{3}, f3, 1, []int{1}, f3, 0, []int{1})
	})
	mathExpectPanic(t, "cpu.BinaryBroadcast: negative", func() {
		BinaryBroadcast(OpAdd, f3, []int{3}, f3, 0, []int{-1}, f3, 0, []int{1})
	})
	mathExpectPanic(t, "cpu.BinaryBroadcast: negative offset", func() {
		BinaryBroadcast(OpAdd, f3, []int{3}, f3, -1, []int{1}, f3, 0, []int{1})
	})
	mathExpectPanic(t, "cpu.BinaryBroadcast: len(shape)", func() {
		BinaryBroadcast(OpAdd, f3, []int{3}, f3, 0, []int{1, 1}, f3, 0, []int{1})
	})
	mathExpectPanic(t, "cpu.BinaryBroadcast64: operand out of range", func() {
		BinaryBroadcast64(OpAdd, d3, []int{3}, d3, 0, []int{2}, d3, 0, []int{1})
	})
}
