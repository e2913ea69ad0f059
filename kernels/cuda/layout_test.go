package cuda

// No build tag: these run in the default build (no GPU).

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// TestStridedArgsLayout: the Go packing of the by-value structs matches
// the C layout the kernels read (copy.cu's StridedArgs, elementwise.cu's
// BcastArgs; their sizes, 144 and 208 bytes, are checked against the PTX
// in package kernels).
func TestStridedArgsLayout(t *testing.T) {
	le := binary.LittleEndian
	r := stridedArgs([]int64{3, 5}, []int64{5, 1})
	if len(r.Bytes) != 144 || r.Align != 8 {
		t.Fatalf("StridedArgs: %d bytes, align %d; want 144, 8", len(r.Bytes), r.Align)
	}
	word := func(b []byte, i int) int64 { return int64(le.Uint64(b[8*i:])) }
	if word(r.Bytes, 0) != 15 {
		t.Errorf("n = %d, want 15", word(r.Bytes, 0))
	}
	for i, want := range []int64{3, 5, 1, 1, 1, 1, 1, 1} { // shape, padded with 1
		if got := word(r.Bytes, 1+i); got != want {
			t.Errorf("shape[%d] = %d, want %d", i, got, want)
		}
	}
	for i, want := range []int64{5, 1} { // strides (entries past ndim are never read)
		if got := word(r.Bytes, 9+i); got != want {
			t.Errorf("stride[%d] = %d, want %d", i, got, want)
		}
	}
	if nd := le.Uint32(r.Bytes[136:]); nd != 2 {
		t.Errorf("ndim = %d, want 2", nd)
	}
	b := stridedArgs([]int64{2, 3, 4}, []int64{12, 4, 1}, []int64{0, 1, 0})
	if len(b.Bytes) != 208 {
		t.Fatalf("BcastArgs: %d bytes, want 208", len(b.Bytes))
	}
	if word(b.Bytes, 0) != 24 || word(b.Bytes, 1+2) != 4 || word(b.Bytes, 9+1) != 4 || word(b.Bytes, 17+1) != 1 || le.Uint32(b.Bytes[200:]) != 3 {
		t.Errorf("BcastArgs fields misplaced: % x", b.Bytes)
	}
	w := stridedArgs([]int64{2, 3}, []int64{3, 0}, []int64{1, 2}, []int64{0, 1})
	if len(w.Bytes) != 272 {
		t.Fatalf("WhereArgs: %d bytes, want 272", len(w.Bytes))
	}
	if word(w.Bytes, 0) != 6 || word(w.Bytes, 9) != 3 || word(w.Bytes, 17+1) != 2 || word(w.Bytes, 25+1) != 1 || le.Uint32(w.Bytes[264:]) != 2 {
		t.Errorf("WhereArgs fields misplaced: % x", w.Bytes)
	}
}

