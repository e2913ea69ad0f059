package train

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/auto"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
)

// embedData writes the small RAG-Retrieval example file as embedding data:
// triplets as they are, pairs without "neg", or pair-scores with a score
// per positive.
func embedData(t *testing.T, kind string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "testdata", "data", "rag-retrieval-example-data", "t2rank_100.small.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	out := filepath.Join(t.TempDir(), kind+".jsonl")
	w, err := os.Create(out)
	require.NoError(t, err)
	defer w.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		row := map[string]any{"query": r["query"], "pos": r["pos"]}
		switch kind {
		case "triplet":
			row["neg"] = r["neg"]
		case "score":
			s := make([]float64, len(r["pos"].([]any)))
			for i := range s {
				s[i] = 1 - 0.1*float64(i)
			}
			row["scores"] = s
		}
		b, err := json.Marshal(row)
		require.NoError(t, err)
		_, err = w.Write(append(b, '\n'))
		require.NoError(t, err)
	}
	require.NoError(t, sc.Err())
	return out
}

// tinyEmbedConfig trains a 2-layer, 32-wide BERT bi-encoder from scratch.
func tinyEmbedConfig(t *testing.T, dataPath string) Config {
	c := tinyConfig(t, t.TempDir())
	c.TrainDataset = dataPath
	c.LossType = DefaultConfig().LossType
	c.BatchSize, c.NegNums, c.MaxLen, c.Epochs = 4, 3, 32, 6
	c.LR, c.Temperature = 2e-3, 0.05
	c.ModelConfig["hidden_dropout_prob"] = 0.0
	c.ModelConfig["attention_probs_dropout_prob"] = 0.0
	return c
}

func TestTrainEmbeddingLossFalls(t *testing.T) {
	cases := []struct {
		kind, loss, pooling string
		mrl                 []int
	}{
		{"triplet", "triplet_inbatch_softmax", "cls", nil},
		{"pair", "pair_inbatch_softmax", "mean", []int{16, 32}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			cfg := tinyEmbedConfig(t, embedData(t, c.kind))
			cfg.Pooling, cfg.MRLDims = c.pooling, c.mrl
			res, err := TrainEmbedding(context.Background(), cfg, RunOptions{})
			require.NoError(t, err)
			assert.Equal(t, c.loss, res.LossType)
			n := len(res.Losses)
			require.GreaterOrEqual(t, n, 9)
			first, last := mean(res.Losses[:n/3]), mean(res.Losses[n-n/3:])
			t.Logf("%s: loss %.4f -> %.4f over %d steps", c.kind, first, last, n)
			assert.Less(t, last, first, "the loss must fall")
		})
	}
}

// The exported directory loads with models/auto and its sentence_embedding
// equals the training-time encoder's embedding.
func TestTrainEmbeddingExportReloads(t *testing.T) {
	for _, pooling := range []string{"cls", "mean"} {
		t.Run(pooling, func(t *testing.T) {
			cfg := tinyEmbedConfig(t, embedData(t, "score"))
			cfg.Pooling, cfg.MaxSteps = pooling, 3
			res, err := TrainEmbedding(context.Background(), cfg, RunOptions{})
			require.NoError(t, err)
			assert.Equal(t, "pair_kl", res.LossType)
			for _, f := range []string{"config.json", "model.safetensors", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json", "tokenizer.json"} {
				_, err := os.Stat(filepath.Join(res.ModelDir, f))
				assert.NoError(t, err, f)
			}
			st, err := models.ReadSentenceTransformer(res.ModelDir)
			require.NoError(t, err)
			assert.Equal(t, models.Pooling(pooling), st.Pooling)
			assert.True(t, st.Normalize)

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
			assert.Equal(t, "BertModel", m.Architecture())
			outs, err := m.Forward(auto.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask})
			require.NoError(t, err)
			require.Contains(t, outs, "sentence_embedding")
			testutil.AssertClose(t, "sentence_embedding", outs["sentence_embedding"].Float32s(), want, testutil.Exact)

			// Fine-tuning the export picks its pooling up from 1_Pooling.
			c2 := cfg
			c2.ModelConfig, c2.ModelNameOrPath, c2.Pooling = nil, res.ModelDir, ""
			m2, err := BuildEmbedModel(c2, 0)
			require.NoError(t, err)
			assert.Equal(t, models.Pooling(pooling), m2.Pooling)
		})
	}
}

