package gpu_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// views are the layouts every strided input is tried in: the base tensor
// [4, 5, 7] itself, a transpose, a narrowed slice and a broadcast.
var views = []struct {
	name string
	base []int
	f    func(x *tensor.Tensor) *tensor.Tensor
}{
	{"contiguous", []int{4, 5, 7}, func(x *tensor.Tensor) *tensor.Tensor { return x }},
	{"transposed", []int{7, 5, 4}, func(x *tensor.Tensor) *tensor.Tensor { return x.Permute(2, 1, 0) }},
	{"narrowed", []int{4, 9, 7}, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(1, 3, 5) }},
	{"broadcast", []int{4, 1, 7}, func(x *tensor.Tensor) *tensor.Tensor { return x.Expand(4, 5, 7) }},
	{"column", []int{4, 5, 9}, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(2, 2, 7) }},
}

func TestCopy(t *testing.T) {
	r := newRand(1)
	dts := []tensor.DType{tensor.Float32, tensor.BFloat16, tensor.Float16, tensor.Int32}
	for _, v := range views {
		for _, from := range dts {
			for _, to := range dts {
				h := uniform(r, -100, 100, v.base...).Cast(from)
				src := v.f(h)
				want := tensor.New(to, src.Shape()...)
				cb.Copy(want, src)
				// contiguous destination
				got, check := poisoned(t, to, src.Shape()...)
				gb.Copy(got, v.f(onDev(t, h)))
				check()
				same(t, v.name+" "+from.String()+"->"+to.String(), got, want, testutil.Exact)
				// strided destination: a transposed and a narrowed view
				for _, dv := range []struct {
					name  string
					shape []int
					f     func(*tensor.Tensor) *tensor.Tensor
				}{
					{"into transposed", []int{7, 5, 4}, func(x *tensor.Tensor) *tensor.Tensor { return x.Permute(2, 1, 0) }},
					{"into narrowed", []int{4, 5, 11}, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(2, 3, 7) }},
				} {
					base := uniform(r, -1, 1, dv.shape...).Cast(to)
					wantB := base.Clone()
					cb.Copy(dv.f(wantB), src)
					gotB := onDev(t, base)
					gb.Copy(dv.f(gotB), v.f(onDev(t, h)))
					same(t, v.name+" "+from.String()+"->"+to.String()+" "+dv.name, gotB, wantB, testutil.Exact)
				}
			}
		}
	}
}

func TestFillAndTransfer(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.BFloat16, tensor.Float16, tensor.Int32} {
		for _, n := range sizes {
			for _, v := range []float64{0, -1.5, 3.25, 1e30} {
				got, check := poisoned(t, dt, n)
				gb.Fill(got, v)
				check()
				want := tensor.New(dt, n)
				cb.Fill(want, v)
				same(t, dt.String()+" fill", got, want, testutil.Exact)
			}
		}
	}
	h := uniform(newRand(2), -1, 1, 3, 17)
	d := onDev(t, h)
	back, err := d.To(tensor.CPU)
	require.NoError(t, err)
	same(t, "round trip", back, h, testutil.Exact)
	// a strided device view to the host
	back, err = d.Permute(1, 0).To(tensor.CPU)
	require.NoError(t, err)
	same(t, "strided to host", back, h.Permute(1, 0).Contiguous(), testutil.Exact)
}

