package metrics

// bm25.go: Okapi BM25 with Lucene's idf and a small Unicode analyzer (see
// the package documentation), the lexical baseline of the demo.

import (
	"fmt"
	"math"
	"sort"
	"unicode"
)

// isCJK reports whether r is written without spaces between words (Han,
// Hiragana, Katakana): such characters are indexed as unigrams and
// bigrams.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

func isWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// fold maps full-width ASCII forms (U+FF01..U+FF5E, common in Chinese
// text) to ASCII and lowercases.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

// Analyze splits text into BM25 terms: lowercased runs of letters, digits
// and combining marks; each run of CJK characters gives its characters and
// the bigrams of adjacent ones ("中国人" → 中, 中国, 国, 国人, 人).
// Everything else separates terms.
func Analyze(text string) []string {
	var out []string
	var word []rune
	var cjk []rune
	flushWord := func() {
		if len(word) > 0 {
			out = append(out, string(word))
			word = word[:0]
		}
	}
	flushCJK := func() {
		for i, r := range cjk {
			out = append(out, string(r))
			if i+1 < len(cjk) {
				out = append(out, string(cjk[i:i+2]))
			}
		}
		cjk = cjk[:0]
	}
	for _, r := range text {
		r = fold(r)
		switch {
		case isCJK(r):
			flushWord()
			cjk = append(cjk, r)
		case isWord(r):
			flushCJK()
			word = append(word, r)
		default:
			flushWord()
			flushCJK()
		}
	}
	flushWord()
	flushCJK()
	return out
}

// BM25Params are the BM25 constants. The zero value means DefaultBM25
// (k1 = 0 with b = 0 would make BM25 a sum of idfs, which is not wanted).
type BM25Params struct {
	// K1 saturates term frequency (>= 0).
	K1 float64
	// B weighs document length normalization (0..1).
	B float64
}

// DefaultBM25 is k1 = 1.2, b = 0.75 (Lucene's and Elasticsearch's
// defaults).
var DefaultBM25 = BM25Params{K1: 1.2, B: 0.75}

// BM25 is an index of tokenized documents.
type BM25 struct {
	p     BM25Params
	tf    []map[string]int
	dl    []int
	df    map[string]int
	avgdl float64
}

// NewBM25 indexes docs (token lists, e.g. from Analyze). It panics on
// k1 < 0 or b outside [0, 1]; zero params mean DefaultBM25.
func NewBM25(docs [][]string, p BM25Params) *BM25 {
	if p == (BM25Params{}) {
		p = DefaultBM25
	}
	if p.K1 < 0 || p.B < 0 || p.B > 1 || math.IsNaN(p.K1) || math.IsNaN(p.B) {
		panic(fmt.Sprintf("metrics.NewBM25: k1 %g, b %g", p.K1, p.B))
	}
	m := &BM25{p: p, tf: make([]map[string]int, len(docs)), dl: make([]int, len(docs)), df: map[string]int{}}
	total := 0
	for i, d := range docs {
		tf := make(map[string]int, len(d))
		for _, t := range d {
			tf[t]++
		}
		for t := range tf {
			m.df[t]++
		}
		m.tf[i] = tf
		m.dl[i] = len(d)
		total += len(d)
	}
	if len(docs) > 0 {
		m.avgdl = float64(total) / float64(len(docs))
	}
	return m
}

// Len returns the number of documents.
func (m *BM25) Len() int { return len(m.tf) }

// IDF returns Lucene's idf of a term: log(1 + (N - n + 0.5)/(n + 0.5)).
func (m *BM25) IDF(term string) float64 {
	n := float64(m.df[term])
	return math.Log(1 + (float64(len(m.tf))-n+0.5)/(n+0.5))
}

// Score returns the BM25 score of document i for the query tokens.
func (m *BM25) Score(query []string, i int) float64 {
	tf := m.tf[i]
	norm := 1.0
	if m.avgdl > 0 {
		norm = 1 - m.p.B + m.p.B*float64(m.dl[i])/m.avgdl
	}
	s := 0.0
	for _, t := range query {
		f := float64(tf[t])
		if f == 0 {
			continue
		}
		s += m.IDF(t) * f * (m.p.K1 + 1) / (f + m.p.K1*norm)
	}
	return s
}

// Scores returns the scores of every document for the query tokens.
func (m *BM25) Scores(query []string) []float64 {
	out := make([]float64, len(m.tf))
	for i := range out {
		out[i] = m.Score(query, i)
	}
	return out
}

// TopK returns the indices of the k best documents for the query tokens
// (ties by index).
func (m *BM25) TopK(query []string, k int) []int {
	order := Rank(m.Scores(query))
	return order[:min(max(k, 0), len(order))]
}

// BM25Scores scores each query's candidates: candidates[q] are the texts of
// query q. All distinct candidate texts form the corpus (document
// frequencies and average length), and texts and queries go through
// Analyze. The result has the shape of candidates.
func BM25Scores(queries []string, candidates [][]string, p BM25Params) [][]float64 {
	if len(queries) != len(candidates) {
		panic(fmt.Sprintf("metrics.BM25Scores: %d queries but %d candidate lists", len(queries), len(candidates)))
	}
	index := map[string]int{}
	var docs [][]string
	for _, cs := range candidates {
		for _, c := range cs {
			if _, ok := index[c]; !ok {
				index[c] = len(docs)
				docs = append(docs, Analyze(c))
			}
		}
	}
	m := NewBM25(docs, p)
	out := make([][]float64, len(queries))
	for qi, q := range queries {
		terms := Analyze(q)
		out[qi] = make([]float64, len(candidates[qi]))
		for k, c := range candidates[qi] {
			out[qi][k] = m.Score(terms, index[c])
		}
	}
	return out
}

// Terms returns the distinct terms of the index, sorted (for inspection
// and tests).
func (m *BM25) Terms() []string {
	ts := make([]string, 0, len(m.df))
	for t := range m.df {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}
