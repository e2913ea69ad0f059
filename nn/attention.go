package nn

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// PaddingMask turns an attention mask [B, L] (1 for tokens, 0 for padding;
// any dtype) into the additive key mask [B, 1, 1, L] of dtype: 0 where
// attended, MaskMin where masked (Hugging Face's extended attention mask).
func PaddingMask(mask *tensor.Tensor, dtype tensor.DType) *tensor.Tensor {
	if mask.NDim() != 2 {
		panic(fmt.Sprintf("nn.PaddingMask: mask shape %v, want [batch, len]", mask.Shape()))
	}
	m := mask.Float64s()
	out := make([]float64, len(m))
	for i, v := range m {
		if v == 0 {
			out[i] = MaskMin
		}
	}
	b, l := mask.Dim(0), mask.Dim(1)
	return tensor.FromFloat64(out, b, 1, 1, l).Cast(dtype)
}

// CausalPaddingMask returns the additive mask [B, 1, L, L] that lets query i
// attend key j only when j <= i and key j is not padding (mask may be nil
// for no padding).
func CausalPaddingMask(mask *tensor.Tensor, batch, l int, dtype tensor.DType) *tensor.Tensor {
	var m []float64
	if mask != nil {
		if mask.NDim() != 2 || mask.Dim(0) != batch || mask.Dim(1) != l {
			panic(fmt.Sprintf("nn.CausalPaddingMask: mask shape %v, want [%d %d]", mask.Shape(), batch, l))
		}
		m = mask.Float64s()
	}
	out := make([]float64, batch*l*l)
	for b := 0; b < batch; b++ {
		for i := 0; i < l; i++ {
			for j := 0; j < l; j++ {
				if j > i || (m != nil && m[b*l+j] == 0) {
					out[(b*l+i)*l+j] = MaskMin
				}
			}
		}
	}
	return tensor.FromFloat64(out, batch, 1, l, l).Cast(dtype)
}

// SplitHeads reshapes x [B, L, H·D] to [B, H, L, D].
func SplitHeads(x *autograd.Var, heads int) *autograd.Var {
	b, l, hd := x.Dim(0), x.Dim(1), x.Dim(2)
	if hd%heads != 0 {
		panic(fmt.Sprintf("nn.SplitHeads: width %d not divisible by %d heads", hd, heads))
	}
	return autograd.Permute(autograd.Reshape(x, b, l, heads, hd/heads), 0, 2, 1, 3)
}

// MergeHeads reshapes x [B, H, L, D] to [B, L, H·D].
func MergeHeads(x *autograd.Var) *autograd.Var {
	b, h, l, d := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	return autograd.Reshape(autograd.Permute(x, 0, 2, 1, 3), b, l, h*d)
}

// RepeatKV repeats each of the KV heads of x [B, KVH, L, D] rep times
// consecutively, giving [B, KVH·rep, L, D] (Hugging Face's repeat_kv:
// query head h uses KV head h / rep).
func RepeatKV(x *autograd.Var, rep int) *autograd.Var {
	if rep == 1 {
		return x
	}
	b, kvh, l, d := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	e := autograd.Expand(autograd.Unsqueeze(x, 2), b, kvh, rep, l, d)
	return autograd.Reshape(e, b, kvh*rep, l, d)
}

// Attention computes softmax(q·kᵀ·scale + mask)·v for q [B, H, Lq, D],
// k and v [B, H, Lk, D] and an additive mask broadcastable to [B, H, Lq, Lk]
// (nil for none). A dropout probability above 0 drops attention weights
// while training.
//
// When the mask is a key padding mask [B or 1, 1, 1, Lk] (or nil), the
// tensors' backend may compute it with a fused kernel
// (tensor.AttentionBackend: the CUDA backend's flash attention in bf16
// mixed precision), attention dropout included; the CPU always takes the
// composite path below. Either way one dropout key is drawn from rng while
// training with dropout > 0, and the dropped weights are those of
// tensor.DropoutMaskKey for that key over [B, H, Lq, Lk]: the fused and
// composite paths drop the same weights, and the generator advances alike.
func Attention(q, k, v *autograd.Var, mask *tensor.Tensor, scale float64, dropout float64, rng *tensor.RNG, training bool) *autograd.Var {
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(q.Dim(-1)))
	}
	p, key := dropoutKey(dropout, rng, training)
	if out, ok := autograd.FusedAttention(q, k, v, tensor.AttentionOpts{KeyMask: mask, Scale: scale, Dropout: p, DropKey: key}); ok {
		return out
	}
	return compositeAttention(q, k, v, mask, scale, p, key)
}

