package autograd

import "github.com/ragr-dev/ragr/tensor"

// Reshape returns x with a new shape (one axis may be -1).
func Reshape(x *Var, shape ...int) *Var {
	in := x.Value.Shape()
	return record("Reshape", x.Value.Reshape(shape...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(in...)}
	}, x)
}

// Permute reorders the axes of x.
func Permute(x *Var, dims ...int) *Var {
	inv := make([]int, len(dims))
	for i, d := range dims {
		if d < 0 {
			d += len(dims)
		}
		inv[d] = i
	}
	return record("Permute", x.Value.Permute(dims...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Permute(inv...)}
	}, x)
}

// Transpose swaps axes a and b of x.
func Transpose(x *Var, a, b int) *Var {
	return record("Transpose", x.Value.Transpose(a, b), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Transpose(a, b)}
	}, x)
}

// Narrow takes length entries of axis from start.
func Narrow(x *Var, axis, start, length int) *Var {
	in := x.Value.Shape()
	return record("Narrow", x.Value.Narrow(axis, start, length), func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosAs(g, in...)
		dx.Narrow(axis, start, length).CopyFrom(g)
		return []*tensor.Tensor{dx}
	}, x)
}

// Select takes index i of axis, removing the axis.
func Select(x *Var, axis, i int) *Var {
	in := x.Value.Shape()
	return record("Select", x.Value.Select(axis, i), func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosAs(g, in...)
		dx.Select(axis, i).CopyFrom(g)
		return []*tensor.Tensor{dx}
	}, x)
}

// Expand broadcasts x to shape.
func Expand(x *Var, shape ...int) *Var {
	in := x.Value.Shape()
	return record("Expand", x.Value.Expand(shape...), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{tensor.SumTo(g, in)}
	}, x)
}

// Unsqueeze inserts an axis of size 1.
func Unsqueeze(x *Var, axis int) *Var {
	in := x.Value.Shape()
	return record("Unsqueeze", x.Value.Unsqueeze(axis), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(in...)}
	}, x)
}

// Squeeze removes an axis of size 1.
func Squeeze(x *Var, axis int) *Var {
	in := x.Value.Shape()
	return record("Squeeze", x.Value.Squeeze(axis), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(in...)}
	}, x)
}

// Contiguous returns x laid out contiguously (the identity for gradients).
func Contiguous(x *Var) *Var {
	if x.Value.IsContiguous() {
		return x
	}
	return record("Contiguous", x.Value.Contiguous(), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g}
	}, x)
}

// Concat joins xs along axis.
func Concat(axis int, xs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(xs))
	sizes := make([]int, len(xs))
	for i, x := range xs {
		vals[i] = x.Value
	}
	out := tensor.Concat(axis, vals...)
	ax := axis
	if ax < 0 {
		ax += out.NDim()
	}
	for i, x := range xs {
		sizes[i] = x.Value.Dim(ax)
	}
	return record("Concat", out, func(g *tensor.Tensor) []*tensor.Tensor {
		return g.Split(ax, sizes...)
	}, xs...)
}

// Stack joins equally shaped xs along a new axis.
func Stack(axis int, xs ...*Var) *Var {
	us := make([]*Var, len(xs))
	for i, x := range xs {
		us[i] = Unsqueeze(x, axis)
	}
	return Concat(axis, us...)
}

// Split cuts x along axis into pieces of the given sizes.
func Split(x *Var, axis int, sizes ...int) []*Var {
	out := make([]*Var, len(sizes))
	at := 0
	for i, s := range sizes {
		out[i] = Narrow(x, axis, at, s)
		at += s
	}
	return out
}

// Cast converts x to dtype; the gradient is cast back to x's dtype.
func Cast(x *Var, dtype tensor.DType) *Var {
	from := x.Value.DType()
	if from == dtype {
		return x
	}
	return record("Cast", x.Value.Cast(dtype), func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Cast(from)}
	}, x)
}
