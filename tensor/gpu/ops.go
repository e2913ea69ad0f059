//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/kernels/cuda"
	"github.com/ragr-dev/ragr/tensor"
)

// onHost runs f on the CPU backend with host copies of ins (nil stays nil)
// and of dst (its contents when readDst), then copies the host dst back:
// the fallback of ops no kernel computes yet (counted; RAGR_CUDA_STRICT=1
// panics instead).
func (b *Backend) onHost(op string, dst *tensor.Tensor, readDst bool, ins []*tensor.Tensor, f func(c tensor.Backend, hdst *tensor.Tensor, hin []*tensor.Tensor) error) error {
	b.fallback(op)
	c, err := tensor.BackendFor(tensor.CPU)
	b.fail(op, err)
	hin := make([]*tensor.Tensor, len(ins))
	for i, t := range ins {
		if t != nil {
			hin[i] = b.hostOf(op, viewOf(t))
		}
	}
	var hdst *tensor.Tensor
	if readDst {
		hdst = b.hostOf(op, viewOf(dst)).Contiguous()
	} else {
		hdst = tensor.New(dst.DType(), dst.Shape()...)
	}
	if err := f(c, hdst, hin); err != nil {
		return err
	}
	b.hostInto(op, viewOf(dst), hdst)
	return nil
}

// one is a float32 1 on the device (a stride-0 operand).
func (b *Backend) one() cuda.DevicePtr { return b.consts.At(4) }

var acts = map[tensor.UnaryOp]cuda.Act{
	tensor.OpGeluErf:  cuda.GeluErf,
	tensor.OpGeluTanh: cuda.GeluTanh,
	tensor.OpSilu:     cuda.Silu,
	tensor.OpTanh:     cuda.Tanh,
	tensor.OpSigmoid:  cuda.Sigmoid,
	tensor.OpExp:      cuda.Exp,
	tensor.OpLog:      cuda.Log,
	tensor.OpSqrt:     cuda.Sqrt,
	tensor.OpRsqrt:    cuda.Rsqrt,
	tensor.OpErf:      cuda.Erf,
	tensor.OpAbs:      cuda.Abs,
	tensor.OpRelu:     cuda.Relu,
}

// Unary computes dst = op(x) (contiguous float32).
func (b *Backend) Unary(op tensor.UnaryOp, dst, x *tensor.Tensor) {
	defer keep(dst, x)
	name := "Unary." + op.String()
	b.float32Only(name, dst, x)
	n := int64(dst.Numel())
	if n == 0 {
		return
	}
	y, xp := ptr(dst), ptr(x)
	if act, ok := acts[op]; ok {
		b.fail(name, b.dev.ActForward(act, cuda.F32, y, xp, n))
		return
	}
	switch op {
	case tensor.OpNeg:
		b.fail(name, b.dev.Scale(y, xp, -1, n))
	case tensor.OpSquare:
		b.fail(name, b.dev.Binary(cuda.Mul, cuda.F32, y, xp, xp, n))
	case tensor.OpRecip:
		b.fail(name, b.dev.BinaryBroadcast(cuda.Div, y, []int64{n}, b.one(), []int64{0}, xp, []int64{1}))
	default: // an op without a kernel (none today)
		b.fail(name, b.onHost(name, dst, false, []*tensor.Tensor{x}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
			c.Unary(op, hd, hin[0])
			return nil
		}))
	}
}