func TestUnary(t *testing.T) {
	r := newRand(3)
	for op := tensor.OpNeg; op <= tensor.OpRecip; op++ {
		for _, n := range sizes {
			lo, hi := float32(-4), float32(4)
			switch op {
			case tensor.OpLog, tensor.OpSqrt, tensor.OpRsqrt, tensor.OpRecip:
				lo, hi = 0.05, 5
			}
			x := uniform(r, lo, hi, n)
			nan := n > 2 && (op == tensor.OpNeg || op == tensor.OpSquare || op == tensor.OpAbs || op == tensor.OpRelu)
			if n > 2 && lo < 0 {
				x.Set(0, 0)
			}
			if nan {
				x.Set(math.NaN(), 1)
			}
			want := tensor.New(tensor.Float32, n)
			cb.Unary(op, want, x)
			got, check := poisoned(t, tensor.Float32, n)
			gb.Unary(op, got, onDev(t, x))
			check()
			same(t, op.String(), got, want, testutil.F32)

			dy := uniform(r, -2, 2, n)
			xy := x
			if op.BackwardUsesOutput() {
				xy = want
			}
			if nan {
				xy = xy.Clone()
				xy.Set(0.5, 1) // no NaN in the backward inputs
			}
			wantB := tensor.New(tensor.Float32, n)
			cb.UnaryBackward(op, wantB, dy, xy)
			gotB, checkB := poisoned(t, tensor.Float32, n)
			gb.UnaryBackward(op, gotB, onDev(t, dy), onDev(t, xy))
			checkB()
			same(t, op.String()+"Backward", gotB, wantB, testutil.F32)
		}
	}
}

