package colbert

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models/bert"
)

func TestColBERTParity(t *testing.T) {
	dir := filepath.Join(golden.Root(), "colbert")
	c, err := golden.Load(dir)
	require.NoError(t, err)
	m, err := LoadDir(dir)
	require.NoError(t, err)
	get := func(p string) bert.Inputs {
		ids, err := c.Ints(p + "_input_ids")
		require.NoError(t, err)
		mask, _ := c.Ints(p + "_attention_mask")
		types, _ := c.Ints(p + "_token_type_ids")
		return bert.Inputs{IDs: ids, Mask: mask, TypeIDs: types}
	}
	qi, di := get("query"), get("doc")
	qo, err := m.Encoder.Forward(qi, bert.RunOptions{})
	require.NoError(t, err)
	do, err := m.Encoder.Forward(di, bert.RunOptions{})
	require.NoError(t, err)
	qv, err := m.Vectors(qi, bert.RunOptions{})
	require.NoError(t, err)
	dv, err := m.Vectors(di, bert.RunOptions{})
	require.NoError(t, err)
	hq, _ := m.Project(qi, bert.RunOptions{})
	hd, _ := m.Project(di, bert.RunOptions{})
	got := map[string]*autograd.Var{
		"query_last_hidden_state":    qo.Last,
		"doc_last_hidden_state":      do.Last,
		"query_colbert_vecs":         qv,
		"doc_colbert_vecs":           dv,
		"scores_maxsim_incl_cls":     MaxSim(qv, qi.Mask, dv, di.Mask, ScoreOptions{}),
		"scores_maxsim_excl_cls":     MaxSim(qv, qi.Mask, dv, di.Mask, ScoreOptions{SkipCLS: true}),
		"scores_maxsim_excl_cls_avg": MaxSim(qv, qi.Mask, dv, di.Mask, ScoreOptions{SkipCLS: true, Average: true}),
		"scores_rr":                  ScoreRR(hq, qi.IDs, qi.Mask, hd, di.IDs, 0, 101, 1e-12),
	}
	for _, n := range c.ExpectedNames() {
		g, ok := got[n]
		require.True(t, ok, "cannot compute %s", n)
		rel := testutil.RelL2(g.Value.Float32s(), c.Expected[n].Float32s())
		t.Logf("golden colbert %s relerr=%.2e", n, rel)
		require.Less(t, rel, 1e-4, n)
	}
}
