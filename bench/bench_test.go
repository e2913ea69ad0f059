package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ragr-dev/ragr/kernels/cpu"
)

// TestRunCPUPrintsTable runs the suite at its smallest and checks the table
// has every kernel row (a smoke test; the figures are benchmarks, not tested).
func TestRunCPUPrintsTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every GEMM shape once")
	}
	var buf bytes.Buffer
	err := RunCPU(&buf, CPUOptions{MinTime: time.Millisecond, Tiers: []cpu.Tier{cpu.Best()}, Threads: []int{1}, Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"FMA peak", "memory bandwidth", "n=1024", "bert 1024x3072x768", "attn PV", "softmax", "layernorm", "gelu erf"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
