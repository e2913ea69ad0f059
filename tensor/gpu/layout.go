package gpu

// Launch-independent layout helpers (no build tag, tested in the default
// build by layout_test.go).

import (
	"fmt"
	"math"
)

// collapse drops the dimensions of size 1 and merges neighbouring
// dimensions that are contiguous with respect to each other in every
// stride set (stride[outer] == stride[inner]·shape[inner]), so a view is
// described by as few (shape, stride) pairs as possible. The element order
// (row-major over shape) is kept. A shape with no dimension above 1 gives
// shape [1] with stride 0 in every set.
func collapse(shape []int, strides ...[]int) ([]int, [][]int) {
	var cs []int
	cst := make([][]int, len(strides))
	// walk from the innermost dimension outwards, building reversed lists
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] == 1 {
			continue
		}
		if k := len(cs) - 1; k >= 0 {
			merge := true
			for i, st := range strides {
				if st[d] != cst[i][k]*cs[k] {
					merge = false
					break
				}
			}
			if merge {
				cs[k] *= shape[d]
				continue
			}
		}
		cs = append(cs, shape[d])
		for i, st := range strides {
			cst[i] = append(cst[i], st[d])
		}
	}
	if len(cs) == 0 {
		cs = []int{1}
		for i := range cst {
			cst[i] = []int{0}
		}
		return cs, cst
	}
	reverse(cs)
	for i := range cst {
		reverse(cst[i])
	}
	return cs, cst
}

func reverse(s []int) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// contiguousStrides returns the row-major strides of shape.
func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// isContiguous reports whether strides are row-major contiguous for shape
// (dimensions of size 1 may have any stride), as tensor.IsContiguous.
func isContiguous(shape, strides []int) bool {
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && strides[i] != s {
			return false
		}
		s *= shape[i]
	}
	return true
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// compact returns shape with the broadcast (stride 0) dimensions set to 1:
// the shape of the data a broadcast view really reads.
func compact(shape, strides []int) []int {
	c := make([]int, len(shape))
	for i, d := range shape {
		c[i] = d
		if strides[i] == 0 {
			c[i] = 1
		}
	}
	return c
}

// pitched is one pitched (2-D) copy of a strided destination: rows rows of
// width contiguous elements, the destination rows pitch elements apart,
// the source rows packed (width apart); it starts at element dstOff of the
// destination and srcOff of the contiguous source.
type pitched struct {
	dstOff, srcOff     int
	rows, width, pitch int
}

// pitchedPlan splits a copy from a contiguous source into the view
// (shape, strides) — a non-overlapping destination, strides >= 0 — into
// pitched copies: the innermost run of unit stride (or a single element)
// is the row, the next dimension gives the rows and their pitch, and one
// copy is made for every index of the dimensions outside those.
func pitchedPlan(shape, strides []int) []pitched {
	if numel(shape) == 0 {
		return nil
	}
	cs, cst := collapse(shape, strides)
	st := cst[0]
	nd := len(cs)
	width, rows, pitch := 1, cs[nd-1], st[nd-1]
	outer := nd - 1
	if st[nd-1] == 1 {
		width = cs[nd-1]
		rows, pitch = 1, width
		if nd >= 2 {
			rows, pitch = cs[nd-2], st[nd-2]
			outer = nd - 2
		} else {
			outer = 0
		}
	}
	if rows == 1 {
		pitch = width
	}
	var plan []pitched
	idx := make([]int, outer)
	block := rows * width
	for src := 0; ; src += block {
		off := 0
		for i, v := range idx {
			off += v * st[i]
		}
		plan = append(plan, pitched{dstOff: off, srcOff: src, rows: rows, width: width, pitch: pitch})
		i := outer - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < cs[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return plan
		}
	}
}

