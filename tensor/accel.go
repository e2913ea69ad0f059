package tensor

import (
	"fmt"
	"sort"
)

// Optional backend capabilities. A backend may implement any of the
// interfaces below; the package functions beside them use the capability
// when the tensors' backend has it and report false (or fall back to the
// portable ops) otherwise, so code written against them runs unchanged on
// the CPU. The CUDA backend (tensor/gpu) implements all of them.

// MixedPrecisionBackend is a backend that can run its matrix products with
// bf16 operands and fp32 accumulation (autocast, as torch.autocast with
// dtype=torch.bfloat16 does for matmuls): inputs and outputs stay float32,
// the operands are rounded to bf16 on the way into the GEMM. Elementwise
// ops, reductions, norms, softmax and losses stay float32.
type MixedPrecisionBackend interface {
	// SetMixedPrecision turns bf16 matmul operands on or off and returns
	// the previous setting.
	SetMixedPrecision(on bool) bool
	// MixedPrecision reports the current setting.
	MixedPrecision() bool
}

// SetMixedPrecision turns bf16 mixed-precision matmuls on or off on device
// d and returns the previous setting. It returns an error when d's backend
// does not offer it (the CPU computes in float32 only).
func SetMixedPrecision(d Device, on bool) (bool, error) {
	b, err := BackendFor(d)
	if err != nil {
		return false, err
	}
	mp, ok := b.(MixedPrecisionBackend)
	if !ok {
		return false, fmt.Errorf("tensor: device %s has no bf16 mixed precision (it computes in float32)", d)
	}
	return mp.SetMixedPrecision(on), nil
}

// MixedPrecision reports whether device d runs its matmuls with bf16
// operands (false for devices without the capability).
func MixedPrecision(d Device) bool {
	b, err := BackendFor(d)
	if err != nil {
		return false
	}
	mp, ok := b.(MixedPrecisionBackend)
	return ok && mp.MixedPrecision()
}

// RoundedOperandBackend is a mixed-precision backend that hands out the
// bf16 operand copies its Matmul makes, and whose Matmul and MatmulBias
// take such a copy (a BFloat16 tensor) in place of the float32 operand
// with the same result, bit for bit. A caller that uses one operand in
// several products rounds it once: autograd's Linear rounds its input and
// weight once for the forward product and both backward ones, and the
// output gradient once for the two backward products (as torch.autocast
// keeps the bf16 copies it made in the forward pass for the backward).
type RoundedOperandBackend interface {
	// RoundOperand returns a contiguous BFloat16 copy of the float32 a
	// (rounded to nearest even, as Matmul rounds), or nil when the backend
	// is not in mixed precision.
	RoundOperand(a *Tensor) *Tensor
}

// RoundOperand returns a's bf16 matmul operand when a's backend is a
// RoundedOperandBackend in mixed precision, else nil (pass a itself). Only
// MatmulT, Matmul and Linear take the result; it is not a compute tensor.
func RoundOperand(a *Tensor) *Tensor {
	if a == nil || a.DType() != Float32 {
		return nil
	}
	rb, ok := a.backend().(RoundedOperandBackend)
	if !ok {
		return nil
	}
	return rb.RoundOperand(a)
}

// BiasMatmulBackend is a backend whose matrix product can add a bias row
// in its epilogue: Linear then needs no broadcast copy of the bias into
// the output before the product.
type BiasMatmulBackend interface {
	// MatmulBias computes dst = a·b + bias with Matmul's shapes, views and
	// transposes (alpha 1, beta 0) and the contiguous bias [n] added to
	// every row; false, having done nothing, when it does not take the
	// case.
	MatmulBias(dst, a, b, bias *Tensor, transA, transB bool) bool
}

// AttentionOpts are a fused attention's options beyond q, k and v.
type AttentionOpts struct {
	// KeyMask is an additive key padding mask [B or 1, 1, 1, Lk]: 0 where
	// attended, a large negative value (Hugging Face's finfo.min) where
	// masked; nil for none.
	KeyMask *Tensor
	// Causal hides key j from query i when j > i (top-left aligned, as
	// torch's is_causal).
	Causal bool
	// Scale multiplies q·kᵀ.
	Scale float64
	// Dropout in [0, 1) drops attention weights with exactly the mask
	// DropoutMaskKey(DropKey, Dropout, B, H, Lq, Lk) gives over the
	// probabilities (kept ones scaled by 1/(1-Dropout)); 0: none.
	Dropout float64
	// DropKey is the dropout key (RNG.DropoutKey).
	DropKey uint64
}

