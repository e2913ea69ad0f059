package autograd

import (
	"fmt"

	"github.com/ragr-dev/ragr/tensor"
)

// Softmax returns the softmax of x along axis.
func Softmax(x *Var, axis int) *Var {
	y := tensor.Softmax(x.Value, axis)
	return record("Softmax", y, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SoftmaxBackward(g, y, axis, false)}
	}, x)
}

// LogSoftmax returns the log-softmax of x along axis.
func LogSoftmax(x *Var, axis int) *Var {
	y := tensor.LogSoftmax(x.Value, axis)
	return record("LogSoftmax", y, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SoftmaxBackward(g, y, axis, true)}
	}, x)
}

// LayerNorm normalises the last axis of x, then scales by gamma and shifts by
// beta (either may be nil), as torch.nn.functional.layer_norm.
func LayerNorm(x, gamma, beta *Var, eps float64) *Var {
	var gv, bv *tensor.Tensor
	if gamma != nil {
		gv = gamma.Value
	}
	if beta != nil {
		bv = beta.Value
	}
	y, st := tensor.LayerNorm(x.Value, gv, bv, eps)
	return record("LayerNorm", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dx, dg, db := tensor.LayerNormBackward(g, x.Value, gv, st, beta != nil, need(gamma) || need(beta))
		return []*tensor.Tensor{dx, dg, db}
	}, x, gamma, beta)
}

// RMSNorm normalises the last axis of x by its root mean square and scales by
// gamma (may be nil), as Qwen2's RMSNorm.
func RMSNorm(x, gamma *Var, eps float64) *Var {
	var gv *tensor.Tensor
	if gamma != nil {
		gv = gamma.Value
	}
	y, st := tensor.RMSNorm(x.Value, gv, eps)
	return record("RMSNorm", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dx, dg := tensor.RMSNormBackward(g, x.Value, gv, st, need(gamma))
		return []*tensor.Tensor{dx, dg}
	}, x, gamma)
}

// Embedding looks up rows of table [vocab, dim] for Int32 ids of any shape;
// an id outside the vocabulary returns an error.
func Embedding(table *Var, ids *tensor.Tensor) (*Var, error) {
	y, err := tensor.Embedding(table.Value, ids)
	if err != nil {
		return nil, err
	}
	shape := table.Value.Shape()
	flat := ids.Reshape(-1)
	return record("Embedding", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dt, err := tensor.IndexAdd(shape, 0, flat, g.Reshape(-1, shape[1]))
		if err != nil {
			panic(err) // ids were validated by the forward pass
		}
		return []*tensor.Tensor{dt}
	}, table), nil
}

// IndexSelect takes the entries at Int32 positions idx along axis.
func IndexSelect(x *Var, axis int, idx *tensor.Tensor) (*Var, error) {
	y, err := tensor.IndexSelect(x.Value, axis, idx)
	if err != nil {
		return nil, err
	}
	shape := x.Value.Shape()
	return record("IndexSelect", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dx, err := tensor.IndexAdd(shape, axis, idx, g)
		if err != nil {
			panic(err)
		}
		return []*tensor.Tensor{dx}
	}, x), nil
}

// Gather takes x[..., idx[..., j]] along the last axis.
func Gather(x *Var, idx *tensor.Tensor) (*Var, error) {
	y, err := tensor.Gather(x.Value, idx)
	if err != nil {
		return nil, err
	}
	shape := x.Value.Shape()
	return record("Gather", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dx, err := tensor.ScatterAdd(shape, idx, g)
		if err != nil {
			panic(err)
		}
		return []*tensor.Tensor{dx}
	}, x), nil
}

// IgnoreIndex is the target value CrossEntropy skips (PyTorch's default).
const IgnoreIndex = -100

