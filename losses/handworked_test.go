package losses

import (
	"math"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func softplus64(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// handCase is a loss on one float64 input with a value and gradient worked
// out by hand.
type handCase struct {
	name     string
	x        []float64
	shape    []int
	loss     func(x *autograd.Var) (*autograd.Var, error)
	want     float64
	wantGrad []float64
}

func runHand(t *testing.T, cases []handCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shape := c.shape
			if shape == nil {
				shape = []int{len(c.x)}
			}
			x := autograd.Param(tensor.FromFloat64(append([]float64(nil), c.x...), shape...), "x")
			l, err := c.loss(x)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Backward(); err != nil {
				t.Fatal(err)
			}
			testutil.AssertClose(t, "loss", []float64{l.Value.Item()}, []float64{c.want}, testutil.F64)
			if c.wantGrad != nil {
				testutil.AssertClose(t, "gradient", x.Grad.Float64s(), c.wantGrad, testutil.F64)
			}
		})
	}
}

func TestHandWorkedReranker(t *testing.T) {
	ln2 := math.Log(2)
	e := math.E
	bceLabels := f64([]float64{1, 0, 0.5}, 3)
	rankLabels := f64([]float64{2, 0, 1, 1, 1, 1}, 6)
	sm1 := sigmoid(-1)
	runHand(t, []handCase{
		{
			// mean of softplus(x) - y·x: [ln2 - 0, softplus(2), softplus(-1) + 0.5];
			// gradient (sigmoid(x) - y)/3.
			name: "pointwise_bce",
			x:    []float64{0, 2, -1},
			loss: func(x *autograd.Var) (*autograd.Var, error) { return PointwiseBCE(x, bceLabels) },
			want: (ln2 + softplus64(2) + softplus64(-1) + 0.5) / 3,
			wantGrad: []float64{
				(0.5 - 1) / 3, sigmoid(2) / 3, (sigmoid(-1) - 0.5) / 3,
			},
		},
		{
			// (sigmoid(x) - y)² averaged; gradient 2(σ-y)σ(1-σ)/3.
			name: "pointwise_mse",
			x:    []float64{0, 2, -1},
			loss: func(x *autograd.Var) (*autograd.Var, error) { return PointwiseMSE(x, bceLabels) },
			want: (0.25 + sigmoid(2)*sigmoid(2) + (sigmoid(-1)-0.5)*(sigmoid(-1)-0.5)) / 3,
			wantGrad: []float64{
				2 * (0.5 - 1) * 0.25 / 3,
				2 * sigmoid(2) * sigmoid(2) * (1 - sigmoid(2)) / 3,
				2 * (sigmoid(-1) - 0.5) * sigmoid(-1) * (1 - sigmoid(-1)) / 3,
			},
		},
		{
			// Group 1: labels [2, 0, 1], logits [1, 0, 0]: kept pairs (0,1) w=2,
			// (0,2) w=1, (2,1) w=1. Group 2: labels all 1, no pair. K = 3:
			// loss = [2·sp(-1) + sp(-1) + sp(0)]/3 = sp(-1) + ln2/3.
			// d/ds0 = -(2+1)σ(-1)/3; d/ds1 = (2σ(-1) + σ(0))/3;
			// d/ds2 = (σ(-1) - σ(0))/3; group 2 gets 0.
			name: "pairwise_ranknet",
			x:    []float64{1, 0, 0, 5, -2, 0.5},
			loss: func(x *autograd.Var) (*autograd.Var, error) { return PairwiseRankNet(x, rankLabels, 3) },
			want: softplus64(-1) + ln2/3,
			wantGrad: []float64{
				-sm1, (2*sm1 + 0.5) / 3, (sm1 - 0.5) / 3, 0, 0, 0,
			},
		},
		{
			// Group 1: labels [1,0,0], logits [2,0,1]: -log softmax(s)_0 =
			// log(e²+1+e) - 2. Group 2: labels [2,0,1], logits 0: target
			// [e/(e+1), 0, 1/(e+1)], log softmax = -ln 3, loss ln 3. Mean of the
			// two; gradient (softmax(s) - target)/2.
			name:  "listwise_ce",
			x:     []float64{2, 0, 1, 0, 0, 0},
			shape: []int{2, 3},
			loss: func(x *autograd.Var) (*autograd.Var, error) {
				return ListwiseCE(x, f64([]float64{1, 0, 0, 2, 0, 1}, 6), 0)
			},
			want: (math.Log(e*e+1+e) - 2 + math.Log(3)) / 2,
			wantGrad: func() []float64 {
				z := e*e + 1 + e
				return []float64{
					(e*e/z - 1) / 2, (1 / z) / 2, (e / z) / 2,
					(1.0/3 - e/(e+1)) / 2, (1.0 / 3) / 2, (1.0/3 - 1/(e+1)) / 2,
				}
			}(),
		},
		{
			// A student equal to the teacher has KL 0 (and gradient 0).
			name: "distill_kl equal",
			x:    []float64{0.3, -1, 2, 0},
			loss: func(x *autograd.Var) (*autograd.Var, error) {
				return DistillKL(x, f64([]float64{0.3, -1, 2, 0}, 4), 4, 2)
			},
			want:     0,
			wantGrad: []float64{0, 0, 0, 0},
		},
		{
			// Uniform student over 4: soft CE = log 4 whatever the teacher;
			// gradient (1/4 - p)/T for T = 2, one group.
			name: "distill_soft_ce",
			x:    []float64{1, 1, 1, 1},
			loss: func(x *autograd.Var) (*autograd.Var, error) {
				return DistillSoftCE(x, f64([]float64{0, 0, 2 * ln2, 0}, 4), 4, 2)
			},
			want: math.Log(4),
			// p = softmax([0,0,ln2,0]) = [1,1,2,1]/5.
			wantGrad: []float64{(0.25 - 0.2) / 2, (0.25 - 0.2) / 2, (0.25 - 0.4) / 2, (0.25 - 0.2) / 2},
		},
		{
			name:     "distill_mse",
			x:        []float64{1, 2},
			loss:     func(x *autograd.Var) (*autograd.Var, error) { return DistillMSE(x, f64([]float64{0, 4}, 2)) },
			want:     (1 + 4) / 2.0,
			wantGrad: []float64{1, -2},
		},
	})
}

