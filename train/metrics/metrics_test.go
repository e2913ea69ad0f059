package metrics

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// threeQueries is the hand-worked example. Reference values (worked by
// hand, checked with a few lines of Python's math module):
//
//	q1 ranks relevant docs at 2 and 4: AP (1/2+2/4)/2 = 0.5, RR 1/2,
//	   nDCG (1/log2 3 + 1/log2 5)/(1 + 1/log2 3) = 0.6509209298071326
//	q2 (graded 2, 0, 1; ranked 0, 1, 2 by label): AP (1/2+2/3)/2,
//	   RR 1/2, nDCG (1/log2 3 + 2/log2 4)/(2 + 1/log2 3) = 0.6199062332840657
//	   (exponential gain: (1/log2 3 + 3/2)/(3 + 1/log2 3) = 0.58688267143572)
//	q3 ranks its only relevant doc first: 1, 1, 1
//	q4 has no relevant doc: skipped
var threeQueries = []Query{
	{Scores: []float64{0.9, 0.8, 0.7, 0.6}, Labels: []float64{0, 1, 0, 1}},
	{Scores: []float64{0.1, 0.5, 0.3}, Labels: []float64{2, 0, 1}},
	{Scores: []float64{3, 1, 2}, Labels: []float64{1, 0, 0}},
	{Scores: []float64{1, 2}, Labels: []float64{0, 0}},
}

func TestEvaluateHandWorked(t *testing.T) {
	r := Evaluate(threeQueries, Options{})
	assert.Equal(t, 3, r.Queries)
	assert.Equal(t, 1, r.NoPositive)
	assert.Equal(t, 10, r.Cutoff)
	testutil.AssertClose(t, "MAP", []float64{r.MAP}, []float64{0.6944444444444443}, testutil.F64)
	testutil.AssertClose(t, "MRR", []float64{r.MRR}, []float64{0.6666666666666666}, testutil.F64)
	testutil.AssertClose(t, "nDCG", []float64{r.NDCG}, []float64{0.756942387697066}, testutil.F64)
	r1, _ := r.RecallAt(1)
	r5, _ := r.RecallAt(5)
	r10, _ := r.RecallAt(10)
	testutil.AssertClose(t, "recall", []float64{r1, r5, r10}, []float64{1.0 / 3, 1, 1}, testutil.F64)
	_, ok := r.RecallAt(3)
	assert.False(t, ok)
	assert.Equal(t, "MAP 0.6944  MRR@10 0.6667  nDCG@10 0.7569  R@1 0.3333  R@5 1.0000  R@10 1.0000  (3 queries; 1 without positives)", r.String())
	v := r.Values()
	assert.Equal(t, r.MAP, v["map"])
	assert.Equal(t, r.MRR, v["mrr@10"])
	assert.Equal(t, r.NDCG, v["ndcg@10"])
	assert.Equal(t, 1.0, v["recall@5"])
	assert.Equal(t, 3.0, v["queries"])

	re := Evaluate(threeQueries, Options{ExpGain: true})
	testutil.AssertClose(t, "nDCG exp", []float64{re.NDCG}, []float64{0.7459345337476174}, testutil.F64)
	assert.Equal(t, r.MAP, re.MAP)
}

