package tensor

// The simulated accelerator, device "sim" (KindSim).
//
// Its tensors live in host memory that only its backend touches (float32,
// the 16-bit types and int32: float64 is refused, as on a GPU): a sim
// Storage has no host slices of its own (its Handle is the hidden host
// storage), so Data32 and the other host accessors refuse it as they
// refuse GPU memory, every op checks that its tensors share one device,
// and data reaches the host only through To / Float32s — as on a GPU. Its
// backend offers the capabilities the CUDA backend offers (tensor/gpu):
// bf16 mixed precision (matmul operands rounded to bf16, fp32
// accumulation and output), fused attention in mixed precision (the
// kernels' semantics: grouped-query heads read in place, the causal rule,
// a pure key padding mask, a query that sees no key gives 0, dropout with
// DropoutMaskKey's mask; q, k and v rounded to bf16; any head size, where
// the kernels take 64 and 128), the multi-tensor AdamW and gradient norm,
// memory statistics (bytes of live sim tensors, freed when the garbage
// collector finds them unreachable), a memory cap (SetSimMemoryLimit) and
// a profile of the time spent in each backend method (StartProfile).
//
// It computes with the CPU kernels, so it is as fast as the CPU, never
// faster: it exists so that the device code path of the models and the
// trainer — placement, transfers, mixed precision, the fused-attention
// branch — runs and is tested on machines without a GPU (ragr train
// --device sim).

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// KindSim is the simulated accelerator (see Sim).
const KindSim DeviceKind = 2

// Sim returns the i-th simulated accelerator: host memory behind a device
// boundary and the CUDA backend's optional capabilities, computed by the
// CPU kernels. It tests device code paths without a GPU.
func Sim(i int) Device { return Device{Kind: KindSim, Index: i} }

var sims struct {
	sync.Mutex
	byIndex map[int]*simBackend
}

// simBackendFor returns device d's backend, made on first use.
func simBackendFor(d Device) *simBackend {
	sims.Lock()
	defer sims.Unlock()
	if sims.byIndex == nil {
		sims.byIndex = map[int]*simBackend{}
	}
	b := sims.byIndex[d.Index]
	if b == nil {
		b = &simBackend{dev: d}
		sims.byIndex[d.Index] = b
	}
	return b
}

type simBackend struct {
	dev   Device
	mixed atomic.Bool
	prof  atomic.Pointer[simProfile]
	mu    sync.Mutex
	cur   int64
	peak  int64
	limit int64 // bytes; 0: none
}

// SetSimMemoryLimit caps the bytes of live tensors on the simulated
// accelerator d (0: no cap) and returns the previous cap. An allocation
// beyond it fails as a GPU out of memory does: after a garbage collection
// and a short wait for unreachable tensors to be freed, with a
// *DeviceError naming the request and the device's use — so the device
// failure paths (the trainer's error naming the step) are testable.
func SetSimMemoryLimit(d Device, bytes int64) (int64, error) {
	if d.Kind != KindSim {
		return 0, fmt.Errorf("tensor: SetSimMemoryLimit: %s is not a simulated accelerator", d)
	}
	if bytes < 0 {
		return 0, fmt.Errorf("tensor: SetSimMemoryLimit: negative limit %d", bytes)
	}
	b := simBackendFor(d)
	b.mu.Lock()
	defer b.mu.Unlock()
	prev := b.limit
	b.limit = bytes
	return prev, nil
}

func (b *simBackend) Device() Device { return b.dev }

func (b *simBackend) Alloc(dtype DType, n int) (*Storage, error) {
	if n < 0 {
		return nil, &DeviceError{Device: b.dev, Op: "Alloc", Err: fmt.Errorf("negative size %d", n)}
	}
	if dtype == Float64 { // as the CUDA backend: float64 is the CPU's reference type
		return nil, &DeviceError{Device: b.dev, Op: "Alloc", Err: fmt.Errorf("float64 is not supported on %s (as on cuda: compute in float32; float64 is the CPU reference type)", b.dev)}
	}
	bytes := int64(n) * int64(dtype.Size())
	if !b.fits(bytes) {
		// as the CUDA backend: collect, let the cleanups free what is
		// unreachable, try again
		runtime.GC()
		for i := 0; i < 50 && !b.fits(bytes); i++ {
			time.Sleep(time.Millisecond)
		}
		if !b.fits(bytes) {
			s := b.MemoryStats()
			return nil, &DeviceError{Device: b.dev, Op: "Alloc", Err: fmt.Errorf("%s[%d]: out of memory: %d bytes requested, %d in use, limit %d (SetSimMemoryLimit)", dtype, n, bytes, s.Current, b.limitBytes())}
		}
	}
	st := newCPUStorage(dtype, n)
	poisonStorage(st)
	return b.wrap(st), nil
}

