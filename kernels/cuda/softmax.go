//go:build cuda

package cuda

import "strings"

// Softmax sets each row of y [rows, cols] (f32, contiguous) to the softmax
// of the row of x. A row of all -Inf, or holding a NaN, gives NaN.
func (d *Device) Softmax(y, x DevicePtr, rows int64, cols int) error {
	return d.rowsLaunch("ragr_softmax_fwd_f32", rows, cols, y, x)
}

// LogSoftmax sets each row of y to the log-softmax of the row of x.
func (d *Device) LogSoftmax(y, x DevicePtr, rows int64, cols int) error {
	return d.rowsLaunch("ragr_log_softmax_fwd_f32", rows, cols, y, x)
}

// SoftmaxBackward sets dx = y*(dy - sum(dy*y)) per row, y the forward
// output. dx may alias dy.
func (d *Device) SoftmaxBackward(dx, dy, y DevicePtr, rows int64, cols int) error {
	return d.rowsLaunch("ragr_softmax_bwd_f32", rows, cols, dx, dy, y)
}

// LogSoftmaxBackward sets dx = dy - exp(y)*sum(dy) per row, y the forward
// output. dx may alias dy.
func (d *Device) LogSoftmaxBackward(dx, dy, y DevicePtr, rows int64, cols int) error {
	return d.rowsLaunch("ragr_log_softmax_bwd_f32", rows, cols, dx, dy, y)
}

// rowsLaunch runs the softmax kernel name (ragr_<op>_f32) over rows: rows
// of at most 1024 columns on its warp-per-row variant (softmaxWarpKernel),
// forward rows of at most softmaxRegCols columns on the register-row
// variant, longer ones on the block-per-row kernel.
func (d *Device) rowsLaunch(name string, rows int64, cols int, ptrs ...any) error {
	if err := checkRows(name, rows, cols); err != nil || rows == 0 {
		return err
	}
	args := append(ptrs, rows, int32(cols))
	k, grid, block := softmaxPlan(name, rows, cols, d.SMs)
	if block == 0 {
		return d.launchRows(name, rows, cols, args...)
	}
	return d.Launch(k, [3]int{grid, 1, 1}, [3]int{block, 1, 1}, 0, args...)
}

// softmaxRegCols is the longest row of the register-row forward kernels
// (ragr_<op>_fwd_reg_f32: 32 values per thread, at most 1024 threads).
const softmaxRegCols = 32 * 1024

// softmaxFwdWarpPerSM caps the forward warp-per-row grid at this many
// blocks per SM: high enough for one warp per row at the usual sizes (the
// block scheduler then balances the rows; the backward keeps 16).
const softmaxFwdWarpPerSM = 512

// softmaxPlan returns the kernel, grid and block that rowsLaunch runs for
// name (ragr_<op>_f32) over [rows, cols]; block 0 means launchRows(name).
func softmaxPlan(name string, rows int64, cols int, sms int) (string, int, int) {
	fwd := strings.Contains(name, "_fwd_")
	if w, ok := softmaxWarpKernel(name, cols); ok {
		perSM := 16
		if fwd {
			perSM = softmaxFwdWarpPerSM
		}
		return w, warpRowGrid(rows, sms, perSM), warpRowBlock
	}
	if fwd && cols <= softmaxRegCols {
		return strings.TrimSuffix(name, "_f32") + "_reg_f32", int(min(rows, 1<<24)), 32 * ((cols + 1023) / 1024)
	}
	return name, 0, 0
}
