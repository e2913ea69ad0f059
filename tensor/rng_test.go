package tensor

import "testing"

// TestDropoutMaskKeyElementwise: the mask DropoutMask fills in parallel is
// the element-by-element definition DropoutKept documents (which the CUDA
// attention kernels reproduce), at odd sizes and across chunk boundaries;
// DropoutMask draws exactly one key.
func TestDropoutMaskKeyElementwise(t *testing.T) {
	for _, n := range []int{1, 7, 1 << 15, 1<<15 + 3, 100001} {
		for _, p := range []float64{0.1, 0.5} {
			key := uint64(n)*0x9e3779b97f4a7c15 + 12345
			m := DropoutMaskKey(key, p, n).Data32()
			thr, keep := DropoutThreshold(p)
			for i, v := range m {
				want := float32(0)
				if DropoutKept(key, thr, int64(i)) {
					want = keep
				}
				if v != want {
					t.Fatalf("n %d p %g: element %d = %g, DropoutKept says %g", n, p, i, v, want)
				}
			}
		}
	}
	g1, g2 := NewRNG(3), NewRNG(3)
	a := g1.DropoutMask(0.3, 4, 5).Data32()
	b := DropoutMaskKey(g2.DropoutKey(), 0.3, 4, 5).Data32()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("DropoutMask and DropoutMaskKey(DropoutKey()) differ at %d", i)
		}
	}
	if g1.Float64() != g2.Float64() {
		t.Fatal("DropoutMask and DropoutKey consume the generator differently")
	}
}
