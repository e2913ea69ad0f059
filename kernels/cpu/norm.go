package cpu

// Normalizations over the last axis of a contiguous rows×cols array:
//
//	LayerNormRows          y = (x-mean)*rstd*gamma + beta, rstd = 1/sqrt(var+eps)
//	LayerNormBackwardRows  dx, and dgamma/dbeta accumulated over rows
//	RMSNormRows            y = (x*rstd)*gamma, rstd = 1/sqrt(mean(x^2)+eps) (Qwen2 RMSNorm)
//	RMSNormBackwardRows    dx, and dgamma accumulated over rows
//
// with PyTorch semantics (biased variance; gamma nil means 1, beta nil 0) and
// float64 twins (suffix 64).
//
// Per row, the forward computes mean and variance in two passes (sum, then
// the sum of squared deviations about the mean, each by the blocked pairwise
// summation of reduce.go with vector accumulators, in float32 for the float32
// kernels), then one fused scale-shift pass. The backward makes one pass that
// forms sum(g) and sum(g*xhat) (g = dy*gamma, xhat = (x-mean)*rstd) while
// adding dy*xhat and dy into per-chunk dgamma/dbeta scratch, then one pass
// writing dx = rstd*(g - mean(g) - xhat*mean(g*xhat)). RMSNorm's backward is
// the same two passes with mean = 0 and mean(g) dropped:
// dx = rstd*(g - xhat*mean(g*xhat)), xhat = x*rstd.
//
// Variants: the row passes are Go assembly (AVX-512 with masked tails, AVX2+FMA
// with VMASKMOVPS tails; norm_amd64.s) with plain-Go twins below (the generic
// tier, and the float64 twins as the same generic code).
//
// Threads: rows are spread over the pool. Forward rows are independent. The
// backward cuts rows into chunks whose size depends only on rows and cols
// (normChunkRows), accumulates each chunk's dgamma/dbeta into its own zeroed
// scratch and adds the chunks to dgamma/dbeta in chunk order, so every result
// is bit-identical for any SetThreads value.
//
// Accuracy (float32 against float64 references, rows of 768, measured with
// the AVX-512 tier; the tests check every tier at the F32 level): for
// x ~ N(mu, 1) the LayerNorm outputs have max abs error ~7e-7 at mu = 0 or 1,
// 1.5e-6 at mu = 10 and 1.7e-5 at mu = 100: the error grows like
// ulp(mean)*rstd, the float32 rounding of the mean (the two-pass variance
// itself does not suffer the cancellation of E[x^2]-E[x]^2). RMSNorm outputs
// have max relative error ~2e-7 whatever the offset. The generic tier (four
// scalar accumulators) is up to ~2x less accurate.
//
// Benchmarks: go test -run XXX -bench 'LayerNorm|RMSNorm' ./kernels/cpu/

import (
	"fmt"
	"math"
	"sync"
)

// normKernels is one tier's set of row kernels for the norm drivers.
type normKernels[T reduceFloat] struct {
	sum, sqdev, sumsq reduceLeaf[T]
	// scaleShift: dst = (x-mean)*rstd*gamma + beta.
	scaleShift func(dst, x, gamma, beta []T, mean, rstd T)
	// rmsScale: dst = (x*rstd)*gamma.
	rmsScale func(dst, x, gamma []T, rstd T)
	// bwdAcc: with g = dy*gamma and xhat = (x-mean)*rstd, returns sum(g) and
	// sum(g*xhat) and does dgs += dy*xhat, dbs += dy.
	bwdAcc func(dgs, dbs, dy, x, gamma []T, mean, rstd T) (sg, sgx T)
	// bwdDx: dx = rstd*((g - a) - xhat*b).
	bwdDx func(dx, dy, x, gamma []T, mean, rstd, a, b T)
	// add: dst += x.
	add func(dst, x []T)
}

// ---------------------------------------------------------------------------
// Plain-Go row kernels.

