package cpu

// Softmax over the last axis of a rows×cols row-major matrix, forward and
// backward, plain and log, with float64 twins (suffix 64):
//
//	SoftmaxRows             y = exp(x - max) / sum(exp(x - max))
//	LogSoftmaxRows          y = (x - max) - log(sum(exp(x - max)))
//	SoftmaxBackwardRows     dx = y * (dy - sum(dy*y))      (y: softmax output)
//	LogSoftmaxBackwardRows  dx = dy - exp(y) * sum(dy)     (y: log-softmax output)
//
// in PyTorch's CPU order of operations (the softmax multiplies by 1/sum).
// A row holding NaN or +Inf, or only -Inf, gives a row of NaN, as in
// PyTorch. Outputs may alias inputs.
//
// Variants: AVX-512 and AVX2 row kernels in softmax_amd64.s (written by
// math_asmgen.go): a max pass, a fused exp(x - max)-and-sum pass that stores
// the exponentials, and a scale pass, which stay in cache for a row; and
// their plain-Go twins below. Rows are split over the worker pool when
// rows*cols is large.
//
// Benchmarks: go test -run '^$' -bench 'Softmax' ./kernels/cpu/

import (
	"fmt"
	"math"
)

func softmaxCheck[T float32 | float64](fn string, rows, cols int, bufs ...[]T) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("cpu.%s: negative size rows=%d cols=%d", fn, rows, cols))
	}
	for i, b := range bufs {
		if len(b) != rows*cols {
			panic(fmt.Sprintf("cpu.%s: slice %d has length %d, want rows*cols = %d*%d = %d", fn, i, len(b), rows, cols, rows*cols))
		}
	}
}

// softmaxRun calls row(r) for each row, over the pool when the matrix is
// large.
func softmaxRun(rows, cols int, row func(lo, hi int)) {
	if rows <= 1 || rows*cols <= elemGrain {
		row(0, rows)
		return
	}
	Parallel(rows, max(1, elemGrain/max(cols, 1)), row)
}

// SoftmaxRows sets each row of dst to the softmax of the same row of x.
func SoftmaxRows(dst, x []float32, rows, cols int) {
	softmaxCheck("SoftmaxRows", rows, cols, dst, x)
	k := softmaxKern{Current()}
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols]
			if cols == 0 {
				continue
			}
			m := k.max(s)
			sum := k.expShiftSum(d, s, m)
			k.scale(d, 1/sum)
		}
	})
}

// LogSoftmaxRows sets each row of dst to the log-softmax of the same row of
// x.
func LogSoftmaxRows(dst, x []float32, rows, cols int) {
	softmaxCheck("LogSoftmaxRows", rows, cols, dst, x)
	k := softmaxKern{Current()}
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols]
			if cols == 0 {
				continue
			}
			m := k.max(s)
			ls := float32(math.Log(float64(k.expSum(s, m))))
			k.logOut(d, s, m, ls)
		}
	})
}

// SoftmaxBackwardRows sets dx = y*(dy - sum(dy*y)) row by row, where y is
// the output of SoftmaxRows and dy the gradient of the loss with respect
// to it.
func SoftmaxBackwardRows(dx, dy, y []float32, rows, cols int) {
	softmaxCheck("SoftmaxBackwardRows", rows, cols, dx, dy, y)
	k := softmaxKern{Current()}
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, g, o := dx[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			if cols == 0 {
				continue
			}
			k.bwd(d, g, o, k.dot(g, o))
		}
	})
}

// LogSoftmaxBackwardRows sets dx = dy - exp(y)*sum(dy) row by row, where y
// is the output of LogSoftmaxRows.
func LogSoftmaxBackwardRows(dx, dy, y []float32, rows, cols int) {
	softmaxCheck("LogSoftmaxBackwardRows", rows, cols, dx, dy, y)
	k := softmaxKern{Current()}
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, g, o := dx[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			if cols == 0 {
				continue
			}
			k.logBwd(d, g, o, k.sum(g))
		}
	})
}

// SoftmaxRows64 is the float64 twin of SoftmaxRows.
func SoftmaxRows64(dst, x []float64, rows, cols int) {
	softmaxCheck("SoftmaxRows64", rows, cols, dst, x)
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols]
			m := softmaxMaxGeneric(s)
			var sum float64
			for i, v := range s {
				d[i] = math.Exp(v - m)
				sum += d[i]
			}
			inv := 1 / sum
			for i := range d {
				d[i] *= inv
			}
		}
	})
}

// LogSoftmaxRows64 is the float64 twin of LogSoftmaxRows.
func LogSoftmaxRows64(dst, x []float64, rows, cols int) {
	softmaxCheck("LogSoftmaxRows64", rows, cols, dst, x)
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols]
			m := softmaxMaxGeneric(s)
			var sum float64
			for _, v := range s {
				sum += math.Exp(v - m)
			}
			softmaxLogOutGeneric(d, s, m, math.Log(sum))
		}
	})
}

// SoftmaxBackwardRows64 is the float64 twin of SoftmaxBackwardRows.
func SoftmaxBackwardRows64(dx, dy, y []float64, rows, cols int) {
	softmaxCheck("SoftmaxBackwardRows64", rows, cols, dx, dy, y)
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, g, o := dx[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			softmaxBwdGeneric(d, g, o, softmaxDotGeneric(g, o))
		}
	})
}

