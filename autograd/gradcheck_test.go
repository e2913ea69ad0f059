package autograd

import (
	"fmt"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// gradCheck compares the analytic gradients of sum(w ⊙ f(inputs)) for a fixed
// random w with float64 central finite differences (step 1e-6), for every
// input that is a Param.
func gradCheck(t *testing.T, name string, f func(v []*Var) *Var, inputs ...*tensor.Tensor) {
	t.Helper()
	const h = 1e-6
	params := make([]*Var, len(inputs))
	for i, in := range inputs {
		params[i] = Param(in.Clone(), fmt.Sprintf("in%d", i))
	}
	out := f(params)
	w := tensor.NewRNG(99).Uniform64(0.5, 1.5, out.Shape()...)
	loss := SumAll(Mul(out, Const(w)))
	if err := loss.Backward(); err != nil {
		t.Fatalf("%s: backward: %v", name, err)
	}
	eval := func() float64 {
		var l float64
		NoGrad(func() {
			cs := make([]*Var, len(params))
			for i, p := range params {
				cs[i] = Const(p.Value)
			}
			l = SumAll(Mul(f(cs), Const(w))).Value.Item()
		})
		return l
	}
	for i, p := range params {
		data := p.Value.Data64()
		num := make([]float64, len(data))
		for j := range data {
			orig := data[j]
			data[j] = orig + h
			up := eval()
			data[j] = orig - h
			down := eval()
			data[j] = orig
			num[j] = (up - down) / (2 * h)
		}
		if p.Grad == nil {
			t.Errorf("%s: input %d got no gradient", name, i)
			continue
		}
		testutil.AssertClose(t, fmt.Sprintf("%s d/d input %d", name, i), p.Grad.Float64s(), num, testutil.FiniteDiff)
	}
}

func r64(seed uint64, lo, hi float64, shape ...int) *tensor.Tensor {
	return tensor.NewRNG(seed).Uniform64(lo, hi, shape...)
}

func TestGradientsFiniteDifferences(t *testing.T) {
	ids := tensor.FromInt32([]int32{2, 0, 2, 3}, 2, 2)
	mask := tensor.FromInt32([]int32{0, 1, 0, 0}, 4)
	cond := tensor.FromInt32([]int32{1, 0, 1}, 3)
	cases := []struct {
		name   string
		f      func(v []*Var) *Var
		inputs []*tensor.Tensor
	}{
		{"Neg", func(v []*Var) *Var { return Neg(v[0]) }, []*tensor.Tensor{r64(1, -2, 2, 3, 4)}},
		{"Exp", func(v []*Var) *Var { return Exp(v[0]) }, []*tensor.Tensor{r64(1, -2, 2, 3, 4)}},
		{"Log", func(v []*Var) *Var { return Log(v[0]) }, []*tensor.Tensor{r64(1, 0.5, 2, 3, 4)}},
		{"Sqrt", func(v []*Var) *Var { return Sqrt(v[0]) }, []*tensor.Tensor{r64(1, 0.5, 2, 3, 4)}},
		{"Rsqrt", func(v []*Var) *Var { return Rsqrt(v[0]) }, []*tensor.Tensor{r64(1, 0.5, 2, 3, 4)}},
		{"Square", func(v []*Var) *Var { return Square(v[0]) }, []*tensor.Tensor{r64(1, -2, 2, 3, 4)}},
		{"Abs", func(v []*Var) *Var { return Abs(v[0]) }, []*tensor.Tensor{r64(1, -2, 2, 3, 4)}},
		{"Relu", func(v []*Var) *Var { return Relu(v[0]) }, []*tensor.Tensor{r64(2, -2, 2, 3, 4)}},
		{"Tanh", func(v []*Var) *Var { return Tanh(v[0]) }, []*tensor.Tensor{r64(1, -2, 2, 3, 4)}},
		{"Sigmoid", func(v []*Var) *Var { return Sigmoid(v[0]) }, []*tensor.Tensor{r64(1, -4, 4, 3, 4)}},
		{"Gelu", func(v []*Var) *Var { return Gelu(v[0]) }, []*tensor.Tensor{r64(1, -4, 4, 3, 4)}},
		{"GeluTanh", func(v []*Var) *Var { return GeluTanh(v[0]) }, []*tensor.Tensor{r64(1, -4, 4, 3, 4)}},
		{"Silu", func(v []*Var) *Var { return Silu(v[0]) }, []*tensor.Tensor{r64(1, -4, 4, 3, 4)}},
		{"Erf", func(v []*Var) *Var { return Erf(v[0]) }, []*tensor.Tensor{r64(1, -2, 2, 3, 4)}},
		{"Recip", func(v []*Var) *Var { return Recip(v[0]) }, []*tensor.Tensor{r64(1, 0.5, 2, 3, 4)}},
		{"Add broadcast", func(v []*Var) *Var { return Add(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 4)}},
		{"Sub broadcast", func(v []*Var) *Var { return Sub(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 1), r64(2, -1, 1, 1, 4)}},
		{"Mul broadcast", func(v []*Var) *Var { return Mul(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 4), r64(2, -1, 1, 3, 1)}},
		{"Div broadcast", func(v []*Var) *Var { return Div(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, 0.5, 2, 4)}},
		{"Maximum", func(v []*Var) *Var { return Maximum(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 3, 4)}},
		{"Minimum", func(v []*Var) *Var { return Minimum(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 4)}},
		{"AddScalar", func(v []*Var) *Var { return AddScalar(v[0], 3) }, []*tensor.Tensor{r64(1, -1, 1, 3)}},
		{"MulScalar", func(v []*Var) *Var { return MulScalar(v[0], -3) }, []*tensor.Tensor{r64(1, -1, 1, 3)}},
		{"PowScalar", func(v []*Var) *Var { return PowScalar(v[0], 2.5) }, []*tensor.Tensor{r64(1, 0.5, 2, 3)}},
		{"Where", func(v []*Var) *Var { return Where(cond, v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3), r64(2, -1, 1, 3)}},
		{"MaskedFill", func(v []*Var) *Var { return MaskedFill(v[0], mask, -7) }, []*tensor.Tensor{r64(1, -1, 1, 2, 4)}},
		{"Matmul", func(v []*Var) *Var { return Matmul(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 4, 5)}},
		{"MatmulT transA", func(v []*Var) *Var { return MatmulT(v[0], v[1], true, false) }, []*tensor.Tensor{r64(1, -1, 1, 4, 3), r64(2, -1, 1, 4, 5)}},
		{"MatmulT transB", func(v []*Var) *Var { return MatmulT(v[0], v[1], false, true) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 5, 4)}},
		{"MatmulT both", func(v []*Var) *Var { return MatmulT(v[0], v[1], true, true) }, []*tensor.Tensor{r64(1, -1, 1, 4, 3), r64(2, -1, 1, 5, 4)}},
		{"Matmul batched broadcast", func(v []*Var) *Var { return Matmul(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 4), r64(2, -1, 1, 4, 2)}},
		{"Matmul vector", func(v []*Var) *Var { return Matmul(v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 4)}},
		{"Linear", func(v []*Var) *Var { return Linear(v[0], v[1], v[2]) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 4), r64(2, -1, 1, 5, 4), r64(3, -1, 1, 5)}},
		{"Sum axis", func(v []*Var) *Var { return Sum(v[0], 1, false) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 4)}},
		{"Mean keepdim", func(v []*Var) *Var { return Mean(v[0], -1, true) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 4)}},
		{"MeanAll", func(v []*Var) *Var { return MeanAll(v[0]) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3)}},
		{"Max axis", func(v []*Var) *Var { return Max(v[0], 1, false) }, []*tensor.Tensor{r64(1, -1, 1, 2, 5, 3)}},
		{"Norm", func(v []*Var) *Var { return Norm(v[0], -1, false) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4)}},
		{"Reshape/Permute", func(v []*Var) *Var { return Permute(Reshape(v[0], 4, 3, 2), 2, 0, 1) }, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 4)}},
		{"Transpose/Contiguous", func(v []*Var) *Var { return Mul(Contiguous(Transpose(v[0], 0, 1)), v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4), r64(2, -1, 1, 4, 3)}},
		{"Narrow", func(v []*Var) *Var { return Narrow(v[0], 1, 1, 2) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4)}},
		{"Select", func(v []*Var) *Var { return Select(v[0], 0, 2) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4)}},
		{"Expand", func(v []*Var) *Var { return Expand(v[0], 2, 3, 4) }, []*tensor.Tensor{r64(1, -1, 1, 3, 1)}},
		{"Unsqueeze/Squeeze", func(v []*Var) *Var { return Squeeze(Unsqueeze(v[0], 1), 1) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4)}},
		{"Concat", func(v []*Var) *Var { return Concat(1, v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 2), r64(2, -1, 1, 3, 4)}},
		{"Stack", func(v []*Var) *Var { return Stack(0, v[0], v[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 2), r64(2, -1, 1, 3, 2)}},
		{"Split", func(v []*Var) *Var { p := Split(v[0], 0, 1, 2); return Mul(Expand(p[0], 2, 4), p[1]) }, []*tensor.Tensor{r64(1, -1, 1, 3, 4)}},
		{"Dropout", func(v []*Var) *Var { return Dropout(v[0], 0.4, tensor.NewRNG(8), true) }, []*tensor.Tensor{r64(1, -1, 1, 4, 5)}},
		{"Softmax", func(v []*Var) *Var { return Softmax(v[0], -1) }, []*tensor.Tensor{r64(1, -3, 3, 3, 5)}},
		{"Softmax axis 0", func(v []*Var) *Var { return Softmax(v[0], 0) }, []*tensor.Tensor{r64(1, -3, 3, 3, 5)}},
		{"LogSoftmax", func(v []*Var) *Var { return LogSoftmax(v[0], 1) }, []*tensor.Tensor{r64(1, -3, 3, 2, 4, 3)}},
		{"LayerNorm", func(v []*Var) *Var { return LayerNorm(v[0], v[1], v[2], 1e-5) }, []*tensor.Tensor{r64(1, -2, 2, 3, 6), r64(2, 0.5, 1.5, 6), r64(3, -1, 1, 6)}},
		{"LayerNorm no affine", func(v []*Var) *Var { return LayerNorm(v[0], nil, nil, 1e-5) }, []*tensor.Tensor{r64(1, -2, 2, 3, 6)}},
		{"RMSNorm", func(v []*Var) *Var { return RMSNorm(v[0], v[1], 1e-6) }, []*tensor.Tensor{r64(1, -2, 2, 3, 6), r64(2, 0.5, 1.5, 6)}},
		{"Embedding", func(v []*Var) *Var { e, _ := Embedding(v[0], ids); return e }, []*tensor.Tensor{r64(1, -1, 1, 4, 3)}},
		{"IndexSelect", func(v []*Var) *Var {
			e, _ := IndexSelect(v[0], 1, tensor.FromInt32([]int32{1, 1, 0}, 3))
			return e
		}, []*tensor.Tensor{r64(1, -1, 1, 2, 3, 2)}},
		{"Gather", func(v []*Var) *Var {
			e, _ := Gather(v[0], tensor.FromInt32([]int32{1, 1, 3, 0}, 2, 2))
			return e
		}, []*tensor.Tensor{r64(1, -1, 1, 2, 4)}},
		{"CrossEntropy", func(v []*Var) *Var {
			l, _ := CrossEntropy(v[0], tensor.FromInt32([]int32{2, IgnoreIndex, 0, 4}, 4))
			return l
		}, []*tensor.Tensor{r64(1, -3, 3, 4, 5)}},
		{"BCEWithLogits", func(v []*Var) *Var {
			return BCEWithLogits(v[0], tensor.FromFloat64([]float64{1, 0, 0.3, 1, 0, 0.5}, 2, 3))
		}, []*tensor.Tensor{r64(1, -4, 4, 2, 3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { gradCheck(t, c.name, c.f, c.inputs...) })
	}
}