func normScaleShiftGeneric[T reduceFloat](dst, x, gamma, beta []T, mean, rstd T) {
	n := len(dst)
	x, gamma, beta = x[:n], gamma[:n], beta[:n]
	for i := range dst {
		dst[i] = (x[i]-mean)*rstd*gamma[i] + beta[i]
	}
}

func normRMSScaleGeneric[T reduceFloat](dst, x, gamma []T, rstd T) {
	n := len(dst)
	x, gamma = x[:n], gamma[:n]
	for i := range dst {
		dst[i] = (x[i] * rstd) * gamma[i]
	}
}

func normBwdAccGeneric[T reduceFloat](dgs, dbs, dy, x, gamma []T, mean, rstd T) (sg, sgx T) {
	n := len(dy)
	dgs, dbs, x, gamma = dgs[:n], dbs[:n], x[:n], gamma[:n]
	var sg0, sg1, sx0, sx1 T
	i := 0
	for ; i+2 <= n; i += 2 {
		h0 := (x[i] - mean) * rstd
		h1 := (x[i+1] - mean) * rstd
		g0 := dy[i] * gamma[i]
		g1 := dy[i+1] * gamma[i+1]
		sg0 += g0
		sg1 += g1
		sx0 += g0 * h0
		sx1 += g1 * h1
		dgs[i] += dy[i] * h0
		dgs[i+1] += dy[i+1] * h1
		dbs[i] += dy[i]
		dbs[i+1] += dy[i+1]
	}
	for ; i < n; i++ {
		h := (x[i] - mean) * rstd
		g := dy[i] * gamma[i]
		sg0 += g
		sx0 += g * h
		dgs[i] += dy[i] * h
		dbs[i] += dy[i]
	}
	return sg0 + sg1, sx0 + sx1
}

func normBwdDxGeneric[T reduceFloat](dx, dy, x, gamma []T, mean, rstd, a, b T) {
	n := len(dx)
	dy, x, gamma = dy[:n], x[:n], gamma[:n]
	for i := range dx {
		h := (x[i] - mean) * rstd
		dx[i] = rstd * ((dy[i]*gamma[i] - a) - h*b)
	}
}

// ---------------------------------------------------------------------------
// Assembly wrappers (slices to pointers; every slice holds at least len(dst)).

func normScaleShiftAVX512W(dst, x, gamma, beta []float32, mean, rstd float32) {
	normScaleShiftAVX512(&dst[0], &x[0], &gamma[0], &beta[0], len(dst), mean, rstd)
}
func normScaleShiftAVX2W(dst, x, gamma, beta []float32, mean, rstd float32) {
	normScaleShiftAVX2(&dst[0], &x[0], &gamma[0], &beta[0], len(dst), mean, rstd)
}
func normRMSScaleAVX512W(dst, x, gamma []float32, rstd float32) {
	normRMSScaleAVX512(&dst[0], &x[0], &gamma[0], len(dst), rstd)
}
func normRMSScaleAVX2W(dst, x, gamma []float32, rstd float32) {
	normRMSScaleAVX2(&dst[0], &x[0], &gamma[0], len(dst), rstd)
}
func normBwdAccAVX512W(dgs, dbs, dy, x, gamma []float32, mean, rstd float32) (float32, float32) {
	return normBwdAccAVX512(&dgs[0], &dbs[0], &dy[0], &x[0], &gamma[0], len(dy), mean, rstd)
}
func normBwdAccAVX2W(dgs, dbs, dy, x, gamma []float32, mean, rstd float32) (float32, float32) {
	return normBwdAccAVX2(&dgs[0], &dbs[0], &dy[0], &x[0], &gamma[0], len(dy), mean, rstd)
}
func normBwdDxAVX512W(dx, dy, x, gamma []float32, mean, rstd, a, b float32) {
	normBwdDxAVX512(&dx[0], &dy[0], &x[0], &gamma[0], len(dx), mean, rstd, a, b)
}
func normBwdDxAVX2W(dx, dy, x, gamma []float32, mean, rstd, a, b float32) {
	normBwdDxAVX2(&dx[0], &dy[0], &x[0], &gamma[0], len(dx), mean, rstd, a, b)
}
func normAddAVX512W(dst, x []float32) { reduceAdd32(AVX512, dst, x) }
func normAddAVX2W(dst, x []float32)   { reduceAdd32(AVX2, dst, x) }

