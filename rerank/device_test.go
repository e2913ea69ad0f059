package rerank

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/tensor"
)

// devicePairs are token pairs for the device tests: short ones, one
// document longer than the window (max_score_slice over several windows),
// and batches of unequal lengths (padding).
func devicePairs() []TokenPair {
	q := seqIDs(1, 4)
	return []TokenPair{
		{q, seqIDs(3, 5)},
		{q, seqIDs(11, 40)},
		{seqIDs(7, 2), seqIDs(20, 9)},
		{q, seqIDs(30, 1)},
		{seqIDs(2, 6), seqIDs(50, 17)},
	}
}

// requireOnDevice requires every parameter of m on d.
func requireOnDevice(t *testing.T, m any, d tensor.Device) {
	t.Helper()
	ps := m.(deviceModel).params()
	require.NotEmpty(t, ps)
	for _, p := range ps {
		require.Equal(t, d, p.Var.Value.Device(), p.Name)
	}
}

// deviceCase loads one model on a device and returns its scores or
// embeddings, flattened.
type deviceCase struct {
	name string
	run  func(t *testing.T, d tensor.Device) []float32
}

// rerankCase scores devicePairs with the reranker in dir.
func rerankCase(name, dir string, lo LoadOptions, o Options) deviceCase {
	return deviceCase{name, func(t *testing.T, d tensor.Device) []float32 {
		lo.Device = d
		r, err := Load(dir, lo)
		require.NoError(t, err)
		requireOnDevice(t, r, d)
		s, err := r.(TokenScorer).ScoreTokens(context.Background(), devicePairs(), o)
		require.NoError(t, err)
		return s
	}}
}

// encodeCase embeds devicePairs' documents with the encoder in dir.
func encodeCase(name, dir string, eo EncoderOptions, o EncodeOptions) deviceCase {
	return deviceCase{name, func(t *testing.T, d tensor.Device) []float32 {
		eo.Device = d
		e, err := LoadEncoder(dir, eo)
		require.NoError(t, err)
		requireOnDevice(t, e, d)
		if e.st != nil {
			for _, l := range e.st.Dense {
				require.Equal(t, d, l.Weight.Device(), l.Path)
			}
		}
		var texts [][]int32
		for _, p := range devicePairs() {
			texts = append(texts, p.Doc)
		}
		v, err := e.EncodeTokens(context.Background(), texts, o)
		require.NoError(t, err)
		return flatten(v)
	}}
}

// denseEncoderDir is bert-tiny as a sentence-transformers model: mean
// pooling, a Dense layer 32 → 12 with tanh, Normalize.
func denseEncoderDir(t *testing.T) string {
	dir := t.TempDir()
	src := filepath.Join(golden.Root(), "bert-tiny")
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	rng := tensor.NewRNG(3)
	require.NoError(t, models.WriteSentenceTransformer(dir, &models.SentenceTransformer{Pooling: models.PoolMean, Dim: 32, Normalize: true,
		Dense: []models.DenseLayer{{In: 32, Out: 12, Activation: "torch.nn.modules.activation.Tanh", Weight: rng.Normal(0, 0.2, 12, 32), Bias: rng.Normal(0, 0.1, 12)}}}))
	return dir
}

