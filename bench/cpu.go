package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"text/tabwriter"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/ragr-dev/ragr/kernels/cpu"
)

// GemmShape is one SGEMM benchmark case: Batch independent M×K by K×N
// products (TransB when the right operand is stored N×K).
type GemmShape struct {
	Name    string
	M, N, K int
	Batch   int
	TransB  bool
}

// Flops returns the floating-point operations of one call.
func (s GemmShape) Flops() float64 {
	return 2 * float64(s.M) * float64(s.N) * float64(s.K) * float64(max(s.Batch, 1))
}

// CPUGemmShapes are the shapes issue 2 names: squares, and BERT-base with a
// batch of 8×128 tokens (1024 rows), hidden 768, FFN 3072, 12 heads × 8
// sequences of 128×64 for attention.
var CPUGemmShapes = []GemmShape{
	{Name: "n=256", M: 256, N: 256, K: 256},
	{Name: "n=512", M: 512, N: 512, K: 512},
	{Name: "n=1024", M: 1024, N: 1024, K: 1024},
	{Name: "n=2048", M: 2048, N: 2048, K: 2048},
	{Name: "bert 1024x768x768", M: 1024, N: 768, K: 768},
	{Name: "bert 1024x3072x768", M: 1024, N: 3072, K: 768},
	{Name: "bert 1024x768x3072", M: 1024, N: 768, K: 3072},
	{Name: "attn QKt 96x128x128x64", M: 128, N: 128, K: 64, Batch: 96, TransB: true},
	{Name: "attn PV 96x128x64x128", M: 128, N: 64, K: 128, Batch: 96},
}

