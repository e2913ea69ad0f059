package cpu

// Reductions: whole-slice Sum, Max, Argmax, Dot, SumSquares, Norm2, and the
// axis reductions SumAxis, MaxAxis, SumSquaresAxis over x viewed as a
// contiguous [outer, n, inner] array, reducing the middle axis (any axis of a
// contiguous tensor has this form).
//
// Variants: float32 kernels dispatch on Current() to Go assembly (AVX-512 with
// masked tails, AVX2+FMA with VMASKMOVPS tails, reduce_amd64.s) or to the
// plain-Go twins below (generic tier); the float64 twins (suffix 64) are the
// same plain-Go code instantiated for float64.
//
// Summation method (Sum, Dot, SumSquares, and the per-row statistics of the
// norms): the slice is cut into blocks of reduceBlock (4096) elements; within
// a block the kernel accumulates with several independent vector accumulators
// (AVX-512: 8 x 16 lanes, AVX2: 8 x 8 lanes, generic: 4 scalars) that are
// added pairwise at the end; the block results are combined by pairwise
// (binary-tree) summation. The worst-case rounding error is about
// (4096/lanes + log2(lanes) + log2(n/4096)) ulps of sum|x_i| (~45 on AVX-512,
// ~1000 on the generic tier) and the typical error grows like the square root
// of that. Measured: Sum of 1M or 4M U(0,1) floats is within 1 ulp of the
// exact sum on every tier (a naive sequential float32 loop is off by ~1.2e-5
// relative, ~200 ulps), and Sum/Dot of N(0,1) data err by < 1e-9 of sum|terms|.
// The tree shape depends only on n, never on the thread count: for a large
// slice the top of the tree is computed in parallel and combined in the same
// order, so results are bit-identical for any SetThreads value.
//
// Axis reductions with inner > 1 add whole rows of length inner with vector
// adds (row 0, then row 1, ...), so each output element is a sequential sum
// over n terms (error up to ~n ulps worst case, ~sqrt(n) typical).
//
// Benchmarks: go test -run XXX -bench 'Sum|Dot|Max' ./kernels/cpu/

import (
	"fmt"
	"math"
	"sync"
)

// reduceFloat is the element type of the plain-Go kernels.
type reduceFloat interface{ ~float32 | ~float64 }

// reduceBlock is the leaf size of the pairwise summation tree.
const reduceBlock = 4096

// reduceParMin is the slice length from which whole-slice reductions use the
// worker pool.
const reduceParMin = 1 << 17

// reduceParDepth is how many levels of the pairwise tree are split across
// the pool (at most 1<<reduceParDepth parallel subtrees).
const reduceParDepth = 4

// reduceLeaf is one kernel over a block: x and y (y only for Dot) and a
// scalar parameter s (unused by most).
type reduceLeaf[T reduceFloat] func(x, y []T, s T) T

// reduceSplit returns where the pairwise tree splits a range of n > reduceBlock
// elements: after half of its blocks, rounded down.
func reduceSplit(n int) int {
	nb := (n + reduceBlock - 1) / reduceBlock
	return (nb / 2) * reduceBlock
}

// reducePairwise sums leaf over x (and y) with the blocked pairwise tree.
func reducePairwise[T reduceFloat](x, y []T, s T, leaf reduceLeaf[T]) T {
	n := len(x)
	if n <= reduceBlock {
		if n == 0 {
			return 0
		}
		return leaf(x, y, s)
	}
	mid := reduceSplit(n)
	var ylo, yhi []T
	if y != nil {
		ylo, yhi = y[:mid], y[mid:]
	}
	return reducePairwise(x[:mid], ylo, s, leaf) + reducePairwise(x[mid:], yhi, s, leaf)
}

// reduceSegments lists, left to right, the subtrees of the pairwise tree over
// [lo, hi) at depth d (or shallower leaves).
func reduceSegments(lo, hi, d int, segs [][2]int) [][2]int {
	if d == 0 || hi-lo <= reduceBlock {
		return append(segs, [2]int{lo, hi})
	}
	mid := lo + reduceSplit(hi-lo)
	segs = reduceSegments(lo, mid, d-1, segs)
	return reduceSegments(mid, hi, d-1, segs)
}

