package tensor

// UnaryOp names an element-wise function of one tensor.
type UnaryOp uint8

// The unary ops. Ops marked "of y" take the forward output in their backward.
const (
	OpNeg      UnaryOp = iota // -x
	OpExp                     // e^x (backward of y)
	OpLog                     // ln x
	OpSqrt                    // √x (backward of y)
	OpRsqrt                   // 1/√x (backward of y)
	OpSquare                  // x²
	OpAbs                     // |x|
	OpRelu                    // max(x, 0)
	OpTanh                    // tanh x (backward of y)
	OpSigmoid                 // 1/(1+e^-x) (backward of y)
	OpGeluErf                 // x·Φ(x), the exact GELU of BERT
	OpGeluTanh                // the tanh approximation of GELU
	OpSilu                    // x·sigmoid(x)
	OpErf                     // erf x
	OpRecip                   // 1/x (backward of y)
	numUnaryOps
)

var unaryNames = [...]string{"Neg", "Exp", "Log", "Sqrt", "Rsqrt", "Square", "Abs", "Relu", "Tanh", "Sigmoid", "GeluErf", "GeluTanh", "Silu", "Erf", "Recip"}

// String names the op.
func (op UnaryOp) String() string {
	if int(op) < len(unaryNames) {
		return unaryNames[op]
	}
	return "UnaryOp?"
}

// BackwardUsesOutput reports whether op's backward takes the forward output
// y rather than the input x.
func (op UnaryOp) BackwardUsesOutput() bool {
	switch op {
	case OpExp, OpSqrt, OpRsqrt, OpTanh, OpSigmoid, OpRecip:
		return true
	}
	return false
}

// BinaryOp names an element-wise function of two tensors.
type BinaryOp uint8

// The binary ops.
const (
	OpAdd BinaryOp = iota
	OpSub
	OpMul
	OpDiv
	OpMaximum
	OpMinimum
	OpPow
	// Comparisons give 1 or 0 in the output dtype.
	OpGreater
	OpLess
	OpEqual
)

var binaryNames = [...]string{"Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "Pow", "Greater", "Less", "Equal"}

// String names the op.
func (op BinaryOp) String() string {
	if int(op) < len(binaryNames) {
		return binaryNames[op]
	}
	return "BinaryOp?"
}

// ReduceOp names a reduction along one axis.
type ReduceOp uint8

// The reductions.
const (
	ReduceSum ReduceOp = iota
	ReduceMax
	ReduceSumSquares
)

// AdamWParams are one AdamW step's hyper-parameters (PyTorch's AdamW).
type AdamWParams struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	// Step is the 1-based step number after incrementing.
	Step int
	// GradScale, when neither 0 nor 1, multiplies the gradient (in its
	// dtype, as grad *= GradScale would) before the step: gradient clipping
	// fused into the update. Backends get it only through the CPU path;
	// AdamWStep and AdamWSteps scale the gradients in place first for the
	// others and pass 0.
	GradScale float64
}

// scaled reports whether p carries a gradient scale to apply.
func (p AdamWParams) scaled() bool { return p.GradScale != 0 && p.GradScale != 1 }

