package autograd

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

func f64(v ...float64) *tensor.Tensor { return tensor.FromFloat64(v, len(v)) }

// Hand-worked gradients: values derived on paper, one per op family.
func TestHandWorked(t *testing.T) {
	cases := []struct {
		name string
		in   []*tensor.Tensor
		f    func(v []*Var) *Var
		want [][]float64
	}{
		// d/dx sum(x·y) = y, d/dy = x
		{"Mul", []*tensor.Tensor{f64(1, 2), f64(3, 4)}, func(v []*Var) *Var { return SumAll(Mul(v[0], v[1])) }, [][]float64{{3, 4}, {1, 2}}},
		// d/da sum(a/b) = 1/b; d/db = -a/b²
		{"Div", []*tensor.Tensor{f64(1, 2), f64(2, 4)}, func(v []*Var) *Var { return SumAll(Div(v[0], v[1])) }, [][]float64{{0.5, 0.25}, {-0.25, -0.125}}},
		// GELU'(0) = 0.5, SiLU'(0) = 0.5, tanh'(0) = 1, sigmoid'(0) = 0.25
		{"Gelu at 0", []*tensor.Tensor{f64(0)}, func(v []*Var) *Var { return SumAll(Gelu(v[0])) }, [][]float64{{0.5}}},
		{"Silu at 0", []*tensor.Tensor{f64(0)}, func(v []*Var) *Var { return SumAll(Silu(v[0])) }, [][]float64{{0.5}}},
		{"Tanh at 0", []*tensor.Tensor{f64(0)}, func(v []*Var) *Var { return SumAll(Tanh(v[0])) }, [][]float64{{1}}},
		{"Sigmoid at 0", []*tensor.Tensor{f64(0)}, func(v []*Var) *Var { return SumAll(Sigmoid(v[0])) }, [][]float64{{0.25}}},
		// softmax([0,0]) = [.5,.5]; d softmax_0 / dx = [.25, -.25]
		{"Softmax", []*tensor.Tensor{f64(0, 0)}, func(v []*Var) *Var { return Select(Softmax(v[0], 0), 0, 0) }, [][]float64{{0.25, -0.25}}},
		// log_softmax([0,0])_0 = -ln2; gradient [1-.5, -.5]
		{"LogSoftmax", []*tensor.Tensor{f64(0, 0)}, func(v []*Var) *Var { return Select(LogSoftmax(v[0], 0), 0, 0) }, [][]float64{{0.5, -0.5}}},
		// max picks index 1 of [1,3,2]
		{"Max", []*tensor.Tensor{f64(1, 3, 2)}, func(v []*Var) *Var { return Max(v[0], 0, false) }, [][]float64{{0, 1, 0}}},
		// CE of logits [0,0] with target 1: softmax - onehot = [.5, -.5]
		{"CrossEntropy", []*tensor.Tensor{tensor.FromFloat64([]float64{0, 0}, 1, 2)}, func(v []*Var) *Var {
			l, err := CrossEntropy(v[0], tensor.FromInt32([]int32{1}, 1))
			require.NoError(t, err)
			return l
		}, [][]float64{{0.5, -0.5}}},
		// BCE with logit 0 and target 1: sigmoid(0)-1 = -.5
		{"BCEWithLogits", []*tensor.Tensor{f64(0)}, func(v []*Var) *Var { return BCEWithLogits(v[0], f64(1)) }, [][]float64{{-0.5}}},
		// float64 → float32 and back: the gradient is cast back exactly.
		{"Cast", []*tensor.Tensor{f64(1, 2)}, func(v []*Var) *Var {
			w := Const(tensor.FromFloat32([]float32{3, 4}, 2))
			return Cast(SumAll(Mul(Cast(v[0], tensor.Float32), w)), tensor.Float64)
		}, [][]float64{{3, 4}}},
		// x·Wᵀ with x=[1,2], W=[[3,4]]: dx = W, dW = x
		{"Linear", []*tensor.Tensor{tensor.FromFloat64([]float64{1, 2}, 1, 2), tensor.FromFloat64([]float64{3, 4}, 1, 2)}, func(v []*Var) *Var {
			return SumAll(Linear(v[0], v[1], nil))
		}, [][]float64{{3, 4}, {1, 2}}},
		// LayerNorm of [1,2,3] (eps 0): y = [-a,0,a], a=√1.5; with dy=[1,0,0]
		// dx = rstd·(dy - mean(dy) - xhat·mean(dy·xhat)), rstd = √1.5
		{"LayerNorm", []*tensor.Tensor{f64(1, 2, 3)}, func(v []*Var) *Var { return Select(LayerNorm(v[0], nil, nil, 0), 0, 0) }, [][]float64{{
			math.Sqrt(1.5) * (1 - 1.0/3 - (-math.Sqrt(1.5))*(-math.Sqrt(1.5))/3),
			math.Sqrt(1.5) * (0 - 1.0/3 - 0),
			math.Sqrt(1.5) * (0 - 1.0/3 - (math.Sqrt(1.5))*(-math.Sqrt(1.5))/3),
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vs := make([]*Var, len(c.in))
			for i, in := range c.in {
				vs[i] = Param(in, "")
			}
			require.NoError(t, c.f(vs).Backward())
			for i, w := range c.want {
				testutil.AssertClose(t, c.name, vs[i].Grad.Float64s(), w, testutil.F64)
			}
		})
	}
}

// Fused ops against the same function written with primitive ops: values and
// gradients agree.
func TestFusedAgainstComposite(t *testing.T) {
	x := r64(11, -3, 3, 4, 6)
	gamma, beta := r64(12, 0.5, 1.5, 6), r64(13, -1, 1, 6)
	targets := tensor.FromInt32([]int32{5, 0, 3, 3}, 4)
	ytarg := r64(14, 0, 1, 4, 6)
	cases := []struct {
		name            string
		fused, composed func(v []*Var) *Var
	}{
		{"softmax", func(v []*Var) *Var { return Softmax(v[0], -1) }, func(v []*Var) *Var {
			e := Exp(v[0])
			return Div(e, Sum(e, -1, true))
		}},
		{"logsoftmax", func(v []*Var) *Var { return LogSoftmax(v[0], -1) }, func(v []*Var) *Var {
			return Sub(v[0], Log(Sum(Exp(v[0]), -1, true)))
		}},
		{"layernorm", func(v []*Var) *Var { return LayerNorm(v[0], v[1], v[2], 1e-5) }, func(v []*Var) *Var {
			mu := Mean(v[0], -1, true)
			c := Sub(v[0], mu)
			varc := Mean(Square(c), -1, true)
			return Add(Mul(Mul(c, Rsqrt(AddScalar(varc, 1e-5))), v[1]), v[2])
		}},
		{"rmsnorm", func(v []*Var) *Var { return RMSNorm(v[0], v[1], 1e-6) }, func(v []*Var) *Var {
			return Mul(Mul(v[0], Rsqrt(AddScalar(Mean(Square(v[0]), -1, true), 1e-6))), v[1])
		}},
		{"gelu", func(v []*Var) *Var { return Gelu(v[0]) }, func(v []*Var) *Var {
			return Mul(MulScalar(v[0], 0.5), AddScalar(Erf(MulScalar(v[0], 1/math.Sqrt2)), 1))
		}},
		{"gelu tanh", func(v []*Var) *Var { return GeluTanh(v[0]) }, func(v []*Var) *Var {
			inner := MulScalar(Add(v[0], MulScalar(PowScalar(v[0], 3), 0.044715)), math.Sqrt(2/math.Pi))
			return Mul(MulScalar(v[0], 0.5), AddScalar(Tanh(inner), 1))
		}},
		{"silu", func(v []*Var) *Var { return Silu(v[0]) }, func(v []*Var) *Var { return Mul(v[0], Sigmoid(v[0])) }},
		{"cross entropy", func(v []*Var) *Var {
			l, _ := CrossEntropy(v[0], targets)
			return l
		}, func(v []*Var) *Var {
			g, _ := Gather(LogSoftmax(v[0], -1), targets.Reshape(4, 1))
			return Neg(MeanAll(g))
		}},
		{"bce with logits", func(v []*Var) *Var { return BCEWithLogits(v[0], ytarg) }, func(v []*Var) *Var {
			p := Sigmoid(v[0])
			y := Const(ytarg)
			one := Const(tensor.Scalar64(1))
			l := Add(Mul(y, Log(p)), Mul(Sub(one, y), Log(Sub(one, p))))
			return Neg(MeanAll(l))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(f func(v []*Var) *Var) (*tensor.Tensor, []*tensor.Tensor) {
				vs := []*Var{Param(x.Clone(), "x"), Param(gamma.Clone(), "g"), Param(beta.Clone(), "b")}
				y := f(vs)
				w := r64(15, 0.5, 1.5, y.Shape()...)
				require.NoError(t, SumAll(Mul(y, Const(w))).Backward())
				return y.Value, []*tensor.Tensor{vs[0].Grad, vs[1].Grad, vs[2].Grad}
			}
			yf, gf := run(c.fused)
			yc, gc := run(c.composed)
			testutil.AssertClose(t, "value", yf.Float64s(), yc.Float64s(), testutil.F64)
			for i := range gf {
				if gc[i] == nil {
					assert.Nil(t, gf[i])
					continue
				}
				require.NotNil(t, gf[i], "input %d", i)
				testutil.AssertClose(t, "grad", gf[i].Float64s(), gc[i].Float64s(), testutil.F64)
			}
		})
	}
}

func TestBackwardTwiceIsAnError(t *testing.T) {
	x := Param(f64(1, 2, 3), "x")
	loss := SumAll(Square(x))
	require.NoError(t, loss.Backward())
	err := loss.Backward()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrGraphFreed))
	assert.Equal(t, []float64{2, 4, 6}, x.Grad.Float64s(), "gradients must not double")
}

