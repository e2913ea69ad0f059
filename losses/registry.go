package losses

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Kind is the training mode a loss belongs to.
type Kind string

// The loss kinds.
const (
	// KindEmbedding: dense embedding training (queries, positives, hard
	// negatives, teacher scores).
	KindEmbedding Kind = "embedding"
	// KindColBERT: late-interaction token vectors with masks.
	KindColBERT Kind = "colbert"
	// KindReranker: cross-encoder / LLM reranker scores with labels.
	KindReranker Kind = "reranker"
	// KindDistill: distillation from teacher scores or teacher embeddings.
	KindDistill Kind = "distill"
)

// Inputs carries a batch for any loss; each Spec lists the fields it reads
// (Spec.Inputs) and ignores the others. Vars are model outputs (gradients
// flow to them); tensors are constants.
type Inputs struct {
	// Query is the query embeddings [B, D] (embedding losses), the query
	// token vectors [B, Lq, D] (ColBERT), or the student embeddings [B, D]
	// (Jasper/Stella distillation).
	Query *autograd.Var
	// Pos is the positive of each query: [B, D], or [B, Lp, D] (ColBERT).
	Pos *autograd.Var
	// Neg is the hard negatives, k per query, query-major: [B·k, D], or
	// [B·k, Ln, D] (ColBERT).
	Neg *autograd.Var
	// QueryMask, PosMask and NegMask are the ColBERT token masks [rows, L]
	// (nonzero = real token).
	QueryMask, PosMask, NegMask *tensor.Tensor
	// Logits is the reranker's (or the distilled student's) scores, [N] or,
	// for the group losses, [B·G] / [B, G] in consecutive groups.
	Logits *autograd.Var
	// Labels is one label per logit (soft labels in [0, 1] for the
	// pointwise losses, graded labels for the group losses).
	Labels *tensor.Tensor
	// TeacherScores is one teacher score per query (pair_kl, [B]) or per
	// logit (distill_*, [B·G]).
	TeacherScores *tensor.Tensor
	// TeacherEmb is the teacher embeddings [B, Dt] (Jasper/Stella).
	TeacherEmb *tensor.Tensor
	// GroupSize is G, the documents per query of the group losses (0: take
	// it from 2-D Logits).
	GroupSize int
}

// Params are the hyper-parameters; each Spec lists the ones it reads
// (Spec.Params) and holds its defaults (Spec.Defaults).
type Params struct {
	// Temperature is τ of the embedding and ColBERT softmax losses (0.02).
	Temperature float64
	// MRLDims: for the embedding losses, a non-empty list turns on the MRL
	// wrapper (RAG-Retrieval use_mrl + mrl_dims); for Jasper/Stella, the
	// dims of the similarity and ranking terms (empty: full width).
	MRLDims []int
	// DistillT is the temperature T of distill_kl and distill_soft_ce (1).
	DistillT float64
	// Margin is the Jasper/Stella relative ranking margin (0.015).
	Margin float64
	// CosineWeight, SimilarityWeight and RankingWeight weigh the
	// Jasper/Stella terms of jasper_distill (10, 200, 20).
	CosineWeight, SimilarityWeight, RankingWeight float64
}

// Spec describes a registered loss.
type Spec struct {
	// Name is the registry name (RAG-Retrieval's config value or function
	// name where it has one).
	Name string
	// Aliases are other names Lookup accepts (older RAG-Retrieval names,
	// fixture names).
	Aliases []string
	// Kind is the training mode.
	Kind Kind
	// Doc is the formula in one line.
	Doc string
	// Inputs names the Inputs fields the loss reads.
	Inputs []string
	// Params names the Params fields the loss reads.
	Params []string
	// Defaults holds the default hyper-parameters.
	Defaults Params

	fn func(in Inputs, p Params) (*autograd.Var, error)
}

// Compute evaluates the loss on in with hyper-parameters p (nil: Defaults).
// Start from a copy of s.Defaults to change some of them.
func (s Spec) Compute(in Inputs, p *Params) (*autograd.Var, error) {
	if s.fn == nil {
		return nil, fmt.Errorf("losses: spec %q has no loss function", s.Name)
	}
	hp := s.Defaults
	if p != nil {
		hp = *p
	}
	for _, v := range []float64{hp.Margin, hp.CosineWeight, hp.SimilarityWeight, hp.RankingWeight} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("losses: %s: hyper-parameters must be finite (got %+v)", s.Name, hp)
		}
	}
	l, err := s.fn(in, hp)
	if err != nil {
		return nil, fmt.Errorf("losses: %s: %w", s.Name, err)
	}
	return l, nil
}

// registry lists every loss: a new loss is its file plus one line here.
var registry = []Spec{
	pairInBatchSoftmaxSpec,
	tripletInBatchSoftmaxSpec,
	mnrlSpec,
	pairKLSpec,
	colbertInBatchSpec,
	colbertInBatchMaskedMaxSpec,
	pointwiseBCESpec,
	pointwiseMSESpec,
	pairwiseRankNetSpec,
	listwiseCESpec,
	distillMSESpec,
	distillKLSpec,
	distillSoftCESpec,
	jasperCosineSpec,
	jasperSimilaritySpec,
	jasperRelativeRankingSpec,
	jasperDistillSpec,
}

// Lookup returns the loss registered under name or one of its aliases
// (case-insensitive); an unknown name returns an error listing the valid
// ones.
func Lookup(name string) (Spec, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	for _, s := range registry {
		if s.Name == key {
			return cloneSpec(s), nil
		}
		for _, a := range s.Aliases {
			if a == key {
				return cloneSpec(s), nil
			}
		}
	}
	return Spec{}, fmt.Errorf("losses: unknown loss %q; valid names: %s", name, strings.Join(Names(), ", "))
}

// Names lists the registry names (not the aliases), sorted.
func Names() []string {
	out := make([]string, len(registry))
	for i, s := range registry {
		out[i] = s.Name
	}
	sort.Strings(out)
	return out
}

// Specs returns every registered loss, in registry order.
func Specs() []Spec {
	out := make([]Spec, len(registry))
	for i, s := range registry {
		out[i] = cloneSpec(s)
	}
	return out
}

// cloneSpec copies the slices of s so callers cannot change the registry.
func cloneSpec(s Spec) Spec {
	s.Aliases = append([]string(nil), s.Aliases...)
	s.Inputs = append([]string(nil), s.Inputs...)
	s.Params = append([]string(nil), s.Params...)
	s.Defaults.MRLDims = append([]int(nil), s.Defaults.MRLDims...)
	return s
}
