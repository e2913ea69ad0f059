//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"strconv"
)

// Cast converts n contiguous elements from one storage type to another:
// f32 <-> bf16, f32 <-> f16 (round to nearest even, NaN stays NaN, overflow
// gives +-Inf); i32 -> f32, bf16, f16 (rounded to f32, then to the 16-bit
// type, as the CPU backend converts); f32, bf16, f16 -> i32 (truncated
// toward zero; beyond int32 saturates, NaN gives 0). Other pairs return an
// error.
func (d *Device) Cast(dst DevicePtr, to DType, src DevicePtr, from DType, n int64) error {
	name := kname("cast", from.String(), to.String())
	float := func(t DType) bool { return t == F32 || t == BF16 || t == F16 }
	ok := (from == F32 && (to == BF16 || to == F16)) || (to == F32 && (from == BF16 || from == F16)) ||
		(from == I32 && float(to)) || (to == I32 && float(from))
	if !ok {
		return fmt.Errorf("kernel %s: no cast from %v to %v", name, from, to)
	}
	if err := checkSizes(name, n); err != nil || n == 0 {
		return err
	}
	return d.launch1D(name, n, 8, dst, src, n) // 8 elements a step (copy.cu, cast_map)
}

// CopyStrided writes the contiguous dst of shape shape from src read
// through element strides (any strides: a transpose, a slice, a broadcast
// with stride 0): the kernel that makes any view contiguous. elemBytes is
// 4 or 2 (the bytes are copied; the dtype does not matter). Rank at most
// MaxDims. A transposed or permuted source (the destination's innermost
// dimension strided in the source, another dimension contiguous there, both
// of extent >= 16) goes through shared-memory tiles
// (ragr_copy_transpose_*: coalesced reads and writes); any other layout
// through the element-wise kernel.
func (d *Device) CopyStrided(dst, src DevicePtr, elemBytes int, shape, strides []int64) error {
	var name string
	switch elemBytes {
	case 4:
		name = "ragr_copy_strided_b32"
	case 2:
		name = "ragr_copy_strided_b16"
	default:
		return fmt.Errorf("kernel ragr_copy_strided: element size %d not supported (4 or 2 bytes)", elemBytes)
	}
	n, err := checkStrided(name, shape, strides)
	if err != nil || n == 0 {
		return err
	}
	if args, tiles, ok := transposePlan(shape, strides); ok {
		tname := "ragr_copy_transpose_b" + strconv.Itoa(8*elemBytes)
		g := int(min(tiles, math.MaxInt32)) // one tile a block; the kernel loops past a capped grid
		return d.Launch(tname, [3]int{g, 1, 1}, [3]int{transposeThreads, 1, 1}, 0, dst, src, args)
	}
	return d.launch1D(name, n, 1, dst, src, stridedArgs(shape, strides))
}

// FillF32 sets n float32 elements at y to v.
func (d *Device) FillF32(y DevicePtr, v float32, n int64) error {
	if err := checkSizes("ragr_fill_f32", n); err != nil || n == 0 {
		return err
	}
	return d.launch1D("ragr_fill_f32", n, 1, y, v, n)
}

// FillB16 sets n 16-bit elements at y to the bit pattern bits (a bf16 or
// fp16 value).
func (d *Device) FillB16(y DevicePtr, bits uint16, n int64) error {
	if err := checkSizes("ragr_fill_b16", n); err != nil || n == 0 {
		return err
	}
	return d.launch1D("ragr_fill_b16", n, 1, y, uint32(bits), n)
}
