//go:build cuda

package cuda

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
// longer ones on the block-per-row kernel.
func (d *Device) rowsLaunch(name string, rows int64, cols int, ptrs ...any) error {
	if err := checkRows(name, rows, cols); err != nil || rows == 0 {
		return err
	}
	args := append(ptrs, rows, int32(cols))
	if w, ok := softmaxWarpKernel(name, cols); ok {
		return d.Launch(w, [3]int{warpRowGrid(rows, d.SMs, 16), 1, 1}, [3]int{warpRowBlock, 1, 1}, 0, args...)
	}
	return d.launchRows(name, rows, cols, args...)
}
