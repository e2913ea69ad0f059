//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// attnCase is one fused-attention test.
type attnCase struct {
	b, hq, hkv, sq, sk, d int
	causal                bool
	kvLen                 []int32 // per batch; nil: none
	maskFrac              float64 // > 0: a [B, Sk] key mask hiding about this fraction
	out                   DType
	fused                 bool    // Q, K, V are views of one [B, S, 3, H, D] buffer
	drop                  float64 // attention-probability dropout (the key is dropKeyOf)
}

// dropKeyOf is a case's dropout key (any fixed value per case).
func dropKeyOf(c attnCase) uint64 { return 0x5eed0000 + uint64(c.sq)*977 + uint64(c.sk) }

// dropFactor returns the dropout factor of P element i [B, Hq, Sq, Sk]: 0
// or float32(1/(1-p)), the twin of tensor.DropoutKept / DropoutThreshold
// (kernels/cuda sits below tensor, so the definition is restated here; the
// tensor package tests its mask against DropoutKept, and models/bert's CUDA
// test compares the fused kernels with the composite path).
func dropFactor(p float64, key uint64, i int64) float64 {
	if p == 0 {
		return 1
	}
	const gamma = 0x9e3779b97f4a7c15
	z := key + (uint64(i)/2+1)*gamma
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if i%2 == 1 {
		z >>= 32
	}
	if z&0xffffffff < uint64(math.Round(p*(1<<32))) {
		return 0
	}
	return float64(float32(1 / (1 - p)))
}

func (c attnCase) String() string {
	return fmt.Sprintf("b%d_hq%d_hkv%d_sq%d_sk%d_d%d_causal%v_len%v_mask%g_%v_fused%v_drop%g",
		c.b, c.hq, c.hkv, c.sq, c.sk, c.d, c.causal, c.kvLen != nil, c.maskFrac, c.out, c.fused, c.drop)
}

var attnCases = []attnCase{
	{b: 1, hq: 1, hkv: 1, sq: 1, sk: 1, d: 64, out: F32},
	{b: 2, hq: 4, hkv: 2, sq: 17, sk: 33, d: 64, kvLen: []int32{33, 5}, out: F32},
	{b: 2, hq: 2, hkv: 1, sq: 100, sk: 100, d: 128, causal: true, kvLen: []int32{100, 77}, maskFrac: 0.2, out: F32},
	{b: 2, hq: 3, hkv: 3, sq: 130, sk: 65, d: 64, kvLen: []int32{0, 65}, maskFrac: 0.3, out: BF16},
	{b: 1, hq: 6, hkv: 2, sq: 129, sk: 129, d: 128, causal: true, out: BF16},
	{b: 2, hq: 2, hkv: 2, sq: 70, sk: 70, d: 64, causal: true, out: BF16, fused: true},
	{b: 1, hq: 2, hkv: 2, sq: 64, sk: 200, d: 128, maskFrac: 0.5, out: F32, fused: false},
	// attention-probability dropout: GQA, key lengths and masks, causal,
	// odd lengths (mask element pairs straddle rows), fused QKV, D 64/128
	{b: 2, hq: 4, hkv: 2, sq: 33, sk: 71, d: 64, kvLen: []int32{71, 40}, maskFrac: 0.2, out: F32, drop: 0.1},
	{b: 1, hq: 2, hkv: 2, sq: 70, sk: 70, d: 64, causal: true, out: BF16, fused: true, drop: 0.3},
	{b: 1, hq: 2, hkv: 1, sq: 65, sk: 97, d: 128, causal: true, maskFrac: 0.1, out: F32, drop: 0.25},
}

// attnData is a case's host inputs (bf16-rounded, as float32) with the
// layout the device sees.
type attnData struct {
	q, k, v    []float32 // the buffers uploaded (q holds all three when fused)
	qs, ks, vs [3]int64  // strides
	koff, voff int       // element offsets of K and V in their buffers
	mask       []uint8
}

