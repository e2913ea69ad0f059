package colbert

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/torchbin"
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

// A directory with colbert_linear.pt (torch.save, as Python ColBERT
// trainers write it) instead of colbert_linear.safetensors loads the same
// projection; with both, the safetensors file wins.
func TestLoadDirLinearPt(t *testing.T) {
	src := filepath.Join(golden.Root(), "colbert")
	ref, err := LoadDir(src)
	require.NoError(t, err)
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	w, b := ref.Linear.Weight.Value, ref.Linear.Bias.Value
	require.NoError(t, torchbin.Save(filepath.Join(dir, "colbert_linear.pt"), []torchbin.NamedTensor{{Name: "weight", Tensor: w}, {Name: "bias", Tensor: b}}, nil))
	require.True(t, HasLinear(dir))
	m, err := LoadDir(dir)
	require.NoError(t, err)
	testutil.AssertClose(t, "weight from .pt", m.Linear.Weight.Value.Float32s(), w.Float32s(), testutil.Exact)
	testutil.AssertClose(t, "bias from .pt", m.Linear.Bias.Value.Float32s(), b.Float32s(), testutil.Exact)

	// A .pt with other values beside the safetensors file is ignored.
	st, err := os.ReadFile(filepath.Join(src, "colbert_linear.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "colbert_linear.safetensors"), st, 0o644))
	zeros := tensor.ZerosLike(w)
	require.NoError(t, torchbin.Save(filepath.Join(dir, "colbert_linear.pt"), []torchbin.NamedTensor{{Name: "weight", Tensor: zeros}, {Name: "bias", Tensor: tensor.ZerosLike(b)}}, nil))
	m, err = LoadDir(dir)
	require.NoError(t, err)
	testutil.AssertClose(t, "weight prefers safetensors", m.Linear.Weight.Value.Float32s(), w.Float32s(), testutil.Exact)
}
