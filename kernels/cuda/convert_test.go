//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// castInputs: random values over many binades plus the edge cases
// (overflow, subnormals, infinities, NaN, signed zero, ties).
func castInputs(n int) []float32 {
	r := newRand(uint64(10 + n))
	x := testutil.Normal32(r, n, 1)
	for i := range x {
		x[i] *= float32(math.Pow(2, float64(i%60-30)))
	}
	edge := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.MaxFloat32, 70000, 65504, 65520, 1e-40, 6e-8, 3e-8, math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000)}
	for i := 0; i < len(edge) && i < n; i++ {
		x[i] = edge[i]
	}
	return x
}

func sameBitsOrNaN16(t *testing.T, name string, got, want []uint16, isNaN func(uint16) bool) {
	t.Helper()
	for i := range got {
		if got[i] != want[i] && !(isNaN(got[i]) && isNaN(want[i])) {
			t.Fatalf("%s: element %d = %#04x, want %#04x", name, i, got[i], want[i])
		}
	}
}

func TestCasts(t *testing.T) {
	bfNaN := func(h uint16) bool { return h&0x7f80 == 0x7f80 && h&0x7f != 0 }
	hNaN := func(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }
	for _, n := range oddSizes {
		x := castInputs(n)
		xp := up(t, x)
		// f32 -> bf16 -> f32
		wantB := make([]uint16, n)
		cpu.F32ToBF16(wantB, x)
		ob := out(t, n, 2)
		must(t, dev.Cast(ob.ptr(), BF16, xp, F32, int64(n)))
		gotB := ob.u16(t)
		sameBitsOrNaN16(t, fmt.Sprintf("f32->bf16 n=%d", n), gotB, wantB, bfNaN)
		of := out(t, n, 4)
		must(t, dev.Cast(of.ptr(), F32, up(t, wantB), BF16, int64(n)))
		wantF := make([]float32, n)
		cpu.BF16ToF32(wantF, wantB)
		testutil.AssertClose(t, fmt.Sprintf("bf16->f32 n=%d", n), of.f32(t), wantF, testutil.Exact)
		// f32 -> f16 -> f32
		wantH := make([]uint16, n)
		cpu.F32ToF16(wantH, x)
		oh := out(t, n, 2)
		must(t, dev.Cast(oh.ptr(), F16, xp, F32, int64(n)))
		sameBitsOrNaN16(t, fmt.Sprintf("f32->f16 n=%d", n), oh.u16(t), wantH, hNaN)
		of2 := out(t, n, 4)
		must(t, dev.Cast(of2.ptr(), F32, up(t, wantH), F16, int64(n)))
		cpu.F16ToF32(wantF, wantH)
		testutil.AssertClose(t, fmt.Sprintf("f16->f32 n=%d", n), of2.f32(t), wantF, testutil.Exact)
	}
	if err := dev.Cast(0, BF16, 0, F16, 1); err == nil {
		t.Error("f16 -> bf16: no error")
	}
}

func TestCopyStrided(t *testing.T) {
	r := newRand(11)
	cases := []struct {
		name           string
		shape, strides []int64
		off, srcLen    int64
	}{
		{"contiguous", []int64{4097}, []int64{1}, 0, 4097},
		{"transpose", []int64{7, 5}, []int64{1, 7}, 0, 35},
		{"permute3", []int64{3, 17, 5}, []int64{5, 15, 1}, 0, 255},
		{"slice", []int64{5, 3}, []int64{10, 2}, 3, 60},
		{"broadcast", []int64{4, 33}, []int64{0, 1}, 0, 33},
		{"rank8", []int64{2, 1, 3, 1, 2, 2, 1, 3}, []int64{36, 36, 12, 12, 6, 3, 3, 1}, 0, 72},
		{"scalar", []int64{}, []int64{}, 5, 6},
		{"empty", []int64{3, 0}, []int64{1, 1}, 0, 3},
		// the tiled transpose (transposePlan): tails in both tiled
		// dimensions, batch dimensions before and between, a broadcast
		// batch, sliced rows, odd offsets
		{"tiled transpose", []int64{45, 70}, []int64{1, 45}, 0, 45 * 70},
		{"tiled transpose 130x17", []int64{17, 130}, []int64{1, 17}, 1, 17*130 + 1},
		{"tiled permute021", []int64{3, 37, 20}, []int64{740, 1, 37}, 0, 3 * 740},
		{"tiled permute210", []int64{66, 5, 17}, []int64{1, 66, 330}, 3, 3 + 17*330},
		{"tiled broadcast batch", []int64{2, 40, 1, 33}, []int64{0, 1, 7, 50}, 5, 5 + 33*50},
		{"tiled 4-D", []int64{2, 18, 3, 65}, []int64{3510, 1, 1170, 18}, 0, 2 * 3510},
		{"tiled 200x130", []int64{130, 200}, []int64{1, 130}, 0, 130 * 200},
	}
	for _, c := range cases {
		n := 1
		for _, s := range c.shape {
			n *= int(s)
		}
		src := testutil.Normal32(r, int(c.srcLen), 1)
		want := make([]float32, n)
		idx := make([]int64, len(c.shape))
		for i := 0; i < n; i++ {
			off := c.off
			for d := range idx {
				off += idx[d] * c.strides[d]
			}
			want[i] = src[off]
			for d := len(idx) - 1; d >= 0; d-- {
				idx[d]++
				if idx[d] < c.shape[d] {
					break
				}
				idx[d] = 0
			}
		}
		sp := up(t, src) + DevicePtr(4*c.off)
		o := out(t, n, 4)
		must(t, dev.CopyStrided(o.ptr(), sp, 4, c.shape, c.strides))
		testutil.AssertClose(t, c.name+"/b32", o.f32(t), want, testutil.Exact)
		// the 16-bit kernel on the same layout
		src16 := bf16Of(src)
		want16 := bf16Of(want)
		o16 := out(t, n, 2)
		must(t, dev.CopyStrided(o16.ptr(), up(t, src16)+DevicePtr(2*c.off), 2, c.shape, c.strides))
		got16 := o16.u16(t)
		for i := range got16 {
			if got16[i] != want16[i] {
				t.Fatalf("%s/b16: element %d = %#x, want %#x", c.name, i, got16[i], want16[i])
			}
		}
	}
	if err := dev.CopyStrided(0, 0, 8, []int64{1}, []int64{1}); err == nil {
		t.Error("8-byte elements: no error")
	}
	if err := dev.CopyStrided(0, 0, 4, []int64{1, 2}, []int64{1}); err == nil {
		t.Error("strides of the wrong rank: no error")
	}
}

func TestFill(t *testing.T) {
	for _, n := range oddSizes {
		o := out(t, n, 4)
		must(t, dev.FillF32(o.ptr(), -1.5, int64(n)))
		for i, v := range o.f32(t) {
			if v != -1.5 {
				t.Fatalf("FillF32 n=%d: element %d = %v", n, i, v)
			}
		}
		h := out(t, n, 2)
		must(t, dev.FillB16(h.ptr(), 0x3f80, int64(n)))
		for i, v := range h.u16(t) {
			if v != 0x3f80 {
				t.Fatalf("FillB16 n=%d: element %d = %#x", n, i, v)
			}
		}
	}
}
