package losses

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// ColBERTInBatch is the ColBERT contrastive loss of RAG-Retrieval's
// ColBERT.forward (rag_retrieval/train/colbert/model.py) for token vectors
// q [B, Lq, D], p [B, Lp, D], n [B·k, Ln, D] (k ≥ 1) — the colbert_linear
// outputs of the positions after [CLS] — and their 0/1 masks qmask [B, Lq],
// pmask [B, Lp], nmask [B·k, Ln] (0 = padding; RAG-Retrieval also zeroes
// [CLS] ids):
//
//	E = normalize(v ⊙ mask)       (pads become zero vectors)
//	score(q, d) = Σ_a max_b E_q[a]·E_d[b] / Σ_a qmask[a]
//	logits_i = [score(q_i, p_i), score(q_i, n_0), …, score(q_i, n_{B·k-1})] / τ
//	loss = CE(logits, 0)
//
// Every query is scored against its positive and every negative of the
// batch. With maskedMax false the zero pad vectors of a document take part
// in the max (a pad scores 0, RAG-Retrieval's convention); with maskedMax
// true padded document tokens are excluded from the max (-inf), as in
// ColBERT's own MaxSim. A query without tokens, or (maskedMax) a document
// without tokens, is an error.
func ColBERTInBatch(q *autograd.Var, qmask *tensor.Tensor, p *autograd.Var, pmask *tensor.Tensor, n *autograd.Var, nmask *tensor.Tensor, tau float64, maskedMax bool) (*autograd.Var, error) {
	const fn = "ColBERTInBatch"
	b, d, err := checkTokens(fn, "query", q, qmask, 0, 0)
	if err != nil {
		return nil, err
	}
	if _, _, err := checkTokens(fn, "positive", p, pmask, b, d); err != nil {
		return nil, err
	}
	if n == nil {
		return nil, fmt.Errorf("losses.%s: negatives are missing (the loss needs at least one negative per query)", fn)
	}
	bn, _, err := checkTokens(fn, "negatives", n, nmask, -1, d)
	if err != nil {
		return nil, err
	}
	if bn%b != 0 {
		return nil, fmt.Errorf("losses.%s: %d negatives is not a multiple of the %d queries", fn, bn, b)
	}
	if err := checkTemp(fn, "temperature", tau); err != nil {
		return nil, err
	}
	lq := q.Dim(1)
	qm := mask01(qmask)
	cnt := make([]float64, b)
	for i := range cnt {
		for t := 0; t < lq; t++ {
			cnt[i] += qm[i*lq+t]
		}
		if cnt[i] == 0 {
			return nil, fmt.Errorf("losses.%s: query %d has no tokens (its mask is all zero)", fn, i)
		}
	}
	eq, err := maskedNormalize(q, qm)
	if err != nil {
		return nil, err
	}
	pm, nm := mask01(pmask), mask01(nmask)
	ep, err := maskedNormalize(p, pm)
	if err != nil {
		return nil, err
	}
	en, err := maskedNormalize(n, nm)
	if err != nil {
		return nil, err
	}
	// Positive scores [B]: sim [B, Lq, Lp].
	sp := autograd.MatmulT(eq, ep, false, true)
	if maskedMax {
		if sp, err = excludePads(fn, "positive", sp, pm, b, p.Dim(1), []int{b, 1, p.Dim(1)}); err != nil {
			return nil, err
		}
	}
	pos := autograd.Sum(autograd.Max(sp, -1, false), -1, true) // [B, 1]
	// Negative scores [B, B·k]: sim [B, B·k, Lq, Ln].
	sn := autograd.MatmulT(autograd.Unsqueeze(eq, 1), autograd.Unsqueeze(en, 0), false, true)
	if maskedMax {
		if sn, err = excludePads(fn, "negative", sn, nm, bn, n.Dim(1), []int{1, bn, 1, n.Dim(1)}); err != nil {
			return nil, err
		}
	}
	neg := autograd.Sum(autograd.Max(sn, -1, false), -1, false) // [B, B·k]
	c, err := constLike(q.Value, cnt, b, 1)
	if err != nil {
		return nil, err
	}
	logits := autograd.Div(autograd.Concat(1, pos, neg), autograd.Const(c))
	logits = autograd.MulScalar(logits, 1/tau)
	return autograd.CrossEntropy(logits, tensor.New(tensor.Int32, b))
}