// dropoutKey returns the attention dropout probability and key: one key
// drawn from rng while training with dropout > 0, else (0, 0).
func dropoutKey(dropout float64, rng *tensor.RNG, training bool) (float64, uint64) {
	if training && dropout > 0 && rng != nil {
		return dropout, rng.DropoutKey()
	}
	return 0, 0
}

// compositeAttention is softmax(q·kᵀ·scale + mask)·v from the autograd
// ops, weights dropped with tensor.DropoutMaskKey(key, p, ...) when p > 0.
func compositeAttention(q, k, v *autograd.Var, mask *tensor.Tensor, scale, p float64, key uint64) *autograd.Var {
	scores := autograd.MulScalar(autograd.MatmulT(q, k, false, true), scale)
	if mask != nil {
		scores = autograd.Add(scores, autograd.Const(mask))
	}
	probs := autograd.Softmax(scores, -1)
	if p > 0 {
		probs = autograd.DropoutKey(probs, p, key)
	}
	return autograd.Matmul(probs, v)
}

// RoPE holds the cos/sin tables of rotary position embeddings in the
// "rotate_half" convention of Hugging Face's Llama/Qwen2 (not interleaved).
type RoPE struct {
	Dim   int
	Theta float64
}

// Tables returns cos and sin [B, 1, L, Dim] for integer positions [B, L].
// The inverse frequencies and angles are computed in float32, as Hugging
// Face does, then cos and sin are taken of the float32 angle.
func (r RoPE) Tables(positions [][]int, dtype tensor.DType) (cos, sin *tensor.Tensor) {
	half := r.Dim / 2
	inv := make([]float32, half)
	for i := range inv {
		// As transformers: the exponent, the power and the reciprocal are
		// each rounded to float32.
		e := float32(2*i) / float32(r.Dim)
		inv[i] = 1 / float32(math.Pow(float64(float32(r.Theta)), float64(e)))
	}
	b := len(positions)
	l := 0
	if b > 0 {
		l = len(positions[0])
	}
	c := make([]float32, b*l*r.Dim)
	s := make([]float32, b*l*r.Dim)
	for bi, row := range positions {
		if len(row) != l {
			panic(fmt.Sprintf("nn.RoPE.Tables: ragged positions (%d and %d)", l, len(row)))
		}
		for t, pos := range row {
			base := (bi*l + t) * r.Dim
			for i := 0; i < half; i++ {
				ang := float32(pos) * inv[i]
				cv, sv := float32(math.Cos(float64(ang))), float32(math.Sin(float64(ang)))
				c[base+i], c[base+half+i] = cv, cv
				s[base+i], s[base+half+i] = sv, sv
			}
		}
	}
	return tensor.FromFloat32(c, b, 1, l, r.Dim).Cast(dtype), tensor.FromFloat32(s, b, 1, l, r.Dim).Cast(dtype)
}

// ApplyRoPE rotates x [B, H, L, D] by the tables: x·cos + rotate_half(x)·sin
// with rotate_half([x1, x2]) = [-x2, x1].
func ApplyRoPE(x *autograd.Var, cos, sin *tensor.Tensor) *autograd.Var {
	d := x.Dim(-1)
	x1 := autograd.Narrow(x, -1, 0, d/2)
	x2 := autograd.Narrow(x, -1, d/2, d/2)
	rot := autograd.Concat(-1, autograd.Neg(x2), x1)
	return autograd.Add(autograd.Mul(x, autograd.Const(cos)), autograd.Mul(rot, autograd.Const(sin)))
}