func (c attnCase) data(rng interface{ Float64() float64 }) attnData {
	var a attnData
	gen := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.Float64()*2 - 1)
		}
		roundTo(BF16, x)
		return x
	}
	if c.fused {
		h := int64(c.hq) * int64(c.d)
		a.q = gen(c.b * c.sq * 3 * c.hq * c.d)
		st := [3]int64{int64(c.sq) * 3 * h, 3 * h, int64(c.d)}
		a.qs, a.ks, a.vs = st, st, st
		a.koff, a.voff = int(h), int(2*h)
	} else {
		a.q = gen(c.b * c.sq * c.hq * c.d)
		a.k = gen(c.b * c.sk * c.hkv * c.d)
		a.v = gen(c.b * c.sk * c.hkv * c.d)
		a.qs = [3]int64{int64(c.sq * c.hq * c.d), int64(c.hq * c.d), int64(c.d)}
		a.ks = [3]int64{int64(c.sk * c.hkv * c.d), int64(c.hkv * c.d), int64(c.d)}
		a.vs = a.ks
	}
	if c.maskFrac > 0 {
		a.mask = make([]uint8, c.b*c.sk)
		for i := range a.mask {
			if rng.Float64() >= c.maskFrac {
				a.mask[i] = 1
			}
		}
	}
	return a
}

func (a *attnData) kbuf() []float32 {
	if a.k == nil {
		return a.q
	}
	return a.k
}

func (a *attnData) vbuf() []float32 {
	if a.v == nil {
		return a.q
	}
	return a.v
}

// visible reports whether query i of batch b sees key j.
func (c attnCase) visible(a *attnData, b, i, j int) bool {
	if c.kvLen != nil && j >= int(c.kvLen[b]) {
		return false
	}
	if a.mask != nil && a.mask[b*c.sk+j] == 0 {
		return false
	}
	return !(c.causal && j > i)
}

// refAttention is the plain float64 forward and backward: O and lse, and
// given dO, the analytic dQ, dK, dV (dK, dV summed over each query-head
// group). Layouts: O/dO/dQ [B, Sq, Hq, D], dK/dV [B, Sk, Hkv, D], lse [B, Hq, Sq].
func refAttention(c attnCase, a *attnData, scale float64, dO []float64) (o, lse, dq, dk, dv []float64) {
	D, G := c.d, c.hq/c.hkv
	kb, vb := a.kbuf(), a.vbuf()
	qAt := func(b, s, h int) []float32 {
		i := int64(b)*a.qs[0] + int64(s)*a.qs[1] + int64(h)*a.qs[2]
		return a.q[i : i+int64(D)]
	}
	kAt := func(b, s, h int) []float32 {
		i := int64(a.koff) + int64(b)*a.ks[0] + int64(s)*a.ks[1] + int64(h)*a.ks[2]
		return kb[i : i+int64(D)]
	}
	vAt := func(b, s, h int) []float32 {
		i := int64(a.voff) + int64(b)*a.vs[0] + int64(s)*a.vs[1] + int64(h)*a.vs[2]
		return vb[i : i+int64(D)]
	}
	o = make([]float64, c.b*c.sq*c.hq*D)
	lse = make([]float64, c.b*c.hq*c.sq)
	dq = make([]float64, len(o))
	dk = make([]float64, c.b*c.sk*c.hkv*D)
	dv = make([]float64, len(dk))
	p := make([]float64, c.sk)
	dp := make([]float64, c.sk)
	z := make([]float64, c.sk) // dropout factors of the row
	for b := 0; b < c.b; b++ {
		for h := 0; h < c.hq; h++ {
			hk := h / G
			for i := 0; i < c.sq; i++ {
				q := qAt(b, i, h)
				m := math.Inf(-1)
				for j := 0; j < c.sk; j++ {
					p[j] = math.Inf(-1)
					if !c.visible(a, b, i, j) {
						continue
					}
					k := kAt(b, j, hk)
					var s float64
					for x := 0; x < D; x++ {
						s += float64(q[x]) * float64(k[x])
					}
					p[j] = s * scale
					m = math.Max(m, p[j])
				}
				orow := o[((b*c.sq+i)*c.hq+h)*D:][:D]
				li := (b*c.hq+h)*c.sq + i
				if math.IsInf(m, -1) {
					lse[li] = math.Inf(1)
					continue // O row 0, no gradient
				}
				var l float64
				for j := 0; j < c.sk; j++ {
					p[j] = math.Exp(p[j] - m) // exp(-inf) = 0 for hidden keys
					l += p[j]
				}
				lse[li] = m + math.Log(l)
				for j := 0; j < c.sk; j++ {
					p[j] /= l
					z[j] = dropFactor(c.drop, dropKeyOf(c), int64(((b*c.hq+h)*c.sq+i)*c.sk+j))
					if p[j] == 0 {
						continue
					}
					v := vAt(b, j, hk)
					for x := 0; x < D; x++ {
						orow[x] += p[j] * z[j] * float64(v[x])
					}
				}
				if dO == nil {
					continue
				}
				do := dO[((b*c.sq+i)*c.hq+h)*D:][:D]
				var delta float64
				for x := 0; x < D; x++ {
					delta += do[x] * orow[x]
				}
				dqrow := dq[((b*c.sq+i)*c.hq+h)*D:][:D]
				for j := 0; j < c.sk; j++ {
					if p[j] == 0 {
						continue
					}
					v, k := vAt(b, j, hk), kAt(b, j, hk)
					dp[j] = 0
					for x := 0; x < D; x++ {
						dp[j] += do[x] * float64(v[x])
					}
					dp[j] *= z[j] // the gradient reaching P through the dropout
					ds := p[j] * (dp[j] - delta)
					dkrow := dk[((b*c.sk+j)*c.hkv+hk)*D:][:D]
					dvrow := dv[((b*c.sk+j)*c.hkv+hk)*D:][:D]
					for x := 0; x < D; x++ {
						dqrow[x] += scale * ds * float64(k[x])
						dkrow[x] += scale * ds * float64(q[x])
						dvrow[x] += p[j] * z[j] * do[x]
					}
				}
			}
		}
	}
	return
}