// AttentionBackend is a backend with a fused scaled-dot-product attention
// kernel (flash style: the score matrix is never stored).
type AttentionBackend interface {
	// FusedAttention computes dropout(softmax(q·kᵀ·Scale + masks))·v for
	// float32 views q [B, H, Lq, D], k and v [B, Hkv, Lk, D], H a multiple
	// of Hkv (grouped-query heads: query head h reads key/value head
	// h/(H/Hkv), as Hugging Face's repeat_kv), with the key padding and
	// causal masks of o. A query that sees no key gets 0 (the composite
	// path averages the masked values there; such rows are padding) and
	// adds nothing to the gradients. It returns out [B, H, Lq, D] and the
	// state FusedAttentionBackward needs, or ok false, having computed
	// nothing, when it does not run this case fused (head size, mask
	// values, precision mode).
	FusedAttention(q, k, v *Tensor, o AttentionOpts) (out *Tensor, saved any, ok bool)
	// FusedAttentionBackward returns the gradients of q, k and v (shapes
	// as the forward's inputs) from the gradient of out and the saved
	// state.
	FusedAttentionBackward(dout *Tensor, saved any) (dq, dk, dv *Tensor)
}

// FusedAttention runs attention through the fused kernel of q's backend
// (see AttentionBackend); ok is false, and nothing is computed, when the
// backend has none or does not take this case (a key mask of another
// shape included). On a backend that has one, dtypes, devices and shapes
// are checked first (a mismatch panics).
func FusedAttention(q, k, v *Tensor, o AttentionOpts) (out *Tensor, saved any, ok bool) {
	ab, has := q.backend().(AttentionBackend)
	if !has {
		return nil, nil, false
	}
	compute("FusedAttention", q, k, v, o.KeyMask)
	if q.NDim() != 4 || k.NDim() != 4 || v.NDim() != 4 {
		panic(fmt.Sprintf("tensor.FusedAttention: q %v, k %v, v %v, want [B, H, L, D]", q.shape, k.shape, v.shape))
	}
	if !SameShape(k, v) || q.shape[0] != k.shape[0] || k.shape[1] == 0 || q.shape[1]%k.shape[1] != 0 || q.shape[3] != k.shape[3] {
		panic(fmt.Sprintf("tensor.FusedAttention: q %v, k %v, v %v do not agree (want k and v alike, heads of q a multiple of theirs)", q.shape, k.shape, v.shape))
	}
	if o.KeyMask != nil && !isKeyMaskShape(o.KeyMask.shape, q.shape[0], k.shape[2]) {
		return nil, nil, false
	}
	if !(o.Dropout >= 0 && o.Dropout < 1) {
		panic(fmt.Sprintf("tensor.FusedAttention: dropout %g, want 0 <= p < 1", o.Dropout))
	}
	return ab.FusedAttention(q, k, v, o)
}

// isKeyMaskShape reports whether shape is [b or 1, 1, 1, lk].
func isKeyMaskShape(shape []int, b, lk int) bool {
	return len(shape) == 4 && (shape[0] == b || shape[0] == 1) && shape[1] == 1 && shape[2] == 1 && shape[3] == lk
}

// FusedAttentionBackward returns dq, dk, dv for the forward that returned
// saved, given dout, the gradient of its output (on the same device).
func FusedAttentionBackward(dout *Tensor, saved any) (dq, dk, dv *Tensor) {
	ab, ok := dout.backend().(AttentionBackend)
	if !ok {
		panic(fmt.Sprintf("tensor.FusedAttentionBackward: the backend of %s has no fused attention", dout.Device()))
	}
	return ab.FusedAttentionBackward(dout, saved)
}

// MultiTensorBackend is a backend with multi-tensor optimizer kernels: one
// launch over a list of tensors instead of one per tensor.
type MultiTensorBackend interface {
	// AdamWMulti applies one AdamW step to every params[i] from grads[i]
	// with moments ms[i], vs[i] and weight decay wds[i] (p.WeightDecay is
	// not used), all contiguous, as AdamW does tensor by tensor; a
	// p.GradScale other than 0 and 1 multiplies each gradient element as it
	// is read (in float32, as the CPU's AdamW), the gradients unchanged.
	AdamWMulti(params, grads, ms, vs []*Tensor, wds []float64, p AdamWParams)
	// GlobalNorm returns the L2 norm of all elements of ts taken together
	// (contiguous float32); ok false when it does not take these tensors.
	GlobalNorm(ts []*Tensor) (norm float64, ok bool)
}

// AdamWSteps applies one AdamW step to each params[i] (see AdamWStep) with
// weight decay wds[i], through the backend's multi-tensor kernel when it
// has one, else tensor by tensor.
func AdamWSteps(params, grads, ms, vs []*Tensor, wds []float64, p AdamWParams) {
	n := len(params)
	if len(grads) != n || len(ms) != n || len(vs) != n || len(wds) != n {
		panic(fmt.Sprintf("tensor.AdamWSteps: %d params, %d grads, %d m, %d v, %d weight decays", n, len(grads), len(ms), len(vs), len(wds)))
	}
	if n == 0 {
		return
	}
	for i := range params {
		compute("AdamWSteps", params[0], params[i], grads[i], ms[i], vs[i])
		for _, t := range []*Tensor{grads[i], ms[i], vs[i]} {
			if !SameShape(params[i], t) {
				panic(fmt.Sprintf("tensor.AdamWSteps: shape %v for parameter %d of shape %v", t.shape, i, params[i].shape))
			}
		}
		for _, t := range []*Tensor{params[i], grads[i], ms[i], vs[i]} {
			if !t.IsContiguous() {
				panic(fmt.Sprintf("tensor.AdamWSteps: tensor %v of parameter %d is not contiguous", t.shape, i))
			}
		}
	}
	mt, multi := params[0].backend().(MultiTensorBackend)
	if multi && params[0].DType() == Float32 {
		mt.AdamWMulti(params, grads, ms, vs, wds, p) // the scale fused into the step
		return
	}
	if p.scaled() && params[0].Device().Kind != KindCPU {
		for _, g := range grads {
			MulScalarInPlace(g, p.GradScale)
		}
		p.GradScale = 0
	}
	for i := range params {
		q := p
		q.WeightDecay = wds[i]
		params[i].backend().AdamW(params[i], grads[i], ms[i], vs[i], q)
	}
}

