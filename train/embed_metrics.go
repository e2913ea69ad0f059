package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/ragr-dev/ragr/tensor"
)

// inBatchAcc accumulates the in-batch retrieval accuracy of embedding
// training at each MRL dimension: the share of queries whose own positive
// scores highest among every document of the batch (all positives, then
// all hard negatives), with query and documents cut to the dimension and
// re-normalised, as the MRL losses compare them.
type inBatchAcc struct {
	dims    []int // ascending, the full width last
	full    int
	correct []int
	total   int
}

// newInBatchAcc tracks the dimensions mrl (empty: the full width only);
// the full width is always tracked.
func newInBatchAcc(mrl []int, full int) *inBatchAcc {
	set := map[int]bool{full: true}
	for _, d := range mrl {
		if d > 0 && d <= full {
			set[d] = true
		}
	}
	a := &inBatchAcc{full: full}
	for d := range set {
		a.dims = append(a.dims, d)
	}
	sort.Ints(a.dims)
	a.correct = make([]int, len(a.dims))
	return a
}

// add scores one batch: q [B, H], pos [B, H], neg [N, H] or nil.
func (a *inBatchAcc) add(q, pos, neg *tensor.Tensor) {
	b, h := q.Dim(0), q.Dim(1)
	if pos.Dim(0) != b || pos.Dim(1) != h || h != a.full {
		panic(fmt.Sprintf("train: inBatchAcc.add: query %v, positives %v, width %d", q.Shape(), pos.Shape(), a.full))
	}
	qs := q.Float32s()
	docs := pos.Float32s()
	nd := b
	if neg != nil {
		docs = append(docs, neg.Float32s()...)
		nd += neg.Dim(0)
	}
	// prefix norms per dimension of every row
	norms := func(x []float32, rows int, d int) []float64 {
		n := make([]float64, rows)
		for r := 0; r < rows; r++ {
			var s float64
			for _, v := range x[r*h : r*h+d] {
				s += float64(v) * float64(v)
			}
			n[r] = math.Max(math.Sqrt(s), 1e-12)
		}
		return n
	}
	for k, d := range a.dims {
		qn, dn := norms(qs, b, d), norms(docs, nd, d)
		for i := 0; i < b; i++ {
			best, arg := math.Inf(-1), -1
			qi := qs[i*h : i*h+d]
			for j := 0; j < nd; j++ {
				var s float64
				for t, v := range docs[j*h : j*h+d] {
					s += float64(qi[t]) * float64(v)
				}
				s /= qn[i] * dn[j]
				if s > best {
					best, arg = s, j
				}
			}
			if arg == i {
				a.correct[k]++
			}
		}
	}
	a.total += b
}

// take returns the accuracies since the last take ("train/acc" at the full
// width, "train/acc@D" at each smaller MRL dimension) and resets them; nil
// when nothing was added.
func (a *inBatchAcc) take() map[string]float64 {
	if a.total == 0 {
		return nil
	}
	m := make(map[string]float64, len(a.dims))
	for k, d := range a.dims {
		key := "train/acc"
		if d != a.full {
			key = fmt.Sprintf("train/acc@%d", d)
		}
		m[key] = float64(a.correct[k]) / float64(a.total)
		a.correct[k] = 0
	}
	a.total = 0
	return m
}
