package losses

import (
	"errors"
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// NormalizeEps is the floor of the L2 norm in normalize(x) = x / max(‖x‖₂,
// NormalizeEps), torch.nn.functional.normalize's default eps.
const NormalizeEps = 1e-12

// ErrNoPairs is returned (wrapped) by PairwiseRankNet when no group holds two
// documents with different labels, so the loss would be a mean over zero
// pairs (NaN in RAG-Retrieval). A trainer may skip such a batch.
var ErrNoPairs = errors.New("no pair of documents with different labels in any group")

// ErrNoPositive is returned (wrapped) by ListwiseCE when a group has only
// zero labels, so its target softmax(where(r != 0, r, -inf)) is undefined
// (NaN in RAG-Retrieval).
var ErrNoPositive = errors.New("group without any nonzero label")

// normalize returns x / max(‖x‖₂, NormalizeEps) along the last axis (the
// helper is local: losses and nn must not import each other).
func normalize(x *autograd.Var) (*autograd.Var, error) {
	floor, err := constLike(x.Value, []float64{NormalizeEps}, 1)
	if err != nil {
		return nil, err
	}
	return autograd.Div(x, autograd.Maximum(autograd.Norm(x, -1, true), autograd.Const(floor))), nil
}

// constLike returns data (row-major, shape) as a tensor with ref's dtype on
// ref's device.
func constLike(ref *tensor.Tensor, data []float64, shape ...int) (*tensor.Tensor, error) {
	t := tensor.FromFloat64(data, shape...)
	if ref.DType() != tensor.Float64 {
		t = t.Cast(ref.DType())
	}
	if d := ref.Device(); d != tensor.CPU {
		return t.To(d)
	}
	return t, nil
}

// onDevice moves the CPU tensor t (an index list) to ref's device.
func onDevice(ref, t *tensor.Tensor) (*tensor.Tensor, error) {
	if d := ref.Device(); d != tensor.CPU {
		return t.To(d)
	}
	return t, nil
}

// arange returns the Int32 targets 0, 1, …, n-1.
func arange(n int) *tensor.Tensor {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(i)
	}
	return tensor.FromInt32(v, n)
}

// softplus returns log(1+eᶻ) computed stably as m + log(1 + e^(z-2m)) with
// m = max(z, 0) (so z-2m = -|z|). autograd.Maximum splits the gradient
// evenly on ties, which makes the gradient exactly sigmoid(z) everywhere,
// including z = 0 (Relu/Abs would give a wrong 0 there).
func softplus(z *autograd.Var) (*autograd.Var, error) {
	zero, err := constLike(z.Value, []float64{0}, 1)
	if err != nil {
		return nil, err
	}
	m := autograd.Maximum(z, autograd.Const(zero))
	e := autograd.Exp(autograd.Sub(z, autograd.MulScalar(m, 2)))
	return autograd.Add(m, autograd.Log(autograd.AddScalar(e, 1))), nil
}

// zeroLoss returns a scalar 0 that is still connected to x in the graph (its
// gradient is 0), for degenerate batches where a term vanishes.
func zeroLoss(x *autograd.Var) *autograd.Var {
	s := autograd.SumAll(x)
	return autograd.MulScalar(autograd.Sub(s, s.Detach()), 0)
}

// surrogate returns a scalar with the value loss whose gradient with respect
// to x is grad (x's shape): Const(loss) + (G - detach(G)) with G = Σ grad⊙x.
// G - detach(G) is exactly 0 in the forward pass, so the value is exact, and
// the backward pass delivers grad. It lets a term evaluated on the host
// (value and gradient) enter the graph; it has no second derivative.
func surrogate(x *autograd.Var, loss float64, grad []float64) (*autograd.Var, error) {
	g, err := constLike(x.Value, grad, x.Shape()...)
	if err != nil {
		return nil, err
	}
	l, err := constLike(x.Value, []float64{loss})
	if err != nil {
		return nil, err
	}
	s := autograd.SumAll(autograd.Mul(x, autograd.Const(g)))
	return autograd.Add(autograd.Const(l), autograd.Sub(s, s.Detach())), nil
}

// checkFloat reports an error unless v holds float32 or float64 values.
func checkFloat(fn, what string, v *autograd.Var) error {
	if v == nil {
		return fmt.Errorf("losses.%s: %s is missing", fn, what)
	}
	if dt := v.Value.DType(); dt != tensor.Float32 && dt != tensor.Float64 {
		return fmt.Errorf("losses.%s: %s has dtype %s; losses compute in float32 or float64", fn, what, dt)
	}
	return nil
}

