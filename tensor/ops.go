package tensor

import "fmt"

// compute checks that t's dtype is a compute type.
func compute(op string, ts ...*Tensor) {
	for _, t := range ts {
		if t == nil {
			continue
		}
		if !t.DType().IsCompute() {
			panic(fmt.Sprintf("tensor.%s: dtype %s is storage-only; Cast to float32 first", op, t.DType()))
		}
		if t.DType() != ts[0].DType() {
			panic(fmt.Sprintf("tensor.%s: dtypes %s and %s differ", op, ts[0].DType(), t.DType()))
		}
		sameDevice(op, ts[0], t)
	}
}

// computeMatmul checks a matrix product's operands as compute does, except
// that on a RoundedOperandBackend BFloat16 operands (from RoundOperand) mix
// with float32 ones. It returns the product's dtype (float32 then).
func computeMatmul(op string, a, b *Tensor) DType {
	if a.DType() != BFloat16 && b.DType() != BFloat16 {
		compute(op, a, b)
		return a.DType()
	}
	if _, ok := a.backend().(RoundedOperandBackend); !ok {
		compute(op, a, b) // a storage-only dtype: the usual error
	}
	for _, t := range []*Tensor{a, b} {
		if t.DType() != Float32 && t.DType() != BFloat16 {
			panic(fmt.Sprintf("tensor.%s: dtypes %s and %s differ", op, a.DType(), b.DType()))
		}
		sameDevice(op, a, t)
	}
	return Float32
}

// Unary applies op element-wise.
func Unary(op UnaryOp, x *Tensor) *Tensor {
	compute(op.String(), x)
	x = x.Contiguous()
	out := x.empty(x.DType(), x.shape)
	x.backend().Unary(op, out, x)
	return out
}

// UnaryBackward returns dy·op'(·), where xy is the forward input, or the
// forward output when op.BackwardUsesOutput().
func UnaryBackward(op UnaryOp, dy, xy *Tensor) *Tensor {
	name := op.String() + "Backward"
	compute(name, dy, xy)
	if !SameShape(dy, xy) {
		panic(fmt.Sprintf("tensor.%s: dy %v and input %v differ", name, dy.shape, xy.shape))
	}
	dy, xy = dy.Contiguous(), xy.Contiguous()
	out := dy.empty(dy.DType(), dy.shape)
	dy.backend().UnaryBackward(op, out, dy, xy)
	return out
}

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return Unary(OpNeg, x) }

// Exp returns e^x.
func Exp(x *Tensor) *Tensor { return Unary(OpExp, x) }

// Log returns ln x.
func Log(x *Tensor) *Tensor { return Unary(OpLog, x) }

// Sqrt returns √x.
func Sqrt(x *Tensor) *Tensor { return Unary(OpSqrt, x) }

// Tanh returns tanh x.
func Tanh(x *Tensor) *Tensor { return Unary(OpTanh, x) }

// Sigmoid returns 1/(1+e^-x).
func Sigmoid(x *Tensor) *Tensor { return Unary(OpSigmoid, x) }

// Gelu returns the exact (erf) GELU used by BERT.
func Gelu(x *Tensor) *Tensor { return Unary(OpGeluErf, x) }

// GeluTanh returns the tanh approximation of GELU.
func GeluTanh(x *Tensor) *Tensor { return Unary(OpGeluTanh, x) }

// Silu returns x·sigmoid(x).
func Silu(x *Tensor) *Tensor { return Unary(OpSilu, x) }

// Relu returns max(x, 0).
func Relu(x *Tensor) *Tensor { return Unary(OpRelu, x) }

// Square returns x².
func Square(x *Tensor) *Tensor { return Unary(OpSquare, x) }

// Binary applies op element-wise with NumPy broadcasting.
func Binary(op BinaryOp, a, b *Tensor) *Tensor {
	compute(op.String(), a, b)
	shape, err := BroadcastShapes(a.shape, b.shape)
	if err != nil {
		panic(fmt.Sprintf("tensor.%s: %v", op, err))
	}
	out := a.empty(a.DType(), shape)
	a.backend().Binary(op, out, a.Expand(shape...), b.Expand(shape...))
	return out
}

// Add returns a+b (broadcasting).
func Add(a, b *Tensor) *Tensor { return Binary(OpAdd, a, b) }

// Sub returns a-b (broadcasting).
func Sub(a, b *Tensor) *Tensor { return Binary(OpSub, a, b) }

// Mul returns a·b (broadcasting).
func Mul(a, b *Tensor) *Tensor { return Binary(OpMul, a, b) }

// Div returns a/b (broadcasting).
func Div(a, b *Tensor) *Tensor { return Binary(OpDiv, a, b) }

// Maximum returns max(a, b) element-wise (NaN propagates).
func Maximum(a, b *Tensor) *Tensor { return Binary(OpMaximum, a, b) }

// Minimum returns min(a, b) element-wise (NaN propagates).
func Minimum(a, b *Tensor) *Tensor { return Binary(OpMinimum, a, b) }

