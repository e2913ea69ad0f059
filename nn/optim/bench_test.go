package optim

// Benchmarks of the optimizer step and of gradient clipping over a
// BERT-base-sized parameter set (about 110M float32 parameters is too much
// for a quick run; 8 tensors of 1M elements stand in). Run with
//
//	go test -run '^$' -bench . ./nn/optim/
//
// AdamW.Step moves 7 float32 streams per element (param, grad, m, v read;
// param, m, v written): reported as GB/s of that traffic. ClipGradNorm is
// reported as GB/s of gradient bytes processed (one norm pass, one scaling
// pass).

import (
	"fmt"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
)

func benchParams(nTensors, size int) []nn.NamedParam {
	specs := make([]spec, nTensors)
	for i := range specs {
		specs[i] = spec{fmt.Sprintf("layer.%d.weight", i), []int{size}}
	}
	ps := makeParams(41, specs)
	r := testutil.NewRand(42)
	for _, p := range ps {
		p.Var.Grad = tensor.FromFloat32(testutil.Normal32(r, size, 1), size)
	}
	return ps
}

func BenchmarkAdamWStep(b *testing.B) {
	for _, size := range []int{1 << 12, 1 << 20} {
		b.Run(fmt.Sprintf("8x%d", size), func(b *testing.B) {
			ps := benchParams(8, size)
			opt, err := NewAdamW(DecayGroups(ps, 0.01), DefaultConfig(), nil)
			if err != nil {
				b.Fatal(err)
			}
			opt.Step()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				opt.Step()
			}
			bytes := float64(7 * 4 * 8 * size)
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkClipGradNorm(b *testing.B) {
	for _, size := range []int{1 << 12, 1 << 20} {
		b.Run(fmt.Sprintf("8x%d", size), func(b *testing.B) {
			ps := benchParams(8, size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// After the first call the norm is about 0.999 and the
				// coefficient 0.999/(0.999+1e-6) < 1: every call scales.
				ClipGradNorm(ps, 0.999)
			}
			bytes := float64(4 * 8 * size)
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "grad-GB/s")
		})
	}
}
