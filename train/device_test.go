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

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

func TestDeviceConfigKey(t *testing.T) {
	cases := []struct {
		device string
		ok     bool
	}{
		{"", true}, {"cpu", true}, {"cuda", true}, {"cuda:1", true}, {"gpu", true}, {"sim", true}, {"sim:2", true},
		{"tpu", false}, {"cuda:-1", false}, {"cuda:x", false},
	}
	for _, c := range cases {
		cfg := tinyConfig(t, t.TempDir())
		cfg.Device = c.device
		err := cfg.Validate()
		if c.ok {
			assert.NoError(t, err, c.device)
			continue
		}
		require.Error(t, err, c.device)
		assert.Contains(t, err.Error(), "device")
		assert.Contains(t, err.Error(), c.device)
	}
	cfg, err := ParseConfig([]byte("train_dataset: x.jsonl\nmodel_config: {hidden_size: 8}\ndevice: cuda\n"), "dev.yaml")
	require.NoError(t, err)
	assert.Equal(t, "cuda", cfg.Device)
	require.NoError(t, cfg.Set("device=cpu"))
	assert.Equal(t, "cpu", cfg.Device)
}

// A CUDA device in a build without CUDA (this test binary never links the
// CUDA backend) fails before the data or the model is read, in every mode.
func TestTrainDeviceUnavailable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cfg := tinyConfig(t, out)
	cfg.Device = "cuda"
	cfg.TrainDataset = filepath.Join(t.TempDir(), "missing.jsonl") // never opened
	_, err := TrainReranker(context.Background(), cfg, RunOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cuda:0")
	assert.Contains(t, err.Error(), "without CUDA support")
	assert.NotContains(t, err.Error(), "missing.jsonl")
	_, statErr := os.Stat(out)
	assert.True(t, os.IsNotExist(statErr), "no output directory before the device check")

	cases := []struct {
		name string
		run  func(Config) error
		mod  func(*Config)
	}{
		{"llm reranker", func(c Config) error { _, err := TrainReranker(context.Background(), c, RunOptions{}); return err },
			func(c *Config) { c.ModelType = "llm_decoder" }},
		{"embedding", func(c Config) error { _, err := TrainEmbedding(context.Background(), c, RunOptions{}); return err },
			func(c *Config) { c.LossType = DefaultConfig().LossType }},
		{"colbert", func(c Config) error { _, err := TrainColBERT(context.Background(), c, RunOptions{}); return err },
			func(c *Config) { c.LossType = "" }},
		{"distillation", func(c Config) error {
			_, err := TrainDistillEmbedding(context.Background(), c, RunOptions{})
			return err
		},
			func(c *Config) {
				c.TrainType, c.TrainDatasetVec, c.TeacherDim, c.LossType = "distill", filepath.Join(t.TempDir(), "missing.npy"), 8, DefaultConfig().LossType
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			cfg := tinyConfig(t, out)
			cfg.Device = "cuda"
			cfg.TrainDataset = filepath.Join(t.TempDir(), "missing.jsonl")
			c.mod(&cfg)
			err := c.run(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "without CUDA support", "every mode checks the device first")
			assert.NotContains(t, err.Error(), "missing")
			_, statErr := os.Stat(out)
			assert.True(t, os.IsNotExist(statErr))
		})
	}
}

func TestMixedPrecisionKey(t *testing.T) {
	cases := []struct {
		value, device string
		ok            bool
		note          string
	}{
		{"", "sim", true, ""}, {"no", "sim", true, ""}, {"bf16", "sim", true, ""},
		{"fp16", "sim", true, "mixed_precision fp16 trains in bf16 on sim:0"},
		{"bf16", "cpu", true, "mixed_precision bf16: the CPU computes in float32"},
		{"fp8", "sim", false, ""},
	}
	for _, c := range cases {
		cfg := tinyConfig(t, t.TempDir())
		cfg.MixedPrecision, cfg.Device = c.value, c.device
		err := cfg.Validate()
		if !c.ok {
			require.Error(t, err, c.value)
			assert.Contains(t, err.Error(), `mixed_precision "fp8"`)
			continue
		}
		require.NoError(t, err, c.value)
		var b strings.Builder
		cfg.noteIgnored(&b)
		if c.note == "" {
			assert.Empty(t, b.String(), c.value)
		} else {
			assert.Contains(t, b.String(), c.note)
		}
		assert.Equal(t, c.value != "no", cfg.mixed(), c.value)
	}
	cfg, err := ParseConfig([]byte("train_dataset: x.jsonl\nmodel_config: {hidden_size: 8}\nmixed_precision: bf16\n"), "mp.yaml")
	require.NoError(t, err)
	assert.Equal(t, "bf16", cfg.MixedPrecision)
	assert.Empty(t, cfg.Ignored)
}

type oneParam struct{ w *autograd.Var }

func (m oneParam) Params() []nn.NamedParam { return []nn.NamedParam{{Name: "w", Var: m.w}} }
func (m oneParam) Export(string) error     { return nil }

type nBatches int

func (n nBatches) NumBatches(int) int             { return int(n) }
func (n nBatches) Batch(int, int) (*Batch, error) { return &Batch{Samples: 1}, nil }

// A device failure inside a step (a *tensor.DeviceError panic from an op)
// comes back from Run as an error naming the step; other panics go on.
func TestRunRecoversDeviceErrors(t *testing.T) {
	fail := errors.New("kernel ragr_gemm_bf16f32_nt: out of memory")
	run := func(panicWith func() any) ([]float64, error) {
		cfg := DefaultConfig()
		cfg.Epochs, cfg.OutputDir, cfg.SaveOnEpochEnd = 1, t.TempDir(), false
		m := oneParam{autograd.Param(tensor.FromFloat32([]float32{1, -2}, 2), "w")}
		calls := 0
		l := &Loop{Cfg: cfg, Model: m, Train: nBatches(3),
			LossFn: func(*Batch, bool, *tensor.RNG, bool) (*autograd.Var, error) {
				calls++
				if calls == 2 {
					panic(panicWith())
				}
				return autograd.SumAll(autograd.Mul(m.w, m.w)), nil
			}}
		require.NoError(t, l.Init(""))
		return l.Run(context.Background())
	}
	losses, err := run(func() any { return &tensor.DeviceError{Device: tensor.CUDA(0), Op: "Matmul", Err: fail} })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "step 2")
	assert.Contains(t, err.Error(), "cuda:0")
	assert.ErrorIs(t, err, fail)
	var de *tensor.DeviceError
	assert.True(t, errors.As(err, &de))
	assert.Len(t, losses, 1, "the losses of the steps before the failure are kept")
	assert.PanicsWithValue(t, "not a device error", func() { _, _ = run(func() any { return "not a device error" }) })
}
