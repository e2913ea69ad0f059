package nn

import (
	"fmt"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// PoolCLS returns the first token's hidden state h[:, 0] of h [B, L, H].
func PoolCLS(h *autograd.Var) *autograd.Var { return autograd.Select(h, 1, 0) }

// PoolMean returns the masked mean over tokens, Σ_t m_t·h_t / Σ_t m_t
// (sentence-transformers' mean pooling), for h [B, L, H] and mask [B, L].
func PoolMean(h *autograd.Var, mask *tensor.Tensor) *autograd.Var {
	m := OnDeviceOf(mask.Cast(h.Value.DType()).Reshape(mask.Dim(0), mask.Dim(1), 1), h)
	s := autograd.Sum(autograd.Mul(h, autograd.Const(m)), 1, false)
	cnt := tensor.Maximum(tensor.Sum(m, 1, false), OnDeviceOf(tensor.FromFloat64([]float64{1e-9}).Cast(h.Value.DType()), h))
	return autograd.Div(s, autograd.Const(cnt))
}

// LastTokenIndex returns, per row of an attention mask [B, L], the index of
// the last token with mask 1 (right or left padding; -1 for an empty row).
func LastTokenIndex(mask *tensor.Tensor) []int {
	b, l := mask.Dim(0), mask.Dim(1)
	m := mask.Float64s()
	out := make([]int, b)
	for r := 0; r < b; r++ {
		out[r] = -1
		for t := l - 1; t >= 0; t-- {
			if m[r*l+t] != 0 {
				out[r] = t
				break
			}
		}
	}
	return out
}

// PoolAt returns h[b, idx[b]] for h [B, L, H] (last-token pooling when idx
// comes from LastTokenIndex).
func PoolAt(h *autograd.Var, idx []int) *autograd.Var {
	b, l, d := h.Dim(0), h.Dim(1), h.Dim(2)
	if len(idx) != b {
		panic(fmt.Sprintf("nn.PoolAt: %d indices for batch %d", len(idx), b))
	}
	flat := make([]int32, b)
	for r, i := range idx {
		if i < 0 || i >= l {
			panic(fmt.Sprintf("nn.PoolAt: index %d out of range for length %d (row %d)", i, l, r))
		}
		flat[r] = int32(r*l + i)
	}
	out, err := autograd.IndexSelect(autograd.Reshape(h, b*l, d), 0, OnDeviceOf(tensor.FromInt32(flat, b), h))
	if err != nil {
		panic(err)
	}
	return out
}

// L2Normalize divides each row of x [..., H] by max(‖row‖₂, eps)
// (torch.nn.functional.normalize; eps is 1e-12 there).
func L2Normalize(x *autograd.Var, eps float64) *autograd.Var {
	n := autograd.Norm(x, -1, true)
	floor := autograd.Const(OnDeviceOf(tensor.FromFloat64([]float64{eps}).Cast(x.Value.DType()), x))
	return autograd.Div(x, autograd.Maximum(n, floor))
}

// Truncate keeps the first dim features of x [..., H] (Matryoshka / MRL
// truncation; normalize again afterwards for cosine similarity).
func Truncate(x *autograd.Var, dim int) *autograd.Var {
	if dim <= 0 || dim > x.Dim(-1) {
		panic(fmt.Sprintf("nn.Truncate: dim %d for width %d", dim, x.Dim(-1)))
	}
	if dim == x.Dim(-1) {
		return x
	}
	return autograd.Narrow(x, -1, 0, dim)
}

// OnDeviceOf returns the host-made tensor t (a mask, indices, counts) on
// ref's device, t itself when it is there already. A failed copy panics
// with its error (a device out of memory, which the training loop reports
// with the step): for graph-building code that returns no errors.
func OnDeviceOf(t *tensor.Tensor, ref *autograd.Var) *tensor.Tensor {
	d := ref.Value.Device()
	out, err := t.To(d)
	if err != nil {
		panic(fmt.Errorf("nn: %v to %s: %w", t.Shape(), d, err))
	}
	return out
}
