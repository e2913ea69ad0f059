package metrics

// metrics.go: MAP, MRR@k, nDCG@k and Recall@k over per-query candidate
// lists (see the package documentation for the definitions and their
// sources).

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Query is one query's candidates: the scores a model gave them and their
// labels (same length).
type Query struct {
	// Scores are the model's scores (higher ranks first).
	Scores []float64
	// Labels are the relevance labels (graded or 0/1).
	Labels []float64
}

// NewQuery converts float32 scores and labels into a Query.
func NewQuery(scores, labels []float32) Query {
	q := Query{Scores: make([]float64, len(scores)), Labels: make([]float64, len(labels))}
	for i, s := range scores {
		q.Scores[i] = float64(s)
	}
	for i, l := range labels {
		q.Labels[i] = float64(l)
	}
	return q
}

// Options control Evaluate. The zero value is MTEB's reranking setup
// without its all-positive skip: relevant means label > 0, cutoff 10,
// linear gain, Recall@1/5/10.
type Options struct {
	// PositiveThreshold: a candidate is relevant when its label is above
	// it.
	PositiveThreshold float64
	// Cutoff is the k of MRR@k and nDCG@k (0: 10).
	Cutoff int
	// RecallAt lists the k of Recall@k (nil: 1, 5, 10).
	RecallAt []int
	// ExpGain uses 2^label - 1 as the nDCG gain instead of the label.
	ExpGain bool
	// SklearnTies computes AP as sklearn's average_precision_score, tied
	// scores forming one threshold, instead of ranking ties by input order.
	SklearnTies bool
	// SkipAllPositive also skips queries without a non-relevant candidate
	// (MTEB's RerankingEvaluator does).
	SkipAllPositive bool
}

func (o Options) cutoff() int {
	if o.Cutoff > 0 {
		return o.Cutoff
	}
	return 10
}

func (o Options) recallAt() []int {
	if o.RecallAt != nil {
		return o.RecallAt
	}
	return []int{1, 5, 10}
}

// RecallAtK is one Recall@k figure.
type RecallAtK struct {
	// K is the cutoff.
	K int
	// Value is the mean Recall@K.
	Value float64
}

// QueryMetrics are the metrics of one query.
type QueryMetrics struct {
	// AP is the average precision over the whole candidate list.
	AP float64
	// RR is the reciprocal rank of the first relevant candidate within
	// the cutoff (0 when none).
	RR float64
	// NDCG is nDCG at the cutoff.
	NDCG float64
	// Recall follows Options.RecallAt.
	Recall []float64
}

// Result is the mean of the metrics over the evaluated queries.
type Result struct {
	// MAP is the mean average precision.
	MAP float64
	// MRR is the mean reciprocal rank at Cutoff.
	MRR float64
	// NDCG is the mean nDCG at Cutoff.
	NDCG float64
	// Cutoff is the k of MRR and NDCG.
	Cutoff int
	// Recall holds Recall@k for each k of Options.RecallAt.
	Recall []RecallAtK
	// Queries is the number of queries evaluated.
	Queries int
	// NoPositive counts queries skipped for having no relevant candidate.
	NoPositive int
	// AllPositive counts queries without a non-relevant candidate
	// (skipped only with Options.SkipAllPositive).
	AllPositive int
}

// RecallAt returns Recall@k if it was computed.
func (r Result) RecallAt(k int) (float64, bool) {
	for _, x := range r.Recall {
		if x.K == k {
			return x.Value, true
		}
	}
	return 0, false
}

// String formats the result on one line, e.g.
// "MAP 0.6111  MRR@10 0.6667  nDCG@10 0.7103  R@1 0.3333  R@5 1.0000  (3 queries; 1 without positives)".
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAP %.4f  MRR@%d %.4f  nDCG@%d %.4f", r.MAP, r.Cutoff, r.MRR, r.Cutoff, r.NDCG)
	for _, x := range r.Recall {
		fmt.Fprintf(&b, "  R@%d %.4f", x.K, x.Value)
	}
	fmt.Fprintf(&b, "  (%d queries", r.Queries)
	if r.NoPositive > 0 {
		fmt.Fprintf(&b, "; %d without positives", r.NoPositive)
	}
	if r.AllPositive > 0 {
		fmt.Fprintf(&b, "; %d all positive", r.AllPositive)
	}
	b.WriteString(")")
	return b.String()
}

// Values returns the metrics keyed by name ("map", "mrr@10", "ndcg@10",
// "recall@5", "queries"), for logs.
func (r Result) Values() map[string]float64 {
	m := map[string]float64{
		"map":                            r.MAP,
		fmt.Sprintf("mrr@%d", r.Cutoff):  r.MRR,
		fmt.Sprintf("ndcg@%d", r.Cutoff): r.NDCG,
		"queries":                        float64(r.Queries),
	}
	for _, x := range r.Recall {
		m[fmt.Sprintf("recall@%d", x.K)] = x.Value
	}
	return m
}

