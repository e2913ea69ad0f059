package tensor

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/kernels/cpu"
)

// cpuBackend computes on the host through kernels/cpu.
type cpuBackend struct{}

var cpuBackendInstance Backend = cpuBackend{}

func (cpuBackend) Device() Device { return CPU }

func (cpuBackend) Alloc(dtype DType, n int) (*Storage, error) {
	if n < 0 {
		return nil, fmt.Errorf("negative size %d", n)
	}
	return newCPUStorage(dtype, n), nil
}

func (cpuBackend) FromHost(dst *Tensor, src *Storage, off int) error {
	cpuBackendInstance.Copy(dst, &Tensor{shape: dst.shape, strides: contiguousStrides(dst.shape), offset: off, st: src})
	return nil
}

func (cpuBackend) ToHost(dst *Storage, src *Tensor) error {
	cpuBackendInstance.Copy(&Tensor{shape: src.shape, strides: contiguousStrides(src.shape), st: dst}, src)
	return nil
}

// c32 and c64 return the contiguous data of t starting at its offset.
func c32(t *Tensor) []float32 {
	if t == nil {
		return nil
	}
	n := t.Numel()
	return t.st.F32[t.offset : t.offset+n : t.offset+n]
}

func c64(t *Tensor) []float64 {
	if t == nil {
		return nil
	}
	n := t.Numel()
	return t.st.F64[t.offset : t.offset+n : t.offset+n]
}

func ci32(t *Tensor) []int32 {
	n := t.Numel()
	return t.st.I32[t.offset : t.offset+n : t.offset+n]
}

// iterRows walks every row (all axes but the last) of shape, calling fn with
// the offset of the row's first element in each operand. Operand k has start
// offset offs[k] and strides strides[k]. A 0-d shape is one row of length 1.
func iterRows(shape []int, offs []int, strides [][]int, fn func(offs []int)) {
	nd := len(shape)
	cur := append([]int(nil), offs...)
	if nd <= 1 {
		fn(cur)
		return
	}
	for _, d := range shape[:nd-1] {
		if d == 0 {
			return
		}
	}
	idx := make([]int, nd-1)
	for {
		fn(cur)
		// odometer increment over axes nd-2 … 0
		ax := nd - 2
		for ; ax >= 0; ax-- {
			idx[ax]++
			for k := range cur {
				cur[k] += strides[k][ax]
			}
			if idx[ax] < shape[ax] {
				break
			}
			for k := range cur {
				cur[k] -= strides[k][ax] * shape[ax]
			}
			idx[ax] = 0
		}
		if ax < 0 {
			return
		}
	}
}

// rowLen and innerStride give the last axis' length and stride (1, 1 for 0-d).
func rowLen(shape []int) int {
	if len(shape) == 0 {
		return 1
	}
	return shape[len(shape)-1]
}

func innerStride(strides []int) int {
	if len(strides) == 0 {
		return 1
	}
	return strides[len(strides)-1]
}

// load returns element i of storage st as float64.
func load(st *Storage, i int) float64 {
	switch st.DType {
	case Float32:
		return float64(st.F32[i])
	case Float64:
		return st.F64[i]
	case Int32:
		return float64(st.I32[i])
	case BFloat16:
		return float64(bf16ToF32(st.U16[i]))
	case Float16:
		return float64(f16ToF32(st.U16[i]))
	}
	panic("tensor: unknown dtype")
}

// store writes v into element i of storage st, converting to its dtype.
func store(st *Storage, i int, v float64) {
	switch st.DType {
	case Float32:
		st.F32[i] = float32(v)
	case Float64:
		st.F64[i] = v
	case Int32:
		st.I32[i] = int32(v)
	case BFloat16:
		st.U16[i] = f32ToBF16(float32(v))
	case Float16:
		st.U16[i] = f32ToF16(float32(v))
	default:
		panic("tensor: unknown dtype")
	}
}

