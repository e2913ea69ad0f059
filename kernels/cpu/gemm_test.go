package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// Accuracy convention for the float32 GEMMs. The rounding error of a float32
// sum of k products is bounded by about k·ε·M and is typically √k·ε·M, where
// M_ij = |alpha|·Σ_p |op(A)_ip·op(B)_pj| + |beta·C_ij| is the magnitude of
// the terms summed (ε = 2^-24). An element-wise relative tolerance on C
// itself is meaningless where the terms cancel, so the tests compare C/M
// (got and float64 reference both divided by M) at testutil.F32Accum: its
// absolute part 1e-5 then bounds the error relative to the terms' magnitude,
// which holds with a wide margin for random data up to k of a few thousand
// (√1031·ε ≈ 2e-6). The same normalisation compares the assembly
// micro-kernels with their plain-Go twin.

// gemmCase is one Sgemm call: sizes, transposes, scalars and how much each
// leading dimension exceeds its row length.
type gemmCase struct {
	m, n, k          int
	transA, transB   bool
	alpha, beta      float32
	padA, padB, padC int
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("m%d_n%d_k%d_%s%s_a%g_b%g_pad%d.%d.%d", tc.m, tc.n, tc.k, t(tc.transA), t(tc.transB), tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
}

// gemmInputs holds one case's operands: A and B with NaN in the padding
// beyond each row (never to be read), C's initial values.
type gemmInputs struct {
	tc       gemmCase
	a, b     []float32
	lda, ldb int
	ldc      int
	c0       []float32 // initial C (NaN where it must not matter)
}

func newGemmInputs(r *rand.Rand, tc gemmCase) *gemmInputs {
	in := &gemmInputs{tc: tc}
	ar, ac := storedShape(tc.transA, tc.m, tc.k)
	br, bc := storedShape(tc.transB, tc.k, tc.n)
	in.lda, in.ldb, in.ldc = max(1, ac)+tc.padA, max(1, bc)+tc.padB, max(1, tc.n)+tc.padC
	in.a = poisonedMatrix(r, ar, ac, in.lda)
	in.b = poisonedMatrix(r, br, bc, in.ldb)
	in.c0 = poisonedMatrix(r, tc.m, tc.n, in.ldc)
	if tc.beta == 0 {
		// beta == 0: C must not be read, so its NaNs must vanish.
		for i := range in.c0 {
			in.c0[i] = float32(math.NaN())
		}
	}
	return in
}

// poisonedMatrix returns a rows×cols matrix with stride ld, uniform in
// [-1, 1), NaN between the end of a row and the start of the next.
func poisonedMatrix(r *rand.Rand, rows, cols, ld int) []float32 {
	s := testutil.Uniform32(r, matLen(rows, cols, ld), -1, 1)
	if len(s) == 0 {
		return s
	}
	for i := 0; i < rows-1; i++ {
		for j := cols; j < ld; j++ {
			s[i*ld+j] = float32(math.NaN())
		}
	}
	return s
}

// run calls Sgemm into a guarded buffer holding c0 and returns the result.
func (in *gemmInputs) run(t *testing.T) []float32 {
	t.Helper()
	tc := in.tc
	g := testutil.NewGuarded32(len(in.c0))
	copy(g.Data, in.c0)
	Sgemm(g.Data, in.ldc, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, in.a, in.lda, in.b, in.ldb, tc.beta)
	g.Check(t)
	in.checkGaps(t, g.Data)
	return g.Data
}

// checkGaps fails t if an element between the rows of C changed.
func (in *gemmInputs) checkGaps(t *testing.T, c []float32) {
	t.Helper()
	if len(c) == 0 {
		return
	}
	for i := 0; i < in.tc.m-1; i++ {
		for j := in.tc.n; j < in.ldc; j++ {
			if v := c[i*in.ldc+j]; !math.IsNaN(float64(v)) {
				t.Fatalf("C[%d][%d] beyond the row (ldc=%d) was written: %g", i, j, in.ldc, v)
			}
		}
	}
}

// reference returns the float64 result and the magnitude M of the terms
// behind each element (see the accuracy convention above), both from Dgemm.
func (in *gemmInputs) reference() (want, mag []float64) {
	tc := in.tc
	want = testutil.To64(in.c0)
	Dgemm(want, in.ldc, tc.transA, tc.transB, tc.m, tc.n, tc.k, float64(tc.alpha), testutil.To64(in.a), in.lda, testutil.To64(in.b), in.ldb, float64(tc.beta))
	abs := func(s []float32) []float64 {
		d := testutil.To64(s)
		for i, v := range d {
			d[i] = math.Abs(v)
		}
		return d
	}
	mag = abs(in.c0)
	if tc.beta == 0 {
		clear(mag)
	}
	Dgemm(mag, in.ldc, tc.transA, tc.transB, tc.m, tc.n, tc.k, math.Abs(float64(tc.alpha)), abs(in.a), in.lda, abs(in.b), in.ldb, math.Abs(float64(tc.beta)))
	return want, mag
}

// assertGemmClose compares the valid m×n part of got with want, both
// divided by mag, at level.
func assertGemmClose(t *testing.T, name string, m, n, ldc int, got []float32, want, mag []float64, level testutil.Level) bool {
	t.Helper()
	g := make([]float64, 0, m*n)
	w := make([]float64, 0, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := mag[i*ldc+j]
			if s == 0 {
				s = 1
			}
			g = append(g, float64(got[i*ldc+j])/s)
			w = append(w, want[i*ldc+j]/s)
		}
	}
	return testutil.AssertClose(t, name, g, w, level)
}

