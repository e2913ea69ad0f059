package cpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

type softmaxShape struct{ rows, cols int }

func softmaxShapes() []softmaxShape {
	var s []softmaxShape
	for _, c := range elemSizes {
		s = append(s, softmaxShape{3, c})
	}
	return append(s, softmaxShape{1, 1}, softmaxShape{0, 5}, softmaxShape{7, 1}, softmaxShape{100, 1001}, softmaxShape{2, 40000})
}

// softmaxLevel is the tolerance for a comparison that involves a row sum
// with cancellation (log-softmax outputs near 0 carry the rounding of
// log(sum), the backward passes subtract a dot product): float32 over a
// short row, or a long reduction.
func softmaxLevel(cols int) testutil.Level {
	if cols <= 1024 {
		return testutil.F32
	}
	return testutil.F32Accum
}

// softmaxGenericTier runs the row kernels of the Generic tier.
func softmaxGenericTier(f func(dst, x []float32, rows, cols int), dst, x []float32, rows, cols int) {
	prev := SetTier(Generic)
	defer SetTier(prev)
	f(dst, x, rows, cols)
}

func TestSoftmaxForward(t *testing.T) {
	fwd := []struct {
		name string
		f    func(dst, x []float32, rows, cols int)
		f64  func(dst, x []float64, rows, cols int)
		log  bool
	}{
		{"SoftmaxRows", SoftmaxRows, SoftmaxRows64, false},
		{"LogSoftmaxRows", LogSoftmaxRows, LogSoftmaxRows64, true},
	}
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(31)
		for _, c := range fwd {
			for _, sh := range softmaxShapes() {
				n := sh.rows * sh.cols
				x := testutil.Normal32(r, n, 3)
				name := fmt.Sprintf("%s %dx%d", c.name, sh.rows, sh.cols)
				out := testutil.NewGuarded32(n)
				c.f(out.Data, x, sh.rows, sh.cols)
				out.Check(t)
				want := make([]float32, n)
				softmaxGenericTier(c.f, want, x, sh.rows, sh.cols)
				genLvl, refLvl := testutil.F32Rounding, testutil.F32
				if c.log {
					genLvl, refLvl = softmaxLevel(sh.cols), softmaxLevel(sh.cols)
				}
				testutil.AssertClose(t, name+" vs plain Go", out.Data, want, genLvl)
				ref := make([]float64, n)
				c.f64(ref, testutil.To64(x), sh.rows, sh.cols)
				testutil.AssertClose(t, name+" vs float64", out.Data, ref, refLvl)
				d := append([]float32(nil), x...)
				c.f(d, d, sh.rows, sh.cols)
				testutil.AssertClose(t, name+" in place", d, out.Data, testutil.Exact)
			}
		}
	})
}

func TestSoftmaxBackward(t *testing.T) {
	bwd := []struct {
		name string
		f    func(dx, dy, y []float32, rows, cols int)
		f64  func(dx, dy, y []float64, rows, cols int)
		fwd  func(dst, x []float32, rows, cols int)
	}{
		{"SoftmaxBackwardRows", SoftmaxBackwardRows, SoftmaxBackwardRows64, SoftmaxRows},
		{"LogSoftmaxBackwardRows", LogSoftmaxBackwardRows, LogSoftmaxBackwardRows64, LogSoftmaxRows},
	}
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(32)
		for _, c := range bwd {
			for _, sh := range softmaxShapes() {
				n := sh.rows * sh.cols
				y := make([]float32, n)
				c.fwd(y, testutil.Normal32(r, n, 2), sh.rows, sh.cols)
				dy := testutil.Normal32(r, n, 1)
				name := fmt.Sprintf("%s %dx%d", c.name, sh.rows, sh.cols)
				out := testutil.NewGuarded32(n)
				c.f(out.Data, dy, y, sh.rows, sh.cols)
				out.Check(t)
				prev := SetTier(Generic)
				want := make([]float32, n)
				c.f(want, dy, y, sh.rows, sh.cols)
				SetTier(prev)
				testutil.AssertClose(t, name+" vs plain Go", out.Data, want, softmaxLevel(sh.cols))
				ref := make([]float64, n)
				c.f64(ref, testutil.To64(dy), testutil.To64(y), sh.rows, sh.cols)
				testutil.AssertClose(t, name+" vs float64", out.Data, ref, softmaxLevel(sh.cols))
				d := append([]float32(nil), dy...)
				c.f(d, d, y, sh.rows, sh.cols)
				testutil.AssertClose(t, name+" dx=dy", d, out.Data, testutil.Exact)
				d = append(d[:0], y...)
				c.f(d, dy, d, sh.rows, sh.cols)
				testutil.AssertClose(t, name+" dx=y", d, out.Data, testutil.Exact)
			}
		}
	})
}

