package tensor

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// arange returns a float32 tensor 0..n-1 in shape.
func arange(shape ...int) *Tensor {
	n := numel(shape)
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(i)
	}
	return FromFloat32(d, shape...)
}

func TestViews(t *testing.T) {
	x := arange(2, 3, 4)
	cases := []struct {
		name  string
		got   *Tensor
		shape []int
		want  func(idx []int) float64 // value at output index
	}{
		{"reshape", x.Reshape(4, -1), []int{4, 6}, func(i []int) float64 { return float64(i[0]*6 + i[1]) }},
		{"permute", x.Permute(2, 0, 1), []int{4, 2, 3}, func(i []int) float64 { return float64(i[1]*12 + i[2]*4 + i[0]) }},
		{"transpose", x.Transpose(0, 2), []int{4, 3, 2}, func(i []int) float64 { return float64(i[2]*12 + i[1]*4 + i[0]) }},
		{"narrow", x.Narrow(1, 1, 2), []int{2, 2, 4}, func(i []int) float64 { return float64(i[0]*12 + (i[1]+1)*4 + i[2]) }},
		{"select", x.Select(-1, 3), []int{2, 3}, func(i []int) float64 { return float64(i[0]*12 + i[1]*4 + 3) }},
		{"expand", x.Select(0, 1).Select(0, 2).Unsqueeze(0).Expand(3, 4), []int{3, 4}, func(i []int) float64 { return float64(12 + 8 + i[1]) }},
		{"unsqueeze", x.Unsqueeze(1), []int{2, 1, 3, 4}, func(i []int) float64 { return float64(i[0]*12 + i[2]*4 + i[3]) }},
		{"squeeze", x.Narrow(0, 1, 1).Squeeze(0), []int{3, 4}, func(i []int) float64 { return float64(12 + i[0]*4 + i[1]) }},
		{"reshape of view copies", x.Transpose(1, 2).Reshape(2, 12), []int{2, 12}, func(i []int) float64 {
			r, c := i[1]/3, i[1]%3
			return float64(i[0]*12 + c*4 + r)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.shape, c.got.Shape())
			flat := c.got.Float64s()
			idx := make([]int, len(c.shape))
			for k := range flat {
				rem := k
				for d := len(c.shape) - 1; d >= 0; d-- {
					idx[d] = rem % c.shape[d]
					rem /= c.shape[d]
				}
				require.Equal(t, c.want(idx), flat[k], "index %v", idx)
				require.Equal(t, c.want(idx), c.got.At(idx...))
			}
		})
	}
	// Views share storage.
	v := x.Narrow(2, 1, 1)
	v.Set(-5, 0, 0, 0)
	assert.Equal(t, -5.0, x.At(0, 0, 1))
	assert.False(t, x.Transpose(0, 1).IsContiguous())
	assert.True(t, x.Transpose(0, 1).Contiguous().IsContiguous())
}

func TestViewPanicsNameOp(t *testing.T) {
	x := arange(2, 3)
	for name, f := range map[string]func(){
		"Reshape":  func() { x.Reshape(4, 2) },
		"Narrow":   func() { x.Narrow(1, 2, 2) },
		"Expand":   func() { x.Expand(4, 3) },
		"Permute":  func() { x.Permute(0, 0) },
		"Matmul":   func() { Matmul(x, x) },
		"Add":      func() { Add(x, arange(3, 2)) },
		"Storage":  func() { Exp(New(BFloat16, 2)) },
		"Squeeze":  func() { x.Squeeze(0) },
		"Concat":   func() { Concat(0, x, arange(2, 2)) },
		"DType":    func() { Add(x, New(Float64, 2, 3)) },
		"FromData": func() { FromFloat32([]float32{1, 2}, 3) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r, "no panic")
				msg, _ := r.(string)
				assert.True(t, strings.HasPrefix(msg, "tensor."), "message %q does not name the op", msg)
			}()
			f()
		})
	}
}