// BinaryScalar returns a op s, or s op a when scalarFirst.
func BinaryScalar(op BinaryOp, a *Tensor, s float64, scalarFirst bool) *Tensor {
	compute(op.String()+"Scalar", a)
	a = a.Contiguous()
	out := a.empty(a.DType(), a.shape)
	a.backend().BinaryScalar(op, out, a, s, scalarFirst)
	return out
}

// AddScalar returns x+s.
func AddScalar(x *Tensor, s float64) *Tensor { return BinaryScalar(OpAdd, x, s, false) }

// MulScalar returns x·s.
func MulScalar(x *Tensor, s float64) *Tensor { return BinaryScalar(OpMul, x, s, false) }

// PowScalar returns x^p.
func PowScalar(x *Tensor, p float64) *Tensor { return BinaryScalar(OpPow, x, p, false) }

// Where returns cond != 0 ? a : b, broadcasting all three.
func Where(cond, a, b *Tensor) *Tensor {
	compute("Where", a, b)
	sameDevice("Where", a, cond)
	shape, err := BroadcastShapes(a.shape, b.shape)
	if err == nil {
		shape, err = BroadcastShapes(cond.shape, shape)
	}
	if err != nil {
		panic(fmt.Sprintf("tensor.Where: %v", err))
	}
	out := a.empty(a.DType(), shape)
	a.backend().Where(out, cond.Expand(shape...), a.Expand(shape...), b.Expand(shape...))
	return out
}

// MaskedFill returns x with value wherever mask (broadcast to x) is nonzero.
func MaskedFill(x, mask *Tensor, value float64) *Tensor {
	compute("MaskedFill", x)
	if _, err := BroadcastShapes(x.shape, mask.shape); err != nil {
		panic(fmt.Sprintf("tensor.MaskedFill: %v", err))
	}
	v := x.empty(x.DType(), []int{})
	v.backend().Fill(v, value)
	return Where(mask.Expand(x.shape...), v, x)
}

// AddInPlace adds src (broadcast to dst's shape) into the contiguous dst.
func AddInPlace(dst, src *Tensor) {
	compute("AddInPlace", dst, src)
	if !dst.IsContiguous() {
		panic(fmt.Sprintf("tensor.AddInPlace: dst %v is not contiguous", dst.shape))
	}
	dst.backend().Binary(OpAdd, dst, dst, src.Expand(dst.shape...))
}

// MulScalarInPlace multiplies the contiguous dst by s in place (dst·s in
// dst's dtype, as MulScalar computes it, without a new tensor).
func MulScalarInPlace(dst *Tensor, s float64) {
	compute("MulScalarInPlace", dst)
	if !dst.IsContiguous() {
		panic(fmt.Sprintf("tensor.MulScalarInPlace: dst %v is not contiguous", dst.shape))
	}
	dst.backend().BinaryScalar(OpMul, dst, dst, s, false)
}

// Fill sets every element of the contiguous t to v.
func (t *Tensor) Fill(v float64) {
	if !t.IsContiguous() {
		panic(fmt.Sprintf("tensor.Fill: tensor %v is not contiguous", t.shape))
	}
	t.backend().Fill(t, v)
}

// Matmul returns the matrix product of the last two axes of a and b, with the
// leading (batch) axes broadcast: [..., m, k] × [..., k, n] → [..., m, n].
// A 1-D b is a vector. It is MatmulT with no transposes.
func Matmul(a, b *Tensor) *Tensor { return MatmulT(a, b, false, false) }