// TestTransposePlan: which strided copies take the tiled transpose, and
// the TransposeArgs of copy.cu (208 bytes: 7 + 3*6 long longs, int nb).
func TestTransposePlan(t *testing.T) {
	le := binary.LittleEndian
	word := func(b []byte, i int) int64 { return int64(le.Uint64(b[8*i:])) }
	for _, c := range []struct {
		shape, strides []int64
		ok             bool
	}{
		{[]int64{8192, 8192}, []int64{1, 8192}, true},
		{[]int64{16, 16}, []int64{1, 16}, true},
		{[]int64{15, 64}, []int64{1, 15}, false},      // C below 16
		{[]int64{64, 15}, []int64{1, 64}, false},      // R below 16
		{[]int64{64, 64}, []int64{64, 1}, false},      // contiguous
		{[]int64{64, 64}, []int64{1, 0}, false},       // R broadcast
		{[]int64{64, 64}, []int64{2, 128}, false},     // nothing contiguous in the source
		{[]int64{64, 64, 1}, []int64{1, 64, 1}, true}, // size-1 dims left out
		{[]int64{2, 3, 40, 4, 50}, []int64{0, 7, 1, 3, 40}, true},
		{[]int64{64}, []int64{1}, false},
		{[]int64{2, 2, 2, 2, 2, 2, 2, 64, 64}, []int64{1, 1, 1, 1, 1, 1, 1, 1, 64}, false}, // 7 batch dims
	} {
		_, _, ok := transposePlan(c.shape, c.strides)
		if ok != c.ok {
			t.Errorf("transposePlan(%v, %v): tiled %v, want %v", c.shape, c.strides, ok, c.ok)
		}
	}
	// [2, 3, 40, 4, 50] with strides [0, 7, 1, 3, 40]: R = 50 (stride 40),
	// C = 40 (dst stride 200), batch [2, 3, 4] with source strides [0, 7, 3]
	// and destination strides [24000, 8000, 50]
	r, tiles, _ := transposePlan([]int64{2, 3, 40, 4, 50}, []int64{0, 7, 1, 3, 40})
	if len(r.Bytes) != 208 || r.Align != 8 {
		t.Fatalf("TransposeArgs: %d bytes, align %d; want 208, 8", len(r.Bytes), r.Align)
	}
	want := []int64{50, 40, 40, 200, 1, 1, 24, 2, 3, 4, 1, 1, 1, 0, 7, 3, 1, 1, 1, 24000, 8000, 50, 1, 1, 1}
	for i, w := range want {
		if i >= 16 && i < 19 || i >= 22 { // padding entries (strides of absent batch dims) are never read
			continue
		}
		if got := word(r.Bytes, i); got != w {
			t.Errorf("TransposeArgs word %d = %d, want %d", i, got, w)
		}
	}
	if tiles != 24 || le.Uint32(r.Bytes[200:]) != 3 {
		t.Errorf("tiles %d, nb %d; want 24, 3", tiles, le.Uint32(r.Bytes[200:]))
	}
}

func TestCheckStrided(t *testing.T) {
	if n, err := checkStrided("k", []int64{2, 0, 3}, []int64{0, 0, 1}); err != nil || n != 0 {
		t.Errorf("empty shape: n %d, err %v", n, err)
	}
	for _, c := range []struct {
		shape, strides []int64
		want           string
	}{
		{make([]int64, 9), make([]int64, 9), "rank 9"},
		{[]int64{2, -1}, []int64{1, 1}, "negative dimension"},
		{[]int64{2, 3}, []int64{1}, "1 strides"},
	} {
		if _, err := checkStrided("ragr_k", c.shape, c.strides); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "ragr_k") {
			t.Errorf("shape %v strides %v: error %v, want one naming the kernel and %q", c.shape, c.strides, err, c.want)
		}
	}
}

func TestCheckRows(t *testing.T) {
	if err := checkRows("k", 0, 0); err != nil {
		t.Errorf("[0, 0]: %v", err)
	}
	if err := checkRows("k", 3, 0); err == nil {
		t.Error("[3, 0]: no error")
	}
	if err := checkRows("k", -1, 4); err == nil {
		t.Error("negative rows: no error")
	}
	if err := checkSizes("k", 1, -2); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative size: %v", err)
	}
}