var (
	normKernelsGeneric32 = normKernels[float32]{
		sum: reduceSumGeneric[float32], sqdev: reduceSqDevGeneric[float32], sumsq: reduceSumSqGeneric[float32],
		scaleShift: normScaleShiftGeneric[float32], rmsScale: normRMSScaleGeneric[float32],
		bwdAcc: normBwdAccGeneric[float32], bwdDx: normBwdDxGeneric[float32], add: reduceAddGeneric[float32],
	}
	normKernelsAVX2 = normKernels[float32]{
		sum: reduceSumLeafAVX2, sqdev: reduceSqDevLeafAVX2, sumsq: reduceSumSqLeafAVX2,
		scaleShift: normScaleShiftAVX2W, rmsScale: normRMSScaleAVX2W,
		bwdAcc: normBwdAccAVX2W, bwdDx: normBwdDxAVX2W, add: normAddAVX2W,
	}
	normKernelsAVX512 = normKernels[float32]{
		sum: reduceSumLeafAVX512, sqdev: reduceSqDevLeafAVX512, sumsq: reduceSumSqLeafAVX512,
		scaleShift: normScaleShiftAVX512W, rmsScale: normRMSScaleAVX512W,
		bwdAcc: normBwdAccAVX512W, bwdDx: normBwdDxAVX512W, add: normAddAVX512W,
	}
	normKernels64 = normKernels[float64]{
		sum: reduceSumGeneric[float64], sqdev: reduceSqDevGeneric[float64], sumsq: reduceSumSqGeneric[float64],
		scaleShift: normScaleShiftGeneric[float64], rmsScale: normRMSScaleGeneric[float64],
		bwdAcc: normBwdAccGeneric[float64], bwdDx: normBwdDxGeneric[float64], add: reduceAddGeneric[float64],
	}
)

// normKernels32 returns the float32 row kernels of tier t.
func normKernels32(t Tier) *normKernels[float32] {
	switch t {
	case AVX512:
		return &normKernelsAVX512
	case AVX2:
		return &normKernelsAVX2
	default:
		return &normKernelsGeneric32
	}
}

// ---------------------------------------------------------------------------
// Read-only constant vectors standing in for nil gamma (ones) and beta (zeros).

var normConst struct {
	mu              sync.Mutex
	ones32, zeros32 []float32
	ones64, zeros64 []float64
}

// normConstGet returns n copies of v from the cache slot, growing it as
// needed. The returned slices are never written.
func normConstGet[E reduceFloat](slot *[]E, n int, v E) []E {
	normConst.mu.Lock()
	defer normConst.mu.Unlock()
	if len(*slot) < n {
		s := make([]E, max(n, 2*len(*slot), 1024))
		for i := range s {
			s[i] = v
		}
		*slot = s
	}
	return (*slot)[:n:n]
}

// normFill returns a read-only slice of n ones (one true) or zeros.
func normFill[T reduceFloat](n int, one bool) []T {
	var z T
	switch any(z).(type) {
	case float32:
		if one {
			return any(normConstGet(&normConst.ones32, n, 1)).([]T)
		}
		return any(normConstGet(&normConst.zeros32, n, 0)).([]T)
	default:
		if one {
			return any(normConstGet(&normConst.ones64, n, 1)).([]T)
		}
		return any(normConstGet(&normConst.zeros64, n, 0)).([]T)
	}
}

// Zeroed scratch for the backward's per-chunk dgamma/dbeta, reused across
// calls.
var normPool32, normPool64 sync.Pool

// normPool returns the scratch pool for element type T.
func normPool[T reduceFloat]() *sync.Pool {
	var z T
	if _, ok := any(z).(float32); ok {
		return &normPool32
	}
	return &normPool64
}

