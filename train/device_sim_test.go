package train

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/train/data"
	"github.com/ragr-dev/ragr/train/report"
)

// deviceMode is one training mode run a few steps on some device.
type deviceMode struct {
	name string
	cfg  func(t *testing.T) Config
	run  func(ctx context.Context, c Config, o RunOptions) (losses []float64, modelDir string, err error)
}

func rerankerSteps(ctx context.Context, c Config, o RunOptions) ([]float64, string, error) {
	r, err := TrainReranker(ctx, c, o)
	if err != nil {
		return nil, "", err
	}
	return r.Losses, r.ModelDir, nil
}

func embedSteps(ctx context.Context, c Config, o RunOptions) ([]float64, string, error) {
	r, err := TrainEmbedding(ctx, c, o)
	if err != nil {
		return nil, "", err
	}
	return r.Losses, r.ModelDir, nil
}

func colbertSteps(ctx context.Context, c Config, o RunOptions) ([]float64, string, error) {
	r, err := TrainColBERT(ctx, c, o)
	if err != nil {
		return nil, "", err
	}
	return r.Losses, r.ModelDir, nil
}

func distillSteps(ctx context.Context, c Config, o RunOptions) ([]float64, string, error) {
	r, err := TrainDistillEmbedding(ctx, c, o)
	if err != nil {
		return nil, "", err
	}
	return r.Losses, r.ModelDir, nil
}

func qwen2Config(c Config, pad int) Config {
	c.ModelType = "llm_decoder"
	c.Tokenizer = filepath.Join(repo, "testdata", "data", "tokenizer-qwen2-bpe-from-qwen3")
	c.ModelConfig = map[string]any{"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
		"intermediate_size": 64, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
		"pad_token_id": pad, "attention_dropout": 0.1}
	return c
}

// deviceModes are every training mode, with dropout where the mode's
// tiny config has it.
func deviceModes() []deviceMode {
	ex := filepath.Join(repo, "testdata", "data", "rag-retrieval-example-data")
	return []deviceMode{
		{"reranker bert listwise", func(t *testing.T) Config { return tinyConfig(t, t.TempDir()) }, rerankerSteps},
		{"reranker bert distill_kl", func(t *testing.T) Config {
			c := tinyConfig(t, t.TempDir())
			c.TrainDataset, c.LossType, c.DistillTemperature = filepath.Join(ex, "t2rank_100.distill.jsonl"), "distill_kl", 2
			return c
		}, rerankerSteps},
		{"reranker bert accumulation checkpointing", func(t *testing.T) Config {
			c := tinyConfig(t, t.TempDir())
			c.GradAccum, c.GradientCheckpoint, c.LossType = 2, true, "pointwise_bce"
			return c
		}, rerankerSteps},
		{"reranker qwen2 pairwise", func(t *testing.T) Config {
			c := qwen2Config(tinyConfig(t, t.TempDir()), 151645)
			c.LossType = "pairwise_ranknet"
			return c
		}, rerankerSteps},
		{"embedding bert triplet mrl", func(t *testing.T) Config {
			c := tinyEmbedConfig(t, embedData(t, "triplet"))
			c.MRLDims = []int{8, 16}
			return c
		}, embedSteps},
		{"embedding bert pair-kl mean", func(t *testing.T) Config {
			c := tinyEmbedConfig(t, embedData(t, "score"))
			c.Pooling = "mean"
			return c
		}, embedSteps},
		{"embedding qwen2 checkpointing", func(t *testing.T) Config {
			c := qwen2Config(tinyEmbedConfig(t, embedData(t, "pair")), 151643)
			c.GradientCheckpoint = true
			return c
		}, embedSteps},
		{"colbert", func(t *testing.T) Config { return tinyColBERTConfig(t, embedData(t, "triplet")) }, colbertSteps},
		{"distill jasper", func(t *testing.T) Config {
			texts, words := distillTextsFile(t, distillTexts)
			c := tinyDistillConfig(t, texts, writeRawTeacher(t, teacherVectors(words, distillDim)))
			c.MRLDims = []int{16, 32}
			return c
		}, distillSteps},
	}
}

