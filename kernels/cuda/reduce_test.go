//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// reduceShapes: rows of odd and of multiple-of-4 lengths (the float4 path),
// and middle axes that the cols launcher splits into chunks (few column
// tiles, long axis: [1, 1000, 3], [2, 2048, 96]) or not.
var reduceShapes = [][3]int{{1, 1, 1}, {3, 17, 1}, {2, 4097, 1}, {1, 65537, 1}, {3, 1024, 1}, {5, 33, 7}, {1, 1000, 3}, {4, 3, 1000}, {2, 1, 5}, {2, 2048, 96}}

func TestReduceSumMean(t *testing.T) {
	r := newRand(20)
	for _, s := range reduceShapes {
		outer, n, inner := s[0], s[1], s[2]
		x := testutil.Normal32(r, outer*n*inner, 1)
		want := make([]float64, outer*inner)
		cpu.SumAxis64(want, testutil.To64(x), outer, n, inner)
		abs := make([]float64, len(x))
		for i, v := range x {
			abs[i] = math.Abs(float64(v))
		}
		scale := make([]float64, outer*inner)
		cpu.SumAxis64(scale, abs, outer, n, inner)
		xp := up(t, x)
		o := out(t, outer*inner, 4)
		must(t, dev.ReduceSum(o.ptr(), xp, int64(outer), int64(n), int64(inner)))
		assertCloseScaled(t, fmt.Sprintf("sum %v", s), o.f32(t), want, scale, tolF32Accum)
		for i := range want {
			want[i] /= float64(n)
			scale[i] /= float64(n)
		}
		o.poison(t)
		must(t, dev.ReduceMean(o.ptr(), xp, int64(outer), int64(n), int64(inner)))
		assertCloseScaled(t, fmt.Sprintf("mean %v", s), o.f32(t), want, scale, tolF32Accum)
	}
	if err := dev.ReduceSum(0, 0, 2, 0, 3); err == nil {
		t.Error("empty axis: no error")
	}
	// a row whose start is not 16-byte aligned takes the scalar path
	x := testutil.Normal32(r, 1+2*1024, 1)
	xp := up(t, x)
	o := out(t, 2, 4)
	must(t, dev.ReduceSum(o.ptr(), xp+4, 2, 1024, 1))
	want := make([]float64, 2)
	cpu.SumAxis64(want, testutil.To64(x[1:]), 2, 1024, 1)
	assertCloseScaled(t, "sum of misaligned rows", o.f32(t), want, []float64{64, 64}, tolF32Accum)
}

func TestReduceColsChunk(t *testing.T) {
	for _, c := range []struct {
		outer, n, inner int64
		sms             int
		want            int64
	}{
		{1, 8192, 768, 132, 187},   // a bias gradient: 24 column tiles, 44 chunks
		{1, 8192, 3072, 132, 745},  // 96 tiles, 11 chunks
		{64, 8192, 768, 132, 8192}, // 1536 tiles fill the GPU: one launch
		{1, 100, 768, 132, 100},    // short axis: one launch
		{1, 1000, 3, 132, 63},      // one tile: chunks of at least 64 rows (16)
		{2, 2048, 96, 1, 1024},     // one SM: 8 blocks wanted, 6 tiles, 2 chunks
		{1, 1 << 20, 32, 132, 993}, // 1056 chunks
	} {
		got := reduceColsChunk(c.outer, c.n, c.inner, c.sms)
		if got != c.want {
			t.Errorf("reduceColsChunk(%d, %d, %d, %d SMs) = %d, want %d", c.outer, c.n, c.inner, c.sms, got, c.want)
		}
		if chunks := (c.n + got - 1) / got; chunks > 1 && (chunks-1)*got >= c.n {
			t.Errorf("reduceColsChunk(%d, %d, %d): an empty chunk", c.outer, c.n, c.inner)
		}
	}
}

func TestReduceMax(t *testing.T) {
	r := newRand(21)
	for _, s := range reduceShapes {
		outer, n, inner := s[0], s[1], s[2]
		x := testutil.Normal32(r, outer*n*inner, 1)
		for i := range x {
			x[i] = float32(math.Round(float64(x[i]) * 4)) // ties: the first index must win
		}
		if len(x) > 40 {
			x[37] = float32(math.NaN())
			x[len(x)-2] = float32(math.NaN())
		}
		want := make([]float32, outer*inner)
		wantArg := make([]int32, outer*inner)
		cpu.MaxAxis(want, wantArg, x, outer, n, inner)
		o := out(t, outer*inner, 4)
		a := out(t, outer*inner, 4)
		must(t, dev.ReduceMax(o.ptr(), a.ptr(), up(t, x), int64(outer), int64(n), int64(inner)))
		testutil.AssertClose(t, fmt.Sprintf("max %v", s), o.f32(t), want, testutil.Exact)
		got := a.i32(t)
		for i := range got {
			if got[i] != wantArg[i] {
				t.Fatalf("argmax %v: output %d = %d, want %d", s, i, got[i], wantArg[i])
			}
		}
		// arg may be omitted
		o.poison(t)
		must(t, dev.ReduceMax(o.ptr(), 0, up(t, x), int64(outer), int64(n), int64(inner)))
		testutil.AssertClose(t, fmt.Sprintf("max (no arg) %v", s), o.f32(t), want, testutil.Exact)
	}
}