// checkCase runs one case and compares it with the float64 reference.
func checkCase(t *testing.T, r *rand.Rand, tc gemmCase) {
	t.Helper()
	in := newGemmInputs(r, tc)
	got := in.run(t)
	want, mag := in.reference()
	assertGemmClose(t, "Sgemm "+tc.String(), tc.m, tc.n, in.ldc, got, want, mag, testutil.F32Accum)
}

// randomGemmCases returns n cases with sizes in [1, maxSize] and random
// transposes, scalars and paddings.
func randomGemmCases(r *rand.Rand, count, maxSize int) []gemmCase {
	scalars := [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {-1.5, 0}, {2, 0.25}}
	cs := make([]gemmCase, count)
	for i := range cs {
		s := scalars[r.IntN(len(scalars))]
		cs[i] = gemmCase{
			m: 1 + r.IntN(maxSize), n: 1 + r.IntN(maxSize), k: 1 + r.IntN(maxSize),
			transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
			alpha: s[0], beta: s[1],
			padA: r.IntN(3) * r.IntN(5), padB: r.IntN(3) * r.IntN(5), padC: r.IntN(3) * r.IntN(5),
		}
	}
	return cs
}

func TestSgemmSmall(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(1)
		for _, tc := range randomGemmCases(r, 300, 37) {
			checkCase(t, r, tc)
		}
	})
}

func TestSgemmTransposesAndScalars(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(2)
		for _, sz := range [][3]int{{1, 1, 1}, {3, 5, 7}, {14, 32, 16}, {15, 33, 17}, {29, 65, 31}, {6, 16, 1}, {7, 17, 2}} {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, s := range [][2]float32{{1, 0}, {1, 1}, {-0.75, 0.5}, {0, 0}, {0, 1}, {0, -3}, {1, float32(math.Copysign(0, -1))}} {
						tc := gemmCase{m: sz[0], n: sz[1], k: sz[2], transA: tA, transB: tB, alpha: s[0], beta: s[1], padA: 2, padB: 3, padC: 1}
						checkCase(t, r, tc)
					}
				}
			}
		}
	})
}

// TestSgemmEmpty covers m, n or k of zero: C untouched, or scaled by beta.
func TestSgemmEmpty(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(3)
		for _, sz := range [][3]int{{0, 0, 0}, {0, 5, 3}, {4, 0, 3}, {4, 5, 0}, {1, 1, 0}, {17, 33, 0}} {
			for _, beta := range []float32{0, 1, 0.5} {
				for _, tA := range []bool{false, true} {
					checkCase(t, r, gemmCase{m: sz[0], n: sz[1], k: sz[2], transA: tA, transB: !tA, alpha: 1, beta: beta, padC: 2})
				}
			}
		}
		// Empty operands may be nil.
		Sgemm(nil, 1, false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0)
		c := []float32{float32(math.NaN()), 2}
		Sgemm(c, 2, false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0)
		if c[0] != 0 || c[1] != 0 {
			t.Errorf("k=0 beta=0: C = %v, want zeros", c)
		}
		// k == 0 in a batch: A and B are not referenced, whatever their strides.
		cb := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		SgemmBatched(cb, 2, 4, false, true, 2, 2, 0, 1, nil, 1, 5, nil, 1, 7, 0.5, 3)
		for i, v := range cb {
			if want := 0.5 * float32(i+1); v != want {
				t.Fatalf("batched k=0 beta=0.5: C[%d] = %g, want %g", i, v, want)
			}
		}
	})
}