func TestTrainEmbeddingBadConfig(t *testing.T) {
	triplet := embedData(t, "triplet")
	pair := embedData(t, "pair")
	cases := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"unknown pooling", func(c *Config) { c.Pooling = "max_of_doom" }, "max_of_doom"},
		{"reranker loss", func(c *Config) { c.LossType = "listwise_ce" }, "not an embedding loss"},
		{"negatives missing", func(c *Config) { c.TrainDataset = pair; c.LossType = "mnrl" }, "hard negatives"},
		{"too many negatives", func(c *Config) { c.NegNums = 500; c.NoReplacement = true }, "neg_nums 500"},
		{"mrl too wide", func(c *Config) { c.MRLDims = []int{16, 64} }, "hidden size 32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyEmbedConfig(t, triplet)
			c.mod(&cfg)
			var steps int
			_, err := TrainEmbedding(context.Background(), cfg, RunOptions{OnStep: func(StepInfo) { steps++ }})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Zero(t, steps, "the error comes before training")
		})
	}
}

// An interrupted embedding run resumed from its checkpoint continues with
// exactly the losses of an uninterrupted run.
func TestTrainEmbeddingResume(t *testing.T) {
	path := embedData(t, "triplet")
	checkResume(t, 6, 4, func() Config { return tinyEmbedConfig(t, path) },
		func(ctx context.Context, cfg Config, o RunOptions) ([]float64, error) {
			r, err := TrainEmbedding(ctx, cfg, o)
			if r == nil {
				return nil, err
			}
			return r.Losses, err
		})
}

// checkResume trains steps steps in one run, then again interrupted after
// step cut and resumed from the latest checkpoint, and requires the same
// losses. newCfg returns a fresh config (own output_dir) each call.
func checkResume(t *testing.T, steps, cut int, newCfg func() Config, train func(ctx context.Context, cfg Config, o RunOptions) ([]float64, error)) {
	t.Helper()
	full := newCfg()
	full.MaxSteps = steps
	a, err := train(context.Background(), full, RunOptions{})
	require.NoError(t, err)
	require.Len(t, a, steps)

	part := newCfg()
	part.MaxSteps = steps
	ctx, cancel := context.WithCancel(context.Background())
	b1, err := train(ctx, part, RunOptions{OnStep: func(s StepInfo) {
		if s.Step == cut {
			cancel()
		}
	}})
	require.ErrorIs(t, err, ErrInterrupted)
	b2, err := train(context.Background(), part, RunOptions{Resume: "latest"})
	require.NoError(t, err)
	got := append(append([]float64{}, b1...), b2...)
	testutil.AssertClose(t, "losses", got, a, testutil.Exact)
}