func deviceCases(t *testing.T) []deviceCase {
	g := golden.Root()
	bertTmpl := SingleTemplate([]int32{101}, []int32{102}, 0)
	yes := 300
	return []deviceCase{
		rerankCase("cross-encoder slice", filepath.Join(g, "bert-cross-encoder"), LoadOptions{Template: BERTTemplate(101, 102, 0)}, Options{MaxLength: 24, BatchSize: 2}),
		rerankCase("cross-encoder truncate sigmoid", filepath.Join(g, "bert-cross-encoder"), LoadOptions{Template: BERTTemplate(101, 102, 0)}, Options{Strategy: Truncate, Normalize: true}),
		rerankCase("xlmr cross-encoder", filepath.Join(g, "xlmr-cross-encoder"), LoadOptions{Template: RoBERTaTemplate(0, 2, 1)}, Options{MaxLength: 24, BatchSize: 3}),
		rerankCase("qwen2-seqcls", filepath.Join(g, "qwen2-seqcls"), LoadOptions{Template: &Template{PadID: 511}}, Options{MaxLength: 24, BatchSize: 2}),
		rerankCase("causal-lm-yes", filepath.Join(g, "qwen2-tiny"), LoadOptions{Template: &Template{PadID: 511}, Prompt: &PromptConfig{YesID: &yes}}, Options{MaxLength: 24, BatchSize: 2}),
		rerankCase("colbert", filepath.Join(g, "colbert"), LoadOptions{Template: bertTmpl}, Options{MaxLength: 20, BatchSize: 2}),
		encodeCase("encoder bert cls", filepath.Join(g, "bert-tiny"), EncoderOptions{Template: bertTmpl, Pooling: models.PoolCLS}, EncodeOptions{BatchSize: 2}),
		encodeCase("encoder bert mean normalize", filepath.Join(g, "bert-tiny"), EncoderOptions{Template: bertTmpl, Pooling: models.PoolMean}, EncodeOptions{Normalize: true, BatchSize: 3}),
		encodeCase("encoder bert mrl 8", filepath.Join(g, "bert-tiny"), EncoderOptions{Template: bertTmpl, Pooling: models.PoolMean}, EncodeOptions{Dim: 8, Normalize: true}),
		encodeCase("encoder xlmr cls", filepath.Join(g, "xlmr-encoder"), EncoderOptions{Template: SingleTemplate([]int32{0}, []int32{2}, 1)}, EncodeOptions{Normalize: true, BatchSize: 2}),
		encodeCase("encoder qwen2 last token", filepath.Join(g, "qwen2-tiny"), EncoderOptions{Template: &Template{PadID: 511}}, EncodeOptions{BatchSize: 2}),
		encodeCase("encoder qwen2 mrl 16", filepath.Join(g, "qwen2-tiny"), EncoderOptions{Template: &Template{PadID: 511}}, EncodeOptions{Dim: 16, Normalize: true, BatchSize: 2}),
		encodeCase("encoder dense", denseEncoderDir(t), EncoderOptions{Template: bertTmpl}, EncodeOptions{BatchSize: 2}),
	}
}

// Every reranker family and the encoder run on a device (the simulated
// accelerator: the device code path without a GPU). In fp32 the scores and
// embeddings equal the CPU's bit for bit (nothing reads device memory
// directly, no host constant meets a device tensor); with bf16 mixed
// precision on they stay within the bf16 level of the CPU's and differ
// from them (the matmuls ran on bf16 operands).
func TestInferenceOnDevice(t *testing.T) {
	fp32, bf16 := tensor.Sim(0), tensor.Sim(5)
	require.NoError(t, SetPrecision(fp32, FP32))
	for _, c := range deviceCases(t) {
		t.Run(c.name, func(t *testing.T) {
			want := c.run(t, tensor.CPU)
			got := c.run(t, fp32)
			assert.Equal(t, want, got, "fp32 on %s: the CPU's numbers", fp32)

			prev := tensor.MixedPrecision(bf16)
			require.NoError(t, SetPrecision(bf16, BF16))
			defer tensor.SetMixedPrecision(bf16, prev)
			mixed := c.run(t, bf16)
			assert.LessOrEqual(t, testutil.RelL2(mixed, want), testutil.BF16Mixed.Rel, "bf16 on %s: relative L2 to the CPU's", bf16)
			assert.NotEqual(t, want, mixed, "bf16 operands change the numbers")
		})
	}
}

