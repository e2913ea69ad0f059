package train

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/tensor"
)

// TeacherLogits inverts the sigmoid of the soft labels, clamping 0 and 1.
func TestTeacherLogits(t *testing.T) {
	z := []float64{-15, -3.5, -0.25, 0, 0.25, 3.5, 15}
	p := make([]float32, len(z))
	for i, v := range z {
		p[i] = float32(1 / (1 + math.Exp(-v)))
	}
	got := TeacherLogits(tensor.FromFloat32(p, len(p))).Float32s()
	want := make([]float32, len(z))
	for i, v := range p {
		want[i] = float32(math.Log(float64(v) / (1 - float64(v))))
	}
	testutil.AssertClose(t, "logit(sigmoid(z))", got, want, testutil.F32)
	testutil.AssertClose(t, "logit(sigmoid(z)) ≈ z", got[1:6], []float32{-3.5, -0.25, 0, 0.25, 3.5}, testutil.F32Rounding)
	ends := TeacherLogits(tensor.FromFloat32([]float32{0, 1}, 2)).Float32s()
	assert.False(t, math.IsInf(float64(ends[0]), 0) || math.IsInf(float64(ends[1]), 0), "0 and 1 are clamped: %v", ends)
	assert.Less(t, ends[0], float32(-30))
	assert.Greater(t, ends[1], float32(30))
}

// A distill_* loss trains on the flat distill file (soft labels) with
// distill_temperature, and refuses labels that are not probabilities.
func TestTrainRerankerDistillLosses(t *testing.T) {
	ex := filepath.Join(repo, "testdata", "data", "rag-retrieval-example-data")
	for _, loss := range []string{"distill_kl", "distill_soft_ce", "distill_mse"} {
		t.Run(loss, func(t *testing.T) {
			c := tinyConfig(t, t.TempDir())
			c.TrainDataset = filepath.Join(ex, "t2rank_100.distill.jsonl")
			c.LossType, c.DistillTemperature = loss, 2
			c.Epochs, c.MaxSteps, c.MaxLen = 1, 3, 32
			res, err := TrainReranker(context.Background(), c, RunOptions{})
			require.NoError(t, err)
			require.Len(t, res.Losses, 3)
			for _, l := range res.Losses {
				assert.False(t, math.IsNaN(l) || math.IsInf(l, 0))
			}
		})
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "graded.jsonl")
	writeFile(t, bad, `{"query": "q", "hits": [{"content": "a", "label": 2}, {"content": "b", "label": 0}, {"content": "c", "label": 1}, {"content": "d", "label": 0}]}`+"\n")
	c := tinyConfig(t, t.TempDir())
	c.TrainDataset, c.LossType = bad, "distill_kl"
	_, err := TrainReranker(context.Background(), c, RunOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "graded.jsonl:1")
	assert.Contains(t, err.Error(), "label 2")

	c = tinyConfig(t, t.TempDir())
	c.DistillTemperature = -1
	assert.ErrorContains(t, c.Validate(), "distill_temperature")
}