// UnaryBackward computes dx = dy·op'(xy) (contiguous float32).
func (b *Backend) UnaryBackward(op tensor.UnaryOp, dx, dy, xy *tensor.Tensor) {
	defer keep(dx, dy, xy)
	name := "UnaryBackward." + op.String()
	b.float32Only(name, dx, dy, xy)
	n := int64(dx.Numel())
	if n == 0 {
		return
	}
	d, g, v := ptr(dx), ptr(dy), ptr(xy)
	if act, ok := acts[op]; ok {
		b.fail(name, b.dev.ActBackward(act, cuda.F32, d, g, v, n))
		return
	}
	mul := func(c, a, bb cuda.DevicePtr) { b.fail(name, b.dev.Binary(cuda.Mul, cuda.F32, c, a, bb, n)) }
	switch op {
	case tensor.OpNeg:
		b.fail(name, b.dev.Scale(d, g, -1, n))
	case tensor.OpSquare: // dy·x·2
		mul(d, g, v)
		b.fail(name, b.dev.Scale(d, d, 2, n))
	case tensor.OpRecip: // -(dy·y·y)
		mul(d, g, v)
		mul(d, d, v)
		b.fail(name, b.dev.Scale(d, d, -1, n))
	default: // an op without a kernel (none today)
		b.fail(name, b.onHost(name, dx, false, []*tensor.Tensor{dy, xy}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
			c.UnaryBackward(op, hd, hin[0], hin[1])
			return nil
		}))
	}
}

var binOps = map[tensor.BinaryOp]cuda.BinOp{
	tensor.OpAdd:     cuda.Add,
	tensor.OpSub:     cuda.Sub,
	tensor.OpMul:     cuda.Mul,
	tensor.OpDiv:     cuda.Div,
	tensor.OpMaximum: cuda.Max,
	tensor.OpMinimum: cuda.Min,
	tensor.OpPow:     cuda.Pow,
	tensor.OpGreater: cuda.Greater,
	tensor.OpLess:    cuda.Less,
	tensor.OpEqual:   cuda.Equal,
}

// Binary computes dst = a op b for views a, b broadcast to dst's shape.
func (b *Backend) Binary(op tensor.BinaryOp, dst, a, bt *tensor.Tensor) {
	defer keep(dst, a, bt)
	name := "Binary." + op.String()
	b.float32Only(name, dst, a, bt)
	n := dst.Numel()
	if n == 0 {
		return
	}
	kop, ok := binOps[op]
	if ok {
		shape := dst.Shape()
		as, bs := a.Strides(), bt.Strides()
		if isContiguous(shape, as) && isContiguous(shape, bs) {
			b.fail(name, b.dev.Binary(kop, cuda.F32, ptr(dst), ptr(a), ptr(bt), int64(n)))
			return
		}
		cs, cst := collapse(shape, contiguousStrides(shape), as, bs)
		if len(cs) <= cuda.MaxDims {
			b.fail(name, b.dev.BinaryBroadcast(kop, ptr(dst), i64s(cs), ptr(a), i64s(cst[1]), ptr(bt), i64s(cst[2])))
			return
		}
	}
	// ranks beyond the broadcast kernel's (after merging dimensions): on the host
	b.fail(name, b.onHost(name, dst, false, []*tensor.Tensor{a, bt}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
		c.Binary(op, hd, hin[0], hin[1])
		return nil
	}))
}

// BinaryScalar computes dst = a op s (s op a when scalarFirst), contiguous.
func (b *Backend) BinaryScalar(op tensor.BinaryOp, dst, a *tensor.Tensor, s float64, scalarFirst bool) {
	defer keep(dst, a)
	name := "BinaryScalar." + op.String()
	b.float32Only(name, dst, a)
	n := int64(dst.Numel())
	if n == 0 {
		return
	}
	y, x := ptr(dst), ptr(a)
	switch {
	case op == tensor.OpMul:
		b.fail(name, b.dev.Scale(y, x, float32(s), n))
		return
	case op == tensor.OpPow && !scalarFirst && s == 2:
		b.fail(name, b.dev.Binary(cuda.Mul, cuda.F32, y, x, x, n))
		return
	case op == tensor.OpPow && !scalarFirst && s == 1:
		if y != x {
			b.fail(name, b.dev.CopyDtoD(y, x, 4*n))
		}
		return
	}
	if kop, ok := binOps[op]; ok {
		s32, exact, first := float32(s), true, scalarFirst
		switch op {
		case tensor.OpGreater, tensor.OpLess, tensor.OpEqual:
			// compare with the float64 s as the CPU backend does;
			// scalarCompare mirrors s op x into x op~ s32: x goes first
			s32, kop, exact = scalarCompare(op, s, scalarFirst)
			first = false
		}
		if !exact { // Equal to an s no float32 equals: all 0
			b.fail(name, b.dev.Memset32(y, 0, n))
			return
		}
		sc := b.temp(name, tensor.Float32, 1)
		defer sc.Free()
		b.fail(name, b.dev.FillF32(sc.Ptr(), s32, 1))
		shape, unit, bcast := []int64{n}, []int64{1}, []int64{0}
		if first {
			b.fail(name, b.dev.BinaryBroadcast(kop, y, shape, sc.Ptr(), bcast, x, unit))
		} else {
			b.fail(name, b.dev.BinaryBroadcast(kop, y, shape, x, unit, sc.Ptr(), bcast))
		}
		return
	}
	b.fail(name, b.onHost(name, dst, false, []*tensor.Tensor{a}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
		c.BinaryScalar(op, hd, hin[0], s, scalarFirst)
		return nil
	}))
}

