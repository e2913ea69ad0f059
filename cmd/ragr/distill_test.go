package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
)

// Both distillation stages from the CLI: the teacher's scores alone with
// flags, then teacher + student from one config.
func TestDistillCommand(t *testing.T) {
	tmp := t.TempDir()
	teacher, err := golden.TextModelDir(tmp, "qwen2-seqcls")
	require.NoError(t, err)
	var data strings.Builder
	for q := 0; q < 6; q++ {
		fmt.Fprintf(&data, `{"query": "w%d w%d", "pos": ["w%d w%d w%d"], "neg": ["w%d w%d", "w%d w%d w%d", "w%d"]}`+"\n",
			200+q, 300+q, 210+q, 220+q, 230+q, 240+q, 250+q, 260+q, 270+q, 280+q, 290+q)
	}
	in := filepath.Join(tmp, "pairs.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(data.String()), 0o644))
	scores := filepath.Join(tmp, "scores.jsonl")

	run1 := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		return code, out.String() + errb.String()
	}
	code, out := run1("distill", "reranker", "--teacher", teacher, "--data", in, "--out", scores, "--batch-size", "4")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "24/24 pairs")
	b, err := os.ReadFile(scores)
	require.NoError(t, err)
	assert.Equal(t, 24, strings.Count(string(b), "\n"))
	assert.Contains(t, string(b), `"score":`)

	// The teacher on the simulated accelerator writes the same file.
	simScores := filepath.Join(tmp, "scores-sim.jsonl")
	code, out = run1("distill", "reranker", "--teacher", teacher, "--data", in, "--out", simScores, "--batch-size", "4", "--teacher-device", "sim")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "(qwen2-seqcls on sim:0)")
	bs, err := os.ReadFile(simScores)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(bs))

	code, out = run1("distill", "reranker", "--teacher", teacher, "--data", in, "--out", scores)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "--force")
	code, out = run1("distill", "reranker", "--teacher", teacher, "--data", in, "--out", scores, "--force", "--format", "grouped")
	require.Equal(t, 0, code, out)
	b, err = os.ReadFile(scores)
	require.NoError(t, err)
	assert.Equal(t, 6, strings.Count(string(b), "\n"))
	assert.Contains(t, string(b), `"pos_scores":`)

	tok, err := filepath.Abs(filepath.Join("..", "..", "testdata", "data", "tokenizer-bert-base-chinese"))
	require.NoError(t, err)
	outDir := filepath.Join(tmp, "run")
	cfg := filepath.Join(tmp, "distill.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`teacher: %s
train_dataset: pairs.jsonl
tokenizer: %s
model_config: {hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64}
output_dir: run
loss_type: distill_soft_ce
epochs: 2
batch_size: 2
train_group_size: 4
max_len: 32
save_on_epoch_end: false
`, teacher, tok)), 0o644))
	code, out = run1("distill", "reranker", "--config", cfg, "--set", "lr=1e-3")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "student vs teacher on 6 training queries")
	assert.FileExists(t, filepath.Join(outDir, "teacher_scores.jsonl"))
	assert.FileExists(t, filepath.Join(outDir, "model", "config.json"))
	code, out = run1("distill", "reranker", "--config", cfg)
	assert.Equal(t, 1, code, "the scores file exists")
	assert.Contains(t, out, "teacher_scores.jsonl exists")

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"distill"}, 2, "needs a mode"},
		{[]string{"distill", "reranker"}, 2, "--teacher, --data and --out"},
		{[]string{"distill", "reranker", "--teacher", filepath.Join(tmp, "none"), "--data", in, "--out", filepath.Join(tmp, "x.jsonl")}, 1, "teacher directory"},
		{[]string{"distill", "reranker", "--config", cfg, "--set", "teacher_bogus=1"}, 2, "teacher_bogus"},
		{[]string{"distill", "reranker", "-h"}, 0, "Usage:"},
	} {
		code, out := run1(c.args...)
		assert.Equal(t, c.code, code, "%v: %s", c.args, out)
		assert.Contains(t, out, c.want)
	}
}