// GlobalNorm returns the L2 norm of all elements of ts taken together
// through the backend's multi-tensor kernel; ok is false when the tensors
// are on different devices or the backend has no such kernel (compute it
// with Norm then).
func GlobalNorm(ts []*Tensor) (float64, bool) {
	if len(ts) == 0 {
		return 0, true
	}
	d := ts[0].Device()
	for _, t := range ts {
		if t.Device() != d || t.DType() != Float32 || !t.IsContiguous() {
			return 0, false
		}
	}
	mt, ok := ts[0].backend().(MultiTensorBackend)
	if !ok {
		return 0, false
	}
	return mt.GlobalNorm(ts)
}

// MemStats are a device memory pool's statistics in bytes.
type MemStats struct {
	// Current is the memory held by live tensors and scratch.
	Current int64
	// Peak is the largest Current since the last ResetPeakMemory.
	Peak int64
	// Reserved is what the pool holds from the driver (used + cached).
	Reserved int64
}

// SyncBackend is a backend that queues work asynchronously and can report
// its memory use.
type SyncBackend interface {
	// Synchronize waits for all queued work and returns its first error.
	Synchronize() error
	// MemoryStats returns the memory pool's statistics.
	MemoryStats() MemStats
	// ResetPeakMemory sets the peak statistic to the current use.
	ResetPeakMemory()
}

// Synchronize waits until every op queued on device d has finished (a
// no-op on the CPU, whose ops are synchronous).
func Synchronize(d Device) error {
	b, err := BackendFor(d)
	if err != nil {
		return err
	}
	if s, ok := b.(SyncBackend); ok {
		return s.Synchronize()
	}
	return nil
}

// DeviceMemory returns device d's memory statistics; ok is false for
// devices without a pool of their own (the CPU).
func DeviceMemory(d Device) (MemStats, bool) {
	b, err := BackendFor(d)
	if err != nil {
		return MemStats{}, false
	}
	s, ok := b.(SyncBackend)
	if !ok {
		return MemStats{}, false
	}
	return s.MemoryStats(), true
}

// ResetPeakMemory sets device d's peak memory statistic to its current use
// (nothing on devices without a pool).
func ResetPeakMemory(d Device) {
	if b, err := BackendFor(d); err == nil {
		if s, ok := b.(SyncBackend); ok {
			s.ResetPeakMemory()
		}
	}
}

// KernelTime is one entry of a device profile: a kernel (or, on a device
// without kernels of its own, a backend method), how many times it ran and
// its total time in seconds.
type KernelTime struct {
	Name    string  `json:"name"`
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
}

// ProfileBackend is a backend that can time the work it runs, kernel by
// kernel, between StartProfile and StopProfile.
type ProfileBackend interface {
	// StartProfile starts recording (an error when it is recording already).
	StartProfile() error
	// StopProfile waits for the recorded work, stops recording and
	// returns the totals per kernel, the largest first.
	StopProfile() ([]KernelTime, error)
}

// StartProfile starts timing the kernels device d runs (see
// ProfileBackend); an error when d's backend cannot.
func StartProfile(d Device) error {
	p, err := profileBackend(d)
	if err != nil {
		return err
	}
	return p.StartProfile()
}

// StopProfile stops timing on device d and returns the totals per kernel,
// the largest first.
func StopProfile(d Device) ([]KernelTime, error) {
	p, err := profileBackend(d)
	if err != nil {
		return nil, err
	}
	return p.StopProfile()
}

func profileBackend(d Device) (ProfileBackend, error) {
	b, err := BackendFor(d)
	if err != nil {
		return nil, err
	}
	p, ok := b.(ProfileBackend)
	if !ok {
		return nil, fmt.Errorf("tensor: device %s cannot profile its kernels", d)
	}
	return p, nil
}

// SortKernelTimes orders ks by total time, the largest first (then by
// name).
func SortKernelTimes(ks []KernelTime) {
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].Seconds != ks[j].Seconds {
			return ks[i].Seconds > ks[j].Seconds
		}
		return ks[i].Name < ks[j].Name
	})
}