// MatmulT is Matmul with the last two axes of a and/or b transposed first.
func MatmulT(a, b *Tensor, transA, transB bool) *Tensor {
	odt := computeMatmul("Matmul", a, b)
	if a.NDim() < 1 || b.NDim() < 1 {
		panic(fmt.Sprintf("tensor.Matmul: scalar operand (shapes %v, %v)", a.shape, b.shape))
	}
	vecB := b.NDim() == 1
	if vecB {
		b = b.Unsqueeze(1)
		transB = false
	}
	if a.NDim() == 1 {
		a = a.Unsqueeze(0)
		transA = false
	}
	am, ak := a.shape[a.NDim()-2], a.shape[a.NDim()-1]
	if transA {
		am, ak = ak, am
	}
	bk, bn := b.shape[b.NDim()-2], b.shape[b.NDim()-1]
	if transB {
		bk, bn = bn, bk
	}
	if ak != bk {
		panic(fmt.Sprintf("tensor.Matmul: inner sizes differ: %v (transA=%v) × %v (transB=%v)", a.shape, transA, b.shape, transB))
	}
	batchShape, err := BroadcastShapes(a.shape[:a.NDim()-2], b.shape[:b.NDim()-2])
	if err != nil {
		panic(fmt.Sprintf("tensor.Matmul: batch axes: %v", err))
	}
	batch := numel(batchShape)
	outShape := append(cloneInts(batchShape), am, bn)
	out := a.empty(odt, outShape)
	if batch == 0 || am == 0 || bn == 0 {
		return finishMatmul(out, vecB)
	}
	ae, be := matmulExpand(a, batchShape), matmulExpand(b, batchShape)
	nb := len(batchShape)
	// Loop over the leading batch axes that do not share one stride (a
	// permuted [B, L, H, D] view seen as [B, H, L, D], say), and hand the
	// trailing ones that do to one batched GEMM, so views need no copy.
	k := 0
	for k < nb && !(nests(ae, k, nb) && nests(be, k, nb)) {
		k++
	}
	inner := numel(batchShape[k:])
	as, bs := nestStride(ae, k, nb), nestStride(be, k, nb)
	os := am * bn
	outer := batchShape[:k]
	idx := make([]int, k)
	for {
		ao, bo, oo := ae.offset, be.offset, out.offset
		for i, v := range idx {
			ao += v * ae.strides[i]
			bo += v * be.strides[i]
			oo += v * numel(batchShape[i+1:]) * os
		}
		a3 := ae.view([]int{inner, ae.shape[nb], ae.shape[nb+1]}, []int{as, ae.strides[nb], ae.strides[nb+1]}, ao)
		b3 := be.view([]int{inner, be.shape[nb], be.shape[nb+1]}, []int{bs, be.strides[nb], be.strides[nb+1]}, bo)
		o3 := out.view([]int{inner, am, bn}, []int{os, bn, 1}, oo)
		a.backend().Matmul(o3, a3, b3, transA, transB, 1, 0)
		// odometer over the outer axes
		i := k - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < outer[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	return finishMatmul(out, vecB)
}

func finishMatmul(out *Tensor, vecB bool) *Tensor {
	if vecB {
		return out.Squeeze(-1)
	}
	return out
}

// matmulExpand broadcasts x's batch axes to batchShape and copies x when
// the layout of its last two axes is not one GEMM accepts.
func matmulExpand(x *Tensor, batchShape []int) *Tensor {
	nd := x.NDim()
	r, c := x.shape[nd-2], x.shape[nd-1]
	e := x.Expand(append(cloneInts(batchShape), r, c)...)
	nb := len(batchShape)
	if _, _, ok := gemmOperand(r, c, e.strides[nb], e.strides[nb+1]); !ok {
		e = e.Clone()
	}
	return e
}

// nests reports whether batch axes [k, nb) of x can be flattened into one
// axis with a single stride: the axes of size above 1 satisfy
// stride[p] == stride[q]·shape[q] for consecutive ones.
func nests(x *Tensor, k, nb int) bool {
	last := -1
	for i := k; i < nb; i++ {
		if x.shape[i] == 1 {
			continue
		}
		if last >= 0 && x.strides[last] != x.strides[i]*x.shape[i] {
			return false
		}
		last = i
	}
	return true
}

// nestStride is the single stride of the flattened batch axes [k, nb).
func nestStride(x *Tensor, k, nb int) int {
	for i := nb - 1; i >= k; i-- {
		if x.shape[i] != 1 {
			return x.strides[i]
		}
	}
	return 0
}

// Linear returns x·wᵀ + b for x [..., in], w [out, in] and b [out] (b may be
// nil), as torch.nn.functional.linear.
func Linear(x, w, b *Tensor) *Tensor {
	odt := computeMatmul("Linear", x, w)
	if b != nil {
		if b.DType() != odt {
			panic(fmt.Sprintf("tensor.Linear: bias dtype %s, want %s", b.DType(), odt))
		}
		sameDevice("Linear", x, b)
	}
	if w.NDim() != 2 || x.NDim() < 1 || x.shape[x.NDim()-1] != w.shape[1] {
		panic(fmt.Sprintf("tensor.Linear: x %v, weight %v", x.shape, w.shape))
	}
	if b != nil && (b.NDim() != 1 || b.shape[0] != w.shape[0]) {
		panic(fmt.Sprintf("tensor.Linear: bias %v for weight %v", b.shape, w.shape))
	}
	in, outF := w.shape[1], w.shape[0]
	lead := x.shape[:x.NDim()-1]
	rows := numel(lead)
	outShape := append(cloneInts(lead), outF)
	out := x.empty(odt, outShape)
	if rows == 0 || outF == 0 {
		return out
	}
	x2 := x.Reshape(rows, in)
	wc := w.Contiguous()
	dst := out.view([]int{1, rows, outF}, []int{0, outF, 1}, 0)
	xv := x2.view([]int{1, rows, in}, []int{0, x2.strides[0], x2.strides[1]}, x2.offset)
	wv := wc.view([]int{1, outF, in}, []int{0, in, 1}, wc.offset)
	if mb, ok := x.backend().(BiasMatmulBackend); ok && b != nil && mb.MatmulBias(dst, xv, wv, b.Contiguous(), false, true) {
		return out
	}
	beta := 0.0
	if b != nil {
		out.view([]int{rows, outF}, contiguousStrides([]int{rows, outF}), 0).CopyFrom(b.Expand(rows, outF))
		beta = 1
	}
	x.backend().Matmul(dst, xv, wv, false, true, 1, beta)
	return out
}
