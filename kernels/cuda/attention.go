//go:build cuda

package cuda

import (
	"fmt"
	"math"
)

// Attention describes one fused scaled-dot-product attention (kernels/
// attention.cu). Q is [B, Sq, Hq, D], K and V are [B, Sk, Hkv, D], all bf16,
// addressed by (batch, sequence, head) strides in elements (the zero value of
// a stride triple means contiguous [B, S, H, D]); D is contiguous and 64 or
// 128. Hq must be a multiple of Hkv (grouped-query attention). O, dO, dQ are
// contiguous [B, Sq, Hq, D] and dK, dV contiguous [B, Sk, Hkv, D], of type
// Out (BF16 or F32); LSE is fp32 [B, Hq, Sq] (natural log).
//
// Key j is hidden from query i when j >= KVLen[b] (KVLen: int32 [B], 0 for
// none), when KeyMask[b·Sk + j] == 0 (KeyMask: uint8 [B, Sk], 0 for none), or,
// with Causal, when j > i (top-left aligned, as torch's is_causal). A query
// that sees no key gets O = 0 and LSE = +inf (torch gives NaN). Scale 0 means
// 1/sqrt(D).
//
// Path picks the implementation: AttnAuto (0) runs the mma.sync kernels
// (kernels/attention.cu), measured faster on an H200 than the sm_90a ones
// (kernels/attention90.cu: wgmma; Device.CheckAttn90 says whether they can
// run); AttnMMA and AttnWGMMA force one (forcing AttnWGMMA where it cannot run is
// an error saying why). Both take the same shapes and write the same O and
// LSE, dQ, dK, dV. The backward's main kernel follows Path at D = 64; at
// D = 128 it is always the mma.sync one. RAGR_ATTN90=0 in the environment
// (read at Open) turns the sm_90a kernels off.
type Attention struct {
	B, Hq, Hkv, Sq, Sk, D        int
	Q, K, V                      DevicePtr
	QStrides, KStrides, VStrides [3]int64
	KVLen, KeyMask               DevicePtr
	Causal                       bool
	Scale                        float32
	Out                          DType
	Path                         AttnPath
	// Dropout (0 <= Dropout < 1) drops attention weights after the softmax
	// and scales the kept ones by 1/(1-Dropout), with the mask of
	// tensor.DropoutMaskKey(DropKey, Dropout, B, Hq, Sq, Sk) over the
	// probabilities [B, Hq, Sq, Sk] — bit for bit the composite path's mask
	// for the same key. The backward must get the forward's Dropout and
	// DropKey. 0: none.
	Dropout float64
	DropKey uint64
}

// dropArgs returns the kernels' dropout arguments: the key, the threshold
// round(p·2³²) (0: no dropout) and the scale float32(1/(1-p)), computed as
// tensor.DropoutThreshold does.
func (a *Attention) dropArgs() (key, thr uint64, keep float32) {
	if a.Dropout == 0 {
		return 0, 0, 1
	}
	return a.DropKey, uint64(math.Round(a.Dropout * (1 << 32))), float32(1 / (1 - a.Dropout))
}

const (
	attnThreads = 128
	attnBlockK  = 64 // backward keys per block
)

// FwdKernel returns the forward kernel a's Path names: ragr_attn90_fwd_*
// for AttnWGMMA, ragr_attn_fwd_* otherwise. The choice AttentionForward
// makes on its device is not made here (AttnAuto names the mma.sync
// kernel); the Attention that Device.ResolveAttention returns names exactly
// the kernel AttentionForward launches.
func (a *Attention) FwdKernel() string {
	return attnFwdKernel(a.Path, a.D, a.Out)
}

// BwdKernel returns the main backward kernel a's Path names (as FwdKernel:
// resolve AttnAuto with Device.ResolveAttention first).
func (a *Attention) BwdKernel() string {
	return attnBwdKernel(a.Path, a.D, a.Out)
}

func (a *Attention) scale() float32 {
	if a.Scale == 0 {
		return float32(1 / math.Sqrt(float64(a.D)))
	}
	return a.Scale
}

