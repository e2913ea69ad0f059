package cpu

// GEMM: C = alpha*op(A)*op(B) + beta*C on row-major matrices.
//
// Shapes: op(A) is m×k (A stored m×k, or k×m when transA), op(B) is k×n (B
// stored k×n, or n×k when transB), C is m×n; each matrix has a row stride
// (lda, ldb, ldc) at least its stored row length.
//
// Variants:
//   - Sgemm / SgemmBatched (float32): Goto/BLIS-style blocking. For each
//     NC-wide column block of C and each KC-deep slice of k, op(B) is packed
//     into KC×NR micro-panels (shared by all threads), op(A) into MR×KC
//     micro-panels in MC-row blocks (per thread), and a register-blocked
//     micro-kernel computes one MR×NR tile of C per call. Transposes are
//     absorbed by the packing (contiguous copies or in-register transposes
//     in assembly), so all four transpose combinations run the same kernels.
//     Micro-kernels by tier (gemm_gen.go writes their assembly):
//     AVX512: 14×32 (28 zmm accumulators + 2 B vectors + 2 broadcast
//     registers = all 32 zmm; per k step 16 loads for 28 FMAs, inside the two
//     loads per cycle that two FMA ports need). 6×64 and 8×48 kernels from
//     the same generator reached the same in-L1 speed (about 97% of the FMA
//     peak) in a micro-benchmark; 14×32 keeps the most accumulators, and its
//     NR = 32 divides the BERT widths 64, 768 and 3072 while 48 does not.
//     N-edge tiles use masked loads/stores.
//     AVX2: 6×16 (12 ymm accumulators + 2 B + 2 broadcast = 16 ymm); N-edge
//     tiles go through a scratch tile.
//     Both have one kernel per row count 1..MR, so M-edge tiles waste no FMAs.
//     Generic: 2×4 in plain Go (the largest tile whose accumulators stay in
//     the float registers Go allocates; measured fastest of 2×4, 2×6, 3×3,
//     3×4 and 4×4).
//   - Dgemm / DgemmBatched (float64, gemm_f64.go): plain Go; the reference
//     for the float32 kernels and the GEMM of the float64 dtype.
//
// Parallelism goes through the package pool: B packing is spread over its
// micro-panels, the compute over A micro-panels (rows of C) or, for short
// matrices, B micro-panels (columns), a few chunks per thread; chunks fall
// on micro-panel boundaries so the result does not depend on the thread
// count. Problems under gemmParallelFlops run on the calling thread. Batched
// calls run whole GEMMs per thread when the batch covers the threads.
//
// Benchmarks (gemm_bench_test.go, gemm_gonum_bench_test.go, fmapeak.go):
//
//	go test -run XXX -bench 'Sgemm|FMAPeak' ./kernels/cpu/

import (
	"fmt"
	"sync"
)

//go:generate go run gemm_gen.go

// Register-tile shapes (keep in sync with gemm_gen.go).
const (
	gemmMR512, gemmNR512 = 14, 32
	gemmMR256, gemmNR256 = 6, 16
	gemmMRGo, gemmNRGo   = 2, 4
)

// gemmParallelFlops is the problem size (2·m·n·k) below which Sgemm stays on
// the calling thread: a fork-join on the pool costs a few microseconds.
const gemmParallelFlops = 4 << 20

// sgemmKernelFunc is the signature of the assembly micro-kernels: one tile of
// C (mr rows fixed per function, NR columns, mask bit j enabling column j for
// the AVX-512 kernels) from a packed A micro-panel a (MR floats per k step)
// and a packed B micro-panel b (NR floats per k step).
type sgemmKernelFunc func(k int, a, b, c *float32, ldc int, alpha, beta float32, mask uint64)

// gemmBlocking holds one tier's register tile and cache blocks.
type gemmBlocking struct {
	tier   Tier
	mr, nr int  // register tile
	kc     int  // k slice
	mc     int  // rows per packed A block, a multiple of mr
	nc     int  // columns per packed B block, a multiple of nr
	aOuter bool // loop order of the macro-kernel (see sgemmMacro)
}

