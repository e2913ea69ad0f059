package tensor

import (
	"fmt"
	"slices"
)

// view returns a tensor sharing t's storage with the given layout.
func (t *Tensor) view(shape, strides []int, offset int) *Tensor {
	return &Tensor{shape: shape, strides: strides, offset: offset, st: t.st}
}

// Reshape returns a tensor with the same elements in row-major order and a
// new shape; one dimension may be -1 and is inferred. It is a view when t is
// contiguous and a copy otherwise.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = cloneInts(shape)
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("tensor.Reshape: invalid shape %v for tensor of shape %v", shape, t.shape))
		default:
			known *= d
		}
	}
	n := t.Numel()
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot infer -1 in %v for %d elements (shape %v)", shape, n, t.shape))
		}
		shape[infer] = n / known
	}
	if numel(shape) != n {
		panic(fmt.Sprintf("tensor.Reshape: shape %v (%d elements) does not match tensor shape %v (%d elements)", shape, numel(shape), t.shape, n))
	}
	src := t.Contiguous()
	return src.view(shape, contiguousStrides(shape), src.offset)
}

// Flatten reshapes t to 1-D.
func (t *Tensor) Flatten() *Tensor { return t.Reshape(-1) }

// Permute returns a view with the axes reordered: axis i of the result is
// axis dims[i] of t.
func (t *Tensor) Permute(dims ...int) *Tensor {
	if len(dims) != len(t.shape) {
		panic(fmt.Sprintf("tensor.Permute: %d axes %v for shape %v", len(dims), dims, t.shape))
	}
	shape := make([]int, len(dims))
	strides := make([]int, len(dims))
	seen := make([]bool, len(dims))
	for i, d := range dims {
		d = t.axis("Permute", d)
		if seen[d] {
			panic(fmt.Sprintf("tensor.Permute: repeated axis in %v for shape %v", dims, t.shape))
		}
		seen[d] = true
		shape[i], strides[i] = t.shape[d], t.strides[d]
	}
	return t.view(shape, strides, t.offset)
}

// Transpose returns a view with axes a and b swapped.
func (t *Tensor) Transpose(a, b int) *Tensor {
	a, b = t.axis("Transpose", a), t.axis("Transpose", b)
	shape, strides := cloneInts(t.shape), cloneInts(t.strides)
	shape[a], shape[b] = shape[b], shape[a]
	strides[a], strides[b] = strides[b], strides[a]
	return t.view(shape, strides, t.offset)
}

// T returns the transpose of the last two axes.
func (t *Tensor) T() *Tensor {
	if len(t.shape) < 2 {
		panic(fmt.Sprintf("tensor.T: shape %v has fewer than 2 axes", t.shape))
	}
	return t.Transpose(-2, -1)
}

// Narrow returns a view of length elements of axis starting at start.
func (t *Tensor) Narrow(axis, start, length int) *Tensor {
	axis = t.axis("Narrow", axis)
	if start < 0 || length < 0 || start+length > t.shape[axis] {
		panic(fmt.Sprintf("tensor.Narrow: [%d, %d) out of range for axis %d of shape %v", start, start+length, axis, t.shape))
	}
	shape := cloneInts(t.shape)
	shape[axis] = length
	return t.view(shape, cloneInts(t.strides), t.offset+start*t.strides[axis])
}

// Slice returns a view of [start, end) along axis.
func (t *Tensor) Slice(axis, start, end int) *Tensor { return t.Narrow(axis, start, end-start) }

// Select returns the view at index i of axis, with that axis removed.
func (t *Tensor) Select(axis, i int) *Tensor {
	axis = t.axis("Select", axis)
	if i < 0 {
		i += t.shape[axis]
	}
	if i < 0 || i >= t.shape[axis] {
		panic(fmt.Sprintf("tensor.Select: index %d out of range for axis %d of shape %v", i, axis, t.shape))
	}
	shape := slices.Delete(cloneInts(t.shape), axis, axis+1)
	strides := slices.Delete(cloneInts(t.strides), axis, axis+1)
	return t.view(shape, strides, t.offset+i*t.strides[axis])
}

// Unsqueeze inserts an axis of size 1 at position axis (0..NDim).
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	n := len(t.shape)
	if axis < 0 {
		axis += n + 1
	}
	if axis < 0 || axis > n {
		panic(fmt.Sprintf("tensor.Unsqueeze: axis %d out of range for shape %v", axis, t.shape))
	}
	st := 1
	if axis < n {
		st = t.strides[axis] * t.shape[axis]
	}
	shape := slices.Insert(cloneInts(t.shape), axis, 1)
	strides := slices.Insert(cloneInts(t.strides), axis, st)
	return t.view(shape, strides, t.offset)
}