func TestConcatStackSplit(t *testing.T) {
	a, b := arange(2, 2), AddScalar(arange(2, 3), 100)
	c := Concat(1, a, b)
	assert.Equal(t, []int{2, 5}, c.Shape())
	assert.Equal(t, []float32{0, 1, 100, 101, 102, 2, 3, 103, 104, 105}, c.Float32s())
	parts := c.Split(1, 2, 3)
	assert.Equal(t, a.Float32s(), parts[0].Float32s())
	assert.Equal(t, b.Float32s(), parts[1].Float32s())
	s := Stack(0, a, a)
	assert.Equal(t, []int{2, 2, 2}, s.Shape())
	s1 := Stack(2, a, MulScalar(a, 2))
	assert.Equal(t, []float32{0, 0, 1, 2, 2, 4, 3, 6}, s1.Float32s())
}

func TestCasts(t *testing.T) {
	x := FromFloat32([]float32{1, -2.5, 3.140625, 65504, 1e-3, float32(math.Inf(1))}, 6)
	bf := x.Cast(BFloat16)
	assert.Equal(t, BFloat16, bf.DType())
	// bf16 keeps the top 16 bits, rounded to nearest even: 65504 = 0x477FE000
	// rounds up to 0x4780 (65536); 1e-3 = 0x3A83126F rounds down to 0x3A83.
	assert.Equal(t, []float32{1, -2.5, 3.140625, 65536, math.Float32frombits(0x3A830000), float32(math.Inf(1))}, bf.Cast(Float32).Float32s())
	h := x.Cast(Float16)
	assert.Equal(t, []float32{1, -2.5, 3.140625, 65504, 0.0010004044, float32(math.Inf(1))}, h.Cast(Float32).Float32s())
	assert.Equal(t, []int32{1, -2, 3, 65504}, x.Narrow(0, 0, 4).Cast(Int32).Int32s())
	assert.Equal(t, []float64{1, -2.5}, x.Narrow(0, 0, 2).Cast(Float64).Float64s())
	// strided cast
	m := arange(3, 2).T().Cast(Float64)
	assert.Equal(t, []float64{0, 2, 4, 1, 3, 5}, m.Float64s())
}

func TestDeviceWithoutCUDA(t *testing.T) {
	if _, err := BackendFor(CUDA(0)); err == nil {
		t.Skip("a CUDA backend is registered in this build")
	}
	_, err := NewOn(CUDA(0), Float32, 2, 2)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cuda")
	_, err = arange(2).To(CUDA(0))
	require.Error(t, err)
	d, err := ParseDevice("cuda:1")
	require.NoError(t, err)
	assert.Equal(t, CUDA(1), d)
	_, err = ParseDevice("tpu")
	assert.Error(t, err)
}

// naiveBinary computes op over broadcast shapes with float64 loops.
func naiveBinary(op BinaryOp, a, b *Tensor) ([]float64, []int) {
	shape, err := BroadcastShapes(a.Shape(), b.Shape())
	if err != nil {
		panic(err)
	}
	ae, be := a.Expand(shape...), b.Expand(shape...)
	av, bv := ae.Float64s(), be.Float64s()
	out := make([]float64, len(av))
	for i := range av {
		out[i] = binaryScalar(op, av[i], bv[i])
	}
	return out, shape
}

func TestBinaryBroadcast(t *testing.T) {
	r := testutil.NewRand(1)
	mk := func(shape ...int) *Tensor {
		return FromFloat32(testutil.Uniform32(r, numel(shape), 0.5, 2), shape...)
	}
	pairs := []struct{ a, b *Tensor }{
		{mk(3, 4), mk(3, 4)},
		{mk(3, 4), mk(4)},
		{mk(3, 1), mk(1, 5)},
		{mk(2, 3, 5), mk(3, 1)},
		{mk(2, 3, 17), mk(2, 1, 17)},
		{mk(5, 3).T(), mk(3, 5)},                     // strided a
		{mk(4, 6).Narrow(1, 1, 3), mk(1)},            // narrowed a, scalar-like b
		{Scalar(2), mk(2, 7)},                        // 0-d
		{mk(2, 0, 3), mk(3)},                         // empty
		{mk(1, 33).Expand(3, 33), mk(3, 33).T().T()}, // expanded
	}
	for _, op := range []BinaryOp{OpAdd, OpSub, OpMul, OpDiv, OpMaximum, OpMinimum, OpPow, OpGreater, OpLess, OpEqual} {
		for i, p := range pairs {
			got := Binary(op, p.a, p.b)
			want, shape := naiveBinary(op, p.a, p.b)
			require.Equal(t, shape, got.Shape(), "%s pair %d", op, i)
			testutil.AssertClose(t, op.String(), got.Float32s(), want, testutil.F32)
			// float64 path
			got64 := Binary(op, p.a.Cast(Float64), p.b.Cast(Float64))
			testutil.AssertClose(t, op.String()+"64", got64.Float64s(), want, testutil.F32)
		}
	}
}