func (cpuBackend) Copy(dst, src *Tensor) {
	n := dst.Numel()
	if n == 0 {
		return
	}
	sd, dd := src.st.DType, dst.st.DType
	if dst.IsContiguous() && src.IsContiguous() {
		do, so := dst.offset, src.offset
		switch {
		case sd == dd && sd == Float32:
			copy(dst.st.F32[do:do+n], src.st.F32[so:so+n])
			return
		case sd == dd && sd == Float64:
			copy(dst.st.F64[do:do+n], src.st.F64[so:so+n])
			return
		case sd == dd && sd == Int32:
			copy(dst.st.I32[do:do+n], src.st.I32[so:so+n])
			return
		case sd == dd && (sd == BFloat16 || sd == Float16):
			copy(dst.st.U16[do:do+n], src.st.U16[so:so+n])
			return
		case sd == BFloat16 && dd == Float32:
			cpu.BF16ToF32(dst.st.F32[do:do+n], src.st.U16[so:so+n])
			return
		case sd == Float16 && dd == Float32:
			cpu.F16ToF32(dst.st.F32[do:do+n], src.st.U16[so:so+n])
			return
		case sd == Float32 && dd == BFloat16:
			cpu.F32ToBF16(dst.st.U16[do:do+n], src.st.F32[so:so+n])
			return
		case sd == Float32 && dd == Float16:
			cpu.F32ToF16(dst.st.U16[do:do+n], src.st.F32[so:so+n])
			return
		}
	}
	L := rowLen(dst.shape)
	ds, ss := innerStride(dst.strides), innerStride(src.strides)
	iterRows(dst.shape, []int{dst.offset, src.offset}, [][]int{dst.strides, src.strides}, func(o []int) {
		d, s := o[0], o[1]
		switch {
		case sd == dd && sd == Float32 && ds == 1 && ss == 1:
			copy(dst.st.F32[d:d+L], src.st.F32[s:s+L])
		case sd == dd && sd == Float64 && ds == 1 && ss == 1:
			copy(dst.st.F64[d:d+L], src.st.F64[s:s+L])
		case sd == dd && sd == Float32:
			df, sf := dst.st.F32, src.st.F32
			for i := 0; i < L; i++ {
				df[d+i*ds] = sf[s+i*ss]
			}
		case sd == dd && sd == Float64:
			df, sf := dst.st.F64, src.st.F64
			for i := 0; i < L; i++ {
				df[d+i*ds] = sf[s+i*ss]
			}
		case sd == dd && sd == Int32:
			df, sf := dst.st.I32, src.st.I32
			for i := 0; i < L; i++ {
				df[d+i*ds] = sf[s+i*ss]
			}
		case sd == dd:
			df, sf := dst.st.U16, src.st.U16
			for i := 0; i < L; i++ {
				df[d+i*ds] = sf[s+i*ss]
			}
		default:
			for i := 0; i < L; i++ {
				store(dst.st, d+i*ds, load(src.st, s+i*ss))
			}
		}
	})
}

func (cpuBackend) Fill(dst *Tensor, v float64) {
	switch dst.st.DType {
	case Float32:
		cpu.Fill(c32(dst), float32(v))
	case Float64:
		cpu.Fill64(c64(dst), v)
	default:
		n := dst.Numel()
		for i := 0; i < n; i++ {
			store(dst.st, dst.offset+i, v)
		}
	}
}

func (cpuBackend) Unary(op UnaryOp, dst, x *Tensor) {
	if dst.DType() == Float32 {
		unary32(op, c32(dst), c32(x))
	} else {
		unary64(op, c64(dst), c64(x))
	}
}

func unary32(op UnaryOp, d, x []float32) {
	switch op {
	case OpExp:
		cpu.Exp(d, x)
	case OpLog:
		cpu.Log(d, x)
	case OpTanh:
		cpu.Tanh(d, x)
	case OpSigmoid:
		cpu.Sigmoid(d, x)
	case OpErf:
		cpu.Erf(d, x)
	case OpGeluErf:
		cpu.GeluErf(d, x)
	case OpGeluTanh:
		cpu.GeluTanh(d, x)
	case OpSilu:
		cpu.Silu(d, x)
	case OpNeg:
		cpu.Scale(d, x, -1)
	case OpSquare:
		cpu.Binary(cpu.OpMul, d, x, x)
	case OpRecip:
		cpu.ScalarBinary(cpu.OpDiv, d, 1, x)
	default:
		for i, v := range x {
			d[i] = float32(unaryScalar(op, float64(v)))
		}
	}
}