func TestBinary(t *testing.T) {
	r := newRand(4)
	for op := tensor.OpAdd; op <= tensor.OpEqual; op++ {
		for _, va := range views {
			vb := views[(int(op)+1)%len(views)]
			lo := float32(-3)
			if op == tensor.OpPow {
				lo = 0.1
			}
			ha := uniform(r, lo, 3, va.base...)
			hb := uniform(r, -3, 3, vb.base...)
			if op >= tensor.OpMaximum {
				// ties and equal values for the comparisons and max/min
				hb = ha.Clone()
				if !equalShape(va.base, vb.base) {
					hb = uniform(r, -3, 3, vb.base...)
				}
			}
			a, b := va.f(ha), vb.f(hb)
			want := tensor.New(tensor.Float32, 4, 5, 7)
			cb.Binary(op, want, a, b)
			got, check := poisoned(t, tensor.Float32, 4, 5, 7)
			gb.Binary(op, got, va.f(onDev(t, ha)), vb.f(onDev(t, hb)))
			check()
			same(t, op.String()+" "+va.name+"×"+vb.name, got, want, testutil.F32)
		}
		for _, n := range sizes {
			x := uniform(r, 0.1, 3, n)
			for _, first := range []bool{false, true} {
				for _, s := range []float64{2, 1, -0.75, 1.5} {
					want := tensor.New(tensor.Float32, n)
					cb.BinaryScalar(op, want, x, s, first)
					got, check := poisoned(t, tensor.Float32, n)
					gb.BinaryScalar(op, got, onDev(t, x), s, first)
					check()
					same(t, op.String()+"Scalar", got, want, testutil.F32)
				}
			}
		}
	}
	// in place, as AddInPlace calls it: dst aliases a, b broadcast
	x := uniform(r, -1, 1, 6, 9)
	bias := uniform(r, -1, 1, 9)
	want := x.Clone()
	cb.Binary(tensor.OpAdd, want, want, bias.Expand(6, 9))
	got := onDev(t, x)
	gb.Binary(tensor.OpAdd, got, got, onDev(t, bias).Expand(6, 9))
	same(t, "AddInPlace", got, want, testutil.F32)
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWhere(t *testing.T) {
	r := newRand(5)
	c := uniform(r, -1, 3, 4, 1, 7)
	cond := tensor.Relu(c)                  // zeros where c < 0 (and where c < 1 as int32)
	cond.Set(math.Copysign(0, -1), 0, 0, 1) // -0 is zero
	cond.Set(math.NaN(), 0, 0, 2)           // NaN is not
	ci := c.Cast(tensor.Int32)
	for _, cd := range []*tensor.Tensor{cond, ci, cond.Cast(tensor.BFloat16), cond.Cast(tensor.Float16)} {
		a := uniform(r, -1, 1, 4, 5, 7)
		b := uniform(r, -1, 1, 5, 7)
		want := tensor.New(tensor.Float32, 4, 5, 7)
		cb.Where(want, cd.Expand(4, 5, 7), a, b.Expand(4, 5, 7))
		got, check := poisoned(t, tensor.Float32, 4, 5, 7)
		gb.Where(got, onDev(t, cd).Expand(4, 5, 7), onDev(t, a), onDev(t, b).Expand(4, 5, 7))
		check()
		same(t, "Where "+cd.DType().String(), got, want, testutil.Exact)
		// a transposed a
		at := uniform(r, -1, 1, 7, 5, 4)
		cb.Where(want, cd.Expand(4, 5, 7), at.Permute(2, 1, 0), b.Expand(4, 5, 7))
		got, check = poisoned(t, tensor.Float32, 4, 5, 7)
		gb.Where(got, onDev(t, cd).Expand(4, 5, 7), onDev(t, at).Permute(2, 1, 0), onDev(t, b).Expand(4, 5, 7))
		check()
		same(t, "Where transposed "+cd.DType().String(), got, want, testutil.Exact)
	}
}

func TestMatmul(t *testing.T) {
	r := newRand(6)
	cases := []struct {
		name           string
		batch, m, n, k int
		transA, transB bool
		// layout of the stored operands: "t" stores the transpose, "b"
		// broadcasts one matrix over the batch, "p" is a head-permuted view
		la, lb      string
		alpha, beta float64
	}{
		{"1x1x1", 1, 1, 1, 1, false, false, "", "", 1, 0},
		{"odd", 1, 33, 17, 37, false, false, "", "", 1, 0},
		{"transposes", 3, 19, 21, 5, true, true, "", "", 1, 0},
		{"stored transposed", 2, 31, 9, 15, false, false, "t", "t", 0.5, 0},
		{"beta", 2, 7, 130, 33, false, true, "", "", 1, 1},
		{"broadcast b", 5, 17, 3, 29, false, false, "", "b", 1, 0},
		{"heads", 4, 11, 11, 8, false, true, "p", "p", 0.125, 0},
		{"k=0", 2, 3, 4, 0, false, false, "", "", 1, 1},
		{"matrix-vector", 1, 65, 1, 40, false, false, "", "", 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ar, ac := c.m, c.k
			if c.transA {
				ar, ac = ac, ar
			}
			br, bc := c.k, c.n
			if c.transB {
				br, bc = bc, br
			}
			mk := func(layout string, rows, cols int) (*tensor.Tensor, func(*tensor.Tensor) *tensor.Tensor) {
				switch layout {
				case "t":
					return uniform(r, -1, 1, c.batch, cols, rows), func(x *tensor.Tensor) *tensor.Tensor { return x.Transpose(1, 2) }
				case "b":
					return uniform(r, -1, 1, 1, rows, cols), func(x *tensor.Tensor) *tensor.Tensor { return x.Expand(c.batch, rows, cols) }
				case "p": // [rows, batch, cols] seen as [batch, rows, cols]
					return uniform(r, -1, 1, rows, c.batch, cols), func(x *tensor.Tensor) *tensor.Tensor { return x.Permute(1, 0, 2) }
				}
				return uniform(r, -1, 1, c.batch, rows, cols), func(x *tensor.Tensor) *tensor.Tensor { return x }
			}
			ha, fa := mk(c.la, ar, ac)
			hb, fb := mk(c.lb, br, bc)
			c0 := uniform(r, -1, 1, c.batch, c.m, c.n)
			want := c0.Clone()
			cb.Matmul(want, fa(ha), fb(hb), c.transA, c.transB, c.alpha, c.beta)
			scale := abs(c0)
			cb.Matmul(scale, fa(abs(ha)), fb(abs(hb)), c.transA, c.transB, math.Abs(c.alpha), math.Abs(c.beta))
			var got *tensor.Tensor
			if c.beta == 0 {
				var check func()
				got, check = poisoned(t, tensor.Float32, c.batch, c.m, c.n)
				defer check()
			} else {
				got = onDev(t, c0)
			}
			gb.Matmul(got, fa(onDev(t, ha)), fb(onDev(t, hb)), c.transA, c.transB, c.alpha, c.beta)
			sameScaled(t, "Matmul "+c.name, got, want, scale, testutil.F32Accum)
		})
	}
}

