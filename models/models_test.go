package models

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

func TestParseConfigErrors(t *testing.T) {
	for name, c := range map[string]struct {
		body, msg string
	}{
		"malformed":  {`{"model_type": "bert",`, "malformed config.json"},
		"no type":    {`{"hidden_size": 3}`, "neither model_type nor architectures"},
		"wrong type": {`{"model_type": 5}`, "malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.body), "x/config.json")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
			assert.Contains(t, err.Error(), "x/config.json")
		})
	}
	c, err := ParseConfig([]byte(`{"architectures": ["BertForSequenceClassification"], "id2label": {"0": "LABEL_0"}}`), "c")
	require.NoError(t, err)
	assert.Equal(t, 1, c.NumLabels)
	assert.Equal(t, "BertForSequenceClassification", c.Architecture())
	_, err = LoadConfig(filepath.Join(t.TempDir(), "none.json"))
	assert.Error(t, err)
}

func TestLoadParams(t *testing.T) {
	mk := func() []nn.NamedParam {
		return []nn.NamedParam{
			{Name: "a.weight", Var: autograd.Param(tensor.Zeros(2, 3), "")},
			{Name: "a.bias", Var: autograd.Param(tensor.Zeros(2), "")},
		}
	}
	good := NewMapWeights(map[string]*tensor.Tensor{
		"bert.a.weight": tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"bert.a.bias":   tensor.FromFloat32([]float32{7, 8}, 2).Cast(tensor.BFloat16),
	}, "w.bin")
	ps := mk()
	require.NoError(t, LoadParams(ps, good, LoadOptions{Prefixes: []string{"bert."}}))
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, ps[0].Var.Value.Float32s())
	assert.Equal(t, []float32{7, 8}, ps[1].Var.Value.Float32s())

	err := LoadParams(mk(), good, LoadOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing tensors a.weight, a.bias")
	assert.Contains(t, err.Error(), "w.bin")

	bad := NewMapWeights(map[string]*tensor.Tensor{"a.weight": tensor.Zeros(3, 2), "a.bias": tensor.Zeros(2)}, "w2.bin")
	err = LoadParams(mk(), bad, LoadOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tensor "a.weight" has shape [3 2], want [2 3]`)

	ints := NewMapWeights(map[string]*tensor.Tensor{"a.weight": tensor.New(tensor.Int32, 2, 3), "a.bias": tensor.Zeros(2)}, "w3.bin")
	err = LoadParams(mk(), ints, LoadOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a float tensor")

	opt := LoadOptions{Optional: func(n string) bool { return n == "a.bias" }}
	require.NoError(t, LoadParams(mk(), NewMapWeights(map[string]*tensor.Tensor{"a.weight": tensor.Zeros(2, 3)}, "w4"), opt))
}

func TestOpenWeightsErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenWeights(dir)
	require.ErrorIs(t, err, ErrNoWeights)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte("garbage"), 0o644))
	_, err = OpenWeights(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "model.safetensors")
	_, err = OpenWeightsFile(filepath.Join(dir, "weights.h5"))
	assert.Error(t, err)
}

func TestSentenceTransformerRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st := &SentenceTransformer{Pooling: PoolMean, Dim: 4, Normalize: true, IncludePrompt: true,
		Dense: []DenseLayer{{In: 4, Out: 2, Weight: tensor.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4), Bias: tensor.FromFloat32([]float32{-1, 1}, 2)}}}
	require.NoError(t, WriteSentenceTransformer(dir, st))
	got, err := ReadSentenceTransformer(dir)
	require.NoError(t, err)
	assert.Equal(t, PoolMean, got.Pooling)
	assert.Equal(t, 4, got.Dim)
	assert.True(t, got.Normalize)
	require.Len(t, got.Dense, 1)
	assert.Equal(t, st.Dense[0].Weight.Float32s(), got.Dense[0].Weight.Float32s())
	assert.Equal(t, []float32{-1, 1}, got.Dense[0].Bias.Float32s())
	assert.Equal(t, "torch.nn.modules.linear.Identity", got.Dense[0].Activation)

	none, err := ReadSentenceTransformer(t.TempDir())
	require.NoError(t, err)
	assert.Nil(t, none)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.json"), []byte(`[{"idx":0,"path":"x","type":"sentence_transformers.models.LSTM"}]`), 0o644))
	_, err = ReadSentenceTransformer(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "LSTM")
}

// The same weights from a pytorch_model.bin written by real torch.save and
// from the safetensors original are equal tensor by tensor.
func TestTorchBinMatchesSafetensors(t *testing.T) {
	bin, err := OpenWeightsFile(filepath.Join("..", "tensor", "torchbin", "testdata", "real", "bert-tiny.pytorch_model.bin"))
	require.NoError(t, err)
	st, err := OpenWeightsFile(filepath.Join("..", "testdata", "golden", "bert-tiny", "model.safetensors"))
	require.NoError(t, err)
	defer st.Close()
	require.Equal(t, st.Names(), bin.Names())
	for _, n := range st.Names() {
		want, err := st.Float32(n)
		require.NoError(t, err)
		got, err := bin.Float32(n)
		require.NoError(t, err)
		require.Equal(t, want.Shape(), got.Shape(), n)
		require.Equal(t, want.Float32s(), got.Float32s(), n)
	}
}
