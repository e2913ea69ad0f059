package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor/safetensors"
)

func TestCLIExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"help"}, 0, "bench cpu"},
		{[]string{"info"}, 0, "best="},
		{[]string{"info"}, 0, "cuda"},
		{nil, 2, "no command"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"bench"}, 2, "needs a suite"},
		{[]string{"bench", "cpu", "--threads", "zero"}, 2, "positive integer"},
		{[]string{"bench", "cpu", "--tiers", "sse9"}, 2, "unknown tier"},
		{[]string{"bench", "cpu", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"bench", "cpu", "-h"}, 0, "Usage: ragr bench cpu"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			assert.Equal(t, c.code, code, "stderr: %s", errb.String())
			assert.Contains(t, out.String()+errb.String(), c.out)
		})
	}
}

func TestForwardCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	require.NoError(t, os.WriteFile(in, []byte(`{"input_ids": [[101, 493, 102, 0], [101, 392, 436, 102]], "attention_mask": [[1,1,1,0],[1,1,1,1]]}`), 0o644))
	out := filepath.Join(dir, "out.safetensors")
	model := filepath.Join("..", "..", "testdata", "golden", "bert-tiny")
	var stdout, stderr bytes.Buffer
	code := run([]string{"forward", "--model", model, "--inputs", in, "--out", out}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	f, err := safetensors.Open(out)
	require.NoError(t, err)
	defer f.Close()
	info, err := f.Info("last_hidden_state")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 4, 32}, info.Shape)
	assert.Contains(t, stdout.String(), "pooler_output")

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"input_ids": [[101, 9999]]}`), 0o644))
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"forward", "--model", model, "--inputs", bad, "--out", out}, 2, "out of range"},
		{[]string{"forward", "--model", model, "--inputs", filepath.Join(dir, "missing.json"), "--out", out}, 2, "missing.json"},
		{[]string{"forward", "--model", dir, "--inputs", in, "--out", out}, 1, "config.json"},
		{[]string{"forward", "--inputs", in}, 2, "needs --model"},
	} {
		stderr.Reset()
		assert.Equal(t, c.code, run(c.args, &stdout, &stderr), stderr.String())
		assert.Contains(t, stderr.String(), c.msg)
	}
}

func TestTrainAndEvalCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, os.WriteFile(cfg, []byte(`model_type: cross_encoder
tokenizer: `+repo+`/testdata/data/tokenizer-bert-base-chinese
model_config: {hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
train_dataset: `+repo+`/testdata/data/rag-retrieval-example-data/t2rank_100.small.jsonl
loss_type: listwise_ce
train_group_size: 4
batch_size: 2
max_len: 32
epoch: 1
save_on_epoch_end: false
output_dir: `+dir+`/out
`), 0o644))
	var out, errb bytes.Buffer
	code := run([]string{"train", "reranker", "--config", cfg, "--set", "lr=1e-3"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "trained")
	out.Reset()
	code = run([]string{"eval", "reranker", "--model", dir + "/out/model", "--data", repo + "/testdata/data/rag-retrieval-example-data/t2rank_100.small.jsonl", "--max-len", "32"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "MAP")
	assert.Contains(t, out.String(), "BM25")
	// On the simulated accelerator: the same report.
	want := out.String()
	out.Reset()
	code = run([]string{"eval", "reranker", "--model", dir + "/out/model", "--data", repo + "/testdata/data/rag-retrieval-example-data/t2rank_100.small.jsonl", "--max-len", "32", "--device", "sim"}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Equal(t, want, out.String())
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"train"}, 2},
		{[]string{"train", "reranker"}, 2},
		{[]string{"train", "reranker", "--config", cfg, "--set", "batch_sise=3"}, 2},
		{[]string{"eval", "reranker", "--model", dir}, 2},
	} {
		errb.Reset()
		assert.Equal(t, c.code, run(c.args, &out, &errb), "%v: %s", c.args, errb.String())
	}
}
