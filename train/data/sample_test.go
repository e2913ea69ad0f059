package data

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mkGroups builds groups: spec[i] is the labels of group i's items.
func mkGroups(spec ...[]float32) []Group {
	gs := make([]Group, len(spec))
	for i, labels := range spec {
		gs[i] = Group{Query: fmt.Sprintf("q%d", i), File: "g", Line: i + 1}
		for k, l := range labels {
			gs[i].Items = append(gs[i].Items, Item{Text: fmt.Sprintf("q%d-d%d", i, k), Label: l})
		}
	}
	return gs
}

// TestRNGPinned pins the generator: changing it would change every
// training order and break resuming from older checkpoints.
func TestRNGPinned(t *testing.T) {
	r := newRNG(42, 7)
	got := []uint64{r.next(), r.next(), r.next()}
	assert.Equal(t, []uint64{0xb1ffeb8e06a0c173, 0x6d0656abf28a73ec, 0x469c960c6a4bfaed}, got)
	assert.Equal(t, []int{3, 1, 0, 2, 4}, newRNG(1).perm(5))
}

func TestIntnUniform(t *testing.T) {
	r := newRNG(3)
	var c [7]int
	for i := 0; i < 70000; i++ {
		c[r.intn(7)]++
	}
	for _, n := range c {
		assert.InDelta(t, 10000, n, 500)
	}
}

func TestValidate(t *testing.T) {
	gs := mkGroups(
		[]float32{1, 0, 0, 0},    // 1 pos, 3 neg
		[]float32{1, 1, 0},       // 2 pos, 1 neg
		[]float32{1, 1, 1},       // no contrast
		[]float32{2, 1, 0, 0, 0}, // graded: top 2, 4 others
	)
	cases := []struct {
		name  string
		s     Sampling
		stats Stats
		err   string
	}{
		{"fits", Sampling{GroupSize: 2}, Stats{Groups: 4, Usable: 3, NoContrast: 1, Examples: 3}, ""},
		{"each positive", Sampling{GroupSize: 2, EachPositive: true}, Stats{Groups: 4, Usable: 3, NoContrast: 1, Examples: 4}, ""},
		{"too large", Sampling{GroupSize: 4}, Stats{Groups: 4, Usable: 2, NoContrast: 1, Short: 1, Examples: 2},
			"data: train_group_size 4: 1 of 4 queries have fewer than 3 negatives (g:2 has 1 negatives); lower train_group_size, allow repeated negatives, or skip short queries"},
		{"replacement", Sampling{GroupSize: 4, Replacement: true}, Stats{Groups: 4, Usable: 3, NoContrast: 1, Repeated: 1, Examples: 3}, ""},
		{"skip short", Sampling{GroupSize: 4, SkipShort: true}, Stats{Groups: 4, Usable: 2, NoContrast: 1, Short: 1, Examples: 2}, ""},
		{"nothing usable", Sampling{GroupSize: 9, SkipShort: true}, Stats{Groups: 4, NoContrast: 1, Short: 3},
			"data: train_group_size 9, top_positive sampling: no usable query among 4 (1 with all labels equal, 3 too short)"},
		{"group size 1", Sampling{GroupSize: 1}, Stats{Groups: 4}, "data: train_group_size 1: top_positive sampling needs at least 2 documents per example"},
		{"chunks", Sampling{Mode: SampleChunks, GroupSize: 3}, Stats{Groups: 4, Usable: 3, NoContrast: 1, Examples: 2 + 1 + 2}, ""},
		{"chunks short", Sampling{Mode: SampleChunks, GroupSize: 4}, Stats{Groups: 4, Usable: 2, NoContrast: 1, Short: 1, Examples: 3},
			"data: train_group_size 4: 1 of 4 queries have fewer than 4 documents (g:2 has 3 documents); lower train_group_size or skip short queries"},
		{"pointwise", Sampling{Mode: SamplePointwise}, Stats{Groups: 4, Usable: 4, Examples: 15}, ""},
		{"pointwise group size", Sampling{Mode: SamplePointwise, GroupSize: 8}, Stats{Groups: 4}, "data: pointwise sampling takes one document per example, not train_group_size 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := Validate(gs, c.s)
			assert.Equal(t, c.stats, st)
			if c.err == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, c.err)
			}
		})
	}
}

