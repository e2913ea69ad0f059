//go:build cuda

package cuda

import "fmt"

func checkDropout(name string, n int64, p float32) error {
	if n < 0 {
		return fmt.Errorf("kernel %s: negative size %d", name, n)
	}
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("kernel %s: drop probability %v outside [0, 1)", name, p)
	}
	return nil
}

// Dropout sets y = x*keep/(1-p) over n f32 elements with keep drawn from
// Philox 4x32-10 keyed by seed at counter (element/4, offset): a pure
// function of (seed, offset, index), so DropoutBackward with the same
// seed and offset applies the same mask. Use a fresh offset for every
// dropout call of a run (dropout.cu explains the layout).
func (d *Device) Dropout(y, x DevicePtr, n int64, p float32, seed, offset uint64) error {
	const name = "ragr_dropout_fwd_f32"
	if err := checkDropout(name, n, p); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, (n+3)/4, 1, y, x, n, p, seed, offset)
}

// DropoutBackward sets dx = dy*keep/(1-p) with the mask of the Dropout
// call that had the same n, p, seed and offset.
func (d *Device) DropoutBackward(dx, dy DevicePtr, n int64, p float32, seed, offset uint64) error {
	const name = "ragr_dropout_bwd_f32"
	if err := checkDropout(name, n, p); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, (n+3)/4, 1, dx, dy, n, p, seed, offset)
}

// DropoutMask writes the scaled mask keep/(1-p) itself (for tests and
// debugging).
func (d *Device) DropoutMask(m DevicePtr, n int64, p float32, seed, offset uint64) error {
	const name = "ragr_dropout_mask_f32"
	if err := checkDropout(name, n, p); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, (n+3)/4, 1, m, n, p, seed, offset)
}

// Philox writes groups*4 raw Philox 4x32-10 words as dropout draws them
// (counter (g, offset), key seed) to out (uint32), for known-answer tests.
func (d *Device) Philox(out DevicePtr, groups int64, seed, offset uint64) error {
	if groups < 0 {
		return fmt.Errorf("kernel ragr_philox_u32: negative size %d", groups)
	}
	if groups == 0 {
		return nil
	}
	return d.launch1D("ragr_philox_u32", groups, 1, out, groups, seed, offset)
}
