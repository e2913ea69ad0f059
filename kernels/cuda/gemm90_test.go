//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// gemm90Cases are TestGemm90's products: odd edges in M, N and K (tiles of
// 128 × 128/256 × 64 partly filled), a single row, a long K, a batch with A
// broadcast, bias + both GELUs, and beta != 0. Leading dimensions are
// multiples of 8 (pad -1: the path's requirement) and mostly larger than
// the rows, so C has gaps (gapSentinel) the kernel must leave alone.
func gemm90Cases(transA, transB bool) []gemmCase {
	c := func(m, n, k, batch int) gemmCase {
		return gemmCase{m: m, n: n, k: k, batch: batch, transA: transA, transB: transB, pad: -1, alpha: 1}
	}
	cs := []gemmCase{c(200, 300, 150, 1), c(1, 8, 8, 1), c(129, 257, 1000, 1), c(130, 136, 200, 3), c(77, 300, 64, 2)}
	cs[2].alpha, cs[2].beta = 1.5, 0.5
	cs[3].broadcastA, cs[3].bias, cs[3].act = true, true, GemmGeluErf
	cs[4].broadcastB, cs[4].bias, cs[4].act, cs[4].beta = true, true, GemmGeluTanh, -0.75
	return cs
}

// skipWithoutWGMMA skips the test, saying why, when the device cannot run
// the sm_90a GEMM (scripts/gpu-run.sh fails its kernel-test stage when this
// skip appears on a GPU where it built the kernels).
func skipWithoutWGMMA(t *testing.T) {
	t.Helper()
	if err := dev.CheckWGMMA(); err != nil {
		t.Skipf("gemm90 (sm_90a) kernels unavailable on %v: %v", dev, err)
	}
}

// TestGemm90 forces the sm_90a path on every kernel (bf16/f16 in, f32 or
// 16-bit out, nn/nt/tn/tt, tiles 128×256, 128×128, 64×128) and checks it as TestGemm checks the
// mma.sync kernels: fp32 outputs against the float64 reference within
// tolF32 of the terms' magnitudes (checkGemmApprox), 16-bit outputs bit-for-bit against the fp32 output rounded
// once, C's gaps untouched, every element written (NaN-poisoned when beta
// == 0).
func TestGemm90(t *testing.T) {
	skipWithoutWGMMA(t)
	rng := newRand(90)
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, c := range gemm90Cases(ta, tb) {
				for _, in := range []DType{BF16, F16} {
					t.Run(in.String()+"_"+c.String(), func(t *testing.T) {
						l := c.layout()
						a, b, bias, cInit, want := gemmInputs(rng, c, l, in)
						for _, tile := range gemm90Tiles {
							force := func(g *Gemm) { g.Path, g.Tile, g.TileN = GemmWGMMA, tile.m, tile.n }
							what := gemm90Kernel(in, F32, c.transA, c.transB, tile)
							got := runGemm(t, c, l, in, F32, 0, a, b, cInit, bias, force)
							checkGemmApprox(t, c, l, what, got, want, a, b, cInit, bias)
							got16 := runGemm(t, c, l, in, in, 0, a, b, cInit, bias, force)
							want16 := append([]float32(nil), got...)
							roundTo(in, want16)
							checkGemmOut(t, c, l, gemm90Kernel(in, in, c.transA, c.transB, tile), got16, testutil.To64(want16), testutil.Exact)
						}
					})
				}
			}
		}
	}
}

