package rerank

// pair.go: the machinery shared by every family that scores one row per
// (query, document window): tokenizing, the template, windows, batches by
// length, max over windows, sigmoid.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ragr-dev/ragr/models/tokenizer"
)

// rowModel scores one padded batch of rows (one float per row).
type rowModel interface {
	scoreBatch(b batch) ([]float32, error)
}

// pairScorer implements Rank, ComputeScore and ScoreTokens for a rowModel;
// the family types embed it.
type pairScorer struct {
	family         string
	tok            *tokenizer.Tokenizer // nil: token ids only
	tmpl           *Template
	qfmt, dfmt     string
	maxLen, posMax int
	vocab          int
	model          rowModel
}

// Family implements Reranker.
func (p *pairScorer) Family() string { return p.family }

// Tokenizer returns the model's tokenizer (nil when the directory has
// none).
func (p *pairScorer) Tokenizer() *tokenizer.Tokenizer { return p.tok }

func (p *pairScorer) resolve(o Options) (Options, error) {
	return resolveOptions(o, p.maxLen, p.posMax, p.tmpl.Fixed())
}

func resolveOptions(o Options, def, posMax, fixed int) (Options, error) {
	if o.MaxLength < 0 || o.BatchSize < 0 {
		return o, inputErr("max_length %d and batch_size %d must not be negative", o.MaxLength, o.BatchSize)
	}
	if o.MaxLength == 0 {
		o.MaxLength = def
	}
	if posMax > 0 && o.MaxLength > posMax {
		o.MaxLength = posMax
	}
	if o.MaxLength < fixed+2 {
		return o, inputErr("max_length %d leaves no room for text beside %d special tokens", o.MaxLength, fixed)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Overlap == 0 {
		o.Overlap = DefaultOverlap
	}
	if o.Strategy != MaxScoreSlice && o.Strategy != Truncate {
		return o, inputErr("unknown strategy %d", int(o.Strategy))
	}
	return o, nil
}

// ScoreTokens implements TokenScorer.
func (p *pairScorer) ScoreTokens(ctx context.Context, pairs []TokenPair, o Options) ([]float32, error) {
	o, err := p.resolve(o)
	if err != nil {
		return nil, err
	}
	for i, tp := range pairs {
		for _, ids := range [][]int32{tp.Query, tp.Doc} {
			for _, id := range ids {
				if id < 0 || int(id) >= p.vocab {
					return nil, inputErr("pair %d: token id %d outside the vocabulary [0, %d)", i, id, p.vocab)
				}
			}
		}
	}
	var rows, types [][]int32
	var owner []int
	for i, tp := range pairs {
		r, t := p.tmpl.pairRows(tp.Query, tp.Doc, o.MaxLength, o.Strategy, o.Overlap)
		rows, types = append(rows, r...), append(types, t...)
		for range r {
			owner = append(owner, i)
		}
	}
	s, err := scoreRowsSorted(ctx, rows, types, p.tmpl.PadID, o.BatchSize, p.model.scoreBatch)
	if err != nil {
		return nil, err
	}
	return maxByOwner(s, owner, len(pairs), o.Normalize), nil
}

func maxByOwner(s []float32, owner []int, n int, norm bool) []float32 {
	out := make([]float32, n)
	seen := make([]bool, n)
	for r, i := range owner {
		if !seen[i] || s[r] > out[i] {
			out[i], seen[i] = s[r], true
		}
	}
	if norm {
		for i := range out {
			out[i] = sigmoid(out[i])
		}
	}
	return out
}

// tokenize turns texts into content ids with a format applied.
func (p *pairScorer) tokenize(format string, texts []string, what string) ([][]int32, error) {
	if p.tok == nil {
		return nil, errors.New("rerank: the model directory has no tokenizer (tokenizer.json or vocab.txt): only token ids can be scored")
	}
	out := make([][]int32, len(texts))
	for i, t := range texts {
		t = strings.TrimSpace(t)
		if t == "" {
			if len(texts) == 1 {
				return nil, inputErr("%s is empty", what)
			}
			return nil, inputErr("%s %d is empty", what, i)
		}
		out[i] = p.tok.Encode(applyFormat(format, t), false).IDs
	}
	return out, nil
}

type tokenScoreFunc func(context.Context, []TokenPair, Options) ([]float32, error)

// ComputeScore implements Reranker.
func (p *pairScorer) ComputeScore(ctx context.Context, pairs []Pair, o Options) ([]float32, error) {
	return p.computeWith(ctx, pairs, o, p.ScoreTokens)
}

// Rank implements Reranker.
func (p *pairScorer) Rank(ctx context.Context, query string, docs []string, o Options) (RankedResults, error) {
	return p.rankWith(ctx, query, docs, o, p.ScoreTokens)
}

func (p *pairScorer) computeWith(ctx context.Context, pairs []Pair, o Options, score tokenScoreFunc) ([]float32, error) {
	qs := make([]string, len(pairs))
	ds := make([]string, len(pairs))
	for i, pr := range pairs {
		qs[i], ds[i] = pr.Query, pr.Doc
	}
	qi, err := p.tokenize(p.qfmt, qs, "query of pair")
	if err != nil {
		return nil, err
	}
	di, err := p.tokenize(p.dfmt, ds, "document of pair")
	if err != nil {
		return nil, err
	}
	tp := make([]TokenPair, len(pairs))
	for i := range tp {
		tp[i] = TokenPair{qi[i], di[i]}
	}
	return score(ctx, tp, o)
}

func (p *pairScorer) rankWith(ctx context.Context, query string, docs []string, o Options, score tokenScoreFunc) (RankedResults, error) {
	qi, err := p.tokenize(p.qfmt, []string{query}, "query")
	if err != nil {
		return RankedResults{}, err
	}
	di, err := p.tokenize(p.dfmt, docs, "document")
	if err != nil {
		return RankedResults{}, err
	}
	tp := make([]TokenPair, len(docs))
	for i := range tp {
		tp[i] = TokenPair{qi[0], di[i]}
	}
	s, err := score(ctx, tp, o)
	if err != nil {
		return RankedResults{}, err
	}
	return NewRankedResults(query, docs, s), nil
}

// loadTokenizer loads dir's tokenizer, or nil when there is none.
func loadTokenizer(dir string) (*tokenizer.Tokenizer, error) {
	for _, n := range []string{"tokenizer.json", "tokenizer.json.gz", "vocab.txt"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t, err := tokenizer.Load(dir)
			if err != nil {
				return nil, fmt.Errorf("rerank: %s: %w", dir, err)
			}
			return t, nil
		}
	}
	return nil, nil
}

func defaultMaxLen(o LoadOptions) int {
	if o.MaxLength > 0 {
		return o.MaxLength
	}
	if o.Prompt != nil && o.Prompt.MaxLength > 0 {
		return o.Prompt.MaxLength
	}
	return 512
}
