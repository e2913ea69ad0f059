package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTargets judges a hand-made table: the fastest row per op is judged
// (the sm_90a GEMM beats the mma.sync one), ratios against PyTorch, memory
// rows against the copy ceiling (the better of ragr's and PyTorch's copy),
// and targets without rows or PyTorch times are reported missing.
func TestTargets(t *testing.T) {
	rows := []KernelRow{
		{Kernel: CopyKernel, Sec: 1e-3, Bytes: 3e9, TorchSec: 1.2e-3},                                                              // 3000 GB/s
		{Kernel: "ragr_gemm_bf16_nn", Sec: 4e-4, FLOPs: 1.37e11, Torch: "matmul:bf16:4096:4096:4096", TorchSec: 2e-4},              // 50%
		{Kernel: "ragr_gemm90_bf16_nn_m128n256", Sec: 2.5e-4, FLOPs: 1.37e11, Torch: "matmul:bf16:4096:4096:4096", TorchSec: 2e-4}, // 80%
		{Kernel: "ragr_attn_fwd_d64_bf16", Sec: 1e-4, FLOPs: 6.4e9, Torch: "sdpa_fwd:8:12:512:64:0", TorchSec: 5e-5},               // 50%
		{Kernel: "ragr_softmax_fwd_w512_f32", Shape: "49152x512", Sec: 1e-4, Bytes: 2.4e8, Torch: "softmax_fwd:f32:49152:512"},     // 2400 GB/s = 80%
		{Kernel: "ragr_xent_fwd_f32", Shape: "2048x32000", Sec: 1e-4, Bytes: 2.1e8, Torch: "xent_fwd:f32:2048:32000"},              // 70%
		{Kernel: "ragr_rope_fwd_bf16", Sec: 1e-4, Bytes: 1e8, Torch: "rope_fwd:bf16:1:2:3"},                                        // not a target
	}
	ts := Targets(rows)
	by := map[string]Target{}
	for _, x := range ts {
		by[x.Name] = x
	}
	g := by["bf16 GEMM 4096^3 vs torch.matmul >= 70%"]
	assert.Equal(t, "ragr_gemm90_bf16_nn_m128n256", g.Kernel)
	assert.InDelta(t, 0.8, g.Value, 1e-9)
	assert.True(t, g.Pass())
	a := by["attention forward B8 H12 S512 D64 vs SDPA >= 60%"]
	assert.InDelta(t, 0.5, a.Value, 1e-9)
	assert.False(t, a.Pass())
	assert.Contains(t, by["attention backward B8 H12 S512 D64 vs SDPA >= 50%"].Missing, "no ragr row")
	s := by["softmax_fwd (49152x512) >= 75% of copy bandwidth"]
	assert.InDelta(t, 0.8, s.Value, 1e-9)
	assert.True(t, s.Pass())
	x := by["xent_fwd (2048x32000) >= 75% of copy bandwidth"]
	assert.InDelta(t, 0.7, x.Value, 1e-9)
	assert.False(t, x.Pass())
	for _, tt := range ts {
		assert.NotContains(t, tt.Name, "rope", "rope is not one of the issue's memory-bound families")
	}
	var buf bytes.Buffer
	WriteTargets(&buf, ts)
	out := buf.String()
	require.Contains(t, out, "PASS     bf16 GEMM 4096^3 vs torch.matmul >= 70%: 80% (ragr_gemm90_bf16_nn_m128n256)")
	require.Contains(t, out, "FAIL     attention forward")
	require.Contains(t, out, "MISSING  attention backward")
	require.True(t, strings.HasSuffix(out, "targets met: 2 of 8\n"), out)

	// PyTorch missing for a ratio target: judged missing, not failed.
	ts = Targets([]KernelRow{{Kernel: "k", Sec: 1, FLOPs: 1, Torch: "matmul:bf16:4096:4096:4096"}})
	assert.Contains(t, ts[0].Missing, "no PyTorch time")
	// No copy row: memory targets are missing.
	ts = Targets([]KernelRow{{Kernel: "k", Sec: 1, Bytes: 1, Torch: "adamw:f32:1:1"}})
	assert.Contains(t, ts[len(ts)-1].Missing, "no copy ceiling")
}
