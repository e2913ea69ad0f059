package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/rerank"
	"github.com/ragr-dev/ragr/tensor"
)

// BenchmarkServerOverhead scores 32 passages of ~128 tokens with a
// BERT-base-shaped cross-encoder through the library and through POST
// /rerank on loopback, and reports the server's overhead in percent.
// Run: go test -run '^$' -bench ServerOverhead -benchtime 2x ./rerank/server/
func BenchmarkServerOverhead(b *testing.B) {
	dir := modelDir(b, "bert-cross-encoder") // for its 512-token vocab.txt
	tok, err := tokenizer.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	cfg := bert.Config{VocabSize: 30522, Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, MaxPositions: 512, TypeVocab: 2, Act: "gelu", Eps: 1e-12, InitStd: 0.02}
	rr, err := rerank.NewCrossEncoder(bert.NewClassifier(cfg, 1, tensor.NewRNG(1)), tok, nil, 128)
	if err != nil {
		b.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "model.safetensors"))
	q := text(0, 8)
	docs := make([]string, 32)
	pairs := make([]rerank.Pair, 32)
	for i := range docs {
		docs[i] = text(i+1, 117)
		pairs[i] = rerank.Pair{Query: q, Doc: docs[i]}
	}
	s := New(rr, nil, Config{MaxBatch: 32, MaxWait: -1, MaxTokens: 512})
	ts := httptest.NewServer(s.Handler())
	defer func() { ts.Close(); s.Close() }()
	var lib, srv time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := rr.ComputeScore(context.Background(), pairs, rerank.Options{BatchSize: 32, Normalize: true}); err != nil {
			b.Fatal(err)
		}
		lib += time.Since(t0)
		t0 = time.Now()
		if code, body := post(b, ts.URL+"/rerank", "", map[string]any{"query": q, "texts": docs}); code != 200 {
			b.Fatal(code, string(body))
		}
		srv += time.Since(t0)
	}
	b.ReportMetric(lib.Seconds()/float64(b.N), "lib-s/op")
	b.ReportMetric(srv.Seconds()/float64(b.N), "server-s/op")
	b.ReportMetric(100*(srv.Seconds()-lib.Seconds())/lib.Seconds(), "overhead-%")
	b.ReportMetric(float64(32*b.N)/srv.Seconds(), "server-passages/s")
}
