package cuda

// No build tag: which modules a device loads, in the default build (no GPU).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/kernels"
)

// fakePTX is a minimal module text with the given target and kernels.
func fakePTX(target string, entries ...string) string {
	s := ".version 8.3\n.target " + target + "\n.address_size 64\n"
	for _, e := range entries {
		s += fmt.Sprintf(".visible .entry %s(\n\t.param .u64 %s_param_0\n)\n{\n\tret;\n}\n", e, e)
	}
	return s
}

func mustParse(t *testing.T, name, ptx string) kernels.Module {
	t.Helper()
	m, err := kernels.ParsePTX(name, ptx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestReadExtraPTX: files named in the list are parsed into modules named
// after the file; unreadable or unparseable files are errors naming them.
func TestReadExtraPTX(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "gemm90.ptx")
	if err := os.WriteFile(good, []byte(fakePTX("sm_90a", "ragr_gemm90_x", "ragr_gemm90_y")), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "broken.ptx")
	if err := os.WriteFile(bad, []byte("not ptx at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, err := readExtraPTX(" "+good+" ,,", os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name != "gemm90" || ms[0].Target != "sm_90a" || ms[0].source != good || len(ms[0].Entries) != 2 {
		t.Fatalf("modules %+v", ms)
	}
	if ms, err := readExtraPTX("", os.ReadFile); err != nil || len(ms) != 0 {
		t.Fatalf("empty list: %v, %v", ms, err)
	}
	for _, c := range []struct{ list, want string }{
		{good + "," + filepath.Join(dir, "missing.ptx"), "RAGR_EXTRA_PTX: reading " + filepath.Join(dir, "missing.ptx")},
		{bad, "RAGR_EXTRA_PTX: " + bad + ": module broken: no .target"},
	} {
		if _, err := readExtraPTX(c.list, os.ReadFile); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.list, err, c.want)
		}
	}
	boom := errors.New("boom")
	if _, err := readExtraPTX("x.ptx", func(string) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("read error not wrapped: %v", err)
	}
}

// TestPlanModules: sm_90a modules load on 9.0 only (embedded: skipped
// elsewhere; extra: an error elsewhere), compute_80 ones everywhere, and a
// kernel or module defined twice is an error naming both sources.
func TestPlanModules(t *testing.T) {
	gemm := mustParse(t, "gemm", fakePTX("sm_80", "ragr_gemm_a", "ragr_gemm_b"))
	g90 := mustParse(t, "gemm90", fakePTX("sm_90a", "ragr_gemm90_a"))
	extra90 := loadModule{Module: g90, source: "/tmp/gemm90.ptx"}
	names := func(ms []loadModule) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Name+"@"+m.source)
		}
		return strings.Join(s, " ")
	}
	cases := []struct {
		name         string
		embedded     []kernels.Module
		extra        []loadModule
		major, minor int
		load, skip   string // load: names@source; skip: skipped module names
		err          string
	}{
		{"embedded on H100", []kernels.Module{gemm, g90}, nil, 9, 0, "gemm@embedded gemm90@embedded", "", ""},
		{"embedded on A100", []kernels.Module{gemm, g90}, nil, 8, 0, "gemm@embedded", "gemm90", ""},
		{"embedded on Blackwell", []kernels.Module{gemm, g90}, nil, 10, 0, "gemm@embedded", "gemm90", ""},
		{"old GPU keeps sm_80 modules", []kernels.Module{gemm}, nil, 7, 5, "gemm@embedded", "", ""},
		{"extra on H100", []kernels.Module{gemm}, []loadModule{extra90}, 9, 0, "gemm@embedded gemm90@/tmp/gemm90.ptx", "", ""},
		{"extra on A100", []kernels.Module{gemm}, []loadModule{extra90}, 8, 6, "", "", "/tmp/gemm90.ptx: module gemm90 is built for sm_90a, which this sm_86 device cannot run"},
		{"extra and embedded", []kernels.Module{gemm, g90}, []loadModule{extra90}, 9, 0, "", "", "module gemm90 loaded twice (embedded and /tmp/gemm90.ptx)"},
		{"kernel twice", []kernels.Module{gemm}, []loadModule{{Module: mustParse(t, "other", fakePTX("sm_90a", "ragr_gemm_b")), source: "o.ptx"}}, 9, 0,
			"", "", "kernel ragr_gemm_b defined twice: module gemm (embedded) and module other (o.ptx)"},
	}
	for _, c := range cases {
		load, skipped, err := planModules(c.embedded, c.extra, c.major, c.minor)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), ExtraPTXEnv) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var sk []string
		for n := range skipped {
			sk = append(sk, n)
		}
		if got := names(load); got != c.load || strings.Join(sk, " ") != c.skip {
			t.Errorf("%s: load %q skipped %v, want %q, %q", c.name, got, sk, c.load, c.skip)
		}
	}
	// The real embedded modules load on an H100 and an A100.
	for _, cc := range [][2]int{{9, 0}, {8, 0}} {
		if _, _, err := planModules(kernels.Modules(), nil, cc[0], cc[1]); err != nil {
			t.Errorf("embedded modules on sm_%d%d: %v", cc[0], cc[1], err)
		}
	}
}