// poisonStorage fills fresh sim storage as a GPU's pool may hand it out:
// not zeroed (NaN for floats, a large negative value for int32), so that an
// op relying on zero-initialised output fails the CPU-versus-sim checks.
func poisonStorage(st *Storage) {
	for i := range st.F32 {
		st.F32[i] = float32(math.NaN())
	}
	for i := range st.U16 {
		st.U16[i] = 0x7fc1 // a bf16 and fp16 NaN
	}
	for i := range st.I32 {
		st.I32[i] = -0x3c3c3c3d
	}
}

// fits reports whether bytes more stay within the limit.
func (b *simBackend) fits(bytes int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit == 0 || b.cur+bytes <= b.limit
}

func (b *simBackend) limitBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit
}

// wrap puts host storage behind the device boundary, counting its bytes
// until the storage is unreachable.
func (b *simBackend) wrap(host *Storage) *Storage {
	st := &Storage{Device: b.dev, DType: host.DType, N: host.N, Handle: host}
	n := int64(host.N * host.DType.Size())
	b.mu.Lock()
	b.cur += n
	b.peak = max(b.peak, b.cur)
	b.mu.Unlock()
	runtime.AddCleanup(st, func(n int64) {
		b.mu.Lock()
		b.cur -= n
		b.mu.Unlock()
	}, n)
	return st
}

// h returns t's host view (nil for nil), panicking when t is not on this
// device (the tensor package checks devices before calling a backend).
func (b *simBackend) h(t *Tensor) *Tensor {
	if t == nil {
		return nil
	}
	host, ok := t.st.Handle.(*Storage)
	if t.st.Device != b.dev || !ok {
		panic(fmt.Sprintf("tensor: %s backend handed a tensor on %s", b.dev, t.st.Device))
	}
	return &Tensor{shape: t.shape, strides: t.strides, offset: t.offset, st: host}
}

// adopt moves the contiguous host tensor x behind the device boundary
// (no copy).
func (b *simBackend) adopt(x *Tensor) *Tensor {
	if !x.IsContiguous() || x.offset != 0 || x.st.N != x.Numel() {
		x = x.Clone()
	}
	return &Tensor{shape: x.shape, strides: x.strides, st: b.wrap(x.st)}
}

func (b *simBackend) FromHost(dst *Tensor, src *Storage, off int) error {
	defer b.span("FromHost")()
	return cpuBackendInstance.FromHost(b.h(dst), src, off)
}

func (b *simBackend) ToHost(dst *Storage, src *Tensor) error {
	defer b.span("ToHost")()
	return cpuBackendInstance.ToHost(dst, b.h(src))
}

func (b *simBackend) Copy(dst, src *Tensor) {
	defer b.span("Copy")()
	cpuBackendInstance.Copy(b.h(dst), b.h(src))
}
func (b *simBackend) Fill(dst *Tensor, v float64) {
	defer b.span("Fill")()
	cpuBackendInstance.Fill(b.h(dst), v)
}
func (b *simBackend) Unary(op UnaryOp, dst, x *Tensor) {
	defer b.span("Unary." + op.String())()
	cpuBackendInstance.Unary(op, b.h(dst), b.h(x))
}
func (b *simBackend) UnaryBackward(op UnaryOp, dx, dy, xy *Tensor) {
	defer b.span("UnaryBackward." + op.String())()
	cpuBackendInstance.UnaryBackward(op, b.h(dx), b.h(dy), b.h(xy))
}
func (b *simBackend) Binary(op BinaryOp, dst, x, y *Tensor) {
	defer b.span("Binary." + op.String())()
	cpuBackendInstance.Binary(op, b.h(dst), b.h(x), b.h(y))
}
func (b *simBackend) BinaryScalar(op BinaryOp, dst, a *Tensor, s float64, scalarFirst bool) {
	defer b.span("BinaryScalar." + op.String())()
	cpuBackendInstance.BinaryScalar(op, b.h(dst), b.h(a), s, scalarFirst)
}
func (b *simBackend) Where(dst, cond, x, y *Tensor) {
	defer b.span("Where")()
	cpuBackendInstance.Where(b.h(dst), b.h(cond), b.h(x), b.h(y))
}

