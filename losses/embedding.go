package losses

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Embedding losses: RAG-Retrieval rag_retrieval/train/embedding/model.py
// (NovaSearch-Team/RAG-Retrieval commit 950da576) and, for MNRL,
// sentence-transformers' MultipleNegativesRankingLoss. Every embedding is
// normalized inside the loss: normalize(x) = x / max(‖x‖₂, 1e-12) row-wise.

// DefaultTemperature is RAG-Retrieval's embedding and ColBERT temperature τ.
const DefaultTemperature = 0.02

// PairInBatchSoftmax is RAG-Retrieval's pair_inbatch_softmax_loss for
// queries q [B, D] and their positives p [B, D] (row i of p belongs to row i
// of q; the other rows are in-batch negatives):
//
//	S = normalize(q)·normalize(p)ᵀ / τ   [B, B]
//	loss = CE(S, arange(B)) = -1/B Σ_i log softmax(S_i)_i
func PairInBatchSoftmax(q, p *autograd.Var, tau float64) (*autograd.Var, error) {
	const fn = "PairInBatchSoftmax"
	b, err := checkPair(fn, q, p)
	if err != nil {
		return nil, err
	}
	if err := checkTemp(fn, "temperature", tau); err != nil {
		return nil, err
	}
	qn, pn, err := normalize2(q, p)
	if err != nil {
		return nil, err
	}
	s := autograd.MulScalar(autograd.MatmulT(qn, pn, false, true), 1/tau)
	return autograd.CrossEntropy(s, arange(b))
}

// TripletInBatchSoftmax is RAG-Retrieval's triplet_inbatch_softmax_loss for
// queries q [B, D], positives p [B, D] and hard negatives n [B·k, D] (k ≥ 1;
// rows i·k…i·k+k-1 are query i's). Every query is scored against its own
// positive and against ALL hard negatives of the batch; the other queries'
// positives are not used:
//
//	logits_i = [q̂_i·p̂_i, q̂_i·n̂_0, …, q̂_i·n̂_{B·k-1}] / τ   [B, 1+B·k]
//	loss = CE(logits, 0)
//
// with x̂ = normalize(x).
func TripletInBatchSoftmax(q, p, n *autograd.Var, tau float64) (*autograd.Var, error) {
	const fn = "TripletInBatchSoftmax"
	b, err := checkPair(fn, q, p)
	if err != nil {
		return nil, err
	}
	if err := checkNegatives(fn, n, b, q.Dim(1)); err != nil {
		return nil, err
	}
	if err := checkTemp(fn, "temperature", tau); err != nil {
		return nil, err
	}
	qn, pn, err := normalize2(q, p)
	if err != nil {
		return nil, err
	}
	nn, err := normalize(n)
	if err != nil {
		return nil, err
	}
	pos := autograd.Sum(autograd.Mul(qn, pn), -1, true) // [B, 1]
	neg := autograd.MatmulT(qn, nn, false, true)        // [B, B·k]
	logits := autograd.MulScalar(autograd.Concat(1, pos, neg), 1/tau)
	return autograd.CrossEntropy(logits, tensor.New(tensor.Int32, b))
}

// MNRL is the multiple-negatives ranking loss (sentence-transformers
// MultipleNegativesRankingLoss, FlagEmbedding's in-batch loss with hard
// negatives; not in RAG-Retrieval): each query is scored against every
// positive of the batch and every hard negative,
//
//	logits = normalize(q)·normalize([p; n])ᵀ / τ   [B, B+B·k]
//	loss = CE(logits, arange(B))
//
// for q [B, D], p [B, D], n [B·k, D] (k ≥ 1).
func MNRL(q, p, n *autograd.Var, tau float64) (*autograd.Var, error) {
	const fn = "MNRL"
	b, err := checkPair(fn, q, p)
	if err != nil {
		return nil, err
	}
	if err := checkNegatives(fn, n, b, q.Dim(1)); err != nil {
		return nil, err
	}
	if err := checkTemp(fn, "temperature", tau); err != nil {
		return nil, err
	}
	qn, err := normalize(q)
	if err != nil {
		return nil, err
	}
	docs, err := normalize(autograd.Concat(0, p, n))
	if err != nil {
		return nil, err
	}
	logits := autograd.MulScalar(autograd.MatmulT(qn, docs, false, true), 1/tau)
	return autograd.CrossEntropy(logits, arange(b))
}

