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
// Tile picks the tensor-core kernel's block rows: 128, or 64 (the _m64
// kernels: twice the blocks, for products whose 128-row grid would not fill
// the GPU); 0 chooses 64 when the 128-row grid has fewer than two blocks per
// SM. The fp32 kernel has one tile (128×128) and ignores it.
//
// SplitK > 1 (tensor-core types, one matrix, K divisible by SplitK with
// K/SplitK a multiple of 8) splits the K dimension: the SplitK partial
// products go to an fp32 workspace from the device pool as one batched
// launch, and ragr_gemm_splitk_* sums them and applies the epilogue. More
// blocks for products whose grid is small but whose K is long (BERT's
// 1024×768×3072); the extra traffic is 8·SplitK·M·N bytes.
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
}

// Geometry of kernels/gemm.cu.
const (
	gemmTile    = 128
	gemmThreads = 256
	maxGridYZ   = 65535
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Name returns the kernel g runs (for errors and benchmark tables; with
// SplitK, the partial-product kernel "+" the reduction); with Tile 0 it names
// the 128-row kernel (GEMM resolves Tile 0 on its device).
func (g *Gemm) Name() string {
	if g.SplitK > 1 {
		p := *g
		p.Out = F32
		return gemmKernel(&p) + "+" + kname("gemm", "splitk", g.Out.String())
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
	case g.Act < GemmNoAct || g.Act > GemmGeluTanh:
		return bad(fmt.Sprintf("unknown activation %d", g.Act))
	case g.M < 0 || g.N < 0 || g.K < 0 || g.Batch < 0:
		return bad("negative size")
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

// vecOK reports whether a matrix at p with leading dimension ld and batch
// stride st may be accessed in vectors of w elements of size es bytes.
func vecOK(p DevicePtr, ld int, st int64, batch, w, es int) bool {
	return uint64(p)%uint64(w*es) == 0 && ld%w == 0 && (batch <= 1 || st%int64(w) == 0)
}

// gemmFlags computes kernels/gemm.cu's flags word.
func gemmFlags(g *Gemm) int32 {
	es := g.In.Size()
	w := 16 / es
	nb := g.batch()
	var f int32
	if vecOK(g.A, g.LDA, g.StrideA, nb, w, es) {
		f |= 1
	}
	if vecOK(g.B, g.LDB, g.StrideB, nb, w, es) {
		f |= 2
	}
	cw := 2 // the tensor-core epilogue stores pairs
	if g.In == F32 {
		cw = 4 // the SIMT epilogue stores float4
	}
	if vecOK(g.C, g.LDC, g.StrideC, nb, cw, g.Out.Size()) {
		f |= 4
	}
	return f
}

// GEMM runs g on the device's stream. Shapes the kernel cannot take return
// an error before anything is launched; M == 0 or N == 0 launches nothing.
func (d *Device) GEMM(g Gemm) error {
	if err := g.check(); err != nil {
		return err
	}
	if g.M == 0 || g.N == 0 {
		return nil
	}
	if g.SplitK > 1 {
		return d.gemmSplitK(g)
	}
	nb := g.batch()
	gz := min(nb, maxGridYZ)
	grid := [3]int{(g.N + gemmTile - 1) / gemmTile, (g.M + gemmTile - 1) / gemmTile, gz}
	if g.In != F32 {
		if g.Tile == 0 {
			g.Tile = gemmTile
			if int64(grid[0])*int64(grid[1])*int64(nb) < 2*int64(d.SMs) && g.M > 64 {
				g.Tile = 64
			}
		}
		bm := g.Tile
		grid = [3]int{grid[0] * ((g.M + bm - 1) / bm), 1, gz}
	}
	return d.Launch(gemmKernel(&g), grid, [3]int{gemmThreads, 1, 1}, 0,
		g.C, g.A, g.B, g.Bias,
		int32(g.M), int32(g.N), int32(g.K), int32(g.LDA), int32(g.LDB), int32(g.LDC),
		g.StrideA, g.StrideB, g.StrideC, int32(nb),
		g.Alpha, g.Beta, int32(g.Act), gemmFlags(&g))
}

// gemmSplitK runs g (checked, SplitK > 1) as a batched partial product over
// K-slices into an fp32 workspace, then the reduction with g's epilogue.
func (d *Device) gemmSplitK(g Gemm) error {
	kc := g.K / g.SplitK
	mn := int64(g.M) * int64(g.N)
	ws, err := d.Alloc(4 * int64(g.SplitK) * mn)
	if err != nil {
		return fmt.Errorf("kernel %s: split-K workspace: %w", gemmKernel(&g), err)
	}
	defer ws.Free() // back to the pool; the stream orders any reuse after these launches
	p := g
	p.Out, p.C, p.LDC, p.StrideC = F32, ws.Ptr(), g.N, mn
	p.Batch, p.K, p.SplitK = g.SplitK, kc, 0
	p.Alpha, p.Beta, p.Bias, p.Act = 1, 0, 0, GemmNoAct
	p.StrideA, p.StrideB = int64(kc), int64(kc)*int64(g.LDB)
	if g.TransA {
		p.StrideA = int64(kc) * int64(g.LDA)
	}
	if g.TransB {
		p.StrideB = int64(kc)
	}
	if err := d.GEMM(p); err != nil {
		return err
	}
	return d.Launch(kname("gemm", "splitk", g.Out.String()), [3]int{Grid1D(mn, 256, 1, d.maxGrid1D()), 1, 1}, [3]int{256, 1, 1}, 0,
		g.C, ws.Ptr(), g.Bias, int32(g.M), int32(g.N), int32(g.LDC), int32(g.SplitK), g.Alpha, g.Beta, int32(g.Act))
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C in fp32 with the arguments of
// kernels/cpu.Sgemm (device pointers instead of slices).
func (d *Device) Sgemm(c DevicePtr, ldc int, transA, transB bool, m, n, k int, alpha float32, a DevicePtr, lda int, b DevicePtr, ldb int, beta float32) error {
	return d.GEMM(Gemm{In: F32, Out: F32, TransA: transA, TransB: transB, M: m, N: n, K: k,
		A: a, B: b, C: c, LDA: lda, LDB: ldb, LDC: ldc, Alpha: alpha, Beta: beta})
}
