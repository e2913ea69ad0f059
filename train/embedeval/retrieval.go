package embedeval

// retrieval.go: exact cosine search of queries over a corpus at each MRL
// dimension, scored with train/metrics.

import (
	"container/heap"
	"fmt"
	"math"
	"slices"

	"github.com/ragr-dev/ragr/kernels/cpu"
	"github.com/ragr-dev/ragr/train/metrics"
)

// EncodeFunc embeds texts, one vector per text, all of the same length.
// The vectors need not be normalised.
type EncodeFunc func(texts []string) ([][]float32, error)

// Options control an evaluation.
type Options struct {
	// Dims are the MRL dimensions to evaluate besides the full width
	// (each in 1..width).
	Dims []int
	// Batch is the number of texts per EncodeFunc call (0: 64).
	Batch int
	// RecallAt are the k of Recall@k (nil: 1, 5, 10, 100); those above
	// the corpus size are dropped.
	RecallAt []int
	// Cutoff is the k of MRR@k and nDCG@k (0: 10).
	Cutoff int
	// QueryPrompt is prefixed to every query.
	QueryPrompt string
}

func (o Options) batch() int {
	if o.Batch > 0 {
		return o.Batch
	}
	return 64
}

// DimResult is the retrieval metrics at one dimension.
type DimResult struct {
	// Dim is the number of leading features used.
	Dim int
	// Full marks the model's full width.
	Full bool
	metrics.Result
}

// RetrievalReport is an evaluation of a retrieval set.
type RetrievalReport struct {
	// Docs and Queries count the corpus and the queries.
	Docs, Queries int
	// Dims holds one result per dimension, ascending.
	Dims []DimResult
}

// Values returns the metrics for logs: "ndcg@10", "mrr@10",
// "recall@k" at the full width and the same keys with "/dD" appended for
// each other dimension D (e.g. "ndcg@10/d64").
func (r *RetrievalReport) Values() map[string]float64 {
	out := map[string]float64{}
	for _, d := range r.Dims {
		suffix := ""
		if !d.Full {
			suffix = fmt.Sprintf("/d%d", d.Dim)
		}
		out[fmt.Sprintf("ndcg@%d", d.Cutoff)+suffix] = d.NDCG
		out[fmt.Sprintf("mrr@%d", d.Cutoff)+suffix] = d.MRR
		for _, x := range d.Recall {
			out[fmt.Sprintf("recall@%d", x.K)+suffix] = x.Value
		}
	}
	return out
}

// embedAll encodes texts in batches into one row-major matrix [n, width].
func embedAll(texts []string, enc EncodeFunc, batch, width int) ([]float32, int, error) {
	var m []float32
	if width > 0 {
		m = make([]float32, 0, len(texts)*width)
	}
	for lo := 0; lo < len(texts); lo += batch {
		hi := min(lo+batch, len(texts))
		vs, err := enc(texts[lo:hi])
		if err != nil {
			return nil, 0, fmt.Errorf("embedeval: encoding: %w", err)
		}
		if len(vs) != hi-lo {
			return nil, 0, fmt.Errorf("embedeval: encoding %d texts returned %d vectors", hi-lo, len(vs))
		}
		for _, v := range vs {
			if width == 0 {
				width = len(v)
				if width == 0 {
					return nil, 0, fmt.Errorf("embedeval: encoding returned empty vectors")
				}
				m = make([]float32, 0, len(texts)*width)
			}
			if len(v) != width {
				return nil, 0, fmt.Errorf("embedeval: encoding returned vectors of %d and %d features", width, len(v))
			}
			m = append(m, v...)
		}
	}
	return m, width, nil
}