// PairKL is RAG-Retrieval's pair_kl_loss: the similarity of each (query,
// positive) pair is matched to a teacher score with a softmax across the
// batch rows,
//
//	s_i = normalize(q_i)·normalize(p_i)          [B]
//	t = softmax(teacher/τ), log r = log_softmax(s/τ)
//	loss = KLDiv_batchmean(log r, t) = Σ_i t_i (log t_i - log r_i) / B
//
// (t_i log t_i = 0 where t_i = 0) for q, p [B, D] and teacher scores [B]
// (a constant).
func PairKL(q, p *autograd.Var, teacher *tensor.Tensor, tau float64) (*autograd.Var, error) {
	const fn = "PairKL"
	b, err := checkPair(fn, q, p)
	if err != nil {
		return nil, err
	}
	if err := checkScores(fn, "teacher scores", teacher, b); err != nil {
		return nil, err
	}
	if err := checkTemp(fn, "temperature", tau); err != nil {
		return nil, err
	}
	qn, pn, err := normalize2(q, p)
	if err != nil {
		return nil, err
	}
	s := autograd.Sum(autograd.Mul(qn, pn), -1, false) // [B]
	logr := autograd.LogSoftmax(autograd.MulScalar(s, 1/tau), 0)
	return klTerm(fn, logr, teacher.Float64s(), b, b, tau)
}

// klTerm returns Σ t (log t - logr) / div for t = softmax(teacher/T) taken
// over consecutive groups of g (the KL divergence, batchmean).
func klTerm(fn string, logr *autograd.Var, teacher []float64, g, div int, temp float64) (*autograd.Var, error) {
	t := groupSoftmax(teacher, g, temp)
	var ent float64
	for _, v := range t {
		if v > 0 {
			ent += v * math.Log(v)
		}
	}
	ce, err := softCETerm(logr, t, div)
	if err != nil {
		return nil, fmt.Errorf("losses.%s: %w", fn, err)
	}
	c, err := constLike(logr.Value, []float64{ent / float64(div)})
	if err != nil {
		return nil, err
	}
	return autograd.Add(autograd.Const(c), ce), nil
}

// softCETerm returns -Σ t⊙logr / div with t a constant of logr's shape.
func softCETerm(logr *autograd.Var, t []float64, div int) (*autograd.Var, error) {
	tt, err := constLike(logr.Value, t, logr.Shape()...)
	if err != nil {
		return nil, err
	}
	return autograd.MulScalar(autograd.SumAll(autograd.Mul(logr, autograd.Const(tt))), -1/float64(div)), nil
}

// MRL is the Matryoshka wrapper (RAG-Retrieval use_mrl): for each d in dims
// it truncates every input to its first d features (x[..., :d]), evaluates
// loss on them (the losses normalize again inside) and returns the mean over
// dims with equal weights,
//
//	loss = 1/|dims| Σ_d loss(x₁[..., :d], x₂[..., :d], …)
//
// Empty dims evaluates loss once on the full inputs. Every d must lie in
// [1, width of every input].
func MRL(dims []int, xs []*autograd.Var, loss func(xs []*autograd.Var) (*autograd.Var, error)) (*autograd.Var, error) {
	if len(dims) == 0 {
		return loss(xs)
	}
	var total *autograd.Var
	for _, d := range dims {
		cut := make([]*autograd.Var, len(xs))
		for i, x := range xs {
			if x == nil || x.NDim() == 0 {
				return nil, fmt.Errorf("losses.MRL: input %d is missing or has no feature axis", i)
			}
			w := x.Dim(-1)
			if d <= 0 || d > w {
				return nil, fmt.Errorf("losses.MRL: MRL dim %d outside [1, %d] (input %d has shape %v)", d, w, i, x.Shape())
			}
			cut[i] = x
			if d < w {
				cut[i] = autograd.Narrow(x, -1, 0, d)
			}
		}
		l, err := loss(cut)
		if err != nil {
			return nil, fmt.Errorf("losses.MRL: dim %d: %w", d, err)
		}
		if total == nil {
			total = l
		} else {
			total = autograd.Add(total, l)
		}
	}
	return autograd.MulScalar(total, 1/float64(len(dims))), nil
}