func unary64(op UnaryOp, d, x []float64) {
	switch op {
	case OpExp:
		cpu.Exp64(d, x)
	case OpLog:
		cpu.Log64(d, x)
	case OpTanh:
		cpu.Tanh64(d, x)
	case OpSigmoid:
		cpu.Sigmoid64(d, x)
	case OpErf:
		cpu.Erf64(d, x)
	case OpGeluErf:
		cpu.GeluErf64(d, x)
	case OpGeluTanh:
		cpu.GeluTanh64(d, x)
	case OpSilu:
		cpu.Silu64(d, x)
	default:
		for i, v := range x {
			d[i] = unaryScalar(op, v)
		}
	}
}

// unaryScalar is the plain definition of each unary op.
func unaryScalar(op UnaryOp, v float64) float64 {
	switch op {
	case OpNeg:
		return -v
	case OpExp:
		return math.Exp(v)
	case OpLog:
		return math.Log(v)
	case OpSqrt:
		return math.Sqrt(v)
	case OpRsqrt:
		return 1 / math.Sqrt(v)
	case OpSquare:
		return v * v
	case OpAbs:
		return math.Abs(v)
	case OpRelu:
		if v > 0 {
			return v
		}
		if math.IsNaN(v) {
			return v
		}
		return 0
	case OpTanh:
		return math.Tanh(v)
	case OpSigmoid:
		return 1 / (1 + math.Exp(-v))
	case OpErf:
		return math.Erf(v)
	case OpGeluErf:
		return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
	case OpGeluTanh:
		return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	case OpSilu:
		return v / (1 + math.Exp(-v))
	case OpRecip:
		return 1 / v
	}
	panic(fmt.Sprintf("tensor: unknown unary op %d", op))
}

// unaryGradScalar returns op'(·)·dy where xy is x or y per BackwardUsesOutput.
func unaryGradScalar(op UnaryOp, dy, xy float64) float64 {
	switch op {
	case OpNeg:
		return -dy
	case OpExp:
		return dy * xy
	case OpLog:
		return dy / xy
	case OpSqrt:
		return dy * 0.5 / xy
	case OpRsqrt:
		return dy * -0.5 * xy * xy * xy
	case OpSquare:
		return dy * 2 * xy
	case OpAbs:
		switch {
		case xy > 0:
			return dy
		case xy < 0:
			return -dy
		}
		return 0
	case OpRelu:
		if xy > 0 {
			return dy
		}
		return 0
	case OpTanh:
		return dy * (1 - xy*xy)
	case OpSigmoid:
		return dy * xy * (1 - xy)
	case OpErf:
		return dy * 2 / math.SqrtPi * math.Exp(-xy*xy)
	case OpGeluErf:
		cdf := 0.5 * (1 + math.Erf(xy/math.Sqrt2))
		pdf := math.Exp(-0.5*xy*xy) / math.Sqrt(2*math.Pi)
		return dy * (cdf + xy*pdf)
	case OpGeluTanh:
		k := math.Sqrt(2 / math.Pi)
		u := k * (xy + 0.044715*xy*xy*xy)
		th := math.Tanh(u)
		return dy * (0.5*(1+th) + 0.5*xy*(1-th*th)*k*(1+3*0.044715*xy*xy))
	case OpSilu:
		s := 1 / (1 + math.Exp(-xy))
		return dy * s * (1 + xy*(1-s))
	case OpRecip:
		return -dy * xy * xy
	}
	panic(fmt.Sprintf("tensor: unknown unary op %d", op))
}