// dimsFor returns the sorted, deduplicated dimensions with the full width.
func dimsFor(extra []int, width int) ([]int, error) {
	ds := []int{width}
	for _, d := range extra {
		if d < 1 || d > width {
			return nil, fmt.Errorf("embedeval: MRL dimension %d is outside 1..%d (the embedding width)", d, width)
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return slices.Compact(ds), nil
}

// invNorms returns 1/‖row[:d]‖ of each row of m [n, width] (0 for a zero
// prefix).
func invNorms(m []float32, n, width, d int) []float32 {
	out := make([]float32, n)
	for i := range out {
		s := 0.0
		for _, x := range m[i*width : i*width+d] {
			s += float64(x) * float64(x)
		}
		if s > 0 {
			out[i] = float32(1 / math.Sqrt(s))
		}
	}
	return out
}

// hit is a candidate in the top-k heap.
type hit struct {
	score float32
	doc   int
}

// worse orders hits: lower score, then later document.
func worse(a, b hit) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.doc > b.doc
}

// topHeap is a min-heap of hits (the worst on top).
type topHeap []hit

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return worse(h[i], h[j]) }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *topHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// topK returns the k best documents of scores, best first (ties: earlier
// document first; NaN scores count as -Inf).
func topK(scores []float32, k int, h *topHeap) []hit {
	*h = (*h)[:0]
	for i, s := range scores {
		if s != s {
			s = float32(math.Inf(-1))
		}
		c := hit{s, i}
		if h.Len() < k {
			heap.Push(h, c)
		} else if worse((*h)[0], c) {
			(*h)[0] = c
			heap.Fix(h, 0)
		}
	}
	out := slices.Clone(*h)
	slices.SortFunc(out, func(a, b hit) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	return out
}

// queryBlock is the number of queries scored per GEMM.
const queryBlock = 64

// EvaluateRetrieval encodes the corpus and the queries of set with enc and
// computes nDCG@10, MRR@10 and Recall@k of exact cosine search at the
// full width and at each of opts.Dims (see the package documentation).
func EvaluateRetrieval(set *RetrievalSet, enc EncodeFunc, opts Options) (*RetrievalReport, error) {
	if len(set.Docs) == 0 || len(set.Queries) == 0 {
		return nil, fmt.Errorf("embedeval: %s: %d documents and %d queries; need at least one of each", set.Name, len(set.Docs), len(set.Queries))
	}
	if len(set.Qrels) != len(set.Queries) {
		return nil, fmt.Errorf("embedeval: %s: %d queries but %d qrels entries", set.Name, len(set.Queries), len(set.Qrels))
	}
	nd, nq := len(set.Docs), len(set.Queries)
	docs, width, err := embedAll(set.Docs, enc, opts.batch(), 0)
	if err != nil {
		return nil, err
	}
	queries := set.Queries
	if opts.QueryPrompt != "" {
		queries = make([]string, nq)
		for i, q := range set.Queries {
			queries[i] = opts.QueryPrompt + q
		}
	}
	qv, _, err := embedAll(queries, enc, opts.batch(), width)
	if err != nil {
		return nil, err
	}
	dims, err := dimsFor(opts.Dims, width)
	if err != nil {
		return nil, err
	}
	ks := opts.RecallAt
	if ks == nil {
		ks = []int{1, 5, 10, 100}
	}
	var keep []int
	for _, k := range ks {
		if k >= 1 && k <= nd {
			keep = append(keep, k)
		}
	}
	cutoff := opts.Cutoff
	if cutoff <= 0 {
		cutoff = 10
	}
	depth := min(max(slices.Max(append([]int{cutoff}, keep...)), 1), nd)
	rep := &RetrievalReport{Docs: nd, Queries: nq}
	scores := make([]float32, min(queryBlock, nq)*nd)
	var h topHeap
	for _, d := range dims {
		dn := invNorms(docs, nd, width, d)
		qn := invNorms(qv, nq, width, d)
		qs := make([]metrics.Query, 0, nq)
		for lo := 0; lo < nq; lo += queryBlock {
			b := min(queryBlock, nq-lo)
			cpu.Sgemm(scores, nd, false, true, b, nd, d, 1, qv[lo*width:], width, docs, width, 0)
			for i := 0; i < b; i++ {
				row := scores[i*nd : (i+1)*nd]
				for j := range row {
					row[j] *= qn[lo+i] * dn[j]
				}
				qr := set.Qrels[lo+i]
				top := topK(row, depth, &h)
				q := metrics.Query{Scores: make([]float64, 0, len(top)+len(qr)), Labels: make([]float64, 0, len(top)+len(qr))}
				seen := map[int]bool{}
				for _, t := range top {
					q.Scores = append(q.Scores, float64(t.score))
					q.Labels = append(q.Labels, qr[t.doc])
					seen[t.doc] = true
				}
				// Judged documents below the kept depth, in document
				// order, so ideal DCG and recall count every one.
				rest := make([]int, 0, len(qr))
				for doc := range qr {
					if !seen[doc] {
						rest = append(rest, doc)
					}
				}
				slices.Sort(rest)
				for _, doc := range rest {
					q.Scores = append(q.Scores, math.Inf(-1))
					q.Labels = append(q.Labels, qr[doc])
				}
				qs = append(qs, q)
			}
		}
		res := metrics.Evaluate(qs, metrics.Options{Cutoff: cutoff, RecallAt: keep})
		rep.Dims = append(rep.Dims, DimResult{Dim: d, Full: d == width, Result: res})
	}
	return rep, nil
}