func TestReduce(t *testing.T) {
	r := newRand(7)
	for _, s := range [][3]int{{1, 1, 1}, {1, 1000, 1}, {7, 33, 1}, {3, 17, 5}, {1, 9, 129}, {2, 0, 3}} {
		outer, n, inner := s[0], s[1], s[2]
		x := uniform(r, -2, 2, outer, n, inner)
		if n > 4 {
			x.Set(x.At(0, 1, 0), 0, 3, 0) // a tie: the first index wins
		}
		for _, op := range []tensor.ReduceOp{tensor.ReduceSum, tensor.ReduceMax, tensor.ReduceSumSquares} {
			if op == tensor.ReduceMax && n == 0 {
				continue
			}
			want := tensor.New(tensor.Float32, outer, inner)
			var wantArg, gotArg *tensor.Tensor
			var checkArg func()
			if op == tensor.ReduceMax {
				wantArg = tensor.New(tensor.Int32, outer, inner)
				gotArg, checkArg = poisoned(t, tensor.Int32, outer, inner)
			}
			cb.Reduce(op, want, wantArg, x, outer, n, inner)
			scale := tensor.New(tensor.Float32, outer, inner)
			cb.Reduce(tensor.ReduceSum, scale, nil, abs(x), outer, n, inner)
			if op == tensor.ReduceSumSquares {
				cb.Reduce(op, scale, nil, x, outer, n, inner)
			}
			got, check := poisoned(t, tensor.Float32, outer, inner)
			gb.Reduce(op, got, gotArg, onDev(t, x), outer, n, inner)
			check()
			name := []string{"sum", "max", "sumsq"}[op]
			sameScaled(t, name, got, want, scale, testutil.F32Accum)
			if gotArg != nil {
				checkArg()
				same(t, "argmax", gotArg, wantArg, testutil.Exact)
			}
		}
	}
}

func TestSoftmax(t *testing.T) {
	r := newRand(8)
	for _, s := range [][2]int{{1, 1}, {3, 17}, {5, 1000}, {2, 4097}} {
		rows, cols := s[0], s[1]
		x := uniform(r, -6, 6, rows, cols)
		dy := uniform(r, -1, 1, rows, cols)
		for _, log := range []bool{false, true} {
			want := tensor.New(tensor.Float32, rows, cols)
			cb.Softmax(want, x, log)
			got, check := poisoned(t, tensor.Float32, rows, cols)
			gb.Softmax(got, onDev(t, x), log)
			check()
			same(t, "softmax", got, want, testutil.F32)

			wantB := tensor.New(tensor.Float32, rows, cols)
			cb.SoftmaxBackward(wantB, dy, want, log)
			gotB, checkB := poisoned(t, tensor.Float32, rows, cols)
			gb.SoftmaxBackward(gotB, onDev(t, dy), onDev(t, want), log)
			checkB()
			same(t, "softmax backward", gotB, wantB, testutil.F32Accum)
		}
	}
}