func (cpuBackend) UnaryBackward(op UnaryOp, dx, dy, xy *Tensor) {
	if dx.DType() == Float32 {
		d, g, v := c32(dx), c32(dy), c32(xy)
		switch op {
		case OpGeluErf:
			cpu.GeluErfBackward(d, g, v)
		case OpGeluTanh:
			cpu.GeluTanhBackward(d, g, v)
		case OpSilu:
			cpu.SiluBackward(d, g, v)
		case OpTanh:
			cpu.TanhBackward(d, g, v)
		case OpSigmoid:
			cpu.SigmoidBackward(d, g, v)
		case OpExp:
			cpu.Binary(cpu.OpMul, d, g, v)
		case OpNeg:
			cpu.Scale(d, g, -1)
		case OpLog:
			cpu.Binary(cpu.OpDiv, d, g, v)
		default:
			for i := range d {
				d[i] = float32(unaryGradScalar(op, float64(g[i]), float64(v[i])))
			}
		}
		return
	}
	d, g, v := c64(dx), c64(dy), c64(xy)
	switch op {
	case OpGeluErf:
		cpu.GeluErfBackward64(d, g, v)
	case OpGeluTanh:
		cpu.GeluTanhBackward64(d, g, v)
	case OpSilu:
		cpu.SiluBackward64(d, g, v)
	default:
		for i := range d {
			d[i] = unaryGradScalar(op, g[i], v[i])
		}
	}
}

// kernelBinary maps a tensor op to the kernels' op, when the kernels have it.
func kernelBinary(op BinaryOp) (cpu.BinaryOp, bool) {
	switch op {
	case OpAdd:
		return cpu.OpAdd, true
	case OpSub:
		return cpu.OpSub, true
	case OpMul:
		return cpu.OpMul, true
	case OpDiv:
		return cpu.OpDiv, true
	case OpMaximum:
		return cpu.OpMax, true
	case OpMinimum:
		return cpu.OpMin, true
	}
	return 0, false
}