// Matmul rounds both operands to bf16 first in mixed precision, or when
// either operand is a BFloat16 RoundOperand copy (taken as its exact
// float32 values), as the CUDA backend's bf16 GEMM does.
func (b *simBackend) Matmul(dst, x, y *Tensor, transA, transB bool, alpha, beta float64) {
	defer b.span(b.matmulName())()
	rounded := x.DType() == BFloat16 || y.DType() == BFloat16
	hx, hy := b.h(x).Cast(Float32), b.h(y).Cast(Float32)
	if (b.mixed.Load() || rounded) && dst.DType() == Float32 {
		hx, hy = roundBF16(hx), roundBF16(hy)
	}
	cpuBackendInstance.Matmul(b.h(dst), hx, hy, transA, transB, alpha, beta)
}

// RoundOperand returns the bf16 copy of a that Matmul would round it to,
// in mixed precision (nil otherwise): a RoundedOperandBackend, as the CUDA
// backend.
func (b *simBackend) RoundOperand(a *Tensor) *Tensor {
	if !b.mixed.Load() || a.DType() != Float32 {
		return nil
	}
	defer b.span("RoundOperand")()
	return a.Cast(BFloat16)
}

// roundBF16 returns a contiguous float32 copy of the host tensor x with
// every element rounded to bf16 (round to nearest even).
func roundBF16(x *Tensor) *Tensor {
	c := x.Clone()
	d := c.Data32()
	for i, v := range d {
		d[i] = bf16ToF32(f32ToBF16(v))
	}
	return c
}

func (b *simBackend) Reduce(op ReduceOp, dst, arg, x *Tensor, outer, n, inner int) {
	defer b.span("Reduce")()
	cpuBackendInstance.Reduce(op, b.h(dst), b.h(arg), b.h(x), outer, n, inner)
}
func (b *simBackend) Softmax(dst, x *Tensor, log bool) {
	defer b.span("Softmax")()
	cpuBackendInstance.Softmax(b.h(dst), b.h(x), log)
}
func (b *simBackend) SoftmaxBackward(dx, dy, y *Tensor, log bool) {
	defer b.span("SoftmaxBackward")()
	cpuBackendInstance.SoftmaxBackward(b.h(dx), b.h(dy), b.h(y), log)
}
func (b *simBackend) LayerNorm(dst, mean, rstd, x, gamma, beta *Tensor, eps float64) {
	defer b.span("LayerNorm")()
	cpuBackendInstance.LayerNorm(b.h(dst), b.h(mean), b.h(rstd), b.h(x), b.h(gamma), b.h(beta), eps)
}
func (b *simBackend) LayerNormBackward(dx, dgamma, dbeta, dy, x, mean, rstd, gamma *Tensor) {
	defer b.span("LayerNormBackward")()
	cpuBackendInstance.LayerNormBackward(b.h(dx), b.h(dgamma), b.h(dbeta), b.h(dy), b.h(x), b.h(mean), b.h(rstd), b.h(gamma))
}
func (b *simBackend) RMSNorm(dst, rstd, x, gamma *Tensor, eps float64) {
	defer b.span("RMSNorm")()
	cpuBackendInstance.RMSNorm(b.h(dst), b.h(rstd), b.h(x), b.h(gamma), eps)
}
func (b *simBackend) RMSNormBackward(dx, dgamma, dy, x, rstd, gamma *Tensor) {
	defer b.span("RMSNormBackward")()
	cpuBackendInstance.RMSNormBackward(b.h(dx), b.h(dgamma), b.h(dy), b.h(x), b.h(rstd), b.h(gamma))
}
func (b *simBackend) IndexRows(dst, x, ids *Tensor, outer, n, inner int) error {
	defer b.span("IndexRows")()
	return cpuBackendInstance.IndexRows(b.h(dst), b.h(x), b.h(ids), outer, n, inner)
}
func (b *simBackend) IndexAddRows(dst, src, ids *Tensor, outer, n, inner int) error {
	defer b.span("IndexAddRows")()
	return cpuBackendInstance.IndexAddRows(b.h(dst), b.h(src), b.h(ids), outer, n, inner)
}
func (b *simBackend) GatherLast(dst, x, idx *Tensor) error {
	defer b.span("GatherLast")()
	return cpuBackendInstance.GatherLast(b.h(dst), b.h(x), b.h(idx))
}
func (b *simBackend) ScatterAddLast(dst, src, idx *Tensor) error {
	defer b.span("ScatterAddLast")()
	return cpuBackendInstance.ScatterAddLast(b.h(dst), b.h(src), b.h(idx))
}
func (b *simBackend) AdamW(param, grad, m, v *Tensor, p AdamWParams) {
	defer b.span("AdamW")()
	cpuBackendInstance.AdamW(b.h(param), b.h(grad), b.h(m), b.h(v), p)
}

