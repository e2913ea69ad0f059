package rerank

// colbert.go: ColBERT late interaction (bge-m3's colbert_score, which
// RAG-Retrieval's ColBERT.score computes at inference): query and document
// are encoded separately as [CLS] text [SEP], projected by colbert_linear
// and L2-normalised; score = Σ over query tokens after [CLS] of the max dot
// product with any document token after [CLS], divided by the number of
// those query tokens (pads excluded on both sides). MaxScoreSlice scores a
// long document by its best window.

import (
	"context"
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/colbert"
	"github.com/ragr-dev/ragr/nn"
)

// ColBERT is the late-interaction reranker.
type ColBERT struct {
	pairScorer // tokenizer, single-text template, limits; model unused
	m          *colbert.Model
}

func loadColBERT(dir string, _ *models.Config, o LoadOptions) (Reranker, error) {
	m, err := colbert.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rerank: %w", err)
	}
	c := &ColBERT{m: m}
	c.family, c.vocab, c.posMax, c.maxLen = "colbert", m.Encoder.Cfg.VocabSize, bertPosMax(m.Encoder.Cfg), defaultMaxLen(o)
	if c.tok, err = loadTokenizer(dir); err != nil {
		return nil, err
	}
	switch {
	case o.Template != nil:
		c.tmpl = o.Template
	case c.tok == nil:
		return nil, fmt.Errorf("rerank: %s has no tokenizer and no LoadOptions.Template was given", dir)
	default:
		if c.tmpl, err = TextTemplate(c.tok); err != nil {
			return nil, fmt.Errorf("rerank: %s: %w", dir, err)
		}
	}
	return c, nil
}

// vectors returns, per row, the normalised vectors of its real tokens after
// position 0, each [n][D] flattened.
func (c *ColBERT) vectors(ctx context.Context, rows [][]int32, bs int) ([][]float32, int, error) {
	out := make([][]float32, len(rows))
	dim := c.m.Linear.Weight.Value.Dim(0)
	_, err := scoreRowsSorted(ctx, rows, nil, c.tmpl.PadID, bs, func(b batch) ([]float32, error) {
		var err error
		autograd.NoGrad(func() {
			var h *autograd.Var
			h, err = c.m.Project(bert.Inputs{IDs: b.ids, Mask: b.mask}, bert.RunOptions{})
			if err != nil {
				return
			}
			v := nn.L2Normalize(h, c.m.Eps).Value.Contiguous().Float32s()
			L := b.ids.Dim(1)
			for k, r := range b.rows {
				n := len(rows[r])
				out[r] = append([]float32(nil), v[(k*L+1)*dim:(k*L+n)*dim]...)
			}
		})
		return make([]float32, len(b.rows)), err
	})
	return out, dim, err
}

func maxSim(q, d []float32, dim int) float32 {
	nq, nd := len(q)/dim, len(d)/dim
	if nq == 0 || nd == 0 {
		return 0
	}
	var sum float64
	for a := 0; a < nq; a++ {
		qa := q[a*dim : (a+1)*dim]
		best := float32(-1e30)
		for b := 0; b < nd; b++ {
			db := d[b*dim : (b+1)*dim]
			var s float32
			for i, x := range qa {
				s += x * db[i]
			}
			best = max(best, s)
		}
		sum += float64(best)
	}
	return float32(sum / float64(nq))
}

// ScoreTokens implements TokenScorer.
func (c *ColBERT) ScoreTokens(ctx context.Context, pairs []TokenPair, o Options) ([]float32, error) {
	o, err := c.resolve(o)
	if err != nil {
		return nil, err
	}
	for i, tp := range pairs {
		for _, ids := range [][]int32{tp.Query, tp.Doc} {
			for _, id := range ids {
				if id < 0 || int(id) >= c.vocab {
					return nil, inputErr("pair %d: token id %d outside the vocabulary [0, %d)", i, id, c.vocab)
				}
			}
		}
	}
	budget := o.MaxLength - c.tmpl.Fixed()
	// Unique queries (Rank has one).
	qIndex := map[string]int{}
	var qrows [][]int32
	qOf := make([]int, len(pairs))
	var drows [][]int32
	var owner []int
	for i, tp := range pairs {
		key := fmt.Sprint(tp.Query)
		k, ok := qIndex[key]
		if !ok {
			k = len(qrows)
			qIndex[key] = k
			q := tp.Query
			if len(q) > budget {
				q = q[:budget]
			}
			r, _ := c.tmpl.row(q, nil)
			qrows = append(qrows, r)
		}
		qOf[i] = k
		spans := [][2]int{{0, min(len(tp.Doc), budget)}}
		if o.Strategy == MaxScoreSlice {
			spans = Windows(len(tp.Doc), budget, o.Overlap)
		}
		for _, sp := range spans {
			r, _ := c.tmpl.row(tp.Doc[sp[0]:sp[1]], nil)
			drows = append(drows, r)
			owner = append(owner, i)
		}
	}
	qv, dim, err := c.vectors(ctx, qrows, o.BatchSize)
	if err != nil {
		return nil, err
	}
	dv, _, err := c.vectors(ctx, drows, o.BatchSize)
	if err != nil {
		return nil, err
	}
	s := make([]float32, len(drows))
	for r, i := range owner {
		s[r] = maxSim(qv[qOf[i]], dv[r], dim)
	}
	return maxByOwner(s, owner, len(pairs), false), nil
}

// ComputeScore implements Reranker.
func (c *ColBERT) ComputeScore(ctx context.Context, pairs []Pair, o Options) ([]float32, error) {
	return c.pairScorer.computeWith(ctx, pairs, o, c.ScoreTokens)
}

// Rank implements Reranker.
func (c *ColBERT) Rank(ctx context.Context, query string, docs []string, o Options) (RankedResults, error) {
	return c.pairScorer.rankWith(ctx, query, docs, o, c.ScoreTokens)
}
