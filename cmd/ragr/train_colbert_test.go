package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/colbert"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/tensor"
)

// ragr train colbert trains a tiny model whose export rerank's ColBERT
// family loads and scores as models/colbert does.
func TestTrainColBERTCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, os.WriteFile(cfg, []byte(`tokenizer: `+repo+`/testdata/data/tokenizer-bert-base-chinese
model_config: {hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
train_dataset: `+repo+`/testdata/data/rag-retrieval-example-data/t2rank_100.small.jsonl
colbert_dim: 8
neg_nums: 2
query_max_len: 16
passage_max_len: 32
batch_size: 2
temperature: 0.05
epoch: 1
max_steps: 3
save_on_epoch_end: false
output_dir: `+dir+`/out
`), 0o644))
	code, out, errs := runCLI("train", "colbert", "--config", cfg, "--set", "lr=1e-3")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "colbert_dim 8")
	assert.Contains(t, out, "trained 3 steps")

	model := filepath.Join(dir, "out", "model")
	r, err := rerank.Load(model, rerank.LoadOptions{MaxLength: 32})
	require.NoError(t, err)
	assert.Equal(t, "colbert", r.Family())
	pairs := []rerank.Pair{{Query: "硬盘插入时震动", Doc: "硬盘是十分精密的存储设备"}, {Query: "硬盘插入时震动", Doc: "今天天气很好"}, {Query: "序列号", Doc: "硬盘的物理序列号只有一个"}}
	got, err := r.ComputeScore(context.Background(), pairs, rerank.Options{})
	require.NoError(t, err)

	m, err := colbert.LoadDir(model)
	require.NoError(t, err)
	tok, err := tokenizer.Load(model)
	require.NoError(t, err)
	vec := func(text string) (*autograd.Var, *tensor.Tensor) {
		e := tok.Encode(text, true)
		ids := tensor.FromInt32(e.IDs, 1, len(e.IDs))
		mask := tensor.FromInt32(e.AttentionMask, 1, len(e.IDs))
		v, err := m.Vectors(bert.Inputs{IDs: ids, TypeIDs: tensor.FromInt32(e.TypeIDs, 1, len(e.IDs)), Mask: mask}, bert.RunOptions{})
		require.NoError(t, err)
		return v, mask
	}
	want := make([]float32, len(pairs))
	autograd.NoGrad(func() {
		for i, p := range pairs {
			qv, qm := vec(p.Query)
			dv, dm := vec(p.Doc)
			want[i] = colbert.MaxSim(qv, qm, dv, dm, colbert.ScoreOptions{SkipCLS: true, Average: true}).Value.Float32s()[0]
		}
	})
	testutil.AssertClose(t, "rerank colbert scores", got, want, testutil.F32)
	assert.NotEqual(t, got[0], got[1], "different documents score differently")

	code, _, errs = runCLI("train", "colbert", "--config", cfg, "--set", "colbert_dim=0")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "colbert_dim must be positive")
	code, _, errs = runCLI("train", "colbert", "--config", cfg, "--set", "pooling=mean")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `pooling "mean"`)
	code, _, errs = runCLI("train", "sparse")
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "reranker, embedding or colbert")
}
