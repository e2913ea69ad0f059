package cpu

// SGEMM benchmarks: every tier × shape × {1, 2} threads, reporting GFLOP/s
// (2·m·n·k per GEMM). Compare with BenchmarkFMAPeak (the single-thread
// roofline) and with the gonum baseline in gemm_gonum_bench_test.go.
//
//	go test -run XXX -bench 'Sgemm|FMAPeak' ./kernels/cpu/
//
// The generic tier skips the 2048 cube (17 GFLOP, seconds per call in plain
// Go) so that -benchtime 1x stays short.

import (
	"fmt"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// gemmBenchShape is one benchmarked GEMM (batch > 1: SgemmBatched).
type gemmBenchShape struct {
	name           string
	m, n, k        int
	transA, transB bool
	batch          int
}

// gemmBenchShapes: square cubes, the BERT-base linear layers at 1024 tokens
// (y = x·Wᵀ with W stored out×in as in Hugging Face, so transB), and the
// attention GEMMs of BERT-base at sequence 128 (8 sequences × 12 heads).
var gemmBenchShapes = []gemmBenchShape{
	{name: "sq256", m: 256, n: 256, k: 256, batch: 1},
	{name: "sq512", m: 512, n: 512, k: 512, batch: 1},
	{name: "sq1024", m: 1024, n: 1024, k: 1024, batch: 1},
	{name: "sq2048", m: 2048, n: 2048, k: 2048, batch: 1},
	{name: "bert_k768_n768", m: 1024, n: 768, k: 768, transB: true, batch: 1},
	{name: "bert_k768_n3072", m: 1024, n: 3072, k: 768, transB: true, batch: 1},
	{name: "bert_k3072_n768", m: 1024, n: 768, k: 3072, transB: true, batch: 1},
	{name: "attn_qk_96x128x128x64", m: 128, n: 128, k: 64, transB: true, batch: 96},
	{name: "attn_pv_96x128x64x128", m: 128, n: 64, k: 128, batch: 96},
}

// gemmBenchOperands returns random operands for a shape (packed, ld = row length).
func gemmBenchOperands(s gemmBenchShape) (a, b, c []float32) {
	r := testutil.NewRand(42)
	a = testutil.Uniform32(r, s.batch*s.m*s.k, -1, 1)
	b = testutil.Uniform32(r, s.batch*s.k*s.n, -1, 1)
	c = make([]float32, s.batch*s.m*s.n)
	return a, b, c
}

// gemmLd returns the leading dimensions of a packed shape.
func gemmLd(s gemmBenchShape) (lda, ldb, ldc int) {
	lda, ldb = s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	return lda, ldb, s.n
}

// reportGFLOPs reports the shape's throughput over b.N calls.
func reportGFLOPs(b *testing.B, s gemmBenchShape) {
	flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(s.batch) * float64(b.N)
	b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
}

func BenchmarkSgemm(b *testing.B) {
	for _, tier := range Tiers() {
		for _, s := range gemmBenchShapes {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", tier, s.name, threads), func(b *testing.B) {
					if tier == Generic && s.m*s.n*s.k >= 2048*2048*2048 {
						b.Skip("generic tier: 17 GFLOP per call, skipped")
					}
					a, bm, c := gemmBenchOperands(s)
					lda, ldb, ldc := gemmLd(s)
					prevTier, prevThreads := SetTier(tier), SetThreads(threads)
					defer SetTier(prevTier)
					defer SetThreads(prevThreads)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if s.batch == 1 {
							Sgemm(c, ldc, s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0)
						} else {
							SgemmBatched(c, ldc, s.m*s.n, s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, s.m*s.k, bm, ldb, s.k*s.n, 0, s.batch)
						}
					}
					reportGFLOPs(b, s)
				})
			}
		}
	}
}

// BenchmarkSgemmTrans runs the 1024 cube with each transpose combination on
// the best tier, one thread: packing absorbs the transposes, so the four
// should match.
func BenchmarkSgemmTrans(b *testing.B) {
	s := gemmBenchShape{m: 1024, n: 1024, k: 1024, batch: 1}
	a, bm, c := gemmBenchOperands(s)
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			b.Run(fmt.Sprintf("transA=%v/transB=%v", tA, tB), func(b *testing.B) {
				prev := SetThreads(1)
				defer SetThreads(prev)
				for i := 0; i < b.N; i++ {
					Sgemm(c, s.n, tA, tB, s.m, s.n, s.k, 1, a, s.k, bm, s.n, 0)
				}
				reportGFLOPs(b, s)
			})
		}
	}
}

func BenchmarkDgemm(b *testing.B) {
	for _, n := range []int{128, 512} {
		r := testutil.NewRand(1)
		a := testutil.Uniform64(r, n*n, -1, 1)
		bm := testutil.Uniform64(r, n*n, -1, 1)
		c := make([]float64, n*n)
		b.Run(fmt.Sprintf("sq%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Dgemm(c, n, false, false, n, n, n, 1, a, n, bm, n, 0)
			}
			reportGFLOPs(b, gemmBenchShape{m: n, n: n, k: n, batch: 1})
		})
	}
}
