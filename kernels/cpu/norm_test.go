package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// normCols are the row lengths every norm is tested at.
var normCols = []int{1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 768, 1000, 4099}

// normRefLayerNorm is LayerNorm in float64, written the obvious way (two-pass
// mean and biased variance per row).
func normRefLayerNorm(x, gamma, beta []float64, rows, cols int, eps float64) (y, mean, rstd []float64) {
	y = make([]float64, rows*cols)
	mean = make([]float64, rows)
	rstd = make([]float64, rows)
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		m := 0.0
		for _, v := range xr {
			m += v
		}
		m /= float64(cols)
		v := 0.0
		for _, e := range xr {
			v += (e - m) * (e - m)
		}
		v /= float64(cols)
		rs := 1 / math.Sqrt(v+eps)
		for i, e := range xr {
			g, b := 1.0, 0.0
			if gamma != nil {
				g = gamma[i]
			}
			if beta != nil {
				b = beta[i]
			}
			y[r*cols+i] = (e-m)*rs*g + b
		}
		mean[r], rstd[r] = m, rs
	}
	return
}

// normRefRMSNorm is RMSNorm in float64.
func normRefRMSNorm(x, gamma []float64, rows, cols int, eps float64) (y, rstd []float64) {
	y = make([]float64, rows*cols)
	rstd = make([]float64, rows)
	for r := 0; r < rows; r++ {
		xr := x[r*cols : (r+1)*cols]
		ms := 0.0
		for _, v := range xr {
			ms += v * v
		}
		rs := 1 / math.Sqrt(ms/float64(cols)+eps)
		for i, e := range xr {
			g := 1.0
			if gamma != nil {
				g = gamma[i]
			}
			y[r*cols+i] = e * rs * g
		}
		rstd[r] = rs
	}
	return
}

// normTestInputs returns x ~ N(0.5, 1) and gamma, beta ~ U(0.5, 1.5), U(-1, 1).
func normTestInputs(seed uint64, rows, cols int) (x, gamma, beta []float32) {
	r := testutil.NewRand(seed)
	x = testutil.Normal32(r, rows*cols, 1)
	for i := range x {
		x[i] += 0.5
	}
	return x, testutil.Uniform32(r, cols, 0.5, 1.5), testutil.Uniform32(r, cols, -1, 1)
}

func TestLayerNormHandWorked(t *testing.T) {
	// x = [1, 2, 3], eps = 0: mean 2, var 2/3, rstd = sqrt(3/2) =
	// 1.2247449; y = (x-2)*rstd (worked by hand, values from Python floats).
	forEachTier(t, func(t *testing.T) {
		y := testutil.NewGuarded32(3)
		mean := testutil.NewGuarded32(1)
		rstd := testutil.NewGuarded32(1)
		LayerNormRows(y.Data, mean.Data, rstd.Data, []float32{1, 2, 3}, nil, nil, 1, 3, 0)
		y.Check(t)
		testutil.AssertClose(t, "y", y.Data, []float64{-1.224744871391589, 0, 1.224744871391589}, testutil.F32Rounding)
		testutil.AssertClose(t, "mean", mean.Data, []float64{2}, testutil.Exact)
		testutil.AssertClose(t, "rstd", rstd.Data, []float64{1.224744871391589}, testutil.F32Rounding)

		// Backward with dy = [1, 0, 0]: g = dy, mean(g) = 1/3,
		// mean(g*xhat) = -rstd/3, dx = rstd*(g - 1/3 + xhat*rstd/3)
		// = rstd*[1/6, -1/3, 1/6]; dgamma = dy*xhat, dbeta = dy.
		dx := testutil.NewGuarded32(3)
		dgamma := []float32{10, 10, 10}
		dbeta := []float32{10, 10, 10}
		LayerNormBackwardRows(dx.Data, dgamma, dbeta, []float32{1, 0, 0}, []float32{1, 2, 3},
			mean.Data, rstd.Data, nil, 1, 3)
		dx.Check(t)
		testutil.AssertClose(t, "dx", dx.Data,
			[]float64{0.20412414523193148, -0.40824829046386296, 0.20412414523193148}, testutil.F32Rounding)
		testutil.AssertClose(t, "dgamma", dgamma, []float64{10 - 1.224744871391589, 10, 10}, testutil.F32Rounding)
		testutil.AssertClose(t, "dbeta", dbeta, []float64{11, 10, 10}, testutil.Exact)
	})
}

