package autograd

import (
	"github.com/ragr-dev/ragr/tensor"
)

// unary records an element-wise op whose backward is tensor.UnaryBackward.
func unary(op tensor.UnaryOp, x *Var) *Var {
	y := tensor.Unary(op, x.Value)
	return record(op.String(), y, func(g *tensor.Tensor) []*tensor.Tensor {
		xy := x.Value
		if op.BackwardUsesOutput() {
			xy = y
		}
		return []*tensor.Tensor{tensor.UnaryBackward(op, g, xy)}
	}, x)
}

// Neg returns -x.
func Neg(x *Var) *Var { return unary(tensor.OpNeg, x) }

// Exp returns e^x.
func Exp(x *Var) *Var { return unary(tensor.OpExp, x) }

// Log returns ln x.
func Log(x *Var) *Var { return unary(tensor.OpLog, x) }

// Sqrt returns √x.
func Sqrt(x *Var) *Var { return unary(tensor.OpSqrt, x) }

// Rsqrt returns 1/√x.
func Rsqrt(x *Var) *Var { return unary(tensor.OpRsqrt, x) }

// Square returns x².
func Square(x *Var) *Var { return unary(tensor.OpSquare, x) }

// Abs returns |x| (gradient 0 at 0).
func Abs(x *Var) *Var { return unary(tensor.OpAbs, x) }

// Relu returns max(x, 0).
func Relu(x *Var) *Var { return unary(tensor.OpRelu, x) }

// Tanh returns tanh x.
func Tanh(x *Var) *Var { return unary(tensor.OpTanh, x) }

// Sigmoid returns 1/(1+e^-x).
func Sigmoid(x *Var) *Var { return unary(tensor.OpSigmoid, x) }

// Gelu returns the exact erf GELU, x·Φ(x) (BERT's "gelu").
func Gelu(x *Var) *Var { return unary(tensor.OpGeluErf, x) }

// GeluTanh returns the tanh approximation of GELU ("gelu_new").
func GeluTanh(x *Var) *Var { return unary(tensor.OpGeluTanh, x) }

// Silu returns x·sigmoid(x).
func Silu(x *Var) *Var { return unary(tensor.OpSilu, x) }

// Erf returns erf x.
func Erf(x *Var) *Var { return unary(tensor.OpErf, x) }

// Recip returns 1/x.
func Recip(x *Var) *Var { return unary(tensor.OpRecip, x) }

// need reports which of the inputs require a gradient.
func need(v *Var) bool { return v != nil && v.requiresGrad }

// Add returns a+b with broadcasting.
func Add(a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	return record("Add", tensor.Add(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SumTo(g, as), tensor.SumTo(g, bs)}
	}, a, b)
}

// Sub returns a-b with broadcasting.
func Sub(a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	return record("Sub", tensor.Sub(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		var db *tensor.Tensor
		if need(b) {
			db = tensor.Neg(tensor.SumTo(g, bs))
		}
		return []*tensor.Tensor{tensor.SumTo(g, as), db}
	}, a, b)
}

// Mul returns a·b with broadcasting.
func Mul(a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	return record("Mul", tensor.Mul(a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		if need(a) {
			da = tensor.SumTo(tensor.Mul(g, b.Value), as)
		}
		if need(b) {
			db = tensor.SumTo(tensor.Mul(g, a.Value), bs)
		}
		return []*tensor.Tensor{da, db}
	}, a, b)
}

// Div returns a/b with broadcasting.
func Div(a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	y := tensor.Div(a.Value, b.Value)
	return record("Div", y, func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		gb := tensor.Div(g, b.Value)
		if need(a) {
			da = tensor.SumTo(gb, as)
		}
		if need(b) {
			db = tensor.Neg(tensor.SumTo(tensor.Mul(gb, y), bs))
		}
		return []*tensor.Tensor{da, db}
	}, a, b)
}

