//go:build cuda

package gpu

// Mixed precision and the optional tensor capabilities (tensor/accel.go):
//
//   - SetMixedPrecision: Matmul rounds both operands to bf16 (a contiguous
//     bf16 copy made by the cast kernels at each call, or the caller's
//     RoundOperand copy, used as it is: autograd's Linear rounds each
//     operand once for its forward and backward products — 480 casts took
//     9% of a BERT-base step on an H200 before) and runs the tensor-core
//     GEMM with fp32 accumulation and an fp32 output, as torch.autocast
//     does for matmuls. Everything else stays fp32.
//   - FusedAttention: the flash attention kernels (bf16 Q/K/V, fp32 O and
//     gradients, fp32 log-sum-exp) for head sizes 64 and 128 with an
//     additive key padding mask or none, the causal rule, grouped-query
//     heads in place and attention dropout, only in mixed precision (the
//     fp32 mode keeps the exact composite path). nn.Attention (BERT) and
//     nn.CausalAttention (Qwen2) use it.
//   - AdamWMulti / GlobalNorm: the multi-tensor AdamW and grad-norm kernels
//     (one launch per step over every parameter).
//   - StartProfile / StopProfile: GPU time per kernel (CUDA events).
//   - Synchronize / MemoryStats / ResetPeakMemory: the stream and the
//     caching pool's statistics.

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/ragr-dev/ragr/kernels/cuda"
	"github.com/ragr-dev/ragr/tensor"
)

// SetMixedPrecision turns bf16 matmul operands (and fused attention) on or
// off and returns the previous setting.
func (b *Backend) SetMixedPrecision(on bool) bool { return b.mixed.Swap(on) }

// MixedPrecision reports whether matmuls run with bf16 operands.
func (b *Backend) MixedPrecision() bool { return b.mixed.Load() }

// bf16Copy converts the operand a, viewed as [batch, r, c] (any strides),
// into a contiguous bf16 buffer of count matrices (1 for a broadcast
// operand); free releases it (after the queued kernels, by stream order).
// A BFloat16 operand (RoundOperand's copy) laid out so is used in place.
func (b *Backend) bf16Copy(name string, a *tensor.Tensor) (p cuda.DevicePtr, stride int64, free func()) {
	v := viewOf(a)
	count, stride := bf16Operand(v.shape[0], v.shape[1], v.shape[2], v.strides[0])
	if v.dt == tensor.BFloat16 && v.strides[2] == 1 && (v.strides[1] == v.shape[2] || v.shape[1] == 1) &&
		(count == 1 || int64(v.strides[0]) == stride) {
		return v.p, stride, func() {}
	}
	src := view{p: v.p, dt: v.dt, shape: []int{count, v.shape[1], v.shape[2]}, strides: []int{v.strides[0], v.strides[1], v.strides[2]}}
	if count == 1 {
		src.strides[0] = 0
	}
	n := numel(src.shape)
	buf := b.temp(name, tensor.BFloat16, n)
	dst := flat(buf, tensor.BFloat16, src.shape)
	if src.dt == tensor.BFloat16 { // a rounded operand in another layout
		b.copySame(name, dst, src)
		return buf.Ptr(), stride, buf.Free
	}
	if !src.contiguous() {
		tmp := b.temp(name, tensor.Float32, n)
		defer tmp.Free()
		c := flat(tmp, tensor.Float32, src.shape)
		b.copySame(name, c, src)
		src = c
	}
	b.convert(name, dst, src)
	return buf.Ptr(), stride, buf.Free
}

// RoundOperand returns the contiguous bf16 copy of the float32 a that
// Matmul would make, in mixed precision (nil otherwise); Matmul and
// MatmulBias take it in a's place (tensor.RoundedOperandBackend).
func (b *Backend) RoundOperand(a *tensor.Tensor) *tensor.Tensor {
	if !b.mixed.Load() || a.DType() != tensor.Float32 {
		return nil
	}
	return a.Cast(tensor.BFloat16)
}