func TestEvaluateQuery(t *testing.T) {
	cases := []struct {
		name string
		q    Query
		opts Options
		want QueryMetrics
		ok   bool
	}{
		{"q1", threeQueries[0], Options{RecallAt: []int{1, 2, 4}}, QueryMetrics{AP: 0.5, RR: 0.5, NDCG: 0.6509209298071326, Recall: []float64{0, 0.5, 1}}, true},
		{"q2", threeQueries[1], Options{RecallAt: []int{2}}, QueryMetrics{AP: 0.5833333333333333, RR: 0.5, NDCG: 0.6199062332840657, Recall: []float64{0.5}}, true},
		{"no positives", threeQueries[3], Options{}, QueryMetrics{}, false},
		{"threshold makes q2 single-positive", threeQueries[1], Options{PositiveThreshold: 1, RecallAt: []int{}},
			QueryMetrics{AP: 1.0 / 3, RR: 1.0 / 3, NDCG: 0.6199062332840657}, true},
		// Ties keep input order: the relevant doc tied with two others is
		// ranked first here...
		{"ties stable", Query{Scores: []float64{0.5, 0.5, 0.5, 0.2}, Labels: []float64{1, 0, 0, 1}}, Options{RecallAt: []int{}},
			QueryMetrics{AP: 0.75, RR: 1, NDCG: (1 + 1/math.Log2(5)) / (1 + 1/math.Log2(3))}, true},
		// ...while sklearn's average_precision_score counts the tie as one
		// threshold: 0.5·(1/3) + 0.5·(2/4).
		{"ties sklearn", Query{Scores: []float64{0.5, 0.5, 0.5, 0.2}, Labels: []float64{1, 0, 0, 1}}, Options{SklearnTies: true, RecallAt: []int{}},
			QueryMetrics{AP: 0.5/3 + 0.25, RR: 1, NDCG: (1 + 1/math.Log2(5)) / (1 + 1/math.Log2(3))}, true},
		{"sklearn without ties equals stable", threeQueries[0], Options{SklearnTies: true, RecallAt: []int{}}, QueryMetrics{AP: 0.5, RR: 0.5, NDCG: 0.6509209298071326}, true},
		{"relevant beyond the cutoff", Query{Scores: []float64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0.5, 0.1}, Labels: []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}, Options{RecallAt: []int{10, 11}},
			QueryMetrics{AP: 1.0 / 11, Recall: []float64{0, 1}}, true},
		{"cutoff 3", threeQueries[0], Options{Cutoff: 3, RecallAt: []int{}}, QueryMetrics{AP: 0.5, RR: 0.5, NDCG: (1 / math.Log2(3)) / (1 + 1/math.Log2(3))}, true},
		{"NaN scores rank last", Query{Scores: []float64{math.NaN(), 1, 0}, Labels: []float64{1, 0, 0}}, Options{RecallAt: []int{}},
			QueryMetrics{AP: 1.0 / 3, RR: 1.0 / 3, NDCG: 0.5}, true},
		{"all positive kept", Query{Scores: []float64{1, 2}, Labels: []float64{1, 1}}, Options{RecallAt: []int{}}, QueryMetrics{AP: 1, RR: 1, NDCG: 1}, true},
		{"all positive skipped like MTEB", Query{Scores: []float64{1, 2}, Labels: []float64{1, 1}}, Options{SkipAllPositive: true}, QueryMetrics{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, ok := EvaluateQuery(c.q, c.opts)
			require.Equal(t, c.ok, ok)
			if !ok {
				return
			}
			testutil.AssertClose(t, "AP RR nDCG", []float64{m.AP, m.RR, m.NDCG}, []float64{c.want.AP, c.want.RR, c.want.NDCG}, testutil.F64)
			testutil.AssertClose(t, "recall", m.Recall, c.want.Recall, testutil.F64)
			assert.Len(t, m.Recall, len(c.want.Recall))
		})
	}
	assert.Panics(t, func() { EvaluateQuery(Query{Scores: []float64{1}}, Options{}) })
}

func TestEvaluateCounts(t *testing.T) {
	qs := append([]Query{{Scores: []float64{1, 2}, Labels: []float64{1, 1}}}, threeQueries...)
	r := Evaluate(qs, Options{})
	assert.Equal(t, 4, r.Queries)
	assert.Equal(t, 1, r.AllPositive)
	r = Evaluate(qs, Options{SkipAllPositive: true})
	assert.Equal(t, 3, r.Queries)
	assert.Equal(t, 1, r.AllPositive)
	assert.Equal(t, 1, r.NoPositive)
	assert.Contains(t, r.String(), "1 all positive")
	empty := Evaluate(nil, Options{})
	assert.Equal(t, 0, empty.Queries)
	assert.Equal(t, 0.0, empty.MAP)
}

func TestRank(t *testing.T) {
	assert.Equal(t, []int{1, 3, 0, 2, 4}, Rank([]float64{1, 3, 1, 2, math.NaN()}))
	assert.Equal(t, []int{}, Rank(nil))
	assert.Equal(t, []int{1, 0, 2}, Rank([]float64{math.Inf(-1), 0, math.NaN()}))
}

func TestNewQuery(t *testing.T) {
	q := NewQuery([]float32{0.5, 1.25}, []float32{1, 0})
	assert.Equal(t, Query{Scores: []float64{0.5, 1.25}, Labels: []float64{1, 0}}, q)
}