// attnOut reads a device output of type dt as float32.
func attnOut(t *testing.T, o *devOut, dt DType) []float32 {
	t.Helper()
	if dt == F32 {
		return o.f32(t)
	}
	return toF32(BF16, o.u16(t))
}

// checkRelL2 fails t when got is not finite or its relative L2 error against
// want exceeds the bf16-operand level. Attention rounds P and dS to bf16 as
// the operand of its second product, so elementwise levels do not apply;
// the norm-wise bound uses tolBF16's relative part (2^-8) for the output.
func checkRelL2(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	checkRelL2Within(t, what, got, want, tolBF16.Rel)
}

// checkGradRelL2 is checkRelL2 for dQ, dK, dV: their path rounds to bf16
// twice (P, then dS = P∘(dP − delta)), so the bound is twice the output's
// (over random seeds the emulator measured up to 4.1e-3 against 2^-8).
func checkGradRelL2(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	checkRelL2Within(t, what, got, want, 2*tolBF16.Rel)
}

func checkRelL2Within(t *testing.T, what string, got []float32, want []float64, bound float64) {
	t.Helper()
	if i := allFinite(got); i >= 0 {
		t.Errorf("%s: element %d is %g", what, i, got[i])
		return
	}
	if e := testutil.RelL2(got, want); e > bound {
		t.Errorf("%s: relative L2 error %.3g > %.3g", what, e, bound)
	} else {
		t.Logf("%s: relative L2 error %.3g", what, e)
	}
}

// attnRun is one case on the device: its inputs uploaded, the Attention
// describing them (Path AttnAuto), dO, and the float64 reference.
type attnRun struct {
	c                                      attnCase
	at                                     Attention
	pdO                                    DevicePtr
	wantO, wantLSE, wantDQ, wantDK, wantDV []float64
}

// newAttnRun draws c's inputs and dO from rng, computes the reference and
// uploads everything.
func newAttnRun(t *testing.T, c attnCase, rng *rand.Rand) *attnRun {
	t.Helper()
	a := c.data(rng)
	scale := 1 / math.Sqrt(float64(c.d))
	dO := testutil.Uniform32(rng, c.b*c.sq*c.hq*c.d, -1, 1)
	if c.out == BF16 {
		roundTo(BF16, dO)
	}
	r := &attnRun{c: c}
	r.wantO, r.wantLSE, r.wantDQ, r.wantDK, r.wantDV = refAttention(c, &a, scale, testutil.To64(dO))

	up16 := func(x []float32) DevicePtr { return up(t, roundTo(BF16, append([]float32(nil), x...))) }
	pq := up16(a.q)
	pk, pv := pq, pq
	if !c.fused {
		pk, pv = up16(a.k), up16(a.v)
	}
	r.at = Attention{B: c.b, Hq: c.hq, Hkv: c.hkv, Sq: c.sq, Sk: c.sk, D: c.d,
		Q: pq, K: pk + DevicePtr(2*a.koff), V: pv + DevicePtr(2*a.voff),
		QStrides: a.qs, KStrides: a.ks, VStrides: a.vs, Causal: c.causal, Out: c.out,
		Dropout: c.drop, DropKey: dropKeyOf(c)}
	if c.kvLen != nil {
		r.at.KVLen = up(t, c.kvLen)
	}
	if a.mask != nil {
		r.at.KeyMask = up(t, a.mask)
	}
	if c.out == F32 {
		r.pdO = up(t, dO)
	} else {
		r.pdO = up16(dO)
	}
	return r
}