func TestNorms(t *testing.T) {
	r := newRand(9)
	for _, s := range [][2]int{{1, 1}, {3, 17}, {37, 64}, {5, 1000}} {
		rows, cols := s[0], s[1]
		x := uniform(r, -2, 2, rows, cols)
		dy := uniform(r, -1, 1, rows, cols)
		gamma := uniform(r, 0.5, 1.5, cols)
		beta := uniform(r, -0.5, 0.5, cols)
		for _, affine := range []bool{true, false} {
			g, be := gamma, beta
			if !affine {
				g, be = nil, nil
			}
			dv := func(h *tensor.Tensor) *tensor.Tensor {
				if h == nil {
					return nil
				}
				return onDev(t, h)
			}
			// LayerNorm
			want, wm, wr := tensor.New(tensor.Float32, rows, cols), tensor.New(tensor.Float32, rows), tensor.New(tensor.Float32, rows)
			cb.LayerNorm(want, wm, wr, x, g, be, 1e-5)
			got, check := poisoned(t, tensor.Float32, rows, cols)
			gm, cm := poisoned(t, tensor.Float32, rows)
			gr, cr := poisoned(t, tensor.Float32, rows)
			gb.LayerNorm(got, gm, gr, onDev(t, x), dv(g), dv(be), 1e-5)
			check()
			cm()
			cr()
			same(t, "layernorm", got, want, testutil.F32Accum)
			same(t, "layernorm mean", gm, wm, testutil.F32Accum)
			same(t, "layernorm rstd", gr, wr, testutil.F32Accum)

			wdx := tensor.New(tensor.Float32, rows, cols)
			var wdg, wdb, gdg, gdb *tensor.Tensor
			if affine {
				wdg, wdb = tensor.Full(0.25, cols), tensor.Full(-0.5, cols) // accumulated into
				gdg, gdb = onDev(t, wdg), onDev(t, wdb)
			}
			cb.LayerNormBackward(wdx, wdg, wdb, dy, x, wm, wr, g)
			gdx, cdx := poisoned(t, tensor.Float32, rows, cols)
			gb.LayerNormBackward(gdx, gdg, gdb, onDev(t, dy), onDev(t, x), onDev(t, wm), onDev(t, wr), dv(g))
			cdx()
			same(t, "layernorm dx", gdx, wdx, testutil.F32Accum)
			if affine {
				same(t, "layernorm dgamma", gdg, wdg, testutil.F32Accum)
				same(t, "layernorm dbeta", gdb, wdb, testutil.F32Accum)
			}

			// RMSNorm
			wantR, wrs := tensor.New(tensor.Float32, rows, cols), tensor.New(tensor.Float32, rows)
			cb.RMSNorm(wantR, wrs, x, g, 1e-6)
			gotR, checkR := poisoned(t, tensor.Float32, rows, cols)
			grs, crs := poisoned(t, tensor.Float32, rows)
			gb.RMSNorm(gotR, grs, onDev(t, x), dv(g), 1e-6)
			checkR()
			crs()
			same(t, "rmsnorm", gotR, wantR, testutil.F32Accum)
			same(t, "rmsnorm rstd", grs, wrs, testutil.F32Accum)
			wdxR := tensor.New(tensor.Float32, rows, cols)
			var wdgR, gdgR *tensor.Tensor
			if affine {
				wdgR = tensor.Full(0.125, cols)
				gdgR = onDev(t, wdgR)
			}
			cb.RMSNormBackward(wdxR, wdgR, dy, x, wrs, g)
			gdxR, cdxR := poisoned(t, tensor.Float32, rows, cols)
			gb.RMSNormBackward(gdxR, gdgR, onDev(t, dy), onDev(t, x), onDev(t, wrs), dv(g))
			cdxR()
			same(t, "rmsnorm dx", gdxR, wdxR, testutil.F32Accum)
			if affine {
				same(t, "rmsnorm dgamma", gdgR, wdgR, testutil.F32Accum)
			}
		}
	}
}

