package data

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitByQuery(t *testing.T) {
	gs := loadT2(t)
	tr, ho, err := SplitByQuery(gs, 0.2, 3)
	require.NoError(t, err)
	assert.Len(t, ho, 20)
	assert.Len(t, tr, 80)
	tr2, ho2, err := SplitByQuery(gs, 0.2, 3)
	require.NoError(t, err)
	assert.Equal(t, ho, ho2)
	assert.Equal(t, tr, tr2)
	_, ho3, err := SplitByQuery(gs, 0.2, 4)
	require.NoError(t, err)
	assert.NotEqual(t, queries(ho), queries(ho3))
	// A partition of the queries, each part in file order.
	all := append(queries(tr), queries(ho)...)
	sort.Strings(all)
	want := queries(gs)
	sort.Strings(want)
	assert.Equal(t, want, all)
	pos := map[string]int{}
	for i, g := range gs {
		pos[g.Query] = i
	}
	for _, part := range [][]Group{tr, ho} {
		for i := 1; i < len(part); i++ {
			assert.Less(t, pos[part[i-1].Query], pos[part[i].Query])
		}
	}
	// Tiny sets keep one query on each side.
	_, ho, err = SplitByQuery(gs[:3], 0.01, 1)
	require.NoError(t, err)
	assert.Len(t, ho, 1)
	_, ho, err = SplitByQuery(gs[:3], 0.99, 1)
	require.NoError(t, err)
	assert.Len(t, ho, 2)
	for _, f := range []float64{0, 1, -0.5} {
		_, _, err = SplitByQuery(gs, f, 1)
		assert.Error(t, err)
	}
	_, _, err = SplitByQuery(gs[:1], 0.5, 1)
	assert.Error(t, err)
}

func queries(gs []Group) []string {
	q := make([]string, len(gs))
	for i, g := range gs {
		q[i] = g.Query
	}
	return q
}

func TestCranfieldMini(t *testing.T) {
	c, err := LoadCranfield("testdata/cranfield-mini")
	require.NoError(t, err)
	require.Len(t, c.Docs, 3)
	assert.Equal(t, CranDoc{ID: 1, Title: "wing flow .", Author: "smith,j.", Biblio: "j. ae. 1, 1958.", Text: "wing flow . lift of a wing in a slipstream ."}, c.Docs[0])
	assert.Equal(t, CranDoc{ID: 5, Title: "shock waves", Author: "doe,a.", Biblio: "x."}, c.Docs[2])
	require.Len(t, c.Queries, 3)
	assert.Equal(t, CranQuery{ID: 2, Number: 4, Text: "heat conduction problems .", Line: 5}, c.Queries[1])
	// -1 rows are dropped, codes map to grades 5-code.
	assert.Equal(t, map[int]map[int]int{1: {1: 2, 5: 4}, 2: {2: 1}}, c.Qrels)
	assert.Equal(t, float32(3), c.Label(1, 1))
	assert.Equal(t, float32(1), c.Label(1, 5))
	assert.Equal(t, float32(0), c.Label(1, 2))
	assert.Equal(t, float32(4), c.Label(2, 2))

	g := c.Group(1, []int{2, 5, 1})
	assert.Equal(t, "what is the lift of a wing in a slipstream .", g.Query)
	assert.Equal(t, []Item{{"heat conduction in slabs .", 0}, {"shock waves", 1}, {"wing flow . lift of a wing in a slipstream .", 3}}, g.Items)
	assert.Panics(t, func() { c.Group(4, nil) })
	assert.Panics(t, func() { c.Group(1, []int{3}) })

	gs := c.Groups(1, 7)
	require.Len(t, gs, 2, "the unjudged query 3 has no group")
	assert.Len(t, gs[0].Items, 3)
	assert.Len(t, gs[1].Items, 2)
	assert.Equal(t, gs, c.Groups(1, 7))

	for _, f := range []string{"cran.all.1400", "cran.qry", "cranqrel"} {
		dir := t.TempDir()
		for _, g := range []string{"cran.all.1400", "cran.qry", "cranqrel"} {
			if g != f {
				b, err := os.ReadFile(filepath.Join("testdata/cranfield-mini", g))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, g), b, 0o644))
			}
		}
		_, err := LoadCranfield(dir)
		assert.ErrorIs(t, err, os.ErrNotExist)
		assert.ErrorContains(t, err, f)
	}
}

func TestCranfieldReal(t *testing.T) {
	dir := "../../testdata/data/cranfield"
	c, err := LoadCranfield(dir)
	require.NoError(t, err)
	assert.Len(t, c.Docs, 1400)
	assert.Len(t, c.Queries, 225)
	assert.Len(t, c.Qrels, 225)
	grades := map[int]int{}
	for _, m := range c.Qrels {
		for _, code := range m {
			grades[code]++
		}
	}
	// cranqrel: 128, 387, 734, 363 rows of codes 1..4 (225 rows of -1
	// dropped).
	assert.Equal(t, map[int]int{1: 128, 2: 387, 3: 734, 4: 363}, grades)
	assert.Equal(t, 365, c.Queries[224].Number)
	gs := c.Groups(20, 1)
	assert.Len(t, gs, 225)
	n := 0
	for _, g := range gs {
		n += len(g.Items)
	}
	assert.Equal(t, 1612+225*20, n)
}
