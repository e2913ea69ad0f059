package losses

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Reranker losses: RAG-Retrieval rag_retrieval/train/reranker/ranking_loss.py
// (NovaSearch-Team/RAG-Retrieval commit 950da576). logits are the model's
// scores; labels are constants. The group losses take the batch as
// consecutive groups of G documents of one query (group-major: [B·G] or
// [B, G]).

// PointwiseBCE is RAG-Retrieval's pointwise_bce (formerly point_ce),
// BCEWithLogitsLoss(reduction="mean") with soft labels y ∈ [0, 1]:
//
//	loss = 1/N Σ_i [softplus(x_i) - y_i x_i]
//
// for logits of N elements (any shape) and N labels.
func PointwiseBCE(logits *autograd.Var, labels *tensor.Tensor) (*autograd.Var, error) {
	const fn = "PointwiseBCE"
	y, err := pointLabels(fn, "labels", logits, labels)
	if err != nil {
		return nil, err
	}
	return autograd.BCEWithLogits(logits, y), nil
}

// PointwiseMSE is RAG-Retrieval's pointwise_mse (formerly point_mse):
//
//	loss = 1/N Σ_i (sigmoid(x_i) - y_i)²
//
// (RAG-Retrieval casts sigmoid(x) to the labels' dtype, fp16 under mixed
// precision; here everything stays in the logits' dtype).
func PointwiseMSE(logits *autograd.Var, labels *tensor.Tensor) (*autograd.Var, error) {
	const fn = "PointwiseMSE"
	y, err := pointLabels(fn, "labels", logits, labels)
	if err != nil {
		return nil, err
	}
	return autograd.MeanAll(autograd.Square(autograd.Sub(autograd.Sigmoid(logits), autograd.Const(y)))), nil
}

// pointLabels checks labels (what: their name in errors) against logits and returns them in the logits'
// dtype, device and shape.
func pointLabels(fn, what string, logits *autograd.Var, labels *tensor.Tensor) (*tensor.Tensor, error) {
	if err := checkFloat(fn, "logits", logits); err != nil {
		return nil, err
	}
	n := logits.Value.Numel()
	if n == 0 {
		return nil, fmt.Errorf("losses.%s: empty batch (logits shape %v)", fn, logits.Shape())
	}
	if err := checkScores(fn, what, labels, n); err != nil {
		return nil, err
	}
	return constLike(logits.Value, labels.Float64s(), logits.Shape()...)
}

// PairwiseRankNet is RAG-Retrieval's pairwise_ranknet: within each group of
// G documents (graded labels r, logits s), every ordered pair (i, j) with
// r_i - r_j > 0 is kept with weight w_ij = r_i - r_j, and
//
//	loss = 1/K Σ_(kept pairs) w_ij · softplus(-(s_i - s_j))
//
// where K is the NUMBER of kept pairs over all groups (BCEWithLogitsLoss
// with weight w, targets 1 and reduction "mean" divides by the count, not by
// Σ w). Pairs with an infinite label gap are dropped, as in RAG-Retrieval.
// A batch without any kept pair returns an error wrapping ErrNoPairs.
func PairwiseRankNet(logits *autograd.Var, labels *tensor.Tensor, groupSize int) (*autograd.Var, error) {
	const fn = "PairwiseRankNet"
	b, g, err := groups(fn, logits, groupSize)
	if err != nil {
		return nil, err
	}
	if err := checkScores(fn, "labels", labels, b*g); err != nil {
		return nil, err
	}
	r := labels.Float64s()
	w := make([]float64, b*g*g)
	kept := 0
	for grp := 0; grp < b; grp++ {
		for i := 0; i < g; i++ {
			for j := 0; j < g; j++ {
				d := r[grp*g+i] - r[grp*g+j]
				if d > 0 && !math.IsInf(d, 0) {
					w[(grp*g+i)*g+j] = d
					kept++
				}
			}
		}
	}
	if kept == 0 {
		return nil, fmt.Errorf("losses.%s: %w (%d groups of %d)", fn, ErrNoPairs, b, g)
	}
	wt, err := constLike(logits.Value, w, b, g, g)
	if err != nil {
		return nil, err
	}
	s := autograd.Reshape(logits, b, g)
	// diff[b, i, j] = s_i - s_j
	diff := autograd.Sub(autograd.Unsqueeze(s, 2), autograd.Unsqueeze(s, 1))
	sp, err := softplus(autograd.Neg(diff))
	if err != nil {
		return nil, err
	}
	return autograd.MulScalar(autograd.SumAll(autograd.Mul(sp, autograd.Const(wt))), 1/float64(kept)), nil
}

