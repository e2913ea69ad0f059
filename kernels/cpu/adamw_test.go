package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// TestAdamWHandWorked: param 1, grad 0.5, m = v = 0, lr 0.1, betas (0.9,
// 0.999), eps 1e-8, weight decay 0.01, step 1:
//
//	param = 1*(1 - 0.1*0.01)                        = 0.999
//	m = 0 + 0.1*(0.5 - 0)                           = 0.05
//	v = 0*0.999 + 0.001*0.5*0.5                     = 0.00025
//	step size = 0.1/(1 - 0.9) = 1; sqrt(1 - 0.999) = 0.0316227766
//	denom = sqrt(0.00025)/0.0316227766 + 1e-8       = 0.50000001
//	param = 0.999 - 1*0.05/0.50000001               = 0.8990000002
func TestAdamWHandWorked(t *testing.T) {
	p, g, m, v := []float32{1}, []float32{0.5}, []float32{0}, []float32{0}
	AdamW(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0.01, 1)
	testutil.AssertClose(t, "param", p, []float64{0.8990000002}, testutil.F32Rounding)
	testutil.AssertClose(t, "m", m, []float64{0.05}, testutil.F32Rounding)
	testutil.AssertClose(t, "v", v, []float64{0.00025}, testutil.F32Rounding)

	p64, g64, m64, v64 := []float64{1}, []float64{0.5}, []float64{0}, []float64{0}
	AdamW64(p64, g64, m64, v64, 0.1, 0.9, 0.999, 1e-8, 0.01, 1)
	testutil.AssertClose(t, "param64", p64, []float64{0.999 - 0.05/(0.5+1e-8)}, testutil.F64)
}

// adamwTorchOrder32 is PyTorch's _single_tensor_adamw written out for one
// float32 element (Python floats in float64, tensor ops in float32).
func adamwTorchOrder32(p, g, m, v float32, lr, b1, b2, eps, wd float64, step int) (float32, float32, float32) {
	// param.mul_(1 - lr*weight_decay)
	p *= float32(1 - lr*wd)
	// exp_avg.lerp_(grad, 1-beta1): self + w*(end-self) for w < 0.5, else
	// end - (end-self)*(1-w).
	w := float32(1 - b1)
	if math.Abs(float64(w)) < 0.5 {
		m = m + float32(w*(g-m))
	} else {
		m = g - float32((g-m)*(1-w))
	}
	// exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
	v *= float32(b2)
	v += float32(float32(float32(1-b2)*g) * g)
	// Python floats.
	bc1 := 1 - math.Pow(b1, float64(step))
	bc2 := 1 - math.Pow(b2, float64(step))
	stepSize := lr / bc1
	// denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps)
	denom := float32(float32(math.Sqrt(float64(v)))/float32(math.Sqrt(bc2))) + float32(eps)
	// param.addcdiv_(exp_avg, denom, value=-step_size)
	p += float32(float32(-stepSize)*m) / denom
	return p, m, v
}

func TestAdamWMatchesTorchOrder(t *testing.T) {
	for _, h := range []struct{ lr, b1, b2, eps, wd float64 }{
		{1e-3, 0.9, 0.999, 1e-8, 0.01},
		{3e-4, 0.3, 0.98, 1e-6, 0}, // lerp weight >= 0.5
		{0.05, 0.95, 0.9999, 1e-7, 0.1},
	} {
		r := testutil.NewRand(51)
		n := elemParSize
		p := testutil.Normal32(r, n, 1)
		m := make([]float32, n)
		v := make([]float32, n)
		wp, wm, wv := append([]float32(nil), p...), make([]float32, n), make([]float32, n)
		p64, m64, v64 := testutil.To64(p), make([]float64, n), make([]float64, n)
		for step := 1; step <= 5; step++ {
			g := testutil.Normal32(r, n, 0.1)
			AdamW(p, g, m, v, float32(h.lr), float32(h.b1), float32(h.b2), float32(h.eps), float32(h.wd), step)
			for i := range wp {
				wp[i], wm[i], wv[i] = adamwTorchOrder32(wp[i], g[i], wm[i], wv[i], h.lr, h.b1, h.b2, h.eps, h.wd, step)
			}
			AdamW64(p64, testutil.To64(g), m64, v64, h.lr, h.b1, h.b2, h.eps, h.wd, step)
		}
		name := fmt.Sprintf("lr=%g betas=(%g,%g)", h.lr, h.b1, h.b2)
		testutil.AssertClose(t, name+" param vs PyTorch order", p, wp, testutil.Exact)
		testutil.AssertClose(t, name+" m vs PyTorch order", m, wm, testutil.Exact)
		testutil.AssertClose(t, name+" v vs PyTorch order", v, wv, testutil.Exact)
		testutil.AssertClose(t, name+" param vs float64", p, p64, testutil.F32)
		testutil.AssertClose(t, name+" m vs float64", m, m64, testutil.F32)
		testutil.AssertClose(t, name+" v vs float64", v, v64, testutil.F32)
	}
}