func TestRetainAndAccumulate(t *testing.T) {
	x := Param(f64(1, 2, 3), "x")
	loss := SumAll(Square(x))
	require.NoError(t, loss.BackwardRetain())
	require.NoError(t, loss.Backward())
	assert.Equal(t, []float64{4, 8, 12}, x.Grad.Float64s())
	// A fresh graph accumulates into the same Grad.
	require.NoError(t, SumAll(x).Backward())
	assert.Equal(t, []float64{5, 9, 13}, x.Grad.Float64s())
	x.ZeroGrad()
	assert.Nil(t, x.Grad)
}

func TestSharedInputsAndLeafOwnership(t *testing.T) {
	a := Param(f64(1, 2), "a")
	b := Param(f64(3, 4), "b")
	// a is used twice; Add hands one gradient tensor to both inputs.
	require.NoError(t, SumAll(Add(Add(a, b), a)).Backward())
	assert.Equal(t, []float64{2, 2}, a.Grad.Float64s())
	assert.Equal(t, []float64{1, 1}, b.Grad.Float64s())
	// Changing one leaf's gradient in place leaves the other alone.
	a.Grad.Data64()[0] = 100
	assert.Equal(t, []float64{1, 1}, b.Grad.Float64s())
}

func TestNoGrad(t *testing.T) {
	x := Param(f64(1, 2), "x")
	var y *Var
	NoGrad(func() { y = Square(x) })
	assert.False(t, y.RequiresGrad())
	assert.True(t, GradEnabled())
	err := SumAll(y).Backward()
	assert.Error(t, err)
	c := Const(f64(1))
	assert.False(t, Add(c, c).RequiresGrad())
}