// forward runs the forward on path p into fresh poisoned outputs and
// returns them with O and lse read back.
func (r *attnRun) forward(t *testing.T, p AttnPath) (o, lse *devOut, gotO, gotLSE []float32) {
	t.Helper()
	c := r.c
	o, lse = out(t, c.b*c.sq*c.hq*c.d, c.out.Size()), out(t, c.b*c.hq*c.sq, 4)
	at := r.at
	at.Path = p
	must(t, dev.AttentionForward(at, o.ptr(), lse.ptr()))
	return o, lse, attnOut(t, o, c.out), lse.f32(t)
}

// checkForward compares O and lse with the reference (O norm-wise at the
// bf16-operand level, lse at F32Accum); a query that sees no key must have
// O = 0 exactly (lse = +inf is in the reference).
func (r *attnRun) checkForward(t *testing.T, gotO, gotLSE []float32) {
	t.Helper()
	c := r.c
	checkRelL2(t, "O", gotO, r.wantO)
	testutil.AssertClose(t, "lse", gotLSE, r.wantLSE, tolF32Accum)
	for i, l := range r.wantLSE {
		if !math.IsInf(l, 1) {
			continue
		}
		b, rem := i/(c.hq*c.sq), i%(c.hq*c.sq)
		h, q := rem/c.sq, rem%c.sq
		for x := 0; x < c.d; x++ {
			if v := gotO[((b*c.sq+q)*c.hq+h)*c.d+x]; v != 0 {
				t.Fatalf("query (b %d, h %d, i %d) sees no key but O[%d] = %g", b, h, q, x, v)
			}
		}
	}
}

// backward runs the backward on path p on the forward's O and lse and
// compares dQ, dK, dV with the reference.
func (r *attnRun) backward(t *testing.T, p AttnPath, o, lse *devOut) {
	t.Helper()
	at := r.at
	at.Path = p
	c := r.c
	es := c.out.Size()
	nO, nK := c.b*c.sq*c.hq*c.d, c.b*c.sk*c.hkv*c.d
	dq, dk, dv := out(t, nO, es), out(t, nK, es), out(t, nK, es)
	must(t, dev.AttentionBackward(at, o.ptr(), r.pdO, lse.ptr(), dq.ptr(), dk.ptr(), dv.ptr()))
	checkGradRelL2(t, "dQ", attnOut(t, dq, c.out), r.wantDQ)
	checkGradRelL2(t, "dK", attnOut(t, dk, c.out), r.wantDK)
	checkGradRelL2(t, "dV", attnOut(t, dv, c.out), r.wantDV)
}

// TestAttention runs the mma.sync forward and backward (Path AttnMMA)
// on every case and compares O, lse, dQ, dK, dV with refAttention on the
// same bf16 inputs. Queries that see no key must give O = 0 exactly and
// lse = +inf.
func TestAttention(t *testing.T) {
	rng := newRand(21)
	for _, c := range attnCases {
		t.Run(c.String(), func(t *testing.T) {
			r := newAttnRun(t, c, rng)
			o, lse, gotO, gotLSE := r.forward(t, AttnMMA)
			r.checkForward(t, gotO, gotLSE)
			r.backward(t, AttnMMA, o, lse)
		})
	}
}

// skipWithoutAttn90 skips the test, saying why, when the device cannot run
// the sm_90a attention forward (scripts/gpu-run.sh fails its attention
// stage when this skip appears on a 9.0 GPU with sm_90a sources).
func skipWithoutAttn90(t *testing.T) {
	t.Helper()
	if err := dev.CheckAttn90(); err != nil {
		t.Skipf("attention90 (sm_90a) kernels unavailable on %v: %v", dev, err)
	}
}