func TestUnaryAgainstDefinitions(t *testing.T) {
	r := testutil.NewRand(2)
	x32 := FromFloat32(testutil.Uniform32(r, 257, -4, 4), 257)
	pos := FromFloat32(testutil.Uniform32(r, 257, 0.01, 9), 257)
	for op := UnaryOp(0); op < numUnaryOps; op++ {
		in := x32
		if op == OpLog || op == OpSqrt || op == OpRsqrt || op == OpRecip {
			in = pos
		}
		want := make([]float64, in.Numel())
		for i, v := range in.Float64s() {
			want[i] = unaryScalar(op, v)
		}
		testutil.AssertClose(t, op.String(), Unary(op, in).Float32s(), want, testutil.F32)
		testutil.AssertClose(t, op.String()+"64", Unary(op, in.Cast(Float64)).Float64s(), want, testutil.F64)
		// backward vs the scalar derivative
		dy := FromFloat32(testutil.Uniform32(r, in.Numel(), -1, 1), in.Numel())
		xy := in
		if op.BackwardUsesOutput() {
			xy = Unary(op, in)
		}
		wantG := make([]float64, in.Numel())
		dv, xv := dy.Float64s(), xy.Float64s()
		for i := range wantG {
			wantG[i] = unaryGradScalar(op, dv[i], xv[i])
		}
		testutil.AssertClose(t, op.String()+" backward", UnaryBackward(op, dy, xy).Float32s(), wantG, testutil.F32)
	}
}

func naiveMatmul(a, b []float64, m, n, k int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				s += a[i*k+p] * b[p*n+j]
			}
			c[i*n+j] = s
		}
	}
	return c
}

func TestMatmul(t *testing.T) {
	r := testutil.NewRand(3)
	mk := func(shape ...int) *Tensor {
		return FromFloat32(testutil.Uniform32(r, numel(shape), -1, 1), shape...)
	}
	cases := []struct {
		name           string
		a, b           *Tensor
		transA, transB bool
	}{
		{"2d", mk(5, 7), mk(7, 3), false, false},
		{"transA", mk(7, 5), mk(7, 3), true, false},
		{"transB", mk(5, 7), mk(3, 7), false, true},
		{"both", mk(7, 5), mk(3, 7), true, true},
		{"batched", mk(4, 5, 7), mk(4, 7, 3), false, false},
		{"broadcast b", mk(2, 4, 5, 7), mk(7, 3), false, false},
		{"broadcast batch", mk(2, 1, 5, 7), mk(1, 3, 7, 6), false, false},
		{"strided views", mk(4, 7, 5).Transpose(1, 2), mk(4, 3, 7).Transpose(1, 2), false, false},
		{"narrowed", mk(6, 9).Narrow(1, 1, 7), mk(7, 8).Narrow(1, 2, 3), false, false},
		{"vector", mk(5, 7), mk(7), false, false},
		{"permuted heads", mk(2, 5, 3, 4).Permute(0, 2, 1, 3), mk(2, 6, 3, 4).Permute(0, 2, 1, 3), false, true},
		{"permuted heads PV", mk(2, 3, 5, 6), mk(2, 6, 3, 4).Permute(0, 2, 1, 3), false, false},
		{"odd", mk(33, 65), mk(65, 17), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := MatmulT(c.a, c.b, c.transA, c.transB)
			a, b := c.a, c.b
			if c.transA {
				a = a.T()
			}
			if b.NDim() == 1 {
				b = b.Unsqueeze(1)
			} else if c.transB {
				b = b.T()
			}
			bshape, err := BroadcastShapes(a.Shape()[:a.NDim()-2], b.Shape()[:b.NDim()-2])
			require.NoError(t, err)
			m, k, n := a.Dim(-2), a.Dim(-1), b.Dim(-1)
			ae := a.Expand(append(append([]int{}, bshape...), m, k)...).Reshape(-1, m, k)
			be := b.Expand(append(append([]int{}, bshape...), k, n)...).Reshape(-1, k, n)
			var want []float64
			for i := 0; i < ae.Dim(0); i++ {
				want = append(want, naiveMatmul(ae.Select(0, i).Float64s(), be.Select(0, i).Float64s(), m, n, k)...)
			}
			testutil.AssertClose(t, c.name, got.Float32s(), want, testutil.F32)
			got64 := MatmulT(c.a.Cast(Float64), c.b.Cast(Float64), c.transA, c.transB)
			testutil.AssertClose(t, c.name+"64", got64.Float64s(), want, testutil.F64)
		})
	}
}