// CrossEntropy returns the mean over rows of -log softmax(logits)[target]
// for logits [N, C] and Int32 targets [N], skipping targets equal to
// IgnoreIndex (torch.nn.functional.cross_entropy, reduction "mean"). A target
// outside [0, C) returns an error naming its row. With every row ignored the
// loss is NaN, as in PyTorch.
func CrossEntropy(logits *Var, targets *tensor.Tensor) (*Var, error) {
	if logits.NDim() != 2 || targets.NDim() != 1 || targets.Dim(0) != logits.Dim(0) || targets.DType() != tensor.Int32 {
		panic(fmt.Sprintf("autograd.CrossEntropy: logits %v, targets %s %v", logits.Shape(), targets.DType(), targets.Shape()))
	}
	n, c := logits.Dim(0), logits.Dim(1)
	tv := targets.Int32s()
	safe := make([]int32, n)
	keep := make([]float64, n)
	count := 0
	for i, t := range tv {
		switch {
		case t == IgnoreIndex:
		case t < 0 || int(t) >= c:
			return nil, fmt.Errorf("autograd.CrossEntropy: target %d in row %d outside [0, %d)", t, i, c)
		default:
			safe[i] = t
			keep[i] = 1
			count++
		}
	}
	dt := logits.Value.DType()
	idx := tensor.FromInt32(safe, n, 1)
	w := tensor.FromFloat64(keep, n, 1).Cast(dt)
	if d := logits.Value.Device(); d != tensor.CPU {
		idx, _ = idx.To(d)
		w, _ = w.To(d)
	}
	logp := tensor.LogSoftmax(logits.Value, -1)
	picked, _ := tensor.Gather(logp, idx) // indices checked above
	total := tensor.SumAll(tensor.Mul(picked, w))
	loss := tensor.MulScalar(total, -1/float64(count))
	return record("CrossEntropy", loss, func(g *tensor.Tensor) []*tensor.Tensor {
		// d/dlogits = (softmax - onehot(target))·w/count·g
		p := tensor.Exp(logp)
		onehot, _ := tensor.ScatterAdd([]int{n, c}, idx, w)
		d := tensor.Mul(tensor.Sub(tensor.Mul(p, w), onehot), tensor.MulScalar(g, 1/float64(count)))
		return []*tensor.Tensor{d}
	}, logits), nil
}

// BCEWithLogits returns the mean binary cross-entropy of sigmoid(logits)
// against targets in [0, 1] (same shape), computed stably as
// max(x,0) - x·y + log(1+e^-|x|) (torch's binary_cross_entropy_with_logits).
func BCEWithLogits(logits *Var, targets *tensor.Tensor) *Var {
	x, y := logits.Value, targets
	if !tensor.SameShape(x, y) {
		panic(fmt.Sprintf("autograd.BCEWithLogits: logits %v, targets %v", x.Shape(), y.Shape()))
	}
	n := float64(x.Numel())
	relu := tensor.Relu(x)
	softplus := tensor.Log(tensor.AddScalar(tensor.Exp(tensor.Neg(tensor.Unary(tensor.OpAbs, x))), 1))
	l := tensor.Add(tensor.Sub(relu, tensor.Mul(x, y)), softplus)
	loss := tensor.MulScalar(tensor.SumAll(l), 1/n)
	return record("BCEWithLogits", loss, func(g *tensor.Tensor) []*tensor.Tensor {
		d := tensor.Mul(tensor.Sub(tensor.Sigmoid(x), y), tensor.MulScalar(g, 1/n))
		return []*tensor.Tensor{d}
	}, logits)
}

// EmbeddingPad is Embedding whose rows for paddingIdx (when >= 0) receive no
// gradient, as torch.nn.Embedding(padding_idx=…).
func EmbeddingPad(table *Var, ids *tensor.Tensor, paddingIdx int) (*Var, error) {
	if paddingIdx < 0 {
		return Embedding(table, ids)
	}
	y, err := tensor.Embedding(table.Value, ids)
	if err != nil {
		return nil, err
	}
	shape := table.Value.Shape()
	flat := ids.Reshape(-1)
	return record("Embedding", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dt, err := tensor.IndexAdd(shape, 0, flat, g.Reshape(-1, shape[1]))
		if err != nil {
			panic(err)
		}
		if paddingIdx < shape[0] {
			dt.Select(0, paddingIdx).Fill(0)
		}
		return []*tensor.Tensor{dt}
	}, table), nil
}

// FusedAttention computes dropout(softmax(q·kᵀ·o.Scale + masks))·v for q
// [B, H, Lq, D], k and v [B, Hkv, Lk, D] (H a multiple of Hkv) with the
// key padding and causal masks of o, through the fused kernel of the
// tensors' backend (tensor.FusedAttention), recording the fused backward.
// o.Dropout > 0 drops weights with the mask tensor.DropoutMaskKey(o.DropKey,
// ...) over [B, H, Lq, Lk], as DropoutKey would on the composite path. ok
// is false, and nothing is recorded, when the backend does not run this
// case fused: the caller computes the composite form instead.
func FusedAttention(q, k, v *Var, o tensor.AttentionOpts) (out *Var, ok bool) {
	y, saved, ok := tensor.FusedAttention(q.Value, k.Value, v.Value, o)
	if !ok {
		return nil, false
	}
	return record("FusedAttention", y, func(g *tensor.Tensor) []*tensor.Tensor {
		dq, dk, dv := tensor.FusedAttentionBackward(g, saved)
		return []*tensor.Tensor{dq, dk, dv}
	}, q, k, v), true
}
