//go:build cuda

package cuda

import (
	"fmt"
	"math"
)

// GemmAct is the activation a GEMM's epilogue applies (kernels/gemm.cu's
// act codes).
type GemmAct int

// The GEMM epilogue activations.
const (
	GemmNoAct    GemmAct = 0 // identity
	GemmGeluErf  GemmAct = 1 // x/2 (1 + erf(x/sqrt2))
	GemmGeluTanh GemmAct = 2 // the tanh approximation of GELU
)

// Gemm describes C = act(alpha·op(A)·op(B) + beta·C + bias) over a strided
// batch, row-major as kernels/cpu.Sgemm: op(A) is M×K (A is M×K with row
// stride LDA, or K×M when TransA), op(B) is K×N (B is K×N, or N×K when
// TransB), C is M×N with row stride LDC. Matrix z of a batch starts at
// z·StrideA, z·StrideB, z·StrideC elements (StrideA or StrideB 0 broadcasts
// one matrix; the C matrices must not overlap). Bias (0: none) is fp32 [N],
// added per column before the activation. Beta == 0 never reads C.
//
// In is the input type: F32 runs the fp32 SIMT kernel (Out must be F32);
// BF16 and F16 run the tensor-core kernel (mma.sync, fp32 accumulation) with
// Out F32 or equal to In. Any M, N, K ≥ 0 and any leading dimension works;
// 16-byte-aligned pointers with leading dimensions and strides that are
// multiples of 16 bytes take the vectorized (cp.async) loads.
//
// Path picks the tensor-core implementation for bf16/fp16 inputs:
// GemmAuto (0) runs the sm_90a kernels (kernels/gemm90.cu: wgmma + TMA) when
// the device has them (Device.CheckWGMMA) and the product is eligible
// (M, N, K ≥ 1, SplitK ≤ 1, A and B 16-byte aligned with leading
// dimensions and batch strides that are multiples of 8 elements), else the
// mma.sync kernels (kernels/gemm.cu), which take every shape; GemmMMA and
// GemmWGMMA force one (forcing WGMMA where it cannot run is an error
// saying why). The fp32 kernel ignores it.
//
// Tile picks the mma.sync kernel's block rows: 128, or 64 (the _m64
// kernels: twice the blocks, for products whose 128-row grid would not fill
// the GPU); 0 chooses 64 when the 128-row grid has fewer than two blocks per
// SM. The fp32 kernel has one tile (128×128) and ignores it. On the sm_90a
// path Tile and TileN pick the block tile among 128×256, 128×128 and 64×128
// (0 leaves a dimension to the automatic choice: the largest tile whose
// grid, over the batch, still has a block for every SM). Device.ResolveGemm
// fills in Path, Tile and TileN as GEMM would. RAGR_GEMM90=0 in the
// environment (read at Open) turns the sm_90a path off.
//
// SplitK > 1 (tensor-core types, one matrix, K divisible by SplitK with
// K/SplitK a multiple of 8) splits the K dimension: the SplitK partial
// products go to an fp32 workspace from the device pool as one batched
// launch, and ragr_gemm_splitk_* sums them and applies the epilogue. More
// blocks for products whose grid is small but whose K is long (BERT's
// 1024×768×3072; a weight gradient gᵀ·x over 8192 tokens); the extra
// traffic is 8·SplitK·M·N bytes. The partial products run on the mma.sync
// kernels, or on the sm_90a ones (Path auto or wgmma, as above) in the
// weight-gradient form (TransA, not TransB), whose K-slices are whole row
// blocks of both operands.
type Gemm struct {
	In, Out                   DType
	TransA, TransB            bool
	M, N, K                   int
	A, B, C, Bias             DevicePtr
	LDA, LDB, LDC             int
	StrideA, StrideB, StrideC int64
	Batch                     int // 0 means 1
	Alpha, Beta               float32
	Act                       GemmAct
	Tile                      int
	SplitK                    int
	Path                      GemmPath
	TileN                     int
}

// GemmPath selects the tensor-core GEMM implementation (Gemm.Path).
type GemmPath int

