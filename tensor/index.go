package tensor

import "fmt"

func checkIndex(op string, idx *Tensor) {
	if idx.DType() != Int32 {
		panic(fmt.Sprintf("tensor.%s: index dtype %s, want int32", op, idx.DType()))
	}
}

// IndexSelect returns the entries of x at positions idx (1-D Int32) along
// axis. An index out of range returns an error naming its position (indices
// are often user data: token ids, labels).
func IndexSelect(x *Tensor, axis int, idx *Tensor) (*Tensor, error) {
	checkIndex("IndexSelect", idx)
	sameDevice("IndexSelect", x, idx)
	if idx.NDim() != 1 {
		panic(fmt.Sprintf("tensor.IndexSelect: index shape %v, want 1-D", idx.shape))
	}
	axis = x.axis("IndexSelect", axis)
	x, idx = x.Contiguous(), idx.Contiguous()
	outer, n, inner := numel(x.shape[:axis]), x.shape[axis], numel(x.shape[axis+1:])
	shape := cloneInts(x.shape)
	shape[axis] = idx.shape[0]
	out := x.empty(x.DType(), shape)
	if err := x.backend().IndexRows(out, x, idx, outer, n, inner); err != nil {
		return nil, fmt.Errorf("tensor.IndexSelect along axis %d of %v: %w", axis, x.shape, err)
	}
	return out, nil
}

// Embedding returns table[ids] for a table [vocab, dim] and Int32 ids of any
// shape: the result has shape ids.shape + [dim]. An id outside the vocabulary
// returns an error naming it.
func Embedding(table, ids *Tensor) (*Tensor, error) {
	if table.NDim() != 2 {
		panic(fmt.Sprintf("tensor.Embedding: table shape %v, want [vocab, dim]", table.shape))
	}
	out, err := IndexSelect(table, 0, ids.Reshape(-1))
	if err != nil {
		return nil, fmt.Errorf("tensor.Embedding: table %v: %w", table.shape, err)
	}
	return out.Reshape(append(ids.Shape(), table.shape[1])...), nil
}

// IndexAdd returns a tensor of shape (zeros) with src added at positions idx
// along axis: the backward of IndexSelect.
func IndexAdd(shape []int, axis int, idx, src *Tensor) (*Tensor, error) {
	checkIndex("IndexAdd", idx)
	compute("IndexAdd", src)
	if idx.NDim() != 1 || len(shape) != src.NDim() {
		panic(fmt.Sprintf("tensor.IndexAdd: index %v, src %v, shape %v", idx.shape, src.shape, shape))
	}
	dst := src.empty(src.DType(), shape)
	if dst.Device().Kind != KindCPU {
		dst.Fill(0)
	}
	axis = dst.axis("IndexAdd", axis)
	src, idx = src.Contiguous(), idx.Contiguous()
	outer, n, inner := numel(shape[:axis]), shape[axis], numel(shape[axis+1:])
	if err := dst.backend().IndexAddRows(dst, src, idx, outer, n, inner); err != nil {
		return nil, fmt.Errorf("tensor.IndexAdd along axis %d of %v: %w", axis, shape, err)
	}
	return dst, nil
}

// Gather returns out[..., j] = x[..., idx[..., j]] along the last axis (as
// torch.gather with dim=-1): idx has x's shape but for the last axis.
func Gather(x, idx *Tensor) (*Tensor, error) {
	checkIndex("Gather", idx)
	compute("Gather", x)
	if x.NDim() < 1 || idx.NDim() != x.NDim() || !equalInts(x.shape[:x.NDim()-1], idx.shape[:idx.NDim()-1]) {
		panic(fmt.Sprintf("tensor.Gather: x %v, index %v", x.shape, idx.shape))
	}
	x, idx = x.Contiguous(), idx.Contiguous()
	out := x.empty(x.DType(), idx.shape)
	if err := x.backend().GatherLast(out, x, idx); err != nil {
		return nil, fmt.Errorf("tensor.Gather from %v: %w", x.shape, err)
	}
	return out, nil
}

// ScatterAdd returns zeros of shape with src[..., j] added at
// [..., idx[..., j]]: the backward of Gather.
func ScatterAdd(shape []int, idx, src *Tensor) (*Tensor, error) {
	checkIndex("ScatterAdd", idx)
	compute("ScatterAdd", src)
	if !SameShape(idx, src) || len(shape) != idx.NDim() || !equalInts(shape[:len(shape)-1], idx.shape[:idx.NDim()-1]) {
		panic(fmt.Sprintf("tensor.ScatterAdd: shape %v, index %v, src %v", shape, idx.shape, src.shape))
	}
	dst := src.empty(src.DType(), shape)
	if dst.Device().Kind != KindCPU {
		dst.Fill(0)
	}
	if err := dst.backend().ScatterAddLast(dst, src.Contiguous(), idx.Contiguous()); err != nil {
		return nil, fmt.Errorf("tensor.ScatterAdd into %v: %w", shape, err)
	}
	return dst, nil
}