func TestLinear(t *testing.T) {
	r := testutil.NewRand(4)
	x := FromFloat32(testutil.Uniform32(r, 2*3*5, -1, 1), 2, 3, 5)
	w := FromFloat32(testutil.Uniform32(r, 4*5, -1, 1), 4, 5)
	b := FromFloat32(testutil.Uniform32(r, 4, -1, 1), 4)
	want := Add(Matmul(x, w.T()), b)
	testutil.AssertClose(t, "linear", Linear(x, w, b).Float32s(), want.Float32s(), testutil.F32Rounding)
	testutil.AssertClose(t, "linear no bias", Linear(x, w, nil).Float32s(), Matmul(x, w.T()).Float32s(), testutil.F32Rounding)
}

func TestReductions(t *testing.T) {
	r := testutil.NewRand(5)
	x := FromFloat32(testutil.Uniform32(r, 3*4*5, -3, 3), 3, 4, 5)
	xv := x.Float64s()
	at := func(i, j, k int) float64 { return xv[i*20+j*5+k] }
	for axis := 0; axis < 3; axis++ {
		sum := Sum(x, axis, false)
		mx, arg := Max(x, axis, true)
		var wantSum, wantMax, wantArg []float64
		dims := []int{3, 4, 5}
		o := []int{}
		for a := 0; a < 3; a++ {
			if a != axis {
				o = append(o, dims[a])
			}
		}
		for p := 0; p < o[0]; p++ {
			for q := 0; q < o[1]; q++ {
				s, m, am := 0.0, math.Inf(-1), 0
				for i := 0; i < dims[axis]; i++ {
					var v float64
					switch axis {
					case 0:
						v = at(i, p, q)
					case 1:
						v = at(p, i, q)
					case 2:
						v = at(p, q, i)
					}
					s += v
					if v > m {
						m, am = v, i
					}
				}
				wantSum = append(wantSum, s)
				wantMax = append(wantMax, m)
				wantArg = append(wantArg, float64(am))
			}
		}
		testutil.AssertClose(t, "sum", sum.Float32s(), wantSum, testutil.F32)
		testutil.AssertClose(t, "max", mx.Float32s(), wantMax, testutil.Exact)
		testutil.AssertClose(t, "argmax", arg.Float64s(), wantArg, testutil.Exact)
		assert.Equal(t, 3, mx.NDim())
	}
	assert.InDelta(t, sumF(xv), SumAll(x).Item(), 1e-4)
	assert.InDelta(t, sumF(xv)/60, MeanAll(x).Item(), 1e-5)
	n := Norm(x, -1, false)
	assert.InDelta(t, math.Sqrt(at(0, 0, 0)*at(0, 0, 0)+at(0, 0, 1)*at(0, 0, 1)+at(0, 0, 2)*at(0, 0, 2)+at(0, 0, 3)*at(0, 0, 3)+at(0, 0, 4)*at(0, 0, 4)), n.At(0, 0), 1e-5)
	st := SumTo(x, []int{4, 1})
	assert.Equal(t, []int{4, 1}, st.Shape())
	assert.InDelta(t, sumF(Sum(Sum(x, 0, false), 1, false).Float64s()[:1]), st.At(0, 0), 1e-4)
}

