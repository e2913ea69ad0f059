package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
		{"", true}, {"cpu", true}, {"cuda", true}, {"cuda:1", true}, {"gpu", true},
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
// CUDA backend) fails before the data or the model is read, and modes that
// run on the CPU only say so.
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
		want string
	}{
		{"llm reranker", func(c Config) error { _, err := TrainReranker(context.Background(), c, RunOptions{}); return err },
			func(c *Config) { c.ModelType = "llm_decoder" }, "model_type llm_decoder runs on the CPU only"},
		{"embedding", func(c Config) error { _, err := TrainEmbedding(context.Background(), c, RunOptions{}); return err },
			func(c *Config) { c.LossType = DefaultConfig().LossType }, "embedding training runs on the CPU only"},
		{"colbert", func(c Config) error { _, err := TrainColBERT(context.Background(), c, RunOptions{}); return err },
			func(c *Config) { c.LossType = "" }, "colbert training runs on the CPU only"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyConfig(t, t.TempDir())
			cfg.Device = "cuda"
			c.mod(&cfg)
			err := c.run(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
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
