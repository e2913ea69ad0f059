package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// KernelRow is one line of the `ragr bench kernels` table: a ragr CUDA
// kernel's event-timed median and, when PyTorch ran, the same op through
// PyTorch in the same run. The table itself needs no GPU (the CUDA side
// fills the rows under the cuda build tag).
type KernelRow struct {
	Kernel string  `json:"kernel"`
	Shape  string  `json:"shape"`
	Sec    float64 `json:"median_s"`
	FLOPs  float64 `json:"flops"` // per call; 0 for bandwidth-bound rows
	Bytes  float64 `json:"bytes"` // the fewest bytes one call must move
	// Torch is the op spec of bench/pytorch/kernels_bench.py ("" if none).
	Torch    string  `json:"torch,omitempty"`
	TorchSec float64 `json:"torch_median_s,omitempty"`
	TorchErr string  `json:"torch_error,omitempty"`
}

// CopyKernel is the Kernel of the row whose bandwidth is the ceiling of
// the memory-bound rows (a device-to-device copy, read + write bytes).
const CopyKernel = "memcpy_dtod"

// specDType returns the dtype field of an op spec ("matmul:bf16:..." ->
// "bf16"); attention specs are bf16.
func specDType(spec string) string {
	f := strings.Split(spec, ":")
	if len(f) > 1 && (f[1] == "f32" || f[1] == "bf16" || f[1] == "f16") {
		return f[1]
	}
	if strings.HasPrefix(spec, "sdpa") {
		return "bf16"
	}
	return ""
}

func isGemmSpec(spec string) bool {
	return strings.HasPrefix(spec, "matmul:") || strings.HasPrefix(spec, "linear")
}

// KernelCeilings are the measured roofs: the copy bandwidth (GB/s, the best
// of ragr's and PyTorch's copy) and, per dtype, the best GEMM rate
// (TFLOP/s) any GEMM row reached, ragr's or PyTorch's.
type KernelCeilings struct {
	CopyGBs    float64
	GemmTFLOPs map[string]float64
}

// Ceilings measures the roofs from the rows.
func Ceilings(rows []KernelRow) KernelCeilings {
	c := KernelCeilings{GemmTFLOPs: map[string]float64{}}
	for _, r := range rows {
		if r.Kernel == CopyKernel {
			for _, s := range []float64{r.Sec, r.TorchSec} {
				if s > 0 {
					c.CopyGBs = max(c.CopyGBs, r.Bytes/s/1e9)
				}
			}
		}
		if r.FLOPs > 0 && isGemmSpec(r.Torch) {
			dt := specDType(r.Torch)
			for _, s := range []float64{r.Sec, r.TorchSec} {
				if s > 0 {
					c.GemmTFLOPs[dt] = max(c.GemmTFLOPs[dt], r.FLOPs/s/1e12)
				}
			}
		}
	}
	return c
}

// WriteKernelTable prints the table: kernel, shape, time, achieved
// TFLOP/s or GB/s, % of the measured ceiling, PyTorch's time for the same
// op, and the speed ratio (PyTorch time / ragr time: above 1 ragr is faster).
func WriteKernelTable(w io.Writer, rows []KernelRow) error {
	c := Ceilings(rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kernel\tshape\ttime\trate\t% ceiling\tpytorch\tpytorch/ragr\t")
	for _, r := range rows {
		rate, pct := "-", "-"
		switch {
		case r.Sec <= 0:
		case r.FLOPs > 0:
			tf := r.FLOPs / r.Sec / 1e12
			rate = fmt.Sprintf("%.1f TFLOP/s", tf)
			if roof := c.GemmTFLOPs[specDType(r.Torch)]; roof > 0 {
				pct = fmt.Sprintf("%.0f%%", 100*tf/roof)
			}
		case r.Bytes > 0:
			gb := r.Bytes / r.Sec / 1e9
			rate = fmt.Sprintf("%.0f GB/s", gb)
			if c.CopyGBs > 0 {
				pct = fmt.Sprintf("%.0f%%", 100*gb/c.CopyGBs)
			}
		}
		torch, ratio := "-", "-"
		if r.TorchSec > 0 {
			torch = fmtDur(r.TorchSec)
			if r.Sec > 0 {
				ratio = fmt.Sprintf("%.2f", r.TorchSec/r.Sec)
			}
		} else if r.TorchErr != "" {
			torch = "error"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Kernel, r.Shape, fmtDur(r.Sec), rate, pct, torch, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "ceilings: copy %.0f GB/s (read+write)", c.CopyGBs)
	for _, dt := range []string{"bf16", "f16", "f32"} {
		if v, ok := c.GemmTFLOPs[dt]; ok {
			fmt.Fprintf(w, ", %s GEMM %.1f TFLOP/s", dt, v)
		}
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.TorchErr != "" {
			fmt.Fprintf(w, "pytorch %s: %s\n", r.Torch, r.TorchErr)
		}
	}
	return nil
}

func fmtDur(s float64) string {
	switch {
	case s <= 0:
		return "-"
	case s < 1e-3:
		return fmt.Sprintf("%.1f µs", s*1e6)
	default:
		return fmt.Sprintf("%.3f ms", s*1e3)
	}
}

// TorchResult is PyTorch's timing of one op spec, or why there is none.
type TorchResult struct {
	MedianSec float64 `json:"median_s"`
	Error     string  `json:"error"`
}

// TorchReport is what bench/pytorch/kernels_bench.py prints.
type TorchReport struct {
	Torch   string                 `json:"torch"`
	Device  string                 `json:"device"`
	Results map[string]TorchResult `json:"results"`
}

// ParseTorchReport reads the script's JSON output.
func ParseTorchReport(out []byte) (TorchReport, error) {
	var r TorchReport
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return r, fmt.Errorf("pytorch kernel benchmark: output is not the expected JSON: %v (output starts %q)", err, head(out, 200))
	}
	return r, nil
}

func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// RunTorchKernels runs the PyTorch script (python, script) on specs and
// returns its report. A missing python or script is an error; a missing
// torch is reported per spec by the script.
func RunTorchKernels(ctx context.Context, python, script string, specs []string, reps int) (TorchReport, error) {
	dir, err := os.MkdirTemp("", "ragr-bench-kernels")
	if err != nil {
		return TorchReport{}, err
	}
	defer os.RemoveAll(dir)
	sf := filepath.Join(dir, "specs.json")
	b, _ := json.Marshal(specs)
	if err := os.WriteFile(sf, b, 0o644); err != nil {
		return TorchReport{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, "--specs", sf, "--reps", fmt.Sprint(reps))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return TorchReport{}, fmt.Errorf("pytorch kernel benchmark (%s %s): %v: %s", python, script, err, head(stderr.Bytes(), 500))
	}
	return ParseTorchReport(out)
}