// Rank returns the candidate indices ordered by score, descending; equal
// scores keep their input order and NaN scores come last.
func Rank(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		sa, sb := scores[idx[a]], scores[idx[b]]
		if math.IsNaN(sb) {
			return !math.IsNaN(sa)
		}
		return sa > sb
	})
	return idx
}

// EvaluateQuery computes one query's metrics. ok is false when the query
// is skipped (no relevant candidate, or none non-relevant with
// SkipAllPositive). It panics if scores and labels differ in length.
func EvaluateQuery(q Query, opts Options) (m QueryMetrics, ok bool) {
	if len(q.Scores) != len(q.Labels) {
		panic(fmt.Sprintf("metrics.EvaluateQuery: %d scores but %d labels", len(q.Scores), len(q.Labels)))
	}
	th := opts.PositiveThreshold
	npos := 0
	for _, l := range q.Labels {
		if l > th {
			npos++
		}
	}
	if npos == 0 || (opts.SkipAllPositive && npos == len(q.Labels)) {
		return m, false
	}
	order := Rank(q.Scores)
	k := opts.cutoff()

	// AP and RR.
	hits := 0
	for r, i := range order {
		if q.Labels[i] > th {
			hits++
			m.AP += float64(hits) / float64(r+1)
			if m.RR == 0 && r < k {
				m.RR = 1 / float64(r+1)
			}
		}
	}
	m.AP /= float64(npos)
	if opts.SklearnTies {
		m.AP = apTies(q, order, th, npos)
	}

	// nDCG.
	gain := func(l float64) float64 {
		if l <= 0 {
			return 0
		}
		if opts.ExpGain {
			return math.Exp2(l) - 1
		}
		return l
	}
	dcg := 0.0
	for r, i := range order[:min(k, len(order))] {
		dcg += gain(q.Labels[i]) / math.Log2(float64(r+2))
	}
	ideal := slices.Clone(q.Labels)
	sort.Sort(sort.Reverse(sort.Float64Slice(ideal)))
	idcg := 0.0
	for r, l := range ideal[:min(k, len(ideal))] {
		idcg += gain(l) / math.Log2(float64(r+2))
	}
	if idcg > 0 {
		m.NDCG = dcg / idcg
	}

	// Recall@k.
	for _, rk := range opts.recallAt() {
		n := 0
		for _, i := range order[:min(max(rk, 0), len(order))] {
			if q.Labels[i] > th {
				n++
			}
		}
		m.Recall = append(m.Recall, float64(n)/float64(npos))
	}
	return m, true
}

// apTies is sklearn's average_precision_score: Σ (R_t - R_{t-1}) P_t over
// distinct score thresholds t.
func apTies(q Query, order []int, th float64, npos int) float64 {
	ap := 0.0
	tp, seen := 0, 0
	for s := 0; s < len(order); {
		e := s
		grpPos := 0
		for e < len(order) && sameScore(q.Scores[order[e]], q.Scores[order[s]]) {
			if q.Labels[order[e]] > th {
				grpPos++
			}
			e++
		}
		tp += grpPos
		seen += e - s
		if grpPos > 0 {
			ap += float64(grpPos) / float64(npos) * float64(tp) / float64(seen)
		}
		s = e
	}
	return ap
}

func sameScore(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// Evaluate computes the mean metrics over queries (see the package
// documentation).
func Evaluate(qs []Query, opts Options) Result {
	res := Result{Cutoff: opts.cutoff()}
	ks := opts.recallAt()
	sums := make([]float64, len(ks))
	for _, q := range qs {
		npos := 0
		for _, l := range q.Labels {
			if l > opts.PositiveThreshold {
				npos++
			}
		}
		if npos == 0 {
			res.NoPositive++
		} else if npos == len(q.Labels) {
			res.AllPositive++
		}
		m, ok := EvaluateQuery(q, opts)
		if !ok {
			continue
		}
		res.Queries++
		res.MAP += m.AP
		res.MRR += m.RR
		res.NDCG += m.NDCG
		for i, r := range m.Recall {
			sums[i] += r
		}
	}
	if res.Queries > 0 {
		n := float64(res.Queries)
		res.MAP /= n
		res.MRR /= n
		res.NDCG /= n
		for i := range sums {
			sums[i] /= n
		}
	}
	for i, k := range ks {
		res.Recall = append(res.Recall, RecallAtK{K: k, Value: sums[i]})
	}
	return res
}
