package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ragr-dev/ragr/internal/testutil"
)

func TestAnalyze(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello, World!", []string{"hello", "world"}},
		{"boundary-layer flow/slipstream 1958.", []string{"boundary", "layer", "flow", "slipstream", "1958"}},
		{"中国人", []string{"中", "中国", "国", "国人", "人"}},
		{"鹦鹉吃小鱼吗?", []string{"鹦", "鹦鹉", "鹉", "鹉吃", "吃", "吃小", "小", "小鱼", "鱼", "鱼吗", "吗"}},
		{"iPhone15手机，ＡＢＣ１２３", []string{"iphone15", "手", "手机", "机", "abc123"}},
		{"Café naïve", []string{"café", "naïve"}},
		{"カタカナとひらがな", []string{"カ", "カタ", "タ", "タカ", "カ", "カナ", "ナ", "ナと", "と", "とひ", "ひ", "ひら", "ら", "らが", "が", "がな", "な"}},
		{"한국어 단어", []string{"한국어", "단어"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Analyze(c.in), c.in)
	}
}

// TestBM25HandWorked checks a tiny corpus against hand-computed scores:
// d0 = the cat sat (3 tokens), d1 = the dog (2), d2 = cat cat dog bird (4);
// N = 3, avgdl = 3, k1 = 1.2, b = 0.75.
//
//	idf(cat) = ln(1 + (3-2+0.5)/(2+0.5)) = ln 1.6 = 0.47000362924573563
//	cat·d0: tf 1, norm 1:          idf·2.2/(1+1.2)        = 0.47000362924573563
//	cat·d2: tf 2, norm 1.25:       idf·2·2.2/(2+1.5)      = 0.5908617053374963
//	dog·d1: tf 1, norm 0.25+0.5:   idf·2.2/(1+1.2·0.75)   = 0.5442147286003255
//	dog·d2: tf 1, norm 1.25:       idf·2.2/(1+1.5)        = 0.4136031937362474
func TestBM25HandWorked(t *testing.T) {
	docs := [][]string{Analyze("the cat sat"), Analyze("The dog"), Analyze("cat cat dog bird")}
	m := NewBM25(docs, DefaultBM25)
	assert.Equal(t, 3, m.Len())
	assert.Equal(t, []string{"bird", "cat", "dog", "sat", "the"}, m.Terms())
	testutil.AssertClose(t, "idf", []float64{m.IDF("cat"), m.IDF("bird"), m.IDF("nope")},
		[]float64{math.Log(1.6), math.Log(1 + 2.5/1.5), math.Log(1 + 3.5/0.5)}, testutil.F64)
	testutil.AssertClose(t, "cat", m.Scores([]string{"cat"}), []float64{0.47000362924573563, 0, 0.5908617053374963}, testutil.F64)
	testutil.AssertClose(t, "dog", m.Scores([]string{"dog"}), []float64{0, 0.5442147286003255, 0.4136031937362474}, testutil.F64)
	// Query terms add up; a repeated term counts twice.
	testutil.AssertClose(t, "cat dog", m.Scores([]string{"cat", "dog"}), []float64{0.47000362924573563, 0.5442147286003255, 0.5908617053374963 + 0.4136031937362474}, testutil.F64)
	testutil.AssertClose(t, "cat cat", []float64{m.Score([]string{"cat", "cat"}, 0)}, []float64{2 * 0.47000362924573563}, testutil.F64)
	assert.Equal(t, []int{2, 1}, m.TopK([]string{"cat", "dog"}, 2))
	assert.Equal(t, []int{2, 0, 1}, m.TopK([]string{"cat"}, 5), "ties by index")

	// b = 0: no length normalization.
	m0 := NewBM25(docs, BM25Params{K1: 1.2, B: 0})
	testutil.AssertClose(t, "b=0", m0.Scores([]string{"dog"}), []float64{0, 0.5442147286003255 * (1 + 1.2*0.75) / 2.2, 0.5442147286003255 * (1 + 1.2*0.75) / 2.2}, testutil.F64)
	assert.Panics(t, func() { NewBM25(docs, BM25Params{K1: 1, B: 2}) })
	// Zero params are the defaults.
	assert.Equal(t, m.Scores([]string{"cat", "dog"}), NewBM25(docs, BM25Params{}).Scores([]string{"cat", "dog"}))
	assert.Equal(t, 0.0, NewBM25(nil, DefaultBM25).IDF("x")-math.Log(1+0.5/0.5))
}

func TestBM25Scores(t *testing.T) {
	queries := []string{"the cat", "DOG"}
	cands := [][]string{{"the cat sat", "The dog"}, {"cat cat dog bird", "The dog", "the cat sat"}}
	got := BM25Scores(queries, cands, DefaultBM25)
	// The corpus is the three distinct texts, as in TestBM25HandWorked.
	m := NewBM25([][]string{Analyze("the cat sat"), Analyze("The dog"), Analyze("cat cat dog bird")}, DefaultBM25)
	q0 := Analyze("the cat")
	testutil.AssertClose(t, "q0", got[0], []float64{m.Score(q0, 0), m.Score(q0, 1)}, testutil.Exact)
	testutil.AssertClose(t, "q1", got[1], []float64{0.4136031937362474, 0.5442147286003255, 0}, testutil.F64)
	r := Evaluate([]Query{{Scores: got[1], Labels: []float64{0, 1, 0}}}, Options{})
	assert.Equal(t, 1.0, r.MAP)
	assert.Panics(t, func() { BM25Scores(queries, cands[:1], DefaultBM25) })
}
