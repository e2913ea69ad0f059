package cpu

// Benchmarks of the elementwise, activation and softmax kernels on BERT-base
// activation shapes, per tier and thread count, reporting GB/s of the
// bytes each call must read and write (not counting a kernel's own extra
// passes over data it keeps in cache). BenchmarkElemCopy is the baseline: Go's
// copy() over the same bytes.
//
//	go test -run '^$' -bench 'ElemCopy|Softmax|Gelu|Exp|BinaryAdd' ./kernels/cpu/

import (
	"fmt"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// benchShapes are BERT-base (batch 8, sequence 128) activations.
var (
	elemBenchHidden = [2]int{1024, 768}  // 8*128 tokens x hidden 768
	elemBenchFFN    = [2]int{1024, 3072} // 8*128 tokens x intermediate 3072
	elemBenchScores = [2]int{12288, 128} // 8*12 heads*128 queries x 128 keys
)

// elemBench runs f under every tier and with 1 and 2 threads, reporting
// bytes/s as GB/s.
func elemBench(b *testing.B, name string, bytes int, f func()) {
	for _, tier := range Tiers() {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/%s/threads=%d", name, tier, th), func(b *testing.B) {
				prevTier := SetTier(tier)
				prevTh := SetThreads(th)
				defer func() {
					SetTier(prevTier)
					SetThreads(prevTh)
				}()
				f() // warm up (page in, pool started)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f()
				}
				b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}

func elemShapeName(s [2]int) string { return fmt.Sprintf("%dx%d", s[0], s[1]) }

// BenchmarkElemCopy is the memory baseline: copy() of 4*rows*cols bytes (read
// plus write: 8 bytes per element).
func BenchmarkElemCopy(b *testing.B) {
	for _, s := range [][2]int{elemBenchHidden, elemBenchFFN} {
		n := s[0] * s[1]
		src, dst := make([]float32, n), make([]float32, n)
		b.Run(elemShapeName(s), func(b *testing.B) {
			copy(dst, src)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(dst, src)
			}
			b.ReportMetric(float64(8*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkSoftmaxRows(b *testing.B) {
	for _, s := range [][2]int{elemBenchHidden, elemBenchScores} {
		n := s[0] * s[1]
		x := testutil.Normal32(testutil.NewRand(1), n, 2)
		y := make([]float32, n)
		elemBench(b, elemShapeName(s), 8*n, func() { SoftmaxRows(y, x, s[0], s[1]) })
	}
}

func BenchmarkGeluErf(b *testing.B) {
	for _, s := range [][2]int{elemBenchHidden, elemBenchFFN} {
		n := s[0] * s[1]
		x := testutil.Normal32(testutil.NewRand(2), n, 1.5)
		y := make([]float32, n)
		elemBench(b, elemShapeName(s), 8*n, func() { GeluErf(y, x) })
	}
}

func BenchmarkGeluErfBackward(b *testing.B) {
	for _, s := range [][2]int{elemBenchHidden, elemBenchFFN} {
		n := s[0] * s[1]
		x := testutil.Normal32(testutil.NewRand(3), n, 1.5)
		dy := testutil.Normal32(testutil.NewRand(4), n, 1)
		dx := make([]float32, n)
		elemBench(b, elemShapeName(s), 12*n, func() { GeluErfBackward(dx, dy, x) })
	}
}

func BenchmarkExp(b *testing.B) {
	s := elemBenchHidden
	n := s[0] * s[1]
	x := testutil.Normal32(testutil.NewRand(5), n, 3)
	y := make([]float32, n)
	elemBench(b, elemShapeName(s), 8*n, func() { Exp(y, x) })
}

func BenchmarkBinaryAdd(b *testing.B) {
	for _, s := range [][2]int{elemBenchHidden, elemBenchFFN} {
		n := s[0] * s[1]
		x := testutil.Normal32(testutil.NewRand(6), n, 1)
		z := testutil.Normal32(testutil.NewRand(7), n, 1)
		y := make([]float32, n)
		elemBench(b, elemShapeName(s), 12*n, func() { Binary(OpAdd, y, x, z) })
	}
}

// BenchmarkConvert converts a 1024x3072 weight matrix (6 bytes per element
// moved: 4 of float32, 2 of 16-bit).
func BenchmarkConvert(b *testing.B) {
	n := elemBenchFFN[0] * elemBenchFFN[1]
	f := testutil.Normal32(testutil.NewRand(8), n, 1)
	h := make([]uint16, n)
	F32ToF16(h, f)
	elemBench(b, "F32ToF16", 6*n, func() { F32ToF16(h, f) })
	elemBench(b, "F16ToF32", 6*n, func() { F16ToF32(f, h) })
	elemBench(b, "F32ToBF16", 6*n, func() { F32ToBF16(h, f) })
	elemBench(b, "BF16ToF32", 6*n, func() { BF16ToF32(f, h) })
}