func TestIndexOps(t *testing.T) {
	r := newRand(10)
	for _, s := range [][3]int{{1, 11, 17}, {3, 7, 5}, {1, 5, 1}, {2, 4, 0}} {
		outer, n, inner := s[0], s[1], s[2]
		x := uniform(r, -1, 1, outer, n, inner)
		k := 9
		idv := make([]int32, k)
		for i := range idv {
			idv[i] = int32(r.IntN(n))
		}
		idv[1] = idv[0] // a repeat: scatter-add accumulates
		ids := tensor.FromInt32(idv, k)
		want := tensor.New(tensor.Float32, outer, k, inner)
		require.NoError(t, cb.IndexRows(want, x, ids, outer, n, inner))
		got, check := poisoned(t, tensor.Float32, outer, k, inner)
		require.NoError(t, gb.IndexRows(got, onDev(t, x), onDev(t, ids), outer, n, inner))
		check()
		same(t, "IndexRows", got, want, testutil.Exact)

		src := uniform(r, -1, 1, outer, k, inner)
		base := uniform(r, -1, 1, outer, n, inner)
		wantA := base.Clone()
		require.NoError(t, cb.IndexAddRows(wantA, src, ids, outer, n, inner))
		gotA := onDev(t, base)
		require.NoError(t, gb.IndexAddRows(gotA, onDev(t, src), onDev(t, ids), outer, n, inner))
		same(t, "IndexAddRows", gotA, wantA, testutil.F32)

		bad := tensor.FromInt32([]int32{0, int32(n)}, 2)
		out, _ := tensor.NewOn(dev, tensor.Float32, outer, 2, inner)
		err := gb.IndexRows(out, onDev(t, x), onDev(t, bad), outer, n, inner)
		require.Error(t, err, "an id outside [0, %d)", n)
		require.Contains(t, err.Error(), "position 1")
	}
	// the last axis
	rows, n, k := 5, 13, 4
	x := uniform(r, -1, 1, rows, n)
	idv := make([]int32, rows*k)
	for i := range idv {
		idv[i] = int32(r.IntN(n))
	}
	idv[1] = idv[0]
	idx := tensor.FromInt32(idv, rows, k)
	want := tensor.New(tensor.Float32, rows, k)
	require.NoError(t, cb.GatherLast(want, x, idx))
	got, check := poisoned(t, tensor.Float32, rows, k)
	require.NoError(t, gb.GatherLast(got, onDev(t, x), onDev(t, idx)))
	check()
	same(t, "GatherLast", got, want, testutil.Exact)
	src := uniform(r, -1, 1, rows, k)
	wantS := tensor.New(tensor.Float32, rows, n)
	require.NoError(t, cb.ScatterAddLast(wantS, src, idx))
	gotS, _ := tensor.NewOn(dev, tensor.Float32, rows, n)
	require.NoError(t, gb.ScatterAddLast(gotS, onDev(t, src), onDev(t, idx)))
	same(t, "ScatterAddLast", gotS, wantS, testutil.F32)
	idv[3] = -1
	require.Error(t, gb.GatherLast(got, onDev(t, x), onDev(t, tensor.FromInt32(idv, rows, k))))
}

func TestAdamW(t *testing.T) {
	r := newRand(11)
	for _, n := range sizes {
		p, g := uniform(r, -1, 1, n), uniform(r, -1, 1, n)
		m, v := uniform(r, -0.1, 0.1, n), uniform(r, 0, 0.01, n)
		hp := tensor.AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: 3}
		gp, gg, gm, gv := onDev(t, p), onDev(t, g), onDev(t, m), onDev(t, v)
		cb.AdamW(p, g, m, v, hp)
		gb.AdamW(gp, gg, gm, gv, hp)
		same(t, "AdamW param", gp, p, testutil.F32)
		same(t, "AdamW m", gm, m, testutil.F32)
		same(t, "AdamW v", gv, v, testutil.F32)
	}
}

