package cuda

// No build tag: the sm_90a GEMM's launch plan in the default build (no GPU).

import (
	"strings"
	"testing"
)

// base90 is an eligible 16-bit product: A 200×150 (lda 152), B 150×300
// (ldb 304), C 200×300 (ldc 304), one matrix, 256-byte-aligned pointers.
func base90() gemm90Shape {
	return gemm90Shape{in: BF16, out: F32, m: 200, n: 300, k: 150, batch: 1,
		a: 0x7f0000000000, b: 0x7f0000100000, c: 0x7f0000200000,
		lda: 152, ldb: 304, ldc: 304}
}

// TestGemm90Maps: the tensor-map arguments of every operand layout, as the
// kernel ABI fixes them (dims innermost first, byte strides of dims 1 and 2,
// boxes of 64 × 128 / 64 / BN), one matrix, a batch, and a broadcast.
func TestGemm90Maps(t *testing.T) {
	type want struct {
		dims    [3]uint64
		strides [2]uint64
		box     [3]uint32
		z       int32
	}
	cases := []struct {
		name   string
		mod    func(s *gemm90Shape)
		bn     int
		ma, mb want
	}{
		{"nn", func(s *gemm90Shape) {}, 256,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 128, 1}, 0},
			want{[3]uint64{300, 150, 1}, [2]uint64{608, 150 * 608}, [3]uint32{64, 64, 1}, 0}},
		{"nt", func(s *gemm90Shape) { s.transB, s.ldb = true, 152 }, 128,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 128, 1}, 0},
			want{[3]uint64{150, 300, 1}, [2]uint64{304, 300 * 304}, [3]uint32{64, 128, 1}, 0}},
		{"nt bn256", func(s *gemm90Shape) { s.transB, s.ldb = true, 152 }, 256,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 128, 1}, 0},
			want{[3]uint64{150, 300, 1}, [2]uint64{304, 300 * 304}, [3]uint32{64, 256, 1}, 0}},
		{"tn", func(s *gemm90Shape) { s.transA, s.lda = true, 200 }, 256,
			want{[3]uint64{200, 150, 1}, [2]uint64{400, 150 * 400}, [3]uint32{64, 64, 1}, 0},
			want{[3]uint64{300, 150, 1}, [2]uint64{608, 150 * 608}, [3]uint32{64, 64, 1}, 0}},
		{"tt f16", func(s *gemm90Shape) { s.in, s.transA, s.lda, s.transB, s.ldb = F16, true, 208, true, 160 }, 256,
			want{[3]uint64{200, 150, 1}, [2]uint64{416, 150 * 416}, [3]uint32{64, 64, 1}, 0},
			want{[3]uint64{150, 300, 1}, [2]uint64{320, 300 * 320}, [3]uint32{64, 256, 1}, 0}},
		{"batch of 3", func(s *gemm90Shape) { s.batch, s.strideA, s.strideB, s.strideC = 3, 200*152, 150*304, 200*304 }, 256,
			want{[3]uint64{150, 200, 3}, [2]uint64{304, 2 * 200 * 152}, [3]uint32{64, 128, 1}, 1},
			want{[3]uint64{300, 150, 3}, [2]uint64{608, 2 * 150 * 304}, [3]uint32{64, 64, 1}, 1}},
		{"A broadcast", func(s *gemm90Shape) { s.batch, s.strideA, s.strideB, s.strideC = 3, 0, 150*304, 200*304 }, 256,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 128, 1}, 0},
			want{[3]uint64{300, 150, 3}, [2]uint64{608, 2 * 150 * 304}, [3]uint32{64, 64, 1}, 1}},
		{"stride with batch 1", func(s *gemm90Shape) { s.strideA, s.strideB = 8, 8 }, 256,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 128, 1}, 0},
			want{[3]uint64{300, 150, 1}, [2]uint64{608, 150 * 608}, [3]uint32{64, 64, 1}, 0}},
		{"nn 64x128 (bn 64 = tile 64×128)", func(s *gemm90Shape) {}, 64,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 64, 1}, 0},
			want{[3]uint64{300, 150, 1}, [2]uint64{608, 150 * 608}, [3]uint32{64, 64, 1}, 0}},
		{"nt 64x128", func(s *gemm90Shape) { s.transB, s.ldb = true, 152 }, 64,
			want{[3]uint64{150, 200, 1}, [2]uint64{304, 200 * 304}, [3]uint32{64, 64, 1}, 0},
			want{[3]uint64{150, 300, 1}, [2]uint64{304, 300 * 304}, [3]uint32{64, 128, 1}, 0}},
		{"tn 64x128", func(s *gemm90Shape) { s.transA, s.lda = true, 200 }, 64,
			want{[3]uint64{200, 150, 1}, [2]uint64{400, 150 * 400}, [3]uint32{64, 64, 1}, 0},
			want{[3]uint64{300, 150, 1}, [2]uint64{608, 150 * 608}, [3]uint32{64, 64, 1}, 0}},
		{"outer stride rounded to 16 bytes", func(s *gemm90Shape) { s.m, s.n, s.k, s.lda, s.ldb, s.ldc = 1, 8, 8, 8, 8, 8 }, 128,
			want{[3]uint64{8, 1, 1}, [2]uint64{16, 16}, [3]uint32{64, 128, 1}, 0},
			want{[3]uint64{8, 8, 1}, [2]uint64{16, 128}, [3]uint32{64, 64, 1}, 0}},
	}
	for _, c := range cases {
		s := base90()
		c.mod(&s)
		tm := 128
		if c.bn == 64 { // the 64×128 tile: A boxes of 64 rows
			tm, c.bn = 64, 128
		}
		p, err := planGemm90(s, tm, c.bn, 132)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		dt := tmapDTypeBF16
		if s.in == F16 {
			dt = tmapDTypeF16
		}
		for _, x := range []struct {
			op   string
			got  tensorMap
			z    int32
			w    want
			addr uint64
		}{{"A", p.mapA, p.zA, c.ma, s.a}, {"B", p.mapB, p.zB, c.mb, s.b}} {
			g := x.got
			if g.operand != x.op || g.dtype != dt || g.addr != x.addr || g.dims != x.w.dims || g.strides != x.w.strides || g.box != x.w.box || x.z != x.w.z {
				t.Errorf("%s: %v, z%s=%d; want dtype %d, address %#x, dims %v, strides %v, box %v, z %d",
					c.name, &g, x.op, x.z, dt, x.addr, x.w.dims, x.w.strides, x.w.box, x.w.z)
			}
		}
		if p.tile != (gemm90Tile{tm, c.bn}) {
			t.Errorf("%s: tile %v, want %dx%d", c.name, p.tile, tm, c.bn)
		}
	}
}

