package cpu

// Benchmarks for reduce.go, and the shared per-tier × threads driver used by
// the norm and embedding benchmarks. Run:
//
//	go test -run XXX -bench 'Sum|Dot|Max|Copy' ./kernels/cpu/
//
// Throughput is reported as GB/s of compulsory memory traffic (each input
// read once, each output written once).

import (
	"fmt"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// reduceBenchTiers runs f as sub-benchmarks tier/threads for every supported
// tier and 1 and 2 threads, reporting bytes per op as GB/s.
func reduceBenchTiers(b *testing.B, bytes int, f func()) {
	for _, tier := range Tiers() {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", tier, th), func(b *testing.B) {
				prevT := SetTier(tier)
				prevN := SetThreads(th)
				defer func() { SetTier(prevT); SetThreads(prevN) }()
				f() // warm up caches and the pool
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f()
				}
				reduceReportGBs(b, bytes)
			})
		}
	}
}

// reduceReportGBs reports bytes per op as GB/s.
func reduceReportGBs(b *testing.B, bytes int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/s/1e9, "GB/s")
	}
}

var reduceBenchSink float32

const reduceBenchN = 1 << 20

func BenchmarkSum(b *testing.B) {
	x := testutil.Normal32(testutil.NewRand(1), reduceBenchN, 1)
	reduceBenchTiers(b, 4*reduceBenchN, func() { reduceBenchSink += Sum(x) })
}

func BenchmarkDot(b *testing.B) {
	r := testutil.NewRand(2)
	x, y := testutil.Normal32(r, reduceBenchN, 1), testutil.Normal32(r, reduceBenchN, 1)
	reduceBenchTiers(b, 8*reduceBenchN, func() { reduceBenchSink += Dot(x, y) })
}

func BenchmarkMax(b *testing.B) {
	x := testutil.Normal32(testutil.NewRand(3), reduceBenchN, 1)
	reduceBenchTiers(b, 4*reduceBenchN, func() { reduceBenchSink += Max(x) })
}

// BenchmarkSumAxis covers both forms on a 1024×768 array: rows (inner = 1,
// per-row pairwise sums) and columns (outer = 1, inner = 768: vector row adds,
// the bias-gradient shape).
func BenchmarkSumAxis(b *testing.B) {
	const rows, cols = 1024, 768
	x := testutil.Normal32(testutil.NewRand(4), rows*cols, 1)
	b.Run("rows", func(b *testing.B) {
		dst := make([]float32, rows)
		reduceBenchTiers(b, 4*(rows*cols+rows), func() { SumAxis(dst, x, rows, cols, 1) })
	})
	b.Run("cols", func(b *testing.B) {
		dst := make([]float32, cols)
		reduceBenchTiers(b, 4*(rows*cols+cols), func() { SumAxis(dst, x, 1, rows, cols) })
	})
}

// BenchmarkCopy is the baseline: copy() of 1M floats (the Sum size) and of a
// 1024×768 array (the norm size); bytes count the read and the write.
func BenchmarkCopy(b *testing.B) {
	for _, n := range []int{reduceBenchN, 1024 * 768} {
		src := testutil.Normal32(testutil.NewRand(5), n, 1)
		dst := make([]float32, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			copy(dst, src)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(dst, src)
			}
			reduceReportGBs(b, 8*n)
		})
	}
}