func TestAdamWWiden(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want float64
	}{{0.9, 0.9}, {0.999, 0.999}, {1e-3, 1e-3}, {0.01, 0.01}, {1e-8, 1e-8}, {0, 0}} {
		if got := adamwWiden(c.f); got != c.want {
			t.Errorf("adamwWiden(%g) = %.17g, want %.17g", c.f, got, c.want)
		}
	}
}

func TestAdamWPanics(t *testing.T) {
	f := make([]float32, 4)
	mathExpectPanic(t, "cpu.AdamW: step 0", func() { AdamW(f, f, f, f, 1e-3, 0.9, 0.999, 1e-8, 0, 0) })
	mathExpectPanic(t, "cpu.AdamW: lengths differ", func() { AdamW(f, f, f[:3], f, 1e-3, 0.9, 0.999, 1e-8, 0, 1) })
	d := make([]float64, 4)
	mathExpectPanic(t, "cpu.AdamW64: lengths differ", func() { AdamW64(d, d[:1], d, d, 1e-3, 0.9, 0.999, 1e-8, 0, 1) })
}

// The SIMD AdamW of every tier is bit-identical to the plain-Go loop, for
// lengths around the vector widths and both lerp forms (beta1 0.9: weight
// 0.1 < 0.5; beta1 0.3: weight 0.7).
func TestAdamWTiersExact(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		for _, beta1 := range []float32{0.9, 0.3} {
			for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 4099, 70001} {
				r := testutil.NewRand(uint64(n) + 7)
				p := testutil.Normal32(r, n, 1)
				g := testutil.Normal32(r, n, 1)
				m := testutil.Normal32(r, n, 1)
				v := testutil.Uniform32(r, n, 0, 2)
				wp, wm, wv := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
				for step := 1; step <= 3; step++ {
					AdamW(p, g, m, v, 1e-3, beta1, 0.999, 1e-8, 0.01, step)
					s := adamwPrepare[float32]("test", []int{n, n, n, n}, adamwWiden(1e-3), adamwWiden(beta1), adamwWiden(0.999), adamwWiden(1e-8), adamwWiden(0.01), step)
					adamwGeneric(s, wp, g, wm, wv)
				}
				name := fmt.Sprintf("beta1=%g/n=%d", beta1, n)
				testutil.AssertClose(t, name+"/param", p, wp, testutil.Exact)
				testutil.AssertClose(t, name+"/m", m, wm, testutil.Exact)
				testutil.AssertClose(t, name+"/v", v, wv, testutil.Exact)
			}
		}
	})
}

// AdamWScaled equals scaling the gradient in place first (as gradient
// clipping does) and then AdamW, bit for bit, on every tier; it leaves the
// gradient as it was.
func TestAdamWScaledEqualsScaleThenStep(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		for _, n := range []int{1, 8, 17, 33, 1000, 4099} {
			for _, c := range []float32{0.37, 1, 1e-3} {
				r := testutil.NewRand(uint64(n) * 31)
				p := testutil.Normal32(r, n, 1)
				g := testutil.Normal32(r, n, 3)
				m := testutil.Normal32(r, n, 1)
				v := testutil.Uniform32(r, n, 0, 2)
				wp, wg, wm, wv := append([]float32(nil), p...), append([]float32(nil), g...), append([]float32(nil), m...), append([]float32(nil), v...)
				g0 := append([]float32(nil), g...)
				AdamWScaled(p, g, m, v, c, 1e-3, 0.9, 0.999, 1e-8, 0.01, 2)
				BinaryScalar(OpMul, wg, wg, c)
				AdamW(wp, wg, wm, wv, 1e-3, 0.9, 0.999, 1e-8, 0.01, 2)
				name := fmt.Sprintf("n=%d/c=%g", n, c)
				testutil.AssertClose(t, name+"/param", p, wp, testutil.Exact)
				testutil.AssertClose(t, name+"/m", m, wm, testutil.Exact)
				testutil.AssertClose(t, name+"/v", v, wv, testutil.Exact)
				testutil.AssertClose(t, name+"/grad untouched", g, g0, testutil.Exact)
			}
		}
	})
}