// binaryScalar is the plain definition of each binary op.
func binaryScalar(op BinaryOp, a, b float64) float64 {
	switch op {
	case OpAdd:
		return a + b
	case OpSub:
		return a - b
	case OpMul:
		return a * b
	case OpDiv:
		return a / b
	case OpMaximum:
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		return math.Max(a, b)
	case OpMinimum:
		if math.IsNaN(a) || math.IsNaN(b) {
			return math.NaN()
		}
		return math.Min(a, b)
	case OpPow:
		return math.Pow(a, b)
	case OpGreater:
		return b2f(a > b)
	case OpLess:
		return b2f(a < b)
	case OpEqual:
		return b2f(a == b)
	}
	panic(fmt.Sprintf("tensor: unknown binary op %d", op))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (cpuBackend) Binary(op BinaryOp, dst, a, b *Tensor) {
	kop, ok := kernelBinary(op)
	if ok && dst.DType() == Float32 && a.DType() == Float32 && b.DType() == Float32 {
		cpu.BinaryBroadcast(kop, c32(dst), dst.shape, a.st.F32, a.offset, a.strides, b.st.F32, b.offset, b.strides)
		return
	}
	if ok && dst.DType() == Float64 && a.DType() == Float64 && b.DType() == Float64 {
		cpu.BinaryBroadcast64(kop, c64(dst), dst.shape, a.st.F64, a.offset, a.strides, b.st.F64, b.offset, b.strides)
		return
	}
	L := rowLen(dst.shape)
	as, bs := innerStride(a.strides), innerStride(b.strides)
	iterRows(dst.shape, []int{dst.offset, a.offset, b.offset}, [][]int{dst.strides, a.strides, b.strides}, func(o []int) {
		for i := 0; i < L; i++ {
			store(dst.st, o[0]+i, binaryScalar(op, load(a.st, o[1]+i*as), load(b.st, o[2]+i*bs)))
		}
	})
}

func (cpuBackend) BinaryScalar(op BinaryOp, dst, a *Tensor, s float64, scalarFirst bool) {
	kop, ok := kernelBinary(op)
	if ok && dst.DType() == Float32 {
		if scalarFirst {
			cpu.ScalarBinary(kop, c32(dst), float32(s), c32(a))
		} else {
			cpu.BinaryScalar(kop, c32(dst), c32(a), float32(s))
		}
		return
	}
	if ok && dst.DType() == Float64 {
		if scalarFirst {
			cpu.ScalarBinary64(kop, c64(dst), s, c64(a))
		} else {
			cpu.BinaryScalar64(kop, c64(dst), c64(a), s)
		}
		return
	}
	n := dst.Numel()
	for i := 0; i < n; i++ {
		v := load(a.st, a.offset+i)
		if scalarFirst {
			store(dst.st, dst.offset+i, binaryScalar(op, s, v))
		} else {
			store(dst.st, dst.offset+i, binaryScalar(op, v, s))
		}
	}
}

func (cpuBackend) Where(dst, cond, a, b *Tensor) {
	L := rowLen(dst.shape)
	cs, as, bs := innerStride(cond.strides), innerStride(a.strides), innerStride(b.strides)
	iterRows(dst.shape, []int{dst.offset, cond.offset, a.offset, b.offset}, [][]int{dst.strides, cond.strides, a.strides, b.strides}, func(o []int) {
		for i := 0; i < L; i++ {
			if load(cond.st, o[1]+i*cs) != 0 {
				store(dst.st, o[0]+i, load(a.st, o[2]+i*as))
			} else {
				store(dst.st, o[0]+i, load(b.st, o[3]+i*bs))
			}
		}
	})
}

// gemmOperand describes the last two axes (r×c, strides s1, s2) of a matmul
// operand as a row-major matrix with leading dimension ld, transposed or not.
func gemmOperand(r, c, s1, s2 int) (ld int, trans, ok bool) {
	switch {
	case s2 == 1 || c == 1:
		if r == 1 {
			return max(c, 1), false, true
		}
		if s1 >= c {
			return max(s1, 1), false, true // an empty operand (c = 0) has stride 0
		}
	}
	if s1 == 1 || r == 1 {
		if c == 1 {
			return max(r, 1), true, true
		}
		if s2 >= r {
			return max(s2, 1), true, true
		}
	}
	return 0, false, false
}

func (cpuBackend) Matmul(dst, a, b *Tensor, transA, transB bool, alpha, beta float64) {
	batch, m, n := dst.shape[0], dst.shape[1], dst.shape[2]
	k := a.shape[2]
	if transA {
		k = a.shape[1]
	}
	lda, ta, okA := gemmOperand(a.shape[1], a.shape[2], a.strides[1], a.strides[2])
	ldb, tb, okB := gemmOperand(b.shape[1], b.shape[2], b.strides[1], b.strides[2])
	if !okA || !okB {
		panic(fmt.Sprintf("tensor: Matmul operand layout not supported (a %v/%v, b %v/%v)", a.shape, a.strides, b.shape, b.strides))
	}
	if dst.DType() == Float32 {
		cpu.SgemmBatched(dst.st.F32[dst.offset:], n, m*n, transA != ta, transB != tb, m, n, k, float32(alpha),
			a.st.F32[a.offset:], lda, a.strides[0], b.st.F32[b.offset:], ldb, b.strides[0], float32(beta), batch)
		return
	}
	cpu.DgemmBatched(dst.st.F64[dst.offset:], n, m*n, transA != ta, transB != tb, m, n, k, alpha,
		a.st.F64[a.offset:], lda, a.strides[0], b.st.F64[b.offset:], ldb, b.strides[0], beta, batch)
}

func (cpuBackend) Reduce(op ReduceOp, dst, arg, x *Tensor, outer, n, inner int) {
	var argI []int32
	if arg != nil {
		argI = ci32(arg)
	}
	if dst.DType() == Float32 {
		d, v := c32(dst), c32(x)
		switch op {
		case ReduceSum:
			cpu.SumAxis(d, v, outer, n, inner)
		case ReduceMax:
			cpu.MaxAxis(d, argI, v, outer, n, inner)
		case ReduceSumSquares:
			cpu.SumSquaresAxis(d, v, outer, n, inner)
		}
		return
	}
	d, v := c64(dst), c64(x)
	switch op {
	case ReduceSum:
		cpu.SumAxis64(d, v, outer, n, inner)
	case ReduceMax:
		cpu.MaxAxis64(d, argI, v, outer, n, inner)
	case ReduceSumSquares:
		cpu.SumSquaresAxis64(d, v, outer, n, inner)
	}
}

func (cpuBackend) Softmax(dst, x *Tensor, log bool) {
	cols := rowLen(x.shape)
	rows := 0
	if cols > 0 {
		rows = x.Numel() / cols
	}
	switch {
	case dst.DType() == Float32 && log:
		cpu.LogSoftmaxRows(c32(dst), c32(x), rows, cols)
	case dst.DType() == Float32:
		cpu.SoftmaxRows(c32(dst), c32(x), rows, cols)
	case log:
		cpu.LogSoftmaxRows64(c64(dst), c64(x), rows, cols)
	default:
		cpu.SoftmaxRows64(c64(dst), c64(x), rows, cols)
	}
}

func (cpuBackend) SoftmaxBackward(dx, dy, y *Tensor, log bool) {
	cols := rowLen(y.shape)
	rows := 0
	if cols > 0 {
		rows = y.Numel() / cols
	}
	switch {
	case dx.DType() == Float32 && log:
		cpu.LogSoftmaxBackwardRows(c32(dx), c32(dy), c32(y), rows, cols)
	case dx.DType() == Float32:
		cpu.SoftmaxBackwardRows(c32(dx), c32(dy), c32(y), rows, cols)
	case log:
		cpu.LogSoftmaxBackwardRows64(c64(dx), c64(dy), c64(y), rows, cols)
	default:
		cpu.SoftmaxBackwardRows64(c64(dx), c64(dy), c64(y), rows, cols)
	}
}

func rowsCols(x *Tensor) (int, int) {
	cols := rowLen(x.shape)
	if cols == 0 {
		return 0, 0
	}
	return x.Numel() / cols, cols
}

func (cpuBackend) LayerNorm(dst, mean, rstd, x, gamma, beta *Tensor, eps float64) {
	rows, cols := rowsCols(x)
	if dst.DType() == Float32 {
		cpu.LayerNormRows(c32(dst), c32(mean), c32(rstd), c32(x), c32(gamma), c32(beta), rows, cols, float32(eps))
		return
	}
	cpu.LayerNormRows64(c64(dst), c64(mean), c64(rstd), c64(x), c64(gamma), c64(beta), rows, cols, eps)
}

func (cpuBackend) LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *Tensor) {
	rows, cols := rowsCols(x)
	if dx.DType() == Float32 {
		cpu.LayerNormBackwardRows(c32(dx), c32(dgamma), c32(dbeta), c32(dy), c32(x), c32(mean), c32(rstd), c32(gamma), rows, cols)
		return
	}
	cpu.LayerNormBackwardRows64(c64(dx), c64(dgamma), c64(dbeta), c64(dy), c64(x), c64(mean), c64(rstd), c64(gamma), rows, cols)
}