func TestDeepChainNoRecursion(t *testing.T) {
	x := Param(f64(1), "x")
	y := x
	for i := 0; i < 20000; i++ {
		y = AddScalar(y, 0)
	}
	require.NoError(t, SumAll(MulScalar(y, 3)).Backward())
	assert.Equal(t, []float64{3}, x.Grad.Float64s())
}

func TestCheckpointMatchesPlain(t *testing.T) {
	w1 := r64(21, -1, 1, 5, 4)
	w2 := r64(22, -1, 1, 3, 5)
	xin := r64(23, -1, 1, 6, 4)
	run := func(ckpt bool) (float64, []*tensor.Tensor) {
		p1, p2 := Param(w1.Clone(), "w1"), Param(w2.Clone(), "w2")
		x := Param(xin.Clone(), "x")
		rng := tensor.NewRNG(5)
		block := func(in []*Var) []*Var {
			h := Gelu(Linear(in[0], p1, nil))
			h = Dropout(h, 0.3, rng, true)
			return []*Var{Linear(h, p2, nil)}
		}
		var out *Var
		if ckpt {
			out = Checkpoint(block, []*Var{x}, rng)[0]
		} else {
			out = block([]*Var{x})[0]
		}
		loss := SumAll(Square(out))
		require.NoError(t, loss.Backward())
		return loss.Value.Item(), []*tensor.Tensor{p1.Grad, p2.Grad, x.Grad}
	}
	l0, g0 := run(false)
	l1, g1 := run(true)
	assert.Equal(t, l0, l1)
	for i := range g0 {
		require.NotNil(t, g1[i], "grad %d", i)
		testutil.AssertClose(t, "checkpoint grad", g1[i].Float64s(), g0[i].Float64s(), testutil.F64)
	}
}

