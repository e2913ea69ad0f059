package losses

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// fdCheck compares the analytic gradients of the scalar loss f(inputs) with
// float64 central finite differences (step 1e-6) for every input, at
// testutil.FiniteDiff.
func fdCheck(t *testing.T, f func(v []*autograd.Var) (*autograd.Var, error), inputs ...*tensor.Tensor) {
	t.Helper()
	const h = 1e-6
	params := make([]*autograd.Var, len(inputs))
	for i, in := range inputs {
		params[i] = autograd.Param(in.Clone(), fmt.Sprintf("in%d", i))
	}
	loss, err := f(params)
	if err != nil {
		t.Fatalf("loss: %v", err)
	}
	if loss.Value.Numel() != 1 {
		t.Fatalf("loss has shape %v, want a scalar", loss.Shape())
	}
	if err := loss.Backward(); err != nil {
		t.Fatalf("backward: %v", err)
	}
	eval := func() float64 {
		var l float64
		autograd.NoGrad(func() {
			cs := make([]*autograd.Var, len(params))
			for i, p := range params {
				cs[i] = autograd.Const(p.Value)
			}
			v, err := f(cs)
			if err != nil {
				t.Fatalf("loss: %v", err)
			}
			l = v.Value.Item()
		})
		return l
	}
	for i, p := range params {
		data := p.Value.Data64()
		num := make([]float64, len(data))
		for j := range data {
			orig := data[j]
			data[j] = orig + h
			up := eval()
			data[j] = orig - h
			down := eval()
			data[j] = orig
			num[j] = (up - down) / (2 * h)
		}
		if p.Grad == nil {
			t.Errorf("input %d got no gradient", i)
			continue
		}
		testutil.AssertClose(t, fmt.Sprintf("d loss / d input %d", i), p.Grad.Float64s(), num, testutil.FiniteDiff)
	}
}

func n64(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.NewRNG(seed).Normal64(0, 1, shape...)
}

func u64(seed uint64, lo, hi float64, shape ...int) *tensor.Tensor {
	return tensor.NewRNG(seed).Uniform64(lo, hi, shape...)
}

func f64(v []float64, shape ...int) *tensor.Tensor { return tensor.FromFloat64(v, shape...) }