// The blocking of each tier, chosen by measurement on a 2-core Sapphire
// Rapids VM (48 KiB L1d, 2 MiB L2 per core), where most choices within these
// bounds were within noise of each other. The SIMD tiers loop over A
// micro-panels outside: one A micro-panel (MR·KC·4 bytes: 14 KiB for
// AVX-512) stays in L1 while the KC×NC block of B (1 MiB) streams from L2.
var gemmBlockings = [...]gemmBlocking{
	Generic: {tier: Generic, mr: gemmMRGo, nr: gemmNRGo, kc: 256, mc: 128, nc: 2048},
	AVX2:    {tier: AVX2, mr: gemmMR256, nr: gemmNR256, kc: 256, mc: 6 * 48, nc: 1024, aOuter: true},
	AVX512:  {tier: AVX512, mr: gemmMR512, nr: gemmNR512, kc: 256, mc: 14 * 12, nc: 1024, aOuter: true},
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C, row-major. op(A) is m×k (A
// is m×k with row stride lda, or k×m when transA), op(B) is k×n (B is k×n, or
// n×k when transB), C is m×n with row stride ldc. beta == 0 means C is not
// read (NaN/garbage in C is overwritten, as in BLAS). alpha == 0 or k == 0
// scales C by beta only. It panics when a size is negative, a leading
// dimension is smaller than its row length or a slice is too short.
func Sgemm(c []float32, ldc int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32) {
	checkGemm("Sgemm", len(c), ldc, transA, transB, m, n, k, len(a), lda, len(b), ldb)
	sgemm(Current(), c, ldc, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, Workers())
}

// SgemmBatched computes batch independent GEMMs as Sgemm does; matrix i
// starts at offset i*strideA / i*strideB / i*strideC in a / b / c. strideA or
// strideB may be 0 to broadcast one matrix over the batch; strideC must keep
// the C matrices apart. Whole GEMMs run in parallel when batch covers the
// pool's threads, otherwise each GEMM runs in parallel in turn.
func SgemmBatched(c []float32, ldc, strideC int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, batch int) {
	checkGemmBatched("SgemmBatched", len(c), ldc, strideC, transA, transB, m, n, k, len(a), lda, strideA, len(b), ldb, strideB, batch)
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		// Only C is touched (and a, b may be empty).
		for i := 0; i < batch; i++ {
			scaleC(c[i*strideC:], ldc, m, n, beta)
		}
		return
	}
	tier, threads := Current(), Workers()
	one := func(i int) {
		sgemm(tier, c[i*strideC:], ldc, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, 1)
	}
	if batch >= threads {
		ParallelChunks(batch, one)
		return
	}
	for i := 0; i < batch; i++ {
		sgemm(tier, c[i*strideC:], ldc, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, threads)
	}
}

// storedShape returns the rows and columns of a matrix as stored, given the
// rows and columns of op(X).
func storedShape(trans bool, rows, cols int) (int, int) {
	if trans {
		return cols, rows
	}
	return rows, cols
}

// matLen is the number of elements a rows×cols matrix with row stride ld
// spans (0 when it is empty).
func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// checkGemm panics when the sizes, leading dimensions or slice lengths of a
// GEMM call are inconsistent.
func checkGemm(fn string, lenC, ldc int, transA, transB bool, m, n, k, lenA, lda, lenB, ldb int) {
	checkGemmBatched(fn, lenC, ldc, 0, transA, transB, m, n, k, lenA, lda, 0, lenB, ldb, 0, 1)
}

// checkGemmBatched is checkGemm for a batch of GEMMs.
func checkGemmBatched(fn string, lenC, ldc, strideC int, transA, transB bool, m, n, k, lenA, lda, strideA, lenB, ldb, strideB, batch int) {
	if m < 0 || n < 0 || k < 0 || batch < 0 {
		panic(fmt.Sprintf("cpu.%s: negative size m=%d n=%d k=%d batch=%d", fn, m, n, k, batch))
	}
	ar, ac := storedShape(transA, m, k)
	br, bc := storedShape(transB, k, n)
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		panic(fmt.Sprintf("cpu.%s: leading dimension too small: lda=%d (A is %d×%d) ldb=%d (B is %d×%d) ldc=%d (C is %d×%d)",
			fn, lda, ar, ac, ldb, br, bc, ldc, m, n))
	}
	if strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("cpu.%s: negative stride strideA=%d strideB=%d strideC=%d", fn, strideA, strideB, strideC))
	}
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	sizeC := matLen(m, n, ldc)
	if batch > 1 && strideC < sizeC {
		panic(fmt.Sprintf("cpu.%s: strideC=%d overlaps the %d×%d C matrices (ldc=%d, each spans %d)", fn, strideC, m, n, ldc, sizeC))
	}
	if need := (batch-1)*strideC + sizeC; lenC < need {
		panic(fmt.Sprintf("cpu.%s: len(c)=%d, want >= %d (m=%d n=%d ldc=%d strideC=%d batch=%d)", fn, lenC, need, m, n, ldc, strideC, batch))
	}
	if k == 0 {
		return
	}
	if need := (batch-1)*strideA + matLen(ar, ac, lda); lenA < need {
		panic(fmt.Sprintf("cpu.%s: len(a)=%d, want >= %d (A is %d×%d, lda=%d strideA=%d batch=%d)", fn, lenA, need, ar, ac, lda, strideA, batch))
	}
	if need := (batch-1)*strideB + matLen(br, bc, ldb); lenB < need {
		panic(fmt.Sprintf("cpu.%s: len(b)=%d, want >= %d (B is %d×%d, ldb=%d strideB=%d batch=%d)", fn, lenB, need, br, bc, ldb, strideB, batch))
	}
}

