package cpu

// Elementwise arithmetic over contiguous slices: dst = a op b (Binary),
// dst = a op s (BinaryScalar), dst = s op b (ScalarBinary), strided and
// broadcast operands (BinaryBroadcast), Scale, Axpy and Fill, with float64
// twins (suffix 64).
//
// Variants: AVX-512 and AVX2 kernels in elementwise_amd64.s (written by
// math_asmgen.go, unrolled by four vectors, masked tails) and plain-Go
// loops (elem*Generic, shared with the float64 twins through generics).
// Every tier gives bit-identical results: the assembly uses the same single
// IEEE operations as the Go code (no fused multiply-add in Axpy). Long
// slices are split over the worker pool (elemGrain elements per chunk at
// least).
//
// Benchmarks: go test -run '^$' -bench 'Binary|Copy' ./kernels/cpu/

import (
	"fmt"
	"strconv"
)

// BinaryOp selects the operation of Binary, BinaryScalar, ScalarBinary and
// BinaryBroadcast.
type BinaryOp int

// The binary operations. OpMax and OpMin propagate NaN (the result is NaN
// when either operand is NaN, like torch.maximum/torch.minimum); when the
// operands compare equal (+0 and -0 included) they return the second one.
const (
	OpAdd BinaryOp = iota // a + b
	OpSub                 // a - b
	OpMul                 // a * b
	OpDiv                 // a / b
	OpMax                 // max(a, b)
	OpMin                 // min(a, b)
	elemNumOps
)

// String returns the operation's name ("add", "sub", ...).
func (op BinaryOp) String() string {
	switch op {
	case OpAdd:
		return "add"
	case OpSub:
		return "sub"
	case OpMul:
		return "mul"
	case OpDiv:
		return "div"
	case OpMax:
		return "max"
	case OpMin:
		return "min"
	}
	return "BinaryOp(" + strconv.Itoa(int(op)) + ")"
}

func elemCheckOp(fn string, op BinaryOp) {
	if op < 0 || op >= elemNumOps {
		panic(fmt.Sprintf("cpu.%s: unknown operation %v", fn, op))
	}
}

// elemGrain is the number of elements below which elementwise kernels run
// on the calling goroutine; longer slices are split over the pool in
// chunks of at least this many.
const elemGrain = 16384

// elemParallel runs fn over [0, n) in chunks that start at multiples of 16
// elements, spread over the worker pool.
func elemParallel(n int, fn func(lo, hi int)) {
	nb := (n + 15) / 16
	Parallel(nb, elemGrain/16, func(lo, hi int) { fn(lo*16, min(hi*16, n)) })
}

// elemCheck2 panics unless dst and x have the same length.
func elemCheck2[T float32 | float64](fn string, dst, x []T) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("cpu.%s: len(dst)=%d != len(x)=%d", fn, len(dst), len(x)))
	}
}

// elemCheck3 panics unless the three slices have the same length.
func elemCheck3[T float32 | float64](fn string, dst, a, b []T, an, bn string) {
	if len(a) != len(dst) || len(b) != len(dst) {
		panic(fmt.Sprintf("cpu.%s: lengths differ: len(dst)=%d len(%s)=%d len(%s)=%d", fn, len(dst), an, len(a), bn, len(b)))
	}
}

// elemUnaryKern is a tier's kernel for dst = f(x): assembly when asm is set,
// else the plain-Go gen.
type elemUnaryKern struct {
	asm func(dst, x *float32, n int)
	gen func(dst, x []float32)
}

func (k elemUnaryKern) run(dst, x []float32) {
	if len(x) == 0 {
		return
	}
	if k.asm != nil {
		k.asm(&dst[0], &x[0], len(x))
		return
	}
	k.gen(dst, x)
}

// elemPickUnary returns the kernel for the current tier.
func elemPickUnary(avx512, avx2 func(dst, x *float32, n int), gen func(dst, x []float32)) elemUnaryKern {
	switch Current() {
	case AVX512:
		return elemUnaryKern{asm: avx512}
	case AVX2:
		return elemUnaryKern{asm: avx2}
	default:
		return elemUnaryKern{gen: gen}
	}
}

