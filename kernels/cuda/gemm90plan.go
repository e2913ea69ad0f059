package cuda

// The sm_90a GEMM's launch plan (no cgo, no build tag, tested in the default
// build by gemm90plan_test.go): kernel names, eligibility, block columns,
// grid, and the arguments of the two cuTensorMapEncodeTiled calls. The
// encoding itself and the launch are in gemm90.go (cuda tag).
//
// Kernel ABI (kernels/gemm90.cu): ragr_gemm90_<ty>_<op>_m<BM>n<BN>, ty in
// {bf16f32, bf16, f16f32, f16}, op in {nn, nt, tn, tt}, block tile BM×BN in
// {128×256, 128×128, 64×128}; parameters (tmA, tmB: CUtensorMap by value,
// 128 bytes aligned 64; C, bias, M, N, K, ldc, strideC (long long), batch,
// zA, zB, alpha, beta, act, flags); block 128 + 2·BM threads, grid
// (ceil(M/BM)·ceil(N/BN), 1, min(batch, 65535)), dynamic shared memory
// 197888 bytes (BM 128) or 99584 (BM 64).

import (
	"fmt"
	"math"
	"strings"
)

// maxGridYZ is the largest grid y or z dimension.
const maxGridYZ = 65535

// gemm90TileK is the inner box dimension of every tensor map (64 16-bit
// elements: the 128-byte swizzle span) and the kernels' k-tile.
const gemm90TileK = 64

// gemm90Tile is a block tile of kernels/gemm90.cu: BM×BN outputs.
type gemm90Tile struct{ m, n int }

// gemm90Tiles lists the kernels' block tiles in the order the automatic
// choice tries them: the largest that still gives every SM a block.
var gemm90Tiles = []gemm90Tile{{128, 256}, {128, 128}, {64, 128}}

// threads is the block size: a producer warpgroup and BM/64 consumers.
func (t gemm90Tile) threads() int { return 128 + 2*t.m }

// shared is the dynamic shared memory the kernel is launched with (its
// G9<BM, BN>::SMEM: 192 KiB of stage buffers with BM 128, one block per
// SM; 96 KiB with BM 64, two).
func (t gemm90Tile) shared() int {
	if t.m == 64 {
		return 99584
	}
	return 197888
}

func (t gemm90Tile) String() string { return fmt.Sprintf("m%dn%d", t.m, t.n) }

// gemm90Eff128 is the 128×128 tile's rate relative to 128×256 (on an H200,
// session 6: 8192×768×768 ran 33.7 µs on 384 blocks of 128×128 and 38.5 µs
// on 192 of 128×256, three waves against two: 3/0.86 ≈ 0.875·4).
const gemm90Eff128 = 0.86

// pickGemm90Tile returns the block tile for block rows tm and columns tn
// (0: automatic). Automatic: when the 128×128 grid has a block for every
// SM, 128×256 or 128×128, whichever finishes in less time counted as waves
// (blocks per SM, rounded up) × the tile's area / its rate (gemm90Eff128):
// wave quantization decides it (8192×768: 128×128, 3 waves against 2 of
// twice the work; 8192×3072: 128×256); else 64×128, the most blocks. On the
// H200 this picked the fastest tile for every BERT-base train-step product
// timed (bench rows M = 8192). With tm or tn given: among the tiles that
// match, the first whose grid (over the batch, as launched) has at least
// one block per SM, else the last.
func pickGemm90Tile(tm, tn, m, n, batch, sms int) (gemm90Tile, error) {
	if tm == 0 && tn == 0 {
		nb := int64(min(max(batch, 1), maxGridYZ))
		s := int64(max(sms, 1))
		blocks := func(t gemm90Tile) int64 { return int64(ceilDiv(m, t.m)) * int64(ceilDiv(n, t.n)) * nb }
		big, mid, small := gemm90Tiles[0], gemm90Tiles[1], gemm90Tiles[2]
		if blocks(mid) < s {
			return small, nil
		}
		waves := func(t gemm90Tile) float64 { return float64((blocks(t) + s - 1) / s) }
		if waves(mid)/gemm90Eff128 < 2*waves(big) {
			return mid, nil
		}
		return big, nil
	}
	var cands []gemm90Tile
	for _, t := range gemm90Tiles {
		if (tm == 0 || tm == t.m) && (tn == 0 || tn == t.n) {
			cands = append(cands, t)
		}
	}
	if len(cands) == 0 {
		return gemm90Tile{}, fmt.Errorf("block tile Tile %d × TileN %d (the sm_90a kernels have 128×256, 128×128 and 64×128)", tm, tn)
	}
	nb := int64(min(max(batch, 1), maxGridYZ))
	for _, t := range cands[:len(cands)-1] {
		if int64(ceilDiv(m, t.m))*int64(ceilDiv(n, t.n))*nb >= int64(sms) {
			return t, nil
		}
	}
	return cands[len(cands)-1], nil
}