// The tensor-core GEMM paths.
const (
	GemmAuto  GemmPath = iota // sm_90a when the device has it and the product is eligible, else mma.sync
	GemmMMA                   // kernels/gemm.cu (mma.sync, cp.async): every shape, every GPU from sm_80
	GemmWGMMA                 // kernels/gemm90.cu (wgmma, TMA): compute capability 9.0, eligible products
)

// String returns "auto", "mma" or "wgmma".
func (p GemmPath) String() string {
	switch p {
	case GemmAuto:
		return "auto"
	case GemmMMA:
		return "mma"
	case GemmWGMMA:
		return "wgmma"
	}
	return fmt.Sprintf("GemmPath(%d)", int(p))
}

// Geometry of kernels/gemm.cu.
const (
	gemmTile    = 128
	gemmThreads = 256
)

// gemmKernel returns the kernel name for g's types and transposes.
func gemmKernel(g *Gemm) string {
	op := [2]string{"n", "t"}
	ts := op[b2i(g.TransA)] + op[b2i(g.TransB)]
	ty := g.In.String()
	if g.In != F32 && g.Out == F32 {
		ty += "f32"
	}
	if g.In != F32 && g.Tile == 64 {
		ts += "_m64"
	}
	return kname("gemm", ty, ts)
}

// Name returns the kernel g runs (for errors and benchmark tables; with
// SplitK, the partial-product kernel "+" the reduction). The choices GEMM
// makes on its device are not made here: with Path GemmAuto it names the
// mma.sync kernel, with Tile 0 the 128-row one, on the sm_90a path with Tile
// and TileN 0 the 128×256 one; the Gemm that Device.ResolveGemm returns names exactly the
// kernel GEMM launches.
func (g *Gemm) Name() string {
	if g.SplitK > 1 {
		p := *g
		p.Out, p.SplitK = F32, 0
		return p.Name() + "+" + kname("gemm", "splitk", g.Out.String())
	}
	if g.Path == GemmWGMMA && g.In != F32 {
		t := gemm90Tile{m: g.Tile, n: g.TileN}
		if t.m == 0 {
			t.m = 128
		}
		if t.n == 0 {
			t.n = 256
			if t.m == 64 {
				t.n = 128
			}
		}
		return gemm90Kernel(g.In, g.Out, g.TransA, g.TransB, t)
	}
	return gemmKernel(g)
}

// FLOPs returns 2·M·N·K·batch, the multiply-adds counted twice.
func (g *Gemm) FLOPs() float64 {
	return 2 * float64(g.M) * float64(g.N) * float64(g.K) * float64(g.batch())
}

func (g *Gemm) batch() int {
	if g.Batch == 0 {
		return 1
	}
	return g.Batch
}