// TestGemm90Auto: Path GemmAuto picks the sm_90a kernel for an eligible
// 512×512×512 bf16 product when the device has it (tile 64×128: 8 blocks of
// 128×256 or 16 of 128×128 would leave most SMs idle) and the mma.sync kernel otherwise; an
// lda that is not a multiple of 8 falls back to mma.sync, and forcing
// GemmWGMMA there (or on a device without it) is an error saying why.
func TestGemm90Auto(t *testing.T) {
	rng := newRand(91)
	c := gemmCase{m: 512, n: 512, k: 512, batch: 1, pad: -1, alpha: 1, bias: true}
	l := c.layout()
	a := testutil.Uniform32(rng, l.na, -1, 1)
	b := testutil.Uniform32(rng, l.nb, -1, 1)
	bias := testutil.Uniform32(rng, c.n, -1, 1)
	roundTo(BF16, a)
	roundTo(BF16, b)
	cInit := make([]float32, l.nc)
	for i := range cInit {
		cInit[i] = float32(math.NaN())
	}
	want := refGemm(c, l, testutil.To64(a), testutil.To64(b), testutil.To64(cInit), testutil.To64(bias))

	pa, pb := up(t, roundTo(BF16, append([]float32(nil), a...))), up(t, roundTo(BF16, append([]float32(nil), b...)))
	g := Gemm{In: BF16, Out: F32, M: c.m, N: c.n, K: c.k, A: pa, B: pb, C: 1 << 20, LDA: l.lda, LDB: l.ldb, LDC: l.ldc, Alpha: 1}
	r, err := dev.ResolveGemm(g)
	must(t, err)
	wgmma := dev.CheckWGMMA() == nil
	if wgmma {
		if r.Path != GemmWGMMA || r.Tile != 64 || r.TileN != 128 || r.Name() != "ragr_gemm90_bf16f32_nn_m64n128" {
			t.Errorf("auto on %v: path %v tile %dx%d kernel %s, want wgmma ragr_gemm90_bf16f32_nn_m64n128", dev, r.Path, r.Tile, r.TileN, r.Name())
		}
	} else if r.Path != GemmMMA || !strings.HasPrefix(r.Name(), "ragr_gemm_bf16f32_nn") {
		t.Errorf("auto without sm_90a kernels: path %v kernel %s, want mma ragr_gemm_bf16f32_nn*", r.Path, r.Name())
	}
	// The automatic choice computes the product (whichever kernel it is).
	checkGemmApprox(t, c, l, "auto "+r.Name(), runGemm(t, c, l, BF16, F32, 0, a, b, cInit, bias, func(g *Gemm) { g.Path = GemmAuto }), want, a, b, cInit, bias)

	odd := g
	odd.K, odd.LDA = 500, 500 // lda % 8 == 4: rows of 1000 bytes, TMA needs multiples of 16
	r, err = dev.ResolveGemm(odd)
	must(t, err)
	if r.Path != GemmMMA {
		t.Errorf("lda %d: path %v kernel %s, want the mma.sync fallback", odd.LDA, r.Path, r.Name())
	}
	odd.Path = GemmWGMMA
	_, err = dev.ResolveGemm(odd)
	wantWhy := "lda 500 is not a multiple of 8"
	if !wgmma {
		wantWhy = dev.CheckWGMMA().Error()
	}
	if err == nil || !strings.Contains(err.Error(), wantWhy) || !strings.Contains(err.Error(), "ragr_gemm90_bf16f32_nn_m128n256") {
		t.Errorf("forced wgmma with lda %d: error %v, want one naming the kernel and %q", odd.LDA, err, wantWhy)
	}
	if err := dev.GEMM(odd); err == nil {
		t.Error("GEMM with a forced, impossible wgmma path: no error")
	}
}

// TestGemmBenchCasesWGMMA: the sm_90a bench rows time products that mma.sync
// rows also time, with the same PyTorch spec (so both sit beside the same
// torch column), and are left out when the device has no sm_90a kernels.
func TestGemmBenchCasesWGMMA(t *testing.T) {
	mma := map[string]bool{}
	for _, c := range gemmBenchCases(false, false) {
		if c.wgmma {
			t.Errorf("wgmma row %+v without the sm_90a kernels", c)
		}
		mma[c.torch] = true
	}
	n, train := 0, 0
	for _, c := range gemmBenchCases(false, true) {
		if !c.wgmma {
			continue
		}
		if c.out == F32 { // the train step's products (fp32 output), beside their own PyTorch ops
			train++
			if c.in != BF16 || c.torch == "" || (c.m != 8192 && c.k != 8192) {
				t.Errorf("train-shape row %+v", c)
			}
		} else {
			n++
			if !mma[c.torch] || c.in != BF16 || c.splitK != 0 {
				t.Errorf("wgmma row %+v: no mma.sync row with torch spec %s", c, c.torch)
			}
		}
		if _, err := pickGemm90Tile(c.tile, c.tileN, c.m, c.n, 1, 132); err != nil {
			t.Errorf("wgmma row %+v: %v", c, err)
		}
	}
	if n != 12 {
		t.Errorf("%d wgmma rows, want 12 (bf16 4096^3, the three BERT shapes and bias+GELU with the automatic tile; 4096^3 on 128x128; the BERT shapes on 128x128 and 64x128)", n)
	}
	if train != 42 {
		t.Errorf("%d train-shape rows, want 42 (9 products of a BERT-base step, each on 4 tiles; the 3 weight gradients split 2 and 4 ways)", train)
	}
}