// TestGemm90Missing: why the sm_90a GEMM is unavailable.
func TestGemm90Missing(t *testing.T) {
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	if why := gemm90Missing(9, 0, all); why != "" {
		t.Errorf("everything present: %q", why)
	}
	for _, c := range []struct {
		major, minor int
		has          func(string) bool
		want         string
	}{
		{8, 0, all, "need compute capability 9.0 (this device is sm_80)"},
		{10, 0, all, "this device is sm_100"},
		{9, 0, none, "not loaded"},
		{9, 0, func(k string) bool { return k != "ragr_gemm90_f16_tt_m64n128" }, "lacks 1 of its 48 kernels (ragr_gemm90_f16_tt_m64n128"},
	} {
		if why := gemm90Missing(c.major, c.minor, c.has); !strings.Contains(why, c.want) {
			t.Errorf("sm_%d%d: %q, want it to contain %q", c.major, c.minor, why, c.want)
		}
	}
}

// TestAttn90Unavailable: why the sm_90a attention forward is unavailable,
// RAGR_ATTN90=0 included.
func TestAttn90Unavailable(t *testing.T) {
	all := func(string) bool { return true }
	none := func(string) bool { return false }
	if err := attn90Unavailable(9, 0, all, ""); err != nil {
		t.Errorf("everything present: %v", err)
	}
	if err := attn90Unavailable(9, 0, all, "1"); err != nil {
		t.Errorf("everything present, %s=1: %v", Attn90Env, err)
	}
	for _, c := range []struct {
		major, minor int
		has          func(string) bool
		env          string
		want         string
	}{
		{8, 0, all, "", "the sm_90a attention kernels need compute capability 9.0 (this device is sm_80)"},
		{10, 0, all, "", "this device is sm_100"},
		{9, 0, none, "", "not loaded (no embedded kernels/ptx/attention90.ptx: compile kernels/attention90.cu with `make kernels90 OUT=dir` (nvcc >= 12.3) and set RAGR_EXTRA_PTX=dir/attention90.ptx)"},
		{9, 0, func(k string) bool { return k != "ragr_attn90_fwd_d128_bf16f32" }, "", "lacks 1 of its 6 kernels (ragr_attn90_fwd_d128_bf16f32"},
		{9, 0, all, "0", "turned off (RAGR_ATTN90=0 in the environment)"},
		{8, 6, all, "0", "need compute capability 9.0"},
	} {
		err := attn90Unavailable(c.major, c.minor, c.has, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sm_%d%d %s=%q: %v, want an error containing %q", c.major, c.minor, Attn90Env, c.env, err, c.want)
		}
	}
	// The GEMM's message names its own module.
	if why := gemm90Missing(9, 0, none); !strings.Contains(why, "GEMM kernels are not loaded (no embedded kernels/ptx/gemm90.ptx: compile kernels/gemm90.cu") {
		t.Errorf("gemm90 not loaded: %q", why)
	}
}