// TestAttention90 forces the sm_90a forward (Path AttnWGMMA) on
// TestAttention's cases and checks it as TestAttention checks the mma.sync
// one, then runs the (mma.sync) backward on its O and lse: both forwards
// must write the lse the backward reads.
func TestAttention90(t *testing.T) {
	skipWithoutAttn90(t)
	rng := newRand(21)
	for _, c := range attnCases {
		t.Run(c.String(), func(t *testing.T) {
			r := newAttnRun(t, c, rng)
			o, lse, gotO, gotLSE := r.forward(t, AttnWGMMA)
			r.checkForward(t, gotO, gotLSE)
			r.backward(t, AttnWGMMA, o, lse) // the sm_90a backward at D = 64, mma.sync at 128
		})
	}
}

// TestAttention90MatchesMMA runs both forwards on the same inputs: O within
// the bf16-operand level norm-wise of the mma.sync kernel's O, lse within
// F32Accum of its lse (+inf where it is +inf), bf16 outputs and fp32 ones,
// D 64 and 128, masks, causal and GQA (TestAttention's cases).
func TestAttention90MatchesMMA(t *testing.T) {
	skipWithoutAttn90(t)
	rng := newRand(23)
	for _, c := range attnCases {
		t.Run(c.String(), func(t *testing.T) {
			r := newAttnRun(t, c, rng)
			_, _, mmaO, mmaLSE := r.forward(t, AttnMMA)
			_, _, o90, lse90 := r.forward(t, AttnWGMMA)
			checkRelL2(t, "O (wgmma vs mma)", o90, testutil.To64(mmaO))
			testutil.AssertClose(t, "lse (wgmma vs mma)", lse90, testutil.To64(mmaLSE), tolF32Accum)
		})
	}
}

// TestAttentionAutoPath: Path AttnAuto resolves to the mma.sync kernels
// (measured faster than the sm_90a ones on an H200) whether or not the
// device has the sm_90a ones, and ResolveAttention names the kernel
// AttentionForward launches; forcing AttnWGMMA where it cannot run, or an
// unknown path, is an error naming the kernel and the reason.
func TestAttentionAutoPath(t *testing.T) {
	p := DevicePtr(1 << 20) // aligned, never dereferenced
	a := Attention{B: 2, Hq: 4, Hkv: 2, Sq: 100, Sk: 100, D: 128, Q: p, K: p, V: p, Out: F32}
	r, err := dev.ResolveAttention(a)
	must(t, err)
	want, wantName := AttnMMA, "ragr_attn_fwd_d128_bf16f32"
	if r.Path != want || r.FwdKernel() != wantName {
		t.Errorf("auto on %v (CheckAttn90: %v): path %v kernel %s, want %v %s", dev, dev.CheckAttn90(), r.Path, r.FwdKernel(), want, wantName)
	}
	if r.BwdKernel() != "ragr_attn_bwd_d128_bf16f32" {
		t.Errorf("backward kernel %s, want the mma.sync ragr_attn_bwd_d128_bf16f32 (D = 128)", r.BwdKernel())
	}
	a64 := a
	a64.D = 64
	r64, err := dev.ResolveAttention(a64)
	must(t, err)
	wantBwd := "ragr_attn_bwd_d64_bf16f32"
	if r64.BwdKernel() != wantBwd {
		t.Errorf("backward kernel at D = 64: %s, want %s", r64.BwdKernel(), wantBwd)
	}
	a.Path = AttnMMA
	if r, err := dev.ResolveAttention(a); err != nil || r.Path != AttnMMA || r.FwdKernel() != "ragr_attn_fwd_d128_bf16f32" {
		t.Errorf("forced mma: path %v kernel %s, error %v", r.Path, r.FwdKernel(), err)
	}
	a.Path = AttnWGMMA
	_, err = dev.ResolveAttention(a)
	if why := dev.CheckAttn90(); why != nil {
		if err == nil || !strings.Contains(err.Error(), "ragr_attn90_fwd_d128_bf16f32") || !strings.Contains(err.Error(), why.Error()) {
			t.Errorf("forced wgmma without it: error %v, want one naming ragr_attn90_fwd_d128_bf16f32 and %q", err, why)
		}
		if err := dev.AttentionForward(a, p, p); err == nil {
			t.Error("AttentionForward with a forced, impossible wgmma path: no error")
		}
	} else if err != nil {
		t.Errorf("forced wgmma on a device that has it: %v", err)
	}
	a.Path = 9
	if _, err := dev.ResolveAttention(a); err == nil || !strings.Contains(err.Error(), "unknown attention path 9") {
		t.Errorf("path 9: error %v", err)
	}
}