// TestThroughTensorOps runs tensor-level ops (views, Concat, Linear,
// attention-shaped MatmulT, Softmax on axis 0, Sum) on both devices.
func TestThroughTensorOps(t *testing.T) {
	r := newRand(12)
	x := uniform(r, -1, 1, 3, 7, 12)
	w := uniform(r, -1, 1, 10, 12)
	bias := uniform(r, -1, 1, 10)
	f := func(x, w, bias *tensor.Tensor) []*tensor.Tensor {
		y := tensor.Linear(x, w, bias)                             // [3, 7, 10]
		q := y.Reshape(3, 7, 2, 5).Permute(0, 2, 1, 3)             // [3, 2, 7, 5] view
		s := tensor.Softmax(tensor.MatmulT(q, q, false, true), -1) // [3, 2, 7, 7]
		a := tensor.Matmul(s, q).Permute(0, 2, 1, 3).Reshape(3, 7, 10)
		c := tensor.Concat(2, a, y.Narrow(2, 1, 4)) // strided destinations
		return []*tensor.Tensor{c, tensor.Softmax(c, 0), tensor.Sum(c, 1, false), tensor.Mean(c, 2, true)}
	}
	want := f(x, w, bias)
	got := f(onDev(t, x), onDev(t, w), onDev(t, bias))
	for i := range want {
		same(t, []string{"concat", "softmax0", "sum", "mean"}[i], got[i], want[i], testutil.F32Accum)
	}
}

// TestScalarCompare: a scalar no float32 equals is compared in float64, as
// the CPU backend compares it (x == float32(0.1) is not equal to 0.1).
func TestScalarCompare(t *testing.T) {
	x := tensor.FromFloat32([]float32{0.1, 0.099999994, 0.10000001, -0.1, 1e38, float32(math.Inf(1)), float32(math.NaN())}, 7)
	for _, op := range []tensor.BinaryOp{tensor.OpGreater, tensor.OpLess, tensor.OpEqual} {
		for _, s := range []float64{0.1, -0.1, 0.5, 1e300, -1e300, math.Inf(1), math.NaN()} {
			for _, first := range []bool{false, true} {
				want := tensor.New(tensor.Float32, 7)
				cb.BinaryScalar(op, want, x, s, first)
				got, check := poisoned(t, tensor.Float32, 7)
				gb.BinaryScalar(op, got, onDev(t, x), s, first)
				check()
				same(t, op.String()+" scalar", got, want, testutil.Exact)
			}
		}
	}
}

