package losses

import (
	"math"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// denseRelativeRanking is RAG-Retrieval's pair_inbatch_triplet_loss written
// line by line with autograd ops (get_score_diff materializes the [P, P]
// matrix of pair-score differences): the reference for the host-evaluated
// JasperRelativeRanking.
func denseRelativeRanking(t *testing.T, student *autograd.Var, teacher *tensor.Tensor, margin float64) *autograd.Var {
	t.Helper()
	b := student.Dim(0)
	upper := make([]int32, 0)
	for i := 0; i < b; i++ {
		for j := i + 1; j < b; j++ {
			upper = append(upper, int32(i*b+j))
		}
	}
	np := len(upper)
	idx := tensor.FromInt32(upper, np)
	scoreDiff := func(e *autograd.Var) *autograd.Var {
		s := autograd.Reshape(autograd.MatmulT(e, e, false, true), b*b)
		x, err := autograd.IndexSelect(s, 0, idx)
		if err != nil {
			t.Fatal(err)
		}
		// diff[a, b] = x[b] - x[a]
		return autograd.Sub(autograd.Unsqueeze(x, 0), autograd.Unsqueeze(x, 1))
	}
	tn, err := normalize(autograd.Const(teacher))
	if err != nil {
		t.Fatal(err)
	}
	td := scoreDiff(tn).Value.Float64s()
	label := make([]float64, np*np)
	mask := make([]float64, np*np)
	for a := 0; a < np; a++ {
		for c := a + 1; c < np; c++ {
			mask[a*np+c] = 1
			if td[a*np+c] < 0 {
				label[a*np+c] = 1
			} else {
				label[a*np+c] = -1
			}
		}
	}
	sn, err := normalize(student)
	if err != nil {
		t.Fatal(err)
	}
	z := autograd.AddScalar(autograd.Mul(scoreDiff(sn), autograd.Const(f64(label, np, np))), margin)
	h := autograd.Mul(autograd.Relu(z), autograd.Const(f64(mask, np, np)))
	return autograd.MulScalar(autograd.SumAll(h), 2/float64(np*(np-1)))
}

func TestJasperRelativeRankingMatchesDense(t *testing.T) {
	teacher := n64(41, 7, 5).Float64s()
	// Duplicate teacher rows 0 and 1: pairs (0,j) and (1,j) tie exactly,
	// exercising RAG-Retrieval's label -1 on ties.
	copy(teacher[5:10], teacher[0:5])
	tt := f64(teacher, 7, 5)
	for _, margin := range []float64{0.015, 0.3} {
		s1 := autograd.Param(n64(42, 7, 6), "s")
		s2 := autograd.Param(s1.Value.Clone(), "s")
		got, err := JasperRelativeRanking(s1, tt, nil, margin)
		if err != nil {
			t.Fatal(err)
		}
		want := denseRelativeRanking(t, s2, tt, margin)
		testutil.AssertClose(t, "value", []float64{got.Value.Item()}, []float64{want.Value.Item()}, testutil.F64)
		if err := got.Backward(); err != nil {
			t.Fatal(err)
		}
		if err := want.Backward(); err != nil {
			t.Fatal(err)
		}
		testutil.AssertClose(t, "gradient", s1.Grad.Float64s(), s2.Grad.Float64s(), testutil.F64)
		if want.Value.Item() == 0 {
			t.Error("degenerate case: the dense loss is 0")
		}
	}
}

func TestJasperGuards(t *testing.T) {
	// MRL off (no dims): RAG-Retrieval divides by len(mrl_dims) = 0; here the
	// full width is used once, so the loss is finite and equals dims = [D].
	s := autograd.Param(n64(51, 5, 6), "s")
	tch := n64(52, 5, 6)
	off, err := JasperDistill(s, tch, nil, DefaultJasperMargin, DefaultJasperWeights())
	if err != nil {
		t.Fatal(err)
	}
	full, err := JasperDistill(s, tch, []int{6}, DefaultJasperMargin, DefaultJasperWeights())
	if err != nil {
		t.Fatal(err)
	}
	if v := off.Value.Item(); math.IsNaN(v) || math.IsInf(v, 0) {
		t.Fatalf("loss with MRL off is %v", v)
	}
	testutil.AssertClose(t, "MRL off = full width", []float64{off.Value.Item()}, []float64{full.Value.Item()}, testutil.Exact)

	// B = 2 has one pair, no pair of pairs: the ranking term is 0 (and
	// differentiable), not a NaN mean over nothing.
	s2 := autograd.Param(n64(53, 2, 6), "s")
	r, err := JasperRelativeRanking(s2, n64(54, 2, 6), nil, DefaultJasperMargin)
	if err != nil {
		t.Fatal(err)
	}
	if r.Value.Item() != 0 {
		t.Errorf("ranking loss for B=2 = %v, want 0", r.Value.Item())
	}
	if err := r.Backward(); err != nil {
		t.Fatal(err)
	}
	testutil.AssertClose(t, "B=2 gradient", s2.Grad.Float64s(), make([]float64, 12), testutil.Exact)
}

// TestFloat32MatchesFloat64 runs losses with a host-side part (Jasper
// ranking surrogate, the KL constant) and the others in float32 against
// float64.
func TestFloat32MatchesFloat64(t *testing.T) {
	s64 := n64(61, 6, 8)
	t64 := n64(62, 6, 8)
	g64 := u64(63, -3, 3, 12)
	tea := u64(64, -3, 3, 12)
	cases := []struct {
		name string
		x    *tensor.Tensor
		f    func(x *autograd.Var, cast func(*tensor.Tensor) *tensor.Tensor) (*autograd.Var, error)
	}{
		{"jasper_distill", s64, func(x *autograd.Var, c func(*tensor.Tensor) *tensor.Tensor) (*autograd.Var, error) {
			return JasperDistill(x, c(t64), []int{4, 8}, DefaultJasperMargin, DefaultJasperWeights())
		}},
		{"distill_kl", g64, func(x *autograd.Var, c func(*tensor.Tensor) *tensor.Tensor) (*autograd.Var, error) {
			return DistillKL(x, c(tea), 4, 2)
		}},
		{"pairwise_ranknet", g64, func(x *autograd.Var, c func(*tensor.Tensor) *tensor.Tensor) (*autograd.Var, error) {
			return PairwiseRankNet(x, f64([]float64{3, 1, 0, 1, 0, 0, 2, 1, 2, 2, 0, 1}, 12), 4)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var vals [2]float64
			var grads [2][]float64
			for i, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
				cast := func(x *tensor.Tensor) *tensor.Tensor { return x.Cast(dt) }
				x := autograd.Param(c.x.Cast(dt).Clone(), "x")
				l, err := c.f(x, cast)
				if err != nil {
					t.Fatal(err)
				}
				if l.Value.DType() != dt {
					t.Fatalf("loss dtype %s, want %s", l.Value.DType(), dt)
				}
				if err := l.Backward(); err != nil {
					t.Fatal(err)
				}
				vals[i] = l.Value.Item()
				grads[i] = x.Grad.Float64s()
			}
			testutil.AssertClose(t, "value", []float64{vals[1]}, []float64{vals[0]}, testutil.F32)
			testutil.AssertClose(t, "gradient", grads[1], grads[0], testutil.F32)
		})
	}
}