// TestSgemmBlockEdges runs sizes around the register tiles and cache blocks
// of every tier, and one large odd case.
func TestSgemmBlockEdges(t *testing.T) {
	cases := []gemmCase{
		{m: 300, n: 517, k: 1031, alpha: 1, beta: 0, padA: 3, padB: 1, padC: 5},
		{m: 255, n: 257, k: 257, transA: true, alpha: 0.5, beta: 1},
		{m: 257, n: 255, k: 255, transB: true, alpha: 1, beta: -1, padC: 1},
		{m: 169, n: 97, k: 256, transA: true, transB: true, alpha: 1, beta: 0},
		{m: 168, n: 96, k: 512, alpha: -1, beta: 0.5, padA: 1},
		{m: 29, n: 63, k: 511, transB: true, alpha: 1, beta: 0},
		{m: 3, n: 3073, k: 5, alpha: 1, beta: 0.5, padB: 2},
		{m: 30, n: 1025, k: 300, transA: true, alpha: 1, beta: 1, padA: 1},
		{m: 3, n: 3075, k: 300, transB: true, alpha: 1, beta: 0},
		{m: 2049, n: 3, k: 4, transA: true, alpha: 1, beta: 0},
	}
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(4)
		for _, tc := range cases {
			checkCase(t, r, tc)
		}
	})
}

// TestSgemmThreads checks that the result does not depend on the number of
// threads (bit for bit: the split never changes a sum's order), for a split
// over rows and over columns.
func TestSgemmThreads(t *testing.T) {
	cases := []gemmCase{
		{m: 211, n: 301, k: 129, alpha: 1, beta: 0.5, padC: 3},
		{m: 157, n: 83, k: 300, transA: true, transB: true, alpha: 1, beta: 0},
		{m: 20, n: 700, k: 300, transB: true, alpha: 1, beta: 0},
		{m: 5, n: 3100, k: 140, alpha: 2, beta: 1},
	}
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(5)
		for _, tc := range cases {
			in := newGemmInputs(r, tc)
			prev := SetThreads(1)
			one := in.run(t)
			for _, threads := range []int{2, 3} {
				SetThreads(threads)
				got := in.run(t)
				testutil.AssertClose(t, fmt.Sprintf("%v threads=%d vs 1", tc, threads), got, one, testutil.Exact)
			}
			SetThreads(prev)
			want, mag := in.reference()
			assertGemmClose(t, tc.String(), tc.m, tc.n, in.ldc, one, want, mag, testutil.F32Accum)
		}
	})
}

