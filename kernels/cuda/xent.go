//go:build cuda

package cuda

import (
	"fmt"
	"math"
)

// CrossEntropy computes, per row of the f32 logits [rows, vocab] and int32
// targets [rows], lse = logsumexp(row) and loss = lse - logits[target]
// (0 where target == ignoreIndex), without storing the softmax. A target
// outside [0, vocab) that is not ignoreIndex returns an error naming the
// row and target (it synchronizes to read the kernel's error flag).
func (d *Device) CrossEntropy(loss, lse, logits, targets DevicePtr, rows int64, vocab int, ignoreIndex int32) error {
	const name = "ragr_xent_fwd_f32"
	if err := checkRows(name, rows, vocab); err != nil || rows == 0 {
		return err
	}
	if rows > math.MaxInt32 {
		return fmt.Errorf("kernel %s: %d rows; at most %d per launch", name, rows, math.MaxInt32)
	}
	bad, err := d.withErrFlag(func(flag DevicePtr) error {
		return d.xentLaunch(loss, lse, logits, targets, rows, vocab, ignoreIndex, flag)
	})
	if err != nil {
		return err
	}
	if bad >= 0 {
		return fmt.Errorf("kernel %s: target %d of row %d is outside [0, %d) and is not the ignore index %d", name, d.readInt32(targets+DevicePtr(4*bad)), bad, vocab, ignoreIndex)
	}
	return nil
}

// CrossEntropyBackward sets dlogits[r][j] = dloss[r]*(softmax(logits[r])[j]
// - [j == targets[r]]) from the saved lse, zero rows for ignored (or
// invalid) targets. dloss [rows] carries the reduction (1/count for a mean).
func (d *Device) CrossEntropyBackward(dlogits, dloss, logits, lse, targets DevicePtr, rows int64, vocab int, ignoreIndex int32) error {
	const name = "ragr_xent_bwd_f32"
	if err := checkRows(name, rows, vocab); err != nil || rows == 0 {
		return err
	}
	return d.launchRows(name, rows, vocab, dlogits, dloss, logits, lse, targets, rows, int32(vocab), ignoreIndex)
}

// xentLaunch queues the forward kernel with the error flag at flag (no
// check, no synchronization: the benchmark times this).
func (d *Device) xentLaunch(loss, lse, logits, targets DevicePtr, rows int64, vocab int, ignoreIndex int32, flag DevicePtr) error {
	return d.launchRows("ragr_xent_fwd_f32", rows, vocab, loss, lse, logits, targets, rows, int32(vocab), ignoreIndex, flag)
}