func TestDeviceErrors(t *testing.T) {
	dir := filepath.Join(golden.Root(), "bert-cross-encoder")
	_, err := Load(dir, LoadOptions{Template: BERTTemplate(101, 102, 0), Device: tensor.CUDA(0)})
	if _, berr := tensor.BackendFor(tensor.CUDA(0)); berr != nil { // no GPU here, or no -tags cuda
		require.Error(t, err)
		assert.ErrorContains(t, err, "rerank: device cuda:0: "+berr.Error())
	}
	// An unavailable device fails before the directory is read.
	_, err = Load(t.TempDir(), LoadOptions{Device: tensor.Device{Kind: 9}})
	assert.ErrorContains(t, err, "device(9:0)")
	_, err = LoadEncoder(t.TempDir(), EncoderOptions{Device: tensor.Device{Kind: 9}})
	assert.ErrorContains(t, err, "device(9:0)")

	assert.NoError(t, SetPrecision(tensor.CPU, FP32))
	assert.NoError(t, SetPrecision(tensor.CPU, ""))
	assert.ErrorContains(t, SetPrecision(tensor.CPU, BF16), "the CPU computes in float32")
	assert.ErrorContains(t, SetPrecision(tensor.Sim(6), "fp8"), `unknown precision "fp8"`)
	assert.False(t, tensor.MixedPrecision(tensor.Sim(6)))
	assert.ErrorContains(t, SetPrecision(tensor.Device{Kind: 9}, ""), "rerank: device device(9:0)")
	require.NoError(t, SetPrecision(tensor.Sim(6), BF16))
	assert.True(t, tensor.MixedPrecision(tensor.Sim(6)))
	require.NoError(t, SetPrecision(tensor.Sim(6), FP32))
	assert.False(t, tensor.MixedPrecision(tensor.Sim(6)))
}

// A device failure while scoring (a *tensor.DeviceError panic, as an out
// of memory device raises) comes back as the error; other panics go on.
func TestDeviceFailureIsAnError(t *testing.T) {
	rows := [][]int32{{1, 2}, {3}}
	de := &tensor.DeviceError{Device: tensor.Sim(0), Op: "Alloc", Err: errors.New("out of memory")}
	s, err := scoreRowsSorted(context.Background(), rows, nil, 0, 1, func(batch) ([]float32, error) { panic(de) })
	assert.Nil(t, s)
	assert.ErrorIs(t, err, de)
	assert.ErrorContains(t, err, "Alloc on sim:0: out of memory")
	assert.PanicsWithValue(t, "bug", func() {
		_, _ = scoreRowsSorted(context.Background(), rows, nil, 0, 1, func(batch) ([]float32, error) { panic("bug") })
	})
}

// Rerankers on a device are safe for concurrent use: calls from several
// goroutines at once (each its own batches) give the CPU's scores bit for
// bit.
func TestConcurrentCallsOnDevice(t *testing.T) {
	dir := filepath.Join(golden.Root(), "bert-cross-encoder")
	lo := LoadOptions{Template: BERTTemplate(101, 102, 0)}
	cpu, err := Load(dir, lo)
	require.NoError(t, err)
	lo.Device = tensor.Sim(0)
	require.NoError(t, SetPrecision(lo.Device, FP32))
	dev, err := Load(dir, lo)
	require.NoError(t, err)
	const n = 8
	pairs := func(c int) []TokenPair {
		return []TokenPair{{seqIDs(c, 3), seqIDs(c+5, 4+c)}, {seqIDs(c, 3), seqIDs(c+9, 30)}}
	}
	want := make([][]float32, n)
	for c := range want {
		want[c], err = cpu.(TokenScorer).ScoreTokens(context.Background(), pairs(c), Options{MaxLength: 20})
		require.NoError(t, err)
	}
	got := make([][]float32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			got[c], errs[c] = dev.(TokenScorer).ScoreTokens(context.Background(), pairs(c), Options{MaxLength: 20})
		}(c)
	}
	wg.Wait()
	for c := range got {
		require.NoError(t, errs[c])
		assert.Equal(t, want[c], got[c], "call %d", c)
	}
}
