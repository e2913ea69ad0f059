//go:build cuda

package cuda

import (
	"fmt"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// TestAdamW: several tensors of odd sizes in one launch, per-tensor weight
// decay, three steps, bit-identical to kernels/cpu.AdamW; then with a
// gradient scale read from the device.
func TestAdamW(t *testing.T) {
	r := newRand(90)
	sizes := []int{1, 3, 16383, 16385, 40000, 0, 17}
	wds := []float32{0.01, 0, 0.1, 0.01, 0, 0.01, 0.5}
	const lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
	for _, scaled := range []bool{false, true} {
		var params []AdamWParam
		type host struct{ p, g, m, v []float32 }
		hs := make([]host, len(sizes))
		bufs := make([][4]DevicePtr, len(sizes))
		for i, n := range sizes {
			h := host{testutil.Normal32(r, n, 1), testutil.Normal32(r, n, 0.1), testutil.Normal32(r, n, 0.01), testutil.Uniform32(r, n, 0, 1e-3)}
			hs[i] = h
			for k, s := range [][]float32{h.p, h.g, h.m, h.v} {
				if n > 0 {
					bufs[i][k] = up(t, s)
				}
			}
			params = append(params, AdamWParam{Param: bufs[i][0], Grad: bufs[i][1], M: bufs[i][2], V: bufs[i][3], N: int64(n), WeightDecay: wds[i]})
		}
		tab, err := dev.NewAdamWTable(params)
		must(t, err)
		const gs = float32(0.37)
		var gsp DevicePtr
		if scaled {
			gsp = up(t, []float32{gs})
			for i := range hs {
				for j := range hs[i].g {
					hs[i].g[j] *= gs // one float32 multiply, as the kernel does
				}
			}
		}
		for step := 1; step <= 3; step++ {
			must(t, dev.AdamWStep(tab, lr, b1, b2, eps, step, gsp))
			for i, h := range hs {
				cpu.AdamW(h.p, h.g, h.m, h.v, lr, b1, b2, eps, wds[i], step)
			}
		}
		for i, h := range hs {
			if sizes[i] == 0 {
				continue
			}
			for k, want := range [][]float32{h.p, h.m, h.v} {
				got := make([]float32, sizes[i])
				must(t, CopyDtoH(dev, got, bufs[i][[]int{0, 2, 3}[k]])) // bufs[i]: param, grad, m, v
				testutil.AssertClose(t, fmt.Sprintf("scaled=%v tensor %d (n=%d) %s", scaled, i, sizes[i], []string{"param", "m", "v"}[k]), got, want, testutil.Exact)
			}
		}
		tab.Free()
	}
}

func TestAdamWErrors(t *testing.T) {
	if _, err := dev.NewAdamWTable([]AdamWParam{{N: 5}}); err == nil {
		t.Error("nil pointers: no error")
	}
	tab, err := dev.NewAdamWTable(nil)
	must(t, err)
	defer tab.Free()
	if err := dev.AdamWStep(tab, 1e-3, 0.9, 0.999, 1e-8, 0, 0); err == nil {
		t.Error("step 0: no error")
	}
}