// reduceCombine adds the subtree results in the tree's order; *k walks res.
func reduceCombine[T reduceFloat](lo, hi, d int, res []T, k *int) T {
	if d == 0 || hi-lo <= reduceBlock {
		v := res[*k]
		*k++
		return v
	}
	mid := lo + reduceSplit(hi-lo)
	a := reduceCombine(lo, mid, d-1, res, k)
	return a + reduceCombine(mid, hi, d-1, res, k)
}

// reduceTree is reducePairwise, with the top reduceParDepth levels of the tree
// spread over the pool when x is large. The result does not depend on the
// thread count.
func reduceTree[T reduceFloat](x, y []T, s T, leaf reduceLeaf[T]) T {
	n := len(x)
	// No Workers() check here: it takes the pool's lock, which a caller
	// running inside a pool job holds. Parallel itself runs inline when the
	// pool has one thread or is busy.
	if n < reduceParMin {
		return reducePairwise(x, y, s, leaf)
	}
	var segBuf [1 << reduceParDepth][2]int
	segs := reduceSegments(0, n, reduceParDepth, segBuf[:0])
	var res [1 << reduceParDepth]T
	ParallelChunks(len(segs), func(c int) {
		lo, hi := segs[c][0], segs[c][1]
		var ys []T
		if y != nil {
			ys = y[lo:hi]
		}
		res[c] = reducePairwise(x[lo:hi], ys, s, leaf)
	})
	k := 0
	return reduceCombine(0, n, reduceParDepth, res[:len(segs)], &k)
}

// ---------------------------------------------------------------------------
// Plain-Go kernels (the generic tier and the float64 twins).

