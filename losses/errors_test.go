package losses

import (
	"errors"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

func v64(seed uint64, shape ...int) *autograd.Var {
	return autograd.Param(n64(seed, shape...), "x")
}

// TestBadInputsReturnErrors feeds each loss inputs a trainer could get from
// bad data; every one must return an error (not panic) naming the problem.
func TestBadInputsReturnErrors(t *testing.T) {
	q4, p4, p3 := v64(1, 4, 8), v64(2, 4, 8), v64(3, 3, 8)
	cm := func(rows, l int) *tensor.Tensor { return tensor.Ones(rows, l).Cast(tensor.Float64) }
	emptyQ := tensor.New(tensor.Float64, 2, 3)
	emptyQ.Set(1, 0, 0)
	cq, cp, cn := v64(4, 2, 3, 4), v64(5, 2, 5, 4), v64(6, 4, 5, 4)
	padDoc := cm(4, 5)
	for i := 0; i < 5; i++ {
		padDoc.Set(0, 2, i)
	}
	logits := v64(7, 8)
	cases := []struct {
		name, want string
		f          func() (*autograd.Var, error)
	}{
		{"pair count mismatch", "4 queries but 3 positives", func() (*autograd.Var, error) { return PairInBatchSoftmax(q4, p3, 0.02) }},
		{"pair width mismatch", "width", func() (*autograd.Var, error) { return PairInBatchSoftmax(q4, v64(8, 4, 6), 0.02) }},
		{"pair empty batch", "empty batch", func() (*autograd.Var, error) {
			return PairInBatchSoftmax(autograd.Param(tensor.New(tensor.Float64, 0, 8), "q"), autograd.Param(tensor.New(tensor.Float64, 0, 8), "p"), 0.02)
		}},
		{"pair missing positive", "missing", func() (*autograd.Var, error) { return PairInBatchSoftmax(q4, nil, 0.02) }},
		{"pair 1-D query", "want [batch, dim]", func() (*autograd.Var, error) { return PairInBatchSoftmax(v64(9, 8), p4, 0.02) }},
		{"pair zero temperature", "temperature", func() (*autograd.Var, error) { return PairInBatchSoftmax(q4, p4, 0) }},
		{"triplet negatives not a multiple", "not a multiple", func() (*autograd.Var, error) { return TripletInBatchSoftmax(q4, p4, v64(10, 6, 8), 0.02) }},
		{"triplet no negatives", "missing", func() (*autograd.Var, error) { return TripletInBatchSoftmax(q4, p4, nil, 0.02) }},
		{"mnrl negatives not a multiple", "not a multiple", func() (*autograd.Var, error) { return MNRL(q4, p4, v64(10, 5, 8), 0.02) }},
		{"pair_kl teacher length", "teacher scores", func() (*autograd.Var, error) { return PairKL(q4, p4, f64([]float64{1, 2, 3}, 3), 0.02) }},
		{"pair_kl teacher missing", "missing", func() (*autograd.Var, error) { return PairKL(q4, p4, nil, 0.02) }},
		{"mrl dim too wide", "MRL dim 16", func() (*autograd.Var, error) {
			return MRL([]int{4, 16}, []*autograd.Var{q4, p4}, func(xs []*autograd.Var) (*autograd.Var, error) { return PairInBatchSoftmax(xs[0], xs[1], 0.02) })
		}},
		{"mrl dim zero", "MRL dim 0", func() (*autograd.Var, error) {
			return MRL([]int{0}, []*autograd.Var{q4, p4}, func(xs []*autograd.Var) (*autograd.Var, error) { return PairInBatchSoftmax(xs[0], xs[1], 0.02) })
		}},
		{"bce labels length", "labels", func() (*autograd.Var, error) { return PointwiseBCE(logits, f64(make([]float64, 7), 7)) }},
		{"mse labels missing", "missing", func() (*autograd.Var, error) { return PointwiseMSE(logits, nil) }},
		{"bce empty batch", "empty batch", func() (*autograd.Var, error) {
			return PointwiseBCE(autograd.Param(tensor.New(tensor.Float64, 0), "x"), tensor.New(tensor.Float64, 0))
		}},
		{"ranknet group size", "not a multiple of the group size", func() (*autograd.Var, error) { return PairwiseRankNet(logits, f64(make([]float64, 8), 8), 3) }},
		{"ranknet no group size", "group size 0", func() (*autograd.Var, error) { return PairwiseRankNet(logits, f64(make([]float64, 8), 8), 0) }},
		{"ranknet labels length", "labels", func() (*autograd.Var, error) { return PairwiseRankNet(logits, f64(make([]float64, 4), 4), 4) }},
		{"listwise labels length", "labels", func() (*autograd.Var, error) { return ListwiseCE(logits, f64(make([]float64, 6), 6), 4) }},
		{"distill_kl teacher length", "teacher scores", func() (*autograd.Var, error) { return DistillKL(logits, f64(make([]float64, 4), 4), 4, 1) }},
		{"distill_kl zero T", "temperature", func() (*autograd.Var, error) { return DistillKL(logits, f64(make([]float64, 8), 8), 4, 0) }},
		{"distill_soft_ce group", "not a multiple", func() (*autograd.Var, error) { return DistillSoftCE(logits, f64(make([]float64, 8), 8), 3, 1) }},
		{"distill_mse length", "teacher scores", func() (*autograd.Var, error) { return DistillMSE(logits, f64(make([]float64, 9), 9)) }},
		{"colbert negatives not a multiple", "not a multiple", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, cm(2, 3), cp, cm(2, 5), v64(11, 3, 5, 4), cm(3, 5), 0.02, false)
		}},
		{"colbert mask shape", "mask has shape", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, cm(2, 4), cp, cm(2, 5), cn, cm(4, 5), 0.02, false)
		}},
		{"colbert positives count", "positive rows", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, cm(2, 3), v64(12, 3, 5, 4), cm(3, 5), cn, cm(4, 5), 0.02, false)
		}},
		{"colbert width", "width", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, cm(2, 3), cp, cm(2, 5), v64(13, 4, 5, 6), cm(4, 5), 0.02, false)
		}},
		{"colbert empty query", "query 1 has no tokens", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, emptyQ, cp, cm(2, 5), cn, cm(4, 5), 0.02, false)
		}},
		{"colbert masked max empty doc", "negative document 2 has no tokens", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, cm(2, 3), cp, cm(2, 5), cn, padDoc, 0.02, true)
		}},
		{"colbert no negatives", "negatives are missing", func() (*autograd.Var, error) {
			return ColBERTInBatch(cq, cm(2, 3), cp, cm(2, 5), nil, nil, 0.02, false)
		}},
		{"jasper teacher rows", "teacher embeddings of shape", func() (*autograd.Var, error) { return JasperCosine(q4, n64(14, 3, 8)) }},
		{"jasper cosine width", "teacher width", func() (*autograd.Var, error) { return JasperCosine(q4, n64(14, 4, 9)) }},
		{"jasper dims", "MRL dim 9", func() (*autograd.Var, error) { return JasperSimilarity(q4, n64(14, 4, 9), []int{4, 9}) }},
		{"jasper ranking dims small batch", "MRL dim 9", func() (*autograd.Var, error) {
			return JasperRelativeRanking(v64(15, 2, 8), n64(14, 2, 8), []int{9}, 0.015)
		}},
		{"jasper teacher missing", "missing", func() (*autograd.Var, error) { return JasperDistill(q4, nil, nil, 0.015, DefaultJasperWeights()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panicked: %v", r)
				}
			}()
			l, err := c.f()
			if err == nil {
				t.Fatalf("no error (loss %v)", l.Value)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestDegenerateGroupsReturnSentinels(t *testing.T) {
	logits := v64(1, 8)
	if _, err := PairwiseRankNet(logits, f64([]float64{1, 1, 1, 1, 0, 0, 0, 0}, 8), 4); !errors.Is(err, ErrNoPairs) {
		t.Errorf("RankNet with equal labels in every group: err %v, want ErrNoPairs", err)
	}
	if _, err := ListwiseCE(logits, f64([]float64{1, 0, 0, 0, 0, 0, 0, 0}, 8), 4); !errors.Is(err, ErrNoPositive) {
		t.Errorf("listwise CE with an all-zero group: err %v, want ErrNoPositive", err)
	}
}

// TestEveryRegisteredLossRejectsEmptyInputs runs each registered loss on
// Inputs{}: an error, never a panic.
func TestEveryRegisteredLossRejectsEmptyInputs(t *testing.T) {
	for _, s := range Specs() {
		t.Run(s.Name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panicked: %v", r)
				}
			}()
			if _, err := s.Compute(Inputs{}, nil); err == nil {
				t.Fatal("no error for empty inputs")
			} else if !strings.Contains(err.Error(), s.Name) {
				t.Errorf("error %q does not name the loss", err)
			}
		})
	}
}
