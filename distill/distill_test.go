package distill

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/rerank"
)

const repo = "../"

// words returns n words of the golden models' vocabulary (ids 200…499).
func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%d", 200+r.IntN(300))
	}
	return strings.Join(w, " ")
}

// writeData writes nq {"query","pos","neg"} lines of 2 + 6 documents made
// of the golden vocabulary's words, and returns the file.
func writeData(t *testing.T, dir string, nq int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	for q := 0; q < nq; q++ {
		line := map[string]any{"query": words(r, 3)}
		var pos, neg []string
		for i := 0; i < 2; i++ {
			pos = append(pos, words(r, 4+r.IntN(8)))
		}
		for i := 0; i < 6; i++ {
			neg = append(neg, words(r, 4+r.IntN(8)))
		}
		line["pos"], line["neg"] = pos, neg
		j, err := json.Marshal(line)
		require.NoError(t, err)
		b.Write(j)
		b.WriteByte('\n')
	}
	p := filepath.Join(dir, "pairs.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// teacherDir makes a runnable copy of a golden Qwen2 model (vocab.txt of
// golden.TextModelDir); yes, when set, goes into rerank.json.
func teacherDir(t *testing.T, name, rerankJSON string) string {
	t.Helper()
	dir, err := golden.TextModelDir(t.TempDir(), name)
	require.NoError(t, err)
	if rerankJSON != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "rerank.json"), []byte(rerankJSON), 0o644))
	}
	return dir
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}

// Stage 1 writes one soft label per pair, in the input's order, equal to
// the teacher reranker's normalized ComputeScore on the same pairs; flat
// and grouped files carry the same scores.
func TestScoreFileMatchesReranker(t *testing.T) {
	tmp := t.TempDir()
	in := writeData(t, tmp, 5)
	cases := []struct {
		name    string
		dir     string
		teacher Teacher
		family  string
	}{
		{"qwen2-seqcls", teacherDir(t, "qwen2-seqcls", ""), Teacher{}, "qwen2-seqcls"},
		{"causal yes from rerank.json", teacherDir(t, "qwen2-tiny", `{"yes_token": "w7", "special_token": "w9"}`), Teacher{}, "causal-lm-yes"},
		{"causal yes from keys", teacherDir(t, "qwen2-tiny", ""), Teacher{YesToken: "w300", QueryFormat: "{}", DocumentFormat: "{}"}, "causal-lm-yes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.teacher.Dir, c.teacher.BatchSize = c.dir, 3
			flat := filepath.Join(t.TempDir(), "flat.jsonl")
			var progress strings.Builder
			res, err := ScoreFile(context.Background(), ScoreOptions{Teacher: c.teacher, Data: in, Out: flat, Progress: &progress})
			require.NoError(t, err)
			assert.Equal(t, c.family, res.Family)
			assert.Equal(t, 40, res.Pairs)
			assert.Contains(t, progress.String(), "40/40 pairs")

			// The reference: the same pairs through rerank directly.
			pc, err := c.teacher.prompt()
			require.NoError(t, err)
			r, err := rerank.Load(c.dir, rerank.LoadOptions{Prompt: pc})
			require.NoError(t, err)
			var pairs []rerank.Pair
			var src []map[string]any
			for _, l := range readLines(t, in) {
				src = append(src, l)
				for _, k := range []string{"pos", "neg"} {
					for _, d := range l[k].([]any) {
						pairs = append(pairs, rerank.Pair{Query: l["query"].(string), Doc: d.(string)})
					}
				}
			}
			want, err := r.ComputeScore(context.Background(), pairs, rerank.Options{Normalize: true})
			require.NoError(t, err)

			lines := readLines(t, flat)
			require.Len(t, lines, len(pairs))
			got := make([]float32, len(lines))
			for i, l := range lines {
				assert.Equal(t, pairs[i].Query, l["query"])
				assert.Equal(t, pairs[i].Doc, l["content"])
				got[i] = float32(l["score"].(float64))
			}
			testutil.AssertClose(t, "soft labels vs Reranker.ComputeScore", got, want, testutil.F32)
			spread := 0.0
			for i := range got {
				spread = max(spread, float64(got[i]-got[0]), float64(got[0]-got[i]))
			}
			t.Logf("%s: teacher soft labels %v… (spread %.3g)", c.name, got[:4], spread)
			assert.Greater(t, spread, 1e-4, "the teacher's scores must vary")

			grouped := filepath.Join(t.TempDir(), "grouped.jsonl")
			_, err = ScoreFile(context.Background(), ScoreOptions{Teacher: c.teacher, Data: in, Out: grouped, Format: FormatGrouped})
			require.NoError(t, err)
			gl := readLines(t, grouped)
			require.Len(t, gl, len(src))
			var gs []float32
			for i, l := range gl {
				assert.Equal(t, src[i]["query"], l["query"])
				assert.Len(t, l["pos"], 8)
				for _, s := range l["pos_scores"].([]any) {
					gs = append(gs, float32(s.(float64)))
				}
			}
			testutil.AssertClose(t, "grouped = flat", gs, got, testutil.Exact)
		})
	}
}

