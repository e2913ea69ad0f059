package cpu

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// reduceSizes are the slice lengths every reduction is tested at: around the
// vector widths (8, 16), the unroll widths (32..128), and odd larger sizes.
var reduceSizes = []int{0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 65, 127, 129, 768, 1000, 4099}

// reduceBigSizes cross the pairwise block (4096) and the parallel threshold.
var reduceBigSizes = []int{4096*3 + 5, 1<<17 + 3, 1<<18 + 7}

// Plain float64 references: obviously correct loops.

func reduceRefSum(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s
}

func reduceRefAbsSum(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += math.Abs(float64(v))
	}
	return s
}

func reduceRefDot(x, y []float32) (dot, absDot float64) {
	for i := range x {
		p := float64(x[i]) * float64(y[i])
		dot += p
		absDot += math.Abs(p)
	}
	return dot, absDot
}

func reduceRefSumSq(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// reduceRefArgmax is the first index of the maximum, NaN counting as the maximum.
func reduceRefArgmax[T reduceFloat](x []T) int {
	best := 0
	for i, v := range x {
		if v != v {
			return i
		}
		if v > x[best] {
			best = i
		}
	}
	return best
}

// reduceCheckScaled compares a reduction of mixed-sign data relative to its
// condition scale (sum of |terms|): |got-want| is measured against scale,
// not against |want|, which can be tiny after cancellation.
func reduceCheckScaled(t *testing.T, name string, got float32, want, scale float64, lvl testutil.Level) {
	t.Helper()
	if scale == 0 {
		scale = 1
	}
	testutil.AssertClose(t, name, []float64{float64(got) / scale}, []float64{want / scale}, lvl)
}

func TestSumDotSumSquares(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(1)
		for _, n := range append(append([]int{}, reduceSizes...), reduceBigSizes...) {
			// Positive data: well conditioned, compared element-wise.
			x := testutil.Uniform32(r, n, 0.5, 1.5)
			y := testutil.Uniform32(r, n, 0.5, 1.5)
			lvl := testutil.F32
			name := fmt.Sprintf("n=%d", n)
			testutil.AssertClose(t, name+" Sum", []float32{Sum(x)}, []float64{reduceRefSum(x)}, lvl)
			d, _ := reduceRefDot(x, y)
			testutil.AssertClose(t, name+" Dot", []float32{Dot(x, y)}, []float64{d}, lvl)
			testutil.AssertClose(t, name+" SumSquares", []float32{SumSquares(x)}, []float64{reduceRefSumSq(x)}, lvl)
			testutil.AssertClose(t, name+" Norm2", []float32{Norm2(x)}, []float64{math.Sqrt(reduceRefSumSq(x))}, lvl)

			// Against the plain-Go twin on the same inputs (same tree, other
			// order inside the blocks).
			testutil.AssertClose(t, name+" Sum vs twin", []float32{Sum(x)},
				[]float32{reducePairwise(x, nil, 0, reduceSumGeneric[float32])}, testutil.F32Rounding)
			testutil.AssertClose(t, name+" Dot vs twin", []float32{Dot(x, y)},
				[]float32{reducePairwise(x, y, 0, reduceDotGeneric[float32])}, testutil.F32Rounding)
			testutil.AssertClose(t, name+" SumSquares vs twin", []float32{SumSquares(x)},
				[]float32{reducePairwise(x, nil, 0, reduceSumSqGeneric[float32])}, testutil.F32Rounding)

			// Mixed signs: error relative to the sum of |terms|.
			xs := testutil.Normal32(r, n, 1)
			ys := testutil.Normal32(r, n, 1)
			reduceCheckScaled(t, name+" Sum mixed", Sum(xs), reduceRefSum(xs), reduceRefAbsSum(xs), testutil.F32)
			d, ad := reduceRefDot(xs, ys)
			reduceCheckScaled(t, name+" Dot mixed", Dot(xs, ys), d, ad, testutil.F32)
		}
	})
}