// TestSoftmaxSpecialRows checks NaN, +Inf and -Inf rows (PyTorch gives a
// NaN row for a row holding NaN or +Inf and for a row of only -Inf).
func TestSoftmaxSpecialRows(t *testing.T) {
	const cols = 19 // a vector and a tail
	rowsIn := [][]float32{
		func() []float32 { r := make([]float32, cols); r[5] = mathNaN; return r }(),
		func() []float32 { r := make([]float32, cols); r[17] = mathInf; return r }(),
		func() []float32 {
			r := make([]float32, cols)
			for i := range r {
				r[i] = -mathInf
			}
			return r
		}(),
		func() []float32 {
			r := make([]float32, cols)
			for i := range r {
				r[i] = -mathInf
			}
			r[3], r[18] = 1, 1
			return r
		}(),
	}
	forEachTier(t, func(t *testing.T) {
		x := make([]float32, 0, len(rowsIn)*cols)
		for _, r := range rowsIn {
			x = append(x, r...)
		}
		y := make([]float32, len(x))
		ly := make([]float32, len(x))
		SoftmaxRows(y, x, len(rowsIn), cols)
		LogSoftmaxRows(ly, x, len(rowsIn), cols)
		for row := 0; row < 3; row++ {
			for i := 0; i < cols; i++ {
				if v, lv := y[row*cols+i], ly[row*cols+i]; v == v || lv == lv {
					t.Errorf("row %d [%d]: softmax %g, log-softmax %g, want NaN", row, i, v, lv)
				}
			}
		}
		for i := 0; i < cols; i++ {
			v, lv := y[3*cols+i], ly[3*cols+i]
			want, lwant := float32(0), float32(math.Inf(-1))
			if i == 3 || i == 18 {
				want, lwant = 0.5, -float32(math.Ln2)
			}
			if math.Abs(float64(v-want)) > 1e-7 || (lv != lwant && math.Abs(float64(lv-lwant)) > 1e-7) {
				t.Errorf("-Inf row [%d]: softmax %g want %g, log-softmax %g want %g", i, v, want, lv, lwant)
			}
		}
	})
}

// TestSoftmaxHandWorked: softmax([0, 0]) = [1/2, 1/2]; with dy = [1, 0],
// dx = y*(dy - sum(dy*y)) = [0.5*(1-0.5), 0.5*(0-0.5)] = [0.25, -0.25].
// log-softmax([0, 0]) = [-ln 2, -ln 2]; dx = dy - exp(y)*sum(dy) =
// [1-0.5, 0-0.5].
func TestSoftmaxHandWorked(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		x := []float32{0, 0}
		y := make([]float32, 2)
		SoftmaxRows(y, x, 1, 2)
		testutil.AssertClose(t, "softmax([0,0])", y, []float64{0.5, 0.5}, testutil.Exact)
		dx := make([]float32, 2)
		SoftmaxBackwardRows(dx, []float32{1, 0}, y, 1, 2)
		testutil.AssertClose(t, "softmax backward", dx, []float64{0.25, -0.25}, testutil.Exact)
		LogSoftmaxRows(y, x, 1, 2)
		testutil.AssertClose(t, "log-softmax([0,0])", y, []float64{-math.Ln2, -math.Ln2}, testutil.F32Rounding)
		LogSoftmaxBackwardRows(dx, []float32{1, 0}, y, 1, 2)
		testutil.AssertClose(t, "log-softmax backward", dx, []float64{0.5, -0.5}, testutil.F32Rounding)
		// One column: softmax 1, log-softmax 0, gradients 0.
		SoftmaxRows(y, []float32{3, -7}, 2, 1)
		testutil.AssertClose(t, "softmax of 1 column", y, []float64{1, 1}, testutil.Exact)
	})
}