// Maximum returns max(a, b) element-wise; where a == b the gradient is split
// evenly, as PyTorch does.
func Maximum(a, b *Var) *Var { return minmax("Maximum", tensor.OpMaximum, tensor.OpGreater, a, b) }

// Minimum returns min(a, b) element-wise; ties split the gradient evenly.
func Minimum(a, b *Var) *Var { return minmax("Minimum", tensor.OpMinimum, tensor.OpLess, a, b) }

func minmax(name string, op, wins tensor.BinaryOp, a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	return record(name, tensor.Binary(op, a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		// weight of a: 1 where a wins, 0.5 on ties, 0 where b wins.
		wa := tensor.Add(tensor.Binary(wins, a.Value, b.Value), tensor.MulScalar(tensor.Binary(tensor.OpEqual, a.Value, b.Value), 0.5))
		ga := tensor.Mul(g, wa)
		return []*tensor.Tensor{tensor.SumTo(ga, as), tensor.SumTo(tensor.Sub(g, ga), bs)}
	}, a, b)
}

// AddScalar returns x+s.
func AddScalar(x *Var, s float64) *Var {
	return record("AddScalar", tensor.AddScalar(x.Value, s), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	}, x)
}

// MulScalar returns x·s.
func MulScalar(x *Var, s float64) *Var {
	return record("MulScalar", tensor.MulScalar(x.Value, s), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MulScalar(g, s)}
	}, x)
}

// PowScalar returns x^p.
func PowScalar(x *Var, p float64) *Var {
	return record("PowScalar", tensor.PowScalar(x.Value, p), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, tensor.MulScalar(tensor.PowScalar(x.Value, p-1), p))}
	}, x)
}

// Where returns cond != 0 ? a : b with broadcasting; cond gets no gradient.
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	as, bs := a.Value.Shape(), b.Value.Shape()
	return record("Where", tensor.Where(cond, a.Value, b.Value), func(g *tensor.Tensor) []*tensor.Tensor {
		zero := tensor.ZerosAs(g)
		var da, db *tensor.Tensor
		if need(a) {
			da = tensor.SumTo(tensor.Where(cond, g, zero), as)
		}
		if need(b) {
			db = tensor.SumTo(tensor.Where(cond, zero, g), bs)
		}
		return []*tensor.Tensor{da, db}
	}, a, b)
}

// MaskedFill returns x with value where mask (broadcast to x) is nonzero;
// those positions get no gradient.
func MaskedFill(x *Var, mask *tensor.Tensor, value float64) *Var {
	return record("MaskedFill", tensor.MaskedFill(x.Value, mask, value), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.MaskedFill(g, mask, 0)}
	}, x)
}

// Dropout zeroes each element with probability p and scales the rest by
// 1/(1-p) when training; otherwise (or p == 0) it returns x. The mask comes
// from rng, so a seeded rng gives the same masks again.
func Dropout(x *Var, p float64, rng *tensor.RNG, training bool) *Var {
	if !training || p == 0 {
		return x
	}
	return DropoutKey(x, p, rng.DropoutKey())
}

// DropoutKey is Dropout (while training) with the mask's key given: the
// mask is tensor.DropoutMaskKey(key, p, x's shape), so a caller that drew
// the key for a fused kernel (nn.Attention) and falls back to the composite
// form drops the same elements and consumes the generator the same way.
func DropoutKey(x *Var, p float64, key uint64) *Var {
	if p == 0 {
		return x
	}
	mask := tensor.DropoutMaskKey(key, p, x.Value.Shape()...)
	if x.Value.DType() != tensor.Float32 {
		mask = mask.Cast(x.Value.DType())
	}
	if x.Value.Device() != tensor.CPU {
		m, err := mask.To(x.Value.Device())
		if err != nil {
			panic(err)
		}
		mask = m
	}
	return record("Dropout", tensor.Mul(x.Value, mask), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.Mul(g, mask)}
	}, x)
}
