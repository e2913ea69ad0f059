//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// gemmCase is one GEMM test: a shape, its layout and its epilogue.
type gemmCase struct {
	m, n, k, batch int
	transA, transB bool
	pad            int  // extra elements per row of A, B and C (odd: the guarded load path)
	offset         bool // start A/B/C one element into their buffers (misaligned)
	broadcastB     bool // strideB = 0
	broadcastA     bool // strideA = 0
	alpha, beta    float32
	bias           bool
	act            GemmAct
}

func (c gemmCase) String() string {
	op := func(t bool) string {
		if t {
			return "t"
		}
		return "n"
	}
	s := fmt.Sprintf("%s%s_m%d_n%d_k%d_b%d_pad%d_off%v_bcast%v_a%g_b%g_bias%v_act%d", op(c.transA), op(c.transB),
		c.m, c.n, c.k, c.batch, c.pad, c.offset, c.broadcastB, c.alpha, c.beta, c.bias, c.act)
	if c.broadcastA {
		s += "_bcastA"
	}
	return s
}

// gemmCases covers edge tiles (sizes around 1, 8, 16, 128), K not a multiple
// of 8 or 32, both load paths, broadcast batches and every epilogue.
func gemmCases() []gemmCase {
	shapes := [][4]int{ // m, n, k, batch
		{1, 1, 1, 1}, {3, 17, 5, 1}, {17, 3, 33, 2}, {64, 64, 64, 1}, {129, 130, 31, 1},
		{200, 77, 300, 3}, {257, 129, 1000, 1}, {5, 300, 7, 2}, {128, 128, 0, 1}, {130, 136, 200, 2},
	}
	var cs []gemmCase
	i := 0
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				i++
				c := gemmCase{m: s[0], n: s[1], k: s[2], batch: s[3], transA: ta, transB: tb, alpha: 1}
				switch i % 4 {
				case 0:
					c.pad = -1 // aligned, vector path
				case 1:
					c.pad = 3 // odd leading dimensions: guarded path
				case 2:
					c.pad, c.offset = -1, true // aligned strides, misaligned base
				case 3:
					c.pad = 0 // packed (vector path only where the row length allows)
				}
				c.broadcastB = c.batch > 1 && i%2 == 0
				if i%3 == 0 {
					c.alpha, c.beta = 1.5, 0.5
				}
				c.bias = i%5 < 2
				c.act = GemmAct(i % 3)
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// gemmLayout holds the leading dimensions, batch strides and buffer sizes of
// a case.
type gemmLayout struct {
	lda, ldb, ldc   int
	sa, sb, sc      int
	na, nb, nc, off int
	rowsA, rowsB    int
}

func (c gemmCase) layout() gemmLayout {
	var l gemmLayout
	colsA, rowsA := c.k, c.m
	if c.transA {
		colsA, rowsA = c.m, c.k
	}
	colsB, rowsB := c.n, c.k
	if c.transB {
		colsB, rowsB = c.k, c.n
	}
	ld := func(cols int) int {
		if c.pad < 0 {
			return (max(cols, 1) + 7) / 8 * 8
		}
		return max(cols, 1) + c.pad
	}
	l.lda, l.ldb, l.ldc = ld(colsA), ld(colsB), ld(c.n)
	l.rowsA, l.rowsB = rowsA, rowsB
	l.sa, l.sb, l.sc = rowsA*l.lda, rowsB*l.ldb, c.m*l.ldc
	if c.broadcastB {
		l.sb = 0
	}
	if c.broadcastA {
		l.sa = 0
	}
	if c.offset {
		l.off = 1
	}
	l.na = l.off + max(l.sa*c.batch, rowsA*l.lda) + 1
	l.nb = l.off + max(l.sb*c.batch, rowsB*l.ldb) + 1
	l.nc = l.off + l.sc*c.batch
	return l
}

// refGemm computes the case in float64 from the host buffers (laid out as
// on the device) and returns C's buffer.
func refGemm(c gemmCase, l gemmLayout, a, b, c0, bias []float64) []float64 {
	out := append([]float64(nil), c0...)
	for z := 0; z < c.batch; z++ {
		for i := 0; i < c.m; i++ {
			for j := 0; j < c.n; j++ {
				var s float64
				for p := 0; p < c.k; p++ {
					var x, y float64
					if c.transA {
						x = a[l.off+z*l.sa+p*l.lda+i]
					} else {
						x = a[l.off+z*l.sa+i*l.lda+p]
					}
					if c.transB {
						y = b[l.off+z*l.sb+j*l.ldb+p]
					} else {
						y = b[l.off+z*l.sb+p*l.ldb+j]
					}
					s += x * y
				}
				idx := l.off + z*l.sc + i*l.ldc + j
				v := float64(c.alpha) * s
				if c.beta != 0 {
					v += float64(c.beta) * c0[idx]
				}
				if c.bias {
					v += bias[j]
				}
				switch c.act {
				case GemmGeluErf:
					v = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
				case GemmGeluTanh:
					v = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
				}
				out[idx] = v
			}
		}
	}
	return out
}

// inC reports whether buffer index idx is an element of some C matrix (the
// rest are gaps the kernel must leave alone).
func inC(c gemmCase, l gemmLayout, idx int) bool {
	idx -= l.off
	if idx < 0 {
		return false
	}
	z := idx / max(l.sc, 1)
	r := idx - z*l.sc
	return z < c.batch && r/l.ldc < c.m && r%l.ldc < c.n
}

// gapSentinel fills C's gaps (between rows, after the batch), which no kernel
// may write; exact in bf16 and fp16.
const gapSentinel = 768.0

// roundTo rounds x to the 16-bit type dt (bf16 or f16) and back, in place,
// returning the bits.
func roundTo(dt DType, x []float32) []uint16 {
	bits := make([]uint16, len(x))
	if dt == F16 {
		cpu.F32ToF16(bits, x)
		cpu.F16ToF32(x, bits)
	} else {
		cpu.F32ToBF16(bits, x)
		cpu.BF16ToF32(x, bits)
	}
	return bits
}

func toF32(dt DType, bits []uint16) []float32 {
	x := make([]float32, len(bits))
	if dt == F16 {
		cpu.F16ToF32(x, bits)
	} else {
		cpu.BF16ToF32(x, bits)
	}
	return x
}

// runGemm builds the device buffers of case c for input type in, runs the
// kernel with output type out and returns C's buffer as float32 (16-bit
// outputs widened). cInit is C's initial buffer (gaps = gapSentinel). The
// Gemm runs on the mma.sync path (Path GemmMMA) unless a mod changes it.
func runGemm(t *testing.T, c gemmCase, l gemmLayout, in, out DType, tile int, a, b, cInit, bias []float32, mods ...func(*Gemm)) []float32 {
	t.Helper()
	var pa, pb, pc DevicePtr
	if in == F32 {
		pa, pb = up(t, a), up(t, b)
	} else {
		pa, pb = up(t, roundTo(in, append([]float32(nil), a...))), up(t, roundTo(in, append([]float32(nil), b...)))
	}
	var cbits []uint16
	if out == F32 {
		pc = up(t, cInit)
	} else {
		cbits = roundTo(out, append([]float32(nil), cInit...))
		pc = up(t, cbits)
	}
	var pbias DevicePtr
	if c.bias {
		pbias = up(t, bias)
	}
	es := int64(in.Size())
	g := Gemm{In: in, Out: out, TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k,
		A: pa + DevicePtr(int64(l.off)*es), B: pb + DevicePtr(int64(l.off)*es), C: pc + DevicePtr(int64(l.off)*int64(out.Size())),
		Bias: pbias, LDA: l.lda, LDB: l.ldb, LDC: l.ldc,
		StrideA: int64(l.sa), StrideB: int64(l.sb), StrideC: int64(l.sc), Batch: c.batch,
		Alpha: c.alpha, Beta: c.beta, Act: c.act, Tile: tile, Path: GemmMMA}
	for _, mod := range mods {
		mod(&g)
	}
	must(t, dev.GEMM(g))
	if out == F32 {
		got := make([]float32, len(cInit))
		must(t, CopyDtoH(dev, got, pc))
		return got
	}
	got := make([]uint16, len(cInit))
	must(t, CopyDtoH(dev, got, pc))
	return toF32(out, got)
}

// gemmInputs draws c's operands (A, B, bias uniform in [-1, 1)) and C's
// initial contents (gapSentinel in the gaps between rows, NaN where beta
// == 0 so that every element must be written, else uniform), rounds A, B
// and C to in when in is a 16-bit type (the kernel sees rounded values, and
// so does the reference), and returns them with the float64 reference.
func gemmInputs(rng *rand.Rand, c gemmCase, l gemmLayout, in DType) (a, b, bias, cInit []float32, want []float64) {
	a = testutil.Uniform32(rng, l.na, -1, 1)
	b = testutil.Uniform32(rng, l.nb, -1, 1)
	bias = testutil.Uniform32(rng, max(c.n, 1), -1, 1)
	cInit = make([]float32, l.nc)
	for i := range cInit {
		switch {
		case !inC(c, l, i):
			cInit[i] = gapSentinel
		case c.beta == 0:
			cInit[i] = float32(math.NaN())
		default:
			cInit[i] = float32(rng.Float64()*2 - 1)
		}
	}
	if in != F32 {
		roundTo(in, a)
		roundTo(in, b)
		roundTo(in, cInit) // C is rounded for the 16-bit output run; keep both runs equal
	}
	want = refGemm(c, l, testutil.To64(a), testutil.To64(b), testutil.To64(cInit), testutil.To64(bias))
	return a, b, bias, cInit, want
}

// TestGemm checks every GEMM kernel against a float64 reference computed
// from the same (rounded) inputs: fp32-output kernels at the F32Accum level,
// 16-bit-output kernels bit-for-bit against the fp32-output kernel's result
// rounded once (the two share the accumulation order and the epilogue), C's
// gaps untouched, every C element written (C starts as NaN when beta == 0).
func TestGemm(t *testing.T) {
	rng := newRand(11)
	for _, c := range gemmCases() {
		for _, in := range []DType{F32, BF16, F16} {
			t.Run(in.String()+"_"+c.String(), func(t *testing.T) {
				l := c.layout()
				a, b, bias, cInit, want := gemmInputs(rng, c, l, in)
				if in == F32 {
					checkGemmApprox(t, c, l, "f32", runGemm(t, c, l, in, F32, 0, a, b, cInit, bias), want, a, b, cInit, bias)
					return
				}
				for _, tile := range []int{128, 64} {
					what := fmt.Sprintf("tile %d", tile)
					got := runGemm(t, c, l, in, F32, tile, a, b, cInit, bias)
					checkGemmApprox(t, c, l, what+" f32 out", got, want, a, b, cInit, bias)
					got16 := runGemm(t, c, l, in, in, tile, a, b, cInit, bias)
					want16 := append([]float32(nil), got...)
					roundTo(in, want16)
					checkGemmOut(t, c, l, what+" "+in.String()+" out", got16, testutil.To64(want16), testutil.Exact)
				}
			})
		}
	}
}

// gemmTermScale is, per element, the sum of the magnitudes of the terms
// refGemm adds (|α|·Σ|a·b| + |β·c| + |bias|, before the activation): the
// scale of an fp32-accumulated product's rounding error, which stays
// relative to it when the terms cancel (a tensor core's accumulation need
// not round to nearest).
func gemmTermScale(c gemmCase, l gemmLayout, a, b, c0, bias []float32) []float64 {
	abs := func(x []float32) []float64 {
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = math.Abs(float64(v))
		}
		return out
	}
	c.alpha, c.beta, c.act = float32(math.Abs(float64(c.alpha))), float32(math.Abs(float64(c.beta))), GemmNoAct
	return refGemm(c, l, abs(a), abs(b), abs(c0), abs(bias))
}

