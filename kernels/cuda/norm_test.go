//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

// normShapes cover every warp-per-row size class, scalar and 16-byte vector
// (columns a multiple of 4; 132 = 33 float4s), up to 1024 columns (2000 rows:
// more rows than the backward launches warps) and the block kernels beyond.
var normShapes = [][2]int{{1, 1}, {3, 4}, {3, 17}, {65, 132}, {9, 200}, {7, 768}, {5, 896}, {5, 1000}, {2, 1025}, {2, 4097}, {301, 33}, {2000, 500}}

func TestLayerNorm(t *testing.T) {
	r := newRand(40)
	const eps = 1e-5
	for _, s := range normShapes {
		rows, cols := s[0], s[1]
		n := rows * cols
		x := testutil.Normal32(r, n, 2)
		for i := range x {
			x[i] += 3 // a mean far from 0 exercises the two-pass variance
		}
		gamma := testutil.Uniform32(r, cols, 0.5, 1.5)
		beta := testutil.Normal32(r, cols, 0.1)
		dy := testutil.Normal32(r, n, 1)
		dg0 := testutil.Normal32(r, cols, 1) // accumulated into
		db0 := testutil.Normal32(r, cols, 1)

		wy, wm, wr := make([]float64, n), make([]float64, rows), make([]float64, rows)
		cpu.LayerNormRows64(wy, wm, wr, testutil.To64(x), testutil.To64(gamma), testutil.To64(beta), rows, cols, eps)
		y, m, rs := out(t, n, 4), out(t, rows, 4), out(t, rows, 4)
		xp, gp := up(t, x), up(t, gamma)
		must(t, dev.LayerNorm(y.ptr(), m.ptr(), rs.ptr(), xp, gp, up(t, beta), int64(rows), cols, eps))
		name := fmt.Sprintf("%dx%d", rows, cols)
		testutil.AssertClose(t, name+" y", y.f32(t), wy, tolF32Accum)
		gm, gr := m.f32(t), rs.f32(t)
		testutil.AssertClose(t, name+" mean", gm, wm, tolF32Accum)
		testutil.AssertClose(t, name+" rstd", gr, wr, tolF32Accum)

		wdx := make([]float64, n)
		wdg, wdb := testutil.To64(dg0), testutil.To64(db0)
		cpu.LayerNormBackwardRows64(wdx, wdg, wdb, testutil.To64(dy), testutil.To64(x), testutil.To64(gm), testutil.To64(gr), testutil.To64(gamma), rows, cols)
		dx := out(t, n, 4)
		dgp, dbp := up(t, dg0), up(t, db0)
		must(t, dev.LayerNormBackward(dx.ptr(), dgp, dbp, up(t, dy), xp, up(t, gm), up(t, gr), gp, int64(rows), cols))
		testutil.AssertClose(t, name+" dx", dx.f32(t), wdx, tolF32Accum)
		dg, db := make([]float32, cols), make([]float32, cols)
		must(t, CopyDtoH(dev, dg, dgp))
		must(t, CopyDtoH(dev, db, dbp))
		// dgamma and dbeta sum rows terms that cancel: the bound is relative
		// to the sum of the terms' magnitudes (the kernel's float32 partial
		// sums land in another order than the float64 reference).
		sg, sb := make([]float64, cols), make([]float64, cols)
		for j := 0; j < cols; j++ {
			sg[j], sb[j] = math.Abs(float64(dg0[j])), math.Abs(float64(db0[j]))
		}
		for r := 0; r < rows; r++ {
			for j := 0; j < cols; j++ {
				d := float64(dy[r*cols+j])
				xh := (float64(x[r*cols+j]) - float64(gm[r])) * float64(gr[r])
				sg[j] += math.Abs(d * xh)
				sb[j] += math.Abs(d)
			}
		}
		assertCloseScaled(t, name+" dgamma", dg, wdg, sg, tolF32)
		assertCloseScaled(t, name+" dbeta", db, wdb, sb, tolF32)
	}
}

func TestRMSNorm(t *testing.T) {
	r := newRand(41)
	const eps = 1e-6
	for _, s := range normShapes {
		rows, cols := s[0], s[1]
		n := rows * cols
		x := testutil.Normal32(r, n, 2)
		gamma := testutil.Uniform32(r, cols, 0.5, 1.5)
		dy := testutil.Normal32(r, n, 1)
		dg0 := testutil.Normal32(r, cols, 1)

		wy, wr := make([]float64, n), make([]float64, rows)
		cpu.RMSNormRows64(wy, wr, testutil.To64(x), testutil.To64(gamma), rows, cols, eps)
		y, rs := out(t, n, 4), out(t, rows, 4)
		xp, gp := up(t, x), up(t, gamma)
		must(t, dev.RMSNorm(y.ptr(), rs.ptr(), xp, gp, int64(rows), cols, eps))
		name := fmt.Sprintf("%dx%d", rows, cols)
		testutil.AssertClose(t, name+" y", y.f32(t), wy, tolF32Accum)
		gr := rs.f32(t)
		testutil.AssertClose(t, name+" rstd", gr, wr, tolF32Accum)

		wdx := make([]float64, n)
		wdg := testutil.To64(dg0)
		cpu.RMSNormBackwardRows64(wdx, wdg, testutil.To64(dy), testutil.To64(x), testutil.To64(gr), testutil.To64(gamma), rows, cols)
		dx := out(t, n, 4)
		dgp := up(t, dg0)
		must(t, dev.RMSNormBackward(dx.ptr(), dgp, up(t, dy), xp, up(t, gr), gp, int64(rows), cols))
		testutil.AssertClose(t, name+" dx", dx.f32(t), wdx, tolF32Accum)
		dg := make([]float32, cols)
		must(t, CopyDtoH(dev, dg, dgp))
		sg := make([]float64, cols) // as for LayerNorm's dgamma
		for j := 0; j < cols; j++ {
			sg[j] = math.Abs(float64(dg0[j]))
		}
		for r := 0; r < rows; r++ {
			for j := 0; j < cols; j++ {
				sg[j] += math.Abs(float64(dy[r*cols+j]) * float64(x[r*cols+j]) * float64(gr[r]))
			}
		}
		assertCloseScaled(t, name+" dgamma", dg, wdg, sg, tolF32)
	}
	if err := dev.RMSNorm(0, 0, 0, 0, 2, 8, 1e-6); err == nil {
		t.Error("nil gamma: no error")
	}
}

// TestNormBackwardDeterministic: dgamma is the same bits on every run.
func TestNormBackwardDeterministic(t *testing.T) {
	r := newRand(42)
	rows, cols := 1000, 257
	x := testutil.Normal32(r, rows*cols, 1)
	dy := testutil.Normal32(r, rows*cols, 1)
	gamma := testutil.Uniform32(r, cols, 0.5, 1.5)
	rs := testutil.Uniform32(r, rows, 0.5, 1.5)
	xp, dyp, gp, rsp := up(t, x), up(t, dy), up(t, gamma), up(t, rs)
	dx := out(t, rows*cols, 4)
	var first []float32
	for run := 0; run < 3; run++ {
		dgp := up(t, make([]float32, cols))
		must(t, dev.RMSNormBackward(dx.ptr(), dgp, dyp, xp, rsp, gp, int64(rows), cols))
		dg := make([]float32, cols)
		must(t, CopyDtoH(dev, dg, dgp))
		if first == nil {
			first = dg
			continue
		}
		testutil.AssertClose(t, fmt.Sprintf("run %d", run), dg, first, testutil.Exact)
	}
}
