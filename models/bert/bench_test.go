package bert

import (
	"runtime"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// BertBase is bert-base-uncased's shape.
var BertBase = Config{VocabSize: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512,
	TypeVocab: 2, Act: "gelu", Eps: 1e-12, InitStd: 0.02}

func batchInputs(b, l, vocab int) Inputs {
	rng := tensor.NewRNG(1)
	ids := make([]int32, b*l)
	mask := make([]int32, b*l)
	for i := range ids {
		ids[i] = int32(rng.IntN(vocab))
		mask[i] = 1
	}
	return Inputs{IDs: tensor.FromInt32(ids, b, l), Mask: tensor.FromInt32(mask, b, l)}
}

// BenchmarkBertBaseForward measures a BERT-base encoder forward pass, fp32,
// batch 8 × 128 tokens, without gradients, in sequences per second.
func BenchmarkBertBaseForward(b *testing.B) {
	m := New(BertBase, true, tensor.NewRNG(0))
	in := batchInputs(8, 128, BertBase.VocabSize)
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		autograd.NoGrad(func() {
			if _, err := m.Forward(in, RunOptions{}); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(float64(8*b.N)/b.Elapsed().Seconds(), "seq/s")
}
