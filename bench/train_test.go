package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
)

func tinyTrainBench(dir string) TrainBenchConfig {
	c := DefaultTrainBench()
	c.Device = tensor.CPU
	c.Layers, c.Hidden, c.Heads, c.Intermediate, c.Vocab = 2, 64, 2, 96, 2048
	c.Batch, c.SeqLen, c.Steps, c.TimedSteps, c.LR = 4, 16, 6, 2, 1e-3
	c.OutDir = dir
	return c
}

// The benchmark on the CPU at a tiny size: its files are what the PyTorch
// script reads, and two runs give the same losses.
func TestTrainBenchCPU(t *testing.T) {
	dir := t.TempDir()
	c := tinyTrainBench(dir)
	rep, err := TrainBench(c)
	require.NoError(t, err)
	require.Len(t, rep.Losses, c.Steps)
	for _, l := range rep.Losses {
		assert.False(t, l != l || l <= 0, "loss %v", l)
	}
	assert.Greater(t, rep.StepMS, 0.0)
	assert.False(t, rep.MixedPrecision)
	require.NoError(t, WriteTrainBenchReport(dir, rep))
	var back TrainBenchReport
	b, err := os.ReadFile(filepath.Join(dir, "ragr.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, rep.Losses, back.Losses)

	f, err := safetensors.Open(filepath.Join(dir, "batches.safetensors"))
	require.NoError(t, err)
	defer f.Close()
	for name, shape := range map[string][]int{"input_ids": {6, 4, 16}, "token_type_ids": {6, 4, 16}, "attention_mask": {6, 4, 16}, "labels": {6, 4}} {
		info, err := f.Info(name)
		require.NoError(t, err, name)
		assert.Equal(t, shape, info.Shape, name)
	}
	cfg, err := models.LoadConfig(filepath.Join(dir, "init", "config.json"))
	require.NoError(t, err)
	assert.Equal(t, 2, cfg.NumHiddenLayers)
	w, err := models.OpenWeights(filepath.Join(dir, "init"))
	require.NoError(t, err)
	defer w.Close()
	assert.Contains(t, w.Names(), "classifier.weight")
	assert.Contains(t, w.Names(), "bert.encoder.layer.1.output.LayerNorm.bias")

	rep2, err := TrainBench(tinyTrainBench(t.TempDir()))
	require.NoError(t, err)
	testutil.AssertClose(t, "losses of a second run", rep2.Losses, rep.Losses, testutil.Exact)
}

// The benchmark's device path (the one `ragr bench train --device cuda`
// takes) on the simulated accelerator: bf16 mixed precision, the fused
// attention (head size 32 here: the sim takes any), peak device memory
// reported, and losses within the bf16 level of the CPU run's.
func TestTrainBenchSim(t *testing.T) {
	want, err := TrainBench(tinyTrainBench(t.TempDir()))
	require.NoError(t, err)
	c := tinyTrainBench(t.TempDir())
	c.Device = tensor.Sim(6)
	rep, err := TrainBench(c)
	require.NoError(t, err)
	assert.True(t, rep.MixedPrecision)
	assert.Greater(t, rep.PeakBytes, int64(0))
	testutil.AssertClose(t, "bf16 mixed losses on the sim", rep.Losses, want.Losses, testutil.BF16Mixed)
	assert.NotEqual(t, want.Losses, rep.Losses)

	// two more steps with the kernel profile on
	c = tinyTrainBench(t.TempDir())
	c.Device, c.ProfileSteps = tensor.Sim(6), 2
	rep, err = TrainBench(c)
	require.NoError(t, err)
	require.Equal(t, 2, rep.ProfileSteps)
	names := map[string]int{}
	for _, k := range rep.Profile {
		names[k.Name] = k.Count
	}
	assert.Positive(t, names["Matmul.bf16"])
	assert.Equal(t, 2*2, names["AdamWMulti"], "one multi-tensor AdamW per parameter group (decay, no decay) and step")
	assert.Equal(t, 2, names["FusedAttention"]/c.Layers, "one fused attention per layer and step")
	assert.Positive(t, rep.ProfileWallMS)
	var b strings.Builder
	ProfileTable(&b, rep, 5)
	assert.Contains(t, b.String(), "kernel profile over 2 steps on sim:6")
	assert.Contains(t, b.String(), "Matmul.bf16")
	assert.Contains(t, b.String(), "(the rest)")
	assert.Contains(t, b.String(), "ms/step wall")
}

func TestTrainBenchBadConfig(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*TrainBenchConfig)
		want string
	}{
		{"heads", func(c *TrainBenchConfig) { c.Heads = 3 }, "divisible"},
		{"len", func(c *TrainBenchConfig) { c.SeqLen = 1024 }, "len"},
		{"steps", func(c *TrainBenchConfig) { c.Steps = 0 }, "steps"},
		{"lr", func(c *TrainBenchConfig) { c.LR = 0 }, "lr"},
		{"out", func(c *TrainBenchConfig) { c.OutDir = "" }, "output directory"},
		{"no cuda", func(c *TrainBenchConfig) { c.Device = tensor.CUDA(0) }, "without CUDA support"},
		{"profile on the cpu", func(c *TrainBenchConfig) { c.ProfileSteps = 1 }, "profiled steps need a device"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := tinyTrainBench(t.TempDir())
			c.mod(&cfg)
			_, err := TrainBench(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
