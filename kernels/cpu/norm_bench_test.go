package cpu

// Benchmarks for norm.go on the BERT-base activation shape 8×128×768
// (rows 1024, cols 768). Run:
//
//	go test -run XXX -bench 'LayerNorm|RMSNorm' ./kernels/cpu/
//
// GB/s counts compulsory traffic: forward x read + y written; backward dy and
// x read + dx written (gamma, beta, mean, rstd and dgamma are negligible).

import (
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

const normBenchRows, normBenchCols = 8 * 128, 768

func BenchmarkLayerNormRows(b *testing.B) {
	x, gamma, beta := normTestInputs(1, normBenchRows, normBenchCols)
	y := make([]float32, normBenchRows*normBenchCols)
	mean, rstd := make([]float32, normBenchRows), make([]float32, normBenchRows)
	reduceBenchTiers(b, 8*normBenchRows*normBenchCols, func() {
		LayerNormRows(y, mean, rstd, x, gamma, beta, normBenchRows, normBenchCols, 1e-12)
	})
}

func BenchmarkLayerNormBackwardRows(b *testing.B) {
	x, gamma, beta := normTestInputs(2, normBenchRows, normBenchCols)
	dy := testutil.Normal32(testutil.NewRand(3), normBenchRows*normBenchCols, 1)
	y := make([]float32, normBenchRows*normBenchCols)
	mean, rstd := make([]float32, normBenchRows), make([]float32, normBenchRows)
	LayerNormRows(y, mean, rstd, x, gamma, beta, normBenchRows, normBenchCols, 1e-12)
	dx := make([]float32, normBenchRows*normBenchCols)
	dg, db := make([]float32, normBenchCols), make([]float32, normBenchCols)
	reduceBenchTiers(b, 12*normBenchRows*normBenchCols, func() {
		LayerNormBackwardRows(dx, dg, db, dy, x, mean, rstd, gamma, normBenchRows, normBenchCols)
	})
}

func BenchmarkRMSNormRows(b *testing.B) {
	x, gamma, _ := normTestInputs(4, normBenchRows, normBenchCols)
	y := make([]float32, normBenchRows*normBenchCols)
	rstd := make([]float32, normBenchRows)
	reduceBenchTiers(b, 8*normBenchRows*normBenchCols, func() {
		RMSNormRows(y, rstd, x, gamma, normBenchRows, normBenchCols, 1e-6)
	})
}

func BenchmarkRMSNormBackwardRows(b *testing.B) {
	x, gamma, _ := normTestInputs(5, normBenchRows, normBenchCols)
	dy := testutil.Normal32(testutil.NewRand(6), normBenchRows*normBenchCols, 1)
	y := make([]float32, normBenchRows*normBenchCols)
	rstd := make([]float32, normBenchRows)
	RMSNormRows(y, rstd, x, gamma, normBenchRows, normBenchCols, 1e-6)
	dx := make([]float32, normBenchRows*normBenchCols)
	dg := make([]float32, normBenchCols)
	reduceBenchTiers(b, 12*normBenchRows*normBenchCols, func() {
		RMSNormBackwardRows(dx, dg, dy, x, rstd, gamma, normBenchRows, normBenchCols)
	})
}
