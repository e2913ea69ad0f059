//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/kernels/cpu"
)

func TestSoftmax(t *testing.T) {
	r := newRand(30)
	for _, rows := range []int{1, 7} {
		for _, cols := range []int{1, 3, 17, 200, 512, 1000, 1024, 1025, 4097, 30522, 32000, 33000} { // warp per row up to 1024 (each size class), the row in registers up to 32768 (float4 when cols % 4 == 0), two passes beyond
			n := rows * cols
			x := testutil.Normal32(r, n, 4)
			dy := testutil.Normal32(r, n, 1)
			x64, dy64 := testutil.To64(x), testutil.To64(dy)
			for _, log := range []bool{false, true} {
				name := fmt.Sprintf("log=%v/%dx%d", log, rows, cols)
				want := make([]float64, n)
				if log {
					cpu.LogSoftmaxRows64(want, x64, rows, cols)
				} else {
					cpu.SoftmaxRows64(want, x64, rows, cols)
				}
				o := out(t, n, 4)
				xp := up(t, x)
				if log {
					must(t, dev.LogSoftmax(o.ptr(), xp, int64(rows), cols))
				} else {
					must(t, dev.Softmax(o.ptr(), xp, int64(rows), cols))
				}
				y := o.f32(t)
				testutil.AssertClose(t, name+" fwd", y, want, tolF32)

				// backward from the kernel's own y (float32), reference in float64
				y64 := testutil.To64(y)
				wantDx := make([]float64, n)
				if log {
					cpu.LogSoftmaxBackwardRows64(wantDx, dy64, y64, rows, cols)
				} else {
					cpu.SoftmaxBackwardRows64(wantDx, dy64, y64, rows, cols)
				}
				// the scale of the terms: |dy| + |y|*sum|dy*y| (softmax) or
				// |dy| + exp(y)*sum|dy| (log-softmax)
				scale := make([]float64, n)
				for r := 0; r < rows; r++ {
					s := 0.0
					for j := r * cols; j < (r+1)*cols; j++ {
						if log {
							s += math.Abs(dy64[j])
						} else {
							s += math.Abs(dy64[j] * y64[j])
						}
					}
					for j := r * cols; j < (r+1)*cols; j++ {
						if log {
							scale[j] = math.Abs(dy64[j]) + math.Exp(y64[j])*s
						} else {
							scale[j] = math.Abs(y64[j]) * (math.Abs(dy64[j]) + s)
						}
					}
				}
				dxo := out(t, n, 4)
				yp := up(t, y)
				if log {
					must(t, dev.LogSoftmaxBackward(dxo.ptr(), up(t, dy), yp, int64(rows), cols))
				} else {
					must(t, dev.SoftmaxBackward(dxo.ptr(), up(t, dy), yp, int64(rows), cols))
				}
				assertCloseScaled(t, name+" bwd", dxo.f32(t), wantDx, scale, tolF32Accum)
			}
		}
	}
	if err := dev.Softmax(0, 0, 3, 0); err == nil {
		t.Error("rows of length 0: no error")
	}
}

// TestSoftmaxPlan: the kernel, grid and block rowsLaunch picks per width
// (132 SMs): a warp per row (the forward uncapped at these sizes, the
// backward at 16 blocks per SM), the row in registers for forward rows up
// to 32768 columns (32 per thread), the block kernels beyond and for the
// long backward rows.
func TestSoftmaxPlan(t *testing.T) {
	for _, c := range []struct {
		name        string
		rows        int64
		cols        int
		kernel      string
		grid, block int
	}{
		{"ragr_softmax_fwd_f32", 49152, 512, "ragr_softmax_fwd_w512_f32", 12288, 128},
		{"ragr_softmax_bwd_f32", 49152, 512, "ragr_softmax_bwd_w512_f32", 2112, 128},
		{"ragr_log_softmax_fwd_f32", 5, 1024, "ragr_log_softmax_fwd_w1024_f32", 2, 128},
		{"ragr_log_softmax_fwd_f32", 2048, 32000, "ragr_log_softmax_fwd_reg_f32", 2048, 1024},
		{"ragr_softmax_fwd_f32", 3, 1025, "ragr_softmax_fwd_reg_f32", 3, 64},
		{"ragr_softmax_fwd_f32", 3, 32768, "ragr_softmax_fwd_reg_f32", 3, 1024},
		{"ragr_softmax_fwd_f32", 3, 32769, "ragr_softmax_fwd_f32", 0, 0},
		{"ragr_softmax_bwd_f32", 3, 2000, "ragr_softmax_bwd_f32", 0, 0},
	} {
		k, g, b := softmaxPlan(c.name, c.rows, c.cols, 132)
		if k != c.kernel || g != c.grid || b != c.block {
			t.Errorf("softmaxPlan(%s, %d, %d) = %s grid %d block %d; want %s grid %d block %d", c.name, c.rows, c.cols, k, g, b, c.kernel, c.grid, c.block)
		}
		if b > 0 && int64(b)*32 < int64(c.cols) && c.cols > 1024 {
			t.Errorf("softmaxPlan(%s, %d): block %d holds %d < %d columns", c.name, c.cols, b, 32*b, c.cols)
		}
	}
}