func TestReduce64(t *testing.T) {
	r := testutil.NewRand(2)
	for _, n := range append(append([]int{}, reduceSizes...), reduceBigSizes...) {
		x := testutil.To64(testutil.Normal32(r, n, 1))
		y := testutil.To64(testutil.Normal32(r, n, 1))
		var s, d, ss, sa, da float64
		for i := range x {
			s += x[i]
			d += x[i] * y[i]
			ss += x[i] * x[i]
			sa += math.Abs(x[i])
			da += math.Abs(x[i] * y[i])
		}
		name := fmt.Sprintf("n=%d", n)
		scale := func(v, sc float64) []float64 { return []float64{v / math.Max(sc, 1)} }
		testutil.AssertClose(t, name+" Sum64", scale(Sum64(x), sa), scale(s, sa), testutil.F64)
		testutil.AssertClose(t, name+" Dot64", scale(Dot64(x, y), da), scale(d, da), testutil.F64)
		testutil.AssertClose(t, name+" SumSquares64", []float64{SumSquares64(x)}, []float64{ss}, testutil.F64)
		testutil.AssertClose(t, name+" Norm264", []float64{Norm264(x)}, []float64{math.Sqrt(ss)}, testutil.F64)
		if n > 0 {
			if got, want := Argmax64(x), reduceRefArgmax(x); got != want {
				t.Errorf("%s Argmax64 = %d, want %d", name, got, want)
			}
			if got, want := Max64(x), x[reduceRefArgmax(x)]; got != want {
				t.Errorf("%s Max64 = %g, want %g", name, got, want)
			}
		}
	}
}

func TestSumNaNInf(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		for _, n := range reduceSizes[1:] {
			for _, pos := range []int{0, n / 2, n - 1} {
				x := make([]float32, n)
				for i := range x {
					x[i] = 1
				}
				x[pos] = float32(math.NaN())
				if v := Sum(x); !math.IsNaN(float64(v)) {
					t.Errorf("n=%d NaN at %d: Sum = %g", n, pos, v)
				}
				if v := Dot(x, x); !math.IsNaN(float64(v)) {
					t.Errorf("n=%d NaN at %d: Dot = %g", n, pos, v)
				}
				if v := SumSquares(x); !math.IsNaN(float64(v)) {
					t.Errorf("n=%d NaN at %d: SumSquares = %g", n, pos, v)
				}
				x[pos] = float32(math.Inf(1))
				if v := Sum(x); !math.IsInf(float64(v), 1) {
					t.Errorf("n=%d +Inf at %d: Sum = %g", n, pos, v)
				}
			}
		}
	})
}

func TestMaxArgmax(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(3)
		for _, n := range append(append([]int{}, reduceSizes[1:]...), reduceBigSizes...) {
			x := testutil.Normal32(r, n, 1)
			check := func(what string, x []float32) {
				t.Helper()
				want := reduceRefArgmax(x)
				if got := Argmax(x); got != want {
					t.Errorf("n=%d %s: Argmax = %d, want %d", n, what, got, want)
				}
				m := Max(x)
				if !(m == x[want] || (m != m && x[want] != x[want])) {
					t.Errorf("n=%d %s: Max = %g, want %g", n, what, m, x[want])
				}
				if tm := reduceMaxGeneric(x); !(tm == m || (tm != tm && m != m)) {
					t.Errorf("n=%d %s: Max = %g, twin %g", n, what, m, tm)
				}
			}
			check("random", x)
			// Ties: the maximum at several places, the first must win.
			for _, p := range []int{n - 1, n / 2, n / 3, 0} {
				x[p] = 7
			}
			check("ties", x)
			for _, p := range []int{n - 1, n / 2, 0} {
				y := append([]float32(nil), x...)
				y[p] = inf
				check(fmt.Sprintf("+inf@%d", p), y)
				y[p] = nan
				check(fmt.Sprintf("NaN@%d", p), y)
				if p > 0 {
					y[p-1] = nan
					check(fmt.Sprintf("NaN@%d,%d", p-1, p), y)
				}
			}
			all := make([]float32, n)
			for i := range all {
				all[i] = float32(math.Inf(-1))
			}
			check("all -inf", all)
		}
	})
}