func (a *Attention) strides() (q, k, v [3]int64) {
	def := func(s [3]int64, S, H int) [3]int64 {
		if s == ([3]int64{}) {
			return [3]int64{int64(S) * int64(H) * int64(a.D), int64(H) * int64(a.D), int64(a.D)}
		}
		return s
	}
	return def(a.QStrides, a.Sq, a.Hq), def(a.KStrides, a.Sk, a.Hkv), def(a.VStrides, a.Sk, a.Hkv)
}

// FLOPs returns the forward's matrix-product work, 4·B·Hq·Sq·Sk·D (halved
// when causal and Sq == Sk, as the usual accounting does); the backward does
// 2.5 times as much.
func (a *Attention) FLOPs() float64 {
	f := 4 * float64(a.B) * float64(a.Hq) * float64(a.Sq) * float64(a.Sk) * float64(a.D)
	if a.Causal && a.Sq == a.Sk {
		f /= 2
	}
	return f
}

// check returns an error naming kernel and the shape when a cannot run.
func (a *Attention) check(kernel string, ptrs ...DevicePtr) error {
	shape := fmt.Sprintf("B=%d Hq=%d Hkv=%d Sq=%d Sk=%d D=%d", a.B, a.Hq, a.Hkv, a.Sq, a.Sk, a.D)
	bad := func(why string) error { return fmt.Errorf("kernel %s: %s (%s)", kernel, why, shape) }
	switch {
	case a.D != 64 && a.D != 128:
		return bad("head dimension must be 64 or 128")
	case a.B < 0 || a.Sq < 0 || a.Sk < 0 || a.Hq < 1 || a.Hkv < 1:
		return bad("negative size or no heads")
	case a.Hq%a.Hkv != 0:
		return bad("Hq is not a multiple of Hkv")
	case a.Out != BF16 && a.Out != F32:
		return bad(fmt.Sprintf("output type %v not supported (bf16, f32)", a.Out))
	case !(a.Dropout >= 0 && a.Dropout < 1):
		return bad(fmt.Sprintf("dropout %g outside [0, 1)", a.Dropout))
	case a.B > maxGridYZ || a.Hq > maxGridYZ:
		return bad(fmt.Sprintf("B and Hq must be at most %d", maxGridYZ))
	case math.IsNaN(float64(a.Scale)) || math.IsInf(float64(a.Scale), 0):
		return bad("scale is not finite")
	}
	qs, ks, vs := a.strides()
	for _, s := range [][3]int64{qs, ks, vs} {
		for _, x := range s {
			if x < 0 || x%8 != 0 {
				return bad(fmt.Sprintf("strides %v must be non-negative multiples of 8 elements (make the view contiguous first)", s))
			}
		}
	}
	for _, p := range append([]DevicePtr{a.Q, a.K, a.V}, ptrs...) {
		if p == 0 || uint64(p)%16 != 0 {
			return bad("a tensor pointer is NULL or not 16-byte aligned")
		}
	}
	return nil
}

// ResolveAttention returns a with the forward path AttentionForward takes on
// d filled in (AttnMMA or AttnWGMMA), so that its FwdKernel is the kernel
// AttentionForward launches. The error is the one AttentionForward would
// return before launching, O and LSE aside (it does not see them): a forced
// AttnWGMMA the device cannot run, an unknown path, or a shape the kernel
// cannot take.
func (d *Device) ResolveAttention(a Attention) (Attention, error) {
	a, err := d.resolveAttnPath(a, a.FwdKernel)
	if err != nil {
		return a, err
	}
	return a, a.check(a.FwdKernel())
}

// resolveAttnPath fills in a.Path as the device takes it; an error names
// the kernel kernel() names (the forward's or the backward's).
func (d *Device) resolveAttnPath(a Attention, kernel func() string) (Attention, error) {
	p, err := resolveAttnPath(a.Path, d.CheckAttn90())
	if err != nil {
		return a, fmt.Errorf("kernel %s: %v (B=%d Hq=%d Hkv=%d Sq=%d Sk=%d D=%d)", kernel(), err, a.B, a.Hq, a.Hkv, a.Sq, a.Sk, a.D)
	}
	a.Path = p
	return a, nil
}

