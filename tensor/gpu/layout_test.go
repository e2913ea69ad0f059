package gpu

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCollapse(t *testing.T) {
	cases := []struct {
		name        string
		shape       []int
		strides     [][]int
		wantShape   []int
		wantStrides [][]int
	}{
		{"contiguous", []int{2, 3, 4}, [][]int{{12, 4, 1}}, []int{24}, [][]int{{1}}},
		{"scalar", []int{}, [][]int{{}}, []int{1}, [][]int{{0}}},
		{"ones", []int{1, 1}, [][]int{{5, 7}}, []int{1}, [][]int{{0}}},
		{"transpose", []int{3, 2}, [][]int{{1, 3}}, []int{3, 2}, [][]int{{1, 3}}},
		{"narrow last", []int{2, 3, 4}, [][]int{{30, 10, 1}}, []int{6, 4}, [][]int{{10, 1}}},
		{"broadcast row", []int{5, 4}, [][]int{{0, 1}, {4, 1}}, []int{5, 4}, [][]int{{0, 1}, {4, 1}}},
		{"broadcast scalar", []int{5, 1, 4}, [][]int{{0, 9, 0}, {4, 4, 1}}, []int{20}, [][]int{{0}, {1}}},
		{"broadcast column", []int{5, 4}, [][]int{{1, 0}, {4, 1}}, []int{5, 4}, [][]int{{1, 0}, {4, 1}}},
		{"size-1 middle", []int{2, 1, 3}, [][]int{{3, 99, 1}}, []int{6}, [][]int{{1}}},
		{"permuted heads", []int{2, 4, 3, 5}, [][]int{{60, 5, 20, 1}}, []int{2, 4, 3, 5}, [][]int{{60, 5, 20, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, st := collapse(c.shape, c.strides...)
			assert.Equal(t, c.wantShape, s)
			assert.Equal(t, c.wantStrides, st)
		})
	}
}

// offsets lists the storage offset of every element of (shape, strides)
// in row-major order.
func offsets(shape, strides []int) []int {
	n := numel(shape)
	out := make([]int, 0, n)
	idx := make([]int, len(shape))
	for e := 0; e < n; e++ {
		off := 0
		for i, v := range idx {
			off += v * strides[i]
		}
		out = append(out, off)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

func TestPitchedPlan(t *testing.T) {
	cases := []struct {
		name          string
		shape, stride []int
		copies        int
	}{
		{"contiguous", []int{3, 4}, []int{4, 1}, 1},
		{"narrow last axis", []int{2, 3, 4}, []int{30, 10, 1}, 1},
		{"narrow middle axis", []int{2, 3, 4}, []int{40, 4, 1}, 1},
		{"select column", []int{5}, []int{7}, 1},
		{"transposed", []int{3, 4}, []int{1, 3}, 3},
		{"3-level", []int{2, 3, 4}, []int{100, 10, 1}, 2},
		{"one element", []int{1, 1}, []int{9, 9}, 1},
		{"empty", []int{0, 3}, []int{3, 1}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := pitchedPlan(c.shape, c.stride)
			require.Len(t, plan, c.copies)
			// replay the plan: source element s goes to destination offset
			// got[s]; it must match the view's offsets.
			want := offsets(c.shape, c.stride)
			got := make([]int, len(want))
			for i := range got {
				got[i] = -1
			}
			for _, p := range plan {
				require.GreaterOrEqual(t, p.pitch, p.width)
				for r := 0; r < p.rows; r++ {
					for w := 0; w < p.width; w++ {
						s := p.srcOff + r*p.width + w
						require.Less(t, s, len(got))
						require.Equal(t, -1, got[s], "source element %d copied twice", s)
						got[s] = p.dstOff + r*p.pitch + w
					}
				}
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestGemmOperand(t *testing.T) {
	cases := []struct {
		r, c, s1, s2 int
		ld           int
		trans, ok    bool
	}{
		{3, 4, 4, 1, 4, false, true},
		{3, 4, 1, 3, 3, true, true},
		{3, 4, 6, 1, 6, false, true},
		{1, 4, 0, 1, 4, false, true},
		{3, 1, 1, 7, 1, false, true},
		{1, 3, 5, 1, 3, false, true},
		{3, 1, 5, 2, 5, false, true},
		{3, 4, 2, 2, 0, false, false},
	}
	for _, c := range cases {
		ld, tr, ok := gemmOperand(c.r, c.c, c.s1, c.s2)
		assert.Equal(t, c.ok, ok, "%+v", c)
		if ok {
			assert.Equal(t, c.ld, ld, "%+v", c)
			assert.Equal(t, c.trans, tr, "%+v", c)
		}
	}
}

func TestFlatIndices(t *testing.T) {
	rows, err := flatRows([]int32{2, 0}, 3, 4)
	require.NoError(t, err)
	assert.Equal(t, []int32{2, 0, 6, 4, 10, 8}, rows)
	_, err = flatRows([]int32{1, 4}, 1, 4)
	assert.EqualError(t, err, "index 4 at position 1 out of range [0, 4)")
	last, err := flatLast([]int32{1, 0, 2, 2}, 2, 3)
	require.NoError(t, err)
	assert.Equal(t, []int32{1, 0, 5, 5}, last)
	_, err = flatLast([]int32{-1}, 1, 3)
	assert.EqualError(t, err, "index -1 at position 0 out of range [0, 3)")
}

func TestCompactAndContiguous(t *testing.T) {
	assert.Equal(t, []int{1, 3, 1}, compact([]int{4, 3, 2}, []int{0, 1, 0}))
	assert.True(t, isContiguous([]int{2, 1, 3}, []int{3, 77, 1}))
	assert.False(t, isContiguous([]int{2, 3}, []int{1, 2}))
	assert.Equal(t, []int{12, 4, 1}, contiguousStrides([]int{2, 3, 4}))
}

func TestKeyMaskBytes(t *testing.T) {
	const neg = -math.MaxFloat32
	cases := []struct {
		name          string
		vals          []float32
		maskB, b, lk  int
		want          []uint8
		wantAny, isOK bool
	}{
		{"padding", []float32{0, 0, neg, 0, neg, neg}, 2, 2, 3, []uint8{1, 1, 0, 1, 0, 0}, true, true},
		{"none masked", []float32{0, 0, 0, 0}, 2, 2, 2, []uint8{1, 1, 1, 1}, false, true},
		{"broadcast batch", []float32{0, neg}, 1, 3, 2, []uint8{1, 0, 1, 0, 1, 0}, true, true},
		{"bias value", []float32{0, -0.5}, 1, 1, 2, nil, false, false},
		{"-inf", []float32{float32(math.Inf(-1)), 0}, 1, 1, 2, []uint8{0, 1}, true, true},
		{"nan", []float32{float32(math.NaN()), 0}, 1, 1, 2, nil, false, false},
		{"wrong rows", []float32{0, 0, 0, 0}, 2, 3, 2, nil, false, false},
		{"wrong length", []float32{0, 0, 0}, 1, 1, 2, nil, false, false},
		{"empty", nil, 1, 2, 0, []uint8{}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, anyMasked, ok := keyMaskBytes(c.vals, c.maskB, c.b, c.lk)
			require.Equal(t, c.isOK, ok)
			if !ok {
				return
			}
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.wantAny, anyMasked)
		})
	}
}

func TestBF16Operand(t *testing.T) {
	cases := []struct {
		batch, r, c, bs int
		count           int
		stride          int64
	}{
		{1, 3, 5, 15, 1, 0},
		{4, 3, 5, 15, 4, 15},
		{4, 3, 5, 0, 1, 0},
		{4, 3, 5, 40, 4, 15}, // a strided batch becomes contiguous
		{0, 3, 5, 15, 1, 0},
	}
	for _, c := range cases {
		n, s := bf16Operand(c.batch, c.r, c.c, c.bs)
		assert.Equal(t, c.count, n, "%+v", c)
		assert.Equal(t, c.stride, s, "%+v", c)
	}
}
