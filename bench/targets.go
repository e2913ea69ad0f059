package bench

import (
	"fmt"
	"io"
	"strings"
)

// Target is one of the CUDA backend's performance targets (issue 3), judged
// from the rows of `ragr bench kernels`.
type Target struct {
	// Name says what is measured and the bar, e.g. "bf16 GEMM 4096^3 >= 70% of torch.matmul".
	Name string
	// Kernel is the ragr row judged (the fastest of the rows for the op).
	Kernel string
	// Value is the measured figure: PyTorch time / ragr time for the
	// ratio targets, the fraction of the copy bandwidth for the
	// memory-bound ones.
	Value float64
	// Bar is the least Value that passes.
	Bar float64
	// Missing says why the target could not be judged ("" when it was).
	Missing string
}

// Pass reports whether the target was judged and met.
func (t Target) Pass() bool { return t.Missing == "" && t.Value >= t.Bar }

// ratioTargets are the targets measured against PyTorch on one op spec:
// the fastest ragr row with that spec must reach bar × PyTorch's speed.
var ratioTargets = []struct {
	name, spec string
	bar        float64
}{
	{"bf16 GEMM 4096^3 vs torch.matmul", "matmul:bf16:4096:4096:4096", 0.70},
	{"bf16 GEMM BERT 1024x768x768 vs F.linear", "linear:bf16:1024:768:768", 0.70},
	{"bf16 GEMM BERT 1024x3072x768 vs F.linear", "linear:bf16:1024:3072:768", 0.70},
	{"bf16 GEMM BERT 1024x768x3072 vs F.linear", "linear:bf16:1024:768:3072", 0.70},
	{"attention forward B8 H12 S512 D64 vs SDPA", "sdpa_fwd:8:12:512:64:0", 0.60},
	{"attention backward B8 H12 S512 D64 vs SDPA", "sdpa_bwd:8:12:512:64:0", 0.50},
}

// memoryOps are the op specs (their first field) of the memory-bound
// kernels the issue names: elementwise, layernorm, softmax, AdamW,
// cross-entropy. Each must move its bytes at 75% of the copy bandwidth.
var memoryOps = []string{"gelu_erf_fwd", "gelu_erf_bwd", "gelu_tanh_fwd", "silu_fwd", "add", "mul", "bias_add",
	"layernorm_fwdbwd", "rmsnorm_fwdbwd", "softmax_fwd", "softmax_bwd", "log_softmax_fwd", "adamw", "xent_fwd", "xent_bwd"}

const memoryBar = 0.75

// Targets judges the performance targets on rows: the GEMM and attention
// ratios against PyTorch (the fastest ragr row of each op), and every
// memory-bound row of the named families against the copy ceiling (the
// fastest row per op spec). A target without its rows, or without a
// PyTorch time or a copy ceiling, is reported Missing.
func Targets(rows []KernelRow) []Target {
	var out []Target
	best := func(match func(KernelRow) bool) (KernelRow, bool) {
		var b KernelRow
		found := false
		for _, r := range rows {
			if r.Sec > 0 && match(r) && (!found || r.Sec < b.Sec) {
				b, found = r, true
			}
		}
		return b, found
	}
	for _, rt := range ratioTargets {
		t := Target{Name: fmt.Sprintf("%s >= %.0f%%", rt.name, 100*rt.bar), Bar: rt.bar}
		r, ok := best(func(r KernelRow) bool { return r.Torch == rt.spec })
		switch {
		case !ok:
			t.Missing = "no ragr row for " + rt.spec
		case r.TorchSec <= 0:
			t.Kernel, t.Missing = r.Kernel, "no PyTorch time for "+rt.spec
		default:
			t.Kernel, t.Value = r.Kernel, r.TorchSec/r.Sec
		}
		out = append(out, t)
	}
	c := Ceilings(rows)
	seen := map[string]bool{}
	for _, r := range rows {
		op, _, _ := strings.Cut(r.Torch, ":")
		if r.Bytes <= 0 || seen[r.Torch] || !contains(memoryOps, op) {
			continue
		}
		seen[r.Torch] = true
		spec := r.Torch
		b, _ := best(func(x KernelRow) bool { return x.Torch == spec && x.Bytes > 0 })
		t := Target{Name: fmt.Sprintf("%s (%s) >= %.0f%% of copy bandwidth", op, b.Shape, 100*memoryBar), Kernel: b.Kernel, Bar: memoryBar}
		if c.CopyGBs <= 0 {
			t.Missing = "no copy ceiling"
		} else {
			t.Value = b.Bytes / b.Sec / 1e9 / c.CopyGBs
		}
		out = append(out, t)
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// WriteTargets prints the targets, one line each (PASS, FAIL or MISSING,
// the measured value against the bar, the kernel), and a count.
func WriteTargets(w io.Writer, ts []Target) {
	pass := 0
	fmt.Fprintln(w, "targets (issue 3):")
	for _, t := range ts {
		switch {
		case t.Missing != "":
			fmt.Fprintf(w, "  MISSING  %s: %s\n", t.Name, t.Missing)
		case t.Pass():
			pass++
			fmt.Fprintf(w, "  PASS     %s: %.0f%% (%s)\n", t.Name, 100*t.Value, t.Kernel)
		default:
			fmt.Fprintf(w, "  FAIL     %s: %.0f%% (%s)\n", t.Name, 100*t.Value, t.Kernel)
		}
	}
	fmt.Fprintf(w, "targets met: %d of %d\n", pass, len(ts))
}