// checkTokens checks token vectors v [rows, L, D] and mask [rows, L]; rows
// must equal wantRows and D wantDim unless those are <= 0 (any positive
// size). It returns rows and D.
func checkTokens(fn, what string, v *autograd.Var, mask *tensor.Tensor, wantRows, wantDim int) (int, int, error) {
	if err := checkFloat(fn, what, v); err != nil {
		return 0, 0, err
	}
	if v.NDim() != 3 {
		return 0, 0, fmt.Errorf("losses.%s: %s vectors have shape %v, want [batch, tokens, dim]", fn, what, v.Shape())
	}
	rows, l, d := v.Dim(0), v.Dim(1), v.Dim(2)
	if rows == 0 || l == 0 || d == 0 {
		return 0, 0, fmt.Errorf("losses.%s: %s vectors are empty (shape %v)", fn, what, v.Shape())
	}
	if wantRows > 0 && rows != wantRows {
		return 0, 0, fmt.Errorf("losses.%s: %d %s rows for %d queries", fn, rows, what, wantRows)
	}
	if wantDim > 0 && d != wantDim {
		return 0, 0, fmt.Errorf("losses.%s: %s width %d but query width %d", fn, what, d, wantDim)
	}
	if mask == nil {
		return 0, 0, fmt.Errorf("losses.%s: %s mask is missing", fn, what)
	}
	if mask.NDim() != 2 || mask.Dim(0) != rows || mask.Dim(1) != l {
		return 0, 0, fmt.Errorf("losses.%s: %s mask has shape %v for vectors %v (want [%d, %d])", fn, what, mask.Shape(), v.Shape(), rows, l)
	}
	return rows, d, nil
}

// mask01 returns a mask's values as 0/1.
func mask01(mask *tensor.Tensor) []float64 {
	m := mask.Float64s()
	for i, v := range m {
		if v != 0 {
			m[i] = 1
		}
	}
	return m
}

// maskedNormalize returns normalize(v ⊙ m) for v [rows, L, D], m [rows·L].
func maskedNormalize(v *autograd.Var, m []float64) (*autograd.Var, error) {
	mt, err := constLike(v.Value, m, v.Dim(0), v.Dim(1), 1)
	if err != nil {
		return nil, err
	}
	return normalize(autograd.Mul(v, autograd.Const(mt)))
}

// excludePads fills sim with -inf where the document token is padding; m
// holds rows documents of l tokens, shape is the mask's broadcast shape.
func excludePads(fn, what string, sim *autograd.Var, m []float64, rows, l int, shape []int) (*autograd.Var, error) {
	pad := make([]float64, len(m))
	for r := 0; r < rows; r++ {
		tokens := 0
		for t := 0; t < l; t++ {
			if m[r*l+t] == 0 {
				pad[r*l+t] = 1
			} else {
				tokens++
			}
		}
		if tokens == 0 {
			return nil, fmt.Errorf("losses.%s: %s document %d has no tokens (its mask is all zero), so its masked max is undefined", fn, what, r)
		}
	}
	pt, err := constLike(sim.Value, pad, shape...)
	if err != nil {
		return nil, err
	}
	return autograd.MaskedFill(sim, pt, math.Inf(-1)), nil
}

var colbertInBatchSpec = Spec{
	Name:     "colbert_inbatch",
	Kind:     KindColBERT,
	Doc:      "CE([score(q_i,p_i), score(q_i,n_j) for all j]/τ, 0); MaxSim over zeroed pads (RAG-Retrieval)",
	Inputs:   []string{"Query", "QueryMask", "Pos", "PosMask", "Neg", "NegMask"},
	Params:   []string{"Temperature"},
	Defaults: Params{Temperature: DefaultTemperature},
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return ColBERTInBatch(in.Query, in.QueryMask, in.Pos, in.PosMask, in.Neg, in.NegMask, p.Temperature, false)
	},
}

var colbertInBatchMaskedMaxSpec = Spec{
	Name:     "colbert_inbatch_maskedmax",
	Kind:     KindColBERT,
	Doc:      "colbert_inbatch with padded document tokens excluded from the max",
	Inputs:   []string{"Query", "QueryMask", "Pos", "PosMask", "Neg", "NegMask"},
	Params:   []string{"Temperature"},
	Defaults: Params{Temperature: DefaultTemperature},
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return ColBERTInBatch(in.Query, in.QueryMask, in.Pos, in.PosMask, in.Neg, in.NegMask, p.Temperature, true)
	},
}