// CPUOptions selects what RunCPU measures.
type CPUOptions struct {
	// MinTime is the minimum measuring time per case (default 300ms).
	MinTime time.Duration
	// Tiers to measure (default: every tier the machine has).
	Tiers []cpu.Tier
	// Threads to measure (default: 1 and the pool's size).
	Threads []int
	// Quick skips n=2048 and the generic tier's largest cases.
	Quick bool
	// Gonum adds gonum's blas32.Gemm as the baseline, at each thread count.
	Gonum bool
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// gonumGemm runs shape s with gonum's blas32 (the baseline).
func gonumGemm(s GemmShape, a, b, c []float32) {
	tb, br, bc := blas.NoTrans, s.K, s.N
	if s.TransB {
		tb, br, bc = blas.Trans, s.N, s.K
	}
	for i := 0; i < max(s.Batch, 1); i++ {
		A := blas32.General{Rows: s.M, Cols: s.K, Stride: s.K, Data: a[i*s.M*s.K : (i+1)*s.M*s.K]}
		B := blas32.General{Rows: br, Cols: bc, Stride: bc, Data: b[i*s.K*s.N : (i+1)*s.K*s.N]}
		C := blas32.General{Rows: s.M, Cols: s.N, Stride: s.N, Data: c[i*s.M*s.N : (i+1)*s.M*s.N]}
		blas32.Gemm(blas.NoTrans, tb, 1, A, B, 0, C)
	}
}

// RunCPU measures the CPU kernels and prints the tables to w.
func RunCPU(w io.Writer, o CPUOptions) error {
	if o.MinTime <= 0 {
		o.MinTime = 300 * time.Millisecond
	}
	if len(o.Tiers) == 0 {
		o.Tiers = cpu.Tiers()
	}
	if len(o.Threads) == 0 {
		o.Threads = []int{1}
		if t := cpu.Workers(); t > 1 {
			o.Threads = append(o.Threads, t)
		}
	}
	prevTier, prevThreads := cpu.Current(), cpu.Workers()
	defer cpu.SetTier(prevTier)
	defer cpu.SetThreads(prevThreads)

	fmt.Fprintf(w, "# %s\n", cpu.TierInfo())
	peak := map[cpu.Tier]float64{}
	for _, t := range o.Tiers {
		peak[t] = cpu.FMAPeak(t, o.MinTime)
		fmt.Fprintf(w, "# FMA peak, one thread, %s: %.1f GFLOP/s\n", t, peak[t])
	}
	bw := CopyBandwidth(64, o.MinTime)
	fmt.Fprintf(w, "# memory bandwidth (copy of 64 MiB, bytes read+written): %.1f GB/s\n\n", bw)

	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\tshape\ttier\tthreads\tGFLOP/s\t% FMA peak\t× gonum\t")
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range CPUGemmShapes {
		if o.Quick && s.M >= 2048 {
			continue
		}
		batch := max(s.Batch, 1)
		a, b := randSlice(r, batch*s.M*s.K), randSlice(r, batch*s.K*s.N)
		c := make([]float32, batch*s.M*s.N)
		ldb := s.N
		if s.TransB {
			ldb = s.K
		}
		// gonum's Gemm splits work over goroutines, so its thread count is
		// set through GOMAXPROCS, one baseline per thread count.
		gonumRate := map[int]float64{}
		if o.Gonum {
			for _, th := range o.Threads {
				prev := runtime.GOMAXPROCS(th)
				d := Measure(o.MinTime, func() { gonumGemm(s, a, b, c) })
				runtime.GOMAXPROCS(prev)
				gonumRate[th] = s.Flops() / d.Seconds() / 1e9
				fmt.Fprintf(tw, "gonum sgemm\t%s\t-\t%d\t%.1f\t\t1.0\t\n", s.Name, th, gonumRate[th])
			}
		}
		for _, t := range o.Tiers {
			if o.Quick && t == cpu.Generic && s.Flops() > 4e9 {
				continue
			}
			cpu.SetTier(t)
			for _, th := range o.Threads {
				cpu.SetThreads(th)
				d := Measure(o.MinTime, func() {
					cpu.SgemmBatched(c, s.N, s.M*s.N, false, s.TransB, s.M, s.N, s.K, 1, a, s.K, s.M*s.K, b, ldb, s.K*s.N, 0, batch)
				})
				rate := s.Flops() / d.Seconds() / 1e9
				ratio := "-"
				if g := gonumRate[th]; g > 0 {
					ratio = fmt.Sprintf("%.1f", rate/g)
				}
				fmt.Fprintf(tw, "sgemm\t%s\t%s\t%d\t%.1f\t%.0f%%\t%s\t\n", s.Name, t, th, rate, 100*rate/(peak[t]*float64(th)), ratio)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	// Memory-bound kernels on BERT-base activations (bytes read + written).
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\tshape\ttier\tthreads\tGB/s\t% mem bw\t")
	const rows, cols = 8 * 128, 768
	n := rows * cols
	x := randSlice(r, 4*n)
	dst := make([]float32, len(x))
	gamma, beta := randSlice(r, cols), randSlice(r, cols)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	const att = 96 * 128 * 128
	type memCase struct {
		name, shape string
		bytes       float64
		fn          func()
	}
	cases := []memCase{
		{"softmax", "8x128x768", float64(8 * n), func() { cpu.SoftmaxRows(dst[:n], x[:n], rows, cols) }},
		{"softmax", "96x128x128", float64(8 * att), func() { cpu.SoftmaxRows(dst[:att], x[:att], 96*128, 128) }},
		{"layernorm", "8x128x768", float64(8 * n), func() { cpu.LayerNormRows(dst[:n], mean, rstd, x[:n], gamma, beta, rows, cols, 1e-12) }},
		{"gelu erf", "8x128x768", float64(8 * n), func() { cpu.GeluErf(dst[:n], x[:n]) }},
		{"gelu erf", "8x128x3072", float64(8 * 4 * n), func() { cpu.GeluErf(dst, x) }},
	}
	for _, t := range o.Tiers {
		cpu.SetTier(t)
		for _, th := range o.Threads {
			cpu.SetThreads(th)
			for _, c := range cases {
				d := Measure(o.MinTime, c.fn)
				rate := c.bytes / d.Seconds() / 1e9
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.0f%%\t\n", c.name, c.shape, t, th, rate, 100*rate/bw)
			}
		}
	}
	return tw.Flush()
}
