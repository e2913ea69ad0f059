package autograd

import (
	"fmt"

	"github.com/ragr-dev/ragr/tensor"
)

// Matmul returns a·b over the last two axes with broadcast batch axes (a 1-D
// operand is a vector, as in torch.matmul).
func Matmul(a, b *Var) *Var { return MatmulT(a, b, false, false) }

// MatmulT is Matmul with the last two axes of a and/or b transposed.
func MatmulT(a, b *Var, transA, transB bool) *Var {
	if a.NDim() == 1 {
		return Squeeze(MatmulT(Unsqueeze(a, 0), b, false, transB), -2)
	}
	if b.NDim() == 1 {
		return Squeeze(MatmulT(a, Unsqueeze(b, 1), transA, false), -1)
	}
	as, bs := a.Value.Shape(), b.Value.Shape()
	y := tensor.MatmulT(a.Value, b.Value, transA, transB)
	return record("Matmul", y, func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		if need(a) {
			if !transA {
				da = tensor.MatmulT(g, b.Value, false, !transB)
			} else {
				da = tensor.MatmulT(b.Value, g, transB, true)
			}
			da = tensor.SumTo(da, as)
		}
		if need(b) {
			if !transB {
				db = tensor.MatmulT(a.Value, g, !transA, false)
			} else {
				db = tensor.MatmulT(g, a.Value, true, transA)
			}
			db = tensor.SumTo(db, bs)
		}
		return []*tensor.Tensor{da, db}
	}, a, b)
}

// Linear returns x·wᵀ + b (b may be nil) for x [..., in] and w [out, in].
// On a backend in bf16 mixed precision (tensor.RoundOperand) x and w are
// rounded once, and the copies serve the forward product and both backward
// ones (the output gradient is rounded once for its two products), as
// torch.autocast keeps its forward copies for the backward: the same
// numbers as rounding at every product, with half the casts.
func Linear(x, w, b *Var) *Var {
	var bv *tensor.Tensor
	inputs := []*Var{x, w}
	if b != nil {
		bv = b.Value
		inputs = append(inputs, b)
	}
	xm, wm := x.Value, w.Value
	// only when a backward will reuse them: without a graph the product's
	// own scratch copies are freed at once, these would wait for a collection
	if GradEnabled() && (x.RequiresGrad() || w.RequiresGrad()) {
		if xr, wr := tensor.RoundOperand(xm), tensor.RoundOperand(wm); xr != nil && wr != nil {
			xm, wm = xr, wr
		}
	}
	y := tensor.Linear(xm, wm, bv)
	xs := x.Value.Shape()
	in, out := w.Dim(1), w.Dim(0)
	return record("Linear", y, func(g *tensor.Tensor) []*tensor.Tensor {
		g2 := g.Reshape(-1, out)
		if xm != x.Value && need(x) && need(w) {
			if gr := tensor.RoundOperand(g2); gr != nil {
				g2 = gr
			}
		}
		grads := make([]*tensor.Tensor, len(inputs))
		if need(x) {
			grads[0] = tensor.Matmul(g2, wm).Reshape(xs...)
		}
		if need(w) {
			grads[1] = tensor.MatmulT(g2, xm.Reshape(-1, in), true, false)
		}
		if b != nil && need(b) {
			grads[2] = tensor.Sum(g.Reshape(-1, out), 0, false)
		}
		return grads
	}, inputs...)
}

// Sum sums axis of x.
func Sum(x *Var, axis int, keepDim bool) *Var {
	xs := x.Value.Shape()
	ax := normAxis(axis, len(xs))
	return record("Sum", tensor.Sum(x.Value, axis, keepDim), func(g *tensor.Tensor) []*tensor.Tensor {
		if !keepDim {
			g = g.Unsqueeze(ax)
		}
		return []*tensor.Tensor{g.Expand(xs...)}
	}, x)
}

// Mean averages axis of x.
func Mean(x *Var, axis int, keepDim bool) *Var {
	n := x.Value.Dim(axis)
	return MulScalar(Sum(x, axis, keepDim), 1/float64(n))
}

// SumAll sums every element into a 0-d value.
func SumAll(x *Var) *Var { return Sum(Reshape(x, -1), 0, false) }

// MeanAll averages every element into a 0-d value.
func MeanAll(x *Var) *Var { return MulScalar(SumAll(x), 1/float64(x.Value.Numel())) }

// Max returns the maximum along axis; the gradient goes to the first index
// of the maximum, as in torch.max(dim).
func Max(x *Var, axis int, keepDim bool) *Var {
	xs := x.Value.Shape()
	ax := normAxis(axis, len(xs))
	val, arg := tensor.Max(x.Value, ax, true)
	if !keepDim {
		val = val.Squeeze(ax)
	}
	return record("Max", val, func(g *tensor.Tensor) []*tensor.Tensor {
		if !keepDim {
			g = g.Unsqueeze(ax)
		}
		// Move axis last, scatter, move back.
		nd := len(xs)
		perm := make([]int, 0, nd)
		for i := 0; i < nd; i++ {
			if i != ax {
				perm = append(perm, i)
			}
		}
		perm = append(perm, ax)
		inv := make([]int, nd)
		for i, p := range perm {
			inv[p] = i
		}
		pshape := make([]int, nd)
		for i, p := range perm {
			pshape[i] = xs[p]
		}
		dx, err := tensor.ScatterAdd(pshape, arg.Permute(perm...).Contiguous(), g.Permute(perm...).Contiguous())
		if err != nil {
			panic(err) // the indices came from Max itself
		}
		return []*tensor.Tensor{dx.Permute(inv...)}
	}, x)
}

// Norm returns the L2 norm along axis (gradient 0 where the norm is 0).
func Norm(x *Var, axis int, keepDim bool) *Var {
	xs := x.Value.Shape()
	ax := normAxis(axis, len(xs))
	y := tensor.Norm(x.Value, ax, true)
	out := y
	if !keepDim {
		out = y.Squeeze(ax)
	}
	return record("Norm", out, func(g *tensor.Tensor) []*tensor.Tensor {
		if !keepDim {
			g = g.Unsqueeze(ax)
		}
		zero := tensor.Binary(tensor.OpEqual, y, tensor.ZerosAs(y))
		safe := tensor.Add(y, zero) // 1 where the norm is 0
		scale := tensor.MaskedFill(tensor.Div(g, safe), zero, 0)
		return []*tensor.Tensor{tensor.Mul(x.Value, scale)}
	}, x)
}

func normAxis(axis, nd int) int {
	if axis < 0 {
		axis += nd
	}
	if axis < 0 || axis >= nd {
		panic(fmt.Sprintf("autograd: axis %d out of range for %d axes", axis, nd))
	}
	return axis
}