// scalarCompare turns x op s (s op x when scalarFirst) for a float32 x and
// a float64 s into x op' s32 with a float32 s32, giving the CPU backend's
// float64 answer: when s is not a float32, x > s is x > (the float32 below
// s), x < s is x < (the float32 above s), and x == s is never true (ok is
// false then: the result is all 0). s op x is x op~ s with op~ mirrored.
func scalarCompare(op tensor.BinaryOp, s float64, scalarFirst bool) (s32 float32, kop cuda.BinOp, ok bool) {
	if scalarFirst {
		switch op {
		case tensor.OpGreater:
			op = tensor.OpLess
		case tensor.OpLess:
			op = tensor.OpGreater
		}
	}
	s32 = float32(s)
	below, above := s32, s32
	switch {
	case math.IsNaN(s) || float64(s32) == s:
	case float64(s32) > s:
		below = math.Nextafter32(s32, float32(math.Inf(-1)))
	default:
		above = math.Nextafter32(s32, float32(math.Inf(1)))
	}
	exact := below == above
	switch op {
	case tensor.OpGreater:
		return below, cuda.Greater, true
	case tensor.OpLess:
		return above, cuda.Less, true
	}
	return s32, cuda.Equal, exact
}

// Where computes dst = cond != 0 ? a : b with the select kernel (cond of
// any device dtype, all three broadcast views).
func (b *Backend) Where(dst, cond, a, bt *tensor.Tensor) {
	defer keep(dst, cond, a, bt)
	b.float32Only("Where", dst, a, bt)
	if dst.Numel() == 0 {
		return
	}
	var ct cuda.DType
	switch cond.DType() {
	case tensor.Float32:
		ct = cuda.F32
	case tensor.Int32:
		ct = cuda.I32
	case tensor.BFloat16:
		ct = cuda.BF16
	case tensor.Float16:
		ct = cuda.F16
	default:
		b.fail("Where", dtypeOK(cond.DType()))
	}
	shape := dst.Shape()
	cs, cst := collapse(shape, contiguousStrides(shape), cond.Strides(), a.Strides(), bt.Strides())
	if len(cs) <= cuda.MaxDims {
		b.fail("Where", b.dev.Where(ptr(dst), i64s(cs), ptr(cond), ct, i64s(cst[1]), ptr(a), i64s(cst[2]), ptr(bt), i64s(cst[3])))
		return
	}
	// ranks beyond the kernel's (after merging dimensions): on the host
	b.fail("Where", b.onHost("Where", dst, false, []*tensor.Tensor{cond, a, bt}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
		c.Where(hd, hin[0], hin[1], hin[2])
		return nil
	}))
}

// Matmul computes dst[i] = alpha·op(a[i])·op(b[i]) + beta·dst[i] with the
// fp32 GEMM kernel (strided batches, transposes, any leading dimension), or,
// in mixed precision (SetMixedPrecision), the tensor-core GEMM on bf16
// copies of the operands with fp32 accumulation and output (mixed.go).
func (b *Backend) Matmul(dst, a, bt *tensor.Tensor, transA, transB bool, alpha, beta float64) {
	b.matmul(dst, a, bt, transA, transB, alpha, beta, nil)
}

