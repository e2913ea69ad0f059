package cuda

// The choice between the two fused-attention implementations (no cgo, no build
// tag: tested in the default build by attnpath_test.go).

import (
	"fmt"
	"sort"
)

// AttnPath selects the fused-attention implementation (Attention.Path): the
// forward, and the main backward kernel at D = 64 (D = 128's backward is
// mma.sync on every path). Both forwards write the same O and lse, so
// either feeds either backward.
type AttnPath int

// The fused-attention paths.
const (
	AttnAuto  AttnPath = iota // the sm_90a kernels when the device has them (Device.CheckAttn90), else mma.sync
	AttnMMA                   // kernels/attention.cu (mma.sync, cp.async): every GPU from sm_80
	AttnWGMMA                 // kernels/attention90.cu (wgmma): compute capability 9.0 with its kernels loaded
)

// String returns "auto", "mma" or "wgmma".
func (p AttnPath) String() string {
	switch p {
	case AttnAuto:
		return "auto"
	case AttnMMA:
		return "mma"
	case AttnWGMMA:
		return "wgmma"
	}
	return fmt.Sprintf("AttnPath(%d)", int(p))
}

// Shared memory of the sm_90a kernels (dynamic; above 48 KiB Launch opts
// in): kernels/attention90.cu's ABI.
const (
	attn90SharedD64    = 50176
	attn90SharedD128   = 99328
	attn90SharedBwdD64 = 58368
)

// attnFwdGeometry returns the forward's query rows per block and threads
// per block on path p: 64 and 128 for the mma.sync kernels (4 warps of 16
// rows), 128 and 256 for the sm_90a ones (two warpgroups of 64 rows sharing
// each K/V tile).
func attnFwdGeometry(p AttnPath) (rows, threads int) {
	if p == AttnWGMMA {
		return 128, 256
	}
	return 64, 128
}

// attnSuffix is the type suffix of the attention kernels writing out:
// "bf16f32" for F32, else "bf16".
func attnSuffix(out DType) string {
	if out == F32 {
		return "bf16f32"
	}
	return "bf16"
}

// attnFwdKernel returns the forward kernel's name on path p (AttnWGMMA:
// ragr_attn90_fwd_*, any other: ragr_attn_fwd_*) for head dimension d and
// output type out.
func attnFwdKernel(p AttnPath, d int, out DType) string {
	family := "attn"
	if p == AttnWGMMA {
		family = "attn90"
	}
	return kname(family, "fwd", fmt.Sprintf("d%d", d), attnSuffix(out))
}

// attnFwdShared returns the dynamic shared memory (bytes) the forward on
// path p takes at head dimension d: 0 for the mma.sync kernels (static
// shared memory only), attn90SharedD64 or attn90SharedD128 for sm_90a.
func attnFwdShared(p AttnPath, d int) int {
	if p != AttnWGMMA {
		return 0
	}
	if d == 128 {
		return attn90SharedD128
	}
	return attn90SharedD64
}

// attnBwdKernel returns the main backward kernel's name on path p:
// ragr_attn90_bwd_d64_* for AttnWGMMA at D = 64, ragr_attn_bwd_d*_*
// otherwise.
func attnBwdKernel(p AttnPath, d int, out DType) string {
	if p == AttnWGMMA && d == 64 {
		return kname("attn90", "bwd", "d64", attnSuffix(out))
	}
	return kname("attn", "bwd", fmt.Sprintf("d%d", d), attnSuffix(out))
}

// attnBwdShared returns the dynamic shared memory the main backward kernel
// on path p takes at head dimension d.
func attnBwdShared(p AttnPath, d int) int {
	if p == AttnWGMMA && d == 64 {
		return attn90SharedBwdD64
	}
	return 0
}

// attn90Kernels lists every kernel of the sm_90a attention ABI, sorted.
func attn90Kernels() []string {
	var ks []string
	for _, d := range []int{64, 128} {
		for _, out := range []DType{BF16, F32} {
			ks = append(ks, attnFwdKernel(AttnWGMMA, d, out))
		}
	}
	for _, out := range []DType{BF16, F32} {
		ks = append(ks, attnBwdKernel(AttnWGMMA, 64, out))
	}
	sort.Strings(ks)
	return ks
}

// resolveAttnPath returns the forward path p resolves to on a device where
// avail says why the sm_90a forward cannot run (nil: it can): AttnAuto
// becomes AttnMMA — on an H200 (session 6) the mma.sync kernels were the
// faster ones in every run (D = 64: forward 38.4-38.9 µs against
// 39.7-40.7, backward 181-183 against 194-195, causal 33 against 39.5 and
// 134 against 141; D = 128 equal); AttnWGMMA where it cannot run, or an
// unknown path, is an error (avail's message, or the path's number).
func resolveAttnPath(p AttnPath, avail error) (AttnPath, error) {
	switch p {
	case AttnAuto:
		return AttnMMA, nil
	case AttnMMA:
		return AttnMMA, nil
	case AttnWGMMA:
		if avail != nil {
			return p, fmt.Errorf("the sm_90a attention kernels cannot run: %w", avail)
		}
		return AttnWGMMA, nil
	}
	return p, fmt.Errorf("unknown attention path %d (auto, mma, wgmma)", int(p))
}
