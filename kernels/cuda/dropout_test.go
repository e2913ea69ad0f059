//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// TestPhiloxDevice: the device generator equals the plain-Go twin
// (philox_test.go, itself checked against Random123's known answers).
func TestPhiloxDevice(t *testing.T) {
	const groups = 4097
	for _, so := range [][2]uint64{{0, 0}, {0x123456789abcdef0, 7}, {42, 0xffffffff00000001}} {
		o := out(t, groups*4, 4)
		must(t, dev.Philox(o.ptr(), groups, so[0], so[1]))
		got := make([]uint32, groups*4)
		must(t, CopyDtoH(dev, got, o.ptr()))
		o.check(t)
		for g := uint64(0); g < groups; g++ {
			w := dropoutWords(g, so[0], so[1])
			for k := 0; k < 4; k++ {
				if got[4*g+uint64(k)] != w[k] {
					t.Fatalf("seed %#x offset %#x group %d word %d = %#x, want %#x", so[0], so[1], g, k, got[4*g+uint64(k)], w[k])
				}
			}
		}
	}
}

func TestDropout(t *testing.T) {
	r := newRand(80)
	for _, p := range []float32{0, 0.1, 0.5} {
		for _, n := range append(oddSizes, 1<<20) {
			name := fmt.Sprintf("p=%v n=%d", p, n)
			const seed, offset = 1234, 99
			x := testutil.Normal32(r, n, 1)
			dy := testutil.Normal32(r, n, 1)
			mo, yo, dxo := out(t, n, 4), out(t, n, 4), out(t, n, 4)
			must(t, dev.DropoutMask(mo.ptr(), int64(n), p, seed, offset))
			must(t, dev.Dropout(yo.ptr(), up(t, x), int64(n), p, seed, offset))
			must(t, dev.DropoutBackward(dxo.ptr(), up(t, dy), int64(n), p, seed, offset))
			m, y, dx := mo.f32(t), yo.f32(t), dxo.f32(t)
			scale := 1 / (1 - p)
			kept := 0
			for i := range m {
				// the mask is the Philox draw of element i, and fwd and bwd apply it
				u := float32(dropoutWords(uint64(i/4), seed, offset)[i%4]>>8) * (1.0 / 16777216)
				want := float32(0)
				if u >= p {
					want = scale
					kept++
				}
				if m[i] != want || y[i] != x[i]*want || dx[i] != dy[i]*want {
					t.Fatalf("%s: element %d: mask %v (want %v), y %v (want %v), dx %v (want %v)", name, i, m[i], want, y[i], x[i]*want, dx[i], dy[i]*want)
				}
			}
			if n >= 4097 {
				// keep rate within 5 standard deviations of 1-p
				rate := float64(kept) / float64(n)
				sd := math.Sqrt(float64(p*(1-p)) / float64(n))
				if math.Abs(rate-float64(1-p)) > 5*sd+1e-12 {
					t.Errorf("%s: keep rate %.5f, want %.5f ± %.5f", name, rate, 1-p, 5*sd)
				}
			}
		}
	}
}

// TestDropoutStreams: another offset or seed draws a different mask, with
// agreement at the rate of independent draws.
func TestDropoutStreams(t *testing.T) {
	const n, p = 1 << 18, 0.5
	masks := make([][]float32, 3)
	for i, so := range [][2]uint64{{7, 0}, {7, 1}, {8, 0}} {
		o := out(t, n, 4)
		must(t, dev.DropoutMask(o.ptr(), n, p, so[0], so[1]))
		masks[i] = o.f32(t)
	}
	for _, pair := range [][2]int{{0, 1}, {0, 2}} {
		same := 0
		for i := 0; i < n; i++ {
			if masks[pair[0]][i] == masks[pair[1]][i] {
				same++
			}
		}
		rate := float64(same) / n // independent: p^2 + (1-p)^2 = 0.5
		if math.Abs(rate-0.5) > 5*math.Sqrt(0.25/n) {
			t.Errorf("masks %v agree at rate %.4f, want 0.5 (independent streams)", pair, rate)
		}
	}
	if err := dev.Dropout(0, 0, 10, 1, 0, 0); err == nil {
		t.Error("p = 1: no error")
	}
}