// TestFiniteDifferences checks every registered loss (several settings each)
// in float64 against central finite differences.
func TestFiniteDifferences(t *testing.T) {
	qmask := f64([]float64{1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1}, 3, 4)
	pmask := f64([]float64{1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1}, 3, 5)
	nmask := f64([]float64{
		1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1,
		1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1,
	}, 6, 5)
	graded := f64([]float64{3, 1, 0, 1, 0, 0, 2, 1, 2, 2, 0, 1}, 12)
	binary := f64([]float64{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, 12)
	mrl := func(p *Params) { p.MRLDims = []int{3, 5, 8} }
	tau := func(v float64) func(p *Params) { return func(p *Params) { p.Temperature = v } }
	both := func(a, b func(p *Params)) func(p *Params) { return func(p *Params) { a(p); b(p) } }
	distT := func(v float64) func(p *Params) { return func(p *Params) { p.DistillT = v } }
	jdims := func(p *Params) { p.MRLDims = []int{3, 6} }

	type fdCase struct {
		name   string
		spec   string
		params func(p *Params)
		in     func(v []*autograd.Var) Inputs
		inputs []*tensor.Tensor
	}
	emb2 := func(v []*autograd.Var) Inputs { return Inputs{Query: v[0], Pos: v[1]} }
	emb3 := func(v []*autograd.Var) Inputs { return Inputs{Query: v[0], Pos: v[1], Neg: v[2]} }
	kl := func(v []*autograd.Var) Inputs {
		return Inputs{Query: v[0], Pos: v[1], TeacherScores: f64([]float64{0.9, 0.2, 0.5, 0.7}, 4)}
	}
	col := func(v []*autograd.Var) Inputs {
		return Inputs{Query: v[0], QueryMask: qmask, Pos: v[1], PosMask: pmask, Neg: v[2], NegMask: nmask}
	}
	point := func(v []*autograd.Var) Inputs {
		return Inputs{Logits: v[0], Labels: f64([]float64{1, 0, 0.3, 0.8, 0, 1, 0.5}, 7)}
	}
	group := func(labels *tensor.Tensor) func(v []*autograd.Var) Inputs {
		return func(v []*autograd.Var) Inputs {
			return Inputs{Logits: v[0], Labels: labels, TeacherScores: u64(21, -3, 3, 12), GroupSize: 4}
		}
	}
	jasper := func(v []*autograd.Var) Inputs { return Inputs{Query: v[0], TeacherEmb: n64(31, 6, 8)} }
	jasperWide := func(v []*autograd.Var) Inputs { return Inputs{Query: v[0], TeacherEmb: n64(32, 6, 11)} }
	cases := []fdCase{
		{"pair", "pair_inbatch_softmax", tau(0.1), emb2, []*tensor.Tensor{n64(1, 5, 8), n64(2, 5, 8)}},
		{"pair tau 0.02", "pair_inbatch_softmax", nil, emb2, []*tensor.Tensor{n64(1, 5, 8), n64(2, 5, 8)}},
		{"pair mrl", "pair_inbatch_softmax", both(mrl, tau(0.1)), emb2, []*tensor.Tensor{n64(1, 5, 8), n64(2, 5, 8)}},
		{"triplet", "triplet_inbatch_softmax", tau(0.1), emb3, []*tensor.Tensor{n64(3, 4, 8), n64(4, 4, 8), n64(5, 8, 8)}},
		{"triplet mrl", "triplet_inbatch_softmax", both(mrl, tau(0.1)), emb3, []*tensor.Tensor{n64(3, 4, 8), n64(4, 4, 8), n64(5, 12, 8)}},
		{"mnrl", "mnrl", tau(0.1), emb3, []*tensor.Tensor{n64(6, 4, 8), n64(7, 4, 8), n64(8, 8, 8)}},
		{"mnrl mrl", "mnrl", both(mrl, tau(0.1)), emb3, []*tensor.Tensor{n64(6, 4, 8), n64(7, 4, 8), n64(8, 4, 8)}},
		{"pair_kl", "pair_kl", tau(0.1), kl, []*tensor.Tensor{n64(9, 4, 8), n64(10, 4, 8)}},
		{"pair_kl mrl", "pair_kl", both(mrl, tau(0.1)), kl, []*tensor.Tensor{n64(9, 4, 8), n64(10, 4, 8)}},
		{"colbert", "colbert_inbatch", tau(0.1), col, []*tensor.Tensor{n64(11, 3, 4, 6), n64(12, 3, 5, 6), n64(13, 6, 5, 6)}},
		{"colbert maskedmax", "colbert_inbatch_maskedmax", tau(0.1), col, []*tensor.Tensor{n64(11, 3, 4, 6), n64(12, 3, 5, 6), n64(13, 6, 5, 6)}},
		{"pointwise_bce", "pointwise_bce", nil, point, []*tensor.Tensor{u64(14, -4, 4, 7)}},
		{"pointwise_mse", "pointwise_mse", nil, point, []*tensor.Tensor{u64(15, -4, 4, 7)}},
		{"ranknet graded", "pairwise_ranknet", nil, group(graded), []*tensor.Tensor{u64(16, -3, 3, 12)}},
		{"ranknet binary", "pairwise_ranknet", nil, group(binary), []*tensor.Tensor{u64(17, -3, 3, 12)}},
		{"listwise binary", "listwise_ce", nil, group(binary), []*tensor.Tensor{u64(18, -3, 3, 12)}},
		{"listwise graded", "listwise_ce", nil, group(graded), []*tensor.Tensor{u64(19, -3, 3, 12)}},
		{"distill_mse", "distill_mse", nil, group(nil), []*tensor.Tensor{u64(20, -3, 3, 12)}},
		{"distill_kl T1", "distill_kl", nil, group(nil), []*tensor.Tensor{u64(22, -3, 3, 12)}},
		{"distill_kl T2", "distill_kl", distT(2), group(nil), []*tensor.Tensor{u64(22, -3, 3, 12)}},
		{"distill_soft_ce T2", "distill_soft_ce", distT(2), group(nil), []*tensor.Tensor{u64(23, -3, 3, 12)}},
		{"jasper_cosine", "jasper_cosine", nil, jasper, []*tensor.Tensor{n64(24, 6, 8)}},
		{"jasper_similarity", "jasper_similarity", nil, jasper, []*tensor.Tensor{n64(25, 6, 8)}},
		{"jasper_similarity mrl", "jasper_similarity", jdims, jasperWide, []*tensor.Tensor{n64(25, 6, 8)}},
		{"jasper_relative_ranking", "jasper_relative_ranking", nil, jasper, []*tensor.Tensor{n64(26, 6, 8)}},
		{"jasper_relative_ranking mrl", "jasper_relative_ranking", jdims, jasperWide, []*tensor.Tensor{n64(27, 6, 8)}},
		{"jasper_distill", "jasper_distill", jdims, jasper, []*tensor.Tensor{n64(28, 6, 8)}},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.spec] = true
		t.Run(c.name, func(t *testing.T) {
			spec, err := Lookup(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			p := spec.Defaults
			if c.params != nil {
				c.params(&p)
			}
			fdCheck(t, func(v []*autograd.Var) (*autograd.Var, error) { return spec.Compute(c.in(v), &p) }, c.inputs...)
		})
	}
	for _, n := range Names() {
		if !covered[n] {
			t.Errorf("registered loss %s has no finite-difference case", n)
		}
	}
}

// TestSoftplusGradientAtZero checks the softplus helper's gradient is
// sigmoid(z) everywhere, including the tie z = 0 (0.5).
func TestSoftplusGradientAtZero(t *testing.T) {
	z := autograd.Param(f64([]float64{-30, -2, 0, 1e-9, 3, 40}, 6), "z")
	sp, err := softplus(z)
	if err != nil {
		t.Fatal(err)
	}
	if err := autograd.SumAll(sp).Backward(); err != nil {
		t.Fatal(err)
	}
	zs := z.Value.Float64s()
	want := make([]float64, len(zs))
	val := make([]float64, len(zs))
	for i, v := range zs {
		want[i] = 1 / (1 + math.Exp(-v))
		val[i] = max(v, 0) + math.Log1p(math.Exp(-math.Abs(v)))
	}
	testutil.AssertClose(t, "softplus", sp.Value.Float64s(), val, testutil.F64)
	testutil.AssertClose(t, "softplus gradient", z.Grad.Float64s(), want, testutil.F64)
}