// distillYAML is a two-stage config: a golden Qwen2 teacher and a fresh
// 2-layer, 32-wide BERT student with the bert-base-chinese vocabulary.
func distillYAML(t *testing.T, teacher, dataPath, out, extra string) string {
	t.Helper()
	tok, err := filepath.Abs(filepath.Join(repo, "testdata", "data", "tokenizer-bert-base-chinese"))
	require.NoError(t, err)
	y := fmt.Sprintf(`teacher: %s
teacher_batch_size: 16
train_dataset: %s
tokenizer: %s
model_config:
  hidden_size: 32
  num_hidden_layers: 2
  num_attention_heads: 2
  intermediate_size: 64
  max_position_embeddings: 128
  hidden_dropout_prob: 0.0
  attention_probs_dropout_prob: 0.0
output_dir: %s
lr: 3e-3
epochs: 12
batch_size: 4
train_group_size: 8
max_len: 48
warmup_proportion: 0.05
save_on_epoch_end: false
log_interval: 1000
%s`, teacher, dataPath, tok, out, extra)
	p := filepath.Join(t.TempDir(), "distill.yaml")
	require.NoError(t, os.WriteFile(p, []byte(y), 0o644))
	return p
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Both stages from one config: the loss falls and the student agrees with
// the teacher more after training than at initialization.
func TestRunDistillsTeacherIntoStudent(t *testing.T) {
	tmp := t.TempDir()
	in := writeData(t, tmp, 16)
	for _, c := range []struct{ name, teacher, extra string }{
		{"seqcls teacher, distill_mse", teacherDir(t, "qwen2-seqcls", ""), ""},
		{"causal teacher, distill_kl", teacherDir(t, "qwen2-tiny", ""), "teacher_yes_token: w7\nloss_type: distill_kl\ndistill_temperature: 0.5\nteacher_scores_format: grouped\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			cfg, err := LoadConfig(distillYAML(t, c.teacher, in, out, c.extra))
			require.NoError(t, err)
			var log strings.Builder
			res, err := Run(context.Background(), cfg, RunOptions{Out: &log})
			require.NoError(t, err, log.String())
			require.NotNil(t, res.Scores)
			assert.Equal(t, 128, res.Scores.Pairs)
			assert.FileExists(t, filepath.Join(out, DefaultScoresFile))
			assert.FileExists(t, filepath.Join(out, "model", "model.safetensors"))
			l := res.Train.Losses
			n := len(l)
			require.GreaterOrEqual(t, n, 30)
			first, last := mean(l[:n/3]), mean(l[n-n/3:])
			b, a := res.Before, res.After
			t.Logf("loss %.4f -> %.4f over %d steps; Spearman %.3f -> %.3f, pairwise %.3f -> %.3f (%d queries, %d pairs)",
				first, last, n, b.Spearman, a.Spearman, b.Pairwise, a.Pairwise, a.Queries, a.Pairs)
			assert.Less(t, last, first, "the loss must fall")
			assert.Equal(t, 16, a.Queries)
			assert.Greater(t, a.Spearman, b.Spearman+0.1)
			assert.Greater(t, a.Pairwise, b.Pairwise+0.05)
			assert.Contains(t, log.String(), "student vs teacher")
		})
	}
}