// normalize2 normalizes two inputs.
func normalize2(a, b *autograd.Var) (*autograd.Var, *autograd.Var, error) {
	an, err := normalize(a)
	if err != nil {
		return nil, nil, err
	}
	bn, err := normalize(b)
	if err != nil {
		return nil, nil, err
	}
	return an, bn, nil
}

// embeddingDefaults are the defaults of the embedding losses.
var embeddingDefaults = Params{Temperature: DefaultTemperature}

// withMRL applies the MRL wrapper when p.MRLDims is set.
func withMRL(p Params, xs []*autograd.Var, loss func(xs []*autograd.Var) (*autograd.Var, error)) (*autograd.Var, error) {
	for i, x := range xs {
		if x == nil {
			return nil, fmt.Errorf("input %d is missing", i)
		}
	}
	return MRL(p.MRLDims, xs, loss)
}

var pairInBatchSoftmaxSpec = Spec{
	Name:     "pair_inbatch_softmax",
	Aliases:  []string{"pair_inbatch_softmax_loss", "infonce_pair"},
	Kind:     KindEmbedding,
	Doc:      "CE(normalize(q)·normalize(p)ᵀ/τ, arange(B)); in-batch negatives are the other queries' positives",
	Inputs:   []string{"Query", "Pos"},
	Params:   []string{"Temperature", "MRLDims"},
	Defaults: embeddingDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return withMRL(p, []*autograd.Var{in.Query, in.Pos}, func(xs []*autograd.Var) (*autograd.Var, error) {
			return PairInBatchSoftmax(xs[0], xs[1], p.Temperature)
		})
	},
}

var tripletInBatchSoftmaxSpec = Spec{
	Name:     "triplet_inbatch_softmax",
	Aliases:  []string{"triplet_inbatch_softmax_loss", "infonce_triplet"},
	Kind:     KindEmbedding,
	Doc:      "CE([q̂_i·p̂_i, q̂_i·n̂_j for all j]/τ, 0); every query's hard negatives, not the other positives",
	Inputs:   []string{"Query", "Pos", "Neg"},
	Params:   []string{"Temperature", "MRLDims"},
	Defaults: embeddingDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return withMRL(p, []*autograd.Var{in.Query, in.Pos, in.Neg}, func(xs []*autograd.Var) (*autograd.Var, error) {
			return TripletInBatchSoftmax(xs[0], xs[1], xs[2], p.Temperature)
		})
	},
}

var mnrlSpec = Spec{
	Name:     "mnrl",
	Aliases:  []string{"infonce_mnrl", "multiple_negatives_ranking"},
	Kind:     KindEmbedding,
	Doc:      "CE(q̂·[p̂; n̂]ᵀ/τ, arange(B)); in-batch positives and all hard negatives",
	Inputs:   []string{"Query", "Pos", "Neg"},
	Params:   []string{"Temperature", "MRLDims"},
	Defaults: embeddingDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return withMRL(p, []*autograd.Var{in.Query, in.Pos, in.Neg}, func(xs []*autograd.Var) (*autograd.Var, error) {
			return MNRL(xs[0], xs[1], xs[2], p.Temperature)
		})
	},
}

var pairKLSpec = Spec{
	Name:     "pair_kl",
	Aliases:  []string{"pair_kl_loss"},
	Kind:     KindEmbedding,
	Doc:      "KLDiv_batchmean(log_softmax(q̂_i·p̂_i/τ), softmax(teacher/τ)) across the batch",
	Inputs:   []string{"Query", "Pos", "TeacherScores"},
	Params:   []string{"Temperature", "MRLDims"},
	Defaults: embeddingDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return withMRL(p, []*autograd.Var{in.Query, in.Pos}, func(xs []*autograd.Var) (*autograd.Var, error) {
			return PairKL(xs[0], xs[1], in.TeacherScores, p.Temperature)
		})
	},
}
