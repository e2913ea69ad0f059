package cpu

// Dgemm / DgemmBatched: the float64 GEMM, plain Go. It is the reference the
// float32 kernels are tested against and the CPU GEMM of the float64 tensor
// dtype, so it favours an obviously correct loop structure over speed: rows
// of C are spread over the pool, k is blocked so that a slab of op(B) stays
// in cache while a group of rows sweeps it, and the inner loops are unit
// stride (axpy over rows of B, or dot products against rows of B when
// transB). Benchmark: go test -run XXX -bench Dgemm ./kernels/cpu/

import "sync"

// dgemmKB is the k block of Dgemm: dgemmKB rows of B (axpy form) or
// dgemmKB-long row pieces (dot form) stay in cache across a row group.
const dgemmKB = 256

// dgemmRows is how many rows of C share one pass over a slab of B.
const dgemmRows = 4

// Dgemm is the float64 twin of Sgemm: C = alpha*op(A)*op(B) + beta*C,
// row-major, with the same shapes, conventions and panics.
func Dgemm(c []float64, ldc int, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64) {
	checkGemm("Dgemm", len(c), ldc, transA, transB, m, n, k, len(a), lda, len(b), ldb)
	dgemm(c, ldc, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, true)
}

// DgemmBatched is the float64 twin of SgemmBatched.
func DgemmBatched(c []float64, ldc, strideC int, transA, transB bool, m, n, k int, alpha float64, a []float64, lda, strideA int, b []float64, ldb, strideB int, beta float64, batch int) {
	checkGemmBatched("DgemmBatched", len(c), ldc, strideC, transA, transB, m, n, k, len(a), lda, strideA, len(b), ldb, strideB, batch)
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		for i := 0; i < batch; i++ {
			scaleC(c[i*strideC:], ldc, m, n, beta)
		}
		return
	}
	if batch >= Workers() {
		ParallelChunks(batch, func(i int) {
			dgemm(c[i*strideC:], ldc, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, false)
		})
		return
	}
	for i := 0; i < batch; i++ {
		dgemm(c[i*strideC:], ldc, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, true)
	}
}

// dgemmBufs recycles the per-row-group scratch of dgemm.
var dgemmBufs sync.Pool

// dgemm runs a validated Dgemm, on the pool when parallel is set.
func dgemm(c []float64, ldc int, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, parallel bool) {
	if m == 0 || n == 0 {
		return
	}
	scaleC(c, ldc, m, n, beta)
	if alpha == 0 || k == 0 {
		return
	}
	rowGroups := (m + dgemmRows - 1) / dgemmRows
	body := func(lo, hi int) {
		// arow holds alpha*op(A) for the group's rows over one k block.
		var p *[]float64
		if v, ok := dgemmBufs.Get().(*[]float64); ok && cap(*v) >= dgemmRows*dgemmKB {
			p = v
		} else {
			s := make([]float64, dgemmRows*dgemmKB)
			p = &s
		}
		arow := (*p)[:dgemmRows*dgemmKB]
		for g := lo; g < hi; g++ {
			i0 := g * dgemmRows
			rows := min(dgemmRows, m-i0)
			for p0 := 0; p0 < k; p0 += dgemmKB {
				kb := min(dgemmKB, k-p0)
				for r := 0; r < rows; r++ {
					ar := arow[r*dgemmKB : r*dgemmKB+kb]
					for p := range ar {
						if transA {
							ar[p] = alpha * a[(p0+p)*lda+i0+r]
						} else {
							ar[p] = alpha * a[(i0+r)*lda+p0+p]
						}
					}
				}
				for r := 0; r < rows; r++ {
					ar := arow[r*dgemmKB : r*dgemmKB+kb]
					crow := c[(i0+r)*ldc : (i0+r)*ldc+n]
					if transB {
						// op(B)[p][j] = b[j*ldb+p]: a dot product per element.
						for j := range crow {
							brow := b[j*ldb+p0 : j*ldb+p0+kb]
							var s float64
							for p, v := range brow {
								s += ar[p] * v
							}
							crow[j] += s
						}
						continue
					}
					// op(B)[p][j] = b[p*ldb+j]: axpy of B rows into the C row.
					for p, av := range ar {
						brow := b[(p0+p)*ldb : (p0+p)*ldb+n]
						for j, v := range brow {
							crow[j] += av * v
						}
					}
				}
			}
		}
		dgemmBufs.Put(p)
	}
	if !parallel {
		body(0, rowGroups)
		return
	}
	// About 256k flops per chunk at least.
	grain := max(1, (1<<17)/max(1, dgemmRows*n*k))
	Parallel(rowGroups, grain, body)
}