// reduceSumGeneric returns the sum of x with four interleaved accumulators.
func reduceSumGeneric[T reduceFloat](x, _ []T, _ T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// reduceDotGeneric returns sum x[i]*y[i] with four accumulators.
func reduceDotGeneric[T reduceFloat](x, y []T, _ T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a := x[i : i+4 : i+4]
		b := y[i : i+4 : i+4]
		s0 += a[0] * b[0]
		s1 += a[1] * b[1]
		s2 += a[2] * b[2]
		s3 += a[3] * b[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// reduceSumSqGeneric returns sum x[i]^2 with four accumulators.
func reduceSumSqGeneric[T reduceFloat](x, _ []T, _ T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += v[0] * v[0]
		s1 += v[1] * v[1]
		s2 += v[2] * v[2]
		s3 += v[3] * v[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// reduceSqDevGeneric returns sum (x[i]-m)^2 with four accumulators (the
// second pass of a two-pass variance).
func reduceSqDevGeneric[T reduceFloat](x, _ []T, m T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := v[0]-m, v[1]-m, v[2]-m, v[3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// reduceMaxGeneric returns the largest element of x (len(x) >= 1), or NaN
// when x holds a NaN.
func reduceMaxGeneric[T reduceFloat](x []T) T {
	m := T(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		} else if v != v {
			return v
		}
	}
	return m
}

// reduceIndexEqGeneric returns the first index i with x[i] == v, or len(x).
func reduceIndexEqGeneric[T reduceFloat](x []T, v T) int {
	for i, e := range x {
		if e == v {
			return i
		}
	}
	return len(x)
}

// reduceIndexNaN returns the first index of a NaN in x, or len(x).
func reduceIndexNaN[T reduceFloat](x []T) int {
	for i, e := range x {
		if e != e {
			return i
		}
	}
	return len(x)
}

// reduceAddGeneric does dst[i] += x[i].
func reduceAddGeneric[T reduceFloat](dst, x []T) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

// reduceAddSqGeneric does dst[i] += x[i]*x[i].
func reduceAddSqGeneric[T reduceFloat](dst, x []T) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i] * x[i]
	}
}

// reduceMaxAccGeneric does dst[i] = max(dst[i], x[i]) where a NaN wins and,
// when arg is not nil, arg[i] = j wherever dst[i] was replaced. Ties keep the
// earlier value, so arg holds the first index of the maximum.
func reduceMaxAccGeneric[T reduceFloat](dst []T, arg []int32, x []T, j int32) {
	x = x[:len(dst)]
	if arg == nil {
		for i, v := range x {
			d := dst[i]
			if v > d || (v != v && d == d) {
				dst[i] = v
			}
		}
		return
	}
	arg = arg[:len(dst)]
	for i, v := range x {
		d := dst[i]
		if v > d || (v != v && d == d) {
			dst[i] = v
			arg[i] = j
		}
	}
}

// ---------------------------------------------------------------------------
// float32 dispatch. Each leaf is a top-level function (no closure) so that
// passing it around does not allocate.

func reduceSumLeafAVX512(x, _ []float32, _ float32) float32 {
	return reduceSumAVX512(&x[0], len(x))
}
func reduceSumLeafAVX2(x, _ []float32, _ float32) float32 { return reduceSumAVX2(&x[0], len(x)) }
func reduceDotLeafAVX512(x, y []float32, _ float32) float32 {
	return reduceDotAVX512(&x[0], &y[0], len(x))
}
func reduceDotLeafAVX2(x, y []float32, _ float32) float32 {
	return reduceDotAVX2(&x[0], &y[0], len(x))
}
func reduceSumSqLeafAVX512(x, _ []float32, _ float32) float32 {
	return reduceSumSqAVX512(&x[0], len(x))
}
func reduceSumSqLeafAVX2(x, _ []float32, _ float32) float32 {
	return reduceSumSqAVX2(&x[0], len(x))
}
func reduceSqDevLeafAVX512(x, _ []float32, m float32) float32 {
	return reduceSqDevAVX512(&x[0], len(x), m)
}
func reduceSqDevLeafAVX2(x, _ []float32, m float32) float32 {
	return reduceSqDevAVX2(&x[0], len(x), m)
}

// reduceSumLeaf32 returns the tier's block kernel for Sum.
func reduceSumLeaf32(t Tier) reduceLeaf[float32] {
	switch t {
	case AVX512:
		return reduceSumLeafAVX512
	case AVX2:
		return reduceSumLeafAVX2
	default:
		return reduceSumGeneric[float32]
	}
}

// reduceDotLeaf32 returns the tier's block kernel for Dot.
func reduceDotLeaf32(t Tier) reduceLeaf[float32] {
	switch t {
	case AVX512:
		return reduceDotLeafAVX512
	case AVX2:
		return reduceDotLeafAVX2
	default:
		return reduceDotGeneric[float32]
	}
}

// reduceSumSqLeaf32 returns the tier's block kernel for SumSquares.
func reduceSumSqLeaf32(t Tier) reduceLeaf[float32] {
	switch t {
	case AVX512:
		return reduceSumSqLeafAVX512
	case AVX2:
		return reduceSumSqLeafAVX2
	default:
		return reduceSumSqGeneric[float32]
	}
}

// reduceSqDevLeaf32 returns the tier's block kernel for sum (x-m)^2.
func reduceSqDevLeaf32(t Tier) reduceLeaf[float32] {
	switch t {
	case AVX512:
		return reduceSqDevLeafAVX512
	case AVX2:
		return reduceSqDevLeafAVX2
	default:
		return reduceSqDevGeneric[float32]
	}
}

func reduceMaxKAVX512(x []float32) float32 { return reduceMaxAVX512(&x[0], len(x)) }
func reduceMaxKAVX2(x []float32) float32   { return reduceMaxAVX2(&x[0], len(x)) }

// reduceMaxKernel32 returns the serial Max kernel of tier t (for len(x) >= 1).
func reduceMaxKernel32(t Tier) func([]float32) float32 {
	switch t {
	case AVX512:
		return reduceMaxKAVX512
	case AVX2:
		return reduceMaxKAVX2
	default:
		return reduceMaxGeneric[float32]
	}
}

// reduceIndexEq32 is the tier's first-index-of-v search.
func reduceIndexEq32(t Tier, x []float32, v float32) int {
	if len(x) == 0 {
		return 0
	}
	switch t {
	case AVX512:
		return reduceIndexEqAVX512(&x[0], len(x), v)
	case AVX2:
		return reduceIndexEqAVX2(&x[0], len(x), v)
	default:
		return reduceIndexEqGeneric(x, v)
	}
}

// reduceAdd32 does dst += x on tier t (len(x) >= len(dst)).
func reduceAdd32(t Tier, dst, x []float32) {
	if len(dst) == 0 {
		return
	}
	_ = x[len(dst)-1]
	switch t {
	case AVX512:
		reduceAddAVX512(&dst[0], &x[0], len(dst))
	case AVX2:
		reduceAddAVX2(&dst[0], &x[0], len(dst))
	default:
		reduceAddGeneric(dst, x)
	}
}

// reduceAddSq32 does dst += x*x on tier t.
func reduceAddSq32(t Tier, dst, x []float32) {
	if len(dst) == 0 {
		return
	}
	_ = x[len(dst)-1]
	switch t {
	case AVX512:
		reduceAddSqAVX512(&dst[0], &x[0], len(dst))
	case AVX2:
		reduceAddSqAVX2(&dst[0], &x[0], len(dst))
	default:
		reduceAddSqGeneric(dst, x)
	}
}

// reduceMaxAcc32 is reduceMaxAccGeneric on tier t.
func reduceMaxAcc32(t Tier, dst []float32, arg []int32, x []float32, j int32) {
	if len(dst) == 0 {
		return
	}
	_ = x[len(dst)-1]
	if arg != nil {
		_ = arg[len(dst)-1]
	}
	switch t {
	case AVX512:
		if arg == nil {
			reduceMaxAccAVX512(&dst[0], &x[0], len(dst))
		} else {
			reduceMaxArgAccAVX512(&dst[0], &arg[0], &x[0], len(dst), j)
		}
	case AVX2:
		if arg == nil {
			reduceMaxAccAVX2(&dst[0], &x[0], len(dst))
		} else {
			reduceMaxArgAccAVX2(&dst[0], &arg[0], &x[0], len(dst), j)
		}
	default:
		reduceMaxAccGeneric(dst, arg, x, j)
	}
}

// ---------------------------------------------------------------------------
// Whole-slice reductions.

// Sum returns the sum of x, accumulated in float32 by blocked pairwise
// summation with vector accumulators (see the file comment); 0 for an empty x.
func Sum(x []float32) float32 { return reduceTree(x, nil, 0, reduceSumLeaf32(Current())) }

// Sum64 returns the sum of x in float64 (blocked pairwise summation).
func Sum64(x []float64) float64 { return reduceTree(x, nil, 0, reduceSumGeneric[float64]) }

// Dot returns sum x[i]*y[i], accumulated in float32 like Sum (with FMA on the
// SIMD tiers). It panics if the lengths differ.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("cpu.Dot: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	return reduceTree(x, y, 0, reduceDotLeaf32(Current()))
}

// Dot64 returns sum x[i]*y[i] in float64. It panics if the lengths differ.
func Dot64(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("cpu.Dot64: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	return reduceTree(x, y, 0, reduceDotGeneric[float64])
}

// SumSquares returns sum x[i]^2, accumulated in float32 like Sum.
func SumSquares(x []float32) float32 {
	return reduceTree(x, nil, 0, reduceSumSqLeaf32(Current()))
}

// SumSquares64 returns sum x[i]^2 in float64.
func SumSquares64(x []float64) float64 {
	return reduceTree(x, nil, 0, reduceSumSqGeneric[float64])
}

// Norm2 returns the Euclidean norm sqrt(sum x[i]^2). It squares without
// rescaling, so it overflows to +Inf when sum x^2 exceeds MaxFloat32 (|x|
// around 1.8e19 and above) and loses precision below ~1e-19; it does not
// guard against either.
func Norm2(x []float32) float32 {
	return float32(math.Sqrt(float64(SumSquares(x))))
}

// Norm264 is the float64 twin of Norm2 (sqrt of SumSquares64, no rescaling:
// overflows when sum x^2 exceeds MaxFloat64).
func Norm264(x []float64) float64 { return math.Sqrt(SumSquares64(x)) }

// reduceMaxParallel returns the max of x, splitting large slices over the
// pool (max is exact, so the split does not change the result).
func reduceMaxParallel[T reduceFloat](x []T, kernel func([]T) T) T {
	if len(x) < reduceParMin {
		return kernel(x)
	}
	var mu sync.Mutex
	m := T(math.Inf(-1))
	Parallel(len(x), reduceParMin/4, func(lo, hi int) {
		v := kernel(x[lo:hi])
		mu.Lock()
		if v > m || (v != v && m == m) {
			m = v
		}
		mu.Unlock()
	})
	return m
}

// Max returns the largest element of x, or NaN if x holds a NaN (like
// torch.max). It panics on an empty x.
func Max(x []float32) float32 {
	if len(x) == 0 {
		panic("cpu.Max: empty slice")
	}
	return reduceMaxParallel(x, reduceMaxKernel32(Current()))
}

// Max64 is the float64 twin of Max.
func Max64(x []float64) float64 {
	if len(x) == 0 {
		panic("cpu.Max64: empty slice")
	}
	return reduceMaxParallel(x, reduceMaxGeneric[float64])
}

// Argmax returns the index of the first maximum of x; a NaN counts as the
// maximum, so the result is the first NaN's index when x holds one (like
// torch.argmax). It panics on an empty x.
func Argmax(x []float32) int {
	if len(x) == 0 {
		panic("cpu.Argmax: empty slice")
	}
	t := Current()
	m := reduceMaxParallel(x, reduceMaxKernel32(t))
	if m != m {
		return reduceIndexNaN(x)
	}
	return reduceIndexEq32(t, x, m)
}

// Argmax64 is the float64 twin of Argmax.
func Argmax64(x []float64) int {
	if len(x) == 0 {
		panic("cpu.Argmax64: empty slice")
	}
	m := reduceMaxParallel(x, reduceMaxGeneric[float64])
	if m != m {
		return reduceIndexNaN(x)
	}
	return reduceIndexEqGeneric(x, m)
}

// ---------------------------------------------------------------------------
// Axis reductions over [outer, n, inner].

// reduceAxisChunk is the column width of one work item when inner > 1 (16 KiB
// of float32, so the output chunk stays in L1 while rows are added to it).
const reduceAxisChunk = 4096

// reduceAxisGrain is the number of input elements a pool chunk should cover.
const reduceAxisGrain = 1 << 15

// reduceAxisItems is the number of work items a large inner > 1 reduction is
// split into at least (when columns allow), so that the pool has work to share.
const reduceAxisItems = 8

// reduceAxisCheck panics unless the sizes are valid for an axis reduction.
func reduceAxisCheck(fn string, ldst, larg, lx, outer, n, inner int, needN bool) {
	if outer < 0 || n < 0 || inner < 0 {
		panic(fmt.Sprintf("cpu.%s: negative size outer=%d n=%d inner=%d", fn, outer, n, inner))
	}
	if needN && n == 0 && outer*inner > 0 {
		panic(fmt.Sprintf("cpu.%s: empty reduced axis (outer=%d n=0 inner=%d)", fn, outer, inner))
	}
	if lx < outer*n*inner {
		panic(fmt.Sprintf("cpu.%s: len(x)=%d < outer*n*inner=%d*%d*%d", fn, lx, outer, n, inner))
	}
	if ldst < outer*inner {
		panic(fmt.Sprintf("cpu.%s: len(dst)=%d < outer*inner=%d*%d", fn, ldst, outer, inner))
	}
	if larg >= 0 && n > math.MaxInt32 {
		panic(fmt.Sprintf("cpu.%s: n=%d does not fit the int32 arg", fn, n))
	}
	if larg >= 0 && larg < outer*inner {
		panic(fmt.Sprintf("cpu.%s: len(arg)=%d < outer*inner=%d*%d", fn, larg, outer, inner))
	}
}

// reduceAxisRows runs rowFn(o) for each of outer rows of length n, in
// parallel when the input is large.
func reduceAxisRows(outer, n int, rowFn func(o int)) {
	grain := max(1, reduceAxisGrain/max(n, 1))
	Parallel(outer, grain, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			rowFn(o)
		}
	})
}

// reduceAxisCols runs colFn(o, lo, hi) over every (outer, column chunk) pair
// of an [outer, n, inner] reduction with inner > 1, in parallel when large.
// Each output element is produced by exactly one call, so the result does not
// depend on the thread count.
func reduceAxisCols(outer, n, inner int, colFn func(o, lo, hi int)) {
	cw := min(inner, reduceAxisChunk)
	if outer*((inner+cw-1)/cw) < reduceAxisItems && outer*n*inner >= 2*reduceAxisGrain {
		// Too few items to share over the pool: narrower columns (at least
		// 64 wide). The split never changes the arithmetic.
		per := (reduceAxisItems + outer - 1) / outer
		cw = min(inner, max(64, ((inner+per-1)/per+15)&^15))
	}
	nc := (inner + cw - 1) / cw
	grain := max(1, reduceAxisGrain/max(n*cw, 1))
	Parallel(outer*nc, grain, func(a, b int) {
		for it := a; it < b; it++ {
			o, c := it/nc, it%nc
			colFn(o, c*cw, min(inner, (c+1)*cw))
		}
	})
}

// reduceSumAxis is the shared body of SumAxis and SumSquaresAxis: leaf is the
// block kernel (sum or sum of squares) and add the row accumulation.
func reduceSumAxis[T reduceFloat](dst, x []T, outer, n, inner int, leaf reduceLeaf[T], add func(dst, x []T)) {
	if outer == 0 || inner == 0 {
		return
	}
	if inner == 1 {
		if outer == 1 {
			dst[0] = reduceTree(x[:n], nil, 0, leaf)
			return
		}
		reduceAxisRows(outer, n, func(o int) {
			dst[o] = reducePairwise(x[o*n:(o+1)*n], nil, 0, leaf)
		})
		return
	}
	reduceAxisCols(outer, n, inner, func(o, lo, hi int) {
		d := dst[o*inner+lo : o*inner+hi]
		clear(d)
		base := o * n * inner
		for j := 0; j < n; j++ {
			row := x[base+j*inner+lo : base+j*inner+hi]
			add(d, row)
		}
	})
}

// reduceMaxAxis is the shared body of MaxAxis and MaxAxis64.
func reduceMaxAxis[T reduceFloat](dst []T, arg []int32, x []T, outer, n, inner int,
	rowMax func([]T) T, indexEq func([]T, T) int, acc func(dst []T, arg []int32, x []T, j int32)) {
	if outer == 0 || inner == 0 {
		return
	}
	if inner == 1 {
		rowFn := func(o int) {
			row := x[o*n : (o+1)*n]
			var m T
			if outer == 1 {
				m = reduceMaxParallel(row, rowMax)
			} else {
				m = rowMax(row)
			}
			dst[o] = m
			if arg != nil {
				if m != m {
					arg[o] = int32(reduceIndexNaN(row))
				} else {
					arg[o] = int32(indexEq(row, m))
				}
			}
		}
		if outer == 1 {
			rowFn(0)
			return
		}
		reduceAxisRows(outer, n, rowFn)
		return
	}
	reduceAxisCols(outer, n, inner, func(o, lo, hi int) {
		d := dst[o*inner+lo : o*inner+hi]
		base := o * n * inner
		copy(d, x[base+lo:base+hi])
		var a []int32
		if arg != nil {
			a = arg[o*inner+lo : o*inner+hi]
			clear(a)
		}
		for j := 1; j < n; j++ {
			acc(d, a, x[base+j*inner+lo:base+j*inner+hi], int32(j))
		}
	})
}

// SumAxis sums x, viewed as a contiguous [outer, n, inner] array, over its
// middle axis: dst[o*inner+k] = sum_j x[(o*n+j)*inner+k]. dst holds
// outer*inner values. With inner == 1 each row is summed like Sum; otherwise
// rows of length inner are accumulated with vector adds in order j = 0..n-1.
// An empty axis (n == 0) gives zeros.
func SumAxis(dst, x []float32, outer, n, inner int) {
	reduceAxisCheck("SumAxis", len(dst), -1, len(x), outer, n, inner, false)
	t := Current()
	reduceSumAxis(dst, x, outer, n, inner, reduceSumLeaf32(t),
		func(d, r []float32) { reduceAdd32(t, d, r) })
}

// SumAxis64 is the float64 twin of SumAxis.
func SumAxis64(dst, x []float64, outer, n, inner int) {
	reduceAxisCheck("SumAxis64", len(dst), -1, len(x), outer, n, inner, false)
	reduceSumAxis(dst, x, outer, n, inner, reduceSumGeneric[float64], reduceAddGeneric[float64])
}

// SumSquaresAxis is SumAxis of x*x: dst[o*inner+k] = sum_j x[(o*n+j)*inner+k]^2
// (for norms along an axis).
func SumSquaresAxis(dst, x []float32, outer, n, inner int) {
	reduceAxisCheck("SumSquaresAxis", len(dst), -1, len(x), outer, n, inner, false)
	t := Current()
	reduceSumAxis(dst, x, outer, n, inner, reduceSumSqLeaf32(t),
		func(d, r []float32) { reduceAddSq32(t, d, r) })
}

// SumSquaresAxis64 is the float64 twin of SumSquaresAxis.
func SumSquaresAxis64(dst, x []float64, outer, n, inner int) {
	reduceAxisCheck("SumSquaresAxis64", len(dst), -1, len(x), outer, n, inner, false)
	reduceSumAxis(dst, x, outer, n, inner, reduceSumSqGeneric[float64], reduceAddSqGeneric[float64])
}

// MaxAxis takes the maximum of x, viewed as a contiguous [outer, n, inner]
// array, over its middle axis: dst[o*inner+k] = max_j x[(o*n+j)*inner+k],
// and, when arg is not nil, arg[o*inner+k] = the first j reaching it. A NaN
// counts as the maximum (the first NaN's index is reported), like torch.max.
// It panics when n == 0 and the output is not empty.
func MaxAxis(dst []float32, arg []int32, x []float32, outer, n, inner int) {
	larg := -1
	if arg != nil {
		larg = len(arg)
	}
	reduceAxisCheck("MaxAxis", len(dst), larg, len(x), outer, n, inner, true)
	t := Current()
	reduceMaxAxis(dst, arg, x, outer, n, inner,
		reduceMaxKernel32(t),
		func(s []float32, v float32) int { return reduceIndexEq32(t, s, v) },
		func(d []float32, a []int32, r []float32, j int32) { reduceMaxAcc32(t, d, a, r, j) })
}

// MaxAxis64 is the float64 twin of MaxAxis.
func MaxAxis64(dst []float64, arg []int32, x []float64, outer, n, inner int) {
	larg := -1
	if arg != nil {
		larg = len(arg)
	}
	reduceAxisCheck("MaxAxis64", len(dst), larg, len(x), outer, n, inner, true)
	reduceMaxAxis(dst, arg, x, outer, n, inner,
		reduceMaxGeneric[float64], reduceIndexEqGeneric[float64], reduceMaxAccGeneric[float64])
}