func TestRMSNormHandWorked(t *testing.T) {
	// x = [1, 2, 3, 4], eps = 0: mean(x^2) = 7.5, rstd = 1/sqrt(7.5) =
	// 0.36514837; gamma = [1, 0.5, 2, -1]; y = x*rstd*gamma.
	forEachTier(t, func(t *testing.T) {
		y := testutil.NewGuarded32(4)
		rstd := testutil.NewGuarded32(1)
		x := []float32{1, 2, 3, 4}
		RMSNormRows(y.Data, rstd.Data, x, []float32{1, 0.5, 2, -1}, 1, 4, 0)
		y.Check(t)
		testutil.AssertClose(t, "y", y.Data,
			[]float64{0.3651483716701107, 0.3651483716701107, 2.1908902300206643, -1.4605934866804429}, testutil.F32Rounding)
		testutil.AssertClose(t, "rstd", rstd.Data, []float64{0.3651483716701107}, testutil.F32Rounding)

		// Backward, gamma = 1, dy = [1, 0, 0, 0]: mean(g*xhat) = rstd/4,
		// dx = rstd*(dy - x*rstd^2/4) = rstd*[29, -2, -3, -4]/30.
		dx := testutil.NewGuarded32(4)
		dgamma := make([]float32, 4)
		RMSNormBackwardRows(dx.Data, dgamma, []float32{1, 0, 0, 0}, x, rstd.Data, nil, 1, 4)
		dx.Check(t)
		testutil.AssertClose(t, "dx", dx.Data,
			[]float64{0.35297675928110706, -0.02434322477800738, -0.03651483716701107, -0.04868644955601476}, testutil.F32Rounding)
		testutil.AssertClose(t, "dgamma", dgamma, []float64{0.3651483716701107, 0, 0, 0}, testutil.F32Rounding)
	})
}

func TestLayerNormRows(t *testing.T) {
	const rows = 5
	const eps = 1e-5
	forEachTier(t, func(t *testing.T) {
		for _, cols := range normCols {
			x, gamma, beta := normTestInputs(uint64(cols), rows, cols)
			for _, affine := range []bool{true, false} {
				g, b := gamma, beta
				if !affine {
					g, b = nil, nil
				}
				name := fmt.Sprintf("cols=%d affine=%v", cols, affine)
				want, wmean, wrstd := normRefLayerNorm(testutil.To64(x), normTo64OrNil(g), normTo64OrNil(b), rows, cols, eps)
				y := testutil.NewGuarded32(rows * cols)
				mean := testutil.NewGuarded32(rows)
				rstd := testutil.NewGuarded32(rows)
				LayerNormRows(y.Data, mean.Data, rstd.Data, x, g, b, rows, cols, eps)
				y.Check(t)
				mean.Check(t)
				rstd.Check(t)
				testutil.AssertClose(t, name+" y", y.Data, want, testutil.F32)
				testutil.AssertClose(t, name+" mean", mean.Data, wmean, testutil.F32)
				testutil.AssertClose(t, name+" rstd", rstd.Data, wrstd, testutil.F32)

				// The plain-Go twin on the same inputs.
				twin := make([]float32, rows*cols)
				normForward(&normKernelsGeneric32, false, twin, nil, nil, x, g, b, rows, cols, eps)
				testutil.AssertClose(t, name+" y vs twin", y.Data, twin, testutil.F32)

				// nil mean/rstd, and in place.
				inplace := append([]float32(nil), x...)
				LayerNormRows(inplace, nil, nil, inplace, g, b, rows, cols, eps)
				testutil.AssertClose(t, name+" in place", inplace, y.Data, testutil.Exact)

				// float64 twin.
				y64 := testutil.NewGuarded64(rows * cols)
				m64 := make([]float64, rows)
				r64 := make([]float64, rows)
				LayerNormRows64(y64.Data, m64, r64, testutil.To64(x), normTo64OrNil(g), normTo64OrNil(b), rows, cols, eps)
				y64.Check(t)
				testutil.AssertClose(t, name+" y64", y64.Data, want, testutil.F64)
				testutil.AssertClose(t, name+" rstd64", r64, wrstd, testutil.F64)
			}
		}
	})
}

