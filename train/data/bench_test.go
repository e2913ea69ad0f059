package data

// Benchmarks:
//
//	go test ./train/data -run '^$' -bench . -benchtime 2s
//
// BenchmarkReadReranker reports MB/s of parsing t2rank_100.jsonl (2.6 MB);
// BenchmarkBuildBatch reports (query, document) pairs tokenized and padded
// per second with the bert-base-chinese tokenizer at max_len 128 and 512.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkReadReranker(b *testing.B) {
	for _, f := range []string{"t2rank_100.jsonl", "t2rank_100.distill.jsonl"} {
		b.Run(f, func(b *testing.B) {
			raw, err := os.ReadFile(filepath.Join(exampleDir, f))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(raw)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ParseReranker(bytes.NewReader(raw), f, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}

func BenchmarkBuildBatch(b *testing.B) {
	tok := bertChinese(b)
	s, err := ReadReranker(filepath.Join(exampleDir, "t2rank_100.jsonl"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	sm, err := NewSampler(s.Groups, Sampling{GroupSize: 8})
	if err != nil {
		b.Fatal(err)
	}
	ex := sm.Epoch(1, 0)
	for _, maxLen := range []int{128, 512} {
		b.Run(fmt.Sprintf("B8xG8xL%d", maxLen), func(b *testing.B) {
			enc, err := NewCrossEncoder(tok, CrossEncoderConfig{MaxLen: maxLen})
			if err != nil {
				b.Fatal(err)
			}
			pairs := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := (i * 8) % (len(ex) - 8)
				bt, err := BuildBatch(enc, s.Groups, ex[k:k+8])
				if err != nil {
					b.Fatal(err)
				}
				pairs += bt.Examples * bt.GroupSize
			}
			b.ReportMetric(float64(pairs)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}

func BenchmarkEpoch(b *testing.B) {
	s, err := ReadReranker(filepath.Join(exampleDir, "t2rank_100.jsonl"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	sm, err := NewSampler(s.Groups, Sampling{GroupSize: 16})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		sm.Epoch(1, i)
	}
}