// Every training mode runs on a device (the simulated accelerator: the
// device code path without a GPU). In fp32 (mixed_precision: no) its
// losses and exported weights equal the CPU run's bit for bit — every
// input, mask, label and table reaches the device, nothing is read from
// device memory directly, and the generator advances alike; in bf16
// mixed precision the losses stay within the bf16 level of the CPU's.
func TestTrainEveryModeOnDevice(t *testing.T) {
	const steps = 4
	for _, m := range deviceModes() {
		t.Run(m.name, func(t *testing.T) {
			run := func(device, mixed string) ([]float64, string, string) {
				c := m.cfg(t)
				c.OutputDir = t.TempDir()
				c.MaxSteps, c.Device, c.MixedPrecision = steps, device, mixed
				var log strings.Builder
				losses, dir, err := m.run(context.Background(), c, RunOptions{Out: &log})
				require.NoError(t, err, log.String())
				require.Len(t, losses, steps)
				return losses, dir, log.String()
			}
			want, wantDir, _ := run("cpu", "")
			got, gotDir, log := run("sim", "no")
			assert.Contains(t, log, "training on sim:0 in fp32")
			assert.Equal(t, want, got, "fp32 on the device: the CPU's losses")
			assertSameWeights(t, wantDir, gotDir)

			mixed, dir, log := run("sim:1", "bf16")
			assert.Contains(t, log, "training on sim:1 with bf16 mixed precision")
			assert.Regexp(t, `trained 4 steps in \S+ \(peak sim:1 memory \d+\.\d\d GiB\)`, log)
			recs, err := report.ReadMetrics(filepath.Join(filepath.Dir(dir), "metrics.jsonl"))
			require.NoError(t, err)
			require.NotEmpty(t, recs)
			last := recs[len(recs)-1]
			assert.Greater(t, last.Values[metricDevicePeak], 0.0)
			assert.GreaterOrEqual(t, last.Values[metricDevicePeak], last.Values[metricDeviceMem])
			testutil.AssertClose(t, "bf16 mixed losses", mixed, want, testutil.BF16Mixed)
			assert.NotEqual(t, want, mixed, "bf16 operands change the losses")
		})
	}
}

// assertSameWeights requires the .safetensors files of two exported models
// to be byte for byte equal.
func assertSameWeights(t *testing.T, a, b string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(a, "*.safetensors"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		x, err := os.ReadFile(f)
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, filepath.Base(f)))
		require.NoError(t, err)
		assert.True(t, string(x) == string(y), "%s differs", filepath.Base(f))
	}
}

// Resuming a device run continues its loss curve exactly (the optimizer
// state and parameters come back from the checkpoint onto the device).
func TestTrainResumeOnDevice(t *testing.T) {
	checkResume(t, 5, 2, func() Config {
		c := qwen2Config(tinyConfig(t, t.TempDir()), 151645)
		c.Device, c.MixedPrecision = "sim", "bf16"
		return c
	}, func(ctx context.Context, cfg Config, o RunOptions) ([]float64, error) {
		r, err := TrainReranker(ctx, cfg, o)
		if r == nil {
			return nil, err
		}
		return r.Losses, err
	})
}

// A device out of memory in the middle of training (the simulated
// accelerator with a memory cap: room for the parameters and the AdamW
// state, not for a step) ends the run with an error naming the step, the
// device and the request, as on a GPU; nothing panics.
func TestTrainDeviceOutOfMemory(t *testing.T) {
	d := tensor.Sim(9)
	c := tinyConfig(t, t.TempDir())
	c.Device, c.MaxSteps = d.String(), 2
	// the parameters: 3 copies (weights and two moments) fit, a step's
	// gradients and activations do not
	m, _, err := BuildReranker(c, 21128) // bert-base-chinese's vocabulary
	require.NoError(t, err)
	n := 0
	for _, p := range m.Params() {
		n += p.Var.Value.Numel()
	}
	_, err = tensor.SetSimMemoryLimit(d, int64(n)*4*7/2)
	require.NoError(t, err)
	defer tensor.SetSimMemoryLimit(d, 0) //nolint:errcheck
	_, err = TrainReranker(context.Background(), c, RunOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step 1")
	assert.Contains(t, err.Error(), "sim:9")
	assert.Contains(t, err.Error(), "out of memory")
	var de *tensor.DeviceError
	assert.ErrorAs(t, err, &de)
	t.Log(err)
}

// ragr eval reranker on a device: the model's parameters move there (the
// sim's memory holds them) and the report equals the CPU's in fp32; an
// unavailable device is an error before the model is read.
func TestEvalRerankerOnDevice(t *testing.T) {
	c := tinyConfig(t, t.TempDir())
	c.MaxSteps = 2
	res, err := TrainReranker(context.Background(), c, RunOptions{})
	require.NoError(t, err)
	want, err := EvalReranker(res.ModelDir, c.TrainDataset, 64, 8, data.Options{}, tensor.CPU)
	require.NoError(t, err)
	d := tensor.Sim(7)
	got, err := EvalReranker(res.ModelDir, c.TrainDataset, 64, 8, data.Options{}, d)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	mem, ok := tensor.DeviceMemory(d)
	require.True(t, ok)
	assert.Positive(t, mem.Peak, "the model ran on %s", d)

	_, err = EvalReranker(t.TempDir(), c.TrainDataset, 64, 8, data.Options{}, tensor.Device{Kind: 9})
	assert.ErrorContains(t, err, "train: device device(9:0)")
}