func TestChunkTable(t *testing.T) {
	cs, err := chunkTable("k", []int64{1, chunkElems, chunkElems + 1, 0, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{0, 1, 2, 4, 4, 5}
	for i := range want {
		if cs[i] != want[i] {
			t.Fatalf("chunk starts %v, want %v", cs, want)
		}
	}
	if _, err := chunkTable("k", []int64{-1}); err == nil {
		t.Error("negative size: no error")
	}
	if _, err := chunkTable("k", []int64{math.MaxInt64 / 2}); err == nil {
		t.Error("too many chunks: no error")
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		n             int64
		block, per, m int
		want          int
	}{{0, 256, 1, 0, 1}, {1, 256, 4, 0, 1}, {1025, 256, 4, 0, 2}, {1 << 30, 256, 1, 100, 100}} {
		if got := Grid1D(c.n, c.block, c.per, c.m); got != c.want {
			t.Errorf("Grid1D(%d, %d, %d, %d) = %d, want %d", c.n, c.block, c.per, c.m, got, c.want)
		}
	}
	for cols, want := range map[int]int{1: 32, 17: 32, 768: 192, 770: 192, 800: 224, 4096: 1024, 30522: 1024} {
		if got := rowBlock(cols); got != want {
			t.Errorf("rowBlock(%d) = %d, want %d", cols, got, want)
		}
	}
	for n, want := range map[int64]int64{1: 512, 512: 512, 513: 1024, 1 << 20: 1 << 20, 1<<20 + 1: 2 << 20, 5 << 20: 6 << 20} {
		if got := sizeClass(n); got != want {
			t.Errorf("sizeClass(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestNamesAndScalars(t *testing.T) {
	if got := kname("gelu_erf", "fwd", BF16.String()); got != "ragr_gelu_erf_fwd_bf16" {
		t.Errorf("kname = %s", got)
	}
	if got := kname("reduce", "sum", "", "f32"); got != "ragr_reduce_sum_f32" {
		t.Errorf("kname skipping empty parts = %s", got)
	}
	if F32.Size() != 4 || BF16.Size() != 2 || F16.Size() != 2 || F16.String() != "f16" || I32.Size() != 4 || I32.String() != "i32" {
		t.Error("DType sizes or names wrong")
	}
	// hyperparameters are read as the decimals they were written as
	if widen(0.9) != 0.9 || widen(1e-8) != 1e-8 || widen(0.999) != 0.999 {
		t.Errorf("widen(0.9) = %v, widen(1e-8) = %v", widen(0.9), widen(1e-8))
	}
	if !math.IsInf(widen(float32(math.Inf(1))), 1) {
		t.Error("widen(+Inf) is not +Inf")
	}
}

// TestSoftmaxWarpKernel: rows up to 1024 columns take the smallest
// warp-per-row size class that holds them (kernels/softmax.cu), longer rows
// the block kernels.
func TestSoftmaxWarpKernel(t *testing.T) {
	for _, c := range []struct {
		name string
		cols int
		want string
	}{
		{"ragr_softmax_fwd_f32", 1, "ragr_softmax_fwd_w128_f32"},
		{"ragr_softmax_fwd_f32", 128, "ragr_softmax_fwd_w128_f32"},
		{"ragr_log_softmax_fwd_f32", 129, "ragr_log_softmax_fwd_w256_f32"},
		{"ragr_softmax_bwd_f32", 512, "ragr_softmax_bwd_w512_f32"},
		{"ragr_log_softmax_bwd_f32", 1024, "ragr_log_softmax_bwd_w1024_f32"},
		{"ragr_softmax_fwd_f32", 1025, ""},
	} {
		got, ok := softmaxWarpKernel(c.name, c.cols)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("softmaxWarpKernel(%s, %d) = %q, %v; want %q", c.name, c.cols, got, ok, c.want)
		}
	}
}

// TestNormWarpKernel: the norms' size classes include BERT-base's 768;
// warpRowGrid gives a warp per row up to perSM blocks per SM.
func TestNormWarpKernel(t *testing.T) {
	for _, c := range []struct {
		name string
		cols int
		want string
	}{
		{"ragr_layernorm_fwd_f32", 768, "ragr_layernorm_fwd_w768_f32"},
		{"ragr_layernorm_bwd_f32", 513, "ragr_layernorm_bwd_w768_f32"},
		{"ragr_rmsnorm_fwd_f32", 896, "ragr_rmsnorm_fwd_w1024_f32"},
		{"ragr_rmsnorm_bwd_f32", 100, "ragr_rmsnorm_bwd_w128_f32"},
		{"ragr_layernorm_fwd_f32", 1025, ""},
	} {
		got, ok := normWarpKernel(c.name, c.cols)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("normWarpKernel(%s, %d) = %q, %v; want %q", c.name, c.cols, got, ok, c.want)
		}
	}
	for _, c := range []struct {
		rows       int64
		sms, perSM int
		want       int
	}{{1, 132, 16, 1}, {7, 132, 16, 2}, {16384, 132, 16, 2112}, {16384, 132, 2, 264}, {400, 132, 16, 100}} {
		if got := warpRowGrid(c.rows, c.sms, c.perSM); got != c.want {
			t.Errorf("warpRowGrid(%d, %d, %d) = %d, want %d", c.rows, c.sms, c.perSM, got, c.want)
		}
	}
}