func TestHandWorkedEmbedding(t *testing.T) {
	// q = p = I₂ (already unit), τ = 0.5: S = [[2,0],[0,2]], each row's CE is
	// log(1 + e⁻²).
	eye := []float64{1, 0, 0, 1}
	want := math.Log1p(math.Exp(-2))
	p := autograd.Const(f64(eye, 2, 2))
	runHand(t, []handCase{
		{
			name:  "pair_inbatch_softmax",
			x:     eye,
			shape: []int{2, 2},
			loss:  func(x *autograd.Var) (*autograd.Var, error) { return PairInBatchSoftmax(x, p, 0.5) },
			want:  want,
		},
		{
			// With one negative per query equal to the other query's
			// positive, triplet and MNRL see the same logits
			// (MNRL twice over: log(1 + 2e⁻²)).
			name:  "triplet_inbatch_softmax",
			x:     eye,
			shape: []int{2, 2},
			loss: func(x *autograd.Var) (*autograd.Var, error) {
				return TripletInBatchSoftmax(x, p, autograd.Const(f64([]float64{0, 1, 1, 0}, 2, 2)), 0.5)
			},
			// logits row 0: [2, 0 (n0 = e1), 2 (n1 = e0)] → log(2 + e⁻²) ... q0·n1 = 1.
			want: math.Log(2 + math.Exp(-2)),
		},
		{
			name:  "mnrl",
			x:     eye,
			shape: []int{2, 2},
			loss: func(x *autograd.Var) (*autograd.Var, error) {
				return MNRL(x, p, autograd.Const(f64([]float64{0, 1, 1, 0}, 2, 2)), 0.5)
			},
			// row 0: [2, 0 | 0, 2] → log(2 + 2e⁻²) - log(1) ... = log(1 + 1 + 2e⁻²) - 0.
			want: math.Log(2 + 2*math.Exp(-2)),
		},
		{
			// Scaling does not matter: normalize first. Teacher uniform over
			// the batch and student sims equal: KL 0.
			name:  "pair_kl equal",
			x:     []float64{3, 0, 0, 5},
			shape: []int{2, 2},
			loss:  func(x *autograd.Var) (*autograd.Var, error) { return PairKL(x, p, f64([]float64{0.4, 0.4}, 2), 0.02) },
			want:  0,
		},
		{
			name:  "jasper_cosine opposite",
			x:     []float64{-2, 0, 0, -1},
			shape: []int{2, 2},
			loss:  func(x *autograd.Var) (*autograd.Var, error) { return JasperCosine(x, f64(eye, 2, 2)) },
			want:  2,
		},
		{
			name:  "jasper_similarity equal",
			x:     []float64{1, 2, 3, -1},
			shape: []int{2, 2},
			loss: func(x *autograd.Var) (*autograd.Var, error) {
				return JasperSimilarity(x, f64([]float64{2, 4, 6, -2}, 2, 2), nil)
			},
			want:     0,
			wantGrad: []float64{0, 0, 0, 0},
		},
	})
}

func TestHandWorkedColBERT(t *testing.T) {
	// One query token e0 (a pad after it), positive doc [e0, pad], negative
	// doc [-e0, pad]. Zero pads: the negative's max is the pad's 0, scores
	// [1, 0]; masked max: [1, -1]. τ = 1.
	q := autograd.Const(f64([]float64{1, 0, 7, 7}, 1, 2, 2))
	qm := f64([]float64{1, 0}, 1, 2)
	p := autograd.Const(f64([]float64{2, 0, 9, 9}, 1, 2, 2))
	n := autograd.Const(f64([]float64{-3, 0, 9, 9}, 1, 2, 2))
	dm := f64([]float64{1, 0}, 1, 2)
	for _, c := range []struct {
		masked bool
		want   float64
	}{
		{false, math.Log1p(math.Exp(-1))},
		{true, math.Log1p(math.Exp(-2))},
	} {
		l, err := ColBERTInBatch(q, qm, p, dm, n, dm, 1, c.masked)
		if err != nil {
			t.Fatal(err)
		}
		testutil.AssertClose(t, "colbert", []float64{l.Value.Item()}, []float64{c.want}, testutil.F64)
	}
}