func TestSgemmBatched(t *testing.T) {
	type batchCase struct {
		gemmCase
		batch            int
		bcastA, bcastB   bool
		gapA, gapB, gapC int // extra elements between matrices
	}
	cases := []batchCase{
		{gemmCase: gemmCase{m: 13, n: 17, k: 9, alpha: 1, beta: 0}, batch: 5, gapA: 1, gapB: 2, gapC: 3},
		{gemmCase: gemmCase{m: 33, n: 20, k: 40, transB: true, alpha: 0.5, beta: 1, padC: 2}, batch: 4, bcastA: true},
		{gemmCase: gemmCase{m: 16, n: 31, k: 64, transA: true, alpha: 1, beta: 0}, batch: 3, bcastB: true, gapC: 1},
		{gemmCase: gemmCase{m: 128, n: 96, k: 300, alpha: 1, beta: 0}, batch: 1},
		{gemmCase: gemmCase{m: 100, n: 200, k: 150, transB: true, alpha: 1, beta: 2}, batch: 2, bcastA: true},
		{gemmCase: gemmCase{m: 3, n: 4, k: 5, alpha: 1, beta: 0}, batch: 0},
		{gemmCase: gemmCase{m: 3, n: 4, k: 0, alpha: 1, beta: 0.5}, batch: 3, gapA: 2, gapB: 1, gapC: 1},
		{gemmCase: gemmCase{m: 5, n: 7, k: 6, alpha: 0, beta: 0}, batch: 3, gapC: 2},
	}
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(6)
		for _, threads := range []int{1, 2, 3} {
			prev := SetThreads(threads)
			for _, bc := range cases {
				tc := bc.gemmCase
				ins := make([]*gemmInputs, max(1, bc.batch))
				for i := range ins {
					ins[i] = newGemmInputs(r, tc)
				}
				in0 := ins[0]
				sizeA, sizeB, sizeC := len(in0.a)+bc.gapA, len(in0.b)+bc.gapB, len(in0.c0)+bc.gapC
				strideA, strideB := sizeA, sizeB
				if bc.bcastA {
					strideA = 0
				}
				if bc.bcastB {
					strideB = 0
				}
				a := make([]float32, max(1, bc.batch)*sizeA)
				b := make([]float32, max(1, bc.batch)*sizeB)
				g := testutil.NewGuarded32(max(0, bc.batch*sizeC-bc.gapC))
				for i, in := range ins[:bc.batch] {
					if bc.bcastA {
						in.a = in0.a
					}
					if bc.bcastB {
						in.b = in0.b
					}
					copy(a[i*strideA:], in.a)
					copy(b[i*strideB:], in.b)
					copy(g.Data[i*sizeC:], in.c0)
				}
				SgemmBatched(g.Data, in0.ldc, sizeC, tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha,
					a, in0.lda, strideA, b, in0.ldb, strideB, tc.beta, bc.batch)
				g.Check(t)
				for i, in := range ins[:bc.batch] {
					got := g.Data[i*sizeC : i*sizeC+len(in.c0)]
					in.checkGaps(t, got)
					for j := len(in.c0); j < sizeC && i*sizeC+j < len(g.Data); j++ {
						if v := g.Data[i*sizeC+j]; !math.IsNaN(float64(v)) {
							t.Fatalf("batch gap after matrix %d written: %g", i, v)
						}
					}
					// Same bits as a lone Sgemm on the same tier.
					testutil.AssertClose(t, fmt.Sprintf("threads=%d %v batch %d/%d vs Sgemm", threads, tc, i, bc.batch), got, in.run(t), testutil.Exact)
					want, mag := in.reference()
					assertGemmClose(t, fmt.Sprintf("threads=%d %v batch %d/%d", threads, tc, i, bc.batch), tc.m, tc.n, in.ldc, got, want, mag, testutil.F32Accum)
				}
			}
			SetThreads(prev)
		}
	})
}

