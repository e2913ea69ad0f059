//go:build cuda

package cuda

import (
	"fmt"
	"strings"
)

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
	vec := normVec(cols, y, x, gamma, beta)
	return d.normFwd(name, rows, cols, vec, y, mean, rstd, x, gamma, beta, rows, int32(cols), eps)
}

// normVec reports whether the 16-byte vector variants (_w<C>x4) can run:
// rows of a multiple of 4 columns and every row-major operand 16-byte
// aligned (then every row is).
func normVec(cols int, ptrs ...DevicePtr) bool {
	if cols%4 != 0 {
		return false
	}
	for _, p := range ptrs {
		if p%16 != 0 {
			return false
		}
	}
	return true
}

// normWarp returns the warp-per-row kernel for name and cols (rows of at
// most 1024 columns), its 16-byte vector variant when vec.
func normWarp(name string, cols int, vec bool) (string, bool) {
	w, ok := normWarpKernel(name, cols)
	if ok && vec {
		w = strings.TrimSuffix(w, "_f32") + "x4_f32"
	}
	return w, ok
}

// normFwd launches a norm forward: the warp-per-row variant for rows of at
// most 1024 columns (normWarp), the block kernel otherwise.
func (d *Device) normFwd(name string, rows int64, cols int, vec bool, args ...any) error {
	if w, ok := normWarp(name, cols, vec); ok {
		return d.Launch(w, [3]int{warpRowGrid(rows, d.SMs, 16), 1, 1}, [3]int{warpRowBlock, 1, 1}, 0, args...)
	}
	return d.launchRows(name, rows, cols, args...)
}

// normBwdLaunch picks a norm backward's kernel and launch: the vector
// warp-per-row variant (one partial row per block, at most 4 blocks per
// SM), the scalar warp-per-row variant (rows of at most 1024 columns: one
// partial row per warp, at most 2 blocks per SM) or the block kernel (one
// partial row per block, normBwdGrid blocks). It returns the kernel, grid,
// block and the number of partial rows the colsum pass sums.
func (d *Device) normBwdLaunch(name string, rows int64, cols int, vec bool) (kernel string, grid, block, nparts int) {
	if w, ok := normWarp(name, cols, vec); ok {
		if vec {
			g := warpRowGrid(rows, d.SMs, 4)
			return w, g, warpRowBlock, g
		}
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
	k, g, blk, np := d.normBwdLaunch(name, rows, cols, normVec(cols, dx, dy, x, gamma))
	part, err := d.Alloc(2 * int64(np) * int64(cols) * 4)
	if err != nil {
		return err
	}
	defer part.Free()
	err = d.Launch(k, [3]int{g, 1, 1}, [3]int{blk, 1, 1}, 0, dx, part, dy, x, mean, rstd, gamma, rows, int32(cols))
	if err != nil {
		return err
	}
	// dgamma from part[0], dbeta from part[1]: one launch
	return d.colsumLaunch("ragr_norm_colsum2_f32", 2, np, cols, dgamma, dbeta, part, int32(np), int32(cols))
}

// colsumLaunch launches a colsum kernel (norm.cu) over nout outputs of cols
// columns from np partial rows: one block per tile of 32 columns, with up
// to 32 warps each summing every G-th partial row (about 8 rows a warp).
func (d *Device) colsumLaunch(name string, nout, np, cols int, args ...any) error {
	groups := min(max((np+7)/8, 1), 32)
	tiles := nout * ((cols + 31) / 32)
	return d.Launch(name, [3]int{tiles, 1, 1}, [3]int{32 * groups, 1, 1}, 0, args...)
}

func (d *Device) colsum(out, part DevicePtr, np, cols int) error {
	return d.colsumLaunch("ragr_norm_colsum_f32", 1, np, cols, out, part, int32(np), int32(cols))
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
	return d.normFwd(name, rows, cols, normVec(cols, y, x, gamma), y, rstd, x, gamma, rows, int32(cols), eps)
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
	k, g, blk, np := d.normBwdLaunch(name, rows, cols, normVec(cols, dx, dy, x, gamma))
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
