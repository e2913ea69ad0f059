//go:build cuda

package cuda

import "fmt"

// attnBenchCase is one attention row pair (forward and backward).
type attnBenchCase struct {
	b, h, s, d int
	causal     bool
}

// BenchAttention times the fused attention rows of `ragr bench kernels` on
// d: forward and backward at B=8, H=12, S=512, D=64 (BERT-base, 8×512
// tokens), bf16 in and out, no mask, then the same with the causal mask and
// at D=128 (quick: the first forward/backward pair only). The forward rows
// run the mma.sync kernels (Path AttnMMA); when d.CheckAttn90() is nil, each
// pair is followed by the sm_90a forward (AttnWGMMA) and, at D = 64, its
// backward on the same inputs, with the same PyTorch specs. The backward row times the whole backward (delta/zero,
// main kernel, dQ conversion). Its PyTorch counterpart is
// F.scaled_dot_product_attention on [B, S, H, D] tensors viewed as
// [B, H, S, D].
func BenchAttention(d *Device, quick bool) ([]BenchRow, error) {
	cs := []attnBenchCase{{8, 12, 512, 64, false}, {8, 12, 512, 64, true}, {4, 16, 1024, 128, false}}
	if quick {
		cs = cs[:1]
	}
	var rows []BenchRow
	for i, c := range cs {
		r, err := benchAttnCase(d, c, uint64(100+i), d.CheckAttn90() == nil)
		rows = append(rows, r...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// benchAttnCase times c's forward and backward rows (mma.sync, then sm_90a
// when wgmma).
func benchAttnCase(d *Device, c attnBenchCase, seed uint64, wgmma bool) ([]BenchRow, error) {
	n := c.b * c.s * c.h * c.d
	var bufs []*Buffer
	defer func() {
		for _, b := range bufs {
			b.Free()
		}
	}()
	ptrs := make([]DevicePtr, 8) // q k v o do dq dk dv
	for i := range ptrs {
		b, err := randomDevice(d, BF16, n, seed*16+uint64(i))
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, b)
		ptrs[i] = b.Ptr()
	}
	lse, err := d.Alloc(int64(c.b*c.h*c.s) * 4)
	if err != nil {
		return nil, err
	}
	bufs = append(bufs, lse)
	a := Attention{B: c.b, Hq: c.h, Hkv: c.h, Sq: c.s, Sk: c.s, D: c.d, Q: ptrs[0], K: ptrs[1], V: ptrs[2], Causal: c.causal, Out: BF16, Path: AttnMMA}
	shape := fmt.Sprintf("B=%d H=%d S=%d D=%d", c.b, c.h, c.s, c.d)
	causal := 0
	if c.causal {
		shape += " causal"
		causal = 1
	}
	torch := fmt.Sprintf("%d:%d:%d:%d:%d", c.b, c.h, c.s, c.d, causal)
	fwd, err := d.Time(3, benchReps, func() error { return d.AttentionForward(a, ptrs[3], lse.Ptr()) })
	if err != nil {
		return nil, err
	}
	// The backward reads the forward's O and lse (already computed above).
	bwd, err := d.Time(3, benchReps, func() error {
		return d.AttentionBackward(a, ptrs[3], ptrs[4], lse.Ptr(), ptrs[5], ptrs[6], ptrs[7])
	})
	if err != nil {
		return nil, err
	}
	io := float64(n) * 2
	fwdRow := BenchRow{Kernel: a.FwdKernel(), Shape: shape, Time: fwd, FLOPs: a.FLOPs(), Bytes: 4 * io, Torch: "sdpa_fwd:" + torch}
	bwdRow := BenchRow{Kernel: a.BwdKernel(), Shape: shape, Time: bwd, FLOPs: 2.5 * a.FLOPs(), Bytes: 8 * io, Torch: "sdpa_bwd:" + torch}
	if !wgmma {
		return []BenchRow{fwdRow, bwdRow}, nil
	}
	// The sm_90a forward (and backward at D = 64) on the same inputs, beside
	// the mma.sync ones.
	a90 := a
	a90.Path = AttnWGMMA
	fwd90, err := d.Time(3, benchReps, func() error { return d.AttentionForward(a90, ptrs[3], lse.Ptr()) })
	if err != nil {
		return []BenchRow{fwdRow, bwdRow}, err
	}
	row90 := BenchRow{Kernel: a90.FwdKernel(), Shape: shape, Time: fwd90, FLOPs: a90.FLOPs(), Bytes: 4 * io, Torch: "sdpa_fwd:" + torch}
	rows := []BenchRow{fwdRow, row90, bwdRow}
	if c.d == 64 {
		bwd90, err := d.Time(3, benchReps, func() error {
			return d.AttentionBackward(a90, ptrs[3], ptrs[4], lse.Ptr(), ptrs[5], ptrs[6], ptrs[7])
		})
		if err != nil {
			return rows, err
		}
		rows = append(rows, BenchRow{Kernel: a90.BwdKernel(), Shape: shape, Time: bwd90, FLOPs: 2.5 * a90.FLOPs(), Bytes: 8 * io, Torch: "sdpa_bwd:" + torch})
	}
	return rows, nil
}
