//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

func TestCrossEntropy(t *testing.T) {
	r := newRand(70)
	const ignore = -100
	for _, c := range []struct{ rows, vocab int }{{1, 1}, {3, 17}, {5, 1000}, {4, 30522}, {3, 32000}, {1000, 3}} { // 1000, 32000: float4 rows
		n := c.rows * c.vocab
		x := testutil.Normal32(r, n, 3)
		tg := make([]int32, c.rows)
		for i := range tg {
			tg[i] = int32(r.IntN(c.vocab))
		}
		if c.rows > 2 {
			tg[1] = ignore
		}
		dl := testutil.Uniform32(r, c.rows, 0.1, 1)
		wl, wlse, wdx := make([]float64, c.rows), make([]float64, c.rows), make([]float64, n)
		for i := 0; i < c.rows; i++ {
			row := testutil.To64(x[i*c.vocab : (i+1)*c.vocab])
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, v)
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(v - m)
			}
			lse := m + math.Log(s)
			wlse[i] = lse
			if tg[i] == ignore {
				continue // loss 0, dlogits 0
			}
			wl[i] = lse - row[tg[i]]
			for j, v := range row {
				g := math.Exp(v - lse)
				if j == int(tg[i]) {
					g--
				}
				wdx[i*c.vocab+j] = float64(dl[i]) * g
			}
		}
		loss, lse, dx := out(t, c.rows, 4), out(t, c.rows, 4), out(t, n, 4)
		xp, tp := up(t, x), up(t, tg)
		must(t, dev.CrossEntropy(loss.ptr(), lse.ptr(), xp, tp, int64(c.rows), c.vocab, ignore))
		name := fmt.Sprintf("%+v", c)
		testutil.AssertClose(t, name+" loss", loss.f32(t), wl, tolF32Accum)
		testutil.AssertClose(t, name+" lse", lse.f32(t), wlse, tolF32Accum)
		must(t, dev.CrossEntropyBackward(dx.ptr(), up(t, dl), xp, lse.ptr(), tp, int64(c.rows), c.vocab, ignore))
		testutil.AssertClose(t, name+" dlogits", dx.f32(t), wdx, tolF32Accum)
	}
}

func TestCrossEntropyBadTarget(t *testing.T) {
	x := up(t, make([]float32, 3*5))
	loss, lse := out(t, 3, 4), out(t, 3, 4)
	err := dev.CrossEntropy(loss.ptr(), lse.ptr(), x, up(t, []int32{0, -100, 5}), 3, 5, -100)
	if err == nil || !strings.Contains(err.Error(), "target 5 of row 2") {
		t.Errorf("target out of range: error %v", err)
	}
}
