package data

// sample.go: training groups from reranker data (train_group_size), their
// per-epoch order, sharding by data-parallel rank and a resumable loader.

import (
	"fmt"
	"strings"
)

// SampleMode selects how a query's items become training examples.
type SampleMode int

const (
	// SampleTopPositive draws one positive among the items with the
	// query's highest label and GroupSize-1 negatives among the others
	// (FlagEmbedding's reranker grouping).
	SampleTopPositive SampleMode = iota
	// SampleChunks shuffles a query's items and cuts them into chunks of
	// GroupSize (RAG-Retrieval's GroupedRankerDataset).
	SampleChunks
	// SamplePointwise makes every item an example of size 1
	// (RAG-Retrieval's PointwiseRankerDataset).
	SamplePointwise
)

// String returns the name ParseSampleMode accepts.
func (m SampleMode) String() string {
	switch m {
	case SampleTopPositive:
		return "top_positive"
	case SampleChunks:
		return "chunks"
	case SamplePointwise:
		return "pointwise"
	}
	return fmt.Sprintf("SampleMode(%d)", int(m))
}

// ParseSampleMode parses "top_positive", "chunks" (also "grouped") or
// "pointwise".
func ParseSampleMode(s string) (SampleMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "top_positive", "":
		return SampleTopPositive, nil
	case "chunks", "grouped":
		return SampleChunks, nil
	case "pointwise":
		return SamplePointwise, nil
	}
	return 0, fmt.Errorf("data: unknown sampling mode %q (want top_positive, chunks or pointwise)", s)
}

// Sampling configures training examples.
type Sampling struct {
	// Mode selects the sampling.
	Mode SampleMode
	// GroupSize is train_group_size: documents per example (>= 2 for
	// SampleTopPositive and SampleChunks; 0 or 1 for SamplePointwise).
	GroupSize int
	// Replacement lets SampleTopPositive draw negatives of a query with
	// fewer than GroupSize-1 of them from its negatives repeated
	// ceil((G-1)/n) times. Without it such a query is an error (or is
	// skipped with SkipShort).
	Replacement bool
	// SkipShort drops queries that cannot fill a group instead of failing
	// (RAG-Retrieval skips grouped queries with fewer than
	// train_group_size hits).
	SkipShort bool
	// EachPositive makes SampleTopPositive produce one example per
	// top-label positive of a query per epoch instead of one per query.
	EachPositive bool
}

func (s Sampling) groupSize() int {
	if s.Mode == SamplePointwise && s.GroupSize == 0 {
		return 1
	}
	return s.GroupSize
}

// Stats describes what a Sampling makes of the data.
type Stats struct {
	// Groups is the number of queries given.
	Groups int
	// Usable is the number of queries that produce examples.
	Usable int
	// NoContrast counts queries skipped because all their labels are equal
	// (no positive to set against a negative).
	NoContrast int
	// Short counts queries skipped (SkipShort) or in error because they
	// cannot fill a group.
	Short int
	// Repeated counts queries that draw negatives with repetition.
	Repeated int
	// Examples is the number of examples per epoch before sharding (for
	// SampleChunks an upper bound: chunks whose labels come out all equal
	// are dropped each epoch).
	Examples int
}

// Example is one training example: GroupSize items of one group. For
// SampleTopPositive Items[0] is the positive.
type Example struct {
	// Group indexes the groups given to the Sampler.
	Group int
	// Items index the group's Items.
	Items []int
}

// Validate checks a Sampling against the data before training and reports
// what it will make of it. A group size the data cannot provide is an error
// naming the queries at fault, as is a configuration that leaves no usable
// query.
func Validate(groups []Group, s Sampling) (Stats, error) {
	_, st, err := plan(groups, s)
	return st, err
}

// groupPlan is what a usable group draws from.
type groupPlan struct {
	group int
	top   []int // items with the highest label (SampleTopPositive)
	neg   []int // the others
}

func plan(groups []Group, s Sampling) ([]groupPlan, Stats, error) {
	st := Stats{Groups: len(groups)}
	g := s.groupSize()
	switch s.Mode {
	case SamplePointwise:
		if g != 1 {
			return nil, st, fmt.Errorf("data: pointwise sampling takes one document per example, not train_group_size %d", s.GroupSize)
		}
	case SampleTopPositive, SampleChunks:
		if g < 2 {
			return nil, st, fmt.Errorf("data: train_group_size %d: %s sampling needs at least 2 documents per example", s.GroupSize, s.Mode)
		}
	default:
		return nil, st, fmt.Errorf("data: unknown sampling mode %d", int(s.Mode))
	}
	var plans []groupPlan
	var short []string
	for gi := range groups {
		grp := &groups[gi]
		n := len(grp.Items)
		if n == 0 {
			st.NoContrast++
			continue
		}
		if s.Mode == SamplePointwise {
			plans = append(plans, groupPlan{group: gi})
			st.Examples += n
			continue
		}
		hi, lo := grp.Items[0].Label, grp.Items[0].Label
		for _, it := range grp.Items {
			hi, lo = max(hi, it.Label), min(lo, it.Label)
		}
		if hi == lo {
			st.NoContrast++
			continue
		}
		p := groupPlan{group: gi}
		if s.Mode == SampleChunks {
			if n < g {
				st.Short++
				if len(short) < 5 {
					short = append(short, fmt.Sprintf("%s has %d documents", grp.Source(), n))
				}
				continue
			}
			plans = append(plans, p)
			st.Examples += (n + g - 1) / g
			continue
		}
		for i, it := range grp.Items {
			if it.Label == hi {
				p.top = append(p.top, i)
			} else {
				p.neg = append(p.neg, i)
			}
		}
		if len(p.neg) < g-1 {
			if !s.Replacement {
				st.Short++
				if len(short) < 5 {
					short = append(short, fmt.Sprintf("%s has %d negatives", grp.Source(), len(p.neg)))
				}
				continue
			}
			st.Repeated++
		}
		plans = append(plans, p)
		if s.EachPositive {
			st.Examples += len(p.top)
		} else {
			st.Examples++
		}
	}
	st.Usable = len(plans)
	if st.Short > 0 && !s.SkipShort {
		need := fmt.Sprintf("fewer than %d documents", g)
		fix := "lower train_group_size or skip short queries"
		if s.Mode == SampleTopPositive {
			need = fmt.Sprintf("fewer than %d negatives", g-1)
			fix = "lower train_group_size, allow repeated negatives, or skip short queries"
		}
		return nil, st, fmt.Errorf("data: train_group_size %d: %d of %d queries have %s (%s); %s",
			g, st.Short, st.Groups, need, strings.Join(short, ", "), fix)
	}
	if st.Usable == 0 {
		return nil, st, fmt.Errorf("data: train_group_size %d, %s sampling: no usable query among %d (%d with all labels equal, %d too short)",
			g, s.Mode, st.Groups, st.NoContrast, st.Short)
	}
	return plans, st, nil
}