// Backend computes ops on one device. The tensor package validates shapes,
// dtypes and devices and allocates outputs before calling a backend, so a
// backend can assume: every tensor it is handed lives on its device, dst
// tensors are contiguous and freshly allocated unless stated otherwise, and
// sizes agree. Inputs may be strided views unless a method says
// "contiguous". Compute methods are called with Float32 or Float64 tensors.
type Backend interface {
	// Device returns the device this backend computes on.
	Device() Device
	// Alloc returns zero-initialised (CPU) or uninitialised (others) storage.
	Alloc(dtype DType, n int) (*Storage, error)
	// FromHost copies host storage src, starting at element off, into the
	// contiguous device tensor dst (same dtype).
	FromHost(dst *Tensor, src *Storage, off int) error
	// ToHost copies the contiguous device tensor src into host storage dst.
	ToHost(dst *Storage, src *Tensor) error

	// Copy copies src into dst (same shape; either may be strided; dst
	// must not overlap src), converting dtypes as needed.
	Copy(dst, src *Tensor)
	// Fill sets every element of the contiguous dst to v.
	Fill(dst *Tensor, v float64)

	// Unary computes dst = op(x) (contiguous, same shape).
	Unary(op UnaryOp, dst, x *Tensor)
	// UnaryBackward computes dx = dy * op'(·) where xy is x, or y when
	// op.BackwardUsesOutput() (contiguous, same shape).
	UnaryBackward(op UnaryOp, dx, dy, xy *Tensor)
	// Binary computes dst = a op b where a and b are views broadcast to
	// dst's shape (strides may be 0).
	Binary(op BinaryOp, dst, a, b *Tensor)
	// BinaryScalar computes dst = a op s, or s op a when scalarFirst.
	BinaryScalar(op BinaryOp, dst, a *Tensor, s float64, scalarFirst bool)
	// Where computes dst = cond != 0 ? a : b with cond, a and b broadcast
	// views of dst's shape (cond of any dtype).
	Where(dst, cond, a, b *Tensor)

	// Matmul computes dst[i] = alpha*op(a[i])·op(b[i]) + beta*dst[i] for
	// 3-D views a [batch, ·, ·], b [batch, ·, ·] (batch stride may be 0, the
	// last dimension contiguous or the one before it) and contiguous dst
	// [batch, m, n]; op transposes the last two dimensions when trans is set.
	Matmul(dst, a, b *Tensor, transA, transB bool, alpha, beta float64)

	// Reduce reduces the middle axis of contiguous x viewed as
	// [outer, n, inner] into contiguous dst [outer, inner]; for ReduceMax,
	// arg (Int32, may be nil) receives the first index of the maximum.
	Reduce(op ReduceOp, dst, arg, x *Tensor, outer, n, inner int)

	// Softmax computes the softmax (log-softmax when log) over the last axis
	// of contiguous x.
	Softmax(dst, x *Tensor, log bool)
	// SoftmaxBackward computes dx from dy and the forward output y.
	SoftmaxBackward(dx, dy, y *Tensor, log bool)
	// LayerNorm normalises the last axis of contiguous x [rows, cols];
	// mean and rstd [rows] receive the statistics; gamma and beta may be nil.
	LayerNorm(dst, mean, rstd, x, gamma, beta *Tensor, eps float64)
	// LayerNormBackward writes dx and accumulates into dgamma and dbeta
	// (either may be nil).
	LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *Tensor)
	// RMSNorm normalises the last axis of contiguous x by its root mean
	// square; rstd [rows] receives 1/rms; gamma may be nil.
	RMSNorm(dst, rstd, x, gamma *Tensor, eps float64)
	// RMSNormBackward writes dx and accumulates into dgamma (may be nil).
	RMSNormBackward(dx, dgamma, dy, x, rstd, gamma *Tensor)

	// IndexRows computes dst[o, i, :] = x[o, ids[i], :] for contiguous x
	// viewed as [outer, n, inner], Int32 ids [k] and dst [outer, k, inner];
	// it returns an error naming the position of an id outside [0, n).
	IndexRows(dst, x, ids *Tensor, outer, n, inner int) error
	// IndexAddRows computes dst[o, ids[i], :] += src[o, i, :] (the backward
	// of IndexRows); repeated ids accumulate.
	IndexAddRows(dst, src, ids *Tensor, outer, n, inner int) error
	// GatherLast computes dst[r, j] = x[r, idx[r, j]] for contiguous x
	// [rows, n] and Int32 idx [rows, k]; it returns an error for an index
	// outside [0, n).
	GatherLast(dst, x, idx *Tensor) error
	// ScatterAddLast computes dst[r, idx[r, j]] += src[r, j].
	ScatterAddLast(dst, src, idx *Tensor) error

	// AdamW updates param, m and v in place from grad (all contiguous, same
	// shape), as torch.optim.AdamW does.
	AdamW(param, grad, m, v *Tensor, p AdamWParams)
}