func TestParseSampleMode(t *testing.T) {
	for s, m := range map[string]SampleMode{"top_positive": SampleTopPositive, "grouped": SampleChunks, "Chunks": SampleChunks, "pointwise": SamplePointwise} {
		got, err := ParseSampleMode(s)
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := ParseSampleMode("listwise")
	assert.Error(t, err)
}

func loadT2(t *testing.T) []Group {
	t.Helper()
	s, err := ReadReranker(filepath.Join(exampleDir, "t2rank_100.jsonl"), Options{})
	require.NoError(t, err)
	return s.Groups
}

func TestTopPositiveSampling(t *testing.T) {
	gs := loadT2(t)
	sm, err := NewSampler(gs, Sampling{GroupSize: 8})
	require.NoError(t, err)
	assert.Equal(t, 8, sm.GroupSize())
	e0 := sm.Epoch(42, 0)
	require.Len(t, e0, 100)
	assert.Equal(t, e0, sm.Epoch(42, 0), "same seed and epoch, same examples")
	e1 := sm.Epoch(42, 1)
	assert.NotEqual(t, order(e0), order(e1), "another epoch, another order")
	assert.NotEqual(t, order(e0), order(sm.Epoch(43, 0)), "another seed, another order")
	for _, ex := range e0 {
		g := gs[ex.Group]
		require.Len(t, ex.Items, 8)
		assert.Equal(t, float32(1), g.Items[ex.Items[0]].Label, "positive first")
		seen := map[int]bool{}
		for _, i := range ex.Items[1:] {
			assert.Equal(t, float32(0), g.Items[i].Label)
			assert.False(t, seen[i], "negatives drawn without replacement")
			seen[i] = true
		}
	}
	assert.ElementsMatch(t, order(e0), order(e1), "each query once per epoch")

	// The negatives vary between epochs.
	diff := 0
	byGroup := map[int][]int{}
	for _, ex := range e0 {
		byGroup[ex.Group] = ex.Items
	}
	for _, ex := range e1 {
		if fmt.Sprint(byGroup[ex.Group]) != fmt.Sprint(ex.Items) {
			diff++
		}
	}
	assert.Greater(t, diff, 90)

	// Every top positive is used with EachPositive.
	sp, err := NewSampler(gs, Sampling{GroupSize: 8, EachPositive: true})
	require.NoError(t, err)
	assert.Len(t, sp.Epoch(1, 0), 505)

	// 15 negatives: group size 17 needs replacement.
	_, err = NewSampler(gs, Sampling{GroupSize: 17})
	assert.ErrorContains(t, err, "data: train_group_size 17: 100 of 100 queries have fewer than 16 negatives (../../testdata/data/rag-retrieval-example-data/t2rank_100.jsonl:1 has 15 negatives,")
	sr, err := NewSampler(gs, Sampling{GroupSize: 17, Replacement: true})
	require.NoError(t, err)
	for _, ex := range sr.Epoch(1, 0) {
		require.Len(t, ex.Items, 17)
		count := map[int]int{}
		for _, i := range ex.Items[1:] {
			count[i]++
			assert.Equal(t, float32(0), gs[ex.Group].Items[i].Label)
		}
		for _, c := range count {
			assert.LessOrEqual(t, c, 2, "drawn from the negatives repeated twice")
		}
	}
}

func TestGradedTopPositive(t *testing.T) {
	gs := mkGroups([]float32{0.2, 0.9, 0.5, 0.9, 0.1})
	sm, err := NewSampler(gs, Sampling{GroupSize: 3})
	require.NoError(t, err)
	tops := map[int]int{}
	for e := 0; e < 200; e++ {
		ex := sm.Epoch(5, e)[0]
		tops[ex.Items[0]]++
		for _, i := range ex.Items[1:] {
			assert.NotContains(t, []int{1, 3}, i)
		}
	}
	assert.Len(t, tops, 2)
	assert.InDelta(t, 100, tops[1], 30)
}

func order(ex []Example) []int {
	o := make([]int, len(ex))
	for i, e := range ex {
		o[i] = e.Group
	}
	return o
}

func TestChunkSampling(t *testing.T) {
	gs := mkGroups(
		[]float32{1, 0, 0, 0, 0, 0, 0}, // 7 items, G=3: chunks 3,3,1+2
		[]float32{2, 1, 0},
		[]float32{1, 1, 1, 1},
	)
	sm, err := NewSampler(gs, Sampling{Mode: SampleChunks, GroupSize: 3})
	require.NoError(t, err)
	assert.Equal(t, 4, sm.Stats().Examples)
	for e := 0; e < 20; e++ {
		ex := sm.Epoch(9, e)
		assert.Equal(t, ex, sm.Epoch(9, e))
		covered := map[int]bool{}
		for _, x := range ex {
			require.Len(t, x.Items, 3)
			assert.False(t, uniform(&gs[x.Group], x.Items), "uniform chunks are dropped")
			d := map[int]bool{}
			for _, i := range x.Items {
				assert.False(t, d[i], "distinct within a chunk")
				d[i] = true
				if x.Group == 0 {
					covered[i] = true
				}
			}
		}
		// Group 0 has one positive, so exactly one of its three chunks
		// survives unless the positive is repeated into the last chunk.
		n0 := 0
		for _, x := range ex {
			if x.Group == 0 {
				n0++
			}
		}
		assert.True(t, n0 == 1 || n0 == 2)
		assert.LessOrEqual(t, len(ex), 4)
	}
}

func TestPointwiseSampling(t *testing.T) {
	gs := mkGroups([]float32{1, 0}, []float32{0.5}, []float32{0, 0, 1})
	sm, err := NewSampler(gs, Sampling{Mode: SamplePointwise})
	require.NoError(t, err)
	assert.Equal(t, 1, sm.GroupSize())
	ex := sm.Epoch(1, 0)
	require.Len(t, ex, 6)
	var got []string
	for _, e := range ex {
		q, docs, labels := e.Texts(gs)
		require.Len(t, docs, 1)
		require.Len(t, labels, 1)
		got = append(got, q+"/"+docs[0])
	}
	sort.Strings(got)
	assert.Equal(t, []string{"q0/q0-d0", "q0/q0-d1", "q1/q1-d0", "q2/q2-d0", "q2/q2-d1", "q2/q2-d2"}, got)
}

func TestShard(t *testing.T) {
	xs := make([]int, 23)
	for i := range xs {
		xs[i] = i
	}
	for _, world := range []int{1, 2, 3, 4, 8} {
		var all []int
		for r := 0; r < world; r++ {
			s := Shard(xs, r, world)
			assert.Len(t, s, 23/world)
			all = append(all, s...)
		}
		sort.Ints(all)
		assert.Equal(t, xs[:len(all)], all, "world %d: shards partition the first world*floor(N/world)", world)
	}
	assert.Equal(t, []int{1, 4, 7}, Shard(xs[:10], 1, 3))
	assert.Panics(t, func() { Shard(xs, 2, 2) })
	assert.Panics(t, func() { Shard(xs, 0, 0) })
}

func TestLoaderResume(t *testing.T) {
	gs := loadT2(t)
	sm, err := NewSampler(gs, Sampling{GroupSize: 4})
	require.NoError(t, err)
	cfg := LoaderConfig{Seed: 11, BatchSize: 8, Rank: 1, World: 3}
	l, err := NewLoader(sm.Epoch, cfg)
	require.NoError(t, err)
	assert.Equal(t, 4, l.Batches(0)) // 33 examples per rank, 4 full batches

	// An uninterrupted run of 3 epochs.
	var full [][]Example
	var positions []Position
	for e := 0; e < 3; e++ {
		for b, ok := l.Next(); ok; b, ok = l.Next() {
			positions = append(positions, l.Position())
			full = append(full, b)
		}
		assert.Equal(t, Position{Epoch: e + 1}, l.Position())
	}
	require.Len(t, full, 12)
	assert.Equal(t, Position{Epoch: 0, Index: 8}, positions[0])

	// Resume after every batch from its saved position.
	for k := range full {
		r, err := NewLoader(sm.Epoch, cfg)
		require.NoError(t, err)
		r.Seek(positions[k])
		var rest [][]Example
		for e := positions[k].Epoch; e < 3; e++ {
			for b, ok := r.Next(); ok; b, ok = r.Next() {
				rest = append(rest, b)
			}
		}
		if k+1 == len(full) {
			require.Empty(t, rest)
		} else {
			require.Equal(t, full[k+1:], rest, "resume at %+v", positions[k])
		}
	}

	// Ranks see disjoint examples of an epoch.
	seen := map[string]int{}
	for rank := 0; rank < 3; rank++ {
		c := cfg
		c.Rank = rank
		c.KeepLast = true
		lr, err := NewLoader(sm.Epoch, c)
		require.NoError(t, err)
		assert.Equal(t, 5, lr.Batches(0))
		n := 0
		for b, ok := lr.Next(); ok; b, ok = lr.Next() {
			for _, ex := range b {
				seen[fmt.Sprint(ex)]++
				n++
			}
		}
		assert.Equal(t, 33, n)
	}
	assert.Len(t, seen, 99)

	_, err = NewLoader(sm.Epoch, LoaderConfig{BatchSize: 0})
	assert.Error(t, err)
	_, err = NewLoader(sm.Epoch, LoaderConfig{BatchSize: 1, Rank: 2, World: 2})
	assert.Error(t, err)
}