// naiveDgemm is the textbook triple loop, the reference for Dgemm.
func naiveDgemm(c []float64, ldc int, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

func TestDgemm(t *testing.T) {
	r := testutil.NewRand(7)
	cases := append(randomGemmCases(r, 60, 37),
		gemmCase{m: 67, n: 300, k: 513, alpha: 1, beta: 0.5, padA: 1, padB: 2, padC: 3},
		gemmCase{m: 301, n: 70, k: 260, transA: true, transB: true, alpha: -2, beta: 0},
		gemmCase{m: 5, n: 6, k: 0, alpha: 1, beta: 3},
		gemmCase{m: 5, n: 6, k: 7, alpha: 0, beta: 0},
	)
	for _, threads := range []int{1, 3} {
		prev := SetThreads(threads)
		for _, tc := range cases {
			ar, ac := storedShape(tc.transA, tc.m, tc.k)
			br, bc := storedShape(tc.transB, tc.k, tc.n)
			lda, ldb, ldc := max(1, ac)+tc.padA, max(1, bc)+tc.padB, max(1, tc.n)+tc.padC
			a := testutil.Uniform64(r, matLen(ar, ac, lda), -1, 1)
			b := testutil.Uniform64(r, matLen(br, bc, ldb), -1, 1)
			c0 := testutil.Uniform64(r, matLen(tc.m, tc.n, ldc), -1, 1)
			g := testutil.NewGuarded64(len(c0))
			copy(g.Data, c0)
			want := append([]float64(nil), c0...)
			if tc.beta == 0 {
				for i := 0; i < tc.m; i++ {
					for j := 0; j < tc.n; j++ {
						g.Data[i*ldc+j] = math.NaN()
					}
				}
			}
			Dgemm(g.Data, ldc, tc.transA, tc.transB, tc.m, tc.n, tc.k, float64(tc.alpha), a, lda, b, ldb, float64(tc.beta))
			g.Check(t)
			naiveDgemm(want, ldc, tc.transA, tc.transB, tc.m, tc.n, tc.k, float64(tc.alpha), a, lda, b, ldb, float64(tc.beta))
			testutil.AssertClose(t, fmt.Sprintf("Dgemm threads=%d %v", threads, tc), g.Data, want, testutil.F64)
		}
		SetThreads(prev)
	}
}

func TestDgemmBatched(t *testing.T) {
	r := testutil.NewRand(8)
	const m, n, k, batch = 9, 11, 13, 4
	a := testutil.Uniform64(r, m*k, -1, 1) // broadcast
	b := testutil.Uniform64(r, batch*n*k, -1, 1)
	for _, threads := range []int{1, 2, 5} {
		prev := SetThreads(threads)
		c := testutil.Uniform64(r, batch*m*n, -1, 1)
		want := append([]float64(nil), c...)
		DgemmBatched(c, n, m*n, false, true, m, n, k, 1.5, a, k, 0, b, k, n*k, 0.5, batch)
		for i := 0; i < batch; i++ {
			naiveDgemm(want[i*m*n:], n, false, true, m, n, k, 1.5, a, k, b[i*n*k:], k, 0.5)
		}
		testutil.AssertClose(t, fmt.Sprintf("DgemmBatched threads=%d", threads), c, want, testutil.F64)
		SetThreads(prev)
	}
}

// TestSgemmMicroKernels runs every assembly micro-kernel (every row count,
// N-edge masks for AVX-512) against the plain-Go twin on the same packed
// panels, with guards around the C tile.
func TestSgemmMicroKernels(t *testing.T) {
	type kernelSet struct {
		tier   Tier
		mr, nr int
		kerns  []sgemmKernelFunc
		masked bool
	}
	sets := []kernelSet{
		{AVX512, gemmMR512, gemmNR512, sgemmKernelsAVX512[:], true},
		{AVX2, gemmMR256, gemmNR256, sgemmKernelsAVX2[:], false},
	}
	r := testutil.NewRand(9)
	for _, ks := range sets {
		if ks.tier > Best() || !hasAsm {
			continue
		}
		t.Run(ks.tier.String(), func(t *testing.T) {
			nrs := []int{ks.nr}
			if ks.masked {
				nrs = []int{1, 3, 15, 16, 17, 31, ks.nr}
			}
			for mr := 1; mr <= ks.mr; mr++ {
				for _, nr := range nrs {
					for _, k := range []int{0, 1, 3, 4, 5, 17, 64, 257} {
						for _, s := range [][2]float32{{1, 0}, {2, 0}, {-0.5, 2}, {1, 1}} {
							checkMicroKernel(t, r, ks.kerns[mr-1], ks.mr, ks.nr, mr, nr, k, s[0], s[1])
						}
					}
				}
			}
		})
	}
	t.Run("generic", func(t *testing.T) {
		for mr := 1; mr <= gemmMRGo; mr++ {
			for nr := 1; nr <= gemmNRGo; nr++ {
				for _, k := range []int{0, 1, 2, 3, 64, 257} {
					for _, s := range [][2]float32{{1, 0}, {-0.5, 2}} {
						checkGoMicroKernel(t, r, mr, nr, k, s[0], s[1])
					}
				}
			}
		}
	})
}

// microInputs returns packed panels (NaN beyond the mr valid rows of A and
// the nr valid columns of B: they must not reach C) and a guarded C tile
// with stride NR+3 (NaN when beta == 0).
func microInputs(r *rand.Rand, MR, NR, mr, nr, k int, beta float32) (a, b []float32, g *testutil.Guarded32, ldc int) {
	a = testutil.Uniform32(r, MR*k, -1, 1)
	b = testutil.Uniform32(r, NR*k, -1, 1)
	nan := float32(math.NaN())
	for p := 0; p < k; p++ {
		for i := mr; i < MR; i++ {
			a[p*MR+i] = nan
		}
		for j := nr; j < NR; j++ {
			b[p*NR+j] = nan
		}
	}
	ldc = NR + 3
	g = testutil.NewGuarded32(matLen(mr, nr, ldc))
	if beta != 0 {
		for i := 0; i < mr; i++ {
			copy(g.Data[i*ldc:i*ldc+nr], testutil.Uniform32(r, nr, -1, 1))
		}
	}
	return a, b, g, ldc
}

// microMagnitude is M of the accuracy convention for one tile.
func microMagnitude(k, MR, NR, mr, nr int, a, b, c0 []float32, ldc int, alpha, beta float32) []float64 {
	mag := make([]float64, len(c0))
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += math.Abs(float64(a[p*MR+i]) * float64(b[p*NR+j]))
			}
			s *= math.Abs(float64(alpha))
			if beta != 0 {
				s += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
			}
			mag[i*ldc+j] = s
		}
	}
	return mag
}

