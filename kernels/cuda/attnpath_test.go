package cuda

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestAttnFwdKernel: the kernel names and shared memory of both paths'
// forward and main backward kernels (kernels/attention.cu and
// kernels/attention90.cu's ABI).
func TestAttnFwdKernel(t *testing.T) {
	cases := []struct {
		p      AttnPath
		d      int
		out    DType
		name   string
		shared int
	}{
		{AttnAuto, 64, BF16, "ragr_attn_fwd_d64_bf16", 0},
		{AttnMMA, 128, F32, "ragr_attn_fwd_d128_bf16f32", 0},
		{AttnWGMMA, 64, BF16, "ragr_attn90_fwd_d64_bf16", 50176},
		{AttnWGMMA, 64, F32, "ragr_attn90_fwd_d64_bf16f32", 50176},
		{AttnWGMMA, 128, BF16, "ragr_attn90_fwd_d128_bf16", 99328},
		{AttnWGMMA, 128, F32, "ragr_attn90_fwd_d128_bf16f32", 99328},
	}
	for _, c := range cases {
		if got := attnFwdKernel(c.p, c.d, c.out); got != c.name {
			t.Errorf("attnFwdKernel(%v, %d, %v) = %s, want %s", c.p, c.d, c.out, got, c.name)
		}
		if got := attnFwdShared(c.p, c.d); got != c.shared {
			t.Errorf("attnFwdShared(%v, %d) = %d, want %d", c.p, c.d, got, c.shared)
		}
	}
	bwd := []struct {
		p      AttnPath
		d      int
		out    DType
		name   string
		shared int
	}{
		{AttnAuto, 64, BF16, "ragr_attn_bwd_d64_bf16", 0},
		{AttnMMA, 64, F32, "ragr_attn_bwd_d64_bf16f32", 0},
		{AttnWGMMA, 64, BF16, "ragr_attn90_bwd_d64_bf16", 58368},
		{AttnWGMMA, 64, F32, "ragr_attn90_bwd_d64_bf16f32", 58368},
		{AttnWGMMA, 128, BF16, "ragr_attn_bwd_d128_bf16", 0}, // D = 128: mma.sync on every path
	}
	for _, c := range bwd {
		if got := attnBwdKernel(c.p, c.d, c.out); got != c.name {
			t.Errorf("attnBwdKernel(%v, %d, %v) = %s, want %s", c.p, c.d, c.out, got, c.name)
		}
		if got := attnBwdShared(c.p, c.d); got != c.shared {
			t.Errorf("attnBwdShared(%v, %d) = %d, want %d", c.p, c.d, got, c.shared)
		}
	}
	for p, want := range map[AttnPath][2]int{AttnMMA: {64, 128}, AttnAuto: {64, 128}, AttnWGMMA: {128, 256}} {
		if r, th := attnFwdGeometry(p); r != want[0] || th != want[1] {
			t.Errorf("attnFwdGeometry(%v) = %d rows, %d threads; want %v", p, r, th, want)
		}
	}
	want := []string{"ragr_attn90_bwd_d64_bf16", "ragr_attn90_bwd_d64_bf16f32", "ragr_attn90_fwd_d128_bf16", "ragr_attn90_fwd_d128_bf16f32", "ragr_attn90_fwd_d64_bf16", "ragr_attn90_fwd_d64_bf16f32"}
	if got := attn90Kernels(); !reflect.DeepEqual(got, want) {
		t.Errorf("attn90Kernels() = %v, want %v", got, want)
	}
	for p, s := range map[AttnPath]string{AttnAuto: "auto", AttnMMA: "mma", AttnWGMMA: "wgmma", 7: "AttnPath(7)"} {
		if p.String() != s {
			t.Errorf("AttnPath(%d).String() = %q, want %q", int(p), p.String(), s)
		}
	}
}

// TestResolveAttnPath: auto takes the sm_90a forward exactly when it is
// available; forcing it where it is not is an error carrying the reason.
func TestResolveAttnPath(t *testing.T) {
	off := errors.New("the sm_90a attention kernels need compute capability 9.0 (this device is sm_80)")
	cases := []struct {
		p     AttnPath
		avail error
		want  AttnPath
		err   string
	}{
		{AttnAuto, nil, AttnMMA, ""}, // the measured-faster kernels (session 6, H200)
		{AttnAuto, off, AttnMMA, ""},
		{AttnMMA, nil, AttnMMA, ""},
		{AttnMMA, off, AttnMMA, ""},
		{AttnWGMMA, nil, AttnWGMMA, ""},
		{AttnWGMMA, off, 0, "the sm_90a attention kernels cannot run: the sm_90a attention kernels need compute capability 9.0"},
		{AttnPath(3), nil, 0, "unknown attention path 3"},
		{AttnPath(-1), off, 0, "unknown attention path -1"},
	}
	for _, c := range cases {
		got, err := resolveAttnPath(c.p, c.avail)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("resolveAttnPath(%v, %v): error %v, want one containing %q", c.p, c.avail, err, c.err)
			}
			if c.avail != nil && c.p == AttnWGMMA && !errors.Is(err, c.avail) {
				t.Errorf("resolveAttnPath(%v, %v): error %v does not wrap the reason", c.p, c.avail, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("resolveAttnPath(%v, %v) = %v, %v; want %v", c.p, c.avail, got, err, c.want)
		}
	}
}