func TestRMSNormRows(t *testing.T) {
	const rows = 5
	const eps = 1e-6
	forEachTier(t, func(t *testing.T) {
		for _, cols := range normCols {
			x, gamma, _ := normTestInputs(uint64(cols)+100, rows, cols)
			for _, affine := range []bool{true, false} {
				g := gamma
				if !affine {
					g = nil
				}
				name := fmt.Sprintf("cols=%d affine=%v", cols, affine)
				want, wrstd := normRefRMSNorm(testutil.To64(x), normTo64OrNil(g), rows, cols, eps)
				y := testutil.NewGuarded32(rows * cols)
				rstd := testutil.NewGuarded32(rows)
				RMSNormRows(y.Data, rstd.Data, x, g, rows, cols, eps)
				y.Check(t)
				rstd.Check(t)
				testutil.AssertClose(t, name+" y", y.Data, want, testutil.F32)
				testutil.AssertClose(t, name+" rstd", rstd.Data, wrstd, testutil.F32)

				twin := make([]float32, rows*cols)
				normForward(&normKernelsGeneric32, true, twin, nil, nil, x, g, nil, rows, cols, eps)
				testutil.AssertClose(t, name+" y vs twin", y.Data, twin, testutil.F32)

				inplace := append([]float32(nil), x...)
				RMSNormRows(inplace, nil, inplace, g, rows, cols, eps)
				testutil.AssertClose(t, name+" in place", inplace, y.Data, testutil.Exact)

				y64 := testutil.NewGuarded64(rows * cols)
				r64 := make([]float64, rows)
				RMSNormRows64(y64.Data, r64, testutil.To64(x), normTo64OrNil(g), rows, cols, eps)
				y64.Check(t)
				testutil.AssertClose(t, name+" y64", y64.Data, want, testutil.F64)
				testutil.AssertClose(t, name+" rstd64", r64, wrstd, testutil.F64)
			}
		}
	})
}

func TestNormNaN(t *testing.T) {
	nan := float32(math.NaN())
	forEachTier(t, func(t *testing.T) {
		for _, cols := range []int{3, 17, 768} {
			x, gamma, beta := normTestInputs(9, 2, cols)
			x[cols+cols/2] = nan // row 1 only
			y := make([]float32, 2*cols)
			LayerNormRows(y, nil, nil, x, gamma, beta, 2, cols, 1e-5)
			for i, v := range y {
				if (i >= cols) != (v != v) {
					t.Fatalf("cols=%d LayerNorm: y[%d] = %g (NaN must fill row 1 only)", cols, i, v)
				}
			}
			RMSNormRows(y, nil, x, gamma, 2, cols, 1e-5)
			for i, v := range y {
				if (i >= cols) != (v != v) {
					t.Fatalf("cols=%d RMSNorm: y[%d] = %g (NaN must fill row 1 only)", cols, i, v)
				}
			}
		}
	})
}

// normLoss64 is sum(w * LayerNorm(x)) in float64, the scalar the finite
// differences differentiate.
func normLoss64(w, x, gamma, beta []float64, rows, cols int, eps float64, rms bool) float64 {
	y := make([]float64, rows*cols)
	if rms {
		RMSNormRows64(y, nil, x, gamma, rows, cols, eps)
	} else {
		LayerNormRows64(y, nil, nil, x, gamma, beta, rows, cols, eps)
	}
	s := 0.0
	for i := range y {
		s += w[i] * y[i]
	}
	return s
}