func checkMicroKernel(t *testing.T, r *rand.Rand, kern sgemmKernelFunc, MR, NR, mr, nr, k int, alpha, beta float32) {
	t.Helper()
	a, b, g, ldc := microInputs(r, MR, NR, mr, nr, k, beta)
	c0 := append([]float32(nil), g.Data...)
	want := append([]float32(nil), c0...)
	sgemmMicroRef(k, MR, NR, mr, nr, a, b, want, ldc, alpha, beta)
	var pa, pb *float32
	if k > 0 {
		pa, pb = &a[0], &b[0]
	}
	kern(k, pa, pb, &g.Data[0], ldc, alpha, beta, uint64(1)<<uint(nr)-1)
	g.Check(t)
	name := fmt.Sprintf("kernel mr=%d nr=%d k=%d alpha=%g beta=%g", mr, nr, k, alpha, beta)
	for i := 0; i < mr-1; i++ {
		for j := nr; j < ldc; j++ {
			if v := g.Data[i*ldc+j]; !math.IsNaN(float64(v)) {
				t.Fatalf("%s: C[%d][%d] outside the tile written: %g", name, i, j, v)
			}
		}
	}
	mag := microMagnitude(k, MR, NR, mr, nr, a, b, c0, ldc, alpha, beta)
	assertGemmClose(t, name, mr, nr, ldc, g.Data, testutil.To64(want), mag, testutil.F32Accum)
}

func checkGoMicroKernel(t *testing.T, r *rand.Rand, mr, nr, k int, alpha, beta float32) {
	t.Helper()
	MR, NR := gemmMRGo, gemmNRGo
	a, b, g, ldc := microInputs(r, MR, NR, mr, nr, k, beta)
	// The generic kernel computes the whole tile: pad with zeros, as packing does.
	for i, v := range a {
		if math.IsNaN(float64(v)) {
			a[i] = 0
		}
	}
	for i, v := range b {
		if math.IsNaN(float64(v)) {
			b[i] = 0
		}
	}
	c0 := append([]float32(nil), g.Data...)
	want := append([]float32(nil), c0...)
	sgemmMicroRef(k, MR, NR, mr, nr, a, b, want, ldc, alpha, beta)
	sgemmKernelGo2x4(k, a, b, g.Data, ldc, mr, nr, alpha, beta)
	g.Check(t)
	mag := microMagnitude(k, MR, NR, mr, nr, a, b, c0, ldc, alpha, beta)
	assertGemmClose(t, fmt.Sprintf("go kernel mr=%d nr=%d k=%d", mr, nr, k), mr, nr, ldc, g.Data, testutil.To64(want), mag, testutil.F32Accum)
}

// TestPackRoundTrip checks packing of all four layouts against op(X)
// element by element, zero padding included.
func TestPackRoundTrip(t *testing.T) {
	forEachTier(t, testPackRoundTrip)
}

