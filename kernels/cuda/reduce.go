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

// reduceLaunch picks the rows variant (inner == 1, one block per row) or,
// for sum and mean, the tiled cols variant (reduceCols); max over a middle
// axis keeps one thread per output.
func (d *Device) reduceLaunch(op string, outer, n, inner int64, ptrs ...any) error {
	if inner == 1 {
		name := kname("reduce", op, "rows", "f32")
		if err := checkReduce(name, outer, n, inner); err != nil || outer == 0 {
			return err
		}
		x := ptrs[len(ptrs)-1].(DevicePtr)
		vec := int32(0)
		if n%4 == 0 && x%16 == 0 {
			vec = 1
		}
		block := 256
		if n < 1024 {
			block = rowBlock(int(n))
		}
		g := min(outer, int64(32*d.SMs))
		args := append(ptrs, outer, n, vec)
		return d.Launch(name, [3]int{int(g), 1, 1}, [3]int{block, 1, 1}, 0, args...)
	}
	if op == "max" {
		name := kname("reduce", op, "cols", "f32")
		if err := checkReduce(name, outer, n, inner); err != nil || outer*inner == 0 {
			return err
		}
		args := append(ptrs, outer, n, inner)
		return d.launch1D(name, outer*inner, 1, args...)
	}
	var div int64
	if op == "mean" {
		div = n
	}
	return d.reduceCols(ptrs[0].(DevicePtr), ptrs[1].(DevicePtr), outer, n, inner, div)
}

// reduceColsChunk is the row chunk of ragr_reduce_sum_cols_f32 for an
// [outer, n, inner] input on sms multiprocessors: all of n (one launch)
// when the column tiles alone give the GPU about 8 blocks per SM, else the
// split of n into chunks (at least 64 rows each) that does, whose partial
// sums a second launch adds.
func reduceColsChunk(outer, n, inner int64, sms int) int64 {
	tiles := outer * ((inner + 31) / 32)
	want := int64(8 * max(sms, 1))
	if tiles >= want || n <= 128 {
		return n
	}
	chunks := min((want+tiles-1)/tiles, (n+63)/64)
	return (n + chunks - 1) / chunks
}

// reduceCols runs ragr_reduce_sum_cols_f32 over x [outer, n, inner] into y
// [outer, inner] (divided by div > 0): one launch, or two through a
// workspace of partial sums when n is split into chunks.
func (d *Device) reduceCols(y, x DevicePtr, outer, n, inner, div int64) error {
	const name = "ragr_reduce_sum_cols_f32"
	if err := checkReduce(name, outer, n, inner); err != nil || outer*inner == 0 {
		return err
	}
	grid := func(tiles int64) [3]int { return [3]int{int(min(tiles, int64(32*d.SMs))), 1, 1} }
	block := [3]int{256, 1, 1}
	ktiles := (inner + 31) / 32
	chunk := reduceColsChunk(outer, n, inner, d.SMs)
	if chunk >= n {
		return d.Launch(name, grid(outer*ktiles), block, 0, y, x, outer, n, inner, n, div)
	}
	chunks := (n + chunk - 1) / chunk
	ws, err := d.Alloc(4 * chunks * outer * inner)
	if err != nil {
		return fmt.Errorf("kernel %s: workspace of %d partial sums: %w", name, chunks*outer*inner, err)
	}
	defer ws.Free() // back to the pool; the stream orders any reuse after these launches
	if err := d.Launch(name, grid(chunks*outer*ktiles), block, 0, ws.Ptr(), x, outer, n, inner, chunk, int64(0)); err != nil {
		return err
	}
	m := outer * inner
	return d.Launch(name, grid((m+31)/32), block, 0, y, ws.Ptr(), int64(1), chunks, m, chunks, div)
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
