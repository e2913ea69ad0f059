//go:build cuda

package cuda

import (
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

func TestGradNorm(t *testing.T) {
	r := newRand(100)
	sizes := []int{1, 3, 16385, 0, 100000, 17}
	var grads []GradTensor
	var ss float64
	for _, n := range sizes {
		g := testutil.Normal32(r, n, 0.01)
		for _, v := range g {
			ss += float64(v) * float64(v)
		}
		var p DevicePtr
		if n > 0 {
			p = up(t, g)
		}
		grads = append(grads, GradTensor{Grad: p, N: int64(n)})
	}
	tab, err := dev.NewGradNormTable(grads)
	must(t, err)
	defer tab.Free()
	norm := math.Sqrt(ss)
	for _, maxNorm := range []float32{0, 1, float32(norm / 2)} {
		o := out(t, 2, 4)
		must(t, dev.GradNorm(tab, o.ptr(), maxNorm))
		got := o.f32(t)
		coef := 1.0
		if maxNorm > 0 {
			coef = math.Min(1, float64(maxNorm)/(norm+1e-6))
		}
		testutil.AssertClose(t, "norm, clip coefficient", got, []float64{norm, coef}, tolF32Accum)
		// deterministic: the same bits again
		o2 := out(t, 2, 4)
		must(t, dev.GradNorm(tab, o2.ptr(), maxNorm))
		testutil.AssertClose(t, "second run", o2.f32(t), got, testutil.Exact)
	}
	// an empty list has norm 0 and coefficient 1
	empty, err := dev.NewGradNormTable(nil)
	must(t, err)
	defer empty.Free()
	o := out(t, 2, 4)
	must(t, dev.GradNorm(empty, o.ptr(), 1))
	testutil.AssertClose(t, "empty", o.f32(t), []float32{0, 1}, testutil.Exact)
}