// TestGemm90Eligibility: what the sm_90a path refuses, with the reason.
func TestGemm90Eligibility(t *testing.T) {
	cases := []struct {
		name, why string
		mod       func(s *gemm90Shape)
		tm, bn    int
	}{
		{"fp32", "input type f32", func(s *gemm90Shape) { s.in = F32 }, 0, 0},
		{"bf16 to f16", "output type f16", func(s *gemm90Shape) { s.out = F16 }, 0, 0},
		{"K 0", "at least 1", func(s *gemm90Shape) { s.k = 0 }, 0, 0},
		{"M 0", "at least 1", func(s *gemm90Shape) { s.m = 0 }, 0, 0},
		{"N 0", "at least 1", func(s *gemm90Shape) { s.n = 0 }, 0, 0},
		{"TileN", "TileN 64", func(s *gemm90Shape) {}, 0, 64},
		{"Tile 64 TileN 256", "Tile 64 × TileN 256", func(s *gemm90Shape) {}, 64, 256},
		{"Tile 32", "Tile 32 × TileN 0", func(s *gemm90Shape) {}, 32, 0},
		{"lda odd", "lda 151 is not a multiple of 8", func(s *gemm90Shape) { s.lda = 151 }, 0, 0},
		{"ldb 4 mod 8", "ldb 300 is not a multiple of 8", func(s *gemm90Shape) { s.ldb = 300 }, 0, 0},
		{"A misaligned", "A at 0x7f0000000008 is not 16-byte aligned", func(s *gemm90Shape) { s.a += 8 }, 0, 0},
		{"B misaligned", "B at 0x7f0000100002 is not 16-byte aligned", func(s *gemm90Shape) { s.b += 2 }, 0, 0},
		{"strideA", "strideA 30404 is not a multiple of 8", func(s *gemm90Shape) { s.batch, s.strideA, s.strideC = 2, 30404, 200*304 }, 0, 0},
		{"strideB", "strideB 12 is not a multiple of 8", func(s *gemm90Shape) { s.batch, s.strideB, s.strideC = 2, 12, 200*304 }, 0, 0},
		{"stride beyond 2^40", "stride 2 of", func(s *gemm90Shape) { s.batch, s.strideA, s.strideC = 2, 1<<40, 200*304 }, 0, 0},
		{"row stride beyond 2^40", "stride 1 of", func(s *gemm90Shape) { s.lda = 1 << 39 }, 0, 0},
		{"batch beyond 2^32-1", "A: dimension 2 of 4294967296", func(s *gemm90Shape) { s.batch, s.strideA = 1<<32, 8 }, 0, 0},
		{"N beyond int32", "beyond int32", func(s *gemm90Shape) { s.n, s.ldb, s.ldc = 1<<31, 1<<31, 1<<31 }, 0, 0},
	}
	for _, c := range cases {
		s := base90()
		c.mod(&s)
		_, err := planGemm90(s, c.tm, c.bn, 132)
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.why)
		}
	}
	// A misaligned C or odd ldc is eligible, without the paired stores.
	for _, mod := range []func(s *gemm90Shape){
		func(s *gemm90Shape) { s.c += 2 },
		func(s *gemm90Shape) { s.ldc = 301 },
		func(s *gemm90Shape) { s.batch, s.strideC = 2, 200*304+1 },
	} {
		s := base90()
		mod(&s)
		p, err := planGemm90(s, 0, 0, 132)
		if err != nil || p.flags != 0 {
			t.Errorf("%+v: flags %d, error %v; want 0, nil", s, p.flags, err)
		}
	}
	s := base90()
	if p, err := planGemm90(s, 0, 0, 132); err != nil || p.flags != 4 {
		t.Errorf("aligned C: flags %d, error %v; want 4, nil", p.flags, err)
	}
	s.out = BF16
	s.c += 4 // bf16 pairs: 4-byte alignment suffices
	if p, err := planGemm90(s, 0, 0, 132); err != nil || p.flags != 4 {
		t.Errorf("bf16 C at 4-byte alignment: flags %d, error %v; want 4, nil", p.flags, err)
	}
}