// checkGemmApprox checks an fp32-output product against the float64
// reference within tolF32 of its term scale (gemmTermScale), with C's gaps
// untouched and every C element written.
func checkGemmApprox(t *testing.T, c gemmCase, l gemmLayout, what string, got []float32, want []float64, a, b, c0, bias []float32) {
	t.Helper()
	scale := gemmTermScale(c, l, a, b, c0, bias)
	var g []float32
	var w, sc []float64
	for _, i := range writtenC(t, c, l, what, got) {
		g, w, sc = append(g, got[i]), append(w, want[i]), append(sc, scale[i])
	}
	assertCloseScaled(t, what, g, w, sc, tolF32)
}

// writtenC returns the indices of C's elements in got, failing when an
// element outside C (a gap or guard) was overwritten or one of C's was not
// written (NaN).
func writtenC(t *testing.T, c gemmCase, l gemmLayout, what string, got []float32) []int {
	t.Helper()
	var idx []int
	for i := range got {
		if !inC(c, l, i) {
			if got[i] != gapSentinel {
				t.Fatalf("%s: element %d outside C (gap or guard) overwritten: %g", what, i, got[i])
			}
			continue
		}
		if math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: C element %d not written (NaN)", what, i)
		}
		idx = append(idx, i)
	}
	return idx
}