// TestReduceFenced runs every reduce kernel on inputs (and dst) that end at
// or start right after an inaccessible page, so any out-of-bounds access
// crashes, and compares with the plain-Go twins.
func TestReduceFenced(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		tier := Current()
		r := testutil.NewRand(4)
		for _, n := range reduceSizes {
			for _, atEnd := range []bool{true, false} {
				name := fmt.Sprintf("n=%d atEnd=%v", n, atEnd)
				xv := testutil.Normal32(r, n, 1)
				yv := testutil.Normal32(r, n, 1)
				x := reduceFenced32(t, xv, atEnd)
				y := reduceFenced32(t, yv, atEnd)
				_ = Sum(x)
				_ = Dot(x, y)
				_ = SumSquares(x)
				_ = reducePairwise(x, nil, 0.25, reduceSqDevLeaf32(tier))
				if n > 0 {
					if got, want := Argmax(x), reduceRefArgmax(xv); got != want {
						t.Errorf("%s: Argmax = %d, want %d", name, got, want)
					}
					// IndexEq for an absent value must scan to the end.
					if got := reduceIndexEq32(tier, x, 99); got != n {
						t.Errorf("%s: IndexEq(absent) = %d, want %d", name, got, n)
					}
				}
				// dst += x, dst += x*x, nan-max with and without arg.
				want := append([]float32(nil), yv...)
				reduceAddGeneric(want, xv)
				d := reduceFenced32(t, yv, atEnd)
				reduceAdd32(tier, d, x)
				testutil.AssertClose(t, name+" add", d, want, testutil.Exact)

				want = append(want[:0], yv...)
				reduceAddSqGeneric(want, xv)
				d = reduceFenced32(t, yv, atEnd)
				reduceAddSq32(tier, d, x)
				testutil.AssertClose(t, name+" addSq", d, want, testutil.F32Rounding)

				yn := append([]float32(nil), yv...)
				xn := append([]float32(nil), xv...)
				if n > 2 {
					yn[1] = float32(math.NaN())
					xn[2] = float32(math.NaN())
				}
				x = reduceFenced32(t, xn, atEnd)
				want = append(want[:0], yn...)
				wantArg := make([]int32, n)
				for i := range wantArg {
					wantArg[i] = int32(i % 3)
				}
				gotArg := reduceFenced32(t, make([]float32, n), atEnd) // storage for int32 args
				garg := reduceInt32s(gotArg)
				copy(garg, wantArg)
				reduceMaxAccGeneric(want, wantArg, xn, 5)
				d = reduceFenced32(t, yn, atEnd)
				reduceMaxAcc32(tier, d, garg, x, 5)
				testutil.AssertClose(t, name+" maxArgAcc", d, want, testutil.Exact)
				for i := range garg {
					if garg[i] != wantArg[i] {
						t.Errorf("%s maxArgAcc: arg[%d] = %d, want %d", name, i, garg[i], wantArg[i])
						break
					}
				}
				d = reduceFenced32(t, yn, atEnd)
				reduceMaxAcc32(tier, d, nil, x, 5)
				testutil.AssertClose(t, name+" maxAcc", d, want, testutil.Exact)
			}
		}
	})
}