func testPackRoundTrip(t *testing.T) {
	tier := Current()
	r := testutil.NewRand(10)
	for _, trans := range []bool{false, true} {
		for _, sz := range [][2]int{{1, 1}, {13, 7}, {29, 33}, {64, 5}, {3, 50}, {40, 17}, {17, 70}} {
			rows, cols := sz[0], sz[1] // op(X) is rows×cols
			sr, sc := storedShape(trans, rows, cols)
			ld := sc + 2
			x := poisonedMatrix(r, sr, sc, ld)
			at := func(i, j int) float32 {
				if trans {
					return x[j*ld+i]
				}
				return x[i*ld+j]
			}
			for _, mr := range []int{gemmMRGo, gemmMR256, gemmMR512} {
				// A: rows [1, rows) and columns [1, cols).
				if rows > 1 && cols > 1 {
					nrow, kc := rows-1, cols-1
					dst := make([]float32, roundUp(nrow, mr)*kc)
					packA(tier, dst, x, ld, trans, 1, nrow, 1, kc, mr)
					for i := 0; i < roundUp(nrow, mr); i++ {
						for p := 0; p < kc; p++ {
							got := dst[(i/mr)*mr*kc+p*mr+i%mr]
							want := float32(0)
							if i < nrow {
								want = at(1+i, 1+p)
							}
							if got != want {
								t.Fatalf("packA trans=%v %dx%d mr=%d: (%d,%d) = %g, want %g", trans, rows, cols, mr, i, p, got, want)
							}
						}
					}
				}
			}
			// B: op(B) is rows(k)×cols(n).
			for _, nr := range []int{gemmNRGo, gemmNR256, gemmNR512} {
				kc, nc := rows, cols
				npan := (nc + nr - 1) / nr
				dst := make([]float32, npan*nr*kc)
				packB(tier, dst, x, ld, trans, 0, kc, 0, nc, 0, npan, nr)
				for j := 0; j < npan*nr; j++ {
					for p := 0; p < kc; p++ {
						got := dst[(j/nr)*nr*kc+p*nr+j%nr]
						want := float32(0)
						if j < nc {
							want = at(p, j)
						}
						if got != want {
							t.Fatalf("packB trans=%v %dx%d nr=%d: (%d,%d) = %g, want %g", trans, rows, cols, nr, p, j, got, want)
						}
					}
				}
			}
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	buf := make([]float32, 100)
	cases := []struct {
		name string
		f    func()
	}{
		{"negative m", func() { Sgemm(buf, 4, false, false, -1, 4, 4, 1, buf, 4, buf, 4, 0) }},
		{"short c", func() { Sgemm(buf[:14], 4, false, false, 4, 4, 4, 1, buf, 4, buf, 4, 0) }},
		{"short a", func() { Sgemm(buf, 4, false, false, 4, 4, 4, 1, buf[:15], 4, buf, 4, 0) }},
		{"short b transB", func() { Sgemm(buf, 4, false, true, 4, 4, 5, 1, buf, 5, buf[:19], 5, 0) }},
		{"small lda", func() { Sgemm(buf, 4, false, false, 4, 4, 5, 1, buf, 4, buf, 4, 0) }},
		{"small lda transA", func() { Sgemm(buf, 4, true, false, 5, 4, 3, 1, buf, 4, buf, 4, 0) }},
		{"small ldb", func() { Sgemm(buf, 6, false, false, 4, 6, 4, 1, buf, 4, buf, 5, 0) }},
		{"small ldc", func() { Sgemm(buf, 3, false, false, 4, 4, 4, 1, buf, 4, buf, 4, 0) }},
		{"batched overlapping C", func() { SgemmBatched(buf, 4, 8, false, false, 4, 4, 4, 1, buf, 4, 0, buf, 4, 0, 0, 2) }},
		{"batched short a", func() { SgemmBatched(buf, 4, 16, false, false, 4, 4, 4, 1, buf, 4, 90, buf, 4, 0, 0, 2) }},
		{"batched negative stride", func() { SgemmBatched(buf, 4, 16, false, false, 4, 4, 4, 1, buf, 4, -1, buf, 4, 0, 0, 2) }},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			defer func() {
				v := recover()
				if v == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(v); !strings.Contains(msg, "Sgemm") {
					t.Fatalf("panic %q does not name Sgemm", msg)
				}
			}()
			tc.f()
		})
	}
	// Dgemm names itself.
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, "Dgemm") {
			t.Fatalf("Dgemm panic %q does not name Dgemm", msg)
		}
	}()
	Dgemm(make([]float64, 3), 4, false, false, 4, 4, 4, 1, make([]float64, 16), 4, make([]float64, 16), 4, 0)
}