func checkGemmOut(t *testing.T, c gemmCase, l gemmLayout, what string, got []float32, want []float64, lvl testutil.Level) {
	t.Helper()
	var g []float32
	var w []float64
	for _, i := range writtenC(t, c, l, what, got) {
		g, w = append(g, got[i]), append(w, want[i])
	}
	testutil.AssertClose(t, what, g, w, lvl)
}

// TestGemmAutoTile: with Tile 0 the launcher picks the mma.sync kernel
// (here the 64-row one: 3×2 tiles of 128 are far fewer than 2 per SM); the
// result matches the float64 reference like the explicit tiles.
func TestGemmAutoTile(t *testing.T) {
	rng := newRand(13)
	c := gemmCase{m: 300, n: 200, k: 64, batch: 1, transB: true, pad: -1, alpha: 1}
	l := c.layout()
	a := testutil.Uniform32(rng, l.na, -1, 1)
	b := testutil.Uniform32(rng, l.nb, -1, 1)
	roundTo(BF16, a)
	roundTo(BF16, b)
	cInit := make([]float32, l.nc)
	for i := range cInit {
		cInit[i] = gapSentinel
		if inC(c, l, i) {
			cInit[i] = float32(math.NaN())
		}
	}
	want := refGemm(c, l, testutil.To64(a), testutil.To64(b), testutil.To64(cInit), nil)
	checkGemmApprox(t, c, l, "auto tile", runGemm(t, c, l, BF16, F32, 0, a, b, cInit, nil), want, a, b, cInit, nil)
}

