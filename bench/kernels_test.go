package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteKernelTable(t *testing.T) {
	rows := []KernelRow{
		{Kernel: CopyKernel, Shape: "N=1", Sec: 1e-3, Bytes: 2e9, Torch: "copy:f32:1", TorchSec: 0.8e-3}, // ceiling 2.5 TB/s (torch)
		{Kernel: "ragr_gemm_bf16_nn", Shape: "4096^3", Sec: 2e-3, FLOPs: 1e12, Torch: "matmul:bf16:4096:4096:4096", TorchSec: 1e-3},
		{Kernel: "ragr_gelu_erf_fwd_f32", Shape: "N=1", Sec: 1e-3, Bytes: 2e9, Torch: "gelu_erf_fwd:f32:1", TorchErr: "no torch"},
	}
	c := Ceilings(rows)
	if c.CopyGBs != 2500 {
		t.Errorf("copy ceiling %v GB/s, want 2500 (PyTorch's faster copy)", c.CopyGBs)
	}
	if c.GemmTFLOPs["bf16"] != 1000 {
		t.Errorf("bf16 GEMM ceiling %v, want 1000 (cuBLAS's rate)", c.GemmTFLOPs["bf16"])
	}
	var b bytes.Buffer
	if err := WriteKernelTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"500.0 TFLOP/s", "50%", "80%", "2000 GB/s", "0.50", "error", "pytorch gelu_erf_fwd:f32:1: no torch"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

func TestParseTorchReport(t *testing.T) {
	r, err := ParseTorchReport([]byte(`{"torch": "2.11", "device": "H100", "results": {"copy:f32:4": {"median_s": 0.5}, "x": {"error": "bad"}}}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Results["copy:f32:4"].MedianSec != 0.5 || r.Results["x"].Error != "bad" || r.Device != "H100" {
		t.Errorf("parsed %+v", r)
	}
	if _, err := ParseTorchReport([]byte("Traceback ...")); err == nil || !strings.Contains(err.Error(), "Traceback") {
		t.Errorf("garbage: error %v", err)
	}
}
