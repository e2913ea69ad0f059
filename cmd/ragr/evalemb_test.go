package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ragr eval embedding on a model trained for a few steps by ragr train
// embedding: retrieval over embedding JSONL and over corpus / queries /
// qrels, and STS, with MRL rows; bad usage exits 2, bad data names the
// file and line.
func TestEvalEmbeddingCommand(t *testing.T) {
	dir := t.TempDir()
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	td := repo + "/testdata/data"
	cfg := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`tokenizer: `+td+`/tokenizer-bert-base-chinese
model_config: {hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
train_dataset: `+td+`/rag-retrieval-example-data/t2rank_100.small.jsonl
batch_size: 4
neg_nums: 1
max_len: 32
max_steps: 2
save_on_epoch_end: false
output_dir: `+dir+`/out
`), 0o644))
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"train", "embedding", "--config", cfg}, &out, &errb), errb.String())
	model := dir + "/out/model"
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	corpus := write("corpus.jsonl", `{"id":"d1","text":"硬盘插入时震动"}
{"id":"d2","text":"今天天气很好"}
{"id":"d3","text":"适合出去走走"}
`)
	queries := write("queries.jsonl", `{"id":"q1","text":"硬盘"}
{"id":"q2","text":"天气"}
`)
	qrels := write("qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
	sts := td + "/sts-benchmark/zh-STS-B.test.data"

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"data", []string{"--data", td + "/rag-retrieval-example-data/t2rank_100.small.jsonl", "--mrl-dims", "8"}, []string{"nDCG@10", "R@100", "\n    8  ", "\n   16  "}},
		{"beir", []string{"--corpus", corpus, "--queries", queries, "--qrels", qrels, "--batch", "2"}, []string{"3 documents, 2 queries (2 with relevant documents)", "R@1", "\n   16  "}},
		{"sts", []string{"--sts", sts, "--mrl-dims", "4,8", "--max-len", "24"}, []string{"1361 pairs", "Spearman", "\n    4  ", "\n    8  "}},
		{"sts en", []string{"--sts", td + "/sts-benchmark/en-stsbenchmark.tsv.gz", "--split", "dev", "--batch", "64", "--max-len", "24"}, []string{"1500 pairs", "Pearson"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out.Reset()
			errb.Reset()
			code := run(append([]string{"eval", "embedding", "--model", model}, c.args...), &out, &errb)
			require.Equal(t, 0, code, errb.String())
			t.Logf("\n%s", out.String())
			for _, w := range c.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
	// On the simulated accelerator: the same table.
	beir := []string{"eval", "embedding", "--model", model, "--corpus", corpus, "--queries", queries, "--qrels", qrels, "--mrl-dims", "8"}
	out.Reset()
	require.Equal(t, 0, run(beir, &out, &errb), errb.String())
	want := out.String()
	out.Reset()
	require.Equal(t, 0, run(append(beir, "--device", "sim"), &out, &errb), errb.String())
	assert.Equal(t, want, out.String())

	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--sts", sts, "--data", corpus}, 2, "exactly one of"},
		{[]string{"--corpus", corpus}, 2, "go together"},
		{[]string{"--sts", sts, "--mrl-dims", "8,x"}, 2, "--mrl-dims"},
		{[]string{"--sts", sts, "--mrl-dims", "64"}, 1, "MRL dimension 64 is outside 1..16"},
		{[]string{"--sts", corpus}, 1, "corpus.jsonl:1: want 3 tab-separated columns"},
		{[]string{"--corpus", corpus, "--queries", queries, "--qrels", write("bad.tsv", "q1\td9\t1\n")}, 1, `bad.tsv:1: doc_id "d9" is not in`},
		{[]string{"--sts", sts, "--split", "dev"}, 1, "has no split column"},
	}
	for _, c := range bad {
		errb.Reset()
		code := run(append([]string{"eval", "embedding", "--model", model}, c.args...), &out, &errb)
		assert.Equal(t, c.code, code, "%v: %s", c.args, errb.String())
		assert.True(t, strings.Contains(errb.String(), c.want), "%v: %s", c.args, errb.String())
	}
}
