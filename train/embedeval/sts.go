package embedeval

// sts.go: Spearman / Pearson correlation of cosine(emb1, emb2) with gold
// STS scores.

import (
	"fmt"
	"math"
	"slices"
)

// Ranks returns the 1-based ranks of x, ascending, tied values sharing the
// average of their ranks (scipy.stats.rankdata's "average" method).
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(x))
	for s := 0; s < len(idx); {
		e := s + 1
		for e < len(idx) && x[idx[e]] == x[idx[s]] {
			e++
		}
		avg := float64(s+e+1) / 2 // mean of the 1-based ranks s+1..e
		for _, i := range idx[s:e] {
			r[i] = avg
		}
		s = e
	}
	return r
}

// Pearson returns the Pearson correlation of x and y (NaN when either is
// constant). It panics if their lengths differ.
func Pearson(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("embedeval.Pearson: %d and %d values", len(x), len(y)))
	}
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Spearman returns Spearman's rank correlation of x and y: the Pearson
// correlation of their average ranks (NaN values are not allowed; NaN
// when either is constant). It panics if their lengths differ.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("embedeval.Spearman: %d and %d values", len(x), len(y)))
	}
	return Pearson(Ranks(x), Ranks(y))
}

// STSResult is the STS evaluation at one dimension.
type STSResult struct {
	// Dim is the number of leading features used.
	Dim int
	// Full marks the model's full width.
	Full bool
	// Spearman and Pearson correlate cosine similarity with the gold
	// score.
	Spearman, Pearson float64
}

// STSReport is an STS evaluation.
type STSReport struct {
	// Pairs counts the pairs.
	Pairs int
	// Dims holds one result per dimension, ascending.
	Dims []STSResult
}

// Values returns "sts_spearman" and "sts_pearson" at full width, with
// "/dD" appended at each other dimension D.
func (r *STSReport) Values() map[string]float64 {
	out := map[string]float64{}
	for _, d := range r.Dims {
		suffix := ""
		if !d.Full {
			suffix = fmt.Sprintf("/d%d", d.Dim)
		}
		out["sts_spearman"+suffix] = d.Spearman
		out["sts_pearson"+suffix] = d.Pearson
	}
	return out
}

// Cosines returns the cosine similarity of each pair of sentence
// embeddings over their first d features (0 where either prefix is zero).
func Cosines(e1, e2 []float32, n, width, d int) []float64 {
	out := make([]float64, n)
	for i := range out {
		a, b := e1[i*width:i*width+d], e2[i*width:i*width+d]
		var ab, aa, bb float64
		for k := range a {
			x, y := float64(a[k]), float64(b[k])
			ab += x * y
			aa += x * x
			bb += y * y
		}
		if aa > 0 && bb > 0 {
			out[i] = ab / math.Sqrt(aa*bb)
		}
	}
	return out
}

// EvaluateSTS encodes both sentences of every pair with enc and correlates
// their cosine similarity with the gold scores, at full width and at each
// of opts.Dims (opts.Batch is used; the other options do not apply).
func EvaluateSTS(pairs []STSPair, enc EncodeFunc, opts Options) (*STSReport, error) {
	if len(pairs) < 2 {
		return nil, fmt.Errorf("embedeval: %d STS pairs; a correlation needs at least 2", len(pairs))
	}
	s1 := make([]string, len(pairs))
	s2 := make([]string, len(pairs))
	gold := make([]float64, len(pairs))
	for i, p := range pairs {
		s1[i], s2[i], gold[i] = p.S1, p.S2, p.Score
	}
	e1, width, err := embedAll(s1, enc, opts.batch(), 0)
	if err != nil {
		return nil, err
	}
	e2, _, err := embedAll(s2, enc, opts.batch(), width)
	if err != nil {
		return nil, err
	}
	dims, err := dimsFor(opts.Dims, width)
	if err != nil {
		return nil, err
	}
	rep := &STSReport{Pairs: len(pairs)}
	for _, d := range dims {
		cos := Cosines(e1, e2, len(pairs), width, d)
		rep.Dims = append(rep.Dims, STSResult{Dim: d, Full: d == width, Spearman: Spearman(cos, gold), Pearson: Pearson(cos, gold)})
	}
	return rep, nil
}
