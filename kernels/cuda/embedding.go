//go:build cuda

package cuda

import (
	"fmt"
	"math"
)

func checkEmbedding(name string, nids int64, dim int, vocab int64) error {
	if nids < 0 || dim < 0 || vocab < 0 {
		return fmt.Errorf("kernel %s: negative size (ids %d, dim %d, vocab %d)", name, nids, dim, vocab)
	}
	if nids > math.MaxInt32 {
		return fmt.Errorf("kernel %s: %d ids; at most %d per launch", name, nids, math.MaxInt32)
	}
	if dim > math.MaxInt32 {
		return fmt.Errorf("kernel %s: rows of %d elements; at most %d", name, dim, math.MaxInt32)
	}
	return nil
}

// EmbeddingGather sets y[i][:] = table[ids[i]][:] (y [nids, dim], table
// [vocab, dim] f32, ids int32 on the device). An id outside [0, vocab)
// returns an error naming its position and value (its row of y is zeros).
// It synchronizes to read the kernel's error flag.
func (d *Device) EmbeddingGather(y, table, ids DevicePtr, nids int64, dim int, vocab int64) error {
	const name = "ragr_embedding_gather_f32"
	if err := checkEmbedding(name, nids, dim, vocab); err != nil || nids*int64(dim) == 0 {
		return err
	}
	bad, err := d.withErrFlag(func(flag DevicePtr) error {
		return d.embeddingLaunch(name, y, table, ids, nids, dim, vocab, flag)
	})
	if err != nil {
		return err
	}
	if bad >= 0 {
		return &BadIDError{Kernel: name, ID: d.readInt32(ids + DevicePtr(4*bad)), Pos: int64(bad), Vocab: vocab}
	}
	return nil
}

// BadIDError is an embedding kernel's report of an id outside [0, Vocab):
// the first such position (user data, not a device failure).
type BadIDError struct {
	Kernel string
	ID     int32
	Pos    int64
	Vocab  int64
}

func (e *BadIDError) Error() string {
	return fmt.Sprintf("kernel %s: id %d at position %d is outside the vocabulary [0, %d)", e.Kernel, e.ID, e.Pos, e.Vocab)
}

// EmbeddingScatterAdd adds dy[i][:] into dtable[ids[i]][:] (atomicAdd: the
// order of additions to a repeated id varies, so results vary by rounding).
// The caller zeroes dtable first. Bad ids as EmbeddingGather (skipped).
func (d *Device) EmbeddingScatterAdd(dtable, dy, ids DevicePtr, nids int64, dim int, vocab int64) error {
	const name = "ragr_embedding_scatter_add_f32"
	if err := checkEmbedding(name, nids, dim, vocab); err != nil || nids*int64(dim) == 0 {
		return err
	}
	bad, err := d.withErrFlag(func(flag DevicePtr) error {
		return d.embeddingLaunch(name, dtable, dy, ids, nids, dim, vocab, flag)
	})
	if err != nil {
		return err
	}
	if bad >= 0 {
		return &BadIDError{Kernel: name, ID: d.readInt32(ids + DevicePtr(4*bad)), Pos: int64(bad), Vocab: vocab}
	}
	return nil
}

// embeddingLaunch queues the gather or scatter-add kernel with the error
// flag at flag (no check, no synchronization: the benchmark times this).
func (d *Device) embeddingLaunch(name string, dst, src, ids DevicePtr, nids int64, dim int, vocab int64, flag DevicePtr) error {
	return d.launchRows(name, nids, dim, dst, src, ids, nids, int32(dim), vocab, flag)
}
