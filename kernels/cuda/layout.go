package cuda

// Launch-independent layout helpers (no cgo, no build tag): dtypes, kernel
// names, launch geometry, shape checks, the by-value structs and tables the
// kernels read, the allocator's size classes. They are unit-tested in the
// default build (layout_test.go); everything that talks to the driver is in
// the cuda-tagged files.

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Raw is a kernel argument passed by value as its bytes (a C struct, such
// as the shape/stride struct of ragr_copy_strided_*). Align is the struct's
// alignment in bytes (8 for a struct holding long longs).
type Raw struct {
	Bytes []byte
	Align int
}

// Grid1D returns the grid size for n elements with block threads per block
// and each thread handling perThread elements, capped at maxBlocks (0: no
// cap) for grid-stride kernels. At least 1.
func Grid1D(n int64, block, perThread int, maxBlocks int) int {
	per := int64(block) * int64(perThread)
	g := (n + per - 1) / per
	if g < 1 {
		g = 1
	}
	if maxBlocks > 0 && g > int64(maxBlocks) {
		g = int64(maxBlocks)
	}
	if g > math.MaxInt32 {
		g = math.MaxInt32
	}
	return int(g)
}

// sizeClass rounds a request up: to 512 bytes below 1 MiB, to 2 MiB above,
// so that the free lists find reuse across slightly different sizes.
func sizeClass(n int64) int64 {
	const small, large = 512, 2 << 20
	if n <= 1<<20 {
		return (n + small - 1) / small * small
	}
	return (n + large - 1) / large * large
}

// DType is a storage type of device data.
type DType int

// The storage types. Compute is fp32 in every kernel; bf16 and fp16 are
// loaded and stored. I32 (int32) is only a cast source and target (Cast).
const (
	F32 DType = iota
	BF16
	F16
	I32
)

// String returns the kernel-name suffix of the type ("f32", "bf16", "f16",
// "i32").
func (t DType) String() string {
	switch t {
	case F32:
		return "f32"
	case BF16:
		return "bf16"
	case F16:
		return "f16"
	case I32:
		return "i32"
	}
	return fmt.Sprintf("DType(%d)", int(t))
}

// Size returns the bytes per element.
func (t DType) Size() int {
	if t == F32 || t == I32 {
		return 4
	}
	return 2
}

// kname builds a kernel name: ragr_<family>_<op>_<dtype> (the one place
// names are assembled; empty parts are skipped).
func kname(parts ...string) string {
	s := "ragr"
	for _, p := range parts {
		if p != "" {
			s += "_" + p
		}
	}
	return s
}

// rowBlock is the block size of the block-per-row kernels: about cols/4
// threads, a multiple of 32 in [32, 1024].
func rowBlock(cols int) int {
	b := (cols/4 + 31) / 32 * 32
	if b < 32 {
		b = 32
	}
	if b > 1024 {
		b = 1024
	}
	return b
}

// checkSizes returns an error naming the kernel when a size is negative.
func checkSizes(name string, sizes ...int64) error {
	for _, s := range sizes {
		if s < 0 {
			return fmt.Errorf("kernel %s: negative size in %v", name, sizes)
		}
	}
	return nil
}

// MaxDims is the largest rank the strided kernels (broadcast binary,
// strided copy) accept.
const MaxDims = 8

// stridedArgs packs the C struct {long long n; long long shape[8];
// long long s1[8]; [long long s2[8];] int ndim;} of elementwise.cu and
// copy.cu.
func stridedArgs(shape []int64, strides ...[]int64) Raw {
	n := int64(1)
	for _, s := range shape {
		n *= s
	}
	words := 1 + MaxDims*(1+len(strides))
	b := make([]byte, words*8+8) // + int ndim, padded to 8
	le := binary.LittleEndian
	le.PutUint64(b, uint64(n))
	off := 8
	put := func(v []int64) {
		for i := 0; i < MaxDims; i++ {
			var x int64 = 1
			if i < len(v) {
				x = v[i]
			}
			le.PutUint64(b[off:], uint64(x))
			off += 8
		}
	}
	put(shape)
	for _, s := range strides {
		z := make([]int64, len(shape))
		copy(z, s)
		put(z)
	}
	le.PutUint32(b[off:], uint32(len(shape)))
	return Raw{Bytes: b, Align: 8}
}

// The tiled transpose of copy.cu (ragr_copy_transpose_*): 64x64 tiles, up
// to 6 batch dimensions, taken when both tiled extents are at least 16.
const (
	transposeTile    = 64
	transposeBatch   = 6
	transposeMin     = 16
	transposeThreads = 256 // 8 warps: the kernel's read and write loops assume it
)

// transposePlan decides whether a strided copy (contiguous destination of
// shape shape, source read through strides) takes the tiled transpose and
// returns its TransposeArgs {long long rows, cols, src_row, dst_col,
// tiles_r, tiles_c, tiles; long long bshape[6], bsrc[6], bdst[6]; int nb}
// and the tile count. It applies when, size-1 dimensions left out, the last
// dimension R has a source stride other than 0 and 1 and an earlier one C
// has source stride 1 (the innermost such), both of extent >= 16; the
// other dimensions are the batch.
func transposePlan(shape, strides []int64) (Raw, int64, bool) {
	var dims []int
	for i, s := range shape {
		if s > 1 {
			dims = append(dims, i)
		}
	}
	if len(dims) < 2 || len(dims)-2 > transposeBatch {
		return Raw{}, 0, false
	}
	r := dims[len(dims)-1]
	if strides[r] == 0 || strides[r] == 1 || shape[r] < transposeMin {
		return Raw{}, 0, false
	}
	ci := -1
	for k := len(dims) - 2; k >= 0; k-- {
		if strides[dims[k]] == 1 {
			ci = k
			break
		}
	}
	if ci < 0 || shape[dims[ci]] < transposeMin {
		return Raw{}, 0, false
	}
	c := dims[ci]
	// destination strides: contiguous over dims
	dst := make([]int64, len(dims))
	acc := int64(1)
	for k := len(dims) - 1; k >= 0; k-- {
		dst[k] = acc
		acc *= shape[dims[k]]
	}
	var bshape, bsrc, bdst []int64
	nbatch := int64(1)
	for k, d := range dims[:len(dims)-1] {
		if k == ci {
			continue
		}
		bshape, bsrc, bdst = append(bshape, shape[d]), append(bsrc, strides[d]), append(bdst, dst[k])
		nbatch *= shape[d]
	}
	tr := (shape[r] + transposeTile - 1) / transposeTile
	tc := (shape[c] + transposeTile - 1) / transposeTile
	tiles := nbatch * tr * tc
	b := make([]byte, (7+3*transposeBatch)*8+8)
	le := binary.LittleEndian
	for i, v := range []int64{shape[r], shape[c], strides[r], dst[ci], tr, tc, tiles} {
		le.PutUint64(b[8*i:], uint64(v))
	}
	for j, v := range [][]int64{bshape, bsrc, bdst} {
		for i := 0; i < transposeBatch; i++ {
			x := int64(1)
			if i < len(v) {
				x = v[i]
			}
			le.PutUint64(b[8*(7+j*transposeBatch+i):], uint64(x))
		}
	}
	le.PutUint32(b[8*(7+3*transposeBatch):], uint32(len(bshape)))
	return Raw{Bytes: b, Align: 8}, tiles, true
}

func checkStrided(name string, shape []int64, strides ...[]int64) (int64, error) {
	if len(shape) > MaxDims {
		return 0, fmt.Errorf("kernel %s: rank %d > %d (shape %v)", name, len(shape), MaxDims, shape)
	}
	n := int64(1)
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("kernel %s: negative dimension in shape %v", name, shape)
		}
		n *= s
	}
	for _, st := range strides {
		if len(st) != len(shape) {
			return 0, fmt.Errorf("kernel %s: %d strides for shape %v", name, len(st), shape)
		}
	}
	return n, nil
}