// TestAttentionDeterministicForward: the forwards have no atomics, so two
// runs give identical bits (the mma.sync kernel, and the sm_90a one when
// the device has it).
func TestAttentionDeterministicForward(t *testing.T) {
	rng := newRand(22)
	c := attnCase{b: 2, hq: 4, hkv: 1, sq: 77, sk: 150, d: 64, causal: true, out: BF16}
	a := c.data(rng)
	pq, pk, pv := up(t, roundTo(BF16, a.q)), up(t, roundTo(BF16, a.k)), up(t, roundTo(BF16, a.v))
	at := Attention{B: c.b, Hq: c.hq, Hkv: c.hkv, Sq: c.sq, Sk: c.sk, D: c.d, Q: pq, K: pk, V: pv, Causal: true, Out: BF16}
	n := c.b * c.sq * c.hq * c.d
	paths := []AttnPath{AttnMMA}
	if dev.CheckAttn90() == nil {
		paths = append(paths, AttnWGMMA)
	}
	for _, p := range paths {
		at.Path = p
		o1, o2, lse := out(t, n, 2), out(t, n, 2), out(t, c.b*c.hq*c.sq, 4)
		must(t, dev.AttentionForward(at, o1.ptr(), lse.ptr()))
		must(t, dev.AttentionForward(at, o2.ptr(), lse.ptr()))
		g1, g2 := o1.u16(t), o2.u16(t)
		for i := range g1 {
			if g1[i] != g2[i] {
				t.Fatalf("%s: element %d differs between two runs: %#x vs %#x", at.FwdKernel(), i, g1[i], g2[i])
			}
		}
	}
}

// TestAttentionErrors: unsupported shapes are errors before launch, naming
// the kernel (on the mma.sync path, and on the sm_90a one when the device
// has it).
func TestAttentionErrors(t *testing.T) {
	p := DevicePtr(1 << 20) // aligned, never dereferenced
	base := Attention{B: 1, Hq: 4, Hkv: 2, Sq: 8, Sk: 8, D: 64, Q: p, K: p, V: p, Out: BF16}
	cases := map[string]func(a *Attention){
		"head dim 96":      func(a *Attention) { a.D = 96 },
		"group":            func(a *Attention) { a.Hkv = 3 },
		"negative":         func(a *Attention) { a.Sq = -1 },
		"stride":           func(a *Attention) { a.QStrides = [3]int64{1000, 100, 3} },
		"misaligned":       func(a *Attention) { a.K = p + 2 },
		"out f16":          func(a *Attention) { a.Out = F16 },
		"scale":            func(a *Attention) { a.Scale = float32(math.Inf(1)) },
		"no kv heads":      func(a *Attention) { a.Hkv = 0 },
		"null Q":           func(a *Attention) { a.Q = 0 },
		"too many batches": func(a *Attention) { a.B = 70000 },
		"dropout 1":        func(a *Attention) { a.Dropout = 1 },
		"dropout NaN":      func(a *Attention) { a.Dropout = math.NaN() },
	}
	fwd := map[AttnPath]string{AttnMMA: "ragr_attn_fwd"}
	if dev.CheckAttn90() == nil {
		fwd[AttnWGMMA] = "ragr_attn90_fwd"
	}
	for path, kernel := range fwd {
		for name, mod := range cases {
			a := base
			a.Path = path
			mod(&a)
			err := dev.AttentionForward(a, p, p)
			if err == nil {
				t.Errorf("%s (%v): forward: no error", name, path)
			} else if !strings.Contains(err.Error(), kernel) {
				t.Errorf("%s (%v): forward error %q does not name the kernel %s", name, path, err, kernel)
			}
			err = dev.AttentionBackward(a, p, p, p, p, p, p)
			if err == nil {
				t.Errorf("%s (%v): backward: no error", name, path)
			} else if !strings.Contains(err.Error(), "ragr_attn_bwd") && !strings.Contains(err.Error(), "ragr_attn90_bwd") {
				t.Errorf("%s (%v): backward error %q does not name a backward kernel", name, path, err)
			}
		}
	}
}