// MatmulBias computes dst = a·b (transposes as Matmul) + bias, the float32
// bias [n] added to every row by the GEMM's epilogue; false (nothing done)
// for an empty inner dimension, which the caller handles.
func (b *Backend) MatmulBias(dst, a, bt, bias *tensor.Tensor, transA, transB bool) bool {
	k := a.Shape()[2]
	if transA {
		k = a.Shape()[1]
	}
	if k == 0 || bias.DType() != tensor.Float32 || !bias.IsContiguous() {
		return false
	}
	b.matmul(dst, a, bt, transA, transB, 1, 0, bias)
	return true
}

// matmul is Matmul with an optional bias row added in the epilogue.
func (b *Backend) matmul(dst, a, bt *tensor.Tensor, transA, transB bool, alpha, beta float64, bias *tensor.Tensor) {
	defer keep(dst, a, bt, bias)
	const name = "Matmul"
	// a BFloat16 operand is a RoundOperand copy (tensor.computeMatmul lets
	// only those through): the bf16 GEMM takes it as it is
	rounded := a.DType() == tensor.BFloat16 || bt.DType() == tensor.BFloat16
	b.float32Only(name, dst)
	for _, t := range []*tensor.Tensor{a, bt} {
		if t.DType() != tensor.BFloat16 {
			b.float32Only(name, t)
		}
	}
	ds, as, bs := dst.Shape(), a.Shape(), bt.Shape()
	ast, bst := a.Strides(), bt.Strides()
	batch, m, n := ds[0], ds[1], ds[2]
	k := as[2]
	if transA {
		k = as[1]
	}
	lda, ta, okA := gemmOperand(as[1], as[2], ast[1], ast[2])
	ldb, tb, okB := gemmOperand(bs[1], bs[2], bst[1], bst[2])
	if !okA || !okB {
		b.fail(name, fmt.Errorf("operand layout not supported (a %v/%v, b %v/%v)", as, ast, bs, bst))
	}
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	if k == 0 { // an empty sum: dst = beta·dst (the operands may have no rows to describe)
		cn := int64(batch * m * n)
		if beta == 0 {
			b.fail(name, b.dev.Memset32(ptr(dst), 0, cn))
		} else {
			b.fail(name, b.dev.Scale(ptr(dst), ptr(dst), float32(beta), cn))
		}
		return
	}
	if b.mixed.Load() || rounded {
		b.matmulBF16(dst, a, bt, transA, transB, alpha, beta, bias)
		return
	}
	g := cuda.Gemm{In: cuda.F32, Out: cuda.F32, TransA: transA != ta, TransB: transB != tb,
		M: m, N: n, K: k, A: ptr(a), B: ptr(bt), C: ptr(dst), LDA: lda, LDB: ldb, LDC: max(n, 1),
		StrideA: int64(ast[0]), StrideB: int64(bst[0]), StrideC: int64(m * n), Batch: batch,
		Alpha: float32(alpha), Beta: float32(beta)}
	if bias != nil {
		g.Bias = ptr(bias)
	}
	if batch == 1 {
		g.StrideA, g.StrideB = 0, 0
	}
	b.fail(name, b.dev.GEMM(g))
}

// Reduce reduces the middle axis of contiguous x [outer, n, inner].
func (b *Backend) Reduce(op tensor.ReduceOp, dst, arg, x *tensor.Tensor, outer, n, inner int) {
	defer keep(dst, arg, x)
	const name = "Reduce"
	b.float32Only(name, dst, x)
	if outer*inner == 0 {
		return
	}
	o, nn, in := int64(outer), int64(n), int64(inner)
	if n == 0 && op != tensor.ReduceMax {
		b.fail(name, b.dev.Memset32(ptr(dst), 0, o*in))
		return
	}
	switch op {
	case tensor.ReduceSum:
		b.fail(name, b.dev.ReduceSum(ptr(dst), ptr(x), o, nn, in))
	case tensor.ReduceMax:
		b.fail(name, b.dev.ReduceMax(ptr(dst), ptr(arg), ptr(x), o, nn, in))
	case tensor.ReduceSumSquares:
		sq := b.temp(name, tensor.Float32, x.Numel())
		defer sq.Free()
		b.fail(name, b.dev.Binary(cuda.Mul, cuda.F32, sq.Ptr(), ptr(x), ptr(x), int64(x.Numel())))
		b.fail(name, b.dev.ReduceSum(ptr(dst), sq.Ptr(), o, nn, in))
	default:
		b.fail(name, fmt.Errorf("unknown reduction %d", op))
	}
}