// normScratchGet returns n zeroed elements of scratch.
func normScratchGet[T reduceFloat](n int) *[]T {
	if v, ok := normPool[T]().Get().(*[]T); ok && cap(*v) >= n {
		*v = (*v)[:n]
		clear(*v)
		return v
	}
	s := make([]T, n)
	return &s
}

// normScratchPut returns scratch from normScratchGet to the pool.
func normScratchPut[T reduceFloat](s *[]T) { normPool[T]().Put(s) }

// ---------------------------------------------------------------------------
// Drivers.

// normRowGrain is the number of elements a pool chunk of rows should cover.
const normRowGrain = 1 << 14

// normChunkElems is the number of elements per backward chunk; chunks are
// fixed by the shape alone so that results do not depend on the thread count.
const normChunkElems = 1 << 16

// normChunkRows returns how many rows one backward chunk holds.
func normChunkRows(rows, cols int) int {
	return max(1, min(rows, (normChunkElems+cols-1)/max(cols, 1)))
}

// normSize is one slice-length requirement: len(name) = got >= want; got < 0
// means the slice is nil (optional and absent).
type normSize struct {
	name      string
	got, want int
}

// normCheck panics unless the norm sizes are valid.
func normCheck(fn string, rows, cols int, sizes ...normSize) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("cpu.%s: negative size rows=%d cols=%d", fn, rows, cols))
	}
	if rows > 0 && cols == 0 {
		panic(fmt.Sprintf("cpu.%s: cols=0 with rows=%d", fn, rows))
	}
	for _, s := range sizes {
		if s.got >= 0 && s.got < s.want {
			panic(fmt.Sprintf("cpu.%s: len(%s)=%d < %d (rows=%d cols=%d)", fn, s.name, s.got, s.want, rows, cols))
		}
	}
}

// normLen returns len(s), or -1 for a nil slice.
func normLen[T any](s []T) int {
	if s == nil {
		return -1
	}
	return len(s)
}

// normForward is the shared body of LayerNormRows (rms false) and
// RMSNormRows (rms true; mean and beta unused).
func normForward[T reduceFloat](k *normKernels[T], rms bool, dst, mean, rstd, x, gamma, beta []T, rows, cols int, eps T) {
	if rows == 0 {
		return
	}
	if gamma == nil {
		gamma = normFill[T](cols, true)
	}
	if beta == nil && !rms {
		beta = normFill[T](cols, false)
	}
	gamma = gamma[:cols]
	fcols := T(cols)
	Parallel(rows, max(1, normRowGrain/cols), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*cols : (r+1)*cols]
			yr := dst[r*cols : (r+1)*cols]
			var rs T
			if rms {
				ms := reducePairwise(xr, nil, 0, k.sumsq) / fcols
				rs = 1 / T(math.Sqrt(float64(ms+eps)))
				k.rmsScale(yr, xr, gamma, rs)
			} else {
				m := reducePairwise(xr, nil, 0, k.sum) / fcols
				v := reducePairwise(xr, nil, m, k.sqdev) / fcols
				rs = 1 / T(math.Sqrt(float64(v+eps)))
				k.scaleShift(yr, xr, gamma, beta, m, rs)
				if mean != nil {
					mean[r] = m
				}
			}
			if rstd != nil {
				rstd[r] = rs
			}
		}
	})
}