func TestReduceThreads(t *testing.T) {
	r := testutil.NewRand(5)
	x := testutil.Normal32(r, 1<<19+11, 1)
	y := testutil.Normal32(r, len(x), 1)
	x[len(x)/3] = 50
	forEachTier(t, func(t *testing.T) {
		prev := SetThreads(1)
		defer SetThreads(prev)
		s, d, q, m, a := Sum(x), Dot(x, y), SumSquares(x), Max(x), Argmax(x)
		dst1 := make([]float32, 7*13)
		SumAxis(dst1, x[:7*1000*13], 7, 1000, 13)
		for _, th := range []int{2, 3, 4} {
			SetThreads(th)
			s2, d2, q2, m2, a2 := Sum(x), Dot(x, y), SumSquares(x), Max(x), Argmax(x)
			if s2 != s || d2 != d || q2 != q || m2 != m || a2 != a {
				t.Errorf("threads=%d: Sum %g/%g Dot %g/%g SumSquares %g/%g Max %g/%g Argmax %d/%d",
					th, s2, s, d2, d, q2, q, m2, m, a2, a)
			}
			dst2 := make([]float32, len(dst1))
			SumAxis(dst2, x[:7*1000*13], 7, 1000, 13)
			testutil.AssertClose(t, fmt.Sprintf("threads=%d SumAxis", th), dst2, dst1, testutil.Exact)
		}
	})
}

// reduceAxisShapes are [outer, n, inner] shapes for the axis reductions.
var reduceAxisShapes = [][3]int{
	{1, 1, 1}, {1, 17, 1}, {3, 33, 1}, {5, 4099, 1}, {1, 3, 7}, {2, 5, 16}, {3, 7, 17},
	{2, 33, 1000}, {1, 1000, 33}, {4, 2, 4099}, {2, 3, 5000}, {0, 5, 3}, {3, 0, 4}, {64, 64, 65},
}

// reduceRefAxis returns the float64 sum, sum of squares, max and first argmax over
// the middle axis.
func reduceRefAxis(x []float32, outer, n, inner int) (sum, sumsq, mx []float64, arg []int32) {
	sum = make([]float64, outer*inner)
	sumsq = make([]float64, outer*inner)
	mx = make([]float64, outer*inner)
	arg = make([]int32, outer*inner)
	for o := 0; o < outer; o++ {
		for k := 0; k < inner; k++ {
			col := make([]float64, n)
			for j := 0; j < n; j++ {
				v := float64(x[(o*n+j)*inner+k])
				col[j] = v
				sum[o*inner+k] += v
				sumsq[o*inner+k] += v * v
			}
			if n > 0 {
				a := reduceRefArgmax(col)
				arg[o*inner+k] = int32(a)
				mx[o*inner+k] = col[a]
			}
		}
	}
	return
}

// reduceGuardedInt32 is an int32 output framed by sentinel values.
type reduceGuardedInt32 struct{ full, Data []int32 }

func reduceNewGuardedInt32(n int) *reduceGuardedInt32 {
	full := make([]int32, n+16)
	for i := range full {
		full[i] = -12345
	}
	return &reduceGuardedInt32{full: full, Data: full[8 : 8+n : 8+n]}
}

func (g *reduceGuardedInt32) check(t *testing.T) {
	t.Helper()
	n := len(g.Data)
	for i := 0; i < 8; i++ {
		if g.full[i] != -12345 || g.full[8+n+i] != -12345 {
			t.Errorf("int32 guard overwritten")
			return
		}
	}
}

