package cpu

// The gonum baseline for BenchmarkSgemm: the same shapes through
// gonum.org/v1/gonum/blas/blas32 with gonum's default (pure Go + SSE axpy)
// implementation, at GOMAXPROCS 1 and 2 (gonum parallelizes Sgemm with its
// own goroutines). The 2048 cube is skipped (17 GFLOP per call).
//
//	go test -run XXX -bench SgemmGonum ./kernels/cpu/

import (
	"fmt"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

func BenchmarkSgemmGonum(b *testing.B) {
	op := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	for _, s := range gemmBenchShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", s.name, threads), func(b *testing.B) {
				if s.m*s.n*s.k >= 2048*2048*2048 {
					b.Skip("gonum: 17 GFLOP per call, skipped")
				}
				a, bm, c := gemmBenchOperands(s)
				lda, ldb, ldc := gemmLd(s)
				ar, ac := storedShape(s.transA, s.m, s.k)
				br, bc := storedShape(s.transB, s.k, s.n)
				prev := runtime.GOMAXPROCS(threads)
				defer runtime.GOMAXPROCS(prev)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for j := 0; j < s.batch; j++ {
						ga := blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a[j*s.m*s.k:]}
						gb := blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: bm[j*s.k*s.n:]}
						gc := blas32.General{Rows: s.m, Cols: s.n, Stride: ldc, Data: c[j*s.m*s.n:]}
						blas32.Gemm(op(s.transA), op(s.transB), 1, ga, gb, 0, gc)
					}
				}
				reportGFLOPs(b, s)
			})
		}
	}
}