// normBackward is the shared body of LayerNormBackwardRows (rms false) and
// RMSNormBackwardRows (rms true; mean and dbeta unused).
func normBackward[T reduceFloat](k *normKernels[T], rms bool, dx, dgamma, dbeta, dy, x, mean, rstd, gamma []T, rows, cols int) {
	if rows == 0 {
		return
	}
	if gamma == nil {
		gamma = normFill[T](cols, true)
	}
	gamma = gamma[:cols]
	cr := normChunkRows(rows, cols)
	nch := (rows + cr - 1) / cr
	sp := normScratchGet[T](nch * 2 * cols)
	defer normScratchPut(sp)
	scratch := *sp
	fcols := T(cols)
	ParallelChunks(nch, func(c int) {
		dgs := scratch[2*c*cols : (2*c+1)*cols]
		dbs := scratch[(2*c+1)*cols : (2*c+2)*cols]
		for r := c * cr; r < min(rows, (c+1)*cr); r++ {
			xr := x[r*cols : (r+1)*cols]
			dyr := dy[r*cols : (r+1)*cols]
			var m T
			if !rms {
				m = mean[r]
			}
			rs := rstd[r]
			sg, sgx := k.bwdAcc(dgs, dbs, dyr, xr, gamma, m, rs)
			a := sg / fcols
			if rms {
				a = 0
			}
			k.bwdDx(dx[r*cols:(r+1)*cols], dyr, xr, gamma, m, rs, a, sgx/fcols)
		}
	})
	// Chunk sums in chunk order: deterministic whatever ran where.
	for c := 1; c < nch; c++ {
		k.add(scratch[:2*cols], scratch[2*c*cols:(2*c+2)*cols])
	}
	if dgamma != nil {
		k.add(dgamma[:cols], scratch[:cols])
	}
	if dbeta != nil && !rms {
		k.add(dbeta[:cols], scratch[cols:2*cols])
	}
}

// ---------------------------------------------------------------------------
// Public API.

// LayerNormRows normalizes each row of x (rows×cols, contiguous) over its
// cols elements like torch.nn.functional.layer_norm:
//
//	y = (x - mean) * rstd * gamma + beta,  rstd = 1/sqrt(var + eps)
//
// with the biased variance. gamma and beta (len cols) may be nil, meaning 1
// and 0. mean and rstd (len rows) receive the row statistics unless nil. dst
// may be x itself. Mean and variance are two-pass float32 pairwise sums.
func LayerNormRows(dst, mean, rstd []float32, x, gamma, beta []float32, rows, cols int, eps float32) {
	normCheck("LayerNormRows", rows, cols,
		normSize{"dst", len(dst), rows * cols}, normSize{"x", len(x), rows * cols},
		normSize{"gamma", normLen(gamma), cols}, normSize{"beta", normLen(beta), cols},
		normSize{"mean", normLen(mean), rows}, normSize{"rstd", normLen(rstd), rows})
	normForward(normKernels32(Current()), false, dst, mean, rstd, x, gamma, beta, rows, cols, eps)
}

// LayerNormRows64 is the float64 twin of LayerNormRows.
func LayerNormRows64(dst, mean, rstd []float64, x, gamma, beta []float64, rows, cols int, eps float64) {
	normCheck("LayerNormRows64", rows, cols,
		normSize{"dst", len(dst), rows * cols}, normSize{"x", len(x), rows * cols},
		normSize{"gamma", normLen(gamma), cols}, normSize{"beta", normLen(beta), cols},
		normSize{"mean", normLen(mean), rows}, normSize{"rstd", normLen(rstd), rows})
	normForward(&normKernels64, false, dst, mean, rstd, x, gamma, beta, rows, cols, eps)
}

// LayerNormBackwardRows is the backward of LayerNormRows given the forward's
// mean and rstd. It writes
//
//	dx = rstd * (g - mean(g) - xhat*mean(g*xhat)),  g = dy*gamma, xhat = (x-mean)*rstd
//
// and ACCUMULATES dgamma += sum over rows of dy*xhat and dbeta += sum over
// rows of dy (either may be nil to skip it). gamma nil means 1. dx may be dy
// itself. Results do not depend on the thread count.
func LayerNormBackwardRows(dx, dgamma, dbeta []float32, dy, x, mean, rstd, gamma []float32, rows, cols int) {
	normBackwardCheck("LayerNormBackwardRows", false, len(dx), normLen(dgamma), normLen(dbeta),
		len(dy), len(x), len(mean), len(rstd), normLen(gamma), rows, cols)
	normBackward(normKernels32(Current()), false, dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols)
}