func TestAxisReductions(t *testing.T) {
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(6)
		for _, sh := range reduceAxisShapes {
			outer, n, inner := sh[0], sh[1], sh[2]
			name := fmt.Sprintf("[%d,%d,%d]", outer, n, inner)
			x := testutil.Uniform32(r, outer*n*inner, 0.5, 1.5)
			if outer > 0 && n > 1 && inner > 0 {
				// A tie in column 0 of the last outer block: the first wins.
				o := outer - 1
				x[(o*n+n/2)*inner] = 9
				x[(o*n+n-1)*inner] = 9
			}
			sum, sumsq, mx, arg := reduceRefAxis(x, outer, n, inner)
			lvl := testutil.F32
			if n > 1000 {
				// Sequential accumulation over the axis (inner > 1) or long
				// rows: the F32Accum level.
				lvl = testutil.F32Accum
			}

			g := testutil.NewGuarded32(outer * inner)
			SumAxis(g.Data, x, outer, n, inner)
			g.Check(t)
			testutil.AssertClose(t, name+" SumAxis", g.Data, sum, lvl)

			g = testutil.NewGuarded32(outer * inner)
			SumSquaresAxis(g.Data, x, outer, n, inner)
			g.Check(t)
			testutil.AssertClose(t, name+" SumSquaresAxis", g.Data, sumsq, lvl)

			if n == 0 && outer*inner > 0 {
				continue
			}
			g = testutil.NewGuarded32(outer * inner)
			ga := reduceNewGuardedInt32(outer * inner)
			MaxAxis(g.Data, ga.Data, x, outer, n, inner)
			g.Check(t)
			ga.check(t)
			testutil.AssertClose(t, name+" MaxAxis", g.Data, mx, testutil.Exact)
			for i := range arg {
				if ga.Data[i] != arg[i] {
					t.Errorf("%s MaxAxis arg[%d] = %d, want %d", name, i, ga.Data[i], arg[i])
					break
				}
			}
			g = testutil.NewGuarded32(outer * inner)
			MaxAxis(g.Data, nil, x, outer, n, inner)
			g.Check(t)
			testutil.AssertClose(t, name+" MaxAxis(nil arg)", g.Data, mx, testutil.Exact)

			// float64 twins against the same references.
			x64 := testutil.To64(x)
			g64 := testutil.NewGuarded64(outer * inner)
			SumAxis64(g64.Data, x64, outer, n, inner)
			g64.Check(t)
			testutil.AssertClose(t, name+" SumAxis64", g64.Data, sum, testutil.F64)
			g64 = testutil.NewGuarded64(outer * inner)
			SumSquaresAxis64(g64.Data, x64, outer, n, inner)
			g64.Check(t)
			testutil.AssertClose(t, name+" SumSquaresAxis64", g64.Data, sumsq, testutil.F64)
			g64 = testutil.NewGuarded64(outer * inner)
			a64 := make([]int32, outer*inner)
			MaxAxis64(g64.Data, a64, x64, outer, n, inner)
			g64.Check(t)
			testutil.AssertClose(t, name+" MaxAxis64", g64.Data, mx, testutil.Exact)
			for i := range arg {
				if a64[i] != arg[i] {
					t.Errorf("%s MaxAxis64 arg[%d] = %d, want %d", name, i, a64[i], arg[i])
					break
				}
			}
		}
	})
}

func TestMaxAxisNaN(t *testing.T) {
	nan := float32(math.NaN())
	forEachTier(t, func(t *testing.T) {
		r := testutil.NewRand(7)
		for _, sh := range [][3]int{{2, 9, 1}, {2, 33, 1}, {2, 9, 17}, {1, 5, 40}} {
			outer, n, inner := sh[0], sh[1], sh[2]
			x := testutil.Normal32(r, outer*n*inner, 1)
			// Column k of outer block 0 gets NaNs at rows 2 and 4 and a huge
			// value at row 1: the first NaN (row 2) must win.
			for k := 0; k < inner; k += 3 {
				x[(0*n+1)*inner+k] = 1e30
				x[(0*n+2)*inner+k] = nan
				x[(0*n+4)*inner+k] = nan
			}
			_, _, mx, arg := reduceRefAxis(x, outer, n, inner)
			dst := make([]float32, outer*inner)
			a := make([]int32, outer*inner)
			MaxAxis(dst, a, x, outer, n, inner)
			testutil.AssertClose(t, fmt.Sprint(sh, " MaxAxis NaN"), dst, mx, testutil.Exact)
			for i := range a {
				if a[i] != arg[i] {
					t.Errorf("%v: arg[%d] = %d, want %d", sh, i, a[i], arg[i])
				}
			}
		}
	})
}