func TestScoreFileBadInput(t *testing.T) {
	tmp := t.TempDir()
	in := writeData(t, tmp, 2)
	seqcls := teacherDir(t, "qwen2-seqcls", "")
	bad := filepath.Join(tmp, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"query": "w300", "content": "w301 w302"}`+"\n"+`{"query": "w300", "hits": [{"content": 5}]}`+"\n"), 0o644))
	colbert, err := golden.TextModelDir(t.TempDir(), "colbert")
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(golden.Root(), "colbert", "colbert_linear.safetensors"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(colbert, "colbert_linear.safetensors"), b, 0o644))
	exists := filepath.Join(tmp, "exists.jsonl")
	require.NoError(t, os.WriteFile(exists, []byte("keep\n"), 0o644))
	cases := []struct {
		name string
		o    ScoreOptions
		want []string
	}{
		{"missing teacher dir", ScoreOptions{Teacher: Teacher{Dir: filepath.Join(tmp, "nope")}, Data: in}, []string{"teacher directory", "nope"}},
		{"no teacher", ScoreOptions{Data: in}, []string{"no teacher"}},
		{"bare encoder", ScoreOptions{Teacher: Teacher{Dir: filepath.Join(golden.Root(), "bert-tiny")}, Data: in}, []string{"not a reranker", "bert-tiny"}},
		{"colbert", ScoreOptions{Teacher: Teacher{Dir: colbert}, Data: in}, []string{"colbert model", "cross-encoder or LLM reranker"}},
		{"causal LM without yes token", ScoreOptions{Teacher: Teacher{Dir: teacherDir(t, "qwen2-tiny", "")}, Data: in}, []string{"yes_token"}},
		{"malformed line", ScoreOptions{Teacher: Teacher{Dir: seqcls}, Data: bad}, []string{"bad.jsonl:2", "hits[0].content"}},
		{"missing data", ScoreOptions{Teacher: Teacher{Dir: seqcls}, Data: filepath.Join(tmp, "none.jsonl")}, []string{"none.jsonl"}},
		{"output exists", ScoreOptions{Teacher: Teacher{Dir: seqcls}, Data: in, Out: exists}, []string{"exists.jsonl exists", "--force"}},
		{"output dir missing", ScoreOptions{Teacher: Teacher{Dir: seqcls}, Data: in, Out: filepath.Join(tmp, "no", "x.jsonl")}, []string{"does not exist"}},
		{"bad format", ScoreOptions{Teacher: Teacher{Dir: seqcls}, Data: in, Format: "csv"}, []string{`"csv"`}},
		{"bad strategy", ScoreOptions{Teacher: Teacher{Dir: seqcls, Strategy: "middle"}, Data: in}, []string{"teacher_strategy"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.o.Out == "" {
				c.o.Out = filepath.Join(t.TempDir(), "out.jsonl")
			}
			_, err := ScoreFile(context.Background(), c.o)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			if c.name != "output exists" {
				_, statErr := os.Stat(c.o.Out)
				assert.True(t, os.IsNotExist(statErr), "no output is left behind")
			}
			ents, _ := os.ReadDir(filepath.Dir(c.o.Out))
			for _, e := range ents {
				assert.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
			}
		})
	}
	b, err = os.ReadFile(exists)
	require.NoError(t, err)
	assert.Equal(t, "keep\n", string(b), "an existing output is not touched")
	_, err = ScoreFile(context.Background(), ScoreOptions{Teacher: Teacher{Dir: seqcls}, Data: in, Out: exists, Force: true})
	require.NoError(t, err)
	assert.Len(t, readLines(t, exists), 16, "--force overwrites")
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`teacher: teacher_dir
teacher_yes_token: "Yes"
teacher_sep: ""
teacher_max_len: 256
train_dataset: pairs.jsonl
model_name_or_path: student
lr: 1e-4
`), 0o644))
	c, err := LoadConfig(p)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "teacher_dir"), c.Teacher.Dir)
	assert.Equal(t, "Yes", c.Teacher.YesToken)
	require.NotNil(t, c.Teacher.Sep)
	assert.Equal(t, "", *c.Teacher.Sep)
	assert.Nil(t, c.Teacher.SpecialToken)
	assert.Equal(t, 256, c.Teacher.MaxLen)
	assert.Equal(t, DefaultLoss, c.Train.LossType, "loss_type defaults to distill_mse")
	assert.Equal(t, "cross_encoder", c.Train.ModelType)
	assert.Equal(t, 1e-4, c.Train.LR)
	assert.Equal(t, filepath.Join(dir, "pairs.jsonl"), c.Train.TrainDataset)
	assert.Equal(t, filepath.Join(c.Train.OutputDir, DefaultScoresFile), c.scoresPath())

	require.NoError(t, c.Set("teacher_batch_size=8"))
	require.NoError(t, c.Set("loss_type=distill_soft_ce"))
	assert.Equal(t, 8, c.Teacher.BatchSize)
	assert.Equal(t, "distill_soft_ce", c.Train.LossType)
	assert.Equal(t, "Yes", c.Teacher.YesToken, "overrides keep the other keys")
	assert.ErrorContains(t, c.Set("teacher_colour=red"), "teacher_colour")
	assert.ErrorContains(t, c.Set("no_such_key=1"), "no_such_key")

	require.NoError(t, os.WriteFile(p, []byte("teacher: x\nteacher_temprature: 2\n"), 0o644))
	_, err = LoadConfig(p)
	assert.ErrorContains(t, err, "teacher_temprature")
	require.NoError(t, os.WriteFile(p, []byte("teacher: x\nbatch_sise: 2\n"), 0o644))
	_, err = LoadConfig(p)
	assert.ErrorContains(t, err, "batch_sise")
}

// Compare on hand-worked cases: identical order, reversed order, ties.
func TestCompare(t *testing.T) {
	teacher := [][]float64{{0.1, 0.5, 0.9}, {0.2, 0.2}}
	a := Compare([][]float64{{1, 2, 3}, {5, 1}}, teacher)
	assert.Equal(t, Agreement{Queries: 1, Spearman: 1, Pairwise: 1, Pairs: 3}, a, "a query with equal teacher labels is not measured")
	a = Compare([][]float64{{3, 2, 1}, {0, 0}}, teacher)
	assert.Equal(t, -1.0, a.Spearman)
	assert.Equal(t, 0.0, a.Pairwise)
	// student ties: ranks 1.5, 1.5, 3 against 1, 2, 3 → ρ = 0.866…; pairs: ½ + 1 + 1.
	a = Compare([][]float64{{0, 0, 1}, {1, 2}}, teacher)
	assert.InDelta(t, 0.8660254037844386, a.Spearman, 1e-12)
	assert.InDelta(t, 2.5/3, a.Pairwise, 1e-12)
	// a constant student has no rank correlation: it counts 0
	a = Compare([][]float64{{1, 1, 1}, {1, 2}}, teacher)
	assert.Equal(t, 0.0, a.Spearman)
}