// scaleC sets C = beta*C (C = 0 when beta == 0, without reading C).
func scaleC[F float32 | float64](c []F, ldc, m, n int, beta F) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmBufs recycles the packing buffers (no allocation per call once warm):
// gemmBufs[0] holds packed A blocks, gemmBufs[1] packed B blocks.
var gemmBufs [2]sync.Pool

const (
	bufA = 0
	bufB = 1
)

// getGemmBuf returns a recycled buffer of the given kind with at least n
// floats.
func getGemmBuf(kind, n int) *[]float32 {
	if p, ok := gemmBufs[kind].Get().(*[]float32); ok {
		if cap(*p) >= n {
			*p = (*p)[:n]
			return p
		}
	}
	s := make([]float32, n)
	return &s
}

// putGemmBuf returns a buffer from getGemmBuf.
func putGemmBuf(kind int, p *[]float32) { gemmBufs[kind].Put(p) }

// sgemmCall carries one validated Sgemm through its blocks.
type sgemmCall struct {
	bl             *gemmBlocking
	c              []float32
	ldc            int
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32

	// The current block: columns [jc, jc+nc) of C, k slice [pc, pc+kc),
	// op(B) packed in bp, and the beta it applies.
	bp      []float32
	jc, nc  int
	pc, kc  int
	npb     int // B micro-panels in the block
	blkBeta float32
}

// sgemm runs a validated Sgemm on tier with up to threads threads.
func sgemm(tier Tier, c []float32, ldc int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, threads int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(c, ldc, m, n, beta)
		return
	}
	s := sgemmCall{
		bl: &gemmBlockings[tier], c: c, ldc: ldc, transA: transA, transB: transB,
		m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
	}
	if threads > 1 && 2*float64(m)*float64(n)*float64(k) >= gemmParallelFlops {
		sgemmParallel(&s, threads)
		return
	}
	bl := s.bl
	bbuf := getGemmBuf(bufB, min(bl.kc, k)*roundUp(min(bl.nc, n), bl.nr))
	for s.jc = 0; s.jc < n; s.jc += bl.nc {
		for s.pc = 0; s.pc < k; s.pc += bl.kc {
			s.setBlock(*bbuf)
			s.packBPanels(0, s.npb)
			s.compute(0, m, 0, s.nc)
		}
	}
	putGemmBuf(bufB, bbuf)
}