// rowsCols views a contiguous tensor as [rows, cols] (cols = last axis).
func rowsCols(t *tensor.Tensor) (int, int) {
	s := t.Shape()
	cols := 1
	if len(s) > 0 {
		cols = s[len(s)-1]
	}
	if cols == 0 {
		return 0, 0
	}
	return t.Numel() / cols, cols
}

// Softmax computes the (log-)softmax over the last axis of contiguous x.
func (b *Backend) Softmax(dst, x *tensor.Tensor, log bool) {
	defer keep(dst, x)
	const name = "Softmax"
	b.float32Only(name, dst, x)
	rows, cols := rowsCols(x)
	if rows == 0 {
		return
	}
	if log {
		b.fail(name, b.dev.LogSoftmax(ptr(dst), ptr(x), int64(rows), cols))
	} else {
		b.fail(name, b.dev.Softmax(ptr(dst), ptr(x), int64(rows), cols))
	}
}

// SoftmaxBackward computes dx from dy and the forward output y.
func (b *Backend) SoftmaxBackward(dx, dy, y *tensor.Tensor, log bool) {
	defer keep(dx, dy, y)
	const name = "SoftmaxBackward"
	b.float32Only(name, dx, dy, y)
	rows, cols := rowsCols(y)
	if rows == 0 {
		return
	}
	if log {
		b.fail(name, b.dev.LogSoftmaxBackward(ptr(dx), ptr(dy), ptr(y), int64(rows), cols))
	} else {
		b.fail(name, b.dev.SoftmaxBackward(ptr(dx), ptr(dy), ptr(y), int64(rows), cols))
	}
}

// constVec returns ptr(t), or a scratch vector of cols copies of v when t
// is nil (the kernels take gamma and beta always); free is its release.
func (b *Backend) constVec(name string, t *tensor.Tensor, cols int, v float32) (cuda.DevicePtr, func()) {
	if t != nil {
		return ptr(t), func() {}
	}
	buf := b.temp(name, tensor.Float32, cols)
	b.fail(name, b.dev.FillF32(buf.Ptr(), v, int64(cols)))
	return buf.Ptr(), buf.Free
}

// scratchVec returns ptr(t), or scratch of cols floats when t is nil (an
// output nobody wants).
func (b *Backend) scratchVec(name string, t *tensor.Tensor, cols int) (cuda.DevicePtr, func()) {
	if t != nil {
		return ptr(t), func() {}
	}
	buf := b.temp(name, tensor.Float32, cols)
	return buf.Ptr(), buf.Free
}

// LayerNorm normalises the last axis of contiguous x (gamma, beta may be nil).
func (b *Backend) LayerNorm(dst, mean, rstd, x, gamma, beta *tensor.Tensor, eps float64) {
	defer keep(dst, mean, rstd, x, gamma, beta)
	const name = "LayerNorm"
	b.float32Only(name, dst, mean, rstd, x, gamma, beta)
	rows, cols := rowsCols(x)
	if rows == 0 {
		return
	}
	g, fg := b.constVec(name, gamma, cols, 1)
	defer fg()
	be, fb := b.constVec(name, beta, cols, 0)
	defer fb()
	b.fail(name, b.dev.LayerNorm(ptr(dst), ptr(mean), ptr(rstd), ptr(x), g, be, int64(rows), cols, float32(eps)))
}