// elemMapUnary runs k over x, in parallel when x is long.
func elemMapUnary(k elemUnaryKern, dst, x []float32) {
	n := len(x)
	if n <= elemGrain {
		k.run(dst, x)
		return
	}
	elemParallel(n, func(lo, hi int) { k.run(dst[lo:hi], x[lo:hi]) })
}

// elemMap64 runs f over x, in parallel when x is long.
func elemMap64(dst, x []float64, f func(float64) float64) {
	run := func(lo, hi int) {
		d, s := dst[lo:hi], x[lo:hi]
		for i, v := range s {
			d[i] = f(v)
		}
	}
	if len(x) <= elemGrain {
		run(0, len(x))
		return
	}
	elemParallel(len(x), run)
}

// The assembly kernels, indexed by BinaryOp.
var (
	elemVV512 = [elemNumOps]func(dst, a, b *float32, n int){elemAddAVX512, elemSubAVX512, elemMulAVX512, elemDivAVX512, elemMaxAVX512, elemMinAVX512}
	elemVV2   = [elemNumOps]func(dst, a, b *float32, n int){elemAddAVX2, elemSubAVX2, elemMulAVX2, elemDivAVX2, elemMaxAVX2, elemMinAVX2}
	elemVS512 = [elemNumOps]func(dst, a *float32, s float32, n int){elemAddScalarAVX512, elemSubScalarAVX512, elemMulScalarAVX512, elemDivScalarAVX512, elemMaxScalarAVX512, elemMinScalarAVX512}
	elemVS2   = [elemNumOps]func(dst, a *float32, s float32, n int){elemAddScalarAVX2, elemSubScalarAVX2, elemMulScalarAVX2, elemDivScalarAVX2, elemMaxScalarAVX2, elemMinScalarAVX2}
	elemSV512 = [elemNumOps]func(dst, b *float32, s float32, n int){elemScalarAddAVX512, elemScalarSubAVX512, elemScalarMulAVX512, elemScalarDivAVX512, elemScalarMaxAVX512, elemScalarMinAVX512}
	elemSV2   = [elemNumOps]func(dst, b *float32, s float32, n int){elemScalarAddAVX2, elemScalarSubAVX2, elemScalarMulAVX2, elemScalarDivAVX2, elemScalarMaxAVX2, elemScalarMinAVX2}
)

// elemBinaryKern is a tier's kernel for dst = f(a, b) element-wise: assembly
// when asm is set, else gen, or genOp with op.
type elemBinaryKern struct {
	asm   func(dst, a, b *float32, n int)
	gen   func(dst, a, b []float32)
	genOp func(op BinaryOp, dst, a, b []float32)
	op    BinaryOp
}

func (k elemBinaryKern) run(dst, a, b []float32) {
	if len(dst) == 0 {
		return
	}
	switch {
	case k.asm != nil:
		k.asm(&dst[0], &a[0], &b[0], len(dst))
	case k.genOp != nil:
		k.genOp(k.op, dst, a, b)
	default:
		k.gen(dst, a, b)
	}
}

// elemPickBinary returns the kernel for the current tier.
func elemPickBinary(avx512, avx2 func(dst, a, b *float32, n int), gen func(dst, a, b []float32)) elemBinaryKern {
	switch Current() {
	case AVX512:
		return elemBinaryKern{asm: avx512}
	case AVX2:
		return elemBinaryKern{asm: avx2}
	default:
		return elemBinaryKern{gen: gen}
	}
}

func elemPickBinaryOp(op BinaryOp) elemBinaryKern {
	switch Current() {
	case AVX512:
		return elemBinaryKern{asm: elemVV512[op]}
	case AVX2:
		return elemBinaryKern{asm: elemVV2[op]}
	default:
		return elemBinaryKern{genOp: elemBinaryGeneric[float32], op: op}
	}
}