// Squeeze removes axis, which must have size 1.
func (t *Tensor) Squeeze(axis int) *Tensor {
	axis = t.axis("Squeeze", axis)
	if t.shape[axis] != 1 {
		panic(fmt.Sprintf("tensor.Squeeze: axis %d of shape %v is not 1", axis, t.shape))
	}
	return t.Select(axis, 0)
}

// Expand returns a view broadcast to shape (size-1 axes repeat with stride 0;
// new leading axes are added; -1 keeps an axis' size).
func (t *Tensor) Expand(shape ...int) *Tensor {
	n, m := len(shape), len(t.shape)
	if n < m {
		panic(fmt.Sprintf("tensor.Expand: cannot expand shape %v to %v", t.shape, shape))
	}
	out := make([]int, n)
	strides := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		j := i - (n - m)
		want := shape[i]
		if j < 0 {
			if want < 0 {
				panic(fmt.Sprintf("tensor.Expand: -1 for a new axis in %v", shape))
			}
			out[i], strides[i] = want, 0
			continue
		}
		have := t.shape[j]
		switch {
		case want == -1 || want == have:
			out[i], strides[i] = have, t.strides[j]
		case have == 1:
			out[i], strides[i] = want, 0
		default:
			panic(fmt.Sprintf("tensor.Expand: cannot expand shape %v to %v", t.shape, shape))
		}
	}
	return t.view(out, strides, t.offset)
}

// BroadcastShapes returns the shape two tensors broadcast to (NumPy rules),
// or an error.
func BroadcastShapes(a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// Contiguous returns t when it is contiguous, else a contiguous copy.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a contiguous copy of t with its own storage.
func (t *Tensor) Clone() *Tensor {
	out := t.empty(t.DType(), t.shape)
	t.backend().Copy(out, t)
	return out
}

// Cast returns t converted to dtype (t itself when it already has it).
func (t *Tensor) Cast(dtype DType) *Tensor {
	if t.DType() == dtype {
		return t
	}
	out := t.empty(dtype, t.shape)
	t.backend().Copy(out, t)
	return out
}

// CopyFrom copies src (same shape, any dtype, same device) into the view t.
func (t *Tensor) CopyFrom(src *Tensor) {
	if !SameShape(t, src) {
		panic(fmt.Sprintf("tensor.CopyFrom: shape %v into %v", src.shape, t.shape))
	}
	sameDevice("CopyFrom", t, src)
	if src.st == t.st {
		src = src.Clone()
	}
	t.backend().Copy(t, src)
}

// Concat joins tensors of equal shapes (but along axis) along axis.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Concat: no tensors")
	}
	axis = ts[0].axis("Concat", axis)
	shape := cloneInts(ts[0].shape)
	total := 0
	for _, x := range ts {
		if len(x.shape) != len(shape) || x.DType() != ts[0].DType() {
			panic(fmt.Sprintf("tensor.Concat: %s %v does not match %s %v", x.DType(), x.shape, ts[0].DType(), ts[0].shape))
		}
		for i := range shape {
			if i != axis && x.shape[i] != shape[i] {
				panic(fmt.Sprintf("tensor.Concat: shape %v does not match %v outside axis %d", x.shape, ts[0].shape, axis))
			}
		}
		sameDevice("Concat", ts[0], x)
		total += x.shape[axis]
	}
	shape[axis] = total
	out := ts[0].empty(ts[0].DType(), shape)
	at := 0
	for _, x := range ts {
		out.Narrow(axis, at, x.shape[axis]).CopyFrom(x)
		at += x.shape[axis]
	}
	return out
}

// Stack joins tensors of equal shape along a new axis.
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor.Stack: no tensors")
	}
	us := make([]*Tensor, len(ts))
	for i, x := range ts {
		if !SameShape(x, ts[0]) {
			panic(fmt.Sprintf("tensor.Stack: shape %v does not match %v", x.shape, ts[0].shape))
		}
		us[i] = x.Unsqueeze(axis)
	}
	return Concat(axis, us...)
}

// Split cuts t along axis into views of the given sizes.
func (t *Tensor) Split(axis int, sizes ...int) []*Tensor {
	axis = t.axis("Split", axis)
	out := make([]*Tensor, len(sizes))
	at := 0
	for i, s := range sizes {
		out[i] = t.Narrow(axis, at, s)
		at += s
	}
	if at != t.shape[axis] {
		panic(fmt.Sprintf("tensor.Split: sizes %v do not sum to %d (axis %d of %v)", sizes, t.shape[axis], axis, t.shape))
	}
	return out
}

func sameDevice(op string, a, b *Tensor) {
	if a.Device() != b.Device() {
		panic(fmt.Sprintf("tensor.%s: tensors on %s and %s", op, a.Device(), b.Device()))
	}
}