// TestGemm90Geometry: the automatic block tile, grid and kernel names.
func TestGemm90Geometry(t *testing.T) {
	cases := []struct {
		m, n, batch, sms int
		tm, tn           int // requested (0: automatic)
		want             gemm90Tile
	}{
		{4096, 4096, 1, 132, 0, 0, gemm90Tile{128, 256}}, // 512 blocks, 4 waves; 128×128: 8 waves of half the work
		{2048, 4096, 1, 132, 0, 0, gemm90Tile{128, 256}}, // 256: 2 waves; 128×128: 4
		{8192, 3072, 1, 132, 0, 0, gemm90Tile{128, 256}}, // 768: 6 waves; 128×128: 12 (measured: 109 against 122 µs at K = 768)
		{8192, 768, 1, 132, 0, 0, gemm90Tile{128, 128}},  // 192: 2 waves; 128×128: 384, 3 waves (measured: 33.7 against 38.5 µs)
		{3072, 768, 1, 132, 0, 0, gemm90Tile{128, 256}},  // 72: 1 wave; 128×128: 2 (measured, K = 8192: 87.8 against 97 µs)
		{1024, 3072, 2, 132, 0, 0, gemm90Tile{128, 128}}, // 8×12×2 = 192 over the batch: 2 waves; 128×128: 3
		{1024, 3072, 1, 132, 0, 0, gemm90Tile{128, 256}}, // 96: 1 wave; 128×128: 192, 2 waves
		{1024, 768, 1, 132, 0, 0, gemm90Tile{64, 128}},   // 48 blocks of 128×128 < 132: 16×6 = 96 of 64×128
		{768, 768, 1, 132, 0, 0, gemm90Tile{64, 128}},    // a weight gradient: 72 of 64×128 (measured: 35 against 46 and 87 µs)
		{512, 512, 1, 132, 0, 0, gemm90Tile{64, 128}},    // 8, 16 blocks: 32 of 64×128
		{1, 1, 1, 1, 0, 0, gemm90Tile{128, 128}},         // one block on one SM: the smaller work
		{512, 512, 1, 132, 128, 0, gemm90Tile{128, 128}}, // rows pinned: the smaller of the 128-row tiles
		{4096, 4096, 1, 132, 0, 128, gemm90Tile{128, 128}},
		{4096, 4096, 1, 132, 64, 0, gemm90Tile{64, 128}},
	}
	for _, c := range cases {
		got, err := pickGemm90Tile(c.tm, c.tn, c.m, c.n, c.batch, c.sms)
		if err != nil || got != c.want {
			t.Errorf("pickGemm90Tile(%d, %d, %dx%d, batch %d, %d SMs) = %v, %v; want %v", c.tm, c.tn, c.m, c.n, c.batch, c.sms, got, err, c.want)
		}
	}
	for _, tc := range []struct {
		t               gemm90Tile
		threads, shared int
	}{{gemm90Tile{128, 256}, 384, 197888}, {gemm90Tile{128, 128}, 384, 197888}, {gemm90Tile{64, 128}, 256, 99584}} {
		if tc.t.threads() != tc.threads || tc.t.shared() != tc.shared {
			t.Errorf("tile %v: %d threads, %d bytes shared; want %d, %d (kernels/gemm90.cu's G9)", tc.t, tc.t.threads(), tc.t.shared(), tc.threads, tc.shared)
		}
	}
	s := base90()
	s.batch, s.strideA, s.strideB, s.strideC = 70000, 0, 0, 200*304
	p, err := planGemm90(s, 0, 0, 132)
	if err != nil {
		t.Fatal(err)
	}
	// 200×300 matrices: 2×3 blocks of 128×128 (less padding) against 2×2
	// of 128×256, over a batch capped at 65535
	if want := [3]int{2 * 3, 1, 65535}; p.grid != want || p.tile != (gemm90Tile{128, 128}) {
		t.Errorf("grid %v (tile %v), want %v (128x128)", p.grid, p.tile, want)
	}
	if p.kernel != "ragr_gemm90_bf16f32_nn_m128n128" {
		t.Errorf("kernel %s", p.kernel)
	}
	s.batch = 1
	if p, err = planGemm90(s, 0, 0, 132); err != nil || p.grid != [3]int{4 * 3, 1, 1} || p.kernel != "ragr_gemm90_bf16f32_nn_m64n128" {
		t.Errorf("200x300, one matrix: grid %v kernel %s, %v; want [12 1 1] ragr_gemm90_bf16f32_nn_m64n128", p.grid, p.kernel, err)
	}
	names := map[string]bool{}
	for _, k := range gemm90Kernels() {
		names[k] = true
	}
	if len(names) != 48 {
		t.Fatalf("%d distinct gemm90 kernels, want 48", len(names))
	}
	for _, k := range []string{"ragr_gemm90_bf16f32_nn_m128n128", "ragr_gemm90_bf16_tt_m128n256", "ragr_gemm90_f16f32_tn_m64n128", "ragr_gemm90_f16_nt_m128n128"} {
		if !names[k] {
			t.Errorf("%s not among the gemm90 kernels", k)
		}
	}
	if got := gemm90Kernel(F16, F16, true, false, gemm90Tile{64, 128}); got != "ragr_gemm90_f16_tn_m64n128" {
		t.Errorf("gemm90Kernel = %s", got)
	}
}