// AttentionForward computes O and LSE for a, on the path ResolveAttention
// picks. Nothing is launched when B or Sq is 0.
func (d *Device) AttentionForward(a Attention, O, LSE DevicePtr) error {
	a, err := d.ResolveAttention(a)
	if err != nil {
		return err
	}
	name := a.FwdKernel()
	if err := a.check(name, O, LSE); err != nil {
		return err
	}
	if a.B == 0 || a.Sq == 0 {
		return nil
	}
	qs, ks, vs := a.strides()
	dkey, dthr, dkeep := a.dropArgs()
	rows, threads := attnFwdGeometry(a.Path)
	grid := [3]int{(a.Sq + rows - 1) / rows, a.Hq, a.B}
	return d.Launch(name, grid, [3]int{threads, 1, 1}, attnFwdShared(a.Path, a.D),
		O, LSE, a.Q, a.K, a.V, a.KVLen, a.KeyMask,
		int32(a.B), int32(a.Hq), int32(a.Hkv), int32(a.Sq), int32(a.Sk),
		qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2],
		a.scale(), int32(b2i(a.Causal)), dkey, dthr, dkeep)
}

// AttentionBackward computes dQ, dK, dV from the forward's O and LSE and the
// output gradient dO (all as described on Attention). It allocates an fp32
// workspace of B·Sq·Hq·(D+1) elements from the device pool for the length of
// the call (returned to the pool before it returns; the stream orders reuse).
func (d *Device) AttentionBackward(a Attention, O, dO, LSE, dQ, dK, dV DevicePtr) error {
	a, err := d.resolveAttnPath(a, a.BwdKernel)
	if err != nil {
		return err
	}
	name := a.BwdKernel() // errors below name the backward kernel the path runs
	if err := a.check(name, O, dO, LSE, dQ, dK, dV); err != nil {
		return err
	}
	if a.B == 0 || (a.Sq == 0 && a.Sk == 0) {
		return nil
	}
	rows := int64(a.B) * int64(a.Sq) * int64(a.Hq)
	nq := rows * int64(a.D)
	ws, err := d.Alloc(4 * (nq + rows + 1))
	if err != nil {
		return fmt.Errorf("kernel %s: workspace: %w", name, err)
	}
	defer ws.Free()
	dqacc, delta := ws.Ptr(), ws.At(4*nq)
	suf := "bf16"
	if a.Out == F32 {
		suf = "f32"
	}
	if rows > 0 {
		g := Grid1D(rows, attnThreads/32, 1, 0) // one row per warp
		if err := d.Launch(kname("attn", "bwd", "pre", suf), [3]int{g, 1, 1}, [3]int{attnThreads, 1, 1}, 0,
			delta, dqacc, O, dO, int32(a.B), int32(a.Sq), int32(a.Hq), int32(a.D)); err != nil {
			return err
		}
	}
	if a.Sk > 0 {
		qs, ks, vs := a.strides()
		dkey, dthr, dkeep := a.dropArgs()
		grid := [3]int{(a.Sk + attnBlockK - 1) / attnBlockK, a.Hkv, a.B}
		if err := d.Launch(name, grid, [3]int{attnThreads, 1, 1}, attnBwdShared(a.Path, a.D),
			dK, dV, dqacc, a.Q, a.K, a.V, dO, LSE, delta, a.KVLen, a.KeyMask,
			int32(a.B), int32(a.Hq), int32(a.Hkv), int32(a.Sq), int32(a.Sk),
			qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2],
			a.scale(), int32(b2i(a.Causal)), dkey, dthr, dkeep); err != nil {
			return err
		}
	}
	if nq > 0 {
		return d.Launch(kname("attn", "bwd", "post", suf), [3]int{Grid1D(nq, 256, 1, d.maxGrid1D()), 1, 1}, [3]int{256, 1, 1}, 0,
			dQ, dqacc, nq, a.scale())
	}
	return nil
}
