package cpu

import (
	"testing"
	"time"
)

func TestFMAPeak(t *testing.T) {
	for _, tier := range Tiers() {
		g := FMAPeak(tier, 5*time.Millisecond)
		if !(g > 0) {
			t.Errorf("FMAPeak(%s) = %g, want > 0", tier, g)
		}
		t.Logf("FMAPeak(%s) = %.1f GFLOP/s", tier, g)
	}
}

func BenchmarkFMAPeak(b *testing.B) {
	for _, tier := range Tiers() {
		b.Run(tier.String(), func(b *testing.B) {
			var g float64
			for i := 0; i < b.N; i++ {
				g = FMAPeak(tier, 100*time.Millisecond)
			}
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}