// Sampler draws the training examples of each epoch from reranker groups.
// It is safe for concurrent use (Epoch only reads it).
type Sampler struct {
	groups []Group
	cfg    Sampling
	plans  []groupPlan
	stats  Stats
}

// NewSampler validates s against the groups (see Validate) and returns a
// sampler over them. The groups must not change afterwards.
func NewSampler(groups []Group, s Sampling) (*Sampler, error) {
	plans, st, err := plan(groups, s)
	if err != nil {
		return nil, err
	}
	return &Sampler{groups: groups, cfg: s, plans: plans, stats: st}, nil
}

// Groups returns the sampler's groups.
func (s *Sampler) Groups() []Group { return s.groups }

// Sampling returns the configuration.
func (s *Sampler) Sampling() Sampling { return s.cfg }

// Stats returns what the configuration makes of the data.
func (s *Sampler) Stats() Stats { return s.stats }

// GroupSize returns the documents per example.
func (s *Sampler) GroupSize() int { return s.cfg.groupSize() }

// Epoch returns the examples of an epoch in their shuffled order. The
// result depends only on the data, the Sampling, seed and epoch: each
// group's draws come from a generator keyed by (seed, epoch, group) and
// the order from one keyed by (seed, epoch).
func (s *Sampler) Epoch(seed uint64, epoch int) []Example {
	g := s.cfg.groupSize()
	out := make([]Example, 0, s.stats.Examples)
	for _, p := range s.plans {
		grp := &s.groups[p.group]
		r := newRNG(seed, keyGroup, uint64(epoch), uint64(p.group))
		switch s.cfg.Mode {
		case SamplePointwise:
			for i := range grp.Items {
				out = append(out, Example{Group: p.group, Items: []int{i}})
			}
		case SampleTopPositive:
			tops := []int{p.top[r.intn(len(p.top))]}
			if s.cfg.EachPositive {
				tops = p.top
			}
			pool := p.neg
			if len(pool) < g-1 {
				pool = repeatIndices(p.neg, g-1)
			}
			for _, t := range tops {
				items := make([]int, 1, g)
				items[0] = t
				items = append(items, r.sample(pool, g-1)...)
				out = append(out, Example{Group: p.group, Items: items})
			}
		case SampleChunks:
			perm := r.perm(len(grp.Items))
			for lo := 0; lo < len(perm); lo += g {
				hi := min(lo+g, len(perm))
				items := make([]int, 0, g)
				items = append(items, perm[lo:hi]...)
				if need := g - len(items); need > 0 {
					// Fill from the hits before this last chunk, distinct
					// (RAG-Retrieval: random.sample(range(n - len(chunk)), need)).
					items = append(items, r.sample(perm[:lo], need)...)
				}
				if uniform(grp, items) {
					continue
				}
				out = append(out, Example{Group: p.group, Items: items})
			}
		}
	}
	newRNG(seed, keyOrder, uint64(epoch)).shuffleEx(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func uniform(g *Group, items []int) bool {
	for _, i := range items[1:] {
		if g.Items[i].Label != g.Items[items[0]].Label {
			return false
		}
	}
	return true
}

// repeatIndices returns idx repeated ceil(k/len(idx)) times.
func repeatIndices(idx []int, k int) []int {
	reps := (k + len(idx) - 1) / len(idx)
	out := make([]int, 0, reps*len(idx))
	for r := 0; r < reps; r++ {
		out = append(out, idx...)
	}
	return out
}

// Example texts.

// Texts returns the query, documents and labels of an example of groups.
func (e Example) Texts(groups []Group) (query string, docs []string, labels []float32) {
	g := &groups[e.Group]
	docs = make([]string, len(e.Items))
	labels = make([]float32, len(e.Items))
	for k, i := range e.Items {
		docs[k] = g.Items[i].Text
		labels[k] = g.Items[i].Label
	}
	return g.Query, docs, labels
}

// Shard returns rank's share of an epoch for data parallelism: elements
// rank, rank+world, rank+2·world, … of the first world·⌊len/world⌋, so
// every rank gets the same number (up to world-1 elements of each epoch
// are left out; the shuffle changes which). It panics unless
// 0 <= rank < world.
func Shard[T any](xs []T, rank, world int) []T {
	if world < 1 || rank < 0 || rank >= world {
		panic(fmt.Sprintf("data.Shard: rank %d, world size %d", rank, world))
	}
	n := len(xs) / world
	out := make([]T, n)
	for i := range out {
		out[i] = xs[i*world+rank]
	}
	return out
}
