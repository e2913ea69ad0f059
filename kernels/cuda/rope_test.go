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
		for _, c := range []struct{ tokens, heads, dim, npos int }{{1, 1, 2, 1}, {5, 3, 64, 40}, {17, 2, 128, 4096}, {33, 7, 18, 100}} {
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
			var y, dx []float32
			if dt == F32 {
				yo, dxo := out(t, n, 4), out(t, n, 4)
				must(t, dev.Rope(dt, yo.ptr(), up(t, x), cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				must(t, dev.RopeBackward(dt, dxo.ptr(), up(t, dy), cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				y, dx = yo.f32(t), dxo.f32(t)
				// in place
				xp := up(t, x)
				must(t, dev.Rope(dt, xp, xp, cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				inPlace := make([]float32, n)
				must(t, CopyDtoH(dev, inPlace, xp))
				testutil.AssertClose(t, name+" in place", inPlace, y, testutil.Exact)
			} else {
				yo, dxo := out(t, n, 2), out(t, n, 2)
				must(t, dev.Rope(dt, yo.ptr(), up(t, bf16Of(x)), cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				must(t, dev.RopeBackward(dt, dxo.ptr(), up(t, bf16Of(dy)), cos.ptr(), sin.ptr(), pp, int64(c.tokens), c.heads, c.dim, c.npos))
				y, dx = f32OfBF16(yo.u16(t)), f32OfBF16(dxo.u16(t))
			}
			testutil.AssertClose(t, name+" fwd", y, wy, lvl)
			testutil.AssertClose(t, name+" bwd", dx, wdx, lvl)
		}
	}
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