// cuTensorMapEncodeTiled's enum values (CUDA 12 cuda.h).
const (
	tmapDTypeF16       = 6 // CU_TENSOR_MAP_DATA_TYPE_FLOAT16
	tmapDTypeBF16      = 9 // CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
	tmapInterleaveNone = 0 // CU_TENSOR_MAP_INTERLEAVE_NONE
	tmapSwizzle128B    = 3 // CU_TENSOR_MAP_SWIZZLE_128B
	tmapL2Promo256B    = 3 // CU_TENSOR_MAP_L2_PROMOTION_L2_256B
	tmapOOBFillNone    = 0 // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: out-of-bounds elements read as zeros
)

// Limits of a tensor map.
const (
	tmapMaxStride = uint64(1) << 40   // every global stride (bytes) below it
	tmapMaxDim    = uint64(1)<<32 - 1 // every global dimension at most this
)

// tensorMap is one rank-3 cuTensorMapEncodeTiled call (element strides
// {1, 1, 1}, no interleave, 128-byte swizzle, 256-byte L2 promotion,
// zero fill).
type tensorMap struct {
	operand string // "A" or "B", for errors
	dtype   int
	addr    uint64
	dims    [3]uint64 // innermost first
	strides [2]uint64 // bytes, of dimensions 1 and 2
	box     [3]uint32
}

func (t *tensorMap) String() string {
	return fmt.Sprintf("tensor map of %s: dtype %d, address %#x, dims %v, strides %v bytes, box %v",
		t.operand, t.dtype, t.addr, t.dims, t.strides, t.box)
}

// gemm90Shape is what the sm_90a path depends on from a Gemm (addresses as
// integers, so the plan is pure Go).
type gemm90Shape struct {
	in, out                   DType
	transA, transB            bool
	m, n, k, batch            int // batch ≥ 1
	a, b, c                   uint64
	lda, ldb, ldc             int
	strideA, strideB, strideC int64
}

// gemm90Plan is a checked launch of the sm_90a GEMM.
type gemm90Plan struct {
	kernel     string
	tile       gemm90Tile
	grid       [3]int
	mapA, mapB tensorMap
	zA, zB     int32
	flags      int32
}