// elemMapBinary runs k over the slices, in parallel when they are long.
func elemMapBinary(k elemBinaryKern, dst, a, b []float32) {
	n := len(dst)
	if n <= elemGrain {
		k.run(dst, a, b)
		return
	}
	elemParallel(n, func(lo, hi int) { k.run(dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

// elemScalarKern is a tier's kernel for dst = x op s (or s op x when rev).
type elemScalarKern struct {
	asm func(dst, x *float32, s float32, n int)
	op  BinaryOp
	rev bool
}

func (k elemScalarKern) run(dst, x []float32, s float32) {
	if len(dst) == 0 {
		return
	}
	if k.asm != nil {
		k.asm(&dst[0], &x[0], s, len(dst))
		return
	}
	if k.rev {
		elemScalarBinaryGeneric(k.op, dst, s, x)
	} else {
		elemBinaryScalarGeneric(k.op, dst, x, s)
	}
}

func elemPickScalar(op BinaryOp, rev bool) elemScalarKern {
	switch Current() {
	case AVX512:
		if rev {
			return elemScalarKern{asm: elemSV512[op]}
		}
		return elemScalarKern{asm: elemVS512[op]}
	case AVX2:
		if rev {
			return elemScalarKern{asm: elemSV2[op]}
		}
		return elemScalarKern{asm: elemVS2[op]}
	default:
		return elemScalarKern{op: op, rev: rev}
	}
}

func elemMapScalar(k elemScalarKern, dst, x []float32, s float32) {
	n := len(dst)
	if n <= elemGrain {
		k.run(dst, x, s)
		return
	}
	elemParallel(n, func(lo, hi int) { k.run(dst[lo:hi], x[lo:hi], s) })
}

// Binary sets dst[i] = a[i] op b[i]. All three slices have the same
// length; dst may alias a or b.
func Binary(op BinaryOp, dst, a, b []float32) {
	elemCheckOp("Binary", op)
	elemCheck3("Binary", dst, a, b, "a", "b")
	elemMapBinary(elemPickBinaryOp(op), dst, a, b)
}

// BinaryScalar sets dst[i] = a[i] op s. dst may alias a.
func BinaryScalar(op BinaryOp, dst, a []float32, s float32) {
	elemCheckOp("BinaryScalar", op)
	elemCheck2("BinaryScalar", dst, a)
	elemMapScalar(elemPickScalar(op, false), dst, a, s)
}

// ScalarBinary sets dst[i] = s op b[i]. dst may alias b.
func ScalarBinary(op BinaryOp, dst []float32, s float32, b []float32) {
	elemCheckOp("ScalarBinary", op)
	elemCheck2("ScalarBinary", dst, b)
	elemMapScalar(elemPickScalar(op, true), dst, b, s)
}

// Scale sets dst[i] = alpha * x[i]. dst may alias x.
func Scale(dst, x []float32, alpha float32) {
	elemCheck2("Scale", dst, x)
	elemMapScalar(elemPickScalar(OpMul, false), dst, x, alpha)
}

// Axpy sets y[i] += alpha * x[i] (a rounded product, then a rounded sum:
// no fused multiply-add, on every tier).
func Axpy(y []float32, alpha float32, x []float32) {
	if len(y) != len(x) {
		panic(fmt.Sprintf("cpu.Axpy: len(y)=%d != len(x)=%d", len(y), len(x)))
	}
	var k elemScalarKern
	switch Current() {
	case AVX512:
		k.asm = elemAxpyAVX512
	case AVX2:
		k.asm = elemAxpyAVX2
	}
	run := func(y, x []float32) {
		if len(y) == 0 {
			return
		}
		if k.asm != nil {
			k.asm(&y[0], &x[0], alpha, len(y))
			return
		}
		elemAxpyGeneric(y, alpha, x)
	}
	if len(y) <= elemGrain {
		run(y, x)
		return
	}
	elemParallel(len(y), func(lo, hi int) { run(y[lo:hi], x[lo:hi]) })
}

// Fill sets every element of dst to v.
func Fill(dst []float32, v float32) {
	var fill func(dst *float32, v float32, n int)
	switch Current() {
	case AVX512:
		fill = elemFillAVX512
	case AVX2:
		fill = elemFillAVX2
	}
	run := func(d []float32) {
		if len(d) == 0 {
			return
		}
		if fill != nil {
			fill(&d[0], v, len(d))
			return
		}
		elemFillGeneric(d, v)
	}
	if len(dst) <= elemGrain {
		run(dst)
		return
	}
	elemParallel(len(dst), func(lo, hi int) { run(dst[lo:hi]) })
}

// Binary64 is the float64 twin of Binary.
func Binary64(op BinaryOp, dst, a, b []float64) {
	elemCheckOp("Binary64", op)
	elemCheck3("Binary64", dst, a, b, "a", "b")
	elemRun(len(dst), func(lo, hi int) { elemBinaryGeneric(op, dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

// BinaryScalar64 is the float64 twin of BinaryScalar.
func BinaryScalar64(op BinaryOp, dst, a []float64, s float64) {
	elemCheckOp("BinaryScalar64", op)
	elemCheck2("BinaryScalar64", dst, a)
	elemRun(len(dst), func(lo, hi int) { elemBinaryScalarGeneric(op, dst[lo:hi], a[lo:hi], s) })
}

// ScalarBinary64 is the float64 twin of ScalarBinary.
func ScalarBinary64(op BinaryOp, dst []float64, s float64, b []float64) {
	elemCheckOp("ScalarBinary64", op)
	elemCheck2("ScalarBinary64", dst, b)
	elemRun(len(dst), func(lo, hi int) { elemScalarBinaryGeneric(op, dst[lo:hi], s, b[lo:hi]) })
}

// Scale64 is the float64 twin of Scale.
func Scale64(dst, x []float64, alpha float64) {
	elemCheck2("Scale64", dst, x)
	elemRun(len(dst), func(lo, hi int) { elemBinaryScalarGeneric(OpMul, dst[lo:hi], x[lo:hi], alpha) })
}

// Axpy64 is the float64 twin of Axpy.
func Axpy64(y []float64, alpha float64, x []float64) {
	if len(y) != len(x) {
		panic(fmt.Sprintf("cpu.Axpy64: len(y)=%d != len(x)=%d", len(y), len(x)))
	}
	elemRun(len(y), func(lo, hi int) { elemAxpyGeneric(y[lo:hi], alpha, x[lo:hi]) })
}

// Fill64 is the float64 twin of Fill.
func Fill64(dst []float64, v float64) {
	elemRun(len(dst), func(lo, hi int) { elemFillGeneric(dst[lo:hi], v) })
}

// elemRun runs fn over [0, n), in parallel when n is large.
func elemRun(n int, fn func(lo, hi int)) {
	if n <= elemGrain {
		fn(0, n)
		return
	}
	elemParallel(n, fn)
}

// ---------------------------------------------------------------------------
// Plain-Go kernels (the Generic tier and the float64 twins).

func elemMax[T float32 | float64](a, b T) T {
	if a != a || b != b {
		return a + b
	}
	if a > b {
		return a
	}
	return b
}

func elemMin[T float32 | float64](a, b T) T {
	if a != a || b != b {
		return a + b
	}
	if a < b {
		return a
	}
	return b
}

// elemApply returns a op b.
func elemApply[T float32 | float64](op BinaryOp, a, b T) T {
	switch op {
	case OpAdd:
		return a + b
	case OpSub:
		return a - b
	case OpMul:
		return a * b
	case OpDiv:
		return a / b
	case OpMax:
		return elemMax(a, b)
	default:
		return elemMin(a, b)
	}
}

func elemBinaryGeneric[T float32 | float64](op BinaryOp, dst, a, b []T) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case OpAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case OpSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case OpMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	case OpDiv:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	case OpMax:
		for i := range dst {
			dst[i] = elemMax(a[i], b[i])
		}
	default:
		for i := range dst {
			dst[i] = elemMin(a[i], b[i])
		}
	}
}

func elemBinaryScalarGeneric[T float32 | float64](op BinaryOp, dst, a []T, s T) {
	a = a[:len(dst)]
	switch op {
	case OpAdd:
		for i := range dst {
			dst[i] = a[i] + s
		}
	case OpSub:
		for i := range dst {
			dst[i] = a[i] - s
		}
	case OpMul:
		for i := range dst {
			dst[i] = a[i] * s
		}
	case OpDiv:
		for i := range dst {
			dst[i] = a[i] / s
		}
	case OpMax:
		for i := range dst {
			dst[i] = elemMax(a[i], s)
		}
	default:
		for i := range dst {
			dst[i] = elemMin(a[i], s)
		}
	}
}

func elemScalarBinaryGeneric[T float32 | float64](op BinaryOp, dst []T, s T, b []T) {
	b = b[:len(dst)]
	switch op {
	case OpAdd:
		for i := range dst {
			dst[i] = s + b[i]
		}
	case OpSub:
		for i := range dst {
			dst[i] = s - b[i]
		}
	case OpMul:
		for i := range dst {
			dst[i] = s * b[i]
		}
	case OpDiv:
		for i := range dst {
			dst[i] = s / b[i]
		}
	case OpMax:
		for i := range dst {
			dst[i] = elemMax(s, b[i])
		}
	default:
		for i := range dst {
			dst[i] = elemMin(s, b[i])
		}
	}
}

func elemAxpyGeneric[T float32 | float64](y []T, alpha T, x []T) {
	x = x[:len(y)]
	for i := range y {
		y[i] += T(alpha * x[i]) // the conversion forbids fusing into an FMA
	}
}

func elemFillGeneric[T float32 | float64](dst []T, v T) {
	for i := range dst {
		dst[i] = v
	}
}

// ---------------------------------------------------------------------------
// Broadcasting.

// BinaryBroadcast sets dst = a op b over an N-dimensional index space:
// dst is contiguous row-major with the given shape, and the operand element
// at index (i0, ..., ir) is a[aOff + sum(i_d*aStrides[d])] (likewise b). A
// stride of 0 broadcasts that dimension; strides and offsets must be
// non-negative and every index reached must lie inside a and b. dst must
// not overlap a or b unless it is the same contiguous view.
//
// Dimensions of size 1 are dropped and dimensions that are contiguous in
// both operands merged; rows along the innermost remaining dimension run
// through Binary's kernels (both inner strides 1) or the scalar kernels (one
// inner stride 0), and rows are split over the worker pool when dst is
// large.
func BinaryBroadcast(op BinaryOp, dst []float32, shape []int, a []float32, aOff int, aStrides []int, b []float32, bOff int, bStrides []int) {
	elemCheckOp("BinaryBroadcast", op)
	vv, vs, sv := elemPickBinaryOp(op), elemPickScalar(op, false), elemPickScalar(op, true)
	elemBroadcast("BinaryBroadcast", op, dst, shape, a, aOff, aStrides, b, bOff, bStrides, elemRowOps[float32]{
		vv: vv.run, vs: vs.run, sv: func(d []float32, s float32, b []float32) { sv.run(d, b, s) },
	})
}

// BinaryBroadcast64 is the float64 twin of BinaryBroadcast.
func BinaryBroadcast64(op BinaryOp, dst []float64, shape []int, a []float64, aOff int, aStrides []int, b []float64, bOff int, bStrides []int) {
	elemCheckOp("BinaryBroadcast64", op)
	elemBroadcast("BinaryBroadcast64", op, dst, shape, a, aOff, aStrides, b, bOff, bStrides, elemRowOps[float64]{
		vv: func(d, a, b []float64) { elemBinaryGeneric(op, d, a, b) },
		vs: func(d, a []float64, s float64) { elemBinaryScalarGeneric(op, d, a, s) },
		sv: func(d []float64, s float64, b []float64) { elemScalarBinaryGeneric(op, d, s, b) },
	})
}

// elemRowOps are the row kernels BinaryBroadcast uses.
type elemRowOps[T float32 | float64] struct {
	vv func(dst, a, b []T)       // a op b
	vs func(dst, a []T, s T)     // a op s
	sv func(dst []T, s T, b []T) // s op b
}

// elemDim is one dimension of a broadcast: its size and the two strides.
type elemDim struct{ n, sa, sb int }

func elemBroadcast[T float32 | float64](fn string, op BinaryOp, dst []T, shape []int, a []T, aOff int, aStrides []int, b []T, bOff int, bStrides []int, ops elemRowOps[T]) {
	if len(aStrides) != len(shape) || len(bStrides) != len(shape) {
		panic(fmt.Sprintf("cpu.%s: len(shape)=%d, len(aStrides)=%d, len(bStrides)=%d", fn, len(shape), len(aStrides), len(bStrides)))
	}
	if aOff < 0 || bOff < 0 {
		panic(fmt.Sprintf("cpu.%s: negative offset (aOff=%d, bOff=%d)", fn, aOff, bOff))
	}
	total := 1
	aMax, bMax := aOff, bOff
	var buf [8]elemDim
	dims := buf[:0]
	for d, n := range shape {
		sa, sb := aStrides[d], bStrides[d]
		if n < 0 || sa < 0 || sb < 0 {
			panic(fmt.Sprintf("cpu.%s: negative size or stride in dimension %d (shape %v, aStrides %v, bStrides %v)", fn, d, shape, aStrides, bStrides))
		}
		total *= n
		if n > 1 {
			aMax += (n - 1) * sa
			bMax += (n - 1) * sb
			dims = append(dims, elemDim{n, sa, sb})
		}
	}
	if len(dst) != total {
		panic(fmt.Sprintf("cpu.%s: len(dst)=%d, shape %v has %d elements", fn, len(dst), shape, total))
	}
	if total == 0 {
		return
	}
	if aMax >= len(a) || bMax >= len(b) {
		panic(fmt.Sprintf("cpu.%s: operand out of range: a reaches index %d (len %d), b reaches index %d (len %d); shape %v", fn, aMax, len(a), bMax, len(b), shape))
	}
	dims = elemCoalesce(dims)
	if len(dims) == 0 {
		dst[0] = elemApply(op, a[aOff], b[bOff])
		return
	}
	inner := dims[len(dims)-1]
	outer := dims[:len(dims)-1]
	rows := total / inner.n
	runRows := func(lo, hi int) {
		// Decompose lo into the outer index, then step like an odometer.
		var ibuf [8]int
		idx := ibuf[:0]
		if len(outer) > len(ibuf) {
			idx = make([]int, 0, len(outer))
		}
		idx = idx[:len(outer)]
		ao, bo := aOff, bOff
		r := lo
		for d := len(outer) - 1; d >= 0; d-- {
			idx[d] = r % outer[d].n
			r /= outer[d].n
			ao += idx[d] * outer[d].sa
			bo += idx[d] * outer[d].sb
		}
		n := inner.n
		for row := lo; row < hi; row++ {
			out := dst[row*n : row*n+n]
			switch {
			case inner.sa == 1 && inner.sb == 1:
				ops.vv(out, a[ao:ao+n], b[bo:bo+n])
			case inner.sa == 1 && inner.sb == 0:
				ops.vs(out, a[ao:ao+n], b[bo])
			case inner.sa == 0 && inner.sb == 1:
				ops.sv(out, a[ao], b[bo:bo+n])
			default:
				ia, ib := ao, bo
				for i := range out {
					out[i] = elemApply(op, a[ia], b[ib])
					ia += inner.sa
					ib += inner.sb
				}
			}
			for d := len(outer) - 1; d >= 0; d-- {
				idx[d]++
				ao += outer[d].sa
				bo += outer[d].sb
				if idx[d] < outer[d].n {
					break
				}
				ao -= outer[d].n * outer[d].sa
				bo -= outer[d].n * outer[d].sb
				idx[d] = 0
			}
		}
	}
	if total <= 2*elemGrain || rows == 1 {
		runRows(0, rows)
		return
	}
	Parallel(rows, max(1, elemGrain/inner.n), runRows)
}

// elemCoalesce merges each dimension into the next inner one when both
// operands (and the contiguous output) step through the pair as through one
// dimension.
func elemCoalesce(dims []elemDim) []elemDim {
	out := dims[:0]
	for _, d := range dims {
		out = append(out, d)
		for len(out) >= 2 {
			o, in := out[len(out)-2], out[len(out)-1]
			if o.sa != in.sa*in.n || o.sb != in.sb*in.n {
				break
			}
			out = out[:len(out)-2]
			out = append(out, elemDim{o.n * in.n, in.sa, in.sb})
		}
	}
	return out
}