// sgemmParallel is sgemm's loop with the packing of B and the compute
// spread over the pool; it works on a copy of *s0 that the workers share.
// Both phases hand out several chunks per thread (Parallel's dynamic
// chunking), so a thread slowed down by other work takes fewer of them.
func sgemmParallel(s0 *sgemmCall, threads int) {
	s := new(sgemmCall)
	*s = *s0
	bl := s.bl
	bbuf := getGemmBuf(bufB, min(bl.kc, s.k)*roundUp(min(bl.nc, s.n), bl.nr))
	mpan := (s.m + bl.mr - 1) / bl.mr
	packB := func(lo, hi int) { s.packBPanels(lo, hi) }
	// Rows of C when there are enough A micro-panels, else columns; either
	// way chunks fall on micro-panel boundaries, so every element's sum runs
	// in the same order as on one thread.
	byRows := func(lo, hi int) { s.compute(lo*bl.mr, min(hi*bl.mr, s.m), 0, s.nc) }
	byCols := func(lo, hi int) { s.compute(0, s.m, lo*bl.nr, min(hi*bl.nr, s.nc)) }
	for s.jc = 0; s.jc < s.n; s.jc += bl.nc {
		for s.pc = 0; s.pc < s.k; s.pc += bl.kc {
			s.setBlock(*bbuf)
			Parallel(s.npb, 1, packB)
			if mpan >= 2*threads || mpan >= s.npb {
				Parallel(mpan, 1, byRows)
			} else {
				Parallel(s.npb, 1, byCols)
			}
		}
	}
	putGemmBuf(bufB, bbuf)
}

// setBlock sets the block fields for the current jc and pc.
func (s *sgemmCall) setBlock(bbuf []float32) {
	bl := s.bl
	s.nc = min(bl.nc, s.n-s.jc)
	s.kc = min(bl.kc, s.k-s.pc)
	s.npb = (s.nc + bl.nr - 1) / bl.nr
	s.bp = bbuf[:s.npb*bl.nr*s.kc]
	s.blkBeta = s.beta
	if s.pc > 0 {
		s.blkBeta = 1
	}
}

// packBPanels packs B micro-panels [lo, hi) of the current block.
func (s *sgemmCall) packBPanels(lo, hi int) {
	packB(s.bl.tier, s.bp, s.b, s.ldb, s.transB, s.pc, s.kc, s.jc, s.nc, lo, hi, s.bl.nr)
}

// compute runs the current block over C rows [i0, i1) and block columns
// [jlo, jhi), packing A in MC-row pieces into a recycled buffer.
func (s *sgemmCall) compute(i0, i1, jlo, jhi int) {
	if i0 >= i1 || jlo >= jhi {
		return
	}
	bl := s.bl
	// The packed A block, then a scratch tile for the macro-kernel.
	na := min(bl.mc, roundUp(i1-i0, bl.mr)) * s.kc
	abuf := getGemmBuf(bufA, na+bl.mr*bl.nr)
	ap, scratch := (*abuf)[:na], (*abuf)[na:]
	for ic := i0; ic < i1; ic += bl.mc {
		mc := min(bl.mc, i1-ic)
		packA(bl.tier, ap, s.a, s.lda, s.transA, ic, mc, s.pc, s.kc, bl.mr)
		sgemmMacro(bl, s.c, s.ldc, ap, s.bp[jlo*s.kc:], scratch, mc, jhi-jlo, s.kc, s.alpha, s.blkBeta, ic, s.jc+jlo)
	}
	putGemmBuf(bufA, abuf)
}

// roundUp rounds n up to a multiple of q.
func roundUp(n, q int) int { return (n + q - 1) / q * q }