// SetMixedPrecision turns bf16 matmul operands (and fused attention) on
// or off and returns the previous setting.
func (b *simBackend) SetMixedPrecision(on bool) bool { return b.mixed.Swap(on) }

// MixedPrecision reports whether matmuls round their operands to bf16.
func (b *simBackend) MixedPrecision() bool { return b.mixed.Load() }

// AdamWMulti steps every parameter (tensor by tensor, on the CPU kernels).
func (b *simBackend) AdamWMulti(params, grads, ms, vs []*Tensor, wds []float64, p AdamWParams) {
	defer b.span("AdamWMulti")()
	for i := range params {
		q := p
		q.WeightDecay = wds[i]
		cpuBackendInstance.AdamW(b.h(params[i]), b.h(grads[i]), b.h(ms[i]), b.h(vs[i]), q)
	}
}

// GlobalNorm is the L2 norm of every element of ts, computed as torch's
// clip_grad_norm_ and the CPU path of nn/optim do (the norm of the
// per-tensor norms, in float32), so that a sim run clips exactly as a CPU
// run; the CUDA kernel sums in another order.
func (b *simBackend) GlobalNorm(ts []*Tensor) (float64, bool) {
	defer b.span("GlobalNorm")()
	norms := make([]*Tensor, len(ts))
	for i, t := range ts {
		norms[i] = Norm(b.h(t).Reshape(-1), 0, false)
	}
	return Norm(Stack(0, norms...), 0, false).Item(), true
}

// Synchronize does nothing: sim ops are synchronous.
func (b *simBackend) Synchronize() error { return nil }

// MemoryStats counts the bytes of live sim storage.
func (b *simBackend) MemoryStats() MemStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return MemStats{Current: b.cur, Peak: b.peak, Reserved: b.cur}
}

// ResetPeakMemory sets the peak to the current use.
func (b *simBackend) ResetPeakMemory() {
	b.mu.Lock()
	b.peak = b.cur
	b.mu.Unlock()
}

// simAttn is what the sim's fused attention backward needs.
type simAttn struct {
	q, k, v *Tensor // bf16-rounded host copies; k, v with the query heads [B, H, Lk, D]
	p       *Tensor // softmax probabilities [B, H, Lq, Lk] (0 where hidden)
	drop    *Tensor // the dropout mask (0 or 1/(1-p)), nil without dropout
	hkv     int
	scale   float64
	shapeK  []int
}

// FusedAttention computes the flash kernels' result in mixed precision
// (see the file comment); ok is false outside mixed precision, for
// float64 tensors, and for a key mask that is not a pure padding mask.
func (b *simBackend) FusedAttention(q, k, v *Tensor, o AttentionOpts) (*Tensor, any, bool) {
	defer b.span("FusedAttention")()
	if !b.mixed.Load() || q.DType() != Float32 {
		return nil, nil, false
	}
	B, H, Lq, D := q.shape[0], q.shape[1], q.shape[2], q.shape[3]
	Hkv, Lk := k.shape[1], k.shape[2]
	visible, ok := simVisible(b.h(o.KeyMask), B, Lq, Lk, o.Causal)
	if !ok {
		return nil, nil, false
	}
	rep := H / Hkv
	group := func(x *Tensor) *Tensor { // [B, Hkv, Lk, D] → [B, H, Lk, D]
		return roundBF16(x).Unsqueeze(2).Expand(B, Hkv, rep, Lk, D).Reshape(B, H, Lk, D)
	}
	s := &simAttn{q: roundBF16(b.h(q)), k: group(b.h(k)), v: group(b.h(v)), hkv: Hkv, scale: o.Scale, shapeK: k.Shape()}
	scores := MatmulT(s.q, s.k, false, true).Data32()
	s.p = New(Float32, B, H, Lq, Lk)
	pd := s.p.Data32()
	for bi := 0; bi < B; bi++ {
		for hi := 0; hi < H; hi++ {
			for i := 0; i < Lq; i++ {
				row := ((bi*H+hi)*Lq + i) * Lk
				vis := visible[(bi*Lq+i)*Lk : (bi*Lq+i+1)*Lk]
				m := math.Inf(-1)
				for j, ok := range vis {
					if ok {
						m = math.Max(m, o.Scale*float64(scores[row+j]))
					}
				}
				sum := 0.0
				for j, ok := range vis {
					if ok {
						e := math.Exp(o.Scale*float64(scores[row+j]) - m)
						pd[row+j] = float32(e)
						sum += e
					}
				}
				for j, ok := range vis {
					if ok {
						pd[row+j] = float32(float64(pd[row+j]) / sum)
					}
				}
			}
		}
	}
	probs := s.p
	if o.Dropout > 0 {
		s.drop = DropoutMaskKey(o.DropKey, o.Dropout, B, H, Lq, Lk)
		probs = Mul(s.p, s.drop)
	}
	return b.adopt(Matmul(probs, s.v)), s, true
}