func checkRows(name string, rows int64, cols int) error {
	if rows < 0 || cols < 0 {
		return fmt.Errorf("kernel %s: negative shape [%d, %d]", name, rows, cols)
	}
	if cols == 0 && rows > 0 {
		return fmt.Errorf("kernel %s: rows of length 0 (shape [%d, 0])", name, rows)
	}
	if int64(cols) > math.MaxInt32 {
		return fmt.Errorf("kernel %s: row length %d does not fit int32", name, cols)
	}
	return nil
}

// chunkElems is RAGR_CHUNK of multitensor.cuh: one block per chunk.
const chunkElems = 16384

// chunkTable returns chunk_start [len(ns)+1] for tensors of ns elements.
func chunkTable(name string, ns []int64) ([]int32, error) {
	cs := make([]int32, len(ns)+1)
	var total int64
	for i, n := range ns {
		if n < 0 {
			return nil, fmt.Errorf("kernel %s: tensor %d has negative size %d", name, i, n)
		}
		cs[i] = int32(total)
		total += (n + chunkElems - 1) / chunkElems
		if total > math.MaxInt32 {
			return nil, fmt.Errorf("kernel %s: more than %d chunks of %d elements", name, math.MaxInt32, chunkElems)
		}
	}
	cs[len(ns)] = int32(total)
	return cs, nil
}

// putU64 appends v to b, little-endian.
func putU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// widen returns the float64 nearest the shortest decimal form of x (0.9
// means 0.9, not 0.89999997615814): the hyperparameters are read as the
// Python floats they came from, as kernels/cpu.AdamW reads them.
func widen(x float32) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
	if err != nil {
		return float64(x)
	}
	return f
}

// warpRowBlock is the warp-per-row kernels' block (softmax, norms): 4 rows
// at a time.
const warpRowBlock = 128

// softmaxWarpKernel returns the warp-per-row variant of the softmax kernel
// name (ragr_<op>_f32) for rows of cols columns — the one for the smallest
// of 128, 256, 512, 1024 columns that holds the row — and false for longer
// rows (kernels/softmax.cu).
func softmaxWarpKernel(name string, cols int) (string, bool) {
	return warpRowKernel(name, cols, []int{128, 256, 512, 1024})
}

// normWarpKernel is softmaxWarpKernel for the LayerNorm / RMSNorm kernels
// (kernels/norm.cu), whose size classes add 768 (BERT-base's width).
func normWarpKernel(name string, cols int) (string, bool) {
	return warpRowKernel(name, cols, []int{128, 256, 512, 768, 1024})
}

// warpRowKernel returns name (ragr_<op>_f32) with _w<C> before the dtype
// for the smallest size class C >= cols, or false when cols exceeds them.
func warpRowKernel(name string, cols int, classes []int) (string, bool) {
	for _, c := range classes {
		if cols <= c {
			return strings.TrimSuffix(name, "_f32") + "_w" + strconv.Itoa(c) + "_f32", true
		}
	}
	return "", false
}

// warpRowGrid is the grid of a warp-per-row kernel (block warpRowBlock):
// enough blocks for one warp per row, at most perSM blocks per SM.
func warpRowGrid(rows int64, sms, perSM int) int {
	const warps = warpRowBlock / 32
	g := (rows + warps - 1) / warps
	if m := int64(perSM * sms); g > m {
		g = m
	}
	return int(max(g, 1))
}
