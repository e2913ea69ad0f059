//go:build cuda

package cuda

import (
	"fmt"
	"math"
)

// BenchRow is one measured line of the `ragr bench kernels` table.
type BenchRow struct {
	// Kernel is the kernel (or, for multi-kernel ops, the op) measured.
	Kernel string
	// Shape is the problem size in words ("M=4096 N=4096 K=4096 nn").
	Shape string
	// Time holds the event-timed statistics of one call.
	Time Timing
	// FLOPs is the arithmetic of one call (0 for bandwidth-bound rows).
	FLOPs float64
	// Bytes is the device memory one call must move at least (each input
	// read once, each output written once).
	Bytes float64
	// Torch names the same op for bench/pytorch (an op spec that
	// bench/pytorch/kernels_gemm.py understands); "" when there is none.
	Torch string
}

// TFLOPs returns the achieved rate, FLOPs over the median time, in TFLOP/s.
func (r BenchRow) TFLOPs() float64 {
	if r.Time.Median <= 0 {
		return 0
	}
	return r.FLOPs / r.Time.Median / 1e12
}

// GBs returns the achieved bandwidth, Bytes over the median time, in GB/s.
func (r BenchRow) GBs() float64 {
	if r.Time.Median <= 0 {
		return 0
	}
	return r.Bytes / r.Time.Median / 1e9
}

// benchReps is the repetitions per timed row (after as many warm-ups).
const benchReps = 20

// randomDevice uploads n pseudo-random values of type dt, uniform in
// [-1, 1) for f32 and bf16 (bf16: the top half of the f32 bits), and of
// magnitude 2^-5..1 for f16 (random sign, exponent and mantissa bits) —
// never zeros, which can run faster than real data.
func randomDevice(d *Device, dt DType, n int, seed uint64) (*Buffer, error) {
	s := seed*0x9e3779b97f4a7c15 + 1
	next := func() uint64 {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		return s
	}
	switch dt {
	case F32:
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(int64(next()>>40)-(1<<23)) / (1 << 23)
		}
		return Upload(d, x)
	case BF16:
		h := make([]uint16, n)
		for i := range h {
			h[i] = uint16(math.Float32bits(float32(int64(next()>>40)-(1<<23))/(1<<23)) >> 16)
		}
		return Upload(d, h)
	default:
		h := make([]uint16, n)
		for i := range h {
			r := next()
			h[i] = uint16(r>>63)<<15 | uint16(10+(r>>32)%5)<<10 | uint16(r&0x3ff)
		}
		return Upload(d, h)
	}
}

// gemmBenchCase is one GEMM row: the shape and the PyTorch op it matches.
type gemmBenchCase struct {
	in, out DType
	m, n, k int
	transA  bool
	transB  bool
	bias    bool
	act     GemmAct
	tile    int // block rows (0: as GEMM chooses)
	tileN   int // sm_90a block columns (0: as GEMM chooses)
	splitK  int
	wgmma   bool // the sm_90a kernels (Path GemmWGMMA); else mma.sync (GemmMMA)
	torch   string
}

