package train

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/train/data"
	"github.com/ragr-dev/ragr/train/report"
)

var stsDir = filepath.Join(repo, "testdata", "data", "sts-benchmark")

// stsTrainPairs writes the zh STS-B train pairs with score >= 4 (at most
// n) as embedding pair data {"query","pos"}.
func stsTrainPairs(t *testing.T, n int) string {
	f, err := os.Open(filepath.Join(stsDir, "zh-STS-B.train.data"))
	require.NoError(t, err)
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for k := 0; sc.Scan() && k < n; {
		c := strings.Split(sc.Text(), "\t")
		require.Len(t, c, 3)
		s, err := strconv.ParseFloat(c[2], 64)
		require.NoError(t, err)
		if s < 4 {
			continue
		}
		j, err := json.Marshal(map[string]any{"query": c[0], "pos": []string{c[1]}})
		require.NoError(t, err)
		b.Write(j)
		b.WriteByte('\n')
		k++
	}
	p := filepath.Join(t.TempDir(), "sts-pairs.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// headLines copies the first n lines of a file.
func headLines(t *testing.T, path string, n int) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	p := filepath.Join(t.TempDir(), filepath.Base(path))
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines[:min(n, len(lines))], "")), 0o644))
	return p
}

// stsConfig trains a from-scratch BERT (hidden 64, 2 layers, the
// bert-base-chinese tokenizer) on STS-B positive pairs with in-batch
// negatives, evaluating Spearman on the zh test split.
func stsConfig(t *testing.T, trainPairs, testPairs, steps int) Config {
	c := tinyConfig(t, t.TempDir())
	c.TrainDataset = stsTrainPairs(t, trainPairs)
	c.EvalSTS = headLines(t, filepath.Join(stsDir, "zh-STS-B.test.data"), testPairs)
	c.ModelConfig = map[string]any{"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
		"intermediate_size": 128, "max_position_embeddings": 64, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
	c.LossType, c.Pooling = DefaultConfig().LossType, "mean"
	c.BatchSize, c.MaxLen, c.Epochs, c.MaxSteps = 32, 32, 100, steps
	c.LR, c.Temperature, c.WarmupProportion = 1e-3, 0.05, 0.05
	c.MRLDims = []int{32}
	return c
}

// Issue 5 evidence: training on STS-B train pairs raises the Spearman
// correlation on (a slice of) the test split above its value at
// initialization.
func TestEmbeddingSTSSpearmanRises(t *testing.T) {
	cfg := stsConfig(t, 512, 400, 48)
	cfg.EvalSteps = 24
	var log strings.Builder
	res, err := TrainEmbedding(context.Background(), cfg, RunOptions{Out: &log})
	require.NoError(t, err, log.String())
	require.NotNil(t, res.Before)
	require.NotNil(t, res.After)
	before, after := res.Before["sts_spearman"], res.After["sts_spearman"]
	t.Logf("Spearman on 400 zh STS-B test pairs: %.4f -> %.4f (d32 %.4f -> %.4f) after %d steps",
		before, after, res.Before["sts_spearman/d32"], res.After["sts_spearman/d32"], res.Steps)
	assert.Greater(t, after, before+0.05, "training must raise Spearman")
	assert.Contains(t, log.String(), "after training:  sts_spearman")

	// metrics.jsonl holds the evaluations at 0, 24 and 48 (the last once).
	recs, err := report.ReadMetrics(filepath.Join(cfg.OutputDir, "metrics.jsonl"))
	require.NoError(t, err)
	var steps []int
	for _, r := range recs {
		if _, ok := r.Values["eval/sts_spearman/d32"]; ok {
			steps = append(steps, r.Step)
		}
	}
	assert.Equal(t, []int{0, 24, 48}, steps)
}

// Retrieval evaluation inside training: val_dataset (embedding JSONL) or
// eval_corpus/eval_queries/eval_qrels (here a Cranfield slice), at each
// MRL dimension, with metrics in [0, 1].
func TestEmbeddingTrainRetrievalEval(t *testing.T) {
	cran, err := data.LoadCranfield(filepath.Join(repo, "testdata", "data", "cranfield"))
	require.NoError(t, err)
	dir := t.TempDir()
	var cb, qb, rb strings.Builder
	js := func(b *strings.Builder, v any) {
		j, err := json.Marshal(v)
		require.NoError(t, err)
		b.Write(j)
		b.WriteByte('\n')
	}
	for _, d := range cran.Docs[:200] {
		js(&cb, map[string]any{"id": d.ID, "title": d.Title, "text": d.Text})
	}
	for _, q := range cran.Queries[:40] {
		js(&qb, map[string]any{"id": q.ID, "text": q.Text})
		for doc, code := range cran.Qrels[q.ID] {
			if doc <= 200 {
				rb.WriteString(strconv.Itoa(q.ID) + "\t" + strconv.Itoa(doc) + "\t" + strconv.Itoa(int(data.CranfieldLabel(code))) + "\n")
			}
		}
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	cases := []struct {
		name string
		set  func(c *Config)
	}{
		{"cranfield", func(c *Config) {
			c.EvalCorpus, c.EvalQueries, c.EvalQrels = write("c.jsonl", cb.String()), write("q.jsonl", qb.String()), write("r.tsv", rb.String())
		}},
		{"val_dataset", func(c *Config) { c.ValDataset = embedData(t, "triplet") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyEmbedConfig(t, embedData(t, "pair"))
			cfg.MaxSteps, cfg.MRLDims, cfg.MaxLen = 4, []int{16}, 48
			tc.set(&cfg)
			res, err := TrainEmbedding(context.Background(), cfg, RunOptions{})
			require.NoError(t, err)
			require.NotNil(t, res.After)
			for _, k := range []string{"ndcg@10", "mrr@10", "recall@1", "recall@10", "recall@100", "ndcg@10/d16", "recall@100/d16"} {
				v, ok := res.After[k]
				require.True(t, ok, "missing %s in %v", k, res.After)
				assert.True(t, v >= 0 && v <= 1, "%s = %v", k, v)
			}
			t.Logf("%s: nDCG@10 %.4f -> %.4f", tc.name, res.Before["ndcg@10"], res.After["ndcg@10"])
		})
	}
}

func TestEmbeddingEvalBadConfig(t *testing.T) {
	pair := embedData(t, "pair")
	cases := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"partial beir", func(c *Config) { c.EvalCorpus = pair }, "eval_corpus, eval_queries and eval_qrels go together"},
		{"both", func(c *Config) { c.EvalCorpus, c.EvalQueries, c.EvalQrels, c.ValDataset = pair, pair, pair, pair }, "not both"},
		{"sts split", func(c *Config) { c.EvalSTS = filepath.Join(stsDir, "en-stsbenchmark.tsv.gz") }, "choose one"},
		{"split alone", func(c *Config) { c.EvalSTSSplit = "dev" }, "eval_sts_split without eval_sts"},
		{"bad val", func(c *Config) { c.ValDataset = filepath.Join(stsDir, "zh-STS-B.test.data") }, "zh-STS-B.test.data:1"},
		{"mrl too wide", func(c *Config) { c.EvalSTS = filepath.Join(stsDir, "zh-STS-B.test.data"); c.MRLDims = []int{64} }, "exceeds the model's hidden size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyEmbedConfig(t, pair)
			c.mod(&cfg)
			_, err := TrainEmbedding(context.Background(), cfg, RunOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			_, statErr := os.Stat(filepath.Join(cfg.OutputDir, "metrics.jsonl"))
			assert.True(t, os.IsNotExist(statErr), "no training before the error")
		})
	}
}
