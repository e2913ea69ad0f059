package rerank

import (
	"context"
	"testing"

	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/tensor"
)

// BertBaseConfig is BERT-base's shape (random weights for benchmarks).
func bertBaseConfig() bert.Config {
	return bert.Config{VocabSize: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512,
		TypeVocab: 2, Act: "gelu", Eps: 1e-12, InitStd: 0.02}
}

// BenchmarkRank100 reranks 100 passages of 128 tokens (query 8 + passage
// 117 + 3 special) with a BERT-base-shaped cross-encoder, batch 32.
// Run: go test -run '^$' -bench Rank100 -benchtime 1x ./rerank/
func BenchmarkRank100(b *testing.B) {
	c, err := NewCrossEncoder(bert.NewClassifier(bertBaseConfig(), 1, tensor.NewRNG(1)), nil, BERTTemplate(101, 102, 0), 128)
	if err != nil {
		b.Fatal(err)
	}
	pairs := make([]TokenPair, 100)
	for i := range pairs {
		pairs[i] = TokenPair{seqIDs(0, 8), seqIDs(i, 117)}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.ScoreTokens(ctx, pairs, Options{BatchSize: 32}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "passages/s")
}