// check returns an error naming the kernel and the shape when g cannot run.
func (g *Gemm) check() error {
	name := g.Name()
	shape := fmt.Sprintf("M=%d N=%d K=%d lda=%d ldb=%d ldc=%d batch=%d strides=(%d,%d,%d) transA=%v transB=%v",
		g.M, g.N, g.K, g.LDA, g.LDB, g.LDC, g.Batch, g.StrideA, g.StrideB, g.StrideC, g.TransA, g.TransB)
	bad := func(why string) error { return fmt.Errorf("kernel %s: %s (%s)", name, why, shape) }
	switch {
	case g.In == F32 && g.Out != F32:
		return bad("fp32 inputs need an fp32 output")
	case g.In != F32 && g.In != BF16 && g.In != F16:
		return bad(fmt.Sprintf("input type %v not supported", g.In))
	case g.In != F32 && g.Out != F32 && g.Out != g.In:
		return bad(fmt.Sprintf("output type %v with %v inputs not supported (f32 or the input type)", g.Out, g.In))
	case g.SplitK < 0:
		return bad("negative SplitK")
	case g.SplitK > 1 && (g.In == F32 || g.batch() > 1):
		return bad("split-K runs the tensor-core kernels on one matrix only")
	case g.SplitK > 1 && (g.K%g.SplitK != 0 || (g.K/g.SplitK)%8 != 0):
		return bad(fmt.Sprintf("split-K %d needs K divisible by it with K/SplitK a multiple of 8", g.SplitK))
	case g.Tile != 0 && g.Tile != 64 && g.Tile != 128:
		return bad(fmt.Sprintf("tile %d not supported (0, 64, 128)", g.Tile))
	case g.TileN != 0 && g.TileN != 128 && g.TileN != 256:
		return bad(fmt.Sprintf("TileN %d not supported (0, 128, 256)", g.TileN))
	case g.Path < GemmAuto || g.Path > GemmWGMMA:
		return bad(fmt.Sprintf("unknown path %d", g.Path))
	case g.Path == GemmWGMMA && g.In == F32:
		return bad("the sm_90a (wgmma) kernels take bf16 or f16 inputs")
	case g.Path == GemmWGMMA && g.SplitK > 1 && !splitRows(g):
		return bad("split-K on the sm_90a kernels needs K-slices that are row blocks of both operands (TransA, not TransB)")
	case g.Act < GemmNoAct || g.Act > GemmGeluTanh:
		return bad(fmt.Sprintf("unknown activation %d", g.Act))
	case g.M < 0 || g.N < 0 || g.K < 0 || g.Batch < 0:
		return bad("negative size")
	case g.M > math.MaxInt32 || g.N > math.MaxInt32 || g.K > math.MaxInt32 || g.Batch > math.MaxInt32:
		return bad("M, N, K and the batch are int32 in the kernels")
	case g.StrideA < 0 || g.StrideB < 0 || g.StrideC < 0:
		return bad("negative batch stride")
	}
	colsA, colsB := g.K, g.N // row lengths of A and B as stored
	if g.TransA {
		colsA = g.M
	}
	if g.TransB {
		colsB = g.K
	}
	if g.LDA < max(colsA, 1) || g.LDB < max(colsB, 1) || g.LDC < max(g.N, 1) {
		return bad("leading dimension smaller than its row")
	}
	if g.LDA > math.MaxInt32 || g.LDB > math.MaxInt32 || g.LDC > math.MaxInt32 {
		return bad("leading dimension beyond int32")
	}
	if nb := g.batch(); nb > 1 && g.M > 0 && g.N > 0 {
		if g.StrideC < int64(g.M-1)*int64(g.LDC)+int64(g.N) {
			return bad("C matrices of the batch overlap (strideC too small)")
		}
	}
	if g.M > 0 && g.N > 0 {
		if g.C == 0 {
			return bad("C is NULL")
		}
		if g.K > 0 && (g.A == 0 || g.B == 0) {
			return bad("A or B is NULL")
		}
	}
	if g.In == F32 && (g.M+gemmTile-1)/gemmTile > maxGridYZ {
		return bad(fmt.Sprintf("M beyond %d rows", maxGridYZ*gemmTile))
	}
	if g.In != F32 {
		tiles := int64((g.M+63)/64) * int64((g.N+gemmTile-1)/gemmTile)
		if tiles > math.MaxInt32 {
			return bad("too many output tiles")
		}
	}
	return nil
}

// gemmFlags computes kernels/gemm.cu's flags word.
func gemmFlags(g *Gemm) int32 {
	es := g.In.Size()
	w := 16 / es
	nb := g.batch()
	var f int32
	if vecOK(uint64(g.A), g.LDA, g.StrideA, nb, w, es) {
		f |= 1
	}
	if vecOK(uint64(g.B), g.LDB, g.StrideB, nb, w, es) {
		f |= 2
	}
	cw := 2 // the tensor-core epilogue stores pairs
	if g.In == F32 {
		cw = 4 // the SIMT epilogue stores float4
	}
	if vecOK(uint64(g.C), g.LDC, g.StrideC, nb, cw, g.Out.Size()) {
		f |= 4
	}
	return f
}