// LayerNormBackward writes dx and accumulates dgamma, dbeta (either nil).
func (b *Backend) LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *tensor.Tensor) {
	defer keep(dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	const name = "LayerNormBackward"
	b.float32Only(name, dx, dgamma, dbeta, dy, x, mean, rstd, gamma)
	rows, cols := rowsCols(x)
	if rows == 0 {
		return
	}
	g, fg := b.constVec(name, gamma, cols, 1)
	defer fg()
	dg, fdg := b.scratchVec(name, dgamma, cols)
	defer fdg()
	db, fdb := b.scratchVec(name, dbeta, cols)
	defer fdb()
	b.fail(name, b.dev.LayerNormBackward(ptr(dx), dg, db, ptr(dy), ptr(x), ptr(mean), ptr(rstd), g, int64(rows), cols))
}

// RMSNorm normalises the last axis of contiguous x by its RMS (gamma may be nil).
func (b *Backend) RMSNorm(dst, rstd, x, gamma *tensor.Tensor, eps float64) {
	defer keep(dst, rstd, x, gamma)
	const name = "RMSNorm"
	b.float32Only(name, dst, rstd, x, gamma)
	rows, cols := rowsCols(x)
	if rows == 0 {
		return
	}
	g, fg := b.constVec(name, gamma, cols, 1)
	defer fg()
	b.fail(name, b.dev.RMSNorm(ptr(dst), ptr(rstd), ptr(x), g, int64(rows), cols, float32(eps)))
}

// RMSNormBackward writes dx and accumulates dgamma (may be nil).
func (b *Backend) RMSNormBackward(dx, dgamma, dy, x, rstd, gamma *tensor.Tensor) {
	defer keep(dx, dgamma, dy, x, rstd, gamma)
	const name = "RMSNormBackward"
	b.float32Only(name, dx, dgamma, dy, x, rstd, gamma)
	rows, cols := rowsCols(x)
	if rows == 0 {
		return
	}
	g, fg := b.constVec(name, gamma, cols, 1)
	defer fg()
	dg, fdg := b.scratchVec(name, dgamma, cols)
	defer fdg()
	b.fail(name, b.dev.RMSNormBackward(ptr(dx), dg, ptr(dy), ptr(x), ptr(rstd), g, int64(rows), cols))
}

// hostIDs downloads the contiguous Int32 tensor ids.
func (b *Backend) hostIDs(op string, ids *tensor.Tensor) []int32 {
	return b.hostOf(op, viewOf(ids)).Contiguous().DataI32()
}

// uploadIDs copies ids into device scratch (free it with defer).
func (b *Backend) uploadIDs(op string, ids []int32) *cuda.Buffer {
	buf, err := cuda.Upload(b.dev, ids)
	b.fail(op, err)
	return buf
}

// rowsOp gathers (scatter false: dst[j] = src[rows[j]]) or scatter-adds
// (dst[rows[j]] += src[j]) rows of width f32 elements, rows given on the
// host; srcRows/dstRows bound the row numbers.
func (b *Backend) rowsOp(op string, scatter bool, dst, src cuda.DevicePtr, rows []int32, width int, tableRows int) error {
	if len(rows) == 0 || width == 0 {
		return nil
	}
	ids := b.uploadIDs(op, rows)
	defer ids.Free()
	if scatter {
		return b.dev.EmbeddingScatterAdd(dst, src, ids.Ptr(), int64(len(rows)), width, int64(tableRows))
	}
	return b.dev.EmbeddingGather(dst, src, ids.Ptr(), int64(len(rows)), width, int64(tableRows))
}

// IndexRows computes dst[o, i, :] = x[o, ids[i], :].
func (b *Backend) IndexRows(dst, x, ids *tensor.Tensor, outer, n, inner int) (err error) {
	defer keep(dst, x, ids)
	const name = "IndexRows"
	defer tensor.RecoverDeviceError(&err)
	if dst.DType() != tensor.Float32 {
		return b.onHost(name+"."+dst.DType().String(), dst, false, []*tensor.Tensor{x, ids}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
			return c.IndexRows(hd, hin[0].Contiguous(), hin[1].Contiguous(), outer, n, inner)
		})
	}
	k := ids.Numel()
	if outer == 1 && k > 0 && inner > 0 {
		return b.idErr(name, b.dev.EmbeddingGather(ptr(dst), ptr(x), ptr(ids), int64(k), inner, int64(n)))
	}
	rows, err := flatRows(b.hostIDs(name, ids), outer, n)
	if err != nil {
		return err
	}
	return b.wrap(name, b.rowsOp(name, false, ptr(dst), ptr(x), rows, inner, outer*n))
}