// LogSoftmaxBackwardRows64 is the float64 twin of LogSoftmaxBackwardRows.
func LogSoftmaxBackwardRows64(dx, dy, y []float64, rows, cols int) {
	softmaxCheck("LogSoftmaxBackwardRows64", rows, cols, dx, dy, y)
	softmaxRun(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, g, o := dx[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			s := softmaxSumGeneric(g)
			for i := range d {
				d[i] = g[i] - math.Exp(o[i])*s
			}
		}
	})
}

// softmaxKern holds the row kernels of one tier; every method takes a
// non-empty row.
type softmaxKern struct{ tier Tier }

func (k softmaxKern) max(x []float32) float32 {
	switch k.tier {
	case AVX512:
		return softmaxMaxAVX512(&x[0], len(x))
	case AVX2:
		return softmaxMaxAVX2(&x[0], len(x))
	}
	return softmaxMaxGeneric(x)
}

// expShiftSum sets dst = exp(x - shift) and returns its sum.
func (k softmaxKern) expShiftSum(dst, x []float32, shift float32) float32 {
	switch k.tier {
	case AVX512:
		return softmaxExpShiftSumAVX512(&dst[0], &x[0], shift, len(x))
	case AVX2:
		return softmaxExpShiftSumAVX2(&dst[0], &x[0], shift, len(x))
	}
	return softmaxExpShiftSumGeneric(dst, x, shift)
}

// expSum returns the sum of exp(x - shift).
func (k softmaxKern) expSum(x []float32, shift float32) float32 {
	switch k.tier {
	case AVX512:
		return softmaxExpSumAVX512(&x[0], shift, len(x))
	case AVX2:
		return softmaxExpSumAVX2(&x[0], shift, len(x))
	}
	return softmaxExpSumGeneric(x, shift)
}

func (k softmaxKern) scale(dst []float32, s float32) {
	switch k.tier {
	case AVX512:
		elemMulScalarAVX512(&dst[0], &dst[0], s, len(dst))
	case AVX2:
		elemMulScalarAVX2(&dst[0], &dst[0], s, len(dst))
	default:
		elemBinaryScalarGeneric(OpMul, dst, dst, s)
	}
}

func (k softmaxKern) logOut(dst, x []float32, m, ls float32) {
	switch k.tier {
	case AVX512:
		softmaxLogOutAVX512(&dst[0], &x[0], m, ls, len(x))
	case AVX2:
		softmaxLogOutAVX2(&dst[0], &x[0], m, ls, len(x))
	default:
		softmaxLogOutGeneric(dst, x, m, ls)
	}
}

func (k softmaxKern) dot(a, b []float32) float32 {
	switch k.tier {
	case AVX512:
		return softmaxDotAVX512(&a[0], &b[0], len(a))
	case AVX2:
		return softmaxDotAVX2(&a[0], &b[0], len(a))
	}
	return softmaxDotGeneric(a, b)
}

func (k softmaxKern) sum(x []float32) float32 {
	switch k.tier {
	case AVX512:
		return softmaxSumAVX512(&x[0], len(x))
	case AVX2:
		return softmaxSumAVX2(&x[0], len(x))
	}
	return softmaxSumGeneric(x)
}

func (k softmaxKern) bwd(dx, dy, y []float32, s float32) {
	switch k.tier {
	case AVX512:
		softmaxBwdAVX512(&dx[0], &dy[0], &y[0], s, len(dx))
	case AVX2:
		softmaxBwdAVX2(&dx[0], &dy[0], &y[0], s, len(dx))
	default:
		softmaxBwdGeneric(dx, dy, y, s)
	}
}

func (k softmaxKern) logBwd(dx, dy, y []float32, s float32) {
	switch k.tier {
	case AVX512:
		softmaxLogBwdAVX512(&dx[0], &dy[0], &y[0], s, len(dx))
	case AVX2:
		softmaxLogBwdAVX2(&dx[0], &dy[0], &y[0], s, len(dx))
	default:
		dy, y = dy[:len(dx)], y[:len(dx)]
		for i := range dx {
			dx[i] = dy[i] - mathExp1(y[i])*s
		}
	}
}

// ---------------------------------------------------------------------------
// Plain-Go row kernels. Sums use four partial sums (the assembly uses a
// vector of them).

// softmaxMaxGeneric returns the largest element, ignoring NaN (a NaN in the
// row still turns the whole softmax row into NaN through exp).
func softmaxMaxGeneric[T float32 | float64](x []T) T {
	m := T(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	return m
}

func softmaxExpShiftSumGeneric(dst, x []float32, shift float32) float32 {
	dst = dst[:len(x)]
	var s [4]float32
	for i, v := range x {
		e := mathExp1(v - shift)
		dst[i] = e
		s[i&3] += e
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func softmaxExpSumGeneric(x []float32, shift float32) float32 {
	var s [4]float32
	for i, v := range x {
		s[i&3] += mathExp1(v - shift)
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func softmaxLogOutGeneric[T float32 | float64](dst, x []T, m, ls T) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = (v - m) - ls
	}
}

func softmaxDotGeneric[T float32 | float64](a, b []T) T {
	b = b[:len(a)]
	var s [4]T
	for i := range a {
		s[i&3] += T(a[i] * b[i])
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func softmaxSumGeneric[T float32 | float64](x []T) T {
	var s [4]T
	for i, v := range x {
		s[i&3] += v
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func softmaxBwdGeneric[T float32 | float64](dx, dy, y []T, s T) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i := range dx {
		dx[i] = y[i] * (dy[i] - s)
	}
}