// TestGemmSplitK: split-K products (partial products into the fp32
// workspace, then the reduction with the epilogue) against the float64
// reference; 16-bit outputs bit-for-bit against the fp32-output result
// rounded once (the reduction computes the same fp32 value for both).
// runSplitK uploads a split-K case's operands (rounded to in) and C (to
// out), runs it on path (resolved, when not nil, sees what GEMM resolves it
// to before it runs) and returns C read back as float32.
func runSplitK(t *testing.T, c gemmCase, l gemmLayout, in, out DType, a, b, bias, cInit []float32, split int, path GemmPath, resolved func(Gemm)) []float32 {
	t.Helper()
	pa, pb := up(t, roundTo(in, append([]float32(nil), a...))), up(t, roundTo(in, append([]float32(nil), b...)))
	var pc, pbias DevicePtr
	if out == F32 {
		pc = up(t, cInit)
	} else {
		pc = up(t, roundTo(out, append([]float32(nil), cInit...)))
	}
	if c.bias {
		pbias = up(t, bias)
	}
	g := Gemm{In: in, Out: out, TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k,
		A: pa, B: pb, C: pc, Bias: pbias, LDA: l.lda, LDB: l.ldb, LDC: l.ldc,
		Alpha: c.alpha, Beta: c.beta, Act: c.act, SplitK: split, Path: path}
	if resolved != nil {
		r, err := dev.ResolveGemm(g)
		must(t, err)
		resolved(r)
	}
	must(t, dev.GEMM(g))
	if out == F32 {
		got := make([]float32, len(cInit))
		must(t, CopyDtoH(dev, got, pc))
		return got
	}
	got := make([]uint16, len(cInit))
	must(t, CopyDtoH(dev, got, pc))
	return toF32(out, got)
}

func TestGemmSplitK(t *testing.T) {
	rng := newRand(14)
	cases := []struct {
		c     gemmCase
		split int
	}{
		{gemmCase{m: 200, n: 77, k: 96, batch: 1, pad: -1, alpha: 1, bias: true, act: GemmGeluErf}, 3},
		{gemmCase{m: 130, n: 136, k: 240, batch: 1, transA: true, pad: 3, alpha: 1.5, beta: 0.5}, 2},
		{gemmCase{m: 65, n: 300, k: 64, batch: 1, transB: true, pad: -1, alpha: 1, act: GemmGeluTanh}, 8},
		{gemmCase{m: 129, n: 33, k: 48, batch: 1, transA: true, transB: true, pad: 0, alpha: 1, bias: true}, 3},
	}
	for _, tc := range cases {
		c := tc.c
		for _, in := range []DType{BF16, F16} {
			t.Run(fmt.Sprintf("%v_split%d_%v", in, tc.split, c), func(t *testing.T) {
				l := c.layout()
				a, b, bias, cInit, want := gemmInputs(rng, c, l, in)
				run := func(out DType) []float32 {
					return runSplitK(t, c, l, in, out, a, b, bias, cInit, tc.split, GemmAuto, nil)
				}
				got := run(F32)
				checkGemmApprox(t, c, l, "f32 out", got, want, a, b, cInit, bias)
				want16 := append([]float32(nil), got...)
				roundTo(in, want16)
				checkGemmOut(t, c, l, in.String()+" out", run(in), testutil.To64(want16), testutil.Exact)
			})
		}
	}
}