// normCentralDiff returns the central finite-difference gradient of f with
// respect to p (modified in place and restored), step h.
func normCentralDiff(p []float64, h float64, f func() float64) []float64 {
	g := make([]float64, len(p))
	for i := range p {
		v := p[i]
		p[i] = v + h
		fp := f()
		p[i] = v - h
		fm := f()
		p[i] = v
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

func TestNormBackwardFiniteDiff(t *testing.T) {
	const rows = 3
	const eps = 1e-5
	const h = 1e-6
	for _, rms := range []bool{false, true} {
		for _, cols := range []int{1, 2, 3, 7, 17, 33} {
			name := fmt.Sprintf("rms=%v cols=%d", rms, cols)
			xs, gs, bs := normTestInputs(uint64(cols)+7, rows, cols)
			x, gamma, beta := testutil.To64(xs), testutil.To64(gs), testutil.To64(bs)
			w := testutil.To64(testutil.Normal32(testutil.NewRand(uint64(cols)), rows*cols, 1))
			loss := func() float64 { return normLoss64(w, x, gamma, beta, rows, cols, eps, rms) }

			y := make([]float64, rows*cols)
			mean := make([]float64, rows)
			rstd := make([]float64, rows)
			dx := testutil.NewGuarded64(rows * cols)
			dgamma := make([]float64, cols)
			dbeta := make([]float64, cols)
			if rms {
				RMSNormRows64(y, rstd, x, gamma, rows, cols, eps)
				RMSNormBackwardRows64(dx.Data, dgamma, w, x, rstd, gamma, rows, cols)
			} else {
				LayerNormRows64(y, mean, rstd, x, gamma, beta, rows, cols, eps)
				LayerNormBackwardRows64(dx.Data, dgamma, dbeta, w, x, mean, rstd, gamma, rows, cols)
			}
			dx.Check(t)
			testutil.AssertClose(t, name+" dx", dx.Data, normCentralDiff(x, h, loss), testutil.FiniteDiff)
			testutil.AssertClose(t, name+" dgamma", dgamma, normCentralDiff(gamma, h, loss), testutil.FiniteDiff)
			if !rms {
				testutil.AssertClose(t, name+" dbeta", dbeta, normCentralDiff(beta, h, loss), testutil.FiniteDiff)
			}
		}
	}
}

// normTo64OrNil widens s, keeping nil as nil (an absent gamma or beta).
func normTo64OrNil(s []float32) []float64 {
	if s == nil {
		return nil
	}
	return testutil.To64(s)
}

// TestNormBackwardVs64 runs the float32 backward (accumulating into dgamma
// and dbeta pre-filled with 0.25) and the float64 one on the same inputs.
func TestNormBackwardVs64(t *testing.T) {
	const rows = 6
	const eps = 1e-5
	forEachTier(t, func(t *testing.T) {
		for _, rms := range []bool{false, true} {
			for _, cols := range normCols {
				for _, affine := range []bool{true, false} {
					name := fmt.Sprintf("rms=%v cols=%d affine=%v", rms, cols, affine)
					x, gamma, beta := normTestInputs(uint64(cols)+3, rows, cols)
					if !affine {
						gamma = nil
					}
					dy := testutil.Normal32(testutil.NewRand(uint64(cols)+4), rows*cols, 1)
					mean := make([]float32, rows)
					rstd := make([]float32, rows)
					y := make([]float32, rows*cols)
					dx := testutil.NewGuarded32(rows * cols)
					dgamma := testutil.NewGuarded32(cols)
					dbeta := testutil.NewGuarded32(cols)
					for i := range dgamma.Data {
						dgamma.Data[i], dbeta.Data[i] = 0.25, 0.25
					}
					x64, dy64 := testutil.To64(x), testutil.To64(dy)
					g64 := normTo64OrNil(gamma)
					m64 := make([]float64, rows)
					r64 := make([]float64, rows)
					y64 := make([]float64, rows*cols)
					dx64 := make([]float64, rows*cols)
					dg64 := make([]float64, cols)
					db64 := make([]float64, cols)
					for i := range dg64 {
						dg64[i], db64[i] = 0.25, 0.25
					}
					if rms {
						RMSNormRows(y, rstd, x, gamma, rows, cols, eps)
						RMSNormBackwardRows(dx.Data, dgamma.Data, dy, x, rstd, gamma, rows, cols)
						RMSNormRows64(y64, r64, x64, g64, rows, cols, eps)
						RMSNormBackwardRows64(dx64, dg64, dy64, x64, r64, g64, rows, cols)
					} else {
						LayerNormRows(y, mean, rstd, x, gamma, beta, rows, cols, eps)
						LayerNormBackwardRows(dx.Data, dgamma.Data, dbeta.Data, dy, x, mean, rstd, gamma, rows, cols)
						LayerNormRows64(y64, m64, r64, x64, g64, testutil.To64(beta), rows, cols, eps)
						LayerNormBackwardRows64(dx64, dg64, db64, dy64, x64, m64, r64, g64, rows, cols)
					}
					dx.Check(t)
					dgamma.Check(t)
					dbeta.Check(t)
					// dx is a difference of terms of size rstd*|dy*gamma|
					// that may cancel (badly for cols = 1), so its float32
					// error is absolute at that scale: compare dx / scale.
					scale := 0.0
					for r := 0; r < rows; r++ {
						for i := 0; i < cols; i++ {
							g := 1.0
							if g64 != nil {
								g = g64[i]
							}
							scale = math.Max(scale, math.Abs(r64[r]*dy64[r*cols+i]*g))
						}
					}
					sdx := make([]float64, len(dx64))
					sdx64 := make([]float64, len(dx64))
					for i := range dx64 {
						sdx[i] = float64(dx.Data[i]) / scale
						sdx64[i] = dx64[i] / scale
					}
					testutil.AssertClose(t, name+" dx (scaled)", sdx, sdx64, testutil.F32)
					testutil.AssertClose(t, name+" dgamma", dgamma.Data, dg64, testutil.F32)
					if rms {
						testutil.AssertClose(t, name+" dbeta untouched", dbeta.Data, db64, testutil.Exact)
					} else {
						testutil.AssertClose(t, name+" dbeta", dbeta.Data, db64, testutil.F32)
					}

					// The plain-Go twin on the same inputs.
					tdx := make([]float32, rows*cols)
					tdg := make([]float32, cols)
					normBackward(&normKernelsGeneric32, rms, tdx, tdg, nil, dy, x, mean, rstd, gamma, rows, cols)
					for i := range tdx {
						sdx64[i] = float64(tdx[i]) / scale
					}
					testutil.AssertClose(t, name+" dx vs twin (scaled)", sdx, sdx64, testutil.F32)
				}
			}
		}
	})
}

func TestNormThreads(t *testing.T) {
	const rows, cols = 300, 768
	x, gamma, beta := normTestInputs(11, rows, cols)
	dy := testutil.Normal32(testutil.NewRand(12), rows*cols, 1)
	run := func() (y, dx, dg, db, ry, rdx, rdg []float32) {
		y = make([]float32, rows*cols)
		mean := make([]float32, rows)
		rstd := make([]float32, rows)
		LayerNormRows(y, mean, rstd, x, gamma, beta, rows, cols, 1e-5)
		dx = make([]float32, rows*cols)
		dg = make([]float32, cols)
		db = make([]float32, cols)
		LayerNormBackwardRows(dx, dg, db, dy, x, mean, rstd, gamma, rows, cols)
		ry = make([]float32, rows*cols)
		RMSNormRows(ry, rstd, x, gamma, rows, cols, 1e-6)
		rdx = make([]float32, rows*cols)
		rdg = make([]float32, cols)
		RMSNormBackwardRows(rdx, rdg, dy, x, rstd, gamma, rows, cols)
		return
	}
	forEachTier(t, func(t *testing.T) {
		prev := SetThreads(1)
		defer SetThreads(prev)
		a := [7][]float32{}
		a[0], a[1], a[2], a[3], a[4], a[5], a[6] = run()
		for _, th := range []int{2, 3} {
			SetThreads(th)
			b := [7][]float32{}
			b[0], b[1], b[2], b[3], b[4], b[5], b[6] = run()
			for i, what := range []string{"LN y", "LN dx", "LN dgamma", "LN dbeta", "RMS y", "RMS dx", "RMS dgamma"} {
				testutil.AssertClose(t, fmt.Sprintf("threads=%d %s", th, what), b[i], a[i], testutil.Exact)
			}
		}
	})
}

func TestNormPanics(t *testing.T) {
	f := make([]float32, 12)
	reduceExpectPanic(t, "cpu.LayerNormRows: len(dst)=11 < 12 (rows=3 cols=4)", func() { LayerNormRows(f[:11], nil, nil, f, nil, nil, 3, 4, 0) })
	reduceExpectPanic(t, "cpu.LayerNormRows: len(gamma)=3 < 4", func() { LayerNormRows(f, nil, nil, f, f[:3], nil, 3, 4, 0) })
	reduceExpectPanic(t, "cpu.LayerNormRows: len(rstd)=2 < 3", func() { LayerNormRows(f, nil, f[:2], f, nil, nil, 3, 4, 0) })
	reduceExpectPanic(t, "cpu.LayerNormRows: negative size", func() { LayerNormRows(f, nil, nil, f, nil, nil, -1, 4, 0) })
	reduceExpectPanic(t, "cpu.LayerNormRows: cols=0", func() { LayerNormRows(f, nil, nil, f, nil, nil, 3, 0, 0) })
	reduceExpectPanic(t, "cpu.LayerNormBackwardRows: len(mean)=0 < 3", func() { LayerNormBackwardRows(f, nil, nil, f, f, nil, f, nil, 3, 4) })
	reduceExpectPanic(t, "cpu.LayerNormBackwardRows: len(dbeta)=2 < 4", func() { LayerNormBackwardRows(f, nil, f[:2], f, f, f, f, nil, 3, 4) })
	reduceExpectPanic(t, "cpu.RMSNormRows: len(x)=5 < 12", func() { RMSNormRows(f, nil, f[:5], nil, 3, 4, 0) })
	reduceExpectPanic(t, "cpu.RMSNormBackwardRows: len(rstd)=0 < 3", func() { RMSNormBackwardRows(f, nil, f, f, nil, nil, 3, 4) })
	reduceExpectPanic(t, "cpu.RMSNormBackwardRows64: len(dgamma)=1 < 4", func() {
		g := make([]float64, 12)
		RMSNormBackwardRows64(g, g[:1], g, g, g, nil, 3, 4)
	})
	// Zero rows is a no-op, even with empty buffers.
	LayerNormRows(nil, nil, nil, nil, nil, nil, 0, 4, 0)
	LayerNormBackwardRows(nil, nil, nil, nil, nil, nil, nil, nil, 0, 4)
}

// TestNormFenced runs every norm on buffers that end at (or start right
// after) an inaccessible page, so an out-of-bounds access crashes, and
// compares with the plain-Go twins.
func TestNormFenced(t *testing.T) {
	const rows = 2
	forEachTier(t, func(t *testing.T) {
		for _, cols := range normCols {
			for _, atEnd := range []bool{true, false} {
				name := fmt.Sprintf("cols=%d atEnd=%v", cols, atEnd)
				xv, gv, bv := normTestInputs(uint64(cols)+50, rows, cols)
				dyv := testutil.Normal32(testutil.NewRand(uint64(cols)), rows*cols, 1)
				f := func(v []float32) []float32 { return reduceFenced32(t, v, atEnd) }
				x, gamma, beta, dy := f(xv), f(gv), f(bv), f(dyv)
				y := f(make([]float32, rows*cols))
				mean, rstd := f(make([]float32, rows)), f(make([]float32, rows))
				LayerNormRows(y, mean, rstd, x, gamma, beta, rows, cols, 1e-5)
				twin := make([]float32, rows*cols)
				normForward(&normKernelsGeneric32, false, twin, nil, nil, xv, gv, bv, rows, cols, 1e-5)
				testutil.AssertClose(t, name+" LayerNorm", y, twin, testutil.F32)

				dx := f(make([]float32, rows*cols))
				dg, db := f(make([]float32, cols)), f(make([]float32, cols))
				LayerNormBackwardRows(dx, dg, db, dy, x, mean, rstd, gamma, rows, cols)
				tdx, tdg, tdb := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
				normBackward(&normKernelsGeneric32, false, tdx, tdg, tdb, dyv, xv, mean, rstd, gv, rows, cols)
				testutil.AssertClose(t, name+" LayerNorm dgamma", dg, tdg, testutil.F32)
				testutil.AssertClose(t, name+" LayerNorm dbeta", db, tdb, testutil.F32)

				RMSNormRows(y, rstd, x, gamma, rows, cols, 1e-6)
				normForward(&normKernelsGeneric32, true, twin, nil, nil, xv, gv, nil, rows, cols, 1e-6)
				testutil.AssertClose(t, name+" RMSNorm", y, twin, testutil.F32)
				RMSNormBackwardRows(dx, dg, dy, x, rstd, gamma, rows, cols)
			}
		}
	})
}