// gemmOperand describes the last two axes (r×c, strides s1, s2) of a
// matmul operand as a row-major matrix with leading dimension ld,
// transposed or not (the CPU backend's rule, so both accept the same
// views).
func gemmOperand(r, c, s1, s2 int) (ld int, trans, ok bool) {
	if s2 == 1 || c == 1 {
		if r == 1 {
			return max(c, 1), false, true
		}
		if s1 >= c {
			return s1, false, true
		}
	}
	if s1 == 1 || r == 1 {
		if c == 1 {
			return max(r, 1), true, true
		}
		if s2 >= r {
			return s2, true, true
		}
	}
	return 0, false, false
}

// flatRows turns ids of a gather/scatter along the middle axis of
// [outer, n, ·] into row numbers of the flattened [outer·n, ·]: entry
// o·len(ids)+i is o·n + ids[i]. An id outside [0, n) returns the CPU
// backend's error (its value and position); a row number beyond int32
// returns an error too.
func flatRows(ids []int32, outer, n int) ([]int32, error) {
	for i, id := range ids {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("index %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	if int64(outer)*int64(n) > math.MaxInt32 {
		return nil, fmt.Errorf("%d×%d rows do not fit int32 row numbers", outer, n)
	}
	out := make([]int32, outer*len(ids))
	for o := 0; o < outer; o++ {
		for i, id := range ids {
			out[o*len(ids)+i] = int32(o*n) + id
		}
	}
	return out, nil
}

// flatLast turns idx [rows, k] of a gather along the last axis of x
// [rows, n] into element numbers of x: entry r·k+j is r·n + idx[r·k+j].
func flatLast(idx []int32, rows, n int) ([]int32, error) {
	for i, id := range idx {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("index %d at position %d out of range [0, %d)", id, i, n)
		}
	}
	if int64(rows)*int64(n) > math.MaxInt32 {
		return nil, fmt.Errorf("%d×%d elements do not fit int32 indices", rows, n)
	}
	out := make([]int32, len(idx))
	if rows == 0 {
		return out, nil
	}
	k := len(idx) / rows
	for i, id := range idx {
		out[i] = int32((i/k)*n) + id
	}
	return out, nil
}

// maskedBelow is the additive mask value at or below which a key counts as
// masked for the fused attention kernel: nn.PaddingMask writes
// -math.MaxFloat32; anything this negative makes exp underflow to 0 for any
// finite score a model produces.
const maskedBelow = -1e30

// keyMaskBytes converts an additive key padding mask (maskB rows of lk
// values, maskB 1 or b: 0 where attended, <= maskedBelow where masked) into
// the fused attention kernel's uint8 [b, lk] key mask (1 attended, 0
// hidden). masked reports whether some key is hidden (else the kernel needs no
// mask); ok is false when a value is neither 0 nor masked (a real-valued
// bias the kernel cannot apply), or the sizes do not match.
func keyMaskBytes(vals []float32, maskB, b, lk int) (out []uint8, masked, ok bool) {
	if (maskB != 1 && maskB != b) || len(vals) != maskB*lk {
		return nil, false, false
	}
	out = make([]uint8, b*lk)
	for r := 0; r < b; r++ {
		src := vals
		if maskB > 1 {
			src = vals[r*lk : (r+1)*lk]
		}
		for j := 0; j < lk; j++ {
			switch v := src[j]; {
			case v == 0:
				out[r*lk+j] = 1
			case v <= maskedBelow:
				masked = true
			default:
				return nil, false, false
			}
		}
	}
	return out, masked, true
}

// bf16Operand describes the bf16 copy of one GEMM operand viewed as
// [batch, r, c] with batch stride bs: how many matrices to convert (1 for
// a broadcast operand, batch stride 0 or batch 1) and the batch stride of
// the contiguous copy.
func bf16Operand(batch, r, c, bs int) (count int, copyStride int64) {
	if batch <= 1 || bs == 0 {
		return 1, 0
	}
	return batch, int64(r) * int64(c)
}
