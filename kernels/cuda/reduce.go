//go:build cuda

package cuda

import "fmt"

func checkReduce(name string, outer, n, inner int64) error {
	if err := checkSizes(name, outer, n, inner); err != nil {
		return err
	}
	if n == 0 && outer*inner > 0 {
		return fmt.Errorf("kernel %s: reducing an empty axis (outer %d, n 0, inner %d)", name, outer, inner)
	}
	return nil
}

// reduceLaunch picks the rows variant (inner == 1, one block per row) or
// the cols variant (one thread per output).
func (d *Device) reduceLaunch(op string, outer, n, inner int64, ptrs ...any) error {
	if inner == 1 {
		name := kname("reduce", op, "rows", "f32")
		if err := checkReduce(name, outer, n, inner); err != nil || outer == 0 {
			return err
		}
		args := append(ptrs, outer, n)
		return d.launchRows(name, outer, int(min(n, 4096)), args...)
	}
	name := kname("reduce", op, "cols", "f32")
	if err := checkReduce(name, outer, n, inner); err != nil || outer*inner == 0 {
		return err
	}
	args := append(ptrs, outer, n, inner)
	return d.launch1D(name, outer*inner, 1, args...)
}

// ReduceSum sets y[o*inner+k] = sum_j x[(o*n+j)*inner+k] for the contiguous
// f32 array x viewed as [outer, n, inner] (any axis of a contiguous tensor).
func (d *Device) ReduceSum(y, x DevicePtr, outer, n, inner int64) error {
	return d.reduceLaunch("sum", outer, n, inner, y, x)
}

// ReduceMean is ReduceSum divided by n.
func (d *Device) ReduceMean(y, x DevicePtr, outer, n, inner int64) error {
	return d.reduceLaunch("mean", outer, n, inner, y, x)
}

// ReduceMax sets y to the maximum over the middle axis and, when arg is not
// 0, arg (int32) to the first index reaching it; a NaN is the maximum (the
// first NaN's index), like torch.max. n must fit an int32.
func (d *Device) ReduceMax(y, arg, x DevicePtr, outer, n, inner int64) error {
	if n > 1<<31-1 {
		return fmt.Errorf("kernel ragr_reduce_max_f32: axis of %d elements does not fit int32 indices", n)
	}
	return d.reduceLaunch("max", outer, n, inner, y, arg, x)
}