// gemm90Kernel returns the sm_90a kernel's name for the types, transposes
// and block tile.
func gemm90Kernel(in, out DType, transA, transB bool, t gemm90Tile) string {
	op := [2]string{"n", "t"}
	ty := in.String()
	if out == F32 {
		ty += "f32"
	}
	return kname("gemm90", ty, op[b2i(transA)]+op[b2i(transB)], t.String())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// vecOK reports whether a matrix at p with leading dimension ld and batch
// stride st may be accessed in vectors of w elements of size es bytes.
func vecOK(p uint64, ld int, st int64, batch, w, es int) bool {
	return p%uint64(w*es) == 0 && ld%w == 0 && (batch <= 1 || st%int64(w) == 0)
}

// planGemm90 checks that the product s can run on the sm_90a kernels with
// block rows tm and columns tn (0: pickGemm90Tile's choice on sms SMs) and
// returns the plan, or an error saying why not (the caller falls back to the
// mma.sync kernels, or reports it when the path was forced). s has passed
// Gemm.check.
func planGemm90(s gemm90Shape, tm, tn, sms int) (gemm90Plan, error) {
	var p gemm90Plan
	switch {
	case s.in != BF16 && s.in != F16:
		return p, fmt.Errorf("input type %v (the sm_90a kernels take bf16 or f16)", s.in)
	case s.out != F32 && s.out != s.in:
		return p, fmt.Errorf("output type %v with %v inputs (f32 or the input type)", s.out, s.in)
	case s.m < 1 || s.n < 1 || s.k < 1:
		return p, fmt.Errorf("M, N and K must be at least 1 (M=%d N=%d K=%d)", s.m, s.n, s.k)
	case s.m > math.MaxInt32 || s.n > math.MaxInt32 || s.k > math.MaxInt32:
		return p, fmt.Errorf("M, N or K beyond int32")
	}
	nb := max(s.batch, 1)
	tile, err := pickGemm90Tile(tm, tn, s.m, s.n, nb, sms)
	if err != nil {
		return p, err
	}
	tiles := int64(ceilDiv(s.m, tile.m)) * int64(ceilDiv(s.n, tile.n))
	if tiles > math.MaxInt32 {
		return p, fmt.Errorf("%d output tiles of %dx%d, beyond the grid's int32", tiles, tile.m, tile.n)
	}
	dt := tmapDTypeBF16
	if s.in == F16 {
		dt = tmapDTypeF16
	}
	// A: op(A) is M×K; stored M×K (K innermost), or K×M when transposed.
	boxA := [3]uint32{gemm90TileK, uint32(tile.m), 1}
	dimsA := [2]int{s.k, s.m}
	if s.transA {
		boxA = [3]uint32{gemm90TileK, gemm90TileK, 1}
		dimsA = [2]int{s.m, s.k}
	}
	// B: op(B) is K×N; stored N×K (K innermost) when transposed, else K×N.
	boxB := [3]uint32{gemm90TileK, gemm90TileK, 1}
	dimsB := [2]int{s.n, s.k}
	if s.transB {
		boxB = [3]uint32{gemm90TileK, uint32(tile.n), 1}
		dimsB = [2]int{s.k, s.n}
	}
	if p.mapA, p.zA, err = gemm90Map("A", dt, s.a, dimsA, s.lda, s.strideA, nb, boxA); err != nil {
		return p, err
	}
	if p.mapB, p.zB, err = gemm90Map("B", dt, s.b, dimsB, s.ldb, s.strideB, nb, boxB); err != nil {
		return p, err
	}
	p.kernel = gemm90Kernel(s.in, s.out, s.transA, s.transB, tile)
	p.tile = tile
	p.grid = [3]int{int(tiles), 1, min(nb, maxGridYZ)}
	if vecOK(s.c, s.ldc, s.strideC, nb, 2, s.out.Size()) {
		p.flags |= 4 // C stored in pairs
	}
	return p, nil
}

// gemm90Map builds the tensor map of one operand as stored: dims[0] (the
// innermost, contiguous) by dims[1] rows of ld elements, a batch of nb with
// stride st elements (0: one matrix broadcast over the batch), and returns
// the kernel's z flag (1: the operand has a batch dimension). It checks
// what TMA needs: a 16-byte-aligned base, row and batch strides that are
// multiples of 16 bytes and below 2^40, dimensions in [1, 2^32-1].
func gemm90Map(op string, dtype int, addr uint64, dims [2]int, ld int, st int64, nb int, box [3]uint32) (tensorMap, int32, error) {
	const es = 2
	t := tensorMap{operand: op, dtype: dtype, addr: addr, box: box}
	ldName := "ld" + strings.ToLower(op)
	if addr%16 != 0 {
		return t, 0, fmt.Errorf("%s at %#x is not 16-byte aligned (TMA)", op, addr)
	}
	if ld%8 != 0 {
		return t, 0, fmt.Errorf("%s %d is not a multiple of 8 elements (TMA needs 16-byte row strides)", ldName, ld)
	}
	var z int32
	n := uint64(1)
	var s2 uint64
	if st != 0 && nb > 1 {
		if st%8 != 0 {
			return t, 0, fmt.Errorf("stride%s %d is not a multiple of 8 elements (TMA needs 16-byte strides)", op, st)
		}
		z, n, s2 = 1, uint64(nb), uint64(st)*es
	} else {
		// One matrix (or one broadcast over the batch): the outer stride is
		// never stepped; it only has to be a valid one.
		s2 = (uint64(dims[1])*uint64(ld)*es + 15) / 16 * 16
	}
	t.dims = [3]uint64{uint64(dims[0]), uint64(dims[1]), n}
	t.strides = [2]uint64{uint64(ld) * es, s2}
	for i, s := range t.strides {
		if s >= tmapMaxStride {
			return t, 0, fmt.Errorf("%s: stride %d of %d bytes is not below 2^40 (TMA)", op, i+1, s)
		}
	}
	for i, d := range t.dims {
		if d < 1 || d > tmapMaxDim {
			return t, 0, fmt.Errorf("%s: dimension %d of %d is outside [1, 2^32-1] (TMA)", op, i, d)
		}
	}
	return t, z, nil
}