// matmulBF16 is Matmul in mixed precision: bf16 copies of a and b, the
// bf16 tensor-core GEMM with fp32 accumulation into the fp32 dst.
func (b *Backend) matmulBF16(dst, a, bt *tensor.Tensor, transA, transB bool, alpha, beta float64, bias *tensor.Tensor) {
	const name = "Matmul.bf16"
	ds, as, bs := dst.Shape(), a.Shape(), bt.Shape()
	batch, m, n := ds[0], ds[1], ds[2]
	k := as[2]
	if transA {
		k = as[1]
	}
	pa, sa, fa := b.bf16Copy(name, a)
	defer fa()
	pb, sb, fb := b.bf16Copy(name, bt)
	defer fb()
	g := cuda.Gemm{In: cuda.BF16, Out: cuda.F32, TransA: transA, TransB: transB,
		M: m, N: n, K: k, A: pa, B: pb, C: ptr(dst), LDA: max(as[2], 1), LDB: max(bs[2], 1), LDC: max(n, 1),
		StrideA: sa, StrideB: sb, StrideC: int64(m * n), Batch: batch,
		Alpha: float32(alpha), Beta: float32(beta)}
	if bias != nil {
		g.Bias = ptr(bias)
	}
	if batch == 1 {
		g.StrideA, g.StrideB = 0, 0
	}
	b.fail(name, b.dev.GEMM(g))
}

// devBytes is device memory returned to the pool when unreachable.
type devBytes struct{ buf *cuda.Buffer }

func (b *Backend) uploadBytes(name string, p []uint8) *devBytes {
	buf, err := cuda.Upload(b.dev, p)
	b.fail(name, err)
	d := &devBytes{buf: buf}
	runtime.AddCleanup(d, func(buf *cuda.Buffer) { buf.Free() }, buf)
	return d
}

// maskCache remembers the last additive mask converted to the kernel's
// uint8 key mask: BERT hands the same mask tensor to every layer, so it is
// read back from the device once per forward pass. Masks are not written
// in place after they are made (the cache keys on the storage and offset).
type maskCache struct {
	sync.Mutex
	st     *tensor.Storage
	off, b int
	shape  []int
	km     *devBytes // nil: no key is masked
	ok     bool
}