// simVisible returns, for each batch row b, query i and key j, whether
// the key is visible ([B][Lq][Lk] flattened), or ok false when the key
// mask holds a value that is neither 0 nor a masked one (at most -1e30).
func simVisible(keyMask *Tensor, B, Lq, Lk int, causal bool) ([]bool, bool) {
	var km []float64
	if keyMask != nil {
		km = keyMask.Float64s()
		for _, x := range km {
			if x != 0 && x > -1e30 {
				return nil, false
			}
		}
	}
	vis := make([]bool, B*Lq*Lk)
	for bi := 0; bi < B; bi++ {
		mrow := 0
		if km != nil && len(km) == B*Lk {
			mrow = bi * Lk
		}
		for i := 0; i < Lq; i++ {
			for j := 0; j < Lk; j++ {
				vis[(bi*Lq+i)*Lk+j] = !(causal && j > i) && (km == nil || km[mrow+j] == 0)
			}
		}
	}
	return vis, true
}

// FusedAttentionBackward returns dq, dk, dv of the sim's fused forward.
func (b *simBackend) FusedAttentionBackward(dout *Tensor, saved any) (dq, dk, dv *Tensor) {
	defer b.span("FusedAttentionBackward")()
	s, ok := saved.(*simAttn)
	if !ok {
		panic("tensor: sim FusedAttentionBackward: state not from its FusedAttention")
	}
	do := b.h(dout).Contiguous()
	probs := s.p
	dp := MatmulT(do, s.v, false, true) // d(dropped probs)
	if s.drop != nil {
		probs = Mul(s.p, s.drop)
		dp = Mul(dp, s.drop)
	}
	// dS = P ∘ (dP − Σ_j P∘dP)
	ds := Mul(s.p, Sub(dp, Sum(Mul(s.p, dp), -1, true)))
	dqh := MulScalar(Matmul(ds, s.k), s.scale)
	dkh := MulScalar(MatmulT(ds, s.q, true, false), s.scale)
	dvh := MatmulT(probs, do, true, false)
	sk := s.shapeK
	ungroup := func(x *Tensor) *Tensor { // [B, H, Lk, D] → [B, Hkv, Lk, D], summed over each group
		return Sum(x.Reshape(sk[0], sk[1], x.shape[1]/sk[1], sk[2], sk[3]), 2, false)
	}
	return b.adopt(dqh), b.adopt(ungroup(dkh)), b.adopt(ungroup(dvh))
}

// simProfile totals the wall time of each backend method (the sim's
// "kernels") while profiling.
type simProfile struct {
	mu sync.Mutex
	by map[string]*KernelTime
}

// span starts timing one backend call named name; the returned func ends
// it (nothing happens when the sim is not profiling).
func (b *simBackend) span(name string) func() {
	p := b.prof.Load()
	if p == nil {
		return func() {}
	}
	t0 := time.Now()
	return func() {
		d := time.Since(t0).Seconds()
		p.mu.Lock()
		k := p.by[name]
		if k == nil {
			k = &KernelTime{Name: name}
			p.by[name] = k
		}
		k.Count++
		k.Seconds += d
		p.mu.Unlock()
	}
}

// matmulName names a Matmul in the profile by its precision.
func (b *simBackend) matmulName() string {
	if b.mixed.Load() {
		return "Matmul.bf16"
	}
	return "Matmul"
}

// StartProfile starts timing every backend call (wall clock: the sim is
// synchronous).
func (b *simBackend) StartProfile() error {
	if !b.prof.CompareAndSwap(nil, &simProfile{by: map[string]*KernelTime{}}) {
		return fmt.Errorf("tensor: %s is profiling already", b.dev)
	}
	return nil
}

// StopProfile returns the time of each backend method, the largest first.
func (b *simBackend) StopProfile() ([]KernelTime, error) {
	p := b.prof.Swap(nil)
	if p == nil {
		return nil, fmt.Errorf("tensor: %s is not profiling", b.dev)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]KernelTime, 0, len(p.by))
	for _, k := range p.by {
		out = append(out, *k)
	}
	SortKernelTimes(out)
	return out, nil
}