// TestSoftmaxFiniteDiff checks the float64 backward passes against central
// differences (h = 1e-6) of L = sum(w * f(x)) through the float64 forward.
func TestSoftmaxFiniteDiff(t *testing.T) {
	const rows, cols, h = 3, 6, 1e-6
	r := testutil.NewRand(33)
	x := testutil.Uniform64(r, rows*cols, -3, 3)
	w := testutil.Uniform64(r, rows*cols, -1, 1)
	for _, c := range []struct {
		name string
		fwd  func(dst, x []float64, rows, cols int)
		bwd  func(dx, dy, y []float64, rows, cols int)
	}{
		{"SoftmaxBackwardRows64", SoftmaxRows64, SoftmaxBackwardRows64},
		{"LogSoftmaxBackwardRows64", LogSoftmaxRows64, LogSoftmaxBackwardRows64},
	} {
		loss := func(x []float64) float64 {
			y := make([]float64, len(x))
			c.fwd(y, x, rows, cols)
			var l float64
			for i := range y {
				l += w[i] * y[i]
			}
			return l
		}
		want := make([]float64, len(x))
		for i := range x {
			xp := append([]float64(nil), x...)
			xm := append([]float64(nil), x...)
			xp[i] += h
			xm[i] -= h
			want[i] = (loss(xp) - loss(xm)) / (2 * h)
		}
		y := make([]float64, len(x))
		c.fwd(y, x, rows, cols)
		got := make([]float64, len(x))
		c.bwd(got, w, y, rows, cols)
		testutil.AssertClose(t, c.name+" vs finite differences", got, want, testutil.FiniteDiff)
	}
}

func TestSoftmaxThreads(t *testing.T) {
	const rows, cols = 300, 257
	x := testutil.Normal32(testutil.NewRand(34), rows*cols, 2)
	var ref []float32
	for _, th := range []int{1, 2, 4} {
		prev := SetThreads(th)
		y := make([]float32, len(x))
		SoftmaxRows(y, x, rows, cols)
		SetThreads(prev)
		if ref == nil {
			ref = y
			continue
		}
		testutil.AssertClose(t, fmt.Sprintf("SoftmaxRows threads=%d", th), y, ref, testutil.Exact)
	}
}

func TestSoftmaxPanics(t *testing.T) {
	f6 := make([]float32, 6)
	mathExpectPanic(t, "cpu.SoftmaxRows: slice 0 has length 6", func() { SoftmaxRows(f6, make([]float32, 8), 2, 4) })
	mathExpectPanic(t, "cpu.LogSoftmaxRows: negative size", func() { LogSoftmaxRows(f6, f6, -2, -3) })
	mathExpectPanic(t, "cpu.SoftmaxBackwardRows: slice 2", func() { SoftmaxBackwardRows(f6, f6, f6[:5], 2, 3) })
	mathExpectPanic(t, "cpu.LogSoftmaxBackwardRows64", func() {
		LogSoftmaxBackwardRows64(make([]float64, 6), make([]float64, 5), make([]float64, 6), 2, 3)
	})
}

// TestSoftmax64Formulas checks the float64 twins against exp(x)/sum(exp(x))
// and x - log(sum(exp(x))) evaluated directly (no overflow for these x).
func TestSoftmax64Formulas(t *testing.T) {
	const rows, cols = 4, 37
	x := testutil.Uniform64(testutil.NewRand(35), rows*cols, -5, 5)
	want, lwant := make([]float64, len(x)), make([]float64, len(x))
	for r := 0; r < rows; r++ {
		var s float64
		for _, v := range x[r*cols : (r+1)*cols] {
			s += math.Exp(v)
		}
		for i := r * cols; i < (r+1)*cols; i++ {
			want[i] = math.Exp(x[i]) / s
			lwant[i] = x[i] - math.Log(s)
		}
	}
	got := testutil.NewGuarded64(len(x))
	SoftmaxRows64(got.Data, x, rows, cols)
	got.Check(t)
	testutil.AssertClose(t, "SoftmaxRows64", got.Data, want, testutil.F64)
	LogSoftmaxRows64(got.Data, x, rows, cols)
	testutil.AssertClose(t, "LogSoftmaxRows64", got.Data, lwant, testutil.F64)
}