// GEMM runs g on the device's stream. Shapes the kernel cannot take return
// an error before anything is launched; M == 0 or N == 0 launches nothing
// (unless Path forces GemmWGMMA, which needs M, N, K ≥ 1).
func (d *Device) GEMM(g Gemm) error {
	g, plan, err := d.resolveGemm(g)
	if err != nil {
		return err
	}
	if g.M == 0 || g.N == 0 {
		return nil
	}
	if g.SplitK > 1 {
		return d.gemmSplitK(g)
	}
	if g.Path == GemmWGMMA {
		return d.gemm90(g, &plan)
	}
	nb := g.batch()
	gz := min(nb, maxGridYZ)
	grid := [3]int{(g.N + gemmTile - 1) / gemmTile, (g.M + gemmTile - 1) / gemmTile, gz}
	if g.In != F32 {
		bm := g.Tile
		grid = [3]int{grid[0] * ((g.M + bm - 1) / bm), 1, gz}
	}
	return d.Launch(gemmKernel(&g), grid, [3]int{gemmThreads, 1, 1}, 0,
		g.C, g.A, g.B, g.Bias,
		int32(g.M), int32(g.N), int32(g.K), int32(g.LDA), int32(g.LDB), int32(g.LDC),
		g.StrideA, g.StrideB, g.StrideC, int32(nb),
		g.Alpha, g.Beta, int32(g.Act), gemmFlags(&g))
}

// ResolveGemm returns g with the choices GEMM makes on d filled in: Path
// (GemmMMA or GemmWGMMA; the fp32 kernel reports GemmMMA), Tile for the
// mma.sync kernels (split-K's partial products included), TileN for the
// sm_90a ones, so that its Name is the kernel GEMM launches. The error is
// the one GEMM would return before launching.
func (d *Device) ResolveGemm(g Gemm) (Gemm, error) {
	r, _, err := d.resolveGemm(g)
	return r, err
}

// resolveGemm checks g, picks its path and tiles, and for the sm_90a path
// returns the launch plan.
func (d *Device) resolveGemm(g Gemm) (Gemm, gemm90Plan, error) {
	if err := g.check(); err != nil {
		return g, gemm90Plan{}, err
	}
	if g.In != F32 && g.SplitK > 1 && g.Path != GemmMMA && splitRows(&g) {
		w := g
		w.Path = GemmWGMMA
		p := splitPartial(w, 0)
		plan, err := d.planGemm90(&p)
		if err == nil {
			g.Path, g.Tile, g.TileN = GemmWGMMA, plan.tile.m, plan.tile.n
			return g, gemm90Plan{}, nil
		}
		if g.Path == GemmWGMMA {
			return g, gemm90Plan{}, fmt.Errorf("kernel %s: the sm_90a path cannot run this split-K product: %v (M=%d N=%d K=%d split %d lda=%d ldb=%d)",
				g.Name(), err, g.M, g.N, g.K, g.SplitK, g.LDA, g.LDB)
		}
	}
	if g.In != F32 && g.SplitK <= 1 && g.Path != GemmMMA {
		plan, err := d.planGemm90(&g)
		if err == nil {
			g.Path, g.Tile, g.TileN = GemmWGMMA, plan.tile.m, plan.tile.n
			return g, plan, nil
		}
		if g.Path == GemmWGMMA {
			return g, gemm90Plan{}, fmt.Errorf("kernel %s: the sm_90a path cannot run this product: %v (M=%d N=%d K=%d lda=%d ldb=%d ldc=%d batch=%d strides=(%d,%d,%d) transA=%v transB=%v)",
				g.Name(), err, g.M, g.N, g.K, g.LDA, g.LDB, g.LDC, g.Batch, g.StrideA, g.StrideB, g.StrideC, g.TransA, g.TransB)
		}
	}
	g.Path = GemmMMA
	if g.In != F32 && g.Tile == 0 {
		nb := g.batch()
		if g.SplitK > 1 {
			nb = g.SplitK // the partial products run as a batch
		}
		tiles := int64((g.N+gemmTile-1)/gemmTile) * int64((g.M+gemmTile-1)/gemmTile) * int64(nb)
		g.Tile = gemmTile
		if tiles < 2*int64(d.SMs) && g.M > 64 {
			g.Tile = 64
		}
	}
	return g, gemm90Plan{}, nil
}