// rankHingeQuadratic is rankHinge term by term, O(n²): the reference.
func rankHingeQuadratic(x []float64, o []int, margin float64) (float64, []float64) {
	n := len(x)
	y := make([]float64, n)
	for u, i := range o {
		y[u] = x[i]
	}
	cnt := make([]int, n)
	var sum float64
	for u := 0; u < n; u++ {
		wu := y[u] - margin
		for v := u + 1; v < n; v++ {
			if y[v] > wu {
				sum += y[v] - wu
				cnt[v]++
				cnt[u]--
			}
		}
	}
	k := float64(n) * float64(n-1) / 2
	grad := make([]float64, n)
	for u, i := range o {
		grad[i] = float64(cnt[u]) / k
	}
	return sum / k, grad
}

func TestRankHingeMatchesQuadratic(t *testing.T) {
	r := testutil.NewRand(7)
	for _, n := range []int{2, 3, 5, 17, 100, 333} {
		for _, margin := range []float64{0, 0.015, 0.5} {
			x := testutil.Uniform64(r, n, -1, 1)
			// Repeated values (and values exactly margin apart) test the
			// strict comparisons.
			for i := 0; i+3 < n; i += 4 {
				x[i+1] = x[i]
				x[i+3] = x[i+2] + margin
			}
			o := r.Perm(n)
			got, gg := rankHinge(x, o, margin)
			want, wg := rankHingeQuadratic(x, o, margin)
			testutil.AssertClose(t, "value", []float64{got}, []float64{want}, testutil.F64)
			testutil.AssertClose(t, "gradient", gg, wg, testutil.Exact)
		}
	}
}
