package nn

import (
	"fmt"
	"math"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// DecoderMask is a decoder's attention mask for one batch [B, L] on the
// model's device, in the two forms the two attention paths take: the key
// padding mask a fused kernel reads beside its causal rule, and the full
// additive causal-and-padding mask [B, 1, L, L] of the composite path,
// built on the first call of Full (never, when every layer runs fused).
type DecoderMask struct {
	// Key is the additive key padding mask [B, 1, 1, L] (PaddingMask) on
	// the device, nil when the batch has no attention mask.
	Key *tensor.Tensor

	host  *tensor.Tensor // the attention mask [B, L] as given, nil for none
	b, l  int
	dtype tensor.DType
	dev   tensor.Device
	full  *tensor.Tensor
}

// NewDecoderMask prepares the masks of a batch of b rows of l tokens for
// device dev: mask is the attention mask [B, L] (1 for tokens, 0 for
// padding; any dtype, any device), nil for none.
func NewDecoderMask(mask *tensor.Tensor, b, l int, dtype tensor.DType, dev tensor.Device) (*DecoderMask, error) {
	m := &DecoderMask{host: mask, b: b, l: l, dtype: dtype, dev: dev}
	if mask == nil {
		return m, nil
	}
	if mask.NDim() != 2 || mask.Dim(0) != b || mask.Dim(1) != l {
		return nil, fmt.Errorf("nn: attention mask shape %v, want [%d %d]", mask.Shape(), b, l)
	}
	key, err := PaddingMask(mask, dtype).To(dev)
	if err != nil {
		return nil, fmt.Errorf("nn: attention mask to %s: %w", dev, err)
	}
	m.Key = key
	return m, nil
}

// Full returns the additive mask [B, 1, L, L] (CausalPaddingMask) on the
// device, building it on the first call. A failed copy to the device
// panics with its error (a device out of memory: the training loop
// reports device failures with the step).
func (m *DecoderMask) Full() *tensor.Tensor {
	if m.full == nil {
		full, err := CausalPaddingMask(m.host, m.b, m.l, m.dtype).To(m.dev)
		if err != nil {
			panic(fmt.Errorf("nn: causal attention mask [%d 1 %d %d] to %s: %w", m.b, m.l, m.l, m.dev, err))
		}
		m.full = full
	}
	return m.full
}

// CausalAttention is Attention for a decoder: q [B, H, L, D], k and v
// [B, KVH, L, D] with H a multiple of KVH (grouped-query heads: query head
// h reads key/value head h/(H/KVH), as Hugging Face's repeat_kv); query i
// sees key j when j <= i and key j is not padding.
//
// The tensors' backend may run it with a fused kernel (the CUDA backend's
// flash attention in bf16 mixed precision, with its causal rule, the key
// padding mask and the grouped heads read in place); otherwise, and
// always on the CPU, it is RepeatKV and Attention with mask.Full(). Both
// paths draw one dropout key while training with dropout > 0 and drop
// the same weights (tensor.DropoutMaskKey over [B, H, L, L]). They differ
// only at a query that sees no key at all (a left-padding position): the
// fused path gives 0 there, the composite path the mean of the masked
// values; nothing else reads those rows.
func CausalAttention(q, k, v *autograd.Var, mask *DecoderMask, scale, dropout float64, rng *tensor.RNG, training bool) *autograd.Var {
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(q.Dim(-1)))
	}
	if k.Dim(1) == 0 || q.Dim(1)%k.Dim(1) != 0 {
		panic(fmt.Sprintf("nn.CausalAttention: %d query heads are not a multiple of %d key/value heads", q.Dim(1), k.Dim(1)))
	}
	p, key := dropoutKey(dropout, rng, training)
	if out, ok := autograd.FusedAttention(q, k, v, tensor.AttentionOpts{KeyMask: mask.Key, Causal: true, Scale: scale, Dropout: p, DropKey: key}); ok {
		return out
	}
	rep := q.Dim(1) / k.Dim(1)
	return compositeAttention(q, RepeatKV(k, rep), RepeatKV(v, rep), mask.Full(), scale, p, key)
}