// packA packs rows [i0, i0+rows) and columns [p0, p0+kc) of op(A) into
// micro-panels of mr rows: element (i, p) of panel q goes to
// dst[q*mr*kc + p*mr + i]. Rows past the end of the last panel are zero.
func packA(tier Tier, dst, a []float32, lda int, transA bool, i0, rows, p0, kc, mr int) {
	npan := (rows + mr - 1) / mr
	last := rows - (npan-1)*mr
	if transA && packCopyAsm(tier, mr) {
		// A is k×m: row p0+p of A holds step p of every panel.
		packCopyRows(tier, dst, mr*kc, mr, a[p0*lda+i0:], lda, kc, npan, last)
		return
	}
	var (
		offs  [16]int
		offs8 [8]int
		masks [32]int32
	)
	for q := 0; q < npan; q++ {
		r := min(mr, rows-q*mr)
		pan := dst[q*mr*kc : (q+1)*mr*kc]
		row0 := i0 + q*mr
		switch {
		case transA:
		case hasAsm && tier == AVX512 && mr <= 16:
			rowOffsets(offs[:], r, lda)
			gemmTransPack512(&pan[0], mr, &a[row0*lda+p0], &offs, kc, 1<<uint(r)-1, 1<<uint(mr)-1)
			continue
		case hasAsm && tier == AVX2 && mr <= 8:
			rowOffsets(offs8[:], r, lda)
			transMasks256(&masks, r, mr)
			gemmTransPack256(&pan[0], mr, &a[row0*lda+p0], &offs8, kc, &masks)
			continue
		}
		if transA {
			// A is k×m: a panel step is r contiguous floats of one A row.
			for p := 0; p < kc; p++ {
				d := pan[p*mr : p*mr+mr]
				copy(d, a[(p0+p)*lda+row0:(p0+p)*lda+row0+r])
				clear(d[r:])
			}
			continue
		}
		// A is m×k: transpose r rows into the panel.
		for i := 0; i < r; i++ {
			src := a[(row0+i)*lda+p0 : (row0+i)*lda+p0+kc]
			d := pan[i:]
			for p, v := range src {
				d[p*mr] = v
			}
		}
		for i := r; i < mr; i++ {
			for p := 0; p < kc; p++ {
				pan[p*mr+i] = 0
			}
		}
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B), panels
// [qlo, qhi) of nr columns each: element (p, j) of panel q goes to
// dst[q*nr*kc + p*nr + j]. Columns past nc are zero.
func packB(tier Tier, dst, b []float32, ldb int, transB bool, p0, kc, j0, nc, qlo, qhi, nr int) {
	if qlo >= qhi {
		return
	}
	if !transB && packCopyAsm(tier, nr) {
		// B is k×n: row p0+p of B holds step p of every panel.
		last := min(nr, nc-(qhi-1)*nr)
		packCopyRows(tier, dst[qlo*nr*kc:], nr*kc, nr, b[p0*ldb+j0+qlo*nr:], ldb, kc, qhi-qlo, last)
		return
	}
	var (
		offs  [16]int
		offs8 [8]int
		masks [32]int32
	)
	for q := qlo; q < qhi; q++ {
		w := min(nr, nc-q*nr)
		pan := dst[q*nr*kc : (q+1)*nr*kc]
		col0 := j0 + q*nr
		switch {
		case !transB:
		case hasAsm && tier == AVX512 && nr == 32:
			// Two transposes of 16 rows of B; the second reads nothing
			// when w <= 16 (its rows are all masked off).
			src := &b[col0*ldb+p0]
			w0 := min(w, 16)
			rowOffsets(offs[:], w0, ldb)
			gemmTransPack512(&pan[0], nr, src, &offs, kc, 1<<uint(w0)-1, 1<<16-1)
			if w > 16 {
				src = &b[(col0+16)*ldb+p0]
			}
			rowOffsets(offs[:], max(1, w-w0), ldb)
			gemmTransPack512(&pan[16], nr, src, &offs, kc, 1<<uint(w-w0)-1, 1<<16-1)
			continue
		case hasAsm && tier == AVX2 && nr == 16:
			src := &b[col0*ldb+p0]
			w0 := min(w, 8)
			rowOffsets(offs8[:], w0, ldb)
			transMasks256(&masks, w0, 8)
			gemmTransPack256(&pan[0], nr, src, &offs8, kc, &masks)
			if w > 8 {
				src = &b[(col0+8)*ldb+p0]
			}
			rowOffsets(offs8[:], max(1, w-w0), ldb)
			transMasks256(&masks, w-w0, 8)
			gemmTransPack256(&pan[8], nr, src, &offs8, kc, &masks)
			continue
		}
		if !transB {
			// B is k×n: a panel step is w contiguous floats of one B row.
			for p := 0; p < kc; p++ {
				d := pan[p*nr : p*nr+nr]
				copy(d, b[(p0+p)*ldb+col0:(p0+p)*ldb+col0+w])
				clear(d[w:])
			}
			continue
		}
		// B is n×k: transpose w rows of B into the panel.
		for j := 0; j < w; j++ {
			src := b[(col0+j)*ldb+p0 : (col0+j)*ldb+p0+kc]
			d := pan[j:]
			for p, v := range src {
				d[p*nr] = v
			}
		}
		for j := w; j < nr; j++ {
			for p := 0; p < kc; p++ {
				pan[p*nr+j] = 0
			}
		}
	}
}

// packCopyAsm reports whether tier has an assembly copy-pack for panels of
// step floats.
func packCopyAsm(tier Tier, step int) bool {
	return hasAsm && (tier == AVX512 && step <= 32 || tier == AVX2 && step <= 16)
}

// packCopyRows packs npan panels of step floats per k step from src, whose
// row p (stride ld) holds step p of each panel side by side, the last panel
// having only last valid floats (the rest of it zero):
// dst[q*panelStride + p*step + j] = src[p*ld + q*step + j].
func packCopyRows(tier Tier, dst []float32, panelStride, step int, src []float32, ld, kc, npan, last int) {
	// The last element read and the last element written, checked here so
	// that the assembly stays inside both slices.
	_ = src[(kc-1)*ld+(npan-1)*step+last-1]
	_ = dst[(npan-1)*panelStride+kc*step-1]
	if tier == AVX512 {
		gemmCopyPackRows512(&dst[0], panelStride, step, &src[0], ld, kc, npan, uint32(1)<<uint(step)-1, uint32(1)<<uint(last)-1)
		return
	}
	var m [48]int32
	for i := 0; i < 8; i++ {
		m[i], m[8+i] = laneMask(i, step), laneMask(8+i, step)
		m[16+i], m[24+i] = laneMask(i, last), laneMask(8+i, last)
		m[32+i], m[40+i] = laneMask(i, step), laneMask(8+i, step)
	}
	gemmCopyPackRows256(&dst[0], panelStride, step, &src[0], ld, kc, npan, &m)
}

// rowOffsets sets o to the byte offsets of the rows of a matrix with row
// stride ld, rows from r on repeating row r-1 (read, then masked off).
func rowOffsets(o []int, r, ld int) {
	for i := range o {
		o[i] = min(i, r-1) * ld * 4
	}
}

// laneMask returns -1 for lanes below n, else 0.
func laneMask(lane, n int) int32 {
	if lane < n {
		return -1
	}
	return 0
}

// transMasks256 sets m to gemmTransPack256's masks: r valid rows, s stored
// lanes, and the column-tail table.
func transMasks256(m *[32]int32, r, s int) {
	for i := 0; i < 8; i++ {
		m[i], m[8+i], m[16+i], m[24+i] = laneMask(i, r), laneMask(i, s), -1, 0
	}
}

// sgemmMacro multiplies a packed mc×kc block of op(A) (ap) by a packed kc×nc
// block of op(B) (bp) into C rows [i0, i0+mc), columns [j0, j0+nc):
// C = alpha*A·B + beta*C, one micro-kernel call per MR×NR tile. With
// bl.aOuter the loop over A micro-panels is the outer one (each A panel stays
// in L1 while the B block streams from L2), otherwise the B micro-panel stays
// in L1 while the A block streams (the classic BLIS order).
//
// scratch holds one MR×NR tile for the N-edge tiles of the AVX2 kernels.
func sgemmMacro(bl *gemmBlocking, c []float32, ldc int, ap, bp, scratch []float32, mc, nc, kc int, alpha, beta float32, i0, j0 int) {
	MR, NR := bl.mr, bl.nr
	var tile func(ir, jr int)
	switch bl.tier {
	case AVX512:
		kern := &sgemmKernelsAVX512
		tile = func(ir, jr int) {
			mr, nr := min(MR, mc-ir), min(NR, nc-jr)
			kern[mr-1](kc, &ap[ir*kc], &bp[jr*kc], &c[(i0+ir)*ldc+j0+jr], ldc, alpha, beta, uint64(1)<<uint(nr)-1)
		}
	case AVX2:
		kern := &sgemmKernelsAVX2
		tile = func(ir, jr int) {
			mr, nr := min(MR, mc-ir), min(NR, nc-jr)
			if nr == NR {
				kern[mr-1](kc, &ap[ir*kc], &bp[jr*kc], &c[(i0+ir)*ldc+j0+jr], ldc, alpha, beta, 0)
				return
			}
			// N edge: compute alpha*A·B into a scratch tile, then merge
			// the valid columns.
			kern[mr-1](kc, &ap[ir*kc], &bp[jr*kc], &scratch[0], NR, alpha, 0, 0)
			mergeTile(c[(i0+ir)*ldc+j0+jr:], ldc, scratch[:], NR, mr, nr, beta)
		}
	default:
		tile = func(ir, jr int) {
			mr, nr := min(MR, mc-ir), min(NR, nc-jr)
			sgemmKernelGo2x4(kc, ap[ir*kc:ir*kc+MR*kc], bp[jr*kc:jr*kc+NR*kc], c[(i0+ir)*ldc+j0+jr:], ldc, mr, nr, alpha, beta)
		}
	}
	if bl.aOuter {
		for ir := 0; ir < mc; ir += MR {
			for jr := 0; jr < nc; jr += NR {
				tile(ir, jr)
			}
		}
		return
	}
	for jr := 0; jr < nc; jr += NR {
		for ir := 0; ir < mc; ir += MR {
			tile(ir, jr)
		}
	}
}

// mergeTile sets C = T + beta*C over an mr×nr tile (C not read when
// beta == 0); T already carries alpha.
func mergeTile(c []float32, ldc int, t []float32, ldt, mr, nr int, beta float32) {
	for i := 0; i < mr; i++ {
		dst := c[i*ldc : i*ldc+nr]
		src := t[i*ldt : i*ldt+nr]
		if beta == 0 {
			copy(dst, src)
			continue
		}
		for j := range dst {
			dst[j] = src[j] + beta*dst[j]
		}
	}
}

// sgemmKernelGo2x4 is the generic tier's micro-kernel: a 2×4 register tile
// from a packed A micro-panel (2 floats per k step) and a packed B
// micro-panel (4 per k step), writing the top-left mr×nr part:
// C = alpha*A·B + beta*C (C not read when beta == 0).
func sgemmKernelGo2x4(k int, a, b, c []float32, ldc, mr, nr int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	a = a[:2*k]
	b = b[:4*k]
	// Two k steps per iteration; the loop condition lets the compiler drop
	// the bounds checks.
	for len(a) >= 4 && len(b) >= 8 {
		aa, bb := a[:4:4], b[:8:8]
		b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
		a0, a1 := aa[0], aa[1]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		b0, b1, b2, b3 = bb[4], bb[5], bb[6], bb[7]
		a0, a1 = aa[2], aa[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a, b = a[4:], b[8:]
	}
	if len(a) >= 2 && len(b) >= 4 {
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a0, a1 := a[0], a[1]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	acc := [2][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}}
	for i := 0; i < mr; i++ {
		dst := c[i*ldc : i*ldc+nr]
		if beta == 0 {
			for j := range dst {
				dst[j] = alpha * acc[i][j]
			}
			continue
		}
		for j := range dst {
			dst[j] = alpha*acc[i][j] + beta*dst[j]
		}
	}
}

// sgemmMicroRef is the plain-Go twin of every micro-kernel, for any tile
// shape: C = alpha*A·B + beta*C over the top-left mr×nr part of an MR×NR tile
// computed from packed micro-panels a (MR per k step) and b (NR per k step).
func sgemmMicroRef(k, MR, NR, mr, nr int, a, b, c []float32, ldc int, alpha, beta float32) {
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var s float32
			for p := 0; p < k; p++ {
				s += a[p*MR+i] * b[p*NR+j]
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