// keyMask returns the kernel's key mask for an additive mask [mb, 1, 1, lk]
// (nil mask: none), or ok false when the mask is not a pure padding mask.
func (b *Backend) keyMask(mask *tensor.Tensor, batch, lk int) (*devBytes, bool) {
	if mask == nil {
		return nil, true
	}
	c := &b.masks
	c.Lock()
	defer c.Unlock()
	if c.st == mask.Storage() && c.off == mask.Offset() && c.b == batch && equalInts(c.shape, mask.Shape()) {
		return c.km, c.ok
	}
	vals := mask.Float32s() // a small read-back (synchronizes once per forward)
	bytes, masked, ok := keyMaskBytes(vals, mask.Dim(0), batch, lk)
	var km *devBytes
	if ok && masked {
		km = b.uploadBytes("FusedAttention.mask", bytes)
	}
	c.st, c.off, c.b, c.shape, c.km, c.ok = mask.Storage(), mask.Offset(), batch, mask.Shape(), km, ok
	return km, ok
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// attnSaved is what the fused backward needs.
type attnSaved struct {
	a        cuda.Attention
	q, k, v  *tensor.Tensor // bf16 [B, L, H, D]
	out, lse *tensor.Tensor // fp32 [B, Lq, H, D], [B, H, Lq]
	km       *devBytes
}

// newOn allocates a device tensor (zero-filled), panicking with a
// DeviceError when the device is out of memory.
func (b *Backend) newOn(name string, dt tensor.DType, shape ...int) *tensor.Tensor {
	t, err := tensor.NewOn(b.tdev, dt, shape...)
	b.fail(name, err)
	return t
}

// toBLHD returns a contiguous bf16 copy of x [B, H, L, D] in the kernel's
// [B, L, H, D] layout.
func (b *Backend) toBLHD(name string, x *tensor.Tensor) *tensor.Tensor {
	p := x.Permute(0, 2, 1, 3)
	out := b.newOn(name, tensor.BFloat16, p.Shape()...)
	b.Copy(out, p)
	return out
}

// FusedAttention runs the flash attention forward kernel in mixed
// precision for head sizes 64 and 128, grouped-query heads read in place
// (k and v with fewer heads than q), the causal rule and a pure key
// padding mask (or none), dropping attention weights inside the kernel
// with the CPU's mask for o.DropKey; otherwise it reports ok false and
// computes nothing. The backward reuses the forward's dropout (saved in
// the Attention).
func (b *Backend) FusedAttention(q, k, v *tensor.Tensor, o tensor.AttentionOpts) (*tensor.Tensor, any, bool) {
	const name = "FusedAttention"
	if !b.mixed.Load() || q.DType() != tensor.Float32 {
		return nil, nil, false
	}
	qs, ks := q.Shape(), k.Shape()
	B, H, Lq, D, Hkv, Lk := qs[0], qs[1], qs[2], qs[3], ks[1], ks[2]
	// the kernels' cases: head size 64 or 128, a non-zero scale (theirs
	// reads 0 as 1/√D), B and H within a grid's y and z (65535)
	if (D != 64 && D != 128) || B == 0 || Lq == 0 || Lk == 0 || o.Scale == 0 || B > 65535 || H > 65535 {
		return nil, nil, false
	}
	defer keep(q, k, v, o.KeyMask)
	km, ok := b.keyMask(o.KeyMask, B, Lk)
	if !ok {
		return nil, nil, false
	}
	qb, kb, vb := b.toBLHD(name, q), b.toBLHD(name, k), b.toBLHD(name, v)
	out := b.newOn(name, tensor.Float32, B, Lq, H, D)
	lse := b.newOn(name, tensor.Float32, B, H, Lq)
	a := cuda.Attention{B: B, Hq: H, Hkv: Hkv, Sq: Lq, Sk: Lk, D: D, Q: ptr(qb), K: ptr(kb), V: ptr(vb),
		Causal: o.Causal, Scale: float32(o.Scale), Out: cuda.F32, Dropout: o.Dropout, DropKey: o.DropKey}
	if km != nil {
		a.KeyMask = km.buf.Ptr()
	}
	b.fail(name, b.dev.AttentionForward(a, ptr(out), ptr(lse)))
	runtime.KeepAlive(km)
	s := &attnSaved{a: a, q: qb, k: kb, v: vb, out: out, lse: lse, km: km}
	return out.Permute(0, 2, 1, 3), s, true
}

// FusedAttentionBackward runs the flash attention backward kernels.
func (b *Backend) FusedAttentionBackward(dout *tensor.Tensor, saved any) (dq, dk, dv *tensor.Tensor) {
	const name = "FusedAttentionBackward"
	s, ok := saved.(*attnSaved)
	if !ok {
		panic("tensor/gpu: FusedAttentionBackward: state not from FusedAttention")
	}
	if ds := dout.Shape(); len(ds) != 4 || ds[0] != s.a.B || ds[1] != s.a.Hq || ds[2] != s.a.Sq || ds[3] != s.a.D {
		panic(fmt.Sprintf("tensor/gpu: FusedAttentionBackward: dout %v, want [%d %d %d %d]", ds, s.a.B, s.a.Hq, s.a.Sq, s.a.D))
	}
	b.float32Only(name, dout)
	a := s.a
	do := dout.Permute(0, 2, 1, 3).Contiguous() // fp32 [B, Lq, H, D]
	gq := b.newOn(name, tensor.Float32, a.B, a.Sq, a.Hq, a.D)
	gk := b.newOn(name, tensor.Float32, a.B, a.Sk, a.Hkv, a.D)
	gv := b.newOn(name, tensor.Float32, a.B, a.Sk, a.Hkv, a.D)
	b.fail(name, b.dev.AttentionBackward(a, ptr(s.out), ptr(do), ptr(s.lse), ptr(gq), ptr(gk), ptr(gv)))
	keep(s.q, s.k, s.v, s.out, s.lse, do, dout)
	runtime.KeepAlive(s.km)
	return gq.Permute(0, 2, 1, 3), gk.Permute(0, 2, 1, 3), gv.Permute(0, 2, 1, 3)
}

// AdamWMulti applies one AdamW step to every parameter in one launch of
// the multi-tensor kernel (PyTorch's arithmetic, as AdamW).
func (b *Backend) AdamWMulti(params, grads, ms, vs []*tensor.Tensor, wds []float64, p tensor.AdamWParams) {
	const name = "AdamWMulti"
	tab := make([]cuda.AdamWParam, 0, len(params))
	for i := range params {
		b.float32Only(name, params[i], grads[i], ms[i], vs[i])
		if params[i].Numel() == 0 {
			continue
		}
		tab = append(tab, cuda.AdamWParam{Param: ptr(params[i]), Grad: ptr(grads[i]), M: ptr(ms[i]), V: ptr(vs[i]),
			N: int64(params[i].Numel()), WeightDecay: float32(wds[i])})
	}
	if len(tab) == 0 {
		return
	}
	t, err := b.dev.NewAdamWTable(tab)
	b.fail(name, err)
	defer t.Free()
	var gscale cuda.DevicePtr
	if p.GradScale != 0 && p.GradScale != 1 {
		// the clipping coefficient, read by the kernel on the device (one
		// 4-byte fill instead of a scaling launch per gradient)
		s := b.temp(name, tensor.Float32, 1)
		defer s.Free()
		b.fail(name, b.dev.Memset32(s.Ptr(), math.Float32bits(float32(p.GradScale)), 1))
		gscale = s.Ptr()
	}
	b.fail(name, b.dev.AdamWStep(t, float32(p.LR), float32(p.Beta1), float32(p.Beta2), float32(p.Eps), p.Step, gscale))
	keep(params...)
	keep(grads...)
	keep(ms...)
	keep(vs...)
}

// GlobalNorm returns the L2 norm of every element of ts together with the
// grad-norm kernel (two deterministic stages); it reads the result back.
func (b *Backend) GlobalNorm(ts []*tensor.Tensor) (float64, bool) {
	const name = "GlobalNorm"
	gs := make([]cuda.GradTensor, 0, len(ts))
	for _, t := range ts {
		if t.DType() != tensor.Float32 || !t.IsContiguous() {
			return 0, false
		}
		if t.Numel() > 0 {
			gs = append(gs, cuda.GradTensor{Grad: ptr(t), N: int64(t.Numel())})
		}
	}
	if len(gs) == 0 {
		return 0, true
	}
	tab, err := b.dev.NewGradNormTable(gs)
	b.fail(name, err)
	defer tab.Free()
	out := b.temp(name, tensor.Float32, 2)
	defer out.Free()
	b.fail(name, b.dev.GradNorm(tab, out.Ptr(), 0))
	v, err := cuda.Download[float32](out, 1)
	b.fail(name, err)
	keep(ts...)
	return float64(v[0]), true
}

// Synchronize waits for every queued kernel and copy.
func (b *Backend) Synchronize() error { return b.wrap("Synchronize", b.dev.Synchronize()) }

// MemoryStats returns the caching pool's statistics.
func (b *Backend) MemoryStats() tensor.MemStats {
	s := b.dev.Stats()
	return tensor.MemStats{Current: s.Current, Peak: s.Peak, Reserved: s.Reserved}
}

// ResetPeakMemory sets the pool's peak to its current use.
func (b *Backend) ResetPeakMemory() { b.dev.ResetPeak() }

// StartProfile starts timing every kernel launch (CUDA events around each;
// cuda.Device.StartProfile).
func (b *Backend) StartProfile() error { return b.wrap("StartProfile", b.dev.StartProfile()) }

// StopProfile returns the GPU time per kernel since StartProfile, the
// largest first.
func (b *Backend) StopProfile() ([]tensor.KernelTime, error) {
	ks, err := b.dev.StopProfile()
	if err != nil {
		return nil, b.wrap("StopProfile", err)
	}
	out := make([]tensor.KernelTime, len(ks))
	for i, k := range ks {
		out[i] = tensor.KernelTime{Name: k.Name, Count: k.Count, Seconds: k.Seconds}
	}
	return out, nil
}
