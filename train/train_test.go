package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models/auto"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
	"github.com/ragr-dev/ragr/train/data"
)

const repo = "../"

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	writeFile(t, p, `
model_name_or_path: "hfl/chinese-roberta-wwm-ext"
model_type: cross_encoder
train_dataset: data.jsonl
loss_type: pairwise_ranknet
epoch: 3
lr: 2e-5
batch_size: 4
train_group_size: 4
max_len: 128
log_with: wandb
mixed_precision: fp16
`)
	c, err := LoadConfig(p)
	require.NoError(t, err)
	assert.Equal(t, 3, c.Epochs)
	assert.Equal(t, 2e-5, c.LR)
	assert.Equal(t, "pairwise_ranknet", c.LossType)
	assert.Equal(t, filepath.Join(dir, "data.jsonl"), c.TrainDataset)
	assert.Contains(t, c.Ignored, "log_with")
	assert.Equal(t, 666, int(c.Seed), "RAG-Retrieval's default seed")
	require.NoError(t, c.Set("lr=1e-4"))
	require.NoError(t, c.Set("epoch=5"))
	assert.Equal(t, 1e-4, c.LR)
	assert.Equal(t, 5, c.Epochs)
	assert.Contains(t, c.Ignored, "log_with", "overrides keep the ignored keys")
	assert.Error(t, c.Set("nonsense"))
	assert.Error(t, c.Set("no_such_key=1"))

	writeFile(t, p, "lr: 1e-5\nbatch_sise: 3\n")
	_, err = LoadConfig(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "batch_sise")
	assert.Contains(t, err.Error(), p)

	writeFile(t, p, "lr: [\n")
	_, err = LoadConfig(p)
	assert.ErrorContains(t, err, "malformed YAML")

	bad := DefaultConfig()
	bad.LR, bad.BatchSize, bad.ModelType = -1, 0, "lstm"
	err = bad.Validate()
	require.Error(t, err)
	for _, want := range []string{"train_dataset is required", "lr must be positive", "batch_size", "lstm"} {
		assert.Contains(t, err.Error(), want)
	}
}