// checkTemp reports an error unless t is a positive finite temperature.
func checkTemp(fn, what string, t float64) error {
	if !(t > 0) || math.IsInf(t, 0) {
		return fmt.Errorf("losses.%s: %s %g must be positive and finite", fn, what, t)
	}
	return nil
}

// checkRows checks that x is [rows, dim] with rows > 0 and dim > 0 and
// returns rows and dim.
func checkRows(fn, what string, x *autograd.Var) (int, int, error) {
	if err := checkFloat(fn, what, x); err != nil {
		return 0, 0, err
	}
	if x.NDim() != 2 {
		return 0, 0, fmt.Errorf("losses.%s: %s has shape %v, want [batch, dim]", fn, what, x.Shape())
	}
	if x.Dim(0) == 0 {
		return 0, 0, fmt.Errorf("losses.%s: %s is an empty batch (shape %v)", fn, what, x.Shape())
	}
	if x.Dim(1) == 0 {
		return 0, 0, fmt.Errorf("losses.%s: %s has no features (shape %v)", fn, what, x.Shape())
	}
	return x.Dim(0), x.Dim(1), nil
}

// checkPair checks queries q [B, D] against positives p [B, D] and returns B.
func checkPair(fn string, q, p *autograd.Var) (int, error) {
	b, d, err := checkRows(fn, "query", q)
	if err != nil {
		return 0, err
	}
	bp, dp, err := checkRows(fn, "positive", p)
	if err != nil {
		return 0, err
	}
	if bp != b {
		return 0, fmt.Errorf("losses.%s: %d queries but %d positives (positive i belongs to query i)", fn, b, bp)
	}
	if dp != d {
		return 0, fmt.Errorf("losses.%s: query width %d but positive width %d", fn, d, dp)
	}
	return b, nil
}

// checkNegatives checks negatives n [B·k, D] (k ≥ 1) for b queries of width d.
func checkNegatives(fn string, n *autograd.Var, b, d int) error {
	bn, dn, err := checkRows(fn, "negatives", n)
	if err != nil {
		return err
	}
	if bn%b != 0 {
		return fmt.Errorf("losses.%s: %d negatives is not a multiple of the %d queries (rows i·k…i·k+k-1 belong to query i)", fn, bn, b)
	}
	if dn != d {
		return fmt.Errorf("losses.%s: query width %d but negative width %d", fn, d, dn)
	}
	return nil
}

// checkScores checks a constant score/label tensor of n elements.
func checkScores(fn, what string, t *tensor.Tensor, n int) error {
	if t == nil {
		return fmt.Errorf("losses.%s: %s are missing", fn, what)
	}
	if !t.DType().IsFloat() && t.DType() != tensor.Int32 {
		return fmt.Errorf("losses.%s: %s have dtype %s", fn, what, t.DType())
	}
	if t.Numel() != n {
		return fmt.Errorf("losses.%s: %d %s for %d scores (shape %v)", fn, t.Numel(), what, n, t.Shape())
	}
	return nil
}

// groups checks logits of n = B·G scores ([B·G] or [B, G]) and returns B and
// G; groupSize 0 takes G from a 2-D logits tensor.
func groups(fn string, logits *autograd.Var, groupSize int) (int, int, error) {
	if err := checkFloat(fn, "logits", logits); err != nil {
		return 0, 0, err
	}
	n := logits.Value.Numel()
	if n == 0 {
		return 0, 0, fmt.Errorf("losses.%s: empty batch (logits shape %v)", fn, logits.Shape())
	}
	g := groupSize
	if g == 0 && logits.NDim() == 2 {
		g = logits.Dim(1)
	}
	if g <= 0 {
		return 0, 0, fmt.Errorf("losses.%s: group size %d (set Inputs.GroupSize, or pass logits as [groups, group size])", fn, groupSize)
	}
	if n%g != 0 {
		return 0, 0, fmt.Errorf("losses.%s: %d logits is not a multiple of the group size %d", fn, n, g)
	}
	return n / g, g, nil
}

// groupSoftmax returns softmax(v/t) over each consecutive group of g values
// (float64; entries of -inf get probability 0).
func groupSoftmax(v []float64, g int, t float64) []float64 {
	out := make([]float64, len(v))
	for s := 0; s < len(v); s += g {
		mx := math.Inf(-1)
		for _, x := range v[s : s+g] {
			mx = max(mx, x/t)
		}
		var sum float64
		for i, x := range v[s : s+g] {
			e := math.Exp(x/t - mx)
			out[s+i] = e
			sum += e
		}
		for i := range out[s : s+g] {
			out[s+i] /= sum
		}
	}
	return out
}