// gemmBenchCases are the rows of the table: bf16 4096³ against torch.matmul,
// the BERT-base linear layers at 8×128 tokens against F.linear (x·Wᵀ, so
// B transposed), the FFN-in layer with its fused bias + GELU, the BERT
// layers again with 64-row tiles (which tile fills the GPU better is the
// question), the FFN-out layer split over K, fp16 4096³, and the fp32 SIMT kernel at 4096³ against fp32
// torch.matmul with TF32 off; all of these on the mma.sync kernels. Then,
// when wgmma (the device has the sm_90a kernels), bf16 4096³, the three
// BERT shapes and the fused bias + GELU row on them with the tile GEMM
// chooses, then 4096³ on 128×128 and the BERT shapes on each smaller tile
// (which tile wins is the question the first GPU run answers), against the
// same PyTorch ops. quick keeps the first two rows of each group.
func gemmBenchCases(quick, wgmma bool) []gemmBenchCase {
	cs := []gemmBenchCase{
		{in: BF16, out: BF16, m: 4096, n: 4096, k: 4096, torch: "matmul:bf16:4096:4096:4096"},
		{in: BF16, out: BF16, m: 1024, n: 768, k: 768, transB: true, torch: "linear:bf16:1024:768:768"},
		{in: BF16, out: BF16, m: 1024, n: 3072, k: 768, transB: true, torch: "linear:bf16:1024:3072:768"},
		{in: BF16, out: BF16, m: 1024, n: 768, k: 3072, transB: true, torch: "linear:bf16:1024:768:3072"},
		{in: BF16, out: BF16, m: 1024, n: 3072, k: 768, transB: true, bias: true, act: GemmGeluErf, torch: "linear_gelu:bf16:1024:3072:768"},
		// The BERT shapes again with 64-row tiles (the _m64 kernels).
		{in: BF16, out: BF16, m: 1024, n: 768, k: 768, transB: true, tile: 64, torch: "linear:bf16:1024:768:768"},
		{in: BF16, out: BF16, m: 1024, n: 3072, k: 768, transB: true, tile: 64, torch: "linear:bf16:1024:3072:768"},
		{in: BF16, out: BF16, m: 1024, n: 768, k: 3072, transB: true, tile: 64, torch: "linear:bf16:1024:768:3072"},
		// The FFN-out layer (48 tiles of 128, K = 3072) split over K.
		{in: BF16, out: BF16, m: 1024, n: 768, k: 3072, transB: true, tile: 64, splitK: 3, torch: "linear:bf16:1024:768:3072"},
		{in: F16, out: F16, m: 4096, n: 4096, k: 4096, torch: "matmul:f16:4096:4096:4096"},
		{in: F32, out: F32, m: 4096, n: 4096, k: 4096, torch: "matmul:f32:4096:4096:4096"},
	}
	hopper := []gemmBenchCase{
		{in: BF16, out: BF16, m: 4096, n: 4096, k: 4096, wgmma: true, torch: "matmul:bf16:4096:4096:4096"},
		{in: BF16, out: BF16, m: 1024, n: 768, k: 768, transB: true, wgmma: true, torch: "linear:bf16:1024:768:768"},
		{in: BF16, out: BF16, m: 1024, n: 3072, k: 768, transB: true, wgmma: true, torch: "linear:bf16:1024:3072:768"},
		{in: BF16, out: BF16, m: 1024, n: 768, k: 3072, transB: true, wgmma: true, torch: "linear:bf16:1024:768:3072"},
		{in: BF16, out: BF16, m: 1024, n: 3072, k: 768, transB: true, bias: true, act: GemmGeluErf, wgmma: true, torch: "linear_gelu:bf16:1024:3072:768"},
		{in: BF16, out: BF16, m: 4096, n: 4096, k: 4096, wgmma: true, tile: 128, tileN: 128, torch: "matmul:bf16:4096:4096:4096"},
	}
	for _, t := range [][2]int{{128, 128}, {64, 128}} {
		for _, mnk := range [][3]int{{1024, 768, 768}, {1024, 3072, 768}, {1024, 768, 3072}} {
			hopper = append(hopper, gemmBenchCase{in: BF16, out: BF16, m: mnk[0], n: mnk[1], k: mnk[2], transB: true,
				wgmma: true, tile: t[0], tileN: t[1], torch: fmt.Sprintf("linear:bf16:%d:%d:%d", mnk[0], mnk[1], mnk[2])})
		}
	}
	// The BERT-base train step's products at 32×256 tokens (M = 8192; bf16
	// operands and an fp32 output, as in mixed precision): the forward x·Wᵀ
	// (nt, beside F.linear), the input gradient g·W (nn, beside
	// torch.matmul) and the weight gradient gᵀ·x (tn, K = 8192; beside
	// torch.matmul of the same sizes untransposed, which cuBLAS runs at
	// about the same rate), each with the tile GEMM chooses and with each
	// sm_90a tile: which tile wins at these shapes is what the tile choice
	// should learn.
	type train struct {
		m, n, k        int
		transA, transB bool
		torch          string
	}
	var steps []train
	for _, nk := range [][2]int{{768, 768}, {3072, 768}, {768, 3072}} {
		steps = append(steps, train{8192, nk[0], nk[1], false, true, fmt.Sprintf("linear:bf16:8192:%d:%d", nk[0], nk[1])})
	}
	for _, nk := range [][2]int{{768, 768}, {768, 3072}, {3072, 768}} {
		steps = append(steps, train{8192, nk[0], nk[1], false, false, fmt.Sprintf("matmul:bf16:8192:%d:%d", nk[0], nk[1])})
	}
	for _, mn := range [][2]int{{768, 768}, {3072, 768}, {768, 3072}} {
		steps = append(steps, train{mn[0], mn[1], 8192, true, false, fmt.Sprintf("matmul:bf16:%d:%d:8192", mn[0], mn[1])})
	}
	for _, st := range steps {
		for _, t := range [][2]int{{0, 0}, {128, 256}, {128, 128}, {64, 128}} {
			hopper = append(hopper, gemmBenchCase{in: BF16, out: F32, m: st.m, n: st.n, k: st.k, transA: st.transA, transB: st.transB,
				wgmma: true, tile: t[0], tileN: t[1], torch: st.torch})
		}
		if st.transA { // the weight gradients' grids are under one wave: split over the 8192 tokens
			for _, sk := range []int{2, 4} {
				hopper = append(hopper, gemmBenchCase{in: BF16, out: F32, m: st.m, n: st.n, k: st.k, transA: true,
					wgmma: true, splitK: sk, torch: st.torch})
			}
		}
	}
	if quick {
		cs, hopper = cs[:2], hopper[:2]
	}
	if wgmma {
		cs = append(cs, hopper...)
	}
	return cs
}