// tinyConfig trains a 2-layer, 32-wide BERT cross-encoder from scratch on
// the small RAG-Retrieval example file with the bert-base-chinese vocabulary.
func tinyConfig(t *testing.T, out string) Config {
	c := DefaultConfig()
	c.Path = "test"
	c.TrainDataset = filepath.Join(repo, "testdata", "data", "rag-retrieval-example-data", "t2rank_100.small.jsonl")
	c.Tokenizer = filepath.Join(repo, "testdata", "data", "tokenizer-bert-base-chinese")
	c.ModelConfig = map[string]any{"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
		"intermediate_size": 64, "max_position_embeddings": 128, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
	c.LossType = "listwise_ce"
	c.LR, c.Epochs, c.BatchSize, c.TrainGroupSize, c.MaxLen = 5e-3, 12, 2, 4, 48
	c.WarmupProportion, c.SaveOnEpochEnd, c.NumMaxCheckpoints = 0.1, false, 2
	c.OutputDir = out
	return c
}

func TestTrainRerankerLossFallsAndExports(t *testing.T) {
	out := t.TempDir()
	cfg := tinyConfig(t, out)
	cfg.ValProportion = 0.2
	var log strings.Builder
	res, err := TrainReranker(context.Background(), cfg, RunOptions{Out: &log})
	require.NoError(t, err, log.String())
	n := len(res.Losses)
	require.GreaterOrEqual(t, n, 12, log.String())
	first := mean(res.Losses[:n/3])
	last := mean(res.Losses[n-n/3:])
	t.Logf("loss %.4f -> %.4f over %d steps", first, last, n)
	assert.Less(t, last, 0.8*first, "the loss must fall")
	require.NotNil(t, res.Before)
	require.NotNil(t, res.After)
	for _, f := range []string{"metrics.jsonl", "loss.png", "model/config.json", "model/model.safetensors", "model/tokenizer.json"} {
		_, err := os.Stat(filepath.Join(out, f))
		assert.NoError(t, err, f)
	}
	// The export loads with ragr's own loader and scores as the trained model.
	m, err := auto.Load(res.ModelDir)
	require.NoError(t, err)
	assert.Equal(t, "BertForSequenceClassification", m.Architecture())
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// An interrupted run resumed from its checkpoint continues with exactly the
// losses and weights of an uninterrupted run.
func TestResumeReproducesUninterruptedRun(t *testing.T) {
	full := tinyConfig(t, t.TempDir())
	full.Epochs, full.MaxSteps = 3, 8
	a, err := TrainReranker(context.Background(), full, RunOptions{})
	require.NoError(t, err)
	require.Len(t, a.Losses, 8)

	cut := tinyConfig(t, t.TempDir())
	cut.Epochs, cut.MaxSteps = 3, 8
	ctx, cancel := context.WithCancel(context.Background())
	b1, err := TrainReranker(ctx, cut, RunOptions{OnStep: func(s StepInfo) {
		if s.Step == 5 {
			cancel()
		}
	}})
	require.True(t, errors.Is(err, ErrInterrupted), "got %v", err)
	require.Equal(t, 5, b1.Steps)
	b2, err := TrainReranker(context.Background(), cut, RunOptions{Resume: "latest"})
	require.NoError(t, err)
	got := append(append([]float64{}, b1.Losses...), b2.Losses...)
	testutil.AssertClose(t, "losses", got, a.Losses, testutil.Exact)
	wa, err := safetensors.Open(filepath.Join(a.ModelDir, "model.safetensors"))
	require.NoError(t, err)
	defer wa.Close()
	wb, err := safetensors.Open(filepath.Join(b2.ModelDir, "model.safetensors"))
	require.NoError(t, err)
	defer wb.Close()
	for _, n := range wa.Names() {
		ta, _ := wa.Float32(n)
		tb, err := wb.Float32(n)
		require.NoError(t, err)
		testutil.AssertClose(t, n, tb.Float32s(), ta.Float32s(), testutil.Exact)
	}
}

func TestTrainRerankerBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	writeFile(t, bad, "{\"query\": \"q\", \"pos\": [\"a\"], \"neg\": [\"b\", \"c\", \"d\"]}\n{\"query\": \"q2\", \"pos\": 5}\n")
	cases := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"malformed line", func(c *Config) { c.TrainDataset = bad }, "bad.jsonl:2"},
		{"missing file", func(c *Config) { c.TrainDataset = filepath.Join(dir, "none.jsonl") }, "none.jsonl"},
		{"unknown loss", func(c *Config) { c.LossType = "hinge_of_doom" }, "hinge_of_doom"},
		{"group too large", func(c *Config) { c.TrainGroupSize = 40; c.NoReplacement = true }, "train_group_size"},
		{"missing model", func(c *Config) { c.ModelConfig = nil; c.ModelNameOrPath = filepath.Join(dir, "nomodel") }, "nomodel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(t, t.TempDir())
			c.mod(&cfg)
			_, err := TrainReranker(context.Background(), cfg, RunOptions{})
			require.Error(t, err)
			assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(c.want))
		})
	}
}

// A Qwen2 sequence-classification reranker (llm_decoder) trains from a
// fresh init with the Qwen2 BPE tokenizer, and its export loads back.
func TestTrainLLMReranker(t *testing.T) {
	out := t.TempDir()
	c := tinyConfig(t, out)
	c.ModelType = "llm_decoder"
	c.Tokenizer = filepath.Join(repo, "testdata", "data", "tokenizer-qwen2-bpe-from-qwen3")
	c.ModelConfig = map[string]any{"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"intermediate_size": 64, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "pad_token_id": 151645}
	c.LossType = "pairwise_ranknet"
	c.Epochs, c.MaxSteps, c.MaxLen = 2, 6, 64
	res, err := TrainReranker(context.Background(), c, RunOptions{})
	require.NoError(t, err)
	require.Len(t, res.Losses, 6)
	m, err := auto.Load(res.ModelDir)
	require.NoError(t, err)
	assert.Equal(t, "Qwen2ForSequenceClassification", m.Architecture())
	r, err := EvalReranker(res.ModelDir, c.TrainDataset, 64, 16, data.Options{}, tensor.CPU)
	require.NoError(t, err)
	assert.Equal(t, 11, r.Scored) // t2rank_100.small.jsonl has 11 queries
}
