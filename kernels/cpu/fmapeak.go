package cpu

// FMAPeak: the single-thread float32 multiply-add peak of this machine, the
// roofline that the GEMM benchmarks report against.
//
// The AVX-512 and AVX2 tiers run a register-only assembly loop of independent
// FMAs (fmapeak_amd64.s: 24 zmm / 12 ymm accumulators, more than the two FMA
// ports times the 4-cycle latency need); the generic tier runs a plain-Go loop
// of independent float32 multiply-adds, which is the ceiling of plain-Go
// kernels. Run it with: go test -run XXX -bench FMAPeak ./kernels/cpu/

import (
	"fmt"
	"time"
)

// FMAPeak measures this machine's single-thread float32 FMA peak in GFLOP/s
// for the given tier (a register-only loop of independent FMAs counting 2
// flops per lane per FMA), running for about d on the calling goroutine. It
// panics if the machine does not support tier.
func FMAPeak(tier Tier, d time.Duration) float64 {
	if tier < Generic || tier > Best() {
		panic(fmt.Sprintf("cpu.FMAPeak: tier %s not supported on this CPU (best is %s)", tier, Best()))
	}
	if d <= 0 {
		d = time.Millisecond
	}
	// Warm up (frequency licence, code in cache) and calibrate the chunk so
	// one timed chunk is about a millisecond.
	iters := 1 << 10
	for {
		t0 := time.Now()
		fmaLoop(tier, iters)
		if el := time.Since(t0); el > 200*time.Microsecond || iters >= 1<<30 {
			if el > 0 {
				iters = max(1, int(float64(iters)*float64(time.Millisecond)/float64(el)))
			}
			break
		}
		iters *= 2
	}
	// Best of several chunks: the peak is what the core can do when nothing
	// else gets in the way.
	best := 0.0
	deadline := time.Now().Add(d)
	for {
		t0 := time.Now()
		flops := fmaLoop(tier, iters)
		el := time.Since(t0)
		if el > 0 {
			if g := flops / float64(el.Nanoseconds()); g > best {
				best = g
			}
		}
		if !time.Now().Before(deadline) {
			break
		}
	}
	return best
}

// fmaSink keeps the plain-Go loop's results alive.
var fmaSink float32

// fmaLoopGo runs iters iterations of 8 independent float32 multiply-add
// chains in plain Go (16 flops per iteration) and returns the flops.
func fmaLoopGo(iters int) float64 {
	x, y := fmaSink+0.999, float32(1e-7)
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	for i := 0; i < iters; i++ {
		a0 = a0*x + y
		a1 = a1*x + y
		a2 = a2*x + y
		a3 = a3*x + y
		a4 = a4*x + y
		a5 = a5*x + y
		a6 = a6*x + y
		a7 = a7*x + y
	}
	fmaSink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
	return float64(iters) * 16
}