func sumF(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func TestSoftmaxAnyAxis(t *testing.T) {
	r := testutil.NewRand(6)
	x := FromFloat32(testutil.Uniform32(r, 2*3*4, -3, 3), 2, 3, 4)
	for axis := 0; axis < 3; axis++ {
		y := Softmax(x, axis)
		want := Div(Exp(x), Sum(Exp(x), axis, true))
		testutil.AssertClose(t, "softmax", y.Float32s(), want.Float32s(), testutil.F32)
		ly := LogSoftmax(x, axis)
		testutil.AssertClose(t, "logsoftmax", ly.Float32s(), Log(want).Float32s(), testutil.F32)
	}
}

func TestNorms(t *testing.T) {
	x := FromFloat32([]float32{1, 2, 3, 2, 2, 2}, 2, 3)
	y, st := LayerNorm(x, nil, nil, 0)
	testutil.AssertClose(t, "layernorm", y.Float32s()[:3], []float64{-1.2247449, 0, 1.2247449}, testutil.F32)
	assert.Equal(t, []float32{2, 2}, st.Mean.Float32s())
	g := FromFloat32([]float32{1, 2, 3}, 3)
	ry, _ := RMSNorm(x, g, 0)
	rms := math.Sqrt(14.0 / 3)
	testutil.AssertClose(t, "rmsnorm", ry.Float32s()[:3], []float64{1 / rms, 4 / rms, 9 / rms}, testutil.F32)
}

func TestIndexing(t *testing.T) {
	table := arange(5, 3)
	e, err := Embedding(table, FromInt32([]int32{4, 0, 4, 2}, 2, 2))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 2, 3}, e.Shape())
	assert.Equal(t, []float32{12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8}, e.Float32s())
	_, err = Embedding(table, FromInt32([]int32{1, 5}, 2))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "index 5 at position 1")
	sel, err := IndexSelect(arange(2, 4), 1, FromInt32([]int32{3, 1}, 2))
	require.NoError(t, err)
	assert.Equal(t, []float32{3, 1, 7, 5}, sel.Float32s())
	add, err := IndexAdd([]int{2, 4}, 1, FromInt32([]int32{3, 3}, 2), Ones(2, 2))
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 0, 2, 0, 0, 0, 2}, add.Float32s())
	gat, err := Gather(arange(2, 4), FromInt32([]int32{1, 1, 0, 3}, 2, 2))
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 1, 4, 7}, gat.Float32s())
	_, err = Gather(arange(2, 4), FromInt32([]int32{-1, 1}, 2, 1))
	assert.Error(t, err)
	sc, err := ScatterAdd([]int{2, 3}, FromInt32([]int32{2, 2, 0, 1}, 2, 2), Ones(2, 2))
	require.NoError(t, err)
	assert.Equal(t, []float32{0, 0, 2, 1, 1, 0}, sc.Float32s())
	mf := MaskedFill(arange(2, 3), FromInt32([]int32{0, 1, 0}, 3), -1)
	assert.Equal(t, []float32{0, -1, 2, 3, -1, 5}, mf.Float32s())
	w := Where(FromInt32([]int32{1, 0}, 2, 1), arange(2, 3), Full(9, 3))
	assert.Equal(t, []float32{0, 1, 2, 9, 9, 9}, w.Float32s())
}

func TestRNG(t *testing.T) {
	a, b := NewRNG(7), NewRNG(7)
	assert.Equal(t, a.Normal(0, 1, 10).Float32s(), b.Normal(0, 1, 10).Float32s())
	st, err := a.State()
	require.NoError(t, err)
	x := a.Uniform(0, 1, 5).Float32s()
	require.NoError(t, a.SetState(st))
	assert.Equal(t, x, a.Uniform(0, 1, 5).Float32s())
	m := NewRNG(1).DropoutMask(0.25, 100000).Float32s()
	zeros := 0
	for _, v := range m {
		switch v {
		case 0:
			zeros++
		case float32(1 / 0.75):
		default:
			t.Fatalf("mask value %g", v)
		}
	}
	assert.InDelta(t, 0.25, float64(zeros)/1e5, 0.01)
	n := NewRNG(3).Normal64(1, 2, 200000).Float64s()
	mean := sumF(n) / 2e5
	assert.InDelta(t, 1.0, mean, 0.02)
}