// RoundOperand's bf16 copies (tensor.RoundedOperandBackend) stand in for
// the float32 operands of the mixed-precision products with the same
// result bit for bit: contiguous copies are used in place, views of them
// (transposed, broadcast, head-permuted) are copied, Linear's bias goes
// through the epilogue path.
func TestRoundedOperands(t *testing.T) {
	r := newRand(22)
	prev, err := tensor.SetMixedPrecision(dev, true)
	require.NoError(t, err)
	defer tensor.SetMixedPrecision(dev, prev) //nolint:errcheck
	a := onDev(t, uniform(r, -1, 1, 3, 19, 40))
	b := onDev(t, uniform(r, -1, 1, 40, 24))
	bt := onDev(t, uniform(r, -1, 1, 3, 24, 40))
	w := onDev(t, uniform(r, -1, 1, 24, 40))
	bias := onDev(t, uniform(r, -1, 1, 24))
	p := onDev(t, uniform(r, -1, 1, 19, 3, 40)) // [rows, batch, cols] seen as [batch, rows, cols]
	rd := func(x *tensor.Tensor) *tensor.Tensor {
		y := tensor.RoundOperand(x)
		require.NotNil(t, y)
		require.Equal(t, tensor.BFloat16, y.DType())
		return y
	}
	eq := func(name string, got, want *tensor.Tensor) {
		t.Helper()
		require.Equal(t, tensor.Float32, got.DType(), name)
		assert.Equal(t, want.Float32s(), got.Float32s(), name)
	}
	eq("matmul", tensor.Matmul(rd(a), rd(b)), tensor.Matmul(a, b))
	eq("one operand rounded", tensor.Matmul(a, rd(b)), tensor.Matmul(a, b))
	eq("transposed operands", tensor.MatmulT(rd(a), rd(bt), false, true), tensor.MatmulT(a, bt, false, true))
	eq("a transposed view of a rounded copy", tensor.Matmul(rd(a), rd(bt).Transpose(1, 2)), tensor.Matmul(a, bt.Transpose(1, 2)))
	eq("weight gradient form", tensor.MatmulT(rd(a).Reshape(-1, 40), rd(bt).Reshape(-1, 40).Narrow(0, 0, 57), true, false),
		tensor.MatmulT(a.Reshape(-1, 40), bt.Reshape(-1, 40).Narrow(0, 0, 57), true, false))
	eq("head-permuted view", tensor.Matmul(rd(p).Permute(1, 0, 2), rd(b)), tensor.Matmul(p.Permute(1, 0, 2), b))
	eq("broadcast", tensor.Matmul(rd(a), rd(b).Unsqueeze(0).Expand(3, 40, 24)), tensor.Matmul(a, b.Unsqueeze(0).Expand(3, 40, 24)))
	eq("linear with bias", tensor.Linear(rd(a), rd(w), bias), tensor.Linear(a, w, bias))
	eq("linear", tensor.Linear(rd(a), rd(w), nil), tensor.Linear(a, w, nil))
	// a rounded copy made in mixed precision and used after it was turned
	// off (a backward after the setting changed): the product of rounded
	// operands still, the other one rounded too, not a mix
	ar, want := rd(a), tensor.Matmul(a, b)
	_, err = tensor.SetMixedPrecision(dev, false)
	require.NoError(t, err)
	assert.Nil(t, tensor.RoundOperand(a), "no rounding in fp32")
	eq("a rounded operand with mixed precision off", tensor.Matmul(ar, b), want)
	narrow := tensor.Matmul(a.Narrow(1, 1, 17), b)
	_, err = tensor.SetMixedPrecision(dev, true)
	require.NoError(t, err)
	arn := rd(a).Narrow(1, 1, 17) // a view at an odd offset (not 16-byte aligned): copied or taken by mma.sync
	wantN := tensor.Matmul(a.Narrow(1, 1, 17), b)
	assert.NotEqual(t, narrow.Float32s(), wantN.Float32s(), "fp32 and bf16 products differ")
	eq("an offset view of a rounded copy", tensor.Matmul(arn, rd(b)), wantN)
}

// tensor.AdamWSteps through the backend's multi-tensor kernel with a
// clipping coefficient (GradScale) equals the CPU's AdamW with it, bit for
// bit, and leaves the gradients unscaled as the CPU's does.
func TestAdamWStepsGradScale(t *testing.T) {
	r := newRand(23)
	hp := tensor.AdamWParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Step: 4, GradScale: 0.371}
	var ps, gs, ms, vs, dps, dgs, dms, dvs []*tensor.Tensor
	var wds []float64
	for i, n := range []int{1, 33, 1000, 4099} {
		p, g := uniform(r, -1, 1, n), uniform(r, -1, 1, n)
		m, v := uniform(r, -0.1, 0.1, n), uniform(r, 0, 0.01, n)
		ps, gs, ms, vs = append(ps, p), append(gs, g), append(ms, m), append(vs, v)
		dps, dgs, dms, dvs = append(dps, onDev(t, p)), append(dgs, onDev(t, g)), append(dms, onDev(t, m)), append(dvs, onDev(t, v))
		wds = append(wds, float64(i%2)*0.01)
	}
	tensor.AdamWSteps(dps, dgs, dms, dvs, wds, hp)
	tensor.AdamWSteps(ps, gs, ms, vs, wds, hp)
	for i := range ps {
		assert.Equal(t, ps[i].Float32s(), dps[i].Float32s(), "param %d", i)
		assert.Equal(t, ms[i].Float32s(), dms[i].Float32s(), "m %d", i)
		assert.Equal(t, vs[i].Float32s(), dvs[i].Float32s(), "v %d", i)
		assert.Equal(t, gs[i].Float32s(), dgs[i].Float32s(), "grad %d unchanged", i)
	}
}