func (cpuBackend) RMSNorm(dst, rstd, x, gamma *Tensor, eps float64) {
	rows, cols := rowsCols(x)
	if dst.DType() == Float32 {
		cpu.RMSNormRows(c32(dst), c32(rstd), c32(x), c32(gamma), rows, cols, float32(eps))
		return
	}
	cpu.RMSNormRows64(c64(dst), c64(rstd), c64(x), c64(gamma), rows, cols, eps)
}

func (cpuBackend) RMSNormBackward(dx, dgamma, dy, x, rstd, gamma *Tensor) {
	rows, cols := rowsCols(x)
	if dx.DType() == Float32 {
		cpu.RMSNormBackwardRows(c32(dx), c32(dgamma), c32(dy), c32(x), c32(rstd), c32(gamma), rows, cols)
		return
	}
	cpu.RMSNormBackwardRows64(c64(dx), c64(dgamma), c64(dy), c64(x), c64(rstd), c64(gamma), rows, cols)
}

func (cpuBackend) IndexRows(dst, x, ids *Tensor, outer, n, inner int) error {
	idv := ci32(ids)
	for i, id := range idv {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("index %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	k := len(idv)
	if outer == 1 && dst.DType() == Float32 {
		return cpu.EmbeddingGather(c32(dst), c32(x), idv, inner)
	}
	for o := 0; o < outer; o++ {
		for i, id := range idv {
			d := dst.offset + (o*k+i)*inner
			s := x.offset + (o*n+int(id))*inner
			copyRange(dst.st, d, x.st, s, inner)
		}
	}
	return nil
}

// copyRange copies n elements between same-dtype storages.
func copyRange(dst *Storage, d int, src *Storage, s, n int) {
	switch dst.DType {
	case Float32:
		copy(dst.F32[d:d+n], src.F32[s:s+n])
	case Float64:
		copy(dst.F64[d:d+n], src.F64[s:s+n])
	case Int32:
		copy(dst.I32[d:d+n], src.I32[s:s+n])
	default:
		copy(dst.U16[d:d+n], src.U16[s:s+n])
	}
}

func (cpuBackend) IndexAddRows(dst, src, ids *Tensor, outer, n, inner int) error {
	idv := ci32(ids)
	for i, id := range idv {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("index %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	k := len(idv)
	if outer == 1 && dst.DType() == Float32 {
		return cpu.EmbeddingScatterAdd(c32(dst), c32(src), idv, inner)
	}
	for o := 0; o < outer; o++ {
		for i, id := range idv {
			d := dst.offset + (o*n+int(id))*inner
			s := src.offset + (o*k+i)*inner
			if dst.DType() == Float32 {
				cpu.Axpy(dst.st.F32[d:d+inner], 1, src.st.F32[s:s+inner])
			} else {
				cpu.Axpy64(dst.st.F64[d:d+inner], 1, src.st.F64[s:s+inner])
			}
		}
	}
	return nil
}

func (cpuBackend) GatherLast(dst, x, idx *Tensor) error {
	rows, n := rowsCols(x)
	k := rowLen(idx.shape)
	iv := ci32(idx)
	for i, id := range iv {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("index %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	for r := 0; r < rows; r++ {
		for j := 0; j < k; j++ {
			store(dst.st, dst.offset+r*k+j, load(x.st, x.offset+r*n+int(iv[r*k+j])))
		}
	}
	return nil
}

func (cpuBackend) ScatterAddLast(dst, src, idx *Tensor) error {
	rows, n := rowsCols(dst)
	k := rowLen(idx.shape)
	iv := ci32(idx)
	for i, id := range iv {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("index %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	for r := 0; r < rows; r++ {
		for j := 0; j < k; j++ {
			p := dst.offset + r*n + int(iv[r*k+j])
			store(dst.st, p, load(dst.st, p)+load(src.st, src.offset+r*k+j))
		}
	}
	return nil
}

func (cpuBackend) AdamW(param, grad, m, v *Tensor, p AdamWParams) {
	if param.DType() == Float32 {
		scale := float32(1)
		if p.scaled() {
			scale = float32(p.GradScale)
		}
		cpu.AdamWScaled(c32(param), c32(grad), c32(m), c32(v), scale, float32(p.LR), float32(p.Beta1), float32(p.Beta2), float32(p.Eps), float32(p.WeightDecay), p.Step)
		return
	}
	g := c64(grad)
	if p.scaled() {
		scaled := make([]float64, len(g))
		cpu.Scale64(scaled, g, p.GradScale)
		g = scaled
	}
	cpu.AdamW64(c64(param), g, c64(m), c64(v), p.LR, p.Beta1, p.Beta2, p.Eps, p.WeightDecay, p.Step)
}
