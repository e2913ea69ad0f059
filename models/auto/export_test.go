package auto

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/tensor"
)

// Exporting a loaded model and loading the export gives identical outputs.
func TestExportRoundTrip(t *testing.T) {
	for _, name := range []string{"bert-cross-encoder", "xlmr-cross-encoder", "bert-tiny"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(golden.Root(), name)
			cfg, err := models.LoadConfig(filepath.Join(src, "config.json"))
			require.NoError(t, err)
			w, err := models.OpenWeights(src)
			require.NoError(t, err)
			var params []models.NamedParamLister
			if cfg.Architecture() == "BertModel" {
				m, err := bert.LoadModel(cfg, w)
				require.NoError(t, err)
				params = append(params, m)
			} else {
				m, err := bert.LoadClassifier(cfg, w)
				require.NoError(t, err)
				params = append(params, m)
			}
			w.Close()
			out := t.TempDir()
			require.NoError(t, models.Export(out, params[0].NamedParams(""), models.ExportOptions{Config: cfg}))
			a, err := Load(src)
			require.NoError(t, err)
			b, err := Load(out)
			require.NoError(t, err)
			c, err := golden.Load(src)
			require.NoError(t, err)
			ids, _ := c.Ints("input_ids")
			mask, _ := c.Ints("attention_mask")
			in := Inputs{IDs: ids, Mask: mask}
			oa, err := a.Forward(in)
			require.NoError(t, err)
			ob, err := b.Forward(in)
			require.NoError(t, err)
			require.Equal(t, len(oa), len(ob))
			for k, v := range oa {
				testutil.AssertClose(t, k, ob[k].Float32s(), v.Float32s(), testutil.Exact)
			}
		})
	}
}

// A sentence-transformers directory (mean pooling, a Dense layer,
// Normalize) gives sentence_embedding = normalize(W·mean + b).
func TestSentenceTransformerDir(t *testing.T) {
	src := filepath.Join(golden.Root(), "bert-tiny")
	cfg, err := models.LoadConfig(filepath.Join(src, "config.json"))
	require.NoError(t, err)
	w, err := models.OpenWeights(src)
	require.NoError(t, err)
	m, err := bert.LoadModel(cfg, w)
	require.NoError(t, err)
	w.Close()
	dir := t.TempDir()
	require.NoError(t, models.Export(dir, m.NamedParams(""), models.ExportOptions{Config: cfg}))
	rng := tensor.NewRNG(4)
	dense := models.DenseLayer{In: 32, Out: 8, Weight: rng.Normal(0, 0.2, 8, 32), Bias: rng.Normal(0, 0.1, 8)}
	require.NoError(t, models.WriteSentenceTransformer(dir, &models.SentenceTransformer{Pooling: models.PoolMean, Dim: 32, Dense: []models.DenseLayer{dense}, Normalize: true}))
	a, err := Load(dir)
	require.NoError(t, err)
	c, err := golden.Load(src)
	require.NoError(t, err)
	ids, _ := c.Ints("input_ids")
	mask, _ := c.Ints("attention_mask")
	out, err := a.Forward(Inputs{IDs: ids, Mask: mask})
	require.NoError(t, err)
	se := out["sentence_embedding"]
	require.NotNil(t, se)
	require.Equal(t, []int{3, 8}, se.Shape())
	want := tensor.Linear(out["mean_pooled_embedding"], dense.Weight, dense.Bias)
	want = tensor.Div(want, tensor.Norm(want, -1, true))
	testutil.AssertClose(t, "sentence_embedding", se.Float32s(), want.Float32s(), testutil.F32)
}

// A model directory holding a pytorch_model.bin written by real torch.save
// loads through the same loader and computes exactly what the safetensors
// directory computes.
func TestPytorchModelBinDir(t *testing.T) {
	src := filepath.Join(golden.Root(), "bert-tiny")
	dir := t.TempDir()
	for from, to := range map[string]string{
		filepath.Join(src, "config.json"): filepath.Join(dir, "config.json"),
		filepath.Join("..", "..", "tensor", "torchbin", "testdata", "real", "bert-tiny.pytorch_model.bin"): filepath.Join(dir, "pytorch_model.bin"),
	} {
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to, b, 0o644))
	}
	a, err := Load(src)
	require.NoError(t, err)
	b, err := Load(dir)
	require.NoError(t, err)
	c, err := golden.Load(src)
	require.NoError(t, err)
	ids, _ := c.Ints("input_ids")
	mask, _ := c.Ints("attention_mask")
	oa, err := a.Forward(Inputs{IDs: ids, Mask: mask})
	require.NoError(t, err)
	ob, err := b.Forward(Inputs{IDs: ids, Mask: mask})
	require.NoError(t, err)
	for k, v := range oa {
		testutil.AssertClose(t, k, ob[k].Float32s(), v.Float32s(), testutil.Exact)
	}
}
