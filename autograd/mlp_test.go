package autograd

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
)

// A two-layer MLP learns a smooth nonlinear regression target with AdamW:
// the training loss falls from about 0.5 to below 0.01 in 400 full-batch
// steps. The target is y = sin(2·x0)·cos(x1) + 0.5·x2² for x uniform in
// [-1, 1]³, a function a 64-unit hidden layer fits well.
func TestTwoLayerMLPConverges(t *testing.T) {
	rng := tensor.NewRNG(42)
	const n, din, hidden = 256, 3, 64
	x := rng.Uniform(-1, 1, n, din)
	xv := x.Data32()
	y := tensor.Zeros(n, 1)
	yv := y.Data32()
	for i := 0; i < n; i++ {
		a, b, c := float64(xv[i*3]), float64(xv[i*3+1]), float64(xv[i*3+2])
		yv[i] = float32(math.Sin(2*a)*math.Cos(b) + 0.5*c*c)
	}
	params := []*Var{
		Param(rng.Normal(0, 1/math.Sqrt(din), hidden, din), "fc1.weight"),
		Param(tensor.Zeros(hidden), "fc1.bias"),
		Param(rng.Normal(0, 1/math.Sqrt(hidden), 1, hidden), "fc2.weight"),
		Param(tensor.Zeros(1), "fc2.bias"),
	}
	m := make([]*tensor.Tensor, len(params))
	v := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		m[i], v[i] = tensor.ZerosLike(p.Value), tensor.ZerosLike(p.Value)
	}
	X, Y := Const(x), Const(y)
	var first, last float64
	for step := 1; step <= 400; step++ {
		h := Tanh(Linear(X, params[0], params[1]))
		pred := Linear(h, params[2], params[3])
		loss := MeanAll(Square(Sub(pred, Y)))
		require.NoError(t, loss.Backward())
		if step == 1 {
			first = loss.Value.Item()
		}
		last = loss.Value.Item()
		for i, p := range params {
			tensor.AdamWStep(p.Value, p.Grad, m[i], v[i], tensor.AdamWParams{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: step})
			p.ZeroGrad()
		}
	}
	t.Logf("MLP loss %.4f -> %.5f", first, last)
	require.Greater(t, first, 0.1)
	require.Less(t, last, 0.01)
}
