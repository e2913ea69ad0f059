package train

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/auto"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
	"github.com/ragr-dev/ragr/train/data"
)

const (
	distillTexts = 64
	distillDim   = 48 // wider than the student's hidden 32: the Dense layer maps 32 → 48
)

// distillTextsFile writes the first n texts (queries, positives, negatives)
// of the small RAG-Retrieval example file as {"query": text} lines.
func distillTextsFile(t *testing.T, n int) (string, []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "testdata", "data", "rag-retrieval-example-data", "t2rank_100.small.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() && len(texts) < n {
		var r struct {
			Query string   `json:"query"`
			Pos   []string `json:"pos"`
			Neg   []string `json:"neg"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		for _, s := range append(append([]string{r.Query}, r.Pos...), r.Neg...) {
			if len(texts) < n {
				texts = append(texts, s)
			}
		}
	}
	require.Len(t, texts, n)
	path := filepath.Join(t.TempDir(), "texts.jsonl")
	w, err := os.Create(path)
	require.NoError(t, err)
	for _, s := range texts {
		b, err := json.Marshal(map[string]string{"query": s})
		require.NoError(t, err)
		_, err = w.Write(append(b, '\n'))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return path, texts
}

// teacherVectors is a deterministic teacher the student can learn: the sum
// over a text's characters of a random vector per character (a bag of
// characters projected to dim).
func teacherVectors(texts []string, dim int) []float32 {
	out := make([]float32, len(texts)*dim)
	for i, s := range texts {
		for _, r := range s {
			v := tensor.NewRNG(uint64(r)*0x9e3779b97f4a7c15+1).Normal(0, 1, dim).Float32s()
			for j := range v {
				out[i*dim+j] += v[j]
			}
		}
	}
	return out
}

func writeRawTeacher(t *testing.T, v []float32) string {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	path := filepath.Join(t.TempDir(), "teacher.mmap")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

func writeSTTeacher(t *testing.T, ts map[string]*tensor.Tensor) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "teacher.safetensors")
	require.NoError(t, safetensors.Write(path, ts, nil))
	return path
}

// tinyDistillConfig distills into a fresh 2-layer, 32-wide BERT.
func tinyDistillConfig(t *testing.T, texts, vec string) Config {
	c := tinyConfig(t, t.TempDir())
	c.TrainType, c.TrainDataset, c.TrainDatasetVec, c.TeacherDim = "distill", texts, vec, distillDim
	c.LossType = DefaultConfig().LossType
	c.Pooling = "mean"
	c.BatchSize, c.MaxLen, c.Epochs, c.LR = 8, 32, 4, 2e-3
	c.ModelConfig["hidden_dropout_prob"] = 0.0
	c.ModelConfig["attention_probs_dropout_prob"] = 0.0
	return c
}

func TestDistillEmbeddingLossFalls(t *testing.T) {
	texts, words := distillTextsFile(t, distillTexts)
	v := teacherVectors(words, distillDim)
	cases := []struct {
		name, vec string
		mrl       []int
	}{
		{"raw memmap, mrl", writeRawTeacher(t, v), []int{16, 32, 48}},
		{"safetensors, no mrl", writeSTTeacher(t, map[string]*tensor.Tensor{"embeddings": tensor.FromFloat32(v, distillTexts, distillDim)}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyDistillConfig(t, texts, c.vec)
			cfg.MRLDims = c.mrl
			res, err := TrainDistillEmbedding(context.Background(), cfg, RunOptions{})
			require.NoError(t, err)
			assert.Equal(t, "jasper_distill", res.LossType)
			assert.Equal(t, distillTexts, res.Texts)
			assert.Equal(t, distillDim, res.TeacherDim)
			n := len(res.Losses)
			require.Equal(t, 4*distillTexts/8, n)
			for _, l := range res.Losses {
				require.False(t, math.IsNaN(l) || math.IsInf(l, 0))
			}
			first, last := mean(res.Losses[:n/3]), mean(res.Losses[n-n/3:])
			t.Logf("%s: loss %.4f -> %.4f over %d steps", c.name, first, last, n)
			assert.Less(t, last, first, "the loss must fall")
		})
	}
}

// The export is Transformer → Pooling → Dense (no Normalize); models/auto
// reads it back and its sentence_embedding equals the student's output.
func TestDistillEmbeddingExportReloads(t *testing.T) {
	texts, words := distillTextsFile(t, distillTexts)
	vec := writeRawTeacher(t, teacherVectors(words, distillDim))
	cfg := tinyDistillConfig(t, texts, vec)
	cfg.MaxSteps = 3
	res, err := TrainDistillEmbedding(context.Background(), cfg, RunOptions{})
	require.NoError(t, err)
	for _, f := range []string{"config.json", "model.safetensors", "modules.json", "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors", "sentence_bert_config.json", "tokenizer.json"} {
		_, err := os.Stat(filepath.Join(res.ModelDir, f))
		assert.NoError(t, err, f)
	}
	st, err := models.ReadSentenceTransformer(res.ModelDir)
	require.NoError(t, err)
	assert.Equal(t, models.PoolMean, st.Pooling)
	assert.False(t, st.Normalize)
	require.Len(t, st.Dense, 1)
	assert.Equal(t, 32, st.Dense[0].In)
	assert.Equal(t, distillDim, st.Dense[0].Out)
	assert.Equal(t, "torch.nn.modules.linear.Identity", st.Dense[0].Activation)
	require.NotNil(t, st.Dense[0].Bias)

	tok, err := tokenizer.Load(res.ModelDir)
	require.NoError(t, err)
	enc, err := data.NewTextEncoder(tok, cfg.MaxLen)
	require.NoError(t, err)
	in, err := encodeTexts(enc, []string{"硬盘插入时震动", "今天天气很好，适合出去走走", "a"})
	require.NoError(t, err)
	var want []float32
	autograd.NoGrad(func() {
		e, err := res.Model.Encode(in, false, nil, false)
		require.NoError(t, err)
		want = e.Value.Float32s()
	})
	m, err := auto.Load(res.ModelDir)
	require.NoError(t, err)
	outs, err := m.Forward(auto.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask})
	require.NoError(t, err)
	require.Contains(t, outs, "sentence_embedding")
	assert.Equal(t, []int{3, distillDim}, outs["sentence_embedding"].Shape())
	testutil.AssertClose(t, "sentence_embedding", outs["sentence_embedding"].Float32s(), want, testutil.Exact)

	// Distilling further from the export keeps its Dense layer.
	c2 := cfg
	c2.ModelConfig, c2.ModelNameOrPath, c2.Pooling = nil, res.ModelDir, ""
	m2, err := BuildDistillEmbedModel(c2, 0, distillDim)
	require.NoError(t, err)
	assert.Equal(t, res.Model.Dense.Weight.Value.Float32s(), m2.Dense.Weight.Value.Float32s())
	assert.Equal(t, res.Model.Dense.Bias.Value.Float32s(), m2.Dense.Bias.Value.Float32s())
	// A different teacher width cannot reuse it.
	_, err = BuildDistillEmbedModel(c2, 0, 64)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Dense")
}

func TestDistillEmbeddingBadInput(t *testing.T) {
	texts, words := distillTextsFile(t, distillTexts)
	v := teacherVectors(words, distillDim)
	raw := writeRawTeacher(t, v)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	textBytes, err := os.ReadFile(texts)
	require.NoError(t, err)
	moreTexts := write("more.jsonl", string(textBytes)+`{"query": "one line too many"}`+"\n")
	badLine := write("bad.jsonl", `{"query": "a"}`+"\n"+`{"query": "b"}`+"\n"+`{"text": "c"}`+"\n")
	nan := append([]float32(nil), v...)
	nan[5*distillDim+7] = float32(math.NaN())
	zero := append([]float32(nil), v...)
	clear(zero[9*distillDim : 10*distillDim])
	st := func(ts map[string]*tensor.Tensor) string { return writeSTTeacher(t, ts) }
	cases := []struct {
		name string
		mod  func(c *Config)
		want []string
	}{
		{"missing vec key", func(c *Config) { c.TrainDatasetVec = "" }, []string{"train_dataset_vec"}},
		{"missing file", func(c *Config) { c.TrainDatasetVec = filepath.Join(dir, "nope.mmap") }, []string{"nope.mmap"}},
		{"raw wrong dim", func(c *Config) { c.TeacherDim = 40 }, []string{raw, "teatch_emebedding_dim 40"}},
		{"raw no dim", func(c *Config) { c.TeacherDim = 0 }, []string{raw, "needs teatch_emebedding_dim"}},
		{"raw rows disagree", func(c *Config) { c.TrainDataset = moreTexts }, []string{raw, "64 rows", "65 lines"}},
		{"raw NaN row", func(c *Config) { c.TrainDatasetVec = writeRawTeacher(t, nan) }, []string{"row 5", "NaN"}},
		{"raw zero row", func(c *Config) { c.TrainDatasetVec = writeRawTeacher(t, zero) }, []string{"row 9", "all zeros"}},
		{"st rows disagree", func(c *Config) {
			c.TrainDataset = moreTexts
			c.TrainDatasetVec = st(map[string]*tensor.Tensor{"e": tensor.FromFloat32(v, distillTexts, distillDim)})
		}, []string{"64 rows", "65 lines"}},
		{"st dim disagrees", func(c *Config) {
			c.TeacherDim = 32
			c.TrainDatasetVec = st(map[string]*tensor.Tensor{"e": tensor.FromFloat32(v, distillTexts, distillDim)})
		}, []string{"dimension 48", "teatch_emebedding_dim is 32"}},
		{"st two tensors", func(c *Config) {
			c.TrainDatasetVec = st(map[string]*tensor.Tensor{"a": tensor.FromFloat32(v, distillTexts, distillDim), "b": tensor.Zeros(2)})
		}, []string{"2 tensors", "train_dataset_vec_tensor"}},
		{"st not 2-D", func(c *Config) {
			c.TrainDatasetVec = st(map[string]*tensor.Tensor{"e": tensor.FromFloat32(v, distillTexts*distillDim)})
		}, []string{"want [rows, dim]"}},
		{"mrl too wide (config)", func(c *Config) { c.MRLDims = []int{16, 64} }, []string{"dimension 64 exceeds teatch_emebedding_dim 48"}},
		{"mrl too wide (file)", func(c *Config) {
			c.TeacherDim, c.MRLDims = 0, []int{16, 64}
			c.TrainDatasetVec = st(map[string]*tensor.Tensor{"e": tensor.FromFloat32(v, distillTexts, distillDim)})
		}, []string{"dimension 64 exceeds the teacher dimension 48"}},
		{"text line", func(c *Config) { c.TrainDataset = badLine }, []string{badLine, "line 3", "query"}},
		{"reranker loss", func(c *Config) { c.LossType = "listwise_ce" }, []string{"not an embedding distillation loss"}},
		{"use_mrl without dims", func(c *Config) { on := true; c.UseMRL = &on }, []string{"mrl_dims is empty"}},
		{"negative weight", func(c *Config) { w := -1.0; c.TripletLossWeight = &w }, []string{"triplet_loss_weight"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyDistillConfig(t, texts, raw)
			c.mod(&cfg)
			var steps int
			_, err := TrainDistillEmbedding(context.Background(), cfg, RunOptions{OnStep: func(StepInfo) { steps++ }})
			require.Error(t, err)
			t.Log(err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Zero(t, steps, "the error comes before training")
		})
	}
}

// An interrupted distillation resumed from its checkpoint continues with
// exactly the losses of an uninterrupted run (the Dense layer included).
func TestDistillEmbeddingResume(t *testing.T) {
	texts, words := distillTextsFile(t, distillTexts)
	vec := writeRawTeacher(t, teacherVectors(words, distillDim))
	full := tinyDistillConfig(t, texts, vec)
	full.MaxSteps, full.MRLDims = 6, []int{24, 48}
	a, err := TrainDistillEmbedding(context.Background(), full, RunOptions{})
	require.NoError(t, err)
	require.Len(t, a.Losses, 6)

	cut := tinyDistillConfig(t, texts, vec)
	cut.MaxSteps, cut.MRLDims = 6, []int{24, 48}
	ctx, cancel := context.WithCancel(context.Background())
	b1, err := TrainDistillEmbedding(ctx, cut, RunOptions{OnStep: func(s StepInfo) {
		if s.Step == 4 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, ErrInterrupted)
	b2, err := TrainDistillEmbedding(context.Background(), cut, RunOptions{Resume: "latest"})
	require.NoError(t, err)
	got := append(append([]float64{}, b1.Losses...), b2.Losses...)
	testutil.AssertClose(t, "losses", got, a.Losses, testutil.Exact)
	testutil.AssertClose(t, "dense", b2.Model.Dense.Weight.Value.Float32s(), a.Model.Dense.Weight.Value.Float32s(), testutil.Exact)
}

// A RAG-Retrieval distill_embedding.yaml loads as written: mrl_dims as a
// comma-separated string, use_mrl, save_on_epoch_end 1, train_type,
// train_dataset_vec, teatch_emebedding_dim, query_max_len, shuffle.
func TestDistillConfigKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "distill_embedding.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`model_name_or_path: "BAAI/bge-base-zh-v1.5"
train_type: "distill"
train_dataset: "t2rank_100.jsonl.text.jsonl"
train_dataset_vec: "t2rank_100.embedding.conan.xiaobu.mmap"
query_max_len: 512
teatch_emebedding_dim: 3584
shuffle: true
output_dir: "./output/t2ranking_100_example_distill"
save_on_epoch_end: 1
num_max_checkpoints: 5
epochs: 2
lr: 1e-4
batch_size: 128
seed: 666
warmup_proportion: 0.05
gradient_accumulation_steps: 1
mixed_precision: bf16
use_mrl: true
mrl_dims: "256,512,1024,1536,2048,2560,3072,3584"
log_interval: 10
log_with: "tensorboard"
`), 0o644))
	c, err := LoadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, "distill", c.TrainType)
	assert.Equal(t, filepath.Join(dir, "t2rank_100.embedding.conan.xiaobu.mmap"), c.TrainDatasetVec)
	assert.Equal(t, 3584, c.TeacherDim)
	assert.Equal(t, 512, c.QueryMaxLen)
	assert.Equal(t, []int{256, 512, 1024, 1536, 2048, 2560, 3072, 3584}, []int(c.MRLDims))
	assert.True(t, c.SaveOnEpochEnd)
	require.NotNil(t, c.Shuffle)
	assert.True(t, *c.Shuffle)
	require.NoError(t, c.validateDistill())

	// use_mrl false turns mrl_dims off, as in RAG-Retrieval.
	require.NoError(t, c.Set("use_mrl=false"))
	assert.Empty(t, c.MRLDims)
	require.NoError(t, c.Set("use_mrl=true"))
	require.NoError(t, c.Set("mrl_dims=[16, 32]"))
	assert.Equal(t, []int{16, 32}, []int(c.MRLDims))
	require.Error(t, c.Set("mrl_dims=16,x"))
}
