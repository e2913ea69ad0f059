package torchbin

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/tensor"
)

// TestRealTorchSave reads archives written by real torch.save (1.13.1; see
// testdata/real/README.md).
func TestRealTorchSave(t *testing.T) {
	m, err := Load("testdata/real/mixed.pt")
	require.NoError(t, err)
	base := make([]float32, 24)
	for i := range base {
		base[i] = float32(i)
	}
	assert.Equal(t, []int{4, 6}, m["plain"].Shape())
	assert.Equal(t, base, m["plain"].Float32s())
	tr := make([]float32, 0, 24)
	for c := 0; c < 6; c++ {
		for r := 0; r < 4; r++ {
			tr = append(tr, base[r*6+c])
		}
	}
	assert.Equal(t, []int{6, 4}, m["transposed"].Shape())
	assert.Equal(t, tr, m["transposed"].Float32s())
	assert.Equal(t, []float32{8, 9, 10, 14, 15, 16}, m["narrow"].Float32s())
	assert.Equal(t, tensor.Float16, m["half"].DType())
	assert.Equal(t, []float32{1, -2.5, 65504, 0.0010004044}, m["half"].Float32s())
	assert.Equal(t, tensor.BFloat16, m["bf16"].DType())
	assert.Equal(t, []float32{1, -2.5, 3.140625, math.Float32frombits(0x3A830000)}, m["bf16"].Float32s())
	assert.Equal(t, tensor.Int32, m["ids"].DType())
	assert.Equal(t, []int32{0, 1, 2, 3, 4, 5}, m["ids"].Int32s())
	assert.Equal(t, []float64{0.1, 0.2}, m["double"].Float64s())
	require.Contains(t, m, "nested.inner.weight")
	assert.Equal(t, []float32{1, 1, 1, 1}, m["nested.inner.weight"].Float32s())

	// A BERT state dict re-saved by torch.save (compared tensor by tensor
	// with its safetensors original in models' tests).
	bin, err := Load("testdata/real/bert-tiny.pytorch_model.bin")
	require.NoError(t, err)
	require.Contains(t, bin, "embeddings.word_embeddings.weight")
	assert.Equal(t, []int{512, 32}, bin["embeddings.word_embeddings.weight"].Shape())
}