// LayerNormBackwardRows64 is the float64 twin of LayerNormBackwardRows.
func LayerNormBackwardRows64(dx, dgamma, dbeta []float64, dy, x, mean, rstd, gamma []float64, rows, cols int) {
	normBackwardCheck("LayerNormBackwardRows64", false, len(dx), normLen(dgamma), normLen(dbeta),
		len(dy), len(x), len(mean), len(rstd), normLen(gamma), rows, cols)
	normBackward(&normKernels64, false, dx, dgamma, dbeta, dy, x, mean, rstd, gamma, rows, cols)
}

// RMSNormRows normalizes each row of x (rows×cols) by its root mean square,
// like Qwen2RMSNorm (computed in float32):
//
//	y = (x * rstd) * gamma,  rstd = 1/sqrt(mean(x^2) + eps)
//
// gamma (len cols) may be nil, meaning 1; rstd (len rows) receives the row
// factors unless nil. dst may be x itself.
func RMSNormRows(dst, rstd []float32, x, gamma []float32, rows, cols int, eps float32) {
	normCheck("RMSNormRows", rows, cols,
		normSize{"dst", len(dst), rows * cols}, normSize{"x", len(x), rows * cols},
		normSize{"gamma", normLen(gamma), cols}, normSize{"rstd", normLen(rstd), rows})
	normForward(normKernels32(Current()), true, dst, nil, rstd, x, gamma, nil, rows, cols, eps)
}

// RMSNormRows64 is the float64 twin of RMSNormRows.
func RMSNormRows64(dst, rstd []float64, x, gamma []float64, rows, cols int, eps float64) {
	normCheck("RMSNormRows64", rows, cols,
		normSize{"dst", len(dst), rows * cols}, normSize{"x", len(x), rows * cols},
		normSize{"gamma", normLen(gamma), cols}, normSize{"rstd", normLen(rstd), rows})
	normForward(&normKernels64, true, dst, nil, rstd, x, gamma, nil, rows, cols, eps)
}

// RMSNormBackwardRows is the backward of RMSNormRows given the forward's
// rstd. It writes
//
//	dx = rstd * (g - xhat*mean(g*xhat)),  g = dy*gamma, xhat = x*rstd
//
// and ACCUMULATES dgamma += sum over rows of dy*xhat (dgamma may be nil).
// gamma nil means 1. dx may be dy itself.
func RMSNormBackwardRows(dx, dgamma []float32, dy, x, rstd, gamma []float32, rows, cols int) {
	normBackwardCheck("RMSNormBackwardRows", true, len(dx), normLen(dgamma), -1,
		len(dy), len(x), -1, len(rstd), normLen(gamma), rows, cols)
	normBackward(normKernels32(Current()), true, dx, dgamma, nil, dy, x, nil, rstd, gamma, rows, cols)
}

// RMSNormBackwardRows64 is the float64 twin of RMSNormBackwardRows.
func RMSNormBackwardRows64(dx, dgamma []float64, dy, x, rstd, gamma []float64, rows, cols int) {
	normBackwardCheck("RMSNormBackwardRows64", true, len(dx), normLen(dgamma), -1,
		len(dy), len(x), -1, len(rstd), normLen(gamma), rows, cols)
	normBackward(&normKernels64, true, dx, dgamma, nil, dy, x, nil, rstd, gamma, rows, cols)
}

// normBackwardCheck validates the backward sizes; mean and rstd are required
// (mean only for LayerNorm), the other optional slices have length -1 when nil.
func normBackwardCheck(fn string, rms bool, ldx, ldgamma, ldbeta, ldy, lx, lmean, lrstd, lgamma, rows, cols int) {
	if rms {
		lmean = -1
	}
	normCheck(fn, rows, cols,
		normSize{"dx", ldx, rows * cols}, normSize{"dy", ldy, rows * cols}, normSize{"x", lx, rows * cols},
		normSize{"dgamma", ldgamma, cols}, normSize{"dbeta", ldbeta, cols}, normSize{"gamma", lgamma, cols},
		normSize{"mean", lmean, rows}, normSize{"rstd", lrstd, rows})
}