// A fresh Qwen2 decoder trains as a bi-encoder with last-token pooling; its
// export is a Qwen2Model with a lasttoken Pooling module that models/auto
// reloads to the same sentence_embedding.
func TestTrainEmbeddingQwen2(t *testing.T) {
	cfg := tinyEmbedConfig(t, embedData(t, "pair"))
	cfg.ModelType = "llm_decoder"
	cfg.Tokenizer = filepath.Join(repo, "testdata", "data", "tokenizer-qwen2-bpe-from-qwen3")
	cfg.ModelConfig = map[string]any{"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"intermediate_size": 64, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "pad_token_id": 151643}
	cfg.MaxLen, cfg.MRLDims = 48, []int{8, 16}
	res, err := TrainEmbedding(context.Background(), cfg, RunOptions{})
	require.NoError(t, err)
	assert.Equal(t, models.PoolLastToken, res.Model.Pooling)
	n := len(res.Losses)
	require.GreaterOrEqual(t, n, 9)
	first, last := mean(res.Losses[:n/3]), mean(res.Losses[n-n/3:])
	t.Logf("qwen2 pair: loss %.4f -> %.4f over %d steps", first, last, n)
	assert.Less(t, last, first, "the loss must fall")

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
	assert.Equal(t, "Qwen2Model", m.Architecture())
	outs, err := m.Forward(auto.Inputs{IDs: in.IDs, Mask: in.Mask})
	require.NoError(t, err)
	require.Contains(t, outs, "sentence_embedding")
	testutil.AssertClose(t, "sentence_embedding", outs["sentence_embedding"].Float32s(), want, testutil.Exact)

	c2 := cfg
	c2.ModelConfig, c2.ModelNameOrPath, c2.Pooling = nil, res.ModelDir, ""
	m2, err := BuildEmbedModel(c2, 0)
	require.NoError(t, err)
	assert.Equal(t, models.PoolLastToken, m2.Pooling)
	require.NotNil(t, m2.Decoder)

	cfg.Pooling = "cls"
	_, err = TrainEmbedding(context.Background(), cfg, RunOptions{})
	require.ErrorContains(t, err, `"cls" is not lasttoken or mean`)
}

// metrics.jsonl carries the in-batch accuracy of every step at the full
// width and at each MRL dimension.
func TestTrainEmbeddingLogsMRLAccuracy(t *testing.T) {
	cfg := tinyEmbedConfig(t, embedData(t, "triplet"))
	cfg.MRLDims, cfg.MaxSteps = []int{8, 16, 32}, 4
	var steps []StepInfo
	_, err := TrainEmbedding(context.Background(), cfg, RunOptions{OnStep: func(s StepInfo) { steps = append(steps, s) }})
	require.NoError(t, err)
	require.Len(t, steps, 4)
	for _, s := range steps {
		require.Len(t, s.Metrics, 3, "acc@8, acc@16 and acc (32 is the full width)")
		for _, k := range []string{"train/acc", "train/acc@8", "train/acc@16"} {
			v, ok := s.Metrics[k]
			require.True(t, ok, k)
			assert.True(t, v >= 0 && v <= 1, "%s = %g", k, v)
		}
	}
	f, err := os.ReadFile(filepath.Join(cfg.OutputDir, "metrics.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(f), `"train/acc@8"`)
}

func TestInBatchAccuracy(t *testing.T) {
	// Four queries; documents: four positives then two negatives; width 4.
	// Queries 0 and 2 find their positives at both widths; query 1 finds
	// negative 0 in the first two dimensions and its positive in all four;
	// query 3's negative 1 always beats its positive.
	q := []float32{
		1, 0, 0, 0,
		0, 1, 0, 1,
		-1, 0, 1, 0,
		0, -1, 0, 0,
	}
	pos := []float32{
		1, 0, 0, 0,
		0.5, 0.5, 0, 1,
		-1, 0, 1, 0,
		0.6, -0.8, 0, 0,
	}
	neg := []float32{
		0, 1, 0, -1,
		0, -1, 0, 0,
	}
	a := newInBatchAcc([]int{2, 4, 9}, 4) // 9 > width: ignored
	a.add(tensor.FromFloat32(q, 4, 4), tensor.FromFloat32(pos, 4, 4), tensor.FromFloat32(neg, 2, 4))
	m := a.take()
	assert.Equal(t, map[string]float64{"train/acc": 0.75, "train/acc@2": 0.5}, m)
	assert.Nil(t, a.take(), "take resets")
	// Without negatives query 1 finds its positive at width 2 as well and
	// query 3's positive wins.
	a.add(tensor.FromFloat32(q, 4, 4), tensor.FromFloat32(pos, 4, 4), nil)
	assert.Equal(t, map[string]float64{"train/acc": 1, "train/acc@2": 1}, a.take())
}

// Gradient checkpointing recomputes the encoder in the backward pass with
// the same dropout masks: the losses of a run with it equal those without.
func TestTrainEmbeddingCheckpointingSameLosses(t *testing.T) {
	path := embedData(t, "triplet")
	var runs [2][]float64
	for i, ckpt := range []bool{false, true} {
		cfg := tinyEmbedConfig(t, path)
		cfg.MaxSteps, cfg.GradientCheckpoint = 5, ckpt
		cfg.ModelConfig["hidden_dropout_prob"] = 0.1
		cfg.ModelConfig["attention_probs_dropout_prob"] = 0.1
		res, err := TrainEmbedding(context.Background(), cfg, RunOptions{})
		require.NoError(t, err)
		runs[i] = res.Losses
	}
	require.Len(t, runs[0], 5)
	testutil.AssertClose(t, "losses with checkpointing", runs[1], runs[0], testutil.F32)
}

// Records with fewer negatives than neg_nums repeat them (RAG-Retrieval's
// behaviour) with a warning naming file and line; no_replacement makes it
// an error before training.
func TestTrainEmbeddingShortNegatives(t *testing.T) {
	path := embedData(t, "triplet")
	cfg := tinyEmbedConfig(t, path)
	cfg.NegNums, cfg.MaxSteps = 500, 1
	var out strings.Builder
	_, err := TrainEmbedding(context.Background(), cfg, RunOptions{Out: &out})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "warning: "+path+": neg_nums 500 is more than the negatives of")
	assert.Contains(t, out.String(), path+":1 has ")
}