// TestGemm90Probe reads back how the sm_90a kernels see their operands, so
// that a failure says what went wrong rather than only that something did
// (the shared-memory descriptors and swizzles have no GPU-independent
// check): with op(A) the identity, C = op(B); a run with op(B)[k][n] = k+1
// and one with n+1 (small integers, exact in bf16, fp16 and fp32) give, for
// every output, the row and column of op(B) the kernel actually read; the
// same with op(B) the identity probes A. Every operand major (nn, nt, tn,
// tt) on every block tile, 128×128×128 bf16.
func TestGemm90Probe(t *testing.T) {
	skipWithoutWGMMA(t)
	const n = 128
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, tile := range gemm90Tiles {
				c := gemmCase{m: n, n: n, k: n, batch: 1, transA: ta, transB: tb, pad: -1, alpha: 1}
				l := c.layout()
				name := gemm90Kernel(BF16, F32, ta, tb, tile)
				force := func(g *Gemm) { g.Path, g.Tile, g.TileN = GemmWGMMA, tile.m, tile.n }
				// fill sets the stored matrix of op(X)[r][col] = f(r, col)
				// (stored transposed when trans).
				fill := func(size, ld int, trans bool, f func(r, col int) float32) []float32 {
					x := make([]float32, size)
					for r := 0; r < n; r++ {
						for col := 0; col < n; col++ {
							if trans {
								x[col*ld+r] = f(r, col)
							} else {
								x[r*ld+col] = f(r, col)
							}
						}
					}
					return x
				}
				eye := func(r, col int) float32 {
					if r == col {
						return 1
					}
					return 0
				}
				rowCode := func(r, _ int) float32 { return float32(r + 1) }
				colCode := func(_, col int) float32 { return float32(col + 1) }
				cInit := make([]float32, l.nc)
				for _, probe := range []string{"B", "A"} {
					var runs [2][]float32
					for i, code := range []func(r, col int) float32{rowCode, colCode} {
						var a, b []float32
						if probe == "B" {
							a, b = fill(l.na, l.lda, ta, eye), fill(l.nb, l.ldb, tb, code)
						} else {
							a, b = fill(l.na, l.lda, ta, code), fill(l.nb, l.ldb, tb, eye)
						}
						runs[i] = runGemm(t, c, l, BF16, F32, 0, a, b, cInit, nil, force)
					}
					// C[m][j] must be op(B)[m][j] (probe B) or op(A)[m][j]
					// (probe A): row code m+1, column code j+1.
					bad := 0
					var msg strings.Builder
					for m := 0; m < n; m++ {
						for j := 0; j < n; j++ {
							gr, gc := runs[0][m*l.ldc+j], runs[1][m*l.ldc+j]
							if gr == float32(m+1) && gc == float32(j+1) {
								continue
							}
							if bad++; bad <= 6 {
								fmt.Fprintf(&msg, "\n  C[%d][%d] read op(%s)[%g][%g] (1-based codes; want [%d][%d]; a non-integer is a sum of several)",
									m, j, probe, gr, gc, m+1, j+1)
							}
						}
					}
					if bad > 0 {
						t.Errorf("%s: %d of %d outputs read the wrong element of op(%s):%s", name, bad, n*n, probe, msg.String())
					}
				}
			}
		}
	}
}

// TestGemm90SplitK: split-K in the weight-gradient form (TransA, not
// TransB) runs its partial products on the sm_90a kernels, as a batch of
// row blocks of both operands, and matches the reference (fp32 and 16-bit
// outputs, alpha/beta, bias and GELU in the reduction's epilogue); other
// forms are refused on the forced sm_90a path.
func TestGemm90SplitK(t *testing.T) {
	skipWithoutWGMMA(t)
	rng := newRand(41)
	cases := []struct {
		c     gemmCase
		split int
	}{
		{gemmCase{m: 128, n: 128, k: 512, batch: 1, transA: true, pad: -1, alpha: 1}, 4},
		{gemmCase{m: 136, n: 200, k: 384, batch: 1, transA: true, pad: -1, alpha: 1.5, beta: 0.5, bias: true, act: GemmGeluErf}, 3},
	}
	for _, tc := range cases {
		c := tc.c
		t.Run(fmt.Sprintf("split%d_%v", tc.split, c), func(t *testing.T) {
			l := c.layout()
			a, b, bias, cInit, want := gemmInputs(rng, c, l, BF16)
			sm90 := func(r Gemm) {
				if name := r.Name(); !strings.HasPrefix(name, "ragr_gemm90_") || !strings.Contains(name, "+ragr_gemm_splitk_") {
					t.Fatalf("resolved kernel %s, want an sm_90a partial product + the split-K reduction", name)
				}
			}
			got := runSplitK(t, c, l, BF16, F32, a, b, bias, cInit, tc.split, GemmWGMMA, sm90)
			checkGemmApprox(t, c, l, "f32 out", got, want, a, b, cInit, bias)
			// the 16-bit output is the same fp32 sum rounded once
			want16 := append([]float32(nil), got...)
			roundTo(BF16, want16)
			checkGemmOut(t, c, l, "bf16 out", runSplitK(t, c, l, BF16, BF16, a, b, bias, cInit, tc.split, GemmWGMMA, sm90), testutil.To64(want16), testutil.Exact)
		})
	}
	g := Gemm{In: BF16, Out: F32, M: 128, N: 128, K: 512, A: 1 << 20, B: 1 << 20, C: 1 << 20, LDA: 512, LDB: 128, LDC: 128, Alpha: 1, SplitK: 4, Path: GemmWGMMA}
	if _, err := dev.ResolveGemm(g); err == nil || !strings.Contains(err.Error(), "row blocks") {
		t.Errorf("forced sm_90a split-K in the nn form: error %v, want one saying it needs row blocks", err)
	}
}