// ListwiseCE is RAG-Retrieval's listwise_ce: per group the target is a
// softmax over the nonzero labels (zeros are negatives and get probability
// 0), and
//
//	target = softmax(where(r ≠ 0, r, -inf))
//	loss = -1/B Σ_groups Σ_i target_i · log_softmax(s)_i
//
// With binary labels [1, 0, 0, …] this is the cross-entropy with the
// positive first; graded labels spread the target over the nonzero ones. A
// group whose labels are all zero returns an error wrapping ErrNoPositive.
func ListwiseCE(logits *autograd.Var, labels *tensor.Tensor, groupSize int) (*autograd.Var, error) {
	const fn = "ListwiseCE"
	b, g, err := groups(fn, logits, groupSize)
	if err != nil {
		return nil, err
	}
	if err := checkScores(fn, "labels", labels, b*g); err != nil {
		return nil, err
	}
	r := labels.Float64s()
	masked := make([]float64, len(r))
	for grp := 0; grp < b; grp++ {
		any := false
		for i := 0; i < g; i++ {
			v := r[grp*g+i]
			if v != 0 {
				masked[grp*g+i] = v
				any = true
			} else {
				masked[grp*g+i] = math.Inf(-1)
			}
		}
		if !any {
			return nil, fmt.Errorf("losses.%s: %w (group %d)", fn, ErrNoPositive, grp)
		}
	}
	target := groupSoftmax(masked, g, 1)
	logp := autograd.LogSoftmax(autograd.Reshape(logits, b, g), -1)
	return softCETerm(logp, target, b)
}

var pointwiseBCESpec = Spec{
	Name:    "pointwise_bce",
	Aliases: []string{"point_ce"},
	Kind:    KindReranker,
	Doc:     "mean_i softplus(x_i) - y_i x_i (BCEWithLogits, soft labels)",
	Inputs:  []string{"Logits", "Labels"},
	fn: func(in Inputs, _ Params) (*autograd.Var, error) {
		return PointwiseBCE(in.Logits, in.Labels)
	},
}

var pointwiseMSESpec = Spec{
	Name:    "pointwise_mse",
	Aliases: []string{"point_mse"},
	Kind:    KindReranker,
	Doc:     "mean_i (sigmoid(x_i) - y_i)²",
	Inputs:  []string{"Logits", "Labels"},
	fn: func(in Inputs, _ Params) (*autograd.Var, error) {
		return PointwiseMSE(in.Logits, in.Labels)
	},
}

var pairwiseRankNetSpec = Spec{
	Name:   "pairwise_ranknet",
	Kind:   KindReranker,
	Doc:    "mean over pairs with r_i > r_j (per group) of (r_i - r_j)·softplus(-(s_i - s_j))",
	Inputs: []string{"Logits", "Labels", "GroupSize"},
	fn: func(in Inputs, _ Params) (*autograd.Var, error) {
		return PairwiseRankNet(in.Logits, in.Labels, in.GroupSize)
	},
}

var listwiseCESpec = Spec{
	Name:   "listwise_ce",
	Kind:   KindReranker,
	Doc:    "-mean_groups Σ_i softmax(where(r≠0, r, -inf))_i log_softmax(s)_i",
	Inputs: []string{"Logits", "Labels", "GroupSize"},
	fn: func(in Inputs, _ Params) (*autograd.Var, error) {
		return ListwiseCE(in.Logits, in.Labels, in.GroupSize)
	},
}