// BenchGemm times the GEMM rows of `ragr bench kernels` on d (quick: the
// first two rows of each group only; the sm_90a rows only when
// d.CheckWGMMA() is nil). Inputs are random; every row's buffers are freed
// before it returns.
func BenchGemm(d *Device, quick bool) ([]BenchRow, error) {
	var rows []BenchRow
	for i, c := range gemmBenchCases(quick, d.CheckWGMMA() == nil) {
		row, err := benchGemmCase(d, c, uint64(i+1))
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func benchGemmCase(d *Device, c gemmBenchCase, seed uint64) (BenchRow, error) {
	g := Gemm{In: c.in, Out: c.out, TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k,
		LDA: c.k, LDB: c.n, LDC: c.n, Alpha: 1, Act: c.act, Tile: c.tile, TileN: c.tileN, SplitK: c.splitK, Path: GemmMMA}
	if c.transA {
		g.LDA = c.m
	}
	if g.Tile == 0 && c.in != F32 && !c.wgmma {
		g.Tile = gemmTile
	}
	if c.wgmma {
		g.Path = GemmWGMMA
	}
	if c.transB {
		g.LDB = c.k
	}
	var bufs []*Buffer
	defer func() {
		for _, b := range bufs {
			b.Free()
		}
	}()
	alloc := func(dt DType, n int, s uint64) (DevicePtr, error) {
		b, err := randomDevice(d, dt, n, s)
		if err != nil {
			return 0, err
		}
		bufs = append(bufs, b)
		return b.Ptr(), nil
	}
	var err error
	if g.A, err = alloc(c.in, c.m*c.k, seed*3); err != nil {
		return BenchRow{}, err
	}
	if g.B, err = alloc(c.in, c.k*c.n, seed*3+1); err != nil {
		return BenchRow{}, err
	}
	if g.C, err = alloc(c.out, c.m*c.n, seed*3+2); err != nil {
		return BenchRow{}, err
	}
	if c.bias {
		if g.Bias, err = alloc(F32, c.n, seed*3+3); err != nil {
			return BenchRow{}, err
		}
	}
	op := map[[2]bool]string{{false, false}: "nn", {false, true}: "nt", {true, false}: "tn", {true, true}: "tt"}[[2]bool{c.transA, c.transB}]
	shape := fmt.Sprintf("M=%d N=%d K=%d %s", c.m, c.n, c.k, op)
	if c.bias {
		shape += " +bias"
	}
	if c.act != GemmNoAct {
		shape += " +gelu"
	}
	if c.splitK > 1 {
		shape += fmt.Sprintf(" split-K %d", c.splitK)
	}
	if c.out != c.in {
		shape += " f32 out"
	}
	r, err := d.ResolveGemm(g) // the kernel's name, with the block width GEMM picks
	if err != nil {
		return BenchRow{}, err
	}
	tm, err := d.Time(3, benchReps, func() error { return d.GEMM(r) })
	if err != nil {
		return BenchRow{}, err
	}
	bytes := float64(c.m*c.k+c.k*c.n)*float64(c.in.Size()) + float64(c.m*c.n)*float64(c.out.Size())
	return BenchRow{Kernel: r.Name(), Shape: shape, Time: tm, FLOPs: g.FLOPs(), Bytes: bytes, Torch: c.torch}, nil
}