// TestGemmErrors: shapes the kernels cannot take are errors before launch,
// naming the kernel.
func TestGemmErrors(t *testing.T) {
	p := DevicePtr(1 << 20) // never dereferenced: every case fails its checks
	base := Gemm{In: BF16, Out: F32, M: 4, N: 4, K: 4, A: p, B: p, C: p, LDA: 4, LDB: 4, LDC: 4, Alpha: 1}
	cases := map[string]func(g *Gemm){
		"negative":        func(g *Gemm) { g.M = -1 },
		"lda":             func(g *Gemm) { g.LDA = 3 },
		"ldb transposed":  func(g *Gemm) { g.TransB, g.N, g.LDB = true, 8, 3 },
		"ldc":             func(g *Gemm) { g.LDC = 2 },
		"f32 to bf16":     func(g *Gemm) { g.In, g.Out = F32, BF16 },
		"bf16 to f16":     func(g *Gemm) { g.Out = F16 },
		"act":             func(g *Gemm) { g.Act = 7 },
		"overlapping C":   func(g *Gemm) { g.Batch, g.StrideC = 2, 8 },
		"null C":          func(g *Gemm) { g.C = 0 },
		"negative stride": func(g *Gemm) { g.StrideA = -4 },
		"tile":            func(g *Gemm) { g.Tile = 32 },
		"split-K K":       func(g *Gemm) { g.SplitK = 3 },
		"split-K f32":     func(g *Gemm) { g.In, g.K, g.LDA, g.LDB, g.SplitK = F32, 16, 16, 4, 2 },
		"split-K batch":   func(g *Gemm) { g.K, g.LDA, g.LDB, g.SplitK, g.Batch, g.StrideC = 16, 16, 4, 2, 2, 16 },
		"TileN":           func(g *Gemm) { g.TileN = 64 },
		"path":            func(g *Gemm) { g.Path = 7 },
		"wgmma f32":       func(g *Gemm) { g.In, g.Path = F32, GemmWGMMA },
		"wgmma split-K":   func(g *Gemm) { g.K, g.LDA, g.LDB, g.SplitK, g.Path = 16, 16, 4, 2, GemmWGMMA },
		"wgmma lda":       func(g *Gemm) { g.K, g.LDA, g.LDB, g.Path = 8, 9, 8, GemmWGMMA },
	}
	for name, mod := range cases {
		g := base
		mod(&g)
		err := dev.GEMM(g)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if want := g.Name(); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not name kernel %s", name, err, want)
		}
	}
	// M == 0 or N == 0 launches nothing and succeeds, even with NULL pointers.
	must(t, dev.GEMM(Gemm{In: F32, Out: F32, M: 0, N: 5, K: 3, LDA: 3, LDB: 5, LDC: 5}))
}

// TestSgemmMatchesCPU: the fp32 kernel against kernels/cpu.Sgemm on a
// larger square product (both fp32, different summation orders).
func TestSgemmMatchesCPU(t *testing.T) {
	rng := newRand(12)
	const m, n, k = 333, 301, 517
	a := testutil.Uniform32(rng, m*k, -1, 1)
	b := testutil.Uniform32(rng, k*n, -1, 1)
	want := make([]float32, m*n)
	cpu.Sgemm(want, n, false, true, m, n, k, 1, a, k, b, k, 0)
	o := out(t, m*n, 4)
	must(t, dev.Sgemm(o.ptr(), n, false, true, m, n, k, 1, up(t, a), k, up(t, b), k, 0))
	want64 := make([]float64, m*n)
	cpu.Dgemm(want64, n, false, true, m, n, k, 1, testutil.To64(a), k, testutil.To64(b), k, 0)
	got := o.f32(t)
	// bounded relative to Σ|a·b| per element: the sums cancel (the
	// F32Accum floor fails on near-zero outputs for either fp32 order)
	absA, absB := make([]float64, m*k), make([]float64, k*n)
	for i, v := range a {
		absA[i] = math.Abs(float64(v))
	}
	for i, v := range b {
		absB[i] = math.Abs(float64(v))
	}
	scale := make([]float64, m*n)
	cpu.Dgemm(scale, n, false, true, m, n, k, 1, absA, k, absB, k, 0)
	assertCloseScaled(t, "gpu vs float64", got, want64, scale, tolF32)
	assertCloseScaled(t, "cpu vs float64", want, want64, scale, tolF32)
}