// idErr returns an embedding kernel's error: a bad id as the CPU backend
// words it (a plain error: user data, not a device failure), anything else
// as a DeviceError.
func (b *Backend) idErr(op string, err error) error {
	var bad *cuda.BadIDError
	if errors.As(err, &bad) {
		return fmt.Errorf("index %d at position %d out of range [0, %d)", bad.ID, bad.Pos, bad.Vocab)
	}
	return b.wrap(op, err)
}

// IndexAddRows computes dst[o, ids[i], :] += src[o, i, :].
func (b *Backend) IndexAddRows(dst, src, ids *tensor.Tensor, outer, n, inner int) (err error) {
	defer keep(dst, src, ids)
	const name = "IndexAddRows"
	defer tensor.RecoverDeviceError(&err)
	b.float32Only(name, dst, src)
	k := ids.Numel()
	if outer == 1 && k > 0 && inner > 0 {
		// (a bad id is reported after the valid rows were added: the
		// caller discards dst on error, as tensor.IndexAdd does)
		return b.idErr(name, b.dev.EmbeddingScatterAdd(ptr(dst), ptr(src), ptr(ids), int64(k), inner, int64(n)))
	}
	rows, err := flatRows(b.hostIDs(name, ids), outer, n)
	if err != nil {
		return err
	}
	return b.wrap(name, b.rowsOp(name, true, ptr(dst), ptr(src), rows, inner, outer*n))
}

// GatherLast computes dst[r, j] = x[r, idx[r, j]].
func (b *Backend) GatherLast(dst, x, idx *tensor.Tensor) (err error) {
	defer keep(dst, x, idx)
	const name = "GatherLast"
	defer tensor.RecoverDeviceError(&err)
	if dst.DType() != tensor.Float32 {
		return b.onHost(name+"."+dst.DType().String(), dst, false, []*tensor.Tensor{x, idx}, func(c tensor.Backend, hd *tensor.Tensor, hin []*tensor.Tensor) error {
			return c.GatherLast(hd, hin[0].Contiguous(), hin[1].Contiguous())
		})
	}
	rows, n := rowsCols(x)
	flatIdx, err := flatLast(b.hostIDs(name, idx), rows, n)
	if err != nil {
		return err
	}
	return b.wrap(name, b.rowsOp(name, false, ptr(dst), ptr(x), flatIdx, 1, rows*n))
}

// ScatterAddLast computes dst[r, idx[r, j]] += src[r, j].
func (b *Backend) ScatterAddLast(dst, src, idx *tensor.Tensor) (err error) {
	defer keep(dst, src, idx)
	const name = "ScatterAddLast"
	defer tensor.RecoverDeviceError(&err)
	b.float32Only(name, dst, src)
	rows, n := rowsCols(dst)
	flatIdx, err := flatLast(b.hostIDs(name, idx), rows, n)
	if err != nil {
		return err
	}
	return b.wrap(name, b.rowsOp(name, true, ptr(dst), ptr(src), flatIdx, 1, rows*n))
}

// AdamW updates param, m and v in place from grad with the fused AdamW
// kernel (PyTorch's arithmetic, as kernels/cpu.AdamW).
func (b *Backend) AdamW(param, grad, m, v *tensor.Tensor, p tensor.AdamWParams) {
	defer keep(param, grad, m, v)
	const name = "AdamW"
	b.float32Only(name, param, grad, m, v)
	n := int64(param.Numel())
	if n == 0 {
		return
	}
	t, err := b.dev.NewAdamWTable([]cuda.AdamWParam{{Param: ptr(param), Grad: ptr(grad), M: ptr(m), V: ptr(v), N: n, WeightDecay: float32(p.WeightDecay)}})
	b.fail(name, err)
	defer t.Free()
	b.fail(name, b.dev.AdamWStep(t, float32(p.LR), float32(p.Beta1), float32(p.Beta2), float32(p.Eps), p.Step, 0))
}
