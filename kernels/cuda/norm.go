//go:build cuda

package cuda

import "fmt"

// LayerNorm normalizes each row of x [rows, cols] (f32, contiguous):
// y = (x-mean)*rstd*gamma + beta with the biased variance, saving mean and
// rstd [rows] for the backward pass. gamma and beta [cols] are required.
func (d *Device) LayerNorm(y, mean, rstd, x, gamma, beta DevicePtr, rows int64, cols int, eps float32) error {
	const name = "ragr_layernorm_fwd_f32"
	if err := checkRows(name, rows, cols); err != nil || rows == 0 {
		return err
	}
	if gamma == 0 || beta == 0 {
		return fmt.Errorf("kernel %s: gamma and beta are required (shape [%d, %d])", name, rows, cols)
	}
	return d.normFwd(name, rows, cols, y, mean, rstd, x, gamma, beta, rows, int32(cols), eps)
}

// normFwd launches a norm forward: the warp-per-row variant for rows of at
// most 1024 columns (normWarpKernel), the block kernel otherwise.
func (d *Device) normFwd(name string, rows int64, cols int, args ...any) error {
	if w, ok := normWarpKernel(name, cols); ok {
		return d.Launch(w, [3]int{warpRowGrid(rows, d.SMs, 16), 1, 1}, [3]int{warpRowBlock, 1, 1}, 0, args...)
	}
	return d.launchRows(name, rows, cols, args...)
}

// normBwdLaunch picks a norm backward's kernel and launch: the
// warp-per-row variant (rows of at most 1024 columns: one partial row per
// warp, at most 2 blocks per SM) or the block kernel (one partial row per
// block, normBwdGrid blocks). It returns the kernel, grid, block and the
// number of partial rows the colsum pass sums.
func (d *Device) normBwdLaunch(name string, rows int64, cols int) (kernel string, grid, block, nparts int) {
	if w, ok := normWarpKernel(name, cols); ok {
		g := warpRowGrid(rows, d.SMs, 2)
		return w, g, warpRowBlock, g * warpRowBlock / 32
	}
	g := d.normBwdGrid(rows)
	return name, g, rowBlock(cols), g
}

// normBwdGrid is the number of blocks (and partial rows) of the backward
// passes: enough to fill the GPU twice, no more than rows.
func (d *Device) normBwdGrid(rows int64) int {
	g := int64(2 * d.SMs)
	if rows < g {
		g = rows
	}
	return int(g)
}

// LayerNormBackward computes dx [rows, cols] and adds the gradients of
// gamma and beta into dgamma and dbeta [cols] (accumulated, as
// kernels/cpu.LayerNormBackwardRows does) from dy, the forward input x and its saved mean
// and rstd. dgamma/dbeta come from per-block partial sums and a second
// pass over them (deterministic). It allocates 2*min(rows, 2*SMs)*cols
// floats of scratch from the pool.
func (d *Device) LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma DevicePtr, rows int64, cols int) error {
	const name = "ragr_layernorm_bwd_f32"
	if err := checkRows(name, rows, cols); err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	k, g, blk, np := d.normBwdLaunch(name, rows, cols)
	part, err := d.Alloc(2 * int64(np) * int64(cols) * 4)
	if err != nil {
		return err
	}
	defer part.Free()
	err = d.Launch(k, [3]int{g, 1, 1}, [3]int{blk, 1, 1}, 0, dx, part, dy, x, mean, rstd, gamma, rows, int32(cols))
	if err != nil {
		return err
	}
	if err := d.colsum(dgamma, part.Ptr(), np, cols); err != nil {
		return err
	}
	return d.colsum(dbeta, part.At(int64(np)*int64(cols)*4), np, cols)
}

func (d *Device) colsum(out, part DevicePtr, nparts, cols int) error {
	return d.launch1D("ragr_norm_colsum_f32", int64(cols), 1, out, part, int32(nparts), int32(cols))
}

// RMSNorm normalizes each row of x [rows, cols] (f32): y = gamma * (x*rstd),
// rstd = 1/sqrt(mean(x^2)+eps), saved [rows] (Qwen2RMSNorm in fp32).
func (d *Device) RMSNorm(y, rstd, x, gamma DevicePtr, rows int64, cols int, eps float32) error {
	const name = "ragr_rmsnorm_fwd_f32"
	if err := checkRows(name, rows, cols); err != nil || rows == 0 {
		return err
	}
	if gamma == 0 {
		return fmt.Errorf("kernel %s: gamma is required (shape [%d, %d])", name, rows, cols)
	}
	return d.normFwd(name, rows, cols, y, rstd, x, gamma, rows, int32(cols), eps)
}

// RMSNormBackward computes dx and adds gamma's gradient into dgamma [cols]
// from dy, the forward
// input x and its saved rstd (deterministic partial sums, as LayerNormBackward).
func (d *Device) RMSNormBackward(dx, dgamma, dy, x, rstd, gamma DevicePtr, rows int64, cols int) error {
	const name = "ragr_rmsnorm_bwd_f32"
	if err := checkRows(name, rows, cols); err != nil {
		return err
	}
	if rows == 0 {
		return nil
	}
	k, g, blk, np := d.normBwdLaunch(name, rows, cols)
	part, err := d.Alloc(int64(np) * int64(cols) * 4)
	if err != nil {
		return err
	}
	defer part.Free()
	err = d.Launch(k, [3]int{g, 1, 1}, [3]int{blk, 1, 1}, 0, dx, part, dy, x, rstd, gamma, rows, int32(cols))
	if err != nil {
		return err
	}
	return d.colsum(dgamma, part.Ptr(), np, cols)
}
