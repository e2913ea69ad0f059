package tensor

import "testing"

// BenchmarkDropoutMask measures the mask of one BERT-base attention-probs
// dropout (8×12×128×128 elements).
func BenchmarkDropoutMask(b *testing.B) {
	g := NewRNG(1)
	n := 8 * 12 * 128 * 128
	for i := 0; i < b.N; i++ {
		g.DropoutMask(0.1, n)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}
