package tokenizer

// bench_test.go: encoding throughput over realistic English text (the first
// 200 Cranfield documents, testdata/cran-200.txt), one Encode per document
// with special tokens, reported as MB/s of input text (b.SetBytes, wall
// clock) and cpu-MB/s (per core of process CPU time, GC included).
//
//	go test ./models/tokenizer -run '^$' -bench Encode -benchtime 20x

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func benchDocs(b *testing.B) ([]string, int) {
	data, err := os.ReadFile(filepath.Join("testdata", "cran-200.txt"))
	if err != nil {
		b.Fatal(err)
	}
	var docs []string
	total := 0
	for _, d := range strings.Split(string(data), "\n.I ") {
		if d = strings.TrimSpace(d); d != "" {
			docs = append(docs, d)
			total += len(d)
		}
	}
	return docs, total
}

// benchTokenizer loads one of the repository's tokenizer data files.
func benchTokenizer(tb testing.TB, rel string) *Tokenizer {
	tb.Helper()
	path, err := goldenDataPath(goldenRoot(), rel)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := cachedTokenizer(path, func() (*Tokenizer, error) { return FromFile(path) })
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func benchEncode(b *testing.B, rel string) {
	tok := benchTokenizer(b, rel)
	docs, total := benchDocs(b)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPUSeconds()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			n += tok.Encode(d, true).Len()
		}
	}
	cpu := processCPUSeconds() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(n)/float64(b.N)/float64(total), "tokens/byte")
	if cpu > 0 {
		// Throughput per core of CPU time (garbage collection included):
		// stable on a shared machine, where MB/s (wall clock) is not.
		b.ReportMetric(float64(total)*float64(b.N)/cpu/1e6, "cpu-MB/s")
	}
}

// BenchmarkEncodeWordPiece: all-MiniLM-L6-v2 (bert-base-uncased vocabulary).
func BenchmarkEncodeWordPiece(b *testing.B) {
	benchEncode(b, "tokenizer-all-minilm-l6-v2/tokenizer.json")
}

// BenchmarkEncodeBPE: Qwen2/Qwen3 byte-level BPE.
func BenchmarkEncodeBPE(b *testing.B) {
	benchEncode(b, "tokenizer-qwen2-bpe-from-qwen3/tokenizer.json.gz")
}

// BenchmarkEncodeUnigram: T5 SentencePiece Unigram.
func BenchmarkEncodeUnigram(b *testing.B) {
	benchEncode(b, "tokenizer-unigram-t5/tokenizer.json")
}

// BenchmarkLoadBPE: parsing the Qwen tokenizer.json.gz (11 MB of JSON).
func BenchmarkLoadBPE(b *testing.B) {
	path, err := goldenDataPath(goldenRoot(), "tokenizer-qwen2-bpe-from-qwen3/tokenizer.json.gz")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := FromFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
