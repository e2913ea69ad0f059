//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

func TestRopeTable(t *testing.T) {
	for _, c := range []struct {
		npos, dim int
		theta     float32
	}{{1, 2, 10000}, {17, 64, 10000}, {4096, 128, 1000000}, {5, 18, 500}} {
		half := c.dim / 2
		co, si := out(t, c.npos*half, 4), out(t, c.npos*half, 4)
		must(t, dev.RopeTable(co.ptr(), si.ptr(), c.npos, c.dim, c.theta))
		gc, gs := co.f32(t), si.f32(t)
		for p := 0; p < c.npos; p++ {
			for j := 0; j < half; j++ {
				// transformers: inv_freq = 1/theta**(arange(0,dim,2)/dim) in fp32, freq = pos*inv_freq in fp32
				inv := float32(1 / float32(math.Pow(float64(c.theta), float64(float32(2*j)/float32(c.dim)))))
				f := float64(float32(p) * inv)
				i := p*half + j
				if b := ropeAngleBound(f); math.Abs(float64(gc[i])-math.Cos(f)) > b || math.Abs(float64(gs[i])-math.Sin(f)) > b {
					t.Fatalf("%+v: pos %d pair %d: cos %v sin %v, want %v %v (bound %.3g)", c, p, j, gc[i], gs[i], math.Cos(f), math.Sin(f), b)
				}
			}
		}
	}
}

func TestRope(t *testing.T) {
	r := newRand(60)
	for _, dt := range []DType{F32, BF16} {
		// vector widths (rope.cu): dim 64/128/16 the widest (16 bytes), 24
		// f32 16 bytes and bf16 8, 12 8-byte f32 and 4-byte bf16, 18 and
		// 2 element by element; odd head counts (a group of 2 with one
		// missing); off: x and y one element past 16-byte alignment (the
		// element-by-element path at any dim)
		for _, c := range []struct{ tokens, heads, dim, npos, off int }{{1, 1, 2, 1, 0}, {5, 3, 64, 40, 0}, {17, 2, 128, 4096, 0},
			{33, 7, 18, 100, 0}, {9, 14, 64, 50, 0}, {6, 5, 24, 10, 0}, {4, 3, 12, 8, 0}, {3, 1, 16, 5, 0}, {5, 3, 64, 40, 1}} {
			half := c.dim / 2
			n := c.tokens * c.heads * c.dim
			cos, sin := out(t, c.npos*half, 4), out(t, c.npos*half, 4)
			must(t, dev.RopeTable(cos.ptr(), sin.ptr(), c.npos, c.dim, 10000))
			cv, sv := cos.f32(t), sin.f32(t)
			pos := make([]int32, c.tokens)
			for i := range pos {
				pos[i] = int32(r.IntN(c.npos))
			}
			x := testutil.Normal32(r, n, 1)
			dy := testutil.Normal32(r, n, 1)
			lvl := tolF32
			if dt == BF16 {
				x, dy, lvl = roundBF16(x), roundBF16(dy), tolBF16
			}
			wy, wdx := make([]float64, n), make([]float64, n)
			for tk := 0; tk < c.tokens; tk++ {
				for h := 0; h < c.heads; h++ {
					base := (tk*c.heads + h) * c.dim
					for j := 0; j < half; j++ {
						cc, ss := float64(cv[int(pos[tk])*half+j]), float64(sv[int(pos[tk])*half+j])
						a, b := float64(x[base+j]), float64(x[base+j+half])
						wy[base+j], wy[base+j+half] = a*cc-b*ss, b*cc+a*ss
						da, db := float64(dy[base+j]), float64(dy[base+j+half])
						wdx[base+j], wdx[base+j+half] = da*cc+db*ss, db*cc-da*ss
					}
				}
			}
			name := fmt.Sprintf("%v %+v", dt, c)
			pp := up(t, pos)
			es := 4
			if dt == BF16 {
				es = 2
			}
			sh := DevicePtr(c.off * es) // x, dy and y c.off elements into their buffers
			var y, dx []float32
			if dt == F32 {
				yo, dxo := out(t, n+c.off, 4), out(t, n+c.off, 4)
				must(t, dev.Rope(dt, yo.ptr()+sh, up(t, pad(x, c.off))+sh, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				must(t, dev.RopeBackward(dt, dxo.ptr()+sh, up(t, pad(dy, c.off))+sh, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				y, dx = yo.f32(t)[c.off:], dxo.f32(t)[c.off:]
				// in place
				xp := up(t, pad(x, c.off)) + sh
				must(t, dev.Rope(dt, xp, xp, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				inPlace := make([]float32, n)
				must(t, CopyDtoH(dev, inPlace, xp))
				testutil.AssertClose(t, name+" in place", inPlace, y, testutil.Exact)
			} else {
				yo, dxo := out(t, n+c.off, 2), out(t, n+c.off, 2)
				must(t, dev.Rope(dt, yo.ptr()+sh, up(t, bf16Of(pad(x, c.off)))+sh, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				must(t, dev.RopeBackward(dt, dxo.ptr()+sh, up(t, bf16Of(pad(dy, c.off)))+sh, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				y, dx = f32OfBF16(yo.u16(t))[c.off:], f32OfBF16(dxo.u16(t))[c.off:]
				// in place
				xp := up(t, bf16Of(pad(x, c.off))) + sh
				must(t, dev.Rope(dt, xp, xp, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				inPlace := make([]uint16, n)
				must(t, CopyDtoH(dev, inPlace, xp))
				testutil.AssertClose(t, name+" in place", f32OfBF16(inPlace), y, testutil.Exact)
			}
			testutil.AssertClose(t, name+" fwd", y, wy, lvl)
			testutil.AssertClose(t, name+" bwd", dx, wdx, lvl)
		}
	}
}

// pad returns v after off zeros (a device copy of it starts off elements
// into its buffer).
func pad(v []float32, off int) []float32 {
	return append(make([]float32, off), v...)
}

func TestRopeErrors(t *testing.T) {
	cos, sin := out(t, 4*8, 4), out(t, 4*8, 4)
	must(t, dev.RopeTable(cos.ptr(), sin.ptr(), 4, 16, 10000))
	x := up(t, make([]float32, 3*2*16))
	err := dev.Rope(F32, x, x, cos.ptr(), sin.ptr(), up(t, []int32{0, 4, 1}), 3, 2, 16, 4)
	if err == nil || !strings.Contains(err.Error(), "position 4 of token 1") {
		t.Errorf("position out of the table: error %v", err)
	}
	if err := dev.Rope(F32, x, x, cos.ptr(), sin.ptr(), 0, 3, 2, 15, 4); err == nil {
		t.Error("odd head dim: no error")
	}
}