func TestCrossEntropyErrors(t *testing.T) {
	x := Param(r64(1, -1, 1, 2, 3), "x")
	_, err := CrossEntropy(x, tensor.FromInt32([]int32{0, 3}, 2))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "row 1")
	_, err = Embedding(x, tensor.FromInt32([]int32{2}, 1))
	assert.Error(t, err)
}

func TestFloat32MatchesFloat64(t *testing.T) {
	x64 := r64(31, -2, 2, 4, 8)
	w64 := r64(32, -1, 1, 8, 8)
	f := func(x, w *Var) *Var {
		return MeanAll(Softmax(LayerNorm(Gelu(Matmul(x, w)), nil, nil, 1e-5), -1))
	}
	x32, w32 := Param(x64.Cast(tensor.Float32), "x"), Param(w64.Cast(tensor.Float32), "w")
	xa, wa := Param(x64.Clone(), "x"), Param(w64.Clone(), "w")
	l32, l64 := f(x32, w32), f(xa, wa)
	require.NoError(t, l32.Backward())
	require.NoError(t, l64.Backward())
	testutil.AssertClose(t, "loss", l32.Value.Float64s(), l64.Value.Float64s(), testutil.F32)
	testutil.AssertClose(t, "dx", x32.Grad.Float64s(), xa.Grad.Float64s(), testutil.F32Accum)
}

// In bf16 mixed precision Linear rounds x, w and the output gradient once
// each (three casts for the forward and both backward products) and gives
// exactly the products of the rounded operands: the CPU's float32 ops on
// bf16-rounded copies.
func TestLinearRoundsOperandsOnce(t *testing.T) {
	d := tensor.Sim(13)
	r := testutil.NewRand(14)
	xh := tensor.FromFloat32(testutil.Normal32(r, 2*5*8, 1), 2, 5, 8)
	wh := tensor.FromFloat32(testutil.Normal32(r, 6*8, 1), 6, 8)
	bh := tensor.FromFloat32(testutil.Normal32(r, 6, 1), 6)
	gh := tensor.FromFloat32(testutil.Normal32(r, 2*5*6, 1), 2, 5, 6)
	on := func(h *tensor.Tensor) *tensor.Tensor {
		v, err := h.To(d)
		require.NoError(t, err)
		return v
	}
	_, err := tensor.SetMixedPrecision(d, true)
	require.NoError(t, err)
	defer tensor.SetMixedPrecision(d, false) //nolint:errcheck
	x, w, b := Param(on(xh), "x"), Param(on(wh), "w"), Param(on(bh), "b")
	require.NoError(t, tensor.StartProfile(d))
	y := Linear(x, w, b)
	require.NoError(t, SumAll(Mul(y, Const(on(gh)))).Backward())
	prof, err := tensor.StopProfile(d)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, k := range prof {
		counts[k.Name] = k.Count
	}
	assert.Equal(t, 3, counts["RoundOperand"], "x, w and the output gradient, once each (profile %v)", prof)

	round := func(h *tensor.Tensor) *tensor.Tensor { return h.Cast(tensor.BFloat16).Cast(tensor.Float32) }
	xr, wr, gr := round(xh), round(wh), round(gh)
	assert.Equal(t, tensor.Linear(xr, wr, bh).Float32s(), y.Value.Float32s(), "y")
	assert.Equal(t, tensor.Matmul(gr.Reshape(10, 6), wr).Float32s(), x.Grad.Float32s(), "dx")
	assert.Equal(t, tensor.MatmulT(gr.Reshape(10, 6), xr.Reshape(10, 8), true, false).Float32s(), w.Grad.Float32s(), "dw")
	assert.Equal(t, tensor.Sum(gh.Reshape(10, 6), 0, false).Float32s(), b.Grad.Float32s(), "db")
}