// reduceExpectPanic fails t unless f panics with a message containing want.
func reduceExpectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Errorf("panic %q does not mention %q", msg, want)
		}
	}()
	f()
}

func TestReducePanics(t *testing.T) {
	reduceExpectPanic(t, "cpu.Dot: len(x)=3 != len(y)=2", func() { Dot(make([]float32, 3), make([]float32, 2)) })
	reduceExpectPanic(t, "cpu.Dot64", func() { Dot64(make([]float64, 3), make([]float64, 2)) })
	reduceExpectPanic(t, "cpu.Max: empty", func() { Max(nil) })
	reduceExpectPanic(t, "cpu.Argmax: empty", func() { Argmax(nil) })
	reduceExpectPanic(t, "cpu.Max64: empty", func() { Max64(nil) })
	reduceExpectPanic(t, "cpu.Argmax64: empty", func() { Argmax64(nil) })
	reduceExpectPanic(t, "cpu.SumAxis: len(x)=5 < outer*n*inner=2*3*1", func() { SumAxis(make([]float32, 2), make([]float32, 5), 2, 3, 1) })
	reduceExpectPanic(t, "cpu.SumAxis: len(dst)=1 < outer*inner=2*1", func() { SumAxis(make([]float32, 1), make([]float32, 6), 2, 3, 1) })
	reduceExpectPanic(t, "cpu.SumSquaresAxis: negative size", func() { SumSquaresAxis(nil, nil, -1, 3, 1) })
	reduceExpectPanic(t, "cpu.MaxAxis: len(arg)=1", func() { MaxAxis(make([]float32, 2), make([]int32, 1), make([]float32, 6), 2, 3, 1) })
	reduceExpectPanic(t, "cpu.MaxAxis: empty reduced axis", func() { MaxAxis(make([]float32, 2), nil, nil, 2, 0, 1) })
	reduceExpectPanic(t, "cpu.MaxAxis64: empty reduced axis", func() { MaxAxis64(make([]float64, 2), nil, nil, 2, 0, 1) })
}

// reduceInt32s views float32 storage (from reduceFenced32) as int32s.
func reduceInt32s(s []float32) []int32 {
	if len(s) == 0 {
		return []int32{}
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&s[0])), len(s))
}

// TestReduceInsidePool calls the large-input paths from inside a pool job:
// they must run inline (not wait for the busy pool) and give the same
// results as outside.
func TestReduceInsidePool(t *testing.T) {
	r := testutil.NewRand(8)
	x := testutil.Normal32(r, reduceParMin*4+3, 1)
	s, m, a := Sum(x), Max(x), Argmax(x)
	col := make([]float32, 512)
	SumAxis(col, x[:512*1024], 1, 1024, 512)
	lx, lg, lb := normTestInputs(1, 64, 768)
	ly := make([]float32, len(lx))
	LayerNormRows(ly, nil, nil, lx, lg, lb, 64, 768, 1e-5)
	prev := SetThreads(2)
	defer SetThreads(prev)
	Parallel(2, 1, func(lo, hi int) {
		if lo != 0 {
			return
		}
		if s2, m2, a2 := Sum(x), Max(x), Argmax(x); s2 != s || m2 != m || a2 != a {
			t.Errorf("inside pool: Sum %g/%g Max %g/%g Argmax %d/%d", s2, s, m2, m, a2, a)
		}
		c2 := make([]float32, 512)
		SumAxis(c2, x[:512*1024], 1, 1024, 512)
		testutil.AssertClose(t, "inside pool SumAxis", c2, col, testutil.Exact)
		y2 := make([]float32, len(lx))
		LayerNormRows(y2, nil, nil, lx, lg, lb, 64, 768, 1e-5)
		testutil.AssertClose(t, "inside pool LayerNormRows", y2, ly, testutil.Exact)
	})
}