func TestAdamWStepMatchesFormula(t *testing.T) {
	p := FromFloat64([]float64{1, -2}, 2)
	g := FromFloat64([]float64{0.5, 0.25}, 2)
	m, v := New(Float64, 2), New(Float64, 2)
	AdamWStep(p, g, m, v, AdamWParams{LR: 0.1, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 1})
	// step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) = lr·sign(g)
	want := []float64{1*(1-0.001) - 0.1*0.5/(0.5+1e-8), -2*(1-0.001) - 0.1*0.25/(0.25+1e-8)}
	testutil.AssertClose(t, "adamw", p.Float64s(), want, testutil.F64)
}

// The in-place ops compute what their allocating twins compute, into dst.
func TestInPlaceOps(t *testing.T) {
	for _, dt := range []DType{Float32, Float64} {
		x := arange(3, 37).Cast(dt)
		want := MulScalar(x, -0.37).Float64s()
		MulScalarInPlace(x, -0.37)
		testutil.AssertClose(t, "MulScalarInPlace "+dt.String(), x.Float64s(), want, testutil.Exact)

		y := arange(3, 37).Cast(dt)
		b := arange(37).Cast(dt)
		want = Add(y, b).Float64s()
		AddInPlace(y, b)
		testutil.AssertClose(t, "AddInPlace "+dt.String(), y.Float64s(), want, testutil.Exact)
	}
	assert.Panics(t, func() { MulScalarInPlace(arange(4, 5).Transpose(0, 1), 2) }, "a non-contiguous dst")
}

// The dropout mask depends on the seed and shape only: the same with one or
// two workers, across chunk boundaries and odd lengths; it advances the
// generator by one draw, so saving and restoring the state replays it.
func TestDropoutMaskDeterministic(t *testing.T) {
	for _, n := range []int{1, 2, 3, 1 << 15, 1<<15 + 1, 100001} {
		prev := cpu.SetThreads(1)
		a := NewRNG(9).DropoutMask(0.1, n).Float32s()
		cpu.SetThreads(2)
		b := NewRNG(9).DropoutMask(0.1, n).Float32s()
		cpu.SetThreads(prev)
		require.Equal(t, a, b, "n=%d", n)
	}
	g := NewRNG(5)
	st, err := g.State()
	require.NoError(t, err)
	first := g.DropoutMask(0.5, 999).Float32s()
	second := g.DropoutMask(0.5, 999).Float32s()
	assert.NotEqual(t, first, second, "consecutive masks differ")
	require.NoError(t, g.SetState(st))
	assert.Equal(t, first, g.DropoutMask(0.5, 999).Float32s(), "replay from the saved state")
	ref := NewRNG(5)
	ref.r.Uint64()
	next, err := ref.State()
	require.NoError(t, err)
	after, err := g.State()
	require.NoError(t, err)
	assert.Equal(t, next, after, "one draw per mask")
	// Two halves of a long mask are not copies of each other, and each
	// keeps about 1-p.
	m := NewRNG(11).DropoutMask(0.3, 1<<17).Float32s()
	h := len(m) / 2
	same := 0
	for i := 0; i < h; i++ {
		if m[i] == m[h+i] {
			same++
		}
	}
	// Independent halves agree with probability 0.3² + 0.7² = 0.58.
	assert.InDelta(t, 0.58, float64(same)/float64(h), 0.01)
}

func TestRecoverDeviceError(t *testing.T) {
	de := &DeviceError{Device: CUDA(1), Op: "Matmul", Err: errors.New("kernel ragr_gemm_f32_nn: launch failed")}
	f := func(p any) (err error) {
		defer RecoverDeviceError(&err)
		panic(p)
	}
	err := f(de)
	if !errors.Is(err, de) || err.Error() != "tensor: Matmul on cuda:1: kernel ragr_gemm_f32_nn: launch failed" {
		t.Fatalf("recovered %v", err)
	}
	wrapped := fmt.Errorf("tensor: allocating: %w", de)
	if err := f(wrapped); err != wrapped {
		t.Fatalf("recovered %v, want the wrapping error", err)
	}
	defer func() {
		if r := recover(); r != "other" {
			t.Fatalf("a foreign panic became %v", r)
		}
	}()
	_ = f("other")
	t.Fatal("a foreign panic was swallowed")
}
