package losses

import (
	"testing"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Benchmarks of forward + backward at RAG-Retrieval's default batch sizes
// (go test -bench . ./losses/). The losses are thin compositions of
// autograd ops, so these mostly time the GEMMs and the host-side parts.

// BenchmarkJasperRelativeRanking: B = 128 (RAG-Retrieval's distill batch),
// P = 8128 pairs, P(P-1)/2 ≈ 33M hinge terms per dim evaluated on the host.
func BenchmarkJasperRelativeRanking(b *testing.B) {
	const batch, dim = 128, 256
	s := tensor.NewRNG(1).Normal(0, 1, batch, dim)
	teacher := tensor.NewRNG(2).Normal(0, 1, batch, dim)
	np := batch * (batch - 1) / 2
	terms := float64(np) * float64(np-1) / 2
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := autograd.Param(s, "s")
		l, err := JasperRelativeRanking(x, teacher, nil, DefaultJasperMargin)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(terms*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mterms/s")
}

// BenchmarkTripletInBatchSoftmax: B = 32 queries, 15 negatives each
// (RAG-Retrieval's training_embedding.yaml), D = 768.
func BenchmarkTripletInBatchSoftmax(b *testing.B) {
	const batch, negs, dim = 32, 15, 768
	q := tensor.NewRNG(1).Normal(0, 1, batch, dim)
	p := tensor.NewRNG(2).Normal(0, 1, batch, dim)
	n := tensor.NewRNG(3).Normal(0, 1, batch*negs, dim)
	for i := 0; i < b.N; i++ {
		l, err := TripletInBatchSoftmax(autograd.Param(q, "q"), autograd.Param(p, "p"), autograd.Param(n, "n"), DefaultTemperature)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	// forward q·nᵀ plus the two backward GEMMs: 3 · 2·B·(B·k)·D flops.
	flops := 3 * 2 * float64(batch) * float64(batch*negs) * float64(dim)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkColBERTInBatch: B = 8 queries of 32 tokens, 7 negatives each,
// docs of 180 tokens, D = 128.
func BenchmarkColBERTInBatch(b *testing.B) {
	const batch, negs, lq, ld, dim = 8, 7, 32, 180, 128
	q := tensor.NewRNG(1).Normal(0, 1, batch, lq, dim)
	p := tensor.NewRNG(2).Normal(0, 1, batch, ld, dim)
	n := tensor.NewRNG(3).Normal(0, 1, batch*negs, ld, dim)
	qm, pm, nm := tensor.Ones(batch, lq), tensor.Ones(batch, ld), tensor.Ones(batch*negs, ld)
	for i := 0; i < b.N; i++ {
		l, err := ColBERTInBatch(autograd.Param(q, "q"), qm, autograd.Param(p, "p"), pm, autograd.Param(n, "n"), nm, DefaultTemperature, false)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Backward(); err != nil {
			b.Fatal(err)
		}
	}
	// the [B, B·k, Lq, Ld] similarity GEMM, forward and two backward.
	flops := 3 * 2 * float64(batch) * float64(batch*negs) * float64(lq) * float64(ld) * float64(dim)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