// planGemm90 is planGemm90 for g (checked) on d: an error when the device
// has no sm_90a kernels or the product is not eligible.
func (d *Device) planGemm90(g *Gemm) (gemm90Plan, error) {
	if err := d.CheckWGMMA(); err != nil {
		return gemm90Plan{}, err
	}
	return planGemm90(gemm90Shape{in: g.In, out: g.Out, transA: g.TransA, transB: g.TransB,
		m: g.M, n: g.N, k: g.K, batch: g.batch(), a: uint64(g.A), b: uint64(g.B), c: uint64(g.C),
		lda: g.LDA, ldb: g.LDB, ldc: g.LDC, strideA: g.StrideA, strideB: g.StrideB, strideC: g.StrideC}, g.Tile, g.TileN, d.SMs)
}

// gemmSplitK runs g (checked, SplitK > 1) as a batched partial product over
// K-slices into an fp32 workspace, then the reduction with g's epilogue.
func (d *Device) gemmSplitK(g Gemm) error {
	mn := int64(g.M) * int64(g.N)
	ws, err := d.Alloc(4 * int64(g.SplitK) * mn)
	if err != nil {
		return fmt.Errorf("kernel %s: split-K workspace: %w", gemmKernel(&g), err)
	}
	defer ws.Free() // back to the pool; the stream orders any reuse after these launches
	if err := d.GEMM(splitPartial(g, ws.Ptr())); err != nil {
		return err
	}
	return d.Launch(kname("gemm", "splitk", g.Out.String()), [3]int{Grid1D(mn, 256, 1, d.maxGrid1D()), 1, 1}, [3]int{256, 1, 1}, 0,
		g.C, ws.Ptr(), g.Bias, int32(g.M), int32(g.N), int32(g.LDC), int32(g.SplitK), g.Alpha, g.Beta, int32(g.Act))
}

// splitRows reports whether g's K-slices are row blocks of both operands
// as stored (A transposed, B not: the weight-gradient form gᵀ·x), which the
// sm_90a kernels' tensor maps can step as a batch.
func splitRows(g *Gemm) bool { return g.TransA && !g.TransB }

// splitPartial is the batched product of g's K-slices (SplitK > 1) into the
// fp32 workspace ws (SplitK matrices of M×N): on the sm_90a kernels when g
// resolved to them (row slices), else on the mma.sync ones (the slices of a
// row-major operand along K overlap as a batch, which they read as such).
func splitPartial(g Gemm, ws DevicePtr) Gemm {
	kc := g.K / g.SplitK
	mn := int64(g.M) * int64(g.N)
	p := g
	p.Out, p.C, p.LDC, p.StrideC = F32, ws, g.N, mn
	p.Batch, p.K, p.SplitK = g.SplitK, kc, 0
	p.Alpha, p.Beta, p.Bias, p.Act = 1, 0, 0, GemmNoAct
	if g.Path != GemmWGMMA || !splitRows(&g) {
		p.Path = GemmMMA
	}
	p.StrideA, p.StrideB = int64(kc), int64(kc)*int64(g.LDB)
	if g.TransA {
		p.StrideA = int64(kc) * int64(g.LDA)
	}
	if g.TransB {
		p.StrideB = int64(kc)
	}
	return p
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C in fp32 with the arguments of
// kernels/cpu.Sgemm (device pointers instead of slices).
func (d *Device) Sgemm(c DevicePtr, ldc int, transA, transB bool, m, n, k int, alpha float32, a DevicePtr, lda int, b DevicePtr, ldb int, beta float32) error {
	return d.GEMM(Gemm{In: F32, Out: F32, TransA: transA, TransB: transB, M: m, N: n, K: k,
		A: a, B: b, C: c, LDA: lda, LDB: ldb, LDC: ldc, Alpha: alpha, Beta: beta})
}
