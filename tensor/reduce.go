package tensor

import (
	"fmt"
	"math"
)

// reduceAxis reduces axis of x with op; keepDim keeps it with size 1.
func reduceAxis(name string, op ReduceOp, x *Tensor, axis int, keepDim bool, wantArg bool) (*Tensor, *Tensor) {
	compute(name, x)
	axis = x.axis(name, axis)
	x = x.Contiguous()
	outer := numel(x.shape[:axis])
	n := x.shape[axis]
	inner := numel(x.shape[axis+1:])
	if op == ReduceMax && n == 0 {
		panic(fmt.Sprintf("tensor.%s: empty axis %d of shape %v", name, axis, x.shape))
	}
	shape := cloneInts(x.shape)
	shape[axis] = 1
	out := x.empty(x.DType(), shape)
	var arg *Tensor
	if wantArg {
		arg = x.empty(Int32, shape)
	}
	x.backend().Reduce(op, out, arg, x, outer, n, inner)
	if !keepDim {
		out = out.Squeeze(axis)
		if arg != nil {
			arg = arg.Squeeze(axis)
		}
	}
	return out, arg
}

// Sum sums axis of x.
func Sum(x *Tensor, axis int, keepDim bool) *Tensor {
	out, _ := reduceAxis("Sum", ReduceSum, x, axis, keepDim, false)
	return out
}

// Mean averages axis of x.
func Mean(x *Tensor, axis int, keepDim bool) *Tensor {
	n := x.Dim(axis)
	return MulScalar(Sum(x, axis, keepDim), 1/float64(n))
}

// Max returns the maximum along axis and the first index where it occurs
// (NaN counts as the maximum, as in PyTorch).
func Max(x *Tensor, axis int, keepDim bool) (*Tensor, *Tensor) {
	return reduceAxis("Max", ReduceMax, x, axis, keepDim, true)
}

// Argmax returns the first index of the maximum along axis (Int32).
func Argmax(x *Tensor, axis int, keepDim bool) *Tensor {
	_, arg := reduceAxis("Argmax", ReduceMax, x, axis, keepDim, true)
	return arg
}

// Norm returns the L2 norm along axis.
func Norm(x *Tensor, axis int, keepDim bool) *Tensor {
	ss, _ := reduceAxis("Norm", ReduceSumSquares, x, axis, keepDim, false)
	return Sqrt(ss)
}

// SumAll returns the sum of every element as a 0-d tensor.
func SumAll(x *Tensor) *Tensor { return Sum(x.Reshape(-1), 0, false) }

// MeanAll returns the mean of every element as a 0-d tensor (NaN when empty).
func MeanAll(x *Tensor) *Tensor {
	n := x.Numel()
	if n == 0 {
		out := x.empty(x.DType(), []int{})
		out.backend().Fill(out, math.NaN())
		return out
	}
	return MulScalar(SumAll(x), 1/float64(n))
}

// MaxAll returns the largest element as a 0-d tensor.
func MaxAll(x *Tensor) *Tensor {
	out, _ := Max(x.Reshape(-1), 0, false)
	return out
}

// SumTo sums x down to shape, the inverse of broadcasting shape up to x's
// shape (the gradient of a broadcast).
func SumTo(x *Tensor, shape []int) *Tensor {
	if equalInts(x.shape, shape) {
		return x
	}
	nd, n := len(x.shape), len(shape)
	if n > nd {
		panic(fmt.Sprintf("tensor.SumTo: shape %v does not broadcast to %v", shape, x.shape))
	}
	out := x
	for i := 0; i < nd-n; i++ {
		out = Sum(out, 0, false)
	}
	for i, d := range shape {
		switch {
		case d == out.shape[i]:
		case d == 1:
			out = Sum(out, i, true)
		default:
			panic(fmt.Sprintf("tensor.SumTo: shape %v does not broadcast to %v", shape, x.shape))
		}
	}
	return out
}
